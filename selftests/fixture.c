// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "famfs_xattr.h"
#include "fixture.h"
#include "fs/log.h"
#include "fsd/mountinfo.h"
#include "test_progs.h"

/*
 * The daemon has no allocation window: a file FX_FILLER takes all but
 * @bytes of the free space (fallocate zeroes it: 8 to 11 s for 1 GiB on
 * the debug kernel).
 */
static int daemon_leave_free(struct fixture *fx, __u64 bytes)
{
	struct timespec t0, t1;
	struct statvfs sv;
	__u64 fill;
	int fd, err = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (statvfs(fx->mnt, &sv))
		return -errno;
	fill = (__u64)sv.f_bfree * sv.f_frsize;
	if (fill <= bytes)
		return 0;
	fill -= bytes;
	fd = open(fixture_join(fx->mnt, FX_FILLER), O_CREAT | O_WRONLY | O_EXCL, 0600);
	if (fd < 0)
		return -errno;
	if (fallocate(fd, 0, 0, fill))
		err = -errno;
	close(fd);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# filler: %llu MiB in %.1f s: %s\n", (unsigned long long)(fill >> 20),
	       t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       err ? strerror(-err) : "ok");
	return err;
}

int fixture_mount(struct fixture *fx, const struct fixture_opts *opts)
{
	static const struct fixture_opts defaults;
	struct fbs_config cfg = {
		.ndevs = 2,
		.devs = {
			{ .path = FX_DEV0 },
			{ .path = FX_DEV1 },
		},
		/* tests place extents below 512 MiB; writes allocate above */
		.alloc_start = FX_ALLOC_START,
	};
	int err;

	if (!opts)
		opts = &defaults;
	fx->srv = NULL;
	fx->daemon = opts->daemon;
	if (fx->daemon) {
		snprintf(fx->mnt, sizeof(fx->mnt), "/tmp/famfs-bpf-fsd.%d", getpid());
		snprintf(fx->daemon_opts, sizeof(fx->daemon_opts), "%s",
			 opts->daemon_opts ? opts->daemon_opts : "");
		if (!opts->daemon_opts) {
			if (!fixture_mkfs_mount(FX_DAEMON_DEV, fx->mnt, NULL))
				return -EIO;
		} else {
			if (!ASSERT_EQ(fixture_famfs(0, "mkfs", "-f", FX_DAEMON_DEV), 0, "mkfs -f"))
				return -EIO;
			mkdir(fx->mnt, 0755);
			if (!ASSERT_EQ(fixture_famfs(0, "mount", "-o", fx->daemon_opts,
						     FX_DAEMON_DEV, fx->mnt), 0, "mount -o"))
				return -EIO;
		}
		return opts->alloc_bytes ? daemon_leave_free(fx, opts->alloc_bytes) : 0;
	}
	fx->block = opts->block;
	if (opts->block) {
		cfg.ndevs = 3;
		cfg.devs[0].path = FX_BLK0;
		cfg.devs[1].path = FX_BLK1;
		cfg.devs[2].path = FX_DEV0;
		cfg.alloc_start = FX_BLK_ALLOC_START;
		cfg.block_files = true;
	}
	cfg.resolver = opts->resolver;
	cfg.bpf_max_simple = opts->bpf_max_simple;
	cfg.bpf_max_ileave = opts->bpf_max_ileave;
	cfg.ileave_chunks = opts->ileave_chunks;
	cfg.devs[1].read_only = opts->dev1_read_only;
	snprintf(fx->mnt, sizeof(fx->mnt), "/tmp/famfs-bpf-test.%d", getpid());
	mkdir(fx->mnt, 0755);
	cfg.mountpoint = fx->mnt;
	if (getenv("FBS_DEBUG"))
		fbs_log_set_level(FBS_LOG_DEBUG);
	err = fbs_server_create(&cfg, &fx->srv);
	if (err)
		return err;
	err = fbs_server_start(fx->srv);
	if (err) {
		fbs_server_destroy(fx->srv);
		fx->srv = NULL;
	}
	return err;
}

void fixture_unmount(struct fixture *fx)
{
	if (fx->daemon) {
		fixture_ensure_unmounted(fx->mnt);
		rmdir(fx->mnt);
		fx->daemon = false;
		return;
	}
	if (!fx->srv)
		return;
	fbs_server_destroy(fx->srv);
	fx->srv = NULL;
	rmdir(fx->mnt);
}

