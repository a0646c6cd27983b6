// SPDX-License-Identifier: GPL-2.0
/*
 * famfs-bpf mount with the BPF resolver (the default) on /dev/pmem2,
 * driven through the famfs-bpf binary, and the extended attributes of
 * include/famfs_xattr.h.
 *  - mount: mkfs -f, mount: the resolver is attached;
 *  - xattrs: user.famfs.stripe on a file and a directory (a new file in it
 *    takes the default), refusals (EINVAL, EOPNOTSUPP, ENODATA), listxattr;
 *  - write: 32 MiB through the stripe policy, read back by read(2) and
 *    mmap, EBUSY for a new policy, user.famfs.layout decodes and maps the
 *    bytes where they are on the device, bpftool shows the file's entry;
 *  - reads: after a remount (nothing cached) reads are answered by the
 *    resolver only: bpf_resolves grows, upcalls do not;
 *  - cut: truncate down and read, unlink: the map entry goes;
 *  - links: a file that loses one of two names (unlink, a rename over
 *    it) keeps its map entry;
 *  - explicit: mount -o resolver=bpf serves reads by BPF;
 *  - upcall: mount -o resolver=upcall: nothing attached, reads upcall.
 *  - mixed: on a fresh file system, two striped files written in turns
 *    block each other's growth in place until one has FMAP_MAX_ILEAVE
 *    interleaved extents and then simple ones; after a remount it is read
 *    by the resolver only, and bpftool shows its two slices.
 *  - three_strips: over /dev/pmem2, pmem1 and pmem0, a file of 3 strips
 *    (not a power of two) has one strip on each device and every MiB where
 *    the geometry says; after a remount read(2) and mmap are answered by
 *    BPF only.
 * Every path ends unmounted: later tests mkfs the same device.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "famfs_xattr.h"
#include "fixture.h"
#include "fmap.h"
#include "test_progs.h"

#define DEV	"/dev/pmem2"
#define MNT	"/tmp/fs_bpf.mnt"
#define BIG	(32 * MiB)
#define KEEP	(4 * MiB + 321)
#define CUT	(5 * MiB + 100)
#define CHUNK	(2 * MiB)

static char tool[PATH_MAX];

#define famfs(...) fixture_famfs(0, __VA_ARGS__)

static bool mounted(void)
{
	return fixture_mounted(MNT);
}

static const char *path(const char *name)
{
	return fixture_join(MNT, name);
}

/* A counter of the mount's fmap_stats; -1 if absent. */
static long long stat_of(const char *name)
{
	return fixture_mnt_stat(MNT, name);
}

static bool remount(const char *opts)
{
	return opts ? fixture_remount(MNT, "-o", opts, DEV) : fixture_remount(MNT, DEV);
}

/*
 * In @piece bytes at a time.  A striped file grows in place, or by
 * interleaved extents each at least as large as the file, at most
 * FMAP_MAX_ILEAVE of them, then by simple ones (see the mixed subtest).
 */
static bool write_file(const char *name, const void *data, size_t len, size_t piece)
{
	return fixture_write_file(path(name), data, len, piece);
}

/*
 * With @eof, a read past the end too (its probe of the end is a miss in
 * no extent, which the resolver leaves to the server).
 */
static void check_file(const char *name, const void *data, size_t len, bool eof)
{
	fixture_check_file(path(name), data, len, eof);
}

/* Reads of @name after a remount: by the resolver only (with @bpf). */
static void reads_by(const char *name, const void *data, size_t len, bool bpf)
{
	long long res0 = stat_of("bpf_resolves"), up0 = stat_of("upcalls");

	if (!ASSERT_GE(res0, 0, "fmap_stats") || !ASSERT_GE(up0, 0, "upcalls counter"))
		return;
	check_file(name, data, len, false);
	printf("# %s: bpf_resolves %lld -> %lld, upcalls %lld -> %lld\n", name, res0,
	       stat_of("bpf_resolves"), up0, stat_of("upcalls"));
	if (bpf) {
		ASSERT_GT(stat_of("bpf_resolves"), res0, "reads resolved by BPF");
		ASSERT_EQ(stat_of("upcalls"), up0, "no upcalls for the reads");
	} else {
		ASSERT_EQ(stat_of("bpf_resolves"), res0, "nothing resolved by BPF");
		ASSERT_GT(stat_of("upcalls"), up0, "reads upcall");
	}
	check_file(name, data, len, true);
}

