/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by fmap_bpf_ops.bpf.c and prog_tests/fmap_bpf_ops.c */
#ifndef FMAP_BPF_OPS_H
#define FMAP_BPF_OPS_H

#define TEST_CHUNK		(64 * 1024ULL)

/* the UAPI values (BPF sees no macros from vmlinux.h) */
#define TEST_RET_HANDLED	0
#define TEST_RET_FALLBACK	1
#define TEST_TYPE_MAPPED	1
#define TEST_ENOSPC		28
#define TEST_ERESTARTSYS	512

enum test_mode {
	TEST_GOOD,
	TEST_FALLBACK,
	TEST_ERRNO,
	TEST_BAD_RET,
	TEST_INTERNAL_ERRNO,
	TEST_BAD_TYPE,
	TEST_BAD_FLAGS,
	TEST_ZERO_LENGTH,
	TEST_NOT_COVERING,
	TEST_MISALIGNED,
	TEST_OVERFLOW,
	TEST_UNKNOWN_DEV,
	TEST_BEYOND_DEV,
};

#endif
