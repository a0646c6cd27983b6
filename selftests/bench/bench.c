// SPDX-License-Identifier: GPL-2.0
/*
 * famfs-bench: BPF vs built-in C vs upcall resolution, side by side, in one
 * guest run (`make bench`; selftests/bench/bench.sh boots the guest).
 *
 *   famfs-bench OUTDIR
 *
 * Every case mounts the server library once per resolver, all at once, over
 * the same devices (/dev/pmem0, /dev/pmem1) with the same layouts, and
 * measures them in interleaved rounds; where it applies, ext2 -o dax on
 * /dev/pmem2 and ext4 -o dax on /dev/pmem3 (the bench guest's fourth
 * region) take their turns too, as references.  Results are
 * JSON lines {"case", "resolver", "metric", "value", "unit"} in
 * OUTDIR/raw.jsonl; selftests/bench/report.py turns them into the table,
 * the ratios, results.json and the scaling plot.
 *
 * Cases:
 *  miss_iomap_begin  fuse_fmap_iomap_begin() on a mapping-cache miss, the
 *                    whole miss path (resolver, validator, cache insert),
 *                    timed by fentry/fexit (progs/bench_fmap.bpf.c) and
 *                    filed by the source the fuse_fmap_resolve tracepoint
 *                    names; ext2_iomap_begin() as the reference.
 *  resolver_call     the resolver's own call: fuse_fmap_bpf_resolve(),
 *                    fuse_fmap_builtin_resolve(), fuse_fmap_upcall().
 *  pread_4k_random   end to end: clock_gettime() around each 4 KiB pread.
 *                    These three over a file of 1024 simple extents on
 *                    alternating devices, far more than the 16-entry cache
 *                    holds.  (Interleaved extents are cached whole: a file
 *                    of chunks would miss once.)
 *  fault_4k_random   random 4 KiB loads through a fresh mmap each round (the
 *                    rate of the median round is reported), at
 *                    an address that is not PMD aligned (PTE faults only),
 *                    over a 256 MiB file of 1024 simple extents.
 *  fault_2m_pmd      one load per 2 MiB of a file of 2 MiB extents, mapped
 *                    PMD aligned: PMD faults, each a miss.
 *  scale_files/N     resolver_call with N files (random file, offset), of
 *                    one interleaved extent each, forgotten before each
 *                    access so that it misses.
 *  scale_extents/N   resolver_call in a file of N simple extents (not
 *                    uniform: the O(log n) search); small N invalidate the
 *                    file's mappings between rounds so that misses happen.
 *  seq_read          read(2) of a file in 1 MiB calls (median of 4 rounds),
 *                    against an O_DIRECT
 *                    read of the raw /dev/pmem0 and of the ext2 and ext4
 *                    files.
 *  append_100b,      O_APPEND write(2)s of 100 bytes and of 64 KiB to a new
 *  append_64k        file, the rate over all of them: the famfs-bpf daemon
 *                    (mkfs, mount, BPF resolver) against ext2 and ext4
 *                    -o dax, each in turn on /dev/pmem2 (runs last: it
 *                    takes the ext2 reference's device).
 *  small_tree        cp -r of a generated tree of 8,000 files (1 byte to
 *                    2 MiB, most below 16 KiB) into the famfs-bpf daemon
 *                    and ext4 -o dax, each on /dev/pmem2: the time, and
 *                    the space used per byte of file data.
 *  large_file        a 128 MiB file written through the daemon, then PMD
 *                    faults (one load per 2 MiB) and read(2) bandwidth, on
 *                    a file system in 4 KiB pages (mkfs's default) and in
 *                    whole 2 MiB units (mkfs -U): pages must cost large
 *                    files nothing.
 *
 * Sizes come from the environment (BENCH_QUICK=1 for a smoke run,
 * BENCH_VERBOSE=1 for the server's warnings); timings
 * under TCG are distorted, so only ratios within one run mean anything.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bench_fmap.h"
#include "bench_fmap.skel.h"
#include "fixture.h"
#include "fs/log.h"

#define KiB		(1ULL << 10)
#define PAGE		(4 * KiB)
#define PMD		(2 * MiB)
#define EXT2_DEV	"/dev/pmem2"
#define EXT2_MNT	"/tmp/bench-ext2"
#define EXT2_FILE	EXT2_MNT "/data"
#define EXT4_DEV	"/dev/pmem3"
#define EXT4_MNT	"/tmp/bench-ext4"
#define EXT4_FILE	EXT4_MNT "/data"

#ifndef FBS_MAX_FILES
#define FBS_MAX_FILES	100000
#endif

struct resolver {
	const char *name;
	enum fbs_resolver kind;
	int slot;		/* BENCH_SLOT_* of its samples */
};

static const struct resolver resolvers[] = {
#ifdef BENCH_HAVE_BPF
	{ "bpf", FBS_RESOLVER_BPF, BENCH_SLOT_BPF },
#endif
	{ "builtin", FBS_RESOLVER_BUILTIN, BENCH_SLOT_BUILTIN },
	{ "upcall", FBS_RESOLVER_UPCALL, BENCH_SLOT_UPCALL },
};
#define NRES (sizeof(resolvers) / sizeof(resolvers[0]))

static const char *const slot_names[BENCH_NSLOTS] = {
	"cache", "upcall", "builtin", "bpf", "ext2", "none",
};

/* Sizes (environment overrides, see main) */
static struct {
	__u64 miss_size;	/* the per-miss file */
	unsigned int miss_ops;
	__u64 fault_size;	/* the fault files and the ext2 file */
	unsigned int pte_touches, pte_rounds, pmd_rounds;
	unsigned int scale_samples;
	__u64 seq_size;
	unsigned int append_small, append_large;	/* appends of 100 B, 64 KiB */
} cfg = {
	.miss_size = 64 * MiB,
	.miss_ops = 2000,
	.fault_size = 256 * MiB,
	.pte_touches = 1024,
	.pte_rounds = 16,
	.pmd_rounds = 32,
	.scale_samples = 500,
	.seq_size = 64 * MiB,
	.append_small = 20000,
	.append_large = 1000,
};

static struct bench_fmap_bpf *skel;
static FILE *out;
static bool have_ext2, have_ext4;
static unsigned char *iobuf;	/* 1 MiB, page aligned */

/*
 * The local file systems' files as targets after the resolvers': ext2's
 * (no huge_fault: not for PMD faults), then ext4's.  Opens each that is
 * there into fds[*n] and names[*n].
 */
static void add_references(int *fds, const char **names, unsigned int *n, bool pmd)
{
	if (have_ext2 && !pmd) {
		fds[*n] = open(EXT2_FILE, O_RDONLY);
		if (fds[*n] >= 0)
			names[(*n)++] = "ext2-dax";
	}
	if (have_ext4) {
		fds[*n] = open(EXT4_FILE, O_RDONLY);
		if (fds[*n] >= 0)
			names[(*n)++] = "ext4-dax";
	}
}
static __u64 rng_state = 0x9E3779B97F4A7C15ULL;

enum probe_set { PROBES_NONE, PROBES_MISS, PROBES_RESOLVER, PROBES_FAULTS };
#define MAX_LINKS 8
static struct bpf_link *links[MAX_LINKS];

static __u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * fixture.c's helpers check with the ASSERT_*() macros of test_progs,
 * which print the failure and call this.  The bench passes or fails
 * nothing: the printed line is all a failed helper leaves.
 */
void test__fail(void);
void test__fail(void)
{
}

static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

static void emit(const char *name, const char *resolver, const char *metric,
		 double value, const char *unit)
{
	fprintf(out, "{\"case\": \"%s\", \"resolver\": \"%s\", \"metric\": \"%s\", "
		"\"value\": %.6g, \"unit\": \"%s\"}\n",
		name, resolver, metric, value, unit);
	fflush(out);
}

/* ---- probes ---- */

