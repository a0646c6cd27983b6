// SPDX-License-Identifier: GPL-2.0
/*
 * Space allocator: see alloc.h.  Units are counted from a device's first
 * usable unit; the bitmap's bits past the last unit are set, so a search
 * for free space never finds them.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "u64.h"

#define UNIT_MASK	(FBS_ALLOC_UNIT - 1)

/* Units [u, u + n) of device @dev. */
struct span {
	__u32 dev;
	__u64 u;
	__u64 n;
};

/* The first unit at or after @from that is used (@used) or free, or nunits. */
static __u64 find_next(const struct fbs_alloc_dev *d, __u64 from, bool used)
{
	__u64 nwords = (d->nunits + 63) / 64, i, w, u;

	if (from >= d->nunits)
		return d->nunits;
	i = from / 64;
	w = used ? d->used[i] : ~d->used[i];
	w &= ~0ULL << (from % 64);
	while (!w) {
		if (++i == nwords)
			return d->nunits;
		w = used ? d->used[i] : ~d->used[i];
	}
	u = i * 64 + (__u64)__builtin_ctzll(w);
	return min_u64(u, d->nunits);
}

static void set_units(struct fbs_alloc *a, const struct span *sp, bool used)
{
	struct fbs_alloc_dev *d = &a->devs[sp->dev];
	__u64 u = sp->u, n = sp->n;

	while (n) {
		__u64 bit = u % 64, k = min_u64(64 - bit, n);
		__u64 mask = (k == 64 ? ~0ULL : (1ULL << k) - 1) << bit;

		if (used)
			d->used[u / 64] |= mask;
		else
			d->used[u / 64] &= ~mask;
		u += k;
		n -= k;
	}
	if (used)
		d->nfree -= sp->n;
	else
		d->nfree += sp->n;
}

static struct fbs_alloc_range span_range(const struct fbs_alloc *a,
					 const struct span *sp)
{
	return (struct fbs_alloc_range){
		.dev = sp->dev,
		.dev_off = (a->devs[sp->dev].first + sp->u) << FBS_ALLOC_UNIT_SHIFT,
		.len = sp->n << FBS_ALLOC_UNIT_SHIFT,
	};
}

/* A device range as units: whole units, nonempty, inside the usable range. */
static int to_span(const struct fbs_alloc *a, const struct fbs_alloc_range *r,
		   struct span *sp)
{
	const struct fbs_alloc_dev *d;
	__u64 first, n;

	if (r->dev >= a->ndevs || !r->len || (r->dev_off | r->len) & UNIT_MASK ||
	    r->dev_off + r->len < r->dev_off)
		return -EINVAL;
	d = &a->devs[r->dev];
	first = r->dev_off >> FBS_ALLOC_UNIT_SHIFT;
	n = r->len >> FBS_ALLOC_UNIT_SHIFT;
	if (first < d->first || first - d->first > d->nunits ||
	    n > d->nunits - (first - d->first))
		return -EINVAL;
	*sp = (struct span){ .dev = r->dev, .u = first - d->first, .n = n };
	return 0;
}

/*
 * Mark a span used (-EEXIST if any of it is) or free (-EINVAL if any of it
 * is already), recording the first offending units in a->bad.
 */
static int flip(struct fbs_alloc *a, const struct span *sp, bool used)
{
	const struct fbs_alloc_dev *d = &a->devs[sp->dev];
	__u64 end = sp->u + sp->n, bad = find_next(d, sp->u, used), bad_end;

	if (bad < end) {
		bad_end = min_u64(find_next(d, bad, !used), end);
		a->bad = span_range(a, &(struct span){ sp->dev, bad, bad_end - bad });
		return used ? -EEXIST : -EINVAL;
	}
	set_units(a, sp, used);
	return 0;
}

/*
 * The caller's extents as device ranges: range_at(ext, k, r) gives range k,
 * 1 for an index that holds none (an unused strip), or -EINVAL.
 */
typedef int (*range_at_t)(const void *ext, __u32 k, struct fbs_alloc_range *r);

static int simple_range_at(const void *ext, __u32 k, struct fbs_alloc_range *r)
{
	const struct fmap_simple_ext *e = (const struct fmap_simple_ext *)ext + k;

	if (e->pad || e->file_off + e->len < e->file_off)
		return -EINVAL;
	*r = (struct fbs_alloc_range){ e->dev, e->dev_off, e->len };
	return 0;
}

