// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF resolver's maps as the loader keeps them (bpf/loader.c):
 *  - bpftool: a known file's slot is its node id's low bits (slots has a
 *    power of two entries): `bpftool map lookup` on slots shows its
 *    descriptor's index, on descs the descriptor, with BTF names; its
 *    extents are in simple_exts (the program's global array: an mmap);
 *  - oversized: layouts that do not fit are refused with a clear error and
 *    leave nothing behind, never a truncated file;
 *  - replace: set_layout moves a file; reads through BPF show the new blocks;
 *  - alloc: a write the server allocates for reaches the map;
 *  - mixed: a descriptor with both kinds of extents (what fsd_bpf.c writes
 *    for a striped file that grew simple extents) is answered by BPF from
 *    both slices; bpftool shows both; an overlap of the two is refused;
 *  - stale_slot: a file's slot taken by another node id with the same low
 *    bits (what a recycled slot looks like to a stale reader): the
 *    program refuses the other file's descriptor (other_file), the file's
 *    reads come by upcall with its own bytes, never the other's, and the
 *    loader refuses to give the file the taken slot (EBUSY);
 *  - load_100k: a second loader (not attached) takes 100,000 files of one
 *    extent each, node ids in order as the daemon's mount gives them, in
 *    under 2 s: no bpf() call per file (the maps are mmap'ed); the test
 *    kernel only;
 *  - pins: a stale pin directory is cleaned, a second resolver on the
 *    connection is refused, and unmounting unpins.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "fixture.h"
#include "loader.h"
#include "test_progs.h"

#define KiB (1ULL << 10)

/*
 * "bpftool map @verb pinned @map [key B0 B1 B2 B3]" with fixture_run(): 0
 * and its stdout in fixture_out, whole (not cut at the buffer's end).
 */
static bool bpftool_map(const char *bpftool, const char *verb, const char *map,
			const __u32 *key, unsigned int flags)
{
	char b[4][4];
	int i, ret;

	if (key) {
		for (i = 0; i < 4; i++)
			snprintf(b[i], sizeof(b[i]), "%u", (*key >> (8 * i)) & 0xff);
		ret = fixture_cmd(flags, (char *)bpftool, "map", (char *)verb, "pinned",
				  (char *)map, "key", b[0], b[1], b[2], b[3]);
	} else {
		ret = fixture_cmd(flags, (char *)bpftool, "map", (char *)verb, "pinned",
				  (char *)map);
	}
	return ASSERT_EQ(ret, 0, verb) &&
	       ASSERT_LT(strlen(fixture_out), sizeof(fixture_out) - 1, "whole output");
}

/* stderr into a temporary file while a call runs: the loader's messages */
struct capture {
	FILE *tmp;
	int saved;
};

static bool capture_start(struct capture *c)
{
	fflush(stderr);
	c->tmp = tmpfile();
	c->saved = dup(2);
	if (!c->tmp || c->saved < 0)
		return false;
	dup2(fileno(c->tmp), 2);
	return true;
}

/* The captured text (malloc'ed), stderr restored. */
static char *capture_end(struct capture *c)
{
	char *text = calloc(1, 8192);

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	if (text) {
		rewind(c->tmp);
		if (fread(text, 1, 8191, c->tmp) == 0)
			text[0] = 0;
	}
	fclose(c->tmp);
	for (char *line = text, *nl; line && *line; line = nl + 1) {
		nl = strchrnul(line, '\n');
		printf("# captured: %.*s\n", (int)(nl - line), line);
		if (!*nl)
			break;
	}
	return text;
}

static __u64 nodeid_of(struct fixture *fx, const char *name)
{
	char path[128];
	struct stat st;

	if (stat(fixture_path(fx, name, path, sizeof(path)), &st))
		return 0;
	return st.st_ino;	/* the server's inode numbers are nodeids */
}

static int pinned_fd(struct fixture *fx, const char *map)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s",
		 famfs_loader_pin_dir(fbs_server_loader(fx->srv)), map);
	return bpf_obj_get(path);
}

/* Entries of the slots map (a power of two); 0 if unreadable */
static __u32 slots_of(struct fixture *fx)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int fd = pinned_fd(fx, "slots");

	if (fd < 0)
		return 0;
	if (bpf_map_get_info_by_fd(fd, &info, &len))
		info.max_entries = 0;
	close(fd);
	return info.max_entries;
}

