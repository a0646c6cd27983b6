// SPDX-License-Identifier: GPL-2.0
/*
 * famfs-bpf mount / umount: the real file system (fsd.c over fs.c) on
 * /dev/pmem2, driven through the famfs-bpf binary as a user would.
 *  - mount: mkfs -f over a device full of old bytes, mount daemonizes and
 *    returns with the mount live;
 *  - files: mkdir -p, write(2) of several MiB and a small file, read(2)
 *    and mmap read back, stat sizes, a sparse write reads zeroes (fresh
 *    space is zeroed, never the old bytes), truncate down and up reads
 *    zeroes, rename, unlink, readdir;
 *  - unlinked_open: a file unlinked while open keeps working until close;
 *  - remount: umount, mount again: same names, bytes and sizes;
 *  - no_fs: a device without a file system is refused with one line and
 *    exit 32, and nothing stays mounted;
 *  - stripe_remount: a directory's user.famfs.stripe over two devices
 *    survives a remount, and a file created there after it is written
 *    (32 MiB) interleaved with that geometry.
 *  - readdirplus: on a fresh mount, readdir (served with READDIRPLUS)
 *    makes the files' inodes; stat, read(2) and mmap then use them as
 *    mapped files, so the attributes there must be marked FUSE_ATTR_FMAP.
 *  - refusals: each reason a mount is refused has its own exit code and
 *    one line: the file system mounted already (36), a character device
 *    such as devdax (35), a loop device without DAX under a file system
 *    whose table says memory (35), no
 *    CAP_SYS_ADMIN (an unprivileged user, root without it: 37), a device
 *    that cannot be opened (37);
 *  - debug: mount -d serves in the foreground and logs every request on
 *    stderr; famfs-bpf umount from another process ends it with exit 0.
 *  - replay_progress: a log of more than 10,000 entries mounts silently
 *    when stderr is a pipe, and with "replaying the log: N%" on a pty
 *    (script(1)).
 *  - hard_links: link(2) gives a file a second name: one inode, nlink 2,
 *    the same bytes through read(2) and mmap by either name, a write
 *    through one seen through the other; both survive a remount, one
 *    name goes (and another remount) with the data kept, the last one
 *    frees the space; a directory is EPERM.
 *  - escaped_mount_point: a mount point with a space, a tab and a
 *    backslash (escaped in mountinfo) mounts, serves and unmounts.
 * Every path ends unmounted: later tests mkfs the same device.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cli/cli.h"
#include "famfs_xattr.h"
#include "fixture.h"
#include "fmap.h"
#include "fs/mlog.h"
#include "fs/super.h"
#include "test_progs.h"

#define DEV	"/dev/pmem2"
#define MNT	"/tmp/fs_mount.mnt"
#define BIG	(6 * MiB + 123)	/* not a page multiple: the tail counts */
#define SMALL	"a small file\n"

#define famfs(...) fixture_famfs(0, __VA_ARGS__)

static const char *path(const char *name)
{
	return fixture_join(MNT, name);
}

static bool mounted(void)
{
	return fixture_mounted(MNT);
}

static bool write_file(const char *name, const void *data, size_t len)
{
	/* in pieces: each write that moves EOF reports a size */
	return fixture_write_file(path(name), data, len, MiB);
}

static void check_file(const char *name, const void *data, size_t len)
{
	fixture_check_file(path(name), data, len, true);
}

static bool all_zero(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* The names in @dir, sorted, joined with spaces ("." and ".." left out). */
static void list_dir(const char *dir, char *out, size_t size)
{
	struct dirent **ents;
	int n = scandir(path(dir), &ents, NULL, alphasort);
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(ents[i]->d_name, ".") && strcmp(ents[i]->d_name, ".."))
			used += snprintf(out + used, used < size ? size - used : 0, "%s%s",
					 used ? " " : "", ents[i]->d_name);
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
}

static void test_mount(void)
{
	static char junk[4 * MiB];

	/* old bytes everywhere a file could land: fresh space must hide them */
	memset(junk, 0xee, sizeof(junk));
	for (__u64 off = 0; off < 64 * MiB; off += sizeof(junk))
		if (!ASSERT_OK(dev_pwrite(DEV, junk, sizeof(junk), off), "junk on " DEV))
			return;
	if (!fixture_mkfs_mount(DEV, MNT, NULL))
		return;
	ASSERT_TRUE(mounted(), "mounted when the command returns");
	ASSERT_EQ(famfs("mount", DEV, MNT), CLI_EXIT_MOUNT_MNTPT, "mounted twice");
}

