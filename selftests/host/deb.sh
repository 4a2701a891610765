#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# deb.sh - make deb's packages installed on this Debian machine for real, as
# a user would (apt-get install ./*.deb, as root), then purged (make
# check-deb):
#   - lintian (Debian's checks) finds no error and no warning;
#   - each package installs; gmp-dkms's postinst makes the group gmp and
#     has DKMS build gmp.ko for every kernel with headers here, among them
#     the VM kernel, whose module must carry VERSION;
#   - a program outside the tree builds with "pkg-config --cflags --libs
#     gmprt" against the installed libgmprt-dev, shared (it loads the
#     installed libgmprt.so.0 and gets as far as opening /dev/gmp here) and
#     static (it runs in the VM on the gmp.ko that DKMS built);
#   - the man pages are there and no link of theirs dangles;
#   - apt-get purge leaves nothing: no file the packages listed, no DKMS
#     record or module, and nothing new under /usr, /etc, /lib/modules or
#     /var/lib/dkms but what DKMS and depmod keep for themselves (DKMS's
#     signing key, depmod's indexes of a headers-only tree; this test
#     removes those it caused, so the machine is as before).  The group
#     stays, as Debian leaves system groups.
# Refuses to run where any of the packages is installed already: it would
# remove a user's install.
# Usage: selftests/host/deb.sh DEBDIR OUTDIR
set -uo pipefail
cd "$(dirname "$0")/../.."
debs=$1 out=$2
B=${B:-build}
GMP_CACHE=${GMP_CACHE:-$HOME/.cache/gmp}
V=$(cat VERSION)
PKGS="libgmprt0 libgmprt-dev gmp-dkms"
fail() { echo "deb: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root: it installs the packages on this machine"
for p in $PKGS; do
	! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" ||
		fail "$p is installed already: this test would remove it"
done
kdir=$(cat "$GMP_CACHE/kernels/cloud/kdir" 2>/dev/null) || fail "no VM kernel headers (qemu/deps.sh headers)"
kver=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' "$kdir/include/generated/utsrelease.h")
[ -d "/lib/modules/$kver/build" ] || fail "no /lib/modules/$kver/build (the headers package makes it)"
arch=$(dpkg --print-architecture)
files=
for f in libgmprt0_${V}_$arch libgmprt-dev_${V}_$arch gmp-dkms_${V}_all; do
	[ -f "$debs/$f.deb" ] || fail "no $debs/$f.deb (make deb)"
	files="$files $(cd "$debs" && pwd)/$f.deb"
done

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
# Debian's own checks of a package, errors and warnings alike.
lintian --fail-on error,warning $files >"$out/lintian.log" 2>&1 ||
	{ cat "$out/lintian.log" >&2; fail "lintian finds fault with the packages"; }
snapshot() {
	find /usr /etc /lib/modules /var/lib/dkms -xdev 2>/dev/null | LC_ALL=C sort
}
snapshot >"$out/before"
purge() { apt-get purge -y $PKGS >"$out/purge.log" 2>&1; }
# What DKMS and depmod keep for themselves, if this run made it.
THEIRS="^/var/lib/dkms/mok\.(key|pub)\$|^(/usr)?/lib/modules/$kver/modules\.[a-z.]+\$"
drop_theirs() {
	snapshot | LC_ALL=C comm -13 "$out/before" - | grep -E "$THEIRS" | xargs -r rm -f
}
trap 'purge; drop_theirs' EXIT

apt-get install -y --no-install-recommends $files >"$out/install.log" 2>&1 ||
	{ tail -n 30 "$out/install.log" >&2; fail "apt-get install of the packages"; }
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" | grep -q "ok installed" || fail "$p is not installed"
	dpkg -L "$p" >>"$out/listed"
done
getent group gmp >/dev/null || fail "gmp-dkms made no group gmp"
for f in /usr/lib/udev/rules.d/60-gmp.rules /usr/lib/modules-load.d/gmp.conf \
	/usr/src/gmp-$V/dkms.conf /usr/include/gmprt.h /usr/include/gmprt/linux/gmp.h; do
	[ -f "$f" ] || fail "no $f"
done
dkms status -m gmp -v "$V" -k "$kver" | grep -q ": installed" ||
	fail "DKMS did not install gmp/$V for $kver: $(dkms status -m gmp 2>&1)"
ko=$(find "/lib/modules/$kver" -name 'gmp.ko*')
[ -n "$ko" ] && [ "$(echo "$ko" | wc -l)" = 1 ] || fail "no single gmp.ko under /lib/modules/$kver: $ko"
[ "$(modinfo -F version "$ko")" = "$V" ] || fail "DKMS's gmp.ko is not version $V"
for m in gmprt.7 gmp.4 gmprt_go.3 gmprt_chan_send.3; do
	[ -e "/usr/share/man/man${m##*.}/$m.gz" ] || fail "no man page $m"
done
dangling=$(find /usr/share/man -name 'gmp*' -xtype l)
[ -z "$dangling" ] || fail "man page links dangle: $dangling"

# A program outside the tree, against the installed packages only.
mkdir -p "$out/prog"
cp selftests/host/hello.c "$out/prog/"
(cd "$out/prog" && cc -O2 -Wall -Werror -o hello-dyn hello.c $(pkg-config --cflags --libs gmprt) &&
	cc -O2 -Wall -Werror -static -o hello-static hello.c \
		$(pkg-config --static --cflags --libs gmprt)) >&2 ||
	fail "a program does not build with the installed gmprt.pc"
ldd "$out/prog/hello-dyn" | grep -Eq "libgmprt.so.0 => (/usr)?/lib/[^/]+/libgmprt.so.0 " ||
	fail "hello-dyn does not load the installed libgmprt.so.0: $(ldd "$out/prog/hello-dyn")"
msg=$(LD_BIND_NOW=1 "$out/prog/hello-dyn" 2>&1)
rc=$?
case $rc:$msg in
0:hello:*|2:*"cannot open /dev/gmp"*) ;;
*) fail "hello-dyn does not start on this machine (exit $rc): $msg" ;;
esac
log=$out/vm-run.log
B=$B RESULTS=$out qemu/vm-run.sh "$ko" "$out/prog/hello-static" >"$log" 2>&1 ||
	{ cat "$log" >&2; fail "the static program did not run in the VM on DKMS's gmp.ko"; }
grep -q "^hello: libgmprt $V, header $V, 2 Ps, sum 385" "$log" ||
	{ cat "$log" >&2; fail "the static program said something else"; }

# Purged: nothing left but what DKMS and depmod keep for themselves.
trap - EXIT
purge || { tail -n 30 "$out/purge.log" >&2; fail "apt-get purge of the packages"; }
for p in $PKGS; do
	! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" ||
		fail "$p is still installed"
done
dkms status -m gmp 2>/dev/null | grep -q . && fail "DKMS still knows gmp: $(dkms status -m gmp)"
snapshot >"$out/after"
LC_ALL=C comm -13 "$out/before" "$out/after" >"$out/new"
drop_theirs
left=$(grep -vE "$THEIRS" "$out/new")
[ -z "$left" ] || fail "the purge left: $(echo "$left" | head -n 10)"
gone=$(sort -u "$out/listed" | grep -v '^/\.$' | while read -r f; do
	[ -e "$f" ] && ! grep -qxF "$f" "$out/before" && echo "$f"; done)
[ -z "$gone" ] || fail "files of the packages are left: $(echo "$gone" | head -n 10)"
echo "deb: $PKGS $V installed (DKMS built gmp.ko for $kver), a program built with pkg-config ran here and in the VM, purged: nothing left: ok"
