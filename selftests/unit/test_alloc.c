// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of server/fs/alloc.c, the space allocator: placement and
 * congruence of every extent, merging, fragmentation, interleaved
 * placement, all-or-nothing failures, refused frees and claims, a device
 * filled to the last unit, and random operations against a model.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "fs/alloc.h"
#include "xorshift.h"

#define MiB		(1ULL << 20)
#define UNIT		FBS_ALLOC_UNIT
#define U(n)		((__u64)(n) * UNIT)

static struct fbs_alloc_geom whole(__u64 size)
{
	return (struct fbs_alloc_geom){ .size = size, .start = 0, .end = size };
}

/* Everything a call could change, to prove that a refused one did not. */
struct snap {
	__u64 nfree[FBS_ALLOC_MAX_DEVS];
	__u64 *bits[FBS_ALLOC_MAX_DEVS];
};

static void take_snap(const struct fbs_alloc *a, struct snap *s)
{
	__u32 d;

	memset(s, 0, sizeof(*s));
	for (d = 0; d < a->ndevs; d++) {
		size_t sz = (a->devs[d].nunits + 63) / 64 * sizeof(__u64);

		s->nfree[d] = a->devs[d].nfree;
		s->bits[d] = malloc(sz);
		assert_non_null(s->bits[d]);
		memcpy(s->bits[d], a->devs[d].used, sz);
	}
}

static void assert_snap(const struct fbs_alloc *a, struct snap *s)
{
	__u32 d;

	for (d = 0; d < a->ndevs; d++) {
		size_t sz = (a->devs[d].nunits + 63) / 64 * sizeof(__u64);

		assert_int_equal(a->devs[d].nfree, s->nfree[d]);
		assert_memory_equal(a->devs[d].used, s->bits[d], sz);
		free(s->bits[d]);
		s->bits[d] = NULL;
	}
}

static void drop_snap(struct snap *s)
{
	__u32 d;

	for (d = 0; d < FBS_ALLOC_MAX_DEVS; d++)
		free(s->bits[d]);
	memset(s, 0, sizeof(*s));
}

static __u64 free_bytes(const struct fbs_alloc *a)
{
	struct fbs_alloc_stat st;

	fbs_alloc_stat(a, &st);
	return st.free;
}

/*
 * What every simple allocation must be: sorted, back to back over the
 * file range asked for, whole units, device offset congruent with file
 * offset modulo 2 MiB, inside the device's usable range.
 */
static void check_simple(const struct fbs_alloc *a,
			 const struct fmap_simple_ext *e, __u32 n,
			 __u64 file_off, __u64 len)
{
	__u64 at = file_off;
	__u32 i;

	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		const struct fbs_alloc_dev *d;

		assert_true(e[i].dev < a->ndevs);
		d = &a->devs[e[i].dev];
		assert_int_equal(e[i].file_off, at);
		assert_true(e[i].len > 0);
		assert_int_equal(e[i].len % UNIT, 0);
		assert_int_equal(e[i].dev_off % UNIT, e[i].file_off % UNIT);
		assert_true(e[i].dev_off >= U(d->first));
		assert_true(e[i].dev_off + e[i].len <= U(d->first + d->nunits));
		assert_int_equal(e[i].pad, 0);
		at += e[i].len;
	}
	assert_int_equal(at, file_off + len);
	assert_int_equal(fmap_simple_check(e, n), 0);
}

static void init_geometry(void **state)
{
	struct fbs_alloc_geom g[FBS_ALLOC_MAX_DEVS + 1];
	struct fbs_alloc_stat st;
	struct fbs_alloc a;
	int i;

	(void)state;
	for (i = 0; i <= FBS_ALLOC_MAX_DEVS; i++)
		g[i] = whole(U(4));
	assert_int_equal(fbs_alloc_init(&a, g, 0), -EINVAL);
	assert_int_equal(fbs_alloc_init(&a, g, FBS_ALLOC_MAX_DEVS + 1), -EINVAL);
	assert_int_equal(fbs_alloc_init(&a, NULL, 1), -EINVAL);
	assert_int_equal(fbs_alloc_init(NULL, g, 1), -EINVAL);

	g[1] = (struct fbs_alloc_geom){ .size = U(4), .start = 0, .end = U(5) };
	assert_int_equal(fbs_alloc_init(&a, g, 2), -EINVAL);	/* end > size */
	g[1] = (struct fbs_alloc_geom){ .size = U(4), .start = U(2), .end = U(2) };
	assert_int_equal(fbs_alloc_init(&a, g, 2), -EINVAL);	/* empty */
	g[1] = (struct fbs_alloc_geom){ .size = U(4), .start = 1, .end = U(2) - 1 };
	assert_int_equal(fbs_alloc_init(&a, g, 2), -EINVAL);	/* no whole unit */
	g[1] = (struct fbs_alloc_geom){ .size = ~0ULL, .start = ~0ULL - 5, .end = ~0ULL };
	assert_int_equal(fbs_alloc_init(&a, g, 2), -EINVAL);	/* rounds past 2^64 */

	/* rounded inwards: [1 MiB, 10 MiB + 5) holds units 1..4 */
	g[1] = (struct fbs_alloc_geom){ .size = U(8), .start = MiB, .end = 10 * MiB + 5 };
	assert_int_equal(fbs_alloc_init(&a, g, 2), 0);
	assert_int_equal(a.devs[1].first, 1);
	assert_int_equal(a.devs[1].nunits, 4);
	fbs_alloc_stat(&a, &st);
	assert_int_equal(st.dev_total[0], U(4));
	assert_int_equal(st.dev_total[1], U(4));
	assert_int_equal(st.dev_free[1], U(4));
	assert_int_equal(st.total, U(8));
	assert_int_equal(st.free, U(8));
	fbs_alloc_fini(&a);
	fbs_alloc_fini(&a);	/* idempotent */
}

static void simple_inputs_refused(void **state)
{
	struct fbs_alloc_geom g[2] = { whole(U(16)), whole(U(16)) };
	struct fmap_simple_ext out[4], prev = { .dev = 2 };
	struct fbs_alloc a;
	struct snap s;
	__u32 n = 99;

	(void)state;
	assert_int_equal(fbs_alloc_init(&a, g, 2), 0);
	take_snap(&a, &s);
	assert_int_equal(fbs_alloc_simple(&a, 0, 0, NULL, out, 4, &n), -EINVAL);
	assert_int_equal(fbs_alloc_simple(&a, 4096, UNIT, NULL, out, 4, &n), -EINVAL);
	assert_int_equal(fbs_alloc_simple(&a, 0, UNIT + 4096, NULL, out, 4, &n), -EINVAL);
	assert_int_equal(fbs_alloc_simple(&a, ~0ULL - UNIT + 1, U(2), NULL, out, 4, &n),
			 -EINVAL);	/* file_off + len wraps */
	assert_int_equal(fbs_alloc_simple(&a, 0, UNIT, NULL, out, 0, &n), -EINVAL);
	assert_int_equal(fbs_alloc_simple(&a, 0, UNIT, NULL, NULL, 4, &n), -EINVAL);
	assert_int_equal(fbs_alloc_simple(&a, 0, UNIT, NULL, out, 4, NULL), -EINVAL);
	assert_int_equal(fbs_alloc_simple(&a, 0, UNIT, &prev, out, 4, &n), -EINVAL);
	assert_int_equal(fbs_alloc_simple(NULL, 0, UNIT, NULL, out, 4, &n), -EINVAL);
	assert_int_equal(n, 99);
	assert_snap(&a, &s);
	fbs_alloc_fini(&a);
}

/* Offsets far from zero, device ranges that do not start at zero. */
static void simple_placement_congruent(void **state)
{
	struct fbs_alloc_geom g[2] = {
		{ .size = U(40), .start = U(3) + 4096, .end = U(39) + 7 },
		{ .size = U(64), .start = U(10), .end = U(64) },
	};
	static const __u64 file_offs[] = { 0, U(1), U(7), U(1000), 1ULL << 40,
					   (1ULL << 63) - U(3) };
	struct fmap_simple_ext out[8];
	struct fbs_alloc a;
	__u32 n, i;

	(void)state;
	assert_int_equal(fbs_alloc_init(&a, g, 2), 0);
	assert_int_equal(a.devs[0].first, 4);
	assert_int_equal(a.devs[0].nunits, 35);
	for (i = 0; i < sizeof(file_offs) / sizeof(file_offs[0]); i++) {
		__u64 len = U(i + 1);

		assert_int_equal(fbs_alloc_simple(&a, file_offs[i], len, NULL,
						  out, 8, &n), 0);
		check_simple(&a, out, n, file_offs[i], len);
		/* a fresh device: one run holds it */
		assert_int_equal(n, 1);
	}
	/* no previous extent: the device with the most free space */
	fbs_alloc_fini(&a);
	assert_int_equal(fbs_alloc_init(&a, g, 2), 0);
	assert_int_equal(fbs_alloc_simple(&a, 0, UNIT, NULL, out, 8, &n), 0);
	assert_int_equal(out[0].dev, 1);	/* 54 units against 35 */
	assert_int_equal(out[0].dev_off, U(10));
	assert_int_equal(fbs_alloc_simple(&a, 0, U(20), NULL, out, 8, &n), 0);
	assert_int_equal(out[0].dev, 1);	/* 53 against 35 */
	assert_int_equal(out[0].dev_off, U(11));
	assert_int_equal(fbs_alloc_simple(&a, 0, UNIT, NULL, out, 8, &n), 0);
	assert_int_equal(out[0].dev, 0);	/* 35 against 33 */
	assert_int_equal(out[0].dev_off, U(4));
	fbs_alloc_fini(&a);
}

