// SPDX-License-Identifier: GPL-2.0
/*
 * A read-only follower on the same host as the owner: famfs-bpf mount on
 * /dev/pmem2 at OWN, famfs-bpf mount -o ro of the same device at RO,
 * driven through the famfs-bpf binary.  (selftests/twohost.sh does the
 * same across two guests that share one NVDIMM.)
 *  - follow: the follower sees what the owner wrote when it mounted, not
 *    what came after until famfs-bpf logplay, then new files, appends,
 *    renames and removals, by read(2) and mmap; logplay again plays 0;
 *    a hard link the owner makes shows (nlink 2), and stays readable by
 *    it once the owner unlinked the first name;
 *    logplay of the owner (exit 50) and of a non-famfs directory (40);
 *    the follower mounts with the BPF resolver (the default) attached, and
 *    it resolves the follower's reads, of what it found at mount and of
 *    what logplay brought (bpf_resolves grows each time);
 *  - erofs: create, open for writing, O_TRUNC, mkdir, unlink, rename, link,
 *    setxattr, chmod on the follower fail with EROFS;
 *  - open_across_unlink: a file open on the follower fails its reads (EIO)
 *    once the owner removed it and the follower played that: the owner
 *    frees its space and may give it to the next file at once;
 *  - read_while_writing: for RW_SECS the owner replaces files (writes a
 *    new name, closes it, renames it over the old one), deletes them and
 *    churns a scratch file, so freed space is reused at once.  The follower
 *    meanwhile runs logplay in a loop, while the owner writes, and after
 *    each one keeps the owner still for a second logplay and a look: every
 *    file reads (read(2)) wholly one version the owner wrote to that name,
 *    with that version's size (no torn read, no other file's bytes, no
 *    zeroes); files it keeps open and mapped across later logplays read
 *    their old bytes or fail (EIO, SIGBUS), never another file's; logplay
 *    never fails, nothing is EUCLEAN.  Looks at held files while the owner
 *    goes on see no other file's bytes either: before the follower plays
 *    a delete it still maps the deleted file's space, which cools for
 *    10 s in the owner before another file gets it (before the owner let
 *    freed space cool, 1 or 2 such looks a run saw another file's bytes).
 *    Cost on the test kernel (TCG): about 30 s.
 * Every path ends unmounted.  Only the follower maps files (check_file()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "fixture.h"
#include "test_progs.h"
#include "xorshift.h"

#define DEV	"/dev/pmem2"
#define OWN	"/tmp/fs_follower.own"
#define RO	"/tmp/fs_follower.ro"
#define LEN	(3 * MiB + 77)

/*
 * "famfs-bpf ARGS...": stdout and stderr both land in fixture_out, as
 * written, and go to the log.
 */
#define famfs(...) fixture_famfs(FX_MERGE | FX_LOG_OUT, __VA_ARGS__)

static void ensure_unmounted(void)
{
	fixture_ensure_unmounted(RO);
	fixture_ensure_unmounted(OWN);
}

static const char *at(const char *mnt, const char *name)
{
	return fixture_join(mnt, name);
}

static bool write_file(const char *p, const void *data, size_t len, int flags)
{
	int fd = open(p, O_CREAT | O_WRONLY | flags, 0644);
	bool ok;

	if (!ASSERT_OK_FD(fd, p))
		return false;
	ok = ASSERT_EQ(write(fd, data, len), (ssize_t)len, "write");
	close(fd);
	return ok;
}

/*
 * read(2) and mmap of @p give @data, stat gives @len.  Only the follower's
 * files are mapped: on one host a DAX page joins one file's mapping at a
 * time (the owner's and the follower's are two; fs/dax.c warns, seen).
 */
static void check_file(const char *p, const void *data, size_t len)
{
	if (strncmp(p, RO "/", strlen(RO "/")))
		fixture_check_read(p, data, len, true);
	else
		fixture_check_file(p, data, len, true);
}

