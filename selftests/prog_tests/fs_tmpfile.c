// SPDX-License-Identifier: GPL-2.0
/*
 * O_TMPFILE on the famfs-bpf daemon (/dev/pmem2), as fstests' generic/004
 * uses it: the kernel sends FUSE_TMPFILE, which libfuse 3.14 does not
 * know, and the daemon's shim answers it (server/fsd/fuse_shim.c).
 *  - write_read_mmap: a tmpfile has no name and nlink 0; written, read
 *    back, mapped and written through the mapping like any file; the
 *    directory stays empty;
 *  - linkat_remount: linkat(AT_EMPTY_PATH) names one, linkat of
 *    /proc/self/fd/N gives it a second name (nlink 2), one linked before
 *    its data reached the device and fsynced after; after umount and
 *    mount both names read their bytes, and fsck is clean;
 *  - space_at_close: the space a tmpfile took (statvfs) comes back at its
 *    close;
 *  - excl_no_link: O_TMPFILE|O_EXCL cannot be linked (ENOENT, the
 *    kernel's I_LINKABLE rule: the daemon reports nlink 0);
 *  - crash_before_link: SIGKILL of the daemon while a written tmpfile is
 *    open and another one, linked and fsynced, is open too: after the
 *    remount fsck is clean, the linked one is there with its bytes, the
 *    other left no name and no used space;
 *  - follower: a follower (mount -o ro) plays the owner's linked tmpfile
 *    (logplay exits 0) and reads its bytes; an unlinked one plays nothing;
 *  - unprivileged: as uid 65534, a tmpfile in a directory it cannot write
 *    is EACCES; in one it can, it is its own, and /proc/self/fd linkat
 *    names it.
 * Every subtest starts with mkfs -f and ends unmounted.
 * Cost on the test kernel (TCG, 2 shared cores): 18 to 23 s for the 7
 * subtests (two runs), most of it mkfs, mount and umount (7 mkfs, 10 mounts); the
 * guest's boot adds about 20 s to a vmtest.sh run of it alone.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

#define DEV	"/dev/pmem2"
#define MNT	"/tmp/fs_tmpfile.mnt"
#define RO	"/tmp/fs_tmpfile.ro"
#define LEN	(3 * MiB + 123)		/* two units and a partial third */

#define famfs(...) fixture_famfs(FX_MERGE | FX_LOG_OUT, __VA_ARGS__)

static const char *path(const char *name)
{
	return fixture_join(MNT, name);
}

static void ensure_clean(void)
{
	pid_t pid;
	int i;

	fixture_ensure_unmounted(RO);
	fixture_ensure_unmounted(MNT);
	for (i = 0; i < 250 && fixture_find_daemons(MNT, NULL); i++)
		usleep(20 * 1000);
	if (!ASSERT_EQ(fixture_find_daemons(MNT, &pid), 0, "no daemon left")) {
		kill(pid, SIGKILL);
		fixture_wait_dead(pid, 5000);
	}
}

static int tmpfile_in(const char *dir, int flags)
{
	return open(dir, O_TMPFILE | O_RDWR | flags, 0640);
}

/* Names in @dir besides "." and ".."; -1 if it cannot be read. */
static int names_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Bytes statvfs says are free on @mnt; 0 if it fails (asserted). */
static unsigned long long free_bytes(const char *mnt)
{
	struct statvfs sv;

	if (!ASSERT_OK(statvfs(mnt, &sv), "statvfs"))
		return 0;
	return (unsigned long long)sv.f_bfree * sv.f_frsize;
}

