#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The part of the demo that runs inside the guest (see demo.sh).
set -u
build=$1

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; eval "$@"; }

step "The guest runs the patched 6.12 kernel"
run uname -rv
run "zcat /proc/config.gz | grep -E 'CONFIG_FUSE_(FS|FMAP)='"

step "FUSE protocol of this kernel (7.42 adds FUSE_FMAP)"
run "grep -E 'define FUSE_KERNEL_(MINOR_)?VERSION|FUSE_FMAP[[:space:]]*=|FUSE_HAS_FMAP' $build/linux/include/uapi/linux/fuse.h"

step "Emulated memory devices: pmem in fsdax mode"
run "ls -l /dev/pmem*"
for d in /sys/block/pmem*; do
	printf '%s: %s bytes, dax=%s\n' "${d##*/}" \
		"$(($(cat "$d/size") * 512))" "$(cat "$d/queue/dax")"
done
