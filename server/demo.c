// SPDX-License-Identifier: GPL-2.0
/*
 * famfs-bpf-demo: mount a famfs-bpf file system over /dev/pmem0 and
 * /dev/pmem1 with one simple and one interleaved file, then hand the mount
 * to a shell script (demo-guest.sh) that uses it like any file system.
 * The server runs in this process until the script is done.
 *
 *   famfs-bpf-demo MOUNTPOINT [bpf|builtin|upcall] -- COMMAND...
 *
 * The BPF resolver is the default: misses are answered in the kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "server.h"

#define MiB (1ULL << 20)

int main(int argc, char **argv)
{
	struct fbs_config cfg = {
		.resolver = FBS_RESOLVER_BPF,
		.ndevs = 2,
		.devs = { { .path = "/dev/pmem0" }, { .path = "/dev/pmem1" } },
		.alloc_start = 512 * MiB,
	};
	static const struct fmap_simple_ext simple_ext[] = {
		{ .file_off = 0, .len = 4 * MiB, .dev = 0, .dev_off = 64 * MiB },
		{ .file_off = 4 * MiB, .len = 4 * MiB, .dev = 1, .dev_off = 64 * MiB },
	};
	struct fbs_layout simple = { .kind = FBS_LAYOUT_SIMPLE, .nsimple = 2 };
	struct fbs_layout ileave = { .kind = FBS_LAYOUT_INTERLEAVED, .nileave = 1 };
	struct fbs_server *srv;
	int i, cmd = 0, status = 1, err;
	pid_t pid;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			cmd = i + 1;
			break;
		}
		if (!strcmp(argv[i], "builtin"))
			cfg.resolver = FBS_RESOLVER_BUILTIN;
		else if (!strcmp(argv[i], "bpf"))
			cfg.resolver = FBS_RESOLVER_BPF;
		else if (!strcmp(argv[i], "upcall"))
			cfg.resolver = FBS_RESOLVER_UPCALL;
		else
			cfg.mountpoint = argv[i];
	}
	if (!cfg.mountpoint || !cmd || cmd >= argc) {
		fprintf(stderr, "usage: %s MOUNTPOINT [bpf|builtin|upcall] -- COMMAND...\n",
			argv[0]);
		return 2;
	}
	fbs_log_set_level(FBS_LOG_INFO);

	/* 8 MiB in two extents, one on each device */
	simple.simple = simple_ext;
	/* 16 MiB dealt in 2 MiB chunks over both devices */
	ileave.ileave[0] = (struct fmap_ileave_ext){
		.len = 16 * MiB, .strip_shift = 1, .chunk_shift = 21,
		.strips = { { .dev = 0, .dev_off = 128 * MiB },
			    { .dev = 1, .dev_off = 128 * MiB } },
	};

	err = fbs_server_create(&cfg, &srv);
	if (err) {
		fprintf(stderr, "famfs-bpf-demo: mount failed: %s\n", strerror(-err));
		return 1;
	}
	if ((err = fbs_server_add_file(srv, "simple", 8 * MiB, &simple)) ||
	    (err = fbs_server_add_file(srv, "interleaved", 16 * MiB, &ileave)) ||
	    (err = fbs_server_start(srv))) {
		fprintf(stderr, "famfs-bpf-demo: %s\n", strerror(-err));
		goto out;
	}

	pid = fork();
	if (pid == 0) {
		execvp(argv[cmd], argv + cmd);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	printf("server: answered %lu FUSE_FMAP requests\n",
	       fbs_server_fmap_requests(srv));
out:
	fbs_server_destroy(srv);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
