#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fstests.sh: run fstests (xfstests) against fuse.famfs-bpf in a guest.
#
#   fstests.sh -k BZIMAGE -s FSTESTS_TREE -o OUTDIR [-g GROUP] [-L SECONDS]
#
# FSTESTS_TREE is a built fstests tree (make fstests copies the checkout
# to build/fstests/xfstests and builds it there).  OUTDIR must contain it or
# be writable: the guest sees the host root read-only, and fstests writes
# into its own tree (results/, local.config), so OUTDIR is shared
# read-write.  The guest gets two 1 GiB pmem regions (TEST_DEV=/dev/pmem0,
# SCRATCH_DEV=/dev/pmem1); fstests-guest.sh formats them, installs the mount
# helper and runs ./check -g GROUP.  Its summary is OUTDIR/check.log, the
# per-test output OUTDIR/xfstests/results/.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
kernel= tree= out= group=quick limit_s=2700
vng=${VNG:-$top/build/venv/bin/vng}
while getopts "k:s:o:g:L:" opt; do
	case $opt in
	k) kernel=$OPTARG ;;
	s) tree=$OPTARG ;;
	o) out=$OPTARG ;;
	g) group=$OPTARG ;;
	L) limit_s=$OPTARG ;;
	*) echo "usage: $0 -k BZIMAGE -s FSTESTS_TREE -o OUTDIR [-g GROUP] [-L SECONDS]" >&2; exit 2 ;;
	esac
done
[ -f "$kernel" ] || { echo "fstests: no kernel at $kernel" >&2; exit 2; }
[ -x "$tree/check" ] || { echo "fstests: no fstests tree at $tree" >&2; exit 2; }
[ -x "$vng" ] || { echo "fstests: no vng at $vng (run make deps)" >&2; exit 2; }
PATH=$(dirname "$vng"):$PATH
mkdir -p "$out"
out=$(cd "$out" && pwd)
tree=$(cd "$tree" && pwd)
rm -f "$out/guest.rc" "$out/check.log" "$out/dmesg.txt"
accel=(--disable-kvm)
[ "${VMTEST_KVM:-0}" = 1 ] && accel=()
echo "# fstests: group $group, guest limit ${limit_s}s"
start=$(date +%s)
timeout -k 10 "$limit_s" \
	"$vng" --run "$kernel" "${accel[@]}" --cpus 2 --memory 8G \
	--append "no5lvl memmap=1G!4G memmap=1G!5G" \
	--rwdir "$out" -- \
	"$here/fstests-guest.sh" "$out" "$tree" "$top" "$group" \
	< /dev/null
vng_rc=$?
echo "# fstests: guest ran $(( $(date +%s) - start ))s (vng exit $vng_rc)"
if [ ! -f "$out/guest.rc" ]; then
	echo "# fstests: the guest did not finish (limit ${limit_s}s, crash or hang); partial log:"
	tail -n 40 "$out/check.log" 2>/dev/null
	exit 1
fi
# fstests' own summary
sed -n '/^Ran:/,$p' "$out/check.log"
exit "$(cat "$out/guest.rc")"
