#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vmtest.sh: boot a kernel under virtme-ng and run the in-guest tests there.
#
#   vmtest.sh -k BZIMAGE -p TEST_PROGS -o OUTDIR [-t PATTERN]... [-T SECONDS]
#             [-L SECONDS] [-a APPEND] [-N SIZE]
#
# The guest gets three 1 GiB pmem regions in fsdax mode (memmap=SIZE!START,
# kept above 4G: lower starts overlap the PCI hole) and two 256 MiB
# virtio-blk disks (/dev/vda, /dev/vdb).  It sees the host's root read-only; OUTDIR is shared read-write and
# receives guest.tap, dmesg.txt and guest.rc.  On the host this script then
# fails the run if the guest did not finish, or if the kernel log shows a
# WARN/BUG/lockdep/KASAN/kmemleak/UBSAN/DEBUG_VM/hung-task report, and
# adds that verdict to kernel.tap.
#
# Time: -T bounds each test (default 600 s); -L bounds the whole guest, boot
# to kernel log (default VMTEST_LIMIT, or -T + 900 s).  test_progs gets -L
# less VMTEST_MARGIN (default 120 s: boot, kmemleak scan, log) as its run
# budget, so it ends its TAP itself.  If the guest still does not finish,
# every selected test that did not finish counts as one failure in
# kernel.tap: a short budget never turns into a missing result.
# -a adds to the guest's kernel command line.
# -N SIZE adds two NVDIMMs of SIZE each (e.g. 18G: devices past 16 GiB),
# backed by sparse files OUTDIR/nvdimm[01].img (removed at the end: only
# what the guest writes takes host memory or disk), for fs_large; the guest
# sees them as raw namespaces the test makes fsdax.  A file-backed mapping
# is not counted against the host's RAM as memmap's guest RAM would be
# (a 23 GB host cannot give the guest 8G + 2 x 18G of RAM).
#
# Acceleration: TCG by default, because the nested KVM on the development
# machines cannot run a kernel (see ENVIRONMENT.md).  VMTEST_KVM=1 uses KVM.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
kernel= out= filters=() timeout_s=600 limit_s= append_extra= nvdimm=
test_progs=$top/build/selftests/test_progs
vng=${VNG:-$top/build/venv/bin/vng}

usage() { echo "usage: $0 -k BZIMAGE -p TEST_PROGS -o OUTDIR [-t PATTERN]... [-T SECONDS] [-L SECONDS] [-a APPEND] [-N SIZE]" >&2; exit 2; }
while getopts "k:p:o:t:T:L:a:N:" opt; do
	case $opt in
	k) kernel=$OPTARG ;;
	p) test_progs=$OPTARG ;;
	o) out=$OPTARG ;;
	t) filters+=(-t "$OPTARG") ;;
	T) timeout_s=$OPTARG ;;
	L) limit_s=$OPTARG ;;
	a) append_extra=$OPTARG ;;
	N) nvdimm=$OPTARG ;;
	*) usage ;;
	esac
done
[ -n "$kernel" ] && [ -n "$out" ] || usage
[ -f "$kernel" ] || { echo "vmtest: no kernel at $kernel" >&2; exit 2; }
[ -x "$test_progs" ] || { echo "vmtest: no test_progs at $test_progs" >&2; exit 2; }
# the guest starts elsewhere: only absolute paths mean the same thing there
test_progs=$(realpath "$test_progs")
[ -x "$vng" ] || { echo "vmtest: no vng at $vng (run make deps)" >&2; exit 2; }
# vng runs its siblings (virtme-run, ...) from PATH
PATH=$(dirname "$vng"):$PATH
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/guest.tap" "$out/dmesg.txt" "$out/guest.rc" "$out/kernel.tap" "$out/kmemleak.txt"

# The disks for the block-device tests (vda, vdb): fresh contents every run.
rm -f "$out/disk0.img" "$out/disk1.img"
truncate -s 256M "$out/disk0.img"
truncate -s 256M "$out/disk1.img"

accel=(--disable-kvm)
[ "${VMTEST_KVM:-0}" = 1 ] && accel=()

