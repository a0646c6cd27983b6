// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "log.h"

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
	cfg.resolver = opts->resolver;
	cfg.bpf_max_simple = opts->bpf_max_simple;
	cfg.bpf_max_ileave = opts->bpf_max_ileave;
	cfg.ileave_chunks = opts->ileave_chunks;
	cfg.devs[1].read_only = opts->dev1_read_only;
	if (opts->alloc_bytes)
		cfg.alloc_end = cfg.alloc_start + opts->alloc_bytes;
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
	if (!fx->srv)
		return;
	fbs_server_destroy(fx->srv);
	fx->srv = NULL;
	rmdir(fx->mnt);
}

long long fixture_stat(struct fixture *fx, const char *name)
{
	char path[96], line[128], key[64];
	long long val, found = -1;
	FILE *f;

	fbs_server_conn_dir(fx->srv, path, sizeof(path));
	strcat(path, "/fmap_stats");
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld", key, &val) == 2 && !strcmp(key, name))
			found = val;
	fclose(f);
	return found;
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

void layout_ileave(struct fbs_layout *l, __u64 len, unsigned int strip_shift,
		   unsigned int chunk_shift, const struct fmap_strip *strips)
{
	memset(l, 0, sizeof(*l));
	l->kind = FBS_LAYOUT_INTERLEAVED;
	l->nileave = 1;
	l->ileave[0].len = len;
	l->ileave[0].strip_shift = strip_shift;
	l->ileave[0].chunk_shift = chunk_shift;
	memcpy(l->ileave[0].strips, strips,
	       (1U << strip_shift) * sizeof(*strips));
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