static bool lookup_file(struct fixture *fx, __u64 nodeid, struct famfs_file *f)
{
	return !famfs_loader_get_file(fbs_server_loader(fx->srv), nodeid, f, NULL);
}

/* The number after "\"value\": " in fixture_out; -1 if none */
static long long out_value(void)
{
	const char *p = strstr(fixture_out, "\"value\": ");

	return p ? strtoll(p + strlen("\"value\": "), NULL, 10) : -1;
}

/*
 * Extent @idx of simple_exts: a global array of the program, the one value
 * of its section's map; read through an mmap of the pinned map.
 */
static bool lookup_simple(struct fixture *fx, __u32 idx,
			  struct fmap_simple_ext *e)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int fd = pinned_fd(fx, "simple_exts");
	const struct fmap_simple_ext *a;
	bool ok = false;

	if (fd < 0)
		return false;
	if (!bpf_map_get_info_by_fd(fd, &info, &len) && info.max_entries == 1 &&
	    (idx + 1ULL) * sizeof(*e) <= info.value_size) {
		a = mmap(NULL, info.value_size, PROT_READ, MAP_SHARED, fd, 0);
		if (a != MAP_FAILED) {
			*e = a[idx];
			munmap((void *)a, info.value_size);
			ok = true;
		}
	}
	close(fd);
	return ok;
}

static void subtest_bpftool(struct fixture *fx)
{
	const struct fmap_simple_ext ext[] = {
		{ .file_off = 0, .len = 2 * MiB, .dev = 1, .dev_off = 300 * MiB },
		{ .file_off = 2 * MiB, .len = 6 * MiB, .dev = 0, .dev_off = 310 * MiB },
		{ .file_off = 12 * MiB, .len = 4 * MiB, .dev = 1, .dev_off = 330 * MiB },
	};
	const char *dir = famfs_loader_pin_dir(fbs_server_loader(fx->srv));
	char bpftool[PATH_MAX], map[PATH_MAX], want[128];
	struct famfs_file desc;
	struct fbs_layout l;
	const char *out = fixture_out;
	__u64 nodeid;
	__u32 i, slot, index;

	if (!fixture_find_binary("tools/bpftool/bpftool", bpftool, sizeof(bpftool)))
		return;
	layout_simple(&l, 3, ext);
	if (!ASSERT_OK(fbs_server_add_file(fx->srv, "known", 16 * MiB, &l), "add"))
		return;
	nodeid = nodeid_of(fx, "known");
	if (!ASSERT_GT(nodeid, 0, "nodeid") ||
	    !ASSERT_OK(famfs_loader_get_file(fbs_server_loader(fx->srv), nodeid, &desc, &index),
		       "descriptor"))
		return;
	/* the slot is the node id's low bits: slots has a power of two entries */
	snprintf(map, sizeof(map), "%s/slots", dir);
	if (!bpftool_map(bpftool, "show", map, NULL, 0))
		return;
	i = slots_of(fx);
	if (!ASSERT_GT(i, 0, "slots") || !ASSERT_EQ(i & (i - 1), 0, "a power of two"))
		return;
	snprintf(want, sizeof(want), "max_entries %u ", i);
	ASSERT_TRUE(strstr(out, want), "bpftool shows its size");
	slot = nodeid & (i - 1);
	/* the slot names the descriptor's index */
	if (!bpftool_map(bpftool, "lookup", map, &slot, FX_LOG_OUT) ||
	    !ASSERT_EQ(out_value(), index, "slots: the descriptor's index"))
		return;
	/* field names and values */
	snprintf(map, sizeof(map), "%s/descs", dir);
	if (!bpftool_map(bpftool, "lookup", map, &index, FX_LOG_OUT))
		return;
	snprintf(want, sizeof(want), "\"nodeid\": %llu,", (unsigned long long)nodeid);
	ASSERT_TRUE(strstr(out, want), "the descriptor names the file");
	ASSERT_TRUE(strstr(out, "\"size\": 16777216,"), "shows its size");
	ASSERT_TRUE(strstr(out, "\"nsimple\": 3,"), "shows 3 simple extents");
	ASSERT_TRUE(strstr(out, "\"nileave\": 0,"), "shows no interleaved ones");
	snprintf(want, sizeof(want), "\"simple_first\": %u,", desc.simple_first);
	ASSERT_TRUE(strstr(out, want), "shows where they are");

	/*
	 * simple_exts is the program's global array, one value of its
	 * section's map (a dump is all of it): bpftool names it, the extents
	 * are read through an mmap of the pin, device index made kernel id.
	 */
	snprintf(map, sizeof(map), "%s/simple_exts", dir);
	if (!bpftool_map(bpftool, "show", map, NULL, FX_LOG_OUT))
		return;
	ASSERT_TRUE(strstr(out, ".bss.simple"), "bpftool: the section's map");
	for (i = 0; i < 3; i++) {
		struct fmap_simple_ext e;

		if (!ASSERT_TRUE(lookup_simple(fx, desc.simple_first + i, &e), "extent"))
			return;
		ASSERT_EQ(e.file_off, ext[i].file_off, "extent: file_off");
		ASSERT_EQ(e.len, ext[i].len, "extent: len");
		ASSERT_EQ(e.dev_off, ext[i].dev_off, "extent: dev_off");
		ASSERT_EQ(e.dev, fbs_server_dev_id(fx->srv, ext[i].dev),
			  "extent: kernel device id");
	}
}

