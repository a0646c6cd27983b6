/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * famfs_format.h: the on-media format of famfs-bpf, shared by the server,
 * the CLI (mkfs, fsck, logplay) and the tests.  include/FORMAT.md describes
 * it in prose, with the rules a reader follows.
 *
 * Every multi-byte field is little-endian (__le*), every structure has
 * explicit padding that must be zero, and the sizes are fixed by static
 * asserts: the structures are the layout, byte for byte.  Readers copy them
 * out of the media (no alignment is assumed) and convert with le*toh().
 *
 * Device 0:   [0, 4 KiB) superblock   [4 KiB, 8 KiB) label
 *             [log_off, log_off + log_len) metadata log   [data_off, size) data
 * Device i>0: [4 KiB, 8 KiB) label                         [data_off, size) data
 */
#ifndef FAMFS_BPF_FORMAT_H
#define FAMFS_BPF_FORMAT_H

#include <linux/types.h>

#define FAMFS_FORMAT_VERSION	1

/* "FAMFSBPF", "FAMFSLBL", "FAMFSLOG" read as little-endian u64 */
#define FAMFS_SB_MAGIC		0x46504253464d4146ULL
#define FAMFS_LABEL_MAGIC	0x4c424c53464d4146ULL
#define FAMFS_LOG_MAGIC		0x474f4c53464d4146ULL
/* "FLE1": the first bytes of every log entry */
#define FAMFS_ENTRY_MAGIC	0x31454c46U

#define FAMFS_SB_OFF		0
#define FAMFS_SB_SIZE		4096
#define FAMFS_LABEL_OFF		4096
#define FAMFS_LABEL_SIZE	128
/* allocation unit: 2 MiB, so that PMD faults can map every unit */
#define FAMFS_ALLOC_SHIFT	21
#define FAMFS_ALLOC_UNIT	(1ULL << FAMFS_ALLOC_SHIFT)

/*
 * Superblock flags.  PAGES: simple extents are 4 KiB-granular, several
 * files may share a 2 MiB unit (each owns whole pages of it).  A reader
 * that does not know a flag refuses the file system.
 */
#define FAMFS_SB_F_PAGES	(1ULL << 0)
#define FAMFS_SB_F_KNOWN	FAMFS_SB_F_PAGES
/* file offsets, device offsets and lengths in extents: page multiples */
#define FAMFS_EXT_ALIGN		4096ULL

#define FAMFS_MAX_DEVS		32
#define FAMFS_NAME_MAX		255
#define FAMFS_SYMLINK_MAX	4095
#define FAMFS_ROOT_INO		1

/* Bounds of one log entry; a file's layout may span several entries. */
#define FAMFS_LOG_MAX_ENTRY	(1U << 20)
#define FAMFS_LOG_MAX_SIMPLE	16384	/* simple extents per entry */
#define FAMFS_LOG_MAX_ILEAVE	64	/* interleaved extents per entry */
#define FAMFS_LOG_MAX_STRIPS	16	/* = FMAP_MAX_STRIPS */

/* 16-byte UUIDs, stored as bytes (RFC 4122 order) */
#define FAMFS_UUID_SIZE		16

/* Kinds of device: DAX memory is mapped by the kernel, block goes by iomap. */
enum famfs_dev_kind {
	FAMFS_DEV_DAX = 1,
	FAMFS_DEV_BLOCK = 2,
};

/* One device of the file system: the superblock's table, DEVADD entries. */
struct famfs_dev_entry {
	__u8 uuid[FAMFS_UUID_SIZE];	/* 0: this device's uuid */
	__le64 size;			/* 16: bytes usable by famfs-bpf */
	__le64 data_off;		/* 24: first data byte, 2 MiB aligned */
	__le32 kind;			/* 32: enum famfs_dev_kind */
	__le32 flags;			/* 36: 0 */
	__u8 reserved[24];		/* 40: 0 */
};
_Static_assert(sizeof(struct famfs_dev_entry) == 64, "famfs_dev_entry");

/* "FOWN": an owner record (struct famfs_owner_rec) */
#define FAMFS_OWNER_MAGIC	0x4e574f46U

