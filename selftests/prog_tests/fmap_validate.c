// SPDX-License-Identifier: GPL-2.0
/*
 * One subtest per rule of the kernel's mapping validator: the server
 * answers FUSE_FMAP with a mapping that breaks the rule, the access fails
 * with EIO, the reject counter moves, and once the server answers
 * correctly the same access works (nothing bad was cached).  Then what is
 * checked at fault time: a read-only device, a device page that two files
 * map, and one that two offsets of one file map.  Last, a device without
 * DAX is refused when it is registered.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

struct rule {
	const char *name;
	/* one of the two */
	void (*corrupt)(struct fuse_fmap_out *out);
	void (*corrupt_reply)(struct fuse_fmap_reply *r, size_t *len);
};

static void bad_type(struct fuse_fmap_out *o) { o->type = 0x7fff; }
static void bad_flags(struct fuse_fmap_out *o) { o->flags = 0x8000; }
/* only storage is new: a hole cannot be */
static void new_hole(struct fuse_fmap_out *o)
{
	o->type = FUSE_FMAP_TYPE_HOLE;
	o->flags = FUSE_FMAP_FLAG_NEW;
}
static void zero_length(struct fuse_fmap_out *o) { o->length = 0; }
static void not_covering(struct fuse_fmap_out *o) { o->offset += 1 * MiB; }
static void misaligned_dev(struct fuse_fmap_out *o) { o->dev_offset += 512; }
static void misaligned_len(struct fuse_fmap_out *o) { o->length = 4096 + 512; }
static void overflow(struct fuse_fmap_out *o)
{
	o->dev_offset = UINT64_MAX & ~4095ULL;
	o->length = 1 * MiB;
}
static void unknown_dev(struct fuse_fmap_out *o) { o->dev_id = 77; }
static void beyond_device(struct fuse_fmap_out *o)
{
	o->dev_offset = 1024 * MiB - 4096;	/* pmem is 1 GiB */
	o->length = 2 * MiB;
}

/* a hole keeps the device of the mapping it replaced: one encoding only */
static void hole_with_device(struct fuse_fmap_out *o)
{
	o->type = FUSE_FMAP_TYPE_HOLE;
}

/*
 * The server's answer (one simple extent) said as an interleaved extent of
 * one strip of 64 KiB chunks, which is the same mapping: rules below spoil
 * one thing of it.
 */
static void as_interleave(struct fuse_fmap_reply *r, size_t *len)
{
	r->strips[0].dev_id = r->out.dev_id;
	r->strips[0].dev_offset = r->out.dev_offset;
	r->out.dev_id = 0;
	r->out.dev_offset = 0;
	r->out.type = FUSE_FMAP_TYPE_INTERLEAVED;
	r->interleave.length = r->out.length;
	r->interleave.nstrips = 1;
	r->interleave.chunk_shift = 16;
	*len = offsetof(struct fuse_fmap_reply, strips[1]);
}

static void short_reply(struct fuse_fmap_reply *r, size_t *len)
{
	as_interleave(r, len);
	*len = sizeof(r->out);
}
static void long_reply(struct fuse_fmap_reply *r, size_t *len)
{
	(void)r;
	*len += sizeof(struct fuse_fmap_strip);
}
static void too_many_strips(struct fuse_fmap_reply *r, size_t *len)
{
	as_interleave(r, len);
	r->interleave.nstrips = FUSE_FMAP_MAX_STRIPS + 1;
}
/* the reply's length agrees with 0 strips: only the count is wrong */
static void no_strips(struct fuse_fmap_reply *r, size_t *len)
{
	as_interleave(r, len);
	r->interleave.nstrips = 0;
	*len = offsetof(struct fuse_fmap_reply, strips);
}
static void small_chunk(struct fuse_fmap_reply *r, size_t *len)
{
	as_interleave(r, len);
	r->interleave.chunk_shift = 11;
}
static void out_names_device(struct fuse_fmap_reply *r, size_t *len)
{
	__u32 dev = r->out.dev_id;

	as_interleave(r, len);
	r->out.dev_id = dev;
}
static void lengths_differ(struct fuse_fmap_reply *r, size_t *len)
{
	as_interleave(r, len);
	r->interleave.length = r->out.length / 2;
}
static void strip_padding(struct fuse_fmap_reply *r, size_t *len)
{
	as_interleave(r, len);
	r->strips[0].padding = 1;
}
static void strip_misaligned(struct fuse_fmap_reply *r, size_t *len)
{
	as_interleave(r, len);
	r->strips[0].dev_offset += 512;
}
static void strip_unknown_dev(struct fuse_fmap_reply *r, size_t *len)
{
	as_interleave(r, len);
	r->strips[0].dev_id = 77;
}
static void strip_beyond_device(struct fuse_fmap_reply *r, size_t *len)
{
	as_interleave(r, len);
	r->strips[0].dev_offset = 1024 * MiB - 1 * MiB;	/* needs 2 MiB */
}

