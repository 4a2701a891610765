#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# volume.sh - TEST_VOLUME (docs/testing.md, "Volume") takes full or tenth
# and nothing else, in make and in the test binaries: make refuses any
# other value before it builds anything; vm_volume() scales a count by a
# tenth for GMP_TEST_VOLUME=tenth, leaves it for full or unset, and ends
# the binary with exit 2 and a message for anything else.
# Usage: selftests/host/volume.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
status=0
bad() { echo "volume: $*" >&2; status=1; }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

for v in full tenth; do
	make --no-print-directory help TEST_VOLUME=$v >/dev/null 2>&1 ||
		bad "make refused TEST_VOLUME=$v"
done
for v in half 10 ''; do
	out=$(make --no-print-directory help TEST_VOLUME="$v" 2>&1)
	[ $? -ne 0 ] && grep -q "TEST_VOLUME=$v: full or tenth" <<<"$out" ||
		bad "make took TEST_VOLUME='$v': $out"
done

cat >"$T/v.c" <<'C'
#include "vm_util.h"
int main(void) { printf("%ld %ld\n", vm_volume(100000), vm_volume(5)); return 0; }
C
cc -O1 -Iselftests -o "$T/v" "$T/v.c" || { bad "cannot build the probe"; exit 1; }
check() {	# check VALUE WANT_OUTPUT
	local got
	got=$(GMP_TEST_VOLUME="$1" "$T/v" 2>&1)
	[ "$got" = "$2" ] || bad "GMP_TEST_VOLUME='$1': got '$got', wanted '$2'"
}
check full "100000 5"
check tenth "10000 5"
check "" "100000 5"
got=$(env -u GMP_TEST_VOLUME "$T/v" 2>&1)
[ "$got" = "100000 5" ] || bad "GMP_TEST_VOLUME unset: got '$got'"
out=$(GMP_TEST_VOLUME=half "$T/v" 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "GMP_TEST_VOLUME=half: full or tenth" <<<"$out" ||
	bad "GMP_TEST_VOLUME=half: exit $rc, '$out' (wanted exit 2 and the message)"
exit $status
