// SPDX-License-Identifier: GPL-2.0
/*
 * famfs-bpf's command table.  Each command declares its options once; the
 * same table drives getopt_long, the --help text and the dispatch, so the
 * help cannot drift from what is parsed.  Only commands that work are in
 * the table.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "cli.h"
#include "famfs_format.h"
#include "fs/log.h"

enum cli_opt_type {
	CLI_OPT_FLAG,		/* bool, set when given */
	CLI_OPT_SIZE,		/* __u64, cli_parse_size() */
	CLI_OPT_STRING,		/* const char *, the argument itself */
};

struct cli_opt {
	char short_name;
	const char *long_name;
	enum cli_opt_type type;
	size_t off;		/* of the value in the command's args struct */
	const char *metavar;	/* CLI_OPT_SIZE, CLI_OPT_STRING */
	const char *help;
};

union cli_args {
	struct cli_mkfs_args mkfs;
	struct cli_fsck_args fsck;
	struct cli_stats_args stats;
	struct cli_mount_args mount;
	struct cli_umount_args umount;
	struct cli_creat_args creat;
	struct cli_cp_args cp;
	struct cli_mkdir_args mkdir;
	struct cli_getmap_args getmap;
	struct cli_logplay_args logplay;
};

struct cli_cmd {
	const char *name;
	const char *operands;	/* for the usage line */
	int min_operands;
	int max_operands;
	const char *summary;
	const char *const *details;	/* NULL-terminated lines for --help */
	const struct cli_opt *opts;	/* ends with a zero entry */
	int (*run)(union cli_args *args, int n, char **operands, FILE *out);
};

static int run_mkfs(union cli_args *a, int n, char **ops, FILE *out)
{
	return cli_mkfs(&a->mkfs, n, ops, out);
}

static int run_fsck(union cli_args *a, int n, char **ops, FILE *out)
{
	return cli_fsck(&a->fsck, n, ops, out);
}

static int run_stats(union cli_args *a, int n, char **ops, FILE *out)
{
	(void)n;
	return cli_stats(&a->stats, ops[0], out);
}

static int run_mount(union cli_args *a, int n, char **ops, FILE *out)
{
	return cli_mount(&a->mount, n, ops, out);
}

static int run_umount(union cli_args *a, int n, char **ops, FILE *out)
{
	(void)n;
	return cli_umount(&a->umount, ops[0], out);
}

static int run_creat(union cli_args *a, int n, char **ops, FILE *out)
{
	(void)n;
	return cli_creat(&a->creat, ops[0], out);
}

static int run_cp(union cli_args *a, int n, char **ops, FILE *out)
{
	return cli_cp(&a->cp, n, ops, out);
}

static int run_mkdir(union cli_args *a, int n, char **ops, FILE *out)
{
	return cli_mkdir(&a->mkdir, n, ops, out);
}

static int run_getmap(union cli_args *a, int n, char **ops, FILE *out)
{
	return cli_getmap(&a->getmap, n, ops, out);
}

static int run_logplay(union cli_args *a, int n, char **ops, FILE *out)
{
	(void)n;
	return cli_logplay(&a->logplay, ops[0], out);
}

static const struct cli_opt mkfs_opts[] = {
	{ 'f', "force", CLI_OPT_FLAG, offsetof(struct cli_mkfs_args, force), NULL,
	  "overwrite devices that hold a file system or swap" },
	{ 'L', "log-size", CLI_OPT_SIZE, offsetof(struct cli_mkfs_args, log_size), "SIZE",
	  "metadata log size (default 8M; 64K to 1G, 4K multiple)" },
	{ 'U', "whole-units", CLI_OPT_FLAG, offsetof(struct cli_mkfs_args, whole_units), NULL,
	  "every file in 2 MiB units, as before 4 KiB pages (older famfs-bpf mounts it)" },
	{ 0 }
};

static const char *const mkfs_details[] = {
	"Writes the superblock on the first device, a label on every device and",
	"an empty metadata log; the devices are then used in the order given.",
	"Block devices (pmem in fsdax mode) and regular files are accepted.",
	NULL
};

static const struct cli_opt fsck_opts[] = {
	{ 'n', "no-change", CLI_OPT_FLAG, offsetof(struct cli_fsck_args, no_change), NULL,
	  "check only (the default: fsck does not repair yet)" },
	{ 'c', "compact", CLI_OPT_FLAG, offsetof(struct cli_fsck_args, compact), NULL,
	  "first write a checkpoint: the live namespace as a compact log (unmounted)" },
	{ 0 }
};

