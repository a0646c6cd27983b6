#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# modtest.sh -k KOUT -p TEST_PROGS -o OUTDIR [-t FILTER]...
#
# Fuse as distributions ship it: boot the CONFIG_FUSE_FS=m kernel that
# `ktree.sh buildmod` builds in KOUT (KSRC-each.mod), load KOUT's
# fs/fuse/fuse.ko, check that the BPF resolver registered (fuse.ko's
# BTF is there, no "BPF resolver not available"), then run the selected
# guest tests (default: a BPF attach and the read/write paths) with
# guest-run.sh.  TAP in OUTDIR/modtest.tap; exits non-zero on any failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
kout= test_progs= out= filters=()
while getopts k:p:o:t: opt; do
	case $opt in
	k) kout=$OPTARG ;;
	p) test_progs=$OPTARG ;;
	o) out=$OPTARG ;;
	t) filters+=(-t "$OPTARG") ;;
	*) echo "usage: $0 -k KOUT -p TEST_PROGS -o OUTDIR [-t FILTER]..." >&2; exit 2 ;;
	esac
done
[ -n "$kout" ] && [ -n "$test_progs" ] && [ -n "$out" ] ||
	{ echo "usage: $0 -k KOUT -p TEST_PROGS -o OUTDIR [-t FILTER]..." >&2; exit 2; }
mkdir -p "$out"
# the guest runs its tests from /tmp
kout=$(realpath "$kout") test_progs=$(realpath "$test_progs") out=$(realpath "$out")
kernel=$kout/arch/x86/boot/bzImage
ko=$kout/fs/fuse/fuse.ko
for f in "$kernel" "$ko" "$test_progs"; do
	[ -f "$f" ] || { echo "modtest: $f missing (make kernel-buildeach builds KOUT)" >&2; exit 2; }
done
[ ${#filters[@]} -gt 0 ] ||
	filters=(-t 'fmap_bpf_ops/attach_detach' -t 'fmap_bpf_ops/one_map_two_links' -t 'fmap_rw/*')
vng=${VNG:-$(dirname "$here")/build/venv/bin/vng}
# vng runs its siblings (virtme-run, ...) from PATH
PATH=$(dirname "$vng"):$PATH
mkdir -p "$out"
rm -f "$out/guest.tap" "$out/guest.rc" "$out/dmesg.txt" "$out/modtest.tap"

# In the guest: load fuse.ko, check the resolver, then the tests
cat > "$out/guest-mod.sh" <<'EOF'
#!/bin/bash
set -u
out=$1 ko=$2 here=$3
shift 3
{
	echo "TAP version 13"
	if insmod "$ko"; then echo "ok 1 insmod fuse.ko"; else echo "not ok 1 insmod fuse.ko"; fi
	if grep -q '^fuse ' /proc/modules; then echo "ok 2 fuse is a module"; else echo "not ok 2 fuse is a module"; fi
	if [ -f /sys/kernel/btf/fuse ]; then echo "ok 3 fuse.ko has BTF"; else echo "not ok 3 fuse.ko has BTF"; fi
	if dmesg | grep -q 'BPF resolver not available'; then
		echo "not ok 4 BPF resolver registered # $(dmesg | grep 'BPF resolver not available')"
	else
		echo "ok 4 BPF resolver registered"
	fi
	echo "1..4"
} > "$out/load.tap"
cat "$out/load.tap"
exec "$here/guest-run.sh" "$out" "$@"
EOF
chmod +x "$out/guest-mod.sh"

# Booted from a copy: vng would take modules from KOUT (.virtme_mods) and
# boot through an initramfs; fuse.ko is loaded by hand instead.
cp "$kernel" "$out/bzImage"
timeout -k 10 "${MODTEST_LIMIT:-1500}" \
	"$vng" --run "$out/bzImage" --disable-kvm --cpus 2 --memory 8G \
	--append "no5lvl memmap=1G!4G memmap=1G!5G memmap=1G!6G" --rwdir "$out" -- \
	"$out/guest-mod.sh" "$out" "$ko" "$here" "$test_progs" "${filters[@]}" < /dev/null
vng_rc=$?

{
	cat "$out/load.tap" 2>/dev/null || echo "not ok 1 fuse.ko loaded # vng exited $vng_rc before it ran"
	if [ -f "$out/guest.rc" ] && grep -Eq '^1\.\.[0-9]+' "$out/guest.tap"; then
		echo "ok - guest tests finished"
	else
		echo "not ok - guest tests finished # vng exited $vng_rc"
	fi
	grep -E '^(ok|not ok) ' "$out/guest.tap" 2>/dev/null
	pattern='WARNING:|BUG:|Oops|general protection fault|KASAN|kernel BUG|Kernel panic|INFO: task .* blocked'
	if [ -f "$out/dmesg.txt" ] && ! grep -Eq "$pattern" "$out/dmesg.txt"; then
		echo "ok - kernel log clean"
	else
		echo "not ok - kernel log clean"
		grep -E "$pattern" "$out/dmesg.txt" 2>/dev/null | head -5 | sed 's/^/# /'
	fi
} > "$out/modtest.tap"
cat "$out/modtest.tap"
! grep -q '^not ok' "$out/modtest.tap"
