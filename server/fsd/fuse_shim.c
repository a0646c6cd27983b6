// SPDX-License-Identifier: GPL-2.0
/*
 * fuse_shim: see fuse_shim.h for what and why.
 *
 * Threading: the read hook runs in the session loop thread; the writev hook
 * and fbs_shim_reply()/fbs_shim_notify() may run in any thread, so the
 * table of pending attribute requests has a lock.  /dev/fuse takes one
 * whole message per write(2), so concurrent writers need no other lock.
 *
 * Untrusted input: a message shorter than its header claims, or an
 * unknown layout, is passed on unchanged for libfuse to reject; the shim
 * never reads beyond what read(2) returned.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fuse_shim.h"
#include "fs/log.h"

#define PENDING_SLOTS	64	/* attribute requests in flight */

struct pending {
	__u64 unique;		/* 0: free */
	__u64 nodeid;
	__u32 opcode;
};

struct fbs_shim {
	int fd;
	struct fbs_shim_ops ops;
	void *data;
	unsigned int proto_minor;
	__u64 offered;		/* the kernel's INIT flags */
	__u64 agreed;		/* ops.init_flags the kernel offered */
	__u64 init_unique;	/* the INIT request whose reply we extend */
	pthread_mutex_t lock;
	struct pending pending[PENDING_SLOTS];
};

/* libfuse hands the hooks its session userdata; it starts with our pointer */
static struct fbs_shim *shim_of(void *userdata)
{
	return *(struct fbs_shim **)userdata;
}

unsigned int fbs_shim_proto_minor(const struct fbs_shim *shim)
{
	return shim->proto_minor;
}

static bool carries_attr(__u32 opcode)
{
	switch (opcode) {
	case FUSE_LOOKUP:
	case FUSE_GETATTR:
	case FUSE_SETATTR:
	case FUSE_CREATE:
	case FUSE_MKNOD:
	case FUSE_LINK:
	case FUSE_READDIRPLUS:
		return true;
	default:
		return false;
	}
}

static void pending_add(struct fbs_shim *shim, const struct fuse_in_header *in)
{
	unsigned int i;

	pthread_mutex_lock(&shim->lock);
	for (i = 0; i < PENDING_SLOTS; i++) {
		if (!shim->pending[i].unique) {
			shim->pending[i] = (struct pending){
				in->unique, in->nodeid, in->opcode };
			break;
		}
	}
	pthread_mutex_unlock(&shim->lock);
	if (i == PENDING_SLOTS)
		pr_warn("shim: too many attribute requests in flight; "
			"node %llu may lose FUSE_ATTR_FMAP",
			(unsigned long long)in->nodeid);
}

static bool pending_take(struct fbs_shim *shim, __u64 unique,
			 struct pending *p)
{
	unsigned int i;
	bool found = false;

