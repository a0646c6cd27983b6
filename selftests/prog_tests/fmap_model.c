// SPDX-License-Identifier: GPL-2.0
/*
 * Random operations on a mapped file, checked against an in-memory model of
 * its bytes, for every resolver (one subtest each):
 *  - write, pwrite (also past EOF: holes), writes through an O_APPEND fd;
 *  - read, pread (short at EOF), mmap reads and mmap writes + msync inside
 *    EOF (and the rest of the EOF page reads as zeroes);
 *  - ftruncate up and down, to any size; close/reopen, with O_TRUNC too;
 *  - fallocate: PUNCH_HOLE|KEEP_SIZE, ZERO_RANGE (with and without
 *    KEEP_SIZE), KEEP_SIZE, mode 0.
 * After each operation fstat(2) must give the model's size, what it read
 * must be the model's bytes, and what it changed must read back as the
 * model; every CHECK_EVERY operations the whole file is compared.
 *
 * Each subtest runs them on the file system daemon (famfs-bpf mkfs + mount
 * over pmem0 and pmem1, as a user would) with the resolver it names
 * (mount -o resolver=...).  Three files take turns: one created empty, one
 * created with holes, and a "preset" one, created interleaved over both
 * devices (user.famfs.stripe "2 2097152" while empty) and written around
 * holes.  The daemon must support every fallocate mode above (EOPNOTSUPP
 * fails).  Should space run low, the file's round ends (a last whole-file
 * check) and a fresh mount starts another.
 *
 * Offsets cluster at pages, 2 MiB units and EOF; files stay within 8 MiB.
 * Each subtest asserts, from the connection's fmap_stats summed over its
 * mounts, that the resolver it names answered: upcall: upcalls, no BPF or
 * built-in resolutions; builtin: built-in resolutions, no BPF; bpf: the
 * resolver attached on every mount, BPF resolutions, no built-in ones;
 * none of them a rejected answer.  Each preset file is also read cold
 * (after a remount: nothing cached) inside its first extent: only the
 * named resolver may answer that read (bpf, builtin: not one upcall).
 *
 * The bpf subtest runs 21,000 operations, upcall and builtin a sixth of
 * that (see DEFAULT_OPS), each a sixth of its own on the debug kernel.  The
 * upcall subtest runs a fixed seed, the others a new one each run; each
 * prints its seed.  FMAP_MODEL_SEED (every subtest)
 * and FMAP_MODEL_OPS (per subtest) in test_progs' environment replay a
 * failure (vng passes the host's environment on to nobody: run
 * "env FMAP_MODEL_SEED=... test_progs" in the guest).  A failure names the
 * operation and the first wrong byte.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "famfs_xattr.h"
#include "fixture.h"
#include "test_progs.h"
#include "xorshift.h"

#define PAGE		4096ULL
#define UNIT		(2 * MiB)
#define MAX_SIZE	(8 * MiB)
#define MAX_LEN		(UNIT + 2 * PAGE)	/* one operation's bytes */
#define CHECK_EVERY	64
/*
 * 131.8 s on the test kernel under TCG with the BPF resolver (seed
 * 1796758406543854233, ok; 2026-12-07).  Every resolver costs about the
 * same per operation (14 to 19 ms with another guest on the machine:
 * bpf 285.8 s for 21,000, upcall 110.9 s and builtin 135.8 s for 7,000),
 * so upcall and builtin run a sixth of it: the three together stay well
 * within test_progs' 600 s per test on a loaded machine.
 */
#define DEFAULT_OPS	21000
#define SLOW_OPS	(DEFAULT_OPS / 6)
#define FSD_MNT		"/tmp/fmap_model.mnt"
#define DEFAULT_SEED	0x6d6f64656cULL
/* allocation units one operation may take: MAX_LEN spans at most 3 */
#define OP_UNITS	4
#define HISTORY		8
/* the cold read of a preset file: inside its first extent */
#define COLD_LEN	(64 * 1024)

enum op {
	OP_WRITE, OP_PWRITE, OP_APPEND, OP_READ, OP_PREAD, OP_MMAP_READ,
	OP_MMAP_WRITE, OP_TRUNCATE, OP_REOPEN, OP_REOPEN_TRUNC, OP_PUNCH,
	OP_ZERO, OP_ZERO_KEEP, OP_ALLOC_KEEP, OP_ALLOC, OP_NR,
};

