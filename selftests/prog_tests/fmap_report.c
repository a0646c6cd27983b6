// SPDX-License-Identifier: GPL-2.0
/*
 * Where a mapped file's bytes are, as the kernel reports it without
 * asking the server to allocate: FIEMAP gives each extent with the device
 * id in the top 16 bits of fe_physical and the device offset below, one
 * chunk at a time for an interleaved extent, holes left out, the last one
 * flagged; SEEK_DATA and SEEK_HOLE walk the same layout.  On DAX and on
 * block-device files, upcall and BPF resolvers.
 *
 * Cost: about 3 s on the test kernel.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

#define DEV_SHIFT 48

struct want {
	__u64 logical, len, dev_off;
	unsigned int dev;
};

static void check_fiemap(struct fixture *fx, int fd, const struct want *w, unsigned int n)
{
	struct fiemap *fm = calloc(1, sizeof(*fm) + 32 * sizeof(struct fiemap_extent));
	unsigned int i;

	if (!ASSERT_TRUE(fm != NULL, "calloc"))
		return;
	fm->fm_length = FIEMAP_MAX_OFFSET;
	fm->fm_extent_count = 32;
	if (!ASSERT_OK(ioctl(fd, FS_IOC_FIEMAP, fm), "FS_IOC_FIEMAP"))
		goto out;
	ASSERT_EQ(fm->fm_mapped_extents, n, "extents");
	for (i = 0; i < n && i < fm->fm_mapped_extents; i++) {
		const struct fiemap_extent *e = &fm->fm_extents[i];
		__u64 phys = (__u64)fbs_server_dev_id(fx->srv, w[i].dev) << DEV_SHIFT |
			     w[i].dev_off;

		ASSERT_EQ(e->fe_logical, w[i].logical, "fe_logical");
		ASSERT_EQ(e->fe_length, w[i].len, "fe_length");
		ASSERT_EQ(e->fe_physical, phys, "fe_physical: device id and offset");
		ASSERT_EQ(e->fe_flags, i == n - 1 ? FIEMAP_EXTENT_LAST : 0, "fe_flags");
	}
	/* room for one: the first extent only, no error */
	memset(fm, 0, sizeof(*fm) + sizeof(struct fiemap_extent));
	fm->fm_length = FIEMAP_MAX_OFFSET;
	fm->fm_extent_count = 1;
	if (ASSERT_OK(ioctl(fd, FS_IOC_FIEMAP, fm), "FIEMAP with room for one"))
		ASSERT_EQ(fm->fm_mapped_extents, 1, "one extent");
out:
	free(fm);
}

static void check_file(struct fixture *fx)
{
	/* data, a 2 MiB hole, data on the other device, a hole to EOF */
	const struct fmap_simple_ext ext[] = {
		{ .file_off = 0, .len = 2 * MiB, .dev = 0, .dev_off = 64 * MiB },
		{ .file_off = 4 * MiB, .len = 2 * MiB, .dev = 1, .dev_off = 32 * MiB },
	};
	const struct want w[] = {
		{ 0, 2 * MiB, 64 * MiB, 0 },
		{ 4 * MiB, 2 * MiB, 32 * MiB, 1 },
	};
	const struct fmap_strip strips[] = {
		{ .dev = 0, .dev_off = 96 * MiB },
		{ .dev = 1, .dev_off = 96 * MiB },
	};
	/* 64 KiB chunks: each its own extent, on alternate devices */
	const struct want wi[] = {
		{ 0, 64 << 10, 96 * MiB, 0 },
		{ 64 << 10, 64 << 10, 96 * MiB, 1 },
		{ 128 << 10, 64 << 10, 96 * MiB + (64 << 10), 0 },
		{ 192 << 10, 64 << 10, 96 * MiB + (64 << 10), 1 },
	};
	unsigned long reqs;
	struct fbs_layout l;
	char path[128];
	int fd;

	layout_simple(&l, 2, ext);
	if (!ASSERT_OK(fbs_server_add_file(fx->srv, "r", 8 * MiB, &l), "add"))
		return;
	fd = open(fixture_path(fx, "r", path, sizeof(path)), O_RDONLY);
	if (!ASSERT_OK_FD(fd, "open"))
		return;
	check_fiemap(fx, fd, w, 2);
	ASSERT_EQ(lseek(fd, 0, SEEK_DATA), 0, "SEEK_DATA 0");
	ASSERT_EQ(lseek(fd, 0, SEEK_HOLE), 2 * MiB, "SEEK_HOLE 0");
	ASSERT_EQ(lseek(fd, 2 * MiB + 5, SEEK_DATA), 4 * MiB, "SEEK_DATA in the hole");
	ASSERT_EQ(lseek(fd, 3 * MiB, SEEK_HOLE), 3 * MiB, "SEEK_HOLE in the hole");
	ASSERT_EQ(lseek(fd, 4 * MiB + 7, SEEK_HOLE), 6 * MiB, "SEEK_HOLE 4M");
	errno = 0;
	ASSERT_EQ(lseek(fd, 6 * MiB, SEEK_DATA), -1, "SEEK_DATA past the last data");
	ASSERT_EQ(errno, ENXIO, "ENXIO");
	errno = 0;
	ASSERT_EQ(lseek(fd, 8 * MiB, SEEK_HOLE), -1, "SEEK_HOLE at EOF");
	ASSERT_EQ(errno, ENXIO, "ENXIO");
	close(fd);
	/* nothing was allocated: the layout is the same two extents */
	ASSERT_EQ(fixture_file_extents(fx, "r", (struct fmap_simple_ext[4]){ 0 }, 4), 2,
		  "no allocation");

	layout_ileave(&l, 256 << 10, 2, 16, strips);
	if (!ASSERT_OK(fbs_server_add_file(fx->srv, "i", 256 << 10, &l), "add interleaved"))
		return;
	fd = open(fixture_path(fx, "i", path, sizeof(path)), O_RDONLY);
	if (!ASSERT_OK_FD(fd, "open"))
		return;
	reqs = fbs_server_fmap_requests(fx->srv);
	check_fiemap(fx, fd, wi, 4);
	ASSERT_EQ(lseek(fd, 100, SEEK_HOLE), 256 << 10, "SEEK_HOLE: EOF");
	if (fixture_stat(fx, "bpf_attached") == 1)
		ASSERT_EQ(fbs_server_fmap_requests(fx->srv), reqs, "BPF answered, no upcall");
	close(fd);
}

void test_fmap_report(void)
{
	static const struct {
		const char *name;
		bool block;
		enum fbs_resolver r;
	} cases[] = {
		{ "dax_upcall", false, FBS_RESOLVER_UPCALL },
		{ "dax_bpf", false, FBS_RESOLVER_BPF },
		{ "block_upcall", true, FBS_RESOLVER_UPCALL },
		{ "block_bpf", true, FBS_RESOLVER_BPF },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture_opts o = { .block = cases[i].block, .resolver = cases[i].r };
		struct fixture fx = { 0 };

		if (!test__start_subtest(cases[i].name))
			continue;
		if (cases[i].block && access(FX_BLK1, F_OK)) {
			test__skip();
			continue;
		}
		if (!ASSERT_OK(fixture_mount(&fx, &o), "mount"))
			continue;
		check_file(&fx);
		fixture_unmount(&fx);
	}
}
