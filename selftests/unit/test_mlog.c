// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of server/fs/mlog.c, the metadata log: every entry type through
 * encode and decode, every check that makes decode or replay refuse an
 * entry, torn appends cut at every byte, and a long random history
 * replayed into a model of the namespace and compared with the model that
 * wrote it.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs/crc32c.h"
#include "fs/mlog.h"
#include "xorshift.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define HDR 24			/* entry header */
#define LOG_HDR 64		/* log header */

static const __u8 uuid[FAMFS_UUID_SIZE] = {
	0x6b, 0x1e, 0x33, 0x0a, 0x92, 0x4c, 0x4f, 0x11,
	0x8e, 0x20, 0x5d, 0x77, 0xc3, 0x01, 0xaa, 0x42,
};
static const __u8 other_uuid[FAMFS_UUID_SIZE] = { 1 };

/* -------------------------------------------------------------------- */
/* Sample entries, one or more of every type */

static struct fmap_simple_ext sample_simple[2] = {
	{ .file_off = 0, .len = 4 * MiB, .dev_off = 2 * MiB, .dev = 0 },
	{ .file_off = 4 * MiB, .len = 2 * MiB, .dev_off = 64 * MiB, .dev = 1 },
};
static struct fmap_ileave_ext sample_ileave[1];
static struct fmap_simple_ext sample_alloc[1] = {
	{ .file_off = 32 * MiB, .len = 2 * MiB, .dev_off = 128 * MiB, .dev = 0 },
};

static void init_samples(void)
{
	struct fmap_ileave_ext *ie = &sample_ileave[0];
	__u32 s;

	memset(ie, 0, sizeof(*ie));
	ie->file_off = 8 * MiB;
	ie->len = 16 * MiB;
	ie->nstrips = 2;
	ie->chunk_shift = 21;
	for (s = 0; s < 2; s++) {
		ie->strips[s].dev = s;
		ie->strips[s].dev_off = 256 * MiB + s * 64 * MiB;
	}
}

#define NSAMPLES 21

/* a value with a NUL inside: values are bytes, not strings */
static __u8 sample_value[] = { 't', 'e', 'x', 't', 0, '/', 'p' };

/* Sample @i: individually valid; as a sequence, a consistent history. */
static void sample(struct famfs_mlog_entry *e, int i)
{
	famfs_mlog_entry_init(e);
	switch (i) {
	case 0:
		e->type = FAMFS_LOG_MKDIR;
		e->mknod.parent = FAMFS_ROOT_INO;
		e->mknod.ino = 2;
		e->mknod.mode = 0755;
		e->mknod.uid = 1000;
		e->mknod.gid = 100;
		e->mknod.time = (struct famfs_mlog_time){ 1700000000, 5 };
		strcpy(e->name, "dir");
		break;
	case 1:
		e->type = FAMFS_LOG_CREATE;
		e->mknod.parent = 2;
		e->mknod.ino = 3;
		e->mknod.mode = 0644;
		e->mknod.size = 20 * MiB;
		e->mknod.time = (struct famfs_mlog_time){ -1, 999999999 };
		strcpy(e->name, "file with spaces");
		e->nsimple = 2;
		e->simple = sample_simple;
		e->nileave = 1;
		e->ileave = sample_ileave;
		break;
	case 2:
		e->type = FAMFS_LOG_SYMLINK;
		e->mknod.parent = FAMFS_ROOT_INO;
		e->mknod.ino = 4;
		e->mknod.mode = 0777;
		strcpy(e->target, "dir/file with spaces");
		e->mknod.size = strlen(e->target);
		strcpy(e->name, "link");
		break;
	case 3:
		e->type = FAMFS_LOG_ALLOC;
		e->alloc.ino = 3;
		e->nsimple = 1;
		e->simple = sample_alloc;
		break;
	case 4:
		e->type = FAMFS_LOG_PUNCH;
		e->punch.ino = 3;
		e->punch.off = 2 * MiB;
		e->punch.len = 2 * MiB;
		break;
	case 5:
		e->type = FAMFS_LOG_PUNCH;
		e->punch.ino = 3;
		e->punch.off = 16 * MiB;
		e->punch.len = FAMFS_LOG_TO_END;
		break;
	case 6:
		e->type = FAMFS_LOG_SETATTR;
		e->setattr.ino = 3;
		e->setattr.valid = FAMFS_SETATTR_SIZE | FAMFS_SETATTR_MTIME | FAMFS_SETATTR_CTIME;
		e->setattr.size = 12345;
		e->setattr.mtime = (struct famfs_mlog_time){ 1700000001, 1 };
		e->setattr.ctime = (struct famfs_mlog_time){ 1700000001, 2 };
		break;
	case 7:
		e->type = FAMFS_LOG_SETATTR;
		e->setattr.ino = FAMFS_ROOT_INO;
		e->setattr.valid = FAMFS_SETATTR_MODE | FAMFS_SETATTR_UID |
				   FAMFS_SETATTR_GID | FAMFS_SETATTR_ATIME;
		e->setattr.mode = 01777;
		e->setattr.uid = 7;
		e->setattr.gid = 8;
		e->setattr.atime = (struct famfs_mlog_time){ 3, 4 };
		break;
	case 8:
		e->type = FAMFS_LOG_RENAME;
		e->rename.old_parent = FAMFS_ROOT_INO;
		e->rename.new_parent = 2;
		e->rename.ino = 4;
		strcpy(e->name, "link");
		strcpy(e->new_name, "link2");
		break;
	case 9:
		e->type = FAMFS_LOG_RENAME;
		e->rename.old_parent = 2;
		e->rename.new_parent = 2;
		e->rename.ino = 4;
		e->rename.flags = FAMFS_RENAME_EXCHANGE;
		strcpy(e->name, "link2");
		strcpy(e->new_name, "file with spaces");
		break;
	case 10:
		e->type = FAMFS_LOG_DEVADD;
		e->devadd.index = 2;
		e->devadd.dev.uuid[0] = 0xd2;
		e->devadd.dev.size = 16 * GiB;
		e->devadd.dev.data_off = 2 * MiB;
		e->devadd.dev.kind = FAMFS_DEV_BLOCK;
		break;
	case 11:
		e->type = FAMFS_LOG_DELETE;
		e->del.parent = 2;
		e->del.ino = 4;
		strcpy(e->name, "file with spaces");
		break;
	case 12:
		e->type = FAMFS_LOG_DELETE;
		e->del.parent = 2;
		e->del.ino = 3;
		strcpy(e->name, "link2");
		break;
	case 13:
		e->type = FAMFS_LOG_DELETE;
		e->del.parent = FAMFS_ROOT_INO;
		e->del.ino = 2;
		e->del.flags = FAMFS_DELETE_DIR;
		strcpy(e->name, "dir");
		break;
	case 14:
		e->type = FAMFS_LOG_STRIPE;
		e->stripe.ino = FAMFS_ROOT_INO;
		e->stripe.nstrips = 2;
		e->stripe.chunk_shift = 21;
		break;
	case 15:
		e->type = FAMFS_LOG_CREATE;
		e->mknod.parent = FAMFS_ROOT_INO;
		e->mknod.ino = 5;
		e->mknod.mode = 0600;
		strcpy(e->name, "one");
		break;
	case 16:
		e->type = FAMFS_LOG_LINK;
		e->link.parent = FAMFS_ROOT_INO;
		e->link.ino = 5;
		strcpy(e->name, "two names");
		break;
	case 17:
		e->type = FAMFS_LOG_CKPT;
		e->ckpt.max_ino = 1000;
		break;
	case 18:
		e->type = FAMFS_LOG_XATTR;
		e->xattr.ino = 5;
		e->xattr.value_len = sizeof(sample_value);
		e->value = sample_value;
		strcpy(e->name, "user.mime_type");
		break;
	case 19:
		e->type = FAMFS_LOG_XATTR;
		e->xattr.ino = 5;
		e->xattr.flags = FAMFS_XATTR_F_REMOVE;
		strcpy(e->name, "user.mime_type");
		break;
	case 20:
		e->type = FAMFS_LOG_CLASS;
		e->klass.ino = 5;
		e->klass.kind = FAMFS_DEV_BLOCK;
		break;
	}
}

/* Two devices: what the samples' extents need. */
static void two_devs(struct famfs_mlog_devtab *t)
{
	__u32 i;

	memset(t, 0, sizeof(*t));
	t->ndevs = 2;
	for (i = 0; i < 2; i++) {
		t->devs[i].uuid[0] = (__u8)i;
		t->devs[i].size = 4 * GiB;
		t->devs[i].data_off = 2 * MiB;
		t->devs[i].kind = FAMFS_DEV_DAX;
	}
}

static void assert_entries_equal(const struct famfs_mlog_entry *a,
				 const struct famfs_mlog_entry *b)
{
	assert_int_equal(a->type, b->type);
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->new_name, b->new_name);
	assert_string_equal(a->target, b->target);
	assert_int_equal(a->nsimple, b->nsimple);
	assert_int_equal(a->nileave, b->nileave);
	if (a->nsimple)
		assert_memory_equal(a->simple, b->simple, a->nsimple * sizeof(*a->simple));
	if (a->nileave)
		assert_memory_equal(a->ileave, b->ileave, a->nileave * sizeof(*a->ileave));
	switch (a->type) {
	case FAMFS_LOG_MKDIR:
	case FAMFS_LOG_CREATE:
	case FAMFS_LOG_SYMLINK:
		assert_memory_equal(&a->mknod, &b->mknod, sizeof(a->mknod));
		break;
	case FAMFS_LOG_ALLOC:
		assert_memory_equal(&a->alloc, &b->alloc, sizeof(a->alloc));
		break;
	case FAMFS_LOG_PUNCH:
		assert_memory_equal(&a->punch, &b->punch, sizeof(a->punch));
		break;
	case FAMFS_LOG_SETATTR:
		assert_memory_equal(&a->setattr, &b->setattr, sizeof(a->setattr));
		break;
	case FAMFS_LOG_RENAME:
		assert_memory_equal(&a->rename, &b->rename, sizeof(a->rename));
		break;
	case FAMFS_LOG_DELETE:
		assert_memory_equal(&a->del, &b->del, sizeof(a->del));
		break;
	case FAMFS_LOG_DEVADD:
		assert_memory_equal(&a->devadd, &b->devadd, sizeof(a->devadd));
		break;
	case FAMFS_LOG_STRIPE:
		assert_memory_equal(&a->stripe, &b->stripe, sizeof(a->stripe));
		break;
	case FAMFS_LOG_CLASS:
		assert_memory_equal(&a->klass, &b->klass, sizeof(a->klass));
		break;
	case FAMFS_LOG_CKPT:
		assert_memory_equal(&a->ckpt, &b->ckpt, sizeof(a->ckpt));
		break;
	case FAMFS_LOG_LINK:
		assert_memory_equal(&a->link, &b->link, sizeof(a->link));
		break;
	case FAMFS_LOG_XATTR:
		assert_memory_equal(&a->xattr, &b->xattr, sizeof(a->xattr));
		if (a->xattr.value_len)
			assert_memory_equal(a->value, b->value, a->xattr.value_len);
		break;
	}
}

