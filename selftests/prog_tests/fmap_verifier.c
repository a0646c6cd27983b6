// SPDX-License-Identifier: GPL-2.0
/*
 * Every function of include/fmap.h passes the kernel's verifier: one
 * subtest per function loads progs/fmap_verifier.bpf.c with only that
 * function's program, then runs it (BPF_PROG_RUN) on random layouts and
 * offsets and compares each answer with the same function on the host.
 * The accessor searches run over 100,000 extents in an ARRAY map, the way
 * bpf/resolver.bpf.c reads them.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fmap.h"
#include "progs/fmap_verifier.h"
#include "test_progs.h"
#include "fmap_verifier.skel.h"
#include "xorshift.h"

#define KiB		(1ULL << 10)
#define MiB		(1ULL << 20)
#define CAP		256	/* FMAP_ARRAY_CAP of the BPF program */
#define BIG_N		100000
#define ROUNDS		300

static __u64 rng = 0x853c49e6748fea9bULL;

static __u64 rnd(void)
{
	return xorshift64(&rng);
}

/* Sorted extents with some gaps, starting at a page, or uniform ones. */
static void gen_simple(struct fmap_simple_ext *e, __u32 n, bool uniform,
		       __u32 shift)
{
	__u64 off = uniform ? 0 : (rnd() % 3) * 4 * KiB;
	__u32 i;

	memset(e, 0, n * sizeof(*e));
	for (i = 0; i < n; i++) {
		e[i].file_off = off;
		if (uniform)
			e[i].len = i + 1 < n ? 1ULL << shift : (1 + rnd() % 4) * 4 * KiB;
		else
			e[i].len = (1 + rnd() % 8) * 4 * KiB;
		e[i].dev = rnd() % 3;
		e[i].dev_off = (rnd() % 100000) * 4 * KiB;
		off += e[i].len;
		if (!uniform && rnd() % 3 == 0)
			off += 4 * KiB;
	}
}

static void gen_ileave(struct fmap_ileave_ext *ie, __u32 n)
{
	__u64 off = 0;
	__u32 k, s;

	memset(ie, 0, n * sizeof(*ie));
	for (k = 0; k < n; k++) {
		/* any count 1..16, powers of two or not */
		__u32 ns = 1 + rnd() % FMAP_MAX_STRIPS;
		__u32 cs = FMAP_MIN_CHUNK_SHIFT + rnd() % 10;

		ie[k].file_off = off;
		ie[k].len = ((__u64)(1 + rnd() % 4) * ns << cs) +
			    ((__u64)(rnd() % ns) << cs) + (rnd() % 3) * 4 * KiB;
		ie[k].nstrips = ns;
		ie[k].chunk_shift = cs;
		for (s = 0; s < ns; s++) {
			ie[k].strips[s].dev = rnd() % 3;
			ie[k].strips[s].dev_off = (rnd() % 1000) * MiB;
		}
		off += ie[k].len + (rnd() % 2) * 4 * KiB;
	}
}

static __u64 layout_end(const struct fmap_simple_ext *e, __u32 n)
{
	return e[n - 1].file_off + e[n - 1].len;
}

static bool run(struct bpf_program *prog)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts);
	int err = bpf_prog_test_run_opts(bpf_program__fd(prog), &topts);

	return ASSERT_OK(err, "BPF_PROG_RUN") && ASSERT_EQ(topts.retval, 0, "retval");
}

/* BPF's answer (in the skeleton's globals) against the host's. */
static bool same(struct fmap_verifier_bpf *skel, int host_ret,
		 const struct fmap_mapping *hm, __u64 off)
{
	const struct fmap_mapping *bm = &skel->bss->m;

	if (skel->bss->ret != host_ret) {
		printf("# offset %llu: BPF %d, host %d\n", (unsigned long long)off,
		       skel->bss->ret, host_ret);
		return false;
	}
	if (host_ret == 0 && (bm->file_off != hm->file_off || bm->len != hm->len ||
			      bm->dev != hm->dev || bm->dev_off != hm->dev_off)) {
		printf("# offset %llu: BPF (%u, %llu, %llu), host (%u, %llu, %llu)\n",
		       (unsigned long long)off, bm->dev,
		       (unsigned long long)bm->dev_off, (unsigned long long)bm->len,
		       hm->dev, (unsigned long long)hm->dev_off,
		       (unsigned long long)hm->len);
		return false;
	}
	return true;
}

/* Extents [first, first + n) of the big map := @e. */
static bool fill_big(struct fmap_verifier_bpf *skel, __u32 first,
		     const struct fmap_simple_ext *e, __u32 n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 *keys = malloc(n * sizeof(*keys)), count = n, i;
	int err;

	if (!keys)
		return false;
	for (i = 0; i < n; i++)
		keys[i] = first + i;
	err = bpf_map_update_batch(bpf_map__fd(skel->maps.big), keys, e, &count, &opts);
	free(keys);
	return ASSERT_OK(err, "fill the extent map") && ASSERT_EQ(count, n, "filled");
}

/* Run @name on random inputs; the number of answers equal to the host's. */
static int compare(struct fmap_verifier_bpf *skel, const char *name,
		   struct bpf_program *prog)
{
	struct fmap_verifier_bpf__bss *b = skel->bss;
	static struct fmap_simple_ext big[BIG_N];
	struct fmap_mapping hm;
	int r, good = 0, hr;
	__u64 hr64;

