// SPDX-License-Identifier: GPL-2.0
/*
 * A test resolver whose answer the test chooses: for node @target_nodeid it
 * maps the 64 KiB chunk holding the offset onto @dev_id at @dev_base (or
 * returns what @mode asks for: a fallback, an error, each kind of bad
 * mapping, or the whole file as one interleaved extent, good or bad);
 * every other node falls back to the server.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "fmap_bpf_ops.h"

__u64 target_nodeid;
__u32 dev_id;
__u64 dev_base;
__u64 file_size;
__u32 mode;
__u64 calls;
__u64 handled;

char _license[] SEC("license") = "GPL";

/* The file as one interleaved extent of one strip, spoilt as @mode says */
static int ileave_answer(struct fuse_fmap_reply *r)
{
	r->out.offset = 0;
	r->out.length = file_size;
	r->out.type = TEST_TYPE_INTERLEAVED;
	r->interleave.length = file_size;
	r->interleave.nstrips = 1;
	r->interleave.chunk_shift = TEST_CHUNK_SHIFT;
	r->strips[0].dev_id = dev_id;
	r->strips[0].dev_offset = dev_base;

	switch (mode) {
	case TEST_ILEAVE:
		__sync_fetch_and_add(&handled, 1);
		break;
	case TEST_ILEAVE_STRIPS:
		r->interleave.nstrips = 17;
		break;
	case TEST_ILEAVE_NO_STRIPS:
		r->interleave.nstrips = 0;
		break;
	case TEST_ILEAVE_CHUNK:
		r->interleave.chunk_shift = 11;
		break;
	case TEST_ILEAVE_OUT_DEV:
		r->out.dev_id = dev_id;
		break;
	case TEST_ILEAVE_LENGTH:
		r->interleave.length = file_size / 2;
		break;
	case TEST_ILEAVE_STRIP_DEV:
		r->strips[0].dev_id = 77;
		break;
	case TEST_ILEAVE_BEYOND:
		r->strips[0].dev_offset = (1ULL << 30) - file_size / 2;
		break;
	}
	return TEST_RET_HANDLED;
}

SEC("struct_ops/resolve")
int BPF_PROG(test_resolve, const struct fuse_fmap_query *q,
	     struct fuse_fmap_reply *reply)
{
	__u64 chunk = q->pos & ~(TEST_CHUNK - 1);
	struct fuse_fmap_out *out = &reply->out;

	__sync_fetch_and_add(&calls, 1);
	if (q->nodeid != target_nodeid || mode == TEST_FALLBACK)
		return TEST_RET_FALLBACK;
	if (mode >= TEST_ILEAVE)
		return ileave_answer(reply);

	out->offset = chunk;
	out->length = TEST_CHUNK;
	out->dev_offset = dev_base + chunk;
	out->dev_id = dev_id;
	out->type = TEST_TYPE_MAPPED;

	switch (mode) {
	case TEST_GOOD:
		__sync_fetch_and_add(&handled, 1);
		return TEST_RET_HANDLED;
	case TEST_ERRNO:
		return -TEST_ENOSPC;
	case TEST_BAD_RET:
		return 7;
	case TEST_INTERNAL_ERRNO:
		return -TEST_ERESTARTSYS;
	case TEST_BAD_TYPE:
		out->type = 0x7fff;
		break;
	case TEST_BAD_FLAGS:
		out->flags = 0x8000;
		break;
	case TEST_ZERO_LENGTH:
		out->length = 0;
		break;
	case TEST_NOT_COVERING:
		out->offset = chunk + TEST_CHUNK;
		break;
	case TEST_MISALIGNED:
		out->dev_offset += 512;
		break;
	case TEST_OVERFLOW:
		out->dev_offset = ~0ULL & ~4095ULL;
		break;
	case TEST_UNKNOWN_DEV:
		out->dev_id = 77;
		break;
	case TEST_BEYOND_DEV:
		out->dev_offset = (1ULL << 30) - 4096;
		break;
	}
	return TEST_RET_HANDLED;
}

SEC(".struct_ops.link")
struct fuse_fmap_ops test_ops = {
	.resolve = (void *)test_resolve,
	.name = "fmap_test",
};
