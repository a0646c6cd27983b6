// SPDX-License-Identifier: GPL-2.0
/*
 * famfs-bpf creat, cp, mkdir, getmap and the mount helper, run as a user
 * would (the famfs-bpf binary next to test_progs) on the real file system
 * on /dev/pmem2:
 *  - usage: bad options and operands exit 16 with one line; --help works;
 *  - creat: sizes (0, odd, several units) read back as zeroes; an existing
 *    file, a path outside the mount;
 *  - mkdir: -p, existing, missing parent, outside the mount;
 *  - cp: a 20 MiB file byte for byte with its mode, into a directory or
 *    under a new name, a tree with -r, refusals (a fifo, a directory
 *    without -r, an existing file, outside the mount);
 *  - getmap: the file has user.famfs.layout; each printed "offset N: dev
 *    D offset O" is checked against the raw device read with O_DIRECT:
 *    the map is true;
 *  - stripe: -N/-C set user.famfs.stripe (the mount supports the
 *    attribute: a root without a policy answers ENODATA, not EOPNOTSUPP);
 *  - enospc: creat and cp that do not fit exit 42 and leave nothing;
 *  - helper: mount -t fuse.famfs-bpf, an fstab line (mount -T), a bad
 *    option, and the helper run directly with mount(8)'s arguments.
 * Every path ends unmounted: later tests mkfs the same device.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cli/cli.h"
#include "fixture.h"
#include "test_progs.h"

#define DEV		"/dev/pmem2"
#define MNT		"/tmp/cli_files.mnt"
#define SRC		"/tmp/cli_files.src"
#define FSTAB		"/tmp/cli_files.fstab"
#define OUTSIDE		"/tmp/cli_files.outside"
#define BIG		(20 * MiB)

static char helper_bin[PATH_MAX];

#define famfs(...) fixture_famfs(0, __VA_ARGS__)
#define cmd(...) fixture_cmd(0, __VA_ARGS__)

static bool one_line(void)
{
	return fixture_one_line(fixture_err);
}

static bool mounted(void)
{
	return fixture_mounted(MNT);
}

static const char *mpath(const char *name)
{
	return fixture_join(MNT, name);
}

static const char *spath(const char *name)
{
	return fixture_join(SRC, name);
}

static bool write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
	bool ok;

	if (!ASSERT_OK_FD(fd, path))
		return false;
	ok = fixture_write_fd(fd, data, len, len);
	close(fd);
	return ASSERT_OK(chmod(path, mode), "chmod") && ok;
}

/* @path holds exactly @data (and has @mode, unless 0). */
static bool check_file(const char *path, const void *data, size_t len, mode_t mode)
{
	char *buf = malloc(len + 1);
	bool ok = false;
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (!ASSERT_OK_FD(fd, path) || !ASSERT_TRUE(buf != NULL, "malloc"))
		goto out;
	n = pread(fd, buf, len + 1, 0);
	ok = ASSERT_EQ(n, (ssize_t)len, path) && ASSERT_MEMEQ(buf, data, len, path);
	if (mode && ASSERT_OK(fstat(fd, &st), "fstat"))
		ok = ASSERT_EQ(st.st_mode & 07777, mode, "mode kept") && ok;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ok;
}

static bool exists(const char *path)
{
	struct stat st;

	return !lstat(path, &st);
}

/* ---- subtests ---- */

static void test_setup(void)
{
	fixture_mkfs_mount(DEV, MNT, NULL);
}

