// SPDX-License-Identifier: GPL-2.0
/*
 * mount.fuse.famfs-bpf: the helper mount(8) runs for "mount -t
 * fuse.famfs-bpf" and for fstab lines of that type.
 *
 * libmount looks for /sbin/mount.TYPE (TYPE with its ".subtype"), and
 * calls it as
 *
 *	mount.fuse.famfs-bpf SPEC DIR [-sfnv] [-o OPTIONS]
 *
 * SPEC is the device, or the devices of a multi-device file system as a
 * comma-separated list in mkfs order ("/dev/pmem0,/dev/pmem1").  The
 * helper maps that onto "famfs-bpf mount DEV... DIR", run in this process
 * (the library is linked in: no search for a famfs-bpf binary, which
 * lives in another directory than /sbin).  Options (mount_opts.h):
 * resolver=..., ro (a read-only follower: mount -r, or "ro" in fstab), rw
 * and the generic ones that are mount(2) flags (noatime, nodiratime,
 * nosuid, sync, ...) are passed on; those only mount(8) and fstab read
 * (defaults, nofail, _netdev, x-*, ...) are dropped; anything else is
 * refused, or dropped with a warning under -s (sloppy).
 *
 * Exit codes are mount(8)'s: 0, 1 usage, 32 mount failure.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "famfs_format.h"
#include "fsd/mount_opts.h"

#define PROG			"mount.fuse.famfs-bpf"
#define FSTYPE			"fuse.famfs-bpf"
#define MOUNT_EX_USAGE		1
#define MOUNT_EX_FAIL		32

/*
 * Keep in @keep what famfs-bpf mount takes: every option of the table
 * (mount_opts.h) but those only mount(8) reads.  0, MOUNT_EX_USAGE or
 * MOUNT_EX_FAIL, with one line on stderr.
 */
static int map_options(const char *opts, bool sloppy, char *keep, size_t size)
{
	char *copy = strdup(opts), *tok, *save = NULL, msg[256];
	const struct mount_opt *o;
	struct mount_opts mo;
	size_t used = 0;
	int ret = 0;

	keep[0] = '\0';
	if (!copy) {
		fprintf(stderr, PROG ": out of memory\n");
		return MOUNT_EX_FAIL;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		o = mount_opt_find(tok);
		if (o && o->kind == MOUNT_OPT_IGNORE)
			continue;
		if (o) {
			used += snprintf(keep + used, used < size ? size - used : 0, "%s%s",
					 used ? "," : "", tok);
			continue;
		}
		if (sloppy) {
			fprintf(stderr, PROG ": -o %s: unknown option, ignored (-s)\n", tok);
			continue;
		}
		fprintf(stderr, PROG ": -o %s: unknown option (see " PROG "(8))\n", tok);
		ret = MOUNT_EX_USAGE;
		break;
	}
	if (!ret && used >= size) {
		fprintf(stderr, PROG ": -o %s: too long\n", opts);
		ret = MOUNT_EX_USAGE;
	}
	/* the values and the combinations: resolver=, ro and rw */
	if (!ret && mount_opts_parse(keep, &mo, msg, sizeof(msg))) {
		fprintf(stderr, PROG ": %s (see " PROG "(8))\n", msg);
		ret = MOUNT_EX_USAGE;
	}
	free(copy);
	return ret;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: " PROG " DEV[,DEV...] DIR [-sfnv] [-o OPTIONS]\n"
		"Run by mount(8) for type " FSTYPE "; see " PROG "(8).\n");
}

int main(int argc, char **argv)
{
	const char *opts = "", *type = NULL;
	bool fake = false, verbose = false, sloppy = false;
	char keep[512], *spec, *dev, *save = NULL;
	char *args[FAMFS_MAX_DEVS + 8];
	int ch, n = 0, ndevs = 0, code;

	opterr = 0;
	while ((ch = getopt(argc, argv, "sfnvo:t:h")) != -1) {
		switch (ch) {
		case 's':
			sloppy = true;
			break;
		case 'f':
			fake = true;
			break;
		case 'n':	/* no /etc/mtab to write */
			break;
		case 'v':
			verbose = true;
			break;
		case 'o':
			opts = optarg;
			break;
		case 't':
			type = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, PROG ": unknown option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return MOUNT_EX_USAGE;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return MOUNT_EX_USAGE;
	}
	if (type && strcmp(type, FSTYPE)) {
		fprintf(stderr, PROG ": -t %s: this helper mounts " FSTYPE " only\n", type);
		return MOUNT_EX_USAGE;
	}
	code = map_options(opts, sloppy, keep, sizeof(keep));
	if (code)
		return code;

	args[n++] = "famfs-bpf";
	if (verbose)
		args[n++] = "-v";
	args[n++] = "mount";
	if (keep[0]) {
		args[n++] = "-o";
		args[n++] = keep;
	}
	spec = argv[optind];
	for (dev = strtok_r(spec, ",", &save); dev; dev = strtok_r(NULL, ",", &save)) {
		if (ndevs == FAMFS_MAX_DEVS) {
			fprintf(stderr, PROG ": more than %d devices\n", FAMFS_MAX_DEVS);
			return MOUNT_EX_USAGE;
		}
		args[n++] = dev;
		ndevs++;
	}
	if (!ndevs) {
		fprintf(stderr, PROG ": no device in '%s'\n", argv[optind]);
		return MOUNT_EX_USAGE;
	}
	args[n++] = argv[optind + 1];
	args[n] = NULL;
	if (verbose) {
		fprintf(stderr, PROG ":");
		for (int i = 0; i < n; i++)
			fprintf(stderr, " %s", args[i]);
		fprintf(stderr, "%s\n", fake ? " (not run: -f)" : "");
	}
	if (fake)
		return 0;
	code = famfs_cli_run(n, args, stdout);
	if (code == CLI_EXIT_OK)
		return 0;
	return code == CLI_EXIT_USAGE ? MOUNT_EX_USAGE : MOUNT_EX_FAIL;
}
