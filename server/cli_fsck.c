// SPDX-License-Identifier: GPL-2.0
/*
 * famfs-bpf fsck DEV...: read-only check.  The log is replayed into a
 * small model of the namespace (names and each file's extents), the way a
 * mount would; then every live file's space is marked used in the
 * allocator, which refuses space two files claim or space outside a
 * device.  Each problem is one line on @out; a summary line ends.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cli.h"
#include "famfs_format.h"
#include "log.h"
#include "super.h"

#define NBUCKETS 4096

/* A device range one file uses, in bytes. */
struct fsck_range {
	__u32 dev;
	__u64 start;
	__u64 end;
};

struct fsck_inode {
	struct fsck_inode *next;	/* hash chain */
	__u64 ino;
	__u64 created_at;		/* log offset */
	enum famfs_log_type type;
	__u32 nlink;			/* names (LINK adds some): the last one takes it */
	__u32 nsimple, simple_cap;
	__u32 nileave, ileave_cap;
	struct fmap_simple_ext *simple;
	struct fmap_ileave_ext *ileave;
	__u32 nranges;
	struct fsck_range *ranges;	/* after the allocator pass */
};

struct fsck_dent {
	struct fsck_dent *next;
	__u64 parent;
	__u64 ino;
	char name[];
};

struct fsck_model {
	struct fsck_inode *inodes[NBUCKETS];
	struct fsck_dent *dents[NBUCKETS];
	__u64 ninodes, nfiles, ndirs;
};

struct fsck {
	FILE *out;
	int problems;
	int exit;
	struct fsck_model m;
};

__attribute__((format(printf, 3, 4)))
static void problem(struct fsck *f, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(f->out, fmt, ap);
	va_end(ap);
	fputc('\n', f->out);
	f->problems++;
	f->exit |= code;
}

static unsigned int ino_hash(__u64 ino)
{
	return (unsigned int)((ino * 0x9e3779b97f4a7c15ULL) >> 52) % NBUCKETS;
}

static unsigned int dent_hash(__u64 parent, const char *name)
{
	__u64 h = 0xcbf29ce484222325ULL ^ parent;

	while (*name)
		h = (h ^ (unsigned char)*name++) * 0x100000001b3ULL;
	return (unsigned int)(h % NBUCKETS);
}

static struct fsck_inode *inode_get(struct fsck_model *m, __u64 ino)
{
	struct fsck_inode *i;

	for (i = m->inodes[ino_hash(ino)]; i; i = i->next)
		if (i->ino == ino)
			return i;
	return NULL;
}

static struct fsck_dent **dent_find(struct fsck_model *m, __u64 parent, const char *name)
{
	struct fsck_dent **p;

	for (p = &m->dents[dent_hash(parent, name)]; *p; p = &(*p)->next)
		if ((*p)->parent == parent && !strcmp((*p)->name, name))
			return p;
	return p;
}

static int dent_add(struct fsck_model *m, __u64 parent, const char *name, __u64 ino)
{
	struct fsck_dent **p = dent_find(m, parent, name);
	size_t len = strlen(name) + 1;

	if (*p)
		return -EEXIST;
	*p = malloc(sizeof(**p) + len);
	if (!*p)
		return -ENOMEM;
	(*p)->next = NULL;
	(*p)->parent = parent;
	(*p)->ino = ino;
	memcpy((*p)->name, name, len);
	return 0;
}

static void dent_del(struct fsck_dent **p)
{
	struct fsck_dent *d = *p;

	*p = d->next;
	free(d);
}

static struct fsck_inode *inode_add(struct fsck_model *m, __u64 ino,
				    enum famfs_log_type type, __u64 at)
{
	struct fsck_inode *i = calloc(1, sizeof(*i));
	unsigned int h = ino_hash(ino);

	if (!i)
		return NULL;
	i->ino = ino;
	i->type = type;
	i->nlink = 1;
	i->created_at = at;
	i->next = m->inodes[h];
	m->inodes[h] = i;
	m->ninodes++;
	return i;
}

static void inode_free(struct fsck_inode *i)
{
	free(i->simple);
	free(i->ileave);
	free(i->ranges);
	free(i);
}

static void inode_del(struct fsck_model *m, __u64 ino)
{
	struct fsck_inode **p;

	for (p = &m->inodes[ino_hash(ino)]; *p; p = &(*p)->next)
		if ((*p)->ino == ino) {
			struct fsck_inode *i = *p;

			*p = i->next;
			inode_free(i);
			m->ninodes--;
			return;
		}
}