/* What the allocator hands out: whole units, chunks of at least one unit. */
static int ileave_check(const struct fmap_ileave_ext *ie)
{
	if (fmap_ileave_check(ie) || ie->chunk_shift < FBS_ALLOC_UNIT_SHIFT ||
	    (ie->file_off | ie->len) & UNIT_MASK)
		return -EINVAL;
	return 0;
}

static int ileave_range_at(const void *ext, __u32 k, struct fbs_alloc_range *r)
{
	const struct fmap_ileave_ext *ie =
		(const struct fmap_ileave_ext *)ext + k / FMAP_MAX_STRIPS;
	__u32 s = k % FMAP_MAX_STRIPS;

	if (ileave_check(ie))
		return -EINVAL;
	if (s >= ie->nstrips)
		return 1;
	*r = (struct fbs_alloc_range){ ie->strips[s].dev, ie->strips[s].dev_off,
				       fbs_alloc_strip_len(ie) };
	return 0;
}

/* Flip @n ranges, all or none: on a failure, flip back the ones done. */
static int flip_all(struct fbs_alloc *a, const void *ext, __u32 n,
		    range_at_t range_at, bool used)
{
	struct fbs_alloc_range r = { 0 };
	struct span sp;
	__u32 k;
	int err;

	for (k = 0; k < n; k++) {
		err = range_at(ext, k, &r);
		if (err > 0)
			continue;
		if (!err)
			err = to_span(a, &r, &sp);
		if (err) {
			a->bad = r;
			goto undo;
		}
		err = flip(a, &sp, used);
		if (err)
			goto undo;
	}
	return 0;
undo:
	while (k--)
		if (!range_at(ext, k, &r) && !to_span(a, &r, &sp))
			set_units(a, &sp, !used);
	return err;
}

int fbs_alloc_free_simple(struct fbs_alloc *a,
			  const struct fmap_simple_ext *ext, __u32 n)
{
	if (!a || (!ext && n))
		return -EINVAL;
	return flip_all(a, ext, n, simple_range_at, false);
}

int fbs_alloc_use_simple(struct fbs_alloc *a,
			 const struct fmap_simple_ext *ext, __u32 n)
{
	if (!a || (!ext && n))
		return -EINVAL;
	return flip_all(a, ext, n, simple_range_at, true);
}

static int ileave_flip_all(struct fbs_alloc *a,
			   const struct fmap_ileave_ext *ext, __u32 n, bool used)
{
	if (!a || (!ext && n) || n > UINT32_MAX / FMAP_MAX_STRIPS)
		return -EINVAL;
	return flip_all(a, ext, n * FMAP_MAX_STRIPS, ileave_range_at, used);
}

int fbs_alloc_free_ileave(struct fbs_alloc *a,
			  const struct fmap_ileave_ext *ext, __u32 n)
{
	return ileave_flip_all(a, ext, n, false);
}

int fbs_alloc_use_ileave(struct fbs_alloc *a,
			 const struct fmap_ileave_ext *ext, __u32 n)
{
	return ileave_flip_all(a, ext, n, true);
}

__u64 fbs_alloc_strip_len(const struct fmap_ileave_ext *ie)
{
	/* strip 0 holds the most: every strip gets as much */
	return fmap_ileave_strip_bytes(ie, 0);
}

/*
 * Free runs of one device: the smallest that holds @need units (best fit,
 * the lowest on a tie; n == 0 if none does) and the longest one.
 */
struct runs {
	struct span fit;
	struct span longest;
};

static void scan_runs(const struct fbs_alloc *a, __u32 dev, __u64 need,
		      struct runs *r)
{
	const struct fbs_alloc_dev *d = &a->devs[dev];
	__u64 u = find_next(d, 0, false), end;

	r->fit = (struct span){ dev, 0, 0 };
	r->longest = r->fit;
	while (u < d->nunits) {
		end = find_next(d, u, true);
		if (end - u >= need && (!r->fit.n || end - u < r->fit.n))
			r->fit = (struct span){ dev, u, end - u };
		if (end - u > r->longest.n)
			r->longest = (struct span){ dev, u, end - u };
		if (r->fit.n == need)
			break;	/* cannot fit better; longest is not needed */
		u = find_next(d, end, false);
	}
}

