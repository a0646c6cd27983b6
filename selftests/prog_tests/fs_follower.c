// SPDX-License-Identifier: GPL-2.0
/*
 * A read-only follower on the same host as the owner: famfs-bpf mount on
 * /dev/pmem2 at OWN, famfs-bpf mount -o ro of the same device at RO,
 * driven through the famfs-bpf binary.  (selftests/twohost.sh does the
 * same across two guests that share one NVDIMM.)
 *  - follow: the follower sees what the owner wrote when it mounted, not
 *    what came after until famfs-bpf logplay, then new files, appends,
 *    renames and removals, by read(2) and mmap; logplay again plays 0;
 *    a hard link the owner makes shows (nlink 2), and stays readable by
 *    it once the owner unlinked the first name;
 *    logplay of the owner (exit 50) and of a non-famfs directory (40);
 *    the follower mounts with the BPF resolver (the default) attached, and
 *    it resolves the follower's reads, of what it found at mount and of
 *    what logplay brought (bpf_resolves grows each time);
 *  - erofs: create, open for writing, O_TRUNC, mkdir, unlink, rename, link,
 *    setxattr, chmod on the follower fail with EROFS;
 *  - open_across_unlink: a file open on the follower stays readable after
 *    the owner removed it and the follower played that.
 * Every path ends unmounted.  Only the follower maps files (check_file()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cli.h"
#include "fixture.h"
#include "test_progs.h"

#define DEV	"/dev/pmem2"
#define OWN	"/tmp/fs_follower.own"
#define RO	"/tmp/fs_follower.ro"
#define LEN	(3 * MiB + 77)

/*
 * "famfs-bpf ARGS...": stdout and stderr both land in fixture_out, as
 * written, and go to the log.
 */
#define famfs(...) fixture_famfs(FX_MERGE | FX_LOG_OUT, __VA_ARGS__)

static void ensure_unmounted(void)
{
	fixture_ensure_unmounted(RO);
	fixture_ensure_unmounted(OWN);
}

static const char *at(const char *mnt, const char *name)
{
	return fixture_join(mnt, name);
}

static bool write_file(const char *p, const void *data, size_t len, int flags)
{
	int fd = open(p, O_CREAT | O_WRONLY | flags, 0644);
	bool ok;

	if (!ASSERT_OK_FD(fd, p))
		return false;
	ok = ASSERT_EQ(write(fd, data, len), (ssize_t)len, "write");
	close(fd);
	return ok;
}

/*
 * read(2) and mmap of @p give @data, stat gives @len.  Only the follower's
 * files are mapped: on one host a DAX page joins one file's mapping at a
 * time (the owner's and the follower's are two; fs/dax.c warns, seen).
 */
static void check_file(const char *p, const void *data, size_t len)
{
	if (strncmp(p, RO "/", strlen(RO "/")))
		fixture_check_read(p, data, len, true);
	else
		fixture_check_file(p, data, len, true);
}

/* "MNT: applied N log entries": N, or -1 */
static long applied(void)
{
	const char *p = strstr(fixture_out, "applied ");

	return p ? strtol(p + 8, NULL, 10) : -1;
}

static long nlink_of(const char *p)
{
	struct stat st;

	return stat(p, &st) ? -1 : (long)st.st_nlink;
}

/* RO's bpf_resolves; -1 if not there */
static long long ro_bpf(void)
{
	return fixture_mnt_stat(RO, "bpf_resolves");
}

static bool setup(void)
{
	ensure_unmounted();
	mkdir(OWN, 0755);
	mkdir(RO, 0755);
	return fixture_mkfs_mount(DEV, OWN, NULL);
}

