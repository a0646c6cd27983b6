// SPDX-License-Identifier: GPL-2.0
/*
 * Files and devices larger than 4 GiB.  Needs two pmem devices of more
 * than 16 GiB: vmtest.sh -N 18G adds two NVDIMMs (sparse host files) that
 * this test makes fsdax (ndctl); without them it skips.
 *
 * mkfs over both, then two files written straight into the log own each
 * device's first 16 GiB + 2 MiB (nothing zeroed or touched: the host only
 * backs what the guest writes), dense from offset 0, so the built-in
 * resolver (which takes only a layout without holes) serves them: "dense",
 * simple extents over both devices up to 12 GiB (a 24 GiB file), and
 * "dense_il", one interleaved extent of 2 strips of 2 MiB chunks over
 * [12 GiB, 16 GiB + 2 MiB) of both (an 8 GiB file).  Their pieces are
 * written onto the devices where the geometry says.  The daemon's own
 * allocations then land past 16 GiB of the devices.
 *  - offsets: "simple", written through the mount at file offsets across
 *    4 GiB, past 16 GiB and at 40 GiB, and "ileave" (user.famfs.stripe "2
 *    2097152"), across 4 GiB and past 16 GiB, and a fallocate past 20 GiB;
 *    the dense files at offsets across 4 GiB, across their extents and
 *    past 16 GiB of the file and of the device; every piece read back
 *    through read(2) and through mmap, with the BPF resolver and after a
 *    remount with the built-in one (the counters say each answered); the
 *    log says the daemon put every extent of its files past 16 GiB of the
 *    device and the striped file's are interleaved; fsck is clean.
 * Cost on the test kernel: 13.5 s (ndctl, mkfs, 3 mounts; each write
 * through the mount allocates and zeroes 2 or 16 MiB only); the guest,
 * boot included, 35 s.  The host backs only the pages written (tens of
 * MiB), not the 36 GiB of the NVDIMMs.  Whole multi-GiB files are not
 * written: under TCG that would take minutes and as much host memory.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <linux/falloc.h>
#include <time.h>
#include <unistd.h>

#include "famfs_format.h"
#include "famfs_xattr.h"
#include "fixture.h"
#include "fs/fs.h"
#include "fs/mlog.h"
#include "fs/ns.h"
#include "fs/super.h"
#include "test_progs.h"

#define MNT		"/tmp/fs_large.mnt"
#define GiB		(1024ULL * MiB)
#define BIG_MIN		(17 * GiB)	/* a device this size or more is one of ours */
#define FILL_END	(16 * GiB + 2 * MiB)	/* the dense files own each device below this */
#define SPLIT		(12 * GiB)	/* dense below, dense_il from here */
#define CHUNK_SHIFT	21
#define UNIT		FAMFS_ALLOC_UNIT
#define DENSE_INO	2ULL		/* the first inodes after the root */
#define DENSE_IL_INO	3ULL

#define famfs(...) fixture_famfs(FX_MERGE | FX_LOG_OUT, __VA_ARGS__)

static char devs[2][32];
static __u64 data_start[2];	/* each device's first unit of data */

static const char *path(const char *name)
{
	return fixture_join(MNT, name);
}

/* The dense files' sizes: what the log gives them. */
#define DENSE_LEN	((SPLIT - data_start[0]) + (SPLIT - data_start[1]))
#define DENSE_IL_LEN	(2 * (FILL_END - SPLIT))

/* One range of one file: @len bytes of fill_pattern(@seed) at @off. */
struct piece {
	const char *file;
	__u64 off;		/* the dense files: from their end if ~0 - n */
	size_t len;
	unsigned int seed;
};

#define FROM_END(n)	(~0ULL - (n))
static const struct piece pieces[] = {
	{ "simple", 4 * GiB - 8192, 64 * 1024, 11 },		/* across 4 GiB */
	{ "simple", 16 * GiB + 12345, MiB, 12 },		/* past 16 GiB */
	{ "simple", 40 * GiB + 7, 100 * 1000, 13 },		/* the file's end */
	{ "ileave", 4 * GiB - 3 * MiB, 5 * MiB, 21 },		/* across 4 GiB, chunks */
	{ "ileave", 17 * GiB + 5, 3 * MiB, 22 },		/* past 16 GiB */
	{ "dense", 4 * GiB - 8192, 64 * 1024, 31 },		/* across 4 GiB */
	{ "dense", 0, MiB, 32 },	/* across the two extents: set at run time */
	{ "dense", 17 * GiB + 12345, MiB, 33 },		/* past 16 GiB of the file */
	{ "dense", FROM_END(100 * 1000), 100 * 1000, 34 },	/* the end, on pmem 1 */
	{ "dense_il", 4 * GiB - 3 * MiB + 3, 5 * MiB, 41 },	/* across 4 GiB, chunks */
	{ "dense_il", FROM_END(3 * MiB + 5), 3 * MiB, 42 },	/* past 16 GiB of both devices */
};
#define NPIECES	(sizeof(pieces) / sizeof(pieces[0]))
#define FALLOC_OFF	(20 * GiB)
#define FALLOC_LEN	(4 * MiB)

