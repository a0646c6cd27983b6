// SPDX-License-Identifier: GPL-2.0
/*
 * fsd_fmap.c: mappings for the kernel (fsd_i.h).  A file's layout copied
 * out of the namespace, the FUSE_FMAP reply (allocating on write: fs.c
 * zeroes new space before it journals it) and FUSE_FMAP_END, which is
 * where sizes come from; zeroing what a size change or a punch leaves.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmap_reply.h"
#include "fsd_i.h"
#include "fuse_shim.h"
#include "loader.h"
#include "fs/log.h"

#define ZERO_CHUNK	(1ULL << 20)

/* ---- layouts ---- */

/* A file's extents by reference: ns_get_layout()'s, or an ns_layout's */
struct lay {
	const struct fmap_simple_ext *simple;
	__u32 nsimple;
	const struct fmap_ileave_ext *ileave;
	__u32 nileave;
};

static struct lay lay_of(const struct ns_layout *l)
{
	return (struct lay){ l->simple, l->nsimple, l->ileave, l->nileave };
}

/* O(log n) in the simple extents (sorted), O(1) in the few interleaved ones */
static int lay_map(const struct lay *l, __u64 off, struct fmap_mapping *m,
		   const struct fmap_ileave_ext **ie)
{
	__u32 i;

	*ie = NULL;
	if (l->nsimple && !fmap_simple_resolve(l->simple, l->nsimple, off, m))
		return 0;
	for (i = 0; i < l->nileave; i++) {
		const struct fmap_ileave_ext *x = &l->ileave[i];

		if (off >= x->file_off && off - x->file_off < x->len) {
			*ie = x;
			return fmap_ileave_resolve(x, off, m) ? -EIO : 0;
		}
	}
	return -FMAP_ENXIO;
}

/* The first extent past @off (~0 if none): a binary search of the simple ones */
static __u64 lay_next(const struct lay *l, __u64 off)
{
	__u32 lo = 0, hi = l->nsimple, i;
	__u64 next = ~0ULL;

	while (lo < hi) {
		__u32 mid = lo + (hi - lo) / 2;

		if (l->simple[mid].file_off > off)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo < l->nsimple)
		next = l->simple[lo].file_off;
	for (i = 0; i < l->nileave; i++)
		if (l->ileave[i].file_off > off)
			next = min_u64(next, l->ileave[i].file_off);
	return next;
}

int fsd_lay_map(const struct ns_layout *l, __u64 off, struct fmap_mapping *m,
		   const struct fmap_ileave_ext **ie)
{
	struct lay v = lay_of(l);

	return lay_map(&v, off, m, ie);
}

__u64 fsd_lay_next(const struct ns_layout *l, __u64 off)
{
	struct lay v = lay_of(l);

	return lay_next(&v, off);
}

/* ---- zeroing on the device ---- */

/*
 * Write zeroes over the whole pages of [off, off + len) of device @dev,
 * through O_DIRECT.  The pages at either end that the range covers only
 * partly are the kernel's to zero (fuse_fmap_zero_partial()): it does so
 * in place, under the file's locks, where a read-modify-write from here
 * would lose the stores that other processes make meanwhile to the rest
 * of the page through their mappings.
 */
static int dev_zero(struct fsd *d, __u32 dev, __u64 off, __u64 len)
{
	__u64 end = off + len, pos = round_up(off, PAGE), stop = end & ~(PAGE - 1);
	void *buf;
	int err = 0;

	if (dev >= d->ndevs || end < off)
		return -EIO;
	if (pos >= stop)
		return 0;
	if (posix_memalign(&buf, PAGE, ZERO_CHUNK))
		return -ENOMEM;
	memset(buf, 0, ZERO_CHUNK);
	while (pos < stop && !err) {
		__u64 n = min_u64(stop - pos, ZERO_CHUNK);

		if (pwrite(d->zfd[dev], buf, n, pos) != (ssize_t)n)
			err = -EIO;
		pos += n;
	}
	free(buf);
	if (err)
		pr_err("device %u: zeroing %llu bytes at %llu failed", dev,
		       (unsigned long long)len, (unsigned long long)off);
	return err;
}

