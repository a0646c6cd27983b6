// SPDX-License-Identifier: GPL-2.0
/*
 * The metadata log: encode, decode, replay (see mlog.h, include/FORMAT.md).
 *
 * The decoder reads untrusted bytes: every field is copied out of the
 * buffer before use (no alignment assumed, no pointer into the media kept),
 * every count is bounded before anything is sized by it, and every sum of
 * offsets and lengths is checked for overflow.  Checks on the decoded
 * entry live in one function, famfs_mlog_check(), which the encoder runs
 * too: what one side writes, the other accepts.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "crc32c.h"
#include "log.h"
#include "mlog.h"

#define HDR_SIZE	sizeof(struct famfs_log_entry_hdr)
/* the header bytes the entry CRC covers: all but the crc field */
#define HDR_CRC_LEN	offsetof(struct famfs_log_entry_hdr, crc)

_Static_assert(offsetof(struct famfs_log_entry_hdr, crc) + 4 == 24,
	       "the entry crc ends the entry header");
_Static_assert(offsetof(struct famfs_log_header, crc) + 4 ==
	       sizeof(struct famfs_log_header), "the log crc ends its header");
_Static_assert(FAMFS_LOG_MAX_STRIPS == FMAP_MAX_STRIPS, "strip limits agree");
_Static_assert(FAMFS_LOG_MAX_SIMPLE <= FMAP_MAX_SIMPLE, "simple limits agree");
/* the largest CREATE fits an entry, so the counts bound its length */
_Static_assert(HDR_SIZE + sizeof(struct famfs_log_mknod) + FAMFS_NAME_MAX + 1 +
	       FAMFS_LOG_MAX_SIMPLE * sizeof(struct famfs_log_simple) +
	       FAMFS_LOG_MAX_ILEAVE * (sizeof(struct famfs_log_ileave) +
				       FAMFS_LOG_MAX_STRIPS * sizeof(struct famfs_log_strip))
	       <= FAMFS_LOG_MAX_ENTRY, "a full CREATE fits FAMFS_LOG_MAX_ENTRY");


static const char *const type_names[] = {
	[FAMFS_LOG_MKDIR] = "mkdir",
	[FAMFS_LOG_CREATE] = "create",
	[FAMFS_LOG_SYMLINK] = "symlink",
	[FAMFS_LOG_ALLOC] = "alloc",
	[FAMFS_LOG_PUNCH] = "punch",
	[FAMFS_LOG_SETATTR] = "setattr",
	[FAMFS_LOG_RENAME] = "rename",
	[FAMFS_LOG_DELETE] = "delete",
	[FAMFS_LOG_DEVADD] = "devadd",
	[FAMFS_LOG_STRIPE] = "stripe",
	[FAMFS_LOG_LINK] = "link",
	[FAMFS_LOG_CKPT] = "ckpt",
	[FAMFS_LOG_XATTR] = "xattr",
	[FAMFS_LOG_CLASS] = "class",
};

const char *famfs_mlog_type_name(unsigned int type)
{
	if (type >= sizeof(type_names) / sizeof(type_names[0]) || !type_names[type])
		return "unknown";
	return type_names[type];
}

/*
 * A word at a time: replay checks the whole unused tail of the log, 6.4 MB
 * of a 16 MB log with 100,000 files, where the bytewise loop was 30 M
 * instructions per mount.
 */
static bool all_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	__u64 w;

	for (; len >= sizeof(w); len -= sizeof(w), p += sizeof(w)) {
		memcpy(&w, p, sizeof(w));
		if (w)
			return false;
	}
	while (len--)
		if (*p++)
			return false;
	return true;
}

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static bool aligned(__u64 v)
{
	return (v & (FAMFS_EXT_ALIGN - 1)) == 0;
}

/* -------------------------------------------------------------------- */
/* Checks on an entry in memory */

static int check_name(const char *name, const char *what, char *msg, size_t msglen)
{
	size_t n = strnlen(name, FAMFS_NAME_MAX + 1);

	if (n == 0)
		return fbs_fail(msg, msglen, -EINVAL, "%s is empty", what);
	if (n > FAMFS_NAME_MAX)
		return fbs_fail(msg, msglen, -EINVAL, "%s is longer than %d bytes",
			    what, FAMFS_NAME_MAX);
	if (memchr(name, '/', n))
		return fbs_fail(msg, msglen, -EINVAL, "%s contains '/'", what);
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return fbs_fail(msg, msglen, -EINVAL, "%s is \"%s\"", what, name);
	return 0;
}

static int check_time(const struct famfs_mlog_time *t, const char *what,
		      char *msg, size_t msglen)
{
	if (t->nsec >= 1000000000U)
		return fbs_fail(msg, msglen, -EINVAL, "%s has %u nanoseconds", what, t->nsec);
	return 0;
}

static bool time_zero(const struct famfs_mlog_time *t)
{
	return !t->sec && !t->nsec;
}

int famfs_mlog_dev_check(const struct famfs_mlog_dev *d, char *msg, size_t msglen)
{
	if (d->kind != FAMFS_DEV_DAX && d->kind != FAMFS_DEV_BLOCK)
		return fbs_fail(msg, msglen, -EINVAL, "device kind %u is neither DAX (%d) nor block (%d)",
			    d->kind, FAMFS_DEV_DAX, FAMFS_DEV_BLOCK);
	if (!aligned(d->size))
		return fbs_fail(msg, msglen, -EINVAL, "device size %llu is not a multiple of %llu",
			    (unsigned long long)d->size, FAMFS_EXT_ALIGN);
	/* the first unit holds the label (and on device 0 the superblock) */
	if (d->data_off < FAMFS_ALLOC_UNIT || d->data_off & (FAMFS_ALLOC_UNIT - 1))
		return fbs_fail(msg, msglen, -EINVAL,
			    "device data offset %llu is not a nonzero multiple of %llu",
			    (unsigned long long)d->data_off, FAMFS_ALLOC_UNIT);
	if (d->data_off >= d->size)
		return fbs_fail(msg, msglen, -EINVAL,
			    "device data offset %llu is not below its size %llu",
			    (unsigned long long)d->data_off, (unsigned long long)d->size);
	return 0;
}

int famfs_mlog_stripe_check(__u32 nstrips, __u32 chunk_shift, __u32 ndevs, char *msg,
			    size_t msglen)
{
	__u32 most = ndevs && ndevs < FMAP_MAX_STRIPS ? ndevs : FMAP_MAX_STRIPS;

	if (!nstrips) {
		if (chunk_shift)
			return fbs_fail(msg, msglen, -EINVAL, "simple layout with chunk shift %u",
					chunk_shift);
		return 0;
	}
	if (nstrips > most)
		return fbs_fail(msg, msglen, -EINVAL, "%u strips: 1 to %u%s",
				nstrips, most, most < FMAP_MAX_STRIPS ? " (the devices)" : "");
	if (chunk_shift < FAMFS_STRIPE_MIN_CHUNK_SHIFT || chunk_shift > FMAP_MAX_CHUNK_SHIFT)
		return fbs_fail(msg, msglen, -EINVAL,
				"chunk shift %u: %u..%u (a power of two from 2 MiB to 1 GiB)",
				chunk_shift, FAMFS_STRIPE_MIN_CHUNK_SHIFT, FMAP_MAX_CHUNK_SHIFT);
	return 0;
}

static bool overlap(__u64 a_off, __u64 a_len, __u64 b_off, __u64 b_len)
{
	return a_off < b_off + b_len && b_off < a_off + a_len;
}

