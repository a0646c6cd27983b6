/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fixtures for the in-guest tests: mount the test vehicle (vehicle/server.c)
 * over /dev/pmem0 and /dev/pmem1 with layouts a test chooses, or the
 * famfs-bpf daemon on /dev/pmem2, and look at what happened (counters,
 * device bytes); or drive the famfs-bpf binary as a user would (run a
 * command, see its output, mounted or not), and write and check files
 * through a mount.
 */
#ifndef FAMFS_BPF_FIXTURE_H
#define FAMFS_BPF_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "vehicle/server.h"

#define MiB (1ULL << 20)
#define FX_DEV0 "/dev/pmem0"
#define FX_DEV1 "/dev/pmem1"
#define FX_ALLOC_START (512 * MiB)

struct fixture {
	struct fbs_server *srv;	/* the vehicle; NULL on the daemon */
	bool daemon;
	bool block;		/* fixture_opts.block */
	char mnt[64];
	char daemon_opts[64];	/* the daemon's mount -o, for a remount */
};

struct fixture_opts {
	enum fbs_resolver resolver;
	bool dev1_read_only;
	/*
	 * The daemon: a file FX_FILLER takes all but this much of the free
	 * space (whole 2 MiB units); 0: no filler
	 */
	__u64 alloc_bytes;
	/* FBS_RESOLVER_BPF: extent map sizes (0: the defaults) */
	__u32 bpf_max_simple;
	__u32 bpf_max_ileave;
	/* the server answers interleaved files a chunk at a time */
	bool ileave_chunks;
	/*
	 * Not the vehicle: famfs-bpf mkfs -f FX_DAEMON_DEV and mount it, the
	 * daemon users run; only @daemon, @alloc_bytes and @daemon_opts
	 * count then.
	 */
	bool daemon;
	/* the daemon's mount -o (e.g. "resolver=upcall"); NULL: none (BPF) */
	const char *daemon_opts;
	/*
	 * The vehicle's files are on block devices without DAX
	 * (FUSE_ATTR_FMAP_BLOCK): devices 0 and 1 are FX_BLK0 and FX_BLK1,
	 * device 2 is FX_DEV0 (for the kind rule); writes allocate on
	 * FX_BLK0 from FX_BLK_ALLOC_START
	 */
	bool block;
};

/* The guest's virtio-blk disks (selftests/vmtest.sh), 256 MiB each */
#define FX_BLK0 "/dev/vda"
#define FX_BLK1 "/dev/vdb"
#define FX_BLK_ALLOC_START (128 * MiB)

#define FX_DAEMON_DEV "/dev/pmem2"
#define FX_FILLER ".fixture-filler"

/*
 * Mount a server in this process, serving from its own thread; or, with
 * @opts->daemon, a famfs-bpf file system on FX_DAEMON_DEV.
 */
int fixture_mount(struct fixture *fx, const struct fixture_opts *opts);
void fixture_unmount(struct fixture *fx);

/* "name value" counter of this mount's fmap_stats; -1 if absent. */
long long fixture_stat(struct fixture *fx, const char *name);

/*
 * The daemon only: famfs-bpf umount, then mount the same file system
 * again (no mkfs); 0 or -EIO, -EOPNOTSUPP on the vehicle.
 */
int fixture_daemon_remount(struct fixture *fx);

/*
 * Up to @max simple extents of the file @name (the vehicle's, or the
 * daemon's user.famfs.layout): how many it has, or a negative errno.
 */
int fixture_file_extents(struct fixture *fx, const char *name,
			 struct fmap_simple_ext *ext, unsigned int max);
/* The device of extents' index @dev: FX_DEV0/1, or FX_DAEMON_DEV's 0 */
const char *fixture_dev(const struct fixture *fx, unsigned int dev);

/* "mnt/name" into @buf */
const char *fixture_path(struct fixture *fx, const char *name, char *buf,
			 size_t size);

/*
 * Layout builders: devices are indexes 0 (pmem0) and 1 (pmem1).
 * layout_simple() points @l at @ext, which must outlive the use of @l.
 */
void layout_simple(struct fbs_layout *l, unsigned int n,
		   const struct fmap_simple_ext *ext);
