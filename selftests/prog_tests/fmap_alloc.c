// SPDX-License-Identifier: GPL-2.0
/*
 * Writes where a file has no extents go to the server (FUSE_FMAP with
 * FUSE_FMAP_OP_WRITE), which allocates 2 MiB units on pmem0 or refuses
 * with ENOSPC.  A new file grows by write(2); its bytes land where the
 * allocator put them; a write the server cannot place fails with ENOSPC.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

#define ALLOC (4 * MiB)		/* two allocation units */

void test_fmap_alloc(void)
{
	struct fixture_opts opts = { .alloc_bytes = ALLOC };
	unsigned char *data = malloc(ALLOC), *back = malloc(ALLOC);
	struct fixture fx = { 0 };
	char path[128];
	int fd = -1;

	if (!ASSERT_TRUE(data && back, "malloc"))
		goto out;
	fill_pattern(data, ALLOC, 31);
	if (!ASSERT_OK(fixture_mount(&fx, &opts), "mount"))
		goto out;
	fd = open(fixture_path(&fx, "new", path, sizeof(path)),
		  O_RDWR | O_CREAT | O_EXCL, 0644);
	if (!ASSERT_OK_FD(fd, "create"))
		goto out;

	if (test__start_subtest("allocate_on_write")) {
		ASSERT_EQ(pwrite(fd, data, ALLOC, 0), ALLOC, "write a new file");
		ASSERT_EQ(pread(fd, back, ALLOC, 0), ALLOC, "read it back");
		ASSERT_MEMEQ(back, data, ALLOC, "read(2) == write(2)");
		/* the bump allocator's units, in order, from FX_ALLOC_START */
		ASSERT_OK(dev_pread(FX_DEV0, back, ALLOC, FX_ALLOC_START), "read pmem0");
		ASSERT_MEMEQ(back, data, ALLOC, "bytes where the server allocated");
	}
	if (test__start_subtest("enospc")) {
		errno = 0;
		ASSERT_EQ(pwrite(fd, data, 4096, ALLOC), -1, "write past the space");
		ASSERT_EQ(errno, ENOSPC, "with ENOSPC");
		ASSERT_EQ(pread(fd, back, 4096, 0), 4096, "the file still reads");
	}
out:
	if (fd >= 0)
		close(fd);
	fixture_unmount(&fx);
	free(data);
	free(back);
}
