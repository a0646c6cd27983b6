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
 * Read-only followers (fsd_config.read_only, over an fs_open() without
 * FS_OPEN_OWNER): the mount is MS_RDONLY and the devices are registered
 * from their O_RDONLY descriptors, which the kernel maps for reading only;
 * every handler that would change something answers EROFS anyway.  What
 * the owner appended since is applied on request, FSD_IOC_LOGPLAY below.
 *
 * Errors are negative errno values; fsd_create() also writes one line into
 * the caller's buffer.
 */
#ifndef FAMFS_BPF_FSD_H
#define FAMFS_BPF_FSD_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/ioctl.h>
#include <linux/types.h>

struct fs;
struct fsd;

enum fsd_resolver {
	FSD_RESOLVER_AUTO,	/* BPF if it loads, else upcall (one warning) */
	FSD_RESOLVER_BPF,	/* BPF or fail */
	FSD_RESOLVER_UPCALL,	/* never load the BPF resolver */
	FSD_RESOLVER_BUILTIN,	/* the kernel's C resolver, from whole layouts */
};

struct fsd_config {
	const char *mountpoint;
	enum fsd_resolver resolver;
	/* the device paths, in fs_open() order: fresh space is zeroed through them */
	const char *const *devs;
	unsigned int ndevs;
	/* a follower: @fs not the owner; mounted MS_RDONLY */
	bool read_only;
	/*
	 * MS_* flags for mount(2) (mount_opts.h: MS_NOSUID | MS_NODEV unless
	 * told otherwise, noatime, sync, ...); MS_RDONLY is added for a follower
	 */
	unsigned long ms_flags;
	/* the resolver loading meanwhile (fsd_preload_start()), or NULL */
	struct fsd_preload *preload;
};

/*
 * Start loading the BPF resolver (@cfg->resolver AUTO or BPF) in a thread
 * of its own while the caller replays the log (fs_open_replay()): it
 * takes as long as a replay of tens of thousands of entries, and neither
 * needs the other.  Sized for @entries files (fs_log_hint(): every entry
 * may be one).  Opens /dev/fuse: the resolver names the connection by it.
 * fsd_create() takes it over through cfg->preload (always: also when it
 * fails), waits for it and reports its failure as it would its own;
 * fsd_preload_free() waits for it and drops it.  *@out NULL and 0 when
 * there is nothing to load; a negative errno if it could not start
 * (fsd_create() then loads itself).
 */
struct fsd_preload;
int fsd_preload_start(const struct fsd_config *cfg, size_t entries, struct fsd_preload **out);
void fsd_preload_free(struct fsd_preload *p);

/*
 * FSD_IOC_LOGPLAY: "famfs-bpf logplay MNT" asks the daemon of a read-only
 * mount to apply what the owner appended to the log since (fs_logplay()),
 * then to bring the BPF resolver's maps in step and to make the kernel
 * forget the names, attributes and mappings those entries changed.
 *
 * The channel is an ioctl on the mount's root directory (O_RDONLY |
 * O_DIRECTORY), which the kernel passes to the daemon as FUSE_IOCTL with
 * FUSE_IOCTL_DIR: it works on a read-only mount, needs no socket or file
 * of its own, names the mount unambiguously (the fd is the mount) and the
 * answer comes back in the same call.  A restricted ioctl: the kernel
 * copies out _IOC_SIZE bytes.  Only root or the daemon's user (EPERM).
 */
struct fsd_logplay_out {
	__u64 applied;		/* entries applied by this call */
	__u64 end_off;		/* where the log ends now */
	__s32 err;		/* fs_logplay()'s result: 0, -EUCLEAN, -ESTALE, ... */
	__u32 tail;		/* enum famfs_mlog_tail */
	__u32 owner;		/* 1: the mount is the owner: nothing was played */
	__u32 pad;
	char msg[240];		/* why, when err is set */
};

#define FSD_IOC_MAGIC		0xfa
#define FSD_IOC_LOGPLAY		_IOR(FSD_IOC_MAGIC, 1, struct fsd_logplay_out)

/*
 * Mount @cfg->mountpoint (default_permissions; allow_other when root;
 * @cfg->ms_flags) over
 * @fs, an owner instance (a read-only one with @cfg->read_only) that stays
 * the caller's, and register its devices with the connection.  Nothing is served until fsd_run().  Refusals:
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