/* Recompute the CRC of the entry at @p after a test changed it on purpose. */
static bool all_zero_at(const unsigned char *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

static void reseal(unsigned char *p, size_t len)
{
	__u32 crc = crc32c(0, uuid, sizeof(uuid));

	crc = crc32c(crc, p, 20);
	crc = crc32c(crc, p + HDR, len - HDR);
	crc = htole32(crc);
	memcpy(p + 20, &crc, 4);
}

static void put_le16(unsigned char *p, __u16 v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static void put_le32(unsigned char *p, __u32 v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put_le64(unsigned char *p, __u64 v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

/* -------------------------------------------------------------------- */
/* A log of the samples, and a replay that counts */

struct logbuf {
	unsigned char *p;
	size_t len;
	size_t off[NSAMPLES + 1];	/* entry i starts at off[i]; off[n]: the end */
	int n;
};

static void log_new(struct logbuf *l, size_t len)
{
	l->p = malloc(len);
	assert_non_null(l->p);
	l->len = len;
	l->n = 0;
	assert_int_equal(famfs_mlog_format(l->p, len, uuid, 1), 0);
	l->off[0] = LOG_HDR;
}

static void log_samples(struct logbuf *l, size_t len)
{
	struct famfs_mlog_entry e;
	struct famfs_mlog_writer w = { 0 };
	struct famfs_mlog_result res;
	int i;

	log_new(l, len);
	assert_int_equal(famfs_mlog_replay(l->p, len, uuid, NULL, NULL, NULL, &res), 0);
	assert_int_equal(famfs_mlog_writer_init(&w, l->p, len, uuid, &res), 0);
	for (i = 0; i < NSAMPLES; i++) {
		sample(&e, i);
		assert_int_equal(famfs_mlog_append(&w, &e), 0);
		l->off[++l->n] = w.off;
	}
}

static void log_free(struct logbuf *l)
{
	free(l->p);
}

struct counter {
	int applied;
	int fail_at;		/* refuse the entry with this index (-1: none) */
	__u64 last_seq;
};

static int count_apply(void *ctx, const struct famfs_mlog_entry *e)
{
	struct counter *c = ctx;

	if (c->applied == c->fail_at)
		return -EEXIST;
	assert_int_equal(e->seq, c->last_seq + 1);
	c->last_seq = e->seq;
	c->applied++;
	return 0;
}

static const struct famfs_mlog_ops count_ops = { .apply = count_apply };

static int replay_count(const struct logbuf *l, size_t len, struct famfs_mlog_result *res)
{
	struct counter c = { .fail_at = -1 };
	struct famfs_mlog_devtab devs;
	int ret;

	two_devs(&devs);
	ret = famfs_mlog_replay(l->p, len, uuid, &devs, &count_ops, &c, res);
	assert_int_equal(c.applied, res->entries);
	return ret;
}

/* -------------------------------------------------------------------- */
/* Tests */

static void crc32c_check_value(void **state)
{
	(void)state;
	assert_int_equal(crc32c(0, "123456789", 9), 0xe3069283);
	/* piecewise equals whole */
	assert_int_equal(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xe3069283);
	assert_int_equal(crc32c(0, "", 0), 0);
}

/* The definition, one bit at a time: what the table-driven code must equal. */
static __u32 crc32c_bitwise(__u32 crc, const unsigned char *p, size_t len)
{
	int k;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78 : crc >> 1;
	}
	return ~crc;
}

/* Slicing by 8 against the definition: every length 0..80 at every alignment 0..7. */
static void crc32c_matches_bitwise(void **state)
{
	unsigned char buf[96];
	size_t i, len, at;

	(void)state;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 151 + 7);
	for (at = 0; at < 8; at++)
		for (len = 0; len <= 80; len++) {
			assert_int_equal(crc32c(0, buf + at, len), crc32c_bitwise(0, buf + at, len));
			/* a running CRC continues across pieces of any length */
			assert_int_equal(crc32c(crc32c(0, buf, at), buf + at, len),
					 crc32c_bitwise(0, buf, at + len));
		}
}

static void roundtrip_every_type(void **state)
{
	unsigned char buf[4096], buf2[4096];
	struct famfs_mlog_entry e, d;
	bool seen[FAMFS_LOG_TYPE_MAX + 1] = { false };
	char msg[256];
	ssize_t n, m;
	int i, t;

	(void)state;
	famfs_mlog_entry_init(&d);
	for (i = 0; i < NSAMPLES; i++) {
		sample(&e, i);
		n = famfs_mlog_encode(&e, uuid, 100 + i, buf, sizeof(buf));
		assert_true(n > 0);
		assert_int_equal(n % 8, 0);
		assert_int_equal(n, famfs_mlog_entry_size(&e));
		/* no room: refused, nothing assumed about the buffer */
		assert_int_equal(famfs_mlog_encode(&e, uuid, 1, buf2, n - 8), -ENOSPC);

		m = famfs_mlog_decode(buf, n, uuid, 100 + i, &d, msg, sizeof(msg));
		if (m != n)
			fail_msg("sample %d: %s", i, msg);
		assert_int_equal(d.seq, 100 + i);
		assert_entries_equal(&e, &d);
		/* one encoding: decode then encode gives the same bytes */
		assert_int_equal(famfs_mlog_encode(&d, uuid, 100 + i, buf2, sizeof(buf2)), n);
		assert_memory_equal(buf, buf2, n);
		/* any sequence number when asked for none; not another one */
		assert_int_equal(famfs_mlog_decode(buf, n, uuid, 0, &d, NULL, 0), n);
		assert_int_equal(famfs_mlog_decode(buf, n, uuid, 99, &d, NULL, 0), -EBADMSG);
		/* another file system's entry does not check out */
		assert_int_equal(famfs_mlog_decode(buf, n, other_uuid, 0, &d, NULL, 0), -EBADMSG);
		seen[e.type] = true;
	}
	for (t = 1; t <= FAMFS_LOG_TYPE_MAX; t++)
		assert_true(seen[t]);
	famfs_mlog_entry_release(&d);
}

static void replay_samples_clean(void **state)
{
	struct famfs_mlog_result res;
	struct famfs_mlog_devtab devs;
	struct logbuf l;

	(void)state;
	log_samples(&l, 64 * 1024);
	assert_int_equal(replay_count(&l, l.len, &res), 0);
	assert_int_equal(res.tail, FAMFS_MLOG_END);
	assert_int_equal(res.entries, NSAMPLES);
	assert_int_equal(res.end_off, l.off[NSAMPLES]);
	assert_int_equal(res.next_seq, NSAMPLES + 1);
	assert_int_equal(res.version, FAMFS_FORMAT_VERSION);
	assert_string_equal(res.msg, "");

	/* DEVADD extended the table */
	two_devs(&devs);
	assert_int_equal(famfs_mlog_replay(l.p, l.len, uuid, &devs, NULL, NULL, &res), 0);
	assert_int_equal(devs.ndevs, 3);
	assert_int_equal(devs.devs[2].kind, FAMFS_DEV_BLOCK);

	/* no uuid, no devices: checks the log alone */
	assert_int_equal(famfs_mlog_replay(l.p, l.len, NULL, NULL, NULL, NULL, &res), 0);
	assert_int_equal(res.entries, NSAMPLES);
	/* a header rewritten with another uuid: no entry checks out */
	{
		unsigned char hdr[LOG_HDR];

		assert_int_equal(famfs_mlog_format(hdr, LOG_HDR, other_uuid, 1), 0);
		put_le64(hdr + 32, l.len);
		put_le32(hdr + 60, crc32c(0, hdr, 60));
		memcpy(l.p, hdr, LOG_HDR);
	}
	assert_int_equal(famfs_mlog_replay(l.p, l.len, other_uuid, NULL, NULL, NULL, &res),
			 -EBADMSG);
	assert_int_equal(res.entries, 0);
	assert_non_null(strstr(res.msg, "CRC"));
	log_free(&l);
}

static void empty_and_full_logs(void **state)
{
	struct famfs_mlog_result res;
	struct famfs_mlog_writer w;
	struct famfs_mlog_entry e;
	struct logbuf l;
	size_t exact;

	(void)state;
	/* a log that is only its header */
	log_new(&l, LOG_HDR);
	assert_int_equal(replay_count(&l, l.len, &res), 0);
	assert_int_equal(res.tail, FAMFS_MLOG_END);
	assert_int_equal(famfs_mlog_writer_init(&w, l.p, l.len, uuid, &res), 0);
	sample(&e, 0);
	assert_int_equal(famfs_mlog_append(&w, &e), -ENOSPC);
	log_free(&l);

	/* entries that fill the log exactly end it cleanly */
	log_samples(&l, 64 * 1024);
	exact = l.off[NSAMPLES];
	log_free(&l);
	log_samples(&l, exact);
	assert_int_equal(replay_count(&l, l.len, &res), 0);
	assert_int_equal(res.entries, NSAMPLES);
	assert_int_equal(res.end_off, exact);
	log_free(&l);

	/* too small for a header, or not a multiple of 8 */
	assert_int_equal(famfs_mlog_format(l.p, LOG_HDR - 8, uuid, 1), -EINVAL);
	assert_int_equal(famfs_mlog_format(l.p, LOG_HDR + 4, uuid, 1), -EINVAL);
	assert_int_equal(famfs_mlog_format(l.p, LOG_HDR, uuid, 0), -EINVAL);
}

/* The size hint follows the lengths and stops at anything that is not an entry. */
static void count_hint(void **state)
{
	struct logbuf l;

	(void)state;
	log_new(&l, LOG_HDR);
	assert_int_equal(famfs_mlog_count_hint(l.p, l.len), 0);
	log_free(&l);

	log_samples(&l, 64 * 1024);
	assert_int_equal(famfs_mlog_count_hint(l.p, l.len), NSAMPLES);
	/* a log cut inside the last entry's header still counts the others */
	assert_int_equal(famfs_mlog_count_hint(l.p, l.off[NSAMPLES - 1] + 8), NSAMPLES - 1);
	assert_int_equal(famfs_mlog_count_hint(l.p, 8), 0);
	/* a bad magic, or a length below one header, ends the count */
	l.p[l.off[3]] ^= 1;
	assert_int_equal(famfs_mlog_count_hint(l.p, l.len), 3);
	l.p[l.off[3]] ^= 1;
	put_le32(l.p + l.off[2] + 16, 8);
	assert_int_equal(famfs_mlog_count_hint(l.p, l.len), 2);
	log_free(&l);
}

/* Flip every byte of every entry: replay stops at that entry, never past. */
static void every_entry_crc(void **state)
{
	struct famfs_mlog_result res;
	struct logbuf l;
	size_t b;
	int i;

	(void)state;
	log_samples(&l, 16 * 1024);
	for (i = 0; i < NSAMPLES; i++) {
		for (b = l.off[i]; b < l.off[i + 1]; b++) {
			l.p[b] ^= 0x20;
			assert_int_equal(replay_count(&l, l.len, &res), -EBADMSG);
			assert_int_equal(res.entries, i);
			assert_int_equal(res.end_off, l.off[i]);
			assert_int_equal(res.next_seq, i + 1);
			/* entries follow, except after the last one */
			if (i < NSAMPLES - 1)
				assert_int_equal(res.tail, FAMFS_MLOG_CORRUPT);
			else
				assert_int_not_equal(res.tail, FAMFS_MLOG_END);
			assert_non_null(strstr(res.msg, "log offset"));
			l.p[b] ^= 0x20;
		}
	}
	assert_int_equal(replay_count(&l, l.len, &res), 0);
	log_free(&l);
}

static void log_header_checks(void **state)
{
	struct famfs_mlog_result res;
	struct logbuf l;
	size_t b;

	(void)state;
	log_samples(&l, 16 * 1024);
	/* every byte of the header is covered by its CRC */
	for (b = 0; b < LOG_HDR; b++) {
		l.p[b] ^= 0x01;
		assert_int_not_equal(replay_count(&l, l.len, &res), 0);
		assert_int_equal(res.entries, 0);
		assert_int_equal(res.tail, FAMFS_MLOG_CORRUPT);
		l.p[b] ^= 0x01;
	}
	/* another file system, a region of another size */
	assert_int_equal(famfs_mlog_replay(l.p, l.len, other_uuid, NULL, NULL, NULL, &res),
			 -EINVAL);
	assert_non_null(strstr(res.msg, "another file system"));
	assert_int_equal(famfs_mlog_replay(l.p, l.len - 8, uuid, NULL, NULL, NULL, &res),
			 -EINVAL);
	assert_int_equal(famfs_mlog_replay(l.p, 32, uuid, NULL, NULL, NULL, &res), -EINVAL);

	/* a newer format version: refused before anything is applied */
	put_le32(l.p + 8, FAMFS_FORMAT_VERSION + 1);
	put_le32(l.p + 60, crc32c(0, l.p, 60));
	assert_int_equal(replay_count(&l, l.len, &res), -EPROTONOSUPPORT);
	assert_int_equal(res.entries, 0);
	assert_non_null(strstr(res.msg, "upgrade"));
	log_free(&l);
}

/*
 * The last append cut at every byte: a clean end before it, a torn tail
 * after it; the writer zeroes the torn bytes and appends in their place.
 */
static void torn_last_entry_every_byte(void **state)
{
	struct famfs_mlog_result res;
	struct famfs_mlog_writer w;
	struct famfs_mlog_entry e;
	struct logbuf l, ref;
	size_t last, end, cut;

	(void)state;
	log_samples(&ref, 16 * 1024);
	last = ref.off[NSAMPLES - 1];
	end = ref.off[NSAMPLES];
	for (cut = last; cut < end; cut++) {
		log_samples(&l, 16 * 1024);
		memset(l.p + cut, 0, l.len - cut);
		if (cut > last && !memcmp(l.p, ref.p, l.len)) {
			/* the rest of the entry was zeros anyway: complete */
			assert_int_equal(replay_count(&l, l.len, &res), 0);
			assert_int_equal(res.entries, NSAMPLES);
			log_free(&l);
			continue;
		}
		if (cut == last) {
			assert_int_equal(replay_count(&l, l.len, &res), 0);
			assert_int_equal(res.tail, FAMFS_MLOG_END);
		} else {
			assert_int_equal(replay_count(&l, l.len, &res), -EBADMSG);
			assert_int_equal(res.tail, FAMFS_MLOG_TORN);
			assert_non_null(strstr(res.msg, "torn"));
		}
		assert_int_equal(res.entries, NSAMPLES - 1);
		assert_int_equal(res.end_off, last);

		/* the owner goes on from there */
		assert_int_equal(famfs_mlog_writer_init(&w, l.p, l.len, uuid, &res), 0);
		sample(&e, NSAMPLES - 1);
		assert_int_equal(famfs_mlog_append(&w, &e), 0);
		assert_int_equal(replay_count(&l, l.len, &res), 0);
		assert_int_equal(res.entries, NSAMPLES);
		assert_memory_equal(l.p, ref.p, l.len);
		log_free(&l);
	}

	/* stores that reached the media out of order: one word missing */
	for (cut = last; cut < end; cut += 8) {
		log_samples(&l, 16 * 1024);
		memset(l.p + cut, 0, 8);
		if (!memcmp(l.p, ref.p, l.len)) {
			log_free(&l);
			continue;
		}
		assert_int_equal(replay_count(&l, l.len, &res), -EBADMSG);
		assert_int_equal(res.tail, FAMFS_MLOG_TORN);
		assert_int_equal(res.entries, NSAMPLES - 1);
		log_free(&l);
	}

	/*
	 * A failed entry with data further than any entry reaches is
	 * corruption, not a torn tail (an intact entry after it is too:
	 * every_entry_crc).
	 */
	log_samples(&l, 2 * FAMFS_LOG_MAX_ENTRY);
	l.p[last + 30] ^= 1;
	assert_int_equal(replay_count(&l, l.len, &res), -EBADMSG);
	assert_int_equal(res.tail, FAMFS_MLOG_TORN);
	l.p[last + FAMFS_LOG_MAX_ENTRY] = 0xff;
	assert_int_equal(replay_count(&l, l.len, &res), -EBADMSG);
	assert_int_equal(res.tail, FAMFS_MLOG_CORRUPT);
	assert_int_equal(famfs_mlog_writer_init(&w, l.p, l.len, uuid, &res), -EBADMSG);
	log_free(&l);
	log_free(&ref);
}

/*
 * Non-zero bytes after a zero header further than one entry reaches:
 * corruption.  Nearer, they are a torn append (torn_zero_header).
 */
static void garbage_after_the_end(void **state)
{
	struct famfs_mlog_result res;
	struct logbuf l;
	size_t end;

	(void)state;
	log_samples(&l, 3 * FAMFS_LOG_MAX_ENTRY);
	end = l.off[NSAMPLES];
	l.p[end + FAMFS_LOG_MAX_ENTRY + 5] = 1;
	assert_int_equal(replay_count(&l, l.len, &res), -EBADMSG);
	assert_int_equal(res.entries, NSAMPLES);
	assert_int_equal(res.tail, FAMFS_MLOG_CORRUPT);
	assert_non_null(strstr(res.msg, "non-zero bytes after the last entry"));
	l.p[l.len - 3] = 1;
	assert_int_equal(replay_count(&l, l.len, &res), -EBADMSG);
	assert_int_equal(res.tail, FAMFS_MLOG_CORRUPT);
	log_free(&l);
}

/*
 * The encoder writes the payload first and the header last: a crash
 * between leaves a zero header with payload bytes after it.  That is a
 * torn append (nothing after it reaches past one entry, no intact entry
 * inside), which the owner zeroes and writes over; a lost header in the
 * middle of the log (intact entries after it) stays corruption.
 */
static void torn_zero_header(void **state)
{
	struct famfs_mlog_result res;
	struct famfs_mlog_writer w;
	struct famfs_mlog_entry e;
	struct logbuf l, ref;
	size_t last, end, cut;

	(void)state;
	log_samples(&ref, 16 * 1024);
	last = ref.off[NSAMPLES - 1];
	end = ref.off[NSAMPLES];
	/* the payload written up to @cut, the header not yet */
	for (cut = last + HDR + 1; cut <= end; cut++) {
		log_samples(&l, 16 * 1024);
		memset(l.p + cut, 0, l.len - cut);
		memset(l.p + last, 0, HDR);
		if (all_zero_at(l.p + last, end - last)) {
			log_free(&l);
			continue;
		}
		assert_int_equal(replay_count(&l, l.len, &res), -EBADMSG);
		assert_int_equal(res.tail, FAMFS_MLOG_TORN);
		assert_int_equal(res.entries, NSAMPLES - 1);
		assert_int_equal(res.end_off, last);
		assert_non_null(strstr(res.msg, "torn"));

		/* the owner zeroes the torn bytes and goes on from there */
		assert_int_equal(famfs_mlog_writer_init(&w, l.p, l.len, uuid, &res), 0);
		assert_true(all_zero_at(l.p + last, l.len - last));
		sample(&e, NSAMPLES - 1);
		assert_int_equal(famfs_mlog_append(&w, &e), 0);
		assert_int_equal(replay_count(&l, l.len, &res), 0);
		assert_int_equal(res.entries, NSAMPLES);
		assert_memory_equal(l.p, ref.p, l.len);
		log_free(&l);
	}

	/* a lost header with an intact entry after it: corruption */
	log_samples(&l, 16 * 1024);
	memset(l.p + ref.off[NSAMPLES - 2], 0, HDR);
	assert_int_equal(replay_count(&l, l.len, &res), -EBADMSG);
	assert_int_equal(res.tail, FAMFS_MLOG_CORRUPT);
	assert_int_equal(res.entries, NSAMPLES - 2);
	assert_non_null(strstr(res.msg, "non-zero bytes after the last entry"));
	assert_int_equal(famfs_mlog_writer_init(&w, l.p, l.len, uuid, &res), -EBADMSG);
	log_free(&l);
	log_free(&ref);
}

/*
 * A crafted tail, worst case for the torn-append scan: a failed entry,
 * then the entry magic at every 8-byte step of the next entry's reach,
 * each claiming the largest length.  Checking each one's CRC from scratch
 * is quadratic (2^16 candidates of 1 MiB: 64 GiB of CRC).  The scan must
 * cost a few bytes of CRC per byte of the log it looks at.
 */
static void craft_tail(struct logbuf *l, size_t from, size_t nwords)
{
	size_t k, o;

	memset(l->p + from, 0, l->len - from);
	memset(l->p + from, 0x5a, HDR);		/* the failed entry */
	/*
	 * A candidate's length is two words after its magic, so at most half
	 * the words can be candidates: words 0 and 1 of every 4 hold the
	 * magic, words 2 and 3 their lengths (the largest).
	 */
	for (k = 0; k < nwords; k++) {
		o = from + 8 + 8 * k;
		put_le32(l->p + o, k % 4 < 2 ? FAMFS_ENTRY_MAGIC : FAMFS_LOG_MAX_ENTRY);
		put_le32(l->p + o + 4, 0x12345678);	/* the rest: anything */
	}
}

static void torn_scan_is_linear(void **state)
{
	struct famfs_mlog_result res;
	struct famfs_mlog_entry e;
	struct logbuf l;
	size_t from, ncand;
	__u64 before, work;
	ssize_t n;

	(void)state;
	log_samples(&l, 3 * FAMFS_LOG_MAX_ENTRY);
	from = l.off[NSAMPLES];

	/* 1,024 candidates: a gigabyte of CRC if each is checked alone */
	craft_tail(&l, from, 2048);
	before = famfs_mlog_crc_bytes();
	assert_int_equal(replay_count(&l, l.len, &res), -EBADMSG);
	work = famfs_mlog_crc_bytes() - before;
	assert_int_equal(res.entries, NSAMPLES);
	assert_int_equal(res.tail, FAMFS_MLOG_TORN);
	/* the samples once, then at most the reach of one entry and a header each */
	print_message("torn scan, 1024 candidates: %llu bytes of CRC\n",
		      (unsigned long long)work);
	assert_true(work <= from + 2 * FAMFS_LOG_MAX_ENTRY + 64 * 1024);

	/* the whole reach of an entry: 2^16 candidates */
	ncand = FAMFS_LOG_MAX_ENTRY / 16 - 2;
	craft_tail(&l, from, 2 * ncand);
	before = famfs_mlog_crc_bytes();
	assert_int_equal(replay_count(&l, l.len, &res), -EBADMSG);
	work = famfs_mlog_crc_bytes() - before;
	assert_int_equal(res.tail, FAMFS_MLOG_TORN);
	print_message("torn scan, %zu candidates: %llu bytes of CRC\n", ncand,
		      (unsigned long long)work);
	assert_true(work <= from + 2 * FAMFS_LOG_MAX_ENTRY + 64 * ncand);

	/*
	 * One intact entry among them, where a candidate was: corruption
	 * (the prefix CRCs find exactly the intact ones).
	 */
	sample(&e, 3);
	n = famfs_mlog_encode(&e, uuid, 99, l.p + from + 8 * 4001, 4096);
	assert_true(n > 0);
	assert_int_equal(replay_count(&l, l.len, &res), -EBADMSG);
	assert_int_equal(res.tail, FAMFS_MLOG_CORRUPT);
	/* and a candidate whose CRC is right for its claimed length */
	craft_tail(&l, from, 8192);
	reseal(l.p + from + 8 * 777, FAMFS_LOG_MAX_ENTRY);
	assert_int_equal(replay_count(&l, l.len, &res), -EBADMSG);
	assert_int_equal(res.tail, FAMFS_MLOG_CORRUPT);
	reseal(l.p + from + 8 * 777, FAMFS_LOG_MAX_ENTRY - 8);	/* now wrong */
	assert_int_equal(replay_count(&l, l.len, &res), -EBADMSG);
	assert_int_equal(res.tail, FAMFS_MLOG_TORN);
	log_free(&l);
}

/* An entry cut by the end of the log region. */
static void truncated_log(void **state)
{
	struct famfs_mlog_result res;
	struct logbuf l, small;
	size_t cut, last;

	(void)state;
	log_samples(&l, 16 * 1024);
	last = l.off[NSAMPLES - 1];
	for (cut = last + 8; cut < l.off[NSAMPLES]; cut += 8) {
		log_new(&small, cut);
		memcpy(small.p + LOG_HDR, l.p + LOG_HDR, cut - LOG_HDR);
		assert_int_equal(replay_count(&small, cut, &res), -EBADMSG);
		assert_int_equal(res.entries, NSAMPLES - 1);
		assert_int_equal(res.end_off, last);
		assert_int_not_equal(res.tail, FAMFS_MLOG_END);
		log_free(&small);
	}
	log_free(&l);
}

/* Lengths that cannot be, with a CRC that checks out. */
static void bad_lengths(void **state)
{
	static const __u32 lens[] = { 0, 8, 24, 31, 36, 1U << 21, 0xfffffff8 };
	unsigned char buf[4096];
	struct famfs_mlog_entry e, d;
	size_t i;
	ssize_t n;

	(void)state;
	famfs_mlog_entry_init(&d);
	sample(&e, 6);
	n = famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf));
	assert_true(n > 0);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		unsigned char copy[4096];

		memcpy(copy, buf, sizeof(copy));
		put_le32(copy + 16, lens[i]);
		if (lens[i] >= HDR && lens[i] <= sizeof(copy))
			reseal(copy, lens[i]);
		assert_int_equal(famfs_mlog_decode(copy, sizeof(copy), uuid, 1, &d, NULL, 0),
				 -EBADMSG);
	}
	/* a longer entry whose payload has bytes left over */
	memset(buf + n, 0, 8);
	put_le32(buf + 16, n + 8);
	reseal(buf, n + 8);
	assert_int_equal(famfs_mlog_decode(buf, n + 8, uuid, 1, &d, NULL, 0), -EINVAL);
	/* or a shorter one missing part of its payload */
	put_le32(buf + 16, n - 8);
	reseal(buf, n - 8);
	assert_int_equal(famfs_mlog_decode(buf, n, uuid, 1, &d, NULL, 0), -EINVAL);
	/* fewer bytes than the header */
	assert_int_equal(famfs_mlog_decode(buf, 16, uuid, 1, &d, NULL, 0), -EBADMSG);
	famfs_mlog_entry_release(&d);
}

