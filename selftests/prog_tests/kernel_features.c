// SPDX-License-Identifier: GPL-2.0
/*
 * The guest runs the patched kernel with what the other tests need: the
 * FUSE_FMAP option, DAX-capable pmem devices and the virtio-blk disk for
 * the block data path.  On a kernel without the series "fmap_config" fails:
 * that is the point of it.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_progs.h"

/* Return the value of CONFIG_@name in the running kernel's config, or "". */
static const char *kconfig_value(const char *name, char *val, size_t size)
{
	size_t name_len = strlen(name), len;
	char line[512];
	const char *v;
	FILE *f;

	val[0] = '\0';
	f = popen("zcat /proc/config.gz", "r");
	if (!f)
		return val;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "CONFIG_", 7) ||
		    strncmp(line + 7, name, name_len) ||
		    line[7 + name_len] != '=')
			continue;
		v = line + 8 + name_len;
		len = strcspn(v, "\n");
		if (len >= size)
			len = size - 1;
		memcpy(val, v, len);
		val[len] = '\0';
		break;
	}
	pclose(f);
	return val;
}

static int read_sysfs_int(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -1;
}

void test_kernel_features(void)
{
	char val[64];
	struct stat st;
	char path[64];
	int i;

	if (test__start_subtest("fmap_config")) {
		ASSERT_OK(access("/proc/config.gz", R_OK), "/proc/config.gz");
		ASSERT_STREQ(kconfig_value("FUSE_FMAP", val, sizeof(val)), "y",
			     "CONFIG_FUSE_FMAP");
	}

	/* the BPF resolver's struct_ops type is registered (in vmlinux BTF) */
	if (test__start_subtest("fmap_bpf_config")) {
		ASSERT_STREQ(kconfig_value("FUSE_FMAP_BPF", val, sizeof(val)), "y",
			     "CONFIG_FUSE_FMAP_BPF");
		/* fs/fuse says so when register_bpf_struct_ops() fails */
		ASSERT_NEQ(system("dmesg | grep -q 'BPF resolver not available'"), 0,
			   "struct_ops fuse_fmap_ops registered at boot");
	}

	if (test__start_subtest("pmem_dax")) {
		for (i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "/dev/pmem%d", i);
			if (!ASSERT_OK(stat(path, &st), path))
				continue;
			ASSERT_TRUE(S_ISBLK(st.st_mode), "pmem is a block device");
			snprintf(path, sizeof(path),
				 "/sys/block/pmem%d/queue/dax", i);
			ASSERT_EQ(read_sysfs_int(path), 1, path);
			snprintf(path, sizeof(path), "/sys/block/pmem%d/size", i);
			/* 1 GiB in 512-byte sectors */
			ASSERT_EQ(read_sysfs_int(path), 2097152, path);
		}
	}

	/* vng --disk attaches a virtio-blk disk: 256 MiB, not DAX */
	if (test__start_subtest("block_disk")) {
		if (ASSERT_OK(stat("/dev/vda", &st), "/dev/vda")) {
			ASSERT_TRUE(S_ISBLK(st.st_mode), "vda is a block device");
			ASSERT_EQ(read_sysfs_int("/sys/block/vda/size"), 524288,
				  "vda is 256 MiB");
			ASSERT_EQ(read_sysfs_int("/sys/block/vda/queue/dax"), 0,
				  "vda is not DAX");
		}
	}
}