/* 256 allocations of 2 MiB, each continuing the last: one extent. */
static void merging(void **state)
{
	struct fbs_alloc_geom g[2] = { whole(U(300)), whole(U(300)) };
	struct fmap_simple_ext file, other, out[4];
	struct fbs_alloc a;
	__u32 n, i;

	(void)state;
	assert_int_equal(fbs_alloc_init(&a, g, 2), 0);
	assert_int_equal(fbs_alloc_simple(&a, 0, UNIT, NULL, &file, 1, &n), 0);
	for (i = 1; i < 256; i++) {
		/* another file grows in between, elsewhere */
		if (i % 16 == 0)
			assert_int_equal(fbs_alloc_simple(&a, 0, UNIT, NULL,
							  &other, 1, &n), 0);
		assert_int_equal(fbs_alloc_simple(&a, U(i), UNIT, &file, out, 4, &n), 0);
		assert_int_equal(n, 1);
		check_simple(&a, out, n, U(i), UNIT);
		assert_true(fbs_alloc_merge_simple(&file, &out[0]));
	}
	assert_int_equal(file.file_off, 0);
	assert_int_equal(file.len, U(256));
	assert_int_equal(free_bytes(&a), U(600 - 256 - 15));
	assert_int_equal(fbs_alloc_free_simple(&a, &file, 1), 0);
	/* one call for the same: one extent, where the old one was */
	assert_int_equal(fbs_alloc_simple(&a, 0, U(256), NULL, out, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].dev, file.dev);
	assert_int_equal(out[0].dev_off, file.dev_off);
	assert_int_equal(out[0].len, U(256));

	/* not continuous: no merge */
	other = out[0];
	other.file_off += other.len + UNIT;
	other.dev_off += other.len + UNIT;
	assert_false(fbs_alloc_merge_simple(&out[0], &other));
	other.file_off -= UNIT;
	other.dev ^= 1;
	assert_false(fbs_alloc_merge_simple(&out[0], &other));
	fbs_alloc_fini(&a);
}

/* A file grows on its device until it is full, then on the next one. */
static void spread_when_full(void **state)
{
	struct fbs_alloc_geom g[3] = { whole(U(8)), whole(U(20)), whole(U(6)) };
	struct fmap_simple_ext file[4], out[4];
	struct fbs_alloc a;
	__u32 n;

	(void)state;
	assert_int_equal(fbs_alloc_init(&a, g, 3), 0);
	/* a file on device 0, put there by replay */
	file[0] = (struct fmap_simple_ext){ .file_off = 0, .len = U(2), .dev_off = 0 };
	assert_int_equal(fbs_alloc_use_simple(&a, file, 1), 0);
	/* grows in place although device 1 has more free space */
	assert_int_equal(fbs_alloc_simple(&a, U(2), U(4), &file[0], out, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].dev, 0);
	assert_int_equal(out[0].dev_off, U(2));
	assert_true(fbs_alloc_merge_simple(&file[0], &out[0]));
	/* 2 units left behind it, then the device is full: spills over */
	assert_int_equal(fbs_alloc_simple(&a, U(6), U(5), &file[0], out, 4, &n), 0);
	check_simple(&a, out, n, U(6), U(5));
	assert_int_equal(n, 2);
	assert_int_equal(out[0].dev, 0);
	assert_int_equal(out[0].len, U(2));
	assert_int_equal(out[1].dev, 1);
	assert_int_equal(out[1].len, U(3));
	assert_true(fbs_alloc_merge_simple(&file[0], &out[0]));
	assert_false(fbs_alloc_merge_simple(&file[0], &out[1]));
	file[1] = out[1];
	assert_int_equal(a.devs[0].nfree, 0);
	/* the file now grows on device 1, after its last extent */
	assert_int_equal(fbs_alloc_simple(&a, U(11), U(2), &file[1], out, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_true(fbs_alloc_merge_simple(&file[1], &out[0]));
	assert_int_equal(file[1].len, U(5));
	/* a previous extent that does not end at file_off: its device first */
	file[2] = (struct fmap_simple_ext){ .file_off = 0, .len = UNIT,
					    .dev_off = 0, .dev = 2 };
	assert_int_equal(fbs_alloc_simple(&a, U(50), UNIT, &file[2], out, 4, &n), 0);
	assert_int_equal(out[0].dev, 2);
	assert_int_equal(out[0].file_off, U(50));
	fbs_alloc_fini(&a);
}

/*
 * fbs_alloc_only(): a file system of memory (device 1) and block devices
 * (0 and 2) gives each kind of file space on its own devices only: whole
 * units, pages, a continuation whose device is of the other kind, and
 * strips; ENOSPC when its kind is full although the other has room.
 */
static void only_kind(void **state)
{
	struct fbs_alloc_geom g[3] = { whole(U(8)), whole(U(40)), whole(U(8)) };
	struct fmap_simple_ext out[8], prev;
	struct fmap_ileave_ext ie;
	struct fbs_alloc a;
	__u32 n, i;

	(void)state;
	assert_int_equal(fbs_alloc_init(&a, g, 3), 0);
	assert_int_equal(fbs_alloc_enable_pages(&a), 0);
	/* block: devices 0 and 2, although device 1 has the most free */
	fbs_alloc_only(&a, 1U << 0 | 1U << 2);
	assert_int_equal(fbs_alloc_simple(&a, 0, U(3), NULL, out, 8, &n), 0);
	for (i = 0; i < n; i++)
		assert_int_not_equal(out[i].dev, 1);
	assert_int_equal(fbs_alloc_simple(&a, U(3), 3 * FBS_ALLOC_PAGE, NULL, out, 8, &n), 0);
	for (i = 0; i < n; i++)
		assert_int_not_equal(out[i].dev, 1);
	/* a previous extent on memory: not continued */
	prev = (struct fmap_simple_ext){ .file_off = 0, .len = UNIT, .dev_off = 0, .dev = 1 };
	assert_int_equal(fbs_alloc_use_simple(&a, &prev, 1), 0);
	assert_int_equal(fbs_alloc_simple(&a, UNIT, UNIT, &prev, out, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_int_not_equal(out[0].dev, 1);
	/* strips over both block devices, none on memory */
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(4), 2, UNIT, NULL, &ie), 0);
	assert_int_equal(ie.strips[0].dev, 0);
	assert_int_equal(ie.strips[1].dev, 2);
	/* three strips: only two block devices */
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(3), 3, UNIT, NULL, &ie), -ENOSPC);
	/* memory: device 1 only */
	fbs_alloc_only(&a, 1U << 1);
	assert_int_equal(fbs_alloc_simple(&a, 0, U(30), NULL, out, 8, &n), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(out[i].dev, 1);
	/* 9 units left on memory, more on block: memory still says ENOSPC */
	assert_int_equal(fbs_alloc_simple(&a, 0, U(10), NULL, out, 8, &n), -ENOSPC);
	/* 0: every device again */
	fbs_alloc_only(&a, 0);
	assert_int_equal(fbs_alloc_simple(&a, 0, U(10), NULL, out, 8, &n), 0);
	fbs_alloc_fini(&a);
}

/*
 * Free every other unit: 1-unit holes.  Something bigger than any hole
 * takes several; too big for all of them together: ENOSPC.  Holes of
 * several sizes: the longest ones first, the last piece best fit.
 */
static void fragmentation(void **state)
{
	struct fbs_alloc_geom g = whole(U(64));
	struct fmap_simple_ext unit[64], out[64];
	struct fbs_alloc a;
	struct snap s;
	__u32 n, i;

	(void)state;
	assert_int_equal(fbs_alloc_init(&a, &g, 1), 0);
	for (i = 0; i < 64; i++) {
		assert_int_equal(fbs_alloc_simple(&a, 0, UNIT, NULL, &unit[i], 1, &n), 0);
		assert_int_equal(unit[i].dev_off, U(i));
	}
	assert_int_equal(fbs_alloc_simple(&a, 0, UNIT, NULL, out, 1, &n), -ENOSPC);
	for (i = 0; i < 64; i += 2)
		assert_int_equal(fbs_alloc_free_simple(&a, &unit[i], 1), 0);
	assert_int_equal(free_bytes(&a), U(32));

	/* more extents than the caller has room for: nothing happens */
	take_snap(&a, &s);
	assert_int_equal(fbs_alloc_simple(&a, U(100), U(4), NULL, out, 3, &n), -E2BIG);
	assert_snap(&a, &s);
	take_snap(&a, &s);
	assert_int_equal(fbs_alloc_simple(&a, 0, U(33), NULL, out, 64, &n), -ENOSPC);
	assert_snap(&a, &s);

	assert_int_equal(fbs_alloc_simple(&a, U(100), U(4), NULL, out, 4, &n), 0);
	assert_int_equal(n, 4);
	check_simple(&a, out, n, U(100), U(4));
	assert_int_equal(fbs_alloc_free_simple(&a, out, n), 0);
	/* every hole, exactly */
	assert_int_equal(fbs_alloc_simple(&a, 0, U(32), NULL, out, 64, &n), 0);
	assert_int_equal(n, 32);
	check_simple(&a, out, n, 0, U(32));
	assert_int_equal(free_bytes(&a), 0);
	assert_int_equal(fbs_alloc_free_simple(&a, out, n), 0);

	/* holes of 3 (units 2-4), 5 (10-14), 2 (20-21) and 1 (30) */
	for (i = 0; i < 64; i += 2)
		assert_int_equal(fbs_alloc_simple(&a, 0, UNIT, NULL, &unit[i], 1, &n), 0);
	for (i = 0; i < 64; i++) {
		if ((i >= 2 && i <= 4) || (i >= 10 && i <= 14) || i == 20 ||
		    i == 21 || i == 30)
			assert_int_equal(fbs_alloc_free_simple(&a, &(struct fmap_simple_ext){
				.len = UNIT, .dev_off = U(i) }, 1), 0);
	}
	assert_int_equal(free_bytes(&a), U(11));
	/* 7 units: the 5-unit hole, then the best fit for 2: the 2-unit one */
	assert_int_equal(fbs_alloc_simple(&a, 0, U(7), NULL, out, 64, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].dev_off, U(10));
	assert_int_equal(out[0].len, U(5));
	assert_int_equal(out[1].dev_off, U(20));
	assert_int_equal(out[1].len, U(2));
	/* 1 unit: best fit is the 1-unit hole, not the 3-unit one */
	assert_int_equal(fbs_alloc_simple(&a, 0, UNIT, NULL, out, 64, &n), 0);
	assert_int_equal(out[0].dev_off, U(30));
	fbs_alloc_fini(&a);
}

/* Every 2 MiB of the file, resolved: congruent, on its strip, no overlap. */
static void check_ileave(const struct fbs_alloc *a, const struct fmap_ileave_ext *ie,
			 unsigned char *seen, __u64 seen_units)
{
	__u32 nstrips = ie->nstrips, s, t;
	__u64 strip_len = fbs_alloc_strip_len(ie), off;

	assert_int_equal(fmap_ileave_check(ie), 0);
	assert_true(ie->chunk_shift >= FBS_ALLOC_UNIT_SHIFT);
	for (s = 0; s < nstrips; s++) {
		const struct fmap_strip *st = &ie->strips[s];

		assert_true(st->dev < a->ndevs);
		assert_int_equal(st->dev_off % UNIT, 0);
		assert_true(st->dev_off >= U(a->devs[st->dev].first));
		assert_true(st->dev_off + strip_len <=
			    U(a->devs[st->dev].first + a->devs[st->dev].nunits));
		for (t = 0; t < s; t++)
			assert_int_not_equal(st->dev, ie->strips[t].dev);
	}
	for (off = ie->file_off; off < ie->file_off + ie->len; off += UNIT) {
		struct fmap_mapping m;
		__u64 u;

		assert_int_equal(fmap_ileave_resolve(ie, off, &m), 0);
		/* a PMD fits: 2 MiB contiguous, congruent */
		assert_true(m.len >= UNIT);
		assert_int_equal(m.dev_off % UNIT, off % UNIT);
		for (s = 0; s < nstrips; s++)
			if (ie->strips[s].dev == m.dev)
				break;
		assert_true(s < nstrips);
		assert_true(m.dev_off >= ie->strips[s].dev_off);
		assert_true(m.dev_off + UNIT <= ie->strips[s].dev_off + strip_len);
		if (seen) {
			u = m.dev * (seen_units / FBS_ALLOC_MAX_DEVS) + m.dev_off / UNIT;
			assert_true(u < seen_units);
			assert_int_equal(seen[u], 0);
			seen[u] = 1;
		}
	}
}

static void ileave_placement(void **state)
{
	struct fbs_alloc_geom g[4] = { whole(U(100)), whole(U(120)), whole(U(110)),
				       whole(U(90)) };
	unsigned char seen[FBS_ALLOC_MAX_DEVS * 128] = { 0 };
	struct fmap_ileave_ext ie, ie2, big;
	struct fbs_alloc a;

	(void)state;
	assert_int_equal(fbs_alloc_init(&a, g, 4), 0);
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(32), 4, UNIT, NULL, &ie), 0);
	check_ileave(&a, &ie, seen, sizeof(seen));
	assert_int_equal(ie.nstrips, 4);
	assert_int_equal(ie.chunk_shift, FBS_ALLOC_UNIT_SHIFT);
	assert_int_equal(fbs_alloc_strip_len(&ie), U(8));
	assert_int_equal(free_bytes(&a), U(420 - 32));
	/* the two devices with the most free space: 1 (112) and 2 (102) */
	assert_int_equal(fbs_alloc_ileave(&a, U(32), U(10), 2, 4 * MiB, NULL, &ie2), 0);
	check_ileave(&a, &ie2, seen, sizeof(seen));
	assert_int_equal(ie2.strips[0].dev, 1);
	assert_int_equal(ie2.strips[1].dev, 2);
	/* 5 chunks of 4 MiB over 2 strips: strip 0 holds 3 of them */
	assert_int_equal(fbs_alloc_strip_len(&ie2), U(6));
	assert_int_equal(free_bytes(&a), U(420 - 32 - 12));
	/* chunks of 1 GiB: strips still only as long as the data */
	assert_int_equal(fbs_alloc_ileave(&a, U(64), U(40), 4, 1ULL << 30, NULL, &big), 0);
	check_ileave(&a, &big, seen, sizeof(seen));
	assert_int_equal(fbs_alloc_strip_len(&big), U(40));
	assert_int_equal(fbs_alloc_free_ileave(&a, &big, 1), 0);
	fbs_alloc_fini(&a);
}

