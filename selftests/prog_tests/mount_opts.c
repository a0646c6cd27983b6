// SPDX-License-Identifier: GPL-2.0
/*
 * mount(8)'s generic options on a famfs-bpf mount (server/fsd/mount_opts.c),
 * through every way in: mount -t fuse.famfs-bpf -o, an fstab line
 * (mount -T FILE), the helper run as mount(8) runs it, famfs-bpf mount -o.
 * One subtest per row of a table: mount, then check that
 * /proc/self/mountinfo shows the flags the row wants (the mount's own,
 * nosuid, noatime, ..., and the super block's, sync, lazytime, ...) and not
 * those it must not; that noexec refuses access(X_OK) and its absence
 * allows it; that the files read and a new one writes (EROFS with ro);
 * unmount.  mount(8) does not pass its defaults (suid, dev, exec, ...) on
 * to a helper unless they undo an earlier option: through it the mount
 * stays nosuid and nodev.  Then the refusals: an unknown option fails with its name and
 * mounts nothing, unless mount -s drops it.  Every path ends unmounted:
 * later tests mkfs the same device.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "fixture.h"
#include "test_progs.h"

#define DEV		"/dev/pmem2"
#define MNT		"/tmp/mount_opts.mnt"
#define FSTAB		"/tmp/mount_opts.fstab"
#define SCRIPT		"run.sh"
#define SCRIPT_TEXT	"#!/bin/sh\nexit 0\n"

#define famfs(...) fixture_famfs(0, __VA_ARGS__)
#define cmd(...) fixture_cmd(0, __VA_ARGS__)

static char helper_bin[PATH_MAX];

enum how {
	MOUNT_T,	/* mount -t fuse.famfs-bpf -o OPTS DEV MNT */
	FSTAB_LINE,	/* "DEV MNT fuse.famfs-bpf OPTS 0 0" in FSTAB, mount -T FSTAB MNT */
	HELPER,		/* mount.fuse.famfs-bpf DEV MNT -o OPTS */
	FAMFS,		/* famfs-bpf mount -o OPTS DEV MNT */
};

static const struct row {
	const char *name;
	enum how how;
	const char *opts;
	const char *want;	/* in mountinfo, mount or super block options */
	const char *absent;	/* not there */
} rows[] = {
	{ "mount_t", MOUNT_T, "noatime,nodiratime,nosuid,nodev,noexec,resolver=upcall",
	  "rw,nosuid,nodev,noexec,noatime,nodiratime", "relatime,sync" },
	{ "mount_t_sync", MOUNT_T,
	  "sync,dirsync,lazytime,strictatime,nosymfollow,resolver=upcall",
	  "rw,nosuid,nodev,sync,dirsync,lazytime,nosymfollow", "noatime,relatime,noexec" },
	{ "mount_t_relatime", MOUNT_T, "noatime,relatime,resolver=upcall",
	  "relatime,nosuid,nodev", "noatime,nodiratime,noexec,sync,lazytime" },
	/* mount(8) keeps its defaults, suid, dev, exec, ..., from the helper: nosuid, nodev stay */
	{ "mount_t_rest", MOUNT_T,
	  "rw,suid,dev,exec,async,atime,diratime,nolazytime,symfollow,norelatime,nostrictatime,"
	  "silent,loud,resolver=upcall",
	  "rw,nosuid,nodev", "noexec,noatime,nodiratime,sync,lazytime,nosymfollow" },
	{ "fstab", FSTAB_LINE,
	  "defaults,noatime,nodiratime,nosuid,nodev,noexec,nofail,_netdev,x-famfs.test=1,"
	  "comment=famfs,resolver=upcall",
	  "rw,nosuid,nodev,noexec,noatime,nodiratime", "relatime,sync" },
	{ "fstab_ro", FSTAB_LINE, "ro,auto,noatime,noexec,resolver=upcall",
	  "ro,nosuid,nodev,noexec,noatime", "rw,relatime" },
	/* ... but passes suid, exec after users: "nodev,users,exec,suid" */
	{ "fstab_rest", FSTAB_LINE,
	  "noauto,nouser,owner,group,X-mount.test,dirsync,users,exec,suid,resolver=upcall",
	  "rw,nodev,dirsync", "nosuid,noexec,noatime,sync" },
	{ "helper", HELPER,
	  "rw,user,nouser,users,owner,group,silent,loud,X-mount.test,defaults,auto,noauto,"
	  "_netdev,nofail,x-a,comment=b,async,atime,diratime,nolazytime,symfollow,"
	  "resolver=upcall",
	  "rw,nosuid,nodev,noexec", "noatime,nodiratime,sync,dirsync,lazytime,nosymfollow" },
	{ "helper_suid_dev", HELPER, "rw,suid,dev,exec,resolver=upcall", "rw",
	  "nosuid,nodev,noexec" },
	{ "famfs_mount", FAMFS, "noatime,nodiratime,noexec,sync,resolver=upcall",
	  "rw,nosuid,nodev,noexec,noatime,nodiratime,sync", "relatime" },
};

