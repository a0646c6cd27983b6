// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target over the metadata log: replay (and so decode) of any
 * bytes must not crash, leak or hit undefined behaviour, and every entry
 * replay accepts must encode back to exactly the bytes it came from (the
 * format has one encoding per entry).
 *
 * The same bytes go through the superblock and label checks too, and the
 * log is replayed into the namespace (server/fs/ns.c, ns_replay(): what mount
 * and fsck run): it stops exactly where a check-only replay stops, or
 * earlier at an entry it refuses, named in its message; what it keeps is
 * consistent (every extent on a device, inside its data area; counts that
 * add up; every directory readable) and freed without a leak.
 *
 * Input: one mode byte, then a log region (its length rounded down to 8).
 * Random bytes rarely carry a valid CRC, so the mode says what to repair
 * before replay, letting the fuzzer reach the payload decoders:
 *   bit 0  rewrite the log header valid for this region;
 *   bit 1  renumber entries from first_seq (before bit 2 reseals them);
 *   bit 2  reseal every entry whose length field is believable;
 *   bit 3  reseal a superblock at offset 0 and a label at 4 KiB instead
 *          (bits 4-7: the device number the label is checked as).
 *
 * FAMFS_FUZZ_WRITE_SEEDS=DIR writes the seed corpus (one log per entry
 * type, an ALLOC of 3 strips, a log of all of them, a torn one, the worst
 * case of the torn-tail scan, whose CRC work check_work() bounds, a
 * superblock with and without an owner record) into DIR
 * and exits; the seeds
 * in selftests/fuzz/corpus/mlog/ were made that way.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/crc32c.h"
#include "fs/mlog.h"
#include "fs/ns.h"
#include "fs/super.h"

#define MAX_LOG	(64 * 1024)
#define HDR	sizeof(struct famfs_log_entry_hdr)
#define LOG_HDR	sizeof(struct famfs_log_header)

static const __u8 fuzz_uuid[FAMFS_UUID_SIZE] = {
	0xf0, 0x22, 0x5a, 0x11, 0x38, 0x4d, 0x4e, 0x9b,
	0xa1, 0x07, 0x6c, 0x2e, 0x90, 0x3f, 0xd4, 0x55,
};

struct fuzz_ctx {
	const unsigned char *log;
	size_t len;
	unsigned char *scratch;
};

static void fix_header(unsigned char *log, size_t len)
{
	struct famfs_log_header h;

	memcpy(&h, log, sizeof(h));
	h.magic = htole64(FAMFS_LOG_MAGIC);
	h.version = htole32(FAMFS_FORMAT_VERSION);
	h.hdr_size = htole32(sizeof(h));
	memcpy(h.fs_uuid, fuzz_uuid, sizeof(h.fs_uuid));
	h.log_len = htole64(len);
	if (!h.first_seq)
		h.first_seq = htole64(1);
	h.flags = 0;
	h.generation = h.reserved = 0;
	h.crc = htole32(crc32c(0, &h, offsetof(struct famfs_log_header, crc)));
	memcpy(log, &h, sizeof(h));
}

static void fix_entries(unsigned char *log, size_t len, int renumber, int reseal)
{
	struct famfs_log_header lh;
	size_t off = LOG_HDR;
	__u64 seq;

	memcpy(&lh, log, sizeof(lh));
	seq = le64toh(lh.first_seq);
	while (len - off >= HDR) {
		struct famfs_log_entry_hdr h;
		__u32 elen, crc;

		memcpy(&h, log + off, sizeof(h));
		elen = le32toh(h.len);
		if (elen < HDR + 8 || elen % 8 || elen > len - off)
			break;
		if (renumber)
			h.seq = htole64(seq++);
		memcpy(log + off, &h, sizeof(h));
		if (reseal) {
			crc = crc32c(0, fuzz_uuid, sizeof(fuzz_uuid));
			crc = crc32c(crc, log + off, offsetof(struct famfs_log_entry_hdr, crc));
			crc = crc32c(crc, log + off + HDR, elen - HDR);
			h.crc = htole32(crc);
			memcpy(log + off, &h, sizeof(h));
		}
		off += elen;
	}
}

