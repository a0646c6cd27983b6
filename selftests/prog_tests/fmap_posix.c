// SPDX-License-Identifier: GPL-2.0
/*
 * Local-file-system semantics that do not depend on the resolver:
 *  - unlink_open_file: an unlinked file stays readable and writable (also
 *    through mmap) through the fds that have it open, until the last close;
 *    its name is gone at once;
 *  - truncate_down_up: after ftruncate down and up again, the bytes past the
 *    cut read as zeroes (read(2) and mmap), the rest is intact, and stat
 *    agrees; o_trunc: the same through open(O_TRUNC);
 *  - space_reused_after_close: an unlinked file's space goes back to the
 *    allocator only after its last close;
 *  - copy_file_range: from one mapped file into another, past its end;
 *  - permissions: the mount is shared (allow_other), so the kernel checks
 *    the mode bits (default_permissions): another user reads a 0644 file
 *    it does not own, but cannot write it or create files in the root;
 *  - rename_over_open_file: a file replaced by a rename keeps answering
 *    through its fd, as after an unlink (fstat with nlink 0, read, write,
 *    mmap, extend, truncate, fchmod) until its last close; the name shows
 *    the new file, also after a remount.  fstests' generic/035 found fstat
 *    failing here;
 *  - inode_stays_cached: with CONFIG_FUSE_DAX, reopening a file after its
 *    attributes were refreshed finds the mappings cached before (the
 *    daemon with resolver=upcall, whose upcalls count the misses).
 * Each runs on the daemon users run (a famfs-bpf mount of /dev/pmem2),
 * about 2 s each.  On the test vehicle only:
 *  - hole_before_interleaved: a hand-made interleaved extent over two
 *    devices after a hole, its cached mappings dropped by set_layout (the
 *    daemon's file system here has one device and never swaps a layout).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

#define SIZE (4 * MiB)

/*
 * Mount, create @name and write SIZE pattern bytes (@seed) into it: the
 * fd, or -1 after a failed check.  @data and @back are SIZE buffers.
 */
static int mount_written_file(struct fixture *fx, const struct fixture_opts *opts,
			      const char *name, char *path, size_t path_size,
			      unsigned char *data, unsigned char *back,
			      unsigned int seed)
{
	int fd;

	if (!ASSERT_TRUE(data && back, "malloc") ||
	    !ASSERT_OK(fixture_mount(fx, opts), "mount"))
		return -1;
	fill_pattern(data, SIZE, seed);
	fixture_path(fx, name, path, path_size);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (!ASSERT_OK_FD(fd, "create"))
		return -1;
	if (!ASSERT_EQ(pwrite(fd, data, SIZE, 0), SIZE, "write")) {
		close(fd);
		return -1;
	}
	return fd;
}

static void unlink_open_file(const struct fixture_opts *opts)
{
	unsigned char *data = malloc(SIZE), *back = malloc(SIZE);
	struct fixture fx = { 0 };
	volatile unsigned char *map = MAP_FAILED;
	char path[128];
	struct stat st;
	int fd = -1;

	fd = mount_written_file(&fx, opts, "doomed", path, sizeof(path),
				data, back, 77);
	if (fd < 0)
		goto out;
	map = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_TRUE(map != MAP_FAILED, "mmap");

	if (!ASSERT_OK(unlink(path), "unlink"))
		goto out;
	errno = 0;
	ASSERT_ERR(stat(path, &st), "the name is gone");
	ASSERT_EQ(errno, ENOENT, "with ENOENT");
	if (ASSERT_OK(fstat(fd, &st), "fstat of the open file")) {
		ASSERT_EQ(st.st_size, SIZE, "size kept");
		ASSERT_EQ(st.st_nlink, 0, "no links");
	}
	ASSERT_EQ(pread(fd, back, SIZE, 0), SIZE, "read after unlink");
	ASSERT_MEMEQ(back, data, SIZE, "same bytes");
	fill_pattern(data, 4096, 78);
	ASSERT_EQ(pwrite(fd, data, 4096, 1 * MiB), 4096, "write after unlink");
	ASSERT_EQ(pread(fd, back, 4096, 1 * MiB), 4096, "read it back");
	ASSERT_MEMEQ(back, data, 4096, "the write landed");
	if (map != MAP_FAILED)
		ASSERT_MEMEQ((const void *)(map + 1 * MiB), data, 4096,
			     "and shows through the mapping");
	/* an extending write reports its size: the server must still know it */
	ASSERT_EQ(pwrite(fd, data, 4096, SIZE), 4096, "extend after unlink");
	ASSERT_EQ(pread(fd, back, 4096, SIZE), 4096, "read the new end");
	ASSERT_MEMEQ(back, data, 4096, "the extension landed");
	if (ASSERT_OK(fstat(fd, &st), "fstat"))
		ASSERT_EQ(st.st_size, SIZE + 4096, "size after the extension");
out:
	if (map != MAP_FAILED)
		munmap((void *)map, SIZE);
	if (fd >= 0)
		close(fd);
	fixture_unmount(&fx);
	free(data);
	free(back);
}