static const struct {
	const char *name;
	unsigned int weight;
	int falloc_mode;
} ops[OP_NR] = {
	[OP_WRITE]	 = { "write", 10 },
	[OP_PWRITE]	 = { "pwrite", 14 },
	[OP_APPEND]	 = { "append", 5 },
	[OP_READ]	 = { "read", 8 },
	[OP_PREAD]	 = { "pread", 14 },
	[OP_MMAP_READ]	 = { "mmap_read", 6 },
	[OP_MMAP_WRITE]	 = { "mmap_write", 6 },
	[OP_TRUNCATE]	 = { "ftruncate", 4 },
	[OP_REOPEN]	 = { "reopen", 2 },
	[OP_REOPEN_TRUNC] = { "reopen_o_trunc", 1 },
	[OP_PUNCH]	 = { "punch_hole", 3, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE },
	[OP_ZERO]	 = { "zero_range", 2, FALLOC_FL_ZERO_RANGE },
	[OP_ZERO_KEEP]	 = { "zero_range_keep", 2, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE },
	[OP_ALLOC_KEEP]	 = { "falloc_keep_size", 2, FALLOC_FL_KEEP_SIZE },
	[OP_ALLOC]	 = { "falloc", 2, 0 },
};

enum file_kind { FILE_EMPTY, FILE_HOLES, FILE_PRESET, FILE_KINDS };

static const char *const kind_names[FILE_KINDS] = { "empty", "holes", "preset" };

struct history {
	unsigned long nr;
	enum op op;
	__u64 off, len, size;
};

/* fmap_stats counters a run sums over its mounts */
enum counter { C_UPCALLS, C_BUILTIN, C_BPF, C_BPF_FALLBACKS, C_REJECTS, C_NR };

static const char *const counter_names[C_NR] = {
	[C_UPCALLS] = "upcalls", [C_BUILTIN] = "builtin_resolves",
	[C_BPF] = "bpf_resolves", [C_BPF_FALLBACKS] = "bpf_fallbacks",
	[C_REJECTS] = "rejects",
};

struct run {
	const char *name;		/* the subtest: the resolver's name */
	enum fbs_resolver resolver;	/* the one that must answer */
	const char *mnt;
	enum file_kind kind;
	char path[128];
	int fd, afd;			/* O_RDWR; O_WRONLY | O_APPEND or -1 */
	unsigned char *model;		/* MAX_SIZE bytes, zero past @size */
	unsigned char *buf, *back;	/* MAX_LEN bytes each */
	__u64 size;
	__u64 rng;
	unsigned long nr;		/* operations done in this subtest */
	unsigned long mounts;
	long long counts[C_NR];		/* of the mounts that ended */
	long budget;			/* allocation units surely still free */
	struct history hist[HISTORY];
	/* the operation under way, for messages */
	enum op op;
	__u64 op_off, op_len;
};

static __u64 rnd(struct run *r, __u64 n)
{
	return n ? xorshift64(&r->rng) % n : 0;
}

static void fill_random(struct run *r, unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		__u64 x = xorshift64(&r->rng);

		memcpy(p + i, &x, 8);
	}
	for (; i < len; i++)
		p[i] = xorshift64(&r->rng);
}

/* OP_NR: setting a file up, or checking it between operations */
static const char *op_name(enum op op)
{
	return op < OP_NR ? ops[op].name : "check";
}

/* The last HISTORY operations that completed, oldest first */
static void print_history(struct run *r)
{
	unsigned long first = r->op == OP_NR ? r->nr + 1 : r->nr;
	unsigned int i;

	for (i = 0; i < HISTORY; i++) {
		const struct history *h = &r->hist[(first + i) % HISTORY];

		if (!h->nr)
			continue;
		printf("#   op %lu: %s off %llu len %llu, size after %llu\n", h->nr,
		       op_name(h->op), (unsigned long long)h->off,
		       (unsigned long long)h->len, (unsigned long long)h->size);
	}
}

/*
 * A failed check: which operation, the ones before it, and where the
 * server has the file now (wrong there, or only in what the kernel kept?)
 */
static void report(struct run *r, const char *what)
{
	printf("# fmap_model/%s: %s file, op %lu (%s off %llu len %llu, model size %llu): %s\n",
	       r->name, kind_names[r->kind], r->nr, op_name(r->op),
	       (unsigned long long)r->op_off, (unsigned long long)r->op_len,
	       (unsigned long long)r->size, what);
	print_history(r);
	fixture_famfs(FX_LOG_OUT, "getmap", r->path);
}

