// SPDX-License-Identifier: GPL-2.0
/*
 * Mapped files on block devices without DAX (FUSE_ATTR_FMAP_BLOCK), on the
 * vehicle over the guest's two virtio-blk disks: buffered, direct and
 * mmap I/O with unaligned sizes and offsets read back what was written,
 * and after fsync the bytes are on the disks where the layout puts them,
 * simple and interleaved; holes read as zeroes and a write into one gets
 * storage; appends move the size; a truncate leaves no stale folio; each
 * resolver (upcall, built-in, BPF) serves the reads, BPF with no upcall;
 * a DAX device in a block file's mapping is rejected with EIO; 1,000
 * random operations against a model of the file (buffered, O_DIRECT and
 * mmap I/O, truncates, fsync, clean folios dropped), stat after every
 * write, then the bytes on the disk.
 *
 * Cost: about 12 s on the test kernel.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"
#include "xorshift.h"

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

/* File bytes [0, @len) of layout @l equal @want on the disks */
static bool on_disks(const struct fixture *fx, const struct fbs_layout *l,
		     const unsigned char *want, size_t len)
{
	/* O_DIRECT reads whole pages: extents are page-aligned, EOF not */
	unsigned char *got = malloc(len + 4096);
	struct fmap_mapping m;
	bool ok = got != NULL;
	__u64 off;

	for (off = 0; ok && off < len; off += m.len) {
		int err = l->kind == FBS_LAYOUT_SIMPLE ?
			  fmap_simple_resolve(l->simple, l->nsimple, off, &m) :
			  fmap_ileave_find_resolve(l->ileave, l->nileave, off, &m);

		if (!ASSERT_OK(err, "resolve") || !fixture_dev(fx, m.dev))
			ok = false;
		else if (m.len > len - off)
			m.len = len - off;
		if (ok && (dev_pread(fixture_dev(fx, m.dev), got, (m.len + 4095) & ~4095ULL,
				     m.dev_off) ||
			   memcmp(got, want + off, m.len))) {
			size_t i = 0, last = 0, nbad = 0, k;

			while (i < m.len && got[i] == want[off + i])
				i++;
			for (k = i; k < m.len; k++)
				if (got[k] != want[off + k])
					last = k, nbad++;
			printf("# disk bytes differ at file offset %llu: %#x vs %#x (%s at %llu); %zu bytes differ, the last at file offset %zu\n",
			       (unsigned long long)(off + i), got[i], want[off + i],
			       fixture_dev(fx, m.dev), (unsigned long long)(m.dev_off + i), nbad, (size_t)off + last);
			ok = false;
		}
	}
	free(got);
	return ok;
}

/*
 * Writes of random unaligned pieces, an O_DIRECT pass, a shared mapping:
 * each read back every way, then on the disks after fsync/msync.
 */
