#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh BZIMAGE BUILD_DIR: boot the patched kernel under virtme-ng with
# emulated pmem devices and show famfs-bpf at work.
#
# Today it shows the guest kernel carrying the FUSE_FMAP series and the
# DAX-capable memory devices a famfs-bpf file system lives on; it grows into
# a full mount-write-map-inspect walk-through as the server lands.
set -eu
kernel=$1
build=$2
here=$(cd "$(dirname "$0")" && pwd)
vng=${VNG:-$build/venv/bin/vng}
PATH=$(dirname "$vng"):$PATH
accel=(--disable-kvm)
[ "${VMTEST_KVM:-0}" = 1 ] && accel=()


exec "$vng" --run "$kernel" "${accel[@]}" --cpus 2 --memory 8G \
	--append "memmap=1G!4G memmap=1G!5G memmap=1G!6G" -- "$here/demo-guest.sh" "$build" < /dev/null
