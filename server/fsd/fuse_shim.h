/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fuse_shim: what libfuse 3.14 lacks for FUSE_FMAP, done between libfuse
 * and /dev/fuse with fuse_session_custom_io().
 *
 *  - INIT reply: announce FUSE_HAS_FMAP (and FUSE_FMAP_BUILTIN) in flags2
 *    and protocol minor 42, which libfuse does not know;
 *  - FUSE_FMAP and FUSE_FMAP_END requests (opcodes 64 and 65, unknown to
 *    libfuse): taken out of the request stream and answered by the server's
 *    handlers;
 *  - FUSE_TMPFILE (opcode 51: O_TMPFILE), which libfuse 3.14 answers
 *    ENOSYS: answered by the server's handler when it has one, with
 *    CREATE's reply (fuse_entry_out, then fuse_open_out);
 *  - attribute replies (LOOKUP, GETATTR, SETATTR, CREATE, MKNOD,
 *    READDIRPLUS): FUSE_ATTR_FMAP set for the nodes the server says are
 *    mapped files.
 *
 * Only the flags of ops.init_flags that the kernel offered are announced
 * (fbs_shim_agreed() says which).  Spliced I/O would bypass the shim: the
 * server's init op calls fbs_shim_conn_init(), and the splice hooks refuse.
 * libfuse 3.14 has no other transport.
 *
 * Everything else passes through unchanged.
 */
#ifndef FAMFS_BPF_FUSE_SHIM_H
#define FAMFS_BPF_FUSE_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>

struct fbs_shim_ops {
	/* Answer one FUSE_FMAP request, with fbs_shim_reply(). */
	void (*fmap)(void *data, const struct fuse_in_header *in,
		     const struct fuse_fmap_in *arg);
	/*
	 * A write moved the end of file of @in->nodeid to @arg->size: record
	 * it.  Returns 0 or a negative errno; the shim replies.
	 */
	int (*fmap_end)(void *data, const struct fuse_in_header *in,
			const struct fuse_fmap_end_in *arg);
	/*
	 * Optional: answer one FUSE_TMPFILE request in directory
	 * @in->nodeid, with fbs_shim_reply().  NULL: libfuse says ENOSYS,
	 * and the kernel stops asking (O_TMPFILE is EOPNOTSUPP).
	 */
	void (*tmpfile)(void *data, const struct fuse_in_header *in,
			const struct fuse_create_in *arg);
	/* Whether @nodeid is a regular file mapped onto devices. */
	bool (*is_mapped)(void *data, __u64 nodeid);
	/*
	 * Optional: whether mapped @nodeid is on block devices without DAX
	 * (FUSE_ATTR_FMAP_BLOCK: through the page cache).
	 */
	bool (*is_block)(void *data, __u64 nodeid);
	/* INIT flags to add: FUSE_HAS_FMAP, maybe FUSE_FMAP_BUILTIN */
	__u64 init_flags;
};

struct fbs_shim;

/*
 * Route @se's I/O on /dev/fuse @fd through the shim.  libfuse gives the I/O
 * hooks only the session's userdata: it must point to a struct whose first
 * member is the struct fbs_shim * that @shimp points to.
 */
int fbs_shim_attach(struct fuse_session *se, int fd,
		    const struct fbs_shim_ops *ops, void *data,
		    struct fbs_shim **shimp);
void fbs_shim_free(struct fbs_shim *shim);

/* Reply to request @unique: @err is a negative errno or 0 with @payload. */
int fbs_shim_reply(struct fbs_shim *shim, __u64 unique, int err,
		   const void *payload, size_t len);

/* Send notification @code with @payload. */
int fbs_shim_notify(struct fbs_shim *shim, int code, const void *payload,
		    size_t len);

/* The INIT flags of ops.init_flags the kernel offered; 0 before INIT. */
__u64 fbs_shim_agreed(const struct fbs_shim *shim);

/* From the server's init op: turn off what the shim cannot see (splice). */
void fbs_shim_conn_init(struct fuse_conn_info *conn);

/* Protocol minor the kernel and the shim agreed on; 0 before INIT. */
unsigned int fbs_shim_proto_minor(const struct fbs_shim *shim);

#endif /* FAMFS_BPF_FUSE_SHIM_H */