static bool map_lookup(const char *map, __u64 key, unsigned int klen, __u64 *val);

/*
 * Whether bpftool finds file @ino in the maps: its slot in slots (the
 * node id's low bits: the map has a power of two entries) names a
 * descriptor in descs that names @ino, which is then in fixture_out; -1
 * if bpftool fails.
 */
static int map_has(__u64 ino)
{
	char slots[PATH_MAX], want[64];
	unsigned long long max;
	__u64 index;
	struct stat st;
	const char *p;

	if (stat(MNT, &st))
		return -1;
	snprintf(slots, sizeof(slots), "/sys/fs/bpf/famfs-bpf/%u/slots", minor(st.st_dev));
	if (fixture_cmd(0, tool, "map", "show", "pinned", slots))
		return -1;
	p = strstr(fixture_out, "max_entries ");
	max = p ? strtoull(p + strlen("max_entries "), NULL, 10) : 0;
	if (!max || max & (max - 1))
		return -1;
	if (!map_lookup("slots", ino & (max - 1), 4, &index))
		return -1;
	if (!index)
		return 0;
	if (!map_lookup("descs", index, 4, NULL))
		return -1;
	snprintf(want, sizeof(want), "\"nodeid\": %llu,", (unsigned long long)ino);
	return strstr(fixture_out, want) != NULL;
}

static __u64 ino_of(const char *name)
{
	struct stat st;

	return stat(path(name), &st) ? 0 : st.st_ino;
}

static void test_mount(void)
{
	if (!fixture_mkfs_mount(DEV, MNT, NULL))
		return;
	ASSERT_EQ(stat_of("bpf_attached"), 1, "BPF resolver attached by default");
}

static bool get_stripe(const char *name, char *val, size_t size)
{
	ssize_t n = getxattr(path(name), FAMFS_XATTR_STRIPE, val, size - 1);

	if (!ASSERT_GT(n, 0, "getxattr stripe"))
		return false;
	val[n] = '\0';
	return true;
}

