#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# link-gmp.sh - link one gmp workload statically against libgmprt.a, or,
# when the library does not define every gmprt_* symbol the workload
# uses yet (its implementation lands piece by piece), say so and skip it.
#
# Usage: bench/link-gmp.sh OUT OBJ LIB CC [LDFLAGS...]
# Exit status: 0, linked or skipped (a failed link is reported, and the
# run then lists the workload as skipped with reason link-failed).
set -eu
out=$1 obj=$2 lib=$3 cc=$4
shift 4

# Weak references (gmprt_counts_read: the counting build's only) need nothing.
need=$(nm -u "$obj" | awk '$1 == "U" && $2 ~ /^gmprt_/ { print $2 }' | sort -u)
have=$( [ -f "$lib" ] && nm -g --defined-only "$lib" 2>/dev/null |
	awk 'NF == 3 && $2 ~ /^[TDBRW]$/ { print $3 }' | sort -u)
missing=$(printf '%s\n' "$need" | while read -r s; do
	[ -n "$s" ] || continue
	printf '%s\n' "$have" | grep -qx "$s" || printf '%s ' "$s"
done)
# OUT.skipped tells bench/run why OUT is not there.
if [ -n "$missing" ]; then
	rm -f "$out"
	echo gmp-runtime-not-built-yet >"$out.skipped"
	echo "bench: $(basename "$out"): gmp runtime not built yet (libgmprt.a lacks ${missing% }): skipped"
	exit 0
fi
if ! "$cc" -static -o "$out" "$obj" "$lib" "$@"; then
	rm -f "$out"
	echo link-failed >"$out.skipped"
	echo "bench: $(basename "$out"): LINK FAILED against libgmprt.a (above): skipped; the other workloads still run"
	exit 0
fi
rm -f "$out.skipped"