/* Extent counts that would size an allocation: bounded first. */
static void bad_counts(void **state)
{
	static const __u32 counts[][2] = {
		{ FAMFS_LOG_MAX_SIMPLE + 1, 0 }, { 0, FAMFS_LOG_MAX_ILEAVE + 1 },
		{ 0xffffffff, 0 }, { 0, 0xffffffff }, { 100, 0 }, { 0, 3 },
	};
	unsigned char buf[4096];
	struct famfs_mlog_entry e, d;
	char msg[256];
	size_t i;
	ssize_t n;

	(void)state;
	famfs_mlog_entry_init(&d);
	sample(&e, 1);		/* CREATE: counts at payload 56, 60 */
	n = famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf));
	assert_true(n > 0);
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		unsigned char copy[4096];

		memcpy(copy, buf, n);
		put_le32(copy + HDR + 56, counts[i][0]);
		put_le32(copy + HDR + 60, counts[i][1]);
		reseal(copy, n);
		assert_int_equal(famfs_mlog_decode(copy, n, uuid, 1, &d, msg, sizeof(msg)),
				 -EINVAL);
		assert_true(d.simple_cap <= 256);
	}
	/* a MKDIR with extent counts */
	sample(&e, 0);
	n = famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf));
	put_le32(buf + HDR + 56, 1);
	reseal(buf, n);
	assert_int_equal(famfs_mlog_decode(buf, n, uuid, 1, &d, NULL, 0), -EINVAL);
	famfs_mlog_entry_release(&d);
}

