/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fixtures for the in-guest FUSE_FMAP tests: mount the famfs-bpf server
 * library over /dev/pmem0 and /dev/pmem1 with layouts a test chooses, and
 * look at what happened (counters, device bytes).
 */
#ifndef FAMFS_BPF_FIXTURE_H
#define FAMFS_BPF_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "server.h"

#define MiB (1ULL << 20)
#define FX_DEV0 "/dev/pmem0"
#define FX_DEV1 "/dev/pmem1"
#define FX_ALLOC_START (512 * MiB)

struct fixture {
	struct fbs_server *srv;
	char mnt[64];
};

struct fixture_opts {
	enum fbs_resolver resolver;
	bool dev1_read_only;
	/* bytes the server may allocate for writes (0: up to the device end) */
	__u64 alloc_bytes;
	/* FBS_RESOLVER_BPF: extent map sizes (0: the defaults) */
	__u32 bpf_max_simple;
	__u32 bpf_max_ileave;
	/* the server answers interleaved files a chunk at a time */
	bool ileave_chunks;
};

/* Mount a server in this process, serving from its own thread. */
int fixture_mount(struct fixture *fx, const struct fixture_opts *opts);
void fixture_unmount(struct fixture *fx);

/* "name value" counter of this mount's fmap_stats; -1 if absent. */
long long fixture_stat(struct fixture *fx, const char *name);

/* "mnt/name" into @buf */
const char *fixture_path(struct fixture *fx, const char *name, char *buf,
			 size_t size);

/*
 * Layout builders: devices are indexes 0 (pmem0) and 1 (pmem1).
 * layout_simple() points @l at @ext, which must outlive the use of @l.
 */
void layout_simple(struct fbs_layout *l, unsigned int n,
		   const struct fmap_simple_ext *ext);
/* One interleaved extent of @len from file offset 0. */
void layout_ileave(struct fbs_layout *l, __u64 len, unsigned int strip_shift,
		   unsigned int chunk_shift, const struct fmap_strip *strips);

/* Deterministic bytes that differ for every (seed, offset). */
void fill_pattern(void *buf, size_t len, unsigned int seed);

/* Read/write a device directly, bypassing its page cache. */
int dev_pread(const char *dev, void *buf, size_t len, __u64 off);
int dev_pwrite(const char *dev, const void *buf, size_t len, __u64 off);

/* Check that file bytes @data sit on the devices where @l says. */
bool layout_bytes_match(const struct fbs_layout *l, const void *data,
			size_t len);

/*
 * Server-death tests: workers that use a file until it fails them, in a
 * child process (fixture_spawn), and a bounded wait for their exit code.
 */
enum {
	WORKER_READ_ERROR = 10,	/* read(2) failed: what the test wants */
	WORKER_SIGBUS = 11,	/* a fault failed: what the test wants */
	WORKER_SETUP = 12,
	WORKER_READ_SHORT = 13,	/* inside the file: wrong, not an error */
};
/* Read @size bytes of @path in 64 KiB steps, round and round */
void worker_read(const char *path, __u64 size);
/* Map @size bytes of @path, fault every page in, unmap, again */
void worker_fault(const char *path, __u64 size);
pid_t fixture_spawn(void (*worker)(const char *, __u64), const char *path,
		    __u64 size);
/* @pid's exit code or 128 + signal; -1 (after SIGKILL) past @timeout_s */
int fixture_wait_exit(pid_t pid, int timeout_s);

#endif /* FAMFS_BPF_FIXTURE_H */