static void ileave_inputs_refused(void **state)
{
	struct fbs_alloc_geom g[4] = { whole(U(16)), whole(U(16)), whole(U(16)),
				       whole(U(16)) };
	struct fmap_ileave_ext ie;
	struct fbs_alloc a;
	struct snap s;

	(void)state;
	assert_int_equal(fbs_alloc_init(&a, g, 3), 0);
	take_snap(&a, &s);
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(4), 0, UNIT, NULL, &ie), -EINVAL);
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(4), 4, UNIT, NULL, &ie), -EINVAL);	/* > ndevs */
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(4), 17, UNIT, NULL, &ie), -EINVAL);
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(4), 32, UNIT, NULL, &ie), -EINVAL);
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(4), 2, MiB, NULL, &ie), -EINVAL);
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(4), 2, 4096, NULL, &ie), -EINVAL);
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(4), 2, 3 * UNIT, NULL, &ie), -EINVAL);
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(4), 2, 2ULL << 30, NULL, &ie), -EINVAL);
	assert_int_equal(fbs_alloc_ileave(&a, 0, 0, 2, UNIT, NULL, &ie), -EINVAL);
	assert_int_equal(fbs_alloc_ileave(&a, 4096, U(4), 2, UNIT, NULL, &ie), -EINVAL);
	assert_int_equal(fbs_alloc_ileave(&a, 0, UNIT + 4096, 2, UNIT, NULL, &ie), -EINVAL);
	assert_int_equal(fbs_alloc_ileave(&a, ~0ULL - UNIT + 1, U(2), 2, UNIT, NULL, &ie),
			 -EINVAL);
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(4), 2, UNIT, NULL, NULL), -EINVAL);
	/* 2 strips of 17 units on devices of 16 */
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(34), 2, UNIT, NULL, &ie), -ENOSPC);
	assert_snap(&a, &s);
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(32), 2, UNIT, NULL, &ie), 0);
	fbs_alloc_fini(&a);
}

/*
 * Strip counts that are not powers of two: 3 over three devices (one
 * strip each), 5 of 8 devices, and the most, 16 over 16; 17 refused.
 */
static void ileave_any_strip_count(void **state)
{
	struct fbs_alloc_geom g[FBS_ALLOC_MAX_DEVS];
	unsigned char seen[FBS_ALLOC_MAX_DEVS * 128] = { 0 };
	struct fmap_ileave_ext ie, more, odd;
	struct fmap_mapping m;
	struct fbs_alloc a;
	__u32 s, d;

	(void)state;
	for (d = 0; d < FBS_ALLOC_MAX_DEVS; d++)
		g[d] = whole(U(120));
	assert_int_equal(fbs_alloc_init(&a, g, 3), 0);
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(12), 3, UNIT, NULL, &ie), 0);
	check_ileave(&a, &ie, seen, sizeof(seen));
	assert_int_equal(ie.nstrips, 3);
	for (s = 0; s < 3; s++)
		assert_int_equal(ie.strips[s].dev, s);
	assert_int_equal(fbs_alloc_strip_len(&ie), U(4));
	assert_int_equal(free_bytes(&a), U(360 - 12));
	/* chunk 5 is strip 2's second, chunk 3 strip 0's second */
	assert_int_equal(fmap_ileave_resolve(&ie, U(5) + 4096, &m), 0);
	assert_int_equal(m.dev, 2);
	assert_int_equal(m.dev_off, ie.strips[2].dev_off + UNIT + 4096);
	assert_int_equal(fmap_ileave_resolve(&ie, U(3), &m), 0);
	assert_int_equal(m.dev, 0);
	assert_int_equal(m.dev_off, ie.strips[0].dev_off + UNIT);
	/* 12 units are 4 whole stripes of 3: the next piece grows in place */
	assert_int_equal(fbs_alloc_ileave(&a, U(12), U(6), 3, UNIT, &ie, &more), 0);
	check_ileave(&a, &more, seen, sizeof(seen));
	for (s = 0; s < 3; s++)
		assert_int_equal(more.strips[s].dev_off, ie.strips[s].dev_off + U(4));
	assert_true(fbs_alloc_merge_ileave(&ie, &more));
	assert_int_equal(ie.len, U(18));
	check_ileave(&a, &ie, NULL, 0);
	/* 7 units over 3 strips: strip 0 holds 3 chunks, so every strip takes 3 */
	assert_int_equal(fbs_alloc_ileave(&a, U(40), U(7), 3, UNIT, NULL, &odd), 0);
	check_ileave(&a, &odd, seen, sizeof(seen));
	assert_int_equal(fbs_alloc_strip_len(&odd), U(3));
	assert_int_equal(fmap_ileave_strip_bytes(&odd, 1), U(2));
	assert_int_equal(free_bytes(&a), U(360 - 18 - 9));
	/* not whole stripes: placed afresh, no continuation */
	assert_int_equal(fbs_alloc_ileave(&a, U(47), U(3), 3, UNIT, &odd, &more), 0);
	check_ileave(&a, &more, seen, sizeof(seen));
	assert_false(fbs_alloc_merge_ileave(&odd, &more));
	/* more strips than devices */
	assert_int_equal(fbs_alloc_ileave(&a, U(60), U(8), 4, UNIT, NULL, &more), -EINVAL);
	fbs_alloc_fini(&a);

	memset(seen, 0, sizeof(seen));
	assert_int_equal(fbs_alloc_init(&a, g, 8), 0);
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(15), 5, 4 * MiB, NULL, &ie), 0);
	check_ileave(&a, &ie, seen, sizeof(seen));
	assert_int_equal(ie.nstrips, 5);
	/* 7.5 chunks of 4 MiB: strips 0-1 hold 2, strip 2 one and a half */
	assert_int_equal(fbs_alloc_strip_len(&ie), U(4));
	assert_int_equal(fmap_ileave_strip_bytes(&ie, 2), U(3));
	assert_int_equal(fmap_ileave_strip_bytes(&ie, 4), U(2));
	fbs_alloc_fini(&a);

	memset(seen, 0, sizeof(seen));
	assert_int_equal(fbs_alloc_init(&a, g, FBS_ALLOC_MAX_DEVS), 0);
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(48), 16, UNIT, NULL, &ie), 0);
	check_ileave(&a, &ie, seen, sizeof(seen));
	assert_int_equal(ie.nstrips, 16);
	for (s = 0; s < 16; s++)
		assert_int_equal(ie.strips[s].dev, s);
	assert_int_equal(fbs_alloc_strip_len(&ie), U(3));
	assert_int_equal(fbs_alloc_ileave(&a, U(48), U(4), 17, UNIT, NULL, &more), -EINVAL);
	assert_int_equal(fbs_alloc_ileave(&a, U(48), U(4), 0, UNIT, NULL, &more), -EINVAL);
	assert_int_equal(free_bytes(&a), U(16 * 120 - 48));
	fbs_alloc_fini(&a);
}

