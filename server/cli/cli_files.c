// SPDX-License-Identifier: GPL-2.0
/*
 * famfs-bpf creat, cp and mkdir: putting files into a mounted famfs-bpf
 * file system.
 *
 * They work through the mount with ordinary system calls; what they add
 * over touch/cp/mkdir is that they refuse targets outside a famfs-bpf
 * mount, set a file's stripe policy (the user.famfs.stripe extended
 * attribute) before its first byte is allocated, and leave nothing
 * partial behind when a copy fails (a full file system, above all).
 *
 * famfs allocates on write: a file that was only ftruncate()d has no
 * space behind it, and a later write could fail with ENOSPC.  creat
 * therefore writes zeroes over the whole size, so the space is reserved
 * when it returns.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cli.h"
#include "famfs_xattr.h"
#include "fmap.h"
#include "fs/log.h"

#define FUSE_SUPER_MAGIC	0x65735546
#define FAMFS_FSTYPE		"fuse.famfs-bpf"
#define IO_BLOCK		(2U << 20)	/* the allocation unit: one write each */
#define PROGRESS_MIN		(64ULL << 20)	/* smaller copies are quick: no progress */
#define DEFAULT_CHUNK		(2ULL << 20)
#define MIN_CHUNK		(2ULL << 20)	/* the allocation unit (famfs_xattr.h) */

/* A stripe policy from -N/-C; what is not given comes from the file's. */
struct stripe {
	bool set;
	bool has_strips, has_chunk;
	unsigned int strips;
	__u64 chunk;
};

/* Is the mount with device number @dev a famfs-bpf one?  mountinfo says. */
static int mount_type_is_famfs(dev_t dev, bool *famfs)
{
	char *line = NULL, want[32];
	size_t cap = 0;
	FILE *f;

	*famfs = false;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	snprintf(want, sizeof(want), "%u:%u", major(dev), minor(dev));
	/* "ID PARENT MAJ:MIN ROOT MNT OPTS [TAGS...] - FSTYPE SOURCE SUPEROPTS" */
	while (getline(&line, &cap, f) > 0) {
		char *majmin, *sep, *save = NULL;

		strtok_r(line, " ", &save);
		strtok_r(NULL, " ", &save);
		majmin = strtok_r(NULL, " ", &save);
		if (!majmin || strcmp(majmin, want))
			continue;
		sep = strstr(save ? save : "", " - ");
		if (!sep)
			continue;
		sep += 3;
		if (!strncmp(sep, FAMFS_FSTYPE " ", strlen(FAMFS_FSTYPE) + 1)) {
			*famfs = true;
			break;
		}
	}
	free(line);
	fclose(f);
	return 0;
}

int cli_check_famfs(const char *cmd, const char *path)
{
	struct statfs sfs;
	struct stat st;
	bool famfs;
	int err;

	if (stat(path, &st) || statfs(path, &sfs)) {
		pr_err("%s: %s: %s", cmd, path, strerror(errno));
		return CLI_EXIT_OPERATIONAL;
	}
	/* statfs first: cheap, and mountinfo is only read for FUSE */
	if (sfs.f_type != FUSE_SUPER_MAGIC) {
		pr_err("%s: %s: not in a famfs-bpf mount", cmd, path);
		return CLI_EXIT_NOT_FAMFS;
	}
	err = mount_type_is_famfs(st.st_dev, &famfs);
	if (err) {
		pr_err("%s: /proc/self/mountinfo: %s", cmd, strerror(-err));
		return CLI_EXIT_OPERATIONAL;
	}
	if (!famfs) {
		pr_err("%s: %s: in a FUSE mount that is not famfs-bpf", cmd, path);
		return CLI_EXIT_NOT_FAMFS;
	}
	return 0;
}

/* The directory that would hold @path, in @buf. */
static const char *parent_of(const char *path, char *buf, size_t size)
{
	snprintf(buf, size, "%s", path);
	return dirname(buf);
}

static const char *type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFLNK: return "a symbolic link";
	case S_IFIFO: return "a fifo";
	case S_IFSOCK: return "a socket";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFDIR: return "a directory";
	case S_IFREG: return "a regular file";
	default: return "of an unknown type";
	}
}