static void probes(enum probe_set set)
{
	struct bpf_program *progs[MAX_LINKS] = { 0 };
	unsigned int i, n = 0;

	for (i = 0; i < MAX_LINKS; i++) {
		bpf_link__destroy(links[i]);
		links[i] = NULL;
	}
	switch (set) {
	case PROBES_NONE:
		return;
	case PROBES_MISS:
		progs[n++] = skel->progs.iomap_enter;
		progs[n++] = skel->progs.iomap_exit;
		progs[n++] = skel->progs.on_resolve;
		progs[n++] = skel->progs.ext2_enter;
		progs[n++] = skel->progs.ext2_exit;
		break;
	case PROBES_RESOLVER:
		progs[n++] = skel->progs.upcall_enter;
		progs[n++] = skel->progs.upcall_exit;
		progs[n++] = skel->progs.builtin_enter;
		progs[n++] = skel->progs.builtin_exit;
		progs[n++] = skel->progs.bpf_enter;
		progs[n++] = skel->progs.bpf_exit;
		break;
	case PROBES_FAULTS:
		progs[n++] = skel->progs.on_pte_fault_done;
		progs[n++] = skel->progs.on_pmd_fault_done;
		break;
	}
	for (i = 0; i < n; i++) {
		if (!bpf_program__autoload(progs[i]))
			continue;
		links[i] = bpf_program__attach(progs[i]);
		if (!links[i]) {
			links[i] = NULL;
			note("attach %s failed: %s", bpf_program__name(progs[i]),
			     strerror(errno));
		}
	}
	memset(skel->bss->nsamp, 0, sizeof(skel->bss->nsamp));
	skel->bss->pte_faults = skel->bss->pmd_faults = 0;
	skel->bss->pmd_fallbacks = 0;
}

static bool kernel_has_func(struct btf *vmlinux, const char *name)
{
	return vmlinux && btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) >= 0;
}

static int probes_load(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int err;

	skel = bench_fmap_bpf__open();
	if (!skel)
		return -errno;
	/* each pair only where the kernel has its function */
	if (!kernel_has_func(vmlinux, "fuse_fmap_bpf_resolve")) {
		bpf_program__set_autoload(skel->progs.bpf_enter, false);
		bpf_program__set_autoload(skel->progs.bpf_exit, false);
	}
	if (!kernel_has_func(vmlinux, "fuse_fmap_builtin_resolve")) {
		bpf_program__set_autoload(skel->progs.builtin_enter, false);
		bpf_program__set_autoload(skel->progs.builtin_exit, false);
	}
	btf__free(vmlinux);
	err = bench_fmap_bpf__load(skel);
	if (err)
		note("loading the probes failed: %d", err);
	return err;
}

/* ---- statistics ---- */

struct stats {
	__u64 n, min, median, p99;
};

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static struct stats stats_of(__u64 *v, __u64 n)
{
	struct stats st = { .n = n };

	if (!n)
		return st;
	qsort(v, n, sizeof(*v), cmp_u64);
	st.min = v[0];
	st.median = v[n / 2];
	st.p99 = v[n * 99 / 100 < n ? n * 99 / 100 : n - 1];
	return st;
}

static __u64 slot_count(int slot)
{
	return skel->bss->nsamp[slot];
}

static struct stats slot_stats(int slot)
{
	static __u64 copy[BENCH_NSAMP];
	__u64 n = slot_count(slot);

	if (n > BENCH_NSAMP)
		n = BENCH_NSAMP;
	memcpy(copy, skel->bss->samples[slot], n * sizeof(*copy));
	return stats_of(copy, n);
}

static void emit_stats(const char *name, const char *resolver,
		       const struct stats *st)
{
	emit(name, resolver, "min", st->min, "ns");
	emit(name, resolver, "median", st->median, "ns");
	emit(name, resolver, "p99", st->p99, "ns");
	emit(name, resolver, "samples", st->n, "count");
	note("%-18s %-8s n=%-6llu min %8llu  median %8llu  p99 %8llu ns", name,
	     resolver, (unsigned long long)st->n, (unsigned long long)st->min,
	     (unsigned long long)st->median, (unsigned long long)st->p99);
}

/* Which sources answered the traced calls: a resolver that was not used
 * would otherwise hide behind another's numbers. */
static void note_sources(const char *name, const char *resolver, int want)
{
	__u64 misses = 0, total = 0;
	char line[256];
	int s, len = 0;

	for (s = 0; s < BENCH_NSLOTS; s++) {
		total += slot_count(s);
		if (s != BENCH_SLOT_CACHE)
			misses += slot_count(s);
		len += snprintf(line + len, sizeof(line) - len, " %s=%llu",
				slot_names[s], (unsigned long long)slot_count(s));
	}
	note("%s %s: calls by source:%s", name, resolver, line);
	if (want >= 0 && misses)
		emit(name, resolver, "served_by_resolver",
		     (double)slot_count(want) / misses, "fraction");
	(void)total;
}

/* ---- mounts: one per resolver, all at once ---- */

/*
 * Every case mounts all resolvers side by side over the same devices and
 * interleaves them in rounds (a batch each, in turn), so that a change in
 * the host's load during the run falls on every column alike.
 */
static struct fixture mounts[NRES];
static long long served0[NRES], misses0[NRES];

static const char *const served_counter[] = {
	[FBS_RESOLVER_UPCALL] = "upcalls",
	[FBS_RESOLVER_BUILTIN] = "builtin_resolves",
#ifdef BENCH_HAVE_BPF
	[FBS_RESOLVER_BPF] = "bpf_resolves",
#endif
};

static int mount_all(void)
{
	unsigned int i;
	int err;

	for (i = 0; i < NRES; i++) {
		struct fbs_config c = {
			.ndevs = 2,
			.devs = { { .path = FX_DEV0 }, { .path = FX_DEV1 } },
			.resolver = resolvers[i].kind,
			.alloc_start = FX_ALLOC_START,
		};
		struct fixture *fx = &mounts[i];
		unsigned int tries;

		memset(fx, 0, sizeof(*fx));
		snprintf(fx->mnt, sizeof(fx->mnt), "/tmp/famfs-bench.%s",
			 resolvers[i].name);
		mkdir(fx->mnt, 0755);
		c.mountpoint = fx->mnt;
		/*
		 * fbs_server_start() can race its serving thread to attach the
		 * BPF resolver (both attach; one gets -EALREADY or -EBUSY):
		 * try again rather than lose a column.
		 */
		for (tries = 0; tries < 8; tries++) {
			err = fbs_server_create(&c, &fx->srv);
			if (err)
				break;
			err = fbs_server_start(fx->srv);
			if (!err)
				break;
			fbs_server_destroy(fx->srv);
			fx->srv = NULL;
			note("mount (%s) failed: %s; again", resolvers[i].name,
			     strerror(-err));
		}
		if (err) {
			note("mount (%s) failed: %s", resolvers[i].name, strerror(-err));
			return err;
		}
	}
	return 0;
}

static void unmount_all(void)
{
	unsigned int i;

	for (i = 0; i < NRES; i++)
		fixture_unmount(&mounts[i]);
}

/* Start of a measured stretch: the counters that say who served misses */
static void served_begin(void)
{
	unsigned int i;

	for (i = 0; i < NRES; i++) {
		served0[i] = fixture_stat(&mounts[i], served_counter[resolvers[i].kind]);
		misses0[i] = fixture_stat(&mounts[i], "cache_misses");
	}
}

/*
 * End of it: the share of cache misses that the resolver of each mount
 * answered itself (the rest fell back, to the upcall).  A column that was
 * not served by its resolver must not pass for it.
 */
static void served_end(const char *name)
{
	unsigned int i;

	for (i = 0; i < NRES; i++) {
		long long s = fixture_stat(&mounts[i], served_counter[resolvers[i].kind]);
		long long m = fixture_stat(&mounts[i], "cache_misses");

		if (m <= misses0[i])
			continue;
		emit(name, resolvers[i].name, "served_by_resolver",
		     (double)(s - served0[i]) / (m - misses0[i]), "fraction");
		if ((double)(s - served0[i]) / (m - misses0[i]) < 0.95)
			note("%s %s: only %lld of %lld misses served by %s", name,
			     resolvers[i].name, s - served0[i], m - misses0[i],
			     resolvers[i].name);
	}
}

