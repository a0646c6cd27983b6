/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by fmap_bpf_ops.bpf.c and prog_tests/fmap_bpf_ops.c */
#ifndef FMAP_BPF_OPS_H
#define FMAP_BPF_OPS_H

#define TEST_CHUNK		(64 * 1024ULL)

/* the UAPI values (BPF sees no macros from vmlinux.h) */
#define TEST_RET_HANDLED	0
#define TEST_RET_FALLBACK	1
#define TEST_TYPE_MAPPED	1
#define TEST_TYPE_INTERLEAVED	4
#define TEST_CHUNK_SHIFT	16
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
	/* the whole file as one interleaved extent: one strip at dev_base */
	TEST_ILEAVE,
	TEST_ILEAVE_STRIPS,	/* 17 strips */
	TEST_ILEAVE_CHUNK,	/* chunks smaller than a page */
	TEST_ILEAVE_OUT_DEV,	/* a device in fuse_fmap_out as well */
	TEST_ILEAVE_LENGTH,	/* interleave.length != out.length */
	TEST_ILEAVE_STRIP_DEV,	/* a strip on an unregistered device */
	TEST_ILEAVE_BEYOND,	/* a strip running past the device */
	TEST_ILEAVE_NO_STRIPS,	/* 0 strips */
};

#endif