static void test_xattrs(void)
{
	static const char *const bad[] = {
		"2 2097152", "3 2097152", "17 2097152",	/* more strips than devices */
		"0 2097152", "1 1048576", "1 3145728", "1 2147483648", "1", "1 ",
		"1 1073741824", "1 536870912",	/* past the 256 MiB a chunk may be */
		" 1 2097152", "1  2097152", "+1 2097152", "1 0x200000", "1 2097152 1",
		"99999999999999999999 2097152", "",
	};
	char val[64], names[128];
	ssize_t n;
	int fd;

	if (!ASSERT_TRUE(mounted(), "mounted"))
		return;
	fd = open(path("f"), O_CREAT | O_WRONLY, 0644);
	if (!ASSERT_OK_FD(fd, "create f"))
		return;
	close(fd);
	ASSERT_ERR(getxattr(path("f"), FAMFS_XATTR_STRIPE, val, sizeof(val)), "no policy yet");
	ASSERT_EQ(errno, ENODATA, "ENODATA");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ASSERT_ERR(setxattr(path("f"), FAMFS_XATTR_STRIPE, bad[i], strlen(bad[i]), 0),
			   bad[i]);
		ASSERT_EQ(errno, EINVAL, "EINVAL");
	}
	/* user.famfs.* is the daemon's: other names there are refused (fs_xattr stores user.*) */
	ASSERT_ERR(setxattr(path("f"), "user.famfs.other", "x", 1, 0), "other name");
	ASSERT_EQ(errno, EOPNOTSUPP, "EOPNOTSUPP");
	ASSERT_ERR(getxattr(path("f"), "user.famfs.other", val, sizeof(val)), "get other name");
	ASSERT_EQ(errno, EOPNOTSUPP, "EOPNOTSUPP on get");
	ASSERT_OK(setxattr(path("f"), FAMFS_XATTR_STRIPE, "1 2097152", 9, 0), "set stripe");
	if (get_stripe("f", val, sizeof(val)))
		ASSERT_STREQ(val, "1 2097152", "stripe read back");
	n = listxattr(path("f"), names, sizeof(names));
	ASSERT_EQ(n, (ssize_t)(sizeof(FAMFS_XATTR_LAYOUT) + sizeof(FAMFS_XATTR_STRIPE)),
		  "listxattr f");
	if (n > 0)
		ASSERT_MEMEQ(names, FAMFS_XATTR_LAYOUT "\0" FAMFS_XATTR_STRIPE, n, "names of f");
	/* the layout in pieces (getmap's way past 64 KiB): the first piece */
	{
		struct famfs_xattr_layout whole;
		struct famfs_xattr_layout_piece piece;

		ASSERT_EQ(getxattr(path("f"), FAMFS_XATTR_LAYOUT, &whole, sizeof(whole)),
			  (ssize_t)sizeof(whole), "whole layout");
		ASSERT_EQ(getxattr(path("f"), FAMFS_XATTR_LAYOUT_PIECE "0", &piece, sizeof(piece)),
			  (ssize_t)sizeof(piece), "piece 0");
		ASSERT_MEMEQ(&piece.whole, &whole, sizeof(whole), "piece 0's header");
		ASSERT_EQ(piece.first + piece.nsimple, 0, "no simple extents yet");
		ASSERT_ERR(getxattr(path("f"), FAMFS_XATTR_LAYOUT_PIECE "1", &piece, sizeof(piece)),
			   "piece past the end");
		ASSERT_EQ(errno, EINVAL, "EINVAL past the end");
	}

	/* a directory's default goes to files created in it */
	ASSERT_OK(mkdir(path("d"), 0755), "mkdir d");
	ASSERT_ERR(getxattr(path("d"), FAMFS_XATTR_LAYOUT, val, sizeof(val)), "dir layout");
	ASSERT_EQ(errno, ENODATA, "no layout on a directory");
	ASSERT_EQ(listxattr(path("d"), names, sizeof(names)), 0, "nothing on d yet");
	ASSERT_OK(setxattr(path("d"), FAMFS_XATTR_STRIPE, "1 4194304", 9, 0), "dir stripe");
	fd = open(path("d/g"), O_CREAT | O_WRONLY, 0644);
	if (ASSERT_OK_FD(fd, "create d/g"))
		close(fd);
	if (get_stripe("d/g", val, sizeof(val)))
		ASSERT_STREQ(val, "1 4194304", "inherited from d");
	ASSERT_EQ(listxattr(path("d"), names, sizeof(names)),
		  (ssize_t)sizeof(FAMFS_XATTR_STRIPE), "d lists its stripe");
}

