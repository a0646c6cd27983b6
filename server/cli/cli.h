/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The famfs-bpf command line: a table of subcommands with declarative
 * options (cli.c), the device access they share (cli_dev.c), and the
 * commands (cli_mkfs.c, cli_fsck.c, cli_stats.c, cli_mount.c).  famfs-bpf.c is only main(), so the
 * unit tests drive the same code through famfs_cli_run().
 */
#ifndef FAMFS_BPF_CLI_H
#define FAMFS_BPF_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h>

#include "fs/dev.h"

/* Exit codes, e2fsck's where they apply (they are OR-ed like its). */
#define CLI_EXIT_OK		0
#define CLI_EXIT_FIXED		1	/* fsck: errors corrected (no repair yet) */
#define CLI_EXIT_UNCORRECTED	4	/* fsck: errors left uncorrected */
#define CLI_EXIT_OPERATIONAL	8	/* cannot open, read, write; refused */
#define CLI_EXIT_USAGE		16

/*
 * Run "famfs-bpf ARGS": @argv[0] is the program name.  Reports and
 * summaries go to @out; errors are one line each through log.h (stderr).
 * Returns an exit code above.
 */
int famfs_cli_run(int argc, char **argv, FILE *out);

/* "4K", "8M", "1G", "2T", "4096" (binary units); -EINVAL, -ERANGE. */
int cli_parse_size(const char *s, __u64 *val);

/* ---- cli_dev.c: devices for mkfs and fsck ---- */

#define CLI_PROBE_LEN	(72 * 1024)	/* covers every signature we probe */

struct cli_dev {
	const char *path;
	int fd;
	__u64 size;		/* bytes */
	__u32 kind;		/* enum famfs_dev_kind it would get */
	struct dev_id id;	/* to refuse a device given twice */
};

/*
 * Open @path for mkfs (@write: exclusive, so a mounted or held block
 * device is refused) or fsck.  Prints the one-line error itself.
 */
int cli_dev_open(struct cli_dev *d, const char *path, bool write);
void cli_dev_close(struct cli_dev *d);
/* Whole reads and writes; @buf 4 KiB aligned, @off and @len 4 KiB multiples. */
int cli_dev_read(struct cli_dev *d, __u64 off, void *buf, size_t len);
int cli_dev_write(struct cli_dev *d, __u64 off, const void *buf, size_t len);
/* Make writes durable and drop cached pages, so a DAX mapping sees them. */
int cli_dev_sync(struct cli_dev *d);
/* Same file or device as @b. */
bool cli_dev_same(const struct cli_dev *a, const struct cli_dev *b);
/* 4 KiB-aligned zeroed memory, freed with free(). */
void *cli_buf_alloc(size_t len);
/*
 * The file system or signature that @buf (the first @len bytes of a
 * device, up to CLI_PROBE_LEN) holds, described in @what; false if none.
 */
bool cli_probe_signature(const void *buf, size_t len, char *what, size_t whatlen);
/* Progress of a long operation, on a terminal only. */
void cli_progress(const char *what, __u64 done, __u64 total);

/* ---- commands ---- */

struct cli_mkfs_args {
	bool force;
	bool whole_units;	/* the format before 4 KiB pages: every file in 2 MiB units */
	__u64 log_size;		/* 0: the default */
};

struct cli_fsck_args {
	bool no_change;		/* -n: the default */
	bool compact;		/* -c: a checkpoint first (fs_compact()), then the check */
};

struct cli_stats_args {
	bool unused;		/* no options yet */
};

/* mount's own exit codes, one cause each (not OR-ed) */
#define CLI_EXIT_MOUNT_NOFS	32	/* a device holds no famfs-bpf file system */
#define CLI_EXIT_MOUNT_NOFMAP	33	/* the kernel cannot map files (no FUSE_FMAP) */
#define CLI_EXIT_MOUNT_MNTPT	34	/* the mount point: missing, not a directory, in use */
#define CLI_EXIT_MOUNT_NODAX	35	/* a device is not DAX memory: devdax, plain block */
#define CLI_EXIT_MOUNT_BUSY	36	/* another owner holds the log (mounted already) */
#define CLI_EXIT_MOUNT_PERM	37	/* no CAP_SYS_ADMIN, or a device refused access */

