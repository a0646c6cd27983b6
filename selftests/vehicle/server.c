// SPDX-License-Identifier: GPL-2.0
/*
 * The test vehicle: a FUSE server, in the test's own process, that answers
 * what a test asks where the famfs-bpf daemon never would: files added with
 * extents of the test's choosing (any device, any offset, interleaved or
 * simple), layouts swapped under live mappings (set_layout), replies
 * rewritten by a hook (the validator's hostile mappings, EINTR), and
 * FUSE_FMAP_END counted, refused (ENOSYS) or held (a stuck server).  The
 * validator, BPF, resolver and revocation tests and the bench use it; file
 * system semantics are tested on the daemon.  Its namespace is the root
 * directory only: files are added, created (writes past their extents
 * allocate 2 MiB units on device 0), truncated; never removed.
 *
 * Locking: srv->lock protects the files (names, sizes, layouts) and the
 * allocator.  The session loop thread takes it in operations and in the
 * FUSE_FMAP handler; API callers take it from their own threads.  It is
 * never held while waiting for the kernel, except in fbs_server_set_layout,
 * which drops it before sending the invalidation (the kernel may wait for
 * I/O that needs this server to answer FUSE_FMAP).  The BPF resolver's
 * loader is used under srv->lock too: it only makes bpf(2) calls.
 *
 * With FBS_RESOLVER_BPF every change of a file's extents reaches the
 * resolver's maps before anyone can learn of it: before add_file returns,
 * before a FUSE_FMAP reply that allocated, and before the invalidation
 * that set_layout sends; the old extents' slice is freed after it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <fuse_lowlevel.h>
#include <linux/fs.h>

#include "fs/alloc.h"
#include "fsd/fmap_reply.h"
#include "fsd/fuse_shim.h"
#include "fsd/mountinfo.h"
#include "loader.h"
#include "fs/log.h"
#include "server.h"

#define PAGE_SIZE_	4096ULL
#define ALLOC_UNIT	(2ULL << 20)	/* 2 MiB: PMD faults stay possible */
#define ROOT_INO	FUSE_ROOT_ID
#define FIRST_INO	2

struct fbs_file {
	bool used;
	char name[FBS_NAME_MAX + 1];
	__u64 ino;
	__u64 size;
	/*
	 * Writes through mappings never reach the server: the kernel keeps
	 * the times and sends them with SETATTR when it writes the inode back.
	 */
	struct timespec mtime, ctime;
	struct fbs_layout layout;	/* .simple points at @ext */
	struct fmap_simple_ext *ext;	/* owned, room for @ext_cap */
	__u32 ext_cap;
	/*
	 * The 2 MiB units the allocator last gave this file, merged while
	 * they continue each other: a write past them continues them on the
	 * device.  Units are never given back (the vehicle deletes nothing).
	 */
	struct fmap_simple_ext last_unit;	/* .len 0: none yet */
};

struct fbs_dev {
	__u64 size;
	bool read_only;
};

struct fbs_server {
	struct fbs_shim *shim;	/* first: the shim finds itself here */
	struct fbs_config cfg;
	struct fbs_dev devs[FBS_MAX_DEVS];
	int dev_id[FBS_MAX_DEVS];	/* the kernel's, by index */
	struct fuse_session *se;
	int fuse_fd;
	bool mounted;
	unsigned int conn;	/* fuse control fs directory number */
	pthread_t thread;
	bool thread_running;
	struct famfs_loader *bpf;	/* FBS_RESOLVER_BPF */
	pthread_t attach_thread;	/* fbs_server_run() with BPF */
	bool attach_running;

	pthread_mutex_t lock;
	struct fbs_file files[FBS_MAX_FILES];
	__u64 next_ino;
	struct fbs_alloc alloc;		/* device 0 from cfg.alloc_start */
	fbs_fmap_hook_t hook;
	void *hook_data;
	unsigned long fmap_requests;
	unsigned long fmap_end_requests;
	enum fbs_fmap_end_mode fmap_end_mode;	/* under lock */
	pthread_cond_t fmap_end_cond;		/* the mode changed */
};

static struct fbs_file *file_by_ino(struct fbs_server *srv, __u64 ino)
{
	unsigned int i;

	for (i = 0; i < FBS_MAX_FILES; i++)
		if (srv->files[i].used && srv->files[i].ino == ino)
			return &srv->files[i];
	return NULL;
}

static struct fbs_file *file_by_name(struct fbs_server *srv, const char *name)
{
	unsigned int i;

	for (i = 0; i < FBS_MAX_FILES; i++)
		if (srv->files[i].used && !strcmp(srv->files[i].name, name))
			return &srv->files[i];
	return NULL;
}

/* Layouts come from callers and, later, from media: check every rule. */
static int layout_check(const struct fbs_server *srv,
			const struct fbs_layout *l)
{
	__u32 i, s;
	int err;

	switch (l->kind) {
	case FBS_LAYOUT_SIMPLE:
		if (l->nileave)
			return -EINVAL;
		if (!l->nsimple)
			return 0;	/* empty: every access is a hole */
		if (!l->simple)
			return -EINVAL;
		if (l->nsimple > FBS_MAX_SIMPLE)
			return -E2BIG;
		err = fmap_simple_check(l->simple, l->nsimple);
		if (err)
			return err;
		for (i = 0; i < l->nsimple; i++) {
			const struct fmap_simple_ext *e = &l->simple[i];

			if (e->dev >= srv->cfg.ndevs ||
			    e->dev_off + e->len > srv->devs[e->dev].size)
				return -ERANGE;
		}
		return 0;
	case FBS_LAYOUT_INTERLEAVED:
		if (l->nsimple || !l->nileave || l->nileave > FMAP_MAX_ILEAVE)
			return -EINVAL;
		for (i = 0; i < l->nileave; i++) {
			const struct fmap_ileave_ext *ie = &l->ileave[i];

			err = fmap_ileave_check(ie);
			if (err)
				return err;
			for (s = 0; s < ie->nstrips; s++) {
				const struct fmap_strip *st = &ie->strips[s];

				if (st->dev >= srv->cfg.ndevs ||
				    st->dev_off + fmap_ileave_strip_bytes(ie, s) >
				    srv->devs[st->dev].size)
					return -ERANGE;
			}
		}
		return 0;
	}
	return -EINVAL;
}