/* @got holds file bytes [off, off + len): are they the model's? */
static bool same_bytes(struct run *r, const unsigned char *got, __u64 off,
		       __u64 len, const char *what)
{
	char msg[160];
	__u64 i;

	if (!memcmp(got, r->model + off, len))
		return true;
	for (i = 0; i < len && got[i] == r->model[off + i]; i++)
		;
	snprintf(msg, sizeof(msg), "%s: first wrong byte at file offset %llu: 0x%02x, model 0x%02x",
		 what, (unsigned long long)(off + i), got[i], r->model[off + i]);
	report(r, msg);
	return ASSERT_TRUE(false, "bytes match the model");
}

static bool syscall_ok(struct run *r, long long ret, long long want,
		       const char *what)
{
	char msg[160];

	if (ret == want)
		return true;
	if (ret < 0)
		snprintf(msg, sizeof(msg), "%s returned %lld, expected %lld (errno %d: %s)",
			 what, ret, want, errno, strerror(errno));
	else
		snprintf(msg, sizeof(msg), "%s returned %lld, expected %lld",
			 what, ret, want);
	report(r, msg);
	return ASSERT_EQ(ret, want, what);
}

static bool size_ok(struct run *r)
{
	struct stat st;

	if (!syscall_ok(r, fstat(r->fd, &st), 0, "fstat"))
		return false;
	return syscall_ok(r, st.st_size, r->size, "fstat size");
}

/* Read [off, off + len) with pread and compare, short reads at EOF included */
static bool check_range(struct run *r, __u64 off, __u64 len, const char *what)
{
	__u64 want = off >= r->size ? 0 : len < r->size - off ? len : r->size - off;
	ssize_t n;

	n = pread(r->fd, r->back, len, off);
	if (!syscall_ok(r, n, want, what))
		return false;
	return same_bytes(r, r->back, off, want, what);
}

static bool check_all(struct run *r)
{
	__u64 off;

	for (off = 0; off < r->size; off += MAX_LEN)
		if (!check_range(r, off, MAX_LEN, "whole-file check"))
			return false;
	return check_range(r, r->size, PAGE, "read at EOF");
}

/* An offset at most @limit, near a page or 2 MiB boundary or EOF, or any */
static __u64 pick_off(struct run *r, __u64 limit)
{
	__u64 base, jitter;

	switch (rnd(r, 8)) {
	case 0:
	case 1:
		return rnd(r, limit + 1);
	case 2:
		base = rnd(r, limit / PAGE + 1) * PAGE;
		break;
	case 3:
		base = rnd(r, limit / UNIT + 1) * UNIT;
		break;
	case 4:
	case 5:
	case 6:
		base = r->size;
		break;
	default:
		base = (r->size & ~(PAGE - 1)) + rnd(r, 2) * PAGE;
		break;
	}
	switch (rnd(r, 4)) {
	case 0:
		jitter = 0;
		break;
	case 1:
		jitter = 1;
		break;
	case 2:
		jitter = rnd(r, 64);
		break;
	default:
		jitter = rnd(r, 2 * PAGE);
		break;
	}
	base = rnd(r, 2) ? base + jitter : base > jitter ? base - jitter : 0;
	return base < limit ? base : limit;
}

/* A length from 1 to @max (1 if @max is 0): bytes, pages, up to 2 MiB */
static __u64 pick_len(struct run *r, __u64 max)
{
	__u64 len;

	switch (rnd(r, 8)) {
	case 0:
	case 1:
	case 2:
		len = 1 + rnd(r, 512);
		break;
	case 3:
	case 4:
		len = 1 + rnd(r, 3 * PAGE);
		break;
	case 5:
		len = PAGE * (1 + rnd(r, 16));
		break;
	case 6:
		len = 1 + rnd(r, 256 << 10);
		break;
	default:
		len = rnd(r, 2) ? UNIT : 1 + rnd(r, MAX_LEN);
		break;
	}
	if (len > max)
		len = max;
	return len ? len : 1;
}

/* Offsets for writes: mostly near what the file has, sometimes anywhere */
static __u64 write_limit(struct run *r)
{
	__u64 lim = r->size + 2 * UNIT;

	return rnd(r, 8) && lim < MAX_SIZE - 1 ? lim : MAX_SIZE - 1;
}

