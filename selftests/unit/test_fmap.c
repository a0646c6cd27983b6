// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of include/fmap.h, the one resolver every part uses.
 * The brute-force cases compare it with a naive walk written here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fmap.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)

static struct fmap_ileave_ext ileave(__u64 file_off, __u64 len,
				     __u8 strip_shift, __u8 chunk_shift)
{
	struct fmap_ileave_ext ie = {
		.file_off = file_off, .len = len,
		.strip_shift = strip_shift, .chunk_shift = chunk_shift,
	};
	__u32 s;

	/* strip s on device s, each strip 1 GiB apart */
	for (s = 0; s < (1U << strip_shift); s++) {
		ie.strips[s].dev = s;
		ie.strips[s].dev_off = (s + 1) * 1024 * MiB;
	}
	return ie;
}

/* The example of DESIGN.md and the harness issue. */
static void ileave_chunk7_of_4x2m(void **state)
{
	struct fmap_ileave_ext ie = ileave(0, 64 * MiB, 2, 21);
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
	struct fmap_ileave_ext ie = ileave(0, 10 * MiB + 100 * KiB, 2, 21);
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

static void ileave_past_end_and_before_start(void **state)
{
	struct fmap_ileave_ext ie = ileave(8 * MiB, 16 * MiB, 1, 21);
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
	struct fmap_ileave_ext ie = ileave(0, 7 * MiB, 0, 21);
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
		ileave(0, 16 * MiB, 2, 21),
		ileave(16 * MiB, 8 * MiB, 3, 20),
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

static void simple_binary_search(void **state)
{
	static const __u32 sizes[] = { 1, 2, 3, 255, FMAP_MAX_SIMPLE };
	struct fmap_simple_ext e[FMAP_MAX_SIMPLE];
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
}

/* The naive reference: walk the chunks of the extent one by one. */
static int naive_ileave(const struct fmap_ileave_ext *ie, __u64 off,
			struct fmap_mapping *m)
{
	__u64 chunk = 1ULL << ie->chunk_shift, pos = ie->file_off;
	__u64 stripe_of[FMAP_MAX_STRIPS] = { 0 };
	__u32 nstrips = 1U << ie->strip_shift, s = 0;

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
	static const struct { __u64 len; __u8 ss, cs; } cases[] = {
		{ 64 * MiB, 2, 21 },
		{ 10 * MiB + 100 * KiB, 2, 21 },
		{ 3 * MiB + 12 * KiB, 4, 16 },
		{ 1 * MiB, 3, 12 },
		{ 5 * MiB, 0, 20 },
	};
	struct fmap_mapping a, b;
	__u32 k;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct fmap_ileave_ext ie = ileave(2 * MiB, cases[k].len,
						   cases[k].ss, cases[k].cs);
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
		for (s = 0; s < (1U << ie.strip_shift); s++)
			assert_int_equal(fmap_ileave_strip_bytes(&ie, s), total[s]);
	}
}

static void ileave_check_rejects(void **state)
{
	struct fmap_ileave_ext ie;

	(void)state;
	ie = ileave(0, 8 * MiB, 2, 21);
	ie.strip_shift = FMAP_MAX_STRIP_SHIFT + 1;
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_EINVAL);

	ie = ileave(0, 8 * MiB, 2, FMAP_MIN_CHUNK_SHIFT - 1);
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_EINVAL);

	ie = ileave(0, 8 * MiB, 2, FMAP_MAX_CHUNK_SHIFT + 1);
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_EINVAL);

	ie = ileave(0, 0, 2, 21);
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_EINVAL);

	ie = ileave(0, 8 * MiB, 2, 21);
	ie.pad1 = 1;
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_EINVAL);

	ie = ileave(0, 8 * MiB, 2, 21);
	ie.pad2 = 1;
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_EINVAL);

	ie = ileave(0, 8 * MiB, 2, 21);
	ie.strips[1].pad = 1;
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_EINVAL);

	ie = ileave(0, 8 * MiB, 2, 21);
	ie.strips[4].dev = 7;		/* beyond nstrips: must be zero */
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_EINVAL);

	ie = ileave(UINT64_MAX - 4 * MiB, 8 * MiB, 2, 21);
	assert_int_equal(fmap_ileave_check(&ie), -FMAP_ERANGE);

	ie = ileave(0, 8 * MiB, 2, 21);
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
		cmocka_unit_test(ileave_past_end_and_before_start),
		cmocka_unit_test(ileave_one_strip_is_simple),
		cmocka_unit_test(ileave_chunk_boundaries),
		cmocka_unit_test(simple_binary_search),
		cmocka_unit_test(ileave_matches_naive_walk),
		cmocka_unit_test(ileave_check_rejects),
		cmocka_unit_test(simple_check_rejects),
	};

	return cmocka_run_group_tests_name("fmap", tests, NULL, NULL);
}