static const char *const fsck_details[] = {
	"Checks the superblock, every label, the metadata log and every file's",
	"extents (overlaps, outside a device), and reports free and used space.",
	"Read-only: nothing is repaired yet.  Give the devices in mkfs order.",
	"--compact first checkpoints the log (writes it; the file system unmounted).",
	"Exit: 0 clean (a torn last log entry is a note), 4 errors found,",
	"8 cannot open or read a device, 16 usage; OR-ed like e2fsck's.",
	NULL
};

static const struct cli_opt stats_opts[] = {
	{ 0 }
};

static const char *const stats_details[] = {
	"Prints the kernel's counters for the mapped files of the FUSE mount MNT",
	"(fmap_stats in the fuse control file system): cache hits and misses,",
	"answers of the BPF and built-in resolvers, upcalls to the server,",
	"rejected mappings, invalidations; whether a BPF resolver is attached,",
	"and where its maps are pinned (bpftool map dump pinned PATH).",
	"Exit: 0, 8 if MNT is not a FUSE mount with mapped files, 16 usage.",
	NULL
};

static const struct cli_opt mount_opts[] = {
	{ 'f', "foreground", CLI_OPT_FLAG, offsetof(struct cli_mount_args, foreground), NULL,
	  "serve in this process; do not daemonize" },
	{ 'd', "debug", CLI_OPT_FLAG, offsetof(struct cli_mount_args, debug), NULL,
	  "-f, and log every mapping request and reply (debug messages)" },
	{ 'o', "options", CLI_OPT_STRING, offsetof(struct cli_mount_args, options), "OPTS",
	  "comma-separated: resolver=bpf (default), resolver=builtin or resolver=upcall; ro; takeover" },
	{ 0 }
};

static const char *const mount_details[] = {
	"Mounts the file system on DEV... (in mkfs order) at MNT and serves it:",
	"once the mount answers, the daemon goes to the background (not with -f).",
	"-o ro: a read-only follower of the log's owner (this host or another one",
	"sharing the memory); famfs-bpf logplay MNT applies what the owner wrote.",
	"-o takeover: become the owner in place of another host's owner that is gone",
	"(its owner record unchanged for a whole lease, 10 s; refused if it changes).",
	"-o also takes mount(8)'s generic options: noatime, relatime, strictatime,",
	"nodiratime, lazytime, sync, dirsync, nosuid, nodev, noexec (nosuid and nodev",
	"unless suid, dev), and drops defaults, auto, nofail, _netdev, x-*, ...",
	"Exit: 0 mounted, 32 a device holds no famfs-bpf file system, 33 the kernel",
	"cannot map files (no FUSE_FMAP), 34 the mount point, 35 a device is not",
	"DAX memory (devdax, a block device without DAX), 36 in use (another owner",
	"holds the log: on this host, or another host named in the line), 37",
	"permission (not root, a device refused access),",
	"8 anything else, 16 usage.",
	NULL
};

static const struct cli_opt umount_opts[] = {
	{ 0 }
};

static const char *const umount_details[] = {
	"Unmounts the famfs-bpf mount MNT and waits for its daemon to let go of",
	"the devices.  Exit: 0, 8 (not a famfs-bpf mount, busy), 16 usage.",
	NULL
};

static const struct cli_opt creat_opts[] = {
	{ 's', "size", CLI_OPT_STRING, offsetof(struct cli_creat_args, size), "SIZE",
	  "file size, required (0 allowed)" },
	{ 'N', "strips", CLI_OPT_STRING, offsetof(struct cli_creat_args, strips), "STRIPS",
	  "interleave over STRIPS strips (1 to 16)" },
	{ 'C', "chunk", CLI_OPT_SIZE, offsetof(struct cli_creat_args, chunk), "CHUNK",
	  "interleave chunk size (a power of two, 2M to 256M)" },
	{ 0 }
};

static const char *const creat_details[] = {
	"Creates FILE (it must not exist) in a famfs-bpf mount and allocates SIZE",
	"bytes by writing zeroes through the mount: famfs allocates on write, so",
	"the space is reserved when the command returns.  -N/-C set the file's",
	"stripe policy (user.famfs.stripe) first.",
	"Exit: 0, 8 I/O error, 16 usage, 40 not in a famfs-bpf mount, 41 FILE",
	"exists, 42 no space (FILE removed).",
	NULL
};

static const struct cli_opt cp_opts[] = {
	{ 'r', "recursive", CLI_OPT_FLAG, offsetof(struct cli_cp_args, recursive), NULL,
	  "copy directories and what they hold" },
	{ 'N', "strips", CLI_OPT_STRING, offsetof(struct cli_cp_args, strips), "STRIPS",
	  "interleave each new file over STRIPS strips" },
	{ 'C', "chunk", CLI_OPT_SIZE, offsetof(struct cli_cp_args, chunk), "CHUNK",
	  "interleave chunk size of each new file" },
	{ 0 }
};

