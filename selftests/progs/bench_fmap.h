/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Shared by bench_fmap.bpf.c and the benchmark (selftests/bench/bench.c):
 * where the timing samples land.  Fixed-width types only.
 *
 * A sample is (fexit time - fentry time) of one traced kernel call, in ns,
 * filed under a slot: the mapping's source for fuse_fmap_iomap_begin (the
 * fuse_fmap_resolve tracepoint tells which resolver answered), the
 * resolver for the resolver calls, BENCH_SLOT_EXT2 for ext2_iomap_begin.
 */
#ifndef FAMFS_BPF_BENCH_FMAP_H
#define FAMFS_BPF_BENCH_FMAP_H

/* The first four are the kernel's FUSE_FMAP_SRC_* values. */
#define BENCH_SLOT_CACHE	0
#define BENCH_SLOT_UPCALL	1
#define BENCH_SLOT_BUILTIN	2
#define BENCH_SLOT_BPF		3
#define BENCH_SLOT_EXT2		4	/* ext2 -o dax: ext2_iomap_begin */
#define BENCH_SLOT_NONE		5	/* no mapping traced (an error) */
#define BENCH_NSLOTS		6

/* Samples kept per slot (the first ones); a power of two. */
#define BENCH_NSAMP_SHIFT	14
#define BENCH_NSAMP		(1U << BENCH_NSAMP_SHIFT)

#endif /* FAMFS_BPF_BENCH_FMAP_H */
