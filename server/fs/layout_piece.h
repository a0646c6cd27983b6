/* SPDX-License-Identifier: GPL-2.0 */
/*
 * layout_piece.c: user.famfs.layout in pieces (famfs_xattr.h), for a
 * layout longer than an attribute value can be: the daemon cuts a piece
 * out of the whole layout, getmap puts the pieces back together.
 */
#ifndef FAMFS_LAYOUT_PIECE_H
#define FAMFS_LAYOUT_PIECE_H

#include <stddef.h>
#include <sys/types.h>

/* The largest attribute value the kernel passes (linux/limits.h). */
#define LAYOUT_XATTR_SIZE_MAX	65536

/*
 * The piece of the whole layout @whole (@len bytes, as fsd_xattr.c
 * builds it) that starts at simple extent @first: a malloc()ed *@out of
 * *@outlen bytes.  0, -EINVAL (@first past the last extent, or @whole
 * malformed), -ENOMEM.
 */
int layout_piece(const void *whole, size_t len, unsigned long long first, void **out,
		 size_t *outlen);

/* Read attribute @name into @buf of @size bytes: its length, or -errno. */
typedef ssize_t (*layout_get_fn)(void *ctx, const char *name, void *buf, size_t size);

/*
 * The whole layout, read piece by piece through @get: a malloc()ed *@out
 * of *@outlen bytes in the format of user.famfs.layout.  0; -EAGAIN if
 * the layout changed between pieces (read again); -EBADMSG if a piece is
 * malformed; -ENOMEM; or what @get returned.
 */
int layout_from_pieces(layout_get_fn get, void *ctx, void **out, size_t *outlen);

#endif /* FAMFS_LAYOUT_PIECE_H */