static void fix_super(unsigned char *buf, size_t len)
{
	struct famfs_superblock sb;
	struct famfs_label l;

	if (len >= sizeof(sb)) {
		memcpy(&sb, buf, sizeof(sb));
		sb.magic = htole64(FAMFS_SB_MAGIC);
		sb.crc = htole32(famfs_sb_crc(&sb));
		/* the owner record, when the bytes look like one: its own CRC */
		if (le32toh(sb.owner.magic) == FAMFS_OWNER_MAGIC)
			sb.owner.crc = htole32(crc32c(crc32c(0, sb.fs_uuid, FAMFS_UUID_SIZE),
						      &sb.owner,
						      offsetof(struct famfs_owner_rec, crc)));
		memcpy(buf, &sb, sizeof(sb));
	}
	if (len >= FAMFS_LABEL_OFF + sizeof(l)) {
		memcpy(&l, buf + FAMFS_LABEL_OFF, sizeof(l));
		l.magic = htole64(FAMFS_LABEL_MAGIC);
		l.crc = htole32(crc32c(0, &l, offsetof(struct famfs_label, crc)));
		memcpy(buf + FAMFS_LABEL_OFF, &l, sizeof(l));
	}
}

/* Each accepted entry re-encodes to its own bytes; its arrays are readable. */
static int fuzz_apply(void *arg, const struct famfs_mlog_entry *e)
{
	struct fuzz_ctx *c = arg;
	ssize_t n;
	__u64 sum = 0;
	__u32 i;

	for (i = 0; i < e->nsimple; i++)
		sum += e->simple[i].len;
	for (i = 0; i < e->nileave; i++)
		sum += e->ileave[i].len;
	if (e->log_off >= c->len)
		abort();
	n = famfs_mlog_encode(e, fuzz_uuid, e->seq, c->scratch, MAX_LOG);
	if (n <= 0 || (size_t)n > c->len - e->log_off ||
	    memcmp(c->scratch, c->log + e->log_off, n)) {
		fprintf(stderr, "entry at log offset %llu (%s) does not re-encode to itself (%zd)\n",
			(unsigned long long)e->log_off, famfs_mlog_type_name(e->type), n);
		abort();
	}
	return sum == 42 ? -EEXIST : 0;	/* exercise the refusal path too */
}

static const struct famfs_mlog_ops fuzz_ops = { .apply = fuzz_apply };

/*
 * Replay is linear in the log: its entries' CRCs once, the failed entry's,
 * and the torn-tail scan's prefix CRCs (each byte once, and 36 bytes for
 * each word that could start an entry).  8 bytes of CRC per byte of log
 * is a bound with room; the quadratic scan it replaced took 20 times that
 * on the torn-scan seed.
 */
static void check_work(__u64 before, size_t len)
{
	__u64 work = famfs_mlog_crc_bytes() - before;

	if (work > 8 * (__u64)len + 1024) {
		fprintf(stderr, "replay of a %zu-byte log ran %llu bytes through the CRC\n", len,
			(unsigned long long)work);
		abort();
	}
}

static void two_devs(struct famfs_mlog_devtab *t)
{
	memset(t, 0, sizeof(*t));
	t->ndevs = 2;
	t->devs[0] = (struct famfs_mlog_dev){ .size = 1ULL << 40, .data_off = 2ULL << 20,
					      .kind = FAMFS_DEV_DAX };
	t->devs[1] = (struct famfs_mlog_dev){ .size = 1ULL << 36, .data_off = 4ULL << 20,
					      .kind = FAMFS_DEV_BLOCK };
}

/* ------------------------------------------------------------------ */
/* The namespace */

struct ns_walk {
	struct ns *ns;
	const struct famfs_mlog_devtab *devs;
	__u64 inodes, files, dirs, symlinks, names;
};

static void on_device(const struct famfs_mlog_devtab *devs, __u32 dev, __u64 off, __u64 len)
{
	if (dev >= devs->ndevs || off < devs->devs[dev].data_off || len > devs->devs[dev].size ||
	    off > devs->devs[dev].size - len) {
		fprintf(stderr, "the namespace kept device %u [%llu, +%llu), off its data area\n",
			dev, (unsigned long long)off, (unsigned long long)len);
		abort();
	}
}

