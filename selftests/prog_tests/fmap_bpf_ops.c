// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF resolver hook (struct_ops fuse_fmap_ops), driven by the test
 * program progs/fmap_bpf_ops.bpf.c, whose answers each subtest chooses:
 * attach and detach, who may attach to what, FALLBACK reaching the server,
 * every kind of bad answer rejected and never cached, detach racing with
 * readers and faults, the server dying with the program attached, and a
 * pinned link outliving its connection.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "fixture.h"
#include "test_progs.h"
#include "progs/fmap_bpf_ops.h"
#include "fmap_bpf_ops.skel.h"

#define SIZE		(16 * MiB)
#define DEV_BASE	(320 * MiB)
#define REATTACH_ROUNDS	1000

struct ctx {
	struct fixture fx;
	struct fmap_bpf_ops_bpf *skel;
	struct bpf_link *link;
	unsigned char *pattern;
	char path[128];
	int fd;
};

/*
 * File "f": SIZE bytes at DEV_BASE on pmem0, as one strip of 64 KiB
 * chunks, which the server answers a chunk at a time (ileave_chunks) like
 * the program does, so that a random access misses the 16-entry cache
 * whoever answers.
 */
static void make_layout(struct fbs_layout *l)
{
	const struct fmap_strip strip = { .dev = 0, .dev_off = DEV_BASE };

	layout_ileave(l, SIZE, 1, 16, &strip);
}

/* Mount, add "f" filled with a known pattern, load the program for it */
static bool setup(struct ctx *c)
{
	const struct fixture_opts opts = { .ileave_chunks = true };
	struct fbs_layout l;
	struct stat st;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->pattern = malloc(SIZE);
	if (!ASSERT_TRUE(c->pattern, "malloc"))
		return false;
	fill_pattern(c->pattern, SIZE, 42);
	if (!ASSERT_OK(dev_pwrite(FX_DEV0, c->pattern, SIZE, DEV_BASE), "fill device"))
		return false;
	if (!ASSERT_OK(fixture_mount(&c->fx, &opts), "mount"))
		return false;
	make_layout(&l);
	if (!ASSERT_OK(fbs_server_add_file(c->fx.srv, "f", SIZE, &l), "add file"))
		return false;
	fixture_path(&c->fx, "f", c->path, sizeof(c->path));
	/* stat waits for INIT: the connection has negotiated FUSE_HAS_FMAP */
	if (!ASSERT_OK(stat(c->path, &st), "stat"))
		return false;

	c->skel = fmap_bpf_ops_bpf__open();
	if (!ASSERT_TRUE(c->skel, "open skeleton"))
		return false;
	c->skel->struct_ops.test_ops->fuse_fd = fbs_server_fuse_fd(c->fx.srv);
	if (!ASSERT_OK(fmap_bpf_ops_bpf__load(c->skel), "load"))
		return false;
	c->skel->bss->target_nodeid = st.st_ino;
	c->skel->bss->dev_id = fbs_server_dev_id(c->fx.srv, 0);
	c->skel->bss->dev_base = DEV_BASE;
	c->skel->bss->file_size = SIZE;
	c->skel->bss->mode = TEST_GOOD;
	c->fd = open(c->path, O_RDWR);
	return ASSERT_OK_FD(c->fd, "open");
}

static bool attach(struct ctx *c)
{
	errno = 0;
	c->link = bpf_map__attach_struct_ops(c->skel->maps.test_ops);
	return ASSERT_TRUE(c->link, "attach") || (printf("# attach: errno %d\n", errno), false);
}

static void detach(struct ctx *c)
{
	bpf_link__destroy(c->link);
	c->link = NULL;
}

static void teardown(struct ctx *c)
{
	if (c->fd >= 0)
		close(c->fd);
	detach(c);
	fmap_bpf_ops_bpf__destroy(c->skel);
	fixture_unmount(&c->fx);
	free(c->pattern);
}

