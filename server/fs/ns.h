/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The namespace of a famfs-bpf file system in memory: inodes, names,
 * attributes and each regular file's extents, as the metadata log
 * (include/FORMAT.md) describes them.
 *
 * One function changes it, ns_apply(): it checks a log entry against the
 * namespace and applies all of it, or returns a negative errno and
 * changes nothing.  Replay feeds it every entry (ns_replay(), or
 * ns_mlog_apply() as a famfs_mlog_ops.apply); the live operations
 * (ns_mkdir() ... ns_punch()) build an entry, run the same checks, hand
 * the entry to the journal, and change the namespace only once the
 * journal took it.  So what a mount serves is what a replay of its log
 * gives, and a full log (-ENOSPC) or any other journal failure leaves
 * the namespace as it was.
 *
 * Everything in a log is untrusted: an entry that breaks a rule (a parent
 * that is missing or not a directory, a name or inode already in use,
 * rmdir of a non-empty directory, a rename into the renamed directory's
 * own subtree, extents that overlap the file's, a punch that cuts an
 * interleaved extent short of its end off a stripe boundary, a link to a
 * directory or to an inode with no name) is refused
 * with a message naming the rule; replay turns every refusal but -ENOMEM
 * into -EINVAL.
 *
 * A file's interleaved extents are kept merged: an extent that exactly
 * continues another (fmap_ileave_continues(): same geometry and devices,
 * right after it in the file and on every strip, the first whole
 * stripes) becomes one with it, whether it came in the same entry, a
 * later one, or an earlier one.  The merge depends on the extents only,
 * so replay and the live operations that wrote the log agree; the limit
 * of FMAP_MAX_ILEAVE per file counts merged extents.
 *
 * Inodes live in a hash table keyed by inode number, names in one keyed
 * by (directory, name): lookups are O(1) and a replay is linear in the
 * log.  Each directory also keeps its entries in the order they were
 * added, each with a cookie from a per-directory counter, so a readdir
 * resumes after the last cookie it returned whatever was removed since.
 *
 * Hard links: a regular file or a symlink may have several names (a LINK
 * entry adds one, nlink counts them); a DELETE or a RENAME over one of
 * them takes one name, and only the last one takes the inode.
 *
 * Open files: an inode whose last name goes while it is open (ns_open_ref)
 * stays, with nlink 0 (an orphan), until its last ns_open_unref(); only
 * then are its extents released (ns_ops.release_extents) and its inode
 * number forgotten.  The log knows nothing of orphans: changes to one are
 * made in memory only, never journaled (its DELETE is already durable).
 * A follower's namespace (ns_set_follower()) keeps no extents for an
 * orphan: the owner freed them with the name and may have reused them.
 *
 * Locking: one rwlock around the whole namespace.  Queries take it shared,
 * every change exclusively, the journal's append() included, so entries
 * reach the log in the order they are applied.  Callbacks (readdir,
 * iteration, release_extents, append) run with the lock held and must not
 * call back into the namespace.
 *
 * Errors are negative errno values.
 */
#ifndef FAMFS_BPF_NS_H
#define FAMFS_BPF_NS_H

#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

#include "famfs_format.h"
#include "fmap.h"
#include "mlog.h"

struct ns;

/*
 * Space an inode no longer maps: every extent of an inode that goes, or
 * what a punch cut off (whole extents, the pieces of extents it cut; for
 * an interleaved extent that lost a tail or a range, its chunks up to the
 * next stripe boundary as simple extents and the stripes after it as an
 * interleaved extent).  Exact ranges, as the file mapped them: rounding
 * to allocation units is the allocator's business.
 */
struct ns_ops {
	void (*release_extents)(void *ctx, __u64 ino,
				const struct fmap_simple_ext *simple, __u32 nsimple,
				const struct fmap_ileave_ext *ileave, __u32 nileave);
	/*
	 * Optional: ns_replay() calls it every NS_REPLAY_PROGRESS entries
	 * with those applied so far and the log's count hint (@total may be
	 * off: a hint), and once at the end with @done == @total.
	 */
	void (*replay_progress)(void *ctx, __u64 done, __u64 total);
};

#define NS_REPLAY_PROGRESS	4096

/*
 * Where live operations write their entries.  append() returns 0 once
 * the entry is durable, or a negative errno (-ENOSPC: the log is full),
 * and then the operation fails with it and changes nothing.  e->seq is
 * the sequence number the namespace expects the entry to get (a new
 * inode's generation): a journal whose log disagrees should refuse.
 */
struct ns_journal {
	int (*append)(void *ctx, const struct famfs_mlog_entry *e);
	void *ctx;
};

