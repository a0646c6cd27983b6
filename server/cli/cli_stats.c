// SPDX-License-Identifier: GPL-2.0
/*
 * famfs-bpf stats MNT: what the kernel did for one mount's mapped files.
 *
 * The counters live in the fuse control file system, one directory per
 * connection named after the mount's device minor
 * (/sys/fs/fuse/connections/N/fmap_stats); the BPF resolver's maps are
 * pinned under /sys/fs/bpf/famfs-bpf/N/.  Both are read-only here.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include "cli.h"
#include "fs/log.h"

#define FUSE_SUPER_MAGIC	0x65735546
#define FUSECTL_DIR		"/sys/fs/fuse/connections"
#define PIN_DIR			"/sys/fs/bpf/famfs-bpf"

/* Names of the pinned maps of connection @conn, space separated */
static void pinned_maps(unsigned int conn, char *buf, size_t size)
{
	char path[64];
	struct dirent *de;
	size_t len = 0;
	DIR *dir;

	buf[0] = 0;
	snprintf(path, sizeof(path), PIN_DIR "/%u", conn);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir)) && len < size) {
		if (de->d_name[0] == '.')
			continue;
		len += snprintf(buf + len, size - len, "%s%s", len ? " " : "",
				de->d_name);
	}
	closedir(dir);
}

int cli_stats(const struct cli_stats_args *args, const char *mnt, FILE *out)
{
	char path[96], line[128], maps[256], name[64];
	unsigned long long value;
	bool attached = false;
	unsigned int conn;
	struct statfs sfs;
	struct stat st;
	FILE *f;

	(void)args;
	if (stat(mnt, &st) || statfs(mnt, &sfs)) {
		pr_err("%s: %s", mnt, strerror(errno));
		return CLI_EXIT_OPERATIONAL;
	}
	if (sfs.f_type != FUSE_SUPER_MAGIC) {
		pr_err("%s: not a FUSE mount", mnt);
		return CLI_EXIT_OPERATIONAL;
	}
	conn = minor(st.st_dev);
	snprintf(path, sizeof(path), FUSECTL_DIR "/%u/fmap_stats", conn);
	f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			pr_err("%s: no %s: a kernel without mapped files, or the fuse control file system is not mounted (mount -t fusectl none " FUSECTL_DIR ")",
			       mnt, path);
		else
			pr_err("%s: %s: %s", mnt, path, strerror(errno));
		return CLI_EXIT_OPERATIONAL;
	}

	fprintf(out, "mount       %s\nconnection  %u\n", mnt, conn);
	fprintf(out, "counters    (%s)\n", path);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %llu", name, &value) != 2)
			continue;
		/* a state, not a counter */
		if (!strcmp(name, "bpf_attached")) {
			attached = value;
			continue;
		}
		fprintf(out, "  %-20s %llu\n", name, value);
	}
	fclose(f);

	fprintf(out, "bpf         %s\n", attached ? "resolver attached" :
		"no resolver attached (misses go to the built-in resolver, if negotiated, then the server)");
	pinned_maps(conn, maps, sizeof(maps));
	if (maps[0])
		fprintf(out, "pinned      " PIN_DIR "/%u: %s\n", conn, maps);
	return CLI_EXIT_OK;
}
