#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# deps.sh - make sure everything the build needs is on this machine.
#
# Idempotent: a second run checks a few stamps and package states and does
# nothing slow.  Installs Debian packages with apt-get when run as root; as
# another user it says what is missing and stops.
#
# Usage: qemu/deps.sh <what>...
#   base       compilers' companions: cpio, busybox-static, qemu-system-x86
#   arm64      what ARCH=arm64 needs on this machine: qemu-system-arm and
#              Debian's aarch64-linux-gnu cross compiler and libc
#   headers    only the cloud kernel's headers (whatever VM_KERNEL), to build gmp.ko
#              without booting anything (plain "make" on a machine whose
#              own kernel has no build tree)
#   kernel     the VM kernel named by $VM_KERNEL (default: cloud): its
#              headers installed, its image unpacked into $GMP_CACHE;
#              any other name runs qemu/kernel-$VM_KERNEL.sh (debug,
#              trixie, cloud-arm64)
#   tools      what make check's host part uses: mandoc and groff-base (the
#              man pages' lint), pkgconf (the install test builds with
#              pkg-config), kmod (modinfo): it runs before base is installed
#   dkms       Debian's dkms (make dkms-install, make check-dkms)
#   deb        dkms and lintian (make check-deb installs the packages and
#              lints them)
#   source     the few files we use from Debian's linux-source-6.1
#              (kselftest harness, checkpatch) extracted into $GMP_CACHE
#   go         Debian's golang-go (Go 1.19, the second Go peer of make bench)
#   go124      Debian 13's Go 1.24 (golang-1.24-go and -src, fetched with
#              qemu/apt-alt.sh, unpacked into $GMP_CACHE/go-1.24; never
#              installed): the main Go peer of make bench
#   gnuplot    gnuplot-nox (benchmark chart)
#   tracers    linux-perf, trace-cmd and bpftrace, packed into the VM with their
#              libraries (qemu/vm-tools.sh) for gmp_events_tools_test
#   kbuild     what building a kernel needs (debug kernel)
#
# Prints nothing on success unless it had to do something.
set -euo pipefail

GMP_CACHE=${GMP_CACHE:-$HOME/.cache/gmp}
VM_KERNEL=${VM_KERNEL:-cloud}
FLAVOUR=cloud-amd64

say() { echo "deps: $*" >&2; }
die() { echo "deps: error: $*" >&2; exit 1; }

have_pkg() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

apt_updated=
apt_update() {
	[ -n "$apt_updated" ] && return 0
	say "apt-get update"
	apt-get update -q >/dev/null
	apt_updated=1
}