/* @n one-page extents from @dev_base on device 0 */
static struct fmap_simple_ext *pages(__u32 n, __u64 dev_base)
{
	struct fmap_simple_ext *e = calloc(n, sizeof(*e));
	__u32 i;

	for (i = 0; e && i < n; i++) {
		e[i].file_off = i * 8 * KiB;	/* a hole after each */
		e[i].len = 4 * KiB;
		e[i].dev_off = dev_base + i * 4 * KiB;
	}
	return e;
}

static void subtest_oversized(void)
{
	/* room for 1024 simple and 4 interleaved extents in all */
	struct fixture_opts opts = { .resolver = FBS_RESOLVER_BPF,
				     .bpf_max_simple = 1024, .bpf_max_ileave = 4 };
	struct fmap_simple_ext *big = pages(2000, 0), *fits = pages(1000, 0);
	struct famfs_file_extents fe = { 0 };
	struct fixture fx = { 0 };
	struct famfs_slice old;
	struct famfs_file desc;
	struct capture cap;
	struct fbs_layout l;
	char *msg, path[128];
	struct stat st;
	int err;

	if (!ASSERT_TRUE(big && fits, "malloc") ||
	    !ASSERT_OK(fixture_mount(&fx, &opts), "mount"))
		goto out;

	/* more extents than the whole map */
	layout_simple(&l, 2000, big);
	if (!ASSERT_TRUE(capture_start(&cap), "capture"))
		goto out;
	err = fbs_server_add_file(fx.srv, "big", 2000 * 8 * KiB, &l);
	msg = capture_end(&cap);
	ASSERT_EQ(err, -E2BIG, "2000 extents into a map of 1024: E2BIG");
	ASSERT_TRUE(msg && strstr(msg, "2000 simple extents refused") &&
		    strstr(msg, "1024 entries"), "says what and why");
	free(msg);
	errno = 0;
	ASSERT_ERR(stat(fixture_path(&fx, "big", path, sizeof(path)), &st),
		   "the refused file does not exist");
	ASSERT_EQ(errno, ENOENT, "ENOENT");

	/* fits, then no run long enough is left */
	layout_simple(&l, 1000, fits);
	ASSERT_OK(fbs_server_add_file(fx.srv, "fits", 1000 * 8 * KiB, &l), "1000 fit");
	if (ASSERT_TRUE(lookup_file(&fx, nodeid_of(&fx, "fits"), &desc), "descriptor"))
		ASSERT_EQ(desc.nsimple, 1000, "all 1000 extents, none cut");
	layout_simple(&l, 100, fits);
	if (!ASSERT_TRUE(capture_start(&cap), "capture"))
		goto out;
	err = fbs_server_add_file(fx.srv, "more", 100 * 8 * KiB, &l);
	msg = capture_end(&cap);
	ASSERT_EQ(err, -ENOSPC, "100 more into the 24 left: ENOSPC");
	ASSERT_TRUE(msg && strstr(msg, "no free run"), "says why");
	free(msg);

	/* the per-file limits, straight through the loader */
	fe.nsimple = FMAP_MAX_SIMPLE + 1;
	fe.simple = fits;	/* refused before it is read */
	if (!ASSERT_TRUE(capture_start(&cap), "capture"))
		goto out;
	err = famfs_loader_set_file(fbs_server_loader(fx.srv), 999999, &fe, &old);
	msg = capture_end(&cap);
	ASSERT_EQ(err, -E2BIG, "more than FMAP_MAX_SIMPLE: E2BIG");
	ASSERT_TRUE(msg && strstr(msg, "at most 1048576 per file"), "says the limit");
	free(msg);
	fe.nsimple = 0;
	fe.nileave = FMAP_MAX_ILEAVE + 1;
	if (!ASSERT_TRUE(capture_start(&cap), "capture"))
		goto out;
	err = famfs_loader_set_file(fbs_server_loader(fx.srv), 999999, &fe, &old);
	msg = capture_end(&cap);
	ASSERT_EQ(err, -E2BIG, "more than FMAP_MAX_ILEAVE: E2BIG");
	ASSERT_TRUE(msg && strstr(msg, "at most 4 per file"), "says the limit");
	free(msg);
	ASSERT_FALSE(lookup_file(&fx, 999999, &desc), "nothing left behind");
out:
	fixture_unmount(&fx);
	free(big);
	free(fits);
}

