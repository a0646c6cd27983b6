// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency on the daemon (issue 16, "Tests that do not exist yet"): a
 * famfs-bpf mount (the binary, BPF resolver) on /dev/pmem2; WORKERS
 * workers, half of them threads of this process and half forked
 * processes, each run NOPS random operations: create, rewrite (O_TRUNC),
 * append, truncate down and up, fallocate (mode 0, KEEP_SIZE, PUNCH_HOLE,
 * ZERO_RANGE), rename (across the shared directories, into and out of the
 * worker's private one, over another of its own files), link and unlink
 * (either name), readdir of a shared directory, a read back of one of
 * its files, and writes to its own region of one file all of them write
 * (regions straddle 2 MiB units: concurrent allocation of one unit and
 * concurrent size updates of one inode).  Each worker owns its names ("w<W>.<slot>.<n>"), but they live
 * in directories every worker uses, so the daemon's directory and space
 * locking is what is exercised while the final state stays knowable: each
 * worker records, in memory shared with the test, every file's names, size,
 * and bytes, which are a pattern naming the worker, the slot and a
 * generation (8-byte words), zero where a hole, a punch or an extension is.
 * Then: the namespace (every name there, no other), each file's size,
 * link count and bytes by read(2) and by mmap; umount; famfs-bpf fsck is
 * clean; mount again and the same check.
 *
 * The seed is new each run and printed; FS_CONC_SEED replays a worker's
 * sequence of operations (not the interleaving), FS_CONC_OPS sets NOPS.
 * Cost on the test kernel (TCG, 2 CPUs), with another guest sharing the
 * host's 2 CPUs: 400 operations a worker took 98 s (74 s of work, 20 s of
 * checks), 250 took 70 s (52 + 13); with the shared file, 200 took 80 s
 * (48 + 27), NOPS 150 68 s (51 + 14: the host's load varies that much);
 * less on a host of its own.  The debug kernel runs a
 * third of the operations (debug.tests: the kernel's fmap paths under
 * concurrent faults, truncates and punches are what KASAN and lockdep see).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"
#include "xorshift.h"

#define DEV	"/dev/pmem2"
#define MNT	"/tmp/fs_concurrency.mnt"
#define NTHREADS 3
#define NPROCS	3
#define WORKERS	(NTHREADS + NPROCS)
#define NSHARED	3
#define NSLOTS	8
#define NOPS	150
#define MAXSIZE	(6 * MiB)	/* at most 3 units a file: 48 files fit in pmem2 */
#define PATHLEN	48
/*
 * One file all workers write, each in its own region: regions are not
 * unit-aligned, so two workers' writes allocate the same 2 MiB unit and
 * move the same size at once.
 */
#define SHARED	"s0/shared"
#define REGION	(2 * MiB + 3 * 4096 + 100)

#define famfs(...) fixture_famfs(FX_MERGE | FX_LOG_OUT, __VA_ARGS__)

enum op {
	OP_CREATE, OP_REWRITE, OP_APPEND, OP_TRUNC, OP_FALLOC, OP_PUNCH,
	OP_RENAME, OP_RENAME_OVER, OP_LINK, OP_UNLINK, OP_READDIR, OP_VERIFY,
	OP_SHARED, NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"create", "rewrite", "append", "truncate", "fallocate", "punch",
	"rename", "rename-over", "link", "unlink", "readdir", "verify",
	"shared-write",
};

/*
 * A file as its worker knows it: bytes [0, valid) are the pattern of
 * (worker, slot, gen) except [hole_off, hole_end), which is zero, as is
 * [valid, size).
 */
struct slot {
	bool exists, linked;
	char path[PATHLEN];	/* relative to MNT */
	char lpath[PATHLEN];	/* the second name, if linked */
	__u32 gen, names;
	__u64 size, valid, hole_off, hole_end;
};

struct worker {
	int id;
	__u64 rng;
	int errors;
	unsigned int done[NR_OPS];
	struct slot s[NSLOTS];
	/* its region of SHARED: [0, sh_len) the pattern of (id, NSLOTS, sh_gen) */
	__u32 sh_gen;
	__u64 sh_len;
};

static struct worker *workers;	/* shared with the forked workers */

static __u64 word_of(int w, int slot, __u32 gen, __u64 k)
{
	return 0x8000000000000000ULL | (__u64)w << 56 | (__u64)slot << 48 |
	       (__u64)(gen & 0xffff) << 32 | (k & 0xffffffff);
}

/* The bytes the model says [off, off + len) of @s holds */
static void model_bytes(int w, int i, const struct slot *s, char *buf, __u64 off, size_t len)
{
	__u64 p;

	for (p = off; p < off + len; p++) {
		char c = 0;

		if (p < s->valid && !(p >= s->hole_off && p < s->hole_end)) {
			__u64 word = word_of(w, i, s->gen, p / 8);

			c = ((const char *)&word)[p % 8];
		}
		buf[p - off] = c;
	}
}

/* the pattern alone, for writes: [off, off + len) of generation @gen */
static void pattern_bytes(int w, int i, __u32 gen, char *buf, __u64 off, size_t len)
{
	struct slot s = { .gen = gen, .valid = off + len };

	model_bytes(w, i, &s, buf, off, len);
}

#define werr(wk, fmt, ...) do {						\
	printf("# worker %d: FAIL " fmt "\n", (wk)->id, ##__VA_ARGS__);	\
	(wk)->errors++;							\
} while (0)

static __u64 rnd(struct worker *wk, __u64 n)
{
	return n ? xorshift64(&wk->rng) % n : 0;
}

static void full(char *buf, size_t size, const char *rel)
{
	snprintf(buf, size, MNT "/%s", rel);
}

static void dir_name(struct worker *wk, char *buf, size_t size)
{
	int d = rnd(wk, NSHARED + 1);

	if (d == NSHARED)
		snprintf(buf, size, "p%d", wk->id);
	else
		snprintf(buf, size, "s%d", d);
}

static void new_name(struct worker *wk, int i, char *rel, size_t size)
{
	char dir[16];

	dir_name(wk, dir, sizeof(dir));
	snprintf(rel, size, "%s/w%d.%d.%u", dir, wk->id, i, wk->s[i].names++);
}

static __u64 rand_size(struct worker *wk)
{
	__u64 r = rnd(wk, 100);

	if (r < 50)
		return rnd(wk, 64 * 1024);
	if (r < 85)
		return rnd(wk, MiB);
	return rnd(wk, MAXSIZE - MiB);
}

/* write the pattern of @gen at [off, off + len) in pieces of random size */
static bool write_pattern(struct worker *wk, int fd, int i, __u32 gen, __u64 off, __u64 len,
			  const char *rel)
{
	static const size_t pieces[] = { 4096, 65536, 100000, 1 << 20 };
	size_t piece = pieces[rnd(wk, 4)];
	char *buf = malloc(piece);
	__u64 done = 0;

	if (!buf) {
		werr(wk, "malloc");
		return false;
	}
	while (done < len) {
		size_t n = len - done < piece ? len - done : piece;
		ssize_t r;

		pattern_bytes(wk->id, i, gen, buf, off + done, n);
		r = pwrite(fd, buf, n, off + done);
		if (r != (ssize_t)n) {
			werr(wk, "pwrite %s at %llu: %zd (%s)", rel,
			     (unsigned long long)(off + done), r, strerror(errno));
			free(buf);
			return false;
		}
		done += n;
	}
	free(buf);
	return true;
}

/* open @s's file by a random one of its names */
static int open_slot(struct worker *wk, struct slot *s, int flags)
{
	char p[96];
	int fd;

	full(p, sizeof(p), s->linked && rnd(wk, 2) ? s->lpath : s->path);
	fd = open(p, flags);
	if (fd < 0)
		werr(wk, "open %s: %s", p, strerror(errno));
	return fd;
}

/* @fd (at least @len long) against the model of slot @i */
static bool compare_fd(int w, int i, const struct slot *s, int fd, const char *what)
{
	size_t len = s->size, chunk = MiB, off;
	char *got = malloc(chunk), *want = malloc(chunk);
	bool ok = got && want;

	for (off = 0; ok && off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk, j;
		ssize_t r = pread(fd, got, n, off);

		if (r != (ssize_t)n) {
			printf("# worker %d: FAIL %s: read %zu at %zu: %zd (%s)\n", w, what, n,
			       off, r, r < 0 ? strerror(errno) : "short");
			ok = false;
			break;
		}
		model_bytes(w, i, s, want, off, n);
		for (j = 0; j < n && got[j] == want[j]; j++)
			;
		if (j < n) {
			__u64 word = 0;
			size_t at = (off + j) & ~7UL;

			if (at + 8 <= off + n && at >= off)
				memcpy(&word, got + (at - off), 8);
			printf("# worker %d: FAIL %s: byte %zu of %zu differs (word there 0x%016llx: %s; "
			       "want worker %d slot %d gen %u, valid %llu, hole [%llu, %llu))\n",
			       w, what, off + j, len, (unsigned long long)word,
			       word >> 63 ? "a pattern" : "not a pattern", w, i, s->gen,
			       (unsigned long long)s->valid, (unsigned long long)s->hole_off,
			       (unsigned long long)s->hole_end);
			if (word >> 63)
				printf("#   that word is worker %llu slot %llu gen %llu's\n",
				       (unsigned long long)(word >> 56 & 0x7f),
				       (unsigned long long)(word >> 48 & 0xff),
				       (unsigned long long)(word >> 32 & 0xffff));
			ok = false;
		}
	}
	free(got);
	free(want);
	return ok;
}

static void op_create(struct worker *wk, int i, bool rewrite)
{
	struct slot *s = &wk->s[i];
	char rel[PATHLEN], p[96];
	__u64 len = rand_size(wk);
	int fd;

	if (rewrite) {
		fd = open_slot(wk, s, O_WRONLY | O_TRUNC);
		snprintf(rel, sizeof(rel), "%s", s->path);
	} else {
		new_name(wk, i, rel, sizeof(rel));
		full(p, sizeof(p), rel);
		fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0)
			werr(wk, "create %s: %s", p, strerror(errno));
	}
	if (fd < 0)
		return;
	if (!rewrite) {
		s->exists = true;
		s->linked = false;
		snprintf(s->path, sizeof(s->path), "%s", rel);
	}
	s->gen++;
	s->size = s->valid = s->hole_off = s->hole_end = 0;
	if (write_pattern(wk, fd, i, s->gen, 0, len, rel))
		s->size = s->valid = len;
	if (rnd(wk, 4) == 0 && fsync(fd))
		werr(wk, "fsync %s: %s", rel, strerror(errno));
	if (close(fd))
		werr(wk, "close %s: %s", rel, strerror(errno));
}

