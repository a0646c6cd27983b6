// SPDX-License-Identifier: GPL-2.0
/*
 * fsd_xattr.c: the extended attributes of famfs_xattr.h (a file's layout,
 * read-only; a file's or a directory's stripe policy), the policy a new
 * file inherits from its directory, and the "user." and "trusted."
 * attributes users store (fs_xattr_set(), XATTR log entries).
 *
 * The VFS checks before a request gets here: trusted.* needs CAP_SYS_ADMIN
 * (xattr_permission(): EPERM to set, ENODATA to read), user.* exists on
 * regular files and directories only, names are at most 255 bytes
 * (ERANGE) and values 64 KiB (E2BIG).  listxattr is not filtered by the
 * VFS for FUSE, and the daemon cannot know the caller's capabilities: an
 * unprivileged caller sees trusted.* names listed (ext4 hides them), but
 * cannot read their values.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "famfs_xattr.h"
#include "fs/acl.h"
#include "fs/layout_piece.h"
#include "fs/mlog.h"
#include "fsd_i.h"
#include "fs/log.h"

/* "STRIPS CHUNK" in ASCII decimal; the rules are fs.c's (fs.h). */
static int stripe_parse(struct fsd *d, const char *value, size_t size, struct fs_stripe *st)
{
	char buf[FAMFS_XATTR_STRIPE_MAX + 1], *sp, *end;
	unsigned long long strips, chunk = 0;

	/* tools may count a final NUL or newline */
	while (size && (value[size - 1] == '\0' || value[size - 1] == '\n'))
		size--;
	if (!size || size > FAMFS_XATTR_STRIPE_MAX) {
		pr_debug("%s: %zu bytes: want \"STRIPS CHUNK\"", FAMFS_XATTR_STRIPE, size);
		return -EINVAL;
	}
	memcpy(buf, value, size);
	buf[size] = '\0';
	sp = strchr(buf, ' ');
	/* digits only: strtoull would take signs, blanks and hex */
	if (!sp || sp == buf || !sp[1] || strspn(buf, "0123456789") != (size_t)(sp - buf) ||
	    strspn(sp + 1, "0123456789") != size - (size_t)(sp + 1 - buf)) {
		pr_debug("%s: \"%s\": want \"STRIPS CHUNK\" in decimal", FAMFS_XATTR_STRIPE, buf);
		return -EINVAL;
	}
	errno = 0;
	strips = strtoull(buf, &end, 10);
	if (!errno)
		chunk = strtoull(sp + 1, &end, 10);
	if (errno) {
		pr_debug("%s: \"%s\": out of range", FAMFS_XATTR_STRIPE, buf);
		return -EINVAL;
	}
	if (!strips || strips > FMAP_MAX_STRIPS || strips > d->ndevs) {
		pr_debug("%s: %llu strips: 1 to %u (the devices)",
			 FAMFS_XATTR_STRIPE, strips,
			 d->ndevs < FMAP_MAX_STRIPS ? d->ndevs : FMAP_MAX_STRIPS);
		return -EINVAL;
	}
	if (chunk < UNIT || chunk > FAMFS_XATTR_STRIPE_MAX_CHUNK || chunk & (chunk - 1)) {
		pr_debug("%s: chunk %llu: a power of two from 2 MiB to 256 MiB",
			 FAMFS_XATTR_STRIPE, chunk);
		return -EINVAL;
	}
	st->nstrips = strips;
	st->chunk_size = chunk;
	return 0;
}

