// SPDX-License-Identifier: GPL-2.0
/*
 * File systems on block devices without DAX (issue 17 item 3), served by
 * the famfs-bpf daemon: the file data go through the page cache and iomap
 * to the guest's virtio-blk disks /dev/vda and /dev/vdb (256 MiB each),
 * FUSE_ATTR_FMAP_BLOCK files (kernel patches 32-33).
 *  - block_only: mkfs over vda + vdb (the log on vda, a block device),
 *    mount; files are "block" (user.famfs.class, getmap); files of unaligned sizes written buffered, with O_DIRECT and
 *    through a shared mmap read back, and their bytes found on the raw
 *    disks where getmap says; a file in a directory with stripe policy
 *    "2 2 MiB" has strips on both disks; remount: every file reads back,
 *    the reads resolved by BPF with no FUSE_FMAP upcall; an unlinked
 *    file's space and a truncated tail come back to new data with none of
 *    the old bytes; umount and fsck clean.
 *  - mixed: mkfs over pmem0 + vda + vdb: mounts; a file is memory (the
 *    default where the file system has memory) and its extents are on
 *    pmem0 only; a directory of class block (user.famfs.class) puts its
 *    files on the disks; bad classes refused; the classes and data back
 *    after a remount; fsck clean.
 * Cost on the test kernel under TCG (2 vCPUs), other guests on the host:
 * 24-37 s for both subtests (three runs, other guests on the host).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

#define VDA	"/dev/vda"
#define VDB	"/dev/vdb"
#define PMEM	"/dev/pmem0"
#define MNT	"/tmp/fs_block.mnt"
#define PAGE	4096ULL

#define famfs(...) fixture_famfs(0, __VA_ARGS__)

static const char *mpath(const char *name)
{
	return fixture_join(MNT, name);
}

/*
 * The device and device offset of file offset @off of @path, from
 * "famfs-bpf getmap": "offset OFF: dev D offset DEV_OFF".
 */
static bool where(const char *path, __u64 off, unsigned int *dev, __u64 *dev_off)
{
	char arg[32], want[48];
	unsigned long long o, d_off;
	unsigned int d;
	const char *line;

	snprintf(arg, sizeof(arg), "%llu", (unsigned long long)off);
	if (!ASSERT_EQ(famfs("getmap", path, arg), 0, "getmap"))
		return false;
	snprintf(want, sizeof(want), "offset %llu: dev", (unsigned long long)off);
	line = strstr(fixture_out, want);
	if (!ASSERT_TRUE(line != NULL, "getmap names the offset") ||
	    !ASSERT_EQ(sscanf(line, "offset %llu: dev %u offset %llu", &o, &d, &d_off), 3,
		       "getmap line")) {
		printf("# %s", fixture_out);
		return false;
	}
	*dev = d;
	*dev_off = d_off;
	return true;
}

/* user.famfs.class of @path is @want, and getmap says so. */
static void class_is(const char *path, const char *want)
{
	char v[16] = "", line[48];
	ssize_t n = getxattr(path, "user.famfs.class", v, sizeof(v) - 1);

	if (ASSERT_GT(n, 0, "user.famfs.class"))
		ASSERT_STREQ(v, want, "user.famfs.class");
	snprintf(line, sizeof(line), "class %s:", want);
	if (ASSERT_EQ(famfs("getmap", path), 0, "getmap"))
		ASSERT_TRUE(strstr(fixture_out, line) != NULL, "getmap names the class");
}

/* The byte at file offset @off of @path is @want on the raw device. */
static void raw_byte_is(const char *path, const char *const *devs, unsigned int ndevs,
			__u64 off, unsigned char want)
{
	unsigned char *page = NULL;
	unsigned int dev;
	__u64 dev_off;

	if (!where(path, off, &dev, &dev_off) || !ASSERT_LT(dev, ndevs, "device index") ||
	    posix_memalign((void **)&page, PAGE, PAGE))
		return;
	if (ASSERT_OK(dev_pread(devs[dev], page, PAGE, dev_off & ~(PAGE - 1)), "raw read"))
		if (!ASSERT_EQ(page[dev_off & (PAGE - 1)], want, "byte on the raw device"))
			printf("# %s offset %llu: %s offset %llu\n", path,
			       (unsigned long long)off, devs[dev], (unsigned long long)dev_off);
	free(page);
}