/* One interleaved extent of @len from file offset 0, @nstrips strips. */
void layout_ileave(struct fbs_layout *l, __u64 len, unsigned int nstrips,
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

/*
 * A server in a child process, so that a test can kill it: @serve() runs
 * in the child and returns the mount point it serves (NULL: it
 * failed), and the child waits for a signal.  Returns its pid, the mount
 * point in @mnt; -1 if @serve failed (the child reaped).
 */
pid_t fixture_serve_in_child(const char *(*serve)(void), char *mnt, size_t size);

/*
 * Commands, run as a user would: fork, exec @argv[0] (searched in PATH
 * unless it has a '/'), wait.  Returns its exit code, or -1 if it did not
 * run or did not exit (a signal).  What it wrote is kept, truncated and
 * NUL-terminated, in fixture_out (stdout) and fixture_err (stderr) until
 * the next command; none of it reaches the TAP on stdout.  The log gets
 * "# CMD ARGS: exit N", then stderr's lines as "#   err: ..." comments.
 */
enum {
	/* stderr into fixture_out too, in the order written; all of it logged */
	FX_MERGE = 1 << 0,
	/* stdout's lines into the log as well, as "#   out: ..." */
	FX_LOG_OUT = 1 << 1,
};
extern char fixture_out[16384];
extern char fixture_err[8192];
int fixture_run(unsigned int flags, char *const argv[]);
/* fixture_cmd(0, "mount", "-t", "ext2", dev, mnt): no NULL at the end */
#define fixture_cmd(flags, ...) fixture_run(flags, (char *const[]){ __VA_ARGS__, NULL })

/*
 * build/@rel (e.g. "tools/bpftool/bpftool") into @buf: the build tree is
 * the one of build/selftests/test_progs.  Asserts that it is executable.
 */
bool fixture_find_binary(const char *rel, char *buf, size_t size);
/* build/server/famfs-bpf, found and asserted on the first call; NULL if not there */
const char *fixture_famfs_bin(void);
/* Run "famfs-bpf ARGS..." with fixture_run(); -1 without the binary */
int fixture_famfs_argv(unsigned int flags, const char *const args[]);
/* fixture_famfs(0, "mount", dev, mnt): no NULL at the end */
#define fixture_famfs(flags, ...) \
	fixture_famfs_argv(flags, (const char *const[]){ __VA_ARGS__, NULL })
/*
 * "famfs-bpf ARGS..." in a child whose stdout and stderr go to file @log: a
 * daemon in the foreground (mount -f, mount -d) that serves @mnt.  Returns
 * its pid once @mnt is mounted, or after @wait_s seconds; -1 if it did not
 * start, or exited first (its wait status into *@status if not NULL).
 */
pid_t fixture_famfs_fg_argv(const char *log, const char *mnt, int wait_s, int *status,
			    const char *const args[]);
/* fixture_famfs_fg(log, mnt, 20, NULL, "mount", "-f", dev, mnt): no NULL at the end */
#define fixture_famfs_fg(log, mnt, wait_s, status, ...) \
	fixture_famfs_fg_argv(log, mnt, wait_s, status, (const char *const[]){ __VA_ARGS__, NULL })
/* @text is exactly one line, newline included: how the CLI reports an error */
bool fixture_one_line(const char *text);

/* @mnt's line in /proc/self/mountinfo; its "major:minor" into @majmin if not NULL */
bool fixture_mountinfo(const char *mnt, char *majmin, size_t size);
bool fixture_mounted(const char *mnt);
/*
 * However a test ended, nothing stays mounted on @mnt: famfs-bpf umount,
 * or a lazy umount2() if that failed; asserted.
 */
void fixture_ensure_unmounted(const char *mnt);
/*
 * The famfs-bpf daemons serving @mnt.  FUSE ties no /dev/fuse file to its
 * mount in /proc (fdinfo has no connection id), so a daemon is recognised
 * the way an administrator would: a famfs-bpf process whose command line
 * is "mount ... @mnt" and which holds /dev/fuse open.  mount returns only
 * once its intermediate child has exited, so the daemon is the one such
 * process.  Returns how many there are, the last one's pid in *@pid.
 */
int fixture_find_daemons(const char *mnt, pid_t *pid);
/* Process @pid gone or a zombie (it holds nothing any more), waited for up to @ms */
bool fixture_wait_dead(pid_t pid, int ms);
/*
 * famfs-bpf mkfs -f [-L @log_size] @dev, then famfs-bpf mount @dev @mnt
 * (made if missing); each asserted.  @log_size NULL: the default log.
 */
bool fixture_mkfs_mount(const char *dev, const char *mnt, const char *log_size);
/*
 * famfs-bpf umount @mnt if it is mounted, then famfs-bpf mount ARGS...
 * @mnt: a fresh mount with what is on the devices; each asserted.
 */
bool fixture_remount_argv(const char *mnt, const char *const args[]);
/* fixture_remount(mnt, "-o", "ro", dev): no NULL and no mount point at the end */
#define fixture_remount(mnt, ...) \
	fixture_remount_argv(mnt, (const char *const[]){ __VA_ARGS__, NULL })
/*
 * mount(8) runs helpers from /sbin only: link @helper_bin (the build's
 * mount.fuse.famfs-bpf) there, over a tmpfs on /sbin while the test runs
 * when the root is read-only (the guest's); asserted.  Remove it after.
 */
bool fixture_install_mount_helper(const char *helper_bin);
void fixture_remove_mount_helper(void);
/* Counter @name of the fmap_stats of the FUSE mount on @mnt; -1 if absent */
long long fixture_mnt_stat(const char *mnt, const char *name);
/* The same of FUSE connection @conn (the minor of its mount's st_dev) */
long long fixture_conn_stat(unsigned int conn, const char *name);

/*
 * Counter @field of the BPF resolver of the mount on @mnt, summed over
 * CPUs: bpftool's dump of the stats map the daemon pins; -1 if not read.
 */
long long fixture_resolver_stat(const char *mnt, const char *field);

/* "@dir/@name" in one of 4 static buffers, taken in turn */
const char *fixture_join(const char *dir, const char *name);
/*
 * @len bytes of @data into @fd from offset 0 in write(2)s of at most
 * @piece bytes (each write that moves EOF grows the file); asserted.
 */
bool fixture_write_fd(int fd, const void *data, size_t len, size_t piece);
/* Create or truncate @path (0644), then fixture_write_fd() */
bool fixture_write_file(const char *path, const void *data, size_t len, size_t piece);
/*
 * stat gives @len, read(2) and a shared mmap give @data; with @eof the
 * read asks for one byte more and must stop at the end.  Asserted.
 */
void fixture_check_file(const char *path, const void *data, size_t len, bool eof);
/* The same without the mmap */
void fixture_check_read(const char *path, const void *data, size_t len, bool eof);

/*
 * A kernel built with KASAN (make check's debug kernel): tests that only
 * repeat work run less of it there, where everything is 3 to 10 times slower.
 */
bool fixture_debug_kernel(void);

#endif /* FAMFS_BPF_FIXTURE_H */
