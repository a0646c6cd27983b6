// SPDX-License-Identifier: GPL-2.0
/*
 * famfs-bpf mkfs DEV...: superblock on device 0, a label on every device,
 * an empty log after device 0's first unit.  The superblock goes last, so
 * an interrupted mkfs leaves no file system that looks valid.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli.h"
#include "famfs_format.h"
#include "fs/log.h"
#include "fs/super.h"
#include "fs/u64.h"

#define MiB (1ULL << 20)
#define DEFAULT_LOG_SIZE (8 * MiB)
#define MIN_LOG_SIZE (64 * 1024ULL)
#define MAX_LOG_SIZE (1ULL << 30)	/* formatted in memory */
#define LOG_OFF FAMFS_ALLOC_UNIT
#define ZERO_CHUNK (1 * MiB)

static int random_uuid(__u8 uuid[FAMFS_UUID_SIZE])
{
	if (getrandom(uuid, FAMFS_UUID_SIZE, 0) != FAMFS_UUID_SIZE)
		return -errno;
	uuid[6] = (uuid[6] & 0x0f) | 0x40;	/* RFC 4122 version 4 */
	uuid[8] = (uuid[8] & 0x3f) | 0x80;
	return 0;
}

/* Refuse what would destroy a file system, unless forced. */
static int check_dev(struct cli_dev *d, bool force)
{
	size_t len = d->size < CLI_PROBE_LEN ? d->size : CLI_PROBE_LEN;
	char what[96];
	void *buf;
	int err;

	buf = cli_buf_alloc(CLI_PROBE_LEN);
	if (!buf)
		return -ENOMEM;
	err = cli_dev_read(d, 0, buf, len);
	if (err) {
		pr_err("%s: cannot read: %s", d->path, strerror(-err));
	} else if (cli_probe_signature(buf, len, what, sizeof(what))) {
		if (force) {
			pr_info("%s: overwriting %s", d->path, what);
		} else {
			pr_err("%s: holds %s; use -f to overwrite it", d->path, what);
			err = -EEXIST;
		}
	}
	free(buf);
	return err;
}

/* The whole first unit: wipes old signatures (btrfs sits at 64 KiB). */
static int write_first_unit(struct cli_dev *d, const struct famfs_superblock *sb,
			    const struct famfs_label *label)
{
	void *buf = cli_buf_alloc(FAMFS_ALLOC_UNIT);
	int err;

	if (!buf)
		return -ENOMEM;
	if (sb)
		memcpy(buf, sb, sizeof(*sb));
	memcpy((char *)buf + FAMFS_LABEL_OFF, label, sizeof(*label));
	err = cli_dev_write(d, 0, buf, FAMFS_ALLOC_UNIT);
	free(buf);
	return err;
}

/* The log is formatted in memory (famfs_mlog_format) and written in chunks. */
static int write_log(struct cli_dev *d, const struct famfs_sb_info *info)
{
	char *buf = cli_buf_alloc(info->log_len);
	__u64 done, n;
	int err;

	if (!buf)
		return -ENOMEM;
	err = famfs_mlog_format(buf, info->log_len, info->fs_uuid, 1);
	for (done = 0; done < info->log_len && !err; done += n) {
		n = info->log_len - done < ZERO_CHUNK ? info->log_len - done : ZERO_CHUNK;
		err = cli_dev_write(d, info->log_off + done, buf + done, n);
		cli_progress("writing the log", done + n, info->log_len);
	}
	free(buf);
	return err;
}