/* An interleaved file that grows stripe by stripe stays one extent. */
static void ileave_continues(void **state)
{
	struct fbs_alloc_geom g[4] = { whole(U(64)), whole(U(64)), whole(U(64)),
				       whole(U(64)) };
	struct fmap_ileave_ext file, more, other;
	struct fmap_simple_ext other_simple;
	struct fbs_alloc a;
	__u32 s;

	(void)state;
	assert_int_equal(fbs_alloc_init(&a, g, 4), 0);
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(8), 4, UNIT, NULL, &file), 0);
	/* strips grow in place while the space after them is free */
	assert_int_equal(fbs_alloc_ileave(&a, U(8), U(8), 4, UNIT, &file, &more), 0);
	check_ileave(&a, &more, NULL, 0);
	for (s = 0; s < 4; s++)
		assert_int_equal(more.strips[s].dev_off, U(2));
	assert_true(fbs_alloc_merge_ileave(&file, &more));
	check_ileave(&a, &file, NULL, 0);
	assert_int_equal(file.len, U(16));
	assert_int_equal(fbs_alloc_strip_len(&file), U(4));
	/* someone else has the unit after the last strip */
	other_simple = (struct fmap_simple_ext){ .len = UNIT, .dev_off = U(4), .dev = 3 };
	assert_int_equal(fbs_alloc_use_simple(&a, &other_simple, 1), 0);
	/* placed afresh; strips 0-2, claimed on the way, are given back */
	assert_int_equal(fbs_alloc_ileave(&a, U(16), U(8), 4, UNIT, &file, &more), 0);
	check_ileave(&a, &more, NULL, 0);
	assert_false(fbs_alloc_merge_ileave(&file, &more));
	assert_int_equal(free_bytes(&a), U(256 - 16 - 1 - 8));
	for (s = 0; s < 4; s++) {
		assert_int_equal(more.strips[s].dev, s);
		assert_int_equal(more.strips[s].dev_off, s < 3 ? U(4) : U(5));
	}
	/* not whole stripes: no continuation */
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(6), 4, 4 * MiB, NULL, &other), 0);
	assert_int_equal(fbs_alloc_ileave(&a, U(6), U(8), 4, 4 * MiB, &other, &more), 0);
	assert_false(fbs_alloc_merge_ileave(&other, &more));
	/* hand-made, lined up, but half a stripe: chunk numbering would shift */
	memset(&other, 0, sizeof(other));
	other.len = U(6);
	other.nstrips = 2;
	other.chunk_shift = FBS_ALLOC_UNIT_SHIFT + 1;
	other.strips[1].dev = 1;
	more = other;
	more.file_off = U(6);
	more.len = U(4);
	more.strips[0].dev_off = U(3);
	more.strips[1].dev_off = U(3);
	assert_false(fbs_alloc_merge_ileave(&other, &more));
	other.len = U(8);	/* whole stripes: then it would */
	more.file_off = U(8);
	more.strips[0].dev_off = U(4);
	more.strips[1].dev_off = U(4);
	assert_true(fbs_alloc_merge_ileave(&other, &more));
	assert_int_equal(other.len, U(12));
	/* another geometry: no continuation */
	assert_int_equal(fbs_alloc_ileave(&a, U(24), U(8), 2, UNIT, &file, &other), 0);
	assert_false(fbs_alloc_merge_ileave(&file, &other));
	fbs_alloc_fini(&a);
}

/* An allocation that cannot be met changes nothing. */
static void enospc_changes_nothing(void **state)
{
	struct fbs_alloc_geom g[3] = { whole(U(10)), whole(U(20)), whole(U(30)) };
	struct fmap_simple_ext out[64], x;
	struct fmap_ileave_ext ie;
	struct fbs_alloc_stat before, after;
	struct fbs_alloc a;
	struct snap s;
	__u32 n = 99;

	(void)state;
	assert_int_equal(fbs_alloc_init(&a, g, 3), 0);
	assert_int_equal(fbs_alloc_simple(&a, 0, U(7), NULL, out, 64, &n), 0);
	assert_int_equal(out[0].dev, 2);
	x = (struct fmap_simple_ext){ .len = U(3), .dev_off = U(4), .dev = 0 };
	assert_int_equal(fbs_alloc_use_simple(&a, &x, 1), 0);
	x = (struct fmap_simple_ext){ .len = U(15), .dev_off = 0, .dev = 1 };
	assert_int_equal(fbs_alloc_use_simple(&a, &x, 1), 0);
	/* free: device 0 4 + 3 units, device 1 5, device 2 23 */
	fbs_alloc_stat(&a, &before);
	assert_int_equal(before.free, U(35));

	take_snap(&a, &s);
	assert_int_equal(fbs_alloc_simple(&a, 0, U(36), NULL, out, 64, &n), -ENOSPC);
	assert_int_equal(n, 0);
	assert_snap(&a, &s);
	/* 2 strips of 6: device 0 has 7 free units but no run of 6 */
	take_snap(&a, &s);
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(12), 2, UNIT, NULL, &ie), -ENOSPC);
	assert_snap(&a, &s);
	take_snap(&a, &s);
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(48), 2, UNIT, NULL, &ie), -ENOSPC);
	assert_snap(&a, &s);
	fbs_alloc_stat(&a, &after);
	assert_memory_equal(&before, &after, sizeof(before));

	/* 2 strips of 5 fit: on devices 1 and 2 */
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(10), 2, UNIT, NULL, &ie), 0);
	assert_int_equal(ie.strips[0].dev, 1);
	assert_int_equal(ie.strips[0].dev_off, U(15));
	assert_int_equal(ie.strips[1].dev, 2);
	/* what is left, 25 units in 3 runs (4 + 3 on device 0, 18), 3 extents */
	assert_int_equal(fbs_alloc_simple(&a, 0, U(25), NULL, out, 64, &n), 0);
	check_simple(&a, out, n, 0, U(25));
	assert_int_equal(n, 3);
	assert_int_equal(free_bytes(&a), 0);
	fbs_alloc_fini(&a);
}

/*
 * Fill a device that keeps its first 64 MiB for the log with files of
 * mixed byte sizes, deleting one on the way, until no unit is left: every
 * file wastes less than a unit, so the files hold more than the usable
 * size minus 2 MiB per file.
 */
