#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# verdict.sh - decide whether a "make check" run passed, from what the VM
# brought back: OUTDIR/output.log (the runner's TAP) and OUTDIR/console.log
# (the whole kernel log, panics included).
#
# Fails on: a failed or missing test result (crash, hang, timeout), a test
# binary that exits badly without a failed case, a failed insmod or rmmod, a
# VM that never reached the end of the run, and any kernel splat in the log.
# Counts test cases from each kselftest binary's "Totals" line; the module
# unload and the kernel log each count as one check of their own, and so
# does each kmemleak check when the run asked for them (gmp.kmemleak=1 in
# OUTDIR/cmdline: "make check-debug"): one with the module loaded, one after
# rmmod, each failing on any leak reported (the report is printed) or on no
# report at all.
# The last line printed is "N passed, N failed" (", N skipped" when any).
set -uo pipefail

outdir=$1
out=$outdir/output.log
con=$outdir/console.log
[ -f "$out" ] || { echo "verdict: no $out"; echo "0 passed, 1 failed"; exit 1; }

# What a kernel says when something is wrong.
SPLATS='BUG:|WARNING:|Oops|general protection|possible recursive locking|circular locking|suspicious RCU usage|UBSAN:|KASAN:|kernel BUG at|hung_task|blocked for more than|soft lockup|Kernel panic|kmemleak: [0-9]+ new suspected'

failures=$(mktemp)
trap 'rm -f "$failures"' EXIT
wantleak=0
grep -qw 'gmp.kmemleak=1' "$outdir/cmdline" 2>/dev/null && wantleak=1

counts=$(awk -v F="$failures" -v wantleak=$wantleak '
function fail(n, msg) { print msg >> F; failed += n }
{ sub(/\r$/, "") }	# the serial line ends lines with CR LF
/^1\.\.[0-9]+$/ && !plan { plan = substr($0, 4) + 0; next }
/^# selftests: gmp: / { cur = $4; totals = ""; next }
/^# # Totals: / {
	# "# # Totals: pass:3 fail:0 xfail:0 xpass:0 skip:0 error:0"
	for (i = 4; i <= NF; i++) { split($i, kv, ":"); t[kv[1]] = kv[2] + 0 }
	totals = cur
	next
}
/^# not ok [0-9]+ / {
	casefail[cur] = casefail[cur] " " $5
	next
}
/^(not )?ok [0-9]+ selftests: gmp: / {
	name = ($1 == "not") ? $6 : $5
	isok = ($1 == "ok")
	seen[name] = 1; nres++
	reason = $0; sub(/^[^#]*#? ?/, "", reason)
	if (totals == name) {
		passed += t["pass"] + t["xfail"]
		skipped += t["skip"]
		bad = t["fail"] + t["xpass"] + t["error"]
		if (bad) fail(bad, name ": " bad " failed case(s):" casefail[name])
		if (!isok && !bad) fail(1, name ": exited badly after its cases (" reason ")")
	} else if (isok) {
		if (reason ~ /SKIP/) skipped++; else passed++
	} else {
		fail(1, name ": " (reason ? reason : "failed") " (no results from the harness)")
	}
	totals = ""
	next
}
/^# insmod .*: FAILED/ { fail(1, "insmod failed: no test could run"); noinsmod = 1 }
/^# kmemleak: unavailable/ { fail(1, substr($0, 3)); leak["loaded"] = leak["unloaded"] = 1; next }
/^# kmemleak (loaded|unloaded): / {
	w = substr($3, 1, length($3) - 1)
	leak[w] = 1
	leaking = 0
	what = (w == "loaded") ? "with the module loaded" : "after rmmod"
	if ($4 == "FAILED")
		fail(1, "kmemleak " what ": " substr($0, index($0, "FAILED")))
	else if ($4 + 0 > 0) {
		fail(1, "kmemleak " what ": " $4 " leak(s):")
		leaking = 1
	} else
		passed++
	next
}
/^# kmemleak\| / {
	if (leaking && nleak++ < 100) print "    " substr($0, 13) >> F
	next
}
/^# rmmod [^ ]*: ok/ { passed++; unloaded = 1 }
/^# rmmod [^ ]*: FAILED/ { fail(1, "rmmod " substr($3, 1, length($3) - 1) " failed: the module could not be unloaded"); unloaded = 1 }
/^# gmp-runner: done/ { done = 1 }
END {
	if (plan && nres < plan)
		fail(plan - nres, (plan - nres) " test binar" (plan - nres == 1 ? "y" : "ies") " gave no result (crash, hang or VM timeout)")
	if (!done)
		fail(1, "the VM did not finish the run (kernel crash, hang or VM_TIMEOUT): see console.log")
	else if (!unloaded && plan)
		fail(1, "the module was never unloaded")
	if (wantleak && !noinsmod && done)
		for (w in want) if (!leak[w]) fail(1, "kmemleak: no " w " check in the output")
	printf "%d %d %d\n", passed, failed, skipped
}
BEGIN { want["loaded"] = want["unloaded"] = 1 }' "$out")
read -r passed failed skipped <<<"$counts"

# Kernel splats, each with the test that was running when it happened.
if [ -f "$con" ] && grep -Eq "$SPLATS" "$con"; then
	awk -v re="$SPLATS" '
	/gmp-runner: start / { cur = $NF; fz = "" }
	/gmp-runner: end / { cur = ""; fz = "" }
	# The fuzzer marks each episode: name it, with the seed to replay it.
	/gmp-fuzz: / { fz = $0; sub(/.*gmp-fuzz: /, "", fz); sub(/\r$/, "", fz) }
	$0 ~ re && n < 20 {
		n++
		print "kernel log: " (cur ? "during " cur (fz ? " (" fz ")" : "") ": " : "") $0
	}
	' "$con" | sed 's/\r$//' >>"$failures"
	failed=$((failed + 1))
elif [ -f "$con" ]; then
	passed=$((passed + 1))
else
	echo "no kernel log ($con)" >>"$failures"
	failed=$((failed + 1))
fi

# qemu/init turns the static keys on with only cpu0 online (hold_keys says
# why: a TCG race); a boot where it did not is not the boot the tests assume.
if [ -f "$con" ] && ! grep -q 'gmp-init: static keys, with only cpu0 online' "$con"; then
	echo "kernel log: no 'gmp-init: static keys' line: qemu/init did not hold the static keys" >>"$failures"
	failed=$((failed + 1))
fi

if [ -s "$failures" ]; then
	echo
	echo "FAILURES (details in $outdir/):"
	sed 's/^/  /' "$failures"
fi
summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
echo "$summary" >"$outdir/summary"
[ "$failed" -eq 0 ]
