#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms.sh - "make dkms-install", as the README gives it, for the VM kernel
# (whose headers provide /lib/modules/<abi>/build, as on a real machine),
# staged in OUTDIR so that nothing outside it changes:
#   - DKMS's copy of the sources is git archive's: exactly VERSION, Kbuild,
#     kmod/, uapi/ and the dkms.conf made from VERSION, no build/, results/
#     or .git;
#   - DKMS builds and installs a gmp.ko that carries VERSION and the VM
#     kernel's vermagic, and the udev rule and modules-load.d entry;
#   - that module loads in the VM and runs a program (make vm-run's
#     machinery, with it in place of the one make builds);
#   - "make dkms-uninstall" leaves no module, sources or rules behind.
# Usage: KDIR=<VM kernel headers> selftests/host/dkms.sh OUTDIR (make check-dkms);
# the VM run's logs go to OUTDIR/vm-run/.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=$1
B=${B:-build}
fail() { echo "dkms: FAIL: $*" >&2; exit 1; }
[ -n "${KDIR:-}" ] || fail "no KDIR"
kver=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' "$KDIR/include/generated/utsrelease.h")
V=$(cat VERSION)
[ -d "/lib/modules/$kver/build" ] || fail "no /lib/modules/$kver/build (the headers package makes it)"

rm -rf "$out"
mkdir -p "$out"
stage=$(cd "$out" && pwd)/stage
make --no-print-directory dkms-install DESTDIR="$stage" KDIR="$KDIR" >"$out/install.log" 2>&1 ||
	{ tail -n 30 "$out/install.log" >&2; fail "make dkms-install"; }

src=$stage/usr/src/gmp-$V
(cd "$src" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) >"$out/got"
{ echo VERSION; echo Kbuild; echo dkms.conf; git ls-files kmod uapi; } | LC_ALL=C sort >"$out/want"
diff -u "$out/want" "$out/got" >&2 || fail "DKMS's sources are not git archive's files"
grep -qx "PACKAGE_VERSION=\"$V\"" "$src/dkms.conf" || fail "dkms.conf's version is not $V"

ko=$(find "$stage/lib/modules/$kver" -name 'gmp.ko*')
[ -n "$ko" ] && [ "$(echo "$ko" | wc -l)" = 1 ] || fail "DKMS installed no single gmp.ko under lib/modules/$kver: $ko"
[ "$(modinfo -F version "$ko")" = "$V" ] || fail "the DKMS module's version is not $V"
modinfo -F vermagic "$ko" | grep -q "^$kver " || fail "the DKMS module is not built for $kver"
for f in etc/udev/rules.d/60-gmp.rules etc/modules-load.d/gmp.conf; do
	[ -f "$stage/$f" ] || fail "dkms-install did not install $f"
done

# In the VM: the DKMS module loaded by the runner, and a program on it.
log=$out/vm-run.log
if ! B=$B RESULTS=$out qemu/vm-run.sh "$ko" "$B/gmp-workerpool" "200 4" >"$log" 2>&1; then
	cat "$log" >&2
	fail "the DKMS module did not run gmp-workerpool in the VM"
fi
grep -q '^jobs=200 workers=4 ' "$log" || { cat "$log" >&2; fail "gmp-workerpool said something else"; }
grep -q "insmod /gmp.ko: ok" "$out/vm-run/output.log" || fail "the VM did not load the DKMS module"

make --no-print-directory dkms-uninstall DESTDIR="$stage" KDIR="$KDIR" >"$out/uninstall.log" 2>&1 ||
	{ tail -n 30 "$out/uninstall.log" >&2; fail "make dkms-uninstall"; }
left=$(cd "$stage" && find . ! -type d ! -name 'mok.*' | head -n 5)
[ -z "$left" ] || fail "make dkms-uninstall left: $left"
echo "dkms: built from git archive for $kver, version $V, ran a program in the VM, uninstalled: ok"
