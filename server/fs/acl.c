// SPDX-License-Identifier: GPL-2.0
/*
 * acl.c: POSIX ACL values (acl.h), the kernel's fs/posix_acl.c rules
 * (posix_acl_valid(), posix_acl_create_masq(), __posix_acl_chmod_masq())
 * on the xattr encoding, so the daemon and the log checker share them.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "acl.h"

enum {
	TAG_USER_OBJ = 0x01,
	TAG_USER = 0x02,
	TAG_GROUP_OBJ = 0x04,
	TAG_GROUP = 0x08,
	TAG_MASK = 0x10,
	TAG_OTHER = 0x20,
};

#define HDR_SIZE	4
#define ENT_SIZE	8

struct ent {
	uint16_t tag;
	uint16_t perm;
	uint32_t id;
};

static struct ent ent_get(const unsigned char *p)
{
	struct ent e;
	uint16_t t, m;
	uint32_t id;

	/* the value may sit at any alignment */
	memcpy(&t, p, 2);
	memcpy(&m, p + 2, 2);
	memcpy(&id, p + 4, 4);
	e.tag = le16toh(t);
	e.perm = le16toh(m);
	e.id = le32toh(id);
	return e;
}

static void perm_put(unsigned char *p, uint16_t perm)
{
	uint16_t m = htole16(perm);

	memcpy(p + 2, &m, 2);
}

static int fail(char *msg, size_t msglen, const char *fmt, unsigned int a, unsigned int b)
{
	if (msg && msglen)
		snprintf(msg, msglen, fmt, a, b);
	return -EINVAL;
}

bool famfs_acl_name(const char *name)
{
	return !strcmp(name, FAMFS_ACL_ACCESS) || !strcmp(name, FAMFS_ACL_DEFAULT);
}

int famfs_acl_check(const void *value, size_t len, char *msg, size_t msglen)
{
	const unsigned char *p = value;
	unsigned int nuser_obj = 0, ngroup_obj = 0, nother = 0, nmask = 0, nnamed = 0;
	unsigned int prev_tag = 0;
	uint32_t prev_id = 0, version;
	size_t i, n;

	if (!value || len < HDR_SIZE || (len - HDR_SIZE) % ENT_SIZE)
		return fail(msg, msglen, "ACL of %u bytes: a 4-byte header and 8-byte entries",
			    (unsigned int)len, 0);
	memcpy(&version, p, 4);
	if (le32toh(version) != FAMFS_ACL_VERSION)
		return fail(msg, msglen, "ACL version %u, want %u", le32toh(version),
			    FAMFS_ACL_VERSION);
	n = (len - HDR_SIZE) / ENT_SIZE;
	for (i = 0; i < n; i++) {
		struct ent e = ent_get(p + HDR_SIZE + i * ENT_SIZE);

		if (e.perm & ~7u)
			return fail(msg, msglen, "ACL entry %u: permission %#x", (unsigned int)i,
				    e.perm);
		if (e.tag < prev_tag)
			return fail(msg, msglen, "ACL entry %u: tag %#x out of order",
				    (unsigned int)i, e.tag);
		switch (e.tag) {
		case TAG_USER_OBJ:
			nuser_obj++;
			break;
		case TAG_GROUP_OBJ:
			ngroup_obj++;
			break;
		case TAG_MASK:
			nmask++;
			break;
		case TAG_OTHER:
			nother++;
			break;
		case TAG_USER:
		case TAG_GROUP:
			/* one entry per id: the kernel's order, strictly rising */
			if (e.tag == prev_tag && e.id <= prev_id)
				return fail(msg, msglen, "ACL entry %u: id %u not after the last",
					    (unsigned int)i, e.id);
			prev_id = e.id;
			nnamed++;
			break;
		default:
			return fail(msg, msglen, "ACL entry %u: tag %#x", (unsigned int)i, e.tag);
		}
		prev_tag = e.tag;
	}
	if (nuser_obj != 1 || ngroup_obj != 1 || nother != 1)
		return fail(msg, msglen, "ACL needs one owner, owning group and other entry, "
			    "has %u and %u, ...", nuser_obj, ngroup_obj);
	if (nmask > 1 || (nnamed && !nmask))
		return fail(msg, msglen, "ACL with %u named entries has %u masks", nnamed, nmask);
	return 0;
}

