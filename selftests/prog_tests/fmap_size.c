// SPDX-License-Identifier: GPL-2.0
/*
 * Sizes and times of mapped files, which the server cannot see change:
 *  - extending_write: a write past EOF of an empty file leaves the size it
 *    reached, in the kernel and in the server (a forced GETATTR);
 *  - append_at_writeback: appends move the size in the kernel, the server
 *    learns it at writeback (fsync, close), a truncate after more appends
 *    is not undone, and a remount has the size the daemon journaled;
 *  - short_write: a write whose source buffer faults half way leaves the
 *    size of the part that was written, also after close and reopen;
 *  - mtime_write, mtime_mmap: write(2), and a write fault followed by
 *    msync(MS_SYNC), move mtime, and the server has the new time afterwards
 *    (a forced GETATTR returns it).
 *  - mtime_munmap_unlink: mmap, close the fd, store through the mapping,
 *    munmap, unlink: the inode the store dirtied is written back when its
 *    last reference goes, so its eviction finds it clean (no WARN, no
 *    taint);
 *  - mtime_munmap_remount: the same store through a mapping whose fd was
 *    closed, then umount and mount again: the mtime the kernel showed is
 *    the one that comes back from the log;
 *  - atime_read_remount: a read moves atime (relatime), the daemon has it
 *    after close and after a remount; -o noatime leaves it.
 * Each runs on the daemon users run (a famfs-bpf mount of /dev/pmem2, BPF
 * resolver).  On the test vehicle only, as they need a server that counts
 * the kernel's FUSE_FMAP_ENDs or misbehaves on purpose (the daemon answers
 * every FUSE_FMAP_END at once and counts none):
 *  - fmap_end_requests: which writes send FUSE_FMAP_END: one per extending
 *    write, none inside EOF, none for 1,000 appends until fsync sends one,
 *    none at a close with nothing new (before: one per append);
 *  - fmap_end_enosys: a server that answers FUSE_FMAP_END with ENOSYS
 *    still gets extending writes: the kernel asks once, then sends the
 *    size as a SETATTR (the server's size moves, no more FMAP_END);
 *  - fmap_end_killable: a writer past EOF whose FUSE_FMAP_END waits in the
 *    queue of a stuck server is taken out by SIGKILL (before: the request
 *    was forced, and reached the server after the kill), its file keeps
 *    the old size and works afterwards.
 * Cost on the test kernel: about 23 s, 2 to 4 s a daemon subtest (a mkfs
 * and a mount each); about 22 s a daemon subtest on the debug kernel.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

/* Not page aligned, past the first 2 MiB allocation unit's middle */
#define EXT_OFF	(1782579ULL)
#define EXT_LEN	(64 * 1024)

static int mount_and_create(struct fixture *fx, const struct fixture_opts *opts,
			    const char *name, char *path, size_t size)
{
	int fd;

	if (!ASSERT_OK(fixture_mount(fx, opts), "mount"))
		return -1;
	fixture_path(fx, name, path, size);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	ASSERT_OK_FD(fd, "create");
	return fd;
}

/* The server's size and times: a GETATTR that no cache answers */
static int server_statx(const char *path, struct statx *stx)
{
	return statx(AT_FDCWD, path, AT_STATX_FORCE_SYNC,
		     STATX_SIZE | STATX_MTIME, stx);
}

