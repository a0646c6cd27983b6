/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fmap_reply: FUSE_FMAP replies built from a layout's extents (fmap.h), for
 * both servers (fsd, the file system daemon, and server.c, the test
 * vehicle).  Device numbers are the file system's; @dev_id maps them to
 * the ids the kernel gave at registration.  A number without an id is
 * -EIO: a layout that names a device the mount does not have.
 */
#ifndef FAMFS_BPF_FMAP_REPLY_H
#define FAMFS_BPF_FMAP_REPLY_H

#include <stddef.h>
#include <linux/fuse.h>

#include "fmap.h"

/*
 * @ie whole (FUSE_FMAP_TYPE_INTERLEAVED): the kernel caches it and
 * computes each chunk itself.  -FMAP_ENXIO when it cannot be said so
 * (not page aligned, more strips than a reply holds): then map the chunk.
 */
int fmap_reply_ileave(struct fuse_fmap_reply *r, const struct fmap_ileave_ext *ie,
		      const int *dev_id, unsigned int ndevs);

/* FUSE_FMAP_TYPE_MAPPED: [@off, +@m->len) at @m->dev_off of @m->dev. */
int fmap_reply_mapped(struct fuse_fmap_reply *r, __u64 off, const struct fmap_mapping *m,
		      const int *dev_id, unsigned int ndevs);

/* FUSE_FMAP_TYPE_HOLE: [@off, +@len). */
void fmap_reply_hole(struct fuse_fmap_reply *r, __u64 off, __u64 len);

/*
 * The whole-layout reply of FUSE_FMAP_BUILTIN (FUSE_FMAP_OP_LAYOUT): the
 * extents of one kind that follow each other from file offset 0, the
 * kind that starts there; its file_size says where they stop, and the
 * kernel asks for offsets past it by ordinary FUSE_FMAP requests.  A
 * layout that has nothing at 0 gives an empty reply.  *@bufp is malloc'ed.
 * -E2BIG: more simple extents than the reply may carry.
 */
int fmap_reply_layout(const struct fmap_simple_ext *simple, __u32 nsimple,
		      const struct fmap_ileave_ext *ileave, __u32 nileave,
		      const int *dev_id, unsigned int ndevs, void **bufp, size_t *lenp);

/* Bytes of @r to send: the strips only for an interleaved reply. */
size_t fmap_reply_len(const struct fuse_fmap_reply *r);

#endif
