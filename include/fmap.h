/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * fmap.h: famfs extent resolution, header-only.
 *
 * One definition of "file offset -> (device, device offset, length)" for
 * the BPF resolver, the server (FUSE_FMAP replies, getmap, fsck) and the
 * tests, which use it as the reference.  The kernel's built-in resolver is
 * a separate C implementation that the tests compare against this one.
 *
 * Two kinds of extent, with famfs semantics:
 *  - simple: file [file_off, file_off + len) is at dev:dev_off;
 *  - interleaved: file [file_off, file_off + len) is cut into chunks of
 *    (1 << chunk_shift) bytes dealt round-robin over nstrips (1 to
 *    FMAP_MAX_STRIPS, any count: three devices stripe over all three)
 *    strips; chunk c (counted from the extent start) is on strip
 *    (c % nstrips) at strips[s].dev_off + ((c / nstrips) << chunk_shift).
 * Chunks are a power of two, so a resolve costs one division (of the chunk
 * number by nstrips; BPF has u64 division by a register).
 *
 * Cost: interleaved O(1); simple O(log n) by binary search over up to
 * FMAP_MAX_SIMPLE extents, O(1) for uniform layouts (every extent but the
 * last one power-of-two size).  The searches are written once, over an
 * accessor (FMAP_DEFINE_*), and instantiated for C arrays here and for
 * BPF ARRAY maps in bpf/resolver.bpf.c.  Every index into a C array is
 * masked, so the BPF verifier can bound every access.
 *
 * Compiles as BPF (after vmlinux.h: no libc, bounded loops) and as C11.
 * Errors are negative errno values; BPF has no errno.h, hence FMAP_E*.
 */
#ifndef FAMFS_BPF_FMAP_H
#define FAMFS_BPF_FMAP_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((__always_inline__))
#endif

#define FMAP_ENXIO		6	/* offset in no extent */
#define FMAP_EINVAL		22	/* malformed extent */
#define FMAP_ERANGE		34	/* extent arithmetic overflows */

#define FMAP_MAX_STRIPS		16	/* a power of two: strip indexes are masked */
#define FMAP_MIN_CHUNK_SHIFT	12	/* a chunk is at least a page */
#define FMAP_MAX_CHUNK_SHIFT	30
#define FMAP_MAX_ILEAVE		4	/* interleaved extents per file */

/*
 * Simple extents per file.  A file's simple extents need not be a C array:
 * the BPF resolver reads them one by one from an ARRAY map, so every search
 * below is written once over an accessor (FMAP_DEFINE_*).
 */
#define FMAP_MAX_SIMPLE_SHIFT	20
#define FMAP_MAX_SIMPLE		(1U << FMAP_MAX_SIMPLE_SHIFT)
/*
 * Steps of the binary search: each one at least halves the candidates,
 * rounding up, so log2(FMAP_MAX_SIMPLE) steps leave one of FMAP_MAX_SIMPLE.
 */
#define FMAP_SEARCH_STEPS	FMAP_MAX_SIMPLE_SHIFT

/*
 * Uniform simple layouts (the layout famfs uses for unrolled interleaving):
 * extent i starts at file offset i << shift and every extent but the last
 * is (1 << shift) bytes long, so the extent of @off is off >> shift.
 */
#define FMAP_MIN_UNIFORM_SHIFT	FMAP_MIN_CHUNK_SHIFT
#define FMAP_MAX_UNIFORM_SHIFT	FMAP_MAX_CHUNK_SHIFT

/*
 * Capacity of a C array of simple extents given to the array functions
 * (fmap_simple_resolve() and friends), a power of two: indexes are masked
 * with it so that BPF code may pass a C array (a global, a map value).  Such
 * code defines it to its array's size before including this header.
 */
#ifndef FMAP_ARRAY_CAP
#define FMAP_ARRAY_CAP		FMAP_MAX_SIMPLE
#endif
_Static_assert((FMAP_ARRAY_CAP & (FMAP_ARRAY_CAP - 1)) == 0 &&
	       FMAP_ARRAY_CAP <= FMAP_MAX_SIMPLE,
	       "FMAP_ARRAY_CAP: a power of two, at most FMAP_MAX_SIMPLE");