static void model_write(struct run *r, __u64 off, const unsigned char *p,
			__u64 len)
{
	memcpy(r->model + off, p, len);
	if (off + len > r->size)
		r->size = off + len;
}

static void model_resize(struct run *r, __u64 size)
{
	if (size < r->size)
		memset(r->model + size, 0, r->size - size);
	r->size = size;
}

static bool do_write(struct run *r, enum op op)
{
	int fd = r->fd;
	__u64 off, len;
	ssize_t n;

	if (op == OP_APPEND) {
		if (r->size == MAX_SIZE)
			return size_ok(r);	/* full: nothing to append */
		off = r->size;
		len = pick_len(r, MAX_SIZE - off);
		if (r->afd < 0) {
			r->afd = open(r->path, O_WRONLY | O_APPEND);
			if (r->afd < 0)
				return syscall_ok(r, r->afd, 0, "open(O_APPEND)");
		}
		fd = r->afd;
	} else {
		off = pick_off(r, write_limit(r));
		len = pick_len(r, MAX_SIZE - off);
	}
	r->op_off = off;
	r->op_len = len;
	fill_random(r, r->buf, len);
	if (op == OP_PWRITE) {
		n = pwrite(fd, r->buf, len, off);
	} else {
		if (op == OP_WRITE &&
		    !syscall_ok(r, lseek(fd, off, SEEK_SET), off, "lseek"))
			return false;
		n = write(fd, r->buf, len);
	}
	if (!syscall_ok(r, n, len, ops[op].name))
		return false;
	model_write(r, off, r->buf, len);
	if (op == OP_WRITE &&
	    !syscall_ok(r, lseek(fd, 0, SEEK_CUR), off + len, "file position"))
		return false;
	return size_ok(r) && check_range(r, off, len, "read back");
}

static bool do_read(struct run *r, enum op op)
{
	__u64 off = pick_off(r, r->size + 2 * PAGE);
	__u64 len = pick_len(r, MAX_LEN);
	__u64 want = off >= r->size ? 0 : len < r->size - off ? len : r->size - off;
	ssize_t n;

	r->op_off = off;
	r->op_len = len;
	if (op == OP_PREAD) {
		n = pread(r->fd, r->buf, len, off);
	} else {
		if (!syscall_ok(r, lseek(r->fd, off, SEEK_SET), off, "lseek"))
			return false;
		n = read(r->fd, r->buf, len);
	}
	if (!syscall_ok(r, n, want, ops[op].name) ||
	    !same_bytes(r, r->buf, off, want, ops[op].name))
		return false;
	if (op == OP_READ &&
	    !syscall_ok(r, lseek(r->fd, 0, SEEK_CUR), off + want, "file position"))
		return false;
	return size_ok(r);
}

/*
 * Map the pages of [off, off + len), inside EOF, and read or write them
 * there.  A read that reaches the EOF page also checks the rest of that
 * page: zeroes, whatever the file held there before.
 */
static bool do_mmap(struct run *r, enum op op)
{
	bool write = op == OP_MMAP_WRITE;
	__u64 off, len, map_off, map_len, eof_end;
	unsigned char *map;
	bool ok = true;

	if (!r->size) {
		r->op = OP_PWRITE;	/* nothing to map yet */
		return do_write(r, OP_PWRITE);
	}
	off = pick_off(r, r->size - 1);
	len = pick_len(r, r->size - off);
	r->op_off = off;
	r->op_len = len;
	map_off = off & ~(PAGE - 1);
	eof_end = (r->size + PAGE - 1) & ~(PAGE - 1);
	map_len = ((off + len + PAGE - 1) & ~(PAGE - 1)) - map_off;
	map = mmap(NULL, map_len, write ? PROT_READ | PROT_WRITE : PROT_READ,
		   MAP_SHARED, r->fd, map_off);
	if (map == MAP_FAILED)
		return syscall_ok(r, -1, 0, "mmap");
	if (write) {
		fill_random(r, r->buf, len);
		memcpy(map + (off - map_off), r->buf, len);
		ok = syscall_ok(r, msync(map, map_len, MS_SYNC), 0, "msync");
		model_write(r, off, r->buf, len);
	} else {
		ok = same_bytes(r, map + (off - map_off), off, len, "mmap read");
		if (ok && map_off + map_len == eof_end && r->size < eof_end)
			ok = same_bytes(r, map + (r->size - map_off), r->size,
					eof_end - r->size,
					"mmap read of the EOF page past EOF");
	}
	munmap(map, map_len);
	if (!ok || !size_ok(r))
		return false;
	return !write || check_range(r, off, len, "read back");
}