static void op_append(struct worker *wk, int i)
{
	struct slot *s = &wk->s[i];
	__u64 len = rand_size(wk) / 4;
	int fd;

	/* the model has one pattern run: a zero tail is rewritten instead */
	if (s->valid != s->size || s->size + len > MAXSIZE) {
		op_create(wk, i, true);
		return;
	}
	fd = open_slot(wk, s, O_WRONLY | O_APPEND);
	if (fd < 0)
		return;
	if (write_pattern(wk, fd, i, s->gen, s->size, len, s->path))
		s->size = s->valid = s->size + len;
	close(fd);
}

static void op_trunc(struct worker *wk, int i)
{
	struct slot *s = &wk->s[i];
	__u64 t = rnd(wk, 2) ? rnd(wk, s->size + 1) : s->size + rnd(wk, MAXSIZE - s->size);
	char p[96];
	int err;

	if (rnd(wk, 2)) {
		full(p, sizeof(p), s->path);
		err = truncate(p, t);
	} else {
		int fd = open_slot(wk, s, O_WRONLY);

		if (fd < 0)
			return;
		err = ftruncate(fd, t);
		close(fd);
	}
	if (err) {
		werr(wk, "truncate %s to %llu: %s", s->path, (unsigned long long)t,
		     strerror(errno));
		return;
	}
	s->size = t;
	if (s->valid > t)
		s->valid = t;
	if (s->hole_end > s->valid)
		s->hole_end = s->valid;
	if (s->hole_off >= s->hole_end)
		s->hole_off = s->hole_end = 0;
}

