// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <syslog.h>

#include "log.h"

static enum fbs_log_level log_level = FBS_LOG_WARN;
static bool to_syslog;

void fbs_log_to_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	__atomic_store_n(&to_syslog, true, __ATOMIC_RELEASE);
}

void fbs_log_set_level(enum fbs_log_level level)
{
	log_level = level;
}

enum fbs_log_level fbs_log_get_level(void)
{
	return log_level;
}

void fbs_log(enum fbs_log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = {
		[FBS_LOG_ERR] = "error: ",
		[FBS_LOG_WARN] = "warning: ",
		[FBS_LOG_INFO] = "",
		[FBS_LOG_DEBUG] = "debug: ",
	};
	char line[1024];
	va_list ap;

	if (level > log_level)
		return;
	/* one fprintf per message so concurrent threads do not interleave */
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (__atomic_load_n(&to_syslog, __ATOMIC_ACQUIRE)) {
		static const int prio[] = {
			[FBS_LOG_ERR] = LOG_ERR,
			[FBS_LOG_WARN] = LOG_WARNING,
			[FBS_LOG_INFO] = LOG_INFO,
			[FBS_LOG_DEBUG] = LOG_DEBUG,
		};

		syslog(prio[level], "%s", line);
		return;
	}
	fprintf(stderr, "famfs-bpf: %s%s\n", prefix[level], line);
}

int fbs_fail(char *msg, size_t msglen, int err, const char *fmt, ...)
{
	va_list ap;

	if (msg && msglen) {
		va_start(ap, fmt);
		vsnprintf(msg, msglen, fmt, ap);
		va_end(ap);
	}
	return err;
}
