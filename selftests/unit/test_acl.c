// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the POSIX ACL values (server/fs/acl.c), written out here
 * byte by byte as the kernel's posix_acl_to_xattr() encodes them:
 *  - well-formed ACLs pass (base entries only, named users and groups
 *    with a mask), each way to break one is refused with -EINVAL;
 *  - the log's checker refuses a malformed ACL in an XATTR entry (replay
 *    of untrusted media) and takes a good one or a removal;
 *  - inheritance (posix_acl_create()): the mode is masked by the default
 *    ACL, the access ACL by the mode, base-only ACLs leave no access ACL;
 *  - chmod (posix_acl_chmod()): owner, mask and other take the new bits,
 *    named entries keep theirs;
 *  - setting an access ACL: the mode takes owner, mask (or group), other.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "fs/acl.h"
#include "fs/mlog.h"

#define UO 0x01
#define U 0x02
#define GO 0x04
#define G 0x08
#define M 0x10
#define O 0x20
#define NOID 0xffffffffu

struct e { uint16_t tag, perm; uint32_t id; };

/* header and entries, little-endian as on the wire */
static size_t enc(unsigned char *buf, const struct e *e, size_t n)
{
	size_t i;

	buf[0] = 2; buf[1] = buf[2] = buf[3] = 0;
	for (i = 0; i < n; i++) {
		unsigned char *p = buf + 4 + 8 * i;

		p[0] = e[i].tag & 0xff; p[1] = e[i].tag >> 8;
		p[2] = e[i].perm & 0xff; p[3] = e[i].perm >> 8;
		p[4] = e[i].id & 0xff; p[5] = (e[i].id >> 8) & 0xff;
		p[6] = (e[i].id >> 16) & 0xff; p[7] = e[i].id >> 24;
	}
	return 4 + 8 * n;
}

static struct e dec(const unsigned char *buf, size_t i)
{
	const unsigned char *p = buf + 4 + 8 * i;
	struct e e = { (uint16_t)(p[0] | p[1] << 8), (uint16_t)(p[2] | p[3] << 8),
		       (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
			       (uint32_t)p[7] << 24 };