static void round_trips(struct fixture *fx, const char *name,
			const struct fbs_layout *l, size_t size, unsigned int seed)
{
	unsigned char *model = malloc(size), *back = malloc(size), *map = MAP_FAILED;
	void *dbuf = NULL;
	__u64 rng = seed * 2654435761u + 1;
	char path[128];
	struct statx stx;
	int fd = -1, dfd = -1, i;

	if (!ASSERT_TRUE(model && back, "malloc") ||
	    !ASSERT_OK(posix_memalign(&dbuf, 4096, 256 << 10), "memalign"))
		goto out;
	fixture_path(fx, name, path, sizeof(path));
	fd = open(path, O_RDWR);
	if (!ASSERT_OK_FD(fd, "open"))
		goto out;
	if (ASSERT_OK(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx), "statx"))
		ASSERT_FALSE(stx.stx_attributes & STATX_ATTR_DAX, "not DAX");
	/* the vehicle's new files read as zeroes */
	memset(model, 0, size);

	/* buffered, unaligned */
	for (i = 0; i < 64; i++) {
		size_t off = xorshift64(&rng) % size;
		size_t len = 1 + xorshift64(&rng) % (size - off < 300000 ? size - off : 300000);

		fill_pattern(model + off, len, seed + i);
		if (!ASSERT_EQ(pwrite(fd, model + off, len, off), (ssize_t)len, "pwrite"))
			goto out;
	}
	ASSERT_EQ(pread(fd, back, size, 0), (ssize_t)size, "pread");
	ASSERT_MEMEQ(back, model, size, "buffered reads == writes");
	ASSERT_OK(fsync(fd), "fsync");
	ASSERT_TRUE(on_disks(fx, l, model, size), "buffered writes on the disks");

	/* direct, aligned to the disks' 512-byte sectors, across extents */
	dfd = open(path, O_RDWR | O_DIRECT);
	if (!ASSERT_OK_FD(dfd, "open O_DIRECT"))
		goto out;
	for (i = 0; i < 16; i++) {
		size_t off = (xorshift64(&rng) % (size / 512)) * 512;
		size_t len = (1 + xorshift64(&rng) % 512) * 512;

		if (len > (size & ~511UL) - off)
			len = (size & ~511UL) - off;
		if (!len)
			continue;
		fill_pattern(dbuf, len, seed + 100 + i);
		memcpy(model + off, dbuf, len);
		if (!ASSERT_EQ(pwrite(dfd, dbuf, len, off), (ssize_t)len, "O_DIRECT pwrite"))
			goto out;
	}
	ASSERT_EQ(pread(fd, back, size, 0), (ssize_t)size, "pread after O_DIRECT");
	ASSERT_MEMEQ(back, model, size, "buffered reads see O_DIRECT writes");
	ASSERT_TRUE(on_disks(fx, l, model, size), "O_DIRECT writes on the disks");
	ASSERT_EQ(pread(dfd, dbuf, 256 << 10, 0), 256 << 10, "O_DIRECT pread");
	ASSERT_MEMEQ(dbuf, model, 256 << 10, "O_DIRECT read == model");

	/* a shared writable mapping */
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!ASSERT_TRUE(map != MAP_FAILED, "mmap"))
		goto out;
	ASSERT_MEMEQ(map, model, size, "mapping == model");
	for (i = 0; i < 16; i++) {
		size_t off = xorshift64(&rng) % size;
		size_t len = 1 + xorshift64(&rng) % (size - off < 70000 ? size - off : 70000);

		fill_pattern(model + off, len, seed + 200 + i);
		memcpy(map + off, model + off, len);
	}
	ASSERT_OK(msync(map, size, MS_SYNC), "msync");
	ASSERT_EQ(pread(fd, back, size, 0), (ssize_t)size, "pread after stores");
	ASSERT_MEMEQ(back, model, size, "read(2) == stores");
	ASSERT_TRUE(on_disks(fx, l, model, size), "stores on the disks");
out:
	if (map != MAP_FAILED)
		munmap(map, size);
	if (dfd >= 0)
		close(dfd);
	if (fd >= 0)
		close(fd);
	free(dbuf);
	free(model);
	free(back);
}

static void test_simple(struct fixture *fx)
{
	const struct fmap_simple_ext ext[] = {
		{ .file_off = 0, .len = 3 * MiB, .dev = 0, .dev_off = 8 * MiB },
		{ .file_off = 3 * MiB, .len = 3 * MiB, .dev = 1, .dev_off = 4 * MiB },
	};
	struct fbs_layout l;

	layout_simple(&l, 2, ext);
	if (ASSERT_OK(fbs_server_add_file(fx->srv, "simple", 6 * MiB - 1234, &l), "add"))
		round_trips(fx, "simple", &l, 6 * MiB - 1234, 1);
}

static void test_interleaved(struct fixture *fx)
{
	/* 64 KiB chunks over both disks: I/O splits at every boundary */
	const struct fmap_strip strips[] = {
		{ .dev = 0, .dev_off = 32 * MiB },
		{ .dev = 1, .dev_off = 32 * MiB },
	};
	struct fbs_layout l;

	layout_ileave(&l, 4 * MiB, 2, 16, strips);
	if (ASSERT_OK(fbs_server_add_file(fx->srv, "ileave", 4 * MiB - 77, &l), "add"))
		round_trips(fx, "ileave", &l, 4 * MiB - 77, 2);
}