static void test_usage(void)
{
	static const char *const cmds[] = { "creat", "cp", "mkdir", "getmap" };
	char want[64];

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		ASSERT_EQ(famfs(cmds[i], "--help"), 0, "--help");
		snprintf(want, sizeof(want), "Usage: famfs-bpf %s ", cmds[i]);
		ASSERT_TRUE(strstr(fixture_out, want) != NULL, "usage line");
		ASSERT_EQ(famfs(cmds[i], "--bogus", "x", "y"), CLI_EXIT_USAGE, "unknown option");
		ASSERT_TRUE(one_line(), "one line");
		ASSERT_EQ(famfs(cmds[i]), CLI_EXIT_USAGE, "no operands");
	}
	ASSERT_TRUE(strstr(famfs("help") == 0 ? fixture_out : "", "getmap") != NULL, "listed");
	ASSERT_EQ(famfs("creat", mpath("u")), CLI_EXIT_USAGE, "creat without -s");
	ASSERT_TRUE(strstr(fixture_err, "-s SIZE is required") != NULL && one_line(), "says why");
	ASSERT_EQ(famfs("creat", "-s", "12Q", mpath("u")), CLI_EXIT_USAGE, "bad size");
	ASSERT_EQ(famfs("creat", "-s", "-1", mpath("u")), CLI_EXIT_USAGE, "negative size");
	ASSERT_EQ(famfs("creat", "-s", "1M", "-N", "0", mpath("u")), CLI_EXIT_USAGE, "-N 0");
	ASSERT_EQ(famfs("creat", "-s", "1M", "-N", "17", mpath("u")), CLI_EXIT_USAGE, "-N 17");
	ASSERT_TRUE(strstr(fixture_err, "the strip count is 1 to 16") && one_line(), "says why");
	ASSERT_EQ(famfs("creat", "-s", "1M", "-N", "2x", mpath("u")), CLI_EXIT_USAGE, "-N 2x");
	ASSERT_EQ(famfs("creat", "-s", "1M", "-C", "3000", mpath("u")), CLI_EXIT_USAGE, "-C 3000");
	ASSERT_EQ(famfs("creat", "-s", "1M", "-C", "2G", mpath("u")), CLI_EXIT_USAGE, "-C 2G");
	ASSERT_EQ(famfs("creat", "-s", "1M", "-C", "1M", mpath("u")), CLI_EXIT_USAGE, "-C 1M");
	ASSERT_EQ(famfs("creat", "-s", "1M", mpath("u"), mpath("v")), CLI_EXIT_USAGE, "2 files");
	ASSERT_EQ(famfs("cp", SRC "/big"), CLI_EXIT_USAGE, "cp one operand");
	ASSERT_EQ(famfs("getmap", mpath("u"), "12Q"), CLI_EXIT_USAGE, "bad offset");
	ASSERT_FALSE(exists(mpath("u")), "nothing created");
}

static bool all_zero_file(const char *path, __u64 size)
{
	char *buf = malloc(MiB);
	__u64 off = 0;
	bool ok = true;
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (!ASSERT_OK_FD(fd, path) || !ASSERT_TRUE(buf != NULL, "malloc")) {
		ok = false;
		goto out;
	}
	while ((n = read(fd, buf, MiB)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			ok &= !buf[i];
		off += n;
	}
	ok = ASSERT_EQ(off, size, "bytes read") && ASSERT_TRUE(ok, "zeroes") && ok;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ok;
}

static void test_creat(void)
{
	static const struct { const char *arg; __u64 size; } sizes[] = {
		{ "0", 0 }, { "1", 1 }, { "4097", 4097 }, { "5M", 5 * MiB },
		{ "2097153", 2 * MiB + 1 },
	};
	char name[32];
	struct stat st;
	int fd;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(name, sizeof(name), "c%zu", i);
		if (!ASSERT_EQ(famfs("creat", "-s", sizes[i].arg, mpath(name)), 0, "creat"))
			continue;
		if (ASSERT_OK(stat(mpath(name), &st), "stat"))
			ASSERT_EQ(st.st_size, sizes[i].size, "size");
		all_zero_file(mpath(name), sizes[i].size);
	}
	/* the space is there: writing into it works and reads back */
	fd = open(mpath("c3"), O_RDWR);
	if (ASSERT_OK_FD(fd, "open c3")) {
		ASSERT_EQ(pwrite(fd, "abc", 3, 3 * MiB), 3, "write into creat space");
		close(fd);
	}
	ASSERT_EQ(famfs("creat", "-s", "1M", mpath("c1")), CLI_EXIT_EXISTS, "exists");
	ASSERT_TRUE(strstr(fixture_err, "exists") && one_line(), "says exists");
	if (ASSERT_OK(stat(mpath("c1"), &st), "stat c1"))
		ASSERT_EQ(st.st_size, 1, "existing file untouched");
	ASSERT_EQ(famfs("creat", "-s", "1M", OUTSIDE), CLI_EXIT_NOT_FAMFS, "outside the mount");
	ASSERT_TRUE(strstr(fixture_err, "not in a famfs-bpf mount") && one_line(), "says where");
	ASSERT_FALSE(exists(OUTSIDE), "nothing created outside");
	ASSERT_EQ(famfs("creat", "-s", "1M", mpath("nodir/f")), CLI_EXIT_OPERATIONAL,
		  "missing directory");
}

