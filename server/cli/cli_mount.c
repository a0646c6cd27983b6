// SPDX-License-Identifier: GPL-2.0
/*
 * famfs-bpf mount DEV... MNT and famfs-bpf umount MNT.
 *
 * mount opens the file system as its owner (fs.h), mounts and serves it
 * (fsd.h).  The BPF resolver loads (fsd_preload_start()) while the log
 * replays: in the test guest each took 0.5-1.5 s of a 100,000-file mount.
 * Without -f it forks before opening anything; the daemon (a grandchild,
 * in its own session) reports over a pipe once the kernel's INIT is
 * answered, or the one line that says why not, and the command exits with
 * it: a command that returned 0 left a live mount.
 *
 * -o resolver=bpf|builtin|upcall picks who answers the kernel's mapping misses;
 * without it the BPF resolver if the kernel can take it, else upcalls
 * (with one warning): fsd.h.
 *
 * The generic options (noatime, nosuid, sync, ..., and those only
 * mount(8) reads) become mount(2) flags or are dropped: mount_opts.h.
 *
 * One owner across hosts (fs.h): a file system another host owns is
 * refused (exit 36, the line names the holder); -o takeover takes it
 * over once its owner is seen dead (no heartbeat for a whole lease).
 *
 * -o ro mounts a read-only follower: the file system opened without
 * FS_OPEN_OWNER (no log lock: the owner may be this host or another one
 * sharing the memory), mounted MS_RDONLY, caught up with "famfs-bpf
 * logplay" (cli_logplay.c).  A corrupt log mounts up to the bad entry,
 * with fs_open()'s warning naming the device and the log offset.
 *
 * Replaying a long log (more than CLI_REPLAY_QUIET_ENTRIES entries, or
 * CLI_REPLAY_QUIET_MS) shows its progress on the command's stderr if that
 * is a terminal: the daemon replays before it detaches, with the stderr it
 * inherited (cli_replay_progress()).
 *
 * Each refusal has its own exit code (cli.h): no CAP_SYS_ADMIN is checked
 * before anything is opened; fs_open()'s and fsd_create()'s errnos map to
 * the rest (open_code(), create_code()).
 *
 * umount unmounts, then waits until the daemon let go of the log device
 * (the owner's flock): the devices are free for mkfs or another mount.
 * A follower holds no lock, so there is nothing to wait for.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

#include "cli.h"
#include "fs/fs.h"
#include "fsd/fsd.h"
#include "fs/log.h"
#include "fsd/mount_opts.h"

#define UMOUNT_WAIT_MS	10000
#define BUSY_WAIT_MS	3000

/* What the daemon tells the command: an exit code and its one line. */
struct mount_report {
	int code;
	char msg[512];
};

struct mount_ctx {
	int report_fd;		/* -1: foreground */
	const char *mnt;
	struct fsd *fsd;
};

static void report(int fd, int code, const char *msg)
{
	struct mount_report r = { .code = code };
	ssize_t n;

	snprintf(r.msg, sizeof(r.msg), "%s", msg);
	do {
		n = write(fd, &r, sizeof(r));
	} while (n < 0 && errno == EINTR);
}

/*
 * -o takeover is this command's alone (not mount_opts.h's table, so not
 * the mount(8) helper's): taking a file system over from a dead host is
 * an administrator's act, not an fstab line.  Taken out of @opts into
 * @rest (NULL: none left); true if given.
 */
static bool take_takeover(const char *opts, char *rest, size_t size)
{
	const char *p = opts, *end;
	bool found = false;
	size_t used = 0, len;

	rest[0] = '\0';
	while (p && *p) {
		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		if (len == strlen("takeover") && !strncmp(p, "takeover", len))
			found = true;
		else if (len && used + len + 2 < size)
			used += snprintf(rest + used, size - used, "%s%.*s", used ? "," : "",
					 (int)len, p);
		p = end ? end + 1 : NULL;
	}
	return found;
}