/* Reads 4 KiB at @off and compares it with the pattern */
static bool read_ok(struct ctx *c, __u64 off)
{
	char buf[4096];

	if (pread(c->fd, buf, sizeof(buf), off) != sizeof(buf))
		return false;
	return !memcmp(buf, c->pattern + off, sizeof(buf));
}

static void test_attach_detach(void)
{
	long long upcalls, bpf;
	struct fbs_layout l;
	struct ctx c;

	make_layout(&l);

	if (!setup(&c))
		goto out;
	ASSERT_EQ(fixture_stat(&c.fx, "bpf_attached"), 0, "not attached yet");
	if (!attach(&c))
		goto out;
	ASSERT_EQ(fixture_stat(&c.fx, "bpf_attached"), 1, "attached");

	upcalls = fixture_stat(&c.fx, "upcalls");
	ASSERT_TRUE(read_ok(&c, 0), "read through BPF");
	ASSERT_TRUE(read_ok(&c, 5 * MiB + 8192), "read through BPF, elsewhere");
	ASSERT_EQ(c.skel->bss->handled, 2, "program answered both misses");
	ASSERT_EQ(fixture_stat(&c.fx, "bpf_resolves"), 2, "bpf_resolves");
	ASSERT_EQ(fixture_stat(&c.fx, "upcalls"), upcalls, "no upcall");

	detach(&c);
	ASSERT_EQ(fixture_stat(&c.fx, "bpf_attached"), 0, "detached");
	bpf = c.skel->bss->calls;
	ASSERT_TRUE(read_ok(&c, 9 * MiB), "read after detach");
	ASSERT_EQ(c.skel->bss->calls, bpf, "program not called after detach");
	ASSERT_EQ(fixture_stat(&c.fx, "upcalls"), upcalls + 1, "server answered");

	/* the same ops attach again, with nothing cached */
	ASSERT_OK(fbs_server_set_layout(c.fx.srv, "f", &l), "invalidate");
	if (attach(&c)) {
		ASSERT_TRUE(read_ok(&c, 12 * MiB), "read after re-attach");
		ASSERT_EQ(c.skel->bss->handled, 3, "program answers again");
	}
out:
	teardown(&c);
}

static void test_second_attach(void)
{
	struct fmap_bpf_ops_bpf *other = NULL;
	struct bpf_link *link;
	struct ctx c;

	if (!setup(&c) || !attach(&c))
		goto out;
	other = fmap_bpf_ops_bpf__open();
	if (!ASSERT_TRUE(other, "open second"))
		goto out;
	other->struct_ops.test_ops->fuse_fd = fbs_server_fuse_fd(c.fx.srv);
	if (!ASSERT_OK(fmap_bpf_ops_bpf__load(other), "load second"))
		goto out;
	errno = 0;
	link = bpf_map__attach_struct_ops(other->maps.test_ops);
	ASSERT_TRUE(!link, "second attach refused");
	ASSERT_EQ(errno, EBUSY, "with EBUSY");
	bpf_link__destroy(link);
	ASSERT_TRUE(read_ok(&c, 0), "first one still serves");
	ASSERT_EQ(c.skel->bss->handled, 1, "first one answered");
out:
	fmap_bpf_ops_bpf__destroy(other);
	teardown(&c);
}

/* Loads the program with @fd as fuse_fd; returns attach's errno */
static int attach_errno(int fd)
{
	struct fmap_bpf_ops_bpf *skel;
	struct bpf_link *link;
	int err;

	skel = fmap_bpf_ops_bpf__open();
	if (!skel)
		return -1;
	skel->struct_ops.test_ops->fuse_fd = fd;
	if (fmap_bpf_ops_bpf__load(skel)) {
		fmap_bpf_ops_bpf__destroy(skel);
		return -1;
	}
	errno = 0;
	link = bpf_map__attach_struct_ops(skel->maps.test_ops);
	err = link ? 0 : errno;
	bpf_link__destroy(link);
	fmap_bpf_ops_bpf__destroy(skel);
	return err;
}

