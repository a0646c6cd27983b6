// SPDX-License-Identifier: GPL-2.0
/*
 * POSIX ACLs (FUSE_POSIX_ACL, the kernel checking them), stored in XATTR
 * log entries, set and read with the raw system.posix_acl_* xattrs (no
 * setfacl needed).  famfs-bpf on /dev/pmem2.
 *  - access: an ACL granting uid 65534 read on a 0600 file lets it read,
 *    not write; without the ACL it may not read; chmod 0640 moves the
 *    mask to r-- and keeps the named entry; malformed ACLs get EINVAL;
 *  - inherit: a directory's default ACL is inherited by a new file and a
 *    subdirectory (access ACL masked by the create mode, the umask not
 *    applied: 0666 under umask 077 gives 0660), the subdirectory also
 *    gets the default; without a default ACL the umask applies;
 *  - persist: after a remount and on a follower (-o ro, logplay) the
 *    ACLs read back byte for byte.
 * Cost on the test kernel (TCG, 2 shared cores): about 7 s for the three
 * (7.1 s measured), most of it the mkfs and mounts; about 35 s with the boot.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

#define DEV	"/dev/pmem2"
#define MNT	"/tmp/fs_acl.mnt"
#define RO	"/tmp/fs_acl.ro"
#define ACC	"system.posix_acl_access"
#define DEF	"system.posix_acl_default"
#define NOBODY	65534

#define famfs(...) fixture_famfs(FX_MERGE | FX_LOG_OUT, __VA_ARGS__)

/* the call failed with @err */
#define FAILS(call, err, what) do {					\
		errno = 0;						\
		ASSERT_ERR(call, what);					\
		ASSERT_EQ(errno, err, what);				\
	} while (0)

struct ace { uint16_t tag, perm; uint32_t id; };

/* little-endian on x86: the structs are the wire format */
static size_t enc(unsigned char *buf, const struct ace *e, size_t n)
{
	uint32_t v = 2;

	memcpy(buf, &v, 4);
	memcpy(buf + 4, e, n * sizeof(*e));
	return 4 + n * sizeof(*e);
}

static const char *path(const char *name)
{
	return fixture_join(MNT, name);
}

static const char *ro(const char *name)
{
	return fixture_join(RO, name);
}

static bool setup(void)
{
	fixture_ensure_unmounted(RO);
	fixture_ensure_unmounted(MNT);
	mkdir(MNT, 0755);
	mkdir(RO, 0755);
	return fixture_mkfs_mount(DEV, MNT, NULL);
}