static bool dense(const char *file)
{
	return !strncmp(file, "dense", 5);
}

static __u64 piece_off(const struct piece *pc)
{
	if (!strcmp(pc->file, "dense") && !pc->off)
		return SPLIT - data_start[0] - 4096;
	if (pc->off > FROM_END(64 * MiB))
		return (strcmp(pc->file, "dense") ? DENSE_IL_LEN : DENSE_LEN) - (~0ULL - pc->off);
	return pc->off;
}

/*
 * Where byte @off of a dense file is: device *@dev at *@dev_off, and how
 * many bytes on from there are contiguous (RAID-0 for dense_il).
 */
static __u64 dense_map(const char *file, __u64 off, unsigned int *dev, __u64 *dev_off)
{
	__u64 chunk = 1ULL << CHUNK_SHIFT, k;

	if (!strcmp(file, "dense_il")) {
		k = off >> CHUNK_SHIFT;
		*dev = k & 1;
		*dev_off = SPLIT + ((k >> 1) << CHUNK_SHIFT) + (off & (chunk - 1));
		return chunk - (off & (chunk - 1));
	}
	if (off < SPLIT - data_start[0]) {
		*dev = 0;
		*dev_off = data_start[0] + off;
		return SPLIT - data_start[0] - off;
	}
	*dev = 1;
	*dev_off = data_start[1] + off - (SPLIT - data_start[0]);
	return DENSE_LEN - off;
}

/* @len bytes at any @off of @dev: dev_pwrite() is O_DIRECT, so whole pages around them. */
static int dev_write_any(const char *dev, const char *data, __u64 len, __u64 off)
{
	__u64 from = off & ~4095ULL, to = (off + len + 4095) & ~4095ULL;
	char *buf = malloc(to - from);
	int err = -ENOMEM;

	if (buf) {
		err = dev_pread(dev, buf, to - from, from);
		memcpy(buf + (off - from), data, len);
		if (!err)
			err = dev_pwrite(dev, buf, to - from, from);
	}
	free(buf);
	return err;
}

/* A dense file's piece, written onto the devices where its bytes are. */
static bool write_dense(const struct piece *pc, const char *data)
{
	__u64 off = piece_off(pc), done, n, dev_off;
	unsigned int dev;

	for (done = 0; done < pc->len; done += n) {
		n = dense_map(pc->file, off + done, &dev, &dev_off);
		if (n > pc->len - done)
			n = pc->len - done;
		if (!ASSERT_OK(dev_write_any(devs[dev], data + done, n, dev_off), "write a device"))
			return false;
	}
	return true;
}

static __u64 file_end(const char *file)
{
	__u64 end = 0;
	size_t i;

	if (dense(file))
		return strcmp(file, "dense") ? DENSE_IL_LEN : DENSE_LEN;
	for (i = 0; i < NPIECES; i++)
		if (!strcmp(pieces[i].file, file) && pieces[i].off + pieces[i].len > end)
			end = pieces[i].off + pieces[i].len;
	return end;
}

static __u64 read_u64(const char *file)
{
	char buf[64] = "";
	int fd = open(file, O_RDONLY);

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) < 0)
			buf[0] = '\0';
		close(fd);
	}
	return strtoull(buf, NULL, 0);
}

/*
 * The two big namespaces, made fsdax with their struct pages in RAM; their
 * block devices into devs[].  False (and skipped) without them.
 */