/* Decode user.famfs.layout of @name and check it maps @data. */
static void check_layout(const char *name, const void *data, size_t len)
{
	const struct famfs_xattr_layout *h;
	const struct fmap_simple_ext *se;
	const struct fmap_ileave_ext *ie;
	char *buf = NULL, *got = malloc(MiB);
	ssize_t n = getxattr(path(name), FAMFS_XATTR_LAYOUT, NULL, 0), m;
	__u64 mapped = 0, off;
	struct fmap_mapping map = { 0 };
	bool congruent = true, bytes = true;
	__u32 i;

	if (!ASSERT_GT(n, (ssize_t)sizeof(*h), "layout size query") ||
	    !ASSERT_TRUE(got != NULL, "malloc"))
		goto out;
	buf = malloc(n);
	ASSERT_ERR(getxattr(path(name), FAMFS_XATTR_LAYOUT, buf, n - 1), "short buffer");
	ASSERT_EQ(errno, ERANGE, "ERANGE");
	m = getxattr(path(name), FAMFS_XATTR_LAYOUT, buf, n);
	if (!ASSERT_EQ(m, n, "layout"))
		goto out;
	h = (const void *)buf;
	ASSERT_EQ(le32toh(h->magic), FAMFS_XATTR_LAYOUT_MAGIC, "magic");
	ASSERT_EQ(le32toh(h->version), FAMFS_XATTR_LAYOUT_VERSION, "version");
	ASSERT_EQ(le64toh(h->size), len, "size");
	if (!ASSERT_EQ((size_t)n, sizeof(*h) + le32toh(h->nsimple) * sizeof(*se) +
			  le32toh(h->nileave) * sizeof(*ie), "length matches counts"))
		goto out;
	printf("# %s: %u simple, %u interleaved extents\n", name, le32toh(h->nsimple),
	       le32toh(h->nileave));
	ASSERT_GT(le32toh(h->nileave), 0, "the stripe policy made interleaved extents");
	se = (const void *)(h + 1);
	ie = (const void *)(se + le32toh(h->nsimple));
	for (i = 0; i < le32toh(h->nsimple); i++) {
		mapped += se[i].len;
		congruent &= se[i].dev == 0 && se[i].file_off % CHUNK == se[i].dev_off % CHUNK;
	}
	for (i = 0; i < le32toh(h->nileave); i++) {
		mapped += ie[i].len;
		congruent &= ie[i].nstrips == 1 && ie[i].chunk_shift == 21 &&
			     ie[i].strips[0].dev == 0 && ie[i].strips[0].dev_off % CHUNK == 0 &&
			     ie[i].file_off % CHUNK == 0;
	}
	ASSERT_GE(mapped, len, "the extents cover the file");
	ASSERT_TRUE(congruent, "one device, 2 MiB chunks, offsets congruent mod 2 MiB");

	/* each MiB where the layout says, on the device itself */
	for (off = 0; off < len && bytes; off += MiB) {
		size_t piece = len - off < MiB ? len - off : MiB;
		bool found = false;

		for (i = 0; i < le32toh(h->nsimple) && !found; i++)
			found = !fmap_simple_resolve(&se[i], 1, off, &map);
		for (i = 0; i < le32toh(h->nileave) && !found; i++)
			found = off >= ie[i].file_off && off - ie[i].file_off < ie[i].len &&
				!fmap_ileave_resolve(&ie[i], off, &map);
		bytes = found && map.len >= piece &&
			/* O_DIRECT: whole pages */
			!dev_pread(DEV, got, (piece + 4095) & ~4095UL, map.dev_off) &&
			!memcmp(got, (const char *)data + off, piece);
	}
	ASSERT_TRUE(bytes, "the device holds the bytes where the layout says");
out:
	free(buf);
	free(got);
}

static void test_write(const char *big, const char *keep)
{
	__u64 ino;

	if (!ASSERT_TRUE(mounted(), "mounted"))
		return;
	if (!write_file("f", big, BIG, 8 * MiB) || !write_file("keep", keep, KEEP, MiB))
		return;
	check_file("f", big, BIG, true);
	ASSERT_ERR(setxattr(path("f"), FAMFS_XATTR_STRIPE, "1 4194304", 9, 0), "policy late");
	ASSERT_EQ(errno, EBUSY, "EBUSY once the file has space");
	check_layout("f", big, BIG);
	ino = ino_of("f");
	ASSERT_EQ(map_has(ino), 1, "bpftool: f in the maps");
	ASSERT_EQ(map_has(ino_of("keep")), 1, "bpftool: keep in the maps");
}

static void test_reads(const char *big)
{
	if (!remount(NULL))
		return;
	ASSERT_EQ(stat_of("bpf_attached"), 1, "attached");
	reads_by("f", big, BIG, true);
}

