// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of server/fs/fs.c, a mounted file system's metadata, on sparse
 * image files made by famfs-bpf mkfs: an empty mount; names, allocation
 * (congruence, interleaving over devices), truncate and rename surviving
 * a remount unchanged; fallocate and punch (simple and striped files);
 * an open unlinked file's space; a tmpfile's, crashed or linked; hard links; ENOSPC and a full log
 * changing nothing; a corrupt log, a torn append, devices in the wrong
 * order, from another file system, missing or too small; a second owner;
 * two files claiming one unit; owner operations on two threads with
 * queries on a third; a read-only instance refusing changes and following
 * the owner.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "fs/fs.h"
#include "fs/log.h"
#include "fs/mlog.h"
#include "img.h"

#define MiB (1ULL << 20)
#define UNIT (2 * MiB)
#define ROOT FAMFS_ROOT_INO
#define LOG_OFF (2 * MiB)

static const struct ns_cred cred = { .mode = 0644, .uid = 1000, .gid = 100 };

static int setup(void **state)
{
	struct images *im = img_create("fs", 4);

	if (!im)
		return -1;
	fbs_log_set_level(FBS_LOG_ERR);
	*state = im;
	return 0;
}

static int teardown(void **state)
{
	img_remove(*state);
	return 0;
}

static struct fs *mount_fs(const char *const *devs, unsigned int n, unsigned int flags)
{
	struct fs *fs = NULL;
	char msg[256];
	int err = fs_open(devs, n, flags, &fs, msg, sizeof(msg));

	if (err)
		print_error("fs_open: %s\n", msg);
	assert_int_equal(err, 0);
	return fs;
}

/* fs_open() must fail with @err and a message holding @needle */
static void refused(const char *const *devs, unsigned int n, unsigned int flags, int err,
		    const char *needle)
{
	struct fs *fs = NULL;
	char msg[256] = "";

	assert_int_equal(fs_open(devs, n, flags, &fs, msg, sizeof(msg)), err);
	assert_null(fs);
	if (!strstr(msg, needle))
		fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
}

static char *dump(struct fs *fs)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(fs_dump(fs, out), 0);
	fclose(out);
	return buf;
}

static void same_dump(struct fs *a, struct fs *b)
{
	char *x = dump(a), *y = dump(b);

	assert_string_equal(x, y);
	free(x);
	free(y);
}

/* Close @fs and mount its @n devices again: the replayed state must be the same. */
static struct fs *remount_same(struct fs *fs, const char *const *devs, unsigned int n)
{
	char *before = dump(fs), *after;

	fs_close(fs);
	fs = mount_fs(devs, n, FS_OPEN_OWNER);
	after = dump(fs);
	assert_string_equal(before, after);
	free(before);
	free(after);
	return fs;
}

static __u64 bfree(struct fs *fs)
{
	struct fs_statfs st;

	assert_int_equal(fs_statfs(fs, &st), 0);
	return st.bfree;
}

static __u64 lookup(struct fs *fs, __u64 dir, const char *name)
{
	__u64 ino = 0;

	assert_int_equal(ns_lookup(fs_ns(fs), dir, name, &ino), 0);
	return ino;
}

static struct ns_attr getattr(struct fs *fs, __u64 ino)
{
	struct ns_attr a;

	assert_int_equal(ns_getattr(fs_ns(fs), ino, &a), 0);
	return a;
}

/* every extent: unit-aligned on both sides, so congruent mod 2 MiB */
/* Allocate exactly what is asked: for the tests that count growth. */
static void exact_alloc(struct fs *fs)
{
	static const struct fs_alloc_policy exact = { 0 };

	fs_set_alloc_policy(fs, &exact);
}

static void check_congruent(const struct fs_extent *e)
{
	unsigned int s;

	if (!e->ileave) {
		assert_int_equal(e->simple.file_off % UNIT, e->simple.dev_off % UNIT);
		return;
	}
	assert_int_equal(e->ileave_ext.file_off % UNIT, 0);
	for (s = 0; s < e->ileave_ext.nstrips; s++)
		assert_int_equal(e->ileave_ext.strips[s].dev_off % UNIT, 0);
}

/* ------------------------------------------------------------------ */

/*
 * With pages (mkfs's default): 300 small files take 300 pages, not 300
 * units; a file written from 0 in pieces fills its first unit and gets
 * congruent whole units from 2 MiB on; truncate and unlink give pages
 * back; a remount counts the same space (and fsck, at mount, agrees:
 * fs_open() refuses double claims).
 */
static void pages_small_files(void **state)
{
	struct images *im = *state;
	struct ns_setattr sa = { .valid = FAMFS_SETATTR_SIZE };
	struct ns_layout l = { 0 };
	struct fs_statfs st;
	struct fs_extent e;
	__u64 f[300], big, free0;
	char name[16];
	struct fs *fs;
	__u32 i;

	img_mkfs_as(im, 0, 1, 64 * MiB, 0, true);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	assert_int_equal(fs_alloc_gran(fs), 4096);
	assert_int_equal(fs_statfs(fs, &st), 0);
	assert_int_equal(st.bsize, 4096);
	assert_int_equal(st.blocks, (64 - 10) * MiB / 4096);
	free0 = st.bfree;
	assert_int_equal(free0, st.blocks);

	/* on an empty device a file written from 0 fills its unit congruently */
	assert_int_equal(fs_create(fs, ROOT, "first", &cred, NULL, &big), 0);
	for (i = 0; i < 32; i++)
		assert_int_equal(fs_alloc_for_write(fs, big, (__u64)i * 65536, 65536, &e), 0);
	assert_int_equal(ns_layout_get(fs_ns(fs), big, &l), 0);
	assert_int_equal(l.nsimple, 1);
	assert_int_equal(l.simple[0].len, UNIT);
	assert_int_equal(l.simple[0].dev_off % UNIT, 0);
	free(l.simple);
	memset(&l, 0, sizeof(l));
	assert_int_equal(fs_unlink(fs, ROOT, "first"), 0);
	assert_int_equal(bfree(fs), free0);

	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "s%u", i);
		assert_int_equal(fs_create(fs, ROOT, name, &cred, NULL, &f[i]), 0);
		assert_int_equal(fs_alloc_for_write(fs, f[i], 0, 100 + i, &e), 0);
		assert_false(e.ileave);
		assert_int_equal(e.simple.file_off, 0);
		assert_int_equal(e.simple.len, 4096);
	}
	assert_int_equal(bfree(fs), free0 - 300);

	/* a file written from 0 in 64 KiB pieces, to 6 MiB */
	assert_int_equal(fs_create(fs, ROOT, "big", &cred, NULL, &big), 0);
	for (i = 0; i < 96; i++)
		assert_int_equal(fs_alloc_for_write(fs, big, (__u64)i * 65536, 65536, &e), 0);
	assert_int_equal(bfree(fs), free0 - 300 - 6 * MiB / 4096);
	/* its first pieces pack with the small files; from 2 MiB on, congruent units */
	assert_int_equal(ns_layout_get(fs_ns(fs), big, &l), 0);
	assert_true(l.nsimple >= 2);
	for (i = 0; i < l.nsimple; i++)
		if (l.simple[i].file_off + l.simple[i].len > UNIT) {
			assert_int_equal(l.simple[i].file_off % UNIT, 0);
			assert_int_equal(l.simple[i].dev_off % UNIT, 0);
			assert_int_equal(l.simple[i].len % UNIT, 0);
		}
	free(l.simple);

	fs = remount_same(fs, im->devs, 1);
	assert_int_equal(bfree(fs), free0 - 300 - 6 * MiB / 4096);

	/* 100-byte appends to 1 MiB: room ahead, doubling, not a request per page */
	{
		__u64 lg, off, fresh = 0, before = bfree(fs);

		assert_int_equal(fs_create(fs, ROOT, "log", &cred, NULL, &lg), 0);
		for (off = 0; off < MiB; off += 100) {
			assert_int_equal(fs_alloc_for_write(fs, lg, off, 100, &e), 0);
			fresh += e.fresh;
		}
		assert_true(fresh <= 10);
		/* at most twice what it holds */
		assert_true(getattr(fs, lg).mapped <= 2 * MiB);
		assert_true(getattr(fs, lg).mapped >= MiB);
		assert_int_equal(bfree(fs), before - getattr(fs, lg).mapped / 4096);
		assert_int_equal(fs_unlink(fs, ROOT, "log"), 0);
		assert_int_equal(bfree(fs), before);

		/* as cp writes: 128 KiB, then a 44 KiB tail: exactly that */
		assert_int_equal(fs_create(fs, ROOT, "cp", &cred, NULL, &lg), 0);
		assert_int_equal(fs_alloc_for_write(fs, lg, 0, 128 * 1024, &e), 0);
		assert_int_equal(fs_alloc_for_write(fs, lg, 128 * 1024, 44 * 1024 + 5, &e), 0);
		assert_int_equal(getattr(fs, lg).mapped, 176 * 1024);
		assert_int_equal(fs_unlink(fs, ROOT, "cp"), 0);
	}

	/* truncate to 5000 bytes keeps two pages */
	sa.size = 6 * MiB;
	assert_int_equal(fs_setattr(fs, big, &sa), 0);
	sa.size = 5000;
	assert_int_equal(fs_setattr(fs, big, &sa), 0);
	assert_int_equal(getattr(fs, big).mapped, 8192);
	assert_int_equal(bfree(fs), free0 - 300 - 2);
	/* half of the small files go: their pages come back */
	for (i = 0; i < 300; i += 2) {
		snprintf(name, sizeof(name), "s%u", i);
		assert_int_equal(fs_unlink(fs, ROOT, name), 0);
	}
	assert_int_equal(bfree(fs), free0 - 150 - 2);
	fs = remount_same(fs, im->devs, 1);
	assert_int_equal(bfree(fs), free0 - 150 - 2);
	/* the holes they left are used again: no new unit for small files */
	for (i = 0; i < 300; i += 2) {
		snprintf(name, sizeof(name), "t%u", i);
		assert_int_equal(fs_create(fs, ROOT, name, &cred, NULL, &f[i]), 0);
		assert_int_equal(fs_alloc_for_write(fs, f[i], 0, 4096, &e), 0);
	}
	assert_int_equal(bfree(fs), free0 - 300 - 2);
	fs_close(fs);
}

/*
 * With pages, random writes (allocations) into a few files, truncates and
 * deletes: after each, the free space statfs reports is the device's
 * less what the live files map, exactly (nothing is cooling: the files
 * are deleted only at the end), and a remount agrees.
 */
static void pages_space_matches_layouts(void **state)
{
	struct images *im = *state;
	struct ns_setattr sa = { .valid = FAMFS_SETATTR_SIZE };
	struct fs_statfs st;
	struct fs_extent e;
	__u64 f[4], x = 0x1234567, total, mapped;
	char name[8];
	struct fs *fs;
	int i, k;

	img_mkfs_as(im, 0, 1, 128 * MiB, 0, true);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	assert_int_equal(fs_statfs(fs, &st), 0);
	total = st.blocks * st.bsize;
	for (k = 0; k < 4; k++) {
		snprintf(name, sizeof(name), "f%d", k);
		assert_int_equal(fs_create(fs, ROOT, name, &cred, NULL, &f[k]), 0);
	}
	for (i = 0; i < 3000; i++) {
		__u64 r, off, len;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		r = x;
		k = r % 4;
		off = (r >> 8) % (6 * MiB);
		len = 1 + (r >> 32) % ((r >> 60) & 1 ? 200000 : 6000);
		if ((r >> 56) % 16 == 0) {
			sa.size = off;
			assert_int_equal(fs_setattr(fs, f[k], &sa), 0);
		} else {
			int err = fs_alloc_for_write(fs, f[k], off, len, &e);

			assert_true(err == 0 || err == -ENOSPC);
		}
		mapped = 0;
		for (k = 0; k < 4; k++)
			mapped += getattr(fs, f[k]).mapped;
		if (i % 500 == 499)
			fs = remount_same(fs, im->devs, 1);
		assert_int_equal(fs_statfs(fs, &st), 0);
		if (st.bfree * st.bsize != total - mapped)
			fail_msg("step %d: %llu free, %llu - %llu mapped", i,
				 (unsigned long long)(st.bfree * st.bsize), (unsigned long long)total,
				 (unsigned long long)mapped);
	}
	fs_close(fs);
}

/* An image made before pages (mkfs -U) mounts as it was: whole units. */
static void whole_units_format(void **state)
{
	struct images *im = *state;
	struct fs_extent e;
	__u64 f, free0;
	struct fs *fs;

	img_mkfs(im, 0, 1, 64 * MiB, 0);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	assert_int_equal(fs_alloc_gran(fs), UNIT);
	free0 = bfree(fs);
	assert_int_equal(fs_create(fs, ROOT, "f", &cred, NULL, &f), 0);
	assert_int_equal(fs_alloc_for_write(fs, f, 0, 100, &e), 0);
	assert_int_equal(e.simple.len, UNIT);
	assert_int_equal(bfree(fs), free0 - 1);
	fs = remount_same(fs, im->devs, 1);
	fs_close(fs);
}

static void empty_fs(void **state)
{
	struct images *im = *state;
	struct fs_statfs st;
	struct fs *fs;

	img_mkfs(im, 0, 1, 256 * MiB, 0);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	assert_true(fs_is_owner(fs));
	assert_int_equal(fs_ndevs(fs), 1);
	assert_true(fs_dev_fd(fs, 0) >= 0);
	assert_int_equal(fs_dev_fd(fs, 1), -1);
	assert_int_equal(fs_statfs(fs, &st), 0);
	assert_int_equal(st.bsize, UNIT);
	/* 8 MiB log after the first unit: data from 10 MiB */
	assert_int_equal(st.blocks, (256 - 10) / 2);
	assert_int_equal(st.bfree, st.blocks);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.log_used, 64);
	assert_false(st.log_corrupt);
	assert_true(S_ISDIR(getattr(fs, ROOT).mode));
	fs_close(fs);
}