static int parse_options(const char *opts, struct mount_opts *mo, bool *takeover)
{
	char msg[256], rest[4096];
	int err;

	*takeover = false;
	if (opts && strlen(opts) < sizeof(rest) - 1) {
		*takeover = take_takeover(opts, rest, sizeof(rest));
		opts = rest[0] ? rest : NULL;
	}
	err = mount_opts_parse(opts, mo, msg, sizeof(msg));
	if (!err && *takeover && mo->ro) {
		snprintf(msg, sizeof(msg), "-o takeover: an owner's option, not a follower's (ro)");
		err = -EINVAL;
	}

	if (err == -ENOMEM) {
		pr_err("mount: %s", msg);
		return CLI_EXIT_OPERATIONAL;
	}
	if (err) {
		pr_err("mount: %s (see famfs-bpf-mount(8))", msg);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* The mount point before anything is opened: a missing one is a usage slip. */
static int check_mountpoint(const char *mnt)
{
	struct stat st;

	if (stat(mnt, &st)) {
		pr_err("mount: %s: %s", mnt, strerror(errno));
		return CLI_EXIT_MOUNT_MNTPT;
	}
	if (!S_ISDIR(st.st_mode)) {
		pr_err("mount: %s: not a directory", mnt);
		return CLI_EXIT_MOUNT_MNTPT;
	}
	if (!fsd_mount_find(mnt, NULL, NULL, 0)) {
		pr_err("mount: %s: a famfs-bpf file system is mounted there already", mnt);
		return CLI_EXIT_MOUNT_MNTPT;
	}
	return 0;
}

/*
 * The kernel wants CAP_SYS_ADMIN to mount and to register a device
 * (FUSE_DEV_IOC_BACKING_OPEN): say so before anything is opened.
 */
static int check_privilege(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};

	if (syscall(SYS_capget, &hdr, data)) {
		pr_err("mount: capget: %s", strerror(errno));
		return CLI_EXIT_OPERATIONAL;
	}
	if (!(data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN))) {
		pr_err("mount: permission denied: mounting needs root (CAP_SYS_ADMIN)");
		return CLI_EXIT_MOUNT_PERM;
	}
	return 0;
}

static int open_code(int err)
{
	switch (err) {
	case -ENODEV:
		return CLI_EXIT_MOUNT_NOFS;
	case -ENOTBLK:
		return CLI_EXIT_MOUNT_NODAX;
	case -EBUSY: case -EUSERS:
		return CLI_EXIT_MOUNT_BUSY;
	case -EACCES: case -EPERM:
		return CLI_EXIT_MOUNT_PERM;
	default:
		return CLI_EXIT_OPERATIONAL;
	}
}

static int create_code(int err)
{
	switch (err) {
	case -EOPNOTSUPP:
		return CLI_EXIT_MOUNT_NOFMAP;
	case -EPERM: case -EACCES:
		return CLI_EXIT_MOUNT_PERM;
	/* registering: another file system holds a device's DAX */
	case -EBUSY:
		return CLI_EXIT_MOUNT_BUSY;
	case -ENOENT: case -ENOTDIR: case -ELOOP: case -ENAMETOOLONG:
		return CLI_EXIT_MOUNT_MNTPT;
	default:
		return CLI_EXIT_OPERATIONAL;
	}
}

/* From the daemon's helper thread, once the mount answers (or will not). */
static void mount_ready(void *arg, int err)
{
	struct mount_ctx *ctx = arg;
	char msg[512] = "";
	int devnull;

	if (err && ctx->fsd && fsd_msg(ctx->fsd)[0])
		snprintf(msg, sizeof(msg), "mount: %s", fsd_msg(ctx->fsd));
	else if (err)
		snprintf(msg, sizeof(msg), "mount: %s: the mount does not answer: %s", ctx->mnt,
			 strerror(-err));
	if (ctx->report_fd < 0) {
		if (err)
			pr_err("%s", msg);
		return;
	}
	report(ctx->report_fd, err ? CLI_EXIT_OPERATIONAL : CLI_EXIT_OK, msg);
	close(ctx->report_fd);
	ctx->report_fd = -1;
	/* detached: nobody reads our terminal any more; messages go to syslog */
	fbs_log_to_syslog("famfs-bpf");
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		close(devnull);
	}
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cli_replay_progress(void *ctx, __u64 done, __u64 total)
{
	struct cli_replay_progress *p = ctx;

	/* a short replay says nothing, not even its end */
	if (!p->shown && (done >= total || (total <= CLI_REPLAY_QUIET_ENTRIES &&
					    now_ms() - p->start_ms < CLI_REPLAY_QUIET_MS)))
		return;
	p->shown = true;
	cli_progress("replaying the log", done, total);
}

