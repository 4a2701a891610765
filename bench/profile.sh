#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# profile.sh - where gmp.ko's park/wake round trip spends its time, next to
# the futex's, profiled with perf inside the VM (make bench-profile).
#
# Usage: bench/profile.sh MODULE.ko OUTDIR [ITERS]
# Boots the VM once with the module, parkwake (bench/parkwake.c) and this
# machine's perf (qemu/vm-tools.sh); runs each side twice unprofiled (the
# BENCH lines: the ratio of this boot), then once under
# `perf record -a -g` (cpu-clock, 4 kHz), and prints for each the flat
# profile of parkwake's own threads (the idle task left out: under TCG
# most of a round trip is the sleeping vCPU, the same for both) and, for
# gmp, the functions with their callees (--children).  The report is in
# OUTDIR/profile.txt; bench/README.md keeps what it found.
# The Makefile builds what it needs first: $B/bench/image/bench/parkwake,
# $B/vmtools/root, $B/gmp-timeout.
set -euo pipefail

module=$1 out=$2 iters=${3:-20000}
B=${B:-build}
here=$(dirname "$0")
work=$B/bench/profile

die() { echo "bench-profile: $*" >&2; exit 1; }
[ -f "$module" ] || die "no $module"
[ -x "$B/bench/image/bench/parkwake" ] || die "no $B/bench/image/bench/parkwake"
[ -x "$B/vmtools/root/usr/bin/perf" ] || die "no perf in $B/vmtools/root (qemu/vm-tools.sh)"
case $iters in '' | *[!0-9]*) die "ITERS must be a number, not '$iters'" ;; esac

rm -rf "$work"
mkdir -p "$work" "$out"
# The VM's busybox sh runs this; /usr/bin is not on its PATH.
cat >"$work/profile" <<EOF
#!/bin/sh
cd /tmp
P=/usr/bin/perf
for impl in gmp threads gmp threads; do
	/bench/parkwake \$impl $iters 1 | grep '^BENCH workload=parkwake'
done
for impl in gmp threads; do
	echo "=== \$impl: parkwake's threads, self"
	\$P record -q -e cpu-clock -F 4000 -a -g -o /tmp/\$impl.data -- \\
		/bench/parkwake \$impl $iters 1 >/dev/null 2>/tmp/err || cat /tmp/err
	\$P report -i /tmp/\$impl.data --stdio --comm parkwake --no-children \\
		--sort sym --percent-limit 0.4 -g none 2>/dev/null | grep '%' | head -40
	echo "--- \$impl: samples by task"
	\$P report -i /tmp/\$impl.data --stdio --sort comm -g none 2>/dev/null | grep '%' | head -4
done
echo "=== gmp: parkwake's threads, with callees"
\$P report -i /tmp/gmp.data --stdio --comm parkwake --children --sort sym \\
	--percent-limit 0.3 -g none 2>/dev/null | grep '%' | head -50
EOF
chmod +x "$work/profile"
# One boot, as make vm-run's (its logs in $out/vm-run/), with the bench
# programs and perf packed beside the script.
B=$B RESULTS=$out VM_RUN_ROOTS="$B/bench/image/bench $B/vmtools/root" \
	"$here/../qemu/vm-run.sh" "$module" "$work/profile" 2>"$work/err" |
	tr -d '\r' >"$out/profile.txt" || true
grep -q '^=== gmp: parkwake' "$out/profile.txt" ||
	die "the profile did not run to its end: $(cat "$work/err"); see $out/vm-run/"
cat "$out/profile.txt"
echo "bench-profile: $out/profile.txt"
