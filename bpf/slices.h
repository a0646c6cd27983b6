/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Slices of an extent array: first-fit allocation of runs of entries in
 * [0, cap), for the loader's ARRAY maps.  Plain userspace C; no locking
 * (the loader serialises).
 *
 * A freed run is not reused at once: famfs_slices_free() parks it, and
 * famfs_slices_alloc() takes parked runs only after the caller has
 * confirmed a grace period (famfs_slices_reclaim()), so that a BPF program
 * that read an old descriptor never reads entries rewritten for another
 * file.
 */
#ifndef FAMFS_BPF_SLICES_H
#define FAMFS_BPF_SLICES_H

#include <stdbool.h>
#include <linux/types.h>

struct famfs_run {
	__u32 start;
	__u32 len;
};

struct famfs_slices {
	__u32 cap;		/* entries managed: [0, cap) */
	__u64 nfree;		/* entries in free runs */
	__u64 nparked;		/* entries freed but not yet reusable */
	struct famfs_run *free;	/* sorted by start, never adjacent */
	__u32 nruns, runs_cap;
	struct famfs_run *parked;
	__u32 nparked_runs, parked_cap;
};

int famfs_slices_init(struct famfs_slices *s, __u32 cap);
void famfs_slices_fini(struct famfs_slices *s);

/* A run of @n entries into *@first: 0, -ENOSPC (no free run that long). */
int famfs_slices_alloc(struct famfs_slices *s, __u32 n, __u32 *first);

/* Park a run that famfs_slices_alloc() returned: -EINVAL if it was not. */
int famfs_slices_free(struct famfs_slices *s, __u32 first, __u32 n);

/*
 * Give back at once a run that famfs_slices_alloc() returned and that no
 * descriptor ever named (nothing can be reading it): -EINVAL if it was
 * not allocated.  Runs parked before stay parked.
 */
int famfs_slices_unalloc(struct famfs_slices *s, __u32 first, __u32 n);

/* A grace period passed since the runs parked so far: make them free. */
void famfs_slices_reclaim(struct famfs_slices *s);

/* The longest free run (not counting parked ones). */
__u32 famfs_slices_largest(const struct famfs_slices *s);

/*
 * Single entries of [first, cap) with the same life as runs: an entry
 * freed with famfs_ids_free() is parked until famfs_ids_reclaim() (a grace
 * period passed); famfs_ids_unalloc() gives back at once one that nothing
 * can be reading.  O(1) each (a stack of free entries, one of parked ones,
 * a state byte per entry), where famfs_slices would walk its runs: the
 * loader takes one descriptor per update of a file.
 */
struct famfs_ids {
	__u32 first, cap;
	__u32 *free, nfree;		/* a stack: the last freed is taken first */
	__u32 *parked, nparked;
	unsigned char *state;		/* FAMFS_ID_*, by entry */
};

enum { FAMFS_ID_FREE, FAMFS_ID_USED, FAMFS_ID_PARKED };

int famfs_ids_init(struct famfs_ids *ids, __u32 first, __u32 cap);
void famfs_ids_fini(struct famfs_ids *ids);
/* An entry into *@id: 0, -ENOSPC (none free; some may be parked). */
int famfs_ids_alloc(struct famfs_ids *ids, __u32 *id);
/* Park @id, taken by famfs_ids_alloc(): -EINVAL if it was not. */
int famfs_ids_free(struct famfs_ids *ids, __u32 id);
/* Give back @id at once (nothing can read it): -EINVAL if it was not taken. */
int famfs_ids_unalloc(struct famfs_ids *ids, __u32 id);
/* A grace period passed since the entries parked so far: make them free. */
void famfs_ids_reclaim(struct famfs_ids *ids);

#endif /* FAMFS_BPF_SLICES_H */
