#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The part of the demo that runs inside the guest (see demo.sh): a famfs-bpf
# file system on the three emulated pmem devices, from mkfs to a remount.
set -u
build=$1
mnt=/tmp/famfs-bpf
devs="/dev/pmem0 /dev/pmem1 /dev/pmem2"
fb=$build/server/famfs-bpf
bpftool=$build/tools/bpftool/bpftool
MiB=$((1 << 20))
PATH=$build/server:$PATH

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; eval "$@"; }
fail() { echo "demo: $*" >&2; umount "$mnt" 2>/dev/null; exit 1; }

. "$(dirname "$0")/../selftests/sums.sh"
same_sums() {
	sums_read "$mnt" | sort -k2 > /tmp/sums.read
	sums_mmap "$mnt" | sort -k2 > /tmp/sums.mmap
	if cmp -s /tmp/sums.src /tmp/sums.read && cmp -s /tmp/sums.src /tmp/sums.mmap; then
		echo "$(wc -l < /tmp/sums.src) files: read(2) and mmap both match the source"
	else
		diff /tmp/sums.src /tmp/sums.read | head
		diff /tmp/sums.src /tmp/sums.mmap | head
		fail "checksums differ"
	fi
}

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
mkdir -p "$mnt"

# What we copy in: 64 MiB of random bytes and a tree of small files
src=/tmp/demo-src
rm -rf $src && mkdir -p $src/tree
head -c $((64 * MiB)) /dev/urandom > $src/big
cp -r /usr/include/linux/netfilter $src/tree/
(cd $src && find . -type f | sort | xargs sha256sum) | sort -k2 > /tmp/sums.src

step "Make a file system over the three devices and mount it"
run "$fb mkfs -f $devs" || fail "mkfs"
run "$fb mount $devs $mnt" || fail "mount"
run "grep $mnt /proc/mounts"

step "Copy in a large file interleaved across all three devices (3 strips of 2 MiB chunks), and a tree"
run "$fb cp -N 3 -C 2M $src/big $mnt/big" || fail "cp big"
run "$fb cp -r $src/tree $mnt/" || fail "cp tree"
run "df -h $mnt | tail -1"

step "Read everything back through read(2) and through mmap"
same_sums

step "Where the bytes live: one strip per device; chunk k on strip k mod 3"
run "$fb getmap $mnt/big 0 2M 4M 6M 63M"

step "After a remount (nothing cached), the BPF resolver answers every miss: no upcall"
run "$fb umount $mnt" || fail "umount"
run "$fb mount $devs $mnt" || fail "remount"
run "cat $mnt/big > /dev/null"
run "$fb stats $mnt"

step "The resolver as bpftool sees it: the struct_ops, and big's descriptor"
conn=$(awk -v m="$mnt" '$5 == m { split($3, d, ":"); print d[2] }' /proc/self/mountinfo)
maps=/sys/fs/bpf/famfs-bpf/$conn
# A key as bpftool takes it: N little-endian bytes of a number.
key() { local n=$2 i; for ((i = 0; i < $1; i++)); do printf '%d ' $((n & 255)); n=$((n >> 8)); done; }
value() { "$bpftool" map lookup pinned "$1" key $2 | sed -n 's/.*"value": \([0-9]*\).*/\1/p'; }
run "$bpftool struct_ops show"
# slots: node id's low bits -> descriptor (no hash); descs: the descriptor
ino=$(stat -c %i "$mnt/big")
nslots=$("$bpftool" map show pinned "$maps/slots" | sed -n 's/.*max_entries \([0-9]*\).*/\1/p')
slot=$((ino & (nslots - 1)))
desc=$(value "$maps/slots" "$(key 4 "$slot")")
run "$bpftool map lookup pinned $maps/slots key $(key 4 "$slot")"
run "$bpftool map lookup pinned $maps/descs key $(key 4 "$desc")"

step "Unmount, mount again: everything is still there"
run "$fb umount $mnt" || fail "umount"
run "$fb mount $devs $mnt" || fail "mount again"
same_sums
run "$fb umount $mnt"
