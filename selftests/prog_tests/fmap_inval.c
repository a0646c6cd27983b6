// SPDX-License-Identifier: GPL-2.0
/*
 * Invalidation:
 *  - notify: the server moves a file to other device blocks and sends
 *    FUSE_NOTIFY_FMAP_INVAL; the old blocks are no longer visible through
 *    read(2) nor through a mapping made (and faulted in) before the move;
 *  - getattr_shrink: the server shrinks a file without notifying (as after
 *    replaying another host's truncate); once an attribute reply shows the
 *    smaller size, a write past it does not go to the blocks the kernel had
 *    cached for the old size, but asks the server, which allocates anew.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

#define SIZE (4 * MiB)

static void notify(void)
{
	struct fmap_simple_ext old_ext = { .len = SIZE, .dev = 0, .dev_off = 200 * MiB };
	struct fmap_simple_ext new_ext = { .len = SIZE, .dev = 1, .dev_off = 210 * MiB };
	unsigned char *p1 = malloc(SIZE), *p2 = malloc(SIZE), *back = malloc(SIZE);
	unsigned char *map = MAP_FAILED;
	struct fixture fx = { 0 };
	struct fbs_layout l;
	long long invals;
	char path[128];
	int fd = -1;

	if (!ASSERT_TRUE(p1 && p2 && back, "malloc"))
		goto out;
	fill_pattern(p1, SIZE, 21);
	fill_pattern(p2, SIZE, 22);
	/* what the file will show after the move */
	if (!ASSERT_OK(dev_pwrite(FX_DEV1, p2, SIZE, new_ext.dev_off), "seed dev1"))
		goto out;
	if (!ASSERT_OK(fixture_mount(&fx, NULL), "mount"))
		goto out;
	layout_simple(&l, 1, &old_ext);
	if (!ASSERT_OK(fbs_server_add_file(fx.srv, "f", SIZE, &l), "add"))
		goto out;
	fd = open(fixture_path(&fx, "f", path, sizeof(path)), O_RDWR);
	if (!ASSERT_OK_FD(fd, "open"))
		goto out;
	ASSERT_EQ(pwrite(fd, p1, SIZE, 0), SIZE, "write old");
	map = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (!ASSERT_TRUE(map != MAP_FAILED, "mmap"))
		goto out;
	ASSERT_MEMEQ(map, p1, SIZE, "mapping shows the old blocks");
	invals = fixture_stat(&fx, "invalidations");

	layout_simple(&l, 1, &new_ext);
	ASSERT_OK(fbs_server_set_layout(fx.srv, "f", &l), "move + notify");
	ASSERT_GT(fixture_stat(&fx, "invalidations"), invals, "invalidation counted");

	ASSERT_EQ(pread(fd, back, SIZE, 0), SIZE, "read after the move");
	ASSERT_MEMEQ(back, p2, SIZE, "read(2) shows the new blocks");
	ASSERT_MEMEQ(map, p2, SIZE, "the old mapping shows the new blocks");
	/* and the old blocks were not written by anything since */
	ASSERT_OK(dev_pread(FX_DEV0, back, SIZE, old_ext.dev_off), "read dev0");
	ASSERT_MEMEQ(back, p1, SIZE, "old blocks intact");
out:
	if (map != MAP_FAILED)
		munmap(map, SIZE);
	if (fd >= 0)
		close(fd);
	fixture_unmount(&fx);
	free(p1);
	free(p2);
	free(back);
}

static void getattr_shrink(void)
{
	unsigned char *p1 = malloc(SIZE), *p2 = malloc(64 * 1024), *back = malloc(SIZE);
	const __u64 at = 2 * MiB + 8192, cut = MiB;
	struct fmap_simple_ext ext[8], old;
	struct fixture fx = { 0 };
	struct statx stx;
	char path[128];
	int fd = -1, n, i;

	if (!ASSERT_TRUE(p1 && p2 && back, "malloc") ||
	    !ASSERT_OK(fixture_mount(&fx, NULL), "mount"))
		goto out;
	fill_pattern(p1, SIZE, 23);
	fill_pattern(p2, 64 * 1024, 24);
	fd = open(fixture_path(&fx, "g", path, sizeof(path)),
		  O_RDWR | O_CREAT | O_EXCL, 0644);
	if (!ASSERT_OK_FD(fd, "create") ||
	    !ASSERT_EQ(pwrite(fd, p1, SIZE, 0), SIZE, "write") ||
	    !ASSERT_EQ(pread(fd, back, SIZE, 0), SIZE, "read: mappings cached"))
		goto out;
	/* where the bytes at @at live before the shrink */
	n = fbs_server_file_extents(fx.srv, "g", ext, 8);
	if (!ASSERT_GT(n, 0, "extents"))
		goto out;
	for (i = 0; i < n && !(ext[i].file_off <= at &&
				at < ext[i].file_off + ext[i].len); i++)
		;
	if (!ASSERT_LT(i, n, "an extent covers the offset"))
		goto out;
	old = ext[i];
	if (!ASSERT_EQ(old.dev, 0, "allocated on pmem0"))
		goto out;

	if (!ASSERT_OK(fbs_server_shrink_silently(fx.srv, "g", cut), "shrink"))
		goto out;
	if (ASSERT_OK(statx(AT_FDCWD, path, AT_STATX_FORCE_SYNC, STATX_SIZE, &stx),
		      "statx"))
		ASSERT_EQ(stx.stx_size, cut, "the kernel sees the new size");

	ASSERT_EQ(pwrite(fd, p2, 64 * 1024, at), 64 * 1024, "write past it");
	ASSERT_OK(dev_pread(FX_DEV0, back, 64 * 1024,
			    old.dev_off + (at - old.file_off)), "read old blocks");
	ASSERT_MEMEQ(back, p1 + at, 64 * 1024, "old blocks untouched");
	ASSERT_EQ(pread(fd, back, 64 * 1024, at), 64 * 1024, "read back");
	ASSERT_MEMEQ(back, p2, 64 * 1024, "the new bytes");
out:
	if (fd >= 0)
		close(fd);
	fixture_unmount(&fx);
	free(p1);
	free(p2);
	free(back);
}

void test_fmap_inval(void)
{
	if (test__start_subtest("notify"))
		notify();
	if (test__start_subtest("getattr_shrink"))
		getattr_shrink();
}
