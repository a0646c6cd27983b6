// SPDX-License-Identifier: GPL-2.0
/*
 * Invalidation:
 *  - notify: the server moves a file to other device blocks and sends
 *    FUSE_NOTIFY_FMAP_INVAL; the old blocks are no longer visible through
 *    read(2) nor through a mapping made (and faulted in) before the move;
 *  - getattr_shrink: the server shrinks a file without notifying (as after
 *    replaying another host's truncate); once an attribute reply shows the
 *    smaller size, a write past it does not go to the blocks the kernel had
 *    cached for the old size, but asks the server, which allocates anew;
 *  - reopen_keeps_mappings: another process's open() of a mapped file
 *    leaves this process's page tables alone (no fault after it: the
 *    mapping cache counters, which every fault moves, stand still);
 *  - pin_across_reopen: a page of A pinned by uid 65534 (vmsplice into a
 *    pipe nobody drains) through a mapping it keeps, A reopened, then the
 *    server moves A and gives its old extent to B, which is written: the
 *    pin never shows B's bytes.  The move waits for the pin (3 s) first;
 *  - pin_after_munmap: the same, but the pin holder unmaps A before: no
 *    process maps A any more, the pin is still there and still waited for;
 *  - notify_killable: a server process whose FUSE_NOTIFY_FMAP_INVAL waits
 *    for such a pin dies of SIGKILL (about 9 s: the pin is held 8 s);
 *  - revoke_during_pin_wait: BACKING_CLOSE of the device while a truncate
 *    of A waits for such a pin: the close does not wait, the truncate
 *    fails with EIO;
 *  - pin_across_unlink, umount_waits_for_pin: on the daemon, the pin holder
 *    closes A, which is unlinked: A's RELEASE waits for the pin, so the
 *    daemon keeps A's space (B gets other space) and umount waits too.
 * reopen_keeps_mappings runs on the daemon users run (a famfs-bpf mount of
 * /dev/pmem2, BPF resolver; the file written by write(2)), as do
 * pin_across_unlink and umount_waits_for_pin.  On the vehicle only, as each
 * needs a server act the daemon never does:
 *  - notify, pin_across_reopen, pin_after_munmap: the server moves an open,
 *    mapped file to other blocks and gives its old extent to another file
 *    (the daemon moves no file's blocks; a follower's FUSE_NOTIFY_FMAP_INVAL
 *    after log play is fs_follower's, the daemon's pins pin_across_unlink's);
 *  - getattr_shrink: the server shrinks a file without a notify (the
 *    daemon's truncates go through the kernel, a follower notifies);
 *  - notify_killable: the server's notify runs in a process the test kills;
 *  - revoke_during_pin_wait: BACKING_CLOSE on the server's /dev/fuse fd
 *    (the daemon's device goes only by unbind: fmap_revoke/daemon_unbind).
 * Cost on the test kernel: about 40 s, most of it the pins' holds (3 to 8 s
 * each); reopen_keeps_mappings about 3 s (16 s on the debug kernel).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

#define SIZE (4 * MiB)

static void notify(void)
{
	struct fmap_simple_ext old_ext = { .len = SIZE, .dev = 0, .dev_off = 200 * MiB };
	struct fmap_simple_ext new_ext = { .len = SIZE, .dev = 1, .dev_off = 210 * MiB };
	unsigned char *p1 = malloc(SIZE), *p2 = malloc(SIZE), *back = malloc(SIZE);
	unsigned char *map = MAP_FAILED;
	struct fixture fx = { 0 };
	struct fbs_layout l;
	long long invals;
	char path[128];
	int fd = -1;

	if (!ASSERT_TRUE(p1 && p2 && back, "malloc"))
		goto out;
	fill_pattern(p1, SIZE, 21);
	fill_pattern(p2, SIZE, 22);
	/* what the file will show after the move */
	if (!ASSERT_OK(dev_pwrite(FX_DEV1, p2, SIZE, new_ext.dev_off), "seed dev1"))
		goto out;
	if (!ASSERT_OK(fixture_mount(&fx, NULL), "mount"))
		goto out;
	layout_simple(&l, 1, &old_ext);
	if (!ASSERT_OK(fbs_server_add_file(fx.srv, "f", SIZE, &l), "add"))
		goto out;
	fd = open(fixture_path(&fx, "f", path, sizeof(path)), O_RDWR);
	if (!ASSERT_OK_FD(fd, "open"))
		goto out;
	ASSERT_EQ(pwrite(fd, p1, SIZE, 0), SIZE, "write old");
	map = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (!ASSERT_TRUE(map != MAP_FAILED, "mmap"))
		goto out;
	ASSERT_MEMEQ(map, p1, SIZE, "mapping shows the old blocks");
	invals = fixture_stat(&fx, "invalidations");

	layout_simple(&l, 1, &new_ext);
	ASSERT_OK(fbs_server_set_layout(fx.srv, "f", &l), "move + notify");
	ASSERT_GT(fixture_stat(&fx, "invalidations"), invals, "invalidation counted");

	ASSERT_EQ(pread(fd, back, SIZE, 0), SIZE, "read after the move");
	ASSERT_MEMEQ(back, p2, SIZE, "read(2) shows the new blocks");
	ASSERT_MEMEQ(map, p2, SIZE, "the old mapping shows the new blocks");
	/* and the old blocks were not written by anything since */
	ASSERT_OK(dev_pread(FX_DEV0, back, SIZE, old_ext.dev_off), "read dev0");
	ASSERT_MEMEQ(back, p1, SIZE, "old blocks intact");