/* names, allocation, truncate, rename: a remount sees exactly the same */
static void changes_survive_remount(void **state)
{
	struct images *im = *state;
	struct fs_stripe two = { .nstrips = 2, .chunk_size = UNIT };
	struct fs_stripe four = { .nstrips = 4, .chunk_size = UNIT };
	struct fs_stripe st;
	struct ns_setattr sa = { 0 };
	struct fs_extent e, e2;
	__u64 dir, f, g, l, free0;
	struct fs *fs;

	img_mkfs(im, 0, 3, 256 * MiB, 0);
	fs = mount_fs(im->devs, 3, FS_OPEN_OWNER);
	exact_alloc(fs);
	free0 = bfree(fs);
	assert_int_equal(fs_mkdir(fs, ROOT, "d", &cred, &dir), 0);
	assert_int_equal(fs_mkdir(fs, ROOT, "d", &cred, NULL), -EEXIST);
	assert_non_null(strstr(fs_msg(), "mkdir d"));
	assert_int_equal(fs_create(fs, dir, "f", &cred, NULL, &f), 0);
	assert_int_equal(fs_create(fs, ROOT, "x", &cred, &four, NULL), -EINVAL);
	assert_int_equal(fs_create(fs, ROOT, "g", &cred, &two, &g), 0);
	assert_int_equal(fs_symlink(fs, ROOT, "l", "d/f", &cred, &l), 0);

	/* simple: the unit around 5 MiB, fresh once */
	assert_int_equal(fs_alloc_for_write(fs, f, 5 * MiB, 1, &e), 0);
	assert_false(e.ileave);
	assert_true(e.fresh);
	assert_int_equal(e.simple.file_off, 4 * MiB);
	assert_int_equal(e.simple.len, UNIT);
	check_congruent(&e);
	assert_int_equal(fs_alloc_for_write(fs, f, 5 * MiB + 4096, 4096, &e2), 0);
	assert_false(e2.fresh);
	assert_memory_equal(&e.simple, &e2.simple, sizeof(e.simple));
	assert_int_equal(bfree(fs), free0 - 1);
	/* fill [0, 10 MiB): the holes around the first unit */
	assert_int_equal(fs_alloc_for_write(fs, f, 0, 10 * MiB, &e), 0);
	assert_int_equal(e.simple.file_off, 0);
	check_congruent(&e);
	assert_int_equal(getattr(fs, f).mapped, 10 * MiB);
	assert_int_equal(bfree(fs), free0 - 5);

	/* interleaved: two strips on two devices */
	assert_int_equal(fs_alloc_for_write(fs, g, 0, 8 * MiB, &e), 0);
	assert_true(e.ileave);
	assert_true(e.fresh);
	assert_int_equal(e.ileave_ext.nstrips, 2);
	assert_int_equal(e.ileave_ext.chunk_shift, 21);
	assert_int_not_equal(e.ileave_ext.strips[0].dev, e.ileave_ext.strips[1].dev);
	check_congruent(&e);
	assert_int_equal(getattr(fs, g).mapped, 8 * MiB);

	/* truncate down to 3 MiB keeps the unit of the new end: 2 units */
	sa.valid = FAMFS_SETATTR_SIZE;
	sa.size = 10 * MiB;
	assert_int_equal(fs_setattr(fs, f, &sa), 0);
	sa.size = 3 * MiB;
	assert_int_equal(fs_setattr(fs, f, &sa), 0);
	assert_int_equal(getattr(fs, f).size, 3 * MiB);
	assert_int_equal(getattr(fs, f).mapped, 4 * MiB);
	assert_int_equal(bfree(fs), free0 - 2 - 4);
	/* up: no space */
	sa.size = 20 * MiB;
	assert_int_equal(fs_setattr(fs, f, &sa), 0);
	assert_int_equal(getattr(fs, f).mapped, 4 * MiB);
	assert_int_equal(bfree(fs), free0 - 2 - 4);
	sa.valid = FAMFS_SETATTR_MODE;
	sa.mode = 0600;
	assert_int_equal(fs_setattr(fs, f, &sa), 0);

	assert_int_equal(fs_rename(fs, dir, "f", ROOT, "f2", 0), 0);
	assert_int_equal(lookup(fs, ROOT, "f2"), f);
	assert_int_equal(fs_rmdir(fs, ROOT, "d"), 0);
	assert_int_equal(fs_unlink(fs, ROOT, "l"), 0);

	fs = remount_same(fs, im->devs, 3);
	assert_int_equal(getattr(fs, f).mode & 07777, 0600);
	exact_alloc(fs);

	/* g's policy came back with the log (a STRIPE after its CREATE) */
	assert_int_equal(fs_get_stripe(fs, g, &st), 0);
	assert_int_equal(st.nstrips, 2);
	assert_int_equal(st.chunk_size, UNIT);
	assert_int_equal(fs_alloc_for_write(fs, g, 8 * MiB, 1, &e), 0);
	assert_true(e.ileave);
	assert_int_equal(e.ileave_ext.nstrips, 2);
	/* continued in place: one stripe more, one extent with the first */
	assert_int_equal(e.ileave_ext.file_off, 0);
	assert_int_equal(e.ileave_ext.len, 12 * MiB);
	fs_close(fs);
}

struct lay {
	__u32 nsimple, nileave;
	struct fmap_ileave_ext ileave[FMAP_MAX_ILEAVE];
};

static int lay_copy(void *ctx, __u64 ino, const struct fmap_simple_ext *simple, __u32 nsimple,
		    const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	struct lay *l = ctx;

	(void)ino;
	(void)simple;
	l->nsimple = nsimple;
	l->nileave = nileave;
	assert_true(nileave <= FMAP_MAX_ILEAVE);
	memcpy(l->ileave, ileave, nileave * sizeof(*ileave));
	return 0;
}

static struct lay layout_of(struct fs *fs, __u64 ino)
{
	struct lay l;

	assert_int_equal(ns_get_layout(fs_ns(fs), ino, lay_copy, &l), 0);
	return l;
}

/*
 * A striped file written piece by piece grows its interleaved extent in
 * place: the namespace merges each continuation, so it stays one extent,
 * however large, and never falls back to simple extents.
 */
static void interleaved_growth(void **state)
{
	struct images *im = *state;
	struct fs_stripe two = { .nstrips = 2, .chunk_size = UNIT };
	struct ns_setattr sa = { .valid = FAMFS_SETATTR_SIZE };
	struct fs_extent e;
	__u64 g, off, free0;
	struct lay l;
	struct fs *fs;

	img_mkfs(im, 0, 2, 256 * MiB, 0);
	fs = mount_fs(im->devs, 2, FS_OPEN_OWNER);
	exact_alloc(fs);
	free0 = bfree(fs);
	assert_int_equal(fs_create(fs, ROOT, "g", &cred, &two, &g), 0);
	for (off = 0; off < 128 * MiB; off += 4 * MiB) {
		assert_int_equal(fs_alloc_for_write(fs, g, off, 4 * MiB, &e), 0);
		check_congruent(&e);
		assert_true(e.ileave);
		assert_true(e.fresh);
		assert_int_equal(e.ileave_ext.file_off, 0);
		assert_int_equal(e.ileave_ext.len, off + 4 * MiB);
	}
	l = layout_of(fs, g);
	assert_int_equal(l.nsimple, 0);
	assert_int_equal(l.nileave, 1);
	assert_int_equal(getattr(fs, g).mapped, 128 * MiB);
	assert_int_equal(bfree(fs), free0 - 64);

	/* a remount replays 32 ALLOCs into the same one extent */
	fs = remount_same(fs, im->devs, 2);

	/*
	 * Truncate to 37 MiB: the unit of the new end stays, [38, 40) is one
	 * chunk on strip 1, [40, 128) 22 units on each strip: 45 units back.
	 */
	sa.size = 128 * MiB;
	assert_int_equal(fs_setattr(fs, g, &sa), 0);
	sa.size = 37 * MiB;
	assert_int_equal(fs_setattr(fs, g, &sa), 0);
	assert_int_equal(bfree(fs), free0 - 64 + 45);
	assert_int_equal(getattr(fs, g).mapped, 38 * MiB);
	l = layout_of(fs, g);
	assert_int_equal(l.nileave, 1);
	assert_int_equal(l.ileave[0].len, 38 * MiB);
	fs = remount_same(fs, im->devs, 2);
	fs_close(fs);
}

/*
 * When another file holds the space after a striped file's strips, the
 * next extent goes elsewhere, at least as large as the file (the growth
 * rule, the fallback), and the writes after it continue that one.
 */
static void interleaved_fallback(void **state)
{
	struct images *im = *state;
	struct fs_stripe two = { .nstrips = 2, .chunk_size = UNIT };
	struct fs_extent e, eh;
	__u64 g, h, off;
	struct lay l;
	struct fs *fs;
	__u32 s;

	img_mkfs(im, 0, 2, 256 * MiB, 0);
	fs = mount_fs(im->devs, 2, FS_OPEN_OWNER);
	exact_alloc(fs);
	assert_int_equal(fs_create(fs, ROOT, "g", &cred, &two, &g), 0);
	assert_int_equal(fs_create(fs, ROOT, "h", &cred, &two, &h), 0);
	assert_int_equal(fs_alloc_for_write(fs, g, 0, 8 * MiB, &e), 0);
	assert_int_equal(fs_alloc_for_write(fs, h, 0, 4 * MiB, &eh), 0);
	/* h took the units right after g's strips */
	for (s = 0; s < 2; s++)
		assert_int_equal(eh.ileave_ext.strips[s].dev_off,
				 e.ileave_ext.strips[s].dev_off + 4 * MiB);
	assert_int_equal(fs_alloc_for_write(fs, g, 8 * MiB, 4 * MiB, &e), 0);
	assert_true(e.ileave);
	assert_int_equal(e.ileave_ext.file_off, 8 * MiB);
	assert_int_equal(e.ileave_ext.len, 8 * MiB);	/* as large as the file */
	for (off = 16 * MiB; off < 64 * MiB; off += 4 * MiB) {
		assert_int_equal(fs_alloc_for_write(fs, g, off, 4 * MiB, &e), 0);
		assert_true(e.ileave);
	}
	l = layout_of(fs, g);
	assert_int_equal(l.nsimple, 0);
	assert_int_equal(l.nileave, 2);
	assert_int_equal(l.ileave[1].file_off, 8 * MiB);
	assert_int_equal(l.ileave[1].len, 56 * MiB);
	fs_close(fs);
}

/*
 * Freed space cools before reuse (a follower that has not played the
 * delete still maps it): the next file gets other space while there is
 * some, and the cooling space only when nothing else is free, without
 * ENOSPC.  statfs counts it free.  Before: b got a's units at once.
 */
static void freed_space_cools(void **state)
{
	struct images *im = *state;
	struct fs_extent ea, eb;
	__u64 a, b, c, free0, off;

	img_mkfs(im, 0, 1, 64 * MiB, 0);
	{
		struct fs *fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);

		free0 = bfree(fs);
		assert_int_equal(fs_create(fs, ROOT, "a", &cred, NULL, &a), 0);
		assert_int_equal(fs_alloc_for_write(fs, a, 0, 4 * MiB, &ea), 0);
		assert_int_equal(fs_unlink(fs, ROOT, "a"), 0);
		assert_int_equal(bfree(fs), free0);
		assert_int_equal(fs_create(fs, ROOT, "b", &cred, NULL, &b), 0);
		assert_int_equal(fs_alloc_for_write(fs, b, 0, 4 * MiB, &eb), 0);
		assert_true(eb.simple.dev_off >= ea.simple.dev_off + 4 * MiB ||
			    eb.simple.dev_off + 4 * MiB <= ea.simple.dev_off);
		/* fill the rest: the last of it is a's, still cooling */
		assert_int_equal(fs_create(fs, ROOT, "c", &cred, NULL, &c), 0);
		for (off = 0; bfree(fs); off += 2 * MiB)
			assert_int_equal(fs_alloc_for_write(fs, c, off, 2 * MiB, &eb), 0);
		assert_int_equal(fs_alloc_for_write(fs, c, off, 2 * MiB, &eb), -ENOSPC);
		fs_close(fs);
	}
}

static void unlinked_open_file(void **state)
{
	struct images *im = *state;
	struct fs_extent e;
	__u64 f, free0;
	struct fs *fs, *again;
	char *before;

	img_mkfs(im, 0, 1, 256 * MiB, 0);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	free0 = bfree(fs);
	assert_int_equal(fs_create(fs, ROOT, "f", &cred, NULL, &f), 0);
	assert_int_equal(fs_alloc_for_write(fs, f, 0, 8 * MiB, &e), 0);
	assert_int_equal(fs_open_ref(fs, f), 0);
	assert_int_equal(fs_unlink(fs, ROOT, "f"), 0);
	assert_int_equal(bfree(fs), free0 - 4);
	/* writes to the orphan still get space (in memory only) */
	assert_int_equal(fs_alloc_for_write(fs, f, 8 * MiB, 1, &e), 0);
	assert_int_equal(bfree(fs), free0 - 5);
	assert_int_equal(fs_release(fs, f), 0);
	assert_int_equal(bfree(fs), free0);
	assert_int_equal(fs_release(fs, f), -ENOENT);
	before = dump(fs);
	fs_close(fs);
	again = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	{
		char *after = dump(again);

		assert_string_equal(before, after);
		free(after);
	}
	free(before);
	fs_close(again);
}

static __u64 log_used(struct fs *fs)
{
	struct fs_statfs st;

	assert_int_equal(fs_statfs(fs, &st), 0);
	return st.log_used;
}

/*
 * O_TMPFILE: a tmpfile's space is in use while it is open, and nothing
 * of it reaches the log: a crash (a close without release) leaves its
 * space free at the next mount.  A link journals it whole, so a remount
 * gives it back with its name, size and extents; with the log too full
 * for all of its entries the link is refused and changes nothing.
 */
static void tmpfile_crash_and_link(void **state)
{
	struct images *im = *state;
	struct fs_compact_result r;
	struct fs_extent e;
	struct ns_attr a;
	__u64 t, free0, used, ino;
	char name[32], *before, *after;
	struct fs *fs;
	int i, err = 0;

	img_mkfs(im, 0, 1, 256 * MiB, 64 * 1024);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	fs_set_auto_compact(fs, false);
	free0 = bfree(fs);
	used = log_used(fs);
	assert_int_equal(fs_tmpfile(fs, ROOT, &cred, &t), 0);
	assert_int_equal(fs_alloc_for_write(fs, t, 0, 8 * MiB, &e), 0);
	assert_int_equal(fs_size_grow(fs, t, 8 * MiB - 5), 0);
	assert_int_equal(fs_size_sync(fs, t), 0);
	assert_int_equal(bfree(fs), free0 - 4);
	assert_int_equal(log_used(fs), used);
	fs_close(fs);		/* the crash: never released */
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	fs_set_auto_compact(fs, false);
	assert_int_equal(bfree(fs), free0);
	assert_int_equal(ns_getattr(fs_ns(fs), t, &a), -ENOENT);

	/* linked after a checkpoint that left it out: journaled whole, there after a remount */
	assert_int_equal(fs_tmpfile(fs, ROOT, &cred, &t), 0);
	assert_int_equal(fs_alloc_for_write(fs, t, 0, 4 * MiB, &e), 0);
	assert_int_equal(fs_size_grow(fs, t, 4 * MiB - 7), 0);
	assert_int_equal(fs_compact(fs, &r), 0);
	assert_int_equal(fs_link(fs, t, ROOT, "named"), 0);
	assert_int_equal(fs_release(fs, t), 0);
	assert_int_equal(bfree(fs), free0 - 2);
	fs_close(fs);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	fs_set_auto_compact(fs, false);
	assert_int_equal(lookup(fs, ROOT, "named"), t);
	assert_int_equal(ns_getattr(fs_ns(fs), t, &a), 0);
	assert_int_equal(a.nlink, 1);
	assert_int_equal(a.size, 4 * MiB - 7);
	assert_int_equal(a.mapped, 4 * MiB);
	assert_int_equal(bfree(fs), free0 - 2);

	/* a log with no room for the link's entries: refused, nothing changed */
	assert_int_equal(fs_tmpfile(fs, ROOT, &cred, &t), 0);
	assert_int_equal(fs_alloc_for_write(fs, t, 0, 2 * MiB, &e), 0);
	for (i = 0; !err; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		err = fs_create(fs, ROOT, name, &cred, NULL, &ino);
	}
	assert_int_equal(err, -ENOSPC);
	before = dump(fs);
	used = log_used(fs);
	assert_int_equal(fs_link(fs, t, ROOT, "late"), -ENOSPC);
	assert_non_null(strstr(fs_msg(), "metadata log full"));
	after = dump(fs);
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(log_used(fs), used);
	assert_int_equal(ns_getattr(fs_ns(fs), t, &a), 0);
	assert_int_equal(a.nlink, 0);
	assert_int_equal(fs_release(fs, t), 0);
	assert_int_equal(bfree(fs), free0 - 2);
	fs_close(fs);
}

/*
 * fallocate on simple extents: mode 0 and KEEP_SIZE allocate whole units
 * (and mode 0 moves the size), again on a mapped range writes nothing;
 * a punch frees the whole units inside its range only, and a remount
 * replays all of it.
 */
