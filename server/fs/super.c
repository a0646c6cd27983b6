// SPDX-License-Identifier: GPL-2.0
/*
 * Superblock and labels.  Every rule is checked both when a structure is
 * built and when it is read, so mkfs cannot write what mount refuses.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crc32c.h"
#include "log.h"
#include "super.h"

_Static_assert(offsetof(struct famfs_superblock, crc) == FAMFS_SB_SIZE - 4, "sb crc last");
_Static_assert(offsetof(struct famfs_label, crc) == FAMFS_LABEL_SIZE - 4, "label crc last");
_Static_assert(offsetof(struct famfs_superblock, devs) == 128, "sb device table");
_Static_assert(offsetof(struct famfs_superblock, owner) == 2560, "sb owner record");
_Static_assert(offsetof(struct famfs_owner_rec, crc) == 256 - 4, "owner crc last");


static bool all_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len--)
		if (*p++)
			return false;
	return true;
}

/* The rules on @info, shared by encode and decode. */
static int check_info(const struct famfs_sb_info *info, char *msg, size_t msglen)
{
	const struct famfs_mlog_dev *ld;
	char why[160];
	__u32 i;

	if (!info->devs.ndevs || info->devs.ndevs > FAMFS_MAX_DEVS)
		return fbs_fail(msg, msglen, -EINVAL, "%u devices, 1 to %d", info->devs.ndevs,
			    FAMFS_MAX_DEVS);
	for (i = 0; i < info->devs.ndevs; i++)
		if (famfs_mlog_dev_check(&info->devs.devs[i], why, sizeof(why)))
			return fbs_fail(msg, msglen, -EINVAL, "device %u: %s", i, why);
	if (info->flags & ~FAMFS_SB_F_KNOWN)
		return fbs_fail(msg, msglen, -EINVAL, "unknown superblock flags %#llx",
			    (unsigned long long)(info->flags & ~FAMFS_SB_F_KNOWN));
	if (info->log_dev >= info->devs.ndevs)
		return fbs_fail(msg, msglen, -EINVAL, "the log is on device %u of %u",
			    info->log_dev, info->devs.ndevs);
	ld = &info->devs.devs[info->log_dev];
	if (info->log_off % 4096 || info->log_len % 4096 || !info->log_len ||
	    info->log_off < FAMFS_LABEL_OFF + 4096 ||
	    info->log_off + info->log_len < info->log_off ||
	    info->log_off + info->log_len > ld->data_off)
		return fbs_fail(msg, msglen, -EINVAL,
			    "log [%llu, +%llu) is not 4 KiB aligned between the label and the data of device %u",
			    (unsigned long long)info->log_off, (unsigned long long)info->log_len,
			    info->log_dev);
	return 0;
}

__u32 famfs_sb_crc(const struct famfs_superblock *sb)
{
	static const struct famfs_owner_rec none;
	const unsigned char *p = (const unsigned char *)sb;
	size_t at = offsetof(struct famfs_superblock, owner), rec = sizeof(sb->owner);
	__u32 crc = crc32c(0, p, at);

	crc = crc32c(crc, &none, rec);
	return crc32c(crc, p + at + rec, offsetof(struct famfs_superblock, crc) - at - rec);
}

int famfs_sb_encode(const struct famfs_sb_info *info, struct famfs_superblock *sb,
		    char *msg, size_t msglen)
{
	__u32 i;
	int ret = check_info(info, msg, msglen);

	if (ret)
		return ret;
	memset(sb, 0, sizeof(*sb));
	sb->magic = htole64(FAMFS_SB_MAGIC);
	sb->version = htole32(FAMFS_FORMAT_VERSION);
	sb->sb_size = htole32(FAMFS_SB_SIZE);
	memcpy(sb->fs_uuid, info->fs_uuid, sizeof(sb->fs_uuid));
	sb->alloc_shift = htole32(FAMFS_ALLOC_SHIFT);
	sb->flags = htole64(info->flags);
	sb->ndevs = htole32(info->devs.ndevs);
	sb->log_dev = htole32(info->log_dev);
	sb->log_off = htole64(info->log_off);
	sb->log_len = htole64(info->log_len);
	for (i = 0; i < info->devs.ndevs; i++) {
		const struct famfs_mlog_dev *d = &info->devs.devs[i];

		memcpy(sb->devs[i].uuid, d->uuid, sizeof(d->uuid));
		sb->devs[i].size = htole64(d->size);
		sb->devs[i].data_off = htole64(d->data_off);
		sb->devs[i].kind = htole32(d->kind);
	}
	sb->crc = htole32(famfs_sb_crc(sb));
	return 0;
}

