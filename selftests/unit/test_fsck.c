// SPDX-License-Identifier: GPL-2.0
/*
 * fsck and mount agree on every log: a table of logs, each written with
 * the mlog appender onto mkfs'd image files (two devices), then mounted
 * as owner (fs_open(): ns_replay(), then every file's space into the
 * allocator) and checked (cli_fsck()).
 *
 * A bad row breaks one of ns.c's replay rules (or the space rules mount
 * checks after replay): mount refuses it, fsck refuses it, and fsck's
 * report holds mount's reason word for word, besides the row's own
 * words.  A good row is accepted by both, and fsck counts the files and
 * directories mount's namespace has.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "fs/fs.h"
#include "fs/log.h"
#include "fs/mlog.h"
#include "fs/ns.h"
#include "fs/super.h"
#include "img.h"

#define MiB (1ULL << 20)
#define DEV_SIZE (64 * MiB)
#define NDEVS 2
#define ROOT FAMFS_ROOT_INO
#define MAX_STEPS 12

/*
 * One log entry.  Space is in MiB: @mib from device @dev's data area
 * (from the device's start with @raw), @file_mib into the file, @len_mib
 * long.  An interleaved extent has one strip on each device, at @mib of
 * each, 2 MiB chunks.
 */
struct step {
	enum famfs_log_type type;
	__u64 parent, ino, parent2;
	const char *name, *name2;
	__u32 flags;
	__u64 file_mib, mib, len_mib;
	__u32 dev;
	bool raw, ileave;
	__u32 nstrips, chunk_shift;
};

#define MKDIR(p, i, n)		{ .type = FAMFS_LOG_MKDIR, .parent = p, .ino = i, .name = n }
#define SYMLINK(p, i, n)	{ .type = FAMFS_LOG_SYMLINK, .parent = p, .ino = i, .name = n }
/* a file with @len MiB at @mib on device 0 (@len 0: empty) */
#define CREATE(p, i, n, m, len)	{ .type = FAMFS_LOG_CREATE, .parent = p, .ino = i, .name = n, \
				  .mib = m, .len_mib = len }
#define UNLINK(p, i, n)		{ .type = FAMFS_LOG_DELETE, .parent = p, .ino = i, .name = n }
#define RMDIR(p, i, n)		{ .type = FAMFS_LOG_DELETE, .parent = p, .ino = i, .name = n, \
				  .flags = FAMFS_DELETE_DIR }
#define LINK(i, p, n)		{ .type = FAMFS_LOG_LINK, .parent = p, .ino = i, .name = n }
#define RENAME(i, p, n, p2, n2)	{ .type = FAMFS_LOG_RENAME, .parent = p, .ino = i, .name = n, \
				  .parent2 = p2, .name2 = n2 }
#define EXCHANGE(i, p, n, p2, n2) { .type = FAMFS_LOG_RENAME, .parent = p, .ino = i, .name = n, \
				  .parent2 = p2, .name2 = n2, .flags = FAMFS_RENAME_EXCHANGE }
#define TRUNCATE(i, size)	{ .type = FAMFS_LOG_SETATTR, .ino = i, .len_mib = size }
#define ALLOC(i, f, m, len)	{ .type = FAMFS_LOG_ALLOC, .ino = i, .file_mib = f, .mib = m, \
				  .len_mib = len }
#define ALLOC_RAW(i, f, d, m, len) { .type = FAMFS_LOG_ALLOC, .ino = i, .file_mib = f, .dev = d, \
				  .mib = m, .len_mib = len, .raw = true }
#define ILEAVE(i, f, m, len)	{ .type = FAMFS_LOG_ALLOC, .ino = i, .file_mib = f, .mib = m, \
				  .len_mib = len, .ileave = true }
#define PUNCH(i, f, len)	{ .type = FAMFS_LOG_PUNCH, .ino = i, .file_mib = f, .len_mib = len }
#define STRIPE(i, n, shift)	{ .type = FAMFS_LOG_STRIPE, .ino = i, .nstrips = n, \
				  .chunk_shift = shift }
