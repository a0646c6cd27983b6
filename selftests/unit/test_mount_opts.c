// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the mount options (server/fsd/mount_opts.c), which both
 * "famfs-bpf mount -o" and mount.fuse.famfs-bpf take:
 *  - every generic option mount(8) passes to a helper, alone, against the
 *    mount(2) flags written out here (not taken from the table);
 *  - the order: the last of the atime modes wins, user implies noexec,
 *    nosuid and nodev until exec, suid, dev;
 *  - each table row is found, parses, and is one of those written out;
 *  - refusals name the option: unknown ones, near misses, a bad resolver,
 *    ro and rw or two resolvers;
 *  - famfs-bpf mount refuses an unknown option with exit 16 and one line
 *    naming it, and passes known ones on (then fails for want of root or
 *    of a mount point, not of the options).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "fsd/mount_opts.h"

#define DEF	MOUNT_OPTS_DEFAULT_FLAGS

static const struct {
	const char *opts;
	unsigned long flags;
} generic[] = {
	{ "rw", DEF },
	{ "ro", DEF | MS_RDONLY },
	{ "atime", DEF },
	{ "noatime", DEF | MS_NOATIME },
	{ "relatime", DEF | MS_RELATIME },
	{ "norelatime", DEF },
	{ "strictatime", DEF | MS_STRICTATIME },
	{ "nostrictatime", DEF },
	{ "diratime", DEF },
	{ "nodiratime", DEF | MS_NODIRATIME },
	{ "lazytime", DEF | MS_LAZYTIME },
	{ "nolazytime", DEF },
	{ "sync", DEF | MS_SYNCHRONOUS },
	{ "async", DEF },
	{ "dirsync", DEF | MS_DIRSYNC },
	{ "suid", MS_NODEV },
	{ "nosuid", DEF },
	{ "dev", MS_NOSUID },
	{ "nodev", DEF },
	{ "exec", DEF },
	{ "noexec", DEF | MS_NOEXEC },
	{ "symfollow", DEF },
	{ "nosymfollow", DEF | MS_NOSYMFOLLOW },
	{ "user", MS_NOSUID | MS_NODEV | MS_NOEXEC },
	{ "users", MS_NOSUID | MS_NODEV | MS_NOEXEC },
	{ "owner", DEF },
	{ "group", DEF },
	{ "defaults", DEF },
	{ "auto", DEF },
	{ "noauto", DEF },
	{ "nouser", DEF },
	{ "_netdev", DEF },
	{ "nofail", DEF },
	{ "silent", DEF },
	{ "loud", DEF },
	{ "x-systemd.automount", DEF },
	{ "x-systemd.device-timeout=10s", DEF },
	{ "X-mount.mkdir", DEF },
	{ "comment=systemd.automount", DEF },
	/* in order, the last says */
	{ "noatime,relatime", DEF | MS_RELATIME },
	{ "relatime,strictatime", DEF | MS_STRICTATIME },
	{ "strictatime,noatime", DEF | MS_NOATIME },
	{ "noatime,atime", DEF },
	{ "nodiratime,diratime", DEF },
	{ "sync,async,dirsync", DEF | MS_DIRSYNC },
	{ "suid,dev,nosuid", MS_NOSUID },
	{ "user,exec", MS_NOSUID | MS_NODEV },
	{ "users,exec,suid,dev", 0 },
	{ "noexec,exec", DEF },
	/* fstab lines */
	{ "rw,noatime,nodiratime,nosuid,nodev,noexec,sync,dirsync,lazytime",
	  DEF | MS_NOATIME | MS_NODIRATIME | MS_NOEXEC | MS_SYNCHRONOUS | MS_DIRSYNC |
	  MS_LAZYTIME },
	{ "defaults,nofail,_netdev,x-systemd.requires=udev,noatime,resolver=upcall",
	  DEF | MS_NOATIME },
	{ "ro,noatime,noexec", DEF | MS_RDONLY | MS_NOATIME | MS_NOEXEC },
	{ "", DEF },
	{ ",,noatime,", DEF | MS_NOATIME },
};

