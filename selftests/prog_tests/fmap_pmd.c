// SPDX-License-Identifier: GPL-2.0
/*
 * PMD faults: a file whose extents are 2 MiB aligned on the device, mapped
 * at a 2 MiB aligned address, faults in 2 MiB at a time; one whose device
 * offset is not aligned falls back to PTEs.  Counted with the dax_faults
 * BPF program, filtered to FUSE.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fixture.h"
#include "test_progs.h"
#include "dax_faults.skel.h"

#define FUSE_MAGIC	0x65735546
#define SIZE		(8 * MiB)
#define PMD		(2 * MiB)

/* Map @fd at a PMD-aligned address, as a huge-page-friendly caller would. */
static void *map_aligned(int fd)
{
	uint8_t *area, *aligned;

	area = mmap(NULL, SIZE + PMD, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return MAP_FAILED;
	aligned = (uint8_t *)(((uintptr_t)area + PMD - 1) & ~(uintptr_t)(PMD - 1));
	return mmap(aligned, SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
}

static void touch(struct fixture *fx, const char *name, struct dax_faults_bpf *skel,
		  __u64 *pte, __u64 *pmd, __u64 *fallback)
{
	volatile uint8_t *map;
	char path[128];
	unsigned long i, sum = 0;
	int fd;

	*pte = *pmd = *fallback = 0;
	fd = open(fixture_path(fx, name, path, sizeof(path)), O_RDONLY);
	if (!ASSERT_OK_FD(fd, "open"))
		return;
	map = map_aligned(fd);
	if (!ASSERT_TRUE(map != MAP_FAILED, "mmap"))
		goto out;
	skel->bss->pte_faults = skel->bss->pmd_faults = skel->bss->pmd_fallbacks = 0;
	for (i = 0; i < SIZE; i += 4096)
		sum += map[i];
	*pte = skel->bss->pte_faults;
	*pmd = skel->bss->pmd_faults;
	*fallback = skel->bss->pmd_fallbacks;
	printf("# %s: %llu PTE, %llu PMD, %llu PMD fallbacks (sum %lu)\n", name,
	       (unsigned long long)*pte, (unsigned long long)*pmd,
	       (unsigned long long)*fallback, sum);
	munmap((void *)map, SIZE);
out:
	close(fd);
}

void test_fmap_pmd(void)
{
	struct fmap_simple_ext aligned = { .len = SIZE, .dev = 0, .dev_off = 256 * MiB };
	struct fmap_simple_ext unaligned = { .len = SIZE, .dev = 1, .dev_off = 257 * MiB };
	struct dax_faults_bpf *skel = NULL;
	struct fixture fx = { 0 };
	struct fbs_layout l;
	__u64 pte, pmd, fallback;

	skel = dax_faults_bpf__open();
	if (!ASSERT_TRUE(skel, "open skeleton"))
		return;
	skel->rodata->target_magic = FUSE_MAGIC;
	if (!ASSERT_OK(dax_faults_bpf__load(skel), "load") ||
	    !ASSERT_OK(dax_faults_bpf__attach(skel), "attach"))
		goto out;
	if (!ASSERT_OK(fixture_mount(&fx, NULL), "mount"))
		goto out;
	layout_simple(&l, 1, &aligned);
	ASSERT_OK(fbs_server_add_file(fx.srv, "aligned", SIZE, &l), "add aligned");
	layout_simple(&l, 1, &unaligned);
	ASSERT_OK(fbs_server_add_file(fx.srv, "unaligned", SIZE, &l), "add unaligned");

	if (test__start_subtest("aligned")) {
		touch(&fx, "aligned", skel, &pte, &pmd, &fallback);
		ASSERT_EQ(pmd, SIZE / PMD, "one PMD fault per 2 MiB");
		ASSERT_EQ(fallback, 0, "no fallbacks");
		ASSERT_EQ(pte, 0, "no PTE faults");
	}
	if (test__start_subtest("unaligned")) {
		touch(&fx, "unaligned", skel, &pte, &pmd, &fallback);
		/* the device offset is 1 MiB off a PMD boundary */
		ASSERT_EQ(pmd, 0, "no PMD mapping");
		ASSERT_GE(fallback, SIZE / PMD, "every PMD fault fell back");
	}
	fixture_unmount(&fx);
out:
	dax_faults_bpf__destroy(skel);
}
