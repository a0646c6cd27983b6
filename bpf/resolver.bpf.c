// SPDX-License-Identifier: GPL-2.0
/*
 * The famfs-bpf resolver: a fuse_fmap_ops struct_ops program that the
 * kernel calls on a mapping-cache miss of a mapped file, under RCU (not
 * sleepable), with the query (nodeid, pos, length, i_size, op flags) and a
 * zeroed struct fuse_fmap_reply, the only thing it may write.
 *
 * It finds the file's descriptor without hashing: the low bits of the
 * node id index `slots` (slot -> descriptor index), which names an entry
 * of `descs` (filled by the server through bpf/loader.c); it checks that
 * the descriptor names the nodeid asked for,
 * then the mapping of the page at query->pos through
 * include/fmap.h, the same code the server and the tests use, in the
 * file's simple extents first, then in its interleaved ones (a file may
 * have both; they never cover the same page):
 *   - simple extents: O(1) for uniform layouts, else a binary search of at
 *     most FMAP_SEARCH_STEPS map reads over the file's slice of simple_exts;
 *   - interleaved extents: the extent holding the page, one of at most
 *     FMAP_MAX_ILEAVE of ileave_exts, answered whole
 *     (FUSE_FMAP_TYPE_INTERLEAVED): the kernel caches it and computes the
 *     chunks, so the program runs once per extent, not once per chunk.
 * It answers FUSE_FMAP_RESOLVE_FALLBACK, so the server decides, for files
 * it does not know, offsets in no extent (holes; writes there need the
 * server to allocate) and extents that are not page aligned.  Whatever it
 * answers, the kernel validates like a server reply.
 *
 * The loader writes a new slice before it points a descriptor at it and
 * frees an old slice only after the kernel has invalidated its mappings,
 * so a descriptor never names extents that are being rewritten.  A
 * descriptor itself is never rewritten while a program may read it: the
 * loader writes a new one and switches the file's slot to it with one
 * store, and reuses the old one after a grace period (resolver_common.h).
 * Two files whose node ids share their low bits cannot both have the slot:
 * the loader refuses the second, whose misses go by upcall (counted as
 * other_file here), and a program that reads a slot reused by another
 * file finds that file's descriptor, which the nodeid check refuses.
 *
 * Node ids are the server's: the daemon's are its inode numbers, handed
 * out in order (ns.c: the highest + 1) and never reused, so the files
 * of a mount share no slot unless two live ones are a multiple of the
 * slots' size apart.  A server that hands out node ids of its own (a slot
 * in the low bits, a generation above) never shares one.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "fmap.h"
#include "resolver_common.h"

/* UAPI constants: #defines, so not in vmlinux.h */
#define FUSE_FMAP_RESOLVE_HANDLED	0
#define FUSE_FMAP_RESOLVE_FALLBACK	1
#define FUSE_FMAP_OP_WRITE		(1 << 0)
#define FUSE_FMAP_TYPE_MAPPED		1
#define FUSE_FMAP_TYPE_INTERLEAVED	4
#define FAMFS_PAGE_SIZE			4096ULL

/*
 * The slot of a node id is its low bits: slots has a power of two entries,
 * this many minus 1 (set by the loader before load; read-only, so the
 * verifier knows the index is in range).
 */
const volatile __u32 slot_mask = FAMFS_DEF_MAX_FILES - 1;

/*
 * slot (nodeid & slot_mask) -> index of the file's descriptor in `descs`
 * (FAMFS_NO_DESC: none).
 * mmap'ed by the loader, which switches a file to a new descriptor with
 * one aligned 8-byte store.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, FAMFS_DEF_MAX_FILES);
	__type(key, __u32);
	__type(value, __u64);
} slots SEC(".maps");

/*
 * Descriptors, written whole before a slot names them, never in place.
 * The extent arrays below are mmap'ed by the loader too: it copies a
 * slice in with memcpy (no bpf() call per file) before a descriptor
 * names it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, FAMFS_DESCS(FAMFS_DEF_MAX_FILES));
	__type(key, __u32);
	__type(value, struct famfs_file);
} descs SEC(".maps");

/*
 * Simple extents: one global array in a data section of its own (a
 * one-entry ARRAY map, mmap'ed by the loader too, pinned as simple_exts),
 * so that the search indexes it as C does.  A map lookup per step of the
 * binary search made the BPF resolver 1.3x the built-in one over files of
 * 10 to 1000 extents in the bench.  Its size is fixed (8 MiB, the loader's
 * most), so the index mask is an immediate, not a load per step.
 */