/* user.famfs.layout: header, simple extents, interleaved ones, little-endian. */
static int layout_xattr(struct fsd *d, __u64 ino, char **out, size_t *outlen)
{
	struct famfs_xattr_layout *h;
	struct fmap_simple_ext *se;
	struct fmap_ileave_ext *ie;
	struct ns_layout l = { 0 };
	struct ns_attr a;
	size_t len;
	__u32 i, s;
	char *buf;
	int err;

	/* size and extents from one moment: writers change both under @space */
	pthread_rwlock_rdlock(&d->space);
	err = ns_getattr(d->ns, ino, &a);
	if (!err && !S_ISREG(a.mode))
		err = -ENODATA;
	if (!err)
		err = ns_layout_get(d->ns, ino, &l);
	pthread_rwlock_unlock(&d->space);
	if (err) {
		free(l.simple);
		return err;
	}
	len = sizeof(*h) + (size_t)l.nsimple * sizeof(*se) + (size_t)l.nileave * sizeof(*ie);
	buf = calloc(1, len);
	if (!buf) {
		free(l.simple);
		return -ENOMEM;
	}
	h = (struct famfs_xattr_layout *)buf;
	h->magic = htole32(FAMFS_XATTR_LAYOUT_MAGIC);
	h->version = htole32(FAMFS_XATTR_LAYOUT_VERSION);
	h->nsimple = htole32(l.nsimple);
	h->nileave = htole32(l.nileave);
	h->size = htole64(a.size);
	se = (struct fmap_simple_ext *)(h + 1);
	for (i = 0; i < l.nsimple; i++) {
		se[i].file_off = htole64(l.simple[i].file_off);
		se[i].len = htole64(l.simple[i].len);
		se[i].dev_off = htole64(l.simple[i].dev_off);
		se[i].dev = htole32(l.simple[i].dev);
	}
	ie = (struct fmap_ileave_ext *)(se + l.nsimple);
	for (i = 0; i < l.nileave; i++) {
		ie[i].file_off = htole64(l.ileave[i].file_off);
		ie[i].len = htole64(l.ileave[i].len);
		ie[i].nstrips = l.ileave[i].nstrips;
		ie[i].chunk_shift = l.ileave[i].chunk_shift;
		for (s = 0; s < FMAP_MAX_STRIPS; s++) {
			ie[i].strips[s].dev_off = htole64(l.ileave[i].strips[s].dev_off);
			ie[i].strips[s].dev = htole32(l.ileave[i].strips[s].dev);
		}
	}
	free(l.simple);
	*out = buf;
	*outlen = len;
	return 0;
}

/* A value, or its length when @size is 0 (the kernel's size query). */
static void reply_xattr(fuse_req_t req, size_t size, const void *buf, size_t len)
{
	if (!size)
		return (void)fuse_reply_xattr(req, len);
	if (size < len)
		return (void)fuse_reply_err(req, ERANGE);
	fuse_reply_buf(req, buf, len);
}

/* user.famfs.layout.FIRST: a piece of a layout too long for one value */
static void layout_piece_xattr(fuse_req_t req, struct fsd *d, fuse_ino_t ino, const char *first,
			       size_t size)
{
	unsigned long long n;
	size_t len, plen;
	char *buf, *end;
	void *piece;
	int err;

	/* decimal digits only, no sign, no blanks, no leading zeros */
	if (!*first || strspn(first, "0123456789") != strlen(first) || strlen(first) > 10 ||
	    (first[0] == '0' && first[1]))
		return (void)fuse_reply_err(req, EOPNOTSUPP);
	n = strtoull(first, &end, 10);
	err = layout_xattr(d, ino, &buf, &len);
	if (err)
		return (void)fuse_reply_err(req, -err);
	err = layout_piece(buf, len, n, &piece, &plen);
	free(buf);
	if (err)
		return (void)fuse_reply_err(req, -err);
	reply_xattr(req, size, piece, plen);
	free(piece);
}

/* The daemon's own names: user.famfs.*, never stored. */
static bool famfs_name(const char *name)
{
	return !strncmp(name, "user.famfs.", 11);
}

