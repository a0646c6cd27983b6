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

/* ---- pages (fbs_alloc_enable_pages()) ---- */

#define PAGE_MASK_	(FBS_ALLOC_PAGE - 1)
#define UNIT_PAGES	((__u32)FBS_ALLOC_UNIT_PAGES)

static bool unit_used(const struct fbs_alloc_dev *d, __u64 u)
{
	return d->used[u / 64] >> (u % 64) & 1;
}

static bool page_used(const struct fbs_alloc_small *s, __u32 p)
{
	return s->used[p / 64] >> (p % 64) & 1;
}

/* A page map from the spares, or a new one: NULL without memory. */
static struct fbs_alloc_small *small_get(struct fbs_alloc *a)
{
	struct fbs_alloc_small *s = a->spare;

	if (s)
		a->spare = s->next;
	else
		s = malloc(sizeof(*s));
	if (s)
		memset(s, 0, sizeof(*s));
	return s;
}

/*
 * Set unit @u of @dev aside for pages: all of them in use when the unit
 * was, else all free.  The unit's bit is set either way.
 */
static struct fbs_alloc_small *set_aside(struct fbs_alloc *a, __u32 dev, __u64 u)
{
	struct fbs_alloc_dev *d = &a->devs[dev];
	struct fbs_alloc_small *s = small_get(a);

	if (!s)
		return NULL;
	s->dev = dev;
	s->u = u;
	if (unit_used(d, u)) {
		memset(s->used, 0xff, sizeof(s->used));
	} else {
		set_units(a, &(struct span){ dev, u, 1 }, true);
		s->nfree = UNIT_PAGES;
		d->small_free += UNIT_PAGES;
	}
	s->next = d->partial;
	if (s->next)
		s->next->prev = s;
	d->partial = s;
	d->small[u] = s;
	return s;
}

/*
 * A set-aside unit whose pages are all used is a whole used unit again;
 * one whose pages are all free is a free unit.  Its page map becomes a
 * spare, so that undoing the call that got here needs no memory.
 */
static void settle(struct fbs_alloc *a, struct fbs_alloc_small *s)
{
	struct fbs_alloc_dev *d = &a->devs[s->dev];

	if (s->nfree && s->nfree < UNIT_PAGES)
		return;
	if (s->nfree) {
		d->small_free -= UNIT_PAGES;
		set_units(a, &(struct span){ s->dev, s->u, 1 }, false);
	}
	if (s->prev)
		s->prev->next = s->next;
	else
		d->partial = s->next;
	if (s->next)
		s->next->prev = s->prev;
	d->small[s->u] = NULL;
	s->next = a->spare;
	a->spare = s;
}

/* Pages [p0, p1) of unit @u of @dev become used (or free): all or none. */
static int flip_pages(struct fbs_alloc *a, __u32 dev, __u64 u, __u32 p0, __u32 p1, bool used)
{
	struct fbs_alloc_dev *d = &a->devs[dev];
	struct fbs_alloc_small *s = d->small[u];
	__u32 p;

	if (!s && unit_used(d, u) == used)
		goto refuse;
	if (!s) {
		s = set_aside(a, dev, u);
		if (!s)
			return -ENOMEM;
	}
	for (p = p0; p < p1; p++)
		if (page_used(s, p) == used) {
			settle(a, s);	/* undoes a set_aside() above */
			goto refuse;
		}
	for (p = p0; p < p1; p++)
		s->used[p / 64] ^= 1ULL << (p % 64);
	if (used) {
		s->nfree -= p1 - p0;
		d->small_free -= p1 - p0;
	} else {
		s->nfree += p1 - p0;
		d->small_free += p1 - p0;
	}
	settle(a, s);
	return 0;
refuse:
	a->bad = (struct fbs_alloc_range){
		.dev = dev,
		.dev_off = ((d->first + u) << FBS_ALLOC_UNIT_SHIFT) + ((__u64)p0 << FBS_ALLOC_PAGE_SHIFT),
		.len = (__u64)(p1 - p0) << FBS_ALLOC_PAGE_SHIFT,
	};
	return used ? -EEXIST : -EINVAL;
}

