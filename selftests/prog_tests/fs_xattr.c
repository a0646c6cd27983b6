// SPDX-License-Identifier: GPL-2.0
/*
 * Extended attributes users store: "user." and "trusted." names, kept in
 * the metadata log (XATTR entries), with ext4's limits and answers
 * (include/famfs_xattr.h).  famfs-bpf on /dev/pmem2, driven through the
 * famfs-bpf binary and the xattr syscalls as a user would.
 *  - api: set, size query, get, a buffer too small (ERANGE), values with
 *    NULs and empty ones, XATTR_CREATE (EEXIST) and XATTR_REPLACE
 *    (ENODATA), listxattr (the daemon's user.famfs.layout first, then
 *    the stored names in the order set; ERANGE, size 0), removexattr
 *    (ENODATA for a missing name); trusted.* on a symlink, user.* on one
 *    refused by the VFS (EPERM); security.* EOPNOTSUPP; the longest name
 *    (255 bytes) and one byte more (ERANGE); the largest value (4040
 *    bytes, with an 8-byte name), one byte more (ENOSPC), 64 KiB + 1
 *    (E2BIG); unlink takes a file's attributes (a new file of that name
 *    has none); then everything again after a remount, and fsck clean;
 *  - model: 400 random sets (any flags), removals, gets and lists on one
 *    file, 8 names and values of 0 to 1200 bytes, each answer and value
 *    checked against a model of ext4's space (FAMFS_XATTR_COST); the
 *    model's attributes read back after a remount;
 *  - follower: a read-only mount (-o ro) sees the owner's attributes, and
 *    after famfs-bpf logplay the ones set, replaced and removed since;
 *    its own setxattr and removexattr get EROFS.
 * Cost on the test kernel (TCG, 2 shared cores): about 12 s for the three
 * (11.4 s measured), most of it the mkfs and mounts; 40 s with the boot.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "famfs_format.h"
#include "famfs_xattr.h"
#include "fixture.h"
#include "test_progs.h"
#include "xorshift.h"

#define DEV	"/dev/pmem2"
#define MNT	"/tmp/fs_xattr.mnt"
#define RO	"/tmp/fs_xattr.ro"

#define famfs(...) fixture_famfs(FX_MERGE | FX_LOG_OUT, __VA_ARGS__)

static const char *path(const char *name)
{
	return fixture_join(MNT, name);
}

static bool setup(void)
{
	fixture_ensure_unmounted(RO);
	fixture_ensure_unmounted(MNT);
	mkdir(MNT, 0755);
	mkdir(RO, 0755);
	return fixture_mkfs_mount(DEV, MNT, NULL);
}

static bool touch(const char *p)
{
	int fd = open(p, O_CREAT | O_WRONLY, 0644);

	if (!ASSERT_OK_FD(fd, p))
		return false;
	close(fd);
	return true;
}

/* getxattr of @name on @p is exactly @val (@len bytes) */
static bool has(const char *p, const char *name, const void *val, size_t len)
{
	char buf[FAMFS_XATTR_VALUE_MAX + 8];
	ssize_t n = getxattr(p, name, buf, sizeof(buf));

	if (!ASSERT_EQ(n, (ssize_t)len, name))
		return false;
	return !len || ASSERT_MEMEQ(buf, val, len, name);
}

/* getxattr or removexattr failed with @err */
#define FAILS(call, err, what) do {					\
		errno = 0;						\
		ASSERT_ERR(call, what);					\
		ASSERT_EQ(errno, err, what);				\
	} while (0)

/* listxattr of @p without the daemon's user.famfs.* names: @want (@len bytes) */
static bool lists(const char *p, const char *want, size_t len)
{
	char buf[FAMFS_XATTR_SPACE + 256], got[FAMFS_XATTR_SPACE + 256], *nm;
	ssize_t n = listxattr(p, buf, sizeof(buf));
	size_t k = 0;

	if (!ASSERT_GE(n, 0, "listxattr"))
		return false;
	for (nm = buf; nm < buf + n; nm += strlen(nm) + 1)
		if (strncmp(nm, "user.famfs.", 11)) {
			memcpy(got + k, nm, strlen(nm) + 1);
			k += strlen(nm) + 1;
		}
	return ASSERT_EQ(k, len, "stored names' length") &&
	       (!len || ASSERT_MEMEQ(got, want, len, "stored names"));
}