static void test_follow(char *a, char *b)
{
	char *ab = malloc(2 * LEN);
	long long bpf;

	if (!ASSERT_TRUE(ab != NULL, "malloc") || !setup())
		goto out;
	if (!write_file(at(OWN, "a"), a, LEN, 0) ||
	    !ASSERT_OK(mkdir(at(OWN, "d"), 0755), "mkdir") ||
	    !write_file(at(OWN, "d/gone"), "x", 1, 0))
		goto out;
	if (!ASSERT_EQ(famfs("mount", "-o", "ro", DEV, RO), 0, "mount -o ro"))
		goto out;
	ASSERT_EQ(fixture_mnt_stat(RO, "bpf_attached"), 1, "the follower's BPF resolver attached");
	bpf = ro_bpf();
	check_file(at(RO, "a"), a, LEN);
	ASSERT_GT(ro_bpf(), bpf, "BPF resolved the follower's reads");
	ASSERT_EQ(famfs("logplay", RO), 0, "logplay, nothing new");
	ASSERT_EQ(applied(), 0, "applied 0");

	/* the owner goes on: the follower sees nothing of it yet */
	if (!write_file(at(OWN, "b"), b, LEN, 0) ||
	    !write_file(at(OWN, "a"), b, LEN, O_APPEND) ||
	    !ASSERT_OK(rename(at(OWN, "d"), at(OWN, "e")), "rename") ||
	    !ASSERT_OK(unlink(at(OWN, "e/gone")), "unlink"))
		goto out;
	ASSERT_EQ(access(at(RO, "b"), F_OK), -1, "b not yet");
	check_file(at(RO, "a"), a, LEN);

	ASSERT_EQ(famfs("logplay", RO), 0, "logplay");
	ASSERT_GT(applied(), 0, "applied entries");
	memcpy(ab, a, LEN);
	memcpy(ab + LEN, b, LEN);
	bpf = ro_bpf();
	check_file(at(RO, "a"), ab, 2 * LEN);
	check_file(at(RO, "b"), b, LEN);
	/* logplay put the new extents in the follower's maps too */
	ASSERT_GT(ro_bpf(), bpf, "BPF resolved what logplay brought");
	ASSERT_EQ(access(at(RO, "d"), F_OK), -1, "renamed away");
	ASSERT_OK(access(at(RO, "e"), F_OK), "renamed to");
	ASSERT_EQ(access(at(RO, "e/gone"), F_OK), -1, "removed");
	ASSERT_EQ(famfs("logplay", RO), 0, "logplay again");
	ASSERT_EQ(applied(), 0, "nothing new");

	/* a second name, then the first one goes */
	if (!ASSERT_OK(link(at(OWN, "b"), at(OWN, "e/b2")), "link"))
		goto out;
	ASSERT_EQ(access(at(RO, "e/b2"), F_OK), -1, "link not yet");
	ASSERT_EQ(famfs("logplay", RO), 0, "logplay the link");
	/* and a SETATTR: the kernel keeps a mapped file's ctime and writes it back */
	ASSERT_GE(applied(), 1, "the LINK applied");
	ASSERT_EQ(nlink_of(at(RO, "b")), 2, "nlink 2 on the follower");
	check_file(at(RO, "e/b2"), b, LEN);
	ASSERT_OK(unlink(at(OWN, "b")), "unlink one name");
	ASSERT_EQ(famfs("logplay", RO), 0, "logplay the unlink");
	ASSERT_EQ(access(at(RO, "b"), F_OK), -1, "b gone on the follower");
	ASSERT_EQ(nlink_of(at(RO, "e/b2")), 1, "nlink 1 on the follower");
	check_file(at(RO, "e/b2"), b, LEN);

	ASSERT_EQ(famfs("logplay", OWN), CLI_EXIT_LOGPLAY_OWNER, "logplay of the owner");
	ASSERT_TRUE(strstr(fixture_out, "is the owner") != NULL, "says so");
	ASSERT_EQ(famfs("logplay", "/tmp"), CLI_EXIT_NOT_FAMFS, "logplay of /tmp");
out:
	free(ab);
	ensure_unmounted();
}

static void expect_erofs(int ret, const char *what)
{
	if (ASSERT_EQ(ret, -1, what))
		ASSERT_EQ(errno, EROFS, what);
}

static void test_erofs(char *a)
{
	if (!setup() || !write_file(at(OWN, "a"), a, LEN, 0) ||
	    !ASSERT_EQ(famfs("mount", "-o", "ro", DEV, RO), 0, "mount -o ro"))
		goto out;
	expect_erofs(open(at(RO, "new"), O_CREAT | O_WRONLY, 0644), "create");
	expect_erofs(open(at(RO, "a"), O_WRONLY), "open for writing");
	expect_erofs(open(at(RO, "a"), O_RDONLY | O_TRUNC), "O_TRUNC");
	expect_erofs(truncate(at(RO, "a"), 0), "truncate");
	expect_erofs(mkdir(at(RO, "dir"), 0755), "mkdir");
	expect_erofs(unlink(at(RO, "a")), "unlink");
	expect_erofs(rename(at(RO, "a"), at(RO, "b")), "rename");
	expect_erofs(link(at(RO, "a"), at(RO, "b")), "link");
	expect_erofs(chmod(at(RO, "a"), 0600), "chmod");
	expect_erofs(symlink("a", at(RO, "l")), "symlink");
	expect_erofs(setxattr(at(RO, "a"), "user.famfs.stripe", "1 2097152", 9, 0), "setxattr");
	check_file(at(RO, "a"), a, LEN);
	check_file(at(OWN, "a"), a, LEN);
out:
	ensure_unmounted();
}

static void test_open_across_unlink(char *a)
{
	char *buf = malloc(LEN);
	int fd = -1;

	if (!ASSERT_TRUE(buf != NULL, "malloc") || !setup() ||
	    !write_file(at(OWN, "a"), a, LEN, 0) ||
	    !ASSERT_EQ(famfs("mount", "-o", "ro", DEV, RO), 0, "mount -o ro"))
		goto out;
	fd = open(at(RO, "a"), O_RDONLY);
	if (!ASSERT_OK_FD(fd, "open on the follower"))
		goto out;
	if (!ASSERT_OK(unlink(at(OWN, "a")), "unlink on the owner"))
		goto out;
	ASSERT_EQ(famfs("logplay", RO), 0, "logplay");
	ASSERT_EQ(applied(), 1, "one entry");
	ASSERT_EQ(access(at(RO, "a"), F_OK), -1, "the name is gone");
	if (ASSERT_EQ(pread(fd, buf, LEN, 0), LEN, "read the open file"))
		ASSERT_MEMEQ(buf, a, LEN, "its bytes");
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	ensure_unmounted();
}

void test_fs_follower(void)
{
	char *a = malloc(LEN), *b = malloc(LEN);

	if (!ASSERT_TRUE(a && b, "malloc") || !fixture_famfs_bin())
		goto out;
	fill_pattern(a, LEN, 11);
	fill_pattern(b, LEN, 12);
	if (test__start_subtest("follow"))
		test_follow(a, b);
	if (test__start_subtest("erofs"))
		test_erofs(a);
	if (test__start_subtest("open_across_unlink"))
		test_open_across_unlink(a);
out:
	free(a);
	free(b);
}