/* Exit code of a failed write, creation and so on: ENOSPC has its own. */
static int errno_code(int err)
{
	switch (err) {
	case ENOSPC: return CLI_EXIT_NOSPC;
	case EEXIST: return CLI_EXIT_EXISTS;
	default: return CLI_EXIT_OPERATIONAL;
	}
}

/* ---- stripe policy ---- */

static bool is_pow2(__u64 v)
{
	return v && !(v & (v - 1));
}

/* Validate -N/-C before anything is created. */
static int stripe_parse(const char *cmd, const char *strips, __u64 chunk, struct stripe *sp)
{
	unsigned long v;
	char *end;

	memset(sp, 0, sizeof(*sp));
	if (strips) {
		errno = 0;
		v = strtoul(strips, &end, 10);
		if (*strips < '0' || *strips > '9' || *end || errno || !v ||
		    v > FMAP_MAX_STRIPS) {
			pr_err("%s: -N %s: the strip count is 1 to %d", cmd, strips,
			       FMAP_MAX_STRIPS);
			return CLI_EXIT_USAGE;
		}
		sp->strips = v;
		sp->has_strips = true;
	}
	if (chunk) {
		if (!is_pow2(chunk) || chunk < MIN_CHUNK ||
		    chunk > FAMFS_XATTR_STRIPE_MAX_CHUNK) {
			pr_err("%s: -C %llu: the chunk size is a power of two from 2M to 256M", cmd,
			       (unsigned long long)chunk);
			return CLI_EXIT_USAGE;
		}
		sp->chunk = chunk;
		sp->has_chunk = true;
	}
	sp->set = sp->has_strips || sp->has_chunk;
	return 0;
}

/*
 * Give the new, still empty file @fd the policy: the half not given on the
 * command line is the file's current one (inherited from its directory).
 */
static int stripe_apply(const char *cmd, const char *path, int fd, const struct stripe *sp)
{
	unsigned long long cur_chunk = DEFAULT_CHUNK;
	unsigned int cur_strips = 1;
	char text[64];
	ssize_t n;

	if (!sp->set)
		return 0;
	if (!sp->has_strips || !sp->has_chunk) {
		n = fgetxattr(fd, FAMFS_XATTR_STRIPE, text, sizeof(text) - 1);
		if (n > 0) {
			text[n] = '\0';
			if (sscanf(text, "%u %llu", &cur_strips, &cur_chunk) != 2) {
				cur_strips = 1;
				cur_chunk = DEFAULT_CHUNK;
			}
		}
	}
	snprintf(text, sizeof(text), "%u %llu", sp->has_strips ? sp->strips : cur_strips,
		 sp->has_chunk ? (unsigned long long)sp->chunk : cur_chunk);
	if (!fsetxattr(fd, FAMFS_XATTR_STRIPE, text, strlen(text), 0))
		return 0;
	switch (errno) {
	case ENOTSUP:
		pr_err("%s: %s: this mount cannot set a stripe policy (no %s)", cmd, path,
		       FAMFS_XATTR_STRIPE);
		break;
	case EBUSY:
		pr_err("%s: %s: space already allocated, the stripe policy is fixed", cmd, path);
		break;
	case EINVAL:
		pr_err("%s: %s: the file system refuses stripe policy \"%s\" (too many strips for its devices?)",
		       cmd, path, text);
		break;
	default:
		pr_err("%s: %s: set %s: %s", cmd, path, FAMFS_XATTR_STRIPE, strerror(errno));
	}
	return CLI_EXIT_OPERATIONAL;
}

/* ---- creat ---- */

/* Write zeroes over [0, size): the allocation, in 2 MiB writes. */
static int write_zeroes(int fd, __u64 size)
{
	static const char zero[4096];
	char *buf = calloc(1, IO_BLOCK);
	__u64 off = 0;
	ssize_t n;
	int err = 0;

	if (!buf) {
		/* no big buffer: page by page, slower but the same */
		for (; off < size && !err; off += n) {
			n = pwrite(fd, zero, size - off < sizeof(zero) ? size - off : sizeof(zero),
				   off);
			if (n <= 0)
				err = n < 0 ? errno : EIO;
		}
		return err;
	}
	while (off < size) {
		size_t len = size - off < IO_BLOCK ? size - off : IO_BLOCK;

		n = pwrite(fd, buf, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : EIO;
			break;
		}
		off += n;
	}
	free(buf);
	return err;
}

