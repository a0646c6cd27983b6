// SPDX-License-Identifier: GPL-2.0
/*
 * Device identity, size and whole reads and writes (dev.h), for mkfs and
 * fsck (cli_dev.c) and a mount (fs.c).
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>

#include "dev.h"
#include "famfs_format.h"

void dev_id_of(struct dev_id *id, const struct stat *st)
{
	id->is_blk = S_ISBLK(st->st_mode);
	id->st_dev = st->st_dev;
	id->st_ino = st->st_ino;
	id->st_rdev = st->st_rdev;
}

bool dev_id_same(const struct dev_id *a, const struct dev_id *b)
{
	if (a->is_blk && b->is_blk)
		return a->st_rdev == b->st_rdev;
	return !a->is_blk && !b->is_blk && a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int dev_size(int fd, const struct stat *st, __u64 *size)
{
	unsigned long long n;

	if (S_ISBLK(st->st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &n))
			return -errno;
	} else {
		n = st->st_size;
	}
	*size = n & ~(FAMFS_EXT_ALIGN - 1);
	return 0;
}

int dev_blk_dax(dev_t rdev)
{
	/* a partition has no queue of its own: its disk is the parent directory */
	static const char *const fmt[] = { "/sys/dev/block/%u:%u/queue/dax",
					   "/sys/dev/block/%u:%u/../queue/dax" };
	char path[96], c;
	FILE *f;

	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), fmt[i], major(rdev), minor(rdev));
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fread(&c, 1, 1, f) != 1)
			c = '?';
		fclose(f);
		return c == '1' ? 1 : c == '0' ? 0 : -1;
	}
	return -1;
}

int dev_read_full(int fd, __u64 off, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -ENODATA;	/* past the end */
		done += n;
	}
	return 0;
}

int dev_write_full(int fd, __u64 off, const void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pwrite(fd, (const char *)buf + done, len - done, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -ENOSPC;
		done += n;
	}
	return 0;
}