out:
	if (map != MAP_FAILED)
		munmap(map, SIZE);
	if (fd >= 0)
		close(fd);
	fixture_unmount(&fx);
	free(p1);
	free(p2);
	free(back);
}

static void getattr_shrink(void)
{
	unsigned char *p1 = malloc(SIZE), *p2 = malloc(64 * 1024), *back = malloc(SIZE);
	const __u64 at = 2 * MiB + 8192, cut = MiB;
	struct fmap_simple_ext ext[8], old;
	struct fixture fx = { 0 };
	struct statx stx;
	char path[128];
	int fd = -1, n, i;

	if (!ASSERT_TRUE(p1 && p2 && back, "malloc") ||
	    !ASSERT_OK(fixture_mount(&fx, NULL), "mount"))
		goto out;
	fill_pattern(p1, SIZE, 23);
	fill_pattern(p2, 64 * 1024, 24);
	fd = open(fixture_path(&fx, "g", path, sizeof(path)),
		  O_RDWR | O_CREAT | O_EXCL, 0644);
	if (!ASSERT_OK_FD(fd, "create") ||
	    !ASSERT_EQ(pwrite(fd, p1, SIZE, 0), SIZE, "write") ||
	    /* the size a write moved reaches the server at writeback */
	    !ASSERT_OK(fsync(fd), "fsync") ||
	    !ASSERT_EQ(pread(fd, back, SIZE, 0), SIZE, "read: mappings cached"))
		goto out;
	/* where the bytes at @at live before the shrink */
	n = fbs_server_file_extents(fx.srv, "g", ext, 8);
	if (!ASSERT_GT(n, 0, "extents"))
		goto out;
	for (i = 0; i < n && !(ext[i].file_off <= at &&
				at < ext[i].file_off + ext[i].len); i++)
		;
	if (!ASSERT_LT(i, n, "an extent covers the offset"))
		goto out;
	old = ext[i];
	if (!ASSERT_EQ(old.dev, 0, "allocated on pmem0"))
		goto out;

	if (!ASSERT_OK(fbs_server_shrink_silently(fx.srv, "g", cut), "shrink"))
		goto out;
	if (ASSERT_OK(statx(AT_FDCWD, path, AT_STATX_FORCE_SYNC, STATX_SIZE, &stx),
		      "statx"))
		ASSERT_EQ(stx.stx_size, cut, "the kernel sees the new size");

	ASSERT_EQ(pwrite(fd, p2, 64 * 1024, at), 64 * 1024, "write past it");
	ASSERT_OK(dev_pread(FX_DEV0, back, 64 * 1024,
			    old.dev_off + (at - old.file_off)), "read old blocks");
	ASSERT_MEMEQ(back, p1 + at, 64 * 1024, "old blocks untouched");
	ASSERT_EQ(pread(fd, back, 64 * 1024, at), 64 * 1024, "read back");
	ASSERT_MEMEQ(back, p2, 64 * 1024, "the new bytes");
out:
	if (fd >= 0)
		close(fd);
	fixture_unmount(&fx);
	free(p1);
	free(p2);
	free(back);
}