static void fill_to_the_last_unit(void **state)
{
	enum { MAXF = 512 };
	struct fbs_alloc_geom g = { .size = 1ULL << 30, .start = 64 * MiB,
				    .end = 1ULL << 30 };
	static struct fmap_simple_ext ext[MAXF][8];
	__u64 size[MAXF], x = 12345, live_bytes = 0, want;
	__u32 next[MAXF], nf = 0, nlive = 0, i, n;
	struct fbs_alloc_stat st;
	struct fbs_alloc a;
	int err;

	(void)state;
	assert_int_equal(fbs_alloc_init(&a, &g, 1), 0);
	for (;;) {
		assert_true(nf < MAXF);
		want = 1 + xorshift64(&x) % (37 * MiB);
		err = fbs_alloc_simple(&a, 0, (want + UNIT - 1) & ~(UNIT - 1), NULL,
				       ext[nf], 8, &n);
		if (err == -ENOSPC) {
			/* what is left, for a smaller file */
			fbs_alloc_stat(&a, &st);
			if (!st.free)
				break;
			assert_true(st.free < ((want + UNIT - 1) & ~(UNIT - 1)));
			want = st.free - xorshift64(&x) % UNIT;
			err = fbs_alloc_simple(&a, 0, st.free, NULL, ext[nf], 8, &n);
		}
		assert_int_equal(err, 0);
		check_simple(&a, ext[nf], n, 0, (want + UNIT - 1) & ~(UNIT - 1));
		size[nf] = want;
		next[nf++] = n;
		nlive++;
		live_bytes += want;
		if (nf == 20) {
			/* a delete: its space goes to later files */
			assert_int_equal(fbs_alloc_free_simple(&a, ext[3], next[3]), 0);
			live_bytes -= size[3];
			next[3] = 0;
			nlive--;
		}
	}
	fbs_alloc_stat(&a, &st);
	assert_int_equal(st.free, 0);
	assert_int_equal(st.total, (1ULL << 30) - 64 * MiB);
	assert_true(live_bytes + nlive * UNIT > st.total);
	assert_true(live_bytes <= st.total);
	/* everything back: one free run of the whole device again */
	for (i = 0; i < nf; i++)
		assert_int_equal(fbs_alloc_free_simple(&a, ext[i], next[i]), 0);
	assert_int_equal(fbs_alloc_simple(&a, 0, st.total, NULL, ext[0], 1, &n), 0);
	assert_int_equal(ext[0][0].dev_off, 64 * MiB);
	print_message("# %u files (%u live), %llu of %llu bytes in files\n", nf,
		      nlive, (unsigned long long)live_bytes,
		      (unsigned long long)st.total);
	fbs_alloc_fini(&a);
}

static void free_refused(void **state)
{
	struct fbs_alloc_geom g[2] = {
		{ .size = U(20), .start = U(2), .end = U(18) },
		whole(U(8)),
	};
	struct fmap_simple_ext e[3];
	struct fmap_ileave_ext ie, bad_ie;
	struct fbs_alloc a;
	struct snap s;
	__u32 n;
	int i;

	(void)state;
	assert_int_equal(fbs_alloc_init(&a, g, 2), 0);
	assert_int_equal(fbs_alloc_simple(&a, 0, U(4), NULL, &e[0], 1, &n), 0);
	assert_int_equal(fbs_alloc_simple(&a, U(4), U(4), &e[0], &e[1], 1, &n), 0);
	assert_true(fbs_alloc_merge_simple(&e[0], &e[1]));
	assert_int_equal(e[0].dev, 0);
	assert_int_equal(e[0].dev_off, U(2));
	assert_int_equal(fbs_alloc_ileave(&a, 0, U(4), 2, UNIT, NULL, &ie), 0);

	const struct fmap_simple_ext refused[] = {
		/* never allocated */
		{ .len = UNIT, .dev_off = U(12), .dev = 0 },
		/* partly allocated */
		{ .len = U(4), .dev_off = U(11), .dev = 0 },
		/* outside the usable range, below and above */
		{ .len = UNIT, .dev_off = 0, .dev = 0 },
		{ .len = UNIT, .dev_off = U(18), .dev = 0 },
		{ .len = U(20), .dev_off = U(2), .dev = 0 },
		/* past the device */
		{ .len = UNIT, .dev_off = U(100), .dev = 0 },
		{ .len = UNIT, .dev_off = U(2), .dev = 2 },
		{ .len = UNIT, .dev_off = U(2), .dev = 16 },
		/* unaligned, empty, wrapping, padded */
		{ .len = UNIT, .dev_off = U(2) + 4096, .dev = 0 },
		{ .len = UNIT - 4096, .dev_off = U(2), .dev = 0 },
		{ .len = 0, .dev_off = U(2), .dev = 0 },
		{ .len = U(4), .dev_off = ~0ULL - UNIT + 1, .dev = 0 },
		{ .file_off = ~0ULL - 4095, .len = UNIT, .dev_off = U(2), .dev = 0 },
		{ .len = UNIT, .dev_off = U(2), .dev = 0, .pad = 1 },
	};
	for (i = 0; i < (int)(sizeof(refused) / sizeof(refused[0])); i++) {
		take_snap(&a, &s);
		assert_int_equal(fbs_alloc_free_simple(&a, &refused[i], 1), -EINVAL);
		assert_snap(&a, &s);
	}
	/* what tripped: the free units in the half-allocated range */
	assert_int_equal(fbs_alloc_free_simple(&a, &refused[1], 1), -EINVAL);
	assert_int_equal(a.bad.dev, 0);
	assert_int_equal(a.bad.dev_off, U(12));
	assert_int_equal(a.bad.len, U(3));

	/* all or nothing: a good extent, then a bad one */
	take_snap(&a, &s);
	e[1] = (struct fmap_simple_ext){ .len = UNIT, .dev_off = U(12) };
	assert_int_equal(fbs_alloc_free_simple(&a, e, 2), -EINVAL);
	assert_snap(&a, &s);
	/* two extents of one call over the same space: a double free */
	take_snap(&a, &s);
	e[1] = (struct fmap_simple_ext){ .file_off = U(8), .len = UNIT, .dev_off = U(5) };
	assert_int_equal(fbs_alloc_free_simple(&a, e, 2), -EINVAL);
	assert_snap(&a, &s);
	assert_int_equal(fbs_alloc_free_simple(&a, NULL, 1), -EINVAL);
	assert_int_equal(fbs_alloc_free_simple(&a, NULL, 0), 0);

	/* interleaved: malformed, or one strip not allocated */
	bad_ie = ie;
	bad_ie.pad1 = 1;
	take_snap(&a, &s);
	assert_int_equal(fbs_alloc_free_ileave(&a, &bad_ie, 1), -EINVAL);
	bad_ie = ie;
	bad_ie.chunk_shift = 12;
	assert_int_equal(fbs_alloc_free_ileave(&a, &bad_ie, 1), -EINVAL);
	bad_ie = ie;
	bad_ie.strips[2].dev = 1;	/* an unused strip that is not zero */
	assert_int_equal(fbs_alloc_free_ileave(&a, &bad_ie, 1), -EINVAL);
	bad_ie = ie;
	bad_ie.strips[1].dev_off += U(2);
	assert_int_equal(fbs_alloc_free_ileave(&a, &bad_ie, 1), -EINVAL);
	assert_snap(&a, &s);

	/* the real ones go, once */
	assert_int_equal(fbs_alloc_free_ileave(&a, &ie, 1), 0);
	assert_int_equal(fbs_alloc_free_ileave(&a, &ie, 1), -EINVAL);
	assert_int_equal(fbs_alloc_free_simple(&a, &e[0], 1), 0);
	take_snap(&a, &s);
	assert_int_equal(fbs_alloc_free_simple(&a, &e[0], 1), -EINVAL);
	assert_snap(&a, &s);
	assert_int_equal(free_bytes(&a), U(16 + 8));
	fbs_alloc_fini(&a);
}

/* Replay: claims that overlap are refused and say where. */
static void use_refused(void **state)
{
	struct fbs_alloc_geom g[2] = { whole(U(32)), whole(U(32)) };
	struct fmap_simple_ext f1[2], f2[2], out[4];
	struct fmap_ileave_ext ie;
	struct fbs_alloc a;
	struct snap s;
	__u32 n, i;

	(void)state;
	assert_int_equal(fbs_alloc_init(&a, g, 2), 0);
	f1[0] = (struct fmap_simple_ext){ .file_off = 0, .len = U(4), .dev_off = U(4) };
	f1[1] = (struct fmap_simple_ext){ .file_off = U(4), .len = U(2),
					  .dev_off = U(20), .dev = 1 };
	assert_int_equal(fbs_alloc_use_simple(&a, f1, 2), 0);
	assert_int_equal(free_bytes(&a), U(64 - 6));

	/* a second file over the end of f1's first extent */
	f2[0] = (struct fmap_simple_ext){ .file_off = 0, .len = U(2), .dev_off = U(10) };
	f2[1] = (struct fmap_simple_ext){ .file_off = U(2), .len = U(4), .dev_off = U(6) };
	take_snap(&a, &s);
	assert_int_equal(fbs_alloc_use_simple(&a, f2, 2), -EEXIST);
	assert_snap(&a, &s);
	assert_int_equal(a.bad.dev, 0);
	assert_int_equal(a.bad.dev_off, U(6));
	assert_int_equal(a.bad.len, U(2));
	/* two extents of one file over each other */
	f2[1].dev_off = U(11);
	take_snap(&a, &s);
	assert_int_equal(fbs_alloc_use_simple(&a, f2, 2), -EEXIST);
	assert_snap(&a, &s);
	/* out of the device, unaligned */
	take_snap(&a, &s);
	f2[1] = (struct fmap_simple_ext){ .len = U(4), .dev_off = U(30) };
	assert_int_equal(fbs_alloc_use_simple(&a, f2, 2), -EINVAL);
	f2[1] = (struct fmap_simple_ext){ .len = U(4), .dev_off = 4096 };
	assert_int_equal(fbs_alloc_use_simple(&a, f2, 2), -EINVAL);
	f2[1] = (struct fmap_simple_ext){ .len = UNIT, .dev_off = U(100) };
	assert_int_equal(fbs_alloc_use_simple(&a, f2, 2), -EINVAL);
	f2[1] = (struct fmap_simple_ext){ .len = UNIT, .dev_off = U(2), .dev = 2 };
	assert_int_equal(fbs_alloc_use_simple(&a, f2, 2), -EINVAL);
	assert_snap(&a, &s);

	/* an interleaved file whose strip 1 lands in f1 */
	memset(&ie, 0, sizeof(ie));
	ie.len = U(8);
	ie.nstrips = 2;
	ie.chunk_shift = FBS_ALLOC_UNIT_SHIFT;
	ie.strips[0] = (struct fmap_strip){ .dev = 0, .dev_off = U(24) };
	ie.strips[1] = (struct fmap_strip){ .dev = 1, .dev_off = U(18) };
	take_snap(&a, &s);
	assert_int_equal(fbs_alloc_use_ileave(&a, &ie, 1), -EEXIST);
	assert_snap(&a, &s);
	assert_int_equal(a.bad.dev, 1);
	assert_int_equal(a.bad.dev_off, U(20));
	ie.strips[1].dev_off = U(8);
	assert_int_equal(fbs_alloc_use_ileave(&a, &ie, 1), 0);
	assert_int_equal(fbs_alloc_use_ileave(&a, &ie, 1), -EEXIST);

	/* nothing claimed is handed out again */
	for (i = 0; i < 64 - 6 - 8; i++) {
		assert_int_equal(fbs_alloc_simple(&a, 0, UNIT, NULL, out, 4, &n), 0);
		assert_false((out[0].dev == 0 && out[0].dev_off >= U(4) &&
			      out[0].dev_off < U(8)) ||
			     (out[0].dev == 1 && out[0].dev_off >= U(20) &&
			      out[0].dev_off < U(22)) ||
			     (out[0].dev == 0 && out[0].dev_off >= U(24) &&
			      out[0].dev_off < U(28)) ||
			     (out[0].dev == 1 && out[0].dev_off >= U(8) &&
			      out[0].dev_off < U(12)));
	}
	assert_int_equal(fbs_alloc_simple(&a, 0, UNIT, NULL, out, 4, &n), -ENOSPC);
	fbs_alloc_fini(&a);
}