static void note_counters(void)
{
	static const char *const names[] = {
		"cache_hits", "cache_misses", "upcalls", "builtin_resolves",
		"bpf_resolves", "bpf_fallbacks", "bpf_rejects", "rejects",
	};
	unsigned int i, j;

	for (j = 0; j < NRES; j++) {
		char line[256];
		int len = 0;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			long long v = fixture_stat(&mounts[j], names[i]);

			if (v >= 0)
				len += snprintf(line + len, sizeof(line) - len,
						" %s=%lld", names[i], v);
		}
		note("%s: fmap_stats%s", resolvers[j].name, line);
	}
}

/* ---- files ---- */

static void strips2(struct fmap_strip *st, __u64 off0, __u64 off1)
{
	memset(st, 0, 2 * sizeof(*st));
	st[0].dev = 0;
	st[0].dev_off = off0;
	st[1].dev = 1;
	st[1].dev_off = off1;
}

/*
 * A file of @size in simple extents of @len (0: @size / 1024, at least
 * 4 KiB), at most 1024, on pmem0 and pmem1 in turn, each device's from
 * @dev_off on.  @ext has room for 1024; @l points at it.
 */
#define SPREAD_EXTENTS	1024

static void spread2(struct fbs_layout *l, struct fmap_simple_ext *ext,
		    __u64 size, __u64 len, __u64 dev_off)
{
	unsigned int i, n;

	if (!len)
		len = size / SPREAD_EXTENTS;
	if (len < PAGE)
		len = PAGE;
	n = size / len;
	if (n > SPREAD_EXTENTS)
		n = SPREAD_EXTENTS;
	for (i = 0; i < n; i++) {
		ext[i].file_off = i * len;
		ext[i].len = len;
		ext[i].dev = i & 1;
		ext[i].dev_off = dev_off + (i / 2) * len;
	}
	layout_simple(l, n, ext);
}

/* An interleaved layout over pmem0 and pmem1, both strips from @dev_off. */
static void ileave2(struct fbs_layout *l, __u64 size, unsigned int chunk_shift,
		    __u64 dev_off)
{
	struct fmap_strip st[2];

	strips2(st, dev_off, dev_off);
	layout_ileave(l, size, 2, chunk_shift, st);
}

static int open_in(struct fixture *fx, const char *name, int flags)
{
	char path[128];

	return open(fixture_path(fx, name, path, sizeof(path)), flags);
}

/* Add @name with @l to every mount and open it there; false on failure. */
static bool add_all(const char *name, __u64 size, const struct fbs_layout *l,
		    int *fds)
{
	unsigned int i;
	int err;

	for (i = 0; i < NRES; i++) {
		err = fbs_server_add_file(mounts[i].srv, name, size, l);
		if (err) {
			note("%s: adding %s failed: %s", resolvers[i].name, name,
			     strerror(-err));
			return false;
		}
		fds[i] = open_in(&mounts[i], name, O_RDONLY);
		if (fds[i] < 0) {
			note("%s: open %s: %s", resolvers[i].name, name, strerror(errno));
			return false;
		}
	}
	return true;
}

static void close_all(int *fds, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* @n random 4 KiB preads within [0, size); errors counted, not fatal */
static unsigned int random_preads(int fd, __u64 size, unsigned int n,
				  __u64 *lat)
{
	unsigned int i, errors = 0;

	for (i = 0; i < n; i++) {
		__u64 off = (rnd() % (size / PAGE)) * PAGE, t0 = 0;

		if (lat)
			t0 = now_ns();
		if (pread(fd, iobuf, PAGE, off) != (ssize_t)PAGE)
			errors++;
		if (lat)
			lat[i] = now_ns() - t0;
	}
	return errors;
}

/*
 * The BPF resolver's program (famfs_resolve, bpf/resolver.bpf.c) of the
 * mounts: an fd, or -1.
 */
static int resolve_prog(void)
{
	struct bpf_prog_info info;
	__u32 id = 0, len;
	int fd;

	while (!bpf_prog_get_next_id(id, &id)) {
		fd = bpf_prog_get_fd_by_id(id);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_prog_get_info_by_fd(fd, &info, &len) &&
		    info.type == BPF_PROG_TYPE_STRUCT_OPS && !strcmp(info.name, "famfs_resolve"))
			return fd;
		close(fd);
	}
	return -1;
}

/*
 * The breakdown of a BPF resolver call: the program's own time, the mean
 * of run_time_ns over run_cnt (kernel.bpf_stats_enabled, on only for
 * this pass: it adds two clock reads per run) while @work(@arg) runs.
 * The rest of resolver_call (median) is the struct_ops trampoline and
 * fuse_fmap_bpf_resolve() around it.
 */
static void program_time(const char *name, void (*work)(void *), void *arg)
{
	struct bpf_prog_info a = { 0 }, b = { 0 };
	__u32 len = sizeof(a);
	int pfd = resolve_prog(), sfd = -1;
	__u64 n;

	if (pfd < 0) {
		note("%s: no famfs_resolve program found", name);
		return;
	}
	sfd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (sfd < 0 || bpf_prog_get_info_by_fd(pfd, &a, &len)) {
		note("%s: no BPF run-time statistics: %s", name, strerror(errno));
		goto out;
	}
	work(arg);
	len = sizeof(b);
	if (bpf_prog_get_info_by_fd(pfd, &b, &len))
		goto out;
	n = b.run_cnt - a.run_cnt;
	if (!n)
		goto out;
	emit(name, "bpf", "program_mean", (double)(b.run_time_ns - a.run_time_ns) / n, "ns");
	note("%-20s bpf      n=%-6llu program alone: mean %8.0f ns", name,
	     (unsigned long long)n, (double)(b.run_time_ns - a.run_time_ns) / n);
out:
	if (sfd >= 0)
		close(sfd);
	close(pfd);
}

struct preads_arg {
	int fd;
	__u64 size;
	unsigned int n;
};

static void preads_work(void *arg)
{
	struct preads_arg *p = arg;

	random_preads(p->fd, p->size, p->n, NULL);
}

/* Target t of a round, rotated so that nobody always goes first. */
static unsigned int turn(unsigned int round, unsigned int t, unsigned int n)
{
	return (round + t) % n;
}

/* ---- per-miss cost and end-to-end pread ---- */

#define MISS_ROUNDS 10

