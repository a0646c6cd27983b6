// SPDX-License-Identifier: GPL-2.0
/*
 * A mounted file system's metadata (fs.h): devices, superblock and labels
 * (super.c), the log mapped MAP_SHARED and replayed into the namespace
 * (mlog.c, ns.c), the allocator rebuilt from every file's extents
 * (alloc.c), and the owner's operations journaled through the mapped log.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#include "alloc.h"
#include "dev.h"
#include "famfs_xattr.h"
#include "fs.h"
#include "log.h"
#include "super.h"
#include "u64.h"

#define UNIT		FAMFS_ALLOC_UNIT
#define UNIT_MASK	(UNIT - 1)
/* far below 2^64, so rounding offsets up to a stripe never overflows */
#define FS_MAX_FILE_END	(1ULL << 52)
#define MIN_CHUNK	UNIT
#define MAX_CHUNK	FAMFS_XATTR_STRIPE_MAX_CHUNK	/* a new policy's */

_Static_assert(FAMFS_ALLOC_SHIFT == FBS_ALLOC_UNIT_SHIFT, "one allocation unit");

struct fs_device {
	char *path;
	int fd;
	int zfd;		/* owner: O_DIRECT where it can, for zeroing; or -1 */
	__u64 size;		/* bytes, 4 KiB multiple */
	struct dev_id id;
	bool nodax;		/* a block device without DAX (kind FAMFS_DEV_BLOCK) */
};

struct fs {
	pthread_mutex_t lock;	/* owner ops, allocator, writer */
	bool owner;
	bool takeover;		/* FS_OPEN_TAKEOVER */
	unsigned int ndevs;
	struct fs_device devs[FAMFS_MAX_DEVS];
	struct famfs_sb_info sb;
	struct famfs_mlog_devtab devtab;	/* the superblock's + DEVADDs */

	void *map;		/* the log's pages */
	size_t map_len;
	unsigned char *log;	/* the log region inside them */
	size_t page;
	/* the current log in the region (famfs_mlog_pick()): cur = log + area.off */
	struct famfs_mlog_area area;
	unsigned char *cur;
	__u64 compact_at;	/* owner: checkpoint once the log passes it (0: never) */
	bool no_auto_compact;	/* fs_set_auto_compact() */

	struct ns *ns;
	struct ns_journal journal;
	struct famfs_mlog_writer w;	/* owner */
	int journal_err;	/* what the last append failed with */
	bool log_failed;	/* an msync of the log failed: no more appends */
	size_t reserve;		/* the log's last bytes: deletes only (log_keep()) */
	bool size_sync;		/* the entry being journaled makes a size durable */

	/* owner: files whose size grew in memory only (fs_size_grow()), under lock */
	__u64 *dirty;
	size_t ndirty, dirty_cap;

	struct fbs_alloc alloc;
	bool alloc_ready;	/* replay's releases are not the allocator's */

	/* owner: freed units that wait before reuse (cooling_*()), oldest first */
	struct cooling {
		__u32 dev;
		__u64 off, len;
		__u64 freed_ns;
	} *cool;
	size_t cool_head, ncool, cool_cap;
	__u64 cool_bytes;

	/* read-only: where replay stopped */
	__u64 next_seq;
	__u64 end_off;
	bool corrupt;

	struct ns_layout lay;	/* scratch, under the lock */
	struct fs_alloc_policy policy;	/* under the lock */
	char fault[32];		/* FAMFS_FAULT at open: fs_fault() */
	__u64 falloc_max_new;	/* FS_FALLOC_MAX_NEW, less for FAMFS_FAULT=falloc_small */
	unsigned long fault_nth;	/* "step@N": the Nth time at the step, not the first */

	/* owner: the superblock's owner record (owner_claim() and after) */
	struct {
		void *buf;		/* device 0's first 4 KiB, aligned for O_DIRECT */
		pthread_mutex_t lock;	/* the fields below, buf, the record's I/O */
		pthread_cond_t cond;
		pthread_t thread;	/* owner_beat_thread() */
		bool sync_init, thread_running, stop;
		bool claimed;		/* mine is on the device */
		bool lost;		/* another claim replaced it: read-only */
		struct famfs_owner mine;
		long last_beat;		/* mono_ms() of the last write of mine */
		char thief[200];	/* who holds it since we lost it */
	} own;
};

static _Thread_local char fs_errbuf[256];

/*
 * The granularity of a file's simple extents: 4 KiB pages when the
 * superblock says so (FAMFS_SB_F_PAGES), else whole 2 MiB units.
 */
static __u64 gran_of(const struct fs *fs)
{
	return fs->sb.flags & FAMFS_SB_F_PAGES ? FBS_ALLOC_PAGE : UNIT;
}

__u64 fs_alloc_gran(const struct fs *fs)
{
	return gran_of(fs);
}

#define fail(err, ...) fbs_fail(fs_errbuf, sizeof(fs_errbuf), (err), __VA_ARGS__)

const char *fs_msg(void)
{
	return fs_errbuf;
}

/* -------------------------------------------------------------------- */
/* Fault injection */

void fs_fault(const struct fs *fs, const char *step)
{
	/* one file system per daemon: a process-wide count is the fs's */
	static _Atomic unsigned long hits;

	if (!fs->fault[0] || strcmp(fs->fault, step))
		return;
	if (++hits < fs->fault_nth)
		return;
	pr_err("FAMFS_FAULT=%s: exiting here, as asked", step);
	_exit(FS_FAULT_EXIT);
}

/* FAMFS_FAULT=@step names a step that fails once (not one that exits). */
static bool fault_once(struct fs *fs, const char *step)
{
	if (!fs->fault[0] || strcmp(fs->fault, step))
		return false;
	pr_err("FAMFS_FAULT=%s: failing here once, as asked", step);
	fs->fault[0] = '\0';
	return true;
}

/* -------------------------------------------------------------------- */
/* Devices */

