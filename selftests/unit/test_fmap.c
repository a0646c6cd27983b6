// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of include/fmap.h, the one resolver every part uses.
 * The brute-force cases compare it with a naive walk written here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fmap.h"
#include "xorshift.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)

static struct fmap_ileave_ext ileave(__u64 file_off, __u64 len,
				     __u8 nstrips, __u8 chunk_shift)
{
	struct fmap_ileave_ext ie = {
		.file_off = file_off, .len = len,
		.nstrips = nstrips, .chunk_shift = chunk_shift,
	};
	__u32 s;

	/* strip s on device s, each strip 1 GiB apart */
	for (s = 0; s < nstrips && s < FMAP_MAX_STRIPS; s++) {
		ie.strips[s].dev = s;
		ie.strips[s].dev_off = (s + 1) * 1024 * MiB;
	}
	return ie;
}

/* The example of DESIGN.md and the harness issue. */
static void ileave_chunk7_of_4x2m(void **state)
{
	struct fmap_ileave_ext ie = ileave(0, 64 * MiB, 4, 21);
	struct fmap_mapping m;

	(void)state;
	assert_int_equal(fmap_ileave_check(&ie), 0);
	assert_int_equal(fmap_ileave_resolve(&ie, 15 * MiB, &m), 0);
	/* chunk 7 -> strip 3, stripe 1, 1 MiB into the chunk */
	assert_int_equal(m.dev, 3);
	assert_int_equal(m.dev_off, ie.strips[3].dev_off + 2 * MiB + 1 * MiB);
	assert_int_equal(m.len, 1 * MiB);
	assert_int_equal(m.file_off, 15 * MiB);
}

static void ileave_last_partial_chunk(void **state)
{
	/* 5 chunks and 100 KiB: the tail chunk is chunk 5, on strip 1 */
	struct fmap_ileave_ext ie = ileave(0, 10 * MiB + 100 * KiB, 4, 21);
	struct fmap_mapping m;

	(void)state;
	assert_int_equal(fmap_ileave_check(&ie), 0);
	assert_int_equal(fmap_ileave_resolve(&ie, 10 * MiB + 4 * KiB, &m), 0);
	assert_int_equal(m.dev, 1);
	assert_int_equal(m.dev_off, ie.strips[1].dev_off + 2 * MiB + 4 * KiB);
	assert_int_equal(m.len, 96 * KiB);
	assert_int_equal(fmap_ileave_strip_bytes(&ie, 0), 4 * MiB);
	assert_int_equal(fmap_ileave_strip_bytes(&ie, 1), 2 * MiB + 100 * KiB);
	assert_int_equal(fmap_ileave_strip_bytes(&ie, 2), 2 * MiB);
	assert_int_equal(fmap_ileave_strip_bytes(&ie, 3), 2 * MiB);
}

