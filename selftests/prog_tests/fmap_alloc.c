// SPDX-License-Identifier: GPL-2.0
/*
 * Writes where a file has no extents go to the server (FUSE_FMAP with
 * FUSE_FMAP_OP_WRITE), which allocates 2 MiB units or refuses with ENOSPC.
 * A new file grows by write(2); its bytes land where the allocator put
 * them; a write the server cannot place fails with ENOSPC.  Each subtest
 * runs on the daemon users run (a famfs-bpf mount of /dev/pmem2, BPF
 * resolver: its holes fall back to the upcall), where a filler file leaves
 * a window of ALLOC or FILL bytes free for enospc and fill_congruent, and
 * where fill_congruent's truncate frees a's last unit, which the filling
 * file gets last.
 * Cost: about 11 s on the test kernel (a filler's fallocate of 1 GiB takes
 * 0.5 to 3 s); on the debug kernel about 22 s a subtest, 30 s for enospc
 * and fill_congruent (the filler), measured with another guest on the
 * machine.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

#define ALLOC (4 * MiB)		/* two allocation units */

/*
 * Each subtest gets a fresh file system and a new empty file "new" in it:
 * none depends on what another wrote.  A filler file leaves ALLOC free
 * only with @full (fallocate zeroes the rest of the device: seconds).
 */
static int mount_new_file(struct fixture *fx, bool full)
{
	struct fixture_opts opts = {
		.alloc_bytes = full ? ALLOC : 0,
		.daemon = true,
	};
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
	struct fmap_simple_ext ext[8];
	struct fixture fx = { 0 };
	int fd = mount_new_file(&fx, false), n, i;

	if (fd < 0)
		goto out;
	ASSERT_EQ(pwrite(fd, data, ALLOC, 0), ALLOC, "write a new file");
	ASSERT_EQ(pread(fd, back, ALLOC, 0), ALLOC, "read it back");
	ASSERT_MEMEQ(back, data, ALLOC, "read(2) == write(2)");
	/* the bytes are on the device where the file's extents say */
	n = fixture_file_extents(&fx, "new", ext, 8);
	if (!ASSERT_GT(n, 0, "extents") || !ASSERT_LE(n, 8, "at most 8"))
		goto out_close;
	for (i = 0; i < n; i++) {
		const char *dev = fixture_dev(&fx, ext[i].dev);

		if (!ASSERT_TRUE(dev != NULL, "a device of the mount") ||
		    !ASSERT_LE(ext[i].file_off + ext[i].len, ALLOC, "within the file") ||
		    !ASSERT_OK(dev_pread(dev, back, ext[i].len, ext[i].dev_off), "read the device"))
			break;
		ASSERT_MEMEQ(back, data + ext[i].file_off, ext[i].len,
			     "bytes where the server allocated");
	}
out_close:
	close(fd);
out:
	fixture_unmount(&fx);
}

static void enospc(unsigned char *data, unsigned char *back)
{
	struct fixture fx = { 0 };
	int fd = mount_new_file(&fx, true);

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
	int fd = mount_new_file(&fx, false);
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

/*
 * The same, but the allocating write lands elsewhere in the new extent: the
 * reader's zero page is in the extent, outside the write.  A later write
 * there hits the cached extent (not new any more); the reader must still
 * see it, so the whole new extent loses its stale zero pages, not only
 * the bytes of the write that allocated it.
 */
static void write_near_faulted_hole(unsigned char *data)
{
	volatile unsigned char *map = MAP_FAILED;
	struct fixture fx = { 0 };
	int fd = mount_new_file(&fx, false);
	size_t size = 2 * MiB, len = size - 4096;

	if (fd < 0)
		goto out;
	if (!ASSERT_OK(ftruncate(fd, size), "a 2 MiB hole"))
		goto out_close;
	/*
	 * From file offset 4 KiB: no PMD fits, so the reader's fault maps
	 * the zero page at 1 MiB alone (a PMD-sized zero entry would go
	 * with the allocating write's own invalidation)
	 */
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 4096);
	if (!ASSERT_TRUE(map != MAP_FAILED, "mmap"))
		goto out_close;
	ASSERT_EQ(map[1 * MiB - 4096 + 17], 0, "the hole reads as zeroes");

	ASSERT_EQ(pwrite(fd, data, 4096, 0), 4096, "allocate at 0");
	ASSERT_EQ(pwrite(fd, data, 4096, 1 * MiB), 4096, "write at 1 MiB");
	ASSERT_EQ(map[1 * MiB - 4096 + 17], data[17],
		  "the mapping sees the second write");
	munmap((void *)map, len);
out_close:
	close(fd);
out:
	fixture_unmount(&fx);
}

/*
 * Every extent of @name that covers a whole aligned 2 MiB of the file
 * (what a PMD fault maps): file and device offsets congruent modulo
 * 2 MiB.  Pieces of pages (below 2 MiB, or taken when no whole unit was
 * free) may sit anywhere.  Returns how many contiguous runs they make (an
 * extent that continues the one before it in the file and on the device
 * is the same run).
 */