static void test_mkdir(void)
{
	struct stat st;

	ASSERT_EQ(famfs("mkdir", "-p", mpath("d1/d2/d3"), mpath("e1")), 0, "mkdir -p");
	ASSERT_TRUE(!stat(mpath("d1/d2/d3"), &st) && S_ISDIR(st.st_mode), "d1/d2/d3");
	ASSERT_TRUE(!stat(mpath("e1"), &st) && S_ISDIR(st.st_mode), "e1");
	ASSERT_EQ(famfs("mkdir", "-p", mpath("d1/d2")), 0, "mkdir -p existing");
	ASSERT_EQ(famfs("mkdir", mpath("d1")), CLI_EXIT_EXISTS, "mkdir existing");
	ASSERT_EQ(famfs("mkdir", mpath("x/y")), CLI_EXIT_OPERATIONAL, "missing parent");
	ASSERT_FALSE(exists(mpath("x")), "no parent made");
	ASSERT_EQ(famfs("mkdir", "-p", mpath("c1/z")), CLI_EXIT_OPERATIONAL, "file in the way");
	ASSERT_EQ(famfs("mkdir", OUTSIDE), CLI_EXIT_NOT_FAMFS, "outside");
	ASSERT_EQ(famfs("mkdir", "-p", OUTSIDE "/a/b"), CLI_EXIT_NOT_FAMFS, "-p outside");
	ASSERT_FALSE(exists(OUTSIDE), "nothing made outside");
}

/* SRC/big (0640) and a tree SRC/t: a, sub/b, sub/empty, emptydir */
static bool make_sources(const char *big)
{
	if (!ASSERT_OK(mkdir(SRC, 0755), "mkdir " SRC) ||
	    !write_file(spath("big"), big, BIG, 0640) ||
	    !ASSERT_OK(mkdir(spath("t"), 0750), "mkdir t") ||
	    !ASSERT_OK(mkdir(spath("t/sub"), 0700), "mkdir t/sub") ||
	    !ASSERT_OK(mkdir(spath("t/emptydir"), 0755), "mkdir t/emptydir") ||
	    !write_file(spath("t/a"), "hello\n", 6, 0600) ||
	    !write_file(spath("t/sub/b"), big + 7, 3 * MiB + 5, 0755) ||
	    !write_file(spath("t/sub/empty"), "", 0, 0444))
		return false;
	return ASSERT_OK(mkfifo(spath("fifo"), 0644), "mkfifo");
}

static void test_cp(const char *big)
{
	struct stat st;

	if (!ASSERT_TRUE(mounted(), "mounted"))
		return;
	ASSERT_EQ(famfs("cp", spath("big"), mpath("big")), 0, "cp to a new name");
	check_file(mpath("big"), big, BIG, 0640);
	ASSERT_EQ(famfs("cp", spath("big"), spath("t/a"), mpath("d1")), 0, "cp into a dir");
	check_file(mpath("d1/big"), big, BIG, 0640);
	check_file(mpath("d1/a"), "hello\n", 6, 0600);

	ASSERT_EQ(famfs("cp", "-r", spath("t"), mpath("tree")), 0, "cp -r to a new name");
	check_file(mpath("tree/a"), "hello\n", 6, 0600);
	check_file(mpath("tree/sub/b"), big + 7, 3 * MiB + 5, 0755);
	check_file(mpath("tree/sub/empty"), "", 0, 0444);
	ASSERT_TRUE(!stat(mpath("tree/emptydir"), &st) && S_ISDIR(st.st_mode), "emptydir");
	ASSERT_TRUE(!stat(mpath("tree"), &st) && (st.st_mode & 07777) == 0750, "tree mode");
	ASSERT_TRUE(!stat(mpath("tree/sub"), &st) && (st.st_mode & 07777) == 0700, "sub mode");
	ASSERT_EQ(famfs("cp", "-r", spath("t"), mpath("e1")), 0, "cp -r into a dir");
	check_file(mpath("e1/t/sub/b"), big + 7, 3 * MiB + 5, 0755);

	ASSERT_EQ(famfs("cp", spath("t"), mpath("nt")), CLI_EXIT_OPERATIONAL, "dir without -r");
	ASSERT_TRUE(strstr(fixture_err, "-r") && one_line(), "says -r");
	ASSERT_EQ(famfs("cp", spath("fifo"), mpath("f")), CLI_EXIT_OPERATIONAL, "a fifo");
	ASSERT_TRUE(strstr(fixture_err, "a fifo") && one_line(), "says what it is");
	ASSERT_FALSE(exists(mpath("f")), "no fifo copy");
	ASSERT_EQ(famfs("cp", spath("t/a"), mpath("big")), CLI_EXIT_EXISTS, "existing file");
	check_file(mpath("big"), big, BIG, 0640);
	ASSERT_EQ(famfs("cp", spath("t/a"), OUTSIDE), CLI_EXIT_NOT_FAMFS, "outside");
	ASSERT_FALSE(exists(OUTSIDE), "nothing outside");
	ASSERT_EQ(famfs("cp", spath("t/a"), spath("big"), mpath("nodir")), CLI_EXIT_USAGE,
		  "several SRC, no directory");
	ASSERT_EQ(famfs("cp", spath("missing"), mpath("m")), CLI_EXIT_OPERATIONAL, "no SRC");
	ASSERT_EQ(famfs("cp", "-r", mpath("tree"), mpath("tree/sub/in")), CLI_EXIT_OPERATIONAL,
		  "a tree into itself");
	ASSERT_FALSE(exists(mpath("tree/sub/in")), "no copy into itself");
}

