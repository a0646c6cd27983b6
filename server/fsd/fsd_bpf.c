// SPDX-License-Identifier: GPL-2.0
/*
 * fsd_bpf.c: the BPF resolver (bpf/loader.h) as the daemon uses it: loaded
 * and filled before the first LOOKUP, attached once INIT is done, and its
 * maps kept in step with the namespace (the rules are in fsd_i.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/btf.h>

#include "fsd_i.h"
#include "loader.h"
#include "fs/log.h"

#define VMLINUX_BTF	"/sys/kernel/btf/vmlinux"
/* the kernel's struct_ops type that the resolver implements */
#define FMAP_OPS_TYPE	"fuse_fmap_ops"

/*
 * Point the resolver's entry for @ino at what the namespace says now, with
 * kernel device ids, or leave the file out: an orphan (nlink 0), a layout
 * the maps cannot hold (never cut: the upcall serves it).  A layout may
 * have both kinds of extents (fs.c: simple ones after FMAP_MAX_ILEAVE
 * interleaved ones it could not grow in place).  The slices the file had
 * go back at once: here a layout only grew, or the caller took the file
 * out first (fsd_bpf_unmap()).  @space held exclusively.
 */
void fsd_bpf_sync(struct fsd *d, __u64 ino)
{
	struct fmap_ileave_ext ileave[FMAP_MAX_ILEAVE];
	struct famfs_file_extents fe = { 0 };
	struct famfs_slice old = { 0 };
	struct ns_layout l = { 0 };
	struct ns_attr a;
	__u32 i, s;
	int err;

	if (!d->bpf)
		return;
	err = ns_getattr(d->ns, ino, &a);
	if (!err && (!S_ISREG(a.mode) || !a.nlink))
		err = -ENOENT;
	if (!err)
		err = ns_layout_get(d->ns, ino, &l);
	fe.size = a.size;
	for (i = 0; !err && i < l.nileave; i++) {
		ileave[i] = l.ileave[i];
		/* unused strips stay zero (fmap_ileave_check) */
		for (s = 0; s < l.ileave[i].nstrips && !err; s++) {
			if (l.ileave[i].strips[s].dev >= d->ndevs)
				err = -EIO;
			else
				ileave[i].strips[s].dev = d->dev_id[l.ileave[i].strips[s].dev];
		}
	}
	for (i = 0; !err && i < l.nsimple; i++) {
		if (l.simple[i].dev >= d->ndevs)
			err = -EIO;
		else
			l.simple[i].dev = d->dev_id[l.simple[i].dev];	/* our copy */
	}
	if (err == -EIO)
		pr_err("ino %llu: an extent on no device: its misses go by upcall",
		       (unsigned long long)ino);
	if (!err) {
		fe.nsimple = l.nsimple;
		fe.nileave = l.nileave;
		fe.simple = l.simple;
		fe.ileave = ileave;
		err = famfs_loader_set_file(d->bpf, ino, &fe, &old);
		if (err)
			pr_info("ino %llu: not in the BPF resolver's maps (%s): its misses go by upcall",
				(unsigned long long)ino, strerror(-err));
	}
	/* not in the maps: the program sends the kernel to us for it */
	if (err)
		famfs_loader_remove_file(d->bpf, ino, &old);	/* none: old stays empty */
	famfs_loader_free_slice(d->bpf, &old);
	free(l.simple);
}

/* Take @ino out of the maps before its space may be freed; @space held. */
void fsd_bpf_unmap(struct fsd *d, __u64 ino)
{
	struct famfs_slice old;

	/* freed entries are reused only after a grace period (loader.h) */
	if (d->bpf && !famfs_loader_remove_file(d->bpf, ino, &old))
		famfs_loader_free_slice(d->bpf, &old);
}

/*
 * The regular files (@nfiles, counted for the log) and those with extents
 * (@ino), before the first LOOKUP.  A file without extents has no entry to
 * write: the maps start empty, and a miss on it goes by upcall, as it
 * would after fsd_bpf_sync().  Skipping them saved 100,000 lookups of
 * the files map (a hash, gone since), 1.6 s of a 100,000-file mount in
 * the test guest.  A file with extents costs no bpf() call either: the
 * loader writes the mmap'ed maps (fmap_bpf_maps/load_100k).
 */
