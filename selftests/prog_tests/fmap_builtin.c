// SPDX-License-Identifier: GPL-2.0
/*
 * The built-in C resolver (FUSE_FMAP_BUILTIN) gives the same bytes as the
 * upcall path: write through an upcall mount, read through a built-in one
 * with the same layouts.  The built-in mount asks the server once per
 * file, for the whole layout; its reads are the built-in resolver's, and
 * no BPF resolver is attached or resolves.  The upcall mount's are not.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

#define SIZE (16 * MiB)

static void make_layouts(struct fbs_layout *simple, struct fbs_layout *ileave)
{
	const struct fmap_simple_ext ext[] = {
		{ .file_off = 0, .len = 6 * MiB, .dev = 1, .dev_off = 400 * MiB },
		{ .file_off = 6 * MiB, .len = 10 * MiB, .dev = 0, .dev_off = 420 * MiB },
	};
	const struct fmap_strip strips[] = {
		{ .dev = 0, .dev_off = 440 * MiB }, { .dev = 1, .dev_off = 440 * MiB },
		{ .dev = 0, .dev_off = 460 * MiB }, { .dev = 1, .dev_off = 460 * MiB },
	};

	layout_simple(simple, 2, ext);
	layout_ileave(ileave, SIZE, 4, 20, strips);
}

static bool file_io(struct fixture *fx, const char *name, void *buf, bool write)
{
	char path[128];
	ssize_t n;
	int fd;

	fd = open(fixture_path(fx, name, path, sizeof(path)), O_RDWR);
	if (fd < 0)
		return false;
	n = write ? pwrite(fd, buf, SIZE, 0) : pread(fd, buf, SIZE, 0);
	close(fd);
	return n == SIZE;
}

void test_fmap_builtin(void)
{
	struct fixture_opts builtin = { .resolver = FBS_RESOLVER_BUILTIN };
	struct fixture fx = { 0 };
	struct fbs_layout simple, ileave;
	unsigned char *a = malloc(SIZE), *b = malloc(SIZE);
	unsigned char *a2 = malloc(SIZE), *b2 = malloc(SIZE);

	if (!ASSERT_TRUE(a && b && a2 && b2, "malloc"))
		goto out;
	make_layouts(&simple, &ileave);
	fill_pattern(a, SIZE, 11);
	fill_pattern(b, SIZE, 12);

	if (!ASSERT_OK(fixture_mount(&fx, NULL), "upcall mount"))
		goto out;
	ASSERT_OK(fbs_server_add_file(fx.srv, "s", SIZE, &simple), "add s");
	ASSERT_OK(fbs_server_add_file(fx.srv, "i", SIZE, &ileave), "add i");
	ASSERT_TRUE(file_io(&fx, "s", a, true), "write s (upcall)");
	ASSERT_TRUE(file_io(&fx, "i", b, true), "write i (upcall)");
	ASSERT_EQ(fixture_stat(&fx, "builtin_resolves"), 0, "upcall mount: no builtin");
	ASSERT_GT(fixture_stat(&fx, "upcalls"), 0, "upcall mount: upcalls");
	fixture_unmount(&fx);

	if (!ASSERT_OK(fixture_mount(&fx, &builtin), "builtin mount"))
		goto out;
	ASSERT_OK(fbs_server_add_file(fx.srv, "s", SIZE, &simple), "add s");
	ASSERT_OK(fbs_server_add_file(fx.srv, "i", SIZE, &ileave), "add i");
	ASSERT_TRUE(file_io(&fx, "s", a2, false), "read s (builtin)");
	ASSERT_TRUE(file_io(&fx, "i", b2, false), "read i (builtin)");
	ASSERT_MEMEQ(a2, a, SIZE, "simple: builtin bytes == upcall bytes");
	ASSERT_MEMEQ(b2, b, SIZE, "interleaved: builtin bytes == upcall bytes");
	ASSERT_GT(fixture_stat(&fx, "builtin_resolves"), 0, "builtin resolves");
	ASSERT_EQ(fixture_stat(&fx, "bpf_attached"), 0, "no BPF resolver attached");
	ASSERT_EQ(fixture_stat(&fx, "bpf_resolves"), 0, "no BPF resolutions");
	ASSERT_EQ(fbs_server_fmap_requests(fx.srv), 2, "one layout request per file");
	fixture_unmount(&fx);
out:
	free(a);
	free(b);
	free(a2);
	free(b2);
}