int cli_creat(const struct cli_creat_args *args, const char *file, FILE *out)
{
	char pbuf[PATH_MAX];
	struct stripe sp;
	struct stat st;
	__u64 size;
	int fd, code, err;

	(void)out;
	if (!args->size) {
		pr_err("creat: -s SIZE is required (see famfs-bpf creat --help)");
		return CLI_EXIT_USAGE;
	}
	if (cli_parse_size(args->size, &size) || size > INT64_MAX) {
		pr_err("creat: -s %s: not a size (a number with K, M, G or T)", args->size);
		return CLI_EXIT_USAGE;
	}
	code = stripe_parse("creat", args->strips, args->chunk, &sp);
	if (code)
		return code;
	if (!lstat(file, &st)) {
		pr_err("creat: %s: exists", file);
		return CLI_EXIT_EXISTS;
	}
	code = cli_check_famfs("creat", parent_of(file, pbuf, sizeof(pbuf)));
	if (code)
		return code;

	fd = open(file, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = errno;
		pr_err("creat: %s: %s", file, err == EEXIST ? "exists" : strerror(err));
		return errno_code(err);
	}
	code = stripe_apply("creat", file, fd, &sp);
	if (code)
		goto fail;
	err = write_zeroes(fd, size);
	if (!err && fsync(fd))
		err = errno;
	if (close(fd) && !err)
		err = errno;
	fd = -1;
	if (err) {
		pr_err("creat: %s: %s%s", file, strerror(err),
		       err == ENOSPC ? " (the file is removed)" : "");
		code = errno_code(err);
		goto fail;
	}
	return CLI_EXIT_OK;
fail:
	if (fd >= 0)
		close(fd);
	unlink(file);
	return code;
}

/* ---- mkdir ---- */

/* mkdir -p: every missing component of @path, from the top; 0 or -errno. */
static int mkdir_parents(const char *path)
{
	char buf[PATH_MAX], *p, c;
	struct stat st;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; ; p++) {
		if (*p != '/' && *p)
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(buf, 0777) && errno != EEXIST)
			return -errno;
		if (stat(buf, &st))
			return -errno;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
		if (!c)
			return 0;
		*p = c;
	}
}

/* The nearest ancestor of @path (or @path) that exists, into @buf. */
static const char *existing_ancestor(const char *path, char *buf, size_t size)
{
	struct stat st;
	char *d;

	snprintf(buf, size, "%s", path);
	while (stat(buf, &st)) {
		d = dirname(buf);
		if (d != buf)
			snprintf(buf, size, "%s", d);
		if (!strcmp(buf, "/") || !strcmp(buf, "."))
			break;
	}
	return buf;
}

int cli_mkdir(const struct cli_mkdir_args *args, int n, char **dirs, FILE *out)
{
	char pbuf[PATH_MAX];
	int i, code, err;

	(void)out;
	for (i = 0; i < n; i++) {
		const char *dir = dirs[i];

		if (!*dir) {
			pr_err("mkdir: an empty name");
			return CLI_EXIT_USAGE;
		}
		if (args->parents)
			code = cli_check_famfs("mkdir", existing_ancestor(dir, pbuf, sizeof(pbuf)));
		else
			code = cli_check_famfs("mkdir", parent_of(dir, pbuf, sizeof(pbuf)));
		if (code)
			return code;
		if (args->parents)
			err = -mkdir_parents(dir);
		else
			err = mkdir(dir, 0777) ? errno : 0;
		if (err) {
			pr_err("mkdir: %s: %s", dir, err == EEXIST ? "exists" : strerror(err));
			return errno_code(err);
		}
	}
	return CLI_EXIT_OK;
}

/* ---- cp ---- */

struct cp_ctx {
	const struct stripe *sp;
	char *buf;		/* IO_BLOCK bytes */
};

static void show_progress(const char *src, __u64 done, __u64 total)
{
	fprintf(stderr, "\rcp: %s: %llu of %llu MiB (%llu%%)%s", src,
		(unsigned long long)(done >> 20), (unsigned long long)(total >> 20),
		(unsigned long long)(total ? done * 100 / total : 100),
		done >= total ? "\n" : "");
}