/* Zero what @l maps of the file range [start, end). */
static int zero_mapped(struct fsd *d, const struct ns_layout *l, __u64 start, __u64 end)
{
	const struct fmap_ileave_ext *ie;
	struct fmap_mapping m;
	__u64 pos = start, n;
	int err;

	while (pos < end) {
		err = fsd_lay_map(l, pos, &m, &ie);
		if (err == -FMAP_ENXIO) {
			pos = fsd_lay_next(l, pos);
			continue;
		}
		if (err)
			return err;
		n = min_u64(m.len, end - pos);
		err = dev_zero(d, m.dev, m.dev_off, n);
		if (err)
			return err;
		pos += n;
	}
	return 0;
}

/* ---- FUSE_FMAP ---- */

/* The reply for @off, which @l maps: simple, or a whole interleaved extent. */
static int map_reply_lay(struct fsd *d, const struct lay *l, __u64 off,
			 struct fuse_fmap_reply *r)
{
	const struct fmap_ileave_ext *ie;
	struct fmap_mapping m;
	int err = lay_map(l, off, &m, &ie);

	if (err)
		return -EIO;
	/* whole, when the kernel can take it so: it then computes each chunk */
	if (ie) {
		err = fmap_reply_ileave(r, ie, d->dev_id, d->ndevs);
		if (err != -FMAP_ENXIO)
			return err;
	}
	return fmap_reply_mapped(r, off, &m, d->dev_id, d->ndevs);
}

static int map_reply(struct fsd *d, const struct ns_layout *l, __u64 off, struct fuse_fmap_reply *r)
{
	struct lay v = lay_of(l);

	return map_reply_lay(d, &v, off, r);
}

/* A mapping miss, under ns's lock: the file's extents by reference, no copy */
struct lookup {
	struct fsd *d;
	__u64 off;
	struct fuse_fmap_reply *r;
	bool hole;
	__u64 next;	/* a hole: where the next extent starts */
};

static int lookup_fn(void *ctx, __u64 ino, const struct fmap_simple_ext *simple, __u32 nsimple,
		     const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	struct lookup *lk = ctx;
	const struct lay l = { simple, nsimple, ileave, nileave };
	const struct fmap_ileave_ext *ie;
	struct fmap_mapping m;

	(void)ino;
	lk->hole = lay_map(&l, lk->off, &m, &ie) == -FMAP_ENXIO;
	if (lk->hole) {
		lk->next = lay_next(&l, lk->off);
		return 0;
	}
	return map_reply_lay(lk->d, &l, lk->off, lk->r);
}

static void space_wrlock(void *ctx)
{
	pthread_rwlock_wrlock(&((struct fsd *)ctx)->space);
}

/*
 * Allocate for a write at @off and map it.  fs.c reserves and zeroes the
 * new space without @space (item 7 of issue 16: other allocations,
 * FUSE_FMAP_END and truncates need not wait for the zeroing), then takes
 * it exclusively for us (fs_commit_lock) and journals the ALLOC: from
 * there until the BPF map has the new extent no FUSE_FMAP reply is built.
 * Then the reply; @space is released on the way out.
 */
static int alloc_reply(struct fsd *d, __u64 ino, __u64 off, __u64 want, struct ns_layout *new,
		       struct fuse_fmap_reply *r)
{
	const struct fs_commit_lock cl = { .lock = space_wrlock, .ctx = d };
	struct fs_extent ext;
	int err;

	/* how much more a striped file gets is fs.c's policy (fs_alloc_policy) */
	err = fs_alloc_for_write_locked(d->fs, ino, off, want, &ext, &cl);
	if (err == -E2BIG) {
		pthread_rwlock_unlock(&d->space);
		err = fs_alloc_for_write_locked(d->fs, ino, off, 0, &ext, &cl);
	}
	if (err) {
		pthread_rwlock_unlock(&d->space);
		if (err != -ENOSPC)
			pr_warn("allocating for ino %llu: %s", (unsigned long long)ino, fs_msg());
		return err;
	}
	/* the program must know the new space before the kernel does */
	fsd_bpf_sync(d, ino);
	fs_fault(d->fs, "after_bpf");
	err = ns_layout_get(d->ns, ino, new);
	if (!err)
		err = map_reply(d, new, off, r);
	/* where readers saw a hole: the kernel drops their zero pages */
	if (!err && ext.fresh)
		r->out.flags = FUSE_FMAP_FLAG_NEW;
	pthread_rwlock_unlock(&d->space);
	return err;
}

