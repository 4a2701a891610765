#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# vm-run.sh - run one program in the VM with gmp.ko loaded (make vm-run).
#
# Usage: qemu/vm-run.sh MODULE.ko PROG [ARGS]
#   PROG   a static program (the VM has no libc), or a busybox sh script
#   ARGS   one string of shell words, split inside the VM as sh splits them
# Prints the program's output (stdout and stderr, as they come: text, the
# serial line turns LF into CR LF and back) and exits with its status;
# 125 when the run itself failed (no such program, insmod failed, the VM
# crashed or VM_TIMEOUT passed).  The program runs as root in /tmp, stdin
# /dev/null.  Logs of the run: $RESULTS/vm-run/ (console.log, output.log).
# VM_RUN_ROOTS: more folders for the initramfs, as qemu/mkinitramfs.sh takes
# them (bench/profile.sh: the bench programs and perf).
set -uo pipefail

module=$1 prog=$2 args=${3:-}
B=${B:-build}
out=${RESULTS:-results}/vm-run
work=$B/vm-run
here=$(dirname "$0")

die() { echo "vm-run: $*" >&2; exit 125; }

[ -f "$prog" ] && [ -x "$prog" ] || die "$prog: no such executable file"
if [ "$(head -c2 "$prog")" != '#!' ]; then
	readelf -h "$prog" >/dev/null 2>&1 || die "$prog: neither an ELF program nor a script"
	! readelf -lW "$prog" | grep -q 'Requesting program interpreter' ||
		die "$prog is dynamically linked and the VM has no libc: link it with -static (pkg-config --static --libs gmprt)"
fi
[ -f "$module" ] || die "no $module"

rm -rf "$work"
mkdir -p "$work/prog" "$work/no-tests"
: >"$work/no-tests/list"
cp "$prog" "$work/prog/prog"
printf '%s\n' "$args" >"$work/prog/args"
"$here/mkinitramfs.sh" "$work/initramfs.cpio" "$module" "$work/no-tests" \
	"$B/gmp-timeout" ${VM_RUN_ROOTS:-} "$work/prog" || die "cannot pack the initramfs"

# Only the program's lines, between the runner's markers; a failed insmod
# goes to stderr.
rm -rf "$out"
"$here/boot.sh" prog "$work/initramfs.cpio" "$out" | awk '
	/^# vm-run: exit=/ { on = 0; next }
	on { print; fflush(); next }
	/^# vm-run: start$/ { on = 1; next }
	/FAILED/ { print "vm-run: " $0 > "/dev/stderr" }'

status=$(sed -n 's/^# vm-run: exit=\([0-9]*\)\r*$/\1/p' "$out/output.log" | tail -n1)
[ -n "$status" ] ||
	die "the program did not run to its end in the VM (insmod failed, a crash or VM_TIMEOUT): see $out/"
# What qemu/verdict.sh fails a test run on, said once there.
splats=$(sed -n "s/^SPLATS='\(.*\)'\$/\1/p" "$here/verdict.sh")
if grep -Eq "$splats" "$out/console.log"; then
	echo "vm-run: warning: the kernel log has a splat:" >&2
	grep -Em5 "$splats" "$out/console.log" | tr -d '\r' | sed 's/^/  /' >&2
fi
grep -q '^# rmmod gmp: FAILED' "$out/output.log" &&
	echo "vm-run: warning: gmp.ko could not be unloaded after the program" >&2
[ "$status" = 0 ] || echo "vm-run: $prog exited with status $status" >&2
exit "$status"
