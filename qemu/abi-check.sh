#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# abi-check.sh - will a module built against this tree load on that kernel?
#
# Usage: qemu/abi-check.sh KDIR REF.ko [make arguments (ARCH=, CROSS_COMPILE=)]
#
# Builds a trivial module against KDIR and compares it with REF.ko, one of
# the target kernel's own modules (Debian's): the vermagic string, which the
# loader compares whole, and the size of struct module
# (.gnu.linkonce.this_module), which the loader trusts to match its own: a
# config that drifted from the kernel's changes it.  With CONFIG_MODVERSIONS
# the symbol CRCs come from KDIR's Module.symvers, which the callers copy
# from Debian's headers.  Exits non-zero, saying what differs, if either
# does not match.
set -euo pipefail

kdir=$1 ref=$2
shift 2
say() { echo "abi-check: $*" >&2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/gmp-abi.XXXXXX")
trap 'rm -rf "$work"' EXIT
printf '%s\n' '#include <linux/module.h>' 'MODULE_LICENSE("GPL");' >"$work/gmp_abi.c"
echo 'obj-m := gmp_abi.o' >"$work/Kbuild"
if ! make -C "$kdir" M="$work" "$@" modules >"$work/make.log" 2>&1; then
	tail -n 20 "$work/make.log" >&2
	say "a trivial module does not build against $kdir"
	exit 1
fi
# Section headers: name, type, address, offset, size: the size is 4 on.
thismod() {
	readelf -S --wide "$1" |
		awk '{ for (i = 1; i < NF; i++) if ($i == ".gnu.linkonce.this_module") print $(i + 4) }'
}
want=$(modinfo -F vermagic "$ref") got=$(modinfo -F vermagic "$work/gmp_abi.ko")
if [ "$want" != "$got" ]; then
	say "vermagic: the kernel's modules say '$want', ours '$got'"
	exit 1
fi
want=$(thismod "$ref") got=$(thismod "$work/gmp_abi.ko")
if [ -z "$want" ] || [ "$want" != "$got" ]; then
	say "struct module: 0x$want bytes in the kernel's modules, 0x$got in ours: the config drifted"
	exit 1
fi