/* A stored attribute ("user.", "trusted."), or its length (size 0). */
static void stored_getxattr(fuse_req_t req, struct fsd *d, fuse_ino_t ino, const char *name,
			    size_t size)
{
	size_t cap = size < FAMFS_XATTR_VALUE_MAX ? size : FAMFS_XATTR_VALUE_MAX;
	char *buf = NULL;
	ssize_t n;
	int err = famfs_mlog_xattr_name_check(name, NULL, 0);

	if (err)
		return (void)fuse_reply_err(req, -err);
	if (cap) {
		buf = malloc(cap);
		if (!buf)
			return (void)fuse_reply_err(req, ENOMEM);
	}
	n = ns_xattr_get(d->ns, ino, name, buf, cap);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (!size)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

void fsd_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fsd *d = req_fsd(req);
	char val[FAMFS_XATTR_STRIPE_MAX + 1], *buf;
	struct fs_stripe st;
	struct ns_attr a;
	size_t len;
	int err;

	if (!famfs_name(name))
		return stored_getxattr(req, d, ino, name, size);
	if (!strcmp(name, FAMFS_XATTR_LAYOUT)) {
		err = layout_xattr(d, ino, &buf, &len);
		if (err)
			return (void)fuse_reply_err(req, -err);
		reply_xattr(req, size, buf, len);
		free(buf);
		return;
	}
	if (!strncmp(name, FAMFS_XATTR_LAYOUT_PIECE, sizeof(FAMFS_XATTR_LAYOUT_PIECE) - 1))
		return layout_piece_xattr(req, d, ino, name + sizeof(FAMFS_XATTR_LAYOUT_PIECE) - 1,
					  size);
	if (!strcmp(name, FAMFS_XATTR_CLASS)) {
		const char *kind;

		err = ns_getattr(d->ns, ino, &a);
		if (err)
			return (void)fuse_reply_err(req, -err);
		if (!S_ISREG(a.mode) && !S_ISDIR(a.mode))
			return (void)fuse_reply_err(req, ENODATA);
		kind = fs_file_block(d->fs, ino) ? "block" : "memory";
		reply_xattr(req, size, kind, strlen(kind));
		return;
	}
	if (strcmp(name, FAMFS_XATTR_STRIPE))
		return (void)fuse_reply_err(req, EOPNOTSUPP);
	err = ns_getattr(d->ns, ino, &a);
	if (err)
		return (void)fuse_reply_err(req, -err);
	/* the policy, or the geometry fs.c grows the file's interleaved space by */
	if (!fs_file_stripe(d->fs, ino, &st))
		return (void)fuse_reply_err(req, ENODATA);
	len = snprintf(val, sizeof(val), "%u %llu", st.nstrips,
		       (unsigned long long)st.chunk_size);
	reply_xattr(req, size, val, len);
}

void fsd_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	static const char layout[] = FAMFS_XATTR_LAYOUT, stripe[] = FAMFS_XATTR_STRIPE;
	struct fsd *d = req_fsd(req);
	char *names;
	struct fs_stripe st;
	struct ns_attr a;
	size_t len = 0;
	ssize_t n;
	int err = ns_getattr(d->ns, ino, &a);

	if (err)
		return (void)fuse_reply_err(req, -err);
	/* the stored names after ours: fewer bytes than their space allows */
	names = malloc(sizeof(layout) + sizeof(stripe) + FAMFS_XATTR_SPACE);
	if (!names)
		return (void)fuse_reply_err(req, ENOMEM);
	/* the names a getxattr answers */
	if (S_ISREG(a.mode)) {
		memcpy(names, layout, sizeof(layout));
		len = sizeof(layout);
	}
	if (fs_file_stripe(d->fs, ino, &st)) {
		memcpy(names + len, stripe, sizeof(stripe));
		len += sizeof(stripe);
	}
	n = ns_xattr_list(d->ns, ino, names + len, FAMFS_XATTR_SPACE);
	if (n < 0) {
		free(names);
		return (void)fuse_reply_err(req, (int)-n);
	}
	reply_xattr(req, size, names, len + (size_t)n);
	free(names);
}

/*
 * A file's policy: set while it has no space (fs.c grows it by its policy
 * from the first allocation on), under @space so no allocation races it.
 */
static int set_file_stripe(struct fsd *d, __u64 ino, const struct fs_stripe *st)
{
	struct ns_attr a;
	int err;

	pthread_rwlock_wrlock(&d->space);
	err = ns_getattr(d->ns, ino, &a);
	if (!err && a.mapped)
		err = -EBUSY;
	if (!err)
		err = fs_set_stripe(d->fs, ino, st);
	pthread_rwlock_unlock(&d->space);
	return err;
}

/* user.famfs.class "memory" or "block": a directory's, for the files created in it. */
static int set_class(struct fsd *d, __u64 ino, const char *value, size_t size)
{
	__u32 kind;

	if (size == 6 && !memcmp(value, "memory", 6))
		kind = FAMFS_DEV_DAX;
	else if (size == 5 && !memcmp(value, "block", 5))
		kind = FAMFS_DEV_BLOCK;
	else
		return -EINVAL;
	return fs_set_class(d->fs, ino, kind);
}

