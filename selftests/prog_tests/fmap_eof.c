// SPDX-License-Identifier: GPL-2.0
/*
 * The end-of-file page: bytes past EOF read as zeroes once the file grows
 * over them, through read(2) and through a mapping, whatever was there
 * (a truncate's leftovers, mmap stores past EOF, which POSIX allows in the
 * last page).  The kernel zeroes the partial pages; the server only whole
 * pages.  A pattern fills the file on both sides of each EOF.
 *  - grow_write: truncate to 4096 + 100, the mapping shows zeroes past it
 *    in its page, a store lands past EOF in that page, then a write at
 *    3 pages + 50 leaves zeroes from 4196 to it;
 *  - grow_truncate, grow_fallocate: the same, growing by ftruncate and by
 *    fallocate(0) past EOF;
 *  - punch: PUNCH_HOLE|KEEP_SIZE of [100, 8292): zeroes there, the rest
 *    intact.
 * Each on the famfs-bpf daemon on /dev/pmem2, once per resolver (mount -o
 * resolver=upcall, builtin, bpf).  About 2.5 s per resolver on the test
 * kernel.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

#define PG	4096
#define FSIZE	(3 * PG)
#define CUT	(PG + 100)
#define STALE	0xee
#define DEV	"/dev/pmem2"
#define MNT	"/tmp/fmap_eof.mnt"

enum grow { GROW_WRITE, GROW_TRUNCATE, GROW_FALLOCATE, PUNCH };

/* @len bytes of @fd from 0, by read(2) and by a mapping, equal @model */
static void check_both(int fd, const unsigned char *model, size_t len)
{
	unsigned char *back = malloc(len), *map;

	if (!ASSERT_TRUE(back != NULL, "malloc"))
		return;
	if (ASSERT_EQ(pread(fd, back, len, 0), (ssize_t)len, "read back"))
		ASSERT_MEMEQ(back, model, len, "read(2) matches the model");
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (ASSERT_TRUE(map != MAP_FAILED, "mmap")) {
		ASSERT_MEMEQ(map, model, len, "the mapping matches the model");
		munmap(map, len);
	}
	free(back);
}

static void run(const char *path, enum grow how)
{
	size_t end = how == GROW_WRITE ? 3 * PG + 150 :
		     how == GROW_TRUNCATE ? 5 * PG + 300 :
		     how == GROW_FALLOCATE ? 5 * PG + 10 : FSIZE;
	unsigned char *model = calloc(1, 6 * PG), *data = malloc(FSIZE);
	unsigned char *map = MAP_FAILED;
	struct stat st;
	int fd;

	if (!ASSERT_TRUE(model && data, "malloc"))
		goto out_free;
	fill_pattern(data, FSIZE, 61 + how);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (!ASSERT_OK_FD(fd, "create"))
		goto out_free;
	if (!ASSERT_EQ(pwrite(fd, data, FSIZE, 0), FSIZE, "fill"))
		goto out;
	memcpy(model, data, FSIZE);

	if (how == PUNCH) {
		if (!ASSERT_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					 100, 2 * PG), "punch"))
			goto out;
		memset(model + 100, 0, 2 * PG);
		check_both(fd, model, FSIZE);
		goto out;
	}

	/* Down to an unaligned size: the rest of its page maps as zeroes */
	if (!ASSERT_OK(ftruncate(fd, CUT), "truncate down"))
		goto out;
	memset(model + CUT, 0, FSIZE - CUT);
	map = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!ASSERT_TRUE(map != MAP_FAILED, "mmap"))
		goto out;
	ASSERT_MEMEQ(map + PG, model + PG, PG, "EOF page: zeroes past EOF");
	/* A store past EOF, in the EOF page: allowed, never part of the file */
	memset(map + CUT + 100, STALE, 2 * PG - CUT - 100);
	munmap(map, 2 * PG);
	map = MAP_FAILED;

	switch (how) {
	case GROW_WRITE:
		memcpy(model + 3 * PG + 50, data, 100);
		ASSERT_EQ(pwrite(fd, data, 100, 3 * PG + 50), 100, "write past EOF");
		break;
	case GROW_TRUNCATE:
		ASSERT_OK(ftruncate(fd, end), "truncate up");
		break;
	default:
		ASSERT_OK(fallocate(fd, 0, 4 * PG + 10, PG), "fallocate past EOF");
		break;
	}
	if (ASSERT_OK(fstat(fd, &st), "fstat"))
		ASSERT_EQ(st.st_size, (off_t)end, "the new size");
	check_both(fd, model, end);
out:
	close(fd);
out_free:
	free(model);
	free(data);
}

static const char *const names[] = {
	[GROW_WRITE] = "grow_write",
	[GROW_TRUNCATE] = "grow_truncate",
	[GROW_FALLOCATE] = "grow_fallocate",
	[PUNCH] = "punch",
};

/* One file system for the four subtests of resolver @rname */
static void on_daemon(const char *rname)
{
	char name[64], opts[32];
	unsigned int how;
	bool mounted = false;

	snprintf(opts, sizeof(opts), "resolver=%s", rname);
	for (how = 0; how <= PUNCH; how++) {
		snprintf(name, sizeof(name), "%s_%s", names[how], rname);
		if (!test__start_subtest(name))
			continue;
		if (!mounted) {
			fixture_ensure_unmounted(MNT);
			if (!ASSERT_EQ(fixture_famfs(0, "mkfs", "-f", DEV), 0, "mkfs -f"))
				return;
			mkdir(MNT, 0755);
			if (!ASSERT_EQ(fixture_famfs(0, "mount", "-o", opts, DEV, MNT), 0, "mount"))
				return;
			mounted = true;
		}
		run(fixture_join(MNT, names[how]), how);
	}
	if (mounted)
		ASSERT_EQ(fixture_famfs(0, "umount", MNT), 0, "umount");
}

void test_fmap_eof(void)
{
	if (!fixture_famfs_bin())
		return;
	on_daemon("upcall");
	on_daemon("builtin");
	on_daemon("bpf");
}