_Static_assert((FMAP_MAX_ILEAVE & (FMAP_MAX_ILEAVE - 1)) == 0,
	       "FMAP_MAX_ILEAVE: a power of two (indexes are masked)");
_Static_assert((FMAP_MAX_STRIPS & (FMAP_MAX_STRIPS - 1)) == 0,
	       "FMAP_MAX_STRIPS: a power of two (indexes are masked)");

struct fmap_strip {
	__u64 dev_off;
	__u32 dev;
	__u32 pad;
};

struct fmap_simple_ext {
	__u64 file_off;
	__u64 len;
	__u64 dev_off;
	__u32 dev;
	__u32 pad;
};

struct fmap_ileave_ext {
	__u64 file_off;
	__u64 len;
	__u8 nstrips;		/* 1 to FMAP_MAX_STRIPS */
	__u8 chunk_shift;
	__u16 pad1;
	__u32 pad2;
	struct fmap_strip strips[FMAP_MAX_STRIPS];
};

/* file [file_off, file_off + len) is at dev:dev_off */
struct fmap_mapping {
	__u64 file_off;
	__u64 len;
	__u64 dev_off;
	__u32 dev;
	__u32 pad;
};

/* nstrips of @ie if in range (1 to FMAP_MAX_STRIPS), else 0 */
static __always_inline __u32 fmap_ileave_nstrips(const struct fmap_ileave_ext *ie)
{
	__u32 nstrips = ie->nstrips;

	return nstrips >= 1 && nstrips <= FMAP_MAX_STRIPS ? nstrips : 0;
}

/*
 * Resolve @off inside one interleaved extent, O(1), one division.  The
 * mapping runs to the end of the chunk holding @off, clipped at the end of
 * the extent.  Expects an extent that passed fmap_ileave_check(); the
 * shift is masked and nstrips checked anyway so that a bad one cannot make
 * the BPF program shift out of range, divide by zero or index past strips.
 */
static __always_inline int fmap_ileave_resolve(const struct fmap_ileave_ext *ie,
					       __u64 off, struct fmap_mapping *m)
{
	__u32 nstrips = fmap_ileave_nstrips(ie);
	__u32 chunk_shift = ie->chunk_shift & 0x3f;
	__u64 rel, chunk, row, in_chunk, left_in_ext, left_in_chunk;
	__u32 strip;

	if (off < ie->file_off || off - ie->file_off >= ie->len)
		return -FMAP_ENXIO;
	if (!nstrips)
		return -FMAP_EINVAL;
	rel = off - ie->file_off;
	chunk = rel >> chunk_shift;
	in_chunk = rel & ((1ULL << chunk_shift) - 1);
	row = chunk / nstrips;
	strip = (__u32)(chunk - row * nstrips);
	/* < nstrips <= FMAP_MAX_STRIPS; the mask bounds it for the verifier */
	strip &= FMAP_MAX_STRIPS - 1;

	left_in_chunk = (1ULL << chunk_shift) - in_chunk;
	left_in_ext = ie->len - rel;
	m->file_off = off;
	m->len = left_in_chunk < left_in_ext ? left_in_chunk : left_in_ext;
	m->dev = ie->strips[strip].dev;
	m->dev_off = ie->strips[strip].dev_off + (row << chunk_shift) + in_chunk;
	m->pad = 0;
	return 0;
}

/*
 * Map @off through one simple extent: file [file_off, file_off + len) is at
 * dev:dev_off; the mapping runs to the end of the extent.
 */
static __always_inline int fmap_simple_map(const struct fmap_simple_ext *e,
					   __u64 off, struct fmap_mapping *m)
{
	if (off < e->file_off || off - e->file_off >= e->len)
		return -FMAP_ENXIO;
	m->file_off = off;
	m->len = e->len - (off - e->file_off);
	m->dev = e->dev;
	m->dev_off = e->dev_off + (off - e->file_off);
	m->pad = 0;
	return 0;
}

