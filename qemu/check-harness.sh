#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# check-harness.sh - prove that "make check" catches what it claims to.
#
# Boots the VM once per scenario with only the harness's own test binaries
# (selftests/harness/), runs qemu/verdict.sh on what comes back, and checks
# that the verdict fails, with the expected message, for: a failing test
# case, a crashing binary, a hanging binary (per-test timeout), a module that
# WARNs, a VM that never finishes (whole-VM timeout), and a boot whose /init
# did not hold the static keys (gmp.keys=0); and that it passes
# for the control.  Then that make vm-run shows a program's output and
# gives its exit status back (qemu/vm-run.sh exactly, make as 0 or 2), and
# refuses a dynamic program.  On the debug kernel (VM_KERNEL=debug, where
# check-debug looks for leaks) only what the kernel can change: the
# control, the WARN (there panic_on_warn turns it into a panic), and a
# module that leaks memory, which kmemleak must report with the module
# loaded, beside a leak-free run; the rest is the runner's and the
# verdict's logic, the same on every kernel, and each debug boot costs
# about 20 s of CI.  Run by "make check-harness" (the Makefile builds first).
set -uo pipefail

B=${B:-build}
kernel=${VM_KERNEL:-cloud}
out=${RESULTS:-results}/harness-$kernel
mods=$B/harness/$kernel
initrd=$mods/initramfs.cpio
status=0

mkdir -p "$out"
qemu/mkinitramfs.sh "$initrd" "$B/vm-$kernel/kmod/gmp.ko" \
	"$B/harness/tests" "$B/gmp-timeout" "$mods/gmp_warn.ko" "$mods/gmp_leak.ko" || exit 1

# scenario NAME WANT(pass|fail) PATTERN VM_APPEND [VM_TIMEOUT]
scenario() {
	local name=$1 want=$2 pattern=$3 append=$4 vmt=${5:-300} rc verdict
	rm -rf "${out:?}/$name"
	VM_TIMEOUT=$vmt VM_APPEND="$append" \
		qemu/boot.sh check "$initrd" "$out/$name" >/dev/null 2>&1
	verdict=$(qemu/verdict.sh "$out/$name")
	rc=$?
	if { [ "$want" = pass ] && [ $rc -eq 0 ]; } ||
	   { [ "$want" = fail ] && [ $rc -ne 0 ] && grep -Eq "$pattern" <<<"$verdict"; }; then
		printf 'ok   %-10s %s: %s\n' "$name" \
			"$([ "$want" = pass ] && echo passes || echo caught)" \
			"$(grep -Em1 "$pattern" <<<"$verdict" | sed 's/^ *//')"
	else
		printf 'FAIL %-10s expected the verdict to %s (matching /%s/); got exit %d:\n' \
			"$name" "$want" "$pattern" "$rc"
		sed 's/^/     /' <<<"$verdict"
		status=1
	fi
}

scenario control pass 'passed, 0 failed' "gmp.tests=pass_test"
if [ "$kernel" != debug ]; then
	scenario failure fail 'fail_test: 1 failed case' "gmp.tests=pass_test,fail_test"
	scenario crash   fail 'crash_test: .*signal 11|crash_test: exit=139' "gmp.tests=crash_test"
	scenario hang    fail 'hang_test: TIMEOUT' "gmp.tests=hang_test gmp.timeout=10"
fi
scenario warn    fail 'kernel log: .*WARNING:' "gmp.tests=pass_test gmp.module=/bin/gmp_warn.ko"
if [ "$kernel" != debug ]; then
	scenario vm-timeout fail 'did not finish' "gmp.tests=hang_test gmp.timeout=600" 20
	scenario no-keys fail "no 'gmp-init: static keys' line" "gmp.tests=pass_test gmp.keys=0"
fi
if [ "$kernel" = debug ]; then
	scenario leak fail 'gmp_leak_one\+.*\[gmp_leak\]' \
		"gmp.tests=pass_test gmp.module=/bin/gmp_leak.ko gmp.kmemleak=1"
	scenario leak-free pass 'passed, 0 failed' "gmp.tests=pass_test gmp.kmemleak=1"
fi

if [ "$kernel" != debug ]; then
	# make vm-run: the program's output (stdout and stderr, both through the
	# VM's serial line) and its exit status come back.
	# vmrun NAME WANT_STATUS WANT_OUTPUT WANT_STDERR PROG ARGS
	vmrun() {
		local name=$1 want=$2 wantout=$3 wanterr=$4 prog=$5 args=$6 got rc
		got=$(make --no-print-directory -s vm-run PROG="$prog" ARGS="$args" \
			RESULTS="$out/vmrun-$name" 2>"$out/vmrun-$name.err")
		rc=$?
		if [ $rc -eq "$want" ] && [ "$got" = "$wantout" ] &&
		   { [ -z "$wanterr" ] || grep -qF -- "$wanterr" "$out/vmrun-$name.err"; }; then
			printf 'ok   %-10s make vm-run: exit %d, the output as printed\n' "$name" "$rc"
		else
			printf 'FAIL %-10s make vm-run: wanted exit %d, stderr with "%s" and:\n%s\n     got exit %d, stderr %s and:\n%s\n' \
				"$name" "$want" "$wanterr" "$wantout" "$rc" "$(cat "$out/vmrun-$name.err")" "$got"
			status=1
		fi
	}
	nl=$'\n'
	vmrun vmrun-ok 0 "<two words>$nl<\$x>$nl<\"q\">${nl}stderr line" "" \
		"$B/harness/exitwith" "0 'two words' '\$\$x' '\"q\"'"
	# make says 2 for any failure; qemu/vm-run.sh, which it runs, the status.
	vmrun vmrun-fail 2 "<a>${nl}stderr line" "exited with status 3" "$B/harness/exitwith" "3 a"
	got=$(B=$B RESULTS="$out/vmrun-status" qemu/vm-run.sh "$B/vm-$kernel/kmod/gmp.ko" \
		"$B/harness/exitwith" "42" 2>/dev/null)
	rc=$?
	if [ $rc -eq 42 ] && [ "$got" = "stderr line" ]; then
		echo "ok   vmrun-status qemu/vm-run.sh: exit 42, the program's"
	else
		echo "FAIL vmrun-status qemu/vm-run.sh: wanted exit 42, got $rc: $got"
		status=1
	fi
	got=$(B=$B RESULTS="$out/vmrun-dyn" qemu/vm-run.sh "$B/vm-$kernel/kmod/gmp.ko" /bin/true 2>&1)
	rc=$?
	if [ $rc -eq 125 ] && grep -q 'dynamically linked' <<<"$got"; then
		echo "ok   vmrun-dyn  a dynamic program is refused before booting: $got"
	else
		echo "FAIL vmrun-dyn  wanted exit 125 and 'dynamically linked', got $rc: $got"
		status=1
	fi
fi

if [ $status -eq 0 ]; then
	echo "check-harness: every failure mode is caught$([ "$kernel" = debug ] && echo " that the debug kernel can change (the rest: make check-harness)")"
else
	echo "check-harness: FAILED: make check would miss a failure"
fi
exit $status
