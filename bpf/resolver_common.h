/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Types the BPF resolver (resolver.bpf.c) and its loader (loader.c) share:
 * the keys and values of its maps, and their limits.  Fixed-width types
 * only; the extents themselves are include/fmap.h's, with device numbers
 * that are the kernel's device ids (FUSE_DEV_IOC_BACKING_OPEN), not the
 * server's device indexes.
 *
 * Maps (pinned under /sys/fs/bpf/famfs-bpf/<connection>/):
 *   slots        ARRAY  file slot (nodeid & slot_mask) -> descriptor
 *                       index (__u64; 0: none); a power of two entries
 *   descs        ARRAY  descriptor index -> struct famfs_file
 *   simple_exts  the program's global array of struct fmap_simple_ext (the
 *                one value of its section's ARRAY map, .bss.simple; mmap'ed)
 *   ileave_exts  ARRAY  __u32 -> struct fmap_ileave_ext (mmap'ed)
 *   stats        PERCPU_ARRAY, one struct famfs_resolver_stats
 * A file's extents are up to two slices, each sorted by file offset: its
 * simple extents [simple_first, simple_first + nsimple) of simple_exts and
 * its interleaved ones [ileave_first, ileave_first + nileave) of
 * ileave_exts.  A file may have both (fs.c gives a striped file simple
 * extents after FMAP_MAX_ILEAVE interleaved ones it could not grow in
 * place); the two never cover the same page (the loader checks).
 *
 * A descriptor is never changed while the program may read it (issue 16,
 * item 3: an element of a hash map is freed by every update of its key
 * and reused at once for another key, so a program that read a file's
 * descriptor through a hash value could read another file's):
 *   - the loader writes a new descriptor whole into a free entry of descs,
 *     then switches the file to it with one 8-byte store into its entry of
 *     slots (slots and descs are mmap'ed by the loader, so the store is a
 *     single aligned store, never a memcpy that a reader could see torn);
 *   - the old descriptor (and old slices) are parked and reused only after
 *     an RCU grace period, so a program that read the old index reads a
 *     descriptor that does not change under it;
 *   - a file's slot is the low bits of its node id (no hash: issue 18).
 *     Two live files whose node ids share them cannot both have it: the
 *     loader refuses the second (-EBUSY), served by upcall.  A program
 *     that reads a slot another file took meanwhile reaches that file's
 *     descriptor: it checks that the descriptor names the nodeid it was
 *     asked for (and treats an index out of range or 0 like that).
 * So a dump of descs shows parked descriptors too, old sizes and layouts
 * with their nodeids: a file's live one is the one its slot names
 * (slots[nodeid & slot_mask] -> descs; famfs_loader_get_file() in loader.h).
 */
#ifndef FAMFS_BPF_RESOLVER_COMMON_H
#define FAMFS_BPF_RESOLVER_COMMON_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * Value of `descs`; 40 bytes, no holes.  A slice with n 0 is none (its
 * first is 0); a file has at least one.
 */
struct famfs_file {
	__u64 nodeid;		/* the file it describes: checked by the program */
	__u64 size;		/* i_size as the server last knew it */
	__u32 nsimple;		/* simple extents */
	__u32 simple_first;	/* first index of them in simple_exts */
	__u32 nileave;		/* interleaved extents, <= FMAP_MAX_ILEAVE */
	__u32 ileave_first;	/* first index of them in ileave_exts */
	__u32 uniform_shift;	/* 0, or the simple extents are uniform
				 * (fmap_simple_uniform_shift()) with this
				 * shift and resolve in O(1) */
	__u32 reserved;		/* 0 */
};

/*
 * Why the resolver answered what it answered, per CPU (STYLE: give BPF a
 * way to say why).  Everything but @handled went to the server.
 */
struct famfs_resolver_stats {
	__u64 handled;		/* a mapping */
	__u64 unknown_file;	/* the nodeid's slot names no descriptor */
	__u64 hole;		/* read of an offset in no extent */
	__u64 needs_alloc;	/* write to an offset in no extent */
	__u64 unaligned;	/* the extent is not page aligned */
	__u64 bad_slice;	/* descriptor or slice unreadable: a bug */
	__u64 other_file;	/* the nodeid's slot names another file's
				 * descriptor: a file that shares the slot, or
				 * an update raced with the call */
};

/* Default sizes; the loader sets the real ones before load. */
#define FAMFS_DEF_MAX_FILES	4096	/* slots: a power of two */
/* descs: a descriptor per file, and room for parked ones (loader.c) */
#define FAMFS_DESCS(max_files)	((max_files) + (max_files) / 4 + 64)
/* the descriptor index no slot names (entry 0 of descs stays unused) */
#define FAMFS_NO_DESC		0
#define FAMFS_DEF_MAX_SIMPLE	(1U << 18)	/* 8 MiB of extents */
/* entries of simple_exts, a global array of the program: the most there are */
#define FAMFS_SIMPLE_CAP	FAMFS_DEF_MAX_SIMPLE
#define FAMFS_DEF_MAX_ILEAVE	1024		/* 280 KiB of extents */

/* The struct_ops instance's name, shown in fmap_stats and tracepoints. */
#define FAMFS_OPS_NAME		"famfs"

#endif /* FAMFS_BPF_RESOLVER_COMMON_H */
