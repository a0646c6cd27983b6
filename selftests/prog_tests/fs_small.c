// SPDX-License-Identifier: GPL-2.0
/*
 * Small files cost their size (tracker issue 19): the part of a file below
 * 2 MiB is allocated in 4 KiB pages packed into units set aside for small
 * pieces; from 2 MiB on a file gets whole 2 MiB-aligned units (PMD-capable).
 * One-device file systems on /dev/pmem2 (1 GiB, the device the other fs_*
 * tests use; tests run one at a time), made and mounted with the famfs-bpf
 * binary as a user would.  Each subtest passes alone: it makes its own,
 * except that remount_checksums takes tree_fits' copy when both run.
 *  - tree_fits: a generated tree (TREE_FILES = 8,192 files in 656 nested
 *    directories, 1 B to 2 MiB, 88 % below 16 KiB and ~400 from 256 KiB
 *    to 2 MiB, 529 MiB in all) on the guest's /tmp (a tmpfs with ~2.4 GiB
 *    free, so the full size fits) is copied in by cp -r: cp exits 0, every
 *    file's checksum is the source's through read(2) and through mmap, and
 *    the space statvfs says the copy took (used less what the empty file
 *    system used: log, superblock) is at most 1.1x its data bytes; at
 *    2 MiB a file it would need 16 GiB.  Prints "# space used per data
 *    byte: X.XX" (4 KiB pages: about 1.05 expected);
 *  - remount_checksums: umount, mount: a sample of 1 file in 16, mapped
 *    and read, is resolved by BPF (bpf_resolves grows by one per file at
 *    least) with no FUSE_FMAP upcall (upcalls does not move), then every
 *    checksum again through read(2) and mmap;
 *  - append_grows_to_64m: a file grows from 1 byte to 64 MiB by O_APPEND
 *    writes of 1 B to 1 MiB, checked against a model (read(2) and mmap) at
 *    every power of two; then each 2 MiB of it from 2 MiB on, mapped at an
 *    aligned address, takes one PMD fault (the dax_faults BPF program
 *    counts them) after a remount; before it, the chunks that held EOF
 *    when the file was checked may fall back (the kernel keeps the
 *    mapping it resolved then, cut at EOF: 5 of 31 today), the rest not;
 *  - fragmentation: small (1 B..2 MiB) and large (4..64 MiB) files
 *    created and deleted at random, near full, until FRAG_FACTOR (10) x
 *    the free space has been written: a large file's creation fails with
 *    ENOSPC only when free space was below its size plus one 2 MiB unit.
 *    Scaled down: a filler leaves FRAG_AREA (256 MiB) of the device free
 *    (10 GiB of writes would take many minutes under TCG).
 * Cost on the test kernel under TCG (2 vCPUs), today's daemon, measured
 * with one or two other guests on the same 2 host cores (alone: less):
 *   append_grows_to_64m 20-25 s (the appends 9-12 s);
 *   fragmentation 25-50 s (filler 2-8 s, 2.5 GiB written in 20-44 s);
 *   tree_fits 300-360 s (source tree 9-14 s, cp -r 175-270 s: ~8,000
 *   creates that hit ENOSPC, checks 28-87 s);
 *   remount_checksums 35-80 s after tree_fits (alone: tree_fits' cost more).
 * append_grows_to_64m and fragmentation are a test of their own,
 * fs_small_grow, so that the copy has test_progs' 600 s to itself.
 * Today every file takes a whole unit: tree_fits fails (cp exits 1 on
 * ENOSPC, 7,685 files short, 1.92 bytes used per data byte) and so does
 * remount_checksums (the files cp could not copy); the checksums of the
 * 507 files copied, the BPF-only reads, append_grows_to_64m and
 * fragmentation pass.  The source tree stays on /tmp while the test runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"
#include "xorshift.h"
#include "dax_faults.skel.h"

#define DEV	"/dev/pmem2"
#define MNT	"/tmp/fs_small.mnt"
#define SRC	"/tmp/fs_small.src"
#define DST	MNT "/src"
#define UNIT	(2 * MiB)
#define KiB	1024ULL
#define FUSE_MAGIC	0x65735546

#define famfs(...) fixture_famfs(0, __VA_ARGS__)

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* Bytes of (@seed, offset): a word-wide xorshift, fast enough under TCG. */
static void fill_fast(void *buf, size_t len, __u64 seed)
{
	__u64 x = seed * 0x9E3779B97F4A7C15ULL + 1, w;
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i += 8) {
		w = xorshift64(&x);
		memcpy(p + i, &w, len - i < 8 ? len - i : 8);
	}
}

