/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Devices as mkfs and fsck (cli_dev.c) and a mount (fs.c) open them: a
 * block device or a regular image file.  What one is (to refuse the same
 * device given twice, under two names too), its usable size, and whole
 * reads and writes.  Errors: negative errno.
 */
#ifndef FAMFS_BPF_DEV_H
#define FAMFS_BPF_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <linux/types.h>

/* Which device or file a path names. */
struct dev_id {
	bool is_blk;
	dev_t st_dev;		/* a regular file: its file system and inode */
	ino_t st_ino;
	dev_t st_rdev;		/* a block device: its number */
};

/* The identity of what @st describes. */
void dev_id_of(struct dev_id *id, const struct stat *st);
/* The same block device, or the same regular file. */
bool dev_id_same(const struct dev_id *a, const struct dev_id *b);
/*
 * Bytes of open @fd (what @st describes): BLKGETSIZE64 for a block
 * device, the file size otherwise, rounded down to 4 KiB.
 */
int dev_size(int fd, const struct stat *st, __u64 *size);
/*
 * Whether block device @rdev is DAX-capable (pmem in fsdax mode), from
 * sysfs queue/dax (a partition's disk's): 1 yes, 0 no, -1 unknown (no
 * sysfs).
 */
int dev_blk_dax(dev_t rdev);
/* All @len bytes at @off (EINTR and short reads retried); -ENODATA past the end. */
int dev_read_full(int fd, __u64 off, void *buf, size_t len);
/* All @len bytes at @off; -ENOSPC when the device ends first. */
int dev_write_full(int fd, __u64 off, const void *buf, size_t len);

#endif /* FAMFS_BPF_DEV_H */
