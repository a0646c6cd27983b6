// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of server/fs/super.c: the superblock and the device labels
 * round-trip, every byte is covered by a check, and a mount given the
 * wrong devices (order, another file system) is told which.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fs/crc32c.h"
#include "fs/super.h"

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
	/* every byte: the superblock's checks, or the owner record's (its own CRC) */
	for (b = 0; b < sizeof(sb); b++) {
		bool in_owner = b >= offsetof(struct famfs_superblock, owner) &&
				b < offsetof(struct famfs_superblock, owner) + sizeof(sb.owner);
		struct famfs_owner o;

		((unsigned char *)&sb)[b] ^= 0x10;
		if (in_owner) {
			assert_int_equal(famfs_sb_decode(&sb, sizeof(sb), &back, NULL, 0), 0);
			assert_int_not_equal(famfs_owner_decode(&sb.owner, info.fs_uuid, &o), 0);
			assert_int_not_equal(famfs_owner_decode(&sb.owner, info.fs_uuid, &o),
					     -ENODATA);
		} else {
			assert_int_not_equal(famfs_sb_decode(&sb, sizeof(sb), &back, NULL, 0), 0);
		}
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

	/* PAGES round-trips; a flag this reader does not know is a newer format */
	three_devs(&info);
	info.flags = FAMFS_SB_F_PAGES;
	assert_int_equal(famfs_sb_encode(&info, &sb, NULL, 0), 0);
	assert_int_equal(le64toh(sb.flags), FAMFS_SB_F_PAGES);
	memset(&info, 0, sizeof(info));
	assert_int_equal(famfs_sb_decode(&sb, sizeof(sb), &info, NULL, 0), 0);
	assert_int_equal(info.flags, FAMFS_SB_F_PAGES);
	info.flags = FAMFS_SB_F_PAGES << 1;
	assert_int_equal(famfs_sb_encode(&info, &sb, NULL, 0), -EINVAL);
	sb.flags = htole64(FAMFS_SB_F_PAGES << 1);
	sb.crc = htole32(famfs_sb_crc(&sb));
	{
		char msg[200];

		assert_int_equal(famfs_sb_decode(&sb, sizeof(sb), &info, msg, sizeof(msg)),
				 -EPROTONOSUPPORT);
		assert_non_null(strstr(msg, "upgrade"));
	}
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

/* The owner of a test: host guest-A, boot 0xa1..., machine 0x11... */
static void owner_of(struct famfs_owner *o, const char *host, __u8 boot, __u8 machine)
{
	memset(o, 0, sizeof(*o));
	o->state = FAMFS_OWNER_HELD;
	o->seq = 7;
	o->generation = 3;
	memset(o->owner_id, boot ^ 0x5a, sizeof(o->owner_id));
	memset(o->boot_id, boot, sizeof(o->boot_id));
	memset(o->machine_id, machine, sizeof(o->machine_id));
	o->since = 1796639521;		/* 2026-12-07 10:32:01 UTC */
	o->heartbeat = o->since + 100;
	o->lease_ms = 10000;
	o->pid = 812;
	snprintf(o->host, sizeof(o->host), "%s", host);
}

/* An old superblock (no owner record) still checks out; one with a record too. */
static void owner_record_outside_the_sb_crc(void **state)
{
	struct famfs_superblock sb, old;
	struct famfs_sb_info info, back;
	struct famfs_owner o, got;

	(void)state;
	three_devs(&info);
	assert_int_equal(famfs_sb_encode(&info, &sb, NULL, 0), 0);
	/* the CRC rule before owner records: the whole [0, 4092) */
	assert_int_equal(le32toh(sb.crc), crc32c(0, &sb, offsetof(struct famfs_superblock, crc)));
	old = sb;
	assert_int_equal(famfs_owner_decode(&sb.owner, info.fs_uuid, &got), -ENODATA);

	owner_of(&o, "guest-A", 0xa1, 0x11);
	famfs_owner_encode(&o, info.fs_uuid, &sb.owner);
	assert_int_equal(famfs_sb_decode(&sb, sizeof(sb), &back, NULL, 0), 0);
	assert_memory_equal(&info, &back, sizeof(info));
	assert_int_equal(famfs_sb_crc(&sb), famfs_sb_crc(&old));
	assert_int_equal(famfs_owner_decode(&sb.owner, info.fs_uuid, &got), 0);
	assert_memory_equal(&o, &got, sizeof(o));

	/* another file system's record (an earlier mkfs) does not check out */
	info.fs_uuid[0] ^= 1;
	assert_int_equal(famfs_owner_decode(&sb.owner, info.fs_uuid, &got), -EBADMSG);
	info.fs_uuid[0] ^= 1;
	/* a newer version's flags; the rules */
	sb.owner.flags = htole32(1);
	sb.owner.crc = 0;
	famfs_owner_encode(&o, info.fs_uuid, &sb.owner);
	assert_int_equal(famfs_owner_decode(&sb.owner, info.fs_uuid, &got), 0);
	{
		struct famfs_owner_rec r = sb.owner;
		const __u8 *u = info.fs_uuid;

		r.flags = htole32(1);
		r.crc = htole32(crc32c(crc32c(0, u, 16), &r, offsetof(struct famfs_owner_rec, crc)));
		assert_int_equal(famfs_owner_decode(&r, u, &got), -EPROTONOSUPPORT);
		r = sb.owner;
		r.state = htole32(3);
		r.crc = htole32(crc32c(crc32c(0, u, 16), &r, offsetof(struct famfs_owner_rec, crc)));
		assert_int_equal(famfs_owner_decode(&r, u, &got), -EINVAL);
		r = sb.owner;
		r.lease_ms = 0;
		r.crc = htole32(crc32c(crc32c(0, u, 16), &r, offsetof(struct famfs_owner_rec, crc)));
		assert_int_equal(famfs_owner_decode(&r, u, &got), -EINVAL);
		r = sb.owner;
		r.reserved[7] = 1;
		r.crc = htole32(crc32c(crc32c(0, u, 16), &r, offsetof(struct famfs_owner_rec, crc)));
		assert_int_equal(famfs_owner_decode(&r, u, &got), -EINVAL);
	}
	/* a 64-byte host name has no NUL on the media, and comes back whole */
	memset(o.host, 'h', FAMFS_OWNER_HOST_LEN);
	o.host[FAMFS_OWNER_HOST_LEN] = '\0';
	famfs_owner_encode(&o, info.fs_uuid, &sb.owner);
	assert_int_equal(famfs_owner_decode(&sb.owner, info.fs_uuid, &got), 0);
	assert_string_equal(got.host, o.host);
}

/* Who may mount as owner, and the line a refusal prints. */
static void owner_judge_refuses_another_host(void **state)
{
	struct famfs_owner holder, me, none;
	char msg[512];
	__s64 now;

	(void)state;
	owner_of(&holder, "guest-A", 0xa1, 0x11);
	owner_of(&me, "guest-B", 0xb2, 0x22);
	memset(&none, 0, sizeof(none));
	now = holder.heartbeat + 2;

	/* no record (an older superblock), or released: free */
	assert_int_equal(famfs_owner_judge(-ENODATA, &none, &me, now, msg, sizeof(msg)),
			 FAMFS_OWNER_FREE);
	holder.state = FAMFS_OWNER_RELEASED;
	assert_int_equal(famfs_owner_judge(0, &holder, &me, now, msg, sizeof(msg)),
			 FAMFS_OWNER_FREE);
	holder.state = FAMFS_OWNER_HELD;

	/* another host with a fresh lease: refused, naming it */
	assert_int_equal(famfs_owner_judge(0, &holder, &me, now, msg, sizeof(msg)),
			 FAMFS_OWNER_OTHER);
	assert_string_equal(msg,
			    "in use: owned by host guest-A (pid 812, since 2026-12-07 10:32:01 UTC, generation 3), last heartbeat 2 s ago: mount -o ro to follow it, or -o takeover if that host is down");
	/* a lease that ran out is still refused: taking over is explicit */
	assert_int_equal(famfs_owner_judge(0, &holder, &me, now + 60, msg, sizeof(msg)),
			 FAMFS_OWNER_OTHER);
	assert_non_null(strstr(msg, "last heartbeat 62 s ago, its lease has run out"));
	assert_non_null(strstr(msg, "-o takeover"));
	/* clocks that disagree only change the words */
	assert_int_equal(famfs_owner_judge(0, &holder, &me, now - 30, msg, sizeof(msg)),
			 FAMFS_OWNER_OTHER);
	assert_non_null(strstr(msg, "28 s ahead of this host's clock"));

	/*
	 * The same machine id, another boot: this host rebooted, or a clone
	 * (two guests of one image share it): another host all the same
	 */
	memcpy(me.machine_id, holder.machine_id, sizeof(me.machine_id));
	assert_int_equal(famfs_owner_judge(0, &holder, &me, now, msg, sizeof(msg)),
			 FAMFS_OWNER_OTHER);
	assert_non_null(strstr(msg, "in use: owned by host guest-A (pid 812"));

	/* this boot: flock said the holder is gone, so it is reclaimed */
	memcpy(me.boot_id, holder.boot_id, sizeof(me.boot_id));
	assert_int_equal(famfs_owner_judge(0, &holder, &me, now, msg, sizeof(msg)),
			 FAMFS_OWNER_GONE_HERE);
	assert_non_null(strstr(msg, "guest-A (pid 812"));

	/* damaged, newer */
	assert_int_equal(famfs_owner_judge(-EBADMSG, &none, &me, now, msg, sizeof(msg)),
			 FAMFS_OWNER_UNREADABLE);
	assert_non_null(strstr(msg, "-o takeover"));
	assert_int_equal(famfs_owner_judge(-EINVAL, &none, &me, now, msg, sizeof(msg)),
			 FAMFS_OWNER_UNREADABLE);
	assert_int_equal(famfs_owner_judge(-EPROTONOSUPPORT, &none, &me, now, msg, sizeof(msg)),
			 FAMFS_OWNER_NEWER);
	assert_non_null(strstr(msg, "newer famfs-bpf"));
}

/* A revived owner knows its claim by generation and owner id, not by host. */
static void owner_is_mine(void **state)
{
	struct famfs_owner mine, cur;

	(void)state;
	owner_of(&mine, "guest-A", 0xa1, 0x11);
	cur = mine;
	cur.seq += 5;		/* its own heartbeats */
	cur.heartbeat += 20;
	assert_true(famfs_owner_is_mine(&cur, &mine));
	cur.generation++;	/* taken over, even by a mount of the same host */
	assert_false(famfs_owner_is_mine(&cur, &mine));
	cur = mine;
	cur.owner_id[15] ^= 1;
	assert_false(famfs_owner_is_mine(&cur, &mine));
	cur = mine;
	cur.state = FAMFS_OWNER_RELEASED;
	assert_false(famfs_owner_is_mine(&cur, &mine));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sb_roundtrip_and_every_byte),
		cmocka_unit_test(sb_rules),
		cmocka_unit_test(labels_name_the_wrong_device),
		cmocka_unit_test(owner_record_outside_the_sb_crc),
		cmocka_unit_test(owner_judge_refuses_another_host),
		cmocka_unit_test(owner_is_mine),
	};

	return cmocka_run_group_tests_name("super", tests, NULL, NULL);
}