enum famfs_owner_state {
	FAMFS_OWNER_HELD = 1,		/* a mount owns the log; it refreshes the record */
	FAMFS_OWNER_RELEASED = 2,	/* its last owner unmounted cleanly */
};

#define FAMFS_OWNER_HOST_LEN	64

/*
 * Who owns the log, across hosts that share the memory: flock() keeps a
 * second owner out on one host only.  An all-zero record (a superblock
 * written before owner records existed, or never mounted as owner since
 * mkfs) means nobody.  The owner writes the record at mount (generation
 * + 1), again at least every lease_ms / 4 while mounted (seq + 1, a new
 * heartbeat: another host sees it alive), and as RELEASED at a clean
 * unmount.  Only the owner writes it, a whole 4 KiB superblock block at
 * a time, so it lies outside the superblock's CRC and has its own: a
 * write cut short never damages the superblock, and a reader on another
 * host that meets a record being written retries.  crc is CRC32C seeded
 * with the file system's uuid (as log entries) over bytes [0, 252).
 * include/FORMAT.md says how a mount decides.
 */
struct famfs_owner_rec {
	__le32 magic;			/* 0: FAMFS_OWNER_MAGIC */
	__le32 state;			/* 4: enum famfs_owner_state */
	__le64 seq;			/* 8: + 1 at every write */
	__le64 generation;		/* 16: + 1 at every claim: mount as owner, takeover */
	__u8 owner_id[16];		/* 24: random, chosen by the mount that claimed */
	__u8 boot_id[16];		/* 40: its host's kernel boot id: flock's reach */
	__u8 machine_id[16];		/* 56: its host's /etc/machine-id, or zero */
	__le64 since;			/* 72: claimed at, seconds since the epoch */
	__le64 heartbeat;		/* 80: written at, seconds since the epoch */
	__le32 lease_ms;		/* 88: refreshed at least every lease_ms / 4 */
	__le32 pid;			/* 92: the owning daemon */
	char host[FAMFS_OWNER_HOST_LEN];	/* 96: its host's name, NUL padded */
	__le32 flags;			/* 160: 0 */
	__u8 reserved[88];		/* 164: 0 */
	__le32 crc;			/* 252 */
};
_Static_assert(sizeof(struct famfs_owner_rec) == 256, "famfs_owner_rec");

/*
 * The superblock, at offset 0 of device 0.  crc is CRC32C over bytes
 * [0, 4092) with the owner record's bytes [2560, 2816) counted as zeroes:
 * everything but itself and the record (which has its own CRC), so a
 * superblock from before owner records checks out unchanged.  Devices
 * beyond the table's initial ndevs are added by DEVADD log entries.
 */
struct famfs_superblock {
	__le64 magic;			/* 0: FAMFS_SB_MAGIC */
	__le32 version;			/* 8: FAMFS_FORMAT_VERSION */
	__le32 sb_size;			/* 12: FAMFS_SB_SIZE */
	__u8 fs_uuid[FAMFS_UUID_SIZE];	/* 16 */
	__le64 flags;			/* 32: FAMFS_SB_F_* */
	__le32 alloc_shift;		/* 40: FAMFS_ALLOC_SHIFT */
	__le32 ndevs;			/* 44: 1..FAMFS_MAX_DEVS */
	__le32 log_dev;			/* 48: index of the log's device */
	__le32 pad;			/* 52: 0 */
	__le64 log_off;			/* 56: byte offset on log_dev, 4 KiB aligned */
	__le64 log_len;			/* 64: bytes, 4 KiB multiple, header included */
	__u8 reserved[56];		/* 72: 0 */
	struct famfs_dev_entry devs[FAMFS_MAX_DEVS];	/* 128 */
	__u8 reserved2[384];		/* 2176: 0 */
	struct famfs_owner_rec owner;	/* 2560: outside crc; zero: no owner */
	__u8 reserved3[1276];		/* 2816: 0 */
	__le32 crc;			/* 4092 */
};
_Static_assert(sizeof(struct famfs_superblock) == FAMFS_SB_SIZE, "famfs_superblock");

/*
 * The label, at FAMFS_LABEL_OFF of every device (device 0 included): a
 * mount checks that it was given the devices of this file system, in the
 * order of the table.  crc is CRC32C over bytes [0, 124).
 */
