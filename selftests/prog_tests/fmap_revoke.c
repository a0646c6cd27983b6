// SPDX-License-Identifier: GPL-2.0
/*
 * A registered device that goes takes its user mappings with it:
 *  - backing_close: FUSE_DEV_IOC_BACKING_CLOSE of a device that a process
 *    maps (page tables filled) succeeds; the next access through the old
 *    mapping, and a process faulting the file in a loop, get SIGBUS;
 *    read(2) gets EIO; unmount works;
 *  - shared_holder: two mounts register the same devices at the same time
 *    (FUSE holds the DAX device for both);
 *  - dirty_close: BACKING_CLOSE of the last registered device while a
 *    process has stores in a shared mapping: the revocation writes them
 *    back to the device (fs_dax:dax_writeback_one fires; the raw device
 *    shows them) before it drops the DAX entries, and the process gets
 *    SIGBUS on its next access.
 *  - unbind: the real famfs-bpf daemon (mount -f, BPF resolver)
 *    serves a file on /dev/pmem1 that a process maps, has faulted through
 *    BPF and has dirty stores in; the namespace is unbound: the stores
 *    are on the device afterwards, the old mapping and a faulting process
 *    get SIGBUS, read(2) EIO; the daemon either still answers (a create
 *    fails with EIO, nothing hangs) or exits, with a message naming the
 *    device either way; umount works (there is no lock left to wait for),
 *    the daemon exits 0, and fsck is clean once the namespace is back.
 *    Cost on the test kernel: a few seconds.
 * Refusing a DAX device that another file system holds (EBUSY) needs one
 * that registers as a holder (XFS), which the test kernel does not build.
 * unbind is the daemon's; the others stay on the vehicle only:
 *  - backing_close, dirty_close: FUSE_DEV_IOC_BACKING_CLOSE on the server's
 *    /dev/fuse fd, which the daemon never does (its devices go by unbind,
 *    where unbind checks the same SIGBUS, EIO and written-back stores);
 *  - shared_holder: two servers register the same devices at once (on the
 *    daemon, a second mount is a read-only follower: fs_follower's).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/fuse.h>

#include "famfs_format.h"
#include "fixture.h"
#include "fs/fs.h"
#include "fs/ns.h"
#include "test_progs.h"

#define SIZE (4 * MiB)

static sigjmp_buf sigbus_jmp;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(sigbus_jmp, 1);
}

/* Reads every page of @map; true if one of them raised SIGBUS */
static bool read_gets_sigbus(volatile unsigned char *map, size_t len)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	volatile unsigned long sum = 0;
	bool bus = false;
	size_t i;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(sigbus_jmp, 1))
		bus = true;
	else
		for (i = 0; i < len; i += 4096)
			sum += map[i];
	sigaction(SIGBUS, &old, NULL);
	return bus;
}

struct mapped {
	struct fixture fx;
	unsigned char *data;
	unsigned char *map;
	char path[128];
	pid_t worker;
	int fd;
};

/* Mount, add a file on device @dev, map it and fault every page in */
static bool map_file(struct mapped *m, unsigned int dev, const char *devpath)
{
	struct fmap_simple_ext ext = { .len = SIZE, .dev = dev, .dev_off = 230 * MiB };
	const struct timespec run = { .tv_nsec = 300 * 1000 * 1000 };
	struct fbs_layout l;

	m->fd = -1;
	m->map = MAP_FAILED;
	m->worker = 0;
	m->data = malloc(SIZE);
	if (!ASSERT_TRUE(m->data != NULL, "malloc"))
		return false;
	fill_pattern(m->data, SIZE, 51);
	if (!ASSERT_OK(dev_pwrite(devpath, m->data, SIZE, ext.dev_off), "seed") ||
	    !ASSERT_OK(fixture_mount(&m->fx, NULL), "mount"))
		return false;
	layout_simple(&l, 1, &ext);
	if (!ASSERT_OK(fbs_server_add_file(m->fx.srv, "f", SIZE, &l), "add"))
		return false;
	fixture_path(&m->fx, "f", m->path, sizeof(m->path));
	m->fd = open(m->path, O_RDONLY);
	if (!ASSERT_OK_FD(m->fd, "open"))
		return false;
	m->map = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, m->fd, 0);
	if (!ASSERT_TRUE(m->map != MAP_FAILED, "mmap"))
		return false;
	if (!ASSERT_MEMEQ(m->map, m->data, SIZE, "mapping before"))
		return false;
	m->worker = fixture_spawn(worker_fault, m->path, SIZE);
	nanosleep(&run, NULL);
	return ASSERT_GT(m->worker, 0, "worker");
}