/* A tmpfile in MNT with @len bytes of pattern @seed, fsynced; its fd or -1. */
static int written_tmpfile(char *data, size_t len, unsigned int seed)
{
	int fd = tmpfile_in(MNT, 0);

	if (!ASSERT_OK_FD(fd, "open O_TMPFILE"))
		return -1;
	fill_pattern(data, len, seed);
	if (!fixture_write_fd(fd, data, len, MiB) || !ASSERT_OK(fsync(fd), "fsync")) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool link_fd(int fd, const char *name)
{
	return ASSERT_OK(linkat(fd, "", AT_FDCWD, path(name), AT_EMPTY_PATH), name);
}

static void test_write_read_mmap(void)
{
	char *data = malloc(LEN), *got = malloc(LEN + 1);
	char *map = MAP_FAILED;
	struct stat st;
	int fd = -1;

	if (!ASSERT_TRUE(data && got, "malloc") || !fixture_mkfs_mount(DEV, MNT, NULL))
		goto out;
	fd = written_tmpfile(data, LEN, 1);
	if (fd < 0)
		goto out;
	if (ASSERT_OK(fstat(fd, &st), "fstat")) {
		ASSERT_TRUE(S_ISREG(st.st_mode), "a regular file");
		ASSERT_EQ(st.st_mode & 07777, 0640, "its mode");
		ASSERT_EQ(st.st_nlink, 0, "nlink 0");
		ASSERT_EQ(st.st_size, (off_t)LEN, "size");
		ASSERT_GE(st.st_blocks * 512, (long long)LEN, "blocks");
	}
	ASSERT_EQ(names_in(MNT), 0, "no name in the directory");
	if (ASSERT_EQ(pread(fd, got, LEN + 1, 0), (ssize_t)LEN, "read to EOF"))
		ASSERT_MEMEQ(got, data, LEN, "read back");
	/* through a shared mapping: what read gave, then a write through it */
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!ASSERT_TRUE(map != MAP_FAILED, "mmap"))
		goto out;
	ASSERT_MEMEQ(map, data, LEN, "mapped bytes");
	fill_pattern(data + MiB, 2 * MiB, 2);
	memcpy(map + MiB, data + MiB, 2 * MiB);
	ASSERT_OK(msync(map, LEN, MS_SYNC), "msync");
	if (ASSERT_EQ(pread(fd, got, LEN, 0), (ssize_t)LEN, "read after the mapped write"))
		ASSERT_MEMEQ(got, data, LEN, "the mapped write read back");
out:
	if (map != MAP_FAILED)
		munmap(map, LEN);
	if (fd >= 0)
		close(fd);
	free(data);
	free(got);
	ensure_clean();
}

static void test_linkat_remount(void)
{
	char *a = malloc(LEN), *b = malloc(2 * MiB), proc[64];
	struct stat st;
	int fa = -1, fb = -1;

	if (!ASSERT_TRUE(a && b, "malloc") || !fixture_mkfs_mount(DEV, MNT, NULL) ||
	    !ASSERT_OK(mkdir(path("d"), 0755), "mkdir"))
		goto out;
	/* a: written and fsynced, then two names */
	fa = written_tmpfile(a, LEN, 3);
	if (fa < 0 || !link_fd(fa, "a"))
		goto out;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fa);
	if (!ASSERT_OK(linkat(AT_FDCWD, proc, AT_FDCWD, path("d/a2"), AT_SYMLINK_FOLLOW),
		       "linkat /proc/self/fd"))
		goto out;
	if (ASSERT_OK(fstat(fa, &st), "fstat"))
		ASSERT_EQ(st.st_nlink, 2, "nlink 2");
	/* b: linked first, written after, then fsynced */
	fb = tmpfile_in(fixture_join(MNT, "d"), 0);
	if (!ASSERT_OK_FD(fb, "open O_TMPFILE in d") || !link_fd(fb, "b"))
		goto out;
	fill_pattern(b, 2 * MiB, 4);
	if (!fixture_write_fd(fb, b, 2 * MiB, MiB) || !ASSERT_OK(fsync(fb), "fsync b"))
		goto out;
	ASSERT_ERR(linkat(fb, "", AT_FDCWD, path("b"), AT_EMPTY_PATH), "link over a name");
	ASSERT_EQ(errno, EEXIST, "EEXIST");
	close(fa);
	close(fb);
	fa = fb = -1;
	fixture_check_file(path("a"), a, LEN, true);
	fixture_check_file(path("b"), b, 2 * MiB, true);
	ASSERT_EQ(names_in(MNT), 3, "a, b and d");

	if (!ASSERT_EQ(famfs("umount", MNT), 0, "umount") ||
	    !ASSERT_EQ(famfs("fsck", DEV), 0, "fsck") ||
	    !ASSERT_EQ(famfs("mount", DEV, MNT), 0, "mount again"))
		goto out;
	fixture_check_file(path("a"), a, LEN, true);
	fixture_check_file(path("d/a2"), a, LEN, true);
	fixture_check_file(path("b"), b, 2 * MiB, true);
	if (ASSERT_OK(stat(path("a"), &st), "stat a")) {
		ASSERT_EQ(st.st_nlink, 2, "nlink 2 after the remount");
		ASSERT_EQ(st.st_mode, S_IFREG | 0640, "mode after the remount");
	}
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	free(a);
	free(b);
	ensure_clean();
}