/* Types and flags from a newer version, with a valid CRC. */
static void unknown_types(void **state)
{
	static const __u16 types[] = { 0, FAMFS_LOG_TYPE_MAX + 1, 0x100, 0xffff };
	struct famfs_mlog_result res;
	struct logbuf l;
	size_t i, at;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]) + 1; i++) {
		log_samples(&l, 16 * 1024);
		at = l.off[5];
		if (i < sizeof(types) / sizeof(types[0]))
			put_le16(l.p + at + 4, types[i]);
		else
			put_le16(l.p + at + 6, 1);	/* entry flags */
		reseal(l.p + at, l.off[6] - at);
		assert_int_equal(replay_count(&l, l.len, &res), -EPROTONOSUPPORT);
		assert_int_equal(res.entries, 5);
		assert_int_equal(res.end_off, at);
		assert_non_null(strstr(res.msg, "newer version"));
		log_free(&l);
	}
}

static void sequence_gaps(void **state)
{
	static const __s64 deltas[] = { 1, -1, 0, 1000, -6 };
	struct famfs_mlog_result res;
	struct logbuf l;
	size_t i, at;

	(void)state;
	for (i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		log_samples(&l, 16 * 1024);
		at = l.off[6];
		/* entry 6 has seq 7 */
		put_le64(l.p + at + 8, 7 + deltas[i]);
		reseal(l.p + at, l.off[7] - at);
		if (deltas[i] == 0) {
			assert_int_equal(replay_count(&l, l.len, &res), 0);
		} else {
			assert_int_equal(replay_count(&l, l.len, &res), -EBADMSG);
			assert_int_equal(res.entries, 6);
			assert_int_equal(res.tail, FAMFS_MLOG_CORRUPT);
			assert_non_null(strstr(res.msg, "sequence number"));
		}
		log_free(&l);
	}
	/* a log that starts at another sequence number */
	log_new(&l, 4096);
	assert_int_equal(famfs_mlog_format(l.p, l.len, uuid, 1ULL << 40), 0);
	{
		struct famfs_mlog_writer w;
		struct famfs_mlog_entry e;

		assert_int_equal(famfs_mlog_replay(l.p, l.len, uuid, NULL, NULL, NULL, &res), 0);
		assert_int_equal(res.next_seq, 1ULL << 40);
		assert_int_equal(famfs_mlog_writer_init(&w, l.p, l.len, uuid, &res), 0);
		sample(&e, 0);
		assert_int_equal(famfs_mlog_append(&w, &e), 0);
		assert_int_equal(famfs_mlog_replay(l.p, l.len, uuid, NULL, NULL, NULL, &res), 0);
		assert_int_equal(res.next_seq, (1ULL << 40) + 1);
	}
	log_free(&l);
}

static void names_rejected(void **state)
{
	static const char *const bad[] = { "", ".", "..", "a/b", "/" };
	char longname[FAMFS_NAME_MAX + 2];
	unsigned char buf[4096];
	struct famfs_mlog_entry e, d;
	size_t i;
	ssize_t n;

	(void)state;
	famfs_mlog_entry_init(&d);
	/* the encoder refuses them, in every entry that carries a name */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sample(&e, 0);
		strcpy(e.name, bad[i]);
		assert_int_equal(famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf)), -EINVAL);
		sample(&e, 8);
		strcpy(e.new_name, bad[i]);
		assert_int_equal(famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf)), -EINVAL);
		sample(&e, 11);
		strcpy(e.name, bad[i]);
		assert_int_equal(famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf)), -EINVAL);
	}
	memset(longname, 'x', sizeof(longname));
	sample(&e, 0);
	memcpy(e.name, longname, sizeof(e.name));	/* no NUL in 256 bytes */
	assert_int_equal(famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf)), -EINVAL);
	memset(e.name, 'x', FAMFS_NAME_MAX);
	e.name[FAMFS_NAME_MAX] = '\0';
	assert_true(famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf)) > 0);

	/* the decoder refuses them on the media: MKDIR "ab" made bad */
	sample(&e, 0);
	strcpy(e.name, "ab");
	n = famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf));
	assert_true(n > 0);
	{
		static const char *const media[] = { "a/", "a\0", "\0b", ".." };
		unsigned char copy[4096];

		for (i = 0; i < sizeof(media) / sizeof(media[0]); i++) {
			memcpy(copy, buf, n);
			memcpy(copy + HDR + 64, media[i], 2);
			reseal(copy, n);
			assert_int_equal(famfs_mlog_decode(copy, n, uuid, 1, &d, NULL, 0), -EINVAL);
		}
		/* name lengths 0, past the entry, past FAMFS_NAME_MAX */
		for (i = 0; i < 3; i++) {
			static const __u16 lens[] = { 0, 9, FAMFS_NAME_MAX + 1 };

			memcpy(copy, buf, n);
			put_le16(copy + HDR + 52, lens[i]);
			reseal(copy, n);
			assert_int_equal(famfs_mlog_decode(copy, n, uuid, 1, &d, NULL, 0), -EINVAL);
		}
		/* "." as a one-byte name */
		memcpy(copy, buf, n);
		put_le16(copy + HDR + 52, 1);
		copy[HDR + 64] = '.';
		copy[HDR + 65] = 0;
		reseal(copy, n);
		assert_int_equal(famfs_mlog_decode(copy, n, uuid, 1, &d, NULL, 0), -EINVAL);
		/* non-zero padding after the name */
		memcpy(copy, buf, n);
		copy[HDR + 64 + 3] = 'c';
		reseal(copy, n);
		assert_int_equal(famfs_mlog_decode(copy, n, uuid, 1, &d, NULL, 0), -EINVAL);
	}
	famfs_mlog_entry_release(&d);
}

/* Rules of each entry type, checked on encode (decode runs the same). */
static void fields_rejected(void **state)
{
	struct fmap_simple_ext simple[2];
	struct fmap_ileave_ext ileave[2];
	unsigned char buf[8192];
	struct famfs_mlog_entry e;
	int i;

#define REFUSED(n, change) do {						\
		sample(&e, n);						\
		change;							\
		assert_int_equal(famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf)), -EINVAL); \
	} while (0)
#define WITH_EXTENTS(n) do {						\
		memcpy(simple, sample_simple, sizeof(simple));		\
		memcpy(ileave, sample_ileave, sizeof(sample_ileave));	\
		sample(&e, n);						\
		e.simple = simple;					\
		e.ileave = ileave;					\
	} while (0)

	(void)state;
	REFUSED(0, e.type = 0);
	REFUSED(0, e.type = FAMFS_LOG_TYPE_MAX + 1);
	REFUSED(0, e.mknod.ino = FAMFS_ROOT_INO);
	REFUSED(0, e.mknod.parent = 0);
	REFUSED(0, e.mknod.mode = 040755);
	REFUSED(0, e.mknod.size = 1);
	REFUSED(0, e.mknod.time.nsec = 1000000000);
	REFUSED(0, strcpy(e.target, "x"));
	REFUSED(0, (e.nsimple = 1, e.simple = sample_simple));
	REFUSED(2, e.mknod.size++);
	REFUSED(2, (e.target[0] = 0, e.mknod.size = 0));
	REFUSED(2, (memset(e.target, 'y', FAMFS_SYMLINK_MAX + 1), e.mknod.size = FAMFS_SYMLINK_MAX + 1));
	REFUSED(3, e.nsimple = 0);
	REFUSED(3, e.alloc.ino = FAMFS_ROOT_INO);
	REFUSED(3, e.nsimple = FAMFS_LOG_MAX_SIMPLE + 1);
	REFUSED(4, e.punch.len = 0);
	REFUSED(4, e.punch.len = 4097);
	REFUSED(4, e.punch.off = 512);
	REFUSED(4, e.punch.off = ~0ULL - 4095);
	REFUSED(6, e.setattr.valid = 0);
	REFUSED(6, e.setattr.valid |= 0x80);
	REFUSED(6, e.setattr.uid = 1);			/* not in valid */
	REFUSED(6, e.setattr.atime.sec = 1);		/* not in valid */
	REFUSED(6, e.setattr.mtime.nsec = 2000000000);
	REFUSED(6, e.setattr.ino = 0);
	REFUSED(7, e.setattr.mode = 0100644);
	REFUSED(8, e.rename.flags = 2);
	REFUSED(8, e.rename.ino = 0);
	REFUSED(8, e.rename.new_parent = 0);
	REFUSED(8, (e.rename.new_parent = 1, strcpy(e.new_name, "link")));
	REFUSED(10, e.devadd.dev.kind = 3);
	REFUSED(10, e.devadd.dev.data_off = 0);
	REFUSED(10, e.devadd.dev.data_off = 3 * MiB);
	REFUSED(10, e.devadd.dev.data_off = e.devadd.dev.size);
	REFUSED(10, e.devadd.dev.size = 16 * GiB + 1);
	REFUSED(10, e.devadd.index = FAMFS_MAX_DEVS);
	REFUSED(11, e.del.flags = 2);
	REFUSED(11, e.del.ino = FAMFS_ROOT_INO);
	REFUSED(11, e.del.parent = 0);
	REFUSED(14, e.stripe.ino = 0);
	REFUSED(14, e.stripe.nstrips = 17);
	REFUSED(14, e.stripe.nstrips = 32);
	REFUSED(14, e.stripe.nstrips = 256);
	REFUSED(14, e.stripe.chunk_shift = 20);		/* below the allocation unit */
	REFUSED(14, e.stripe.chunk_shift = 31);
	REFUSED(14, e.stripe.chunk_shift = 0);
	REFUSED(14, e.stripe.nstrips = 0);		/* simple, with a chunk */

	/* extents: alignment, order, overlap, overflow, shape */
	for (i = 0; i < 16; i++) {
		WITH_EXTENTS(1);
		switch (i) {
		case 0: simple[0].len = 4096 + 1; break;
		case 1: simple[1].dev_off = 4095; break;
		case 2: simple[1].file_off = 2 * MiB; break;	/* overlaps */
		case 3: simple[1].file_off = 0; simple[0].file_off = 4 * MiB; break;
		case 4: simple[1].dev_off = ~0ULL - 4095; break;	/* overflows */
		case 5: simple[0].dev = FAMFS_MAX_DEVS; break;
		case 6: simple[1].pad = 1; break;
		case 7: ileave[0].nstrips = 17; break;
		case 8: ileave[0].chunk_shift = 11; break;
		case 9: ileave[0].chunk_shift = 31; break;
		case 10: ileave[0].file_off = 4 * MiB; break;	/* overlaps simple[1] */
		case 11: ileave[0].strips[1].dev_off = ~0ULL - 4095; break;
		case 12: ileave[0].strips[5].dev = 1; break;	/* unused strip */
		case 13: ileave[0].len = 0; break;
		case 14: ileave[0].nstrips = 0; break;
		case 15: ileave[0].nstrips = 255; break;
		}
		if (famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf)) != -EINVAL)
			fail_msg("extent case %d accepted", i);
	}
	/* two interleaved extents that overlap */
	WITH_EXTENTS(1);
	ileave[1] = ileave[0];
	ileave[1].file_off += 8 * MiB;
	e.nileave = 2;
	assert_int_equal(famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf)), -EINVAL);
	ileave[1].file_off += 8 * MiB;
	assert_true(famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf)) > 0);
#undef REFUSED
#undef WITH_EXTENTS
}

/*
 * STRIPE on the media: hostile bytes with a good CRC are refused, and a
 * policy wider than the devices the file system has at that point stops
 * replay (a DEVADD before it makes it fit).
 */