/* Two strips of 1 MiB each: strip 1 starts @shift bytes after strip 0 */
static void strips_at(struct fuse_fmap_reply *r, size_t *len, __u64 shift)
{
	as_interleave(r, len);
	r->interleave.nstrips = 2;
	r->strips[1] = r->strips[0];
	r->strips[1].dev_offset += shift;
	*len = offsetof(struct fuse_fmap_reply, strips[2]);
}
static void strips_same(struct fuse_fmap_reply *r, size_t *len)
{
	strips_at(r, len, 0);
}
/* one 64 KiB chunk of each in common */
static void strips_overlap_tail(struct fuse_fmap_reply *r, size_t *len)
{
	strips_at(r, len, 1 * MiB - 64 * 1024);
}

static const struct rule rules[] = {
	{ "type", .corrupt = bad_type },
	{ "flags", .corrupt = bad_flags },
	{ "flags_new_hole", .corrupt = new_hole },
	{ "hole_names_device", .corrupt = hole_with_device },
	{ "zero_length", .corrupt = zero_length },
	{ "covers_offset", .corrupt = not_covering },
	{ "aligned_dev_offset", .corrupt = misaligned_dev },
	{ "aligned_length", .corrupt = misaligned_len },
	{ "overflow", .corrupt = overflow },
	{ "registered_dev", .corrupt = unknown_dev },
	{ "within_device", .corrupt = beyond_device },
	{ "reply_size_short", .corrupt_reply = short_reply },
	{ "reply_size_long", .corrupt_reply = long_reply },
	{ "interleave_too_many_strips", .corrupt_reply = too_many_strips },
	{ "interleave_no_strips", .corrupt_reply = no_strips },
	{ "interleave_chunk", .corrupt_reply = small_chunk },
	{ "interleave_out_names_device", .corrupt_reply = out_names_device },
	{ "interleave_lengths_differ", .corrupt_reply = lengths_differ },
	{ "interleave_strip_padding", .corrupt_reply = strip_padding },
	{ "interleave_strip_aligned", .corrupt_reply = strip_misaligned },
	{ "interleave_strip_registered", .corrupt_reply = strip_unknown_dev },
	{ "interleave_strip_within_device", .corrupt_reply = strip_beyond_device },
	{ "interleave_strips_same", .corrupt_reply = strips_same },
	{ "interleave_strips_overlap", .corrupt_reply = strips_overlap_tail },
};

static const struct rule *active;

static void corrupt_hook(struct fbs_server *srv, __u64 nodeid,
			 const struct fuse_fmap_in *in,
			 struct fuse_fmap_reply *reply, size_t *len,
			 int *err, void *data)
{
	(void)srv; (void)nodeid; (void)in; (void)data;
	if (!active || *err)
		return;
	if (active->corrupt)
		active->corrupt(&reply->out);
	else
		active->corrupt_reply(reply, len);
}

static void check_rule(struct fixture *fx, const struct rule *r, unsigned int i)
{
	struct fmap_simple_ext ext = {
		.len = 2 * MiB, .dev = 0, .dev_off = (300 + 2 * i) * MiB,
	};
	char name[32], path[128], buf[4096];
	struct fbs_layout l;
	long long rejects;
	ssize_t n;
	int fd;

	snprintf(name, sizeof(name), "rule_%s", r->name);
	layout_simple(&l, 1, &ext);
	if (!ASSERT_OK(fbs_server_add_file(fx->srv, name, 2 * MiB, &l), "add"))
		return;
	fd = open(fixture_path(fx, name, path, sizeof(path)), O_RDONLY);
	if (!ASSERT_OK_FD(fd, "open"))
		return;
	rejects = fixture_stat(fx, "rejects");

	active = r;
	errno = 0;
	n = pread(fd, buf, sizeof(buf), 0);
	ASSERT_EQ(n, -1, "read with a bad mapping fails");
	ASSERT_EQ(errno, EIO, "with EIO");
	ASSERT_EQ(fixture_stat(fx, "rejects"), rejects + 1, "reject counted");

	active = NULL;
	ASSERT_EQ(pread(fd, buf, sizeof(buf), 0), sizeof(buf),
		  "the good mapping works afterwards");
	close(fd);
}