static void test_files(const char *big)
{
	char names[256], *buf = NULL;
	struct statvfs sv;
	struct stat st;
	int fd;

	if (!ASSERT_TRUE(mounted(), "mounted"))
		return;
	ASSERT_OK(mkdir(path("a"), 0755), "mkdir a");
	ASSERT_OK(mkdir(path("a/b"), 0755), "mkdir a/b");
	if (!write_file("a/b/big", big, BIG) || !write_file("a/small", SMALL, strlen(SMALL)))
		return;
	check_file("a/b/big", big, BIG);
	check_file("a/small", SMALL, strlen(SMALL));

	/* a sparse write: the hole and the rest of its unit read as zeroes */
	buf = calloc(1, 4 * MiB);
	fd = open(path("a/sparse"), O_CREAT | O_RDWR, 0644);
	if (ASSERT_OK_FD(fd, "sparse") && ASSERT_TRUE(buf != NULL, "calloc")) {
		ASSERT_EQ(pwrite(fd, "x", 1, 3 * MiB + 5), 1, "pwrite past a hole");
		ASSERT_EQ(pread(fd, buf, 4 * MiB, 0), 3 * MiB + 6, "read sparse");
		ASSERT_TRUE(all_zero(buf, 3 * MiB + 5) && buf[3 * MiB + 5] == 'x',
			    "hole and fresh space read as zeroes");
		/* truncate down into the unit, then up: no old bytes come back */
		memset(buf, 0x5a, 3 * MiB);
		ASSERT_EQ(pwrite(fd, buf, 3 * MiB, 0), 3 * MiB, "fill");
		ASSERT_OK(ftruncate(fd, MiB + 10), "truncate down");
		ASSERT_OK(ftruncate(fd, 3 * MiB), "truncate up");
		memset(buf, 1, 4 * MiB);
		ASSERT_EQ(pread(fd, buf, 4 * MiB, 0), 3 * MiB, "read truncated");
		ASSERT_TRUE(buf[MiB + 9] == 0x5a && all_zero(buf + MiB + 10, 2 * MiB - 10),
			    "kept bytes, zeroes past the old end");
	}
	if (fd >= 0)
		close(fd);
	free(buf);

	/* stores through a shared mapping allocate at the fault */
	fd = open(path("a/mapped"), O_CREAT | O_RDWR, 0644);
	if (ASSERT_OK_FD(fd, "mapped") && ASSERT_OK(ftruncate(fd, 4 * MiB), "size a hole")) {
		char *map = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		if (ASSERT_TRUE(map != MAP_FAILED, "mmap rw")) {
			ASSERT_TRUE(all_zero(map, 4 * MiB), "the hole reads zeroes");
			memcpy(map + MiB, big, 2 * MiB);
			ASSERT_OK(msync(map, 4 * MiB, MS_SYNC), "msync");
			munmap(map, 4 * MiB);
		}
		close(fd);
		fd = -1;
		buf = malloc(2 * MiB);
		fd = open(path("a/mapped"), O_RDONLY);
		if (ASSERT_OK_FD(fd, "reopen") && ASSERT_TRUE(buf != NULL, "malloc") &&
		    ASSERT_EQ(pread(fd, buf, 2 * MiB, MiB), 2 * MiB, "read mapped"))
			ASSERT_MEMEQ(buf, big, 2 * MiB, "stores through mmap");
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	ASSERT_OK(unlink(path("a/mapped")), "unlink mapped");

	ASSERT_OK(symlink("big2", path("a/link")), "symlink");
	ASSERT_OK(statvfs(MNT, &sv), "statvfs");
	ASSERT_EQ(sv.f_bsize, 4096, "statfs block size: pages");
	ASSERT_GT(sv.f_bfree, 0, "statfs free");
	ASSERT_LT(sv.f_bfree, sv.f_blocks, "statfs used");

	ASSERT_OK(rename(path("a/b/big"), path("a/big2")), "rename");
	ASSERT_ERR(stat(path("a/b/big"), &st), "old name gone");
	check_file("a/big2", big, BIG);
	ASSERT_TRUE(write_file("a/gone", SMALL, strlen(SMALL)), "a/gone");
	ASSERT_OK(unlink(path("a/gone")), "unlink");
	ASSERT_ERR(stat(path("a/gone"), &st), "unlinked name gone");
	list_dir("a", names, sizeof(names));
	ASSERT_STREQ(names, "b big2 link small sparse", "readdir a");
	list_dir("a/b", names, sizeof(names));
	ASSERT_STREQ(names, "", "readdir a/b");
	ASSERT_OK(rmdir(path("a/b")), "rmdir a/b");
	ASSERT_OK(mkdir(path("a/b"), 0700), "mkdir a/b again");
}

static void test_unlinked_open(const char *big)
{
	char *buf = malloc(3 * MiB);
	struct stat st;
	int fd;

	if (!ASSERT_TRUE(mounted(), "mounted") || !ASSERT_TRUE(buf != NULL, "malloc"))
		goto out;
	fd = open(path("orphan"), O_CREAT | O_RDWR, 0600);
	if (!ASSERT_OK_FD(fd, "create"))
		goto out;
	ASSERT_EQ(write(fd, big, 2 * MiB), 2 * MiB, "write");
	ASSERT_OK(unlink(path("orphan")), "unlink while open");
	ASSERT_ERR(stat(path("orphan"), &st), "name gone");
	/* past the old end: allocation for a file with no name */
	ASSERT_EQ(pwrite(fd, big + 2 * MiB, MiB, 2 * MiB), MiB, "write after unlink");
	ASSERT_EQ(pread(fd, buf, 3 * MiB, 0), 3 * MiB, "read after unlink");
	ASSERT_MEMEQ(buf, big, 3 * MiB, "bytes after unlink");
	if (ASSERT_OK(fstat(fd, &st), "fstat"))
		ASSERT_EQ(st.st_size, 3 * MiB, "size after unlink");
	close(fd);
out:
	free(buf);
}

static void test_remount(const char *big)
{
	char names[256], target[16];
	ssize_t n;
	struct stat st;

	if (!ASSERT_TRUE(mounted(), "mounted"))
		return;
	if (!ASSERT_EQ(famfs("umount", MNT), 0, "umount"))
		return;
	ASSERT_FALSE(mounted(), "unmounted when the command returns");
	if (!ASSERT_EQ(famfs("mount", DEV, MNT), 0, "mount again"))
		return;
	list_dir("", names, sizeof(names));
	ASSERT_STREQ(names, "a", "readdir /");
	list_dir("a", names, sizeof(names));
	ASSERT_STREQ(names, "b big2 link small sparse", "readdir a");
	n = readlink(path("a/link"), target, sizeof(target) - 1);
	if (ASSERT_EQ(n, 4, "readlink")) {
		target[n] = '\0';
		ASSERT_STREQ(target, "big2", "symlink target");
	}
	check_file("a/link", big, BIG);
	check_file("a/small", SMALL, strlen(SMALL));
	if (ASSERT_OK(stat(path("a/sparse"), &st), "stat sparse"))
		ASSERT_EQ(st.st_size, 3 * MiB, "sparse size");
	if (ASSERT_OK(stat(path("a/b"), &st), "stat a/b"))
		ASSERT_EQ(st.st_mode, S_IFDIR | 0700, "a/b mode");
}

static void test_no_fs(void)
{
	static char zero[2 * MiB];

	fixture_ensure_unmounted(MNT);
	mkdir(MNT, 0755);	/* when run alone */
	if (!ASSERT_OK(dev_pwrite(DEV, zero, sizeof(zero), 0), "wipe " DEV))
		return;
	/* merged: all it prints, on either stream, is that one line */
	ASSERT_EQ(fixture_famfs(FX_MERGE, "mount", DEV, MNT), CLI_EXIT_MOUNT_NOFS, "exit code");
	ASSERT_TRUE(strstr(fixture_out, "not a famfs-bpf device") != NULL, "says why");
	ASSERT_TRUE(fixture_one_line(fixture_out), "one line");
	ASSERT_FALSE(mounted(), "nothing mounted");
}

/*
 * The stripe policy is in the log: set on a directory over /dev/pmem2 and
 * /dev/pmem1 (two strips need two devices), remount, create and write a
 * file there: its layout is two strips of 4 MiB chunks on both devices.
 */
#define STRIPE_DEV1	"/dev/pmem1"
#define STRIPE_LEN	(32 * MiB)

static void test_stripe_remount(void)
{
	static const char policy[] = "2 4194304";
	const struct famfs_xattr_layout *h;
	const struct fmap_ileave_ext *ie;
	char *data = malloc(STRIPE_LEN), *buf = NULL, v[64];
	bool geometry = true;
	__u64 mapped = 0;
	ssize_t n;
	__u32 i;

	fixture_ensure_unmounted(MNT);
	if (!ASSERT_TRUE(data != NULL, "malloc") ||
	    !ASSERT_EQ(famfs("mkfs", "-f", DEV, STRIPE_DEV1), 0, "mkfs over two devices") ||
	    !ASSERT_EQ(famfs("mount", DEV, STRIPE_DEV1, MNT), 0, "mount"))
		goto out;
	fill_pattern(data, STRIPE_LEN, 77);
	if (!ASSERT_OK(mkdir(path("sd"), 0755), "mkdir sd") ||
	    !ASSERT_OK(setxattr(path("sd"), FAMFS_XATTR_STRIPE, policy, strlen(policy), 0),
		       "directory default") ||
	    !ASSERT_EQ(famfs("umount", MNT), 0, "umount") ||
	    !ASSERT_EQ(famfs("mount", DEV, STRIPE_DEV1, MNT), 0, "mount again"))
		goto out;
	n = getxattr(path("sd"), FAMFS_XATTR_STRIPE, v, sizeof(v) - 1);
	if (ASSERT_GT(n, 0, "getxattr sd after the remount")) {
		v[n] = '\0';
		ASSERT_STREQ(v, policy, "the directory's default survived");
	}
	if (!write_file("sd/f", data, STRIPE_LEN))
		goto out;
	n = getxattr(path("sd/f"), FAMFS_XATTR_STRIPE, v, sizeof(v) - 1);
	if (ASSERT_GT(n, 0, "getxattr sd/f")) {
		v[n] = '\0';
		ASSERT_STREQ(v, policy, "the new file took it");
	}
	n = getxattr(path("sd/f"), FAMFS_XATTR_LAYOUT, NULL, 0);
	if (!ASSERT_GT(n, (ssize_t)sizeof(*h), "layout size") || !(buf = malloc(n)) ||
	    !ASSERT_EQ(getxattr(path("sd/f"), FAMFS_XATTR_LAYOUT, buf, n), n, "layout"))
		goto out;
	h = (const void *)buf;
	printf("# sd/f: %u simple, %u interleaved extents\n", le32toh(h->nsimple),
	       le32toh(h->nileave));
	ASSERT_EQ(le32toh(h->nsimple), 0, "no simple extents");
	if (!ASSERT_GT(le32toh(h->nileave), 0, "interleaved") ||
	    !ASSERT_EQ((size_t)n, sizeof(*h) + le32toh(h->nileave) * sizeof(*ie), "length"))
		goto out;
	ie = (const void *)(h + 1);
	for (i = 0; i < le32toh(h->nileave); i++) {
		mapped += le64toh(ie[i].len);
		geometry &= ie[i].nstrips == 2 && ie[i].chunk_shift == 22 &&
			    le32toh(ie[i].strips[0].dev) != le32toh(ie[i].strips[1].dev);
	}
	ASSERT_TRUE(geometry, "2 strips of 4 MiB on both devices");
	ASSERT_GE(mapped, STRIPE_LEN, "the interleaved extents cover the file");
	check_file("sd/f", data, STRIPE_LEN);
out:
	fixture_ensure_unmounted(MNT);
	free(buf);
	free(data);
}

/*
 * Inodes made by READDIRPLUS: the kernel decides at an inode's creation
 * whether it is a mapped file, from the attributes it came with.  After a
 * remount nothing is cached; readdir makes the inodes, and within the
 * entry timeout (1 s) stat, read and mmap use them without a LOOKUP.
 */
static void test_readdirplus(void)
{
	static const size_t sizes[] = { 1, 4097, 2 * MiB, 3 * MiB + 7 };
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);
	char *data[sizeof(sizes) / sizeof(sizes[0])] = {};
	char name[16], names[128], want[128] = "";
	struct dirent *de;
	struct stat st;
	size_t i;
	DIR *d;

	for (i = 0; i < n; i++) {
		data[i] = malloc(sizes[i]);
		if (!ASSERT_TRUE(data[i] != NULL, "malloc"))
			goto out;
		fill_pattern(data[i], sizes[i], 100 + i);
	}
	if (!fixture_mkfs_mount(DEV, MNT, NULL) || !ASSERT_OK(mkdir(path("plus"), 0755), "mkdir"))
		goto out;
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "plus/f%zu", i);
		if (!write_file(name, data[i], sizes[i]))
			goto out;
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "%sf%zu",
			 i ? " " : "", i);
	}
	if (!ASSERT_EQ(famfs("umount", MNT), 0, "umount") ||
	    !ASSERT_EQ(famfs("mount", DEV, MNT), 0, "mount again"))
		goto out;

	/* the first contact with the files: their inodes come from here */
	d = opendir(path("plus"));
	if (!ASSERT_TRUE(d != NULL, "opendir"))
		goto out;
	while ((de = readdir(d)))
		ASSERT_TRUE(de->d_name[0] == '.' || de->d_type == DT_REG, "d_type");
	closedir(d);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "plus/f%zu", i);
		if (ASSERT_OK(stat(path(name), &st), "stat"))
			ASSERT_EQ(st.st_size, sizes[i], "size from READDIRPLUS");
	}
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "plus/f%zu", i);
		check_file(name, data[i], sizes[i]);
	}
	list_dir("plus", names, sizeof(names));
	ASSERT_STREQ(names, want, "readdir plus");
