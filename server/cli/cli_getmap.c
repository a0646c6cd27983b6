// SPDX-License-Identifier: GPL-2.0
/*
 * famfs-bpf getmap FILE [OFFSET...]: where a file's bytes live.
 *
 * The mount publishes a regular file's layout as the extended attribute
 * user.famfs.layout: a little-endian header, then the simple extents,
 * then the interleaved ones, in include/fmap.h's types.  The attribute
 * comes from the mount, but getmap treats it as untrusted input: the
 * lengths must add up exactly, and every extent passes fmap.h's checks
 * before an offset is resolved with fmap.h's own functions, the ones the
 * BPF resolver runs.  A layout longer than an attribute value can be
 * (64 KiB, about 2,000 simple extents) is read in pieces,
 * user.famfs.layout.FIRST (famfs_xattr.h, layout_piece.c).
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "cli.h"
#include "famfs_xattr.h"
#include "fmap.h"
#include "fs/layout_piece.h"
#include "fs/log.h"

/* The largest attribute that can be valid: a bound before any allocation. */
#define LAYOUT_MAX	(sizeof(struct famfs_xattr_layout) + \
			 (size_t)FMAP_MAX_SIMPLE * sizeof(struct fmap_simple_ext) + \
			 FMAP_MAX_ILEAVE * sizeof(struct fmap_ileave_ext))

struct layout {
	__u64 size;
	__u32 nsimple, nileave;
	struct fmap_simple_ext *simple;
	struct fmap_ileave_ext ileave[FMAP_MAX_ILEAVE];
};

static ssize_t get_piece(void *ctx, const char *name, void *buf, size_t size)
{
	ssize_t n = getxattr((const char *)ctx, name, buf, size);

	return n < 0 ? -errno : n;
}

/* Read the attribute whole: *@buf, its length in *@len; an exit code. */
static int read_layout(const char *file, char **buf, size_t *len)
{
	ssize_t n;
	int tries;

	*buf = NULL;
	/* the layout can grow between the two calls: a few rounds */
	for (tries = 0; tries < 4; tries++) {
		n = getxattr(file, FAMFS_XATTR_LAYOUT, NULL, 0);
		if (n < 0)
			break;
		if ((size_t)n > LAYOUT_MAX) {
			pr_err("getmap: %s: the layout is %zd bytes, more than any valid one",
			       file, n);
			return CLI_EXIT_BADLAYOUT;
		}
		free(*buf);
		*buf = NULL;
		if ((size_t)n > LAYOUT_XATTR_SIZE_MAX) {
			/* longer than a value can be: in pieces (famfs_xattr.h) */
			void *whole;
			int err = layout_from_pieces(get_piece, (void *)file, &whole, len);

			if (!err) {
				*buf = whole;
				return 0;
			}
			if (err == -EBADMSG) {
				pr_err("getmap: %s: a malformed piece of the layout (%s...)", file,
				       FAMFS_XATTR_LAYOUT_PIECE);
				return CLI_EXIT_BADLAYOUT;
			}
			errno = -err == EAGAIN ? ERANGE : -err;
			n = -1;
			if (err == -EAGAIN)
				continue;
			break;
		}
		*buf = malloc(n ? n : 1);
		if (!*buf) {
			pr_err("getmap: out of memory");
			return CLI_EXIT_OPERATIONAL;
		}
		n = getxattr(file, FAMFS_XATTR_LAYOUT, *buf, n);
		if (n >= 0 || errno != ERANGE)
			break;
	}
	if (n >= 0) {
		*len = n;
		return 0;
	}
	free(*buf);
	*buf = NULL;
	switch (errno) {
	case ENODATA:
		pr_err("getmap: %s: no layout (not a regular file?)", file);
		return CLI_EXIT_BADLAYOUT;
	case ENOTSUP:
		pr_err("getmap: %s: this mount does not publish layouts (%s)", file,
		       FAMFS_XATTR_LAYOUT);
		return CLI_EXIT_BADLAYOUT;
	case ERANGE:
		pr_err("getmap: %s: the layout keeps changing", file);
		return CLI_EXIT_OPERATIONAL;
	default:
		pr_err("getmap: %s: %s: %s", file, FAMFS_XATTR_LAYOUT, strerror(errno));
		return CLI_EXIT_OPERATIONAL;
	}
}