static bool big_devices(void)
{
	char file[300], cmd[400], *p;
	struct dirent *de;
	unsigned int n = 0;
	DIR *d = opendir("/sys/bus/nd/devices");

	while (d && n < 2 && (de = readdir(d))) {
		if (strncmp(de->d_name, "namespace", 9))
			continue;
		snprintf(file, sizeof(file), "/sys/bus/nd/devices/%s/size", de->d_name);
		if (read_u64(file) < BIG_MIN)
			continue;
		snprintf(cmd, sizeof(cmd), "ndctl create-namespace -f -e %s -m fsdax --map=mem",
			 de->d_name);
		if (!ASSERT_EQ(fixture_cmd(FX_MERGE, "sh", "-c", cmd), 0, cmd))
			break;
		p = strstr(fixture_out, "\"blockdev\":\"");
		if (!ASSERT_TRUE(p != NULL, "ndctl names the block device"))
			break;
		p += strlen("\"blockdev\":\"");
		snprintf(devs[n], sizeof(devs[n]), "/dev/%.*s", (int)strcspn(p, "\""), p);
		n++;
	}
	if (d)
		closedir(d);
	if (n < 2) {
		printf("# needs two pmem devices of %llu GiB or more (vmtest.sh -N 18G): skipped\n",
		       BIG_MIN / GiB);
		test__skip();
		return false;
	}
	printf("# big devices: %s, %s\n", devs[0], devs[1]);
	return true;
}

/* The dense files: CREATE + ALLOC each, in the log, as mkfs left it. */
static bool write_dense_files(void)
{
	struct famfs_mlog_result res;
	struct famfs_mlog_writer w;
	struct famfs_mlog_entry e;
	struct fmap_simple_ext ext[2];
	struct fmap_ileave_ext ie;
	struct famfs_sb_info info;
	struct famfs_mlog_devtab tab;
	void *sb = malloc(FAMFS_SB_SIZE), *log = NULL;
	char msg[256];
	bool ok = false;
	unsigned int i;

	if (!ASSERT_TRUE(sb != NULL, "malloc") ||
	    !ASSERT_OK(dev_pread(devs[0], sb, FAMFS_SB_SIZE, FAMFS_SB_OFF), "read superblock") ||
	    !ASSERT_OK(famfs_sb_decode(sb, FAMFS_SB_SIZE, &info, msg, sizeof(msg)), msg))
		goto out;
	log = malloc(info.log_len);
	if (!ASSERT_TRUE(log != NULL, "malloc") ||
	    !ASSERT_OK(dev_pread(devs[0], log, info.log_len, info.log_off), "read the log"))
		goto out;
	tab = info.devs;
	famfs_mlog_replay(log, info.log_len, info.fs_uuid, &tab, NULL, NULL, &res);
	if (!ASSERT_OK(res.err, "replay the new log") ||
	    !ASSERT_OK(famfs_mlog_writer_init(&w, log, info.log_len, info.fs_uuid, &res),
		       "writer"))
		goto out;
	for (i = 0; i < 2; i++) {
		data_start[i] = (info.devs.devs[i].data_off + UNIT - 1) & ~(UNIT - 1);
		if (!ASSERT_GT(info.devs.devs[i].size, FILL_END + 64 * MiB, "room past the fill"))
			goto out;
	}
	ext[0] = (struct fmap_simple_ext){ .file_off = 0, .len = SPLIT - data_start[0],
					   .dev = 0, .dev_off = data_start[0] };
	ext[1] = (struct fmap_simple_ext){ .file_off = SPLIT - data_start[0],
					   .len = SPLIT - data_start[1],
					   .dev = 1, .dev_off = data_start[1] };
	memset(&ie, 0, sizeof(ie));
	ie.file_off = 0;
	ie.len = DENSE_IL_LEN;
	ie.nstrips = 2;
	ie.chunk_shift = CHUNK_SHIFT;
	ie.strips[0] = (struct fmap_strip){ .dev = 0, .dev_off = SPLIT };
	ie.strips[1] = (struct fmap_strip){ .dev = 1, .dev_off = SPLIT };

	memset(&e, 0, sizeof(e));
	e.type = FAMFS_LOG_CREATE;
	e.mknod.parent = FAMFS_ROOT_INO;
	e.mknod.mode = 0644;
	e.mknod.time.sec = time(NULL);
	e.mknod.ino = DENSE_INO;
	e.mknod.size = DENSE_LEN;
	snprintf(e.name, sizeof(e.name), "dense");
	if (!ASSERT_OK(famfs_mlog_append(&w, &e), "append CREATE dense"))
		goto out;
	e.mknod.ino = DENSE_IL_INO;
	e.mknod.size = DENSE_IL_LEN;
	snprintf(e.name, sizeof(e.name), "dense_il");
	if (!ASSERT_OK(famfs_mlog_append(&w, &e), "append CREATE dense_il"))
		goto out;
	memset(&e, 0, sizeof(e));
	e.type = FAMFS_LOG_ALLOC;
	e.alloc.ino = DENSE_INO;
	e.nsimple = 2;
	e.simple = ext;
	if (!ASSERT_OK(famfs_mlog_append(&w, &e), "append ALLOC dense"))
		goto out;
	e.alloc.ino = DENSE_IL_INO;
	e.nsimple = 0;
	e.simple = NULL;
	e.nileave = 1;
	e.ileave = &ie;
	if (!ASSERT_OK(famfs_mlog_append(&w, &e), "append ALLOC dense_il"))
		goto out;
	ok = ASSERT_OK(dev_pwrite(devs[0], log, info.log_len, info.log_off), "write the log");
out:
	free(log);
	free(sb);
	return ok;
}

