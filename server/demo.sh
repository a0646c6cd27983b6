#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh BZIMAGE BUILD_DIR: boot the patched kernel under virtme-ng with
# three emulated pmem devices and walk through a famfs-bpf file system on
# them (demo-guest.sh): mkfs, mount, copy in, read back, where the bytes
# live, the BPF resolver at work, remount.
set -eu
kernel=$1
build=$2
here=$(cd "$(dirname "$0")" && pwd)
vng=${VNG:-$build/venv/bin/vng}
PATH=$(dirname "$vng"):$PATH
accel=(--disable-kvm)
[ "${VMTEST_KVM:-0}" = 1 ] && accel=()


exec "$vng" --run "$kernel" "${accel[@]}" --cpus 2 --memory 8G \
	--append "no5lvl memmap=1G!4G memmap=1G!5G memmap=1G!6G" -- "$here/demo-guest.sh" "$build" < /dev/null