/* Decode and check @len bytes at @buf into @l; a one-line reason on failure. */
static int decode_layout(const char *file, const char *buf, size_t len, struct layout *l)
{
	struct famfs_xattr_layout h;
	__u64 want;
	__u32 i, s;

	if (len < sizeof(h)) {
		pr_err("getmap: %s: truncated layout (%zu bytes, the header is %zu)", file, len,
		       sizeof(h));
		return CLI_EXIT_BADLAYOUT;
	}
	memcpy(&h, buf, sizeof(h));
	if (le32toh(h.magic) != FAMFS_XATTR_LAYOUT_MAGIC ||
	    le32toh(h.version) != FAMFS_XATTR_LAYOUT_VERSION) {
		pr_err("getmap: %s: not a layout this version reads (magic %#x, version %u)", file,
		       le32toh(h.magic), le32toh(h.version));
		return CLI_EXIT_BADLAYOUT;
	}
	l->nsimple = le32toh(h.nsimple);
	l->nileave = le32toh(h.nileave);
	l->size = le64toh(h.size);
	if (l->nsimple > FMAP_MAX_SIMPLE || l->nileave > FMAP_MAX_ILEAVE) {
		pr_err("getmap: %s: malformed layout (%u simple, %u interleaved extents)", file,
		       l->nsimple, l->nileave);
		return CLI_EXIT_BADLAYOUT;
	}
	/* the counts are bounded: no overflow in 64 bits */
	want = sizeof(h) + (__u64)l->nsimple * sizeof(struct fmap_simple_ext) +
	       (__u64)l->nileave * sizeof(struct fmap_ileave_ext);
	if (want != len) {
		pr_err("getmap: %s: %s layout: %zu bytes for %u simple and %u interleaved extents (%llu expected)",
		       file, len < want ? "truncated" : "malformed", len, l->nsimple, l->nileave,
		       (unsigned long long)want);
		return CLI_EXIT_BADLAYOUT;
	}
	buf += sizeof(h);
	l->simple = calloc(l->nsimple ? l->nsimple : 1, sizeof(*l->simple));
	if (!l->simple) {
		pr_err("getmap: out of memory");
		return CLI_EXIT_OPERATIONAL;
	}
	memcpy(l->simple, buf, l->nsimple * sizeof(*l->simple));
	buf += l->nsimple * sizeof(*l->simple);
	memcpy(l->ileave, buf, l->nileave * sizeof(*l->ileave));
	for (i = 0; i < l->nsimple; i++) {
		struct fmap_simple_ext *e = &l->simple[i];

		e->file_off = le64toh(e->file_off);
		e->len = le64toh(e->len);
		e->dev_off = le64toh(e->dev_off);
		e->dev = le32toh(e->dev);
		e->pad = le32toh(e->pad);
	}
	for (i = 0; i < l->nileave; i++) {
		struct fmap_ileave_ext *ie = &l->ileave[i];

		ie->file_off = le64toh(ie->file_off);
		ie->len = le64toh(ie->len);
		ie->pad1 = le16toh(ie->pad1);
		ie->pad2 = le32toh(ie->pad2);
		for (s = 0; s < FMAP_MAX_STRIPS; s++) {
			ie->strips[s].dev_off = le64toh(ie->strips[s].dev_off);
			ie->strips[s].dev = le32toh(ie->strips[s].dev);
			ie->strips[s].pad = le32toh(ie->strips[s].pad);
		}
		if (fmap_ileave_check(ie)) {
			pr_err("getmap: %s: malformed layout: interleaved extent %u", file, i);
			return CLI_EXIT_BADLAYOUT;
		}
	}
	if (l->nsimple && fmap_simple_check(l->simple, l->nsimple)) {
		pr_err("getmap: %s: malformed layout: simple extents unsorted, overlapping or overflowing",
		       file);
		return CLI_EXIT_BADLAYOUT;
	}
	return 0;
}

/* The file's kind of device (user.famfs.class); nothing from a daemon without it. */
static void print_class(const char *file, FILE *out)
{
	char v[16];
	ssize_t n = getxattr(file, FAMFS_XATTR_CLASS, v, sizeof(v) - 1);

	if (n <= 0)
		return;
	v[n] = '\0';
	if (!strcmp(v, "block"))
		fprintf(out, "class block: block devices without DAX, through the page cache\n");
	else if (!strcmp(v, "memory"))
		fprintf(out, "class memory: DAX devices, mapped\n");
}