static void subtest_replace(struct fixture *fx)
{
	struct fmap_simple_ext old_ext = { .len = 2 * MiB, .dev = 0, .dev_off = 360 * MiB };
	struct fmap_simple_ext new_ext = { .len = 2 * MiB, .dev = 1, .dev_off = 370 * MiB };
	unsigned char *p1 = malloc(2 * MiB), *p2 = malloc(2 * MiB), *back = malloc(2 * MiB);
	long long bpf0, up0, inval0;
	struct famfs_file d1, d2;
	struct fbs_layout l;
	char path[128];
	int fd = -1;

	if (!ASSERT_TRUE(p1 && p2 && back, "malloc"))
		goto out;
	fill_pattern(p1, 2 * MiB, 41);
	fill_pattern(p2, 2 * MiB, 42);
	if (!ASSERT_OK(dev_pwrite(FX_DEV0, p1, 2 * MiB, old_ext.dev_off), "seed old") ||
	    !ASSERT_OK(dev_pwrite(FX_DEV1, p2, 2 * MiB, new_ext.dev_off), "seed new"))
		goto out;
	layout_simple(&l, 1, &old_ext);
	if (!ASSERT_OK(fbs_server_add_file(fx->srv, "moved", 2 * MiB, &l), "add"))
		goto out;
	ASSERT_TRUE(lookup_file(fx, nodeid_of(fx, "moved"), &d1), "descriptor");
	up0 = fixture_stat(fx, "upcalls");
	bpf0 = fixture_stat(fx, "bpf_resolves");
	fd = open(fixture_path(fx, "moved", path, sizeof(path)), O_RDONLY);
	if (!ASSERT_OK_FD(fd, "open"))
		goto out;
	ASSERT_EQ(pread(fd, back, 2 * MiB, 0), 2 * MiB, "read");
	ASSERT_MEMEQ(back, p1, 2 * MiB, "the old blocks");

	inval0 = fixture_stat(fx, "invalidations");
	layout_simple(&l, 1, &new_ext);
	ASSERT_OK(fbs_server_set_layout(fx->srv, "moved", &l), "move");
	ASSERT_GT(fixture_stat(fx, "invalidations"), inval0, "invalidated");
	if (ASSERT_TRUE(lookup_file(fx, nodeid_of(fx, "moved"), &d2), "descriptor"))
		ASSERT_NEQ(d2.simple_first, d1.simple_first, "a new slice (the old one is freed later)");
	ASSERT_EQ(pread(fd, back, 2 * MiB, 0), 2 * MiB, "read again");
	ASSERT_MEMEQ(back, p2, 2 * MiB, "the new blocks");
	ASSERT_GE(fixture_stat(fx, "bpf_resolves") - bpf0, 2, "both through BPF");
	ASSERT_EQ(fixture_stat(fx, "upcalls"), up0, "no upcall");
out:
	if (fd >= 0)
		close(fd);
	free(p1);
	free(p2);
	free(back);
}