/* Some offsets of @data, as @path holds it, checked on the raw devices. */
static void raw_matches(const char *path, const char *const *devs, unsigned int ndevs,
			const unsigned char *data, size_t len)
{
	const __u64 offs[] = { 0, 1, PAGE - 1, PAGE, len / 2, len - 1 };
	unsigned int i;

	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		raw_byte_is(path, devs, ndevs, offs[i], data[offs[i]]);
}

static bool fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY);
	bool ok;

	if (!ASSERT_GE(fd, 0, "open for fsync"))
		return false;
	ok = ASSERT_OK(fsync(fd), "fsync");
	close(fd);
	return ok;
}

/* @len bytes of @data into a new @path through O_DIRECT, @len a page multiple. */
static bool write_direct(const char *path, const void *data, size_t len)
{
	void *buf = NULL;
	bool ok = false;
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_DIRECT, 0644);

	if (!ASSERT_GE(fd, 0, "open O_DIRECT") || posix_memalign(&buf, PAGE, len))
		goto out;
	memcpy(buf, data, len);
	ok = ASSERT_EQ(pwrite(fd, buf, len, 0), (ssize_t)len, "O_DIRECT write") &&
	     ASSERT_OK(fsync(fd), "fsync");
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return ok;
}

/* @len bytes of @data into a new @path through a shared mapping, then msync. */
static bool write_mmap(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
	void *p = MAP_FAILED;
	bool ok = false;

	if (!ASSERT_GE(fd, 0, "open for mmap") || !ASSERT_OK(ftruncate(fd, len), "ftruncate"))
		goto out;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!ASSERT_NEQ(p, MAP_FAILED, "mmap"))
		goto out;
	memcpy(p, data, len);
	ok = ASSERT_OK(msync(p, len, MS_SYNC), "msync") && ASSERT_OK(fsync(fd), "fsync");
	munmap(p, len);
out:
	if (fd >= 0)
		close(fd);
	return ok;
}

#define A_LEN	(300 * 1024 + 123)	/* buffered, unaligned */
#define B_LEN	(1024 * 1024)		/* O_DIRECT */
#define C_LEN	(3 * 1024 * 1024 + 5)	/* mmap, unaligned */
#define S_LEN	(8 * 1024 * 1024 + 77)	/* striped */

