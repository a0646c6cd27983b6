/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test vehicle (server.c): a FUSE server in the test's process whose
 * regular files are mapped onto registered devices (FUSE_ATTR_FMAP) with
 * layouts the test chooses, and which answers FUSE_FMAP as the test says,
 * hostile replies included.  For the validator, BPF, resolver and
 * revocation tests and the bench; never for users (the famfs-bpf daemon
 * is server/fsd).  One directory, in memory: files are added or created,
 * never removed.
 *
 * Errors are negative errno values.
 */
#ifndef FAMFS_BPF_SERVER_H
#define FAMFS_BPF_SERVER_H

#include <stdbool.h>
#include <linux/fuse.h>

#include "fmap.h"

#define FBS_MAX_DEVS		8
#define FBS_MAX_FILES		256
#define FBS_NAME_MAX		63
#define FBS_MAX_SIMPLE		FMAP_MAX_SIMPLE	/* simple extents per layout */

enum fbs_resolver {
	FBS_RESOLVER_UPCALL,	/* kernel asks per cache miss */
	FBS_RESOLVER_BUILTIN,	/* kernel fetches the whole layout once */
	FBS_RESOLVER_BPF,	/* kernel runs bpf/resolver.bpf.c, which the
				 * server keeps filled; upcall for the rest */
};

enum fbs_layout_kind {
	FBS_LAYOUT_SIMPLE = 1,
	FBS_LAYOUT_INTERLEAVED,
};

/*
 * A file's layout; @dev fields are indexes into the server's devices.
 * @simple is the caller's array of @nsimple extents (up to FBS_MAX_SIMPLE):
 * the server copies it, so it need live only for the call.
 */
struct fbs_layout {
	enum fbs_layout_kind kind;
	__u32 nsimple;
	__u32 nileave;
	const struct fmap_simple_ext *simple;
	struct fmap_ileave_ext ileave[FMAP_MAX_ILEAVE];
};

struct fbs_dev_spec {
	const char *path;
	bool read_only;		/* registered from an O_RDONLY open */
};

struct fbs_config {
	const char *mountpoint;
	unsigned int ndevs;
	struct fbs_dev_spec devs[FBS_MAX_DEVS];
	enum fbs_resolver resolver;
	/* allocation for writes past the extents: device 0 from here on */
	__u64 alloc_start;
	/* FBS_RESOLVER_BPF: entries of the resolver's maps; 0: defaults
	 * (bpf/resolver_common.h).  A layout that does not fit is refused. */
	__u32 bpf_max_files;
	__u32 bpf_max_simple;
	__u32 bpf_max_ileave;
	/* answer interleaved files one chunk at a time, as a server that does
	 * not use FUSE_FMAP_TYPE_INTERLEAVED would (default: whole extents) */
	bool ileave_chunks;
	/* files are on block devices without DAX (FUSE_ATTR_FMAP_BLOCK) */
	bool block_files;
};

struct fbs_server;
struct famfs_loader;

/*
 * Replace the reply to a FUSE_FMAP request: called with the mapping the
 * server computed and the reply's length in bytes (or the error in *@err);
 * may rewrite all three.  Tests use it to send the kernel mappings that
 * break a validator rule.
 */
typedef void (*fbs_fmap_hook_t)(struct fbs_server *srv, __u64 nodeid,
				const struct fuse_fmap_in *in,
				struct fuse_fmap_reply *reply, size_t *len,
				int *err, void *data);

/* Open the devices, mount, register the devices with the connection. */
int fbs_server_create(const struct fbs_config *cfg, struct fbs_server **srvp);

/*
 * Add a mapped regular file of @size bytes in the root directory.  With
 * FBS_RESOLVER_BPF the file's extents enter the resolver's maps first; a
 * layout that does not fit there is refused (-E2BIG, -ENOSPC), never cut.
 */
int fbs_server_add_file(struct fbs_server *srv, const char *name, __u64 size,
			const struct fbs_layout *layout);

/*
 * Replace a file's layout: update the BPF maps (FBS_RESOLVER_BPF), tell the
 * kernel to forget the file's mappings, then free the old extents' slice.
 */
int fbs_server_set_layout(struct fbs_server *srv, const char *name,
			  const struct fbs_layout *layout);

/*
 * Tell the kernel to forget the mappings of @name it cached (nothing
 * changes): benchmarks use it to make the next accesses miss.
 */
int fbs_server_forget(struct fbs_server *srv, const char *name);

void fbs_server_set_fmap_hook(struct fbs_server *srv, fbs_fmap_hook_t hook,
			      void *data);

/* The kernel's id for device @index (FUSE_DEV_IOC_BACKING_OPEN). */
int fbs_server_dev_id(const struct fbs_server *srv, unsigned int index);

/* The fuse control directory of this mount, /sys/fs/fuse/connections/N. */
int fbs_server_conn_dir(const struct fbs_server *srv, char *buf, size_t size);

/* FUSE_FMAP requests answered so far (mappings and layouts). */
unsigned long fbs_server_fmap_requests(const struct fbs_server *srv);
/* FUSE_FMAP_END requests: writes that moved EOF */
unsigned long fbs_server_fmap_end_requests(const struct fbs_server *srv);

/*
 * How FUSE_FMAP_END is answered: normally, with ENOSYS (a server that
 * does not know it), or not at all until the mode changes again (a stuck
 * server; the serving thread waits, so nothing else is answered either).
 */
enum fbs_fmap_end_mode {
	FBS_FMAP_END_ANSWER,
	FBS_FMAP_END_ENOSYS,
	FBS_FMAP_END_STALL,
};

void fbs_server_set_fmap_end_mode(struct fbs_server *srv,
				  enum fbs_fmap_end_mode mode);

/*
 * Copy up to @max simple extents of file @name (device indexes, as in
 * layouts); returns how many it has, or -ENOENT / -EINVAL (interleaved).
 */
int fbs_server_file_extents(struct fbs_server *srv, const char *name,
			    struct fmap_simple_ext *ext, __u32 max);

/*
 * Shrink file @name to @size in the server only, without telling the kernel
 * (no FUSE_NOTIFY_FMAP_INVAL), as a server that replays another host's
 * truncate and forgets the notify would.  Tests use it to check what the
 * kernel does with the size it sees in attribute replies alone.
 */
int fbs_server_shrink_silently(struct fbs_server *srv, const char *name,
			       __u64 size);

/* The server's /dev/fuse fd: names its connection (BPF resolver attach). */
int fbs_server_fuse_fd(const struct fbs_server *srv);

/* The BPF resolver's loader (bpf/loader.h); NULL unless FBS_RESOLVER_BPF. */
struct famfs_loader *fbs_server_loader(const struct fbs_server *srv);

/*
 * Serve requests until unmounted or stopped; in this thread.  With
 * FBS_RESOLVER_BPF the resolver is attached from another thread once INIT
 * is done; a failure to attach is logged and the upcall serves.
 */
int fbs_server_run(struct fbs_server *srv);

/*
 * Serve requests in a new thread.  With FBS_RESOLVER_BPF, returns once the
 * connection finished INIT and the resolver is attached (or an error).
 */
int fbs_server_start(struct fbs_server *srv);

/* Unmount, stop the serving thread, release everything. */
void fbs_server_destroy(struct fbs_server *srv);

#endif /* FAMFS_BPF_SERVER_H */