static void file_stat(const struct fbs_file *f, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = f->ino;
	st->st_mode = S_IFREG | 0644;
	st->st_nlink = 1;
	st->st_size = f->size;
	st->st_blksize = ALLOC_UNIT;
	st->st_blocks = (f->size + 511) / 512;
	st->st_mtim = f->mtime;
	st->st_ctim = f->ctime;
}

static void file_touch(struct fbs_file *f)
{
	clock_gettime(CLOCK_REALTIME, &f->mtime);
	f->ctime = f->mtime;
}

static void root_stat(struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ROOT_INO;
	st->st_mode = S_IFDIR | 0755;
	st->st_nlink = 2;
}

/* ---- a file's extents: the server's copy, the BPF maps' copy ---- */

/* Make @f's layout a copy of @l; on error @f is unchanged. */
static int file_copy_layout(struct fbs_file *f, const struct fbs_layout *l)
{
	struct fmap_simple_ext *ext = NULL;

	if (l->kind == FBS_LAYOUT_SIMPLE && l->nsimple) {
		ext = malloc(l->nsimple * sizeof(*ext));
		if (!ext)
			return -ENOMEM;
		memcpy(ext, l->simple, l->nsimple * sizeof(*ext));
	}
	free(f->ext);
	f->ext = ext;
	f->ext_cap = ext ? l->nsimple : 0;
	f->layout = *l;
	f->layout.simple = ext;
	return 0;
}

static void file_free(struct fbs_file *f)
{
	free(f->ext);
	f->ext = NULL;
	f->ext_cap = 0;
	f->used = false;
}

/*
 * Write @f's extents into the resolver's maps, with kernel device ids;
 * *@old gets the slice to free once the kernel forgot the old mappings.
 */
static int bpf_sync_file(struct fbs_server *srv, const struct fbs_file *f,
			 struct famfs_slice *old)
{
	const struct fbs_layout *l = &f->layout;
	struct famfs_file_extents fe = { .size = f->size };
	struct fmap_simple_ext *simple = NULL;
	struct fmap_ileave_ext ileave[FMAP_MAX_ILEAVE];
	__u32 i, s;
	int err;

	memset(old, 0, sizeof(*old));
	if (!srv->bpf)
		return 0;
	if (l->kind == FBS_LAYOUT_SIMPLE) {
		fe.nsimple = l->nsimple;
		if (fe.nsimple) {
			simple = malloc(fe.nsimple * sizeof(*simple));
			if (!simple)
				return -ENOMEM;
			for (i = 0; i < fe.nsimple; i++) {
				simple[i] = l->simple[i];
				simple[i].dev = srv->dev_id[l->simple[i].dev];
			}
		}
		fe.simple = simple;
	} else {
		fe.nileave = l->nileave;
		for (i = 0; i < l->nileave; i++) {
			ileave[i] = l->ileave[i];
			/* unused strips stay zero (fmap_ileave_check) */
			for (s = 0; s < l->ileave[i].nstrips; s++)
				ileave[i].strips[s].dev =
					srv->dev_id[l->ileave[i].strips[s].dev];
		}
		fe.ileave = ileave;
	}
	err = famfs_loader_set_file(srv->bpf, f->ino, &fe, old);
	free(simple);
	return err;
}

/* ---- allocation for writes beyond the extents (simple layouts) ---- */

/*
 * Write zeroes over @len bytes of device @dev at @off, so that fresh space
 * never reads as what an earlier file left there.  O_DIRECT, as in
 * zero_tail(): the pages the range covers only partly are read, patched
 * and written back.
 */