static void every_generic_option(void **state)
{
	struct mount_opts mo;
	char msg[256];

	(void)state;
	for (size_t i = 0; i < sizeof(generic) / sizeof(generic[0]); i++) {
		msg[0] = '\0';
		if (mount_opts_parse(generic[i].opts, &mo, msg, sizeof(msg)))
			fail_msg("-o %s refused: %s", generic[i].opts, msg);
		if (mo.flags != generic[i].flags)
			fail_msg("-o %s: flags %#lx, want %#lx", generic[i].opts, mo.flags,
				 generic[i].flags);
		assert_int_equal(mo.ro, !!(generic[i].flags & MS_RDONLY));
		assert_int_equal(mo.resolver, strstr(generic[i].opts, "resolver=upcall") ?
				 FSD_RESOLVER_UPCALL : FSD_RESOLVER_AUTO);
	}
	/* none */
	assert_int_equal(mount_opts_parse(NULL, &mo, msg, sizeof(msg)), 0);
	assert_int_equal(mo.flags, DEF);
	assert_false(mo.ro);
	assert_int_equal(mo.resolver, FSD_RESOLVER_AUTO);
}

static void resolvers(void **state)
{
	struct mount_opts mo;
	char msg[256];

	(void)state;
	assert_int_equal(mount_opts_parse("resolver=bpf", &mo, msg, sizeof(msg)), 0);
	assert_int_equal(mo.resolver, FSD_RESOLVER_BPF);
	assert_int_equal(mount_opts_parse("noatime,resolver=builtin", &mo, msg, sizeof(msg)), 0);
	assert_int_equal(mo.resolver, FSD_RESOLVER_BUILTIN);
	assert_int_equal(mo.flags, DEF | MS_NOATIME);
	assert_int_equal(mount_opts_parse("resolver=upcall,ro", &mo, msg, sizeof(msg)), 0);
	assert_int_equal(mo.resolver, FSD_RESOLVER_UPCALL);
	assert_true(mo.ro);
}

/* @tok alone has its flags written out in generic[] */
static bool in_generic(const char *tok)
{
	for (size_t i = 0; i < sizeof(generic) / sizeof(generic[0]); i++)
		if (!strcmp(generic[i].opts, tok))
			return true;
	return false;
}

/*
 * Every row is found by its name (a prefix row by a name it covers),
 * parses alone, and is one generic[] checks (but resolver=).
 */
static void every_row(void **state)
{
	const struct mount_opt *o;
	struct mount_opts mo;
	char tok[64], msg[256];
	size_t len;

	(void)state;
	for (o = mount_opt_table; o->name; o++) {
		len = strlen(o->name);
		if (o->kind == MOUNT_OPT_RESOLVER)
			snprintf(tok, sizeof(tok), "resolver=upcall");
		else if (o->name[len - 1] == '*')
			snprintf(tok, sizeof(tok), "%.*s%s", (int)len - 1, o->name, "something");
		else
			snprintf(tok, sizeof(tok), "%s", o->name);
		assert_ptr_equal(mount_opt_find(tok), o);
		if (mount_opts_parse(tok, &mo, msg, sizeof(msg)))
			fail_msg("-o %s refused: %s", tok, msg);
		if (o->name[len - 1] != '*' && !in_generic(tok))
			fail_msg("-o %s: not in generic[]", tok);
		/* a VFS row does what it says */
		if (o->kind == MOUNT_OPT_VFS) {
			assert_int_equal(mo.flags, (DEF | o->set) & ~o->clear);
			assert_true(o->set | o->clear);
		}
	}
}