/* Every piece, through read(2) and through a mapping of its pages. */
static void check_pieces(const char *how)
{
	static char want[5 * MiB], got[5 * MiB];
	char what[96];
	size_t i;

	for (i = 0; i < NPIECES; i++) {
		const struct piece *pc = &pieces[i];
		__u64 off = piece_off(pc), moff = off & ~(__u64)(4096 - 1);
		size_t mlen = off + pc->len - moff;
		int fd = open(path(pc->file), O_RDONLY);
		struct stat st;
		char *m;

		snprintf(what, sizeof(what), "%s: %s %zu bytes at %llu", how, pc->file, pc->len,
			 (unsigned long long)off);
		if (!ASSERT_OK_FD(fd, what))
			continue;
		if (ASSERT_OK(fstat(fd, &st), "fstat"))
			ASSERT_EQ(st.st_size, (off_t)file_end(pc->file), "size");
		fill_pattern(want, pc->len, pc->seed);
		memset(got, 0, pc->len);
		if (ASSERT_EQ(pread(fd, got, pc->len, off), (ssize_t)pc->len, what))
			ASSERT_MEMEQ(got, want, pc->len, what);
		m = mmap(NULL, mlen, PROT_READ, MAP_SHARED, fd, moff);
		if (ASSERT_TRUE(m != MAP_FAILED, "mmap")) {
			ASSERT_MEMEQ(m + (off - moff), want, pc->len, "mmap");
			munmap(m, mlen);
		}
		close(fd);
	}
}

/* Every extent of @ino past FILL_END on its device; counts interleaved ones. */
struct ext_check {
	__u64 low;		/* extents or strips below FILL_END */
	__u64 simple, ileave;
	__u64 max_dev_off;
};

static int ext_fn(void *ctx, __u64 ino, const struct fmap_simple_ext *simple, __u32 nsimple,
		  const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	struct ext_check *c = ctx;
	__u32 i, s;

	(void)ino;
	for (i = 0; i < nsimple; i++, c->simple++) {
		c->low += simple[i].dev_off < FILL_END;
		if (simple[i].dev_off > c->max_dev_off)
			c->max_dev_off = simple[i].dev_off;
	}
	for (i = 0; i < nileave; i++, c->ileave++)
		for (s = 0; s < ileave[i].nstrips; s++) {
			c->low += ileave[i].strips[s].dev_off < FILL_END;
			if (ileave[i].strips[s].dev_off > c->max_dev_off)
				c->max_dev_off = ileave[i].strips[s].dev_off;
		}
	return 0;
}