/*
 * FMAP_DEFINE_SIMPLE_SEARCH(name, ctx_t, get) defines
 *
 *   int name(ctx_t ctx, __u32 n, __u64 off, struct fmap_mapping *m);
 *
 * which resolves @off among @n simple extents sorted by file_off, in at
 * most FMAP_SEARCH_STEPS + 1 calls of get(ctx, i): a const struct
 * fmap_simple_ext * for extent i < n, or NULL when it cannot be read (then
 * -FMAP_EINVAL).  Gaps between extents are allowed (-FMAP_ENXIO there).
 *
 * The search keeps [base, base + len) holding the last extent with
 * file_off <= off (extent 0 when there is none): the probe at base + half
 * either becomes the new base or bounds the range from above, and len
 * shrinks to len - half = ceil(len / 2) either way.  len does not depend
 * on the data, which keeps the verifier's state count linear in the steps.
 */
#define FMAP_DEFINE_SIMPLE_SEARCH(name, ctx_t, get)			\
static __always_inline int name(ctx_t ctx, __u32 n, __u64 off,		\
				struct fmap_mapping *m)			\
{									\
	const struct fmap_simple_ext *e;				\
	__u32 base = 0, len = n, half, i;				\
									\
	if (n == 0 || n > FMAP_MAX_SIMPLE)				\
		return -FMAP_EINVAL;					\
	for (i = 0; i < FMAP_SEARCH_STEPS && len > 1; i++) {		\
		half = len >> 1;					\
		e = get(ctx, base + half);				\
		if (!e)							\
			return -FMAP_EINVAL;				\
		if (e->file_off <= off)					\
			base += half;					\
		len -= half;						\
	}								\
	e = get(ctx, base);						\
	if (!e)								\
		return -FMAP_EINVAL;					\
	return fmap_simple_map(e, off, m);				\
}

/*
 * FMAP_DEFINE_SIMPLE_UNIFORM(name, ctx_t, get) defines
 *
 *   int name(ctx_t ctx, __u32 n, __u32 shift, __u64 off,
 *	      struct fmap_mapping *m);
 *
 * which resolves @off in O(1), one get(), among @n simple extents that
 * fmap_simple_uniform_shift() found uniform with @shift: extent
 * off >> shift, or the last one for offsets beyond it.
 */
#define FMAP_DEFINE_SIMPLE_UNIFORM(name, ctx_t, get)			\
static __always_inline int name(ctx_t ctx, __u32 n, __u32 shift,	\
				__u64 off, struct fmap_mapping *m)	\
{									\
	const struct fmap_simple_ext *e;				\
	__u64 idx;							\
									\
	if (n == 0 || n > FMAP_MAX_SIMPLE ||				\
	    shift < FMAP_MIN_UNIFORM_SHIFT ||				\
	    shift > FMAP_MAX_UNIFORM_SHIFT)				\
		return -FMAP_EINVAL;					\
	idx = off >> (shift & 63);					\
	if (idx >= n)							\
		idx = n - 1;						\
	e = get(ctx, (__u32)idx);					\
	if (!e)								\
		return -FMAP_EINVAL;					\
	return fmap_simple_map(e, off, m);				\
}

/*
 * FMAP_DEFINE_ILEAVE_FIND(name, ctx_t, get) defines
 *
 *   int name(ctx_t ctx, __u32 n, __u64 off, struct fmap_mapping *m);
 *
 * which resolves @off among @n interleaved extents (a file has at most
 * FMAP_MAX_ILEAVE: linear), get(ctx, i) giving a const struct
 * fmap_ileave_ext * or NULL.
 */
#define FMAP_DEFINE_ILEAVE_FIND(name, ctx_t, get)			\
static __always_inline int name(ctx_t ctx, __u32 n, __u64 off,		\
				struct fmap_mapping *m)			\
{									\
	const struct fmap_ileave_ext *ie;				\
	__u32 i;							\
									\
	if (n == 0 || n > FMAP_MAX_ILEAVE)				\
		return -FMAP_EINVAL;					\
	for (i = 0; i < FMAP_MAX_ILEAVE && i < n; i++) {		\
		ie = get(ctx, i);					\
		if (!ie)						\
			return -FMAP_EINVAL;				\
		if (off >= ie->file_off && off - ie->file_off < ie->len) \
			return fmap_ileave_resolve(ie, off, m);		\
	}								\
	return -FMAP_ENXIO;						\
}

/* C arrays: indexes masked into FMAP_ARRAY_CAP (see there). */
static __always_inline const struct fmap_simple_ext *
fmap_simple_at(const struct fmap_simple_ext *ext, __u32 i)
{
	return &ext[i & (FMAP_ARRAY_CAP - 1)];
}