/* The value of "@name value" in the counters file @file; -1 if absent. */
static long long read_counter(const char *file, const char *name)
{
	char line[128], key[64];
	long long val, found = -1;
	FILE *f = fopen(file, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld", key, &val) == 2 && !strcmp(key, name))
			found = val;
	fclose(f);
	return found;
}

long long fixture_stat(struct fixture *fx, const char *name)
{
	char path[96];

	if (fx->daemon)
		return fixture_mnt_stat(fx->mnt, name);
	fbs_server_conn_dir(fx->srv, path, sizeof(path));
	strcat(path, "/fmap_stats");
	return read_counter(path, name);
}

int fixture_daemon_remount(struct fixture *fx)
{
	if (!fx->daemon)
		return -EOPNOTSUPP;
	if (fixture_famfs(0, "umount", fx->mnt) ||
	    (fx->daemon_opts[0] ?
	     fixture_famfs(0, "mount", "-o", fx->daemon_opts, FX_DAEMON_DEV, fx->mnt) :
	     fixture_famfs(0, "mount", FX_DAEMON_DEV, fx->mnt)))
		return -EIO;
	return 0;
}

/* user.famfs.layout of @path: its simple extents (famfs_xattr.h) */
static int xattr_extents(const char *path, struct fmap_simple_ext *ext, unsigned int max)
{
	struct famfs_xattr_layout *h;
	ssize_t n = getxattr(path, FAMFS_XATTR_LAYOUT, NULL, 0);
	void *buf;
	int ret;

	if (n < 0)
		return -errno;
	buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	n = getxattr(path, FAMFS_XATTR_LAYOUT, buf, n);
	h = buf;
	if (n < 0)
		ret = -errno;
	else if ((size_t)n < sizeof(*h) || h->magic != FAMFS_XATTR_LAYOUT_MAGIC ||
		 (size_t)n < sizeof(*h) + h->nsimple * sizeof(*ext))
		ret = -EINVAL;
	else
		ret = h->nsimple;
	if (ret > 0)
		memcpy(ext, h + 1, (ret < (int)max ? ret : (int)max) * sizeof(*ext));
	free(buf);
	return ret;
}

int fixture_file_extents(struct fixture *fx, const char *name,
			 struct fmap_simple_ext *ext, unsigned int max)
{
	if (fx->daemon)
		return xattr_extents(fixture_join(fx->mnt, name), ext, max);
	return fbs_server_file_extents(fx->srv, name, ext, max);
}

const char *fixture_dev(const struct fixture *fx, unsigned int dev)
{
	if (fx->daemon)
		return dev ? NULL : FX_DAEMON_DEV;
	if (fx->block)
		return dev == 0 ? FX_BLK0 : dev == 1 ? FX_BLK1 : dev == 2 ? FX_DEV0 : NULL;
	return dev == 0 ? FX_DEV0 : dev == 1 ? FX_DEV1 : NULL;
}

const char *fixture_path(struct fixture *fx, const char *name, char *buf,
			 size_t size)
{
	snprintf(buf, size, "%s/%s", fx->mnt, name);
	return buf;
}

void layout_simple(struct fbs_layout *l, unsigned int n,
		   const struct fmap_simple_ext *ext)
{
	memset(l, 0, sizeof(*l));
	l->kind = FBS_LAYOUT_SIMPLE;
	l->nsimple = n;
	l->simple = ext;
}

void layout_ileave(struct fbs_layout *l, __u64 len, unsigned int nstrips,
		   unsigned int chunk_shift, const struct fmap_strip *strips)
{
	memset(l, 0, sizeof(*l));
	l->kind = FBS_LAYOUT_INTERLEAVED;
	l->nileave = 1;
	l->ileave[0].len = len;
	l->ileave[0].nstrips = nstrips;
	l->ileave[0].chunk_shift = chunk_shift;
	memcpy(l->ileave[0].strips, strips,
	       (nstrips < FMAP_MAX_STRIPS ? nstrips : FMAP_MAX_STRIPS) * sizeof(*strips));
}

void fill_pattern(void *buf, size_t len, unsigned int seed)
{
	unsigned long long x = seed * 0x9E3779B97F4A7C15ULL + 1;
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)x;
	}
}

