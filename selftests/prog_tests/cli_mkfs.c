// SPDX-License-Identifier: GPL-2.0
/*
 * famfs-bpf mkfs and fsck on a real pmem block device (the unit tests only
 * see image files), run as the famfs-bpf binary next to test_progs.
 * /dev/pmem2 is scratch: the other tests use pmem0/1.
 *  - mkfs_fsck_clean: mkfs -f, then fsck is clean, and the superblock is
 *    on the media (read back with O_DIRECT, as DAX would see it);
 *  - refuses_ext2: mkfs refuses an ext2 device without -f, takes it with;
 *  - busy: mkfs -f refuses a mounted device (O_EXCL);
 *  - dax_detected: the device table says DAX for fsdax pmem.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cli/cli.h"
#include "famfs_format.h"
#include "fixture.h"
#include "fs/super.h"
#include "test_progs.h"

#define DEV "/dev/pmem2"

/* famfs-bpf ARGS...: its report in fixture_out, its errors in fixture_err, both logged */
#define cli(...) fixture_famfs(FX_LOG_OUT, __VA_ARGS__)

/* The superblock, from the media: O_DIRECT, like the kernel's DAX reads. */
static bool read_sb(struct famfs_superblock *sb)
{
	return ASSERT_OK(dev_pread(DEV, sb, sizeof(*sb), 0), "read superblock (O_DIRECT)");
}

/* Zero the start of the device, so nothing found later is left over. */
static bool wipe(void)
{
	static char zero[FAMFS_ALLOC_UNIT];

	return ASSERT_OK(dev_pwrite(DEV, zero, sizeof(zero), 0), "wipe " DEV);
}

/* The first 8 bytes through the page cache; 0 on error. */
static __u64 buffered_magic(void)
{
	__le64 magic = 0;
	int fd = open(DEV, O_RDONLY);

	if (fd < 0 || pread(fd, &magic, sizeof(magic), 0) != sizeof(magic))
		magic = 0;
	if (fd >= 0)
		close(fd);
	return le64toh(magic);
}

/* True if /dev/pmem2 is mounted anywhere. */
static bool dev_mounted(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/mounts", "r");

	while (f && !found && fgets(line, sizeof(line), f))
		found = !strncmp(line, DEV " ", strlen(DEV " "));
	if (f)
		fclose(f);
	return found;
}

static void test_mkfs_fsck_clean(void)
{
	struct famfs_superblock sb;
	struct famfs_sb_info info;
	char msg[200];

	if (!wipe())
		return;
	/* cache the wiped page: mkfs must not leave it stale for buffered readers */
	if (!ASSERT_EQ(buffered_magic(), 0, "wiped"))
		return;
	if (!ASSERT_EQ(cli("mkfs", "-f", DEV), CLI_EXIT_OK, "mkfs -f"))
		return;
	ASSERT_TRUE(strstr(fixture_out, "1 device,") != NULL, "mkfs report");
	ASSERT_EQ(cli("fsck", DEV), CLI_EXIT_OK, "fsck clean");

	if (!read_sb(&sb))
		return;
	ASSERT_EQ(le64toh(sb.magic), FAMFS_SB_MAGIC, "superblock magic on the media");
	ASSERT_EQ(buffered_magic(), FAMFS_SB_MAGIC, "buffered read sees it too");
	if (!ASSERT_OK(famfs_sb_decode(&sb, sizeof(sb), &info, msg, sizeof(msg)),
		       "superblock decodes"))
		printf("# decode: %s\n", msg);
}

static void test_refuses_ext2(void)
{
	if (!ASSERT_EQ(fixture_cmd(0, "mkfs.ext2", "-q", "-F", DEV), 0, "mkfs.ext2"))
		return;
	ASSERT_EQ(cli("mkfs", DEV), CLI_EXIT_OPERATIONAL, "mkfs without -f");
	ASSERT_TRUE(strstr(fixture_err, "ext2") != NULL, "error names ext2");
	/* -v: the "overwriting" note is at info level */
	ASSERT_EQ(cli("-v", "mkfs", "-f", DEV), CLI_EXIT_OK, "mkfs -f");
	ASSERT_TRUE(strstr(fixture_err, "overwriting an ext2") != NULL,
		    "-f says what it overwrote");
	ASSERT_EQ(cli("fsck", DEV), CLI_EXIT_OK, "fsck after mkfs -f");
}

static void test_busy(void)
{
	char mnt[] = "/tmp/cli_mkfs-XXXXXX";
	bool mounted = false;

	if (!ASSERT_EQ(fixture_cmd(0, "mkfs.ext2", "-q", "-F", DEV), 0, "mkfs.ext2"))
		return;
	if (!ASSERT_TRUE(mkdtemp(mnt) != NULL, "mkdtemp"))
		return;
	if (!ASSERT_OK(mount(DEV, mnt, "ext2", 0, NULL), "mount ext2"))
		goto out;
	mounted = true;

	ASSERT_EQ(cli("mkfs", "-f", DEV), CLI_EXIT_OPERATIONAL, "mkfs -f while mounted");
	ASSERT_TRUE(strstr(fixture_err, "in use") != NULL, "error says in use");
out:
	if (mounted)
		ASSERT_OK(umount2(mnt, 0), "umount");
	rmdir(mnt);
	ASSERT_FALSE(dev_mounted(), DEV " left unmounted");
	/* and no longer held: mkfs takes it again */
	if (mounted)
		ASSERT_EQ(cli("mkfs", "-f", DEV), CLI_EXIT_OK, "mkfs -f after umount");
}

static void test_dax_detected(void)
{
	struct famfs_superblock sb;
	struct famfs_sb_info info;
	char path[96], c = '0';
	struct stat st;
	char msg[200];
	FILE *f;

	/* what the guest gives us: fsdax pmem, DAX-capable queue */
	if (!ASSERT_OK(stat(DEV, &st), "stat " DEV))
		return;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/dax", major(st.st_rdev),
		 minor(st.st_rdev));
	f = fopen(path, "r");
	if (f) {
		if (fread(&c, 1, 1, f) != 1)
			c = '0';
		fclose(f);
	}
	if (!ASSERT_EQ(c, '1', "queue/dax says 1"))
		return;

	if (!ASSERT_EQ(cli("mkfs", "-f", DEV), CLI_EXIT_OK, "mkfs -f") || !read_sb(&sb))
		return;
	ASSERT_EQ(le32toh(sb.ndevs), 1, "one device");
	ASSERT_EQ(le32toh(sb.devs[0].kind), FAMFS_DEV_DAX, "device 0 kind DAX");
	if (ASSERT_OK(famfs_sb_decode(&sb, sizeof(sb), &info, msg, sizeof(msg)), "decode"))
		ASSERT_EQ(info.devs.devs[0].kind, FAMFS_DEV_DAX, "decoded kind DAX");
}

void test_cli_mkfs(void)
{
	if (!fixture_famfs_bin())
		return;
	if (test__start_subtest("mkfs_fsck_clean"))
		test_mkfs_fsck_clean();
	if (test__start_subtest("refuses_ext2"))
		test_refuses_ext2();
	if (test__start_subtest("busy"))
		test_busy();
	if (test__start_subtest("dax_detected"))
		test_dax_detected();
}