/*
 * The mount and super block options of MNT's (last) line in mountinfo,
 * "ID PARENT MAJ:MIN ROOT POINT MOUNT_OPTS [OPTIONAL...] - TYPE SOURCE SUPER_OPTS",
 * as one comma-separated list in @buf.
 */
static bool mnt_options(char *buf, size_t size)
{
	char line[2048], point[PATH_MAX], mopts[1024], sopts[1024];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	const char *sep;
	bool found = false;

	if (!ASSERT_TRUE(f != NULL, "mountinfo"))
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*d %*d %*s %*s %4095s %1023s", point, mopts) != 2 ||
		    strcmp(point, MNT))
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%*s %*s %1023s", sopts) != 1)
			continue;
		snprintf(buf, size, "%s,%s", mopts, sopts);
		found = true;
	}
	fclose(f);
	return ASSERT_TRUE(found, "in mountinfo");
}

/* @opt is an element of the comma-separated @list */
static bool has_opt(const char *list, const char *opt)
{
	size_t len = strlen(opt);

	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, opt, len) && (p[len] == ',' || !p[len]))
			return true;
	return false;
}

/* Each of the comma-separated @opts is (@want) or is not in @list (printed before). */
static void check_opts(const char *list, const char *opts, bool want)
{
	char copy[256], *tok, *save = NULL;

	snprintf(copy, sizeof(copy), "%s", opts);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		ASSERT_TRUE(has_opt(list, tok) == want, tok);
}

static int do_mount(enum how how, const char *opts)
{
	FILE *f;

	switch (how) {
	case MOUNT_T:
		return cmd("mount", "-t", "fuse.famfs-bpf", "-o", (char *)opts, DEV, MNT);
	case FSTAB_LINE:
		f = fopen(FSTAB, "w");
		if (!ASSERT_TRUE(f != NULL, "fstab"))
			return -1;
		fprintf(f, "# famfs-bpf\n%s %s fuse.famfs-bpf %s 0 0\n", DEV, MNT, opts);
		fclose(f);
		return cmd("mount", "-T", FSTAB, MNT);
	case HELPER:
		return cmd(helper_bin, DEV, MNT, "-o", (char *)opts);
	case FAMFS:
		return famfs("mount", "-o", opts, DEV, MNT);
	}
	return -1;
}

/* The files work as the flags say: reads, writes (or EROFS), exec permission. */
static void check_files(const struct row *r, bool ro, bool noexec)
{
	static const char text[] = "written under -o ";
	char buf[256], path[PATH_MAX];
	int fd;

	fixture_check_read(fixture_join(MNT, SCRIPT), SCRIPT_TEXT, strlen(SCRIPT_TEXT), true);
	if (noexec) {
		ASSERT_EQ(access(fixture_join(MNT, SCRIPT), X_OK), -1, "access X_OK");
		ASSERT_EQ(errno, EACCES, "noexec: EACCES");
	} else {
		ASSERT_OK(access(fixture_join(MNT, SCRIPT), X_OK), "exec allowed");
	}
	snprintf(path, sizeof(path), "%s/%s", MNT, r->name);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (ro) {
		ASSERT_EQ(fd, -1, "create on ro");
		ASSERT_EQ(errno, EROFS, "create: EROFS");
		if (fd >= 0)
			close(fd);
		return;
	}
	if (!ASSERT_OK_FD(fd, "create"))
		return;
	snprintf(buf, sizeof(buf), "%s%s", text, r->opts);
	fixture_write_fd(fd, buf, strlen(buf), strlen(buf));
	ASSERT_OK(close(fd), "close");
	fixture_check_file(path, buf, strlen(buf), true);
}