# install_pkgs PKG...: install the packages not yet installed.
install_pkgs() {
	local missing=() p
	for p in "$@"; do have_pkg "$p" || missing+=("$p"); done
	[ ${#missing[@]} -eq 0 ] && return 0
	command -v apt-get >/dev/null ||
		die "missing packages (${missing[*]}) and no apt-get: this build expects Debian 12"
	[ "$(id -u)" = 0 ] ||
		die "missing packages: ${missing[*]}; run as root, or: sudo apt-get install ${missing[*]}"
	say "installing ${missing[*]}"
	# A fresh machine may have no package lists yet, or stale ones.
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
		apt_update
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends "${missing[@]}" >/dev/null
	fi
}

# The ABI of Debian's current cloud kernel, from its metapackage, so that the
# headers we build against and the image we boot are always the same ABI.
cloud_abi() {
	local abi
	abi=$(apt-cache depends linux-headers-$FLAVOUR 2>/dev/null |
		sed -n "s/.*Depends: linux-headers-\(.*\)-$FLAVOUR\$/\1/p" | head -n1)
	if [ -z "$abi" ] && [ "$(id -u)" = 0 ]; then
		apt_update
		abi=$(apt-cache depends linux-headers-$FLAVOUR 2>/dev/null |
			sed -n "s/.*Depends: linux-headers-\(.*\)-$FLAVOUR\$/\1/p" | head -n1)
	fi
	[ -n "$abi" ] || die "cannot find linux-headers-$FLAVOUR in the package lists"
	echo "$abi"
}

do_base() {
	install_pkgs cpio busybox-static qemu-system-x86 xz-utils kmod
}

# The cross compiler is the one Debian builds its arm64 kernels' modules
# with (gcc-12): the arm64 headers' config matches it.
do_arm64() {
	install_pkgs qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross
}

# The headers the cloud kernel's modules build against; kdir names them.
do_headers_cloud() {
	local abi dir
	abi=$(cloud_abi)
	install_pkgs "linux-headers-$abi-$FLAVOUR"
	dir=$GMP_CACHE/kernels/cloud-$abi
	mkdir -p "$dir"
	echo "/usr/src/linux-headers-$abi-$FLAVOUR" >"$dir/kdir"
	ln -sfn "cloud-$abi" "$GMP_CACHE/kernels/cloud"
}

# Fetch and unpack (never install) the image of the cloud kernel.
do_kernel_cloud() {
	local abi dir deb
	do_headers_cloud
	abi=$(cloud_abi)
	dir=$GMP_CACHE/kernels/cloud-$abi
	if [ ! -f "$dir/vmlinuz" ]; then
		say "fetching linux-image-$abi-$FLAVOUR-unsigned into $dir"
		mkdir -p "$dir/deb"
		(cd "$dir/deb" && apt-get download -q \
			"linux-image-$abi-$FLAVOUR-unsigned" >/dev/null 2>&1) ||
			{ apt_update; (cd "$dir/deb" && apt-get download -q \
				"linux-image-$abi-$FLAVOUR-unsigned" >/dev/null 2>&1); } ||
			die "apt-get download linux-image-$abi-$FLAVOUR-unsigned failed"
		deb=$(ls "$dir"/deb/linux-image-*.deb | head -n1)
		rm -rf "$dir/root"
		dpkg -x "$deb" "$dir/root"
		cp "$dir/root/boot/vmlinuz-$abi-$FLAVOUR" "$dir/vmlinuz.tmp"
		mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
		rm -rf "$dir/deb"
	fi
}

# Only the handful of files we need from the 138 MB source tarball.
SOURCE_FILES="
	tools/testing/selftests/kselftest.h
	tools/testing/selftests/kselftest_harness.h
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
"
do_source() {
	local dst=$GMP_CACHE/linux-source-6.1 tarball f members=()
	[ -f "$dst/.stamp" ] && return 0
	install_pkgs linux-source-6.1
	tarball=$(ls /usr/src/linux-source-6.1.tar.xz 2>/dev/null) ||
		die "linux-source-6.1 installed but /usr/src/linux-source-6.1.tar.xz is missing"
	say "extracting the kselftest harness and checkpatch from $tarball"
	for f in $SOURCE_FILES; do members+=("linux-source-6.1/$f"); done
	rm -rf "$dst" "$dst.tmp"
	mkdir -p "$dst.tmp"
	tar -xJf "$tarball" -C "$dst.tmp" --strip-components=1 "${members[@]}"
	touch "$dst.tmp/.stamp"
	mv "$dst.tmp" "$dst"
}

do_tools() { install_pkgs mandoc groff-base pkgconf kmod; }
do_dkms() { install_pkgs dkms; }
do_deb() { install_pkgs dkms lintian; }
do_go() { install_pkgs golang-go; }
do_go124() {
	local dst=$GMP_CACHE/go-1.24 tmp d
	[ -f "$dst/.stamp" ] && return 0
	[ "$(dpkg --print-architecture)" = amd64 ] || die "go124: only for an amd64 machine"
	say "fetching Go 1.24 from Debian 13 (golang-1.24-go, golang-1.24-src) into $dst"
	tmp=$(mktemp -d)
	"$(dirname "$0")/apt-alt.sh" trixie amd64 download "$tmp" golang-1.24-go golang-1.24-src
	rm -rf "$dst.tmp"
	mkdir -p "$dst.tmp"
	for d in "$tmp"/*.deb; do dpkg -x "$d" "$dst.tmp"; done
	rm -rf "$tmp"
	"$dst.tmp/usr/lib/go-1.24/bin/go" version >/dev/null || die "go124: the unpacked go does not run"
	touch "$dst.tmp/.stamp"
	rm -rf "$dst"
	mv "$dst.tmp" "$dst"
}
do_gnuplot() { install_pkgs gnuplot-nox; }
do_tracers() { install_pkgs linux-perf trace-cmd bpftrace; }
do_kbuild() {
	install_pkgs build-essential bc bison flex libelf-dev libssl-dev \
		dwarves python3 rsync linux-source-6.1
}

[ $# -gt 0 ] || set -- base kernel source
mkdir -p "$GMP_CACHE"
for what in "$@"; do
	case $what in
	base) do_base ;;
	arm64) do_arm64 ;;
	headers) do_headers_cloud ;;	# whatever VM_KERNEL: the host-side builds use these
	tools) do_tools ;;
	dkms) do_dkms ;;
	deb) do_deb ;;
	kernel)
		case $VM_KERNEL in
		cloud) do_kernel_cloud ;;
		*) [ -x "$(dirname "$0")/kernel-$VM_KERNEL.sh" ] ||
			die "unknown VM_KERNEL=$VM_KERNEL (no qemu/kernel-$VM_KERNEL.sh)"
		   "$(dirname "$0")/kernel-$VM_KERNEL.sh" ;;
		esac ;;
	source) do_source ;;
	go) do_go ;;
	go124) do_go124 ;;
	gnuplot) do_gnuplot ;;
	tracers) do_tracers ;;
	kbuild) do_kbuild ;;
	*) die "unknown dependency '$what'" ;;
	esac
done