static void test_bad_fd(void)
{
	int null = open("/dev/null", O_RDWR);
	int fuse = open("/dev/fuse", O_RDWR);

	ASSERT_EQ(attach_errno(12345), EBADF, "closed fd: EBADF");
	ASSERT_EQ(attach_errno(null), EINVAL, "/dev/null: EINVAL");
	ASSERT_EQ(attach_errno(fuse), EINVAL, "unmounted /dev/fuse: EINVAL");
	close(null);
	close(fuse);
}

/*
 * The kernel's INIT request on @fd, answered by this process with @flags
 * (FUSE_HAS_FMAP or not): the bare connection of a mount that nothing
 * serves afterwards, so nothing may touch its files.
 */
static bool bare_init(int fd, __u64 flags)
{
	char buf[16384];
	struct fuse_in_header *ih = (void *)buf;
	struct {
		struct fuse_out_header h;
		struct fuse_init_out init;
	} reply = { 0 };
	ssize_t n;

	n = read(fd, buf, sizeof(buf));
	if (!ASSERT_GE(n, (ssize_t)sizeof(*ih), "read INIT") ||
	    !ASSERT_EQ(ih->opcode, FUSE_INIT, "INIT request"))
		return false;
	reply.h.len = sizeof(reply);
	reply.h.unique = ih->unique;
	reply.init.major = FUSE_KERNEL_VERSION;
	reply.init.minor = FUSE_KERNEL_MINOR_VERSION;
	reply.init.max_write = 4096;
	if (flags >> 32)
		flags |= FUSE_INIT_EXT;
	reply.init.flags = flags;
	reply.init.flags2 = flags >> 32;
	return ASSERT_EQ(write(fd, &reply, sizeof(reply)), sizeof(reply), "INIT reply");
}

/* A bare FUSE mount of /dev/fuse fd @fd on @mnt (made here) */
static bool bare_mount(const char *mnt, int fd)
{
	char opts[128];

	mkdir(mnt, 0755);
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
	return ASSERT_OK(mount("bare", mnt, "fuse", MS_NOSUID | MS_NODEV, opts), "mount");
}

/* FUSE_DEV_IOC_BACKING_OPEN of /dev/pmem0 for mapped files: id or -errno */
static int fmap_dev_open(int fd)
{
	struct fuse_backing_map map = { .flags = FUSE_BACKING_FMAP };
	int id;

	map.fd = open(FX_DEV0, O_RDWR);
	if (map.fd < 0)
		return -errno;
	id = ioctl(fd, FUSE_DEV_IOC_BACKING_OPEN, &map);
	if (id < 0)
		id = -errno;
	close(map.fd);
	return id;
}

/*
 * A bare FUSE mount whose INIT reply does not accept FUSE_HAS_FMAP: the
 * program cannot attach before INIT, nor after.  A device registered
 * before INIT is released by it (one kind of backing per connection:
 * devices of mapped files need FUSE_HAS_FMAP), and none registers after.
 */
static void test_no_fmap(void)
{
	char mnt[64];
	int fd, id;

	snprintf(mnt, sizeof(mnt), "/tmp/famfs-bpf-nofmap.%d", getpid());
	fd = open("/dev/fuse", O_RDWR);
	if (!ASSERT_OK_FD(fd, "open /dev/fuse"))
		return;
	if (!bare_mount(mnt, fd))
		goto out_close;
	ASSERT_EQ(attach_errno(fd), EOPNOTSUPP, "before INIT: EOPNOTSUPP");
	id = fmap_dev_open(fd);
	ASSERT_GT(id, 0, "a device registers before INIT");
	if (bare_init(fd, 0)) {	/* no FUSE_HAS_FMAP */
		ASSERT_EQ(attach_errno(fd), EOPNOTSUPP, "without FUSE_HAS_FMAP: EOPNOTSUPP");
		errno = 0;
		ASSERT_ERR(ioctl(fd, FUSE_DEV_IOC_BACKING_CLOSE, &id),
			   "INIT released the device");
		ASSERT_EQ(errno, ENOENT, "its id is gone");
		ASSERT_EQ(fmap_dev_open(fd), -EOPNOTSUPP,
			  "no device registers after INIT without FUSE_HAS_FMAP");
	}
	umount2(mnt, MNT_DETACH);
out_close:
	close(fd);
	rmdir(mnt);
}

