// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF resolver (bpf/resolver.bpf.c) maps every offset where
 * include/fmap.h, run here in userspace, says it is: random layouts
 * (simple with 1, 7, 1000 and 100,000 extents, a uniform power-of-two
 * one, interleaved ones with 1..16 strips and a partial last stripe, over
 * both devices) and 10,000 random offsets.  For each offset the test
 * writes a pattern of its own straight to the device at the place the
 * host model predicts, then reads the file there: the bytes prove where
 * the kernel mapped it.  fmap_stats must show BPF resolutions and not one
 * upcall, for each layout's reads and for all of them.  A last subtest
 * reads a hole: BPF falls back, the server answers, zeroes come back.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "fixture.h"
#include "loader.h"
#include "test_progs.h"
#include "xorshift.h"

#define KiB		(1ULL << 10)
#define BLK		512	/* O_DIRECT granule of the pmem devices */
#define DEV_SIZE	(1024 * MiB)
/* dev0 above FX_ALLOC_START belongs to write allocation */
#define DEV0_END	FX_ALLOC_START

static __u64 rng = 0x9E3779B97F4A7C15ULL;

static __u64 rnd(void)
{
	return xorshift64(&rng);
}

/* A permutation of [0, n) (n > 1): i * p mod n with p coprime to n. */
static __u64 permute(__u64 i, __u64 n)
{
	static const __u64 primes[] = { 1000003, 999983, 7919 };
	__u64 p = primes[0], a, b, t;
	unsigned int k;

	for (k = 0; k < 3; k++) {
		for (a = primes[k], b = n; b; t = a % b, a = b, b = t)
			;
		if (a == 1) {
			p = primes[k];
			break;
		}
	}
	return (i * p) % n;
}

/*
 * @n simple extents of @pages pages each (0: 1..8 at random), file holes
 * between some when @holes, scattered over both devices: extent i goes to
 * a slot given by a permutation, so neighbours are far apart on the device.
 */
static struct fmap_simple_ext *simple_layout(__u32 n, __u32 pages, bool holes,
					     __u64 *size)
{
	struct fmap_simple_ext *e = calloc(n, sizeof(*e));
	__u64 off = 0, slot_len = (pages ? pages : 8) * 4 * KiB;
	__u64 per_dev = (n + 1) / 2;
	__u32 i;

	if (!e)
		return NULL;
	for (i = 0; i < n; i++) {
		__u64 slot = per_dev > 1 ? permute(i / 2, per_dev) : 0;

		e[i].file_off = off;
		e[i].len = (pages ? pages : 1 + rnd() % 8) * 4 * KiB;
		e[i].dev = i & 1;
		e[i].dev_off = slot * slot_len;
		off += e[i].len;
		if (holes && rnd() % 4 == 0)
			off += (1 + rnd() % 4) * 4 * KiB;
	}
	*size = off;
	return e;
}

/* Pattern block of file offset @off in layout @seed. */
static void pattern(unsigned char *buf, unsigned int seed, __u64 off)
{
	fill_pattern(buf, BLK, seed * 2654435761U ^ (unsigned int)(off / BLK) ^
			       (unsigned int)(off >> 32));
}

/*
 * @nq random offsets of file @name inside its extents: write each
 * offset's pattern where the host model maps it, then read them all back
 * through the file.  Returns the number that matched.
 */
static int check_offsets(struct fixture *fx, const char *name,
			 const struct fbs_layout *l, __u64 size,
			 unsigned int seed, unsigned int nq)
{
	static const char *const devs[] = { FX_DEV0, FX_DEV1 };
	unsigned char want[BLK], got[BLK];
	__u64 *offs = calloc(nq, sizeof(*offs));
	struct fmap_mapping m;
	unsigned int q, ok = 0, fails = 0;
	char path[128];
	int fd = -1, err;

	if (!offs)
		return -1;
	for (q = 0; q < nq; q++) {
		__u64 off;

		do {		/* an offset in an extent (holes upcall) */
			off = (rnd() % size) & ~(__u64)(BLK - 1);
			err = l->kind == FBS_LAYOUT_SIMPLE ?
			      fmap_simple_resolve(l->simple, l->nsimple, off, &m) :
			      fmap_ileave_find_resolve(l->ileave, l->nileave, off, &m);
		} while (err == -FMAP_ENXIO);
		if (!ASSERT_OK(err, "host model resolves") ||
		    !ASSERT_LE(m.dev, 1, "device index"))
			goto out;
		offs[q] = off;
		pattern(want, seed, off);
		err = dev_pwrite(devs[m.dev], want, BLK, m.dev_off);
		if (!ASSERT_OK(err, "write the pattern to the device"))
			goto out;
	}
	fd = open(fixture_path(fx, name, path, sizeof(path)), O_RDONLY);
	if (!ASSERT_OK_FD(fd, "open"))
		goto out;
	for (q = 0; q < nq; q++) {
		pattern(want, seed, offs[q]);
		if (pread(fd, got, BLK, offs[q]) != BLK ||
		    memcmp(got, want, BLK)) {
			if (fails++ < 5)
				printf("# %s: offset %llu: not where fmap.h maps it\n",
				       name, (unsigned long long)offs[q]);
			continue;
		}
		ok++;
	}
out:
	if (fd >= 0)
		close(fd);
	free(offs);
	return ok;
}