struct fmap_simple_ext simple_exts[FAMFS_SIMPLE_CAP] SEC(".bss.simple");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, FAMFS_DEF_MAX_ILEAVE);
	__type(key, __u32);
	__type(value, struct fmap_ileave_ext);
} ileave_exts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct famfs_resolver_stats);
} stats SEC(".maps");

/* Accessors for include/fmap.h: extent @i of the slice that starts at @first */
static __always_inline const struct fmap_simple_ext *simple_get(__u32 first, __u32 i)
{
	return &simple_exts[(first + i) & (FAMFS_SIMPLE_CAP - 1)];
}

static __always_inline const struct fmap_ileave_ext *ileave_get(__u32 first, __u32 i)
{
	__u32 key = first + i;

	return bpf_map_lookup_elem(&ileave_exts, &key);
}

FMAP_DEFINE_SIMPLE_SEARCH(simple_search, __u32, simple_get)
FMAP_DEFINE_SIMPLE_UNIFORM(simple_uniform, __u32, simple_get)
/*
 * The interleaved extent of the slice at @first that holds @pos; NULL with
 * -FMAP_ENXIO (in no extent) or -FMAP_EINVAL (unreadable slice) in @err.
 */
static __always_inline const struct fmap_ileave_ext *
ileave_ext(__u32 first, __u32 n, __u64 pos, int *err)
{
	const struct fmap_ileave_ext *ie;
	__u32 i;

	*err = -FMAP_EINVAL;
	if (n == 0 || n > FMAP_MAX_ILEAVE)
		return NULL;
	for (i = 0; i < FMAP_MAX_ILEAVE && i < n; i++) {
		ie = ileave_get(first, i);
		if (!ie)
			return NULL;
		if (pos >= ie->file_off && pos - ie->file_off < ie->len)
			return ie;
	}
	*err = -FMAP_ENXIO;
	return NULL;
}

/*
 * @ie as one FUSE_FMAP_TYPE_INTERLEAVED answer.  The verifier lets the
 * program write the reply at constant offsets only: the strip loop is
 * unrolled.  The kernel checks the geometry and every strip.
 */
static __always_inline void ileave_answer(const struct fmap_ileave_ext *ie,
					  struct fuse_fmap_reply *reply)
{
	/* checked by the caller (1 to FMAP_MAX_STRIPS) */
	__u32 nstrips = ie->nstrips;
	__u32 s;

	reply->out.offset = ie->file_off;
	reply->out.length = ie->len;
	reply->out.type = FUSE_FMAP_TYPE_INTERLEAVED;
	reply->interleave.length = ie->len;
	reply->interleave.nstrips = ie->nstrips;
	reply->interleave.chunk_shift = ie->chunk_shift;
#pragma unroll
	for (s = 0; s < FMAP_MAX_STRIPS; s++) {
		if (s < nstrips) {
			reply->strips[s].dev_id = ie->strips[s].dev;
			reply->strips[s].dev_offset = ie->strips[s].dev_off;
		}
	}
}

#define COUNT(field) do {						\
	__u32 ___zero = 0;						\
	struct famfs_resolver_stats *___st =				\
		bpf_map_lookup_elem(&stats, &___zero);			\
	if (___st)							\
		___st->field++;		/* per CPU: no atomics */	\
} while (0)

/*
 * The page at @pos: in the file's simple extents (a mapping into @m, 0),
 * else its interleaved ones (the extent holding it into *@ie, 0), else
 * -FMAP_ENXIO (a hole); -FMAP_EINVAL for a slice that cannot be read.
 */
