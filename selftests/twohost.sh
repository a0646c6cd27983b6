#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# twohost.sh: two guests, one memory.  Boots two guests of one kernel at the
# same time under virtme-ng, both with one NVDIMM backed by the same host
# file (/dev/shm), and runs twohost-guest.sh in each: A owns the file
# system and writes, B mounts it read-only, follows A with logplay and
# checks every byte through read(2) and mmap; B cannot mount as owner
# while A owns (exit 36), and takes over with -o takeover once A's daemon
# died without unmounting and A's guest stopped (a dead host).
#
#   twohost.sh -k BZIMAGE -b BUILD_DIR -o OUTDIR [-T SECONDS]
#
# BUILD_DIR holds server/famfs-bpf (the guests see the host's root
# read-only).  OUTDIR is shared read-write with both guests; it receives
# twohost.tap (both guests' checks, then the host's verdicts: each guest
# finished, each kernel log is clean, as vmtest.sh), A.res, B.res (each
# guest's lines), A-dmesg.txt, B-dmesg.txt, A-console.txt, B-console.txt.  -T bounds each wait of one guest for the
# other (default 150 s); the whole run is bounded too (TWOHOST_LIMIT,
# default 3 x that + 120 s), after which both guests are killed.
#
# Needs ndctl on the host (the guests run the host's) and a kernel with
# CONFIG_ACPI_NFIT.  TCG by default (ENVIRONMENT.md); TWOHOST_KVM=1 for KVM.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
kernel= out= build=$top/build wait_s=150
vng=${VNG:-$top/build/venv/bin/vng}

usage() { echo "usage: $0 -k BZIMAGE -b BUILD_DIR -o OUTDIR [-T SECONDS]" >&2; exit 2; }
while getopts "k:b:o:T:" opt; do
	case $opt in
	k) kernel=$OPTARG ;;
	b) build=$OPTARG ;;
	o) out=$OPTARG ;;
	T) wait_s=$OPTARG ;;
	*) usage ;;
	esac
done
[ -n "$kernel" ] && [ -n "$out" ] || usage
mkdir -p "$out"
out=$(cd "$out" && pwd)
tap=$out/twohost.tap
rm -rf "$out/sync" "$tap" "$out/.fail"
for f in .res .rc -dmesg.txt -console.txt; do rm -f "$out/A$f" "$out/B$f"; done
start=$SECONDS

# Without a kernel, binaries or tools: one "not ok" that the summary counts.
cant() {
	printf 'TAP version 13\nnot ok 1 twohost: %s\n1..1\n' "$*" > "$tap"
	cat "$tap"
	exit 1
}
[ -f "$kernel" ] || cant "no kernel at $kernel"
build=$(realpath "$build")
[ -x "$build/server/famfs-bpf" ] || cant "no $build/server/famfs-bpf"
[ -x "$vng" ] || cant "no vng at $vng (run make deps)"
command -v ndctl > /dev/null || cant "no ndctl on the host (apt-get install ndctl)"
PATH=$(dirname "$vng"):$PATH

# The shared memory: sparse, gone at the end.
shm=/dev/shm/famfs-twohost-$$
truncate -s 1G "$shm" || cant "cannot create $shm"
trap 'rm -f "$shm"' EXIT

accel=(--disable-kvm)
[ "${TWOHOST_KVM:-0}" = 1 ] && accel=()
limit=${TWOHOST_LIMIT:-$((3 * wait_s + 120))}

# One guest; not --foreground: on expiry the whole group goes, QEMU too.
# no5lvl: 4-level paging, as vmtest.sh (a KASAN false positive under LA57).
guest() {
	timeout -k 10 "$limit" "$vng" --run "$kernel" "${accel[@]}" --disable-microvm \
		--cpus 1 --memory 4G --append no5lvl \
		--qemu-opts="-machine nvdimm=on -m 4G,slots=2,maxmem=8G -object memory-backend-file,id=nv0,share=on,mem-path=$shm,size=1G -device nvdimm,id=nvdimm0,memdev=nv0" \
		--rwdir "$out" -- "$here/twohost-guest.sh" "$1" "$out" "$build" "$wait_s" \
		< /dev/null > "$out/$1-console.txt" 2>&1
}

guest A &
pid_a=$!
guest B &
pid_b=$!
wait "$pid_a"
rc_A=$?
wait "$pid_b"
rc_B=$?
took=$((SECONDS - start))

{
	echo "TAP version 13"
	n=0 fail=0
	for role in A B; do
		[ -f "$out/$role.res" ] || continue
		while IFS= read -r line; do
			case $line in
			"ok - "*) n=$((n + 1)); echo "ok $n ${line#ok - }" ;;
			"not ok - "*) n=$((n + 1)); fail=1; echo "not ok $n ${line#not ok - }" ;;
			*) echo "$line" ;;
			esac
		done < "$out/$role.res"
	done
	pattern='WARNING:|BUG:|Oops|general protection fault|KASAN|UBSAN|kernel BUG|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|unreferenced object|Kernel panic|INFO: task .* blocked|rcu_sched self-detected stall|sleeping function called from invalid context'
	for role in A B; do
		eval "vrc=\$rc_$role"
		n=$((n + 1))
		if [ -f "$out/$role.rc" ]; then
			echo "ok $n guest $role finished"
		else
			echo "not ok $n guest $role finished # vng exited $vrc without results: crash, hang, boot failure or timeout (${limit}s)"
			tail -20 "$out/$role-console.txt" 2>/dev/null | sed 's/^/# /'
			fail=1
		fi
		n=$((n + 1))
		if [ ! -f "$out/$role-dmesg.txt" ]; then
			echo "not ok $n guest $role kernel log clean # no kernel log came back"
			fail=1
		elif grep -Eq "$pattern" "$out/$role-dmesg.txt"; then
			echo "not ok $n guest $role kernel log clean"
			grep -E -A12 "$pattern" "$out/$role-dmesg.txt" | head -60 | sed 's/^/# /'
			fail=1
		else
			echo "ok $n guest $role kernel log clean"
		fi
	done
	echo "# two-guest run took ${took}s"
	echo "1..$n"
	echo "$fail" > "$out/.fail"
} > "$tap"
cat "$tap"
[ "$(cat "$out/.fail")" = 0 ]
