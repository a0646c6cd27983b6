/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The superblock and the per-device labels (include/famfs_format.h,
 * include/FORMAT.md): build them for mkfs, check them at mount and fsck.
 * Like mlog.h, byte buffers in and out; no device access here.
 */
#ifndef FAMFS_BPF_SUPER_H
#define FAMFS_BPF_SUPER_H

#include <stdbool.h>
#include <stddef.h>

#include "famfs_format.h"
#include "mlog.h"

/* What the superblock says, in host order. */
struct famfs_sb_info {
	__u8 fs_uuid[FAMFS_UUID_SIZE];
	__u32 log_dev;
	__u64 log_off;
	__u64 log_len;
	__u64 flags;			/* FAMFS_SB_F_* */
	struct famfs_mlog_devtab devs;	/* the table at mkfs; replay adds DEVADDs */
};

/* Fill @sb from @info; -EINVAL (and @msg) when @info breaks a rule. */
int famfs_sb_encode(const struct famfs_sb_info *info, struct famfs_superblock *sb,
		    char *msg, size_t msglen);

/*
 * Check the superblock in @buf (@len bytes read from offset 0 of device 0)
 * and fill @info.  -EMEDIUMTYPE: not a famfs-bpf device; -EBADMSG: CRC;
 * -EPROTONOSUPPORT: a newer version; -EINVAL: a field breaks a rule.
 */
int famfs_sb_decode(const void *buf, size_t len, struct famfs_sb_info *info,
		    char *msg, size_t msglen);

/* The label of device @index of @info. */
int famfs_label_encode(const struct famfs_sb_info *info, __u32 index,
		       struct famfs_label *label);

/*
 * Check that the label in @buf (read from FAMFS_LABEL_OFF of the device
 * given as number @index) belongs to device @index of @info: -EMEDIUMTYPE,
 * -EBADMSG, -EPROTONOSUPPORT as above; -EXDEV: another file system's
 * device; -EINVAL: another device of this one, or a table mismatch.
 */
int famfs_label_check(const void *buf, size_t len, const struct famfs_sb_info *info,
		      __u32 index, char *msg, size_t msglen);

/* The superblock's CRC: bytes [0, 4092), the owner record counted as zeroes. */
__u32 famfs_sb_crc(const struct famfs_superblock *sb);

/*
 * The owner record (struct famfs_owner_rec, include/FORMAT.md "Owner"),
 * in host order.  A mount as owner reads it, decides with
 * famfs_owner_judge(), claims it with a new generation, refreshes it
 * while mounted and releases it at a clean unmount (fs.c does the I/O).
 */
struct famfs_owner {
	__u32 state;			/* enum famfs_owner_state */
	__u64 seq;
	__u64 generation;
	__u8 owner_id[16];
	__u8 boot_id[16];
	__u8 machine_id[16];
	__s64 since;
	__s64 heartbeat;
	__u32 lease_ms;
	__u32 pid;
	char host[FAMFS_OWNER_HOST_LEN + 1];	/* NUL-terminated */
};

/* Fill @rec from @o, its CRC seeded with @fs_uuid. */
void famfs_owner_encode(const struct famfs_owner *o, const __u8 *fs_uuid,
			struct famfs_owner_rec *rec);
/*
 * Check @rec and fill @o.  -ENODATA: all zero, no owner record (a
 * superblock from before them, or never mounted as owner);
 * -EBADMSG: magic or CRC (being written by its owner, or a write cut
 * short); -EPROTONOSUPPORT: flags set (a newer version); -EINVAL: a field
 * breaks a rule (state, lease 0, reserved bytes, the host name).
 */
int famfs_owner_decode(const struct famfs_owner_rec *rec, const __u8 *fs_uuid,
		       struct famfs_owner *o);

/* What a mount as owner does about the record it found. */
enum famfs_owner_verdict {
	FAMFS_OWNER_FREE,	/* no record, or released: claim it */
	FAMFS_OWNER_GONE_HERE,	/* held by a mount on this host's boot, whose flock the
				 * caller holds now: that daemon is gone, claim it */
	FAMFS_OWNER_OTHER,	/* held by another boot: another host, or this one before
				 * a reboot: refuse; -o takeover once it is seen dead */
	FAMFS_OWNER_UNREADABLE,	/* a record that does not check out: refuse; takeover as OTHER */
	FAMFS_OWNER_NEWER,	/* written by a newer famfs-bpf: refuse */
};

/*
 * Decide for a mount as owner by @self (only its boot_id matters) that
 * holds the log's flock, from famfs_owner_decode()'s @err and @rec, at
 * @now (seconds since the epoch, for the message only: hosts' clocks
 * need not agree).  Every verdict but FREE leaves one line in @msg that
 * names the holder: host, pid, since when, generation, and the last
 * heartbeat.
 */
enum famfs_owner_verdict famfs_owner_judge(int err, const struct famfs_owner *rec,
					   const struct famfs_owner *self, __s64 now,
					   char *msg, size_t msglen);

/* @cur is still the claim @mine made: held, same generation and owner id. */
bool famfs_owner_is_mine(const struct famfs_owner *cur, const struct famfs_owner *mine);

/* "host guest-A (pid 812, since 2026-12-07 10:12:01 UTC, generation 3)" */
void famfs_owner_name(const struct famfs_owner *o, char *buf, size_t len);

#endif /* FAMFS_BPF_SUPER_H */
