/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tests' random numbers: xorshift64, so that a run is reproducible
 * from the seed it prints or fixes.
 */
#ifndef FAMFS_BPF_XORSHIFT_H
#define FAMFS_BPF_XORSHIFT_H

#include <linux/types.h>

static inline __u64 xorshift64(__u64 *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

#endif
