// SPDX-License-Identifier: GPL-2.0
/*
 * loader.h without the resolver, for builds that cannot have its skeleton
 * (the host unit tests: the skeleton needs the patched kernel's BTF).
 * Opening fails with -EOPNOTSUPP; nothing else is reachable without it.
 */
#include <errno.h>
#include <string.h>

#include "loader.h"
#include "fs/log.h"

int famfs_loader_open(const struct famfs_loader_opts *opts,
		      struct famfs_loader **lp)
{
	(void)opts;
	*lp = NULL;
	pr_err("this build has no BPF resolver (built without the kernel's BTF)");
	return -EOPNOTSUPP;
}

int famfs_loader_load(const struct famfs_loader_opts *opts,
		      struct famfs_loader **lp)
{
	return famfs_loader_open(opts, lp);
}

int famfs_loader_pin(struct famfs_loader *l, const char *pin_root, unsigned int conn_id)
{
	(void)l;
	(void)pin_root;
	(void)conn_id;
	return -EOPNOTSUPP;
}

int famfs_loader_attach(struct famfs_loader *l)
{
	(void)l;
	return -EOPNOTSUPP;
}

void famfs_loader_detach(struct famfs_loader *l)
{
	(void)l;
}

bool famfs_loader_attached(const struct famfs_loader *l)
{
	(void)l;
	return false;
}

void famfs_loader_close(struct famfs_loader *l)
{
	(void)l;
}

const char *famfs_loader_pin_dir(const struct famfs_loader *l)
{
	(void)l;
	return "";
}

int famfs_loader_set_file(struct famfs_loader *l, __u64 nodeid,
			  const struct famfs_file_extents *fe,
			  struct famfs_slice *old)
{
	(void)l;
	(void)nodeid;
	(void)fe;
	memset(old, 0, sizeof(*old));
	return -EOPNOTSUPP;
}

int famfs_loader_remove_file(struct famfs_loader *l, __u64 nodeid,
			     struct famfs_slice *old)
{
	(void)l;
	(void)nodeid;
	memset(old, 0, sizeof(*old));
	return -EOPNOTSUPP;
}

int famfs_loader_set_size(struct famfs_loader *l, __u64 nodeid, __u64 size)
{
	(void)l;
	(void)nodeid;
	(void)size;
	return -EOPNOTSUPP;
}

int famfs_loader_get_file(struct famfs_loader *l, __u64 nodeid, struct famfs_file *desc,
			  __u32 *index)
{
	(void)l;
	(void)nodeid;
	(void)desc;
	(void)index;
	return -EOPNOTSUPP;
}

void famfs_loader_free_slice(struct famfs_loader *l,
			     const struct famfs_slice *s)
{
	(void)l;
	(void)s;
}

int famfs_loader_stats(const struct famfs_loader *l,
		       struct famfs_resolver_stats *st)
{
	(void)l;
	memset(st, 0, sizeof(*st));
	return -EOPNOTSUPP;
}