static void print_layout(const char *file, const struct layout *l, FILE *out)
{
	__u32 i, s;

	fprintf(out, "%s: size %llu, %u simple extent%s, %u interleaved\n", file,
		(unsigned long long)l->size, l->nsimple, l->nsimple == 1 ? "" : "s", l->nileave);
	for (i = 0; i < l->nsimple; i++) {
		const struct fmap_simple_ext *e = &l->simple[i];

		fprintf(out, "simple %u: file %llu-%llu (%llu bytes) -> dev %u %llu-%llu\n", i,
			(unsigned long long)e->file_off,
			(unsigned long long)(e->file_off + e->len - 1),
			(unsigned long long)e->len, e->dev, (unsigned long long)e->dev_off,
			(unsigned long long)(e->dev_off + e->len - 1));
	}
	for (i = 0; i < l->nileave; i++) {
		const struct fmap_ileave_ext *ie = &l->ileave[i];

		fprintf(out, "ileave %u: file %llu-%llu (%llu bytes), %u strips, chunk %llu\n", i,
			(unsigned long long)ie->file_off,
			(unsigned long long)(ie->file_off + ie->len - 1),
			(unsigned long long)ie->len, ie->nstrips,
			1ULL << ie->chunk_shift);
		for (s = 0; s < ie->nstrips; s++) {
			__u64 bytes = fmap_ileave_strip_bytes(ie, s);
			const struct fmap_strip *st = &ie->strips[s];

			if (!bytes) {
				fprintf(out, "  strip %u: dev %u, empty\n", s, st->dev);
				continue;
			}
			fprintf(out, "  strip %u: dev %u %llu-%llu (%llu bytes)\n", s, st->dev,
				(unsigned long long)st->dev_off,
				(unsigned long long)(st->dev_off + bytes - 1),
				(unsigned long long)bytes);
		}
	}
}

/* "offset N: dev D offset O" or "offset N: hole", with a note past EOF */
static void print_offset(const struct layout *l, __u64 off, FILE *out)
{
	struct fmap_mapping m;
	int err = -FMAP_ENXIO;
	char eof[48] = "";

	if (l->nsimple)
		err = fmap_simple_resolve(l->simple, l->nsimple, off, &m);
	if (err == -FMAP_ENXIO && l->nileave)
		err = fmap_ileave_find_resolve(l->ileave, l->nileave, off, &m);
	if (off >= l->size)
		snprintf(eof, sizeof(eof), " (beyond EOF, size %llu)",
			 (unsigned long long)l->size);
	if (err)
		fprintf(out, "offset %llu: hole%s\n", (unsigned long long)off, eof);
	else
		fprintf(out, "offset %llu: dev %u offset %llu%s\n", (unsigned long long)off, m.dev,
			(unsigned long long)m.dev_off, eof);
}

int cli_getmap(const struct cli_getmap_args *args, int n, char **operands, FILE *out)
{
	const char *file = operands[0];
	struct layout l = { 0 };
	__u64 *offs = NULL;
	size_t len = 0;
	char *buf = NULL;
	struct stat st;
	int i, code;

	(void)args;
	offs = calloc(n, sizeof(*offs));
	if (!offs) {
		pr_err("getmap: out of memory");
		return CLI_EXIT_OPERATIONAL;
	}
	/* every operand is checked before anything is printed */
	for (i = 1; i < n; i++) {
		if (cli_parse_size(operands[i], &offs[i])) {
			pr_err("getmap: %s: not an offset (a number with K, M, G or T)",
			       operands[i]);
			code = CLI_EXIT_USAGE;
			goto out;
		}
	}
	code = cli_check_famfs("getmap", file);
	if (code)
		goto out;
	if (stat(file, &st) == 0 && !S_ISREG(st.st_mode)) {
		pr_err("getmap: %s: not a regular file", file);
		code = CLI_EXIT_BADLAYOUT;
		goto out;
	}
	code = read_layout(file, &buf, &len);
	if (code)
		goto out;
	code = decode_layout(file, buf, len, &l);
	if (code)
		goto out;
	print_layout(file, &l, out);
	print_class(file, out);
	for (i = 1; i < n; i++)
		print_offset(&l, offs[i], out);
out:
	free(l.simple);
	free(buf);
	free(offs);
	return code;
}
