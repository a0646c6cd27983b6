/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Mount options: one table (mount_opts.c) for "famfs-bpf mount -o" and the
 * mount(8) helper (mount_helper.c).
 *
 * Each option is one of:
 *  - VFS: mount(2) flags, set and cleared in the order given (the last of
 *    noatime, relatime, strictatime wins, as in mount(8));
 *  - IGNORE: what only mount(8) reads (defaults, auto, nofail, _netdev,
 *    x-*, ...): accepted and dropped;
 *  - MODE: ro (a read-only follower, MS_RDONLY) or rw (the owner), at most
 *    one of them;
 *  - RESOLVER: resolver=bpf|builtin|upcall (fsd.h), at most once.
 * Anything else is refused with its name.  The flags start as
 * MOUNT_OPTS_DEFAULT_FLAGS, libfuse's defaults: suid and dev clear them
 * (only root mounts).
 */
#ifndef FAMFS_BPF_MOUNT_OPTS_H
#define FAMFS_BPF_MOUNT_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/mount.h>

#include "fsd.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW		256
#endif

#define MOUNT_OPTS_DEFAULT_FLAGS	(MS_NOSUID | MS_NODEV)

enum mount_opt_kind {
	MOUNT_OPT_VFS,
	MOUNT_OPT_IGNORE,
	MOUNT_OPT_MODE,
	MOUNT_OPT_RESOLVER,
};

struct mount_opt {
	const char *name;	/* a trailing '*': a prefix ("x-*") */
	enum mount_opt_kind kind;
	unsigned long set;	/* MS_* to set, then ... */
	unsigned long clear;	/* ... MS_* to clear (MODE: MS_RDONLY) */
};

/* The table, ended by a NULL name (the unit tests walk it). */
extern const struct mount_opt mount_opt_table[];

/* @tok's row, or NULL for an unknown option. */
const struct mount_opt *mount_opt_find(const char *tok);

struct mount_opts {
	unsigned long flags;		/* for mount(2), MS_RDONLY included */
	enum fsd_resolver resolver;	/* FSD_RESOLVER_AUTO unless given */
	bool ro;			/* a read-only follower */
};

/*
 * Parse the comma-separated @opts (NULL: none) into @mo.  0, or -EINVAL
 * with one line in @msg that names the option ("-o nodiratimex: unknown
 * option"), or -ENOMEM; @mo is then undefined.
 */
int mount_opts_parse(const char *opts, struct mount_opts *mo, char *msg, size_t msglen);

#endif /* FAMFS_BPF_MOUNT_OPTS_H */
