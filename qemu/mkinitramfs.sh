#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh - pack the test VM's initramfs (an uncompressed newc cpio:
# the kernel unpacks it faster than a gzip under emulation).
#
# Usage: qemu/mkinitramfs.sh OUT.cpio MODULE.ko TESTDIR [BINARY...]
#   MODULE.ko   becomes /gmp.ko
#   TESTDIR     its executables go to /tests, with /tests/list naming them
#               in the order of TESTDIR/list (or sorted, if none)
#   BINARY      more programs for /bin (the demo, gmp-timeout); a directory
#               becomes /NAME (bench: /bench), but one named root is merged
#               into / (files at the paths an installed machine has them)
# PNKEY: see below.
# Every program must be static: the initramfs has no libc.
# BUSYBOX: the busybox to use (default /bin/busybox, this machine's; the
# Makefile passes the VM kernel's own for another CPU).
set -euo pipefail

out=$1 module=$2 testdir=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
stage=$(mktemp -d "${TMPDIR:-/tmp}/gmp-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
# mktemp makes it 0700: as the VM's "/", it would shut out every user but
# root (the unprivileged tests run as nobody).
chmod 0755 "$stage"

mkdir -p "$stage"/{bin,dev,proc,sys,tmp,run,tests,bench,etc,prog}
cp "${BUSYBOX:-/bin/busybox}" "$stage/bin/busybox"
cp "$here/init" "$stage/init"
cp "$here/runner" "$stage/bin/gmp-runner"
cp "$module" "$stage/gmp.ko"
# PNKEY: the VM's preempt-notifier key holder (qemu/pnkey/gmp_pnkey.c), if
# built for this kernel; the runner loads it after gmp.ko.
if [ -n "${PNKEY:-}" ] && [ -f "$PNKEY" ]; then
	cp "$PNKEY" "$stage/gmp_pnkey.ko"
fi
# NOTRACE_KO: gmp.ko built without its tracepoints, for gmp_fault_test's
# module_load (the Makefile's vm-module says why); debug kernel only.
if [ -n "${NOTRACE_KO:-}" ] && [ -f "$NOTRACE_KO" ]; then
	cp "$NOTRACE_KO" "$stage/gmp-notrace.ko"
fi
if [ -f "$testdir/list" ]; then
	list=$(cat "$testdir/list")
else
	list=$(cd "$testdir" && find . -maxdepth 1 -type f -perm -u+x -printf '%f\n' | sort)
fi
for t in $list; do
	cp "$testdir/$t" "$stage/tests/$t"
done
printf '%s\n' $list >"$stage/tests/list"
for b in "$@"; do
	if [ -d "$b" ] && [ "$(basename "$b")" = root ]; then
		cp -a "$b"/. "$stage/"
	elif [ -d "$b" ]; then
		cp -r "$b"/. "$stage/$(basename "$b")/"
	else
		cp "$b" "$stage/bin/"
	fi
done
echo "root:x:0:0:root:/root:/bin/sh" >"$stage/etc/passwd"
# mktemp made it 0700: as the VM's /, it would shut every other user out.
chmod 0755 "$stage"
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$out.tmp"
mv "$out.tmp" "$out"