/* Counter @name of the connection mounted on @mnt, found without a request */
static long long bare_stat(const char *mnt, const char *name)
{
	char majmin[64];
	unsigned int maj, min;

	if (!fixture_mountinfo(mnt, majmin, sizeof(majmin)) ||
	    sscanf(majmin, "%u:%u", &maj, &min) != 2)
		return -1;
	return fixture_conn_stat(min, name);
}

/*
 * Links struct_ops map @map again, in a child in which fd number @num is
 * @fd: the ops' fuse_fd then names @fd's connection.  The child reads
 * bpf_attached of @mnt with its link alive, then exits, which drops the
 * link.  Returns the link's errno, 0 if it was made and @mnt showed it
 * attached, 100 + what @mnt showed otherwise, -1 if the child failed.
 */
static int link_in_child(const struct bpf_map *map, int num, int fd,
			 const char *mnt)
{
	struct bpf_link *link;
	int status;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		if (dup2(fd, num) != num)
			_exit(255);
		errno = 0;
		/* a BPF_F_LINK map: a second bpf_link_create() of the map */
		link = bpf_map__attach_struct_ops(map);
		if (!link)
			_exit(errno);
		_exit(bare_stat(mnt, "bpf_attached") == 1 ? 0 :
		      100 + (int)bare_stat(mnt, "bpf_attached"));
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * One struct_ops map, two links.  Each link calls reg() on the same ops,
 * which hold one connection: a second link whose fuse_fd names another
 * connection B while the first (on A) is alive must be refused, and must
 * not take the ops away from A.  Once the first link is gone, the same
 * ops bind to B.  Every connection lets go of the ops with its link, so
 * none points at them when the map is freed (KASAN), and no connection
 * reference is lost (kmemleak, on the debug kernel).
 */
static void test_one_map_two_links(void)
{
	char mnt[64];
	int fd_b, num;
	struct ctx c;

	snprintf(mnt, sizeof(mnt), "/tmp/famfs-bpf-second.%d", getpid());
	fd_b = open("/dev/fuse", O_RDWR);
	if (!ASSERT_OK_FD(fd_b, "open /dev/fuse"))
		return;
	if (!setup(&c) || !attach(&c))
		goto out;
	if (!bare_mount(mnt, fd_b))
		goto out;
	if (!bare_init(fd_b, FUSE_HAS_FMAP))
		goto out_umount;
	num = fbs_server_fuse_fd(c.fx.srv);

	ASSERT_EQ(link_in_child(c.skel->maps.test_ops, num, fd_b, mnt), EBUSY,
		  "second link, to connection B: EBUSY");
	ASSERT_EQ(bare_stat(mnt, "bpf_attached"), 0, "B: nothing attached");
	ASSERT_EQ(fixture_stat(&c.fx, "bpf_attached"), 1, "A: still attached");
	ASSERT_TRUE(read_ok(&c, 0), "A: read through BPF");
	ASSERT_EQ(c.skel->bss->handled, 1, "A: the program answered");

	detach(&c);
	ASSERT_EQ(fixture_stat(&c.fx, "bpf_attached"), 0,
		  "A: let go of the ops with its link");

	/* Free again: the same ops bind to B, and let go of it */
	ASSERT_EQ(link_in_child(c.skel->maps.test_ops, num, fd_b, mnt), 0,
		  "after the first link: linked to B");
	ASSERT_EQ(bare_stat(mnt, "bpf_attached"), 0, "B: let go with its link");
	ASSERT_EQ(fixture_stat(&c.fx, "bpf_attached"), 0, "A: nothing attached");
out_umount:
	umount2(mnt, MNT_DETACH);
out:
	close(fd_b);
	rmdir(mnt);
	/* frees the map: nothing may point at its ops any more */
	teardown(&c);
}

/*
 * A pinned link outlives its connection's server and mount: the abort
 * unbinds the ops, so the connection goes with its mount and lets go of
 * its devices.  Connection B registers /dev/pmem2, opened O_EXCL, and the
 * ops are linked to B and the link pinned; then B's /dev/fuse is closed
 * (the abort) and B unmounted.  The device is free again (O_EXCL opens)
 * while the link is still pinned.  Before the abort unbound the ops, the
 * ops' reference kept B, its device file and the DAX holder until the
 * link went: the open failed with EBUSY.  About 1 s.
 */
static void test_abort_lets_go(void)
{
	const char *pin = "/sys/fs/bpf/fmap_bpf_ops_abort";
	struct fuse_backing_map map = { .flags = FUSE_BACKING_FMAP };
	int fd_b, num, id, excl, status;
	char mnt[64];
	struct ctx c;
	pid_t pid;

	snprintf(mnt, sizeof(mnt), "/tmp/famfs-bpf-abort.%d", getpid());
	unlink(pin);
	fd_b = open("/dev/fuse", O_RDWR);
	if (!ASSERT_OK_FD(fd_b, "open /dev/fuse"))
		return;
	if (!setup(&c) || !bare_mount(mnt, fd_b))
		goto out;
	if (!bare_init(fd_b, FUSE_HAS_FMAP))
		goto out_umount;
	map.fd = open("/dev/pmem2", O_RDWR | O_EXCL);
	if (!ASSERT_OK_FD(map.fd, "open /dev/pmem2 O_EXCL"))
		goto out_umount;
	id = ioctl(fd_b, FUSE_DEV_IOC_BACKING_OPEN, &map);
	close(map.fd);
	if (!ASSERT_GT(id, 0, "B registers /dev/pmem2"))
		goto out_umount;
	ASSERT_EQ(open("/dev/pmem2", O_RDONLY | O_EXCL), -1, "B holds /dev/pmem2");

	/* Linked to B (fuse_fd is a number in the linking process), pinned */
	num = fbs_server_fuse_fd(c.fx.srv);
	pid = fork();
	if (pid == 0) {
		struct bpf_link *link;

		if (dup2(fd_b, num) != num)
			_exit(100);
		link = bpf_map__attach_struct_ops(c.skel->maps.test_ops);
		if (!link)
			_exit(101);
		_exit(bpf_link__pin(link, pin) ? 102 : 0);
	}
	if (!ASSERT_GT(pid, 0, "fork") ||
	    !ASSERT_EQ(waitpid(pid, &status, 0), pid, "wait") ||
	    !ASSERT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0,
		       "link to B, pinned"))
		goto out_umount;
	ASSERT_EQ(bare_stat(mnt, "bpf_attached"), 1, "B: attached");

	/* B's server goes (its last /dev/fuse fd: the abort), then its mount */
	close(fd_b);
	fd_b = -1;
	ASSERT_OK(umount2(mnt, MNT_DETACH), "unmount B");

	excl = open("/dev/pmem2", O_RDONLY | O_EXCL);
	if (excl < 0)
		printf("# open /dev/pmem2 O_EXCL: %s\n", strerror(errno));
	ASSERT_OK_FD(excl, "B let go of /dev/pmem2 with the link still pinned");
	if (excl >= 0)
		close(excl);
	ASSERT_EQ(fixture_stat(&c.fx, "bpf_attached"), 0, "A: nothing attached");
	ASSERT_OK(unlink(pin), "unpin the link");
	goto out;
out_umount:
	umount2(mnt, MNT_DETACH);
out:
	if (fd_b >= 0)
		close(fd_b);
	unlink(pin);
	rmdir(mnt);
	/* frees the map: the link's unreg finds the ops unbound */
	teardown(&c);
}

