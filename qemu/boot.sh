#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# boot.sh - boot the test VM under QEMU in one mode.
#
# Usage: qemu/boot.sh MODE INITRD OUTDIR
#   MODE    check | run | bench | prog: runs unattended; the kernel console
#           goes to OUTDIR/console.log, the runner's output (a second
#           serial line) to OUTDIR/output.log and, live, to this terminal.
#           The VM is killed after VM_TIMEOUT seconds whatever happens
#           inside it.
#           shell: interactive, console on this terminal (Ctrl-a x quits).
# Environment (the Makefile passes these):
#   GMP_CACHE   cache folder (default ~/.cache/gmp)
#   VM_KERNEL   which kernel: $GMP_CACHE/kernels/$VM_KERNEL/{vmlinuz,cmdline},
#               and its arch file (x86_64 when there is none)
#   VM_MEM      memory (default 1G)       VM_SMP     vCPUs (default 2)
#   VM_TIMEOUT  seconds (default 1200)    VM_APPEND  extra kernel arguments
#   VM_ACCEL    auto (default: KVM when $KVM_DEV, /dev/kvm, can be opened
#               and runs a guest, else TCG, QEMU's software emulation), kvm
#               or tcg
#   BOOT_DRY_RUN=1  print the QEMU command line and exit (selftests/host/boot.sh)
# Exit status: QEMU's; 124 when the VM was killed by the timeout.
set -euo pipefail

mode=$1 initrd=$2 outdir=$3
GMP_CACHE=${GMP_CACHE:-$HOME/.cache/gmp}
VM_KERNEL=${VM_KERNEL:-cloud}
VM_MEM=${VM_MEM:-1G}
VM_SMP=${VM_SMP:-2}
VM_TIMEOUT=${VM_TIMEOUT:-1200}
VM_APPEND=${VM_APPEND:-}
VM_ACCEL=${VM_ACCEL:-auto}
KVM_DEV=${KVM_DEV:-/dev/kvm}

kdir=$GMP_CACHE/kernels/$VM_KERNEL
[ -f "$kdir/vmlinuz" ] || { echo "boot: no kernel at $kdir/vmlinuz (run: make deps VM_KERNEL=$VM_KERNEL)" >&2; exit 2; }
extra=$(cat "$kdir/cmdline" 2>/dev/null || true)
arch=$(cat "$kdir/arch" 2>/dev/null || echo x86_64)

# /dev/kvm can open and still not run a guest: nested in another hypervisor
# (seen here, 2026-12-01: "KVM internal error. Suberror: 1, emulation
# failure" at the guest kernel's first cmpxchg16b), and such a VM hangs, it
# does not exit.  So the first auto boot probes: the same kernel and
# initramfs with gmp.mode=probe, which /init answers at once.  The verdict
# is kept per host kernel, QEMU and VM kernel in $GMP_CACHE/accel/.
kvm_runs_guests() {
	local key f out
	key=$(printf '%s\n' "$(uname -r)" "$(qemu-system-x86_64 --version | head -n1)" \
		"$(readlink -f "$kdir/vmlinuz")" | md5sum | cut -c1-12)
	f=$GMP_CACHE/accel/kvm-$key
	if [ ! -f "$f" ]; then
		mkdir -p "$GMP_CACHE/accel"
		out=$(mktemp)
		timeout -k 5 30 qemu-system-x86_64 -machine pc -accel kvm -cpu host \
			-m "$VM_MEM" -smp 1 -nodefaults -no-reboot -display none -monitor none \
			-kernel "$kdir/vmlinuz" -initrd "$initrd" -serial null -serial "file:$out" \
			-append "console=ttyS0 panic=-1 quiet gmp.mode=probe" </dev/null >/dev/null 2>&1
		if grep -q 'gmp-probe: ok' "$out"; then echo kvm; else echo tcg; fi >"$f.tmp"
		mv "$f.tmp" "$f"
		rm -f "$out"
		[ "$(cat "$f")" = kvm ] ||
			echo "boot: $KVM_DEV opens but did not boot a guest in 30 s: TCG from now on ($f)" >&2
	fi
	[ "$(cat "$f")" = kvm ]
}

