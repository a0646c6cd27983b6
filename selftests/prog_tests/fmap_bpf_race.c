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
 *
 * churn: the same race aimed at the descriptor, on the test server in this
 * process.  Files A and B have CHURN_PAGES one-page extents at the same
 * offsets, over device ranges that hold A's and B's patterns: every page
 * is a miss of the kernel's 16-entry mapping cache, so readers keep the
 * program resolving, while a thread updates both descriptors in turns as
 * fast as it can (famfs_loader_set_size(), what each FUSE_FMAP_END does).
 * Before descriptors were parked, each update freed the file's hash
 * element and the next took it for the other file.  No page of A may show
 * B's bytes, nor B's A's.
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
#include "loader.h"
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

/* ---- churn: descriptor updates against resolves, on the test server ---- */

#define CHURN_PAGES	2048
#define CHURN_SECS	30
#define CHURN_READERS	2
/* device offsets of A's and B's pages on pmem0: page i at base + 2 * i pages */
static const __u64 churn_base[2] = { 200 * MiB, 220 * MiB };

struct churn {
	struct fixture *fx;
	__u64 nodeid[2];
	atomic_ullong updates, pages, foreign;
};

struct churn_reader {
	pthread_t th;
	struct churn *c;
	__u64 seed;
};

static void *churn_updater(void *arg)
{
	struct churn *c = arg;
	struct famfs_loader *l = fbs_server_loader(c->fx->srv);
	__u64 size = (__u64)CHURN_PAGES * 4096;

	while (!atomic_load(&stop)) {
		/* a new size each time: a new descriptor (or, before, hash element) */
		size ^= 4096;
		famfs_loader_set_size(l, c->nodeid[0], size);
		famfs_loader_set_size(l, c->nodeid[1], size);
		atomic_fetch_add(&c->updates, 2);
	}
	return NULL;
}

static void *churn_reader(void *arg)
{
	struct churn_reader *r = arg;
	struct churn *c = r->c;
	unsigned char page[4096], want[4096];
	char path[128];
	int fd[2];

	fd[0] = open(fixture_path(c->fx, "A", path, sizeof(path)), O_RDONLY);
	fd[1] = open(fixture_path(c->fx, "B", path, sizeof(path)), O_RDONLY);
	while (fd[0] >= 0 && fd[1] >= 0 && !atomic_load(&stop)) {
		unsigned int f = rnd(&r->seed, 2);
		__u64 off = rnd(&r->seed, CHURN_PAGES) * 4096;

		if (pread(fd[f], page, sizeof(page), off) != sizeof(page))
			continue;
		atomic_fetch_add(&c->pages, 1);
		fill(f, want, off, sizeof(want));
		if (memcmp(page, want, sizeof(page))) {
			atomic_fetch_add(&c->foreign, 1);
			check(f, page, off, sizeof(page), "churn read");
		}
	}
	if (fd[0] >= 0)
		close(fd[0]);
	if (fd[1] >= 0)
		close(fd[1]);
	return NULL;
}

