/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Image files for the host unit tests: a fresh directory under /tmp with
 * room for up to IMG_MAX sparse files that stand for devices, made by a
 * test's setup and removed by its teardown, and byte access to them.
 * Static inline: each unit test is one translation unit (Makefile).  The
 * helpers check with cmocka's assert_*(): include <cmocka.h> first.
 */
#ifndef FAMFS_BPF_UNIT_IMG_H
#define FAMFS_BPF_UNIT_IMG_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/types.h>

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

#endif /* FAMFS_BPF_UNIT_IMG_H */
