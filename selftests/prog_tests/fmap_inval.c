// SPDX-License-Identifier: GPL-2.0
/*
 * Invalidation: the server moves a file to other device blocks and sends
 * FUSE_NOTIFY_FMAP_INVAL; the old blocks are no longer visible through
 * read(2) nor through a mapping made (and faulted in) before the move.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

#define SIZE (4 * MiB)

void test_fmap_inval(void)
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