static void test_cut(const char *big)
{
	__u64 ino = ino_of("f");
	char *buf = malloc(CUT + 1);
	int fd;

	if (!ASSERT_TRUE(mounted(), "mounted") || !ASSERT_GT(ino, 0, "f") ||
	    !ASSERT_TRUE(buf != NULL, "malloc"))
		goto out;
	ASSERT_OK(truncate(path("f"), CUT), "truncate down");
	fd = open(path("f"), O_RDONLY);
	if (ASSERT_OK_FD(fd, "open f")) {
		if (ASSERT_EQ(pread(fd, buf, CUT + 1, 0), CUT, "read to the new end"))
			ASSERT_MEMEQ(buf, big, CUT, "bytes kept");
		close(fd);
	}
	check_layout("f", big, CUT);
	ASSERT_EQ(map_has(ino), 1, "still in the map after the cut");
	ASSERT_OK(unlink(path("f")), "unlink");
	ASSERT_EQ(map_has(ino), 0, "unlinked: the map entry is gone");
out:
	free(buf);
}

static void test_links(const char *keep)
{
	__u64 ino = ino_of("keep");
	int fd;

	if (!ASSERT_TRUE(mounted(), "mounted") || !ASSERT_GT(ino, 0, "keep") ||
	    !ASSERT_OK(link(path("keep"), path("keep2")), "link"))
		return;
	ASSERT_EQ(ino_of("keep2"), ino, "one inode");
	ASSERT_EQ(map_has(ino), 1, "linked: in the map");
	ASSERT_OK(unlink(path("keep2")), "unlink one name");
	ASSERT_EQ(map_has(ino), 1, "a name left: still in the map");
	ASSERT_OK(link(path("keep"), path("keep3")), "link again");
	fd = open(path("other"), O_CREAT | O_WRONLY, 0644);
	if (ASSERT_OK_FD(fd, "create other"))
		close(fd);
	ASSERT_OK(rename(path("other"), path("keep3")), "rename over a name");
	ASSERT_EQ(map_has(ino), 1, "renamed over: still in the map");
	check_file("keep", keep, KEEP, true);
	ASSERT_OK(unlink(path("keep3")), "unlink the other file");
}

static void test_explicit(const char *keep)
{
	if (!remount("resolver=bpf"))
		return;
	ASSERT_EQ(stat_of("bpf_attached"), 1, "attached");
	reads_by("keep", keep, KEEP, true);
}

static void test_upcall(const char *keep)
{
	struct stat st;
	char pins[64];

	if (!remount("resolver=upcall"))
		return;
	ASSERT_EQ(stat_of("bpf_attached"), 0, "nothing attached");
	if (ASSERT_OK(stat(MNT, &st), "stat"))
		snprintf(pins, sizeof(pins), "/sys/fs/bpf/famfs-bpf/%u", minor(st.st_dev));
	ASSERT_ERR(access(pins, F_OK), "no pinned maps");
	reads_by("keep", keep, KEEP, false);
	ASSERT_EQ(famfs("mount", "-o", "resolver=magic", DEV, MNT), 16,
		  "unknown resolver: usage");
}

/* The counts of @name's user.famfs.layout; false if unreadable. */
static bool layout_counts(const char *name, __u32 *nsimple, __u32 *nileave)
{
	struct famfs_xattr_layout h;
	char *buf;
	ssize_t n = getxattr(path(name), FAMFS_XATTR_LAYOUT, NULL, 0);
	bool ok;

	if (n < (ssize_t)sizeof(h))
		return false;
	buf = malloc(n);
	ok = buf && getxattr(path(name), FAMFS_XATTR_LAYOUT, buf, n) == n;
	if (ok) {
		memcpy(&h, buf, sizeof(h));
		*nsimple = le32toh(h.nsimple);
		*nileave = le32toh(h.nileave);
	}
	free(buf);
	return ok;
}

/*
 * "bpftool map lookup pinned <pin dir>/@map key <@klen bytes of @key>":
 * the number after "value": in its output into *@val; false if not there.
 */
