// SPDX-License-Identifier: GPL-2.0
/*
 * famfs-bpf mount -o resolver=builtin: the kernel's C resolver serves the
 * file system daemon's files from whole layouts (FUSE_FMAP_OP_LAYOUT).
 *  - reads: after a remount (nothing cached), a simple file and a striped
 *    one read back by read(2) and mmap; builtin_resolves grows, and no
 *    mapping is asked of the daemon (only each file's layout, once); no
 *    BPF resolver is attached and none resolves;
 *  - grow: a file written past what the kernel's layout covers still reads
 *    back whole (the offsets past it go to the daemon), and a truncate down
 *    drops the layout: the cut part reads as zeroes after growing again;
 *    the first read after the remount is the built-in resolver's.
 * Every path ends unmounted: later tests mkfs the same device.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "famfs_xattr.h"
#include "fixture.h"
#include "test_progs.h"
#include "xorshift.h"

#define DEV1	"/dev/pmem1"
#define DEV2	"/dev/pmem2"
#define MNT	"/tmp/fs_builtin.mnt"
#define SIMPLE	(8 * MiB + 4321)
#define STRIPED	(32 * MiB)
#define CUT	(3 * MiB + 17)

#define famfs(...) fixture_famfs(0, __VA_ARGS__)

static const char *path(const char *name)
{
	return fixture_join(MNT, name);
}

static bool remount(void)
{
	return fixture_remount(MNT, "-o", "resolver=builtin", DEV1, DEV2);
}

static void fill(void *buf, size_t len, __u64 seed)
{
	__u64 s = seed, *p = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		p[i] = xorshift64(&s);
	memset((char *)buf + len / 8 * 8, 0x5a, len % 8);
}

static bool setup(void *simple, void *striped)
{
	static const char stripe[] = "2 2097152";

	fill(simple, SIMPLE, 1);
	fill(striped, STRIPED, 2);
	fixture_ensure_unmounted(MNT);
	if (mkdir(MNT, 0755) && !ASSERT_EQ(errno, EEXIST, "mkdir " MNT))
		return false;
	if (!ASSERT_EQ(famfs("mkfs", "-f", DEV1, DEV2), 0, "mkfs") || !remount())
		return false;
	if (!ASSERT_OK(mkdir(path("s"), 0755), "mkdir s") ||
	    !ASSERT_OK(setxattr(path("s"), FAMFS_XATTR_STRIPE, stripe, sizeof(stripe) - 1, 0),
		       "stripe the directory"))
		return false;
	return fixture_write_file(path("simple"), simple, SIMPLE, 1 * MiB) &&
	       fixture_write_file(path("s/striped"), striped, STRIPED, 8 * MiB);
}

static void reads(const void *simple, const void *striped)
{
	long long b0, u0, b1, u1;

	if (!remount())
		return;
	b0 = fixture_mnt_stat(MNT, "builtin_resolves");
	u0 = fixture_mnt_stat(MNT, "upcalls");
	if (!ASSERT_GE(b0, 0, "fmap_stats") || !ASSERT_GE(u0, 0, "upcalls counter"))
		return;
	fixture_check_file(path("simple"), simple, SIMPLE, false);
	fixture_check_file(path("s/striped"), striped, STRIPED, false);
	b1 = fixture_mnt_stat(MNT, "builtin_resolves");
	u1 = fixture_mnt_stat(MNT, "upcalls");
	printf("# builtin_resolves %lld -> %lld, upcalls %lld -> %lld\n", b0, b1, u0, u1);
	ASSERT_GE(b1 - b0, 2, "both files resolved by the built-in resolver");
	/* the layouts are the resolver's own requests: not counted as upcalls */
	ASSERT_EQ(u1 - u0, 0, "no mapping upcalls: all from the layouts");
	ASSERT_EQ(fixture_mnt_stat(MNT, "bpf_attached"), 0, "no BPF resolver attached");
	ASSERT_EQ(fixture_mnt_stat(MNT, "bpf_resolves"), 0, "no BPF resolutions");
}

static void grow(const void *simple)
{
	char *both = malloc(2 * SIMPLE);
	long long b0;
	int fd;

	if (!ASSERT_TRUE(both != NULL, "malloc") || !remount())
		goto out;
	/* the kernel takes the layout (8 MiB and a bit), then the file grows past it */
	b0 = fixture_mnt_stat(MNT, "builtin_resolves");
	fixture_check_file(path("simple"), simple, SIMPLE, false);
	ASSERT_GT(fixture_mnt_stat(MNT, "builtin_resolves"), b0, "built-in resolver read it");
	memcpy(both, simple, SIMPLE);
	fill(both + SIMPLE, SIMPLE, 3);
	fd = open(path("simple"), O_RDWR);
	if (!ASSERT_OK_FD(fd, "open"))
		goto out;
	ASSERT_EQ(pwrite(fd, both + SIMPLE, SIMPLE, SIMPLE), SIMPLE, "write past the layout");
	close(fd);
	fixture_check_file(path("simple"), both, 2 * SIMPLE, true);
	/* down, then up again: what was cut reads as zeroes, not old bytes */
	if (!ASSERT_OK(truncate(path("simple"), CUT), "truncate down") ||
	    !ASSERT_OK(truncate(path("simple"), 2 * SIMPLE), "truncate up"))
		goto out;
	memset(both + CUT, 0, 2 * SIMPLE - CUT);
	fixture_check_file(path("simple"), both, 2 * SIMPLE, true);
out:
	free(both);
}

void test_fs_builtin(void)
{
	char *simple = malloc(SIMPLE), *striped = malloc(STRIPED);

	if (!ASSERT_TRUE(simple && striped, "malloc"))
		goto out;
	if (!setup(simple, striped))
		goto out;
	if (test__start_subtest("reads"))
		reads(simple, striped);
	if (test__start_subtest("grow"))
		grow(simple);
out:
	fixture_ensure_unmounted(MNT);
	free(simple);
	free(striped);
}