static bool do_truncate(struct run *r)
{
	__u64 size, from;

	switch (rnd(r, 4)) {
	case 0:		/* down */
		size = pick_off(r, r->size);
		break;
	case 1:		/* up */
		size = r->size + pick_len(r, MAX_SIZE - r->size);
		break;
	default:
		size = pick_off(r, write_limit(r));
		break;
	}
	if (size > MAX_SIZE)
		size = MAX_SIZE;
	r->op_off = size;
	r->op_len = 0;
	if (!syscall_ok(r, ftruncate(r->fd, size), 0, "ftruncate"))
		return false;
	from = size < r->size ? size : r->size;
	model_resize(r, size);
	/* the bytes either side of the lower of the old and the new end */
	from = from > 2 * PAGE ? from - 2 * PAGE : 0;
	return size_ok(r) && check_range(r, from, 4 * PAGE, "read around the new EOF");
}

static bool do_reopen(struct run *r, bool o_trunc)
{
	close(r->fd);
	if (r->afd >= 0)
		close(r->afd);
	r->afd = -1;
	r->op_off = 0;
	r->op_len = 0;
	r->fd = open(r->path, O_RDWR | (o_trunc ? O_TRUNC : 0));
	if (r->fd < 0)
		return syscall_ok(r, r->fd, 0, o_trunc ? "open(O_TRUNC)" : "open");
	if (o_trunc)
		model_resize(r, 0);
	return size_ok(r) && check_range(r, 0, PAGE, "read after reopening");
}

static bool do_fallocate(struct run *r, enum op op)
{
	int mode = ops[op].falloc_mode;
	bool keep = mode & FALLOC_FL_KEEP_SIZE;
	__u64 lim = keep && r->size + UNIT < MAX_SIZE ? r->size + UNIT : write_limit(r);
	__u64 off = pick_off(r, lim);
	__u64 len = pick_len(r, MAX_SIZE - off);
	__u64 end = off + len, from;

	r->op_off = off;
	r->op_len = len;
	if (fallocate(r->fd, mode, off, len))
		return syscall_ok(r, -1, 0, ops[op].name);
	if (op == OP_PUNCH || op == OP_ZERO || op == OP_ZERO_KEEP) {
		__u64 stop = end < r->size ? end : r->size;

		if (off < stop)
			memset(r->model + off, 0, stop - off);
	}
	if (!keep && end > r->size)
		r->size = end;
	if (!size_ok(r))
		return false;
	/* the range and a page either side: punches cut at units and pages */
	from = off > PAGE ? off - PAGE : 0;
	for (; from < end + PAGE; from += MAX_LEN)
		if (!check_range(r, from, end + PAGE - from < MAX_LEN ?
				 end + PAGE - from : MAX_LEN, "read back"))
			return false;
	return true;
}

static enum op pick_op(struct run *r)
{
	unsigned int total = 0, i, x;

	for (i = 0; i < OP_NR; i++)
		total += ops[i].weight;
	x = rnd(r, total);
	for (i = 0; i < OP_NR; i++) {
		if (x < ops[i].weight)
			break;
		x -= ops[i].weight;
	}
	return i;
}

static bool do_op(struct run *r, enum op op)
{
	switch (op) {
	case OP_WRITE:
	case OP_PWRITE:
	case OP_APPEND:
		return do_write(r, op);
	case OP_READ:
	case OP_PREAD:
		return do_read(r, op);
	case OP_MMAP_READ:
	case OP_MMAP_WRITE:
		return do_mmap(r, op);
	case OP_TRUNCATE:
		return do_truncate(r);
	case OP_REOPEN:
	case OP_REOPEN_TRUNC:
		return do_reopen(r, op == OP_REOPEN_TRUNC);
	default:
		return do_fallocate(r, op);
	}
}

/* "resolver=NAME": the subtest's */
static const char *mount_opts(struct run *r)
{
	static char opts[32];

	snprintf(opts, sizeof(opts), "resolver=%s", r->name);
	return opts;
}

