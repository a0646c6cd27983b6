// SPDX-License-Identifier: GPL-2.0
/*
 * fsd: the famfs-bpf daemon (fsd.h).  libfuse lowlevel operations over
 * fs.h, the FUSE_FMAP and FUSE_FMAP_END handlers the shim calls, and the
 * mount's life cycle.
 *
 * Inode numbers are the namespace's (the root is 1, FUSE_ROOT_ID, and
 * numbers are never reused), so no table maps node ids; lookup counts are
 * not kept: an inode lives as long as the namespace says, and open files
 * hold it with fs_open_ref() until their release.
 *
 * Locking: fs.c and ns.c lock themselves.  @space orders fresh space
 * against its readers: whoever allocates (or truncates) holds it
 * exclusively until the new space is zeroed on the device, and every
 * FUSE_FMAP reply is built under it shared, so no mapping of space that
 * still holds an old file's bytes ever reaches the kernel.  Replies are
 * sent with no lock held: the shim calls back (is_mapped) on the way out.
 *
 * The BPF resolver's maps follow the namespace under @space held
 * exclusively (which also serialises the loader, not thread-safe itself):
 *  - new space: the file's entry is rewritten after the space is zeroed
 *    and before the FUSE_FMAP reply, so the program knows an extent no
 *    later than the kernel does;
 *  - truncate, unlink, rename over a file: the entry goes (or is cut)
 *    before fs.c may free the space, so the program never maps space
 *    another file may get.  No FUSE_NOTIFY_FMAP_INVAL is sent from these
 *    handlers: the kernel holds the file's i_rwsem while it waits for our
 *    reply, and the notification takes it (a deadlock).  It needs none:
 *    it drops the mappings past a new size around the truncate itself;
 *    an unlinked file that is open keeps its space until its last
 *    release, after the kernel dropped them at the last close (fs.h),
 *    and one that is not has no reads, writes or mappings to drop;
 *  - sizes follow FUSE_FMAP_END and setattr (for bpftool; the program
 *    does not map by them).
 * An orphan (unlinked, still open) has no entry: the upcall serves it.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>

#include "famfs_xattr.h"
#include "fs.h"
#include "fsd.h"
#include "fuse_shim.h"
#include "loader.h"
#include "log.h"

#define PAGE		4096ULL
#define UNIT		FAMFS_ALLOC_UNIT
#define TIMEOUT		1.0		/* attribute and entry cache, seconds */
/* space asked for at once by a write: fewer upcalls and log entries */
#define ALLOC_AHEAD	(16ULL << 20)
#define ZERO_CHUNK	(1ULL << 20)
#define VMLINUX_BTF	"/sys/kernel/btf/vmlinux"
/* the kernel's struct_ops type that the resolver implements */
#define FMAP_OPS_TYPE	"fuse_fmap_ops"

/* A stripe policy set through user.famfs.stripe, on a file or a directory. */
struct fsd_policy {
	__u64 ino;
	struct fs_stripe stripe;
};

struct fsd {
	struct fbs_shim *shim;	/* first: the shim finds itself here */
	struct fs *fs;
	struct ns *ns;
	char mnt[PATH_MAX];
	struct fuse_session *se;
	int fuse_fd;
	bool mounted;
	unsigned int minor;	/* the mount's device: names its connection */
	unsigned int ndevs;
	int dev_id[FAMFS_MAX_DEVS];	/* the kernel's ids */
	int zfd[FAMFS_MAX_DEVS];	/* O_DIRECT: what DAX reads is the media */
	pthread_rwlock_t space;
	bool zero_failed;	/* fresh space may hold old bytes: map nothing */
	enum fsd_resolver resolver;
	struct famfs_loader *bpf;	/* NULL: every miss is an upcall */
	pthread_mutex_t pol_lock;	/* @pol */
	struct fsd_policy *pol;
	size_t npol, cappol;
	char msg[256];		/* why fsd_run()'s @ready got an error */
	void (*ready)(void *ctx, int err);
	void *ready_ctx;
};

static __u64 round_up(__u64 v, __u64 to)
{
	return (v + to - 1) & ~(to - 1);
}

static __u64 min_u64(__u64 a, __u64 b)
{
	return a < b ? a : b;
}

/* ---- layouts ---- */

struct lay {
	struct fmap_simple_ext *simple;
	__u32 nsimple, cap;
	struct fmap_ileave_ext ileave[FMAP_MAX_ILEAVE];
	__u32 nileave;
};