/*
 * The devices and the log, not replayed yet (fs_open_log()); as owner
 * (@ro: a follower).  udev probes a device that was just written (by
 * mkfs, say) under a shared flock, which the owner's exclusive one runs
 * into for a moment: -EBUSY is retried for a while before it means another
 * owner.
 */
static int open_fs(char **devs, int ndevs, unsigned int flags, struct fs **fs, char *msg,
		   size_t msglen)
{
	long deadline = now_ms() + BUSY_WAIT_MS;
	int err;

	for (;;) {
		err = fs_open_log((const char *const *)devs, ndevs, flags, fs, msg, msglen);
		if (err != -EBUSY || now_ms() >= deadline)
			return err;
		usleep(50 * 1000);
	}
}

/* Open, mount, serve until unmounted; an exit code.  Failures before serving go to @report_fd. */
static int serve(char **devs, int ndevs, const char *mnt, const struct mount_opts *mo,
		 bool takeover, int report_fd)
{
	struct mount_ctx ctx = { .report_fd = report_fd, .mnt = mnt };
	struct fsd_config cfg = {
		.mountpoint = mnt,
		.resolver = mo->resolver,
		.devs = (const char *const *)devs,
		.ndevs = ndevs,
		.read_only = mo->ro,
		.ms_flags = mo->flags,
	};
	struct cli_replay_progress progress;
	struct fsd *fsd = NULL;
	struct fs *fs = NULL;
	char msg[512], line[600];
	int err, code;

	err = open_fs(devs, ndevs,
		      mo->ro ? 0 : FS_OPEN_OWNER | (takeover ? FS_OPEN_TAKEOVER : 0), &fs, msg,
		      sizeof(msg));
	if (err) {
		code = open_code(err);
		goto fail;
	}
	/* if it cannot start, cfg.preload stays NULL: fsd_create() loads itself */
	(void)fsd_preload_start(&cfg, fs_log_hint(fs), &cfg.preload);
	progress = (struct cli_replay_progress){ .start_ms = now_ms() };
	fs_set_replay_progress(cli_replay_progress, &progress);
	err = fs_open_replay(fs, msg, sizeof(msg));
	fs_set_replay_progress(NULL, NULL);
	if (err) {
		fsd_preload_free(cfg.preload);
		code = open_code(err);
		goto fail;
	}
	err = fsd_create(fs, &cfg, &fsd, msg, sizeof(msg));
	if (err) {
		code = create_code(err);
		goto fail;
	}
	ctx.fsd = fsd;
	err = fsd_run(fsd, mount_ready, &ctx);
	if (ctx.report_fd >= 0)		/* the loop ended before the helper said */
		mount_ready(&ctx, err ? err : -ENOTCONN);
	fsd_destroy(fsd);
	fs_close(fs);
	return err ? CLI_EXIT_OPERATIONAL : CLI_EXIT_OK;

fail:
	snprintf(line, sizeof(line), "mount: %s", msg);
	if (report_fd >= 0)
		report(report_fd, code, line);
	else
		pr_err("%s", line);
	fsd_destroy(fsd);
	if (fs)
		fs_close(fs);
	return code;
}

/* The command's side: wait for the daemon's report. */
static int wait_report(int fd, pid_t child)
{
	struct mount_report r;
	ssize_t n;
	int status;

	/* the child only forks the daemon and exits */
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	do {
		n = read(fd, &r, sizeof(r));
	} while (n < 0 && errno == EINTR);
	close(fd);
	if (n != (ssize_t)sizeof(r)) {
		pr_err("mount: the daemon died before the mount came up");
		return CLI_EXIT_OPERATIONAL;
	}
	r.msg[sizeof(r.msg) - 1] = '\0';
	if (r.code)
		pr_err("%s", r.msg);
	return r.code;
}