static void subtest_alloc(struct fixture *fx)
{
	unsigned char buf[4096];
	struct fmap_simple_ext e;
	struct famfs_file desc;
	char path[128];
	int fd;

	fd = open(fixture_path(fx, "grown", path, sizeof(path)),
		  O_RDWR | O_CREAT, 0644);
	if (!ASSERT_OK_FD(fd, "create"))
		return;
	fill_pattern(buf, sizeof(buf), 51);
	ASSERT_EQ(pwrite(fd, buf, sizeof(buf), 0), sizeof(buf), "write: allocates");
	close(fd);
	/* the server put the new extent in the map before it replied */
	if (!ASSERT_TRUE(lookup_file(fx, nodeid_of(fx, "grown"), &desc), "descriptor"))
		return;
	ASSERT_EQ(desc.nsimple, 1, "one extent");
	if (ASSERT_TRUE(lookup_simple(fx, desc.simple_first, &e), "extent")) {
		ASSERT_EQ(e.file_off, 0, "from 0");
		ASSERT_EQ(e.len, 2 * MiB, "one allocation unit");
		ASSERT_GE(e.dev_off, FX_ALLOC_START, "from the allocation area");
		ASSERT_EQ(e.dev, fbs_server_dev_id(fx->srv, 0), "on device 0");
	}
}

/*
 * A file of one interleaved extent [0, 4 MiB) (2 strips of 64 KiB chunks)
 * and one simple [4 MiB, 6 MiB).  The test server keeps one kind per file,
 * so it adds the interleaved part and the loader is given both, as
 * fsd_bpf.c gives it a famfs file's layout.
 */
static void subtest_mixed(struct fixture *fx)
{
	const __u64 size = 6 * MiB;
	const struct fmap_strip strips[2] = {
		{ .dev = 0, .dev_off = 400 * MiB }, { .dev = 1, .dev_off = 400 * MiB },
	};
	struct fmap_simple_ext simple = {
		.file_off = 4 * MiB, .len = 2 * MiB, .dev = 0, .dev_off = 410 * MiB,
	};
	unsigned char *data = malloc(size), *back = malloc(size);
	struct famfs_resolver_stats st0, st1;
	struct famfs_file_extents fe = { .size = size };
	struct fmap_ileave_ext ie;
	struct famfs_file desc, d2;
	struct famfs_slice old;
	struct fmap_mapping m;
	struct fbs_layout l;
	long long up0, res0;
	char path[128], bpftool[PATH_MAX], map[PATH_MAX], want[64];
	__u64 off, nodeid;
	__u32 index;
	int fd, err;

	if (!ASSERT_TRUE(data && back, "malloc"))
		goto out;
	fill_pattern(data, size, 61);
	layout_ileave(&l, 4 * MiB, 2, 16, strips);
	/* the bytes where the layout says they are */
	for (off = 0; off < 4 * MiB; off += m.len) {
		if (!ASSERT_OK(fmap_ileave_resolve(&l.ileave[0], off, &m), "resolve") ||
		    !ASSERT_OK(dev_pwrite(m.dev ? FX_DEV1 : FX_DEV0, data + off, m.len,
					  m.dev_off), "seed a chunk"))
			goto out;
	}
	if (!ASSERT_OK(dev_pwrite(FX_DEV0, data + 4 * MiB, 2 * MiB, simple.dev_off),
		       "seed the simple extent") ||
	    !ASSERT_OK(fbs_server_add_file(fx->srv, "mixed", size, &l), "add"))
		goto out;
	nodeid = nodeid_of(fx, "mixed");

	/* both kinds, with kernel device ids */
	ie = l.ileave[0];
	ie.strips[0].dev = fbs_server_dev_id(fx->srv, 0);
	ie.strips[1].dev = fbs_server_dev_id(fx->srv, 1);
	simple.dev = fbs_server_dev_id(fx->srv, 0);
	fe.nsimple = 1;
	fe.simple = &simple;
	fe.nileave = 1;
	fe.ileave = &ie;
	if (!ASSERT_OK(famfs_loader_set_file(fbs_server_loader(fx->srv), nodeid, &fe, &old),
		       "both kinds into the maps"))
		goto out;
	ASSERT_EQ(old.nileave, 1, "the old interleaved slice handed back");
	ASSERT_EQ(old.nsimple, 0, "no old simple slice");
	famfs_loader_free_slice(fbs_server_loader(fx->srv), &old);	/* nothing read it */
	if (!ASSERT_TRUE(lookup_file(fx, nodeid, &desc), "descriptor"))
		goto out;
	ASSERT_EQ(desc.nsimple, 1, "one simple extent");
	ASSERT_EQ(desc.nileave, 1, "one interleaved extent");

	/* readable in bpftool: both slices, in the file's descriptor */
	snprintf(map, sizeof(map), "%s/descs", famfs_loader_pin_dir(fbs_server_loader(fx->srv)));
	if (fixture_find_binary("tools/bpftool/bpftool", bpftool, sizeof(bpftool)) &&
	    ASSERT_OK(famfs_loader_get_file(fbs_server_loader(fx->srv), nodeid, &d2, &index),
		      "its index") &&
	    bpftool_map(bpftool, "lookup", map, &index, FX_LOG_OUT)) {
		snprintf(want, sizeof(want), "\"nodeid\": %llu,", (unsigned long long)nodeid);
		ASSERT_TRUE(strstr(fixture_out, want), "shows the file");
		ASSERT_TRUE(strstr(fixture_out, "\"nsimple\": 1,"), "shows 1 simple extent");
		ASSERT_TRUE(strstr(fixture_out, "\"nileave\": 1,"), "shows 1 interleaved extent");
	}

	/* every byte, by BPF only, from both slices */
	up0 = fixture_stat(fx, "upcalls");
	res0 = fixture_stat(fx, "bpf_resolves");
	ASSERT_OK(famfs_loader_stats(fbs_server_loader(fx->srv), &st0), "stats");
	fd = open(fixture_path(fx, "mixed", path, sizeof(path)), O_RDONLY);
	if (!ASSERT_OK_FD(fd, "open"))
		goto out;
	ASSERT_EQ(pread(fd, back, size, 0), size, "read it all");
	close(fd);
	ASSERT_MEMEQ(back, data, size, "the bytes of both extents");
	ASSERT_OK(famfs_loader_stats(fbs_server_loader(fx->srv), &st1), "stats");
	printf("# mixed: handled %llu -> %llu, bpf_resolves %lld -> %lld, upcalls %lld -> %lld\n",
	       (unsigned long long)st0.handled, (unsigned long long)st1.handled, res0,
	       fixture_stat(fx, "bpf_resolves"), up0, fixture_stat(fx, "upcalls"));
	ASSERT_GE(st1.handled - st0.handled, 2, "both extents answered by the program");
	ASSERT_EQ(st1.bad_slice, st0.bad_slice, "no bad slice");
	ASSERT_GE(fixture_stat(fx, "bpf_resolves") - res0, 2, "the kernel took them");
	ASSERT_EQ(fixture_stat(fx, "upcalls"), up0, "no upcall");

	/* a page in both lists: refused, the descriptor kept */
	simple.file_off = 2 * MiB;
	err = famfs_loader_set_file(fbs_server_loader(fx->srv), nodeid, &fe, &old);
	ASSERT_EQ(err, -EINVAL, "overlapping kinds: EINVAL");
	if (ASSERT_TRUE(lookup_file(fx, nodeid, &d2), "descriptor"))
		ASSERT_MEMEQ(&d2, &desc, sizeof(desc), "unchanged");
out:
	free(data);
	free(back);
}