out:
	fixture_ensure_unmounted(MNT);
	for (i = 0; i < n; i++)
		free(data[i]);
}

#define MNT2		"/tmp/fs_mount.mnt2"
#define NOBODY		"65534"
#define DAX_NODE	"/tmp/fs_mount.dax"
#define BLK_NODE	"/tmp/fs_mount.blk"
#define NODAX_IMG	"/tmp/fs_mount.img"

/* The major number /proc/devices gives @name; -1 if none. */
static int chr_major(const char *name)
{
	char line[128], n[64];
	FILE *f = fopen("/proc/devices", "r");
	int major, found = -1;

	while (f && fgets(line, sizeof(line), f) && strncmp(line, "Block", 5))
		if (sscanf(line, "%d %63s", &major, n) == 2 && !strcmp(n, name))
			found = major;
	if (f)
		fclose(f);
	return found;
}

/* famfs-bpf mount refused: @code, one line holding @needle, nothing mounted */
static void refused(int ret, int code, const char *needle, const char *what)
{
	ASSERT_EQ(ret, code, what);
	if (!ASSERT_TRUE(strstr(fixture_out, needle) != NULL, "says why"))
		printf("# wanted \"%s\"\n", needle);
	ASSERT_TRUE(fixture_one_line(fixture_out), "one line");
	ASSERT_FALSE(mounted(), "nothing mounted");
}

