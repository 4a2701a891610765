#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# boot.sh - boot the test VM under QEMU (software emulation) in one mode.
#
# Usage: qemu/boot.sh MODE INITRD OUTDIR
#   MODE    check | run | bench: runs unattended; the kernel console (ttyS0)
#           goes to OUTDIR/console.log, the runner's output (ttyS1) to
#           OUTDIR/output.log and, live, to this terminal.  The VM is killed
#           after VM_TIMEOUT seconds whatever happens inside it.
#           shell: interactive, console on this terminal (Ctrl-a x quits).
# Environment (the Makefile passes these):
#   GMP_CACHE   cache folder (default ~/.cache/gmp)
#   VM_KERNEL   which kernel: $GMP_CACHE/kernels/$VM_KERNEL/{vmlinuz,cmdline}
#   VM_MEM      memory (default 1G)       VM_SMP     vCPUs (default 2)
#   VM_TIMEOUT  seconds (default 1200)    VM_APPEND  extra kernel arguments
# Exit status: QEMU's; 124 when the VM was killed by the timeout.
set -euo pipefail

mode=$1 initrd=$2 outdir=$3
GMP_CACHE=${GMP_CACHE:-$HOME/.cache/gmp}
VM_KERNEL=${VM_KERNEL:-cloud}
VM_MEM=${VM_MEM:-1G}
VM_SMP=${VM_SMP:-2}
VM_TIMEOUT=${VM_TIMEOUT:-1200}
VM_APPEND=${VM_APPEND:-}

kdir=$GMP_CACHE/kernels/$VM_KERNEL
[ -f "$kdir/vmlinuz" ] || { echo "boot: no kernel at $kdir/vmlinuz (run: make deps VM_KERNEL=$VM_KERNEL)" >&2; exit 2; }
extra=$(cat "$kdir/cmdline" 2>/dev/null || true)
append="console=ttyS0 panic=-1 loglevel=7 gmp.mode=$mode $extra $VM_APPEND"

qemu=(qemu-system-x86_64 -machine pc -accel tcg -cpu max -m "$VM_MEM"
      -smp "$VM_SMP" -nodefaults -no-reboot -display none
      -kernel "$kdir/vmlinuz" -initrd "$initrd")

mkdir -p "$outdir"
if [ "$mode" = shell ]; then
	exec "${qemu[@]}" -serial mon:stdio -serial "file:$outdir/output.log" \
		-append "$append"
fi

: >"$outdir/console.log"
: >"$outdir/output.log"
echo "$append" >"$outdir/cmdline"
timeout -s KILL "$VM_TIMEOUT" "${qemu[@]}" -monitor none \
	-serial "file:$outdir/console.log" -serial "file:$outdir/output.log" \
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