static void fallocate_and_punch(void **state)
{
	struct images *im = *state;
	__u64 f, dir, free0, used, off, len;
	char *before, *after;
	struct fs *fs, *ro;

	img_mkfs(im, 0, 1, 256 * MiB, 0);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	free0 = bfree(fs);
	assert_int_equal(fs_create(fs, ROOT, "f", &cred, NULL, &f), 0);
	assert_int_equal(fs_mkdir(fs, ROOT, "d", &cred, &dir), 0);

	/* KEEP_SIZE: [1 MiB, 4 MiB) maps the units [0, 4 MiB), size stays 0 */
	assert_int_equal(fs_fallocate(fs, f, 1 * MiB, 3 * MiB, FS_FALLOC_KEEP_SIZE), 0);
	assert_int_equal(getattr(fs, f).mapped, 4 * MiB);
	assert_int_equal(getattr(fs, f).size, 0);
	assert_int_equal(bfree(fs), free0 - 2);
	/* mode 0: one more unit, and the size is the end of the range */
	assert_int_equal(fs_fallocate(fs, f, 5 * MiB, 1, 0), 0);
	assert_int_equal(getattr(fs, f).mapped, 6 * MiB);
	assert_int_equal(getattr(fs, f).size, 5 * MiB + 1);
	assert_int_equal(bfree(fs), free0 - 3);
	/* all mapped, inside the size: no entry at all */
	used = log_used(fs);
	assert_int_equal(fs_fallocate(fs, f, 0, 5 * MiB, 0), 0);
	assert_int_equal(log_used(fs), used);
	assert_int_equal(getattr(fs, f).size, 5 * MiB + 1);
	/* a size below the end grows even with nothing to allocate */
	assert_int_equal(fs_fallocate(fs, f, 5 * MiB, 1 * MiB, 0), 0);
	assert_int_equal(getattr(fs, f).size, 6 * MiB);
	assert_true(log_used(fs) > used);
	assert_int_equal(bfree(fs), free0 - 3);

	/* punch [1 MiB, 5 MiB + 100): only [2 MiB, 4 MiB) is whole units */
	assert_int_equal(fs_punch(fs, f, 1 * MiB, 4 * MiB + 100, &off, &len), 0);
	assert_int_equal(off, 2 * MiB);
	assert_int_equal(len, 2 * MiB);
	assert_int_equal(getattr(fs, f).mapped, 4 * MiB);
	assert_int_equal(getattr(fs, f).size, 6 * MiB);
	assert_int_equal(bfree(fs), free0 - 2);
	/* less than a unit: nothing goes, nothing is written */
	used = log_used(fs);
	assert_int_equal(fs_punch(fs, f, 4 * MiB + 4096, 4096, &off, &len), 0);
	assert_int_equal(len, 0);
	/* a hole already, and past the end of file: nothing to write either */
	assert_int_equal(fs_punch(fs, f, 2 * MiB, 2 * MiB, &off, &len), 0);
	assert_int_equal(fs_punch(fs, f, 64 * MiB, UINT64_MAX - 64 * MiB, &off, &len), 0);
	assert_int_equal(log_used(fs), used);
	assert_int_equal(getattr(fs, f).mapped, 4 * MiB);

	/* refusals change nothing */
	before = dump(fs);
	assert_int_equal(fs_fallocate(fs, f, 0, 0, 0), -EINVAL);
	assert_int_equal(fs_fallocate(fs, f, 0, 1, 1U << 7), -EINVAL);
	assert_int_equal(fs_fallocate(fs, f, 1ULL << 62, 1, 0), -EFBIG);
	assert_int_equal(fs_fallocate(fs, f, 4 * MiB, UINT64_MAX - MiB, 0), -EFBIG);
	assert_int_equal(fs_fallocate(fs, dir, 0, 1, 0), -EISDIR);
	assert_int_equal(fs_fallocate(fs, 999, 0, 1, 0), -ENOENT);
	assert_int_equal(fs_punch(fs, f, 0, 0, &off, &len), -EINVAL);
	assert_int_equal(fs_punch(fs, f, 8 * MiB, UINT64_MAX, &off, &len), -EINVAL);
	assert_int_equal(fs_punch(fs, dir, 0, UNIT, &off, &len), -EISDIR);
	assert_int_equal(fs_punch(fs, 999, 0, UNIT, &off, &len), -ENOENT);
	ro = mount_fs(im->devs, 1, 0);
	assert_int_equal(fs_fallocate(ro, f, 0, 1, 0), -EROFS);
	assert_int_equal(fs_punch(ro, f, 0, UNIT, &off, &len), -EROFS);
	fs_close(ro);
	after = dump(fs);
	assert_string_equal(before, after);
	free(before);
	free(after);

	fs = remount_same(fs, im->devs, 1);
	assert_int_equal(getattr(fs, f).mapped, 4 * MiB);
	assert_int_equal(bfree(fs), free0 - 2);
	/* the hole fills again */
	assert_int_equal(fs_fallocate(fs, f, 2 * MiB, 2 * MiB, FS_FALLOC_KEEP_SIZE), 0);
	assert_int_equal(getattr(fs, f).mapped, 6 * MiB);
	fs = remount_same(fs, im->devs, 1);
	fs_close(fs);
}

/* Not enough free for the range: nothing is taken, the size stays. */
static void fallocate_enospc_changes_nothing(void **state)
{
	struct images *im = *state;
	__u64 f, total;
	char *before, *after;
	struct fs *fs;

	/* 32 MiB each: 11 units on device 0 (log first), 15 on device 1 */
	img_mkfs(im, 0, 2, 32 * MiB, 0);
	fs = mount_fs(im->devs, 2, FS_OPEN_OWNER);
	total = bfree(fs);
	assert_int_equal(fs_create(fs, ROOT, "f", &cred, NULL, &f), 0);
	assert_int_equal(fs_fallocate(fs, f, 0, UNIT, 0), 0);
	before = dump(fs);
	/* a hole of `total` units after the first: one too many */
	assert_int_equal(fs_fallocate(fs, f, UNIT, total * UNIT, 0), -ENOSPC);
	assert_non_null(strstr(fs_msg(), "no space"));
	assert_int_equal(fs_fallocate(fs, f, UNIT, total * UNIT, FS_FALLOC_KEEP_SIZE), -ENOSPC);
	after = dump(fs);
	assert_string_equal(before, after);
	free(after);
	assert_int_equal(bfree(fs), total - 1);
	assert_int_equal(getattr(fs, f).size, UNIT);
	/* exactly what is left */
	assert_int_equal(fs_fallocate(fs, f, UNIT, (total - 1) * UNIT, 0), 0);
	assert_int_equal(bfree(fs), 0);
	assert_int_equal(getattr(fs, f).size, total * UNIT);
	fs_close(fs);
	/* the refusals wrote nothing: a replay ends where the successes did */
	fs = mount_fs(im->devs, 2, FS_OPEN_OWNER);
	assert_int_equal(bfree(fs), 0);
	assert_int_equal(getattr(fs, f).mapped, total * UNIT);
	free(before);
	fs_close(fs);
}

/*
 * A striped file: fallocate takes whole stripes and continues its
 * interleaved extent in place; a punch takes whole stripes counted from
 * the extent's start (all strips of each), and one that would leave more
 * interleaved extents than a file may have takes nothing (the caller
 * zeroes the range instead).
 */
static void fallocate_striped(void **state)
{
	struct images *im = *state;
	struct fs_stripe two = { .nstrips = 2, .chunk_size = UNIT };
	__u64 g, free0, off, len;
	char *before, *after;
	struct lay l;
	struct fs *fs;

	img_mkfs(im, 0, 2, 256 * MiB, 0);
	fs = mount_fs(im->devs, 2, FS_OPEN_OWNER);
	free0 = bfree(fs);
	assert_int_equal(fs_create(fs, ROOT, "g", &cred, &two, &g), 0);
	/* one byte: the stripe [0, 4 MiB), both strips */
	assert_int_equal(fs_fallocate(fs, g, 1 * MiB, 1, FS_FALLOC_KEEP_SIZE), 0);
	assert_int_equal(getattr(fs, g).mapped, 4 * MiB);
	assert_int_equal(bfree(fs), free0 - 2);
	assert_int_equal(fs_fallocate(fs, g, 4 * MiB, 36 * MiB, 0), 0);
	l = layout_of(fs, g);
	assert_int_equal(l.nsimple, 0);
	assert_int_equal(l.nileave, 1);
	assert_int_equal(l.ileave[0].file_off, 0);
	assert_int_equal(l.ileave[0].len, 40 * MiB);
	assert_int_equal(getattr(fs, g).size, 40 * MiB);

	/* [2 MiB, 10 MiB) holds one whole stripe: [4 MiB, 8 MiB) */
	assert_int_equal(fs_punch(fs, g, 2 * MiB, 8 * MiB, &off, &len), 0);
	assert_int_equal(off, 4 * MiB);
	assert_int_equal(len, 4 * MiB);
	assert_int_equal(bfree(fs), free0 - 20 + 2);
	assert_int_equal(getattr(fs, g).mapped, 36 * MiB);
	assert_int_equal(getattr(fs, g).size, 40 * MiB);
	l = layout_of(fs, g);
	assert_int_equal(l.nileave, 2);
	assert_int_equal(l.ileave[0].len, 4 * MiB);
	assert_int_equal(l.ileave[1].file_off, 8 * MiB);
	assert_int_equal(l.ileave[1].len, 32 * MiB);
	fs = remount_same(fs, im->devs, 2);

	/* [13 MiB, 19 MiB): no whole stripe of [8 MiB, 40 MiB) */
	assert_int_equal(fs_punch(fs, g, 13 * MiB, 6 * MiB, &off, &len), 0);
	assert_int_equal(len, 0);
	/* two more holes: four extents, as many as a file may have */
	assert_int_equal(fs_punch(fs, g, 12 * MiB, 4 * MiB, &off, &len), 0);
	assert_int_equal(len, 4 * MiB);
	assert_int_equal(fs_punch(fs, g, 20 * MiB, 4 * MiB, &off, &len), 0);
	assert_int_equal(len, 4 * MiB);
	assert_int_equal(layout_of(fs, g).nileave, 4);
	assert_int_equal(bfree(fs), free0 - 20 + 6);
	/* a fifth is refused by the namespace: nothing goes */
	before = dump(fs);
	assert_int_equal(fs_punch(fs, g, 28 * MiB, 4 * MiB, &off, &len), 0);
	assert_int_equal(len, 0);
	after = dump(fs);
	assert_string_equal(before, after);
	free(before);
	free(after);
	/* a tail cuts no extent in two; past it is a hole already */
	assert_int_equal(fs_punch(fs, g, 36 * MiB, 8 * MiB, &off, &len), 0);
	assert_int_equal(off, 36 * MiB);
	assert_int_equal(len, 8 * MiB);
	assert_int_equal(layout_of(fs, g).nileave, 4);
	assert_int_equal(bfree(fs), free0 - 20 + 8);
	fs = remount_same(fs, im->devs, 2);
	fs_close(fs);
}

/* A file with two names: both survive a remount; its space goes once, with the last. */
static void hard_links(void **state)
{
	struct images *im = *state;
	struct fs_logplay_result res;
	struct fs_extent e;
	struct ns_attr a;
	__u64 f, d, ino, free0;
	struct fs *fs, *ro;

	img_mkfs(im, 0, 1, 256 * MiB, 0);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	free0 = bfree(fs);
	assert_int_equal(fs_mkdir(fs, ROOT, "d", &cred, &d), 0);
	assert_int_equal(fs_create(fs, ROOT, "f", &cred, NULL, &f), 0);
	assert_int_equal(fs_alloc_for_write(fs, f, 0, 8 * MiB, &e), 0);
	assert_int_equal(fs_link(fs, f, d, "g"), 0);
	assert_int_equal(bfree(fs), free0 - 4);
	assert_int_equal(fs_link(fs, d, ROOT, "d2"), -EPERM);
	assert_int_equal(fs_link(fs, f, d, "g"), -EEXIST);
	ro = mount_fs(im->devs, 1, 0);
	assert_int_equal(fs_link(ro, f, ROOT, "h"), -EROFS);
	fs = remount_same(fs, im->devs, 1);
	assert_int_equal(ns_lookup(fs_ns(fs), d, "g", &ino), 0);
	assert_int_equal(ino, f);
	assert_int_equal(ns_getattr(fs_ns(fs), f, &a), 0);
	assert_int_equal(a.nlink, 2);
	assert_int_equal(a.mapped, 8 * MiB);
	assert_int_equal(bfree(fs), free0 - 4);

	/* one name goes: nothing is freed, the follower sees the same */
	assert_int_equal(fs_unlink(fs, ROOT, "f"), 0);
	assert_int_equal(bfree(fs), free0 - 4);
	assert_int_equal(fs_logplay(ro, &res), 0);
	same_dump(fs, ro);
	fs = remount_same(fs, im->devs, 1);
	assert_int_equal(bfree(fs), free0 - 4);

	/* the last name of an open file: its space comes back at the release, once */
	assert_int_equal(fs_link(fs, f, ROOT, "f2"), 0);
	assert_int_equal(fs_open_ref(fs, f), 0);
	assert_int_equal(fs_unlink(fs, d, "g"), 0);
	assert_int_equal(fs_rename(fs, d, "x", ROOT, "f2", 0), -ENOENT);
	assert_int_equal(fs_create(fs, d, "x", &cred, NULL, &ino), 0);
	assert_int_equal(fs_rename(fs, d, "x", ROOT, "f2", 0), 0);	/* over the last name */
	assert_int_equal(bfree(fs), free0 - 4);
	assert_int_equal(fs_release(fs, f), 0);
	assert_int_equal(bfree(fs), free0);
	assert_int_equal(fs_release(fs, f), -ENOENT);
	assert_int_equal(bfree(fs), free0);
	assert_int_equal(fs_logplay(ro, &res), 0);
	same_dump(fs, ro);
	fs = remount_same(fs, im->devs, 1);
	assert_int_equal(bfree(fs), free0);
	assert_int_equal(ns_getattr(fs_ns(fs), f, &a), -ENOENT);
	fs_close(ro);
	fs_close(fs);
}

static void enospc_changes_nothing(void **state)
{
	struct images *im = *state;
	struct fs_stripe two = { .nstrips = 2, .chunk_size = UNIT };
	struct fs_extent e;
	__u64 f, g, h, total;
	char *before, *after;
	struct fs *fs;

	/* 32 MiB each: 11 units on device 0 (log first), 15 on device 1 */
	img_mkfs(im, 0, 2, 32 * MiB, 0);
	fs = mount_fs(im->devs, 2, FS_OPEN_OWNER);
	total = bfree(fs);
	assert_int_equal(total, 26);
	assert_int_equal(fs_create(fs, ROOT, "f", &cred, NULL, &f), 0);
	assert_int_equal(fs_create(fs, ROOT, "g", &cred, NULL, &g), 0);
	assert_int_equal(fs_create(fs, ROOT, "h", &cred, &two, &h), 0);
	/* more than there is: nothing taken */
	assert_int_equal(fs_alloc_for_write(fs, f, 0, (total + 1) * UNIT, &e), -ENOSPC);
	assert_non_null(strstr(fs_msg(), "no space"));
	assert_int_equal(bfree(fs), total);
	assert_int_equal(getattr(fs, f).mapped, 0);
	/* all of it */
	assert_int_equal(fs_alloc_for_write(fs, f, 0, total * UNIT, &e), 0);
	assert_int_equal(bfree(fs), 0);

	before = dump(fs);
	assert_int_equal(fs_alloc_for_write(fs, g, 0, 1, &e), -ENOSPC);
	assert_int_equal(fs_alloc_for_write(fs, h, 0, 1, &e), -ENOSPC);
	after = dump(fs);
	assert_string_equal(before, after);
	free(before);
	free(after);

	/* deleting frees, allocation works again */
	assert_int_equal(fs_unlink(fs, ROOT, "f"), 0);
	assert_int_equal(bfree(fs), total);
	assert_int_equal(fs_alloc_for_write(fs, g, 0, 1, &e), 0);
	assert_int_equal(fs_alloc_for_write(fs, h, 0, 1, &e), 0);
	assert_true(e.ileave);
	fs_close(fs);
}

static __u64 size_of(struct fs *fs, __u64 ino)
{
	struct ns_attr a;

	assert_int_equal(ns_getattr(fs_ns(fs), ino, &a), 0);
	return a.size;
}