static void op_falloc(struct worker *wk, int i, bool punch)
{
	struct slot *s = &wk->s[i];
	__u64 off, len;
	int fd, mode;

	if (punch) {
		/* one zero range in the model: a second one goes elsewhere */
		if (s->hole_end || s->valid < 2) {
			op_trunc(wk, i);
			return;
		}
		off = rnd(wk, s->valid - 1);
		len = 1 + rnd(wk, s->valid - off);
		mode = rnd(wk, 2) ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE :
				    FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	} else {
		off = rnd(wk, MAXSIZE - 1);
		len = 1 + rnd(wk, MAXSIZE - off);
		mode = rnd(wk, 2) ? 0 : FALLOC_FL_KEEP_SIZE;
	}
	fd = open_slot(wk, s, O_WRONLY);
	if (fd < 0)
		return;
	if (fallocate(fd, mode, off, len)) {
		werr(wk, "fallocate mode %#x %s [%llu, +%llu): %s", mode, s->path,
		     (unsigned long long)off, (unsigned long long)len, strerror(errno));
	} else if (punch) {
		s->hole_off = off;
		s->hole_end = off + len;
	} else if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > s->size) {
		s->size = off + len;
	}
	close(fd);
}

static void op_rename(struct worker *wk, int i, bool over)
{
	struct slot *s = &wk->s[i], *t = NULL;
	char rel[PATHLEN], from[96], to[96];
	int j = rnd(wk, NSLOTS);

	if (over) {
		t = &wk->s[j];
		/* over a file of its own with one name (replacing the other's second name is link's) */
		if (j == i || !t->exists || t->linked) {
			op_rename(wk, i, false);
			return;
		}
		snprintf(rel, sizeof(rel), "%s", t->path);
	} else {
		new_name(wk, i, rel, sizeof(rel));
	}
	full(from, sizeof(from), s->path);
	full(to, sizeof(to), rel);
	if (rename(from, to)) {
		werr(wk, "rename %s -> %s: %s", from, to, strerror(errno));
		return;
	}
	snprintf(s->path, sizeof(s->path), "%s", rel);
	if (t)
		t->exists = false;
}