static void case_miss(void)
{
	struct fmap_simple_ext *ext = calloc(SPREAD_EXTENTS, sizeof(*ext));
	struct fbs_layout *l = calloc(1, sizeof(*l));
	unsigned int i, t, round, ntargets, per, errors = 0;
	const char *names[NRES + 2];
	int fds[NRES + 2];
	__u64 *lat[NRES + 2];
	struct stats st;

	note("== per-miss cost: %llu MiB file, %u simple extents over 2 devices, %u random 4 KiB preads per resolver",
	     (unsigned long long)(cfg.miss_size / MiB), SPREAD_EXTENTS,
	     cfg.miss_ops);
	memset(fds, -1, sizeof(fds));
	if (!ext || !l)
		goto out;
	spread2(l, ext, cfg.miss_size, 0, 0);
	if (mount_all() || !add_all("m", cfg.miss_size, l, fds))
		goto out;
	ntargets = NRES;
	for (t = 0; t < NRES; t++)
		names[t] = resolvers[t].name;
	add_references(fds, names, &ntargets, false);
	per = cfg.miss_ops / MISS_ROUNDS;
	/* the built-in resolver fetches the layout on the first miss */
	for (t = 0; t < ntargets; t++)
		random_preads(fds[t], cfg.miss_size, 16, NULL);

	served_begin();
	probes(PROBES_MISS);
	for (round = 0; round < MISS_ROUNDS; round++)
		for (t = 0; t < ntargets; t++)
			errors += random_preads(fds[turn(round, t, ntargets)],
						cfg.miss_size, per, NULL);
	probes(PROBES_NONE);
	for (i = 0; i < NRES; i++) {
		st = slot_stats(resolvers[i].slot);
		emit_stats("miss_iomap_begin", resolvers[i].name, &st);
	}
	/* the probes time ext2_iomap_begin() only */
	if (ntargets > NRES && !strcmp(names[NRES], "ext2-dax")) {
		st = slot_stats(BENCH_SLOT_EXT2);
		emit_stats("miss_iomap_begin", "ext2-dax", &st);
	}
	note_sources("miss_iomap_begin", "all", -1);

	probes(PROBES_RESOLVER);
	for (round = 0; round < MISS_ROUNDS; round++)
		for (t = 0; t < NRES; t++)
			errors += random_preads(fds[turn(round, t, NRES)],
						cfg.miss_size, per, NULL);
	probes(PROBES_NONE);
	for (i = 0; i < NRES; i++) {
		st = slot_stats(resolvers[i].slot);
		emit_stats("resolver_call", resolvers[i].name, &st);
	}
	for (i = 0; i < NRES; i++) {
		struct preads_arg pa = { fds[i], cfg.miss_size, per };

		if (resolvers[i].kind == FBS_RESOLVER_BPF)
			program_time("resolver_call", preads_work, &pa);
	}

	for (t = 0; t < ntargets; t++)
		lat[t] = calloc(per * MISS_ROUNDS, sizeof(**lat));
	for (round = 0; round < MISS_ROUNDS; round++)
		for (t = 0; t < ntargets; t++) {
			unsigned int k = turn(round, t, ntargets);

			errors += random_preads(fds[k], cfg.miss_size, per,
						lat[k] + round * per);
		}
	for (t = 0; t < ntargets; t++) {
		st = stats_of(lat[t], per * MISS_ROUNDS);
		emit_stats("pread_4k_random", names[t], &st);
		free(lat[t]);
	}
	served_end("miss");
	if (errors)
		note("%u preads failed", errors);
	note_counters();
out:
	close_all(fds, NRES + 2);
	unmount_all();
	free(l);
	free(ext);
}

/* ---- faults ---- */

/* Map @size of @fd at an address @misalign bytes past a PMD boundary. */
static unsigned char *map_at(int fd, __u64 size, __u64 misalign, void **area)
{
	uintptr_t a;

	*area = mmap(NULL, size + 2 * PMD, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (*area == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)*area + PMD - 1) & ~(uintptr_t)(PMD - 1);
	a += misalign;
	if (mmap((void *)a, size, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) ==
	    MAP_FAILED) {
		munmap(*area, size + 2 * PMD);
		return NULL;
	}
	return (unsigned char *)a;
}

