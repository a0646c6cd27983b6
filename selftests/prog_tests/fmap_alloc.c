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
#include <sys/mman.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

#define ALLOC (4 * MiB)		/* two allocation units */

/*
 * Each subtest gets a fresh mount, hence a fresh allocator with ALLOC bytes,
 * and a new empty file "new" in it: none depends on what another wrote.
 */
static int mount_new_file(struct fixture *fx)
{
	struct fixture_opts opts = { .alloc_bytes = ALLOC };
	char path[128];
	int fd;

	if (!ASSERT_OK(fixture_mount(fx, &opts), "mount"))
		return -1;
	fd = open(fixture_path(fx, "new", path, sizeof(path)),
		  O_RDWR | O_CREAT | O_EXCL, 0644);
	ASSERT_OK_FD(fd, "create");
	return fd;
}

static void allocate_on_write(unsigned char *data, unsigned char *back)
{
	struct fixture fx = { 0 };
	int fd = mount_new_file(&fx);

	if (fd < 0)
		goto out;
	ASSERT_EQ(pwrite(fd, data, ALLOC, 0), ALLOC, "write a new file");
	ASSERT_EQ(pread(fd, back, ALLOC, 0), ALLOC, "read it back");
	ASSERT_MEMEQ(back, data, ALLOC, "read(2) == write(2)");
	/* the bump allocator's units, in order, from FX_ALLOC_START */
	ASSERT_OK(dev_pread(FX_DEV0, back, ALLOC, FX_ALLOC_START), "read pmem0");
	ASSERT_MEMEQ(back, data, ALLOC, "bytes where the server allocated");
	close(fd);
out:
	fixture_unmount(&fx);
}

static void enospc(unsigned char *data, unsigned char *back)
{
	struct fixture fx = { 0 };
	int fd = mount_new_file(&fx);

	if (fd < 0)
		goto out;
	if (!ASSERT_EQ(pwrite(fd, data, ALLOC, 0), ALLOC, "use up the space"))
		goto out_close;
	errno = 0;
	ASSERT_EQ(pwrite(fd, data, 4096, ALLOC), -1, "write past the space");
	ASSERT_EQ(errno, ENOSPC, "with ENOSPC");
	ASSERT_EQ(pread(fd, back, 4096, 0), 4096, "the file still reads");
	ASSERT_MEMEQ(back, data, 4096, "with what was written");
out_close:
	close(fd);
out:
	fixture_unmount(&fx);
}

/*
 * A reader maps a hole and faults it (the kernel maps the shared zero
 * page); a write(2) then makes the server allocate there.  The reader's
 * next load must see the written bytes: the server marks the mapping
 * FUSE_FMAP_FLAG_NEW and the kernel unmaps the stale zero page.
 */
static void write_over_faulted_hole(unsigned char *data)
{
	volatile unsigned char *map = MAP_FAILED;
	struct fixture fx = { 0 };
	int fd = mount_new_file(&fx);
	size_t size = 3 * MiB + 4096;

	if (fd < 0)
		goto out;
	/* extents at [2, 4) MiB only: [0, 2) MiB is a hole */
	if (!ASSERT_EQ(pwrite(fd, data, 4096, 3 * MiB), 4096, "write at 3 MiB"))
		goto out_close;
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (!ASSERT_TRUE(map != MAP_FAILED, "mmap"))
		goto out_close;
	ASSERT_EQ(map[1 * MiB + 17], 0, "the hole reads as zeroes");

	ASSERT_EQ(pwrite(fd, data, 4096, 1 * MiB), 4096, "write into the hole");
	ASSERT_EQ(map[1 * MiB + 17], data[17], "the mapping sees the write");
	ASSERT_MEMEQ((const void *)(map + 1 * MiB), data, 4096,
		     "the whole page, through the mapping");
	munmap((void *)map, size);
out_close:
	close(fd);
out:
	fixture_unmount(&fx);
}

void test_fmap_alloc(void)
{
	unsigned char *data = malloc(ALLOC), *back = malloc(ALLOC);

	if (!ASSERT_TRUE(data && back, "malloc"))
		goto out;
	fill_pattern(data, ALLOC, 31);
	if (test__start_subtest("allocate_on_write"))
		allocate_on_write(data, back);
	if (test__start_subtest("enospc"))
		enospc(data, back);
	if (test__start_subtest("write_over_faulted_hole"))
		write_over_faulted_hole(data);
out:
	free(data);
	free(back);
}