/* After the device went: every way in fails, nothing hangs */
static void check_revoked(struct mapped *m)
{
	unsigned char buf[4096];

	ASSERT_TRUE(read_gets_sigbus(m->map, SIZE), "old mapping: SIGBUS");
	ASSERT_EQ(fixture_wait_exit(m->worker, 60), WORKER_SIGBUS,
		  "faulting worker: SIGBUS");
	m->worker = 0;
	errno = 0;
	ASSERT_ERR(pread(m->fd, buf, sizeof(buf), 0), "read(2) fails");
	ASSERT_EQ(errno, EIO, "with EIO");
}

static void unmap_file(struct mapped *m)
{
	if (m->worker > 0)
		fixture_wait_exit(m->worker, 0);
	if (m->map != MAP_FAILED)
		munmap(m->map, SIZE);
	if (m->fd >= 0)
		close(m->fd);
	fixture_unmount(&m->fx);
	free(m->data);
}

static void backing_close(void)
{
	struct mapped m = { 0 };
	int id;

	if (!map_file(&m, 0, FX_DEV0))
		goto out;
	id = fbs_server_dev_id(m.fx.srv, 0);
	ASSERT_OK(ioctl(fbs_server_fuse_fd(m.fx.srv),
			FUSE_DEV_IOC_BACKING_CLOSE, &id), "BACKING_CLOSE");
	check_revoked(&m);
	errno = 0;
	ASSERT_ERR(ioctl(fbs_server_fuse_fd(m.fx.srv),
			 FUSE_DEV_IOC_BACKING_CLOSE, &id), "second close");
	ASSERT_EQ(errno, ENOENT, "with ENOENT");
out:
	unmap_file(&m);
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -errno;
}

/* The namespace device behind /dev/pmem1, e.g. "namespace1.0" */
static int pmem1_namespace(char *name, size_t size)
{
	char link[256];
	ssize_t n = readlink("/sys/block/pmem1/device", link, sizeof(link) - 1);

	if (n < 0)
		return -errno;
	link[n] = 0;
	snprintf(name, size, "%s", basename(link));
	return 0;
}

static void shared_holder(void)
{
	struct fixture fx1 = { 0 }, fx2 = { 0 };

	if (ASSERT_OK(fixture_mount(&fx1, NULL), "first mount"))
		ASSERT_OK(fixture_mount(&fx2, NULL), "second mount");
	fixture_unmount(&fx2);
	fixture_unmount(&fx1);
}

#define TRACING "/sys/kernel/tracing"

/* Lines of the trace buffer that name @event */
static int trace_count(const char *event)
{
	FILE *f = fopen(TRACING "/trace", "r");
	char line[512];
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#' && strstr(line, event))
			n++;
	fclose(f);
	return n;
}

static void dirty_close(void)
{
	struct fmap_simple_ext ext = { .len = SIZE, .dev = 0, .dev_off = 240 * MiB };
	const char *wb = TRACING "/events/fs_dax/dax_writeback_one/enable";
	unsigned char *data = malloc(SIZE), *back = malloc(SIZE);
	unsigned char *map = MAP_FAILED;
	struct fixture fx = { 0 };
	struct fbs_layout l;
	char path[128];
	int fd = -1, i, id;

	if (!ASSERT_TRUE(data && back, "malloc") ||
	    !ASSERT_OK(fixture_mount(&fx, NULL), "mount"))
		goto out;
	fill_pattern(data, SIZE, 53);
	layout_simple(&l, 1, &ext);
	if (!ASSERT_OK(fbs_server_add_file(fx.srv, "f", SIZE, &l), "add"))
		goto out;
	fd = open(fixture_path(&fx, "f", path, sizeof(path)), O_RDWR);
	if (!ASSERT_OK_FD(fd, "open"))
		goto out;
	map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!ASSERT_TRUE(map != MAP_FAILED, "mmap"))
		goto out;

	/* Device 0 becomes the last one: no other registered device flushes */
	for (i = 1; (id = fbs_server_dev_id(fx.srv, i)) > 0; i++)
		ASSERT_OK(ioctl(fbs_server_fuse_fd(fx.srv),
				FUSE_DEV_IOC_BACKING_CLOSE, &id), "close another");
	memcpy(map, data, SIZE);
	if (!ASSERT_OK(write_str(wb, "1"), "enable fs_dax:dax_writeback_one") ||
	    !ASSERT_OK(write_str(TRACING "/trace", ""), "clear the trace"))
		goto out;
	id = fbs_server_dev_id(fx.srv, 0);
	ASSERT_OK(ioctl(fbs_server_fuse_fd(fx.srv),
			FUSE_DEV_IOC_BACKING_CLOSE, &id), "close the last device");
	ASSERT_GT(trace_count("dax_writeback_one"), 0, "stores written back");
	write_str(wb, "0");

	ASSERT_OK(dev_pread(FX_DEV0, back, SIZE, ext.dev_off), "read the device");
	ASSERT_MEMEQ(back, data, SIZE, "the stores are on the device");
	ASSERT_TRUE(read_gets_sigbus(map, SIZE), "next access: SIGBUS");