static void shuffle(__u32 *v, __u32 n)
{
	__u32 i, j, t;

	for (i = 0; i < n; i++)
		v[i] = i;
	for (i = n - 1; i > 0; i--) {
		j = rnd() % (i + 1);
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

/*
 * One round of faults: a fresh mapping of @fd touched at @touches distinct
 * units of @unit bytes in random order.  Returns the ns the loads took,
 * 0 on failure.
 */
static __u64 fault_round(int fd, __u64 size, __u64 unit, __u64 misalign,
			 unsigned int touches)
{
	static __u32 *order;
	static __u32 norder, pos;
	__u32 nunits = size / unit;
	volatile unsigned char *map;
	unsigned long sum = 0;
	unsigned int i;
	void *area;
	__u64 t0;

	if (norder != nunits) {
		free(order);
		order = malloc(nunits * sizeof(*order));
		if (!order)
			return 0;
		norder = nunits;
		pos = nunits;
	}
	if (touches > nunits)
		touches = nunits;
	if (pos + touches > nunits) {
		shuffle(order, nunits);
		pos = 0;
	}
	map = map_at(fd, size, misalign, &area);
	if (!map) {
		note("mmap failed: %s", strerror(errno));
		return 0;
	}
	t0 = now_ns();
	for (i = 0; i < touches; i++)
		sum += map[(__u64)order[pos + i] * unit];
	t0 = now_ns() - t0;
	pos += touches;
	munmap(area, size + 2 * PMD);
	(void)sum;
	return t0;
}

static void fault_case(const char *name, bool pmd, int *fds, const char **names,
		       unsigned int ntargets)
{
	unsigned int rounds = pmd ? cfg.pmd_rounds : cfg.pte_rounds;
	unsigned int touches = pmd ? cfg.fault_size / PMD : cfg.pte_touches;
	__u64 kind[NRES + 2] = { 0 }, other[NRES + 2] = { 0 };
	__u64 *ns[NRES + 2] = { 0 };
	unsigned int round, t;

	if (touches > cfg.fault_size / PAGE)
		touches = cfg.fault_size / PAGE;
	for (t = 0; t < ntargets; t++)
		ns[t] = calloc(rounds, sizeof(**ns));
	probes(PROBES_FAULTS);
	for (round = 0; round < rounds; round++)
		for (t = 0; t < ntargets; t++) {
			unsigned int k = turn(round, t, ntargets);
			__u64 pte0 = skel->bss->pte_faults;
			__u64 pmd0 = skel->bss->pmd_faults;

			ns[k][round] = fault_round(fds[k], cfg.fault_size,
						   pmd ? PMD : PAGE, pmd ? 0 : PAGE,
						   touches);
			kind[k] += pmd ? skel->bss->pmd_faults - pmd0 :
					 skel->bss->pte_faults - pte0;
			other[k] += pmd ? skel->bss->pte_faults - pte0 :
					  skel->bss->pmd_faults - pmd0;
		}
	probes(PROBES_NONE);
	for (t = 0; t < ntargets; t++) {
		const char *res = names[t];
		/* the median round: a host hiccup in one round moves nothing */
		struct stats st = stats_of(ns[t], rounds);
		double rate = st.min ? (double)touches * 1e9 / st.median : 0;

		free(ns[t]);

		emit(name, res, "faults_per_s", rate, "1/s");
		note("%-18s %-8s %10.0f faults/s (median of %u rounds of %u loads)",
		     name, res, rate, rounds, touches);
		if (t >= NRES)
			continue;	/* the counters watch FUSE only */
		note("%s %s: %llu %s faults of %llu loads, %llu of the other kind",
		     name, res, (unsigned long long)kind[t], pmd ? "PMD" : "PTE",
		     (unsigned long long)rounds * touches,
		     (unsigned long long)other[t]);
		emit(name, res, "expected_fault_kind",
		     kind[t] == (__u64)rounds * touches && !other[t], "bool");
	}
}

static void case_faults(void)
{
	struct fmap_simple_ext *pte_ext = calloc(SPREAD_EXTENTS, sizeof(*pte_ext));
	struct fmap_simple_ext *pmd_ext = calloc(SPREAD_EXTENTS, sizeof(*pmd_ext));
	struct fbs_layout *pte = calloc(1, sizeof(*pte));
	struct fbs_layout *pmd = calloc(1, sizeof(*pmd));
	int fds_pte[NRES + 2], fds_pmd[NRES + 2];
	const char *names_pte[NRES + 2], *names_pmd[NRES + 2];
	__u64 strip = cfg.fault_size / 2;
	unsigned int i, ntargets = NRES, ntargets_pmd = NRES;

	note("== faults: %llu MiB files over 2 devices; %u simple extents (PTE faults), 2 MiB extents (PMD faults)",
	     (unsigned long long)(cfg.fault_size / MiB), SPREAD_EXTENTS);
	memset(fds_pte, -1, sizeof(fds_pte));
	memset(fds_pmd, -1, sizeof(fds_pmd));
	if (!pte_ext || !pmd_ext || !pte || !pmd || mount_all())
		goto out;
	/*
	 * A device page belongs to one file once a fault mapped it (DAX keeps
	 * page->mapping until the inode goes): no two mapped files share
	 * device bytes, so each mount's files get their own strips.
	 */
	for (i = 0; i < NRES; i++) {
		spread2(pte, pte_ext, cfg.fault_size, 0, (2 * i) * strip);
		spread2(pmd, pmd_ext, cfg.fault_size, PMD, (2 * i + 1) * strip);
		if (fbs_server_add_file(mounts[i].srv, "pte", cfg.fault_size, pte) ||
		    fbs_server_add_file(mounts[i].srv, "pmd", cfg.fault_size, pmd)) {
			note("%s: adding the fault files failed", resolvers[i].name);
			goto out;
		}
		names_pte[i] = names_pmd[i] = resolvers[i].name;
		fds_pte[i] = open_in(&mounts[i], "pte", O_RDONLY);
		fds_pmd[i] = open_in(&mounts[i], "pmd", O_RDONLY);
		if (fds_pte[i] < 0 || fds_pmd[i] < 0)
			goto out;
		random_preads(fds_pte[i], cfg.fault_size, 16, NULL);
		random_preads(fds_pmd[i], cfg.fault_size, 16, NULL);
	}
	add_references(fds_pte, names_pte, &ntargets, false);
	add_references(fds_pmd, names_pmd, &ntargets_pmd, true);
	served_begin();
	fault_case("fault_4k_random", false, fds_pte, names_pte, ntargets);
	served_end("fault_4k_random");
	served_begin();
	fault_case("fault_2m_pmd", true, fds_pmd, names_pmd, ntargets_pmd);
	served_end("fault_2m_pmd");
	note_counters();
out:
	close_all(fds_pte, NRES + 2);
	close_all(fds_pmd, NRES + 2);
	unmount_all();
	free(pte);
	free(pmd);
	free(pte_ext);
	free(pmd_ext);
}

/* ---- scaling ---- */

static unsigned int points(unsigned int max, unsigned int *p)
{
	unsigned int n = 0, v;

	for (v = 1; v <= 100000 && v <= max; v *= 10)
		p[n++] = v;
	if (p[n - 1] != max && max < 100000)
		p[n++] = max;
	return n;
}

static void scale_point(const char *axis, unsigned int x)
{
	unsigned int i;
	char name[64];

	snprintf(name, sizeof(name), "scale_%s/%u", axis, x);
	for (i = 0; i < NRES; i++) {
		struct stats st = slot_stats(resolvers[i].slot);

		emit(name, resolvers[i].name, "median", st.median, "ns");
		emit(name, resolvers[i].name, "p99", st.p99, "ns");
		emit(name, resolvers[i].name, "samples", st.n, "count");
		note("%-20s %-8s n=%-6llu median %8llu  p99 %8llu ns", name,
		     resolvers[i].name, (unsigned long long)st.n,
		     (unsigned long long)st.median, (unsigned long long)st.p99);
	}
}

/* Misses of one file of @n extents (fds[i] of mount i), forgotten when few */
struct extents_arg {
	unsigned int i, n;
	int fd;
	const char *fname;
	const struct fbs_layout *l;
	const struct fmap_simple_ext *e;
};

static void extents_work(void *arg)
{
	struct extents_arg *x = arg;
	unsigned int b, k;

	for (b = 0; b < 32; b++) {
		if (x->n <= 64)
			fbs_server_set_layout(mounts[x->i].srv, x->fname, x->l);
		for (k = 0; k < 16; k++)
			if (pread(x->fd, iobuf, PAGE, x->e[rnd() % x->n].file_off) < 0)
				return;
	}
}

#define SCALE_FILE_SIZE	(1 * MiB)	/* one interleaved extent */

/* Misses over @n files of mount @i (fds[f * NRES + i]), each forgotten first */
struct files_arg {
	unsigned int i, n;
	const int *fds;
};

static void files_work(void *arg)
{
	struct files_arg *x = arg;
	char name[32];
	unsigned int k, f;

	for (k = 0; k < 256; k++) {
		f = rnd() % x->n;
		snprintf(name, sizeof(name), "f%u", f);
		fbs_server_forget(mounts[x->i].srv, name);
		random_preads(x->fds[f * NRES + x->i], SCALE_FILE_SIZE, 1, NULL);
	}
}

#define SCALE_ROUNDS	10

static void case_scale_files(void)
{
	unsigned int max = FBS_MAX_FILES, p[8], np, i, j, k, t, round, nopen = 0;
	struct fbs_layout *l = calloc(1, sizeof(*l));
	struct rlimit rl = { 1 << 20, 1 << 20 };
	char name[64];
	int *fds;

	setrlimit(RLIMIT_NOFILE, &rl);
	np = points(max, p);
	fds = malloc((size_t)p[np - 1] * NRES * sizeof(*fds));
	note("== scaling with files: 1 MiB files of one interleaved extent, forgotten before each access; up to %u files (the server holds %u)",
	     p[np - 1], FBS_MAX_FILES);
	ileave2(l, SCALE_FILE_SIZE, 12, 0);
	if (!fds || mount_all())
		goto out;
	nopen = 0;
	for (j = 0; j < np; j++) {
		for (; nopen < p[j]; nopen++) {
			snprintf(name, sizeof(name), "f%u", nopen);
			if (!add_all(name, SCALE_FILE_SIZE, l, fds + nopen * NRES))
				break;
			/* the built-in resolver's layout fetch */
			for (i = 0; i < NRES; i++)
				random_preads(fds[nopen * NRES + i], SCALE_FILE_SIZE, 1, NULL);
		}
		if (nopen < p[j]) {
			note("only %u files", nopen);
			break;
		}
		snprintf(name, sizeof(name), "scale_files/%u", p[j]);
		served_begin();
		probes(PROBES_RESOLVER);
		for (round = 0; round < SCALE_ROUNDS; round++)
			for (t = 0; t < NRES; t++) {
				i = turn(round, t, NRES);
				for (k = 0; k < cfg.scale_samples / SCALE_ROUNDS; k++) {
					unsigned int f = rnd() % nopen;

					/* a whole extent is cached: forget it */
					snprintf(name, sizeof(name), "f%u", f);
					fbs_server_forget(mounts[i].srv, name);
					random_preads(fds[f * NRES + i],
						      SCALE_FILE_SIZE, 1, NULL);
				}
			}
		probes(PROBES_NONE);
		served_end(name);
		scale_point("files", p[j]);
		snprintf(name, sizeof(name), "scale_files/%u", p[j]);
		for (i = 0; i < NRES; i++) {
			struct files_arg x = { i, nopen, fds };

			if (resolvers[i].kind == FBS_RESOLVER_BPF)
				program_time(name, files_work, &x);
		}
	}
out:
	if (fds)
		close_all(fds, nopen * NRES);
	unmount_all();
	free(fds);
	free(l);
}

/*
 * @n simple extents, not uniform (the first is 8 KiB, the others 4 KiB), so
 * that every resolver searches; alternating devices.
 */
static struct fmap_simple_ext *many_extents(unsigned int n, __u64 *size)
{
	struct fmap_simple_ext *e = calloc(n, sizeof(*e));
	__u64 off = 0;
	unsigned int i;

	if (!e)
		return NULL;
	for (i = 0; i < n; i++) {
		e[i].file_off = off;
		e[i].len = i == 0 && n > 1 ? 2 * PAGE : PAGE;
		e[i].dev = i & 1;
		e[i].dev_off = off;
		off += e[i].len;
	}
	*size = off;
	return e;
}

static void case_scale_extents(void)
{
	unsigned int max = FBS_MAX_SIMPLE, p[8], np, i, j, k, t, round;
	struct fbs_layout *l = calloc(1, sizeof(*l));
	bool skip[NRES] = { 0 };
	int fds[NRES];

	np = points(max, p);
	note("== scaling with extents: one file of N simple extents (4 KiB, not uniform); up to %u (the server holds %u)",
	     p[np - 1], FBS_MAX_SIMPLE);
	if (mount_all())
		goto out;
	for (j = 0; j < np; j++) {
		struct fmap_simple_ext *e;
		char name[32], fname[32];
		__u64 size;

		e = many_extents(p[j], &size);
		if (!e)
			break;
		layout_simple(l, p[j], e);
		snprintf(fname, sizeof(fname), "e%u", p[j]);
		memset(fds, -1, sizeof(fds));
		if (!add_all(fname, size, l, fds)) {
			close_all(fds, NRES);
			free(e);
			break;
		}
		for (i = 0; i < NRES; i++)
			random_preads(fds[i], size, 1, NULL);
		snprintf(name, sizeof(name), "scale_extents/%u", p[j]);
		served_begin();
		probes(PROBES_RESOLVER);
		for (round = 0; round < SCALE_ROUNDS; round++) {
			for (t = 0; t < NRES; t++) {
				unsigned int want = (round + 1) * cfg.scale_samples / SCALE_ROUNDS;

				i = turn(round, t, NRES);
				/* not served by this resolver (a layout it cannot hold) */
				if (skip[i] || (round == 1 && !slot_count(resolvers[i].slot))) {
					skip[i] = true;
					continue;
				}
				/*
				 * Up to 64 extents the 16-entry cache would soon
				 * hold them all: forget them before each batch.
				 */
				while (slot_count(resolvers[i].slot) < want) {
					__u64 before = slot_count(resolvers[i].slot);

					if (p[j] <= 64)
						fbs_server_set_layout(mounts[i].srv,
								      fname, l);
					for (k = 0; k < 16; k++)
						pread(fds[i], iobuf, PAGE,
						      e[rnd() % p[j]].file_off);
					if (slot_count(resolvers[i].slot) == before)
						break;
				}
			}
		}
		probes(PROBES_NONE);
		served_end(name);
		scale_point("extents", p[j]);
		for (i = 0; i < NRES; i++) {
			struct extents_arg x = { i, p[j], fds[i], fname, l, e };

			if (resolvers[i].kind == FBS_RESOLVER_BPF)
				program_time(name, extents_work, &x);
		}
		memset(skip, 0, sizeof(skip));
		close_all(fds, NRES);
		free(e);
	}
out:
	unmount_all();
	free(l);
}

/* ---- sequential read ---- */

#define SEQ_ROUNDS 4

static __u64 seq_read(int fd, __u64 size)
{
	__u64 done = 0, t0 = now_ns();
	ssize_t n;

	while (done < size) {
		n = pread(fd, iobuf, MiB, done);
		if (n <= 0)
			break;
		done += n;
	}
	return done == size ? now_ns() - t0 : 0;
}

/* ---- hit-path scaling: faults that hit the mapping cache, 1 and 2 threads ---- */

struct hit_worker {
	int fd;
	__u64 size;
	__u64 ns;
	pthread_t thread;
};

/* Its own mapping of the file, every page faulted once */
static void *hit_work(void *arg)
{
	struct hit_worker *w = arg;
	volatile unsigned char *map;
	unsigned long sum = 0;
	__u64 off, t0;

	map = mmap(NULL, w->size, PROT_READ, MAP_SHARED, w->fd, 0);
	if (map == MAP_FAILED)
		return NULL;
	t0 = now_ns();
	for (off = 0; off < w->size; off += PAGE)
		sum += map[off];
	w->ns = now_ns() - t0;
	munmap((void *)map, w->size);
	(void)sum;
	return NULL;
}

/* Faults per second of @n threads faulting one file at once */
static double hit_rate(int fd, __u64 size, unsigned int n)
{
	struct hit_worker w[2] = { { .fd = fd, .size = size }, { .fd = fd, .size = size } };
	__u64 slowest = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		pthread_create(&w[i].thread, NULL, hit_work, &w[i]);
	for (i = 0; i < n; i++) {
		pthread_join(w[i].thread, NULL);
		if (!w[i].ns)
			return 0;
		if (w[i].ns > slowest)
			slowest = w[i].ns;
	}
	return (double)n * (size / PAGE) * 1e9 / slowest;
}

/*
 * Only with BENCH_CASES=threads (and BENCH_CPUS=2 to mean anything): the
 * hit path must not serialize on a shared cache line.  One extent, so
 * every fault after the first hits the cache; the median of 5 rounds.
 */
static void case_threads(void)
{
	/* 4 KiB off a 2 MiB boundary: PTE faults, one per page touched */
	struct fmap_simple_ext ext = { .len = 128 * MiB, .dev = 0, .dev_off = PAGE };
	struct fbs_layout l = { 0 };
	double r1[5], r2[5], t;
	int fd = -1;
	unsigned int i, j;

	note("== hit-path faults, 1 and 2 threads on one 128 MiB file (%ld CPUs)",
	     sysconf(_SC_NPROCESSORS_ONLN));
	layout_simple(&l, 1, &ext);
	/* the first resolver's mount only: hits do not ask any resolver */
	if (mount_all() || fbs_server_add_file(mounts[0].srv, "hits", ext.len, &l))
		goto out;
	fd = open_in(&mounts[0], "hits", O_RDONLY);
	if (fd < 0)
		goto out;
	for (i = 0; i < 5; i++) {
		r1[i] = hit_rate(fd, ext.len, 1);
		r2[i] = hit_rate(fd, ext.len, 2);
	}
	for (i = 0; i < 5; i++)		/* sort for the median */
		for (j = i + 1; j < 5; j++) {
			if (r1[j] < r1[i]) { t = r1[i]; r1[i] = r1[j]; r1[j] = t; }
			if (r2[j] < r2[i]) { t = r2[i]; r2[i] = r2[j]; r2[j] = t; }
		}
	emit("fault_hit_threads", resolvers[0].name, "faults_per_s_1_thread", r1[2], "1/s");
	emit("fault_hit_threads", resolvers[0].name, "faults_per_s_2_threads", r2[2], "1/s");
	note("hit faults: 1 thread %.0f/s, 2 threads %.0f/s: %.2fx", r1[2], r2[2],
	     r1[2] ? r2[2] / r1[2] : 0);
out:
	if (fd >= 0)
		close(fd);
	unmount_all();
}

static void case_seq(void)
{
	struct fbs_layout *l = calloc(1, sizeof(*l));
	unsigned int t, round, ntargets = NRES;
	const char *names[NRES + 3];
	__u64 ns[NRES + 3][SEQ_ROUNDS] = { { 0 } };
	int fds[NRES + 3];

	note("== sequential read(2), 1 MiB calls, %llu MiB (2 MiB chunks over 2 devices), %u rounds",
	     (unsigned long long)(cfg.seq_size / MiB), SEQ_ROUNDS);
	memset(fds, -1, sizeof(fds));
	ileave2(l, cfg.seq_size, 21, 0);
	if (mount_all() || !add_all("s", cfg.seq_size, l, fds))
		goto out;
	for (t = 0; t < NRES; t++) {
		names[t] = resolvers[t].name;
		random_preads(fds[t], cfg.seq_size, 1, NULL);
	}
	fds[ntargets] = open(FX_DEV0, O_RDONLY | O_DIRECT);
	if (fds[ntargets] >= 0)
		names[ntargets++] = "raw-pmem0";
	add_references(fds, names, &ntargets, false);
	served_begin();
	for (round = 0; round < SEQ_ROUNDS; round++)
		for (t = 0; t < ntargets; t++) {
			unsigned int k = turn(round, t, ntargets);
			ns[k][round] = seq_read(fds[k], cfg.seq_size);
		}
	served_end("seq_read");
	for (t = 0; t < ntargets; t++) {
		/* the median round; a failed round (0 ns) sorts first */
		struct stats st = stats_of(ns[t], SEQ_ROUNDS);
		double mbs = st.min ? cfg.seq_size / (st.median / 1e9) / 1e6 : 0;

		emit("seq_read", names[t], "bandwidth", mbs, "MB/s");
		note("%-18s %-9s %8.1f MB/s", "seq_read", names[t], mbs);
	}
out:
	close_all(fds, NRES + 3);
	unmount_all();
	free(l);
}

/* ---- appends: the famfs-bpf daemon, ext2 and ext4 -o dax on /dev/pmem2 ---- */

#define APPEND_MNT	"/tmp/bench-append"

/* build/server/famfs-bpf, from build/selftests/bench/famfs-bench */
static const char *famfs_bin(void)
{
	static char bin[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	snprintf(bin, sizeof(bin), "%s/server/famfs-bpf", dirname(dirname(dirname(exe))));
	return access(bin, X_OK) ? NULL : bin;
}

/* Makes and mounts @target on EXT2_DEV at APPEND_MNT */
static bool append_mount(const char *target)
{
	if (!strcmp(target, "famfs-bpf")) {
		const char *bin = famfs_bin();

		return bin &&
		       !fixture_cmd(0, (char *)bin, "mkfs", "-f", EXT2_DEV) &&
		       !fixture_cmd(0, (char *)bin, "mount", EXT2_DEV, APPEND_MNT);
	}
	if (!strcmp(target, "ext2-dax")) {
		if (system("mkfs.ext2 -q -F -b 4096 " EXT2_DEV " >/dev/null 2>&1"))
			return false;
		return !mount(EXT2_DEV, APPEND_MNT, "ext2", 0, "dax");
	}
	if (system("mkfs.ext4 -q -F -b 4096 " EXT2_DEV " >/dev/null 2>&1"))
		return false;
	return !mount(EXT2_DEV, APPEND_MNT, "ext4", 0, "dax=always");
}

static void append_umount(const char *target)
{
	if (!strcmp(target, "famfs-bpf") && famfs_bin())
		fixture_cmd(0, (char *)famfs_bin(), "umount", APPEND_MNT);
	else
		umount(APPEND_MNT);
}

/* @n O_APPEND writes of @len bytes to a new file: appends per second */
static double append_rate(const char *name, size_t len, unsigned int n)
{
	char path[128];
	__u64 t0, t;
	unsigned int i;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", APPEND_MNT, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0644);
	if (fd < 0)
		return -1;
	fill_pattern(iobuf, len, 3);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		if (write(fd, iobuf, len) != (ssize_t)len)
			break;
	t = now_ns() - t0;
	fsync(fd);
	close(fd);
	return i == n && t ? n / (t / 1e9) : -1;
}

static void case_append(void)
{
	static const char *const targets[] = { "famfs-bpf", "ext2-dax", "ext4-dax" };
	unsigned int t;
	double r1, r2;

	if (have_ext2) {
		umount(EXT2_MNT);
		have_ext2 = false;
	}
	mkdir(APPEND_MNT, 0755);
	for (t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
		if (!append_mount(targets[t])) {
			note("append: %s could not be made and mounted", targets[t]);
			continue;
		}
		r1 = append_rate("a100", 100, cfg.append_small);
		r2 = append_rate("a64k", 64 * KiB, cfg.append_large);
		/* what the appends cost the daemon: the path they took */
		if (!t)
			note("append famfs-bpf: %lld misses, %lld upcalls, %lld bpf resolves",
			     fixture_mnt_stat(APPEND_MNT, "cache_misses"),
			     fixture_mnt_stat(APPEND_MNT, "upcalls"),
			     fixture_mnt_stat(APPEND_MNT, "bpf_resolves"));
		append_umount(targets[t]);
		note("append %-10s 100 B: %8.0f/s   64 KiB: %8.0f/s", targets[t], r1, r2);
		if (r1 > 0)
			emit("append_100b", targets[t], "appends_per_s", r1, "1/s");
		if (r2 > 0)
			emit("append_64k", targets[t], "appends_per_s", r2, "1/s");
	}
}

/* ---- small files and large files: the daemon in pages and in units, on /dev/pmem2 ---- */

#define TREE_SRC	"/tmp/bench-tree"
#define TREE_FILES	8000

static __u64 tree_rng = 0x9e3779b97f4a7c15ULL;

static __u64 tree_next(void)
{
	tree_rng ^= tree_rng << 13;
	tree_rng ^= tree_rng >> 7;
	tree_rng ^= tree_rng << 17;
	return tree_rng;
}

/* A file size as source trees have them: most small, a few up to 2 MiB. */
static __u64 tree_size(void)
{
	__u64 r = tree_next(), pick = r % 100;

	r >>= 8;
	if (pick < 70)
		return 1 + r % (16 * KiB);
	if (pick < 95)
		return 16 * KiB + r % (112 * KiB);
	if (pick < 99)
		return 128 * KiB + r % (384 * KiB);
	return 512 * KiB + r % (3 * 512 * KiB);
}

/* TREE_FILES files in 80 directories of 10 subdirectories; their bytes into *@bytes */
static bool tree_make(__u64 *bytes)
{
	char path[256];
	unsigned int i;

	*bytes = 0;
	if (system("rm -rf " TREE_SRC) || mkdir(TREE_SRC, 0755))
		return false;
	for (i = 0; i < TREE_FILES; i++) {
		__u64 len = tree_size(), done = 0;
		int fd;

		snprintf(path, sizeof(path), TREE_SRC "/d%u", i % 80);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), TREE_SRC "/d%u/s%u", i % 80, i % 10);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), TREE_SRC "/d%u/s%u/f%u", i % 80, i % 10, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			return false;
		fill_pattern(iobuf, MiB, i);
		while (done < len) {
			size_t n = len - done < MiB ? len - done : MiB;

			if (write(fd, iobuf, n) != (ssize_t)n) {
				close(fd);
				return false;
			}
			done += n;
		}
		close(fd);
		*bytes += len;
	}
	return true;
}

