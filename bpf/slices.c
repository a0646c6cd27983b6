// SPDX-License-Identifier: GPL-2.0
/*
 * First-fit runs over [0, cap): see slices.h.  The free list is a sorted
 * array of runs, merged with both neighbours on free, so it stays as short
 * as the fragmentation is.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "slices.h"

static int grow(struct famfs_run **runs, __u32 *cap, __u32 need)
{
	struct famfs_run *r;
	__u32 ncap;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	r = realloc(*runs, ncap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	*runs = r;
	*cap = ncap;
	return 0;
}

int famfs_slices_init(struct famfs_slices *s, __u32 cap)
{
	memset(s, 0, sizeof(*s));
	s->cap = cap;
	if (!cap)
		return 0;
	if (grow(&s->free, &s->runs_cap, 1))
		return -ENOMEM;
	s->free[0] = (struct famfs_run){ 0, cap };
	s->nruns = 1;
	s->nfree = cap;
	return 0;
}

void famfs_slices_fini(struct famfs_slices *s)
{
	free(s->free);
	free(s->parked);
	memset(s, 0, sizeof(*s));
}

int famfs_slices_alloc(struct famfs_slices *s, __u32 n, __u32 *first)
{
	__u32 i;

	if (!n)
		return -EINVAL;
	for (i = 0; i < s->nruns; i++) {
		struct famfs_run *r = &s->free[i];

		if (r->len < n)
			continue;
		*first = r->start;
		r->start += n;
		r->len -= n;
		if (!r->len) {
			memmove(r, r + 1, (s->nruns - i - 1) * sizeof(*r));
			s->nruns--;
		}
		s->nfree -= n;
		return 0;
	}
	return -ENOSPC;
}

/* Back into the free list, merged with its neighbours. */
static int release(struct famfs_slices *s, __u32 first, __u32 n)
{
	__u32 i, end = first + n;
	struct famfs_run *prev, *next;

	/* i: the first free run that starts after @first */
	for (i = 0; i < s->nruns && s->free[i].start < first; i++)
		;
	prev = i ? &s->free[i - 1] : NULL;
	next = i < s->nruns ? &s->free[i] : NULL;
	/* overlapping a free run: a double free or a run never allocated */
	if ((prev && prev->start + prev->len > first) ||
	    (next && next->start < end))
		return -EINVAL;
	s->nfree += n;
	if (prev && prev->start + prev->len == first) {
		prev->len += n;
		if (next && next->start == end) {
			prev->len += next->len;
			memmove(next, next + 1, (s->nruns - i - 1) * sizeof(*next));
			s->nruns--;
		}
		return 0;
	}
	if (next && next->start == end) {
		next->start = first;
		next->len += n;
		return 0;
	}
	if (grow(&s->free, &s->runs_cap, s->nruns + 1)) {
		s->nfree -= n;
		return -ENOMEM;
	}
	memmove(&s->free[i + 1], &s->free[i], (s->nruns - i) * sizeof(*s->free));
	s->free[i] = (struct famfs_run){ first, n };
	s->nruns++;
	return 0;
}

int famfs_slices_free(struct famfs_slices *s, __u32 first, __u32 n)
{
	__u32 i;

	if (!n || first >= s->cap || n > s->cap - first)
		return -EINVAL;
	/* not free, not parked already */
	for (i = 0; i < s->nruns; i++)
		if (first < s->free[i].start + s->free[i].len &&
		    s->free[i].start < first + n)
			return -EINVAL;
	for (i = 0; i < s->nparked_runs; i++)
		if (first < s->parked[i].start + s->parked[i].len &&
		    s->parked[i].start < first + n)
			return -EINVAL;
	if (grow(&s->parked, &s->parked_cap, s->nparked_runs + 1))
		return -ENOMEM;
	s->parked[s->nparked_runs++] = (struct famfs_run){ first, n };
	s->nparked += n;
	return 0;
}

int famfs_slices_unalloc(struct famfs_slices *s, __u32 first, __u32 n)
{
	__u32 i;

	if (!n || first >= s->cap || n > s->cap - first)
		return -EINVAL;
	for (i = 0; i < s->nparked_runs; i++)
		if (first < s->parked[i].start + s->parked[i].len &&
		    s->parked[i].start < first + n)
			return -EINVAL;
	return release(s, first, n);	/* -EINVAL if it overlaps a free run */
}

void famfs_slices_reclaim(struct famfs_slices *s)
{
	__u32 i, kept = 0;

	for (i = 0; i < s->nparked_runs; i++) {
		/* only -ENOMEM can fail here: keep the run parked then */
		if (release(s, s->parked[i].start, s->parked[i].len))
			s->parked[kept++] = s->parked[i];
		else
			s->nparked -= s->parked[i].len;
	}
	s->nparked_runs = kept;
}

__u32 famfs_slices_largest(const struct famfs_slices *s)
{
	__u32 i, best = 0;

	for (i = 0; i < s->nruns; i++)
		if (s->free[i].len > best)
			best = s->free[i].len;
	return best;
}

/* ---- single entries ---- */

int famfs_ids_init(struct famfs_ids *ids, __u32 first, __u32 cap)
{
	__u32 i, n = cap > first ? cap - first : 0;

	memset(ids, 0, sizeof(*ids));
	ids->first = first;
	ids->cap = cap;
	ids->free = malloc((n ? n : 1) * sizeof(*ids->free));
	ids->parked = malloc((n ? n : 1) * sizeof(*ids->parked));
	ids->state = calloc(cap ? cap : 1, 1);
	if (!ids->free || !ids->parked || !ids->state) {
		famfs_ids_fini(ids);
		return -ENOMEM;
	}
	/* the lowest on top: a fresh map fills from its start */
	for (i = 0; i < n; i++)
		ids->free[i] = cap - 1 - i;
	ids->nfree = n;
	return 0;
}

void famfs_ids_fini(struct famfs_ids *ids)
{
	free(ids->free);
	free(ids->parked);
	free(ids->state);
	memset(ids, 0, sizeof(*ids));
}

int famfs_ids_alloc(struct famfs_ids *ids, __u32 *id)
{
	if (!ids->nfree)
		return -ENOSPC;
	*id = ids->free[--ids->nfree];
	ids->state[*id] = FAMFS_ID_USED;
	return 0;
}

static bool taken(const struct famfs_ids *ids, __u32 id)
{
	return id >= ids->first && id < ids->cap && ids->state[id] == FAMFS_ID_USED;
}

int famfs_ids_free(struct famfs_ids *ids, __u32 id)
{
	if (!taken(ids, id))
		return -EINVAL;
	ids->state[id] = FAMFS_ID_PARKED;
	ids->parked[ids->nparked++] = id;
	return 0;
}

int famfs_ids_unalloc(struct famfs_ids *ids, __u32 id)
{
	if (!taken(ids, id))
		return -EINVAL;
	ids->state[id] = FAMFS_ID_FREE;
	ids->free[ids->nfree++] = id;
	return 0;
}

void famfs_ids_reclaim(struct famfs_ids *ids)
{
	while (ids->nparked) {
		__u32 id = ids->parked[--ids->nparked];

		ids->state[id] = FAMFS_ID_FREE;
		ids->free[ids->nfree++] = id;
	}
}
