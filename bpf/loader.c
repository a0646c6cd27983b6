// SPDX-License-Identifier: GPL-2.0
/*
 * The resolver's loader: see loader.h.  Needs the skeleton
 * (build/bpf/resolver.skel.h), hence the patched kernel's BTF; the host
 * unit tests link loader_stub.c instead.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loader.h"
#include "fs/log.h"
#include "slices.h"

#include "resolver.skel.h"

#define BPF_FS_ROOT	"/sys/fs/bpf"
#define BPF_FS_MAGIC_	0xcafe4a11

/* The maps that are pinned, by their names in resolver.bpf.c (pin_maps()). */
static const char *const pinned_maps[] = {
	"slots", "descs", "simple_exts", "ileave_exts", "stats",
};

struct famfs_loader {
	struct resolver_bpf *skel;
	struct bpf_link *link;
	int stats_fd;
	/* an ARRAY_OF_MAPS whose update waits for an RCU grace period */
	int sync_outer_fd, sync_inner_fd;
	char pin_dir[256];
	__u32 max_simple, max_ileave, max_files, max_descs;
	__u32 slot_mask;		/* max_files - 1: a power of two */
	struct famfs_slices simple, ileave;
	/*
	 * The maps slots and descs, mmap'ed: a descriptor is written here
	 * whole, then named by one aligned store into slots (resolver_common.h).
	 */
	__u64 *slots;
	struct famfs_file *descs;
	/* and the extent arrays: a slice is copied in before a descriptor names it */
	struct fmap_simple_ext *simple_exts;
	struct fmap_ileave_ext *ileave_exts;
	size_t slots_len, descs_len, simple_len, ileave_len;
	struct famfs_ids desc_ids;	/* parked until a grace period */
};

/* ---- libbpf's messages, one level quieter ---- */

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	enum fbs_log_level lvl;
	char *buf, *line, *save = NULL;

	if (level == LIBBPF_WARN)
		lvl = FBS_LOG_INFO;
	else if (level == LIBBPF_INFO)
		lvl = FBS_LOG_DEBUG;
	else
		return 0;	/* libbpf's debug: below ours */
	if (lvl > fbs_log_get_level() || vasprintf(&buf, fmt, ap) < 0)
		return 0;
	/* verifier logs come as one message of many lines */
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		fbs_log(lvl, "libbpf: %s", line);
	free(buf);
	return 0;
}

/* ---- the pin directory ---- */

static int ensure_bpffs(const char *root)
{
	struct statfs sf;

	if (strncmp(root, BPF_FS_ROOT "/", strlen(BPF_FS_ROOT) + 1))
		return 0;	/* a root of the caller's: theirs to mount */
	if (!statfs(BPF_FS_ROOT, &sf) && sf.f_type == BPF_FS_MAGIC_)
		return 0;
	if (mount("bpf", BPF_FS_ROOT, "bpf", 0, "mode=0700")) {
		int err = -errno;

		pr_err("mounting bpffs on %s: %s", BPF_FS_ROOT, strerror(-err));
		return err;
	}
	pr_info("mounted bpffs on %s", BPF_FS_ROOT);
	return 0;
}

/* Remove @dir and what is pinned in it (files only: pins are files). */
static int remove_pin_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) && !err)
			err = -errno;
	}
	closedir(d);
	if (rmdir(dir) && !err)
		err = -errno;
	return err;
}

