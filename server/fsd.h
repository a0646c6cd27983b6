/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fsd: the famfs-bpf file system daemon.  Lowlevel libfuse operations over
 * a file system opened with fs_open() (fs.h), the FUSE_FMAP upcall that
 * maps, and allocates on write, through fs_alloc_for_write(), and
 * FUSE_FMAP_END for sizes; requests are served by libfuse's multi-threaded
 * loop through the shim (fuse_shim.h).
 *
 * This slice answers mappings by upcall only (no BPF resolver).
 *
 * Errors are negative errno values; fsd_create() also writes one line into
 * the caller's buffer.
 */
#ifndef FAMFS_BPF_FSD_H
#define FAMFS_BPF_FSD_H

#include <stdbool.h>
#include <stddef.h>

struct fs;
struct fsd;

struct fsd_config {
	const char *mountpoint;
	/* the device paths, in fs_open() order: fresh space is zeroed through them */
	const char *const *devs;
	unsigned int ndevs;
};

/*
 * Mount @cfg->mountpoint (default_permissions; allow_other when root) over
 * @fs, an owner instance that stays the caller's, and register its devices
 * with the connection.  Nothing is served until fsd_run().  Refusals:
 *   -EOPNOTSUPP  the kernel has no FUSE_FMAP (device registration refused)
 *   -ENOENT, -ENOTDIR, -EPERM, -EACCES, -EBUSY  the mount point
 *   -EINVAL      a configuration that does not match @fs
 */
int fsd_create(struct fs *fs, const struct fsd_config *cfg, struct fsd **out, char *msg,
	       size_t msglen);

/*
 * Serve in this thread until unmounted or signalled (SIGINT, SIGTERM,
 * SIGHUP: then unmount lazily).  @ready, if not NULL, is called from
 * another thread once the kernel's INIT is answered (err 0) or the mount
 * failed to come up (a negative errno).  0, or a negative errno.
 */
int fsd_run(struct fsd *fsd, void (*ready)(void *ctx, int err), void *ctx);

/* Unmount if still mounted, release everything but the fs. */
void fsd_destroy(struct fsd *fsd);

/*
 * Whether @path is a famfs-bpf mount (the last mounted there): 0, the
 * minor of its device (its connection's number) and its source (the first
 * device, whose log the daemon holds locked); -ENOENT (nothing mounted
 * there), -EINVAL (another file system), or realpath()'s error.  @minor
 * and @src may be NULL.
 */
int fsd_mount_find(const char *path, unsigned int *minor, char *src, size_t srclen);

#endif /* FAMFS_BPF_FSD_H */
