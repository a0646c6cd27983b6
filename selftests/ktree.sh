#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ktree.sh: keep the kernel build tree and kernel/ (the exported series) in
# step.
#
#   ktree.sh prepare KSRC   create the tree if needed; (re)apply kernel/series
#                           when kernel/ changed since the last apply/export
#   ktree.sh export KSRC    kernel/ := git format-patch famfs-base..HEAD
#   ktree.sh reset KSRC     drop the tree's commits and apply kernel/series
#   ktree.sh buildeach KSRC build fs/fuse at every commit of the series
#                           (KCONFIG=the test kernel's .config), then
#                           buildmod
#   ktree.sh buildmod KSRC  build HEAD with fuse as a module (FUSE_FS=m):
#                           bzImage and fuse.ko in KSRC-each.mod
#
# The tree is a git repository: its first commit (tag famfs-base) is the
# pristine linux-source-6.12, so `git log famfs-base..` is the series.
# .git/famfs-applied records which kernel/ content the tree's HEAD matches;
# prepare never discards commits or edits that were not exported.
#
# Re-applying resets only the files the series touches, so their mtimes
# change and kbuild rebuilds just what depends on them.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
kdir=$top/kernel
cmd=${1:-}
ksrc=${2:-}
[ -n "$cmd" ] && [ -n "$ksrc" ] || { echo "usage: $0 prepare|export|reset|buildeach|buildmod KSRC" >&2; exit 2; }
tarball=${KERNEL_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
branch=famfs-bpf
stamp=$ksrc/.git/famfs-applied

log() { echo "  KTREE   $*"; }
die() { echo "ktree: $*" >&2; exit 1; }

series_patches() {
	[ -f "$kdir/series" ] || return 0
	grep -Ev '^[[:space:]]*(#|$)' "$kdir/series"
}

# Identity of kernel/: the series file and every patch it names.
series_hash() {
	{
		cat "$kdir/series" 2>/dev/null || true
		series_patches | while read -r p; do cat "$kdir/$p"; done
	} | sha256sum | cut -d' ' -f1
}

write_stamp() {
	printf '%s %s\n' "$(series_hash)" "$(git -C "$ksrc" rev-parse HEAD)" > "$stamp"
}

create_tree() {
	[ -f "$tarball" ] || die "$tarball missing: apt-get install linux-source-6.12"
	log "extract $(basename "$tarball")"
	rm -rf "$ksrc.tmp"
	mkdir -p "$ksrc.tmp"
	tar -xf "$tarball" -C "$ksrc.tmp" --strip-components=1
	cd "$ksrc.tmp"
	# Debian's .gitignore ignores the whole top level; restore upstream's.
	sed -i '/^# Debian packaging/,$d' .gitignore
	git init -q -b "$branch"
	git config user.name "famfs-bpf developers"
	git config user.email "devel@famfs-bpf.example.org"
	git config gc.auto 0
	git add -A
	git commit -q -m "Linux $(make -s kernelversion) from $(basename "$tarball")"
	git tag famfs-base
	cd - >/dev/null
	mv "$ksrc.tmp" "$ksrc"
}

apply_series() {
	git -C "$ksrc" checkout -q -B "$branch" famfs-base
	git -C "$ksrc" reset -q --hard famfs-base
	series_patches | while read -r p; do
		[ -f "$kdir/$p" ] || die "kernel/series names $p, which does not exist"
		git -C "$ksrc" am -q --keep-cr "$kdir/$p" ||
			{ git -C "$ksrc" am --abort; die "kernel/$p does not apply"; }
	done
	# The cover letter's subject and text become the branch description,
	# which export turns back into the cover letter.
	if [ -f "$kdir/0000-cover-letter.patch" ]; then
		awk '/^Subject: / { s = $0; sub(/^Subject: \[PATCH[^]]*\] /, "", s); hdr = 1; next }
		     hdr && /^ / { s = s $0; next }
		     hdr { print s; hdr = 0; body = 1 }
		     body && /^[^ ].* \([0-9]+\):$/ { exit }
		     body { print }' "$kdir/0000-cover-letter.patch" |
			sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' > "$ksrc/.git/famfs-cover"
		git -C "$ksrc" config "branch.$branch.description" "$(cat "$ksrc/.git/famfs-cover")"
	fi
	log "applied $(series_patches | wc -l) patches"
	write_stamp
}

prepare() {
	[ -d "$ksrc/.git" ] || create_tree
	git -C "$ksrc" rev-parse -q --verify famfs-base >/dev/null ||
		die "$ksrc has no famfs-base tag; remove it and run again"
	want=$(series_hash)
	have_hash=none have_head=none
	[ -f "$stamp" ] && read -r have_hash have_head < "$stamp"
	head=$(git -C "$ksrc" rev-parse HEAD)
	if [ "$want" = "$have_hash" ]; then
		[ "$head" = "$have_head" ] ||
			echo "ktree: note: $ksrc has commits not in kernel/; 'make kernel-export' to keep them" >&2
		return 0
	fi
	if [ "$have_hash" != none ]; then
		[ "$head" = "$have_head" ] && git -C "$ksrc" diff --quiet HEAD ||
			die "kernel/ changed, but $ksrc has work that is not in kernel/; 'make kernel-export' to keep it or 'make kernel-reset' to drop it"
	fi
	apply_series
}

export_series() {
	[ -d "$ksrc/.git" ] || die "no tree at $ksrc"
	git -C "$ksrc" diff --quiet HEAD || die "$ksrc has uncommitted changes: commit them first"
	n=$(git -C "$ksrc" rev-list --count famfs-base..HEAD)
	rm -f "$kdir"/[0-9][0-9][0-9][0-9]-*.patch
	mkdir -p "$kdir"
	cover=(--cover-letter --cover-from-description=subject)
	git -C "$ksrc" format-patch -q --no-signature --zero-commit \
		"${cover[@]}" -o "$kdir" famfs-base..HEAD
	# a stable date, so re-exporting an unchanged series changes nothing
	sed -i "s/^Date: .*/Date: $(git -C "$ksrc" log -1 --format=%aD)/" \
		"$kdir/0000-cover-letter.patch"
	{
		echo "# famfs-bpf kernel series against Linux 6.12, applied in this order"
		echo "# by 'git am' (selftests/ktree.sh). Regenerate: make kernel-export."
		(cd "$kdir" && ls [0-9][0-9][0-9][0-9]-*.patch | grep -v '^0000-cover-letter')
	} > "$kdir/series"
	cp "$ksrc/include/uapi/linux/fuse.h" "$top/include/uapi/linux/fuse.h"
	log "exported $n patches to kernel/"
	write_stamp
}

# Build fs/fuse at every commit of the series, with the test kernel's
# config, in a worktree next to the tree: "each patch builds" for a
# reviewer who bisects.  Then HEAD with CONFIG_FUSE_FMAP_BPF=n and with
# CONFIG_FUSE_FMAP=n, and HEAD with fuse as a module (buildmod).
each_worktree() {
	config=${KCONFIG:-}
	[ -f "$config" ] || die "$cmd: no kernel config at '$config' (build the test kernel first)"
	wt=$ksrc-each
	[ -d "$wt" ] || git -C "$ksrc" worktree add -q --detach "$wt" famfs-base
}

buildeach() {
	each_worktree
	out=$ksrc-each.out fail=0
	mkdir -p "$out"
	kb() { make -C "$wt" -s O="$out" CC="ccache gcc" "$@"; }
	for c in $(git -C "$ksrc" rev-list --reverse famfs-base..HEAD) off:FUSE_FMAP_BPF off:FUSE_FMAP; do
		case $c in
		off:*) git -C "$wt" checkout -q "$(git -C "$ksrc" rev-parse HEAD)"
		       what="HEAD with CONFIG_${c#off:}=n" ;;
		*) git -C "$wt" checkout -q "$c"
		   what=$(git -C "$ksrc" log -1 --format='%h %s' "$c") ;;
		esac
		cp "$config" "$out/.config"
		case $c in off:*) "$wt/scripts/config" --file "$out/.config" -d "${c#off:}" ;; esac
		kb olddefconfig >/dev/null 2>&1
		if kb -j"$(nproc)" fs/fuse/ >"$out/build.log" 2>&1; then
			echo "  OK      $what"
		else
			echo "  FAIL    $what"; tail -5 "$out/build.log"; fail=1
		fi
	done
	buildmod || fail=1
	return $fail
}