/* Three strips, the demo's three devices: chunk c on strip c % 3, row c / 3. */
static void ileave_three_strips(void **state)
{
	/* 11 chunks and 8 KiB: strips 0-1 hold 4 chunks, strip 2 three and the tail */
	struct fmap_ileave_ext ie = ileave(4 * MiB, 22 * MiB + 8 * KiB, 3, 21), next;
	struct fmap_mapping m;

	(void)state;
	assert_int_equal(fmap_ileave_check(&ie), 0);
	/* chunk 7 -> strip 1, row 2, 1 MiB into the chunk */
	assert_int_equal(fmap_ileave_resolve(&ie, 4 * MiB + 15 * MiB, &m), 0);
	assert_int_equal(m.dev, 1);
	assert_int_equal(m.dev_off, ie.strips[1].dev_off + 4 * MiB + 1 * MiB);
	assert_int_equal(m.len, 1 * MiB);
	/* chunk 9 -> strip 0, row 3 */
	assert_int_equal(fmap_ileave_resolve(&ie, 4 * MiB + 18 * MiB, &m), 0);
	assert_int_equal(m.dev, 0);
	assert_int_equal(m.dev_off, ie.strips[0].dev_off + 6 * MiB);
	/* the tail chunk 11 -> strip 2, row 3, 8 KiB long */
	assert_int_equal(fmap_ileave_resolve(&ie, 4 * MiB + 22 * MiB, &m), 0);
	assert_int_equal(m.dev, 2);
	assert_int_equal(m.dev_off, ie.strips[2].dev_off + 6 * MiB);
	assert_int_equal(m.len, 8 * KiB);
	assert_int_equal(fmap_ileave_strip_bytes(&ie, 0), 8 * MiB);
	assert_int_equal(fmap_ileave_strip_bytes(&ie, 1), 8 * MiB);
	assert_int_equal(fmap_ileave_strip_bytes(&ie, 2), 6 * MiB + 8 * KiB);
	assert_int_equal(fmap_ileave_strip_bytes(&ie, 3), 0);

	/* continuations: whole stripes are multiples of 6 MiB, not of 4 or 8 */
	ie = ileave(0, 12 * MiB, 3, 21);
	next = ileave(12 * MiB, 6 * MiB, 3, 21);
	next.strips[0].dev_off += 4 * MiB;
	next.strips[1].dev_off += 4 * MiB;
	next.strips[2].dev_off += 4 * MiB;
	assert_true(fmap_ileave_continues(&ie, &next));
	next.strips[2].dev_off += 2 * MiB;
	assert_false(fmap_ileave_continues(&ie, &next));
	/* unchecked input: a chunk shift whose stripe wraps to 0 is no continuation */
	ie = ileave(0, 8 * MiB, 16, 21);
	next = ileave(8 * MiB, 8 * MiB, 16, 21);
	ie.chunk_shift = next.chunk_shift = 60;
	assert_false(fmap_ileave_continues(&ie, &next));
	ie = ileave(0, 8 * MiB, 3, 21);		/* 1.33 stripes */
	next = ileave(8 * MiB, 6 * MiB, 3, 21);
	next.strips[0].dev_off += 4 * MiB;
	next.strips[1].dev_off += 2 * MiB;
	next.strips[2].dev_off += 2 * MiB;
	assert_false(fmap_ileave_continues(&ie, &next));
}

static void ileave_past_end_and_before_start(void **state)
{
	struct fmap_ileave_ext ie = ileave(8 * MiB, 16 * MiB, 2, 21);
	struct fmap_mapping m;

	(void)state;
	assert_int_equal(fmap_ileave_resolve(&ie, 24 * MiB, &m), -FMAP_ENXIO);
	assert_int_equal(fmap_ileave_resolve(&ie, UINT64_MAX, &m), -FMAP_ENXIO);
	assert_int_equal(fmap_ileave_resolve(&ie, 8 * MiB - 1, &m), -FMAP_ENXIO);
	assert_int_equal(fmap_ileave_resolve(&ie, 24 * MiB - 1, &m), 0);
	assert_int_equal(m.len, 1);
}

static void ileave_one_strip_is_simple(void **state)
{
	struct fmap_ileave_ext ie = ileave(0, 7 * MiB, 1, 21);
	struct fmap_mapping m;
	__u64 off;

	(void)state;
	for (off = 0; off < 7 * MiB; off += 4 * KiB) {
		assert_int_equal(fmap_ileave_resolve(&ie, off, &m), 0);
		assert_int_equal(m.dev, 0);
		assert_int_equal(m.dev_off, ie.strips[0].dev_off + off);
	}
}