static int make_pin_dir(struct famfs_loader *l, const char *root,
			unsigned int conn_id)
{
	struct stat st;
	int err;

	err = ensure_bpffs(root);
	if (err)
		return err;
	if (mkdir(root, 0700) && errno != EEXIST) {
		err = -errno;
		pr_err("%s: %s", root, strerror(-err));
		return err;
	}
	if (snprintf(l->pin_dir, sizeof(l->pin_dir), "%s/%u", root, conn_id) >=
	    (int)sizeof(l->pin_dir)) {
		l->pin_dir[0] = 0;
		pr_err("%s: pin root path too long", root);
		return -ENAMETOOLONG;
	}
	/*
	 * Connection numbers are unique among live connections: a directory
	 * with ours was left by a server that died without unpinning.
	 */
	if (!stat(l->pin_dir, &st)) {
		err = remove_pin_dir(l->pin_dir);
		if (err) {
			pr_err("%s: removing the stale pins of a dead server: %s",
			       l->pin_dir, strerror(-err));
			return err;
		}
		pr_info("%s: removed the stale pins of a dead server", l->pin_dir);
	}
	if (mkdir(l->pin_dir, 0700)) {
		err = -errno;
		pr_err("%s: %s", l->pin_dir, strerror(-err));
		return err;
	}
	return 0;
}

static void unpin(struct famfs_loader *l)
{
	int err;

	if (!l->pin_dir[0])
		return;
	err = remove_pin_dir(l->pin_dir);
	if (err)
		pr_warn("%s: unpinning: %s", l->pin_dir, strerror(-err));
	l->pin_dir[0] = 0;
}

/* ---- grace periods ---- */

static int make_sync_maps(struct famfs_loader *l)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	int err;

	l->sync_inner_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "famfs_sync_in",
					  4, 4, 1, NULL);
	if (l->sync_inner_fd < 0)
		goto fail;
	opts.inner_map_fd = l->sync_inner_fd;
	l->sync_outer_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS,
					  "famfs_sync", 4, 4, 1, &opts);
	if (l->sync_outer_fd < 0)
		goto fail;
	return 0;
fail:
	err = -errno;
	pr_err("creating the grace-period map: %s", strerror(-err));
	return err;
}

/*
 * Wait until no resolver run that started before now is still running:
 * the kernel waits for an RCU grace period after updating a map of maps.
 */
static int wait_grace(struct famfs_loader *l)
{
	__u32 key = 0;

	if (bpf_map_update_elem(l->sync_outer_fd, &key, &l->sync_inner_fd,
				BPF_ANY)) {
		int err = -errno;

		pr_err("waiting for a grace period: %s", strerror(-err));
		return err;
	}
	return 0;
}

/* ---- open, attach, close ---- */

/* mmap an array map (BPF_F_MMAPABLE) of @len bytes into *@p */
static int map_shared(const struct bpf_map *map, size_t len, void **p)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);
	int err;

	if (m == MAP_FAILED) {
		err = -errno;
		pr_err("mapping the resolver's %s map: %s", bpf_map__name(map), strerror(-err));
		return err;
	}
	*p = m;
	return 0;
}

static int load(struct famfs_loader *l, const struct famfs_loader_opts *opts)
{
	struct resolver_bpf *skel;
	int err;

	libbpf_set_print(libbpf_print);
	skel = resolver_bpf__open();
	if (!skel) {
		err = -errno;
		pr_err("opening the BPF resolver: %s", strerror(-err));
		return err;
	}
	l->skel = skel;
	if ((err = bpf_map__set_max_entries(skel->maps.slots, l->max_files)) ||
	    (err = bpf_map__set_max_entries(skel->maps.descs, l->max_descs)) ||
	    (err = bpf_map__set_max_entries(skel->maps.ileave_exts, l->max_ileave))) {
		pr_err("sizing the resolver's maps: %s", strerror(-err));
		return err;
	}
	/* the struct_ops data field that names our connection */
	skel->struct_ops.famfs_ops->fuse_fd = opts->fuse_fd;
	skel->rodata->slot_mask = l->slot_mask;
	err = resolver_bpf__load(skel);
	if (err) {
		pr_err("loading the BPF resolver: %s%s", strerror(-err),
		       err == -ENOTSUP || err == -ESRCH || err == -ENOENT ?
		       " (a kernel without struct fuse_fmap_ops?)" : "");
		return err;
	}
	l->stats_fd = bpf_map__fd(skel->maps.stats);
	/* array entries are 8-byte aligned: every value is a multiple of 8 */
	l->slots_len = (size_t)l->max_files * sizeof(*l->slots);
	l->descs_len = (size_t)l->max_descs * sizeof(*l->descs);
	/* a global array of the program: its section's one value */
	l->simple_len = (size_t)FAMFS_SIMPLE_CAP * sizeof(*l->simple_exts);
	l->ileave_len = (size_t)l->max_ileave * sizeof(*l->ileave_exts);
	if ((err = map_shared(skel->maps.slots, l->slots_len, (void **)&l->slots)) ||
	    (err = map_shared(skel->maps.descs, l->descs_len, (void **)&l->descs)) ||
	    (err = map_shared(skel->maps.bss_simple, l->simple_len,
			      (void **)&l->simple_exts)) ||
	    (err = map_shared(skel->maps.ileave_exts, l->ileave_len, (void **)&l->ileave_exts)))
		return err;
	return 0;
}