/*
 * Random allocations, frees, claims and refused frees against a model:
 * one byte per unit.  FBS_ALLOC_SEED=N repeats a run.
 */
/* A random seed, or FBS_ALLOC_SEED's; printed, so that a failed run can be repeated. */
static __u64 model_seed(void)
{
	const char *env = getenv("FBS_ALLOC_SEED");
	__u64 seed = env ? strtoull(env, NULL, 0) : (__u64)time(NULL) * 2654435761ULL;

	if (!seed)
		seed = 1;
	print_message("# seed %llu (FBS_ALLOC_SEED=%llu repeats this run)\n",
		      (unsigned long long)seed, (unsigned long long)seed);
	return seed;
}

enum { R_DEVS = 4, R_MAXU = 160, R_FILES = 48, R_MAXEXT = 64, R_STEPS = 20000 };

struct r_file {
	bool ileave;
	__u32 n;
	struct fmap_simple_ext ext[R_MAXEXT];
	struct fmap_ileave_ext ie[FMAP_MAX_ILEAVE];
	__u64 end;
};

struct model {
	unsigned char used[R_DEVS][R_MAXU];
	__u64 nfree[R_DEVS];
};

static void model_mark(const struct fbs_alloc *a, struct model *m, __u32 dev,
		       __u64 dev_off, __u64 len, unsigned char val)
{
	__u64 u = dev_off / UNIT - a->devs[dev].first, k;

	for (k = 0; k < len / UNIT; k++) {
		assert_int_not_equal(m->used[dev][u + k], val);
		m->used[dev][u + k] = val;
	}
	m->nfree[dev] += val ? -(len / UNIT) : len / UNIT;
}

static __u64 model_longest(const struct fbs_alloc *a, const struct model *m,
			   __u32 dev)
{
	__u64 best = 0, cur = 0, u;

	for (u = 0; u < a->devs[dev].nunits; u++) {
		cur = m->used[dev][u] ? 0 : cur + 1;
		if (cur > best)
			best = cur;
	}
	return best;
}

static void model_compare(const struct fbs_alloc *a, const struct model *m)
{
	__u32 d;
	__u64 u;

	for (d = 0; d < a->ndevs; d++) {
		assert_int_equal(a->devs[d].nfree, m->nfree[d]);
		for (u = 0; u < a->devs[d].nunits; u++)
			assert_int_equal(a->devs[d].used[u / 64] >> (u % 64) & 1,
					 m->used[d][u]);
	}
}

static void model_file(const struct fbs_alloc *a, struct model *m,
		       const struct r_file *f, unsigned char val)
{
	__u32 i, s;

	for (i = 0; i < f->n; i++) {
		if (!f->ileave) {
			model_mark(a, m, f->ext[i].dev, f->ext[i].dev_off,
				   f->ext[i].len, val);
			continue;
		}
		for (s = 0; s < f->ie[i].nstrips; s++)
			model_mark(a, m, f->ie[i].strips[s].dev,
				   f->ie[i].strips[s].dev_off,
				   fbs_alloc_strip_len(&f->ie[i]), val);
	}
}

static void random_against_model(void **state)
{
	struct fbs_alloc_geom g[R_DEVS] = {
		{ .size = U(R_MAXU), .start = U(3), .end = U(R_MAXU) },
		whole(U(97)),
		{ .size = U(150), .start = U(20) + 1, .end = U(150) - 1 },
		whole(U(64)),
	};
	static struct r_file files[R_FILES];
	static struct model m;
	struct fmap_simple_ext out[R_MAXEXT];
	unsigned long counts[8] = { 0 };
	__u64 x;
	struct fbs_alloc a;
	struct snap s;
	int step, err;
	__u32 d, n, i;

	(void)state;
	x = model_seed();
	memset(files, 0, sizeof(files));
	memset(&m, 0, sizeof(m));
	assert_int_equal(fbs_alloc_init(&a, g, R_DEVS), 0);
	for (d = 0; d < R_DEVS; d++)
		m.nfree[d] = a.devs[d].nunits;

	for (step = 0; step < R_STEPS; step++) {
		__u64 r = xorshift64(&x), total = 0;
		struct r_file *f = &files[r % R_FILES];
		__u32 op = (r >> 8) % 16;

		for (d = 0; d < R_DEVS; d++)
			total += m.nfree[d];
		if (op < 6 && (!f->n || !f->ileave) && f->n < R_MAXEXT) {
			/* simple: a new file, or the file grows at its end */
			__u64 need = 1 + (r >> 16) % (op < 2 ? 40 : 8);
			const struct fmap_simple_ext *prev = f->n ? &f->ext[f->n - 1] : NULL;
			__u64 longest = 0;

			for (d = 0; d < R_DEVS; d++)
				if (model_longest(&a, &m, d) > longest)
					longest = model_longest(&a, &m, d);
			take_snap(&a, &s);
			err = fbs_alloc_simple(&a, f->end, U(need), prev, out,
					       R_MAXEXT, &n);
			if (total < need) {
				assert_int_equal(err, -ENOSPC);
				assert_snap(&a, &s);
				counts[1]++;
				continue;
			}
			drop_snap(&s);
			assert_int_equal(err, 0);
			check_simple(&a, out, n, f->end, U(need));
			/* the fewest extents: one run when one held it all */
			if (longest >= need) {
				struct fmap_simple_ext p = prev ? *prev : out[0];
				bool continues = prev && fbs_alloc_merge_simple(&p, &out[0]);

				assert_true(n == 1 || (n == 2 && continues));
			}
			for (i = 0; i < n; i++) {
				model_mark(&a, &m, out[i].dev, out[i].dev_off,
					   out[i].len, 1);
				if (f->n && fbs_alloc_merge_simple(&f->ext[f->n - 1], &out[i]))
					continue;
				assert_true(f->n < R_MAXEXT);
				f->ext[f->n++] = out[i];
				if (f->n == R_MAXEXT && i + 1 < n) {
					/* no room to keep it: give the rest back */
					assert_int_equal(fbs_alloc_free_simple(&a, &out[i + 1],
									       n - i - 1), 0);
					for (i++; i < n; i++)
						model_mark(&a, &m, out[i].dev,
							   out[i].dev_off, out[i].len, 0);
					break;
				}
			}
			f->end = f->ext[f->n - 1].file_off + f->ext[f->n - 1].len;
			counts[0]++;
		} else if (op < 8 && (!f->n || f->ileave) && f->n < FMAP_MAX_ILEAVE) {
			/* interleaved: a new file, or it grows at its end */
			__u32 nstrips = 1 + (r >> 16) % R_DEVS;
			__u64 chunk = UNIT << (r >> 20) % 2, len = U(1 + (r >> 24) % 12);
			struct fmap_ileave_ext ie, *prev = f->n ? &f->ie[f->n - 1] : NULL;
			__u32 fits = 0;

			if (prev) {
				nstrips = prev->nstrips;
				chunk = 1ULL << prev->chunk_shift;
			}
			ie.len = len;
			ie.nstrips = (__u8)nstrips;
			ie.chunk_shift = (__u8)__builtin_ctzll(chunk);
			for (d = 0; d < R_DEVS; d++)
				fits += model_longest(&a, &m, d) >=
					fbs_alloc_strip_len(&ie) / UNIT;
			take_snap(&a, &s);
			err = fbs_alloc_ileave(&a, f->end, len, nstrips, chunk, prev, &ie);
			if (fits < nstrips) {
				assert_int_equal(err, -ENOSPC);
				assert_snap(&a, &s);
				counts[3]++;
				continue;
			}
			drop_snap(&s);
			assert_int_equal(err, 0);
			check_ileave(&a, &ie, NULL, 0);
			f->ileave = true;
			for (i = 0; i < nstrips; i++)
				model_mark(&a, &m, ie.strips[i].dev, ie.strips[i].dev_off,
					   fbs_alloc_strip_len(&ie), 1);
			if (!prev || !fbs_alloc_merge_ileave(prev, &ie))
				f->ie[f->n++] = ie;
			else
				counts[7]++;
			f->end += len;
			counts[2]++;
		} else if (op < 12 && f->n) {
			/* delete */
			err = f->ileave ? fbs_alloc_free_ileave(&a, f->ie, f->n) :
					  fbs_alloc_free_simple(&a, f->ext, f->n);
			assert_int_equal(err, 0);
			model_file(&a, &m, f, 0);
			memset(f, 0, sizeof(*f));
			counts[4]++;
		} else {
			/* a range: claimed if the model says it is free, else refused */
			struct fmap_simple_ext e = { .dev = (r >> 16) % R_DEVS };
			__u64 nu = a.devs[e.dev].nunits, u = (r >> 24) % nu, len, k;
			bool any_used = false, all_used = true;

			len = 1 + (r >> 40) % 6;
			if (u + len > nu)
				len = nu - u;
			for (k = u; k < u + len; k++) {
				any_used |= m.used[e.dev][k];
				all_used &= m.used[e.dev][k];
			}
			e.dev_off = U(a.devs[e.dev].first + u);
			e.len = U(len);
			take_snap(&a, &s);
			if (!any_used && !f->n) {
				assert_int_equal(fbs_alloc_use_simple(&a, &e, 1), 0);
				drop_snap(&s);
				model_mark(&a, &m, e.dev, e.dev_off, e.len, 1);
				f->ext[0] = e;
				f->n = 1;
				f->end = e.len;
				counts[5]++;
			} else if (any_used) {
				assert_int_equal(fbs_alloc_use_simple(&a, &e, 1), -EEXIST);
				if (!all_used)
					assert_int_equal(fbs_alloc_free_simple(&a, &e, 1),
							 -EINVAL);
				assert_snap(&a, &s);
				counts[6]++;
			} else {
				/* free: a double free */
				assert_int_equal(fbs_alloc_free_simple(&a, &e, 1), -EINVAL);
				assert_snap(&a, &s);
				counts[6]++;
			}
		}
		for (d = 0; d < R_DEVS; d++)
			assert_int_equal(a.devs[d].nfree, m.nfree[d]);
		if (step % 50 == 0)
			model_compare(&a, &m);
	}
	model_compare(&a, &m);
	for (i = 0; i < R_FILES; i++) {
		if (!files[i].n)
			continue;
		err = files[i].ileave ? fbs_alloc_free_ileave(&a, files[i].ie, files[i].n) :
					fbs_alloc_free_simple(&a, files[i].ext, files[i].n);
		assert_int_equal(err, 0);
		model_file(&a, &m, &files[i], 0);
	}
	model_compare(&a, &m);
	for (d = 0; d < R_DEVS; d++)
		assert_int_equal(a.devs[d].nfree, a.devs[d].nunits);
	print_message("# %lu simple, %lu ENOSPC; %lu interleaved (%lu grown in place), "
		      "%lu ENOSPC; %lu deletes; %lu claims; %lu refusals\n",
		      counts[0], counts[1], counts[2], counts[7], counts[3],
		      counts[4], counts[5], counts[6]);
	fbs_alloc_fini(&a);
}