/* Copy the bytes of @sfd into @dfd; 0 or an errno, *@what says which side failed. */
static int copy_bytes(struct cp_ctx *c, const char *src, int sfd, int dfd, __u64 size,
		      const char **what)
{
	bool progress = size >= PROGRESS_MIN && isatty(STDERR_FILENO);
	__u64 done = 0, last = 0;
	ssize_t n, w;

	for (;;) {
		n = read(sfd, c->buf, IO_BLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*what = "read";
			return errno;
		}
		if (!n)
			break;
		for (ssize_t off = 0; off < n; off += w) {
			w = write(dfd, c->buf + off, n - off);
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w <= 0) {
				*what = "write";
				return w < 0 ? errno : EIO;
			}
		}
		done += n;
		if (progress && done - last >= (16ULL << 20)) {
			show_progress(src, done, size > done ? size : done);
			last = done;
		}
	}
	if (progress)
		show_progress(src, done, done);
	return 0;
}

static int copy_file(struct cp_ctx *c, const char *src, const char *dst, const struct stat *st)
{
	const char *what = "create";
	int sfd, dfd, err, code;

	sfd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (sfd < 0) {
		pr_err("cp: %s: %s", src, strerror(errno));
		return CLI_EXIT_OPERATIONAL;
	}
	/* owner-only until the bytes are in; the mode comes last */
	dfd = open(dst, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (dfd < 0) {
		err = errno;
		close(sfd);
		pr_err("cp: %s: %s", dst, err == EEXIST ? "exists (not overwritten)" : strerror(err));
		return errno_code(err);
	}
	code = stripe_apply("cp", dst, dfd, c->sp);
	if (code)
		goto fail;
	err = copy_bytes(c, src, sfd, dfd, st->st_size, &what);
	if (!err && fchmod(dfd, st->st_mode & 07777)) {
		what = "chmod";
		err = errno;
	}
	if (!err && fsync(dfd)) {
		what = "write";
		err = errno;
	}
	if (close(dfd) && !err) {
		what = "write";
		err = errno;
	}
	dfd = -1;
	if (err) {
		if (!strcmp(what, "read"))
			pr_err("cp: %s: read: %s (%s removed)", src, strerror(err), dst);
		else
			pr_err("cp: %s: %s: %s (removed)", dst, what, strerror(err));
		code = errno_code(err);
		goto fail;
	}
	close(sfd);
	return CLI_EXIT_OK;
fail:
	if (dfd >= 0)
		close(dfd);
	close(sfd);
	unlink(dst);
	return code;
}

static int join(char *buf, size_t size, const char *dir, const char *name)
{
	if (snprintf(buf, size, "%s/%s", dir, name) >= (int)size) {
		pr_err("cp: %s/%s: %s", dir, name, strerror(ENAMETOOLONG));
		return CLI_EXIT_OPERATIONAL;
	}
	return 0;
}

static int copy_tree(struct cp_ctx *c, const char *src, const char *dst, const struct stat *st)
{
	char s[PATH_MAX], d[PATH_MAX];
	struct stat est, dst_st;
	struct dirent *de;
	int code = 0, err;
	DIR *dir;

	/* an existing directory is merged into; its files are not overwritten */
	if (mkdir(dst, 0700)) {
		err = errno;
		if (err != EEXIST || stat(dst, &dst_st) || !S_ISDIR(dst_st.st_mode)) {
			pr_err("cp: %s: %s", dst, err == EEXIST ? "exists, not a directory" :
			       strerror(err));
			return errno_code(err);
		}
	}
	dir = opendir(src);
	if (!dir) {
		pr_err("cp: %s: %s", src, strerror(errno));
		return CLI_EXIT_OPERATIONAL;
	}
	while (!code && (errno = 0, de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		code = join(s, sizeof(s), src, de->d_name) ?: join(d, sizeof(d), dst, de->d_name);
		if (code)
			break;
		/* inside a tree links are not followed: they would be copied as what? */
		if (lstat(s, &est)) {
			pr_err("cp: %s: %s", s, strerror(errno));
			code = CLI_EXIT_OPERATIONAL;
		} else if (S_ISREG(est.st_mode)) {
			code = copy_file(c, s, d, &est);
		} else if (S_ISDIR(est.st_mode)) {
			code = copy_tree(c, s, d, &est);
		} else {
			pr_err("cp: %s: %s, not a regular file or directory: not copied", s,
			       type_name(est.st_mode));
			code = CLI_EXIT_OPERATIONAL;
		}
	}
	if (!code && errno) {
		pr_err("cp: %s: %s", src, strerror(errno));
		code = CLI_EXIT_OPERATIONAL;
	}
	closedir(dir);
	if (!code && chmod(dst, st->st_mode & 07777)) {
		pr_err("cp: %s: chmod: %s", dst, strerror(errno));
		code = CLI_EXIT_OPERATIONAL;
	}
	return code;
}

/* Is @dst's parent @src or below it?  A tree copied into itself never ends. */
static bool inside(const char *src, const char *dst)
{
	char rs[PATH_MAX], rd[PATH_MAX], pbuf[PATH_MAX];
	size_t len;

	if (!realpath(src, rs) || !realpath(parent_of(dst, pbuf, sizeof(pbuf)), rd))
		return false;
	len = strlen(rs);
	return !strncmp(rs, rd, len) && (rd[len] == '/' || !rd[len] || len == 1);
}

static int copy_one(struct cp_ctx *c, const struct cli_cp_args *args, const char *src,
		    const char *dst)
{
	struct stat st;

	if (stat(src, &st)) {
		pr_err("cp: %s: %s", src, strerror(errno));
		return CLI_EXIT_OPERATIONAL;
	}
	if (S_ISREG(st.st_mode))
		return copy_file(c, src, dst, &st);
	if (!S_ISDIR(st.st_mode)) {
		pr_err("cp: %s: %s, not a regular file or directory: not copied", src,
		       type_name(st.st_mode));
		return CLI_EXIT_OPERATIONAL;
	}
	if (!args->recursive) {
		pr_err("cp: %s: a directory (copy it with -r)", src);
		return CLI_EXIT_OPERATIONAL;
	}
	if (inside(src, dst)) {
		pr_err("cp: %s: cannot copy a directory into itself (%s)", src, dst);
		return CLI_EXIT_OPERATIONAL;
	}
	return copy_tree(c, src, dst, &st);
}

int cli_cp(const struct cli_cp_args *args, int n, char **operands, FILE *out)
{
	const char *dst = operands[n - 1];
	char pbuf[PATH_MAX], target[PATH_MAX], nbuf[PATH_MAX], *name;
	struct cp_ctx c = { 0 };
	bool into_dir = false;
	struct stripe sp;
	struct stat st;
	int i, code;

	(void)out;
	code = stripe_parse("cp", args->strips, args->chunk, &sp);
	if (code)
		return code;
	c.sp = &sp;
	if (!stat(dst, &st)) {
		if (!S_ISDIR(st.st_mode)) {
			pr_err("cp: %s: %s", dst, n > 2 ? "not a directory" :
			       "exists (not overwritten)");
			return n > 2 ? CLI_EXIT_USAGE : CLI_EXIT_EXISTS;
		}
		into_dir = true;
		code = cli_check_famfs("cp", dst);
	} else if (errno != ENOENT) {
		pr_err("cp: %s: %s", dst, strerror(errno));
		return CLI_EXIT_OPERATIONAL;
	} else if (n > 2) {
		pr_err("cp: %s: no such directory (several SRC go into an existing directory)",
		       dst);
		return CLI_EXIT_USAGE;
	} else {
		code = cli_check_famfs("cp", parent_of(dst, pbuf, sizeof(pbuf)));
	}
	if (code)
		return code;

	c.buf = malloc(IO_BLOCK);
	if (!c.buf) {
		pr_err("cp: out of memory");
		return CLI_EXIT_OPERATIONAL;
	}
	for (i = 0; i < n - 1 && !code; i++) {
		const char *src = operands[i];

		if (into_dir) {
			/* basename() may modify its argument: a copy */
			snprintf(nbuf, sizeof(nbuf), "%s", src);
			name = basename(nbuf);
			if (!strcmp(name, "/") || !strcmp(name, ".") || !strcmp(name, "..")) {
				pr_err("cp: %s: no name to copy it under; give DST a new name", src);
				code = CLI_EXIT_USAGE;
				break;
			}
			code = join(target, sizeof(target), dst, name);
			if (code)
				break;
		} else {
			snprintf(target, sizeof(target), "%s", dst);
		}
		code = copy_one(&c, args, src, target);
	}
	free(c.buf);
	return code;
}