/* A hole reads as zeroes; a write there gets fresh storage from the server */
static void test_holes(struct fixture *fx)
{
	const struct fmap_simple_ext ext[] = {
		{ .file_off = 0, .len = 1 * MiB, .dev = 0, .dev_off = 48 * MiB },
	};
	unsigned char *buf = malloc(4 * MiB), *zero = calloc(1, 4 * MiB), *back = malloc(8192);
	struct fmap_simple_ext got[8];
	struct fbs_layout l;
	char path[128];
	int fd = -1, n, i;

	/* old bytes on the disk under where the write will allocate */
	memset(buf, 0xa5, 4 * MiB);
	if (!ASSERT_TRUE(buf && zero && back, "malloc") ||
	    !ASSERT_OK(dev_pwrite(FX_BLK0, buf, 4 * MiB, 48 * MiB), "old bytes"))
		goto out;
	layout_simple(&l, 1, ext);
	if (!ASSERT_OK(fbs_server_add_file(fx->srv, "holes", 4 * MiB, &l), "add"))
		goto out;
	fd = open(fixture_path(fx, "holes", path, sizeof(path)), O_RDWR);
	if (!ASSERT_OK_FD(fd, "open"))
		goto out;
	ASSERT_EQ(pread(fd, buf, 4 * MiB, 0), 4 * MiB, "read");
	ASSERT_MEMEQ(buf + MiB, zero, 3 * MiB, "the hole reads as zeroes");
	fill_pattern(back, 5000, 9);
	ASSERT_EQ(pwrite(fd, back, 5000, 2 * MiB + 100), 5000, "write into the hole");
	ASSERT_OK(fsync(fd), "fsync");
	ASSERT_EQ(pread(fd, buf, 4 * MiB, 0), 4 * MiB, "read again");
	ASSERT_MEMEQ(buf + 2 * MiB + 100, back, 5000, "the write");
	ASSERT_MEMEQ(buf + MiB, zero, MiB + 100, "zeroes before it");
	ASSERT_MEMEQ(buf + 2 * MiB + 5100, zero, 2 * MiB - 5100, "zeroes after it");
	n = fixture_file_extents(fx, "holes", got, 8);
	ASSERT_EQ(n, 2, "the write got an extent");
	for (i = 0; i < n; i++) {
		if (got[i].file_off != 2 * MiB)
			continue;
		ASSERT_GE(got[i].dev_off, FX_BLK_ALLOC_START, "from the allocator");
		ASSERT_OK(dev_pread(FX_BLK0, buf, 8192, got[i].dev_off), "read the disk");
		ASSERT_MEMEQ(buf + 100, back, 5000, "on the disk");
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(zero);
	free(back);
}

/* Appends move the size; a truncate down and up leaves zeroes, no old folio */
static void test_size(struct fixture *fx)
{
	const struct fmap_simple_ext ext[] = {
		{ .file_off = 0, .len = 2 * MiB, .dev = 1, .dev_off = 64 * MiB },
	};
	unsigned char *data = malloc(MiB), *back = malloc(MiB), *zero = calloc(1, MiB);
	unsigned long ends0 = fbs_server_fmap_end_requests(fx->srv);
	struct fbs_layout l;
	struct stat st;
	char path[128];
	int fd = -1, i;

	layout_simple(&l, 1, ext);
	if (!ASSERT_TRUE(data && back && zero, "malloc") ||
	    !ASSERT_OK(fbs_server_add_file(fx->srv, "size", 0, &l), "add"))
		goto out;
	fd = open(fixture_path(fx, "size", path, sizeof(path)), O_RDWR | O_APPEND);
	if (!ASSERT_OK_FD(fd, "open"))
		goto out;
	fill_pattern(data, MiB, 21);
	for (i = 0; i < 100; i++)
		if (!ASSERT_EQ(write(fd, data + i * 1000, 1000), 1000, "append"))
			goto out;
	ASSERT_OK(fstat(fd, &st), "fstat");
	ASSERT_EQ(st.st_size, 100000, "the appends moved the size");
	ASSERT_OK(fsync(fd), "fsync");
	ASSERT_GT(fbs_server_fmap_end_requests(fx->srv), ends0, "the server heard the size");
	ASSERT_EQ(pread(fd, back, 100000, 0), 100000, "read");
	ASSERT_MEMEQ(back, data, 100000, "appended bytes");
	/* down into a page, then up: the cut bytes read as zeroes */
	ASSERT_OK(ftruncate(fd, 5000), "truncate down");
	ASSERT_OK(ftruncate(fd, 100000), "truncate up");
	ASSERT_EQ(pread(fd, back, 100000, 0), 100000, "read after truncates");
	ASSERT_MEMEQ(back, data, 5000, "kept bytes");
	ASSERT_MEMEQ(back + 5000, zero, 95000, "cut bytes read as zeroes");
out:
	if (fd >= 0)
		close(fd);
	free(data);
	free(back);
	free(zero);
}

/*
 * Random operations on one block file against a model of its bytes and
 * size: buffered and O_DIRECT writes and reads, stores through a shared
 * mapping, truncates down and up, fsync, and dropping clean folios so that
 * reads come from the disk again.  Every read and stat is compared; at the
 * end the bytes on the disk, where the server's extents say.  Writes into
 * holes allocate (zeroed 2 MiB units from FX_BLK_ALLOC_START).
 */
#define MODEL_MAX	(4 * MiB)

/*
 * Stores through a shared mapping, from a child: a fault that allocates
 * waits for the vehicle, which serves from a thread of this process and
 * may need this process's mmap_lock (its allocations), which a fault
 * retried under mmap_lock holds.  The daemon users run is another process.
 */
static int store_in_child(int fd, size_t size, size_t off, const void *data, size_t len,
			  bool sync)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (!pid) {
		unsigned char *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		if (map == MAP_FAILED)
			_exit(1);
		memcpy(map + off, data, len);
		if (sync && msync(map, size, MS_SYNC))
			_exit(2);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Clean page cache goes, so that reads come from the disks again */
static void drop_clean_folios(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

	if (ASSERT_OK_FD(fd, "drop_caches"))
		ASSERT_EQ(write(fd, "1", 1), 1, "drop_caches");
	if (fd >= 0)
		close(fd);
}

static bool model_check_read(int fd, int dfd, const unsigned char *model, size_t size,
			     __u64 *rng, void *dbuf)
{
	static unsigned char back[256 << 10];
	size_t off = xorshift64(rng) % (MODEL_MAX + 4096);
	size_t len = 1 + xorshift64(rng) % sizeof(back);
	size_t want = off >= size ? 0 : (size - off < len ? size - off : len);
	ssize_t n;

	if (xorshift64(rng) & 1) {
		n = pread(fd, back, len, off);
		return ASSERT_EQ(n, (ssize_t)want, "pread length") &&
		       ASSERT_MEMEQ(back, model + off, want, "pread bytes");
	}
	off &= ~4095UL;
	len = (len + 4095) & ~4095UL;
	want = off >= size ? 0 : (size - off < len ? size - off : len);
	n = pread(dfd, dbuf, len, off);
	return ASSERT_EQ(n, (ssize_t)want, "O_DIRECT pread length") &&
	       ASSERT_MEMEQ(dbuf, model + off, want, "O_DIRECT pread bytes");
}

static void test_model(struct fixture *fx)
{
	unsigned char *model = calloc(1, MODEL_MAX + (256 << 10)), *back = malloc(MODEL_MAX);
	struct fmap_simple_ext ext[64];
	__u64 seed = 0x5eed0000 + time(NULL) % 1000, rng = seed;
	unsigned int counts[8] = { 0 };
	size_t size = 0, i;
	void *dbuf = NULL;
	char path[128];
	int fd = -1, dfd = -1, n, op;

	printf("# seed %llu\n", (unsigned long long)seed);
	if (!ASSERT_TRUE(model && back, "malloc") ||
	    !ASSERT_OK(posix_memalign(&dbuf, 4096, 256 << 10), "memalign") ||
	    !ASSERT_OK(fbs_server_add_file(fx->srv, "model", 0, &(struct fbs_layout){
			.kind = FBS_LAYOUT_SIMPLE }), "add"))
		goto out;
	fixture_path(fx, "model", path, sizeof(path));
	fd = open(path, O_RDWR);
	dfd = open(path, O_RDWR | O_DIRECT);
	if (!ASSERT_OK_FD(fd, "open") || !ASSERT_OK_FD(dfd, "open O_DIRECT"))
		goto out;
	for (i = 0; i < 1000; i++) {
		size_t off = xorshift64(&rng) % MODEL_MAX, len = 1 + xorshift64(&rng) % 65536;
		struct stat st;

		if (off + len > MODEL_MAX)
			len = MODEL_MAX - off;
		op = xorshift64(&rng) % 100;
		if (getenv("FMAP_BLK_TRACE")) {
			printf("# op %zu: %d off %zu len %zu size %zu\n", i, op, off, len, size);
			fflush(stdout);
		}
		if (op < 25) {			/* buffered write */
			fill_pattern(model + off, len, i);
			if (!ASSERT_EQ(pwrite(fd, model + off, len, off), (ssize_t)len, "pwrite"))
				break;
			counts[0]++;
		} else if (op < 40) {		/* O_DIRECT write, whole pages */
			off &= ~4095UL;
			len = (len + 4095) & ~4095UL;
			if (off + len > MODEL_MAX)
				len = MODEL_MAX - off;
			fill_pattern(dbuf, len, i);
			memcpy(model + off, dbuf, len);
			if (!ASSERT_EQ(pwrite(dfd, dbuf, len, off), (ssize_t)len, "O_DIRECT pwrite"))
				break;
			counts[1]++;
		} else if (op < 52 && size) {	/* stores through a shared mapping */
			bool sync = xorshift64(&rng) & 1;

			off %= size;
			if (len > size - off)
				len = size - off;
			fill_pattern(model + off, len, i);
			if (!ASSERT_EQ(store_in_child(fd, size, off, model + off, len, sync), 0,
				       "stores through a mapping"))
				break;
			counts[2]++;
			continue;
		} else if (op < 54) {		/* truncate */
			size_t to = xorshift64(&rng) % MODEL_MAX;

			if (!ASSERT_OK(ftruncate(fd, to), "ftruncate"))
				break;
			if (to < size)
				memset(model + to, 0, size - to);
			size = to;
			counts[3]++;
			continue;
		} else if (op < 58) {		/* fsync, then clean folios go */
			ASSERT_OK(fsync(fd), "fsync");
			drop_clean_folios();
			counts[4]++;
			continue;
		} else {
			if (!model_check_read(fd, dfd, model, size, &rng, dbuf))
				break;
			counts[5]++;
			continue;
		}
		if (off + len > size)
			size = off + len;
		if (!ASSERT_OK(fstat(fd, &st), "fstat") ||
		    !ASSERT_EQ((size_t)st.st_size, size, "size after a write"))
			break;
	}
	printf("# %u writes, %u O_DIRECT writes, %u mmap runs, %u truncates, %u fsyncs, %u reads\n",
	       counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]);
	ASSERT_OK(fsync(fd), "fsync");
	drop_clean_folios();
	ASSERT_EQ(pread(fd, back, MODEL_MAX, 0), (ssize_t)size, "read it all");
	ASSERT_MEMEQ(back, model, size, "the file");
	/* on the disk, where the server's extents say; holes are zeroes */
	n = fixture_file_extents(fx, "model", ext, 64);
	if (ASSERT_GE(n, 0, "extents"))
		for (i = 0; i < (size_t)n && i < 64; i++) {
			size_t len = ext[i].file_off >= size ? 0 :
				     size - ext[i].file_off < ext[i].len ?
				     size - ext[i].file_off : ext[i].len;

			if (!len)
				continue;
			if (ASSERT_OK(dev_pread(fixture_dev(fx, ext[i].dev), back,
						(len + 4095) & ~4095UL, ext[i].dev_off), "disk"))
				ASSERT_MEMEQ(back, model + ext[i].file_off, len, "on the disk");
		}
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	free(dbuf);
	free(model);
	free(back);
}

/* The same file read through each resolver; BPF's reads need no upcall */
static void test_resolvers(void)
{
	static const enum fbs_resolver rs[] = {
		FBS_RESOLVER_UPCALL, FBS_RESOLVER_BUILTIN, FBS_RESOLVER_BPF,
	};
	const struct fmap_simple_ext ext[] = {
		{ .file_off = 0, .len = 1 * MiB, .dev = 0, .dev_off = 96 * MiB },
		{ .file_off = 1 * MiB, .len = 1 * MiB, .dev = 1, .dev_off = 96 * MiB },
	};
	unsigned char *data = malloc(2 * MiB), *back = malloc(2 * MiB);
	unsigned int i;

	if (!ASSERT_TRUE(data && back, "malloc"))
		goto out;
	fill_pattern(data, 2 * MiB, 31);
	if (!ASSERT_OK(dev_pwrite(FX_BLK0, data, MiB, 96 * MiB), "disk 0") ||
	    !ASSERT_OK(dev_pwrite(FX_BLK1, data + MiB, MiB, 96 * MiB), "disk 1"))
		goto out;
	for (i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
		struct fixture_opts o = { .block = true, .resolver = rs[i] };
		struct fixture fx = { 0 };
		struct fbs_layout l;
		long long up, ups;
		char path[128];
		int fd;

		if (!ASSERT_OK(fixture_mount(&fx, &o), "mount"))
			continue;
		layout_simple(&l, 2, ext);
		if (ASSERT_OK(fbs_server_add_file(fx.srv, "r", 2 * MiB, &l), "add")) {
			up = fixture_stat(&fx, "upcalls");
			fd = open(fixture_path(&fx, "r", path, sizeof(path)), O_RDONLY);
			if (ASSERT_OK_FD(fd, "open")) {
				ASSERT_EQ(pread(fd, back, 2 * MiB, 0), 2 * MiB, "read");
				ASSERT_MEMEQ(back, data, 2 * MiB, "the disks' bytes");
				close(fd);
			}
			ups = fixture_stat(&fx, "upcalls") - up;
			if (rs[i] == FBS_RESOLVER_BPF) {
				ASSERT_GT(fixture_stat(&fx, "bpf_resolves"), 0, "BPF resolved");
				ASSERT_EQ(ups, 0, "no upcall");
			} else if (rs[i] == FBS_RESOLVER_BUILTIN) {
				ASSERT_GT(fixture_stat(&fx, "builtin_resolves"), 0, "built-in");
			} else {
				ASSERT_GT(ups, 0, "upcalls");
			}
		}
		fixture_unmount(&fx);
	}
out:
	free(data);
	free(back);
}

/* A block file's mapping that names a DAX device: EIO, one reject */
static void test_kind_rule(struct fixture *fx)
{
	const struct fmap_simple_ext ext[] = {
		{ .file_off = 0, .len = 2 * MiB, .dev = 2, .dev_off = 0 },
	};
	long long rejects = fixture_stat(fx, "rejects");
	struct fbs_layout l;
	char path[128], buf[4096];
	int fd;

	layout_simple(&l, 1, ext);
	if (!ASSERT_OK(fbs_server_add_file(fx->srv, "kind", 2 * MiB, &l), "add"))
		return;
	fd = open(fixture_path(fx, "kind", path, sizeof(path)), O_RDONLY);
	if (!ASSERT_OK_FD(fd, "open"))
		return;
	errno = 0;
	ASSERT_EQ(pread(fd, buf, sizeof(buf), 0), -1, "read fails");
	ASSERT_EQ(errno, EIO, "with EIO");
	ASSERT_GT(fixture_stat(fx, "rejects"), rejects, "the validator rejected it");
	close(fd);
}

void test_fmap_blk(void)
{
	struct fixture_opts o = { .block = true };
	struct fixture fx = { 0 };

	if (access(FX_BLK1, F_OK)) {
		test__skip();
		return;
	}
	if (!ASSERT_OK(fixture_mount(&fx, &o), "mount"))
		return;
	if (test__start_subtest("simple"))
		test_simple(&fx);
	if (test__start_subtest("interleaved"))
		test_interleaved(&fx);
	if (test__start_subtest("holes"))
		test_holes(&fx);
	if (test__start_subtest("size"))
		test_size(&fx);
	if (test__start_subtest("kind_rule"))
		test_kind_rule(&fx);
	if (test__start_subtest("model"))
		test_model(&fx);
	fixture_unmount(&fx);
	if (test__start_subtest("resolvers"))
		test_resolvers();
}