/*
 * File "sa" of pattern 71 and "sb" of pattern 72.  sa leaves the maps and
 * sb's extents go in under node id sa + slots: sa's slot, another file's
 * (a slot reused while the kernel still asks for sa).  sa's reads, its
 * mappings forgotten, must be sa's bytes, by upcall: the program finds
 * sb's descriptor and refuses it.  Under a second on the test kernel.
 */
static void subtest_stale_slot(struct fixture *fx)
{
	const __u64 size = 2 * MiB;
	struct fmap_simple_ext ea = { .len = size, .dev = 0, .dev_off = 460 * MiB };
	struct fmap_simple_ext eb = { .len = size, .dev = 0, .dev_off = 470 * MiB };
	struct famfs_loader *ld = fbs_server_loader(fx->srv);
	unsigned char *a = malloc(size), *b = malloc(size), *back = malloc(size);
	struct famfs_resolver_stats st0, st1;
	struct famfs_file_extents fe = { .size = size, .nsimple = 1 };
	struct famfs_slice old, olda = { 0 };
	struct famfs_file desc;
	struct fbs_layout l;
	long long up0;
	__u64 na, other = 0;
	__u32 nslots;
	char path[128];
	int fd;

	if (!ASSERT_TRUE(a && b && back, "malloc"))
		goto out;
	fill_pattern(a, size, 71);
	fill_pattern(b, size, 72);
	if (!ASSERT_OK(dev_pwrite(FX_DEV0, a, size, ea.dev_off), "seed sa") ||
	    !ASSERT_OK(dev_pwrite(FX_DEV0, b, size, eb.dev_off), "seed sb"))
		goto out;
	layout_simple(&l, 1, &ea);
	if (!ASSERT_OK(fbs_server_add_file(fx->srv, "sa", size, &l), "add sa"))
		goto out;
	layout_simple(&l, 1, &eb);
	if (!ASSERT_OK(fbs_server_add_file(fx->srv, "sb", size, &l), "add sb"))
		goto out;
	na = nodeid_of(fx, "sa");
	nslots = slots_of(fx);
	if (!ASSERT_GT(na, 0, "sa's node id") || !ASSERT_GT(nslots, 0, "slots"))
		goto out;

	/* sa out; sb's extents (kernel device id) under sa's slot */
	if (!ASSERT_OK(famfs_loader_remove_file(ld, na, &olda), "sa out of the maps"))
		goto out;
	eb.dev = fbs_server_dev_id(fx->srv, 0);
	fe.simple = &eb;
	other = na + nslots;
	if (!ASSERT_OK(famfs_loader_set_file(ld, other, &fe, &old), "sb's extents in sa's slot"))
		goto out;
	ASSERT_EQ(famfs_loader_get_file(ld, na, &desc, NULL), -ENOENT, "sa: not in the maps");
	/* the loader will not give sa the slot another node id holds */
	ea.dev = fbs_server_dev_id(fx->srv, 0);
	fe.simple = &ea;
	ASSERT_EQ(famfs_loader_set_file(ld, na, &fe, &old), -EBUSY, "sa: its slot is taken");

	/* sa's reads, nothing cached: never sb's bytes */
	if (!ASSERT_OK(fbs_server_forget(fx->srv, "sa"), "forget sa's mappings"))
		goto out;
	up0 = fixture_stat(fx, "upcalls");
	ASSERT_OK(famfs_loader_stats(ld, &st0), "stats");
	fd = open(fixture_path(fx, "sa", path, sizeof(path)), O_RDONLY);
	if (!ASSERT_OK_FD(fd, "open sa"))
		goto out;
	ASSERT_EQ(pread(fd, back, size, 0), size, "read sa");
	close(fd);
	ASSERT_OK(famfs_loader_stats(ld, &st1), "stats");
	printf("# stale_slot: other_file %llu -> %llu, handled %llu -> %llu, upcalls +%lld\n",
	       (unsigned long long)st0.other_file, (unsigned long long)st1.other_file,
	       (unsigned long long)st0.handled, (unsigned long long)st1.handled,
	       fixture_stat(fx, "upcalls") - up0);
	ASSERT_MEMEQ(back, a, size, "sa's own bytes");
	ASSERT_NEQ(memcmp(back, b, 4096), 0, "not sb's");
	ASSERT_GT(st1.other_file, st0.other_file, "the program refused the other descriptor");
	ASSERT_EQ(st1.handled, st0.handled, "and answered nothing for sa");
	ASSERT_GT(fixture_stat(fx, "upcalls"), up0, "sa by upcall");
out:
	if (other && !famfs_loader_remove_file(ld, other, &old))
		famfs_loader_free_slice(ld, &old);
	famfs_loader_free_slice(ld, &olda);
	free(a);
	free(b);
	free(back);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * What a mount of 100,000 files with extents does to the maps (the guest's
 * pmem has room for a few hundred such files: fs_persist/replay_100k
 * mounts those).  About 1 s on the test kernel under TCG, most of it the
 * program's load.
 */
#define LOAD_FILES	100000
static void subtest_load_100k(struct fixture *fx)
{
	struct famfs_loader_opts opts = {
		.fuse_fd = fbs_server_fuse_fd(fx->srv),
		/* as fsd_bpf.c sizes them: twice the files; an extent each */
		.max_files = 2 * LOAD_FILES,
		.max_simple = 2 * LOAD_FILES,
	};
	struct famfs_file_extents fe = { .size = 2 * MiB, .nsimple = 1 };
	struct famfs_loader *l = NULL;
	struct fmap_simple_ext e = { .len = 2 * MiB };
	struct famfs_slice old;
	struct famfs_file desc;
	double t0, t_load, t_fill;
	__u64 nodeid;
	int i, err = 0;

	/* userspace-bound: the test kernel's (debug.tests runs fmap_*) */
	if (fixture_debug_kernel()) {
		test__skip();
		return;
	}
	t0 = now_s();
	if (!ASSERT_OK(famfs_loader_load(&opts, &l), "load"))
		return;
	t_load = now_s() - t0;
	fe.simple = &e;
	for (i = 0; i < LOAD_FILES && !err; i++) {
		e.dev_off = (__u64)i * 2 * MiB;
		err = famfs_loader_set_file(l, 102 + i, &fe, &old);
	}
	t_fill = now_s() - t0;
	ASSERT_OK(err, "every file in");
	printf("# %d files of one extent: load %.3f s, with the files %.3f s\n", LOAD_FILES,
	       t_load, t_fill);
	ASSERT_LT(t_fill, 2.0, "under 2 s");
	for (i = 0; i < LOAD_FILES; i += 9973) {
		nodeid = 102 + i;
		if (ASSERT_OK(famfs_loader_get_file(l, nodeid, &desc, NULL), "a file's descriptor")) {
			ASSERT_EQ(desc.nodeid, nodeid, "names it");
			ASSERT_EQ(desc.nsimple, 1, "one extent");
		}
	}
	famfs_loader_close(l);
}

static void subtest_pins(struct fixture *fx)
{
	struct famfs_loader_opts opts = {
		.fuse_fd = fbs_server_fuse_fd(fx->srv),
		.conn_id = 4242,
		.pin_root = "/sys/fs/bpf/famfs-bpf-test",
	};
	char stale[128], junk[160], dir[256];
	struct famfs_loader *l = NULL;
	struct capture cap;
	struct stat st;
	char *msg;
	int fd;

	/* a dead server's pins: a map of the wrong shape where slots goes */
	mkdir(opts.pin_root, 0700);
	snprintf(stale, sizeof(stale), "%s/4242", opts.pin_root);
	mkdir(stale, 0700);
	snprintf(junk, sizeof(junk), "%s/slots", stale);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "stale", 4, 4, 1, NULL);
	if (!ASSERT_OK_FD(fd, "a map") ||
	    !ASSERT_OK(bpf_obj_pin(fd, junk), "pin it as a stale pin"))
		goto out;
	close(fd);
	if (!ASSERT_OK(famfs_loader_open(&opts, &l), "load over a stale pin dir"))
		goto out;
	snprintf(junk, sizeof(junk), "%s/slots", famfs_loader_pin_dir(l));
	fd = bpf_obj_get(junk);
	if (ASSERT_OK_FD(fd, "a pin where the stale one was")) {
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);

		ASSERT_OK(bpf_map_get_info_by_fd(fd, &info, &len), "map info");
		ASSERT_EQ(info.type, BPF_MAP_TYPE_ARRAY, "the resolver's slots map");
		ASSERT_TRUE(info.map_flags & BPF_F_MMAPABLE, "mmap'ed by the loader");
		ASSERT_EQ(info.value_size, 8, "not the stale one");
		close(fd);
	}
	/* this connection has its resolver already */
	if (capture_start(&cap)) {
		ASSERT_EQ(famfs_loader_attach(l), -EBUSY, "second resolver: EBUSY");
		msg = capture_end(&cap);
		ASSERT_TRUE(msg && strstr(msg, "already has one"), "says why");
		free(msg);
	}
	famfs_loader_close(l);
	ASSERT_ERR(stat(stale, &st), "close unpins");