static void extending_write(const struct fixture_opts *opts)
{
	unsigned char *data = malloc(EXT_LEN), *back = malloc(EXT_OFF + EXT_LEN);
	struct fixture fx = { 0 };
	struct statx stx;
	struct stat st;
	char path[128];
	size_t i;
	int fd;

	if (!ASSERT_TRUE(data && back, "malloc"))
		goto out;
	fd = mount_and_create(&fx, opts, "grows", path, sizeof(path));
	if (fd < 0)
		goto out;
	fill_pattern(data, EXT_LEN, 5);

	ASSERT_EQ(pwrite(fd, data, EXT_LEN, EXT_OFF), EXT_LEN, "pwrite past EOF");
	if (ASSERT_OK(fstat(fd, &st), "fstat"))
		ASSERT_EQ(st.st_size, EXT_OFF + EXT_LEN, "size in the kernel");
	if (ASSERT_OK(server_statx(path, &stx), "statx"))
		ASSERT_EQ(stx.stx_size, EXT_OFF + EXT_LEN, "size in the server");

	ASSERT_EQ(pread(fd, back, EXT_OFF + EXT_LEN, 0), EXT_OFF + EXT_LEN,
		  "read back");
	for (i = 0; i < EXT_OFF && !back[i]; i++)
		;
	ASSERT_EQ(i, EXT_OFF, "zeroes before the write");
	ASSERT_MEMEQ(back + EXT_OFF, data, EXT_LEN, "the bytes written");

	/* Inside EOF: nothing for the server to learn */
	ASSERT_EQ(pwrite(fd, data, 4096, 8192), 4096, "pwrite inside EOF");
	if (ASSERT_OK(server_statx(path, &stx), "statx"))
		ASSERT_EQ(stx.stx_size, EXT_OFF + EXT_LEN, "the server's size stays");
	close(fd);
out:
	fixture_unmount(&fx);
	free(data);
	free(back);
}

static void short_write(const struct fixture_opts *opts)
{
	const long page = sysconf(_SC_PAGESIZE);
	const off_t pos = 1048576 + 100;
	struct fixture fx = { 0 };
	unsigned char *src = MAP_FAILED;
	unsigned char back[4096];
	struct statx stx;
	struct stat st;
	char path[128];
	int fd;

	fd = mount_and_create(&fx, opts, "short", path, sizeof(path));
	if (fd < 0)
		goto out;
	/* Two source pages, the second one inaccessible */
	src = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!ASSERT_TRUE(src != MAP_FAILED, "mmap source"))
		goto out_close;
	fill_pattern(src, page, 9);
	ASSERT_OK(mprotect(src + page, page, PROT_NONE), "mprotect");

	ASSERT_EQ(pwrite(fd, src, 2 * page, pos), page, "short pwrite");
	if (ASSERT_OK(fstat(fd, &st), "fstat"))
		ASSERT_EQ(st.st_size, pos + page, "size of what was written");
	if (ASSERT_OK(server_statx(path, &stx), "statx"))
		ASSERT_EQ(stx.stx_size, pos + page, "the server's size");
	close(fd);

	fd = open(path, O_RDONLY);
	if (!ASSERT_OK_FD(fd, "reopen"))
		goto out;
	if (ASSERT_OK(fstat(fd, &st), "fstat after reopen"))
		ASSERT_EQ(st.st_size, pos + page, "size after reopen");
	ASSERT_EQ(pread(fd, back, sizeof(back), pos), page, "read to EOF");
	ASSERT_MEMEQ(back, src, page, "the bytes written");
out_close:
	close(fd);
out:
	if (src != MAP_FAILED)
		munmap(src, 2 * page);
	fixture_unmount(&fx);
}

static bool ts_after(const struct statx_timestamp *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec ||
		(a->tv_sec == b->tv_sec && a->tv_nsec > (__u32)b->tv_nsec);
}

static void mtime_moves(const struct fixture_opts *opts, bool through_mmap)
{
	/* Longer than a jiffy of the coarse clock the kernel stamps with */
	const struct timespec tick = { .tv_nsec = 50 * 1000 * 1000 };
	const size_t size = 2 * MiB;
	struct fixture fx = { 0 };
	unsigned char *map = MAP_FAILED;
	unsigned char buf[4096];
	struct statx before, kern, srv;
	struct timespec t0;
	char path[128];
	int fd;

	fd = mount_and_create(&fx, opts, "touched", path, sizeof(path));
	if (fd < 0)
		goto out;
	fill_pattern(buf, sizeof(buf), 3);
	if (!ASSERT_EQ(ftruncate(fd, size), 0, "ftruncate") ||
	    !ASSERT_EQ(pwrite(fd, buf, sizeof(buf), 0), sizeof(buf), "fill") ||
	    !ASSERT_OK(fsync(fd), "fsync") ||
	    !ASSERT_OK(server_statx(path, &before), "statx before"))
		goto out_close;
	nanosleep(&tick, NULL);
	t0.tv_sec = before.stx_mtime.tv_sec;
	t0.tv_nsec = before.stx_mtime.tv_nsec;

	if (through_mmap) {
		map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (!ASSERT_TRUE(map != MAP_FAILED, "mmap"))
			goto out_close;
		memcpy(map + MiB, buf, sizeof(buf));
		ASSERT_OK(msync(map, size, MS_SYNC), "msync");
	} else {
		ASSERT_EQ(pwrite(fd, buf, sizeof(buf), MiB), sizeof(buf),
			  "pwrite inside EOF");
	}

	if (ASSERT_OK(statx(fd, "", AT_EMPTY_PATH, STATX_MTIME, &kern),
		      "statx"))
		ASSERT_TRUE(ts_after(&kern.stx_mtime, &t0), "mtime moved");
	if (!through_mmap)
		ASSERT_OK(fsync(fd), "fsync");
	if (ASSERT_OK(server_statx(path, &srv), "forced statx")) {
		ASSERT_TRUE(ts_after(&srv.stx_mtime, &t0),
			    "the server has the new mtime");
		ASSERT_EQ(srv.stx_mtime.tv_sec, kern.stx_mtime.tv_sec,
			  "the kernel's seconds");
		ASSERT_EQ(srv.stx_mtime.tv_nsec, kern.stx_mtime.tv_nsec,
			  "the kernel's nanoseconds");
	}
out_close:
	if (map != MAP_FAILED)
		munmap(map, size);
	close(fd);
out:
	fixture_unmount(&fx);
}