static int acl_set_mode(struct fsd *d, __u64 ino, const void *acl, size_t len)
{
	struct ns_setattr sa = { .valid = FAMFS_SETATTR_MODE };
	struct ns_attr a;
	mode_t mode;
	int err = ns_getattr(d->ns, ino, &a);

	if (err)
		return err;
	mode = a.mode & 07777;
	err = famfs_acl_mode(acl, len, &mode);
	if (err || mode == (a.mode & 07777))
		return err;
	sa.mode = mode;
	return fs_setattr(d->fs, ino, &sa);
}

void fsd_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	struct fsd *d = req_fsd(req);
	struct fs_stripe st, cur;
	struct ns_attr a;
	int err;

	if (fsd_refuse_ro(req))
		return;
	if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
		return (void)fuse_reply_err(req, EINVAL);
	if (!famfs_name(name)) {
		_Static_assert(NS_XATTR_CREATE == XATTR_CREATE && NS_XATTR_REPLACE == XATTR_REPLACE,
			       "the flags pass as they are");
		err = fs_xattr_set(d->fs, ino, name, value, size, (unsigned int)flags);
		/* the kernel leaves the mode an access ACL implies to us (fuse_set_acl()) */
		if (!err && d->posix_acl && !strcmp(name, FAMFS_ACL_ACCESS))
			err = acl_set_mode(d, ino, value, size);
		return (void)fuse_reply_err(req, -err);
	}
	if (!strcmp(name, FAMFS_XATTR_LAYOUT))
		return (void)fuse_reply_err(req, EPERM);	/* computed, read-only */
	if (!strcmp(name, FAMFS_XATTR_CLASS))
		return (void)fuse_reply_err(req, -set_class(d, ino, value, size));
	if (strcmp(name, FAMFS_XATTR_STRIPE))
		return (void)fuse_reply_err(req, EOPNOTSUPP);
	err = stripe_parse(d, value, size, &st);
	if (!err)
		err = ns_getattr(d->ns, ino, &a);
	if (!err && !S_ISREG(a.mode) && !S_ISDIR(a.mode))
		err = -EPERM;
	if (!err && (flags & XATTR_CREATE) && fs_file_stripe(d->fs, ino, &cur))
		err = -EEXIST;
	if (!err && (flags & XATTR_REPLACE) && !fs_file_stripe(d->fs, ino, &cur))
		err = -ENODATA;
	if (!err)
		err = S_ISDIR(a.mode) ? fs_set_stripe(d->fs, ino, &st) :
					set_file_stripe(d, ino, &st);
	/* the caller's value or request: nothing to log */
	fuse_reply_err(req, -err);
}

/* user.famfs.stripe: a directory forgets its default, a file without space goes simple. */
void fsd_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct fsd *d = req_fsd(req);
	struct fs_stripe cur;
	struct ns_attr a;
	int err;

	if (fsd_refuse_ro(req))
		return;
	if (!famfs_name(name))
		return (void)fuse_reply_err(req, -fs_xattr_remove(d->fs, ino, name));
	if (!strcmp(name, FAMFS_XATTR_LAYOUT))
		return (void)fuse_reply_err(req, EPERM);
	if (strcmp(name, FAMFS_XATTR_STRIPE))
		return (void)fuse_reply_err(req, EOPNOTSUPP);
	err = ns_getattr(d->ns, ino, &a);
	if (!err && !fs_file_stripe(d->fs, ino, &cur))
		err = -ENODATA;
	if (!err)
		err = S_ISDIR(a.mode) ? fs_set_stripe(d->fs, ino, NULL) :
					set_file_stripe(d, ino, NULL);
	fuse_reply_err(req, -err);
}

int fsd_create_file(struct fsd *d, __u64 parent, const char *name,
		       const struct ns_cred *cred, __u64 *ino)
{
	/* the namespace gives it the directory's policy, replay too */
	return fs_create(d->fs, parent, name, cred, NULL, ino);
}