/* extended attribute @n of @i set to @len bytes, or removed */
#define XATTR(i, n, len)	{ .type = FAMFS_LOG_XATTR, .ino = i, .name = n, .len_mib = len }
#define XATTR_RM(i, n)		{ .type = FAMFS_LOG_XATTR, .ino = i, .name = n, \
				  .flags = FAMFS_XATTR_F_REMOVE }

struct row {
	const char *name;
	/* NULL: a good log; else words both refusals hold */
	const char *reason;
	struct step steps[MAX_STEPS];
};

static const struct row rows[] = {
	/* bad: ns.c's rules */
	{ "rmdir_not_empty", "not empty",
	  { MKDIR(ROOT, 2, "d"), CREATE(2, 3, "f", 0, 0), RMDIR(ROOT, 2, "d") } },
	{ "rmdir_holding_a_directory", "not empty",
	  { MKDIR(ROOT, 2, "d"), MKDIR(2, 3, "e"), RMDIR(ROOT, 2, "d") } },
	{ "rename_dir_into_own_subtree", "own subtree",
	  { MKDIR(ROOT, 2, "d"), MKDIR(2, 3, "e"), RENAME(2, ROOT, "d", 3, "x") } },
	{ "rename_dir_into_itself", "own subtree",
	  { MKDIR(ROOT, 2, "d"), RENAME(2, ROOT, "d", 2, "x") } },
	{ "exchange_dir_into_own_subtree", "own subtree",
	  { MKDIR(ROOT, 2, "d"), MKDIR(2, 3, "e"), CREATE(3, 4, "f", 0, 0),
	    EXCHANGE(2, ROOT, "d", 3, "f") } },
	{ "link_to_directory", "link to directory",
	  { MKDIR(ROOT, 2, "d"), LINK(2, ROOT, "d2") } },
	{ "link_to_deleted_inode", "has no name",
	  { CREATE(ROOT, 2, "a", 0, 0), UNLINK(ROOT, 2, "a"), LINK(2, ROOT, "b") } },
	{ "link_name_taken", "exists in directory",
	  { CREATE(ROOT, 2, "a", 0, 0), CREATE(ROOT, 3, "b", 0, 0), LINK(2, ROOT, "b") } },
	{ "missing_parent", "directory 9 does not exist",
	  { CREATE(9, 2, "a", 0, 0) } },
	{ "parent_not_a_directory", "is not a directory",
	  { CREATE(ROOT, 2, "a", 0, 0), CREATE(2, 3, "b", 0, 0) } },
	{ "parent_removed", "directory 2 does not exist",
	  { MKDIR(ROOT, 2, "d"), RMDIR(ROOT, 2, "d"), CREATE(2, 3, "f", 0, 0) } },
	{ "duplicate_name", "exists in directory",
	  { CREATE(ROOT, 2, "a", 0, 0), MKDIR(ROOT, 3, "a") } },
	{ "duplicate_inode", "inode 2 is in use",
	  { CREATE(ROOT, 2, "a", 0, 0), CREATE(ROOT, 2, "b", 0, 0) } },
	{ "unlink_of_directory", "unlink of directory",
	  { MKDIR(ROOT, 2, "d"), UNLINK(ROOT, 2, "d") } },
	{ "rmdir_of_file", "not a directory",
	  { CREATE(ROOT, 2, "a", 0, 0), RMDIR(ROOT, 2, "a") } },
	{ "delete_names_other_inode", "is inode 2, not 3",
	  { CREATE(ROOT, 2, "a", 0, 0), CREATE(ROOT, 3, "b", 0, 0), UNLINK(ROOT, 3, "a") } },
	{ "delete_missing_name", "does not exist in directory",
	  { CREATE(ROOT, 2, "a", 0, 0), UNLINK(ROOT, 2, "b") } },
	{ "rename_over_nonempty_dir", "not empty",
	  { MKDIR(ROOT, 2, "d"), MKDIR(ROOT, 3, "e"), CREATE(3, 4, "f", 0, 0),
	    RENAME(2, ROOT, "d", ROOT, "e") } },
	{ "rename_dir_over_file", "not a directory",
	  { MKDIR(ROOT, 2, "d"), CREATE(ROOT, 3, "f", 0, 0), RENAME(2, ROOT, "d", ROOT, "f") } },
	{ "rename_file_over_dir", "rename over directory",
	  { MKDIR(ROOT, 2, "d"), CREATE(ROOT, 3, "f", 0, 0), RENAME(3, ROOT, "f", ROOT, "d") } },
	{ "rename_link_over_itself", "both inode 2",
	  { CREATE(ROOT, 2, "a", 0, 0), LINK(2, ROOT, "b"), RENAME(2, ROOT, "a", ROOT, "b") } },
	{ "rename_into_a_file", "is not a directory",
	  { CREATE(ROOT, 2, "a", 0, 0), CREATE(ROOT, 3, "b", 0, 0),
	    RENAME(2, ROOT, "a", 3, "x") } },
	{ "exchange_with_missing", "which does not exist",
	  { CREATE(ROOT, 2, "a", 0, 0), EXCHANGE(2, ROOT, "a", ROOT, "b") } },
	{ "truncate_of_directory", "not a regular file",
	  { MKDIR(ROOT, 2, "d"), TRUNCATE(2, 0) } },
	{ "truncate_of_symlink", "not a regular file",
	  { SYMLINK(ROOT, 2, "s"), TRUNCATE(2, 0) } },
	{ "truncate_of_missing", "inode 5 does not exist",
	  { TRUNCATE(5, 0) } },
	{ "alloc_to_directory", "not a regular file",
	  { MKDIR(ROOT, 2, "d"), ALLOC(2, 0, 0, 2) } },
	{ "alloc_to_deleted_file", "inode 2 does not exist",
	  { CREATE(ROOT, 2, "a", 0, 2), UNLINK(ROOT, 2, "a"), ALLOC(2, 2, 4, 2) } },
	{ "alloc_over_file_offsets_mapped", "overlaps the file's extents",
	  { CREATE(ROOT, 2, "a", 0, 4), ALLOC(2, 2, 8, 2) } },
	{ "punch_of_directory", "not a regular file",
	  { MKDIR(ROOT, 2, "d"), PUNCH(2, 0, 2) } },
	{ "punch_ileave_off_a_stripe", "off a stripe boundary",
	  { CREATE(ROOT, 2, "a", 0, 0), ILEAVE(2, 0, 0, 8), PUNCH(2, 0, 2) } },
	{ "too_many_ileave_extents", "interleaved extents",
	  { CREATE(ROOT, 2, "a", 0, 0), ILEAVE(2, 0, 0, 4), ILEAVE(2, 8, 4, 4),
	    ILEAVE(2, 16, 8, 4), ILEAVE(2, 24, 12, 4), ILEAVE(2, 32, 16, 4) } },
	{ "stripe_of_symlink", "neither a file nor a directory",
	  { SYMLINK(ROOT, 2, "s"), STRIPE(2, 2, 21) } },
	{ "stripe_of_deleted_dir", "inode 2 does not exist",
	  { MKDIR(ROOT, 2, "d"), RMDIR(ROOT, 2, "d"), STRIPE(2, 2, 21) } },
	{ "xattr_remove_missing", "has no xattr user.a",
	  { CREATE(ROOT, 2, "a", 0, 0), XATTR(2, "user.b", 1), XATTR_RM(2, "user.a") } },
	{ "xattr_of_deleted_file", "inode 2 does not exist",
	  { CREATE(ROOT, 2, "a", 0, 0), UNLINK(ROOT, 2, "a"), XATTR(2, "user.a", 1) } },
	{ "xattr_past_its_space", "bytes of xattrs, at most 4064",
	  { CREATE(ROOT, 2, "a", 0, 0), XATTR(2, "user.a", 2100), XATTR(2, "user.b", 2100) } },
	/* bad: the log against the devices (mlog) */
	{ "extent_past_device_end", "device 0",
	  { CREATE(ROOT, 2, "a", 0, 0), ALLOC_RAW(2, 0, 0, 62, 4) } },
	{ "extent_in_metadata_area", "device 0",
	  { CREATE(ROOT, 2, "a", 0, 0), ALLOC_RAW(2, 0, 0, 0, 2) } },
	/* bad: space, checked after replay */
	{ "create_over_other_files_space", "both claim device 0",
	  { CREATE(ROOT, 2, "a", 0, 4), CREATE(ROOT, 3, "b", 2, 4) } },
	{ "alloc_over_other_files_space", "both claim device 0",
	  { CREATE(ROOT, 2, "a", 0, 4), CREATE(ROOT, 3, "b", 8, 2), ALLOC(3, 2, 2, 2) } },
	{ "alloc_over_linked_files_space", "both claim device 0",
	  { CREATE(ROOT, 2, "a", 0, 4), LINK(2, ROOT, "a2"), UNLINK(ROOT, 2, "a"),
	    CREATE(ROOT, 3, "b", 0, 0), ALLOC(3, 0, 2, 2) } },
	{ "alloc_over_own_space", "maps device 0",
	  { CREATE(ROOT, 2, "a", 0, 2), ALLOC(2, 2, 0, 2) } },

	/* good */
	{ "empty", NULL, { { 0 } } },
	{ "tree_and_renames", NULL,
	  { MKDIR(ROOT, 2, "d"), MKDIR(2, 3, "e"), CREATE(3, 4, "f", 0, 2),
	    RENAME(3, 2, "e", ROOT, "e"), RENAME(2, ROOT, "d", 3, "d"),
	    SYMLINK(ROOT, 5, "s"), EXCHANGE(5, ROOT, "s", 3, "d") } },
	{ "rmdir_after_emptying", NULL,
	  { MKDIR(ROOT, 2, "d"), CREATE(2, 3, "f", 0, 2), UNLINK(2, 3, "f"),
	    RMDIR(ROOT, 2, "d"), CREATE(ROOT, 4, "g", 0, 2) } },
	{ "rename_over_empty_dir_and_file", NULL,
	  { MKDIR(ROOT, 2, "d"), MKDIR(ROOT, 3, "e"), RENAME(2, ROOT, "d", ROOT, "e"),
	    CREATE(ROOT, 4, "a", 0, 2), CREATE(ROOT, 5, "b", 2, 2),
	    RENAME(4, ROOT, "a", ROOT, "b"), CREATE(ROOT, 6, "c", 2, 2) } },
	{ "hard_links_keep_space", NULL,
	  { CREATE(ROOT, 2, "a", 0, 4), LINK(2, ROOT, "a2"), UNLINK(ROOT, 2, "a"),
	    CREATE(ROOT, 3, "b", 4, 2), UNLINK(ROOT, 2, "a2"), CREATE(ROOT, 4, "c", 0, 4) } },
	{ "truncate_punch_and_reuse", NULL,
	  { CREATE(ROOT, 2, "a", 0, 4), ALLOC(2, 4, 8, 2), TRUNCATE(2, 2), PUNCH(2, 2, 0),
	    CREATE(ROOT, 3, "b", 2, 2), ALLOC(3, 2, 10, 2) } },
	{ "xattrs_set_replaced_removed", NULL,
	  { MKDIR(ROOT, 2, "d"), CREATE(2, 3, "a", 0, 2), XATTR(3, "user.a", 4040),
	    XATTR(3, "user.a", 2000), XATTR(3, "trusted.b", 2000), XATTR(2, "user.d", 0),
	    XATTR(ROOT, "trusted.root", 7), XATTR_RM(3, "user.a"), XATTR(3, "user.c", 10),
	    UNLINK(2, 3, "a"), RMDIR(ROOT, 2, "d") } },
	{ "ileave_stripe_and_punch_whole_stripes", NULL,
	  { MKDIR(ROOT, 2, "d"), STRIPE(2, 2, 21), CREATE(2, 3, "a", 0, 0),
	    ILEAVE(3, 0, 0, 8), ILEAVE(3, 8, 4, 8), PUNCH(3, 4, 0), ALLOC(3, 16, 20, 2) } },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* ------------------------------------------------------------------ */

static __u64 dev_off(const struct img_log *l, __u32 dev, __u64 mib, bool raw)
{
	return (raw ? 0 : l->info.devs.devs[dev].data_off) + mib * MiB;
}

static void append(struct img_log *l, const struct step *s)
{
	struct fmap_simple_ext x = { .file_off = s->file_mib * MiB, .len = s->len_mib * MiB,
				     .dev_off = dev_off(l, s->dev, s->mib, s->raw),
				     .dev = s->dev };
	struct fmap_ileave_ext ie = { .file_off = s->file_mib * MiB, .len = s->len_mib * MiB,
				      .nstrips = NDEVS, .chunk_shift = 21 };
	struct famfs_mlog_entry e;
	__u32 k;

	famfs_mlog_entry_init(&e);
	e.type = s->type;
	snprintf(e.name, sizeof(e.name), "%s", s->name ? s->name : "");
	switch (s->type) {
	case FAMFS_LOG_MKDIR:
	case FAMFS_LOG_CREATE:
	case FAMFS_LOG_SYMLINK:
		e.mknod.parent = s->parent;
		e.mknod.ino = s->ino;
		e.mknod.mode = s->type == FAMFS_LOG_CREATE ? 0644 : 0755;
		if (s->type == FAMFS_LOG_SYMLINK) {
			snprintf(e.target, sizeof(e.target), "target");
			e.mknod.size = strlen(e.target);
		}
		if (s->type == FAMFS_LOG_CREATE && s->len_mib) {
			e.mknod.size = x.len;
			e.nsimple = 1;
			e.simple = &x;
		}
		break;
	case FAMFS_LOG_ALLOC:
		e.alloc.ino = s->ino;
		if (s->ileave) {
			for (k = 0; k < NDEVS; k++)
				ie.strips[k] = (struct fmap_strip){
					.dev = k, .dev_off = dev_off(l, k, s->mib, false) };
			e.nileave = 1;
			e.ileave = &ie;
		} else {
			e.nsimple = 1;
			e.simple = &x;
		}
		break;
	case FAMFS_LOG_PUNCH:
		e.punch.ino = s->ino;
		e.punch.off = s->file_mib * MiB;
		e.punch.len = s->len_mib ? s->len_mib * MiB : FAMFS_LOG_TO_END;
		break;
	case FAMFS_LOG_SETATTR:
		e.setattr.ino = s->ino;
		e.setattr.valid = FAMFS_SETATTR_SIZE;
		e.setattr.size = s->len_mib * MiB;
		break;
	case FAMFS_LOG_RENAME:
		e.rename.old_parent = s->parent;
		e.rename.new_parent = s->parent2;
		e.rename.ino = s->ino;
		e.rename.flags = s->flags;
		snprintf(e.new_name, sizeof(e.new_name), "%s", s->name2);
		break;
	case FAMFS_LOG_DELETE:
		e.del.parent = s->parent;
		e.del.ino = s->ino;
		e.del.flags = s->flags;
		break;
	case FAMFS_LOG_LINK:
		e.link.parent = s->parent;
		e.link.ino = s->ino;
		break;
	case FAMFS_LOG_STRIPE:
		e.stripe.ino = s->ino;
		e.stripe.nstrips = s->nstrips;
		e.stripe.chunk_shift = s->chunk_shift;
		break;
	case FAMFS_LOG_XATTR: {
		static __u8 value[FAMFS_XATTR_VALUE_MAX];

		memset(value, 'v', sizeof(value));
		e.xattr.ino = s->ino;
		e.xattr.flags = s->flags;
		e.xattr.value_len = (__u32)s->len_mib;	/* bytes here */
		e.value = value;
		break;
	}
	default:
		fail_msg("step type %u", s->type);
	}
	assert_int_equal(famfs_mlog_append(&l->w, &e), 0);
}

/* fsck of the images: its exit code, its report in @out */
static int fsck(struct images *im, char *out, size_t outlen)
{
	struct cli_fsck_args args = { .no_change = true };
	char *paths[NDEVS], *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int i, ret;

	assert_non_null(f);
	for (i = 0; i < NDEVS; i++)
		paths[i] = im->path[i];
	ret = cli_fsck(&args, NDEVS, paths, f);
	fclose(f);
	snprintf(out, outlen, "%s", buf ? buf : "");
	free(buf);
	return ret;
}

struct ctx {
	const struct row *row;
	struct images *im;
};

/* initial state: the row; the images go whether the row passes or not */
static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->row = *state;
	c->im = img_create("fsck", NDEVS);
	if (!c->im) {
		free(c);
		return -1;
	}
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	img_remove(c->im);
	free(c);
	return 0;
}