# KVM only for an x86-64 guest on this x86-64 host (arm64 is always TCG).
[ "$arch" = x86_64 ] || VM_ACCEL=tcg
case $VM_ACCEL in
auto) if [ -r "$KVM_DEV" ] && [ -w "$KVM_DEV" ] && kvm_runs_guests; then
	VM_ACCEL=kvm; else VM_ACCEL=tcg; fi ;;
kvm) [ -r "$KVM_DEV" ] && [ -w "$KVM_DEV" ] ||
	{ echo "boot: VM_ACCEL=kvm but $KVM_DEV cannot be opened" >&2; exit 2; } ;;
tcg) ;;
*) echo "boot: VM_ACCEL=$VM_ACCEL: auto, kvm or tcg" >&2; exit 2 ;;
esac
# Under KVM the guest sees the host's CPU; TCG emulates every feature it can.
case $VM_ACCEL in
kvm) accel=(-accel kvm -cpu host) ;;
tcg) accel=(-accel tcg -cpu max) ;;
esac

# The machine, its console, and the runner's line (qemu/init learns from
# gmp.out= where that line is).
case $arch in
x86_64)
	# Two legacy UARTs: ttyS0 the console, ttyS1 the runner's.
	console=ttyS0 out=/dev/ttyS1
	qemu=(qemu-system-x86_64 -machine pc "${accel[@]}")
	;;
arm64)
	# virt has one PL011 (ttyAMA0: the console).  The runner's line is a
	# 16550 on virt's PCIe bus (ttyS0): Debian's arm64 kernel has the 8250
	# PCI driver built in, and virtio-console only as a module.
	# neoverse-n1 (Graviton 2, Ampere Altra): Armv8.2 with LSE atomics
	# and RCpc loads, what arm64 servers run; "max" would add pointer
	# authentication, which TCG emulates slowly.
	console=ttyAMA0 out=/dev/ttyS0
	qemu=(qemu-system-aarch64 -machine virt -accel tcg -cpu neoverse-n1)
	;;
*) echo "boot: $kdir/arch says '$arch': x86_64 or arm64" >&2; exit 2 ;;
esac
append="console=$console panic=-1 loglevel=7 gmp.mode=$mode gmp.out=$out $extra $VM_APPEND"
qemu+=(-m "$VM_MEM" -smp "$VM_SMP" -nodefaults -no-reboot -display none
       -kernel "$kdir/vmlinuz" -initrd "$initrd")
# lines CONSOLE FILE: sets line_args, QEMU's arguments for the console (a
# chardev spec) and for the runner's line, written to FILE.
lines() {
	case $arch in
	x86_64) line_args=(-serial "$1" -serial "file:$2") ;;
	arm64) line_args=(-serial "$1" -chardev "file,id=out,path=$2" -device pci-serial,chardev=out) ;;
	esac
}
if [ -n "${BOOT_DRY_RUN:-}" ]; then
	echo "${qemu[*]} -append $append"
	exit 0
fi

case $outdir in
*,*) echo "boot: '$outdir': QEMU's options cannot take a comma in a path" >&2; exit 2 ;;
esac
mkdir -p "$outdir"
if [ "$mode" = shell ]; then
	lines mon:stdio "$outdir/output.log"
	exec "${qemu[@]}" "${line_args[@]}" -append "$append"
fi

: >"$outdir/console.log"
: >"$outdir/output.log"
echo "$append" >"$outdir/cmdline"
lines "file:$outdir/console.log" "$outdir/output.log"
timeout -s KILL "$VM_TIMEOUT" "${qemu[@]}" -monitor none "${line_args[@]}" \
	-append "$append" </dev/null &
qpid=$!
# Live progress; the serial line ends lines with CR LF.
tail -n +1 -s 0.2 -f --pid=$qpid "$outdir/output.log" | tr -d '\r' &
tpid=$!
status=0
wait $qpid || status=$?
wait $tpid || true
[ $status = 137 ] && { status=124; echo "boot: VM killed after VM_TIMEOUT=${VM_TIMEOUT}s" >&2; }
echo "$status" >"$outdir/qemu-status"
exit $status
