// SPDX-License-Identifier: GPL-2.0
/*
 * Server death: SIGKILL the server while other processes read and fault
 * its files.  They get errors (EIO/ENOTCONN from read(2), SIGBUS from a
 * fault), nobody hangs (the runner's timeout would fail the test), and the
 * mount can be detached while a file is still open and mapped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

#define SIZE (32 * MiB)

/* In the server's own process (fixture_serve_in_child), so that it can be killed */
static const char *serve(void)
{
	static struct fixture fx;
	struct fmap_simple_ext ext = { .len = SIZE, .dev = 0, .dev_off = 480 * MiB };
	struct fbs_layout l;

	if (fixture_mount(&fx, NULL))
		return NULL;
	layout_simple(&l, 1, &ext);
	if (fbs_server_add_file(fx.srv, "f", SIZE, &l))
		return NULL;
	return fx.mnt;
}

void test_fmap_abort(void)
{
	char mnt[64] = "", path[128];
	pid_t srv, rd, ft;
	void *map = MAP_FAILED;
	struct stat st;
	int fd = -1;

	srv = fixture_serve_in_child(serve, mnt, sizeof(mnt));
	if (!ASSERT_GT(srv, 0, "server up"))
		return;
	snprintf(path, sizeof(path), "%s/f", mnt);
	fd = open(path, O_RDONLY);
	if (ASSERT_OK_FD(fd, "open")) {
		map = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
		ASSERT_TRUE(map != MAP_FAILED, "mmap");
	}
	rd = fixture_spawn(worker_read, path, SIZE);
	ft = fixture_spawn(worker_fault, path, SIZE);
	sleep(2);	/* let them get going */
	printf("# killing the server %d (reader %d, faulter %d)\n", srv, rd, ft);

	ASSERT_OK(kill(srv, SIGKILL), "kill server");
	ASSERT_EQ(fixture_wait_exit(srv, 10), 128 + SIGKILL, "server died");
	ASSERT_EQ(fixture_wait_exit(rd, 60), WORKER_READ_ERROR, "reader got an error");
	ASSERT_EQ(fixture_wait_exit(ft, 60), WORKER_SIGBUS, "faulter got SIGBUS");
	printf("# workers done\n");

	/* a name never looked up: no cached attributes can answer */
	snprintf(path, sizeof(path), "%s/never-looked-up", mnt);
	errno = 0;
	ASSERT_ERR(stat(path, &st), "stat after the server died fails");
	ASSERT_EQ(errno, ENOTCONN, "with ENOTCONN");
	/* a file is still open and mapped here: detach anyway */
	ASSERT_OK(umount2(mnt, MNT_DETACH), "unmount with the file open");
	printf("# unmounted\n");
	if (map != MAP_FAILED)
		munmap(map, SIZE);
	if (fd >= 0)
		close(fd);
	rmdir(mnt);
}
