/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Image files for the host unit tests: a fresh directory under /tmp with
 * room for up to IMG_MAX sparse files that stand for devices, made by a
 * test's setup and removed by its teardown, and byte access to them.
 * Also a file system on them (mkfs) and its log in memory, for the tests
 * that append entries of their own.  Static inline: each unit test is one
 * translation unit (Makefile).  The helpers check with cmocka's
 * assert_*(): include <cmocka.h> first.
 */
#ifndef FAMFS_BPF_UNIT_IMG_H
#define FAMFS_BPF_UNIT_IMG_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/types.h>

#include "cli/cli.h"
#include "fs/mlog.h"
#include "fs/super.h"

#define IMG_MAX 4

struct images {
	char dir[64];
	char path[IMG_MAX][96];		/* dir/dev0, dir/dev1, ... */
	const char *devs[IMG_MAX];	/* path[i], for APIs taking a device list */
	int n;
};

/* /tmp/famfs-@tag-XXXXXX and the names of @n images in it (not made yet) */
static inline struct images *img_create(const char *tag, int n)
{
	struct images *im = calloc(1, sizeof(*im));
	int i;

	if (!im || n > IMG_MAX)
		goto fail;
	snprintf(im->dir, sizeof(im->dir), "/tmp/famfs-%s-XXXXXX", tag);
	if (!mkdtemp(im->dir))
		goto fail;
	im->n = n;
	for (i = 0; i < n; i++) {
		snprintf(im->path[i], sizeof(im->path[i]), "%s/dev%d", im->dir, i);
		im->devs[i] = im->path[i];
	}
	return im;
fail:
	free(im);
	return NULL;
}

/* The images that exist, their directory, @im itself */
static inline void img_remove(struct images *im)
{
	int i;

	for (i = 0; i < im->n; i++)
		unlink(im->path[i]);
	rmdir(im->dir);
	free(im);
}

/* A sparse file of @size bytes at @path, replacing what was there */
static inline void img_make(const char *path, __u64 size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

/* Overwrite @n bytes of @path at @off */
static inline void img_poke(const char *path, __u64 off, const void *bytes, size_t n)
{
	int fd = open(path, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
	close(fd);
}

/* Read @n bytes of @path at @off */
static inline void img_peek(const char *path, __u64 off, void *bytes, size_t n)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, bytes, n, off), (ssize_t)n);
	close(fd);
}

/*
 * mkfs over images @first.. @first + @n - 1, made @size bytes; @log_size 0:
 * the default; @pages: 4 KiB pages below 2 MiB (mkfs's default)
 */
static inline void img_mkfs_as(struct images *im, int first, int n, __u64 size,
				__u64 log_size, bool pages)
{
	struct cli_mkfs_args args = { .force = true, .log_size = log_size, .whole_units = !pages };
	char *paths[IMG_MAX];
	FILE *null = fopen("/dev/null", "w");
	int i;

	assert_non_null(null);
	assert_true(first >= 0 && n > 0 && first + n <= im->n);
	for (i = 0; i < n; i++) {
		img_make(im->path[first + i], size);
		paths[i] = im->path[first + i];
	}
	assert_int_equal(cli_mkfs(&args, n, paths, null), CLI_EXIT_OK);
	fclose(null);
}

/*
 * img_mkfs_as() in 2 MiB units, the format before 4 KiB pages (mkfs -U):
 * what most tests count space in, and still mounted as it was.
 */
static inline void img_mkfs(struct images *im, int first, int n, __u64 size, __u64 log_size)
{
	img_mkfs_as(im, first, n, size, log_size, false);
}

/*
 * The log of the file system whose first device is @dev0, in memory, with
 * an appender at its end: entries the test writes itself, which
 * img_log_close() puts on the image.
 */
struct img_log {
	struct famfs_sb_info info;
	void *bytes;
	struct famfs_mlog_writer w;
};

static inline void img_log_open(struct img_log *l, const char *dev0)
{
	unsigned char sb[FAMFS_SB_SIZE];
	struct famfs_mlog_result res;

	img_peek(dev0, 0, sb, sizeof(sb));
	assert_int_equal(famfs_sb_decode(sb, sizeof(sb), &l->info, NULL, 0), 0);
	l->bytes = malloc(l->info.log_len);
	assert_non_null(l->bytes);
	img_peek(dev0, l->info.log_off, l->bytes, l->info.log_len);
	assert_int_equal(famfs_mlog_replay(l->bytes, l->info.log_len, l->info.fs_uuid, NULL,
					   NULL, NULL, &res), 0);
	assert_int_equal(famfs_mlog_writer_init(&l->w, l->bytes, l->info.log_len,
						l->info.fs_uuid, &res), 0);
}

static inline void img_log_close(struct img_log *l, const char *dev0)
{
	img_poke(dev0, l->info.log_off, l->bytes, l->info.log_len);
	free(l->bytes);
}

#endif /* FAMFS_BPF_UNIT_IMG_H */
