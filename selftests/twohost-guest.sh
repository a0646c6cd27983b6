#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# twohost-guest.sh ROLE OUTDIR BUILD [TIMEOUT]: one of the two guests of
# twohost.sh.  Both see one NVDIMM backed by the same host file; OUTDIR is
# shared read-write and carries the handshake (OUTDIR/sync/NAME files),
# the checksums A computed, and each guest's results: ROLE.res (TAP lines
# without numbers or plan: the host numbers them; not *.tap, which
# summary.sh would count twice), ROLE-dmesg.txt, ROLE.rc.
#
#   A (the owner): fsdax namespace, mkfs, mount, write files   -> A1
#   B (follower):  re-probe the namespace, mount -o ro, check,
#                  writes fail with EROFS                       -> B1
#   A: write more, delete, rename                               -> A2
#   B: logplay, check again                                     -> B2
#   A: the owner dies: its daemon SIGKILLed, no unmount, the
#      guest stops (a dead host: its owner record stays held)   -> A3
#   B (phase 1, while A owns): an owner mount is refused (exit
#      36, the line names guest-A), -o takeover too (A is alive)
#   B (after A3 and A's guest finished): an owner mount is
#      still refused; -o takeover waits out A's lease and
#      mounts; A's files are intact; B writes, unmounts (the
#      record released), fsck is clean, a plain mount works
#
# Every wait is bounded by TIMEOUT seconds (default 150); a side that gives
# up leaves ROLE.failed, and the other stops waiting for it at once.
set -u
role=$1
out=$2
build=$3
limit=${4:-150}
fb=$build/server/famfs-bpf
mnt=/tmp/famfs
dev=/dev/pmem0
sync=$out/sync
tap=$out/$role.res
MiB=$((1 << 20))
n=0 fails=0
other=A
[ "$role" = A ] && other=B

: > "$tap"
ok() { echo "ok - $role: $*" >> "$tap"; echo "ok - $role: $*"; }
notok() {
	echo "not ok - $role: $*" >> "$tap"; echo "not ok - $role: $*"
	fails=$((fails + 1))
}
# check DESCRIPTION CMD...: one TAP line
check() {
	local d=$1
	shift
	if "$@" > /tmp/check.out 2>&1; then
		ok "$d"
	else
		notok "$d"
		sed 's/^/# /' /tmp/check.out | head -20 >> "$tap"
	fi
}
finish() {
	dmesg > "$out/$role-dmesg.txt"
	[ "$fails" = 0 ] || touch "$sync/$role.failed"
	echo "$fails" > "$out/$role.rc"
	exit 0
}
# Give up: the other side must not wait for us.
bail() {
	notok "$*"
	touch "$sync/$role.failed"
	mountpoint -q "$mnt" && umount "$mnt"
	finish
}
signal() { touch "$sync/$1"; }
# wait_for NAME: bounded; the other side's failure ends it early
wait_for() {
	local end=$((SECONDS + limit))

	while [ ! -e "$sync/$1" ]; do
		[ -e "$sync/$other.failed" ] && bail "$other failed before $1"
		[ "$SECONDS" -ge "$end" ] && bail "no $1 from $other within ${limit}s"
		sleep 0.5
	done
}
# wait_dax: /dev/pmem0 in fsdax mode, bounded
wait_dax() {
	local end=$((SECONDS + 30))

	until [ -b "$dev" ] && [ "$(cat /sys/block/pmem0/queue/dax 2>/dev/null)" = 1 ]; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.2
	done
}

