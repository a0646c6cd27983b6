#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# guest-run.sh OUTDIR TEST_PROGS [test_progs args]: runs inside the test guest.
# Prepares the guest (tracefs, fuse control fs), runs test_progs with its
# TAP going to OUTDIR/guest.tap, then saves the kernel log (after a kmemleak
# scan when the kernel has kmemleak) and test_progs' status.
set -u
out=$1
bin=$2
shift 2

mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
mountpoint -q /sys/kernel/debug || mount -t debugfs nodev /sys/kernel/debug 2>/dev/null
mountpoint -q /sys/fs/fuse/connections || mount -t fusectl nodev /sys/fs/fuse/connections 2>/dev/null
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null

echo "# guest kernel: $(uname -r) $(uname -v)"
cd /tmp || exit 1
"$bin" "$@" | tee "$out/guest.tap"
rc=${PIPESTATUS[0]}

if [ -w /sys/kernel/debug/kmemleak ]; then
	# Two scans: kmemleak reports an object only once it has been
	# unreferenced across scans.
	echo scan > /sys/kernel/debug/kmemleak
	sleep 5
	echo scan > /sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak > "$out/kmemleak.txt"
fi
dmesg > "$out/dmesg.txt"
[ -s "$out/kmemleak.txt" ] 2>/dev/null && cat "$out/kmemleak.txt" >> "$out/dmesg.txt"
echo "$rc" > "$out/guest.rc"
exit "$rc"