/* Faults that reached iomap_begin so far: each is a hit or a miss */
static long long resolves(struct fixture *fx)
{
	return fixture_stat(fx, "cache_hits") + fixture_stat(fx, "cache_misses");
}

/* "f" is written by write(2), fsynced, then mapped and faulted in */
static void reopen_keeps_mappings(void)
{
	const struct fixture_opts opts = { .daemon = true };
	volatile unsigned char *map = MAP_FAILED;
	unsigned char *data = NULL;
	unsigned long i, sum = 0;
	struct fixture fx = { 0 };
	long long before;
	char path[128];
	pid_t pid;
	int fd = -1;

	if (!ASSERT_OK(fixture_mount(&fx, &opts), "mount"))
		return;
	fixture_path(&fx, "f", path, sizeof(path));
	data = malloc(SIZE);
	if (!ASSERT_TRUE(data != NULL, "malloc"))
		goto out;
	fill_pattern(data, SIZE, 26);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (!ASSERT_OK_FD(fd, "create") || !fixture_write_fd(fd, data, SIZE, SIZE) ||
	    !ASSERT_OK(fsync(fd), "fsync"))
		goto out;
	close(fd);
	fd = open(path, O_RDONLY);
	if (!ASSERT_OK_FD(fd, "open"))
		goto out;
	map = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (!ASSERT_TRUE(map != MAP_FAILED, "mmap"))
		goto out;
	for (i = 0; i < SIZE; i += 4096)
		sum += map[i];

	before = resolves(&fx);
	pid = fork();
	if (pid == 0) {
		int fd2 = open(path, O_RDONLY);

		_exit(fd2 < 0 ? 1 : close(fd2) ? 2 : 0);
	}
	ASSERT_EQ(fixture_wait_exit(pid, 60), 0, "another process opens f");
	for (i = 0; i < SIZE; i += 4096)
		sum += map[i];
	ASSERT_EQ(resolves(&fx) - before, 0, "no fault after its open");
	ASSERT_MEMEQ((const void *)map, data, SIZE, "the mapping shows the file");
	(void)sum;
out:
	if (map != MAP_FAILED)
		munmap((void *)map, SIZE);
	if (fd >= 0)
		close(fd);
	fixture_unmount(&fx);
	free(data);
}

enum { PIN_SAW_A, PIN_SAW_B, PIN_SAW_OTHER, PIN_SETUP };

/*
 * As uid 65534: pin the first page of @path in a pipe (and with @unmap,
 * unmap and close it: only the pipe holds the page), say so on @ready,
 * wait @hold_s seconds, then read what the pipe holds: whose bytes?
 */
static int pin_child(const char *path, bool unmap, int ready, int hold_s,
		     const unsigned char *a, const unsigned char *b)
{
	unsigned char got[4096];
	struct iovec iov;
	void *map;
	int fd, p[2];

	if (setgid(65534) || setuid(65534))
		return PIN_SETUP;
	fd = open(path, O_RDONLY);
	if (fd < 0 || pipe(p))
		return PIN_SETUP;
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return PIN_SETUP;
	iov.iov_base = map;
	iov.iov_len = 4096;
	if (vmsplice(p[1], &iov, 1, 0) != 4096)
		return PIN_SETUP;
	if (unmap) {
		munmap(map, 4096);
		close(fd);
	}
	if (write(ready, "p", 1) != 1)
		return PIN_SETUP;
	sleep(hold_s);
	if (read(p[0], got, sizeof(got)) != sizeof(got))
		return PIN_SETUP;
	if (!memcmp(got, a, sizeof(got)))
		return PIN_SAW_A;
	return memcmp(got, b, sizeof(got)) ? PIN_SAW_OTHER : PIN_SAW_B;
}

/* File "a" whose first page a child, as uid 65534, holds pinned */
struct pinned {
	struct fixture fx;
	unsigned char *a, *b;	/* a's bytes; another pattern, for b */
	char pa[128];
	int ready[2];
	pid_t pinner;
};

