// SPDX-License-Identifier: GPL-2.0
/*
 * The namespace in memory (ns.h).
 *
 * Every change goes through prepare() and commit().  prepare() checks the
 * entry against the namespace and allocates whatever the change needs (a
 * new inode, a new name, room in an array), so that commit() cannot fail:
 * a live operation calls the journal in between, and an entry the log
 * holds must be applied in full.  What prepare() allocated is freed again
 * if the journal refuses; room it made in an array is harmless to keep.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "ns.h"

_Static_assert(NS_RENAME_NOREPLACE == RENAME_NOREPLACE &&
	       NS_RENAME_EXCHANGE == RENAME_EXCHANGE, "Linux rename flags");
_Static_assert(FAMFS_LOG_MAX_SIMPLE <= FMAP_MAX_SIMPLE, "an entry fits a file");

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* readdir cookies 1 and 2 are "." and ".."; names start after them */
#define COOKIE_DOT	1
#define COOKIE_DOTDOT	2
#define FIRST_COOKIE	3

/* -------------------------------------------------------------------- */
/* Hash tables: chained, intrusive, doubled when fuller than one per bucket */

struct hnode {
	struct hnode *next;
	__u64 hash;
};

struct htab {
	struct hnode **buckets;
	size_t mask;		/* number of buckets - 1 (a power of two) */
	size_t count;
};

