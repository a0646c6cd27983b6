// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 16, item 4: the metadata log must not fill up and kill the file
 * system.  On /dev/pmem2, through the famfs-bpf binary:
 *  - append_stream: a 256 KiB log (mkfs -L 256K); a file is appended in
 *    a million 4 KiB write(2)s, truncated every 64 MiB and appended again.
 *    Before the fix each extending write journaled a 104-byte SETATTR, so
 *    the log was full after about 2,500 of them; now only the ALLOC of
 *    each new 2 MiB unit, the truncates and the fsyncs write entries.  The log's
 *    growth over the stream is measured on the device (a replay of the
 *    log region) and bounded.  Then more appends without fsync, SIGKILL of
 *    the daemon, mount again: the file has the fsynced size and bytes
 *    (a size not fsynced may be lost, by design), fsck is clean.
 *  - rm_when_full: a 64 KiB log filled by creates until ENOSPC (the live
 *    names fill half of it); rm still works (the log keeps a reserve for
 *    deletes), at least 50 times; mount again and fsck agree.
 *  - churn_compact: a 256 KiB log, 3,000 rounds of create, write, close
 *    and delete (about 4 times what the log holds; unit/test_fs runs
 *    20,000 creates and deletes on a 64 KiB log, and a crash at each step
 *    of a checkpoint): the owner checkpoints
 *    by itself (the log's generation counts them); then the daemon dies
 *    in the middle of a checkpoint (FAMFS_FAULT=compact_mid): fsck is
 *    clean, the remount has every name and byte that was closed, and a
 *    follower (mount -o ro) of the same device reads the same tree, also
 *    after logplay across the owner's next checkpoints.
 * Cost on the test kernel (TCG): see the comment of each subtest.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "famfs_format.h"
#include "fixture.h"
#include "fs/mlog.h"
#include "fs/super.h"
#include "test_progs.h"

#define DEV	"/dev/pmem2"
#define MNT	"/tmp/fs_logfull.mnt"

#define famfs(...) fixture_famfs(FX_MERGE | FX_LOG_OUT, __VA_ARGS__)

static const char *path(const char *name)
{
	return fixture_join(MNT, name);
}

static __u32 last_gen;	/* log_state()'s: the current log's generation */

/* Where the log ends and how many entries it holds, read from the device. */
static bool log_state(__u64 *end, __u64 *entries)
{
	struct famfs_sb_info info;
	struct famfs_mlog_result res;
	struct famfs_mlog_area area;
	char msg[256];
	void *sb = malloc(FAMFS_SB_SIZE), *log = NULL;
	bool ok = false;

	if (!ASSERT_TRUE(sb != NULL, "malloc") ||
	    !ASSERT_OK(dev_pread(DEV, sb, FAMFS_SB_SIZE, FAMFS_SB_OFF), "read superblock") ||
	    !ASSERT_OK(famfs_sb_decode(sb, FAMFS_SB_SIZE, &info, msg, sizeof(msg)), "superblock"))
		goto out;
	log = malloc(info.log_len);
	if (!ASSERT_TRUE(log != NULL, "malloc") ||
	    !ASSERT_OK(dev_pread(DEV, log, info.log_len, info.log_off), "read log"))
		goto out;
	famfs_mlog_pick(log, info.log_len, info.fs_uuid, &area);
	famfs_mlog_replay((char *)log + area.off, area.len, info.fs_uuid, NULL, NULL, NULL, &res);
	ok = ASSERT_NEQ(res.tail, FAMFS_MLOG_CORRUPT, "log not corrupt");
	*end = res.end_off;
	*entries = res.entries;
	last_gen = area.generation;
out:
	free(sb);
	free(log);
	return ok;
}

/* SIGKILL the daemon serving MNT, wait for its end, detach its dead mount. */
static bool kill_daemon(void)
{
	pid_t pid = 0;

	fixture_find_daemons(MNT, &pid);
	if (!ASSERT_GT(pid, 0, "the daemon of " MNT))
		return false;
	ASSERT_OK(kill(pid, SIGKILL), "SIGKILL the daemon");
	fixture_wait_dead(pid, 10000);
	return ASSERT_OK(umount2(MNT, MNT_DETACH), "lazy umount of the dead mount");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define PIECE		4096
#define CYCLE		(64 << 20)	/* bytes appended before each truncate */

/*
 * A million appends of 4 KiB (4 GB through write(2), a truncate every 64
 * MiB), as issue 16 asks: with a SETATTR per write that was 104 MB of
 * entries, 400 times what the 256 KiB log holds.  Appends inside
 * allocated space no longer reach the server (the kernel keeps the size),
 * so on the test kernel (TCG) 10,000 took 0.4 s; the million about a
 * minute, most of it the ALLOC and zeroing of ~2,000 units.  The debug
 * kernel does 6,000.
 */
static void test_append_stream(void)
{
	const long n = fixture_debug_kernel() ? 6000 : 1000000;
	char *buf = malloc(PIECE), *want = NULL, *got = NULL;
	__u64 end0, end1, ents0, ents1;
	off_t synced = 0;
	long i, allocs = 0;
	struct stat st;
	double t0;
	int fd = -1;

	if (!ASSERT_TRUE(buf != NULL, "malloc") ||
	    !fixture_mkfs_mount(DEV, MNT, "256K"))
		goto out;
	fd = open(path("a"), O_CREAT | O_WRONLY | O_APPEND, 0644);
	if (!ASSERT_OK_FD(fd, "create a") || !log_state(&end0, &ents0))
		goto out;
	t0 = now_s();
	for (i = 0; i < n; i++) {
		off_t at = (off_t)(i % (CYCLE / PIECE)) * PIECE;

		if (i && !at) {
			if (!ASSERT_OK(ftruncate(fd, 0), "truncate"))
				goto out;
		}
		if (!(at % (2 << 20)))
			allocs++;
		if (i && !(i % 200000))
			printf("# %ld appends, %.1f s\n", i, now_s() - t0);
		fill_pattern(buf, PIECE, (unsigned int)i);
		if (write(fd, buf, PIECE) != PIECE) {
			ASSERT_OK(-errno, "append");
			printf("# append %ld failed: %s\n", i, strerror(errno));
			goto out;
		}
	}
	if (!ASSERT_OK(fsync(fd), "fsync"))
		goto out;
	synced = (off_t)(n % (CYCLE / PIECE) ? n % (CYCLE / PIECE) : CYCLE / PIECE) * PIECE;
	if (!log_state(&end1, &ents1))
		goto out;
	printf("# %ld appends of 4 KiB in %.1f s; log %llu -> %llu bytes, %llu entries (%ld new units)\n",
	       n, now_s() - t0, (unsigned long long)end0, (unsigned long long)end1,
	       (unsigned long long)(ents1 - ents0), allocs);
	/*
	 * Before the fix: an entry per append (n).  Now an ALLOC per new 2 MiB
	 * unit (n / 512), a SETATTR and a PUNCH per truncate, one SETATTR for
	 * the fsync, and a few SETATTRs of times the kernel writes back now
	 * and then (more on a slow run: seen 63 to 68 for 30,000 appends).
	 */
	ASSERT_LT(ents1 - ents0, (__u64)n / 100, "entries: one per new unit, not per append");
	ASSERT_LT(end1, 256 * 1024 - 16 * 1024, "the log below its reserve");

	/* appends after the fsync, then the daemon dies: the fsynced size stays */
	for (i = 0; i < 100; i++)
		if (!ASSERT_EQ(write(fd, buf, PIECE), PIECE, "append, no fsync"))
			goto out;
	if (!ASSERT_OK(fstat(fd, &st), "fstat") ||
	    !ASSERT_EQ(st.st_size, synced + 100 * PIECE, "size before the kill") ||
	    !kill_daemon())
		goto out;
	close(fd);
	fd = -1;
	if (!ASSERT_EQ(famfs("mount", DEV, MNT), 0, "mount after SIGKILL"))
		goto out;
	if (ASSERT_OK(stat(path("a"), &st), "stat a"))
		ASSERT_EQ(st.st_size, synced, "the fsynced size (the rest was not synced)");
	/* the fsynced bytes: piece k of the last cycle has seed n - cycle + k */
	want = malloc(synced);
	got = malloc(synced);
	if (ASSERT_TRUE(want && got, "malloc")) {
		long first = n - synced / PIECE;

		for (i = 0; i < synced / PIECE; i++)
			fill_pattern(want + i * PIECE, PIECE, (unsigned int)(first + i));
		fixture_check_read(path("a"), want, synced, true);
	}
	ASSERT_EQ(famfs("umount", MNT), 0, "umount");
	ASSERT_EQ(famfs("fsck", DEV), 0, "fsck clean");
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(want);
	free(got);
	fixture_ensure_unmounted(MNT);
}

/*
 * A 64 KiB log (the smallest mkfs makes) filled with creates: checkpoints
 * keep it going until the live names no longer fit in half of it, then
 * ENOSPC; rm works after that: the reserve (2 KiB of a 32 KiB half) holds
 * dozens of DELETEs, and checkpoints follow as the names go.  Before the
 * fix the first rm after the log filled failed with ENOSPC.  About 10 s
 * on the test kernel.
 */
static void test_rm_when_full(void)
{
	char name[32];
	int i, n, fd, removed = 0;
	struct stat st;

	if (!fixture_mkfs_mount(DEV, MNT, "64K"))
		goto out;
	for (n = 0; n < 100000; n++) {
		snprintf(name, sizeof(name), "f%05d", n);
		fd = open(path(name), O_CREAT | O_WRONLY, 0644);
		if (fd < 0)
			break;
		close(fd);
	}
	if (!ASSERT_EQ(errno, ENOSPC, "creates end with ENOSPC") ||
	    !ASSERT_GT(n, 200, "files created"))
		goto out;
	ASSERT_ERR(mkdir(path("d"), 0755), "mkdir in the reserve");
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%05d", i);
		if (unlink(path(name)))
			break;
		removed++;
	}
	printf("# %d files filled the log; %d removed after that\n", n, removed);
	ASSERT_GE(removed, 50, "rm works on a full log");
	ASSERT_ERR(stat(path("f00000"), &st), "removed");
	ASSERT_EQ(famfs("umount", MNT), 0, "umount");
	ASSERT_EQ(famfs("fsck", DEV), 0, "fsck clean");
	if (!ASSERT_EQ(famfs("mount", DEV, MNT), 0, "mount again"))
		goto out;
	snprintf(name, sizeof(name), "f%05d", removed - 1);
	ASSERT_ERR(stat(path(name), &st), "still removed");
	snprintf(name, sizeof(name), "f%05d", removed);
	if (removed < n)
		ASSERT_OK(stat(path(name), &st), "the rest still there");
out:
	fixture_ensure_unmounted(MNT);
}

#define RO	"/tmp/fs_logfull.ro"
#define KEEP	40	/* files that stay, written once */
#define LIVE	8	/* churn files alive at a time */

/* "t<i>": 100 + i % 1000 bytes of pattern i */
static bool churn_one(long i)
{
	char name[32], buf[1100];
	size_t len = 100 + i % 1000;
	int fd;

	snprintf(name, sizeof(name), "t%ld", i);
	fd = open(path(name), O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0)
		return false;
	fill_pattern(buf, len, (unsigned int)i);
	if (write(fd, buf, len) != (ssize_t)len) {
		close(fd);
		return false;
	}
	if (close(fd))
		return false;
	if (i >= LIVE) {
		snprintf(name, sizeof(name), "t%ld", i - LIVE);
		if (unlink(path(name)))
			return false;
	}
	return true;
}

/*
 * The KEEP files and the live churn files [@first, @last) in @dir; t<@gone>
 * was deleted (-1: no check).
 */
static void check_churn(const char *dir, long first, long last, long gone)
{
	char name[32], buf[1100];
	long i;

	static char kb[4096];

	for (i = 0; i < KEEP; i++) {
		snprintf(name, sizeof(name), "keep%ld", i);
		fill_pattern(kb, sizeof(kb), 1000000 + i);
		fixture_check_read(fixture_join(dir, name), kb, sizeof(kb), true);
	}
	for (i = first; i < last; i++) {
		snprintf(name, sizeof(name), "t%ld", i);
		fill_pattern(buf, 100 + i % 1000, (unsigned int)i);
		fixture_check_read(fixture_join(dir, name), buf, 100 + i % 1000, true);
	}
	if (gone >= 0) {
		struct stat st;

		snprintf(name, sizeof(name), "t%ld", gone);
		ASSERT_ERR(stat(fixture_join(dir, name), &st), "deleted before");
	}
}

/*
 * 3,000 rounds of create, write, close, unlink on the test kernel (1,500
 * on the debug kernel): 6,000 names made and removed, 1 MB of log
 * entries in a 256 KiB log, about 15 checkpoints (a checkpoint every 200
 * rounds or so).  The 3,000 took 67 s on the test kernel (TCG;
 * 2026-12-07, the check of 2329a93+).  Then rounds until the daemon dies in a
 * checkpoint (a few hundred), the remount, fsck, 600 more rounds and 500
 * with the follower (two or three checkpoints): about as much again.
 */
static void test_churn_compact(void)
{
	const long n = fixture_debug_kernel() ? 1500 : 3000;
	char name[32], buf[4096];
	__u64 end, ents;
	long i, done;
	double t0;
	pid_t pid = 0;
	int fd, ret;

	mkdir(RO, 0755);
	if (!fixture_mkfs_mount(DEV, MNT, "256K"))
		goto out;
	for (i = 0; i < KEEP; i++) {
		snprintf(name, sizeof(name), "keep%ld", i);
		fill_pattern(buf, sizeof(buf), 1000000 + i);
		if (!fixture_write_file(path(name), buf, sizeof(buf), sizeof(buf)))
			goto out;
	}
	t0 = now_s();
	for (i = 0; i < n; i++) {
		if (i && !(i % 5000))
			printf("# %ld rounds, %.1f s\n", i, now_s() - t0);
		if (!ASSERT_TRUE(churn_one(i), "create, write, close, unlink")) {
			printf("# round %ld: %s\n", i, strerror(errno));
			goto out;
		}
	}
	if (!log_state(&end, &ents))
		goto out;
	printf("# %ld rounds in %.1f s; log generation %u, %llu bytes, %llu entries\n", n,
	       now_s() - t0, last_gen, (unsigned long long)end, (unsigned long long)ents);
	ASSERT_GE(last_gen, 5, "checkpoints written");
	check_churn(MNT, n - LIVE, n, n - LIVE - 1);
	ASSERT_EQ(famfs("umount", MNT), 0, "umount");
	ASSERT_EQ(famfs("fsck", DEV), 0, "fsck clean");

	/* the daemon dies in the middle of the next checkpoint */
	setenv("FAMFS_FAULT", "compact_mid", 1);
	ret = famfs("mount", DEV, MNT);
	unsetenv("FAMFS_FAULT");
	if (!ASSERT_EQ(ret, 0, "mount with FAMFS_FAULT=compact_mid"))
		goto out;
	fixture_find_daemons(MNT, &pid);
	for (done = n; done < n + 20000 && churn_one(done); done++)
		;
	printf("# the daemon died after %ld more rounds\n", done - n);
	ASSERT_LT(done, n + 20000, "a checkpoint came, the daemon died in it");
	if (pid > 0)
		fixture_wait_dead(pid, 10000);
	ASSERT_OK(umount2(MNT, MNT_DETACH), "detach the dead mount");
	ASSERT_EQ(famfs("fsck", DEV), 0, "fsck clean after the crash");
	if (!ASSERT_EQ(famfs("mount", DEV, MNT), 0, "mount after the crash"))
		goto out;
	/*
	 * Round done failed somewhere (its create, close or unlink of
	 * t<done - LIVE>): those two may or may not be there.
	 */
	check_churn(MNT, done - LIVE + 1, done, done - LIVE - 1);
	/* round done's leftovers either way: t<done> there, t<done - LIVE> gone */
	snprintf(name, sizeof(name), "t%ld", done);
	fd = open(path(name), O_CREAT | O_WRONLY, 0644);
	if (ASSERT_OK_FD(fd, "t<done>"))
		close(fd);
	snprintf(name, sizeof(name), "t%ld", done - LIVE);
	unlink(path(name));
	/* the next change checkpoints without the fault, and a follower agrees */
	for (i = done + 1; i < done + 600; i++)
		if (!ASSERT_TRUE(churn_one(i), "rounds after the crash"))
			goto out;
	fd = open(path("sync"), O_CREAT | O_WRONLY, 0644);
	if (ASSERT_OK_FD(fd, "create sync"))
		close(fd);
	if (!ASSERT_EQ(famfs("mount", "-o", "ro", DEV, RO), 0, "follower: mount -o ro"))
		goto out;
	check_churn(RO, i - LIVE, i, i - LIVE - 1);
	check_churn(MNT, i - LIVE, i, i - LIVE - 1);
	/* the owner checkpoints again (a round is about 330 bytes); logplay follows */
	for (done = i; i < done + 500; i++)
		if (!ASSERT_TRUE(churn_one(i), "rounds with a follower"))
			goto out;
	if (!log_state(&end, &ents))
		goto out;
	printf("# follower: the owner is at log generation %u\n", last_gen);
	ASSERT_EQ(famfs("logplay", RO), 0, "logplay across checkpoints");
	check_churn(RO, i - LIVE, i, i - LIVE - 1);
	ASSERT_EQ(famfs("umount", RO), 0, "umount the follower");
	ASSERT_EQ(famfs("umount", MNT), 0, "umount");
	ASSERT_EQ(famfs("fsck", DEV), 0, "fsck clean at the end");
out:
	fixture_ensure_unmounted(RO);
	fixture_ensure_unmounted(MNT);
}

void test_fs_logfull(void)
{
	mkdir(MNT, 0755);
	if (test__start_subtest("append_stream"))
		test_append_stream();
	if (test__start_subtest("rm_when_full"))
		test_rm_when_full();
	if (test__start_subtest("churn_compact"))
		test_churn_compact();
}