int cli_mount(const struct cli_mount_args *args, int n, char **operands, FILE *out)
{
	const char *mnt = operands[n - 1];
	int ndevs = n - 1, p[2], code;
	struct mount_opts mo;
	bool takeover;
	pid_t pid;

	(void)out;
	code = parse_options(args->options, &mo, &takeover);
	if (code)
		return code;
	if (ndevs < 1) {
		pr_err("mount: missing DEV... MNT (see famfs-bpf mount --help)");
		return CLI_EXIT_USAGE;
	}
	code = check_privilege();
	if (!code)
		code = check_mountpoint(mnt);
	if (code)
		return code;
	if (args->debug)
		fbs_log_set_level(FBS_LOG_DEBUG);
	if (args->foreground || args->debug)
		return serve(operands, ndevs, mnt, &mo, takeover, -1);

	if (pipe2(p, O_CLOEXEC)) {
		pr_err("mount: pipe: %s", strerror(errno));
		return CLI_EXIT_OPERATIONAL;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		pr_err("mount: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return CLI_EXIT_OPERATIONAL;
	}
	if (pid) {
		close(p[1]);
		return wait_report(p[0], pid);
	}
	/* child: a new session, and a grandchild that no terminal or parent waits on */
	close(p[0]);
	setsid();
	pid = fork();
	if (pid)
		_exit(pid < 0 ? CLI_EXIT_OPERATIONAL : CLI_EXIT_OK);
	/* hold nothing of the caller's (a test runner's pipes) but our report */
	if (p[1] > 3)
		close_range(3, p[1] - 1, 0);
	close_range(p[1] + 1, ~0U, 0);
	code = serve(operands, ndevs, mnt, &mo, takeover, p[1]);
	_exit(code);
}

/* The daemon holds the log device locked until it has let go of everything. */
static int wait_daemon(const char *dev)
{
	long deadline = now_ms() + UMOUNT_WAIT_MS;
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	int ret = -ETIMEDOUT;

	if (fd < 0)
		return -errno;
	do {
		if (!flock(fd, LOCK_EX | LOCK_NB)) {
			flock(fd, LOCK_UN);
			ret = 0;
			break;
		}
		if (errno != EWOULDBLOCK) {
			ret = -errno;
			break;
		}
		usleep(20 * 1000);
	} while (now_ms() < deadline);
	close(fd);
	return ret;
}

int cli_umount(const struct cli_umount_args *args, const char *mnt, FILE *out)
{
	char real[PATH_MAX], src[PATH_MAX];
	struct statvfs sv;
	bool ro;
	int err;

	(void)args;
	(void)out;
	if (!realpath(mnt, real)) {
		pr_err("umount: %s: %s", mnt, strerror(errno));
		return CLI_EXIT_OPERATIONAL;
	}
	err = fsd_mount_find(real, NULL, src, sizeof(src));
	if (err) {
		pr_err("umount: %s: %s", mnt, err == -ENOENT ? "not mounted" :
		       err == -EINVAL ? "not a famfs-bpf mount" : strerror(-err));
		return CLI_EXIT_OPERATIONAL;
	}
	/* a follower holds no lock to wait for (and the owner's may be here) */
	ro = !statvfs(real, &sv) && (sv.f_flag & ST_RDONLY);
	if (umount2(real, UMOUNT_NOFOLLOW)) {
		pr_err("umount: %s: %s", mnt, errno == EBUSY ? "busy (files are open on it)" :
		       strerror(errno));
		return CLI_EXIT_OPERATIONAL;
	}
	err = ro ? 0 : wait_daemon(src);
	if (err == -ENOENT || err == -ENXIO) {
		/* the device went (unbound, removed): its lock went with it */
		pr_warn("umount: %s: unmounted; its log device %s is gone, so there is no lock to wait for: %s",
			mnt, src, strerror(-err));
		return CLI_EXIT_OK;
	}
	if (err) {
		pr_err("umount: %s: unmounted, but its daemon still holds %s: %s", mnt, src,
		       strerror(-err));
		return CLI_EXIT_OPERATIONAL;
	}
	return CLI_EXIT_OK;
}
