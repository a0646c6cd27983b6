// SPDX-License-Identifier: GPL-2.0
/*
 * fsd_logplay.c: FSD_IOC_LOGPLAY (fsd.h), a read-only follower catching up
 * with the owner's log.
 *
 * fs_logplay_each() tells us each new entry before the namespace takes it;
 * we note the names and inodes it touches (and, for a RENAME over a name
 * or a DELETE, the file that goes).  Once the namespace is up to date:
 *  1. under @space exclusively, every touched inode leaves the BPF
 *     resolver's maps and, if it is still a regular file with a name,
 *     comes back with its new layout (an entry that shrank cannot be
 *     rewritten in place: the program may be reading the old slice);
 *  2. with no lock held, the kernel forgets: each touched name's dentry
 *     (FUSE_NOTIFY_INVAL_ENTRY), each touched inode's attributes
 *     (FUSE_NOTIFY_INVAL_INODE) and each touched file's cached mappings
 *     (FUSE_NOTIFY_FMAP_INVAL: an inode invalidation keeps them).  The
 *     kernel takes the file's i_rwsem for that, which nobody holds while
 *     waiting for this request, and FUSE_FMAP is answered by the other
 *     workers meanwhile.  ENOENT (the kernel does not know it) is fine.
 * A misses the kernel takes after 1 is answered from the new namespace,
 * by the program or by upcall, so nothing stale comes back after 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsd_i.h"
#include "fuse_shim.h"
#include "fs/log.h"

struct touched_name {
	__u64 parent;
	char name[FAMFS_NAME_MAX + 1];
};

struct touched {
	struct fsd *d;
	struct touched_name *names;
	size_t nnames, capnames;
	__u64 *inos;
	size_t ninos, capinos;
	bool nomem;		/* then everything the kernel knows is forgotten */
};

/* Duplicates go later (unique_inos()): a scan per entry is quadratic in a long catch-up. */
static void add_ino(struct touched *t, __u64 ino)
{
	if (!ino)
		return;
	if (t->ninos == t->capinos) {
		size_t cap = t->capinos ? 2 * t->capinos : 32;
		__u64 *p = realloc(t->inos, cap * sizeof(*p));

		if (!p) {
			t->nomem = true;
			return;
		}
		t->inos = p;
		t->capinos = cap;
	}
	t->inos[t->ninos++] = ino;
}

static void add_name(struct touched *t, __u64 parent, const char *name)
{
	if (t->nnames == t->capnames) {
		size_t cap = t->capnames ? 2 * t->capnames : 32;
		struct touched_name *p = realloc(t->names, cap * sizeof(*p));

		if (!p) {
			t->nomem = true;
			return;
		}
		t->names = p;
		t->capnames = cap;
	}
	t->names[t->nnames].parent = parent;
	snprintf(t->names[t->nnames].name, sizeof(t->names[0].name), "%s", name);
	t->nnames++;
	add_ino(t, parent);	/* its size, times, link count */
}

/* Before @e is applied: the namespace still has what it replaces. */
static void note_entry(void *ctx, const struct famfs_mlog_entry *e)
{
	struct touched *t = ctx;
	__u64 victim;

	switch (e->type) {
	case FAMFS_LOG_MKDIR:
	case FAMFS_LOG_CREATE:
	case FAMFS_LOG_SYMLINK:
		add_name(t, e->mknod.parent, e->name);
		add_ino(t, e->mknod.ino);
		break;
	case FAMFS_LOG_ALLOC:
		add_ino(t, e->alloc.ino);
		break;
	case FAMFS_LOG_PUNCH:
		add_ino(t, e->punch.ino);
		break;
	case FAMFS_LOG_SETATTR:
		add_ino(t, e->setattr.ino);
		break;
	case FAMFS_LOG_RENAME:
		add_name(t, e->rename.old_parent, e->name);
		add_name(t, e->rename.new_parent, e->new_name);
		add_ino(t, e->rename.ino);
		if (!ns_lookup(t->d->ns, e->rename.new_parent, e->new_name, &victim))
			add_ino(t, victim);
		break;
	case FAMFS_LOG_DELETE:
		add_name(t, e->del.parent, e->name);
		add_ino(t, e->del.ino);
		break;
	case FAMFS_LOG_LINK:		/* a name, and the inode's link count */
		add_name(t, e->link.parent, e->name);
		add_ino(t, e->link.ino);
		break;
	case FAMFS_LOG_XATTR:		/* the kernel caches POSIX ACLs until invalidated */
		add_ino(t, e->xattr.ino);
		break;
	default:		/* DEVADD: fs_logplay() refuses what it cannot follow */
		break;
	}
}