static __u64 used_bytes(const char *mnt)
{
	struct statvfs sv;

	if (statvfs(mnt, &sv))
		return 0;
	return (sv.f_blocks - sv.f_bfree) * sv.f_frsize;
}

/* Makes and mounts @target ("famfs-bpf", "famfs-bpf-units", "ext4-dax") at APPEND_MNT */
static bool small_mount(const char *target)
{
	const char *bin = famfs_bin();

	if (!strcmp(target, "ext4-dax") || !strcmp(target, "famfs-bpf"))
		return append_mount(target);
	return bin && !fixture_cmd(0, (char *)bin, "mkfs", "-f", "-U", EXT2_DEV) &&
	       !fixture_cmd(0, (char *)bin, "mount", EXT2_DEV, APPEND_MNT);
}

static void small_umount(const char *target)
{
	append_umount(strcmp(target, "ext4-dax") ? "famfs-bpf" : target);
}

/* cp -r of the tree: seconds, and the space it took per byte of data */
static void small_tree(const char *target, __u64 data)
{
	__u64 before = used_bytes(APPEND_MNT), after, t0;
	double s;

	t0 = now_ns();
	if (fixture_cmd(0, "cp", "-r", TREE_SRC, APPEND_MNT "/tree")) {
		note("small_tree %s: cp -r failed (%.0f MiB of %.0f MiB used)", target,
		     used_bytes(APPEND_MNT) / (double)MiB, data / (double)MiB);
		return;
	}
	s = (now_ns() - t0) / 1e9;
	sync();
	after = used_bytes(APPEND_MNT);
	note("small_tree %-15s cp -r %u files, %.0f MiB: %.1f s, %.0f MiB used: %.3f per data byte",
	     target, TREE_FILES, data / (double)MiB, s, (after - before) / (double)MiB,
	     (after - before) / (double)data);
	emit("small_tree", target, "cp_seconds", s, "s");
	emit("small_tree", target, "used_bytes", after - before, "B");
}