static const char *const cp_details[] = {
	"Copies regular files (and, with -r, directory trees) into a famfs-bpf",
	"mount, keeping their mode.  DST is an existing directory, or a new name",
	"when there is one SRC.  Existing files are not overwritten.  Stops at",
	"the first error; a file copied in part is removed.",
	"Exit: 0, 8 I/O error or a SRC that cannot be copied, 16 usage, 40 DST",
	"not in a famfs-bpf mount, 41 a destination exists, 42 no space.",
	NULL
};

static const struct cli_opt mkdir_opts[] = {
	{ 'p', "parents", CLI_OPT_FLAG, offsetof(struct cli_mkdir_args, parents), NULL,
	  "make missing parents; an existing directory is no error" },
	{ 0 }
};

static const char *const mkdir_details[] = {
	"Makes directories in a famfs-bpf mount.",
	"Exit: 0, 8 error, 16 usage, 40 not in a famfs-bpf mount, 41 exists.",
	NULL
};

static const struct cli_opt getmap_opts[] = {
	{ 0 }
};

static const char *const getmap_details[] = {
	"Prints where FILE's bytes live: each extent (simple: file range to a",
	"device index and range; interleaved: strips, chunk and each strip's",
	"device range), then for each OFFSET (4096, 1M, ...) its device and",
	"device offset, a hole, or beyond the end of the file.",
	"Exit: 0, 8 error, 16 usage, 40 not in a famfs-bpf mount, 43 no layout",
	"or a malformed one.",
	NULL
};

static const struct cli_opt logplay_opts[] = {
	{ 0 }
};

static const char *const logplay_details[] = {
	"Makes the daemon of the read-only mount MNT (mount -o ro) apply what the",
	"owner appended to the metadata log since, and the kernel forget the names,",
	"attributes and mappings that changed.  Prints \"MNT: applied N log entries\".",
	"Exit: 0, 4 the log is corrupt (applied up to the bad entry), 8 error,",
	"16 usage, 40 not a famfs-bpf mount, 50 MNT is the owner (nothing to play).",
	NULL
};

static const struct cli_cmd commands[] = {
	{ "mkfs", "DEV...", 1, FBS_ALLOC_MAX_DEVS, "create a file system",
	  mkfs_details, mkfs_opts, run_mkfs },
	{ "fsck", "DEV...", 1, FAMFS_MAX_DEVS, "check a file system",
	  fsck_details, fsck_opts, run_fsck },
	{ "stats", "MNT", 1, 1, "show the kernel's counters of a mount",
	  stats_details, stats_opts, run_stats },
	{ "mount", "DEV... MNT", 2, FAMFS_MAX_DEVS + 1, "mount and serve a file system",
	  mount_details, mount_opts, run_mount },
	{ "umount", "MNT", 1, 1, "unmount a file system",
	  umount_details, umount_opts, run_umount },
	{ "creat", "FILE", 1, 1, "create a file and allocate its space",
	  creat_details, creat_opts, run_creat },
	{ "cp", "SRC... DST", 2, INT_MAX, "copy files into a mount",
	  cp_details, cp_opts, run_cp },
	{ "mkdir", "DIR...", 1, INT_MAX, "make directories in a mount",
	  mkdir_details, mkdir_opts, run_mkdir },
	{ "getmap", "FILE [OFFSET...]", 1, INT_MAX, "show where a file's bytes live",
	  getmap_details, getmap_opts, run_getmap },
	{ "logplay", "MNT", 1, 1, "apply the owner's new log entries to a read-only mount",
	  logplay_details, logplay_opts, run_logplay },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage_main(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: famfs-bpf [-v] COMMAND [ARGS]\n\nCommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "  %-8s %s\n", "help", "this list; COMMAND --help for one command");
	fprintf(out, "\nOptions:\n  -v, --verbose  more messages (twice: debug)\n"
		"  -h, --help     this list\n\nSee famfs-bpf(8).\n");
}

static void usage_cmd(const struct cli_cmd *c, FILE *out)
{
	const struct cli_opt *o;
	const char *const *line;
	char left[64];

	fprintf(out, "Usage: famfs-bpf %s [OPTIONS] %s\n%s.\n\n", c->name, c->operands,
		c->summary);
	for (line = c->details; line && *line; line++)
		fprintf(out, "%s\n", *line);
	fprintf(out, "\nOptions:\n");
	for (o = c->opts; o->short_name; o++) {
		snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->long_name,
			 o->metavar ? "=" : "", o->metavar ? o->metavar : "");
		fprintf(out, "  %-24s %s\n", left, o->help);
	}
	fprintf(out, "  %-24s %s\n", "-h, --help", "this text");
	fprintf(out, "\nSee famfs-bpf-%s(8).\n", c->name);
}