static const unsigned char bin[] = { 0, 'a', 0, 0xff, 0 };
static const unsigned char zeros[FAMFS_XATTR_VALUE_MAX];

/* a list of names as a literal: its bytes and its length, the last NUL included */
#define NAMES(s) s, sizeof(s)
#define F_NAMES "user.a\0user.bin\0user.empty\0trusted.t"

/* What api() leaves, checked before and after the remount. */
static void api_check(void)
{
	char names[512];

	has(path("f"), "user.a", "hello again", 11);
	has(path("f"), "user.bin", bin, sizeof(bin));
	has(path("f"), "user.empty", "", 0);
	has(path("f"), "trusted.t", "root only", 9);
	FAILS(getxattr(path("f"), "user.gone", NULL, 0), ENODATA, "removed stays removed");
	lists(path("f"), NAMES(F_NAMES));
	has(path("d"), "user.dir", "d", 1);
	lists(path("d"), NAMES("user.dir"));
	ASSERT_EQ(lgetxattr(path("s"), "trusted.link", names, sizeof(names)), 4, "symlink's");
	has(path("big"), "user.abc", zeros, FAMFS_XATTR_VALUE_MAX);
	has(path("new"), "user.a", NULL, 0);	/* the old "new"'s did not stay */
	lists(path("new"), NAMES("user.a"));
}