static void test_refusals(void)
{
	const char *bin = fixture_famfs_bin();
	struct stat st;
	int major, fd;

	fixture_ensure_unmounted(MNT);
	if (!bin || !fixture_mkfs_mount(DEV, MNT, NULL))
		return;
	/* a second owner of the same devices, elsewhere: the log's flock */
	mkdir(MNT2, 0755);
	ASSERT_EQ(fixture_famfs(FX_MERGE, "mount", DEV, MNT2), CLI_EXIT_MOUNT_BUSY,
		  "mounted already");
	ASSERT_TRUE(strstr(fixture_out, DEV ": in use: another owner") != NULL, "says why");
	ASSERT_TRUE(fixture_one_line(fixture_out), "one line");
	ASSERT_FALSE(fixture_mounted(MNT2), "not mounted twice");
	fixture_ensure_unmounted(MNT);

	/*
	 * devdax: a character device of the "dax" major (the guest's pmem is
	 * fsdax; the refusal is decided from the node, before it is opened)
	 */
	major = chr_major("dax");
	unlink(DAX_NODE);
	if (ASSERT_GT(major, 0, "dax major in /proc/devices") &&
	    ASSERT_OK(mknod(DAX_NODE, S_IFCHR | 0600, makedev(major, 0)), "mknod devdax"))
		refused(fixture_famfs(FX_MERGE, "mount", DAX_NODE, MNT), CLI_EXIT_MOUNT_NODAX,
			DAX_NODE ": a character device (devdax?), no fsdax", "devdax");
	unlink(DAX_NODE);

	/*
	 * A block device without DAX mounts (fs_block) when its kind in the
	 * table says so.  A file system made on an image (which stands in
	 * for memory) and mounted from a loop device over it is refused: the
	 * kernel would not map a memory file onto it.
	 */
	fd = open(NODAX_IMG, O_CREAT | O_TRUNC | O_RDWR, 0600);
	if (ASSERT_GE(fd, 0, "image") && ASSERT_OK(ftruncate(fd, 64 << 20), "64 MiB") &&
	    ASSERT_EQ(fixture_famfs(0, "mkfs", "-f", "-L", "4M", NODAX_IMG), 0, "mkfs the image") &&
	    ASSERT_EQ(fixture_cmd(0, "losetup", "-f", "--show", NODAX_IMG), 0, "losetup")) {
		char loop[64];

		snprintf(loop, sizeof(loop), "%.*s", (int)strcspn(fixture_out, "\n"), fixture_out);
		refused(fixture_famfs(FX_MERGE, "mount", loop, MNT), CLI_EXIT_MOUNT_NODAX,
			": a block device without DAX, but device 0 of the file system is DAX memory",
			"memory file system on a loop device");
		ASSERT_EQ(fixture_cmd(0, "losetup", "-d", loop), 0, "losetup -d");
	}
	if (fd >= 0)
		close(fd);
	unlink(NODAX_IMG);

	/* not root, and root without CAP_SYS_ADMIN */
	refused(fixture_cmd(FX_MERGE, "setpriv", "--reuid=" NOBODY, "--regid=" NOBODY,
			    "--clear-groups", (char *)bin, "mount", DEV, MNT),
		CLI_EXIT_MOUNT_PERM,
		"mount: permission denied: mounting needs root (CAP_SYS_ADMIN)",
		"unprivileged user");
	refused(fixture_cmd(FX_MERGE, "setpriv", "--inh-caps=-sys_admin",
			    "--bounding-set=-sys_admin", (char *)bin, "mount", DEV, MNT),
		CLI_EXIT_MOUNT_PERM, "needs root (CAP_SYS_ADMIN)", "root without CAP_SYS_ADMIN");

	/* a device node root may not open: another owner's, 0600, no DAC override */
	unlink(BLK_NODE);
	if (ASSERT_OK(stat(DEV, &st), "stat " DEV) &&
	    ASSERT_OK(mknod(BLK_NODE, S_IFBLK | 0600, st.st_rdev), "mknod") &&
	    ASSERT_OK(chown(BLK_NODE, 65534, 65534), "chown"))
		refused(fixture_cmd(FX_MERGE, "setpriv",
				    "--inh-caps=-dac_override,-dac_read_search",
				    "--bounding-set=-dac_override,-dac_read_search", (char *)bin,
				    "mount", BLK_NODE, MNT),
			CLI_EXIT_MOUNT_PERM,
			BLK_NODE ": cannot open for writing: Permission denied", "device refused");
	unlink(BLK_NODE);
	fixture_ensure_unmounted(MNT);
}