static int pin_maps(struct famfs_loader *l)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	unsigned int i;
	int err;

	for (i = 0; i < sizeof(pinned_maps) / sizeof(pinned_maps[0]); i++) {
		/* simple_exts is a global array: the map of its section */
		map = !strcmp(pinned_maps[i], "simple_exts") ? l->skel->maps.bss_simple :
		      bpf_object__find_map_by_name(l->skel->obj, pinned_maps[i]);
		snprintf(path, sizeof(path), "%s/%s", l->pin_dir, pinned_maps[i]);
		err = map ? bpf_map__pin(map, path) : -ENOENT;
		if (err) {
			pr_err("pinning %s: %s", path, strerror(-err));
			return err;
		}
	}
	return 0;
}

static void unload(struct famfs_loader *l)
{
	if (l->slots)
		munmap(l->slots, l->slots_len);
	if (l->descs)
		munmap(l->descs, l->descs_len);
	if (l->simple_exts)
		munmap(l->simple_exts, l->simple_len);
	if (l->ileave_exts)
		munmap(l->ileave_exts, l->ileave_len);
	l->slots = NULL;
	l->descs = NULL;
	l->simple_exts = NULL;
	l->ileave_exts = NULL;
	resolver_bpf__destroy(l->skel);
	l->skel = NULL;
}

int famfs_loader_attach(struct famfs_loader *l)
{
	struct bpf_link *link;
	int err;

	if (l->link)
		return -EALREADY;
	link = bpf_map__attach_struct_ops(l->skel->maps.famfs_ops);
	if (!link) {
		err = -errno;
		pr_err("attaching the BPF resolver to the connection: %s%s",
		       strerror(-err),
		       err == -EBUSY ? " (the connection already has one)" :
		       err == -EOPNOTSUPP ? " (the connection did not negotiate "
					    "FUSE_HAS_FMAP, or INIT is not done)" :
		       err == -EPERM ? " (needs CAP_SYS_ADMIN)" :
		       err == -EBADF || err == -EINVAL ?
				" (fuse_fd is not an open /dev/fuse)" : "");
		return err;
	}
	l->link = link;
	pr_info("BPF resolver \"%s\" attached; maps pinned in %s",
		FAMFS_OPS_NAME, l->pin_dir);
	return 0;
}

void famfs_loader_detach(struct famfs_loader *l)
{
	if (!l || !l->link)
		return;
	/* the kernel waits for running resolver calls before this returns */
	bpf_link__destroy(l->link);
	l->link = NULL;
}

bool famfs_loader_attached(const struct famfs_loader *l)
{
	return l && l->link;
}

int famfs_loader_load(const struct famfs_loader_opts *opts,
		      struct famfs_loader **lp)
{
	struct famfs_loader *l;
	int err;

