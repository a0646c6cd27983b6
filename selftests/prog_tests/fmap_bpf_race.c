// SPDX-License-Identifier: GPL-2.0
/*
 * No file's bytes through another file's descriptor (issue 16, item 3).
 *
 * famfs-bpf mount with the BPF resolver on /dev/pmem2.  NFILES files, each
 * filled with a pattern that names it in every 8-byte word: byte 5 is the
 * file's number (1..NFILES), the low 5 bytes the word's offset, the top
 * byte 0xfb.  For RACE_SECS seconds:
 *   - readers pread(2) and mmap-fault random ranges of random files and
 *     check every byte: 0 (a hole, a range not written yet, a word torn
 *     by a concurrent write) or the byte the file's own pattern has there;
 *   - mutators, each owning every NMUT-th file, extend files in small
 *     writes (each an FMAP_END, a size update of the file's descriptor),
 *     truncate them down and up, and delete and create them again;
 *   - a dropper evicts unused inodes now and then, so that reads miss the
 *     kernel's mapping cache and go to the resolver.
 * No read may return a byte of another file's pattern; the resolver must
 * have answered many of the misses (bpf_resolves in fmap_stats and the
 * resolver's own "handled" counter).  The seed is printed; FMAP_RACE_SEED
 * and FMAP_RACE_SECS in the environment fix it and the duration.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"
#include "xorshift.h"

#define DEV		"/dev/pmem2"
#define MNT		"/tmp/fmap_bpf_race.mnt"
#define NFILES		40
#define MAXLEN		(4 * MiB)
#define PIECE		(16 * 1024)	/* an extending write */
#define READLEN		(64 * 1024)
#define NPREAD		2
#define NMMAP		2
#define NMUT		2
#ifndef RACE_SECS
#define RACE_SECS	20
#endif
#define MAX_REPORTS	8

static char tool[PATH_MAX];
static atomic_bool stop;
static atomic_ullong bad_bytes, reads_done, faults_done, mut_ops, reports;

static const char *name_of(unsigned int i, char *buf, size_t size)
{
	snprintf(buf, size, "%s/f%02u", MNT, i);
	return buf;
}

/* The byte at @off of file @i's pattern */
static unsigned char pattern_byte(unsigned int i, __u64 off)
{
	__u64 w = 0xfbULL << 56 | (__u64)(i + 1) << 40 | ((off >> 3) & 0xffffffffffULL);

	return w >> (8 * (off & 7));
}

static void fill(unsigned int i, unsigned char *buf, __u64 off, size_t len)
{
	for (size_t k = 0; k < len; k++)
		buf[k] = pattern_byte(i, off + k);
}

/* Bytes of @buf (file @i at @off) that are neither 0 nor the file's own */
static void check(unsigned int i, const unsigned char *buf, __u64 off, size_t len,
		  const char *how)
{
	__u64 bad = 0;

	for (size_t k = 0; k < len; k++) {
		if (!buf[k] || buf[k] == pattern_byte(i, off + k))
			continue;
		if (!bad && atomic_fetch_add(&reports, 1) < MAX_REPORTS) {
			size_t w = k & ~7UL;
			__u64 word = 0;

			memcpy(&word, buf + w, w + 8 <= len ? 8 : len - w);
			printf("# %s of f%02u at %llu: byte %02x, want %02x; word %016llx "
			       "names file %llu\n", how, i, (unsigned long long)(off + k), buf[k],
			       pattern_byte(i, off + k), (unsigned long long)word,
			       (unsigned long long)((word >> 40) & 0xffff) - 1);
		}
		bad++;
	}
	if (bad)
		atomic_fetch_add(&bad_bytes, bad);
}

static __u64 rnd(__u64 *s, __u64 n)
{
	return n ? xorshift64(s) % n : 0;
}

struct worker {
	pthread_t th;
	unsigned int id;
	__u64 seed;
};

static void *pread_worker(void *arg)
{
	struct worker *w = arg;
	unsigned char *buf = malloc(READLEN);
	char path[64];
	struct stat st;

	while (buf && !atomic_load(&stop)) {
		unsigned int i = rnd(&w->seed, NFILES);
		int fd = open(name_of(i, path, sizeof(path)), O_RDONLY);

		if (fd < 0)
			continue;	/* deleted meanwhile */
		for (int r = 0; r < 8 && !fstat(fd, &st) && st.st_size > 0; r++) {
			__u64 off = rnd(&w->seed, st.st_size) & ~4095ULL;
			ssize_t n = pread(fd, buf, READLEN, off);

			if (n > 0)
				check(i, buf, off, n, "pread");
			atomic_fetch_add(&reads_done, 1);
		}
		close(fd);
	}
	free(buf);
	return NULL;
}

static __thread sigjmp_buf fault_jmp;
static __thread volatile bool in_fault;