/*
 * mount -d: in the foreground, every request on stderr, until famfs-bpf
 * umount (another process) ends it; then it exits 0.
 */
#define DEBUG_LOG	"/tmp/fs_mount.debug"
#define DEBUG_WAIT_S	60

static void test_debug(void)
{
	const char *bin = fixture_famfs_bin();
	char *log = NULL, buf[64];
	int status = -1, fd, i;
	size_t len = 0;
	FILE *f;
	pid_t pid;

	fixture_ensure_unmounted(MNT);
	mkdir(MNT, 0755);
	if (!bin || !ASSERT_EQ(famfs("mkfs", "-f", DEV), 0, "mkfs"))
		return;
	pid = fixture_famfs_fg(DEBUG_LOG, MNT, DEBUG_WAIT_S, &status,
			       "mount", "-d", "-o", "resolver=upcall", DEV, MNT);
	/* a request and a mapping (FMAP upcall: resolver=upcall) */
	if (ASSERT_TRUE(mounted(), "mounted in the foreground") &&
	    write_file("dbg", SMALL, strlen(SMALL))) {
		fd = open(path("dbg"), O_RDONLY);
		if (ASSERT_OK_FD(fd, "open dbg")) {
			ASSERT_EQ(read(fd, buf, sizeof(buf)), (ssize_t)strlen(SMALL), "read dbg");
			close(fd);
		}
	}
	ASSERT_EQ(famfs("umount", MNT), 0, "umount from another process");
	if (pid > 0) {
		/* the daemon must end by itself: a hung one is killed, and fails */
		for (i = 0; i < DEBUG_WAIT_S * 10; i++) {
			if (waitpid(pid, &status, WNOHANG) == pid)
				break;
			usleep(100 * 1000);
		}
		if (!ASSERT_LT(i, DEBUG_WAIT_S * 10, "mount -d ended after umount")) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
	}
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "mount -d exit 0");
	f = fopen(DEBUG_LOG, "r");
	if (ASSERT_TRUE(f != NULL, "debug log") && getdelim(&log, &len, '\0', f) > 0) {
		ASSERT_TRUE(strstr(log, "debug: shim: request") != NULL, "requests logged");
		ASSERT_TRUE(strstr(log, "debug: FMAP ino") != NULL, "mappings logged");
		ASSERT_TRUE(strstr(log, "debug: session loop ended") != NULL, "end logged");
	}
	if (f)
		fclose(f);
	free(log);
	fixture_ensure_unmounted(MNT);
}