static int dev_zero(struct fbs_server *srv, __u32 dev, __u64 off, __u64 len)
{
	const __u64 chunk = 256 << 10;
	__u64 end = off + len, pos = off & ~(PAGE_SIZE_ - 1);
	__u64 stop = (end + PAGE_SIZE_ - 1) & ~(PAGE_SIZE_ - 1);
	void *buf = NULL;
	int fd, err = 0;

	if (!len)
		return 0;
	if (dev >= srv->cfg.ndevs)
		return -EIO;
	fd = open(srv->cfg.devs[dev].path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (posix_memalign(&buf, PAGE_SIZE_, chunk)) {
		close(fd);
		return -ENOMEM;
	}
	for (; pos < stop && !err; pos += chunk) {
		__u64 n = stop - pos < chunk ? stop - pos : chunk;
		__u64 head = off > pos ? off - pos : 0;
		__u64 tail = pos + n > end ? pos + n - end : 0;

		if ((head || tail) && pread(fd, buf, n, pos) != (ssize_t)n) {
			err = -EIO;
			break;
		}
		memset((char *)buf + head, 0, n - head - tail);
		if (pwrite(fd, buf, n, pos) != (ssize_t)n)
			err = -EIO;
	}
	if (err)
		pr_warn("%s: zeroing %llu bytes at %llu: %s", srv->cfg.devs[dev].path,
			(unsigned long long)len, (unsigned long long)off,
			strerror(-err));
	free(buf);
	close(fd);
	return err;
}


/*
 * Give the 2 MiB unit around @off an extent on device 0, in a unit of its
 * own: the file offset and the device offset stay congruent modulo 2 MiB
 * (PMD faults work wherever the extent is clipped), and an extent that
 * continues the one before on the device grows it instead of adding one.
 */
static int alloc_for_write(struct fbs_server *srv, struct fbs_file *f, __u64 off)
{
	struct fbs_layout *l = &f->layout;
	__u64 start = off & ~(ALLOC_UNIT - 1), end = start + ALLOC_UNIT, dev_off;
	struct fmap_simple_ext *prev, *last = &f->last_unit, unit;
	struct famfs_slice old;
	__u64 unit_start;
	__u32 i, at, n;
	int err;

	if (l->kind != FBS_LAYOUT_SIMPLE || l->nsimple == FBS_MAX_SIMPLE)
		return -ENOSPC;
	if (l->nsimple == f->ext_cap) {
		__u32 cap = f->ext_cap ? f->ext_cap * 2 : 16;
		struct fmap_simple_ext *ext;

		if (cap > FBS_MAX_SIMPLE)
			cap = FBS_MAX_SIMPLE;
		ext = realloc(f->ext, cap * sizeof(*ext));
		if (!ext)
			return -ENOMEM;
		f->ext = ext;
		f->ext_cap = cap;
		l->simple = ext;
	}
	/* do not overlap neighbours: clip to the gap around @off */
	for (at = 0; at < l->nsimple && l->simple[at].file_off <= off; at++)
		;
	if (at && l->simple[at - 1].file_off + l->simple[at - 1].len > start)
		start = l->simple[at - 1].file_off + l->simple[at - 1].len;
	if (at < l->nsimple && l->simple[at].file_off < end)
		end = l->simple[at].file_off;
	/* a whole unit goes, whatever part of it the file uses */
	unit_start = off & ~(ALLOC_UNIT - 1);
	if (!last->len || last->file_off + last->len != unit_start)
		last = NULL;
	err = fbs_alloc_simple(&srv->alloc, unit_start, ALLOC_UNIT, last,
			       &unit, 1, &n);
	if (err)
		return err == -E2BIG ? -ENOSPC : err;
	dev_off = unit.dev_off + (start - unit_start);
	err = dev_zero(srv, unit.dev, dev_off, end - start);
	if (err) {
		fbs_alloc_free_simple(&srv->alloc, &unit, 1);
		return err;
	}
	if (!last || !fbs_alloc_merge_simple(&f->last_unit, &unit))
		f->last_unit = unit;
	prev = at ? &f->ext[at - 1] : NULL;
	if (prev && prev->dev == 0 && prev->file_off + prev->len == start &&
	    prev->dev_off + prev->len == dev_off) {
		prev->len += end - start;
	} else {
		for (i = l->nsimple; i > at; i--)
			f->ext[i] = f->ext[i - 1];
		f->ext[at] = (struct fmap_simple_ext){
			.file_off = start, .len = end - start,
			.dev = 0, .dev_off = dev_off,
		};
		l->nsimple++;
	}
	pr_debug("allocated %s [%llu, +%llu) at dev 0 offset %llu", f->name,
		 (unsigned long long)start, (unsigned long long)(end - start),
		 (unsigned long long)dev_off);
	/*
	 * Before the reply: the resolver must know the new extent by the
	 * time the kernel does.  Every old extent is still valid, so the old
	 * slice can go at once (it is reused only after a grace period).  If
	 * the map cannot take it, the resolver falls back to us for it.
	 */
	err = bpf_sync_file(srv, f, &old);
	if (err)
		pr_warn("%s: BPF resolver not updated (%s): the upcall serves it",
			f->name, strerror(-err));
	else if (srv->bpf)
		famfs_loader_free_slice(srv->bpf, &old);
	return 0;
}

/* Where file offset @off lives, from the server's copy of the layout */
static int file_map(const struct fbs_file *f, __u64 off, struct fmap_mapping *m)
{
	const struct fbs_layout *l = &f->layout;

	if (l->kind == FBS_LAYOUT_SIMPLE)
		return l->nsimple ? fmap_simple_resolve(l->simple, l->nsimple, off, m) :
				    -FMAP_ENXIO;
	return l->nileave ? fmap_ileave_find_resolve(l->ileave, l->nileave, off, m) :
			    -FMAP_ENXIO;
}

/*
 * Zero the bytes of the page holding @size that lie past it, on the
 * device: after a shrink they are not file data, and must read as zeroes
 * if the file grows again.  O_DIRECT: the kernel reads DAX devices without
 * their page cache.
 */
static int zero_tail(struct fbs_server *srv, const struct fbs_file *f, __u64 size)
{
	__u64 in_page = size & (PAGE_SIZE_ - 1);
	struct fmap_mapping m;
	void *page = NULL;
	int fd, err;

	if (!in_page)
		return 0;
	err = file_map(f, size, &m);
	if (err == -FMAP_ENXIO)
		return 0;		/* a hole already reads as zeroes */
	if (err || m.dev >= srv->cfg.ndevs)
		return -EIO;
	fd = open(srv->cfg.devs[m.dev].path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = -ENOMEM;
	if (posix_memalign(&page, PAGE_SIZE_, PAGE_SIZE_))
		goto out;
	err = -EIO;
	if (pread(fd, page, PAGE_SIZE_, m.dev_off - in_page) != (ssize_t)PAGE_SIZE_)
		goto out;
	memset((char *)page + in_page, 0, PAGE_SIZE_ - in_page);
	if (pwrite(fd, page, PAGE_SIZE_, m.dev_off - in_page) != (ssize_t)PAGE_SIZE_)
		goto out;
	err = 0;
out:
	if (err)
		pr_warn("%s: zeroing past the new end: %s", f->name, strerror(-err));
	free(page);
	close(fd);
	return err;
}

/*
 * After extents were cut (@what: "a shrink", "a punch"): the resolver's
 * maps follow, or lose the file, so that the program never maps what the
 * file no longer owns; the old slice is reused after a grace period.
 */
static void bpf_sync_cut(struct fbs_server *srv, const struct fbs_file *f,
			 const char *what)
{
	struct famfs_slice old;
	int err = bpf_sync_file(srv, f, &old);

	if (err) {
		pr_warn("%s: BPF resolver not updated after %s (%s): dropping its entry",
			f->name, what, strerror(-err));
		if (!famfs_loader_remove_file(srv->bpf, f->ino, &old))
			famfs_loader_free_slice(srv->bpf, &old);
	} else if (srv->bpf) {
		famfs_loader_free_slice(srv->bpf, &old);
	}
}

/*
 * Shrink @f to @size (truncate, O_TRUNC): cut the extents past the last
 * page so that growing again finds holes, never old bytes, and zero the
 * rest of that page.  The kernel holds the file's locks meanwhile and drops
 * its cached mappings past the new size once we reply.  Space is not
 * reclaimed (the allocator is log-structured).
 */
static int file_shrink(struct fbs_server *srv, struct fbs_file *f, __u64 size)
{
	struct fbs_layout *l = &f->layout;
	__u64 end = (size + PAGE_SIZE_ - 1) & ~(PAGE_SIZE_ - 1);
	__u32 i, n = 0;
	int err;

	err = zero_tail(srv, f, size);
	if (err)
		return err;
	if (l->kind == FBS_LAYOUT_SIMPLE) {
		for (i = 0; i < l->nsimple && f->ext[i].file_off < end; i++, n++)
			if (f->ext[i].file_off + f->ext[i].len > end)
				f->ext[i].len = end - f->ext[i].file_off;
		l->nsimple = n;
	} else {
		for (i = 0; i < l->nileave && l->ileave[i].file_off < end; i++, n++)
			if (l->ileave[i].file_off + l->ileave[i].len > end)
				l->ileave[i].len = end - l->ileave[i].file_off;
		l->nileave = n;
	}
	f->size = size;
	/* the program must not map past the end any more: as for allocation */
	bpf_sync_cut(srv, f, "a shrink");
	return 0;
}

/* A hole from @off to the next extent or the end of the file. */
static __u64 hole_len(const struct fbs_file *f, __u64 off)
{
	const struct fbs_layout *l = &f->layout;
	__u64 end = (f->size + PAGE_SIZE_ - 1) & ~(PAGE_SIZE_ - 1);
	__u32 i;

	/* up to the next extent of either kind: the hole must not cover data */
	if (l->kind == FBS_LAYOUT_SIMPLE) {
		for (i = 0; i < l->nsimple; i++)
			if (l->simple[i].file_off > off &&
			    l->simple[i].file_off < end)
				end = l->simple[i].file_off;
	} else {
		for (i = 0; i < l->nileave; i++)
			if (l->ileave[i].file_off > off &&
			    l->ileave[i].file_off < end)
				end = l->ileave[i].file_off;
	}
	return end > off ? end - off : PAGE_SIZE_;
}

/* The interleaved extent holding @off, whole if it can be said so. */
static int ileave_reply(const struct fbs_server *srv, const struct fbs_file *f,
			__u64 off, struct fuse_fmap_reply *r)
{
	const struct fbs_layout *l = &f->layout;
	__u32 i;

	for (i = 0; i < l->nileave; i++)
		if (off >= l->ileave[i].file_off && off - l->ileave[i].file_off < l->ileave[i].len)
			return fmap_reply_ileave(r, &l->ileave[i], srv->dev_id, srv->cfg.ndevs);
	return -FMAP_ENXIO;
}

static int resolve(struct fbs_server *srv, struct fbs_file *f,
		   const struct fuse_fmap_in *in, struct fuse_fmap_reply *r)
{
	struct fuse_fmap_out *out = &r->out;
	bool write = in->op_flags & FUSE_FMAP_OP_WRITE;
	__u64 off = in->offset & ~(PAGE_SIZE_ - 1);
	bool allocated = false;
	struct fmap_mapping m;
	int err;

	for (;;) {
		err = file_map(f, off, &m);
		if (err != -FMAP_ENXIO || !write)
			break;
		err = alloc_for_write(srv, f, off);
		if (err)
			return err;
		allocated = true;
	}
	if (err == -FMAP_ENXIO) {
		fmap_reply_hole(r, off, hole_len(f, off));
		return 0;
	}
	if (err)
		return -EIO;
	err = -FMAP_ENXIO;
	if (f->layout.kind == FBS_LAYOUT_INTERLEAVED && !srv->cfg.ileave_chunks)
		err = ileave_reply(srv, f, off, r);
	if (err == -FMAP_ENXIO)
		err = fmap_reply_mapped(r, off, &m, srv->dev_id, srv->cfg.ndevs);
	if (err)
		return err;
	/* where readers saw a hole: the kernel drops their zero pages */
	if (allocated)
		out->flags = FUSE_FMAP_FLAG_NEW;
	return 0;
}

/*
 * The whole layout, for FUSE_FMAP_BUILTIN: the format has no holes, so the
 * reply is the part that is contiguous from offset 0, and its file_size
 * says where it stops.  The kernel asks for offsets past it with ordinary
 * FUSE_FMAP requests, which resolve() answers (holes, later extents).
 */
static int build_layout(struct fbs_server *srv, const struct fbs_file *f,
			void **bufp, size_t *lenp)
{
	const struct fbs_layout *l = &f->layout;
	bool simple = l->kind == FBS_LAYOUT_SIMPLE;
	int err = fmap_reply_layout(l->simple, simple ? l->nsimple : 0, l->ileave,
				    simple ? 0 : l->nileave, srv->dev_id, srv->cfg.ndevs,
				    bufp, lenp);

	if (err == -E2BIG)
		pr_warn("%s: %u extents: more than a FUSE_FMAP layout reply carries (%u)",
			f->name, l->nsimple, FUSE_FMAP_MAX_EXTENTS);
	return err;
}

/* Called by the shim for every FUSE_FMAP request. */
static void srv_fmap(void *data, const struct fuse_in_header *in,
		     const struct fuse_fmap_in *arg)
{
	struct fbs_server *srv = data;
	struct fuse_fmap_reply reply = { 0 };
	struct fuse_fmap_out *out = &reply.out;
	struct fbs_file *f;
	void *layout = NULL;
	size_t layout_len = 0, len;
	int err;

	pthread_mutex_lock(&srv->lock);
	srv->fmap_requests++;
	f = file_by_ino(srv, in->nodeid);
	if (!f)
		err = -ENOENT;
	else if (arg->op_flags & FUSE_FMAP_OP_LAYOUT)
		err = build_layout(srv, f, &layout, &layout_len);
	else
		err = resolve(srv, f, arg, &reply);
	len = fmap_reply_len(&reply);
	if (srv->hook && !layout)
		srv->hook(srv, in->nodeid, arg, &reply, &len, &err, srv->hook_data);
	pthread_mutex_unlock(&srv->lock);

	pr_debug("FMAP node %llu off %llu len %llu op %#x -> %d type %u off %llu len %llu dev %u at %llu",
		 (unsigned long long)in->nodeid, (unsigned long long)arg->offset,
		 (unsigned long long)arg->length, arg->op_flags, err, out->type,
		 (unsigned long long)out->offset, (unsigned long long)out->length,
		 out->dev_id, (unsigned long long)out->dev_offset);
	if (layout)
		fbs_shim_reply(srv->shim, in->unique, err, layout, layout_len);
	else
		fbs_shim_reply(srv->shim, in->unique, err, &reply,
			       len <= sizeof(reply) ? len : sizeof(reply));
	free(layout);
}

/*
 * FUSE_FMAP_END: a write moved EOF, and its bytes are on the device.  The
 * size is never taken from FUSE_FMAP requests: a short write would leave it
 * too large.  A size that shrinks the file is a confused kernel: refused.
 */
static int srv_fmap_end(void *data, const struct fuse_in_header *in,
			const struct fuse_fmap_end_in *arg)
{
	struct fbs_server *srv = data;
	struct fbs_file *f;
	int err = 0;

	if (arg->flags || arg->padding || arg->size > INT64_MAX ||
	    arg->size < arg->offset || arg->size - arg->offset != arg->length)
		return -EINVAL;
	pthread_mutex_lock(&srv->lock);
	srv->fmap_end_requests++;
	while (srv->fmap_end_mode == FBS_FMAP_END_STALL)
		pthread_cond_wait(&srv->fmap_end_cond, &srv->lock);
	f = file_by_ino(srv, in->nodeid);
	if (srv->fmap_end_mode == FBS_FMAP_END_ENOSYS) {
		err = -ENOSYS;
	} else if (!f) {
		err = -ENOENT;
	} else if (arg->size > f->size) {
		f->size = arg->size;
		if (srv->bpf)
			famfs_loader_set_size(srv->bpf, f->ino, f->size);
	}
	pthread_mutex_unlock(&srv->lock);
	pr_debug("FMAP_END node %llu off %llu len %llu size %llu -> %d",
		 (unsigned long long)in->nodeid,
		 (unsigned long long)arg->offset,
		 (unsigned long long)arg->length,
		 (unsigned long long)arg->size, err);
	return err;
}

static bool srv_is_mapped(void *data, __u64 nodeid)
{
	struct fbs_server *srv = data;
	bool mapped;

	pthread_mutex_lock(&srv->lock);
	mapped = file_by_ino(srv, nodeid) != NULL;
	pthread_mutex_unlock(&srv->lock);
	return mapped;
}

/* Every file of a server of block devices (fbs_config.block_files) */
static bool srv_is_block(void *data, __u64 nodeid)
{
	struct fbs_server *srv = data;

	return srv->cfg.block_files && srv_is_mapped(data, nodeid);
}

/* ---- lowlevel operations ---- */

static struct fbs_server *req_srv(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Replies go out after srv->lock is dropped: the shim asks is_mapped(). */
static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fbs_server *srv = req_srv(req);
	struct fuse_entry_param e = {
		.generation = 1, .attr_timeout = 1.0, .entry_timeout = 1.0,
	};
	struct fbs_file *f;

	if (parent != ROOT_INO)
		return (void)fuse_reply_err(req, ENOENT);
	pthread_mutex_lock(&srv->lock);
	f = file_by_name(srv, name);
	if (f) {
		e.ino = f->ino;
		file_stat(f, &e.attr);
	}
	pthread_mutex_unlock(&srv->lock);
	if (!f)
		return (void)fuse_reply_err(req, ENOENT);
	fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fbs_server *srv = req_srv(req);
	struct fbs_file *f;
	struct stat st;

	(void)fi;
	if (ino == ROOT_INO) {
		root_stat(&st);
		return (void)fuse_reply_attr(req, &st, 1.0);
	}
	pthread_mutex_lock(&srv->lock);
	f = file_by_ino(srv, ino);
	if (f)
		file_stat(f, &st);
	pthread_mutex_unlock(&srv->lock);
	if (!f)
		return (void)fuse_reply_err(req, ENOENT);
	fuse_reply_attr(req, &st, 1.0);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct fbs_server *srv = req_srv(req);
	struct fbs_file *f;
	struct stat st;
	int err = 0;

	(void)fi;
	if (ino == ROOT_INO) {
		root_stat(&st);
		return (void)fuse_reply_attr(req, &st, 1.0);
	}
	pthread_mutex_lock(&srv->lock);
	f = file_by_ino(srv, ino);
	if (f) {
		/* the kernel drops its cached mappings beyond a new size */
		if ((to_set & FUSE_SET_ATTR_SIZE) && (__u64)attr->st_size < f->size) {
			err = file_shrink(srv, f, attr->st_size);
		} else if (to_set & FUSE_SET_ATTR_SIZE) {
			f->size = attr->st_size;
			if (srv->bpf)
				famfs_loader_set_size(srv->bpf, f->ino, f->size);
		}
		if (!err && (to_set & FUSE_SET_ATTR_SIZE))
			file_touch(f);
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			clock_gettime(CLOCK_REALTIME, &f->mtime);
		else if (to_set & FUSE_SET_ATTR_MTIME)
			f->mtime = attr->st_mtim;
		if (to_set & FUSE_SET_ATTR_CTIME)
			f->ctime = attr->st_ctim;
		file_stat(f, &st);
	}
	pthread_mutex_unlock(&srv->lock);
	if (!f)
		return (void)fuse_reply_err(req, ENOENT);
	if (err)
		return (void)fuse_reply_err(req, -err);
	fuse_reply_attr(req, &st, 1.0);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fbs_server *srv = req_srv(req);
	struct fbs_file *f;
	int err = 0;

	pthread_mutex_lock(&srv->lock);
	f = file_by_ino(srv, ino);
	/* atomic O_TRUNC (libfuse's default): the open truncates */
	if (f && (fi->flags & O_TRUNC) && f->size)
		err = file_shrink(srv, f, 0);
	if (f && (fi->flags & O_TRUNC) && !err)
		file_touch(f);
	pthread_mutex_unlock(&srv->lock);
	if (!f)
		return (void)fuse_reply_err(req, ENOENT);
	if (err)
		return (void)fuse_reply_err(req, -err);
	fuse_reply_open(req, fi);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static struct fbs_file *file_new(struct fbs_server *srv, const char *name,
				 int *err)
{
	unsigned int i;

	if (strlen(name) > FBS_NAME_MAX) {
		*err = -ENAMETOOLONG;
		return NULL;
	}
	if (file_by_name(srv, name)) {
		*err = -EEXIST;
		return NULL;
	}
	for (i = 0; i < FBS_MAX_FILES; i++) {
		struct fbs_file *f = &srv->files[i];

		if (f->used)
			continue;
		memset(f, 0, sizeof(*f));
		f->used = true;
		strcpy(f->name, name);
		f->ino = srv->next_ino++;
		f->layout.kind = FBS_LAYOUT_SIMPLE;
		file_touch(f);
		return f;
	}
	*err = -ENOSPC;
	return NULL;
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct fbs_server *srv = req_srv(req);
	struct fuse_entry_param e = {
		.generation = 1, .attr_timeout = 1.0, .entry_timeout = 1.0,
	};
	struct fbs_file *f;
	int err = 0;

	if (parent != ROOT_INO)
		return (void)fuse_reply_err(req, ENOENT);
	if (!S_ISREG(mode))
		return (void)fuse_reply_err(req, EPERM);
	pthread_mutex_lock(&srv->lock);
	f = file_new(srv, name, &err);
	if (f) {
		e.ino = f->ino;
		file_stat(f, &e.attr);
	}
	pthread_mutex_unlock(&srv->lock);
	if (!f)
		return (void)fuse_reply_err(req, -err);
	fuse_reply_create(req, &e, fi);
}

static void srv_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	fbs_shim_conn_init(conn);
}

static const struct fuse_lowlevel_ops fbs_ops = {
	.init = srv_init,
	.lookup = op_lookup,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.open = op_open,
	.release = op_release,
	.create = op_create,
};

/* ---- life cycle ---- */

static int register_dev(struct fbs_server *srv, unsigned int i)
{
	const struct fbs_dev_spec *spec = &srv->cfg.devs[i];
	struct fuse_backing_map map = { .flags = FUSE_BACKING_FMAP };
	int fd, id, err = 0;

	fd = open(spec->path, spec->read_only ? O_RDONLY : O_RDWR);
	if (fd < 0) {
		err = -errno;
		pr_err("%s: %s", spec->path, strerror(errno));
		return err;
	}
	if (ioctl(fd, BLKGETSIZE64, &srv->devs[i].size)) {
		err = -errno;
		pr_err("%s: not a block device: %s", spec->path, strerror(errno));
		goto out;
	}
	map.fd = fd;
	id = ioctl(srv->fuse_fd, FUSE_DEV_IOC_BACKING_OPEN, &map);
	if (id < 0) {
		err = -errno;
		pr_err("%s: registering with the connection: %s%s", spec->path,
		       strerror(errno), errno == EOPNOTSUPP || errno == EINVAL ?
		       " (kernel without CONFIG_FUSE_FMAP?)" :
		       errno == EBUSY ?
		       " (another mount or file system holds its DAX device)" : "");
		goto out;
	}
	srv->dev_id[i] = id;
	srv->devs[i].read_only = spec->read_only;
	pr_info("%s: device %u, kernel id %d, %llu bytes%s", spec->path, i, id,
		(unsigned long long)srv->devs[i].size,
		spec->read_only ? ", read-only" : "");
out:
	close(fd);	/* the connection holds its own reference */
	return err;
}

int fbs_server_create(const struct fbs_config *cfg, struct fbs_server **srvp)
{
	static char *argv[] = { "famfs-bpf", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	struct fbs_shim_ops shim_ops = {
		.fmap = srv_fmap,
		.fmap_end = srv_fmap_end,
		.is_mapped = srv_is_mapped,
		.is_block = srv_is_block,
		.init_flags = FUSE_HAS_FMAP,
	};
	struct fbs_alloc_geom geom;
	struct fbs_server *srv;
	char opts[128];
	unsigned int i;
	int err;

	if (!cfg->mountpoint || !cfg->ndevs || cfg->ndevs > FBS_MAX_DEVS)
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->cfg = *cfg;
	srv->next_ino = FIRST_INO;
	srv->fuse_fd = -1;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->fmap_end_cond, NULL);

	srv->fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (srv->fuse_fd < 0) {
		err = -errno;
		pr_err("/dev/fuse: %s", strerror(errno));
		goto err_free;
	}
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions",
		 srv->fuse_fd);
	if (mount("famfs-bpf", cfg->mountpoint, "fuse.famfs-bpf",
		  MS_NOSUID | MS_NODEV, opts)) {
		err = -errno;
		pr_err("mount %s: %s", cfg->mountpoint, strerror(errno));
		goto err_close;
	}
	srv->mounted = true;
	/* not stat(): requests wait for INIT, which nobody serves yet */
	err = mountinfo_find(cfg->mountpoint, NULL, &srv->conn, NULL, 0);
	if (err)
		goto err_umount;

	/* before the first LOOKUP: the kernel decides S_DAX at inode setup */
	for (i = 0; i < cfg->ndevs; i++) {
		err = register_dev(srv, i);
		if (err)
			goto err_umount;
	}
	geom.size = srv->devs[0].size;
	geom.start = srv->cfg.alloc_start;
	geom.end = srv->devs[0].size;
	err = fbs_alloc_init(&srv->alloc, &geom, 1);
	if (err) {
		pr_err("%s: no room to allocate in [%llu, %llu): %s",
		       srv->cfg.devs[0].path, (unsigned long long)geom.start,
		       (unsigned long long)geom.end, strerror(-err));
		goto err_umount;
	}

	if (cfg->resolver == FBS_RESOLVER_BUILTIN)
		shim_ops.init_flags |= FUSE_FMAP_BUILTIN;
	if (cfg->resolver == FBS_RESOLVER_BPF) {
		struct famfs_loader_opts lo = {
			.fuse_fd = srv->fuse_fd,
			.conn_id = srv->conn,
			.max_files = cfg->bpf_max_files,
			.max_simple = cfg->bpf_max_simple,
			.max_ileave = cfg->bpf_max_ileave,
		};

		/* loaded and pinned now, attached once INIT is done */
		err = famfs_loader_open(&lo, &srv->bpf);
		if (err)
			goto err_umount;
	}
	srv->se = fuse_session_new(&args, &fbs_ops, sizeof(fbs_ops), srv);
	if (!srv->se) {
		err = -ENOMEM;
		goto err_umount;
	}
	err = fbs_shim_attach(srv->se, srv->fuse_fd, &shim_ops, srv, &srv->shim);
	if (err)
		goto err_session;
	*srvp = srv;
	return 0;

err_session:
	fuse_session_destroy(srv->se);
err_umount:
	fbs_alloc_fini(&srv->alloc);
	famfs_loader_close(srv->bpf);
	umount2(cfg->mountpoint, MNT_DETACH);
err_close:
	close(srv->fuse_fd);
err_free:
	pthread_cond_destroy(&srv->fmap_end_cond);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
	return err;
}

int fbs_server_add_file(struct fbs_server *srv, const char *name, __u64 size,
			const struct fbs_layout *layout)
{
	struct fbs_file *f;
	int err = layout_check(srv, layout);

	if (err) {
		pr_err("%s: bad layout: %s", name, strerror(-err));
		return err;
	}
	pthread_mutex_lock(&srv->lock);
	f = file_new(srv, name, &err);
	if (f) {
		struct famfs_slice old;

		f->size = size;
		err = file_copy_layout(f, layout);
		/* into the resolver before anyone can look the file up */
		if (!err)
			err = bpf_sync_file(srv, f, &old);
		if (err) {
			pr_err("%s: not added: %s", name, strerror(-err));
			file_free(f);
		}
	}
	pthread_mutex_unlock(&srv->lock);
	return err;
}

int fbs_server_shrink_silently(struct fbs_server *srv, const char *name,
			       __u64 size)
{
	struct fbs_file *f;
	int err = -ENOENT;

	pthread_mutex_lock(&srv->lock);
	f = file_by_name(srv, name);
	if (f)
		err = size < f->size ? file_shrink(srv, f, size) : -EINVAL;
	pthread_mutex_unlock(&srv->lock);
	return err;
}

int fbs_server_set_layout(struct fbs_server *srv, const char *name,
			  const struct fbs_layout *layout)
{
	struct fuse_notify_fmap_inval_out inval = { 0 };
	struct famfs_slice old = { 0 };
	struct fbs_file *f, saved;
	int err = layout_check(srv, layout);

	if (err)
		return err;
	pthread_mutex_lock(&srv->lock);
	f = file_by_name(srv, name);
	if (!f) {
		err = -ENOENT;
		goto unlock;
	}
	/* the new layout in the server, then in the resolver's maps */
	saved = *f;
	f->ext = NULL;
	err = file_copy_layout(f, layout);
	if (!err)
		err = bpf_sync_file(srv, f, &old);
	if (err) {
		free(f->ext);
		*f = saved;
		pr_err("%s: layout not changed: %s", name, strerror(-err));
		goto unlock;
	}
	free(saved.ext);
	inval.nodeid = f->ino;
unlock:
	pthread_mutex_unlock(&srv->lock);
	if (err)
		return err;
	/* then the kernel forgets the old mappings... */
	err = fbs_shim_notify(srv->shim, FUSE_NOTIFY_FMAP_INVAL, &inval,
			      sizeof(inval));
	/* ...and only then may the old extents' slice be reused */
	if (srv->bpf) {
		pthread_mutex_lock(&srv->lock);
		famfs_loader_free_slice(srv->bpf, &old);
		pthread_mutex_unlock(&srv->lock);
	}
	return err;
}

int fbs_server_forget(struct fbs_server *srv, const char *name)
{
	struct fuse_notify_fmap_inval_out inval = { 0 };
	struct fbs_file *f;

	pthread_mutex_lock(&srv->lock);
	f = file_by_name(srv, name);
	if (f)
		inval.nodeid = f->ino;
	pthread_mutex_unlock(&srv->lock);
	if (!f)
		return -ENOENT;
	return fbs_shim_notify(srv->shim, FUSE_NOTIFY_FMAP_INVAL, &inval,
			       sizeof(inval));
}

void fbs_server_set_fmap_hook(struct fbs_server *srv, fbs_fmap_hook_t hook,
			      void *data)
{
	pthread_mutex_lock(&srv->lock);
	srv->hook = hook;
	srv->hook_data = data;
	pthread_mutex_unlock(&srv->lock);
}

int fbs_server_dev_id(const struct fbs_server *srv, unsigned int index)
{
	return index < srv->cfg.ndevs ? srv->dev_id[index] : -EINVAL;
}

int fbs_server_conn_dir(const struct fbs_server *srv, char *buf, size_t size)
{
	snprintf(buf, size, "/sys/fs/fuse/connections/%u", srv->conn);
	return 0;
}

/* End the connection even while files are still open on it. */
static void abort_conn(const struct fbs_server *srv)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort",
		 srv->conn);
	fd = open(path, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0)
			pr_warn("%s: %s", path, strerror(errno));
		close(fd);
	}
}

