// SPDX-License-Identifier: GPL-2.0
/*
 * A signal that arrives while a page fault waits for the server's mapping
 * (FUSE_FMAP upcall) is delivered, and the access then completes: the
 * faulting task sees its handler run and the right byte, never SIGBUS.
 *
 * The server's hook sends the faulting child SIGUSR1 while it holds the
 * request, waits for the kernel to pass the interrupt on, and answers the
 * request with EINTR, as a server that honours FUSE_INTERRUPT does.  The
 * fault is retried and asks again; the second answer is the mapping.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <fcntl.h>
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

void test_fmap_signal(void)
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