static void ileave_chunk_boundaries(void **state)
{
	struct fmap_ileave_ext ie[2] = {
		ileave(0, 16 * MiB, 4, 21),
		ileave(16 * MiB, 8 * MiB, 8, 20),
	};
	struct fmap_mapping m;

	(void)state;
	/* first byte of chunk 4: strip 0, stripe 1 */
	assert_int_equal(fmap_ileave_find_resolve(ie, 2, 8 * MiB, &m), 0);
	assert_int_equal(m.dev, 0);
	assert_int_equal(m.dev_off, ie[0].strips[0].dev_off + 2 * MiB);
	assert_int_equal(m.len, 2 * MiB);
	/* last byte of chunk 3 */
	assert_int_equal(fmap_ileave_find_resolve(ie, 2, 8 * MiB - 1, &m), 0);
	assert_int_equal(m.dev, 3);
	assert_int_equal(m.len, 1);
	/* first byte of the second extent */
	assert_int_equal(fmap_ileave_find_resolve(ie, 2, 16 * MiB, &m), 0);
	assert_int_equal(m.dev, 0);
	assert_int_equal(m.dev_off, ie[1].strips[0].dev_off);
	assert_int_equal(m.len, 1 * MiB);
	assert_int_equal(fmap_ileave_find_resolve(ie, 2, 24 * MiB, &m),
			 -FMAP_ENXIO);
	assert_int_equal(fmap_ileave_find_resolve(ie, 0, 0, &m), -FMAP_EINVAL);
	assert_int_equal(fmap_ileave_find_resolve(ie, FMAP_MAX_ILEAVE + 1, 0, &m),
			 -FMAP_EINVAL);
}

/* n extents of varying length with a gap after every third */
static __u32 simple_layout(struct fmap_simple_ext *e, __u32 n)
{
	__u64 off = 0, dev_off = 0;
	__u32 i;

	memset(e, 0, n * sizeof(*e));
	for (i = 0; i < n; i++) {
		e[i].file_off = off;
		e[i].len = (1 + i % 5) * 4 * KiB;
		e[i].dev = i % 3;
		e[i].dev_off = dev_off;
		dev_off += e[i].len + 8 * KiB;
		off += e[i].len + (i % 3 == 2 ? 4 * KiB : 0);
	}
	return n;
}

static struct fmap_simple_ext *simple_alloc(__u32 n)
{
	struct fmap_simple_ext *e = calloc(n ? n : 1, sizeof(*e));

	assert_non_null(e);
	return e;
}

static void simple_binary_search(void **state)
{
	static const __u32 sizes[] = { 1, 2, 3, 255, 256, 257, 1000 };
	struct fmap_simple_ext *e = simple_alloc(1000);
	struct fmap_mapping m;
	__u32 k, i;

	(void)state;
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		__u32 n = simple_layout(e, sizes[k]);

		assert_int_equal(fmap_simple_check(e, n), 0);
		for (i = 0; i < n; i++) {
			__u64 last = e[i].file_off + e[i].len - 1;

			assert_int_equal(fmap_simple_resolve(e, n, e[i].file_off, &m), 0);
			assert_int_equal(m.dev, e[i].dev);
			assert_int_equal(m.dev_off, e[i].dev_off);
			assert_int_equal(m.len, e[i].len);
			assert_int_equal(fmap_simple_resolve(e, n, last, &m), 0);
			assert_int_equal(m.dev_off, e[i].dev_off + e[i].len - 1);
			assert_int_equal(m.len, 1);
			/* the gap after every third extent */
			if (i % 3 == 2 && i + 1 < n)
				assert_int_equal(fmap_simple_resolve(e, n, last + 1, &m),
						 -FMAP_ENXIO);
		}
		assert_int_equal(fmap_simple_resolve(e, n, e[n - 1].file_off +
						     e[n - 1].len, &m), -FMAP_ENXIO);
		assert_int_equal(fmap_simple_resolve(e, n, UINT64_MAX, &m),
				 -FMAP_ENXIO);
	}
	assert_int_equal(fmap_simple_resolve(e, FMAP_MAX_SIMPLE + 1, 0, &m),
			 -FMAP_EINVAL);
	assert_int_equal(fmap_simple_resolve(e, 0, 0, &m), -FMAP_EINVAL);
	free(e);
}

/* ---- large layouts, brute force ---- */

static __u64 rng_state = 0x2545F4914F6CDD1DULL;

static __u64 rnd(void)
{
	return xorshift64(&rng_state);
}