/*
 * Issue 16, item 4: sizes that appends move live in memory; only an
 * fsync, a close or the unmount journals one SETATTR.  Before: every
 * FUSE_FMAP_END wrote a 104-byte SETATTR, so these 8,192 appends of
 * 4 KiB took 832 KiB of log (a default 8 MiB log dies after ~80,000).
 * A process that dies (here: _exit without fs_close, as a SIGKILL)
 * leaves the size last synced.  About 1.5 s (an msync per entry).
 */
static void appends_cost_o1_entries(void **state)
{
	struct images *im = *state;
	struct fs_extent e;
	__u64 f, g, used, off;
	struct fs *fs;
	pid_t pid;
	int status;

	img_mkfs(im, 0, 1, 256 * MiB, 256 * 1024);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	assert_int_equal(fs_create(fs, ROOT, "f", &cred, NULL, &f), 0);
	assert_int_equal(fs_create(fs, ROOT, "g", &cred, NULL, &g), 0);
	used = log_used(fs);
	for (off = 0; off < 32 * MiB; off += 4096) {
		if (!(off % UNIT))
			assert_int_equal(fs_alloc_for_write(fs, f, off, 4096, &e), 0);
		assert_int_equal(fs_size_grow(fs, f, off + 4096), 0);
	}
	/* 16 ALLOCs of 72 bytes, no SETATTR */
	assert_true(log_used(fs) - used <= 16 * 72);
	assert_int_equal(size_of(fs, f), 32 * MiB);
	assert_int_equal(fs_size_dirty(fs), 1);
	/* a stale (smaller) report changes nothing */
	assert_int_equal(fs_size_grow(fs, f, 4096), 0);
	assert_int_equal(size_of(fs, f), 32 * MiB);
	used = log_used(fs);
	assert_int_equal(fs_size_sync(fs, f), 0);
	assert_int_equal(log_used(fs) - used, 104);	/* one SETATTR */
	assert_int_equal(fs_size_sync(fs, f), 0);	/* clean: nothing */
	assert_int_equal(fs_size_sync(fs, g), 0);
	assert_int_equal(log_used(fs) - used, 104);
	assert_int_equal(fs_size_dirty(fs), 0);
	fs_close(fs);

	/* a process that dies keeps the synced size, not the one after it */
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
		if (fs_alloc_for_write(fs, g, 0, 4096, &e) || fs_size_grow(fs, g, 5000) ||
		    fs_size_sync(fs, g) || fs_size_grow(fs, g, 9000) ||
		    fs_size_grow(fs, f, 33 * MiB) || fs_size_dirty(fs) != 2)
			_exit(1);
		_exit(0);	/* no fs_close: as a SIGKILL */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	assert_int_equal(size_of(fs, g), 5000);
	assert_int_equal(size_of(fs, f), 32 * MiB);

	/* the unmount journals what is in memory; a truncate journals its own */
	assert_int_equal(fs_size_grow(fs, g, 8192), 0);
	assert_int_equal(fs_size_grow(fs, f, 33 * MiB), 0);
	assert_int_equal(fs_setattr(fs, f, &(struct ns_setattr){ .valid = FAMFS_SETATTR_SIZE,
								  .size = 3 * MiB }), 0);
	assert_int_equal(fs_size_dirty(fs), 1);
	fs_close(fs);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	assert_int_equal(size_of(fs, g), 8192);
	assert_int_equal(size_of(fs, f), 3 * MiB);
	/* an unlinked file's size is never journaled */
	assert_int_equal(fs_size_grow(fs, g, 12288), 0);
	assert_int_equal(fs_unlink(fs, ROOT, "g"), 0);
	used = log_used(fs);
	assert_int_equal(fs_size_sync_all(fs), 0);
	assert_int_equal(log_used(fs), used);
	fs_close(fs);
}

/*
 * Issue 16, item 4: the log keeps a reserve for deletes.  Before, a log
 * filled by creates refused the rm that would free it (ENOSPC for good).
 * Fill a 64 KiB log with creates until ENOSPC: at least 50 unlinks still
 * fit, and a size sync (half the reserve) fits before them.  Under a
 * second.
 */
static void full_log_keeps_deletes(void **state)
{
	struct images *im = *state;
	char name[32];
	struct fs_extent e;
	__u64 f, used;
	struct fs *fs;
	int i, n, err = 0;

	img_mkfs(im, 0, 1, 64 * MiB, 64 * 1024);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	fs_set_auto_compact(fs, false);	/* a log that fills, as with a large namespace */
	assert_int_equal(fs_create(fs, ROOT, "big", &cred, NULL, &f), 0);
	assert_int_equal(fs_alloc_for_write(fs, f, 0, 4096, &e), 0);
	for (n = 0; !err; n++) {
		snprintf(name, sizeof(name), "n%d", n);
		err = fs_create(fs, ROOT, name, &cred, NULL, NULL);
	}
	n--;
	assert_int_equal(err, -ENOSPC);
	assert_non_null(strstr(fs_msg(), "reserve kept for deletes"));
	used = log_used(fs);
	assert_true(64 * 1024 - used >= fs_log_reserve(64 * 1024));
	assert_int_equal(fs_mkdir(fs, ROOT, "d", &cred, NULL), -ENOSPC);
	assert_int_equal(fs_rename(fs, ROOT, "n0", ROOT, "m0", 0), -ENOSPC);
	/* a size made durable may take half of the reserve */
	assert_int_equal(fs_size_grow(fs, f, 4096), 0);
	assert_int_equal(fs_size_sync(fs, f), 0);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		if (fs_unlink(fs, ROOT, name))
			break;
	}
	assert_true(i >= 50);
	fs_close(fs);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	assert_int_equal(size_of(fs, f), 4096);
	assert_int_equal(fs_create(fs, ROOT, "x", &cred, NULL, NULL), -ENOSPC);
	fs_close(fs);
}

/* fs_dump() without the inode generations (a checkpoint renumbers entries) */
static char *dump_nogen(struct fs *fs)
{
	char *d = dump(fs), *p, *q;

	while ((p = strstr(d, " gen "))) {
		q = p + 5;
		while (*q >= '0' && *q <= '9')
			q++;
		memmove(p, q, strlen(q) + 1);
	}
	return d;
}

static __u32 log_gen(struct fs *fs)
{
	struct fs_statfs st;

	assert_int_equal(fs_statfs(fs, &st), 0);
	return st.log_generation;
}

/*
 * A namespace with every kind of inode and attribute: directories (one
 * with a layout policy, one with a class, one renamed), files with extents and sizes, one
 * hard-linked across directories, a symlink, times and modes set, files
 * deleted (their inode numbers above the live ones), the root chmod'ed.
 */
static void rich_tree(struct fs *fs)
{
	static const struct fs_stripe one = { .nstrips = 1, .chunk_size = UNIT };
	struct ns_setattr sa = { .valid = FAMFS_SETATTR_MODE | FAMFS_SETATTR_ATIME,
				 .mode = 0700, .atime = { 12345, 678 } };
	struct fs_extent e;
	__u64 d, sub, f, g, h;
	char name[32];
	int i;

	assert_int_equal(fs_mkdir(fs, ROOT, "d", &cred, &d), 0);
	assert_int_equal(fs_mkdir(fs, d, "sub", &cred, &sub), 0);
	assert_int_equal(fs_set_stripe(fs, sub, &one), 0);
	/* a class (images are memory): f inherits it, with extents */
	assert_int_equal(fs_set_class(fs, d, FAMFS_DEV_BLOCK), -EINVAL);	/* no disk */
	assert_int_equal(fs_set_class(fs, d, FAMFS_DEV_DAX), 0);
	assert_int_equal(fs_create(fs, d, "f", &cred, NULL, &f), 0);
	assert_int_equal(fs_set_class(fs, f, FAMFS_DEV_DAX), -EINVAL);	/* a file */
	assert_false(fs_file_block(fs, f));
	assert_int_equal(fs_alloc_for_write(fs, f, 0, 3 * UNIT, &e), 0);
	assert_int_equal(fs_alloc_for_write(fs, f, 8 * UNIT, 1, &e), 0);
	assert_int_equal(fs_size_grow(fs, f, 8 * UNIT + 100), 0);	/* in memory only */
	assert_int_equal(fs_create(fs, sub, "g", &cred, NULL, &g), 0);
	assert_int_equal(fs_alloc_for_write(fs, g, 0, 1, &e), 0);
	assert_int_equal(fs_setattr(fs, g, &(struct ns_setattr){ .valid = FAMFS_SETATTR_SIZE,
								  .size = 4096 }), 0);
	assert_int_equal(fs_link(fs, g, ROOT, "g-too"), 0);
	assert_int_equal(fs_symlink(fs, d, "ln", "../g-too", &cred, NULL), 0);
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "gone%d", i);
		assert_int_equal(fs_create(fs, ROOT, name, &cred, NULL, &h), 0);
		if (i % 2)
			assert_int_equal(fs_unlink(fs, ROOT, name), 0);
	}
	assert_int_equal(fs_unlink(fs, ROOT, "gone18"), 0);	/* the highest is gone */
	assert_int_equal(fs_rename(fs, ROOT, "gone0", d, "kept", 0), 0);
	/* extended attributes: a checkpoint writes them, in their order */
	assert_int_equal(fs_xattr_set(fs, f, "user.z", "last set first", 14, 0), 0);
	assert_int_equal(fs_xattr_set(fs, f, "trusted.a", "\0\1", 2, 0), 0);
	assert_int_equal(fs_xattr_set(fs, f, "user.gone", "x", 1, 0), 0);
	assert_int_equal(fs_xattr_remove(fs, f, "user.gone"), 0);
	assert_int_equal(fs_xattr_set(fs, ROOT, "user.root", "", 0, 0), 0);
	assert_int_equal(fs_xattr_set(fs, sub, "user.dir", "d", 1, 0), 0);
	assert_int_equal(fs_xattr_set(fs, g, "user.linked", "g", 1, 0), 0);
	assert_int_equal(fs_create(fs, ROOT, "gone-x", &cred, NULL, &h), 0);
	assert_int_equal(fs_xattr_set(fs, h, "user.unlinked", "h", 1, 0), 0);
	assert_int_equal(fs_unlink(fs, ROOT, "gone-x"), 0);
	assert_int_equal(fs_setattr(fs, f, &sa), 0);
	sa.mode = 01777;
	assert_int_equal(fs_setattr(fs, ROOT, &sa), 0);
}

/*
 * Issue 16, item 4: a checkpoint writes the live namespace as a new log
 * in the other half of the region; a remount reads the same namespace
 * (inode numbers, names, attributes, extents, sizes in memory), the log
 * is smaller, no inode number comes back, and checkpoints alternate
 * halves.  Before, the log only grew.  About a second.
 */
static void checkpoint_keeps_namespace(void **state)
{
	struct images *im = *state;
	struct fs_compact_result r;
	char *before, *after;
	__u64 x, max;
	struct ns_statfs nst;
	struct fs *fs;
	int i;

	img_mkfs(im, 0, 1, 64 * MiB, 256 * 1024);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	rich_tree(fs);
	ns_statfs(fs_ns(fs), &nst);
	max = nst.max_ino;
	before = dump_nogen(fs);
	assert_int_equal(log_gen(fs), 0);
	assert_int_equal(fs_compact(fs, &r), 0);
	assert_int_equal(r.generation, 1);
	assert_true(r.new_used < r.old_used);
	assert_int_equal(log_gen(fs), 1);
	assert_int_equal(log_used(fs), r.new_used);
	after = dump_nogen(fs);
	assert_string_equal(before, after);
	free(after);
	fs_close(fs);

	for (i = 0; i < 3; i++) {
		fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
		assert_int_equal(log_gen(fs), i + 1);
		after = dump_nogen(fs);
		assert_string_equal(before, after);
		free(after);
		assert_int_equal(fs_compact(fs, &r), 0);
		assert_int_equal(r.generation, i + 2);
		fs_close(fs);
		/* a read-only instance reads the checkpoint too */
		fs = mount_fs(im->devs, 1, 0);
		after = dump_nogen(fs);
		assert_string_equal(before, after);
		free(after);
		fs_close(fs);
	}
	/* appends after a checkpoint replay after it; no inode number again */
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	assert_int_equal(fs_create(fs, ROOT, "new", &cred, NULL, &x), 0);
	assert_int_equal(x, max + 1);
	fs_close(fs);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	assert_int_equal(ns_lookup(fs_ns(fs), ROOT, "new", &x), 0);
	assert_int_equal(x, max + 1);
	fs_close(fs);
	free(before);
}

/*
 * The daemon dies at each step of a checkpoint (FAMFS_FAULT): header
 * zeroed, half the entries written, all written, header written.  The
 * remount reads the old log before the switch and the new one after it,
 * never a mix: the generation says which, the namespace is the same
 * either way, and fsck (a replay) is clean.  From a whole-region log
 * (generation 0) and from a half (generation 1 into the other half).
 * About 3 s.
 */
static void checkpoint_crash_each_step(void **state)
{
	static const char *const steps[] = { "compact_unhead", "compact_mid", "compact_body",
					     "compact_switched" };
	struct images *im = *state;
	struct fs_compact_result r;
	char *before, *after, msg[256];
	struct fs *fs;
	__u32 gen0;
	size_t k;
	int round, status;
	pid_t pid;

	img_mkfs(im, 0, 1, 64 * MiB, 256 * 1024);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	rich_tree(fs);
	fs_close(fs);	/* the size in memory journaled */
	for (round = 0; round < 2; round++) {
		fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
		before = dump_nogen(fs);
		gen0 = log_gen(fs);
		assert_int_equal(gen0, round);
		fs_close(fs);
		for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
			pid = fork();
			assert_true(pid >= 0);
			if (!pid) {
				setenv("FAMFS_FAULT", steps[k], 1);
				fs = NULL;
				if (fs_open(im->devs, 1, FS_OPEN_OWNER, &fs, msg, sizeof(msg))) {
					fprintf(stderr, "%s: fs_open: %s\n", steps[k], msg);
					_exit(2);
				}
				fs_compact(fs, &r);
				_exit(3);	/* the fault did not fire */
			}
			assert_int_equal(waitpid(pid, &status, 0), pid);
			assert_true(WIFEXITED(status));
			assert_int_equal(WEXITSTATUS(status), FS_FAULT_EXIT);
			fs = mount_fs(im->devs, 1, 0);	/* read-only: nothing changes */
			/* the switch is the header: before it the old log, after it the new */
			assert_int_equal(log_gen(fs), gen0 + (k == 3 ? 1 : 0));
			after = dump_nogen(fs);
			assert_string_equal(before, after);
			free(after);
			fs_close(fs);
			if (k == 3)
				break;
		}
		/* the log the last crash left works: a change, a remount */
		fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
		assert_int_equal(log_gen(fs), gen0 + 1);
		assert_int_equal(fs_mkdir(fs, ROOT, "after", &cred, NULL), 0);
		assert_int_equal(fs_rmdir(fs, ROOT, "after"), 0);
		fs_close(fs);
		fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
		after = dump_nogen(fs);
		fs_close(fs);
		free(before);
		free(after);
	}
}

/*
 * A 64 KiB log and 4,000 creates and deletes (a few dozen files live)
 * plus appends and fsyncs, about 10 times what the log holds: automatic
 * checkpoints keep it going, where it used to be full after about 600 of
 * them.  About 10 s (an msync per entry on an image file).
 */
