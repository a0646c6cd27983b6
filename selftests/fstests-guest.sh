#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fstests-guest.sh OUT TREE TOP GROUP: in the guest of fstests.sh.
set -u
out=$1 tree=$2 top=$3 group=$4
exec > >(tee "$out/check.log") 2>&1
cli=$top/build/server/famfs-bpf
helper=$top/build/server/mount.fuse.famfs-bpf
mkdir -p /mnt/test /mnt/scratch 2>/dev/null || {
	mount -t tmpfs fstests-mnt /mnt && mkdir -p /mnt/test /mnt/scratch
}
# mount(8) runs /sbin/mount.fuse.famfs-bpf; /sbin is read-only here (and a
# symlink to usr/sbin): a read-only overlay of a directory holding only the
# helper over /usr/sbin keeps every other tool.
hd=/tmp/fstests-helper
mkdir -p $hd && ln -sf "$helper" $hd/mount.fuse.famfs-bpf
sbin=$(readlink -f /sbin)
mount -t overlay fstests-sbin -o "lowerdir=$hd:$sbin" "$sbin" || { echo "overlay over $sbin failed"; echo 1 > "$out/guest.rc"; exit 1; }
for d in /dev/pmem0 /dev/pmem1; do
	"$cli" mkfs -f "$d" || { echo "mkfs $d failed"; echo 1 > "$out/guest.rc"; exit 1; }
done
# fstests compares the type df shows with $FSTYP: fuse.famfs-bpf is "fuse"
# to it (as it folds fuse.glusterfs into glusterfs).  DF_PROG is set in
# local.config, which common/config reads after its own default.
cat > "$tree/local.config" <<CFG
export FSTYP=fuse
export FUSE_SUBTYP=.famfs-bpf
export TEST_DEV=/dev/pmem0
export TEST_DIR=/mnt/test
export SCRATCH_DEV=/dev/pmem1
export SCRATCH_MNT=/mnt/scratch
export DF_PROG="$top/selftests/fstests-df -T -P"
CFG
cd "$tree" || exit 1
# GROUP is a group, or test names (generic/002 ...): those run alone
case $group in
*/*) args=($group) ;;
*) args=(-g "$group") ;;
esac
echo "# fstests: ./check ${args[*]} ($(uname -r))"
./check "${args[@]}"
rc=$?
dmesg > "$out/dmesg.txt"
echo $rc > "$out/guest.rc"