/* Without CAP_SYS_ADMIN (all else kept) attaching is refused */
static void test_unprivileged(void)
{
	struct ctx c;
	int status;
	pid_t pid;

	if (!setup(&c))
		goto out;
	pid = fork();
	if (pid == 0) {
		struct __user_cap_header_struct h = {
			.version = _LINUX_CAPABILITY_VERSION_3,
		};
		struct __user_cap_data_struct d[2];
		struct bpf_link *link;

		if (syscall(SYS_capget, &h, d))
			_exit(100);
		d[CAP_SYS_ADMIN / 32].effective &= ~(1U << (CAP_SYS_ADMIN % 32));
		if (syscall(SYS_capset, &h, d))
			_exit(101);
		errno = 0;
		link = bpf_map__attach_struct_ops(c.skel->maps.test_ops);
		_exit(link ? 0 : errno);
	}
	if (ASSERT_GT(pid, 0, "fork") && ASSERT_EQ(waitpid(pid, &status, 0), pid, "wait"))
		ASSERT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, EPERM,
			  "attach without CAP_SYS_ADMIN: EPERM");
	ASSERT_EQ(fixture_stat(&c.fx, "bpf_attached"), 0, "nothing attached");
out:
	teardown(&c);
}

static void test_fallback(void)
{
	long long upcalls, fallbacks;
	struct ctx c;

	if (!setup(&c) || !attach(&c))
		goto out;
	c.skel->bss->mode = TEST_FALLBACK;
	upcalls = fixture_stat(&c.fx, "upcalls");
	fallbacks = fixture_stat(&c.fx, "bpf_fallbacks");
	ASSERT_TRUE(read_ok(&c, 3 * MiB), "read served by the server");
	ASSERT_EQ(fixture_stat(&c.fx, "upcalls"), upcalls + 1, "one upcall");
	ASSERT_EQ(fixture_stat(&c.fx, "bpf_fallbacks"), fallbacks + 1, "one fallback");
	ASSERT_EQ(c.skel->bss->handled, 0, "program handled nothing");
out:
	teardown(&c);
}

