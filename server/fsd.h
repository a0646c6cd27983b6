/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fsd: the famfs-bpf file system daemon.  Lowlevel libfuse operations over
 * a file system opened with fs_open() (fs.h), the FUSE_FMAP upcall that
 * maps, and allocates on write, through fs_alloc_for_write(), and
 * FUSE_FMAP_END for sizes; requests are served by libfuse's multi-threaded
 * loop through the shim (fuse_shim.h).
 *
 * Mappings are answered by the BPF resolver (bpf/resolver.bpf.c, through
 * bpf/loader.h) when it is loaded: the daemon keeps its maps in step with
 * the namespace (every regular file at mount, new space before the
 * FUSE_FMAP reply that maps it, cuts before the space is freed, sizes on
 * FUSE_FMAP_END); a file whose layout does not fit the maps is left out
 * and served by upcall.  Without it, or with resolver=upcall, every miss
 * is a FUSE_FMAP upcall.
 *
 * Extended attributes: include/famfs_xattr.h.
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

enum fsd_resolver {
	FSD_RESOLVER_AUTO,	/* BPF if it loads, else upcall (one warning) */
	FSD_RESOLVER_BPF,	/* BPF or fail */
	FSD_RESOLVER_UPCALL,	/* never load the BPF resolver */
};

struct fsd_config {
	const char *mountpoint;
	enum fsd_resolver resolver;
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
 *   -ENOPKG      FSD_RESOLVER_BPF: the BPF resolver does not load (a kernel
 *                without CONFIG_FUSE_FMAP_BPF or BTF); the message says why
 * The resolver is attached once INIT is answered, in fsd_run(): a failure
 * there unmounts (FSD_RESOLVER_BPF) or falls back to upcall with a warning.
 */
int fsd_create(struct fs *fs, const struct fsd_config *cfg, struct fsd **out, char *msg,
	       size_t msglen);

/*
 * Serve in this thread until unmounted or signalled (SIGINT, SIGTERM,
 * SIGHUP: then unmount lazily).  @ready, if not NULL, is called from
 * another thread once the kernel's INIT is answered and the BPF resolver
 * attached (err 0), or the mount failed to come up (a negative errno,
 * fsd_msg() says why; a resolver=bpf that does not attach unmounts).  0, or a negative errno.
 */
int fsd_run(struct fsd *fsd, void (*ready)(void *ctx, int err), void *ctx);

/* Why @ready got an error: one line. */
const char *fsd_msg(const struct fsd *fsd);

/* Whether the BPF resolver is attached (after fsd_run()'s @ready). */
bool fsd_bpf_attached(const struct fsd *fsd);

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