/*
 * Mount, add "a" at @ext with a pattern, and fork the pin holder
 * (pin_child(): with @unmap it drops its mapping and fd; it reads the pipe
 * after @hold_s s).  False if any of it failed; pinned_done() either way.
 */
static bool pinned_start(struct pinned *p, const struct fmap_simple_ext *ext,
			 unsigned int seed, bool unmap, int hold_s)
{
	struct fbs_layout l;
	char c;

	p->ready[0] = p->ready[1] = -1;
	p->pinner = -1;
	p->a = malloc(SIZE);
	p->b = malloc(4096);
	if (!ASSERT_TRUE(p->a && p->b, "malloc") || !ASSERT_OK(pipe(p->ready), "pipe"))
		return false;
	fill_pattern(p->a, SIZE, seed);
	fill_pattern(p->b, 4096, seed + 1);
	if (!ASSERT_OK(dev_pwrite(FX_DEV0, p->a, SIZE, ext->dev_off), "seed a") ||
	    !ASSERT_OK(fixture_mount(&p->fx, NULL), "mount"))
		return false;
	layout_simple(&l, 1, ext);
	if (!ASSERT_OK(fbs_server_add_file(p->fx.srv, "a", SIZE, &l), "add a"))
		return false;
	fixture_path(&p->fx, "a", p->pa, sizeof(p->pa));
	p->pinner = fork();
	if (p->pinner == 0)
		_exit(pin_child(p->pa, unmap, p->ready[1], hold_s, p->a, p->b));
	return ASSERT_EQ(read(p->ready[0], &c, 1), 1, "page pinned");
}

/* What the pin showed (PIN_*), or -1 */
static int pinned_wait(struct pinned *p)
{
	int ret = fixture_wait_exit(p->pinner, 60);

	p->pinner = -1;
	return ret;
}

static void pinned_done(struct pinned *p)
{
	if (p->pinner > 0)
		fixture_wait_exit(p->pinner, 0);
	if (p->ready[0] >= 0) {
		close(p->ready[0]);
		close(p->ready[1]);
	}
	fixture_unmount(&p->fx);
	free(p->a);
	free(p->b);
}

static void pin_across_reopen(bool unmap)
{
	struct fmap_simple_ext old_ext = { .len = SIZE, .dev = 0, .dev_off = 270 * MiB };
	struct fmap_simple_ext new_ext = { .len = SIZE, .dev = 0, .dev_off = 280 * MiB };
	struct pinned p = { 0 };
	struct fbs_layout l;
	char pb[128];
	int fd;

	if (!pinned_start(&p, &old_ext, 25, unmap, 3))
		goto out;
	fixture_path(&p.fx, "b", pb, sizeof(pb));

	/* Reopen a: its DAX entries must stay, the pin with them */
	fd = open(p.pa, O_RDONLY);
	if (ASSERT_OK_FD(fd, "reopen a"))
		close(fd);
	/* The server moves a and gives its old extent to b */
	layout_simple(&l, 1, &new_ext);
	ASSERT_OK(fbs_server_set_layout(p.fx.srv, "a", &l), "move a + notify");
	layout_simple(&l, 1, &old_ext);
	if (!ASSERT_OK(fbs_server_add_file(p.fx.srv, "b", SIZE, &l), "add b"))
		goto out;
	fd = open(pb, O_WRONLY);
	if (ASSERT_OK_FD(fd, "open b")) {
		ASSERT_EQ(pwrite(fd, p.b, 4096, 0), 4096, "write b");
		close(fd);
	}
	ASSERT_EQ(pinned_wait(&p), PIN_SAW_A, "the pin shows a's bytes");
out:
	pinned_done(&p);
}

/*
 * A pin that uid 65534 holds for 8 s must not make the server unkillable:
 * a server process whose FUSE_NOTIFY_FMAP_INVAL waits for the pin dies of
 * SIGKILL at once (before: D state until the pin went).
 */