static int walk_layout(void *ctx, __u64 ino, const struct fmap_simple_ext *simple,
		       __u32 nsimple, const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	struct ns_walk *w = ctx;
	__u32 i, s;

	(void)ino;
	for (i = 0; i < nsimple; i++) {
		if (i && simple[i].file_off < simple[i - 1].file_off + simple[i - 1].len)
			abort();	/* sorted, not overlapping */
		on_device(w->devs, simple[i].dev, simple[i].dev_off, simple[i].len);
	}
	for (i = 0; i < nileave; i++)
		for (s = 0; s < ileave[i].nstrips; s++)
			on_device(w->devs, ileave[i].strips[s].dev, ileave[i].strips[s].dev_off,
				  fmap_ileave_strip_bytes(&ileave[i], s));
	return 0;
}

static int count_name(void *ctx, const struct ns_dirent *d)
{
	struct ns_walk *w = ctx;

	if (strcmp(d->name, ".") && strcmp(d->name, ".."))
		w->names++;
	return 0;
}

static int walk_inode(void *ctx, const struct ns_attr *a)
{
	struct ns_walk *w = ctx;

	w->inodes++;
	if (S_ISREG(a->mode))
		w->files++;
	else if (S_ISLNK(a->mode))
		w->symlinks++;
	else if (S_ISDIR(a->mode))
		w->dirs++;
	else
		abort();
	if (S_ISDIR(a->mode) && ns_readdir(w->ns, a->ino, 0, count_name, w))
		abort();
	return 0;
}

/*
 * Replay into a namespace.  @chk is a check-only replay of the same log
 * with the same devices: the namespace may stop earlier, at an entry it
 * refuses, never later.
 */
