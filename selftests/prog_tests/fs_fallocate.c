// SPDX-License-Identifier: GPL-2.0
/*
 * fallocate(2) on a famfs-bpf mount (fsd, BPF resolver) on /dev/pmem2.
 *  - punch: PUNCH_HOLE|KEEP_SIZE in a file that is mmapped and read
 *    through BPF: the range reads as zeroes by read(2) and through the
 *    mapping made before the punch (the kernel dropped its pages), the
 *    rest of the bytes are intact, the whole pages inside come back
 *    (statvfs, in bytes: 4 KiB blocks), the hole is an upcall and not stale BPF data, and after a
 *    remount the same holds with the data read by the resolver only;
 *  - alloc: KEEP_SIZE, mode 0 and ZERO_RANGE on a sparse file: the space
 *    is taken (statvfs), reads zeroes, the size moves only without
 *    KEEP_SIZE; a write(2) into the allocated unit outside the range shows
 *    through a mapping that read it as a hole before (a zero page the
 *    kernel's invalidation of the range alone would keep); ENOSPC changes
 *    nothing; other modes are EOPNOTSUPP; a remount reads the same;
 *  - zero_range_unlocked: while a ZERO_RANGE zeroes 512 MiB a file
 *    already has, first writes into other files (which allocate, so take
 *    the daemon's @space) go on: the zeroing holds no global lock;
 *  - pieces: with FAMFS_FAULT=falloc_small (one fs_fallocate() takes at
 *    most 8 MiB of new space, as FS_FALLOC_MAX_NEW bounds it at 4 GiB),
 *    a fallocate of 40 MiB goes in pieces and succeeds whole: size,
 *    st_blocks, statvfs, the bytes, and the same after a remount; one
 *    past the free space is ENOSPC with the size and bytes kept, and fsck
 *    is clean (unit/test_fs: striped files' pieces).  Before the daemon split
 *    them, a fallocate above the bound was EFBIG.  About 6 s.
 * Every path ends unmounted: later tests mkfs the same device.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

#define DEV	"/dev/pmem2"
#define MNT	"/tmp/fs_fallocate.mnt"
#define UNIT	(2 * MiB)
#define PAGE	4096LL
#define FSIZE	(8 * MiB)
/* the punch: [1 MiB + 4 KiB, 6 MiB) are whole pages, the edges are zeroed */
#define P_OFF	(1 * MiB + 100)
#define P_LEN	(5 * MiB)
#define P_FREED	(6 * MiB - (1 * MiB + PAGE))
/* alloc: pages of a hole the fallocated range leaves out, mapped before */
#define MAP_OFF	(3 * MiB + 4096)
#define MAP_LEN	(3 * 4096)

#define famfs(...) fixture_famfs(0, __VA_ARGS__)

static const char *path(const char *name)
{
	return fixture_join(MNT, name);
}

static long long stat_of(const char *name)
{
	return fixture_mnt_stat(MNT, name);
}

/* Free bytes: statfs counts 4 KiB pages (mkfs's default format) */
static long long bfree(void)
{
	struct statvfs sv;

	if (!ASSERT_OK(statvfs(MNT, &sv), "statvfs") || !ASSERT_EQ(sv.f_bsize, PAGE, "f_bsize"))
		return -1;
	return (long long)(sv.f_bfree * sv.f_frsize);
}

/* [off, off + len) of @fd by pread(2) against @want */
static bool read_is(int fd, const char *want, size_t off, size_t len, const char *what)
{
	char *got = malloc(len);
	bool ok;

	if (!ASSERT_TRUE(got != NULL, "malloc"))
		return false;
	ok = ASSERT_EQ(pread(fd, got, len, off), (ssize_t)len, what) &&
	     ASSERT_MEMEQ(got, want + off, len, what);
	free(got);
	return ok;
}

/* Reads of the data either side of the hole: by the resolver only */
static void data_by_bpf(int fd, const char *model)
{
	long long res0 = stat_of("bpf_resolves"), up0 = stat_of("upcalls");

	if (!ASSERT_GE(res0, 0, "fmap_stats") || !ASSERT_GE(up0, 0, "upcalls counter"))
		return;
	read_is(fd, model, 0, P_OFF, "the data before the hole");
	read_is(fd, model, P_OFF + P_LEN, FSIZE - P_OFF - P_LEN, "the data after the hole");
	printf("# data: bpf_resolves %lld -> %lld, upcalls %lld -> %lld\n", res0,
	       stat_of("bpf_resolves"), up0, stat_of("upcalls"));
	ASSERT_GT(stat_of("bpf_resolves"), res0, "the data resolved by BPF");
	ASSERT_EQ(stat_of("upcalls"), up0, "no upcalls for the data");
}