/* A checksum of @len bytes: not cryptographic, a changed word changes it. */
static __u64 hash_bytes(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	__u64 h = 0xcbf29ce484222325ULL ^ len, w;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, p + i, len - i);
	h = (h ^ w) * 0x100000001b3ULL;
	return h ^ (h >> 32);
}

/* the tree is on DEV, mounted on MNT: remount_checksums takes that copy */
static bool tree_copied;

static void ensure_clean(void)
{
	fixture_ensure_unmounted(MNT);
	tree_copied = false;
}

static bool mkfs_mount(void)
{
	ensure_clean();
	return fixture_mkfs_mount(DEV, MNT, NULL);
}

static bool remount(void)
{
	return fixture_remount(MNT, DEV);
}

/* Used bytes as statvfs reports them; its block size into *@frsize. */
static __u64 used_bytes(unsigned long *frsize)
{
	struct statvfs sv;

	if (!ASSERT_OK(statvfs(MNT, &sv), "statvfs"))
		return 0;
	if (frsize)
		*frsize = sv.f_frsize;
	return (__u64)(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
}

static __u64 free_bytes(void)
{
	struct statvfs sv;

	return statvfs(MNT, &sv) ? 0 : (__u64)sv.f_bfree * sv.f_frsize;
}

/*
 * The tree: TREE_FILES files spread over a root and 16 x 8 x 4 nested
 * directories.  Sizes: 88 % log-uniform in 1 B..16 KiB, 7 % 16..256 KiB,
 * 5 % (about 400) 256 KiB..2 MiB; the first few are the edges (a page,
 * one byte either side, 2 MiB).  About 560 MiB: it fits a 1 GiB device
 * in pages, would need 16 GiB in units, and the guest's /tmp (a tmpfs of
 * half its RAM) holds it.
 */
#define TREE_FILES	8192
#define TREE_SEED	0x5eed19ULL
#define TREE_MIN	(500 * MiB)
#define TREE_MAX	(780 * MiB)
#define L1	16
#define L2	8
#define L3	4
#define NDIRS	(1 + L1 + L1 * L2 + L1 * L2 * L3)

struct src_file {
	char path[32];	/* relative to the tree's root */
	const char *name;	/* its last component, in path */
	unsigned int dir;	/* index in dirs */
	__u32 size;
	__u64 hash;
};

static struct src_file *tree;
static __u64 tree_bytes;
static char dirs[NDIRS][16];

static __u32 tree_size(__u64 *x, unsigned int i)
{
	static const __u32 edges[] = { 1, 4095, 4096, 4097, UNIT - 1, UNIT, 8191, 16384 };
	__u64 r;

	if (i < sizeof(edges) / sizeof(edges[0]))
		return edges[i];
	r = xorshift64(x) % 100;
	if (r < 88) {
		/* log-uniform: a power of two first (one call per statement) */
		r = xorshift64(x) % 14;
		return 1 + xorshift64(x) % (2ULL << r);
	}
	if (r < 95)
		return 16 * KiB + xorshift64(x) % (240 * KiB);
	return 256 * KiB + xorshift64(x) % (UNIT - 256 * KiB + 1);
}

static void name_dirs(void)
{
	int n = 1, a, b, c;

	dirs[0][0] = '\0';
	for (a = 0; a < L1; a++) {
		snprintf(dirs[n++], sizeof(dirs[0]), "a%d", a);
		for (b = 0; b < L2; b++) {
			snprintf(dirs[n++], sizeof(dirs[0]), "a%d/b%d", a, b);
			for (c = 0; c < L3; c++)
				snprintf(dirs[n++], sizeof(dirs[0]), "a%d/b%d/c%d", a, b, c);
		}
	}
}

/* Write the source tree once per test process (every subtest may start it). */
static bool make_tree(void)
{
	__u64 x = TREE_SEED;
	char *buf = NULL;
	struct statfs tsf;
	double t0 = now();
	bool ok = false;
	int i, fd;

	if (tree)
		return true;
	name_dirs();
	fixture_cmd(0, "rm", "-rf", SRC);
	if (!ASSERT_OK(mkdir(SRC, 0755), "mkdir " SRC))
		return false;
	if (ASSERT_OK(statfs(SRC, &tsf), "statfs " SRC))
		printf("# %s: type 0x%lx, %llu MiB free\n", SRC, (unsigned long)tsf.f_type,
		       (unsigned long long)tsf.f_bavail * tsf.f_bsize >> 20);
	for (i = 1; i < NDIRS; i++)
		if (!ASSERT_OK(mkdir(fixture_join(SRC, dirs[i]), 0755), dirs[i]))
			return false;
	tree = calloc(TREE_FILES, sizeof(*tree));
	buf = malloc(UNIT);
	if (!ASSERT_TRUE(tree && buf, "malloc"))
		goto out;
	tree_bytes = 0;
	for (i = 0; i < TREE_FILES; i++) {
		struct src_file *f = &tree[i];
		const char *d;

		f->dir = xorshift64(&x) % NDIRS;
		d = dirs[f->dir];
		f->size = tree_size(&x, i);
		snprintf(f->path, sizeof(f->path), "%s%sf%05d", d, d[0] ? "/" : "", i);
		f->name = strrchr(f->path, '/') ? strrchr(f->path, '/') + 1 : f->path;
		fill_fast(buf, f->size, TREE_SEED + i);
		f->hash = hash_bytes(buf, f->size);
		tree_bytes += f->size;
		fd = open(fixture_join(SRC, f->path), O_CREAT | O_WRONLY | O_EXCL, 0644);
		if (!ASSERT_OK_FD(fd, f->path))
			goto out;
		ok = write(fd, buf, f->size) == (ssize_t)f->size;
		close(fd);
		/* a full /tmp: say so, the sizes are not the file system's fault */
		if (!ASSERT_TRUE(ok, "write the source tree on " SRC))
			goto out;
	}
	printf("# source tree: %d files, %d directories, %llu bytes (%.1f MiB) in %.1f s\n",
	       TREE_FILES, NDIRS - 1, (unsigned long long)tree_bytes,
	       tree_bytes / (double)MiB, now() - t0);
	ok = ASSERT_GE(tree_bytes, TREE_MIN, "tree size") && ASSERT_LE(tree_bytes, TREE_MAX, "tree size");
out:
	free(buf);
	if (!ok) {
		free(tree);
		tree = NULL;
	}
	return ok;
}

static void remove_tree(void)
{
	free(tree);
	tree = NULL;
	fixture_cmd(0, "rm", "-rf", SRC);
}

/* cp -r the tree to DST; true if cp exited 0. */
static bool copy_tree(void)
{
	double t0 = now();
	int ret = fixture_cmd(0, "cp", "-r", SRC, DST);

	printf("# cp -r: exit %d in %.1f s\n", ret, now() - t0);
	return ASSERT_EQ(ret, 0, "cp -r exit status");
}

/*
 * The copy's directories, opened once: a file is then opened by its last
 * name, one LOOKUP, where a path would revalidate every component (each
 * a FUSE round trip, milliseconds under TCG).  -1 for one that is missing.
 */
static int dir_fds[NDIRS];

static void open_dirs(void)
{
	int d;

	for (d = 0; d < NDIRS; d++)
		dir_fds[d] = open(fixture_join(DST, dirs[d]), O_RDONLY | O_DIRECTORY);
}

static void close_dirs(void)
{
	int d;

	for (d = 0; d < NDIRS; d++)
		if (dir_fds[d] >= 0)
			close(dir_fds[d]);
}

/*
 * The copy of @f opened for reading if it has @f's size (0 or -errno in
 * *@err otherwise): the short files ENOSPC leaves cost a stat, not an open.
 * O_NOATIME: the reads verify, they are not what is tested.
 */
static int open_copy(const struct src_file *f, struct stat *st)
{
	int fd;

	if (dir_fds[f->dir] < 0) {
		errno = ENOENT;
		return -1;
	}
	if (fstatat(dir_fds[f->dir], f->name, st, 0))
		return -1;
	if (st->st_size != f->size) {
		errno = EFBIG;	/* "short": only the size says so */
		return -1;
	}
	fd = openat(dir_fds[f->dir], f->name, O_RDONLY | O_NOATIME);
	if (fd >= 0 && fstat(fd, st)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Every file of the copy has its source's size, and its source's checksum
 * through read(2) and through mmap.  Files cp could not finish (ENOSPC
 * today) are counted apart, so that what was copied is still checked.
 */
static void check_tree(const char *what)
{
	unsigned int incomplete = 0, bad_read = 0, bad_map = 0, checked = 0;
	char *buf = malloc(UNIT);
	double t0 = now();
	struct stat st;
	void *map;
	int i, fd;

	if (!ASSERT_TRUE(buf != NULL, "malloc"))
		return;
	open_dirs();
	for (i = 0; i < TREE_FILES; i++) {
		const struct src_file *f = &tree[i];

		st.st_size = -1;
		fd = open_copy(f, &st);
		if (fd < 0 || st.st_size != f->size) {
			if (incomplete++ < 3)
				printf("# %s: %s: %s, size %lld of %u\n", what, f->path,
				       errno == EFBIG ? "short" : strerror(errno),
				       (long long)st.st_size, f->size);
			if (fd >= 0)
				close(fd);
			continue;
		}
		checked++;
		if (pread(fd, buf, UNIT, 0) != (ssize_t)f->size || hash_bytes(buf, f->size) != f->hash) {
			if (bad_read++ < 3)
				printf("# %s: %s: read(2) differs\n", what, f->path);
		}
		map = mmap(NULL, f->size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED || hash_bytes(map, f->size) != f->hash) {
			if (bad_map++ < 3)
				printf("# %s: %s: mmap %s\n", what, f->path,
				       map == MAP_FAILED ? strerror(errno) : "differs");
		}
		if (map != MAP_FAILED)
			munmap(map, f->size);
		close(fd);
	}
	close_dirs();
	printf("# %s: %u files checked, %u missing or short, %u/%u differ by read/mmap, %.1f s\n",
	       what, checked, incomplete, bad_read, bad_map, now() - t0);
	ASSERT_EQ(incomplete, 0, "every file copied whole");
	ASSERT_EQ(bad_read, 0, "checksums through read(2)");
	ASSERT_EQ(bad_map, 0, "checksums through mmap");
	ASSERT_GT(checked, 0, "files to check");
	free(buf);
}

/*
 * mkfs, mount, cp -r the tree in; the space the copy took into *@copy_used.
 * False if there is no copy to look at (cp failing is not that).
 */
static bool mount_and_copy(__u64 *copy_used)
{
	unsigned long frsize = 0;
	__u64 used0, used1;

	if (!make_tree() || !mkfs_mount())
		return false;
	/* what an empty file system uses: the log, the superblock */
	used0 = used_bytes(&frsize);
	copy_tree();
	tree_copied = true;
	used1 = used_bytes(NULL);
	*copy_used = used1 > used0 ? used1 - used0 : 0;
	printf("# statvfs: f_frsize %lu, used %llu MiB empty, %llu MiB with the tree\n", frsize,
	       (unsigned long long)used0 >> 20, (unsigned long long)used1 >> 20);
	return true;
}

static void test_tree_fits(void)
{
	__u64 used;

	if (!mount_and_copy(&used))
		return;
	check_tree("after cp");
	printf("# space used per data byte: %.2f\n", used / (double)tree_bytes);
	/* 4 KiB pages: the rounding of ~8,000 small files is a few percent */
	ASSERT_LE(used, tree_bytes + tree_bytes / 10, "space used <= 1.1 x data bytes");
	/* left mounted: the copy takes minutes under TCG, remount_checksums uses it */
}

/* Every SAMPLE_EVERY-th file of the tree, read after the remount */
#define SAMPLE_EVERY	16

static void test_remount_checksums(void)
{
	long long res0, up0, res1, up1;
	unsigned int sampled = 0;
	__u64 used, sum = 0;
	struct stat st;
	void *map;
	int i, fd;

	/* tree_fits' copy if it ran; run alone, a copy of its own */
	if (tree_copied && fixture_mounted(MNT))
		printf("# the copy tree_fits made\n");
	else if (!mount_and_copy(&used))
		goto out;
	if (!remount())
		goto out;
	if (!ASSERT_EQ(fixture_mnt_stat(MNT, "bpf_attached"), 1, "BPF resolver attached"))
		goto out;
	/* nothing cached after the remount: each file's first fault asks */
	res0 = fixture_mnt_stat(MNT, "bpf_resolves");
	up0 = fixture_mnt_stat(MNT, "upcalls");
	if (!ASSERT_GE(res0, 0, "bpf_resolves") || !ASSERT_GE(up0, 0, "upcalls"))
		goto out;
	open_dirs();
	for (i = 0; i < TREE_FILES; i += SAMPLE_EVERY) {
		/* only what cp finished (ENOSPC today leaves short files) */
		fd = open_copy(&tree[i], &st);
		if (fd < 0)
			continue;
		if (st.st_size == tree[i].size) {
			map = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
			if (ASSERT_TRUE(map != MAP_FAILED, "mmap a sample")) {
				sum += hash_bytes(map, st.st_size) == tree[i].hash;
				munmap(map, st.st_size);
				sampled++;
			}
		}
		close(fd);
	}
	close_dirs();
	res1 = fixture_mnt_stat(MNT, "bpf_resolves");
	up1 = fixture_mnt_stat(MNT, "upcalls");
	printf("# %u sampled files (%llu match): bpf_resolves %lld -> %lld, upcalls %lld -> %lld\n",
	       sampled, (unsigned long long)sum, res0, res1, up0, up1);
	ASSERT_GT(sampled, 0, "files sampled");
	ASSERT_EQ(sum, sampled, "sampled checksums through mmap");
	ASSERT_GE(res1 - res0, sampled, "a BPF answer for every sampled file at least");
	ASSERT_EQ(up1, up0, "no FUSE_FMAP upcall");
	check_tree("after the remount");
out:
	ensure_clean();
}

/*
 * A file grown by appends to 64 MiB: its large part maps 2 MiB at a time.
 */
#define GROW_LEN	(64 * MiB)

/* Map @len of @fd at a 2 MiB-aligned address, as a huge-page-aware caller would. */
static void *map_aligned(int fd, size_t len)
{
	uint8_t *area, *aligned;

	area = mmap(NULL, len + UNIT, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return MAP_FAILED;
	aligned = (uint8_t *)(((uintptr_t)area + UNIT - 1) & ~(uintptr_t)(UNIT - 1));
	/* the slack either side goes back: only the file mapping stays */
	if (aligned > area)
		munmap(area, aligned - area);
	munmap(aligned + len, area + UNIT - aligned);
	return mmap(aligned, len, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
}

/*
 * Touch every page of [2 MiB, @len) of @name, mapped at an aligned address:
 * each 2 MiB chunk but @cached (see test_append_grows) must take exactly
 * one PMD fault.  The counters live in the skeleton's mmap'ed .bss, which
 * the program updates behind the compiler's back: barriers around the loop
 * keep it from folding the reset into the reads.
 */
static void pmd_faults(struct dax_faults_bpf *skel, const char *name, __u64 len,
		       const void *model, unsigned int cached, const char *what)
{
	__u64 chunks = (len - UNIT) / UNIT, pmd, fallback, pte, i;
	volatile const uint8_t *map;
	bool same = true;
	int fd;

	fd = open(fixture_join(MNT, name), O_RDONLY);
	if (!ASSERT_OK_FD(fd, "open"))
		return;
	map = map_aligned(fd, len);
	if (!ASSERT_TRUE(map != MAP_FAILED, "mmap aligned"))
		goto out;
	skel->bss->pte_faults = skel->bss->pmd_faults = skel->bss->pmd_fallbacks = 0;
	__asm__ __volatile__("" ::: "memory");
	for (i = UNIT; i < len; i += 4096)
		same &= map[i] == ((const uint8_t *)model)[i];
	__asm__ __volatile__("" ::: "memory");
	pte = skel->bss->pte_faults;
	pmd = skel->bss->pmd_faults;
	fallback = skel->bss->pmd_fallbacks;
	printf("# %s: %llu chunks from 2 MiB (%u mapped while EOF was inside): %llu PMD, "
	       "%llu fallbacks, %llu PTE faults\n", what, (unsigned long long)chunks, cached,
	       (unsigned long long)pmd, (unsigned long long)fallback, (unsigned long long)pte);
	ASSERT_TRUE(same, "bytes through the aligned mapping");
	ASSERT_GE(pmd, chunks - cached, "a PMD fault per 2 MiB from 2 MiB on");
	ASSERT_LE(pmd, chunks, "at most one PMD fault per 2 MiB");
	if (!cached)
		ASSERT_EQ(fallback, 0, "no PMD fallback");
	munmap((void *)map, len);
out:
	close(fd);
}

static void test_append_grows(void)
{
	static const size_t pieces[] = { 1, 100, 4096, 64 * KiB, MiB, 3001, 777777 };
	struct dax_faults_bpf *skel = NULL;
	char *model = malloc(GROW_LEN);
	/* bit c: chunk c held EOF at a check (GROW_LEN / UNIT <= 64 chunks) */
	__u64 x = 0xa99e4d, len = 0, next_check = 1, cut_chunks = 0;
	unsigned int writes = 0;
	double t0 = now();
	struct stat st;
	int fd = -1;

	if (!ASSERT_TRUE(model != NULL, "malloc"))
		goto out;
	fill_fast(model, GROW_LEN, 64);
	skel = dax_faults_bpf__open();
	if (!ASSERT_TRUE(skel, "open skeleton"))
		goto out;
	skel->rodata->target_magic = FUSE_MAGIC;
	if (!ASSERT_OK(dax_faults_bpf__load(skel), "load dax_faults") ||
	    !ASSERT_OK(dax_faults_bpf__attach(skel), "attach dax_faults") || !mkfs_mount())
		goto out;
	fd = open(fixture_join(MNT, "grow"), O_CREAT | O_WRONLY | O_APPEND, 0644);
	if (!ASSERT_OK_FD(fd, "create grow"))
		goto out;
	while (len < GROW_LEN) {
		/* 1 byte first, then a random piece, cut at the end */
		size_t n = writes ? pieces[xorshift64(&x) % (sizeof(pieces) / sizeof(pieces[0]))] : 1;

		if (n > GROW_LEN - len)
			n = GROW_LEN - len;
		if (!ASSERT_EQ(write(fd, model + len, n), (ssize_t)n, "append"))
			goto out;
		len += n;
		writes++;
		if (!ASSERT_OK(fstat(fd, &st), "fstat") || !ASSERT_EQ(st.st_size, len, "size"))
			goto out;
		/* the content so far, at every power of two it passes */
		if (len >= next_check) {
			fixture_check_file(fixture_join(MNT, "grow"), model, len, true);
			while (next_check <= len)
				next_check <<= 1;
			/*
			 * The kernel keeps the mapping it resolved for the
			 * chunk holding EOF, cut at EOF: once the file grows,
			 * that chunk falls back to PTEs until it is forgotten
			 * (the remount).  Not what this test is about: counted.
			 */
			if (len >= UNIT && len % UNIT)
				cut_chunks |= 1ULL << (len / UNIT);
		}
	}
	close(fd);
	fd = -1;
	printf("# grew to %llu bytes in %u appends, %.1f s\n", (unsigned long long)len, writes,
	       now() - t0);
	fixture_check_file(fixture_join(MNT, "grow"), model, GROW_LEN, true);
	pmd_faults(skel, "grow", GROW_LEN, model, __builtin_popcountll(cut_chunks), "grown");
	if (!remount())
		goto out;
	fixture_check_file(fixture_join(MNT, "grow"), model, GROW_LEN, true);
	/* nothing cached: every chunk from 2 MiB on maps whole */
	pmd_faults(skel, "grow", GROW_LEN, model, 0, "after the remount");
out:
	if (fd >= 0)
		close(fd);
	ensure_clean();
	dax_faults_bpf__destroy(skel);
	free(model);
}

/*
 * Fragmentation: create and delete small and large files at random, the
 * file system kept near full (the fuller it is, the likelier a delete), until
 * FRAG_FACTOR x its space has been written.  Writing 10 GiB (the device's
 * size ten times, and as much zeroing of new space) takes many minutes
 * under TCG, so a filler file, fallocated first, leaves FRAG_AREA of the
 * device free: the rule under test is about free space, not the device's
 * size.  FRAG_MAX_S bounds the loop: past it the subtest fails, saying so,
 * rather than time out the whole test.
 */
#define FRAG_FACTOR	10
#define FRAG_AREA	(256 * MiB)
#define FRAG_MAX_S	240
#define FRAG_SEED	0xf4a9ULL
#define FRAG_MAX_LIVE	4096
#define FRAG_PIECE	MiB
#define FRAG_FILLER	"filler"

struct frag_file {
	unsigned int id;
	__u64 size;
};

/* Write @size bytes of @buf's pattern into a new file @name: 0 or -errno, bytes into *@done. */
static int frag_create(const char *name, __u64 size, const char *buf, __u64 *done)
{
	int fd = open(fixture_join(MNT, name), O_CREAT | O_WRONLY | O_EXCL, 0644);
	int err = 0;

	*done = 0;
	if (fd < 0)
		return -errno;
	while (*done < size) {
		size_t n = size - *done < FRAG_PIECE ? size - *done : FRAG_PIECE;
		/* a different window of buf for each piece: not all one page */
		ssize_t w = write(fd, buf + (*done / 4096 % 64) * 4096, n);

		if (w < 0) {
			err = -errno;
			break;
		}
		*done += w;
	}
	if (close(fd) && !err)
		err = -errno;
	return err;
}

static void test_fragmentation(void)
{
	struct frag_file *live = calloc(FRAG_MAX_LIVE, sizeof(*live));
	unsigned int nlive = 0, next_id = 0, creates = 0, deletes = 0;
	unsigned int large_ok = 0, large_enospc = 0, small_enospc = 0, bad = 0;
	char *buf = malloc(FRAG_PIECE + 64 * 4096), name[32];
	__u64 x = FRAG_SEED, written = 0, target, total, done, size, freeb;
	double t0 = now();
	struct statvfs sv;
	int err, fd = -1;
	bool large;

	if (!ASSERT_TRUE(live && buf, "malloc"))
		goto out;
	fill_fast(buf, FRAG_PIECE + 64 * 4096, 7);
	if (!mkfs_mount() || !ASSERT_OK(statvfs(MNT, &sv), "statvfs"))
		goto out;
	freeb = (__u64)sv.f_bfree * sv.f_frsize;
	fd = open(fixture_join(MNT, FRAG_FILLER), O_CREAT | O_WRONLY | O_EXCL, 0600);
	if (!ASSERT_OK_FD(fd, "filler") ||
	    !ASSERT_GT(freeb, FRAG_AREA, "room for the area") ||
	    !ASSERT_OK(fallocate(fd, 0, 0, freeb - FRAG_AREA), "fallocate the filler"))
		goto out;
	close(fd);
	fd = -1;
	total = free_bytes();
	target = FRAG_FACTOR * total;
	printf("# filler of %llu MiB in %.1f s: %llu MiB free\n",
	       (unsigned long long)(freeb - FRAG_AREA) >> 20, now() - t0,
	       (unsigned long long)total >> 20);
	t0 = now();
	while (written < target) {
		if (!ASSERT_LT(now() - t0, FRAG_MAX_S, "within the time bound")) {
			printf("# %llu of %llu MiB written\n", (unsigned long long)written >> 20,
			       (unsigned long long)target >> 20);
			break;
		}
		freeb = free_bytes();
		/* near full, deletes win: free space stays low, and fragmented */
		if (nlive && (nlive == FRAG_MAX_LIVE ||
			      xorshift64(&x) % total >= freeb * 4)) {
			unsigned int k = xorshift64(&x) % nlive;

			snprintf(name, sizeof(name), "f%u", live[k].id);
			if (!ASSERT_OK(unlink(fixture_join(MNT, name)), "unlink"))
				goto out;
			live[k] = live[--nlive];
			deletes++;
			continue;
		}
		large = xorshift64(&x) % 3 == 0;
		/* small: log-uniform up to 2 MiB */
		size = large ? 0 : 1ULL << (1 + xorshift64(&x) % 21);
		size = large ? 4 * MiB + xorshift64(&x) % (60 * MiB + 1) : 1 + xorshift64(&x) % size;
		snprintf(name, sizeof(name), "f%u", next_id);
		err = frag_create(name, size, buf, &done);
		written += done;
		creates++;
		if (!err) {
			live[nlive++] = (struct frag_file){ .id = next_id++, .size = size };
			large_ok += large;
			continue;
		}
		if (!ASSERT_EQ(err, -ENOSPC, "create: ENOSPC or nothing"))
			goto out;
		if (!ASSERT_OK(unlink(fixture_join(MNT, name)), "unlink what ENOSPC left"))
			goto out;
		next_id++;
		if (!large) {
			small_enospc++;
			continue;
		}
		large_enospc++;
		/* a large file may fail only if free space was short of it plus a unit */
		if (freeb >= size + UNIT && bad++ < 5)
			printf("# %s (%llu bytes): ENOSPC with %llu bytes free\n", name,
			       (unsigned long long)size, (unsigned long long)freeb);
	}
	printf("# fragmentation: %llu MiB written (%dx %llu MiB) in %.1f s: %u creates, %u deletes, "
	       "large %u ok / %u ENOSPC, small %u ENOSPC, %u live\n",
	       (unsigned long long)written >> 20, FRAG_FACTOR, (unsigned long long)total >> 20,
	       now() - t0, creates, deletes, large_ok, large_enospc, small_enospc, nlive);
	ASSERT_EQ(bad, 0, "large files fail only without their size plus a unit free");
	ASSERT_GT(large_ok, 0, "large files created");
	ASSERT_GT(large_enospc, 0, "large files refused: the file system was driven full");
out:
	if (fd >= 0)
		close(fd);
	ensure_clean();
	free(live);
	free(buf);
}

/*
 * Two tests, so that each has test_progs' 600 s: the copy of the tree
 * takes most of one.
 */
void test_fs_small_grow(void)
{
	if (!fixture_famfs_bin())
		return;
	if (test__start_subtest("append_grows_to_64m"))
		test_append_grows();
	if (test__start_subtest("fragmentation"))
		test_fragmentation();
	ensure_clean();
	rmdir(MNT);
}

void test_fs_small(void)
{
	if (!fixture_famfs_bin())
		return;
	if (test__start_subtest("tree_fits"))
		test_tree_fits();
	if (test__start_subtest("remount_checksums"))
		test_remount_checksums();
	ensure_clean();
	remove_tree();
	rmdir(MNT);
}