/* An errno from the program reaches the caller, and nothing is cached */
static void test_errno(void)
{
	long long rejects;
	char buf[4096];
	struct ctx c;

	if (!setup(&c) || !attach(&c))
		goto out;
	c.skel->bss->mode = TEST_ERRNO;
	rejects = fixture_stat(&c.fx, "rejects");
	errno = 0;
	ASSERT_EQ(pread(c.fd, buf, sizeof(buf), 0), -1, "read fails");
	ASSERT_EQ(errno, ENOSPC, "with the program's errno");
	ASSERT_EQ(fixture_stat(&c.fx, "rejects"), rejects, "not a reject");
	c.skel->bss->mode = TEST_GOOD;
	ASSERT_TRUE(read_ok(&c, 0), "works once the program answers");
out:
	teardown(&c);
}

static const struct {
	const char *name;
	enum test_mode mode;
} bad_answers[] = {
	{ "bad_return", TEST_BAD_RET },
	{ "internal_errno", TEST_INTERNAL_ERRNO },
	{ "type", TEST_BAD_TYPE },
	{ "flags", TEST_BAD_FLAGS },
	{ "zero_length", TEST_ZERO_LENGTH },
	{ "covers_offset", TEST_NOT_COVERING },
	{ "aligned", TEST_MISALIGNED },
	{ "overflow", TEST_OVERFLOW },
	{ "registered_dev", TEST_UNKNOWN_DEV },
	{ "within_device", TEST_BEYOND_DEV },
	{ "interleave_strips", TEST_ILEAVE_STRIPS },
	{ "interleave_chunk", TEST_ILEAVE_CHUNK },
	{ "interleave_out_dev", TEST_ILEAVE_OUT_DEV },
	{ "interleave_length", TEST_ILEAVE_LENGTH },
	{ "interleave_strip_dev", TEST_ILEAVE_STRIP_DEV },
	{ "interleave_within_device", TEST_ILEAVE_BEYOND },
	{ "interleave_no_strips", TEST_ILEAVE_NO_STRIPS },
};

/*
 * The program answers the whole file as one interleaved extent: it runs
 * once, and every chunk after that is a cache hit that the kernel computes,
 * with the right bytes.
 */