struct famfs_label {
	__le64 magic;			/* 0: FAMFS_LABEL_MAGIC */
	__le32 version;			/* 8 */
	__le32 dev_index;		/* 12: index in the device table */
	__u8 fs_uuid[FAMFS_UUID_SIZE];	/* 16 */
	__u8 dev_uuid[FAMFS_UUID_SIZE];	/* 32 */
	__le64 dev_size;		/* 48: = the table's size */
	__le32 kind;			/* 56: = the table's kind */
	__u8 reserved[64];		/* 60: 0 */
	__le32 crc;			/* 124 */
};
_Static_assert(sizeof(struct famfs_label) == FAMFS_LABEL_SIZE, "famfs_label");

/*
 * The metadata log starts with this header; entries follow it back to
 * back, each 8-byte aligned, until the first all-zero entry header (the
 * log is zeroed at mkfs).  crc is CRC32C over bytes [0, 60).
 */
struct famfs_log_header {
	__le64 magic;			/* 0: FAMFS_LOG_MAGIC */
	__le32 version;			/* 8: format version of the entries */
	__le32 hdr_size;		/* 12: sizeof(struct famfs_log_header) */
	__u8 fs_uuid[FAMFS_UUID_SIZE];	/* 16: = the superblock's */
	__le64 log_len;			/* 32: = the superblock's */
	__le64 first_seq;		/* 40: sequence number of the first entry, >= 1 */
	__le32 flags;			/* 48: 0 or FAMFS_LOG_F_HALF */
	__le32 generation;		/* 52: 0; with FAMFS_LOG_F_HALF >= 1 */
	__le32 reserved;		/* 56: 0 */
	__le32 crc;			/* 60 */
};
_Static_assert(sizeof(struct famfs_log_header) == 64, "famfs_log_header");

/*
 * Log header flag: this log is one half of the log region, written by a
 * checkpoint (include/FORMAT.md "Checkpoints"): at offset 0 or at
 * FAMFS_LOG_HALF(region length), FAMFS_LOG_HALF bytes long, generation
 * >= 1.  Without it the log is the whole region (generation 0).
 */
#define FAMFS_LOG_F_HALF	1U
#define FAMFS_LOG_HALF(region_len)	(((region_len) / 2) & ~4095ULL)

enum famfs_log_type {
	FAMFS_LOG_MKDIR = 1,	/* famfs_log_mknod + name */
	FAMFS_LOG_CREATE = 2,	/* famfs_log_mknod + name + extents */
	FAMFS_LOG_SYMLINK = 3,	/* famfs_log_mknod + name + target */
	FAMFS_LOG_ALLOC = 4,	/* famfs_log_alloc + extents: space added */
	FAMFS_LOG_PUNCH = 5,	/* famfs_log_punch: space removed */
	FAMFS_LOG_SETATTR = 6,	/* famfs_log_setattr */
	FAMFS_LOG_RENAME = 7,	/* famfs_log_rename + two names */
	FAMFS_LOG_DELETE = 8,	/* famfs_log_delete + name: unlink, rmdir */
	FAMFS_LOG_DEVADD = 9,	/* famfs_log_devadd */
	FAMFS_LOG_STRIPE = 10,	/* famfs_log_stripe: a layout policy */
	FAMFS_LOG_LINK = 11,	/* famfs_log_link + name: a hard link */
	FAMFS_LOG_CKPT = 12,	/* famfs_log_ckpt: a checkpoint's first entry */
	FAMFS_LOG_XATTR = 13,	/* famfs_log_xattr + name + value: set or remove one */
	FAMFS_LOG_CLASS = 14,	/* famfs_log_class: a device-kind policy */
};
/*
 * The last type version FAMFS_FORMAT_VERSION defines.  Types are added
 * without a version change: a reader that does not know one stops at the
 * first such entry (EPROTONOSUPPORT), and logs without it read as before.
 */
#define FAMFS_LOG_TYPE_MAX	FAMFS_LOG_CLASS

/*
 * Header of every entry.  len covers the whole entry (header, payload,
 * zero padding to 8 bytes).  crc is CRC32C seeded with the file system's
 * uuid, over bytes [0, 20) of the header and [24, len) of the entry: so an
 * entry left over from an earlier mkfs never checks out.
 */