	*lp = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->sync_outer_fd = l->sync_inner_fd = -1;
	l->max_files = opts->max_files ? opts->max_files : FAMFS_DEF_MAX_FILES;
	if (l->max_files > (1U << 31))
		l->max_files = 1U << 31;
	/* slots are the low bits of a node id: a power of two of them */
	while (l->max_files & (l->max_files - 1))
		l->max_files += l->max_files & -l->max_files;
	l->slot_mask = l->max_files - 1;
	l->max_simple = opts->max_simple ? opts->max_simple : FAMFS_DEF_MAX_SIMPLE;
	/* the program's array has a fixed size (its index mask is an immediate) */
	if (l->max_simple > FAMFS_SIMPLE_CAP) {
		pr_info("the BPF resolver holds at most %u simple extents, not %u",
			FAMFS_SIMPLE_CAP, l->max_simple);
		l->max_simple = FAMFS_SIMPLE_CAP;
	}
	l->max_ileave = opts->max_ileave ? opts->max_ileave : FAMFS_DEF_MAX_ILEAVE;
	l->max_descs = FAMFS_DESCS(l->max_files);
	if ((err = famfs_slices_init(&l->simple, l->max_simple)) ||
	    (err = famfs_slices_init(&l->ileave, l->max_ileave)) ||
	    /* entry 0 stays FAMFS_NO_DESC */
	    (err = famfs_ids_init(&l->desc_ids, 1, l->max_descs)))
		goto fail;
	err = load(l, opts);
	if (err)
		goto fail;
	err = make_sync_maps(l);
	if (err)
		goto fail;
	*lp = l;
	return 0;
fail:
	famfs_loader_close(l);
	return err;
}

int famfs_loader_pin(struct famfs_loader *l, const char *pin_root, unsigned int conn_id)
{
	int err;

	if (l->pin_dir[0])
		return -EALREADY;
	err = make_pin_dir(l, pin_root ? pin_root : FAMFS_PIN_ROOT, conn_id);
	if (!err)
		err = pin_maps(l);
	if (err)
		unpin(l);
	return err;
}

int famfs_loader_open(const struct famfs_loader_opts *opts,
		      struct famfs_loader **lp)
{
	int err = famfs_loader_load(opts, lp);

	if (!err)
		err = famfs_loader_pin(*lp, opts->pin_root, opts->conn_id);
	if (err && *lp) {
		famfs_loader_close(*lp);
		*lp = NULL;
	}
	return err;
}

void famfs_loader_close(struct famfs_loader *l)
{
	if (!l)
		return;
	famfs_loader_detach(l);
	unpin(l);
	unload(l);
	if (l->sync_outer_fd >= 0)
		close(l->sync_outer_fd);
	if (l->sync_inner_fd >= 0)
		close(l->sync_inner_fd);
	famfs_slices_fini(&l->simple);
	famfs_slices_fini(&l->ileave);
	famfs_ids_fini(&l->desc_ids);
	free(l);
}

const char *famfs_loader_pin_dir(const struct famfs_loader *l)
{
	return l->pin_dir;
}

/* ---- files ---- */

/* The two kinds of extents, each with its array, slices and limits */
enum kind { SIMPLE, ILEAVE };

static const char *const kind_name[] = { "simple", "interleaved" };

