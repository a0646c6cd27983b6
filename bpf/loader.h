/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The loader of the BPF resolver (resolver.bpf.c), for the server and the
 * tests: open, size, load and attach it through its skeleton, bind it to
 * one FUSE connection, pin its maps, and keep each file's extents in them.
 *
 * Life cycle:
 *   famfs_loader_open()    load, pin under <pin root>/<conn id>/ (a stale
 *                          directory of that name, left by a killed
 *                          server, is removed first); not attached yet
 *                          = famfs_loader_load() (load only: opts'
 *                          fuse_fd and sizes, not the connection number)
 *                          + famfs_loader_pin(), for a caller that loads
 *                          before its connection exists (the mount loads
 *                          while the log replays)
 *   famfs_loader_attach()  struct_ops link: the kernel starts calling it;
 *                          only once the connection finished INIT
 *   famfs_loader_close()   detach, unpin, free
 *
 * Updating a file: famfs_loader_set_file() writes the new extents into
 * fresh slices of the extent arrays (one per kind the file has), then a
 * new descriptor that names them into a free entry of descs, switches the
 * file's slot to it with one store, and hands back the slices the file
 * used before.  The caller invalidates the kernel's mappings
 * (FUSE_NOTIFY_FMAP_INVAL) and only then gives the old slices back with
 * famfs_loader_free_slice().  Old descriptors and freed slices are reused
 * only after an RCU grace period, so a program that read an old
 * descriptor cannot see another file's extents; the program checks that
 * the descriptor it reached names the file it was asked about
 * (resolver_common.h).
 *
 * Layouts are never truncated: one that does not fit is refused with
 * -E2BIG (more extents than a file may have, or than the array holds) or
 * -ENOSPC (no free run that long), and a message that says which.
 *
 * Errors are negative errno values, each with a message through log.h;
 * libbpf's messages go there too, one level quieter.  Not thread-safe:
 * callers serialise (the server holds its lock).
 */
#ifndef FAMFS_BPF_LOADER_H
#define FAMFS_BPF_LOADER_H

#include <stdbool.h>
#include <linux/types.h>

#include "fmap.h"
#include "resolver_common.h"

#define FAMFS_PIN_ROOT		"/sys/fs/bpf/famfs-bpf"

struct famfs_loader;

struct famfs_loader_opts {
	int fuse_fd;		/* the server's /dev/fuse: names the connection */
	unsigned int conn_id;	/* fusectl connection number: the pin dir name */
	const char *pin_root;	/* NULL: FAMFS_PIN_ROOT */
	__u32 max_files;	/* slots, rounded up to a power of two
				 * (0: FAMFS_DEF_MAX_FILES) */
	__u32 max_simple;	/* of simple_exts (0 or more: FAMFS_SIMPLE_CAP) */
	__u32 max_ileave;	/* of ileave_exts (0: FAMFS_DEF_MAX_ILEAVE) */
};

/*
 * A file's extents in the maps, to give back after invalidation: its
 * simple slice and its interleaved one (n 0: none).
 */
struct famfs_slice {
	__u32 simple_first;
	__u32 nsimple;
	__u32 ileave_first;
	__u32 nileave;
};

/*
 * A file's layout: simple extents sorted by file offset, interleaved ones
 * (at most FMAP_MAX_ILEAVE), either or both; device numbers are kernel
 * device ids.  No page may be in both lists.
 */
struct famfs_file_extents {
	__u64 size;
	__u32 nsimple;
	__u32 nileave;
	const struct fmap_simple_ext *simple;
	const struct fmap_ileave_ext *ileave;
};

int famfs_loader_open(const struct famfs_loader_opts *opts,
		      struct famfs_loader **lp);
int famfs_loader_load(const struct famfs_loader_opts *opts,
		      struct famfs_loader **lp);
/* Pin a loaded resolver's maps under <@pin_root (NULL: default)>/<@conn_id>/. */
int famfs_loader_pin(struct famfs_loader *l, const char *pin_root, unsigned int conn_id);
int famfs_loader_attach(struct famfs_loader *l);
void famfs_loader_detach(struct famfs_loader *l);
bool famfs_loader_attached(const struct famfs_loader *l);
void famfs_loader_close(struct famfs_loader *l);

/* "<pin root>/<conn id>" */
const char *famfs_loader_pin_dir(const struct famfs_loader *l);

/*
 * Point file @nodeid at a copy of @fe (no extents: forget the file).  *@old
 * gets the slices the file had (all n 0: none).  On error nothing changed.
 */
int famfs_loader_set_file(struct famfs_loader *l, __u64 nodeid,
			  const struct famfs_file_extents *fe,
			  struct famfs_slice *old);

/* Forget file @nodeid; *@old as above (-ENOENT: it was not there). */
int famfs_loader_remove_file(struct famfs_loader *l, __u64 nodeid,
			     struct famfs_slice *old);

/*
 * Record a new size (shown by bpftool; not used to map): a new descriptor,
 * like any change (-ENOENT: the file is not in the maps).
 */
int famfs_loader_set_size(struct famfs_loader *l, __u64 nodeid, __u64 size);

/*
 * File @nodeid's descriptor, and its index in descs if @index is not NULL
 * (for tests and tools; -ENOENT: not in the maps).
 */
int famfs_loader_get_file(struct famfs_loader *l, __u64 nodeid, struct famfs_file *desc,
			  __u32 *index);

/* Give back both slices once the kernel's mappings of them are invalidated. */
void famfs_loader_free_slice(struct famfs_loader *l,
			     const struct famfs_slice *s);

/* The resolver's counters, summed over CPUs. */
int famfs_loader_stats(const struct famfs_loader *l,
		       struct famfs_resolver_stats *st);

#endif /* FAMFS_BPF_LOADER_H */
