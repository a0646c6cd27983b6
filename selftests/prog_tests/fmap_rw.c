// SPDX-License-Identifier: GPL-2.0
/*
 * Data path of mapped files over two pmem devices: bytes written with
 * write(2) or through a shared mapping read back identical with read(2),
 * through a mapping, and straight from the devices where the layout puts
 * them; for simple and interleaved layouts.  The counters show the kernel
 * asked the server (upcalls: the fixture's default resolver, and no other
 * resolver answered) and then used its cache.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

static void check_file(struct fixture *fx, const char *name,
		       const struct fbs_layout *l, size_t size, unsigned int seed)
{
	unsigned char *data = NULL, *back = NULL, *map = MAP_FAILED;
	char path[128];
	struct statx stx;
	int fd = -1;

	data = malloc(size);
	back = malloc(size);
	if (!ASSERT_TRUE(data && back, "malloc"))
		goto out;
	fill_pattern(data, size, seed);
	fixture_path(fx, name, path, sizeof(path));
	fd = open(path, O_RDWR);
	if (!ASSERT_OK_FD(fd, "open"))
		goto out;
	if (ASSERT_OK(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx), "statx"))
		ASSERT_TRUE(stx.stx_attributes & STATX_ATTR_DAX, "file is DAX");

	ASSERT_EQ(pwrite(fd, data, size, 0), size, "write(2)");
	ASSERT_EQ(pread(fd, back, size, 0), size, "read(2)");
	ASSERT_MEMEQ(back, data, size, "read(2) == write(2)");
	ASSERT_TRUE(layout_bytes_match(l, data, size), "bytes on the devices");

	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!ASSERT_TRUE(map != MAP_FAILED, "mmap"))
		goto out;
	ASSERT_MEMEQ(map, data, size, "mmap read == write(2)");

	/* now the other way: write through the mapping */
	fill_pattern(data, size, seed + 1);
	memcpy(map, data, size);
	ASSERT_OK(msync(map, size, MS_SYNC), "msync");
	ASSERT_EQ(pread(fd, back, size, 0), size, "read(2) after mmap write");
	ASSERT_MEMEQ(back, data, size, "read(2) == mmap write");
	ASSERT_TRUE(layout_bytes_match(l, data, size), "mmap bytes on the devices");
out:
	if (map != MAP_FAILED)
		munmap(map, size);
	if (fd >= 0)
		close(fd);
	free(data);
	free(back);
}

void test_fmap_rw(void)
{
	struct fixture fx = { 0 };
	struct fbs_layout l;
	long long upcalls, hits;

	if (!ASSERT_OK(fixture_mount(&fx, NULL), "mount"))
		return;

	if (test__start_subtest("simple")) {
		/* 8 MiB in two extents, one per device */
		const struct fmap_simple_ext ext[] = {
			{ .file_off = 0, .len = 4 * MiB, .dev = 0, .dev_off = 64 * MiB },
			{ .file_off = 4 * MiB, .len = 4 * MiB, .dev = 1, .dev_off = 32 * MiB },
		};

		layout_simple(&l, 2, ext);
		if (ASSERT_OK(fbs_server_add_file(fx.srv, "simple", 8 * MiB, &l),
			      "add file"))
			check_file(&fx, "simple", &l, 8 * MiB, 1);
	}

	if (test__start_subtest("interleaved")) {
		/* 16 MiB over 2 strips of 2 MiB chunks */
		const struct fmap_strip strips[] = {
			{ .dev = 0, .dev_off = 128 * MiB },
			{ .dev = 1, .dev_off = 128 * MiB },
		};

		layout_ileave(&l, 16 * MiB, 2, 21, strips);
		if (ASSERT_OK(fbs_server_add_file(fx.srv, "interleaved", 16 * MiB, &l),
			      "add file"))
			check_file(&fx, "interleaved", &l, 16 * MiB, 3);
	}

	if (test__start_subtest("counters")) {
		/* a file of its own: run alone, nothing else moved them */
		const struct fmap_simple_ext ext[] = {
			{ .file_off = 0, .len = 4 * MiB, .dev = 0, .dev_off = 160 * MiB },
		};

		layout_simple(&l, 1, ext);
		if (ASSERT_OK(fbs_server_add_file(fx.srv, "counted", 4 * MiB, &l),
			      "add file"))
			check_file(&fx, "counted", &l, 4 * MiB, 5);
		upcalls = fixture_stat(&fx, "upcalls");
		hits = fixture_stat(&fx, "cache_hits");
		/* every mapping came from the server once, then from the cache */
		ASSERT_GT(upcalls, 0, "upcalls");
		ASSERT_EQ(upcalls, fbs_server_fmap_requests(fx.srv),
			  "kernel and server count the same FUSE_FMAP requests");
		ASSERT_GT(hits, upcalls, "cache hits outnumber upcalls");
		ASSERT_EQ(fixture_stat(&fx, "bpf_attached"), 0, "no BPF resolver attached");
		ASSERT_EQ(fixture_stat(&fx, "bpf_resolves"), 0, "no BPF resolutions");
		ASSERT_EQ(fixture_stat(&fx, "builtin_resolves"), 0, "no built-in resolutions");
		ASSERT_EQ(fixture_stat(&fx, "rejects"), 0, "no rejects");
	}
	fixture_unmount(&fx);
}
