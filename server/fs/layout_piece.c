// SPDX-License-Identifier: GPL-2.0
/*
 * layout_piece.c: user.famfs.layout in pieces (famfs_xattr.h).  A file
 * with more than about 2,000 simple extents has a layout longer than the
 * 64 KiB an attribute value can be; its pieces of at most
 * FAMFS_XATTR_LAYOUT_PIECE_SIMPLE simple extents each fit.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "famfs_xattr.h"
#include "fmap.h"
#include "layout_piece.h"

#define SIMPLE_SZ	sizeof(struct fmap_simple_ext)
#define ILEAVE_SZ	sizeof(struct fmap_ileave_ext)

_Static_assert(sizeof(struct famfs_xattr_layout_piece) +
	       FAMFS_XATTR_LAYOUT_PIECE_SIMPLE * sizeof(struct fmap_simple_ext) +
	       FMAP_MAX_ILEAVE * sizeof(struct fmap_ileave_ext) <= LAYOUT_XATTR_SIZE_MAX,
	       "a piece fits in an attribute value");

int layout_piece(const void *whole, size_t len, unsigned long long first, void **out,
		 size_t *outlen)
{
	const struct famfs_xattr_layout *h = whole;
	struct famfs_xattr_layout_piece *p;
	__u32 nsimple, nileave, n;
	size_t plen;
	char *buf;

	if (len < sizeof(*h))
		return -EINVAL;
	nsimple = le32toh(h->nsimple);
	nileave = le32toh(h->nileave);
	if (len != sizeof(*h) + (size_t)nsimple * SIMPLE_SZ + (size_t)nileave * ILEAVE_SZ ||
	    first > nsimple)
		return -EINVAL;
	n = nsimple - first;
	if (n > FAMFS_XATTR_LAYOUT_PIECE_SIMPLE)
		n = FAMFS_XATTR_LAYOUT_PIECE_SIMPLE;
	plen = sizeof(*p) + (size_t)n * SIMPLE_SZ + (size_t)nileave * ILEAVE_SZ;
	buf = calloc(1, plen);
	if (!buf)
		return -ENOMEM;
	p = (struct famfs_xattr_layout_piece *)buf;
	p->whole = *h;
	p->first = htole32((__u32)first);
	p->nsimple = htole32(n);
	memcpy(buf + sizeof(*p), (const char *)whole + sizeof(*h) + first * SIMPLE_SZ,
	       (size_t)n * SIMPLE_SZ);
	memcpy(buf + sizeof(*p) + (size_t)n * SIMPLE_SZ,
	       (const char *)whole + sizeof(*h) + (size_t)nsimple * SIMPLE_SZ,
	       (size_t)nileave * ILEAVE_SZ);
	*out = buf;
	*outlen = plen;
	return 0;
}

int layout_from_pieces(layout_get_fn get, void *ctx, void **out, size_t *outlen)
{
	struct famfs_xattr_layout_piece p, p0;
	char name[sizeof(FAMFS_XATTR_LAYOUT_PIECE) + 12];
	char *buf, *whole = NULL;
	__u32 first = 0, n, nsimple = 0, nileave = 0;
	size_t wlen = 0;
	ssize_t got;
	int err = 0;

	buf = malloc(LAYOUT_XATTR_SIZE_MAX);
	if (!buf)
		return -ENOMEM;
	do {
		snprintf(name, sizeof(name), "%s%u", FAMFS_XATTR_LAYOUT_PIECE, first);
		got = get(ctx, name, buf, LAYOUT_XATTR_SIZE_MAX);
		if (got < 0) {
			err = (int)got;
			break;
		}
		err = -EBADMSG;
		if ((size_t)got < sizeof(p))
			break;
		memcpy(&p, buf, sizeof(p));
		if (!whole) {
			p0 = p;
			nsimple = le32toh(p.whole.nsimple);
			nileave = le32toh(p.whole.nileave);
			if (le32toh(p.whole.magic) != FAMFS_XATTR_LAYOUT_MAGIC ||
			    le32toh(p.whole.version) != FAMFS_XATTR_LAYOUT_VERSION ||
			    nsimple > FMAP_MAX_SIMPLE || nileave > FMAP_MAX_ILEAVE)
				break;
		} else if (memcmp(&p.whole, &p0.whole, sizeof(p.whole))) {
			err = -EAGAIN;	/* counts or size changed */
			break;
		}
		n = le32toh(p.nsimple);
		if (le32toh(p.first) != first || n > nsimple - first ||
		    (!n && first < nsimple) ||
		    (size_t)got != sizeof(p) + (size_t)n * SIMPLE_SZ + (size_t)nileave * ILEAVE_SZ)
			break;
		if (!whole) {
			wlen = sizeof(p.whole) + (size_t)nsimple * SIMPLE_SZ +
			       (size_t)nileave * ILEAVE_SZ;
			whole = malloc(wlen);
			if (!whole) {
				err = -ENOMEM;
				break;
			}
			memcpy(whole, &p.whole, sizeof(p.whole));
			memcpy(whole + wlen - (size_t)nileave * ILEAVE_SZ,
			       buf + sizeof(p) + (size_t)n * SIMPLE_SZ, (size_t)nileave * ILEAVE_SZ);
		} else if (memcmp(whole + wlen - (size_t)nileave * ILEAVE_SZ,
				  buf + sizeof(p) + (size_t)n * SIMPLE_SZ,
				  (size_t)nileave * ILEAVE_SZ)) {
			err = -EAGAIN;	/* the interleaved extents changed */
			break;
		}
		memcpy(whole + sizeof(p.whole) + (size_t)first * SIMPLE_SZ, buf + sizeof(p),
		       (size_t)n * SIMPLE_SZ);
		first += n;
		err = 0;
	} while (first < nsimple);
	free(buf);
	if (err) {
		free(whole);
		return err;
	}
	*out = whole;
	*outlen = wlen;
	return 0;
}