int cli_mkfs(const struct cli_mkfs_args *args, int ndevs, char **paths, FILE *out)
{
	__u64 log_len = args->log_size ? args->log_size : DEFAULT_LOG_SIZE;
	struct famfs_superblock *sb = NULL;
	struct famfs_sb_info info;
	struct famfs_label label;
	struct cli_dev *devs;
	__u64 data = 0;
	char msg[200];
	int i, j, err = 0, opened = 0;

	if (log_len < MIN_LOG_SIZE || log_len % 4096 || log_len > MAX_LOG_SIZE) {
		pr_err("mkfs: log size %llu: 64K to 1G, a multiple of 4K",
		       (unsigned long long)log_len);
		return CLI_EXIT_USAGE;
	}
	devs = calloc(ndevs, sizeof(*devs));
	sb = cli_buf_alloc(sizeof(*sb));
	if (!devs || !sb) {
		pr_err("mkfs: out of memory");
		err = -ENOMEM;
		goto out;
	}
	memset(&info, 0, sizeof(info));
	for (i = 0; i < ndevs; i++, opened++) {
		err = cli_dev_open(&devs[i], paths[i], true);
		if (err)
			goto out;
		for (j = 0; j < i; j++)
			if (cli_dev_same(&devs[i], &devs[j])) {
				pr_err("%s: given twice (as device %d and %d)", paths[i], j, i);
				err = -EINVAL;
				goto out;
			}
	}
	for (i = 0; i < ndevs; i++) {
		struct famfs_mlog_dev *d = &info.devs.devs[i];
		__u64 need;

		d->data_off = i ? FAMFS_ALLOC_UNIT : round_up(LOG_OFF + log_len, FAMFS_ALLOC_UNIT);
		need = d->data_off + FAMFS_ALLOC_UNIT;
		if (devs[i].size < need) {
			pr_err("%s: %llu bytes, too small: device %d needs at least %llu", paths[i],
			       (unsigned long long)devs[i].size, i, (unsigned long long)need);
			err = -ENOSPC;
			goto out;
		}
		err = check_dev(&devs[i], args->force);
		if (err)
			goto out;
		d->size = devs[i].size;
		d->kind = devs[i].kind;
		err = random_uuid(d->uuid);
		if (err)
			goto out;
		data += d->size - d->data_off;
	}
	info.devs.ndevs = ndevs;
	info.log_dev = 0;
	info.log_off = LOG_OFF;
	info.log_len = log_len;
	/* the part of a file below 2 MiB in 4 KiB pages, unless asked not to */
	info.flags = args->whole_units ? 0 : FAMFS_SB_F_PAGES;
	err = random_uuid(info.fs_uuid);
	if (!err)
		err = famfs_sb_encode(&info, sb, msg, sizeof(msg));
	if (err) {
		pr_err("mkfs: %s", err == -EINVAL ? msg : strerror(-err));
		goto out;
	}

	/* everything but the superblock, durable, then the superblock */
	for (i = ndevs - 1; i >= 0; i--) {
		famfs_label_encode(&info, i, &label);
		err = write_first_unit(&devs[i], NULL, &label);
		if (!err && i == 0)
			err = write_log(&devs[0], &info);
		if (!err)
			err = cli_dev_sync(&devs[i]);
		if (err) {
			pr_err("%s: cannot write: %s", paths[i], strerror(-err));
			goto out;
		}
	}
	famfs_label_encode(&info, 0, &label);
	err = write_first_unit(&devs[0], sb, &label);
	if (!err)
		err = cli_dev_sync(&devs[0]);
	if (err) {
		pr_err("%s: cannot write the superblock: %s", paths[0], strerror(-err));
		goto out;
	}
	fprintf(out, "famfs-bpf: ");
	for (i = 0; i < FAMFS_UUID_SIZE; i++)
		fprintf(out, "%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "",
			info.fs_uuid[i]);
	fprintf(out, ": %d device%s, %llu MiB for data, %llu KiB log\n", ndevs,
		ndevs > 1 ? "s" : "", (unsigned long long)(data >> 20),
		(unsigned long long)(log_len >> 10));
out:
	for (i = 0; i < opened; i++)
		cli_dev_close(&devs[i]);
	free(devs);
	free(sb);
	if (!err)
		return CLI_EXIT_OK;
	return CLI_EXIT_OPERATIONAL;
}