/* "MNT: applied N log entries": N, or -1 */
static long applied(void)
{
	const char *p = strstr(fixture_out, "applied ");

	return p ? strtol(p + 8, NULL, 10) : -1;
}

static long nlink_of(const char *p)
{
	struct stat st;

	return stat(p, &st) ? -1 : (long)st.st_nlink;
}

/* RO's bpf_resolves; -1 if not there */
static long long ro_bpf(void)
{
	return fixture_mnt_stat(RO, "bpf_resolves");
}

static bool setup(void)
{
	ensure_unmounted();
	mkdir(OWN, 0755);
	mkdir(RO, 0755);
	return fixture_mkfs_mount(DEV, OWN, NULL);
}

static void test_follow(char *a, char *b)
{
	char *ab = malloc(2 * LEN);
	long long bpf;

	if (!ASSERT_TRUE(ab != NULL, "malloc") || !setup())
		goto out;
	if (!write_file(at(OWN, "a"), a, LEN, 0) ||
	    !ASSERT_OK(mkdir(at(OWN, "d"), 0755), "mkdir") ||
	    !write_file(at(OWN, "d/gone"), "x", 1, 0))
		goto out;
	if (!ASSERT_EQ(famfs("mount", "-o", "ro", DEV, RO), 0, "mount -o ro"))
		goto out;
	ASSERT_EQ(fixture_mnt_stat(RO, "bpf_attached"), 1, "the follower's BPF resolver attached");
	bpf = ro_bpf();
	check_file(at(RO, "a"), a, LEN);
	ASSERT_GT(ro_bpf(), bpf, "BPF resolved the follower's reads");
	ASSERT_EQ(famfs("logplay", RO), 0, "logplay, nothing new");
	ASSERT_EQ(applied(), 0, "applied 0");

	/* the owner goes on: the follower sees nothing of it yet */
	if (!write_file(at(OWN, "b"), b, LEN, 0) ||
	    !write_file(at(OWN, "a"), b, LEN, O_APPEND) ||
	    !ASSERT_OK(rename(at(OWN, "d"), at(OWN, "e")), "rename") ||
	    !ASSERT_OK(unlink(at(OWN, "e/gone")), "unlink"))
		goto out;
	ASSERT_EQ(access(at(RO, "b"), F_OK), -1, "b not yet");
	check_file(at(RO, "a"), a, LEN);

	ASSERT_EQ(famfs("logplay", RO), 0, "logplay");
	ASSERT_GT(applied(), 0, "applied entries");
	memcpy(ab, a, LEN);
	memcpy(ab + LEN, b, LEN);
	bpf = ro_bpf();
	check_file(at(RO, "a"), ab, 2 * LEN);
	check_file(at(RO, "b"), b, LEN);
	/* logplay put the new extents in the follower's maps too */
	ASSERT_GT(ro_bpf(), bpf, "BPF resolved what logplay brought");
	ASSERT_EQ(access(at(RO, "d"), F_OK), -1, "renamed away");
	ASSERT_OK(access(at(RO, "e"), F_OK), "renamed to");
	ASSERT_EQ(access(at(RO, "e/gone"), F_OK), -1, "removed");
	ASSERT_EQ(famfs("logplay", RO), 0, "logplay again");
	ASSERT_EQ(applied(), 0, "nothing new");

	/* a second name, then the first one goes */
	if (!ASSERT_OK(link(at(OWN, "b"), at(OWN, "e/b2")), "link"))
		goto out;
	ASSERT_EQ(access(at(RO, "e/b2"), F_OK), -1, "link not yet");
	ASSERT_EQ(famfs("logplay", RO), 0, "logplay the link");
	/* and a SETATTR: the kernel keeps a mapped file's ctime and writes it back */
	ASSERT_GE(applied(), 1, "the LINK applied");
	ASSERT_EQ(nlink_of(at(RO, "b")), 2, "nlink 2 on the follower");
	check_file(at(RO, "e/b2"), b, LEN);
	ASSERT_OK(unlink(at(OWN, "b")), "unlink one name");
	ASSERT_EQ(famfs("logplay", RO), 0, "logplay the unlink");
	ASSERT_EQ(access(at(RO, "b"), F_OK), -1, "b gone on the follower");
	ASSERT_EQ(nlink_of(at(RO, "e/b2")), 1, "nlink 1 on the follower");
	check_file(at(RO, "e/b2"), b, LEN);

	ASSERT_EQ(famfs("logplay", OWN), CLI_EXIT_LOGPLAY_OWNER, "logplay of the owner");
	ASSERT_TRUE(strstr(fixture_out, "is the owner") != NULL, "says so");
	ASSERT_EQ(famfs("logplay", "/tmp"), CLI_EXIT_NOT_FAMFS, "logplay of /tmp");
out:
	free(ab);
	ensure_unmounted();
}

