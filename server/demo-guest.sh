#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The part of the demo that runs inside the guest (see demo.sh).
set -u
build=$1
here=$(cd "$(dirname "$0")" && pwd)
mnt=/tmp/famfs-bpf
MiB=$((1 << 20))

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; eval "$@"; }

if [ "${2:-}" = --mounted ]; then
	conn=/sys/fs/fuse/connections/$(awk -v m="$mnt" '$5 == m { split($3, d, ":"); print d[2] }' /proc/self/mountinfo)
	T=/sys/kernel/tracing
	step "A famfs-bpf mount: files mapped onto the pmem devices"
	run "grep famfs-bpf /proc/mounts"
	run "ls -l $mnt"

	step "Write with write(2), read back with read(2) and through mmap"
	head -c $((16 * MiB)) /dev/urandom > /tmp/data
	run "dd if=/tmp/data of=$mnt/interleaved bs=1M conv=notrunc status=none"
	run "cmp /tmp/data $mnt/interleaved && echo 'read(2): identical'"
	run "python3 -c \"import mmap,os; f=os.open('$mnt/interleaved',os.O_RDONLY); m=mmap.mmap(f,0,prot=mmap.PROT_READ); print('mmap: identical' if m[:]==open('/tmp/data','rb').read() else 'mmap: DIFFERENT')\""

	step "Where the bytes are: 2 MiB chunks alternate between pmem0 and pmem1 at 128 MiB"
	for c in 0 1 2 3; do
		dev=/dev/pmem$((c % 2)) off=$((128 + (c / 2) * 2))
		if cmp -s <(dd if=/tmp/data bs=1M skip=$((c * 2)) count=2 status=none) \
			  <(dd if=$dev bs=1M skip=$off count=2 iflag=direct status=none); then
			echo "chunk $c (file $((c * 2)) MiB): on $dev at $off MiB"
		else
			echo "chunk $c: NOT FOUND on $dev at $off MiB"
		fi
	done

	step "The BPF resolver answered every cache miss in the kernel: no upcall"
	run "$build/server/famfs-bpf stats $mnt"

	step "The resolver as bpftool sees it: the struct_ops and the pinned maps"
	pins=/sys/fs/bpf/famfs-bpf/${conn##*/}
	run "$build/tools/bpftool/bpftool struct_ops show"
	run "ls $pins"
	ino=$(stat -c %i $mnt/interleaved)
	run "$build/tools/bpftool/bpftool map lookup pinned $pins/files key $(printf '0x%02x ' $(for i in 0 1 2 3 4 5 6 7; do echo $(( (ino >> (8 * i)) & 255 )); done))"
	run "$build/tools/bpftool/bpftool map dump pinned $pins/files | head -24"

	step "Tracepoints: the first read of 'simple' (two extents, one per device)"
	echo > $T/trace
	echo 1 > $T/events/fuse/fuse_fmap_resolve/enable
	run "cat $mnt/simple > /dev/null"
	echo 0 > $T/events/fuse/fuse_fmap_resolve/enable
	run "grep -v '^#' $T/trace | head -6 | sed 's/^ *//'"
	exit 0
fi

step "The guest runs the patched 6.12 kernel"
run uname -rv
run "zcat /proc/config.gz | grep -E 'CONFIG_FUSE_(FS|FMAP|FMAP_BPF)='"

step "Emulated memory devices: pmem in fsdax mode"
for d in /sys/block/pmem*; do
	printf '%s: %s bytes, dax=%s\n' "${d##*/}" \
		"$(($(cat "$d/size") * 512))" "$(cat "$d/queue/dax")"
done

mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
mountpoint -q /sys/fs/fuse/connections || mount -t fusectl nodev /sys/fs/fuse/connections
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mkdir -p $mnt
"$build/server/famfs-bpf-demo" $mnt -- "$here/demo-guest.sh" "$build" --mounted
