// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of server/fs/ns.c, the namespace in memory: every live operation
 * and the errors it returns, the rules replay enforces on hostile entries,
 * journal failures that must leave no trace, open files that outlive their
 * name, readdir cookies that survive unlinks, a random history replayed
 * from its log into a namespace equal to the one that wrote it, queries
 * racing changes on two threads, and a 100,000-file replay.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <cmocka.h>

#include "fs/mlog.h"
#include "fs/ns.h"
#include "xorshift.h"

#define MiB (1ULL << 20)
#define UNIT (2 * MiB)
#define ROOT FAMFS_ROOT_INO
#define AFTER_DOTS 2		/* readdir cookie of "..": the names come after it */

static const __u8 uuid[FAMFS_UUID_SIZE] = {
	0x3c, 0x51, 0x08, 0x9e, 0x27, 0x4d, 0x4a, 0x90,
	0xb1, 0x6f, 0x12, 0x83, 0xd4, 0x5a, 0x0c, 0x77,
};

static const struct ns_cred cred = { .mode = 0644, .uid = 1000, .gid = 100 };

/* -------------------------------------------------------------------- */
/* A journal over a log in memory, told to fail when a test wants it to */

struct jlog {
	void *buf;
	size_t len;
	struct famfs_mlog_writer w;
	int fail;		/* the next append returns this */
	unsigned int appends;
	struct ns_journal j;
};

static int jlog_append(void *ctx, const struct famfs_mlog_entry *e)
{
	struct jlog *l = ctx;
	int err;

	if (l->fail) {
		err = l->fail;
		l->fail = 0;
		return err;
	}
	/* the namespace's idea of the sequence must be the log's */
	if (e->seq != l->w.next_seq)
		return -EIO;
	err = famfs_mlog_append(&l->w, e);
	if (!err)
		l->appends++;
	return err;
}

static struct jlog *jlog_new(size_t len)
{
	struct jlog *l = calloc(1, sizeof(*l));
	struct famfs_mlog_result res;

	assert_non_null(l);
	l->buf = calloc(1, len);
	assert_non_null(l->buf);
	l->len = len;
	assert_int_equal(famfs_mlog_format(l->buf, len, uuid, 1), 0);
	assert_int_equal(famfs_mlog_replay(l->buf, len, uuid, NULL, NULL, NULL, &res), 0);
	assert_int_equal(famfs_mlog_writer_init(&l->w, l->buf, len, uuid, &res), 0);
	l->j = (struct ns_journal){ .append = jlog_append, .ctx = l };
	return l;
}

static void jlog_free(struct jlog *l)
{
	free(l->buf);
	free(l);
}

/* -------------------------------------------------------------------- */
/* What release_extents reported */

struct released {
	unsigned int calls;
	__u64 ino;		/* of the last call */
	__u64 bytes;		/* file bytes, all calls */
	__u32 nsimple, nileave;	/* of the last call */
	struct fmap_simple_ext simple[128];
	struct fmap_ileave_ext ileave[FMAP_MAX_ILEAVE];
};

static void on_release(void *ctx, __u64 ino, const struct fmap_simple_ext *simple,
		       __u32 nsimple, const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	struct released *r = ctx;
	__u32 i;

	r->calls++;
	r->ino = ino;
	r->nsimple = nsimple;
	r->nileave = nileave;
	for (i = 0; i < nsimple; i++) {
		r->bytes += simple[i].len;
		if (i < 128)
			r->simple[i] = simple[i];
	}
	for (i = 0; i < nileave; i++) {
		r->bytes += ileave[i].len;
		if (i < FMAP_MAX_ILEAVE)
			r->ileave[i] = ileave[i];
	}
}

static const struct ns_ops release_ops = { .release_extents = on_release };

/* -------------------------------------------------------------------- */
/* The whole namespace as text: every inode, name, extent, and the counts */

struct attrs {
	struct ns_attr *a;
	size_t n, cap;
};

static int collect_attr(void *ctx, const struct ns_attr *a)
{
	struct attrs *v = ctx;

	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 64;
		v->a = realloc(v->a, v->cap * sizeof(*v->a));
		assert_non_null(v->a);
	}
	v->a[v->n++] = *a;
	return 0;
}

static int attr_cmp(const void *x, const void *y)
{
	const struct ns_attr *a = x, *b = y;

	return a->ino < b->ino ? -1 : a->ino > b->ino;
}

static void collect(struct ns *ns, struct attrs *v)
{
	memset(v, 0, sizeof(*v));
	assert_int_equal(ns_foreach_inode(ns, collect_attr, v), 0);
	qsort(v->a, v->n, sizeof(*v->a), attr_cmp);
}

static int dump_dirent(void *ctx, const struct ns_dirent *d)
{
	fprintf(ctx, "  %llu %s -> %llu %o\n", (unsigned long long)d->cookie, d->name,
		(unsigned long long)d->ino, d->mode);
	return 0;
}

static int dump_layout(void *ctx, __u64 ino, const struct fmap_simple_ext *simple,
		       __u32 nsimple, const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	FILE *f = ctx;
	__u32 i, s;

	(void)ino;
	for (i = 0; i < nsimple; i++)
		fprintf(f, "  s %llx+%llx @%u:%llx\n", (unsigned long long)simple[i].file_off,
			(unsigned long long)simple[i].len, simple[i].dev,
			(unsigned long long)simple[i].dev_off);
	for (i = 0; i < nileave; i++) {
		fprintf(f, "  i %llx+%llx %u/%u", (unsigned long long)ileave[i].file_off,
			(unsigned long long)ileave[i].len, ileave[i].nstrips,
			ileave[i].chunk_shift);
		for (s = 0; s < ileave[i].nstrips; s++)
			fprintf(f, " %u:%llx", ileave[i].strips[s].dev,
				(unsigned long long)ileave[i].strips[s].dev_off);
		fputc('\n', f);
	}
	return 0;
}

/* Names in order, each value's length and bytes in hex. */
static void dump_xattrs(struct ns *ns, FILE *f, __u64 ino)
{
	char names[FAMFS_XATTR_SPACE], *nm;
	unsigned char val[FAMFS_XATTR_VALUE_MAX];
	ssize_t n = ns_xattr_list(ns, ino, names, sizeof(names)), v, i;

	assert_true(n >= 0);
	for (nm = names; nm < names + n; nm += strlen(nm) + 1) {
		v = ns_xattr_get(ns, ino, nm, val, sizeof(val));
		assert_true(v >= 0);
		fprintf(f, "  xattr %s %zd ", nm, v);
		for (i = 0; i < v; i++)
			fprintf(f, "%02x", val[i]);
		fputc('\n', f);
	}
}

/*
 * A linked tmpfile keeps the generation the kernel knows it by, which no
 * entry says (a replay gives it the CREATE's): tests of tmpfiles leave
 * generations out.
 */
static bool dump_no_gen;

static void dump_inode(struct ns *ns, FILE *f, const struct ns_attr *a)
{
	char target[FAMFS_SYMLINK_MAX + 1];
	ssize_t n;

	fprintf(f, "%llu gen %llu mode %o uid %u gid %u nlink %u size %llu mapped %llu "
		"a %lld.%u m %lld.%u c %lld.%u\n",
		(unsigned long long)a->ino,
		dump_no_gen ? 0ULL : (unsigned long long)a->generation, a->mode,
		a->uid, a->gid, a->nlink, (unsigned long long)a->size,
		(unsigned long long)a->mapped, (long long)a->atime.sec, a->atime.nsec,
		(long long)a->mtime.sec, a->mtime.nsec, (long long)a->ctime.sec, a->ctime.nsec);
	if (a->has_stripe)
		fprintf(f, "  stripe %u/%u\n", a->nstrips, a->chunk_shift);
	if (a->kind)
		fprintf(f, "  class %u\n", a->kind);
	dump_xattrs(ns, f, a->ino);
	if (S_ISDIR(a->mode)) {
		assert_int_equal(ns_readdir(ns, a->ino, 0, dump_dirent, f), 0);
	} else if (S_ISREG(a->mode)) {
		assert_int_equal(ns_get_layout(ns, a->ino, dump_layout, f), 0);
	} else {
		n = ns_readlink(ns, a->ino, target, sizeof(target));
		assert_true(n > 0 && n < (ssize_t)sizeof(target));
		fprintf(f, "  -> %s\n", target);
	}
}

static char *dump(struct ns *ns)
{
	struct ns_statfs st;
	struct attrs v;
	size_t len, i;
	char *buf;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	collect(ns, &v);
	for (i = 0; i < v.n; i++)
		dump_inode(ns, f, &v.a[i]);
	ns_statfs(ns, &st);
	fprintf(f, "inodes %llu files %llu dirs %llu symlinks %llu orphans %llu max %llu\n",
		(unsigned long long)st.inodes, (unsigned long long)st.files,
		(unsigned long long)st.dirs, (unsigned long long)st.symlinks,
		(unsigned long long)st.orphans, (unsigned long long)st.max_ino);
	fclose(f);
	free(v.a);
	return buf;
}

/* Fail naming the first line where two dumps differ. */
static void assert_same(const char *a, const char *b)
{
	size_t la, lb;

	while (*a || *b) {
		la = strcspn(a, "\n");
		lb = strcspn(b, "\n");
		if (la != lb || memcmp(a, b, la))
			fail_msg("namespaces differ:\n  %.*s\n  %.*s", (int)la, a, (int)lb, b);
		a += la + (a[la] == '\n');
		b += lb + (b[lb] == '\n');
	}
}

/* The dump now is @before: the operation just refused changed nothing. */
static void assert_unchanged(struct ns *ns, char *before)
{
	char *after = dump(ns);

	assert_same(before, after);
	free(after);
	free(before);
}

/* -------------------------------------------------------------------- */
/* Helpers */

static __u64 mkdir_ok(struct ns *ns, struct jlog *l, __u64 parent, const char *name)
{
	const struct ns_cred dcred = { 0755, 1000, 100 };
	__u64 ino = 0;

	assert_int_equal(ns_mkdir(ns, l ? &l->j : NULL, parent, name, &dcred, &ino), 0);
	return ino;
}

static __u64 create_ok(struct ns *ns, struct jlog *l, __u64 parent, const char *name)
{
	__u64 ino = 0;

	assert_int_equal(ns_create(ns, l ? &l->j : NULL, parent, name, &cred, &ino), 0);
	return ino;
}

static struct fmap_simple_ext simple_ext(__u64 file_off, __u64 len, __u32 dev, __u64 dev_off)
{
	return (struct fmap_simple_ext){ .file_off = file_off, .len = len, .dev_off = dev_off,
					 .dev = dev };
}

/* Strip s on device s % 2, at dev_off + s * gap. */
static struct fmap_ileave_ext ileave_ext(__u64 file_off, __u64 len, __u32 nstrips,
					 __u64 dev_off, __u64 gap)
{
	struct fmap_ileave_ext ie;
	__u32 s;

	memset(&ie, 0, sizeof(ie));
	ie.file_off = file_off;
	ie.len = len;
	ie.nstrips = (__u8)nstrips;
	ie.chunk_shift = 21;
	for (s = 0; s < nstrips; s++) {
		ie.strips[s].dev = s % 2;
		ie.strips[s].dev_off = dev_off + s * gap;
	}
	return ie;
}

/*
 * A file with simple extents [0, n * UNIT), one unit each, from dev_off
 * with a unit between them (contiguous ones would be one extent).
 */
static __u64 file_with_units(struct ns *ns, struct jlog *l, __u64 parent, const char *name,
			     __u32 n, __u64 dev_off)
{
	struct fmap_simple_ext x[8];
	__u64 ino = create_ok(ns, l, parent, name);
	__u32 i;

	assert_true(n <= 8);
	for (i = 0; i < n; i++)
		x[i] = simple_ext(i * UNIT, UNIT, 0, dev_off + 2 * i * UNIT);
	assert_int_equal(ns_alloc(ns, l ? &l->j : NULL, ino, x, n, NULL, 0), 0);
	return ino;
}

static __u32 nlink_of(struct ns *ns, __u64 ino)
{
	struct ns_attr a;

	assert_int_equal(ns_getattr(ns, ino, &a), 0);
	return a.nlink;
}

static __u64 lookup(struct ns *ns, __u64 parent, const char *name)
{
	__u64 ino = 0;

	return ns_lookup(ns, parent, name, &ino) ? 0 : ino;
}

/* -------------------------------------------------------------------- */
/* Live operations */