static void auto_checkpoint_never_full(void **state)
{
	struct images *im = *state;
	struct fs_extent e;
	char name[32], *before, *after;
	__u64 f, big;
	struct fs *fs;
	int i;

	img_mkfs(im, 0, 1, 64 * MiB, 64 * 1024);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	assert_int_equal(fs_create(fs, ROOT, "big", &cred, NULL, &big), 0);
	for (i = 0; i < 4000; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(fs_create(fs, ROOT, name, &cred, NULL, &f), 0);
		if (i >= 40) {
			snprintf(name, sizeof(name), "f%d", i - 40);
			assert_int_equal(fs_unlink(fs, ROOT, name), 0);
		}
		if (!(i % 16)) {
			assert_int_equal(fs_alloc_for_write(fs, big, (__u64)i / 16 * 4096, 4096, &e),
					 0);
			assert_int_equal(fs_size_grow(fs, big, (__u64)(i / 16 + 1) * 4096), 0);
			assert_int_equal(fs_size_sync(fs, big), 0);
		}
	}
	assert_true(log_gen(fs) >= 5);
	before = dump_nogen(fs);
	fs_close(fs);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	after = dump_nogen(fs);
	assert_string_equal(before, after);
	free(before);
	free(after);
	fs_close(fs);
}

static void count_entry(void *ctx, const struct famfs_mlog_entry *e)
{
	(void)e;
	++*(int *)ctx;
}

/*
 * A read-only instance follows the owner across checkpoints: its logplay
 * sees the new generation and replays the checkpoint, keeping its
 * namespace object, the open reference it holds and the inode's
 * generation; then it follows appends again.  Before, logplay replayed the
 * old region and refused (-ESTALE or a corrupt log).  Under a second.
 */
static void follower_follows_checkpoint(void **state)
{
	struct images *im = *state;
	struct fs_compact_result r;
	struct fs_logplay_result res;
	struct fs *own, *ro;
	struct ns_attr a0, a1;
	char *x, *y, name[16];
	__u64 f, g;
	int told = 0, round;

	img_mkfs(im, 0, 1, 64 * MiB, 256 * 1024);
	own = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	rich_tree(own);
	assert_int_equal(ns_lookup(fs_ns(own), ROOT, "g-too", &g), 0);
	ro = mount_fs(im->devs, 1, 0);
	assert_int_equal(fs_open_ref(ro, g), 0);
	assert_int_equal(ns_getattr(fs_ns(ro), g, &a0), 0);
	for (round = 0; round < 3; round++) {
		snprintf(name, sizeof(name), "r%d", round);
		assert_int_equal(fs_create(own, ROOT, name, &cred, NULL, &f), 0);
		assert_int_equal(fs_unlink(own, ROOT, "gone2"), round ? -ENOENT : 0);
		assert_int_equal(fs_compact(own, &r), 0);
		told = 0;
		assert_int_equal(fs_logplay_each(ro, &res, count_entry, &told), 0);
		assert_true(res.reloaded);
		assert_true(told > 10);	/* every old inode */
		x = dump_nogen(own);
		y = dump_nogen(ro);
		assert_string_equal(x, y);
		free(x);
		free(y);
		assert_int_equal(ns_getattr(fs_ns(ro), g, &a1), 0);
		assert_int_equal(a1.generation, a0.generation);
	}
	/* appends after the checkpoint: followed as entries again */
	assert_int_equal(fs_mkdir(own, ROOT, "later", &cred, NULL), 0);
	assert_int_equal(fs_logplay(ro, &res), 0);
	assert_false(res.reloaded);
	assert_int_equal(res.applied, 1);
	assert_int_equal(ns_lookup(fs_ns(ro), ROOT, "later", &f), 0);
	assert_int_equal(fs_release(ro, g), 0);
	fs_close(ro);
	fs_close(own);
}

static void full_log_changes_nothing(void **state)
{
	struct images *im = *state;
	struct ns_setattr sa = { .valid = FAMFS_SETATTR_SIZE, .size = 8 * MiB };
	struct fs_extent e;
	char name[32], *before, *after;
	__u64 f, free0, off;
	struct fs_statfs st;
	struct fs *fs;
	int i, j, err = 0;

	img_mkfs(im, 0, 1, 64 * MiB, 64 * 1024);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	fs_set_auto_compact(fs, false);	/* a log that fills, as with a large namespace */
	assert_int_equal(fs_create(fs, ROOT, "big", &cred, NULL, &f), 0);
	assert_int_equal(fs_alloc_for_write(fs, f, 0, 8 * MiB, &e), 0);
	assert_int_equal(fs_setattr(fs, f, &sa), 0);
	/* fill with ever smaller entries: CREATE 96, ALLOC 72, DELETE 56 bytes */
	for (i = 0; !err; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		err = fs_create(fs, ROOT, name, &cred, NULL, NULL);
	}
	assert_int_equal(err, -ENOSPC);
	assert_non_null(strstr(fs_msg(), "metadata log full"));
	assert_true(i > 100);
	for (off = 8 * MiB; !fs_alloc_for_write(fs, f, off, 1, &e); off += UNIT)
		;
	for (j = 0; j < i - 1; j++) {
		snprintf(name, sizeof(name), "n%d", j);
		if (fs_unlink(fs, ROOT, name))
			break;
	}
	snprintf(name, sizeof(name), "n%d", j);

	free0 = bfree(fs);
	before = dump(fs);
	assert_int_equal(fs_mkdir(fs, ROOT, "d", &cred, NULL), -ENOSPC);
	assert_int_equal(fs_create(fs, ROOT, "e", &cred, NULL, NULL), -ENOSPC);
	assert_int_equal(fs_alloc_for_write(fs, f, off, 1, &e), -ENOSPC);
	assert_non_null(strstr(fs_msg(), "metadata log full"));
	assert_int_equal(bfree(fs), free0);
	assert_int_equal(fs_fallocate(fs, f, off, 1, FS_FALLOC_KEEP_SIZE), -ENOSPC);
	assert_non_null(strstr(fs_msg(), "metadata log full"));
	assert_int_equal(bfree(fs), free0);
	/* mapped already, but the size needs a SETATTR */
	assert_int_equal(fs_fallocate(fs, f, 0, 8 * MiB + 1, 0), -ENOSPC);
	sa.size = 1;	/* SETATTR + PUNCH: neither */
	assert_int_equal(fs_setattr(fs, f, &sa), -ENOSPC);
	assert_non_null(strstr(fs_msg(), "metadata log full"));
	assert_int_equal(fs_unlink(fs, ROOT, name), -ENOSPC);
	assert_int_equal(fs_rename(fs, ROOT, "big", ROOT, "b", 0), -ENOSPC);
	after = dump(fs);
	assert_string_equal(before, after);
	free(after);
	assert_int_equal(bfree(fs), free0);
	assert_int_equal(fs_statfs(fs, &st), 0);
	assert_true(st.log_used <= st.log_len && st.log_len - st.log_used < 56);
	fs_close(fs);

	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	after = dump(fs);
	assert_string_equal(before, after);
	free(before);
	free(after);
	fs_close(fs);
}

static void corrupt_and_torn_log(void **state)
{
	struct images *im = *state;
	unsigned char b, torn[24] = { 'F', 'L', 'E', '1', 2, 0 };
	struct fs_statfs st;
	__u64 ino, end;
	char *before, *after;
	struct fs *fs, *ro;

	img_mkfs(im, 0, 1, 64 * MiB, 0);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	assert_int_equal(fs_mkdir(fs, ROOT, "a", &cred, NULL), 0);	/* 96 bytes at 64 */
	assert_int_equal(fs_mkdir(fs, ROOT, "b", &cred, NULL), 0);	/* at 160 */
	assert_int_equal(fs_mkdir(fs, ROOT, "c", &cred, NULL), 0);
	assert_int_equal(fs_statfs(fs, &st), 0);
	end = st.log_used;
	before = dump(fs);
	fs_close(fs);

	/* a torn append after the last entry: discarded, appends go on */
	img_poke(im->path[0], LOG_OFF + end, torn, sizeof(torn));
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	after = dump(fs);
	assert_string_equal(before, after);
	free(after);
	free(before);
	img_peek(im->path[0], LOG_OFF + end, &b, 1);
	assert_int_equal(b, 0);
	assert_int_equal(fs_mkdir(fs, ROOT, "d", &cred, NULL), 0);
	assert_int_equal(fs_statfs(fs, &st), 0);
	end = st.log_used;
	before = dump(fs);
	fs_close(fs);

	/*
	 * The encoder writes the header last: payload behind a zero header
	 * is a torn append too.  A follower stops before it, not corrupt;
	 * the owner zeroes it and goes on.
	 */
	img_poke(im->path[0], LOG_OFF + end + 24, "\x07\0\0\0payload", 12);
	ro = mount_fs(im->devs, 1, 0);
	assert_int_equal(fs_statfs(ro, &st), 0);
	assert_false(st.log_corrupt);
	assert_int_equal(st.log_used, end);
	assert_int_equal(ns_lookup(fs_ns(ro), ROOT, "d", &ino), 0);
	fs_close(ro);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	after = dump(fs);
	assert_string_equal(before, after);
	free(after);
	free(before);
	img_peek(im->path[0], LOG_OFF + end + 24, &b, 1);
	assert_int_equal(b, 0);
	assert_int_equal(fs_mkdir(fs, ROOT, "e", &cred, NULL), 0);
	fs_close(fs);

	/* a byte of entry 2's name: the owner refuses, naming the offset */
	img_peek(im->path[0], LOG_OFF + 160 + 24 + 64, &b, 1);
	assert_int_equal(b, 'b');
	b ^= 0x40;
	img_poke(im->path[0], LOG_OFF + 160 + 24 + 64, &b, 1);
	refused(im->devs, 1, FS_OPEN_OWNER, -EUCLEAN, "log offset 160");
	/* read-only mounts what precedes it, and says so */
	ro = mount_fs(im->devs, 1, 0);
	assert_int_equal(fs_statfs(ro, &st), 0);
	assert_true(st.log_corrupt);
	assert_int_equal(st.log_used, 160);
	assert_int_equal(ns_lookup(fs_ns(ro), ROOT, "a", &ino), 0);
	assert_int_equal(ns_lookup(fs_ns(ro), ROOT, "b", &ino), -ENOENT);
	assert_int_equal(fs_logplay(ro, &(struct fs_logplay_result){ 0 }), -EUCLEAN);
	assert_non_null(strstr(fs_msg(), "log offset 160"));
	fs_close(ro);
}

