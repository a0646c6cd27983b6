// SPDX-License-Identifier: GPL-2.0
/*
 * Mount options: the table and its parser (mount_opts.h).
 *
 * The generic options are those of mount(8)'s "FILESYSTEM-INDEPENDENT
 * MOUNT OPTIONS" that mean something to mount(2) (the MS_* flags) or only
 * to mount(8) and fstab, which may pass them on to a helper; their
 * meaning is mount(8)'s, including that user and users imply noexec,
 * nosuid and nodev, and owner and group nosuid and nodev, unless a later
 * option says otherwise.  Options mount(2) would take but that do not
 * apply here (mand, iversion, remount, bind, ...) stay unknown: refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mount_opts.h"

#define ATIME_MODES	(MS_NOATIME | MS_RELATIME | MS_STRICTATIME)

#define VFS(n, s, c)	{ n, MOUNT_OPT_VFS, s, c }
#define IGNORE(n)	{ n, MOUNT_OPT_IGNORE, 0, 0 }

const struct mount_opt mount_opt_table[] = {
	{ "ro", MOUNT_OPT_MODE, MS_RDONLY, 0 },
	{ "rw", MOUNT_OPT_MODE, 0, MS_RDONLY },
	{ "resolver=*", MOUNT_OPT_RESOLVER, 0, 0 },

	/* access times: the last of noatime, relatime, strictatime wins */
	VFS("atime", 0, MS_NOATIME),
	VFS("noatime", MS_NOATIME, ATIME_MODES & ~MS_NOATIME),
	VFS("relatime", MS_RELATIME, ATIME_MODES & ~MS_RELATIME),
	VFS("norelatime", 0, MS_RELATIME),
	VFS("strictatime", MS_STRICTATIME, ATIME_MODES & ~MS_STRICTATIME),
	VFS("nostrictatime", 0, MS_STRICTATIME),
	VFS("diratime", 0, MS_NODIRATIME),
	VFS("nodiratime", MS_NODIRATIME, 0),
	VFS("lazytime", MS_LAZYTIME, 0),
	VFS("nolazytime", 0, MS_LAZYTIME),

	VFS("sync", MS_SYNCHRONOUS, 0),
	VFS("async", 0, MS_SYNCHRONOUS),
	VFS("dirsync", MS_DIRSYNC, 0),

	VFS("suid", 0, MS_NOSUID),
	VFS("nosuid", MS_NOSUID, 0),
	VFS("dev", 0, MS_NODEV),
	VFS("nodev", MS_NODEV, 0),
	VFS("exec", 0, MS_NOEXEC),
	VFS("noexec", MS_NOEXEC, 0),
	VFS("symfollow", 0, MS_NOSYMFOLLOW),
	VFS("nosymfollow", MS_NOSYMFOLLOW, 0),

	/* mount(8): "implies noexec, nosuid, and nodev" (user, users), "nosuid and nodev" */
	VFS("user", MS_NOEXEC | MS_NOSUID | MS_NODEV, 0),
	VFS("users", MS_NOEXEC | MS_NOSUID | MS_NODEV, 0),
	VFS("owner", MS_NOSUID | MS_NODEV, 0),
	VFS("group", MS_NOSUID | MS_NODEV, 0),

	/* mount(8)'s and fstab's own */
	IGNORE("defaults"),
	IGNORE("auto"),
	IGNORE("noauto"),
	IGNORE("nouser"),
	IGNORE("_netdev"),
	IGNORE("nofail"),
	IGNORE("silent"),
	IGNORE("loud"),
	IGNORE("x-*"),
	IGNORE("X-*"),
	IGNORE("comment=*"),
	{ NULL }
};

static const struct {
	const char *value;
	enum fsd_resolver resolver;
} resolvers[] = {
	{ "bpf", FSD_RESOLVER_BPF },
	{ "builtin", FSD_RESOLVER_BUILTIN },
	{ "upcall", FSD_RESOLVER_UPCALL },
};

static bool opt_matches(const char *name, const char *tok)
{
	size_t len = strlen(name);

	if (len && name[len - 1] == '*')
		return !strncmp(tok, name, len - 1);
	return !strcmp(tok, name);
}

const struct mount_opt *mount_opt_find(const char *tok)
{
	const struct mount_opt *o;

	for (o = mount_opt_table; o->name; o++)
		if (opt_matches(o->name, tok))
			return o;
	return NULL;
}

static int parse_one(const char *tok, struct mount_opts *mo, bool *seen_mode,
		     bool *seen_resolver, char *msg, size_t msglen)
{
	const struct mount_opt *o = mount_opt_find(tok);
	const char *value;
	size_t i;

	if (!o) {
		snprintf(msg, msglen, "-o %s: unknown option", tok);
		return -EINVAL;
	}
	switch (o->kind) {
	case MOUNT_OPT_MODE:
		if (*seen_mode) {
			snprintf(msg, msglen, "-o %s: ro or rw given twice", tok);
			return -EINVAL;
		}
		*seen_mode = true;
		break;
	case MOUNT_OPT_RESOLVER:
		if (*seen_resolver) {
			snprintf(msg, msglen, "-o %s: resolver given twice", tok);
			return -EINVAL;
		}
		value = tok + strlen("resolver=");
		for (i = 0; i < sizeof(resolvers) / sizeof(resolvers[0]); i++)
			if (!strcmp(value, resolvers[i].value))
				break;
		if (i == sizeof(resolvers) / sizeof(resolvers[0])) {
			snprintf(msg, msglen,
				 "-o %s: resolver=bpf, resolver=builtin or resolver=upcall", tok);
			return -EINVAL;
		}
		mo->resolver = resolvers[i].resolver;
		*seen_resolver = true;
		return 0;
	case MOUNT_OPT_VFS:
	case MOUNT_OPT_IGNORE:
		break;
	}
	mo->flags = (mo->flags | o->set) & ~o->clear;
	return 0;
}

int mount_opts_parse(const char *opts, struct mount_opts *mo, char *msg, size_t msglen)
{
	bool seen_mode = false, seen_resolver = false;
	char *copy, *tok, *save = NULL;
	int err = 0;

	*mo = (struct mount_opts){
		.flags = MOUNT_OPTS_DEFAULT_FLAGS,
		.resolver = FSD_RESOLVER_AUTO,
	};
	if (!opts)
		return 0;
	copy = strdup(opts);
	if (!copy) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	for (tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save))
		err = parse_one(tok, mo, &seen_mode, &seen_resolver, msg, msglen);
	free(copy);
	mo->ro = mo->flags & MS_RDONLY;
	return err;
}