static void create_lookup_getattr(void **state)
{
	struct jlog *l = jlog_new(64 * 1024);
	struct ns *ns = ns_new(NULL, NULL);
	const struct ns_cred typed = { S_IFREG | 04755, 7, 8 };
	struct ns_statfs st;
	struct ns_attr a, d;
	__u64 dir, f, s, ino;
	char buf[64];

	(void)state;
	assert_non_null(ns);
	assert_int_equal(ns_getattr(ns, ROOT, &a), 0);
	assert_int_equal(a.mode, S_IFDIR | 0755);
	assert_int_equal(a.nlink, 2);

	dir = mkdir_ok(ns, l, ROOT, "d");
	assert_int_equal(dir, 2);
	assert_int_equal(nlink_of(ns, ROOT), 3);
	f = create_ok(ns, l, dir, "f");
	assert_int_equal(f, 3);
	assert_int_equal(ns_symlink(ns, &l->j, ROOT, "l", "d/f", &cred, &s), 0);
	assert_int_equal(s, 4);
	assert_int_equal(ns_create(ns, &l->j, dir, "typed", &typed, &ino), 0);
	assert_int_equal(l->appends, 4);

	assert_int_equal(ns_getattr(ns, dir, &d), 0);
	assert_int_equal(d.mode, S_IFDIR | 0755);
	assert_int_equal(d.nlink, 2);
	assert_int_equal(d.generation, 1);
	assert_int_equal(ns_getattr(ns, f, &a), 0);
	assert_int_equal(a.mode, S_IFREG | 0644);
	assert_int_equal(a.uid, 1000);
	assert_int_equal(a.gid, 100);
	assert_int_equal(a.nlink, 1);
	assert_int_equal(a.size, 0);
	assert_int_equal(a.generation, 2);
	assert_true(a.ctime.sec > 1600000000);
	/* the directory changed when its last name came */
	assert_int_equal(ns_getattr(ns, ino, &a), 0);
	assert_int_equal(a.mode, S_IFREG | 04755);
	assert_int_equal(ns_getattr(ns, dir, &d), 0);
	assert_int_equal(d.mtime.sec, a.ctime.sec);
	assert_int_equal(d.mtime.nsec, a.ctime.nsec);
	assert_int_equal(d.ctime.nsec, a.ctime.nsec);
	assert_int_equal(ns_getattr(ns, s, &a), 0);
	assert_int_equal(a.mode, S_IFLNK | 0644);
	assert_int_equal(a.size, 3);

	assert_int_equal(ns_readlink(ns, s, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "d/f");
	assert_int_equal(ns_readlink(ns, f, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(ns_readlink(ns, 99, buf, sizeof(buf)), -ENOENT);

	assert_int_equal(lookup(ns, ROOT, "d"), dir);
	assert_int_equal(lookup(ns, dir, "f"), f);
	assert_int_equal(lookup(ns, dir, "."), dir);
	assert_int_equal(lookup(ns, dir, ".."), ROOT);
	assert_int_equal(lookup(ns, ROOT, ".."), ROOT);
	assert_int_equal(ns_lookup(ns, dir, "nope", &ino), -ENOENT);
	assert_int_equal(ns_lookup(ns, f, "x", &ino), -ENOTDIR);
	assert_int_equal(ns_lookup(ns, 99, "x", &ino), -ENOENT);
	assert_int_equal(ns_getattr(ns, 99, &a), -ENOENT);

	ns_statfs(ns, &st);
	assert_int_equal(st.inodes, 5);
	assert_int_equal(st.files, 2);
	assert_int_equal(st.dirs, 2);
	assert_int_equal(st.symlinks, 1);
	assert_int_equal(st.orphans, 0);
	assert_int_equal(st.max_ino, 5);
	ns_free(ns);
	jlog_free(l);
}

/* What is made in a setgid directory takes its group; a subdirectory its bit. */
static void setgid_directory(void **state)
{
	struct jlog *l = jlog_new(64 * 1024);
	struct ns *ns = ns_new(NULL, NULL);
	struct ns *again = ns_new(NULL, NULL);
	const struct ns_cred sgid = { 02775, 0, 50 };
	const struct ns_cred plain_cred = { 0755, 1000, 100 };
	struct famfs_mlog_result res;
	__u64 dir, f, sub, plain, pf, ino[4];
	struct ns_attr a;
	int i;

	(void)state;
	assert_int_equal(ns_mkdir(ns, &l->j, ROOT, "shared", &sgid, &dir), 0);
	assert_int_equal(ns_create(ns, &l->j, dir, "f", &cred, &f), 0);
	assert_int_equal(ns_mkdir(ns, &l->j, dir, "sub", &plain_cred, &sub), 0);
	assert_int_equal(ns_mkdir(ns, &l->j, ROOT, "plain", &plain_cred, &plain), 0);
	assert_int_equal(ns_create(ns, &l->j, plain, "f", &cred, &pf), 0);
	ino[0] = f, ino[1] = sub, ino[2] = pf, ino[3] = dir;

	assert_int_equal(ns_replay(again, l->buf, l->len, uuid, NULL, &res), 0);
	for (i = 0; i < 2; i++) {
		struct ns *n = i ? again : ns;

		assert_int_equal(ns_getattr(n, ino[0], &a), 0);
		assert_int_equal(a.gid, 50);		/* the directory's, not 100 */
		assert_int_equal(a.uid, 1000);
		assert_int_equal(a.mode, S_IFREG | 0644);
		assert_int_equal(ns_getattr(n, ino[1], &a), 0);
		assert_int_equal(a.gid, 50);
		assert_int_equal(a.mode, S_IFDIR | 02755);	/* inherits S_ISGID */
		assert_int_equal(ns_getattr(n, ino[2], &a), 0);
		assert_int_equal(a.gid, 100);		/* no setgid: the caller's */
		assert_int_equal(ns_getattr(n, ino[3], &a), 0);
		assert_int_equal(a.mode, S_IFDIR | 02775);
	}
	ns_free(again);
	ns_free(ns);
	jlog_free(l);
}

static void mknod_errors(void **state)
{
	struct jlog *l = jlog_new(64 * 1024);
	struct ns *ns = ns_new(NULL, NULL);
	char longname[FAMFS_NAME_MAX + 2], longtarget[FAMFS_SYMLINK_MAX + 2];
	__u64 dir, f, ino;
	char *before;

	(void)state;
	dir = mkdir_ok(ns, l, ROOT, "d");
	f = create_ok(ns, l, dir, "f");
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memset(longtarget, 't', sizeof(longtarget) - 1);
	longtarget[sizeof(longtarget) - 1] = '\0';

	before = dump(ns);
	assert_int_equal(ns_create(ns, &l->j, 99, "x", &cred, &ino), -ENOENT);
	assert_int_equal(ns_mkdir(ns, &l->j, f, "x", &cred, &ino), -ENOTDIR);
	assert_int_equal(ns_create(ns, &l->j, dir, "f", &cred, &ino), -EEXIST);
	assert_int_equal(ns_mkdir(ns, &l->j, ROOT, "d", &cred, &ino), -EEXIST);
	assert_int_equal(ns_symlink(ns, &l->j, dir, "f", "t", &cred, &ino), -EEXIST);
	assert_int_equal(ns_create(ns, &l->j, dir, "", &cred, &ino), -EINVAL);
	assert_int_equal(ns_create(ns, &l->j, dir, ".", &cred, &ino), -EINVAL);
	assert_int_equal(ns_create(ns, &l->j, dir, "..", &cred, &ino), -EINVAL);
	assert_int_equal(ns_create(ns, &l->j, dir, "a/b", &cred, &ino), -EINVAL);
	assert_int_equal(ns_create(ns, &l->j, dir, longname, &cred, &ino), -ENAMETOOLONG);
	assert_int_equal(ns_symlink(ns, &l->j, dir, "s", "", &cred, &ino), -ENOENT);
	assert_int_equal(ns_symlink(ns, &l->j, dir, "s", longtarget, &cred, &ino),
			 -ENAMETOOLONG);
	assert_int_equal(l->appends, 2);
	assert_unchanged(ns, before);

	/* the longest name and target are fine */
	longname[FAMFS_NAME_MAX] = '\0';
	longtarget[FAMFS_SYMLINK_MAX] = '\0';
	assert_int_equal(ns_symlink(ns, &l->j, dir, longname, longtarget, &cred, &ino), 0);
	assert_int_equal(ns_readlink(ns, ino, longtarget, sizeof(longtarget)), FAMFS_SYMLINK_MAX);
	assert_int_equal(lookup(ns, dir, longname), ino);
	ns_free(ns);
	jlog_free(l);
}

static void unlink_rmdir(void **state)
{
	struct released r = { 0 };
	struct jlog *l = jlog_new(64 * 1024);
	struct ns *ns = ns_new(&release_ops, &r);
	struct ns_statfs st;
	__u64 dir, sub, f, s;

	(void)state;
	dir = mkdir_ok(ns, l, ROOT, "d");
	sub = mkdir_ok(ns, l, dir, "sub");
	f = file_with_units(ns, l, dir, "f", 3, 64 * MiB);
	assert_int_equal(ns_symlink(ns, &l->j, ROOT, "s", "d", &cred, &s), 0);
	assert_int_equal(nlink_of(ns, dir), 3);

	assert_int_equal(ns_unlink(ns, &l->j, dir, "nope"), -ENOENT);
	assert_int_equal(ns_unlink(ns, &l->j, 99, "f"), -ENOENT);
	assert_int_equal(ns_unlink(ns, &l->j, f, "f"), -ENOTDIR);
	assert_int_equal(ns_unlink(ns, &l->j, dir, "sub"), -EISDIR);
	assert_int_equal(ns_rmdir(ns, &l->j, dir, "f"), -ENOTDIR);
	assert_int_equal(ns_rmdir(ns, &l->j, ROOT, "d"), -ENOTEMPTY);
	assert_int_equal(ns_rmdir(ns, &l->j, ROOT, ".."), -EINVAL);
	assert_int_equal(r.calls, 0);

	assert_int_equal(ns_unlink(ns, &l->j, dir, "f"), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.ino, f);
	assert_int_equal(r.nsimple, 3);
	assert_int_equal(r.bytes, 3 * UNIT);
	assert_int_equal(r.simple[2].dev_off, 64 * MiB + 4 * UNIT);
	assert_int_equal(lookup(ns, dir, "f"), 0);
	assert_int_equal(ns_getattr(ns, f, &(struct ns_attr){ 0 }), -ENOENT);
	assert_int_equal(ns_rmdir(ns, &l->j, ROOT, "d"), -ENOTEMPTY);
	assert_int_equal(ns_rmdir(ns, &l->j, dir, "sub"), 0);
	assert_int_equal(nlink_of(ns, dir), 2);
	assert_int_equal(ns_getattr(ns, sub, &(struct ns_attr){ 0 }), -ENOENT);
	assert_int_equal(ns_rmdir(ns, &l->j, ROOT, "d"), 0);
	assert_int_equal(nlink_of(ns, ROOT), 2);
	assert_int_equal(ns_unlink(ns, &l->j, ROOT, "s"), 0);
	assert_int_equal(r.calls, 1);	/* nothing to release for the others */

	ns_statfs(ns, &st);
	assert_int_equal(st.inodes, 1);
	assert_int_equal(st.files + st.symlinks, 0);
	assert_int_equal(st.dirs, 1);
	assert_int_equal(st.max_ino, 5);
	/* numbers are never reused */
	assert_int_equal(create_ok(ns, l, ROOT, "f"), 6);
	ns_free(ns);
	jlog_free(l);
}

static void rename_moves_and_replaces(void **state)
{
	struct released r = { 0 };
	struct jlog *l = jlog_new(64 * 1024);
	struct ns *ns = ns_new(&release_ops, &r);
	__u64 a, b, f, g, sub, empty, full, ino;
	unsigned int appends;

	(void)state;
	a = mkdir_ok(ns, l, ROOT, "a");
	b = mkdir_ok(ns, l, ROOT, "b");
	f = file_with_units(ns, l, a, "f", 1, 64 * MiB);
	g = file_with_units(ns, l, b, "g", 2, 128 * MiB);
	sub = mkdir_ok(ns, l, a, "sub");
	empty = mkdir_ok(ns, l, b, "empty");
	full = mkdir_ok(ns, l, b, "full");
	create_ok(ns, l, full, "x");

	/* a file to another directory and name */
	assert_int_equal(ns_rename(ns, &l->j, a, "f", b, "f2", 0), 0);
	assert_int_equal(lookup(ns, a, "f"), 0);
	assert_int_equal(lookup(ns, b, "f2"), f);
	/* a directory: ".." and both link counts follow */
	assert_int_equal(nlink_of(ns, a), 3);
	assert_int_equal(ns_rename(ns, &l->j, a, "sub", b, "sub", 0), 0);
	assert_int_equal(nlink_of(ns, a), 2);
	assert_int_equal(nlink_of(ns, b), 5);
	assert_int_equal(lookup(ns, sub, ".."), b);

	/* over an existing file: it goes, with its space */
	assert_int_equal(ns_rename(ns, &l->j, b, "f2", b, "g", 0), 0);
	assert_int_equal(lookup(ns, b, "g"), f);
	assert_int_equal(lookup(ns, b, "f2"), 0);
	assert_int_equal(ns_getattr(ns, g, &(struct ns_attr){ 0 }), -ENOENT);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.ino, g);
	assert_int_equal(r.bytes, 2 * UNIT);

	/* incompatible or busy targets */
	appends = l->appends;
	assert_int_equal(ns_rename(ns, &l->j, b, "g", b, "empty", 0), -EISDIR);
	assert_int_equal(ns_rename(ns, &l->j, b, "sub", b, "g", 0), -ENOTDIR);
	assert_int_equal(ns_rename(ns, &l->j, b, "sub", b, "full", 0), -ENOTEMPTY);
	assert_int_equal(ns_rename(ns, &l->j, b, "g", b, "sub", NS_RENAME_NOREPLACE), -EEXIST);
	assert_int_equal(ns_rename(ns, &l->j, b, "g", b, "h",
				   NS_RENAME_NOREPLACE | NS_RENAME_EXCHANGE), -EINVAL);
	assert_int_equal(ns_rename(ns, &l->j, b, "g", b, "h", 1U << 2), -EINVAL);
	assert_int_equal(ns_rename(ns, &l->j, b, "nope", b, "h", 0), -ENOENT);
	assert_int_equal(ns_rename(ns, &l->j, b, "g", 99, "h", 0), -ENOENT);
	assert_int_equal(ns_rename(ns, &l->j, b, "g", f, "h", 0), -ENOTDIR);
	assert_int_equal(ns_rename(ns, &l->j, b, "g", b, "g", 0), 0);	/* itself */
	assert_int_equal(ns_rename(ns, &l->j, b, "g", b, "g", NS_RENAME_EXCHANGE), 0);
	assert_int_equal(ns_rename(ns, &l->j, b, "g", b, "g", NS_RENAME_NOREPLACE), -EEXIST);
	/* a directory into itself or below */
	assert_int_equal(ns_rename(ns, &l->j, ROOT, "b", b, "b2", 0), -EINVAL);
	assert_int_equal(ns_rename(ns, &l->j, ROOT, "b", sub, "b2", 0), -EINVAL);
	assert_int_equal(l->appends, appends);

	/* a directory over an empty one */
	assert_int_equal(ns_rename(ns, &l->j, b, "sub", b, "empty", 0), 0);
	assert_int_equal(lookup(ns, b, "empty"), sub);
	assert_int_equal(ns_getattr(ns, empty, &(struct ns_attr){ 0 }), -ENOENT);
	assert_int_equal(nlink_of(ns, b), 4);	/* sub (as "empty"), full */

	/* exchange a file and a directory across directories */
	assert_int_equal(ns_mkdir(ns, &l->j, a, "d2", &cred, &ino), 0);
	assert_int_equal(ns_rename(ns, &l->j, b, "g", a, "d2", NS_RENAME_EXCHANGE), 0);
	assert_int_equal(lookup(ns, b, "g"), ino);
	assert_int_equal(lookup(ns, a, "d2"), f);
	assert_int_equal(lookup(ns, ino, ".."), b);
	assert_int_equal(nlink_of(ns, a), 2);
	assert_int_equal(nlink_of(ns, b), 5);
	assert_int_equal(ns_rename(ns, &l->j, b, "g", a, "none", NS_RENAME_EXCHANGE), -ENOENT);
	/* nor with its own child, either way */
	create_ok(ns, l, ino, "child");
	assert_int_equal(ns_rename(ns, &l->j, b, "g", ino, "child", NS_RENAME_EXCHANGE), -EINVAL);
	assert_int_equal(ns_rename(ns, &l->j, ino, "child", b, "g", NS_RENAME_EXCHANGE), -EINVAL);
	assert_int_equal(r.calls, 1);
	ns_free(ns);
	jlog_free(l);
}

static void setattr_fields(void **state)
{
	struct jlog *l = jlog_new(64 * 1024);
	struct ns *ns = ns_new(NULL, NULL);
	struct ns_setattr sa = { 0 };
	struct ns_attr a, b;
	__u64 dir, f, s;

	(void)state;
	dir = mkdir_ok(ns, l, ROOT, "d");
	f = create_ok(ns, l, dir, "f");
	assert_int_equal(ns_symlink(ns, &l->j, dir, "s", "f", &cred, &s), 0);
	assert_int_equal(ns_getattr(ns, f, &a), 0);

	sa = (struct ns_setattr){ .valid = FAMFS_SETATTR_ATIME | FAMFS_SETATTR_MTIME,
				  .atime = { 5, 6 }, .mtime = { -7, 8 } };
	assert_int_equal(ns_setattr(ns, &l->j, f, &sa), 0);
	assert_int_equal(ns_getattr(ns, f, &b), 0);
	assert_int_equal(b.atime.sec, 5);
	assert_int_equal(b.atime.nsec, 6);
	assert_int_equal(b.mtime.sec, -7);
	assert_int_equal(b.ctime.sec, a.ctime.sec);	/* times alone keep ctime */
	assert_int_equal(b.ctime.nsec, a.ctime.nsec);

	sa = (struct ns_setattr){ .valid = FAMFS_SETATTR_MODE | FAMFS_SETATTR_UID |
				  FAMFS_SETATTR_GID | FAMFS_SETATTR_SIZE,
				  .mode = S_IFDIR | 01700, .uid = 1, .gid = 2, .size = 12345 };
	assert_int_equal(ns_setattr(ns, &l->j, f, &sa), 0);
	assert_int_equal(ns_getattr(ns, f, &b), 0);
	assert_int_equal(b.mode, S_IFREG | 01700);
	assert_int_equal(b.uid, 1);
	assert_int_equal(b.gid, 2);
	assert_int_equal(b.size, 12345);
	assert_true(b.ctime.sec >= a.ctime.sec && b.ctime.sec > 1600000000);

	sa = (struct ns_setattr){ .valid = FAMFS_SETATTR_CTIME | FAMFS_SETATTR_UID,
				  .uid = 3, .ctime = { 42, 43 } };
	assert_int_equal(ns_setattr(ns, &l->j, dir, &sa), 0);
	assert_int_equal(ns_getattr(ns, dir, &b), 0);
	assert_int_equal(b.ctime.sec, 42);
	assert_int_equal(b.uid, 3);
	assert_int_equal(b.mode, S_IFDIR | 0755);

	assert_int_equal(l->appends, 6);
	sa = (struct ns_setattr){ .valid = FAMFS_SETATTR_SIZE, .size = 1 };
	assert_int_equal(ns_setattr(ns, &l->j, dir, &sa), -EISDIR);
	assert_int_equal(ns_setattr(ns, &l->j, s, &sa), -EINVAL);
	assert_int_equal(ns_setattr(ns, &l->j, 99, &sa), -ENOENT);
	sa.valid = 1U << 7;
	assert_int_equal(ns_setattr(ns, &l->j, f, &sa), -EINVAL);
	sa.valid = 0;
	assert_int_equal(ns_setattr(ns, &l->j, f, &sa), 0);
	assert_int_equal(l->appends, 6);
	ns_free(ns);
	jlog_free(l);
}

struct layout_copy {
	__u32 nsimple, nileave;
	struct fmap_simple_ext simple[16];
	struct fmap_ileave_ext ileave[FMAP_MAX_ILEAVE];
};

static int copy_layout(void *ctx, __u64 ino, const struct fmap_simple_ext *simple,
		       __u32 nsimple, const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	struct layout_copy *c = ctx;

	(void)ino;
	assert_true(nsimple <= 16);
	c->nsimple = nsimple;
	c->nileave = nileave;
	if (nsimple)
		memcpy(c->simple, simple, nsimple * sizeof(*simple));
	if (nileave)
		memcpy(c->ileave, ileave, nileave * sizeof(*ileave));
	return 0;
}

static void get_layout(struct ns *ns, __u64 ino, struct layout_copy *c)
{
	assert_int_equal(ns_get_layout(ns, ino, copy_layout, c), 0);
}

static __u64 mapped_of(struct ns *ns, __u64 ino)
{
	struct ns_attr a;

	assert_int_equal(ns_getattr(ns, ino, &a), 0);
	return a.mapped;
}

static void alloc_extents(void **state)
{
	struct jlog *l = jlog_new(64 * 1024);
	struct ns *ns = ns_new(NULL, NULL);
	struct fmap_simple_ext x[2];
	struct fmap_ileave_ext ie[5];
	struct layout_copy c;
	__u64 f, dir, s;
	char *before;
	__u32 i;

	(void)state;
	dir = mkdir_ok(ns, l, ROOT, "d");
	f = create_ok(ns, l, dir, "f");
	assert_int_equal(ns_symlink(ns, &l->j, dir, "s", "f", &cred, &s), 0);

	x[0] = simple_ext(0, 4 * MiB, 0, 100 * MiB);
	x[1] = simple_ext(8 * MiB, 2 * MiB, 1, 200 * MiB);
	assert_int_equal(ns_alloc(ns, &l->j, f, x, 2, NULL, 0), 0);
	/* one between them: kept sorted */
	x[0] = simple_ext(4 * MiB, 2 * MiB, 0, 300 * MiB);
	assert_int_equal(ns_alloc(ns, &l->j, f, x, 1, NULL, 0), 0);
	get_layout(ns, f, &c);
	assert_int_equal(c.nsimple, 3);
	assert_int_equal(c.simple[0].file_off, 0);
	assert_int_equal(c.simple[1].file_off, 4 * MiB);
	assert_int_equal(c.simple[1].dev_off, 300 * MiB);
	assert_int_equal(c.simple[2].file_off, 8 * MiB);
	assert_int_equal(mapped_of(ns, f), 8 * MiB);

	ie[0] = ileave_ext(32 * MiB, 16 * MiB, 2, 1024 * MiB, 64 * MiB);
	assert_int_equal(ns_alloc(ns, &l->j, f, NULL, 0, ie, 1), 0);
	assert_int_equal(mapped_of(ns, f), 24 * MiB);

	before = dump(ns);
	x[0] = simple_ext(5 * MiB, 4096, 0, 400 * MiB);		/* inside a simple one */
	assert_int_equal(ns_alloc(ns, &l->j, f, x, 1, NULL, 0), -EINVAL);
	x[0] = simple_ext(30 * MiB, 4 * MiB, 0, 400 * MiB);	/* into the interleaved one */
	assert_int_equal(ns_alloc(ns, &l->j, f, x, 1, NULL, 0), -EINVAL);
	ie[1] = ileave_ext(9 * MiB, 4 * MiB, 1, 500 * MiB, 0);	/* over a simple one */
	assert_int_equal(ns_alloc(ns, &l->j, f, NULL, 0, &ie[1], 1), -EINVAL);
	ie[1] = ileave_ext(40 * MiB, 4 * MiB, 1, 500 * MiB, 0);	/* over the interleaved */
	assert_int_equal(ns_alloc(ns, &l->j, f, NULL, 0, &ie[1], 1), -EINVAL);
	x[0] = simple_ext(64 * MiB, 2 * MiB, 0, 400 * MiB);
	assert_int_equal(ns_alloc(ns, &l->j, dir, x, 1, NULL, 0), -EISDIR);
	assert_int_equal(ns_alloc(ns, &l->j, s, x, 1, NULL, 0), -EINVAL);
	assert_int_equal(ns_alloc(ns, &l->j, 99, x, 1, NULL, 0), -ENOENT);
	assert_int_equal(ns_alloc(ns, &l->j, f, x, FAMFS_LOG_MAX_SIMPLE + 1, NULL, 0), -E2BIG);
	assert_int_equal(ns_alloc(ns, &l->j, f, NULL, 0, NULL, 0), 0);
	assert_unchanged(ns, before);

	/* at most FMAP_MAX_ILEAVE interleaved extents in a file */
	for (i = 1; i < 5; i++)
		ie[i] = ileave_ext((64 + 16 * i) * MiB, 8 * MiB, 4, (2048 + 64 * i) * MiB, 16 * MiB);
	assert_int_equal(ns_alloc(ns, &l->j, f, NULL, 0, &ie[1], 3), 0);
	before = dump(ns);
	assert_int_equal(ns_alloc(ns, &l->j, f, NULL, 0, &ie[4], 1), -EFBIG);
	assert_unchanged(ns, before);
	get_layout(ns, f, &c);
	assert_int_equal(c.nileave, 4);
	for (i = 1; i < 4; i++)
		assert_true(c.ileave[i - 1].file_off < c.ileave[i].file_off);
	ns_free(ns);
	jlog_free(l);
}

/* Does what a punch released map [off, end) exactly as @orig did? */
static void assert_released_tail(const struct released *r, const struct fmap_ileave_ext *orig,
				 __u64 off, __u64 end)
{
	struct fmap_mapping want, got;
	__u64 pos;
	__u32 i, hits;

	for (pos = off; pos < end; pos += 4096) {
		assert_int_equal(fmap_ileave_resolve(orig, pos, &want), 0);
		hits = 0;
		for (i = 0; i < r->nsimple; i++)
			if (!fmap_simple_map(&r->simple[i], pos, &got)) {
				hits++;
				assert_int_equal(got.dev, want.dev);
				assert_int_equal(got.dev_off, want.dev_off);
			}
		for (i = 0; i < r->nileave; i++)
			if (!fmap_ileave_resolve(&r->ileave[i], pos, &got)) {
				hits++;
				assert_int_equal(got.dev, want.dev);
				assert_int_equal(got.dev_off, want.dev_off);
			}
		assert_int_equal(hits, 1);
	}
}

static void punch_extents(void **state)
{
	struct released r = { 0 };
	struct jlog *l = jlog_new(64 * 1024);
	struct ns *ns = ns_new(&release_ops, &r);
	struct fmap_ileave_ext ie, ie2;
	struct fmap_simple_ext x[2];
	struct layout_copy c;
	unsigned int appends;
	char *before;
	__u64 f, d;

	(void)state;
	f = create_ok(ns, l, ROOT, "f");
	d = mkdir_ok(ns, l, ROOT, "d");
	x[0] = simple_ext(0, 4 * MiB, 0, 100 * MiB);
	x[1] = simple_ext(8 * MiB, 4 * MiB, 1, 200 * MiB);
	ie = ileave_ext(32 * MiB, 16 * MiB, 2, 1024 * MiB, 64 * MiB);
	ie2 = ileave_ext(64 * MiB, 8 * MiB, 1, 2048 * MiB, 0);
	assert_int_equal(ns_alloc(ns, &l->j, f, x, 2, &ie, 1), 0);
	assert_int_equal(ns_alloc(ns, &l->j, f, NULL, 0, &ie2, 1), 0);

	/* a hole in one extent splits it */
	assert_int_equal(ns_punch(ns, &l->j, f, 1 * MiB, 1 * MiB), 0);
	get_layout(ns, f, &c);
	assert_int_equal(c.nsimple, 3);
	assert_int_equal(c.simple[0].len, 1 * MiB);
	assert_int_equal(c.simple[1].file_off, 2 * MiB);
	assert_int_equal(c.simple[1].len, 2 * MiB);
	assert_int_equal(c.simple[1].dev_off, 102 * MiB);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.nsimple, 1);
	assert_int_equal(r.simple[0].file_off, 1 * MiB);
	assert_int_equal(r.simple[0].dev_off, 101 * MiB);
	assert_int_equal(r.simple[0].len, 1 * MiB);

	/* across two: a tail and a head go */
	assert_int_equal(ns_punch(ns, &l->j, f, 3 * MiB, 6 * MiB), 0);
	get_layout(ns, f, &c);
	assert_int_equal(c.nsimple, 3);
	assert_int_equal(c.simple[1].len, 1 * MiB);
	assert_int_equal(c.simple[2].file_off, 9 * MiB);
	assert_int_equal(c.simple[2].dev_off, 201 * MiB);
	assert_int_equal(r.calls, 2);
	assert_int_equal(r.nsimple, 2);
	assert_int_equal(r.bytes, 1 * MiB + 2 * MiB);

	/* a range nothing maps: nothing released */
	assert_int_equal(ns_punch(ns, &l->j, f, 16 * MiB, 8 * MiB), 0);
	assert_int_equal(r.calls, 2);

	/*
	 * An interleaved extent may only lose a tail, go whole, or lose a
	 * range that ends at a stripe boundary (4 MiB from 32 here)
	 */
	appends = l->appends;
	before = dump(ns);
	assert_int_equal(ns_punch(ns, &l->j, f, 32 * MiB, 2 * MiB), -EINVAL);	/* head */
	assert_int_equal(ns_punch(ns, &l->j, f, 36 * MiB, 2 * MiB), -EINVAL);	/* hole */
	assert_int_equal(ns_punch(ns, &l->j, f, 0, 42 * MiB), -EINVAL);
	assert_int_equal(ns_punch(ns, &l->j, d, 0, 4096), -EISDIR);
	assert_int_equal(ns_punch(ns, &l->j, 99, 0, 4096), -ENOENT);
	assert_int_equal(ns_punch(ns, &l->j, f, 100, 4096), -EINVAL);
	assert_unchanged(ns, before);
	assert_int_equal(l->appends, appends);

	/*
	 * The tail from 37 MiB, mid-stripe (stripes are 2 x 2 MiB from 32):
	 * [37, 38) and [38, 40) as simple extents, [40, 48) as interleaved
	 * extent, its strips moved on by 4 MiB; ie2 [64, 72) goes whole.
	 */
	r.bytes = 0;
	assert_int_equal(ns_punch(ns, &l->j, f, 37 * MiB, 40 * MiB), 0);
	assert_int_equal(r.calls, 3);
	assert_int_equal(r.nsimple, 2);
	assert_int_equal(r.nileave, 2);
	assert_int_equal(r.bytes, 11 * MiB + 8 * MiB);
	assert_int_equal(r.ileave[0].file_off, 40 * MiB);
	assert_int_equal(r.ileave[0].strips[1].dev_off, 1024 * MiB + 64 * MiB + 4 * MiB);
	assert_memory_equal(&r.ileave[1], &ie2, sizeof(ie2));
	r.nileave = 1;
	assert_released_tail(&r, &ie, 37 * MiB, 48 * MiB);
	get_layout(ns, f, &c);
	assert_int_equal(c.nileave, 1);
	assert_int_equal(c.ileave[0].len, 5 * MiB);
	assert_int_equal(mapped_of(ns, f), 1 * MiB + 1 * MiB + 3 * MiB + 5 * MiB);

	/* truncate to nothing */
	assert_int_equal(ns_punch(ns, &l->j, f, 0, FAMFS_LOG_TO_END), 0);
	assert_int_equal(mapped_of(ns, f), 0);
	get_layout(ns, f, &c);
	assert_int_equal(c.nsimple + c.nileave, 0);
	assert_int_equal(r.calls, 4);
	ns_free(ns);
	jlog_free(l);
}

/* Is every byte of [off, end) where @orig put it, in @c? */
static void assert_kept(const struct layout_copy *c, const struct fmap_ileave_ext *orig,
			__u64 off, __u64 end)
{
	struct fmap_mapping want, got;
	__u64 pos;

	for (pos = off; pos < end; pos += 4096) {
		assert_int_equal(fmap_ileave_resolve(orig, pos, &want), 0);
		assert_int_equal(fmap_ileave_find_resolve(c->ileave, c->nileave, pos, &got), 0);
		assert_int_equal(got.dev, want.dev);
		assert_int_equal(got.dev_off, want.dev_off);
	}
}

/*
 * Punches of a 3-strip extent: stripes are 6 MiB, so a middle may go when
 * it ends a multiple of 6 MiB from the extent start (not of 4 or 8), and
 * what stays maps every byte where it was.
 */
static void punch_three_strips(void **state)
{
	struct released r = { 0 };
	struct jlog *l = jlog_new(64 * 1024);
	struct ns *ns = ns_new(&release_ops, &r);
	struct fmap_ileave_ext ie;
	struct layout_copy c;
	char *before;
	__u32 s;
	__u64 f;

	(void)state;
	memset(&ie, 0, sizeof(ie));
	ie.len = 36 * MiB;
	ie.nstrips = 3;
	ie.chunk_shift = 21;
	for (s = 0; s < 3; s++)
		ie.strips[s] = (struct fmap_strip){ .dev = s, .dev_off = 1024 * MiB + s * 512 * MiB };
	f = create_ok(ns, l, ROOT, "f");
	assert_int_equal(ns_alloc(ns, &l->j, f, NULL, 0, &ie, 1), 0);

	/* [6, 12): two stripes from the start; the rest moves on 4 MiB a strip */
	assert_int_equal(ns_punch(ns, &l->j, f, 6 * MiB, 6 * MiB), 0);
	assert_released_tail(&r, &ie, 6 * MiB, 12 * MiB);
	get_layout(ns, f, &c);
	assert_int_equal(c.nsimple, 0);
	assert_int_equal(c.nileave, 2);
	assert_int_equal(c.ileave[0].len, 6 * MiB);
	assert_int_equal(c.ileave[1].file_off, 12 * MiB);
	assert_int_equal(c.ileave[1].nstrips, 3);
	for (s = 0; s < 3; s++)
		assert_int_equal(c.ileave[1].strips[s].dev_off, ie.strips[s].dev_off + 4 * MiB);
	assert_kept(&c, &ie, 0, 6 * MiB);
	assert_kept(&c, &ie, 12 * MiB, 36 * MiB);

	/* 10 MiB from the rest's start is off its stripes: refused, nothing changes */
	before = dump(ns);
	assert_int_equal(ns_punch(ns, &l->j, f, 20 * MiB, 2 * MiB), -EINVAL);
	assert_int_equal(ns_punch(ns, &l->j, f, 12 * MiB, 8 * MiB), -EINVAL);
	assert_unchanged(ns, before);

	/* [19, 24) ends 12 MiB in: chunks up to there go as simple extents */
	assert_int_equal(ns_punch(ns, &l->j, f, 19 * MiB, 5 * MiB), 0);
	assert_int_equal(r.nileave, 0);
	assert_released_tail(&r, &ie, 19 * MiB, 24 * MiB);
	get_layout(ns, f, &c);
	assert_int_equal(c.nileave, 3);
	assert_kept(&c, &ie, 0, 6 * MiB);
	assert_kept(&c, &ie, 12 * MiB, 19 * MiB);
	assert_kept(&c, &ie, 24 * MiB, 36 * MiB);

	/* a tail mid-stripe: [31, 36) */
	assert_int_equal(ns_punch(ns, &l->j, f, 31 * MiB, FAMFS_LOG_TO_END), 0);
	assert_released_tail(&r, &ie, 31 * MiB, 36 * MiB);
	get_layout(ns, f, &c);
	assert_kept(&c, &ie, 24 * MiB, 31 * MiB);
	assert_int_equal(mapped_of(ns, f), 6 * MiB + 7 * MiB + 7 * MiB);
	ns_free(ns);
	jlog_free(l);
}

/* -------------------------------------------------------------------- */
/* Interleaved extents that continue each other are one */

#define PIECES 20

/* 4 strips of 2 MiB chunks on devices 0..3; strip s at 1 GiB + s * 512 MiB. */
static struct fmap_ileave_ext piece_at(__u64 file_off, __u64 len)
{
	struct fmap_ileave_ext ie;
	__u32 s;

	memset(&ie, 0, sizeof(ie));
	ie.file_off = file_off;
	ie.len = len;
	ie.nstrips = 4;
	ie.chunk_shift = 21;
	for (s = 0; s < 4; s++) {
		ie.strips[s].dev = s;
		ie.strips[s].dev_off = 1024 * MiB + s * 512 * MiB + (file_off >> 2);
	}
	return ie;
}

/* 1..3 stripes of 8 MiB each, the last one a stripe and a chunk: not whole. */
static __u64 pieces(struct fmap_ileave_ext *p)
{
	__u64 off = 0, len;
	__u32 k;

	for (k = 0; k < PIECES; k++) {
		len = (1 + k % 3) * 8 * MiB + (k == PIECES - 1 ? 2 * MiB : 0);
		p[k] = piece_at(off, len);
		off += len;
	}
	return off;
}

/* @c maps every 4 KiB of [0, end) as the pieces do, walked one by one. */
static void assert_resolves_as(const struct layout_copy *c, const struct fmap_ileave_ext *p,
			       __u32 n, __u64 end)
{
	struct fmap_mapping want, got;
	__u64 off;
	__u32 k;

	for (off = 0; off < end; off += 4096) {
		for (k = 0; k < n; k++)
			if (off >= p[k].file_off && off - p[k].file_off < p[k].len)
				break;
		assert_true(k < n);
		assert_int_equal(fmap_ileave_resolve(&p[k], off, &want), 0);
		assert_int_equal(fmap_ileave_find_resolve(c->ileave, c->nileave, off, &got), 0);
		assert_int_equal(got.dev, want.dev);
		assert_int_equal(got.dev_off, want.dev_off);
	}
}

static char *replayed(struct jlog *l)
{
	struct famfs_mlog_result res;
	struct ns *again = ns_new(NULL, NULL);
	char *d;

	assert_non_null(again);
	if (ns_replay(again, l->buf, l->len, uuid, NULL, &res))
		fail_msg("%s", res.msg);
	d = dump(again);
	ns_free(again);
	return d;
}

static void ileave_continuations_merge(void **state)
{
	struct released r = { 0 };
	struct jlog *l = jlog_new(256 * 1024);
	struct ns *ns = ns_new(&release_ops, &r);
	struct fmap_ileave_ext p[PIECES], whole;
	struct layout_copy c;
	__u64 f, g, end, cut;
	char *live, *again;
	__u32 k;

	(void)state;
	end = pieces(p);
	f = create_ok(ns, l, ROOT, "f");
	/* one by one, two in one entry, and piece 6 before piece 5 */
	for (k = 0; k < PIECES; k++) {
		if (k == 5) {
			assert_int_equal(ns_alloc(ns, &l->j, f, NULL, 0, &p[6], 1), 0);
			get_layout(ns, f, &c);
			assert_int_equal(c.nileave, 2);		/* a gap between */
			assert_int_equal(ns_alloc(ns, &l->j, f, NULL, 0, &p[5], 1), 0);
			k++;
		} else if (k == 10) {
			assert_int_equal(ns_alloc(ns, &l->j, f, NULL, 0, &p[10], 2), 0);
			k++;
		} else {
			assert_int_equal(ns_alloc(ns, &l->j, f, NULL, 0, &p[k], 1), 0);
		}
		get_layout(ns, f, &c);
		assert_int_equal(c.nileave, 1);
	}
	get_layout(ns, f, &c);
	assert_int_equal(c.nsimple, 0);
	assert_int_equal(c.nileave, 1);
	whole = piece_at(0, end);
	assert_memory_equal(&c.ileave[0], &whole, sizeof(whole));
	assert_int_equal(fmap_ileave_check(&c.ileave[0]), 0);
	assert_int_equal(mapped_of(ns, f), end);
	assert_resolves_as(&c, p, PIECES, end);
	/* pieces in one ALLOC merge too, and in a CREATE */
	g = create_ok(ns, l, ROOT, "g");
	assert_int_equal(ns_alloc(ns, &l->j, g, NULL, 0, p, 8), 0);
	get_layout(ns, g, &c);
	assert_int_equal(c.nileave, 1);
	{
		struct ns *other = ns_new(NULL, NULL);
		struct famfs_mlog_entry e;

		famfs_mlog_entry_init(&e);
		e.type = FAMFS_LOG_CREATE;
		e.mknod.parent = ROOT;
		e.mknod.ino = 2;
		e.mknod.mode = 0644;
		e.mknod.size = p[7].file_off + p[7].len;
		strcpy(e.name, "h");
		e.nileave = 8;
		e.ileave = p;
		assert_int_equal(ns_apply(other, &e, NULL, 0), 0);
		get_layout(other, 2, &c);
		assert_int_equal(c.nileave, 1);
		assert_int_equal(c.ileave[0].len, e.mknod.size);
		ns_free(other);
	}

	live = dump(ns);
	again = replayed(l);
	assert_same(live, again);
	free(again);

	/* a piece in the middle goes whole: the stripe boundary splits */
	assert_int_equal(ns_punch(ns, &l->j, f, p[7].file_off, p[7].len), 0);
	assert_int_equal(r.nsimple, 0);
	assert_int_equal(r.nileave, 1);
	assert_memory_equal(&r.ileave[0], &p[7], sizeof(p[7]));
	get_layout(ns, f, &c);
	assert_int_equal(c.nileave, 2);
	whole = piece_at(0, p[7].file_off);
	assert_memory_equal(&c.ileave[0], &whole, sizeof(whole));
	whole = piece_at(p[8].file_off, end - p[8].file_off);
	assert_memory_equal(&c.ileave[1], &whole, sizeof(whole));
	/* put back, it merges all three again */
	assert_int_equal(ns_alloc(ns, &l->j, f, NULL, 0, &p[7], 1), 0);
	get_layout(ns, f, &c);
	assert_int_equal(c.nileave, 1);
	assert_resolves_as(&c, p, PIECES, end);

	/* truncate mid-stripe inside piece 12: released maps what was cut, exactly */
	whole = c.ileave[0];
	cut = p[12].file_off + 8 * MiB + 3 * MiB;
	r.bytes = 0;
	r.calls = 0;
	assert_int_equal(ns_punch(ns, &l->j, f, cut, FAMFS_LOG_TO_END), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.bytes, end - cut);
	assert_int_equal(r.nileave, 1);
	assert_released_tail(&r, &whole, cut, end);
	get_layout(ns, f, &c);
	assert_int_equal(c.nileave, 1);
	assert_int_equal(c.ileave[0].len, cut);
	assert_int_equal(mapped_of(ns, f), cut);
	/* cut off a stripe boundary, it is not whole stripes: no continuation */
	p[0] = piece_at(cut, 8 * MiB);
	assert_int_equal(ns_alloc(ns, &l->j, f, NULL, 0, &p[0], 1), 0);
	get_layout(ns, f, &c);
	assert_int_equal(c.nileave, 2);

	free(live);
	live = dump(ns);
	again = replayed(l);
	assert_same(live, again);
	free(again);
	free(live);
	ns_free(ns);
	jlog_free(l);
}

/* What is not an exact continuation stays two extents. */
static void ileave_non_continuations(void **state)
{
	struct fmap_ileave_ext prev = piece_at(0, 16 * MiB), next, cases[6];
	const char *what[6] = { "another device", "a gap in the file", "a gap on a device",
				"another chunk", "another strip count", "prev not whole stripes" };
	struct layout_copy c;
	struct ns *ns;
	__u64 f;
	__u32 i;

	(void)state;
	next = piece_at(16 * MiB, 8 * MiB);
	assert_true(fmap_ileave_continues(&prev, &next));
	cases[0] = next;
	cases[0].strips[2].dev = 0;
	cases[0].strips[2].dev_off = 3 * 1024 * MiB;
	cases[1] = piece_at(24 * MiB, 8 * MiB);
	for (i = 0; i < 4; i++)
		cases[1].strips[i].dev_off = next.strips[i].dev_off;
	cases[2] = next;
	cases[2].strips[3].dev_off += 2 * MiB;
	cases[3] = next;
	cases[3].chunk_shift = 22;
	cases[4] = next;
	cases[4].nstrips = 2;
	cases[4].strips[2] = cases[4].strips[3] = (struct fmap_strip){ 0 };
	for (i = 0; i < 6; i++) {
		struct fmap_ileave_ext a = prev, b = cases[i];

		if (i == 5) {
			/* a stripe and a chunk; next where each strip's rows end */
			a = piece_at(0, 10 * MiB);
			b = piece_at(10 * MiB, 8 * MiB);
			b.strips[0].dev_off = a.strips[0].dev_off + 4 * MiB;
			b.strips[1].dev_off = a.strips[1].dev_off + 2 * MiB;
			b.strips[2].dev_off = a.strips[2].dev_off + 2 * MiB;
			b.strips[3].dev_off = a.strips[3].dev_off + 2 * MiB;
		}
		assert_int_equal(fmap_ileave_check(&b), 0);
		if (fmap_ileave_continues(&a, &b))
			fail_msg("%s: continues", what[i]);
		ns = ns_new(NULL, NULL);
		f = create_ok(ns, NULL, ROOT, "f");
		assert_int_equal(ns_alloc(ns, NULL, f, NULL, 0, &a, 1), 0);
		assert_int_equal(ns_alloc(ns, NULL, f, NULL, 0, &b, 1), 0);
		get_layout(ns, f, &c);
		assert_int_equal(c.nileave, 2);
		ns_free(ns);
	}
	/* the positive control, in one entry and in a file */
	ns = ns_new(NULL, NULL);
	f = create_ok(ns, NULL, ROOT, "f");
	cases[0] = prev;
	cases[1] = next;
	assert_int_equal(ns_alloc(ns, NULL, f, NULL, 0, cases, 2), 0);
	get_layout(ns, f, &c);
	assert_int_equal(c.nileave, 1);
	assert_int_equal(c.ileave[0].len, 24 * MiB);
	ns_free(ns);
}

/* -------------------------------------------------------------------- */
/* Journal failures */

static void journal_failure_changes_nothing(void **state)
{
	struct released r = { 0 };
	struct jlog *l = jlog_new(64 * 1024);
	struct ns *ns = ns_new(&release_ops, &r);
	struct fmap_simple_ext x = simple_ext(8 * MiB, UNIT, 0, 512 * MiB);
	struct ns_setattr sa = { .valid = FAMFS_SETATTR_SIZE, .size = 99 };
	__u64 dir, f, ino;
	unsigned int appends;
	char *before;
	int i;

	(void)state;
	dir = mkdir_ok(ns, l, ROOT, "d");
	mkdir_ok(ns, l, dir, "empty");
	f = file_with_units(ns, l, dir, "f", 2, 64 * MiB);
	file_with_units(ns, l, dir, "g", 1, 128 * MiB);
	appends = l->appends;

	for (i = 0; i < 14; i++) {
		int err = 0;

		before = dump(ns);
		l->fail = -ENOSPC;
		switch (i) {
		case 0: err = ns_mkdir(ns, &l->j, dir, "new", &cred, &ino); break;
		case 1: err = ns_create(ns, &l->j, dir, "new", &cred, &ino); break;
		case 2: err = ns_symlink(ns, &l->j, dir, "new", "f", &cred, &ino); break;
		case 3: err = ns_unlink(ns, &l->j, dir, "f"); break;
		case 4: err = ns_rmdir(ns, &l->j, dir, "empty"); break;
		case 5: err = ns_rename(ns, &l->j, dir, "f", ROOT, "moved", 0); break;
		case 6: err = ns_rename(ns, &l->j, dir, "f", dir, "g", 0); break;
		case 7: err = ns_rename(ns, &l->j, dir, "f", dir, "empty",
					NS_RENAME_EXCHANGE); break;
		case 8: err = ns_setattr(ns, &l->j, f, &sa); break;
		case 9: err = ns_alloc(ns, &l->j, f, &x, 1, NULL, 0); break;
		case 10: err = ns_punch(ns, &l->j, f, 0, UNIT); break;
		case 11: err = ns_punch(ns, &l->j, f, 0, FAMFS_LOG_TO_END); break;
		case 12: err = ns_set_stripe(ns, &l->j, dir, 2, 21); break;
		case 13: err = ns_set_stripe(ns, &l->j, f, 0, 0); break;
		}
		if (err != -ENOSPC)
			fail_msg("operation %d: %d, not -ENOSPC", i, err);
		assert_unchanged(ns, before);
	}
	assert_int_equal(l->appends, appends);
	assert_int_equal(r.calls, 0);
	/* the numbers a refused mkdir would have taken are still free */
	assert_int_equal(create_ok(ns, l, ROOT, "after"), 6);
	ns_free(ns);
	jlog_free(l);
}

/* A log that fills up: the namespace stops where the log stops. */
static void full_log(void **state)
{
	const struct famfs_mlog_ops ops = { .apply = ns_mlog_apply };
	struct jlog *l = jlog_new(4096);
	struct ns *ns = ns_new(NULL, NULL), *again = ns_new(NULL, NULL);
	struct famfs_mlog_result res;
	char name[32], *before, *a, *b;
	__u64 ino;
	int i, err = 0;

	(void)state;
	/* a 4 KiB log holds a few dozen entries */
	for (i = 0; !err && i < 1000; i++) {
		snprintf(name, sizeof(name), "file-%d", i);
		before = dump(ns);
		err = ns_create(ns, &l->j, ROOT, name, &cred, &ino);
		if (err)
			assert_unchanged(ns, before);
		else
			free(before);
	}
	assert_int_equal(err, -ENOSPC);
	assert_true(i > 10);
	assert_int_equal(famfs_mlog_replay(l->buf, l->len, uuid, NULL, &ops, again, &res), 0);
	assert_int_equal(res.entries, l->appends);
	a = dump(ns);
	b = dump(again);
	assert_same(a, b);
	free(a);
	free(b);
	ns_free(ns);
	ns_free(again);
	jlog_free(l);
}

/* -------------------------------------------------------------------- */
/* Open files */

static void unlinked_while_open(void **state)
{
	struct released r = { 0 };
	struct jlog *l = jlog_new(64 * 1024);
	struct ns *ns = ns_new(&release_ops, &r);
	struct fmap_simple_ext x = simple_ext(8 * MiB, UNIT, 0, 512 * MiB);
	struct ns_setattr sa = { .valid = FAMFS_SETATTR_SIZE, .size = 777 };
	struct ns_statfs st;
	struct ns_attr a;
	__u64 f, g, d, ino;
	unsigned int appends;

	(void)state;
	f = file_with_units(ns, l, ROOT, "f", 2, 64 * MiB);
	assert_int_equal(ns_open_ref(ns, f), 0);
	assert_int_equal(ns_open_ref(ns, f), 0);
	assert_int_equal(ns_open_ref(ns, 99), -ENOENT);
	assert_int_equal(ns_unlink(ns, &l->j, ROOT, "f"), 0);
	assert_int_equal(r.calls, 0);
	assert_int_equal(lookup(ns, ROOT, "f"), 0);
	assert_int_equal(ns_getattr(ns, f, &a), 0);
	assert_int_equal(a.nlink, 0);
	ns_statfs(ns, &st);
	assert_int_equal(st.orphans, 1);
	assert_int_equal(st.files, 1);

	/* an orphan changes in memory only: the log deleted it already */
	appends = l->appends;
	assert_int_equal(ns_setattr(ns, &l->j, f, &sa), 0);
	assert_int_equal(ns_alloc(ns, &l->j, f, &x, 1, NULL, 0), 0);
	assert_int_equal(ns_punch(ns, &l->j, f, 0, UNIT), 0);
	assert_int_equal(l->appends, appends);
	assert_int_equal(r.calls, 1);		/* the punch */
	assert_int_equal(ns_getattr(ns, f, &a), 0);
	assert_int_equal(a.size, 777);
	assert_int_equal(a.mapped, 2 * UNIT);

	assert_int_equal(ns_open_unref(ns, f), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(ns_open_unref(ns, f), 0);
	assert_int_equal(r.calls, 2);
	assert_int_equal(r.ino, f);
	assert_int_equal(r.nsimple, 2);
	assert_int_equal(r.simple[0].dev_off, 64 * MiB + 2 * UNIT);
	assert_int_equal(r.simple[1].dev_off, 512 * MiB);
	assert_int_equal(ns_getattr(ns, f, &a), -ENOENT);
	assert_int_equal(ns_open_unref(ns, f), -ENOENT);
	ns_statfs(ns, &st);
	assert_int_equal(st.orphans, 0);
	assert_int_equal(st.files, 0);

	/* replaced by a rename while open; refs on a linked file are plain counts */
	g = file_with_units(ns, l, ROOT, "g", 1, 128 * MiB);
	f = create_ok(ns, l, ROOT, "f");
	assert_int_equal(ns_open_unref(ns, f), -EINVAL);
	assert_int_equal(ns_open_ref(ns, g), 0);
	assert_int_equal(ns_rename(ns, &l->j, ROOT, "f", ROOT, "g", 0), 0);
	assert_int_equal(r.calls, 2);
	assert_int_equal(ns_getattr(ns, g, &a), 0);
	assert_int_equal(a.nlink, 0);
	assert_int_equal(ns_open_unref(ns, g), 0);
	assert_int_equal(r.calls, 3);
	assert_int_equal(r.ino, g);

	/* a removed directory that is still open takes no new names */
	d = mkdir_ok(ns, l, ROOT, "d");
	assert_int_equal(ns_open_ref(ns, d), 0);
	assert_int_equal(ns_rmdir(ns, &l->j, ROOT, "d"), 0);
	assert_int_equal(nlink_of(ns, ROOT), 2);
	assert_int_equal(ns_create(ns, &l->j, d, "x", &cred, &ino), -ENOENT);
	assert_int_equal(ns_rename(ns, &l->j, ROOT, "g", d, "x", 0), -ENOENT);
	assert_int_equal(ns_open_unref(ns, d), 0);
	assert_int_equal(ns_getattr(ns, d, &a), -ENOENT);
	assert_int_equal(r.calls, 3);
	ns_free(ns);
	jlog_free(l);
}

/* -------------------------------------------------------------------- */
/* readdir */

#define NDIRENTS 1000

struct listing {
	unsigned int n, max;	/* stop after max entries */
	__u64 last;		/* cookie of the last entry taken */
	char names[NDIRENTS + 100][16];
	__u64 cookies[NDIRENTS + 100];
};

static int take_dirent(void *ctx, const struct ns_dirent *d)
{
	struct listing *ls = ctx;

	if (ls->n == ls->max)
		return 1;
	assert_true(d->cookie > ls->last);
	assert_true(strlen(d->name) < sizeof(ls->names[0]));
	strcpy(ls->names[ls->n], d->name);
	ls->cookies[ls->n++] = d->cookie;
	ls->last = d->cookie;
	return 0;
}

/* Entries of @dir after @cookie, at most @max. */
static void list_dir(struct ns *ns, __u64 dir, __u64 cookie, unsigned int max,
		     struct listing *ls)
{
	ls->n = 0;
	ls->max = max;
	ls->last = cookie;
	assert_int_equal(ns_readdir(ns, dir, cookie, take_dirent, ls), 0);
}

static int name_index(const char *name)
{
	int i;

	return sscanf(name, "f%d", &i) == 1 ? i : -1;
}

/* Read part of a directory, unlink and add names, read on. */
static void readdir_phase(struct ns *ns, __u64 dir, __u64 *rng, unsigned int first,
			  unsigned int unlinks, bool *exists, int *seen, int *next_name)
{
	struct listing *ls = malloc(sizeof(*ls));
	__u64 resume;
	unsigned int i, k;
	char name[16];

	assert_non_null(ls);
	list_dir(ns, dir, 0, first, ls);
	resume = ls->last;
	for (i = 0; i < ls->n; i++)
		if (name_index(ls->names[i]) >= 0)
			seen[name_index(ls->names[i])]++;
	for (i = 0; i < unlinks; i++) {
		k = xorshift64(rng) % NDIRENTS;
		if (!exists[k])
			continue;
		snprintf(name, sizeof(name), "f%u", k);
		assert_int_equal(ns_unlink(ns, NULL, dir, name), 0);
		exists[k] = false;
	}
	/* new names come after every old cookie: a resumed readdir sees them */
	for (i = 0; i < 20 && *next_name < NDIRENTS + 100; i++) {
		snprintf(name, sizeof(name), "f%d", *next_name);
		create_ok(ns, NULL, dir, name);
		exists[(*next_name)++] = true;
	}
	list_dir(ns, dir, resume, UINT32_MAX, ls);
	for (i = 0; i < ls->n; i++)
		seen[name_index(ls->names[i])]++;
	free(ls);
}

static void readdir_cookies_survive_unlinks(void **state)
{
	struct ns *ns = ns_new(NULL, NULL);
	struct listing *ls = malloc(sizeof(*ls));
	bool exists[NDIRENTS + 100] = { false };
	int seen[NDIRENTS + 100], next_name = NDIRENTS, k;
	__u64 dir, f, rng = 0x5eed1234abcdULL;
	char name[16];
	int round;

	(void)state;
	assert_non_null(ls);
	dir = mkdir_ok(ns, NULL, ROOT, "d");
	for (k = 0; k < NDIRENTS; k++) {
		snprintf(name, sizeof(name), "f%d", k);
		create_ok(ns, NULL, dir, name);
		exists[k] = true;
	}
	list_dir(ns, dir, 0, 3, ls);
	assert_string_equal(ls->names[0], ".");
	assert_int_equal(ls->cookies[0], 1);
	assert_string_equal(ls->names[1], "..");
	assert_int_equal(ls->cookies[1], 2);
	assert_string_equal(ls->names[2], "f0");

	/* twice: the second time most names go, which compacts the directory */
	for (round = 0; round < 2; round++) {
		memset(seen, 0, sizeof(seen));
		readdir_phase(ns, dir, &rng, round ? 40 : 300, round ? 4000 : 400, exists,
			      seen, &next_name);
		for (k = 0; k < next_name; k++) {
			if (seen[k] > 1)
				fail_msg("round %d: f%d listed %d times", round, k, seen[k]);
			if (exists[k] && !seen[k])
				fail_msg("round %d: f%d never listed", round, k);
		}
	}
	/* a full listing is what exists, in cookie order */
	list_dir(ns, dir, 0, UINT32_MAX, ls);
	for (k = 0, round = 0; k < next_name; k++)
		round += exists[k];
	assert_int_equal(ls->n, 2 + round);

	f = lookup(ns, dir, ls->names[2]);
	assert_int_equal(ns_readdir(ns, f, 0, take_dirent, ls), -ENOTDIR);
	assert_int_equal(ns_readdir(ns, 12345678, 0, take_dirent, ls), -ENOENT);
	free(ls);
	ns_free(ns);
}

/* -------------------------------------------------------------------- */
/* Layout policies */

static void stripe_of(struct ns *ns, __u64 ino, bool has, __u32 nstrips, __u32 chunk_shift)
{
	struct ns_attr a;

	assert_int_equal(ns_getattr(ns, ino, &a), 0);
	if (a.has_stripe != has || (has && (a.nstrips != nstrips || a.chunk_shift != chunk_shift)))
		fail_msg("ino %llu: policy %d %u/%u, expected %d %u/%u", (unsigned long long)ino,
			 a.has_stripe, a.nstrips, a.chunk_shift, has, nstrips, chunk_shift);
}

/*
 * A directory's policy is journaled, a file created in it starts with it
 * (a subdirectory does not), and a replay of the log gives the same
 * policies; an orphan's change stays in memory; bad values are refused.
 */
static __u32 class_of(struct ns *ns, __u64 ino)
{
	struct ns_attr a;

	assert_int_equal(ns_getattr(ns, ino, &a), 0);
	return a.kind;
}

/*
 * Classes (CLASS entries): a directory's is what regular files created
 * in it start with (not its subdirectories), journaled once; an O_TMPFILE
 * keeps the class it started with when linked into a directory of
 * another; replay gives the same classes, inherited ones included.
 */
static void class_policies(void **state)
{
	struct jlog *l = jlog_new(64 * 1024);
	struct ns *ns = ns_new(NULL, NULL), *again = ns_new(NULL, NULL);
	struct famfs_mlog_result res;
	__u64 d, f, g, sub, t, lnk;
	unsigned int appends;
	char *before, *after;

	(void)state;
	d = mkdir_ok(ns, l, ROOT, "d");
	f = create_ok(ns, l, d, "before");
	assert_int_equal(class_of(ns, d), 0);
	appends = l->appends;
	assert_int_equal(ns_set_class(ns, &l->j, d, FAMFS_DEV_BLOCK), 0);
	assert_int_equal(l->appends, appends + 1);
	assert_int_equal(class_of(ns, d), FAMFS_DEV_BLOCK);
	assert_int_equal(class_of(ns, f), 0);		/* only files created from now on */
	g = create_ok(ns, l, d, "after");
	assert_int_equal(class_of(ns, g), FAMFS_DEV_BLOCK);
	assert_int_equal(l->appends, appends + 2);	/* with the CREATE, no entry of its own */
	sub = mkdir_ok(ns, l, d, "sub");
	assert_int_equal(class_of(ns, sub), 0);
	assert_int_equal(ns_symlink(ns, &l->j, d, "l", "after", &cred, &lnk), 0);
	assert_int_equal(ns_set_class(ns, &l->j, lnk, FAMFS_DEV_DAX), -EINVAL);
	assert_int_equal(ns_set_class(ns, &l->j, d, 3), -EINVAL);
	assert_int_equal(ns_set_class(ns, &l->j, d, 0), -EINVAL);
	assert_int_equal(ns_set_class(ns, &l->j, 999, FAMFS_DEV_DAX), -ENOENT);
	/* a file's own, over what the directory gave */
	assert_int_equal(ns_set_class(ns, &l->j, g, FAMFS_DEV_DAX), 0);
	assert_int_equal(class_of(ns, g), FAMFS_DEV_DAX);
	/* an O_TMPFILE of d, linked into the root (no class): keeps block */
	assert_int_equal(ns_tmpfile(ns, d, &cred, &t), 0);
	assert_int_equal(class_of(ns, t), FAMFS_DEV_BLOCK);
	assert_int_equal(ns_link(ns, &l->j, t, ROOT, "t"), 0);
	assert_int_equal(class_of(ns, t), FAMFS_DEV_BLOCK);
	assert_int_equal(ns_open_unref(ns, t), 0);

	/* replay: the same classes */
	before = dump(ns);
	assert_int_equal(ns_replay(again, l->buf, l->len, uuid, NULL, &res), 0);
	after = dump(again);
	assert_same(before, after);
	free(before);
	free(after);
	assert_int_equal(class_of(again, t), FAMFS_DEV_BLOCK);
	assert_int_equal(class_of(again, g), FAMFS_DEV_DAX);
	assert_int_equal(class_of(again, f), 0);
	assert_int_equal(class_of(again, create_ok(again, NULL, d, "new")), FAMFS_DEV_BLOCK);
	ns_free(ns);
	ns_free(again);
	jlog_free(l);
}

static void stripe_policies(void **state)
{
	struct jlog *l = jlog_new(64 * 1024);
	struct ns *ns = ns_new(NULL, NULL), *again = ns_new(NULL, NULL);
	struct famfs_mlog_result res;
	__u64 d, f, g, sub, h, k, ino;
	unsigned int appends;
	char *before, *after;

	(void)state;
	d = mkdir_ok(ns, l, ROOT, "d");
	f = create_ok(ns, l, d, "before");
	stripe_of(ns, d, false, 0, 0);
	appends = l->appends;
	assert_int_equal(ns_set_stripe(ns, &l->j, d, 4, 22), 0);
	assert_int_equal(l->appends, appends + 1);
	stripe_of(ns, d, true, 4, 22);
	stripe_of(ns, f, false, 0, 0);		/* only files created from now on */
	g = create_ok(ns, l, d, "after");
	stripe_of(ns, g, true, 4, 22);
	assert_int_equal(l->appends, appends + 2);	/* with the CREATE, no entry of its own */
	sub = mkdir_ok(ns, l, d, "sub");
	stripe_of(ns, sub, false, 0, 0);
	assert_int_equal(ns_symlink(ns, &l->j, d, "l", "after", &cred, &ino), 0);
	stripe_of(ns, ino, false, 0, 0);
	assert_int_equal(ns_set_stripe(ns, &l->j, ino, 1, 21), -EINVAL);
	/* a file's own policy, and simple: it overrides what the directory gave */
	assert_int_equal(ns_set_stripe(ns, &l->j, f, 2, 30), 0);
	stripe_of(ns, f, true, 2, 30);
	assert_int_equal(ns_set_stripe(ns, &l->j, g, 0, 0), 0);
	stripe_of(ns, g, true, 0, 0);
	/* a directory's simple default: nothing to inherit */
	assert_int_equal(ns_set_stripe(ns, &l->j, sub, 3, 21), 0);	/* any count */
	h = create_ok(ns, l, sub, "h");
	stripe_of(ns, h, true, 3, 21);
	assert_int_equal(ns_set_stripe(ns, &l->j, sub, 0, 0), 0);
	k = create_ok(ns, l, sub, "k");
	stripe_of(ns, k, false, 0, 0);
	/* the policy stays with the inode when it moves */
	assert_int_equal(ns_rename(ns, &l->j, sub, "h", ROOT, "h", 0), 0);
	stripe_of(ns, h, true, 3, 21);

	/* bad values: refused before the journal sees them */
	appends = l->appends;
	before = dump(ns);
	assert_int_equal(ns_set_stripe(ns, &l->j, d, 17, 21), -EINVAL);
	assert_int_equal(ns_set_stripe(ns, &l->j, d, 32, 21), -EINVAL);
	assert_int_equal(ns_set_stripe(ns, &l->j, d, 2, 20), -EINVAL);
	assert_int_equal(ns_set_stripe(ns, &l->j, d, 2, 31), -EINVAL);
	assert_int_equal(ns_set_stripe(ns, &l->j, d, 0, 21), -EINVAL);
	assert_int_equal(ns_set_stripe(ns, &l->j, 999, 2, 21), -ENOENT);
	assert_unchanged(ns, before);
	assert_int_equal(l->appends, appends);

	/* replay: the same policies, inherited ones included */
	before = dump(ns);
	assert_int_equal(ns_replay(again, l->buf, l->len, uuid, NULL, &res), 0);
	after = dump(again);
	assert_same(before, after);
	free(before);
	free(after);
	stripe_of(again, g, true, 0, 0);
	stripe_of(again, k, false, 0, 0);
	assert_int_equal(create_ok(again, NULL, d, "new"), k + 1);
	stripe_of(again, k + 1, true, 4, 22);

	/* an orphan's policy changes in memory only */
	assert_int_equal(ns_open_ref(ns, f), 0);
	assert_int_equal(ns_unlink(ns, &l->j, d, "before"), 0);
	appends = l->appends;
	assert_int_equal(ns_set_stripe(ns, &l->j, f, 1, 21), 0);
	assert_int_equal(l->appends, appends);
	stripe_of(ns, f, true, 1, 21);
	assert_int_equal(ns_open_unref(ns, f), 0);
	ns_free(ns);
	ns_free(again);
	jlog_free(l);
}

/*
 * Extended attributes: every answer a setxattr, getxattr, listxattr and
 * removexattr gets, ext4's space limit against a model of it, journal
 * failures, orphans, and a replay that gives the same attributes back.
 */
static void xattrs_live_and_replayed(void **state)
{
	static unsigned char big[FAMFS_XATTR_VALUE_MAX + 1];
	static const unsigned char bin[] = { 0, 1, 0, 0xff };
	struct jlog *l = jlog_new(256 * 1024);
	struct ns *ns = ns_new(NULL, NULL), *again = ns_new(NULL, NULL);
	struct famfs_mlog_result res;
	struct famfs_mlog_entry e;
	char buf[FAMFS_XATTR_SPACE], name[300], *before, *after;
	__u64 d, f, g, lnk;
	unsigned int appends, used, i;
	ssize_t n;

	(void)state;
	d = mkdir_ok(ns, l, ROOT, "d");
	f = create_ok(ns, l, d, "f");
	assert_int_equal(ns_symlink(ns, &l->j, d, "s", "f", &cred, &lnk), 0);
	assert_int_equal(ns_xattr_list(ns, f, NULL, 0), 0);
	assert_int_equal(ns_xattr_get(ns, f, "user.a", NULL, 0), -ENODATA);

	/* set, size query, read, a buffer too small */
	appends = l->appends;
	assert_int_equal(ns_xattr_set(ns, &l->j, f, "user.a", "1", 1, 0), 0);
	assert_int_equal(ns_xattr_set(ns, &l->j, f, "user.b", "hello", 5, 0), 0);
	assert_int_equal(ns_xattr_set(ns, &l->j, f, "trusted.bin", bin, sizeof(bin), 0), 0);
	assert_int_equal(ns_xattr_set(ns, &l->j, d, "user.empty", "", 0, 0), 0);
	assert_int_equal(ns_xattr_set(ns, &l->j, lnk, "trusted.on_a_link", "x", 1, 0), 0);
	assert_int_equal(l->appends, appends + 5);
	assert_int_equal(ns_xattr_get(ns, f, "user.b", NULL, 0), 5);
	assert_int_equal(ns_xattr_get(ns, f, "user.b", buf, 4), -ERANGE);
	assert_int_equal(ns_xattr_get(ns, f, "user.b", buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(ns_xattr_get(ns, f, "trusted.bin", buf, sizeof(bin)), sizeof(bin));
	assert_memory_equal(buf, bin, sizeof(bin));
	assert_int_equal(ns_xattr_get(ns, d, "user.empty", buf, sizeof(buf)), 0);
	assert_int_equal(ns_xattr_get(ns, d, "user.a", buf, sizeof(buf)), -ENODATA);
	assert_int_equal(ns_xattr_get(ns, 999, "user.a", buf, sizeof(buf)), -ENOENT);

	/* the list, in the order set; size query, too small */
	n = ns_xattr_list(ns, f, NULL, 0);
	assert_int_equal(n, sizeof("user.a") + sizeof("user.b") + sizeof("trusted.bin"));
	assert_int_equal(ns_xattr_list(ns, f, buf, (size_t)n - 1), -ERANGE);
	assert_int_equal(ns_xattr_list(ns, f, buf, sizeof(buf)), n);
	assert_memory_equal(buf, "user.a\0user.b\0trusted.bin", (size_t)n);

	/* XATTR_CREATE, XATTR_REPLACE; a replaced value keeps its place */
	appends = l->appends;
	assert_int_equal(ns_xattr_set(ns, &l->j, f, "user.a", "2", 1, NS_XATTR_CREATE), -EEXIST);
	assert_int_equal(ns_xattr_set(ns, &l->j, f, "user.c", "2", 1, NS_XATTR_REPLACE), -ENODATA);
	assert_int_equal(ns_xattr_set(ns, &l->j, f, "user.a", "x", 1, 4), -EINVAL);
	assert_int_equal(l->appends, appends);
	assert_int_equal(ns_xattr_set(ns, &l->j, f, "user.a", "22", 2, NS_XATTR_REPLACE), 0);
	assert_int_equal(ns_xattr_set(ns, &l->j, f, "user.c", "3", 1, NS_XATTR_CREATE), 0);
	assert_int_equal(ns_xattr_list(ns, f, buf, sizeof(buf)), n + sizeof("user.c"));
	assert_memory_equal(buf, "user.a\0user.b\0trusted.bin\0user.c", n + sizeof("user.c"));
	assert_int_equal(ns_xattr_get(ns, f, "user.a", buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "22", 2);

	/* remove */
	assert_int_equal(ns_xattr_remove(ns, &l->j, f, "user.nope"), -ENODATA);
	assert_int_equal(ns_xattr_remove(ns, &l->j, f, "user.b"), 0);
	assert_int_equal(ns_xattr_get(ns, f, "user.b", NULL, 0), -ENODATA);
	assert_int_equal(ns_xattr_remove(ns, &l->j, f, "user.b"), -ENODATA);
	assert_int_equal(ns_xattr_remove(ns, &l->j, 999, "user.b"), -ENOENT);

	/* names: other namespaces, the daemon's own, empty, too long */
	appends = l->appends;
	before = dump(ns);
	assert_int_equal(ns_xattr_set(ns, &l->j, f, "security.selinux", "x", 1, 0), -EOPNOTSUPP);
	assert_int_equal(ns_xattr_set(ns, &l->j, f, "system.posix_acl_other", "x", 1, 0),
			 -EOPNOTSUPP);
	/* an ACL name takes only a well-formed ACL (test_acl.c has the rules) */
	assert_int_equal(ns_xattr_set(ns, &l->j, f, "system.posix_acl_access", "x", 1, 0),
			 -EINVAL);
	assert_int_equal(ns_xattr_set(ns, &l->j, f, "user.famfs.stripe", "1 2097152", 9, 0),
			 -EOPNOTSUPP);
	assert_int_equal(ns_xattr_remove(ns, &l->j, f, "user.famfs.layout"), -EOPNOTSUPP);
	assert_int_equal(ns_xattr_set(ns, &l->j, f, "user.", "x", 1, 0), -EINVAL);
	assert_int_equal(ns_xattr_set(ns, &l->j, f, "trusted.", "x", 1, 0), -EINVAL);
	memset(name, 'n', sizeof(name));
	memcpy(name, "user.", 5);
	name[FAMFS_XATTR_NAME_MAX + 1] = '\0';
	assert_int_equal(ns_xattr_set(ns, &l->j, f, name, "x", 1, 0), -ERANGE);
	name[FAMFS_XATTR_NAME_MAX] = '\0';	/* 255 bytes: the longest */
	assert_unchanged(ns, before);
	assert_int_equal(l->appends, appends);
	assert_int_equal(ns_xattr_set(ns, &l->j, f, name, "x", 1, 0), 0);
	assert_int_equal(ns_xattr_get(ns, f, name, buf, sizeof(buf)), 1);

	/* space: one value of the largest size fits a short name, one byte more does not */
	g = create_ok(ns, l, d, "g");
	assert_int_equal(ns_xattr_set(ns, &l->j, g, "user.abc", big, FAMFS_XATTR_VALUE_MAX + 1, 0),
			 -ENOSPC);
	assert_int_equal(ns_xattr_set(ns, &l->j, g, "user.abcd", big, FAMFS_XATTR_VALUE_MAX, 0),
			 -ENOSPC);	/* a 9-byte name costs 12 */
	assert_int_equal(ns_xattr_set(ns, &l->j, g, "user.abc", big, FAMFS_XATTR_VALUE_MAX, 0), 0);
	assert_int_equal(ns_xattr_set(ns, &l->j, g, "user.d", "", 0, 0), -ENOSPC);
	/* a replacement counts without the value it replaces */
	assert_int_equal(ns_xattr_set(ns, &l->j, g, "user.abc", big, 100, 0), 0);
	/* then names of 100-byte values until the model says full */
	used = FAMFS_XATTR_COST(8, 100);
	for (i = 0; i < 100; i++) {
		int want, got;

		snprintf(name, sizeof(name), "user.n%u", i);
		want = used + FAMFS_XATTR_COST((unsigned int)strlen(name), 97) <=
		       FAMFS_XATTR_SPACE ? 0 : -ENOSPC;
		got = ns_xattr_set(ns, &l->j, g, name, big, 97, 0);
		if (got != want)
			fail_msg("%s: %d, the model says %d (%u bytes used)", name, got, want, used);
		if (got)
			break;
		used += FAMFS_XATTR_COST((unsigned int)strlen(name), 97);
	}
	assert_true(i > 20 && i < 100);
	/* a removal makes room again */
	snprintf(name, sizeof(name), "user.n%u", 0);
	assert_int_equal(ns_xattr_remove(ns, &l->j, g, name), 0);
	snprintf(name, sizeof(name), "user.n%u", i);
	assert_int_equal(ns_xattr_set(ns, &l->j, g, name, big, 97, 0), 0);

	/* a journal failure changes nothing */
	before = dump(ns);
	l->fail = -ENOSPC;
	assert_int_equal(ns_xattr_set(ns, &l->j, f, "user.new", "x", 1, 0), -ENOSPC);
	l->fail = -EIO;
	assert_int_equal(ns_xattr_remove(ns, &l->j, f, "user.a"), -EIO);
	l->fail = -EIO;
	assert_int_equal(ns_xattr_set(ns, &l->j, f, "user.a", "zz", 2, 0), -EIO);
	assert_unchanged(ns, before);

	/* replay: the same attributes, names and order */
	before = dump(ns);
	assert_int_equal(ns_replay(again, l->buf, l->len, uuid, NULL, &res), 0);
	after = dump(again);
	assert_same(before, after);
	free(before);
	free(after);

	/* an orphan's attributes change in memory only, and go with it */
	assert_int_equal(ns_open_ref(ns, f), 0);
	assert_int_equal(ns_unlink(ns, &l->j, d, "f"), 0);
	appends = l->appends;
	assert_int_equal(ns_xattr_set(ns, &l->j, f, "user.late", "1", 1, 0), 0);
	assert_int_equal(ns_xattr_get(ns, f, "user.late", buf, sizeof(buf)), 1);
	assert_int_equal(l->appends, appends);
	assert_int_equal(ns_open_unref(ns, f), 0);
	assert_int_equal(ns_xattr_get(ns, f, "user.a", buf, sizeof(buf)), -ENOENT);
	/* rmdir takes a directory's */
	assert_int_equal(ns_unlink(ns, &l->j, d, "g"), 0);
	assert_int_equal(ns_unlink(ns, &l->j, d, "s"), 0);
	assert_int_equal(ns_rmdir(ns, &l->j, ROOT, "d"), 0);
	assert_int_equal(ns_xattr_list(ns, d, NULL, 0), -ENOENT);
	ns_free(again);
	again = ns_new(NULL, NULL);
	before = dump(ns);
	assert_int_equal(ns_replay(again, l->buf, l->len, uuid, NULL, &res), 0);
	after = dump(again);
	assert_same(before, after);
	free(before);
	free(after);

	/* entries the namespace refuses: the errors live operations give */
	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_XATTR;
	e.xattr.ino = f;	/* gone */
	strcpy(e.name, "user.a");
	assert_int_equal(ns_apply(again, &e, buf, sizeof(buf)), -ENOENT);
	e.xattr.ino = ROOT;
	e.xattr.flags = FAMFS_XATTR_F_REMOVE;
	assert_int_equal(ns_apply(again, &e, buf, sizeof(buf)), -ENODATA);
	assert_non_null(strstr(buf, "has no xattr user.a"));
	/* replay calls every refusal corrupt */
	assert_int_equal(ns_mlog_apply(again, &e), -EINVAL);
	e.xattr.flags = 0;
	e.xattr.value_len = FAMFS_XATTR_VALUE_MAX;
	e.value = big;
	assert_int_equal(ns_apply(again, &e, NULL, 0), 0);
	assert_int_equal(ns_apply(again, &e, NULL, 0), 0);	/* a replacement */
	strcpy(e.name, "user.b");
	assert_int_equal(ns_apply(again, &e, buf, sizeof(buf)), -ENOSPC);
	assert_int_equal(ns_mlog_apply(again, &e), -EINVAL);
	ns_free(ns);
	ns_free(again);
	jlog_free(l);
}

/*
 * O_TMPFILE: an orphan from the start, changed in memory only; its first
 * link journals the whole file (CREATE of the same number with its
 * extents, the times, a policy the new directory would not give), which
 * a replay turns into the namespace the owner has, generation aside.
 * One never linked leaves nothing in the log and releases its space at
 * its last close.  An unlinked file, a journal failure, a name in use
 * refuse, and change nothing.
 */
static void tmpfile_link(void **state)
{
	struct released r = { 0 };
	struct jlog *l = jlog_new(2 * 1024 * 1024);
	struct ns *ns = ns_new(&release_ops, &r);
	struct fmap_simple_ext x[2] = {
		simple_ext(0, UNIT, 0, 64 * MiB), simple_ext(2 * UNIT, UNIT, 0, 128 * MiB) };
	struct ns_setattr sa = { .valid = FAMFS_SETATTR_MTIME, .mtime = { 12345, 6 } };
	struct fmap_simple_ext *many;
	unsigned int appends;
	struct ns_statfs st;
	struct ns_attr a, b;
	__u64 d, t, t2, t3, t4, f, ino;
	char *before, *after;
	__u32 i, n;

	(void)state;
	dump_no_gen = true;
	d = mkdir_ok(ns, l, ROOT, "d");
	assert_int_equal(ns_set_stripe(ns, &l->j, d, 2, 22), 0);
	f = create_ok(ns, l, ROOT, "f");
	appends = l->appends;

	assert_int_equal(ns_tmpfile(ns, ROOT, &cred, &t), 0);
	assert_int_equal(t, f + 1);
	assert_int_equal(ns_getattr(ns, t, &a), 0);
	assert_int_equal(a.nlink, 0);
	assert_int_equal(a.mode, S_IFREG | 0644);
	assert_int_equal(a.uid, 1000);
	assert_int_equal(a.gid, 100);
	stripe_of(ns, t, false, 0, 0);
	ns_statfs(ns, &st);
	assert_int_equal(st.orphans, 1);
	assert_int_equal(st.files, 2);
	assert_int_equal(ns_tmpfile(ns, 999, &cred, &ino), -ENOENT);
	assert_int_equal(ns_tmpfile(ns, f, &cred, &ino), -ENOTDIR);
	/* written to as any open file, in memory only */
	assert_int_equal(ns_alloc(ns, &l->j, t, x, 2, NULL, 0), 0);
	assert_int_equal(ns_set_size_mem(ns, t, 3 * UNIT - 100), 0);
	assert_int_equal(ns_setattr(ns, &l->j, t, &sa), 0);
	assert_int_equal(l->appends, appends);
	/* numbers stay unique: the next create does not take the tmpfile's */
	assert_int_equal(create_ok(ns, l, ROOT, "g"), t + 1);
	appends = l->appends;

	/* refusals change nothing: a name in use, a journal failure */
	before = dump(ns);
	assert_int_equal(ns_link(ns, &l->j, t, ROOT, "f"), -EEXIST);
	assert_int_equal(ns_link(ns, &l->j, t, 999, "x"), -ENOENT);
	l->fail = -ENOSPC;
	assert_int_equal(ns_link(ns, &l->j, t, ROOT, "t"), -ENOSPC);
	assert_unchanged(ns, before);
	assert_int_equal(l->appends, appends);

	/* the link: CREATE with the extents and size, SETATTR for the times */
	assert_int_equal(ns_getattr(ns, t, &a), 0);
	assert_true(ns_link_room(ns, t, ROOT, "t") > 0);
	assert_int_equal(ns_link_room(ns, f, ROOT, "t"), 0);
	assert_int_equal(ns_link(ns, &l->j, t, ROOT, "t"), 0);
	assert_int_equal(l->appends, appends + 2);
	assert_int_equal(lookup(ns, ROOT, "t"), t);
	assert_int_equal(ns_getattr(ns, t, &b), 0);
	assert_int_equal(b.nlink, 1);
	assert_int_equal(b.generation, a.generation);
	assert_int_equal(b.size, 3 * UNIT - 100);
	assert_int_equal(b.mapped, 2 * UNIT);
	assert_int_equal(b.mtime.sec, 12345);
	assert_int_equal(b.atime.sec, a.atime.sec);
	ns_statfs(ns, &st);
	assert_int_equal(st.orphans, 0);
	assert_int_equal(st.files, 3);
	/* a name of its own now: a second is a plain LINK, changes journaled */
	assert_int_equal(ns_link_room(ns, t, d, "t2"), 0);
	assert_int_equal(ns_link(ns, &l->j, t, d, "t2"), 0);
	assert_int_equal(l->appends, appends + 3);
	/* the open reference the tmpfile came with is still there */
	assert_int_equal(ns_open_unref(ns, t), 0);
	assert_int_equal(ns_open_unref(ns, t), -EINVAL);
	assert_int_equal(r.calls, 0);
	before = dump(ns);
	after = replayed(l);
	assert_same(before, after);
	free(before);
	free(after);

	/* one never linked: nothing journaled, its space released at close */
	appends = l->appends;
	assert_int_equal(ns_tmpfile(ns, d, &cred, &t2), 0);
	stripe_of(ns, t2, true, 2, 22);		/* the directory's default */
	x[0].dev_off = 256 * MiB;
	assert_int_equal(ns_alloc(ns, &l->j, t2, x, 1, NULL, 0), 0);
	assert_int_equal(ns_open_ref(ns, t2), 0);
	assert_int_equal(ns_open_unref(ns, t2), 0);
	assert_int_equal(r.calls, 0);
	assert_int_equal(ns_open_unref(ns, t2), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.ino, t2);
	assert_int_equal(r.bytes, UNIT);
	assert_int_equal(ns_getattr(ns, t2, &a), -ENOENT);
	assert_int_equal(ns_link(ns, &l->j, t2, ROOT, "late"), -ENOENT);
	assert_int_equal(l->appends, appends);

	/* its policy goes with it into a directory that would give another */
	assert_int_equal(ns_tmpfile(ns, d, &cred, &t3), 0);
	assert_int_equal(ns_link(ns, &l->j, t3, ROOT, "t3"), 0);
	assert_int_equal(l->appends, appends + 3);	/* CREATE, SETATTR, STRIPE */
	stripe_of(ns, t3, true, 2, 22);
	assert_int_equal(ns_open_unref(ns, t3), 0);

	/* an unlinked open file is no tmpfile: its DELETE is in the log */
	assert_int_equal(ns_open_ref(ns, f), 0);
	assert_int_equal(ns_unlink(ns, &l->j, ROOT, "f"), 0);
	appends = l->appends;
	assert_int_equal(ns_link(ns, &l->j, f, ROOT, "f"), -ENOENT);
	assert_int_equal(l->appends, appends);
	assert_int_equal(ns_open_unref(ns, f), 0);

	/* more extents than one entry holds: CREATE, ALLOCs, the size last */
	assert_int_equal(ns_tmpfile(ns, ROOT, &cred, &t4), 0);
	n = FAMFS_LOG_MAX_SIMPLE + 5;
	many = calloc(n, sizeof(*many));
	assert_non_null(many);
	for (i = 0; i < n; i++)
		many[i] = simple_ext((__u64)i * UNIT, UNIT, 1, (__u64)2 * i * UNIT);
	assert_int_equal(ns_alloc(ns, &l->j, t4, many, FAMFS_LOG_MAX_SIMPLE, NULL, 0), 0);
	assert_int_equal(ns_alloc(ns, &l->j, t4, many + FAMFS_LOG_MAX_SIMPLE, 5, NULL, 0), 0);
	assert_int_equal(ns_set_size_mem(ns, t4, (__u64)n * UNIT), 0);
	assert_int_equal(ns_link(ns, &l->j, t4, ROOT, "big"), 0);
	assert_int_equal(l->appends, appends + 3);	/* CREATE, ALLOC, SETATTR */
	assert_int_equal(ns_getattr(ns, t4, &a), 0);
	assert_int_equal(a.mapped, (__u64)n * UNIT);
	assert_int_equal(a.size, (__u64)n * UNIT);
	before = dump(ns);
	after = replayed(l);
	assert_same(before, after);
	free(before);
	free(after);
	free(many);
	assert_int_equal(ns_open_unref(ns, t4), 0);
	dump_no_gen = false;
	ns_free(ns);
	jlog_free(l);
}

/* Hard links: names of one inode, its space released with the last one only. */
/*
 * A follower's orphan (ns_set_follower()): the owner freed its space with
 * the last name, so the orphan releases it at once and its layout is -EIO;
 * before, it kept the extents, which the follower's allocator then saw
 * twice (logplay: EUCLEAN) and its reads showed the next file's bytes.
 */
static void follower_orphan_revoked(void **state)
{
	struct released r = { 0 };
	struct jlog *l = jlog_new(64 * 1024);
	struct ns *ns = ns_new(&release_ops, &r);
	struct ns_layout lay = { 0 };
	struct ns_attr a;
	__u64 f, g;

	(void)state;
	ns_set_follower(ns);
	f = file_with_units(ns, l, ROOT, "f", 2, 64 * MiB);
	assert_int_equal(ns_open_ref(ns, f), 0);
	assert_int_equal(ns_unlink(ns, &l->j, ROOT, "f"), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.ino, f);
	assert_int_equal(r.nsimple, 2);
	assert_int_equal(r.bytes, 2 * UNIT);
	assert_int_equal(ns_getattr(ns, f, &a), 0);
	assert_int_equal(a.nlink, 0);
	assert_int_equal(a.mapped, 0);
	assert_int_equal(ns_layout_get(ns, f, &lay), -EIO);
	assert_int_equal(ns_open_unref(ns, f), 0);
	assert_int_equal(r.calls, 1);		/* nothing twice */
	assert_int_equal(ns_getattr(ns, f, &a), -ENOENT);

	/* replaced by a rename while open: the same */
	g = file_with_units(ns, l, ROOT, "g", 1, 128 * MiB);
	f = file_with_units(ns, l, ROOT, "f", 1, 256 * MiB);
	assert_int_equal(ns_open_ref(ns, g), 0);
	assert_int_equal(ns_rename(ns, &l->j, ROOT, "f", ROOT, "g", 0), 0);
	assert_int_equal(r.calls, 2);
	assert_int_equal(r.ino, g);
	assert_int_equal(ns_layout_get(ns, g, &lay), -EIO);
	/* a name that goes while another stays takes nothing */
	assert_int_equal(ns_link(ns, &l->j, f, ROOT, "f2"), 0);
	assert_int_equal(ns_open_ref(ns, f), 0);
	assert_int_equal(ns_unlink(ns, &l->j, ROOT, "g"), 0);
	assert_int_equal(r.calls, 2);
	assert_int_equal(ns_layout_get(ns, f, &lay), 0);
	assert_int_equal(lay.nsimple, 1);
	assert_int_equal(ns_open_unref(ns, f), 0);
	assert_int_equal(ns_open_unref(ns, g), 0);
	assert_int_equal(r.calls, 2);
	free(lay.simple);
	ns_free(ns);
	jlog_free(l);
}

static void hard_links(void **state)
{
	struct released r = { 0 };
	struct jlog *l = jlog_new(64 * 1024);
	struct ns *ns = ns_new(&release_ops, &r), *again;
	struct famfs_mlog_result res;
	struct ns_statfs st;
	struct ns_attr a;
	char *before, *after, target[16];
	unsigned int appends;
	__u64 d, f, s, x;

	(void)state;
	d = mkdir_ok(ns, l, ROOT, "d");
	f = file_with_units(ns, l, ROOT, "f", 2, 64 * MiB);
	assert_int_equal(ns_link(ns, &l->j, f, d, "g"), 0);
	assert_int_equal(lookup(ns, d, "g"), f);
	assert_int_equal(lookup(ns, ROOT, "f"), f);
	assert_int_equal(nlink_of(ns, f), 2);
	assert_int_equal(nlink_of(ns, d), 2);	/* a file's name adds no ".." */
	ns_statfs(ns, &st);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.inodes, 3);

	/* refused, changing nothing */
	before = dump(ns);
	assert_int_equal(ns_link(ns, &l->j, d, ROOT, "d2"), -EPERM);
	assert_int_equal(ns_link(ns, &l->j, ROOT, d, "r"), -EPERM);
	assert_int_equal(ns_link(ns, &l->j, f, d, "g"), -EEXIST);
	assert_int_equal(ns_link(ns, &l->j, f, ROOT, "d"), -EEXIST);
	assert_int_equal(ns_link(ns, &l->j, 99, ROOT, "x"), -ENOENT);
	assert_int_equal(ns_link(ns, &l->j, f, 99, "x"), -ENOENT);
	assert_int_equal(ns_link(ns, &l->j, f, f, "x"), -ENOTDIR);
	assert_int_equal(ns_link(ns, &l->j, f, ROOT, ".."), -EINVAL);
	assert_int_equal(ns_link(ns, &l->j, f, ROOT, "a/b"), -EINVAL);
	l->fail = -ENOSPC;
	assert_int_equal(ns_link(ns, &l->j, f, ROOT, "x"), -ENOSPC);
	assert_unchanged(ns, before);

	/* one name goes: the inode and its data stay */
	assert_int_equal(ns_unlink(ns, &l->j, ROOT, "f"), 0);
	assert_int_equal(r.calls, 0);
	assert_int_equal(ns_getattr(ns, f, &a), 0);
	assert_int_equal(a.nlink, 1);
	assert_int_equal(a.mapped, 2 * UNIT);
	assert_int_equal(lookup(ns, d, "g"), f);

	/* a symlink can have several names too */
	assert_int_equal(ns_symlink(ns, &l->j, ROOT, "s", "g", &cred, &s), 0);
	assert_int_equal(ns_link(ns, &l->j, s, d, "s2"), 0);
	assert_int_equal(lookup(ns, d, "s2"), s);
	assert_int_equal(ns_readlink(ns, s, target, sizeof(target)), 1);
	assert_int_equal(nlink_of(ns, s), 2);

	/* a rename over one of its names takes that name only */
	assert_int_equal(ns_link(ns, &l->j, f, ROOT, "h"), 0);
	x = create_ok(ns, l, ROOT, "x");
	assert_int_equal(ns_rename(ns, &l->j, ROOT, "x", d, "g", 0), 0);
	assert_int_equal(lookup(ns, d, "g"), x);
	assert_int_equal(nlink_of(ns, f), 1);
	assert_int_equal(r.calls, 0);

	/* one name of it over another: nothing happens, nothing is journaled */
	assert_int_equal(ns_link(ns, &l->j, f, d, "h2"), 0);
	appends = l->appends;
	before = dump(ns);
	assert_int_equal(ns_rename(ns, &l->j, ROOT, "h", d, "h2", 0), 0);
	assert_int_equal(ns_rename(ns, &l->j, ROOT, "h", d, "h2", NS_RENAME_EXCHANGE), 0);
	assert_int_equal(ns_rename(ns, &l->j, ROOT, "h", d, "h2", NS_RENAME_NOREPLACE), -EEXIST);
	assert_unchanged(ns, before);
	assert_int_equal(l->appends, appends);
	/* and moving a name keeps the count */
	assert_int_equal(ns_rename(ns, &l->j, d, "h2", ROOT, "h3", 0), 0);
	assert_int_equal(nlink_of(ns, f), 2);

	/* replay gives the same names and counts */
	again = ns_new(NULL, NULL);
	assert_int_equal(ns_replay(again, l->buf, l->len, uuid, NULL, &res), 0);
	before = dump(ns);
	after = dump(again);
	assert_same(before, after);
	free(before);
	free(after);
	ns_free(again);

	/* the last name of an open file: an orphan until its close, then released once */
	assert_int_equal(ns_open_ref(ns, f), 0);
	assert_int_equal(ns_unlink(ns, &l->j, ROOT, "h"), 0);
	assert_int_equal(nlink_of(ns, f), 1);
	assert_int_equal(ns_unlink(ns, &l->j, ROOT, "h3"), 0);
	assert_int_equal(r.calls, 0);
	assert_int_equal(nlink_of(ns, f), 0);
	ns_statfs(ns, &st);
	assert_int_equal(st.orphans, 1);
	appends = l->appends;
	assert_int_equal(ns_link(ns, &l->j, f, ROOT, "back"), -ENOENT);
	assert_int_equal(l->appends, appends);
	assert_int_equal(ns_open_unref(ns, f), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.ino, f);
	assert_int_equal(r.bytes, 2 * UNIT);
	assert_int_equal(ns_getattr(ns, f, &a), -ENOENT);
	ns_statfs(ns, &st);
	assert_int_equal(st.orphans, 0);
	assert_int_equal(st.files, 1);		/* x */

	/* without opens: the inode goes with its last name, also by a rename over it */
	assert_int_equal(ns_link(ns, &l->j, x, ROOT, "x2"), 0);
	assert_int_equal(ns_unlink(ns, &l->j, d, "s2"), 0);
	assert_int_equal(ns_unlink(ns, &l->j, ROOT, "s"), 0);
	assert_int_equal(ns_readlink(ns, s, target, sizeof(target)), -ENOENT);
	assert_int_equal(ns_unlink(ns, &l->j, d, "g"), 0);
	f = file_with_units(ns, l, ROOT, "y", 1, 256 * MiB);
	assert_int_equal(ns_rename(ns, &l->j, ROOT, "y", ROOT, "x2", 0), 0);
	assert_int_equal(ns_getattr(ns, x, &a), -ENOENT);
	assert_int_equal(r.calls, 1);		/* x had no extents: nothing to release */

	again = ns_new(NULL, NULL);
	assert_int_equal(ns_replay(again, l->buf, l->len, uuid, NULL, &res), 0);
	before = dump(ns);
	after = dump(again);
	assert_same(before, after);
	free(before);
	free(after);
	ns_free(again);
	ns_free(ns);
	jlog_free(l);
}

/* At most FAMFS_LINK_MAX names: the next link is refused, live and in a log. */
static void link_max(void **state)
{
	struct ns *ns = ns_new(NULL, NULL);
	struct famfs_mlog_entry e;
	char name[16], msg[200];
	__u64 f = create_ok(ns, NULL, ROOT, "f");
	unsigned int i;

	(void)state;
	for (i = 1; i < FAMFS_LINK_MAX; i++) {
		snprintf(name, sizeof(name), "l%u", i);
		assert_int_equal(ns_link(ns, NULL, f, ROOT, name), 0);
	}
	assert_int_equal(nlink_of(ns, f), FAMFS_LINK_MAX);
	assert_int_equal(ns_link(ns, NULL, f, ROOT, "one more"), -EMLINK);
	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_LINK;
	e.link.parent = ROOT;
	e.link.ino = f;
	strcpy(e.name, "one more");
	assert_int_equal(ns_apply(ns, &e, msg, sizeof(msg)), -EMLINK);
	assert_non_null(strstr(msg, "names already"));
	assert_int_equal(ns_unlink(ns, NULL, ROOT, "l7"), 0);
	assert_int_equal(ns_apply(ns, &e, msg, sizeof(msg)), 0);
	ns_free(ns);
}

/* -------------------------------------------------------------------- */
/* Hostile entries: each one refused, nothing changed */

/*
 * root: d (2) { f (3): [0, 2M) simple, [16M, 32M) interleaved; sub (6) }, l (4) -> d, e (5),
 * hl (3: f's second name)
 */
static struct ns *hostile_base(void)
{
	struct fmap_simple_ext x = simple_ext(0, UNIT, 0, 64 * MiB);
	struct fmap_ileave_ext ie = ileave_ext(16 * MiB, 16 * MiB, 2, 256 * MiB, 64 * MiB);
	struct ns *ns = ns_new(NULL, NULL);
	__u64 ino;

	assert_int_equal(mkdir_ok(ns, NULL, ROOT, "d"), 2);
	assert_int_equal(create_ok(ns, NULL, 2, "f"), 3);
	assert_int_equal(ns_alloc(ns, NULL, 3, &x, 1, &ie, 1), 0);
	assert_int_equal(ns_symlink(ns, NULL, ROOT, "l", "d", &cred, &ino), 0);
	assert_int_equal(mkdir_ok(ns, NULL, ROOT, "e"), 5);
	assert_int_equal(mkdir_ok(ns, NULL, 2, "sub"), 6);
	assert_int_equal(ns_link(ns, NULL, 3, ROOT, "hl"), 0);
	return ns;
}

static struct fmap_simple_ext hostile_simple = { .file_off = 1 * MiB, .len = UNIT,
						 .dev_off = 128 * MiB };

static void hostile_mknod(struct famfs_mlog_entry *e, enum famfs_log_type type, __u64 parent,
			  __u64 ino, const char *name)
{
	e->type = type;
	e->mknod.parent = parent;
	e->mknod.ino = ino;
	e->mknod.mode = 0644;
	strcpy(e->name, name);
	if (type == FAMFS_LOG_SYMLINK) {
		strcpy(e->target, "x");
		e->mknod.size = 1;
	}
}

static void hostile_rename(struct famfs_mlog_entry *e, __u64 from, const char *name, __u64 ino,
			   __u64 to, const char *new_name, __u32 flags)
{
	e->type = FAMFS_LOG_RENAME;
	e->rename.old_parent = from;
	e->rename.new_parent = to;
	e->rename.ino = ino;
	e->rename.flags = flags;
	strcpy(e->name, name);
	strcpy(e->new_name, new_name);
}

static void hostile_delete(struct famfs_mlog_entry *e, __u64 parent, const char *name, __u64 ino,
			   __u32 flags)
{
	e->type = FAMFS_LOG_DELETE;
	e->del.parent = parent;
	e->del.ino = ino;
	e->del.flags = flags;
	strcpy(e->name, name);
}

static void hostile_link(struct famfs_mlog_entry *e, __u64 parent, __u64 ino, const char *name)
{
	e->type = FAMFS_LOG_LINK;
	e->link.parent = parent;
	e->link.ino = ino;
	strcpy(e->name, name);
}

#define NHOSTILE 41

/* Entry @i, and the errno ns_apply() gives it. */
static int hostile(struct famfs_mlog_entry *e, int i)
{
	famfs_mlog_entry_init(e);
	switch (i) {
	case 0: hostile_mknod(e, FAMFS_LOG_CREATE, 99, 10, "x"); return -ENOENT;
	case 1: hostile_mknod(e, FAMFS_LOG_MKDIR, 3, 10, "x"); return -ENOTDIR;
	case 2: hostile_mknod(e, FAMFS_LOG_SYMLINK, 4, 10, "x"); return -ENOTDIR;
	case 3: hostile_mknod(e, FAMFS_LOG_CREATE, 2, 3, "x"); return -EEXIST;
	case 4: hostile_mknod(e, FAMFS_LOG_MKDIR, 2, 10, "f"); return -EEXIST;
	case 5: hostile_mknod(e, FAMFS_LOG_MKDIR, ROOT, ROOT, "x"); return -EINVAL;
	case 6:
		hostile_mknod(e, FAMFS_LOG_CREATE, 2, 10, "x");
		e->mknod.mode = S_IFREG | 0644;
		return -EINVAL;
	case 7: hostile_delete(e, 2, "nope", 3, 0); return -ENOENT;
	case 8: hostile_delete(e, 2, "f", 4, 0); return -EINVAL;
	case 9: hostile_delete(e, ROOT, "e", 5, 0); return -EISDIR;
	case 10: hostile_delete(e, 2, "f", 3, FAMFS_DELETE_DIR); return -ENOTDIR;
	case 11: hostile_delete(e, ROOT, "d", 2, FAMFS_DELETE_DIR); return -ENOTEMPTY;
	case 12: hostile_delete(e, 3, "f", 3, 0); return -ENOTDIR;
	case 13: hostile_rename(e, 2, "f", 5, ROOT, "x", 0); return -EINVAL;
	case 14: hostile_rename(e, ROOT, "d", 2, 6, "x", 0); return -EINVAL;
	case 15: hostile_rename(e, ROOT, "d", 2, 2, "x", 0); return -EINVAL;
	case 16: hostile_rename(e, 2, "f", 3, 4, "x", 0); return -ENOTDIR;
	case 17: hostile_rename(e, 2, "f", 3, ROOT, "e", 0); return -EISDIR;
	case 18: hostile_rename(e, ROOT, "e", 5, ROOT, "d", 0); return -ENOTEMPTY;
	case 19: hostile_rename(e, 2, "f", 3, ROOT, "nope", FAMFS_RENAME_EXCHANGE); return -ENOENT;
	case 20: hostile_rename(e, ROOT, "e", 5, 2, "f", 2); return -EINVAL;
	case 21:
		e->type = FAMFS_LOG_SETATTR;
		e->setattr.ino = 2;
		e->setattr.valid = FAMFS_SETATTR_SIZE;
		e->setattr.size = 1;
		return -EISDIR;
	case 22:
		e->type = FAMFS_LOG_SETATTR;
		e->setattr.ino = 77;
		e->setattr.valid = FAMFS_SETATTR_UID;
		return -ENOENT;
	case 23:
		e->type = FAMFS_LOG_ALLOC;
		e->alloc.ino = 3;
		e->nsimple = 1;
		e->simple = &hostile_simple;	/* overlaps [0, 2M) */
		return -EINVAL;
	case 24:
		e->type = FAMFS_LOG_ALLOC;
		e->alloc.ino = 4;
		e->nsimple = 1;
		e->simple = &hostile_simple;
		return -EINVAL;
	case 25:
		e->type = FAMFS_LOG_PUNCH;
		e->punch.ino = 3;
		e->punch.off = 20 * MiB;
		e->punch.len = 2 * MiB;		/* a hole in the interleaved one, mid-stripe */
		return -EINVAL;
	case 26:
		e->type = FAMFS_LOG_PUNCH;
		e->punch.ino = 2;
		e->punch.off = 0;
		e->punch.len = FAMFS_LOG_TO_END;
		return -EISDIR;
	case 27:
		e->type = 99;
		return -EINVAL;
	case 28 ... 32:
		e->type = FAMFS_LOG_STRIPE;
		e->stripe.ino = 2;
		e->stripe.nstrips = 2;
		e->stripe.chunk_shift = 21;
		switch (i) {
		case 28: e->stripe.ino = 4; return -EINVAL;	/* a symlink */
		case 29: e->stripe.ino = 77; return -ENOENT;
		case 30: e->stripe.nstrips = 17; return -EINVAL;
		case 31: e->stripe.chunk_shift = 20; return -EINVAL;
		case 32: e->stripe.nstrips = 0; return -EINVAL;	/* simple with a chunk */
		}
		break;
	case 33: hostile_link(e, ROOT, 2, "x"); return -EPERM;	/* a directory */
	case 34: hostile_link(e, ROOT, 77, "x"); return -ENOENT;
	case 35: hostile_link(e, 2, 3, "f"); return -EEXIST;	/* its own name */
	case 36: hostile_link(e, ROOT, 4, "e"); return -EEXIST;
	case 37: hostile_link(e, 99, 3, "x"); return -ENOENT;
	case 38: hostile_link(e, 4, 3, "x"); return -ENOTDIR;	/* a symlink */
	case 39: hostile_link(e, ROOT, ROOT, "x"); return -EINVAL;	/* mlog: the root */
	case 40: hostile_rename(e, 2, "f", 3, ROOT, "hl", 0); return -EINVAL;	/* both 3 */
	}
	return 0;
}

static void hostile_entries_refused(void **state)
{
	struct famfs_mlog_entry e;
	struct ns *ns = hostile_base();
	char msg[200], *before;
	int i, want, got;

	(void)state;
	for (i = 0; i < NHOSTILE; i++) {
		want = hostile(&e, i);
		before = dump(ns);
		msg[0] = '\0';
		got = ns_apply(ns, &e, msg, sizeof(msg));
		if (got != want)
			fail_msg("entry %d: %d (%s), expected %d", i, got, msg, want);
		if (!msg[0])
			fail_msg("entry %d: refused without a message", i);
		assert_int_equal(ns_mlog_apply(ns, &e), -EINVAL);
		assert_string_equal(ns_refusal(ns), msg);
		assert_unchanged(ns, before);
	}
	ns_free(ns);
}

/* A log whose 4th entry names a missing parent: replay stops there, saying why. */
static void replay_refuses_and_says_why(void **state)
{
	struct jlog *l = jlog_new(64 * 1024);
	struct ns *ns = ns_new(NULL, NULL), *again = ns_new(NULL, NULL);
	struct famfs_mlog_result res;
	struct famfs_mlog_entry e;
	__u64 off;

	(void)state;
	mkdir_ok(ns, l, ROOT, "d");
	create_ok(ns, l, 2, "f");
	create_ok(ns, l, 2, "g");
	off = l->w.off;
	famfs_mlog_entry_init(&e);
	hostile_mknod(&e, FAMFS_LOG_CREATE, 42, 10, "x");
	assert_int_equal(famfs_mlog_append(&l->w, &e), 0);

	assert_int_equal(ns_replay(again, l->buf, l->len, uuid, NULL, &res), -EINVAL);
	assert_int_equal(res.tail, FAMFS_MLOG_CORRUPT);
	assert_int_equal(res.entries, 3);
	assert_int_equal(res.end_off, off);
	assert_non_null(strstr(res.msg, "directory 42 does not exist"));
	assert_non_null(strstr(res.msg, "create"));
	assert_int_equal(lookup(again, 2, "g"), 4);
	ns_free(ns);
	ns_free(again);
	jlog_free(l);
}

/* -------------------------------------------------------------------- */
/* A random history, replayed */

#define RT_STEPS 10000	/* 14 kinds of operation, each at least 50 times */
#define RT_NAMES 24

enum rt_op {
	RT_MKDIR, RT_CREATE, RT_SYMLINK, RT_UNLINK, RT_RMDIR, RT_RENAME, RT_SETATTR,
	RT_ALLOC, RT_PUNCH, RT_OPEN, RT_CLOSE, RT_STRIPE, RT_LINK, RT_XATTR, RT_NOPS
};

struct rt {
	struct ns *ns;
	struct jlog *l;
	__u64 rng;
	__u64 dev_next;			/* device space is never reused */
	struct attrs inodes;		/* this step's */
	struct listing *ls;
	__u64 opened[256];
	unsigned int nopened;
	unsigned int ok[RT_NOPS], tried[RT_NOPS];
	unsigned int refused;		/* by the journal, on purpose */
};

static __u64 rnd(struct rt *t, __u64 n)
{
	return xorshift64(&t->rng) % n;
}

/* A random inode of type @fmt (0: any), orphans too; 0 if there is none. */
static __u64 rt_pick(struct rt *t, __u32 fmt)
{
	size_t i, start = rnd(t, t->inodes.n);

	for (i = 0; i < t->inodes.n; i++) {
		const struct ns_attr *a = &t->inodes.a[(start + i) % t->inodes.n];

		if (!fmt || (a->mode & S_IFMT) == fmt)
			return a->ino;
	}
	return 0;
}

/* A random name in directory @dir ("" if it has none) into @name. */
static void rt_pick_name(struct rt *t, __u64 dir, char *name)
{
	list_dir(t->ns, dir, AFTER_DOTS, UINT32_MAX, t->ls);
	name[0] = '\0';
	if (t->ls->n)
		strcpy(name, t->ls->names[rnd(t, t->ls->n)]);
}

static void rt_name(struct rt *t, char *name)
{
	snprintf(name, 16, "n%u", (unsigned int)rnd(t, RT_NAMES));
}

static int rt_alloc(struct rt *t, __u64 ino)
{
	struct fmap_simple_ext x[2];
	struct fmap_ileave_ext ie;
	__u64 off = rnd(t, 48) * UNIT, len = (1 + rnd(t, 4)) * UNIT;
	__u32 n = 1 + (__u32)rnd(t, 4);

	if (rnd(t, 4) == 0) {
		/* 1 to 4 strips, 3 among them; strip s at dev_next + s * len * n */
		ie = ileave_ext(off, len * n, n, t->dev_next, len * n);
		t->dev_next += len * n * n;
		return ns_alloc(t->ns, &t->l->j, ino, NULL, 0, &ie, 1);
	}
	x[0] = simple_ext(off, len, (__u32)rnd(t, 2), t->dev_next);
	x[1] = simple_ext(off + len + UNIT, UNIT, 0, t->dev_next + len);
	t->dev_next += len + UNIT;
	return ns_alloc(t->ns, &t->l->j, ino, x, 1 + (__u32)rnd(t, 2), NULL, 0);
}

static int rt_punch(struct rt *t, __u64 ino)
{
	__u64 off = rnd(t, 64) * UNIT + (rnd(t, 2) ? 0 : 4096 * rnd(t, 8));
	__u64 len = rnd(t, 4) ? (1 + rnd(t, 8)) * UNIT : FAMFS_LOG_TO_END;

	return ns_punch(t->ns, &t->l->j, ino, off, len);
}

static int rt_setattr(struct rt *t, __u64 ino)
{
	__u64 r = xorshift64(&t->rng);
	struct ns_setattr sa = {
		.valid = (__u32)(1 + r % FAMFS_SETATTR_ALL),
		.mode = (__u32)(r >> 8) & 07777,
		.uid = (__u32)(r >> 20) & 0xffff,
		.gid = (__u32)(r >> 36) & 0xffff,
		.size = (r >> 12) & 0xffffff,
		.atime = { (__s64)(r >> 3), (__u32)(r % 1000000000) },
		.mtime = { -(__s64)(r >> 40), 1 },
		.ctime = { 12345, (__u32)(r >> 34) % 1000000000 },
	};

	return ns_setattr(t->ns, &t->l->j, ino, &sa);
}

static int rt_rename(struct rt *t)
{
	__u64 from = rt_pick(t, S_IFDIR), to = rt_pick(t, S_IFDIR);
	char name[FAMFS_NAME_MAX + 1], new_name[FAMFS_NAME_MAX + 1];
	static const unsigned int flags[] = { 0, 0, NS_RENAME_NOREPLACE, NS_RENAME_EXCHANGE };

	rt_pick_name(t, from, name);
	if (!name[0])
		return -ENOENT;
	if (rnd(t, 2))
		rt_pick_name(t, to, new_name);
	else
		rt_name(t, new_name);
	if (!new_name[0])
		rt_name(t, new_name);
	return ns_rename(t->ns, &t->l->j, from, name, to, new_name, flags[rnd(t, 4)]);
}

static int rt_remove(struct rt *t, bool rmdir)
{
	__u64 dir = rt_pick(t, S_IFDIR);
	char name[FAMFS_NAME_MAX + 1];

	rt_pick_name(t, dir, name);
	if (!name[0])
		return -ENOENT;
	return rmdir ? ns_rmdir(t->ns, &t->l->j, dir, name) : ns_unlink(t->ns, &t->l->j, dir, name);
}

static int rt_open(struct rt *t, bool open)
{
	__u64 ino;
	unsigned int i;

	if (open) {
		ino = rt_pick(t, rnd(t, 4) ? S_IFREG : S_IFDIR);
		if (!ino || t->nopened == 256)
			return -ENOENT;
		t->opened[t->nopened++] = ino;
		return ns_open_ref(t->ns, ino);
	}
	if (!t->nopened)
		return -ENOENT;
	i = (unsigned int)rnd(t, t->nopened);
	ino = t->opened[i];
	t->opened[i] = t->opened[--t->nopened];
	return ns_open_unref(t->ns, ino);
}

static int rt_step(struct rt *t, enum rt_op op)
{
	struct ns_cred c = { (__u32)rnd(t, 010000), (__u32)rnd(t, 5), (__u32)rnd(t, 5) };
	char name[16], target[16];
	__u64 ino, dir = rt_pick(t, S_IFDIR);

	rt_name(t, name);
	switch (op) {
	case RT_MKDIR: return ns_mkdir(t->ns, &t->l->j, dir, name, &c, &ino);
	case RT_CREATE: return ns_create(t->ns, &t->l->j, dir, name, &c, &ino);
	case RT_SYMLINK:
		rt_name(t, target);
		return ns_symlink(t->ns, &t->l->j, dir, name, target, &c, &ino);
	case RT_UNLINK: return rt_remove(t, false);
	case RT_RMDIR: return rt_remove(t, true);
	case RT_RENAME: return rt_rename(t);
	case RT_SETATTR: return rt_setattr(t, rt_pick(t, 0));
	case RT_ALLOC: return rt_alloc(t, rt_pick(t, rnd(t, 8) ? S_IFREG : 0));
	case RT_PUNCH: return rt_punch(t, rt_pick(t, rnd(t, 8) ? S_IFREG : 0));
	case RT_OPEN: return rt_open(t, true);
	case RT_CLOSE: return rt_open(t, false);
	case RT_STRIPE:
		ino = rt_pick(t, rnd(t, 2) ? S_IFDIR : rnd(t, 8) ? S_IFREG : 0);
		return rnd(t, 4) ? ns_set_stripe(t->ns, &t->l->j, ino, 1U << rnd(t, 5),
						 21 + (__u32)rnd(t, 10)) :
				   ns_set_stripe(t->ns, &t->l->j, ino, 0, 0);
	case RT_LINK:		/* mostly files and symlinks; directories, orphans refused */
		ino = rt_pick(t, rnd(t, 8) ? S_IFREG : rnd(t, 2) ? S_IFLNK : 0);
		return ns_link(t->ns, &t->l->j, ino, dir, name);
	case RT_XATTR: {	/* four names, a few hundred bytes: never past the space */
		unsigned char v[600];
		size_t vlen = (size_t)rnd(t, sizeof(v) + 1), i;

		ino = rt_pick(t, 0);
		snprintf(name, sizeof(name), "%s.k%u", rnd(t, 4) ? "user" : "trusted",
			 (unsigned int)rnd(t, 4));
		if (!rnd(t, 3))
			return ns_xattr_remove(t->ns, &t->l->j, ino, name);
		for (i = 0; i < vlen; i++)
			v[i] = (unsigned char)rnd(t, 256);
		return ns_xattr_set(t->ns, &t->l->j, ino, name, v, vlen,
				    (unsigned int)rnd(t, 3));
	}
	case RT_NOPS: break;
	}
	return 0;
}

static bool rt_expected(int err)
{
	return !err || err == -ENOENT || err == -EEXIST || err == -ENOTDIR || err == -EISDIR ||
	       err == -ENOTEMPTY || err == -EINVAL || err == -EFBIG || err == -EPERM ||
	       err == -ENODATA;
}

/* Device ranges of every file: none may overlap (the test never reuses space). */
struct ranges {
	struct dev_range { __u32 dev; __u64 start, end; } r[1 << 16];
	size_t n;
};

static int collect_ranges(void *ctx, __u64 ino, const struct fmap_simple_ext *simple,
			  __u32 nsimple, const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	struct ranges *rs = ctx;
	__u32 i, s;

	(void)ino;
	for (i = 0; i < nsimple && rs->n < (1 << 16); i++)
		rs->r[rs->n++] = (struct dev_range){ simple[i].dev, simple[i].dev_off,
						     simple[i].dev_off + simple[i].len };
	for (i = 0; i < nileave; i++)
		for (s = 0; s < ileave[i].nstrips && rs->n < (1 << 16); s++)
			rs->r[rs->n++] = (struct dev_range){
				ileave[i].strips[s].dev, ileave[i].strips[s].dev_off,
				ileave[i].strips[s].dev_off + fmap_ileave_strip_bytes(&ileave[i], s) };
	return 0;
}

static int range_cmp(const void *x, const void *y)
{
	const struct dev_range *a = x, *b = y;

	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	return a->start < b->start ? -1 : a->start > b->start;
}

static void assert_no_shared_space(struct ns *ns)
{
	struct ranges *rs = calloc(1, sizeof(*rs));
	size_t i;

	assert_non_null(rs);
	assert_int_equal(ns_foreach_layout(ns, collect_ranges, rs), 0);
	qsort(rs->r, rs->n, sizeof(rs->r[0]), range_cmp);
	for (i = 1; i < rs->n; i++)
		if (rs->r[i].dev == rs->r[i - 1].dev && rs->r[i].start < rs->r[i - 1].end)
			fail_msg("device %u: [%llx, %llx) and [%llx, %llx) overlap", rs->r[i].dev,
				 (unsigned long long)rs->r[i - 1].start,
				 (unsigned long long)rs->r[i - 1].end,
				 (unsigned long long)rs->r[i].start,
				 (unsigned long long)rs->r[i].end);
	free(rs);
}

static void rt_run(struct rt *t)
{
	static const char *const names[] = { "mkdir", "create", "symlink", "unlink", "rmdir",
					     "rename", "setattr", "alloc", "punch", "open",
					     "close", "stripe", "link", "xattr" };
	int step, err, inject;
	enum rt_op op;
	char *before = NULL, line[512];
	size_t len;

	for (step = 0; step < RT_STEPS; step++) {
		collect(t->ns, &t->inodes);
		/* unlink twice as often: links add names, and rmdir needs empty directories */
		op = (enum rt_op)rnd(t, RT_NOPS + 1);
		if (op == RT_NOPS)
			op = RT_UNLINK;
		inject = rnd(t, 40) == 0;
		if (inject) {
			before = dump(t->ns);
			t->l->fail = -ENOSPC;
		}
		err = rt_step(t, op);
		t->l->fail = 0;
		t->tried[op]++;
		if (inject && err == -ENOSPC) {
			assert_unchanged(t->ns, before);
			t->refused++;
		}
		else if (inject)
			free(before);
		else if (!rt_expected(err))
			fail_msg("step %d (%s): %d", step, names[op], err);
		if (!err)
			t->ok[op]++;
		free(t->inodes.a);
	}
	for (op = 0, len = 0; op < RT_NOPS; op++)
		len += snprintf(line + len, sizeof(line) - len, " %s %u/%u", names[op],
				t->ok[op], t->tried[op]);
	print_message("# succeeded/tried:%s; %u journal failures injected\n", line, t->refused);
	for (op = 0; op < RT_NOPS; op++)
		if (t->ok[op] < 50)
			fail_msg("only %u successful %s", t->ok[op], names[op]);
	while (t->nopened)
		assert_int_equal(ns_open_unref(t->ns, t->opened[--t->nopened]), 0);
}

static void random_history_replays(void **state)
{
	const struct famfs_mlog_ops ops = { .apply = ns_mlog_apply };
	struct rt t = { .rng = 0x9e3779b97f4a7c15ULL, .dev_next = 2 * MiB };
	struct famfs_mlog_result res;
	struct ns_statfs st;
	struct ns *again;
	char *a, *b;

	(void)state;
	t.ns = ns_new(NULL, NULL);
	t.l = jlog_new(16 * MiB);
	t.ls = malloc(sizeof(*t.ls));
	assert_non_null(t.ls);
	print_message("# random history: seed %#llx, %d steps\n", (unsigned long long)t.rng,
		      RT_STEPS);
	rt_run(&t);
	ns_statfs(t.ns, &st);
	assert_int_equal(st.orphans, 0);
	assert_true(st.files > 10 && st.dirs > 10);
	assert_no_shared_space(t.ns);

	again = ns_new(NULL, NULL);
	if (famfs_mlog_replay(t.l->buf, t.l->len, uuid, NULL, &ops, again, &res))
		fail_msg("%s: %s", res.msg, ns_refusal(again));
	assert_int_equal(res.entries, t.l->appends);
	a = dump(t.ns);
	b = dump(again);
	assert_same(a, b);
	print_message("# %u entries, %llu inodes: replay gives the same namespace\n",
		      t.l->appends, (unsigned long long)st.inodes);
	free(a);
	free(b);
	free(t.ls);
	ns_free(again);
	ns_free(t.ns);
	jlog_free(t.l);
}

/* -------------------------------------------------------------------- */
/* Threads: queries while names come and go (a smoke test for the lock) */

#define CONC_ROUNDS 2000

struct conc {
	struct ns *ns;
	__u64 dir;
	int writer_err, reader_err;
	unsigned int listed;
	atomic_int done, reader_started;
};

static int count_dirent(void *ctx, const struct ns_dirent *d)
{
	struct conc *c = ctx;

	if (d->cookie > AFTER_DOTS && strncmp(d->name, "c", 1))
		c->reader_err = -EBADMSG;
	c->listed++;
	return 0;
}

static void *conc_writer(void *arg)
{
	struct conc *c = arg;
	char name[16];
	__u64 ino;
	int i, err = 0;

	/* a reader that starts after the last change tests nothing */
	while (!c->reader_started)
		sched_yield();
	for (i = 0; i < CONC_ROUNDS && !err; i++) {
		snprintf(name, sizeof(name), "c%d", i % 64);
		err = ns_create(c->ns, NULL, c->dir, name, &cred, &ino);
		if (err == -EEXIST)
			err = ns_unlink(c->ns, NULL, c->dir, name);
	}
	c->writer_err = err;
	c->done = 1;
	return NULL;
}

static void *conc_reader(void *arg)
{
	struct conc *c = arg;
	struct ns_attr a;
	__u64 ino;
	int err;

	c->reader_started = 1;
	do {
		err = ns_readdir(c->ns, c->dir, 0, count_dirent, c);
		if (!err) {
			err = ns_lookup(c->ns, c->dir, "c7", &ino);
			if (!err)
				err = ns_getattr(c->ns, ino, &a);
			if (err == -ENOENT)	/* it went in between: fine */
				err = 0;
		}
		if (err)
			c->reader_err = err;
	} while (!c->done && !c->reader_err);
	return NULL;
}

static void queries_during_changes(void **state)
{
	struct conc c = { .ns = ns_new(NULL, NULL) };
	pthread_t w, r;

	(void)state;
	c.dir = mkdir_ok(c.ns, NULL, ROOT, "d");
	assert_int_equal(pthread_create(&r, NULL, conc_reader, &c), 0);
	assert_int_equal(pthread_create(&w, NULL, conc_writer, &c), 0);
	pthread_join(w, NULL);
	pthread_join(r, NULL);
	assert_int_equal(c.writer_err, 0);
	assert_int_equal(c.reader_err, 0);
	assert_true(c.listed > 0);
	ns_free(c.ns);
}

/* -------------------------------------------------------------------- */
/* 100,000 files */

#define BIG_DIRS 100
#define BIG_FILES 100000

static void append_mknod(struct famfs_mlog_writer *w, struct famfs_mlog_entry *e,
			 enum famfs_log_type type, __u64 parent, __u64 ino, const char *name)
{
	e->type = type;
	e->mknod.parent = parent;
	e->mknod.ino = ino;
	e->mknod.mode = 0644;
	e->mknod.time = (struct famfs_mlog_time){ 1700000000, (__u32)ino };
	snprintf(e->name, sizeof(e->name), "%s", name);
	assert_int_equal(famfs_mlog_append(w, e), 0);
}

struct count_layouts {
	__u64 files, bytes;
};

static int count_layout(void *ctx, __u64 ino, const struct fmap_simple_ext *simple,
			__u32 nsimple, const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	struct count_layouts *c = ctx;
	__u32 i;

	(void)ino;
	(void)ileave;
	(void)nileave;
	c->files++;
	for (i = 0; i < nsimple; i++)
		c->bytes += simple[i].len;
	return 0;
}

static void replay_100k_files(void **state)
{
	struct jlog *l = jlog_new(32 * MiB);
	struct ns *ns = ns_new(NULL, NULL);
	struct famfs_mlog_entry e;
	struct fmap_simple_ext x;
	struct famfs_mlog_result res;
	struct count_layouts c = { 0 };
	struct timespec t0, t1;
	struct ns_statfs st;
	char name[32];
	__u64 i;

	(void)state;
	famfs_mlog_entry_init(&e);
	for (i = 0; i < BIG_DIRS; i++) {
		snprintf(name, sizeof(name), "dir%llu", (unsigned long long)i);
		append_mknod(&l->w, &e, FAMFS_LOG_MKDIR, ROOT, 2 + i, name);
	}
	e.nsimple = 1;
	e.simple = &x;
	for (i = 0; i < BIG_FILES; i++) {
		x = simple_ext(0, UNIT, (__u32)(i % 2), UNIT * (1 + i));
		snprintf(name, sizeof(name), "file%06llu", (unsigned long long)i);
		append_mknod(&l->w, &e, FAMFS_LOG_CREATE, 2 + i % BIG_DIRS, 2 + BIG_DIRS + i, name);
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (ns_replay(ns, l->buf, l->len, uuid, NULL, &res))
		fail_msg("%s", res.msg);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("# replayed %llu entries (%d files, %llu log bytes) in %.3f s\n",
		      (unsigned long long)res.entries, BIG_FILES, (unsigned long long)res.end_off,
		      (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);

	assert_int_equal(res.entries, BIG_DIRS + BIG_FILES);
	ns_statfs(ns, &st);
	assert_int_equal(st.files, BIG_FILES);
	assert_int_equal(st.dirs, BIG_DIRS + 1);
	assert_int_equal(st.max_ino, 1 + BIG_DIRS + BIG_FILES);
	assert_int_equal(lookup(ns, 2 + 12345 % BIG_DIRS, "file012345"), 2 + BIG_DIRS + 12345);
	assert_int_equal(lookup(ns, 2, "file000100"), 2 + BIG_DIRS + 100);
	assert_int_equal(ns_foreach_layout(ns, count_layout, &c), 0);
	assert_int_equal(c.files, BIG_FILES);
	assert_int_equal(c.bytes, BIG_FILES * UNIT);
	/* the next live entry continues the log */
	assert_int_equal(create_ok(ns, l, ROOT, "one more"), 2 + BIG_DIRS + BIG_FILES);
	ns_free(ns);
	jlog_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_lookup_getattr),
		cmocka_unit_test(mknod_errors),
		cmocka_unit_test(setgid_directory),
		cmocka_unit_test(unlink_rmdir),
		cmocka_unit_test(rename_moves_and_replaces),
		cmocka_unit_test(setattr_fields),
		cmocka_unit_test(alloc_extents),
		cmocka_unit_test(punch_extents),
		cmocka_unit_test(punch_three_strips),
		cmocka_unit_test(ileave_continuations_merge),
		cmocka_unit_test(ileave_non_continuations),
		cmocka_unit_test(journal_failure_changes_nothing),
		cmocka_unit_test(full_log),
		cmocka_unit_test(unlinked_while_open),
		cmocka_unit_test(follower_orphan_revoked),
		cmocka_unit_test(hard_links),
		cmocka_unit_test(link_max),
		cmocka_unit_test(readdir_cookies_survive_unlinks),
		cmocka_unit_test(stripe_policies),
		cmocka_unit_test(class_policies),
		cmocka_unit_test(tmpfile_link),
		cmocka_unit_test(hostile_entries_refused),
		cmocka_unit_test(replay_refuses_and_says_why),
		cmocka_unit_test(xattrs_live_and_replayed),
		cmocka_unit_test(random_history_replays),
		cmocka_unit_test(queries_during_changes),
		cmocka_unit_test(replay_100k_files),
	};

	return cmocka_run_group_tests_name("ns", tests, NULL, NULL);
}