static void test_row(const struct row *r)
{
	char list[2048];

	fixture_ensure_unmounted(MNT);
	if (!ASSERT_EQ(do_mount(r->how, r->opts), 0, r->opts) ||
	    !ASSERT_TRUE(fixture_mounted(MNT), "mounted") || !mnt_options(list, sizeof(list)))
		goto out;
	printf("# -o %s: %s\n", r->opts, list);
	check_opts(list, r->want, true);
	check_opts(list, r->absent, false);
	check_files(r, has_opt(list, "ro"), has_opt(list, "noexec"));
out:
	fixture_ensure_unmounted(MNT);
	unlink(FSTAB);
}

static void test_setup(void)
{
	if (fixture_mkfs_mount(DEV, MNT, NULL) &&
	    fixture_write_file(fixture_join(MNT, SCRIPT), SCRIPT_TEXT, strlen(SCRIPT_TEXT),
			       4096))
		ASSERT_OK(chmod(fixture_join(MNT, SCRIPT), 0755), "chmod");
	fixture_ensure_unmounted(MNT);
}

static void test_unknown(void)
{
	char list[2048];

	fixture_ensure_unmounted(MNT);
	ASSERT_NEQ(cmd("mount", "-t", "fuse.famfs-bpf", "-o", "nodiratime,bogus", DEV, MNT),
		   0, "mount -t -o bogus");
	ASSERT_TRUE(strstr(fixture_err, "-o bogus: unknown option") != NULL, "names it");
	ASSERT_FALSE(fixture_mounted(MNT), "not mounted");
	ASSERT_EQ(cmd(helper_bin, DEV, MNT, "-o", "noatime,bogus2"), 1, "helper -o bogus2");
	ASSERT_TRUE(strstr(fixture_err, "-o bogus2: unknown option") != NULL &&
		    fixture_one_line(fixture_err), "one line naming it");
	ASSERT_FALSE(fixture_mounted(MNT), "not mounted");
	ASSERT_EQ(famfs("mount", "-o", "noatime,bogus3", DEV, MNT), CLI_EXIT_USAGE,
		  "famfs-bpf mount -o bogus3");
	ASSERT_TRUE(strstr(fixture_err, "-o bogus3: unknown option") != NULL &&
		    fixture_one_line(fixture_err), "one line naming it");
	ASSERT_FALSE(fixture_mounted(MNT), "not mounted");
	ASSERT_EQ(cmd(helper_bin, DEV, MNT, "-o", "resolver=ebpf"), 1, "helper resolver=ebpf");
	ASSERT_TRUE(strstr(fixture_err, "resolver=ebpf") != NULL, "names it");
	ASSERT_FALSE(fixture_mounted(MNT), "not mounted");

	/* sloppy: dropped with a warning that names it, the rest applied */
	if (ASSERT_EQ(cmd("mount", "-s", "-t", "fuse.famfs-bpf", "-o",
			  "bogus,noatime,resolver=upcall", DEV, MNT), 0, "mount -s") &&
	    ASSERT_TRUE(fixture_mounted(MNT), "mounted") && mnt_options(list, sizeof(list))) {
		ASSERT_TRUE(strstr(fixture_err, "-o bogus: unknown option, ignored") != NULL,
			    "warns");
		ASSERT_TRUE(has_opt(list, "noatime"), "noatime");
	}
	fixture_ensure_unmounted(MNT);
}

void test_mount_opts(void)
{
	mkdir(MNT, 0755);
	if (!fixture_famfs_bin() ||
	    !fixture_find_binary("server/mount.fuse.famfs-bpf", helper_bin, sizeof(helper_bin)))
		return;
	fixture_ensure_unmounted(MNT);
	if (!fixture_install_mount_helper(helper_bin))
		goto out;
	if (test__start_subtest("setup"))
		test_setup();
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (test__start_subtest(rows[i].name))
			test_row(&rows[i]);
	if (test__start_subtest("unknown"))
		test_unknown();
out:
	fixture_ensure_unmounted(MNT);
	fixture_remove_mount_helper();
	unlink(FSTAB);
}