/*
 * A log of CLI_REPLAY_QUIET_ENTRIES + 100 MKDIRs, written straight onto the
 * device after mkfs (a mount would take minutes under TCG to append them).
 */
#define PROGRESS_DIRS	(CLI_REPLAY_QUIET_ENTRIES + 100)

static bool big_log(void)
{
	struct famfs_mlog_result res;
	struct famfs_mlog_writer w;
	struct famfs_mlog_entry e;
	struct famfs_sb_info sb;
	void *buf = NULL, *log = NULL;
	char why[200];
	bool ok = false;
	int i;

	if (!ASSERT_EQ(famfs("mkfs", "-f", DEV), 0, "mkfs") ||
	    !ASSERT_OK(posix_memalign(&buf, 4096, 4096), "malloc") ||
	    !ASSERT_OK(dev_pread(DEV, buf, 4096, 0), "read the superblock") ||
	    !ASSERT_OK(famfs_sb_decode(buf, FAMFS_SB_SIZE, &sb, why, sizeof(why)), why) ||
	    !ASSERT_OK(posix_memalign(&log, 4096, sb.log_len), "malloc log") ||
	    !ASSERT_OK(dev_pread(DEV, log, sb.log_len, sb.log_off), "read the log") ||
	    !ASSERT_OK(famfs_mlog_replay(log, sb.log_len, sb.fs_uuid, NULL, NULL, NULL, &res),
		       "replay") ||
	    !ASSERT_OK(famfs_mlog_writer_init(&w, log, sb.log_len, sb.fs_uuid, &res), "writer"))
		goto out;
	for (i = 0; i < PROGRESS_DIRS; i++) {
		famfs_mlog_entry_init(&e);
		e.type = FAMFS_LOG_MKDIR;
		e.mknod.parent = FAMFS_ROOT_INO;
		e.mknod.ino = FAMFS_ROOT_INO + 1 + i;
		e.mknod.mode = 0755;
		snprintf(e.name, sizeof(e.name), "d%d", i);
		if (!ASSERT_OK(famfs_mlog_append(&w, &e), "append"))
			goto out;
	}
	ok = ASSERT_OK(dev_pwrite(DEV, log, sb.log_len, sb.log_off), "write the log");
out:
	free(buf);
	free(log);
	return ok;
}

