#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# guest-bench.sh OUTDIR FAMFS_BENCH: runs inside the test guest (bench.sh).
# Prepares the guest like selftests/guest-run.sh (tracefs, fuse control fs,
# bpffs), runs famfs-bench with its progress in OUTDIR/guest.log, then
# saves the kernel log and the benchmark's status.
set -u
out=$1
bin=$2

mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
mountpoint -q /sys/kernel/debug || mount -t debugfs nodev /sys/kernel/debug 2>/dev/null
mountpoint -q /sys/fs/fuse/connections || mount -t fusectl nodev /sys/fs/fuse/connections 2>/dev/null
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null

# BENCH_* from the host (bench.sh)
[ -f "$out/bench.env" ] && . "$out/bench.env"

echo "# guest kernel: $(uname -r) $(uname -v), $(nproc) CPUs" | tee "$out/guest.log"
cd /tmp || exit 1
"$bin" "$out" 2>&1 | tee -a "$out/guest.log"
rc=${PIPESTATUS[0]}
dmesg > "$out/dmesg.txt"
echo "$rc" > "$out/guest.rc"
exit "$rc"