static bool dev_ranges_overlap(const struct fmap_simple_ext *a, int na,
			       const struct fmap_simple_ext *b, int nb)
{
	int i, j;

	for (i = 0; i < na; i++)
		for (j = 0; j < nb; j++)
			if (a[i].dev == b[j].dev &&
			    a[i].dev_off < b[j].dev_off + b[j].len &&
			    b[j].dev_off < a[i].dev_off + a[i].len)
				return true;
	return false;
}

/*
 * The space of an unlinked file is given back only once the last fd is
 * closed (its last RELEASE): before, a full device says ENOSPC and new
 * files get other space; after, a new file gets its space.
 */
static void space_reused_after_close(const struct fixture_opts *base)
{
	const struct timespec poll = { .tv_nsec = 20 * 1000 * 1000 };
	struct fixture_opts opts = *base;
	struct fmap_simple_ext ea[8], eb[8], ec[8];
	unsigned char *data = malloc(SIZE), *back = malloc(SIZE);
	struct fixture fx = { 0 };
	char path[128], pb[128], pc[128];
	int fd = -1, fb = -1, fc = -1, na, nb, nc = 0, i;
	ssize_t n = -1;

	/* room for two files of SIZE, no more (a filler takes the rest) */
	opts.alloc_bytes = 2 * SIZE;
	fd = mount_written_file(&fx, &opts, "a", path, sizeof(path),
				data, back, 81);
	if (fd < 0)
		goto out;
	na = fixture_file_extents(&fx, "a", ea, 8);
	if (!ASSERT_GT(na, 0, "a's extents") || !ASSERT_OK(unlink(path), "unlink a"))
		goto out;

	fb = open(fixture_path(&fx, "b", pb, sizeof(pb)), O_RDWR | O_CREAT | O_EXCL, 0644);
	if (!ASSERT_OK_FD(fb, "create b") ||
	    !ASSERT_EQ(pwrite(fb, data, SIZE, 0), SIZE, "write b"))
		goto out;
	nb = fixture_file_extents(&fx, "b", eb, 8);
	if (ASSERT_GT(nb, 0, "b's extents"))
		ASSERT_FALSE(dev_ranges_overlap(ea, na, eb, nb),
			     "b does not get the open file's space");
	fc = open(fixture_path(&fx, "c", pc, sizeof(pc)), O_RDWR | O_CREAT | O_EXCL, 0644);
	if (!ASSERT_OK_FD(fc, "create c"))
		goto out;
	errno = 0;
	ASSERT_ERR(pwrite(fc, data, 4096, 0), "device full while a is open");
	ASSERT_EQ(errno, ENOSPC, "with ENOSPC");

	close(fd);
	fd = -1;
	/* the last RELEASE reaches the daemon asynchronously */
	for (i = 0; i < 250 && n != 4096; i++) {
		n = pwrite(fc, data, 4096, 0);
		if (n != 4096)
			nanosleep(&poll, NULL);
	}
	ASSERT_EQ(n, 4096, "after the close, c gets space");
	nc = fixture_file_extents(&fx, "c", ec, 8);
	if (ASSERT_GT(nc, 0, "c's extents"))
		ASSERT_TRUE(dev_ranges_overlap(ea, na, ec, nc),
			    "c gets space that a had");
	ASSERT_EQ(pread(fc, back, 4096, 0), 4096, "read c");
	ASSERT_MEMEQ(back, data, 4096, "c's bytes");
out:
	if (fc >= 0)
		close(fc);
	if (fb >= 0)
		close(fb);
	if (fd >= 0)
		close(fd);
	fixture_unmount(&fx);
	free(data);
	free(back);
}