static void expect_erofs(int ret, const char *what)
{
	if (ASSERT_EQ(ret, -1, what))
		ASSERT_EQ(errno, EROFS, what);
}

static void test_erofs(char *a)
{
	if (!setup() || !write_file(at(OWN, "a"), a, LEN, 0) ||
	    !ASSERT_EQ(famfs("mount", "-o", "ro", DEV, RO), 0, "mount -o ro"))
		goto out;
	expect_erofs(open(at(RO, "new"), O_CREAT | O_WRONLY, 0644), "create");
	expect_erofs(open(at(RO, "a"), O_WRONLY), "open for writing");
	expect_erofs(open(at(RO, "a"), O_RDONLY | O_TRUNC), "O_TRUNC");
	expect_erofs(truncate(at(RO, "a"), 0), "truncate");
	expect_erofs(mkdir(at(RO, "dir"), 0755), "mkdir");
	expect_erofs(unlink(at(RO, "a")), "unlink");
	expect_erofs(rename(at(RO, "a"), at(RO, "b")), "rename");
	expect_erofs(link(at(RO, "a"), at(RO, "b")), "link");
	expect_erofs(chmod(at(RO, "a"), 0600), "chmod");
	expect_erofs(symlink("a", at(RO, "l")), "symlink");
	expect_erofs(setxattr(at(RO, "a"), "user.famfs.stripe", "1 2097152", 9, 0), "setxattr");
	check_file(at(RO, "a"), a, LEN);
	check_file(at(OWN, "a"), a, LEN);
out:
	ensure_unmounted();
}

static void test_open_across_unlink(char *a)
{
	char *buf = malloc(LEN);
	int fd = -1;

	if (!ASSERT_TRUE(buf != NULL, "malloc") || !setup() ||
	    !write_file(at(OWN, "a"), a, LEN, 0) ||
	    !ASSERT_EQ(famfs("mount", "-o", "ro", DEV, RO), 0, "mount -o ro"))
		goto out;
	fd = open(at(RO, "a"), O_RDONLY);
	if (!ASSERT_OK_FD(fd, "open on the follower"))
		goto out;
	if (!ASSERT_OK(unlink(at(OWN, "a")), "unlink on the owner"))
		goto out;
	ASSERT_EQ(famfs("logplay", RO), 0, "logplay");
	ASSERT_EQ(applied(), 1, "one entry");
	ASSERT_EQ(access(at(RO, "a"), F_OK), -1, "the name is gone");
	/* the owner may give its space to another file: it fails, never shows that */
	if (ASSERT_EQ(pread(fd, buf, LEN, 0), -1, "read the open file"))
		ASSERT_EQ(errno, EIO, "EIO");
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	ensure_unmounted();
}

/*
 * read_while_writing.  Version @gen of name f<slot> is RW_MAX bytes at most,
 * 8-byte words naming the slot, the version and the word's index; versions
 * are numbered across slots, so each belongs to one slot.
 */