static void check_row(void **state)
{
	struct ctx *c = *state;
	const struct row *r = c->row;
	struct images *im = c->im;
	char msg[256] = "", out[4096], want[64];
	const char *why;
	struct fs *fs = NULL;
	struct ns_statfs st;
	struct img_log l;
	const struct step *s;
	int err, ret;

	img_mkfs(im, 0, NDEVS, DEV_SIZE, MiB);
	img_log_open(&l, im->path[0]);
	for (s = r->steps; s < r->steps + MAX_STEPS && s->type; s++)
		append(&l, s);
	img_log_close(&l, im->path[0]);

	err = fs_open(im->devs, NDEVS, FS_OPEN_OWNER, &fs, msg, sizeof(msg));
	ret = fsck(im, out, sizeof(out));
	print_message("# %s: mount: %s\n# %s: fsck: %s", r->name, err ? msg : "accepted",
		      r->name, out);
	if (!r->reason) {
		if (err)
			fail_msg("mount refused a good log: %s", msg);
		ns_statfs(fs_ns(fs), &st);
		fs_close(fs);
		snprintf(want, sizeof(want), "%llu files, %llu directories;",
			 (unsigned long long)st.files, (unsigned long long)st.dirs - 1);
		if (ret != CLI_EXIT_OK || !strstr(out, "clean"))
			fail_msg("fsck refused a good log (exit %d)", ret);
		if (!strstr(out, want))
			fail_msg("fsck does not count \"%s\" as mount does", want);
	} else {
		if (!err) {
			fs_close(fs);
			fail_msg("mount accepted the log");
		}
		assert_int_equal(err, -EUCLEAN);
		if (!strstr(msg, r->reason))
			fail_msg("mount's reason lacks \"%s\"", r->reason);
		if (ret != CLI_EXIT_UNCORRECTED)
			fail_msg("fsck exit %d (%s), mount refused the log", ret,
				 strstr(out, ": clean") ? "clean" : "not uncorrected");
		/* mount's reason, past its own prefix */
		why = strstr(msg, "refusing to write to it: ");
		why = why ? why + strlen("refusing to write to it: ") : msg;
		if (!strstr(out, why))
			fail_msg("fsck's report lacks mount's reason \"%s\"", why);
		if (!strstr(out, r->reason))
			fail_msg("fsck's report lacks \"%s\"", r->reason);
	}
}

int main(void)
{
	struct CMUnitTest tests[NROWS];
	size_t i;

	fbs_log_set_level(FBS_LOG_ERR);
	for (i = 0; i < NROWS; i++)
		tests[i] = (struct CMUnitTest){ .name = rows[i].name, .test_func = check_row,
						.initial_state = (void *)&rows[i],
						.setup_func = setup, .teardown_func = teardown };
	return _cmocka_run_group_tests("fsck_agrees_with_mount", tests, NROWS, NULL, NULL);
}