static void test_block_only(void)
{
	static const char *const devs[] = { VDA, VDB };
	unsigned char *a = NULL, *b = NULL, *c = NULL, *s = NULL, *buf = NULL;
	long long res0, up0;
	unsigned int dev0, dev1;
	__u64 off0, off1;
	char v[64];
	ssize_t n;
	int fd;

	a = malloc(A_LEN);
	b = malloc(B_LEN);
	c = malloc(C_LEN);
	s = malloc(S_LEN);
	buf = calloc(1, 2 * 1024 * 1024);
	if (!ASSERT_TRUE(a && b && c && s && buf, "buffers"))
		goto out;
	fill_pattern(a, A_LEN, 1);
	fill_pattern(b, B_LEN, 2);
	fill_pattern(c, C_LEN, 3);
	fill_pattern(s, S_LEN, 4);

	fixture_ensure_unmounted(MNT);
	mkdir(MNT, 0755);
	if (!ASSERT_EQ(famfs("mkfs", "-f", "-L", "8M", VDA, VDB), 0, "mkfs vda vdb") ||
	    !ASSERT_EQ(famfs("mount", VDA, VDB, MNT), 0, "mount vda vdb")) {
		printf("# %s%s", fixture_out, fixture_err);
		goto out;
	}

	/* buffered, O_DIRECT, mmap: each reads back and is on the disks */
	if (fixture_write_file(mpath("a"), a, A_LEN, 64 * 1024 + 1) && fsync_path(mpath("a"))) {
		class_is(mpath("a"), "block");
		fixture_check_file(mpath("a"), a, A_LEN, true);
		raw_matches(mpath("a"), devs, 2, a, A_LEN);
	}
	if (write_direct(mpath("b"), b, B_LEN)) {
		fixture_check_file(mpath("b"), b, B_LEN, true);
		raw_matches(mpath("b"), devs, 2, b, B_LEN);
	}
	if (write_mmap(mpath("c"), c, C_LEN)) {
		fixture_check_file(mpath("c"), c, C_LEN, true);
		raw_matches(mpath("c"), devs, 2, c, C_LEN);
	}

	/* striped over both disks */
	if (ASSERT_OK(mkdir(mpath("s"), 0755), "mkdir s") &&
	    ASSERT_OK(setxattr(mpath("s"), "user.famfs.stripe", "2 2097152", 9, 0),
		      "stripe policy 2 2M")) {
		if (fixture_write_file(mpath("s/f"), s, S_LEN, 1024 * 1024 + 3) &&
		    fsync_path(mpath("s/f"))) {
			fixture_check_read(mpath("s/f"), s, S_LEN, true);
			raw_matches(mpath("s/f"), devs, 2, s, S_LEN);
			if (where(mpath("s/f"), 0, &dev0, &off0) &&
			    where(mpath("s/f"), 2 * 1024 * 1024, &dev1, &off1))
				ASSERT_NEQ(dev0, dev1, "chunks 0 and 1 on the two disks");
		}
	}

	/* remount: back from the disks, resolved by BPF, no upcall */
	if (!ASSERT_EQ(famfs("umount", MNT), 0, "umount") ||
	    !ASSERT_EQ(famfs("mount", VDA, VDB, MNT), 0, "mount again"))
		goto out;
	res0 = fixture_mnt_stat(MNT, "bpf_resolves");
	up0 = fixture_mnt_stat(MNT, "upcalls");
	fixture_check_read(mpath("a"), a, A_LEN, true);
	fixture_check_read(mpath("b"), b, B_LEN, true);
	fixture_check_file(mpath("c"), c, C_LEN, true);
	fixture_check_read(mpath("s/f"), s, S_LEN, true);
	printf("# after the remount: bpf_resolves +%lld, upcalls +%lld\n",
	       fixture_mnt_stat(MNT, "bpf_resolves") - res0,
	       fixture_mnt_stat(MNT, "upcalls") - up0);
	ASSERT_GE(fixture_mnt_stat(MNT, "bpf_resolves") - res0, 4, "BPF answered");
	ASSERT_EQ(fixture_mnt_stat(MNT, "upcalls"), up0, "no upcall");

	/* reuse: new data where old files were hold none of their bytes */
	memset(buf, 0xAA, 2 * 1024 * 1024);
	if (fixture_write_file(mpath("old"), buf, 2 * 1024 * 1024, 1024 * 1024) &&
	    fsync_path(mpath("old")) && ASSERT_OK(unlink(mpath("old")), "unlink old")) {
		fd = open(mpath("new"), O_CREAT | O_RDWR, 0644);
		if (ASSERT_GE(fd, 0, "create new")) {
			ASSERT_EQ(pwrite(fd, "0123456789", 10, 5000), 10, "pwrite at 5000");
			ASSERT_OK(fsync(fd), "fsync new");
			memset(buf, 0x55, 6000);
			n = pread(fd, buf, 6000, 0);
			if (ASSERT_EQ(n, 5010, "size 5010")) {
				ASSERT_EQ(memchr(buf, 0xAA, 5000), NULL, "no old bytes before");
				ASSERT_EQ(buf[4999], 0, "zero before the write");
				ASSERT_OK(memcmp(buf + 5000, "0123456789", 10), "the write");
			}
			close(fd);
		}
	}
	/* a truncated tail grows back as zeroes */
	if (ASSERT_OK(truncate(mpath("a"), 1000), "truncate a to 1000") &&
	    ASSERT_OK(truncate(mpath("a"), A_LEN), "extend a again")) {
		fd = open(mpath("a"), O_RDONLY);
		if (ASSERT_GE(fd, 0, "open a")) {
			n = pread(fd, buf, A_LEN, 0);
			if (ASSERT_EQ(n, A_LEN, "read a")) {
				ASSERT_OK(memcmp(buf, a, 1000), "head kept");
				size_t i, nonzero = 0;

				for (i = 1000; i < A_LEN; i++)
					nonzero += buf[i] != 0;
				ASSERT_EQ(nonzero, 0, "the tail is all zeroes");
			}
			close(fd);
		}
	}
	n = getxattr(mpath("a"), "user.famfs.layout", v, 0);
	ASSERT_GT(n, 0, "user.famfs.layout of a");
	/* no memory device: a memory class is refused */
	ASSERT_EQ(setxattr(MNT, "user.famfs.class", "memory", 6, 0), -1, "class memory refused");

	if (ASSERT_EQ(famfs("umount", MNT), 0, "umount"))
		if (!ASSERT_EQ(famfs("fsck", VDA, VDB), 0, "fsck clean"))
			printf("# %s", fixture_out);
out:
	fixture_ensure_unmounted(MNT);
	free(a);
	free(b);
	free(c);
	free(s);
	free(buf);
}