out:
	if (map != MAP_FAILED)
		munmap(map, SIZE);
	if (fd >= 0)
		close(fd);
	fixture_unmount(&fx);
	free(data);
	free(back);
}

#define DMNT	"/tmp/fmap_revoke.mnt"
#define DLOG	"/tmp/fmap_revoke.daemon"

/* The extent of the file @name on /dev/pmem1's file system: its first dev_off. */
static int first_dev_off(void *ctx, __u64 ino, const struct fmap_simple_ext *simple,
			 __u32 nsimple, const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	(void)ino;
	(void)ileave;
	(void)nileave;
	if (nsimple)
		*(__u64 *)ctx = simple[0].dev_off;
	return 0;
}

static bool file_dev_off(const char *name, __u64 *dev_off)
{
	const char *devs[] = { FX_DEV1 };
	struct fs *fs = NULL;
	char msg[256];
	__u64 ino;
	bool ok;

	*dev_off = 0;
	if (!ASSERT_OK(fs_open(devs, 1, 0, &fs, msg, sizeof(msg)), "open read-only"))
		return false;
	ok = ASSERT_OK(ns_lookup(fs_ns(fs), FAMFS_ROOT_INO, name, &ino), name) &&
	     ASSERT_OK(ns_get_layout(fs_ns(fs), ino, first_dev_off, dev_off), "layout") &&
	     ASSERT_GT(*dev_off, 0, "a simple extent");
	fs_close(fs);
	return ok;
}