static int dev_open(struct fs_device *d, const char *path, bool write, char *msg,
		    size_t msglen)
{
	struct stat st;
	int err;

	d->fd = -1;
	d->zfd = -1;
	d->path = strdup(path);
	if (!d->path)
		return fbs_fail(msg, msglen, -ENOMEM, "out of memory");
	if (stat(path, &st))
		return fbs_fail(msg, msglen, -errno, "%s: %s", path, strerror(errno));
	if (S_ISCHR(st.st_mode))
		return fbs_fail(msg, msglen, -ENOTBLK,
				"%s: a character device (devdax?), no fsdax: put the namespace in fsdax mode",
				path);
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
		return fbs_fail(msg, msglen, -ENODEV, "%s: neither a block device nor a regular file",
				path);
	/* regular files are test images: they stand in for either kind */
	d->nodax = S_ISBLK(st.st_mode) && dev_blk_dax(st.st_rdev) != 1;
	dev_id_of(&d->id, &st);
	d->fd = open(path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (d->fd < 0)
		return fbs_fail(msg, msglen, -errno, "%s: cannot open%s: %s", path,
				write ? " for writing" : "", strerror(errno));
	/* the kernel does buffered I/O of block devices in whole pages */
	if (d->nodax) {
		int lbs = 0;

		if (ioctl(d->fd, BLKSSZGET, &lbs))
			return fbs_fail(msg, msglen, -errno, "%s: cannot get its block size: %s",
					path, strerror(errno));
		if (lbs > 4096)
			return fbs_fail(msg, msglen, -ENOTBLK,
					"%s: a block device with %d-byte logical blocks: at most 4096 are supported",
					path, lbs);
	}
	err = dev_size(d->fd, &st, &d->size);
	if (err)
		return fbs_fail(msg, msglen, err, "%s: cannot get its size: %s", path,
				strerror(-err));
	/*
	 * New space is zeroed through O_DIRECT, so that the zeroes are on the
	 * media that DAX reads, not in this host's page cache of the device;
	 * a file system that refuses it (tmpfs) gets buffered writes, which
	 * fdatasync() makes durable all the same.
	 */
	if (write)
		d->zfd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	return 0;
}

/* -------------------------------------------------------------------- */
/* The journal: the mapped log, one msync per entry */

static int log_sync(struct fs *fs, __u64 start, __u64 end)
{
	uintptr_t from = (uintptr_t)(fs->cur + start) & ~(uintptr_t)(fs->page - 1);
	uintptr_t to = (uintptr_t)(fs->cur + end);

	if (end <= start)
		return 0;
	if (msync((void *)from, to - from, MS_SYNC))
		return -errno;
	return 0;
}

/*
 * Bytes an entry must leave free in the log.  A delete may use all of it,
 * so the reserve keeps rm (and the space it frees) possible once creates
 * and extends get ENOSPC; a size made durable (fsync, close) may use half
 * of it: the data are written already.
 */
static size_t log_keep(const struct fs *fs, enum famfs_log_type type)
{
	if (type == FAMFS_LOG_DELETE)
		return 0;
	return fs->size_sync ? fs->reserve / 2 : fs->reserve;
}

static int journal_append(void *ctx, const struct famfs_mlog_entry *e)
{
	struct fs *fs = ctx;
	__u64 start = fs->w.off;
	ssize_t need = famfs_mlog_entry_size(e);
	size_t keep = log_keep(fs, e->type);
	int err;

	if (need > 0 && fs->w.len - fs->w.off < (size_t)need + keep)
		err = -ENOSPC;
	else if (fs->log_failed)
		err = fail(-EIO, "journal: an msync of the log failed earlier: no more changes until a remount");
	else if (e->seq != fs->w.next_seq)
		err = fail(-EIO, "journal: the namespace expects entry %llu, the log is at %llu",
			   (unsigned long long)e->seq, (unsigned long long)fs->w.next_seq);
	else
		err = famfs_mlog_append(&fs->w, e);
	if (err == -ENOSPC)
		fail(err, "metadata log full: %llu of %zu bytes used, a %s entry needs %zd%s",
		     (unsigned long long)fs->w.off, fs->w.len, famfs_mlog_type_name(e->type),
		     need, keep ? " and the reserve kept for deletes" : "");
	else if (err && err != -EIO)
		fail(err, "journal: %s entry refused: %s", famfs_mlog_type_name(e->type),
		     strerror(-err));
	if (!err) {
		err = fault_once(fs, "log_msync") ? -EIO : log_sync(fs, start, fs->w.off);
		if (err) {
			/*
			 * Durable or not, the entry is in the shared log, and a
			 * follower on this host may have applied it already: it
			 * is never taken back (zeroed, or its offset and
			 * sequence number written again).  The caller gets an
			 * error, ns does not apply it, and no entry follows it:
			 * the next mount replays the log as it is.
			 */
			fs->log_failed = true;
			err = fail(-EIO, "journal: msync of the log: %s; the %s entry is in the log, durable or not; refusing every later change until a remount",
				   strerror(-err), famfs_mlog_type_name(e->type));
		}
	}
	fs->journal_err = err;
	return err;
}

/* Room for entries of @n bytes in all, or -ENOSPC with the log-full message. */
static int log_room(struct fs *fs, size_t n)
{
	if (fs->w.len - fs->w.off >= n + fs->reserve)
		return 0;
	return fail(-ENOSPC, "metadata log full: %llu of %zu bytes used, %zu needed and the reserve kept for deletes",
		    (unsigned long long)fs->w.off, fs->w.len, n);
}

/* -------------------------------------------------------------------- */
/* Space: freeing what ns releases, building the allocator from layouts */

/*
 * Freed space cools before it is reused: a follower (logplay, on this host
 * or another) that has not played a delete yet still maps the deleted
 * file, and must not read the bytes of the next file the space goes to.
 * The owner hands out cooled space, or, when nothing else is free, the
 * space that has cooled longest: it never fails with ENOSPC for it.  A
 * follower that plays the log at least this often never sees another
 * file's bytes.  Memory only: an owner that starts again reuses at once.
 */
#define FS_COOL_NS	(10ULL * 1000000000)

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void cooling_free(struct fs *fs, const struct cooling *c)
{
	struct fmap_simple_ext x = { .dev_off = c->off, .len = c->len, .dev = c->dev };
	int err = fbs_alloc_free_simple(&fs->alloc, &x, 1);

	if (err)
		pr_warn("freeing device %u [%llu, +%llu): %s", c->dev,
			(unsigned long long)c->off, (unsigned long long)c->len, strerror(-err));
}

/* Under fs->lock: space that has cooled (all of it with @all) is free again. */
static void cooling_expire(struct fs *fs, bool all)
{
	__u64 now = mono_ns();

	while (fs->ncool) {
		struct cooling *c = &fs->cool[fs->cool_head];

		if (!all && now - c->freed_ns < FS_COOL_NS)
			break;
		cooling_free(fs, c);
		fs->cool_bytes -= c->len;
		fs->cool_head = (fs->cool_head + 1) % fs->cool_cap;
		fs->ncool--;
	}
}

/* A ring of freed ranges; without memory for it, the range is free at once. */
static void cooling_add(struct fs *fs, const struct cooling *c)
{
	if (fs->ncool == fs->cool_cap) {
		size_t cap = fs->cool_cap ? 2 * fs->cool_cap : 64, i;
		struct cooling *ring = malloc(cap * sizeof(*ring));

		if (!ring) {
			cooling_free(fs, c);
			return;
		}
		for (i = 0; i < fs->ncool; i++)
			ring[i] = fs->cool[(fs->cool_head + i) % fs->cool_cap];
		free(fs->cool);
		fs->cool = ring;
		fs->cool_cap = cap;
		fs->cool_head = 0;
	}
	fs->cool[(fs->cool_head + fs->ncool++) % fs->cool_cap] = *c;
	fs->cool_bytes += c->len;
}

/*
 * Pages (units without FAMFS_SB_F_PAGES) wholly inside [off, off + len):
 * one the file still partly maps stays.
 */
static void free_inward(struct fs *fs, __u64 ino, __u32 dev, __u64 off, __u64 len)
{
	__u64 start = round_up(off, gran_of(fs)), end = round_down(off + len, gran_of(fs));
	struct cooling c = { .dev = dev, .off = start, .len = end - start };

	(void)ino;
	if (end <= start)
		return;
	c.freed_ns = mono_ns();
	cooling_add(fs, &c);
}

/* ns_ops.release_extents: under the ns lock, inside the fs lock. */
static void release_extents(void *ctx, __u64 ino, const struct fmap_simple_ext *simple,
			    __u32 nsimple, const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	struct fs *fs = ctx;
	__u32 i, s;

	if (!fs->alloc_ready)
		return;		/* replay: the allocator is built after it */
	for (i = 0; i < nsimple; i++)
		free_inward(fs, ino, simple[i].dev, simple[i].dev_off, simple[i].len);
	for (i = 0; i < nileave; i++)
		for (s = 0; s < ileave[i].nstrips; s++)
			free_inward(fs, ino, ileave[i].strips[s].dev, ileave[i].strips[s].dev_off,
				    fmap_ileave_strip_bytes(&ileave[i], s));
}

struct space {
	struct fbs_alloc *a;
	struct fbs_dev_range *r;
	size_t cap;
	char *msg;
	size_t msglen;
	__u64 gran;		/* gran_of() */
	/* the first unit two files claim, and who claimed it first */
	__u64 bad_ino, owner_ino;
	struct fbs_alloc_range bad;
};

/* A file's units (fbs_file_units()) into sp->r; -EUCLEAN if it maps bytes twice. */
static ssize_t file_units(struct space *sp, __u64 ino, const struct fmap_simple_ext *simple,
			  __u32 nsimple, const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	struct fbs_dev_range twice;
	long n = fbs_file_units(&sp->r, &sp->cap, simple, nsimple, ileave, nileave, sp->gran,
				&twice);

	if (n == -ENOMEM)
		return fbs_fail(sp->msg, sp->msglen, -ENOMEM, "out of memory");
	if (twice.end)
		return fbs_fail(sp->msg, sp->msglen, -EUCLEAN,
				"file ino %llu maps device %u [%llu, ...) twice",
				(unsigned long long)ino, twice.dev,
				(unsigned long long)twice.start);
	return n;
}

static int use_file(void *ctx, __u64 ino, const struct fmap_simple_ext *simple, __u32 nsimple,
		    const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	struct space *sp = ctx;
	ssize_t n = file_units(sp, ino, simple, nsimple, ileave, nileave);
	ssize_t k;
	int err;

	for (k = 0; k < n; k++) {
		struct fmap_simple_ext x = { .dev_off = sp->r[k].start,
					     .len = sp->r[k].end - sp->r[k].start,
					     .dev = sp->r[k].dev };

		err = fbs_alloc_use_simple(sp->a, &x, 1);
		if (err == -EEXIST) {
			sp->bad_ino = ino;
			sp->bad = sp->a->bad;
			return -EUCLEAN;
		}
		if (err)
			return fbs_fail(sp->msg, sp->msglen, -EUCLEAN,
					"file ino %llu: device %u [%llu, %llu) is outside the data area",
					(unsigned long long)ino, sp->r[k].dev,
					(unsigned long long)sp->r[k].start,
					(unsigned long long)sp->r[k].end);
	}
	return n < 0 ? (int)n : 0;
}

/* Who else holds sp->bad: the message names both files. */
static int find_owner(void *ctx, __u64 ino, const struct fmap_simple_ext *simple,
		      __u32 nsimple, const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	struct space *sp = ctx;
	ssize_t n, k;

	if (ino == sp->bad_ino)
		return 0;
	n = file_units(sp, ino, simple, nsimple, ileave, nileave);
	for (k = 0; k < n; k++)
		if (sp->r[k].dev == sp->bad.dev && sp->r[k].start < sp->bad.dev_off + sp->bad.len &&
		    sp->bad.dev_off < sp->r[k].end) {
			sp->owner_ino = ino;
			return 1;
		}
	return 0;
}

/* A new allocator with every file's space in use; -EUCLEAN on overlaps. */
static int build_alloc(struct fs *fs, struct fbs_alloc *a, char *msg, size_t msglen)
{
	struct fbs_alloc_geom geom[FBS_ALLOC_MAX_DEVS];
	struct space sp = { .a = a, .msg = msg, .msglen = msglen, .gran = gran_of(fs) };
	__u32 i;
	int err;

	for (i = 0; i < fs->devtab.ndevs; i++)
		geom[i] = (struct fbs_alloc_geom){ fs->devtab.devs[i].size,
						   fs->devtab.devs[i].data_off,
						   fs->devtab.devs[i].size };
	err = fbs_alloc_init(a, geom, fs->devtab.ndevs);
	if (!err && sp.gran == FBS_ALLOC_PAGE) {
		err = fbs_alloc_enable_pages(a);
		if (err)
			fbs_alloc_fini(a);
	}
	if (err)
		return fbs_fail(msg, msglen, err, "allocator: %s", strerror(-err));
	err = ns_foreach_layout(fs->ns, use_file, &sp);
	if (err == -EUCLEAN && sp.bad_ino) {
		ns_foreach_layout(fs->ns, find_owner, &sp);
		fbs_fail(msg, msglen, err,
			 "files ino %llu and ino %llu both claim device %u [%llu, +%llu)",
			 (unsigned long long)sp.owner_ino, (unsigned long long)sp.bad_ino,
			 sp.bad.dev, (unsigned long long)sp.bad.dev_off,
			 (unsigned long long)sp.bad.len);
	}
	free(sp.r);
	if (err)
		fbs_alloc_fini(a);
	return err;
}

/* -------------------------------------------------------------------- */
/*
 * The owner record (super.h, include/FORMAT.md "Owner"): one owner across
 * hosts.  Claimed in map_log() once the flock is held, refreshed by a
 * thread every lease / 4, read again before every owner operation (a
 * takeover by another host shows there), released in fs_close().  All
 * I/O is a whole 4 KiB block at offset 0 of device 0, O_DIRECT where the
 * device takes it: the memory another host wrote, not this host's cache.
 */

static struct {
	bool set;
	__u8 boot_id[16];
	char host[FAMFS_OWNER_HOST_LEN + 1];
	unsigned int lease_ms;
} owner_ident;

void fs_set_owner_identity(const __u8 *boot_id, const char *host, unsigned int lease_ms)
{
	owner_ident.set = boot_id || host;
	memset(owner_ident.boot_id, 0, sizeof(owner_ident.boot_id));
	if (boot_id)
		memcpy(owner_ident.boot_id, boot_id, sizeof(owner_ident.boot_id));
	snprintf(owner_ident.host, sizeof(owner_ident.host), "%s", host ? host : "");
	owner_ident.lease_ms = lease_ms;
}

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* 32 hex digits (dashes skipped) from the first line of @path into @id; zero if none */
static void read_id(const char *path, __u8 id[16])
{
	char line[80], *p;
	FILE *f = fopen(path, "re");
	int n = 0;

	memset(id, 0, 16);
	if (!f)
		return;
	if (fgets(line, sizeof(line), f))
		for (p = line; *p && n < 32; p++) {
			int v;

			if (*p == '-')
				continue;
			if (*p >= '0' && *p <= '9')
				v = *p - '0';
			else if (*p >= 'a' && *p <= 'f')
				v = *p - 'a' + 10;
			else
				break;
			id[n / 2] |= (__u8)(v << (n % 2 ? 0 : 4));
			n++;
		}
	fclose(f);
	if (n != 32)
		memset(id, 0, 16);
}

/* Who this process is: a record to claim with (generation, seq, times unset). */
static void owner_self(struct famfs_owner *o)
{
	struct utsname u;

	memset(o, 0, sizeof(*o));
	o->state = FAMFS_OWNER_HELD;
	o->pid = (__u32)getpid();
	o->lease_ms = owner_ident.lease_ms ? owner_ident.lease_ms : FS_OWNER_LEASE_MS;
	read_id("/etc/machine-id", o->machine_id);
	if (owner_ident.set) {
		memcpy(o->boot_id, owner_ident.boot_id, sizeof(o->boot_id));
		snprintf(o->host, sizeof(o->host), "%s", owner_ident.host);
	} else {
		read_id("/proc/sys/kernel/random/boot_id", o->boot_id);
		if (!uname(&u))
			snprintf(o->host, sizeof(o->host), "%s", u.nodename);
	}
	if (!o->host[0])
		snprintf(o->host, sizeof(o->host), "?");
	if (getrandom(o->owner_id, sizeof(o->owner_id), 0) != sizeof(o->owner_id)) {
		/* no entropy: time and pid still tell two claims apart */
		__u64 t = (__u64)time(NULL) ^ ((__u64)mono_ms() << 20);

		memcpy(o->owner_id, &t, sizeof(t));
		memcpy(o->owner_id + 8, &o->pid, sizeof(o->pid));
	}
}

static int owner_fd(const struct fs *fs)
{
	return fs->devs[0].zfd >= 0 ? fs->devs[0].zfd : fs->devs[0].fd;
}

static struct famfs_owner_rec *owner_rec(struct fs *fs)
{
	return &((struct famfs_superblock *)fs->own.buf)->owner;
}

/*
 * The record now, into fs->own.buf and *@o; *@derr is what
 * famfs_owner_decode() said.  A record caught while its owner writes it
 * fails its CRC: read again a few times before believing that.  0 or an
 * I/O error.
 */
static int owner_read(struct fs *fs, struct famfs_owner *o, int *derr)
{
	int err, tries;

	for (tries = 0; tries < 5; tries++) {
		if (tries)
			sleep_ms(2);
		err = dev_read_full(owner_fd(fs), FAMFS_SB_OFF, fs->own.buf, FAMFS_SB_SIZE);
		if (err)
			return err;
		*derr = famfs_owner_decode(owner_rec(fs), fs->sb.fs_uuid, o);
		if (*derr != -EBADMSG)
			break;
	}
	return 0;
}

/* @o into the block owner_read() left in fs->own.buf, durably. */
static int owner_write(struct fs *fs, const struct famfs_owner *o)
{
	int err;

	famfs_owner_encode(o, fs->sb.fs_uuid, owner_rec(fs));
	err = dev_write_full(owner_fd(fs), FAMFS_SB_OFF, fs->own.buf, FAMFS_SB_SIZE);
	if (!err && fdatasync(owner_fd(fs)))
		err = -errno;
	return err;
}

/*
 * -o takeover: the holder is dead if its record does not change for a
 * whole lease (it writes it 4 times a lease while alive).  Watch the raw
 * bytes, so that a record being rewritten counts as alive too.  0 (dead),
 * -EUSERS (alive, @msg says who) or an I/O error.
 */
static int owner_probe(struct fs *fs, __u32 lease_ms, const char *who, char *msg,
		       size_t msglen)
{
	struct famfs_owner_rec first;
	struct famfs_owner now;
	long end, step;
	int err, derr;

	if (lease_ms < 100)
		lease_ms = 100;
	if (lease_ms > FS_OWNER_LEASE_MAX_MS)
		lease_ms = FS_OWNER_LEASE_MAX_MS;
	step = lease_ms / 20;
	memcpy(&first, owner_rec(fs), sizeof(first));
	pr_info("%s: takeover: watching the owner record for %u ms: %s", fs->devs[0].path,
		lease_ms, who);
	for (end = mono_ms() + lease_ms + step; mono_ms() < end;) {
		sleep_ms(step);
		err = dev_read_full(owner_fd(fs), FAMFS_SB_OFF, fs->own.buf, FAMFS_SB_SIZE);
		if (err)
			return fbs_fail(msg, msglen, err, "%s: cannot read the owner record: %s",
					fs->devs[0].path, strerror(-err));
		if (memcmp(&first, owner_rec(fs), sizeof(first))) {
			char name[200] = "its owner";

			derr = famfs_owner_decode(owner_rec(fs), fs->sb.fs_uuid, &now);
			if (!derr)
				famfs_owner_name(&now, name, sizeof(name));
			return fbs_fail(msg, msglen, -EUSERS,
					"%s: in use: takeover refused: the owner record changed within its lease of %u ms, so %s is alive: unmount it there (or stop that host) first",
					fs->devs[0].path, lease_ms, name);
		}
	}
	return 0;
}

static void *owner_beat_thread(void *arg);

/*
 * Claim the record for this mount (fs->lock not needed: fs_open_log).
 * @takeover: from a holder on another host, once owner_probe() saw it
 * dead.  0, -EUSERS (held: @msg names the holder), -EPROTONOSUPPORT, or
 * an I/O error.
 */
static int owner_claim(struct fs *fs, bool takeover, char *msg, size_t msglen)
{
	const char *path = fs->devs[0].path;
	struct famfs_owner cur, me, again;
	enum famfs_owner_verdict v;
	char why[400];
	__u64 gen;
	int err, derr;

	if (posix_memalign(&fs->own.buf, 4096, FAMFS_SB_SIZE)) {
		fs->own.buf = NULL;
		return fbs_fail(msg, msglen, -ENOMEM, "out of memory");
	}
	owner_self(&me);
	err = owner_read(fs, &cur, &derr);
	if (err)
		return fbs_fail(msg, msglen, err, "%s: cannot read the owner record: %s", path,
				strerror(-err));
	v = famfs_owner_judge(derr, &cur, &me, time(NULL), why, sizeof(why));
	/* a damaged record's generation may still be there: count past it */
	gen = derr ? le64toh(owner_rec(fs)->generation) : cur.generation;
	switch (v) {
	case FAMFS_OWNER_FREE:
		break;
	case FAMFS_OWNER_GONE_HERE:
		pr_warn("%s: %s", path, why);
		break;
	case FAMFS_OWNER_NEWER:
		return fbs_fail(msg, msglen, -EPROTONOSUPPORT, "%s: %s", path, why);
	case FAMFS_OWNER_OTHER:
	case FAMFS_OWNER_UNREADABLE:
		if (!takeover)
			return fbs_fail(msg, msglen, -EUSERS, "%s: %s", path, why);
		if (v == FAMFS_OWNER_OTHER)
			famfs_owner_name(&cur, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "an unreadable owner record");
		err = owner_probe(fs, derr ? me.lease_ms : cur.lease_ms, why, msg, msglen);
		if (err)
			return err;
		pr_warn("%s: took over from %s, which wrote nothing for a whole lease: generation %llu",
			path, why, (unsigned long long)gen + 1);
		break;
	}
	me.generation = gen + 1;
	me.seq = (derr ? 0 : cur.seq) + 1;
	me.since = me.heartbeat = time(NULL);
	err = owner_write(fs, &me);
	if (err)
		return fbs_fail(msg, msglen, err, "%s: cannot write the owner record: %s", path,
				strerror(-err));
	fs->own.mine = me;
	fs->own.claimed = true;
	fs->own.last_beat = mono_ms();
	/* two hosts that claimed at once: the later write wins, the other sees it */
	sleep_ms(FS_OWNER_SETTLE_MS);
	err = owner_read(fs, &again, &derr);
	if (!err && (derr || !famfs_owner_is_mine(&again, &me))) {
		fs->own.claimed = false;
		if (!derr)
			famfs_owner_name(&again, why, sizeof(why));
		return fbs_fail(msg, msglen, -EUSERS,
				"%s: in use: %s claimed it at the same time", path,
				derr ? "another mount" : why);
	}
	if (err)
		return fbs_fail(msg, msglen, err, "%s: cannot read the owner record: %s", path,
				strerror(-err));
	pthread_mutex_init(&fs->own.lock, NULL);
	pthread_cond_init(&fs->own.cond, NULL);
	fs->own.sync_init = true;
	if (pthread_create(&fs->own.thread, NULL, owner_beat_thread, fs))
		return fbs_fail(msg, msglen, -EAGAIN, "cannot start the owner's heartbeat thread");
	fs->own.thread_running = true;
	return 0;
}

/*
 * Under fs->own.lock: is the record still this mount's claim?  With
 * @write, refresh it too (seq + 1, heartbeat).  Once another claim shows,
 * this mount has lost the file system for good: -EROFS from then on.
 */
static int owner_beat(struct fs *fs, bool write)
{
	struct famfs_owner cur;
	int err, derr;

	if (fs->own.lost)
		return -EROFS;
	err = owner_read(fs, &cur, &derr);
	if (err)
		return err;
	if (derr == -EBADMSG)
		return -EIO;	/* torn every time: cannot tell; change nothing */
	if (derr || !famfs_owner_is_mine(&cur, &fs->own.mine)) {
		fs->own.lost = true;
		if (!derr)
			famfs_owner_name(&cur, fs->own.thief, sizeof(fs->own.thief));
		else
			snprintf(fs->own.thief, sizeof(fs->own.thief), "a record this famfs-bpf cannot read");
		pr_err("%s: this mount no longer owns the file system: %s holds it now; refusing every change (unmount)",
		       fs->devs[0].path, fs->own.thief);
		return -EROFS;
	}
	if (!write)
		return 0;
	fs->own.mine.seq = cur.seq + 1;
	fs->own.mine.heartbeat = time(NULL);
	err = owner_write(fs, &fs->own.mine);
	if (!err)
		fs->own.last_beat = mono_ms();
	return err;
}

static void *owner_beat_thread(void *arg)
{
	struct fs *fs = arg;
	long period = fs->own.mine.lease_ms / 4;
	struct timespec until;
	int err;

	pthread_mutex_lock(&fs->own.lock);
	while (!fs->own.stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += period / 1000;
		until.tv_nsec += (period % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&fs->own.cond, &fs->own.lock, &until);
		if (fs->own.stop || fs->own.lost)
			continue;
		err = owner_beat(fs, true);
		if (err && err != -EROFS)
			pr_warn("%s: cannot refresh the owner record: %s", fs->devs[0].path,
				strerror(-err));
	}
	pthread_mutex_unlock(&fs->own.lock);
	return NULL;
}

/*
 * Before an owner operation: the record must still be this mount's.  A
 * heartbeat older than half a lease (the thread stalled, or this process
 * was stopped) is renewed first, so a takeover, which waits a whole lease
 * without a change, cannot overlap a change made here.
 */
static int owner_check(struct fs *fs)
{
	int err;

	if (!fs->own.claimed)
		return 0;
	pthread_mutex_lock(&fs->own.lock);
	err = owner_beat(fs, mono_ms() - fs->own.last_beat > (long)fs->own.mine.lease_ms / 2);
	pthread_mutex_unlock(&fs->own.lock);
	if (err == -EROFS)
		return fail(-EROFS,
			    "read-only: this mount lost the file system to %s (a takeover); unmount it",
			    fs->own.thief);
	/* a device that went away reads as empty (dev_read_full(): ENODATA) */
	if (err == -ENODATA)
		return fail(-EIO, "%s: cannot check the owner record: the device is gone or shrank",
			    fs->devs[0].path);
	if (err)
		return fail(err, "%s: cannot check the owner record: %s", fs->devs[0].path,
			    strerror(-err));
	return 0;
}

/* fs_close(): stop the heartbeat; a clean unmount releases the record. */
static void owner_release(struct fs *fs)
{
	struct famfs_owner cur;
	int err, derr;

	if (fs->own.thread_running) {
		pthread_mutex_lock(&fs->own.lock);
		fs->own.stop = true;
		pthread_cond_signal(&fs->own.cond);
		pthread_mutex_unlock(&fs->own.lock);
		pthread_join(fs->own.thread, NULL);
		fs->own.thread_running = false;
	}
	if (fs->own.claimed && !fs->own.lost) {
		err = owner_read(fs, &cur, &derr);
		if (!err && !derr && famfs_owner_is_mine(&cur, &fs->own.mine)) {
			fs->own.mine.state = FAMFS_OWNER_RELEASED;
			fs->own.mine.seq = cur.seq + 1;
			fs->own.mine.heartbeat = time(NULL);
			err = owner_write(fs, &fs->own.mine);
		}
		if (err)
			pr_warn("%s: cannot release the owner record: %s", fs->devs[0].path,
				strerror(-err));
	}
	fs->own.claimed = false;
	if (fs->own.sync_init) {
		pthread_cond_destroy(&fs->own.cond);
		pthread_mutex_destroy(&fs->own.lock);
		fs->own.sync_init = false;
	}
	free(fs->own.buf);
	fs->own.buf = NULL;
}

/* -------------------------------------------------------------------- */
/* Open and close */

/* Device 0 has no superblock: say what it is instead. */
static int no_superblock(const struct fs_device *d, const void *label, char *msg,
			 size_t msglen)
{
	__u64 magic;
	__u32 index;

	memcpy(&magic, label, 8);
	memcpy(&index, (const char *)label + 12, 4);
	if (le64toh(magic) == FAMFS_LABEL_MAGIC)
		return fbs_fail(msg, msglen, -EINVAL,
				"%s: no superblock: this is device %u of a famfs-bpf file system; give the devices in mkfs order",
				d->path, le32toh(index));
	return fbs_fail(msg, msglen, -ENODEV, "%s: not a famfs-bpf device (no superblock)",
			d->path);
}

/* Device @k against table entry @k of @info. */
static int check_label(const struct fs_device *d, const struct famfs_sb_info *info, __u32 k,
		       void *buf, char *msg, size_t msglen)
{
	char why[200];
	int err = dev_read_full(d->fd, FAMFS_LABEL_OFF, buf, FAMFS_LABEL_SIZE);

	if (err)
		return fbs_fail(msg, msglen, err, "%s: cannot read the label: %s", d->path,
				strerror(-err));
	err = famfs_label_check(buf, FAMFS_LABEL_SIZE, info, k, why, sizeof(why));
	if (err == -EMEDIUMTYPE)
		return fbs_fail(msg, msglen, -ENODEV, "%s: not a famfs-bpf device (no label)",
				d->path);
	if (err)
		return fbs_fail(msg, msglen, err, "%s: %s", d->path, why);
	if (d->size < info->devs.devs[k].size)
		return fbs_fail(msg, msglen, -ENOSPC,
				"%s: %llu bytes, device %u of the file system is %llu", d->path,
				(unsigned long long)d->size, k,
				(unsigned long long)info->devs.devs[k].size);
	return 0;
}

static int open_devices(struct fs *fs, const char *const *paths, unsigned int ndevs,
			char *msg, size_t msglen)
{
	unsigned int i, j;
	int err;

	for (i = 0; i < ndevs; i++) {
		fs->ndevs = i + 1;
		err = dev_open(&fs->devs[i], paths[i], fs->owner, msg, msglen);
		if (err)
			return err;
		for (j = 0; j < i; j++)
			if (dev_id_same(&fs->devs[i].id, &fs->devs[j].id))
				return fbs_fail(msg, msglen, -EINVAL,
						"%s: given twice (as device %u and %u)", paths[i], j, i);
	}
	return 0;
}

/*
 * Does @d take the path its kind in the table says?  The kernel maps DAX
 * devices for memory files and the rest for block files, and refuses a
 * file's mapping that names the other kind.
 */
static int check_kind(const struct fs_device *d, __u32 kind, __u32 k, char *msg,
		      size_t msglen)
{
	if (kind == FAMFS_DEV_DAX && d->nodax)
		return fbs_fail(msg, msglen, -ENOTBLK,
				"%s: a block device without DAX, but device %u of the file system is DAX memory (not pmem in fsdax mode?)",
				d->path, k);
	if (kind == FAMFS_DEV_BLOCK && !d->nodax && d->id.is_blk)
		return fbs_fail(msg, msglen, -ENOTBLK,
				"%s: has DAX, but device %u of the file system is a block device without DAX",
				d->path, k);
	return 0;
}

/* Superblock and labels of the mkfs devices. */
static int read_super(struct fs *fs, char *msg, size_t msglen)
{
	char why[200];
	void *buf;
	__u32 k;
	int err;

	if (posix_memalign(&buf, 4096, 2 * 4096))
		return fbs_fail(msg, msglen, -ENOMEM, "out of memory");
	err = dev_read_full(fs->devs[0].fd, 0, buf, 2 * 4096);
	if (err) {
		fbs_fail(msg, msglen, err, "%s: cannot read the superblock: %s", fs->devs[0].path,
			 strerror(-err));
		goto out;
	}
	err = famfs_sb_decode(buf, FAMFS_SB_SIZE, &fs->sb, why, sizeof(why));
	if (err == -EMEDIUMTYPE) {
		err = no_superblock(&fs->devs[0], (char *)buf + FAMFS_LABEL_OFF, msg, msglen);
		goto out;
	}
	if (err) {
		fbs_fail(msg, msglen, err, "%s: superblock: %s", fs->devs[0].path, why);
		goto out;
	}
	for (k = 0; k < fs->sb.devs.ndevs && k < fs->ndevs && !err; k++) {
		err = check_label(&fs->devs[k], &fs->sb, k, buf, msg, msglen);
		if (!err)
			err = check_kind(&fs->devs[k], fs->sb.devs.devs[k].kind, k, msg, msglen);
	}
	if (!err && fs->ndevs < fs->sb.devs.ndevs)
		err = fbs_fail(msg, msglen, -ENXIO, "%u device%s given, the file system has %u",
			       fs->ndevs, fs->ndevs == 1 ? "" : "s", fs->sb.devs.ndevs);
	if (!err && fs->sb.devs.ndevs > FBS_ALLOC_MAX_DEVS)
		err = fbs_fail(msg, msglen, -EOPNOTSUPP, "%u devices: at most %d are supported",
			       fs->sb.devs.ndevs, FBS_ALLOC_MAX_DEVS);
out:
	free(buf);
	return err;
}

static int map_log(struct fs *fs, char *msg, size_t msglen)
{
	const struct fs_device *d = &fs->devs[fs->sb.log_dev];
	__u64 map_off = round_down(fs->sb.log_off, fs->page);
	int prot = PROT_READ | (fs->owner ? PROT_WRITE : 0);

	/* one owner per host: a second would interleave appends */
	if (fs->owner && flock(d->fd, LOCK_EX | LOCK_NB))
		return errno != EWOULDBLOCK ?
			fbs_fail(msg, msglen, -errno, "%s: cannot lock the log: %s", d->path,
				 strerror(errno)) :
			fbs_fail(msg, msglen, -EBUSY,
				 "%s: in use: another owner (a famfs-bpf mount) holds its log",
				 d->path);
	if (fs->owner) {
		int err = owner_claim(fs, fs->takeover, msg, msglen);

		if (err)
			return err;
	}
	/*
	 * Cached pages may predate another host's appends (log_refresh): a
	 * follower's, or an owner's that followed or owned it before another
	 * host took over.
	 */
	if (d->id.is_blk)
		ioctl(d->fd, BLKFLSBUF, 0);
	fs->map_len = fs->sb.log_off + fs->sb.log_len - map_off;
	fs->map = mmap(NULL, fs->map_len, prot, MAP_SHARED, d->fd, map_off);
	if (fs->map == MAP_FAILED) {
		fs->map = NULL;
		return fbs_fail(msg, msglen, -errno, "%s: cannot map the log: %s", d->path,
				strerror(errno));
	}
	fs->log = (unsigned char *)fs->map + (fs->sb.log_off - map_off);
	famfs_mlog_pick(fs->log, fs->sb.log_len, fs->sb.fs_uuid, &fs->area);
	fs->cur = fs->log + fs->area.off;
	return 0;
}

/* Devices the log added: given, in order, with their labels. */
static int check_added(struct fs *fs, char *msg, size_t msglen)
{
	struct famfs_sb_info info = fs->sb;
	void *buf;
	__u32 k;
	int err = 0;

	if (fs->ndevs > fs->devtab.ndevs)
		return fbs_fail(msg, msglen, -ENXIO, "%s: given as device %u, the file system has %u",
				fs->devs[fs->devtab.ndevs].path, fs->devtab.ndevs,
				fs->devtab.ndevs);
	if (fs->ndevs < fs->devtab.ndevs)
		return fbs_fail(msg, msglen, -ENXIO,
				"device %u of %u (added by the log) missing: give every device",
				fs->ndevs, fs->devtab.ndevs);
	if (fs->devtab.ndevs > FBS_ALLOC_MAX_DEVS)
		return fbs_fail(msg, msglen, -EOPNOTSUPP, "%u devices: at most %d are supported",
				fs->devtab.ndevs, FBS_ALLOC_MAX_DEVS);
	if (posix_memalign(&buf, 4096, 4096))
		return fbs_fail(msg, msglen, -ENOMEM, "out of memory");
	info.devs = fs->devtab;
	for (k = fs->sb.devs.ndevs; k < fs->devtab.ndevs && !err; k++) {
		err = check_label(&fs->devs[k], &info, k, buf, msg, msglen);
		if (!err)
			err = check_kind(&fs->devs[k], fs->devtab.devs[k].kind, k, msg, msglen);
	}
	free(buf);
	return err;
}

/* fs_set_replay_progress(): process-wide, like the daemon's one file system */
static void (*progress_fn)(void *ctx, __u64 done, __u64 total);
static void *progress_ctx;

void fs_set_replay_progress(void (*fn)(void *ctx, __u64 done, __u64 total), void *ctx)
{
	progress_fn = fn;
	progress_ctx = ctx;
}

static void replay_progress(void *ctx, __u64 done, __u64 total)
{
	(void)ctx;
	progress_fn(progress_ctx, done, total);
}

static void compact_plan(struct fs *fs);
static void compact_maybe(struct fs *fs);

static int replay(struct fs *fs, char *msg, size_t msglen)
{
	const struct ns_ops ops = { .release_extents = release_extents,
				    .replay_progress = progress_fn ? replay_progress : NULL };
	struct famfs_mlog_result res;
	int err;

	fs->ns = ns_new(&ops, fs);
	if (!fs->ns)
		return fbs_fail(msg, msglen, -ENOMEM, "out of memory");
	if (!fs->owner)
		ns_set_follower(fs->ns);	/* the owner reuses what it frees */
	fs->devtab = fs->sb.devs;
	err = ns_replay(fs->ns, fs->cur, fs->area.len, fs->sb.fs_uuid, &fs->devtab, &res);
	if (err == -ENOMEM || err == -EPROTONOSUPPORT)
		return fbs_fail(msg, msglen, err, "%s: metadata log: %s",
				fs->devs[fs->sb.log_dev].path, res.msg);
	/* no log header: nothing to trust, in either mode */
	if (err && res.end_off < sizeof(struct famfs_log_header))
		return fbs_fail(msg, msglen, -EUCLEAN, "%s: metadata log: %s",
				fs->devs[fs->sb.log_dev].path, res.msg);
	if (res.tail == FAMFS_MLOG_CORRUPT) {
		if (fs->owner)
			return fbs_fail(msg, msglen, -EUCLEAN,
					"%s: the metadata log is corrupt, refusing to write to it: %s",
					fs->devs[fs->sb.log_dev].path, res.msg);
		fs->corrupt = true;
		pr_warn("%s: read-only up to the corruption: %s", fs->devs[fs->sb.log_dev].path,
			res.msg);
		fail(-EUCLEAN, "metadata log corrupt: %s", res.msg);
	}
	fs->next_seq = res.next_seq;
	fs->end_off = res.end_off;
	if (!fs->owner)
		return 0;
	err = famfs_mlog_writer_init(&fs->w, fs->cur, fs->area.len, fs->sb.fs_uuid, &res);
	if (err)
		return fbs_fail(msg, msglen, err, "metadata log: cannot append: %s", strerror(-err));
	if (res.tail == FAMFS_MLOG_TORN) {
		/* the writer zeroed the torn append: make that durable first */
		err = log_sync(fs, fs->w.off, fs->w.len);
		if (err)
			return fbs_fail(msg, msglen, err, "metadata log: msync: %s", strerror(-err));
		pr_info("metadata log: discarded a torn append at offset %llu (zeroed up to the log's end): %s",
			(unsigned long long)fs->w.off, res.msg);
	}
	fs->journal = (struct ns_journal){ .append = journal_append, .ctx = fs };
	fs->reserve = fs_log_reserve(fs->area.len);
	compact_plan(fs);
	return 0;
}

int fs_open_log(const char *const *devs, unsigned int ndevs, unsigned int flags,
		struct fs **out, char *msg, size_t msglen)
{
	struct fs *fs;
	int err;

	*out = NULL;
	if (flags & ~(FS_OPEN_OWNER | FS_OPEN_TAKEOVER) ||
	    (flags & (FS_OPEN_OWNER | FS_OPEN_TAKEOVER)) == FS_OPEN_TAKEOVER)
		return fbs_fail(msg, msglen, -EINVAL, "unknown flags %#x", flags);
	if (!ndevs || ndevs > FAMFS_MAX_DEVS)
		return fbs_fail(msg, msglen, -ENXIO, "%u devices given: 1 to %d", ndevs,
				FAMFS_MAX_DEVS);
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return fbs_fail(msg, msglen, -ENOMEM, "out of memory");
	pthread_mutex_init(&fs->lock, NULL);
	fs->policy.striped_min = FS_STRIPED_MIN_ALLOC;
	fs->policy.pages_ahead_write = FS_PAGES_AHEAD_WRITE;
	snprintf(fs->fault, sizeof(fs->fault), "%s",
		 getenv("FAMFS_FAULT") ? getenv("FAMFS_FAULT") : "");
	if (strchr(fs->fault, '@')) {
		fs->fault_nth = strtoul(strchr(fs->fault, '@') + 1, NULL, 10);
		*strchr(fs->fault, '@') = '\0';
	}
	fs->falloc_max_new = FS_FALLOC_MAX_NEW;
	if (!strcmp(fs->fault, "falloc_small")) {
		/* a test's large fallocate without GiB of zeroing under TCG */
		fs->falloc_max_new = FS_FALLOC_SMALL_MAX_NEW;
		pr_info("FAMFS_FAULT=falloc_small: one fallocate takes at most %llu MiB",
			(unsigned long long)(fs->falloc_max_new >> 20));
	}
	fs->owner = flags & FS_OPEN_OWNER;
	fs->takeover = flags & FS_OPEN_TAKEOVER;
	fs->page = sysconf(_SC_PAGESIZE);
	err = open_devices(fs, devs, ndevs, msg, msglen);
	if (!err)
		err = read_super(fs, msg, msglen);
	if (!err)
		err = map_log(fs, msg, msglen);
	if (err) {
		fs_close(fs);
		return err;
	}
	*out = fs;
	return 0;
}

size_t fs_log_hint(const struct fs *fs)
{
	return famfs_mlog_count_hint(fs->cur, fs->area.len);
}

int fs_open_replay(struct fs *fs, char *msg, size_t msglen)
{
	int err;

	if (fs->ns)
		return fbs_fail(msg, msglen, -EALREADY, "replayed already");
	err = replay(fs, msg, msglen);
	if (!err)
		err = check_added(fs, msg, msglen);
	if (!err)
		err = build_alloc(fs, &fs->alloc, msg, msglen);
	if (err)
		return err;
	fs->alloc_ready = true;
	if (!fs->corrupt && msg && msglen)
		msg[0] = '\0';
	else if (msg && msglen)
		snprintf(msg, msglen, "%s", fs_errbuf);
	return 0;
}

int fs_open(const char *const *devs, unsigned int ndevs, unsigned int flags,
	    struct fs **out, char *msg, size_t msglen)
{
	int err = fs_open_log(devs, ndevs, flags, out, msg, msglen);

	if (!err)
		err = fs_open_replay(*out, msg, msglen);
	if (err && *out) {
		fs_close(*out);
		*out = NULL;
	}
	return err;
}

void fs_close(struct fs *fs)
{
	unsigned int i;
	int err;

	if (!fs)
		return;
	if (fs->owner && fs->alloc_ready) {
		err = fs_size_sync_all(fs);
		if (err)
			pr_err("unmount: file sizes not journaled, they come back as last synced: %s",
			       fs_msg());
	}
	free(fs->dirty);
	free(fs->cool);
	fs->alloc_ready = false;	/* ns_free releases nothing, but be sure */
	ns_free(fs->ns);
	if (fs->alloc.ndevs)
		fbs_alloc_fini(&fs->alloc);
	if (fs->map)
		munmap(fs->map, fs->map_len);
	owner_release(fs);
	for (i = 0; i < fs->ndevs; i++) {
		if (fs->devs[i].fd >= 0)
			close(fs->devs[i].fd);
		if (fs->devs[i].zfd >= 0)
			close(fs->devs[i].zfd);
		free(fs->devs[i].path);
	}
	free(fs->lay.simple);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
}

struct ns *fs_ns(struct fs *fs)
{
	return fs->ns;
}

bool fs_is_owner(const struct fs *fs)
{
	return fs->owner;
}

/* The devices of one kind (FAMFS_DEV_*), a mask for fbs_alloc_only(). */
static __u32 kind_mask(const struct fs *fs, __u32 kind)
{
	__u32 mask = 0, k;

	for (k = 0; k < fs->devtab.ndevs && k < FBS_ALLOC_MAX_DEVS; k++)
		if (fs->devtab.devs[k].kind == kind)
			mask |= 1U << k;
	return mask;
}

/* Where files without a class go: memory if there is any. */
static __u32 default_kind(const struct fs *fs)
{
	return kind_mask(fs, FAMFS_DEV_DAX) ? FAMFS_DEV_DAX : FAMFS_DEV_BLOCK;
}

bool fs_file_block(const struct fs *fs, __u64 ino)
{
	struct ns_attr a;

	if (!ns_getattr(fs->ns, ino, &a) && a.kind)
		return a.kind == FAMFS_DEV_BLOCK;
	return default_kind(fs) == FAMFS_DEV_BLOCK;
}

/* New space for @ino only on devices of its kind: the kernel refuses the other. */
static void alloc_kind(struct fs *fs, __u64 ino)
{
	fbs_alloc_only(&fs->alloc, kind_mask(fs, fs_file_block(fs, ino) ? FAMFS_DEV_BLOCK :
								      FAMFS_DEV_DAX));
}

unsigned int fs_ndevs(const struct fs *fs)
{
	return fs->ndevs;
}

int fs_dev_fd(const struct fs *fs, unsigned int dev)
{
	return dev < fs->ndevs ? fs->devs[dev].fd : -1;
}

const struct famfs_mlog_dev *fs_dev(const struct fs *fs, unsigned int dev)
{
	return dev < fs->devtab.ndevs ? &fs->devtab.devs[dev] : NULL;
}

/* -------------------------------------------------------------------- */
/* Layout policies (STRIPE entries, ns_attr) */

/* The log's rules (famfs_mlog_stripe_check) for @st, into *@shift; NULL is simple. */
static int stripe_check(const struct fs *fs, const struct fs_stripe *st, __u32 *shift)
{
	char why[160];

	*shift = 0;
	if (!st || !st->nstrips)
		return 0;
	if (st->chunk_size < MIN_CHUNK || st->chunk_size > MAX_CHUNK ||
	    st->chunk_size & (st->chunk_size - 1))
		return fail(-EINVAL, "chunk size %llu: a power of two from 2 MiB to 256 MiB",
			    (unsigned long long)st->chunk_size);
	*shift = (__u32)__builtin_ctzll(st->chunk_size);
	if (famfs_mlog_stripe_check(st->nstrips, *shift, fs->ndevs, why, sizeof(why)))
		return fail(-EINVAL, "%s", why);
	return 0;
}

/* The policy of @a, if it has one (nstrips 0: simple). */
static bool attr_stripe(const struct ns_attr *a, struct fs_stripe *st)
{
	if (!a->has_stripe)
		return false;
	st->nstrips = a->nstrips;
	st->chunk_size = a->nstrips ? 1ULL << a->chunk_shift : 0;
	return true;
}

int fs_get_stripe(struct fs *fs, __u64 ino, struct fs_stripe *st)
{
	struct ns_attr a;
	int err = ns_getattr(fs->ns, ino, &a);

	if (err)
		return err;
	return attr_stripe(&a, st) ? 0 : -ENODATA;
}

/* -------------------------------------------------------------------- */
/* Owner operations */

static int owner_lock(struct fs *fs)
{
	int err;

	if (!fs->owner)
		return fail(-EROFS, "read-only: this instance does not own the log");
	pthread_mutex_lock(&fs->lock);
	fs->journal_err = 0;
	err = owner_check(fs);
	if (err)
		pthread_mutex_unlock(&fs->lock);
	return err;
}

/* The message for a failure the journal did not explain already. */
static int op_done(struct fs *fs, int err, const char *what, const char *name)
{
	if (err && err != fs->journal_err)
		fail(err, "%s%s%s: %s", what, name ? " " : "", name ? name : "", strerror(-err));
	if (!err)
		compact_maybe(fs);
	pthread_mutex_unlock(&fs->lock);
	return err;
}

int fs_mkdir(struct fs *fs, __u64 parent, const char *name, const struct ns_cred *cred,
	     __u64 *ino)
{
	int err = owner_lock(fs);

	if (err)
		return err;
	err = ns_mkdir(fs->ns, &fs->journal, parent, name, cred, ino);
	return op_done(fs, err, "mkdir", name);
}

/* Log room for a CREATE of @name and a STRIPE: both are written or neither. */
static int create_room(struct fs *fs, __u64 parent, const char *name)
{
	struct famfs_mlog_entry c, st;
	ssize_t a, b;

	if (strnlen(name, FAMFS_NAME_MAX + 1) > FAMFS_NAME_MAX)
		return 0;	/* ns_create() refuses it */
	famfs_mlog_entry_init(&c);
	c.type = FAMFS_LOG_CREATE;
	c.mknod.parent = parent;
	c.mknod.ino = FAMFS_ROOT_INO + 1;	/* any: the size does not depend on it */
	strcpy(c.name, name);
	famfs_mlog_entry_init(&st);
	st.type = FAMFS_LOG_STRIPE;
	st.stripe.ino = c.mknod.ino;
	a = famfs_mlog_entry_size(&c);
	b = famfs_mlog_entry_size(&st);
	return a > 0 && b > 0 ? log_room(fs, a + b) : 0;
}

int fs_create(struct fs *fs, __u64 parent, const char *name, const struct ns_cred *cred,
	      const struct fs_stripe *stripe, __u64 *ino)
{
	struct fs_stripe inherited = { 0 };
	__u64 new_ino = 0;
	struct ns_attr a;
	__u32 shift;
	int err = owner_lock(fs);

	if (err)
		return err;
	err = stripe_check(fs, stripe, &shift);
	if (!err && stripe)
		err = create_room(fs, parent, name);
	if (err) {
		pthread_mutex_unlock(&fs->lock);
		return err;
	}
	err = ns_create(fs->ns, &fs->journal, parent, name, cred, &new_ino);
	/* the directory's default came with the CREATE; another needs a STRIPE */
	if (!err && stripe) {
		err = ns_getattr(fs->ns, new_ino, &a);
		if (!err)
			attr_stripe(&a, &inherited);
		if (!err && (inherited.nstrips != stripe->nstrips ||
			     (stripe->nstrips && inherited.chunk_size != stripe->chunk_size)))
			err = ns_set_stripe(fs->ns, &fs->journal, new_ino, stripe->nstrips, shift);
		if (err)
			pr_err("ino %llu: created, but not with its layout policy: %s",
			       (unsigned long long)new_ino, strerror(-err));
	}
	if (!err && ino)
		*ino = new_ino;
	return op_done(fs, err, "create", name);
}

int fs_symlink(struct fs *fs, __u64 parent, const char *name, const char *target,
	       const struct ns_cred *cred, __u64 *ino)
{
	int err = owner_lock(fs);

	if (err)
		return err;
	err = ns_symlink(fs->ns, &fs->journal, parent, name, target, cred, ino);
	return op_done(fs, err, "symlink", name);
}

int fs_unlink(struct fs *fs, __u64 parent, const char *name)
{
	int err = owner_lock(fs);

	if (err)
		return err;
	err = ns_unlink(fs->ns, &fs->journal, parent, name);
	return op_done(fs, err, "unlink", name);
}

int fs_link(struct fs *fs, __u64 ino, __u64 new_parent, const char *new_name)
{
	ssize_t room;
	int err = owner_lock(fs);

	if (err)
		return err;
	/* a tmpfile takes several entries: a full log refuses them all */
	room = ns_link_room(fs->ns, ino, new_parent, new_name);
	if (room > 0 && log_room(fs, room)) {
		pthread_mutex_unlock(&fs->lock);
		return -ENOSPC;		/* log_room() says why */
	}
	err = room < 0 ? (int)room : ns_link(fs->ns, &fs->journal, ino, new_parent, new_name);
	return op_done(fs, err, "link", new_name);
}

int fs_tmpfile(struct fs *fs, __u64 parent, const struct ns_cred *cred, __u64 *ino)
{
	int err = owner_lock(fs);

	if (err)
		return err;
	err = ns_tmpfile(fs->ns, parent, cred, ino);
	/* its kind is fixed now, in the kernel: a link elsewhere keeps it */
	if (!err)
		ns_tmpfile_kind(fs->ns, *ino, default_kind(fs));
	return op_done(fs, err, "tmpfile", NULL);
}

int fs_rmdir(struct fs *fs, __u64 parent, const char *name)
{
	int err = owner_lock(fs);

	if (err)
		return err;
	err = ns_rmdir(fs->ns, &fs->journal, parent, name);
	return op_done(fs, err, "rmdir", name);
}

int fs_rename(struct fs *fs, __u64 old_parent, const char *old_name, __u64 new_parent,
	      const char *new_name, unsigned int flags)
{
	int err = owner_lock(fs);

	if (err)
		return err;
	err = ns_rename(fs->ns, &fs->journal, old_parent, old_name, new_parent, new_name,
			flags);
	return op_done(fs, err, "rename", old_name);
}

/* ---- sizes that writes move: in memory, journaled when they must be durable ---- */

size_t fs_log_reserve(__u64 log_len)
{
	__u64 r = log_len / FS_LOG_RESERVE_DIV;

	return r < FS_LOG_RESERVE_MIN ? FS_LOG_RESERVE_MIN :
	       r > FS_LOG_RESERVE_MAX ? FS_LOG_RESERVE_MAX : r;
}

static ssize_t dirty_find(const struct fs *fs, __u64 ino)
{
	size_t i;

	for (i = 0; i < fs->ndirty; i++)
		if (fs->dirty[i] == ino)
			return i;
	return -1;
}

static void dirty_drop(struct fs *fs, __u64 ino)
{
	ssize_t i = dirty_find(fs, ino);

	if (i >= 0)
		fs->dirty[i] = fs->dirty[--fs->ndirty];
}

int fs_size_grow(struct fs *fs, __u64 ino, __u64 size)
{
	struct ns_attr a;
	__u64 *n;
	int err = owner_lock(fs);

	if (err)
		return err;
	err = ns_getattr(fs->ns, ino, &a);
	if (!err && !S_ISREG(a.mode))
		err = -EINVAL;
	if (err || size <= a.size)
		goto out;
	if (a.nlink && dirty_find(fs, ino) < 0) {
		if (fs->ndirty == fs->dirty_cap) {
			n = realloc(fs->dirty, (fs->dirty_cap * 2 + 16) * sizeof(*n));
			if (!n) {
				err = -ENOMEM;
				goto out;
			}
			fs->dirty = n;
			fs->dirty_cap = fs->dirty_cap * 2 + 16;
		}
		fs->dirty[fs->ndirty++] = ino;
	}
	err = ns_set_size_mem(fs->ns, ino, size);
out:
	return op_done(fs, err, "size of ino", NULL);
}

/* Under the lock: journal @ino's size if it is in memory only. */
static int size_sync_locked(struct fs *fs, __u64 ino)
{
	struct ns_setattr sa = { .valid = FAMFS_SETATTR_SIZE };
	struct ns_attr a;
	int err;

	if (dirty_find(fs, ino) < 0)
		return 0;
	err = ns_getattr(fs->ns, ino, &a);
	if (err == -ENOENT || (!err && !a.nlink)) {
		dirty_drop(fs, ino);	/* gone, or an orphan: its DELETE is in the log */
		return 0;
	}
	if (err)
		return err;
	sa.size = a.size;
	fs->size_sync = true;
	err = ns_setattr(fs->ns, &fs->journal, ino, &sa);
	fs->size_sync = false;
	if (!err)
		dirty_drop(fs, ino);
	return err;
}

int fs_size_sync(struct fs *fs, __u64 ino)
{
	int err = owner_lock(fs);

	if (err)
		return err;
	err = size_sync_locked(fs, ino);
	return op_done(fs, err, "journaling the size of a file", NULL);
}

int fs_size_sync_all(struct fs *fs)
{
	int err = owner_lock(fs), e;

	if (err)
		return err;
	/* each success drops its own: walk from the end */
	while (fs->ndirty) {
		e = size_sync_locked(fs, fs->dirty[fs->ndirty - 1]);
		if (e) {
			err = err ? err : e;
			fs->ndirty--;	/* keep going: the others may fit */
		}
	}
	return op_done(fs, err, "journaling file sizes", NULL);
}

size_t fs_size_dirty(struct fs *fs)
{
	size_t n;

	pthread_mutex_lock(&fs->lock);
	n = fs->ndirty;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

/* ---- checkpoints: the live namespace as a new log (include/FORMAT.md) ---- */

static int load_layout(struct fs *fs, __u64 ino);

/* A set of inode numbers: the hard-linked files written already. */
struct inoset {
	__u64 *slot;
	size_t mask, n;
};

static int inoset_add(struct inoset *s, __u64 ino)	/* 1: was there */
{
	size_t i;

	if (2 * (s->n + 1) > s->mask) {
		struct inoset g = { .mask = s->mask ? 2 * s->mask + 1 : 255 };

		g.slot = calloc(g.mask + 1, sizeof(*g.slot));
		if (!g.slot)
			return -ENOMEM;
		for (i = 0; s->mask && i <= s->mask; i++)
			if (s->slot[i])
				inoset_add(&g, s->slot[i]);
		free(s->slot);
		*s = g;
	}
	for (i = (ino * 0x9E3779B97F4A7C15ULL) & s->mask; s->slot[i]; i = (i + 1) & s->mask)
		if (s->slot[i] == ino)
			return 1;
	s->slot[i] = ino;
	s->n++;
	return 0;
}

struct ckpt {
	struct fs *fs;
	struct famfs_mlog_writer w;
	struct famfs_mlog_entry e;
	struct inoset linked;
	__u64 *queue;		/* directories to walk */
	size_t qhead, qlen, qcap;
	struct ckpt_child {
		char *name;
		__u64 ino;
	} *kids;
	size_t nkids, kcap;
	int err;
};

static int ckpt_put(struct ckpt *c)
{
	int err = famfs_mlog_append(&c->w, &c->e);

	if (err == -ENOSPC)
		return fail(err, "checkpoint: the live namespace does not fit in %zu bytes of log",
			    c->w.len);
	if (err)
		return fail(err, "checkpoint: %s entry refused: %s",
			    famfs_mlog_type_name(c->e.type), strerror(-err));
	return 0;
}

static void ckpt_entry(struct ckpt *c, enum famfs_log_type type)
{
	famfs_mlog_entry_release(&c->e);
	famfs_mlog_entry_init(&c->e);
	c->e.type = type;
}

static int ckpt_kid(void *ctx, const struct ns_dirent *d)
{
	struct ckpt *c = ctx;
	struct ckpt_child *n;

	if (!strcmp(d->name, ".") || !strcmp(d->name, ".."))
		return 0;
	if (c->nkids == c->kcap) {
		n = realloc(c->kids, (c->kcap * 2 + 64) * sizeof(*n));
		if (!n)
			return c->err = -ENOMEM;
		c->kids = n;
		c->kcap = c->kcap * 2 + 64;
	}
	c->kids[c->nkids].name = strdup(d->name);
	if (!c->kids[c->nkids].name)
		return c->err = -ENOMEM;
	c->kids[c->nkids++].ino = d->ino;
	return 0;
}

static int ckpt_queue(struct ckpt *c, __u64 ino)
{
	__u64 *n;

	if (c->qlen == c->qcap) {
		n = realloc(c->queue, (c->qcap * 2 + 64) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		c->queue = n;
		c->qcap = c->qcap * 2 + 64;
	}
	c->queue[c->qlen++] = ino;
	return 0;
}

/* A regular file's CREATE with its extents, ALLOCs for what one entry cannot hold. */
static int ckpt_file(struct ckpt *c, __u64 parent, const char *name, const struct ns_attr *a)
{
	struct ns_layout *l = &c->fs->lay;
	__u32 done, n;
	int err = load_layout(c->fs, a->ino);

	if (err)
		return err;
	ckpt_entry(c, FAMFS_LOG_CREATE);
	c->e.mknod.parent = parent;
	c->e.mknod.ino = a->ino;
	c->e.mknod.size = a->size;
	c->e.mknod.time = a->mtime;
	c->e.mknod.mode = a->mode & 07777;
	c->e.mknod.uid = a->uid;
	c->e.mknod.gid = a->gid;
	strcpy(c->e.name, name);
	/* the entry only reads them: lent, taken back before the next release */
	c->e.nileave = l->nileave;
	c->e.ileave = l->ileave;
	n = l->nsimple < FAMFS_LOG_MAX_SIMPLE ? l->nsimple : FAMFS_LOG_MAX_SIMPLE;
	c->e.nsimple = n;
	c->e.simple = l->simple;
	err = ckpt_put(c);
	for (done = n; !err && done < l->nsimple; done += n) {
		n = l->nsimple - done < FAMFS_LOG_MAX_SIMPLE ? l->nsimple - done :
							      FAMFS_LOG_MAX_SIMPLE;
		c->e.type = FAMFS_LOG_ALLOC;
		c->e.alloc.ino = a->ino;
		c->e.nileave = 0;
		c->e.nsimple = n;
		c->e.simple = l->simple + done;
		err = ckpt_put(c);
	}
	c->e.simple = NULL;
	c->e.ileave = NULL;
	c->e.nsimple = c->e.nileave = 0;
	return err;
}

/* One name of the tree: the inode's entry, or a LINK if it was written already. */
static int ckpt_name(struct ckpt *c, __u64 parent, const char *name, __u64 ino)
{
	struct ns_attr a;
	ssize_t n;
	int err = ns_getattr(c->fs->ns, ino, &a);

	if (err)
		return fail(err, "checkpoint: ino %llu (%s): %s", (unsigned long long)ino, name,
			    strerror(-err));
	if (!S_ISDIR(a.mode) && a.nlink > 1) {
		err = inoset_add(&c->linked, ino);
		if (err < 0)
			return err;
		if (err) {
			ckpt_entry(c, FAMFS_LOG_LINK);
			c->e.link.parent = parent;
			c->e.link.ino = ino;
			strcpy(c->e.name, name);
			return ckpt_put(c);
		}
	}
	if (S_ISREG(a.mode))
		return ckpt_file(c, parent, name, &a);
	ckpt_entry(c, S_ISDIR(a.mode) ? FAMFS_LOG_MKDIR : FAMFS_LOG_SYMLINK);
	c->e.mknod.parent = parent;
	c->e.mknod.ino = ino;
	c->e.mknod.time = a.mtime;
	c->e.mknod.mode = a.mode & 07777;
	c->e.mknod.uid = a.uid;
	c->e.mknod.gid = a.gid;
	strcpy(c->e.name, name);
	if (S_ISLNK(a.mode)) {
		n = ns_readlink(c->fs->ns, ino, c->e.target, FAMFS_SYMLINK_MAX);
		if (n <= 0 || n > FAMFS_SYMLINK_MAX)
			return fail(-EIO, "checkpoint: symlink ino %llu unreadable",
				    (unsigned long long)ino);
		c->e.target[n] = '\0';
		c->e.mknod.size = n;
	}
	err = ckpt_put(c);
	if (!err && S_ISDIR(a.mode))
		err = ckpt_queue(c, ino);
	return err;
}

static bool time_eq(const struct famfs_mlog_time *x, const struct famfs_mlog_time *y)
{
	return x->sec == y->sec && x->nsec == y->nsec;
}

/* After every name: the layout policies (none inherited while creating). */
static int ckpt_stripe(void *ctx, const struct ns_attr *a)
{
	struct ckpt *c = ctx;

	if (!a->nlink && a->ino != FAMFS_ROOT_INO)
		return 0;
	if (a->kind) {
		ckpt_entry(c, FAMFS_LOG_CLASS);
		c->e.klass.ino = a->ino;
		c->e.klass.kind = a->kind;
		if (ckpt_put(c))
			return c->err;
	}
	if (!a->has_stripe)
		return 0;
	ckpt_entry(c, FAMFS_LOG_STRIPE);
	c->e.stripe.ino = a->ino;
	c->e.stripe.nstrips = a->nstrips;
	c->e.stripe.chunk_shift = a->chunk_shift;
	return c->err = ckpt_put(c);
}

/* After the names: every extended attribute of an inode with a name. */
static int ckpt_xattr(void *ctx, __u64 ino, const char *name, const void *value, __u32 len)
{
	struct ckpt *c = ctx;
	int err;

	ckpt_entry(c, FAMFS_LOG_XATTR);
	c->e.xattr.ino = ino;
	c->e.xattr.value_len = len;
	snprintf(c->e.name, sizeof(c->e.name), "%s", name);
	/* lent, taken back before the next release */
	c->e.value = (__u8 *)value;
	err = ckpt_put(c);
	c->e.value = NULL;
	return err;
}

/*
 * Last, the times the creates did not give: a directory's (its children's
 * creates moved them), the root's attributes, a file's that differ.
 */
static int ckpt_times(void *ctx, const struct ns_attr *a)
{
	struct ckpt *c = ctx;
	bool root = a->ino == FAMFS_ROOT_INO;

	if (!a->nlink && !root)
		return 0;	/* an orphan: its DELETE is in the old log already */
	if (!S_ISDIR(a->mode) && time_eq(&a->atime, &a->mtime) &&
	    time_eq(&a->ctime, &a->mtime))
		return 0;
	ckpt_entry(c, FAMFS_LOG_SETATTR);
	c->e.setattr.ino = a->ino;
	c->e.setattr.valid = FAMFS_SETATTR_ATIME | FAMFS_SETATTR_MTIME | FAMFS_SETATTR_CTIME;
	if (root)
		c->e.setattr.valid |= FAMFS_SETATTR_MODE | FAMFS_SETATTR_UID | FAMFS_SETATTR_GID;
	c->e.setattr.mode = root ? a->mode & 07777 : 0;
	c->e.setattr.uid = root ? a->uid : 0;
	c->e.setattr.gid = root ? a->gid : 0;
	c->e.setattr.atime = a->atime;
	c->e.setattr.mtime = a->mtime;
	c->e.setattr.ctime = a->ctime;
	return c->err = ckpt_put(c);
}

/* Under the lock: every live inode as entries into c->w. */
static int ckpt_build(struct ckpt *c)
{
	struct fs *fs = c->fs;
	struct ns_statfs st;
	size_t k;
	__u32 d;
	int err;

	ns_statfs(fs->ns, &st);
	ckpt_entry(c, FAMFS_LOG_CKPT);
	c->e.ckpt.max_ino = st.max_ino;
	err = ckpt_put(c);
	for (d = fs->sb.devs.ndevs; !err && d < fs->devtab.ndevs; d++) {
		ckpt_entry(c, FAMFS_LOG_DEVADD);
		c->e.devadd.index = d;
		c->e.devadd.dev = fs->devtab.devs[d];
		err = ckpt_put(c);
	}
	if (!err)
		err = ckpt_queue(c, FAMFS_ROOT_INO);
	/* breadth first: a directory's entry comes before its children's */
	while (!err && c->qhead < c->qlen) {
		__u64 dir = c->queue[c->qhead++];

		c->nkids = 0;
		c->err = 0;
		err = ns_readdir(fs->ns, dir, 0, ckpt_kid, c);
		if (!err)
			err = c->err;
		for (k = 0; k < c->nkids; k++) {
			if (!err)
				err = ckpt_name(c, dir, c->kids[k].name, c->kids[k].ino);
			free(c->kids[k].name);
		}
	}
	c->err = 0;
	if (!err)
		err = ns_foreach_inode(fs->ns, ckpt_stripe, c);
	if (!err)
		err = ns_foreach_xattr(fs->ns, ckpt_xattr, c);
	if (!err)
		err = ns_foreach_inode(fs->ns, ckpt_times, c);
	return err;
}

/* Inodes a replay of the checkpoint gives, against the live ones. */
static int ckpt_verify(struct fs *fs, const void *buf, size_t len)
{
	const struct ns_ops ops = { 0 };
	struct famfs_mlog_devtab tab = fs->sb.devs;
	struct famfs_mlog_result res;
	struct ns_statfs live, got;
	struct ns *ns = ns_new(&ops, NULL);
	int err;

	if (!ns)
		return -ENOMEM;
	err = ns_replay(ns, buf, len, fs->sb.fs_uuid, &tab, &res);
	ns_statfs(fs->ns, &live);
	ns_statfs(ns, &got);
	ns_free(ns);
	if (err)
		return fail(-EIO, "checkpoint: its own replay fails: %s", res.msg);
	if (res.tail != FAMFS_MLOG_END || got.inodes != live.inodes - live.orphans ||
	    got.max_ino != live.max_ino || tab.ndevs != fs->devtab.ndevs)
		return fail(-EIO, "checkpoint: replays to %llu inodes (max %llu), the namespace has %llu (max %llu)",
			    (unsigned long long)got.inodes, (unsigned long long)got.max_ino,
			    (unsigned long long)(live.inodes - live.orphans),
			    (unsigned long long)live.max_ino);
	return 0;
}

/* msync of [@p, @p + @len) of the mapped region */
static int region_sync(struct fs *fs, unsigned char *p, size_t len)
{
	uintptr_t from = (uintptr_t)p & ~(uintptr_t)(fs->page - 1);

	if (msync((void *)from, (uintptr_t)p + len - from, MS_SYNC))
		return -errno;
	return 0;
}

/*
 * The checkpoint, under the lock.  The new log is built and checked in
 * memory, then written into the other half of the region: its header
 * zeroed first (so the half never holds a valid header over other
 * bytes), the entries and zeros after them, then the header with the
 * next generation, each step durable before the next.  A crash before the
 * header leaves the old log current; after it, the new one.  Only then
 * does this instance append to the new log.
 */
static int compact_locked(struct fs *fs, struct fs_compact_result *r)
{
	size_t half = FAMFS_LOG_HALF(fs->sb.log_len);
	struct ckpt c = { .fs = fs };
	__u64 target;
	unsigned char *dst;
	void *buf = NULL;
	size_t mid;
	int err;

	memset(r, 0, sizeof(*r));
	r->old_used = fs->w.off;
	if (fs->log_failed)
		return fail(-EIO, "checkpoint: an msync of the log failed earlier: remount first");
	if (half < 2 * sizeof(struct famfs_log_header))
		return fail(-ENOSPC, "checkpoint: a %llu-byte log region is too small to hold two logs",
			    (unsigned long long)fs->sb.log_len);
	if (!fs->area.generation && fs->w.off > half)
		return fail(-ENOSPC, "checkpoint: this log (written before checkpoints, the whole region) is %llu of %llu bytes full; a checkpoint goes into its second half, which must be free",
			    (unsigned long long)fs->w.off, (unsigned long long)fs->sb.log_len);
	target = fs->area.generation && fs->area.off ? 0 : half;
	buf = calloc(1, half);
	if (!buf)
		return fail(-ENOMEM, "checkpoint: out of memory");
	famfs_mlog_entry_init(&c.e);
	c.w = (struct famfs_mlog_writer){ .log = buf, .len = half,
					  .off = sizeof(struct famfs_log_header),
					  .next_seq = fs->w.next_seq };
	memcpy(c.w.uuid, fs->sb.fs_uuid, sizeof(c.w.uuid));
	err = famfs_mlog_header(buf, half, fs->sb.fs_uuid, fs->w.next_seq,
				fs->area.generation + 1);
	if (!err)
		err = ckpt_build(&c);
	famfs_mlog_entry_release(&c.e);
	free(c.kids);
	free(c.queue);
	free(c.linked.slot);
	if (!err)
		err = ckpt_verify(fs, buf, half);
	if (err)
		goto out;

	dst = fs->log + target;
	memset(dst, 0, sizeof(struct famfs_log_header));
	err = region_sync(fs, dst, sizeof(struct famfs_log_header));
	if (err)
		goto io;
	fs_fault(fs, "compact_unhead");
	mid = max_u64(c.w.off / 2, sizeof(struct famfs_log_header));	/* the fault's point */
	memcpy(dst + sizeof(struct famfs_log_header),
	       (unsigned char *)buf + sizeof(struct famfs_log_header),
	       mid - sizeof(struct famfs_log_header));
	fs_fault(fs, "compact_mid");
	memcpy(dst + mid, (unsigned char *)buf + mid, half - mid);
	err = region_sync(fs, dst, half);
	if (err)
		goto io;
	fs_fault(fs, "compact_body");
	memcpy(dst, buf, sizeof(struct famfs_log_header));	/* the switch */
	err = region_sync(fs, dst, sizeof(struct famfs_log_header));
	if (err)
		goto io;
	fs_fault(fs, "compact_switched");

	fs->area = (struct famfs_mlog_area){ .off = target, .len = half,
					     .generation = fs->area.generation + 1 };
	fs->cur = dst;
	fs->w.log = dst;
	fs->w.len = half;
	fs->w.off = c.w.off;
	fs->w.next_seq = c.w.next_seq;
	ns_set_next_seq(fs->ns, c.w.next_seq);
	fs->reserve = fs_log_reserve(half);
	fs->ndirty = 0;		/* the checkpoint holds every size */
	compact_plan(fs);
	r->new_used = c.w.off;
	r->generation = fs->area.generation;
	pr_info("metadata log: checkpoint, generation %u: %llu bytes of log became %llu",
		r->generation, (unsigned long long)r->old_used, (unsigned long long)r->new_used);
	goto out;
io:
	/*
	 * The new log's header was never written (or not durably): the old
	 * log stays current.  But the region's bytes are in doubt: no more
	 * changes until a remount, as for a failed append.
	 */
	fs->log_failed = true;
	err = fail(-EIO, "checkpoint: msync of the log: %s; the old log stays, refusing changes until a remount",
		   strerror(-err));
out:
	free(buf);
	return err;
}

/*
 * When a checkpoint is due: the current log three quarters full; a log
 * written before checkpoints (the whole region) while its second half is
 * still free.  After one that left the log fuller than that, halfway to
 * the end of what is left, so that a namespace too large to shrink does
 * not checkpoint at every change.
 */
static void compact_plan(struct fs *fs)
{
	size_t half = FAMFS_LOG_HALF(fs->sb.log_len);
	__u64 at;

	if (!fs->owner || fs->no_auto_compact || half < 2 * sizeof(struct famfs_log_header)) {
		fs->compact_at = 0;
		return;
	}
	if (!fs->area.generation) {
		at = half - half / 8;
		fs->compact_at = fs->w.off < at ? at : 0;
		return;
	}
	at = fs->area.len / 4 * 3;
	if (fs->w.off >= at)
		at = fs->w.off + (fs->area.len - fs->w.off) / 2;
	fs->compact_at = at;
}

/* After an owner operation, under the lock: a checkpoint if one is due. */
static void compact_maybe(struct fs *fs)
{
	struct fs_compact_result r;
	int err;

	if (!fs->compact_at || fs->w.off < fs->compact_at || fs->log_failed)
		return;
	err = compact_locked(fs, &r);
	if (err) {
		pr_warn("metadata log %llu of %llu bytes full, checkpoint failed: %s",
			(unsigned long long)fs->w.off, (unsigned long long)fs->area.len, fs_msg());
		compact_plan(fs);
		/* not again before the log has grown by an eighth of what is left */
		if (fs->compact_at && fs->compact_at <= fs->w.off)
			fs->compact_at = fs->w.off + (fs->area.len - fs->w.off) / 8 + 1;
	}
}

void fs_set_auto_compact(struct fs *fs, bool on)
{
	pthread_mutex_lock(&fs->lock);
	fs->no_auto_compact = !on;
	compact_plan(fs);
	pthread_mutex_unlock(&fs->lock);
}

int fs_compact(struct fs *fs, struct fs_compact_result *r)
{
	int err = owner_lock(fs);

	if (err)
		return err;
	err = compact_locked(fs, r);
	pthread_mutex_unlock(&fs->lock);
	return err;
}

/* Regular file @ino's layout into fs->lay. */
static int load_layout(struct fs *fs, __u64 ino)
{
	int err = ns_layout_get(fs->ns, ino, &fs->lay);

	if (err == -EINVAL || err == -EISDIR)
		return fail(err, "ino %llu is not a regular file", (unsigned long long)ino);
	if (err)
		return fail(err, "ino %llu: %s", (unsigned long long)ino, strerror(-err));
	return 0;
}

/* End of the last byte the layout maps (0 if none). */
static __u64 layout_end(const struct ns_layout *l)
{
	__u64 end = 0;
	__u32 i;

	if (l->nsimple)
		end = l->simple[l->nsimple - 1].file_off + l->simple[l->nsimple - 1].len;
	for (i = 0; i < l->nileave; i++)
		end = max_u64(end, l->ileave[i].file_off + l->ileave[i].len);
	return end;
}

int fs_setattr(struct fs *fs, __u64 ino, const struct ns_setattr *sa)
{
	struct famfs_mlog_entry sz, pu;
	ssize_t need;
	__u64 cut = 0;
	bool punch = false;
	struct ns_attr a;
	int err = owner_lock(fs);

	if (err)
		return err;
	if (sa->valid & FAMFS_SETATTR_SIZE) {
		err = ns_getattr(fs->ns, ino, &a);
		if (!err && S_ISREG(a.mode) && sa->size < a.size) {
			err = load_layout(fs, ino);
			/* pages are for simple extents: interleaved ones keep whole chunks */
			cut = round_up(sa->size, fs->lay.nileave ? UNIT : gran_of(fs));
			punch = !err && layout_end(&fs->lay) > cut;
		}
	}
	if (!err && punch) {
		/* the SETATTR and the PUNCH both fit, or neither is written */
		famfs_mlog_entry_init(&sz);
		sz.type = FAMFS_LOG_SETATTR;
		sz.setattr.ino = ino;
		sz.setattr.valid = FAMFS_SETATTR_ALL;
		famfs_mlog_entry_init(&pu);
		pu.type = FAMFS_LOG_PUNCH;
		pu.punch.ino = ino;
		pu.punch.off = cut;
		pu.punch.len = FAMFS_LOG_TO_END;
		need = famfs_mlog_entry_size(&sz) + famfs_mlog_entry_size(&pu);
		err = need > 0 ? log_room(fs, need) : -EINVAL;
		if (err) {
			pthread_mutex_unlock(&fs->lock);
			return err;
		}
	}
	if (!err)
		err = ns_setattr(fs->ns, &fs->journal, ino, sa);
	if (!err && sa->valid & FAMFS_SETATTR_SIZE)
		dirty_drop(fs, ino);	/* the entry holds the size now */
	/* size first: a crash between leaves space past EOF, never a short map */
	if (!err && punch) {
		err = ns_punch(fs->ns, &fs->journal, ino, cut, FAMFS_LOG_TO_END);
		if (err)
			pr_err("ino %llu: truncated, but its space past %llu stays: %s",
			       (unsigned long long)ino, (unsigned long long)cut, strerror(-err));
	}
	return op_done(fs, err, "setattr", NULL);
}

int fs_set_stripe(struct fs *fs, __u64 ino, const struct fs_stripe *stripe)
{
	__u32 shift;
	int err = owner_lock(fs);

	if (err)
		return err;
	err = stripe_check(fs, stripe, &shift);
	if (err) {
		pthread_mutex_unlock(&fs->lock);
		return err;
	}
	err = ns_set_stripe(fs->ns, &fs->journal, ino, stripe ? stripe->nstrips : 0, shift);
	return op_done(fs, err, "set stripe", NULL);
}

int fs_set_class(struct fs *fs, __u64 ino, __u32 kind)
{
	struct ns_attr a;
	int err = owner_lock(fs);

	if (err)
		return err;
	err = ns_getattr(fs->ns, ino, &a);
	if (!err && kind != FAMFS_DEV_DAX && kind != FAMFS_DEV_BLOCK)
		err = fail(-EINVAL, "ino %llu: class kind %u", (unsigned long long)ino, kind);
	else if (!err && !kind_mask(fs, kind))
		err = fail(-EINVAL, "ino %llu: class %s, but the file system has no %s device",
			   (unsigned long long)ino, kind == FAMFS_DEV_DAX ? "memory" : "block",
			   kind == FAMFS_DEV_DAX ? "DAX" : "block");
	else if (!err && !S_ISDIR(a.mode))
		/*
		 * The kernel fixes a file's kind when it sets up the inode:
		 * a class set on a file it knows would not reach it.
		 */
		err = fail(-EINVAL, "ino %llu: a class is set on directories only",
			   (unsigned long long)ino);
	if (err) {
		pthread_mutex_unlock(&fs->lock);
		return err;
	}
	err = ns_set_class(fs->ns, &fs->journal, ino, kind);
	return op_done(fs, err, "set class", NULL);
}

int fs_xattr_set(struct fs *fs, __u64 ino, const char *name, const void *value, size_t size,
		 unsigned int flags)
{
	int err = owner_lock(fs);

	if (err)
		return err;
	err = ns_xattr_set(fs->ns, &fs->journal, ino, name, value, size, flags);
	return op_done(fs, err, "setxattr", name);
}

int fs_xattr_remove(struct fs *fs, __u64 ino, const char *name)
{
	int err = owner_lock(fs);

	if (err)
		return err;
	err = ns_xattr_remove(fs->ns, &fs->journal, ino, name);
	return op_done(fs, err, "removexattr", name);
}

/* -------------------------------------------------------------------- */
/* Allocation for writes */

/* File ranges the layout occupies, in whole units, sorted. */
struct span {
	__u64 start, end;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * The file's policy: its own (set, or its directory's at create), else
 * (a log from before STRIPE entries) the geometry of an interleaved last
 * extent.  @l: its layout, which the allocation paths hold already
 * (fs->lay); NULL reads it (fs_file_stripe()).
 */
static bool file_stripe(struct fs *fs, __u64 ino, const struct ns_layout *l,
			struct fs_stripe *st)
{
	const struct fmap_ileave_ext *last = NULL;
	struct ns_layout own = { 0 };
	struct ns_attr a;
	bool ok;
	__u32 i;

	if (!ns_getattr(fs->ns, ino, &a) && attr_stripe(&a, st))
		return st->nstrips;
	if (!l) {
		/* a directory or a symlink has no layout: no policy */
		if (ns_layout_get(fs->ns, ino, &own)) {
			free(own.simple);
			return false;
		}
		l = &own;
	}
	for (i = 0; i < l->nileave; i++)
		if (!last || l->ileave[i].file_off > last->file_off)
			last = &l->ileave[i];
	ok = last && last->file_off + last->len >= layout_end(l) &&
	     last->chunk_shift >= FBS_ALLOC_UNIT_SHIFT && last->nstrips <= fs->ndevs;
	if (ok) {
		st->nstrips = last->nstrips;
		st->chunk_size = 1ULL << last->chunk_shift;
	}
	free(own.simple);
	return ok;
}

bool fs_file_stripe(struct fs *fs, __u64 ino, struct fs_stripe *st)
{
	return file_stripe(fs, ino, NULL, st);
}

/* The extent of @l that maps @off, into @ext; false if none does. */
static bool covering(const struct ns_layout *l, __u64 off, struct fs_extent *ext)
{
	__u32 lo = 0, hi = l->nsimple, i;

	while (lo < hi) {
		__u32 mid = lo + (hi - lo) / 2;
		const struct fmap_simple_ext *x = &l->simple[mid];

		if (off < x->file_off) {
			hi = mid;
		} else if (off - x->file_off >= x->len) {
			lo = mid + 1;
		} else {
			if (ext) {
				memset(ext, 0, sizeof(*ext));
				ext->simple = *x;
			}
			return true;
		}
	}
	for (i = 0; i < l->nileave; i++)
		if (off >= l->ileave[i].file_off && off - l->ileave[i].file_off < l->ileave[i].len) {
			if (ext) {
				memset(ext, 0, sizeof(*ext));
				ext->ileave = true;
				ext->ileave_ext = l->ileave[i];
			}
			return true;
		}
	return false;
}

/* Does @l map anything of [start, end)? */
static bool maps_any(const struct ns_layout *l, __u64 start, __u64 end)
{
	__u32 i;

	for (i = 0; i < l->nsimple; i++)
		if (l->simple[i].file_off < end && l->simple[i].file_off + l->simple[i].len > start)
			return true;
	for (i = 0; i < l->nileave; i++)
		if (l->ileave[i].file_off < end && l->ileave[i].file_off + l->ileave[i].len > start)
			return true;
	return false;
}

/*
 * New space, in this order (DESIGN.md, "Fresh space"):
 *  1. fill_holes() reserves it in the allocator: memory only;
 *  2. new_space_fill() zeroes it on every device and makes the zeroes
 *     durable, with fs->lock dropped;
 *  3. new_space_commit() appends the ALLOC (durable when it returns);
 * and the caller (the daemon) then 4. updates the BPF map and 5. replies.
 * mkfs does not zero the data area and freed units keep their bytes, so
 * a crash at any step must leave either free space (1, 2: the log never
 * named it) or zeroed space a file owns (3 on), never a file over
 * another file's old bytes; a follower replaying the log in between sees
 * the same.  Any failure before 3 gives the reservation back.
 *
 * FAMFS_FAULT=<step> (read at fs_open(); fs_fault()) makes the process
 * _exit() at a step, for the crash tests: after_reserve, mid_zero (the
 * first megabyte zeroed), after_zero, after_alloc; the daemon adds
 * after_bpf.
 */

/* What one call allocates, until it is journaled or given back. */
struct new_space {
	struct fmap_simple_ext *simple;
	__u32 nsimple, cap;
	/* merged among themselves; one may continue an extent of the file */
	struct fmap_ileave_ext ileave[FMAP_MAX_ILEAVE];
	__u32 nileave;
	__u32 nileave_new;	/* those that continue none of the file's */
};

static void new_space_undo(struct fs *fs, struct new_space *got)
{
	if (fbs_alloc_free_simple(&fs->alloc, got->simple, got->nsimple) ||
	    fbs_alloc_free_ileave(&fs->alloc, got->ileave, got->nileave))
		pr_err("allocator: cannot give back what a failed allocation took");
	got->nsimple = 0;
	got->nileave = 0;
	got->nileave_new = 0;
}

#define ZERO_CHUNK	(1U << 20)
/* how often an allocation looks again when another thread filled its holes */
#define FILL_TRIES	8

/* The caller's fs_commit_lock (fs.h), taken once per call. */
struct commit_lock {
	const struct fs_commit_lock *cl;
	bool taken;
};

/* Never with fs->lock held: the caller's lock comes first in the order. */
static void commit_lock_take(struct commit_lock *c)
{
	if (c->cl && !c->taken)
		c->cl->lock(c->cl->ctx);
	c->taken = true;
}

/* Write zeroes over [off, off + len) of device @dev: whole units. */
static int zero_range(struct fs *fs, __u32 dev, __u64 off, __u64 len, const void *zeroes)
{
	const struct fs_device *d = &fs->devs[dev];
	int fd = d->zfd >= 0 ? d->zfd : d->fd;
	ssize_t n, w;

	while (len) {
		n = (ssize_t)min_u64(len, ZERO_CHUNK);
		w = pwrite(fd, zeroes, n, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w != n)
			return fail(w < 0 ? -errno : -EIO,
				    "%s: zeroing new space at %llu (%llu bytes left): %s", d->path,
				    (unsigned long long)off, (unsigned long long)len,
				    w < 0 ? strerror(errno) : "short write");
		off += n;
		len -= n;
		fs_fault(fs, "mid_zero");
	}
	return 0;
}

/*
 * Step 2: zero every device range @got reserved, then fdatasync() each
 * device written: O_DIRECT writes to pmem are on the media when they
 * return and the flush orders them; a buffered image file's pages go to
 * its disk.  Called without fs->lock (the reservation is @got's alone).
 */
static int new_space_zero(struct fs *fs, const struct new_space *got)
{
	bool touched[FAMFS_MAX_DEVS] = { false };
	const struct fs_device *d;
	void *zeroes;
	__u32 i, s;
	int err = 0;

	if (posix_memalign(&zeroes, 4096, ZERO_CHUNK))
		return fail(-ENOMEM, "out of memory");
	memset(zeroes, 0, ZERO_CHUNK);
	for (i = 0; i < got->nsimple && !err; i++) {
		err = zero_range(fs, got->simple[i].dev, got->simple[i].dev_off,
				 got->simple[i].len, zeroes);
		touched[got->simple[i].dev] = true;
	}
	for (i = 0; i < got->nileave && !err; i++)
		for (s = 0; s < got->ileave[i].nstrips && !err; s++) {
			const struct fmap_strip *st = &got->ileave[i].strips[s];

			err = zero_range(fs, st->dev, st->dev_off,
					 fbs_alloc_strip_len(&got->ileave[i]), zeroes);
			touched[st->dev] = true;
		}
	for (i = 0; i < fs->ndevs && !err; i++) {
		d = &fs->devs[i];
		if (touched[i] && fdatasync(d->zfd >= 0 ? d->zfd : d->fd))
			err = fail(-errno, "%s: making zeroed new space durable: %s", d->path,
				   strerror(errno));
	}
	free(zeroes);
	return err;
}

/*
 * Step 2 for what fill_holes() reserved in @got for @ino: called and
 * returning with fs->lock held, which it drops while it zeroes, so that
 * other owner operations do not wait for that; the caller's lock @c is
 * taken after the zeroing, before fs->lock again.  With the lock back, the
 * file must still have holes where @got goes (another thread may have
 * filled them: -EAGAIN, look again); fs->lay is the file's layout again.
 * On any failure @got goes back to the allocator.
 */
static int new_space_fill(struct fs *fs, __u64 ino, struct new_space *got,
			  struct commit_lock *c)
{
	__u32 i;
	int err;

	fs_fault(fs, "after_reserve");
	pthread_mutex_unlock(&fs->lock);
	err = new_space_zero(fs, got);
	if (!err)
		fs_fault(fs, "after_zero");
	commit_lock_take(c);
	pthread_mutex_lock(&fs->lock);
	fs->journal_err = 0;
	if (!err)
		err = load_layout(fs, ino);
	for (i = 0; !err && i < got->nsimple; i++)
		if (maps_any(&fs->lay, got->simple[i].file_off,
			     got->simple[i].file_off + got->simple[i].len))
			err = -EAGAIN;
	for (i = 0; !err && i < got->nileave; i++)
		if (maps_any(&fs->lay, got->ileave[i].file_off,
			     got->ileave[i].file_off + got->ileave[i].len))
			err = -EAGAIN;
	if (err == -EAGAIN)
		fail(err, "ino %llu: another allocation filled the same holes, %d times",
		     (unsigned long long)ino, FILL_TRIES);
	if (err)
		new_space_undo(fs, got);
	return err;
}

/*
 * Step 3: journal and apply what fill_holes() took for @ino (zeroed by
 * new_space_fill()); on failure it goes back to the allocator.  Nothing
 * taken: nothing to do.
 */
static int new_space_commit(struct fs *fs, __u64 ino, struct new_space *got)
{
	int err;

	if (!got->nsimple && !got->nileave)
		return 0;
	err = ns_alloc(fs->ns, &fs->journal, ino, got->simple, got->nsimple, got->ileave,
		       got->nileave);
	if (err) {
		new_space_undo(fs, got);
		if (err != fs->journal_err)
			fail(err, "ino %llu: the namespace refused the new extents: %s",
			     (unsigned long long)ino, strerror(-err));
	}
	return err;
}

/* The simple extent ending at @off: the last new one, or one of the file's. */
static const struct fmap_simple_ext *simple_before(const struct ns_layout *l,
						   const struct new_space *got, __u64 off)
{
	__u32 lo = 0, hi = l->nsimple;

	if (got->nsimple) {
		const struct fmap_simple_ext *x = &got->simple[got->nsimple - 1];

		return x->file_off + x->len == off ? x : NULL;
	}
	while (lo < hi) {	/* the last extent starting below @off */
		__u32 mid = lo + (hi - lo) / 2;

		if (l->simple[mid].file_off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && l->simple[lo - 1].file_off + l->simple[lo - 1].len == off)
		return &l->simple[lo - 1];
	return NULL;
}

static const struct fmap_ileave_ext *ileave_before(const struct ns_layout *l,
						   const struct new_space *got, __u64 off)
{
	__u32 i;

	for (i = 0; i < got->nileave; i++)
		if (got->ileave[i].file_off + got->ileave[i].len == off)
			return &got->ileave[i];
	for (i = 0; i < l->nileave; i++)
		if (l->ileave[i].file_off + l->ileave[i].len == off)
			return &l->ileave[i];
	return NULL;
}

static int alloc_simple(struct fs *fs, const struct ns_layout *l, struct new_space *got,
			__u64 start, __u64 len)
{
	const struct fmap_simple_ext *prev = simple_before(l, got, start);
	struct fmap_simple_ext prev_copy;
	__u32 room = FAMFS_LOG_MAX_SIMPLE - got->nsimple, base = got->nsimple, n = 0, i;
	int err;

	if (!room)
		return -E2BIG;
	if (got->cap < FAMFS_LOG_MAX_SIMPLE) {
		/* one buffer as large as an entry: no growing mid-allocation */
		struct fmap_simple_ext *p = realloc(got->simple, FAMFS_LOG_MAX_SIMPLE * sizeof(*p));

		if (!p)
			return -ENOMEM;
		got->simple = p;
		got->cap = FAMFS_LOG_MAX_SIMPLE;
	}
	if (prev) {
		prev_copy = *prev;
		prev = &prev_copy;
	}
	err = fbs_alloc_simple(&fs->alloc, start, len, prev, got->simple + base, room, &n);
	if (err)
		return err;
	/* join what this call got back to back; ns keeps the file's extents as logged */
	for (i = 0; i < n; i++) {
		struct fmap_simple_ext *x = &got->simple[base + i];

		if (got->nsimple && fbs_alloc_merge_simple(&got->simple[got->nsimple - 1], x))
			continue;
		got->simple[got->nsimple++] = *x;
	}
	return 0;
}

/*
 * Continue @prev (the interleaved extent ending at @start, the file's or
 * this call's) with [start, start + len): true when the allocator put
 * every strip right after @prev's, so that ns merges the two (readers
 * merge exact continuations, fmap_ileave_continues()) and the file keeps
 * its interleaved extent count.  Anything else is given back.
 */
static bool continue_ileave(struct fs *fs, const struct ns_layout *l, struct new_space *got,
			    const struct fs_stripe *st, __u64 start, __u64 len)
{
	const struct fmap_ileave_ext *prev = ileave_before(l, got, start);
	struct fmap_ileave_ext prev_copy, out;
	bool in_got;

	if (!prev)
		return false;
	in_got = prev >= got->ileave && prev < got->ileave + got->nileave;
	prev_copy = *prev;
	if (fbs_alloc_ileave(&fs->alloc, start, len, st->nstrips, st->chunk_size, &prev_copy,
			     &out))
		return false;
	if (!fmap_ileave_continues(&prev_copy, &out) ||
	    (!in_got && got->nileave >= FMAP_MAX_ILEAVE)) {
		if (fbs_alloc_free_ileave(&fs->alloc, &out, 1))
			pr_err("allocator: cannot give back an interleaved extent");
		return false;
	}
	if (in_got)
		got->ileave[prev - got->ileave].len += out.len;
	else
		got->ileave[got->nileave++] = out;
	return true;
}

/*
 * A new interleaved extent at @start, when it cannot continue one: @grown
 * bytes if they are free (at least the file's size, so that a file that
 * cannot grow in place still reaches a large size in FMAP_MAX_ILEAVE
 * extents), else @len.
 */
static int alloc_ileave(struct fs *fs, struct new_space *got, const struct fs_stripe *st,
			__u64 start, __u64 len, __u64 grown)
{
	struct fmap_ileave_ext *out = &got->ileave[got->nileave];
	int err = -ENOSPC;

	if (got->nileave >= FMAP_MAX_ILEAVE)
		return -EFBIG;	/* cannot be: fill_holes() counts */
	if (grown > len)
		err = fbs_alloc_ileave(&fs->alloc, start, grown, st->nstrips, st->chunk_size,
				       NULL, out);
	if (err == -ENOSPC)
		err = fbs_alloc_ileave(&fs->alloc, start, len, st->nstrips, st->chunk_size,
				       NULL, out);
	if (!err) {
		got->nileave++;
		got->nileave_new++;
	}
	return err;
}

/* File ranges the layout occupies, rounded out to @gran (units: interleaved), sorted, into *@out. */
static int occupied(const struct ns_layout *l, __u64 gran, struct span **out, __u32 *n)
{
	struct span *s = malloc(((size_t)l->nsimple + l->nileave + 1) * sizeof(*s));
	__u32 i, k = 0;

	if (!s)
		return -ENOMEM;
	for (i = 0; i < l->nsimple; i++)
		s[k++] = (struct span){ round_down(l->simple[i].file_off, gran),
					round_up(l->simple[i].file_off + l->simple[i].len, gran) };
	for (i = 0; i < l->nileave; i++)
		s[k++] = (struct span){ round_down(l->ileave[i].file_off, UNIT),
					round_up(l->ileave[i].file_off + l->ileave[i].len, UNIT) };
	qsort(s, k, sizeof(*s), span_cmp);
	*out = s;
	*n = k;
	return 0;
}

/*
 * The file range an allocation for [off, off + len) fills: whole stripes
 * of a striped file; else whole units, but with pages (FAMFS_SB_F_PAGES)
 * whole pages below the first unit boundary, so that a small file, and
 * the start of any file, costs its size; from 2 MiB on a file gets
 * congruent units that PMD faults map.  No overflow: the caller checked
 * off + len against FS_MAX_FILE_END.
 */
static void alloc_bounds(const struct fs *fs, const struct fs_stripe *st, __u64 off, __u64 len,
			 __u64 *start, __u64 *end)
{
	__u64 gran = st ? (__u64)st->nstrips * st->chunk_size : UNIT;

	*start = round_down(off, gran);
	*end = round_up(off + len, gran);
	if (st || gran_of(fs) == UNIT)
		return;
	if (off < UNIT)
		*start = round_down(off, FBS_ALLOC_PAGE);
	if (off + len <= UNIT)
		*end = round_up(off + len, FBS_ALLOC_PAGE);
}

/* Allocate every hole of [start, end), in file order, into @got. */
static int fill_holes(struct fs *fs, const struct ns_layout *l, const struct fs_stripe *st,
		      struct new_space *got, __u64 start, __u64 end)
{
	__u64 cur = start, mapped = 0, stripe = st ? (__u64)st->nstrips * st->chunk_size : UNIT;
	struct span *occ;
	__u32 n, i = 0;
	int err;

	err = occupied(l, gran_of(fs), &occ, &n);
	if (err)
		return err;
	for (__u32 k = 0; k < n; k++)
		mapped += occ[k].end - occ[k].start;
	while (cur < end && !err) {
		__u64 hole_end = end, next = UINT64_MAX;

		for (; i < n && occ[i].end <= cur; i++)
			;
		if (i < n && occ[i].start <= cur) {
			cur = occ[i].end;
			continue;
		}
		if (i < n) {
			next = occ[i].start;
			hole_end = min_u64(end, next);
		}
		if (st && continue_ileave(fs, l, got, st, cur, hole_end - cur)) {
			/* in place: one extent with the one before, whatever the count */
		} else if (st && l->nileave + got->nileave_new < FMAP_MAX_ILEAVE) {
			/* a new extent: at least as large as the file, there are few */
			__u64 grown = max_u64(hole_end - cur, round_up(mapped, stripe));

			grown = min_u64(grown, next - cur);
			grown = min_u64(grown, FS_MAX_FILE_END - cur);
			err = alloc_ileave(fs, got, st, cur, hole_end - cur, grown);
			if (!err)
				hole_end = cur + got->ileave[got->nileave - 1].len;
		} else {
			/* pages to a unit boundary, whole units, the pages after: units stay congruent */
			__u64 head = min_u64(round_up(cur, UNIT), hole_end);
			__u64 tail = max_u64(round_down(hole_end, UNIT), head);

			if (head > cur)
				err = alloc_simple(fs, l, got, cur, head - cur);
			if (!err && tail > head)
				err = alloc_simple(fs, l, got, head, tail - head);
			if (!err && hole_end > tail)
				err = alloc_simple(fs, l, got, tail, hole_end - tail);
		}
		mapped += hole_end - cur;
		cur = hole_end;
	}
	free(occ);
	return err;
}

void fs_set_alloc_policy(struct fs *fs, const struct fs_alloc_policy *policy)
{
	pthread_mutex_lock(&fs->lock);
	fs->policy = *policy;
	pthread_mutex_unlock(&fs->lock);
}

int fs_alloc_for_write(struct fs *fs, __u64 ino, __u64 off, __u64 len, struct fs_extent *ext)
{
	return fs_alloc_for_write_locked(fs, ino, off, len, ext, NULL);
}

int fs_alloc_for_write_locked(struct fs *fs, __u64 ino, __u64 off, __u64 len,
			      struct fs_extent *ext, const struct fs_commit_lock *cl)
{
	struct commit_lock c = { .cl = cl };
	struct new_space got = { 0 };
	struct fs_stripe st;
	struct fbs_alloc_stat before;
	__u64 gran, start, end, ahead_end;
	bool striped, fresh;
	int tries = 0;
	int err = owner_lock(fs);

	if (err) {
		commit_lock_take(&c);
		return err;
	}
	alloc_kind(fs, ino);
	if (!len)
		len = 1;
	if (off >= FS_MAX_FILE_END || len > FS_MAX_FILE_END - off) {
		err = fail(-EFBIG, "ino %llu: [%llu, +%llu) is past the largest file",
			   (unsigned long long)ino, (unsigned long long)off,
			   (unsigned long long)len);
		goto out;
	}
again:
	err = load_layout(fs, ino);
	if (err)
		goto out;
	striped = file_stripe(fs, ino, &fs->lay, &st);
	gran = striped ? (__u64)st.nstrips * st.chunk_size : UNIT;
	alloc_bounds(fs, striped ? &st : NULL, off, len, &start, &end);
	fresh = !covering(&fs->lay, off, NULL);
	fbs_alloc_stat(&fs->alloc, &before);

	/*
	 * A file has at most FMAP_MAX_ILEAVE interleaved extents, then simple
	 * ones: a striped file grows in large steps, so that one written in
	 * small pieces that cannot grow in place stays striped (up to 8 x
	 * striped_min); what was asked for alone when that much is not free.
	 * Only a write into a hole.
	 */
	ahead_end = end;
	if (fresh && (striped || fs->lay.nileave) && len < fs->policy.striped_min &&
	    fs->policy.striped_min <= FS_MAX_FILE_END - off)
		ahead_end = min_u64(round_up(off + fs->policy.striped_min, gran),
				    round_down(FS_MAX_FILE_END, gran));
	/* pages: a small write growing the file at its end below 2 MiB (the policy) */
	if (fresh && !striped && !fs->lay.nileave && gran_of(fs) == FBS_ALLOC_PAGE &&
	    len < fs->policy.pages_ahead_write && start && end <= UNIT &&
	    start >= layout_end(&fs->lay))
		ahead_end = max_u64(end, min_u64(2 * start, UNIT));
	cooling_expire(fs, false);
	err = -ENOSPC;
	if (ahead_end > end) {
		err = fill_holes(fs, &fs->lay, striped ? &st : NULL, &got, start, ahead_end);
		if (err)
			new_space_undo(fs, &got);
	}
	if (err)
		err = fill_holes(fs, &fs->lay, striped ? &st : NULL, &got, start, end);
	if (err == -ENOSPC && fs->ncool) {
		/* nothing else is free: the space that is still cooling */
		new_space_undo(fs, &got);
		cooling_expire(fs, true);
		fbs_alloc_stat(&fs->alloc, &before);
		err = fill_holes(fs, &fs->lay, striped ? &st : NULL, &got, start, end);
	}
	if (err) {
		new_space_undo(fs, &got);
		if (err == -ENOSPC)
			fail(err, "ino %llu: no space for [%llu, %llu): %llu MiB free",
			     (unsigned long long)ino, (unsigned long long)start,
			     (unsigned long long)end, (unsigned long long)(before.free >> 20));
		else
			fail(err, "ino %llu: allocating [%llu, %llu): %s", (unsigned long long)ino,
			     (unsigned long long)start, (unsigned long long)end, strerror(-err));
		goto out;
	}
	if (got.nsimple || got.nileave) {
		err = new_space_fill(fs, ino, &got, &c);
		if (err == -EAGAIN && ++tries < FILL_TRIES)
			goto again;
		if (!err)
			err = new_space_commit(fs, ino, &got);
		if (err)
			goto out;
		fs_fault(fs, "after_alloc");
		/* the file owns zeroed space now, whatever follows */
		err = load_layout(fs, ino);
		if (err)
			goto out;
	}
	if (!covering(&fs->lay, off, ext)) {
		/* only a layout this server did not write leaves part of a unit unmapped */
		err = fail(-EIO, "ino %llu: offset %llu is in a unit the file maps only partly",
			   (unsigned long long)ino, (unsigned long long)off);
		goto out;
	}
	ext->fresh = fresh;
out:
	free(got.simple);
	if (!err)
		compact_maybe(fs);
	pthread_mutex_unlock(&fs->lock);
	commit_lock_take(&c);
	return err;
}

/* -------------------------------------------------------------------- */
/* fallocate */

/* Log room for an ALLOC of @got and, if @grow, a SETATTR of the size. */
static int falloc_room(struct fs *fs, __u64 ino, const struct new_space *got, bool grow)
{
	struct famfs_mlog_entry e;
	ssize_t n, need = 0;

	famfs_mlog_entry_init(&e);
	if (got->nsimple || got->nileave) {
		e.type = FAMFS_LOG_ALLOC;
		e.alloc.ino = ino;
		e.nsimple = got->nsimple;
		e.nileave = got->nileave;
		e.simple = got->simple;
		e.ileave = (struct fmap_ileave_ext *)got->ileave;
		n = famfs_mlog_entry_size(&e);
		if (n < 0)
			return n;
		need += n;
	}
	if (grow) {
		famfs_mlog_entry_init(&e);
		e.type = FAMFS_LOG_SETATTR;
		e.setattr.ino = ino;
		e.setattr.valid = FAMFS_SETATTR_SIZE;
		n = famfs_mlog_entry_size(&e);
		if (n < 0)
			return n;
		need += n;
	}
	return log_room(fs, need);
}

__u64 fs_fallocate_piece_end(struct fs *fs, __u64 ino, __u64 off, __u64 end)
{
	struct fs_stripe st;
	__u64 gran = UNIT, piece;

	pthread_mutex_lock(&fs->lock);
	if (!load_layout(fs, ino) && file_stripe(fs, ino, &fs->lay, &st))
		gran = (__u64)st.nstrips * st.chunk_size;
	pthread_mutex_unlock(&fs->lock);
	/* whole stripes from a stripe boundary: the new space is at most the piece */
	piece = max_u64(round_down(fs->falloc_max_new, gran), gran);
	if (off > UINT64_MAX - piece)
		return end;
	return min_u64(round_down(off, gran) + piece, end);
}

int fs_fallocate(struct fs *fs, __u64 ino, __u64 off, __u64 len, unsigned int flags)
{
	return fs_fallocate_locked(fs, ino, off, len, flags, NULL);
}

int fs_fallocate_locked(struct fs *fs, __u64 ino, __u64 off, __u64 len, unsigned int flags,
			const struct fs_commit_lock *cl)
{
	struct ns_setattr sa = { .valid = FAMFS_SETATTR_SIZE };
	struct commit_lock c = { .cl = cl };
	struct new_space got = { 0 };
	struct fbs_alloc_stat before;
	struct fs_stripe st;
	struct ns_attr a;
	__u64 start, end;
	bool striped, grow;
	int tries = 0;
	int err = owner_lock(fs);

	if (err) {
		commit_lock_take(&c);
		return err;
	}
	alloc_kind(fs, ino);
	if (flags & ~FS_FALLOC_KEEP_SIZE || !len) {
		err = fail(-EINVAL, "ino %llu: fallocate of %llu bytes, flags %#x",
			   (unsigned long long)ino, (unsigned long long)len, flags);
		goto out;
	}
	if (off >= FS_MAX_FILE_END || len > FS_MAX_FILE_END - off) {
		err = fail(-EFBIG, "ino %llu: [%llu, +%llu) is past the largest file",
			   (unsigned long long)ino, (unsigned long long)off,
			   (unsigned long long)len);
		goto out;
	}
again:
	err = load_layout(fs, ino);
	if (!err)
		err = ns_getattr(fs->ns, ino, &a);
	if (err)
		goto out;
	striped = file_stripe(fs, ino, &fs->lay, &st);
	alloc_bounds(fs, striped ? &st : NULL, off, len, &start, &end);
	grow = !(flags & FS_FALLOC_KEEP_SIZE) && off + len > a.size;
	cooling_expire(fs, false);
	fbs_alloc_stat(&fs->alloc, &before);
	/* every hole at once, so that a failure gives all of it back */
	err = fill_holes(fs, &fs->lay, striped ? &st : NULL, &got, start, end);
	if (err == -ENOSPC && fs->ncool) {
		/* nothing else is free: the space that is still cooling */
		new_space_undo(fs, &got);
		cooling_expire(fs, true);
		fbs_alloc_stat(&fs->alloc, &before);
		err = fill_holes(fs, &fs->lay, striped ? &st : NULL, &got, start, end);
	}
	if (err == -ENOSPC)
		fail(err, "ino %llu: no space for [%llu, %llu): %llu MiB free",
		     (unsigned long long)ino, (unsigned long long)start,
		     (unsigned long long)end, (unsigned long long)(before.free >> 20));
	else if (err)
		fail(err, "ino %llu: allocating [%llu, %llu): %s", (unsigned long long)ino,
		     (unsigned long long)start, (unsigned long long)end, strerror(-err));
	else
		err = falloc_room(fs, ino, &got, grow);	/* log_room() says why */
	if (!err) {
		/* bounded, so that no request zeroes without end */
		struct fbs_alloc_stat now;

		fbs_alloc_stat(&fs->alloc, &now);
		if (before.free - now.free > fs->falloc_max_new)
			err = fail(-EFBIG, "ino %llu: fallocate of [%llu, %llu) takes %llu MiB of new space, at most %llu MiB in one request: allocate in pieces",
				   (unsigned long long)ino, (unsigned long long)start,
				   (unsigned long long)end,
				   (unsigned long long)((before.free - now.free) >> 20),
				   (unsigned long long)(fs->falloc_max_new >> 20));
	}
	if (err) {
		new_space_undo(fs, &got);
		goto out;
	}
	if (got.nsimple || got.nileave) {
		err = new_space_fill(fs, ino, &got, &c);
		if (err == -EAGAIN && ++tries < FILL_TRIES)
			goto again;
		if (err)
			goto out;
		/* the size and the log may have moved while the lock was dropped */
		err = ns_getattr(fs->ns, ino, &a);
		if (!err) {
			grow = !(flags & FS_FALLOC_KEEP_SIZE) && off + len > a.size;
			err = falloc_room(fs, ino, &got, grow);
		}
		if (err) {
			new_space_undo(fs, &got);
			goto out;
		}
		err = new_space_commit(fs, ino, &got);
		if (err)
			goto out;
		fs_fault(fs, "after_alloc");
	}
	/* space first: a crash between leaves it past EOF, never a size it lacks */
	if (grow) {
		sa.size = off + len;
		err = ns_setattr(fs->ns, &fs->journal, ino, &sa);
		if (err && err != fs->journal_err)
			fail(err, "ino %llu: allocated, but the size stays %llu: %s",
			     (unsigned long long)ino, (unsigned long long)a.size, strerror(-err));
	}
out:
	free(got.simple);
	pthread_mutex_unlock(&fs->lock);
	commit_lock_take(&c);
	return err;
}

int fs_punch(struct fs *fs, __u64 ino, __u64 off, __u64 len, __u64 *cut_off, __u64 *cut_len)
{
	__u64 end, cs, ce;
	__u32 i;
	int err = owner_lock(fs);

	*cut_off = off;
	*cut_len = 0;
	if (err)
		return err;
	if (!len || len > UINT64_MAX - off) {
		err = fail(-EINVAL, "ino %llu: punch [%llu, +%llu)", (unsigned long long)ino,
			   (unsigned long long)off, (unsigned long long)len);
		goto out;
	}
	err = load_layout(fs, ino);
	if (err)
		goto out;
	/* no extent reaches past the largest file */
	end = min_u64(off + len, FS_MAX_FILE_END);
	cs = round_up(min_u64(off, FS_MAX_FILE_END), gran_of(fs));
	ce = round_down(end, gran_of(fs));
	/* whole stripes of an interleaved extent, counted from its start (ns's rule) */
	for (i = 0; i < fs->lay.nileave; i++) {
		const struct fmap_ileave_ext *ie = &fs->lay.ileave[i];
		__u64 stripe = (__u64)ie->nstrips << ie->chunk_shift;
		__u64 ie_end = ie->file_off + ie->len;

		if (cs > ie->file_off && cs < ie_end)
			cs = min_u64(ie->file_off + round_up(cs - ie->file_off, stripe), ie_end);
		if (ce > ie->file_off && ce < ie_end)
			ce = ie->file_off + round_down(ce - ie->file_off, stripe);
	}
	if (ce <= cs)
		goto out;
	if (maps_any(&fs->lay, cs, ce)) {
		err = ns_punch(fs->ns, &fs->journal, ino, cs, ce - cs);
		if (err == -EFBIG) {
			/* the file has as many extents as it may: the caller zeroes instead */
			pr_info("ino %llu: punch [%llu, %llu) would split too many extents: zeroed",
				(unsigned long long)ino, (unsigned long long)cs,
				(unsigned long long)ce);
			err = 0;
			goto out;
		}
		if (err) {
			if (err != fs->journal_err)
				fail(err, "ino %llu: punch [%llu, %llu): %s",
				     (unsigned long long)ino, (unsigned long long)cs,
				     (unsigned long long)ce, strerror(-err));
			goto out;
		}
	}
	*cut_off = cs;
	*cut_len = ce - cs;
out:
	pthread_mutex_unlock(&fs->lock);
	return err;
}

/* -------------------------------------------------------------------- */
/* Open references */

int fs_open_ref(struct fs *fs, __u64 ino)
{
	int err = ns_open_ref(fs->ns, ino);

	if (err)
		fail(err, "ino %llu: %s", (unsigned long long)ino, strerror(-err));
	return err;
}

int fs_release(struct fs *fs, __u64 ino)
{
	int err;

	/* the last reference of an orphan frees its space: the allocator's lock */
	pthread_mutex_lock(&fs->lock);
	err = ns_open_unref(fs->ns, ino);
	if (err)
		fail(err, "release ino %llu: %s", (unsigned long long)ino, strerror(-err));
	pthread_mutex_unlock(&fs->lock);
	return err;
}

/* -------------------------------------------------------------------- */
/* Following another host's appends */

struct play {
	struct fs *fs;
	fs_logplay_fn fn;	/* told before each new entry */
	void *fn_ctx;
	__u64 skip_below;	/* sequence numbers applied already */
	__u64 applied;
	bool refused;
	__u64 refused_off, refused_seq;
	enum famfs_log_type refused_type;
	char refusal[200];
};

static int play_apply(void *ctx, const struct famfs_mlog_entry *e)
{
	struct play *p = ctx;
	int err;

	if (e->seq < p->skip_below)
		return 0;
	if (p->fn)
		p->fn(p->fn_ctx, e);
	err = ns_mlog_apply(p->fs->ns, e);
	if (err) {
		p->refused = true;
		p->refused_off = e->log_off;
		p->refused_seq = e->seq;
		p->refused_type = e->type;
		snprintf(p->refusal, sizeof(p->refusal), "%s", ns_refusal(p->fs->ns));
		return err;
	}
	p->applied++;
	return 0;
}

int fs_logplay(struct fs *fs, struct fs_logplay_result *out)
{
	return fs_logplay_each(fs, out, NULL, NULL);
}

/*
 * A follower maps the log through this host's page cache of the device,
 * which another host's appends to the shared memory never update (seen:
 * a second guest on the same NVDIMM played 0 entries).  Unmap, drop the
 * device's clean cached pages (BLKFLSBUF: unmapped ones only, hence the
 * munmap first) and map again: the new mapping reads the media.  A
 * regular file has one host, whose page cache is the truth.
 */
static int log_refresh(struct fs *fs)
{
	const struct fs_device *d = &fs->devs[fs->sb.log_dev];
	__u64 map_off = round_down(fs->sb.log_off, fs->page);
	void *map;

	if (!d->id.is_blk && fs->map)
		return 0;
	if (fs->map)
		munmap(fs->map, fs->map_len);
	fs->map = NULL;
	fs->log = NULL;
	if (d->id.is_blk && ioctl(d->fd, BLKFLSBUF, 0))
		pr_warn("%s: cannot drop cached log pages (%s): another host's entries may not show",
			d->path, strerror(errno));
	map = mmap(NULL, fs->map_len, PROT_READ, MAP_SHARED, d->fd, map_off);
	if (map == MAP_FAILED)
		return fail(-errno, "logplay: %s: cannot map the log: %s", d->path,
			    strerror(errno));
	fs->map = map;
	fs->log = (unsigned char *)map + (fs->sb.log_off - map_off);
	fs->cur = fs->log + fs->area.off;
	return 0;
}

struct tell_old {
	fs_logplay_fn fn;
	void *ctx;
};

/* Every inode of the namespace a checkpoint replaces, told as a change of it. */
static int tell_old_inode(void *ctx, const struct ns_attr *a)
{
	struct tell_old *t = ctx;
	struct famfs_mlog_entry e;

	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_SETATTR;
	e.setattr.ino = a->ino;
	t->fn(t->ctx, &e);
	return 0;
}

/*
 * The owner wrote a checkpoint (a new generation): replay it into a new
 * namespace, which the instance's namespace adopts (ns_adopt(): the same
 * object, inode numbers and the kernel's generations kept), and follow
 * the new log from its end.  @fn hears of every inode of the old
 * namespace (a SETATTR of it); out->reloaded tells the caller that every
 * inode of the new one changed too.  A corrupt checkpoint changes
 * nothing.  Under the lock.
 */
static int follow_checkpoint(struct fs *fs, const struct famfs_mlog_area *area,
			     struct fs_logplay_result *out, fs_logplay_fn fn, void *ctx)
{
	const struct ns_ops ops = { 0 };
	struct famfs_mlog_devtab tab = fs->sb.devs;
	struct tell_old t = { .fn = fn, .ctx = ctx };
	struct famfs_mlog_result res;
	struct fbs_alloc fresh;
	struct ns *ns = ns_new(&ops, NULL);
	char msg[256];
	int err;

	if (!ns)
		return fail(-ENOMEM, "logplay: out of memory");
	ns_replay(ns, fs->log + area->off, area->len, fs->sb.fs_uuid, &tab, &res);
	if (res.tail == FAMFS_MLOG_CORRUPT || res.err == -ENOMEM) {
		ns_free(ns);
		return fail(res.err == -ENOMEM ? -ENOMEM : -EUCLEAN,
			    "logplay: the owner's checkpoint (log generation %u): %s",
			    area->generation, res.msg);
	}
	if (tab.ndevs > fs->ndevs) {
		ns_free(ns);
		return fail(-ENXIO, "logplay: the owner added device %u: mount again with it",
			    fs->ndevs);
	}
	if (fn)
		ns_foreach_inode(fs->ns, tell_old_inode, &t);
	ns_adopt(fs->ns, ns);
	ns_free(ns);		/* the old namespace now */
	fs->area = *area;
	fs->cur = fs->log + area->off;
	fs->next_seq = res.next_seq;
	fs->end_off = res.end_off;
	fs->devtab = tab;
	fs->corrupt = false;
	out->applied = res.entries;
	out->end_off = res.end_off;
	out->tail = res.tail;
	out->reloaded = true;
	err = build_alloc(fs, &fresh, msg, sizeof(msg));
	if (err)
		return fail(err, "logplay: %s", msg);
	fbs_alloc_fini(&fs->alloc);
	fs->alloc = fresh;
	pr_info("logplay: followed the owner's checkpoint: log generation %u, %llu entries",
		area->generation, (unsigned long long)res.entries);
	return 0;
}

int fs_logplay_each(struct fs *fs, struct fs_logplay_result *out, fs_logplay_fn fn, void *ctx)
{
	const struct famfs_mlog_ops ops = { .apply = play_apply };
	struct play p = { .fs = fs, .fn = fn, .fn_ctx = ctx };
	struct famfs_mlog_devtab tab;
	struct famfs_mlog_result res;
	struct famfs_mlog_area area;
	struct fbs_alloc fresh;
	char msg[256];
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (fs->owner)
		return fail(-EINVAL, "logplay: the owner wrote the log; there is nothing to read");
	pthread_mutex_lock(&fs->lock);
	err = log_refresh(fs);
	if (err)
		goto out;
	famfs_mlog_pick(fs->log, fs->sb.log_len, fs->sb.fs_uuid, &area);
	if (area.generation != fs->area.generation || area.off != fs->area.off ||
	    area.len != fs->area.len) {
		err = follow_checkpoint(fs, &area, out, fn, ctx);
		goto out;
	}
	p.skip_below = fs->next_seq;
	tab = fs->sb.devs;
	famfs_mlog_replay(fs->cur, fs->area.len, fs->sb.fs_uuid, &tab, &ops, &p, &res);
	out->applied = p.applied;
	out->end_off = res.end_off;
	out->tail = res.tail;
	if (res.end_off < fs->end_off) {
		err = fail(-ESTALE, "logplay: the log ends at %llu, before the %llu already applied",
			   (unsigned long long)res.end_off, (unsigned long long)fs->end_off);
		goto out;
	}
	fs->end_off = res.end_off;
	fs->next_seq = res.next_seq;
	if (tab.ndevs > fs->ndevs) {
		err = fail(-ENXIO, "logplay: the owner added device %u: mount again with it",
			   fs->ndevs);
		goto out;
	}
	fs->devtab = tab;
	if (p.applied) {
		/* the owner's allocations and frees: rebuild from the new layouts */
		err = build_alloc(fs, &fresh, msg, sizeof(msg));
		if (err) {
			fail(err, "logplay: %s", msg);
			goto out;
		}
		fbs_alloc_fini(&fs->alloc);
		fs->alloc = fresh;
	}
	if (res.tail == FAMFS_MLOG_CORRUPT) {
		fs->corrupt = true;
		if (p.refused)
			err = fail(-EUCLEAN, "logplay: log offset %llu (entry %llu, %s): %s",
				   (unsigned long long)p.refused_off,
				   (unsigned long long)p.refused_seq,
				   famfs_mlog_type_name(p.refused_type), p.refusal);
		else
			err = fail(-EUCLEAN, "logplay: %s", res.msg);
	}
out:
	pthread_mutex_unlock(&fs->lock);
	return err;
}

/* -------------------------------------------------------------------- */
/* statfs and dump */

int fs_statfs(struct fs *fs, struct fs_statfs *st)
{
	struct fbs_alloc_stat as;
	struct ns_statfs ns;

	pthread_mutex_lock(&fs->lock);
	fbs_alloc_stat(&fs->alloc, &as);
	ns_statfs(fs->ns, &ns);
	*st = (struct fs_statfs){
		.bsize = gran_of(fs),
		.blocks = as.total / gran_of(fs),
		/* cooling space is free: it is handed out when nothing else is */
		.bfree = (as.free + fs->cool_bytes) / gran_of(fs),
		.files = ns.inodes,
		.log_len = fs->area.len,
		.log_generation = fs->area.generation,
		.log_used = fs->owner ? fs->w.off : fs->end_off,
		.log_corrupt = fs->corrupt,
	};
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

struct inode_list {
	struct ns_attr *a;
	size_t n, cap;
};

static int collect_inode(void *ctx, const struct ns_attr *a)
{
	struct inode_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct ns_attr *p = realloc(l->a, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->a = p;
		l->cap = cap;
	}
	l->a[l->n++] = *a;
	return 0;
}

static int ino_cmp(const void *a, const void *b)
{
	const struct ns_attr *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int dump_dirent(void *ctx, const struct ns_dirent *d)
{
	fprintf(ctx, "  %s -> %llu\n", d->name, (unsigned long long)d->ino);
	return 0;
}

static int dump_layout(void *ctx, __u64 ino, const struct fmap_simple_ext *simple,
		       __u32 nsimple, const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	FILE *out = ctx;
	__u32 i, s;

	(void)ino;
	for (i = 0; i < nsimple; i++)
		fprintf(out, "  simple [%llu, +%llu) at %u:%llu\n",
			(unsigned long long)simple[i].file_off, (unsigned long long)simple[i].len,
			simple[i].dev, (unsigned long long)simple[i].dev_off);
	for (i = 0; i < nileave; i++) {
		fprintf(out, "  ileave [%llu, +%llu) strips %u chunk %u:",
			(unsigned long long)ileave[i].file_off, (unsigned long long)ileave[i].len,
			ileave[i].nstrips, ileave[i].chunk_shift);
		for (s = 0; s < ileave[i].nstrips; s++)
			fprintf(out, " %u:%llu", ileave[i].strips[s].dev,
				(unsigned long long)ileave[i].strips[s].dev_off);
		fputc('\n', out);
	}
	return 0;
}

static void dump_alloc(const struct fbs_alloc *a, FILE *out)
{
	__u32 dev;
	__u64 u, run;

	for (dev = 0; dev < a->ndevs; dev++) {
		const struct fbs_alloc_dev *d = &a->devs[dev];

		fprintf(out, "dev %u: %llu of %llu units free\n", dev, (unsigned long long)d->nfree,
			(unsigned long long)d->nunits);
		for (u = 0; u < d->nunits; u = run) {
			bool used = d->used[u / 64] >> (u % 64) & 1;

			for (run = u + 1; run < d->nunits &&
			     (bool)(d->used[run / 64] >> (run % 64) & 1) == used; run++)
				;
			if (used)
				fprintf(out, "  used units [%llu, %llu)\n",
					(unsigned long long)(d->first + u),
					(unsigned long long)(d->first + run));
		}
	}
}

/* Extended attributes in order, each value in hex. */
static void dump_xattrs(struct ns *ns, __u64 ino, FILE *out)
{
	char *names = malloc(FAMFS_XATTR_SPACE), *nm;
	unsigned char *val = malloc(FAMFS_XATTR_VALUE_MAX);
	ssize_t n = names && val ? ns_xattr_list(ns, ino, names, FAMFS_XATTR_SPACE) : -ENOMEM;
	ssize_t v, i;

	for (nm = names; n > 0 && nm < names + n; nm += strlen(nm) + 1) {
		v = ns_xattr_get(ns, ino, nm, val, FAMFS_XATTR_VALUE_MAX);
		fprintf(out, "  xattr %s %zd ", nm, v);
		for (i = 0; i < v; i++)
			fprintf(out, "%02x", val[i]);
		fputc('\n', out);
	}
	if (n < 0 && n != -ENOENT)
		fprintf(out, "  xattrs: %s\n", strerror((int)-n));
	free(names);
	free(val);
}

int fs_dump(struct fs *fs, FILE *out)
{
	struct inode_list l = { 0 };
	char target[FAMFS_SYMLINK_MAX + 1];
	size_t i;
	int err;

	pthread_mutex_lock(&fs->lock);
	err = ns_foreach_inode(fs->ns, collect_inode, &l);
	if (err)
		goto out;
	qsort(l.a, l.n, sizeof(*l.a), ino_cmp);
	for (i = 0; i < l.n; i++) {
		const struct ns_attr *a = &l.a[i];
		ssize_t n;

		fprintf(out, "ino %llu gen %llu mode %o uid %u gid %u nlink %u",
			(unsigned long long)a->ino, (unsigned long long)a->generation, a->mode,
			a->uid, a->gid, a->nlink);
		fprintf(out, " size %llu mapped %llu a %lld.%u m %lld.%u c %lld.%u",
			(unsigned long long)a->size, (unsigned long long)a->mapped,
			(long long)a->atime.sec, a->atime.nsec,
			(long long)a->mtime.sec, a->mtime.nsec, (long long)a->ctime.sec,
			a->ctime.nsec);
		if (a->has_stripe)
			fprintf(out, " stripe %u/%u", a->nstrips, a->chunk_shift);
		if (a->kind)
			fprintf(out, " class %s", a->kind == FAMFS_DEV_BLOCK ? "block" : "memory");
		fputc('\n', out);
		dump_xattrs(fs->ns, a->ino, out);
		if (S_ISDIR(a->mode)) {
			ns_readdir(fs->ns, a->ino, 0, dump_dirent, out);
		} else if (S_ISLNK(a->mode)) {
			n = ns_readlink(fs->ns, a->ino, target, sizeof(target) - 1);
			if (n >= 0) {
				target[n] = '\0';
				fprintf(out, "  -> %s\n", target);
			}
		} else {
			ns_get_layout(fs->ns, a->ino, dump_layout, out);
		}
	}
	/* the space as a replay builds it: what is cooling is free */
	cooling_expire(fs, true);
	dump_alloc(&fs->alloc, out);
out:
	pthread_mutex_unlock(&fs->lock);
	free(l.a);
	return err;
}