static void test_mixed(void)
{
	static const char *const devs[] = { PMEM, VDA, VDB };
	unsigned char *a = malloc(A_LEN);
	unsigned int dev;
	__u64 off;

	if (!ASSERT_TRUE(a != NULL, "buffer"))
		return;
	fill_pattern(a, A_LEN, 5);
	fixture_ensure_unmounted(MNT);
	mkdir(MNT, 0755);
	if (!ASSERT_EQ(famfs("mkfs", "-f", "-L", "8M", PMEM, VDA, VDB), 0, "mkfs pmem0 vda vdb") ||
	    !ASSERT_EQ(famfs("mount", PMEM, VDA, VDB, MNT), 0, "mount pmem0 vda vdb")) {
		printf("# %s%s", fixture_out, fixture_err);
		goto out;
	}
	if (fixture_write_file(mpath("m"), a, A_LEN, 4096 + 7) && fsync_path(mpath("m"))) {
		class_is(mpath("m"), "memory");
		fixture_check_file(mpath("m"), a, A_LEN, true);
		raw_matches(mpath("m"), devs, 3, a, A_LEN);
		/* memory, the default where there is memory: on pmem0 */
		if (where(mpath("m"), 0, &dev, &off))
			ASSERT_EQ(dev, 0, "on pmem0");
		if (where(mpath("m"), A_LEN - 1, &dev, &off))
			ASSERT_EQ(dev, 0, "on pmem0 to the end");
	}
	/* a directory of class block: its files go to the disks, and stay block */
	if (ASSERT_OK(mkdir(mpath("blk"), 0755), "mkdir blk")) {
		errno = 0;
		ASSERT_EQ(setxattr(mpath("blk"), "user.famfs.class", "disk", 4, 0), -1,
			  "class disk refused");
		ASSERT_EQ(errno, EINVAL, "EINVAL");
		ASSERT_EQ(setxattr(mpath("m"), "user.famfs.class", "block", 5, 0), -1,
			  "class of a file refused");
		if (ASSERT_OK(setxattr(mpath("blk"), "user.famfs.class", "block", 5, 0),
			      "class block on blk") &&
		    fixture_write_file(mpath("blk/f"), a, A_LEN, 8192 + 3) &&
		    fsync_path(mpath("blk/f"))) {
			char v[16] = "";

			ASSERT_EQ(getxattr(mpath("blk"), "user.famfs.class", v, sizeof(v) - 1), 5,
				  "class of blk");
			ASSERT_STREQ(v, "block", "class of blk");
			class_is(mpath("blk/f"), "block");
			raw_matches(mpath("blk/f"), devs, 3, a, A_LEN);
			if (where(mpath("blk/f"), 0, &dev, &off))
				ASSERT_NEQ(dev, 0, "on a disk");
			if (where(mpath("blk/f"), A_LEN - 1, &dev, &off))
				ASSERT_NEQ(dev, 0, "on a disk to the end");
		}
	}
	/* after a remount, from the log */
	if (ASSERT_EQ(famfs("umount", MNT), 0, "umount") &&
	    ASSERT_EQ(famfs("mount", PMEM, VDA, VDB, MNT), 0, "mount again")) {
		class_is(mpath("m"), "memory");
		class_is(mpath("blk/f"), "block");
		fixture_check_file(mpath("m"), a, A_LEN, true);
		fixture_check_file(mpath("blk/f"), a, A_LEN, true);
	}
	if (ASSERT_EQ(famfs("umount", MNT), 0, "umount"))
		ASSERT_EQ(famfs("fsck", PMEM, VDA, VDB), 0, "fsck clean");
out:
	fixture_ensure_unmounted(MNT);
	free(a);
}

void test_fs_block(void)
{
	if (test__start_subtest("block_only"))
		test_block_only();
	if (test__start_subtest("mixed"))
		test_mixed();
}