/* n extents, random page-multiple lengths, random gaps, start > 0 */
static void simple_random_layout(struct fmap_simple_ext *e, __u32 n)
{
	__u64 off = (rnd() % 4) * 4 * KiB, dev_off = 0;
	__u32 i;

	memset(e, 0, n * sizeof(*e));
	for (i = 0; i < n; i++) {
		e[i].file_off = off;
		e[i].len = (1 + rnd() % 16) * 4 * KiB;
		e[i].dev = rnd() % 4;
		e[i].dev_off = dev_off;
		dev_off += e[i].len;
		off += e[i].len + (rnd() % 4 ? 0 : (1 + rnd() % 3) * 4 * KiB);
	}
}

/* The naive reference: a linear walk. */
static int naive_simple(const struct fmap_simple_ext *e, __u32 n, __u64 off,
			struct fmap_mapping *m)
{
	__u32 i;

	for (i = 0; i < n; i++) {
		if (off >= e[i].file_off && off - e[i].file_off < e[i].len) {
			m->dev = e[i].dev;
			m->dev_off = e[i].dev_off + (off - e[i].file_off);
			m->len = e[i].len - (off - e[i].file_off);
			return 0;
		}
	}
	return -FMAP_ENXIO;
}

static void expect_same(int ra, const struct fmap_mapping *a, int rb,
			const struct fmap_mapping *b)
{
	assert_int_equal(ra, rb);
	if (ra)
		return;
	assert_int_equal(a->dev, b->dev);
	assert_int_equal(a->dev_off, b->dev_off);
	assert_int_equal(a->len, b->len);
}

/* Random offsets, compared with the linear walk. */
static void simple_random_vs_naive(void **state)
{
	static const struct { __u32 n, queries; } cases[] = {
		{ 1, 2000 }, { 7, 2000 }, { 1000, 2000 }, { 100000, 300 },
	};
	struct fmap_simple_ext *e = simple_alloc(100000);
	struct fmap_mapping a, b;
	__u32 k, q;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		__u32 n = cases[k].n;
		__u64 end;

		simple_random_layout(e, n);
		assert_int_equal(fmap_simple_check(e, n), 0);
		end = e[n - 1].file_off + e[n - 1].len + 64 * KiB;
		for (q = 0; q < cases[k].queries; q++) {
			__u64 off = rnd() % end;

			expect_same(fmap_simple_resolve(e, n, off, &a), &a,
				    naive_simple(e, n, off, &b), &b);
		}
	}
	free(e);
}

/*
 * Every extent's first and last byte and every gap, at the largest sizes:
 * n = FMAP_MAX_SIMPLE exercises every one of the FMAP_SEARCH_STEPS.
 */
static void simple_every_extent_large(void **state)
{
	static const __u32 sizes[] = { 100000, FMAP_MAX_SIMPLE - 1, FMAP_MAX_SIMPLE };
	struct fmap_simple_ext *e = simple_alloc(FMAP_MAX_SIMPLE);
	struct fmap_mapping m;
	__u32 k, i;

	(void)state;
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		__u32 n = sizes[k];

		simple_random_layout(e, n);
		assert_int_equal(fmap_simple_check(e, n), 0);
		for (i = 0; i < n; i++) {
			__u64 last = e[i].file_off + e[i].len - 1;

			if (fmap_simple_resolve(e, n, e[i].file_off, &m) ||
			    m.dev_off != e[i].dev_off || m.len != e[i].len)
				fail_msg("n %u: first byte of extent %u", n, i);
			if (fmap_simple_resolve(e, n, last, &m) ||
			    m.dev_off != e[i].dev_off + e[i].len - 1 || m.len != 1)
				fail_msg("n %u: last byte of extent %u", n, i);
			if (i + 1 < n && e[i + 1].file_off > last + 1 &&
			    fmap_simple_resolve(e, n, last + 1, &m) != -FMAP_ENXIO)
				fail_msg("n %u: gap after extent %u", n, i);
		}
		if (e[0].file_off)
			assert_int_equal(fmap_simple_resolve(e, n, 0, &m), -FMAP_ENXIO);
	}
	assert_int_equal(fmap_simple_check(e, FMAP_MAX_SIMPLE + 1), -FMAP_EINVAL);
	free(e);
}