#define RW_SLOTS	6
#define RW_SECS		20
#define RW_MAX		(3 * MiB)
#define RW_GENS		(1 << 16)
#define RW_HELD		3
/* what a run must have done to prove anything (asserted) */
#define RW_MIN_PLAYS		5
#define RW_MIN_HELD_READS	5
#define RW_MIN_REPLACED		10

struct rw {
	volatile bool stop;
	__u64 rng;
	__u32 gen;			/* the last version begun */
	volatile int slot_of[RW_GENS];	/* version -> slot, -1 not yet */
	volatile __u64 size_of[RW_GENS];
	unsigned int replaced, deleted, churned, errors;
	/* held by the owner for each change, by the follower to look without one */
	pthread_mutex_t lock;
};

static unsigned int rw_replaced(struct rw *rw)
{
	unsigned int n;

	pthread_mutex_lock(&rw->lock);
	n = rw->replaced;
	pthread_mutex_unlock(&rw->lock);
	return n;
}


static bool rw_quiet;	/* rw_check() says nothing: a look that may see the owner's reuse */

static __u64 rw_word(int slot, __u32 gen, __u64 k)
{
	return 0x8000000000000000ULL | (__u64)slot << 48 | (__u64)gen << 24 | (k & 0xffffff);
}

static bool rw_write(const char *p, int slot, __u32 gen, __u64 size)
{
	size_t piece = 256 * 1024, n;
	__u64 *buf = malloc(piece), off, k;
	bool ok = buf != NULL;
	int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644);

	if (fd < 0)
		ok = false;
	for (off = 0; ok && off < size; off += n) {
		n = size - off < piece ? size - off : piece;
		for (k = 0; k < piece / 8; k++)
			buf[k] = slot < 0 ? ~0ULL : rw_word(slot, gen, off / 8 + k);
		ok = pwrite(fd, buf, n, off) == (ssize_t)n;
	}
	if (!ok)
		printf("# owner: FAIL writing %s: %s\n", p, strerror(errno));
	if (fd >= 0 && close(fd))
		ok = false;
	free(buf);
	return ok;
}

static void *rw_owner(void *arg)
{
	struct rw *rw = arg;
	char tmp[PATH_MAX], name[PATH_MAX];

	while (!rw->stop && rw->gen + 1 < RW_GENS && rw->errors < 3) {
		int slot = xorshift64(&rw->rng) % RW_SLOTS, r = xorshift64(&rw->rng) % 10;
		__u64 size = (4096 + xorshift64(&rw->rng) % (RW_MAX - 4096)) & ~7ULL;
		__u32 gen;

		pthread_mutex_lock(&rw->lock);
		snprintf(name, sizeof(name), OWN "/f%d", slot);
		if (r < 7) {
			gen = ++rw->gen;
			rw->size_of[gen] = size;
			rw->slot_of[gen] = slot;
			snprintf(tmp, sizeof(tmp), OWN "/t%d", slot);
			if (!rw_write(tmp, slot, gen, size) || rename(tmp, name))
				rw->errors++;
			else
				rw->replaced++;
		} else if (r < 9) {
			if (unlink(name) == 0)
				rw->deleted++;
			else if (errno != ENOENT)
				rw->errors++;
		} else {
			/* space no name of the test's has: all ones, and gone again */
			snprintf(tmp, sizeof(tmp), OWN "/scratch");
			if (!rw_write(tmp, -1, 0, size) || unlink(tmp))
				rw->errors++;
			rw->churned++;
		}
		pthread_mutex_unlock(&rw->lock);
	}
	return NULL;
}

/*
 * @len bytes at @buf (from file offset 0) are wholly one version of
 * @slot, of that version's size; *gen (0: any, then set) pins the version.
 */