int cli_parse_size(const char *s, __u64 *val)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	const char *u;
	char *end;
	int shift = 0;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (*end) {
		u = strchr(units, *end == 'k' ? 'K' : *end);
		if (!u || !*u)
			return -EINVAL;
		shift = 10 * (int)(u - units + 1);
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
		if (*end)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*val = (__u64)v << shift;
	return 0;
}

/* Parse @c's options into @args; on failure print one line and return -EINVAL. */
static int parse_opts(const struct cli_cmd *c, int argc, char **argv,
		      union cli_args *args, bool *help)
{
	struct option lopts[16];
	char optstring[40] = ":h";
	const struct cli_opt *o;
	size_t n = 0, sl = 2;
	int ch;

	for (o = c->opts; o->short_name; o++, n++) {
		lopts[n] = (struct option){ o->long_name,
					    o->type == CLI_OPT_FLAG ? no_argument : required_argument,
					    NULL, o->short_name };
		optstring[sl++] = o->short_name;
		if (o->type != CLI_OPT_FLAG)
			optstring[sl++] = ':';
	}
	optstring[sl] = '\0';
	lopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	lopts[n] = (struct option){ 0 };

	optind = 0;	/* GNU: start over (the tests parse many times) */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, optstring, lopts, NULL)) != -1) {
		if (ch == 'h') {
			*help = true;
			return 0;
		}
		if (ch == '?') {
			pr_err("%s: unknown option '%s' (see famfs-bpf %s --help)", c->name,
			       argv[optind - 1], c->name);
			return -EINVAL;
		}
		if (ch == ':') {
			pr_err("%s: option '%s' needs a value (see famfs-bpf %s --help)", c->name,
			       argv[optind - 1], c->name);
			return -EINVAL;
		}
		for (o = c->opts; o->short_name != ch; o++)
			;
		if (o->type == CLI_OPT_FLAG) {
			*(bool *)((char *)args + o->off) = true;
		} else if (o->type == CLI_OPT_STRING) {
			*(const char **)((char *)args + o->off) = optarg;
		} else if (cli_parse_size(optarg, (__u64 *)((char *)args + o->off))) {
			pr_err("%s: -%c %s: not a size (a number with K, M, G or T)", c->name,
			       o->short_name, optarg);
			return -EINVAL;
		}
	}
	return 0;
}

static int run_cmd(const struct cli_cmd *c, int argc, char **argv, FILE *out)
{
	union cli_args args;
	bool help = false;
	int n;

	memset(&args, 0, sizeof(args));
	if (parse_opts(c, argc, argv, &args, &help))
		return CLI_EXIT_USAGE;
	if (help) {
		usage_cmd(c, out);
		return CLI_EXIT_OK;
	}
	n = argc - optind;
	if (n < c->min_operands) {
		pr_err("%s: missing %s (see famfs-bpf %s --help)", c->name, c->operands, c->name);
		return CLI_EXIT_USAGE;
	}
	if (n > c->max_operands) {
		pr_err("%s: %d operands, at most %d", c->name, n, c->max_operands);
		return CLI_EXIT_USAGE;
	}
	return c->run(&args, n, argv + optind, out);
}

int famfs_cli_run(int argc, char **argv, FILE *out)
{
	enum fbs_log_level level = FBS_LOG_WARN;
	const char *name;
	int i = 1;
	size_t k;

	/* global options come before the command; the command parses the rest */
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			if (level < FBS_LOG_DEBUG)
				level++;
		} else if (!strcmp(argv[i], "-vv")) {
			level = FBS_LOG_DEBUG;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage_main(out);
			return CLI_EXIT_OK;
		} else {
			pr_err("unknown option '%s' (see famfs-bpf help)", argv[i]);
			return CLI_EXIT_USAGE;
		}
	}
	fbs_log_set_level(level);
	if (i >= argc) {
		pr_err("no command given (see famfs-bpf help)");
		return CLI_EXIT_USAGE;
	}
	name = argv[i];
	if (!strcmp(name, "help")) {
		if (i + 1 < argc) {
			for (k = 0; k < NCOMMANDS; k++)
				if (!strcmp(argv[i + 1], commands[k].name)) {
					usage_cmd(&commands[k], out);
					return CLI_EXIT_OK;
				}
			pr_err("help: unknown command '%s' (see famfs-bpf help)", argv[i + 1]);
			return CLI_EXIT_USAGE;
		}
		usage_main(out);
		return CLI_EXIT_OK;
	}
	for (k = 0; k < NCOMMANDS; k++)
		if (!strcmp(name, commands[k].name))
			return run_cmd(&commands[k], argc - i, argv + i, out);
	pr_err("unknown command '%s' (see famfs-bpf help)", name);
	return CLI_EXIT_USAGE;
}