struct famfs_log_entry_hdr {
	__le32 magic;			/* 0: FAMFS_ENTRY_MAGIC */
	__le16 type;			/* 4: enum famfs_log_type */
	__le16 flags;			/* 6: 0 (reserved for newer versions) */
	__le64 seq;			/* 8: previous entry's + 1 */
	__le32 len;			/* 16: multiple of 8, <= FAMFS_LOG_MAX_ENTRY */
	__le32 crc;			/* 20 */
};
_Static_assert(sizeof(struct famfs_log_entry_hdr) == 24, "famfs_log_entry_hdr");

struct famfs_log_time {
	__le64 sec;			/* 0: seconds since the epoch, signed */
	__le32 nsec;			/* 8: < 1000000000 */
	__le32 pad;			/* 12: 0 */
};
_Static_assert(sizeof(struct famfs_log_time) == 16, "famfs_log_time");

/*
 * A simple extent: file [file_off, file_off + len) is at dev:dev_off
 * (struct fmap_simple_ext).  An entry's simple extents are sorted by
 * file_off and do not overlap.
 */
struct famfs_log_simple {
	__le64 file_off;		/* 0 */
	__le64 len;			/* 8 */
	__le64 dev_off;			/* 16 */
	__le32 dev;			/* 24 */
	__le32 pad;			/* 28: 0 */
};
_Static_assert(sizeof(struct famfs_log_simple) == 32, "famfs_log_simple");

/*
 * An interleaved extent (struct fmap_ileave_ext): file [file_off, file_off
 * + len) cut into (1 << chunk_shift)-byte chunks dealt round-robin over
 * nstrips strips (any count, 1 to 16); followed by nstrips famfs_log_strip.
 */
struct famfs_log_ileave {
	__le64 file_off;		/* 0 */
	__le64 len;			/* 8 */
	__u8 nstrips;			/* 16: 1 to 16 */
	__u8 chunk_shift;		/* 17: 12..30 */
	__u8 pad[6];			/* 18: 0 */
};
_Static_assert(sizeof(struct famfs_log_ileave) == 24, "famfs_log_ileave");

struct famfs_log_strip {
	__le64 dev_off;			/* 0 */
	__le32 dev;			/* 8 */
	__le32 pad;			/* 12: 0 */
};
_Static_assert(sizeof(struct famfs_log_strip) == 16, "famfs_log_strip");

/*
 * MKDIR, CREATE, SYMLINK: a new inode @ino named @name in directory
 * @parent.  Then name[name_len], zero padding to 8; for SYMLINK the target
 * (size bytes) and padding to 8; for CREATE nsimple famfs_log_simple then
 * nileave interleaved extents.  atime = mtime = ctime = time.
 */
struct famfs_log_mknod {
	__le64 parent;			/* 0 */
	__le64 ino;			/* 8: > FAMFS_ROOT_INO, never reused */
	__le64 size;			/* 16: CREATE: file size; SYMLINK: target length; MKDIR: 0 */
	struct famfs_log_time time;	/* 24 */
	__le32 mode;			/* 40: permission bits (07777) only */
	__le32 uid;			/* 44 */
	__le32 gid;			/* 48 */
	__le16 name_len;		/* 52: 1..FAMFS_NAME_MAX */
	__le16 pad;			/* 54: 0 */
	__le32 nsimple;			/* 56: CREATE only */
	__le32 nileave;			/* 60: CREATE only */
};
_Static_assert(sizeof(struct famfs_log_mknod) == 64, "famfs_log_mknod");

/* ALLOC: extents added to regular file @ino; then the extents as in CREATE. */
struct famfs_log_alloc {
	__le64 ino;			/* 0 */
	__le32 nsimple;			/* 8 */
	__le32 nileave;			/* 12 */
};
_Static_assert(sizeof(struct famfs_log_alloc) == 16, "famfs_log_alloc");

/* len of a PUNCH that runs to the end of the file (truncate) */
#define FAMFS_LOG_TO_END	(~0ULL)

