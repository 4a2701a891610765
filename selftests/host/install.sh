#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# install.sh - build and install from a clean copy of the tree as a user
# would, and check what the README and the Makefile promise of it:
#   - plain "make", as a user who is not root, with a kernel's headers
#     (the VM kernel's, standing in for the running kernel's: this
#     machine's own has no build tree) and an empty cache, builds gmp.ko
#     and libgmprt and fetches nothing (no linux-source, no VM kernel);
#   - "make install DESTDIR=" writes exactly the files it should (library
#     and its links, headers, gmprt.pc, man pages), none naming the build
#     tree; "make uninstall" removes every one;
#   - "make install-module DESTDIR=" writes the module, the udev rule and
#     the modules-load.d entry, and "make uninstall-module" removes them;
#   - a program outside the tree, built with nothing but "pkg-config
#     --cflags --libs gmprt", links shared and static: the shared one needs
#     libgmprt.so.MAJOR and versioned symbols, and starts on this machine
#     (the loader finds and binds everything).
# It leaves in OUTDIR/root both programs and what the shared one needs
# (the installed library, the C library, the loader) at the paths an
# installed machine has them, for the VM, where selftests/install_test.c
# runs them with gmp.ko loaded.
#
# Usage: selftests/host/install.sh OUTDIR
# As root (CI), the build runs as uid 65534; otherwise as the caller.
set -euo pipefail

out=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
GMP_CACHE=${GMP_CACHE:-$HOME/.cache/gmp}
kdir=$(cat "$GMP_CACHE/kernels/cloud/kdir" 2>/dev/null) ||
	{ echo "install: no VM kernel headers (qemu/deps.sh headers)" >&2; exit 1; }
kver=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' "$kdir/include/generated/utsrelease.h")