struct ns_attr {
	__u64 ino;
	__u64 generation;	/* sequence number of the entry that created it */
	__u32 mode;		/* S_IF* | permission bits */
	__u32 uid;
	__u32 gid;
	__u32 nlink;		/* 0: an orphan, open but unlinked */
	__u64 size;
	__u64 mapped;		/* bytes the extents map (regular files) */
	struct famfs_mlog_time atime, mtime, ctime;
	/*
	 * Layout policy (regular files, directories): set by a STRIPE entry,
	 * or at create the directory's if it has a striped one.  nstrips 0:
	 * simple extents (a directory: no default).  has_stripe false: none.
	 */
	__u8 kind;		/* CLASS: FAMFS_DEV_*, or 0: none (the default) */
	bool has_stripe;
	__u32 nstrips;
	__u32 chunk_shift;
};

/* Owner and permission bits of a new inode; type bits of mode are ignored. */
struct ns_cred {
	__u32 mode;
	__u32 uid;
	__u32 gid;
};

/* What ns_setattr() changes: the fields named in valid (FAMFS_SETATTR_*). */
struct ns_setattr {
	__u32 valid;
	__u32 mode;		/* permission bits; type bits are ignored */
	__u32 uid;
	__u32 gid;
	__u64 size;
	struct famfs_mlog_time atime, mtime, ctime;
};

/*
 * One directory entry.  cookie is where to resume to get the entries
 * after this one; "." and ".." come first, with cookies 1 and 2.
 */
struct ns_dirent {
	const char *name;
	__u64 ino;
	__u32 mode;		/* S_IF* | permission bits of the inode */
	__u64 cookie;
};

struct ns_statfs {
	__u64 inodes;		/* live inodes, root and orphans included */
	__u64 files;
	__u64 dirs;		/* the root included */
	__u64 symlinks;
	__u64 orphans;
	__u64 max_ino;		/* highest inode number seen */
};

/* Linux's RENAME_NOREPLACE and RENAME_EXCHANGE, for ns_rename(). */
#define NS_RENAME_NOREPLACE	(1U << 0)
#define NS_RENAME_EXCHANGE	(1U << 1)

/* A namespace with the root directory only (mode 0755, owned by 0:0). */
struct ns *ns_new(const struct ns_ops *ops, void *ops_ctx);
/* Frees everything; releases nothing: the space stays as the log says. */
void ns_free(struct ns *ns);
/*
 * @ns follows another's log: an inode that loses its last name while open
 * loses its extents at once (released as usual), and its layout is -EIO
 * from then on, so that a file held open across the owner's delete fails
 * rather than read space the owner gives to another file.
 */
void ns_set_follower(struct ns *ns);

/*
 * Check @e against the namespace and apply it, or change nothing and
 * return -ENOENT, -ENOTDIR, -EISDIR, -EEXIST, -ENOTEMPTY, -EINVAL, -EFBIG
 * (more extents than a file may have), -EPERM (a link to a directory),
 * -EMLINK, -ENOMEM; @msg (may be NULL) says what was refused.  DEVADD
 * is accepted and ignored (devices are the log reader's business).
 */
int ns_apply(struct ns *ns, const struct famfs_mlog_entry *e, char *msg, size_t msglen);

/*
 * famfs_mlog_ops.apply for replay, @ctx a struct ns: ns_apply(), with
 * every refusal but -ENOMEM made -EINVAL; ns_refusal() gives the message.
 * Replay runs before the namespace is shared: the message is not locked.
 */
int ns_mlog_apply(void *ctx, const struct famfs_mlog_entry *e);
const char *ns_refusal(const struct ns *ns);

/*
 * famfs_mlog_replay() into @ns, with the namespace's message for an entry
 * it refused in res->msg, and the next sequence number taken from @res.
 */
int ns_replay(struct ns *ns, const void *log, size_t len,
	      const __u8 uuid[FAMFS_UUID_SIZE], struct famfs_mlog_devtab *devs,
	      struct famfs_mlog_result *res);

/* The sequence number the next journaled entry gets (after a replay). */
void ns_set_next_seq(struct ns *ns, __u64 seq);

/*
 * Live operations.  @j may be NULL (nothing is journaled: tests, a
 * namespace that is not persistent).  New inodes get the highest inode
 * number seen + 1, in *@ino.  Names: -EINVAL (empty, '/', "." or ".."),
 * -ENAMETOOLONG.
 */
int ns_mkdir(struct ns *ns, const struct ns_journal *j, __u64 parent,
	     const char *name, const struct ns_cred *cred, __u64 *ino);
