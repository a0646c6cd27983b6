// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of one owner across hosts (fs.h, the superblock's owner
 * record, super.h) on image files: a mount claims the record and a clean
 * close releases it; a mount "of another host" (fs_set_owner_identity())
 * is refused while the record is held, naming the holder; -o takeover
 * waits out a lease and takes over from a dead owner, with its files
 * intact, and is refused while the holder's record keeps changing; a
 * daemon of this boot that died is taken over at once; an owner that was
 * taken over refuses every change and does not release what is no longer
 * its own.  The pure rules (encode, decode, who may mount) are
 * test_super's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "fs/fs.h"
#include "fs/log.h"
#include "fs/super.h"
#include "img.h"

#define MiB (1ULL << 20)
#define ROOT FAMFS_ROOT_INO
#define LEASE_MS 400
#define OWNER_OFF offsetof(struct famfs_superblock, owner)

static const struct ns_cred cred = { .mode = 0755, .uid = 0, .gid = 0 };
static const __u8 boot_a[16] = { 0xa1, 0xa1, 0xa1, 0xa1 };
static const __u8 boot_b[16] = { 0xb2, 0xb2, 0xb2, 0xb2 };

static int setup(void **state)
{
	struct images *im = img_create("owner", 1);

	if (!im)
		return -1;
	fbs_log_set_level(FBS_LOG_ERR);
	img_mkfs(im, 0, 1, 64 * MiB, 0);
	*state = im;
	return 0;
}

static int teardown(void **state)
{
	fs_set_owner_identity(NULL, NULL, 0);
	img_remove(*state);
	return 0;
}

static void as_host(const __u8 *boot, const char *host)
{
	fs_set_owner_identity(boot, host, LEASE_MS);
}

/* The record on the image: famfs_owner_decode()'s verdict, *@o */
static int record(struct images *im, struct famfs_owner *o)
{
	struct famfs_owner_rec rec;
	__u8 uuid[FAMFS_UUID_SIZE];

	img_peek(im->path[0], offsetof(struct famfs_superblock, fs_uuid), uuid, sizeof(uuid));
	img_peek(im->path[0], OWNER_OFF, &rec, sizeof(rec));
	return famfs_owner_decode(&rec, uuid, o);
}

static void write_record(struct images *im, const struct famfs_owner *o)
{
	struct famfs_owner_rec rec;
	__u8 uuid[FAMFS_UUID_SIZE];

	img_peek(im->path[0], offsetof(struct famfs_superblock, fs_uuid), uuid, sizeof(uuid));
	famfs_owner_encode(o, uuid, &rec);
	img_poke(im->path[0], OWNER_OFF, &rec, sizeof(rec));
}

static struct fs *open_fs(struct images *im, unsigned int flags)
{
	struct fs *fs = NULL;
	char msg[512];
	int err = fs_open(im->devs, 1, flags, &fs, msg, sizeof(msg));

	if (err)
		print_error("fs_open: %s\n", msg);
	assert_int_equal(err, 0);
	return fs;
}

static void refused(struct images *im, unsigned int flags, int err, const char *needle)
{
	struct fs *fs = NULL;
	char msg[512] = "";

	assert_int_equal(fs_open(im->devs, 1, flags, &fs, msg, sizeof(msg)), err);
	assert_null(fs);
	if (!strstr(msg, needle))
		fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
}

