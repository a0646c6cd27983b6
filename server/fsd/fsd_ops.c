// SPDX-License-Identifier: GPL-2.0
/*
 * fsd_ops.c: the lowlevel operations on the namespace (fsd_i.h); the
 * extended attributes are fsd_xattr.c's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "fs/acl.h"
#include "fsd_i.h"
#include "fuse_shim.h"
#include "loader.h"
#include "fs/log.h"

/* Expected failures stay quiet; the rest say what fs.c said. */
static int op_err(int err, const char *op)
{
	switch (err) {
	case -ENOENT: case -EEXIST: case -ENOTEMPTY: case -ENOTDIR: case -EISDIR:
	case -EINVAL: case -ENAMETOOLONG: case -ENOSPC: case -EPERM: case -EMLINK:
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

/*
 * POSIX ACLs (FUSE_POSIX_ACL with FUSE_DONT_MASK): the kernel checks them
 * but leaves a new inode's mode unmasked.  Under a directory with a
 * default ACL the inode inherits it (posix_acl_create()), else the umask
 * applies, as the VFS does on ext4.  @acc and @dacl: what to store once
 * the inode exists (free()d by acl_store()).
 */
struct acl_new {
	void *acc, *dacl;
	size_t alen, dlen;
};

static int acl_inherit(struct fsd *d, __u64 parent, mode_t *mode, mode_t umask,
		       struct acl_new *an)
{
	ssize_t n;
	void *dacl;
	mode_t m = *mode;
	int err;

	memset(an, 0, sizeof(*an));
	if (!d->posix_acl)
		return 0;	/* the kernel applied the umask */
	n = ns_xattr_get(d->ns, parent, FAMFS_ACL_DEFAULT, NULL, 0);
	if (n == -ENODATA) {
		*mode &= ~umask;
		return 0;
	}
	if (n < 0)
		return (int)n;
	dacl = malloc((size_t)n);
	if (!dacl)
		return -ENOMEM;
	n = ns_xattr_get(d->ns, parent, FAMFS_ACL_DEFAULT, dacl, (size_t)n);
	if (n < 0) {
		free(dacl);
		return (int)n;
	}
	err = famfs_acl_create(dacl, (size_t)n, &m, &an->acc, &an->alen);
	if (err) {
		free(dacl);
		return err;
	}
	*mode = m;
	if (S_ISDIR(m)) {
		an->dacl = dacl;
		an->dlen = (size_t)n;
	} else {
		free(dacl);
	}
	return 0;
}

/*
 * After the create's entry: the ACLs are entries of their own, so a crash
 * or a full log between may leave the inode without them; its mode is
 * already masked by the inherited ACL, so that fails closed (named entries
 * lost, no more), and the inode exists: the create succeeds, with a warning.
 */
static void acl_store(struct fsd *d, __u64 ino, struct acl_new *an)
{
	int err = 0;

	if (an->acc)
		err = fs_xattr_set(d->fs, ino, FAMFS_ACL_ACCESS, an->acc, an->alen, 0);
	if (!err && an->dacl)
		err = fs_xattr_set(d->fs, ino, FAMFS_ACL_DEFAULT, an->dacl, an->dlen, 0);
	if (err)
		pr_warn("ACLs of new inode %llu: %s", (unsigned long long)ino, strerror(-err));
	free(an->acc);
	free(an->dacl);
}

/* chmod: the access ACL's owner, mask and other entries follow the mode */
static int acl_chmod(struct fsd *d, __u64 ino, mode_t mode)
{
	ssize_t n;
	void *acl;
	int err;

	if (!d->posix_acl)
		return 0;
	n = ns_xattr_get(d->ns, ino, FAMFS_ACL_ACCESS, NULL, 0);
	if (n == -ENODATA)
		return 0;
	if (n < 0)
		return (int)n;
	acl = malloc((size_t)n);
	if (!acl)
		return -ENOMEM;
	n = ns_xattr_get(d->ns, ino, FAMFS_ACL_ACCESS, acl, (size_t)n);
	err = n < 0 ? (int)n : famfs_acl_chmod(acl, (size_t)n, mode);
	if (!err)
		err = fs_xattr_set(d->fs, ino, FAMFS_ACL_ACCESS, acl, (size_t)n, 0);
	free(acl);
	return err;
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
	if (fsd_refuse_ro(req))
		return;
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
			err = fsd_set_size(d, ino, &sa, a.size);
		pthread_rwlock_unlock(&d->space);
	} else {
		err = sa.valid ? fs_setattr(d->fs, ino, &sa) : 0;
	}
	if (!err && (sa.valid & FAMFS_SETATTR_MODE))
		err = acl_chmod(d, ino, sa.mode);
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
			/* the shim marks FUSE_ATTR_FMAP on the regular files */
			if (strcmp(de->name, ".") && strcmp(de->name, "..") &&
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
		err = fsd_set_size(d, ino, &sa, a.size);
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
	if (!err && d->read_only && ((fi->flags & O_ACCMODE) != O_RDONLY || fi->flags & O_TRUNC))
		return (void)fuse_reply_err(req, EROFS);
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

/*
 * The size writes moved is in memory only (FUSE_FMAP_END, fs_size_grow()):
 * journal it before fsync (and msync, which arrives as fsync), close's
 * flush and release answer, so that it is durable when they return.
 */
static int sync_size(struct fsd *d, fuse_ino_t ino)
{
	int err;

	if (d->read_only)
		return 0;
	err = fs_size_sync(d->fs, ino);
	if (err)
		pr_warn("ino %llu: size not journaled: %s", (unsigned long long)ino, fs_msg());
	return err;
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	fuse_reply_err(req, -sync_size(req_fsd(req), ino));
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)fi;
	(void)datasync;	/* the size is what makes the data reachable: always */
	fuse_reply_err(req, -sync_size(req_fsd(req), ino));
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsd *d = req_fsd(req);
	struct ns_attr a;
	int err;

	(void)fi;
	sync_size(d, ino);	/* release cannot fail: a warning only */
	/* the last one of an unlinked file gives its space back */
	pthread_rwlock_wrlock(&d->space);
	if (d->bpf && !ns_getattr(d->ns, ino, &a) && !a.nlink)
		fsd_bpf_unmap(d, ino);	/* an orphan: re-added by a write meanwhile? */
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
	struct ns_cred cred;
	struct fuse_entry_param e;
	struct acl_new an;
	__u64 ino;
	int err;

	if (fsd_refuse_ro(req))
		return;
	if (!S_ISREG(mode))
		return (void)fuse_reply_err(req, EPERM);
	err = acl_inherit(d, parent, &mode, fuse_req_ctx(req)->umask, &an);
	if (err)
		return (void)fuse_reply_err(req, op_err(err, "create"));
	cred = cred_of(req, mode);
	err = fsd_create_file(d, parent, name, &cred, &ino);
	if (!err)
		acl_store(d, ino, &an);
	else
		free(an.acc), free(an.dacl);
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

/*
 * FUSE_TMPFILE, from the shim (libfuse 3.14 has no op for it): an open
 * file with no name and nlink 0, so that the kernel lets linkat() name it
 * unless O_EXCL.  The reply is CREATE's, written here as libfuse's
 * fuse_reply_create() would: attributes, then the open (fh 0, no flags,
 * as op_open gives), FUSE_ATTR_FMAP set as the shim sets it on CREATE.
 */
void fsd_shim_tmpfile(void *data, const struct fuse_in_header *in,
		      const struct fuse_create_in *arg)
{
	struct fsd *d = data;
	mode_t mode = arg->mode;
	struct ns_cred cred;
	struct acl_new an = { 0 };
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} out;
	struct ns_attr a;
	__u64 ino;
	int err;

	if (d->read_only)
		err = -EROFS;
	else if (!S_ISREG(arg->mode))
		err = -EINVAL;
	else
		err = acl_inherit(d, in->nodeid, &mode, arg->umask, &an);
	if (!err) {
		cred = (struct ns_cred){ .mode = mode & 07777, .uid = in->uid, .gid = in->gid };
		err = fs_tmpfile(d->fs, in->nodeid, &cred, &ino);
		if (!err)
			acl_store(d, ino, &an);
		else
			free(an.acc), free(an.dacl);
	}
	if (!err) {
		err = ns_getattr(d->ns, ino, &a);
		if (err)
			fs_release(d->fs, ino);
	}
	if (err) {
		op_err(err, "tmpfile");
		fbs_shim_reply(d->shim, in->unique, err, NULL, 0);
		return;
	}
	memset(&out, 0, sizeof(out));
	out.e.nodeid = ino;
	out.e.generation = a.generation;
	out.e.entry_valid = out.e.attr_valid = (__u64)TIMEOUT;
	out.e.attr = (struct fuse_attr){
		.ino = a.ino,
		.size = a.size,
		.blocks = a.mapped / 512,
		.atime = a.atime.sec,
		.mtime = a.mtime.sec,
		.ctime = a.ctime.sec,
		.atimensec = a.atime.nsec,
		.mtimensec = a.mtime.nsec,
		.ctimensec = a.ctime.nsec,
		.mode = a.mode,
		.nlink = a.nlink,
		.uid = a.uid,
		.gid = a.gid,
		.blksize = PAGE,
		.flags = FUSE_ATTR_FMAP,
	};
	/* ENOENT: interrupted, the kernel never got the file */
	if (fbs_shim_reply(d->shim, in->unique, 0, &out, sizeof(out)))
		fs_release(d->fs, ino);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	struct fsd *d = req_fsd(req);
	struct ns_cred cred;
	struct acl_new an;
	__u64 ino;
	int err;

	(void)rdev;
	if (fsd_refuse_ro(req))
		return;
	if (!S_ISREG(mode))
		return (void)fuse_reply_err(req, EPERM);	/* no special files */
	err = acl_inherit(d, parent, &mode, fuse_req_ctx(req)->umask, &an);
	if (err)
		return (void)fuse_reply_err(req, op_err(err, "mknod"));
	cred = cred_of(req, mode);
	err = fsd_create_file(d, parent, name, &cred, &ino);
	if (!err)
		acl_store(d, ino, &an);
	else
		free(an.acc), free(an.dacl);
	if (err)
		return (void)fuse_reply_err(req, op_err(err, "mknod"));
	reply_entry(req, ino);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fsd *d = req_fsd(req);
	struct ns_cred cred;
	struct acl_new an;
	__u64 ino;
	int err;

	if (fsd_refuse_ro(req))
		return;
	/* mkdir passes no type bits: the ACL rules want them */
	mode = (mode & 07777) | S_IFDIR;
	err = acl_inherit(d, parent, &mode, fuse_req_ctx(req)->umask, &an);
	if (err)
		return (void)fuse_reply_err(req, op_err(err, "mkdir"));
	cred = cred_of(req, mode);
	err = fs_mkdir(d->fs, parent, name, &cred, &ino);
	if (!err)
		acl_store(d, ino, &an);
	else
		free(an.acc), free(an.dacl);
	if (err)
		return (void)fuse_reply_err(req, op_err(err, "mkdir"));
	reply_entry(req, ino);
}

static void op_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
	struct ns_cred cred = cred_of(req, 0777);
	__u64 ino;
	int err;

	if (fsd_refuse_ro(req))
		return;
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
 * the name goes (fs.c frees its space then if it is not open); back in
 * (fsd_bpf_sync()) if the name stays or the file has another (a hard
 * link).  @space held exclusively.  The file's number, or 0.
 */
static __u64 unmap_victim(struct fsd *d, __u64 parent, const char *name)
{
	struct ns_attr a;
	__u64 ino;

	if (!d->bpf || ns_lookup(d->ns, parent, name, &ino) || ns_getattr(d->ns, ino, &a) ||
	    !S_ISREG(a.mode))
		return 0;
	fsd_bpf_unmap(d, ino);
	return ino;
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fsd *d = req_fsd(req);
	__u64 victim;
	int err;

	if (fsd_refuse_ro(req))
		return;
	pthread_rwlock_wrlock(&d->space);
	victim = unmap_victim(d, parent, name);
	err = fs_unlink(d->fs, parent, name);
	if (victim)
		fsd_bpf_sync(d, victim);
	pthread_rwlock_unlock(&d->space);
	fuse_reply_err(req, err ? op_err(err, "unlink") : 0);
}

/*
 * The reply carries the new link count; the shim marks FUSE_ATTR_FMAP.
 * A tmpfile's first name puts it into the BPF maps, which leave out
 * files with no name.
 */
static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct fsd *d = req_fsd(req);
	struct ns_attr a;
	bool unnamed;
	int err;

	if (fsd_refuse_ro(req))
		return;
	pthread_rwlock_wrlock(&d->space);
	unnamed = !ns_getattr(d->ns, ino, &a) && S_ISREG(a.mode) && !a.nlink;
	err = fs_link(d->fs, ino, newparent, newname);
	if (!err && unnamed)
		fsd_bpf_sync(d, ino);
	pthread_rwlock_unlock(&d->space);
	if (err)
		return (void)fuse_reply_err(req, op_err(err, "link"));
	reply_entry(req, ino);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int err;

	if (fsd_refuse_ro(req))
		return;
	err = fs_rmdir(req_fsd(req)->fs, parent, name);
	fuse_reply_err(req, err ? op_err(err, "rmdir") : 0);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct fsd *d = req_fsd(req);
	unsigned int nsflags = 0;
	__u64 src, victim;
	int err;

	if (fsd_refuse_ro(req))
		return;
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
	if (victim)
		fsd_bpf_sync(d, victim);
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

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fsd *d = userdata;

	fbs_shim_conn_init(conn);
	/* ACLs need both: DONT_MASK leaves the umask to acl_inherit() */
	d->posix_acl = (conn->capable & FUSE_CAP_POSIX_ACL) &&
		       (conn->capable & FUSE_CAP_DONT_MASK);
	if (d->posix_acl)
		conn->want |= FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK;
}

const struct fuse_lowlevel_ops fsd_ops = {
	.init = op_init,
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
	.link = op_link,
	.open = op_open,
	.flush = op_flush,
	.fsync = op_fsync,
	.release = op_release,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.statfs = op_statfs,
	.create = op_create,
	.fallocate = fsd_op_fallocate,
	.setxattr = fsd_op_setxattr,
	.getxattr = fsd_op_getxattr,
	.listxattr = fsd_op_listxattr,
	.removexattr = fsd_op_removexattr,
	.ioctl = fsd_op_ioctl,
};
