// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static enum fbs_log_level log_level = FBS_LOG_WARN;

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
	va_list ap;

	if (level > log_level)
		return;
	/* one fprintf per message so concurrent threads do not interleave */
	char line[1024];
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
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