/* An empty regular file; ns_alloc() gives it space. */
int ns_create(struct ns *ns, const struct ns_journal *j, __u64 parent,
	      const char *name, const struct ns_cred *cred, __u64 *ino);
int ns_symlink(struct ns *ns, const struct ns_journal *j, __u64 parent,
	       const char *name, const char *target, const struct ns_cred *cred,
	       __u64 *ino);
int ns_unlink(struct ns *ns, const struct ns_journal *j, __u64 parent,
	      const char *name);
int ns_rmdir(struct ns *ns, const struct ns_journal *j, __u64 parent,
	     const char *name);
/*
 * An O_TMPFILE: a regular file in no directory, nlink 0 and one open
 * reference (the caller's, for ns_open_unref()), an orphan from the start.
 * Nothing is journaled: a crash leaves nothing, and its space, which the
 * log never gave it, is free at the next mount.  It takes @parent's
 * layout default and setgid group.  -ENOENT, -ENOTDIR, -ENOMEM.
 */
int ns_tmpfile(struct ns *ns, __u64 parent, const struct ns_cred *cred, __u64 *ino);
/*
 * @ino (a regular file or a symlink) gets the name @new_name in
 * @new_parent too: -EPERM for a directory, -EEXIST, -EMLINK
 * (FAMFS_LINK_MAX names).  A tmpfile (ns_tmpfile()) is journaled whole
 * then, as a CREATE of the same inode number with its extents, so the
 * log never needed to know it before; it keeps what the kernel knows it
 * by (number, generation, open references).  Other inodes with no name
 * (an unlinked file still open: its DELETE is in the log): -ENOENT.
 */
int ns_link(struct ns *ns, const struct ns_journal *j, __u64 ino, __u64 new_parent,
	    const char *new_name);
/* Log bytes ns_link() will append for an orphan @ino; 0 for any other inode. */
ssize_t ns_link_room(struct ns *ns, __u64 ino, __u64 new_parent, const char *new_name);
/* @flags: NS_RENAME_*; renaming a name (or a hard link of it) to itself does nothing. */
int ns_rename(struct ns *ns, const struct ns_journal *j, __u64 old_parent,
	      const char *old_name, __u64 new_parent, const char *new_name,
	      unsigned int flags);
/*
 * Size applies to regular files only.  When mode, uid, gid or size change
 * and ctime is not given, ctime becomes now.
 */
int ns_setattr(struct ns *ns, const struct ns_journal *j, __u64 ino,
	       const struct ns_setattr *sa);
/*
 * Regular file @ino's size becomes @size in memory only: no entry, no
 * ctime.  The owner batches the sizes writes move (fs_size_grow()) and
 * journals them with ns_setattr() when they must be durable.
 */
int ns_set_size_mem(struct ns *ns, __u64 ino, __u64 size);
/*
 * Add extents to regular file @ino (as in a log entry: simple ones sorted
 * by file offset, none overlapping each other or the file's extents; at
 * most FAMFS_LOG_MAX_SIMPLE and FAMFS_LOG_MAX_ILEAVE in one call).  An
 * interleaved extent that continues one of the file's is merged with it.
 */
int ns_alloc(struct ns *ns, const struct ns_journal *j, __u64 ino,
	     const struct fmap_simple_ext *simple, __u32 nsimple,
	     const struct fmap_ileave_ext *ileave, __u32 nileave);
/*
 * The layout policy of regular file or directory @ino (a STRIPE entry):
 * famfs_mlog_stripe_check()'s rules, without the device count, which is
 * the caller's to check.  A regular file created in a directory with a
 * striped policy starts with that policy (replay does the same).
 */
/*
 * The class of regular file or directory @ino (a CLASS entry): @kind
 * FAMFS_DEV_DAX or FAMFS_DEV_BLOCK.  A file that has space keeps its
 * class (EBUSY for another); a file created in a directory starts with
 * the directory's (replay does the same).
 */
int ns_set_class(struct ns *ns, const struct ns_journal *j, __u64 ino, __u32 kind);

/*
 * An O_TMPFILE that inherited no class gets @kind, the one its space
 * comes from, so that the CLASS entries of its link keep it (0: no-op).
 */
void ns_tmpfile_kind(struct ns *ns, __u64 ino, __u32 kind);

int ns_set_stripe(struct ns *ns, const struct ns_journal *j, __u64 ino, __u32 nstrips,
		  __u32 chunk_shift);
/*
 * Extended attributes ("user." and "trusted." names, an XATTR entry each;
 * famfs_mlog_xattr_name_check() says which names: -EOPNOTSUPP, -ERANGE,
 * -EINVAL).  Set: @flags NS_XATTR_CREATE (-EEXIST if it has it) or
 * NS_XATTR_REPLACE (-ENODATA if not), -ENOSPC when the inode's attributes
 * would pass FAMFS_XATTR_SPACE (include/famfs_format.h).  Remove: -ENODATA
 * for a name it does not have.  Any inode; the caller applies the VFS's
 * rules on which may have which.  An inode's attributes go with it.
 */