/*
 * With pages: a device range of whole pages becomes used (or free), all
 * or none.  Whole units that are not set aside flip as units, the rest
 * page by page.  Every step is undone by the opposite step on the same
 * range, which takes no memory (settle() keeps page maps as spares).
 */
static int flip_range(struct fbs_alloc *a, const struct fbs_alloc_range *r, bool used)
{
	const struct fbs_alloc_dev *d;
	__u64 base, off, end, cur;
	int err = 0;

	if (r->dev >= a->ndevs || !r->len || (r->dev_off | r->len) & PAGE_MASK_ ||
	    r->dev_off + r->len < r->dev_off)
		goto inval;
	d = &a->devs[r->dev];
	base = d->first << FBS_ALLOC_UNIT_SHIFT;
	if (r->dev_off < base || r->dev_off - base > d->nunits << FBS_ALLOC_UNIT_SHIFT ||
	    r->len > (d->nunits << FBS_ALLOC_UNIT_SHIFT) - (r->dev_off - base))
		goto inval;
	off = r->dev_off - base;
	end = off + r->len;
	for (cur = off; cur < end;) {
		__u64 u = cur >> FBS_ALLOC_UNIT_SHIFT;
		__u64 uend = min_u64(end, (u + 1) << FBS_ALLOC_UNIT_SHIFT);
		__u32 p0 = (__u32)((cur & UNIT_MASK) >> FBS_ALLOC_PAGE_SHIFT);
		__u32 p1 = p0 + (__u32)((uend - cur) >> FBS_ALLOC_PAGE_SHIFT);

		if (p1 - p0 == UNIT_PAGES && !d->small[u]) {
			struct span sp = { r->dev, u, 1 };

			while (((u + sp.n + 1) << FBS_ALLOC_UNIT_SHIFT) <= end && !d->small[u + sp.n])
				sp.n++;
			err = flip(a, &sp, used);
			uend = (u + sp.n) << FBS_ALLOC_UNIT_SHIFT;
		} else {
			err = flip_pages(a, r->dev, u, p0, p1, used);
		}
		if (err)
			break;
		cur = uend;
	}
	if (err && cur > off) {
		struct fbs_alloc_range done = { r->dev, r->dev_off, cur - off };
		struct fbs_alloc_range bad = a->bad;

		flip_range(a, &done, !used);
		a->bad = bad;
	}
	return err;
inval:
	a->bad = *r;
	return -EINVAL;
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

/* flip_all() with pages. */
static int flip_all_pages(struct fbs_alloc *a, const void *ext, __u32 n,
			  range_at_t range_at, bool used)
{
	struct fbs_alloc_range r = { 0 }, bad;
	__u32 k;
	int err = 0;

	for (k = 0; k < n; k++) {
		err = range_at(ext, k, &r);
		if (err > 0) {
			err = 0;
			continue;
		}
		if (err) {
			a->bad = r;
			break;
		}
		err = flip_range(a, &r, used);
		if (err)
			break;
	}
	if (!err)
		return 0;
	bad = a->bad;
	while (k--)
		if (!range_at(ext, k, &r))
			flip_range(a, &r, !used);
	a->bad = bad;
	return err;
}

/* Flip @n ranges, all or none: on a failure, flip back the ones done. */
static int flip_all(struct fbs_alloc *a, const void *ext, __u32 n,
		    range_at_t range_at, bool used)
{
	struct fbs_alloc_range r = { 0 };
	struct span sp;
	__u32 k;
	int err;

	if (a->pages)
		return flip_all_pages(a, ext, n, range_at, used);
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

void fbs_alloc_only(struct fbs_alloc *a, __u32 mask)
{
	a->only = mask;
}

/* May new space come from @dev (fbs_alloc_only())? */
static bool usable(const struct fbs_alloc *a, __u32 dev)
{
	return dev < a->ndevs && (!a->only || (a->only >> dev & 1));
}

/*
 * The usable devices by free space, most first, the lower index on a tie;
 * @lead first (if usable).  Returns how many.
 */
static __u32 dev_order(const struct fbs_alloc *a, int lead, __u32 *order)
{
	__u32 i, j, n = 0, dev;

	if (lead >= 0 && !usable(a, (__u32)lead))
		lead = -1;
	if (lead >= 0)
		order[n++] = lead;
	for (dev = 0; dev < a->ndevs; dev++) {
		if ((int)dev == lead || !usable(a, dev))
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
	return n;
}

static __u64 total_free(const struct fbs_alloc *a)
{
	__u64 sum = 0;
	__u32 dev;

	for (dev = 0; dev < a->ndevs; dev++)
		if (usable(a, dev))
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

	if (!usable(a, prev->dev) || to_span(a, &r, &at))
		return sp;
	d = &a->devs[prev->dev];
	sp.u = at.u + at.n;
	sp.n = min_u64(find_next(d, sp.u, true) - sp.u, need);
	return sp;
}

/* ---- page allocation ---- */

/* Free pages, whole units counted, of device @dev. */
static __u64 dev_free_pages(const struct fbs_alloc_dev *d)
{
	return d->nfree * UNIT_PAGES + d->small_free;
}

/* How many pages from page @pg of @dev (counted from its first unit) on are free, up to @max. */
static __u64 free_run_at(const struct fbs_alloc *a, __u32 dev, __u64 pg, __u64 max)
{
	const struct fbs_alloc_dev *d = &a->devs[dev];
	__u64 n = 0;

	while (n < max && pg + n < d->nunits * UNIT_PAGES) {
		__u64 u = (pg + n) / UNIT_PAGES;
		__u32 p = (__u32)((pg + n) % UNIT_PAGES);
		const struct fbs_alloc_small *s = d->small[u];

		if (!s) {
			if (unit_used(d, u))
				break;
			n += UNIT_PAGES - p;
			continue;
		}
		if (page_used(s, p))
			break;
		n++;
	}
	return min_u64(n, max);
}

/* A run of free pages in a set-aside unit: [p, p + n) of unit u of dev. */
struct page_run {
	struct fbs_alloc_small *s;
	__u32 p, n;
};

/* The first run of at least @need pages in @s (n == 0: none), else its longest in *@longest. */
static struct page_run unit_run(struct fbs_alloc_small *s, __u32 need, struct page_run *longest)
{
	__u32 p = 0, q;

	while (p < UNIT_PAGES) {
		if (page_used(s, p)) {
			p++;
			continue;
		}
		for (q = p; q < UNIT_PAGES && !page_used(s, q); q++)
			;
		if (q - p >= need)
			return (struct page_run){ s, p, need };
		if (q - p > longest->n)
			*longest = (struct page_run){ s, p, q - p };
		p = q;
	}
	return (struct page_run){ NULL, 0, 0 };
}

/*
 * Where the next piece of a page allocation goes, @need pages for file
 * offset @file_off: right after @prev on its device when that is free;
 * else a run that holds it all in the fullest set-aside unit that has one
 * (small files pack together, emptier units drain); else a free unit, at
 * the file offset's place in it (a file written from its start fills the
 * unit congruently and gets PMD faults); else the longest run of any
 * set-aside unit.  The range in *@r; false when nothing is free.
 */
static bool next_piece(const struct fbs_alloc *a, __u64 file_off, __u64 need,
		       const struct fmap_simple_ext *prev, struct fbs_alloc_range *r)
{
	struct page_run best = { NULL, 0, 0 }, longest = { NULL, 0, 0 };
	__u32 order[FBS_ALLOC_MAX_DEVS], i, dev, nord;
	__u64 n;

	if (prev && usable(a, prev->dev)) {
		const struct fbs_alloc_dev *d = &a->devs[prev->dev];
		__u64 base = d->first << FBS_ALLOC_UNIT_SHIFT, end = prev->dev_off + prev->len;

		if (end >= base && end - base < d->nunits << FBS_ALLOC_UNIT_SHIFT) {
			n = free_run_at(a, prev->dev, (end - base) >> FBS_ALLOC_PAGE_SHIFT, need);
			if (n) {
				*r = (struct fbs_alloc_range){ prev->dev, end, n << FBS_ALLOC_PAGE_SHIFT };
				return true;
			}
		}
	}
	if (need < UNIT_PAGES)
		for (dev = 0; dev < a->ndevs; dev++) {
			struct fbs_alloc_small *s;

			if (!usable(a, dev))
				continue;
			for (s = a->devs[dev].partial; s; s = s->next) {
				struct page_run run;

				if (s->nfree < need || (best.s && s->nfree >= best.s->nfree))
					continue;
				run = unit_run(s, (__u32)need, &longest);
				if (run.s)
					best = run;
			}
		}
	if (!best.s) {
		nord = dev_order(a, prev ? (int)prev->dev : -1, order);
		for (i = 0; i < nord; i++) {
			const struct fbs_alloc_dev *d = &a->devs[order[i]];
			__u64 u = d->nfree ? find_next(d, 0, false) : d->nunits;
			__u32 p = (__u32)((file_off & UNIT_MASK) >> FBS_ALLOC_PAGE_SHIFT);

			if (u >= d->nunits)
				continue;
			if (need <= UNIT_PAGES - p)
				n = need;
			else if (need < UNIT_PAGES)
				p = 0, n = need;	/* cannot sit congruently in one unit */
			else
				n = UNIT_PAGES - p;	/* the rest follows in place, if free */
			*r = (struct fbs_alloc_range){
				order[i],
				((d->first + u) << FBS_ALLOC_UNIT_SHIFT) + ((__u64)p << FBS_ALLOC_PAGE_SHIFT),
				n << FBS_ALLOC_PAGE_SHIFT,
			};
			return true;
		}
	}
	if (!best.s) {
		/* fragments: the longest run anywhere */
		for (dev = 0; dev < a->ndevs; dev++) {
			struct fbs_alloc_small *s;

			if (!usable(a, dev))
				continue;
			for (s = a->devs[dev].partial; s; s = s->next)
				unit_run(s, UNIT_PAGES, &longest);
		}
		best = longest;
		best.n = (__u32)min_u64(best.n, need);
	}
	if (!best.s)
		return false;
	*r = (struct fbs_alloc_range){
		best.s->dev,
		((a->devs[best.s->dev].first + best.s->u) << FBS_ALLOC_UNIT_SHIFT) +
			((__u64)best.p << FBS_ALLOC_PAGE_SHIFT),
		(__u64)best.n << FBS_ALLOC_PAGE_SHIFT,
	};
	return true;
}

/* fbs_alloc_simple() in pages: piece after piece (next_piece()), joined where they continue. */
static int alloc_pages(struct fbs_alloc *a, __u64 file_off, __u64 len,
		       const struct fmap_simple_ext *prev,
		       struct fmap_simple_ext *out, __u32 max_out, __u32 *nout)
{
	__u64 need = len >> FBS_ALLOC_PAGE_SHIFT, done = 0, total = 0;
	struct fbs_alloc_range r;
	__u32 n = 0, dev;
	int err;

	for (dev = 0; dev < a->ndevs; dev++)
		if (usable(a, dev))
			total += dev_free_pages(&a->devs[dev]);
	if (total < need)
		return -ENOSPC;
	if (prev && prev->file_off + prev->len != file_off)
		prev = NULL;
	while (done < need) {
		struct fmap_simple_ext x;

		if (!next_piece(a, file_off + (done << FBS_ALLOC_PAGE_SHIFT), need - done,
				n ? &out[n - 1] : prev, &r)) {
			err = -ENOSPC;	/* cannot be after the count above */
			goto undo;
		}
		err = flip_range(a, &r, true);
		if (err)
			goto undo;
		x = (struct fmap_simple_ext){
			.file_off = file_off + (done << FBS_ALLOC_PAGE_SHIFT),
			.len = r.len,
			.dev_off = r.dev_off,
			.dev = r.dev,
		};
		done += r.len >> FBS_ALLOC_PAGE_SHIFT;
		if (n && fbs_alloc_merge_simple(&out[n - 1], &x))
			continue;
		if (n == max_out) {
			flip_range(a, &r, false);
			err = -E2BIG;
			goto undo;
		}
		out[n++] = x;
	}
	*nout = n;
	return 0;
undo:
	while (n--)
		flip_range(a, &(struct fbs_alloc_range){ out[n].dev, out[n].dev_off, out[n].len },
			   false);
	return err;
}

int fbs_alloc_simple(struct fbs_alloc *a, __u64 file_off, __u64 len,
		     const struct fmap_simple_ext *prev,
		     struct fmap_simple_ext *out, __u32 max_out, __u32 *nout)
{
	__u32 order[FBS_ALLOC_MAX_DEVS], n = 0, i, nord;
	__u64 need, done = 0;
	struct runs r = { { 0, 0, 0 }, { 0, 0, 0 } };
	struct span take;
	int err;

	if (!a || !out || !nout || !max_out || !len || file_off + len < file_off ||
	    (file_off | len) & (a->pages ? PAGE_MASK_ : UNIT_MASK) ||
	    (prev && prev->dev >= a->ndevs))
		return -EINVAL;
	*nout = 0;
	need = len >> FBS_ALLOC_UNIT_SHIFT;
	/* pages: for what is not whole units, and for units when too few are free */
	if (a->pages && ((file_off | len) & UNIT_MASK || total_free(a) < need))
		return alloc_pages(a, file_off, len, prev, out, max_out, nout);
	if (total_free(a) < need)
		return -ENOSPC;
	nord = dev_order(a, prev ? (int)prev->dev : -1, order);

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
		for (i = 0; i < nord; i++) {
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
		if (!usable(a, prev->strips[s].dev))
			goto undo;
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
	__u32 order[FBS_ALLOC_MAX_DEVS], picked = 0, i, s, nord;
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
	nord = dev_order(a, -1, order);
	for (i = 0; i < nord && picked < nstrips; i++) {
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
		st->dev_free[dev] = (a->devs[dev].nfree << FBS_ALLOC_UNIT_SHIFT) +
				    (a->devs[dev].small_free << FBS_ALLOC_PAGE_SHIFT);
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

	for (dev = 0; dev < FBS_ALLOC_MAX_DEVS; dev++) {
		struct fbs_alloc_dev *d = &a->devs[dev];

		while (d->partial) {
			struct fbs_alloc_small *s = d->partial;

			d->partial = s->next;
			free(s);
		}
		free(d->small);
		free(d->used);
	}
	while (a->spare) {
		struct fbs_alloc_small *s = a->spare;

		a->spare = s->next;
		free(s);
	}
	memset(a, 0, sizeof(*a));
}

int fbs_alloc_enable_pages(struct fbs_alloc *a)
{
	__u32 dev;

	if (!a || !a->ndevs || a->pages)
		return -EINVAL;
	for (dev = 0; dev < a->ndevs; dev++) {
		a->devs[dev].small = calloc(a->devs[dev].nunits, sizeof(*a->devs[dev].small));
		if (!a->devs[dev].small) {
			while (dev--) {
				free(a->devs[dev].small);
				a->devs[dev].small = NULL;
			}
			return -ENOMEM;
		}
	}
	a->pages = true;
	return 0;
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
		    __u64 gran, struct fbs_dev_range *twice)
{
	const __u64 mask = gran - 1;
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
