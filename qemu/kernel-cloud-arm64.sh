#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel-cloud-arm64.sh - the arm64 VM kernel: Debian 12's own cloud-arm64
# kernel, its headers made usable from this x86-64 machine, and an arm64
# busybox for the initramfs.
#
# Usage: [GMP_CACHE=dir] qemu/kernel-cloud-arm64.sh
#
# Leaves in $GMP_CACHE/kernels/cloud-arm64-<abi>/ (the interface of
# $GMP_CACHE/kernels/cloud, plus two files):
#   vmlinuz   Debian's Image (linux-image-<abi>-cloud-arm64-unsigned)
#   kdir      the headers gmp.ko builds against, with
#             ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
#   cmdline   extra kernel arguments (none)
#   arch      arm64: qemu/boot.sh boots it in qemu-system-aarch64
#   busybox   a static arm64 busybox (busybox-static:arm64)
# and points $GMP_CACHE/kernels/cloud-arm64 at it.  <abi> comes from
# bookworm's linux-headers-cloud-arm64 metapackage, as the amd64 one's does.
#
# Every package is fetched with qemu/apt-alt.sh (bookworm, arm64: this
# machine's dpkg never learns the architecture) and unpacked with dpkg -x.
# Debian's arm64 headers point their scripts/ and tools/ at the arm64
# linux-kbuild-6.1, whose programs (fixdep, modpost, genksyms) cannot run
# here; so the tree's linux-kbuild is bookworm's amd64 linux-kbuild-6.1 of
# the same version, unpacked beside it: the same sources built for this
# machine.  The headers' Makefile names the common headers by absolute path
# (/usr/src/...); it is pointed at the unpacked copy.  The compiler is
# Debian's gcc-aarch64-linux-gnu, gcc-12 like Debian's own arm64 build.
# Then qemu/abi-check.sh compares a module built here with Debian's
# virtio_console.ko.  Cold: about 40 MB fetched, a few seconds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
GMP_CACHE=${GMP_CACHE:-$HOME/.cache/gmp}
SUITE=bookworm
FLAVOUR=cloud-arm64
KBUILD_ARGS=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-)

say() { echo "kernel-cloud-arm64: $*" >&2; }
die() { say "error: $*"; exit 1; }

unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS \
	ARCH CROSS_COMPILE LLVM KBUILD_OUTPUT KERNELRELEASE

"$here/deps.sh" arm64
alt() { "$here/apt-alt.sh" "$SUITE" arm64 "$@"; }

mkdir -p "$GMP_CACHE/kernels"
exec 9>"$GMP_CACHE/kernels/.cloud-arm64.lock"
if ! flock -n 9; then
	say "another kernel-cloud-arm64.sh is fetching into $GMP_CACHE; waiting for it"
	flock 9
fi

abi=$(alt depends "linux-headers-$FLAVOUR" |
	sed -n "s/.*Depends: linux-headers-\(.*\)-$FLAVOUR\$/\1/p" | head -n1)
[ -n "$abi" ] || die "no linux-headers-$FLAVOUR in bookworm's arm64 package lists"
release=$abi-$FLAVOUR
ver=$(alt version "linux-headers-$release")
[ -n "$ver" ] || die "bookworm has no linux-headers-$release for arm64"
name=$FLAVOUR-$abi
out=$GMP_CACHE/kernels/$name
root=$out/root
kdir=$root/usr/src/linux-headers-$release

if [ -f "$out/vmlinuz" ] && [ -f "$out/busybox" ] && [ -f "$out/.gmp-ready" ]; then
	say "up to date: $out"
else
	t0=$(date +%s)
	say "fetching linux-image-$release-unsigned, its headers and busybox ($ver)"
	rm -rf "$out"
	mkdir -p "$out"
	alt download "$out/deb" "linux-image-$release-unsigned" "linux-headers-$release" \
		"linux-headers-$abi-common" busybox-static
	"$here/apt-alt.sh" "$SUITE" amd64 download "$out/deb" "linux-kbuild-6.1=$ver"
	for deb in "$out"/deb/*.deb; do dpkg -x "$deb" "$root"; done
	[ -x "$root/usr/lib/linux-kbuild-6.1/scripts/basic/fixdep" ] ||
		die "linux-kbuild-6.1 $ver did not unpack its programs"
	sed -i "s|^include /usr/src/|include $root/usr/src/|" "$kdir/Makefile"
	grep -q "^include $root/" "$kdir/Makefile" ||
		die "$kdir/Makefile does not include the common headers as expected"
	cp "$root/bin/busybox" "$out/busybox"
	ref=$(find "$root/lib/modules/$release" -name virtio_console.ko | head -n1)
	[ -n "$ref" ] || ref=$(find "$root/lib/modules/$release" -name '*.ko' | head -n1)
	"$here/abi-check.sh" "$kdir" "$ref" "${KBUILD_ARGS[@]}" ||
		die "a module built against $kdir would not load on Debian's $release"
	cp "$root/boot/vmlinuz-$release" "$out/vmlinuz"
	# Only the tree is needed from here on.
	rm -rf "$out/deb" "$root/lib/modules" "$root/boot" "$root/bin" "$root/usr/share"
	touch "$out/.gmp-ready"
	t=$(( $(date +%s) - t0 ))
	say "ready: $release in $((t / 60))m$((t % 60))s"
	for old in "$GMP_CACHE"/kernels/"$FLAVOUR"-*; do
		if [ -d "$old" ] && [ ! -L "$old" ] && [ "$old" != "$out" ]; then
			say "note: older kernel $old ($(du -sh "$old" | cut -f1)) can be removed"
		fi
	done
fi

echo "$kdir" >"$out/kdir"
: >"$out/cmdline"
echo arm64 >"$out/arch"
ln -sfn "$name" "$GMP_CACHE/kernels/$FLAVOUR"
say "kernel: $GMP_CACHE/kernels/$FLAVOUR -> $name"