static int check_extents(struct fixture *fx, const char *name)
{
	struct fmap_simple_ext ext[64];
	int i, runs = 0, n = fixture_file_extents(fx, name, ext, 64);

	if (!ASSERT_GT(n, 0, "extents") || !ASSERT_LE(n, 64, "at most 64"))
		return -1;
	for (i = 0; i < n; i++) {
		if (!i || ext[i].dev != ext[i - 1].dev ||
		    ext[i].file_off != ext[i - 1].file_off + ext[i - 1].len ||
		    ext[i].dev_off != ext[i - 1].dev_off + ext[i - 1].len)
			runs++;
		__u64 up = (ext[i].file_off + 2 * MiB - 1) / (2 * MiB) * (2 * MiB);
		bool whole = up + 2 * MiB <= ext[i].file_off + ext[i].len;

		if ((whole && !ASSERT_EQ(ext[i].file_off % (2 * MiB), ext[i].dev_off % (2 * MiB),
					 "file and device offsets congruent modulo 2 MiB")) || runs > 2)
			printf("# %s extent %d: file %llu dev %llu len %llu\n", name, i,
			       (unsigned long long)ext[i].file_off,
			       (unsigned long long)ext[i].dev_off,
			       (unsigned long long)ext[i].len);
	}
	printf("# %s: %d extents, %d contiguous runs\n", name, n, runs);
	return runs;
}

#define FILL (32 * MiB)

/*
 * Allocation keeps PMD-friendly congruence even where it is clipped (a
 * write after a truncate to mid-page: the truncate gave back the pages
 * past the cut, the write takes new pages at the same place in a unit),
 * puts what continues an extent after it, and uses the space up exactly:
 * statfs says how much is left, and a file written until ENOSPC gets all
 * of it, the freed pages last.
 */
static void fill_congruent(unsigned char *data)
{
	struct fixture_opts opts = { .alloc_bytes = FILL, .daemon = true };
	/*
	 * a's space after the write past the cut: the daemon frees the unit
	 * past the cut's and writes into the kept one
	 */
	const __u64 used = 4 * MiB;
	struct fixture fx = { 0 };
	__u64 written = 0, off;
	char path[128];
	struct statvfs sv;
	int fa = -1, fb = -1;

	if (!ASSERT_OK(fixture_mount(&fx, &opts), "mount"))
		return;
	fa = open(fixture_path(&fx, "a", path, sizeof(path)), O_RDWR | O_CREAT, 0644);
	if (!ASSERT_OK_FD(fa, "create a"))
		goto out;
	for (off = 0; off < 5 * MiB; off += 1 * MiB)
		ASSERT_EQ(pwrite(fa, data, 1 * MiB, off), 1 * MiB, "write a");
	ASSERT_EQ(check_extents(&fx, "a"), 1, "a sequential file is one run");
	ASSERT_OK(ftruncate(fa, 3 * MiB + 100), "truncate a mid-page");
	ASSERT_EQ(pwrite(fa, data, 4096, 3 * MiB + MiB / 2), 4096, "write past the cut");
	check_extents(&fx, "a");

	if (ASSERT_OK(statvfs(fx.mnt, &sv), "statfs"))
		ASSERT_EQ(sv.f_bfree * sv.f_frsize, FILL - used, "free space");
	fb = open(fixture_path(&fx, "b", path, sizeof(path)), O_RDWR | O_CREAT, 0644);
	if (!ASSERT_OK_FD(fb, "create b"))
		goto out;
	for (off = 0;; off += 1 * MiB) {
		if (pwrite(fb, data, 1 * MiB, off) != 1 * MiB)
			break;
		written += 1 * MiB;
	}
	ASSERT_EQ(errno, ENOSPC, "b ends with ENOSPC");
	ASSERT_EQ(written, FILL - used, "b got all the rest");
	/* whole units where they were free; the last of it in pages (a's freed ones) */
	ASSERT_GE(check_extents(&fx, "b"), 2, "a's freed space apart from the rest");
	if (ASSERT_OK(statvfs(fx.mnt, &sv), "statfs"))
		ASSERT_EQ(sv.f_bfree, 0, "nothing free");
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	fixture_unmount(&fx);
}

void test_fmap_alloc(void)
{
	unsigned char *data = malloc(ALLOC), *back = malloc(ALLOC);

	if (!ASSERT_TRUE(data && back, "malloc") || !fixture_famfs_bin())
		goto out;
	fill_pattern(data, ALLOC, 31);
	if (test__start_subtest("allocate_on_write"))
		allocate_on_write(data, back);
	if (test__start_subtest("enospc"))
		enospc(data, back);
	if (test__start_subtest("write_over_faulted_hole"))
		write_over_faulted_hole(data);
	if (test__start_subtest("write_near_faulted_hole"))
		write_near_faulted_hole(data);
	if (test__start_subtest("fill_congruent"))
		fill_congruent(data);
out:
	free(data);
	free(back);
}