static int dev_io(const char *dev, void *buf, size_t len, __u64 off,
		  bool write)
{
	void *bounce;
	ssize_t n;
	int fd, err = 0;

	fd = open(dev, (write ? O_WRONLY : O_RDONLY) | O_DIRECT);
	if (fd < 0)
		return -errno;
	if (posix_memalign(&bounce, 4096, len)) {
		close(fd);
		return -ENOMEM;
	}
	if (write)
		memcpy(bounce, buf, len);
	n = write ? pwrite(fd, bounce, len, off) : pread(fd, bounce, len, off);
	if (n != (ssize_t)len)
		err = n < 0 ? -errno : -EIO;
	else if (!write)
		memcpy(buf, bounce, len);
	free(bounce);
	close(fd);
	return err;
}

int dev_pread(const char *dev, void *buf, size_t len, __u64 off)
{
	return dev_io(dev, buf, len, off, false);
}

int dev_pwrite(const char *dev, const void *buf, size_t len, __u64 off)
{
	return dev_io(dev, (void *)buf, len, off, true);
}

bool layout_bytes_match(const struct fbs_layout *l, const void *data,
			size_t len)
{
	static const char *const devs[] = { FX_DEV0, FX_DEV1 };
	const unsigned char *want = data;
	struct fmap_mapping m;
	unsigned char *got;
	__u64 off;
	bool ok = true;

	got = malloc(len);
	if (!got)
		return false;
	for (off = 0; off < len && ok; off += m.len) {
		int err = l->kind == FBS_LAYOUT_SIMPLE ?
			  fmap_simple_resolve(l->simple, l->nsimple, off, &m) :
			  fmap_ileave_find_resolve(l->ileave, l->nileave, off, &m);

		if (err || m.dev > 1)
			return free(got), false;
		if (m.len > len - off)
			m.len = len - off;
		if (dev_pread(devs[m.dev], got, m.len, m.dev_off) ||
		    memcmp(got, want + off, m.len)) {
			printf("# device bytes differ for file offset %llu (dev %u at %llu)\n",
			       (unsigned long long)off, m.dev,
			       (unsigned long long)m.dev_off);
			ok = false;
		}
	}
	free(got);
	return ok;
}

void worker_read(const char *path, __u64 size)
{
	static char buf[64 * 1024];
	unsigned long i;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		_exit(WORKER_SETUP);
	for (i = 0;; i++) {
		ssize_t n = pread(fd, buf, sizeof(buf), (i * sizeof(buf)) % size);

		if (n < 0)
			_exit(WORKER_READ_ERROR);
		if (n != sizeof(buf))
			_exit(WORKER_READ_SHORT);
	}
}

static void sigbus_exit(int sig)
{
	(void)sig;
	_exit(WORKER_SIGBUS);
}

void worker_fault(const char *path, __u64 size)
{
	volatile unsigned char *map;
	unsigned long i, sum = 0;
	int fd = open(path, O_RDONLY);

	signal(SIGBUS, sigbus_exit);
	if (fd < 0)
		_exit(WORKER_SETUP);
	for (;;) {
		map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			_exit(WORKER_SETUP);
		for (i = 0; i < size; i += 4096)
			sum += map[i];
		munmap((void *)map, size);
	}
}

pid_t fixture_spawn(void (*worker)(const char *, __u64), const char *path,
		    __u64 size)
{
	pid_t pid = fork();

	if (pid == 0) {
		worker(path, size);
		_exit(WORKER_SETUP);
	}
	return pid;
}

