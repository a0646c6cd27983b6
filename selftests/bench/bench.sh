#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh -k BZIMAGE -b FAMFS_BENCH -o OUTDIR: boot the test kernel once
# under virtme-ng (the devices of selftests/vmtest.sh, pmem0..2, 1 GiB
# each, fsdax, and pmem3 for the ext4 reference), run famfs-bench there, then report on the host:
# OUTDIR/raw.jsonl -> the table and ratios on the terminal, results.json,
# scaling.svg (report.py).  The benchmark reports; a missed goal does not
# fail it.  It fails when the guest did not finish or its kernel log has a
# WARN/BUG/... report.
#
# BENCH_* variables (BENCH_QUICK=1, BENCH_CASES=..., sizes: see bench.c)
# reach the guest through its environment.  VMTEST_KVM=1 uses KVM.
# BENCH_CPUS (default 1) sets the guest's CPUs: under TCG on a busy host an
# upcall's cross-CPU wake-up waits for the host to run the other vCPU, so
# upcall numbers swing by 100x between runs; one vCPU keeps the server on
# the same CPU and the numbers repeatable (BENCH_CPUS=2 for the other way).
set -u

here=$(cd "$(dirname "$0")" && pwd)
kernel= bench= out=
vng=${VNG:-$here/../../build/venv/bin/vng}

usage() { echo "usage: $0 -k BZIMAGE -b FAMFS_BENCH -o OUTDIR" >&2; exit 2; }
while getopts "k:b:o:" opt; do
	case $opt in
	k) kernel=$OPTARG ;;
	b) bench=$OPTARG ;;
	o) out=$OPTARG ;;
	*) usage ;;
	esac
done
[ -n "$kernel" ] && [ -n "$bench" ] && [ -n "$out" ] || usage
[ -f "$kernel" ] || { echo "bench: no kernel at $kernel" >&2; exit 2; }
[ -x "$bench" ] || { echo "bench: no famfs-bench at $bench" >&2; exit 2; }
[ -x "$vng" ] || { echo "bench: no vng at $vng (run make deps)" >&2; exit 2; }
bench=$(realpath "$bench")
PATH=$(dirname "$vng"):$PATH
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out"/raw.jsonl "$out"/guest.log "$out"/guest.rc "$out"/dmesg.txt \
	"$out"/results.json "$out"/scaling.svg "$out"/table.txt

accel=(--disable-kvm)
[ "${VMTEST_KVM:-0}" = 1 ] && accel=()

# the guest inherits neither the environment nor the cwd: BENCH_* reach it
# through a file in OUTDIR (values may hold spaces: BENCH_CASES="miss seq")
while IFS='=' read -r name _; do
	printf 'export %s=%q\n' "$name" "${!name}"
done < <(env | grep -E '^BENCH_[A-Z_]+=') > "$out/bench.env"

echo "  BENCH   guest run ($(basename "$kernel"), TCG: expect a few minutes)"
start=$(date +%s)
timeout --foreground -k 10 1800 \
	"$vng" --run "$kernel" "${accel[@]}" --cpus "${BENCH_CPUS:-1}" --memory 8G \
	--append "memmap=1G!4G memmap=1G!5G memmap=1G!6G memmap=1G!7G" \
	--rwdir "$out" -- \
	"$here/guest-bench.sh" "$out" "$bench" < /dev/null
vng_rc=$?
echo "  BENCH   guest finished in $(( $(date +%s) - start )) s (vng rc $vng_rc)"

fail=0
if [ ! -f "$out/guest.rc" ] || [ "$(cat "$out/guest.rc")" != 0 ]; then
	echo "bench: the guest did not finish (see $out/guest.log)" >&2
	fail=1
fi
pattern='WARNING:|BUG:|Oops|general protection fault|KASAN|UBSAN|kernel BUG|possible circular locking|inconsistent lock state|suspicious RCU usage|Kernel panic|INFO: task .* blocked|rcu_sched self-detected stall|sleeping function called from invalid context'
if [ -f "$out/dmesg.txt" ] && grep -Eq "$pattern" "$out/dmesg.txt"; then
	echo "bench: the guest kernel log has a report:" >&2
	grep -E -A12 "$pattern" "$out/dmesg.txt" | head -40 >&2
	fail=1
fi
if [ -s "$out/raw.jsonl" ]; then
	python3 "$here/report.py" "$out" || fail=1
fi
exit $fail