static void test_space_at_close(void)
{
	char *data = malloc(8 * MiB);
	unsigned long long before, during, after = 0;
	int fd, i;

	if (!ASSERT_TRUE(data != NULL, "malloc") || !fixture_mkfs_mount(DEV, MNT, NULL))
		goto out;
	before = free_bytes(MNT);
	fd = written_tmpfile(data, 8 * MiB, 5);
	if (fd < 0)
		goto out;
	during = free_bytes(MNT);
	ASSERT_GE(before - during, 8 * MiB, "the tmpfile takes space");
	close(fd);
	/* RELEASE goes after close(2) returns: the daemon frees meanwhile */
	for (i = 0; i < 100 && (after = free_bytes(MNT)) != before; i++)
		usleep(50 * 1000);
	ASSERT_EQ(after, before, "all of it back at close");
	ASSERT_EQ(names_in(MNT), 0, "no name left");
out:
	free(data);
	ensure_clean();
}

static void test_excl_no_link(void)
{
	int fd;

	if (!fixture_mkfs_mount(DEV, MNT, NULL))
		goto out;
	fd = tmpfile_in(MNT, O_EXCL);
	if (!ASSERT_OK_FD(fd, "open O_TMPFILE|O_EXCL"))
		goto out;
	ASSERT_EQ(write(fd, "x", 1), 1, "write");
	ASSERT_ERR(linkat(fd, "", AT_FDCWD, path("x"), AT_EMPTY_PATH), "linkat");
	ASSERT_EQ(errno, ENOENT, "ENOENT");
	ASSERT_EQ(access(path("x"), F_OK), -1, "no name");
	close(fd);
	ASSERT_EQ(names_in(MNT), 0, "nothing in the directory");
out:
	ensure_clean();
}

static void test_crash_before_link(void)
{
	char *kept = malloc(LEN), *lost = malloc(6 * MiB);
	unsigned long long base, during;
	int fk = -1, fl = -1;
	pid_t pid;

	if (!ASSERT_TRUE(kept && lost, "malloc") || !fixture_mkfs_mount(DEV, MNT, NULL))
		goto out;
	/* linked and fsynced: survives; its directory entry is journaled by the link */
	fk = written_tmpfile(kept, LEN, 6);
	if (fk < 0 || !link_fd(fk, "kept"))
		goto out;
	base = free_bytes(MNT);
	fl = written_tmpfile(lost, 6 * MiB, 7);
	if (fl < 0)
		goto out;
	during = free_bytes(MNT);
	ASSERT_GE(base - during, 6 * MiB, "the unlinked tmpfile takes space");
	if (!ASSERT_EQ(fixture_find_daemons(MNT, &pid), 1, "one daemon"))
		goto out;
	ASSERT_OK(kill(pid, SIGKILL), "SIGKILL the daemon");
	if (!ASSERT_TRUE(fixture_wait_dead(pid, 10000), "daemon dead"))
		goto out;
	close(fk);
	close(fl);
	fk = fl = -1;
	ASSERT_OK(umount2(MNT, MNT_DETACH), "lazy umount of the dead mount");
	if (!ASSERT_EQ(famfs("fsck", DEV), 0, "fsck after the crash") ||
	    !ASSERT_EQ(famfs("mount", DEV, MNT), 0, "mount after the crash"))
		goto out;
	ASSERT_EQ(names_in(MNT), 1, "only the linked one");
	fixture_check_file(path("kept"), kept, LEN, true);
	ASSERT_EQ(free_bytes(MNT), base, "the unlinked one's space is free");
	ASSERT_EQ(famfs("umount", MNT), 0, "umount");
	ASSERT_EQ(famfs("fsck", DEV), 0, "fsck after the remount");
out:
	if (fk >= 0)
		close(fk);
	if (fl >= 0)
		close(fl);
	free(kept);
	free(lost);
	ensure_clean();
}

/* "MNT: applied N log entries": N, or -1 */
static long applied(void)
{
	const char *p = strstr(fixture_out, "applied ");

	return p ? strtol(p + 8, NULL, 10) : -1;
}

