/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A mounted famfs-bpf file system's metadata: the devices, the superblock
 * and labels, the metadata log mapped from its device, the namespace
 * replayed from it (ns.h) and the space allocator (alloc.h).  What the
 * FUSE layer calls; nothing here speaks FUSE, so it is tested on image
 * files on the host.
 *
 * Two modes.  The owner (FS_OPEN_OWNER) is the single writer of the log:
 * every change is checked by the namespace, appended to the mapped log,
 * made durable (msync MS_SYNC of the entry's pages) and only then applied;
 * an flock(LOCK_EX) on the log device keeps a second owner on this host
 * out, the owner record in the superblock one on another host
 * (FS_OPEN_TAKEOVER below).  A read-only instance (another host, or a second mount) refuses
 * every change with -EROFS and follows the owner with fs_logplay().
 *
 * Errors: a negative errno.  fs_open() writes its one-line message into the
 * caller's buffer; every other call leaves its message in a per-thread
 * buffer that fs_msg() returns (like dlerror()), so FUSE handlers running
 * on many threads each see their own.
 *
 * fs_open() refusals:
 *   -ENODEV        a device holds no famfs-bpf superblock or label
 *   -EXDEV         a device of another famfs-bpf file system (named)
 *   -EINVAL        devices in the wrong order, a label that disagrees with
 *                  the superblock's table, or a superblock whose geometry
 *                  breaks a rule (super.c's checks)
 *   -ENXIO         more or fewer devices than the file system has
 *   -ENOSPC        a device smaller than the superblock says
 *   -EBADMSG       superblock or label CRC mismatch
 *   -EPROTONOSUPPORT  written by a newer version
 *   -EUCLEAN       owner: the log is corrupt (the message names the log
 *                  offset), or two files claim the same space, or a file
 *                  maps space outside the data area (either mode)
 *   -EOPNOTSUPP    more devices than the allocator handles (16)
 *   -EBUSY         owner: another owner holds the log device (mounted)
 *                  on this host (its flock)
 *   -EUSERS        owner: another host owns the file system (the owner
 *                  record, named in the message); with FS_OPEN_TAKEOVER:
 *                  and it is alive
 *   -ENOTBLK       a device is not DAX memory: a character device (devdax),
 *                  or a block device without DAX (sysfs queue/dax 0)
 *   -EACCES, -EPERM  a device cannot be opened (permissions)
 * A read-only instance mounts a corrupt log up to the first bad entry
 * (what a replay can trust) and reports it in fs_statfs() and from every
 * fs_logplay(); an owner never appends after a corruption.
 *
 * Locking.  Owner operations, fs_release(), fs_logplay() and fs_statfs()
 * take fs->lock (a mutex); inside it the namespace takes its own rwlock.
 * The order is always fs lock, then ns lock, never the reverse: ns calls
 * back into fs (releasing space) under its lock, and that callback relies
 * on the fs lock its caller holds.  Queries (lookup, getattr, readdir,
 * readlink, layouts) go straight to fs_ns() under the ns rwlock only.
 *
 * Space.  The allocator is rebuilt at open from every file's extents
 * (each rounded out to 2 MiB units), refusing two files on one unit.
 * Freed space is reusable at once: the FUSE layer frees (unlink + last
 * release, truncate, punch) only after the kernel dropped its mappings,
 * which the kernel does around truncate and fallocate itself (it unmaps
 * the file and holds off its I/O until it forgot the range) and for
 * unlink at the last close.
 */
#ifndef FAMFS_BPF_FS_H
#define FAMFS_BPF_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "famfs_format.h"
#include "fmap.h"
#include "mlog.h"
#include "ns.h"

struct fs;

/* fs_open() flags */
#define FS_OPEN_OWNER	(1U << 0)	/* read-write: the single writer of the log */
/*
 * With FS_OPEN_OWNER: take the file system over from an owner on another
 * host that is gone (its owner record did not change for a whole lease).
 */
#define FS_OPEN_TAKEOVER	(1U << 1)

/*
 * One owner across hosts.  flock() reaches one host (one kernel) only, so
 * the owner also claims the superblock's owner record (super.h,
 * include/FORMAT.md "Owner"): its host, boot id, pid, a new generation,
 * and a lease it keeps alive by rewriting the record every lease / 4 from
 * a thread.  A mount as owner that finds the record held by another boot
 * (another host, or this one before a reboot) is refused (-EUSERS, the
 * message names the holder and since when); with FS_OPEN_TAKEOVER it
 * watches the record for a whole lease and takes over if nothing changed
 * (else -EUSERS: the holder is alive).  A record held by this boot whose
 * flock we got belongs to a daemon that died: taken over at once.  Before
 * every owner operation the record is read again: once another claim
 * replaced ours (a takeover while this process was stopped, say), every
 * change fails with -EROFS for good.  fs_close() releases the record.
 */
#define FS_OWNER_LEASE_MS	10000
#define FS_OWNER_LEASE_MAX_MS	300000	/* the longest a takeover waits */
#define FS_OWNER_SETTLE_MS	100	/* after a claim, before checking it held */

/*
 * For tests: claim as @boot_id (16 bytes) and @host instead of this
 * kernel's boot id and node name (both NULL: the real ones), with
 * @lease_ms (0: FS_OWNER_LEASE_MS).  Process-wide, for the fs_open()
 * calls that follow.
 */
void fs_set_owner_identity(const __u8 *boot_id, const char *host, unsigned int lease_ms);

/*
 * Open the file system on @devs (block or DAX device nodes, or regular
 * image files), in the order of the superblock's table (mkfs order, then
 * devices the log added).  0 and *@out, or a negative errno (above) and a
 * message in @msg naming the device or the log offset.
 */
int fs_open(const char *const *devs, unsigned int ndevs, unsigned int flags,
	    struct fs **out, char *msg, size_t msglen);
/*
 * fs_open() in two steps, for a caller with work to do while the log
 * replays (the mount loads the BPF resolver meanwhile): fs_open_log() opens
 * the devices, checks the superblock and labels and maps the log (the
 * owner's lock taken); until fs_open_replay() only fs_log_hint() and
 * fs_close() may be called.  fs_open_replay() replays the log and builds
 * the allocator; on an error the caller still fs_close()s.  Same refusals
 * and messages as fs_open().
 */
int fs_open_log(const char *const *devs, unsigned int ndevs, unsigned int flags,
		struct fs **out, char *msg, size_t msglen);
int fs_open_replay(struct fs *fs, char *msg, size_t msglen);
/* How many entries the mapped log seems to hold (famfs_mlog_count_hint()): a size hint. */
size_t fs_log_hint(const struct fs *fs);
/*
 * Unmap, close, free.  Every change is written already; an owner releases
 * the owner record (unless another host took it over).
 */
void fs_close(struct fs *fs);
/*
 * For the fs_open() calls that follow, in this process (NULL: none): the
 * log replay's progress, as ns_ops.replay_progress (ns.h) reports it.
 */
void fs_set_replay_progress(void (*fn)(void *ctx, __u64 done, __u64 total), void *ctx);

/* The calling thread's message for its last failed fs_*() call. */
const char *fs_msg(void);

/* The namespace, for queries (ns_lookup, ns_getattr, ns_readdir, ...). */
struct ns *fs_ns(struct fs *fs);
bool fs_is_owner(const struct fs *fs);
unsigned int fs_ndevs(const struct fs *fs);

/*
 * Is @ino's data on block devices without DAX (FUSE_ATTR_FMAP_BLOCK)?
 * Its class (a CLASS entry, or its directory's at create), else memory
 * when the file system has a DAX device, block when it has none.
 */
bool fs_file_block(const struct fs *fs, __u64 ino);

/*
 * The class of directory @ino, for files created in it from now on:
 * FAMFS_DEV_DAX or FAMFS_DEV_BLOCK, a kind the file system has (EINVAL
 * otherwise, and for anything but a directory).  Journaled (CLASS).
 */
int fs_set_class(struct fs *fs, __u64 ino, __u32 kind);
/* The open device @dev, to register with the FUSE connection; -1 if none. */
int fs_dev_fd(const struct fs *fs, unsigned int dev);
const struct famfs_mlog_dev *fs_dev(const struct fs *fs, unsigned int dev);

/*
 * How a regular file is laid out: nstrips 0 for simple extents, or
 * nstrips strips (1 to 16, any count, at most the device count) of chunk_size
 * bytes (a power of two, 2 MiB to 256 MiB, FAMFS_XATTR_STRIPE_MAX_CHUNK; a
 * log from before that bound may hold up to 1 GiB).  A policy is an inode attribute
 * journaled as a STRIPE entry (ns_set_stripe()): on a file, how its space
 * grows; on a directory, the default a file created in it starts with.
 * A file without one (a log from before STRIPE entries) that ends in an
 * interleaved extent grows with that extent's geometry.
 */
struct fs_stripe {
	__u32 nstrips;
	__u64 chunk_size;
};

/* Owner operations: -EROFS on a read-only instance. */
int fs_mkdir(struct fs *fs, __u64 parent, const char *name, const struct ns_cred *cred,
	     __u64 *ino);
/*
 * An empty regular file, with its directory's policy if it has a striped
 * one; @stripe (not NULL) gives it another (nstrips 0: simple) with a
 * STRIPE entry after the CREATE (both fit the log, or neither is written).
 */
int fs_create(struct fs *fs, __u64 parent, const char *name, const struct ns_cred *cred,
	      const struct fs_stripe *stripe, __u64 *ino);
int fs_symlink(struct fs *fs, __u64 parent, const char *name, const char *target,
	       const struct ns_cred *cred, __u64 *ino);
/* The name goes; an open file's space comes back at its last fs_release(). */
int fs_unlink(struct fs *fs, __u64 parent, const char *name);
/*
 * ns_link(): one more name for @ino; its space goes with the last name.
 * A tmpfile's first name journals the whole file: all of its entries fit
 * the log, or none is written (-ENOSPC).
 */
int fs_link(struct fs *fs, __u64 ino, __u64 new_parent, const char *new_name);
/*
 * ns_tmpfile(): an open file with no name, in memory only until
 * fs_link() names it; its last fs_release() frees its space.
 */
int fs_tmpfile(struct fs *fs, __u64 parent, const struct ns_cred *cred, __u64 *ino);
int fs_rmdir(struct fs *fs, __u64 parent, const char *name);
/* @flags: NS_RENAME_*; a replaced file goes as in fs_unlink(). */
int fs_rename(struct fs *fs, __u64 old_parent, const char *old_name, __u64 new_parent,
	      const char *new_name, unsigned int flags);
/*
 * ns_setattr().  A smaller size frees the 2 MiB units wholly past the new
 * end (a PUNCH entry after the SETATTR); the unit holding the new end stays
 * mapped, so its bytes past the end are the caller's to zero.  A larger
 * size allocates nothing.  Both entries fit the log, or neither is written.
 */
int fs_setattr(struct fs *fs, __u64 ino, const struct ns_setattr *sa);
/*
 * Sizes that writes move.  A write past the end of file (FUSE_FMAP_END)
 * calls fs_size_grow(): the size changes in memory, and nothing is
 * journaled, so a stream of appends costs no log entry per write (only an
 * ALLOC per new unit).  fs_size_sync() journals one file's size (one
 * SETATTR) if it changed in memory only: the daemon calls it before it
 * answers fsync (msync arrives as one), flush (close) and release;
 * fs_size_sync_all() does every file, and fs_close() calls it.  A crash
 * in between brings a file back with its last journaled size: shorter,
 * its bytes past that size its own (space is journaled by its ALLOC, and
 * a later growth zeroes them), never another file's.  fs_setattr() with a
 * size journals it too.  A read-only instance sees journaled sizes only.
 * fs_size_grow() never shrinks (a stale report): 0.  -EINVAL for a file
 * that is not regular, -EROFS, -ENOENT; fs_size_sync*(): -ENOSPC when the
 * log is full (sizes may use half of the reserve below).
 */
int fs_size_grow(struct fs *fs, __u64 ino, __u64 size);
int fs_size_sync(struct fs *fs, __u64 ino);
int fs_size_sync_all(struct fs *fs);
/* How many files have a size in memory only (tests). */
size_t fs_size_dirty(struct fs *fs);

/*
 * The log's reserve: its last bytes are for DELETE entries only (unlink,
 * rmdir, and so the space they free); creates, allocations, renames and
 * attribute changes get -ENOSPC ("metadata log full") before they would
 * use it, sizes made durable (fs_size_sync) before they would use half of
 * it.  log_len / 16, at least 4 KiB (about 70 deletes), at most 1 MiB.
 */
#define FS_LOG_RESERVE_DIV	16
#define FS_LOG_RESERVE_MIN	4096
#define FS_LOG_RESERVE_MAX	(1U << 20)
size_t fs_log_reserve(__u64 log_len);

/*
 * Set the layout policy of regular file or directory @ino from now on
 * (NULL: simple; a directory: no default).  -EINVAL for a bad policy or
 * another kind of inode.
 */
int fs_set_stripe(struct fs *fs, __u64 ino, const struct fs_stripe *stripe);
/*
 * Extended attributes of @ino ("user." and "trusted." names): ns_xattr_set()
 * and ns_xattr_remove(), journaled as XATTR entries.  Reads go to fs_ns().
 */
int fs_xattr_set(struct fs *fs, __u64 ino, const char *name, const void *value, size_t size,
		 unsigned int flags);
int fs_xattr_remove(struct fs *fs, __u64 ino, const char *name);
/* @ino's policy (nstrips 0: simple, or no default); -ENODATA if it has none. */
int fs_get_stripe(struct fs *fs, __u64 ino, struct fs_stripe *stripe);
/*
 * How @ino grows: true with its striped policy (set, or its directory's at
 * create), else, for a regular file whose space ends in an interleaved
 * extent this file system could allocate, that extent's geometry (a log
 * from before STRIPE entries).  False for a simple policy or none.  What
 * fs_alloc_for_write() stripes by, and user.famfs.stripe shows.
 */
bool fs_file_stripe(struct fs *fs, __u64 ino, struct fs_stripe *stripe);

/* One extent of a file: simple (ileave false) or interleaved. */
struct fs_extent {
	bool ileave;
	bool fresh;	/* the offset was a hole before this call: never written */
	struct fmap_simple_ext simple;
	struct fmap_ileave_ext ileave_ext;
};

/*
 * Make sure regular file @ino maps [off, off + len) (len 0: one byte),
 * allocating what it does not in whole 2 MiB units (whole stripes for an
 * interleaved file; the file's device offsets congruent with its offsets
 * modulo 2 MiB) with one ALLOC entry, and return in *@ext the extent that
 * covers @off.  New space is zeroed on its devices, durably, before the
 * ALLOC names it (reserve, zero, journal: a crash at any point leaves free
 * space or zeroed space the file owns); the fs lock is not held while it
 * zeroes.  -ENOSPC (devices or log full), -E2BIG (more extents than
 * one entry holds: ask for less), -EFBIG, -ENOENT, -EISDIR, -EINVAL,
 * -EIO or another errno when zeroing fails, -EAGAIN (other threads kept
 * filling the same holes; unlikely);
 * a failure leaves the log, the namespace and the allocator as they were.
 * An interleaved file has at most FMAP_MAX_ILEAVE interleaved extents.
 * New space continues the interleaved extent before it in place when
 * every strip can grow there, and the namespace merges the two (one
 * extent, whatever the file's size); only when it cannot is there a new
 * extent, at least as large as the file (so 4 of them reach 8x the
 * first), and space past the fourth such is simple.
 */
int fs_alloc_for_write(struct fs *fs, __u64 ino, __u64 off, __u64 len,
		       struct fs_extent *ext);

/*
 * A lock of the caller's that fs_alloc_for_write_locked() and
 * fs_fallocate_locked() take for it: after new space is zeroed and
 * before it is journaled, or, when there is no new space to zero, just
 * before they return.  So a caller whose readers must not see a new
 * extent before it has done more (the daemon: its BPF map) holds its
 * lock across the journaling but not across the zeroing.  @lock is
 * called exactly once per call (also on failure), never with the fs lock
 * held; the caller releases it after the call returns.
 */
struct fs_commit_lock {
	void (*lock)(void *ctx);
	void *ctx;
};
int fs_alloc_for_write_locked(struct fs *fs, __u64 ino, __u64 off, __u64 len,
			      struct fs_extent *ext, const struct fs_commit_lock *cl);

/*
 * The most new space one fallocate may take, and so zero before it
 * answers: 16 strips of 256 MiB, what a first write into a stripe of the
 * widest layout a user may set takes.  More is -EFBIG, "allocate in
 * pieces"; nothing changes.
 */
#define FS_FALLOC_MAX_NEW	(16ULL << 28)
/* FS_FALLOC_MAX_NEW under FAMFS_FAULT=falloc_small (tests): 4 units */
#define FS_FALLOC_SMALL_MAX_NEW	(8ULL << 20)

/* fs_fallocate() flags */
#define FS_FALLOC_KEEP_SIZE	(1U << 0)	/* the size stays as it is */

/*
 * fallocate(2) mode 0 or KEEP_SIZE on regular file @ino: map every byte of
 * [off, off + len), allocating its holes as fs_alloc_for_write() does
 * (whole units; whole stripes of a striped file, which may take more), in
 * one ALLOC entry; without FS_FALLOC_KEEP_SIZE a size below off + len
 * becomes it (a SETATTR after the ALLOC).  Both entries fit the log or
 * neither is written; any failure (-ENOSPC: devices or log full, -E2BIG:
 * more extents than one entry holds, -EFBIG (also: more new space than
 * FS_FALLOC_MAX_NEW), -EINVAL for len 0 or a
 * symlink, -EISDIR, -ENOENT, a zeroing error) changes nothing.  New space
 * is zeroed before it is journaled, as in fs_alloc_for_write().
 */
int fs_fallocate(struct fs *fs, __u64 ino, __u64 off, __u64 len, unsigned int flags);
/*
 * Where the first piece of a fallocate of [@off, @end) on @ino ends (at
 * most @end, always past @off): a piece starts on a stripe boundary of the
 * file (a unit boundary if it is not striped) and spans whole stripes, so
 * one fs_fallocate() of [@off, piece end) takes at most FS_FALLOC_MAX_NEW
 * of new space and is never refused for its size.  The daemon fallocates
 * a larger range piece by piece.
 */
__u64 fs_fallocate_piece_end(struct fs *fs, __u64 ino, __u64 off, __u64 end);
/*
 * The granularity of simple extents and of what punch and truncate free:
 * 4 KiB with FAMFS_SB_F_PAGES (mkfs's default), else 2 MiB.
 */
__u64 fs_alloc_gran(const struct fs *fs);
/* fs_fallocate(), taking @cl as fs_alloc_for_write_locked() does. */
int fs_fallocate_locked(struct fs *fs, __u64 ino, __u64 off, __u64 len, unsigned int flags,
			const struct fs_commit_lock *cl);

/*
 * PUNCH_HOLE of [off, off + len) (size unchanged): the whole units inside
 * it (inside an interleaved extent: whole stripes from its start, which
 * the log requires) go from regular file @ino with one PUNCH entry and
 * back to the allocator; [*@cut_off, +*@cut_len) is what went (len 0:
 * nothing, the range being too small, or the file holding as many
 * extents as it may).  The rest of the range is the caller's to zero.
 * -EINVAL (len 0, off + len past 2^64, a symlink), -EISDIR, -ENOENT,
 * -ENOSPC (log full).
 */
int fs_punch(struct fs *fs, __u64 ino, __u64 off, __u64 len, __u64 *cut_off, __u64 *cut_len);

/*
 * How much fs_alloc_for_write() takes at once.  A write into a hole of a
 * striped file (its policy, or interleaved extents already) allocates at least
 * @striped_min bytes from its offset when they are free, else what was
 * asked: a file has at most FMAP_MAX_ILEAVE interleaved extents (then
 * simple ones), so a striped file written in small pieces that cannot grow
 * in place must start large to stay striped.
 * 0: exactly what is asked (tests).  Default FS_STRIPED_MIN_ALLOC.
 *
 * With pages, a write shorter than @pages_ahead_write bytes that grows a
 * file at its mapped end below 2 MiB allocates ahead, to twice that end
 * (at most the unit boundary): appends of less than a page ask once per
 * doubling, not once per page, and a file copied in larger writes (cp:
 * 128 KiB) gets exactly its size, unless its last write is shorter than
 * a page.  What is ahead stays the file's, zeroed, past its end (at most
 * its size again, below 2 MiB): nothing trims it at close yet.
 * 0: exactly what is asked.  Default FS_PAGES_AHEAD_WRITE.
 */
struct fs_alloc_policy {
	__u64 striped_min;
	__u64 pages_ahead_write;
};
#define FS_STRIPED_MIN_ALLOC	(16ULL << 20)
#define FS_PAGES_AHEAD_WRITE	(4ULL << 10)

void fs_set_alloc_policy(struct fs *fs, const struct fs_alloc_policy *policy);

/*
 * Fault injection for crash tests: when the environment's FAMFS_FAULT (as
 * fs_open() saw it) names @step, log it and _exit(FS_FAULT_EXIT) at once,
 * as a SIGKILL would stop the daemon there ("step@N": the Nth time the
 * process reaches @step, for a crash amid other work).  fs.c's steps of
 * new space: after_reserve, mid_zero, after_zero, after_alloc; the daemon's:
 * after_bpf (the BPF map updated, no reply sent).  One step fails
 * instead of exiting: log_msync, the first msync of an appended entry
 * fails with EIO (the entry stays; the instance refuses later changes).
 * One changes a bound: falloc_small, one fallocate takes at most
 * FS_FALLOC_SMALL_MAX_NEW of new space (the daemon's pieces, tested
 * without zeroing GiB).
 */
#define FS_FAULT_EXIT	99
void fs_fault(const struct fs *fs, const char *step);

/* Open references (ns_open_ref): an unlinked file stays until the last. */
int fs_open_ref(struct fs *fs, __u64 ino);
/* Drop one; the last of an unlinked file gives its space back. */
int fs_release(struct fs *fs, __u64 ino);

/* Read-only instances: apply what the owner appended since. */
struct fs_logplay_result {
	__u64 applied;		/* entries applied by this call */
	__u64 end_off;		/* where the log ends now */
	enum famfs_mlog_tail tail;	/* END, TORN (an append in flight), CORRUPT */
	bool reloaded;		/* the owner wrote a checkpoint: the namespace was
				 * replayed from it (every inode may have changed) */
};

/*
 * Re-read the log and apply the entries after the last one applied (the
 * whole log is re-checked; the ones seen before are skipped by sequence
 * number).  0, -EUCLEAN (corrupt: fs_msg() names the offset; the entries
 * before it are applied), -ESTALE (the log now ends before what was
 * applied: another file system?), -EINVAL on an owner (it has nothing to
 * read).  The allocator follows (rebuilt from the new layouts).  When the
 * owner wrote a checkpoint (a new log generation), the namespace is
 * replayed from it instead and res->reloaded set (fs_compact()).
 */
int fs_logplay(struct fs *fs, struct fs_logplay_result *res);

/*
 * fs_logplay(), telling @fn (may be NULL) each new entry just before it is
 * applied: the namespace is still as it was before the entry (so a name a
 * RENAME replaces can be looked up), and an entry it then refuses was
 * reported too.  Called under the fs lock, not the namespace's: @fn may
 * query the namespace, must not call fs_*().  The entry is valid only
 * during the call.  So a FUSE daemon learns what to invalidate.
 */
typedef void (*fs_logplay_fn)(void *ctx, const struct famfs_mlog_entry *e);
int fs_logplay_each(struct fs *fs, struct fs_logplay_result *res, fs_logplay_fn fn, void *ctx);

/*
 * A checkpoint (include/FORMAT.md "Checkpoints"): write the live
 * namespace (every name, inode number, attribute, layout policy and
 * extent, the sizes in memory too; not the orphans, whose DELETE is
 * logged) as a new log into the other half of the log region, and switch
 * to it with one header write: a crash at any point leaves the old log or
 * the new one.  The owner does it by itself when the log is three
 * quarters full (fs_open'ed logs written before checkpoints, which fill
 * the whole region: while its second half is free), and `famfs-bpf fsck
 * --compact` offline.  Inode numbers stay, and none is reused.  -ENOSPC:
 * the live namespace does not fit in half the region, or an old
 * whole-region log is more than half full; -EIO; -EROFS.  Fault steps
 * (FAMFS_FAULT): compact_unhead, compact_mid, compact_body (before the
 * switch), compact_switched (after it).
 */
struct fs_compact_result {
	__u64 old_used;		/* bytes of the log before */
	__u64 new_used;		/* bytes of the new log */
	__u32 generation;	/* the new log's */
};
int fs_compact(struct fs *fs, struct fs_compact_result *r);
/* Automatic checkpoints on (the default) or off (tests of a full log). */
void fs_set_auto_compact(struct fs *fs, bool on);

struct fs_statfs {
	__u64 bsize;		/* the allocation unit, 2 MiB */
	__u64 blocks;		/* units for data, all devices */
	__u64 bfree;
	__u64 files;		/* live inodes, root and orphans included */
	__u64 log_len;		/* bytes of the current log (the region, or half of it) */
	__u64 log_used;		/* where the next entry goes */
	__u32 log_generation;	/* 0, or the last checkpoint's */
	bool log_corrupt;	/* read-only: replay stopped at a bad entry */
};

int fs_statfs(struct fs *fs, struct fs_statfs *st);

/*
 * Everything a replay determines, in a stable order: every inode (sorted,
 * attributes, extended attributes, names, symlink target, extents), then each device's used
 * units.  For tests and debugging: two dumps are equal exactly when the
 * namespaces and the allocators are.
 */
int fs_dump(struct fs *fs, FILE *out);

#endif /* FAMFS_BPF_FS_H */