static bool map_lookup(const char *map, __u64 key, unsigned int klen, __u64 *val)
{
	char path[PATH_MAX], b[8][4];
	char *argv[16] = { tool, "map", "lookup", "pinned", path, "key" };
	unsigned int i, argc = 6;
	struct stat st;
	const char *p;

	if (stat(MNT, &st))
		return false;
	snprintf(path, sizeof(path), "/sys/fs/bpf/famfs-bpf/%u/%s", minor(st.st_dev), map);
	for (i = 0; i < klen; i++) {
		snprintf(b[i], sizeof(b[i]), "%u", (unsigned)((key >> (8 * i)) & 0xff));
		argv[argc++] = b[i];
	}
	argv[argc] = NULL;
	if (fixture_run(0, argv))
		return false;
	p = strstr(fixture_out, "\"value\": ");
	if (val && p)
		*val = strtoull(p + strlen("\"value\": "), NULL, 10);
	return p != NULL;
}

/*
 * File @ino's descriptor as bpftool shows it, in fixture_out: the
 * descriptor index in its slot of slots, the descriptor in descs.
 */
static bool lookup_desc(__u64 ino)
{
	return map_has(ino) == 1;
}

#define MIXED_PIECE	(4 * MiB)
#define MIXED_MAX	(192 * MiB)

static void test_mixed(void)
{
	char *data = malloc(MIXED_MAX), *other = malloc(MIXED_MAX);
	char want[64];
	__u32 nsimple = 0, nileave = 0;
	long long handled0;
	size_t len = 0;
	__u64 ino;
	int fa = -1, fb = -1;

	if (!ASSERT_TRUE(data && other, "malloc"))
		goto out;
	fill_pattern(data, MIXED_MAX, 71);
	fill_pattern(other, MIXED_MAX, 72);
	/* fresh: each new extent goes after the last one, so the two block each other */
	fixture_ensure_unmounted(MNT);
	if (!fixture_mkfs_mount(DEV, MNT, NULL) ||
	    !ASSERT_EQ(stat_of("bpf_attached"), 1, "attached"))
		goto out;
	fa = open(path("ma"), O_CREAT | O_WRONLY, 0644);
	fb = open(path("mb"), O_CREAT | O_WRONLY, 0644);
	if (!ASSERT_OK_FD(fa, "create ma") || !ASSERT_OK_FD(fb, "create mb") ||
	    !ASSERT_OK(setxattr(path("ma"), FAMFS_XATTR_STRIPE, "1 2097152", 9, 0), "stripe ma") ||
	    !ASSERT_OK(setxattr(path("mb"), FAMFS_XATTR_STRIPE, "1 2097152", 9, 0), "stripe mb"))
		goto out;
	while (len < MIXED_MAX && !nsimple) {
		if (!ASSERT_EQ(pwrite(fa, data + len, MIXED_PIECE, len), MIXED_PIECE, "write ma") ||
		    !ASSERT_EQ(pwrite(fb, other + len, MIXED_PIECE, len), MIXED_PIECE, "write mb") ||
		    !ASSERT_TRUE(layout_counts("ma", &nsimple, &nileave), "layout of ma"))
			goto out;
		len += MIXED_PIECE;
	}
	printf("# ma: %u simple, %u interleaved extents after %llu MiB in turns with mb\n",
	       nsimple, nileave, (unsigned long long)(len / MiB));
	if (!ASSERT_GT(nsimple, 0, "ma has simple extents") ||
	    !ASSERT_EQ(nileave, FMAP_MAX_ILEAVE, "after FMAP_MAX_ILEAVE interleaved ones"))
		goto out;
	close(fa);
	close(fb);
	fa = fb = -1;

	/* the descriptor names both slices, readably */
	ino = ino_of("ma");
	if (ASSERT_TRUE(lookup_desc(ino), "bpftool: slots -> descs")) {
		printf("# ma's descriptor:\n%s", fixture_out);
		snprintf(want, sizeof(want), "\"nsimple\": %u,", nsimple);
		ASSERT_TRUE(strstr(fixture_out, want), "bpftool: its simple extents");
		snprintf(want, sizeof(want), "\"nileave\": %u,", nileave);
		ASSERT_TRUE(strstr(fixture_out, want), "bpftool: its interleaved extents");
	}

	/* nothing cached: every byte by BPF, from both kinds of extents */
	if (!remount(NULL))
		goto out;
	handled0 = fixture_resolver_stat(MNT, "handled");
	if (!ASSERT_GE(handled0, 0, "resolver stats"))
		goto out;
	reads_by("ma", data, len, true);
	printf("# resolver handled %lld -> %lld\n", handled0, fixture_resolver_stat(MNT, "handled"));
	ASSERT_GT(fixture_resolver_stat(MNT, "handled"), handled0 + (long long)FMAP_MAX_ILEAVE,
		  "the resolver answered for both kinds");
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	free(data);
	free(other);
}