static void op_link(struct worker *wk, int i)
{
	struct slot *s = &wk->s[i];
	char rel[PATHLEN], from[96], to[96];

	if (s->linked) {
		op_rename(wk, i, false);
		return;
	}
	new_name(wk, i, rel, sizeof(rel));
	full(from, sizeof(from), s->path);
	full(to, sizeof(to), rel);
	if (link(from, to)) {
		werr(wk, "link %s -> %s: %s", from, to, strerror(errno));
		return;
	}
	s->linked = true;
	snprintf(s->lpath, sizeof(s->lpath), "%s", rel);
}

static void op_unlink(struct worker *wk, int i)
{
	struct slot *s = &wk->s[i];
	bool first = !s->linked || rnd(wk, 2);
	char p[96];

	full(p, sizeof(p), first ? s->path : s->lpath);
	if (unlink(p)) {
		werr(wk, "unlink %s: %s", p, strerror(errno));
		return;
	}
	if (!s->linked)
		s->exists = false;
	else if (first)
		memcpy(s->path, s->lpath, sizeof(s->path));
	s->linked = false;
}

/* This worker's names in a shared directory: exactly those it has there */
static void op_readdir(struct worker *wk)
{
	char dir[16], p[96], prefix[16], want[NSLOTS * 2][PATHLEN];
	int nwant = 0, nseen = 0, i, k;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "s%d", (int)rnd(wk, NSHARED));
	snprintf(prefix, sizeof(prefix), "w%d.", wk->id);
	for (i = 0; i < NSLOTS; i++) {
		struct slot *s = &wk->s[i];
		size_t dl = strlen(dir);

		if (!s->exists)
			continue;
		if (!strncmp(s->path, dir, dl) && s->path[dl] == '/')
			snprintf(want[nwant++], PATHLEN, "%s", s->path + dl + 1);
		if (s->linked && !strncmp(s->lpath, dir, dl) && s->lpath[dl] == '/')
			snprintf(want[nwant++], PATHLEN, "%s", s->lpath + dl + 1);
	}
	full(p, sizeof(p), dir);
	d = opendir(p);
	if (!d) {
		werr(wk, "opendir %s: %s", p, strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		for (k = 0; k < nwant && strcmp(want[k], de->d_name); k++)
			;
		if (k == nwant)
			werr(wk, "readdir %s: %s, not one of its names there", dir, de->d_name);
		else
			nseen++;
	}
	closedir(d);
	if (nseen != nwant)
		werr(wk, "readdir %s: %d of its %d names there", dir, nseen, nwant);
}