int famfs_sb_decode(const void *buf, size_t len, struct famfs_sb_info *info,
		    char *msg, size_t msglen)
{
	struct famfs_superblock sb;
	__u32 i, ndevs;

	if (len < sizeof(sb))
		return fbs_fail(msg, msglen, -EINVAL, "%zu bytes, a superblock is %d", len,
			    FAMFS_SB_SIZE);
	memcpy(&sb, buf, sizeof(sb));
	if (le64toh(sb.magic) != FAMFS_SB_MAGIC)
		return fbs_fail(msg, msglen, -EMEDIUMTYPE, "not a famfs-bpf device (no superblock)");
	if (le32toh(sb.crc) != famfs_sb_crc(&sb))
		return fbs_fail(msg, msglen, -EBADMSG, "superblock CRC mismatch");
	if (le32toh(sb.version) > FAMFS_FORMAT_VERSION || le64toh(sb.flags) & ~FAMFS_SB_F_KNOWN)
		return fbs_fail(msg, msglen, -EPROTONOSUPPORT,
			    "format version %u flags %#llx: this famfs-bpf reads version %d flags %#llx; upgrade it",
			    le32toh(sb.version), (unsigned long long)le64toh(sb.flags),
			    FAMFS_FORMAT_VERSION, (unsigned long long)FAMFS_SB_F_KNOWN);
	if (!sb.version || le32toh(sb.sb_size) != FAMFS_SB_SIZE ||
	    le32toh(sb.alloc_shift) != FAMFS_ALLOC_SHIFT || sb.pad ||
	    !all_zero(sb.reserved, sizeof(sb.reserved)) ||
	    !all_zero(sb.reserved2, sizeof(sb.reserved2)) ||
	    !all_zero(sb.reserved3, sizeof(sb.reserved3)))
		return fbs_fail(msg, msglen, -EINVAL, "malformed superblock");
	ndevs = le32toh(sb.ndevs);
	if (!ndevs || ndevs > FAMFS_MAX_DEVS)
		return fbs_fail(msg, msglen, -EINVAL, "%u devices, 1 to %d", ndevs, FAMFS_MAX_DEVS);
	memset(info, 0, sizeof(*info));
	memcpy(info->fs_uuid, sb.fs_uuid, sizeof(info->fs_uuid));
	info->log_dev = le32toh(sb.log_dev);
	info->log_off = le64toh(sb.log_off);
	info->log_len = le64toh(sb.log_len);
	info->flags = le64toh(sb.flags);
	info->devs.ndevs = ndevs;
	for (i = 0; i < FAMFS_MAX_DEVS; i++) {
		const struct famfs_dev_entry *m = &sb.devs[i];
		struct famfs_mlog_dev *d = &info->devs.devs[i];

		if (i >= ndevs) {
			if (!all_zero(m, sizeof(*m)))
				return fbs_fail(msg, msglen, -EINVAL, "device table entry %u past %u devices",
					    i, ndevs);
			continue;
		}
		if (m->flags || !all_zero(m->reserved, sizeof(m->reserved)))
			return fbs_fail(msg, msglen, -EINVAL, "device %u: reserved bytes set", i);
		memcpy(d->uuid, m->uuid, sizeof(d->uuid));
		d->size = le64toh(m->size);
		d->data_off = le64toh(m->data_off);
		d->kind = le32toh(m->kind);
	}
	return check_info(info, msg, msglen);
}

int famfs_label_encode(const struct famfs_sb_info *info, __u32 index,
		       struct famfs_label *label)
{
	const struct famfs_mlog_dev *d;

	if (index >= info->devs.ndevs)
		return -EINVAL;
	d = &info->devs.devs[index];
	memset(label, 0, sizeof(*label));
	label->magic = htole64(FAMFS_LABEL_MAGIC);
	label->version = htole32(FAMFS_FORMAT_VERSION);
	label->dev_index = htole32(index);
	memcpy(label->fs_uuid, info->fs_uuid, sizeof(label->fs_uuid));
	memcpy(label->dev_uuid, d->uuid, sizeof(label->dev_uuid));
	label->dev_size = htole64(d->size);
	label->kind = htole32(d->kind);
	label->crc = htole32(crc32c(0, label, offsetof(struct famfs_label, crc)));
	return 0;
}

