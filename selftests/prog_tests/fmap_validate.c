// SPDX-License-Identifier: GPL-2.0
/*
 * One subtest per rule of the kernel's mapping validator: the server
 * answers FUSE_FMAP with a mapping that breaks the rule, the access fails
 * with EIO, the reject counter moves, and once the server answers
 * correctly the same access works (nothing bad was cached).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

struct rule {
	const char *name;
	void (*corrupt)(struct fuse_fmap_out *out);
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

static const struct rule rules[] = {
	{ "type", bad_type },
	{ "flags", bad_flags },
	{ "flags_new_hole", new_hole },
	{ "hole_names_device", hole_with_device },
	{ "zero_length", zero_length },
	{ "covers_offset", not_covering },
	{ "aligned_dev_offset", misaligned_dev },
	{ "aligned_length", misaligned_len },
	{ "overflow", overflow },
	{ "registered_dev", unknown_dev },
	{ "within_device", beyond_device },
};

static const struct rule *active;

static void corrupt_hook(struct fbs_server *srv, __u64 nodeid,
			 const struct fuse_fmap_in *in, struct fuse_fmap_out *out,
			 int *err, void *data)
{
	(void)srv; (void)nodeid; (void)in; (void)data;
	if (active && !*err)
		active->corrupt(out);
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
}