/* Does any simple extent (sorted, disjoint) overlap [off, off + len)? */
static bool simple_overlaps(const struct fmap_simple_ext *s, __u32 n, __u64 off, __u64 len)
{
	__u32 lo = 0, hi = n;

	/* the first extent that ends after off */
	while (lo < hi) {
		__u32 mid = lo + (hi - lo) / 2;

		if (s[mid].file_off + s[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && s[lo].file_off < off + len;
}

static int check_extents(const struct famfs_mlog_entry *e, char *msg, size_t msglen)
{
	__u32 i, j, s;
	int ret;

	if (e->nsimple > FAMFS_LOG_MAX_SIMPLE)
		return fbs_fail(msg, msglen, -EINVAL, "%u simple extents, at most %d in one entry",
			    e->nsimple, FAMFS_LOG_MAX_SIMPLE);
	if (e->nileave > FAMFS_LOG_MAX_ILEAVE)
		return fbs_fail(msg, msglen, -EINVAL, "%u interleaved extents, at most %d in one entry",
			    e->nileave, FAMFS_LOG_MAX_ILEAVE);
	if ((e->nsimple && !e->simple) || (e->nileave && !e->ileave))
		return fbs_fail(msg, msglen, -EINVAL, "extent count without extents");

	for (i = 0; i < e->nsimple; i++) {
		const struct fmap_simple_ext *x = &e->simple[i];

		if (!aligned(x->file_off) || !aligned(x->len) || !aligned(x->dev_off))
			return fbs_fail(msg, msglen, -EINVAL,
				    "simple extent %u is not page aligned", i);
		if (x->dev >= FAMFS_MAX_DEVS)
			return fbs_fail(msg, msglen, -EINVAL, "simple extent %u names device %u",
				    i, x->dev);
	}
	if (e->nsimple) {
		ret = fmap_simple_check(e->simple, e->nsimple);
		if (ret)
			return fbs_fail(msg, msglen, -EINVAL,
				    "simple extents: %s", ret == -FMAP_ERANGE ?
				    "an offset overflows" : "empty, unsorted or overlapping");
	}

	for (i = 0; i < e->nileave; i++) {
		const struct fmap_ileave_ext *ie = &e->ileave[i];

		if (!ie->nstrips || ie->nstrips > FAMFS_LOG_MAX_STRIPS)
			return fbs_fail(msg, msglen, -EINVAL,
				    "interleaved extent %u: %u strips (1 to %d)", i,
				    ie->nstrips, FAMFS_LOG_MAX_STRIPS);
		if (ie->chunk_shift < FMAP_MIN_CHUNK_SHIFT ||
		    ie->chunk_shift > FMAP_MAX_CHUNK_SHIFT)
			return fbs_fail(msg, msglen, -EINVAL,
				    "interleaved extent %u: chunk shift %u not in %d..%d",
				    i, ie->chunk_shift, FMAP_MIN_CHUNK_SHIFT,
				    FMAP_MAX_CHUNK_SHIFT);
		if (!aligned(ie->file_off) || !aligned(ie->len))
			return fbs_fail(msg, msglen, -EINVAL,
				    "interleaved extent %u is not page aligned", i);
		for (s = 0; s < ie->nstrips; s++) {
			if (!aligned(ie->strips[s].dev_off))
				return fbs_fail(msg, msglen, -EINVAL,
					    "interleaved extent %u: strip %u not page aligned", i, s);
			if (ie->strips[s].dev >= FAMFS_MAX_DEVS)
				return fbs_fail(msg, msglen, -EINVAL,
					    "interleaved extent %u: strip %u names device %u",
					    i, s, ie->strips[s].dev);
		}
		ret = fmap_ileave_check(ie);
		if (ret)
			return fbs_fail(msg, msglen, -EINVAL, "interleaved extent %u: %s", i,
				    ret == -FMAP_ERANGE ? "an offset overflows" :
				    "empty, or reserved bytes set");
		if (simple_overlaps(e->simple, e->nsimple, ie->file_off, ie->len))
			return fbs_fail(msg, msglen, -EINVAL,
				    "interleaved extent %u overlaps a simple extent", i);
		for (j = 0; j < i; j++)
			if (overlap(ie->file_off, ie->len, e->ileave[j].file_off,
				    e->ileave[j].len))
				return fbs_fail(msg, msglen, -EINVAL,
					    "interleaved extents %u and %u overlap", j, i);
	}
	return 0;
}

static int check_mknod(const struct famfs_mlog_entry *e, char *msg, size_t msglen)
{
	size_t tlen;
	int ret;

	if (!e->mknod.parent)
		return fbs_fail(msg, msglen, -EINVAL, "parent inode 0");
	if (e->mknod.ino <= FAMFS_ROOT_INO)
		return fbs_fail(msg, msglen, -EINVAL, "new inode number %llu",
			    (unsigned long long)e->mknod.ino);
	if (e->mknod.mode & ~07777U)
		return fbs_fail(msg, msglen, -EINVAL, "mode %#o has more than permission bits",
			    e->mknod.mode);
	ret = check_time(&e->mknod.time, "time", msg, msglen);
	if (ret)
		return ret;
	ret = check_name(e->name, "name", msg, msglen);
	if (ret)
		return ret;
	if (e->type != FAMFS_LOG_CREATE && (e->nsimple || e->nileave))
		return fbs_fail(msg, msglen, -EINVAL, "%s with extents",
			    famfs_mlog_type_name(e->type));
	tlen = strnlen(e->target, FAMFS_SYMLINK_MAX + 1);
	switch (e->type) {
	case FAMFS_LOG_MKDIR:
		if (e->mknod.size)
			return fbs_fail(msg, msglen, -EINVAL, "directory with size %llu",
				    (unsigned long long)e->mknod.size);
		break;
	case FAMFS_LOG_SYMLINK:
		if (tlen == 0 || tlen > FAMFS_SYMLINK_MAX)
			return fbs_fail(msg, msglen, -EINVAL,
				    "symlink target is empty or longer than %d bytes",
				    FAMFS_SYMLINK_MAX);
		if (e->mknod.size != tlen)
			return fbs_fail(msg, msglen, -EINVAL,
				    "symlink size %llu is not its target's length %zu",
				    (unsigned long long)e->mknod.size, tlen);
		return 0;
	default:
		return check_extents(e, msg, msglen);
	}
	return 0;
}

int famfs_mlog_check(const struct famfs_mlog_entry *e, char *msg, size_t msglen)
{
	int ret;

	if (e->type != FAMFS_LOG_SYMLINK && e->target[0])
		return fbs_fail(msg, msglen, -EINVAL, "a target outside a symlink");
	if ((e->nsimple || e->nileave) && e->type != FAMFS_LOG_CREATE &&
	    e->type != FAMFS_LOG_ALLOC)
		return fbs_fail(msg, msglen, -EINVAL, "extents in a %s entry",
			    famfs_mlog_type_name(e->type));

	switch (e->type) {
	case FAMFS_LOG_MKDIR:
	case FAMFS_LOG_CREATE:
	case FAMFS_LOG_SYMLINK:
		return check_mknod(e, msg, msglen);
	case FAMFS_LOG_ALLOC:
		if (e->alloc.ino <= FAMFS_ROOT_INO)
			return fbs_fail(msg, msglen, -EINVAL, "alloc to inode %llu",
				    (unsigned long long)e->alloc.ino);
		if (!e->nsimple && !e->nileave)
			return fbs_fail(msg, msglen, -EINVAL, "alloc without extents");
		return check_extents(e, msg, msglen);
	case FAMFS_LOG_PUNCH:
		if (e->punch.ino <= FAMFS_ROOT_INO)
			return fbs_fail(msg, msglen, -EINVAL, "punch in inode %llu",
				    (unsigned long long)e->punch.ino);
		if (!aligned(e->punch.off))
			return fbs_fail(msg, msglen, -EINVAL, "punch offset not page aligned");
		if (e->punch.len == FAMFS_LOG_TO_END)
			return 0;
		if (!e->punch.len || !aligned(e->punch.len))
			return fbs_fail(msg, msglen, -EINVAL, "punch length %llu",
				    (unsigned long long)e->punch.len);
		if (e->punch.off + e->punch.len < e->punch.off)
			return fbs_fail(msg, msglen, -EINVAL, "punch range overflows");
		return 0;
	case FAMFS_LOG_SETATTR:
		if (!e->setattr.ino)
			return fbs_fail(msg, msglen, -EINVAL, "setattr of inode 0");
		if (!e->setattr.valid || e->setattr.valid & ~FAMFS_SETATTR_ALL)
			return fbs_fail(msg, msglen, -EINVAL, "setattr valid mask %#x",
				    e->setattr.valid);
		if (e->setattr.mode & ~07777U)
			return fbs_fail(msg, msglen, -EINVAL, "mode %#o has more than permission bits",
				    e->setattr.mode);
		/* one encoding per change: what is not set is zero */
		if ((!(e->setattr.valid & FAMFS_SETATTR_SIZE) && e->setattr.size) ||
		    (!(e->setattr.valid & FAMFS_SETATTR_MODE) && e->setattr.mode) ||
		    (!(e->setattr.valid & FAMFS_SETATTR_UID) && e->setattr.uid) ||
		    (!(e->setattr.valid & FAMFS_SETATTR_GID) && e->setattr.gid) ||
		    (!(e->setattr.valid & FAMFS_SETATTR_ATIME) && !time_zero(&e->setattr.atime)) ||
		    (!(e->setattr.valid & FAMFS_SETATTR_MTIME) && !time_zero(&e->setattr.mtime)) ||
		    (!(e->setattr.valid & FAMFS_SETATTR_CTIME) && !time_zero(&e->setattr.ctime)))
			return fbs_fail(msg, msglen, -EINVAL, "setattr field set outside its valid mask");
		ret = check_time(&e->setattr.atime, "atime", msg, msglen);
		if (!ret)
			ret = check_time(&e->setattr.mtime, "mtime", msg, msglen);
		if (!ret)
			ret = check_time(&e->setattr.ctime, "ctime", msg, msglen);
		return ret;
	case FAMFS_LOG_RENAME:
		if (!e->rename.old_parent || !e->rename.new_parent)
			return fbs_fail(msg, msglen, -EINVAL, "rename with parent inode 0");
		if (e->rename.ino <= FAMFS_ROOT_INO)
			return fbs_fail(msg, msglen, -EINVAL, "rename of inode %llu",
				    (unsigned long long)e->rename.ino);
		if (e->rename.flags & ~FAMFS_RENAME_EXCHANGE)
			return fbs_fail(msg, msglen, -EINVAL, "rename flags %#x", e->rename.flags);
		ret = check_name(e->name, "old name", msg, msglen);
		if (!ret)
			ret = check_name(e->new_name, "new name", msg, msglen);
		if (ret)
			return ret;
		if (e->rename.old_parent == e->rename.new_parent &&
		    !strcmp(e->name, e->new_name))
			return fbs_fail(msg, msglen, -EINVAL, "rename of a name to itself");
		return 0;
	case FAMFS_LOG_DELETE:
		if (!e->del.parent)
			return fbs_fail(msg, msglen, -EINVAL, "delete in parent inode 0");
		if (e->del.ino <= FAMFS_ROOT_INO)
			return fbs_fail(msg, msglen, -EINVAL, "delete of inode %llu",
				    (unsigned long long)e->del.ino);
		if (e->del.flags & ~FAMFS_DELETE_DIR)
			return fbs_fail(msg, msglen, -EINVAL, "delete flags %#x", e->del.flags);
		return check_name(e->name, "name", msg, msglen);
	case FAMFS_LOG_DEVADD:
		if (e->devadd.index >= FAMFS_MAX_DEVS)
			return fbs_fail(msg, msglen, -EINVAL, "device index %u, at most %d devices",
				    e->devadd.index, FAMFS_MAX_DEVS);
		return famfs_mlog_dev_check(&e->devadd.dev, msg, msglen);
	case FAMFS_LOG_STRIPE:
		if (!e->stripe.ino)
			return fbs_fail(msg, msglen, -EINVAL, "stripe of inode 0");
		return famfs_mlog_stripe_check(e->stripe.nstrips, e->stripe.chunk_shift, 0,
					       msg, msglen);
	case FAMFS_LOG_CLASS:
		if (!e->klass.ino)
			return fbs_fail(msg, msglen, -EINVAL, "class of inode 0");
		if (e->klass.kind != FAMFS_DEV_DAX && e->klass.kind != FAMFS_DEV_BLOCK)
			return fbs_fail(msg, msglen, -EINVAL, "class kind %u is neither DAX (%d) nor block (%d)",
					e->klass.kind, FAMFS_DEV_DAX, FAMFS_DEV_BLOCK);
		return 0;
	case FAMFS_LOG_LINK:
		if (!e->link.parent)
			return fbs_fail(msg, msglen, -EINVAL, "link in parent inode 0");
		if (e->link.ino <= FAMFS_ROOT_INO)
			return fbs_fail(msg, msglen, -EINVAL, "link to inode %llu",
				    (unsigned long long)e->link.ino);
		return check_name(e->name, "name", msg, msglen);
	case FAMFS_LOG_CKPT:
		if (e->ckpt.max_ino < FAMFS_ROOT_INO)
			return fbs_fail(msg, msglen, -EINVAL, "checkpoint with inode %llu",
					(unsigned long long)e->ckpt.max_ino);
		return 0;
	case FAMFS_LOG_XATTR:
		if (!e->xattr.ino)
			return fbs_fail(msg, msglen, -EINVAL, "xattr of inode 0");
		if (e->xattr.flags & ~FAMFS_XATTR_F_REMOVE)
			return fbs_fail(msg, msglen, -EINVAL, "xattr flags %#x", e->xattr.flags);
		if (e->xattr.value_len > FAMFS_XATTR_VALUE_MAX)
			return fbs_fail(msg, msglen, -EINVAL, "xattr value of %u bytes, at most %u",
					e->xattr.value_len, FAMFS_XATTR_VALUE_MAX);
		if ((e->xattr.flags & FAMFS_XATTR_F_REMOVE) && e->xattr.value_len)
			return fbs_fail(msg, msglen, -EINVAL, "xattr removal with a value");
		if (e->xattr.value_len && !e->value)
			return fbs_fail(msg, msglen, -EINVAL, "xattr value missing");
		ret = famfs_mlog_xattr_name_check(e->name, msg, msglen);
		/* whatever the name's fault, in a log it breaks a rule */
		if (ret)
			return -EINVAL;
		/* the kernel trusts an ACL it reads back: only well-formed ones */
		if (famfs_acl_name(e->name) && !(e->xattr.flags & FAMFS_XATTR_F_REMOVE))
			return famfs_acl_check(e->value, e->xattr.value_len, msg, msglen);
		return 0;
	}
	return fbs_fail(msg, msglen, -EINVAL, "entry type %u", (unsigned int)e->type);
}

int famfs_mlog_xattr_name_check(const char *name, char *msg, size_t msglen)
{
	static const char *const prefixes[] = { "user.", "trusted." };
	size_t n = strnlen(name, FAMFS_XATTR_NAME_MAX + 1), i, p;

	if (n > FAMFS_XATTR_NAME_MAX)
		return fbs_fail(msg, msglen, -ERANGE, "xattr name longer than %d bytes",
				FAMFS_XATTR_NAME_MAX);
	/* POSIX ACLs: the kernel sends these two only with FUSE_POSIX_ACL */
	if (famfs_acl_name(name))
		return 0;
	if (!strncmp(name, "user.famfs.", 11))
		return fbs_fail(msg, msglen, -EOPNOTSUPP, "xattr name %s: user.famfs. is reserved",
				name);
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		p = strlen(prefixes[i]);
		if (strncmp(name, prefixes[i], p))
			continue;
		if (n == p)
			return fbs_fail(msg, msglen, -EINVAL, "xattr name %s: empty after its prefix",
					name);
		return 0;
	}
	return fbs_fail(msg, msglen, -EOPNOTSUPP, "xattr name %.40s: not user., trusted. or a POSIX ACL", name);
}

/* -------------------------------------------------------------------- */
/* Encoding */

static size_t extents_size(const struct famfs_mlog_entry *e)
{
	size_t n = (size_t)e->nsimple * sizeof(struct famfs_log_simple);
	__u32 i;

	for (i = 0; i < e->nileave; i++)
		n += sizeof(struct famfs_log_ileave) +
		     (size_t)e->ileave[i].nstrips * sizeof(struct famfs_log_strip);
	return n;
}

ssize_t famfs_mlog_entry_size(const struct famfs_mlog_entry *e)
{
	size_t n = HDR_SIZE;

	if (famfs_mlog_check(e, NULL, 0))
		return -EINVAL;
	switch (e->type) {
	case FAMFS_LOG_MKDIR:
	case FAMFS_LOG_CREATE:
	case FAMFS_LOG_SYMLINK:
		n += sizeof(struct famfs_log_mknod) + pad8(strlen(e->name)) +
		     pad8(strlen(e->target)) + extents_size(e);
		break;
	case FAMFS_LOG_ALLOC:
		n += sizeof(struct famfs_log_alloc) + extents_size(e);
		break;
	case FAMFS_LOG_PUNCH:
		n += sizeof(struct famfs_log_punch);
		break;
	case FAMFS_LOG_SETATTR:
		n += sizeof(struct famfs_log_setattr);
		break;
	case FAMFS_LOG_RENAME:
		n += sizeof(struct famfs_log_rename) + pad8(strlen(e->name) + strlen(e->new_name));
		break;
	case FAMFS_LOG_DELETE:
		n += sizeof(struct famfs_log_delete) + pad8(strlen(e->name));
		break;
	case FAMFS_LOG_DEVADD:
		n += sizeof(struct famfs_log_devadd);
		break;
	case FAMFS_LOG_STRIPE:
		n += sizeof(struct famfs_log_stripe);
		break;
	case FAMFS_LOG_CLASS:
		n += sizeof(struct famfs_log_class);
		break;
	case FAMFS_LOG_LINK:
		n += sizeof(struct famfs_log_link) + pad8(strlen(e->name));
		break;
	case FAMFS_LOG_CKPT:
		n += sizeof(struct famfs_log_ckpt);
		break;
	case FAMFS_LOG_XATTR:
		n += sizeof(struct famfs_log_xattr) + pad8(strlen(e->name) + e->xattr.value_len);
		break;
	}
	return n;
}

/* A cursor over an output buffer already known to be large enough. */
struct wr {
	unsigned char *p;
	size_t pos;
};

static void wr_put(struct wr *w, const void *src, size_t n)
{
	memcpy(w->p + w->pos, src, n);
	w->pos += n;
}

static void wr_pad(struct wr *w)
{
	size_t n = pad8(w->pos) - w->pos;

	memset(w->p + w->pos, 0, n);
	w->pos += n;
}

static struct famfs_log_time time_to_media(const struct famfs_mlog_time *t)
{
	struct famfs_log_time m = {
		.sec = htole64((__u64)t->sec),
		.nsec = htole32(t->nsec),
	};

	return m;
}

static void dev_to_media(struct famfs_dev_entry *m, const struct famfs_mlog_dev *d)
{
	memset(m, 0, sizeof(*m));
	memcpy(m->uuid, d->uuid, sizeof(m->uuid));
	m->size = htole64(d->size);
	m->data_off = htole64(d->data_off);
	m->kind = htole32(d->kind);
}

static void wr_extents(struct wr *w, const struct famfs_mlog_entry *e)
{
	__u32 i, s;

	for (i = 0; i < e->nsimple; i++) {
		const struct fmap_simple_ext *x = &e->simple[i];
		struct famfs_log_simple m = {
			.file_off = htole64(x->file_off),
			.len = htole64(x->len),
			.dev_off = htole64(x->dev_off),
			.dev = htole32(x->dev),
		};

		wr_put(w, &m, sizeof(m));
	}
	for (i = 0; i < e->nileave; i++) {
		const struct fmap_ileave_ext *ie = &e->ileave[i];
		struct famfs_log_ileave m = {
			.file_off = htole64(ie->file_off),
			.len = htole64(ie->len),
			.nstrips = (__u8)ie->nstrips,
			.chunk_shift = ie->chunk_shift,
		};

		wr_put(w, &m, sizeof(m));
		for (s = 0; s < ie->nstrips; s++) {
			struct famfs_log_strip st = {
				.dev_off = htole64(ie->strips[s].dev_off),
				.dev = htole32(ie->strips[s].dev),
			};

			wr_put(w, &st, sizeof(st));
		}
	}
}

/* bytes this thread's log checks ran through crc32c(): famfs_mlog_crc_bytes() */
static _Thread_local __u64 crc_bytes;

__u64 famfs_mlog_crc_bytes(void)
{
	return crc_bytes;
}

static __u32 entry_crc(const __u8 *uuid, const unsigned char *entry, size_t len)
{
	__u32 crc = crc32c(0, uuid, FAMFS_UUID_SIZE);

	crc_bytes += FAMFS_UUID_SIZE + len - (HDR_SIZE - HDR_CRC_LEN);

	crc = crc32c(crc, entry, HDR_CRC_LEN);
	return crc32c(crc, entry + HDR_SIZE, len - HDR_SIZE);
}

ssize_t famfs_mlog_encode(const struct famfs_mlog_entry *e,
			  const __u8 uuid[FAMFS_UUID_SIZE], __u64 seq,
			  void *buf, size_t cap)
{
	struct famfs_log_entry_hdr h = { 0 };
	struct wr w = { .p = buf, .pos = HDR_SIZE };
	ssize_t len = famfs_mlog_entry_size(e);

	if (len < 0 || !seq)
		return -EINVAL;
	if ((size_t)len > cap)
		return -ENOSPC;

	switch (e->type) {
	case FAMFS_LOG_MKDIR:
	case FAMFS_LOG_CREATE:
	case FAMFS_LOG_SYMLINK: {
		struct famfs_log_mknod m = {
			.parent = htole64(e->mknod.parent),
			.ino = htole64(e->mknod.ino),
			.size = htole64(e->mknod.size),
			.time = time_to_media(&e->mknod.time),
			.mode = htole32(e->mknod.mode),
			.uid = htole32(e->mknod.uid),
			.gid = htole32(e->mknod.gid),
			.name_len = htole16((__u16)strlen(e->name)),
			.nsimple = htole32(e->nsimple),
			.nileave = htole32(e->nileave),
		};

		wr_put(&w, &m, sizeof(m));
		wr_put(&w, e->name, strlen(e->name));
		wr_pad(&w);
		wr_put(&w, e->target, strlen(e->target));
		wr_pad(&w);
		wr_extents(&w, e);
		break;
	}
	case FAMFS_LOG_ALLOC: {
		struct famfs_log_alloc m = {
			.ino = htole64(e->alloc.ino),
			.nsimple = htole32(e->nsimple),
			.nileave = htole32(e->nileave),
		};

		wr_put(&w, &m, sizeof(m));
		wr_extents(&w, e);
		break;
	}
	case FAMFS_LOG_PUNCH: {
		struct famfs_log_punch m = {
			.ino = htole64(e->punch.ino),
			.off = htole64(e->punch.off),
			.len = htole64(e->punch.len),
		};

		wr_put(&w, &m, sizeof(m));
		break;
	}
	case FAMFS_LOG_SETATTR: {
		struct famfs_log_setattr m = {
			.ino = htole64(e->setattr.ino),
			.valid = htole32(e->setattr.valid),
			.mode = htole32(e->setattr.mode),
			.uid = htole32(e->setattr.uid),
			.gid = htole32(e->setattr.gid),
			.size = htole64(e->setattr.size),
			.atime = time_to_media(&e->setattr.atime),
			.mtime = time_to_media(&e->setattr.mtime),
			.ctime = time_to_media(&e->setattr.ctime),
		};

		wr_put(&w, &m, sizeof(m));
		break;
	}
	case FAMFS_LOG_RENAME: {
		struct famfs_log_rename m = {
			.old_parent = htole64(e->rename.old_parent),
			.new_parent = htole64(e->rename.new_parent),
			.ino = htole64(e->rename.ino),
			.flags = htole32(e->rename.flags),
			.old_name_len = htole16((__u16)strlen(e->name)),
			.new_name_len = htole16((__u16)strlen(e->new_name)),
		};

		wr_put(&w, &m, sizeof(m));
		wr_put(&w, e->name, strlen(e->name));
		wr_put(&w, e->new_name, strlen(e->new_name));
		wr_pad(&w);
		break;
	}
	case FAMFS_LOG_DELETE: {
		struct famfs_log_delete m = {
			.parent = htole64(e->del.parent),
			.ino = htole64(e->del.ino),
			.flags = htole32(e->del.flags),
			.name_len = htole16((__u16)strlen(e->name)),
		};

		wr_put(&w, &m, sizeof(m));
		wr_put(&w, e->name, strlen(e->name));
		wr_pad(&w);
		break;
	}
	case FAMFS_LOG_DEVADD: {
		struct famfs_log_devadd m = { .index = htole32(e->devadd.index) };

		dev_to_media(&m.dev, &e->devadd.dev);
		wr_put(&w, &m, sizeof(m));
		break;
	}
	case FAMFS_LOG_STRIPE: {
		/* famfs_mlog_check() bounded both to a byte */
		struct famfs_log_stripe m = {
			.ino = htole64(e->stripe.ino),
			.nstrips = (__u8)e->stripe.nstrips,
			.chunk_shift = (__u8)e->stripe.chunk_shift,
		};

		wr_put(&w, &m, sizeof(m));
		break;
	}
	case FAMFS_LOG_CLASS: {
		struct famfs_log_class m = {
			.ino = htole64(e->klass.ino),
			.kind = htole32(e->klass.kind),
		};

		wr_put(&w, &m, sizeof(m));
		break;
	}
	case FAMFS_LOG_LINK: {
		struct famfs_log_link m = {
			.parent = htole64(e->link.parent),
			.ino = htole64(e->link.ino),
			.name_len = htole16((__u16)strlen(e->name)),
		};

		wr_put(&w, &m, sizeof(m));
		wr_put(&w, e->name, strlen(e->name));
		wr_pad(&w);
		break;
	}
	case FAMFS_LOG_CKPT: {
		struct famfs_log_ckpt m = { .max_ino = htole64(e->ckpt.max_ino) };

		wr_put(&w, &m, sizeof(m));
		break;
	}
	case FAMFS_LOG_XATTR: {
		/* famfs_mlog_check() bounded both lengths below 2^16 */
		struct famfs_log_xattr m = {
			.ino = htole64(e->xattr.ino),
			.flags = htole16((__u16)e->xattr.flags),
			.name_len = htole16((__u16)strlen(e->name)),
			.value_len = htole16((__u16)e->xattr.value_len),
		};

		wr_put(&w, &m, sizeof(m));
		wr_put(&w, e->name, strlen(e->name));
		if (e->xattr.value_len)
			wr_put(&w, e->value, e->xattr.value_len);
		wr_pad(&w);
		break;
	}
	}
	if (w.pos != (size_t)len)	/* entry_size() and the encoder disagree */
		return -EINVAL;

	h.magic = htole32(FAMFS_ENTRY_MAGIC);
	h.type = htole16((__u16)e->type);
	h.seq = htole64(seq);
	h.len = htole32((__u32)len);
	memcpy(buf, &h, sizeof(h));
	h.crc = htole32(entry_crc(uuid, buf, len));
	memcpy(buf, &h, sizeof(h));
	return len;
}

/* -------------------------------------------------------------------- */
/* Decoding */

/* A cursor over an entry's bytes; positions count from the entry start. */
struct rd {
	const unsigned char *p;
	size_t pos;
	size_t end;
};

static bool rd_take(struct rd *r, void *dst, size_t n)
{
	if (r->end - r->pos < n)
		return false;
	memcpy(dst, r->p + r->pos, n);
	r->pos += n;
	return true;
}

/* Padding to 8 bytes: present and zero. */
static bool rd_pad(struct rd *r)
{
	size_t n = pad8(r->pos) - r->pos;

	if (r->end - r->pos < n || !all_zero(r->p + r->pos, n))
		return false;
	r->pos += n;
	return true;
}

/* @n bytes of a name or target into a NUL-terminated @dst; no NUL inside. */
static int rd_string(struct rd *r, char *dst, size_t n, const char *what,
		     char *msg, size_t msglen)
{
	if (r->end - r->pos < n)
		return fbs_fail(msg, msglen, -EINVAL, "%s runs past the entry end", what);
	if (memchr(r->p + r->pos, '\0', n))
		return fbs_fail(msg, msglen, -EINVAL, "%s contains a NUL byte", what);
	memcpy(dst, r->p + r->pos, n);
	dst[n] = '\0';
	r->pos += n;
	return 0;
}

/* A name of @len bytes on the media (1 to FAMFS_NAME_MAX), into @dst */
static int rd_name(struct rd *r, __u16 len, char *dst, char *msg, size_t msglen)
{
	if (!len || len > FAMFS_NAME_MAX)
		return fbs_fail(msg, msglen, -EINVAL, "name length %u", len);
	return rd_string(r, dst, len, "name", msg, msglen);
}

static struct famfs_mlog_time time_from_media(const struct famfs_log_time *m)
{
	struct famfs_mlog_time t = {
		.sec = (__s64)le64toh(m->sec),
		.nsec = le32toh(m->nsec),
	};

	return t;
}

static int grow(void **arr, __u32 *cap, __u32 need, size_t elem)
{
	__u32 n = 8;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*arr, (size_t)n * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

static int rd_extents(struct rd *r, struct famfs_mlog_entry *e, __u32 nsimple,
		      __u32 nileave, char *msg, size_t msglen)
{
	__u32 i, s;

	/* bound the counts before sizing anything by them */
	if (nsimple > FAMFS_LOG_MAX_SIMPLE || nileave > FAMFS_LOG_MAX_ILEAVE)
		return fbs_fail(msg, msglen, -EINVAL,
			    "%u simple and %u interleaved extents, at most %d and %d",
			    nsimple, nileave, FAMFS_LOG_MAX_SIMPLE, FAMFS_LOG_MAX_ILEAVE);
	if ((size_t)nsimple * sizeof(struct famfs_log_simple) +
	    (size_t)nileave * sizeof(struct famfs_log_ileave) > r->end - r->pos)
		return fbs_fail(msg, msglen, -EINVAL, "extent counts run past the entry end");
	if (grow((void **)&e->simple, &e->simple_cap, nsimple, sizeof(*e->simple)) ||
	    grow((void **)&e->ileave, &e->ileave_cap, nileave, sizeof(*e->ileave)))
		return fbs_fail(msg, msglen, -ENOMEM, "out of memory for %u extents",
			    nsimple + nileave);

	for (i = 0; i < nsimple; i++) {
		struct famfs_log_simple m;

		if (!rd_take(r, &m, sizeof(m)))
			return fbs_fail(msg, msglen, -EINVAL, "simple extent %u runs past the entry end", i);
		if (m.pad)
			return fbs_fail(msg, msglen, -EINVAL, "simple extent %u: padding not zero", i);
		e->simple[i] = (struct fmap_simple_ext) {
			.file_off = le64toh(m.file_off),
			.len = le64toh(m.len),
			.dev_off = le64toh(m.dev_off),
			.dev = le32toh(m.dev),
		};
	}
	for (i = 0; i < nileave; i++) {
		struct fmap_ileave_ext *ie = &e->ileave[i];
		struct famfs_log_ileave m;

		if (!rd_take(r, &m, sizeof(m)))
			return fbs_fail(msg, msglen, -EINVAL,
				    "interleaved extent %u runs past the entry end", i);
		if (!all_zero(m.pad, sizeof(m.pad)))
			return fbs_fail(msg, msglen, -EINVAL,
				    "interleaved extent %u: padding not zero", i);
		if (!m.nstrips || m.nstrips > FAMFS_LOG_MAX_STRIPS)
			return fbs_fail(msg, msglen, -EINVAL,
				    "interleaved extent %u: %u strips (1 to %d)",
				    i, m.nstrips, FAMFS_LOG_MAX_STRIPS);
		memset(ie, 0, sizeof(*ie));
		ie->file_off = le64toh(m.file_off);
		ie->len = le64toh(m.len);
		ie->nstrips = m.nstrips;
		ie->chunk_shift = m.chunk_shift;
		for (s = 0; s < m.nstrips; s++) {
			struct famfs_log_strip st;

			if (!rd_take(r, &st, sizeof(st)))
				return fbs_fail(msg, msglen, -EINVAL,
					    "interleaved extent %u: strip %u runs past the entry end",
					    i, s);
			if (st.pad)
				return fbs_fail(msg, msglen, -EINVAL,
					    "interleaved extent %u: strip %u padding not zero", i, s);
			ie->strips[s].dev_off = le64toh(st.dev_off);
			ie->strips[s].dev = le32toh(st.dev);
		}
	}
	e->nsimple = nsimple;
	e->nileave = nileave;
	return 0;
}

static int rd_payload(struct rd *r, struct famfs_mlog_entry *e, char *msg, size_t msglen)
{
	int ret;

	switch (e->type) {
	case FAMFS_LOG_MKDIR:
	case FAMFS_LOG_CREATE:
	case FAMFS_LOG_SYMLINK: {
		struct famfs_log_mknod m;

		if (!rd_take(r, &m, sizeof(m)))
			break;
		if (m.pad || m.time.pad)
			return fbs_fail(msg, msglen, -EINVAL, "padding not zero");
		e->mknod.parent = le64toh(m.parent);
		e->mknod.ino = le64toh(m.ino);
		e->mknod.size = le64toh(m.size);
		e->mknod.time = time_from_media(&m.time);
		e->mknod.mode = le32toh(m.mode);
		e->mknod.uid = le32toh(m.uid);
		e->mknod.gid = le32toh(m.gid);
		ret = rd_name(r, le16toh(m.name_len), e->name, msg, msglen);
		if (ret)
			return ret;
		if (!rd_pad(r))
			break;
		if (e->type == FAMFS_LOG_SYMLINK) {
			if (!e->mknod.size || e->mknod.size > FAMFS_SYMLINK_MAX)
				return fbs_fail(msg, msglen, -EINVAL, "symlink target length %llu",
					    (unsigned long long)e->mknod.size);
			ret = rd_string(r, e->target, e->mknod.size, "symlink target",
					msg, msglen);
			if (ret)
				return ret;
			if (!rd_pad(r))
				break;
		}
		if (e->type != FAMFS_LOG_CREATE && (m.nsimple || m.nileave))
			return fbs_fail(msg, msglen, -EINVAL, "%s with extents",
				    famfs_mlog_type_name(e->type));
		return rd_extents(r, e, le32toh(m.nsimple), le32toh(m.nileave), msg, msglen);
	}
	case FAMFS_LOG_ALLOC: {
		struct famfs_log_alloc m;

		if (!rd_take(r, &m, sizeof(m)))
			break;
		e->alloc.ino = le64toh(m.ino);
		return rd_extents(r, e, le32toh(m.nsimple), le32toh(m.nileave), msg, msglen);
	}
	case FAMFS_LOG_PUNCH: {
		struct famfs_log_punch m;

		if (!rd_take(r, &m, sizeof(m)))
			break;
		e->punch.ino = le64toh(m.ino);
		e->punch.off = le64toh(m.off);
		e->punch.len = le64toh(m.len);
		return 0;
	}
	case FAMFS_LOG_SETATTR: {
		struct famfs_log_setattr m;

		if (!rd_take(r, &m, sizeof(m)))
			break;
		if (m.atime.pad || m.mtime.pad || m.ctime.pad)
			return fbs_fail(msg, msglen, -EINVAL, "padding not zero");
		e->setattr.ino = le64toh(m.ino);
		e->setattr.valid = le32toh(m.valid);
		e->setattr.mode = le32toh(m.mode);
		e->setattr.uid = le32toh(m.uid);
		e->setattr.gid = le32toh(m.gid);
		e->setattr.size = le64toh(m.size);
		e->setattr.atime = time_from_media(&m.atime);
		e->setattr.mtime = time_from_media(&m.mtime);
		e->setattr.ctime = time_from_media(&m.ctime);
		return 0;
	}
	case FAMFS_LOG_RENAME: {
		struct famfs_log_rename m;
		__u16 old_len, new_len;

		if (!rd_take(r, &m, sizeof(m)))
			break;
		old_len = le16toh(m.old_name_len);
		new_len = le16toh(m.new_name_len);
		if (!old_len || old_len > FAMFS_NAME_MAX || !new_len || new_len > FAMFS_NAME_MAX)
			return fbs_fail(msg, msglen, -EINVAL, "name lengths %u and %u",
				    old_len, new_len);
		e->rename.old_parent = le64toh(m.old_parent);
		e->rename.new_parent = le64toh(m.new_parent);
		e->rename.ino = le64toh(m.ino);
		e->rename.flags = le32toh(m.flags);
		ret = rd_string(r, e->name, old_len, "old name", msg, msglen);
		if (!ret)
			ret = rd_string(r, e->new_name, new_len, "new name", msg, msglen);
		if (ret)
			return ret;
		if (!rd_pad(r))
			break;
		return 0;
	}
	case FAMFS_LOG_DELETE: {
		struct famfs_log_delete m;

		if (!rd_take(r, &m, sizeof(m)))
			break;
		if (m.pad)
			return fbs_fail(msg, msglen, -EINVAL, "padding not zero");
		e->del.parent = le64toh(m.parent);
		e->del.ino = le64toh(m.ino);
		e->del.flags = le32toh(m.flags);
		ret = rd_name(r, le16toh(m.name_len), e->name, msg, msglen);
		if (ret)
			return ret;
		if (!rd_pad(r))
			break;
		return 0;
	}
	case FAMFS_LOG_DEVADD: {
		struct famfs_log_devadd m;

		if (!rd_take(r, &m, sizeof(m)))
			break;
		if (m.pad || m.dev.flags || !all_zero(m.dev.reserved, sizeof(m.dev.reserved)))
			return fbs_fail(msg, msglen, -EINVAL, "reserved bytes not zero");
		e->devadd.index = le32toh(m.index);
		memcpy(e->devadd.dev.uuid, m.dev.uuid, sizeof(m.dev.uuid));
		e->devadd.dev.size = le64toh(m.dev.size);
		e->devadd.dev.data_off = le64toh(m.dev.data_off);
		e->devadd.dev.kind = le32toh(m.dev.kind);
		return 0;
	}
	case FAMFS_LOG_STRIPE: {
		struct famfs_log_stripe m;

		if (!rd_take(r, &m, sizeof(m)))
			break;
		if (!all_zero(m.pad, sizeof(m.pad)))
			return fbs_fail(msg, msglen, -EINVAL, "padding not zero");
		e->stripe.ino = le64toh(m.ino);
		e->stripe.nstrips = m.nstrips;
		e->stripe.chunk_shift = m.chunk_shift;
		return 0;
	}
	case FAMFS_LOG_CLASS: {
		struct famfs_log_class m;

		if (!rd_take(r, &m, sizeof(m)))
			break;
		if (m.pad)
			return fbs_fail(msg, msglen, -EINVAL, "padding not zero");
		e->klass.ino = le64toh(m.ino);
		e->klass.kind = le32toh(m.kind);
		return 0;
	}
	case FAMFS_LOG_LINK: {
		struct famfs_log_link m;

		if (!rd_take(r, &m, sizeof(m)))
			break;
		if (!all_zero(m.pad, sizeof(m.pad)))
			return fbs_fail(msg, msglen, -EINVAL, "padding not zero");
		e->link.parent = le64toh(m.parent);
		e->link.ino = le64toh(m.ino);
		ret = rd_name(r, le16toh(m.name_len), e->name, msg, msglen);
		if (ret)
			return ret;
		if (!rd_pad(r))
			break;
		return 0;
	}
	case FAMFS_LOG_CKPT: {
		struct famfs_log_ckpt m;

		if (!rd_take(r, &m, sizeof(m)))
			break;
		if (m.reserved)
			return fbs_fail(msg, msglen, -EINVAL, "reserved field not zero");
		e->ckpt.max_ino = le64toh(m.max_ino);
		return 0;
	}
	case FAMFS_LOG_XATTR: {
		struct famfs_log_xattr m;
		__u16 name_len, value_len;

		if (!rd_take(r, &m, sizeof(m)))
			break;
		if (m.pad)
			return fbs_fail(msg, msglen, -EINVAL, "padding not zero");
		name_len = le16toh(m.name_len);
		value_len = le16toh(m.value_len);
		/* bound the lengths before sizing anything by them */
		if (!name_len || name_len > FAMFS_XATTR_NAME_MAX)
			return fbs_fail(msg, msglen, -EINVAL, "xattr name length %u", name_len);
		if (value_len > FAMFS_XATTR_VALUE_MAX)
			return fbs_fail(msg, msglen, -EINVAL, "xattr value length %u, at most %u",
					value_len, FAMFS_XATTR_VALUE_MAX);
		e->xattr.ino = le64toh(m.ino);
		e->xattr.flags = le16toh(m.flags);
		e->xattr.value_len = value_len;
		ret = rd_string(r, e->name, name_len, "xattr name", msg, msglen);
		if (ret)
			return ret;
		if (r->end - r->pos < value_len)
			return fbs_fail(msg, msglen, -EINVAL, "xattr value runs past the entry end");
		if (grow((void **)&e->value, &e->value_cap, value_len ? value_len : 1, 1))
			return fbs_fail(msg, msglen, -ENOMEM, "out of memory");
		rd_take(r, e->value, value_len);
		if (!rd_pad(r))
			break;
		return 0;
	}
	}
	return fbs_fail(msg, msglen, -EINVAL, "payload runs past the entry end or padding not zero");
}

void famfs_mlog_entry_init(struct famfs_mlog_entry *e)
{
	memset(e, 0, sizeof(*e));
}

void famfs_mlog_entry_release(struct famfs_mlog_entry *e)
{
	free(e->simple);
	free(e->ileave);
	free(e->value);
	famfs_mlog_entry_init(e);
}

/* Zero a decode target but keep the arrays it grew. */
/*
 * Empty @e for the next decode, keeping its arrays.  The fields before the
 * names are zeroed and the strings emptied, not the whole entry: it is
 * 4.7 KB (the symlink target), which was 470 MB of stores for a log of
 * 100,000 entries.  Bytes after a string's NUL are left as they were.
 */
_Static_assert(offsetof(struct famfs_mlog_entry, nsimple) ==
	       offsetof(struct famfs_mlog_entry, target) + FAMFS_SYMLINK_MAX + 1,
	       "entry_clear(): nothing between the strings and the extent counts");
static void entry_clear(struct famfs_mlog_entry *e)
{
	memset(e, 0, offsetof(struct famfs_mlog_entry, name));
	e->name[0] = e->new_name[0] = e->target[0] = '\0';
	e->nsimple = e->nileave = 0;
}

/*
 * famfs_mlog_decode(), telling also whether the entry was intact (magic,
 * length and CRC good): a failure before that may be a torn write.
 */
static ssize_t decode(const void *buf, size_t avail, const __u8 *uuid, __u64 seq,
		      struct famfs_mlog_entry *e, bool *intact, char *msg, size_t msglen)
{
	static const __u8 no_uuid[FAMFS_UUID_SIZE];
	struct famfs_log_entry_hdr h;
	struct rd r = { .p = buf, .pos = HDR_SIZE };
	__u32 len, type;
	int ret;

	*intact = false;
	entry_clear(e);
	if (!uuid)
		uuid = no_uuid;
	if (avail < HDR_SIZE)
		return fbs_fail(msg, msglen, -EBADMSG, "%zu bytes left, less than an entry header",
			    avail);
	memcpy(&h, buf, sizeof(h));
	if (le32toh(h.magic) != FAMFS_ENTRY_MAGIC)
		return fbs_fail(msg, msglen, -EBADMSG, "bad entry magic %#x", le32toh(h.magic));
	len = le32toh(h.len);
	if (len < HDR_SIZE + 8 || len % 8 || len > FAMFS_LOG_MAX_ENTRY)
		return fbs_fail(msg, msglen, -EBADMSG, "bad entry length %u", len);
	if (len > avail)
		return fbs_fail(msg, msglen, -EBADMSG,
			    "entry length %u runs past the log end (%zu bytes left)", len, avail);
	if (le32toh(h.crc) != entry_crc(uuid, buf, len))
		return fbs_fail(msg, msglen, -EBADMSG, "entry CRC mismatch");
	*intact = true;

	if (seq && le64toh(h.seq) != seq)
		return fbs_fail(msg, msglen, -EBADMSG, "sequence number %llu, expected %llu",
			    (unsigned long long)le64toh(h.seq), (unsigned long long)seq);
	type = le16toh(h.type);
	if (!type || type > FAMFS_LOG_TYPE_MAX || h.flags)
		return fbs_fail(msg, msglen, -EPROTONOSUPPORT,
			    "entry type %u flags %#x unknown to this famfs-bpf (format version %d, types 1..%d): written by a newer version?",
			    type, le16toh(h.flags), FAMFS_FORMAT_VERSION, FAMFS_LOG_TYPE_MAX);
	e->type = type;
	e->seq = le64toh(h.seq);
	r.end = len;
	ret = rd_payload(&r, e, msg, msglen);
	if (ret)
		return ret;
	if (!rd_pad(&r) || r.pos != r.end)
		return fbs_fail(msg, msglen, -EINVAL, "%zu bytes after the payload", r.end - r.pos);
	ret = famfs_mlog_check(e, msg, msglen);
	if (ret)
		return ret;
	return len;
}

ssize_t famfs_mlog_decode(const void *buf, size_t avail,
			  const __u8 uuid[FAMFS_UUID_SIZE], __u64 seq,
			  struct famfs_mlog_entry *e, char *msg, size_t msglen)
{
	bool intact;

	return decode(buf, avail, uuid, seq, e, &intact, msg, msglen);
}

/* -------------------------------------------------------------------- */
/* The log: header, replay, appends */

/* The offset of the last non-zero byte of [from, len); @from if none. */
static size_t last_nonzero(const unsigned char *p, size_t from, size_t len)
{
	while (len > from && !p[len - 1])
		len--;
	return len > from ? len - 1 : from;
}

/*
 * CRC32C arithmetic (zlib's crc32_combine(), with the Castagnoli
 * polynomial): a CRC is a polynomial over GF(2) modulo P, reflected, so
 * x^0 is bit 31.  For byte strings A and B,
 *
 *	crc(A || B) = crc(A) * x^(8 |B|) + crc(B)	(mod P),
 *
 * whatever the pre- and post-inversion, which cancel.
 */
#define CRC32C_POLY	0x82f63b78U

/* a * b modulo P; @a nonzero */
static __u32 multmodp(__u32 a, __u32 b)
{
	__u32 m = 1U << 31, prod = 0;

	for (;;) {
		if (a & m) {
			prod ^= b;
			if (!(a & (m - 1)))
				break;
		}
		m >>= 1;
		b = b & 1 ? (b >> 1) ^ CRC32C_POLY : b >> 1;
	}
	return prod;
}

/* x^(8 n) modulo P, from @x2n: x2n[k] = x^(2^k) */
static __u32 x8nmodp(const __u32 *x2n, size_t n)
{
	__u32 prod = 1U << 31;
	unsigned int k = 3;

	for (; n; n >>= 1, k++)
		if (n & 1)
			prod = multmodp(x2n[k & 31], prod);
	return prod;
}

/*
 * Is there an intact entry (magic, length, CRC; any sequence) at an
 * 8-byte step in [from, to)?  A failed entry whose claimed length covers
 * one is corruption in the middle of the log, not a torn last append.
 *
 * Linear work, whatever the bytes: checking each candidate's CRC alone
 * would be quadratic (the magic at every other word, each claiming a
 * megabyte, is 64 GiB of CRC).  Instead one pass keeps the CRC of every
 * prefix [base, base + 8 i) of the bytes the candidates cover, and a
 * candidate's payload CRC comes from two prefixes and one shift:
 *
 *	crc(W) = pre(b) + pre(a) * x^(8 (b - a)),  W = [a, b),
 *	entry crc = crc(uuid, header) * x^(8 |W|) + crc(W).
 *
 * So the CRC runs over each byte once, plus 36 bytes (uuid and header)
 * a candidate, and a candidate costs O(log |W|) multiplications modulo P.
 */
static bool intact_entry_in(const unsigned char *p, size_t len, size_t from,
			    size_t to, const __u8 *uuid)
{
	struct famfs_log_entry_hdr h;
	size_t off, base = 0, end = 0, i;
	__u32 x2n[32], *pre, seed;
	bool found = false;

	/* which words could start an entry, and how far the last reaches */
	for (off = from; off < to && len - off >= HDR_SIZE; off += 8) {
		__u32 elen;

		memcpy(&h, p + off, sizeof(h));
		elen = le32toh(h.len);
		if (le32toh(h.magic) != FAMFS_ENTRY_MAGIC || elen < HDR_SIZE + 8 || elen % 8 ||
		    elen > FAMFS_LOG_MAX_ENTRY || elen > len - off)
			continue;
		if (!end)
			base = off;
		if (off + elen > end)
			end = off + elen;
	}
	if (!end)
		return false;
	/* end - base <= (to - from) + FAMFS_LOG_MAX_ENTRY */
	pre = malloc(((end - base) / 8 + 1) * sizeof(*pre));
	if (!pre)
		return true;	/* cannot tell: corruption, refusing, not a torn tail */
	pre[0] = 0;
	for (i = 0; i < (end - base) / 8; i++)
		pre[i + 1] = crc32c(pre[i], p + base + 8 * i, 8);
	crc_bytes += end - base;
	x2n[0] = 1U << 30;	/* x^1 */
	for (i = 1; i < 32; i++)
		x2n[i] = multmodp(x2n[i - 1], x2n[i - 1]);
	seed = crc32c(0, uuid, FAMFS_UUID_SIZE);
	for (off = base; off < to && len - off >= HDR_SIZE && !found; off += 8) {
		size_t a = (off + HDR_SIZE - base) / 8, b;
		__u32 elen, head, crc;

		memcpy(&h, p + off, sizeof(h));
		elen = le32toh(h.len);
		if (le32toh(h.magic) != FAMFS_ENTRY_MAGIC || elen < HDR_SIZE + 8 || elen % 8 ||
		    elen > FAMFS_LOG_MAX_ENTRY || elen > len - off)
			continue;
		b = (off + elen - base) / 8;
		head = crc32c(seed, p + off, HDR_CRC_LEN);
		crc_bytes += FAMFS_UUID_SIZE + HDR_CRC_LEN;
		crc = multmodp(x8nmodp(x2n, elen - HDR_SIZE), head ^ pre[a]) ^ pre[b];
		found = le32toh(h.crc) == crc;
	}
	free(pre);
	return found;
}

static __u32 header_crc(const struct famfs_log_header *h)
{
	return crc32c(0, h, offsetof(struct famfs_log_header, crc));
}

int famfs_mlog_header(void *hdr, size_t len, const __u8 uuid[FAMFS_UUID_SIZE],
		      __u64 first_seq, __u32 generation)
{
	struct famfs_log_header h = {
		.magic = htole64(FAMFS_LOG_MAGIC),
		.version = htole32(FAMFS_FORMAT_VERSION),
		.hdr_size = htole32(sizeof(h)),
		.log_len = htole64(len),
		.first_seq = htole64(first_seq),
		.flags = htole32(generation ? FAMFS_LOG_F_HALF : 0),
		.generation = htole32(generation),
	};

	if (len < sizeof(h) || len % 8 || !first_seq)
		return -EINVAL;
	memcpy(h.fs_uuid, uuid, sizeof(h.fs_uuid));
	h.crc = htole32(header_crc(&h));
	memcpy(hdr, &h, sizeof(h));
	return 0;
}

int famfs_mlog_format(void *log, size_t len, const __u8 uuid[FAMFS_UUID_SIZE],
		      __u64 first_seq)
{
	if (len < sizeof(struct famfs_log_header) || len % 8 || !first_seq)
		return -EINVAL;
	memset(log, 0, len);
	return famfs_mlog_header(log, len, uuid, first_seq, 0);
}

static int check_header(const void *log, size_t len, const __u8 *uuid,
			__u8 *log_uuid, struct famfs_mlog_result *res)
{
	struct famfs_log_header h;
	char *msg = res->msg;
	size_t ml = sizeof(res->msg);

	if (len < sizeof(h))
		return fbs_fail(msg, ml, -EINVAL, "log region of %zu bytes is smaller than a log header",
			    len);
	memcpy(&h, log, sizeof(h));
	if (le64toh(h.magic) != FAMFS_LOG_MAGIC)
		return fbs_fail(msg, ml, -EBADMSG, "log offset 0: no log header (bad magic)");
	if (le32toh(h.crc) != header_crc(&h))
		return fbs_fail(msg, ml, -EBADMSG, "log offset 0: log header CRC mismatch");
	res->version = le32toh(h.version);
	if (res->version > FAMFS_FORMAT_VERSION || le32toh(h.flags) & ~FAMFS_LOG_F_HALF)
		return fbs_fail(msg, ml, -EPROTONOSUPPORT,
			    "log format version %u flags %#x: this famfs-bpf reads version %d; upgrade it",
			    res->version, le32toh(h.flags), FAMFS_FORMAT_VERSION);
	res->generation = le32toh(h.generation);
	if (!res->version || le32toh(h.hdr_size) != sizeof(h) || h.reserved ||
	    !h.first_seq || !res->generation != !(le32toh(h.flags) & FAMFS_LOG_F_HALF))
		return fbs_fail(msg, ml, -EBADMSG, "log offset 0: malformed log header");
	if (uuid && memcmp(uuid, h.fs_uuid, sizeof(h.fs_uuid)))
		return fbs_fail(msg, ml, -EINVAL,
			    "log offset 0: the log belongs to another file system (uuid differs)");
	/*
	 * A whole-region log (generation 0) may be read as its first half
	 * only: famfs_mlog_pick() does after a checkpoint that did not finish.
	 */
	if ((le64toh(h.log_len) != len &&
	     (h.generation || FAMFS_LOG_HALF(le64toh(h.log_len)) != len)) || len % 8)
		return fbs_fail(msg, ml, -EINVAL,
			    "log header says %llu bytes, the superblock %zu",
			    (unsigned long long)le64toh(h.log_len), len);
	memcpy(log_uuid, h.fs_uuid, sizeof(h.fs_uuid));
	res->next_seq = le64toh(h.first_seq);
	res->end_off = sizeof(h);
	return 0;
}

/* Extents of @e inside the devices they name, and DEVADD in order. */
/* The generation of a valid header of a log of @len bytes at @p, or -1. */
static long long header_gen(const void *p, size_t len, const __u8 *uuid)
{
	struct famfs_mlog_result r;
	__u8 u[FAMFS_UUID_SIZE];

	memset(&r, 0, sizeof(r));
	if (check_header(p, len, uuid, u, &r))
		return -1;
	return r.generation;
}

void famfs_mlog_pick(const void *region, size_t len, const __u8 uuid[FAMFS_UUID_SIZE],
		     struct famfs_mlog_area *a)
{
	const unsigned char *p = region;
	size_t half = FAMFS_LOG_HALF(len);
	struct famfs_mlog_result res;
	long long whole, ga, gb;

	*a = (struct famfs_mlog_area){ .off = 0, .len = len, .generation = 0 };
	if (half < 2 * sizeof(struct famfs_log_header))
		return;
	whole = header_gen(p, len, uuid);
	ga = header_gen(p, half, uuid);
	gb = header_gen(p + half, half, uuid);
	if (whole > 0)
		whole = -1;	/* a half's header, not a whole region's */
	if (ga < 1 && gb < 1) {
		/*
		 * A checkpoint into B that did not finish leaves B's header
		 * zero (it is zeroed first) and entries after it.  If A's own
		 * entries end before B, A is read as its first half: those
		 * bytes are not junk after A's end.
		 */
		if (whole == 0 && all_zero(p + half, sizeof(struct famfs_log_header)) &&
		    !all_zero(p + half, len - half)) {
			famfs_mlog_replay(region, len, uuid, NULL, NULL, NULL, &res);
			if (res.end_off <= half)
				a->len = half;
		}
		return;		/* the region's own log (or none: replay says why) */
	}
	if (gb < 1 || (ga >= 1 && ga >= gb)) {
		*a = (struct famfs_mlog_area){ .off = 0, .len = half, .generation = ga };
		return;
	}
	/*
	 * B holds the newer checkpoint, unless A is still a whole-region log
	 * whose entries run into B: then the bytes that read as B's header
	 * are a name or a symlink target inside one of A's entries, put
	 * there by a user.  A checkpoint is only written into B while A's
	 * log ends before it.
	 */
	if (whole == 0) {
		/* B's bytes read as junk after A's end: where A's entries end is what counts */
		famfs_mlog_replay(region, len, uuid, NULL, NULL, NULL, &res);
		if (res.end_off > half)
			return;
	}
	*a = (struct famfs_mlog_area){ .off = half, .len = half, .generation = gb };
}

static int check_devs(const struct famfs_mlog_entry *e, const struct famfs_mlog_devtab *devs,
		      char *msg, size_t msglen)
{
	__u32 i, s;

	if (e->type == FAMFS_LOG_DEVADD) {
		if (e->devadd.index != devs->ndevs)
			return fbs_fail(msg, msglen, -EINVAL, "device %u added, expected device %u",
				    e->devadd.index, devs->ndevs);
		return 0;
	}
	if (e->type == FAMFS_LOG_STRIPE)	/* the devices there are now */
		return famfs_mlog_stripe_check(e->stripe.nstrips, e->stripe.chunk_shift,
					       devs->ndevs, msg, msglen);
	for (i = 0; i < e->nsimple; i++) {
		const struct fmap_simple_ext *x = &e->simple[i];
		const struct famfs_mlog_dev *d;

		if (x->dev >= devs->ndevs)
			return fbs_fail(msg, msglen, -EINVAL,
				    "simple extent %u: no device %u", i, x->dev);
		d = &devs->devs[x->dev];
		if (x->dev_off < d->data_off || x->dev_off + x->len > d->size)
			return fbs_fail(msg, msglen, -EINVAL,
				    "simple extent %u is not in the data area of device %u", i, x->dev);
	}
	for (i = 0; i < e->nileave; i++) {
		const struct fmap_ileave_ext *ie = &e->ileave[i];

		for (s = 0; s < ie->nstrips; s++) {
			const struct fmap_strip *st = &ie->strips[s];
			const struct famfs_mlog_dev *d;

			if (st->dev >= devs->ndevs)
				return fbs_fail(msg, msglen, -EINVAL,
					    "interleaved extent %u: strip %u: no device %u",
					    i, s, st->dev);
			d = &devs->devs[st->dev];
			if (st->dev_off < d->data_off ||
			    st->dev_off + fmap_ileave_strip_bytes(ie, s) > d->size)
				return fbs_fail(msg, msglen, -EINVAL,
					    "interleaved extent %u: strip %u is not in the data area of device %u",
					    i, s, st->dev);
		}
	}
	return 0;
}

int famfs_mlog_replay(const void *log, size_t len,
		      const __u8 uuid[FAMFS_UUID_SIZE],
		      struct famfs_mlog_devtab *devs,
		      const struct famfs_mlog_ops *ops, void *ctx,
		      struct famfs_mlog_result *res)
{
	const unsigned char *p = log;
	__u8 log_uuid[FAMFS_UUID_SIZE];
	struct famfs_mlog_entry *e;
	char why[200];
	size_t off;
	int ret;

	memset(res, 0, sizeof(*res));
	res->tail = FAMFS_MLOG_CORRUPT;
	/* entries are checked against the header's uuid, which @uuid vouches for */
	res->err = check_header(log, len, uuid, log_uuid, res);
	if (res->err)
		return res->err;
	e = malloc(sizeof(*e));
	if (!e) {
		res->err = fbs_fail(res->msg, sizeof(res->msg), -ENOMEM, "out of memory");
		return res->err;
	}
	famfs_mlog_entry_init(e);

	for (off = res->end_off;; off = res->end_off) {
		size_t left = len - off;
		bool intact;
		ssize_t n;

		/* the end: an all-zero header, or no room for one */
		if (left < HDR_SIZE || all_zero(p + off, HDR_SIZE)) {
			size_t nz;

			if (all_zero(p + off, left)) {
				res->tail = FAMFS_MLOG_END;
				break;
			}
			/*
			 * The encoder writes the header last: an append cut
			 * short may leave payload bytes behind a zero header.
			 * Nothing further than one entry reaches and no
			 * intact entry among them: a torn append.
			 */
			nz = last_nonzero(p, off, len);
			if (nz - off < FAMFS_LOG_MAX_ENTRY &&
			    !intact_entry_in(p, len, off + 8, nz + 1, log_uuid)) {
				res->tail = FAMFS_MLOG_TORN;
				res->err = fbs_fail(res->msg, sizeof(res->msg), -EBADMSG,
						"log offset %zu (entry %llu): a zero entry header with %zu bytes after it (a torn append: nothing but zeros follows)",
						off, (unsigned long long)res->next_seq,
						nz + 1 - off);
				break;
			}
			res->err = fbs_fail(res->msg, sizeof(res->msg), -EBADMSG,
					"log offset %zu: non-zero bytes after the last entry (%llu entries applied)",
					off, (unsigned long long)res->entries);
			break;
		}
		if (!res->next_seq) {
			res->err = fbs_fail(res->msg, sizeof(res->msg), -EBADMSG,
					"log offset %zu: the sequence number wrapped", off);
			break;
		}
		n = decode(p + off, left, log_uuid, res->next_seq, e, &intact, why, sizeof(why));
		if (n < 0) {
			/*
			 * An append cut short (the writer makes each entry
			 * durable before the next) leaves one entry that
			 * fails its checks, nothing after its end, no intact
			 * entry inside it.  Its length field may be what was
			 * lost, so the end is at most FAMFS_LOG_MAX_ENTRY on.
			 */
			size_t nz = last_nonzero(p, off, len);

			if (!intact && nz - off < FAMFS_LOG_MAX_ENTRY &&
			    !intact_entry_in(p, len, off + 8, nz + 1, log_uuid))
				res->tail = FAMFS_MLOG_TORN;
			res->err = fbs_fail(res->msg, sizeof(res->msg), (int)n,
					"log offset %zu (entry %llu): %s%s", off,
					(unsigned long long)res->next_seq, why,
					res->tail == FAMFS_MLOG_TORN ?
					" (a torn append: nothing but zeros follows)" : "");
			break;
		}
		e->log_off = off;
		ret = devs ? check_devs(e, devs, why, sizeof(why)) : 0;
		if (!ret && ops && ops->apply) {
			ret = ops->apply(ctx, e);
			if (ret > 0)
				ret = -ret;
			if (ret)
				snprintf(why, sizeof(why), "refused by replay: %s", strerror(-ret));
		}
		if (ret) {
			res->err = fbs_fail(res->msg, sizeof(res->msg), ret,
					"log offset %zu (entry %llu, %s): %s", off,
					(unsigned long long)e->seq,
					famfs_mlog_type_name(e->type), why);
			break;
		}
		if (devs && e->type == FAMFS_LOG_DEVADD)
			devs->devs[devs->ndevs++] = e->devadd.dev;
		res->entries++;
		res->end_off = off + n;
		res->next_seq++;
	}
	famfs_mlog_entry_release(e);
	free(e);
	return res->err;
}

size_t famfs_mlog_count_hint(const void *log, size_t len)
{
	const unsigned char *p = log;
	struct famfs_log_entry_hdr h;
	size_t off, n = 0;
	__u32 elen;

	for (off = sizeof(struct famfs_log_header); len >= off && len - off >= HDR_SIZE;
	     off += elen, n++) {
		memcpy(&h, p + off, sizeof(h));
		elen = le32toh(h.len);
		if (le32toh(h.magic) != FAMFS_ENTRY_MAGIC || elen < HDR_SIZE + 8 || elen % 8)
			break;
	}
	return n;
}

int famfs_mlog_writer_init(struct famfs_mlog_writer *w, void *log, size_t len,
			   const __u8 uuid[FAMFS_UUID_SIZE],
			   const struct famfs_mlog_result *res)
{
	if (res->err && res->tail != FAMFS_MLOG_TORN)
		return -EBADMSG;
	if (res->end_off < sizeof(struct famfs_log_header) || res->end_off > len ||
	    !res->next_seq)
		return -EINVAL;
	w->log = log;
	w->len = len;
	memcpy(w->uuid, uuid, sizeof(w->uuid));
	w->off = res->end_off;
	w->next_seq = res->next_seq;
	if (res->tail == FAMFS_MLOG_TORN)
		memset((unsigned char *)log + w->off, 0, len - w->off);
	return 0;
}

int famfs_mlog_append(struct famfs_mlog_writer *w, const struct famfs_mlog_entry *e)
{
	ssize_t n = famfs_mlog_encode(e, w->uuid, w->next_seq,
				      (unsigned char *)w->log + w->off, w->len - w->off);

	if (n < 0)
		return (int)n;
	w->off += n;
	w->next_seq++;
	return 0;
}