/* Devices by free space, most first, the lower index on a tie; @lead first. */
static void dev_order(const struct fbs_alloc *a, int lead, __u32 *order)
{
	__u32 i, j, n = 0, dev;

	if (lead >= 0)
		order[n++] = lead;
	for (dev = 0; dev < a->ndevs; dev++) {
		if ((int)dev == lead)
			continue;
		for (i = n; i > (lead >= 0 ? 1U : 0U); i--) {
			j = order[i - 1];
			if (a->devs[j].nfree >= a->devs[dev].nfree)
				break;
			order[i] = j;
		}
		order[i] = dev;
		n++;
	}
}

static __u64 total_free(const struct fbs_alloc *a)
{
	__u64 sum = 0;
	__u32 dev;

	for (dev = 0; dev < a->ndevs; dev++)
		sum += a->devs[dev].nfree;
	return sum;
}

/* The units right after @prev on its device that are free, up to @need. */
static struct span continuation(const struct fbs_alloc *a,
				const struct fmap_simple_ext *prev, __u64 need)
{
	struct fbs_alloc_range r = { prev->dev, prev->dev_off, prev->len };
	struct span sp = { prev->dev, 0, 0 };
	const struct fbs_alloc_dev *d;
	struct span at;

	if (to_span(a, &r, &at))
		return sp;
	d = &a->devs[prev->dev];
	sp.u = at.u + at.n;
	sp.n = min_u64(find_next(d, sp.u, true) - sp.u, need);
	return sp;
}

int fbs_alloc_simple(struct fbs_alloc *a, __u64 file_off, __u64 len,
		     const struct fmap_simple_ext *prev,
		     struct fmap_simple_ext *out, __u32 max_out, __u32 *nout)
{
	__u32 order[FBS_ALLOC_MAX_DEVS], n = 0, i;
	__u64 need, done = 0;
	struct runs r = { { 0, 0, 0 }, { 0, 0, 0 } };
	struct span take;
	int err;

	if (!a || !out || !nout || !max_out || !len ||
	    (file_off | len) & UNIT_MASK || file_off + len < file_off ||
	    (prev && prev->dev >= a->ndevs))
		return -EINVAL;
	*nout = 0;
	need = len >> FBS_ALLOC_UNIT_SHIFT;
	if (total_free(a) < need)
		return -ENOSPC;
	dev_order(a, prev ? (int)prev->dev : -1, order);

	if (prev && prev->file_off + prev->len == file_off)
		take = continuation(a, prev, need);
	else
		take.n = 0;
	while (take.n || done < need) {
		if (take.n) {
			if (n == max_out)
				goto too_many;
			set_units(a, &take, true);
			out[n++] = (struct fmap_simple_ext){
				.file_off = file_off + (done << FBS_ALLOC_UNIT_SHIFT),
				.len = take.n << FBS_ALLOC_UNIT_SHIFT,
				.dev_off = span_range(a, &take).dev_off,
				.dev = take.dev,
			};
			done += take.n;
			take.n = 0;
			continue;
		}
		/* one run for the rest, else the longest: the fewest extents */
		for (i = 0; i < a->ndevs; i++) {
			struct runs ri;

			scan_runs(a, order[i], need - done, &ri);
			if (ri.fit.n) {
				take = ri.fit;
				take.n = need - done;
				break;
			}
			if (!i || ri.longest.n > r.longest.n)
				r = ri;
		}
		if (!take.n)
			take = r.longest;
		if (!take.n) {
			/* cannot happen after the total_free() check */
			err = -ENOSPC;
			goto undo;
		}
	}
	*nout = n;
	return 0;
too_many:
	err = -E2BIG;
undo:
	while (n--) {
		struct fbs_alloc_range rg = { out[n].dev, out[n].dev_off, out[n].len };
		struct span sp;

		if (!to_span(a, &rg, &sp))
			set_units(a, &sp, false);
	}
	return err;
}

