// SPDX-License-Identifier: GPL-2.0
/*
 * A signal that arrives while a page fault waits for the server's mapping
 * (FUSE_FMAP upcall) is delivered, and the access then completes: the
 * faulting task sees its handler run and the right byte, never SIGBUS.
 *  - interrupted_upcall (on the vehicle only: it needs a server that holds
 *    a request and answers it EINTR, which the daemon never does): the
 *    server's hook sends the faulting child SIGUSR1 while it holds the
 *    request, waits for the kernel to pass the interrupt on, and answers
 *    the request with EINTR, as a server that honours FUSE_INTERRUPT does.
 *    The fault is retried and asks again; the second answer is the mapping.
 *  - signals_during_alloc: on the daemon (BPF resolver), a child's
 *    stores into the holes of a mapped file are write faults that wait
 *    for the daemon to allocate (the FUSE_FMAP upcall; the daemon zeroes
 *    each 2 MiB unit first) while the parent sends it SIGUSR1 every
 *    200 us: the handler runs, every store lands, no SIGBUS, and the
 *    faults did go to the daemon (upcalls).
 * Cost: about 1 s for interrupted_upcall; signals_during_alloc about
 * 3 s on the test kernel, 33 s on the debug kernel (a quarter of the
 * faults there; measured with another guest on the machine).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

#define SIZE	(2 * MiB)
#define SEED	41

enum {
	CHILD_OK = 0,
	CHILD_NO_HANDLER = 1,
	CHILD_WRONG_DATA = 2,
};

static volatile pid_t faulter;
static volatile int interrupts;
static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled = 1;
}

/* The child: one read fault on a cold file */
static void fault_once(const char *path, __u64 size)
{
	const struct timespec publish = { .tv_nsec = 300 * 1000 * 1000 };
	struct sigaction sa = { .sa_handler = on_usr1 };
	unsigned char want[64];
	volatile unsigned char *map;
	unsigned char got[64];
	int fd, i;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		_exit(WORKER_SETUP);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		_exit(WORKER_SETUP);
	/* One page: a PMD fault would fall back to a PTE fault on error */
	(void)size;
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		_exit(WORKER_SETUP);
	fill_pattern(want, sizeof(want), SEED);
	/* The parent publishes our pid to the hook after fork() returns */
	nanosleep(&publish, NULL);
	for (i = 0; i < (int)sizeof(got); i++)
		got[i] = map[i];
	if (!handled)
		_exit(CHILD_NO_HANDLER);
	_exit(memcmp(got, want, sizeof(got)) ? CHILD_WRONG_DATA : CHILD_OK);
}

static void interrupt_hook(struct fbs_server *srv, __u64 nodeid,
			   const struct fuse_fmap_in *in,
			   struct fuse_fmap_reply *reply, size_t *len,
			   int *err, void *data)
{
	const struct timespec settle = { .tv_nsec = 200 * 1000 * 1000 };

	(void)srv; (void)nodeid; (void)reply; (void)len; (void)data;
	if (!(in->op_flags & FUSE_FMAP_OP_FAULT) || interrupts || !faulter)
		return;
	interrupts++;
	kill(faulter, SIGUSR1);
	/* Let the kernel see the signal while the request is ours */
	nanosleep(&settle, NULL);
	*err = -EINTR;
}

static void interrupted_upcall(void)
{
	struct fmap_simple_ext ext = { .len = SIZE, .dev = 0, .dev_off = 220 * MiB };
	unsigned char *data = malloc(SIZE);
	struct fixture fx = { 0 };
	struct fbs_layout l;
	char path[128];
	pid_t pid;
	int code;

	if (!ASSERT_TRUE(data != NULL, "malloc"))
		goto out;
	fill_pattern(data, SIZE, SEED);
	if (!ASSERT_OK(dev_pwrite(FX_DEV0, data, SIZE, ext.dev_off), "seed dev0") ||
	    !ASSERT_OK(fixture_mount(&fx, NULL), "mount"))
		goto out;
	layout_simple(&l, 1, &ext);
	if (!ASSERT_OK(fbs_server_add_file(fx.srv, "slow", SIZE, &l), "add"))
		goto out;
	fixture_path(&fx, "slow", path, sizeof(path));

	interrupts = 0;
	faulter = 0;
	fbs_server_set_fmap_hook(fx.srv, interrupt_hook, NULL);
	pid = fixture_spawn(fault_once, path, SIZE);
	if (!ASSERT_GT(pid, 0, "fork"))
		goto out;
	faulter = pid;
	code = fixture_wait_exit(pid, 60);
	fbs_server_set_fmap_hook(fx.srv, NULL, NULL);

	ASSERT_EQ(interrupts, 1, "the fault's request was interrupted");
	ASSERT_NEQ(code, 128 + SIGBUS, "no SIGBUS");
	ASSERT_EQ(code, CHILD_OK, "handler ran, then the right bytes");
out:
	fixture_unmount(&fx);
	free(data);
}

