// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the famfs-bpf command line (server/cli/cli*.c): parsing and
 * its errors, mkfs on image files, and fsck on file systems the tests
 * damage: a superblock byte, device order, a foreign device, a torn or a
 * corrupted log entry, two files claiming the same space.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pty.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "fs/mlog.h"
#include "fs/super.h"
#include "img.h"

#define MiB (1ULL << 20)
#define LOG_OFF (2 * MiB)

/* images 0..2 are devices of one file system, OTHER another's */
#define OTHER 3

static char out_text[8192];

/* Run famfs-bpf with the NULL-terminated arguments; its report in out_text. */
static int run(const char *arg0, ...)
{
	char *argv[16];
	char *buf = NULL;
	size_t len = 0;
	va_list ap;
	FILE *out;
	int argc = 0, ret;

	argv[argc++] = "famfs-bpf";
	va_start(ap, arg0);
	for (const char *a = arg0; a && argc < 15; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	out = open_memstream(&buf, &len);
	assert_non_null(out);
	ret = famfs_cli_run(argc, argv, out);
	fclose(out);
	snprintf(out_text, sizeof(out_text), "%s", buf ? buf : "");
	free(buf);
	return ret;
}

static int setup(void **state)
{
	struct images *im = img_create("cli", 4);
	int i;

	if (!im)
		return -1;
	for (i = 0; i < 3; i++)
		img_make(im->path[i], i ? 32 * MiB : 64 * MiB);
	img_make(im->path[OTHER], 32 * MiB);
	*state = im;
	return 0;
}

static int teardown(void **state)
{
	img_remove(*state);
	return 0;
}

/* ------------------------------------------------------------------ */

static void parse_errors(void **state)
{
	struct images *im = *state;

	assert_int_equal(run(NULL), CLI_EXIT_USAGE);
	assert_int_equal(run("frobnicate", NULL), CLI_EXIT_USAGE);
	assert_int_equal(run("-x", "mkfs", im->path[0], NULL), CLI_EXIT_USAGE);
	assert_int_equal(run("mkfs", NULL), CLI_EXIT_USAGE);
	assert_int_equal(run("fsck", NULL), CLI_EXIT_USAGE);
	assert_int_equal(run("mkfs", "-q", im->path[0], NULL), CLI_EXIT_USAGE);
	assert_int_equal(run("mkfs", "--bogus", im->path[0], NULL), CLI_EXIT_USAGE);
	assert_int_equal(run("mkfs", "-L", NULL), CLI_EXIT_USAGE);
	assert_int_equal(run("mkfs", "-L", "12Q", im->path[0], NULL), CLI_EXIT_USAGE);
	assert_int_equal(run("mkfs", "-L", "-1", im->path[0], NULL), CLI_EXIT_USAGE);
	assert_int_equal(run("mkfs", "-L", "99999999999999999999", im->path[0], NULL),
			 CLI_EXIT_USAGE);
	assert_int_equal(run("mkfs", "-L", "100000T", im->path[0], NULL), CLI_EXIT_USAGE);
	/* sizes that parse but break the rules: not 4K, too small, too big */
	assert_int_equal(run("mkfs", "-L", "4097", im->path[0], NULL), CLI_EXIT_USAGE);
	assert_int_equal(run("mkfs", "-L", "4K", im->path[0], NULL), CLI_EXIT_USAGE);
	assert_int_equal(run("mkfs", "-L", "2G", im->path[0], NULL), CLI_EXIT_USAGE);
	assert_int_equal(run("fsck", "-f", im->path[0], NULL), CLI_EXIT_USAGE);
	assert_int_equal(run("help", "frobnicate", NULL), CLI_EXIT_USAGE);
	/* nothing was written by any of them */
	assert_int_equal(run("fsck", im->path[0], NULL), CLI_EXIT_OPERATIONAL);
	assert_non_null(strstr(out_text, "not a famfs-bpf device"));
}

static void help_texts(void **state)
{
	(void)state;
	assert_int_equal(run("help", NULL), 0);
	assert_non_null(strstr(out_text, "mkfs"));
	assert_non_null(strstr(out_text, "fsck"));
	assert_int_equal(run("--help", NULL), 0);
	assert_int_equal(run("mkfs", "--help", NULL), 0);
	assert_non_null(strstr(out_text, "--log-size=SIZE"));
	assert_non_null(strstr(out_text, "famfs-bpf-mkfs(8)"));
	assert_int_equal(run("fsck", "-h", NULL), 0);
	assert_non_null(strstr(out_text, "does not repair"));
	assert_int_equal(run("help", "fsck", NULL), 0);
	assert_non_null(strstr(out_text, "famfs-bpf-fsck(8)"));
}

/* stats: usage errors, and a directory that is no FUSE mount */
static void stats_refusals(void **state)
{
	(void)state;
	assert_int_equal(run("stats", NULL), 16);
	assert_int_equal(run("stats", "/tmp", "/tmp", NULL), 16);
	assert_int_equal(run("stats", "/nonexistent/famfs-bpf", NULL), 8);
	assert_int_equal(run("stats", "/tmp", NULL), 8);
	assert_int_equal(run("stats", "--help", NULL), 0);
	assert_non_null(strstr(out_text, "famfs-bpf-stats(8)"));
	assert_int_equal(run("help", NULL), 0);
	assert_non_null(strstr(out_text, "stats"));
}

/* logplay: usage errors, not a famfs-bpf mount; mount: ro and rw once */
static void logplay_and_ro_refusals(void **state)
{
	(void)state;
	assert_int_equal(run("logplay", NULL), CLI_EXIT_USAGE);
	assert_int_equal(run("logplay", "/tmp", "/tmp", NULL), CLI_EXIT_USAGE);
	assert_int_equal(run("logplay", "-x", "/tmp", NULL), CLI_EXIT_USAGE);
	assert_int_equal(run("logplay", "/nonexistent/famfs-bpf", NULL), CLI_EXIT_OPERATIONAL);
	assert_int_equal(run("logplay", "/", NULL), CLI_EXIT_NOT_FAMFS);
	assert_int_equal(run("logplay", "--help", NULL), 0);
	assert_non_null(strstr(out_text, "famfs-bpf-logplay(8)"));
	assert_non_null(strstr(out_text, "50 MNT is the owner"));
	assert_int_equal(run("help", NULL), 0);
	assert_non_null(strstr(out_text, "logplay"));
	/* option errors come before anything is opened or mounted */
	assert_int_equal(run("mount", "-o", "ro,rw", "/dev/null", "/tmp", NULL), CLI_EXIT_USAGE);
	assert_int_equal(run("mount", "-o", "ro,ro", "/dev/null", "/tmp", NULL), CLI_EXIT_USAGE);
	assert_int_equal(run("mount", "-o", "ro,bogus", "/dev/null", "/tmp", NULL),
			 CLI_EXIT_USAGE);
	assert_int_equal(run("mount", "-o", "readonly", "/dev/null", "/tmp", NULL),
			 CLI_EXIT_USAGE);
	assert_int_equal(run("mount", "--help", NULL), 0);
	assert_non_null(strstr(out_text, "-o ro"));
}

static void parse_sizes(void **state)
{
	__u64 v;

	(void)state;
	assert_int_equal(cli_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(cli_parse_size("8M", &v), 0);
	assert_int_equal(v, 8 * MiB);
	assert_int_equal(cli_parse_size("64k", &v), 0);
	assert_int_equal(v, 64 * 1024);
	assert_int_equal(cli_parse_size("1GiB", &v), 0);
	assert_int_equal(v, 1024 * MiB);
	assert_int_equal(cli_parse_size("2TB", &v), 0);
	assert_int_equal(v, 2ULL << 40);
	assert_int_equal(cli_parse_size("", &v), -EINVAL);
	assert_int_equal(cli_parse_size("M", &v), -EINVAL);
	assert_int_equal(cli_parse_size("-4K", &v), -EINVAL);
	assert_int_equal(cli_parse_size("4X", &v), -EINVAL);
	assert_int_equal(cli_parse_size("4Mx", &v), -EINVAL);
	assert_int_equal(cli_parse_size("16777216T", &v), -ERANGE);
}

static void mkfs_then_fsck_clean(void **state)
{
	struct images *im = *state;
	int n;

	for (n = 1; n <= 3; n++) {
		assert_int_equal(run("mkfs", "-f", "-L", "1M", im->path[0],
				     n > 1 ? im->path[1] : NULL, n > 2 ? im->path[2] : NULL,
				     NULL), 0);
		assert_int_equal(run("fsck", im->path[0], n > 1 ? im->path[1] : NULL,
				     n > 2 ? im->path[2] : NULL, NULL), 0);
		assert_non_null(strstr(out_text, "clean"));
		assert_non_null(strstr(out_text, "END"));
	}
	/* the default log size, and -n spelled out */
	assert_int_equal(run("-v", "mkfs", "--force", im->path[0], NULL), 0);
	assert_int_equal(run("fsck", "-n", im->path[0], NULL), 0);
	assert_non_null(strstr(out_text, "of 8388608"));
	/* the same device twice, a device that cannot hold a unit of data */
	assert_int_equal(run("mkfs", "-f", im->path[0], im->path[0], NULL), CLI_EXIT_OPERATIONAL);
	img_make(im->path[OTHER], 3 * MiB);
	assert_int_equal(run("mkfs", "-f", im->path[0], im->path[OTHER], NULL),
			 CLI_EXIT_OPERATIONAL);
	img_make(im->path[OTHER], 32 * MiB);
	assert_int_equal(run("mkfs", "-f", "/nonexistent/dev", NULL), CLI_EXIT_OPERATIONAL);
	assert_int_equal(run("fsck", "/nonexistent/dev", NULL), CLI_EXIT_OPERATIONAL);
}

static void mkfs_refuses_signatures(void **state)
{
	struct images *im = *state;
	static const struct {
		__u64 off;
		const char *bytes;
		const char *says;
	} sigs[] = {
		{ 1080, "\x53\xef", "ext2/ext3/ext4" },
		{ 0, "XFSB", "XFS" },
		{ 65600, "_BHRfS_M", "btrfs" },
		{ 4086, "SWAPSPACE2", "swap" },
	};
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		img_make(im->path[OTHER], 32 * MiB);
		img_poke(im->path[OTHER], sigs[i].off, sigs[i].bytes, strlen(sigs[i].bytes));
		assert_int_equal(run("mkfs", im->path[OTHER], NULL), CLI_EXIT_OPERATIONAL);
		assert_int_equal(run("fsck", im->path[OTHER], NULL), CLI_EXIT_OPERATIONAL);
		assert_int_equal(run("mkfs", "-f", im->path[OTHER], NULL), 0);
		assert_int_equal(run("fsck", im->path[OTHER], NULL), 0);
		/* and mkfs refuses its own file system, and a label alone */
		assert_int_equal(run("mkfs", im->path[OTHER], NULL), CLI_EXIT_OPERATIONAL);
	}
	assert_int_equal(run("mkfs", "-f", "-L", "1M", im->path[0], im->path[1], NULL), 0);
	assert_int_equal(run("mkfs", im->path[1], NULL), CLI_EXIT_OPERATIONAL);
	/* -f wiped the whole first unit: no btrfs signature survives */
	{
		char b[8];

		img_peek(im->path[OTHER], 65600, b, sizeof(b));
		assert_memory_not_equal(b, "_BHRfS_M", 8);
	}
}

static void fsck_superblock_byte(void **state)
{
	struct images *im = *state;
	unsigned char b;

	assert_int_equal(run("mkfs", "-f", "-L", "1M", im->path[0], im->path[1], NULL), 0);
	img_peek(im->path[0], 200, &b, 1);
	b ^= 0x40;
	img_poke(im->path[0], 200, &b, 1);
	assert_int_equal(run("fsck", im->path[0], im->path[1], NULL), CLI_EXIT_UNCORRECTED);
	assert_non_null(strstr(out_text, "superblock CRC mismatch"));
	/* a corrupted label byte */
	b ^= 0x40;
	img_poke(im->path[0], 200, &b, 1);
	img_peek(im->path[1], FAMFS_LABEL_OFF + 40, &b, 1);
	b ^= 1;
	img_poke(im->path[1], FAMFS_LABEL_OFF + 40, &b, 1);
	assert_int_equal(run("fsck", im->path[0], im->path[1], NULL), CLI_EXIT_UNCORRECTED);
	assert_non_null(strstr(out_text, "label CRC mismatch"));
}

static void fsck_device_order_and_foreign(void **state)
{
	struct images *im = *state;

	assert_int_equal(run("mkfs", "-f", "-L", "1M", im->path[0], im->path[1], im->path[2],
			     NULL), 0);
	assert_int_equal(run("mkfs", "-f", "-L", "1M", im->path[OTHER], NULL), 0);
	assert_int_equal(run("fsck", im->path[0], im->path[2], im->path[1], NULL),
			 CLI_EXIT_UNCORRECTED);
	assert_non_null(strstr(out_text, "given as device 1, this is device 2"));
	/* device 1 given first: it has no superblock, and fsck says what it is */
	assert_int_equal(run("fsck", im->path[1], im->path[0], im->path[2], NULL),
			 CLI_EXIT_OPERATIONAL);
	assert_non_null(strstr(out_text, "this is device 1 of a famfs-bpf file system"));
	assert_int_equal(run("fsck", im->path[0], im->path[OTHER], im->path[2], NULL),
			 CLI_EXIT_UNCORRECTED);
	assert_non_null(strstr(out_text, "another famfs-bpf file system"));
	assert_int_equal(run("fsck", im->path[0], im->path[1], NULL), CLI_EXIT_UNCORRECTED);
	assert_non_null(strstr(out_text, "device 2 of 3 missing"));
	assert_int_equal(run("fsck", im->path[0], im->path[1], im->path[2], im->path[OTHER], NULL),
			 CLI_EXIT_UNCORRECTED);
	assert_non_null(strstr(out_text, "given as device 3, the file system has 3"));
}

/* ------------------------------------------------------------------ */
/* Logs written by the test with the mlog appender */

/* A file @ino named @name in the root, @len bytes at @dev:@dev_off. */
static __u64 add_file(struct img_log *lg, __u64 ino, const char *name, __u32 dev,
		      __u64 dev_off, __u64 len)
{
	struct fmap_simple_ext x = { .file_off = 0, .len = len, .dev_off = dev_off, .dev = dev };
	struct famfs_mlog_entry e;
	__u64 at = lg->w.off;

	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_CREATE;
	e.mknod.parent = FAMFS_ROOT_INO;
	e.mknod.ino = ino;
	e.mknod.size = len;
	e.mknod.mode = 0644;
	snprintf(e.name, sizeof(e.name), "%s", name);
	e.nsimple = 1;
	e.simple = &x;
	assert_int_equal(famfs_mlog_append(&lg->w, &e), 0);
	return at;
}

static void delete_file(struct img_log *lg, __u64 ino, const char *name)
{
	struct famfs_mlog_entry e;

	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_DELETE;
	e.del.parent = FAMFS_ROOT_INO;
	e.del.ino = ino;
	snprintf(e.name, sizeof(e.name), "%s", name);
	assert_int_equal(famfs_mlog_append(&lg->w, &e), 0);
}

static void fsck_log_files_and_space(void **state)
{
	struct images *im = *state;
	struct img_log lg;
	__u64 d0 = 0;

	assert_int_equal(run("mkfs", "-f", "-L", "1M", im->path[0], im->path[1], NULL), 0);
	img_log_open(&lg, im->path[0]);
	d0 = lg.info.devs.devs[0].data_off;
	add_file(&lg, 2, "a", 0, d0, 4 * MiB);
	add_file(&lg, 3, "b", 1, 2 * MiB, 2 * MiB);
	/* c reuses a's space after a is deleted: not an overlap */
	delete_file(&lg, 2, "a");
	add_file(&lg, 4, "c", 0, d0, 2 * MiB);
	img_log_close(&lg, im->path[0]);
	assert_int_equal(run("fsck", im->path[0], im->path[1], NULL), 0);
	assert_non_null(strstr(out_text, "2 files, 0 directories; 4 MiB used"));
	assert_non_null(strstr(out_text, "4 entries, END"));
}

/* A LINK entry: @ino gets @name in the root too. */
static void link_name(struct img_log *lg, __u64 ino, const char *name)
{
	struct famfs_mlog_entry e;

	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_LINK;
	e.link.parent = FAMFS_ROOT_INO;
	e.link.ino = ino;
	snprintf(e.name, sizeof(e.name), "%s", name);
	assert_int_equal(famfs_mlog_append(&lg->w, &e), 0);
}

/* A file with two names: one file's space, used until its last name goes. */
static void fsck_hard_links(void **state)
{
	struct images *im = *state;
	struct img_log lg;
	__u64 d0;

	assert_int_equal(run("mkfs", "-f", "-L", "1M", im->path[0], NULL), 0);
	img_log_open(&lg, im->path[0]);
	d0 = lg.info.devs.devs[0].data_off;
	add_file(&lg, 2, "a", 0, d0, 4 * MiB);
	link_name(&lg, 2, "a2");
	delete_file(&lg, 2, "a");
	img_log_close(&lg, im->path[0]);
	assert_int_equal(run("fsck", im->path[0], NULL), 0);
	assert_non_null(strstr(out_text, "1 files, 0 directories; 4 MiB used"));
	/* a2 still holds the space: a file put there overlaps it */
	img_log_open(&lg, im->path[0]);
	add_file(&lg, 3, "c", 0, d0, 2 * MiB);
	img_log_close(&lg, im->path[0]);
	assert_int_equal(run("fsck", im->path[0], NULL), CLI_EXIT_UNCORRECTED);
	assert_non_null(strstr(out_text, "files ino 2 and ino 3 both claim device 0"));

	/* with the last name the space is free again */
	assert_int_equal(run("mkfs", "-f", "-L", "1M", im->path[0], NULL), 0);
	img_log_open(&lg, im->path[0]);
	add_file(&lg, 2, "a", 0, d0, 4 * MiB);
	link_name(&lg, 2, "a2");
	delete_file(&lg, 2, "a2");
	delete_file(&lg, 2, "a");
	add_file(&lg, 3, "c", 0, d0, 2 * MiB);
	img_log_close(&lg, im->path[0]);
	assert_int_equal(run("fsck", im->path[0], NULL), 0);
	assert_non_null(strstr(out_text, "1 files, 0 directories; 2 MiB used"));
	/* a link to an inode that is gone: the log is corrupt */
	img_log_open(&lg, im->path[0]);
	link_name(&lg, 2, "late");
	img_log_close(&lg, im->path[0]);
	assert_int_equal(run("fsck", im->path[0], NULL), CLI_EXIT_UNCORRECTED);
	assert_non_null(strstr(out_text, "CORRUPT"));
}

static void fsck_overlapping_extents(void **state)
{
	struct images *im = *state;
	struct img_log lg;
	__u64 d0;

	assert_int_equal(run("mkfs", "-f", "-L", "1M", im->path[0], im->path[1], NULL), 0);
	img_log_open(&lg, im->path[0]);
	d0 = lg.info.devs.devs[0].data_off;
	add_file(&lg, 2, "a", 0, d0, 4 * MiB);
	add_file(&lg, 3, "b", 0, d0 + 2 * MiB, 4 * MiB);
	img_log_close(&lg, im->path[0]);
	assert_int_equal(run("fsck", im->path[0], im->path[1], NULL), CLI_EXIT_UNCORRECTED);
	assert_non_null(strstr(out_text, "files ino 2 and ino 3 both claim device 0"));
}

static void fsck_torn_tail_is_a_note(void **state)
{
	struct images *im = *state;
	struct img_log lg;
	__u64 at, end;

	assert_int_equal(run("mkfs", "-f", "-L", "1M", im->path[0], NULL), 0);
	img_log_open(&lg, im->path[0]);
	add_file(&lg, 2, "a", 0, lg.info.devs.devs[0].data_off, 2 * MiB);
	at = add_file(&lg, 3, "b", 0, lg.info.devs.devs[0].data_off + 2 * MiB, 2 * MiB);
	end = lg.w.off;
	/* a crash half-way through the last append: its second half never landed */
	memset((char *)lg.bytes + at + (end - at) / 2, 0, (end - at) - (end - at) / 2);
	img_log_close(&lg, im->path[0]);
	assert_int_equal(run("fsck", im->path[0], NULL), 0);
	assert_non_null(strstr(out_text, "TORN"));
	assert_non_null(strstr(out_text, "note"));
	assert_non_null(strstr(out_text, "1 files"));
}

static void fsck_corrupt_middle_entry(void **state)
{
	struct images *im = *state;
	struct img_log lg;
	char want[64];
	__u64 at;

	assert_int_equal(run("mkfs", "-f", "-L", "1M", im->path[0], NULL), 0);
	img_log_open(&lg, im->path[0]);
	add_file(&lg, 2, "a", 0, lg.info.devs.devs[0].data_off, 2 * MiB);
	at = add_file(&lg, 3, "b", 0, lg.info.devs.devs[0].data_off + 2 * MiB, 2 * MiB);
	add_file(&lg, 4, "c", 0, lg.info.devs.devs[0].data_off + 4 * MiB, 2 * MiB);
	((char *)lg.bytes)[at + 40] ^= 1;
	img_log_close(&lg, im->path[0]);
	assert_int_equal(run("fsck", im->path[0], NULL), CLI_EXIT_UNCORRECTED);
	assert_non_null(strstr(out_text, "CORRUPT"));
	snprintf(want, sizeof(want), "log offset %llu", (unsigned long long)at);
	assert_non_null(strstr(out_text, want));
}

static void fsck_namespace_refusal(void **state)
{
	struct images *im = *state;
	struct img_log lg;

	assert_int_equal(run("mkfs", "-f", "-L", "1M", im->path[0], NULL), 0);
	img_log_open(&lg, im->path[0]);
	add_file(&lg, 2, "a", 0, lg.info.devs.devs[0].data_off, 2 * MiB);
	/* the same name again: CRC-valid, but a mount would refuse it */
	add_file(&lg, 3, "a", 0, lg.info.devs.devs[0].data_off + 2 * MiB, 2 * MiB);
	img_log_close(&lg, im->path[0]);
	assert_int_equal(run("fsck", im->path[0], NULL), CLI_EXIT_UNCORRECTED);
	/* the namespace's own words, as a mount gives them */
	assert_non_null(strstr(out_text, "(entry 2, create): \"a\" exists in directory 1"));
}

/* ------------------------------------------------------------------ */
/* mount's replay progress: a terminal and a long replay, or nothing */

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * What cli_replay_progress() writes to stderr = @fd for the calls a replay
 * of @total entries makes (ns.h: every 4096, then done == total), started
 * @ago_ms ago; read back from @rfd into @buf.
 */
static void replay_calls(int fd, int rfd, __u64 total, long ago_ms, char *buf, size_t size)
{
	struct cli_replay_progress p = { .start_ms = mono_ms() - ago_ms };
	int saved = dup(STDERR_FILENO);
	size_t used = 0;
	ssize_t n;

	assert_true(saved >= 0);
	fflush(stderr);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	for (__u64 done = 4096; done < total; done += 4096)
		cli_replay_progress(&p, done, total);
	cli_replay_progress(&p, total, total);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	/* non-blocking: until nothing is left */
	while (used < size - 1 && (n = read(rfd, buf + used, size - 1 - used)) > 0)
		used += n;
	buf[used] = '\0';
}

static void replay_progress_on_a_terminal_only(void **state)
{
	int master, slave, p[2];
	char buf[1024];

	(void)state;
	assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
	assert_int_equal(pipe(p), 0);
	/* nothing was written: the non-blocking reads find nothing */
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(master, F_SETFL, O_NONBLOCK), 0);

	/* a long replay, not on a terminal: silence */
	replay_calls(p[1], p[0], 100000, 0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	/* on a terminal: percentages, and a line end when done */
	replay_calls(slave, master, 100000, 0, buf, sizeof(buf));
	assert_non_null(strstr(buf, "replaying the log:   4%"));
	assert_non_null(strstr(buf, "replaying the log: 100%"));
	assert_non_null(strchr(buf, '\n'));
	/* a short one on a terminal: silence, quick, or slow but done at once */
	replay_calls(slave, master, 9000, 0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	replay_calls(slave, master, 4000, 10000, buf, sizeof(buf));
	assert_string_equal(buf, "");
	/* few entries but slow (over CLI_REPLAY_QUIET_MS by the first call): shown */
	replay_calls(slave, master, 9000, CLI_REPLAY_QUIET_MS + 100, buf, sizeof(buf));
	assert_non_null(strstr(buf, "replaying the log:  45%"));
	assert_non_null(strstr(buf, "replaying the log: 100%"));
	close(p[0]);
	close(p[1]);
	close(master);
	close(slave);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_sizes),
		cmocka_unit_test(help_texts),
		cmocka_unit_test(stats_refusals),
		cmocka_unit_test(replay_progress_on_a_terminal_only),
		cmocka_unit_test(logplay_and_ro_refusals),
		cmocka_unit_test_setup_teardown(parse_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(mkfs_then_fsck_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(mkfs_refuses_signatures, setup, teardown),
		cmocka_unit_test_setup_teardown(fsck_superblock_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(fsck_device_order_and_foreign, setup, teardown),
		cmocka_unit_test_setup_teardown(fsck_log_files_and_space, setup, teardown),
		cmocka_unit_test_setup_teardown(fsck_overlapping_extents, setup, teardown),
		cmocka_unit_test_setup_teardown(fsck_hard_links, setup, teardown),
		cmocka_unit_test_setup_teardown(fsck_torn_tail_is_a_note, setup, teardown),
		cmocka_unit_test_setup_teardown(fsck_corrupt_middle_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(fsck_namespace_refusal, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