static void run_layout(struct fixture *fx, const char *name,
		       const struct fbs_layout *l, __u64 size,
		       unsigned int seed, unsigned int nq, unsigned int *total)
{
	long long bpf, up;
	int ok;

	if (!ASSERT_OK(fbs_server_add_file(fx->srv, name, size, l), "add file"))
		return;
	bpf = fixture_stat(fx, "bpf_resolves");
	up = fixture_stat(fx, "upcalls");
	ok = check_offsets(fx, name, l, size, seed, nq);
	ASSERT_EQ(ok, nq, "offsets where include/fmap.h maps them");
	/* the reads were BPF's: the test's own subtest, not only "counters" */
	ASSERT_GT(fixture_stat(fx, "bpf_resolves"), bpf, "BPF resolved the reads");
	ASSERT_EQ(fixture_stat(fx, "upcalls"), up, "no upcalls for the reads");
	*total += ok > 0 ? ok : 0;
}

/* The descriptor the loader wrote for @name. */
static bool descriptor(struct fixture *fx, const char *name,
		       struct famfs_file *desc)
{
	char path[256];
	struct stat st;

	if (stat(fixture_path(fx, name, path, sizeof(path)), &st))
		return false;
	/* the server's inode numbers are its nodeids */
	return !famfs_loader_get_file(fbs_server_loader(fx->srv), st.st_ino, desc, NULL);
}

