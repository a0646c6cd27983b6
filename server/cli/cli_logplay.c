// SPDX-License-Identifier: GPL-2.0
/*
 * famfs-bpf logplay MNT: a read-only mount catches up with the owner.
 *
 * The daemon does the work (fsd_logplay.c); this asks it with
 * FSD_IOC_LOGPLAY on the mount's root directory (fsd.h says why an
 * ioctl) and prints what it answered.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "fsd/fsd.h"
#include "fs/log.h"
#include "fs/mlog.h"

int cli_logplay(const struct cli_logplay_args *args, const char *mnt, FILE *out)
{
	struct fsd_logplay_out r = { 0 };
	char real[PATH_MAX];
	int fd, err;

	(void)args;
	if (!realpath(mnt, real)) {
		pr_err("logplay: %s: %s", mnt, strerror(errno));
		return CLI_EXIT_OPERATIONAL;
	}
	err = fsd_mount_find(real, NULL, NULL, 0);
	if (err) {
		pr_err("logplay: %s: %s", mnt, err == -ENOENT ? "not a mount point" :
		       err == -EINVAL ? "not a famfs-bpf mount" : strerror(-err));
		return err == -ENOENT || err == -EINVAL ? CLI_EXIT_NOT_FAMFS : CLI_EXIT_OPERATIONAL;
	}
	/* the root directory: the mount found above is the last one there */
	fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		pr_err("logplay: %s: %s", mnt, strerror(errno));
		return CLI_EXIT_OPERATIONAL;
	}
	err = ioctl(fd, FSD_IOC_LOGPLAY, &r) ? -errno : 0;
	close(fd);
	if (err) {
		pr_err("logplay: %s: %s", mnt, err == -ENOTTY ?
		       "its daemon does not know logplay (an older famfs-bpf?)" :
		       err == -EPERM ? "only root or the user who mounted it may" :
		       strerror(-err));
		return CLI_EXIT_OPERATIONAL;
	}
	if (r.owner) {
		pr_err("logplay: %s is the owner; nothing to play", mnt);
		return CLI_EXIT_LOGPLAY_OWNER;
	}
	r.msg[sizeof(r.msg) - 1] = '\0';
	fprintf(out, "%s: applied %llu log entr%s\n", mnt, (unsigned long long)r.applied,
		r.applied == 1 ? "y" : "ies");
	if (r.tail == FAMFS_MLOG_TORN)
		pr_info("logplay: %s: the owner is appending an entry: it comes next time", mnt);
	if (!r.err)
		return CLI_EXIT_OK;
	if (r.err == -EUCLEAN) {
		pr_err("logplay: %s: the log is corrupt; the mount stays at the last good entry: %s",
		       mnt, r.msg);
		return CLI_EXIT_UNCORRECTED;
	}
	pr_err("logplay: %s: %s", mnt, r.msg[0] ? r.msg : strerror(-r.err));
	return CLI_EXIT_OPERATIONAL;
}