/* TAINT_WARN: a WARN*() fired since boot */
static bool warn_tainted(void)
{
	unsigned long taint = 0;
	FILE *f = fopen("/proc/sys/kernel/tainted", "r");

	if (f) {
		if (fscanf(f, "%lu", &taint) != 1)
			taint = 0;
		fclose(f);
	}
	return taint & (1UL << 9);
}

/*
 * A shared writable mapping of @path whose fd is closed at once, so that
 * the store dirties the inode's times after the close that flushed it;
 * then munmap, the last reference to the file.  The kernel's mtime after
 * the store into @mtime.
 */
static bool store_after_close(const char *path, size_t size,
			      struct statx_timestamp *mtime)
{
	const struct timespec tick = { .tv_nsec = 50 * 1000 * 1000 };
	unsigned char buf[4096];
	struct statx before, after;
	unsigned char *map;
	bool ok = false;
	int fd;

	fd = open(path, O_RDWR);
	if (!ASSERT_OK_FD(fd, "open"))
		return false;
	fill_pattern(buf, sizeof(buf), 11);
	if (!ASSERT_OK(statx(fd, "", AT_EMPTY_PATH, STATX_MTIME, &before), "statx before")) {
		close(fd);
		return false;
	}
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (!ASSERT_TRUE(map != MAP_FAILED, "mmap"))
		return false;
	nanosleep(&tick, NULL);
	memcpy(map + size / 2, buf, sizeof(buf));
	if (ASSERT_OK(statx(AT_FDCWD, path, 0, STATX_MTIME, &after), "statx after") &&
	    ASSERT_TRUE(after.stx_mtime.tv_sec > before.stx_mtime.tv_sec ||
			(after.stx_mtime.tv_sec == before.stx_mtime.tv_sec &&
			 after.stx_mtime.tv_nsec > before.stx_mtime.tv_nsec),
			"the store moved mtime")) {
		*mtime = after.stx_mtime;
		ok = true;
	}
	munmap(map, size);
	return ok;
}

static void mtime_munmap_unlink(const struct fixture_opts *opts)
{
	const size_t size = 2 * MiB;
	struct statx_timestamp mtime;
	struct fixture fx = { 0 };
	unsigned char buf[4096];
	bool tainted;
	char path[128];
	int fd;

	fd = mount_and_create(&fx, opts, "unlinked", path, sizeof(path));
	if (fd < 0)
		goto out;
	fill_pattern(buf, sizeof(buf), 3);
	if (!ASSERT_EQ(ftruncate(fd, size), 0, "ftruncate") ||
	    !ASSERT_EQ(pwrite(fd, buf, sizeof(buf), 0), sizeof(buf), "fill")) {
		close(fd);
		goto out;
	}
	close(fd);
	tainted = warn_tainted();
	if (!store_after_close(path, size, &mtime))
		goto out;
	/* The last reference to the inode: it is evicted here */
	ASSERT_OK(unlink(path), "unlink");
	if (tainted)
		printf("# the kernel had WARNed before: taint shows nothing\n");
	else
		ASSERT_FALSE(warn_tainted(), "no WARN at eviction (TAINT_WARN)");
out:
	fixture_unmount(&fx);
}

