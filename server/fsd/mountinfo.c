// SPDX-License-Identifier: GPL-2.0
/* The mount at a path, from /proc/self/mountinfo (mountinfo.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mountinfo.h"

int mountinfo_find(const char *path, const char *type, unsigned int *minor, char *src,
		   size_t srclen)
{
	char real[PATH_MAX], line[2 * PATH_MAX], mnt[PATH_MAX], fstype[64], source[PATH_MAX];
	unsigned int maj, min;
	int err = -ENOENT;
	const char *sep;
	FILE *f;

	if (!realpath(path, real))
		return -errno;
	f = fopen("/proc/self/mountinfo", "r");
	if (!f)
		return -errno;
	/* "id parent maj:min root mountpoint opts... - fstype source ...": the last wins */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min, mnt) != 3)
			continue;
		mountinfo_unescape(mnt);
		if (strcmp(mnt, real))
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%63s %4095s", fstype, source) != 2)
			continue;
		mountinfo_unescape(source);
		err = type && strcmp(fstype, type) ? -EINVAL : 0;
		if (!err && minor)
			*minor = min;
		if (!err && src)
			snprintf(src, srclen, "%s", source);
	}
	fclose(f);
	return err;
}