static void model_free(struct fsck_model *m)
{
	unsigned int b;

	for (b = 0; b < NBUCKETS; b++) {
		while (m->inodes[b]) {
			struct fsck_inode *i = m->inodes[b];

			m->inodes[b] = i->next;
			inode_free(i);
		}
		while (m->dents[b])
			dent_del(&m->dents[b]);
	}
}

static int grow(void **arr, __u32 *cap, __u32 need, size_t elem)
{
	__u32 n = *cap ? *cap : 4;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*arr, (size_t)n * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

static int add_extents(struct fsck_inode *i, const struct famfs_mlog_entry *e)
{
	if (grow((void **)&i->simple, &i->simple_cap, i->nsimple + e->nsimple,
		 sizeof(*i->simple)) ||
	    grow((void **)&i->ileave, &i->ileave_cap, i->nileave + e->nileave,
		 sizeof(*i->ileave)))
		return -ENOMEM;
	if (e->nsimple)
		memcpy(i->simple + i->nsimple, e->simple, e->nsimple * sizeof(*e->simple));
	if (e->nileave)
		memcpy(i->ileave + i->nileave, e->ileave, e->nileave * sizeof(*e->ileave));
	i->nsimple += e->nsimple;
	i->nileave += e->nileave;
	return 0;
}

/*
 * The file no longer maps [off, end): a simple extent keeps what lies
 * outside (one punch splits at most one extent), an interleaved one loses
 * its tail, or a middle that ends at a stripe boundary (ns.c: readers
 * merge exact continuations, so a punch may take a piece the log added
 * separately).  No per-file extent count is checked here, so the model
 * keeps the extents as logged, unmerged: the same device ranges.
 */
static int punch(struct fsck_inode *i, __u64 off, __u64 end)
{
	struct fmap_simple_ext *out = calloc(i->nsimple + 1, sizeof(*out));
	struct fmap_ileave_ext *kept;
	__u32 k, n = 0;

	if (!out)
		return -ENOMEM;
	for (k = 0; k < i->nsimple; k++) {
		struct fmap_simple_ext x = i->simple[k];
		__u64 xe = x.file_off + x.len;

		if (xe <= off || x.file_off >= end) {
			out[n++] = x;
			continue;
		}
		if (x.file_off < off) {
			out[n] = x;
			out[n++].len = off - x.file_off;
		}
		if (xe > end) {
			x.dev_off += end - x.file_off;
			x.len = xe - end;
			x.file_off = end;
			out[n++] = x;
		}
	}
	free(i->simple);
	i->simple = out;
	i->simple_cap = i->nsimple + 1;
	i->nsimple = n;
	/* each keeps a head and what lies after @end: up to twice as many */
	kept = calloc((size_t)i->nileave * 2 + 1, sizeof(*kept));
	if (!kept)
		return -ENOMEM;
	for (k = 0, n = 0; k < i->nileave; k++) {
		struct fmap_ileave_ext ie = i->ileave[k], rest = ie;
		__u64 ie_end = ie.file_off + ie.len;
		__u32 s;

		if (ie_end <= off || ie.file_off >= end) {
			kept[n++] = ie;
			continue;
		}
		if (ie.file_off < off) {
			ie.len = off - ie.file_off;
			kept[n++] = ie;
		}
		/* the rest after a cut at a stripe boundary (ns.c): strips advanced */
		if (end < ie_end) {
			rest.file_off = end;
			rest.len = ie_end - end;
			for (s = 0; s < rest.nstrips; s++)
				rest.strips[s].dev_off += (end - ie.file_off) / ie.nstrips;
			kept[n++] = rest;
		}
	}
	free(i->ileave);
	i->ileave = kept;
	i->ileave_cap = i->nileave * 2 + 1;
	i->nileave = n;
	return 0;
}

/* One of @ino's names went: with the last one, the inode does. */
static void drop_inode(struct fsck_model *m, __u64 ino)
{
	struct fsck_inode *i = inode_get(m, ino);

	if (i && --i->nlink)
		return;
	if (i && i->type == FAMFS_LOG_CREATE)
		m->nfiles--;
	if (i && i->type == FAMFS_LOG_MKDIR)
		m->ndirs--;
	inode_del(m, ino);
}

/* Replay's apply(): the namespace refuses what a mount would refuse. */
static int apply(void *ctx, const struct famfs_mlog_entry *e)
{
	struct fsck_model *m = ctx;
	struct fsck_inode *i, *p;
	struct fsck_dent **d, **nd;
	int err;

	switch (e->type) {
	case FAMFS_LOG_MKDIR:
	case FAMFS_LOG_CREATE:
	case FAMFS_LOG_SYMLINK:
		p = inode_get(m, e->mknod.parent);
		if (!p)
			return -ENOENT;
		if (p->type != FAMFS_LOG_MKDIR)
			return -ENOTDIR;
		if (inode_get(m, e->mknod.ino))
			return -EEXIST;
		err = dent_add(m, e->mknod.parent, e->name, e->mknod.ino);
		if (err)
			return err;
		i = inode_add(m, e->mknod.ino, e->type, e->log_off);
		if (!i)
			return -ENOMEM;
		if (e->type == FAMFS_LOG_CREATE)
			m->nfiles++;
		if (e->type == FAMFS_LOG_MKDIR)
			m->ndirs++;
		return add_extents(i, e);
	case FAMFS_LOG_ALLOC:
	case FAMFS_LOG_PUNCH:
		i = inode_get(m, e->type == FAMFS_LOG_ALLOC ? e->alloc.ino : e->punch.ino);
		if (!i)
			return -ENOENT;
		if (i->type != FAMFS_LOG_CREATE)
			return -EISDIR;
		if (e->type == FAMFS_LOG_ALLOC)
			return add_extents(i, e);
		return punch(i, e->punch.off, e->punch.len == FAMFS_LOG_TO_END ||
				e->punch.off + e->punch.len < e->punch.off ?
				~0ULL : e->punch.off + e->punch.len);
	case FAMFS_LOG_SETATTR:
		return inode_get(m, e->setattr.ino) ? 0 : -ENOENT;
	case FAMFS_LOG_RENAME:
		d = dent_find(m, e->rename.old_parent, e->name);
		if (!*d || (*d)->ino != e->rename.ino)
			return -ENOENT;
		p = inode_get(m, e->rename.new_parent);
		if (!p)
			return -ENOENT;
		if (p->type != FAMFS_LOG_MKDIR)
			return -ENOTDIR;
		nd = dent_find(m, e->rename.new_parent, e->new_name);
		if (e->rename.flags & FAMFS_RENAME_EXCHANGE) {
			__u64 other;

			if (!*nd)
				return -ENOENT;
			other = (*nd)->ino;
			(*nd)->ino = (*d)->ino;
			(*d)->ino = other;
			return 0;
		}
		if (*nd == *d)
			return 0;
		if (*nd && (*nd)->ino == e->rename.ino)
			return -EINVAL;	/* two names of one inode: ns.c refuses it */
		if (*nd) {		/* the replaced name's inode goes */
			drop_inode(m, (*nd)->ino);
			dent_del(nd);
			d = dent_find(m, e->rename.old_parent, e->name);
		}
		err = dent_add(m, e->rename.new_parent, e->new_name, e->rename.ino);
		if (err)
			return err;
		dent_del(dent_find(m, e->rename.old_parent, e->name));
		return 0;
	case FAMFS_LOG_DELETE:
		d = dent_find(m, e->del.parent, e->name);
		if (!*d || (*d)->ino != e->del.ino)
			return -ENOENT;
		drop_inode(m, e->del.ino);
		dent_del(d);
		return 0;
	case FAMFS_LOG_DEVADD:
		return 0;
	case FAMFS_LOG_LINK:	/* one more name: not for a directory */
		p = inode_get(m, e->link.parent);
		i = inode_get(m, e->link.ino);
		if (!p || !i)
			return -ENOENT;
		if (p->type != FAMFS_LOG_MKDIR)
			return -ENOTDIR;
		if (i->type == FAMFS_LOG_MKDIR)
			return -EPERM;
		if (i->nlink >= FAMFS_LINK_MAX)
			return -EMLINK;
		err = dent_add(m, e->link.parent, e->name, e->link.ino);
		if (!err)
			i->nlink++;
		return err;
	case FAMFS_LOG_STRIPE:	/* a policy: of a file or a directory that exists */
		i = inode_get(m, e->stripe.ino);
		if (!i)
			return -ENOENT;
		return i->type == FAMFS_LOG_SYMLINK ? -EINVAL : 0;
	}
	return -EINVAL;
}

static int range_cmp(const void *a, const void *b)
{
	const struct fsck_range *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* @i's device ranges, sorted, merged, in whole units (as they are allocated). */
static int file_ranges(struct fsck *f, struct fsck_inode *i)
{
	const __u64 mask = FAMFS_ALLOC_UNIT - 1;
	__u32 k, s, n = 0, cap = i->nsimple + i->nileave * FMAP_MAX_STRIPS;
	struct fsck_range *r;

	r = calloc(cap ? cap : 1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (k = 0; k < i->nsimple; k++)
		r[n++] = (struct fsck_range){ i->simple[k].dev, i->simple[k].dev_off,
					      i->simple[k].dev_off + i->simple[k].len };
	for (k = 0; k < i->nileave; k++)
		for (s = 0; s < i->ileave[k].nstrips; s++)
			r[n++] = (struct fsck_range){
				i->ileave[k].strips[s].dev, i->ileave[k].strips[s].dev_off,
				i->ileave[k].strips[s].dev_off +
					fmap_ileave_strip_bytes(&i->ileave[k], s) };
	qsort(r, n, sizeof(*r), range_cmp);
	for (k = 1; k < n; k++)
		if (r[k].dev == r[k - 1].dev && r[k].start < r[k - 1].end)
			problem(f, CLI_EXIT_UNCORRECTED,
				"file ino %llu: maps device %u [%llu, %llu) twice",
				(unsigned long long)i->ino, r[k].dev,
				(unsigned long long)r[k].start,
				(unsigned long long)(r[k].end < r[k - 1].end ? r[k].end : r[k - 1].end));
	/* a punched unit is still the file's: the server frees whole units */
	for (k = 0, s = 0; k < n; k++) {
		struct fsck_range u = { r[k].dev, r[k].start & ~mask, (r[k].end + mask) & ~mask };

		if (u.start == u.end)
			continue;
		if (s && r[s - 1].dev == u.dev && u.start <= r[s - 1].end) {
			if (u.end > r[s - 1].end)
				r[s - 1].end = u.end;
		} else {
			r[s++] = u;
		}
	}
	i->ranges = r;
	i->nranges = s;
	return 0;
}

static int ino_cmp(const void *a, const void *b)
{
	const struct fsck_inode *x = *(struct fsck_inode *const *)a;
	const struct fsck_inode *y = *(struct fsck_inode *const *)b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* Who else holds @bad, for the message. */
static __u64 owner_of(struct fsck_inode **files, __u64 n, const struct fbs_alloc_range *bad)
{
	__u64 k;
	__u32 j;

	for (k = 0; k < n; k++)
		for (j = 0; j < files[k]->nranges; j++) {
			const struct fsck_range *r = &files[k]->ranges[j];

			if (r->dev == bad->dev && r->start < bad->dev_off + bad->len &&
			    bad->dev_off < r->end)
				return files[k]->ino;
		}
	return 0;
}

/* Every live file's space into the allocator: overlaps and strays show. */
static int check_space(struct fsck *f, const struct famfs_mlog_devtab *devs,
		       struct fbs_alloc_stat *st)
{
	struct fbs_alloc_geom geom[FBS_ALLOC_MAX_DEVS];
	struct fsck_inode **files, *i;
	struct fbs_alloc a;
	__u64 n = 0, k;
	unsigned int b;
	__u32 j;
	int err;

	if (devs->ndevs > FBS_ALLOC_MAX_DEVS) {
		problem(f, CLI_EXIT_OPERATIONAL, "%u devices: fsck checks space on at most %d",
			devs->ndevs, FBS_ALLOC_MAX_DEVS);
		return 0;
	}
	for (j = 0; j < devs->ndevs; j++)
		geom[j] = (struct fbs_alloc_geom){ devs->devs[j].size, devs->devs[j].data_off,
						   devs->devs[j].size };
	err = fbs_alloc_init(&a, geom, devs->ndevs);
	if (err)
		return err;
	files = calloc(f->m.ninodes + 1, sizeof(*files));
	if (!files) {
		fbs_alloc_fini(&a);
		return -ENOMEM;
	}
	for (b = 0; b < NBUCKETS; b++)
		for (i = f->m.inodes[b]; i; i = i->next)
			files[n++] = i;
	qsort(files, n, sizeof(*files), ino_cmp);
	for (k = 0; k < n && !err; k++) {
		i = files[k];
		err = file_ranges(f, i);
		for (j = 0; j < i->nranges && !err; j++) {
			const struct fsck_range *r = &i->ranges[j];
			struct fmap_simple_ext x = { .len = r->end - r->start,
						     .dev_off = r->start, .dev = r->dev };
			int ret = fbs_alloc_use_simple(&a, &x, 1);

			if (ret == -EEXIST)
				problem(f, CLI_EXIT_UNCORRECTED,
					"file ino %llu (log offset %llu) and file ino %llu both claim device %u [%llu, +%llu)",
					(unsigned long long)i->ino,
					(unsigned long long)i->created_at,
					(unsigned long long)owner_of(files, k, &a.bad), a.bad.dev,
					(unsigned long long)a.bad.dev_off,
					(unsigned long long)a.bad.len);
			else if (ret)
				problem(f, CLI_EXIT_UNCORRECTED,
					"file ino %llu (log offset %llu): device %u [%llu, %llu) is outside the device's data area",
					(unsigned long long)i->ino,
					(unsigned long long)i->created_at, r->dev,
					(unsigned long long)r->start, (unsigned long long)r->end);
		}
	}
	fbs_alloc_stat(&a, st);
	fbs_alloc_fini(&a);
	free(files);
	return err;
}

/* Device 0 has no superblock: say what it is instead, if it is ours. */
static void no_superblock(struct fsck *f, struct cli_dev *d, const void *label)
{
	__u64 magic;
	__u32 index;

	memcpy(&magic, label, 8);
	memcpy(&index, (const char *)label + 12, 4);
	if (le64toh(magic) == FAMFS_LABEL_MAGIC)
		problem(f, CLI_EXIT_OPERATIONAL,
			"%s: no superblock: this is device %u of a famfs-bpf file system; give the devices in mkfs order",
			d->path, le32toh(index));
	else
		problem(f, CLI_EXIT_OPERATIONAL, "%s: not a famfs-bpf device (no superblock)",
			d->path);
}

static int check_label(struct fsck *f, struct cli_dev *d, const struct famfs_sb_info *info,
		       __u32 index, void *buf)
{
	char msg[200];
	int err = cli_dev_read(d, FAMFS_LABEL_OFF, buf, 4096);

	if (err) {
		problem(f, CLI_EXIT_OPERATIONAL, "%s: cannot read the label: %s", d->path,
			strerror(-err));
		return err;
	}
	if (famfs_label_check(buf, 4096, info, index, msg, sizeof(msg)))
		problem(f, CLI_EXIT_UNCORRECTED, "%s: label: %s", d->path, msg);
	else if (d->size < info->devs.devs[index].size)
		problem(f, CLI_EXIT_UNCORRECTED,
			"%s: %llu bytes, device %u of the file system is %llu", d->path,
			(unsigned long long)d->size, index,
			(unsigned long long)info->devs.devs[index].size);
	return 0;
}

static void fsck_run(struct fsck *f, int ndevs, struct cli_dev *devs)
{
	struct famfs_mlog_result res;
	struct famfs_mlog_devtab tab;
	const struct famfs_mlog_ops ops = { .apply = apply };
	struct famfs_sb_info info;
	struct fbs_alloc_stat st;
	struct fsck_inode *root;
	void *buf, *log = NULL;
	char msg[200];
	__u32 k, mkfs_ndevs;
	int err;

	buf = cli_buf_alloc(2 * 4096);
	if (!buf) {
		problem(f, CLI_EXIT_OPERATIONAL, "out of memory");
		return;
	}
	err = cli_dev_read(&devs[0], 0, buf, 2 * 4096);
	if (err) {
		problem(f, CLI_EXIT_OPERATIONAL, "%s: cannot read the superblock: %s",
			devs[0].path, strerror(-err));
		goto out;
	}
	err = famfs_sb_decode(buf, 4096, &info, msg, sizeof(msg));
	if (err == -EMEDIUMTYPE) {
		no_superblock(f, &devs[0], (char *)buf + 4096);
		goto out;
	}
	if (err) {
		problem(f, CLI_EXIT_UNCORRECTED, "%s: superblock: %s", devs[0].path, msg);
		goto out;
	}
	mkfs_ndevs = info.devs.ndevs;
	for (k = 0; k < info.devs.ndevs && k < (__u32)ndevs; k++)
		if (check_label(f, &devs[k], &info, k, buf))
			goto out;
	for (; k < info.devs.ndevs; k++)
		problem(f, CLI_EXIT_UNCORRECTED, "device %u of %u missing: give every device",
			k, info.devs.ndevs);
	if (info.log_dev >= (__u32)ndevs)
		goto out;

	log = cli_buf_alloc(info.log_len);
	if (!log) {
		problem(f, CLI_EXIT_OPERATIONAL, "cannot hold a %llu-byte log in memory",
			(unsigned long long)info.log_len);
		goto out;
	}
	err = cli_dev_read(&devs[info.log_dev], info.log_off, log, info.log_len);
	if (err) {
		problem(f, CLI_EXIT_OPERATIONAL, "%s: cannot read the log: %s",
			devs[info.log_dev].path, strerror(-err));
		goto out;
	}
	root = inode_add(&f->m, FAMFS_ROOT_INO, FAMFS_LOG_MKDIR, 0);
	if (!root) {
		problem(f, CLI_EXIT_OPERATIONAL, "out of memory");
		goto out;
	}
	tab = info.devs;
	famfs_mlog_replay(log, info.log_len, info.fs_uuid, &tab, &ops, &f->m, &res);
	if (res.err == -ENOMEM) {
		problem(f, CLI_EXIT_OPERATIONAL, "out of memory replaying the log");
		goto out;
	}
	if (res.tail == FAMFS_MLOG_TORN)
		fprintf(f->out, "log: note: %s; the entries before it stand, the next mount discards it\n",
			res.msg);
	else if (res.tail == FAMFS_MLOG_CORRUPT)
		problem(f, CLI_EXIT_UNCORRECTED, "log: CORRUPT: %s", res.msg);
	fprintf(f->out, "log: %llu entries, %s at offset %llu of %llu\n",
		(unsigned long long)res.entries,
		res.tail == FAMFS_MLOG_END ? "END" : res.tail == FAMFS_MLOG_TORN ? "TORN" : "CORRUPT",
		(unsigned long long)res.end_off, (unsigned long long)info.log_len);

	/* devices added by the log: their labels against the grown table */
	info.devs = tab;
	for (k = mkfs_ndevs; k < tab.ndevs; k++) {
		if (k >= (__u32)ndevs)
			problem(f, CLI_EXIT_UNCORRECTED, "device %u of %u (added by the log) missing",
				k, tab.ndevs);
		else if (check_label(f, &devs[k], &info, k, buf))
			goto out;
	}
	for (k = tab.ndevs; k < (__u32)ndevs; k++)
		problem(f, CLI_EXIT_UNCORRECTED, "%s: given as device %u, the file system has %u",
			devs[k].path, k, tab.ndevs);

	err = check_space(f, &tab, &st);
	if (err) {
		problem(f, CLI_EXIT_OPERATIONAL, "checking space: %s", strerror(-err));
		goto out;
	}
	fprintf(f->out, "%llu files, %llu directories; %llu MiB used, %llu MiB free of %llu MiB\n",
		(unsigned long long)f->m.nfiles, (unsigned long long)f->m.ndirs,
		(unsigned long long)((st.total - st.free) >> 20),
		(unsigned long long)(st.free >> 20), (unsigned long long)(st.total >> 20));
out:
	free(log);
	free(buf);
}

int cli_fsck(const struct cli_fsck_args *args, int ndevs, char **paths, FILE *out)
{
	struct fsck *f = calloc(1, sizeof(*f));
	struct cli_dev *devs = calloc(ndevs, sizeof(*devs));
	int i, opened = 0, ret;

	(void)args;	/* -n is all fsck does for now */
	if (!f || !devs) {
		pr_err("fsck: out of memory");
		free(f);
		free(devs);
		return CLI_EXIT_OPERATIONAL;
	}
	f->out = out;
	for (i = 0; i < ndevs; i++, opened++)
		if (cli_dev_open(&devs[i], paths[i], false)) {
			f->exit |= CLI_EXIT_OPERATIONAL;
			break;
		}
	if (!f->exit)
		fsck_run(f, ndevs, devs);
	if (f->exit & CLI_EXIT_OPERATIONAL)
		fprintf(out, "famfs-bpf fsck %s: could not check everything (%d problem%s)\n",
			paths[0], f->problems, f->problems == 1 ? "" : "s");
	else if (f->problems)
		fprintf(out, "famfs-bpf fsck %s: %d problem%s left uncorrected\n", paths[0],
			f->problems, f->problems == 1 ? "" : "s");
	else
		fprintf(out, "famfs-bpf fsck %s: clean\n", paths[0]);
	for (i = 0; i < opened; i++)
		cli_dev_close(&devs[i]);
	model_free(&f->m);
	ret = f->exit;
	free(f);
	free(devs);
	return ret;
}