/* Host A mounts, makes /from-a and dies (no fs_close): its record stays held. */
static void host_a_dies(struct images *im)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (!pid) {
		struct fs *fs = NULL;
		char msg[512];
		__u64 ino;

		as_host(boot_a, "host-a");
		if (fs_open(im->devs, 1, FS_OPEN_OWNER, &fs, msg, sizeof(msg)) ||
		    fs_mkdir(fs, ROOT, "from-a", &cred, &ino))
			_exit(1);
		_exit(0);	/* a crash: nothing released */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* mkfs leaves no record (as before owner records); a mount claims, a close releases */
static void claim_heartbeat_release(void **state)
{
	struct images *im = *state;
	struct famfs_owner o, later;
	struct fs *fs;

	assert_int_equal(record(im, &o), -ENODATA);
	as_host(boot_a, "host-a");
	fs = open_fs(im, FS_OPEN_OWNER);
	assert_int_equal(record(im, &o), 0);
	assert_int_equal(o.state, FAMFS_OWNER_HELD);
	assert_int_equal(o.generation, 1);
	assert_string_equal(o.host, "host-a");
	assert_memory_equal(o.boot_id, boot_a, 16);
	assert_int_equal(o.pid, getpid());
	assert_int_equal(o.lease_ms, LEASE_MS);
	/* the heartbeat: 4 writes a lease */
	usleep(LEASE_MS * 1000);
	assert_int_equal(record(im, &later), 0);
	assert_true(later.seq >= o.seq + 2);
	assert_int_equal(later.generation, 1);
	fs_close(fs);
	assert_int_equal(record(im, &o), 0);
	assert_int_equal(o.state, FAMFS_OWNER_RELEASED);
	assert_int_equal(o.generation, 1);

	/* released: anyone mounts, with the next generation */
	as_host(boot_b, "host-b");
	fs = open_fs(im, FS_OPEN_OWNER);
	assert_int_equal(record(im, &o), 0);
	assert_int_equal(o.generation, 2);
	assert_string_equal(o.host, "host-b");
	fs_close(fs);
	/* a follower reads and writes no record */
	assert_int_equal(record(im, &o), 0);
	as_host(boot_a, "host-a");
	fs = open_fs(im, 0);
	assert_int_equal(record(im, &later), 0);
	assert_memory_equal(&o, &later, sizeof(o));
	fs_close(fs);
}

/* Host A died holding it: B is refused, then takes over and finds A's files. */
static void other_host_refused_then_takeover(void **state)
{
	struct images *im = *state;
	struct famfs_owner o;
	struct fs *fs;
	__u64 a;
	long t0;

	host_a_dies(im);
	as_host(boot_b, "host-b");
	refused(im, FS_OPEN_OWNER, -EUSERS, "in use: owned by host host-a (pid ");
	refused(im, FS_OPEN_OWNER, -EUSERS, "-o takeover if that host is down");
	assert_int_equal(record(im, &o), 0);
	assert_string_equal(o.host, "host-a");	/* a refusal writes nothing */
	assert_int_equal(o.generation, 1);

	t0 = now_ms();
	fs = open_fs(im, FS_OPEN_OWNER | FS_OPEN_TAKEOVER);
	assert_true(now_ms() - t0 >= LEASE_MS);	/* it watched a whole lease */
	assert_int_equal(ns_lookup(fs_ns(fs), ROOT, "from-a", &a), 0);
	assert_int_equal(record(im, &o), 0);
	assert_string_equal(o.host, "host-b");
	assert_int_equal(o.generation, 2);
	fs_close(fs);

	/* a takeover of a released record needs no wait */
	t0 = now_ms();
	fs = open_fs(im, FS_OPEN_OWNER | FS_OPEN_TAKEOVER);
	assert_true(now_ms() - t0 < LEASE_MS);
	fs_close(fs);
}

struct beater {
	struct images *im;
	struct famfs_owner o;
	volatile bool stop;
};

/* A live holder on another host: its record changes every lease / 8. */
static void *beat(void *arg)
{
	struct beater *b = arg;

	while (!b->stop) {
		b->o.seq++;
		b->o.heartbeat = time(NULL);
		write_record(b->im, &b->o);
		usleep(LEASE_MS * 1000 / 8);
	}
	return NULL;
}

static void takeover_refused_while_alive(void **state)
{
	struct images *im = *state;
	struct beater b = { .im = im };
	struct famfs_owner o;
	pthread_t th;

	host_a_dies(im);
	assert_int_equal(record(im, &b.o), 0);
	assert_int_equal(pthread_create(&th, NULL, beat, &b), 0);
	as_host(boot_b, "host-b");
	refused(im, FS_OPEN_OWNER | FS_OPEN_TAKEOVER, -EUSERS,
		"takeover refused: the owner record changed within its lease");
	refused(im, FS_OPEN_OWNER | FS_OPEN_TAKEOVER, -EUSERS, "host host-a (pid ");
	b.stop = true;
	pthread_join(th, NULL);
	assert_int_equal(record(im, &o), 0);
	assert_string_equal(o.host, "host-a");
}

/* A record that does not check out: refused; takeover once it stays still. */
static void damaged_record(void **state)
{
	struct images *im = *state;
	struct famfs_owner o;
	struct fs *fs;
	__u8 x = 0x5a;

	host_a_dies(im);
	img_poke(im->path[0], OWNER_OFF + 100, &x, 1);
	assert_int_equal(record(im, &o), -EBADMSG);
	as_host(boot_b, "host-b");
	refused(im, FS_OPEN_OWNER, -EUSERS, "the owner record does not check out");
	fs = open_fs(im, FS_OPEN_OWNER | FS_OPEN_TAKEOVER);
	assert_int_equal(record(im, &o), 0);
	assert_int_equal(o.generation, 2);	/* past the damaged one's */
	fs_close(fs);
}

/* A daemon of this boot died: its flock is gone, so the record is taken at once. */
static void same_boot_takes_over_at_once(void **state)
{
	struct images *im = *state;
	struct famfs_owner o;
	struct fs *fs;
	__u64 a;

	host_a_dies(im);
	as_host(boot_a, "host-a");
	fs = open_fs(im, FS_OPEN_OWNER);
	assert_int_equal(ns_lookup(fs_ns(fs), ROOT, "from-a", &a), 0);
	assert_int_equal(record(im, &o), 0);
	assert_int_equal(o.generation, 2);
	assert_int_equal(o.pid, getpid());
	/* and the flock still keeps a second owner of this host out */
	refused(im, FS_OPEN_OWNER | FS_OPEN_TAKEOVER, -EBUSY, "another owner");
	fs_close(fs);
}

/*
 * Host A was stopped (not dead) and host B took over meanwhile: A's next
 * change is refused, and for good; its close leaves B's record alone.
 */
static void taken_over_owner_goes_read_only(void **state)
{
	struct images *im = *state;
	struct famfs_owner o, thief;
	struct fs *fs;
	__u64 ino;

	as_host(boot_a, "host-a");
	fs = open_fs(im, FS_OPEN_OWNER);
	assert_int_equal(fs_mkdir(fs, ROOT, "before", &cred, &ino), 0);
	assert_int_equal(record(im, &o), 0);
	thief = o;
	thief.generation++;
	thief.seq++;
	memcpy(thief.boot_id, boot_b, 16);
	memset(thief.owner_id, 0xbb, sizeof(thief.owner_id));
	snprintf(thief.host, sizeof(thief.host), "host-b");
	thief.pid = 4242;
	write_record(im, &thief);

	assert_int_equal(fs_mkdir(fs, ROOT, "after", &cred, &ino), -EROFS);
	if (!strstr(fs_msg(), "lost the file system to host host-b (pid 4242"))
		fail_msg("message \"%s\"", fs_msg());
	assert_int_equal(fs_mkdir(fs, ROOT, "again", &cred, &ino), -EROFS);
	/* the heartbeat does not write over B's record either */
	usleep(LEASE_MS * 1000);
	assert_int_equal(record(im, &o), 0);
	assert_string_equal(o.host, "host-b");
	fs_close(fs);
	assert_int_equal(record(im, &o), 0);
	assert_int_equal(o.state, FAMFS_OWNER_HELD);
	assert_string_equal(o.host, "host-b");
	assert_int_equal(o.generation, thief.generation);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(claim_heartbeat_release, setup, teardown),
		cmocka_unit_test_setup_teardown(other_host_refused_then_takeover, setup, teardown),
		cmocka_unit_test_setup_teardown(takeover_refused_while_alive, setup, teardown),
		cmocka_unit_test_setup_teardown(damaged_record, setup, teardown),
		cmocka_unit_test_setup_teardown(same_boot_takes_over_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(taken_over_owner_goes_read_only, setup, teardown),
	};

	return cmocka_run_group_tests_name("owner", tests, NULL, NULL);
}
