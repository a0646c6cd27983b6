// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of server/super.c: the superblock and the device labels
 * round-trip, every byte is covered by a check, and a mount given the
 * wrong devices (order, another file system) is told which.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crc32c.h"
#include "super.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static void three_devs(struct famfs_sb_info *info)
{
	__u32 i;

	memset(info, 0, sizeof(*info));
	memset(info->fs_uuid, 0xa5, sizeof(info->fs_uuid));
	info->devs.ndevs = 3;
	for (i = 0; i < 3; i++) {
		info->devs.devs[i].uuid[0] = (__u8)(i + 1);
		info->devs.devs[i].size = (i + 1) * 8 * GiB;
		info->devs.devs[i].data_off = i ? 2 * MiB : 66 * MiB;
		info->devs.devs[i].kind = i == 2 ? FAMFS_DEV_BLOCK : FAMFS_DEV_DAX;
	}
	info->log_dev = 0;
	info->log_off = 2 * MiB;
	info->log_len = 64 * MiB;
}

static void sb_roundtrip_and_every_byte(void **state)
{
	struct famfs_superblock sb;
	struct famfs_sb_info info, back;
	char msg[256];
	size_t b;

	(void)state;
	three_devs(&info);
	assert_int_equal(famfs_sb_encode(&info, &sb, msg, sizeof(msg)), 0);
	assert_int_equal(famfs_sb_decode(&sb, sizeof(sb), &back, msg, sizeof(msg)), 0);
	assert_memory_equal(&info, &back, sizeof(info));
	for (b = 0; b < sizeof(sb); b++) {
		((unsigned char *)&sb)[b] ^= 0x10;
		assert_int_not_equal(famfs_sb_decode(&sb, sizeof(sb), &back, NULL, 0), 0);
		((unsigned char *)&sb)[b] ^= 0x10;
	}
	assert_int_equal(famfs_sb_decode(&sb, sizeof(sb) - 1, &back, NULL, 0), -EINVAL);
	sb.magic = 0;
	assert_int_equal(famfs_sb_decode(&sb, sizeof(sb), &back, msg, sizeof(msg)), -EMEDIUMTYPE);
	assert_non_null(strstr(msg, "not a famfs-bpf device"));
}

static void sb_rules(void **state)
{
	struct famfs_superblock sb;
	struct famfs_sb_info info;
	int i;

	(void)state;
	for (i = 0; i < 9; i++) {
		three_devs(&info);
		switch (i) {
		case 0: info.devs.ndevs = 0; break;
		case 1: info.devs.ndevs = FAMFS_MAX_DEVS + 1; break;
		case 2: info.log_dev = 3; break;
		case 3: info.log_off = 4096; break;		/* over the label */
		case 4: info.log_len = 65 * MiB; break;	/* into the data */
		case 5: info.log_off = 2 * MiB + 512; break;
		case 6: info.log_len = 0; break;
		case 7: info.devs.devs[1].kind = 0; break;
		case 8: info.devs.devs[2].data_off = 0; break;
		}
		if (famfs_sb_encode(&info, &sb, NULL, 0) != -EINVAL)
			fail_msg("case %d accepted", i);
	}
	/* a newer version; a table entry past ndevs */
	three_devs(&info);
	assert_int_equal(famfs_sb_encode(&info, &sb, NULL, 0), 0);
	sb.version = htole32(FAMFS_FORMAT_VERSION + 1);
	sb.crc = htole32(crc32c(0, &sb, offsetof(struct famfs_superblock, crc)));
	assert_int_equal(famfs_sb_decode(&sb, sizeof(sb), &info, NULL, 0), -EPROTONOSUPPORT);
	three_devs(&info);
	assert_int_equal(famfs_sb_encode(&info, &sb, NULL, 0), 0);
	sb.devs[5].size = 1;
	sb.crc = htole32(crc32c(0, &sb, offsetof(struct famfs_superblock, crc)));
	assert_int_equal(famfs_sb_decode(&sb, sizeof(sb), &info, NULL, 0), -EINVAL);
}

static void labels_name_the_wrong_device(void **state)
{
	struct famfs_label l[3];
	struct famfs_sb_info info, other;
	char msg[256];
	__u32 i, j;
	size_t b;

	(void)state;
	three_devs(&info);
	for (i = 0; i < 3; i++)
		assert_int_equal(famfs_label_encode(&info, i, &l[i]), 0);
	assert_int_equal(famfs_label_encode(&info, 3, &l[0]), -EINVAL);
	for (i = 0; i < 3; i++)
		for (j = 0; j < 3; j++)
			assert_int_equal(famfs_label_check(&l[j], sizeof(l[j]), &info, i,
							   msg, sizeof(msg)),
					 i == j ? 0 : -EINVAL);
	/* devices 0 and 1 swapped */
	assert_int_equal(famfs_label_check(&l[1], sizeof(l[1]), &info, 0, msg, sizeof(msg)),
			 -EINVAL);
	assert_string_equal(msg, "given as device 0, this is device 1 of the file system");

	/* another file system's device */
	three_devs(&other);
	other.fs_uuid[3] ^= 1;
	assert_int_equal(famfs_label_check(&l[0], sizeof(l[0]), &other, 0, NULL, 0), -EXDEV);
	/* the table changed under the label */
	info.devs.devs[2].size += 4096;
	assert_int_equal(famfs_label_check(&l[2], sizeof(l[2]), &info, 2, NULL, 0), -EINVAL);
	info.devs.devs[2].size -= 4096;

	for (b = 0; b < sizeof(l[0]); b++) {
		((unsigned char *)&l[0])[b] ^= 0x04;
		assert_int_not_equal(famfs_label_check(&l[0], sizeof(l[0]), &info, 0, NULL, 0), 0);
		((unsigned char *)&l[0])[b] ^= 0x04;
	}
	memset(&l[0], 0, sizeof(l[0]));
	assert_int_equal(famfs_label_check(&l[0], sizeof(l[0]), &info, 0, NULL, 0), -EMEDIUMTYPE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sb_roundtrip_and_every_byte),
		cmocka_unit_test(sb_rules),
		cmocka_unit_test(labels_name_the_wrong_device),
	};

	return cmocka_run_group_tests_name("super", tests, NULL, NULL);
}
