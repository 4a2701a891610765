#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# boot.sh - qemu/boot.sh picks the accelerator it says it does (its
# BOOT_DRY_RUN prints the QEMU command line instead of booting):
#   VM_ACCEL=tcg: TCG, -cpu max;   VM_ACCEL=kvm: KVM, -cpu host, and a
#   clear error where the device cannot be opened;   VM_ACCEL=auto: TCG
#   where it cannot be opened;   anything else: an error.
# KVM_DEV stands in for /dev/kvm.  Not covered here: auto's probe boot on a
# machine whose /dev/kvm opens (it boots a VM); every auto boot on such a
# machine runs it (this one's /dev/kvm opens and fails: the probe says TCG).
# Usage: selftests/host/boot.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
status=0
bad() { echo "boot: $*" >&2; status=1; }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/cache/kernels/cloud"
: >"$T/cache/kernels/cloud/vmlinuz"
: >"$T/kvm"
chmod 600 "$T/kvm"
# dry ACCEL KVM_DEV: the command line, or the error and status.
dry() {
	BOOT_DRY_RUN=1 GMP_CACHE=$T/cache VM_KERNEL=cloud VM_ACCEL=$1 KVM_DEV=$2 \
		qemu/boot.sh check "$T/initrd" "$T/out" 2>&1
}
expect() {
	local what=$1 want=$2 got
	shift 2
	got=$(dry "$@")
	local rc=$?
	case $want in
	error:*) [ $rc -ne 0 ] && grep -q -- "${want#error:}" <<<"$got" ||
			bad "$what: wanted a failure saying '${want#error:}', got (exit $rc): $got" ;;
	*) [ $rc -eq 0 ] && grep -q -- "$want" <<<"$got" ||
			bad "$what: wanted '$want', got (exit $rc): $got" ;;
	esac
}
expect "VM_ACCEL=tcg" "-accel tcg -cpu max" tcg "$T/kvm"
expect "VM_ACCEL=kvm" "-accel kvm -cpu host" kvm "$T/kvm"
expect "VM_ACCEL=kvm, no device" "error:VM_ACCEL=kvm but $T/none cannot be opened" kvm "$T/none"
expect "VM_ACCEL=auto, no device" "-accel tcg -cpu max" auto "$T/none"
if [ "$(id -u)" != 0 ]; then	# root opens a 0000 file anyway
	chmod 000 "$T/kvm"
	expect "VM_ACCEL=auto, device not ours" "-accel tcg -cpu max" auto "$T/kvm"
fi
expect "VM_ACCEL=bogus" "error:auto, kvm or tcg" bogus "$T/kvm"
[ $status = 0 ] && echo "boot: VM_ACCEL tcg, kvm, auto without a usable device, a bad value: as documented"
exit $status