/* Read 4 KiB of DEV at @dev_off (4 KiB aligned) with O_DIRECT. */
static bool read_dev(__u64 dev_off, void *buf)
{
	int fd = open(DEV, O_RDONLY | O_DIRECT);
	bool ok;

	if (!ASSERT_OK_FD(fd, DEV))
		return false;
	ok = ASSERT_EQ(pread(fd, buf, 4096, dev_off), 4096, "O_DIRECT read of " DEV);
	close(fd);
	return ok;
}

static void test_getmap(const char *big)
{
	const char *offs[] = { "0", "4096", "1M", "2M", "5000000", "19M", "20971519", "20M",
			       "30M" };
	unsigned long long off, dev_off;
	void *dbuf = NULL;
	unsigned int dev;
	int checked = 0;
	char *line;

	if (!ASSERT_TRUE(mounted(), "mounted"))
		return;
	ASSERT_EQ(famfs("getmap", spath("big")), CLI_EXIT_NOT_FAMFS, "outside");
	/* what getmap decodes: the file has it */
	if (!ASSERT_GT(getxattr(mpath("big"), "user.famfs.layout", NULL, 0), 0,
		       "user.famfs.layout of big"))
		return;
	ASSERT_EQ(famfs("getmap", mpath("d1")), CLI_EXIT_BADLAYOUT, "a directory");
	if (!ASSERT_EQ(famfs("getmap", mpath("big"), offs[0], offs[1], offs[2], offs[3], offs[4],
			     offs[5], offs[6], offs[7], offs[8]), 0, "getmap"))
		return;
	printf("%s", fixture_out);
	ASSERT_TRUE(strstr(fixture_out, "size 20971520,") != NULL, "size");
	ASSERT_TRUE(strstr(fixture_out, "offset 20971520: ") && strstr(fixture_out, "beyond EOF"),
		    "EOF noted");
	if (posix_memalign(&dbuf, 4096, 4096))
		return;
	for (line = fixture_out; *line; line = *strchrnul(line, '\n') ? strchr(line, '\n') + 1 :
							     strchrnul(line, '\n')) {
		if (sscanf(line, "offset %llu: dev %u offset %llu", &off, &dev, &dev_off) != 3)
			continue;
		if (off >= BIG)
			continue;
		/* one device: index 0 is /dev/pmem2; same place inside the page */
		if (!ASSERT_EQ(dev, 0, "device index") ||
		    !ASSERT_EQ(dev_off & 4095, off & 4095, "page offset"))
			continue;
		if (read_dev(dev_off & ~4095ULL, dbuf))
			ASSERT_MEMEQ(dbuf, big + (off & ~4095ULL),
				     BIG - (off & ~4095ULL) < 4096 ? BIG - (off & ~4095ULL) : 4096,
				     "device bytes are the file's");
		checked++;
	}
	ASSERT_EQ(checked, 7, "offsets resolved inside the file");
	free(dbuf);
}