#define UNIT	(2 * MiB)

/* The child: a store into the first page of each of @size / UNIT holes */
static void store_into_holes(const char *path, __u64 size)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	volatile unsigned char *map;
	unsigned char want[64];
	__u64 off;
	int fd;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		_exit(WORKER_SETUP);
	fd = open(path, O_RDWR);
	if (fd < 0)
		_exit(WORKER_SETUP);
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		_exit(WORKER_SETUP);
	for (off = 0; off < size; off += UNIT) {
		fill_pattern(want, sizeof(want), SEED + off / UNIT);
		memcpy((void *)(map + off), want, sizeof(want));
		if (memcmp((const void *)(map + off), want, sizeof(want)))
			_exit(CHILD_WRONG_DATA);
	}
	_exit(handled ? CHILD_OK : CHILD_NO_HANDLER);
}

static void signals_during_alloc(void)
{
	const struct fixture_opts opts = { .daemon = true };
	struct sigaction sa = { .sa_handler = on_usr1 }, old;
	/* a unit a fault: the debug kernel does a quarter of them */
	const __u64 size = (fixture_debug_kernel() ? 8 : 32) * UNIT;
	unsigned char want[64], got[64];
	struct fixture fx = { 0 };
	int fd = -1, status, code = -1;
	long long upcalls;
	unsigned long sent = 0;
	char path[128];
	__u64 off;
	pid_t pid;

	if (!ASSERT_OK(fixture_mount(&fx, &opts), "mount"))
		goto out;
	fd = open(fixture_path(&fx, "holes", path, sizeof(path)), O_RDWR | O_CREAT | O_EXCL, 0644);
	if (!ASSERT_OK_FD(fd, "create") || !ASSERT_OK(ftruncate(fd, size), "a file of holes"))
		goto out;
	upcalls = fixture_stat(&fx, "upcalls");
	handled = 0;
	/* the child has the handler from its first instruction: no default kill */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, &old);
	pid = fixture_spawn(store_into_holes, path, size);
	sigaction(SIGUSR1, &old, NULL);
	if (!ASSERT_GT(pid, 0, "fork"))
		goto out;
	/* until it exits, at most 60 s */
	for (; sent < 300000; sent++) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			break;
		}
		kill(pid, SIGUSR1);
		usleep(200);
	}
	if (code < 0)
		code = fixture_wait_exit(pid, 0);
	printf("# %lu signals sent\n", sent);
	ASSERT_NEQ(code, 128 + SIGBUS, "no SIGBUS");
	ASSERT_EQ(code, CHILD_OK, "handler ran, every store landed");
	ASSERT_GE(fixture_stat(&fx, "upcalls") - upcalls, (long long)(size / UNIT),
		  "each store's fault went to the daemon");
	for (off = 0; off < size; off += UNIT) {
		fill_pattern(want, sizeof(want), SEED + off / UNIT);
		if (!ASSERT_EQ(pread(fd, got, sizeof(got), off), sizeof(got), "read") ||
		    !ASSERT_MEMEQ(got, want, sizeof(got), "the store, through read(2)"))
			break;
	}
out:
	if (fd >= 0)
		close(fd);
	fixture_unmount(&fx);
}

void test_fmap_signal(void)
{
	if (test__start_subtest("interrupted_upcall"))
		interrupted_upcall();
	if (fixture_famfs_bin() && test__start_subtest("signals_during_alloc"))
		signals_during_alloc();
}