/* LINK: the exact bytes, and what a reader refuses on the media and on encode. */
/* XATTR on the media: every field rule, and lengths bounded before use. */
static void xattr_media_rejected(void **state)
{
	static const struct { int at; __u8 v; } bad[] = {
		{ 0, 0 },			/* ino 0 (its only byte set) */
		{ 8, 2 }, { 9, 0x80 },		/* flags nobody knows */
		{ 8, 1 },			/* a removal with a value */
		{ 10, 0 }, { 11, 1 },		/* name_len 0, 270 */
		{ 12, 0xff }, { 13, 0x10 },	/* value_len past the entry, past the limit */
		{ 14, 1 }, { 15, 0x80 },	/* padding */
		{ 16, 'x' },			/* "xser.": not a stored namespace */
		{ 16 + 3, 0 },			/* a NUL in the name */
		{ 16 + 5, 'f' },		/* ... */
		{ 16 + 21, 'x' },		/* the padding after the value */
	};
	static __u8 big[FAMFS_XATTR_VALUE_MAX + 1];
	struct famfs_mlog_entry e, d;
	unsigned char buf[8192], copy[256];
	char msg[256];
	size_t i;
	ssize_t n;

	(void)state;
	famfs_mlog_entry_init(&d);
	sample(&e, 18);
	n = famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf));
	/* header, 16-byte xattr, "user.mime_type" and 7 value bytes padded to 24 */
	assert_int_equal(n, HDR + 16 + 24);
	assert_int_equal(buf[HDR + 0], 5);
	assert_int_equal(buf[HDR + 10], 14);
	assert_int_equal(buf[HDR + 12], 7);
	assert_memory_equal(buf + HDR + 16, "user.mime_type", 14);
	assert_memory_equal(buf + HDR + 30, sample_value, 7);
	assert_int_equal(famfs_mlog_decode(buf, n, uuid, 1, &d, msg, sizeof(msg)), n);
	assert_string_equal(d.name, "user.mime_type");
	assert_int_equal(d.xattr.value_len, 7);
	assert_memory_equal(d.value, sample_value, 7);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(copy, buf, n);
		copy[HDR + bad[i].at] = bad[i].v;
		if (bad[i].at == 16 + 5)	/* "user.famfs.": the daemon's own */
			memcpy(copy + HDR + 16, "user.famfs.xx", 13);
		reseal(copy, n);
		if (famfs_mlog_decode(copy, n, uuid, 1, &d, msg, sizeof(msg)) != -EINVAL)
			fail_msg("byte %d = %#x accepted", bad[i].at, copy[HDR + bad[i].at]);
		assert_true(d.value_cap <= 4096);
		/* unsealed, the CRC catches it first */
		copy[HDR + bad[i].at] ^= 0x40;
		assert_int_equal(famfs_mlog_decode(copy, n, uuid, 1, &d, NULL, 0), -EBADMSG);
	}

	/* what encode refuses (decode runs the same checks) */
#define XREFUSED(change) do {						\
		sample(&e, 18);						\
		change;							\
		assert_int_equal(famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf)), -EINVAL); \
	} while (0)
	XREFUSED(e.xattr.ino = 0);
	XREFUSED(e.xattr.flags = 4);
	XREFUSED(e.xattr.flags = FAMFS_XATTR_F_REMOVE);
	XREFUSED(e.value = NULL);
	XREFUSED((e.xattr.value_len = FAMFS_XATTR_VALUE_MAX + 1, e.value = big));
	XREFUSED(strcpy(e.name, ""));
	XREFUSED(strcpy(e.name, "user."));
	XREFUSED(strcpy(e.name, "trusted."));
	XREFUSED(strcpy(e.name, "user.famfs.stripe"));
	XREFUSED(strcpy(e.name, "security.selinux"));
	XREFUSED(strcpy(e.name, "system.posix_acl_access"));
	XREFUSED(strcpy(e.name, "usr.x"));
#undef XREFUSED
	/* the largest value, a trusted. name, an empty value: all fine */
	sample(&e, 18);
	e.xattr.value_len = FAMFS_XATTR_VALUE_MAX;
	e.value = big;
	big[FAMFS_XATTR_VALUE_MAX - 1] = 0x5a;
	n = famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(famfs_mlog_decode(buf, n, uuid, 1, &d, NULL, 0), n);
	assert_int_equal(d.xattr.value_len, FAMFS_XATTR_VALUE_MAX);
	assert_int_equal(d.value[FAMFS_XATTR_VALUE_MAX - 1], 0x5a);
	sample(&e, 18);
	strcpy(e.name, "trusted.t");
	e.xattr.value_len = 0;
	n = famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf));
	assert_int_equal(n, HDR + 16 + 16);
	assert_int_equal(famfs_mlog_decode(buf, n, uuid, 1, &d, NULL, 0), n);
	assert_int_equal(d.xattr.value_len, 0);
	assert_string_equal(d.name, "trusted.t");
	/* a 255-byte name is the longest */
	memset(e.name, 'n', FAMFS_XATTR_NAME_MAX);
	memcpy(e.name, "user.", 5);
	e.name[FAMFS_XATTR_NAME_MAX] = '\0';
	n = famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(famfs_mlog_decode(buf, n, uuid, 1, &d, NULL, 0), n);
	assert_int_equal(strlen(d.name), FAMFS_XATTR_NAME_MAX);
	famfs_mlog_entry_release(&d);
}

static void link_media_rejected(void **state)
{
	static const struct { int at; __u8 v; } bad[] = {
		{ 0, 0 },			/* parent 0 (the only byte set) */
		{ 8, 0 }, { 8, 1 },		/* ino 0, the root */
		{ 16, 0 },			/* name_len 0 */
		{ 18, 1 }, { 23, 0x80 },	/* padding */
		{ 24 + 9, 0 },			/* the name's padding */
	};
	struct famfs_mlog_entry e, d;
	unsigned char buf[256], copy[256];
	char msg[256];
	size_t i;
	ssize_t n;

	(void)state;
	famfs_mlog_entry_init(&d);
	sample(&e, 16);
	n = famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf));
	/* header, 24-byte link, "two names" padded to 16 */
	assert_int_equal(n, HDR + 24 + 16);
	assert_int_equal(buf[HDR + 0], FAMFS_ROOT_INO);
	assert_int_equal(buf[HDR + 8], 5);
	assert_int_equal(buf[HDR + 16], 9);
	assert_memory_equal(buf + HDR + 24, "two names", 9);
	assert_int_equal(famfs_mlog_decode(buf, n, uuid, 1, &d, msg, sizeof(msg)), n);
	assert_int_equal(d.link.parent, FAMFS_ROOT_INO);
	assert_int_equal(d.link.ino, 5);
	assert_string_equal(d.name, "two names");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(copy, buf, n);
		copy[HDR + bad[i].at] = bad[i].v;
		if (bad[i].at == 24 + 9)
			copy[HDR + bad[i].at] = 'x';
		reseal(copy, n);
		if (famfs_mlog_decode(copy, n, uuid, 1, &d, msg, sizeof(msg)) != -EINVAL)
			fail_msg("byte %d = %#x accepted", bad[i].at, copy[HDR + bad[i].at]);
		/* unsealed, the CRC catches it first */
		copy[HDR + bad[i].at] ^= 0x40;
		assert_int_equal(famfs_mlog_decode(copy, n, uuid, 1, &d, NULL, 0), -EBADMSG);
	}
	/* a name longer than the entry says it is */
	memcpy(copy, buf, n);
	copy[HDR + 16] = 17;
	reseal(copy, n);
	assert_true(famfs_mlog_decode(copy, n, uuid, 1, &d, NULL, 0) < 0);
	/* encode refuses what decode would */
	sample(&e, 16);
	e.link.parent = 0;
	assert_int_equal(famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf)), -EINVAL);
	sample(&e, 16);
	e.link.ino = FAMFS_ROOT_INO;
	assert_int_equal(famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf)), -EINVAL);
	sample(&e, 16);
	strcpy(e.name, "..");
	assert_int_equal(famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf)), -EINVAL);
	sample(&e, 16);
	strcpy(e.name, "a/b");
	assert_int_equal(famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf)), -EINVAL);
	sample(&e, 16);
	e.nsimple = 1;
	e.simple = sample_simple;
	assert_int_equal(famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf)), -EINVAL);
	famfs_mlog_entry_release(&d);
}

/* CLASS on the media: a kind that is neither, padding, inode 0: refused. */
static void class_media_rejected(void **state)
{
	static const struct { int at; __u8 v; } bad[] = {
		{ 8, 0 }, { 8, 3 }, { 11, 1 },		/* kind */
		{ 12, 1 }, { 15, 0x80 },		/* padding */
		{ 0, 0 },				/* ino 0 (5 before) */
	};
	struct famfs_mlog_entry e, d;
	unsigned char buf[256], copy[256];
	char msg[256];
	size_t i;
	ssize_t n;

	(void)state;
	famfs_mlog_entry_init(&d);
	sample(&e, 20);
	n = famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf));
	assert_int_equal(n, HDR + 16);
	assert_int_equal(buf[HDR], 5);
	assert_int_equal(buf[HDR + 8], FAMFS_DEV_BLOCK);
	assert_int_equal(famfs_mlog_decode(buf, n, uuid, 1, &d, msg, sizeof(msg)), n);
	assert_int_equal(d.klass.kind, FAMFS_DEV_BLOCK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(copy, buf, n);
		copy[HDR + bad[i].at] = bad[i].v;
		reseal(copy, n);
		if (famfs_mlog_decode(copy, n, uuid, 1, &d, msg, sizeof(msg)) != -EINVAL)
			fail_msg("byte %d = %#x accepted", bad[i].at, bad[i].v);
	}
	famfs_mlog_entry_release(&d);
}

static void stripe_media_rejected(void **state)
{
	static const struct { int at; __u8 v; } bad[] = {
		{ 8, 17 }, { 8, 0xff },			/* nstrips */
		{ 9, 20 }, { 9, 31 }, { 9, 0xff },	/* chunk_shift */
		{ 10, 1 }, { 15, 0x80 },		/* padding */
	};
	struct famfs_mlog_devtab devs;
	struct famfs_mlog_result res;
	struct famfs_mlog_writer w;
	struct famfs_mlog_entry e, d;
	unsigned char buf[256], copy[256];
	char msg[256];
	struct logbuf l;
	size_t i;
	ssize_t n;

	(void)state;
	famfs_mlog_entry_init(&d);
	sample(&e, 14);
	n = famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf));
	assert_int_equal(n, HDR + 16);
	assert_int_equal(buf[HDR + 8], 2);
	assert_int_equal(buf[HDR + 9], 21);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(copy, buf, n);
		copy[HDR + bad[i].at] = bad[i].v;
		reseal(copy, n);
		if (famfs_mlog_decode(copy, n, uuid, 1, &d, msg, sizeof(msg)) != -EINVAL)
			fail_msg("byte %d = %#x accepted", bad[i].at, bad[i].v);
	}
	/* ino 0; simple with a chunk shift */
	memcpy(copy, buf, n);
	memset(copy + HDR, 0, 8);
	reseal(copy, n);
	assert_int_equal(famfs_mlog_decode(copy, n, uuid, 1, &d, NULL, 0), -EINVAL);
	memcpy(copy, buf, n);
	copy[HDR + 8] = 0;
	reseal(copy, n);
	assert_int_equal(famfs_mlog_decode(copy, n, uuid, 1, &d, NULL, 0), -EINVAL);
	/* and simple without one is fine */
	copy[HDR + 9] = 0;
	reseal(copy, n);
	assert_int_equal(famfs_mlog_decode(copy, n, uuid, 1, &d, NULL, 0), n);
	assert_int_equal(d.stripe.nstrips, 0);

	/* 4 strips over 2 devices: refused by replay, with the devices named */
	log_new(&l, 4096);
	assert_int_equal(famfs_mlog_replay(l.p, l.len, uuid, NULL, NULL, NULL, &res), 0);
	assert_int_equal(famfs_mlog_writer_init(&w, l.p, l.len, uuid, &res), 0);
	sample(&e, 14);
	e.stripe.nstrips = 4;
	assert_int_equal(famfs_mlog_append(&w, &e), 0);
	two_devs(&devs);
	assert_int_equal(famfs_mlog_replay(l.p, l.len, uuid, &devs, NULL, NULL, &res), -EINVAL);
	assert_int_equal(res.entries, 0);
	assert_int_equal(res.tail, FAMFS_MLOG_CORRUPT);
	assert_non_null(strstr(res.msg, "the devices"));
	/* two more devices first: it fits */
	log_free(&l);
	log_new(&l, 4096);
	assert_int_equal(famfs_mlog_replay(l.p, l.len, uuid, NULL, NULL, NULL, &res), 0);
	assert_int_equal(famfs_mlog_writer_init(&w, l.p, l.len, uuid, &res), 0);
	for (i = 2; i < 4; i++) {
		sample(&e, 10);
		e.devadd.index = (__u32)i;
		assert_int_equal(famfs_mlog_append(&w, &e), 0);
	}
	sample(&e, 14);
	e.stripe.nstrips = 4;
	assert_int_equal(famfs_mlog_append(&w, &e), 0);
	two_devs(&devs);
	assert_int_equal(famfs_mlog_replay(l.p, l.len, uuid, &devs, NULL, NULL, &res), 0);
	assert_int_equal(res.entries, 3);
	log_free(&l);
	famfs_mlog_entry_release(&d);
}