/* An accessor like the BPF one: counts reads, may fail. */
struct counted {
	const struct fmap_simple_ext *e;
	__u32 n;
	__u32 gets;
	__u32 fail_at;	/* 0: never */
};

static const struct fmap_simple_ext *counted_get(struct counted *c, __u32 i)
{
	c->gets++;
	if (i >= c->n || c->gets == c->fail_at)
		return NULL;
	return &c->e[i];
}

FMAP_DEFINE_SIMPLE_SEARCH(counted_search, struct counted *, counted_get)
FMAP_DEFINE_SIMPLE_UNIFORM(counted_uniform, struct counted *, counted_get)

static void simple_search_steps_bounded(void **state)
{
	struct fmap_simple_ext *e = simple_alloc(FMAP_MAX_SIMPLE);
	struct counted c = { .e = e, .n = FMAP_MAX_SIMPLE };
	struct fmap_mapping m;
	__u32 q, max_gets = 0;

	(void)state;
	simple_random_layout(e, FMAP_MAX_SIMPLE);
	for (q = 0; q < 5000; q++) {
		__u32 i = rnd() % FMAP_MAX_SIMPLE;

		c.gets = 0;
		assert_int_equal(counted_search(&c, c.n, e[i].file_off, &m), 0);
		assert_int_equal(m.dev_off, e[i].dev_off);
		if (c.gets > max_gets)
			max_gets = c.gets;
	}
	assert_true(max_gets <= FMAP_SEARCH_STEPS + 1);
	/* a read that fails is an error, not a wrong answer */
	c.gets = 0;
	c.fail_at = 3;
	assert_int_equal(counted_search(&c, c.n, e[7].file_off, &m), -FMAP_EINVAL);
	c.gets = 0;
	c.fail_at = 1;
	assert_int_equal(counted_uniform(&c, c.n, 12, 0, &m), -FMAP_EINVAL);
	free(e);
}

/* ---- uniform layouts ---- */

/* n extents of 1 << shift from offset 0, the last @last_len long */
static void uniform_layout(struct fmap_simple_ext *e, __u32 n, __u32 shift,
			   __u64 last_len)
{
	__u32 i;

	memset(e, 0, n * sizeof(*e));
	for (i = 0; i < n; i++) {
		e[i].file_off = (__u64)i << shift;
		e[i].len = i + 1 < n ? 1ULL << shift : last_len;
		e[i].dev = rnd() % 2;
		e[i].dev_off = (rnd() % 1024) << shift;
	}
}

static void uniform_matches_search(void **state)
{
	static const struct { __u32 n, shift; __u64 last; } cases[] = {
		{ 2, 12, 4 * KiB },
		{ 3, 21, 1 * MiB },		/* short last extent */
		{ 1000, 21, 2 * MiB },
		{ 1000, 16, 1 * MiB },		/* long last extent */
		{ 100000, 12, 4 * KiB },
		{ 64, 30, 4 * KiB },
	};
	struct fmap_simple_ext *e = simple_alloc(100000);
	struct counted c = { .e = e };
	struct fmap_mapping a, b;
	__u32 k, q;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		__u32 n = cases[k].n, shift = cases[k].shift;
		__u64 end;

		uniform_layout(e, n, shift, cases[k].last);
		assert_int_equal(fmap_simple_check(e, n), 0);
		assert_int_equal(fmap_simple_uniform_shift(e, n), shift);
		end = e[n - 1].file_off + e[n - 1].len;
		for (q = 0; q < 3000; q++) {
			/* the first byte, the last, one past it, then random */
			static const __u64 fixed[] = { 0, 1, 0 };
			__u64 off = q < 3 ? (q ? end - fixed[q] : 0) :
				    rnd() % (end + (1ULL << shift));

			expect_same(fmap_simple_uniform_resolve(e, n, shift, off, &a), &a,
				    fmap_simple_resolve(e, n, off, &b), &b);
			if (n <= 1000)
				expect_same(fmap_simple_uniform_resolve(e, n, shift, off, &a),
					    &a, naive_simple(e, n, off, &b), &b);
			/* O(1): one read */
			c.n = n;
			c.gets = 0;
			counted_uniform(&c, n, shift, off, &a);
			assert_int_equal(c.gets, 1);
		}
	}
	assert_int_equal(fmap_simple_uniform_resolve(e, 2, FMAP_MIN_UNIFORM_SHIFT - 1,
						     0, &a), -FMAP_EINVAL);
	assert_int_equal(fmap_simple_uniform_resolve(e, 2, FMAP_MAX_UNIFORM_SHIFT + 1,
						     0, &a), -FMAP_EINVAL);
	assert_int_equal(fmap_simple_uniform_resolve(e, 0, 12, 0, &a), -FMAP_EINVAL);
	free(e);
}