static __always_inline int find(const struct famfs_file *f, __u64 pos,
				struct fmap_mapping *m,
				const struct fmap_ileave_ext **ie)
{
	__u32 nsimple = f->nsimple, nileave = f->nileave;
	int err = -FMAP_ENXIO;

	*ie = NULL;
	if (nsimple && f->uniform_shift)
		err = simple_uniform(f->simple_first, nsimple, f->uniform_shift,
				     pos, m);
	else if (nsimple)
		err = simple_search(f->simple_first, nsimple, pos, m);
	if (err != -FMAP_ENXIO || !nileave)
		return err;
	*ie = ileave_ext(f->ileave_first, nileave, pos, &err);
	return *ie ? 0 : err;
}

SEC("struct_ops/resolve")
int BPF_PROG(famfs_resolve, const struct fuse_fmap_query *query,
	     struct fuse_fmap_reply *reply)
{
	struct fuse_fmap_out *out = &reply->out;
	__u64 nodeid = query->nodeid;
	__u64 pos = query->pos & ~(FAMFS_PAGE_SIZE - 1);
	const struct fmap_ileave_ext *ie;
	const struct famfs_file *f;
	struct fmap_mapping m;
	const __u64 *idx;
	__u32 s, d;
	__u64 v;
	int err;

	s = nodeid & slot_mask;
	idx = bpf_map_lookup_elem(&slots, &s);
	if (!idx) {
		COUNT(bad_slice);	/* the mask is the array's size: a bug */
		return FUSE_FMAP_RESOLVE_FALLBACK;
	}
	/* read once: the loader may switch it meanwhile */
	v = *(volatile const __u64 *)idx;
	if (v == FAMFS_NO_DESC) {
		COUNT(unknown_file);
		return FUSE_FMAP_RESOLVE_FALLBACK;
	}
	d = v;
	/* past the array: the lookup says NULL */
	f = v > 0xffffffffULL ? NULL : bpf_map_lookup_elem(&descs, &d);
	/* the slot is another file's (or was reused meanwhile) */
	if (!f || f->nodeid != nodeid) {
		COUNT(other_file);
		return FUSE_FMAP_RESOLVE_FALLBACK;
	}
	err = find(f, pos, &m, &ie);
	if (err == -FMAP_ENXIO) {
		if (query->op_flags & FUSE_FMAP_OP_WRITE)
			COUNT(needs_alloc);
		else
			COUNT(hole);
		return FUSE_FMAP_RESOLVE_FALLBACK;
	}
	if (err || (ie && !fmap_ileave_nstrips(ie))) {
		COUNT(bad_slice);
		return FUSE_FMAP_RESOLVE_FALLBACK;
	}
	if (ie) {
		/* the extent whole: the kernel caches it and computes the chunks */
		if ((ie->file_off | ie->len) & (FAMFS_PAGE_SIZE - 1)) {
			COUNT(unaligned);
			return FUSE_FMAP_RESOLVE_FALLBACK;
		}
		ileave_answer(ie, reply);
		COUNT(handled);
		return FUSE_FMAP_RESOLVE_HANDLED;
	}
	if ((m.file_off | m.len | m.dev_off) & (FAMFS_PAGE_SIZE - 1)) {
		COUNT(unaligned);
		return FUSE_FMAP_RESOLVE_FALLBACK;
	}
	out->offset = m.file_off;
	out->length = m.len;
	out->dev_offset = m.dev_off;
	out->dev_id = m.dev;
	out->type = FUSE_FMAP_TYPE_MAPPED;
	COUNT(handled);
	return FUSE_FMAP_RESOLVE_HANDLED;
}

SEC(".struct_ops.link")
struct fuse_fmap_ops famfs_ops = {
	.resolve = (void *)famfs_resolve,
	.name = FAMFS_OPS_NAME,
};

char LICENSE[] SEC("license") = "GPL";