static __u64 mix64(__u64 x)
{
	/* splitmix64's finalizer: every input bit reaches the low bits */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * Inode numbers: a run of 16 consecutive numbers takes 16 consecutive
 * buckets (the bits above are mixed as before).  A replay creates inodes in
 * number order side by side in memory (the pool), so the walks over the
 * table (the allocator's at open, the BPF maps' fill) stay on few pages:
 * 2-4 times faster over 100,000 files in the test guest.
 */
static __u64 ino_hash(__u64 ino)
{
	return mix64(ino >> 4) << 4 | (ino & 15);
}

static __u64 name_hash(__u64 parent, const char *name, size_t len)
{
	__u64 h = 0xcbf29ce484222325ULL ^ mix64(parent);	/* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 0x100000001b3ULL;
	return mix64(h);
}

static int htab_init(struct htab *t, size_t nbuckets)
{
	t->buckets = calloc(nbuckets, sizeof(*t->buckets));
	t->mask = nbuckets - 1;
	t->count = 0;
	return t->buckets ? 0 : -ENOMEM;
}

/* Room for @more entries more: done in prepare(), so that adding cannot fail. */
static int htab_reserve(struct htab *t, size_t more)
{
	size_t n = t->mask + 1, need = t->count + more, i;
	struct hnode **b;

	if (need <= n)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2 / sizeof(*b))
			return -ENOMEM;
		n *= 2;
	}
	b = calloc(n, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (i = 0; i <= t->mask; i++) {
		while (t->buckets[i]) {
			struct hnode *x = t->buckets[i];

			t->buckets[i] = x->next;
			x->next = b[x->hash & (n - 1)];
			b[x->hash & (n - 1)] = x;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->mask = n - 1;
	return 0;
}

static void htab_add(struct htab *t, struct hnode *x, __u64 hash)
{
	x->hash = hash;
	x->next = t->buckets[hash & t->mask];
	t->buckets[hash & t->mask] = x;
	t->count++;
}

static void htab_del(struct htab *t, struct hnode *x)
{
	struct hnode **p = &t->buckets[x->hash & t->mask];

	while (*p != x)
		p = &(*p)->next;
	*p = x->next;
	t->count--;
}

static struct hnode *htab_bucket(const struct htab *t, __u64 hash)
{
	return t->buckets[hash & t->mask];
}

/* -------------------------------------------------------------------- */
/* Memory for inodes and names: chunks, and a free list per size */

/*
 * A replay allocates an inode and a name per entry.  From malloc() that
 * was a seventh of replay's instructions (100,000 creates) and a page
 * fault per 4 KiB of heap, which costs far more under TCG than the
 * instructions; here an allocation takes a few instructions out of a chunk
 * mapped, and populated, up to a megabyte at a time, and a freed object
 * waits on the free list of its size for the next one.  Each object
 * starts with a word naming its pool and size class (its link once free),
 * so it is freed without the namespace at hand.  Under ASan free objects and the unused rest
 * of a chunk are poisoned: a use after free is still caught.
 */
#define POOL_UNIT	16		/* header included: objects stay 8-aligned */
#define POOL_CLASSES	32		/* classes 1..32: up to 504 bytes */
#define POOL_CHUNK_MIN	(64UL << 10)
#define POOL_CHUNK_MAX	(1UL << 20)

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define pool_poison(p, n)	ASAN_POISON_MEMORY_REGION(p, n)
#define pool_unpoison(p, n)	ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define pool_poison(p, n)	((void)(p), (void)(n))
#define pool_unpoison(p, n)	((void)(p), (void)(n))
#endif

struct pool_chunk {
	struct pool_chunk *next;
	size_t size;
};

struct pool {
	__u64 *free[POOL_CLASSES + 1];	/* by class, linked through the headers */
	char *cur, *end;		/* the newest chunk's unused part */
	struct pool_chunk *chunks;
	size_t next_size;
} __attribute__((aligned(64)));	/* a pointer to it has room for the class */

_Static_assert(POOL_CLASSES < 64, "the class fits the pool pointer's low bits");

static struct pool *pool_new(void)
{
	struct pool *p = aligned_alloc(64, sizeof(*p));

	if (p) {
		memset(p, 0, sizeof(*p));
		p->next_size = POOL_CHUNK_MIN;
	}
	return p;
}

static int pool_grow(struct pool *p)
{
	struct pool_chunk *c = mmap(NULL, p->next_size, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (c == MAP_FAILED)
		return -ENOMEM;
	c->next = p->chunks;
	c->size = p->next_size;
	p->chunks = c;
	p->cur = (char *)c + POOL_UNIT;
	p->end = (char *)c + c->size;
	pool_poison(p->cur, p->end - p->cur);
	if (p->next_size < POOL_CHUNK_MAX)
		p->next_size *= 2;
	return 0;
}

static void *pool_alloc(struct pool *p, size_t size)
{
	size_t cls = (sizeof(__u64) + size + POOL_UNIT - 1) / POOL_UNIT;
	__u64 *h;

	if (cls > POOL_CLASSES)
		return NULL;	/* not from ns.c: names are at most FAMFS_NAME_MAX */
	if (p->free[cls]) {
		h = p->free[cls];
		pool_unpoison(h, sizeof(*h) + size);
		p->free[cls] = (__u64 *)(uintptr_t)*h;
	} else {
		if ((size_t)(p->end - p->cur) < cls * POOL_UNIT && pool_grow(p))
			return NULL;
		h = (__u64 *)p->cur;
		p->cur += cls * POOL_UNIT;
		pool_unpoison(h, sizeof(*h) + size);
	}
	*h = (uintptr_t)p | cls;
	return h + 1;
}

static void *pool_zalloc(struct pool *p, size_t size)
{
	void *x = pool_alloc(p, size);

	if (x)
		memset(x, 0, size);
	return x;
}

static void pool_free(void *x)
{
	__u64 *h;
	struct pool *p;
	size_t cls;

	if (!x)
		return;
	h = (__u64 *)x - 1;
	p = (struct pool *)(uintptr_t)(*h & ~63ULL);
	cls = *h & 63;
	*h = (uintptr_t)p->free[cls];
	p->free[cls] = h;
	pool_poison(h, cls * POOL_UNIT);
}

/* Every object goes with it. */
static void pool_destroy(struct pool *p)
{
	struct pool_chunk *c, *next;

	if (!p)
		return;
	for (c = p->chunks; c; c = next) {
		next = c->next;
		pool_unpoison(c, c->size);
		munmap(c, c->size);
	}
	free(p);
}

/* -------------------------------------------------------------------- */
/* Inodes, names, directories */

struct dentry {
	struct hnode node;	/* in ns->names, by (parent, name) */
	__u64 parent;
	__u64 ino;
	__u64 cookie;
	size_t len;
	char name[];
};

/*
 * A directory's names in the order they were added, which is cookie
 * order: a readdir binary-searches where to resume.  A removed name
 * leaves a hole (d NULL) until holes are most of the array.
 */
struct dslot {
	__u64 cookie;
	struct dentry *d;
};

struct dir {
	struct dslot *slots;
	size_t nslots, cap, nlive;
	__u64 next_cookie;
};

/*
 * A regular file's extents: simple ones sorted by file offset, disjoint.
 * Interleaved ones sorted too, and merged: no extent continues the one
 * before it (fmap_ileave_continues()), whatever pieces the log added.
 */
struct layout {
	struct fmap_simple_ext *simple;
	struct fmap_ileave_ext *ileave;	/* sorted by file offset too */
	__u32 nsimple, simple_cap;
	__u32 nileave, ileave_cap;
	__u64 mapped;			/* bytes all of them map */
};

/*
 * One extended attribute (an XATTR entry's): the name, its NUL, then the
 * value.  An inode keeps them in a list in the order they were first set,
 * which listxattr shows; FAMFS_XATTR_SPACE bounds a list to a few dozen.
 */
struct xattr {
	struct xattr *next;
	__u16 name_len, value_len;
	char data[];
};

static __u32 xattr_cost(const struct xattr *x)
{
	return FAMFS_XATTR_COST((__u32)x->name_len, (__u32)x->value_len);
}

struct inode {
	struct hnode node;		/* in ns->inodes, by ino */
	__u64 ino;
	__u64 generation;
	__u64 parent;			/* directories: the one holding their name */
	__u64 open_refs;
	__u32 mode, uid, gid, nlink;
	__u64 size;
	struct famfs_mlog_time atime, mtime, ctime;
	/* layout policy: a STRIPE entry's, or the directory's at create */
	bool has_stripe;
	bool revoked;			/* a follower's orphan: no extents, -EIO */
	bool unnamed;			/* an O_TMPFILE the log has never seen */
	__u8 nstrips, chunk_shift;
	__u8 kind;			/* CLASS: FAMFS_DEV_*, inherited at create; 0: none */
	__u32 xattr_used;		/* FAMFS_XATTR_COST() of the list */
	struct xattr *xattrs;
	union {
		struct dir dir;
		struct layout file;
		char *target;
	};
};

struct ns {
	pthread_rwlock_t lock;
	struct pool *pool;		/* inodes and names */
	struct htab inodes;
	struct htab names;
	struct ns_ops ops;
	void *ops_ctx;
	struct ns_statfs st;
	__u64 next_seq;
	/* the last entry ns_mlog_apply() refused, for ns_replay()'s message */
	bool refused;
	__u64 refused_off, refused_seq;
	unsigned int refused_type;
	char refusal[200];
	/* ns_replay(): entries applied, the log's count hint */
	__u64 replayed, replay_hint;
	bool follower;			/* ns_set_follower() */
};

static bool is_dir(const struct inode *in)
{
	return S_ISDIR(in->mode);
}

static bool is_reg(const struct inode *in)
{
	return S_ISREG(in->mode);
}

static struct inode *inode_get(const struct ns *ns, __u64 ino)
{
	__u64 h = ino_hash(ino);
	struct hnode *x;

	for (x = htab_bucket(&ns->inodes, h); x; x = x->next) {
		struct inode *in = container_of(x, struct inode, node);

		if (x->hash == h && in->ino == ino)
			return in;
	}
	return NULL;
}

static struct dentry *dentry_find(const struct ns *ns, __u64 parent, const char *name)
{
	size_t len = strlen(name);
	__u64 h = name_hash(parent, name, len);
	struct hnode *x;

	for (x = htab_bucket(&ns->names, h); x; x = x->next) {
		struct dentry *d = container_of(x, struct dentry, node);

		if (x->hash == h && d->parent == parent && d->len == len &&
		    !memcmp(d->name, name, len))
			return d;
	}
	return NULL;
}

_Static_assert(sizeof(__u64) + sizeof(struct dentry) + FAMFS_NAME_MAX + 1 <=
	       POOL_CLASSES * POOL_UNIT, "the longest name has a pool class");

static struct dentry *dentry_alloc(struct ns *ns, __u64 parent, const char *name, __u64 ino)
{
	size_t len = strlen(name);
	struct dentry *d = pool_alloc(ns->pool, sizeof(*d) + len + 1);

	if (!d)
		return NULL;
	d->parent = parent;
	d->ino = ino;
	d->cookie = 0;
	d->len = len;
	memcpy(d->name, name, len + 1);
	return d;
}

static void stat_count(struct ns *ns, __u32 mode, int delta)
{
	ns->st.inodes += delta;
	if (S_ISREG(mode))
		ns->st.files += delta;
	else if (S_ISDIR(mode))
		ns->st.dirs += delta;
	else if (S_ISLNK(mode))
		ns->st.symlinks += delta;
}

static int dir_reserve(struct dir *d)
{
	size_t cap = d->cap ? d->cap * 2 : 8;
	struct dslot *s;

	if (d->nslots < d->cap)
		return 0;
	s = realloc(d->slots, cap * sizeof(*s));
	if (!s)
		return -ENOMEM;
	d->slots = s;
	d->cap = cap;
	return 0;
}

/* The first slot whose cookie is above @cookie. */
static size_t dir_seek(const struct dir *d, __u64 cookie)
{
	size_t lo = 0, hi = d->nslots;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->slots[mid].cookie <= cookie)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Holes go once they are 3/4 of the slots: amortised O(1) per removal. */
static void dir_compact(struct dir *d)
{
	size_t i, n = 0;

	if (d->nslots < 32 || d->nlive >= d->nslots / 4)
		return;
	for (i = 0; i < d->nslots; i++)
		if (d->slots[i].d)
			d->slots[n++] = d->slots[i];
	d->nslots = n;
}

/* Link @d into the names and its directory @dir (room reserved). */
static void name_add(struct ns *ns, struct inode *dir, struct dentry *d)
{
	struct dir *dd = &dir->dir;

	d->cookie = dd->next_cookie++;
	dd->slots[dd->nslots++] = (struct dslot){ d->cookie, d };
	dd->nlive++;
	htab_add(&ns->names, &d->node, name_hash(d->parent, d->name, d->len));
}

static void name_del(struct ns *ns, struct inode *dir, struct dentry *d)
{
	struct dir *dd = &dir->dir;
	size_t i = dir_seek(dd, d->cookie - 1);

	if (i < dd->nslots && dd->slots[i].d == d) {
		dd->slots[i].d = NULL;
		dd->nlive--;
		dir_compact(dd);
	}
	htab_del(&ns->names, &d->node);
	pool_free(d);
}

static void inode_free(struct inode *in)
{
	while (in->xattrs) {
		struct xattr *x = in->xattrs;

		in->xattrs = x->next;
		free(x);
	}
	if (is_dir(in)) {
		free(in->dir.slots);
	} else if (is_reg(in)) {
		free(in->file.simple);
		free(in->file.ileave);
	} else {
		free(in->target);
	}
	pool_free(in);
}

/* The inode goes: its number, and its space through release_extents. */
static void inode_destroy(struct ns *ns, struct inode *in)
{
	const struct layout *l = &in->file;

	htab_del(&ns->inodes, &in->node);
	stat_count(ns, in->mode, -1);
	if (is_reg(in) && (l->nsimple || l->nileave) && ns->ops.release_extents)
		ns->ops.release_extents(ns->ops_ctx, in->ino, l->simple, l->nsimple,
					l->ileave, l->nileave);
	inode_free(in);
}

/*
 * A follower's orphan: the owner freed its space with its last name and
 * may reuse it at once; reads of it fail from now on (ns_get_layout()),
 * never showing the next file's bytes, and the follower's allocator does
 * not see two files on the same units (an -EUCLEAN logplay).
 */
static void orphan_revoke(struct ns *ns, struct inode *in)
{
	struct layout *l = &in->file;

	if ((l->nsimple || l->nileave) && ns->ops.release_extents)
		ns->ops.release_extents(ns->ops_ctx, in->ino, l->simple, l->nsimple,
					l->ileave, l->nileave);
	l->nsimple = l->nileave = 0;
	l->mapped = 0;
	in->revoked = true;
}

/*
 * @in lost a name in @dir: with its last one it goes, or stays as an
 * orphan while open; a file with another name (a hard link) stays.
 */
static void inode_unlinked(struct ns *ns, struct inode *dir, struct inode *in)
{
	if (is_dir(in)) {
		dir->nlink--;
		in->nlink = 0;
	} else if (--in->nlink) {
		return;
	}
	if (!in->open_refs) {
		inode_destroy(ns, in);
		return;
	}
	ns->st.orphans++;
	if (ns->follower && is_reg(in))
		orphan_revoke(ns, in);
}

/* Is directory @ino @anc itself or inside it?  Walks up to the root. */
static bool dir_within(const struct ns *ns, __u64 ino, __u64 anc)
{
	__u64 steps;

	for (steps = 0; steps <= ns->st.dirs; steps++) {
		const struct inode *in;

		if (ino == anc)
			return true;
		if (ino == FAMFS_ROOT_INO)
			return false;
		in = inode_get(ns, ino);
		if (!in)
			return false;
		ino = in->parent;
	}
	return true;	/* a loop cannot be; say yes, which refuses */
}

/* -------------------------------------------------------------------- */
/* Layouts */

static int grow_array(void **arr, __u32 *cap, __u64 need, size_t elem)
{
	__u64 n = *cap ? *cap : 4;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if (n > UINT32_MAX)
		n = UINT32_MAX;
	p = realloc(*arr, n * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = (__u32)n;
	return 0;
}

static int layout_reserve(struct layout *l, __u32 more_simple, __u32 more_ileave)
{
	if (grow_array((void **)&l->simple, &l->simple_cap, (__u64)l->nsimple + more_simple,
		       sizeof(*l->simple)) ||
	    grow_array((void **)&l->ileave, &l->ileave_cap, (__u64)l->nileave + more_ileave,
		       sizeof(*l->ileave)))
		return -ENOMEM;
	return 0;
}

/* Index of the first simple extent that ends after @off. */
static __u32 simple_ending_after(const struct layout *l, __u64 off)
{
	__u32 lo = 0, hi = l->nsimple;

	while (lo < hi) {
		__u32 mid = lo + (hi - lo) / 2;

		if (l->simple[mid].file_off + l->simple[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Index of the first simple extent at or after @from that starts at @end or later. */
static __u32 simple_starting_from(const struct layout *l, __u32 from, __u64 end)
{
	__u32 lo = from, hi = l->nsimple;

	while (lo < hi) {
		__u32 mid = lo + (hi - lo) / 2;

		if (l->simple[mid].file_off < end)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Does the file map anything of [off, off + len)? */
static bool layout_maps(const struct layout *l, __u64 off, __u64 len)
{
	__u32 i = simple_ending_after(l, off);

	if (i < l->nsimple && l->simple[i].file_off < off + len)
		return true;
	for (i = 0; i < l->nileave; i++)
		if (l->ileave[i].file_off < off + len &&
		    off < l->ileave[i].file_off + l->ileave[i].len)
			return true;
	return false;
}

/*
 * The interleaved extents @have (sorted, merged) with @add, sorted by file
 * offset, each exact continuation merged into the extent before it
 * (fmap_ileave_continues()), into @out (room for nhave + nadd); how many.
 * Only neighbours in file order can continue each other, and a merged
 * run continues into what its last piece would continue into (the run
 * is whole stripes when its last piece is, and its strips end where the
 * last piece's do), so one pass leaves no pair that would merge, and the
 * result depends on the extents only, not on the order they came in: a
 * replay and the live operation that wrote the entries agree.
 */
static __u32 ileave_merge(const struct fmap_ileave_ext *have, __u32 nhave,
			  const struct fmap_ileave_ext *add, __u32 nadd,
			  struct fmap_ileave_ext *out)
{
	__u32 n = nhave, i, j;

	if (nhave)
		memcpy(out, have, nhave * sizeof(*out));
	for (i = 0; i < nadd; i++) {
		for (j = n; j && out[j - 1].file_off > add[i].file_off; j--)
			out[j] = out[j - 1];
		out[j] = add[i];
		n++;
	}
	for (i = 0, j = 0; i < n; i++) {
		if (j && fmap_ileave_continues(&out[j - 1], &out[i]))
			out[j - 1].len += out[i].len;
		else
			out[j++] = out[i];
	}
	return j;
}

/*
 * Can @e's extents join the file's?  (They agree among themselves: mlog.)
 * The file's interleaved extents with @e's, merged, go to @merged (room
 * for l->nileave + e->nileave), their count to *@nmerged: the per-file
 * limit counts merged extents.
 */
static int layout_check_add(const struct layout *l, const struct famfs_mlog_entry *e,
			    struct fmap_ileave_ext *merged, __u32 *nmerged,
			    char *msg, size_t msglen)
{
	__u32 i;

	*nmerged = ileave_merge(l->ileave, l->nileave, e->ileave, e->nileave, merged);
	if ((__u64)l->nsimple + e->nsimple > FMAP_MAX_SIMPLE || *nmerged > FMAP_MAX_ILEAVE)
		return fbs_fail(msg, msglen, -EFBIG,
				"a file has at most %u simple and %d interleaved extents",
				FMAP_MAX_SIMPLE, FMAP_MAX_ILEAVE);
	for (i = 0; i < e->nsimple; i++)
		if (layout_maps(l, e->simple[i].file_off, e->simple[i].len))
			return fbs_fail(msg, msglen, -EINVAL,
					"simple extent %u (file offset %llu) overlaps the file's extents",
					i, (unsigned long long)e->simple[i].file_off);
	for (i = 0; i < e->nileave; i++)
		if (layout_maps(l, e->ileave[i].file_off, e->ileave[i].len))
			return fbs_fail(msg, msglen, -EINVAL,
					"interleaved extent %u (file offset %llu) overlaps the file's extents",
					i, (unsigned long long)e->ileave[i].file_off);
	return 0;
}

/*
 * Merge @e's simple extents in (room reserved): from the back, so appends
 * are O(new).  The interleaved ones become @merged (layout_check_add()).
 */
static void layout_add(struct layout *l, const struct famfs_mlog_entry *e,
		       const struct fmap_ileave_ext *merged, __u32 nmerged)
{
	__u32 i = l->nsimple, k = e->nsimple, out = i + k, w, r;

	while (k) {
		if (i && l->simple[i - 1].file_off > e->simple[k - 1].file_off)
			l->simple[--out] = l->simple[--i];
		else
			l->simple[--out] = e->simple[--k];
	}
	l->nsimple += e->nsimple;
	/*
	 * An exact continuation, in the file and on the device, joins the
	 * extent before it: a file written in pieces (pages) stays one
	 * extent.  From the first new one's neighbour on: O(new) for appends.
	 */
	for (w = out ? out - 1 : 0, r = w + 1; e->nsimple && r < l->nsimple; r++) {
		struct fmap_simple_ext *p = &l->simple[w];
		const struct fmap_simple_ext *x = &l->simple[r];

		if (p->dev == x->dev && p->file_off + p->len == x->file_off &&
		    p->dev_off + p->len == x->dev_off)
			p->len += x->len;
		else
			l->simple[++w] = *x;
	}
	if (e->nsimple)
		l->nsimple = w + 1;
	for (k = 0; k < e->nsimple; k++)
		l->mapped += e->simple[k].len;
	for (k = 0; k < e->nileave; k++)
		l->mapped += e->ileave[k].len;
	if (nmerged)
		memcpy(l->ileave, merged, nmerged * sizeof(*merged));
	l->nileave = nmerged;
}

/* -------------------------------------------------------------------- */
/* prepare(): check an entry, make room; commit(): apply, cannot fail */

#define MAX_TAIL_PIECES	(FMAP_MAX_ILEAVE * FMAP_MAX_STRIPS)

struct plan {
	struct inode *created;		/* mknod: the new inode */
	struct inode *inode;		/* the inode acted on */
	struct inode *dir;		/* the directory of the name acted on */
	struct inode *new_dir;		/* rename: the destination */
	struct dentry *name;		/* delete, rename: the name that goes or moves */
	struct dentry *victim;		/* rename: the name replaced or exchanged */
	struct dentry *new_name;	/* mknod, rename, link: the name added */
	/* punch: what goes, to release */
	__u32 lo, hi;			/* simple extents it touches */
	struct fmap_simple_ext *cut;
	__u32 ncut, ncut_ileave;
	/* alloc, create: the file's interleaved extents after it, merged */
	struct fmap_ileave_ext *ileave;
	__u32 nileave;
	/* xattr: the attribute set, and the link that points at its place */
	struct xattr *xattr_new;
	struct xattr **xattr_at;
	/* last: prepare() does not zero it (1.1 KB), ncut_ileave says what is set */
	struct fmap_ileave_ext cut_ileave[FMAP_MAX_ILEAVE];
};

/* After a refusal (of the entry or by the journal): free what prepare() made. */
static void plan_discard(struct plan *p)
{
	if (p->created)
		inode_free(p->created);
	pool_free(p->new_name);
	free(p->cut);
	free(p->ileave);
	free(p->xattr_new);
}

/* layout_check_add() into p->ileave. */
static int plan_add(struct plan *p, const struct layout *l, const struct famfs_mlog_entry *e,
		    char *msg, size_t msglen)
{
	size_t n = (size_t)l->nileave + e->nileave;

	p->ileave = malloc((n ? n : 1) * sizeof(*p->ileave));
	if (!p->ileave)
		return fbs_fail(msg, msglen, -ENOMEM, "out of memory");
	return layout_check_add(l, e, p->ileave, &p->nileave, msg, msglen);
}

/* A directory named in an entry: exists, is one, and is not removed. */
static int dir_get(struct ns *ns, __u64 ino, struct inode **out, char *msg, size_t msglen)
{
	struct inode *in = inode_get(ns, ino);

	if (!in || (is_dir(in) && !in->nlink))
		return fbs_fail(msg, msglen, -ENOENT, "directory %llu does not exist",
				(unsigned long long)ino);
	if (!is_dir(in))
		return fbs_fail(msg, msglen, -ENOTDIR, "inode %llu is not a directory",
				(unsigned long long)ino);
	*out = in;
	return 0;
}

/* The name @name in directory @parent, naming inode @ino (a cross-check). */
static int name_get(struct ns *ns, __u64 parent, const char *name, __u64 ino,
		    struct inode **dir, struct dentry **d, char *msg, size_t msglen)
{
	int err = dir_get(ns, parent, dir, msg, msglen);

	if (err)
		return err;
	*d = dentry_find(ns, parent, name);
	if (!*d)
		return fbs_fail(msg, msglen, -ENOENT, "\"%s\" does not exist in directory %llu",
				name, (unsigned long long)parent);
	if ((*d)->ino != ino)
		return fbs_fail(msg, msglen, -EINVAL, "\"%s\" in directory %llu is inode %llu, not %llu",
				name, (unsigned long long)parent,
				(unsigned long long)(*d)->ino, (unsigned long long)ino);
	return 0;
}

/* A regular file named in an entry. */
static int file_get(struct ns *ns, __u64 ino, struct inode **out, char *msg, size_t msglen)
{
	struct inode *in = inode_get(ns, ino);

	if (!in)
		return fbs_fail(msg, msglen, -ENOENT, "inode %llu does not exist",
				(unsigned long long)ino);
	if (!is_reg(in))
		return fbs_fail(msg, msglen, is_dir(in) ? -EISDIR : -EINVAL,
				"inode %llu is not a regular file", (unsigned long long)ino);
	*out = in;
	return 0;
}

static __u32 mode_of(enum famfs_log_type type)
{
	return type == FAMFS_LOG_MKDIR ? S_IFDIR : type == FAMFS_LOG_CREATE ? S_IFREG : S_IFLNK;
}

_Static_assert(sizeof(__u64) + sizeof(struct inode) <= POOL_CLASSES * POOL_UNIT,
	       "an inode has a pool class");

static struct inode *inode_alloc(struct ns *ns, const struct famfs_mlog_entry *e)
{
	struct inode *in = pool_zalloc(ns->pool, sizeof(*in));

	if (!in)
		return NULL;
	in->ino = e->mknod.ino;
	in->generation = e->seq;
	in->mode = mode_of(e->type) | e->mknod.mode;
	in->uid = e->mknod.uid;
	in->gid = e->mknod.gid;
	in->size = e->mknod.size;
	in->atime = in->mtime = in->ctime = e->mknod.time;
	in->nlink = 1;
	if (e->type == FAMFS_LOG_MKDIR) {
		in->nlink = 2;
		in->parent = e->mknod.parent;
		in->dir.next_cookie = FIRST_COOKIE;
	} else if (e->type == FAMFS_LOG_SYMLINK) {
		in->target = strdup(e->target);
		if (!in->target) {
			pool_free(in);
			return NULL;
		}
	}
	return in;
}

static int prepare_mknod(struct ns *ns, const struct famfs_mlog_entry *e, struct plan *p,
			 char *msg, size_t msglen)
{
	int err = dir_get(ns, e->mknod.parent, &p->dir, msg, msglen);

	if (err)
		return err;
	if (inode_get(ns, e->mknod.ino))
		return fbs_fail(msg, msglen, -EEXIST, "inode %llu is in use",
				(unsigned long long)e->mknod.ino);
	if (dentry_find(ns, e->mknod.parent, e->name))
		return fbs_fail(msg, msglen, -EEXIST, "\"%s\" exists in directory %llu",
				e->name, (unsigned long long)e->mknod.parent);
	if (e->type == FAMFS_LOG_CREATE && (e->nsimple || e->nileave)) {
		/* an empty layout: only the per-file limits can refuse */
		static const struct layout empty;

		err = plan_add(p, &empty, e, msg, msglen);
		if (err)
			return err;
	}
	if (htab_reserve(&ns->inodes, 1) || htab_reserve(&ns->names, 1) ||
	    dir_reserve(&p->dir->dir))
		goto nomem;
	p->new_name = dentry_alloc(ns, e->mknod.parent, e->name, e->mknod.ino);
	p->created = inode_alloc(ns, e);
	if (!p->new_name || !p->created)
		goto nomem;
	/* a file starts with its directory's default, replayed or live */
	if (e->type == FAMFS_LOG_CREATE && p->dir->has_stripe && p->dir->nstrips) {
		p->created->has_stripe = true;
		p->created->nstrips = p->dir->nstrips;
		p->created->chunk_shift = p->dir->chunk_shift;
	}
	if (e->type == FAMFS_LOG_CREATE)
		p->created->kind = p->dir->kind;
	/* not in the namespace yet: its extents can go in now */
	if (e->type == FAMFS_LOG_CREATE) {
		if (layout_reserve(&p->created->file, e->nsimple, e->nileave))
			goto nomem;
		layout_add(&p->created->file, e, p->ileave, p->nileave);
	}
	return 0;
nomem:
	return fbs_fail(msg, msglen, -ENOMEM, "out of memory");
}

static void commit_mknod(struct ns *ns, const struct famfs_mlog_entry *e, struct plan *p)
{
	struct inode *in = p->created;

	htab_add(&ns->inodes, &in->node, ino_hash(in->ino));
	stat_count(ns, in->mode, 1);
	name_add(ns, p->dir, p->new_name);
	p->new_name = NULL;
	if (is_dir(in))
		p->dir->nlink++;
	p->dir->mtime = p->dir->ctime = e->mknod.time;
	if (in->ino > ns->st.max_ino)
		ns->st.max_ino = in->ino;
	p->created = NULL;	/* the namespace's now */
}

static int prepare_delete(struct ns *ns, const struct famfs_mlog_entry *e, struct plan *p,
			  char *msg, size_t msglen)
{
	bool rmdir = e->del.flags & FAMFS_DELETE_DIR;
	int err = name_get(ns, e->del.parent, e->name, e->del.ino, &p->dir, &p->name,
			   msg, msglen);

	if (err)
		return err;
	p->inode = inode_get(ns, e->del.ino);
	if (!p->inode)
		return fbs_fail(msg, msglen, -ENOENT, "inode %llu does not exist",
				(unsigned long long)e->del.ino);
	if (rmdir && !is_dir(p->inode))
		return fbs_fail(msg, msglen, -ENOTDIR, "rmdir of \"%s\", not a directory", e->name);
	if (!rmdir && is_dir(p->inode))
		return fbs_fail(msg, msglen, -EISDIR, "unlink of directory \"%s\"", e->name);
	if (rmdir && p->inode->dir.nlive)
		return fbs_fail(msg, msglen, -ENOTEMPTY, "rmdir of \"%s\", not empty", e->name);
	return 0;
}

static void commit_delete(struct ns *ns, struct plan *p)
{
	name_del(ns, p->dir, p->name);
	inode_unlinked(ns, p->dir, p->inode);
}

/* May @src replace @dst (rename(2)'s rules)? */
static int check_replace(const struct inode *src, const struct inode *dst, const char *name,
			 char *msg, size_t msglen)
{
	if (is_dir(src) && !is_dir(dst))
		return fbs_fail(msg, msglen, -ENOTDIR,
				"rename of a directory over \"%s\", not a directory", name);
	if (!is_dir(src) && is_dir(dst))
		return fbs_fail(msg, msglen, -EISDIR, "rename over directory \"%s\"", name);
	if (is_dir(dst) && dst->dir.nlive)
		return fbs_fail(msg, msglen, -ENOTEMPTY, "rename over directory \"%s\", not empty",
				name);
	return 0;
}

/* A directory must not move into itself or below. */
static int check_no_loop(struct ns *ns, const struct inode *moved, __u64 to, char *msg,
			 size_t msglen)
{
	if (is_dir(moved) && dir_within(ns, to, moved->ino))
		return fbs_fail(msg, msglen, -EINVAL,
				"directory %llu would move into its own subtree (directory %llu)",
				(unsigned long long)moved->ino, (unsigned long long)to);
	return 0;
}

static int prepare_exchange(struct ns *ns, const struct famfs_mlog_entry *e, struct plan *p,
			    char *msg, size_t msglen)
{
	struct inode *other;
	int err;

	if (!p->victim)
		return fbs_fail(msg, msglen, -ENOENT, "exchange with \"%s\", which does not exist",
				e->new_name);
	other = inode_get(ns, p->victim->ino);
	if (!other)
		return fbs_fail(msg, msglen, -ENOENT, "inode %llu does not exist",
				(unsigned long long)p->victim->ino);
	err = check_no_loop(ns, p->inode, e->rename.new_parent, msg, msglen);
	if (!err)
		err = check_no_loop(ns, other, e->rename.old_parent, msg, msglen);
	return err;
}

static int prepare_rename(struct ns *ns, const struct famfs_mlog_entry *e, struct plan *p,
			  char *msg, size_t msglen)
{
	struct inode *dst;
	int err = name_get(ns, e->rename.old_parent, e->name, e->rename.ino, &p->dir, &p->name,
			   msg, msglen);

	if (!err)
		err = dir_get(ns, e->rename.new_parent, &p->new_dir, msg, msglen);
	if (err)
		return err;
	p->inode = inode_get(ns, e->rename.ino);
	if (!p->inode)
		return fbs_fail(msg, msglen, -ENOENT, "inode %llu does not exist",
				(unsigned long long)e->rename.ino);
	p->victim = dentry_find(ns, e->rename.new_parent, e->new_name);
	if (e->rename.flags & FAMFS_RENAME_EXCHANGE)
		return prepare_exchange(ns, e, p, msg, msglen);
	err = check_no_loop(ns, p->inode, e->rename.new_parent, msg, msglen);
	if (err)
		return err;
	if (p->victim) {
		dst = inode_get(ns, p->victim->ino);
		if (!dst)
			return fbs_fail(msg, msglen, -ENOENT, "inode %llu does not exist",
					(unsigned long long)p->victim->ino);
		err = check_replace(p->inode, dst, e->new_name, msg, msglen);
		if (err)
			return err;
		/* rename(2) of one hard link over another does nothing: no entry */
		if (dst == p->inode)
			return fbs_fail(msg, msglen, -EINVAL,
					"rename of \"%s\" over \"%s\", both inode %llu",
					e->name, e->new_name, (unsigned long long)dst->ino);
	}
	if (htab_reserve(&ns->names, 1) || dir_reserve(&p->new_dir->dir))
		return fbs_fail(msg, msglen, -ENOMEM, "out of memory");
	p->new_name = dentry_alloc(ns, e->rename.new_parent, e->new_name, e->rename.ino);
	if (!p->new_name)
		return fbs_fail(msg, msglen, -ENOMEM, "out of memory");
	return 0;
}

/* Directory @in moves from @from to @to: ".." and the link counts follow. */
static void dir_moved(struct inode *in, struct inode *from, struct inode *to)
{
	if (!is_dir(in) || from == to)
		return;
	in->parent = to->ino;
	from->nlink--;
	to->nlink++;
}

static void commit_rename(struct ns *ns, const struct famfs_mlog_entry *e, struct plan *p)
{
	struct inode *other;

	if (e->rename.flags & FAMFS_RENAME_EXCHANGE) {
		other = inode_get(ns, p->victim->ino);
		p->victim->ino = p->inode->ino;
		p->name->ino = other->ino;
		dir_moved(p->inode, p->dir, p->new_dir);
		dir_moved(other, p->new_dir, p->dir);
		return;
	}
	if (p->victim) {
		other = inode_get(ns, p->victim->ino);
		name_del(ns, p->new_dir, p->victim);
		inode_unlinked(ns, p->new_dir, other);
	}
	name_del(ns, p->dir, p->name);
	name_add(ns, p->new_dir, p->new_name);
	p->new_name = NULL;
	dir_moved(p->inode, p->dir, p->new_dir);
}

/* One more name for an inode that has one: not a directory, not an orphan. */
static int prepare_link(struct ns *ns, const struct famfs_mlog_entry *e, struct plan *p,
			char *msg, size_t msglen)
{
	int err = dir_get(ns, e->link.parent, &p->dir, msg, msglen);

	if (err)
		return err;
	p->inode = inode_get(ns, e->link.ino);
	if (!p->inode || !p->inode->nlink)
		return fbs_fail(msg, msglen, -ENOENT, "link to inode %llu, which has no name",
				(unsigned long long)e->link.ino);
	if (is_dir(p->inode))
		return fbs_fail(msg, msglen, -EPERM, "link to directory %llu",
				(unsigned long long)e->link.ino);
	if (dentry_find(ns, e->link.parent, e->name))
		return fbs_fail(msg, msglen, -EEXIST, "\"%s\" exists in directory %llu",
				e->name, (unsigned long long)e->link.parent);
	if (p->inode->nlink >= FAMFS_LINK_MAX)
		return fbs_fail(msg, msglen, -EMLINK, "inode %llu has %u names already",
				(unsigned long long)e->link.ino, p->inode->nlink);
	if (htab_reserve(&ns->names, 1) || dir_reserve(&p->dir->dir))
		return fbs_fail(msg, msglen, -ENOMEM, "out of memory");
	p->new_name = dentry_alloc(ns, e->link.parent, e->name, e->link.ino);
	if (!p->new_name)
		return fbs_fail(msg, msglen, -ENOMEM, "out of memory");
	return 0;
}

static void commit_link(struct ns *ns, struct plan *p)
{
	name_add(ns, p->dir, p->new_name);
	p->new_name = NULL;
	p->inode->nlink++;
}

static int prepare_setattr(struct ns *ns, const struct famfs_mlog_entry *e, struct plan *p,
			   char *msg, size_t msglen)
{
	p->inode = inode_get(ns, e->setattr.ino);
	if (!p->inode)
		return fbs_fail(msg, msglen, -ENOENT, "inode %llu does not exist",
				(unsigned long long)e->setattr.ino);
	if ((e->setattr.valid & FAMFS_SETATTR_SIZE) && !is_reg(p->inode))
		return fbs_fail(msg, msglen, is_dir(p->inode) ? -EISDIR : -EINVAL,
				"size of inode %llu, not a regular file",
				(unsigned long long)e->setattr.ino);
	return 0;
}

static void commit_setattr(const struct famfs_mlog_entry *e, struct plan *p)
{
	struct inode *in = p->inode;
	__u32 v = e->setattr.valid;

	if (v & FAMFS_SETATTR_SIZE)
		in->size = e->setattr.size;
	if (v & FAMFS_SETATTR_MODE)
		in->mode = (in->mode & S_IFMT) | e->setattr.mode;
	if (v & FAMFS_SETATTR_UID)
		in->uid = e->setattr.uid;
	if (v & FAMFS_SETATTR_GID)
		in->gid = e->setattr.gid;
	if (v & FAMFS_SETATTR_ATIME)
		in->atime = e->setattr.atime;
	if (v & FAMFS_SETATTR_MTIME)
		in->mtime = e->setattr.mtime;
	if (v & FAMFS_SETATTR_CTIME)
		in->ctime = e->setattr.ctime;
}

static int prepare_alloc(struct ns *ns, const struct famfs_mlog_entry *e, struct plan *p,
			 char *msg, size_t msglen)
{
	int err = file_get(ns, e->alloc.ino, &p->inode, msg, msglen);

	if (!err)
		err = plan_add(p, &p->inode->file, e, msg, msglen);
	if (!err && layout_reserve(&p->inode->file, e->nsimple, e->nileave))
		err = fbs_fail(msg, msglen, -ENOMEM, "out of memory");
	return err;
}

/* A policy belongs to a regular file or a directory that is still there. */
static int prepare_stripe(struct ns *ns, const struct famfs_mlog_entry *e, struct plan *p,
			  char *msg, size_t msglen)
{
	p->inode = inode_get(ns, e->stripe.ino);
	if (!p->inode || (is_dir(p->inode) && !p->inode->nlink))
		return fbs_fail(msg, msglen, -ENOENT, "inode %llu does not exist",
				(unsigned long long)e->stripe.ino);
	if (!is_reg(p->inode) && !is_dir(p->inode))
		return fbs_fail(msg, msglen, -EINVAL,
				"layout policy of inode %llu, neither a file nor a directory",
				(unsigned long long)e->stripe.ino);
	return 0;
}

/*
 * A class belongs to a directory or a regular file; one with space keeps
 * the class it has (a checkpoint names a file's class after its CREATE,
 * which took no class then).
 */
static int prepare_class(struct ns *ns, const struct famfs_mlog_entry *e, struct plan *p,
			 char *msg, size_t msglen)
{
	p->inode = inode_get(ns, e->klass.ino);
	if (!p->inode || (is_dir(p->inode) && !p->inode->nlink))
		return fbs_fail(msg, msglen, -ENOENT, "inode %llu does not exist",
				(unsigned long long)e->klass.ino);
	if (!is_reg(p->inode) && !is_dir(p->inode))
		return fbs_fail(msg, msglen, -EINVAL,
				"class of inode %llu, neither a file nor a directory",
				(unsigned long long)e->klass.ino);
	/* its extents would name devices of the other kind */
	if (is_reg(p->inode) && p->inode->file.mapped && p->inode->kind &&
	    p->inode->kind != e->klass.kind)
		return fbs_fail(msg, msglen, -EBUSY, "class of inode %llu, which has space",
				(unsigned long long)e->klass.ino);
	return 0;
}

static void commit_stripe(const struct famfs_mlog_entry *e, struct plan *p)
{
	p->inode->has_stripe = true;
	p->inode->nstrips = (__u8)e->stripe.nstrips;
	p->inode->chunk_shift = (__u8)e->stripe.chunk_shift;
}

/*
 * An attribute of a live inode: a removal names one it has, a set fits
 * FAMFS_XATTR_SPACE with the value it replaces gone (ext4's ENOSPC).
 * famfs_mlog_check() has checked the name and the lengths.
 */
static int prepare_xattr(struct ns *ns, const struct famfs_mlog_entry *e, struct plan *p,
			 char *msg, size_t msglen)
{
	size_t name_len = strlen(e->name);
	struct inode *in = inode_get(ns, e->xattr.ino);
	struct xattr **pp, *x;
	__u32 used;

	if (!in || (is_dir(in) && !in->nlink))
		return fbs_fail(msg, msglen, -ENOENT, "inode %llu does not exist",
				(unsigned long long)e->xattr.ino);
	for (pp = &in->xattrs; *pp; pp = &(*pp)->next)
		if ((*pp)->name_len == name_len && !memcmp((*pp)->data, e->name, name_len))
			break;
	p->inode = in;
	p->xattr_at = pp;
	if (e->xattr.flags & FAMFS_XATTR_F_REMOVE) {
		if (!*pp)
			return fbs_fail(msg, msglen, -ENODATA, "inode %llu has no xattr %s",
					(unsigned long long)e->xattr.ino, e->name);
		return 0;
	}
	used = in->xattr_used - (*pp ? xattr_cost(*pp) : 0) +
	       FAMFS_XATTR_COST((__u32)name_len, e->xattr.value_len);
	if (used > FAMFS_XATTR_SPACE)
		return fbs_fail(msg, msglen, -ENOSPC,
				"xattr %s of inode %llu: %u bytes of xattrs, at most %u",
				e->name, (unsigned long long)e->xattr.ino, used,
				FAMFS_XATTR_SPACE);
	x = malloc(sizeof(*x) + name_len + 1 + e->xattr.value_len);
	if (!x)
		return fbs_fail(msg, msglen, -ENOMEM, "out of memory");
	x->next = NULL;
	x->name_len = (__u16)name_len;
	x->value_len = (__u16)e->xattr.value_len;
	memcpy(x->data, e->name, name_len + 1);
	if (e->xattr.value_len)
		memcpy(x->data + name_len + 1, e->value, e->xattr.value_len);
	p->xattr_new = x;
	return 0;
}

static void commit_xattr(struct plan *p)
{
	struct xattr *old = *p->xattr_at, *x = p->xattr_new;

	if (old) {
		p->inode->xattr_used -= xattr_cost(old);
		*p->xattr_at = old->next;
		free(old);
	}
	if (x) {	/* in the old one's place: a replaced value keeps its rank */
		x->next = *p->xattr_at;
		*p->xattr_at = x;
		p->inode->xattr_used += xattr_cost(x);
		p->xattr_new = NULL;
	}
}

/*
 * @name's value into @buf (@size 0: its length only): its length,
 * -ENODATA, or -ERANGE when @size is too small.
 */
static ssize_t xattr_find(const struct inode *in, const char *name, void *buf, size_t size)
{
	size_t n = strlen(name);
	const struct xattr *x;

	for (x = in->xattrs; x; x = x->next) {
		if (x->name_len != n || memcmp(x->data, name, n))
			continue;
		if (!size)
			return x->value_len;
		if (size < x->value_len)
			return -ERANGE;
		memcpy(buf, x->data + n + 1, x->value_len);
		return x->value_len;
	}
	return -ENODATA;
}

static __u64 punch_end(const struct famfs_mlog_entry *e)
{
	return e->punch.len == FAMFS_LOG_TO_END ? UINT64_MAX : e->punch.off + e->punch.len;
}

/* The pieces of simple extents [lo, hi) inside [off, end). */
static void cut_simple(struct plan *p, const struct layout *l, __u64 off, __u64 end)
{
	__u32 i;

	for (i = p->lo; i < p->hi; i++) {
		struct fmap_simple_ext x = l->simple[i];
		__u64 from = x.file_off > off ? x.file_off : off;
		__u64 to = x.file_off + x.len < end ? x.file_off + x.len : end;

		x.dev_off += from - x.file_off;
		x.file_off = from;
		x.len = to - from;
		p->cut[p->ncut++] = x;
	}
}

/*
 * What [off, end) cuts out of an interleaved extent: its chunks up to the
 * next stripe boundary as simple extents, whole stripes after it (and a
 * partial last stripe, for a tail) as an interleaved extent, the strips
 * advanced past the stripes kept before it.
 */
static void cut_ileave(struct plan *p, const struct fmap_ileave_ext *ie, __u64 off, __u64 end)
{
	__u64 ie_end = ie->file_off + ie->len;
	__u64 stripe = (__u64)ie->nstrips << ie->chunk_shift;
	__u64 from = off > ie->file_off ? off : ie->file_off, to = end < ie_end ? end : ie_end;
	__u64 rem = (from - ie->file_off) % stripe, pos = from, next = from;
	struct fmap_ileave_ext *t;
	struct fmap_mapping m;
	__u32 s;

	if (rem)
		next = stripe - rem >= to - from ? to : from + (stripe - rem);
	while (pos < next && !fmap_ileave_resolve(ie, pos, &m)) {
		if (m.len > next - pos)
			m.len = next - pos;
		p->cut[p->ncut++] = (struct fmap_simple_ext){
			.file_off = pos, .len = m.len, .dev_off = m.dev_off, .dev = m.dev };
		pos += m.len;
	}
	if (next == to)
		return;
	t = &p->cut_ileave[p->ncut_ileave++];
	*t = *ie;
	t->file_off = next;
	t->len = to - next;
	for (s = 0; s < ie->nstrips; s++)
		t->strips[s].dev_off += (next - ie->file_off) / ie->nstrips;
}

/*
 * What stays of interleaved extent @ie once [off, end) goes, into @keep:
 * the head [file_off, off), the rest [end, its end) with its strips
 * advanced past the stripes before end.  How many (0..2).
 */
static __u32 ileave_keep(const struct fmap_ileave_ext *ie, __u64 off, __u64 end,
			 struct fmap_ileave_ext *keep)
{
	__u64 ie_end = ie->file_off + ie->len;
	__u32 n = 0, s;

	if (ie_end <= off || ie->file_off >= end) {
		keep[0] = *ie;
		return 1;
	}
	if (ie->file_off < off) {
		keep[n] = *ie;
		keep[n++].len = off - ie->file_off;
	}
	if (end < ie_end) {
		keep[n] = *ie;
		keep[n].file_off = end;
		keep[n].len = ie_end - end;
		for (s = 0; s < ie->nstrips; s++)
			keep[n].strips[s].dev_off += (end - ie->file_off) / ie->nstrips;
		n++;
	}
	return n;
}

/*
 * An interleaved extent may lose a tail, go whole, or lose [off, end)
 * with end whole stripes from its start, so that what stays after end is
 * an interleaved extent again.  That last case is there because the
 * namespace merges exact continuations: a log that added an extent in
 * several ALLOCs and punched one of them whole (or the tail of one and
 * the next ones whole) cuts the merged extent at a stripe boundary, and
 * must replay as it did before merging.  At most FMAP_MAX_ILEAVE stay.
 */
static int check_ileave_punch(const struct layout *l, __u64 off, __u64 end, char *msg,
			      size_t msglen)
{
	struct fmap_ileave_ext keep[2];
	__u32 i, n = 0;

	for (i = 0; i < l->nileave; i++) {
		const struct fmap_ileave_ext *ie = &l->ileave[i];
		__u64 ie_end = ie->file_off + ie->len;
		__u64 stripe = (__u64)ie->nstrips << ie->chunk_shift;

		n += ileave_keep(ie, off, end, keep);
		if (ie_end <= off || ie->file_off >= end || ie_end <= end ||
		    !((end - ie->file_off) % stripe))
			continue;
		return fbs_fail(msg, msglen, -EINVAL,
				"punch [%llu, %llu) would cut interleaved extent [%llu, %llu) short of its end, off a stripe boundary",
				(unsigned long long)off, (unsigned long long)end,
				(unsigned long long)ie->file_off, (unsigned long long)ie_end);
	}
	if (n > FMAP_MAX_ILEAVE)
		return fbs_fail(msg, msglen, -EFBIG, "a file has at most %d interleaved extents",
				FMAP_MAX_ILEAVE);
	return 0;
}

static int prepare_punch(struct ns *ns, const struct famfs_mlog_entry *e, struct plan *p,
			 char *msg, size_t msglen)
{
	__u64 off = e->punch.off, end = punch_end(e);
	const struct layout *l;
	int err = file_get(ns, e->punch.ino, &p->inode, msg, msglen);
	__u32 i;

	if (err)
		return err;
	l = &p->inode->file;
	err = check_ileave_punch(l, off, end, msg, msglen);
	if (err)
		return err;
	p->lo = simple_ending_after(l, off);
	p->hi = simple_starting_from(l, p->lo, end);
	/* a hole inside one extent splits it */
	if (p->hi == p->lo + 1 && l->simple[p->lo].file_off < off &&
	    l->simple[p->lo].file_off + l->simple[p->lo].len > end &&
	    l->nsimple >= FMAP_MAX_SIMPLE)
		return fbs_fail(msg, msglen, -EFBIG, "a file has at most %u simple extents",
				FMAP_MAX_SIMPLE);
	if (layout_reserve(&p->inode->file, 1, 1))
		return fbs_fail(msg, msglen, -ENOMEM, "out of memory");
	p->cut = malloc(((size_t)(p->hi - p->lo) + MAX_TAIL_PIECES) * sizeof(*p->cut));
	if (!p->cut)
		return fbs_fail(msg, msglen, -ENOMEM, "out of memory");
	cut_simple(p, l, off, end);
	for (i = 0; i < l->nileave; i++) {
		const struct fmap_ileave_ext *ie = &l->ileave[i];

		if (ie->file_off >= end || ie->file_off + ie->len <= off)
			continue;
		cut_ileave(p, ie, off, end);
	}
	return 0;
}

/* Simple extents [lo, hi) lose [off, end): keep a head and a tail (room reserved). */
static void punch_simple(struct layout *l, __u32 lo, __u32 hi, __u64 off, __u64 end)
{
	struct fmap_simple_ext keep[2];
	__u32 nkeep = 0;

	if (lo == hi)
		return;
	if (l->simple[lo].file_off < off) {
		keep[nkeep] = l->simple[lo];
		keep[nkeep++].len = off - l->simple[lo].file_off;
	}
	if (l->simple[hi - 1].file_off + l->simple[hi - 1].len > end) {
		struct fmap_simple_ext t = l->simple[hi - 1];

		t.len = t.file_off + t.len - end;
		t.dev_off += end - t.file_off;
		t.file_off = end;
		keep[nkeep++] = t;
	}
	memmove(&l->simple[lo + nkeep], &l->simple[hi], (l->nsimple - hi) * sizeof(*l->simple));
	memcpy(&l->simple[lo], keep, nkeep * sizeof(*keep));
	l->nsimple = l->nsimple - (hi - lo) + nkeep;
}

static void commit_punch(struct ns *ns, const struct famfs_mlog_entry *e, struct plan *p)
{
	struct layout *l = &p->inode->file;
	__u64 off = e->punch.off, end = punch_end(e);
	struct fmap_ileave_ext keep[FMAP_MAX_ILEAVE + 2];
	__u32 i, n = 0;

	punch_simple(l, p->lo, p->hi, off, end);
	/* at most FMAP_MAX_ILEAVE stay (check_ileave_punch()), room reserved */
	for (i = 0; i < l->nileave && n <= FMAP_MAX_ILEAVE; i++)
		n += ileave_keep(&l->ileave[i], off, end, &keep[n]);
	if (n)
		memcpy(l->ileave, keep, n * sizeof(*keep));
	l->nileave = n;
	for (i = 0; i < p->ncut; i++)
		l->mapped -= p->cut[i].len;
	for (i = 0; i < p->ncut_ileave; i++)
		l->mapped -= p->cut_ileave[i].len;
	if ((p->ncut || p->ncut_ileave) && ns->ops.release_extents)
		ns->ops.release_extents(ns->ops_ctx, p->inode->ino, p->cut, p->ncut,
					p->cut_ileave, p->ncut_ileave);
}

/*
 * @checked: famfs_mlog_check() passed already (replay decoded the entry);
 * checking it twice was a sixth of replay's time for 100,000 creates.
 */
static int prepare(struct ns *ns, const struct famfs_mlog_entry *e, struct plan *p,
		   bool checked, char *msg, size_t msglen)
{
	int err;

	memset(p, 0, offsetof(struct plan, cut_ileave));
	err = checked ? 0 : famfs_mlog_check(e, msg, msglen);
	if (err)
		return err;
	switch (e->type) {
	case FAMFS_LOG_MKDIR:
	case FAMFS_LOG_CREATE:
	case FAMFS_LOG_SYMLINK:
		return prepare_mknod(ns, e, p, msg, msglen);
	case FAMFS_LOG_ALLOC:
		return prepare_alloc(ns, e, p, msg, msglen);
	case FAMFS_LOG_PUNCH:
		return prepare_punch(ns, e, p, msg, msglen);
	case FAMFS_LOG_SETATTR:
		return prepare_setattr(ns, e, p, msg, msglen);
	case FAMFS_LOG_RENAME:
		return prepare_rename(ns, e, p, msg, msglen);
	case FAMFS_LOG_DELETE:
		return prepare_delete(ns, e, p, msg, msglen);
	case FAMFS_LOG_DEVADD:
		return 0;
	case FAMFS_LOG_STRIPE:
		return prepare_stripe(ns, e, p, msg, msglen);
	case FAMFS_LOG_CLASS:
		return prepare_class(ns, e, p, msg, msglen);
	case FAMFS_LOG_LINK:
		return prepare_link(ns, e, p, msg, msglen);
	case FAMFS_LOG_CKPT:
		return 0;
	case FAMFS_LOG_XATTR:
		return prepare_xattr(ns, e, p, msg, msglen);
	}
	return fbs_fail(msg, msglen, -EINVAL, "entry type %u", (unsigned int)e->type);
}

static void commit(struct ns *ns, const struct famfs_mlog_entry *e, struct plan *p)
{
	switch (e->type) {
	case FAMFS_LOG_MKDIR:
	case FAMFS_LOG_CREATE:
	case FAMFS_LOG_SYMLINK:
		commit_mknod(ns, e, p);
		break;
	case FAMFS_LOG_ALLOC:
		layout_add(&p->inode->file, e, p->ileave, p->nileave);
		break;
	case FAMFS_LOG_PUNCH:
		commit_punch(ns, e, p);
		break;
	case FAMFS_LOG_SETATTR:
		commit_setattr(e, p);
		break;
	case FAMFS_LOG_RENAME:
		commit_rename(ns, e, p);
		break;
	case FAMFS_LOG_DELETE:
		commit_delete(ns, p);
		break;
	case FAMFS_LOG_DEVADD:
		break;
	case FAMFS_LOG_STRIPE:
		commit_stripe(e, p);
		break;
	case FAMFS_LOG_CLASS:
		p->inode->kind = (__u8)e->klass.kind;
		break;
	case FAMFS_LOG_LINK:
		commit_link(ns, p);
		break;
	case FAMFS_LOG_CKPT:
		/* inodes that went before the checkpoint keep their numbers */
		if (e->ckpt.max_ino > ns->st.max_ino)
			ns->st.max_ino = e->ckpt.max_ino;
		break;
	case FAMFS_LOG_XATTR:
		commit_xattr(p);
		break;
	}
	if (e->seq)
		ns->next_seq = e->seq + 1;
	plan_discard(p);	/* what was not used */
}

/* -------------------------------------------------------------------- */
/* Replay and ns_apply() */

static int apply(struct ns *ns, const struct famfs_mlog_entry *e, bool checked, char *msg,
		 size_t msglen)
{
	struct plan p;
	int err;

	pthread_rwlock_wrlock(&ns->lock);
	err = prepare(ns, e, &p, checked, msg, msglen);
	if (err)
		plan_discard(&p);
	else
		commit(ns, e, &p);
	pthread_rwlock_unlock(&ns->lock);
	return err;
}

int ns_apply(struct ns *ns, const struct famfs_mlog_entry *e, char *msg, size_t msglen)
{
	return apply(ns, e, false, msg, msglen);
}

static int mlog_apply(struct ns *ns, const struct famfs_mlog_entry *e, bool checked)
{
	int err = apply(ns, e, checked, ns->refusal, sizeof(ns->refusal));

	if (!err)
		return 0;
	ns->refused = true;
	ns->refused_off = e->log_off;
	ns->refused_seq = e->seq;
	ns->refused_type = e->type;
	/* the log breaks a rule: corrupt, whichever rule it is */
	return err == -ENOMEM ? err : -EINVAL;
}

int ns_mlog_apply(void *ctx, const struct famfs_mlog_entry *e)
{
	return mlog_apply(ctx, e, false);
}

/* famfs_mlog_replay() hands over only entries its decoder checked. */
static int replay_apply(void *ctx, const struct famfs_mlog_entry *e)
{
	struct ns *ns = ctx;

	if (ns->ops.replay_progress && !(++ns->replayed % NS_REPLAY_PROGRESS))
		ns->ops.replay_progress(ns->ops_ctx, ns->replayed,
					ns->replay_hint > ns->replayed ? ns->replay_hint :
									 ns->replayed);
	return mlog_apply(ctx, e, true);
}

const char *ns_refusal(const struct ns *ns)
{
	return ns->refusal;
}

void ns_set_next_seq(struct ns *ns, __u64 seq)
{
	pthread_rwlock_wrlock(&ns->lock);
	ns->next_seq = seq;
	pthread_rwlock_unlock(&ns->lock);
}

int ns_replay(struct ns *ns, const void *log, size_t len,
	      const __u8 uuid[FAMFS_UUID_SIZE], struct famfs_mlog_devtab *devs,
	      struct famfs_mlog_result *res)
{
	const struct famfs_mlog_ops ops = { .apply = replay_apply };
	size_t hint = famfs_mlog_count_hint(log, len);

	/*
	 * Buckets for every entry up front, not doubled 17 times on the way to
	 * 100,000 files (each doubling moves every node).  A hint only: a
	 * failure here is not one, the tables still grow as entries come.
	 */
	htab_reserve(&ns->inodes, hint);
	htab_reserve(&ns->names, hint);
	ns->refused = false;
	ns->refusal[0] = '\0';
	ns->replayed = 0;
	ns->replay_hint = hint;
	famfs_mlog_replay(log, len, uuid, devs, &ops, ns, res);
	if (ns->ops.replay_progress)
		ns->ops.replay_progress(ns->ops_ctx, res->entries, res->entries);
	/* replay stops at the refused entry: it is the last one applied */
	if (res->err && ns->refused)
		fbs_fail(res->msg, sizeof(res->msg), res->err,
			 "log offset %llu (entry %llu, %s): %s",
			 (unsigned long long)ns->refused_off, (unsigned long long)ns->refused_seq,
			 famfs_mlog_type_name(ns->refused_type), ns->refusal);
	if (res->next_seq)
		ns_set_next_seq(ns, res->next_seq);
	return res->err;
}

/* -------------------------------------------------------------------- */
/* Live operations: build an entry, check it, journal it, apply it */

static struct famfs_mlog_time now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (struct famfs_mlog_time){ .sec = ts.tv_sec, .nsec = (__u32)ts.tv_nsec };
}

static int check_name(const char *name)
{
	size_t n = strnlen(name, FAMFS_NAME_MAX + 1);

	if (n > FAMFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (!n || memchr(name, '/', n) || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	return 0;
}

/*
 * Under the write lock.  An orphan's changes are not journaled: the log
 * deleted it already, and a replay must not meet its number again.
 */
static int run(struct ns *ns, const struct ns_journal *j, struct famfs_mlog_entry *e,
	       bool journal)
{
	struct plan p;
	int err;

	e->seq = journal ? ns->next_seq : 0;
	err = prepare(ns, e, &p, false, NULL, 0);
	if (!err && journal && j)
		err = j->append(j->ctx, e);
	if (err) {
		plan_discard(&p);
		return err;
	}
	commit(ns, e, &p);
	return 0;
}

/*
 * A setgid directory gives its group to what is made in it, and its setgid
 * bit to new subdirectories, as local file systems do (inode_init_owner()).
 * Applied before the entry is journaled, so replay needs no rule of its
 * own.  The VFS has already cleared S_ISGID on a new file whose creator is
 * not in its group.  Called with ns->lock held for writing.
 */
static void setgid_inherit(struct ns *ns, __u64 parent, enum famfs_log_type type,
			   struct famfs_mlog_entry *e)
{
	struct inode *dir = inode_get(ns, parent);

	if (!dir || !is_dir(dir) || !(dir->mode & S_ISGID))
		return;
	e->mknod.gid = dir->gid;
	if (type == FAMFS_LOG_MKDIR)
		e->mknod.mode |= S_ISGID;
}

static int new_inode(struct ns *ns, const struct ns_journal *j, enum famfs_log_type type,
		     __u64 parent, const char *name, const char *target,
		     const struct ns_cred *cred, __u64 *ino)
{
	struct famfs_mlog_entry e;
	int err = check_name(name);

	if (err)
		return err;
	famfs_mlog_entry_init(&e);
	if (target) {
		e.mknod.size = strnlen(target, FAMFS_SYMLINK_MAX + 1);
		if (!e.mknod.size)
			return -ENOENT;
		if (e.mknod.size > FAMFS_SYMLINK_MAX)
			return -ENAMETOOLONG;
		memcpy(e.target, target, e.mknod.size);
	}
	e.type = type;
	e.mknod.parent = parent;
	e.mknod.time = now();
	e.mknod.mode = cred->mode & 07777;
	e.mknod.uid = cred->uid;
	e.mknod.gid = cred->gid;
	strcpy(e.name, name);
	pthread_rwlock_wrlock(&ns->lock);
	setgid_inherit(ns, parent, type, &e);
	e.mknod.ino = ns->st.max_ino + 1;
	err = e.mknod.ino ? run(ns, j, &e, true) : -ENOSPC;
	pthread_rwlock_unlock(&ns->lock);
	if (!err && ino)
		*ino = e.mknod.ino;
	return err;
}

int ns_mkdir(struct ns *ns, const struct ns_journal *j, __u64 parent,
	     const char *name, const struct ns_cred *cred, __u64 *ino)
{
	return new_inode(ns, j, FAMFS_LOG_MKDIR, parent, name, NULL, cred, ino);
}

int ns_create(struct ns *ns, const struct ns_journal *j, __u64 parent,
	      const char *name, const struct ns_cred *cred, __u64 *ino)
{
	return new_inode(ns, j, FAMFS_LOG_CREATE, parent, name, NULL, cred, ino);
}

int ns_symlink(struct ns *ns, const struct ns_journal *j, __u64 parent,
	       const char *name, const char *target, const struct ns_cred *cred,
	       __u64 *ino)
{
	return new_inode(ns, j, FAMFS_LOG_SYMLINK, parent, name, target, cred, ino);
}

/* The inode @name in @parent names, with the errors a live caller expects. */
static int find_name(struct ns *ns, __u64 parent, const char *name, __u64 *ino)
{
	struct inode *dir;
	struct dentry *d;
	int err = dir_get(ns, parent, &dir, NULL, 0);

	if (err)
		return err;
	d = dentry_find(ns, parent, name);
	if (!d)
		return -ENOENT;
	*ino = d->ino;
	return 0;
}

static int remove_name(struct ns *ns, const struct ns_journal *j, __u64 parent,
		       const char *name, bool rmdir)
{
	struct famfs_mlog_entry e;
	int err = check_name(name);

	if (err)
		return err;
	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_DELETE;
	e.del.parent = parent;
	e.del.flags = rmdir ? FAMFS_DELETE_DIR : 0;
	strcpy(e.name, name);
	pthread_rwlock_wrlock(&ns->lock);
	err = find_name(ns, parent, name, &e.del.ino);
	if (!err)
		err = run(ns, j, &e, true);
	pthread_rwlock_unlock(&ns->lock);
	return err;
}

int ns_unlink(struct ns *ns, const struct ns_journal *j, __u64 parent, const char *name)
{
	return remove_name(ns, j, parent, name, false);
}

int ns_rmdir(struct ns *ns, const struct ns_journal *j, __u64 parent, const char *name)
{
	return remove_name(ns, j, parent, name, true);
}

static int rename_locked(struct ns *ns, const struct ns_journal *j,
			 struct famfs_mlog_entry *e, unsigned int flags)
{
	__u64 other;
	int err = find_name(ns, e->rename.old_parent, e->name, &e->rename.ino);

	if (err)
		return err;
	err = find_name(ns, e->rename.new_parent, e->new_name, &other);
	if (err && err != -ENOENT)
		return err;
	if (!err && (flags & NS_RENAME_NOREPLACE))
		return -EEXIST;
	if (!err && other == e->rename.ino)
		return 0;	/* rename(2) of a name to itself */
	return run(ns, j, e, true);
}

int ns_rename(struct ns *ns, const struct ns_journal *j, __u64 old_parent,
	      const char *old_name, __u64 new_parent, const char *new_name,
	      unsigned int flags)
{
	struct famfs_mlog_entry e;
	int err;

	if (flags & ~(NS_RENAME_NOREPLACE | NS_RENAME_EXCHANGE) ||
	    flags == (NS_RENAME_NOREPLACE | NS_RENAME_EXCHANGE))
		return -EINVAL;
	err = check_name(old_name);
	if (!err)
		err = check_name(new_name);
	if (err)
		return err;
	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_RENAME;
	e.rename.old_parent = old_parent;
	e.rename.new_parent = new_parent;
	e.rename.flags = flags & NS_RENAME_EXCHANGE ? FAMFS_RENAME_EXCHANGE : 0;
	strcpy(e.name, old_name);
	strcpy(e.new_name, new_name);
	pthread_rwlock_wrlock(&ns->lock);
	err = rename_locked(ns, j, &e, flags);
	pthread_rwlock_unlock(&ns->lock);
	return err;
}

void ns_tmpfile_kind(struct ns *ns, __u64 ino, __u32 kind)
{
	struct inode *in;

	pthread_rwlock_wrlock(&ns->lock);
	in = inode_get(ns, ino);
	if (in && in->unnamed && !in->kind)
		in->kind = (__u8)kind;
	pthread_rwlock_unlock(&ns->lock);
}

int ns_tmpfile(struct ns *ns, __u64 parent, const struct ns_cred *cred, __u64 *ino)
{
	struct famfs_mlog_entry e;
	struct inode *dir, *in = NULL;
	int err;

	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_CREATE;
	e.mknod.parent = parent;
	e.mknod.time = now();
	e.mknod.mode = cred->mode & 07777;
	e.mknod.uid = cred->uid;
	e.mknod.gid = cred->gid;
	pthread_rwlock_wrlock(&ns->lock);
	err = dir_get(ns, parent, &dir, NULL, 0);
	if (!err) {
		setgid_inherit(ns, parent, FAMFS_LOG_CREATE, &e);
		e.mknod.ino = ns->st.max_ino + 1;
		/* never journaled: the kernel knows it by (ino, generation) */
		e.seq = ns->next_seq;
		err = e.mknod.ino ? 0 : -ENOSPC;
	}
	if (!err && (htab_reserve(&ns->inodes, 1) || !(in = inode_alloc(ns, &e))))
		err = -ENOMEM;
	if (!err) {
		in->nlink = 0;
		in->open_refs = 1;
		in->unnamed = true;
		if (dir->has_stripe && dir->nstrips) {
			in->has_stripe = true;
			in->nstrips = dir->nstrips;
			in->chunk_shift = dir->chunk_shift;
		}
		in->kind = dir->kind;
		htab_add(&ns->inodes, &in->node, ino_hash(in->ino));
		stat_count(ns, in->mode, 1);
		ns->st.orphans++;
		/* a number of its own: the next create must not take it */
		ns->st.max_ino = in->ino;
		*ino = in->ino;
	}
	pthread_rwlock_unlock(&ns->lock);
	return err;
}

/*
 * The entries that give orphan @in a name, in order: a CREATE with its
 * attributes and as many extents as one entry holds (with its size if
 * that is all), ALLOCs for the rest, then a SETATTR for its atime and
 * mtime (and the size after ALLOCs), and a STRIPE if the new directory's
 * default is not the file's policy.  @fn gets each; a nonzero return
 * stops.  Under the lock.
 */
static int orphan_entries(struct ns *ns, const struct inode *in, const struct inode *dir,
			  __u64 parent, const char *name,
			  int (*fn)(struct ns *ns, void *ctx, struct famfs_mlog_entry *e),
			  void *ctx)
{
	const struct layout *l = &in->file;
	__u32 first = l->nsimple < FAMFS_LOG_MAX_SIMPLE ? l->nsimple : FAMFS_LOG_MAX_SIMPLE;
	bool split = first < l->nsimple;
	bool dir_stripe = dir->has_stripe && dir->nstrips;
	struct famfs_mlog_entry e;
	__u32 off, n;
	int err;

	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_CREATE;
	e.mknod.parent = parent;
	e.mknod.ino = in->ino;
	/* a crash between the entries leaves a file no longer than its extents */
	e.mknod.size = split ? 0 : in->size;
	e.mknod.time = now();	/* the link's: ctime, and the directory's times */
	e.mknod.mode = in->mode & 07777;
	e.mknod.uid = in->uid;
	e.mknod.gid = in->gid;
	strcpy(e.name, name);
	/* entries are only read: the casts lend them the layout's arrays */
	e.nsimple = first;
	e.simple = (struct fmap_simple_ext *)l->simple;
	e.nileave = l->nileave;
	e.ileave = (struct fmap_ileave_ext *)l->ileave;
	err = fn(ns, ctx, &e);
	for (off = first; !err && off < l->nsimple; off += n) {
		n = l->nsimple - off < FAMFS_LOG_MAX_SIMPLE ? l->nsimple - off :
							       FAMFS_LOG_MAX_SIMPLE;
		famfs_mlog_entry_init(&e);
		e.type = FAMFS_LOG_ALLOC;
		e.alloc.ino = in->ino;
		e.nsimple = n;
		e.simple = (struct fmap_simple_ext *)l->simple + off;
		err = fn(ns, ctx, &e);
	}
	if (!err) {
		/* the file's own atime and mtime; a split file's size last */
		famfs_mlog_entry_init(&e);
		e.type = FAMFS_LOG_SETATTR;
		e.setattr.ino = in->ino;
		e.setattr.valid = FAMFS_SETATTR_ATIME | FAMFS_SETATTR_MTIME;
		e.setattr.atime = in->atime;
		e.setattr.mtime = in->mtime;
		if (split) {
			e.setattr.valid |= FAMFS_SETATTR_SIZE;
			e.setattr.size = in->size;
		}
		err = fn(ns, ctx, &e);
	}
	if (!err && (in->has_stripe != dir_stripe ||
		     (dir_stripe && (in->nstrips != dir->nstrips ||
				     in->chunk_shift != dir->chunk_shift)))) {
		famfs_mlog_entry_init(&e);
		e.type = FAMFS_LOG_STRIPE;
		e.stripe.ino = in->ino;
		e.stripe.nstrips = in->has_stripe ? in->nstrips : 0;
		e.stripe.chunk_shift = in->has_stripe ? in->chunk_shift : 0;
		err = fn(ns, ctx, &e);
	}
	/* replay gives the file the new directory's class: keep its own */
	if (!err && in->kind && in->kind != dir->kind) {
		famfs_mlog_entry_init(&e);
		e.type = FAMFS_LOG_CLASS;
		e.klass.ino = in->ino;
		e.klass.kind = in->kind;
		err = fn(ns, ctx, &e);
	}
	return err;
}

static int entry_bytes(struct ns *ns, void *ctx, struct famfs_mlog_entry *e)
{
	ssize_t n = famfs_mlog_entry_size(e);

	(void)ns;
	if (n < 0)
		return (int)n;
	*(size_t *)ctx += n;
	return 0;
}

struct orphan_link {
	const struct ns_journal *j;
	struct inode *orphan;
	int step;
};

/*
 * The CREATE makes the inode anew from the entry, with every check a
 * replay makes; the orphan steps out of the table meanwhile, and gives
 * the new inode what the kernel knows it by.  The later entries are
 * journaled as usual; should one fail, it still applies in memory, so
 * that the file keeps its extents until the next mount.
 */
static int orphan_step(struct ns *ns, void *ctx, struct famfs_mlog_entry *e)
{
	struct orphan_link *ol = ctx;
	struct inode *in = ol->orphan, *nin;
	int err;

	if (ol->step++) {
		err = run(ns, ol->j, e, true);
		if (err)
			run(ns, ol->j, e, false);
		return err;
	}
	htab_del(&ns->inodes, &in->node);
	err = run(ns, ol->j, e, true);
	if (err) {
		htab_add(&ns->inodes, &in->node, ino_hash(in->ino));
		return err;
	}
	nin = inode_get(ns, in->ino);
	nin->open_refs = in->open_refs;
	nin->generation = in->generation;
	nin->has_stripe = in->has_stripe;
	nin->nstrips = in->nstrips;
	nin->chunk_shift = in->chunk_shift;
	nin->kind = in->kind;
	/* one inode for two in the counts: commit_mknod counted the new one */
	stat_count(ns, in->mode, -1);
	ns->st.orphans--;
	return 0;
}

/* @ino, @dir under the lock: the orphan a link names, or NULL. */
static struct inode *link_orphan_of(struct ns *ns, __u64 ino, __u64 parent,
				    struct inode **dir, int *err)
{
	struct inode *in = inode_get(ns, ino);

	*err = 0;
	/*
	 * An unlinked file's DELETE is in the log, which a follower may hold
	 * open still: a CREATE of its number would trip the follower.
	 */
	if (!in || !in->unnamed)
		return NULL;
	*err = dir_get(ns, parent, dir, NULL, 0);
	return *err ? NULL : in;
}

ssize_t ns_link_room(struct ns *ns, __u64 ino, __u64 new_parent, const char *new_name)
{
	struct inode *in, *dir;
	size_t bytes = 0;
	int err = check_name(new_name);

	if (err)
		return err;
	pthread_rwlock_rdlock(&ns->lock);
	in = link_orphan_of(ns, ino, new_parent, &dir, &err);
	if (in)
		err = orphan_entries(ns, in, dir, new_parent, new_name, entry_bytes, &bytes);
	pthread_rwlock_unlock(&ns->lock);
	return err ? err : (ssize_t)bytes;
}

int ns_link(struct ns *ns, const struct ns_journal *j, __u64 ino, __u64 new_parent,
	    const char *new_name)
{
	struct famfs_mlog_entry e;
	struct orphan_link ol = { .j = j };
	struct inode *dir;
	int err = check_name(new_name);

	if (err)
		return err;
	if (ino == FAMFS_ROOT_INO)
		return -EPERM;		/* a directory: the entry could not even say it */
	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_LINK;
	e.link.parent = new_parent;
	e.link.ino = ino;
	strcpy(e.name, new_name);
	pthread_rwlock_wrlock(&ns->lock);
	ol.orphan = link_orphan_of(ns, ino, new_parent, &dir, &err);
	if (ol.orphan) {
		if (dentry_find(ns, new_parent, new_name))
			err = -EEXIST;
		else
			err = orphan_entries(ns, ol.orphan, dir, new_parent, new_name,
					     orphan_step, &ol);
		/* once the CREATE took: the new inode has the extents, a copy */
		if (ol.step && !(err && ol.step == 1))
			inode_free(ol.orphan);
	} else if (!err) {
		err = run(ns, j, &e, true);
	}
	pthread_rwlock_unlock(&ns->lock);
	return err;
}

/* Run @e on existing inode @ino: journaled unless it is an orphan. */
static int change_inode(struct ns *ns, const struct ns_journal *j, __u64 ino,
			struct famfs_mlog_entry *e)
{
	struct inode *in;
	int err;

	pthread_rwlock_wrlock(&ns->lock);
	in = inode_get(ns, ino);
	err = in ? run(ns, j, e, in->nlink > 0) : -ENOENT;
	pthread_rwlock_unlock(&ns->lock);
	return err;
}

int ns_setattr(struct ns *ns, const struct ns_journal *j, __u64 ino,
	       const struct ns_setattr *sa)
{
	const __u32 changes = FAMFS_SETATTR_SIZE | FAMFS_SETATTR_MODE |
			      FAMFS_SETATTR_UID | FAMFS_SETATTR_GID;
	struct famfs_mlog_entry e;
	__u32 v = sa->valid;

	if (v & ~FAMFS_SETATTR_ALL)
		return -EINVAL;
	if (!v)
		return 0;
	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_SETATTR;
	e.setattr.ino = ino;
	e.setattr.valid = v;
	/* only what valid names, so that the entry has one encoding */
	e.setattr.size = v & FAMFS_SETATTR_SIZE ? sa->size : 0;
	e.setattr.mode = v & FAMFS_SETATTR_MODE ? sa->mode & 07777 : 0;
	e.setattr.uid = v & FAMFS_SETATTR_UID ? sa->uid : 0;
	e.setattr.gid = v & FAMFS_SETATTR_GID ? sa->gid : 0;
	if (v & FAMFS_SETATTR_ATIME)
		e.setattr.atime = sa->atime;
	if (v & FAMFS_SETATTR_MTIME)
		e.setattr.mtime = sa->mtime;
	if (v & FAMFS_SETATTR_CTIME)
		e.setattr.ctime = sa->ctime;
	else if (v & changes) {
		e.setattr.valid |= FAMFS_SETATTR_CTIME;
		e.setattr.ctime = now();
	}
	return change_inode(ns, j, ino, &e);
}

int ns_set_size_mem(struct ns *ns, __u64 ino, __u64 size)
{
	struct famfs_mlog_entry e;
	struct inode *in;
	int err;

	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_SETATTR;
	e.setattr.ino = ino;
	e.setattr.valid = FAMFS_SETATTR_SIZE;
	e.setattr.size = size;
	pthread_rwlock_wrlock(&ns->lock);
	in = inode_get(ns, ino);
	/* never journaled: seq 0, so next_seq stays the journal's */
	err = in ? run(ns, NULL, &e, false) : -ENOENT;
	pthread_rwlock_unlock(&ns->lock);
	return err;
}

int ns_alloc(struct ns *ns, const struct ns_journal *j, __u64 ino,
	     const struct fmap_simple_ext *simple, __u32 nsimple,
	     const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	struct famfs_mlog_entry e;

	if (nsimple > FAMFS_LOG_MAX_SIMPLE || nileave > FAMFS_LOG_MAX_ILEAVE)
		return -E2BIG;
	if (!nsimple && !nileave)
		return 0;
	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_ALLOC;
	e.alloc.ino = ino;
	e.nsimple = nsimple;
	e.nileave = nileave;
	/* the entry is only read: the casts lend it the caller's arrays */
	e.simple = (struct fmap_simple_ext *)simple;
	e.ileave = (struct fmap_ileave_ext *)ileave;
	return change_inode(ns, j, ino, &e);
}

int ns_set_stripe(struct ns *ns, const struct ns_journal *j, __u64 ino, __u32 nstrips,
		  __u32 chunk_shift)
{
	struct famfs_mlog_entry e;

	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_STRIPE;
	e.stripe.ino = ino;
	e.stripe.nstrips = nstrips;
	e.stripe.chunk_shift = chunk_shift;
	return change_inode(ns, j, ino, &e);
}

int ns_set_class(struct ns *ns, const struct ns_journal *j, __u64 ino, __u32 kind)
{
	struct famfs_mlog_entry e;

	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_CLASS;
	e.klass.ino = ino;
	e.klass.kind = kind;
	return change_inode(ns, j, ino, &e);
}

int ns_xattr_set(struct ns *ns, const struct ns_journal *j, __u64 ino, const char *name,
		 const void *value, size_t size, unsigned int flags)
{
	struct famfs_mlog_entry e;
	struct inode *in;
	ssize_t have;
	int err = famfs_mlog_xattr_name_check(name, NULL, 0);

	if (err)
		return err;
	if (flags & ~(NS_XATTR_CREATE | NS_XATTR_REPLACE))
		return -EINVAL;
	if (size > FAMFS_XATTR_VALUE_MAX)
		return -ENOSPC;		/* ext4's answer for a value no block holds */
	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_XATTR;
	e.xattr.ino = ino;
	e.xattr.value_len = (__u32)size;
	/* the entry is only read: the cast lends it the caller's value */
	e.value = (__u8 *)value;
	strcpy(e.name, name);
	pthread_rwlock_wrlock(&ns->lock);
	in = inode_get(ns, ino);
	have = in ? xattr_find(in, name, NULL, 0) : -ENOENT;
	if (have == -ENOENT)
		err = -ENOENT;
	else if ((flags & NS_XATTR_CREATE) && have >= 0)
		err = -EEXIST;
	else if ((flags & NS_XATTR_REPLACE) && have < 0)
		err = -ENODATA;
	else
		err = run(ns, j, &e, in->nlink > 0);
	pthread_rwlock_unlock(&ns->lock);
	return err;
}

int ns_xattr_remove(struct ns *ns, const struct ns_journal *j, __u64 ino, const char *name)
{
	struct famfs_mlog_entry e;
	int err = famfs_mlog_xattr_name_check(name, NULL, 0);

	if (err)
		return err;
	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_XATTR;
	e.xattr.ino = ino;
	e.xattr.flags = FAMFS_XATTR_F_REMOVE;
	strcpy(e.name, name);
	return change_inode(ns, j, ino, &e);
}

int ns_punch(struct ns *ns, const struct ns_journal *j, __u64 ino, __u64 off, __u64 len)
{
	struct famfs_mlog_entry e;

	if (!len)
		return 0;
	famfs_mlog_entry_init(&e);
	e.type = FAMFS_LOG_PUNCH;
	e.punch.ino = ino;
	e.punch.off = off;
	e.punch.len = len;
	return change_inode(ns, j, ino, &e);
}

/* -------------------------------------------------------------------- */
/* Open references */

void ns_adopt(struct ns *ns, struct ns *from)
{
	struct ns tmp;
	size_t b;

	pthread_rwlock_wrlock(&ns->lock);
	for (b = 0; b <= from->inodes.mask; b++) {
		struct hnode *x;

		for (x = from->inodes.buckets[b]; x; x = x->next) {
			struct inode *in = container_of(x, struct inode, node);
			struct inode *old = inode_get(ns, in->ino);

			if (old) {
				in->open_refs = old->open_refs;
				in->generation = old->generation;
			}
		}
	}
	tmp = *ns;
	ns->pool = from->pool;
	ns->inodes = from->inodes;
	ns->names = from->names;
	ns->st = from->st;
	ns->next_seq = from->next_seq;
	from->pool = tmp.pool;
	from->inodes = tmp.inodes;
	from->names = tmp.names;
	from->st = tmp.st;
	from->next_seq = tmp.next_seq;
	pthread_rwlock_unlock(&ns->lock);
}

int ns_open_ref(struct ns *ns, __u64 ino)
{
	struct inode *in;
	int err = 0;

	pthread_rwlock_wrlock(&ns->lock);
	in = inode_get(ns, ino);
	if (in)
		in->open_refs++;
	else
		err = -ENOENT;
	pthread_rwlock_unlock(&ns->lock);
	return err;
}

int ns_open_unref(struct ns *ns, __u64 ino)
{
	struct inode *in;
	int err = 0;

	pthread_rwlock_wrlock(&ns->lock);
	in = inode_get(ns, ino);
	if (!in) {
		err = -ENOENT;
	} else if (!in->open_refs) {
		err = -EINVAL;		/* more unrefs than refs */
	} else if (!--in->open_refs && !in->nlink) {
		ns->st.orphans--;
		inode_destroy(ns, in);
	}
	pthread_rwlock_unlock(&ns->lock);
	return err;
}

/* -------------------------------------------------------------------- */
/* Queries */

static void fill_attr(const struct inode *in, struct ns_attr *a)
{
	*a = (struct ns_attr){
		.ino = in->ino,
		.generation = in->generation,
		.mode = in->mode,
		.uid = in->uid,
		.gid = in->gid,
		.nlink = in->nlink,
		.size = in->size,
		.mapped = is_reg(in) ? in->file.mapped : 0,
		.atime = in->atime,
		.mtime = in->mtime,
		.ctime = in->ctime,
		.has_stripe = in->has_stripe,
		.nstrips = in->nstrips,
		.chunk_shift = in->chunk_shift,
		.kind = in->kind,
	};
}

int ns_lookup(struct ns *ns, __u64 parent, const char *name, __u64 *ino)
{
	struct inode *dir;
	int err;

	pthread_rwlock_rdlock(&ns->lock);
	err = dir_get(ns, parent, &dir, NULL, 0);
	if (!err && !strcmp(name, "."))
		*ino = parent;
	else if (!err && !strcmp(name, ".."))
		*ino = dir->ino == FAMFS_ROOT_INO ? FAMFS_ROOT_INO : dir->parent;
	else if (!err)
		err = find_name(ns, parent, name, ino);
	pthread_rwlock_unlock(&ns->lock);
	return err;
}

int ns_getattr(struct ns *ns, __u64 ino, struct ns_attr *attr)
{
	struct inode *in;

	pthread_rwlock_rdlock(&ns->lock);
	in = inode_get(ns, ino);
	if (in)
		fill_attr(in, attr);
	pthread_rwlock_unlock(&ns->lock);
	return in ? 0 : -ENOENT;
}

ssize_t ns_readlink(struct ns *ns, __u64 ino, char *buf, size_t size)
{
	struct inode *in;
	ssize_t ret;

	pthread_rwlock_rdlock(&ns->lock);
	in = inode_get(ns, ino);
	if (!in) {
		ret = -ENOENT;
	} else if (!S_ISLNK(in->mode)) {
		ret = -EINVAL;
	} else {
		ret = (ssize_t)strlen(in->target);
		memcpy(buf, in->target, (size_t)ret < size ? (size_t)ret + 1 : size);
	}
	pthread_rwlock_unlock(&ns->lock);
	return ret;
}

static int readdir_locked(struct ns *ns, const struct inode *dir, __u64 cookie,
			  int (*fill)(void *ctx, const struct ns_dirent *d), void *ctx)
{
	const struct dir *dd = &dir->dir;
	const struct inode *parent;
	struct ns_dirent de;
	size_t i;

	de = (struct ns_dirent){ ".", dir->ino, dir->mode, COOKIE_DOT };
	if (cookie < COOKIE_DOT && fill(ctx, &de))
		return 0;
	parent = inode_get(ns, dir->parent);
	de = (struct ns_dirent){ "..", dir->parent, parent ? parent->mode : S_IFDIR,
				 COOKIE_DOTDOT };
	if (cookie < COOKIE_DOTDOT && fill(ctx, &de))
		return 0;
	for (i = dir_seek(dd, cookie); i < dd->nslots; i++) {
		const struct dentry *d = dd->slots[i].d;
		const struct inode *in;

		if (!d)
			continue;
		in = inode_get(ns, d->ino);
		de = (struct ns_dirent){ d->name, d->ino, in ? in->mode : 0, d->cookie };
		if (fill(ctx, &de))
			break;
	}
	return 0;
}

int ns_readdir(struct ns *ns, __u64 dir, __u64 cookie,
	       int (*fill)(void *ctx, const struct ns_dirent *d), void *ctx)
{
	struct inode *in;
	int err = 0;

	pthread_rwlock_rdlock(&ns->lock);
	in = inode_get(ns, dir);
	if (!in)
		err = -ENOENT;
	else if (!is_dir(in))
		err = -ENOTDIR;
	else
		err = readdir_locked(ns, in, cookie, fill, ctx);
	pthread_rwlock_unlock(&ns->lock);
	return err;
}

void ns_statfs(struct ns *ns, struct ns_statfs *st)
{
	pthread_rwlock_rdlock(&ns->lock);
	*st = ns->st;
	pthread_rwlock_unlock(&ns->lock);
}

/* Call @fn for every inode until it returns nonzero; under the lock. */
static int each_inode(struct ns *ns, int (*fn)(void *ctx, struct inode *in), void *ctx)
{
	size_t b;
	int ret = 0;

	for (b = 0; b <= ns->inodes.mask && !ret; b++) {
		struct hnode *x;

		for (x = ns->inodes.buckets[b]; x && !ret; x = x->next)
			ret = fn(ctx, container_of(x, struct inode, node));
	}
	return ret;
}

struct inode_walk {
	int (*attr_fn)(void *ctx, const struct ns_attr *a);
	ns_layout_fn layout_fn;
	void *ctx;
};

static int walk_attr(void *ctx, struct inode *in)
{
	struct inode_walk *w = ctx;
	struct ns_attr a;

	fill_attr(in, &a);
	return w->attr_fn(w->ctx, &a);
}

static int walk_layout(void *ctx, struct inode *in)
{
	struct inode_walk *w = ctx;
	const struct layout *l = &in->file;

	if (!is_reg(in))
		return 0;
	return w->layout_fn(w->ctx, in->ino, l->simple, l->nsimple, l->ileave, l->nileave);
}

int ns_foreach_inode(struct ns *ns, int (*fn)(void *ctx, const struct ns_attr *a),
		     void *ctx)
{
	struct inode_walk w = { .attr_fn = fn, .ctx = ctx };
	int ret;

	pthread_rwlock_rdlock(&ns->lock);
	ret = each_inode(ns, walk_attr, &w);
	pthread_rwlock_unlock(&ns->lock);
	return ret;
}

ssize_t ns_xattr_get(struct ns *ns, __u64 ino, const char *name, void *buf, size_t size)
{
	struct inode *in;
	ssize_t ret;

	pthread_rwlock_rdlock(&ns->lock);
	in = inode_get(ns, ino);
	ret = in ? xattr_find(in, name, buf, size) : -ENOENT;
	pthread_rwlock_unlock(&ns->lock);
	return ret;
}

ssize_t ns_xattr_list(struct ns *ns, __u64 ino, char *buf, size_t size)
{
	const struct xattr *x;
	struct inode *in;
	size_t len = 0;
	ssize_t ret;

	pthread_rwlock_rdlock(&ns->lock);
	in = inode_get(ns, ino);
	if (in)
		for (x = in->xattrs; x; x = x->next)
			len += x->name_len + 1;
	ret = !in ? -ENOENT : !size ? (ssize_t)len : size < len ? -ERANGE : (ssize_t)len;
	if (in && size && size >= len)
		for (x = in->xattrs, len = 0; x; x = x->next) {
			memcpy(buf + len, x->data, x->name_len + 1);
			len += x->name_len + 1;
		}
	pthread_rwlock_unlock(&ns->lock);
	return ret;
}

struct xattr_walk {
	ns_xattr_fn fn;
	void *ctx;
};

static int walk_xattr(void *ctx, struct inode *in)
{
	struct xattr_walk *w = ctx;
	const struct xattr *x;
	int ret = 0;

	if (!in->nlink)
		return 0;	/* an orphan: the log knows it no more */
	for (x = in->xattrs; x && !ret; x = x->next)
		ret = w->fn(w->ctx, in->ino, x->data, x->data + x->name_len + 1, x->value_len);
	return ret;
}

int ns_foreach_xattr(struct ns *ns, ns_xattr_fn fn, void *ctx)
{
	struct xattr_walk w = { .fn = fn, .ctx = ctx };
	int ret;

	pthread_rwlock_rdlock(&ns->lock);
	ret = each_inode(ns, walk_xattr, &w);
	pthread_rwlock_unlock(&ns->lock);
	return ret;
}

int ns_foreach_layout(struct ns *ns, ns_layout_fn fn, void *ctx)
{
	struct inode_walk w = { .layout_fn = fn, .ctx = ctx };
	int ret;

	pthread_rwlock_rdlock(&ns->lock);
	ret = each_inode(ns, walk_layout, &w);
	pthread_rwlock_unlock(&ns->lock);
	return ret;
}

int ns_get_layout(struct ns *ns, __u64 ino, ns_layout_fn fn, void *ctx)
{
	struct inode *in;
	int err;

	pthread_rwlock_rdlock(&ns->lock);
	in = inode_get(ns, ino);
	err = in ? 0 : -ENOENT;
	if (in && !is_reg(in))
		err = is_dir(in) ? -EISDIR : -EINVAL;
	if (!err && in->revoked)
		err = -EIO;
	if (!err)
		err = fn(ctx, in->ino, in->file.simple, in->file.nsimple, in->file.ileave,
			 in->file.nileave);
	pthread_rwlock_unlock(&ns->lock);
	return err;
}

static int layout_copy(void *ctx, __u64 ino, const struct fmap_simple_ext *simple,
		       __u32 nsimple, const struct fmap_ileave_ext *ileave, __u32 nileave)
{
	struct ns_layout *l = ctx;

	(void)ino;
	if (nileave > FMAP_MAX_ILEAVE)
		return -EFBIG;
	if (nsimple > l->cap) {
		__u32 cap = l->cap ? l->cap : 16;
		struct fmap_simple_ext *p;

		while (cap < nsimple)
			cap *= 2;
		p = realloc(l->simple, (size_t)cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		l->simple = p;
		l->cap = cap;
	}
	if (nsimple)
		memcpy(l->simple, simple, (size_t)nsimple * sizeof(*simple));
	if (nileave)
		memcpy(l->ileave, ileave, (size_t)nileave * sizeof(*ileave));
	l->nsimple = nsimple;
	l->nileave = nileave;
	return 0;
}

int ns_layout_get(struct ns *ns, __u64 ino, struct ns_layout *l)
{
	l->nsimple = l->nileave = 0;
	return ns_get_layout(ns, ino, layout_copy, l);
}

/* -------------------------------------------------------------------- */
/* Life cycle */

static struct inode *root_alloc(struct pool *pool)
{
	struct inode *root = pool_zalloc(pool, sizeof(*root));

	if (!root)
		return NULL;
	root->ino = FAMFS_ROOT_INO;
	root->parent = FAMFS_ROOT_INO;
	root->mode = S_IFDIR | 0755;
	root->nlink = 2;
	root->dir.next_cookie = FIRST_COOKIE;
	return root;
}

static int lock_init(pthread_rwlock_t *lock)
{
	pthread_rwlockattr_t attr;
	int err;

	/* writers first: a stream of readdirs must not starve the journal */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	err = pthread_rwlock_init(lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	return -err;
}

void ns_set_follower(struct ns *ns)
{
	pthread_rwlock_wrlock(&ns->lock);
	ns->follower = true;
	pthread_rwlock_unlock(&ns->lock);
}

struct ns *ns_new(const struct ns_ops *ops, void *ops_ctx)
{
	struct ns *ns = calloc(1, sizeof(*ns));
	struct pool *pool = pool_new();
	struct inode *root = pool ? root_alloc(pool) : NULL;

	if (!ns || !root || htab_init(&ns->inodes, 64) || htab_init(&ns->names, 64) ||
	    lock_init(&ns->lock)) {
		if (ns) {
			free(ns->inodes.buckets);
			free(ns->names.buckets);
		}
		pool_destroy(pool);
		free(ns);
		return NULL;
	}
	ns->pool = pool;
	if (ops)
		ns->ops = *ops;
	ns->ops_ctx = ops_ctx;
	ns->next_seq = 1;
	ns->st.max_ino = FAMFS_ROOT_INO;
	htab_add(&ns->inodes, &root->node, ino_hash(root->ino));
	stat_count(ns, root->mode, 1);
	return ns;
}

void ns_free(struct ns *ns)
{
	size_t b;

	if (!ns)
		return;
	for (b = 0; b <= ns->names.mask; b++)
		while (ns->names.buckets[b]) {
			struct hnode *x = ns->names.buckets[b];

			ns->names.buckets[b] = x->next;
			pool_free(container_of(x, struct dentry, node));
		}
	for (b = 0; b <= ns->inodes.mask; b++)
		while (ns->inodes.buckets[b]) {
			struct hnode *x = ns->inodes.buckets[b];

			ns->inodes.buckets[b] = x->next;
			inode_free(container_of(x, struct inode, node));
		}
	free(ns->names.buckets);
	free(ns->inodes.buckets);
	pool_destroy(ns->pool);
	pthread_rwlock_destroy(&ns->lock);
	free(ns);
}
