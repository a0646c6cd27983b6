// SPDX-License-Identifier: GPL-2.0
/*
 * Count DAX page faults by size and outcome, for the file system whose
 * superblock magic the loader sets.  Tests use it to show which path a
 * fault took: PTE or PMD, mapped or fell back to PTEs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* set by the loader before attach */
const volatile unsigned long target_magic;

__u64 pte_faults;
__u64 pmd_faults;
__u64 pmd_fallbacks;

static __always_inline bool wanted(struct inode *inode)
{
	return inode->i_sb->s_magic == target_magic;
}

SEC("tp_btf/dax_pte_fault_done")
int BPF_PROG(on_pte_fault_done, struct inode *inode, struct vm_fault *vmf,
	     int result)
{
	if (wanted(inode))
		__sync_fetch_and_add(&pte_faults, 1);
	return 0;
}

SEC("tp_btf/dax_pmd_fault_done")
int BPF_PROG(on_pmd_fault_done, struct inode *inode, struct vm_fault *vmf,
	     unsigned long max_pgoff, int result)
{
	if (!wanted(inode))
		return 0;
	if (result & VM_FAULT_FALLBACK)
		__sync_fetch_and_add(&pmd_fallbacks, 1);
	else
		__sync_fetch_and_add(&pmd_faults, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