/* A new file system on both devices each time: nothing left from before */
static bool fsd_mount(struct run *r)
{
	fixture_ensure_unmounted(FSD_MNT);
	if (!ASSERT_EQ(fixture_famfs(0, "mkfs", "-f", FX_DEV0, FX_DEV1), 0, "mkfs -f"))
		return false;
	mkdir(FSD_MNT, 0755);
	if (!ASSERT_EQ(fixture_famfs(0, "mount", "-o", mount_opts(r), FX_DEV0, FX_DEV1,
				     FSD_MNT), 0, "mount"))
		return false;
	r->mnt = FSD_MNT;
	return true;
}

static void fsd_unmount(struct run *r)
{
	fixture_ensure_unmounted(FSD_MNT);
	r->mnt = NULL;
}

static void add_counts(struct run *r);

/* The same devices mounted again: the kernel has nothing cached */
static bool fsd_remount(struct run *r)
{
	add_counts(r);
	r->mnt = NULL;
	if (!ASSERT_EQ(fixture_famfs(0, "umount", FSD_MNT), 0, "umount") ||
	    !ASSERT_EQ(fixture_famfs(0, "mount", "-o", mount_opts(r), FX_DEV0, FX_DEV1,
				     FSD_MNT), 0, "mount again"))
		return false;
	r->mnt = FSD_MNT;
	return true;
}

/*
 * The preset file: interleaved over both devices in 2 MiB chunks, set
 * while it is empty, then random bytes written around holes, one of them a
 * whole unit ([4 MiB, 6 MiB)), and ending inside the last unit.
 */