/* Every file the namespace has: after an allocation failure above. */
static int all_inodes(void *ctx, const struct ns_attr *a)
{
	add_ino(ctx, a->ino);
	return 0;
}

static int cmp_ino(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static void unique_inos(struct touched *t)
{
	size_t i, n = 0;

	qsort(t->inos, t->ninos, sizeof(*t->inos), cmp_ino);
	for (i = 0; i < t->ninos; i++)
		if (!n || t->inos[n - 1] != t->inos[i])
			t->inos[n++] = t->inos[i];
	t->ninos = n;
}

static void fmap_inval(struct fsd *d, __u64 ino)
{
	struct fuse_notify_fmap_inval_out inval = { .nodeid = ino };
	int err = fbs_shim_notify(d->shim, FUSE_NOTIFY_FMAP_INVAL, &inval, sizeof(inval));

	if (err && err != -ENOENT)
		pr_warn("logplay: ino %llu: the kernel keeps its mappings: %s",
			(unsigned long long)ino, strerror(-err));
}

static void play(struct fsd *d, struct fsd_logplay_out *out)
{
	struct touched t = { .d = d };
	struct fs_logplay_result res;
	struct ns_attr a;
	size_t i;
	int err;

	err = fs_logplay_each(d->fs, &res, note_entry, &t);
	out->applied = res.applied;
	out->end_off = res.end_off;
	out->tail = res.tail;
	out->err = err;
	if (err)
		snprintf(out->msg, sizeof(out->msg), "%s", fs_msg());
	/* a checkpoint replaced the namespace: the old inodes were noted, now the new */
	if (t.nomem || res.reloaded) {
		if (t.nomem)
			pr_warn("logplay: out of memory noting what changed: invalidating every inode");
		t.nomem = false;
		ns_foreach_inode(d->ns, all_inodes, &t);
	}
	unique_inos(&t);
	/* even after an error: the entries before it were applied */
	pthread_rwlock_wrlock(&d->space);
	for (i = 0; i < t.ninos && d->bpf; i++) {
		fsd_bpf_unmap(d, t.inos[i]);
		fsd_bpf_sync(d, t.inos[i]);
	}
	pthread_rwlock_unlock(&d->space);
	for (i = 0; i < t.nnames; i++)
		fuse_lowlevel_notify_inval_entry(d->se, t.names[i].parent, t.names[i].name,
						 strlen(t.names[i].name));
	for (i = 0; i < t.ninos; i++) {
		fuse_lowlevel_notify_inval_inode(d->se, t.inos[i], 0, 0);
		/* a file that went has nothing here: the kernel may still map it */
		if (ns_getattr(d->ns, t.inos[i], &a) || S_ISREG(a.mode))
			fmap_inval(d, t.inos[i]);
	}
	pr_info("logplay: %llu entries, %zu names and %zu inodes invalidated",
		(unsigned long long)res.applied, t.nnames, t.ninos);
	free(t.names);
	free(t.inos);
}

void fsd_op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		  struct fuse_file_info *fi, unsigned int flags, const void *in_buf,
		  size_t in_bufsz, size_t out_bufsz)
{
	struct fsd *d = req_fsd(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fsd_logplay_out out = { 0 };

	(void)arg;
	(void)fi;
	(void)in_buf;
	(void)in_bufsz;
	if (cmd != FSD_IOC_LOGPLAY)
		return (void)fuse_reply_err(req, ENOTTY);
	if (ino != FUSE_ROOT_ID || !(flags & FUSE_IOCTL_DIR) || out_bufsz < sizeof(out))
		return (void)fuse_reply_err(req, EINVAL);
	if (ctx->uid != 0 && ctx->uid != getuid())
		return (void)fuse_reply_err(req, EPERM);
	if (!d->read_only)
		out.owner = 1;
	else
		play(d, &out);
	fuse_reply_ioctl(req, 0, &out, sizeof(out));
}
