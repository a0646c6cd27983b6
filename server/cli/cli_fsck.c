// SPDX-License-Identifier: GPL-2.0
/*
 * famfs-bpf fsck DEV...: read-only check.  The log is replayed into the
 * namespace with ns_replay(), as a mount does, so fsck refuses exactly the
 * entries a mount refuses, with the same message; then every file's space
 * is marked used in the allocator in mount's order (server/fs/fs.c,
 * build_alloc()), which refuses space two files claim or space outside a
 * device.  fsck checks beyond a mount: every device's label and size,
 * devices missing or extra, and it goes on past the first problem.  Each
 * problem is one line on @out; a summary line ends.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "cli.h"
#include "famfs_format.h"
#include "fs/fs.h"
#include "fs/log.h"
#include "fs/ns.h"
#include "fs/super.h"

/* Overlaps fsck names one by one; past that, it counts them. */
#define MAX_CLAIMS 32

struct fsck {
	FILE *out;
	int problems;
	int exit;
	struct ns *ns;		/* the namespace, as a mount's replay makes it */
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

/* A file's space that another file had already. */
struct fsck_claim {
	__u64 ino, owner;
	struct fbs_alloc_range bad;
};

/*
 * The space pass: mount's (server/fs/fs.c, build_alloc()), over the same
 * namespace in the same order (ns_foreach_layout()), so the first
 * problem it finds is the one a mount names; fsck goes on to the rest.
 */
struct space {
	struct fsck *f;
	struct fbs_alloc *a;
	struct fbs_dev_range *r;	/* one file's units */
	size_t cap;
	struct fsck_claim claims[MAX_CLAIMS];
	__u64 nclaims;		/* all of them, MAX_CLAIMS named */
	__u64 claim;		/* owner pass: the claim looked for */
	__u64 gran;		/* the file system's: pages or units */
};

/*
 * A file's units (fbs_file_units(), as at mount) into sp->r; how many, or
 * -ENOMEM.  @report: a range the file maps twice is a problem.
 */
static ssize_t file_units(struct space *sp, __u64 ino, const struct fmap_simple_ext *simple,
			  __u32 nsimple, const struct fmap_ileave_ext *ileave, __u32 nileave,
			  bool report)
{
	struct fbs_dev_range twice;
	long n = fbs_file_units(&sp->r, &sp->cap, simple, nsimple, ileave, nileave, sp->gran,
				&twice);

	if (report && twice.end)
		problem(sp->f, CLI_EXIT_UNCORRECTED,
			"file ino %llu maps device %u [%llu, ...) twice",
			(unsigned long long)ino, twice.dev, (unsigned long long)twice.start);
	return n;
}

/* Every file's units into the allocator: claims and strays show. */
static int use_file(void *ctx, __u64 ino, const struct fmap_simple_ext *simple, __u32 nsimple,
		    const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	struct space *sp = ctx;
	ssize_t n = file_units(sp, ino, simple, nsimple, ileave, nileave, true), k;

	for (k = 0; k < n; k++) {
		struct fmap_simple_ext x = { .dev_off = sp->r[k].start,
					     .len = sp->r[k].end - sp->r[k].start,
					     .dev = sp->r[k].dev };
		int ret = fbs_alloc_use_simple(sp->a, &x, 1);

		if (ret == -EEXIST) {
			if (sp->nclaims < MAX_CLAIMS)
				sp->claims[sp->nclaims] = (struct fsck_claim){
					.ino = ino, .bad = sp->a->bad };
			sp->nclaims++;
		} else if (ret) {
			problem(sp->f, CLI_EXIT_UNCORRECTED,
				"file ino %llu: device %u [%llu, %llu) is outside the data area",
				(unsigned long long)ino, sp->r[k].dev,
				(unsigned long long)sp->r[k].start,
				(unsigned long long)sp->r[k].end);
		}
	}
	return n < 0 ? (int)n : 0;
}

/* Who else holds the claim's range: the first other file, as at mount. */
static int find_owner(void *ctx, __u64 ino, const struct fmap_simple_ext *simple,
		      __u32 nsimple, const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	struct space *sp = ctx;
	struct fsck_claim *c = &sp->claims[sp->claim];
	ssize_t n, k;

	if (ino == c->ino)
		return 0;
	n = file_units(sp, ino, simple, nsimple, ileave, nileave, false);
	for (k = 0; k < n; k++)
		if (sp->r[k].dev == c->bad.dev && sp->r[k].start < c->bad.dev_off + c->bad.len &&
		    c->bad.dev_off < sp->r[k].end) {
			c->owner = ino;
			return 1;
		}
	return n < 0 ? (int)n : 0;
}

/* Every live file's space into the allocator: overlaps and strays show. */
static int check_space(struct fsck *f, const struct famfs_mlog_devtab *devs, __u64 gran,
		       struct fbs_alloc_stat *st)
{
	struct fbs_alloc_geom geom[FBS_ALLOC_MAX_DEVS];
	struct fbs_alloc a;
	struct space *sp;
	__u64 k;
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
	if (!err && gran == FBS_ALLOC_PAGE) {
		err = fbs_alloc_enable_pages(&a);
		if (err)
			fbs_alloc_fini(&a);
	}
	if (err)
		return err;
	sp = calloc(1, sizeof(*sp));
	if (!sp) {
		fbs_alloc_fini(&a);
		return -ENOMEM;
	}
	sp->f = f;
	sp->a = &a;
	sp->gran = gran;
	err = ns_foreach_layout(f->ns, use_file, sp);
	for (k = 0; k < sp->nclaims && k < MAX_CLAIMS && err >= 0; k++) {
		struct fsck_claim *c = &sp->claims[k];

		sp->claim = k;
		err = ns_foreach_layout(f->ns, find_owner, sp);
		problem(f, CLI_EXIT_UNCORRECTED,
			"files ino %llu and ino %llu both claim device %u [%llu, +%llu)",
			(unsigned long long)c->owner, (unsigned long long)c->ino, c->bad.dev,
			(unsigned long long)c->bad.dev_off, (unsigned long long)c->bad.len);
	}
	if (sp->nclaims > MAX_CLAIMS)
		problem(f, CLI_EXIT_UNCORRECTED, "%llu more ranges claimed by two files",
			(unsigned long long)(sp->nclaims - MAX_CLAIMS));
	fbs_alloc_stat(&a, st);
	fbs_alloc_fini(&a);
	free(sp->r);
	free(sp);
	return err < 0 ? err : 0;
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
	struct famfs_mlog_area area;
	const struct ns_ops ops = { 0 };
	struct famfs_sb_info info;
	struct fbs_alloc_stat st;
	struct ns_statfs nst;
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
	/* mount's replay: the same rules, the same refusals, the same messages */
	f->ns = ns_new(&ops, NULL);
	if (!f->ns) {
		problem(f, CLI_EXIT_OPERATIONAL, "out of memory");
		goto out;
	}
	tab = info.devs;
	/* the current log: the region, or the half the last checkpoint wrote */
	famfs_mlog_pick(log, info.log_len, info.fs_uuid, &area);
	if (area.generation)
		fprintf(f->out, "log: checkpoint generation %u, at offset %llu of the region\n",
			area.generation, (unsigned long long)area.off);
	ns_replay(f->ns, (char *)log + area.off, area.len, info.fs_uuid, &tab, &res);
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
		(unsigned long long)res.end_off, (unsigned long long)area.len);

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