unsigned long fbs_server_fmap_requests(const struct fbs_server *srv)
{
	return __atomic_load_n(&srv->fmap_requests, __ATOMIC_RELAXED);
}

void fbs_server_set_fmap_end_mode(struct fbs_server *srv,
				  enum fbs_fmap_end_mode mode)
{
	pthread_mutex_lock(&srv->lock);
	srv->fmap_end_mode = mode;
	pthread_cond_broadcast(&srv->fmap_end_cond);
	pthread_mutex_unlock(&srv->lock);
}

unsigned long fbs_server_fmap_end_requests(const struct fbs_server *srv)
{
	return __atomic_load_n(&srv->fmap_end_requests, __ATOMIC_RELAXED);
}

struct famfs_loader *fbs_server_loader(const struct fbs_server *srv)
{
	return srv->bpf;
}

int fbs_server_file_extents(struct fbs_server *srv, const char *name,
			    struct fmap_simple_ext *ext, __u32 max)
{
	struct fbs_file *f;
	int n;

	pthread_mutex_lock(&srv->lock);
	f = file_by_name(srv, name);
	if (!f)
		n = -ENOENT;
	else if (f->layout.kind != FBS_LAYOUT_SIMPLE)
		n = -EINVAL;
	else {
		n = f->layout.nsimple;
		memcpy(ext, f->layout.simple,
		       (n < (int)max ? n : (int)max) * sizeof(*ext));
	}
	pthread_mutex_unlock(&srv->lock);
	return n;
}