static void notify_killable(void)
{
	struct fmap_simple_ext ext = { .len = SIZE, .dev = 0, .dev_off = 290 * MiB };
	struct pinned p = { 0 };
	int i, status;
	pid_t notifier;

	if (!pinned_start(&p, &ext, 27, false, 8))
		goto out;

	/* The server, in a process of its own: the notify waits for the pin */
	notifier = fork();
	if (notifier == 0)
		_exit(fbs_server_forget(p.fx.srv, "a") ? 1 : 0);
	sleep(1);
	kill(notifier, SIGKILL);
	for (i = 0; i < 60 && waitpid(notifier, &status, WNOHANG) != notifier; i++)
		usleep(50 * 1000);
	ASSERT_LT(i, 60, "the notifying server died within 3 s");
	if (i == 60)
		waitpid(notifier, &status, 0);
	ASSERT_EQ(pinned_wait(&p), PIN_SAW_A, "the pin shows a's bytes");
out:
	pinned_done(&p);
}

/*
 * A truncate that waits for a pin holds the file's i_rwsem, which the
 * revocation of a device takes: BACKING_CLOSE of the device must not wait
 * for the pin (8 s).  The truncate gives in with EIO.  Before: the close
 * took as long as the pin (7 s).  About 3 s.
 */
static void revoke_during_pin_wait(void)
{
	struct fmap_simple_ext ext = { .len = SIZE, .dev = 0, .dev_off = 300 * MiB };
	struct timespec t0, t1;
	struct pinned p = { 0 };
	pid_t truncater;
	double secs;
	int id;

	if (!pinned_start(&p, &ext, 29, true, 8))
		goto out;
	truncater = fork();
	if (truncater == 0)
		_exit(truncate(p.pa, 0) ? errno : 0);
	sleep(1);	/* the truncate waits for the pin */

	id = fbs_server_dev_id(p.fx.srv, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_OK(ioctl(fbs_server_fuse_fd(p.fx.srv), FUSE_DEV_IOC_BACKING_CLOSE, &id),
		  "BACKING_CLOSE");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# BACKING_CLOSE took %.1f s (the pin is held 8 s)\n", secs);
	ASSERT_LT(secs, 3.0, "the revocation did not wait for the pin");
	ASSERT_EQ(fixture_wait_exit(truncater, 60), EIO, "the waiting truncate gave in: EIO");
	ASSERT_EQ(pinned_wait(&p), PIN_SAW_A, "the pin shows a's bytes");
out:
	pinned_done(&p);
}

#define DAEMON_DEV	"/dev/pmem2"
#define DAEMON_MNT	"/tmp/fmap_inval.mnt"

static const char *dpath(const char *name)
{
	return fixture_join(DAEMON_MNT, name);
}

/* @len bytes of @data into a new file @name of the daemon, fsynced */
static bool daemon_file(const char *name, const unsigned char *data, size_t len)
{
	int fd = open(dpath(name), O_RDWR | O_CREAT | O_EXCL, 0644);
	bool ok;

	if (!ASSERT_OK_FD(fd, "create"))
		return false;
	ok = ASSERT_EQ(pwrite(fd, data, len, 0), (ssize_t)len, "write") &&
	     ASSERT_OK(fsync(fd), "fsync");
	close(fd);
	return ok;
}

/* releases_held of the daemon's mount, waited for down to @want (3 s) */
static long long releases_held(long long want)
{
	long long n = -1;
	int i;

	for (i = 0; i < 30; i++) {
		n = fixture_mnt_stat(DAEMON_MNT, "releases_held");
		if (n == want)
			break;
		usleep(100 * 1000);
	}
	return n;
}

/*
 * The daemon frees an unlinked file's space at its last RELEASE.  uid
 * 65534 pins the first page of a (vmsplice), unmaps and closes it: the
 * kernel holds the RELEASE back while the pin lasts.  With @umount, a is
 * unlinked and the file system unmounted, which waits for the pin, and
 * then mounts again with fsck clean.  Otherwise a is unlinked and b
 * written in its place: b gets other space, and the pin shows a's bytes.
 * Once the pin goes the RELEASE is sent and a's space comes back.
 * Before: the RELEASE went at the close, the unlink freed a's space, b
 * took it (PIN_SAW_B), and a's eviction dropped the DAX entry of the
 * pinned page (WARNING at fs/dax.c dax_disassociate_entry).  About 6 s.
 */
static void pin_across_unlink(bool umount)
{
	unsigned char *a = malloc(SIZE), *b = malloc(SIZE);
	int ready[2] = { -1, -1 };
	struct statvfs held, freed;
	pid_t pinner = -1;
	char c;
	int i;

	if (!ASSERT_TRUE(a && b, "malloc") || !ASSERT_OK(pipe(ready), "pipe"))
		goto out;
	fill_pattern(a, SIZE, 31);
	fill_pattern(b, 4096, 32);
	fill_pattern(b + 4096, SIZE - 4096, 33);
	if (!fixture_mkfs_mount(DAEMON_DEV, DAEMON_MNT, NULL) || !daemon_file("a", a, SIZE))
		goto out_umount;

	pinner = fork();
	if (pinner == 0)
		_exit(pin_child(dpath("a"), true, ready[1], 4, a, b));
	if (!ASSERT_EQ(read(ready[0], &c, 1), 1, "page pinned, a closed"))
		goto out_umount;
	ASSERT_EQ(releases_held(1), 1, "a's RELEASE held back");
	ASSERT_OK(unlink(dpath("a")), "unlink a");

	if (umount) {
		struct timespec t0, t1;
		double s;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		ASSERT_EQ(fixture_famfs(0, "umount", DAEMON_MNT), 0, "umount");
		clock_gettime(CLOCK_MONOTONIC, &t1);
		s = t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		printf("# umount took %.1f s (the pin is held 4 s)\n", s);
		/* the pin holder reads its pipe 4 s after it pinned */
		ASSERT_GT(s, 1.5, "umount waited for the pin");
		ASSERT_EQ(fixture_wait_exit(pinner, 60), PIN_SAW_A, "the pin shows a's bytes");
		pinner = -1;
		ASSERT_EQ(fixture_famfs(0, "fsck", DAEMON_DEV), 0, "fsck clean");
		ASSERT_EQ(fixture_famfs(0, "mount", DAEMON_DEV, DAEMON_MNT), 0, "mount again");
		goto out_umount;
	}

	daemon_file("b", b, SIZE);
	ASSERT_OK(statvfs(DAEMON_MNT, &held), "statvfs");
	ASSERT_EQ(fixture_wait_exit(pinner, 60), PIN_SAW_A, "the pin shows a's bytes");
	pinner = -1;
	ASSERT_EQ(releases_held(0), 0, "a's RELEASE sent once the pin went");
	/* the RELEASE is sent, not yet answered: the daemon frees a meanwhile (3 s) */
	for (i = 0; i < 30; i++) {
		if (!ASSERT_OK(statvfs(DAEMON_MNT, &freed), "statvfs") ||
		    freed.f_bfree * freed.f_frsize >= held.f_bfree * held.f_frsize + SIZE)
			break;
		usleep(100 * 1000);
	}
	ASSERT_GE(freed.f_bfree * freed.f_frsize, held.f_bfree * held.f_frsize + SIZE,
		  "a's space came back");
out_umount:
	if (pinner > 0)
		fixture_wait_exit(pinner, 60);
	fixture_famfs(0, "umount", DAEMON_MNT);
	rmdir(DAEMON_MNT);
out:
	if (ready[0] >= 0) {
		close(ready[0]);
		close(ready[1]);
	}
	free(a);
	free(b);
}

void test_fmap_inval(void)
{
	if (test__start_subtest("notify"))
		notify();
	if (test__start_subtest("getattr_shrink"))
		getattr_shrink();
	if (fixture_famfs_bin() && test__start_subtest("reopen_keeps_mappings"))
		reopen_keeps_mappings();
	if (test__start_subtest("pin_across_reopen"))
		pin_across_reopen(false);
	if (test__start_subtest("pin_after_munmap"))
		pin_across_reopen(true);
	if (test__start_subtest("notify_killable"))
		notify_killable();
	if (test__start_subtest("revoke_during_pin_wait"))
		revoke_during_pin_wait();
	if (test__start_subtest("pin_across_unlink"))
		pin_across_unlink(false);
	if (test__start_subtest("umount_waits_for_pin"))
		pin_across_unlink(true);
}
