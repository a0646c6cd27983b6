// SPDX-License-Identifier: GPL-2.0
/*
 * fsd: the famfs-bpf daemon (fsd.h), its life cycle: the mount, device
 * registration, the session and its loop, unmount.  The rest is split by
 * concern; fsd_i.h lists the files and documents the locking.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsd_i.h"
#include "fuse_shim.h"
#include "loader.h"
#include "fs/log.h"
#include "mountinfo.h"

/* ---- life cycle ---- */

int fsd_mount_find(const char *path, unsigned int *minor, char *src, size_t srclen)
{
	return mountinfo_find(path, "fuse.famfs-bpf", minor, src, srclen);
}

static int register_devs(struct fsd *d, char *msg, size_t msglen)
{
	unsigned int i;

	/*
	 * A follower's descriptors are O_RDONLY: the kernel records the open
	 * mode and maps such a device for reading only (kernel patch 0003).
	 */
	for (i = 0; i < d->ndevs; i++) {
		struct fuse_backing_map map = { .fd = fs_dev_fd(d->fs, i),
						.flags = FUSE_BACKING_FMAP };
		int id = ioctl(d->fuse_fd, FUSE_DEV_IOC_BACKING_OPEN, &map);

		if (id < 0) {
			int e = errno;

			if (e == ENOTTY || e == EINVAL || e == EOPNOTSUPP)
				return fbs_fail(msg, msglen, -EOPNOTSUPP,
						"device %u: the kernel refuses to map files onto it (%s): no FUSE_FMAP (CONFIG_FUSE_FMAP)?",
						i, strerror(e));
			return fbs_fail(msg, msglen, -e,
					"device %u: registering with the mount: %s%s", i,
					strerror(e), e == EBUSY ?
					" (another file system holds its DAX device)" : "");
		}
		d->dev_id[i] = id;
		pr_info("device %u: kernel id %d", i, id);
	}
	return 0;
}