static void test_churn(__u64 seed, __u64 secs)
{
	struct fixture_opts opts = { .resolver = FBS_RESOLVER_BPF };
	struct fmap_simple_ext *ext = calloc(CHURN_PAGES, sizeof(*ext));
	unsigned char *page = malloc(4096);
	struct famfs_resolver_stats st0, st1;
	struct churn c = { 0 };
	struct fixture fx = { 0 };
	struct churn_reader rd[CHURN_READERS];
	pthread_t upd;
	struct fbs_layout l;
	unsigned int f, i, nrd = 0;
	char path[128];
	struct stat st;
	bool updating = false;

	if (!ASSERT_TRUE(ext && page, "malloc") ||
	    !ASSERT_OK(fixture_mount(&fx, &opts), "mount the test server with BPF"))
		goto out;
	c.fx = &fx;
	for (f = 0; f < 2; f++) {
		for (i = 0; i < CHURN_PAGES; i++) {
			ext[i] = (struct fmap_simple_ext){ .file_off = i * 4096ULL, .len = 4096,
							   .dev = 0,
							   .dev_off = churn_base[f] + i * 8192ULL };
			fill(f, page, ext[i].file_off, 4096);
			if (!ASSERT_OK(dev_pwrite(FX_DEV0, page, 4096, ext[i].dev_off), "seed"))
				goto out;
		}
		layout_simple(&l, CHURN_PAGES, ext);
		if (!ASSERT_OK(fbs_server_add_file(fx.srv, f ? "B" : "A", CHURN_PAGES * 4096ULL,
						   &l), "add") ||
		    !ASSERT_OK(stat(fixture_path(&fx, f ? "B" : "A", path, sizeof(path)), &st),
			       "stat"))
			goto out;
		c.nodeid[f] = st.st_ino;	/* the test server's inode numbers are nodeids */
	}
	if (!ASSERT_OK(famfs_loader_stats(fbs_server_loader(fx.srv), &st0), "stats"))
		goto out;
	atomic_store(&stop, false);
	for (i = 0; i < CHURN_READERS; i++) {
		rd[i] = (struct churn_reader){ .c = &c, .seed = seed * (i + 5) | 1 };
		if (pthread_create(&rd[i].th, NULL, churn_reader, &rd[i]))
			break;
		nrd++;
	}
	updating = !pthread_create(&upd, NULL, churn_updater, &c);
	ASSERT_TRUE(updating && nrd == CHURN_READERS, "threads");
	sleep(secs);
	atomic_store(&stop, true);
	if (updating)
		pthread_join(upd, NULL);
	for (i = 0; i < nrd; i++)
		pthread_join(rd[i].th, NULL);
	ASSERT_OK(famfs_loader_stats(fbs_server_loader(fx.srv), &st1), "stats");
	printf("# churn: %llu descriptor updates, %llu pages read, %llu of the other file; "
	       "resolver handled %llu, other_file %llu\n",
	       (unsigned long long)c.updates, (unsigned long long)c.pages,
	       (unsigned long long)c.foreign, (unsigned long long)(st1.handled - st0.handled),
	       (unsigned long long)(st1.other_file - st0.other_file));
	ASSERT_EQ(c.foreign, 0, "no page of A showed B's bytes, nor B's A's");
	ASSERT_GT(c.updates, 1000, "descriptors updated");
	ASSERT_GT(st1.handled - st0.handled, 1000, "the resolver answered >1000 misses");
out:
	fixture_unmount(&fx);
	free(ext);
	free(page);
}

static __u64 env_u64(const char *name, __u64 def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

static void test_daemon(__u64 seed, __u64 secs)
{
	struct worker rd[NPREAD + NMMAP], mut[NMUT];
	long long res0, up0, handled0, res1, up1, handled1;
	unsigned char *buf = malloc(PIECE);
	struct sigaction sa = { .sa_handler = on_sigbus };
	pthread_t drop;
	char path[64];
	unsigned int i, nrd = 0, nmut = 0;
	bool dropping = false;

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
	handled0 = fixture_resolver_stat(MNT, "handled");
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
	handled1 = fixture_resolver_stat(MNT, "handled");
	printf("# %llu preads, %llu page faults, %llu changes; bpf_resolves %lld -> %lld, "
	       "upcalls %lld -> %lld, resolver handled %lld -> %lld, other_file %lld\n",
	       (unsigned long long)reads_done, (unsigned long long)faults_done,
	       (unsigned long long)mut_ops, res0, res1, up0, up1, handled0, handled1,
	       fixture_resolver_stat(MNT, "other_file"));
	ASSERT_EQ(bad_bytes, 0, "no read returned a byte of another file");
	ASSERT_GT(reads_done, 0, "reads ran");
	ASSERT_GT(faults_done, 0, "faults ran");
	ASSERT_GT(mut_ops, 0, "changes ran");
	/* 3,700 to 18,000 in 20 s under TCG, with other guests on the host */
	ASSERT_GT(res1 - res0, 100, "the kernel took >100 mappings from BPF");
	ASSERT_GT(handled1 - handled0, 100, "the resolver answered >100 misses");

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

void test_fmap_bpf_race(void)
{
	__u64 seed = env_u64("FMAP_RACE_SEED", 0), secs = env_u64("FMAP_RACE_SECS", 0);

	if (!seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (__u64)ts.tv_sec * 1000000007ULL ^ ts.tv_nsec ^ getpid();
		seed |= 1;
	}
	printf("# seed %llu (FMAP_RACE_SEED), %llu s (FMAP_RACE_SECS; 0: each subtest's own)\n",
	       (unsigned long long)seed, (unsigned long long)secs);
	/*
	 * Cost: RACE_SECS + CHURN_SECS of racing plus set-up, about 60 s on
	 * the test kernel; the debug kernel races half as long (its set-up
	 * and each operation are several times slower).
	 */
	if (test__start_subtest("daemon"))
		test_daemon(seed, secs ? secs : RACE_SECS / (fixture_debug_kernel() ? 2 : 1));
	if (test__start_subtest("churn"))
		test_churn(seed, secs ? secs : CHURN_SECS / (fixture_debug_kernel() ? 2 : 1));
}