/*
 * Three strips, one per pmem device, as make demo lays out its big file.
 * The device offsets are computed here from the geometry (chunk c on strip
 * c % 3, row c / 3), not by include/fmap.h.
 */
#define THREE_LEN	(40 * MiB + 4321)

static const char *const devs3[3] = { DEV, "/dev/pmem1", "/dev/pmem0" };

static bool three_on_devices(const char *name, const char *data, size_t len)
{
	const struct famfs_xattr_layout *h;
	const struct fmap_ileave_ext *ie;
	char *buf = NULL, *got = malloc(MiB);
	bool geometry = true, bytes = true;
	__u64 mapped = 0, off;
	ssize_t n = getxattr(path(name), FAMFS_XATTR_LAYOUT, NULL, 0);
	__u32 i, nileave = 0;

	if (!ASSERT_GT(n, (ssize_t)sizeof(*h), "layout size") || !got || !(buf = malloc(n)) ||
	    !ASSERT_EQ(getxattr(path(name), FAMFS_XATTR_LAYOUT, buf, n), n, "layout"))
		goto out;
	h = (const void *)buf;
	nileave = le32toh(h->nileave);
	printf("# %s: %u simple, %u interleaved extents\n", name, le32toh(h->nsimple), nileave);
	if (!ASSERT_EQ(le32toh(h->nsimple), 0, "no simple extents") ||
	    !ASSERT_GT(nileave, 0, "interleaved") ||
	    !ASSERT_EQ((size_t)n, sizeof(*h) + nileave * sizeof(*ie), "length"))
		goto out;
	ie = (const void *)(h + 1);
	for (i = 0; i < nileave; i++) {
		__u32 d0 = le32toh(ie[i].strips[0].dev), d1 = le32toh(ie[i].strips[1].dev);
		__u32 d2 = le32toh(ie[i].strips[2].dev);

		mapped += le64toh(ie[i].len);
		geometry &= ie[i].nstrips == 3 && ie[i].chunk_shift == 21 &&
			    d0 < 3 && d1 < 3 && d2 < 3 && d0 != d1 && d1 != d2 && d0 != d2 &&
			    !le32toh(ie[i].strips[3].dev) && !le64toh(ie[i].strips[3].dev_off);
	}
	if (!ASSERT_TRUE(geometry, "3 strips of 2 MiB, one on each device") ||
	    !ASSERT_GE(mapped, len, "the extents cover the file"))
		goto out;
	for (off = 0; off < len && bytes; off += MiB) {
		size_t piece = len - off < MiB ? len - off : MiB;
		const struct fmap_strip *st = NULL;
		__u64 rel = 0, c, dev_off = 0;

		for (i = 0; i < nileave && !st; i++) {
			if (off < le64toh(ie[i].file_off) ||
			    off - le64toh(ie[i].file_off) >= le64toh(ie[i].len))
				continue;
			rel = off - le64toh(ie[i].file_off);
			c = rel / CHUNK;
			st = &ie[i].strips[c % 3];
			dev_off = le64toh(st->dev_off) + (c / 3) * CHUNK + rel % CHUNK;
		}
		bytes = st && !dev_pread(devs3[le32toh(st->dev)], got, (piece + 4095) & ~4095UL,
					 dev_off) &&
			!memcmp(got, data + off, piece);
		if (!bytes)
			printf("# %s: MiB %llu not at %s offset %llu\n", name,
			       (unsigned long long)(off / MiB), st ? devs3[le32toh(st->dev)] : "-",
			       (unsigned long long)dev_off);
	}
	ASSERT_TRUE(bytes, "every MiB on the device the geometry names");
out:
	free(buf);
	free(got);
	return geometry && bytes;
}