static bool fsd_preset(struct run *r)
{
	static const char stripe[] = "2 2097152";
	static const __u64 pieces[][2] = {
		{ 0, 1 * MiB + 100 }, { 2 * MiB + 5, 2 * MiB - 5 },
		{ 6 * MiB + 64 * 1024, 1 * MiB + 100 },
	};
	bool ok = true;
	unsigned int i;
	int fd;

	fd = open(r->path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (!ASSERT_OK_FD(fd, "create the preset file"))
		return false;
	ok = ASSERT_OK(fsetxattr(fd, FAMFS_XATTR_STRIPE, stripe, strlen(stripe), 0),
		       "set the stripe policy");
	for (i = 0; ok && i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		fill_random(r, r->buf, pieces[i][1]);
		ok = ASSERT_EQ(pwrite(fd, r->buf, pieces[i][1], pieces[i][0]),
			       (ssize_t)pieces[i][1], "write the preset file");
		if (ok)
			model_write(r, pieces[i][0], r->buf, pieces[i][1]);
	}
	close(fd);
	/* the layout: what this file kind is for */
	if (ok && ASSERT_EQ(fixture_famfs(FX_LOG_OUT, "getmap", r->path), 0, "getmap"))
		ok = ASSERT_TRUE(strstr(fixture_out, "2 strips, chunk 2097152") != NULL,
				 "the preset file is interleaved");
	return ok;
}

/* This mount's counters into the run's sums */
static void add_counts(struct run *r)
{
	unsigned int i;
	long long v;

	for (i = 0; i < C_NR; i++) {
		v = fixture_mnt_stat(r->mnt, counter_names[i]);
		if (v > 0)
			r->counts[i] += v;
	}
}

static bool attached_as_named(struct run *r)
{
	return ASSERT_EQ(fixture_mnt_stat(r->mnt, "bpf_attached"),
			 r->resolver == FBS_RESOLVER_BPF, "bpf_attached");
}

/*
 * @d (counter deltas, or sums) show that @r->resolver answered: it counted
 * resolutions, the other resolvers none; with @only, not one upcall either
 * (an upcall resolver: nothing else).
 */
static bool named_resolver_answered(struct run *r, const long long *d, bool only,
				    const char *what)
{
	bool ok = true;

	printf("# fmap_model/%s: %s: upcalls %lld, builtin_resolves %lld, bpf_resolves %lld, bpf_fallbacks %lld, rejects %lld\n",
	       r->name, what, d[C_UPCALLS], d[C_BUILTIN], d[C_BPF], d[C_BPF_FALLBACKS],
	       d[C_REJECTS]);
	switch (r->resolver) {
	case FBS_RESOLVER_UPCALL:
		ok &= ASSERT_GT(d[C_UPCALLS], 0, "upcalls answered");
		ok &= ASSERT_EQ(d[C_BUILTIN], 0, "no built-in resolutions");
		ok &= ASSERT_EQ(d[C_BPF], 0, "no BPF resolutions");
		break;
	case FBS_RESOLVER_BUILTIN:
		ok &= ASSERT_GT(d[C_BUILTIN], 0, "the built-in resolver answered");
		ok &= ASSERT_EQ(d[C_BPF], 0, "no BPF resolutions");
		if (only)
			ok &= ASSERT_EQ(d[C_UPCALLS], 0, "no upcalls");
		break;
	case FBS_RESOLVER_BPF:
		ok &= ASSERT_GT(d[C_BPF], 0, "the BPF resolver answered");
		ok &= ASSERT_EQ(d[C_BUILTIN], 0, "no built-in resolutions");
		if (only)
			ok &= ASSERT_EQ(d[C_UPCALLS], 0, "no upcalls");
		break;
	}
	ok &= ASSERT_EQ(d[C_REJECTS], 0, "no rejected answers");
	return ok;
}

/*
 * The preset file's first COLD_LEN bytes with nothing cached (after a
 * remount): the named resolver alone
 * answers, and gives the model's bytes.
 */
static bool cold_read(struct run *r)
{
	long long d[C_NR];
	unsigned int i;
	ssize_t n;
	int fd;

	attached_as_named(r);
	for (i = 0; i < C_NR; i++)
		d[i] = fixture_mnt_stat(r->mnt, counter_names[i]);
	fd = open(r->path, O_RDONLY);
	if (!ASSERT_OK_FD(fd, "open for the cold read"))
		return false;
	n = pread(fd, r->back, COLD_LEN, 0);
	close(fd);
	if (!syscall_ok(r, n, COLD_LEN, "cold read") ||
	    !same_bytes(r, r->back, 0, COLD_LEN, "cold read"))
		return false;
	for (i = 0; i < C_NR; i++)
		d[i] = fixture_mnt_stat(r->mnt, counter_names[i]) - d[i];
	named_resolver_answered(r, d, true, "cold read of the preset file");
	return true;	/* the model goes on: its sums are checked at the end */
}

/*
 * The file of @r->kind on a fresh mount: "preset" as fsd_preset() makes it;
 * "holes": written in three places of an empty file, then truncated up.
 */
static bool start_file(struct run *r)
{
	static const __u64 holes[][2] = {
		{ 1 * MiB + 123, 5000 }, { 4 * MiB - 10, 20 }, { 6 * MiB + PAGE, 1 },
	};
	unsigned int i;

	if (!fsd_mount(r))
		return false;
	r->mounts++;
	/* a wrong resolver is no reason to stop: the counters say more */
	attached_as_named(r);
	r->op = OP_NR;
	snprintf(r->path, sizeof(r->path), "%s/model", r->mnt);
	memset(r->model, 0, MAX_SIZE);
	r->size = 0;
	r->afd = -1;
	if (r->kind == FILE_PRESET) {
		if (!fsd_preset(r) || !fsd_remount(r) || !cold_read(r))
			return false;
		r->fd = open(r->path, O_RDWR);
	} else {
		r->fd = open(r->path, O_RDWR | O_CREAT | O_EXCL, 0644);
	}
	if (!ASSERT_OK_FD(r->fd, "open the file"))
		return false;
	if (r->kind == FILE_HOLES) {
		for (i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
			fill_random(r, r->buf, holes[i][1]);
			if (!ASSERT_EQ(pwrite(r->fd, r->buf, holes[i][1], holes[i][0]),
				       holes[i][1], "write around holes"))
				return false;
			model_write(r, holes[i][0], r->buf, holes[i][1]);
		}
		if (!ASSERT_OK(ftruncate(r->fd, 7 * MiB + 5), "truncate up"))
			return false;
		model_resize(r, 7 * MiB + 5);
	}
	r->budget = 0;
	return check_all(r);
}

static void end_file(struct run *r)
{
	if (r->fd >= 0)
		close(r->fd);
	if (r->afd >= 0)
		close(r->afd);
	r->fd = -1;
	r->afd = -1;
	if (r->mnt)
		add_counts(r);
	fsd_unmount(r);
	r->mnt = NULL;
}

/*
 * Space for the next operation: should a file that churns run the file
 * system dry, check the file one last time and go on with a new one on a
 * fresh mount.  (The daemon reuses what a file gave back: its free space
 * stays up, and a file lives through all its operations.)
 */
static bool ensure_space(struct run *r)
{
	struct statvfs sv;

	if (r->budget >= OP_UNITS)
		return true;
	if (!ASSERT_OK(statvfs(r->mnt, &sv), "statfs"))
		return false;
	r->budget = sv.f_bavail;
	if (r->budget >= 4 * OP_UNITS)
		return true;
	r->op = OP_NR;
	if (!check_all(r))
		return false;
	end_file(r);
	return start_file(r);
}

static bool run_file(struct run *r, __u64 seed, unsigned long nops)
{
	unsigned long i;

	/* one stream per file kind: a kind replays alone */
	r->rng = seed * 0x9E3779B97F4A7C15ULL + r->kind + 1;
	if (!r->rng)
		r->rng = 1;
	if (!start_file(r))
		return false;
	for (i = 0; i < nops; i++) {
		struct history *h;
		enum op op;

		if (!ensure_space(r))
			return false;
		op = pick_op(r);
		r->nr++;
		r->op = op;
		if (!do_op(r, op))
			return false;
		h = &r->hist[r->nr % HISTORY];
		*h = (struct history){ r->nr, r->op, r->op_off, r->op_len, r->size };
		r->budget -= OP_UNITS;
		if (i % CHECK_EVERY == CHECK_EVERY - 1) {
			r->op = OP_NR;
			if (!check_all(r))
				return false;
		}
	}
	r->op = OP_NR;
	return check_all(r);
}

static unsigned long long env_ull(const char *name, unsigned long long def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

/* FMAP_MODEL_SEED, or DEFAULT_SEED if @fixed, or a new one each run */
static __u64 pick_seed(bool fixed)
{
	struct timespec ts;
	__u64 seed;

	clock_gettime(CLOCK_REALTIME, &ts);
	seed = (__u64)ts.tv_sec * 1000000007ULL ^ ts.tv_nsec ^ (__u64)getpid() << 40;
	return env_ull("FMAP_MODEL_SEED", fixed ? DEFAULT_SEED : seed ? seed : 1);
}

static void model_test(const char *name, enum fbs_resolver resolver, unsigned long default_ops,
		       bool fixed_seed)
{
	__u64 seed = pick_seed(fixed_seed);
	/*
	 * A sixth on the debug kernel: the same paths, each several times
	 * slower there (a third took 7.3 min for the four subtests on a
	 * loaded 2-core host, most of the debug run).
	 */
	unsigned long nops = env_ull("FMAP_MODEL_OPS", fixture_debug_kernel() ?
				     default_ops / 6 : default_ops);
	struct run r = {
		.name = name,
		.resolver = resolver,
		.fd = -1,
		.afd = -1,
	};
	struct timespec t0, t1;
	unsigned int k;

	printf("# fmap_model/%s: seed %llu (%s), %lu operations; replay: env FMAP_MODEL_SEED=%llu FMAP_MODEL_OPS=%lu test_progs -t fmap_model/%s\n",
	       name, (unsigned long long)seed,
	       getenv("FMAP_MODEL_SEED") ? "FMAP_MODEL_SEED" : fixed_seed ? "fixed" : "new each run",
	       nops, (unsigned long long)seed, nops, name);
	r.model = malloc(MAX_SIZE);
	r.buf = malloc(MAX_LEN);
	r.back = malloc(MAX_LEN);
	if (!ASSERT_TRUE(r.model && r.buf && r.back, "malloc"))
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (k = 0; k < FILE_KINDS; k++) {
		unsigned long n = nops / FILE_KINDS + (k < nops % FILE_KINDS);

		r.kind = k;
		if (!run_file(&r, seed, n))
			break;
		end_file(&r);
	}
	/* every mount's counters: the named resolver did the work */
	if (k == FILE_KINDS)
		named_resolver_answered(&r, r.counts, false, "all mounts");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# fmap_model/%s: %lu operations, %lu mounts, %.1f s\n", name,
	       r.nr, r.mounts,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
out:
	end_file(&r);
	free(r.model);
	free(r.buf);
	free(r.back);
}

void test_fmap_model(void)
{
	if (!fixture_famfs_bin())
		return;
	if (test__start_subtest("upcall"))
		model_test("upcall", FBS_RESOLVER_UPCALL, SLOW_OPS, true);
	/* the others: a new seed each run, printed */
	if (test__start_subtest("builtin"))
		model_test("builtin", FBS_RESOLVER_BUILTIN, SLOW_OPS, false);
	if (test__start_subtest("bpf"))
		model_test("bpf", FBS_RESOLVER_BPF, DEFAULT_OPS, false);
}
