/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Rounding and bounds on __u64 byte counts, one copy for every room
 * (fs, fsd, cli include it as "fs/u64.h").
 */
#ifndef FAMFS_BPF_U64_H
#define FAMFS_BPF_U64_H

#include <linux/types.h>

/* any @to: a stripe of 3 strips is not a power of two */
static inline __u64 round_up(__u64 v, __u64 to)
{
	return (v + to - 1) / to * to;
}

static inline __u64 round_down(__u64 v, __u64 to)
{
	return v / to * to;
}

static inline __u64 min_u64(__u64 a, __u64 b)
{
	return a < b ? a : b;
}

static inline __u64 max_u64(__u64 a, __u64 b)
{
	return a > b ? a : b;
}

#endif /* FAMFS_BPF_U64_H */