static void test_api(void)
{
	char buf[FAMFS_XATTR_VALUE_MAX + 2], name[300];
	ssize_t n;

	if (!setup() || !touch(path("f")) || !ASSERT_OK(mkdir(path("d"), 0755), "mkdir") ||
	    !ASSERT_OK(symlink("f", path("s")), "symlink"))
		goto out;
	FAILS(getxattr(path("f"), "user.a", buf, sizeof(buf)), ENODATA, "none yet");
	lists(path("f"), "", 0);

	/* set, size query, read, a buffer too small */
	ASSERT_OK(setxattr(path("f"), "user.a", "hello", 5, 0), "set user.a");
	ASSERT_EQ(getxattr(path("f"), "user.a", NULL, 0), 5, "size query");
	FAILS(getxattr(path("f"), "user.a", buf, 4), ERANGE, "buffer too small");
	has(path("f"), "user.a", "hello", 5);
	ASSERT_OK(setxattr(path("f"), "user.bin", bin, sizeof(bin), 0), "binary value");
	ASSERT_OK(setxattr(path("f"), "user.empty", "", 0, 0), "empty value");
	has(path("f"), "user.empty", "", 0);

	/* flags */
	FAILS(setxattr(path("f"), "user.a", "x", 1, XATTR_CREATE), EEXIST, "XATTR_CREATE");
	FAILS(setxattr(path("f"), "user.none", "x", 1, XATTR_REPLACE), ENODATA,
	      "XATTR_REPLACE");
	ASSERT_OK(setxattr(path("f"), "user.a", "hello again", 11, XATTR_REPLACE), "replace");
	ASSERT_OK(setxattr(path("f"), "user.gone", "x", 1, XATTR_CREATE), "create");

	/* removal */
	ASSERT_OK(removexattr(path("f"), "user.gone"), "remove");
	FAILS(removexattr(path("f"), "user.gone"), ENODATA, "remove again");
	FAILS(getxattr(path("f"), "user.gone", NULL, 0), ENODATA, "removed");

	/* trusted.* (we are root); on a symlink, where user.* is not allowed */
	ASSERT_OK(setxattr(path("f"), "trusted.t", "root only", 9, 0), "trusted");
	ASSERT_OK(lsetxattr(path("s"), "trusted.link", "link", 4, 0), "trusted on a symlink");
	FAILS(lsetxattr(path("s"), "user.link", "x", 1, 0), EPERM, "user.* on a symlink");
	ASSERT_OK(setxattr(path("d"), "user.dir", "d", 1, 0), "on a directory");

	/* the list: the daemon's layout first, then the names as set */
	n = listxattr(path("f"), NULL, 0);
	ASSERT_EQ(n, (ssize_t)(sizeof(FAMFS_XATTR_LAYOUT) + sizeof(F_NAMES)), "list size");
	FAILS(listxattr(path("f"), buf, (size_t)n - 1), ERANGE, "list buffer too small");
	ASSERT_EQ(listxattr(path("f"), buf, sizeof(buf)), n, "list");
	ASSERT_MEMEQ(buf, FAMFS_XATTR_LAYOUT, sizeof(FAMFS_XATTR_LAYOUT), "layout first");

	/* other namespaces, names */
	FAILS(setxattr(path("f"), "security.x", "x", 1, 0), EOPNOTSUPP, "security.*");
	FAILS(setxattr(path("f"), "user.famfs.mine", "x", 1, 0), EOPNOTSUPP, "user.famfs.*");
	FAILS(setxattr(path("f"), "user.", "x", 1, 0), EINVAL, "nothing after user.");
	memset(name, 'n', sizeof(name));
	memcpy(name, "user.", 5);
	name[FAMFS_XATTR_NAME_MAX + 1] = '\0';
	FAILS(setxattr(path("f"), name, "x", 1, 0), ERANGE, "a 256-byte name");
	name[FAMFS_XATTR_NAME_MAX] = '\0';
	ASSERT_OK(setxattr(path("f"), name, "x", 1, 0), "a 255-byte name");
	has(path("f"), name, "x", 1);
	ASSERT_OK(removexattr(path("f"), name), "remove it");

	/* space: ext4's with 4 KiB blocks */
	if (!touch(path("big")))
		goto out;
	memset(buf, 0, sizeof(buf));
	FAILS(setxattr(path("big"), "user.abc", buf, FAMFS_XATTR_VALUE_MAX + 1, 0), ENOSPC,
	      "4041 bytes");
	{
		char *huge = calloc(1, 65537);

		if (ASSERT_TRUE(huge != NULL, "malloc"))
			FAILS(setxattr(path("big"), "user.abc", huge, 65537, 0), E2BIG, "64 KiB + 1");
		free(huge);
	}
	ASSERT_OK(setxattr(path("big"), "user.abc", buf, FAMFS_XATTR_VALUE_MAX, 0), "4040 bytes");
	FAILS(setxattr(path("big"), "user.d", "", 0, 0), ENOSPC, "and nothing more");

	/* unlink takes them: a new file of that name has none */
	ASSERT_OK(touch(path("new")) ? 0 : -1, "new");
	ASSERT_OK(setxattr(path("new"), "user.old", "o", 1, 0), "old file's");
	ASSERT_OK(unlink(path("new")), "unlink");
	if (!touch(path("new")))
		goto out;
	FAILS(getxattr(path("new"), "user.old", NULL, 0), ENODATA, "a new inode");
	ASSERT_OK(setxattr(path("new"), "user.a", "", 0, 0), "new file's");

	api_check();
	if (!ASSERT_TRUE(fixture_remount(MNT, DEV), "remount"))
		goto out;
	api_check();
	fixture_ensure_unmounted(MNT);
	ASSERT_EQ(famfs("fsck", DEV), 0, "fsck clean");
out:
	fixture_ensure_unmounted(MNT);
}

/* ------------------------------------------------------------------ */
/* model: ext4's space, the order of names */

#define M_NAMES		8
#define M_VALUE_MAX	1200
#define M_OPS		400

struct m_attr {
	bool set;
	unsigned int rank;	/* order of first set: what listxattr shows */
	size_t len;
	unsigned char val[M_VALUE_MAX];
};

static const char *m_name(unsigned int i)
{
	static char buf[M_NAMES][16];

	snprintf(buf[i], sizeof(buf[i]), "%s.m%u", i < 6 ? "user" : "trusted", i);
	return buf[i];
}