static void test_interleave_whole(void)
{
	long long misses, hits;
	unsigned int bad = 0;
	__u64 off;
	struct ctx c;

	if (!setup(&c) || !attach(&c))
		goto out;
	c.skel->bss->mode = TEST_ILEAVE;
	misses = fixture_stat(&c.fx, "cache_misses");
	hits = fixture_stat(&c.fx, "cache_hits");
	for (off = 0; off < SIZE; off += TEST_CHUNK)
		bad += !read_ok(&c, off + (off / TEST_CHUNK % 16) * 4096);
	ASSERT_EQ(bad, 0, "every chunk reads right");
	ASSERT_EQ(c.skel->bss->handled, 1, "one answer from the program");
	ASSERT_EQ(fixture_stat(&c.fx, "cache_misses"), misses + 1, "one miss");
	ASSERT_EQ(fixture_stat(&c.fx, "cache_hits"),
		  hits + SIZE / TEST_CHUNK - 1, "every other chunk a hit");
out:
	teardown(&c);
}

/* Each bad answer: EIO, counted as a BPF reject, nothing cached */
static void test_reject(const char *name, enum test_mode mode)
{
	long long rejects, bpf_rejects;
	char buf[4096];
	struct ctx c;

	if (!setup(&c) || !attach(&c))
		goto out;
	c.skel->bss->mode = mode;
	rejects = fixture_stat(&c.fx, "rejects");
	bpf_rejects = fixture_stat(&c.fx, "bpf_rejects");
	errno = 0;
	ASSERT_EQ(pread(c.fd, buf, sizeof(buf), 2 * MiB), -1, name);
	ASSERT_EQ(errno, EIO, "with EIO");
	ASSERT_EQ(fixture_stat(&c.fx, "rejects"), rejects + 1, "reject counted");
	ASSERT_EQ(fixture_stat(&c.fx, "bpf_rejects"), bpf_rejects + 1,
		  "as a BPF reject");
	c.skel->bss->mode = TEST_GOOD;
	ASSERT_TRUE(read_ok(&c, 2 * MiB), "good answer works afterwards");
	ASSERT_EQ(c.skel->bss->handled, 1, "it came from the program");
out:
	teardown(&c);
}

static volatile int stop_workers;

struct worker {
	struct ctx *c;
	pthread_t thread;
	unsigned long ops, bad;
	bool fault;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	unsigned int seed = w->fault ? 7 : 3;
	volatile unsigned char *map = NULL;

	if (w->fault) {
		map = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, w->c->fd, 0);
		if (map == MAP_FAILED) {
			w->bad++;
			return NULL;
		}
	}
	while (!stop_workers) {
		__u64 off = ((__u64)rand_r(&seed) % (SIZE / 4096)) * 4096;

		if (w->fault) {
			if (map[off + 17] != w->c->pattern[off + 17])
				w->bad++;
		} else if (!read_ok(w->c, off)) {
			w->bad++;
		}
		w->ops++;
		/* fault again: map afresh now and then (no madvise here) */
		if (w->fault && !(w->ops % 64)) {
			munmap((void *)map, SIZE);
			map = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, w->c->fd, 0);
			if (map == MAP_FAILED) {
				w->bad++;
				return NULL;
			}
		}
	}
	if (map)
		munmap((void *)map, SIZE);
	return NULL;
}

/*
 * Attach and detach REATTACH_ROUNDS times while one thread reads and one
 * faults at random offsets (more chunks than the cache holds): every byte
 * read is right, whichever resolver served it.
 */