/*
 * Pages (fbs_alloc_enable_pages()), against a model of one byte per page:
 * files of pages below 2 MiB and of whole units, grown at their end,
 * deleted, pages freed from their middle (punch), and random claims and
 * frees, refused where the model says so.  After every step: nothing
 * handed out twice, every page accounted for (stat against the model), and
 * each unit in its one right state (free, whole, or set aside with a page
 * map that agrees with the model).  At the end, freeing everything gives
 * the empty allocator back.  FBS_ALLOC_SEED=N repeats a run.  About 1 s.
 */
enum { PG_DEVS = 3, PG_MAXU = 48, PG_FILES = 64, PG_MAXEXT = 96, PG_STEPS = 12000 };
#define PG		FBS_ALLOC_PAGE
#define UPAGES		FBS_ALLOC_UNIT_PAGES

struct pg_model {
	unsigned char owner[PG_DEVS][PG_MAXU * UPAGES];	/* 0: free, else file + 1 */
};

struct pg_file {
	__u32 n;
	struct fmap_simple_ext ext[PG_MAXEXT];
	__u64 end;
};

static void pg_mark(const struct fbs_alloc *a, struct pg_model *m, const struct fmap_simple_ext *x,
		    unsigned char owner)
{
	__u64 p = (x->dev_off - (a->devs[x->dev].first << FBS_ALLOC_UNIT_SHIFT)) / PG, k;

	for (k = 0; k < x->len / PG; k++) {
		/* handed out: it was free; given back: it was this file's */
		assert_int_equal(m->owner[x->dev][p + k], owner ? 0 : m->owner[x->dev][p + k]);
		if (!owner)
			assert_int_not_equal(m->owner[x->dev][p + k], 0);
		m->owner[x->dev][p + k] = owner;
	}
}

static __u64 pg_check(const struct fbs_alloc *a, const struct pg_model *m)
{
	struct fbs_alloc_stat st;
	__u64 free_pages = 0;
	__u32 d;

	for (d = 0; d < a->ndevs; d++) {
		const struct fbs_alloc_dev *dv = &a->devs[d];
		__u64 u, nfree = 0, small_free = 0;

		for (u = 0; u < dv->nunits; u++) {
			const unsigned char *o = &m->owner[d][u * UPAGES];
			const struct fbs_alloc_small *sm = dv->small[u];
			bool bit = dv->used[u / 64] >> (u % 64) & 1;
			__u32 p, used = 0;

			for (p = 0; p < UPAGES; p++)
				used += !!o[p];
			free_pages += UPAGES - used;
			if (!sm) {
				/* not set aside: all free or all used */
				assert_true(used == 0 || used == UPAGES);
				assert_int_equal(bit, used == UPAGES);
				nfree += !used;
				continue;
			}
			assert_true(bit);
			assert_true(used > 0 && used < UPAGES);
			assert_int_equal(sm->nfree, UPAGES - used);
			assert_int_equal(sm->u, u);
			assert_int_equal(sm->dev, d);
			for (p = 0; p < UPAGES; p++)
				assert_int_equal(sm->used[p / 64] >> (p % 64) & 1, !!o[p]);
			small_free += sm->nfree;
		}
		assert_int_equal(dv->nfree, nfree);
		assert_int_equal(dv->small_free, small_free);
	}
	fbs_alloc_stat(a, &st);
	assert_int_equal(st.free, free_pages * PG);
	return free_pages;
}

