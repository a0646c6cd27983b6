/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Space allocator over up to FBS_ALLOC_MAX_DEVS devices, in 2 MiB units
 * and, with pages enabled (fbs_alloc_enable_pages()), 4 KiB pages.
 *
 * Whole units are what large files get: the file ranges asked for and the
 * device space handed out are whole, aligned units, so every such
 * extent's device offset is congruent with its file offset modulo 2 MiB
 * and a PMD fault can map any aligned 2 MiB of a file.  Interleaved
 * extents use chunks of at least one unit for the same reason: a 2 MiB
 * window of the file must sit inside one chunk to be contiguous on one
 * device.  Pages are for what is smaller: they come from units set aside
 * for them (struct fbs_alloc_small), several files to a unit.
 *
 * Free space is a bitmap per device, one bit per unit of its usable range:
 * 64 KiB per TiB, allocated once at init; with pages also a pointer per
 * unit (4 MiB per TiB) and a 64-byte page map per set-aside unit.
 * Freeing and marking used cost O(len / 64) whatever the fragmentation or
 * the order of a replay.  Searching for units scans the bitmap, 64 units
 * a word, skipping full words: about 8 K words per TiB; searching for
 * pages scans the set-aside units.
 *
 * Every call either does all of its work or changes nothing.  Errors are
 * negative errno values: -EINVAL for a malformed or out-of-device range or
 * a double free, -EEXIST when marking used space that is already used,
 * -ENOSPC, -E2BIG when a simple allocation would take more extents than
 * the caller has room for, -ENOMEM (pages: a unit set aside).  A refused
 * free or mark-used records the first offending range in @bad, for the
 * caller's message.
 *
 * No locking: the single owner of the metadata log serialises.  Freed
 * space is reusable at once: free only after the kernel has dropped every
 * mapping of it (FUSE_NOTIFY_FMAP_INVAL returned).
 */
#ifndef FAMFS_BPF_ALLOC_H
#define FAMFS_BPF_ALLOC_H

#include <stdbool.h>
#include <linux/types.h>

#include "fmap.h"

#define FBS_ALLOC_UNIT_SHIFT	21
#define FBS_ALLOC_UNIT		(1ULL << FBS_ALLOC_UNIT_SHIFT)
#define FBS_ALLOC_PAGE_SHIFT	12
#define FBS_ALLOC_PAGE		(1ULL << FBS_ALLOC_PAGE_SHIFT)
#define FBS_ALLOC_UNIT_PAGES	(FBS_ALLOC_UNIT >> FBS_ALLOC_PAGE_SHIFT)
#define FBS_ALLOC_MAX_DEVS	FMAP_MAX_STRIPS

/* Device @index: @size bytes, of which [start, end) may hold file data. */
struct fbs_alloc_geom {
	__u64 size;
	__u64 start;
	__u64 end;
};

/*
 * A unit set aside for pages (fbs_alloc_enable_pages()): some of its pages
 * are in use, some free.  Its bit in the unit bitmap is set; it goes back
 * to whole units when its last page is freed, or when its last free page
 * is taken.
 */
struct fbs_alloc_small {
	__u64 used[FBS_ALLOC_UNIT_PAGES / 64];	/* bit p: page p is in use */
	__u32 nfree;				/* 1 .. FBS_ALLOC_UNIT_PAGES - 1 */
	__u32 dev;
	__u64 u;				/* the unit, counted from first */
	struct fbs_alloc_small *prev, *next;	/* the device's set-aside units */
};

struct fbs_alloc_dev {
	__u64 first;		/* first usable unit (device offset >> shift) */
	__u64 nunits;		/* usable units: [first, first + nunits) */
	__u64 nfree;		/* whole free units */
	__u64 *used;		/* bit u set: unit first + u is in use */
	/* pages only: */
	struct fbs_alloc_small **small;	/* per unit: set aside, or NULL */
	struct fbs_alloc_small *partial;	/* the set-aside units, a list */
	__u64 small_free;	/* free pages in the set-aside units */
};

/* A range of one device, in bytes. */
struct fbs_alloc_range {
	__u32 dev;
	__u64 dev_off;
	__u64 len;
};

struct fbs_alloc {
	__u32 ndevs;
	bool pages;		/* fbs_alloc_enable_pages() */
	struct fbs_alloc_dev devs[FBS_ALLOC_MAX_DEVS];
	struct fbs_alloc_range bad;	/* what the last refusal tripped on */
	struct fbs_alloc_small *spare;	/* page maps to reuse: never freed mid-call */
	__u32 only;		/* fbs_alloc_only(): devices new space may come from */
};

struct fbs_alloc_stat {
	__u64 dev_total[FBS_ALLOC_MAX_DEVS];	/* usable bytes, whole units */
	__u64 dev_free[FBS_ALLOC_MAX_DEVS];
	__u64 total;
	__u64 free;
};

/*
 * Every unit of [start, end) starts free; start is rounded up and end down
 * to whole units.  -EINVAL: no device, too many, end > size or a usable
 * range with no whole unit.  -ENOMEM.
 */