static void test_stripe(const char *big)
{
	char v[64];
	ssize_t n;

	if (!ASSERT_TRUE(mounted(), "mounted"))
		return;
	/* supported: the root has no policy (ENODATA) or one, never EOPNOTSUPP */
	errno = 0;
	n = getxattr(MNT, "user.famfs.stripe", v, sizeof(v) - 1);
	if (!ASSERT_TRUE(n > 0 || errno == ENODATA, "user.famfs.stripe on the root")) {
		printf("# getxattr %s user.famfs.stripe: %zd (errno %d: %s)\n", MNT, n, errno,
		       strerror(errno));
		return;
	}
	ASSERT_EQ(famfs("creat", "-s", "4M", "-N", "1", "-C", "2M", mpath("s1")), 0, "creat -N -C");
	n = getxattr(mpath("s1"), "user.famfs.stripe", v, sizeof(v) - 1);
	if (ASSERT_GT(n, 0, "getxattr s1")) {
		v[n] = '\0';
		ASSERT_STREQ(v, "1 2097152", "stripe of s1");
	}
	ASSERT_EQ(famfs("cp", "-N", "1", "-C", "4M", spath("big"), mpath("s2")), 0, "cp -N -C");
	check_file(mpath("s2"), big, BIG, 0640);
	n = getxattr(mpath("s2"), "user.famfs.stripe", v, sizeof(v) - 1);
	if (ASSERT_GT(n, 0, "getxattr s2")) {
		v[n] = '\0';
		ASSERT_STREQ(v, "1 4194304", "stripe of s2");
	}
	/* one device: two strips cannot be; the file is not left behind */
	ASSERT_EQ(famfs("creat", "-s", "4M", "-N", "2", mpath("s3")), CLI_EXIT_OPERATIONAL,
		  "-N 2 on one device");
	ASSERT_TRUE(strstr(fixture_err, "refuses stripe policy") && one_line(), "says why");
	ASSERT_FALSE(exists(mpath("s3")), "no file left");
	/* 3 is a strip count now, but not on one device */
	ASSERT_EQ(famfs("creat", "-s", "4M", "-N", "3", mpath("s3")), CLI_EXIT_OPERATIONAL,
		  "-N 3 on one device");
	ASSERT_FALSE(exists(mpath("s3")), "no file left");
	/* -N alone keeps the chunk of the directory's default */
	if (!ASSERT_OK(mkdir(mpath("sd"), 0755), "mkdir sd") ||
	    !ASSERT_OK(setxattr(mpath("sd"), "user.famfs.stripe", "1 8388608", 9, 0),
		       "directory default"))
		return;
	ASSERT_EQ(famfs("creat", "-s", "3M", "-N", "1", mpath("sd/f")), 0, "creat -N in sd");
	n = getxattr(mpath("sd/f"), "user.famfs.stripe", v, sizeof(v) - 1);
	if (ASSERT_GT(n, 0, "getxattr sd/f")) {
		v[n] = '\0';
		ASSERT_STREQ(v, "1 8388608", "chunk from the directory");
	}
	all_zero_file(mpath("sd/f"), 3 * MiB);
}

static void test_enospc(const char *big)
{
	char size[32];
	struct statvfs sv;
	__u64 free_bytes;
	int code;

	if (!ASSERT_TRUE(mounted(), "mounted") || !ASSERT_OK(statvfs(MNT, &sv), "statvfs"))
		return;
	free_bytes = (__u64)sv.f_bavail * sv.f_frsize;
	/* leave 4 MiB: less than the 20 MiB file or the 6 MiB tree needs */
	if (!ASSERT_GT(free_bytes, 16 * MiB, "free space"))
		return;
	snprintf(size, sizeof(size), "%llu", (unsigned long long)(free_bytes - 4 * MiB));
	code = famfs("creat", "-s", size, mpath("filler"));
	if (!ASSERT_EQ(code, 0, "creat the filler"))
		return;
	ASSERT_EQ(famfs("cp", spath("big"), mpath("over")), CLI_EXIT_NOSPC, "cp too big");
	ASSERT_TRUE(strstr(fixture_err, "No space") && one_line(), "says why");
	ASSERT_FALSE(exists(mpath("over")), "no partial copy");
	ASSERT_EQ(famfs("cp", "-r", spath("t"), mpath("overtree")), CLI_EXIT_NOSPC, "cp -r too big");
	/* files copied before the one that did not fit stay, whole */
	if (exists(mpath("overtree/a")))
		check_file(mpath("overtree/a"), "hello\n", 6, 0600);
	if (exists(mpath("overtree/sub/b")))
		check_file(mpath("overtree/sub/b"), big + 7, 3 * MiB + 5, 0755);
	ASSERT_TRUE(!exists(mpath("overtree/a")) || !exists(mpath("overtree/sub/b")),
		    "not all of the tree fits");
	ASSERT_EQ(famfs("creat", "-s", "20M", mpath("over2")), CLI_EXIT_NOSPC, "creat too big");
	ASSERT_FALSE(exists(mpath("over2")), "no partial creat");
	ASSERT_OK(unlink(mpath("filler")), "unlink filler");
	ASSERT_EQ(famfs("cp", spath("big"), mpath("over")), 0, "fits again");
}

