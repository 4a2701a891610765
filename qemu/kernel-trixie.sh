#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel-trixie.sh - the 6.12 VM kernel: Debian 13 ("trixie")'s own
# cloud-amd64 kernel, and a tree that gmp.ko builds against for it.
#
# Usage: [GMP_CACHE=dir] [JOBS=n] qemu/kernel-trixie.sh
#
# Leaves in $GMP_CACHE/kernels/trixie-<abi>/ (the interface of
# $GMP_CACHE/kernels/cloud):
#   vmlinuz   Debian's image (linux-image-<abi>-cloud-amd64-unsigned)
#   kdir      the tree out-of-tree modules build against
#   cmdline   extra kernel arguments (none)
#   config    Debian's config (its headers'), config.diff what gcc-12
#             changed in it, prepare.log what make said
# and points $GMP_CACHE/kernels/trixie at it.  <abi> comes from trixie's
# linux-image-cloud-amd64 metapackage, as the 6.1 kernel's does from
# bookworm's.  The packages come from the trixie archive through
# qemu/apt-alt.sh (a sources list of its own: trixie is never added to
# this machine's apt, whose libc it would replace).
#
# Why a tree prepared here, not Debian's headers: trixie's headers were
# configured by gcc-14 (CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT and other
# tests of the compiler are baked into them, so gcc-12 is handed flags it
# does not know), and gcc-14 needs trixie's libc.  The choice measured
# (docs/testing.md has the figures): a trixie debootstrap with gcc-14 in
# the cache works too, but every module build then runs in a chroot (root
# only, the sources copied in, libelf and pahole installed there too);
# this tree costs one source extraction and a modules_prepare, builds as
# any user, and uses the compiler every other build here uses.
#
# So: Debian's linux-source-6.12 of the same version, configured with the
# image's own config (olddefconfig redoes only the compiler tests: any
# other change fails the build), KERNELRELEASE set to Debian's, and the
# Module.symvers of Debian's headers package, so that every imported
# symbol's CRC is the running kernel's.  Then a trivial module built
# against the tree must have Debian's vermagic and the same struct module
# size as Debian's own modules: the layouts a loader checks agree.
# A cold run takes about half a minute on two cores (the source is 154 MB
# to fetch, 1.7 GB extracted); a warm one returns in a second.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
GMP_CACHE=${GMP_CACHE:-$HOME/.cache/gmp}
JOBS=${JOBS:-2}
SUITE=trixie
FLAVOUR=cloud-amd64
SRCPKG=linux-source-6.12
# Only what olddefconfig may change when gcc-12 replaces gcc-14: the
# compiler's, assembler's, linker's, pahole's and rustc's versions and
# capability tests.
COMPILER_OPTS='^CONFIG_(CC_|GCC_|AS_|LD_|PAHOLE_|RUSTC_|TOOLS_SUPPORT_)'

say() { echo "kernel-trixie: $*" >&2; }
die() { say "error: $*"; exit 1; }

unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS \
	ARCH CROSS_COMPILE LLVM KBUILD_OUTPUT KCONFIG_CONFIG KCONFIG_ALLCONFIG \
	KERNELRELEASE

"$here/deps.sh" kbuild
alt() { "$here/apt-alt.sh" "$SUITE" amd64 "$@"; }

mkdir -p "$GMP_CACHE/src" "$GMP_CACHE/kernels"
exec 9>"$GMP_CACHE/kernels/.trixie.lock"
if ! flock -n 9; then
	say "another kernel-trixie.sh is preparing $GMP_CACHE; waiting for it"
	flock 9
fi

abi=$(alt depends "linux-image-$FLAVOUR" |
	sed -n "s/.*Depends: linux-image-\(.*\)-$FLAVOUR\$/\1/p" | head -n1)
[ -n "$abi" ] || die "no linux-image-$FLAVOUR in trixie's package lists ($GMP_CACHE/apt/$SUITE-amd64)"
release=$abi-$FLAVOUR
ver=$(alt version "linux-image-$release-unsigned")
srcver=$(alt version "$SRCPKG")
[ -n "$ver" ] || die "trixie has no linux-image-$release-unsigned"
[ "$ver" = "$srcver" ] ||
	die "trixie's $SRCPKG is $srcver but its kernel is $ver: the tree would not match the image"

name=$SUITE-$abi
out=$GMP_CACHE/kernels/$name
build=$out/build
src=$GMP_CACHE/src/$SRCPKG-$ver
debs=$out/deb