T=$(mktemp -d /tmp/gmp-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
chmod 0755 "$T"
fail() { echo "install: FAIL: $*" >&2; exit 1; }

# A clean clone's files: what git tracks or would (not ignored), so no
# build/, results/ or .git; uncommitted edits included, so that it tests
# the tree as it is.
mkdir "$T/src"
(cd "$src" && git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -cf -) | tar -x -C "$T/src"
V=$(cat "$T/src/VERSION")
MAJOR=${V%%.*}

if [ "$(id -u)" = 0 ]; then
	chown -R 65534:65534 "$T"
	as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
else
	as=()
fi
# A user's environment, nothing of the caller's (GMP_CACHE, KDIR, CFLAGS).
user() {
	"${as[@]}" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$T/home" \
		GMP_CACHE="$T/cache" LC_ALL=C "$@"
}
umake() {
	local log=$T/make-$1.log
	shift
	user make -C "$T/src" "$@" >"$log" 2>&1 || { tail -n 30 "$log" >&2; fail "make $* (as uid $(user id -u))"; }
}

# ---- plain make ------------------------------------------------------------
umake all -j2 KDIR="$kdir"
[ ! -e "$T/cache" ] || fail "plain make fetched into its cache: $(cd "$T/cache" && find . | head -n 5)"
for f in kmod/gmp.ko build/libgmprt.a "build/libgmprt.so.$V" "build/libgmprt.so.$MAJOR" \
	build/libgmprt.so build/gmp-demo build/gmp-workerpool build/gmp-pipeline; do
	[ -e "$T/src/$f" ] || fail "plain make did not build $f"
done
[ ! -e "$T/src/build/selftests" ] || fail "plain make built the selftests"
[ "$(modinfo -F version "$T/src/kmod/gmp.ko")" = "$V" ] || fail "gmp.ko's version is not $V"
modinfo -F vermagic "$T/src/kmod/gmp.ko" | grep -q "^$kver " || fail "gmp.ko is not built for $kver"

# ---- make install / a program outside the tree -----------------------------
stage=$T/stage
umake install install DESTDIR="$stage"
P=usr/local
{
	echo "$P/include/gmprt.h"
	echo "$P/include/gmprt_version.h"
	echo "$P/include/gmprt/linux/gmp.h"
	echo "$P/lib/libgmprt.a"
	echo "$P/lib/libgmprt.so"
	echo "$P/lib/libgmprt.so.$MAJOR"
	echo "$P/lib/libgmprt.so.$V"
	echo "$P/lib/pkgconfig/gmprt.pc"
	for m in "$T"/src/man/*.[347]; do
		echo "$P/share/man/man${m##*.}/$(basename "$m")"
	done
} | LC_ALL=C sort >"$T/want"
(cd "$stage" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort) >"$T/got"
diff -u "$T/want" "$T/got" >&2 || fail "make install wrote other files than these"
[ "$(readlink "$stage/$P/lib/libgmprt.so.$MAJOR")" = "libgmprt.so.$V" ] &&
	[ "$(readlink "$stage/$P/lib/libgmprt.so")" = "libgmprt.so.$V" ] ||
	fail "the library's links do not point at libgmprt.so.$V"
readelf -dW "$stage/$P/lib/libgmprt.so.$V" | grep -q "SONAME.*\[libgmprt.so.$MAJOR\]" ||
	fail "the installed library's soname is not libgmprt.so.$MAJOR"
# Text only: the libraries' debug information names their sources.
! grep -rlIF "$T/src" "$stage" >&2 || fail "installed text files name the build tree"

mkdir -p "$T/prog"
cp "$src/selftests/host/hello.c" "$T/prog/"
chown -R "$(user id -u):$(user id -g)" "$T/prog"
pc() {
	user PKG_CONFIG_LIBDIR="$stage/$P/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$stage" \
		pkg-config "$@"
}
[ "$(pc --modversion gmprt)" = "$V" ] || fail "pkg-config --modversion gmprt is not $V"
pc --static --libs gmprt | grep -qw -- -lpthread || fail "gmprt.pc has no -lpthread for static links"
! pc --libs gmprt | grep -qw -- -lpthread || fail "gmprt.pc asks shared links for -lpthread"
cflags=$(pc --cflags gmprt) libs=$(pc --libs gmprt) slibs=$(pc --static --libs gmprt)
(cd "$T/prog" && user cc -O2 -Wall -Werror -o hello-dyn hello.c $cflags $libs &&
	user cc -O2 -Wall -Werror -static -o hello-static hello.c $cflags $slibs) >&2 ||
	fail "a program outside the tree does not build with pkg-config's flags"
readelf -dW "$T/prog/hello-dyn" | grep -q "NEEDED.*\[libgmprt.so.$MAJOR\]" ||
	fail "hello-dyn does not need libgmprt.so.$MAJOR"
unversioned=$(readelf --dyn-syms -W "$T/prog/hello-dyn" | awk '$8 ~ /^gmprt_/ && $8 !~ /@GMPRT_/ { print $8 }')
[ -z "$unversioned" ] || fail "hello-dyn binds gmprt symbols without a version: $unversioned"
! readelf -lW "$T/prog/hello-static" | grep -q 'program interpreter' || fail "hello-static is not static"
# This machine has no gmp.ko, most likely: the program must get as far as
# opening /dev/gmp, every symbol bound (a real machine with it runs it).
set +e
msg=$(LD_BIND_NOW=1 LD_LIBRARY_PATH="$stage/$P/lib" "$T/prog/hello-dyn" 2>&1)
rc=$?
set -e
case $rc:$msg in
0:hello:*|2:*"cannot open /dev/gmp"*) ;;
*) fail "hello-dyn does not start on this machine (exit $rc): $msg" ;;
esac

# ---- the VM's copy ---------------------------------------------------------
rm -rf "$out/root"
mkdir -p "$out/root/pkgtest" "$out/root/$P/lib"
cp "$T/prog/hello-dyn" "$T/prog/hello-static" "$out/root/pkgtest/"
cp -a "$stage/$P/lib"/libgmprt.so* "$out/root/$P/lib/"
interp=$(readelf -lW "$T/prog/hello-dyn" | sed -n 's/.*program interpreter: \(.*\)\]/\1/p')
for lib in "$interp" $(LD_LIBRARY_PATH="$stage/$P/lib" ldd "$T/prog/hello-dyn" |
		awk '$3 ~ /^\// && $1 !~ /^libgmprt/ { print $3 }'); do
	mkdir -p "$out/root/$(dirname "$lib")"
	cp -L "$lib" "$out/root/$lib"
done
chmod -R a+rX,go-w "$out/root"

# ---- make uninstall, make install-module / uninstall-module -----------------
umake uninstall uninstall DESTDIR="$stage"
left=$(cd "$stage" && find . ! -type d -o -name '*gmp*' | head -n 5)
[ -z "$left" ] || fail "make uninstall left: $left"

mstage=$T/mstage
umake install-module install-module DESTDIR="$mstage" KDIR="$kdir"
printf '%s\n' etc/modules-load.d/gmp.conf etc/udev/rules.d/60-gmp.rules \
	"lib/modules/$kver/extra/gmp.ko" >"$T/want"
(cd "$mstage" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort) >"$T/got"
diff -u "$T/want" "$T/got" >&2 || fail "make install-module wrote other files than these"
grep -Eq '^KERNEL=="gmp".*GROUP="gmp".*MODE="0660"' "$mstage/etc/udev/rules.d/60-gmp.rules" ||
	fail "the udev rule does not give /dev/gmp to group gmp, 0660"
grep -qx gmp "$mstage/etc/modules-load.d/gmp.conf" || fail "modules-load.d does not load gmp"
umake uninstall-module uninstall-module DESTDIR="$mstage" KDIR="$kdir"
left=$(cd "$mstage" && find . ! -type d | head -n 5)
[ -z "$left" ] || fail "make uninstall-module left: $left"

echo "install: plain make as uid $(user id -u) with headers only; install, pkg-config (shared, static), uninstall, install-module: ok"
