/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Extended attributes of a famfs-bpf mount (served by server/fsd/fsd.c), the
 * contract between the daemon and the tools that read or set them.
 *
 * FAMFS_XATTR_LAYOUT ("user.famfs.layout", regular files, read-only):
 * struct famfs_xattr_layout, then @nsimple struct fmap_simple_ext, then
 * @nileave struct fmap_ileave_ext (include/fmap.h), all little-endian;
 * simple extents sorted by file offset.  Device numbers are indexes in the
 * file system's device table (mkfs order), not kernel device ids.  A size
 * query (size 0) returns the length; a smaller buffer gets ERANGE.
 * Directories and symbolic links have none (ENODATA).
 *
 * FAMFS_XATTR_STRIPE ("user.famfs.stripe", regular files and
 * directories): "STRIPS CHUNK" in ASCII decimal, e.g. "2 2097152".
 * STRIPS is any count from 1 to the device count (at most
 * FMAP_MAX_STRIPS), CHUNK a power of two from 2 MiB to 256 MiB
 * (FAMFS_XATTR_STRIPE_MAX_CHUNK); anything else is EINVAL.  On a file
 * it sets how its space is laid out, and only while it has none (EBUSY
 * after); on a directory it is the default for files created in it from
 * then on.  Both are in the metadata log (a
 * STRIPE entry, include/FORMAT.md): they survive a remount.  Reading it
 * gives the same format, ENODATA if no policy is set (a file whose space
 * ends in an interleaved extent reports that extent's geometry, which its
 * growth follows).
 *
 * FAMFS_XATTR_CLASS ("user.famfs.class", regular files and directories):
 * "memory" (DAX devices) or "block" (block devices without DAX, through
 * the page cache): where a file's data are, or where those of a file
 * created in a directory will be.  Set on a directory only (EINVAL on a
 * file: the kernel fixed its kind when it first saw it), to a kind the
 * file system has (EINVAL otherwise); in the metadata log (a CLASS
 * entry).  Without one a file is memory if the file system has a DAX
 * device, else block.  Not listed.
 *
 * FAMFS_XATTR_LAYOUT_PIECE ("user.famfs.layout.FIRST"): a piece of the
 * layout, for layouts past the 64 KiB of one value (below).
 *
 * Other "user." and "trusted." names: stored for users, in the metadata
 * log (XATTR entries, include/FORMAT.md), ext4's limits and answers:
 * names up to 255 bytes with the prefix (ERANGE past it, from the VFS),
 * EINVAL for nothing after the prefix; per inode FAMFS_XATTR_SPACE bytes
 * (include/famfs_format.h), ENOSPC past it, so one value is at most 4040
 * bytes; XATTR_CREATE EEXIST, XATTR_REPLACE and a missing name ENODATA.
 * Other "user.famfs." names, "security.", "system." (POSIX ACLs
 * included) and other namespaces: EOPNOTSUPP.
 */
#ifndef FAMFS_XATTR_H
#define FAMFS_XATTR_H

#include <linux/types.h>

#define FAMFS_XATTR_LAYOUT	"user.famfs.layout"
#define FAMFS_XATTR_STRIPE	"user.famfs.stripe"
#define FAMFS_XATTR_CLASS	"user.famfs.class"

#define FAMFS_XATTR_LAYOUT_MAGIC	0x4c4d4146	/* "FAML", little-endian */
/* 2: struct fmap_ileave_ext has nstrips where 1 had log2 of it */
#define FAMFS_XATTR_LAYOUT_VERSION	2

struct famfs_xattr_layout {
	__u32 magic;		/* FAMFS_XATTR_LAYOUT_MAGIC */
	__u32 version;		/* FAMFS_XATTR_LAYOUT_VERSION */
	__u32 nsimple;		/* struct fmap_simple_ext that follow */
	__u32 nileave;		/* struct fmap_ileave_ext after those */
	__u64 size;		/* the file's size */
};

/*
 * The largest CHUNK a user may set: the first write into a strip zeroes
 * up to a chunk per strip, so 16 strips of 256 MiB are 4 GiB at most.  A
 * log written before this bound may hold larger chunks (up to 1 GiB,
 * FMAP_MAX_CHUNK_SHIFT): they replay, and such files grow as they are.
 */
#define FAMFS_XATTR_STRIPE_MAX_CHUNK	(256ULL << 20)

/*
 * A piece of the layout, for a layout longer than the 64 KiB an attribute
 * value can be (XATTR_SIZE_MAX; about 2,000 simple extents): the name
 * FAMFS_XATTR_LAYOUT_PIECE followed by FIRST in decimal ("user.famfs.
 * layout.0", ".1024", ...) reads struct famfs_xattr_layout_piece, then
 * the simple extents FIRST to FIRST + nsimple - 1, then all the
 * interleaved ones (at most FMAP_MAX_ILEAVE).  A piece has at most
 * FAMFS_XATTR_LAYOUT_PIECE_SIMPLE simple extents; FIRST past the last
 * extent is EINVAL.  Pieces are not listed.  A reader checks that each
 * piece has the same header (counts and size) and interleaved extents,
 * and starts again when the layout changed between pieces.
 */
#define FAMFS_XATTR_LAYOUT_PIECE	"user.famfs.layout."
#define FAMFS_XATTR_LAYOUT_PIECE_SIMPLE	1024

struct famfs_xattr_layout_piece {
	struct famfs_xattr_layout whole;	/* the whole layout's header */
	__u32 first;		/* the index of this piece's first simple extent */
	__u32 nsimple;		/* simple extents in this piece */
};

/* "STRIPS CHUNK": the longest value, with room to spare */
#define FAMFS_XATTR_STRIPE_MAX	32

#endif /* FAMFS_XATTR_H */
