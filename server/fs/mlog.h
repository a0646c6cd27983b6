/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The metadata log (include/famfs_format.h, include/FORMAT.md): encode
 * entries, decode them with full validation, replay a log region in order.
 * Not to be confused with log.h, the server's message logging.
 *
 * Nothing here touches a device: a log region is a byte buffer (the mapped
 * DAX range, a read of a block device, a test's array), so the same code
 * serves the server, fsck, logplay, the unit tests and the fuzzer.  Every
 * error is a negative errno and a message naming the log offset.
 */
#ifndef FAMFS_BPF_MLOG_H
#define FAMFS_BPF_MLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "famfs_format.h"
#include "fmap.h"

struct famfs_mlog_time {
	__s64 sec;
	__u32 nsec;
};

/* A device as the log and the superblock describe it (famfs_dev_entry). */
struct famfs_mlog_dev {
	__u8 uuid[FAMFS_UUID_SIZE];
	__u64 size;
	__u64 data_off;
	__u32 kind;
};

/* The devices extents may name: the superblock's table, then DEVADDs. */
struct famfs_mlog_devtab {
	__u32 ndevs;
	struct famfs_mlog_dev devs[FAMFS_MAX_DEVS];
};

/*
 * One entry, decoded (or to be encoded).  Which members mean something
 * depends on type; the others are zero.  Names are NUL-terminated here
 * (not on the media).  Extents use include/fmap.h's types, so a replayed
 * layout goes to the resolver as it is.
 */
struct famfs_mlog_entry {
	enum famfs_log_type type;
	__u64 seq;		/* decode: the entry's; encode: ignored */
	__u64 log_off;		/* decode: offset from the log start */
	union {
		struct {	/* MKDIR, CREATE, SYMLINK */
			__u64 parent;
			__u64 ino;
			__u64 size;	/* CREATE: file size; SYMLINK: strlen(target) */
			struct famfs_mlog_time time;
			__u32 mode;	/* permission bits */
			__u32 uid;
			__u32 gid;
		} mknod;
		struct {	/* ALLOC */
			__u64 ino;
		} alloc;
		struct {	/* PUNCH */
			__u64 ino;
			__u64 off;
			__u64 len;	/* or FAMFS_LOG_TO_END */
		} punch;
		struct {	/* SETATTR */
			__u64 ino;
			__u32 valid;	/* FAMFS_SETATTR_* */
			__u32 mode;
			__u32 uid;
			__u32 gid;
			__u64 size;
			struct famfs_mlog_time atime, mtime, ctime;
		} setattr;
		struct {	/* RENAME: name -> new_name */
			__u64 old_parent;
			__u64 new_parent;
			__u64 ino;
			__u32 flags;	/* FAMFS_RENAME_* */
		} rename;
		struct {	/* DELETE */
			__u64 parent;
			__u64 ino;
			__u32 flags;	/* FAMFS_DELETE_* */
		} del;
		struct {	/* DEVADD */
			__u32 index;
			struct famfs_mlog_dev dev;
		} devadd;
		struct {	/* STRIPE */
			__u64 ino;
			__u32 nstrips;		/* 0: simple extents */
			__u32 chunk_shift;	/* 0 with nstrips 0 */
		} stripe;
		struct {	/* CLASS */
			__u64 ino;
			__u32 kind;		/* FAMFS_DEV_DAX or FAMFS_DEV_BLOCK */
		} klass;
		struct {	/* LINK: ino gets name in parent */
			__u64 parent;
			__u64 ino;
		} link;
		struct {	/* CKPT */
			__u64 max_ino;
		} ckpt;
		struct {	/* XATTR: name = value[value_len], or name goes */
			__u64 ino;
			__u32 flags;		/* FAMFS_XATTR_F_* */
			__u32 value_len;	/* 0 with FAMFS_XATTR_F_REMOVE */
		} xattr;
	};
	char name[FAMFS_NAME_MAX + 1];
	char new_name[FAMFS_NAME_MAX + 1];	/* RENAME */
	char target[FAMFS_SYMLINK_MAX + 1];	/* SYMLINK */
	/* CREATE, ALLOC: simple extents sorted by file_off, then interleaved */
	__u32 nsimple;
	__u32 nileave;
	struct fmap_simple_ext *simple;
	struct fmap_ileave_ext *ileave;
	/* decode: capacity of the arrays above, grown as needed */
	__u32 simple_cap;
	__u32 ileave_cap;
	/*
	 * XATTR: the value (bytes, not a string).  Encode: lent by the caller.
	 * Decode: grown like the extent arrays (value_cap), released with them.
	 */
	__u8 *value;
	__u32 value_cap;
};

/* Where replay stopped. */
enum famfs_mlog_tail {
	FAMFS_MLOG_END,		/* clean end: zeros (or nothing) from end_off on */
	FAMFS_MLOG_TORN,	/* the entry at end_off is incomplete, zeros after
				 * it: a crash during an append */
	FAMFS_MLOG_CORRUPT,	/* anything else; err and msg say what */
};

struct famfs_mlog_result {
	int err;		/* 0, or the negative errno that stopped replay */
	enum famfs_mlog_tail tail;
	__u32 version;		/* the log header's format version */
	__u32 generation;	/* the log header's: 0, or a checkpoint's >= 1 */
	__u64 entries;		/* entries applied */
	__u64 end_off;		/* offset of the first entry not applied:
				 * where the next append goes */
	__u64 next_seq;		/* its sequence number */
	char msg[256];		/* what went wrong and where; "" when err == 0 */
};

/*
 * Replay calls apply() for each entry, in log order, after decoding and
 * checking it; a nonzero return stops replay with that error.  The entry
 * and its arrays are valid during the call only.
 */
struct famfs_mlog_ops {
	int (*apply)(void *ctx, const struct famfs_mlog_entry *e);
};

/* A decode target: zeroed; release frees the arrays decode grew. */
void famfs_mlog_entry_init(struct famfs_mlog_entry *e);
void famfs_mlog_entry_release(struct famfs_mlog_entry *e);

/*
 * Check an entry in memory: names, counts, alignment, overflow, reserved
 * bits.  encode refuses what decode would refuse.  -EINVAL, and a message
 * in @msg (may be NULL).
 */
int famfs_mlog_check(const struct famfs_mlog_entry *e, char *msg, size_t msglen);

/* Bytes @e takes in the log (a multiple of 8), or -EINVAL. */
ssize_t famfs_mlog_entry_size(const struct famfs_mlog_entry *e);

/*
 * Encode @e as entry number @seq of the file system @uuid into @buf.
 * Returns its length, -EINVAL (famfs_mlog_check) or -ENOSPC (@cap).
 */
ssize_t famfs_mlog_encode(const struct famfs_mlog_entry *e,
			  const __u8 uuid[FAMFS_UUID_SIZE], __u64 seq,
			  void *buf, size_t cap);

/*
 * Decode the entry at @buf, of at most @avail bytes, expecting sequence
 * @seq (0: any).  Returns its length, or -EBADMSG (magic, length, CRC,
 * sequence), -EPROTONOSUPPORT (a type or flag from a newer version),
 * -EINVAL (a CRC-valid entry that breaks a rule), -ENOMEM; @msg says which.
 */
ssize_t famfs_mlog_decode(const void *buf, size_t avail,
			  const __u8 uuid[FAMFS_UUID_SIZE], __u64 seq,
			  struct famfs_mlog_entry *e, char *msg, size_t msglen);

/*
 * The 64-byte header of a log of @len bytes into @hdr: generation 0 a
 * whole log region, >= 1 a checkpoint's half (FAMFS_LOG_F_HALF).
 */
int famfs_mlog_header(void *hdr, size_t len, const __u8 uuid[FAMFS_UUID_SIZE],
		      __u64 first_seq, __u32 generation);

/*
 * Which log of a log region is the current one (include/FORMAT.md
 * "Checkpoints"): the whole region (generation 0), or one of its halves,
 * the valid one with the higher generation.  Never fails: when nothing
 * checks out it names the whole region, whose replay says why.
 */
struct famfs_mlog_area {
	__u64 off;		/* from the region's start */
	__u64 len;
	__u32 generation;
};
void famfs_mlog_pick(const void *region, size_t len, const __u8 uuid[FAMFS_UUID_SIZE],
		     struct famfs_mlog_area *a);

/* Write an empty log (header, zeros) over @log; -EINVAL if too small. */
int famfs_mlog_format(void *log, size_t len, const __u8 uuid[FAMFS_UUID_SIZE],
		      __u64 first_seq);

/*
 * Replay the log region @log of @len bytes (its header included) into
 * @ops (NULL: check only).  @uuid (NULL: any) is the superblock's; @devs
 * (NULL: no device checks) is the superblock's device table, which DEVADD
 * entries extend.  Returns res->err; res says where replay stopped and why.
 */
int famfs_mlog_replay(const void *log, size_t len,
		      const __u8 uuid[FAMFS_UUID_SIZE],
		      struct famfs_mlog_devtab *devs,
		      const struct famfs_mlog_ops *ops, void *ctx,
		      struct famfs_mlog_result *res);

/*
 * How many entries @log seems to hold: the length fields followed from the
 * header, nothing else checked.  A size hint, never to be trusted.
 */
size_t famfs_mlog_count_hint(const void *log, size_t len);

/* An appender over a log region in memory, positioned by a replay. */
struct famfs_mlog_writer {
	void *log;
	size_t len;
	__u8 uuid[FAMFS_UUID_SIZE];
	__u64 off;		/* where the next entry goes */
	__u64 next_seq;
};

/*
 * Position @w after the entries @res replayed.  A torn tail is zeroed
 * first, so that what follows the new entries reads as a clean end;
 * -EBADMSG for any other failed replay.
 */
int famfs_mlog_writer_init(struct famfs_mlog_writer *w, void *log, size_t len,
			   const __u8 uuid[FAMFS_UUID_SIZE],
			   const struct famfs_mlog_result *res);

/* Append @e; -ENOSPC when the log is full, -EINVAL for a bad entry. */
int famfs_mlog_append(struct famfs_mlog_writer *w, const struct famfs_mlog_entry *e);

/*
 * How many bytes the calling thread's decodes and replays have run
 * through the entry CRC so far (a running total): the work a log costs,
 * for the tests and the fuzzer that bound it.
 */
__u64 famfs_mlog_crc_bytes(void);

/* "mkdir", "create", ...; "unknown" for other values */
const char *famfs_mlog_type_name(unsigned int type);

/*
 * Check a layout policy (STRIPE; the server's fs_stripe): nstrips 0 with
 * chunk_shift 0 (simple), or any count from 1 up to FMAP_MAX_STRIPS and
 * @ndevs (0: unknown, not checked) with chunk_shift from the allocation
 * unit to FMAP_MAX_CHUNK_SHIFT.  -EINVAL and a message.
 */
int famfs_mlog_stripe_check(__u32 nstrips, __u32 chunk_shift, __u32 ndevs, char *msg,
			    size_t msglen);

/*
 * Check an extended attribute name that the log may hold (XATTR): 1 to
 * FAMFS_XATTR_NAME_MAX bytes, "user." or "trusted." with something after
 * the prefix, not a "user.famfs." name (the daemon's own), or one of the
 * two POSIX ACL names (acl.h; their values must pass famfs_acl_check()).  -EOPNOTSUPP:
 * another namespace or a user.famfs. name; -ERANGE: too long; -EINVAL:
 * nothing after the prefix.  A message in @msg.
 */
int famfs_mlog_xattr_name_check(const char *name, char *msg, size_t msglen);

/* Check a device description (superblock table, DEVADD). */
int famfs_mlog_dev_check(const struct famfs_mlog_dev *d, char *msg, size_t msglen);

#endif /* FAMFS_BPF_MLOG_H */