/*
 * Strip counts that are not powers of two: an interleaved extent of 3, 5
 * or 16 strips is written with that many strips and reads back the same;
 * 0, 17 and 255 on the media (with a good CRC) are refused.  A STRIPE of 3
 * replays on three devices, not on two.
 */
static void ileave_strip_counts(void **state)
{
	static const __u8 counts[] = { 1, 3, 5, 16 }, bad[] = { 0, 17, 0xff };
	unsigned char buf[4096], copy[4096];
	struct famfs_mlog_devtab devs;
	struct famfs_mlog_result res;
	struct famfs_mlog_writer w;
	struct famfs_mlog_entry e, d;
	struct fmap_ileave_ext ie;
	struct logbuf l;
	size_t k, b, at;
	char msg[256];
	ssize_t n;
	__u32 s;

	(void)state;
	famfs_mlog_entry_init(&d);
	for (k = 0; k < sizeof(counts); k++) {
		memset(&ie, 0, sizeof(ie));
		ie.len = 7 * 2 * MiB + 4096;
		ie.nstrips = counts[k];
		ie.chunk_shift = 21;
		for (s = 0; s < counts[k]; s++) {
			ie.strips[s].dev = s;
			ie.strips[s].dev_off = 256 * MiB + s * 64 * MiB;
		}
		famfs_mlog_entry_init(&e);
		e.type = FAMFS_LOG_ALLOC;
		e.alloc.ino = 3;
		e.nileave = 1;
		e.ileave = &ie;
		n = famfs_mlog_encode(&e, uuid, 1, buf, sizeof(buf));
		assert_int_equal(n, HDR + 16 + 24 + 16 * counts[k]);
		assert_int_equal(n, famfs_mlog_entry_size(&e));
		at = HDR + 16 + 16;	/* the extent's nstrips */
		assert_int_equal(buf[at], counts[k]);
		if (famfs_mlog_decode(buf, n, uuid, 1, &d, msg, sizeof(msg)) != n)
			fail_msg("%u strips: %s", counts[k], msg);
		assert_int_equal(d.nileave, 1);
		assert_int_equal(d.ileave[0].nstrips, counts[k]);
		assert_entries_equal(&e, &d);
		for (b = 0; b < sizeof(bad); b++) {
			memcpy(copy, buf, n);
			copy[at] = bad[b];
			reseal(copy, n);
			if (famfs_mlog_decode(copy, n, uuid, 1, &d, msg, sizeof(msg)) != -EINVAL)
				fail_msg("%u strips read as %u: accepted", counts[k], bad[b]);
			assert_non_null(strstr(msg, "strips"));
		}
	}

	/* STRIPE 3: wider than two devices, fits three */
	for (k = 2; k <= 3; k++) {
		log_new(&l, 4096);
		assert_int_equal(famfs_mlog_replay(l.p, l.len, uuid, NULL, NULL, NULL, &res), 0);
		assert_int_equal(famfs_mlog_writer_init(&w, l.p, l.len, uuid, &res), 0);
		sample(&e, 14);
		e.stripe.nstrips = 3;
		assert_int_equal(famfs_mlog_append(&w, &e), 0);
		two_devs(&devs);
		devs.ndevs = (__u32)k;
		devs.devs[2] = devs.devs[1];
		devs.devs[2].uuid[0] = 2;
		assert_int_equal(famfs_mlog_replay(l.p, l.len, uuid, &devs, NULL, NULL, &res),
				 k == 3 ? 0 : -EINVAL);
		assert_int_equal(res.entries, k == 3 ? 1 : 0);
		log_free(&l);
	}
	famfs_mlog_entry_release(&d);
}

/* Extents must land in the data area of a device the file system has. */
static void device_checks(void **state)
{
	struct famfs_mlog_devtab devs;
	struct famfs_mlog_result res;
	struct logbuf l;
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		log_samples(&l, 16 * 1024);
		two_devs(&devs);
		switch (i) {
		case 0: devs.ndevs = 1; break;			/* simple[1] on dev 1 */
		case 1: devs.devs[0].data_off = 4 * MiB; break;	/* simple[0] at 2 MiB */
		case 2: devs.devs[0].size = 4 * MiB; break;		/* ends at 6 MiB */
		case 3: devs.devs[1].size = 264 * MiB; break;	/* a strip ends past it */
		case 4: devs.ndevs = 3; break;			/* DEVADD of index 2 */
		}
		assert_int_equal(famfs_mlog_replay(l.p, l.len, uuid, &devs, NULL, NULL, &res),
				 -EINVAL);
		assert_int_equal(res.tail, FAMFS_MLOG_CORRUPT);
		assert_int_equal(res.entries, i == 4 ? 10 : 1);
		log_free(&l);
	}
}

static void apply_refusal_stops_replay(void **state)
{
	struct counter c = { .fail_at = 4 };
	struct famfs_mlog_result res;
	struct logbuf l;

	(void)state;
	log_samples(&l, 16 * 1024);
	assert_int_equal(famfs_mlog_replay(l.p, l.len, uuid, NULL, &count_ops, &c, &res),
			 -EEXIST);
	assert_int_equal(c.applied, 4);
	assert_int_equal(res.entries, 4);
	assert_int_equal(res.end_off, l.off[4]);
	assert_non_null(strstr(res.msg, "refused by replay"));
	log_free(&l);
}

/* -------------------------------------------------------------------- */
/* A model of the namespace, fed by replay and by the test itself */

#define MODEL_INODES 512

enum { M_FREE, M_DIR, M_REG, M_LNK };

struct m_inode {
	int kind;
	__u64 parent;
	char name[FAMFS_NAME_MAX + 1];
	char target[64];
	__u32 mode, uid, gid;
	__u64 size;
	struct famfs_mlog_time atime, mtime, ctime;
	__u32 nchildren;
	__u32 nsimple;
	struct fmap_simple_ext simple[64];
	__u32 nileave;
	struct fmap_ileave_ext ileave[4];
	bool has_stripe;
	__u32 nstrips, chunk_shift;
	/* XATTR: names user.x0 .. user.x3, a value's length and first byte */
	__u8 xattr_have;
	__u16 xattr_len[4];
	__u8 xattr_first[4];
};

/* A hard link: a name besides the inode's own (m_inode.parent, name). */
#define MODEL_LINKS 1024

struct m_link {
	__u64 parent;
	__u64 ino;
	char name[16];
};

struct model {
	struct m_inode ino[MODEL_INODES];
	__u32 ndevs;
	__u32 nlinks;
	struct m_link links[MODEL_LINKS];
};

static void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	m->ino[FAMFS_ROOT_INO].kind = M_DIR;
	m->ino[FAMFS_ROOT_INO].mode = 0755;
}

static __u64 model_lookup(const struct model *m, __u64 parent, const char *name)
{
	__u64 i;

	for (i = 2; i < MODEL_INODES; i++)
		if (m->ino[i].kind != M_FREE && m->ino[i].parent == parent &&
		    !strcmp(m->ino[i].name, name))
			return i;
	for (i = 0; i < m->nlinks; i++)
		if (m->links[i].parent == parent && !strcmp(m->links[i].name, name))
			return m->links[i].ino;
	return 0;
}

/* Index of hard link @name in @parent, or -1: the inode's own name, or none. */
static int model_link_find(const struct model *m, __u64 parent, const char *name)
{
	__u32 i;

	for (i = 0; i < m->nlinks; i++)
		if (m->links[i].parent == parent && !strcmp(m->links[i].name, name))
			return (int)i;
	return -1;
}

static __u32 model_nlinks_of(const struct model *m, __u64 ino)
{
	__u32 i, n = 0;

	for (i = 0; i < m->nlinks; i++)
		n += m->links[i].ino == ino;
	return n;
}

static void model_unlink(struct model *m, __u64 ino)
{
	m->ino[m->ino[ino].parent].nchildren--;
	memset(&m->ino[ino], 0, sizeof(m->ino[ino]));
}

static int model_add_extents(struct m_inode *in, const struct famfs_mlog_entry *e)
{
	__u32 i, j;

	if (in->nsimple + e->nsimple > 64 || in->nileave + e->nileave > 4)
		return -ENOSPC;
	for (i = 0; i < e->nsimple; i++) {
		const struct fmap_simple_ext *x = &e->simple[i];

		for (j = 0; j < in->nsimple; j++)
			if (x->file_off < in->simple[j].file_off + in->simple[j].len &&
			    in->simple[j].file_off < x->file_off + x->len)
				return -EINVAL;
		/* sorted insert */
		for (j = in->nsimple; j > 0 && in->simple[j - 1].file_off > x->file_off; j--)
			in->simple[j] = in->simple[j - 1];
		in->simple[j] = *x;
		in->nsimple++;
	}
	for (i = 0; i < e->nileave; i++)
		in->ileave[in->nileave++] = e->ileave[i];
	return 0;
}

static int model_punch(struct m_inode *in, __u64 off, __u64 len)
{
	__u64 end = len == FAMFS_LOG_TO_END ? ~0ULL : off + len;
	struct fmap_simple_ext out[64];
	__u32 i, n = 0, k = 0;

	for (i = 0; i < in->nsimple; i++) {
		struct fmap_simple_ext x = in->simple[i];
		__u64 xend = x.file_off + x.len;

		if (xend <= off || x.file_off >= end) {
			out[n++] = x;
			continue;
		}
		if (x.file_off < off) {		/* the head stays */
			struct fmap_simple_ext h = x;

			if (n == 64)
				return -ENOSPC;
			h.len = off - x.file_off;
			out[n++] = h;
		}
		if (xend > end) {		/* the tail stays */
			struct fmap_simple_ext t = x;

			t.file_off = end;
			t.dev_off = x.dev_off + (end - x.file_off);
			t.len = xend - end;
			if (n == 64)
				return -ENOSPC;
			out[n++] = t;
		}
	}
	for (i = 0; i < in->nileave; i++) {
		struct fmap_ileave_ext *ie = &in->ileave[i];
		__u64 iend = ie->file_off + ie->len;

		if (iend <= off || ie->file_off >= end) {
			in->ileave[k++] = *ie;
		} else if (ie->file_off < off && end >= iend) {
			ie->len = off - ie->file_off;	/* a tail cut */
			in->ileave[k++] = *ie;
		} else if (ie->file_off < off || end < iend) {
			return -EINVAL;		/* a hole inside: not expressible */
		}
	}
	in->nileave = k;
	memcpy(in->simple, out, n * sizeof(out[0]));
	in->nsimple = n;
	return 0;
}