	return e;
}

static int check(const struct e *e, size_t n)
{
	unsigned char buf[256];
	char msg[160] = "";
	size_t len = enc(buf, e, n);
	int ret = famfs_acl_check(buf, len, msg, sizeof(msg));

	if (ret)
		assert_true(msg[0]);	/* a refusal says why */
	return ret;
}

static void good_acls(void **state)
{
	const struct e base[] = { { UO, 6, NOID }, { GO, 4, NOID }, { O, 4, NOID } };
	const struct e named[] = { { UO, 7, NOID }, { U, 5, 1000 }, { U, 4, 65534 },
				   { GO, 5, NOID }, { G, 7, 10 }, { M, 7, NOID },
				   { O, 0, NOID } };
	const struct e masked[] = { { UO, 7, NOID }, { GO, 5, NOID }, { M, 5, NOID },
				    { O, 0, NOID } };

	(void)state;
	assert_int_equal(check(base, 3), 0);
	assert_int_equal(check(named, 7), 0);
	assert_int_equal(check(masked, 4), 0);
	assert_true(famfs_acl_name("system.posix_acl_access"));
	assert_true(famfs_acl_name("system.posix_acl_default"));
	assert_false(famfs_acl_name("system.posix_acl_accessx"));
	assert_false(famfs_acl_name("user.posix_acl_access"));
}

static void bad_acls(void **state)
{
	const struct e no_other[] = { { UO, 6, NOID }, { GO, 4, NOID } };
	const struct e two_uo[] = { { UO, 6, NOID }, { UO, 6, NOID }, { GO, 4, NOID },
				    { O, 4, NOID } };
	const struct e unsorted[] = { { GO, 4, NOID }, { UO, 6, NOID }, { O, 4, NOID } };
	const struct e no_mask[] = { { UO, 6, NOID }, { U, 4, 7 }, { GO, 4, NOID },
				     { O, 4, NOID } };
	const struct e two_masks[] = { { UO, 6, NOID }, { GO, 4, NOID }, { M, 4, NOID },
				       { M, 4, NOID }, { O, 4, NOID } };
	const struct e dup_id[] = { { UO, 6, NOID }, { U, 4, 7 }, { U, 6, 7 },
				    { GO, 4, NOID }, { M, 6, NOID }, { O, 4, NOID } };
	const struct e down_id[] = { { UO, 6, NOID }, { U, 4, 9 }, { U, 6, 7 },
				     { GO, 4, NOID }, { M, 6, NOID }, { O, 4, NOID } };
	const struct e bad_tag[] = { { UO, 6, NOID }, { GO, 4, NOID }, { 0x40, 4, NOID } };
	const struct e bad_perm[] = { { UO, 8, NOID }, { GO, 4, NOID }, { O, 4, NOID } };
	const struct e base[] = { { UO, 6, NOID }, { GO, 4, NOID }, { O, 4, NOID } };
	unsigned char buf[64];
	size_t len;

	(void)state;
	assert_int_equal(check(no_other, 2), -EINVAL);
	assert_int_equal(check(two_uo, 4), -EINVAL);
	assert_int_equal(check(unsorted, 3), -EINVAL);
	assert_int_equal(check(no_mask, 4), -EINVAL);
	assert_int_equal(check(two_masks, 5), -EINVAL);
	assert_int_equal(check(dup_id, 6), -EINVAL);
	assert_int_equal(check(down_id, 6), -EINVAL);
	assert_int_equal(check(bad_tag, 3), -EINVAL);
	assert_int_equal(check(bad_perm, 3), -EINVAL);
	assert_int_equal(check(base, 0), -EINVAL);	/* header only */
	len = enc(buf, base, 3);
	assert_int_equal(famfs_acl_check(buf, len - 1, NULL, 0), -EINVAL);	/* torn */
	assert_int_equal(famfs_acl_check(buf, 3, NULL, 0), -EINVAL);
	assert_int_equal(famfs_acl_check(NULL, 0, NULL, 0), -EINVAL);
	buf[0] = 1;
	assert_int_equal(famfs_acl_check(buf, len, NULL, 0), -EINVAL);	/* version 1 */
	buf[0] = 2;
	buf[4 + 1] = 1;	/* tag 0x101 */
	assert_int_equal(famfs_acl_check(buf, len, NULL, 0), -EINVAL);
}

/* The log's checker: what replay and ns_xattr_set() refuse. */
static void log_entries(void **state)
{
	const struct e base[] = { { UO, 6, NOID }, { GO, 4, NOID }, { O, 4, NOID } };
	const struct e no_other[] = { { UO, 6, NOID }, { GO, 4, NOID } };
	struct famfs_mlog_entry e;
	unsigned char good[64], bad[64];
	size_t glen = enc(good, base, 3), blen = enc(bad, no_other, 2);
	char msg[160] = "";

	(void)state;
	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_XATTR;
	e.seq = 1;
	e.xattr.ino = 5;
	strcpy(e.name, FAMFS_ACL_ACCESS);
	e.value = good;
	e.xattr.value_len = (uint32_t)glen;
	assert_int_equal(famfs_mlog_check(&e, NULL, 0), 0);
	strcpy(e.name, FAMFS_ACL_DEFAULT);
	assert_int_equal(famfs_mlog_check(&e, NULL, 0), 0);
	e.value = bad;
	e.xattr.value_len = (uint32_t)blen;
	assert_int_equal(famfs_mlog_check(&e, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "ACL"));
	e.value = NULL;
	e.xattr.value_len = 0;
	assert_int_equal(famfs_mlog_check(&e, NULL, 0), -EINVAL);	/* empty */
	e.xattr.flags = FAMFS_XATTR_F_REMOVE;
	assert_int_equal(famfs_mlog_check(&e, NULL, 0), 0);
	/* other system. names stay out */
	strcpy(e.name, "system.posix_acl_other");
	assert_int_equal(famfs_mlog_check(&e, NULL, 0), -EINVAL);
	assert_int_equal(famfs_mlog_xattr_name_check(FAMFS_ACL_ACCESS, NULL, 0), 0);
	assert_int_equal(famfs_mlog_xattr_name_check("system.foo", NULL, 0), -EOPNOTSUPP);
}

static void inherit(void **state)
{
	/* setfacl -d -m u:65534:rx,m::rwx,o::- on a directory */
	const struct e dacl[] = { { UO, 7, NOID }, { U, 5, 65534 }, { GO, 5, NOID },
				  { M, 7, NOID }, { O, 0, NOID } };
	const struct e base[] = { { UO, 7, NOID }, { GO, 5, NOID }, { O, 5, NOID } };
	unsigned char d[128];
	size_t dlen = enc(d, dacl, 5), alen;
	mode_t mode;
	void *acc;
	unsigned char *a;

	(void)state;
	/* a file created 0666: no umask, the ACL's classes mask it */
	mode = S_IFREG | 0666;
	assert_int_equal(famfs_acl_create(d, dlen, &mode, &acc, &alen), 0);
	assert_int_equal(mode, S_IFREG | 0660);
	assert_non_null(acc);
	assert_int_equal(alen, dlen);
	a = acc;
	assert_int_equal(dec(a, 0).perm, 6);	/* owner 7 & 6 */
	assert_int_equal(dec(a, 1).perm, 5);	/* named: kept */
	assert_int_equal(dec(a, 1).id, 65534);
	assert_int_equal(dec(a, 2).perm, 5);	/* owning group: kept, the mask rules */
	assert_int_equal(dec(a, 3).perm, 6);	/* mask 7 & 6 */
	assert_int_equal(dec(a, 4).perm, 0);
	assert_int_equal(famfs_acl_check(acc, alen, NULL, 0), 0);
	free(acc);
	/* a directory 0777: the mask keeps rwx */
	mode = S_IFDIR | 0777;
	assert_int_equal(famfs_acl_create(d, dlen, &mode, &acc, &alen), 0);
	assert_int_equal(mode, S_IFDIR | 0770);
	assert_int_equal(dec(acc, 3).perm, 7);
	free(acc);
	/* base entries only: the mode says it all */
	dlen = enc(d, base, 3);
	mode = S_IFREG | 0666;
	assert_int_equal(famfs_acl_create(d, dlen, &mode, &acc, &alen), 0);
	assert_int_equal(mode, S_IFREG | 0644);
	assert_null(acc);
	assert_int_equal(alen, 0);
	/* a malformed default ACL is not used */
	mode = S_IFREG | 0666;
	assert_int_equal(famfs_acl_create(d, dlen - 8, &mode, &acc, &alen), -EINVAL);
}

static void chmod_acl(void **state)
{
	const struct e acl[] = { { UO, 7, NOID }, { U, 5, 65534 }, { GO, 5, NOID },
				 { M, 7, NOID }, { O, 0, NOID } };
	const struct e base[] = { { UO, 7, NOID }, { GO, 5, NOID }, { O, 5, NOID } };
	unsigned char a[128];
	size_t len = enc(a, acl, 5);

	(void)state;
	assert_int_equal(famfs_acl_chmod(a, len, 0640), 0);
	assert_int_equal(dec(a, 0).perm, 6);
	assert_int_equal(dec(a, 1).perm, 5);	/* named: kept */
	assert_int_equal(dec(a, 2).perm, 5);	/* owning group: the mask moved */
	assert_int_equal(dec(a, 3).perm, 4);
	assert_int_equal(dec(a, 4).perm, 0);
	len = enc(a, base, 3);
	assert_int_equal(famfs_acl_chmod(a, len, 0751), 0);
	assert_int_equal(dec(a, 0).perm, 7);
	assert_int_equal(dec(a, 1).perm, 5);
	assert_int_equal(dec(a, 2).perm, 1);
	assert_int_equal(famfs_acl_chmod(a, len - 8, 0751), -EINVAL);
}

/* setting an access ACL: the mode's rwx bits are what the ACL says */
static void acl_mode(void **state)
{
	const struct e acl[] = { { UO, 6, NOID }, { U, 4, 65534 }, { GO, 0, NOID },
				 { M, 4, NOID }, { O, 1, NOID } };
	const struct e base[] = { { UO, 7, NOID }, { GO, 5, NOID }, { O, 0, NOID } };
	unsigned char a[128];
	size_t len = enc(a, acl, 5);
	mode_t mode = S_IFREG | S_ISGID | 0777;

	(void)state;
	assert_int_equal(famfs_acl_mode(a, len, &mode), 0);
	assert_int_equal(mode, S_IFREG | S_ISGID | 0641);	/* the mask is the group class */
	len = enc(a, base, 3);
	mode = S_IFDIR;
	assert_int_equal(famfs_acl_mode(a, len, &mode), 0);
	assert_int_equal(mode, S_IFDIR | 0750);
	assert_int_equal(famfs_acl_mode(a, len - 1, &mode), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_acls),
		cmocka_unit_test(bad_acls),
		cmocka_unit_test(log_entries),
		cmocka_unit_test(inherit),
		cmocka_unit_test(chmod_acl),
		cmocka_unit_test(acl_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