static void test_punch(void)
{
	char *model = malloc(FSIZE);
	long long free0, up0;
	char *map = MAP_FAILED;
	struct stat st;
	int fd = -1;

	if (!ASSERT_TRUE(model != NULL, "malloc") || !fixture_mkfs_mount(DEV, MNT, NULL))
		goto out;
	fill_pattern(model, FSIZE, 31);
	if (!fixture_write_file(path("f"), model, FSIZE, 1 * MiB) || !fixture_remount(MNT, DEV))
		goto out;
	/* nothing cached: the mapping is filled by the resolver */
	fd = open(path("f"), O_RDWR);
	if (!ASSERT_OK_FD(fd, "open f"))
		goto out;
	map = mmap(NULL, FSIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (!ASSERT_TRUE(map != MAP_FAILED, "mmap f"))
		goto out;
	data_by_bpf(fd, model);
	if (!ASSERT_MEMEQ(map, model, FSIZE, "mmap before the punch"))
		goto out;
	free0 = bfree();

	if (!ASSERT_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, P_OFF, P_LEN),
		       "punch"))
		goto out;
	memset(model + P_OFF, 0, P_LEN);
	ASSERT_EQ(bfree(), free0 + P_FREED, "the whole pages inside came back");
	ASSERT_OK(fstat(fd, &st), "fstat");
	ASSERT_EQ(st.st_size, FSIZE, "size kept");
	ASSERT_EQ(st.st_blocks * 512, FSIZE - P_FREED, "st_blocks: the pages went");
	/* the hole is the server's to answer, never the old extent's bytes */
	up0 = stat_of("upcalls");
	read_is(fd, model, 2 * MiB, 4 * MiB, "read(2) of the hole");
	ASSERT_GT(stat_of("upcalls"), up0, "the hole is an upcall");
	read_is(fd, model, 0, FSIZE, "read(2) after the punch");
	ASSERT_MEMEQ(map, model, FSIZE, "the old mapping after the punch");
	munmap(map, FSIZE);
	map = MAP_FAILED;
	close(fd);
	fd = -1;
	fixture_check_file(path("f"), model, FSIZE, true);

	if (!fixture_remount(MNT, DEV))
		goto out;
	ASSERT_EQ(bfree(), free0 + P_FREED, "after a remount: the pages are free");
	fd = open(path("f"), O_RDONLY);
	if (!ASSERT_OK_FD(fd, "open f after the remount"))
		goto out;
	data_by_bpf(fd, model);
	fixture_check_file(path("f"), model, FSIZE, true);
out:
	if (map != MAP_FAILED)
		munmap(map, FSIZE);
	if (fd >= 0)
		close(fd);
	free(model);
	fixture_ensure_unmounted(MNT);
}