void test_fmap_bpf_equiv(void)
{
	struct fixture_opts opts = { .resolver = FBS_RESOLVER_BPF };
	static const struct { __u32 n; unsigned int nq; } simple[] = {
		{ 1, 500 }, { 7, 1000 }, { 1000, 2000 }, { 100000, 3000 },
	};
	struct fixture fx = { 0 };
	unsigned int total = 0, layouts_run = 0, i;
	long long upcalls0;
	char name[32];

	if (!ASSERT_OK(fixture_mount(&fx, &opts), "mount with the BPF resolver"))
		return;
	upcalls0 = fixture_stat(&fx, "upcalls");
	ASSERT_EQ(fixture_stat(&fx, "bpf_attached"), 1, "resolver attached");

	for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		struct fmap_simple_ext *e;
		struct fbs_layout l;
		__u64 size;

		snprintf(name, sizeof(name), "simple%u", simple[i].n);
		if (!test__start_subtest(name))
			continue;
		layouts_run++;
		/* 100,000 one-page extents: 400 MiB over the two devices */
		e = simple_layout(simple[i].n, simple[i].n > 1000 ? 1 : 0,
				  false, &size);
		if (!ASSERT_TRUE(e, "layout"))
			continue;
		layout_simple(&l, simple[i].n, e);
		run_layout(&fx, name, &l, size, i + 1, simple[i].nq, &total);
		free(e);
	}

	if (test__start_subtest("uniform")) {
		layouts_run++;
		/* 2000 x 64 KiB, the last one 16 KiB: off >> 16 */
		struct famfs_file desc;
		struct fbs_layout l;
		__u64 size;
		struct fmap_simple_ext *e = simple_layout(2000, 16, false, &size);

		if (ASSERT_TRUE(e, "layout")) {
			e[1999].len = 16 * KiB;
			size = e[1999].file_off + e[1999].len;
			layout_simple(&l, 2000, e);
			run_layout(&fx, "uniform", &l, size, 11, 1500, &total);
			if (ASSERT_TRUE(descriptor(&fx, "uniform", &desc), "descriptor"))
				ASSERT_EQ(desc.uniform_shift, 16, "resolved in O(1)");
			free(e);
		}
	}

	if (test__start_subtest("interleaved")) {
		layouts_run++;
		/*
		 * files of 1..4 extents, 1..16 strips (3 and others that are
		 * not powers of two among them), partial last stripes
		 */
		static const __u8 counts[] = { 1, 2, 4, 8, 16, 3, 3, 5 };
		unsigned int f;

		for (f = 0; f < 10; f++) {
			struct fbs_layout l = { .kind = FBS_LAYOUT_INTERLEAVED };
			__u64 off = 0, dev_base[2] = { 0, 0 };
			__u32 k, s;

			l.nileave = 1 + rnd() % FMAP_MAX_ILEAVE;
			for (k = 0; k < l.nileave; k++) {
				struct fmap_ileave_ext *ie = &l.ileave[k];
				__u32 ns = f < sizeof(counts) ? counts[f] : 1 + rnd() % 16;
				__u32 cs = 12 + rnd() % 5;
				__u32 stripes = 1 + rnd() % 8;
				__u32 extra = rnd() % ns;	/* partial stripe */

				ie->file_off = off;
				ie->len = ((__u64)stripes * ns << cs) + ((__u64)extra << cs);
				ie->nstrips = ns;
				ie->chunk_shift = cs;
				for (s = 0; s < ns; s++) {
					__u32 d = (s + k + f) & 1;

					ie->strips[s].dev = d;
					ie->strips[s].dev_off = dev_base[d];
					dev_base[d] += fmap_ileave_strip_bytes(ie, s) +
						       (rnd() % 4) * 4 * KiB;
					dev_base[d] = (dev_base[d] + 4 * KiB - 1) &
						      ~(4 * KiB - 1);
				}
				off += ie->len;
			}
			snprintf(name, sizeof(name), "ileave%u", f);
			run_layout(&fx, name, &l, off, 20 + f, 250, &total);
		}
	}

	if (test__start_subtest("counters")) {
		struct famfs_resolver_stats st;

		/* alone, it checks offsets of its own first */
		if (!layouts_run) {
			struct fbs_layout l;
			__u64 size;
			struct fmap_simple_ext *e = simple_layout(7, 0, false, &size);

			if (ASSERT_TRUE(e, "layout")) {
				layout_simple(&l, 7, e);
				run_layout(&fx, "counters7", &l, size, 31, 500, &total);
				free(e);
			}
		}

		printf("# %u offsets checked; bpf_resolves %lld, bpf_fallbacks %lld, upcalls %lld\n",
		       total, fixture_stat(&fx, "bpf_resolves"),
		       fixture_stat(&fx, "bpf_fallbacks"),
		       fixture_stat(&fx, "upcalls") - upcalls0);
		/* when all ran: 10,000 offsets, and no upcall */
		if (layouts_run == 6)
			ASSERT_GE(total, 10000, "offsets checked");
		ASSERT_GT(fixture_stat(&fx, "bpf_resolves"), 0, "bpf_resolves");
		ASSERT_EQ(fixture_stat(&fx, "upcalls") - upcalls0, 0, "no upcalls");
		ASSERT_EQ(fixture_stat(&fx, "bpf_rejects"), 0, "no rejects of BPF answers");
		ASSERT_EQ(fixture_stat(&fx, "rejects"), 0, "no rejects");
		if (ASSERT_OK(famfs_loader_stats(fbs_server_loader(fx.srv), &st),
			      "resolver counters")) {
			ASSERT_GT(st.handled, 0, "handled");
			ASSERT_EQ(st.bad_slice, 0, "no unreadable slices");
			ASSERT_EQ(st.unaligned, 0, "no unaligned extents");
		}
	}

	if (test__start_subtest("hole")) {
		/* 7 extents with holes: a read in one goes to the server */
		struct fmap_simple_ext *e = NULL;
		unsigned char buf[BLK], zero[BLK] = { 0 };
		struct fmap_mapping m;
		struct fbs_layout l;
		__u64 size, hole = 0;
		long long up;
		char path[128];
		int fd = -1;

		for (i = 0; i < 50 && !hole; i++) {
			free(e);
			e = simple_layout(7, 2, true, &size);
			for (__u32 k = 0; e && k + 1 < 7 && !hole; k++)
				if (e[k].file_off + e[k].len < e[k + 1].file_off)
					hole = e[k].file_off + e[k].len;
		}
		if (!ASSERT_TRUE(e && hole, "a layout with a hole"))
			goto hole_out;
		layout_simple(&l, 7, e);
		ASSERT_EQ(fmap_simple_resolve(e, 7, hole, &m), -FMAP_ENXIO, "model: a hole");
		if (!ASSERT_OK(fbs_server_add_file(fx.srv, "holes", size, &l), "add"))
			goto hole_out;
		up = fixture_stat(&fx, "upcalls");
		fd = open(fixture_path(&fx, "holes", path, sizeof(path)), O_RDONLY);
		if (!ASSERT_OK_FD(fd, "open"))
			goto hole_out;
		ASSERT_EQ(pread(fd, buf, BLK, hole), BLK, "read the hole");
		ASSERT_MEMEQ(buf, zero, BLK, "a hole reads as zeroes");
		ASSERT_GT(fixture_stat(&fx, "bpf_fallbacks"), 0, "BPF fell back");
		ASSERT_GT(fixture_stat(&fx, "upcalls"), up, "the server answered");
hole_out:
		if (fd >= 0)
			close(fd);
		free(e);
	}
	fixture_unmount(&fx);
}