static unsigned int m_used(const struct m_attr *m)
{
	unsigned int i, used = 0;

	for (i = 0; i < M_NAMES; i++)
		if (m[i].set)
			used += FAMFS_XATTR_COST((unsigned int)strlen(m_name(i)),
						 (unsigned int)m[i].len);
	return used;
}

/* the names in listxattr's order (first set first) */
static size_t m_list(const struct m_attr *m, char *out)
{
	unsigned int i, r, best;
	size_t k = 0, last = 0;
	bool first = true;

	for (r = 0; r < M_NAMES; r++) {
		best = M_NAMES;
		for (i = 0; i < M_NAMES; i++)
			if (m[i].set && (first || m[i].rank > last) &&
			    (best == M_NAMES || m[i].rank < m[best].rank))
				best = i;
		if (best == M_NAMES)
			break;
		memcpy(out + k, m_name(best), strlen(m_name(best)) + 1);
		k += strlen(m_name(best)) + 1;
		last = m[best].rank;
		first = false;
	}
	return k;
}

static void m_check_all(const char *p, const struct m_attr *m)
{
	char want[256];
	unsigned int i;

	for (i = 0; i < M_NAMES; i++)
		if (m[i].set)
			has(p, m_name(i), m[i].val, m[i].len);
		else
			FAILS(getxattr(p, m_name(i), NULL, 0), ENODATA, m_name(i));
	lists(p, want, m_list(m, want));
}

static void test_model(void)
{
	static struct m_attr m[M_NAMES];
	static unsigned char v[M_VALUE_MAX];
	__u64 rng = 0x243f6a8885a308d3ULL;
	unsigned int op, i, rank = 0, ok = 0, nospc = 0, errs = 0;
	char want[256];

	memset(m, 0, sizeof(m));
	if (!setup() || !touch(path("m")))
		goto out;
	for (op = 0; op < M_OPS; op++) {
		unsigned int r = (unsigned int)xorshift64(&rng), k = r % M_NAMES;
		const char *nm = m_name(k);
		int flags = (r >> 8) % 4 == 1 ? XATTR_CREATE : (r >> 8) % 4 == 2 ? XATTR_REPLACE : 0;
		int want_err = 0, got;
		size_t len, j;

		switch ((r >> 12) % 8) {
		case 0: case 1: case 2: case 3:		/* set */
			len = (size_t)(xorshift64(&rng) % (M_VALUE_MAX + 1));
			for (j = 0; j < len; j++)
				v[j] = (unsigned char)xorshift64(&rng);
			if (flags == XATTR_CREATE && m[k].set)
				want_err = EEXIST;
			else if (flags == XATTR_REPLACE && !m[k].set)
				want_err = ENODATA;
			else if (m_used(m) - (m[k].set ? FAMFS_XATTR_COST(
					(unsigned int)strlen(nm), (unsigned int)m[k].len) : 0) +
				 FAMFS_XATTR_COST((unsigned int)strlen(nm), (unsigned int)len) >
				 FAMFS_XATTR_SPACE)
				want_err = ENOSPC;
			errno = 0;
			got = setxattr(path("m"), nm, v, len, flags) ? errno : 0;
			if (!ASSERT_EQ(got, want_err, "setxattr as the model says"))
				printf("# op %u: set %s %zu bytes flags %d: %d, model %d (%u used)\n",
				       op, nm, len, flags, got, want_err, m_used(m));
			if (!want_err) {
				if (!m[k].set)
					m[k].rank = ++rank;
				m[k].set = true;
				m[k].len = len;
				memcpy(m[k].val, v, len);
			}
			nospc += want_err == ENOSPC;
			break;
		case 4: case 5:				/* remove */
			want_err = m[k].set ? 0 : ENODATA;
			errno = 0;
			got = removexattr(path("m"), nm) ? errno : 0;
			ASSERT_EQ(got, want_err, "removexattr as the model says");
			m[k].set = false;
			break;
		case 6:					/* get */
			if (m[k].set)
				has(path("m"), nm, m[k].val, m[k].len);
			else
				FAILS(getxattr(path("m"), nm, NULL, 0), ENODATA, "get unset");
			break;
		case 7:					/* list */
			lists(path("m"), want, m_list(m, want));
			break;
		}
		ok += !want_err;
		errs += want_err != 0;
	}
	printf("# model: %u ops as expected, %u refused (%u ENOSPC), %u bytes used at the end\n",
	       ok, errs, nospc, m_used(m));
	ASSERT_GT(nospc, 5, "the space limit was met");
	m_check_all(path("m"), m);
	if (!ASSERT_TRUE(fixture_remount(MNT, DEV), "remount"))
		goto out;
	m_check_all(path("m"), m);
	/* the space after the remount is what the model says: fill it to the byte */
	for (i = 0; i < M_NAMES && m[i].set; i++)
		;
	if (ASSERT_LT(i, M_NAMES, "a name left") &&
	    ASSERT_GE(FAMFS_XATTR_SPACE - m_used(m),
		      FAMFS_XATTR_COST((unsigned int)strlen(m_name(i)), 0), "room for it")) {
		/* the value that costs exactly the room left (costs are 4-byte multiples) */
		size_t fit = FAMFS_XATTR_SPACE - m_used(m) -
			     FAMFS_XATTR_COST((unsigned int)strlen(m_name(i)), 0);

		printf("# model: %s of %zu bytes fills the space\n", m_name(i), fit);
		ASSERT_OK(setxattr(path("m"), m_name(i), zeros, fit, 0), "exactly full");
		FAILS(setxattr(path("m"), m_name(i), zeros, fit + 1, 0), ENOSPC,
		      "one byte past full");
		FAILS(setxattr(path("m"), "user.z", "", 0, 0), ENOSPC, "no room for a name");
	}
out:
	fixture_ensure_unmounted(MNT);
}