static void test_replay_progress(void)
{
	const char *bin = fixture_famfs_bin();
	char cmd[512], last[32];
	struct stat st;

	fixture_ensure_unmounted(MNT);
	mkdir(MNT, 0755);
	if (!bin || !big_log())
		return;
	snprintf(last, sizeof(last), "d%d", PROGRESS_DIRS - 1);
	/* stderr a pipe (the fixture's): nothing but what goes wrong */
	if (ASSERT_EQ(famfs("mount", DEV, MNT), 0, "mount, not on a terminal")) {
		ASSERT_STREQ(fixture_err, "", "silent");
		ASSERT_OK(stat(path(last), &st), "the last entry replayed");
	}
	fixture_ensure_unmounted(MNT);
	/* on a terminal: script(1) runs the command on a pty */
	snprintf(cmd, sizeof(cmd), "%s mount %s %s", bin, DEV, MNT);
	if (ASSERT_EQ(fixture_cmd(FX_MERGE, "script", "-qec", cmd, "/dev/null"), 0,
		      "mount on a pty")) {
		ASSERT_TRUE(strstr(fixture_out, "replaying the log:") != NULL, "progress shown");
		ASSERT_TRUE(strstr(fixture_out, "replaying the log: 100%") != NULL, "to the end");
		ASSERT_TRUE(mounted(), "mounted");
	}
	fixture_ensure_unmounted(MNT);
}

/* nlink of @name, -1 if stat fails; its inode number into *@ino */
static long nlink_of(const char *name, ino_t *ino)
{
	struct stat st;

	if (stat(path(name), &st))
		return -1;
	*ino = st.st_ino;
	return (long)st.st_nlink;
}

static __u64 free_blocks(void)
{
	struct statvfs sv;

	return statvfs(MNT, &sv) ? 0 : sv.f_bfree;
}

/* written in 1 MiB pieces: its first 2 MiB in pages, then 2 units; a partial page at the end */
#define LINKED_LEN	(5 * MiB + 77)