. "$(dirname "$0")/sums.sh"
# same_sums WANT HOW: the mount's files are exactly WANT's, by HOW
same_sums() {
	"sums_$2" "$mnt" | sort -k2 > "/tmp/sums.$2"
	diff "$1" "/tmp/sums.$2"
}
# erofs CMD...: fails, and with EROFS
erofs() {
	"$@" 2> /tmp/erofs.err && { echo "succeeded"; return 1; }
	cat /tmp/erofs.err
	grep -q 'Read-only file system' /tmp/erofs.err
}
pyerofs() {
	python3 - "$@" <<'EOF'
import errno, os, sys
op, path = sys.argv[1], sys.argv[2]
try:
    if op == 'setxattr':
        os.setxattr(path, 'user.famfs.stripe', b'1 2097152')
    elif op == 'write':
        fd = os.open(path, os.O_WRONLY)
        os.write(fd, b'x')
    elif op == 'truncate':
        os.truncate(path, 0)
    elif op == 'mmap-write':
        import mmap
        fd = os.open(path, os.O_RDWR)
        mmap.mmap(fd, 4096, prot=mmap.PROT_WRITE)
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
    sys.exit(0 if e.errno == errno.EROFS else 1)
print('succeeded')
sys.exit(1)
EOF
}
# owner_refused DESCRIPTION CMD...: a mount as owner refused with exit 36,
# its line naming A's host; unmounted again if it got through
owner_refused() {
	local d=$1 rc
	shift
	"$@" > /tmp/own.out 2>&1
	rc=$?
	sed 's/^/# /' /tmp/own.out >> "$tap"
	if [ "$rc" = 36 ] && grep -q 'in use.*guest-A' /tmp/own.out; then
		ok "$d: refused, exit 36, names guest-A"
	else
		notok "$d: refused, exit 36, names guest-A # exit $rc"
		mountpoint -q "${*: -1}" && umount "${*: -1}"
	fi
}
# owner_state STATE GENERATION: the superblock's owner record (FORMAT.md)
# as read from the device, not this host's cache
owner_state() {
	local st gen
	dd if="$dev" bs=4096 count=1 iflag=direct 2>/dev/null > /tmp/sb.bin || return 1
	st=$(od -An -t u4 -j 2564 -N 4 /tmp/sb.bin | tr -d ' ')
	gen=$(od -An -t u8 -j 2576 -N 8 /tmp/sb.bin | tr -d ' ')
	echo "state $st generation $gen"
	[ "$st" = "$1" ] && [ "$gen" = "$2" ]
}
stat_of() { "$fb" stats "$mnt" | awk -v k="$1" '$1 == k { print $2 }'; }

mkdir -p "$sync" "$mnt"
mountpoint -q /sys/fs/fuse/connections || mount -t fusectl nodev /sys/fs/fuse/connections
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
cd /tmp || exit 1
# the owner record names the host: give each guest its own name
echo "guest-$role" > /proc/sys/kernel/hostname
echo "# $role: $(uname -r), $(nproc) cpus, host $(cat /proc/sys/kernel/hostname)"

# ---- A: owner ----
run_a() {
	local t0=$SECONDS

	# --map=mem: each host keeps the struct pages of the memory in its own
	# RAM.  With the default (map=dev) they live on the device, which the
	# hosts share, so one host's faults write its page->mapping pointers
	# into the other's page structs (the other host's DAX core then warns
	# at truncate, and its owner check sees foreign owners).
	check "ndctl create-namespace makes the NVDIMM fsdax (map=mem)" \
		ndctl create-namespace -f -e namespace0.0 -m fsdax --map=mem
	wait_dax || bail "$dev: no fsdax block device after ndctl"
	check "mkfs" "$fb" mkfs -f "$dev"
	check "mount (owner)" "$fb" mount "$dev" "$mnt"
	mountpoint -q "$mnt" || bail "not mounted"

	# a few MiB of random bytes, a small tree; one device: plain files
	mkdir -p "$mnt/tree/sub" || bail "mkdir"
	head -c $((4 * MiB + 12345)) /dev/urandom > "$mnt/big" &&
		head -c 1000 /dev/urandom > "$mnt/tree/a" &&
		head -c $((3 * MiB)) /dev/urandom > "$mnt/tree/sub/b" &&
		printf 'hello from A\n' > "$mnt/tree/sub/c" &&
		: > "$mnt/empty" && ok "write files" || notok "write files"
	sums_read "$mnt" | sort -k2 > "$sync/sums1"
	check "files read back by mmap" same_sums "$sync/sums1" mmap
	local rc
	"$fb" logplay "$mnt" > /tmp/lp.out 2>&1
	rc=$?
	if [ "$rc" = 50 ] && grep -q 'is the owner' /tmp/lp.out; then
		ok "logplay on the owner: refused, exit 50"
	else
		notok "logplay on the owner: refused, exit 50 # exit $rc: $(head -c 200 /tmp/lp.out)"
	fi
	echo "# A: phase 1 took $((SECONDS - t0))s"
	signal A1

	wait_for B1
	# more data, an append to a file B has read, a delete, a rename
	head -c $((2 * MiB + 7)) /dev/urandom > "$mnt/tree/new" &&
		head -c $((3 * MiB)) /dev/urandom >> "$mnt/big" &&
		rm "$mnt/tree/a" &&
		mv "$mnt/tree/sub/c" "$mnt/tree/c2" &&
		mkdir "$mnt/dir2" && ok "write, append, delete, rename" ||
		notok "write, append, delete, rename"
	sums_read "$mnt" | sort -k2 > "$sync/sums2"
	signal A2

	wait_for B2
	# a dead host: the daemon goes without unmounting, then the guest stops
	local p daemon=
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe")" = "$(realpath "$fb")" ] && daemon=${p#/proc/}
	done
	check "the owner record says held (state 1), generation 1" owner_state 1 1
	if [ -n "$daemon" ] && kill -9 "$daemon"; then
		ok "the owner's daemon (pid $daemon) SIGKILLed: no unmount, the lease left held"
	else
		notok "SIGKILL the owner's daemon # none found"
	fi
	signal A3
}