static int model_apply(void *ctx, const struct famfs_mlog_entry *e)
{
	struct model *m = ctx;
	struct m_inode *in;
	__u64 other;
	int li;

	switch (e->type) {
	case FAMFS_LOG_MKDIR:
	case FAMFS_LOG_CREATE:
	case FAMFS_LOG_SYMLINK:
		if (e->mknod.ino >= MODEL_INODES || e->mknod.parent >= MODEL_INODES)
			return -ENOSPC;
		if (m->ino[e->mknod.parent].kind != M_DIR)
			return -ENOTDIR;
		if (m->ino[e->mknod.ino].kind != M_FREE ||
		    model_lookup(m, e->mknod.parent, e->name))
			return -EEXIST;
		in = &m->ino[e->mknod.ino];
		in->kind = e->type == FAMFS_LOG_MKDIR ? M_DIR :
			   e->type == FAMFS_LOG_CREATE ? M_REG : M_LNK;
		in->parent = e->mknod.parent;
		strcpy(in->name, e->name);
		/* the tests' targets are short */
		memcpy(in->target, e->target, strnlen(e->target, sizeof(in->target) - 1));
		in->mode = e->mknod.mode;
		in->uid = e->mknod.uid;
		in->gid = e->mknod.gid;
		in->size = e->mknod.size;
		in->atime = in->mtime = in->ctime = e->mknod.time;
		m->ino[e->mknod.parent].nchildren++;
		return model_add_extents(in, e);
	case FAMFS_LOG_ALLOC:
		if (e->alloc.ino >= MODEL_INODES || m->ino[e->alloc.ino].kind != M_REG)
			return -ENOENT;
		return model_add_extents(&m->ino[e->alloc.ino], e);
	case FAMFS_LOG_PUNCH:
		if (e->punch.ino >= MODEL_INODES || m->ino[e->punch.ino].kind != M_REG)
			return -ENOENT;
		return model_punch(&m->ino[e->punch.ino], e->punch.off, e->punch.len);
	case FAMFS_LOG_SETATTR:
		if (e->setattr.ino >= MODEL_INODES || m->ino[e->setattr.ino].kind == M_FREE)
			return -ENOENT;
		in = &m->ino[e->setattr.ino];
		if (e->setattr.valid & FAMFS_SETATTR_SIZE)
			in->size = e->setattr.size;
		if (e->setattr.valid & FAMFS_SETATTR_MODE)
			in->mode = e->setattr.mode;
		if (e->setattr.valid & FAMFS_SETATTR_UID)
			in->uid = e->setattr.uid;
		if (e->setattr.valid & FAMFS_SETATTR_GID)
			in->gid = e->setattr.gid;
		if (e->setattr.valid & FAMFS_SETATTR_ATIME)
			in->atime = e->setattr.atime;
		if (e->setattr.valid & FAMFS_SETATTR_MTIME)
			in->mtime = e->setattr.mtime;
		if (e->setattr.valid & FAMFS_SETATTR_CTIME)
			in->ctime = e->setattr.ctime;
		return 0;
	case FAMFS_LOG_RENAME:
		if (e->rename.new_parent >= MODEL_INODES ||
		    m->ino[e->rename.new_parent].kind != M_DIR ||
		    model_lookup(m, e->rename.old_parent, e->name) != e->rename.ino)
			return -ENOENT;
		other = model_lookup(m, e->rename.new_parent, e->new_name);
		/* the model moves inodes' own names only */
		if (model_link_find(m, e->rename.old_parent, e->name) >= 0 ||
		    (other && model_nlinks_of(m, other)))
			return -EOPNOTSUPP;
		if (e->rename.flags & FAMFS_RENAME_EXCHANGE) {
			if (!other)
				return -ENOENT;
			m->ino[other].parent = e->rename.old_parent;
			strcpy(m->ino[other].name, e->name);
		} else if (other) {
			if (m->ino[other].kind == M_DIR && m->ino[other].nchildren)
				return -ENOTEMPTY;
			model_unlink(m, other);
			m->ino[e->rename.new_parent].nchildren++;
			m->ino[e->rename.old_parent].nchildren--;
		} else {
			m->ino[e->rename.new_parent].nchildren++;
			m->ino[e->rename.old_parent].nchildren--;
		}
		in = &m->ino[e->rename.ino];
		in->parent = e->rename.new_parent;
		strcpy(in->name, e->new_name);
		return 0;
	case FAMFS_LOG_DELETE:
		if (model_lookup(m, e->del.parent, e->name) != e->del.ino)
			return -ENOENT;
		li = model_link_find(m, e->del.parent, e->name);
		if (li >= 0) {		/* a hard link goes, the inode stays */
			m->ino[e->del.parent].nchildren--;
			m->links[li] = m->links[--m->nlinks];
			return 0;
		}
		if (model_nlinks_of(m, e->del.ino))
			return -EOPNOTSUPP;	/* its own name, with others left */
		in = &m->ino[e->del.ino];
		if ((in->kind == M_DIR) != !!(e->del.flags & FAMFS_DELETE_DIR))
			return -EISDIR;
		if (in->nchildren)
			return -ENOTEMPTY;
		model_unlink(m, e->del.ino);
		return 0;
	case FAMFS_LOG_DEVADD:
		m->ndevs++;
		return 0;
	case FAMFS_LOG_STRIPE:
		if (e->stripe.ino >= MODEL_INODES || m->ino[e->stripe.ino].kind == M_FREE)
			return -ENOENT;
		in = &m->ino[e->stripe.ino];
		if (in->kind == M_LNK)
			return -EINVAL;
		in->has_stripe = true;
		in->nstrips = e->stripe.nstrips;
		in->chunk_shift = e->stripe.chunk_shift;
		return 0;
	case FAMFS_LOG_CLASS:
		if (e->klass.ino >= MODEL_INODES || m->ino[e->klass.ino].kind == M_FREE)
			return -ENOENT;
		in = &m->ino[e->klass.ino];
		return in->kind == M_REG || in->kind == M_DIR ? 0 : -EINVAL;
	case FAMFS_LOG_CKPT:
		return 0;	/* the model does not choose inode numbers */
	case FAMFS_LOG_XATTR: {
		unsigned int k;

		if (e->xattr.ino >= MODEL_INODES || m->ino[e->xattr.ino].kind == M_FREE)
			return -ENOENT;
		if (strncmp(e->name, "user.x", 6) || e->name[6] < '0' || e->name[6] > '3' ||
		    e->name[7])
			return 0;		/* names the model does not keep */
		in = &m->ino[e->xattr.ino];
		k = (unsigned int)(e->name[6] - '0');
		if (e->xattr.flags & FAMFS_XATTR_F_REMOVE) {
			if (!(in->xattr_have & (1U << k)))
				return -ENODATA;
			in->xattr_have &= (__u8)~(1U << k);
			in->xattr_len[k] = 0;
			in->xattr_first[k] = 0;
			return 0;
		}
		in->xattr_have |= (__u8)(1U << k);
		in->xattr_len[k] = (__u16)e->xattr.value_len;
		in->xattr_first[k] = e->xattr.value_len ? e->value[0] : 0;
		return 0;
	}
	case FAMFS_LOG_LINK:
		if (e->link.parent >= MODEL_INODES || m->ino[e->link.parent].kind != M_DIR ||
		    e->link.ino >= MODEL_INODES || m->ino[e->link.ino].kind == M_FREE)
			return -ENOENT;
		if (m->ino[e->link.ino].kind == M_DIR)
			return -EPERM;
		if (model_lookup(m, e->link.parent, e->name))
			return -EEXIST;
		if (m->nlinks == MODEL_LINKS || strlen(e->name) >= sizeof(m->links[0].name))
			return -ENOSPC;
		m->links[m->nlinks].parent = e->link.parent;
		m->links[m->nlinks].ino = e->link.ino;
		strcpy(m->links[m->nlinks++].name, e->name);
		m->ino[e->link.parent].nchildren++;
		return 0;
	}
	return -EINVAL;
}

static const struct famfs_mlog_ops model_ops = { .apply = model_apply };

/* The samples as a history, replayed: what each step leaves. */
static void replay_samples_into_model(void **state)
{
	struct famfs_mlog_result res;
	struct famfs_mlog_devtab devs;
	struct model *m = malloc(sizeof(*m));
	struct logbuf l;
	size_t cut;

	(void)state;
	assert_non_null(m);
	log_samples(&l, 16 * 1024);

	/* up to the first SETATTR: dir, a file, a symlink, punched twice */
	model_init(m);
	two_devs(&devs);
	cut = l.off[6];
	memset(l.p + cut, 0, l.len - cut);
	assert_int_equal(famfs_mlog_replay(l.p, l.len, uuid, &devs, &model_ops, m, &res), 0);
	assert_int_equal(res.entries, 6);
	assert_int_equal(model_lookup(m, FAMFS_ROOT_INO, "dir"), 2);
	assert_int_equal(model_lookup(m, 2, "file with spaces"), 3);
	assert_int_equal(model_lookup(m, FAMFS_ROOT_INO, "link"), 4);
	assert_string_equal(m->ino[4].target, "dir/file with spaces");
	assert_int_equal(m->ino[2].nchildren, 1);
	/* 0-4M punched at 2-4M, 4-6M on dev 1, alloc at 32M dropped by the
	 * punch to the end at 16M, which also cut the interleave 8-24M */
	assert_int_equal(m->ino[3].nsimple, 2);
	assert_int_equal(m->ino[3].simple[0].file_off, 0);
	assert_int_equal(m->ino[3].simple[0].len, 2 * MiB);
	assert_int_equal(m->ino[3].simple[1].file_off, 4 * MiB);
	assert_int_equal(m->ino[3].nileave, 1);
	assert_int_equal(m->ino[3].ileave[0].len, 8 * MiB);
	log_free(&l);

	/* the whole history: all but "one" and its hard link deleted, one device added */
	log_samples(&l, 16 * 1024);
	model_init(m);
	two_devs(&devs);
	assert_int_equal(famfs_mlog_replay(l.p, l.len, uuid, &devs, &model_ops, m, &res), 0);
	assert_int_equal(res.entries, NSAMPLES);
	assert_int_equal(m->ndevs, 1);
	assert_int_equal(m->ino[FAMFS_ROOT_INO].mode, 01777);
	assert_int_equal(m->ino[FAMFS_ROOT_INO].uid, 7);
	assert_int_equal(m->ino[FAMFS_ROOT_INO].nchildren, 2);
	assert_int_equal(model_lookup(m, FAMFS_ROOT_INO, "one"), 5);
	assert_int_equal(model_lookup(m, FAMFS_ROOT_INO, "two names"), 5);
	assert_int_equal(m->nlinks, 1);
	assert_true(m->ino[FAMFS_ROOT_INO].has_stripe);
	assert_int_equal(m->ino[FAMFS_ROOT_INO].nstrips, 2);
	assert_int_equal(m->ino[FAMFS_ROOT_INO].chunk_shift, 21);
	for (cut = 2; cut < MODEL_INODES; cut++)
		assert_int_equal(m->ino[cut].kind, cut == 5 ? M_REG : M_FREE);
	log_free(&l);
	free(m);
}

static void assert_time_equal(const struct famfs_mlog_time *a, const struct famfs_mlog_time *b)
{
	assert_int_equal(a->sec, b->sec);
	assert_int_equal(a->nsec, b->nsec);
}

static void assert_models_equal(const struct model *a, const struct model *b)
{
	__u32 i;

	assert_int_equal(a->ndevs, b->ndevs);
	for (i = 0; i < MODEL_INODES; i++) {
		const struct m_inode *x = &a->ino[i], *y = &b->ino[i];

		assert_int_equal(x->kind, y->kind);
		assert_int_equal(x->parent, y->parent);
		assert_string_equal(x->name, y->name);
		assert_string_equal(x->target, y->target);
		assert_int_equal(x->mode, y->mode);
		assert_int_equal(x->uid, y->uid);
		assert_int_equal(x->gid, y->gid);
		assert_int_equal(x->size, y->size);
		assert_time_equal(&x->atime, &y->atime);
		assert_time_equal(&x->mtime, &y->mtime);
		assert_time_equal(&x->ctime, &y->ctime);
		assert_int_equal(x->nchildren, y->nchildren);
		assert_int_equal(x->nsimple, y->nsimple);
		assert_int_equal(x->nileave, y->nileave);
		assert_memory_equal(x->simple, y->simple, x->nsimple * sizeof(x->simple[0]));
		assert_memory_equal(x->ileave, y->ileave, x->nileave * sizeof(x->ileave[0]));
		assert_int_equal(x->has_stripe, y->has_stripe);
		assert_int_equal(x->nstrips, y->nstrips);
		assert_int_equal(x->chunk_shift, y->chunk_shift);
		assert_int_equal(x->xattr_have, y->xattr_have);
		assert_memory_equal(x->xattr_len, y->xattr_len, sizeof(x->xattr_len));
		assert_memory_equal(x->xattr_first, y->xattr_first, sizeof(x->xattr_first));
	}
	assert_int_equal(a->nlinks, b->nlinks);
	for (i = 0; i < a->nlinks; i++) {
		assert_int_equal(a->links[i].parent, b->links[i].parent);
		assert_int_equal(a->links[i].ino, b->links[i].ino);
		assert_string_equal(a->links[i].name, b->links[i].name);
	}
}

/* A random history that the model accepts, for random_history(). */
static void random_entry(struct model *m, __u64 *rng, __u64 *next_ino, __u64 *dev_next,
			 struct famfs_mlog_entry *e, struct fmap_simple_ext *simple,
			 struct fmap_ileave_ext *ileave)
{
	__u64 r = xorshift64(rng), ino, pick[MODEL_INODES];
	__u32 n = 0, i;

	famfs_mlog_entry_init(e);
	for (i = 1; i < MODEL_INODES; i++)
		if (m->ino[i].kind != M_FREE)
			pick[n++] = i;
	ino = pick[xorshift64(rng) % n];

