/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The superblock and the per-device labels (include/famfs_format.h,
 * include/FORMAT.md): build them for mkfs, check them at mount and fsck.
 * Like mlog.h, byte buffers in and out; no device access here.
 */
#ifndef FAMFS_BPF_SUPER_H
#define FAMFS_BPF_SUPER_H

#include <stddef.h>

#include "famfs_format.h"
#include "mlog.h"

/* What the superblock says, in host order. */
struct famfs_sb_info {
	__u8 fs_uuid[FAMFS_UUID_SIZE];
	__u32 log_dev;
	__u64 log_off;
	__u64 log_len;
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

#endif /* FAMFS_BPF_SUPER_H */