static bool all_zero(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

#define CUT (3 * MiB + 100)

static void truncate_down_up(const struct fixture_opts *opts, bool o_trunc)
{
	unsigned char *data = malloc(SIZE), *back = malloc(SIZE);
	volatile unsigned char *map;
	struct fixture fx = { 0 };
	__u64 cut = o_trunc ? 0 : CUT;
	char path[128];
	struct stat st;
	int fd = -1;

	fd = mount_written_file(&fx, opts, "cut", path, sizeof(path),
				data, back, 79);
	if (fd < 0)
		goto out;
	if (o_trunc) {
		close(fd);
		fd = open(path, O_RDWR | O_TRUNC);
		if (!ASSERT_OK_FD(fd, "open(O_TRUNC)"))
			goto out;
	} else if (!ASSERT_OK(ftruncate(fd, cut), "truncate down")) {
		goto out;
	}
	if (ASSERT_OK(stat(path, &st), "stat"))
		ASSERT_EQ(st.st_size, cut, "size after the cut");
	if (!ASSERT_OK(ftruncate(fd, SIZE), "truncate up"))
		goto out;
	if (ASSERT_OK(stat(path, &st), "stat"))
		ASSERT_EQ(st.st_size, SIZE, "size after growing");
	if (!ASSERT_EQ(pread(fd, back, SIZE, 0), SIZE, "read all"))
		goto out;
	ASSERT_MEMEQ(back, data, cut, "bytes before the cut intact");
	ASSERT_TRUE(all_zero(back + cut, SIZE - cut), "bytes past the cut read as zeroes");
	map = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (ASSERT_TRUE(map != MAP_FAILED, "mmap")) {
		ASSERT_TRUE(all_zero((const unsigned char *)map + cut, SIZE - cut),
			    "and through mmap");
		munmap((void *)map, SIZE);
	}
out:
	if (fd >= 0)
		close(fd);
	fixture_unmount(&fx);
	free(data);
	free(back);
}

/*
 * copy_file_range(2) from one mapped file into the middle and past the end
 * of another: the bytes land, the size moves, and the source is untouched.
 * (The server does not implement FUSE_COPY_FILE_RANGE, so the kernel copies
 * through the files' read and write paths.)
 */
static void copy_range(const struct fixture_opts *opts)
{
	unsigned char *data = malloc(SIZE), *back = malloc(SIZE);
	const off_t in = MiB + 4096, out = 3 * MiB + 12345;
	const size_t len = 2 * MiB;
	struct fixture fx = { 0 };
	char path[128], dpath[128];
	loff_t off_in = in, off_out = out;
	struct stat st;
	int fd = -1, dfd = -1;

	fd = mount_written_file(&fx, opts, "src", path, sizeof(path),
				data, back, 83);
	if (fd < 0)
		goto out;
	dfd = open(fixture_path(&fx, "dst", dpath, sizeof(dpath)),
		   O_RDWR | O_CREAT | O_EXCL, 0644);
	if (!ASSERT_OK_FD(dfd, "create destination") ||
	    !ASSERT_EQ(pwrite(dfd, data, SIZE, 0), SIZE, "fill destination"))
		goto out;
	ASSERT_EQ(copy_file_range(fd, &off_in, dfd, &off_out, len, 0), len,
		  "copy_file_range");
	if (ASSERT_OK(fstat(dfd, &st), "fstat"))
		ASSERT_EQ(st.st_size, out + len, "destination grew");
	if (!ASSERT_EQ(pread(dfd, back, out, 0), out, "read head"))
		goto out;
	ASSERT_MEMEQ(back, data, out, "destination before the copy intact");
	if (!ASSERT_EQ(pread(dfd, back, len, out), len, "read copy"))
		goto out;
	ASSERT_MEMEQ(back, data + in, len, "copied bytes");
	if (ASSERT_EQ(pread(fd, back, SIZE, 0), SIZE, "read source"))
		ASSERT_MEMEQ(back, data, SIZE, "source intact");
out:
	if (dfd >= 0)
		close(dfd);
	if (fd >= 0)
		close(fd);
	fixture_unmount(&fx);
	free(data);
	free(back);
}

/*
 * rename(2) replaces a file that is open and mapped: it becomes what an
 * unlinked open file is, answering every call through its fd until its
 * last close, with nlink 0; the name is the new file's.
 */
static void rename_over_open_file(const struct fixture_opts *opts)
{
	unsigned char *data = malloc(SIZE), *back = malloc(SIZE), *other = malloc(SIZE);
	volatile unsigned char *map = MAP_FAILED;
	struct fixture fx = { 0 };
	char path[128], npath[128];
	struct stat st, nst;
	int fd = -1, nfd = -1;

	fd = mount_written_file(&fx, opts, "victim", path, sizeof(path), data, back, 91);
	if (fd < 0 || !ASSERT_TRUE(other != NULL, "malloc"))
		goto out;
	map = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_TRUE(map != MAP_FAILED, "mmap the victim");
	fill_pattern(other, SIZE / 2, 92);
	nfd = open(fixture_path(&fx, "new", npath, sizeof(npath)),
		   O_RDWR | O_CREAT | O_EXCL, 0644);
	if (!ASSERT_OK_FD(nfd, "create new") ||
	    !ASSERT_EQ(pwrite(nfd, other, SIZE / 2, 0), SIZE / 2, "write new") ||
	    !ASSERT_OK(fstat(nfd, &nst), "fstat new"))
		goto out;
	close(nfd);
	nfd = -1;
	if (!ASSERT_OK(rename(npath, path), "rename new over the victim"))
		goto out;

	if (ASSERT_OK(stat(path, &st), "stat the name")) {
		ASSERT_EQ(st.st_ino, nst.st_ino, "the name is the new file");
		ASSERT_EQ(st.st_size, SIZE / 2, "with its size");
	}
	if (ASSERT_OK(fstat(fd, &st), "fstat of the replaced file")) {
		ASSERT_EQ(st.st_nlink, 0, "no links");
		ASSERT_EQ(st.st_size, SIZE, "size kept");
		ASSERT_NEQ(st.st_ino, nst.st_ino, "its own inode");
	}
	ASSERT_EQ(pread(fd, back, SIZE, 0), SIZE, "read the replaced file");
	ASSERT_MEMEQ(back, data, SIZE, "its bytes");
	fill_pattern(data + MiB, 4096, 93);
	ASSERT_EQ(pwrite(fd, data + MiB, 4096, MiB), 4096, "write it");
	if (map != MAP_FAILED)
		ASSERT_MEMEQ((const void *)(map + MiB), data + MiB, 4096,
			     "the write shows through the mapping");
	fill_pattern(data, 4096, 94);
	ASSERT_EQ(pwrite(fd, data, 4096, SIZE), 4096, "extend it");
	if (ASSERT_OK(fstat(fd, &st), "fstat after the extension"))
		ASSERT_EQ(st.st_size, SIZE + 4096, "size after the extension");
	ASSERT_EQ(pread(fd, back, 4096, SIZE), 4096, "read the new end");
	ASSERT_MEMEQ(back, data, 4096, "the extension landed");
	ASSERT_OK(ftruncate(fd, SIZE / 4), "truncate it");
	ASSERT_OK(fchmod(fd, 0600), "fchmod it");
	if (ASSERT_OK(fstat(fd, &st), "fstat after truncate and fchmod")) {
		ASSERT_EQ(st.st_size, SIZE / 4, "truncated");
		ASSERT_EQ(st.st_mode & 07777, 0600, "mode changed");
	}
	if (map != MAP_FAILED)
		munmap((void *)map, SIZE);
	map = MAP_FAILED;
	close(fd);
	fd = -1;

	/* the new file alone, also after a remount (of the same file system) */
	if (!ASSERT_OK(fixture_daemon_remount(&fx), "remount"))
		goto out;
	if (ASSERT_OK(stat(path, &st), "stat the name after the remount"))
		ASSERT_EQ(st.st_size, SIZE / 2, "the new file's size");
	fd = open(path, O_RDONLY);
	if (ASSERT_OK_FD(fd, "open the name") &&
	    ASSERT_EQ(pread(fd, back, SIZE / 2, 0), SIZE / 2, "read the name"))
		ASSERT_MEMEQ(back, other, SIZE / 2, "the new file's bytes");
out:
	if (map != MAP_FAILED)
		munmap((void *)map, SIZE);
	if (nfd >= 0)
		close(nfd);
	if (fd >= 0)
		close(fd);
	fixture_unmount(&fx);
	free(data);
	free(back);
	free(other);
}

/*
 * With CONFIG_FUSE_DAX (every distribution kernel), an attribute update
 * marked mapped inodes "don't cache" (S_DAX without FUSE_ATTR_DAX), so
 * each close threw away the inode and its cached mappings.  Reopen after
 * the attributes were refreshed: the mapping cached before still answers.
 */
static void inode_stays_cached(void)
{
	const struct fixture_opts opts = { .daemon = true, .daemon_opts = "resolver=upcall" };
	unsigned char *data = malloc(2 * MiB);
	struct fixture fx = { 0 };
	char path[128], buf[4096];
	long long upcalls = 0;
	int i, fd;

	if (!ASSERT_TRUE(data != NULL, "malloc") ||
	    !ASSERT_OK(fixture_mount(&fx, &opts), "mount"))
		goto out;
	fill_pattern(data, 2 * MiB, 85);
	fixture_path(&fx, "kept", path, sizeof(path));
	if (!fixture_write_file(path, data, 2 * MiB, 2 * MiB))
		goto out;
	for (i = 0; i < 3; i++) {
		if (i == 1)
			upcalls = fixture_stat(&fx, "upcalls");
		/* past the 1 s attribute and entry timeouts: fresh attributes */
		if (i)
			usleep(1200 * 1000);
		fd = open(path, O_RDONLY);
		if (!ASSERT_OK_FD(fd, "open"))
			goto out;
		ASSERT_EQ(pread(fd, buf, sizeof(buf), 4096 * i), sizeof(buf), "read");
		close(fd);
		ASSERT_MEMEQ(buf, data + 4096 * i, sizeof(buf), "the bytes written");
	}
	ASSERT_GE(upcalls, 1, "the mapping came by upcall");
	ASSERT_EQ(fixture_stat(&fx, "upcalls"), upcalls,
		  "reopened reads hit the mapping cached before");
out:
	fixture_unmount(&fx);
	free(data);
}

/* A read in the hole before an interleaved extent must not hide it */
static void hole_before_interleaved(void)
{
	const struct fmap_strip strips[] = {
		{ .dev = 0, .dev_off = 256 * MiB }, { .dev = 1, .dev_off = 256 * MiB },
	};
	unsigned char *data = malloc(4 * MiB), *back = malloc(4 * MiB);
	struct fixture fx = { 0 };
	struct fbs_layout l;
	char path[128];
	int fd = -1;

	if (!ASSERT_TRUE(data && back, "malloc") ||
	    !ASSERT_OK(fixture_mount(&fx, NULL), "mount"))
		goto out;
	/* [0, 2 MiB) is a hole, [2, 6) MiB interleaved over both devices */
	layout_ileave(&l, 4 * MiB, 2, 20, strips);
	l.ileave[0].file_off = 2 * MiB;
	if (!ASSERT_OK(fbs_server_add_file(fx.srv, "late", 6 * MiB, &l), "add"))
		goto out;
	fd = open(fixture_path(&fx, "late", path, sizeof(path)), O_RDWR);
	if (!ASSERT_OK_FD(fd, "open"))
		goto out;
	fill_pattern(data, 4 * MiB, 80);
	ASSERT_EQ(pwrite(fd, data, 4 * MiB, 2 * MiB), 4 * MiB, "write the extent");
	/* forget every cached mapping, then read the hole first */
	ASSERT_OK(fbs_server_set_layout(fx.srv, "late", &l), "invalidate");
	ASSERT_EQ(pread(fd, back, 4096, 0), 4096, "read the hole");
	ASSERT_TRUE(all_zero(back, 4096), "zeroes");
	ASSERT_EQ(pread(fd, back, 4 * MiB, 2 * MiB), 4 * MiB, "read the extent");
	ASSERT_MEMEQ(back, data, 4 * MiB, "the data, not the hole");
out:
	if (fd >= 0)
		close(fd);
	fixture_unmount(&fx);
	free(data);
	free(back);
}

enum { OTHER_OK, OTHER_READ_FAILED, OTHER_WROTE, OTHER_CREATED, OTHER_SETUP };

/* As uid/gid 65534: read yes, write no, create no */
static int as_other_user(const char *file, const char *newfile)
{
	char buf[4096];
	int fd;

	if (setgid(65534) || setuid(65534))
		return OTHER_SETUP;
	fd = open(file, O_RDONLY);
	if (fd < 0 || pread(fd, buf, sizeof(buf), 0) != sizeof(buf))
		return OTHER_READ_FAILED;
	close(fd);
	fd = open(file, O_WRONLY);
	if (fd >= 0 || errno != EACCES)
		return OTHER_WROTE;
	fd = open(newfile, O_RDWR | O_CREAT, 0644);
	if (fd >= 0 || errno != EACCES)
		return OTHER_CREATED;
	return OTHER_OK;
}

static void permissions(const struct fixture_opts *opts)
{
	char path[128], newpath[128], buf[4096] = { 1 };
	struct fixture fx = { 0 };
	struct stat st;
	int status;
	pid_t pid;

	if (!ASSERT_OK(fixture_mount(&fx, opts), "mount"))
		return;
	fixture_path(&fx, "rootfile", path, sizeof(path));
	fixture_path(&fx, "intruder", newpath, sizeof(newpath));
	if (!fixture_write_file(path, buf, sizeof(buf), sizeof(buf)) ||
	    !ASSERT_OK(chmod(path, 0644), "chmod 0644"))
		goto out;
	if (ASSERT_OK(stat(path, &st), "stat")) {
		ASSERT_EQ(st.st_uid, 0, "owned by root");
		ASSERT_EQ(st.st_mode & 0777, 0644, "mode 0644");
	}
	pid = fork();
	if (pid == 0)
		_exit(as_other_user(path, newpath));
	if (ASSERT_GT(pid, 0, "fork") && ASSERT_EQ(waitpid(pid, &status, 0), pid, "wait")) {
		int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;

		ASSERT_NEQ(rc, OTHER_READ_FAILED, "another user reads a 0644 file");
		ASSERT_NEQ(rc, OTHER_WROTE, "but cannot open it for writing");
		ASSERT_NEQ(rc, OTHER_CREATED, "nor create in a 0755 root dir");
		ASSERT_EQ(rc, OTHER_OK, "as uid 65534");
	}
	errno = 0;
	ASSERT_ERR(stat(newpath, &st), "nothing was created");
out:
	fixture_unmount(&fx);
}

void test_fmap_posix(void)
{
	const struct fixture_opts opts = { .daemon = true };

	if (!fixture_famfs_bin())
		return;
	if (test__start_subtest("unlink_open_file"))
		unlink_open_file(&opts);
	if (test__start_subtest("truncate_down_up"))
		truncate_down_up(&opts, false);
	if (test__start_subtest("o_trunc"))
		truncate_down_up(&opts, true);
	if (test__start_subtest("space_reused_after_close"))
		space_reused_after_close(&opts);
	if (test__start_subtest("copy_file_range"))
		copy_range(&opts);
	if (test__start_subtest("rename_over_open_file"))
		rename_over_open_file(&opts);
	if (test__start_subtest("permissions"))
		permissions(&opts);
	if (test__start_subtest("inode_stays_cached"))
		inode_stays_cached();
	if (test__start_subtest("hole_before_interleaved"))
		hole_before_interleaved();
}