#define NS_XATTR_CREATE		1U	/* = XATTR_CREATE */
#define NS_XATTR_REPLACE	2U	/* = XATTR_REPLACE */
int ns_xattr_set(struct ns *ns, const struct ns_journal *j, __u64 ino, const char *name,
		 const void *value, size_t size, unsigned int flags);
int ns_xattr_remove(struct ns *ns, const struct ns_journal *j, __u64 ino, const char *name);

/* @ino no longer maps [off, off + len) (len FAMFS_LOG_TO_END: to the end). */
int ns_punch(struct ns *ns, const struct ns_journal *j, __u64 ino,
	     __u64 off, __u64 len);

/*
 * @ns takes @from's inodes and names (a follower's namespace replayed from
 * a checkpoint), keeping its lock, ops and pointer, which its users hold;
 * @from gets the old ones, for ns_free().  An inode both have keeps its
 * open references and generation (the kernel knows it by them); an orphan
 * (open, no name) of the old one goes with it.
 */
void ns_adopt(struct ns *ns, struct ns *from);

/* Open references: an unlinked inode stays until its last one goes. */
int ns_open_ref(struct ns *ns, __u64 ino);
int ns_open_unref(struct ns *ns, __u64 ino);

/* Queries.  "." and ".." are looked up too. */
int ns_lookup(struct ns *ns, __u64 parent, const char *name, __u64 *ino);
int ns_getattr(struct ns *ns, __u64 ino, struct ns_attr *attr);
/* The target's length (not NUL-terminated if @size is too small), -EINVAL. */
ssize_t ns_readlink(struct ns *ns, __u64 ino, char *buf, size_t size);

/*
 * The entries of @dir with a cookie above @cookie (0: from the start), in
 * cookie order, until @fill returns nonzero (say, a full reply buffer).
 */
int ns_readdir(struct ns *ns, __u64 dir, __u64 cookie,
	       int (*fill)(void *ctx, const struct ns_dirent *d), void *ctx);

void ns_statfs(struct ns *ns, struct ns_statfs *st);

/* Every live inode, in no particular order; a nonzero return stops. */
int ns_foreach_inode(struct ns *ns, int (*fn)(void *ctx, const struct ns_attr *a),
		     void *ctx);

/*
 * A regular file's extents: simple ones sorted by file offset, then
 * interleaved ones, sorted and merged (see the top of this file).
 */
typedef int (*ns_layout_fn)(void *ctx, __u64 ino,
			    const struct fmap_simple_ext *simple, __u32 nsimple,
			    const struct fmap_ileave_ext *ileave, __u32 nileave);

/* One file's extents (-ENOENT, -EISDIR, -EINVAL for a symlink). */
int ns_get_layout(struct ns *ns, __u64 ino, ns_layout_fn fn, void *ctx);

/* A file's extents copied out of the namespace; free(@simple) when done. */
struct ns_layout {
	struct fmap_simple_ext *simple;
	__u32 nsimple, cap;
	struct fmap_ileave_ext ileave[FMAP_MAX_ILEAVE];
	__u32 nileave;
};

/* ns_get_layout() into @l, reusing its buffer: -ENOMEM as well. */
int ns_layout_get(struct ns *ns, __u64 ino, struct ns_layout *l);

/*
 * @name's value into @buf: its length; @size 0 asks the length only;
 * -ERANGE when @size is too small, -ENODATA, -ENOENT.
 */
ssize_t ns_xattr_get(struct ns *ns, __u64 ino, const char *name, void *buf, size_t size);
/*
 * The names of @ino's attributes, each NUL-terminated, in the order they
 * were first set: the length; @size 0 asks the length only; -ERANGE.
 */
ssize_t ns_xattr_list(struct ns *ns, __u64 ino, char *buf, size_t size);
/* Every attribute of every inode that has a name (a checkpoint's XATTRs). */
typedef int (*ns_xattr_fn)(void *ctx, __u64 ino, const char *name, const void *value,
			   __u32 len);
int ns_foreach_xattr(struct ns *ns, ns_xattr_fn fn, void *ctx);

/*
 * Every regular file's extents, orphans included: the space in use, for
 * the allocator at mount and for fsck's overlap checks.
 */
int ns_foreach_layout(struct ns *ns, ns_layout_fn fn, void *ctx);

#endif /* FAMFS_BPF_NS_H */