static void uniform_shift_rejects(void **state)
{
	struct fmap_simple_ext e[8];

	(void)state;
	uniform_layout(e, 8, 21, 2 * MiB);
	assert_int_equal(fmap_simple_uniform_shift(e, 8), 21);
	assert_int_equal(fmap_simple_uniform_shift(e, 1), 0);	/* one extent */

	uniform_layout(e, 8, 21, 2 * MiB);
	e[3].len = 1 * MiB;					/* a short middle */
	assert_int_equal(fmap_simple_uniform_shift(e, 8), 0);

	uniform_layout(e, 8, 21, 2 * MiB);
	e[5].file_off += 4 * KiB;				/* a gap */
	assert_int_equal(fmap_simple_uniform_shift(e, 8), 0);

	uniform_layout(e, 8, 21, 2 * MiB);
	for (int i = 0; i < 8; i++)
		e[i].file_off += 2 * MiB;			/* not from 0 */
	assert_int_equal(fmap_simple_uniform_shift(e, 8), 0);

	uniform_layout(e, 8, 21, 2 * MiB);
	for (int i = 0; i < 8; i++) {				/* 3 MiB: no power of two */
		e[i].file_off = i * 3 * MiB;
		e[i].len = 3 * MiB;
	}
	assert_int_equal(fmap_simple_uniform_shift(e, 8), 0);

	uniform_layout(e, 8, 11, 2 * KiB);			/* below a page */
	assert_int_equal(fmap_simple_uniform_shift(e, 8), 0);
	uniform_layout(e, 2, 31, 4 * KiB);			/* above 1 GiB */
	assert_int_equal(fmap_simple_uniform_shift(e, 2), 0);
}

/* The naive reference: walk the chunks of the extent one by one. */
static int naive_ileave(const struct fmap_ileave_ext *ie, __u64 off,
			struct fmap_mapping *m)
{
	__u64 chunk = 1ULL << ie->chunk_shift, pos = ie->file_off;
	__u64 stripe_of[FMAP_MAX_STRIPS] = { 0 };
	__u32 nstrips = ie->nstrips, s = 0;

	while (pos < ie->file_off + ie->len) {
		__u64 end = pos + chunk;

		if (end > ie->file_off + ie->len)
			end = ie->file_off + ie->len;
		if (off >= pos && off < end) {
			m->dev = ie->strips[s].dev;
			m->dev_off = ie->strips[s].dev_off + stripe_of[s] * chunk +
				     (off - pos);
			m->len = end - off;
			return 0;
		}
		stripe_of[s]++;
		s = (s + 1) % nstrips;
		pos = end;
	}
	return -FMAP_ENXIO;
}