static bool rw_check(struct rw *rw, const __u64 *buf, size_t len, int slot, __u32 *gen,
		     const char *what)
{
	__u64 k, n = len / 8, w0 = n ? buf[0] : 0;
	__u32 g = w0 >> 24 & 0xffffff;

	if (!n)
		return true;
	if (!(w0 >> 63) || (int)(w0 >> 48 & 0x7fff) != slot || g >= RW_GENS ||
	    rw->slot_of[g] != slot || (*gen && g != *gen)) {
		if (!rw_quiet)
			printf("# FAIL %s: f%d: first word 0x%016llx (slot %llu, version %u, want %u)\n",
		       what, slot, (unsigned long long)w0, (unsigned long long)(w0 >> 48 & 0x7fff),
		       g, *gen);
		return false;
	}
	*gen = g;
	if (len != rw->size_of[g]) {
		if (!rw_quiet)
			printf("# FAIL %s: f%d version %u: size %zu, written %llu\n", what, slot, g, len,
		       (unsigned long long)rw->size_of[g]);
		return false;
	}
	for (k = 0; k < n; k++) {
		if (buf[k] != rw_word(slot, g, k)) {
			if (!rw_quiet)
				printf("# FAIL %s: f%d version %u: word %llu of %llu is 0x%016llx (slot %llu, version %llu)\n",
			       what, slot, g, (unsigned long long)k, (unsigned long long)n,
			       (unsigned long long)buf[k], (unsigned long long)(buf[k] >> 48 & 0x7fff),
			       (unsigned long long)(buf[k] >> 24 & 0xffffff));
			return false;
		}
	}
	return true;
}

struct held {
	int fd, slot, left;	/* fd < 0: free; left: logplays to live */
	__u32 gen;
	size_t len;
	void *map;
};

static sigjmp_buf rw_jmp;

static void rw_sigbus(int sig)
{
	(void)sig;
	siglongjmp(rw_jmp, 1);
}

/* A held mapping against its version: true if it matched or faulted */
static bool rw_check_map(struct rw *rw, struct held *h, unsigned int *sigbus)
{
	static __u64 *copy;
	static size_t cap;

	if (cap < h->len) {
		free(copy);
		copy = malloc(h->len);
		cap = copy ? h->len : 0;
		if (!copy)
			return false;
	}
	if (sigsetjmp(rw_jmp, 1)) {
		(*sigbus)++;
		return true;
	}
	memcpy(copy, h->map, h->len);
	return rw_check(rw, copy, h->len, h->slot, &h->gen, "a mapping held across logplay");
}

struct rw_counts {
	unsigned int held_reads, held_errs, sigbus, stale, bad;
};

/*
 * The files held open (and mapped): after a logplay with the owner
 * stopped (@strict), each reads its old bytes or fails, and never
 * EUCLEAN; while the owner goes on, a look counts (c->stale) what shows
 * another file's bytes, which must be nothing: the follower has perhaps
 * not played a delete yet, but the owner lets freed space cool first.
 */
static void rw_held_pass(struct rw *rw, struct held *held, __u64 *buf, bool strict,
			 struct rw_counts *c)
{
	int i;

	rw_quiet = !strict;
	for (i = 0; i < RW_HELD; i++) {
		struct held *h = &held[i];
		bool ok = true;
		ssize_t r;

		if (h->fd < 0)
			continue;
		r = pread(h->fd, buf, h->len, 0);
		if (r < 0) {
			c->held_errs++;
			if (!ASSERT_NEQ(errno, EUCLEAN, "a held file's read: not EUCLEAN"))
				c->bad++;
		} else {
			ok = r == (ssize_t)h->len &&
			     rw_check(rw, buf, r, h->slot, &h->gen, "a file held across logplay");
		}
		c->held_reads++;
		if (ok && h->map)
			ok = rw_check_map(rw, h, &c->sigbus);
		if (!strict) {
			c->stale += !ok;
			continue;
		}
		if (!ASSERT_TRUE(ok, "a held file reads its own bytes or fails"))
			c->bad++;
		if (--h->left == 0) {
			if (h->map)
				munmap(h->map, h->len);
			close(h->fd);
			h->fd = -1;
		}
	}
	rw_quiet = false;
}