/* A 128 MiB file: PMD faults per second (one load per 2 MiB, fresh mmaps) and read(2) MB/s */
static void large_file(const char *target)
{
	const __u64 size = 128 * MiB;
	__u64 off, t, best_f = 0, best_r = 0;
	unsigned int round;
	volatile char sink;
	int fd;

	fd = open(APPEND_MNT "/big", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return;
	fill_pattern(iobuf, MiB, 5);
	for (off = 0; off < size; off += MiB)
		if (pwrite(fd, iobuf, MiB, off) != (ssize_t)MiB)
			goto out;
	fsync(fd);
	for (round = 0; round < 8; round++) {
		char *m = mmap(NULL, size + PMD, PROT_READ, MAP_SHARED, fd, 0), *a;

		if (m == MAP_FAILED)
			goto out;
		munmap(m, size + PMD);
		/* 2 MiB-aligned, so that the faults can be PMD faults */
		a = mmap((char *)(((uintptr_t)m + PMD - 1) & ~(uintptr_t)(PMD - 1)), size,
			 PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
		if (a == MAP_FAILED)
			goto out;
		t = now_ns();
		for (off = 0; off < size; off += PMD)
			sink = a[off];
		t = now_ns() - t;
		munmap(a, size);
		if (!best_f || t < best_f)
			best_f = t;
		t = now_ns();
		for (off = 0; off < size; off += MiB)
			if (pread(fd, iobuf, MiB, off) != (ssize_t)MiB)
				goto out;
		t = now_ns() - t;
		if (!best_r || t < best_r)
			best_r = t;
	}
	(void)sink;
	note("large_file %-15s PMD faults %8.0f/s   read %6.0f MB/s", target,
	     (size / PMD) / (best_f / 1e9), size / 1e6 / (best_r / 1e9));
	emit("large_file", target, "pmd_faults_per_s", (size / PMD) / (best_f / 1e9), "1/s");
	emit("large_file", target, "read_bandwidth", size / 1e6 / (best_r / 1e9), "MB/s");
out:
	close(fd);
}

static void case_small(void)
{
	static const char *const targets[] = { "famfs-bpf", "famfs-bpf-units", "ext4-dax" };
	__u64 data;
	unsigned int t;

	if (have_ext2) {
		umount(EXT2_MNT);
		have_ext2 = false;
	}
	mkdir(APPEND_MNT, 0755);
	if (!tree_make(&data)) {
		note("small_tree: could not make the tree in " TREE_SRC);
		return;
	}
	emit("small_tree", "data", "used_bytes", data, "B");
	for (t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
		if (!small_mount(targets[t])) {
			note("small: %s could not be made and mounted", targets[t]);
			continue;
		}
		/* in units the tree takes 2 MiB a file: 16 GiB, it cannot fit */
		if (strcmp(targets[t], "famfs-bpf-units"))
			small_tree(targets[t], data);
		if (strcmp(targets[t], "ext4-dax"))
			large_file(targets[t]);
		small_umount(targets[t]);
	}
	fixture_cmd(0, "rm", "-rf", TREE_SRC);
}

/* ---- ext2 -o dax on /dev/pmem2 and ext4 -o dax on /dev/pmem3: references ---- */

/*
 * mkfs @fstype on @dev, mount it with @opts on @mnt and write @file, as
 * large as the largest famfs-bpf file a case reads.  ext4 is made with a
 * 2 MiB stride so that its extents can be PMD-mapped.
 */
static bool reference_setup(const char *fstype, const char *mkfs, const char *dev,
			    const char *mnt, const char *opts, const char *file)
{
	__u64 size = cfg.fault_size > cfg.seq_size ? cfg.fault_size : cfg.seq_size;
	char cmd[256];
	__u64 done;
	int fd;

	if (size < cfg.miss_size)
		size = cfg.miss_size;
	if (access(dev, F_OK)) {
		note("no %s: no %s reference", dev, fstype);
		return false;
	}
	snprintf(cmd, sizeof(cmd), "%s %s >/dev/null 2>&1", mkfs, dev);
	if (system(cmd)) {
		note("%s failed: no %s reference", cmd, fstype);
		return false;
	}
	mkdir(mnt, 0755);
	if (mount(dev, mnt, fstype, 0, opts)) {
		note("mount -t %s -o %s %s: %s: no %s reference", fstype, opts, dev,
		     strerror(errno), fstype);
		return false;
	}
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		goto fail;
	/* one allocation, so ext4 can lay it out in aligned extents */
	if (fallocate(fd, 0, 0, size) && errno != EOPNOTSUPP)
		note("fallocate %s: %s", file, strerror(errno));
	fill_pattern(iobuf, MiB, 1);
	for (done = 0; done < size; done += MiB)
		if (pwrite(fd, iobuf, MiB, done) != (ssize_t)MiB)
			break;
	fsync(fd);
	close(fd);
	if (done == size)
		return true;
fail:
	note("writing %s failed: no %s reference", file, fstype);
	umount(mnt);
	return false;
}

static void env_u64(const char *name, __u64 *v, __u64 unit)
{
	const char *s = getenv(name);

	if (s && *s)
		*v = strtoull(s, NULL, 0) * unit;
}

static void env_uint(const char *name, unsigned int *v)
{
	const char *s = getenv(name);

	if (s && *s)
		*v = strtoul(s, NULL, 0);
}

int main(int argc, char **argv)
{
	const char *only = getenv("BENCH_CASES");
	char path[512];
	__u64 t0 = now_ns();

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	if (getenv("BENCH_QUICK")) {
		cfg.miss_size = 16 * MiB;
		cfg.miss_ops = 500;
		cfg.fault_size = 64 * MiB;
		cfg.pte_touches = 1024;
		cfg.pte_rounds = 2;
		cfg.pmd_rounds = 2;
		cfg.scale_samples = 100;
		cfg.seq_size = 32 * MiB;
		cfg.append_small = 2000;
		cfg.append_large = 100;
	}
	env_u64("BENCH_MISS_MIB", &cfg.miss_size, MiB);
	env_uint("BENCH_MISS_OPS", &cfg.miss_ops);
	env_u64("BENCH_FAULT_MIB", &cfg.fault_size, MiB);
	env_uint("BENCH_PTE_TOUCHES", &cfg.pte_touches);
	env_uint("BENCH_PTE_ROUNDS", &cfg.pte_rounds);
	env_uint("BENCH_PMD_ROUNDS", &cfg.pmd_rounds);
	env_uint("BENCH_SCALE_SAMPLES", &cfg.scale_samples);
	env_u64("BENCH_SEQ_MIB", &cfg.seq_size, MiB);
	env_uint("BENCH_APPENDS", &cfg.append_small);
	env_uint("BENCH_APPENDS_64K", &cfg.append_large);
	/* each mount's fault files have their own half-sizes of each device */
	if (NRES * cfg.fault_size > 1024 * MiB || cfg.seq_size > 512 * MiB ||
	    cfg.miss_size > 512 * MiB || cfg.fault_size % (4 * MiB) ||
	    cfg.miss_size % (4 * MiB)) {
		fprintf(stderr, "sizes do not fit the 1 GiB devices\n");
		return 2;
	}

	snprintf(path, sizeof(path), "%s/raw.jsonl", argv[1]);
	out = fopen(path, "w");
	if (!out) {
		perror(path);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* the server's per-request warnings (layouts the built-in resolver
	 * cannot take) would bury the progress; served_by_resolver says it */
	if (!getenv("BENCH_VERBOSE"))
		fbs_log_set_level(FBS_LOG_ERR);
	if (posix_memalign((void **)&iobuf, PAGE, MiB))
		return 1;
	if (probes_load())
		return 1;
	note("resolvers:%s%s%s", NRES > 2 ? " bpf" : "", " builtin", " upcall");
#ifndef BENCH_HAVE_BPF
	note("the server has no FBS_RESOLVER_BPF yet: bpf column empty");
#endif
	have_ext2 = reference_setup("ext2", "mkfs.ext2 -q -F -b 4096", EXT2_DEV, EXT2_MNT, "dax",
				    EXT2_FILE);
	have_ext4 = reference_setup("ext4", "mkfs.ext4 -q -F -b 4096 -E stride=512,stripe_width=512",
				    EXT4_DEV, EXT4_MNT, "dax=always", EXT4_FILE);

#define WANT(c) (!only || strstr(only, c))
	if (WANT("miss"))
		case_miss();
	if (WANT("fault"))
		case_faults();
	if (WANT("files"))
		case_scale_files();
	if (WANT("extents"))
		case_scale_extents();
	if (WANT("seq"))
		case_seq();
	if (only && strstr(only, "threads"))
		case_threads();
	if (WANT("append"))
		case_append();
	if (WANT("small"))
		case_small();

	if (have_ext2)
		umount(EXT2_MNT);
	if (have_ext4)
		umount(EXT4_MNT);
	probes(PROBES_NONE);
	bench_fmap_bpf__destroy(skel);
	emit("run", "all", "guest_seconds", (now_ns() - t0) / 1e9, "s");
	note("done in %.1f s", (now_ns() - t0) / 1e9);
	fclose(out);
	return 0;
}