#define REMOUNT_DEV	"/dev/pmem2"
#define REMOUNT_MNT	"/tmp/fmap_size.mnt"

static void mtime_munmap_remount(void)
{
	const size_t size = 2 * MiB;
	const char *path = REMOUNT_MNT "/f";
	struct statx_timestamp mtime;
	unsigned char *data;
	struct statx back;
	bool tainted;

	data = malloc(size);
	if (!ASSERT_TRUE(data, "malloc"))
		return;
	fill_pattern(data, size, 13);
	if (!fixture_mkfs_mount(REMOUNT_DEV, REMOUNT_MNT, NULL) ||
	    !fixture_write_file(path, data, size, size) ||
	    !store_after_close(path, size, &mtime))
		goto out;
	tainted = warn_tainted();
	if (!ASSERT_EQ(fixture_famfs(0, "umount", REMOUNT_MNT), 0, "umount"))
		goto out;
	if (!tainted)
		ASSERT_FALSE(warn_tainted(), "no WARN at umount (TAINT_WARN)");
	if (!ASSERT_EQ(fixture_famfs(0, "mount", REMOUNT_DEV, REMOUNT_MNT), 0, "mount again"))
		goto out;
	if (ASSERT_OK(statx(AT_FDCWD, path, 0, STATX_MTIME, &back), "statx after remount")) {
		ASSERT_EQ(back.stx_mtime.tv_sec, mtime.tv_sec, "mtime seconds after remount");
		ASSERT_EQ(back.stx_mtime.tv_nsec, mtime.tv_nsec, "mtime nanoseconds after remount");
	}
out:
	fixture_ensure_unmounted(REMOUNT_MNT);
	free(data);
}