/* Claim, for each strip of @prev, the space right after it: all or none. */
static bool continue_ileave(struct fbs_alloc *a,
			    const struct fmap_ileave_ext *prev,
			    struct fmap_ileave_ext *out)
{
	__u32 nstrips = out->nstrips, s;
	__u64 strip_len = fbs_alloc_strip_len(out), prev_strip_len;
	struct fbs_alloc_range r;
	struct span sp[FMAP_MAX_STRIPS];

	if (ileave_check(prev) || prev->nstrips != out->nstrips ||
	    prev->chunk_shift != out->chunk_shift ||
	    prev->file_off + prev->len != out->file_off ||
	    prev->len % ((__u64)nstrips << prev->chunk_shift))
		return false;
	prev_strip_len = prev->len / nstrips;
	for (s = 0; s < nstrips; s++) {
		r = (struct fbs_alloc_range){ prev->strips[s].dev,
					      prev->strips[s].dev_off + prev_strip_len,
					      strip_len };
		/* strips of @prev may share a device: flip() sees overlaps */
		if (to_span(a, &r, &sp[s]) || flip(a, &sp[s], true))
			goto undo;
		out->strips[s].dev = r.dev;
		out->strips[s].dev_off = r.dev_off;
	}
	return true;
undo:
	while (s--)
		set_units(a, &sp[s], false);
	memset(out->strips, 0, sizeof(out->strips));
	return false;
}

int fbs_alloc_ileave(struct fbs_alloc *a, __u64 file_off, __u64 len,
		     __u32 nstrips, __u64 chunk_size,
		     const struct fmap_ileave_ext *prev,
		     struct fmap_ileave_ext *out)
{
	__u32 order[FBS_ALLOC_MAX_DEVS], picked = 0, i, s;
	struct span where[FBS_ALLOC_MAX_DEVS];
	__u64 need;
	struct runs r;

	if (!a || !out || !len || (file_off | len) & UNIT_MASK ||
	    file_off + len < file_off || !nstrips ||
	    nstrips > FMAP_MAX_STRIPS || nstrips > a->ndevs ||
	    chunk_size < FBS_ALLOC_UNIT || chunk_size & (chunk_size - 1) ||
	    chunk_size > 1ULL << FMAP_MAX_CHUNK_SHIFT)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->file_off = file_off;
	out->len = len;
	out->nstrips = (__u8)nstrips;
	out->chunk_shift = (__u8)__builtin_ctzll(chunk_size);
	need = fbs_alloc_strip_len(out) >> FBS_ALLOC_UNIT_SHIFT;

	if (prev && continue_ileave(a, prev, out))
		return 0;

	/* one strip per device, on the devices with the most free space */
	dev_order(a, -1, order);
	for (i = 0; i < a->ndevs && picked < nstrips; i++) {
		if (a->devs[order[i]].nfree < need)
			break;	/* the order is by free space: none after */
		scan_runs(a, order[i], need, &r);
		if (!r.fit.n)
			continue;
		where[picked] = r.fit;
		where[picked++].n = need;
	}
	if (picked < nstrips)
		return -ENOSPC;
	/* strips in device order, for a readable getmap */
	for (s = 1; s < nstrips; s++)
		for (i = s; i && where[i - 1].dev > where[i].dev; i--) {
			struct span t = where[i];

			where[i] = where[i - 1];
			where[i - 1] = t;
		}
	for (s = 0; s < nstrips; s++) {
		set_units(a, &where[s], true);
		out->strips[s].dev = where[s].dev;
		out->strips[s].dev_off = span_range(a, &where[s]).dev_off;
	}
	return 0;
}

void fbs_alloc_stat(const struct fbs_alloc *a, struct fbs_alloc_stat *st)
{
	__u32 dev;

	memset(st, 0, sizeof(*st));
	for (dev = 0; dev < a->ndevs; dev++) {
		st->dev_total[dev] = a->devs[dev].nunits << FBS_ALLOC_UNIT_SHIFT;
		st->dev_free[dev] = a->devs[dev].nfree << FBS_ALLOC_UNIT_SHIFT;
		st->total += st->dev_total[dev];
		st->free += st->dev_free[dev];
	}
}

bool fbs_alloc_merge_simple(struct fmap_simple_ext *prev,
			    const struct fmap_simple_ext *next)
{
	if (prev->dev != next->dev ||
	    prev->file_off + prev->len != next->file_off ||
	    prev->dev_off + prev->len != next->dev_off ||
	    prev->len + next->len < prev->len)
		return false;
	prev->len += next->len;
	return true;
}