/* fs_open_log() + fs_open_replay(): what fs_open() does, the log locked in between. */
static void open_in_two_steps(void **state)
{
	struct images *im = *state;
	struct fs *fs, *other;
	char msg[256], *before, *after;
	unsigned char b;

	img_mkfs(im, 0, 1, 64 * MiB, 0);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	assert_int_equal(fs_mkdir(fs, ROOT, "a", &cred, NULL), 0);	/* 96 bytes at 64 */
	assert_int_equal(fs_mkdir(fs, ROOT, "b", &cred, NULL), 0);	/* at 160 */
	assert_int_equal(fs_create(fs, ROOT, "f", &cred, NULL, NULL), 0);
	before = dump(fs);
	fs_close(fs);

	assert_int_equal(fs_open_log(im->devs, 1, FS_OPEN_OWNER, &fs, msg, sizeof(msg)), 0);
	assert_non_null(fs);
	assert_int_equal(fs_log_hint(fs), 3);
	/* the owner's lock is taken by the first step */
	assert_int_equal(fs_open_log(im->devs, 1, FS_OPEN_OWNER, &other, msg, sizeof(msg)),
			 -EBUSY);
	assert_null(other);
	assert_int_equal(fs_open_replay(fs, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	after = dump(fs);
	assert_string_equal(before, after);
	assert_int_equal(fs_open_replay(fs, msg, sizeof(msg)), -EALREADY);
	free(after);
	free(before);
	fs_close(fs);

	/* a byte of entry 2's name: the second step refuses, the caller closes */
	img_peek(im->path[0], LOG_OFF + 160 + 24 + 64, &b, 1);
	assert_int_equal(b, 'b');
	b ^= 0x40;
	img_poke(im->path[0], LOG_OFF + 160 + 24 + 64, &b, 1);
	assert_int_equal(fs_open_log(im->devs, 1, FS_OPEN_OWNER, &fs, msg, sizeof(msg)), 0);
	assert_int_equal(fs_log_hint(fs), 3);	/* a hint: CRCs are not checked */
	assert_int_equal(fs_open_replay(fs, msg, sizeof(msg)), -EUCLEAN);
	assert_non_null(strstr(msg, "log offset 160"));
	fs_close(fs);
	/* the first step's refusals are fs_open()'s */
	assert_int_equal(fs_open_log(im->devs, 1, 1U << 7, &fs, msg, sizeof(msg)), -EINVAL);
	assert_null(fs);
}

static void wrong_devices(void **state)
{
	struct images *im = *state;
	const char *swapped[2] = { im->path[1], im->path[0] };
	const char *foreign[2] = { im->path[0], im->path[2] };
	const char *three[3] = { im->path[0], im->path[1], im->path[2] };
	const char *twice[2] = { im->path[0], im->path[0] };
	struct fs *fs;

	img_mkfs(im, 0, 2, 64 * MiB, 0);
	img_mkfs(im, 2, 1, 64 * MiB, 0);	/* another file system */
	img_make(im->path[3], 64 * MiB);

	refused(swapped, 2, FS_OPEN_OWNER, -EINVAL, im->path[1]);
	refused(swapped, 2, 0, -EINVAL, "give the devices in mkfs order");
	refused(foreign, 2, FS_OPEN_OWNER, -EXDEV, im->path[2]);
	refused(im->devs, 1, FS_OPEN_OWNER, -ENXIO, "1 device given, the file system has 2");
	refused(three, 3, FS_OPEN_OWNER, -ENXIO, im->path[2]);
	refused(twice, 2, 0, -EINVAL, "given twice");
	refused(&im->devs[3], 1, 0, -ENODEV, "not a famfs-bpf device");
	refused(im->devs, 0, 0, -ENXIO, "0 devices");
	/* what a devdax namespace is: a character device, refused before it is read */
	refused((const char *const[]){ "/dev/null" }, 1, FS_OPEN_OWNER, -ENOTBLK,
		"/dev/null: a character device (devdax?), no fsdax");
	refused((const char *const[]){ "/dev/null" }, 1, 0, -ENOTBLK, "fsdax mode");

	/* a device that shrank */
	assert_int_equal(truncate(im->path[1], 32 * MiB), 0);
	refused(im->devs, 2, 0, -ENOSPC, im->path[1]);
	assert_int_equal(truncate(im->path[1], 64 * MiB), 0);

	/* one owner at a time; readers are welcome */
	fs = mount_fs(im->devs, 2, FS_OPEN_OWNER);
	refused(im->devs, 2, FS_OPEN_OWNER, -EBUSY, "another owner");
	fs_close(mount_fs(im->devs, 2, 0));
	fs_close(fs);
}

/* a log in which two files claim one unit: refused in both modes */
static void overlapping_files_refused(void **state)
{
	struct images *im = *state;
	const size_t log_len = 8 * MiB;
	struct famfs_mlog_result res;
	struct famfs_mlog_writer w;
	struct famfs_mlog_entry entry;
	struct fs_extent e;
	__u8 uuid[FAMFS_UUID_SIZE];
	char needle[96];
	__u64 f, g;
	struct fs *fs;
	void *log;

	img_mkfs(im, 0, 1, 64 * MiB, 0);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	assert_int_equal(fs_create(fs, ROOT, "f", &cred, NULL, &f), 0);
	assert_int_equal(fs_create(fs, ROOT, "g", &cred, NULL, &g), 0);
	assert_int_equal(fs_alloc_for_write(fs, f, 0, UNIT, &e), 0);
	fs_close(fs);

	/* append "g maps f's unit" behind the server's back */
	log = malloc(log_len);
	assert_non_null(log);
	img_peek(im->path[0], LOG_OFF, log, log_len);
	memcpy(uuid, (char *)log + offsetof(struct famfs_log_header, fs_uuid), sizeof(uuid));
	assert_int_equal(famfs_mlog_replay(log, log_len, uuid, NULL, NULL, NULL, &res), 0);
	assert_int_equal(famfs_mlog_writer_init(&w, log, log_len, uuid, &res), 0);
	famfs_mlog_entry_init(&entry);
	entry.type = FAMFS_LOG_ALLOC;
	entry.alloc.ino = g;
	entry.nsimple = 1;
	entry.simple = &e.simple;
	assert_int_equal(famfs_mlog_append(&w, &entry), 0);
	img_poke(im->path[0], LOG_OFF, log, log_len);
	free(log);

	snprintf(needle, sizeof(needle), "files ino %llu and ino %llu both claim device 0",
		 (unsigned long long)f, (unsigned long long)g);
	refused(im->devs, 1, FS_OPEN_OWNER, -EUCLEAN, needle);
	refused(im->devs, 1, 0, -EUCLEAN, needle);
}

/* fs_set_replay_progress(): what a mount's replay reports, in order */
#define PROGRESS_DIRS	(2 * NS_REPLAY_PROGRESS + 100)

struct progress_seen {
	unsigned int calls;
	__u64 last_done, last_total;
	bool increasing;
};

static void progress_cb(void *ctx, __u64 done, __u64 total)
{
	struct progress_seen *p = ctx;

	p->increasing &= done > p->last_done && done <= total;
	p->calls++;
	p->last_done = done;
	p->last_total = total;
}

static void replay_reports_progress(void **state)
{
	struct images *im = *state;
	const size_t log_len = 8 * MiB;
	struct progress_seen seen = { .increasing = true };
	struct famfs_mlog_result res;
	struct famfs_mlog_writer w;
	struct famfs_mlog_entry e;
	__u8 uuid[FAMFS_UUID_SIZE];
	struct fs *fs;
	void *log;
	int i;

	img_mkfs(im, 0, 1, 64 * MiB, 0);
	/* the entries written straight into the log: fast, no msync each */
	log = malloc(log_len);
	assert_non_null(log);
	img_peek(im->path[0], LOG_OFF, log, log_len);
	memcpy(uuid, (char *)log + offsetof(struct famfs_log_header, fs_uuid), sizeof(uuid));
	assert_int_equal(famfs_mlog_replay(log, log_len, uuid, NULL, NULL, NULL, &res), 0);
	assert_int_equal(famfs_mlog_writer_init(&w, log, log_len, uuid, &res), 0);
	for (i = 0; i < PROGRESS_DIRS; i++) {
		famfs_mlog_entry_init(&e);
		e.type = FAMFS_LOG_MKDIR;
		e.mknod.parent = ROOT;
		e.mknod.ino = ROOT + 1 + i;
		e.mknod.mode = 0755;
		snprintf(e.name, sizeof(e.name), "d%d", i);
		assert_int_equal(famfs_mlog_append(&w, &e), 0);
	}
	img_poke(im->path[0], LOG_OFF, log, log_len);
	free(log);

	/* nothing without a hook */
	fs_close(mount_fs(im->devs, 1, 0));
	assert_int_equal(seen.calls, 0);

	fs_set_replay_progress(progress_cb, &seen);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	fs_set_replay_progress(NULL, NULL);
	/* every NS_REPLAY_PROGRESS entries, then the end: done == total */
	assert_int_equal(seen.calls, PROGRESS_DIRS / NS_REPLAY_PROGRESS + 1);
	assert_true(seen.increasing);
	assert_int_equal(seen.last_done, PROGRESS_DIRS);
	assert_int_equal(seen.last_total, PROGRESS_DIRS);
	assert_int_equal(ns_lookup(fs_ns(fs), ROOT, "d8291", &(__u64){ 0 }), 0);
	fs_close(fs);

	/* cleared: the next open reports nothing */
	seen.calls = 0;
	fs_close(mount_fs(im->devs, 1, 0));
	assert_int_equal(seen.calls, 0);
}

/*
 * New space never shows another file's old bytes, whatever step a crash
 * stops it at (issue 16, item 1).  mkfs does not zero the data area and
 * freed units keep their bytes: here every data byte starts as a marker,
 * as if deleted files had left it.  A child process allocates (a write
 * to a simple file, to a striped one, a fallocate) and _exit()s at one
 * step of reserve, zero, journal (FAMFS_FAULT); the parent mounts again:
 * no file maps a byte of the marker, and the space is either free (the
 * log never named it) or the file's.
 */
static const char marker[8] = "STALE!!\n";

struct marker_scan {
	struct images *im;
	__u64 found;		/* 8-byte words of the marker inside files */
	__u64 ino;		/* the first file holding one */
};

static void scan_range(struct marker_scan *ms, __u64 ino, __u32 dev, __u64 off, __u64 len)
{
	static char buf[1 << 20];
	int fd = open(ms->im->path[dev], O_RDONLY);
	__u64 n, k;

	assert_true(fd >= 0);
	for (; len; off += n, len -= n) {
		n = len < sizeof(buf) ? len : sizeof(buf);
		assert_int_equal(pread(fd, buf, n, off), (ssize_t)n);
		for (k = 0; k + 8 <= n; k += 8)
			if (!memcmp(buf + k, marker, 8) && !ms->found++)
				ms->ino = ino;
	}
	close(fd);
}

static int scan_file(void *ctx, __u64 ino, const struct fmap_simple_ext *simple, __u32 nsimple,
		     const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	__u32 i, s;

	for (i = 0; i < nsimple; i++)
		scan_range(ctx, ino, simple[i].dev, simple[i].dev_off, simple[i].len);
	for (i = 0; i < nileave; i++)
		for (s = 0; s < ileave[i].nstrips; s++)
			scan_range(ctx, ino, ileave[i].strips[s].dev, ileave[i].strips[s].dev_off,
				   fmap_ileave_strip_bytes(&ileave[i], s));
	return 0;
}

static int count_extents(void *ctx, __u64 ino, const struct fmap_simple_ext *simple,
			 __u32 nsimple, const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	(void)ino;
	(void)simple;
	(void)ileave;
	*(__u32 *)ctx += nsimple + nileave;
	return 0;
}

/* Every data byte of the @n devices: the marker. */
static void fill_marker(struct images *im, struct fs *fs, unsigned int n)
{
	static char buf[1 << 20];
	unsigned int i;
	__u64 off;
	size_t k;
	int fd;

	for (k = 0; k < sizeof(buf); k += 8)
		memcpy(buf + k, marker, 8);
	for (i = 0; i < n; i++) {
		fd = open(im->path[i], O_RDWR);
		assert_true(fd >= 0);
		for (off = fs_dev(fs, i)->data_off; off < fs_dev(fs, i)->size; off += sizeof(buf))
			assert_int_equal(pwrite(fd, buf, sizeof(buf), off), (ssize_t)sizeof(buf));
		close(fd);
	}
}

enum crash_op { CRASH_WRITE, CRASH_WRITE_STRIPED, CRASH_FALLOCATE, CRASH_NOPS };

/* The child: allocate 8 MiB for @ino as @op says, stopping at @step. */
static void __attribute__((noreturn)) crash_child(struct images *im, enum crash_op op,
						  __u64 ino, const char *step)
{
	struct fs_extent e;
	struct fs *fs = NULL;
	char msg[256];
	int err;

	if (step)
		setenv("FAMFS_FAULT", step, 1);
	else
		unsetenv("FAMFS_FAULT");
	if (fs_open(im->devs, 2, FS_OPEN_OWNER, &fs, msg, sizeof(msg)))
		_exit(2);
	if (op == CRASH_FALLOCATE)
		err = fs_fallocate(fs, ino, 0, 8 * MiB, 0);
	else
		err = fs_alloc_for_write(fs, ino, 0, 8 * MiB, &e);
	_exit(err ? 3 : 0);
}

static void new_space_crash_safe(void **state)
{
	static const char *const steps[] = { "after_reserve", "mid_zero", "after_zero",
					     "after_alloc", NULL };
	static const struct fs_stripe two = { .nstrips = 2, .chunk_size = UNIT };
	struct images *im = *state;
	struct marker_scan ms;
	struct fs *fs;
	__u64 ino, free_before;
	char name[64];
	size_t k;
	int op, status;
	pid_t pid;

	img_mkfs(im, 0, 2, 128 * MiB, 0);
	fs = mount_fs(im->devs, 2, FS_OPEN_OWNER);
	fill_marker(im, fs, 2);
	fs_close(fs);
	for (op = 0; op < CRASH_NOPS; op++) {
		for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
			__u32 next = 0;

			fs = mount_fs(im->devs, 2, FS_OPEN_OWNER);
			snprintf(name, sizeof(name), "op%d-%s", op, steps[k] ? steps[k] : "none");
			assert_int_equal(fs_create(fs, ROOT, name, &cred,
						   op == CRASH_WRITE_STRIPED ? &two : NULL, &ino), 0);
			free_before = bfree(fs);
			fs_close(fs);

			pid = fork();
			assert_true(pid >= 0);
			if (!pid)
				crash_child(im, op, ino, steps[k]);
			assert_int_equal(waitpid(pid, &status, 0), pid);

			fs = mount_fs(im->devs, 2, FS_OPEN_OWNER);
			ms = (struct marker_scan){ .im = im };
			assert_int_equal(ns_foreach_layout(fs_ns(fs), scan_file, &ms), 0);
			if (ms.found)
				fail_msg("%s: after the crash, file ino %llu maps %llu words of another file's old bytes",
					 name, (unsigned long long)ms.ino,
					 (unsigned long long)ms.found);
			assert_true(WIFEXITED(status));
			assert_int_equal(WEXITSTATUS(status), steps[k] ? FS_FAULT_EXIT : 0);
			assert_int_equal(ns_get_layout(fs_ns(fs), ino, count_extents, &next), 0);
			if (k < 3) {
				/* never journaled: free space, the file empty */
				assert_int_equal(next, 0);
				assert_int_equal(bfree(fs), free_before);
			} else {
				assert_true(next > 0);
				assert_true(bfree(fs) < free_before);
			}
			fs_close(fs);
		}
	}
}

/*
 * FAMFS_FAULT=step@N (the guest's crash storm): the process goes on past
 * the step N - 1 times and exits at the Nth.  Five files; a child
 * allocates for each in turn with after_alloc@3: it exits FS_FAULT_EXIT,
 * and the log has the first three ALLOCs (the third journaled just before
 * the step), not the last two.
 */
static void fault_nth(void **state)
{
	struct images *im = *state;
	struct fs_extent e;
	struct fs *fs;
	__u64 ino[5];
	char name[16], msg[256];
	unsigned int k;
	int status;
	pid_t pid;

	img_mkfs(im, 0, 1, 64 * MiB, 0);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	for (k = 0; k < 5; k++) {
		snprintf(name, sizeof(name), "f%u", k);
		assert_int_equal(fs_create(fs, ROOT, name, &cred, NULL, &ino[k]), 0);
	}
	fs_close(fs);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		setenv("FAMFS_FAULT", "after_alloc@3", 1);
		if (fs_open(im->devs, 1, FS_OPEN_OWNER, &fs, msg, sizeof(msg)))
			_exit(2);
		for (k = 0; k < 5; k++)
			if (fs_alloc_for_write(fs, ino[k], 0, 4096, &e))
				_exit(3);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), FS_FAULT_EXIT);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	for (k = 0; k < 5; k++) {
		__u32 n = 0;

		assert_int_equal(ns_get_layout(fs_ns(fs), ino[k], count_extents, &n), 0);
		assert_int_equal(n > 0, k < 3);
	}
	fs_close(fs);
}

/*
 * fs_commit_lock: the caller's lock is taken once, after the new space is
 * zeroed and before the ALLOC is journaled (the daemon's @space then
 * covers the journaling and the BPF map, not the zeroing); also on
 * failure and when there is nothing to allocate.
 */
struct hook_seen {
	struct images *im;
	struct fs *fs;
	__u64 ino;
	int calls;
	__u32 extents;		/* the file's, when the lock was taken */
	__u64 zero_units;	/* data units holding no marker by then */
};

static void hook_lock(void *ctx)
{
	static char buf[UNIT];
	struct hook_seen *h = ctx;
	__u64 off;
	int fd = open(h->im->path[0], O_RDONLY);

	h->calls++;
	h->extents = 0;
	if (h->ino)
		ns_get_layout(fs_ns(h->fs), h->ino, count_extents, &h->extents);
	h->zero_units = 0;
	for (off = fs_dev(h->fs, 0)->data_off; off < fs_dev(h->fs, 0)->size; off += UNIT) {
		if (pread(fd, buf, UNIT, off) != (ssize_t)UNIT)
			break;
		h->zero_units += memcmp(buf, marker, 8) != 0;
	}
	close(fd);
}

static void commit_lock_after_zeroing(void **state)
{
	struct images *im = *state;
	struct hook_seen h = { .im = im };
	const struct fs_commit_lock cl = { .lock = hook_lock, .ctx = &h };
	struct fs_extent e;
	struct fs *fs, *ro;
	__u64 f, g;

	img_mkfs(im, 0, 1, 64 * MiB, 0);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	fill_marker(im, fs, 1);
	h.fs = fs;
	assert_int_equal(fs_create(fs, ROOT, "f", &cred, NULL, &f), 0);
	assert_int_equal(fs_create(fs, ROOT, "g", &cred, NULL, &g), 0);

	/* 3 units: zeroed when the lock is taken, not yet the file's */
	h.ino = f;
	assert_int_equal(fs_alloc_for_write_locked(fs, f, 0, 3 * UNIT, &e, &cl), 0);
	assert_int_equal(h.calls, 1);
	assert_int_equal(h.extents, 0);
	assert_int_equal(h.zero_units, 3);
	assert_int_equal(ns_get_layout(fs_ns(fs), f, count_extents, &h.extents), 0);
	assert_int_equal(h.extents, 1);

	/* mapped already: nothing to zero, the lock all the same */
	assert_int_equal(fs_alloc_for_write_locked(fs, f, UNIT, 1, &e, &cl), 0);
	assert_int_equal(h.calls, 2);
	assert_false(e.fresh);

	/* fallocate: the same order */
	h.ino = g;
	assert_int_equal(fs_fallocate_locked(fs, g, 0, 2 * UNIT, 0, &cl), 0);
	assert_int_equal(h.calls, 3);
	assert_int_equal(h.extents, 0);
	assert_int_equal(h.zero_units, 5);

	/* failures take it too: no such file, too far, a follower */
	h.ino = 0;
	assert_int_equal(fs_alloc_for_write_locked(fs, 999, 0, 1, &e, &cl), -ENOENT);
	assert_int_equal(h.calls, 4);
	assert_int_equal(fs_fallocate_locked(fs, g, 1ULL << 62, 1, 0, &cl), -EFBIG);
	assert_int_equal(h.calls, 5);
	ro = mount_fs(im->devs, 1, 0);
	assert_int_equal(fs_alloc_for_write_locked(ro, f, 0, 1, &e, &cl), -EROFS);
	assert_int_equal(fs_fallocate_locked(ro, f, 0, 1, 0, &cl), -EROFS);
	assert_int_equal(h.calls, 7);
	fs_close(ro);
	fs_close(fs);
}

/* Threads that allocate the same holes: one wins, the others map what it got. */
struct same_hole {
	struct fs *fs;
	__u64 ino;
	int err;
};

static void *alloc_same(void *arg)
{
	struct same_hole *h = arg;
	struct fs_extent e;
	__u64 off;

	for (off = 0; off < 32 * MiB && !h->err; off += UNIT)
		h->err = fs_alloc_for_write(h->fs, h->ino, off, UNIT, &e);
	return NULL;
}