# HEAD with fuse as a module, as distributions build it (Debian's config
# has CONFIG_FUSE_FS=m), with FUSE_FMAP and FUSE_FMAP_BPF: the test
# kernel's config plus MODULES.  Only a whole build finds what a module
# may not use: modpost fails on a symbol the kernel does not export, and
# the BPF resolver needs fuse.ko's own BTF (DEBUG_INFO_BTF_MODULES, which
# wants vmlinux).  Its own output directory, so only the first run is
# cold; KSRC-each.mod/arch/x86/boot/bzImage and fs/fuse/fuse.ko can boot
# a guest that loads fuse as a module.
buildmod() {
	each_worktree
	local mout=$ksrc-each.mod what="HEAD with CONFIG_FUSE_FS=m" o
	kbm() { make -C "$wt" -s O="$mout" CC="ccache gcc" "$@"; }

	git -C "$wt" checkout -q "$(git -C "$ksrc" rev-parse HEAD)"
	mkdir -p "$mout"
	cp "$config" "$mout/.config"
	"$wt/scripts/config" --file "$mout/.config" -e MODULES -e MODULE_UNLOAD \
		-m FUSE_FS -e FUSE_FMAP -e FUSE_FMAP_BPF -e DEBUG_INFO_BTF_MODULES
	kbm olddefconfig >/dev/null 2>&1
	for o in FUSE_FS=m FUSE_FMAP=y FUSE_FMAP_BPF=y DEBUG_INFO_BTF_MODULES=y; do
		grep -qx "CONFIG_$o" "$mout/.config" ||
			{ echo "  FAIL    $what: CONFIG_$o did not take"; return 1; }
	done
	if kbm -j"$(nproc)" bzImage modules >"$mout/build.log" 2>&1 &&
	   [ -f "$mout/fs/fuse/fuse.ko" ]; then
		echo "  OK      $what"
	else
		echo "  FAIL    $what"; grep -E "ERROR|error:" "$mout/build.log" | head -5
		tail -5 "$mout/build.log"; return 1
	fi
}

case $cmd in
prepare) prepare ;;
buildeach) buildeach ;;
buildmod) buildmod ;;
export) export_series ;;
reset) [ -d "$ksrc/.git" ] || create_tree; apply_series ;;
*) echo "usage: $0 prepare|export|reset|buildeach|buildmod KSRC" >&2; exit 2 ;;
esac