static void op_verify(struct worker *wk, int i)
{
	struct slot *s = &wk->s[i];
	struct stat st;
	int fd = open_slot(wk, s, O_RDONLY);

	if (fd < 0)
		return;
	if (fstat(fd, &st) || (__u64)st.st_size != s->size)
		werr(wk, "verify %s: size %lld, want %llu", s->path, (long long)st.st_size,
		     (unsigned long long)s->size);
	else if (!compare_fd(wk->id, i, s, fd, s->path))
		wk->errors++;
	close(fd);
}

/* Its region of SHARED grows (or is rewritten) with a new generation */
static void op_shared(struct worker *wk)
{
	__u64 len = wk->sh_len + rnd(wk, REGION - wk->sh_len + 1), base = wk->id * REGION, off;
	size_t piece = rnd(wk, 2) ? 65536 : MiB;
	char *buf = malloc(piece), p[96];
	__u32 gen = wk->sh_gen + 1;
	int fd;

	full(p, sizeof(p), SHARED);
	fd = open(p, O_WRONLY);
	if (fd < 0 || !buf) {
		werr(wk, "open %s: %s", p, strerror(errno));
		goto out;
	}
	for (off = 0; off < len; off += piece) {
		size_t n = len - off < piece ? len - off : piece;

		pattern_bytes(wk->id, NSLOTS, gen, buf, off, n);
		if (pwrite(fd, buf, n, base + off) != (ssize_t)n) {
			werr(wk, "pwrite %s at %llu: %s", p, (unsigned long long)(base + off),
			     strerror(errno));
			goto out;
		}
	}
	wk->sh_gen = gen;
	wk->sh_len = len;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
}

static void run_worker(struct worker *wk, int nops)
{
	int n;

	for (n = 0; n < nops && wk->errors < 5; n++) {
		int i = rnd(wk, NSLOTS);
		enum op op = rnd(wk, NR_OPS);

		if (!wk->s[i].exists && op != OP_READDIR && op != OP_SHARED)
			op = OP_CREATE;
		else if (op == OP_CREATE)
			op = OP_REWRITE;
		switch (op) {
		case OP_CREATE:		op_create(wk, i, false); break;
		case OP_REWRITE:	op_create(wk, i, true); break;
		case OP_APPEND:		op_append(wk, i); break;
		case OP_TRUNC:		op_trunc(wk, i); break;
		case OP_FALLOC:		op_falloc(wk, i, false); break;
		case OP_PUNCH:		op_falloc(wk, i, true); break;
		case OP_RENAME:		op_rename(wk, i, false); break;
		case OP_RENAME_OVER:	op_rename(wk, i, true); break;
		case OP_LINK:		op_link(wk, i); break;
		case OP_UNLINK:		op_unlink(wk, i); break;
		case OP_READDIR:	op_readdir(wk); break;
		case OP_VERIFY:		op_verify(wk, i); break;
		case OP_SHARED:		op_shared(wk); break;
		default:		break;
		}
		wk->done[op]++;
	}
}

static int g_nops;

static void *thread_main(void *arg)
{
	run_worker(arg, g_nops);
	return NULL;
}

