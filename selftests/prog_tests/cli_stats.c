// SPDX-License-Identifier: GPL-2.0
/*
 * famfs-bpf stats MNT on live mounts: the counters it prints are the
 * kernel's for that mount (a read through the BPF resolver shows as
 * bpf_resolves and no upcalls; through the upcall resolver as upcalls),
 * and it names the attached resolver and the pinned maps.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"

#define SIZE (2 * MiB)

/* "  name  value" from the stats output; -1 if absent */
static long long stats_value(const char *text, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "  %s ", name);
	p = strstr(text, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static void one_mount(enum fbs_resolver resolver)
{
	struct fmap_simple_ext ext = { .len = SIZE, .dev = 0, .dev_off = 250 * MiB };
	struct fixture_opts opts = { .resolver = resolver };
	bool bpf = resolver == FBS_RESOLVER_BPF;
	struct fixture fx = { 0 };
	const char *text = fixture_out;
	char path[128], buf[4096];
	struct fbs_layout l;
	int fd;

	if (!ASSERT_OK(fixture_mount(&fx, &opts), "mount"))
		goto out;
	layout_simple(&l, 1, &ext);
	if (!ASSERT_OK(fbs_server_add_file(fx.srv, "f", SIZE, &l), "add"))
		goto out;
	fd = open(fixture_path(&fx, "f", path, sizeof(path)), O_RDONLY);
	if (!ASSERT_OK_FD(fd, "open"))
		goto out;
	ASSERT_EQ(pread(fd, buf, sizeof(buf), 0), sizeof(buf), "read");
	close(fd);

	/* the binary, as a user would run it, on the mount this process serves */
	if (!ASSERT_EQ(fixture_famfs(FX_LOG_OUT, "stats", fx.mnt), 0, "stats exits 0"))
		goto out;
	ASSERT_EQ(stats_value(text, "cache_misses"), fixture_stat(&fx, "cache_misses"),
		  "the mount's cache_misses");
	if (bpf) {
		ASSERT_GT(stats_value(text, "bpf_resolves"), 0, "bpf_resolves");
		ASSERT_EQ(stats_value(text, "upcalls"), 0, "no upcalls");
		ASSERT_TRUE(strstr(text, "resolver attached") != NULL, "attached");
		ASSERT_TRUE(strstr(text, "/sys/fs/bpf/famfs-bpf/") != NULL &&
			    strstr(text, "slots") != NULL, "pinned maps named");
	} else {
		ASSERT_GT(stats_value(text, "upcalls"), 0, "upcalls");
		ASSERT_TRUE(strstr(text, "no resolver attached") != NULL,
			    "nothing attached");
	}
out:
	fixture_unmount(&fx);
}

void test_cli_stats(void)
{
	if (!fixture_famfs_bin())
		return;
	if (test__start_subtest("bpf"))
		one_mount(FBS_RESOLVER_BPF);
	if (test__start_subtest("upcall"))
		one_mount(FBS_RESOLVER_UPCALL);
}