	if (r % 97 == 3) {	/* a checkpoint's first entry: inode numbers so far */
		e->type = FAMFS_LOG_CKPT;
		e->ckpt.max_ino = *next_ino - 1;
		return;
	}
	if (r % 29 == 7 && (m->ino[ino].kind == M_REG || m->ino[ino].kind == M_DIR)) {
		e->type = FAMFS_LOG_CLASS;	/* a class: the model only checks the inode */
		e->klass.ino = ino;
		e->klass.kind = r >> 32 & 1 ? FAMFS_DEV_DAX : FAMFS_DEV_BLOCK;
		return;
	}
	if (r % 23 == 5) {	/* an extended attribute set, or removed if it is there */
		static __u8 value[300];
		unsigned int k = (unsigned int)(r >> 8) % 4;

		e->type = FAMFS_LOG_XATTR;
		e->xattr.ino = ino;
		snprintf(e->name, sizeof(e->name), "user.x%u", k);
		if (m->ino[ino].xattr_have & (1U << k) && r & 0x10000) {
			e->xattr.flags = FAMFS_XATTR_F_REMOVE;
			return;
		}
		memset(value, (int)(r >> 20), sizeof(value));
		e->xattr.value_len = (__u32)(r >> 24) % sizeof(value);
		e->value = value;
		return;
	}
	switch (r % 10) {
	case 0: case 1:		/* new name in a directory */
		if (*next_ino >= MODEL_INODES || m->ino[ino].kind != M_DIR)
			break;
		/* r / 10: r % 10 picked this case */
		e->type = r / 10 % 3 == 0 ? FAMFS_LOG_MKDIR : r / 10 % 3 == 1 ? FAMFS_LOG_CREATE :
			  FAMFS_LOG_SYMLINK;
		e->mknod.parent = ino;
		e->mknod.ino = (*next_ino)++;
		e->mknod.mode = (__u32)(r >> 8) & 07777;
		e->mknod.uid = (__u32)(r >> 20) & 0xffff;
		e->mknod.time.sec = (__s64)(r >> 1) - (1LL << 40);
		e->mknod.time.nsec = (__u32)(r >> 16) % 1000000000U;
		snprintf(e->name, sizeof(e->name), "n%llu", (unsigned long long)e->mknod.ino);
		if (e->type == FAMFS_LOG_SYMLINK) {
			snprintf(e->target, sizeof(e->target), "../t%llu", (unsigned long long)r % 97);
			e->mknod.size = strlen(e->target);
		} else if (e->type == FAMFS_LOG_CREATE) {
			e->mknod.size = r % (64 * MiB);
			if (r & 0x10000) {
				simple[0] = (struct fmap_simple_ext){
					.len = 2 * MiB, .dev = 0,
					.dev_off = (*dev_next += 2 * MiB),
				};
				e->nsimple = 1;
				e->simple = simple;
			}
		}
		return;
	case 2:			/* more space at the end of a file */
		if (m->ino[ino].kind != M_REG || m->ino[ino].nsimple >= 60 ||
		    m->ino[ino].nileave >= 4)
			break;
		{
			struct m_inode *in = &m->ino[ino];
			__u64 end = 0;

			for (i = 0; i < in->nsimple; i++)
				if (in->simple[i].file_off + in->simple[i].len > end)
					end = in->simple[i].file_off + in->simple[i].len;
			for (i = 0; i < in->nileave; i++)
				if (in->ileave[i].file_off + in->ileave[i].len > end)
					end = in->ileave[i].file_off + in->ileave[i].len;
			e->type = FAMFS_LOG_ALLOC;
			e->alloc.ino = ino;
			e->simple = simple;
			e->ileave = ileave;
			if (r & 0x100) {
				memset(ileave, 0, sizeof(*ileave));
				ileave->file_off = end;
				ileave->len = 8 * MiB;
				ileave->nstrips = 2;
				ileave->chunk_shift = 21;
				ileave->strips[0].dev = 0;
				ileave->strips[0].dev_off = (*dev_next += 4 * MiB);
				ileave->strips[1].dev = 1;
				ileave->strips[1].dev_off = *dev_next;
				e->nileave = 1;
			} else {
				simple[0] = (struct fmap_simple_ext){
					.file_off = end, .len = 2 * MiB * (1 + r % 3),
					.dev = (__u32)(r >> 9) & 1, .dev_off = (*dev_next += 8 * MiB),
				};
				e->nsimple = 1;
			}
		}
		return;
	case 3:			/* truncate, or a hole in a file without interleave */
		if (m->ino[ino].kind != M_REG)
			break;
		e->type = FAMFS_LOG_PUNCH;
		e->punch.ino = ino;
		e->punch.off = (r >> 8) % 16 * MiB;
		/* a hole splits an extent: keep within the model's 64 */
		e->punch.len = m->ino[ino].nileave || m->ino[ino].nsimple >= 60 || r & 1 ?
			       FAMFS_LOG_TO_END : 2 * MiB;
		return;
	case 4:
		e->type = FAMFS_LOG_SETATTR;
		e->setattr.ino = ino;
		e->setattr.valid = (__u32)(r >> 8) & FAMFS_SETATTR_ALL;
		if (!e->setattr.valid)
			e->setattr.valid = FAMFS_SETATTR_CTIME;
		if (e->setattr.valid & FAMFS_SETATTR_SIZE)
			e->setattr.size = r >> 20;
		if (e->setattr.valid & FAMFS_SETATTR_MODE)
			e->setattr.mode = (__u32)r & 07777;
		if (e->setattr.valid & FAMFS_SETATTR_UID)
			e->setattr.uid = (__u32)(r >> 3);
		if (e->setattr.valid & FAMFS_SETATTR_MTIME)
			e->setattr.mtime = (struct famfs_mlog_time){ (__s64)r, (__u32)r % 1000 };
		if (e->setattr.valid & FAMFS_SETATTR_CTIME)
			e->setattr.ctime = (struct famfs_mlog_time){ (__s64)(r >> 2), 1 };
		return;
	case 5:			/* rename a non-directory into a directory */
		if (ino <= FAMFS_ROOT_INO || m->ino[ino].kind == M_DIR)
			break;
		{
			__u64 dir = pick[(r >> 8) % n];

			if (m->ino[dir].kind != M_DIR)
				break;
			e->type = FAMFS_LOG_RENAME;
			e->rename.old_parent = m->ino[ino].parent;
			e->rename.new_parent = dir;
			e->rename.ino = ino;
			strcpy(e->name, m->ino[ino].name);
			snprintf(e->new_name, sizeof(e->new_name), "r%llu",
				 (unsigned long long)(r >> 40) % 64);
			if (e->rename.old_parent == dir && !strcmp(e->name, e->new_name))
				break;
			{
				__u64 other = model_lookup(m, dir, e->new_name);

				if (other && (m->ino[other].kind == M_DIR ||
					      model_nlinks_of(m, other)))
					break;
				if (other && r & 0x20)
					e->rename.flags = FAMFS_RENAME_EXCHANGE;
			}
		}
		return;
	case 6:			/* delete */
		if (ino <= FAMFS_ROOT_INO || m->ino[ino].nchildren || model_nlinks_of(m, ino))
			break;
		e->type = FAMFS_LOG_DELETE;
		e->del.parent = m->ino[ino].parent;
		e->del.ino = ino;
		e->del.flags = m->ino[ino].kind == M_DIR ? FAMFS_DELETE_DIR : 0;
		strcpy(e->name, m->ino[ino].name);
		return;
	case 7:
		if (m->ndevs + 2 >= FAMFS_MAX_DEVS)
			break;
		e->type = FAMFS_LOG_DEVADD;
		e->devadd.index = m->ndevs + 2;
		e->devadd.dev.size = 8 * GiB;
		e->devadd.dev.data_off = 2 * MiB;
		e->devadd.dev.kind = r & 1 ? FAMFS_DEV_DAX : FAMFS_DEV_BLOCK;
		e->devadd.dev.uuid[3] = (__u8)r;
		return;
	case 8:			/* a layout policy: simple, or up to the devices there are */
		if (m->ino[ino].kind == M_LNK)
			break;
		e->type = FAMFS_LOG_STRIPE;
		e->stripe.ino = ino;
		e->stripe.nstrips = (r >> 8) % 3 ? 1U << ((r >> 12) % 2) : 0;
		e->stripe.chunk_shift = e->stripe.nstrips ? 21 + (__u32)(r >> 16) % 10 : 0;
		return;
	case 9:			/* a hard link, or one going again */
		if (m->nlinks && r & 0x100) {
			const struct m_link *l = &m->links[(r >> 12) % m->nlinks];

			e->type = FAMFS_LOG_DELETE;
			e->del.parent = l->parent;
			e->del.ino = l->ino;
			strcpy(e->name, l->name);
			return;
		}
		if (m->nlinks == MODEL_LINKS || ino <= FAMFS_ROOT_INO || m->ino[ino].kind == M_DIR)
			break;
		e->type = FAMFS_LOG_LINK;
		e->link.parent = pick[(r >> 8) % n];
		e->link.ino = ino;
		snprintf(e->name, sizeof(e->name), "h%llu", (unsigned long long)(r >> 40) % 64);
		if (m->ino[e->link.parent].kind != M_DIR ||
		    model_lookup(m, e->link.parent, e->name))
			break;
		return;
	}
	/* nothing fitted: a time change always does */
	famfs_mlog_entry_init(e);
	e->type = FAMFS_LOG_SETATTR;
	e->setattr.ino = FAMFS_ROOT_INO;
	e->setattr.valid = FAMFS_SETATTR_ATIME;
	e->setattr.atime.sec = (__s64)r;
}

/*
 * Thousands of random entries applied to a model as they are appended;
 * the log replayed into a second model gives the same namespace.
 */
static void random_history(void **state)
{
	const size_t len = 4 * MiB;
	const int n = 6000;
	struct model *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	struct fmap_simple_ext simple[1];
	struct fmap_ileave_ext ileave[1];
	struct famfs_mlog_result res;
	struct famfs_mlog_devtab devs;
	struct famfs_mlog_writer w;
	struct famfs_mlog_entry e;
	__u64 rng = 0x9e3779b97f4a7c15ULL, next_ino = 2, dev_next = 2 * MiB;
	unsigned char *log = malloc(len);
	int i, ret, types[FAMFS_LOG_TYPE_MAX + 1] = { 0 };

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(log);
	model_init(a);
	assert_int_equal(famfs_mlog_format(log, len, uuid, 1), 0);
	assert_int_equal(famfs_mlog_replay(log, len, uuid, NULL, NULL, NULL, &res), 0);
	assert_int_equal(famfs_mlog_writer_init(&w, log, len, uuid, &res), 0);
	for (i = 0; i < n; i++) {
		random_entry(a, &rng, &next_ino, &dev_next, &e, simple, ileave);
		ret = model_apply(a, &e);
		if (ret)
			fail_msg("entry %d (%s): model refused: %d", i,
				 famfs_mlog_type_name(e.type), ret);
		assert_int_equal(famfs_mlog_append(&w, &e), 0);
		types[e.type]++;
	}
	for (i = 1; i <= FAMFS_LOG_TYPE_MAX; i++)
		if (types[i] < 10)
			fail_msg("only %d %s entries", types[i], famfs_mlog_type_name(i));

	model_init(b);
	two_devs(&devs);
	devs.devs[0].size = devs.devs[1].size = 1ULL << 40;
	ret = famfs_mlog_replay(log, len, uuid, &devs, &model_ops, b, &res);
	if (ret)
		fail_msg("%s", res.msg);
	assert_int_equal(res.entries, n);
	assert_int_equal(res.tail, FAMFS_MLOG_END);
	assert_int_equal(res.end_off, w.off);
	assert_int_equal(devs.ndevs, 2 + a->ndevs);
	assert_models_equal(a, b);

	free(log);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crc32c_check_value),
		cmocka_unit_test(crc32c_matches_bitwise),
		cmocka_unit_test(roundtrip_every_type),
		cmocka_unit_test(stripe_media_rejected),
		cmocka_unit_test(class_media_rejected),
		cmocka_unit_test(ileave_strip_counts),
		cmocka_unit_test(link_media_rejected),
		cmocka_unit_test(xattr_media_rejected),
		cmocka_unit_test(replay_samples_clean),
		cmocka_unit_test(empty_and_full_logs),
		cmocka_unit_test(count_hint),
		cmocka_unit_test(every_entry_crc),
		cmocka_unit_test(log_header_checks),
		cmocka_unit_test(torn_last_entry_every_byte),
		cmocka_unit_test(garbage_after_the_end),
		cmocka_unit_test(torn_zero_header),
		cmocka_unit_test(torn_scan_is_linear),
		cmocka_unit_test(truncated_log),
		cmocka_unit_test(bad_lengths),
		cmocka_unit_test(bad_counts),
		cmocka_unit_test(unknown_types),
		cmocka_unit_test(sequence_gaps),
		cmocka_unit_test(names_rejected),
		cmocka_unit_test(fields_rejected),
		cmocka_unit_test(device_checks),
		cmocka_unit_test(apply_refusal_stops_replay),
		cmocka_unit_test(replay_samples_into_model),
		cmocka_unit_test(random_history),
	};

	init_samples();
	return cmocka_run_group_tests_name("mlog", tests, NULL, NULL);
}