	for (r = 0; r < ROUNDS; r++) {
		bool uniform = strstr(name, "uniform") != NULL;

		b->shift = FMAP_MIN_UNIFORM_SHIFT + rnd() % 10;
		b->n = 1 + rnd() % CAP;
		if (uniform && b->n < 2)
			b->n = 2;
		gen_simple(b->simple, b->n, uniform, b->shift);
		b->off = rnd() % (layout_end(b->simple, b->n) + 8 * KiB);
		b->strip = rnd() % 20;
		/* functions that map nothing leave both mappings zero */
		memset(&b->m, 0, sizeof(b->m));
		memset(&hm, 0, sizeof(hm));
		hr64 = 0;

		if (!strcmp(name, "simple_map")) {
			hr = fmap_simple_map(&b->simple[0], b->off, &hm);
		} else if (!strcmp(name, "simple_resolve")) {
			hr = fmap_simple_resolve(b->simple, b->n, b->off, &hm);
		} else if (!strcmp(name, "simple_uniform_resolve")) {
			hr = fmap_simple_uniform_resolve(b->simple, b->n, b->shift,
							 b->off, &hm);
		} else if (!strcmp(name, "simple_uniform_shift")) {
			if (r & 1)	/* half of them not uniform */
				gen_simple(b->simple, b->n, false, 0);
			hr = fmap_simple_uniform_shift(b->simple, b->n);
		} else if (!strcmp(name, "simple_check")) {
			if (r & 1)	/* break one rule */
				b->simple[rnd() % b->n].len = 0;
			hr = fmap_simple_check(b->simple, b->n);
		} else if (!strcmp(name, "ileave_resolve") ||
			   !strcmp(name, "ileave_strip_bytes") ||
			   !strcmp(name, "ileave_check")) {
			gen_ileave(b->ileave, 1);
			b->off = rnd() % (b->ileave[0].len + 8 * KiB);
			if (!strcmp(name, "ileave_check") && (r & 1))
				b->ileave[0].strips[rnd() % FMAP_MAX_STRIPS].pad = 1;
			/* a strip count out of range: both refuse it alike */
			if ((r & 6) == 6)
				b->ileave[0].nstrips = (r & 8) ? 0 : 17 + rnd() % 239;
			hr = !strcmp(name, "ileave_resolve") ?
			     fmap_ileave_resolve(&b->ileave[0], b->off, &hm) :
			     !strcmp(name, "ileave_check") ?
			     fmap_ileave_check(&b->ileave[0]) : 0;
			hr64 = fmap_ileave_strip_bytes(&b->ileave[0], b->strip);
		} else if (!strcmp(name, "ileave_find_resolve") ||
			   !strcmp(name, "map_ileave_find")) {
			__u32 k, key;

			b->n = 1 + rnd() % FMAP_MAX_ILEAVE;
			gen_ileave(b->ileave, b->n);
			b->off = rnd() % (b->ileave[b->n - 1].file_off +
					  b->ileave[b->n - 1].len + 8 * KiB);
			b->first = 0;
			for (k = 0; k < b->n; k++) {
				key = k;
				if (!ASSERT_OK(bpf_map_update_elem(bpf_map__fd(skel->maps.ileave_map),
								   &key, &b->ileave[k], 0),
					       "fill the interleaved map"))
					return good;
			}
			hr = fmap_ileave_find_resolve(b->ileave, b->n, b->off, &hm);
		} else if (!strcmp(name, "map_search") || !strcmp(name, "map_uniform")) {
			/* one big layout, many offsets */
			if (r == 0) {
				gen_simple(big, BIG_N, !strcmp(name, "map_uniform"), 16);
				if (!fill_big(skel, 7000, big, BIG_N))
					return good;
			}
			b->first = 7000;
			b->n = BIG_N;
			b->shift = 16;
			b->off = rnd() % (layout_end(big, BIG_N) + 8 * KiB);
			hr = !strcmp(name, "map_search") ?
			     fmap_simple_resolve(big, BIG_N, b->off, &hm) :
			     fmap_simple_uniform_resolve(big, BIG_N, 16, b->off, &hm);
		} else {
			ASSERT_TRUE(false, "a host counterpart for every program");
			return good;
		}
		if (!run(prog))
			return good;
		if (!strcmp(name, "ileave_strip_bytes")) {
			if (b->ret64 != hr64)
				printf("# strip %u: BPF %llu, host %llu\n", b->strip,
				       (unsigned long long)b->ret64,
				       (unsigned long long)hr64);
			else
				good++;
			continue;
		}
		good += same(skel, hr, &hm, b->off);
	}
	return good;
}

void test_fmap_verifier(void)
{
	struct fmap_verifier_bpf *skel;
	struct bpf_program *prog, *only;
	const char *name;
	int nprogs = 0;

	skel = fmap_verifier_bpf__open();
	if (!ASSERT_TRUE(skel, "open"))
		return;
	bpf_object__for_each_program(prog, skel->obj)
		nprogs++;
	fmap_verifier_bpf__destroy(skel);
	/* the 9 functions of fmap.h + 3 searches over a map */
	ASSERT_EQ(nprogs, 12, "one program per function");

	for (int i = 0; i < nprogs; i++) {
		int k = 0;

		skel = fmap_verifier_bpf__open();
		if (!ASSERT_TRUE(skel, "open"))
			return;
		only = NULL;
		bpf_object__for_each_program(prog, skel->obj) {
			bpf_program__set_autoload(prog, k == i);
			if (k++ == i)
				only = prog;
		}
		name = bpf_program__name(only);
		if (test__start_subtest(name) &&
		    ASSERT_OK(fmap_verifier_bpf__load(skel), "the verifier accepts it"))
			ASSERT_EQ(compare(skel, name, only), ROUNDS,
				  "BPF and host answers agree");
		fmap_verifier_bpf__destroy(skel);
	}
}