static void check_extents(void)
{
	const char *const dv[] = { devs[0], devs[1] };
	static const char *const names[] = { "simple", "ileave" };
	struct fs *fs = NULL;
	char msg[256];
	size_t k;
	__u64 ino;

	if (!ASSERT_OK(fs_open(dv, 2, 0, &fs, msg, sizeof(msg)), "open read-only"))
		return;
	for (k = 0; k < 2; k++) {
		struct ext_check c = { 0 };

		if (!ASSERT_OK(ns_lookup(fs_ns(fs), FAMFS_ROOT_INO, names[k], &ino), names[k]) ||
		    !ASSERT_OK(ns_get_layout(fs_ns(fs), ino, ext_fn, &c), "layout"))
			continue;
		printf("# %s: %llu simple, %llu interleaved extents, the highest at %llu of its device\n",
		       names[k], (unsigned long long)c.simple, (unsigned long long)c.ileave,
		       (unsigned long long)c.max_dev_off);
		ASSERT_EQ(c.low, 0, "every extent past 16 GiB of its device");
		if (k == 1)
			ASSERT_GT(c.ileave, 0, "the striped file is interleaved");
		else
			ASSERT_GT(c.simple, 0, "the other has simple extents");
	}
	fs_close(fs);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_offsets(void)
{
	static char buf[2 * FALLOC_LEN];
	double t0 = now_s();
	long long bpf0;
	size_t i;
	int fd;

	if (!big_devices())
		return;
	fixture_ensure_unmounted(MNT);
	mkdir(MNT, 0755);
	if (!ASSERT_EQ(famfs("mkfs", "-f", devs[0], devs[1]), 0, "mkfs, 2 big devices") ||
	    !write_dense_files() ||
	    !ASSERT_EQ(famfs("fsck", devs[0], devs[1]), 0, "fsck with the dense files") ||
	    !ASSERT_EQ(famfs("mount", devs[0], devs[1], MNT), 0, "mount"))
		goto out;
	fd = open(path("ileave"), O_CREAT | O_RDWR, 0644);
	if (!ASSERT_OK_FD(fd, "create ileave") ||
	    !ASSERT_OK(fsetxattr(fd, FAMFS_XATTR_STRIPE, "2 2097152", 9, 0), "stripe"))
		goto out;
	close(fd);
	for (i = 0; i < NPIECES; i++) {
		fill_pattern(buf, pieces[i].len, pieces[i].seed);
		if (dense(pieces[i].file)) {
			if (!write_dense(&pieces[i], buf))
				goto out;
			continue;
		}
		fd = open(path(pieces[i].file), O_CREAT | O_RDWR, 0644);
		if (!ASSERT_OK_FD(fd, pieces[i].file))
			goto out;
		ASSERT_EQ(pwrite(fd, buf, pieces[i].len, pieces[i].off), (ssize_t)pieces[i].len,
			  "write at a large offset");
		ASSERT_OK(fsync(fd), "fsync");
		close(fd);
	}
	/* fallocate past 20 GiB, inside the file's size: zeroes */
	fd = open(path("simple"), O_RDWR);
	if (ASSERT_OK_FD(fd, "open simple")) {
		if (ASSERT_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, FALLOC_OFF, FALLOC_LEN),
			      "fallocate past 20 GiB") &&
		    ASSERT_EQ(pread(fd, buf, FALLOC_LEN, FALLOC_OFF), (ssize_t)FALLOC_LEN, "read")) {
			memset(buf + FALLOC_LEN, 0, FALLOC_LEN);
			ASSERT_MEMEQ(buf, buf + FALLOC_LEN, FALLOC_LEN, "fallocated space reads 0");
		}
		close(fd);
	}
	printf("# written in %.1f s\n", now_s() - t0);

	/* the BPF resolver (the default): fresh from the log after a remount */
	if (!ASSERT_EQ(famfs("umount", MNT), 0, "umount") ||
	    !ASSERT_EQ(famfs("mount", devs[0], devs[1], MNT), 0, "mount, BPF"))
		goto out;
	bpf0 = fixture_mnt_stat(MNT, "bpf_resolves");
	check_pieces("bpf");
	ASSERT_GT(fixture_mnt_stat(MNT, "bpf_resolves"), bpf0, "the BPF resolver answered");
	if (!ASSERT_EQ(famfs("umount", MNT), 0, "umount") ||
	    !ASSERT_EQ(famfs("mount", "-o", "resolver=builtin", devs[0], devs[1], MNT), 0,
		       "mount, built-in"))
		goto out;
	bpf0 = fixture_mnt_stat(MNT, "builtin_resolves");
	check_pieces("builtin");
	ASSERT_GT(fixture_mnt_stat(MNT, "builtin_resolves"), bpf0, "the built-in resolver answered");
	if (!ASSERT_EQ(famfs("umount", MNT), 0, "umount"))
		goto out;
	check_extents();
	ASSERT_EQ(famfs("fsck", devs[0], devs[1]), 0, "fsck");
	printf("# offsets: %.1f s\n", now_s() - t0);
out:
	fixture_ensure_unmounted(MNT);
}

void test_fs_large(void)
{
	if (!fixture_famfs_bin())
		return;
	if (test__start_subtest("offsets"))
		test_offsets();
}
