// SPDX-License-Identifier: GPL-2.0
/* fmap_reply: see fmap_reply.h. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fmap_reply.h"

#define PAGE	4096ULL

int fmap_reply_ileave(struct fuse_fmap_reply *r, const struct fmap_ileave_ext *ie,
		      const int *dev_id, unsigned int ndevs)
{
	__u32 s;

	if (((ie->file_off | ie->len) & (PAGE - 1)) ||
	    !ie->nstrips || ie->nstrips > FUSE_FMAP_MAX_STRIPS)
		return -FMAP_ENXIO;
	memset(r, 0, sizeof(*r));
	for (s = 0; s < ie->nstrips; s++) {
		if (ie->strips[s].dev >= ndevs)
			return -EIO;
		r->strips[s].dev_id = dev_id[ie->strips[s].dev];
		r->strips[s].dev_offset = ie->strips[s].dev_off;
	}
	r->out.type = FUSE_FMAP_TYPE_INTERLEAVED;
	r->out.offset = ie->file_off;
	r->out.length = ie->len;
	r->interleave.length = ie->len;
	r->interleave.nstrips = ie->nstrips;
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
	       sizeof(r->strips[0]) * r->interleave.nstrips;
}

/* The interleaved extent that starts at @off, or NULL (the order is the caller's) */
static const struct fmap_ileave_ext *ileave_at(const struct fmap_ileave_ext *ileave,
					       __u32 nileave, __u64 off)
{
	__u32 i;

	for (i = 0; i < nileave; i++)
		if (ileave[i].file_off == off)
			return &ileave[i];
	return NULL;
}

int fmap_reply_layout(const struct fmap_simple_ext *simple, __u32 nsimple,
		      const struct fmap_ileave_ext *ileave, __u32 nileave,
		      const int *dev_id, unsigned int ndevs, void **bufp, size_t *lenp)
{
	bool is_simple = nsimple && simple[0].file_off == 0;
	size_t max = sizeof(struct fuse_fmap_layout) +
		     (size_t)nsimple * sizeof(struct fuse_fmap_simple) +
		     (size_t)nileave * (sizeof(struct fuse_fmap_interleave) +
					FMAP_MAX_STRIPS * sizeof(struct fuse_fmap_strip));
	const struct fmap_ileave_ext *ie;
	struct fuse_fmap_layout *hdr;
	__u64 covered = 0;
	char *buf, *pos;
	__u32 i = 0, s;

	/* the kernel's reader takes no more; a prefix would be a lie */
	if (is_simple && nsimple > FUSE_FMAP_MAX_EXTENTS)
		return -E2BIG;
	buf = calloc(1, max);
	if (!buf)
		return -ENOMEM;
	hdr = (void *)buf;
	pos = buf + sizeof(*hdr);
	if (is_simple) {
		hdr->kind = FUSE_FMAP_LAYOUT_SIMPLE;
		for (; i < nsimple && simple[i].file_off == covered; i++) {
			struct fuse_fmap_simple *fs = (void *)pos;

			if (simple[i].dev >= ndevs)
				goto bad;
			fs->dev_id = dev_id[simple[i].dev];
			fs->dev_offset = simple[i].dev_off;
			fs->length = simple[i].len;
			covered += fs->length;
			pos += sizeof(*fs);
		}
	} else {
		hdr->kind = FUSE_FMAP_LAYOUT_INTERLEAVED;
		for (; (ie = ileave_at(ileave, nileave, covered)) && i < nileave; i++) {
			struct fuse_fmap_interleave *fi = (void *)pos;

			fi->length = ie->len;
			if (!ie->nstrips || ie->nstrips > FMAP_MAX_STRIPS)
				goto bad;
			fi->nstrips = ie->nstrips;
			fi->chunk_shift = ie->chunk_shift;
			pos += sizeof(*fi);
			for (s = 0; s < ie->nstrips; s++) {
				struct fuse_fmap_strip *st = (void *)pos;

				if (ie->strips[s].dev >= ndevs)
					goto bad;
				st->dev_id = dev_id[ie->strips[s].dev];
				st->dev_offset = ie->strips[s].dev_off;
				pos += sizeof(*st);
			}
			covered += ie->len;
		}
	}
	hdr->nextents = i;
	hdr->file_size = covered;
	*bufp = buf;
	*lenp = pos - buf;
	return 0;
bad:
	free(buf);
	return -EIO;
}