static bool stx_after(const struct statx_timestamp *a, const struct statx_timestamp *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/*
 * Reads of a mapped file never reach the server, so the kernel keeps
 * atime: after a write, a read(2) moves it (relatime: atime was older
 * than mtime), the server has it after close (a forced GETATTR), and it
 * comes back after a remount of the daemon.  A mount with -o noatime
 * leaves it alone.  Before: atime never moved (generic/003's complaint,
 * issue 20).  About 4 s.
 */
static void atime_read_remount(void)
{
	const char *path = REMOUNT_MNT "/f";
	struct statx before, after, back;
	unsigned char buf[4096] = { 1 };
	int fd;

	if (!fixture_mkfs_mount(REMOUNT_DEV, REMOUNT_MNT, NULL) ||
	    !fixture_write_file(path, buf, sizeof(buf), sizeof(buf)))
		goto out;
	/*
	 * relatime updates atime only if it is not after mtime.  The daemon
	 * stamps the create with a precise clock, the kernel the write with
	 * its coarse one (the last tick), so a write in the create's tick
	 * leaves mtime before atime: write again a few ticks later.
	 */
	usleep(50 * 1000);
	fd = open(path, O_WRONLY);
	if (!ASSERT_OK_FD(fd, "open for the second write"))
		goto out;
	ASSERT_EQ(pwrite(fd, buf, 1, 0), 1, "the second write");
	close(fd);
	usleep(20 * 1000);
	if (!ASSERT_OK(statx(AT_FDCWD, path, 0, STATX_ATIME, &before), "statx"))
		goto out;
	fd = open(path, O_RDONLY);
	if (!ASSERT_OK_FD(fd, "open"))
		goto out;
	ASSERT_EQ(read(fd, buf, sizeof(buf)), sizeof(buf), "read");
	close(fd);
	if (ASSERT_OK(statx(AT_FDCWD, path, 0, STATX_ATIME, &after), "statx"))
		ASSERT_TRUE(stx_after(&after.stx_atime, &before.stx_atime), "the read moved atime");
	if (ASSERT_OK(statx(AT_FDCWD, path, AT_STATX_FORCE_SYNC, STATX_ATIME, &back), "statx"))
		ASSERT_EQ(back.stx_atime.tv_nsec, after.stx_atime.tv_nsec,
			  "the server has it after close");
	if (!ASSERT_EQ(fixture_famfs(0, "umount", REMOUNT_MNT), 0, "umount") ||
	    !ASSERT_EQ(fixture_famfs(0, "mount", "-o", "noatime", REMOUNT_DEV, REMOUNT_MNT), 0,
		       "mount -o noatime"))
		goto out;
	if (ASSERT_OK(statx(AT_FDCWD, path, 0, STATX_ATIME, &back), "statx after remount")) {
		ASSERT_EQ(back.stx_atime.tv_sec, after.stx_atime.tv_sec, "atime seconds after remount");
		ASSERT_EQ(back.stx_atime.tv_nsec, after.stx_atime.tv_nsec,
			  "atime nanoseconds after remount");
	}
	/* make relatime want an update, then read under noatime */
	fd = open(path, O_RDWR);
	if (ASSERT_OK_FD(fd, "open")) {
		ASSERT_EQ(pwrite(fd, buf, 1, 0), 1, "write");
		ASSERT_EQ(pread(fd, buf, sizeof(buf), 0), sizeof(buf), "read");
		close(fd);
	}
	if (ASSERT_OK(statx(AT_FDCWD, path, 0, STATX_ATIME, &back), "statx"))
		ASSERT_EQ(back.stx_atime.tv_nsec, after.stx_atime.tv_nsec, "noatime: atime stays");
out:
	fixture_ensure_unmounted(REMOUNT_MNT);
}

/*
 * Appends move the size in the kernel only: after 1000 O_APPEND writes of
 * 100 bytes stat shows their size (a forced GETATTR too: the kernel's size
 * wins), fsync gives it to the server, and a truncate after more appends is
 * not undone by a later report.  The daemon journaled the size it was
 * told: a remount has it.  About 4 s.
 */
static void append_at_writeback(const struct fixture_opts *opts)
{
	struct fixture fx = { 0 };
	unsigned char *data = malloc(100 * 1000), *back = malloc(100 * 1000);
	struct statx stx;
	struct stat st;
	char path[128];
	int fd = -1, i;

	if (!ASSERT_TRUE(data && back, "malloc"))
		goto out;
	fill_pattern(data, 100 * 1000, 11);
	fd = mount_and_create(&fx, opts, "appended", path, sizeof(path));
	if (fd < 0)
		goto out;
	close(fd);
	fd = open(path, O_RDWR | O_APPEND);
	if (!ASSERT_OK_FD(fd, "open O_APPEND"))
		goto out;
	for (i = 0; i < 1000; i++)
		if (!ASSERT_EQ(write(fd, data + 100 * i, 100), 100, "append"))
			break;
	if (ASSERT_OK(server_statx(path, &stx), "statx"))
		ASSERT_EQ(stx.stx_size, 100 * 1000, "the kernel's size, not the server's");
	ASSERT_EQ(pread(fd, back, 100 * 1000, 0), 100 * 1000, "read back");
	ASSERT_MEMEQ(back, data, 100 * 1000, "the bytes appended");

	ASSERT_OK(fsync(fd), "fsync");
	if (ASSERT_OK(server_statx(path, &stx), "statx"))
		ASSERT_EQ(stx.stx_size, 100 * 1000, "the server has the size");

	/* More appends, then a truncate below them: it stays */
	ASSERT_EQ(write(fd, data, 100), 100, "append");
	ASSERT_OK(ftruncate(fd, 50), "truncate");
	ASSERT_OK(fsync(fd), "fsync");
	if (ASSERT_OK(server_statx(path, &stx), "statx"))
		ASSERT_EQ(stx.stx_size, 50, "the truncated size, in the server");
	if (ASSERT_OK(fstat(fd, &st), "fstat"))
		ASSERT_EQ(st.st_size, 50, "and in the kernel");
	close(fd);
	fd = -1;
	if (!ASSERT_OK(fixture_daemon_remount(&fx), "remount"))
		goto out;
	if (ASSERT_OK(stat(path, &st), "stat after the remount"))
		ASSERT_EQ(st.st_size, 50, "the truncated size, after the remount");
	fd = open(path, O_RDONLY);
	if (ASSERT_OK_FD(fd, "open after the remount") &&
	    ASSERT_EQ(pread(fd, back, 100, 0), 50, "read to EOF after the remount"))
		ASSERT_MEMEQ(back, data, 50, "the bytes, after the remount");
out:
	if (fd >= 0)
		close(fd);
	fixture_unmount(&fx);
	free(data);
	free(back);
}

/*
 * The FUSE_FMAP_ENDs the kernel sends, counted by the vehicle: one for a
 * write past EOF, none for a write inside EOF, none for 1,000 appends (the
 * size moves in the kernel), one at the fsync after them, none at a close
 * with nothing new.  Before: one per append (1,000).  About 1 s.
 */
static void fmap_end_requests(void)
{
	unsigned char *data = malloc(100 * 1000);
	struct fixture fx = { 0 };
	unsigned long ends;
	char path[128];
	int fd = -1, i;

	if (!ASSERT_TRUE(data != NULL, "malloc"))
		goto out;
	fill_pattern(data, 100 * 1000, 12);
	fd = mount_and_create(&fx, NULL, "ends", path, sizeof(path));
	if (fd < 0)
		goto out;
	ends = fbs_server_fmap_end_requests(fx.srv);
	ASSERT_EQ(pwrite(fd, data, EXT_LEN, EXT_OFF), EXT_LEN, "pwrite past EOF");
	ASSERT_EQ(fbs_server_fmap_end_requests(fx.srv), ends + 1, "one FUSE_FMAP_END");
	ASSERT_EQ(pwrite(fd, data, 4096, 8192), 4096, "pwrite inside EOF");
	ASSERT_EQ(fbs_server_fmap_end_requests(fx.srv), ends + 1,
		  "no FUSE_FMAP_END inside EOF");
	close(fd);

	fd = open(path, O_RDWR | O_APPEND);
	if (!ASSERT_OK_FD(fd, "open O_APPEND"))
		goto out;
	ends = fbs_server_fmap_end_requests(fx.srv);
	for (i = 0; i < 1000; i++)
		if (!ASSERT_EQ(write(fd, data + 100 * i, 100), 100, "append"))
			break;
	ASSERT_EQ(fbs_server_fmap_end_requests(fx.srv), ends, "no FUSE_FMAP_END for appends");
	ASSERT_OK(fsync(fd), "fsync");
	ASSERT_EQ(fbs_server_fmap_end_requests(fx.srv), ends + 1, "fsync reports once");
	ends = fbs_server_fmap_end_requests(fx.srv);
	close(fd);
	fd = -1;
	ASSERT_EQ(fbs_server_fmap_end_requests(fx.srv), ends, "nothing to report at close");
out:
	if (fd >= 0)
		close(fd);
	fixture_unmount(&fx);
	free(data);
}

static void fmap_end_enosys(void)
{
	unsigned char data[4096];
	struct fixture fx = { 0 };
	unsigned long ends;
	struct statx stx;
	char path[128];
	int fd;

	fd = mount_and_create(&fx, NULL, "nosys", path, sizeof(path));
	if (fd < 0)
		goto out;
	fill_pattern(data, sizeof(data), 7);
	fbs_server_set_fmap_end_mode(fx.srv, FBS_FMAP_END_ENOSYS);
	ends = fbs_server_fmap_end_requests(fx.srv);
	ASSERT_EQ(pwrite(fd, data, sizeof(data), 0), sizeof(data), "first write");
	ASSERT_EQ(pwrite(fd, data, sizeof(data), 8192), sizeof(data), "second write");
	ASSERT_EQ(fbs_server_fmap_end_requests(fx.srv), ends + 1,
		  "FUSE_FMAP_END asked once");
	if (ASSERT_OK(server_statx(path, &stx), "statx"))
		ASSERT_EQ(stx.stx_size, 8192 + sizeof(data), "size in the server");
	close(fd);
out:
	fixture_unmount(&fx);
}

/* The state letter of /proc/@pid/stat, or 0 */
static char proc_state(pid_t pid)
{
	char file[64], buf[256], *p;
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%d/stat", pid);
	f = fopen(file, "r");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * A child that writes 4096 bytes at 4096 of empty @fd: past EOF, so the
 * write waits for FUSE_FMAP_END (an append would not); exits 0 if it worked
 */
static pid_t spawn_writer(int fd, const unsigned char *data)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(pwrite(fd, data, 4096, 4096) == 4096 ? 0 : 1);
	return pid;
}

/* Until @pid sleeps in the kernel (a state other than R), at most 5 s */
static void wait_asleep(pid_t pid)
{
	char st;
	int i;

	for (i = 0; i < 100; i++) {
		st = proc_state(pid);
		if (st == 'D' || st == 'S')
			break;
		usleep(50 * 1000);
	}
	usleep(300 * 1000);
}

/*
 * The vehicle serves from one thread.  Writer A's FUSE_FMAP_END stalls in
 * the server; writer B's then waits in the queue, not yet read by the
 * server, and SIGKILL takes it out of there: the server never sees it,
 * and b keeps its old size.  (A request the server has read is waited
 * for in any case, as is the FUSE_FLUSH of B's exit: FUSE's answer to a
 * stuck server is the connection's abort.)  Before the fix, B's request
 * was forced: it stayed queued, reached the server once A's was answered,
 * and B's write completed after the SIGKILL.
 */
static void fmap_end_killable(void)
{
	unsigned char data[4096];
	struct fixture fx = { 0 };
	char pa[128], pb[128];
	int status = 0, fa, fb = -1;
	unsigned long ends;
	struct stat st;
	pid_t a, b;

	fa = mount_and_create(&fx, NULL, "stuck_a", pa, sizeof(pa));
	if (fa < 0)
		goto out;
	fb = open(fixture_path(&fx, "stuck_b", pb, sizeof(pb)),
		  O_RDWR | O_CREAT | O_EXCL, 0644);
	if (!ASSERT_OK_FD(fb, "create b"))
		goto out;
	fill_pattern(data, sizeof(data), 8);
	ends = fbs_server_fmap_end_requests(fx.srv);
	fbs_server_set_fmap_end_mode(fx.srv, FBS_FMAP_END_STALL);
	a = spawn_writer(fa, data);
	wait_asleep(a);
	b = spawn_writer(fb, data);
	wait_asleep(b);
	kill(b, SIGKILL);
	usleep(500 * 1000);
	fbs_server_set_fmap_end_mode(fx.srv, FBS_FMAP_END_ANSWER);
	ASSERT_EQ(fixture_wait_exit(a, 60), 0, "writer a's write worked");
	if (ASSERT_EQ(waitpid(b, &status, 0), b, "reap b"))
		ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			    "b killed");
	ASSERT_EQ(fbs_server_fmap_end_requests(fx.srv), ends + 1,
		  "the server saw a's FUSE_FMAP_END only");

	if (ASSERT_OK(fstat(fb, &st), "fstat b"))
		ASSERT_EQ(st.st_size, 0, "b: the old size");
	if (ASSERT_OK(fstat(fa, &st), "fstat a"))
		ASSERT_EQ(st.st_size, 2 * sizeof(data), "a: the new size");
	ASSERT_EQ(pwrite(fb, data, sizeof(data), 0), sizeof(data), "b: write again");
	if (ASSERT_OK(fstat(fb, &st), "fstat b"))
		ASSERT_EQ(st.st_size, sizeof(data), "b: the new size");
out:
	if (fb >= 0)
		close(fb);
	if (fa >= 0)
		close(fa);
	fixture_unmount(&fx);
}

void test_fmap_size(void)
{
	const struct fixture_opts opts = { .daemon = true };

	if (fixture_famfs_bin()) {
		if (test__start_subtest("extending_write"))
			extending_write(&opts);
		if (test__start_subtest("append_at_writeback"))
			append_at_writeback(&opts);
		if (test__start_subtest("short_write"))
			short_write(&opts);
		if (test__start_subtest("mtime_write"))
			mtime_moves(&opts, false);
		if (test__start_subtest("mtime_mmap"))
			mtime_moves(&opts, true);
		if (test__start_subtest("mtime_munmap_unlink"))
			mtime_munmap_unlink(&opts);
		if (test__start_subtest("mtime_munmap_remount"))
			mtime_munmap_remount();
		if (test__start_subtest("atime_read_remount"))
			atime_read_remount();
	}
	if (test__start_subtest("fmap_end_requests"))
		fmap_end_requests();
	if (test__start_subtest("fmap_end_enosys"))
		fmap_end_enosys();
	if (test__start_subtest("fmap_end_killable"))
		fmap_end_killable();
}
