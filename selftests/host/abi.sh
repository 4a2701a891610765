#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# abi.sh - libgmprt.so exports what gmprt.h declares, no more, each symbol
# versioned, under the soname programs are linked with:
#   - the GMPRT_API functions of userlib/gmprt.h, the global names of
#     userlib/libgmprt.map and the symbols build/libgmprt.so defines are
#     the same three lists;
#   - every one carries a version node of the map (GMPRT_x.y), no symbol
#     is exported unversioned, and the default version of each is in the map;
#   - the soname is libgmprt.so.MAJOR (VERSION), the links point at the
#     real file, and the static library defines the same calls.
# Usage: selftests/host/abi.sh (after make userlib)
set -uo pipefail
cd "$(dirname "$0")/../.."
status=0
bad() { echo "abi: $*" >&2; status=1; }
V=$(cat VERSION)
MAJOR=${V%%.*}
so=build/libgmprt.so.$V
[ -f "$so" ] || { bad "no $so (make userlib)"; exit 1; }

grep -E '^GMPRT_API' userlib/gmprt.h | grep -oE '\bgmprt_[a-z0-9_]+ *\(' | tr -d ' (' |
	sort -u >/tmp/abi-h.$$
sed -e 's|/\*.*\*/||' -e '/\/\*/,/\*\//d' userlib/libgmprt.map |
	awk '/global:/ { g = 1; next } /local:/ || /^}/ { g = 0 } g' | tr -d ' \t;' | grep . |
	sort -u >/tmp/abi-map.$$
readelf --dyn-syms -W "$so" | awk '$1 ~ /^[0-9]+:$/ && $7 != "UND" && $5 != "LOCAL" && $8 != "" { print $8 }' |
	grep -v '^GMPRT_[0-9.]*$' >/tmp/abi-so.$$
sed 's/@.*//' /tmp/abi-so.$$ | sort -u >/tmp/abi-names.$$
trap 'rm -f /tmp/abi-*.$$' EXIT

diff -u --label gmprt.h --label libgmprt.map /tmp/abi-h.$$ /tmp/abi-map.$$ >&2 ||
	bad "gmprt.h's GMPRT_API calls and libgmprt.map's globals differ"
diff -u --label gmprt.h --label "$so" /tmp/abi-h.$$ /tmp/abi-names.$$ >&2 ||
	bad "gmprt.h's GMPRT_API calls and what $so exports differ"
unversioned=$(grep -v '@@GMPRT_[0-9]*\.[0-9]*$' /tmp/abi-so.$$)
[ -z "$unversioned" ] || bad "exported without a GMPRT_ version: $unversioned"
nodes=$(grep -oE '^GMPRT_[0-9]+\.[0-9]+' userlib/libgmprt.map | sort -u)
for n in $(sed -n 's/.*@@//p' /tmp/abi-so.$$ | sort -u); do
	grep -qx "$n" <<<"$nodes" || bad "version $n is not a node of libgmprt.map"
done

readelf -dW "$so" | grep -q "SONAME.*\[libgmprt.so.$MAJOR\]" || bad "the soname is not libgmprt.so.$MAJOR"
for l in "build/libgmprt.so.$MAJOR" build/libgmprt.so; do
	[ "$(readlink "$l")" = "libgmprt.so.$V" ] || bad "$l does not point at libgmprt.so.$V"
done
nm --defined-only -g build/libgmprt.a 2>/dev/null | awk '$2 == "T" { print $3 }' |
	grep '^gmprt_' | sort -u | comm -23 /tmp/abi-h.$$ - | grep . >&2 &&
	bad "build/libgmprt.a lacks these calls"
[ $status = 0 ] && echo "abi: $(wc -l </tmp/abi-h.$$) calls, exported as $(echo $nodes), soname libgmprt.so.$MAJOR"
exit $status