	pthread_mutex_lock(&shim->lock);
	for (i = 0; i < PENDING_SLOTS; i++) {
		if (shim->pending[i].unique == unique) {
			*p = shim->pending[i];
			shim->pending[i].unique = 0;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&shim->lock);
	return found;
}

static ssize_t shim_read(int fd, void *buf, size_t buf_len, void *userdata)
{
	struct fbs_shim *shim = shim_of(userdata);

	for (;;) {
		const struct fuse_in_header *in = buf;
		ssize_t n = read(fd, buf, buf_len);

		if (n < (ssize_t)sizeof(*in) || in->len != (__u32)n) {
			pr_debug("shim: read %zd", n);
			return n;	/* errors and oddities: libfuse decides */
		}
		pr_debug("shim: request %llu opcode %u node %llu",
			 (unsigned long long)in->unique, in->opcode,
			 (unsigned long long)in->nodeid);

		switch (in->opcode) {
		case FUSE_FMAP:
			if ((size_t)n < sizeof(*in) + sizeof(struct fuse_fmap_in)) {
				fbs_shim_reply(shim, in->unique, -EINVAL, NULL, 0);
				continue;
			}
			shim->ops.fmap(shim->data, in,
				       (const void *)((const char *)buf + sizeof(*in)));
			continue;
		case FUSE_FMAP_END:
			if ((size_t)n < sizeof(*in) + sizeof(struct fuse_fmap_end_in)) {
				fbs_shim_reply(shim, in->unique, -EINVAL, NULL, 0);
				continue;
			}
			fbs_shim_reply(shim, in->unique,
				       shim->ops.fmap_end(shim->data, in,
							  (const void *)(in + 1)),
				       NULL, 0);
			continue;
		case FUSE_TMPFILE:
			if (!shim->ops.tmpfile)
				return n;
			/* the name ("/") after it is the kernel's, and unused */
			if ((size_t)n < sizeof(*in) + sizeof(struct fuse_create_in)) {
				fbs_shim_reply(shim, in->unique, -EINVAL, NULL, 0);
				continue;
			}
			shim->ops.tmpfile(shim->data, in, (const void *)(in + 1));
			continue;
		case FUSE_INIT:
			if ((size_t)n >= sizeof(*in) + sizeof(struct fuse_init_in)) {
				const struct fuse_init_in *ii = (const void *)(in + 1);

				shim->proto_minor = ii->minor < FUSE_KERNEL_MINOR_VERSION ?
						    ii->minor : FUSE_KERNEL_MINOR_VERSION;
				shim->offered = ii->flags;
				if (ii->flags & FUSE_INIT_EXT)
					shim->offered |= (__u64)ii->flags2 << 32;
				shim->init_unique = in->unique;
			}
			return n;
		default:
			if (carries_attr(in->opcode))
				pending_add(shim, in);
			return n;
		}
	}
}

/*
 * The INIT reply: libfuse's flags plus those of ours the kernel offered, and
 * at least the minor that has them (a newer libfuse may speak a newer one).
 */
static void extend_init(struct fbs_shim *shim, void *payload, size_t len)
{
	struct fuse_init_out *io = payload;
	__u64 extra = shim->ops.init_flags & shim->offered;

	if (shim->ops.init_flags & ~shim->offered)
		pr_warn("shim: the kernel did not offer INIT flags %#llx",
			(unsigned long long)(shim->ops.init_flags & ~shim->offered));
	__atomic_store_n(&shim->agreed, extra, __ATOMIC_RELEASE);
	if (len < sizeof(*io) || !extra)
		return;
	if (io->minor < shim->proto_minor)
		io->minor = shim->proto_minor;
	io->flags |= (__u32)extra | FUSE_INIT_EXT;
	io->flags2 |= (__u32)(extra >> 32);
}

__u64 fbs_shim_agreed(const struct fbs_shim *shim)
{
	return __atomic_load_n(&shim->agreed, __ATOMIC_ACQUIRE);
}

static void mark_attr(struct fbs_shim *shim, struct fuse_attr *attr, __u64 nodeid)
{
	if (!shim->ops.is_mapped(shim->data, nodeid))
		return;
	attr->flags |= FUSE_ATTR_FMAP;
	if (shim->ops.is_block && shim->ops.is_block(shim->data, nodeid))
		attr->flags |= FUSE_ATTR_FMAP_BLOCK;
}

/* Each fuse_direntplus record: the ones with attributes name their node. */
static void patch_direntplus(struct fbs_shim *shim, char *buf, size_t len)
{
	size_t off = 0, rec;

	while (len - off >= FUSE_NAME_OFFSET_DIRENTPLUS) {
		struct fuse_direntplus *dp = (void *)(buf + off);

		rec = FUSE_DIRENTPLUS_SIZE(dp);
		if (rec > len - off)
			break;		/* libfuse wrote it: cannot happen */
		/* node id 0: a name without attributes, the kernel looks it up */
		if (dp->entry_out.nodeid)
			mark_attr(shim, &dp->entry_out.attr, dp->entry_out.nodeid);
		off += rec;
	}
}

static void patch_reply(struct fbs_shim *shim, const struct pending *p,
			void *payload, size_t len)
{
	switch (p->opcode) {
	case FUSE_READDIRPLUS:
		patch_direntplus(shim, payload, len);
		break;
	case FUSE_LOOKUP:
	case FUSE_MKNOD:
	case FUSE_LINK:
	case FUSE_CREATE:	/* entry_out, then open_out */
		if (len >= sizeof(struct fuse_entry_out)) {
			struct fuse_entry_out *eo = payload;

			mark_attr(shim, &eo->attr, eo->nodeid);
		}
		break;
	case FUSE_GETATTR:
	case FUSE_SETATTR:
		if (len >= sizeof(struct fuse_attr_out)) {
			struct fuse_attr_out *ao = payload;

			mark_attr(shim, &ao->attr, p->nodeid);
		}
		break;
	}
}

static ssize_t shim_writev(int fd, struct iovec *iov, int count,
			   void *userdata)
{
	struct fbs_shim *shim = shim_of(userdata);
	const struct fuse_out_header *out = iov[0].iov_base;
	struct pending p = { 0 };
	bool is_init;
	char *flat, *pos;
	size_t total = 0;
	ssize_t ret;
	int i;

	if (count < 1 || iov[0].iov_len < sizeof(*out) || out->error)
		goto pass;
	is_init = out->unique && out->unique == shim->init_unique;
	if (!is_init && !(out->unique && pending_take(shim, out->unique, &p)))
		goto pass;

	/* small replies only: flatten, patch, write as one message */
	for (i = 0; i < count; i++)
		total += iov[i].iov_len;
	flat = malloc(total);
	if (!flat)
		goto pass;
	for (pos = flat, i = 0; i < count; i++) {
		memcpy(pos, iov[i].iov_base, iov[i].iov_len);
		pos += iov[i].iov_len;
	}
	if (is_init) {
		extend_init(shim, flat + sizeof(*out), total - sizeof(*out));
		shim->init_unique = 0;
	} else {
		patch_reply(shim, &p, flat + sizeof(*out), total - sizeof(*out));
	}
	ret = write(fd, flat, total);
	free(flat);
	return ret;
pass:
	if (count >= 1 && iov[0].iov_len >= sizeof(*out) && out->unique &&
	    out->error)
		pending_take(shim, out->unique, &p);	/* forget failed ones */
	return writev(fd, iov, count);
}

int fbs_shim_reply(struct fbs_shim *shim, __u64 unique, int err,
		   const void *payload, size_t len)
{
	struct fuse_out_header out = {
		.len = sizeof(out) + (err ? 0 : len),
		.error = err,
		.unique = unique,
	};
	struct iovec iov[2] = {
		{ &out, sizeof(out) },
		{ (void *)payload, len },
	};
	ssize_t n = writev(shim->fd, iov, err || !len ? 1 : 2);

	if (n < 0) {
		/* ENOENT: the request was interrupted; not the server's fault */
		if (errno != ENOENT)
			pr_warn("reply to request %llu: %m",
				(unsigned long long)unique);
		return -errno;
	}
	return 0;
}

int fbs_shim_notify(struct fbs_shim *shim, int code, const void *payload,
		    size_t len)
{
	struct fuse_out_header out = {
		.len = sizeof(out) + len,
		.error = code,
		.unique = 0,
	};
	struct iovec iov[2] = {
		{ &out, sizeof(out) },
		{ (void *)payload, len },
	};

	if (writev(shim->fd, iov, 2) < 0)
		return -errno;
	return 0;
}

/*
 * Spliced requests and replies would pass the shim unseen: FUSE_FMAP would
 * reach libfuse, attributes would go unmarked.  libfuse splices only when
 * the server wants FUSE_CAP_SPLICE_* (fbs_shim_conn_init() clears them);
 * should one slip through, these refuse loudly rather than bypass.
 */
static ssize_t shim_splice_refuse(int fdin, off_t *offin, int fdout, off_t *offout,
				  size_t len, unsigned int flags, void *userdata)
{
	(void)fdin; (void)offin; (void)fdout; (void)offout;
	(void)len; (void)flags; (void)userdata;
	pr_err("shim: splice on /dev/fuse bypasses FUSE_FMAP handling: refused");
	errno = EOPNOTSUPP;
	return -1;
}

void fbs_shim_conn_init(struct fuse_conn_info *conn)
{
	conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
}

int fbs_shim_attach(struct fuse_session *se, int fd,
		    const struct fbs_shim_ops *ops, void *data,
		    struct fbs_shim **shimp)
{
	static const struct fuse_custom_io io = {
		.read = shim_read,
		.writev = shim_writev,
		.splice_receive = shim_splice_refuse,
		.splice_send = shim_splice_refuse,
	};
	struct fbs_shim *shim;

	shim = calloc(1, sizeof(*shim));
	if (!shim)
		return -ENOMEM;
	shim->fd = fd;
	shim->ops = *ops;
	shim->data = data;
	pthread_mutex_init(&shim->lock, NULL);
	*shimp = shim;		/* before any I/O: the hooks find it there */
	if (fuse_session_custom_io(se, &io, fd)) {
		*shimp = NULL;
		fbs_shim_free(shim);
		return -EINVAL;
	}
	return 0;
}

void fbs_shim_free(struct fbs_shim *shim)
{
	if (!shim)
		return;
	pthread_mutex_destroy(&shim->lock);
	free(shim);
}