int famfs_acl_create(const void *dacl, size_t dlen, mode_t *mode, void **access,
		     size_t *alen)
{
	unsigned char *a, *group_obj = NULL, *mask = NULL;
	mode_t m = *mode;
	size_t i, n;
	bool base = true;
	int err = famfs_acl_check(dacl, dlen, NULL, 0);

	if (err)
		return err;
	a = malloc(dlen);
	if (!a)
		return -ENOMEM;
	memcpy(a, dacl, dlen);
	n = (dlen - HDR_SIZE) / ENT_SIZE;
	/* posix_acl_create_masq(): each entry ANDed with the mode's class bits */
	for (i = 0; i < n; i++) {
		unsigned char *p = a + HDR_SIZE + i * ENT_SIZE;
		struct ent e = ent_get(p);

		switch (e.tag) {
		case TAG_USER_OBJ:
			e.perm &= (m >> 6) & 7;
			m &= (mode_t)(e.perm << 6) | ~(mode_t)S_IRWXU;
			perm_put(p, e.perm);
			break;
		case TAG_GROUP_OBJ:
			group_obj = p;
			break;
		case TAG_MASK:
			mask = p;
			base = false;
			break;
		case TAG_OTHER:
			e.perm &= m & 7;
			m &= (mode_t)e.perm | ~(mode_t)S_IRWXO;
			perm_put(p, e.perm);
			break;
		default:
			base = false;
			break;
		}
	}
	/* the mask, if any, stands for the group class; else the owning group */
	{
		unsigned char *g = mask ? mask : group_obj;
		struct ent e = ent_get(g);

		e.perm &= (m >> 3) & 7;
		m &= (mode_t)(e.perm << 3) | ~(mode_t)S_IRWXG;
		perm_put(g, e.perm);
	}
	*mode = m;
	if (base) {
		/* three entries the mode holds: no ACL to store, as the kernel */
		free(a);
		*access = NULL;
		*alen = 0;
		return 0;
	}
	*access = a;
	*alen = dlen;
	return 0;
}

int famfs_acl_chmod(void *acl, size_t len, mode_t mode)
{
	unsigned char *a = acl, *group_obj = NULL, *mask = NULL;
	size_t i, n;
	int err = famfs_acl_check(acl, len, NULL, 0);

	if (err)
		return err;
	n = (len - HDR_SIZE) / ENT_SIZE;
	for (i = 0; i < n; i++) {
		unsigned char *p = a + HDR_SIZE + i * ENT_SIZE;
		struct ent e = ent_get(p);

		if (e.tag == TAG_USER_OBJ)
			perm_put(p, (mode >> 6) & 7);
		else if (e.tag == TAG_OTHER)
			perm_put(p, mode & 7);
		else if (e.tag == TAG_GROUP_OBJ)
			group_obj = p;
		else if (e.tag == TAG_MASK)
			mask = p;
	}
	perm_put(mask ? mask : group_obj, (mode >> 3) & 7);
	return 0;
}

int famfs_acl_mode(const void *acl, size_t len, mode_t *mode)
{
	const unsigned char *a = acl;
	unsigned int u = 0, g = 0, o = 0, m = 8;
	size_t i, n;
	int err = famfs_acl_check(acl, len, NULL, 0);

	if (err)
		return err;
	n = (len - HDR_SIZE) / ENT_SIZE;
	for (i = 0; i < n; i++) {
		struct ent e = ent_get(a + HDR_SIZE + i * ENT_SIZE);

		if (e.tag == TAG_USER_OBJ)
			u = e.perm;
		else if (e.tag == TAG_GROUP_OBJ)
			g = e.perm;
		else if (e.tag == TAG_MASK)
			m = e.perm;
		else if (e.tag == TAG_OTHER)
			o = e.perm;
	}
	/* the group class is the mask when there is one (posix_acl_equiv_mode) */
	*mode = (*mode & ~(mode_t)0777) | u << 6 | (m < 8 ? m : g) << 3 | o;
	return 0;
}