int fbs_server_fuse_fd(const struct fbs_server *srv)
{
	return fuse_session_fd(srv->se);
}

/*
 * Attach the BPF resolver: the kernel binds it only to a connection that
 * finished INIT, and a stat() of the mountpoint returns after INIT.  Needs
 * the session loop running in another thread.
 */
static int attach_resolver(struct fbs_server *srv)
{
	struct stat st;

	if (!srv->bpf)
		return 0;
	if (stat(srv->cfg.mountpoint, &st)) {
		int err = -errno;

		pr_err("%s: %s", srv->cfg.mountpoint, strerror(-err));
		return err;
	}
	return famfs_loader_attach(srv->bpf);
}

static void *attach_thread(void *arg)
{
	struct fbs_server *srv = arg;

	if (attach_resolver(srv))
		pr_warn("serving without the BPF resolver: every miss is an upcall");
	return NULL;
}

static int session_loop(struct fbs_server *srv)
{
	int ret = fuse_session_loop(srv->se);

	pr_debug("session loop ended: %d", ret);
	return ret < 0 ? -EIO : 0;
}

int fbs_server_run(struct fbs_server *srv)
{
	if (srv->bpf &&
	    !pthread_create(&srv->attach_thread, NULL, attach_thread, srv))
		srv->attach_running = true;
	return session_loop(srv);
}