/* ------------------------------------------------------------------ */

static const char *ro(const char *name)
{
	return fixture_join(RO, name);
}

static void test_follower(void)
{
	if (!setup() || !touch(path("f")) ||
	    !ASSERT_OK(setxattr(path("f"), "user.before", "b", 1, 0), "before") ||
	    !ASSERT_OK(setxattr(path("f"), "user.replaced", "1", 1, 0), "to replace") ||
	    !ASSERT_OK(setxattr(path("f"), "user.removed", "r", 1, 0), "to remove") ||
	    !ASSERT_EQ(famfs("mount", "-o", "ro", DEV, RO), 0, "mount -o ro"))
		goto out;
	has(ro("f"), "user.before", "b", 1);
	has(ro("f"), "user.removed", "r", 1);
	ASSERT_OK(setxattr(path("f"), "user.replaced", "22", 2, 0), "replace");
	ASSERT_OK(removexattr(path("f"), "user.removed"), "remove");
	ASSERT_OK(setxattr(path("f"), "trusted.after", "a", 1, 0), "after");
	ASSERT_OK(mkdir(path("d"), 0755), "mkdir");
	ASSERT_OK(setxattr(path("d"), "user.dir", "d", 1, 0), "on a directory");
	has(ro("f"), "user.replaced", "1", 1);	/* not before logplay */
	ASSERT_EQ(famfs("logplay", RO), 0, "logplay");
	has(ro("f"), "user.replaced", "22", 2);
	FAILS(getxattr(ro("f"), "user.removed", NULL, 0), ENODATA, "removed on the follower");
	has(ro("f"), "trusted.after", "a", 1);
	has(ro("d"), "user.dir", "d", 1);
	lists(ro("f"), NAMES("user.before\0user.replaced\0trusted.after"));
	FAILS(setxattr(ro("f"), "user.x", "x", 1, 0), EROFS, "set on the follower");
	FAILS(removexattr(ro("f"), "user.before"), EROFS, "remove on the follower");
out:
	fixture_ensure_unmounted(RO);
	fixture_ensure_unmounted(MNT);
}

void test_fs_xattr(void)
{
	if (!fixture_famfs_bin())
		return;
	if (test__start_subtest("api"))
		test_api();
	if (test__start_subtest("model"))
		test_model();
	if (test__start_subtest("follower"))
		test_follower();
}
