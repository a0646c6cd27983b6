/* SPDX-License-Identifier: GPL-2.0 */
/*
 * acl.h: POSIX ACLs as the kernel passes them in system.posix_acl_access
 * and system.posix_acl_default (include/uapi/linux/posix_acl_xattr.h):
 * a little-endian header { u32 version = 2 } and entries { u16 tag,
 * u16 perm, u32 id }.  These functions check such a value (the log holds
 * them: untrusted on-media input) and compute what POSIX 1003.1e says a
 * new inode inherits (posix_acl_create()) and what chmod does to an access
 * ACL (posix_acl_chmod()).
 */
#ifndef FAMFS_BPF_ACL_H
#define FAMFS_BPF_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define FAMFS_ACL_ACCESS	"system.posix_acl_access"
#define FAMFS_ACL_DEFAULT	"system.posix_acl_default"
#define FAMFS_ACL_VERSION	2

/* true for system.posix_acl_access and system.posix_acl_default */
bool famfs_acl_name(const char *name);

/*
 * Check an ACL value: version 2, whole entries, at least one, tags known,
 * permissions rwx only, entries sorted by tag and (named users and groups)
 * strictly by id, exactly one owner, owning group and other entry, a mask
 * when there are named entries, at most one mask.  0 or -EINVAL with a
 * message in @msg.
 */
int famfs_acl_check(const void *value, size_t len, char *msg, size_t msglen);

/*
 * A new inode under a directory whose default ACL is @dacl (checked,
 * @dlen bytes): @mode (type and permission bits as the caller asked, no
 * umask) becomes the mode the ACL leaves, and *@access (malloc'd, *@alen
 * bytes) the access ACL, or NULL when the mode says it all (an ACL of the
 * three base entries only).  A directory also takes @dacl as its default
 * ACL: that is the caller's to store.  0, -EINVAL or -ENOMEM.
 */
int famfs_acl_create(const void *dacl, size_t dlen, mode_t *mode, void **access,
		     size_t *alen);

/*
 * chmod of an inode with access ACL @acl (checked, @len bytes): the owner,
 * other and mask (or, without a mask, owning group) entries take @mode's
 * bits, in place.  0 or -EINVAL.
 */
int famfs_acl_chmod(void *acl, size_t len, mode_t mode);

/*
 * The permission bits an access ACL (checked) stands for: owner, mask (or
 * owning group) and other into @mode's rwx bits, the others kept.
 * 0 or -EINVAL.
 */
int famfs_acl_mode(const void *acl, size_t len, mode_t *mode);

#endif /* FAMFS_BPF_ACL_H */