static int fmap(struct fsd *d, __u64 ino, const struct fuse_fmap_in *in,
		struct fuse_fmap_reply *r)
{
	bool write = in->op_flags & FUSE_FMAP_OP_WRITE;
	__u64 off = in->offset & ~(PAGE - 1), want, end;
	struct lookup lk = { .d = d, .off = off, .r = r };
	struct ns_layout new = { 0 };
	struct ns_attr a;
	int err;

	if (write && d->read_only)
		return -EROFS;		/* a follower allocates nothing */
	pthread_rwlock_rdlock(&d->space);
	/* one lookup, O(log n), the extents by reference: a miss copies nothing */
	err = ns_get_layout(d->ns, ino, lookup_fn, &lk);
	if (!err && lk.hole && !write)
		err = ns_getattr(d->ns, ino, &a);
	if (!err && lk.hole && !write) {
		end = min_u64(round_up(a.size, PAGE), lk.next);
		fmap_reply_hole(r, off, end > off ? end - off : PAGE);
	}
	pthread_rwlock_unlock(&d->space);
	if (!err && lk.hole && write) {
		want = min_u64(in->length + (in->offset - off), ALLOC_MAX);
		err = alloc_reply(d, ino, off, want, &new, r);
	}
	free(new.simple);
	if (err == -EISDIR)
		err = -EINVAL;		/* not a regular file: the kernel's confusion */
	return err;
}

/*
 * FUSE_FMAP_OP_LAYOUT (resolver=builtin): the file's extents that follow
 * each other from offset 0, which the kernel keeps and resolves from.
 */
static void layout_reply(struct fsd *d, const struct fuse_in_header *in)
{
	struct ns_layout l = { 0 };
	size_t len = 0;
	void *buf = NULL;
	int err = -EOPNOTSUPP;	/* FUSE_FMAP_BUILTIN was not offered */

	if (d->resolver == FSD_RESOLVER_BUILTIN) {
		pthread_rwlock_rdlock(&d->space);
		err = ns_layout_get(d->ns, in->nodeid, &l);
		if (!err)
			err = fmap_reply_layout(l.simple, l.nsimple, l.ileave, l.nileave,
						d->dev_id, d->ndevs, &buf, &len);
		pthread_rwlock_unlock(&d->space);
		free(l.simple);
	}
	if (err == -E2BIG)
		pr_info("ino %llu: more extents than a layout reply carries: upcalls serve it",
			(unsigned long long)in->nodeid);
	if (err == -EISDIR)
		err = -EINVAL;
	pr_debug("FMAP ino %llu layout -> %d, %zu bytes", (unsigned long long)in->nodeid, err,
		 len);
	fbs_shim_reply(d->shim, in->unique, err, buf, err ? 0 : len);
	free(buf);
}

void fsd_shim_fmap(void *data, const struct fuse_in_header *in,
		      const struct fuse_fmap_in *arg)
{
	struct fsd *d = data;
	struct fuse_fmap_reply r = { 0 };
	int err;

	if (arg->op_flags & FUSE_FMAP_OP_LAYOUT)
		return layout_reply(d, in);
	err = fmap(d, in->nodeid, arg, &r);

	pr_debug("FMAP ino %llu off %llu len %llu op %#x -> %d type %u [%llu, +%llu)",
		 (unsigned long long)in->nodeid, (unsigned long long)arg->offset,
		 (unsigned long long)arg->length, arg->op_flags, err, r.out.type,
		 (unsigned long long)r.out.offset, (unsigned long long)r.out.length);
	fbs_shim_reply(d->shim, in->unique, err, &r, err ? 0 : fmap_reply_len(&r));
}

int fsd_set_size(struct fsd *d, __u64 ino, struct ns_setattr *sa, __u64 old_size)
{
	struct ns_layout l = { 0 };
	__u64 from, to;
	int err;

	/* out of the maps before fs.c frees what is cut; back with the new layout */
	if (sa->size < old_size)
		fsd_bpf_unmap(d, ino);
	err = fs_setattr(d->fs, ino, sa);
	if (sa->size != old_size)
		fsd_bpf_sync(d, ino);
	if (err || sa->size == old_size)
		return err;
	/*
	 * Down: the kept unit's bytes past the new end, which a later growth
	 * would show (with pages, what is still mapped of it: the last page,
	 * or an interleaved file's chunk).  Up: what short writes or mmap stores past the old end
	 * may have left there.
	 */
	from = min_u64(old_size, sa->size);
	to = sa->size < old_size ? round_up(sa->size, UNIT) : round_up(sa->size, PAGE);
	err = ns_layout_get(d->ns, ino, &l);
	if (!err)
		err = zero_mapped(d, &l, from, to);
	free(l.simple);
	if (err)
		pr_err("ino %llu: zeroing past the end of file: %s", (unsigned long long)ino,
		       strerror(-err));
	return err;
}