	err = check_space(f, &tab, info.flags & FAMFS_SB_F_PAGES ? FBS_ALLOC_PAGE : FBS_ALLOC_UNIT,
			  &st);
	if (err) {
		problem(f, CLI_EXIT_OPERATIONAL, "checking space: %s", strerror(-err));
		goto out;
	}
	ns_statfs(f->ns, &nst);
	/* directories: the root is not counted */
	fprintf(f->out, "%llu files, %llu directories; %llu MiB used, %llu MiB free of %llu MiB\n",
		(unsigned long long)nst.files, (unsigned long long)(nst.dirs - 1),
		(unsigned long long)((st.total - st.free) >> 20),
		(unsigned long long)(st.free >> 20), (unsigned long long)(st.total >> 20));
out:
	free(log);
	free(buf);
}

/*
 * --compact: a checkpoint by fs.c, as the owner (the log device's flock:
 * refused while mounted, where the daemon checkpoints by itself).  The
 * check that follows reads the new log.
 */
static int compact(int ndevs, char **paths, FILE *out)
{
	struct fs_compact_result r;
	struct fs *fs = NULL;
	char msg[256];
	int err;

	if (ndevs > FAMFS_MAX_DEVS)
		return CLI_EXIT_USAGE;
	err = fs_open((const char *const *)paths, ndevs, FS_OPEN_OWNER, &fs, msg, sizeof(msg));
	if (err) {
		fprintf(out, "compact: %s%s\n", msg,
			err == -EBUSY ? " (unmount it: a mounted file system checkpoints by itself)" :
					"");
		return err == -EUCLEAN ? CLI_EXIT_UNCORRECTED : CLI_EXIT_OPERATIONAL;
	}
	err = fs_compact(fs, &r);
	if (err)
		fprintf(out, "compact: %s\n", fs_msg());
	else
		fprintf(out, "compact: checkpoint generation %u: the log went from %llu to %llu bytes\n",
			r.generation, (unsigned long long)r.old_used,
			(unsigned long long)r.new_used);
	fs_close(fs);
	return err ? CLI_EXIT_OPERATIONAL : 0;
}

int cli_fsck(const struct cli_fsck_args *args, int ndevs, char **paths, FILE *out)
{
	struct fsck *f = calloc(1, sizeof(*f));
	struct cli_dev *devs = calloc(ndevs, sizeof(*devs));
	int i, opened = 0, ret;

	if (!f || !devs) {
		pr_err("fsck: out of memory");
		free(f);
		free(devs);
		return CLI_EXIT_OPERATIONAL;
	}
	f->out = out;
	if (args->compact) {
		f->exit |= compact(ndevs, paths, out);
		f->problems += !!f->exit;
	}
	for (i = 0; i < ndevs && !f->exit; i++, opened++)
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
	ns_free(f->ns);
	ret = f->exit;
	free(f);
	free(devs);
	return ret;
}
