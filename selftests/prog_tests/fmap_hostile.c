// SPDX-License-Identifier: GPL-2.0
/*
 * Unprivileged users against the famfs-bpf daemon, with each resolver
 * (BPF, upcall, built-in): four processes as uid 65534 work on eight
 * shared files at random for a while.  Every byte of file f at offset o
 * is either zero or that byte of pattern(f, o), an 8-byte word that names
 * the file, and each process checks every byte it sees:
 *  - pins: vmsplice() of a mapped page into a pipe, the mapping and the
 *    fd closed, the pipe read after a pause in which others truncate,
 *    punch and rewrite the file (the kernel waits for the pin before the
 *    space is reused);
 *  - reopen, truncate (down and up), punch, write, read(2), and mappings
 *    made and dropped while all that goes on.
 * It fails if any read, mapping or pin shows a word of another file, or
 * anything that is neither zero nor the file's pattern; if a process does
 * not finish in time (hang); and, like every test, if the kernel log
 * shows a WARN, BUG or lockdep report (the debug kernel also runs the
 * hung-task detector).  A process may hold a pin only while it does
 * nothing else on the file system: a pin holder that waits for a lock
 * that a truncate waiting for its pin holds would deadlock with it, as it
 * would anywhere.
 * Cost: 15 s per resolver on the test kernel (5 s on the debug kernel),
 * plus mkfs and mount.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"
#include "xorshift.h"

#define DEV	"/dev/pmem2"
#define MNT	"/tmp/fmap_hostile.mnt"
#define NFILES	8
#define NPROCS	4
#define FMAX	(4 * MiB)
#define PG	4096
#define MAGIC	0xfa00000000000000ULL

enum { H_OK, H_OTHER_FILE, H_GARBAGE, H_SETUP, H_HUNG };

static sigjmp_buf sigbus_jmp;

static __u64 pattern(unsigned int f, __u64 off)
{
	return MAGIC | ((__u64)f << 40) | (off >> 3);
}

static void fill(unsigned int f, __u64 off, __u64 *buf, size_t words)
{
	size_t i;

	for (i = 0; i < words; i++)
		buf[i] = pattern(f, off + 8 * i);
}

/*
 * Each byte of word @w is zero or the pattern's: a truncate to an
 * unaligned size zeroes a word from the middle on.
 */
static bool word_ok(__u64 w, __u64 p)
{
	unsigned int i;

	for (i = 0; i < 64; i += 8) {
		__u64 b = (w >> i) & 0xff;

		if (b && b != ((p >> i) & 0xff))
			return false;
	}
	return true;
}

/* H_OK, or what the first bad word of @buf (file @f at @off) is */
static int verify(unsigned int f, __u64 off, const __u64 *buf, size_t words,
		  const char *how)
{
	size_t i;

	for (i = 0; i < words; i++) {
		__u64 w = buf[i], o = off + 8 * i;

		if (word_ok(w, pattern(f, o)))
			continue;
		printf("# file %u offset %llu (%s): %#llx, expected 0 or %#llx: %s\n",
		       f, (unsigned long long)o, how, (unsigned long long)w,
		       (unsigned long long)pattern(f, o),
		       (w & 0xff00000000000000ULL) == MAGIC ? "another file's word" :
		       "garbage");
		return (w & 0xff00000000000000ULL) == MAGIC ? H_OTHER_FILE : H_GARBAGE;
	}
	return H_OK;
}

static const char *fpath(unsigned int f)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), MNT "/h/f%u", f);
	return buf;
}

static __u64 fsize(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (__u64)st.st_size;
}

/* One random operation on file @f; H_OK or a verdict */
static int one_op(__u64 *rng, unsigned int f, __u64 *buf)
{
	unsigned int op = xorshift64(rng) % 7;
	__u64 off = (xorshift64(rng) % (FMAX / PG)) * PG;
	size_t len = (1 + xorshift64(rng) % 16) * PG;
	int fd, ret = H_OK, p[2];
	unsigned char *volatile map;
	volatile __u64 size;
	__u64 i;
	struct iovec iov;

	if (off + len > FMAX)
		len = FMAX - off;
	fd = open(fpath(f), O_RDWR);
	if (fd < 0)
		return H_SETUP;
	size = fsize(fd);
	switch (op) {
	case 0: {	/* read(2) */
		ssize_t n = pread(fd, buf, len, off);

		if (n > 0)
			ret = verify(f, off, buf, n / 8, "read");
		break;
	}
	case 1:		/* a mapping, some pages of it */
		if (!size)
			break;
		map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			break;
		/* Another process may truncate the file under the mapping */
		if (sigsetjmp(sigbus_jmp, 1)) {
			munmap(map, size);
			break;
		}
		for (i = 0; i < 8 && ret == H_OK; i++) {
			__u64 at = (xorshift64(rng) % ((size + PG - 1) / PG)) * PG;
			size_t n = at + PG <= size ? PG : size - at;

			memcpy(buf, map + at, n);
			ret = verify(f, at, buf, n / 8, "mmap");
		}
		munmap(map, size);
		break;
	case 2:		/* a pin that outlives its mapping and fd */
		if (size < PG || pipe(p))
			break;
		off = (xorshift64(rng) % (size / PG)) * PG;
		map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			close(p[0]);
			close(p[1]);
			break;
		}
		iov.iov_base = map + off;
		iov.iov_len = PG;
		i = vmsplice(p[1], &iov, 1, 0);
		munmap(map, size);
		close(fd);
		fd = -1;
		usleep(xorshift64(rng) % 50000);
		if (i == PG && read(p[0], buf, PG) == PG)
			ret = verify(f, off, buf, PG / 8, "pin");
		close(p[0]);
		close(p[1]);
		break;
	case 3:		/* truncate, down or up */
		if (ftruncate(fd, (xorshift64(rng) % (FMAX / PG + 1)) * PG +
				  xorshift64(rng) % PG))
			ret = errno == ENOSPC ? H_OK : H_SETUP;
		break;
	case 4:		/* write the file's own pattern */
		fill(f, off, buf, len / 8);
		if (pwrite(fd, buf, len, off) < 0 && errno != ENOSPC)
			ret = H_SETUP;
		break;
	case 5:		/* punch */
		fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
		break;
	default:	/* reopen: another open of a file others map */
		close(open(fpath(f), O_RDONLY));
		break;
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(sigbus_jmp, 1);
}