static void ileave_matches_naive_walk(void **state)
{
	static const struct { __u64 len; __u8 ns, cs; } cases[] = {
		{ 64 * MiB, 4, 21 },
		{ 10 * MiB + 100 * KiB, 4, 21 },
		{ 3 * MiB + 12 * KiB, 16, 16 },
		{ 1 * MiB, 8, 12 },
		{ 5 * MiB, 1, 20 },
		/* not powers of two: three devices, and more */
		{ 64 * MiB, 3, 21 },
		{ 22 * MiB + 100 * KiB, 3, 21 },
		{ 3 * MiB + 12 * KiB, 5, 16 },
		{ 1 * MiB + 4 * KiB, 7, 12 },
		{ 7 * MiB + 8 * KiB, 15, 16 },
	};
	struct fmap_mapping a, b;
	__u32 k;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct fmap_ileave_ext ie = ileave(2 * MiB, cases[k].len,
						   cases[k].ns, cases[k].cs);
		__u64 total[FMAP_MAX_STRIPS] = { 0 }, off;
		__u32 s;

		assert_int_equal(fmap_ileave_check(&ie), 0);
		for (off = 0; off < ie.len + 8 * KiB; off += 4 * KiB) {
			int ra = fmap_ileave_resolve(&ie, ie.file_off + off, &a);
			int rb = naive_ileave(&ie, ie.file_off + off, &b);

			assert_int_equal(ra, rb);
			if (ra)
				continue;
			assert_int_equal(a.dev, b.dev);
			assert_int_equal(a.dev_off, b.dev_off);
			assert_int_equal(a.len, b.len);
		}
		/* strip_bytes agrees with the walk, byte for byte */
		for (off = 0; off < ie.len; off += b.len) {
			assert_int_equal(naive_ileave(&ie, ie.file_off + off, &b), 0);
			total[b.dev] += b.len;
		}
		for (s = 0; s < ie.nstrips; s++)
			assert_int_equal(fmap_ileave_strip_bytes(&ie, s), total[s]);
	}
}

/* Random interleaved layouts, 1..16 strips, partial last stripe. */
static void ileave_random_vs_naive(void **state)
{
	struct fmap_ileave_ext ie[FMAP_MAX_ILEAVE];
	struct fmap_mapping a, b;
	__u32 k, q, i, n;

	(void)state;
	for (k = 0; k < 200; k++) {
		__u64 off = 0, end;

		n = 1 + rnd() % FMAP_MAX_ILEAVE;
		for (i = 0; i < n; i++) {
			__u8 ns = 1 + rnd() % FMAP_MAX_STRIPS;
			__u8 cs = FMAP_MIN_CHUNK_SHIFT + rnd() % 10;
			/* whole stripes, a partial stripe, a partial chunk */
			__u64 len = ((rnd() % 5) * ns << cs) +
				    ((rnd() % ns) << cs) +
				    (rnd() % 4) * 4 * KiB + 4 * KiB;

			ie[i] = ileave(off, len, ns, cs);
			assert_int_equal(fmap_ileave_check(&ie[i]), 0);
			off += len + (rnd() % 2) * 4 * KiB;	/* maybe a gap */
		}
		end = off + 8 * KiB;
		for (q = 0; q < 200; q++) {
			__u64 x = rnd() % end;
			int rb = -FMAP_ENXIO;

			for (i = 0; i < n && rb; i++)
				rb = naive_ileave(&ie[i], x, &b);
			expect_same(fmap_ileave_find_resolve(ie, n, x, &a), &a, rb, &b);
		}
	}
}