static void alloc_same_holes_concurrently(void **state)
{
	struct images *im = *state;
	struct same_hole h[4];
	pthread_t t[4];
	struct fs *fs;
	__u64 ino, before;
	int i;

	img_mkfs(im, 0, 1, 128 * MiB, 0);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	assert_int_equal(fs_create(fs, ROOT, "f", &cred, NULL, &ino), 0);
	before = bfree(fs);
	for (i = 0; i < 4; i++) {
		h[i] = (struct same_hole){ .fs = fs, .ino = ino };
		assert_int_equal(pthread_create(&t[i], NULL, alloc_same, &h[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(h[i].err, 0);
	}
	/* 32 MiB taken once, whoever took which unit */
	assert_int_equal(before - bfree(fs), 16);
	fs = remount_same(fs, im->devs, 1);
	assert_int_equal(before - bfree(fs), 16);
	fs_close(fs);
}

/* owner operations on two threads, queries on a third: a remount agrees */
struct worker {
	struct fs *fs;
	int id;
};

static void *work(void *arg)
{
	struct worker *wk = arg;
	struct fs_extent e;
	char name[32];
	__u64 dir, ino;
	int i;

	snprintf(name, sizeof(name), "dir%d", wk->id);
	if (fs_mkdir(wk->fs, ROOT, name, &cred, &dir))
		return (void *)1;
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		if (fs_create(wk->fs, dir, name, &cred, NULL, &ino) ||
		    fs_alloc_for_write(wk->fs, ino, 0, 1, &e))
			return (void *)1;
		if (i % 3 == 0 && fs_unlink(wk->fs, dir, name))
			return (void *)1;
	}
	return NULL;
}

static void concurrent_owner_ops(void **state)
{
	struct images *im = *state;
	struct worker wk[2];
	pthread_t t[2];
	void *ret;
	struct ns_statfs st;
	__u64 ino;
	struct fs *fs;
	int i;

	img_mkfs(im, 0, 2, 512 * MiB, 0);
	fs = mount_fs(im->devs, 2, FS_OPEN_OWNER);
	for (i = 0; i < 2; i++) {
		wk[i] = (struct worker){ .fs = fs, .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, work, &wk[i]), 0);
	}
	for (i = 0; i < 2000; i++)
		ns_lookup(fs_ns(fs), ROOT, i % 2 ? "dir1" : "dir0", &ino);
	for (i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
	ns_statfs(fs_ns(fs), &st);
	assert_int_equal(st.files, 2 * (100 - 34));
	assert_int_equal(st.dirs, 3);
	fs = remount_same(fs, im->devs, 2);
	fs_close(fs);
}

/*
 * An msync of the log fails (FAMFS_FAULT=log_msync, once): the entry is
 * in the shared log and a follower on this host applies it, so the owner
 * never takes it back nor writes another at its offset; it refuses every
 * later change, and the next mount has the entry.
 */
static void msync_failure_keeps_entry(void **state)
{
	struct images *im = *state;
	struct fs_logplay_result res;
	struct fs *fs, *ro;

	img_mkfs(im, 0, 1, 64 * MiB, 0);
	setenv("FAMFS_FAULT", "log_msync", 1);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	unsetenv("FAMFS_FAULT");
	ro = mount_fs(im->devs, 1, 0);

	assert_int_equal(fs_mkdir(fs, ROOT, "a", &cred, NULL), -EIO);
	assert_non_null(strstr(fs_msg(), "msync"));
	assert_int_equal(fs_logplay(ro, &res), 0);
	assert_int_equal(res.applied, 1);	/* the follower has "a" */
	assert_int_equal(fs_mkdir(fs, ROOT, "b", &cred, NULL), -EIO);
	assert_non_null(strstr(fs_msg(), "failed earlier"));
	assert_int_equal(fs_create(fs, ROOT, "c", &cred, NULL, NULL), -EIO);
	assert_int_equal(fs_logplay(ro, &res), 0);
	assert_int_equal(res.applied, 0);
	assert_int_equal(res.tail, FAMFS_MLOG_END);
	fs_close(fs);

	/* the next owner has what the follower has, and goes on */
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	same_dump(fs, ro);
	assert_int_equal(fs_mkdir(fs, ROOT, "a", &cred, NULL), -EEXIST);
	assert_int_equal(fs_mkdir(fs, ROOT, "b", &cred, NULL), 0);
	assert_int_equal(fs_logplay(ro, &res), 0);
	assert_int_equal(res.applied, 1);
	same_dump(fs, ro);
	fs_close(ro);
	fs_close(fs);
}

static void readonly_follows_owner(void **state)
{
	struct images *im = *state;
	struct fs_stripe two = { .nstrips = 2, .chunk_size = UNIT };
	struct ns_setattr sa = { .valid = FAMFS_SETATTR_SIZE, .size = 1 };
	struct fs_logplay_result res;
	struct fs_extent e;
	__u64 f, g, dir;
	struct fs *fs, *ro;

	img_mkfs(im, 0, 2, 128 * MiB, 0);
	fs = mount_fs(im->devs, 2, FS_OPEN_OWNER);
	assert_int_equal(fs_mkdir(fs, ROOT, "before", &cred, NULL), 0);
	ro = mount_fs(im->devs, 2, 0);
	assert_false(fs_is_owner(ro));
	same_dump(fs, ro);

	assert_int_equal(fs_mkdir(ro, ROOT, "d", &cred, NULL), -EROFS);
	assert_non_null(strstr(fs_msg(), "read-only"));
	assert_int_equal(fs_create(ro, ROOT, "f", &cred, NULL, NULL), -EROFS);
	assert_int_equal(fs_symlink(ro, ROOT, "l", "x", &cred, NULL), -EROFS);
	assert_int_equal(fs_unlink(ro, ROOT, "before"), -EROFS);
	assert_int_equal(fs_rmdir(ro, ROOT, "before"), -EROFS);
	assert_int_equal(fs_rename(ro, ROOT, "before", ROOT, "after", 0), -EROFS);
	assert_int_equal(fs_setattr(ro, ROOT, &sa), -EROFS);
	assert_int_equal(fs_alloc_for_write(ro, ROOT, 0, 1, &e), -EROFS);
	assert_int_equal(fs_set_stripe(ro, ROOT, NULL), -EROFS);
	assert_int_equal(fs_xattr_set(ro, ROOT, "user.a", "1", 1, 0), -EROFS);
	assert_int_equal(fs_xattr_remove(ro, ROOT, "user.a"), -EROFS);
	assert_int_equal(fs_logplay(fs, &res), -EINVAL);
	assert_int_equal(fs_logplay(ro, &res), 0);
	assert_int_equal(res.applied, 0);

	/* the owner works; the reader catches up */
	assert_int_equal(fs_mkdir(fs, ROOT, "d", &cred, &dir), 0);
	assert_int_equal(fs_create(fs, dir, "f", &cred, NULL, &f), 0);
	assert_int_equal(fs_create(fs, ROOT, "g", &cred, &two, &g), 0);
	assert_int_equal(fs_alloc_for_write(fs, f, 0, 12 * MiB, &e), 0);
	assert_int_equal(fs_alloc_for_write(fs, g, 0, 8 * MiB, &e), 0);
	sa.size = 12 * MiB;
	assert_int_equal(fs_setattr(fs, f, &sa), 0);
	sa.size = 5 * MiB;	/* SETATTR + PUNCH */
	assert_int_equal(fs_setattr(fs, f, &sa), 0);
	assert_int_equal(fs_rename(fs, dir, "f", ROOT, "f", 0), 0);
	assert_int_equal(fs_rmdir(fs, ROOT, "before"), 0);
	assert_int_equal(fs_logplay(ro, &res), 0);
	assert_int_equal(res.applied, 11);	/* g's CREATE has a STRIPE after it */
	assert_int_equal(res.tail, FAMFS_MLOG_END);
	same_dump(fs, ro);
	assert_int_equal(fs_logplay(ro, &res), 0);
	assert_int_equal(res.applied, 0);

	/* extended attributes: set, replaced, removed, seen by the reader */
	assert_int_equal(fs_xattr_set(fs, f, "user.a", "1", 1, 0), 0);
	assert_int_equal(fs_xattr_set(fs, f, "user.a", "22", 2, NS_XATTR_REPLACE), 0);
	assert_int_equal(fs_xattr_set(fs, ROOT, "trusted.t", "t", 1, 0), 0);
	assert_int_equal(fs_xattr_set(fs, f, "user.b", "b", 1, 0), 0);
	assert_int_equal(fs_xattr_remove(fs, f, "user.b"), 0);
	assert_int_equal(fs_logplay(ro, &res), 0);
	assert_int_equal(res.applied, 5);
	same_dump(fs, ro);
	{
		char v[8];

		assert_int_equal(ns_xattr_get(fs_ns(ro), f, "user.a", v, sizeof(v)), 2);
		assert_memory_equal(v, "22", 2);
		assert_int_equal(ns_xattr_get(fs_ns(ro), f, "user.b", v, sizeof(v)), -ENODATA);
	}

	/* deletes free the reader's space too */
	assert_int_equal(fs_unlink(fs, ROOT, "f"), 0);
	assert_int_equal(fs_unlink(fs, ROOT, "g"), 0);
	assert_int_equal(fs_logplay(ro, &res), 0);
	assert_int_equal(res.applied, 2);
	same_dump(fs, ro);
	assert_int_equal(bfree(ro), bfree(fs));
	fs_close(ro);
	fs_close(fs);
}

/* What fs_logplay_each() told: the types, and the name a RENAME replaced. */
struct told {
	struct fs *ro;
	enum famfs_log_type type[8];
	unsigned int n;
	__u64 replaced;
};

static void tell(void *ctx, const struct famfs_mlog_entry *e)
{
	struct told *t = ctx;

	if (t->n < 8)
		t->type[t->n] = e->type;
	t->n++;
	/* before the entry is applied: the name it replaces is still there */
	if (e->type == FAMFS_LOG_RENAME)
		assert_int_equal(ns_lookup(fs_ns(t->ro), e->rename.new_parent, e->new_name,
					   &t->replaced), 0);
}

static void logplay_tells_each_entry(void **state)
{
	struct images *im = *state;
	struct fs_logplay_result res;
	struct told t = { 0 };
	__u64 a, b;
	struct fs *fs, *ro;

	img_mkfs(im, 0, 1, 128 * MiB, 0);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	assert_int_equal(fs_create(fs, ROOT, "a", &cred, NULL, &a), 0);
	ro = mount_fs(im->devs, 1, 0);
	t.ro = ro;
	assert_int_equal(fs_create(fs, ROOT, "b", &cred, NULL, &b), 0);
	assert_int_equal(fs_rename(fs, ROOT, "b", ROOT, "a", 0), 0);
	assert_int_equal(fs_logplay_each(ro, &res, tell, &t), 0);
	assert_int_equal(res.applied, 2);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.type[0], FAMFS_LOG_CREATE);
	assert_int_equal(t.type[1], FAMFS_LOG_RENAME);
	assert_int_equal(t.replaced, a);
	same_dump(fs, ro);
	/* nothing new: nothing told */
	assert_int_equal(fs_logplay_each(ro, &res, tell, &t), 0);
	assert_int_equal(t.n, 2);
	fs_close(ro);
	fs_close(fs);
}

/*
 * Layout policies are in the log: a directory's default and a file's own
 * survive a remount, a file created in the directory after it is striped
 * with that geometry, and bad policies are refused with a message.
 */
/*
 * A chunk is bounded (FAMFS_XATTR_STRIPE_MAX_CHUNK, 256 MiB): a first
 * write into a strip zeroes up to a chunk, so a larger one is refused
 * on a directory, on a file and at create.
 */
static void stripe_chunk_bounded(void **state)
{
	struct images *im = *state;
	struct fs_stripe max = { .nstrips = 2, .chunk_size = 256 * MiB };
	struct fs_stripe big[] = {
		{ .nstrips = 1, .chunk_size = 512 * MiB },
		{ .nstrips = 1, .chunk_size = 1024 * MiB },	/* "1 1073741824" */
	};
	struct fs_stripe st;
	__u64 d, f;
	struct fs *fs;
	size_t i;

	img_mkfs(im, 0, 2, 128 * MiB, 0);
	fs = mount_fs(im->devs, 2, FS_OPEN_OWNER);
	assert_int_equal(fs_mkdir(fs, ROOT, "d", &cred, &d), 0);
	assert_int_equal(fs_create(fs, ROOT, "f", &cred, NULL, &f), 0);
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		assert_int_equal(fs_set_stripe(fs, d, &big[i]), -EINVAL);
		assert_non_null(strstr(fs_msg(), "2 MiB to 256 MiB"));
		assert_int_equal(fs_set_stripe(fs, f, &big[i]), -EINVAL);
		assert_int_equal(fs_create(fs, ROOT, "g", &cred, &big[i], NULL), -EINVAL);
	}
	assert_int_equal(fs_get_stripe(fs, d, &st), -ENODATA);
	assert_int_equal(fs_set_stripe(fs, d, &max), 0);
	assert_int_equal(fs_create(fs, d, "g", &cred, NULL, &f), 0);
	assert_int_equal(fs_get_stripe(fs, f, &st), 0);
	assert_int_equal(st.chunk_size, 256 * MiB);
	fs_close(fs);
}

/*
 * One fallocate takes at most FS_FALLOC_MAX_NEW (4 GiB) of new space, so
 * that no request zeroes without end; more is EFBIG and changes nothing.
 * Refused before any zeroing: the sparse images stay sparse.
 */
static void fallocate_bounded(void **state)
{
	struct images *im = *state;
	__u64 f, free0;
	struct fs *fs;
	char *before;

	img_mkfs(im, 0, 2, 2560 * MiB, 0);
	fs = mount_fs(im->devs, 2, FS_OPEN_OWNER);
	assert_int_equal(fs_create(fs, ROOT, "f", &cred, NULL, &f), 0);
	free0 = bfree(fs);
	assert_true(free0 * UNIT > FS_FALLOC_MAX_NEW + UNIT);
	before = dump(fs);
	assert_int_equal(fs_fallocate(fs, f, 0, FS_FALLOC_MAX_NEW + UNIT, 0), -EFBIG);
	assert_non_null(strstr(fs_msg(), "allocate in pieces"));
	assert_int_equal(fs_fallocate(fs, f, 1, FS_FALLOC_MAX_NEW + UNIT, FS_FALLOC_KEEP_SIZE),
			 -EFBIG);
	assert_int_equal(bfree(fs), free0);
	{
		char *after = dump(fs);

		assert_string_equal(before, after);
		free(after);
	}
	free(before);
	/* in pieces it is fine (a small one here: zeroing is real I/O) */
	assert_int_equal(fs_fallocate(fs, f, 0, 4 * MiB, 0), 0);
	assert_int_equal(bfree(fs), free0 - 2);
	fs_close(fs);
}

/*
 * A larger range goes in pieces (fs_fallocate_piece_end(), the daemon's
 * loop): each piece starts on a stripe boundary, spans whole stripes and
 * takes at most the bound, so none is refused; together they allocate
 * what one call would.  FAMFS_FAULT=falloc_small makes the bound 8 MiB.
 */