static void worker(unsigned int id, __u64 seed, int seconds)
{
	struct sigaction sa = { .sa_handler = on_sigbus };

	__u64 rng;
	time_t end = time(NULL) + seconds;
	__u64 *buf = malloc(16 * PG);
	int ret = H_OK;

	if (!buf || setgid(65534) || setuid(65534))
		_exit(H_SETUP);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	rng = (seed + id) | 1;
	while (ret == H_OK && time(NULL) < end)
		ret = one_op(&rng, xorshift64(&rng) % NFILES, buf);
	_exit(ret);
}

static void run(const char *resolver, int seconds, __u64 seed)
{
	char opt[64];
	__u64 *buf = malloc(FMAX);
	pid_t pids[NPROCS];
	unsigned int f, i;
	int fd, status;

	if (!ASSERT_TRUE(buf != NULL, "malloc"))
		return;
	snprintf(opt, sizeof(opt), "resolver=%s", resolver);
	if (!ASSERT_EQ(fixture_famfs(0, "mkfs", "-f", DEV), 0, "mkfs"))
		goto out_free;
	mkdir(MNT, 0755);
	if (!ASSERT_EQ(fixture_famfs(0, "mount", "-o", opt, DEV, MNT), 0, "mount"))
		goto out_free;
	if (!ASSERT_OK(mkdir(MNT "/h", 0777), "mkdir") ||
	    !ASSERT_OK(chmod(MNT "/h", 0777), "chmod"))
		goto out;
	for (f = 0; f < NFILES; f++) {
		fd = open(fpath(f), O_RDWR | O_CREAT | O_EXCL, 0666);
		if (!ASSERT_OK_FD(fd, "create"))
			goto out;
		fill(f, 0, buf, FMAX / 8);
		ASSERT_EQ(pwrite(fd, buf, FMAX, 0), FMAX, "fill");
		fchmod(fd, 0666);
		close(fd);
	}

	for (i = 0; i < NPROCS; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			worker(i, seed, seconds);
	}
	for (i = 0; i < NPROCS; i++) {
		status = fixture_wait_exit(pids[i], seconds + 120);
		if (status < 0)
			status = H_HUNG;
		ASSERT_EQ(status, H_OK, "worker: nothing but its own file's bytes, in time");
	}

	/* And a last look at every file, as root */
	for (f = 0; f < NFILES; f++) {
		ssize_t n;

		fd = open(fpath(f), O_RDONLY);
		if (!ASSERT_OK_FD(fd, "open"))
			continue;
		n = pread(fd, buf, FMAX, 0);
		if (ASSERT_GE(n, 0, "read"))
			ASSERT_EQ(verify(f, 0, buf, n / 8, "final read"), H_OK, "final read");
		close(fd);
	}
out:
	ASSERT_EQ(fixture_famfs(0, "umount", MNT), 0, "umount");
out_free:
	free(buf);
}

void test_fmap_hostile(void)
{
	static const char *const resolvers[] = { "bpf", "upcall", "builtin" };
	int seconds = fixture_debug_kernel() ? 5 : 15;
	__u64 seed = (__u64)time(NULL) ^ ((__u64)getpid() << 20);
	char name[32];
	unsigned int i;

	if (getenv("FMAP_HOSTILE_SEED"))
		seed = strtoull(getenv("FMAP_HOSTILE_SEED"), NULL, 0);
	printf("# fmap_hostile: seed %llu (FMAP_HOSTILE_SEED replays it)\n",
	       (unsigned long long)seed);
	for (i = 0; i < sizeof(resolvers) / sizeof(resolvers[0]); i++) {
		snprintf(name, sizeof(name), "%s", resolvers[i]);
		if (test__start_subtest(name))
			run(resolvers[i], seconds, seed);
	}
}
