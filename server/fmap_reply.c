// SPDX-License-Identifier: GPL-2.0
/* fmap_reply: see fmap_reply.h. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "fmap_reply.h"

#define PAGE	4096ULL

int fmap_reply_ileave(struct fuse_fmap_reply *r, const struct fmap_ileave_ext *ie,
		      const int *dev_id, unsigned int ndevs)
{
	__u32 s;

	if (((ie->file_off | ie->len) & (PAGE - 1)) ||
	    ie->strip_shift > FUSE_FMAP_MAX_STRIP_SHIFT)
		return -FMAP_ENXIO;
	memset(r, 0, sizeof(*r));
	for (s = 0; s < (1U << ie->strip_shift); s++) {
		if (ie->strips[s].dev >= ndevs)
			return -EIO;
		r->strips[s].dev_id = dev_id[ie->strips[s].dev];
		r->strips[s].dev_offset = ie->strips[s].dev_off;
	}
	r->out.type = FUSE_FMAP_TYPE_INTERLEAVED;
	r->out.offset = ie->file_off;
	r->out.length = ie->len;
	r->interleave.length = ie->len;
	r->interleave.strip_shift = ie->strip_shift;
	r->interleave.chunk_shift = ie->chunk_shift;
	return 0;
}

int fmap_reply_mapped(struct fuse_fmap_reply *r, __u64 off, const struct fmap_mapping *m,
		      const int *dev_id, unsigned int ndevs)
{
	if (m->dev >= ndevs)
		return -EIO;
	memset(r, 0, sizeof(*r));
	r->out.type = FUSE_FMAP_TYPE_MAPPED;
	r->out.offset = off;
	r->out.length = m->len;
	r->out.dev_id = dev_id[m->dev];
	r->out.dev_offset = m->dev_off;
	return 0;
}

void fmap_reply_hole(struct fuse_fmap_reply *r, __u64 off, __u64 len)
{
	memset(r, 0, sizeof(*r));
	r->out.type = FUSE_FMAP_TYPE_HOLE;
	r->out.offset = off;
	r->out.length = len;
}

size_t fmap_reply_len(const struct fuse_fmap_reply *r)
{
	if (r->out.type != FUSE_FMAP_TYPE_INTERLEAVED)
		return sizeof(r->out);
	return offsetof(struct fuse_fmap_reply, strips) +
	       (sizeof(r->strips[0]) << r->interleave.strip_shift);
}