int famfs_label_check(const void *buf, size_t len, const struct famfs_sb_info *info,
		      __u32 index, char *msg, size_t msglen)
{
	const struct famfs_mlog_dev *d;
	struct famfs_label l;
	__u32 their;

	if (len < sizeof(l))
		return fbs_fail(msg, msglen, -EINVAL, "%zu bytes, a label is %d", len,
			    FAMFS_LABEL_SIZE);
	if (index >= info->devs.ndevs)
		return fbs_fail(msg, msglen, -EINVAL, "device %u given, the file system has %u",
			    index, info->devs.ndevs);
	memcpy(&l, buf, sizeof(l));
	if (le64toh(l.magic) != FAMFS_LABEL_MAGIC)
		return fbs_fail(msg, msglen, -EMEDIUMTYPE, "not a famfs-bpf device (no label)");
	if (le32toh(l.crc) != crc32c(0, &l, offsetof(struct famfs_label, crc)))
		return fbs_fail(msg, msglen, -EBADMSG, "label CRC mismatch");
	if (le32toh(l.version) > FAMFS_FORMAT_VERSION)
		return fbs_fail(msg, msglen, -EPROTONOSUPPORT, "label version %u is newer than %d",
			    le32toh(l.version), FAMFS_FORMAT_VERSION);
	if (!l.version || !all_zero(l.reserved, sizeof(l.reserved)))
		return fbs_fail(msg, msglen, -EINVAL, "malformed label");
	if (memcmp(l.fs_uuid, info->fs_uuid, sizeof(l.fs_uuid)))
		return fbs_fail(msg, msglen, -EXDEV, "a device of another famfs-bpf file system");
	their = le32toh(l.dev_index);
	if (their != index)
		return fbs_fail(msg, msglen, -EINVAL,
			    "given as device %u, this is device %u of the file system", index, their);
	d = &info->devs.devs[index];
	if (memcmp(l.dev_uuid, d->uuid, sizeof(l.dev_uuid)) ||
	    le64toh(l.dev_size) != d->size || le32toh(l.kind) != d->kind)
		return fbs_fail(msg, msglen, -EINVAL,
			    "device %u: uuid, size or kind differ from the superblock's table", index);
	return 0;
}

/* -------------------------------------------------------------------- */
/* The owner record */

static __u32 owner_crc(const struct famfs_owner_rec *rec, const __u8 *fs_uuid)
{
	return crc32c(crc32c(0, fs_uuid, FAMFS_UUID_SIZE), rec,
		      offsetof(struct famfs_owner_rec, crc));
}

void famfs_owner_encode(const struct famfs_owner *o, const __u8 *fs_uuid,
			struct famfs_owner_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->magic = htole32(FAMFS_OWNER_MAGIC);
	rec->state = htole32(o->state);
	rec->seq = htole64(o->seq);
	rec->generation = htole64(o->generation);
	memcpy(rec->owner_id, o->owner_id, sizeof(rec->owner_id));
	memcpy(rec->boot_id, o->boot_id, sizeof(rec->boot_id));
	memcpy(rec->machine_id, o->machine_id, sizeof(rec->machine_id));
	rec->since = htole64((__u64)o->since);
	rec->heartbeat = htole64((__u64)o->heartbeat);
	rec->lease_ms = htole32(o->lease_ms);
	rec->pid = htole32(o->pid);
	memcpy(rec->host, o->host, strnlen(o->host, sizeof(rec->host)));
	rec->crc = htole32(owner_crc(rec, fs_uuid));
}

int famfs_owner_decode(const struct famfs_owner_rec *rec, const __u8 *fs_uuid,
		       struct famfs_owner *o)
{
	__u32 state;