int fsd_create(struct fs *fs, const struct fsd_config *cfg, struct fsd **out, char *msg,
	       size_t msglen)
{
	static char *argv[] = { "famfs-bpf", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	const struct fbs_shim_ops shim_ops = {
		.fmap = fsd_shim_fmap,
		.fmap_end = fsd_shim_fmap_end,
		.tmpfile = fsd_shim_tmpfile,
		.is_mapped = fsd_shim_is_mapped,
		.is_block = fsd_shim_is_block,
		.init_flags = FUSE_HAS_FMAP |
			      (cfg->resolver == FSD_RESOLVER_BUILTIN ? FUSE_FMAP_BUILTIN : 0),
	};
	char opts[256], source[PATH_MAX];
	struct stat st;
	struct fsd *d;
	unsigned int i;
	int err;

	if (fs_is_owner(fs) == cfg->read_only)
		err = fbs_fail(msg, msglen, -EINVAL, "%s mount of %s instance",
			       cfg->read_only ? "a read-only" : "an owner",
			       cfg->read_only ? "an owner" : "a read-only");
	else if (cfg->ndevs != fs_ndevs(fs) || cfg->ndevs > FAMFS_MAX_DEVS)
		err = fbs_fail(msg, msglen, -EINVAL, "%u devices given, the file system has %u",
			       cfg->ndevs, fs_ndevs(fs));
	else if (stat(cfg->mountpoint, &st))
		err = fbs_fail(msg, msglen, -errno, "%s: %s", cfg->mountpoint, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		err = fbs_fail(msg, msglen, -ENOTDIR, "%s: not a directory", cfg->mountpoint);
	else if (!(d = calloc(1, sizeof(*d))))
		err = fbs_fail(msg, msglen, -ENOMEM, "out of memory");
	else
		err = 0;
	if (err) {
		fsd_preload_free(cfg->preload);
		return err;
	}
	d->preload = cfg->preload;
	d->fs = fs;
	d->ns = fs_ns(fs);
	d->ndevs = cfg->ndevs;
	d->resolver = cfg->resolver;
	d->read_only = cfg->read_only;
	d->fuse_fd = -1;
	for (i = 0; i < FAMFS_MAX_DEVS; i++)
		d->zfd[i] = -1;
	pthread_rwlock_init(&d->space, NULL);
	if (!realpath(cfg->mountpoint, d->mnt)) {
		err = fbs_fail(msg, msglen, -errno, "%s: %s", cfg->mountpoint, strerror(errno));
		goto err_free;
	}
	/* a follower zeroes nothing: no device opened for writing */
	for (i = 0; i < d->ndevs && !d->read_only; i++) {
		d->zfd[i] = open(cfg->devs[i], O_RDWR | O_DIRECT | O_CLOEXEC);
		if (d->zfd[i] < 0) {
			err = fbs_fail(msg, msglen, -errno, "%s: %s", cfg->devs[i],
				       strerror(errno));
			goto err_free;
		}
	}
	/* the preloaded resolver knows this descriptor */
	d->fuse_fd = d->preload ? fsd_preload_fuse_fd(d->preload) : -1;
	if (d->fuse_fd < 0)
		d->fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (d->fuse_fd < 0) {
		err = fbs_fail(msg, msglen, -errno, "/dev/fuse: %s", strerror(errno));
		goto err_free;
	}
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=%u,group_id=%u,default_permissions%s",
		 d->fuse_fd, getuid(), getgid(), geteuid() == 0 ? ",allow_other" : "");
	/* the log device names the mount: umount waits for its lock */
	if (!realpath(cfg->devs[0], source)) {
		err = fbs_fail(msg, msglen, -errno, "%s: %s", cfg->devs[0], strerror(errno));
		goto err_free;
	}
	if (mount(source, d->mnt, "fuse.famfs-bpf",
		  cfg->ms_flags | (d->read_only ? MS_RDONLY : 0), opts)) {
		err = fbs_fail(msg, msglen, -errno, "mount on %s: %s", d->mnt, strerror(errno));
		goto err_free;
	}
	d->mounted = true;
	/* not stat(): that would wait for INIT, which nobody serves yet */
	err = fsd_mount_find(d->mnt, &d->minor, NULL, 0);
	if (err) {
		err = fbs_fail(msg, msglen, -EIO, "%s: mounted, but not in mountinfo", d->mnt);
		goto err_umount;
	}
	/* before the first LOOKUP: the kernel decides DAX when it sets up an inode */
	err = register_devs(d, msg, msglen);
	if (err)
		goto err_umount;
	/* filled before the first LOOKUP too; attached once INIT is done */
	err = fsd_bpf_load(d, d->preload, msg, msglen);
	d->preload = NULL;	/* taken, whatever came of it */
	if (err)
		goto err_umount;
	d->se = fuse_session_new(&args, &fsd_ops, sizeof(fsd_ops), d);
	if (!d->se) {
		err = fbs_fail(msg, msglen, -ENOMEM, "cannot create the FUSE session");
		goto err_umount;
	}
	err = fbs_shim_attach(d->se, d->fuse_fd, &shim_ops, d, &d->shim);
	if (err) {
		fbs_fail(msg, msglen, err, "cannot attach the FMAP shim: %s", strerror(-err));
		goto err_session;
	}
	*out = d;
	return 0;

err_session:
	fuse_session_destroy(d->se);
	d->se = NULL;
	d->fuse_fd = -1;	/* the session closed it */
err_umount:
	umount2(d->mnt, MNT_DETACH);
	d->mounted = false;
err_free:
	fsd_destroy(d);
	return err;
}

/* INIT is answered once a stat() of the mount point returns. */
static void *ready_thread(void *arg)
{
	struct fsd *d = arg;
	struct stat st;
	int err = stat(d->mnt, &st) ? -errno : 0;

	/* no message for that: the caller's says the mount does not answer */
	if (!err && !(fbs_shim_agreed(d->shim) & FUSE_HAS_FMAP)) {
		/* device registration passed, so this kernel is unusual; say so */
		snprintf(d->msg, sizeof(d->msg), "the kernel did not offer FUSE_FMAP at INIT");
		umount2(d->mnt, MNT_DETACH);
		err = -EOPNOTSUPP;
	}
	if (!err && d->resolver == FSD_RESOLVER_BUILTIN &&
	    !(fbs_shim_agreed(d->shim) & FUSE_FMAP_BUILTIN)) {
		snprintf(d->msg, sizeof(d->msg),
			 "resolver=builtin: the kernel did not offer FUSE_FMAP_BUILTIN");
		umount2(d->mnt, MNT_DETACH);
		err = -EOPNOTSUPP;
	}
	if (!err)
		err = fsd_bpf_attach(d);
	if (d->ready)
		d->ready(d->ready_ctx, err);
	return NULL;
}

const char *fsd_msg(const struct fsd *d)
{
	return d->msg;
}

int fsd_run(struct fsd *fsd, void (*ready)(void *ctx, int err), void *ctx)
{
	struct fuse_loop_config *lc;
	sigset_t all, old;
	pthread_t th;
	bool helper = false;
	int ret;

	lc = fuse_loop_cfg_create();
	if (!lc)
		return -ENOMEM;
	if (fuse_set_signal_handlers(fsd->se)) {
		fuse_loop_cfg_destroy(lc);
		return -EIO;
	}
	if (ready || fsd->bpf) {
		fsd->ready = ready;
		fsd->ready_ctx = ctx;
		/* signals go to this thread: they wake the loop */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		helper = !pthread_create(&th, NULL, ready_thread, fsd);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (!helper) {
			snprintf(fsd->msg, sizeof(fsd->msg), "cannot start a thread");
			if (fsd->bpf)
				pr_warn("BPF resolver not attached: every mapping miss is an upcall");
			if (ready)
				ready(ctx, -EAGAIN);
		}
	}
	/* workers read /dev/fuse each; the shim's hooks are thread-safe */
	ret = fuse_session_loop_mt(fsd->se, lc);
	pr_debug("session loop ended: %d", ret);
	if (helper)
		pthread_join(th, NULL);
	fuse_remove_signal_handlers(fsd->se);
	fuse_loop_cfg_destroy(lc);
	return ret < 0 ? -EIO : 0;
}

void fsd_destroy(struct fsd *d)
{
	unsigned int minor, i;

	if (!d)
		return;
	/* stopped by a signal: still mounted, ours (not what replaced it) */
	if (d->mounted && !fsd_mount_find(d->mnt, &minor, NULL, 0) && minor == d->minor)
		umount2(d->mnt, MNT_DETACH);
	if (d->se)
		fuse_session_destroy(d->se);	/* closes the /dev/fuse fd */
	else if (d->fuse_fd >= 0)
		close(d->fuse_fd);
	fbs_shim_free(d->shim);
	fsd_preload_free(d->preload);	/* the mount failed before it was taken */
	famfs_loader_close(d->bpf);	/* detaches, unpins */
	for (i = 0; i < FAMFS_MAX_DEVS; i++)
		if (d->zfd[i] >= 0)
			close(d->zfd[i]);
	pthread_rwlock_destroy(&d->space);
	free(d);
}