/* fbs_server_start() attaches the resolver itself */
static void *serve_thread(void *arg)
{
	session_loop(arg);
	return NULL;
}

int fbs_server_start(struct fbs_server *srv)
{
	int err = pthread_create(&srv->thread, NULL, serve_thread, srv);

	if (err)
		return -err;
	srv->thread_running = true;
	return attach_resolver(srv);
}

void fbs_server_destroy(struct fbs_server *srv)
{
	if (!srv)
		return;
	if (srv->attach_running)
		pthread_join(srv->attach_thread, NULL);
	/* a stalled FUSE_FMAP_END would keep the serving thread forever */
	fbs_server_set_fmap_end_mode(srv, FBS_FMAP_END_ANSWER);
	/* the upcall serves whatever is still in flight */
	famfs_loader_detach(srv->bpf);
	/* unmounting ends the loop: its read(2) of /dev/fuse fails */
	fuse_session_exit(srv->se);
	if (srv->mounted && umount2(srv->cfg.mountpoint, 0)) {
		umount2(srv->cfg.mountpoint, MNT_DETACH);
		abort_conn(srv);	/* busy: still wake the loop */
	}
	if (srv->thread_running)
		pthread_join(srv->thread, NULL);
	fuse_session_destroy(srv->se);	/* closes the /dev/fuse fd */
	fbs_shim_free(srv->shim);
	famfs_loader_close(srv->bpf);	/* unpins */
	for (unsigned int i = 0; i < FBS_MAX_FILES; i++)
		free(srv->files[i].ext);
	fbs_alloc_fini(&srv->alloc);
	pthread_cond_destroy(&srv->fmap_end_cond);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