static __always_inline const struct fmap_ileave_ext *
fmap_ileave_at(const struct fmap_ileave_ext *ie, __u32 i)
{
	return &ie[i & (FMAP_MAX_ILEAVE - 1)];
}

FMAP_DEFINE_SIMPLE_SEARCH(fmap_simple_search_array,
			  const struct fmap_simple_ext *, fmap_simple_at)
FMAP_DEFINE_SIMPLE_UNIFORM(fmap_simple_uniform_array,
			   const struct fmap_simple_ext *, fmap_simple_at)
FMAP_DEFINE_ILEAVE_FIND(fmap_ileave_find_resolve,
			const struct fmap_ileave_ext *, fmap_ileave_at)

/*
 * Resolve @off among the @n simple extents of array @ext, sorted by
 * file_off, O(log n).  The mapping runs to the end of the extent.
 */
static __always_inline int fmap_simple_resolve(const struct fmap_simple_ext *ext,
					       __u32 n, __u64 off,
					       struct fmap_mapping *m)
{
	if (n > FMAP_ARRAY_CAP)
		return -FMAP_EINVAL;
	return fmap_simple_search_array(ext, n, off, m);
}

/* The same for a uniform layout of @shift (fmap_simple_uniform_shift()), O(1). */
static __always_inline int fmap_simple_uniform_resolve(const struct fmap_simple_ext *ext,
						       __u32 n, __u32 shift,
						       __u64 off,
						       struct fmap_mapping *m)
{
	if (n > FMAP_ARRAY_CAP)
		return -FMAP_EINVAL;
	return fmap_simple_uniform_array(ext, n, shift, off, m);
}

/*
 * The shift of a uniform layout (see FMAP_MIN_UNIFORM_SHIFT): at least two
 * extents, extent i at file offset i << shift, all but the last
 * (1 << shift) long.  0 when @ext is not uniform.  O(n): for whoever loads
 * a layout, not for the resolver.
 */
static __always_inline __u32 fmap_simple_uniform_shift(const struct fmap_simple_ext *ext,
							__u32 n)
{
	__u64 len = ext[0].len;
	__u32 shift, i;

	if (n < 2 || n > FMAP_ARRAY_CAP || ext[0].file_off)
		return 0;
	/* no ctz: BPF has no such instruction */
	for (shift = FMAP_MIN_UNIFORM_SHIFT; shift <= FMAP_MAX_UNIFORM_SHIFT; shift++)
		if (len == 1ULL << shift)
			break;
	if (shift > FMAP_MAX_UNIFORM_SHIFT)
		return 0;
	for (i = 1; i < FMAP_ARRAY_CAP && i < n; i++) {
		const struct fmap_simple_ext *e = fmap_simple_at(ext, i);

		if (e->file_off != (__u64)i << shift)
			return 0;
		if (i < n - 1 && e->len != len)
			return 0;
	}
	return shift;
}

/*
 * Bytes of the extent that land on strip @strip: whole stripes, plus a full
 * chunk for strips before the partial last stripe, plus the tail chunk.
 */
static __always_inline __u64 fmap_ileave_strip_bytes(const struct fmap_ileave_ext *ie,
						     __u32 strip)
{
	__u32 nstrips = fmap_ileave_nstrips(ie);
	__u32 chunk_shift = ie->chunk_shift & 0x3f;
	__u64 chunk = 1ULL << chunk_shift;
	__u64 nchunks = ie->len >> chunk_shift;
	__u64 tail = ie->len & (chunk - 1);
	__u64 stripes, bytes;
	__u32 extra;

	if (strip >= nstrips)
		return 0;
	stripes = nchunks / nstrips;
	extra = (__u32)(nchunks - stripes * nstrips);
	bytes = stripes << chunk_shift;
	if (strip < extra)
		bytes += chunk;
	else if (strip == extra)
		bytes += tail;
	return bytes;
}