int fbs_alloc_init(struct fbs_alloc *a, const struct fbs_alloc_geom *geom,
		   __u32 ndevs);
void fbs_alloc_fini(struct fbs_alloc *a);

/*
 * Page granularity (a file system whose superblock says so): from here on
 * simple extents may be 4 KiB pages, and freeing or claiming part of a
 * unit sets the unit aside for pages.  A request that is not whole units
 * (fbs_alloc_simple()) gets pages, packed into the set-aside units before
 * a new unit is set aside; a request of whole units gets whole units, and
 * pages only when there are not enough.  Free space counts both.  Once,
 * before any other call but fbs_alloc_init().  -ENOMEM: nothing changed.
 */
int fbs_alloc_enable_pages(struct fbs_alloc *a);

/*
 * New space (fbs_alloc_simple(), fbs_alloc_ileave()) comes only from the
 * devices of @mask (bit d: device d), until the next call; 0: from every
 * device.  A file system of memory and block devices gives a file space
 * of its own kind only.  Freeing and marking used are not restricted.
 */
void fbs_alloc_only(struct fbs_alloc *a, __u32 mask);

/*
 * Space for file [file_off, file_off + len), both whole units (or, with
 * pages enabled, whole pages: see fbs_alloc_enable_pages()), as up to
 * @max_out simple extents sorted by file offset, written to @out, their
 * count to *@nout.  @prev, if not NULL, is the file's extent that ends at
 * @file_off: the allocation continues it on its device when the space
 * after it is free (fbs_alloc_merge_simple() then joins the two).
 * Otherwise one run that holds everything (best fit, @prev's device
 * first, then the device with the most free space), and only when no run
 * is that long, the fewest runs over all devices.
 */
int fbs_alloc_simple(struct fbs_alloc *a, __u64 file_off, __u64 len,
		     const struct fmap_simple_ext *prev,
		     struct fmap_simple_ext *out, __u32 max_out, __u32 *nout);

/*
 * One interleaved extent for file [file_off, file_off + len) (whole
 * units) into *@out: @nstrips strips (1 to 16, any count, and at most
 * the number of devices), each on its own device, each a run of the
 * same length (what strip 0 holds); chunks of @chunk_size bytes (a power
 * of two from 2 MiB to 1 GiB).  Strips go to the devices with the most
 * free space.  @prev, if not NULL, is the file's interleaved extent that
 * ends at @file_off: when it is whole stripes of the same geometry and
 * every strip can grow in place, the new extent continues it
 * (fbs_alloc_merge_ileave() joins them).
 */
int fbs_alloc_ileave(struct fbs_alloc *a, __u64 file_off, __u64 len,
		     __u32 nstrips, __u64 chunk_size,
		     const struct fmap_ileave_ext *prev,
		     struct fmap_ileave_ext *out);

/* Give back @n extents of a file; all of them or none. */
int fbs_alloc_free_simple(struct fbs_alloc *a,
			  const struct fmap_simple_ext *ext, __u32 n);
int fbs_alloc_free_ileave(struct fbs_alloc *a,
			  const struct fmap_ileave_ext *ext, __u32 n);

/*
 * Replay: the space of @n extents of a file is in use; all of them or
 * none.  -EEXIST if any of it already is (two files claim it).
 */
int fbs_alloc_use_simple(struct fbs_alloc *a,
			 const struct fmap_simple_ext *ext, __u32 n);
int fbs_alloc_use_ileave(struct fbs_alloc *a,
			 const struct fmap_ileave_ext *ext, __u32 n);

/* Bytes of device space one strip of @ie takes. */
__u64 fbs_alloc_strip_len(const struct fmap_ileave_ext *ie);

/* Free and usable bytes per device and in all, for statfs. */
void fbs_alloc_stat(const struct fbs_alloc *a, struct fbs_alloc_stat *st);

/* If @next continues @prev in the file and on the device, grow @prev. */
bool fbs_alloc_merge_simple(struct fmap_simple_ext *prev,
			    const struct fmap_simple_ext *next);
bool fbs_alloc_merge_ileave(struct fmap_ileave_ext *prev,
			    const struct fmap_ileave_ext *next);

/* A device range, in bytes: [start, end). */
struct fbs_dev_range {
	__u32 dev;
	__u64 start, end;
};

/*
 * The space a file's layout holds, as mount's space pass (fs.c) and fsck
 * count it: every extent's and strip's device range, sorted, rounded out
 * to @gran (FBS_ALLOC_UNIT: a file system without pages, where the server
 * frees whole units and a punched unit is still the file's; else
 * FBS_ALLOC_PAGE) and merged, into *r (grown as needed; *cap its length).
 * Returns how many, or -ENOMEM.  *twice, when not NULL, is set to the
 * first range the file maps twice (before rounding), with its dev and
 * start; twice->end == 0 when there is none.
 */
long fbs_file_units(struct fbs_dev_range **r, size_t *cap,
		    const struct fmap_simple_ext *simple, __u32 nsimple,
		    const struct fmap_ileave_ext *ileave, __u32 nileave,
		    __u64 gran, struct fbs_dev_range *twice);

#endif /* FAMFS_BPF_ALLOC_H */