bool fbs_alloc_merge_ileave(struct fmap_ileave_ext *prev,
			    const struct fmap_ileave_ext *next)
{
	/* the rule readers merge by, on extents of whole units */
	if (ileave_check(prev) || ileave_check(next) || !fmap_ileave_continues(prev, next))
		return false;
	prev->len += next->len;
	return true;
}

int fbs_alloc_init(struct fbs_alloc *a, const struct fbs_alloc_geom *geom,
		   __u32 ndevs)
{
	__u32 dev;

	if (!a)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	if (!geom || !ndevs || ndevs > FBS_ALLOC_MAX_DEVS)
		return -EINVAL;
	for (dev = 0; dev < ndevs; dev++) {
		const struct fbs_alloc_geom *g = &geom[dev];
		struct fbs_alloc_dev *d = &a->devs[dev];
		__u64 first, last, nwords;

		/* rounded inwards without overflowing near 2^64 */
		first = (g->start >> FBS_ALLOC_UNIT_SHIFT) + !!(g->start & UNIT_MASK);
		last = g->end >> FBS_ALLOC_UNIT_SHIFT;
		if (g->end > g->size || g->start >= g->end || last <= first)
			goto fail_inval;
		d->first = first;
		d->nunits = last - first;
		nwords = (d->nunits + 63) / 64;
		d->used = calloc(nwords, sizeof(*d->used));
		if (!d->used) {
			fbs_alloc_fini(a);
			return -ENOMEM;
		}
		if (d->nunits % 64)
			d->used[nwords - 1] = ~0ULL << (d->nunits % 64);
		d->nfree = d->nunits;
		a->ndevs = dev + 1;
	}
	return 0;
fail_inval:
	fbs_alloc_fini(a);
	return -EINVAL;
}

void fbs_alloc_fini(struct fbs_alloc *a)
{
	__u32 dev;

	for (dev = 0; dev < FBS_ALLOC_MAX_DEVS; dev++)
		free(a->devs[dev].used);
	memset(a, 0, sizeof(*a));
}

static int dev_range_cmp(const void *a, const void *b)
{
	const struct fbs_dev_range *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

long fbs_file_units(struct fbs_dev_range **r, size_t *cap,
		    const struct fmap_simple_ext *simple, __u32 nsimple,
		    const struct fmap_ileave_ext *ileave, __u32 nileave,
		    struct fbs_dev_range *twice)
{
	const __u64 mask = FBS_ALLOC_UNIT - 1;
	size_t need = (size_t)nsimple + (size_t)nileave * FMAP_MAX_STRIPS, n = 0, k, out;
	struct fbs_dev_range *v;
	__u32 i, s;

	if (twice)
		*twice = (struct fbs_dev_range){ 0 };
	if (need > *cap) {
		v = realloc(*r, need * sizeof(*v));
		if (!v)
			return -ENOMEM;
		*r = v;
		*cap = need;
	}
	v = *r;
	for (i = 0; i < nsimple; i++)
		v[n++] = (struct fbs_dev_range){ simple[i].dev, simple[i].dev_off,
						 simple[i].dev_off + simple[i].len };
	for (i = 0; i < nileave; i++)
		for (s = 0; s < ileave[i].nstrips; s++)
			v[n++] = (struct fbs_dev_range){
				ileave[i].strips[s].dev, ileave[i].strips[s].dev_off,
				ileave[i].strips[s].dev_off + fmap_ileave_strip_bytes(&ileave[i], s) };
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), dev_range_cmp);
	for (k = 1; k < n && twice; k++)
		if (v[k].dev == v[k - 1].dev && v[k].start < v[k - 1].end) {
			*twice = v[k];
			break;
		}
	for (k = 0, out = 0; k < n; k++) {
		struct fbs_dev_range u = { v[k].dev, v[k].start & ~mask, (v[k].end + mask) & ~mask };

		if (u.start == u.end)
			continue;
		if (out && v[out - 1].dev == u.dev && u.start <= v[out - 1].end) {
			if (u.end > v[out - 1].end)
				v[out - 1].end = u.end;
		} else {
			v[out++] = u;
		}
	}
	return (long)out;
}