/*
 * PUNCH: @ino no longer maps [off, off + len); the space is free once the
 * entry is durable.  An interleaved extent can only lose a tail.
 */
struct famfs_log_punch {
	__le64 ino;			/* 0 */
	__le64 off;			/* 8: page aligned */
	__le64 len;			/* 16: page multiple, or FAMFS_LOG_TO_END */
};
_Static_assert(sizeof(struct famfs_log_punch) == 24, "famfs_log_punch");

enum famfs_setattr_valid {
	FAMFS_SETATTR_SIZE = 1 << 0,
	FAMFS_SETATTR_MODE = 1 << 1,
	FAMFS_SETATTR_UID = 1 << 2,
	FAMFS_SETATTR_GID = 1 << 3,
	FAMFS_SETATTR_ATIME = 1 << 4,
	FAMFS_SETATTR_MTIME = 1 << 5,
	FAMFS_SETATTR_CTIME = 1 << 6,
};
#define FAMFS_SETATTR_ALL	0x7f

/* SETATTR: the fields named in valid change; the others are zero. */
struct famfs_log_setattr {
	__le64 ino;			/* 0 */
	__le32 valid;			/* 8: enum famfs_setattr_valid */
	__le32 mode;			/* 12: permission bits only */
	__le32 uid;			/* 16 */
	__le32 gid;			/* 20 */
	__le64 size;			/* 24 */
	struct famfs_log_time atime;	/* 32 */
	struct famfs_log_time mtime;	/* 48 */
	struct famfs_log_time ctime;	/* 64 */
};
_Static_assert(sizeof(struct famfs_log_setattr) == 80, "famfs_log_setattr");

#define FAMFS_RENAME_EXCHANGE	1U	/* swap the two names */

/*
 * RENAME: @ino, named old_name in old_parent, becomes new_name in
 * new_parent; an existing new_name is replaced (deleted) unless
 * FAMFS_RENAME_EXCHANGE swaps them.  Then old_name, new_name, padding.
 */
struct famfs_log_rename {
	__le64 old_parent;		/* 0 */
	__le64 new_parent;		/* 8 */
	__le64 ino;			/* 16: the inode that moves (a cross-check) */
	__le32 flags;			/* 24: FAMFS_RENAME_* */
	__le16 old_name_len;		/* 28 */
	__le16 new_name_len;		/* 30 */
};
_Static_assert(sizeof(struct famfs_log_rename) == 32, "famfs_log_rename");

#define FAMFS_DELETE_DIR	1U	/* rmdir: @ino is an empty directory */

/* DELETE: name in parent goes; @ino and its space with its last name. */
struct famfs_log_delete {
	__le64 parent;			/* 0 */
	__le64 ino;			/* 8: the inode named (a cross-check) */
	__le32 flags;			/* 16: FAMFS_DELETE_* */
	__le16 name_len;		/* 20 */
	__le16 pad;			/* 22: 0 */
};
_Static_assert(sizeof(struct famfs_log_delete) == 24, "famfs_log_delete");

/* DEVADD: device @index (= the current device count) joins. */
struct famfs_log_devadd {
	__le32 index;			/* 0 */
	__le32 pad;			/* 4: 0 */
	struct famfs_dev_entry dev;	/* 8 */
};
_Static_assert(sizeof(struct famfs_log_devadd) == 72, "famfs_log_devadd");

/* chunk_shift of a layout policy: the allocation unit up to FMAP_MAX_CHUNK_SHIFT */
#define FAMFS_STRIPE_MIN_CHUNK_SHIFT	FAMFS_ALLOC_SHIFT

/*
 * STRIPE: from now on @ino's space is laid out as @nstrips strips of
 * 2^@chunk_shift bytes (nstrips 0: simple extents, chunk_shift 0).  On a
 * directory it is the default a regular file created in it starts with
 * (0: none).  nstrips is at most the devices the file system has then.
 */
struct famfs_log_stripe {
	__le64 ino;			/* 0: a regular file or a directory */
	__u8 nstrips;			/* 8: 0 to 16 */
	__u8 chunk_shift;		/* 9: 0 with nstrips 0, else 21..30 */
	__u8 pad[6];			/* 10: 0 */
};
_Static_assert(sizeof(struct famfs_log_stripe) == 16, "famfs_log_stripe");