/* A page past a concurrent truncate: SIGBUS, as it should */
static void on_sigbus(int sig)
{
	if (in_fault)
		siglongjmp(fault_jmp, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void *mmap_worker(void *arg)
{
	struct worker *w = arg;
	unsigned char page[4096];
	char path[64];
	struct stat st;

	while (!atomic_load(&stop)) {
		unsigned int i = rnd(&w->seed, NFILES);
		int fd = open(name_of(i, path, sizeof(path)), O_RDONLY);
		unsigned char *map;
		size_t len;

		if (fd < 0)
			continue;
		if (fstat(fd, &st) || st.st_size < 4096) {
			close(fd);
			continue;
		}
		len = st.st_size & ~4095UL;
		map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
		if (map == MAP_FAILED)
			continue;
		for (volatile int r = 0; r < 16; r++) {
			volatile __u64 off = rnd(&w->seed, len) & ~4095UL;

			in_fault = true;
			if (sigsetjmp(fault_jmp, 1)) {
				in_fault = false;
				break;	/* truncated under us */
			}
			memcpy(page, map + off, sizeof(page));
			in_fault = false;
			check(i, page, off, sizeof(page), "fault");
			atomic_fetch_add(&faults_done, 1);
		}
		munmap(map, len);
	}
	return NULL;
}

/* Extend file @i from its end by up to @grow bytes, PIECE at a time */
static void extend(int fd, unsigned int i, __u64 grow, unsigned char *buf)
{
	struct stat st;
	__u64 off, end;

	if (fstat(fd, &st))
		return;
	off = st.st_size;
	end = off + grow < MAXLEN ? off + grow : MAXLEN;
	while (off < end && !atomic_load(&stop)) {
		size_t n = end - off < PIECE ? end - off : PIECE;

		fill(i, buf, off, n);
		if (pwrite(fd, buf, n, off) != (ssize_t)n)
			return;
		off += n;
	}
}

static void *mutator(void *arg)
{
	struct worker *w = arg;
	unsigned char *buf = malloc(PIECE);
	char path[64];
	struct stat st;

	while (buf && !atomic_load(&stop)) {
		/* this mutator's files only: no two change one file */
		unsigned int i = w->id + NMUT * rnd(&w->seed, NFILES / NMUT);
		unsigned int op = rnd(&w->seed, 10);
		int fd;

		name_of(i, path, sizeof(path));
		if (op == 0) {
			/* delete and create again, small */
			unlink(path);
			fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
			if (fd >= 0) {
				extend(fd, i, 256 * 1024, buf);
				close(fd);
			}
		} else if (op <= 2) {
			/* down, sometimes to an odd size, sometimes up past EOF (a hole) */
			fd = open(path, O_RDWR);
			if (fd >= 0 && !fstat(fd, &st)) {
				__u64 to = rnd(&w->seed, st.st_size + 1);

				if (op == 2 && (__u64)st.st_size < MAXLEN - MiB)
					to = st.st_size + rnd(&w->seed, MiB);
				if (ftruncate(fd, to))
					printf("# ftruncate f%02u to %llu: %s\n", i,
					       (unsigned long long)to, strerror(errno));
			}
			if (fd >= 0)
				close(fd);
		} else {
			fd = open(path, O_RDWR);
			if (fd >= 0) {
				if (!fstat(fd, &st) && (__u64)st.st_size >= MAXLEN - PIECE &&
				    ftruncate(fd, rnd(&w->seed, MiB)))
					printf("# ftruncate f%02u: %s\n", i, strerror(errno));
				extend(fd, i, PIECE * (1 + rnd(&w->seed, 32)), buf);
				close(fd);
			}
		}
		atomic_fetch_add(&mut_ops, 1);
	}
	free(buf);
	return NULL;
}

/* Evict the inodes no one holds: their cached mappings go with them */
static void *dropper(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

		if (fd >= 0) {
			if (write(fd, "2", 1) != 1)
				break;
			close(fd);
		}
		usleep(200 * 1000);
	}
	return NULL;
}

/* The resolver's counter @field summed over CPUs (bpftool); -1 if not read */
static long long resolver_stat(const char *field)
{
	char stats[PATH_MAX], want[64];
	long long sum = 0;
	struct stat st;
	const char *p;

	if (stat(MNT, &st))
		return -1;
	snprintf(stats, sizeof(stats), "/sys/fs/bpf/famfs-bpf/%u/stats", minor(st.st_dev));
	if (fixture_cmd(0, tool, "map", "dump", "pinned", stats))
		return -1;
	snprintf(want, sizeof(want), "\"%s\": ", field);
	for (p = fixture_out; (p = strstr(p, want)); p++)
		sum += strtoll(p + strlen(want), NULL, 10);
	return sum;
}

static __u64 env_u64(const char *name, __u64 def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

void test_fmap_bpf_race(void)
{
	struct worker rd[NPREAD + NMMAP], mut[NMUT];
	__u64 seed = env_u64("FMAP_RACE_SEED", 0), secs = env_u64("FMAP_RACE_SECS", RACE_SECS);
	long long res0, up0, handled0, res1, up1, handled1;
	unsigned char *buf = malloc(PIECE);
	struct sigaction sa = { .sa_handler = on_sigbus };
	pthread_t drop;
	char path[64];
	unsigned int i, nrd = 0, nmut = 0;
	bool dropping = false;

	if (!seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (__u64)ts.tv_sec * 1000000007ULL ^ ts.tv_nsec ^ getpid();
		seed |= 1;
	}
	printf("# seed %llu (FMAP_RACE_SEED), %llu s (FMAP_RACE_SECS)\n",
	       (unsigned long long)seed, (unsigned long long)secs);
	if (!ASSERT_TRUE(buf != NULL, "malloc") || !fixture_famfs_bin() ||
	    !fixture_find_binary("tools/bpftool/bpftool", tool, sizeof(tool)))
		goto out;
	fixture_ensure_unmounted(MNT);
	if (!fixture_mkfs_mount(DEV, MNT, NULL) ||
	    !ASSERT_EQ(fixture_mnt_stat(MNT, "bpf_attached"), 1, "BPF resolver attached"))
		goto out;

	for (i = 0; i < NFILES; i++) {
		__u64 s = seed + i;
		int fd = open(name_of(i, path, sizeof(path)), O_CREAT | O_RDWR, 0644);

		if (!ASSERT_OK_FD(fd, "create"))
			goto out;
		extend(fd, i, 64 * 1024 + (rnd(&s, MAXLEN - 64 * 1024) & ~4095ULL), buf);
		close(fd);
	}
	sigaction(SIGBUS, &sa, NULL);
	res0 = fixture_mnt_stat(MNT, "bpf_resolves");
	up0 = fixture_mnt_stat(MNT, "upcalls");
	handled0 = resolver_stat("handled");
	if (!ASSERT_GE(res0, 0, "fmap_stats") || !ASSERT_GE(handled0, 0, "resolver stats"))
		goto out;

	atomic_store(&stop, false);
	for (i = 0; i < NPREAD + NMMAP; i++) {
		rd[i] = (struct worker){ .id = i, .seed = seed * (i + 3) | 1 };
		if (pthread_create(&rd[i].th, NULL, i < NPREAD ? pread_worker : mmap_worker,
				   &rd[i]))
			break;
		nrd++;
	}
	for (i = 0; i < NMUT; i++) {
		mut[i] = (struct worker){ .id = i, .seed = seed * (i + 11) | 1 };
		if (pthread_create(&mut[i].th, NULL, mutator, &mut[i]))
			break;
		nmut++;
	}
	dropping = !pthread_create(&drop, NULL, dropper, NULL);
	ASSERT_EQ(nrd + nmut, NPREAD + NMMAP + NMUT, "threads");
	sleep(secs);
	atomic_store(&stop, true);
	for (i = 0; i < nrd; i++)
		pthread_join(rd[i].th, NULL);
	for (i = 0; i < nmut; i++)
		pthread_join(mut[i].th, NULL);
	if (dropping)
		pthread_join(drop, NULL);
	signal(SIGBUS, SIG_DFL);

	res1 = fixture_mnt_stat(MNT, "bpf_resolves");
	up1 = fixture_mnt_stat(MNT, "upcalls");
	handled1 = resolver_stat("handled");
	printf("# %llu preads, %llu page faults, %llu changes; bpf_resolves %lld -> %lld, "
	       "upcalls %lld -> %lld, resolver handled %lld -> %lld, other_file %lld\n",
	       (unsigned long long)reads_done, (unsigned long long)faults_done,
	       (unsigned long long)mut_ops, res0, res1, up0, up1, handled0, handled1,
	       resolver_stat("other_file"));
	ASSERT_EQ(bad_bytes, 0, "no read returned a byte of another file");
	ASSERT_GT(reads_done, 0, "reads ran");
	ASSERT_GT(faults_done, 0, "faults ran");
	ASSERT_GT(mut_ops, 0, "changes ran");
	ASSERT_GT(res1 - res0, 1000, "the kernel took >1000 mappings from BPF");
	ASSERT_GT(handled1 - handled0, 1000, "the resolver answered >1000 misses");

	/* what is left is whole: every file reads back as its own pattern or zeros */
	for (i = 0; i < NFILES; i++) {
		int fd = open(name_of(i, path, sizeof(path)), O_RDONLY);
		__u64 off = 0;
		ssize_t n;

		if (fd < 0)
			continue;
		while ((n = pread(fd, buf, PIECE, off)) > 0) {
			check(i, buf, off, n, "final read");
			off += n;
		}
		close(fd);
	}
	ASSERT_EQ(bad_bytes, 0, "and none after");
out:
	fixture_ensure_unmounted(MNT);
	free(buf);
}
