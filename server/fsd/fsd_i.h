/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fsd_i.h: what the daemon's files share (fsd.h is the interface).
 *
 *   fsd.c        life cycle: mount, device registration, the loop, unmount
 *   fsd_fmap.c   layouts, FUSE_FMAP, FUSE_FMAP_END and FUSE_FALLOCATE,
 *                zeroing what sizes and punches leave
 *   fsd_bpf.c    the BPF resolver: loading, attaching, keeping its maps in step
 *   fsd_ops.c    the lowlevel operations on the namespace
 *   fsd_xattr.c  user.famfs.layout and user.famfs.stripe, stripe policies,
 *                stored user.* and trusted.* attributes
 *
 * Inode numbers are the namespace's (the root is 1, FUSE_ROOT_ID, and
 * numbers are never reused), so no table maps node ids; lookup counts are
 * not kept: an inode lives as long as the namespace says, and open files
 * hold it with fs_open_ref() until their release.
 *
 * Locking: fs.c and ns.c lock themselves.  fs.c zeroes new space, durably,
 * before its ALLOC is journaled (fs.h), so the namespace never maps space
 * that holds an old file's bytes, on this host or a follower.  @space
 * orders layout changes against their readers: whoever allocates (or
 * truncates) holds it exclusively from the journaling until the BPF maps
 * follow (an allocation takes it after fs.c has zeroed the new space,
 * through fs_commit_lock, so the zeroing holds up no one), and every
 * FUSE_FMAP reply is built under it shared.  Replies are
 * sent with no lock held: the shim calls back (is_mapped) on the way out.
 *
 * The BPF resolver's maps follow the namespace under @space held
 * exclusively (which also serialises the loader, not thread-safe itself):
 *  - new space: the file's entry is rewritten after the ALLOC is
 *    journaled and before the FUSE_FMAP (or FUSE_FALLOCATE) reply, so the
 *    program knows an extent no later than the kernel does;
 *  - truncate, punch, unlink, rename over a file: the entry goes (or is cut)
 *    before fs.c may free the space, so the program never maps space
 *    another file may get.  No FUSE_NOTIFY_FMAP_INVAL is sent from these
 *    handlers: the kernel holds the file's i_rwsem while it waits for our
 *    reply, and the notification takes it (a deadlock).  It needs none:
 *    it drops the mappings past a new size around the truncate itself,
 *    and those of the range around a fallocate;
 *    an unlinked file that is open keeps its space until its last
 *    release, after the kernel dropped them at the last close (fs.h),
 *    and one that is not has no reads, writes or mappings to drop;
 *  - sizes follow FUSE_FMAP_END and setattr (for bpftool; the program
 *    does not map by them).
 */
#ifndef FAMFS_BPF_FSD_I_H
#define FAMFS_BPF_FSD_I_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>

#include "fmap.h"
#include "fs/fs.h"
#include "fs/u64.h"
#include "fsd.h"

#define PAGE		4096ULL
#define UNIT		FAMFS_ALLOC_UNIT
#define TIMEOUT		1.0		/* attribute and entry cache, seconds */
/* the most one write fault asks for: bounds the zeroing a fault waits for */
#define ALLOC_MAX	(16ULL << 20)

struct fbs_shim;
struct famfs_loader;

struct fsd {
	struct fbs_shim *shim;	/* first: the shim finds itself here */
	struct fs *fs;
	struct ns *ns;
	char mnt[PATH_MAX];
	struct fuse_session *se;
	int fuse_fd;
	bool mounted;
	bool read_only;		/* a follower: every change is EROFS */
	bool posix_acl;		/* FUSE_POSIX_ACL and FUSE_DONT_MASK negotiated */
	unsigned int minor;	/* the mount's device: names its connection */
	unsigned int ndevs;
	int dev_id[FAMFS_MAX_DEVS];	/* the kernel's ids */
	int zfd[FAMFS_MAX_DEVS];	/* O_DIRECT: what DAX reads is the media */
	pthread_rwlock_t space;
	enum fsd_resolver resolver;
	struct famfs_loader *bpf;	/* NULL: every miss is an upcall */
	struct fsd_preload *preload;	/* until fsd_bpf_load() takes it */
	char msg[256];		/* why fsd_run()'s @ready got an error */
	void (*ready)(void *ctx, int err);
	void *ready_ctx;
};

static inline struct fsd *req_fsd(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/*
 * A follower changes nothing, even what the kernel lets through (its
 * MS_RDONLY stops most): answer EROFS and say true.
 */
static inline bool fsd_refuse_ro(fuse_req_t req)
{
	if (!req_fsd(req)->read_only)
		return false;
	fuse_reply_err(req, EROFS);
	return true;
}

/* fsd_fmap.c */
/* Where @off lives; -FMAP_ENXIO in a hole.  *@ie: its interleaved extent. */
int fsd_lay_map(const struct ns_layout *l, __u64 off, struct fmap_mapping *m,
		const struct fmap_ileave_ext **ie);
/* The first extent start above @off, or ~0. */
__u64 fsd_lay_next(const struct ns_layout *l, __u64 off);
/* Set the size of regular file @ino, zeroing what it must not show; @space held. */
int fsd_set_size(struct fsd *d, __u64 ino, struct ns_setattr *sa, __u64 old_size);
/* the shim's hooks (fuse_shim.h) */
void fsd_shim_fmap(void *data, const struct fuse_in_header *in, const struct fuse_fmap_in *arg);
int fsd_shim_fmap_end(void *data, const struct fuse_in_header *in,
		      const struct fuse_fmap_end_in *arg);
bool fsd_shim_is_mapped(void *data, __u64 nodeid);
bool fsd_shim_is_block(void *data, __u64 nodeid);
void fsd_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
		      struct fuse_file_info *fi);

/* fsd_bpf.c; sync and unmap with @space held exclusively */
/* @p's /dev/fuse descriptor, now the caller's (-1: none) */
int fsd_preload_fuse_fd(struct fsd_preload *p);
void fsd_bpf_sync(struct fsd *d, __u64 ino);
void fsd_bpf_unmap(struct fsd *d, __u64 ino);
int fsd_bpf_load(struct fsd *d, struct fsd_preload *p, char *msg, size_t msglen);
int fsd_bpf_attach(struct fsd *d);

/* fsd_ops.c */
extern const struct fuse_lowlevel_ops fsd_ops;
/* the shim's FUSE_TMPFILE hook (fuse_shim.h) */
void fsd_shim_tmpfile(void *data, const struct fuse_in_header *in,
		      const struct fuse_create_in *arg);

/* fsd_logplay.c: FUSE_IOCTL (FSD_IOC_LOGPLAY on the root directory) */
void fsd_op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		  struct fuse_file_info *fi, unsigned int flags, const void *in_buf,
		  size_t in_bufsz, size_t out_bufsz);

/* fsd_xattr.c */
/* Create a regular file with the default its directory has, if any. */
int fsd_create_file(struct fsd *d, __u64 parent, const char *name,
		    const struct ns_cred *cred, __u64 *ino);
void fsd_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void fsd_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void fsd_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		     size_t size, int flags);
void fsd_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

#endif
