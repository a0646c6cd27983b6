/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One logging front end for the server, the CLI and libbpf's messages
 * (routed in one level quieter by the loader).
 */
#ifndef FAMFS_BPF_LOG_H
#define FAMFS_BPF_LOG_H

#include <stddef.h>

enum fbs_log_level {
	FBS_LOG_ERR,
	FBS_LOG_WARN,
	FBS_LOG_INFO,
	FBS_LOG_DEBUG,
};

/* Messages above @level are dropped; FBS_LOG_WARN by default. */
void fbs_log_set_level(enum fbs_log_level level);
enum fbs_log_level fbs_log_get_level(void);

/*
 * From now on, messages go to syslog(3) as @ident (facility daemon): for a
 * daemon that no longer has a terminal.
 */
void fbs_log_to_syslog(const char *ident);

/*
 * Writes the message into @msg (if not NULL) and returns @err: how the
 * format checkers (mlog.c, super.c) report what they refused, and where.
 */
int fbs_fail(char *msg, size_t msglen, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

__attribute__((format(printf, 2, 3)))
void fbs_log(enum fbs_log_level level, const char *fmt, ...);

#define pr_err(...)	fbs_log(FBS_LOG_ERR, __VA_ARGS__)
#define pr_warn(...)	fbs_log(FBS_LOG_WARN, __VA_ARGS__)
#define pr_info(...)	fbs_log(FBS_LOG_INFO, __VA_ARGS__)
#define pr_debug(...)	fbs_log(FBS_LOG_DEBUG, __VA_ARGS__)

#endif /* FAMFS_BPF_LOG_H */
