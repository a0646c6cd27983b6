// SPDX-License-Identifier: GPL-2.0
/*
 * Device access for mkfs and fsck.  Block devices go through O_DIRECT:
 * the server maps them with DAX, which bypasses the page cache, so what
 * mkfs writes must be on the media and what fsck reads must come from it.
 * Regular files (test images) use ordinary I/O.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "cli.h"
#include "famfs_format.h"
#include "fs/log.h"

void *cli_buf_alloc(size_t len)
{
	void *p;

	if (posix_memalign(&p, 4096, len ? len : 4096))
		return NULL;
	memset(p, 0, len);
	return p;
}

/* fsdax namespaces say so in sysfs; anything else is an ordinary block device. */
static __u32 blk_kind(dev_t rdev)
{
	return dev_blk_dax(rdev) == 1 ? FAMFS_DEV_DAX : FAMFS_DEV_BLOCK;
}

int cli_dev_open(struct cli_dev *d, const char *path, bool write)
{
	struct stat st;
	int flags, err;

	memset(d, 0, sizeof(*d));
	d->path = path;
	d->fd = -1;
	if (stat(path, &st)) {
		err = -errno;
		pr_err("%s: %s", path, strerror(-err));
		return err;
	}
	if (S_ISCHR(st.st_mode)) {
		pr_err("%s: a character device (devdax?): put the namespace in fsdax mode", path);
		return -ENODEV;
	}
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)) {
		pr_err("%s: neither a block device nor a regular file", path);
		return -ENODEV;
	}
	dev_id_of(&d->id, &st);
	flags = (write ? O_RDWR : O_RDONLY) | O_CLOEXEC;
	/* O_EXCL on a block device fails with EBUSY while it is mounted or held */
	if (d->id.is_blk)
		flags |= O_DIRECT | (write ? O_EXCL : 0);
	d->fd = open(path, flags);
	if (d->fd < 0) {
		err = -errno;
		if (err == -EBUSY)
			pr_err("%s: in use (mounted, or held by another program)", path);
		else
			pr_err("%s: cannot open%s: %s", path, write ? " for writing" : "",
			       strerror(-err));
		return err;
	}
	err = dev_size(d->fd, &st, &d->size);
	if (err) {
		pr_err("%s: cannot get its size: %s", path, strerror(-err));
		cli_dev_close(d);
		return err;
	}
	/* test images stand in for memory */
	d->kind = d->id.is_blk ? blk_kind(st.st_rdev) : FAMFS_DEV_DAX;
	return 0;
}

void cli_dev_close(struct cli_dev *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

bool cli_dev_same(const struct cli_dev *a, const struct cli_dev *b)
{
	return dev_id_same(&a->id, &b->id);
}

int cli_dev_read(struct cli_dev *d, __u64 off, void *buf, size_t len)
{
	return dev_read_full(d->fd, off, buf, len);
}

int cli_dev_write(struct cli_dev *d, __u64 off, const void *buf, size_t len)
{
	return dev_write_full(d->fd, off, buf, len);
}

int cli_dev_sync(struct cli_dev *d)
{
	if (fsync(d->fd))
		return -errno;
	/* no stale cached pages left for a buffered reader to see */
	if (d->id.is_blk && ioctl(d->fd, BLKFLSBUF, 0))
		return -errno;
	return 0;
}

static bool has_bytes(const unsigned char *p, size_t len, size_t off, const char *sig)
{
	size_t n = strlen(sig);

	return off + n <= len && !memcmp(p + off, sig, n);
}

bool cli_probe_signature(const void *buf, size_t len, char *what, size_t whatlen)
{
	const unsigned char *p = buf;
	__u64 magic;
	__u16 ext_magic;

	if (len >= 8) {
		memcpy(&magic, p, 8);
		if (le64toh(magic) == FAMFS_SB_MAGIC) {
			snprintf(what, whatlen, "a famfs-bpf file system");
			return true;
		}
	}
	if (len >= FAMFS_LABEL_OFF + 16) {
		__u32 index;

		memcpy(&magic, p + FAMFS_LABEL_OFF, 8);
		memcpy(&index, p + FAMFS_LABEL_OFF + 12, 4);
		if (le64toh(magic) == FAMFS_LABEL_MAGIC) {
			snprintf(what, whatlen, "device %u of a famfs-bpf file system",
				 le32toh(index));
			return true;
		}
	}
	if (has_bytes(p, len, 0, "XFSB")) {
		snprintf(what, whatlen, "an XFS file system");
		return true;
	}
	if (len >= 1082) {
		memcpy(&ext_magic, p + 1080, 2);
		if (le16toh(ext_magic) == 0xEF53) {
			snprintf(what, whatlen, "an ext2/ext3/ext4 file system");
			return true;
		}
	}
	if (has_bytes(p, len, 65600, "_BHRfS_M")) {
		snprintf(what, whatlen, "a btrfs file system");
		return true;
	}
	/* swap's signature ends its first page: 4 KiB and 64 KiB pages */
	if (has_bytes(p, len, 4086, "SWAPSPACE2") || has_bytes(p, len, 65526, "SWAPSPACE2")) {
		snprintf(what, whatlen, "swap space");
		return true;
	}
	return false;
}

void cli_progress(const char *what, __u64 done, __u64 total)
{
	static int last = -1;
	int pct = total ? (int)(done * 100 / total) : 100;

	if (!isatty(STDERR_FILENO) || pct == last)
		return;
	last = pct;
	fprintf(stderr, "\r%s: %3d%%%s", what, pct, done >= total ? "\n" : "");
	if (done >= total)
		last = -1;
}