static void pages_against_model(void **state)
{
	struct fbs_alloc_geom g[PG_DEVS] = {
		{ .size = U(PG_MAXU), .start = U(1), .end = U(PG_MAXU) },
		whole(U(40)),
		whole(U(PG_MAXU)),
	};
	static struct pg_file files[PG_FILES];
	static struct pg_model m;
	struct fmap_simple_ext out[PG_MAXEXT];
	unsigned long counts[8] = { 0 };
	__u64 x, free_pages, whole_free;
	struct fbs_alloc a;
	struct snap s;
	int step, err;
	__u32 d, n, i;

	(void)state;
	x = model_seed();
	memset(files, 0, sizeof(files));
	memset(&m, 0, sizeof(m));
	assert_int_equal(fbs_alloc_init(&a, g, PG_DEVS), 0);
	assert_int_equal(fbs_alloc_enable_pages(&a), 0);
	assert_int_equal(fbs_alloc_enable_pages(&a), -EINVAL);
	free_pages = pg_check(&a, &m);

	for (step = 0; step < PG_STEPS; step++) {
		__u64 r = xorshift64(&x);
		__u32 fi = r % PG_FILES;
		struct pg_file *f = &files[fi];
		__u32 op = (r >> 8) % 16;

		if (op < 7 && f->n < PG_MAXEXT - 8) {
			/* grow at the end: pages below 2 MiB, else whole units */
			__u64 len;
			const struct fmap_simple_ext *prev = f->n ? &f->ext[f->n - 1] : NULL;

			if (f->end < UNIT)
				len = PG * (1 + (r >> 16) % (op < 5 ? 24 : 200));
			else
				len = U(1 + (r >> 16) % 6);
			if (f->end < UNIT && f->end + len > UNIT)
				len = UNIT - f->end;
			for (whole_free = 0, d = 0; d < PG_DEVS; d++)
				whole_free += a.devs[d].nfree;
			take_snap(&a, &s);
			err = fbs_alloc_simple(&a, f->end, len, prev, out, PG_MAXEXT - f->n, &n);
			if (free_pages < len / PG) {
				assert_int_equal(err, -ENOSPC);
				assert_snap(&a, &s);
				counts[1]++;
				continue;
			}
			if (err == -E2BIG) {
				/* only when whole units ran out and the rest is in pieces */
				assert_true(len % UNIT == 0);
				assert_snap(&a, &s);
				counts[2]++;
				continue;
			}
			drop_snap(&s);
			assert_int_equal(err, 0);
			assert_true(n >= 1);
			for (i = 0; i < n; i++) {
				assert_int_equal(out[i].file_off, i ? out[i - 1].file_off + out[i - 1].len
								    : f->end);
				assert_true(out[i].len && out[i].len % PG == 0);
				/*
				 * whole units keep congruence (PMD faults map them);
				 * pages taken because too few units were free need not
				 */
				if ((f->end | len) % UNIT == 0 && whole_free >= len / UNIT)
					assert_int_equal(out[i].dev_off % UNIT, out[i].file_off % UNIT);
				pg_mark(&a, &m, &out[i], (unsigned char)(fi + 1));
				if (f->n && fbs_alloc_merge_simple(&f->ext[f->n - 1], &out[i]))
					continue;
				f->ext[f->n++] = out[i];
			}
			assert_int_equal(out[n - 1].file_off + out[n - 1].len, f->end + len);
			f->end += len;
			counts[0]++;
		} else if (op < 10 && f->n) {
			/* delete */
			assert_int_equal(fbs_alloc_free_simple(&a, f->ext, f->n), 0);
			for (i = 0; i < f->n; i++)
				pg_mark(&a, &m, &f->ext[i], 0);
			memset(f, 0, sizeof(*f));
			counts[3]++;
		} else if (op < 12 && f->n) {
			/* punch pages out of the middle of an extent: the file keeps both sides */
			struct fmap_simple_ext *e = &f->ext[(r >> 16) % f->n];
			__u64 np = e->len / PG, at = (r >> 24) % np, k = 1 + (r >> 40) % (np - at);
			struct fmap_simple_ext cut = { .file_off = e->file_off + at * PG,
						       .len = k * PG, .dev_off = e->dev_off + at * PG,
						       .dev = e->dev };

			if (k == np || f->n >= PG_MAXEXT - 8)
				continue;
			assert_int_equal(fbs_alloc_free_simple(&a, &cut, 1), 0);
			pg_mark(&a, &m, &cut, 0);
			if (at + k < np) {
				memmove(e + 2, e + 1, (size_t)(&f->ext[f->n] - (e + 1)) * sizeof(*e));
				e[1] = (struct fmap_simple_ext){ .file_off = cut.file_off + cut.len,
								 .len = e->len - (at + k) * PG,
								 .dev_off = cut.dev_off + cut.len,
								 .dev = e->dev };
				f->n++;
			}
			if (at) {
				e->len = at * PG;
			} else {
				memmove(e, e + 1, (size_t)(&f->ext[f->n] - (e + 1)) * sizeof(*e));
				f->n--;
			}
			counts[4]++;
		} else {
			/* a random page range: claimed when free, refused when any is used */
			struct fmap_simple_ext e = { .dev = (__u32)((r >> 16) % PG_DEVS) };
			__u64 np = a.devs[e.dev].nunits * UPAGES, p = (r >> 24) % np;
			__u64 k = 1 + (r >> 44) % 700, j;
			bool any = false, all = true;
			struct pg_file *g2 = NULL;

			if (p + k > np)
				k = np - p;
			for (j = p; j < p + k; j++) {
				any |= m.owner[e.dev][j] != 0;
				all &= m.owner[e.dev][j] != 0;
			}
			e.dev_off = (a.devs[e.dev].first << FBS_ALLOC_UNIT_SHIFT) + p * PG;
			e.len = k * PG;
			take_snap(&a, &s);
			for (i = 0; i < PG_FILES && !g2; i++)
				if (!files[i].n)
					g2 = &files[i];
			if (!any && g2) {
				assert_int_equal(fbs_alloc_use_simple(&a, &e, 1), 0);
				drop_snap(&s);
				pg_mark(&a, &m, &e, (unsigned char)(g2 - files + 1));
				g2->ext[0] = e;
				g2->ext[0].file_off = 0;
				g2->n = 1;
				g2->end = e.len;
				counts[5]++;
			} else if (any) {
				assert_int_equal(fbs_alloc_use_simple(&a, &e, 1), -EEXIST);
				if (!all)
					assert_int_equal(fbs_alloc_free_simple(&a, &e, 1), -EINVAL);
				assert_snap(&a, &s);
				counts[6]++;
			} else {
				assert_int_equal(fbs_alloc_free_simple(&a, &e, 1), -EINVAL);
				assert_snap(&a, &s);
				counts[6]++;
			}
		}
		free_pages = pg_check(&a, &m);
	}
	for (i = 0; i < PG_FILES; i++) {
		if (!files[i].n)
			continue;
		assert_int_equal(fbs_alloc_free_simple(&a, files[i].ext, files[i].n), 0);
		for (n = 0; n < files[i].n; n++)
			pg_mark(&a, &m, &files[i].ext[n], 0);
	}
	pg_check(&a, &m);
	for (d = 0; d < PG_DEVS; d++) {
		assert_int_equal(a.devs[d].nfree, a.devs[d].nunits);
		assert_int_equal(a.devs[d].small_free, 0);
		assert_null(a.devs[d].partial);
	}
	print_message("# %lu grown, %lu ENOSPC, %lu E2BIG; %lu deletes, %lu punches; "
		      "%lu claims, %lu refusals\n", counts[0], counts[1], counts[2], counts[3],
		      counts[4], counts[5], counts[6]);
	fbs_alloc_fini(&a);
}

/*
 * Small files pack: 512 one-page files take one unit, not 512; the
 * congruent placement of a file written from its start; a unit that
 * fills from pages is a whole unit again, and its last page freed makes
 * it free; a unit-sized request takes pages when no whole unit is free.
 */
static void pages_pack_and_settle(void **state)
{
	struct fbs_alloc_geom g = whole(U(8));
	struct fmap_simple_ext one[UPAGES], out[64], big;
	struct fbs_alloc_stat st;
	struct fbs_alloc a;
	__u32 i, n;

	(void)state;
	assert_int_equal(fbs_alloc_init(&a, &g, 1), 0);
	/* without pages, a page-sized request is refused */
	assert_int_equal(fbs_alloc_simple(&a, 0, PG, NULL, out, 1, &n), -EINVAL);
	assert_int_equal(fbs_alloc_enable_pages(&a), 0);
	for (i = 0; i < UPAGES; i++) {
		assert_int_equal(fbs_alloc_simple(&a, 0, PG, NULL, &one[i], 1, &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(one[i].dev_off / UNIT, one[0].dev_off / UNIT);
	}
	/* full: a whole unit again, and 7 whole units free */
	assert_null(a.devs[0].partial);
	assert_int_equal(a.devs[0].nfree, 7);
	fbs_alloc_stat(&a, &st);
	assert_int_equal(st.free, U(7));
	assert_int_equal(fbs_alloc_free_simple(&a, &one[5], 1), 0);
	assert_non_null(a.devs[0].partial);
	assert_int_equal(a.devs[0].small_free, 1);
	/* the next small file takes the hole, not a new unit */
	assert_int_equal(fbs_alloc_simple(&a, 0, PG, NULL, out, 1, &n), 0);
	assert_int_equal(out[0].dev_off, one[5].dev_off);
	for (i = 0; i < UPAGES; i++)
		assert_int_equal(fbs_alloc_free_simple(&a, i == 5 ? out : &one[i], 1), 0);
	assert_int_equal(a.devs[0].nfree, 8);
	assert_null(a.devs[0].partial);

	/* a file written from 0 in pieces lands congruently and fills its unit */
	assert_int_equal(fbs_alloc_simple(&a, 0, 64 * PG, NULL, &big, 1, &n), 0);
	assert_int_equal(big.dev_off % UNIT, 0);
	for (i = 64; i < UPAGES; i += 64) {
		assert_int_equal(fbs_alloc_simple(&a, i * PG, 64 * PG, &big, out, 1, &n), 0);
		assert_true(fbs_alloc_merge_simple(&big, &out[0]));
	}
	assert_int_equal(big.len, UNIT);
	assert_null(a.devs[0].partial);	/* whole: PMD-mappable */
	assert_int_equal(fbs_alloc_free_simple(&a, &big, 1), 0);

	/* half pages packed into one unit, not spread over two */
	assert_int_equal(fbs_alloc_simple(&a, 0, UNIT / 2, NULL, &one[0], 1, &n), 0);
	assert_int_equal(fbs_alloc_simple(&a, 0, UNIT / 2, NULL, &one[1], 1, &n), 0);
	assert_int_equal(one[0].dev_off / UNIT, one[1].dev_off / UNIT);
	assert_int_equal(a.devs[0].nfree, 7);
	assert_int_equal(fbs_alloc_free_simple(&a, one, 2), 0);

	/* every unit half used: a unit-sized request still gets space, in pages */
	for (i = 0; i < 8; i++) {
		one[i] = (struct fmap_simple_ext){ .dev_off = U(i), .len = UNIT / 2 };
		assert_int_equal(fbs_alloc_use_simple(&a, &one[i], 1), 0);
	}
	assert_int_equal(a.devs[0].nfree, 0);
	assert_int_equal(fbs_alloc_simple(&a, U(1), UNIT, NULL, out, 64, &n), 0);
	assert_int_equal(n, 2);		/* two half units */
	assert_int_equal(out[0].len + out[1].len, UNIT);
	fbs_alloc_stat(&a, &st);
	assert_int_equal(st.free, U(3));
	assert_int_equal(fbs_alloc_simple(&a, U(2), U(3), NULL, out, 4, &n), -E2BIG);
	assert_int_equal(fbs_alloc_simple(&a, U(2), U(3), NULL, out, 64, &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(fbs_alloc_simple(&a, U(5), PG, NULL, out, 64, &n), -ENOSPC);
	fbs_alloc_fini(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init_geometry),
		cmocka_unit_test(simple_inputs_refused),
		cmocka_unit_test(simple_placement_congruent),
		cmocka_unit_test(merging),
		cmocka_unit_test(spread_when_full),
		cmocka_unit_test(fragmentation),
		cmocka_unit_test(ileave_placement),
		cmocka_unit_test(ileave_inputs_refused),
		cmocka_unit_test(ileave_continues),
		cmocka_unit_test(ileave_any_strip_count),
		cmocka_unit_test(enospc_changes_nothing),
		cmocka_unit_test(fill_to_the_last_unit),
		cmocka_unit_test(only_kind),
		cmocka_unit_test(free_refused),
		cmocka_unit_test(use_refused),
		cmocka_unit_test(random_against_model),
		cmocka_unit_test(pages_pack_and_settle),
		cmocka_unit_test(pages_against_model),
	};

	return cmocka_run_group_tests_name("alloc", tests, NULL, NULL);
}
