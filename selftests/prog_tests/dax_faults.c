// SPDX-License-Identifier: GPL-2.0
/*
 * Reference point for the fault counters: ext2 with -o dax on /dev/pmem2.
 * It proves the BPF tool chain end to end (vmlinux.h from this kernel, a
 * skeleton, static libbpf, tp_btf attach in the guest) and gives the PTE
 * fault count of a plain DAX file system that the FUSE tests compare with.
 * ext2 has no huge_fault handler, so every fault is a PTE fault.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_progs.h"
#include "dax_faults.skel.h"

#define REF_DEV		"/dev/pmem2"
#define REF_MNT		"/tmp/dax_ref"
#define EXT2_MAGIC	0xEF53
#define FILE_SIZE	(4UL << 20)
#define PAGE		4096UL

void test_dax_faults(void)
{
	struct dax_faults_bpf *skel = NULL;
	unsigned char *buf = NULL, *map = MAP_FAILED;
	bool mounted = false;
	unsigned long i, sum = 0;
	int fd = -1, err;

	err = system("mkfs.ext2 -q -F -b 4096 " REF_DEV " >/dev/null 2>&1");
	if (!ASSERT_OK(err, "mkfs.ext2 " REF_DEV))
		return;
	mkdir(REF_MNT, 0755);
	err = mount(REF_DEV, REF_MNT, "ext2", 0, "dax");
	if (!ASSERT_OK(err, "mount -o dax"))
		return;
	mounted = true;

	skel = dax_faults_bpf__open();
	if (!ASSERT_TRUE(skel, "skeleton open"))
		goto out;
	skel->rodata->target_magic = EXT2_MAGIC;
	if (!ASSERT_OK(dax_faults_bpf__load(skel), "skeleton load"))
		goto out;
	if (!ASSERT_OK(dax_faults_bpf__attach(skel), "attach"))
		goto out;

	buf = malloc(FILE_SIZE);
	if (!ASSERT_TRUE(buf, "malloc"))
		goto out;
	for (i = 0; i < FILE_SIZE; i++)
		buf[i] = (unsigned char)(i * 7 + (i >> 12));
	fd = open(REF_MNT "/f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (!ASSERT_OK_FD(fd, "create"))
		goto out;
	if (!ASSERT_EQ(write(fd, buf, FILE_SIZE), FILE_SIZE, "write"))
		goto out;
	map = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (!ASSERT_TRUE(map != MAP_FAILED, "mmap"))
		goto out;
	/* S_DAX is what makes these DAX faults at all */
	skel->bss->pte_faults = 0;
	for (i = 0; i < FILE_SIZE; i += PAGE)
		sum += map[i];
	ASSERT_GT(sum, 0, "touched");
	ASSERT_MEMEQ(map, buf, FILE_SIZE, "mmap reads what write wrote");
	ASSERT_EQ(skel->bss->pte_faults, FILE_SIZE / PAGE, "one PTE fault per page");
	ASSERT_EQ(skel->bss->pmd_faults, 0, "no PMD faults on ext2");
out:
	if (map != MAP_FAILED)
		munmap(map, FILE_SIZE);
	if (fd >= 0)
		close(fd);
	free(buf);
	dax_faults_bpf__destroy(skel);
	if (mounted)
		ASSERT_OK(umount(REF_MNT), "umount");
}