int fixture_wait_exit(pid_t pid, int timeout_s)
{
	time_t end = time(NULL) + timeout_s;
	int status;

	while (time(NULL) < end) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			       128 + WTERMSIG(status);
		usleep(100 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

pid_t fixture_serve_in_child(const char *(*serve)(void), char *mnt, size_t size)
{
	const char *served;
	int pipefd[2];
	ssize_t n;
	pid_t pid;

	if (!ASSERT_OK(pipe(pipefd), "pipe"))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		served = serve();
		if (!served || write(pipefd[1], served, strlen(served) + 1) < 0)
			_exit(1);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	/* the mount point comes back; 0 bytes: @serve failed, the child exited */
	n = pid > 0 ? read(pipefd[0], mnt, size - 1) : -1;
	close(pipefd[0]);
	mnt[n > 0 ? n : 0] = '\0';
	if (n > 0)
		return pid;
	if (pid > 0)
		fixture_wait_exit(pid, 5);
	return -1;
}

char fixture_out[16384];
char fixture_err[8192];

static void slurp(int fd, char *buf, size_t size)
{
	ssize_t n = fd >= 0 ? pread(fd, buf, size - 1, 0) : -1;

	buf[n > 0 ? n : 0] = '\0';
}

/* @text's lines as "#   @tag..." comments */
static void log_lines(const char *tag, const char *text)
{
	for (const char *p = text, *nl; *p; p = nl + 1) {
		nl = strchrnul(p, '\n');
		printf("#   %s%.*s\n", tag, (int)(nl - p), p);
		if (!*nl)
			break;
	}
}

int fixture_run(unsigned int flags, char *const argv[])
{
	bool merge = flags & FX_MERGE;
	int status = -1, ofd, efd = -1;
	const char *name;
	pid_t pid;

	fixture_out[0] = fixture_err[0] = '\0';
	ofd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	if (!merge)
		efd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	if (ofd < 0 || (!merge && efd < 0))
		goto out;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		goto out;
	if (pid == 0) {
		/* a shared offset when merged: both streams in the order written */
		dup2(ofd, STDOUT_FILENO);
		dup2(merge ? ofd : efd, STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		status = -1;
	else
		status = WEXITSTATUS(status);
	slurp(ofd, fixture_out, sizeof(fixture_out));
	slurp(efd, fixture_err, sizeof(fixture_err));

	name = strrchr(argv[0], '/');
	printf("# %s", name ? name + 1 : argv[0]);
	for (int i = 1; argv[i]; i++)
		printf(" %s", argv[i]);
	printf(": exit %d\n", status);
	if (merge) {
		log_lines("", fixture_out);
	} else {
		if (flags & FX_LOG_OUT)
			log_lines("out: ", fixture_out);
		log_lines("err: ", fixture_err);
	}
out:
	if (ofd >= 0)
		close(ofd);
	if (efd >= 0)
		close(efd);
	return status;
}

bool fixture_find_binary(const char *rel, char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (!ASSERT_GT(n, 0, "readlink /proc/self/exe"))
		return false;
	exe[n] = '\0';
	/* build/selftests/test_progs -> build */
	snprintf(buf, size, "%s/%s", dirname(dirname(exe)), rel);
	return ASSERT_OK(access(buf, X_OK), rel);
}

const char *fixture_famfs_bin(void)
{
	static char bin[PATH_MAX];
	static bool found;

	if (!found)
		found = fixture_find_binary("server/famfs-bpf", bin, sizeof(bin));
	return found ? bin : NULL;
}

/* "famfs-bpf ARGS..." into @argv (32 entries); false without the binary */
static bool famfs_argv(char *argv[32], const char *const args[])
{
	const char *bin = fixture_famfs_bin();
	int n = 0;

	if (!bin)
		return false;
	argv[n++] = (char *)bin;
	while (*args && n < 31)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	return true;
}

int fixture_famfs_argv(unsigned int flags, const char *const args[])
{
	char *argv[32];

	return famfs_argv(argv, args) ? fixture_run(flags, argv) : -1;
}

pid_t fixture_famfs_fg_argv(const char *log, const char *mnt, int wait_s, int *status,
			    const char *const args[])
{
	const struct timespec poll = { .tv_nsec = 50 * 1000 * 1000 };
	char *argv[32];
	int fd, i;
	pid_t pid;

	if (!famfs_argv(argv, args))
		return -1;
	fd = open(log, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	if (!ASSERT_OK_FD(fd, log))
		return -1;
	/* what stdio holds would be written twice, once by the child */
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fd);
	if (!ASSERT_GT(pid, 0, "fork"))
		return -1;
	for (i = 0; i < wait_s * 20 && !fixture_mounted(mnt); i++) {
		if (waitpid(pid, status ? status : &(int){ 0 }, WNOHANG) == pid)
			return -1;
		nanosleep(&poll, NULL);
	}
	return pid;
}

bool fixture_one_line(const char *text)
{
	const char *nl = strchr(text, '\n');

	return nl && !nl[1];
}

bool fixture_mountinfo(const char *mnt, char *majmin, size_t size)
{
	char line[1024], point[PATH_MAX], dev[64];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f)) {
		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT ..." */
		if (sscanf(line, "%*d %*d %63s %*s %4095s", dev, point) != 2)
			continue;
		mountinfo_unescape(point);
		if (!strcmp(point, mnt)) {
			found = true;
			if (majmin)
				snprintf(majmin, size, "%s", dev);
		}
	}
	if (f)
		fclose(f);
	return found;
}

bool fixture_mounted(const char *mnt)
{
	return fixture_mountinfo(mnt, NULL, 0);
}

void fixture_ensure_unmounted(const char *mnt)
{
	if (!fixture_mounted(mnt))
		return;
	if (fixture_famfs(0, "umount", mnt) && fixture_mounted(mnt))
		umount2(mnt, MNT_DETACH);
	ASSERT_FALSE(fixture_mounted(mnt), "unmounted");
}

/* Does process @pid hold /dev/fuse open? */
static bool holds_fuse(pid_t pid)
{
	char dir[64], fd[PATH_MAX], target[64];
	struct dirent *de;
	bool found = false;
	DIR *d;
	ssize_t n;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	d = opendir(dir);
	while (d && !found && (de = readdir(d))) {
		snprintf(fd, sizeof(fd), "%s/%s", dir, de->d_name);
		n = readlink(fd, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			found = !strcmp(target, "/dev/fuse");
		}
	}
	if (d)
		closedir(d);
	return found;
}

int fixture_find_daemons(const char *mnt, pid_t *pid)
{
	char path[64], cmd[4096], *arg, *last;
	struct dirent *de;
	int count = 0, fd;
	pid_t p;
	ssize_t n;
	DIR *proc = opendir("/proc");

	while (proc && (de = readdir(proc))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		p = atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/%d/cmdline", p);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		if (n <= 0)
			continue;
		cmd[n] = '\0';
		/* argv[0] NUL argv[1] NUL ... */
		arg = cmd + strlen(cmd) + 1;
		if (strcmp(basename(cmd), "famfs-bpf") || arg >= cmd + n ||
		    strcmp(arg, "mount"))
			continue;
		for (last = arg; arg < cmd + n; arg += strlen(arg) + 1)
			last = arg;
		if (strcmp(last, mnt) || !holds_fuse(p))
			continue;
		count++;
		if (pid)
			*pid = p;
	}
	if (proc)
		closedir(proc);
	return count;
}

/* Gone or a zombie: it holds nothing any more. */
static bool dead(pid_t pid)
{
	char path[64], buf[512], *rp;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	rp = strrchr(buf, ')');	/* "pid (comm) S ..." */
	return !rp || rp[2] == 'Z' || rp[2] == 'X';
}

bool fixture_wait_dead(pid_t pid, int ms)
{
	for (; ms > 0 && !dead(pid); ms -= 20)
		usleep(20 * 1000);
	return dead(pid);
}

bool fixture_mkfs_mount(const char *dev, const char *mnt, const char *log_size)
{
	int ret = log_size ? fixture_famfs(0, "mkfs", "-f", "-L", log_size, dev) :
			     fixture_famfs(0, "mkfs", "-f", dev);

	if (!ASSERT_EQ(ret, 0, "mkfs -f"))
		return false;
	mkdir(mnt, 0755);
	return ASSERT_EQ(fixture_famfs(0, "mount", dev, mnt), 0, "mount");
}

bool fixture_remount_argv(const char *mnt, const char *const args[])
{
	const char *argv[32] = { "mount" };
	int n = 1;

	if (fixture_mounted(mnt) && !ASSERT_EQ(fixture_famfs(0, "umount", mnt), 0, "umount"))
		return false;
	while (*args && n < 30)
		argv[n++] = *args++;
	argv[n++] = mnt;
	argv[n] = NULL;
	return ASSERT_EQ(fixture_famfs_argv(0, argv), 0, "mount");
}

/* mount(8)'s helper for famfs-bpf: where it looks, and whether we covered /sbin */
#define SBIN_HELPER "/sbin/mount.fuse.famfs-bpf"
static bool sbin_tmpfs;

bool fixture_install_mount_helper(const char *helper_bin)
{
	unlink(SBIN_HELPER);
	if (!symlink(helper_bin, SBIN_HELPER))
		return true;
	if (errno != EROFS && errno != EACCES && errno != EPERM)
		return ASSERT_OK(-1, "symlink " SBIN_HELPER);
	printf("# /sbin is read-only: a tmpfs with the helper over it\n");
	if (!ASSERT_OK(mount("famfs-bpf-test", "/sbin", "tmpfs", 0, "mode=0755"), "tmpfs on /sbin"))
		return false;
	sbin_tmpfs = true;
	return ASSERT_OK(symlink(helper_bin, SBIN_HELPER), "symlink " SBIN_HELPER);
}

void fixture_remove_mount_helper(void)
{
	if (sbin_tmpfs) {
		ASSERT_OK(umount2("/sbin", 0), "umount /sbin tmpfs");
		sbin_tmpfs = false;
	} else {
		unlink(SBIN_HELPER);
	}
}

long long fixture_resolver_stat(const char *mnt, const char *field)
{
	static char tool[PATH_MAX];
	char stats[PATH_MAX], want[64];
	long long sum = 0;
	struct stat st;
	const char *p;

	if (!tool[0] && !fixture_find_binary("tools/bpftool/bpftool", tool, sizeof(tool))) {
		tool[0] = '\0';
		return -1;
	}
	if (stat(mnt, &st))
		return -1;
	snprintf(stats, sizeof(stats), "/sys/fs/bpf/famfs-bpf/%u/stats", minor(st.st_dev));
	if (fixture_cmd(0, tool, "map", "dump", "pinned", stats))
		return -1;
	/* one "FIELD": N per CPU */
	snprintf(want, sizeof(want), "\"%s\": ", field);
	for (p = fixture_out; (p = strstr(p, want)); p++)
		sum += strtoll(p + strlen(want), NULL, 10);
	return sum;
}

long long fixture_mnt_stat(const char *mnt, const char *name)
{
	struct stat st;

	if (stat(mnt, &st))
		return -1;
	/* a FUSE connection is named after the minor of its st_dev */
	return fixture_conn_stat(minor(st.st_dev), name);
}

long long fixture_conn_stat(unsigned int conn, const char *name)
{
	char file[128];

	snprintf(file, sizeof(file), "/sys/fs/fuse/connections/%u/fmap_stats", conn);
	return read_counter(file, name);
}

const char *fixture_join(const char *dir, const char *name)
{
	static char buf[4][PATH_MAX];
	static int i;

	i = (i + 1) & 3;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

bool fixture_write_fd(int fd, const void *data, size_t len, size_t piece)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		size_t chunk = len - done < piece ? len - done : piece;

		n = write(fd, (const char *)data + done, chunk);
		if (!ASSERT_EQ(n, (ssize_t)chunk, "write"))
			break;
		done += n;
	}
	return done == len;
}

bool fixture_write_file(const char *path, const void *data, size_t len, size_t piece)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	bool ok;

	if (!ASSERT_OK_FD(fd, path))
		return false;
	ok = fixture_write_fd(fd, data, len, piece);
	close(fd);
	return ok;
}

