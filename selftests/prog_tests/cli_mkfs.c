// SPDX-License-Identifier: GPL-2.0
/*
 * famfs-bpf mkfs and fsck on a real pmem block device (the unit tests only
 * see image files).  /dev/pmem2 is scratch: the other tests use pmem0/1.
 *  - mkfs_fsck_clean: mkfs -f, then fsck is clean, and the superblock is
 *    on the media (read back with O_DIRECT, as DAX would see it);
 *  - refuses_ext2: mkfs refuses an ext2 device without -f, takes it with;
 *  - busy: mkfs -f refuses a mounted device (O_EXCL);
 *  - dax_detected: the device table says DAX for fsdax pmem.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "famfs_format.h"
#include "fixture.h"
#include "super.h"
#include "test_progs.h"

#define DEV "/dev/pmem2"

/* What the last cli() printed: its report (out) and its errors (stderr). */
static char out_text[4096];
static char err_text[4096];

static void log_lines(const char *tag, const char *text)
{
	const char *p = text, *nl;

	for (; *p; p = nl + 1) {
		nl = strchrnul(p, '\n');
		printf("#   %s: %.*s\n", tag, (int)(nl - p), p);
		if (!*nl)
			break;
	}
}

/*
 * Run "famfs-bpf ARGS..." (NULL-terminated) in this process.  stderr is
 * caught in a temporary file so that tests can look at the error lines;
 * both streams are copied to the test log.
 */
static int cli(const char *arg0, ...)
{
	char *argv[16], *buf = NULL;
	size_t len = 0;
	int argc = 0, ret, saved, tmp;
	va_list ap;
	ssize_t n;
	FILE *out;

	argv[argc++] = "famfs-bpf";
	va_start(ap, arg0);
	for (const char *a = arg0; a && argc < 15; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;

	out_text[0] = err_text[0] = '\0';
	out = open_memstream(&buf, &len);
	tmp = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	if (!out || tmp < 0) {
		if (out)
			fclose(out);
		free(buf);
		if (tmp >= 0)
			close(tmp);
		return -1;
	}
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(tmp, STDERR_FILENO);
	ret = famfs_cli_run(argc, argv, out);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);

	fclose(out);
	snprintf(out_text, sizeof(out_text), "%s", buf ? buf : "");
	free(buf);
	n = pread(tmp, err_text, sizeof(err_text) - 1, 0);
	err_text[n > 0 ? n : 0] = '\0';
	close(tmp);

	printf("# famfs-bpf");
	for (int i = 1; i < argc; i++)
		printf(" %s", argv[i]);
	printf(": exit %d\n", ret);
	log_lines("out", out_text);
	log_lines("err", err_text);
	return ret;
}

