// SPDX-License-Identifier: GPL-2.0
/*
 * A registered device that goes takes its user mappings with it:
 *  - backing_close: FUSE_DEV_IOC_BACKING_CLOSE of a device that a process
 *    maps (page tables filled) succeeds; the next access through the old
 *    mapping, and a process faulting the file in a loop, get SIGBUS;
 *    read(2) gets EIO; unmount works;
 *  - unbind: unbinding the pmem namespace under a process that maps a file
 *    on it does the same (the kernel tells FUSE, the device's DAX holder,
 *    before the memory goes); the namespace is bound again afterwards;
 *  - shared_holder: two mounts register the same devices at the same time
 *    (FUSE holds the DAX device for both);
 *  - dirty_close: BACKING_CLOSE of the last registered device while a
 *    process has stores in a shared mapping: the revocation writes them
 *    back to the device (fs_dax:dax_writeback_one fires; the raw device
 *    shows them) before it drops the DAX entries, and the process gets
 *    SIGBUS on its next access.
 * Refusing a DAX device that another file system holds (EBUSY) needs one
 * that registers as a holder (XFS), which the test kernel does not build.
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
#include <time.h>
#include <unistd.h>
#include <linux/fuse.h>

#include "fixture.h"
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

static void unbind(void)
{
	const struct timespec poll = { .tv_nsec = 50 * 1000 * 1000 };
	struct mapped m = { 0 };
	char ns[64];
	int i;

	if (!ASSERT_OK(pmem1_namespace(ns, sizeof(ns)), "find namespace"))
		return;
	printf("# unbinding %s\n", ns);
	if (!map_file(&m, 1, FX_DEV1))
		goto out;
	if (!ASSERT_OK(write_str("/sys/bus/nd/drivers/nd_pmem/unbind", ns),
		       "unbind"))
		goto out;
	check_revoked(&m);
out:
	unmap_file(&m);
	/* The tests after this one use pmem1 again */
	ASSERT_OK(write_str("/sys/bus/nd/drivers/nd_pmem/bind", ns), "bind");
	for (i = 0; i < 100 && access(FX_DEV1, F_OK); i++)
		nanosleep(&poll, NULL);
	ASSERT_OK(access(FX_DEV1, R_OK | W_OK), "pmem1 is back");
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

void test_fmap_revoke(void)
{
	if (test__start_subtest("backing_close"))
		backing_close();
	if (test__start_subtest("unbind"))
		unbind();
	if (test__start_subtest("shared_holder"))
		shared_holder();
	if (test__start_subtest("dirty_close"))
		dirty_close();
}