static void test_helper(const char *big)
{
	FILE *f;

	fixture_ensure_unmounted(MNT);
	if (!fixture_install_mount_helper(helper_bin))
		goto out;
	if (ASSERT_EQ(cmd("mount", "-t", "fuse.famfs-bpf", DEV, MNT), 0, "mount -t") &&
	    ASSERT_TRUE(mounted(), "mounted by mount(8)"))
		check_file(mpath("big"), big, BIG, 0640);
	fixture_ensure_unmounted(MNT);

	f = fopen(FSTAB, "w");
	if (ASSERT_TRUE(f != NULL, "fstab")) {
		fprintf(f, DEV " " MNT " fuse.famfs-bpf defaults,nofail,_netdev,resolver=upcall 0 0\n");
		fclose(f);
		if (ASSERT_EQ(cmd("mount", "-T", FSTAB, MNT), 0, "mount from an fstab line"))
			check_file(mpath("tree/a"), "hello\n", 6, 0600);
		fixture_ensure_unmounted(MNT);
	}

	ASSERT_NEQ(cmd("mount", "-t", "fuse.famfs-bpf", "-o", "bogus", DEV, MNT), 0,
		   "unknown option");
	ASSERT_TRUE(strstr(fixture_err, "bogus") != NULL, "names the option");
	ASSERT_FALSE(mounted(), "not mounted");
	ASSERT_EQ(cmd("mount", "-f", "-t", "fuse.famfs-bpf", DEV, MNT), 0, "mount -f");
	ASSERT_FALSE(mounted(), "-f mounts nothing");
	fixture_remove_mount_helper();

	/* the helper called as mount(8) would */
	ASSERT_EQ(cmd(helper_bin, DEV, MNT, "-o", "rw,nosuid,resolver=upcall"), 0,
		  "helper with mount(8)'s arguments");
	ASSERT_TRUE(mounted(), "mounted by the helper");
	fixture_ensure_unmounted(MNT);
	ASSERT_EQ(cmd(helper_bin, DEV), 1, "helper usage");
	ASSERT_EQ(cmd(helper_bin, DEV ",/dev/cli_files.none", MNT, "-o", "rw"), 32,
		  "a missing second device");
	ASSERT_FALSE(mounted(), "not mounted");
	/* ro: a read-only follower (famfs-bpf mount -o ro) */
	if (ASSERT_EQ(cmd(helper_bin, DEV, MNT, "-o", "ro,resolver=upcall"), 0, "helper -o ro") &&
	    ASSERT_TRUE(mounted(), "mounted read-only")) {
		struct statvfs sv;

		ASSERT_OK(statvfs(MNT, &sv), "statvfs");
		ASSERT_TRUE(sv.f_flag & ST_RDONLY, "ST_RDONLY");
		check_file(mpath("big"), big, BIG, 0640);
		ASSERT_EQ(open(mpath("ro-new"), O_CREAT | O_WRONLY, 0644), -1, "create");
		ASSERT_EQ(errno, EROFS, "create: EROFS");
	}
	fixture_ensure_unmounted(MNT);
out:
	fixture_remove_mount_helper();
	unlink(FSTAB);
}

void test_cli_files(void)
{
	char *big = malloc(BIG);

	if (!ASSERT_TRUE(big != NULL, "malloc") || !fixture_famfs_bin() ||
	    !fixture_find_binary("server/mount.fuse.famfs-bpf", helper_bin, sizeof(helper_bin)))
		goto out;
	fill_pattern(big, BIG, 7);
	fixture_ensure_unmounted(MNT);
	cmd("rm", "-rf", SRC, OUTSIDE);
	if (!make_sources(big))
		goto out;
	if (test__start_subtest("setup"))
		test_setup();
	if (test__start_subtest("usage"))
		test_usage();
	if (test__start_subtest("creat"))
		test_creat();
	if (test__start_subtest("mkdir"))
		test_mkdir();
	if (test__start_subtest("cp"))
		test_cp(big);
	if (test__start_subtest("getmap"))
		test_getmap(big);
	if (test__start_subtest("stripe"))
		test_stripe(big);
	if (test__start_subtest("enospc"))
		test_enospc(big);
	if (test__start_subtest("helper"))
		test_helper(big);
out:
	fixture_ensure_unmounted(MNT);
	cmd("rm", "-rf", SRC, OUTSIDE, FSTAB);
	free(big);
}