struct ino_list {
	__u64 *ino;
	size_t n, cap, nfiles;
};

static int collect_file(void *ctx, const struct ns_attr *a)
{
	struct ino_list *li = ctx;

	if (!S_ISREG(a->mode))
		return 0;
	li->nfiles++;
	if (!a->mapped)
		return 0;
	if (li->n == li->cap) {
		size_t cap = li->cap ? 2 * li->cap : 256;
		__u64 *p = realloc(li->ino, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		li->ino = p;
		li->cap = cap;
	}
	li->ino[li->n++] = a->ino;
	return 0;
}

/*
 * Whether the running kernel can take the resolver: its BTF names the
 * struct_ops type.  A cheap look at the string table, so that the
 * automatic choice says why in one line instead of libbpf's many.  Only
 * the string section is read (2.3 of 5.5 MB; sysfs hands it out a page
 * per read()): reading it all took 0.05-0.2 s of a mount in the guest.
 */
static const char *bpf_missing(void)
{
	static const char name[] = "\0" FMAP_OPS_TYPE "\0";
	const char *why = "the kernel has no " FMAP_OPS_TYPE " (CONFIG_FUSE_FMAP_BPF)";
	struct btf_header h;
	char *buf = NULL;
	size_t len = 0;
	off_t at;
	ssize_t n;
	int fd = open(VMLINUX_BTF, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return "no kernel BTF (" VMLINUX_BTF ")";
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || h.magic != BTF_MAGIC ||
	    h.hdr_len < sizeof(h)) {
		why = "cannot read " VMLINUX_BTF;
		goto out;
	}
	buf = malloc(h.str_len ? h.str_len : 1);
	if (!buf) {
		why = "out of memory";
		goto out;
	}
	at = (off_t)h.hdr_len + h.str_off;
	while (len < h.str_len) {
		n = pread(fd, buf + len, h.str_len - len, at + len);
		if (n <= 0)
			break;
		len += n;
	}
	if (len < h.str_len)
		why = "cannot read " VMLINUX_BTF;
	else if (memmem(buf, len, name, sizeof(name) - 1))
		why = NULL;
out:
	free(buf);
	close(fd);
	return why;
}

/* Room to grow for @nfiles regular files; a file that finds none later is served by upcall. */
static __u32 files_room(size_t nfiles)
{
	if (2 * nfiles <= FAMFS_DEF_MAX_FILES)
		return 0;	/* the default */
	return 2 * nfiles < (1U << 20) ? 2 * nfiles : 1U << 20;
}

/*
 * Loading the resolver (not pinned: the connection has no number yet),
 * in a thread of its own while the log replays, or in the caller's.
 */
struct fsd_preload {
	int fuse_fd;		/* ours until fsd_create() takes it (-1) */
	int load_fd;		/* its number, for the thread to read */
	__u32 max_files;
	pthread_t th;
	bool threaded;		/* th runs; joined by preload_wait() */
	bool done;
	/* what came of it */
	struct famfs_loader *bpf;
	const char *why;	/* the kernel cannot take it (bpf_missing()) */
	int err;
};

static void preload_run(struct fsd_preload *p)
{
	struct famfs_loader_opts lo = { .fuse_fd = p->load_fd, .max_files = p->max_files };

	p->why = bpf_missing();
	if (!p->why)
		p->err = famfs_loader_load(&lo, &p->bpf);
}

static void *preload_thread(void *arg)
{
	preload_run(arg);
	return NULL;
}

static void preload_wait(struct fsd_preload *p)
{
	if (p->threaded)
		pthread_join(p->th, NULL);
	else if (!p->done)
		preload_run(p);
	p->threaded = false;
	p->done = true;
}

int fsd_preload_start(const struct fsd_config *cfg, size_t entries, struct fsd_preload **out)
{
	struct fsd_preload *p;
	sigset_t all, old;

	*out = NULL;
	if (cfg->resolver == FSD_RESOLVER_UPCALL || cfg->resolver == FSD_RESOLVER_BUILTIN)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	/* the resolver names its connection by this fd: the mount's */
	p->fuse_fd = p->load_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (p->fuse_fd < 0) {
		free(p);
		return -errno;	/* fsd_create() tries again and says why */
	}
	/* every log entry may be a file: as many as fsd_bpf_load() would size for */
	p->max_files = files_room(entries);
	/* signals stay with the main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	p->threaded = !pthread_create(&p->th, NULL, preload_thread, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* no thread: fsd_create() loads in its own */
	*out = p;
	return 0;
}

void fsd_preload_free(struct fsd_preload *p)
{
	if (!p)
		return;
	if (p->threaded)
		pthread_join(p->th, NULL);
	famfs_loader_close(p->bpf);
	if (p->fuse_fd >= 0)
		close(p->fuse_fd);
	free(p);
}

int fsd_preload_fuse_fd(struct fsd_preload *p)
{
	int fd = p->fuse_fd;

	p->fuse_fd = -1;
	return fd;
}

/*
 * Take the resolver (loaded while the log replayed, or here if @p is
 * NULL), pin it and fill its maps (not attached yet: that needs INIT
 * done).  Frees @p.  FSD_RESOLVER_AUTO falls back to upcall with one
 * warning.
 */
int fsd_bpf_load(struct fsd *d, struct fsd_preload *p, char *msg, size_t msglen)
{
	struct fsd_preload own = { .fuse_fd = -1, .load_fd = d->fuse_fd };
	struct ino_list li = { 0 };
	struct ns_statfs st;
	struct timespec t0, t1;
	size_t i;
	int err;

	if (d->resolver == FSD_RESOLVER_UPCALL || d->resolver == FSD_RESOLVER_BUILTIN) {
		fsd_preload_free(p);
		return 0;
	}
	if (!p) {
		ns_statfs(d->ns, &st);
		own.max_files = files_room(st.files);
		p = &own;
	}
	preload_wait(p);
	d->bpf = p->bpf;
	p->bpf = NULL;
	err = p->err;
	if (!p->why && !err) {
		err = famfs_loader_pin(d->bpf, NULL, d->minor);
		if (err) {
			famfs_loader_close(d->bpf);
			d->bpf = NULL;
		}
	}
	if (p->why) {
		if (d->resolver == FSD_RESOLVER_BPF)
			err = fbs_fail(msg, msglen, -ENOPKG,
				       "resolver=bpf: cannot load the BPF resolver: %s", p->why);
		else
			pr_warn("BPF resolver not loaded (%s): every mapping miss is an upcall",
				p->why);
	} else if (err) {
		if (d->resolver == FSD_RESOLVER_BPF)
			err = fbs_fail(msg, msglen, -ENOPKG,
				       "resolver=bpf: cannot load the BPF resolver: %s",
				       strerror(-err));
		else
			pr_warn("BPF resolver not loaded (%s): every mapping miss is an upcall",
				strerror(-err));
	}
	if (p != &own)
		fsd_preload_free(p);
	if (!d->bpf)
		return d->resolver == FSD_RESOLVER_BPF ? err : 0;

	err = ns_foreach_inode(d->ns, collect_file, &li);
	if (err) {
		free(li.ino);
		return fbs_fail(msg, msglen, err, "listing the files: %s", strerror(-err));
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < li.n; i++)
		fsd_bpf_sync(d, li.ino[i]);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pr_info("BPF resolver loaded, %zu of %zu files have extents (%.3f s), in %s", li.n,
		li.nfiles, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
		famfs_loader_pin_dir(d->bpf));
	free(li.ino);
	return 0;
}

/* Once INIT is answered.  An error only when the resolver was asked for. */
int fsd_bpf_attach(struct fsd *d)
{
	int err;

	if (!d->bpf)
		return 0;
	err = famfs_loader_attach(d->bpf);
	if (!err)
		return 0;
	if (d->resolver == FSD_RESOLVER_BPF) {
		snprintf(d->msg, sizeof(d->msg),
			 "resolver=bpf: cannot attach the BPF resolver to the connection: %s",
			 strerror(-err));
		/* no mount without it: the loop ends, the daemon exits */
		umount2(d->mnt, MNT_DETACH);
		return err;
	}
	pr_warn("BPF resolver not attached (%s): every mapping miss is an upcall",
		strerror(-err));
	pthread_rwlock_wrlock(&d->space);
	famfs_loader_close(d->bpf);
	d->bpf = NULL;
	pthread_rwlock_unlock(&d->space);
	return 0;
}

bool fsd_bpf_attached(const struct fsd *d)
{
	return famfs_loader_attached(d->bpf);
}