static void test_alloc(void)
{
	const size_t size = 8 * MiB, hole_page = 3 * MiB + 8192;
	char *model = calloc(1, 10 * MiB), *page = malloc(4096);
	long long free0, blocks;
	char *map = MAP_FAILED;
	struct stat st;
	int fd = -1;

	if (!ASSERT_TRUE(model && page, "malloc") || !fixture_mkfs_mount(DEV, MNT, NULL))
		goto out;
	fd = open(path("g"), O_RDWR | O_CREAT | O_EXCL, 0644);
	if (!ASSERT_OK_FD(fd, "create g"))
		goto out;
	/* two pages at 0 hold data, the rest of 8 MiB is holes */
	fill_pattern(model, 5000, 32);
	if (!ASSERT_EQ(pwrite(fd, model, 5000, 0), 5000, "write") ||
	    !ASSERT_OK(ftruncate(fd, size), "truncate up"))
		goto out;
	free0 = bfree();
	/* a reader's zero page in the hole: pages, not a 2 MiB zero page */
	map = mmap(NULL, MAP_LEN, PROT_READ, MAP_SHARED, fd, MAP_OFF);
	if (!ASSERT_TRUE(map != MAP_FAILED, "mmap g"))
		goto out;
	ASSERT_EQ(map[hole_page - MAP_OFF], 0, "the hole reads zero through the mapping");

	/* one page at 3 MiB takes the unit [2 MiB, 4 MiB) (from 2 MiB: units); the size stays */
	if (!ASSERT_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 3 * MiB, 4096), "KEEP_SIZE"))
		goto out;
	ASSERT_EQ(bfree(), free0 - UNIT, "one unit taken");
	ASSERT_OK(fstat(fd, &st), "fstat");
	ASSERT_EQ(st.st_size, size, "KEEP_SIZE: size kept");
	ASSERT_EQ(st.st_blocks * 512, 2 * PAGE + UNIT, "st_blocks: two pages and a unit");
	read_is(fd, model, 2 * MiB, 2 * MiB, "the allocated unit reads zeroes");
	/* outside the range, in the new unit: the kernel unmapped the whole file */
	fill_pattern(page, 4096, 33);
	memcpy(model + hole_page, page, 4096);
	if (ASSERT_EQ(pwrite(fd, page, 4096, hole_page), 4096, "write outside the range"))
		ASSERT_MEMEQ(map + hole_page - MAP_OFF, page, 4096, "the old zero page is gone");
	munmap(map, MAP_LEN);
	map = MAP_FAILED;

	/* mode 0 past the end: the size moves, the new bytes read zero */
	if (!ASSERT_OK(fallocate(fd, 0, 7 * MiB, 3 * MiB), "mode 0"))
		goto out;
	ASSERT_OK(fstat(fd, &st), "fstat");
	ASSERT_EQ(st.st_size, 10 * MiB, "mode 0: the size is the end of the range");
	ASSERT_EQ(bfree(), free0 - 3 * UNIT, "[6 MiB, 10 MiB) taken");
	/* ZERO_RANGE over data and holes: zeroes, [8 KiB, 2 MiB) and [4 MiB, 6 MiB) taken */
	if (!ASSERT_OK(fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 100, 5 * MiB),
		       "ZERO_RANGE"))
		goto out;
	memset(model + 100, 0, 5 * MiB);
	ASSERT_EQ(bfree(), free0 - 5 * UNIT + 2 * PAGE, "ZERO_RANGE filled the holes");
	read_is(fd, model, 0, 10 * MiB, "read(2) after ZERO_RANGE");

	/* more than the device: nothing taken, the size stays */
	blocks = bfree();
	ASSERT_ERR(fallocate(fd, 0, 10 * MiB, blocks + UNIT), "fallocate too much");
	ASSERT_EQ(errno, ENOSPC, "ENOSPC");
	ASSERT_EQ(bfree(), blocks, "ENOSPC took nothing");
	ASSERT_OK(fstat(fd, &st), "fstat");
	ASSERT_EQ(st.st_size, 10 * MiB, "ENOSPC: size kept");
	ASSERT_ERR(fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, UNIT), "COLLAPSE_RANGE");
	ASSERT_EQ(errno, EOPNOTSUPP, "COLLAPSE_RANGE: EOPNOTSUPP");
	close(fd);
	fd = -1;

	if (!fixture_remount(MNT, DEV))
		goto out;
	ASSERT_EQ(bfree(), free0 - 5 * UNIT + 2 * PAGE, "after a remount: the same space used");
	fixture_check_file(path("g"), model, 10 * MiB, true);
out:
	if (map != MAP_FAILED)
		munmap(map, MAP_LEN);
	if (fd >= 0)
		close(fd);
	free(model);
	free(page);
	fixture_ensure_unmounted(MNT);
}

#define ZR_LEN	(512 * MiB)

struct zr {
	int fd;
	int err;
	int done;
};