static void test_read_while_writing(void)
{
	struct sigaction sa = { .sa_handler = rw_sigbus }, old_sa;
	struct held held[RW_HELD];
	unsigned int plays = 0, reads = 0;
	struct rw_counts c = { 0 };
	int secs = fixture_debug_kernel() ? RW_SECS / 3 : RW_SECS, i;
	__u64 *buf = malloc(RW_MAX + 8);
	struct rw *rw = calloc(1, sizeof(*rw));
	bool started = false;
	pthread_t owner;
	time_t end;

	for (i = 0; i < RW_HELD; i++)
		held[i].fd = -1;
	sigaction(SIGBUS, &sa, &old_sa);
	if (!ASSERT_TRUE(buf && rw, "malloc") || !setup() ||
	    !ASSERT_EQ(famfs("mount", "-o", "ro", DEV, RO), 0, "mount -o ro"))
		goto out;
	for (i = 0; i < RW_GENS; i++)
		rw->slot_of[i] = -1;
	rw->rng = 0x5EED0F0110E7ULL;
	pthread_mutex_init(&rw->lock, NULL);
	started = !pthread_create(&owner, NULL, rw_owner, rw);
	if (!ASSERT_TRUE(started, "the owner's thread"))
		goto out;
	end = time(NULL) + secs;
	/*
	 * RW_SECS, and then on until the counts asserted below are there (a
	 * slow host, a debug kernel), up to four times as long.
	 */
	while (c.bad < 3 && time(NULL) < end + 3 * secs &&
	       (time(NULL) < end || plays <= RW_MIN_PLAYS || c.held_reads <= RW_MIN_HELD_READS ||
		rw_replaced(rw) <= RW_MIN_REPLACED)) {
		/* logplay while the owner appends, then a look at what is held */
		int ret = fixture_famfs(FX_MERGE, "logplay", RO);

		plays++;
		if (!ASSERT_EQ(ret, 0, "logplay while the owner writes")) {
			printf("#   %s", fixture_out);
			c.bad++;
		}
		rw_held_pass(rw, held, buf, false, &c);
		/* the owner between two changes: what the follower shows now is exact */
		pthread_mutex_lock(&rw->lock);
		ret = fixture_famfs(FX_MERGE, "logplay", RO);
		plays++;
		if (!ASSERT_EQ(ret, 0, "logplay")) {
			printf("#   %s", fixture_out);
			c.bad++;
		}
		rw_held_pass(rw, held, buf, true, &c);
		for (i = 0; i < RW_SLOTS; i++) {
			char p[PATH_MAX];
			struct stat st;
			__u32 gen = 0;
			ssize_t r;
			int fd, k;

			snprintf(p, sizeof(p), RO "/f%d", i);
			fd = open(p, O_RDONLY);
			if (fd < 0) {
				if (!ASSERT_EQ(errno, ENOENT, "open on the follower"))
					c.bad++;
				continue;
			}
			if (!ASSERT_OK(fstat(fd, &st), "fstat") || (__u64)st.st_size > RW_MAX) {
				close(fd);
				c.bad++;
				continue;
			}
			r = pread(fd, buf, RW_MAX + 8, 0);
			reads++;
			if (!ASSERT_EQ(r, st.st_size, "read the whole file") ||
			    !ASSERT_TRUE(rw_check(rw, buf, r, i, &gen, "a read after logplay"),
					 "one version of the file, whole")) {
				if (r < 0)
					printf("#   read: %s\n", strerror(errno));
				close(fd);
				c.bad++;
				continue;
			}
			for (k = 0; k < RW_HELD && held[k].fd >= 0; k++)
				;
			if (k == RW_HELD || !r || (xorshift64(&rw->rng) & 1)) {
				close(fd);
				continue;
			}
			held[k] = (struct held){ .fd = fd, .slot = i, .gen = gen, .len = r,
						 .left = 1 + (int)(xorshift64(&rw->rng) % 4) };
			held[k].map = mmap(NULL, r, PROT_READ, MAP_SHARED, fd, 0);
			if (held[k].map == MAP_FAILED)
				held[k].map = NULL;
			else if (!ASSERT_TRUE(rw_check_map(rw, &held[k], &c.sigbus), "a fresh mapping"))
				c.bad++;
		}
		pthread_mutex_unlock(&rw->lock);
	}
	rw->stop = true;
	pthread_join(owner, NULL);
	started = false;
	printf("# read_while_writing: owner: %u replaced, %u deleted, %u scratch; follower: %u logplays, "
	       "%u reads, %u reads of held files (%u failed, %u SIGBUS on their mappings); "
	       "%u looks at held files while the owner went on saw another file's bytes\n",
	       rw->replaced, rw->deleted, rw->churned, plays, reads, c.held_reads, c.held_errs,
	       c.sigbus, c.stale);
	ASSERT_EQ(rw->errors, 0, "the owner's writes");
	ASSERT_EQ(c.stale, 0, "held files, while the owner went on: never another file's bytes");
	ASSERT_GT(rw->replaced, RW_MIN_REPLACED, "the owner replaced files");
	ASSERT_GT(c.held_reads, RW_MIN_HELD_READS, "reads of held files");
	ASSERT_GT(plays, RW_MIN_PLAYS, "logplays");
	/* at the end, the follower agrees with the owner */
	if (ASSERT_EQ(famfs("logplay", RO), 0, "the last logplay")) {
		for (i = 0; i < RW_SLOTS; i++) {
			char p[PATH_MAX];
			__u32 gen = 0;
			ssize_t r;
			int fd;

			snprintf(p, sizeof(p), OWN "/f%d", i);
			fd = open(p, O_RDONLY);
			if (fd < 0) {
				snprintf(p, sizeof(p), RO "/f%d", i);
				ASSERT_EQ(access(p, F_OK), -1, "gone on the follower too");
				continue;
			}
			r = pread(fd, buf, RW_MAX + 8, 0);
			close(fd);
			if (!ASSERT_GE(r, 0, "read on the owner"))
				continue;
			ASSERT_TRUE(rw_check(rw, buf, r, i, &gen, "the owner's last version"), "owner");
			snprintf(p, sizeof(p), RO "/f%d", i);
			fd = open(p, O_RDONLY);
			if (!ASSERT_OK_FD(fd, "the follower has it"))
				continue;
			ASSERT_EQ(pread(fd, buf, RW_MAX + 8, 0), r, "the follower's size");
			ASSERT_TRUE(rw_check(rw, buf, r, i, &gen, "the follower's last version"),
				    "the follower reads the owner's last version");
			close(fd);
		}
	}
out:
	if (started) {
		rw->stop = true;
		pthread_join(owner, NULL);
	}
	for (i = 0; i < RW_HELD; i++) {
		if (held[i].fd < 0)
			continue;
		if (held[i].map)
			munmap(held[i].map, held[i].len);
		close(held[i].fd);
	}
	sigaction(SIGBUS, &old_sa, NULL);
	free(buf);
	free(rw);
	ensure_unmounted();
}

void test_fs_follower(void)
{
	char *a = malloc(LEN), *b = malloc(LEN);

	if (!ASSERT_TRUE(a && b, "malloc") || !fixture_famfs_bin())
		goto out;
	fill_pattern(a, LEN, 11);
	fill_pattern(b, LEN, 12);
	if (test__start_subtest("follow"))
		test_follow(a, b);
	if (test__start_subtest("erofs"))
		test_erofs(a);
	if (test__start_subtest("open_across_unlink"))
		test_open_across_unlink(a);
	if (test__start_subtest("read_while_writing"))
		test_read_while_writing();
out:
	free(a);
	free(b);
}
