// SPDX-License-Identifier: GPL-2.0
/*
 * Timing probes for `make bench` (selftests/bench/bench.c).
 *
 * Two sets, never attached together (the trampolines of one would be timed
 * by the other):
 *  - the miss path: fentry/fexit on fuse_fmap_iomap_begin, and the
 *    fuse_fmap_resolve tracepoint in between to learn who answered (cache,
 *    upcall, built-in, BPF); ext2_iomap_begin as the ext2 -o dax reference;
 *  - the resolver call: fentry/fexit on each resolver's own function,
 *    fuse_fmap_bpf_resolve() (the call into the struct_ops program),
 *    fuse_fmap_builtin_resolve() (the C resolver over the kept layout) and
 *    fuse_fmap_upcall() (the round trip to the server).
 * Each sample is filed under its slot (bench_fmap.h); userspace reads the
 * arrays through the skeleton and sorts them.
 *
 * DAX fault counters for FUSE (PTE, PMD, PMD fallbacks) let the benchmark
 * check that a fault case faulted the way it claims.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bench_fmap.h"

#define FUSE_SUPER_MAGIC	0x65735546

struct start {
	__u64 t0;
	__s32 slot;
	__u32 pad;
};

/* per thread: a miss may sleep (upcall) and move to another CPU */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct start);
} starts SEC(".maps");

__u64 nsamp[BENCH_NSLOTS];
__u64 samples[BENCH_NSLOTS][BENCH_NSAMP];

__u64 pte_faults;
__u64 pmd_faults;
__u64 pmd_fallbacks;

static __always_inline void begin(__s32 slot)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct start s = { .slot = slot };

	s.t0 = bpf_ktime_get_ns();
	bpf_map_update_elem(&starts, &tid, &s, BPF_ANY);
}

/* @slot < 0: the one the tracepoint recorded */
static __always_inline void end(__s32 slot)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct start *s;
	__u64 i, d;
	__u32 k;

	s = bpf_map_lookup_elem(&starts, &tid);
	if (!s)
		return;
	d = now - s->t0;
	k = slot < 0 ? (__u32)s->slot : (__u32)slot;
	bpf_map_delete_elem(&starts, &tid);
	if (k >= BENCH_NSLOTS)
		return;
	i = __sync_fetch_and_add(&nsamp[k], 1);
	if (i < BENCH_NSAMP)
		samples[k][i] = d;
}

/* ---- the miss path ---- */

SEC("fentry/fuse_fmap_iomap_begin")
int BPF_PROG(iomap_enter)
{
	begin(BENCH_SLOT_NONE);
	return 0;
}

SEC("fexit/fuse_fmap_iomap_begin")
int BPF_PROG(iomap_exit)
{
	end(-1);
	return 0;
}

SEC("tp_btf/fuse_fmap_resolve")
int BPF_PROG(on_resolve, struct inode *inode, u64 pos, int source)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct start *s = bpf_map_lookup_elem(&starts, &tid);

	if (s)
		s->slot = source;
	return 0;
}

SEC("fentry/ext2_iomap_begin")
int BPF_PROG(ext2_enter)
{
	begin(BENCH_SLOT_EXT2);
	return 0;
}

SEC("fexit/ext2_iomap_begin")
int BPF_PROG(ext2_exit)
{
	end(BENCH_SLOT_EXT2);
	return 0;
}

/* ---- the resolver calls ---- */

SEC("fentry/fuse_fmap_upcall")
int BPF_PROG(upcall_enter)
{
	begin(BENCH_SLOT_UPCALL);
	return 0;
}

SEC("fexit/fuse_fmap_upcall")
int BPF_PROG(upcall_exit)
{
	end(BENCH_SLOT_UPCALL);
	return 0;
}

SEC("fentry/fuse_fmap_builtin_resolve")
int BPF_PROG(builtin_enter)
{
	begin(BENCH_SLOT_BUILTIN);
	return 0;
}

SEC("fexit/fuse_fmap_builtin_resolve")
int BPF_PROG(builtin_exit)
{
	end(BENCH_SLOT_BUILTIN);
	return 0;
}

/* absent from kernels without CONFIG_FUSE_FMAP_BPF: not loaded there */
SEC("fentry/fuse_fmap_bpf_resolve")
int BPF_PROG(bpf_enter)
{
	begin(BENCH_SLOT_BPF);
	return 0;
}

SEC("fexit/fuse_fmap_bpf_resolve")
int BPF_PROG(bpf_exit)
{
	end(BENCH_SLOT_BPF);
	return 0;
}

/* ---- fault counters ---- */

SEC("tp_btf/dax_pte_fault_done")
int BPF_PROG(on_pte_fault_done, struct inode *inode, struct vm_fault *vmf,
	     int result)
{
	if (inode->i_sb->s_magic == FUSE_SUPER_MAGIC)
		__sync_fetch_and_add(&pte_faults, 1);
	return 0;
}

SEC("tp_btf/dax_pmd_fault_done")
int BPF_PROG(on_pmd_fault_done, struct inode *inode, struct vm_fault *vmf,
	     unsigned long max_pgoff, int result)
{
	if (inode->i_sb->s_magic != FUSE_SUPER_MAGIC)
		return 0;
	if (result & VM_FAULT_FALLBACK)
		__sync_fetch_and_add(&pmd_fallbacks, 1);
	else
		__sync_fetch_and_add(&pmd_faults, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
