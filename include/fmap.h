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
 *    (1 << chunk_shift) bytes dealt round-robin over nstrips =
 *    (1 << strip_shift) strips; chunk c (counted from the extent start) is
 *    on strip (c & (nstrips - 1)) at
 *    strips[s].dev_off + ((c >> strip_shift) << chunk_shift).
 * Power-of-two strip counts keep resolution to shifts and masks: BPF and
 * the fault path never divide by a runtime value.
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

#define FMAP_MAX_STRIP_SHIFT	4
#define FMAP_MAX_STRIPS		(1 << FMAP_MAX_STRIP_SHIFT)
#define FMAP_MIN_CHUNK_SHIFT	12	/* a chunk is at least a page */
#define FMAP_MAX_CHUNK_SHIFT	30
#define FMAP_MAX_SIMPLE		256	/* simple extents per file */
#define FMAP_MAX_ILEAVE		4	/* interleaved extents per file */
/* binary search steps that cover FMAP_MAX_SIMPLE: ceil(log2(256)) + 1 */
#define FMAP_SIMPLE_SEARCH_STEPS 9

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
	__u8 strip_shift;
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

/*
 * Resolve @off inside one interleaved extent, O(1).  The mapping runs to
 * the end of the chunk holding @off, clipped at the end of the extent.
 * Expects an extent that passed fmap_ileave_check(); the shifts are masked
 * anyway so that a bad one cannot make the BPF program shift out of range.
 */
static __always_inline int fmap_ileave_resolve(const struct fmap_ileave_ext *ie,
					       __u64 off, struct fmap_mapping *m)
{
	__u32 strip_shift = ie->strip_shift & 0xf;
	__u32 chunk_shift = ie->chunk_shift & 0x3f;
	__u64 rel, chunk, in_chunk, left_in_ext, left_in_chunk;
	__u32 strip;

	if (off < ie->file_off || off - ie->file_off >= ie->len)
		return -FMAP_ENXIO;
	if (strip_shift > FMAP_MAX_STRIP_SHIFT)
		return -FMAP_EINVAL;
	rel = off - ie->file_off;
	chunk = rel >> chunk_shift;
	in_chunk = rel & ((1ULL << chunk_shift) - 1);
	strip = chunk & ((1U << strip_shift) - 1);
	/* a constant-bounded index for the verifier */
	strip &= FMAP_MAX_STRIPS - 1;

	left_in_chunk = (1ULL << chunk_shift) - in_chunk;
	left_in_ext = ie->len - rel;
	m->file_off = off;
	m->len = left_in_chunk < left_in_ext ? left_in_chunk : left_in_ext;
	m->dev = ie->strips[strip].dev;
	m->dev_off = ie->strips[strip].dev_off +
		     ((chunk >> strip_shift) << chunk_shift) + in_chunk;
	m->pad = 0;
	return 0;
}

/*
 * Resolve @off among @n simple extents sorted by file_off, O(log n).  Gaps
 * between extents are allowed (-FMAP_ENXIO there).  The mapping runs to the
 * end of the extent.
 */
static __always_inline int fmap_simple_resolve(const struct fmap_simple_ext *ext,
					       __u32 n, __u64 off,
					       struct fmap_mapping *m)
{
	__u32 lo = 0, hi = n, mid, i;
	const struct fmap_simple_ext *e;

	if (n == 0 || n > FMAP_MAX_SIMPLE)
		return -FMAP_EINVAL;
	/* find the last extent with file_off <= off: invariant lo < hi */
	for (i = 0; i < FMAP_SIMPLE_SEARCH_STEPS && hi - lo > 1; i++) {
		mid = lo + (hi - lo) / 2;	/* constant divisor: a shift */
		if (mid >= FMAP_MAX_SIMPLE)
			break;
		if (ext[mid].file_off <= off)
			lo = mid;
		else
			hi = mid;
	}
	if (lo >= FMAP_MAX_SIMPLE)
		return -FMAP_EINVAL;
	e = &ext[lo];
	if (off < e->file_off || off - e->file_off >= e->len)
		return -FMAP_ENXIO;
	m->file_off = off;
	m->len = e->len - (off - e->file_off);
	m->dev = e->dev;
	m->dev_off = e->dev_off + (off - e->file_off);
	m->pad = 0;
	return 0;
}

/* Resolve @off among @n interleaved extents (a file has few: linear). */
static __always_inline int fmap_ileave_find_resolve(const struct fmap_ileave_ext *ie,
						    __u32 n, __u64 off,
						    struct fmap_mapping *m)
{
	__u32 i;

	if (n == 0 || n > FMAP_MAX_ILEAVE)
		return -FMAP_EINVAL;
	for (i = 0; i < FMAP_MAX_ILEAVE && i < n; i++) {
		if (off >= ie[i].file_off && off - ie[i].file_off < ie[i].len)
			return fmap_ileave_resolve(&ie[i], off, m);
	}
	return -FMAP_ENXIO;
}

/*
 * Bytes of the extent that land on strip @strip: whole stripes, plus a full
 * chunk for strips before the partial last stripe, plus the tail chunk.
 */
static __always_inline __u64 fmap_ileave_strip_bytes(const struct fmap_ileave_ext *ie,
						     __u32 strip)
{
	__u32 strip_shift = ie->strip_shift & 0xf;
	__u32 chunk_shift = ie->chunk_shift & 0x3f;
	__u64 chunk = 1ULL << chunk_shift;
	__u64 nchunks = ie->len >> chunk_shift;
	__u64 tail = ie->len & (chunk - 1);
	__u64 stripes = nchunks >> strip_shift;
	__u32 extra = nchunks & ((1U << strip_shift) - 1);
	__u64 bytes = stripes << chunk_shift;

	if (strip >= (1U << strip_shift))
		return 0;
	if (strip < extra)
		bytes += chunk;
	else if (strip == extra)
		bytes += tail;
	return bytes;
}

/*
 * Validate one interleaved extent from untrusted input (on-media metadata,
 * a configuration): shifts in range, nonzero length, padding zero, no u64
 * overflow of the file range or of any strip's device range.
 */
static __always_inline int fmap_ileave_check(const struct fmap_ileave_ext *ie)
{
	__u32 s, nstrips;

	if (ie->strip_shift > FMAP_MAX_STRIP_SHIFT ||
	    ie->chunk_shift < FMAP_MIN_CHUNK_SHIFT ||
	    ie->chunk_shift > FMAP_MAX_CHUNK_SHIFT ||
	    ie->len == 0 || ie->pad1 || ie->pad2)
		return -FMAP_EINVAL;
	if (ie->file_off + ie->len < ie->file_off)
		return -FMAP_ERANGE;
	nstrips = 1U << ie->strip_shift;
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
	__u32 i;

	if (n == 0 || n > FMAP_MAX_SIMPLE)
		return -FMAP_EINVAL;
	for (i = 0; i < FMAP_MAX_SIMPLE && i < n; i++) {
		if (e[i].len == 0 || e[i].pad)
			return -FMAP_EINVAL;
		if (e[i].file_off + e[i].len < e[i].file_off ||
		    e[i].dev_off + e[i].len < e[i].dev_off)
			return -FMAP_ERANGE;
		if (i && e[i].file_off < e[i - 1].file_off + e[i - 1].len)
			return -FMAP_EINVAL;
	}
	return 0;
}

#endif /* FAMFS_BPF_FMAP_H */