/* open(@p, @flags) as uid/gid 65534: 0 or the errno */
static int open_as_nobody(const char *p, int flags)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int fd;

		if (setresgid(NOBODY, NOBODY, NOBODY) || setgroups(0, NULL) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(100);
		fd = open(p, flags);
		_exit(fd < 0 ? errno : 0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static bool mode_is(const char *p, mode_t want)
{
	struct stat st;

	if (!ASSERT_OK(stat(p, &st), p))
		return false;
	return ASSERT_EQ(st.st_mode & 07777, want, p);
}

static bool acl_is(const char *p, const char *name, const void *want, size_t len)
{
	unsigned char buf[256];
	ssize_t n = getxattr(p, name, buf, sizeof(buf));

	if (!ASSERT_EQ(n, (ssize_t)len, name))
		return false;
	return ASSERT_OK(memcmp(buf, want, len), name);
}

static const struct ace grant[] = {
	{ 0x01, 6, ~0u }, { 0x02, 4, NOBODY }, { 0x04, 0, ~0u }, { 0x10, 4, ~0u },
	{ 0x20, 0, ~0u },
};

static void test_access(void)
{
	unsigned char a[128], bad[128];
	size_t len = enc(a, grant, 5), blen;
	int fd;

	if (!setup() || !ASSERT_OK(chmod(MNT, 0755), "root 0755"))
		goto out;
	fd = open(path("f"), O_CREAT | O_WRONLY, 0600);
	if (!ASSERT_OK_FD(fd, "create"))
		goto out;
	close(fd);
	ASSERT_OK(chmod(path("f"), 0600), "0600");
	ASSERT_EQ(open_as_nobody(path("f"), O_RDONLY), EACCES, "no ACL: no read");
	if (!ASSERT_OK(setxattr(path("f"), ACC, a, len, 0), "set access ACL"))
		goto out;
	mode_is(path("f"), 0640);	/* the mask shows as the group bits */
	ASSERT_EQ(open_as_nobody(path("f"), O_RDONLY), 0, "ACL: read");
	ASSERT_EQ(open_as_nobody(path("f"), O_WRONLY), EACCES, "ACL: no write");
	acl_is(path("f"), ACC, a, len);
	/* chmod 0600: mask to ---, the named entry stays but grants nothing */
	ASSERT_OK(chmod(path("f"), 0600), "chmod 0600");
	{
		struct ace m[5];

		memcpy(m, grant, sizeof(m));
		m[3].perm = 0;
		len = enc(a, m, 5);
		acl_is(path("f"), ACC, a, len);
	}
	ASSERT_EQ(open_as_nobody(path("f"), O_RDONLY), EACCES, "masked: no read");
	ASSERT_OK(chmod(path("f"), 0640), "chmod 0640");
	ASSERT_EQ(open_as_nobody(path("f"), O_RDONLY), 0, "mask back: read");
	/* malformed: no mask with a named user; version 1; torn */
	{
		const struct ace nomask[] = { { 0x01, 6, ~0u }, { 0x02, 4, NOBODY },
					      { 0x04, 0, ~0u }, { 0x20, 0, ~0u } };

		blen = enc(bad, nomask, 4);
		FAILS(setxattr(path("f"), ACC, bad, blen, 0), EINVAL, "no mask");
		blen = enc(bad, grant, 5);
		bad[0] = 1;	/* the kernel's posix_acl_from_xattr() refuses it */
		FAILS(setxattr(path("f"), ACC, bad, blen, 0), EOPNOTSUPP, "version 1");
	}
out:
	fixture_ensure_unmounted(MNT);
}

static const struct ace dflt[] = {
	{ 0x01, 7, ~0u }, { 0x02, 5, NOBODY }, { 0x04, 5, ~0u }, { 0x10, 7, ~0u },
	{ 0x20, 0, ~0u },
};

static void test_inherit(void)
{
	unsigned char d[128], want[128];
	size_t dlen = enc(d, dflt, 5), wlen;
	struct ace w[5];
	mode_t old;
	int fd;

	if (!setup() || !ASSERT_OK(mkdir(path("d"), 0755), "mkdir") ||
	    !ASSERT_OK(setxattr(path("d"), DEF, d, dlen, 0), "set default ACL"))
		goto out;
	old = umask(077);
	fd = open(path("d/f"), O_CREAT | O_WRONLY, 0666);
	if (ASSERT_OK_FD(fd, "create under default ACL"))
		close(fd);
	ASSERT_OK(mkdir(path("d/sub"), 0777), "mkdir under default ACL");
	fd = open(path("plain"), O_CREAT | O_WRONLY, 0666);
	if (ASSERT_OK_FD(fd, "create without default ACL"))
		close(fd);
	umask(old);
	/* file: owner 7&6, other 0, mask 7&6; umask 077 not applied */
	mode_is(path("d/f"), 0660);
	memcpy(w, dflt, sizeof(w));
	w[0].perm = 6;
	w[3].perm = 6;
	wlen = enc(want, w, 5);
	acl_is(path("d/f"), ACC, want, wlen);
	FAILS(getxattr(path("d/f"), DEF, NULL, 0), ENODATA, "a file has no default");
	mode_is(path("d/sub"), 0770);
	acl_is(path("d/sub"), ACC, d, dlen);
	acl_is(path("d/sub"), DEF, d, dlen);
	mode_is(path("plain"), 0600);
	FAILS(getxattr(path("plain"), ACC, NULL, 0), ENODATA, "no ACL without a default");
	ASSERT_EQ(open_as_nobody(path("d/f"), O_RDONLY), 0, "inherited grant");
out:
	fixture_ensure_unmounted(MNT);
}

static void test_persist(void)
{
	unsigned char a[128], d[128];
	size_t alen = enc(a, grant, 5), dlen = enc(d, dflt, 5);
	int fd;

	if (!setup() || !ASSERT_OK(mkdir(path("d"), 0755), "mkdir"))
		goto out;
	fd = open(path("f"), O_CREAT | O_WRONLY, 0600);
	if (!ASSERT_OK_FD(fd, "create"))
		goto out;
	close(fd);
	if (!ASSERT_OK(setxattr(path("f"), ACC, a, alen, 0), "access") ||
	    !ASSERT_OK(setxattr(path("d"), DEF, d, dlen, 0), "default") ||
	    !ASSERT_TRUE(fixture_remount(MNT, DEV), "remount"))
		goto out;
	acl_is(path("f"), ACC, a, alen);
	acl_is(path("d"), DEF, d, dlen);
	ASSERT_EQ(open_as_nobody(path("f"), O_RDONLY), 0, "read after remount");
	if (!ASSERT_EQ(famfs("mount", "-o", "ro", DEV, RO), 0, "mount -o ro"))
		goto out;
	acl_is(ro("f"), ACC, a, alen);
	acl_is(ro("d"), DEF, d, dlen);
	ASSERT_OK(removexattr(path("d"), DEF), "remove default");
	ASSERT_OK(chmod(path("f"), 0600), "chmod");
	ASSERT_EQ(famfs("logplay", RO), 0, "logplay");
	FAILS(getxattr(ro("d"), DEF, NULL, 0), ENODATA, "removed on the follower");
	{
		struct ace m[5];

		memcpy(m, grant, sizeof(m));
		m[3].perm = 0;
		alen = enc(a, m, 5);
		acl_is(ro("f"), ACC, a, alen);
	}
out:
	fixture_ensure_unmounted(RO);
	fixture_ensure_unmounted(MNT);
}

void test_fs_acl(void)
{
	if (!fixture_famfs_bin())
		return;
	if (test__start_subtest("access"))
		test_access();
	if (test__start_subtest("inherit"))
		test_inherit();
	if (test__start_subtest("persist"))
		test_persist();
}
