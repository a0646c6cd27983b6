// SPDX-License-Identifier: GPL-2.0
/*
 * Interleaved extents are answered and cached whole
 * (FUSE_FMAP_TYPE_INTERLEAVED), by every resolver: a file of 4 strips (and
 * one of 3, not a power of two) of 64 KiB chunks over the devices, written
 * through the file system, has
 * each chunk at the device offset its geometry names (computed here, not
 * by the code under test), reads back intact, and a pass over its 256
 * chunks misses the cache once.  A server that answers one chunk at a time
 * misses on every chunk of the same pass: the counters tell the paths apart.
 * They also show which resolver answered the pass: the one the subtest
 * names (upcall: upcalls and nothing else; builtin, bpf: that resolver and
 * not one upcall), and no answer rejected.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

#define SIZE		(16 * MiB)
#define CHUNK_SHIFT	16
#define CHUNK		(1ULL << CHUNK_SHIFT)
#define NCHUNKS		(SIZE / CHUNK)

/* the first @nstrips of these: 4, or 3 (256 chunks are 85 rows and one) */
static const struct fmap_strip strips[4] = {
	{ .dev = 0, .dev_off = 300 * MiB }, { .dev = 1, .dev_off = 300 * MiB },
	{ .dev = 0, .dev_off = 320 * MiB }, { .dev = 1, .dev_off = 320 * MiB },
};

/* Chunk c is on strip c mod nstrips, in row c / nstrips of that strip */
static bool chunks_where_geometry_says(const unsigned char *data, unsigned int nstrips)
{
	unsigned char *buf = malloc(CHUNK);
	unsigned int c, bad = 0;

	if (!ASSERT_TRUE(buf, "malloc"))
		return false;
	for (c = 0; c < NCHUNKS; c++) {
		const struct fmap_strip *s = &strips[c % nstrips];
		__u64 dev_off = s->dev_off + (c / nstrips) * CHUNK;

		if (dev_pread(s->dev ? FX_DEV1 : FX_DEV0, buf, CHUNK, dev_off) ||
		    memcmp(buf, data + c * CHUNK, CHUNK)) {
			if (!bad)
				printf("# chunk %u not at dev %u offset %llu\n", c,
				       s->dev, (unsigned long long)dev_off);
			bad++;
		}
	}
	free(buf);
	return ASSERT_EQ(bad, 0, "every chunk where the geometry says");
}

static void run(enum fbs_resolver resolver, bool ileave_chunks, unsigned int nstrips)
{
	const struct fixture_opts opts = {
		.resolver = resolver, .ileave_chunks = ileave_chunks,
	};
	unsigned char *data = malloc(SIZE), *back = malloc(SIZE);
	long long misses, hits, expect_misses, up, builtin, bpf;
	struct fixture fx = { 0 };
	struct fbs_layout l;
	char path[128];
	int fd = -1;

	if (!ASSERT_TRUE(data && back, "malloc"))
		goto out_free;
	if (!ASSERT_OK(fixture_mount(&fx, &opts), "mount"))
		goto out_free;
	layout_ileave(&l, SIZE, nstrips, CHUNK_SHIFT, strips);
	if (!ASSERT_OK(fbs_server_add_file(fx.srv, "i", SIZE, &l), "add file"))
		goto out;
	fd = open(fixture_path(&fx, "i", path, sizeof(path)), O_RDWR);
	if (!ASSERT_OK_FD(fd, "open"))
		goto out;

	fill_pattern(data, SIZE, 77);
	if (!ASSERT_EQ(pwrite(fd, data, SIZE, 0), SIZE, "write the file"))
		goto out;
	chunks_where_geometry_says(data, nstrips);

	/* the same layout again: the kernel forgets what it cached */
	if (!ASSERT_OK(fbs_server_set_layout(fx.srv, "i", &l), "invalidate"))
		goto out;
	misses = fixture_stat(&fx, "cache_misses");
	hits = fixture_stat(&fx, "cache_hits");
	up = fixture_stat(&fx, "upcalls");
	builtin = fixture_stat(&fx, "builtin_resolves");
	bpf = fixture_stat(&fx, "bpf_resolves");
	ASSERT_EQ(pread(fd, back, SIZE, 0), SIZE, "read it back");
	ASSERT_MEMEQ(back, data, SIZE, "the bytes written");

	/* one mapping per chunk: one miss for the extent, or one per chunk */
	expect_misses = ileave_chunks ? NCHUNKS : 1;
	ASSERT_EQ(fixture_stat(&fx, "cache_misses") - misses, expect_misses,
		  "cache misses of one pass");
	ASSERT_EQ(fixture_stat(&fx, "cache_hits") - hits,
		  NCHUNKS - expect_misses, "cache hits of one pass");

	/* who answered the misses of that pass */
	up = fixture_stat(&fx, "upcalls") - up;
	builtin = fixture_stat(&fx, "builtin_resolves") - builtin;
	bpf = fixture_stat(&fx, "bpf_resolves") - bpf;
	printf("# one pass: upcalls %lld, builtin_resolves %lld, bpf_resolves %lld\n",
	       up, builtin, bpf);
	ASSERT_EQ(fixture_stat(&fx, "bpf_attached"), resolver == FBS_RESOLVER_BPF,
		  "bpf_attached");
	ASSERT_EQ(up, resolver == FBS_RESOLVER_UPCALL ? expect_misses : 0,
		  "upcalls of one pass");
	ASSERT_EQ(builtin, resolver == FBS_RESOLVER_BUILTIN ? expect_misses : 0,
		  "built-in resolutions of one pass");
	ASSERT_EQ(bpf, resolver == FBS_RESOLVER_BPF ? expect_misses : 0,
		  "BPF resolutions of one pass");
	ASSERT_EQ(fixture_stat(&fx, "rejects"), 0, "no rejected answers");
out:
	if (fd >= 0)
		close(fd);
	fixture_unmount(&fx);
out_free:
	free(data);
	free(back);
}

void test_fmap_ileave(void)
{
	if (test__start_subtest("upcall"))
		run(FBS_RESOLVER_UPCALL, false, 4);
	if (test__start_subtest("builtin"))
		run(FBS_RESOLVER_BUILTIN, false, 4);
	if (test__start_subtest("bpf"))
		run(FBS_RESOLVER_BPF, false, 4);
	if (test__start_subtest("upcall_chunk_at_a_time"))
		run(FBS_RESOLVER_UPCALL, true, 4);
	/* three strips: the kernel and the resolvers divide, not shift */
	if (test__start_subtest("upcall_3"))
		run(FBS_RESOLVER_UPCALL, false, 3);
	if (test__start_subtest("builtin_3"))
		run(FBS_RESOLVER_BUILTIN, false, 3);
	if (test__start_subtest("bpf_3"))
		run(FBS_RESOLVER_BPF, false, 3);
	if (test__start_subtest("upcall_chunk_at_a_time_3"))
		run(FBS_RESOLVER_UPCALL, true, 3);
}