static void refusals(void **state)
{
	static const struct {
		const char *opts, *named, *why;
	} bad[] = {
		{ "bogus", "-o bogus:", "unknown option" },
		{ "noatime,nodiratimex", "-o nodiratimex:", "unknown option" },
		{ "nodiratime,bogus,noatime", "-o bogus:", "unknown option" },
		{ "NOATIME", "-o NOATIME:", "unknown option" },
		{ "noatime=1", "-o noatime=1:", "unknown option" },
		{ "x", "-o x:", "unknown option" },
		{ "x_", "-o x_:", "unknown option" },
		{ "comment", "-o comment:", "unknown option" },
		{ "mand", "-o mand:", "unknown option" },
		{ "remount", "-o remount:", "unknown option" },
		{ "bind", "-o bind:", "unknown option" },
		{ "allow_other", "-o allow_other:", "unknown option" },
		{ "resolver", "-o resolver:", "unknown option" },
		{ "resolver=", "-o resolver=:", "resolver=bpf, resolver=builtin or" },
		{ "resolver=ebpf", "-o resolver=ebpf:", "resolver=bpf, resolver=builtin or" },
		{ "resolver=bpf,resolver=upcall", "-o resolver=upcall:", "given twice" },
		{ "ro,rw", "-o rw:", "ro or rw given twice" },
		{ "rw,noatime,rw", "-o rw:", "ro or rw given twice" },
	};
	struct mount_opts mo;
	char msg[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg[0] = '\0';
		if (mount_opts_parse(bad[i].opts, &mo, msg, sizeof(msg)) != -EINVAL)
			fail_msg("-o %s accepted", bad[i].opts);
		if (strncmp(msg, bad[i].named, strlen(bad[i].named)) ||
		    !strstr(msg, bad[i].why) || strchr(msg, '\n'))
			fail_msg("-o %s: \"%s\", want \"%s ... %s\"", bad[i].opts, msg,
				 bad[i].named, bad[i].why);
	}
	assert_null(mount_opt_find("bogus"));
	assert_null(mount_opt_find(""));
	assert_null(mount_opt_find("resolver"));
	assert_non_null(mount_opt_find("x-"));
}

/* famfs-bpf ARGS with stderr caught in @err; the exit code. */
static int run_err(char *err, size_t size, const char *arg0, ...)
{
	char *argv[16], path[] = "/tmp/test_mount_opts.XXXXXX";
	int argc = 0, ret, fd, saved;
	FILE *out = fopen("/dev/null", "w");
	va_list ap;
	ssize_t n;

	argv[argc++] = "famfs-bpf";
	va_start(ap, arg0);
	for (const char *a = arg0; a && argc < 15; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	fd = mkstemp(path);
	assert_true(fd >= 0 && out);
	unlink(path);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	ret = famfs_cli_run(argc, argv, out);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, err, size - 1, 0);
	err[n > 0 ? n : 0] = '\0';
	close(fd);
	fclose(out);
	return ret;
}

static void cli_mount_options(void **state)
{
	char err[1024];
	int ret;

	(void)state;
	assert_int_equal(run_err(err, sizeof(err), "mount", "-o", "noatime,nodiratime,bogus",
				 "/dev/null", "/nonexistent/famfs-bpf", NULL), CLI_EXIT_USAGE);
	assert_non_null(strstr(err, "-o bogus: unknown option"));
	assert_ptr_equal(strchr(err, '\n'), err + strlen(err) - 1);
	assert_int_equal(run_err(err, sizeof(err), "mount", "-o", "ro,noatime,rw",
				 "/dev/null", "/nonexistent/famfs-bpf", NULL), CLI_EXIT_USAGE);
	assert_non_null(strstr(err, "-o rw:"));
	/* the options pass: refused for want of root, or of the mount point */
	ret = run_err(err, sizeof(err), "mount", "-o",
		      "rw,noatime,nodiratime,relatime,strictatime,lazytime,sync,dirsync,nosuid,"
		      "nodev,noexec,defaults,auto,noauto,user,nouser,users,_netdev,nofail,"
		      "x-systemd.automount,comment=x,resolver=upcall",
		      "/dev/null", "/nonexistent/famfs-bpf", NULL);
	if (ret != CLI_EXIT_MOUNT_PERM && ret != CLI_EXIT_MOUNT_MNTPT)
		fail_msg("exit %d: %s", ret, err);
	assert_null(strstr(err, "unknown option"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_generic_option),
		cmocka_unit_test(resolvers),
		cmocka_unit_test(every_row),
		cmocka_unit_test(refusals),
		cmocka_unit_test(cli_mount_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