/* A device registered from an O_RDONLY open maps reads, never writes. */
static void check_read_only_device(void)
{
	struct fixture fx = { 0 };
	struct fixture_opts opts = { .dev1_read_only = true };
	struct fmap_simple_ext ext = {
		.len = 2 * MiB, .dev = 1, .dev_off = 300 * MiB,
	};
	char path[128], buf[4096] = { 1 };
	struct fbs_layout l;
	long long rejects;
	int fd;

	if (!ASSERT_OK(fixture_mount(&fx, &opts), "mount"))
		return;
	layout_simple(&l, 1, &ext);
	if (!ASSERT_OK(fbs_server_add_file(fx.srv, "ro", 2 * MiB, &l), "add"))
		goto out;
	fd = open(fixture_path(&fx, "ro", path, sizeof(path)), O_RDWR);
	if (!ASSERT_OK_FD(fd, "open"))
		goto out;
	ASSERT_EQ(pread(fd, buf, sizeof(buf), 0), sizeof(buf), "read works");
	rejects = fixture_stat(&fx, "rejects");
	errno = 0;
	ASSERT_EQ(pwrite(fd, buf, sizeof(buf), 0), -1, "write fails");
	ASSERT_EQ(errno, EIO, "with EIO");
	ASSERT_GT(fixture_stat(&fx, "rejects"), rejects, "reject counted");
	close(fd);
out:
	fixture_unmount(&fx);
}

/* Fault in the first page of @path in a child: its exit code, or 128 + signal */
static int fault_first_page(const char *path)
{
	pid_t pid = fork();

	if (pid == 0) {
		volatile unsigned char *p;
		int fd = open(path, O_RDONLY);

		if (fd < 0)
			_exit(WORKER_SETUP);
		p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			_exit(WORKER_SETUP);
		(void)p[0];
		_exit(0);
	}
	return pid < 0 ? -1 : fixture_wait_exit(pid, 60);
}

static bool drop_inode_cache(void)
{
	FILE *f = fopen("/proc/sys/vm/drop_caches", "w");
	bool ok = f && fputs("2", f) >= 0;

	return f && !fclose(f) && ok;
}

/*
 * A device page is mapped into one file at a time.  A server that gives
 * two files the same device bytes gets, for the second file's fault, a
 * SIGBUS and a reject instead of a kernel warning.  read(2) of the second
 * file still works, and once the first file's inode is gone, so are its
 * claims on the pages: the second file maps them.
 */
static void check_page_owner(void)
{
	struct fmap_simple_ext ext = {
		.len = 2 * MiB, .dev = 0, .dev_off = 500 * MiB,
	};
	char a[128], b[128], buf[4096];
	volatile unsigned char *pa;
	struct fixture fx = { 0 };
	struct fbs_layout l;
	long long rejects;
	int fda, fdb;

	if (!ASSERT_OK(fixture_mount(&fx, NULL), "mount"))
		return;
	layout_simple(&l, 1, &ext);
	if (!ASSERT_OK(fbs_server_add_file(fx.srv, "owner_a", 2 * MiB, &l), "add a") ||
	    !ASSERT_OK(fbs_server_add_file(fx.srv, "owner_b", 2 * MiB, &l), "add b"))
		goto out;
	fixture_path(&fx, "owner_a", a, sizeof(a));
	fixture_path(&fx, "owner_b", b, sizeof(b));

	fda = open(a, O_RDONLY);
	if (!ASSERT_OK_FD(fda, "open a"))
		goto out;
	pa = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fda, 0);
	if (!ASSERT_TRUE(pa != MAP_FAILED, "mmap a")) {
		close(fda);
		goto out;
	}
	(void)pa[0];

	rejects = fixture_stat(&fx, "rejects");
	ASSERT_EQ(fault_first_page(b), 128 + SIGBUS, "b's fault on a's page: SIGBUS");
	ASSERT_GT(fixture_stat(&fx, "rejects"), rejects, "reject counted");
	fdb = open(b, O_RDONLY);
	if (ASSERT_OK_FD(fdb, "open b")) {
		ASSERT_EQ(pread(fdb, buf, sizeof(buf), 0), sizeof(buf), "read(2) of b");
		ASSERT_OK(memcmp(buf, (const void *)pa, sizeof(buf)), "b reads a's bytes");
		close(fdb);
	}

	munmap((void *)pa, 4096);
	close(fda);
	ASSERT_TRUE(drop_inode_cache(), "drop_caches");
	ASSERT_EQ(fault_first_page(b), 0, "with a evicted, b maps the page");
out:
	fixture_unmount(&fx);
}

/*
 * The server answers both halves of a 4 MiB extent with the first half's
 * device bytes (the vehicle refuses such a layout, so a hook says it), as
 * a BPF program that answers one extent for every offset would.
 */
