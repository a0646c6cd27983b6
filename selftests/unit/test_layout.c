// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of server/fs/layout_piece.c: a layout of more than 2,000 simple
 * extents, longer than the 64 KiB an attribute value can be, read in
 * pieces (user.famfs.layout.FIRST) as getmap does, the daemon's side
 * cutting each piece; a layout that changes between pieces; a malformed
 * piece.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "famfs_xattr.h"
#include "fmap.h"
#include "fs/layout_piece.h"

#define NSIMPLE 2500
#define NILEAVE 2

struct daemon {
	char *whole;
	size_t len;
	unsigned int calls;
	int change_after;	/* grow the size after this many pieces (-1: never) */
	bool bad_first;		/* answer with the wrong first index */
};

static void build(struct daemon *d, __u32 nsimple, __u32 nileave)
{
	struct famfs_xattr_layout *h;
	struct fmap_simple_ext *se;
	struct fmap_ileave_ext *ie;
	__u32 i;

	memset(d, 0, sizeof(*d));
	d->change_after = -1;
	d->len = sizeof(*h) + nsimple * sizeof(*se) + nileave * sizeof(*ie);
	d->whole = calloc(1, d->len);
	assert_non_null(d->whole);
	h = (struct famfs_xattr_layout *)d->whole;
	h->magic = htole32(FAMFS_XATTR_LAYOUT_MAGIC);
	h->version = htole32(FAMFS_XATTR_LAYOUT_VERSION);
	h->nsimple = htole32(nsimple);
	h->nileave = htole32(nileave);
	h->size = htole64((__u64)nsimple << 21);
	se = (struct fmap_simple_ext *)(h + 1);
	for (i = 0; i < nsimple; i++) {
		se[i].file_off = htole64((__u64)i << 21);
		se[i].len = htole64(1ULL << 21);
		se[i].dev_off = htole64((__u64)(2 * i + 1) << 21);	/* not contiguous */
		se[i].dev = htole32(i % 3);
	}
	ie = (struct fmap_ileave_ext *)(se + nsimple);
	for (i = 0; i < nileave; i++) {
		ie[i].file_off = htole64(((__u64)nsimple + 8 * i) << 21);
		ie[i].len = htole64(8ULL << 21);
		ie[i].nstrips = 2;
		ie[i].chunk_shift = 21;
		ie[i].strips[1].dev = htole32(1);
	}
}

/* the daemon's getxattr of user.famfs.layout.FIRST (fsd_xattr.c) */
static ssize_t get(void *ctx, const char *name, void *buf, size_t size)
{
	struct daemon *d = ctx;
	const size_t pfx = sizeof(FAMFS_XATTR_LAYOUT_PIECE) - 1;
	struct famfs_xattr_layout *h = (struct famfs_xattr_layout *)d->whole;
	size_t plen;
	void *piece;
	int err;

	assert_int_equal(strncmp(name, FAMFS_XATTR_LAYOUT_PIECE, pfx), 0);
	if (d->change_after >= 0 && d->calls == (unsigned int)d->change_after)
		h->size = htole64(le64toh(h->size) + 1);
	d->calls++;
	err = layout_piece(d->whole, d->len, strtoull(name + pfx, NULL, 10), &piece, &plen);
	if (err)
		return err;
	/* what the kernel passes: a value up to XATTR_SIZE_MAX */
	assert_true(plen <= LAYOUT_XATTR_SIZE_MAX);
	assert_true(plen <= size);
	memcpy(buf, piece, plen);
	if (d->bad_first && d->calls == 2)
		((struct famfs_xattr_layout_piece *)buf)->first = htole32(7);
	free(piece);
	return plen;
}

static void more_than_2000_extents(void **state)
{
	struct daemon d;
	size_t len;
	void *out;

	(void)state;
	build(&d, NSIMPLE, NILEAVE);
	/* too long to be read whole: the kernel passes at most 64 KiB */
	assert_true(d.len > LAYOUT_XATTR_SIZE_MAX);
	assert_int_equal(layout_from_pieces(get, &d, &out, &len), 0);
	assert_int_equal(d.calls, (NSIMPLE + FAMFS_XATTR_LAYOUT_PIECE_SIMPLE - 1) /
				  FAMFS_XATTR_LAYOUT_PIECE_SIMPLE);
	assert_int_equal(len, d.len);
	assert_memory_equal(out, d.whole, len);
	free(out);
	free(d.whole);
}

static void small_and_empty_layouts(void **state)
{
	static const __u32 counts[] = { 0, 1, FAMFS_XATTR_LAYOUT_PIECE_SIMPLE,
					FAMFS_XATTR_LAYOUT_PIECE_SIMPLE + 1 };
	struct daemon d;
	size_t i, len;
	void *out;

	(void)state;
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		build(&d, counts[i], i & 1 ? 0 : 1);
		assert_int_equal(layout_from_pieces(get, &d, &out, &len), 0);
		assert_int_equal(len, d.len);
		assert_memory_equal(out, d.whole, len);
		free(out);
		free(d.whole);
	}
}

static void changed_between_pieces(void **state)
{
	struct daemon d;
	size_t len;
	void *out = NULL;

	(void)state;
	build(&d, NSIMPLE, NILEAVE);
	d.change_after = 1;
	assert_int_equal(layout_from_pieces(get, &d, &out, &len), -EAGAIN);
	assert_null(out);
	free(d.whole);
}

static void malformed_piece(void **state)
{
	struct daemon d;
	size_t len;
	void *out = NULL;

	(void)state;
	build(&d, NSIMPLE, NILEAVE);
	d.bad_first = true;
	assert_int_equal(layout_from_pieces(get, &d, &out, &len), -EBADMSG);
	assert_null(out);
	/* past the last extent: EINVAL from the daemon's side */
	assert_int_equal(layout_piece(d.whole, d.len, NSIMPLE + 1, &out, &len), -EINVAL);
	assert_int_equal(layout_piece(d.whole, d.len - 1, 0, &out, &len), -EINVAL);
	free(d.whole);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(more_than_2000_extents),
		cmocka_unit_test(small_and_empty_layouts),
		cmocka_unit_test(changed_between_pieces),
		cmocka_unit_test(malformed_piece),
	};

	return cmocka_run_group_tests_name("layout", tests, NULL, NULL);
}