/* One file, by @rel: stat, read(2) and mmap against the model */
static void check_file(int w, int i, const struct slot *s, const char *rel, __u64 ino)
{
	char p[96], what[128];
	struct stat st;
	int fd;

	full(p, sizeof(p), rel);
	snprintf(what, sizeof(what), "%s", p);
	if (!ASSERT_OK(stat(p, &st), what))
		return;
	ASSERT_EQ(st.st_size, s->size, what);
	ASSERT_EQ(st.st_nlink, s->linked ? 2 : 1, what);
	if (ino)
		ASSERT_EQ(st.st_ino, ino, "both names, one inode");
	fd = open(p, O_RDONLY);
	if (!ASSERT_OK_FD(fd, what))
		return;
	ASSERT_TRUE(compare_fd(w, i, s, fd, what), "read(2) as recorded");
	if (s->size) {
		char *map = mmap(NULL, s->size, PROT_READ, MAP_SHARED, fd, 0);
		char *want = malloc(s->size);

		if (ASSERT_TRUE(map != MAP_FAILED, "mmap") && ASSERT_TRUE(want != NULL, "malloc")) {
			model_bytes(w, i, s, want, 0, s->size);
			if (!ASSERT_MEMEQ(map, want, s->size, what))
				printf("#   by mmap\n");
		}
		if (map != MAP_FAILED)
			munmap(map, s->size);
		free(want);
	}
	close(fd);
}