/*
 * The log replay's progress while mount opens the file system (before the
 * daemon detaches, so on the command's stderr), through cli_progress(): on
 * a terminal only, and only for a log that takes a while, more than
 * CLI_REPLAY_QUIET_ENTRIES entries or CLI_REPLAY_QUIET_MS.  @ctx is a
 * struct cli_replay_progress, start_ms the replay's start (CLOCK_MONOTONIC).
 */
#define CLI_REPLAY_QUIET_ENTRIES	10000
#define CLI_REPLAY_QUIET_MS		500

struct cli_replay_progress {
	long start_ms;
	bool shown;
};

void cli_replay_progress(void *ctx, __u64 done, __u64 total);

struct cli_mount_args {
	bool foreground;	/* -f: serve in this process */
	bool debug;		/* -d: -f, and every request logged */
	const char *options;	/* -o: comma-separated, "resolver=upcall", "ro" */
};

/* logplay's own exit code (0, 4 corrupt log, 8, 16, 40 not famfs-bpf) */
#define CLI_EXIT_LOGPLAY_OWNER	50	/* MNT is the owner: nothing to play */

struct cli_logplay_args {
	bool unused;		/* no options yet */
};

/* cli_logplay.c: the read-only mount @mnt catches up with the owner's log */
int cli_logplay(const struct cli_logplay_args *args, const char *mnt, FILE *out);

struct cli_umount_args {
	bool unused;		/* no options yet */
};

int cli_mkfs(const struct cli_mkfs_args *args, int ndevs, char **devs, FILE *out);
/* cli_stats.c: the kernel's counters and the BPF resolver of mount @mnt */
int cli_stats(const struct cli_stats_args *args, const char *mnt, FILE *out);
int cli_fsck(const struct cli_fsck_args *args, int ndevs, char **devs, FILE *out);
/* cli_mount.c: the operands are DEV... MNT */
int cli_mount(const struct cli_mount_args *args, int n, char **operands, FILE *out);
int cli_umount(const struct cli_umount_args *args, const char *mnt, FILE *out);

/*
 * cli_files.c (creat, cp, mkdir) and cli_getmap.c: files inside a mount.
 * Their own exit codes, one cause each (not OR-ed).
 */
#define CLI_EXIT_NOT_FAMFS	40	/* the target is not inside a famfs-bpf mount */
#define CLI_EXIT_EXISTS		41	/* the target exists already */
#define CLI_EXIT_NOSPC		42	/* the file system is full (nothing partial left) */
#define CLI_EXIT_BADLAYOUT	43	/* getmap: no layout, or a malformed one */

struct cli_creat_args {
	const char *size;	/* -s, required: parsed by the command */
	const char *strips;	/* -N, validated by the command */
	__u64 chunk;		/* -C, 0: not given */
};

struct cli_cp_args {
	bool recursive;		/* -r */
	const char *strips;	/* -N */
	__u64 chunk;		/* -C */
};

struct cli_mkdir_args {
	bool parents;		/* -p */
};

struct cli_getmap_args {
	bool unused;		/* no options yet */
};

int cli_creat(const struct cli_creat_args *args, const char *file, FILE *out);
/* the operands are SRC... DST */
int cli_cp(const struct cli_cp_args *args, int n, char **operands, FILE *out);
int cli_mkdir(const struct cli_mkdir_args *args, int n, char **dirs, FILE *out);
/* the operands are FILE [OFFSET...] */
int cli_getmap(const struct cli_getmap_args *args, int n, char **operands, FILE *out);

/*
 * 0 if @path (which must exist) is inside a famfs-bpf mount, else a
 * one-line error and CLI_EXIT_NOT_FAMFS or CLI_EXIT_OPERATIONAL.  @cmd
 * prefixes the message.
 */
int cli_check_famfs(const char *cmd, const char *path);

#endif /* FAMFS_BPF_CLI_H */