# ---- B: read-only follower ----
run_b() {
	local t0 rc applied

	wait_for A1
	t0=$SECONDS
	# booted before A made the namespace fsdax: probe it again
	check "ndctl re-enables the namespace" sh -c \
		'ndctl disable-namespace namespace0.0 && ndctl enable-namespace namespace0.0'
	wait_dax || bail "$dev: not fsdax here after A made it so"
	ok "sees $dev in fsdax mode"
	check "mount -o ro (follower)" "$fb" mount -o ro "$dev" "$mnt"
	mountpoint -q "$mnt" || bail "not mounted"
	check "mountinfo says ro" sh -c "grep ' $mnt ' /proc/self/mountinfo | grep -q ' ro[ ,]'"
	check "sees A's files, read(2) byte-identical" same_sums "$sync/sums1" read
	check "sees A's files, mmap byte-identical" same_sums "$sync/sums1" mmap

	check "create fails with EROFS" erofs touch "$mnt/nope"
	check "append fails with EROFS" erofs sh -c "echo x >> $mnt/big"
	check "write(2) to an existing file fails with EROFS" pyerofs write "$mnt/tree/a"
	check "truncate fails with EROFS" pyerofs truncate "$mnt/big"
	check "writable shared mmap fails with EROFS" pyerofs mmap-write "$mnt/big"
	check "mkdir fails with EROFS" erofs mkdir "$mnt/nodir"
	check "rm fails with EROFS" erofs rm "$mnt/tree/a"
	check "mv fails with EROFS" erofs mv "$mnt/big" "$mnt/big2"
	check "setxattr fails with EROFS" pyerofs setxattr "$mnt/big"
	check "nothing changed" same_sums "$sync/sums1" read
	local bpf up
	bpf=$(stat_of bpf_resolves)
	up=$(stat_of upcalls)
	"$fb" stats "$mnt" | sed 's/^/# /' >> "$tap"
	if [ "${bpf:-0}" -gt 0 ]; then
		ok "mappings came from the BPF resolver (bpf_resolves $bpf, upcalls ${up:-?})"
	else
		notok "mappings came from the BPF resolver (bpf_resolves ${bpf:-none}, upcalls ${up:-?})"
	fi
	# one owner across hosts: A owns the log, so B cannot
	mkdir -p /tmp/famfs-own
	owner_refused "owner mount while A owns" "$fb" mount "$dev" /tmp/famfs-own
	owner_refused "-o takeover while A is alive" "$fb" mount -o takeover "$dev" /tmp/famfs-own
	grep -q 'is alive' /tmp/own.out &&
		ok "-o takeover said A is alive" || notok "-o takeover said A is alive"
	echo "# B: phase 1 took $((SECONDS - t0))s"
	signal B1

	wait_for A2
	t0=$SECONDS
	"$fb" logplay "$mnt" > /tmp/lp.out 2>&1
	rc=$?
	sed 's/^/# /' /tmp/lp.out >> "$tap"
	applied=$(sed -n 's/.*applied \([0-9]*\) log entr.*/\1/p' /tmp/lp.out)
	if [ "$rc" = 0 ] && [ "${applied:-0}" -gt 0 ]; then
		ok "logplay applied $applied entries"
	else
		notok "logplay applied entries # exit $rc"
	fi
	check "after logplay: read(2) byte-identical, new, appended, gone, renamed" \
		same_sums "$sync/sums2" read
	check "after logplay: mmap byte-identical" same_sums "$sync/sums2" mmap
	check "the deleted file is gone" sh -c "! [ -e $mnt/tree/a ]"
	check "the new directory is there" test -d "$mnt/dir2"
	check "the appended file has its new size" \
		sh -c "[ \$(stat -c %s $mnt/big) = $((7 * MiB + 12345)) ]"
	"$fb" logplay "$mnt" > /tmp/lp.out 2>&1
	rc=$?
	if [ "$rc" = 0 ] && grep -q 'applied 0 log entries' /tmp/lp.out; then
		ok "logplay again: nothing new"
	else
		notok "logplay again: nothing new # exit $rc: $(head -c 200 /tmp/lp.out)"
	fi
	check "still read-only after logplay" erofs touch "$mnt/nope2"
	# the maps followed (no upcall), the kernel dropped what it had cached
	local bpf2 up2 inval
	bpf2=$(stat_of bpf_resolves)
	up2=$(stat_of upcalls)
	inval=$(stat_of invalidations)
	"$fb" stats "$mnt" | sed 's/^/# /' >> "$tap"
	if [ "${bpf2:-0}" -gt "${bpf:-0}" ] && [ "${up2:-1}" = "${up:-0}" ] &&
	   [ "${inval:-0}" -gt 0 ]; then
		ok "after logplay: mappings from BPF (bpf_resolves $bpf -> $bpf2, upcalls $up2), $inval invalidated"
	else
		notok "after logplay: mappings from BPF (bpf_resolves $bpf -> ${bpf2:-?}, upcalls ${up:-?} -> ${up2:-?}, invalidations ${inval:-?})"
	fi
	echo "# B: phase 2 took $((SECONDS - t0))s"
	check "umount (follower)" "$fb" umount "$mnt"
	signal B2
	wait_for A3

	# A's host is dead: its daemon was killed, its guest has stopped
	local end=$((SECONDS + limit))
	while [ ! -e "$out/A.rc" ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.5; done
	t0=$SECONDS
	owner_refused "owner mount after A died, without -o takeover" \
		"$fb" mount "$dev" "$mnt"
	"$fb" mount -o takeover "$dev" "$mnt" > /tmp/own.out 2>&1
	rc=$?
	sed 's/^/# /' /tmp/own.out >> "$tap"
	if [ "$rc" = 0 ] && mountpoint -q "$mnt"; then
		ok "mount -o takeover after A died ($((SECONDS - t0))s)"
	else
		bail "mount -o takeover after A died # exit $rc"
	fi
	check "after takeover: A's files, read(2) byte-identical" same_sums "$sync/sums2" read
	check "after takeover: A's files, mmap byte-identical" same_sums "$sync/sums2" mmap
	check "after takeover: B writes" sh -c "printf 'B owns it\n' > $mnt/from-b && mkdir $mnt/dir-b"
	check "umount (new owner)" "$fb" umount "$mnt"
	check "the owner record says released (state 2), generation 2" owner_state 2 2
	check "fsck after the takeover is clean" "$fb" fsck "$dev"
	"$fb" mount "$dev" "$mnt" > /tmp/own.out 2>&1
	rc=$?
	sed 's/^/# /' /tmp/own.out >> "$tap"
	if [ "$rc" = 0 ] && ! grep -q 'took over' /tmp/own.out; then
		ok "a plain owner mount after B released it, nothing taken over"
	else
		notok "a plain owner mount after B released it, nothing taken over # exit $rc"
	fi
	check "the owner record says held (state 1), generation 3" owner_state 1 3
	check "B's file is there" grep -q 'B owns it' "$mnt/from-b"
	check "umount" "$fb" umount "$mnt"
	echo "# B: takeover phase took $((SECONDS - t0))s"
}

case $role in
A) run_a ;;
B) run_b ;;
*) echo "twohost-guest.sh: ROLE is A or B" >&2; exit 2 ;;
esac
finish