static void check_file(const char *path, const void *data, size_t len, bool eof, bool mapped)
{
	char *buf = malloc(len + 1);
	struct stat st;
	void *map;
	int fd;

	fd = open(path, O_RDONLY);
	if (!ASSERT_OK_FD(fd, path) || !ASSERT_TRUE(buf != NULL, "malloc"))
		goto out;
	if (ASSERT_OK(fstat(fd, &st), "fstat"))
		ASSERT_EQ(st.st_size, len, "size");
	if (ASSERT_EQ(pread(fd, buf, len + eof, 0), (ssize_t)len, eof ? "read to EOF" : "read"))
		ASSERT_MEMEQ(buf, data, len, "read(2) bytes");
	if (!mapped)
		goto out;
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (ASSERT_TRUE(map != MAP_FAILED, "mmap")) {
		ASSERT_MEMEQ(map, data, len, "mmap bytes");
		munmap(map, len);
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
}

void fixture_check_file(const char *path, const void *data, size_t len, bool eof)
{
	check_file(path, data, len, eof, true);
}

void fixture_check_read(const char *path, const void *data, size_t len, bool eof)
{
	check_file(path, data, len, eof, false);
}

bool fixture_debug_kernel(void)
{
	static int kasan = -1;
	char line[256];
	FILE *f;

	if (kasan >= 0)
		return kasan;
	kasan = 0;
	f = popen("zcat /proc/config.gz 2>/dev/null", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strcmp(line, "CONFIG_KASAN=y\n"))
			kasan = 1;
	pclose(f);
	return kasan;
}
