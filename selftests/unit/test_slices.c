// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of bpf/slices.c, the allocator of the resolver's extent
 * arrays: runs never overlap, freed runs merge, nothing is reused before
 * a grace period, and against a bitmap under random alloc/free; and its
 * single entries (famfs_ids, the resolver's descriptors and file slots):
 * none below the first, none reused before a grace period, bad frees
 * refused.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "slices.h"

static void alloc_until_full(void **state)
{
	struct famfs_slices s;
	__u32 a, b, c;

	(void)state;
	assert_int_equal(famfs_slices_init(&s, 100), 0);
	assert_int_equal(famfs_slices_alloc(&s, 40, &a), 0);
	assert_int_equal(famfs_slices_alloc(&s, 40, &b), 0);
	assert_int_equal(a, 0);
	assert_int_equal(b, 40);
	assert_int_equal(famfs_slices_alloc(&s, 21, &c), -ENOSPC);
	assert_int_equal(famfs_slices_alloc(&s, 20, &c), 0);
	assert_int_equal(c, 80);
	assert_int_equal(s.nfree, 0);
	assert_int_equal(famfs_slices_alloc(&s, 1, &c), -ENOSPC);
	assert_int_equal(famfs_slices_alloc(&s, 0, &c), -EINVAL);
	famfs_slices_fini(&s);
}

static void parked_until_reclaimed(void **state)
{
	struct famfs_slices s;
	__u32 a, b;

	(void)state;
	assert_int_equal(famfs_slices_init(&s, 10), 0);
	assert_int_equal(famfs_slices_alloc(&s, 10, &a), 0);
	assert_int_equal(famfs_slices_free(&s, 0, 10), 0);
	/* parked: not reusable yet */
	assert_int_equal(famfs_slices_alloc(&s, 1, &b), -ENOSPC);
	assert_int_equal(s.nparked, 10);
	famfs_slices_reclaim(&s);
	assert_int_equal(s.nparked, 0);
	assert_int_equal(famfs_slices_alloc(&s, 10, &b), 0);
	famfs_slices_fini(&s);
}

static void free_merges_neighbours(void **state)
{
	struct famfs_slices s;
	__u32 r[5], x;
	int i;

	(void)state;
	assert_int_equal(famfs_slices_init(&s, 50), 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(famfs_slices_alloc(&s, 10, &r[i]), 0);
	/* free 1 and 3, then 2: one run of 30 */
	assert_int_equal(famfs_slices_free(&s, r[1], 10), 0);
	assert_int_equal(famfs_slices_free(&s, r[3], 10), 0);
	famfs_slices_reclaim(&s);
	assert_int_equal(famfs_slices_largest(&s), 10);
	assert_int_equal(famfs_slices_free(&s, r[2], 10), 0);
	famfs_slices_reclaim(&s);
	assert_int_equal(famfs_slices_largest(&s), 30);
	assert_int_equal(s.nruns, 1);
	assert_int_equal(famfs_slices_alloc(&s, 30, &x), 0);
	assert_int_equal(x, 10);
	famfs_slices_fini(&s);
}

static void bad_frees_refused(void **state)
{
	struct famfs_slices s;
	__u32 a;

	(void)state;
	assert_int_equal(famfs_slices_init(&s, 20), 0);
	assert_int_equal(famfs_slices_alloc(&s, 10, &a), 0);
	assert_int_equal(famfs_slices_free(&s, 10, 5), -EINVAL);	/* free */
	assert_int_equal(famfs_slices_free(&s, 15, 10), -EINVAL);	/* past cap */
	assert_int_equal(famfs_slices_free(&s, 0, 0), -EINVAL);
	assert_int_equal(famfs_slices_free(&s, 0, 10), 0);
	assert_int_equal(famfs_slices_free(&s, 5, 2), -EINVAL);	/* parked */
	famfs_slices_reclaim(&s);
	assert_int_equal(famfs_slices_free(&s, 0, 10), -EINVAL);	/* twice */
	famfs_slices_fini(&s);
}

/*
 * A run no descriptor named goes back at once, and leaves what others
 * parked parked (the loader's undo must not skip their grace period).
 */
static void unalloc_keeps_parked(void **state)
{
	struct famfs_slices s;
	__u32 a, b, c;

	(void)state;
	assert_int_equal(famfs_slices_init(&s, 20), 0);
	assert_int_equal(famfs_slices_alloc(&s, 10, &a), 0);
	assert_int_equal(famfs_slices_alloc(&s, 10, &b), 0);
	assert_int_equal(famfs_slices_free(&s, a, 10), 0);
	assert_int_equal(famfs_slices_unalloc(&s, b, 10), 0);
	assert_int_equal(s.nfree, 10);
	assert_int_equal(s.nparked, 10);
	assert_int_equal(famfs_slices_alloc(&s, 10, &c), 0);
	assert_int_equal(c, b);			/* b again, not the parked a */
	assert_int_equal(famfs_slices_alloc(&s, 1, &c), -ENOSPC);
	/* refused: parked, already free, out of range, empty */
	assert_int_equal(famfs_slices_unalloc(&s, a, 10), -EINVAL);
	assert_int_equal(famfs_slices_unalloc(&s, b, 10), 0);
	assert_int_equal(famfs_slices_unalloc(&s, b, 10), -EINVAL);
	assert_int_equal(famfs_slices_unalloc(&s, 15, 10), -EINVAL);
	assert_int_equal(famfs_slices_unalloc(&s, 0, 0), -EINVAL);
	assert_int_equal(s.nfree, 10);
	assert_int_equal(s.nparked, 10);
	famfs_slices_fini(&s);
}

/* Random alloc/free against a bitmap of what is handed out. */
static void random_against_bitmap(void **state)
{
	enum { CAP = 4096, LIVE = 64 };
	struct famfs_slices s;
	unsigned char used[CAP] = { 0 };
	struct { __u32 first, n; } live[LIVE] = { { 0, 0 } };
	unsigned long long x = 88172645463325252ULL;
	__u64 in_use = 0;
	int step, i;

	(void)state;
	assert_int_equal(famfs_slices_init(&s, CAP), 0);
	for (step = 0; step < 20000; step++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		i = x % LIVE;
		if (live[i].n) {
			assert_int_equal(famfs_slices_free(&s, live[i].first, live[i].n), 0);
			memset(used + live[i].first, 0, live[i].n);
			in_use -= live[i].n;
			live[i].n = 0;
		} else {
			__u32 n = 1 + (x >> 20) % 200, first, k;

			if (famfs_slices_alloc(&s, n, &first)) {
				assert_true(famfs_slices_largest(&s) < n);
				continue;
			}
			assert_true(first + n <= CAP);
			for (k = 0; k < n; k++) {
				assert_int_equal(used[first + k], 0);
				used[first + k] = 1;
			}
			live[i].first = first;
			live[i].n = n;
			in_use += n;
		}
		if (step % 7 == 0)
			famfs_slices_reclaim(&s);
		assert_int_equal(s.nfree + s.nparked + in_use, CAP);
	}
	famfs_slices_fini(&s);
}

static void ids_parked_until_reclaimed(void **state)
{
	struct famfs_ids ids;
	__u32 a, b, c, d;

	(void)state;
	/* entry 0 is never handed out: [1, 4) */
	assert_int_equal(famfs_ids_init(&ids, 1, 4), 0);
	assert_int_equal(famfs_ids_alloc(&ids, &a), 0);
	assert_int_equal(famfs_ids_alloc(&ids, &b), 0);
	assert_int_equal(famfs_ids_alloc(&ids, &c), 0);
	assert_int_equal(a, 1);
	assert_int_equal(b, 2);
	assert_int_equal(c, 3);
	assert_int_equal(famfs_ids_alloc(&ids, &d), -ENOSPC);
	/* parked: not reused until reclaimed */
	assert_int_equal(famfs_ids_free(&ids, b), 0);
	assert_int_equal(famfs_ids_alloc(&ids, &d), -ENOSPC);
	assert_int_equal(ids.nparked, 1);
	famfs_ids_reclaim(&ids);
	assert_int_equal(famfs_ids_alloc(&ids, &d), 0);
	assert_int_equal(d, b);
	/* given back at once */
	assert_int_equal(famfs_ids_unalloc(&ids, a), 0);
	assert_int_equal(famfs_ids_alloc(&ids, &d), 0);
	assert_int_equal(d, a);
	famfs_ids_fini(&ids);
}

static void ids_bad_frees_refused(void **state)
{
	struct famfs_ids ids;
	__u32 a;

	(void)state;
	assert_int_equal(famfs_ids_init(&ids, 1, 8), 0);
	assert_int_equal(famfs_ids_free(&ids, 3), -EINVAL);	/* never taken */
	assert_int_equal(famfs_ids_free(&ids, 0), -EINVAL);	/* below the first */
	assert_int_equal(famfs_ids_free(&ids, 8), -EINVAL);	/* past the end */
	assert_int_equal(famfs_ids_alloc(&ids, &a), 0);
	assert_int_equal(famfs_ids_free(&ids, a), 0);
	assert_int_equal(famfs_ids_free(&ids, a), -EINVAL);	/* parked already */
	assert_int_equal(famfs_ids_unalloc(&ids, a), -EINVAL);
	famfs_ids_reclaim(&ids);
	assert_int_equal(famfs_ids_free(&ids, a), -EINVAL);	/* free */
	famfs_ids_fini(&ids);
}

/* Random alloc/free/park/reclaim: an entry is never handed out twice */
static void ids_random(void **state)
{
	enum { CAP = 257 };
	unsigned char st[CAP] = { 0 };	/* 0 free, 1 used, 2 parked */
	__u32 used[CAP], nused = 0, id, i, nfree = CAP - 1;
	struct famfs_ids ids;
	__u64 x = 88172645463325252ULL;

	(void)state;
	assert_int_equal(famfs_ids_init(&ids, 1, CAP), 0);
	for (i = 0; i < 100000; i++) {
		unsigned int op;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		op = x % 8;
		if (op < 4) {
			int err = famfs_ids_alloc(&ids, &id);

			assert_int_equal(err, nfree ? 0 : -ENOSPC);
			if (err)
				continue;
			assert_true(id >= 1 && id < CAP);
			assert_int_equal(st[id], 0);
			st[id] = 1;
			used[nused++] = id;
			nfree--;
		} else if (op < 7 && nused) {
			__u32 k = (x >> 8) % nused;

			id = used[k];
			used[k] = used[--nused];
			if (op == 6) {
				assert_int_equal(famfs_ids_unalloc(&ids, id), 0);
				st[id] = 0;
				nfree++;
			} else {
				assert_int_equal(famfs_ids_free(&ids, id), 0);
				st[id] = 2;
			}
		} else if (op == 7) {
			famfs_ids_reclaim(&ids);
			for (id = 1; id < CAP; id++) {
				if (st[id] == 2) {
					st[id] = 0;
					nfree++;
				}
			}
		}
	}
	famfs_ids_fini(&ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(alloc_until_full),
		cmocka_unit_test(parked_until_reclaimed),
		cmocka_unit_test(free_merges_neighbours),
		cmocka_unit_test(bad_frees_refused),
		cmocka_unit_test(unalloc_keeps_parked),
		cmocka_unit_test(random_against_bitmap),
		cmocka_unit_test(ids_parked_until_reclaimed),
		cmocka_unit_test(ids_bad_frees_refused),
		cmocka_unit_test(ids_random),
	};

	return cmocka_run_group_tests_name("slices", tests, NULL, NULL);
}