/*
 * Does @next continue @prev exactly, so that the pair is one interleaved
 * extent [prev->file_off, next->file_off + next->len)?  Same strip count,
 * chunk size and device per strip; @next starts in the file where @prev
 * ends; @prev is whole stripes (len a multiple of nstrips << chunk_shift,
 * so the chunk numbering carries on into @next: chunk c of @next is chunk
 * c + prev->len / chunk of the pair, on the same strip); and each strip of
 * @next starts on its device where @prev's strip ends,
 * strips[s].dev_off + prev->len / nstrips.  Then the merged extent
 * (@prev with len prev->len + next->len) resolves every offset as the
 * pair does, and each strip's bytes are the sum of the two.  1 or 0.
 * Expects extents that passed fmap_ileave_check(); 0 when the merged
 * length would overflow.  Readers use it to merge what writers appended
 * piece by piece (include/FORMAT.md).
 */
static __always_inline int fmap_ileave_continues(const struct fmap_ileave_ext *prev,
						 const struct fmap_ileave_ext *next)
{
	__u32 nstrips = fmap_ileave_nstrips(prev);
	__u32 chunk_shift = prev->chunk_shift & 0x3f;
	__u64 stripe, strip_len;
	__u32 s;

	/* a stripe of 16 << 60 would wrap to 0, and % 0 traps */
	if (!nstrips || chunk_shift > FMAP_MAX_CHUNK_SHIFT ||
	    next->nstrips != prev->nstrips ||
	    next->chunk_shift != prev->chunk_shift ||
	    prev->file_off + prev->len != next->file_off ||
	    prev->len + next->len < prev->len)
		return 0;
	stripe = (__u64)nstrips << chunk_shift;
	if (prev->len % stripe)
		return 0;
	strip_len = prev->len / nstrips;
	for (s = 0; s < FMAP_MAX_STRIPS; s++) {
		if (s >= nstrips)
			break;
		if (next->strips[s].dev != prev->strips[s].dev ||
		    next->strips[s].dev_off != prev->strips[s].dev_off + strip_len)
			return 0;
	}
	return 1;
}

/*
 * Validate one interleaved extent from untrusted input (on-media metadata,
 * a configuration): nstrips 1 to FMAP_MAX_STRIPS, chunk shift in range,
 * nonzero length, padding zero, no u64 overflow of the file range or of any
 * strip's device range.
 */
static __always_inline int fmap_ileave_check(const struct fmap_ileave_ext *ie)
{
	__u32 s, nstrips = fmap_ileave_nstrips(ie);

	if (!nstrips ||
	    ie->chunk_shift < FMAP_MIN_CHUNK_SHIFT ||
	    ie->chunk_shift > FMAP_MAX_CHUNK_SHIFT ||
	    ie->len == 0 || ie->pad1 || ie->pad2)
		return -FMAP_EINVAL;
	if (ie->file_off + ie->len < ie->file_off)
		return -FMAP_ERANGE;
	for (s = 0; s < FMAP_MAX_STRIPS; s++) {
		const struct fmap_strip *st = &ie->strips[s];

		if (s >= nstrips) {
			/* unused strips stay zero: one encoding per layout */
			if (st->dev_off || st->dev || st->pad)
				return -FMAP_EINVAL;
			continue;
		}
		if (st->pad)
			return -FMAP_EINVAL;
		if (st->dev_off + fmap_ileave_strip_bytes(ie, s) < st->dev_off)
			return -FMAP_ERANGE;
	}
	return 0;
}

/*
 * Validate @n simple extents from untrusted input: count in range, sorted,
 * not overlapping, nonzero lengths, padding zero, no u64 overflow.
 */
static __always_inline int fmap_simple_check(const struct fmap_simple_ext *e,
					     __u32 n)
{
	__u64 prev_end = 0;
	__u32 i;

	if (n == 0 || n > FMAP_MAX_SIMPLE || n > FMAP_ARRAY_CAP)
		return -FMAP_EINVAL;
	for (i = 0; i < FMAP_ARRAY_CAP && i < n; i++) {
		const struct fmap_simple_ext *x = fmap_simple_at(e, i);

		if (x->len == 0 || x->pad)
			return -FMAP_EINVAL;
		if (x->file_off + x->len < x->file_off ||
		    x->dev_off + x->len < x->dev_off)
			return -FMAP_ERANGE;
		if (i && x->file_off < prev_end)
			return -FMAP_EINVAL;
		prev_end = x->file_off + x->len;
	}
	return 0;
}

#endif /* FAMFS_BPF_FMAP_H */