static void ileave_check_rejects(void **state)
{
	struct fmap_ileave_ext ie;
	struct fmap_mapping m;

	(void)state;
	ie = ileave(0, 8 * MiB, 4, 21);
	ie.nstrips = 0;
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_EINVAL);
	assert_int_equal(fmap_ileave_resolve(&ie, 0, &m), -FMAP_EINVAL);
	ie.nstrips = FMAP_MAX_STRIPS + 1;
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_EINVAL);
	assert_int_equal(fmap_ileave_resolve(&ie, 0, &m), -FMAP_EINVAL);
	assert_int_equal(fmap_ileave_strip_bytes(&ie, 0), 0);
	ie.nstrips = 255;
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_EINVAL);
	ie.nstrips = FMAP_MAX_STRIPS;
	assert_int_equal(fmap_ileave_check(&ie), 0);
	ie.nstrips = 3;
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_EINVAL);	/* strip 3 not zero */
	ie.strips[3] = (struct fmap_strip){ 0 };
	assert_int_equal(fmap_ileave_check(&ie), 0);

	ie = ileave(0, 8 * MiB, 4, FMAP_MIN_CHUNK_SHIFT - 1);
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_EINVAL);

	ie = ileave(0, 8 * MiB, 4, FMAP_MAX_CHUNK_SHIFT + 1);
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_EINVAL);

	ie = ileave(0, 0, 4, 21);
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_EINVAL);

	ie = ileave(0, 8 * MiB, 4, 21);
	ie.pad1 = 1;
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_EINVAL);

	ie = ileave(0, 8 * MiB, 4, 21);
	ie.pad2 = 1;
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_EINVAL);

	ie = ileave(0, 8 * MiB, 4, 21);
	ie.strips[1].pad = 1;
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_EINVAL);

	ie = ileave(0, 8 * MiB, 4, 21);
	ie.strips[4].dev = 7;		/* beyond nstrips: must be zero */
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_EINVAL);

	ie = ileave(UINT64_MAX - 4 * MiB, 8 * MiB, 4, 21);
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_ERANGE);

	ie = ileave(0, 8 * MiB, 4, 21);
	ie.strips[2].dev_off = UINT64_MAX - 1 * MiB;	/* 2 MiB on strip 2 */
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_ERANGE);
}

static void simple_check_rejects(void **state)
{
	struct fmap_simple_ext e[3];

	(void)state;
	simple_layout(e, 3);
	assert_int_equal(fmap_simple_check(e, 0), -FMAP_EINVAL);
	assert_int_equal(fmap_simple_check(e, FMAP_MAX_SIMPLE + 1), -FMAP_EINVAL);

	simple_layout(e, 3);
	e[1].len = 0;
	assert_int_equal(fmap_simple_check(e, 3), -FMAP_EINVAL);

	simple_layout(e, 3);
	e[2].pad = 1;
	assert_int_equal(fmap_simple_check(e, 3), -FMAP_EINVAL);

	simple_layout(e, 3);
	e[1].file_off = e[0].file_off + e[0].len - 1;	/* overlaps e[0] */
	assert_int_equal(fmap_simple_check(e, 3), -FMAP_EINVAL);

	simple_layout(e, 3);
	e[2].file_off = 0;				/* not sorted */
	assert_int_equal(fmap_simple_check(e, 3), -FMAP_EINVAL);

	simple_layout(e, 3);
	e[2].file_off = UINT64_MAX - 1;
	assert_int_equal(fmap_simple_check(e, 3), -FMAP_ERANGE);

	simple_layout(e, 3);
	e[0].dev_off = UINT64_MAX - 1;
	assert_int_equal(fmap_simple_check(e, 3), -FMAP_ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ileave_chunk7_of_4x2m),
		cmocka_unit_test(ileave_last_partial_chunk),
		cmocka_unit_test(ileave_three_strips),
		cmocka_unit_test(ileave_past_end_and_before_start),
		cmocka_unit_test(ileave_one_strip_is_simple),
		cmocka_unit_test(ileave_chunk_boundaries),
		cmocka_unit_test(simple_binary_search),
		cmocka_unit_test(simple_random_vs_naive),
		cmocka_unit_test(simple_every_extent_large),
		cmocka_unit_test(simple_search_steps_bounded),
		cmocka_unit_test(uniform_matches_search),
		cmocka_unit_test(uniform_shift_rejects),
		cmocka_unit_test(ileave_random_vs_naive),
		cmocka_unit_test(ileave_matches_naive_walk),
		cmocka_unit_test(ileave_check_rejects),
		cmocka_unit_test(simple_check_rejects),
	};

	return cmocka_run_group_tests_name("fmap", tests, NULL, NULL);
}