static void test_three_strips(void)
{
	char *data = malloc(THREE_LEN), v[64];
	ssize_t n;
	int fd;

	fixture_ensure_unmounted(MNT);
	mkdir(MNT, 0755);
	if (!ASSERT_TRUE(data != NULL, "malloc") ||
	    !ASSERT_EQ(famfs("mkfs", "-f", devs3[0], devs3[1], devs3[2]), 0, "mkfs, 3 devices") ||
	    !ASSERT_EQ(famfs("mount", devs3[0], devs3[1], devs3[2], MNT), 0, "mount"))
		goto out;
	fill_pattern(data, THREE_LEN, 73);
	fd = open(path("t3"), O_CREAT | O_WRONLY, 0644);
	if (!ASSERT_OK_FD(fd, "create t3"))
		goto out;
	close(fd);
	ASSERT_ERR(setxattr(path("t3"), FAMFS_XATTR_STRIPE, "4 2097152", 9, 0), "4 of 3 devices");
	ASSERT_EQ(errno, EINVAL, "EINVAL");
	if (!ASSERT_OK(setxattr(path("t3"), FAMFS_XATTR_STRIPE, "3 2097152", 9, 0), "3 strips") ||
	    !write_file("t3", data, THREE_LEN, 8 * MiB))
		goto out;
	n = getxattr(path("t3"), FAMFS_XATTR_STRIPE, v, sizeof(v) - 1);
	if (ASSERT_GT(n, 0, "getxattr stripe")) {
		v[n] = '\0';
		ASSERT_STREQ(v, "3 2097152", "the policy");
	}
	check_file("t3", data, THREE_LEN, true);
	three_on_devices("t3", data, THREE_LEN);
	ASSERT_EQ(map_has(ino_of("t3")), 1, "bpftool: t3 in the maps");

	/* nothing cached: read(2) and mmap of every byte by BPF */
	if (!ASSERT_EQ(famfs("umount", MNT), 0, "umount") ||
	    !ASSERT_EQ(famfs("mount", devs3[0], devs3[1], devs3[2], MNT), 0, "mount again") ||
	    !ASSERT_EQ(stat_of("bpf_attached"), 1, "attached"))
		goto out;
	reads_by("t3", data, THREE_LEN, true);
	three_on_devices("t3", data, THREE_LEN);
out:
	fixture_ensure_unmounted(MNT);
	free(data);
}

void test_fs_bpf(void)
{
	char *big = malloc(BIG), *keep = malloc(KEEP);

	if (!ASSERT_TRUE(big && keep, "malloc") || !fixture_famfs_bin() ||
	    !fixture_find_binary("tools/bpftool/bpftool", tool, sizeof(tool)))
		goto out;
	fill_pattern(big, BIG, 7);
	fill_pattern(keep, KEEP, 8);
	if (test__start_subtest("mount"))
		test_mount();
	if (test__start_subtest("xattrs"))
		test_xattrs();
	if (test__start_subtest("write"))
		test_write(big, keep);
	if (test__start_subtest("reads"))
		test_reads(big);
	if (test__start_subtest("cut"))
		test_cut(big);
	if (test__start_subtest("links"))
		test_links(keep);
	if (test__start_subtest("explicit"))
		test_explicit(keep);
	if (test__start_subtest("upcall"))
		test_upcall(keep);
	if (test__start_subtest("mixed"))
		test_mixed();
	if (test__start_subtest("three_strips"))
		test_three_strips();
out:
	fixture_ensure_unmounted(MNT);
	free(big);
	free(keep);
}
