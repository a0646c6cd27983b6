// SPDX-License-Identifier: GPL-2.0
/*
 * Every function of include/fmap.h, one program each, so that the test can
 * load each into the kernel's verifier on its own and run it (BPF_PROG_RUN
 * of a syscall program) against the same function on the host.  Inputs
 * and outputs are globals; C arrays are FMAP_ARRAY_CAP long, and the
 * accessor searches read a large ARRAY map, like bpf/resolver.bpf.c.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define FMAP_ARRAY_CAP	256
#include "fmap.h"
#include "fmap_verifier.h"

/* inputs */
struct fmap_simple_ext simple[FMAP_ARRAY_CAP];
struct fmap_ileave_ext ileave[FMAP_MAX_ILEAVE];
__u32 n;
__u32 first;
__u32 shift;
__u32 strip;
__u64 off;
/* outputs */
int ret;
__u64 ret64;
struct fmap_mapping m;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FV_BIG);
	__type(key, __u32);
	__type(value, struct fmap_simple_ext);
} big SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FMAP_MAX_ILEAVE);
	__type(key, __u32);
	__type(value, struct fmap_ileave_ext);
} ileave_map SEC(".maps");

static __always_inline const struct fmap_simple_ext *big_get(__u32 base, __u32 i)
{
	__u32 key = base + i;

	return bpf_map_lookup_elem(&big, &key);
}

static __always_inline const struct fmap_ileave_ext *ileave_get(__u32 base, __u32 i)
{
	__u32 key = base + i;

	return bpf_map_lookup_elem(&ileave_map, &key);
}

FMAP_DEFINE_SIMPLE_SEARCH(big_search, __u32, big_get)
FMAP_DEFINE_SIMPLE_UNIFORM(big_uniform, __u32, big_get)
FMAP_DEFINE_ILEAVE_FIND(big_ileave_find, __u32, ileave_get)

SEC("syscall")
int simple_map(void *ctx)
{
	ret = fmap_simple_map(&simple[0], off, &m);
	return 0;
}

SEC("syscall")
int simple_resolve(void *ctx)
{
	ret = fmap_simple_resolve(simple, n, off, &m);
	return 0;
}

SEC("syscall")
int simple_uniform_resolve(void *ctx)
{
	ret = fmap_simple_uniform_resolve(simple, n, shift, off, &m);
	return 0;
}

SEC("syscall")
int simple_uniform_shift(void *ctx)
{
	ret = fmap_simple_uniform_shift(simple, n);
	return 0;
}

SEC("syscall")
int simple_check(void *ctx)
{
	ret = fmap_simple_check(simple, n);
	return 0;
}

SEC("syscall")
int ileave_resolve(void *ctx)
{
	ret = fmap_ileave_resolve(&ileave[0], off, &m);
	return 0;
}

SEC("syscall")
int ileave_find_resolve(void *ctx)
{
	ret = fmap_ileave_find_resolve(ileave, n, off, &m);
	return 0;
}

SEC("syscall")
int ileave_strip_bytes(void *ctx)
{
	ret64 = fmap_ileave_strip_bytes(&ileave[0], strip);
	return 0;
}

SEC("syscall")
int ileave_check(void *ctx)
{
	ret = fmap_ileave_check(&ileave[0]);
	return 0;
}

SEC("syscall")
int map_search(void *ctx)
{
	ret = big_search(first, n, off, &m);
	return 0;
}

SEC("syscall")
int map_uniform(void *ctx)
{
	ret = big_uniform(first, n, shift, off, &m);
	return 0;
}

SEC("syscall")
int map_ileave_find(void *ctx)
{
	ret = big_ileave_find(first, n, off, &m);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