/* Whether a page of [off, off + len) is in @e, sorted and disjoint. */
static bool simple_overlaps(const struct fmap_simple_ext *e, __u32 n, __u64 off, __u64 len)
{
	__u32 lo = 0, hi = n, mid;

	/* the first extent that ends past @off: ends are sorted too */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (e[mid].file_off + e[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && e[lo].file_off < off + len;
}

/* Refuse what does not fit, with the reason; never truncate. */
static int check_fit(struct famfs_loader *l, __u64 nodeid,
		     const struct famfs_file_extents *fe)
{
	const __u32 n[] = { fe->nsimple, fe->nileave };
	const __u32 per_file[] = { FMAP_MAX_SIMPLE, FMAP_MAX_ILEAVE };
	const __u32 cap[] = { l->max_simple, l->max_ileave };
	__u32 i;
	int k, err = 0;

	for (k = SIMPLE; k <= ILEAVE; k++) {
		if (n[k] > per_file[k]) {
			pr_err("file %llu: layout of %u %s extents refused: the BPF "
			       "resolver takes at most %u per file",
			       (unsigned long long)nodeid, n[k], kind_name[k], per_file[k]);
			return -E2BIG;
		}
		if (n[k] > cap[k]) {
			pr_err("file %llu: layout of %u %s extents refused: larger than "
			       "the whole extent map (%u entries; raise its size)",
			       (unsigned long long)nodeid, n[k], kind_name[k], cap[k]);
			return -E2BIG;
		}
	}
	if (fe->nsimple)
		err = fmap_simple_check(fe->simple, fe->nsimple);
	if (err) {
		pr_err("file %llu: malformed simple extents: %s",
		       (unsigned long long)nodeid, strerror(-err));
		return err;
	}
	for (i = 0; i < fe->nileave && !err; i++)
		err = fmap_ileave_check(&fe->ileave[i]);
	if (err) {
		pr_err("file %llu: malformed interleaved extents: %s",
		       (unsigned long long)nodeid, strerror(-err));
		return err;
	}
	/* the program takes the simple one: the layout would be ambiguous */
	for (i = 0; i < fe->nileave; i++) {
		if (simple_overlaps(fe->simple, fe->nsimple, fe->ileave[i].file_off,
				    fe->ileave[i].len)) {
			pr_err("file %llu: interleaved extent %u overlaps a simple one",
			       (unsigned long long)nodeid, i);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * After a grace period, what was parked before it is free: slices and
 * descriptors.  No resolver call that started before can still read them.
 */
static int reclaim(struct famfs_loader *l)
{
	int err = wait_grace(l);

	if (err)
		return err;
	famfs_slices_reclaim(&l->simple);
	famfs_slices_reclaim(&l->ileave);
	famfs_ids_reclaim(&l->desc_ids);
	return 0;
}

static struct famfs_slices *slices_of(struct famfs_loader *l, enum kind k)
{
	return k == SIMPLE ? &l->simple : &l->ileave;
}

static int alloc_slice(struct famfs_loader *l, __u64 nodeid, enum kind k,
		       __u32 n, __u32 *first)
{
	struct famfs_slices *s = slices_of(l, k);
	int err;

	if (!famfs_slices_alloc(s, n, first))
		return 0;
	if (s->nparked) {
		/* runs freed earlier become reusable after a grace period */
		err = reclaim(l);
		if (err)
			return err;
		if (!famfs_slices_alloc(s, n, first))
			return 0;
	}
	pr_err("file %llu: layout of %u %s extents refused: no free run that "
	       "long in the extent map (%llu of %u entries free, longest run %u)",
	       (unsigned long long)nodeid, n, kind_name[k],
	       (unsigned long long)s->nfree, s->cap, famfs_slices_largest(s));
	return -ENOSPC;
}

static void slice_of(const struct famfs_file *f, struct famfs_slice *s)
{
	s->simple_first = f->simple_first;
	s->nsimple = f->nsimple;
	s->ileave_first = f->ileave_first;
	s->nileave = f->nileave;
}

/* A free entry of descs (after a grace period if all are parked) */
static int alloc_desc(struct famfs_loader *l, __u64 nodeid, __u32 *d)
{
	int err;

	if (!famfs_ids_alloc(&l->desc_ids, d))
		return 0;
	if (l->desc_ids.nparked) {
		err = reclaim(l);
		if (err)
			return err;
		if (!famfs_ids_alloc(&l->desc_ids, d))
			return 0;
	}
	/* more live descriptors than files the map takes: a bug */
	pr_err("file %llu: no free descriptor (%u entries)", (unsigned long long)nodeid,
	       l->max_descs);
	return -ENOSPC;
}

/*
 * Point slot @s at descriptor @d: one aligned 8-byte store, after the
 * descriptor's (release: a program that reads the index reads the
 * descriptor whole).
 */
static void switch_slot(struct famfs_loader *l, __u32 s, __u32 d)
{
	__atomic_store_n(&l->slots[s], (__u64)d, __ATOMIC_RELEASE);
}

/*
 * The slot of @nodeid, and the index of its descriptor there: 0, or
 * -ENOENT (not in the maps; the slot may be another file's).
 */
static int find_file(struct famfs_loader *l, __u64 nodeid, __u32 *s, __u32 *d)
{
	__u64 v;

	*s = nodeid & l->slot_mask;
	v = __atomic_load_n(&l->slots[*s], __ATOMIC_RELAXED);
	if (v == FAMFS_NO_DESC)
		return -ENOENT;
	if (v >= l->max_descs) {
		pr_err("file %llu: slot %u names descriptor %llu, past the map",
		       (unsigned long long)nodeid, *s, (unsigned long long)v);
		return -EIO;
	}
	if (l->descs[v].nodeid != nodeid)
		return -ENOENT;
	*d = v;
	return 0;
}

/*
 * Give file @nodeid descriptor @desc (written into a fresh entry, then
 * switched to): in slot @s, where it had descriptor @old_d (parked now),
 * if @had; else in a new slot.  On error nothing changed.
 */
static int publish(struct famfs_loader *l, __u64 nodeid, const struct famfs_file *desc,
		   bool had, __u32 s, __u32 old_d)
{
	__u32 d;
	int err;

	err = alloc_desc(l, nodeid, &d);
	if (err)
		return err;
	/* no program reads a free entry: plain stores */
	l->descs[d] = *desc;
	l->descs[d].nodeid = nodeid;
	if (had) {
		switch_slot(l, s, d);
		famfs_ids_free(&l->desc_ids, old_d);
		return 0;
	}
	/* find_file() said: not this file's; empty, or another's */
	if (l->slots[s] != FAMFS_NO_DESC) {
		famfs_ids_unalloc(&l->desc_ids, d);
		pr_info("file %llu: its slot %u (the node id's low bits) is file %llu's",
			(unsigned long long)nodeid, s,
			(unsigned long long)l->descs[l->slots[s]].nodeid);
		return -EBUSY;
	}
	switch_slot(l, s, d);
	return 0;
}

int famfs_loader_set_file(struct famfs_loader *l, __u64 nodeid,
			  const struct famfs_file_extents *fe,
			  struct famfs_slice *old)
{
	struct famfs_file desc = { 0 };
	__u32 s = 0, old_d = 0;
	bool had;
	int err;

	memset(old, 0, sizeof(*old));
	if (!fe->nsimple && !fe->nileave) {
		err = famfs_loader_remove_file(l, nodeid, old);
		return err == -ENOENT ? 0 : err;
	}
	err = check_fit(l, nodeid, fe);
	if (err)
		return err;
	err = find_file(l, nodeid, &s, &old_d);
	if (err && err != -ENOENT)
		return err;
	had = !err;

	desc.size = fe->size;
	desc.nsimple = fe->nsimple;
	desc.nileave = fe->nileave;
	if (fe->nsimple) {
		desc.uniform_shift = fmap_simple_uniform_shift(fe->simple, fe->nsimple);
		err = alloc_slice(l, nodeid, SIMPLE, fe->nsimple, &desc.simple_first);
		if (err)
			return err;
	}
	if (fe->nileave) {
		err = alloc_slice(l, nodeid, ILEAVE, fe->nileave, &desc.ileave_first);
		if (err) {
			desc.nileave = 0;
			goto undo;
		}
	}
	/*
	 * The extents first: the descriptor must never name unwritten ones
	 * (switch_slot()'s release store orders these copies before it).
	 * No program reads a slice no descriptor names: plain copies.
	 */
	if (fe->nsimple)
		memcpy(&l->simple_exts[desc.simple_first], fe->simple,
		       fe->nsimple * sizeof(*fe->simple));
	if (fe->nileave)
		memcpy(&l->ileave_exts[desc.ileave_first], fe->ileave,
		       fe->nileave * sizeof(*fe->ileave));
	/* the old descriptor is parked by publish(): read its slices first */
	if (had)
		slice_of(&l->descs[old_d], old);
	err = publish(l, nodeid, &desc, had, s, old_d);
	if (err) {
		memset(old, 0, sizeof(*old));
		goto undo;
	}
	return 0;
undo:
	/* never named by a descriptor: reusable at once */
	if (desc.nsimple)
		famfs_slices_unalloc(&l->simple, desc.simple_first, desc.nsimple);
	if (desc.nileave)
		famfs_slices_unalloc(&l->ileave, desc.ileave_first, desc.nileave);
	return err;
}

int famfs_loader_remove_file(struct famfs_loader *l, __u64 nodeid,
			     struct famfs_slice *old)
{
	__u32 s, d;
	int err;

	memset(old, 0, sizeof(*old));
	err = find_file(l, nodeid, &s, &d);
	if (err)
		return err;
	/*
	 * A program that read the slot before reads the descriptor until the
	 * grace period ends; one that reads it after the next file took it
	 * finds that file's, and refuses it.
	 */
	switch_slot(l, s, FAMFS_NO_DESC);
	slice_of(&l->descs[d], old);
	famfs_ids_free(&l->desc_ids, d);
	return 0;
}

int famfs_loader_set_size(struct famfs_loader *l, __u64 nodeid, __u64 size)
{
	struct famfs_file f;
	__u32 s, d;
	int err;

	err = find_file(l, nodeid, &s, &d);
	if (err)
		return err;
	if (l->descs[d].size == size)
		return 0;
	/* a new descriptor, never the one a program may be reading */
	f = l->descs[d];
	f.size = size;
	return publish(l, nodeid, &f, true, s, d);
}

int famfs_loader_get_file(struct famfs_loader *l, __u64 nodeid, struct famfs_file *desc,
			  __u32 *index)
{
	__u32 s, d;
	int err;

	err = find_file(l, nodeid, &s, &d);
	if (err)
		return err;
	*desc = l->descs[d];
	if (index)
		*index = d;
	return 0;
}

void famfs_loader_free_slice(struct famfs_loader *l, const struct famfs_slice *s)
{
	const __u32 first[] = { s->simple_first, s->ileave_first };
	const __u32 n[] = { s->nsimple, s->nileave };
	int k, err;

	for (k = SIMPLE; k <= ILEAVE; k++) {
		if (!n[k])
			continue;
		err = famfs_slices_free(slices_of(l, k), first[k], n[k]);
		if (err)
			pr_warn("freeing %s slice [%u, +%u): %s", kind_name[k],
				first[k], n[k], strerror(-err));
	}
}

int famfs_loader_stats(const struct famfs_loader *l,
		       struct famfs_resolver_stats *st)
{
	struct famfs_resolver_stats *per_cpu;
	int ncpus = libbpf_num_possible_cpus(), i, err = 0;
	__u32 key = 0;

	memset(st, 0, sizeof(*st));
	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	per_cpu = calloc(ncpus, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(l->stats_fd, &key, per_cpu)) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < ncpus; i++) {
		st->handled += per_cpu[i].handled;
		st->unknown_file += per_cpu[i].unknown_file;
		st->hole += per_cpu[i].hole;
		st->needs_alloc += per_cpu[i].needs_alloc;
		st->unaligned += per_cpu[i].unaligned;
		st->bad_slice += per_cpu[i].bad_slice;
		st->other_file += per_cpu[i].other_file;
	}
out:
	free(per_cpu);
	return err;
}