static int name_count(const char *dirrel)
{
	char p[96];
	struct dirent *de;
	int n = 0;
	DIR *d;

	full(p, sizeof(p), dirrel);
	d = opendir(p);
	if (!ASSERT_TRUE(d != NULL, p))
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* SHARED: each worker's region as it recorded, zeroes between, the size the last region's end */
static void check_shared(void)
{
	__u64 size = 0, w;
	char p[96], *want;
	struct stat st;

	for (w = 0; w < WORKERS; w++)
		if (workers[w].sh_len && w * REGION + workers[w].sh_len > size)
			size = w * REGION + workers[w].sh_len;
	full(p, sizeof(p), SHARED);
	want = calloc(1, size + 1);
	if (!ASSERT_TRUE(want != NULL, "calloc") || !ASSERT_OK(stat(p, &st), p))
		goto out;
	ASSERT_EQ(st.st_size, size, "the shared file's size: the end of the last region written");
	for (w = 0; w < WORKERS; w++)
		pattern_bytes(w, NSLOTS, workers[w].sh_gen, want + w * REGION, 0, workers[w].sh_len);
	/* by read(2) to EOF, and by mmap when there is something to map */
	if (size)
		fixture_check_file(p, want, size, true);
	else
		fixture_check_read(p, want, size, true);
out:
	free(want);
}

/* The tree is exactly the directories and the names the workers recorded */
static void check_tree(const char *when)
{
	int per_dir[NSHARED + WORKERS] = { 0 }, w, i, d, want_top = NSHARED + WORKERS;
	char dirrel[16];

	printf("# checking the tree %s\n", when);
	for (w = 0; w < WORKERS; w++) {
		for (i = 0; i < NSLOTS; i++) {
			const struct slot *s = &workers[w].s[i];
			struct stat st;
			char p[96];

			if (!s->exists)
				continue;
			check_file(w, i, s, s->path, 0);
			for (d = 0; d < 2; d++) {
				const char *rel = d ? s->lpath : s->path;

				if (d && !s->linked)
					break;
				if (rel[0] == 's')
					per_dir[atoi(rel + 1)]++;
				else
					per_dir[NSHARED + atoi(rel + 1)]++;
			}
			if (s->linked) {
				full(p, sizeof(p), s->path);
				if (ASSERT_OK(stat(p, &st), p))
					check_file(w, i, s, s->lpath, st.st_ino);
			}
		}
	}
	per_dir[0]++;		/* SHARED */
	check_shared();
	ASSERT_EQ(name_count(""), want_top, "the top directory: the shared and private ones");
	for (d = 0; d < NSHARED + WORKERS; d++) {
		if (d < NSHARED)
			snprintf(dirrel, sizeof(dirrel), "s%d", d);
		else
			snprintf(dirrel, sizeof(dirrel), "p%d", d - NSHARED);
		if (!ASSERT_EQ(name_count(dirrel), per_dir[d], "names in a directory"))
			printf("#   in %s\n", dirrel);
	}
}

static __u64 env_ull(const char *name, __u64 dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : dflt;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void test_fs_concurrency(void)
{
	pthread_t th[NTHREADS];
	pid_t pid[NPROCS];
	unsigned int total[NR_OPS] = { 0 };
	struct timespec ts;
	__u64 seed;
	double t0;
	int w, k, nth = 0, nproc = 0, status;
	char p[96];

	clock_gettime(CLOCK_REALTIME, &ts);
	seed = env_ull("FS_CONC_SEED", ((__u64)ts.tv_sec * 1000000007ULL ^ ts.tv_nsec) | 1);
	g_nops = env_ull("FS_CONC_OPS", fixture_debug_kernel() ? NOPS / 3 : NOPS);
	printf("# fs_concurrency: seed %llu, %d workers (%d threads, %d processes), %d operations each; "
	       "replay: env FS_CONC_SEED=%llu test_progs -t fs_concurrency\n",
	       (unsigned long long)seed, WORKERS, NTHREADS, NPROCS, g_nops,
	       (unsigned long long)seed);
	workers = mmap(NULL, WORKERS * sizeof(*workers), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!ASSERT_TRUE(workers != MAP_FAILED, "mmap the records") || !fixture_famfs_bin())
		return;
	fixture_ensure_unmounted(MNT);
	if (!fixture_mkfs_mount(DEV, MNT, NULL))
		goto out;
	for (k = 0; k < NSHARED; k++) {
		snprintf(p, sizeof(p), MNT "/s%d", k);
		ASSERT_OK(mkdir(p, 0755), p);
	}
	snprintf(p, sizeof(p), MNT "/" SHARED);
	ASSERT_OK(close(open(p, O_CREAT | O_EXCL | O_WRONLY, 0644)), p);
	for (w = 0; w < WORKERS; w++) {
		snprintf(p, sizeof(p), MNT "/p%d", w);
		ASSERT_OK(mkdir(p, 0755), p);
		workers[w].id = w;
		workers[w].rng = (seed + w) * 0x9E3779B97F4A7C15ULL | 1;
	}

	t0 = now();
	/* the processes first: a fork after the threads started would copy them mid-flight */
	fflush(stdout);
	for (k = 0; k < NPROCS; k++) {
		pid[k] = fork();
		if (pid[k] == 0) {
			run_worker(&workers[NTHREADS + k], g_nops);
			fflush(stdout);
			_exit(0);
		}
		if (!ASSERT_GT(pid[k], 0, "fork"))
			break;
		nproc++;
	}
	for (k = 0; k < NTHREADS; k++) {
		if (!ASSERT_OK(pthread_create(&th[k], NULL, thread_main, &workers[k]),
			       "pthread_create"))
			break;
		nth++;
	}
	for (k = 0; k < nth; k++)
		pthread_join(th[k], NULL);
	for (k = 0; k < nproc; k++)
		if (ASSERT_EQ(waitpid(pid[k], &status, 0), pid[k], "waitpid"))
			ASSERT_EQ(status, 0, "a worker process's exit");
	printf("# fs_concurrency: the workers took %.1f s\n", now() - t0);
	for (w = 0; w < WORKERS; w++) {
		ASSERT_EQ(workers[w].errors, 0, "a worker's operations");
		for (k = 0; k < NR_OPS; k++)
			total[k] += workers[w].done[k];
	}
	printf("#  ");
	for (k = 0; k < NR_OPS; k++)
		printf(" %s %u", op_names[k], total[k]);
	printf("\n");

	t0 = now();
	check_tree("as the workers left it");
	if (!ASSERT_EQ(famfs("umount", MNT), 0, "umount"))
		goto out;
	ASSERT_EQ(fixture_famfs(FX_MERGE, "fsck", DEV), 0, "fsck clean");
	if (!ASSERT_EQ(famfs("mount", DEV, MNT), 0, "mount again"))
		goto out;
	check_tree("after a remount");
	printf("# fs_concurrency: the checks took %.1f s\n", now() - t0);
out:
	fixture_ensure_unmounted(MNT);
	munmap(workers, WORKERS * sizeof(*workers));
}
