/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /proc/self/mountinfo escapes space, tab, newline and backslash in its
 * path fields as \040, \011, \012 and \134 (the kernel's show_path()).
 * A field must be unescaped before it is compared with a real path, or a
 * mount point such as "/mnt/my data" is never found.
 */
#ifndef FAMFS_BPF_MOUNTINFO_H
#define FAMFS_BPF_MOUNTINFO_H

#include <stddef.h>

/*
 * The mount on @path (the last one mounted there): its device minor into
 * @minor and its source into @src (each may be NULL).  0; -ENOENT if
 * nothing is mounted there; -EINVAL if @type is not NULL and the mount's
 * file system type is not @type; -errno of realpath() or the open.
 */
int mountinfo_find(const char *path, const char *type, unsigned int *minor, char *src,
		   size_t srclen);

/* Unescape @s in place. */
static inline void mountinfo_unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

#endif /* FAMFS_BPF_MOUNTINFO_H */