/*
 * FUSE_FMAP_END: a write moved the end of file, and its bytes are on the
 * device.  Sizes come from here only: a short write never leaves one too
 * large.  A size below the current one is a stale report: ignored.  The
 * size is kept in memory (fs_size_grow()), and journaled by fsync, flush,
 * release and unmount (fsd_ops.c), not once per write.
 */
int fsd_shim_fmap_end(void *data, const struct fuse_in_header *in,
			 const struct fuse_fmap_end_in *arg)
{
	struct fsd *d = data;
	struct ns_layout l = { 0 };
	struct ns_attr a;
	int err;

	if (arg->flags || arg->padding || arg->size > INT64_MAX || arg->size < arg->offset ||
	    arg->size - arg->offset != arg->length)
		return -EINVAL;
	if (d->read_only)
		return -EROFS;
	pthread_rwlock_wrlock(&d->space);
	err = ns_getattr(d->ns, in->nodeid, &a);
	if (!err && !S_ISREG(a.mode))
		err = -EINVAL;
	if (!err && arg->size > a.size) {
		/* a write past the end leaves a gap: what it maps must read as zeroes */
		if (arg->offset > a.size) {
			err = ns_layout_get(d->ns, in->nodeid, &l);
			if (!err)
				err = zero_mapped(d, &l, a.size, arg->offset);
		}
		/* in memory: journaled at fsync, close or unmount (fs.h) */
		if (!err)
			err = fs_size_grow(d->fs, in->nodeid, arg->size);
		if (err)
			pr_warn("ino %llu: size %llu not recorded: %s",
				(unsigned long long)in->nodeid, (unsigned long long)arg->size,
				fs_msg());
		else if (d->bpf)
			/* -ENOENT: a file the maps leave out */
			famfs_loader_set_size(d->bpf, in->nodeid, arg->size);
	}
	pthread_rwlock_unlock(&d->space);
	free(l.simple);
	return err;
}

bool fsd_shim_is_mapped(void *data, __u64 nodeid)
{
	struct fsd *d = data;
	struct ns_attr a;

	return !ns_getattr(d->ns, nodeid, &a) && S_ISREG(a.mode);
}

/* Data on block devices without DAX: the kernel's page-cache path. */
bool fsd_shim_is_block(void *data, __u64 nodeid)
{
	struct fsd *d = data;

	return fs_file_block(d->fs, nodeid);
}

/* ---- FUSE_FALLOCATE ---- */

/*
 * PUNCH_HOLE: the file leaves the BPF maps before fs.c frees what the
 * punch takes, and comes back with its new layout; what stays mapped of
 * the range (the edges short of whole units or stripes, or all of it when
 * fs.c took nothing) is zeroed.  @space held exclusively.
 */
static int falloc_punch(struct fsd *d, __u64 ino, __u64 off, __u64 len)
{
	struct ns_layout l = { 0 };
	__u64 cut_off, cut_len;
	int err;

	fsd_bpf_unmap(d, ino);
	err = fs_punch(d->fs, ino, off, len, &cut_off, &cut_len);
	if (!err)
		err = ns_layout_get(d->ns, ino, &l);
	if (!err)
		err = zero_mapped(d, &l, off, off + len);
	fsd_bpf_sync(d, ino);
	free(l.simple);
	return err;
}

/*
 * Modes 0, KEEP_SIZE and ZERO_RANGE: every hole of the range allocated
 * (fs.c: all of each piece or nothing, zeroed before it is journaled); with
 * ZERO_RANGE the space the range had is zeroed too, and so is what a new
 * size brings inside the file (junk past the old end: mmap stores in the
 * last page, short writes).  Takes @space exclusively once the new space
 * is zeroed, for the journaling and the BPF map only, and releases it
 * before it zeroes the space the file already had.
 */