static void alias_hook(struct fbs_server *srv, __u64 nodeid,
		       const struct fuse_fmap_in *in,
		       struct fuse_fmap_reply *reply, size_t *len,
		       int *err, void *data)
{
	__u64 base;

	(void)srv; (void)nodeid; (void)len; (void)data;
	if (*err || reply->out.type != FUSE_FMAP_TYPE_MAPPED)
		return;
	/* where file offset 0 is: the reply may start at the asked offset */
	base = reply->out.dev_offset - reply->out.offset;
	reply->out.offset = in->offset >= 2 * MiB ? 2 * MiB : 0;
	reply->out.length = 2 * MiB;
	reply->out.dev_offset = base;
}

/*
 * One file whose two halves name the same device bytes: a fault at the
 * second offset would map the page the first holds at another index (the
 * DAX core warns and rewrites page->index); it gets SIGBUS instead.
 * read(2) is not affected: both offsets read the same bytes.
 */
static void check_page_owner_same_file(void)
{
	struct fmap_simple_ext ext[1] = {
		{ .len = 4 * MiB, .dev = 0, .dev_off = 520 * MiB },
	};
	char path[128], b0[4096], b1[4096];
	struct fixture fx = { 0 };
	struct fbs_layout l;
	long long rejects;
	pid_t pid;
	int fd;

	if (!ASSERT_OK(fixture_mount(&fx, NULL), "mount"))
		return;
	layout_simple(&l, 1, ext);
	if (!ASSERT_OK(fbs_server_add_file(fx.srv, "alias", 4 * MiB, &l), "add"))
		goto out;
	fbs_server_set_fmap_hook(fx.srv, alias_hook, NULL);
	fixture_path(&fx, "alias", path, sizeof(path));

	rejects = fixture_stat(&fx, "rejects");
	pid = fork();
	if (pid == 0) {
		volatile unsigned char *p;

		fd = open(path, O_RDONLY);
		if (fd < 0)
			_exit(WORKER_SETUP);
		p = mmap(NULL, 4 * MiB, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			_exit(WORKER_SETUP);
		(void)p[0];
		(void)p[2 * MiB];
		_exit(0);
	}
	ASSERT_EQ(fixture_wait_exit(pid, 60), 128 + SIGBUS,
		  "fault of the second offset: SIGBUS");
	ASSERT_GT(fixture_stat(&fx, "rejects"), rejects, "reject counted");

	fd = open(path, O_RDONLY);
	if (ASSERT_OK_FD(fd, "open")) {
		ASSERT_EQ(pread(fd, b0, sizeof(b0), 0), sizeof(b0), "read 0");
		ASSERT_EQ(pread(fd, b1, sizeof(b1), 2 * MiB), sizeof(b1), "read 2M");
		ASSERT_OK(memcmp(b0, b1, sizeof(b0)), "read(2): the same bytes");
		close(fd);
	}
out:
	fixture_unmount(&fx);
}

/*
 * A plain disk registers (block-device files use it, fmap_blk), and can be
 * closed again; the files of this DAX connection cannot use it (the rule
 * "device is not DAX-capable" above).
 */
static void check_device_without_dax(void)
{
	struct fuse_backing_map map = { .flags = FUSE_BACKING_FMAP };
	struct fixture fx = { 0 };
	int id;

	if (!ASSERT_OK(fixture_mount(&fx, NULL), "mount"))
		return;
	map.fd = open("/dev/vda", O_RDWR);
	if (ASSERT_OK_FD(map.fd, "open /dev/vda")) {
		id = ioctl(fbs_server_fuse_fd(fx.srv), FUSE_DEV_IOC_BACKING_OPEN, &map);
		if (ASSERT_GT(id, 0, "BACKING_OPEN of a disk without DAX"))
			ASSERT_OK(ioctl(fbs_server_fuse_fd(fx.srv), FUSE_DEV_IOC_BACKING_CLOSE,
					&id), "BACKING_CLOSE");
		close(map.fd);
	}
	fixture_unmount(&fx);
}

void test_fmap_validate(void)
{
	struct fixture fx = { 0 };
	unsigned int i;

	if (!ASSERT_OK(fixture_mount(&fx, NULL), "mount"))
		return;
	fbs_server_set_fmap_hook(fx.srv, corrupt_hook, NULL);
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (test__start_subtest(rules[i].name))
			check_rule(&fx, &rules[i], i);
	fixture_unmount(&fx);

	if (test__start_subtest("device_open_mode"))
		check_read_only_device();
	if (test__start_subtest("page_owner"))
		check_page_owner();
	if (test__start_subtest("page_owner_same_file"))
		check_page_owner_same_file();
	if (test__start_subtest("device_without_dax"))
		check_device_without_dax();
}