# -N: two NVDIMMs (ACPI NFIT: not on a microvm), hot-pluggable memory
# beyond the guest's 8G.
nv=()
if [ -n "$nvdimm" ]; then
	rm -f "$out/nvdimm0.img" "$out/nvdimm1.img"
	truncate -s "$nvdimm" "$out/nvdimm0.img" "$out/nvdimm1.img" || exit 2
	nv_g=$(( ($(stat -c %s "$out/nvdimm0.img") + (1 << 30) - 1) >> 30 ))
	nv=(--disable-microvm --qemu-opts="-machine nvdimm=on -m 8G,slots=2,maxmem=$((8 + 2 * nv_g))G -object memory-backend-file,id=nv0,share=on,mem-path=$out/nvdimm0.img,size=$nvdimm -device nvdimm,id=nvdimm0,memdev=nv0 -object memory-backend-file,id=nv1,share=on,mem-path=$out/nvdimm1.img,size=$nvdimm -device nvdimm,id=nvdimm1,memdev=nv1")
	trap 'rm -f "$out/nvdimm0.img" "$out/nvdimm1.img"' EXIT
fi

# A whole-run bound: a guest that hangs must not hang the build (nor CI,
# which has 90 minutes for everything).  Not --foreground: on expiry the
# whole process group goes, QEMU included, not only vng.
guest_limit=${limit_s:-${VMTEST_LIMIT:-$((timeout_s + 900))}}
margin=${VMTEST_MARGIN:-120}
budget=$((guest_limit - margin))
if [ "$budget" -lt 30 ]; then
	# Not worth a boot: every selected test fails as not run.
	{
		echo "TAP version 13"
		n=0
		for t in $("$test_progs" -l "${filters[@]}"); do
			n=$((n + 1))
			echo "not ok $n $t # not run: ${guest_limit}s left for this guest, less than its boot"
		done
		echo "1..$n"
	} > "$out/kernel.tap"
	cat "$out/kernel.tap"
	exit 1
fi
echo "# guest limit ${guest_limit}s, test budget ${budget}s"
# no5lvl: TCG's "-cpu max" has LA57, and under 5-level paging a KASAN
# kernel reports a false wild-memory-access if an interrupt lands while
# identify_cpu() has the boot CPU's feature bits cleared (KASAN then
# assumes 4-level address ranges): rare, but it fails the log scan.
timeout -k 10 "$guest_limit" \
	"$vng" --run "$kernel" "${accel[@]}" "${nv[@]}" --cpus 2 --memory 8G \
	--append "no5lvl memmap=1G!4G memmap=1G!5G memmap=1G!6G${append_extra:+ $append_extra}" \
	--disk "$out/disk0.img" --disk "$out/disk1.img" --rwdir "$out" -- \
	"$here/guest-run.sh" "$out" "$test_progs" -T "$timeout_s" -B "$budget" "${filters[@]}" \
	< /dev/null
vng_rc=$?

# Verdicts the guest cannot give about itself.
{
	echo "TAP version 13"
	n=0 fail=0
	n=$((n + 1))
	if [ -f "$out/guest.rc" ] && grep -Eq '^1\.\.[0-9]+' "$out/guest.tap"; then
		echo "ok $n guest finished"
	elif [ -f "$out/guest.rc" ]; then
		echo "not ok $n guest finished # test_progs exited $(cat "$out/guest.rc") without completing its TAP"
		fail=1
	else
		echo "not ok $n guest finished # vng exited $vng_rc without results: crash, hang, boot failure or the ${guest_limit}s limit"
		fail=1
	fi
	# A guest that did not finish: the tests it never finished fail here,
	# one line each, so the summary counts them.
	if ! grep -Eq '^1\.\.[0-9]+' "$out/guest.tap" 2>/dev/null; then
		for t in $("$test_progs" -l "${filters[@]}"); do
			grep -q "^# time $t:" "$out/guest.tap" 2>/dev/null && continue
			n=$((n + 1))
			echo "not ok $n $t # did not finish: the guest stopped first"
		done
	fi
	n=$((n + 1))
	pattern='WARNING:|BUG:|Oops|general protection fault|KASAN|UBSAN|kernel BUG|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|unreferenced object|Kernel panic|INFO: task .* blocked|rcu_sched self-detected stall|sleeping function called from invalid context|Bad page (state|map)|page dumped because'
	if [ ! -f "$out/dmesg.txt" ]; then
		echo "not ok $n kernel log clean # no kernel log came back"
		fail=1
	elif grep -Eq "$pattern" "$out/dmesg.txt"; then
		echo "not ok $n kernel log clean"
		grep -E -A12 "$pattern" "$out/dmesg.txt" | head -60 | sed 's/^/# /'
		fail=1
	else
		echo "ok $n kernel log clean"
	fi
	echo "1..$n"
} > "$out/kernel.tap"
cat "$out/kernel.tap"

[ -f "$out/guest.rc" ] && [ "$(cat "$out/guest.rc")" = 0 ] && [ "$fail" = 0 ]