static int lay_copy(void *ctx, __u64 ino, const struct fmap_simple_ext *simple,
		    __u32 nsimple, const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	struct lay *l = ctx;

	(void)ino;
	if (nileave > FMAP_MAX_ILEAVE)
		return -EFBIG;
	if (nsimple > l->cap) {
		struct fmap_simple_ext *p = realloc(l->simple, (size_t)nsimple * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->simple = p;
		l->cap = nsimple;
	}
	if (nsimple)
		memcpy(l->simple, simple, (size_t)nsimple * sizeof(*simple));
	if (nileave)
		memcpy(l->ileave, ileave, (size_t)nileave * sizeof(*ileave));
	l->nsimple = nsimple;
	l->nileave = nileave;
	return 0;
}

static int lay_get(struct fsd *d, __u64 ino, struct lay *l)
{
	l->nsimple = l->nileave = 0;
	return ns_get_layout(d->ns, ino, lay_copy, l);
}

/* Where @off lives; -FMAP_ENXIO in a hole.  *@ie: its interleaved extent. */
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

/* The first extent start above @off, or ~0. */
static __u64 lay_next(const struct lay *l, __u64 off)
{
	__u64 next = ~0ULL;
	__u32 i;

	for (i = 0; i < l->nsimple; i++)
		if (l->simple[i].file_off > off) {
			next = l->simple[i].file_off;	/* sorted */
			break;
		}
	for (i = 0; i < l->nileave; i++)
		if (l->ileave[i].file_off > off)
			next = min_u64(next, l->ileave[i].file_off);
	return next;
}

/* ---- zeroing on the device ---- */

/*
 * Write zeroes over [off, off + len) of device @dev, through O_DIRECT: the
 * pages at either end that the range covers only partly are read,
 * patched and written back.
 */
static int dev_zero(struct fsd *d, __u32 dev, __u64 off, __u64 len)
{
	__u64 end = off + len, pos = off & ~(PAGE - 1), stop = round_up(end, PAGE);
	void *buf;
	int err = 0;

	if (!len)
		return 0;
	if (dev >= d->ndevs || end < off)
		return -EIO;
	if (posix_memalign(&buf, PAGE, ZERO_CHUNK))
		return -ENOMEM;
	while (pos < stop && !err) {
		__u64 n = min_u64(stop - pos, ZERO_CHUNK);
		__u64 head = off > pos ? off - pos : 0;
		__u64 tail = pos + n > end ? pos + n - end : 0;

		if ((head || tail) && pread(d->zfd[dev], buf, n, pos) != (ssize_t)n) {
			err = -EIO;
			break;
		}
		memset((char *)buf + head, 0, n - head - tail);
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
static int zero_mapped(struct fsd *d, const struct lay *l, __u64 start, __u64 end)
{
	const struct fmap_ileave_ext *ie;
	struct fmap_mapping m;
	__u64 pos = start, n;
	int err;

	while (pos < end) {
		err = lay_map(l, pos, &m, &ie);
		if (err == -FMAP_ENXIO) {
			pos = lay_next(l, pos);
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

/* Zero what @new maps and @old did not: the space an allocation added. */
static int zero_fresh(struct fsd *d, const struct lay *old, const struct lay *new)
{
	const struct fmap_ileave_ext *ie;
	struct fmap_mapping m;
	__u64 start, end, pos, stop;
	__u32 i, nranges = new->nsimple + new->nileave;
	int err;

	for (i = 0; i < nranges; i++) {
		if (i < new->nsimple) {
			start = new->simple[i].file_off;
			end = start + new->simple[i].len;
		} else {
			start = new->ileave[i - new->nsimple].file_off;
			end = start + new->ileave[i - new->nsimple].len;
		}
		for (pos = start; pos < end; pos = stop) {
			err = lay_map(old, pos, &m, &ie);
			if (!err) {
				stop = pos + min_u64(m.len, end - pos);
				continue;
			}
			if (err != -FMAP_ENXIO)
				return err;
			stop = min_u64(lay_next(old, pos), end);
			err = zero_mapped(d, new, pos, stop);
			if (err)
				return err;
		}
	}
	return 0;
}

/* ---- the BPF resolver's maps ---- */

/*
 * Point the resolver's entry for @ino at what the namespace says now, with
 * kernel device ids, or leave the file out: an orphan (nlink 0), a layout
 * that mixes simple and interleaved extents (one kind per file in the
 * maps), one the maps cannot hold (never cut: the upcall serves it).  The
 * slice the file had goes back at once: here a layout only grew, or the
 * caller took the file out first (bpf_unmap()).  @space held exclusively.
 */
static void bpf_sync(struct fsd *d, __u64 ino)
{
	struct fmap_ileave_ext ileave[FMAP_MAX_ILEAVE];
	struct famfs_file_extents fe = { 0 };
	struct famfs_slice old = { 0 };
	struct lay l = { 0 };
	struct ns_attr a;
	__u32 i, s;
	int err;

	if (!d->bpf)
		return;
	err = ns_getattr(d->ns, ino, &a);
	if (!err && (!S_ISREG(a.mode) || !a.nlink))
		err = -ENOENT;
	if (!err)
		err = lay_get(d, ino, &l);
	if (!err && l.nsimple && l.nileave) {
		/* fs.c: simple extents after FMAP_MAX_ILEAVE it could not grow in place */
		pr_info("ino %llu: simple and interleaved extents: its misses go by upcall",
			(unsigned long long)ino);
		err = -E2BIG;
	}
	fe.size = a.size;
	for (i = 0; !err && i < l.nileave; i++) {
		ileave[i] = l.ileave[i];
		/* unused strips stay zero (fmap_ileave_check) */
		for (s = 0; s < (1U << l.ileave[i].strip_shift) && !err; s++) {
			if (l.ileave[i].strips[s].dev >= d->ndevs)
				err = -EIO;
			else
				ileave[i].strips[s].dev = d->dev_id[l.ileave[i].strips[s].dev];
		}
	}
	for (i = 0; !err && i < l.nsimple; i++) {
		if (l.simple[i].dev >= d->ndevs)
			err = -EIO;
		else
			l.simple[i].dev = d->dev_id[l.simple[i].dev];	/* our copy */
	}
	if (err == -EIO)
		pr_err("ino %llu: an extent on no device: its misses go by upcall",
		       (unsigned long long)ino);
	if (!err) {
		fe.kind = l.nileave ? FAMFS_FILE_INTERLEAVED : FAMFS_FILE_SIMPLE;
		fe.n = l.nileave ? l.nileave : l.nsimple;
		fe.simple = l.simple;
		fe.ileave = ileave;
		err = famfs_loader_set_file(d->bpf, ino, &fe, &old);
		if (err)
			pr_info("ino %llu: not in the BPF resolver's maps (%s): its misses go by upcall",
				(unsigned long long)ino, strerror(-err));
	}
	/* not in the maps: the program sends the kernel to us for it */
	if (err && famfs_loader_remove_file(d->bpf, ino, &old))
		old.kind = 0;
	if (old.kind)
		famfs_loader_free_slice(d->bpf, &old);
	free(l.simple);
}

/* Take @ino out of the maps before its space may be freed; @space held. */
static void bpf_unmap(struct fsd *d, __u64 ino)
{
	struct famfs_slice old;

	/* freed entries are reused only after a grace period (loader.h) */
	if (d->bpf && !famfs_loader_remove_file(d->bpf, ino, &old))
		famfs_loader_free_slice(d->bpf, &old);
}

/* The entries of every regular file, before the first LOOKUP. */
struct ino_list {
	__u64 *ino;
	size_t n, cap;
};

static int collect_file(void *ctx, const struct ns_attr *a)
{
	struct ino_list *li = ctx;

	if (!S_ISREG(a->mode))
		return 0;
	if (li->n == li->cap) {
		size_t cap = li->cap ? 2 * li->cap : 256;
		__u64 *p = realloc(li->ino, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		li->ino = p;
		li->cap = cap;
	}
	li->ino[li->n++] = a->ino;
	return 0;
}

/*
 * Whether the running kernel can take the resolver: its BTF names the
 * struct_ops type.  A cheap look at the string table, so that the
 * automatic choice says why in one line instead of libbpf's many.
 */
static const char *bpf_missing(void)
{
	static const char name[] = "\0" FMAP_OPS_TYPE "\0";
	const char *why = "the kernel has no " FMAP_OPS_TYPE " (CONFIG_FUSE_FMAP_BPF)";
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd = open(VMLINUX_BTF, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return "no kernel BTF (" VMLINUX_BTF ")";
	for (;;) {
		if (len == cap) {
			char *p = realloc(buf, cap ? 2 * cap : 8 << 20);

			if (!p) {
				why = "out of memory";
				break;
			}
			buf = p;
			cap = cap ? 2 * cap : 8 << 20;
		}
		n = read(fd, buf + len, cap - len);
		if (n <= 0) {
			if (n < 0)
				why = "cannot read " VMLINUX_BTF;
			else if (memmem(buf, len, name, sizeof(name) - 1))
				why = NULL;
			break;
		}
		len += n;
	}
	free(buf);
	close(fd);
	return why;
}

/*
 * Load the resolver and fill its maps (not attached yet: that needs INIT
 * done).  FSD_RESOLVER_AUTO falls back to upcall with one warning.
 */
static int bpf_load(struct fsd *d, char *msg, size_t msglen)
{
	struct famfs_loader_opts lo = { .fuse_fd = d->fuse_fd, .conn_id = d->minor };
	struct ino_list li = { 0 };
	const char *why;
	size_t i;
	int err;

	if (d->resolver == FSD_RESOLVER_UPCALL)
		return 0;
	why = bpf_missing();
	if (why) {
		if (d->resolver == FSD_RESOLVER_BPF)
			return fbs_fail(msg, msglen, -ENOPKG,
					"resolver=bpf: cannot load the BPF resolver: %s", why);
		pr_warn("BPF resolver not loaded (%s): every mapping miss is an upcall", why);
		return 0;
	}
	err = ns_foreach_inode(d->ns, collect_file, &li);
	if (err) {
		free(li.ino);
		return fbs_fail(msg, msglen, err, "listing the files: %s", strerror(-err));
	}
	/* room to grow; a file that finds none later is served by upcall */
	if (2 * li.n > FAMFS_DEF_MAX_FILES)
		lo.max_files = 2 * li.n < (1U << 20) ? 2 * li.n : 1U << 20;
	err = famfs_loader_open(&lo, &d->bpf);
	if (err) {
		free(li.ino);
		d->bpf = NULL;
		if (d->resolver == FSD_RESOLVER_BPF)
			return fbs_fail(msg, msglen, -ENOPKG,
					"resolver=bpf: cannot load the BPF resolver: %s",
					strerror(-err));
		pr_warn("BPF resolver not loaded (%s): every mapping miss is an upcall",
			strerror(-err));
		return 0;
	}
	for (i = 0; i < li.n; i++)
		bpf_sync(d, li.ino[i]);
	pr_info("BPF resolver loaded, %zu files in %s", li.n, famfs_loader_pin_dir(d->bpf));
	free(li.ino);
	return 0;
}

/* Once INIT is answered.  An error only when the resolver was asked for. */
static int bpf_attach(struct fsd *d)
{
	int err;

	if (!d->bpf)
		return 0;
	err = famfs_loader_attach(d->bpf);
	if (!err)
		return 0;
	if (d->resolver == FSD_RESOLVER_BPF) {
		snprintf(d->msg, sizeof(d->msg),
			 "resolver=bpf: cannot attach the BPF resolver to the connection: %s",
			 strerror(-err));
		/* no mount without it: the loop ends, the daemon exits */
		umount2(d->mnt, MNT_DETACH);
		return err;
	}
	pr_warn("BPF resolver not attached (%s): every mapping miss is an upcall",
		strerror(-err));
	pthread_rwlock_wrlock(&d->space);
	famfs_loader_close(d->bpf);
	d->bpf = NULL;
	pthread_rwlock_unlock(&d->space);
	return 0;
}

bool fsd_bpf_attached(const struct fsd *d)
{
	return famfs_loader_attached(d->bpf);
}

/* ---- FUSE_FMAP ---- */

/* The reply for @off, which @l maps: simple, or a whole interleaved extent. */
static int map_reply(struct fsd *d, const struct lay *l, __u64 off, struct fuse_fmap_reply *r,
		     size_t *len)
{
	const struct fmap_ileave_ext *ie;
	struct fmap_mapping m;
	__u32 s;
	int err = lay_map(l, off, &m, &ie);

	if (err)
		return -EIO;
	memset(r, 0, sizeof(*r));
	*len = sizeof(r->out);
	/* whole, when the kernel can take it so: it then computes each chunk */
	if (ie && !((ie->file_off | ie->len) & (PAGE - 1)) &&
	    ie->strip_shift <= FUSE_FMAP_MAX_STRIP_SHIFT) {
		for (s = 0; s < (1U << ie->strip_shift); s++) {
			if (ie->strips[s].dev >= d->ndevs)
				return -EIO;
			r->strips[s].dev_id = d->dev_id[ie->strips[s].dev];
			r->strips[s].dev_offset = ie->strips[s].dev_off;
		}
		r->out.type = FUSE_FMAP_TYPE_INTERLEAVED;
		r->out.offset = ie->file_off;
		r->out.length = ie->len;
		r->interleave.length = ie->len;
		r->interleave.strip_shift = ie->strip_shift;
		r->interleave.chunk_shift = ie->chunk_shift;
		*len = offsetof(struct fuse_fmap_reply, strips) +
		       (sizeof(r->strips[0]) << ie->strip_shift);
		return 0;
	}
	if (m.dev >= d->ndevs)
		return -EIO;
	r->out.type = FUSE_FMAP_TYPE_MAPPED;
	r->out.offset = off;
	r->out.length = m.len;
	r->out.dev_id = d->dev_id[m.dev];
	r->out.dev_offset = m.dev_off;
	return 0;
}

static bool pol_get(struct fsd *d, __u64 ino, struct fs_stripe *st);

/* Allocate for a write at @off, zero what is new, and map it; @space held exclusively. */
static int alloc_reply(struct fsd *d, __u64 ino, __u64 off, __u64 want, struct lay *old,
		       struct lay *new, struct fuse_fmap_reply *r, size_t *len)
{
	const struct fmap_ileave_ext *ie;
	struct fmap_mapping m;
	struct fs_extent ext;
	struct fs_stripe st;
	int err = lay_get(d, ino, old);

	if (err)
		return err;
	if (lay_map(old, off, &m, &ie) != -FMAP_ENXIO)
		return map_reply(d, old, off, r, len);	/* another thread was first */
	/*
	 * A striped file gets at most FMAP_MAX_ILEAVE interleaved extents; fs.c
	 * grows the last one in place when it can (still one extent), else
	 * adds one grown to the file's size, then simple ones, and the BPF
	 * resolver serves a file of one kind only: start large, so that a file
	 * written in small pieces that cannot grow in place stays interleaved
	 * up to 8 x ALLOC_AHEAD.
	 */
	if ((old->nileave || (pol_get(d, ino, &st) && st.nstrips)) && want < ALLOC_AHEAD)
		want = ALLOC_AHEAD;
	err = fs_alloc_for_write(d->fs, ino, off, min_u64(want, ALLOC_AHEAD), &ext);
	if (err == -E2BIG)
		err = fs_alloc_for_write(d->fs, ino, off, 0, &ext);
	if (err) {
		if (err != -ENOSPC)
			pr_warn("allocating for ino %llu: %s", (unsigned long long)ino, fs_msg());
		return err;
	}
	err = lay_get(d, ino, new);
	if (!err)
		err = zero_fresh(d, old, new);
	if (err) {
		/* the space is the file's now, and may hold another file's bytes */
		d->zero_failed = true;
		pr_err("ino %llu: new space not zeroed (%s): no more mappings are answered",
		       (unsigned long long)ino, strerror(-err));
		return -EIO;
	}
	/* zeroed: the program may map it, and must know it before the kernel does */
	bpf_sync(d, ino);
	err = map_reply(d, new, off, r, len);
	/* where readers saw a hole: the kernel drops their zero pages */
	if (!err && ext.fresh)
		r->out.flags = FUSE_FMAP_FLAG_NEW;
	return err;
}

static int fmap(struct fsd *d, __u64 ino, const struct fuse_fmap_in *in,
		struct fuse_fmap_reply *r, size_t *len)
{
	bool write = in->op_flags & FUSE_FMAP_OP_WRITE, hole = false;
	__u64 off = in->offset & ~(PAGE - 1), want, end;
	struct lay old = { 0 }, new = { 0 };
	const struct fmap_ileave_ext *ie;
	struct fmap_mapping m;
	struct ns_attr a;
	int err;

	if (in->op_flags & FUSE_FMAP_OP_LAYOUT)
		return -EOPNOTSUPP;	/* FUSE_FMAP_BUILTIN is not offered */
	pthread_rwlock_rdlock(&d->space);
	err = d->zero_failed ? -EIO : lay_get(d, ino, &old);
	if (!err) {
		hole = lay_map(&old, off, &m, &ie) == -FMAP_ENXIO;
		if (!hole)
			err = map_reply(d, &old, off, r, len);
		else if (!write)
			err = ns_getattr(d->ns, ino, &a);
	}
	if (!err && hole && !write) {
		end = min_u64(round_up(a.size, PAGE), lay_next(&old, off));
		memset(r, 0, sizeof(*r));
		r->out.type = FUSE_FMAP_TYPE_HOLE;
		r->out.offset = off;
		r->out.length = end > off ? end - off : PAGE;
		*len = sizeof(r->out);
	}
	pthread_rwlock_unlock(&d->space);
	if (!err && hole && write) {
		want = in->length > ALLOC_AHEAD ? ALLOC_AHEAD : in->length + (in->offset - off);
		pthread_rwlock_wrlock(&d->space);
		err = d->zero_failed ? -EIO : alloc_reply(d, ino, off, want, &old, &new, r, len);
		pthread_rwlock_unlock(&d->space);
	}
	free(old.simple);
	free(new.simple);
	if (err == -EISDIR)
		err = -EINVAL;		/* not a regular file: the kernel's confusion */
	return err;
}

static void shim_fmap(void *data, const struct fuse_in_header *in,
		      const struct fuse_fmap_in *arg)
{
	struct fsd *d = data;
	struct fuse_fmap_reply r = { 0 };
	size_t len = 0;
	int err = fmap(d, in->nodeid, arg, &r, &len);

	pr_debug("FMAP ino %llu off %llu len %llu op %#x -> %d type %u [%llu, +%llu)",
		 (unsigned long long)in->nodeid, (unsigned long long)arg->offset,
		 (unsigned long long)arg->length, arg->op_flags, err, r.out.type,
		 (unsigned long long)r.out.offset, (unsigned long long)r.out.length);
	fbs_shim_reply(d->shim, in->unique, err, &r, err ? 0 : len);
}

/* Set the size of regular file @ino, zeroing what it must not show; @space held. */
static int set_size(struct fsd *d, __u64 ino, struct ns_setattr *sa, __u64 old_size)
{
	struct lay l = { 0 };
	__u64 from, to;
	int err;

	/* out of the maps before fs.c frees what is cut; back with the new layout */
	if (sa->size < old_size)
		bpf_unmap(d, ino);
	err = fs_setattr(d->fs, ino, sa);
	if (sa->size != old_size)
		bpf_sync(d, ino);
	if (err || sa->size == old_size)
		return err;
	/*
	 * Down: the kept unit's bytes past the new end, which a later growth
	 * would show.  Up: what short writes or mmap stores past the old end
	 * may have left there.
	 */
	from = min_u64(old_size, sa->size);
	to = sa->size < old_size ? round_up(sa->size, UNIT) : round_up(sa->size, PAGE);
	err = lay_get(d, ino, &l);
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
 * large.  A size below the current one is a stale report: ignored.
 */
static int shim_fmap_end(void *data, const struct fuse_in_header *in,
			 const struct fuse_fmap_end_in *arg)
{
	struct fsd *d = data;
	struct ns_setattr sa = { .valid = FAMFS_SETATTR_SIZE, .size = arg->size };
	struct lay l = { 0 };
	struct ns_attr a;
	int err;

	if (arg->flags || arg->padding || arg->size > INT64_MAX || arg->size < arg->offset ||
	    arg->size - arg->offset != arg->length)
		return -EINVAL;
	pthread_rwlock_wrlock(&d->space);
	err = ns_getattr(d->ns, in->nodeid, &a);
	if (!err && !S_ISREG(a.mode))
		err = -EINVAL;
	if (!err && arg->size > a.size) {
		/* a write past the end leaves a gap: what it maps must read as zeroes */
		if (arg->offset > a.size) {
			err = lay_get(d, in->nodeid, &l);
			if (!err)
				err = zero_mapped(d, &l, a.size, arg->offset);
		}
		if (!err)
			err = fs_setattr(d->fs, in->nodeid, &sa);
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

static bool shim_is_mapped(void *data, __u64 nodeid)
{
	struct fsd *d = data;
	struct ns_attr a;

	return !ns_getattr(d->ns, nodeid, &a) && S_ISREG(a.mode);
}

/* ---- lowlevel operations ---- */

static int create_file(struct fsd *d, __u64 parent, const char *name,
		       const struct ns_cred *cred, __u64 *ino);

static struct fsd *req_fsd(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Expected failures stay quiet; the rest say what fs.c said. */
static int op_err(int err, const char *op)
{
	switch (err) {
	case -ENOENT: case -EEXIST: case -ENOTEMPTY: case -ENOTDIR: case -EISDIR:
	case -EINVAL: case -ENAMETOOLONG: case -ENOSPC:
		pr_debug("%s: %s", op, strerror(-err));
		break;
	default:
		pr_warn("%s: %s", op, fs_msg()[0] ? fs_msg() : strerror(-err));
	}
	return -err;
}

static void ts_of(const struct famfs_mlog_time *t, struct timespec *ts)
{
	ts->tv_sec = t->sec;
	ts->tv_nsec = t->nsec;
}

static struct famfs_mlog_time mlog_time(const struct timespec *ts)
{
	return (struct famfs_mlog_time){ .sec = ts->tv_sec, .nsec = ts->tv_nsec };
}

static void stat_of(const struct ns_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_size = a->size;
	st->st_blksize = PAGE;
	st->st_blocks = a->mapped / 512;
	ts_of(&a->atime, &st->st_atim);
	ts_of(&a->mtime, &st->st_mtim);
	ts_of(&a->ctime, &st->st_ctim);
}

static int entry_of(struct fsd *d, __u64 ino, struct fuse_entry_param *e)
{
	struct ns_attr a;
	int err = ns_getattr(d->ns, ino, &a);

	if (err)
		return err;
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	e->generation = a.generation;
	e->attr_timeout = TIMEOUT;
	e->entry_timeout = TIMEOUT;
	stat_of(&a, &e->attr);
	return 0;
}

static void reply_entry(fuse_req_t req, __u64 ino)
{
	struct fuse_entry_param e;
	int err = entry_of(req_fsd(req), ino, &e);

	if (err)
		return (void)fuse_reply_err(req, -err);
	fuse_reply_entry(req, &e);
}

static struct ns_cred cred_of(fuse_req_t req, mode_t mode)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	return (struct ns_cred){ .mode = mode & 07777, .uid = ctx->uid, .gid = ctx->gid };
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	__u64 ino;
	int err = ns_lookup(fs_ns(req_fsd(req)->fs), parent, name, &ino);

	if (err)
		return (void)fuse_reply_err(req, -err);
	reply_entry(req, ino);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	(void)ino;
	(void)nlookup;
	fuse_reply_none(req);	/* inodes live as the namespace says */
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	(void)count;
	(void)forgets;
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ns_attr a;
	struct stat st;
	int err = ns_getattr(req_fsd(req)->ns, ino, &a);

	(void)fi;
	if (err)
		return (void)fuse_reply_err(req, -err);
	stat_of(&a, &st);
	fuse_reply_attr(req, &st, TIMEOUT);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct fsd *d = req_fsd(req);
	struct ns_setattr sa = { 0 };
	struct timespec now;
	struct ns_attr a;
	struct stat st;
	int err;

	(void)fi;
	clock_gettime(CLOCK_REALTIME, &now);
	if (to_set & FUSE_SET_ATTR_MODE) {
		sa.valid |= FAMFS_SETATTR_MODE;
		sa.mode = attr->st_mode & 07777;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		sa.valid |= FAMFS_SETATTR_UID;
		sa.uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		sa.valid |= FAMFS_SETATTR_GID;
		sa.gid = attr->st_gid;
	}
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) {
		sa.valid |= FAMFS_SETATTR_ATIME;
		sa.atime = mlog_time(to_set & FUSE_SET_ATTR_ATIME_NOW ? &now : &attr->st_atim);
	}
	if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
		sa.valid |= FAMFS_SETATTR_MTIME;
		sa.mtime = mlog_time(to_set & FUSE_SET_ATTR_MTIME_NOW ? &now : &attr->st_mtim);
	}
	if (to_set & FUSE_SET_ATTR_CTIME) {
		sa.valid |= FAMFS_SETATTR_CTIME;
		sa.ctime = mlog_time(&attr->st_ctim);
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (attr->st_size < 0)
			return (void)fuse_reply_err(req, EINVAL);
		sa.valid |= FAMFS_SETATTR_SIZE;
		sa.size = attr->st_size;
		if (!(sa.valid & FAMFS_SETATTR_MTIME)) {
			sa.valid |= FAMFS_SETATTR_MTIME;
			sa.mtime = mlog_time(&now);
		}
	}
	if (sa.valid & FAMFS_SETATTR_SIZE) {
		pthread_rwlock_wrlock(&d->space);
		err = ns_getattr(d->ns, ino, &a);
		if (!err && !S_ISREG(a.mode))
			err = S_ISDIR(a.mode) ? -EISDIR : -EINVAL;
		if (!err)
			err = set_size(d, ino, &sa, a.size);
		pthread_rwlock_unlock(&d->space);
	} else {
		err = sa.valid ? fs_setattr(d->fs, ino, &sa) : 0;
	}
	if (!err)
		err = ns_getattr(d->ns, ino, &a);
	if (err)
		return (void)fuse_reply_err(req, op_err(err, "setattr"));
	stat_of(&a, &st);
	fuse_reply_attr(req, &st, TIMEOUT);
}

/* readdir: entries are collected first; the namespace's lock is not held while replying */
struct dir_buf {
	struct ns_dirent *ents;
	size_t n, max;
	int err;
};

static int dir_collect(void *ctx, const struct ns_dirent *de)
{
	struct dir_buf *b = ctx;
	struct ns_dirent *e;

	if (b->n == b->max)
		return 1;
	e = &b->ents[b->n];
	*e = *de;
	e->name = strdup(de->name);
	if (!e->name) {
		b->err = -ENOMEM;
		return 1;
	}
	b->n++;
	return 0;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	struct fsd *d = req_fsd(req);
	struct dir_buf b = { 0 };
	size_t used = 0, n, i;
	char *buf;
	int err;

	if (off < 0)
		return (void)fuse_reply_err(req, EINVAL);
	/* no entry takes fewer than 24 bytes: more would never fit */
	b.max = size / 24 + 1;
	b.ents = calloc(b.max, sizeof(*b.ents));
	buf = malloc(size);
	if (!b.ents || !buf) {
		err = -ENOMEM;
		goto out;
	}
	err = ns_readdir(d->ns, ino, off, dir_collect, &b);
	if (!err)
		err = b.err;
	for (i = 0; !err && i < b.n; i++) {
		const struct ns_dirent *de = &b.ents[i];
		struct fuse_entry_param e = { 0 };

		e.attr.st_ino = de->ino;
		e.attr.st_mode = de->mode;
		if (!plus) {
			n = fuse_add_direntry(req, buf + used, size - used, de->name, &e.attr,
					      de->cookie);
		} else {
			/*
			 * The shim marks FUSE_ATTR_FMAP in LOOKUP replies only:
			 * a regular file goes without attributes (node id 0),
			 * and the kernel looks it up.
			 */
			if (!S_ISREG(de->mode) && strcmp(de->name, ".") && strcmp(de->name, "..") &&
			    entry_of(d, de->ino, &e)) {
				memset(&e, 0, sizeof(e));	/* gone meanwhile */
				e.attr.st_ino = de->ino;
				e.attr.st_mode = de->mode;
			}
			n = fuse_add_direntry_plus(req, buf + used, size - used, de->name, &e,
						   de->cookie);
		}
		if (n > size - used)
			break;
		used += n;
	}
out:
	for (i = 0; i < b.n; i++)
		free((char *)b.ents[i].name);
	free(b.ents);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, ino, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, ino, size, off, true);
}

/* O_TRUNC at open (libfuse asks for atomic O_TRUNC) */
static int trunc_open(struct fsd *d, __u64 ino)
{
	struct ns_setattr sa = { .valid = FAMFS_SETATTR_SIZE | FAMFS_SETATTR_MTIME };
	struct timespec now;
	struct ns_attr a;
	int err;

	clock_gettime(CLOCK_REALTIME, &now);
	sa.mtime = mlog_time(&now);
	pthread_rwlock_wrlock(&d->space);
	err = ns_getattr(d->ns, ino, &a);
	if (!err && a.size)
		err = set_size(d, ino, &sa, a.size);
	pthread_rwlock_unlock(&d->space);
	return err;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsd *d = req_fsd(req);
	struct ns_attr a;
	int err = ns_getattr(d->ns, ino, &a);

	if (!err && !S_ISREG(a.mode))
		err = S_ISDIR(a.mode) ? -EISDIR : -EINVAL;
	if (!err)
		err = fs_open_ref(d->fs, ino);
	if (err)
		return (void)fuse_reply_err(req, op_err(err, "open"));
	if (fi->flags & O_TRUNC) {
		err = trunc_open(d, ino);
		if (err) {
			fs_release(d->fs, ino);
			return (void)fuse_reply_err(req, op_err(err, "open O_TRUNC"));
		}
	}
	if (fuse_reply_open(req, fi))
		fs_release(d->fs, ino);	/* the kernel never got the handle */
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsd *d = req_fsd(req);
	struct ns_attr a;
	int err;

	(void)fi;
	/* the last one of an unlinked file gives its space back */
	pthread_rwlock_wrlock(&d->space);
	if (d->bpf && !ns_getattr(d->ns, ino, &a) && !a.nlink)
		bpf_unmap(d, ino);	/* an orphan: re-added by a write meanwhile? */
	err = fs_release(d->fs, ino);
	pthread_rwlock_unlock(&d->space);
	if (err)
		pr_warn("release: %s", fs_msg());
	fuse_reply_err(req, 0);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct fsd *d = req_fsd(req);
	struct ns_cred cred = cred_of(req, mode);
	struct fuse_entry_param e;
	__u64 ino;
	int err;

	if (!S_ISREG(mode))
		return (void)fuse_reply_err(req, EPERM);
	err = create_file(d, parent, name, &cred, &ino);
	if (!err)
		err = fs_open_ref(d->fs, ino);
	if (!err) {
		err = entry_of(d, ino, &e);
		if (err)
			fs_release(d->fs, ino);
	}
	if (err)
		return (void)fuse_reply_err(req, op_err(err, "create"));
	if (fuse_reply_create(req, &e, fi))
		fs_release(d->fs, ino);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	struct fsd *d = req_fsd(req);
	struct ns_cred cred = cred_of(req, mode);
	__u64 ino;
	int err;

	(void)rdev;
	if (!S_ISREG(mode))
		return (void)fuse_reply_err(req, EPERM);	/* no special files */
	err = create_file(d, parent, name, &cred, &ino);
	if (err)
		return (void)fuse_reply_err(req, op_err(err, "mknod"));
	reply_entry(req, ino);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct ns_cred cred = cred_of(req, mode);
	__u64 ino;
	int err = fs_mkdir(req_fsd(req)->fs, parent, name, &cred, &ino);

	if (err)
		return (void)fuse_reply_err(req, op_err(err, "mkdir"));
	reply_entry(req, ino);
}

static void op_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
	struct ns_cred cred = cred_of(req, 0777);
	__u64 ino;
	int err;

	if (!*target)
		return (void)fuse_reply_err(req, ENOENT);
	if (strlen(target) > FAMFS_SYMLINK_MAX)
		return (void)fuse_reply_err(req, ENAMETOOLONG);
	err = fs_symlink(req_fsd(req)->fs, parent, name, target, &cred, &ino);
	if (err)
		return (void)fuse_reply_err(req, op_err(err, "symlink"));
	reply_entry(req, ino);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[FAMFS_SYMLINK_MAX + 1];
	ssize_t n = ns_readlink(req_fsd(req)->ns, ino, buf, sizeof(buf) - 1);

	if (n < 0)
		return (void)fuse_reply_err(req, (int)-n);
	buf[n < (ssize_t)sizeof(buf) ? n : (ssize_t)sizeof(buf) - 1] = '\0';
	fuse_reply_readlink(req, buf);
}

/*
 * The regular file that @parent/@name names goes out of the maps before
 * the name goes (fs.c frees its space then if it is not open); back in if
 * the name stays.  @space held exclusively.  The file's number, or 0.
 */
static __u64 unmap_victim(struct fsd *d, __u64 parent, const char *name)
{
	struct ns_attr a;
	__u64 ino;

	if (!d->bpf || ns_lookup(d->ns, parent, name, &ino) || ns_getattr(d->ns, ino, &a) ||
	    !S_ISREG(a.mode))
		return 0;
	bpf_unmap(d, ino);
	return ino;
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fsd *d = req_fsd(req);
	__u64 victim;
	int err;

	pthread_rwlock_wrlock(&d->space);
	victim = unmap_victim(d, parent, name);
	err = fs_unlink(d->fs, parent, name);
	if (err && victim)
		bpf_sync(d, victim);
	pthread_rwlock_unlock(&d->space);
	fuse_reply_err(req, err ? op_err(err, "unlink") : 0);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int err = fs_rmdir(req_fsd(req)->fs, parent, name);

	fuse_reply_err(req, err ? op_err(err, "rmdir") : 0);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct fsd *d = req_fsd(req);
	unsigned int nsflags = 0;
	__u64 src, victim;
	int err;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return (void)fuse_reply_err(req, EINVAL);	/* RENAME_WHITEOUT */
	if (flags & RENAME_NOREPLACE)
		nsflags |= NS_RENAME_NOREPLACE;
	if (flags & RENAME_EXCHANGE)
		nsflags |= NS_RENAME_EXCHANGE;
	pthread_rwlock_wrlock(&d->space);
	/* a file renamed over goes as in unlink; an exchange keeps both */
	if (!(nsflags & NS_RENAME_EXCHANGE) && !ns_lookup(d->ns, parent, name, &src) &&
	    !ns_lookup(d->ns, newparent, newname, &victim) && src != victim)
		victim = unmap_victim(d, newparent, newname);
	else
		victim = 0;
	err = fs_rename(d->fs, parent, name, newparent, newname, nsflags);
	if (err && victim)
		bpf_sync(d, victim);
	pthread_rwlock_unlock(&d->space);
	fuse_reply_err(req, err ? op_err(err, "rename") : 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs_statfs st;
	struct statvfs sv = { 0 };
	int err = fs_statfs(req_fsd(req)->fs, &st);

	(void)ino;
	if (err)
		return (void)fuse_reply_err(req, -err);
	sv.f_bsize = sv.f_frsize = st.bsize;
	sv.f_blocks = st.blocks;
	sv.f_bfree = sv.f_bavail = st.bfree;
	/* inodes cost log space only: no fixed count */
	sv.f_ffree = sv.f_favail = UINT32_MAX;
	sv.f_files = st.files + sv.f_ffree;
	sv.f_namemax = FAMFS_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

/* ---- extended attributes (famfs_xattr.h) ---- */

/* The stripe policy set on @ino through an xattr or a directory's default. */
static bool pol_get(struct fsd *d, __u64 ino, struct fs_stripe *st)
{
	bool found = false;
	size_t i;

	pthread_mutex_lock(&d->pol_lock);
	for (i = 0; i < d->npol && !found; i++) {
		if (d->pol[i].ino == ino) {
			*st = d->pol[i].stripe;
			found = true;
		}
	}
	pthread_mutex_unlock(&d->pol_lock);
	return found;
}

/* nstrips 0 records "simple" (it overrides what a layout suggests); NULL forgets. */
static int pol_set(struct fsd *d, __u64 ino, const struct fs_stripe *st)
{
	struct fsd_policy *p;
	int err = 0;
	size_t i;

	pthread_mutex_lock(&d->pol_lock);
	for (i = 0; i < d->npol && d->pol[i].ino != ino; i++)
		;
	if (i < d->npol) {
		if (st)
			d->pol[i].stripe = *st;
		else
			d->pol[i] = d->pol[--d->npol];
	} else if (st) {
		if (d->npol == d->cappol) {
			size_t cap = d->cappol ? 2 * d->cappol : 16;

			p = realloc(d->pol, cap * sizeof(*p));
			if (!p) {
				err = -ENOMEM;
				goto out;
			}
			d->pol = p;
			d->cappol = cap;
		}
		d->pol[d->npol++] = (struct fsd_policy){ .ino = ino, .stripe = *st };
	}
out:
	pthread_mutex_unlock(&d->pol_lock);
	return err;
}

/*
 * @ino's policy: the one set, else for a file whose space ends in an
 * interleaved extent, that extent's geometry (what fs.c grows it by).
 */
static bool stripe_of(struct fsd *d, __u64 ino, const struct ns_attr *a, struct fs_stripe *st)
{
	const struct fmap_ileave_ext *last = NULL;
	struct lay l = { 0 };
	__u64 end = 0;
	__u32 i;

	if (pol_get(d, ino, st))
		return st->nstrips;
	if (!S_ISREG(a->mode) || lay_get(d, ino, &l))
		return false;
	for (i = 0; i < l.nsimple; i++)
		end = end > l.simple[i].file_off + l.simple[i].len ? end :
		      l.simple[i].file_off + l.simple[i].len;
	for (i = 0; i < l.nileave; i++)
		if (!last || l.ileave[i].file_off > last->file_off)
			last = &l.ileave[i];
	free(l.simple);
	if (!last || last->file_off + last->len < end)
		return false;
	st->nstrips = 1U << last->strip_shift;
	st->chunk_size = 1ULL << last->chunk_shift;
	return true;
}

/* "STRIPS CHUNK" in ASCII decimal; the rules are fs.c's (fs.h). */
static int stripe_parse(struct fsd *d, const char *value, size_t size, struct fs_stripe *st)
{
	char buf[FAMFS_XATTR_STRIPE_MAX + 1], *sp, *end;
	unsigned long long strips, chunk = 0;

	/* tools may count a final NUL or newline */
	while (size && (value[size - 1] == '\0' || value[size - 1] == '\n'))
		size--;
	if (!size || size > FAMFS_XATTR_STRIPE_MAX) {
		pr_debug("%s: %zu bytes: want \"STRIPS CHUNK\"", FAMFS_XATTR_STRIPE, size);
		return -EINVAL;
	}
	memcpy(buf, value, size);
	buf[size] = '\0';
	sp = strchr(buf, ' ');
	/* digits only: strtoull would take signs, blanks and hex */
	if (!sp || sp == buf || !sp[1] || strspn(buf, "0123456789") != (size_t)(sp - buf) ||
	    strspn(sp + 1, "0123456789") != size - (size_t)(sp + 1 - buf)) {
		pr_debug("%s: \"%s\": want \"STRIPS CHUNK\" in decimal", FAMFS_XATTR_STRIPE, buf);
		return -EINVAL;
	}
	errno = 0;
	strips = strtoull(buf, &end, 10);
	if (!errno)
		chunk = strtoull(sp + 1, &end, 10);
	if (errno) {
		pr_debug("%s: \"%s\": out of range", FAMFS_XATTR_STRIPE, buf);
		return -EINVAL;
	}
	if (!strips || strips > FMAP_MAX_STRIPS || strips > d->ndevs || strips & (strips - 1)) {
		pr_debug("%s: %llu strips: a power of two from 1 to %u (the devices)",
			 FAMFS_XATTR_STRIPE, strips,
			 d->ndevs < FMAP_MAX_STRIPS ? d->ndevs : FMAP_MAX_STRIPS);
		return -EINVAL;
	}
	if (chunk < UNIT || chunk > (1ULL << FMAP_MAX_CHUNK_SHIFT) || chunk & (chunk - 1)) {
		pr_debug("%s: chunk %llu: a power of two from 2 MiB to 1 GiB",
			 FAMFS_XATTR_STRIPE, chunk);
		return -EINVAL;
	}
	st->nstrips = strips;
	st->chunk_size = chunk;
	return 0;
}

/* user.famfs.layout: header, simple extents, interleaved ones, little-endian. */
static int layout_xattr(struct fsd *d, __u64 ino, char **out, size_t *outlen)
{
	struct famfs_xattr_layout *h;
	struct fmap_simple_ext *se;
	struct fmap_ileave_ext *ie;
	struct lay l = { 0 };
	struct ns_attr a;
	size_t len;
	__u32 i, s;
	char *buf;
	int err;

	/* size and extents from one moment: writers change both under @space */
	pthread_rwlock_rdlock(&d->space);
	err = ns_getattr(d->ns, ino, &a);
	if (!err && !S_ISREG(a.mode))
		err = -ENODATA;
	if (!err)
		err = lay_get(d, ino, &l);
	pthread_rwlock_unlock(&d->space);
	if (err) {
		free(l.simple);
		return err;
	}
	len = sizeof(*h) + (size_t)l.nsimple * sizeof(*se) + (size_t)l.nileave * sizeof(*ie);
	buf = calloc(1, len);
	if (!buf) {
		free(l.simple);
		return -ENOMEM;
	}
	h = (struct famfs_xattr_layout *)buf;
	h->magic = htole32(FAMFS_XATTR_LAYOUT_MAGIC);
	h->version = htole32(FAMFS_XATTR_LAYOUT_VERSION);
	h->nsimple = htole32(l.nsimple);
	h->nileave = htole32(l.nileave);
	h->size = htole64(a.size);
	se = (struct fmap_simple_ext *)(h + 1);
	for (i = 0; i < l.nsimple; i++) {
		se[i].file_off = htole64(l.simple[i].file_off);
		se[i].len = htole64(l.simple[i].len);
		se[i].dev_off = htole64(l.simple[i].dev_off);
		se[i].dev = htole32(l.simple[i].dev);
	}
	ie = (struct fmap_ileave_ext *)(se + l.nsimple);
	for (i = 0; i < l.nileave; i++) {
		ie[i].file_off = htole64(l.ileave[i].file_off);
		ie[i].len = htole64(l.ileave[i].len);
		ie[i].strip_shift = l.ileave[i].strip_shift;
		ie[i].chunk_shift = l.ileave[i].chunk_shift;
		for (s = 0; s < FMAP_MAX_STRIPS; s++) {
			ie[i].strips[s].dev_off = htole64(l.ileave[i].strips[s].dev_off);
			ie[i].strips[s].dev = htole32(l.ileave[i].strips[s].dev);
		}
	}
	free(l.simple);
	*out = buf;
	*outlen = len;
	return 0;
}

/* A value, or its length when @size is 0 (the kernel's size query). */
static void reply_xattr(fuse_req_t req, size_t size, const void *buf, size_t len)
{
	if (!size)
		return (void)fuse_reply_xattr(req, len);
	if (size < len)
		return (void)fuse_reply_err(req, ERANGE);
	fuse_reply_buf(req, buf, len);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fsd *d = req_fsd(req);
	char val[FAMFS_XATTR_STRIPE_MAX + 1], *buf;
	struct fs_stripe st;
	struct ns_attr a;
	size_t len;
	int err;

	if (!strcmp(name, FAMFS_XATTR_LAYOUT)) {
		err = layout_xattr(d, ino, &buf, &len);
		if (err)
			return (void)fuse_reply_err(req, -err);
		reply_xattr(req, size, buf, len);
		free(buf);
		return;
	}
	if (strcmp(name, FAMFS_XATTR_STRIPE))
		return (void)fuse_reply_err(req, EOPNOTSUPP);
	err = ns_getattr(d->ns, ino, &a);
	if (err)
		return (void)fuse_reply_err(req, -err);
	if (!stripe_of(d, ino, &a, &st))
		return (void)fuse_reply_err(req, ENODATA);
	len = snprintf(val, sizeof(val), "%u %llu", st.nstrips,
		       (unsigned long long)st.chunk_size);
	reply_xattr(req, size, val, len);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	static const char layout[] = FAMFS_XATTR_LAYOUT, stripe[] = FAMFS_XATTR_STRIPE;
	struct fsd *d = req_fsd(req);
	char names[sizeof(layout) + sizeof(stripe)];
	struct fs_stripe st;
	struct ns_attr a;
	size_t len = 0;
	int err = ns_getattr(d->ns, ino, &a);

	if (err)
		return (void)fuse_reply_err(req, -err);
	/* the names a getxattr answers */
	if (S_ISREG(a.mode)) {
		memcpy(names, layout, sizeof(layout));
		len = sizeof(layout);
	}
	if (stripe_of(d, ino, &a, &st)) {
		memcpy(names + len, stripe, sizeof(stripe));
		len += sizeof(stripe);
	}
	reply_xattr(req, size, names, len);
}

/*
 * A file's policy: set while it has no space (fs.c grows it by its policy
 * from the first allocation on), under @space so no allocation races it.
 */
static int set_file_stripe(struct fsd *d, __u64 ino, const struct fs_stripe *st)
{
	struct ns_attr a;
	int err;

	pthread_rwlock_wrlock(&d->space);
	err = ns_getattr(d->ns, ino, &a);
	if (!err && a.mapped)
		err = -EBUSY;
	if (!err)
		err = fs_set_stripe(d->fs, ino, st);
	if (!err)
		err = pol_set(d, ino, st ? st : &(struct fs_stripe){ 0 });
	pthread_rwlock_unlock(&d->space);
	return err;
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	struct fsd *d = req_fsd(req);
	struct fs_stripe st, cur;
	struct ns_attr a;
	int err;

	if (!strcmp(name, FAMFS_XATTR_LAYOUT))
		return (void)fuse_reply_err(req, EPERM);	/* computed, read-only */
	if (strcmp(name, FAMFS_XATTR_STRIPE))
		return (void)fuse_reply_err(req, EOPNOTSUPP);
	if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
		return (void)fuse_reply_err(req, EINVAL);
	err = stripe_parse(d, value, size, &st);
	if (!err)
		err = ns_getattr(d->ns, ino, &a);
	if (!err && !S_ISREG(a.mode) && !S_ISDIR(a.mode))
		err = -EPERM;
	if (!err && (flags & XATTR_CREATE) && stripe_of(d, ino, &a, &cur))
		err = -EEXIST;
	if (!err && (flags & XATTR_REPLACE) && !stripe_of(d, ino, &a, &cur))
		err = -ENODATA;
	if (!err)
		err = S_ISDIR(a.mode) ? pol_set(d, ino, &st) : set_file_stripe(d, ino, &st);
	/* the caller's value or request: nothing to log */
	fuse_reply_err(req, -err);
}

/* user.famfs.stripe: a directory forgets its default, a file without space goes simple. */
static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct fsd *d = req_fsd(req);
	struct fs_stripe cur;
	struct ns_attr a;
	int err;

	if (!strcmp(name, FAMFS_XATTR_LAYOUT))
		return (void)fuse_reply_err(req, EPERM);
	if (strcmp(name, FAMFS_XATTR_STRIPE))
		return (void)fuse_reply_err(req, EOPNOTSUPP);
	err = ns_getattr(d->ns, ino, &a);
	if (!err && !stripe_of(d, ino, &a, &cur))
		err = -ENODATA;
	if (!err)
		err = S_ISDIR(a.mode) ? pol_set(d, ino, NULL) : set_file_stripe(d, ino, NULL);
	fuse_reply_err(req, -err);
}

/* Create a regular file with the default its directory has, if any. */
static int create_file(struct fsd *d, __u64 parent, const char *name,
		       const struct ns_cred *cred, __u64 *ino)
{
	struct fs_stripe st;
	bool striped = pol_get(d, parent, &st) && st.nstrips;
	int err = fs_create(d->fs, parent, name, cred, striped ? &st : NULL, ino);

	if (!err && striped && pol_set(d, *ino, &st))
		pr_warn("ino %llu: striped, but its policy is not shown", (unsigned long long)*ino);
	return err;
}

static const struct fuse_lowlevel_ops fsd_ops = {
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.open = op_open,
	.release = op_release,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.statfs = op_statfs,
	.create = op_create,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
};

/* ---- life cycle ---- */

int fsd_mount_find(const char *path, unsigned int *minor, char *src, size_t srclen)
{
	char real[PATH_MAX], line[2 * PATH_MAX], mnt[PATH_MAX], type[64], source[PATH_MAX];
	unsigned int maj, min;
	int err = -ENOENT;
	const char *sep;
	FILE *f;

	if (!realpath(path, real))
		return -errno;
	f = fopen("/proc/self/mountinfo", "r");
	if (!f)
		return -errno;
	/* "id parent maj:min root mountpoint opts... - fstype source ...": the last wins */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min, mnt) != 3 ||
		    strcmp(mnt, real))
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%63s %4095s", type, source) != 2)
			continue;
		err = strcmp(type, "fuse.famfs-bpf") ? -EINVAL : 0;
		if (!err && minor)
			*minor = min;
		if (!err && src)
			snprintf(src, srclen, "%s", source);
	}
	fclose(f);
	return err;
}

static int register_devs(struct fsd *d, char *msg, size_t msglen)
{
	unsigned int i;

	for (i = 0; i < d->ndevs; i++) {
		struct fuse_backing_map map = { .fd = fs_dev_fd(d->fs, i),
						.flags = FUSE_BACKING_FMAP };
		int id = ioctl(d->fuse_fd, FUSE_DEV_IOC_BACKING_OPEN, &map);

		if (id < 0) {
			int e = errno;

			if (e == ENOTTY || e == EINVAL || e == EOPNOTSUPP)
				return fbs_fail(msg, msglen, -EOPNOTSUPP,
						"device %u: the kernel refuses to map files onto it (%s): no FUSE_FMAP (CONFIG_FUSE_FMAP)?",
						i, strerror(e));
			return fbs_fail(msg, msglen, -e,
					"device %u: registering with the mount: %s%s", i,
					strerror(e), e == EBUSY ?
					" (another file system holds its DAX device)" : "");
		}
		d->dev_id[i] = id;
		pr_info("device %u: kernel id %d", i, id);
	}
	return 0;
}

int fsd_create(struct fs *fs, const struct fsd_config *cfg, struct fsd **out, char *msg,
	       size_t msglen)
{
	static char *argv[] = { "famfs-bpf", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	const struct fbs_shim_ops shim_ops = {
		.fmap = shim_fmap,
		.fmap_end = shim_fmap_end,
		.is_mapped = shim_is_mapped,
		.init_flags = FUSE_HAS_FMAP,
	};
	char opts[256], source[PATH_MAX];
	struct stat st;
	struct fsd *d;
	unsigned int i;
	int err;

	if (!fs_is_owner(fs) || cfg->ndevs != fs_ndevs(fs) || cfg->ndevs > FAMFS_MAX_DEVS)
		return fbs_fail(msg, msglen, -EINVAL, "%u devices given, the file system has %u",
				cfg->ndevs, fs_ndevs(fs));
	if (stat(cfg->mountpoint, &st))
		return fbs_fail(msg, msglen, -errno, "%s: %s", cfg->mountpoint, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fbs_fail(msg, msglen, -ENOTDIR, "%s: not a directory", cfg->mountpoint);
	d = calloc(1, sizeof(*d));
	if (!d)
		return fbs_fail(msg, msglen, -ENOMEM, "out of memory");
	d->fs = fs;
	d->ns = fs_ns(fs);
	d->ndevs = cfg->ndevs;
	d->resolver = cfg->resolver;
	d->fuse_fd = -1;
	pthread_mutex_init(&d->pol_lock, NULL);
	for (i = 0; i < FAMFS_MAX_DEVS; i++)
		d->zfd[i] = -1;
	pthread_rwlock_init(&d->space, NULL);
	if (!realpath(cfg->mountpoint, d->mnt)) {
		err = fbs_fail(msg, msglen, -errno, "%s: %s", cfg->mountpoint, strerror(errno));
		goto err_free;
	}
	for (i = 0; i < d->ndevs; i++) {
		d->zfd[i] = open(cfg->devs[i], O_RDWR | O_DIRECT | O_CLOEXEC);
		if (d->zfd[i] < 0) {
			err = fbs_fail(msg, msglen, -errno, "%s: %s", cfg->devs[i],
				       strerror(errno));
			goto err_free;
		}
	}
	d->fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (d->fuse_fd < 0) {
		err = fbs_fail(msg, msglen, -errno, "/dev/fuse: %s", strerror(errno));
		goto err_free;
	}
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=%u,group_id=%u,default_permissions%s",
		 d->fuse_fd, getuid(), getgid(), geteuid() == 0 ? ",allow_other" : "");
	/* the log device names the mount: umount waits for its lock */
	if (!realpath(cfg->devs[0], source)) {
		err = fbs_fail(msg, msglen, -errno, "%s: %s", cfg->devs[0], strerror(errno));
		goto err_free;
	}
	if (mount(source, d->mnt, "fuse.famfs-bpf", MS_NOSUID | MS_NODEV, opts)) {
		err = fbs_fail(msg, msglen, -errno, "mount on %s: %s", d->mnt, strerror(errno));
		goto err_free;
	}
	d->mounted = true;
	/* not stat(): that would wait for INIT, which nobody serves yet */
	err = fsd_mount_find(d->mnt, &d->minor, NULL, 0);
	if (err) {
		err = fbs_fail(msg, msglen, -EIO, "%s: mounted, but not in mountinfo", d->mnt);
		goto err_umount;
	}
	/* before the first LOOKUP: the kernel decides DAX when it sets up an inode */
	err = register_devs(d, msg, msglen);
	if (err)
		goto err_umount;
	/* filled before the first LOOKUP too; attached once INIT is done */
	err = bpf_load(d, msg, msglen);
	if (err)
		goto err_umount;
	d->se = fuse_session_new(&args, &fsd_ops, sizeof(fsd_ops), d);
	if (!d->se) {
		err = fbs_fail(msg, msglen, -ENOMEM, "cannot create the FUSE session");
		goto err_umount;
	}
	err = fbs_shim_attach(d->se, d->fuse_fd, &shim_ops, d, &d->shim);
	if (err) {
		fbs_fail(msg, msglen, err, "cannot attach the FMAP shim: %s", strerror(-err));
		goto err_session;
	}
	*out = d;
	return 0;

err_session:
	fuse_session_destroy(d->se);
	d->se = NULL;
	d->fuse_fd = -1;	/* the session closed it */
err_umount:
	umount2(d->mnt, MNT_DETACH);
	d->mounted = false;
err_free:
	fsd_destroy(d);
	return err;
}

/* INIT is answered once a stat() of the mount point returns. */
static void *ready_thread(void *arg)
{
	struct fsd *d = arg;
	struct stat st;
	int err = stat(d->mnt, &st) ? -errno : 0;

	/* no message for that: the caller's says the mount does not answer */
	if (!err)
		err = bpf_attach(d);
	if (d->ready)
		d->ready(d->ready_ctx, err);
	return NULL;
}

const char *fsd_msg(const struct fsd *d)
{
	return d->msg;
}

int fsd_run(struct fsd *fsd, void (*ready)(void *ctx, int err), void *ctx)
{
	struct fuse_loop_config *lc;
	sigset_t all, old;
	pthread_t th;
	bool helper = false;
	int ret;

	lc = fuse_loop_cfg_create();
	if (!lc)
		return -ENOMEM;
	if (fuse_set_signal_handlers(fsd->se)) {
		fuse_loop_cfg_destroy(lc);
		return -EIO;
	}
	if (ready || fsd->bpf) {
		fsd->ready = ready;
		fsd->ready_ctx = ctx;
		/* signals go to this thread: they wake the loop */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		helper = !pthread_create(&th, NULL, ready_thread, fsd);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (!helper) {
			snprintf(fsd->msg, sizeof(fsd->msg), "cannot start a thread");
			if (fsd->bpf)
				pr_warn("BPF resolver not attached: every mapping miss is an upcall");
			if (ready)
				ready(ctx, -EAGAIN);
		}
	}
	/* workers read /dev/fuse each; the shim's hooks are thread-safe */
	ret = fuse_session_loop_mt(fsd->se, lc);
	pr_debug("session loop ended: %d", ret);
	if (helper)
		pthread_join(th, NULL);
	fuse_remove_signal_handlers(fsd->se);
	fuse_loop_cfg_destroy(lc);
	return ret < 0 ? -EIO : 0;
}

void fsd_destroy(struct fsd *d)
{
	unsigned int minor, i;

	if (!d)
		return;
	/* stopped by a signal: still mounted, ours (not what replaced it) */
	if (d->mounted && !fsd_mount_find(d->mnt, &minor, NULL, 0) && minor == d->minor)
		umount2(d->mnt, MNT_DETACH);
	if (d->se)
		fuse_session_destroy(d->se);	/* closes the /dev/fuse fd */
	else if (d->fuse_fd >= 0)
		close(d->fuse_fd);
	fbs_shim_free(d->shim);
	famfs_loader_close(d->bpf);	/* detaches, unpins */
	for (i = 0; i < FAMFS_MAX_DEVS; i++)
		if (d->zfd[i] >= 0)
			close(d->zfd[i]);
	pthread_rwlock_destroy(&d->space);
	pthread_mutex_destroy(&d->pol_lock);
	free(d->pol);
	free(d);
}