static void test_follower(void)
{
	char *data = malloc(LEN), *junk = malloc(MiB);
	int fd = -1, fj = -1;

	mkdir(RO, 0755);
	if (!ASSERT_TRUE(data && junk, "malloc") || !fixture_mkfs_mount(DEV, MNT, NULL) ||
	    !ASSERT_EQ(famfs("mount", "-o", "ro", DEV, RO), 0, "mount -o ro"))
		goto out;
	/* never linked: nothing in the log to play */
	fj = written_tmpfile(junk, MiB, 8);
	if (fj < 0)
		goto out;
	ASSERT_EQ(famfs("logplay", RO), 0, "logplay, an unlinked tmpfile");
	ASSERT_EQ(applied(), 0, "applied 0");
	fd = written_tmpfile(data, LEN, 9);
	if (fd < 0 || !link_fd(fd, "t"))
		goto out;
	ASSERT_EQ(famfs("logplay", RO), 0, "logplay the linked tmpfile");
	ASSERT_GE(applied(), 2, "its CREATE and SETATTR");
	/* only the follower maps it: one DAX page, one file's mapping (fs_follower) */
	fixture_check_file(fixture_join(RO, "t"), data, LEN, true);
	ASSERT_EQ(names_in(RO), 1, "one name on the follower");
out:
	if (fd >= 0)
		close(fd);
	if (fj >= 0)
		close(fj);
	free(data);
	free(junk);
	ensure_clean();
}

/* Exit codes of the unprivileged child: 0 all as expected. */
enum { U_SETID = 20, U_NOT_EACCES, U_OPEN, U_OWNER, U_WRITE, U_LINK };

static int as_nobody(void)
{
	char proc[64];
	struct stat st;
	int fd;

	if (setgid(65534) || setuid(65534))
		return U_SETID;
	fd = tmpfile_in(path("root_only"), 0);
	if (fd >= 0 || errno != EACCES)
		return U_NOT_EACCES;
	fd = tmpfile_in(path("all"), 0);
	if (fd < 0)
		return U_OPEN;
	if (fstat(fd, &st) || st.st_uid != 65534 || st.st_gid != 65534 || st.st_nlink)
		return U_OWNER;
	if (write(fd, "nobody", 6) != 6 || fsync(fd))
		return U_WRITE;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, path("all/mine"), AT_SYMLINK_FOLLOW))
		return U_LINK;
	close(fd);
	return 0;
}

static void test_unprivileged(void)
{
	struct stat st;
	pid_t child;
	int status;

	if (!fixture_mkfs_mount(DEV, MNT, NULL) ||
	    !ASSERT_OK(mkdir(path("root_only"), 0755), "mkdir root_only") ||
	    !ASSERT_OK(mkdir(path("all"), 0777), "mkdir all") ||
	    !ASSERT_OK(chmod(path("all"), 0777), "chmod all"))
		goto out;
	fflush(stdout);
	child = fork();
	if (!ASSERT_GE(child, 0, "fork"))
		goto out;
	if (!child)
		_exit(as_nobody());
	if (!ASSERT_EQ(waitpid(child, &status, 0), child, "waitpid"))
		goto out;
	ASSERT_TRUE(WIFEXITED(status), "the child exited");
	ASSERT_EQ(WEXITSTATUS(status), 0, "EACCES where it cannot write, a file where it can");
	ASSERT_EQ(names_in(path("root_only")), 0, "nothing in root_only");
	if (ASSERT_OK(stat(path("all/mine"), &st), "the child's linked tmpfile")) {
		ASSERT_EQ(st.st_uid, 65534, "owned by uid 65534");
		ASSERT_EQ(st.st_size, 6, "its size");
	}
out:
	ensure_clean();
}

void test_fs_tmpfile(void)
{
	if (!fixture_famfs_bin())
		return;
	mkdir(MNT, 0755);
	if (test__start_subtest("write_read_mmap"))
		test_write_read_mmap();
	if (test__start_subtest("linkat_remount"))
		test_linkat_remount();
	if (test__start_subtest("space_at_close"))
		test_space_at_close();
	if (test__start_subtest("excl_no_link"))
		test_excl_no_link();
	if (test__start_subtest("crash_before_link"))
		test_crash_before_link();
	if (test__start_subtest("follower"))
		test_follower();
	if (test__start_subtest("unprivileged"))
		test_unprivileged();
}