static void test_reattach_stress(void)
{
	struct worker w[2] = { { .fault = false }, { .fault = true } };
	unsigned int i, rounds;
	long long upcalls;
	struct ctx c;

	if (!setup(&c))
		goto out;
	upcalls = fixture_stat(&c.fx, "upcalls");
	stop_workers = 0;
	for (i = 0; i < 2; i++) {
		w[i].c = &c;
		pthread_create(&w[i].thread, NULL, work, &w[i]);
	}
	for (rounds = 0; rounds < REATTACH_ROUNDS; rounds++) {
		if (!attach(&c))
			break;
		detach(&c);
	}
	stop_workers = 1;
	for (i = 0; i < 2; i++)
		pthread_join(w[i].thread, NULL);

	printf("# %u rounds: %lu reads, %lu faults, %llu BPF answers, %lld upcalls\n",
	       rounds, w[0].ops, w[1].ops,
	       (unsigned long long)c.skel->bss->handled,
	       fixture_stat(&c.fx, "upcalls") - upcalls);
	ASSERT_EQ(rounds, REATTACH_ROUNDS, "every round attached");
	ASSERT_EQ(w[0].bad, 0, "every read right");
	ASSERT_EQ(w[1].bad, 0, "every fault right");
	ASSERT_GT(w[0].ops, 0, "reads happened");
	ASSERT_GT(w[1].ops, 0, "faults happened");
	ASSERT_GT(c.skel->bss->handled, 0, "the program answered some misses");
	ASSERT_GT(fixture_stat(&c.fx, "upcalls"), upcalls, "the server others");
	ASSERT_EQ(fixture_stat(&c.fx, "bpf_attached"), 0, "detached at the end");
out:
	teardown(&c);
}

/*
 * SIGKILL the server while a reader and a faulter go through its BPF
 * resolver: they get errors, nobody hangs, the mount goes away.
 */
/* In the server's own process (fixture_serve_in_child): the program attached */
static const char *serve_attached(void)
{
	static struct ctx c;

	if (!setup(&c) || !attach(&c))
		return NULL;
	/*
	 * A server must not die holding files of its own mount open:
	 * their FLUSH (forced, uninterruptible) would wait for itself.
	 */
	close(c.fd);
	return c.fx.mnt;
}

static void test_server_killed(void)
{
	char mnt[64] = "", path[160];
	pid_t srv, rd, ft;

	srv = fixture_serve_in_child(serve_attached, mnt, sizeof(mnt));
	if (!ASSERT_GT(srv, 0, "server up"))
		return;
	snprintf(path, sizeof(path), "%s/f", mnt);

	rd = fixture_spawn(worker_read, path, SIZE);
	ft = fixture_spawn(worker_fault, path, SIZE);
	sleep(2);
	printf("# killing the server %d (reader %d, faulter %d)\n", srv, rd, ft);
	fflush(stdout);
	ASSERT_OK(kill(srv, SIGKILL), "kill the server");
	ASSERT_EQ(fixture_wait_exit(srv, 10), 128 + SIGKILL, "server died");
	ASSERT_EQ(fixture_wait_exit(rd, 60), WORKER_READ_ERROR, "reader got an error");
	ASSERT_EQ(fixture_wait_exit(ft, 60), WORKER_SIGBUS, "faulter got SIGBUS");
	printf("# workers done\n");
	fflush(stdout);
	ASSERT_OK(umount2(mnt, MNT_DETACH), "unmount");
	rmdir(mnt);
	printf("# unmounted\n");
}

void test_fmap_bpf_ops(void)
{
	unsigned int i;
	char name[64];

	if (test__start_subtest("attach_detach"))
		test_attach_detach();
	if (test__start_subtest("second_attach_ebusy"))
		test_second_attach();
	if (test__start_subtest("one_map_two_links"))
		test_one_map_two_links();
	if (test__start_subtest("abort_lets_go"))
		test_abort_lets_go();
	if (test__start_subtest("bad_fd"))
		test_bad_fd();
	if (test__start_subtest("no_fmap_refused"))
		test_no_fmap();
	if (test__start_subtest("unprivileged_refused"))
		test_unprivileged();
	if (test__start_subtest("fallback_reaches_upcall"))
		test_fallback();
	if (test__start_subtest("errno_passed_on"))
		test_errno();
	for (i = 0; i < sizeof(bad_answers) / sizeof(bad_answers[0]); i++) {
		snprintf(name, sizeof(name), "reject_%s", bad_answers[i].name);
		if (test__start_subtest(name))
			test_reject(name, bad_answers[i].mode);
	}
	if (test__start_subtest("interleave_whole"))
		test_interleave_whole();
	if (test__start_subtest("reattach_stress"))
		test_reattach_stress();
	if (test__start_subtest("server_killed"))
		test_server_killed();
}