static void fuzz_ns(const unsigned char *log, size_t len, const struct famfs_mlog_result *chk)
{
	const struct ns_ops ops = { 0 };
	struct famfs_mlog_result res;
	struct famfs_mlog_devtab devs;
	struct ns_walk w = { 0 };
	struct ns_statfs st;
	struct ns *ns = ns_new(&ops, NULL);
	__u64 links = 0;

	if (!ns)
		return;
	two_devs(&devs);
	ns_replay(ns, log, len, fuzz_uuid, &devs, &res);
	if (res.err == -ENOMEM)
		goto out;
	if (res.entries > chk->entries || res.end_off > chk->end_off)
		abort();
	if (res.entries < chk->entries &&
	    (res.tail != FAMFS_MLOG_CORRUPT || res.err != -EINVAL || !strstr(res.msg, "log offset")))
		abort();	/* a refusal: corrupt, and says where */
	if (res.entries == chk->entries &&
	    (res.tail != chk->tail || res.end_off != chk->end_off || res.err != chk->err))
		abort();
	w.ns = ns;
	w.devs = &devs;
	if (ns_foreach_layout(ns, walk_layout, &w) || ns_foreach_inode(ns, walk_inode, &w))
		abort();
	ns_statfs(ns, &st);
	if (st.inodes != w.inodes || st.files != w.files || st.dirs != w.dirs ||
	    st.symlinks != w.symlinks || st.orphans)
		abort();
	/* every inode but the root has a name; hard links add names */
	links = w.names + 1;
	if (links < w.inodes)
		abort();
out:
	ns_free(ns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char scratch[MAX_LOG];
	struct famfs_mlog_result res;
	struct famfs_mlog_devtab devs;
	struct famfs_mlog_entry e;
	struct fuzz_ctx c;
	unsigned char *log;
	size_t len;
	__u64 work;
	int mode;

	if (size < 1)
		return 0;
	mode = data[0];
	len = (size - 1) & ~(size_t)7;
	if (len > MAX_LOG)
		len = MAX_LOG;
	/* an exact-size copy, so ASan sees any read past the region */
	log = malloc(len ? len : 1);
	if (!log)
		return 0;
	memcpy(log, data + 1, len);
	if (mode & 8) {
		fix_super(log, len);
	} else {
		if (mode & 1 && len >= LOG_HDR)
			fix_header(log, len);
		if (mode & 6 && len >= LOG_HDR)
			fix_entries(log, len, mode & 2, mode & 4);
	}

	c = (struct fuzz_ctx){ .log = log, .len = len, .scratch = scratch };
	two_devs(&devs);
	work = famfs_mlog_crc_bytes();
	famfs_mlog_replay(log, len, fuzz_uuid, &devs, &fuzz_ops, &c, &res);
	if (res.err == 0 && res.tail != FAMFS_MLOG_END)
		abort();
	if (res.end_off > len || (res.err && !res.msg[0]))
		abort();
	check_work(work, len);
	work = famfs_mlog_crc_bytes();
	famfs_mlog_replay(log, len, NULL, NULL, NULL, NULL, &res);
	check_work(work, len);

	/* the same region as one checkpoints split: the log picked lies inside it */
	{
		struct famfs_mlog_area a;

		famfs_mlog_pick(log, len, fuzz_uuid, &a);
		if (a.off > len || a.len > len - a.off)
			abort();
		famfs_mlog_replay(log + a.off, a.len, fuzz_uuid, NULL, NULL, NULL, &res);
		if (res.end_off > a.len)
			abort();
	}

	/* the namespace against a check-only replay with the same devices */
	two_devs(&devs);
	famfs_mlog_replay(log, len, fuzz_uuid, &devs, NULL, NULL, &res);
	work = famfs_mlog_crc_bytes();
	fuzz_ns(log, len, &res);
	check_work(work, len);

	/* the same bytes as a superblock and as a label */
	{
		struct famfs_sb_info info;

		if (!famfs_sb_decode(log, len, &info, NULL, 0)) {
			struct famfs_superblock sb;
			struct famfs_owner o, self;
			char msg[512];
			int err;

			famfs_label_check(log + FAMFS_LABEL_OFF % len, len - FAMFS_LABEL_OFF % len,
					  &info, (mode >> 4) % FAMFS_MAX_DEVS, NULL, 0);
			if (info.devs.ndevs > FAMFS_MAX_DEVS)
				abort();
			/* its owner record, and what a mount would make of it */
			memcpy(&sb, log, sizeof(sb));
			err = famfs_owner_decode(&sb.owner, info.fs_uuid, &o);
			memset(&self, 0, sizeof(self));
			if (famfs_owner_judge(err, &o, &self, 0, msg, sizeof(msg)) ==
			    FAMFS_OWNER_FREE && err && err != -ENODATA)
				abort();
			if (!err && (!o.lease_ms || strlen(o.host) > FAMFS_OWNER_HOST_LEN))
				abort();
		}
	}

	/* the decoder alone, on the bytes after the log header */
	if (len > LOG_HDR) {
		famfs_mlog_entry_init(&e);
		famfs_mlog_decode(log + LOG_HDR, len - LOG_HDR, fuzz_uuid, 0, &e, NULL, 0);
		famfs_mlog_entry_release(&e);
	}
	free(log);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Seeds */

static void write_seed(const char *dir, const char *name, int mode,
		       const unsigned char *log, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fputc(mode, f) == EOF || fwrite(log, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* A small consistent history: one entry of every type. */
static void seed_entry(struct famfs_mlog_entry *e, int type,
		       struct fmap_simple_ext *simple, struct fmap_ileave_ext *ileave)
{
	famfs_mlog_entry_init(e);
	e->type = type;
	switch (type) {
	case FAMFS_LOG_MKDIR:
	case FAMFS_LOG_CREATE:
	case FAMFS_LOG_SYMLINK:
		e->mknod.parent = FAMFS_ROOT_INO;
		e->mknod.ino = 1 + type;
		e->mknod.mode = 0755;
		e->mknod.time.sec = 1700000000;
		snprintf(e->name, sizeof(e->name), "%s", famfs_mlog_type_name(type));
		if (type == FAMFS_LOG_SYMLINK) {
			strcpy(e->target, "create");
			e->mknod.size = strlen(e->target);
		}
		if (type != FAMFS_LOG_CREATE)
			break;
		e->mknod.size = 3 << 20;
		/* fall through: CREATE carries extents like ALLOC */
	case FAMFS_LOG_ALLOC:
		if (type == FAMFS_LOG_ALLOC)
			e->alloc.ino = 3;
		memset(simple, 0, sizeof(*simple));
		simple->file_off = type == FAMFS_LOG_ALLOC ? 64 << 20 : 0;
		simple->len = 2 << 20;
		simple->dev_off = 4 << 20;
		e->nsimple = 1;
		e->simple = simple;
		memset(ileave, 0, sizeof(*ileave));
		ileave->file_off = simple->file_off + (8 << 20);
		ileave->len = 16 << 20;
		ileave->nstrips = 2;
		ileave->chunk_shift = 21;
		ileave->strips[0].dev_off = 32 << 20;
		ileave->strips[1] = (struct fmap_strip){ .dev = 1, .dev_off = 32 << 20 };
		e->nileave = 1;
		e->ileave = ileave;
		break;
	case FAMFS_LOG_PUNCH:
		e->punch.ino = 3;
		e->punch.off = 1 << 20;
		e->punch.len = FAMFS_LOG_TO_END;
		break;
	case FAMFS_LOG_SETATTR:
		e->setattr.ino = 3;
		e->setattr.valid = FAMFS_SETATTR_SIZE | FAMFS_SETATTR_MTIME;
		e->setattr.size = 4096;
		e->setattr.mtime.sec = 1700000001;
		break;
	case FAMFS_LOG_RENAME:
		e->rename.old_parent = FAMFS_ROOT_INO;
		e->rename.new_parent = 2;
		e->rename.ino = 4;
		strcpy(e->name, "symlink");
		strcpy(e->new_name, "moved");
		break;
	case FAMFS_LOG_DELETE:
		e->del.parent = 2;
		e->del.ino = 4;
		strcpy(e->name, "moved");
		break;
	case FAMFS_LOG_DEVADD:
		e->devadd.index = 2;
		e->devadd.dev = (struct famfs_mlog_dev){ .size = 1ULL << 34,
							 .data_off = 2 << 20,
							 .kind = FAMFS_DEV_BLOCK };
		break;
	case FAMFS_LOG_STRIPE:
		e->stripe.ino = 2;
		e->stripe.nstrips = 2;
		e->stripe.chunk_shift = 21;
		break;
	case FAMFS_LOG_LINK:
		e->link.parent = 2;
		e->link.ino = 3;
		strcpy(e->name, "hardlink");
		break;
	case FAMFS_LOG_CKPT:
		e->ckpt.max_ino = 10;
		break;
	case FAMFS_LOG_XATTR: {
		static __u8 value[] = { 'v', 0, 'w' };

		e->xattr.ino = 2;
		e->xattr.value_len = sizeof(value);
		e->value = value;
		strcpy(e->name, "user.seed");
		break;
	}
	}
}

static void write_seeds(const char *dir)
{
	static unsigned char log[4096];
	struct fmap_simple_ext simple;
	struct fmap_ileave_ext ileave;
	struct famfs_mlog_result res;
	struct famfs_mlog_writer w;
	struct famfs_mlog_entry e;
	char name[64];
	int t;

	/* an empty log, raw and with every repair */
	famfs_mlog_format(log, 256, fuzz_uuid, 1);
	write_seed(dir, "empty", 0, log, 256);
	/* one log per entry type, exactly as long as the entry and a zero word */
	for (t = 1; t <= FAMFS_LOG_TYPE_MAX; t++) {
		size_t len;

		seed_entry(&e, t, &simple, &ileave);
		len = LOG_HDR + famfs_mlog_entry_size(&e) + 8;
		famfs_mlog_format(log, len, fuzz_uuid, 1);
		famfs_mlog_replay(log, len, fuzz_uuid, NULL, NULL, NULL, &res);
		famfs_mlog_writer_init(&w, log, len, fuzz_uuid, &res);
		if (famfs_mlog_append(&w, &e)) {
			fprintf(stderr, "seed %s does not encode\n", famfs_mlog_type_name(t));
			exit(1);
		}
		snprintf(name, sizeof(name), "%s", famfs_mlog_type_name(t));
		write_seed(dir, name, 0, log, len);
	}
	/* an ALLOC over 3 strips: a count that is not a power of two */
	{
		size_t len;

		seed_entry(&e, FAMFS_LOG_ALLOC, &simple, &ileave);
		ileave.nstrips = 3;
		ileave.len = 12 << 20;
		ileave.strips[2] = (struct fmap_strip){ .dev = 2, .dev_off = 32 << 20 };
		len = LOG_HDR + famfs_mlog_entry_size(&e) + 8;
		famfs_mlog_format(log, len, fuzz_uuid, 1);
		famfs_mlog_replay(log, len, fuzz_uuid, NULL, NULL, NULL, &res);
		famfs_mlog_writer_init(&w, log, len, fuzz_uuid, &res);
		if (famfs_mlog_append(&w, &e)) {
			fprintf(stderr, "seed alloc-3strips does not encode\n");
			exit(1);
		}
		write_seed(dir, "alloc-3strips", 0, log, len);
	}
	/* all of them in a row (the header repaired to the seed's length) */
	famfs_mlog_format(log, sizeof(log), fuzz_uuid, 1);
	famfs_mlog_replay(log, sizeof(log), fuzz_uuid, NULL, NULL, NULL, &res);
	famfs_mlog_writer_init(&w, log, sizeof(log), fuzz_uuid, &res);
	for (t = 1; t <= FAMFS_LOG_TYPE_MAX; t++) {
		seed_entry(&e, t, &simple, &ileave);
		famfs_mlog_append(&w, &e);
	}
	write_seed(dir, "all", 1, log, w.off + 64);
	/* and with the last append torn */
	memset(log + w.off - 20, 0, 20);
	write_seed(dir, "all-torn", 1, log, w.off + 64);

	/*
	 * All of them, then what only the namespace refuses (mlog accepts
	 * it): an rmdir of the directory that holds "moved" and "hardlink".
	 */
	famfs_mlog_format(log, sizeof(log), fuzz_uuid, 1);
	famfs_mlog_replay(log, sizeof(log), fuzz_uuid, NULL, NULL, NULL, &res);
	famfs_mlog_writer_init(&w, log, sizeof(log), fuzz_uuid, &res);
	for (t = 1; t <= FAMFS_LOG_TYPE_MAX; t++) {
		seed_entry(&e, t, &simple, &ileave);
		famfs_mlog_append(&w, &e);
	}
	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_DELETE;
	e.del.parent = FAMFS_ROOT_INO;
	e.del.ino = 2;
	e.del.flags = FAMFS_DELETE_DIR;
	strcpy(e.name, "mkdir");
	if (famfs_mlog_append(&w, &e)) {
		fprintf(stderr, "seed ns-rmdir-not-empty does not encode\n");
		exit(1);
	}
	write_seed(dir, "ns-rmdir-not-empty", 1, log, w.off + 64);

	/*
	 * The torn-tail scan's worst case: a failed entry after the last
	 * good one, then the entry magic in every other word, each claiming
	 * 4 KiB (checked one by one: 4 KiB of CRC per 16 bytes of log).
	 */
	{
		static unsigned char big[8000];
		size_t o, k;

		famfs_mlog_format(big, sizeof(big), fuzz_uuid, 1);
		famfs_mlog_replay(big, sizeof(big), fuzz_uuid, NULL, NULL, NULL, &res);
		famfs_mlog_writer_init(&w, big, sizeof(big), fuzz_uuid, &res);
		seed_entry(&e, FAMFS_LOG_MKDIR, &simple, &ileave);
		famfs_mlog_append(&w, &e);
		memset(big + w.off, 0x5a, HDR);
		for (k = 0, o = w.off + 8; o + 8 <= w.off + 4000; k++, o += 8) {
			__u32 v = htole32(k % 4 < 2 ? FAMFS_ENTRY_MAGIC : 4096);

			memcpy(big + o, &v, 4);
		}
		write_seed(dir, "torn-scan", 1, big, sizeof(big));
	}

	/* a superblock of two devices and the label of device 1 */
	{
		static unsigned char sbuf[FAMFS_LABEL_OFF + FAMFS_LABEL_SIZE];
		struct famfs_sb_info info = { .log_off = 8192, .log_len = 4096 };

		memcpy(info.fs_uuid, fuzz_uuid, sizeof(info.fs_uuid));
		two_devs(&info.devs);
		if (famfs_sb_encode(&info, (struct famfs_superblock *)sbuf, NULL, 0) ||
		    famfs_label_encode(&info, 1, (struct famfs_label *)(sbuf + FAMFS_LABEL_OFF))) {
			fprintf(stderr, "superblock seed does not encode\n");
			exit(1);
		}
		write_seed(dir, "superblock", 8 | 1 << 4, sbuf, sizeof(sbuf));

		/* the same with an owner record held by another host */
		{
			struct famfs_owner o = { .state = FAMFS_OWNER_HELD, .seq = 9,
						 .generation = 4, .since = 1796639521,
						 .heartbeat = 1796639600, .lease_ms = 10000,
						 .pid = 812, .host = "guest-A" };

			memset(o.boot_id, 0xa1, sizeof(o.boot_id));
			famfs_owner_encode(&o, info.fs_uuid,
					   &((struct famfs_superblock *)sbuf)->owner);
			write_seed(dir, "superblock-owner", 8 | 1 << 4, sbuf, sizeof(sbuf));
		}
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FAMFS_FUZZ_WRITE_SEEDS");

	(void)argc;
	(void)argv;
	if (dir) {
		write_seeds(dir);
		exit(0);
	}
	return 0;
}