static void *zero_range(void *arg)
{
	struct zr *z = arg;

	if (fallocate(z->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, ZR_LEN))
		z->err = errno;
	__atomic_store_n(&z->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_zero_range_unlocked(void)
{
	char page[4096], name[32];
	struct zr z = { .fd = -1 };
	int i, fd, during = 0;
	pthread_t t;

	if (!fixture_mkfs_mount(DEV, MNT, NULL))
		return;
	z.fd = open(path("z"), O_RDWR | O_CREAT | O_EXCL, 0644);
	if (!ASSERT_OK_FD(z.fd, "create z") ||
	    !ASSERT_OK(fallocate(z.fd, 0, 0, ZR_LEN), "fallocate 512 MiB"))
		goto out;
	memset(page, 0x5a, sizeof(page));
	if (!ASSERT_EQ(pwrite(z.fd, page, sizeof(page), 0), sizeof(page), "write z"))
		goto out;
	if (!ASSERT_OK(pthread_create(&t, NULL, zero_range, &z), "pthread_create"))
		goto out;
	usleep(50000);		/* into the zeroing */
	for (i = 0; i < 64 && !__atomic_load_n(&z.done, __ATOMIC_ACQUIRE); i++) {
		snprintf(name, sizeof(name), "n%d", i);
		fd = open(path(name), O_RDWR | O_CREAT | O_EXCL, 0644);
		if (!ASSERT_OK_FD(fd, "create n"))
			break;
		ASSERT_EQ(pwrite(fd, page, sizeof(page), 0), sizeof(page), "first write of n");
		close(fd);
		if (!__atomic_load_n(&z.done, __ATOMIC_ACQUIRE))
			during++;
	}
	pthread_join(t, NULL);
	ASSERT_EQ(z.err, 0, "ZERO_RANGE");
	printf("%s: %d first writes (allocations) while ZERO_RANGE zeroed 512 MiB\n", __func__,
	       during);
	ASSERT_GE(during, 2, "allocations went on during the zeroing");
	ASSERT_EQ(pread(z.fd, page, sizeof(page), 0), sizeof(page), "read z");
	for (i = 0; i < (int)sizeof(page) && !page[i]; i++)
		;
	ASSERT_EQ(i, (int)sizeof(page), "ZERO_RANGE zeroed the data");
out:
	if (z.fd >= 0)
		close(z.fd);
	fixture_ensure_unmounted(MNT);
}

/* 40 MiB in pieces of 8 MiB: five or six pieces, never one EFBIG */
#define PC_OFF	(1 * MiB)
#define PC_LEN	(40 * MiB + 3)
#define PC_SIZE	(PC_OFF + PC_LEN)
#define PC_UNITS	((PC_SIZE + UNIT - 1) / UNIT)

static void test_pieces(void)
{
	char *model = calloc(1, PC_SIZE);
	long long free0, free1;
	struct stat st;
	int fd = -1, ret;

	if (!ASSERT_TRUE(model != NULL, "malloc"))
		return;
	if (!ASSERT_EQ(famfs("mkfs", "-f", DEV), 0, "mkfs"))
		goto out;
	mkdir(MNT, 0755);
	setenv("FAMFS_FAULT", "falloc_small", 1);
	ret = famfs("mount", DEV, MNT);
	unsetenv("FAMFS_FAULT");
	if (!ASSERT_EQ(ret, 0, "mount with FAMFS_FAULT=falloc_small"))
		goto out;
	fd = open(path("p"), O_RDWR | O_CREAT | O_EXCL, 0644);
	if (!ASSERT_OK_FD(fd, "create p"))
		goto out;
	fill_pattern(model, 5000, 41);
	if (!ASSERT_EQ(pwrite(fd, model, 5000, 0), 5000, "write p"))
		goto out;
	free0 = bfree();
	/* two pages at 0 are there: [1 MiB, 2 MiB) in pages, 20 new units, in pieces */
	if (!ASSERT_OK(fallocate(fd, 0, PC_OFF, PC_LEN), "fallocate 40 MiB, mode 0"))
		goto out;
	ASSERT_OK(fstat(fd, &st), "fstat");
	ASSERT_EQ(st.st_size, PC_SIZE, "mode 0: the size is the end of the range");
	ASSERT_EQ(st.st_blocks * 512, 2 * PAGE + PC_UNITS * UNIT - PC_OFF,
		  "st_blocks: the pages and every unit");
	ASSERT_EQ(bfree(), free0 - (PC_UNITS * UNIT - PC_OFF), "statvfs: the new space taken");
	read_is(fd, model, 0, PC_SIZE, "the data, then zeroes");

	/* more than is free: ENOSPC, the size stays, the bytes are the same */
	free1 = bfree();
	ASSERT_ERR(fallocate(fd, 0, PC_SIZE, free1 + 4 * UNIT), "fallocate past the free space");
	ASSERT_EQ(errno, ENOSPC, "ENOSPC");
	ASSERT_OK(fstat(fd, &st), "fstat");
	ASSERT_EQ(st.st_size, PC_SIZE, "ENOSPC: the size stays");
	read_is(fd, model, 0, PC_SIZE, "after ENOSPC");
	/* (the pieces it took stay past EOF, as ext4 leaves them) */
	close(fd);
	fd = -1;

	if (!ASSERT_EQ(famfs("umount", MNT), 0, "umount") ||
	    !ASSERT_EQ(famfs("fsck", DEV), 0, "fsck clean") ||
	    !ASSERT_EQ(famfs("mount", DEV, MNT), 0, "mount again"))
		goto out;
	fixture_check_file(path("p"), model, PC_SIZE, true);
out:
	if (fd >= 0)
		close(fd);
	free(model);
	fixture_ensure_unmounted(MNT);
}

void test_fs_fallocate(void)
{
	if (!fixture_famfs_bin())
		return;
	if (test__start_subtest("punch"))
		test_punch();
	if (test__start_subtest("alloc"))
		test_alloc();
	if (test__start_subtest("zero_range_unlocked"))
		test_zero_range_unlocked();
	if (test__start_subtest("pieces"))
		test_pieces();
}