	memset(o, 0, sizeof(*o));
	if (all_zero(rec, sizeof(*rec)))
		return -ENODATA;
	if (le32toh(rec->magic) != FAMFS_OWNER_MAGIC ||
	    le32toh(rec->crc) != owner_crc(rec, fs_uuid))
		return -EBADMSG;
	if (rec->flags)
		return -EPROTONOSUPPORT;
	state = le32toh(rec->state);
	if ((state != FAMFS_OWNER_HELD && state != FAMFS_OWNER_RELEASED) || !rec->lease_ms ||
	    !all_zero(rec->reserved, sizeof(rec->reserved)) ||
	    !rec->generation || memchr(rec->host, '\0', sizeof(rec->host)) == rec->host)
		return -EINVAL;
	o->state = state;
	o->seq = le64toh(rec->seq);
	o->generation = le64toh(rec->generation);
	memcpy(o->owner_id, rec->owner_id, sizeof(o->owner_id));
	memcpy(o->boot_id, rec->boot_id, sizeof(o->boot_id));
	memcpy(o->machine_id, rec->machine_id, sizeof(o->machine_id));
	o->since = (__s64)le64toh(rec->since);
	o->heartbeat = (__s64)le64toh(rec->heartbeat);
	o->lease_ms = le32toh(rec->lease_ms);
	o->pid = le32toh(rec->pid);
	memcpy(o->host, rec->host, sizeof(rec->host));
	o->host[sizeof(rec->host)] = '\0';
	return 0;
}

bool famfs_owner_is_mine(const struct famfs_owner *cur, const struct famfs_owner *mine)
{
	return cur->state == FAMFS_OWNER_HELD && cur->generation == mine->generation &&
	       !memcmp(cur->owner_id, mine->owner_id, sizeof(cur->owner_id));
}

static void utc(__s64 t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "%lld", (long long)t);
}

void famfs_owner_name(const struct famfs_owner *o, char *buf, size_t len)
{
	char since[48];

	utc(o->since, since, sizeof(since));
	snprintf(buf, len, "host %s (pid %u, since %s, generation %llu)",
		 o->host[0] ? o->host : "?", o->pid, since, (unsigned long long)o->generation);
}

/* "last heartbeat 3 s ago" by this host's clock; "in N s" when the clocks disagree */
static void heartbeat_age(const struct famfs_owner *o, __s64 now, char *buf, size_t len)
{
	__s64 age = now - o->heartbeat;

	if (age >= 0)
		snprintf(buf, len, "last heartbeat %lld s ago%s", (long long)age,
			 (__u64)age * 1000 > o->lease_ms ? ", its lease has run out" : "");
	else
		snprintf(buf, len, "last heartbeat %lld s ahead of this host's clock",
			 (long long)-age);
}

enum famfs_owner_verdict famfs_owner_judge(int err, const struct famfs_owner *rec,
					   const struct famfs_owner *self, __s64 now,
					   char *msg, size_t msglen)
{
	char who[200], age[96];

	if (msg && msglen)
		msg[0] = '\0';
	if (err == -ENODATA)
		return FAMFS_OWNER_FREE;
	if (err == -EPROTONOSUPPORT) {
		fbs_fail(msg, msglen, err,
			 "the owner record was written by a newer famfs-bpf (flags set); upgrade it");
		return FAMFS_OWNER_NEWER;
	}
	if (err) {
		fbs_fail(msg, msglen, err,
			 "in use?: the owner record does not check out (%s): if no host owns this file system, mount with -o takeover",
			 err == -EBADMSG ? "CRC: being written, or a write cut short" :
					   "malformed");
		return FAMFS_OWNER_UNREADABLE;
	}
	if (rec->state == FAMFS_OWNER_RELEASED)
		return FAMFS_OWNER_FREE;
	famfs_owner_name(rec, who, sizeof(who));
	if (!memcmp(rec->boot_id, self->boot_id, sizeof(rec->boot_id))) {
		fbs_fail(msg, msglen, 0,
			 "took over from a mount of this host that did not unmount: %s", who);
		return FAMFS_OWNER_GONE_HERE;
	}
	/*
	 * Not the machine id: cloned guests share one (the two test guests
	 * do), so it cannot tell this host after a reboot from another.
	 */
	heartbeat_age(rec, now, age, sizeof(age));
	fbs_fail(msg, msglen, -EUSERS,
		 "in use: owned by %s, %s: mount -o ro to follow it, or -o takeover if that host is down",
		 who, age);
	return FAMFS_OWNER_OTHER;
}