/*
 * CLASS: from now on @ino's data are on devices of @kind (FAMFS_DEV_DAX:
 * a memory file, FAMFS_DEV_BLOCK: a block-device file).  On a directory
 * it is the class a regular file created in it starts with.  Without
 * one, a file is memory if the file system has a DAX device, else block.
 */
struct famfs_log_class {
	__le64 ino;			/* 0: a regular file or a directory */
	__le32 kind;			/* 8: FAMFS_DEV_DAX or FAMFS_DEV_BLOCK */
	__le32 pad;			/* 12: 0 */
};
_Static_assert(sizeof(struct famfs_log_class) == 16, "famfs_log_class");

/* the most names one inode may have (a LINK past it is refused: EMLINK) */
#define FAMFS_LINK_MAX	65000

/*
 * LINK: existing inode @ino (a regular file or a symlink with a name)
 * gets one more name, name[name_len] in directory @parent; then padding.
 * A DELETE of one of its names, or a RENAME over one, frees the inode
 * (and its space) only with its last name.
 */
struct famfs_log_link {
	__le64 parent;			/* 0 */
	__le64 ino;			/* 8: > FAMFS_ROOT_INO */
	__le16 name_len;		/* 16: 1..FAMFS_NAME_MAX */
	__u8 pad[6];			/* 18: 0 */
};
_Static_assert(sizeof(struct famfs_log_link) == 24, "famfs_log_link");

/*
 * CKPT: the first entry of a log a checkpoint wrote.  Inode numbers are
 * never reused, and a checkpoint leaves out the inodes that went: the
 * next inode a writer makes is above @max_ino (and above every inode the
 * log creates).
 */
struct famfs_log_ckpt {
	__le64 max_ino;			/* 0: >= FAMFS_ROOT_INO */
	__le64 reserved;		/* 8: 0 */
};
_Static_assert(sizeof(struct famfs_log_ckpt) == 16, "famfs_log_ckpt");

/*
 * Extended attributes stored for users: "user." and "trusted." names (the
 * whole name, prefix included, is at most the VFS's XATTR_NAME_MAX: 255
 * bytes; the part after the prefix is not empty).  "user.famfs." names
 * are the daemon's own (include/famfs_xattr.h) and never stored.
 *
 * Space per inode, ext4's with 4 KiB blocks and no in-inode room: one
 * block less its 32-byte header, each attribute costing ext4's 16-byte
 * entry plus its name and value each rounded up to 4 bytes (the name
 * counted with its prefix here).  So one value is at most 4040 bytes.
 */
#define FAMFS_XATTR_NAME_MAX	255
#define FAMFS_XATTR_SPACE	4064U
#define FAMFS_XATTR_COST(name_len, value_len) \
	(16U + (((name_len) + 3U) & ~3U) + (((value_len) + 3U) & ~3U))
/* the largest value: what the space leaves the shortest name, "user.x" */
#define FAMFS_XATTR_VALUE_MAX	(FAMFS_XATTR_SPACE - FAMFS_XATTR_COST(6U, 0U))
_Static_assert(FAMFS_XATTR_VALUE_MAX == 4040, "ext4's largest value in a 4 KiB block");

#define FAMFS_XATTR_F_REMOVE	1U	/* the name goes (value_len 0) */

/*
 * XATTR: extended attribute name[name_len] of inode @ino is set to
 * value[value_len] (an empty value is a value), or removed with
 * FAMFS_XATTR_F_REMOVE.  Then the name, the value right after it, zero
 * padding to 8.  A set of an existing name replaces its value.
 */
struct famfs_log_xattr {
	__le64 ino;			/* 0: any live inode, the root too */
	__le16 flags;			/* 8: FAMFS_XATTR_F_* */
	__le16 name_len;		/* 10: 1..FAMFS_XATTR_NAME_MAX */
	__le16 value_len;		/* 12: 0..FAMFS_XATTR_VALUE_MAX */
	__le16 pad;			/* 14: 0 */
};
_Static_assert(sizeof(struct famfs_log_xattr) == 16, "famfs_log_xattr");

#endif /* FAMFS_BPF_FORMAT_H */