static void fallocate_in_pieces(void **state)
{
	struct images *im = *state;
	struct fs_stripe two = { .nstrips = 2, .chunk_size = UNIT };
	__u64 f, g, free0, pos, end, pe;
	int pieces = 0;
	struct fs *fs;

	img_mkfs(im, 0, 2, 256 * MiB, 0);
	fs = mount_fs(im->devs, 2, FS_OPEN_OWNER);
	assert_int_equal(fs_create(fs, ROOT, "f", &cred, NULL, &f), 0);
	/* the real bound: 4 GiB pieces, from a unit boundary */
	assert_int_equal(fs_fallocate_piece_end(fs, f, 0, 9ULL << 30), FS_FALLOC_MAX_NEW);
	assert_int_equal(fs_fallocate_piece_end(fs, f, 3 * MiB, 9ULL << 30),
			 2 * MiB + FS_FALLOC_MAX_NEW);
	assert_int_equal(fs_fallocate_piece_end(fs, f, 3 * MiB, 5 * MiB), 5 * MiB);
	assert_int_equal(fs_fallocate_piece_end(fs, f, UINT64_MAX - 1, UINT64_MAX), UINT64_MAX);
	fs_close(fs);

	setenv("FAMFS_FAULT", "falloc_small", 1);
	fs = mount_fs(im->devs, 2, FS_OPEN_OWNER);
	unsetenv("FAMFS_FAULT");
	free0 = bfree(fs);
	assert_int_equal(fs_fallocate(fs, f, 0, 10 * MiB, 0), -EFBIG);
	assert_int_equal(bfree(fs), free0);
	/* plain: pieces of 4 units from a unit boundary */
	end = 1 * MiB + 40 * MiB;
	for (pos = 1 * MiB; pos < end; pos = pe, pieces++) {
		pe = fs_fallocate_piece_end(fs, f, pos, end);
		assert_true(pe > pos && pe <= end);
		assert_true(pe == end || pe % FS_FALLOC_SMALL_MAX_NEW == 0);
		assert_int_equal(fs_fallocate(fs, f, pos, pe - pos,
					      pe < end ? FS_FALLOC_KEEP_SIZE : 0), 0);
	}
	assert_int_equal(pieces, 6);
	assert_int_equal(bfree(fs), free0 - 21);
	assert_int_equal(size_of(fs, f), end);
	/* striped, 2 x 2 MiB: whole 4 MiB stripes, two per piece */
	assert_int_equal(fs_create(fs, ROOT, "g", &cred, NULL, &g), 0);
	assert_int_equal(fs_set_stripe(fs, g, &two), 0);
	assert_int_equal(fs_fallocate_piece_end(fs, g, 3 * MiB, 40 * MiB), 8 * MiB);
	assert_int_equal(fs_fallocate_piece_end(fs, g, 9 * MiB, 40 * MiB), 16 * MiB);
	free0 = bfree(fs);
	end = 40 * MiB;
	for (pos = 3 * MiB; pos < end; pos = pe)
		assert_int_equal(fs_fallocate(fs, g, pos,
					      (pe = fs_fallocate_piece_end(fs, g, pos, end)) - pos,
					      FS_FALLOC_KEEP_SIZE), 0);
	assert_int_equal(bfree(fs), free0 - 20);
	assert_int_equal(size_of(fs, g), 0);
	fs_close(fs);
}

static void stripe_policy_survives_remount(void **state)
{
	struct images *im = *state;
	struct fs_stripe wide = { .nstrips = 2, .chunk_size = 4 * MiB };
	struct fs_stripe two = { .nstrips = 2, .chunk_size = UNIT };
	struct fs_stripe wider[] = {
		{ .nstrips = 4, .chunk_size = UNIT },		/* 3 devices */
		{ .nstrips = 17, .chunk_size = UNIT },
	};
	struct fs_stripe bad[] = {
		{ .nstrips = 2, .chunk_size = 3 * MiB },
		{ .nstrips = 2, .chunk_size = 1 * MiB },
		{ .nstrips = 2, .chunk_size = 2ULL << 30 },
	};
	struct fs_stripe st;
	struct fs_extent e;
	__u64 d, f, g, h, l;
	char *before, *after;
	struct fs *fs;
	size_t i;

	img_mkfs(im, 0, 3, 256 * MiB, 0);
	fs = mount_fs(im->devs, 3, FS_OPEN_OWNER);
	assert_int_equal(fs_mkdir(fs, ROOT, "d", &cred, &d), 0);
	assert_int_equal(fs_get_stripe(fs, d, &st), -ENODATA);
	assert_int_equal(fs_set_stripe(fs, d, &wide), 0);
	assert_int_equal(fs_create(fs, ROOT, "e", &cred, NULL, &f), 0);
	assert_int_equal(fs_set_stripe(fs, f, &two), 0);
	assert_int_equal(fs_symlink(fs, ROOT, "l", "e", &cred, &l), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(fs_set_stripe(fs, d, &bad[i]), -EINVAL);
		assert_non_null(strstr(fs_msg(), "a power of two"));
	}
	for (i = 0; i < sizeof(wider) / sizeof(wider[0]); i++) {
		assert_int_equal(fs_set_stripe(fs, d, &wider[i]), -EINVAL);
		assert_non_null(strstr(fs_msg(), "1 to 3 (the devices)"));
	}
	assert_int_equal(fs_set_stripe(fs, l, &two), -EINVAL);
	assert_int_equal(fs_set_stripe(fs, 12345, &two), -ENOENT);
	before = dump(fs);
	assert_non_null(strstr(before, "stripe 2/22"));
	fs_close(fs);

	fs = mount_fs(im->devs, 3, FS_OPEN_OWNER);
	after = dump(fs);
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(fs_get_stripe(fs, d, &st), 0);
	assert_int_equal(st.nstrips, 2);
	assert_int_equal(st.chunk_size, 4 * MiB);
	assert_int_equal(fs_get_stripe(fs, f, &st), 0);
	assert_int_equal(st.chunk_size, UNIT);
	assert_int_equal(fs_get_stripe(fs, ROOT, &st), -ENODATA);
	assert_int_equal(fs_get_stripe(fs, l, &st), -ENODATA);
	/* what the daemon's user.famfs.stripe shows: the same, none for the others */
	assert_true(fs_file_stripe(fs, d, &st));
	assert_int_equal(st.chunk_size, 4 * MiB);
	assert_true(fs_file_stripe(fs, f, &st));
	assert_int_equal(st.chunk_size, UNIT);
	assert_false(fs_file_stripe(fs, ROOT, &st));
	assert_false(fs_file_stripe(fs, l, &st));
	assert_false(fs_file_stripe(fs, 12345, &st));

	/* created after the remount: the directory's geometry, 32 MiB interleaved */
	assert_int_equal(fs_create(fs, d, "g", &cred, NULL, &g), 0);
	assert_int_equal(fs_get_stripe(fs, g, &st), 0);
	assert_int_equal(st.chunk_size, 4 * MiB);
	assert_int_equal(fs_alloc_for_write(fs, g, 0, 32 * MiB, &e), 0);
	assert_true(e.ileave);
	assert_int_equal(e.ileave_ext.nstrips, 2);
	assert_int_equal(e.ileave_ext.chunk_shift, 22);
	assert_int_equal(e.ileave_ext.len, 32 * MiB);
	assert_int_not_equal(e.ileave_ext.strips[0].dev, e.ileave_ext.strips[1].dev);
	check_congruent(&e);
	/* an explicit policy at create overrides the directory's */
	assert_int_equal(fs_create(fs, d, "h", &cred, &two, &h), 0);
	assert_int_equal(fs_get_stripe(fs, h, &st), 0);
	assert_int_equal(st.chunk_size, UNIT);

	/* the directory goes simple: files created in it after that too */
	assert_int_equal(fs_set_stripe(fs, d, NULL), 0);
	assert_int_equal(fs_get_stripe(fs, d, &st), 0);
	assert_int_equal(st.nstrips, 0);
	assert_int_equal(fs_create(fs, d, "s", &cred, NULL, &h), 0);
	assert_int_equal(fs_get_stripe(fs, h, &st), -ENODATA);
	assert_int_equal(fs_alloc_for_write(fs, h, 0, 1, &e), 0);
	assert_false(e.ileave);
	assert_false(fs_file_stripe(fs, d, &st));
	assert_false(fs_file_stripe(fs, h, &st));
	fs = remount_same(fs, im->devs, 3);
	fs_close(fs);
}

/*
 * Three strips over three devices (make demo's layout): a write allocates
 * whole 6 MiB stripes (16 MiB ahead rounds up to 18), one strip on each
 * device, congruent; the next write grows every strip in place, so the
 * file stays one extent; all of it survives a remount.
 */
static void three_strips(void **state)
{
	struct images *im = *state;
	struct fs_stripe three = { .nstrips = 3, .chunk_size = UNIT };
	struct fs_stripe four = { .nstrips = 4, .chunk_size = UNIT };
	struct fmap_ileave_ext first;
	struct fs_stripe st;
	struct fs_extent e;
	__u64 f, d, g;
	struct fs *fs;
	__u32 s, t;

	img_mkfs(im, 0, 3, 256 * MiB, 0);
	fs = mount_fs(im->devs, 3, FS_OPEN_OWNER);
	assert_int_equal(fs_create(fs, ROOT, "f", &cred, &three, &f), 0);
	assert_int_equal(fs_alloc_for_write(fs, f, 4096, 4096, &e), 0);
	assert_true(e.ileave);
	assert_int_equal(e.ileave_ext.nstrips, 3);
	assert_int_equal(e.ileave_ext.file_off, 0);
	assert_int_equal(e.ileave_ext.len, 18 * MiB);
	assert_int_equal(getattr(fs, f).mapped, 18 * MiB);
	for (s = 0; s < 3; s++)
		for (t = 0; t < s; t++)
			assert_int_not_equal(e.ileave_ext.strips[s].dev, e.ileave_ext.strips[t].dev);
	check_congruent(&e);
	first = e.ileave_ext;

	/* from 18 MiB (20 rounds down to a stripe) to 36 (20 + 16, rounded up) */
	assert_int_equal(fs_alloc_for_write(fs, f, 20 * MiB, 4096, &e), 0);
	assert_true(e.ileave);
	assert_int_equal(e.ileave_ext.file_off, 0);
	assert_int_equal(e.ileave_ext.len, 36 * MiB);
	assert_int_equal(getattr(fs, f).mapped, 36 * MiB);
	for (s = 0; s < 3; s++) {
		assert_int_equal(e.ileave_ext.strips[s].dev, first.strips[s].dev);
		assert_int_equal(e.ileave_ext.strips[s].dev_off, first.strips[s].dev_off);
	}
	check_congruent(&e);

	/* a directory's policy of 3; 4 is more than the devices */
	assert_int_equal(fs_mkdir(fs, ROOT, "d", &cred, &d), 0);
	assert_int_equal(fs_set_stripe(fs, d, &three), 0);
	assert_int_equal(fs_set_stripe(fs, d, &four), -EINVAL);
	assert_non_null(strstr(fs_msg(), "the devices"));
	assert_int_equal(fs_create(fs, d, "g", &cred, NULL, &g), 0);
	assert_int_equal(fs_get_stripe(fs, g, &st), 0);
	assert_int_equal(st.nstrips, 3);

	fs = remount_same(fs, im->devs, 3);
	assert_int_equal(fs_get_stripe(fs, f, &st), 0);
	assert_int_equal(st.nstrips, 3);
	assert_int_equal(st.chunk_size, UNIT);
	assert_int_equal(fs_alloc_for_write(fs, f, 35 * MiB, 4096, &e), 0);
	assert_int_equal(e.ileave_ext.len, 36 * MiB);
	assert_memory_equal(e.ileave_ext.strips, first.strips, sizeof(first.strips));
	assert_int_equal(getattr(fs, f).mapped, 36 * MiB);
	fs_close(fs);
}

/*
 * A write into a striped file allocates at least FS_STRIPED_MIN_ALLOC
 * when it is free, what it asked for when it is not; a simple file gets
 * what it asks for.
 */
static void striped_write_allocates_ahead(void **state)
{
	struct images *im = *state;
	struct fs_stripe two = { .nstrips = 2, .chunk_size = UNIT };
	struct fs_stripe one = { .nstrips = 1, .chunk_size = UNIT };
	struct fs_extent e;
	__u64 f, g, h, k, total;
	struct fs *fs;

	img_mkfs(im, 0, 2, 256 * MiB, 0);
	fs = mount_fs(im->devs, 2, FS_OPEN_OWNER);
	assert_int_equal(fs_create(fs, ROOT, "g", &cred, &two, &g), 0);
	assert_int_equal(fs_alloc_for_write(fs, g, 0, 2 * MiB, &e), 0);
	assert_true(e.ileave);
	assert_true(getattr(fs, g).mapped >= FS_STRIPED_MIN_ALLOC);
	assert_int_equal(getattr(fs, g).mapped, 16 * MiB);
	/* the next 14 MiB of writes need nothing more */
	assert_int_equal(fs_alloc_for_write(fs, g, 14 * MiB, 2 * MiB, &e), 0);
	assert_int_equal(getattr(fs, g).mapped, 16 * MiB);
	assert_int_equal(fs_create(fs, ROOT, "f", &cred, NULL, &f), 0);
	assert_int_equal(fs_alloc_for_write(fs, f, 0, 2 * MiB, &e), 0);
	assert_int_equal(getattr(fs, f).mapped, 2 * MiB);
	fs_close(fs);

	/* 2 units left: a one-strip file's 2 MiB write still gets its unit */
	img_mkfs(im, 0, 1, 64 * MiB, 0);
	fs = mount_fs(im->devs, 1, FS_OPEN_OWNER);
	total = bfree(fs);
	assert_int_equal(fs_create(fs, ROOT, "f", &cred, NULL, &f), 0);
	assert_int_equal(fs_alloc_for_write(fs, f, 0, (total - 2) * UNIT, &e), 0);
	assert_int_equal(fs_create(fs, ROOT, "h", &cred, &one, &h), 0);
	assert_int_equal(fs_alloc_for_write(fs, h, 0, 2 * MiB, &e), 0);
	assert_true(e.ileave);
	assert_int_equal(getattr(fs, h).mapped, 2 * MiB);
	assert_int_equal(bfree(fs), 1);
	/* and exactly what is asked when the policy says so */
	exact_alloc(fs);
	assert_int_equal(fs_create(fs, ROOT, "k", &cred, &one, &k), 0);
	assert_int_equal(fs_alloc_for_write(fs, k, 0, 2 * MiB, &e), 0);
	assert_int_equal(bfree(fs), 0);
	fs_close(fs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(empty_fs, setup, teardown),
		cmocka_unit_test_setup_teardown(pages_small_files, setup, teardown),
		cmocka_unit_test_setup_teardown(whole_units_format, setup, teardown),
		cmocka_unit_test_setup_teardown(pages_space_matches_layouts, setup, teardown),
		cmocka_unit_test_setup_teardown(changes_survive_remount, setup, teardown),
		cmocka_unit_test_setup_teardown(interleaved_growth, setup, teardown),
		cmocka_unit_test_setup_teardown(interleaved_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(stripe_policy_survives_remount, setup, teardown),
		cmocka_unit_test_setup_teardown(stripe_chunk_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(fallocate_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(fallocate_in_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(striped_write_allocates_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(three_strips, setup, teardown),
		cmocka_unit_test_setup_teardown(freed_space_cools, setup, teardown),
		cmocka_unit_test_setup_teardown(unlinked_open_file, setup, teardown),
		cmocka_unit_test_setup_teardown(tmpfile_crash_and_link, setup, teardown),
		cmocka_unit_test_setup_teardown(hard_links, setup, teardown),
		cmocka_unit_test_setup_teardown(enospc_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(fallocate_and_punch, setup, teardown),
		cmocka_unit_test_setup_teardown(fallocate_enospc_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(fallocate_striped, setup, teardown),
		cmocka_unit_test_setup_teardown(full_log_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(corrupt_and_torn_log, setup, teardown),
		cmocka_unit_test_setup_teardown(open_in_two_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(wrong_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(overlapping_files_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(replay_reports_progress, setup, teardown),
		cmocka_unit_test_setup_teardown(concurrent_owner_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(new_space_crash_safe, setup, teardown),
		cmocka_unit_test_setup_teardown(fault_nth, setup, teardown),
		cmocka_unit_test_setup_teardown(alloc_same_holes_concurrently, setup, teardown),
		cmocka_unit_test_setup_teardown(commit_lock_after_zeroing, setup, teardown),
		cmocka_unit_test_setup_teardown(readonly_follows_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(msync_failure_keeps_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(logplay_tells_each_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(appends_cost_o1_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(full_log_keeps_deletes, setup, teardown),
		cmocka_unit_test_setup_teardown(checkpoint_keeps_namespace, setup, teardown),
		cmocka_unit_test_setup_teardown(checkpoint_crash_each_step, setup, teardown),
		cmocka_unit_test_setup_teardown(auto_checkpoint_never_full, setup, teardown),
		cmocka_unit_test_setup_teardown(follower_follows_checkpoint, setup, teardown),
	};

	return cmocka_run_group_tests_name("fs", tests, NULL, NULL);
}