static void test_hard_links(void)
{
	char *data = malloc(LINKED_LEN), *map, names[64];
	__u64 free0, free1;
	ino_t ia = 0, ib = 0;
	int fd;

	if (!ASSERT_TRUE(data != NULL, "malloc"))
		goto out;
	fill_pattern(data, LINKED_LEN, 91);
	if (!fixture_mkfs_mount(DEV, MNT, NULL) || !ASSERT_OK(mkdir(path("hl"), 0755), "mkdir"))
		goto out;
	free0 = free_blocks();
	if (!write_file("hl/a", data, LINKED_LEN))
		goto out;
	free1 = free_blocks();
	ASSERT_EQ(free1, free0 - 6 * MiB / 4096, "the file takes 6 MiB");
	if (!ASSERT_OK(link(path("hl/a"), path("b")), "link"))
		goto out;
	ASSERT_EQ(nlink_of("hl/a", &ia), 2, "nlink by the old name");
	ASSERT_EQ(nlink_of("b", &ib), 2, "nlink by the new name");
	ASSERT_EQ(ia, ib, "one inode");
	ASSERT_EQ(free_blocks(), free1, "a name takes no space");
	ASSERT_ERR(link(path("hl"), path("hl2")), "link of a directory");
	ASSERT_EQ(errno, EPERM, "EPERM");
	ASSERT_ERR(link(path("b"), path("hl/a")), "link over a name");
	ASSERT_EQ(errno, EEXIST, "EEXIST");
	check_file("hl/a", data, LINKED_LEN);
	check_file("b", data, LINKED_LEN);

	/* write(2) by one name, read by the other; stores through a mapping the same */
	fd = open(path("b"), O_RDWR);
	if (ASSERT_OK_FD(fd, "open b")) {
		fill_pattern(data + MiB, 8192, 92);
		ASSERT_EQ(pwrite(fd, data + MiB, 8192, MiB), 8192, "pwrite b");
		close(fd);
	}
	fd = open(path("hl/a"), O_RDWR);
	if (ASSERT_OK_FD(fd, "open hl/a")) {
		map = mmap(NULL, LINKED_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (ASSERT_TRUE(map != MAP_FAILED, "mmap hl/a")) {
			ASSERT_MEMEQ(map + MiB, data + MiB, 8192, "b's write through hl/a's mapping");
			fill_pattern(data + 4 * MiB, 3 * 4096, 93);
			memcpy(map + 4 * MiB, data + 4 * MiB, 3 * 4096);
			ASSERT_OK(msync(map, LINKED_LEN, MS_SYNC), "msync");
			munmap(map, LINKED_LEN);
		}
		close(fd);
	}
	check_file("b", data, LINKED_LEN);
	check_file("hl/a", data, LINKED_LEN);

	/* both names come back */
	if (!ASSERT_EQ(famfs("umount", MNT), 0, "umount") ||
	    !ASSERT_EQ(famfs("mount", DEV, MNT), 0, "mount again"))
		goto out;
	ASSERT_EQ(nlink_of("hl/a", &ia), 2, "nlink after the remount");
	ASSERT_EQ(nlink_of("b", &ib), 2, "nlink of b after the remount");
	ASSERT_EQ(ia, ib, "one inode after the remount");
	check_file("b", data, LINKED_LEN);
	ASSERT_EQ(free_blocks(), free1, "free after the remount");

	/* one name goes: the data stays, across a remount too */
	ASSERT_OK(unlink(path("hl/a")), "unlink hl/a");
	ASSERT_EQ(nlink_of("b", &ib), 1, "nlink after unlink");
	check_file("b", data, LINKED_LEN);
	ASSERT_EQ(free_blocks(), free1, "nothing freed with one name");
	if (!ASSERT_EQ(famfs("umount", MNT), 0, "umount") ||
	    !ASSERT_EQ(famfs("mount", DEV, MNT), 0, "mount again"))
		goto out;
	list_dir("hl", names, sizeof(names));
	ASSERT_STREQ(names, "", "hl is empty");
	ASSERT_EQ(nlink_of("b", &ib), 1, "nlink after the second remount");
	check_file("b", data, LINKED_LEN);
	ASSERT_EQ(free_blocks(), free1, "still used after the remount");

	/* the last name: the space comes back */
	ASSERT_OK(unlink(path("b")), "unlink b");
	ASSERT_EQ(free_blocks(), free0, "freed with the last name");
out:
	fixture_ensure_unmounted(MNT);
	free(data);
}

/*
 * A mount point whose path mountinfo escapes (a space, a tab, a
 * backslash): mount finds its own mount to register devices, umount finds
 * the daemon's device, and both say so with exit 0.
 */
static void test_escaped_mount_point(void)
{
	static const char mnt[] = "/tmp/fs mount\\odd\tname";
	const char data[] = "bytes under an escaped mount point\n";

	if (!fixture_mkfs_mount(DEV, mnt, NULL))
		goto out;
	ASSERT_TRUE(fixture_mounted(mnt), "mounted, as mountinfo says");
	if (ASSERT_TRUE(fixture_write_file(fixture_join(mnt, "f"), data, sizeof(data), MiB),
			"write"))
		fixture_check_file(fixture_join(mnt, "f"), data, sizeof(data), true);
	ASSERT_EQ(famfs("umount", mnt), 0, "umount");
	ASSERT_FALSE(fixture_mounted(mnt), "unmounted");
out:
	fixture_ensure_unmounted(mnt);
	rmdir(mnt);
}

void test_fs_mount(void)
{
	char *big = malloc(BIG);

	if (!ASSERT_TRUE(big != NULL, "malloc") || !fixture_famfs_bin())
		goto out;
	fill_pattern(big, BIG, 42);
	if (test__start_subtest("mount"))
		test_mount();
	if (test__start_subtest("files"))
		test_files(big);
	if (test__start_subtest("unlinked_open"))
		test_unlinked_open(big);
	if (test__start_subtest("remount"))
		test_remount(big);
	if (test__start_subtest("no_fs"))
		test_no_fs();
	if (test__start_subtest("stripe_remount"))
		test_stripe_remount();
	if (test__start_subtest("readdirplus"))
		test_readdirplus();
	if (test__start_subtest("refusals"))
		test_refusals();
	if (test__start_subtest("debug"))
		test_debug();
	if (test__start_subtest("replay_progress"))
		test_replay_progress();
	if (test__start_subtest("hard_links"))
		test_hard_links();
	if (test__start_subtest("escaped_mount_point"))
		test_escaped_mount_point();
out:
	fixture_ensure_unmounted(MNT);
	free(big);
}