static int falloc_alloc(struct fsd *d, __u64 ino, int mode, __u64 off, __u64 len)
{
	const struct fs_commit_lock cl = { .lock = space_wrlock, .ctx = d };
	bool keep = mode & FALLOC_FL_KEEP_SIZE;
	struct ns_layout old = { 0 };
	__u64 end = off + len, from = end, pos, piece_end;
	struct ns_attr a;
	int err;

	/*
	 * Before the allocation, without @space: the kernel holds the
	 * file's i_rwsem, so no truncate, punch or write changes it meanwhile.
	 */
	err = ns_getattr(d->ns, ino, &a);
	if (!err)
		err = ns_layout_get(d->ns, ino, &old);
	if (err) {
		free(old.simple);
		return err;
	}
	/*
	 * In pieces (fs_fallocate_piece_end()), so that no request zeroes
	 * more than FS_FALLOC_MAX_NEW at a time: each zeroes its new space
	 * without @space, journals it holding it, and is in the BPF map
	 * before the next.  Only the last moves the size, so a failure part
	 * way leaves the earlier pieces allocated and zeroed, inside the
	 * file or past its end, as a fallocate of ext4 that runs out of
	 * space does.
	 */
	for (pos = off; pos < end; pos = piece_end) {
		piece_end = fs_fallocate_piece_end(d->fs, ino, pos, end);
		err = fs_fallocate_locked(d->fs, ino, pos, piece_end - pos,
					  keep || piece_end < end ? FS_FALLOC_KEEP_SIZE : 0, &cl);
		if (!err) {
			fsd_bpf_sync(d, ino);
			fs_fault(d->fs, "after_bpf");
		}
		pthread_rwlock_unlock(&d->space);
		if (err)
			goto out;
	}
	/*
	 * The space the file had, without @space: it stays the file's (the
	 * kernel holds i_rwsem, so no truncate or punch; the open file keeps
	 * it from going at an unlink), and the kernel blocks the file's
	 * faults until the reply, so nobody reads it before it is zero.
	 */
	if (mode & FALLOC_FL_ZERO_RANGE)
		from = off;
	if (!keep && end > a.size)
		from = min_u64(from, a.size);
	if (from < end)
		err = zero_mapped(d, &old, from, end);
out:
	free(old.simple);
	return err;
}

/*
 * The kernel holds the file's i_rwsem and blocks its faults around
 * FUSE_FALLOCATE (fuse_fmap_layout_begin(), which also unmaps every page
 * of the file), and drops its cached mappings of [offset, offset +
 * length) after our reply, whether we failed or not.  So no
 * FUSE_NOTIFY_FMAP_INVAL is needed (none may be sent before the reply:
 * it takes i_rwsem).  New space reaching past the range (whole units,
 * whole stripes) may still be a cached hole there: it reads as the
 * zeroes the space now holds, and the first mapping of the new extent
 * replaces it.
 */
void fsd_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
		      struct fuse_file_info *fi)
{
	struct fsd *d = req_fsd(req);
	__u64 off = offset, len = length;
	int err;

	(void)fi;
	if (offset < 0 || length <= 0 || length > INT64_MAX - offset)
		return (void)fuse_reply_err(req, EINVAL);
	switch (mode) {
	case 0:
	case FALLOC_FL_KEEP_SIZE:
	case FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE:
	case FALLOC_FL_ZERO_RANGE:
	case FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE:
		break;
	default:
		return (void)fuse_reply_err(req, EOPNOTSUPP);
	}
	if (fsd_refuse_ro(req))
		return;
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		pthread_rwlock_wrlock(&d->space);
		err = falloc_punch(d, ino, off, len);
		pthread_rwlock_unlock(&d->space);
	} else {
		err = falloc_alloc(d, ino, mode, off, len);	/* takes @space itself */
	}
	if (err && err != -ENOSPC && err != -EISDIR && err != -EINVAL)
		pr_warn("fallocate ino %llu mode %#x [%llu, +%llu): %s", (unsigned long long)ino,
			mode, (unsigned long long)off, (unsigned long long)len,
			fs_msg()[0] ? fs_msg() : strerror(-err));
	if (err == -E2BIG)
		err = -ENOSPC;	/* more new extents than one log entry holds */
	fuse_reply_err(req, -err);
}