if [ -f "$out/vmlinuz" ] && [ -f "$build/.gmp-ready" ]; then
	say "up to date: $out"
else
	t0=$(date +%s)
	mkdir -p "$out"
	if [ ! -f "$out/vmlinuz" ] || [ ! -f "$out/Module.symvers" ]; then
		say "fetching linux-image-$release-unsigned and its headers ($ver)"
		rm -rf "$debs" "$out/root"
		alt download "$debs" "linux-image-$release-unsigned" "linux-headers-$release"
		for deb in "$debs"/*.deb; do dpkg -x "$deb" "$out/root"; done
		# The headers' .config, not /boot's: Debian strips the build
		# salt and the signing settings from the one in /boot.
		cp "$out/root/usr/src/linux-headers-$release/.config" "$out/config"
		cp "$out/root/usr/src/linux-headers-$release/Module.symvers" "$out/Module.symvers"
		# One of Debian's own modules, for the ABI check below.
		ref=$(find "$out/root/usr/lib/modules/$release" -name 'af_key.ko*' | head -n1)
		[ -n "$ref" ] || ref=$(find "$out/root/usr/lib/modules/$release" -name '*.ko*' | head -n1)
		case $ref in
		*.xz) xz -dc "$ref" >"$out/ref.ko" ;;
		*.zst) zstd -qdc "$ref" >"$out/ref.ko" ;;
		*) cp "$ref" "$out/ref.ko" ;;
		esac
		cp "$out/root/boot/vmlinuz-$release" "$out/vmlinuz.tmp"
		mv "$out/vmlinuz.tmp" "$out/vmlinuz"
		rm -rf "$debs" "$out/root"
	fi

	if [ ! -f "$src/.gmp-extracted" ]; then
		say "fetching and extracting $SRCPKG $ver into $src"
		rm -rf "$src" "$src.tmp" "$src.deb"
		alt download "$src.deb" "$SRCPKG"
		dpkg -x "$src.deb"/*.deb "$src.deb/root"
		mkdir -p "$src.tmp"
		tar -xJf "$src.deb/root/usr/src/$SRCPKG.tar.xz" -C "$src.tmp" --strip-components=1
		rm -rf "$src.deb"
		echo "$ver" >"$src.tmp/.gmp-extracted"
		mv "$src.tmp" "$src"
	fi

	say "preparing $build for $release (olddefconfig, modules_prepare; log: $out/prepare.log)"
	rm -rf "$build"
	mkdir -p "$build"
	cp "$out/config" "$build/.config"
	kmake() { make -C "$src" O="$build" KERNELRELEASE="$release" "$@" >>"$out/prepare.log" 2>&1; }
	: >"$out/prepare.log"
	kmake olddefconfig || { tail -n 20 "$out/prepare.log" >&2; die "olddefconfig failed: see $out/prepare.log"; }
	diff <(grep '^CONFIG_' "$out/config" | LC_ALL=C sort) \
		<(grep '^CONFIG_' "$build/.config" | LC_ALL=C sort) >"$out/config.diff" || true
	if grep -E '^[<>] ' "$out/config.diff" | cut -c3- | grep -Ev "$COMPILER_OPTS" >&2; then
		die "olddefconfig with $(gcc -dumpfullversion) changed options above that are not" \
			"compiler tests (see $out/config.diff): the tree would not match Debian's kernel"
	fi
	kmake -j"$JOBS" modules_prepare ||
		{ tail -n 20 "$out/prepare.log" >&2; die "modules_prepare failed: see $out/prepare.log"; }
	cp "$out/Module.symvers" "$build/Module.symvers"
	[ "$(cat "$build/include/config/kernel.release")" = "$release" ] ||
		die "the tree says $(cat "$build/include/config/kernel.release"), Debian's kernel $release"

	"$here/abi-check.sh" "$build" "$out/ref.ko" ||
		die "a module built against $build would not load on Debian's $release"
	touch "$build/.gmp-ready"
	t=$(( $(date +%s) - t0 ))
	say "ready: $release in $((t / 60))m$((t % 60))s"
	for old in "$GMP_CACHE"/kernels/"$SUITE"-*; do
		if [ -d "$old" ] && [ "$old" != "$out" ]; then
			say "note: older kernel $old ($(du -sh "$old" | cut -f1)) can be removed"
		fi
	done
fi

echo "$build" >"$out/kdir"
: >"$out/cmdline"
ln -sfn "$name" "$GMP_CACHE/kernels/$SUITE"
say "kernel: $GMP_CACHE/kernels/$SUITE -> $name"