static void unbind(void)
{
	const struct timespec poll = { .tv_nsec = 50 * 1000 * 1000 };
	unsigned char *data = malloc(SIZE), *dirty = malloc(SIZE), *back = malloc(SIZE);
	unsigned char *map = MAP_FAILED;
	char ns[64], path[128], log[1024] = "", *line;
	long long res0;
	bool bound = true;
	__u64 dev_off = 0;
	pid_t daemon = -1, worker = 0;
	int fd = -1, i, status, lfd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/f", DMNT);
	if (!ASSERT_TRUE(data && dirty && back, "malloc") ||
	    !ASSERT_OK(pmem1_namespace(ns, sizeof(ns)), "find namespace") ||
	    !fixture_famfs_bin())
		goto out;
	fixture_ensure_unmounted(DMNT);
	mkdir(DMNT, 0755);
	/* written by a first mount, so that the daemon's mount maps it through BPF afresh */
	if (!ASSERT_EQ(fixture_famfs(FX_MERGE | FX_LOG_OUT, "mkfs", "-f", FX_DEV1), 0, "mkfs") ||
	    !ASSERT_EQ(fixture_famfs(FX_MERGE | FX_LOG_OUT, "mount", FX_DEV1, DMNT), 0, "mount"))
		goto out;
	fill_pattern(data, SIZE, 57);
	fill_pattern(dirty, SIZE, 58);
	fd = open(path, O_CREAT | O_RDWR, 0644);
	if (!ASSERT_OK_FD(fd, "create") || !fixture_write_fd(fd, data, SIZE, MiB) ||
	    !ASSERT_OK(fsync(fd), "fsync"))
		goto out;
	close(fd);
	fd = -1;
	if (!ASSERT_EQ(fixture_famfs(FX_MERGE | FX_LOG_OUT, "umount", DMNT), 0, "umount"))
		goto out;
	/* in the foreground, its messages into DLOG */
	daemon = fixture_famfs_fg(DLOG, DMNT, 20, NULL, "mount", "-f", FX_DEV1, DMNT);
	if (!ASSERT_GT(daemon, 0, "the daemon runs") || !ASSERT_TRUE(fixture_mounted(DMNT), "mounted"))
		goto out;
	/*
	 * The mount shows before INIT is answered, and the daemon attaches
	 * its resolver only then: a fault before that is an upcall (CI on
	 * the debug kernel saw bpf_resolves stay 0).
	 */
	for (i = 0; i < 200 && fixture_mnt_stat(DMNT, "bpf_attached") != 1; i++)
		nanosleep(&poll, NULL);
	if (!ASSERT_EQ(fixture_mnt_stat(DMNT, "bpf_attached"), 1, "the daemon attached BPF"))
		goto out;
	fd = open(path, O_RDWR);
	if (!ASSERT_OK_FD(fd, "open"))
		goto out;
	res0 = fixture_mnt_stat(DMNT, "bpf_resolves");
	map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!ASSERT_TRUE(map != MAP_FAILED, "mmap") ||
	    !ASSERT_MEMEQ(map, data, SIZE, "mapping before"))
		goto out;
	ASSERT_GT(fixture_mnt_stat(DMNT, "bpf_resolves"), res0, "the BPF resolver answered");
	worker = fixture_spawn(worker_fault, path, SIZE);
	memcpy(map, dirty, SIZE);	/* dirty stores, not msync'ed */
	nanosleep(&(struct timespec){ .tv_nsec = 300 * 1000 * 1000 }, NULL);

	printf("# unbinding %s under the daemon (pid %d)\n", ns, daemon);
	if (!ASSERT_OK(write_str("/sys/bus/nd/drivers/nd_pmem/unbind", ns), "unbind"))
		goto out;
	bound = false;
	ASSERT_TRUE(read_gets_sigbus(map, SIZE), "old mapping: SIGBUS");
	ASSERT_EQ(fixture_wait_exit(worker, 60), WORKER_SIGBUS, "faulting worker: SIGBUS");
	worker = 0;
	errno = 0;
	ASSERT_ERR(pread(fd, back, 4096, 0), "read(2) fails");
	ASSERT_EQ(errno, EIO, "with EIO");
	/*
	 * The daemon: still serving, or gone.  A change needs the log device:
	 * it fails with EIO (not an errno that misleads, as ENODATA did).
	 */
	errno = 0;
	lfd = open(DMNT "/after", O_CREAT | O_WRONLY, 0644);
	printf("# a create after the unbind: %s\n", lfd >= 0 ? "works" : strerror(errno));
	if (!ASSERT_ERR(lfd, "a create fails"))
		close(lfd);
	else if (errno != ENOTCONN && errno != ECONNABORTED)
		ASSERT_EQ(errno, EIO, "with EIO (or the daemon is gone)");
	munmap(map, SIZE);
	map = MAP_FAILED;
	close(fd);
	fd = -1;
	lfd = open(DLOG, O_RDONLY);
	n = lfd >= 0 ? read(lfd, log, sizeof(log) - 1) : -1;
	log[n > 0 ? n : 0] = '\0';
	if (lfd >= 0)
		close(lfd);
	ASSERT_TRUE(strstr(log, "pmem1") != NULL, "the daemon's message names the device");
	for (line = strtok(log, "\n"); line; line = strtok(NULL, "\n"))
		printf("# daemon: %s\n", line);
	if (waitpid(daemon, &status, WNOHANG) == daemon) {
		daemon = -1;
		printf("# the daemon exited (status 0x%x)\n", status);
		ASSERT_TRUE(WIFEXITED(status), "the daemon exited, not killed by a signal");
	} else {
		printf("# the daemon still runs\n");
	}
	ASSERT_EQ(fixture_famfs(FX_MERGE | FX_LOG_OUT, "umount", DMNT), 0, "umount");
	if (daemon > 0) {
		ASSERT_EQ(fixture_wait_exit(daemon, 30), 0, "the daemon exits 0 at umount");
		daemon = -1;
	}
	ASSERT_OK(write_str("/sys/bus/nd/drivers/nd_pmem/bind", ns), "bind");
	bound = true;
	for (i = 0; i < 100 && access(FX_DEV1, F_OK); i++)
		nanosleep(&poll, NULL);
	if (!ASSERT_OK(access(FX_DEV1, R_OK | W_OK), "pmem1 is back"))
		goto out;
	ASSERT_EQ(fixture_famfs(FX_MERGE | FX_LOG_OUT, "fsck", FX_DEV1), 0, "fsck clean");
	if (file_dev_off("f", &dev_off) &&
	    ASSERT_OK(dev_pread(FX_DEV1, back, SIZE, dev_off), "read the device"))
		ASSERT_MEMEQ(back, dirty, SIZE, "the dirty stores are on the device");
out:
	if (worker > 0)
		fixture_wait_exit(worker, 0);
	if (map != MAP_FAILED)
		munmap(map, SIZE);
	if (fd >= 0)
		close(fd);
	fixture_ensure_unmounted(DMNT);
	if (daemon > 0 && fixture_wait_exit(daemon, 10) < 0)
		printf("# the daemon had to be killed\n");
	if (!bound) {
		write_str("/sys/bus/nd/drivers/nd_pmem/bind", ns);
		for (i = 0; i < 100 && access(FX_DEV1, F_OK); i++)
			nanosleep(&poll, NULL);
	}
	free(data);
	free(dirty);
	free(back);
}

void test_fmap_revoke(void)
{
	if (test__start_subtest("backing_close"))
		backing_close();
	if (test__start_subtest("shared_holder"))
		shared_holder();
	if (test__start_subtest("dirty_close"))
		dirty_close();
	if (test__start_subtest("unbind"))
		unbind();
}