/* Run a program (NULL-terminated argv); its exit code, -1 if it did not exit. */
static int run_prog(const char *prog, ...)
{
	char *argv[16];
	int argc = 0, status;
	va_list ap;
	pid_t pid;

	va_start(ap, prog);
	for (const char *a = prog; a && argc < 15; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* its chatter would break the TAP on stdout */
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execvp(prog, argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* The superblock, from the media: O_DIRECT, like the kernel's DAX reads. */
static bool read_sb(struct famfs_superblock *sb)
{
	return ASSERT_OK(dev_pread(DEV, sb, sizeof(*sb), 0), "read superblock (O_DIRECT)");
}

/* Zero the start of the device, so nothing found later is left over. */
static bool wipe(void)
{
	static char zero[FAMFS_ALLOC_UNIT];

	return ASSERT_OK(dev_pwrite(DEV, zero, sizeof(zero), 0), "wipe " DEV);
}

/* The first 8 bytes through the page cache; 0 on error. */
static __u64 buffered_magic(void)
{
	__le64 magic = 0;
	int fd = open(DEV, O_RDONLY);

	if (fd < 0 || pread(fd, &magic, sizeof(magic), 0) != sizeof(magic))
		magic = 0;
	if (fd >= 0)
		close(fd);
	return le64toh(magic);
}

/* True if /dev/pmem2 is mounted anywhere. */
static bool dev_mounted(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/mounts", "r");

	while (f && !found && fgets(line, sizeof(line), f))
		found = !strncmp(line, DEV " ", strlen(DEV " "));
	if (f)
		fclose(f);
	return found;
}

static void test_mkfs_fsck_clean(void)
{
	struct famfs_superblock sb;
	struct famfs_sb_info info;
	char msg[200];

	if (!wipe())
		return;
	/* cache the wiped page: mkfs must not leave it stale for buffered readers */
	if (!ASSERT_EQ(buffered_magic(), 0, "wiped"))
		return;
	if (!ASSERT_EQ(cli("mkfs", "-f", DEV, NULL), CLI_EXIT_OK, "mkfs -f"))
		return;
	ASSERT_TRUE(strstr(out_text, "1 device,") != NULL, "mkfs report");
	ASSERT_EQ(cli("fsck", DEV, NULL), CLI_EXIT_OK, "fsck clean");

	if (!read_sb(&sb))
		return;
	ASSERT_EQ(le64toh(sb.magic), FAMFS_SB_MAGIC, "superblock magic on the media");
	ASSERT_EQ(buffered_magic(), FAMFS_SB_MAGIC, "buffered read sees it too");
	if (!ASSERT_OK(famfs_sb_decode(&sb, sizeof(sb), &info, msg, sizeof(msg)),
		       "superblock decodes"))
		printf("# decode: %s\n", msg);
}

static void test_refuses_ext2(void)
{
	if (!ASSERT_EQ(run_prog("mkfs.ext2", "-q", "-F", DEV, NULL), 0, "mkfs.ext2"))
		return;
	ASSERT_EQ(cli("mkfs", DEV, NULL), CLI_EXIT_OPERATIONAL, "mkfs without -f");
	ASSERT_TRUE(strstr(err_text, "ext2") != NULL, "error names ext2");
	/* -v: the "overwriting" note is at info level */
	ASSERT_EQ(cli("-v", "mkfs", "-f", DEV, NULL), CLI_EXIT_OK, "mkfs -f");
	ASSERT_TRUE(strstr(err_text, "overwriting an ext2") != NULL, "-f says what it overwrote");
	ASSERT_EQ(cli("fsck", DEV, NULL), CLI_EXIT_OK, "fsck after mkfs -f");
}

static void test_busy(void)
{
	char mnt[] = "/tmp/cli_mkfs-XXXXXX";
	bool mounted = false;

	if (!ASSERT_EQ(run_prog("mkfs.ext2", "-q", "-F", DEV, NULL), 0, "mkfs.ext2"))
		return;
	if (!ASSERT_TRUE(mkdtemp(mnt) != NULL, "mkdtemp"))
		return;
	if (!ASSERT_OK(mount(DEV, mnt, "ext2", 0, NULL), "mount ext2"))
		goto out;
	mounted = true;

	ASSERT_EQ(cli("mkfs", "-f", DEV, NULL), CLI_EXIT_OPERATIONAL, "mkfs -f while mounted");
	ASSERT_TRUE(strstr(err_text, "in use") != NULL, "error says in use");
out:
	if (mounted)
		ASSERT_OK(umount2(mnt, 0), "umount");
	rmdir(mnt);
	ASSERT_FALSE(dev_mounted(), DEV " left unmounted");
	/* and no longer held: mkfs takes it again */
	if (mounted)
		ASSERT_EQ(cli("mkfs", "-f", DEV, NULL), CLI_EXIT_OK, "mkfs -f after umount");
}

static void test_dax_detected(void)
{
	struct famfs_superblock sb;
	struct famfs_sb_info info;
	char path[96], c = '0';
	struct stat st;
	char msg[200];
	FILE *f;

	/* what the guest gives us: fsdax pmem, DAX-capable queue */
	if (!ASSERT_OK(stat(DEV, &st), "stat " DEV))
		return;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/dax", major(st.st_rdev),
		 minor(st.st_rdev));
	f = fopen(path, "r");
	if (f) {
		if (fread(&c, 1, 1, f) != 1)
			c = '0';
		fclose(f);
	}
	if (!ASSERT_EQ(c, '1', "queue/dax says 1"))
		return;

	if (!ASSERT_EQ(cli("mkfs", "-f", DEV, NULL), CLI_EXIT_OK, "mkfs -f") || !read_sb(&sb))
		return;
	ASSERT_EQ(le32toh(sb.ndevs), 1, "one device");
	ASSERT_EQ(le32toh(sb.devs[0].kind), FAMFS_DEV_DAX, "device 0 kind DAX");
	if (ASSERT_OK(famfs_sb_decode(&sb, sizeof(sb), &info, msg, sizeof(msg)), "decode"))
		ASSERT_EQ(info.devs.devs[0].kind, FAMFS_DEV_DAX, "decoded kind DAX");
}

void test_cli_mkfs(void)
{
	if (test__start_subtest("mkfs_fsck_clean"))
		test_mkfs_fsck_clean();
	if (test__start_subtest("refuses_ext2"))
		test_refuses_ext2();
	if (test__start_subtest("busy"))
		test_busy();
	if (test__start_subtest("dax_detected"))
		test_dax_detected();
}