out:
	rmdir(opts.pin_root);
	snprintf(dir, sizeof(dir), "%s", famfs_loader_pin_dir(fbs_server_loader(fx->srv)));
	ASSERT_OK(stat(dir, &st), "the mount's pins are there");
	fixture_unmount(fx);
	ASSERT_ERR(stat(dir, &st), "unmounting unpins");
}

void test_fmap_bpf_maps(void)
{
	struct fixture_opts opts = { .resolver = FBS_RESOLVER_BPF };
	struct fixture fx = { 0 };

	/* one mount at a time: the fixture's mountpoint is per process */
	if (!ASSERT_OK(fixture_mount(&fx, &opts), "mount with the BPF resolver"))
		return;
	if (test__start_subtest("bpftool"))
		subtest_bpftool(&fx);
	if (test__start_subtest("replace"))
		subtest_replace(&fx);
	if (test__start_subtest("alloc"))
		subtest_alloc(&fx);
	if (test__start_subtest("mixed"))
		subtest_mixed(&fx);
	if (test__start_subtest("stale_slot"))
		subtest_stale_slot(&fx);
	if (test__start_subtest("load_100k"))
		subtest_load_100k(&fx);
	fixture_unmount(&fx);

	if (test__start_subtest("oversized"))
		subtest_oversized();

	if (test__start_subtest("pins") &&
	    ASSERT_OK(fixture_mount(&fx, &opts), "mount with the BPF resolver"))
		subtest_pins(&fx);
	fixture_unmount(&fx);
}
