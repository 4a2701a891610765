#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# mkdeb.sh - Debian packages of gmp (make deb), as Debian splits a library
# and an out-of-tree module:
#   libgmprt0     the shared library (its soname is libgmprt.so.0), with a
#                 shlibs file and the ldconfig trigger
#   libgmprt-dev  gmprt.h, <gmprt/linux/gmp.h>, the static library, the
#                 -lgmprt link, gmprt.pc, the section 3 and 7 man pages
#   gmp-dkms      gmp.ko's sources (git archive of HEAD, as make
#                 dkms-install) in /usr/src/gmp-VERSION, the udev rule
#                 (group gmp, 0660), the modules-load.d entry and gmp(4);
#                 its postinst adds the group, adds the module to DKMS and
#                 builds it for every kernel whose headers are installed;
#                 its prerm removes it from DKMS again
# Built with dpkg-deb alone (no debhelper, no debian/ folder to keep in
# step with the Makefile): the files come from "make install" and the
# Makefile's own lists.  The group gmp stays after a purge, as Debian
# leaves system groups (files may belong to it).
#
# Usage: pkg/mkdeb.sh OUTDIR   (from the top of a git checkout, as make deb)
# Leaves OUTDIR/*.deb.  selftests/host/deb.sh installs and purges them.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:?usage: pkg/mkdeb.sh OUTDIR}
V=$(cat VERSION)
arch=$(dpkg --print-architecture)
multiarch=$(gcc -print-multiarch)
# The packager: DEB_MAINTAINER, else who made HEAD.
maint=${DEB_MAINTAINER:-$(git log -1 --format='%an <%ae>' HEAD)}
die() { echo "mkdeb: $*" >&2; exit 1; }

git rev-parse --verify -q HEAD >/dev/null || die "needs a git checkout (gmp-dkms packs HEAD)"
rm -rf "$out"
mkdir -p "$out"
work=$(cd "$out" && pwd)/work
stage=$work/stage

make --no-print-directory install DESTDIR="$stage" PREFIX=/usr \
	LIBDIR="/usr/lib/$multiarch" MANDIR=/usr/share/man >"$work.install.log" 2>&1 ||
	{ tail -n 20 "$work.install.log" >&2; die "make install failed"; }

# pkg NAME: an empty package tree with its doc folder (copyright, changelog).
pkg() {
	local d=$work/$1
	mkdir -p "$d/DEBIAN" "$d/usr/share/doc/$1"
	{
		echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
		echo "Upstream-Name: gmp"
		echo
		echo "Files: *"
		echo "Copyright: $(git log -1 --format=%ad --date=format:%Y HEAD) The gmp authors"
		echo "License: GPL-2"
		echo " On Debian systems the full text is in /usr/share/common-licenses/GPL-2."
	} >"$d/usr/share/doc/$1/copyright"
	{
		echo "gmp ($V) unstable; urgency=medium"
		echo
		echo "  * Built from $(git rev-parse --short HEAD) by make deb."
		echo
		echo " -- $maint  $(git log -1 --format=%aD HEAD)"
	} | gzip -9n >"$d/usr/share/doc/$1/changelog.gz"
}
# move PKG PATH...: files out of the install stage into a package.
move() {
	local p=$1 f
	shift
	for f; do
		[ -e "$stage$f" ] || [ -L "$stage$f" ] || die "make install left no $f"
		mkdir -p "$work/$p$(dirname "$f")"
		mv "$stage$f" "$work/$p$f"
	done
}
# control PKG ARCH DEPENDS SECTION SUMMARY DESCRIPTION
control() {
	local d=$work/$1
	{
		echo "Package: $1"
		echo "Version: $V"
		echo "Architecture: $2"
		echo "Maintainer: $maint"
		echo "Installed-Size: $(du -sk --exclude=DEBIAN "$d" | cut -f1)"
		[ -z "$3" ] || echo "Depends: $3"
		echo "Section: $4"
		echo "Priority: optional"
		echo "Description: $5"
		echo "$6" | fold -s -w 72 | sed 's/ *$//; s/^/ /'
	} >"$d/DEBIAN/control"
}
gzip_man() {
	local l
	find "$work/$1/usr/share/man" -type f -exec gzip -9n {} +
	# A link to a page (one per call of a family) points at the .gz now.
	find "$work/$1/usr/share/man" -type l | while read -r l; do
		ln -sfn "$(readlink "$l").gz" "$l.gz" && rm "$l"
	done
}

lib=/usr/lib/$multiarch
# As dh_strip: no debug information in the packages, a library not executable.
chmod 644 "$stage$lib/libgmprt.so.$V"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage$lib/libgmprt.so.$V"
strip --strip-debug --enable-deterministic-archives "$stage$lib/libgmprt.a"
# The newest glibc symbol version the library uses is the libc6 it needs.
glibc=$(objdump -T "$stage$lib/libgmprt.so.$V" | sed -n 's/.*GLIBC_\([0-9.]*\).*/\1/p' |
	sort -V | tail -n1)
[ -n "$glibc" ] || die "cannot tell which glibc libgmprt.so.$V needs"

pkg libgmprt0
move libgmprt0 "$lib/libgmprt.so.$V" "$lib/libgmprt.so.${V%%.*}"
echo "libgmprt ${V%%.*} libgmprt0 (>= $V)" >"$work/libgmprt0/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$work/libgmprt0/DEBIAN/triggers"
control libgmprt0 "$arch" "libc6 (>= $glibc)" libs \
	"gmp runtime: Go's goroutine scheduler for C (shared library)" \
	"libgmprt runs C functions as goroutines (Gs) on Go's G-M-P scheduler, whose shared state is held by the gmp.ko kernel module (package gmp-dkms): channels, select, mutexes, wait groups, timers and a netpoller."

pkg libgmprt-dev
move libgmprt-dev "$lib/libgmprt.so" "$lib/libgmprt.a" "$lib/pkgconfig/gmprt.pc" \
	/usr/include /usr/share/man/man3 /usr/share/man/man7
gzip_man libgmprt-dev
control libgmprt-dev "$arch" "libgmprt0 (= $V)" libdevel \
	"gmp runtime: Go's goroutine scheduler for C (development files)" \
	"Headers (gmprt.h and gmp.ko's interface <gmprt/linux/gmp.h>), the static library, pkg-config's gmprt.pc and the manual pages (gmprt(7) and one per call or family)."

pkg gmp-dkms
move gmp-dkms /usr/share/man/man4
gzip_man gmp-dkms
src=$work/gmp-dkms/usr/src/gmp-$V
mkdir -p "$src"
git -c tar.umask=022 archive --format=tar HEAD VERSION Kbuild kmod uapi | tar -x -C "$src"
sed "s|@VERSION@|$V|" pkg/dkms.conf.in >"$src/dkms.conf"
install -D -m 644 pkg/60-gmp.rules "$work/gmp-dkms/usr/lib/udev/rules.d/60-gmp.rules"
install -D -m 644 pkg/modules-load.conf "$work/gmp-dkms/usr/lib/modules-load.d/gmp.conf"
cat >"$work/gmp-dkms/DEBIAN/postinst" <<EOF
#!/bin/sh
# gmp-dkms: the group that may use /dev/gmp, and gmp.ko built by DKMS for
# every kernel whose headers are installed (later kernels: DKMS's own hook).
set -e
if [ "\$1" = configure ]; then
	getent group gmp >/dev/null || groupadd --system gmp
	dkms status -m gmp -v $V | grep -q . || dkms add -m gmp -v $V
	for b in /lib/modules/*/build; do
		[ -d "\$b" ] || continue
		k=\${b#/lib/modules/}; k=\${k%/build}
		dkms install -m gmp -v $V -k "\$k" ||
			echo "gmp-dkms: gmp.ko did not build for \$k (see DKMS's make.log)" >&2
	done
	! command -v udevadm >/dev/null || udevadm control --reload 2>/dev/null || true
fi
EOF
cat >"$work/gmp-dkms/DEBIAN/prerm" <<EOF
#!/bin/sh
# gmp-dkms: every gmp.ko DKMS built, and DKMS's record of the module.
set -e
case "\$1" in
remove|upgrade|deconfigure)
	! dkms status -m gmp -v $V | grep -q . || dkms remove -m gmp -v $V --all ;;
esac
EOF
chmod 755 "$work/gmp-dkms/DEBIAN/postinst" "$work/gmp-dkms/DEBIAN/prerm"
control gmp-dkms all "dkms, passwd" kernel \
	"gmp.ko: Go's G-M-P scheduler state in the kernel (DKMS sources)" \
	"The gmp kernel module: /dev/gmp, one scheduler instance per open file, with its Ps, run queues, idle lists, sysmon and block detection. DKMS builds it for every installed kernel. Members of group gmp may use /dev/gmp."

left=$(cd "$stage" && find . ! -type d)
[ -z "$left" ] || die "make install wrote files no package takes: $left"
for p in libgmprt0 libgmprt-dev gmp-dkms; do
	dpkg-deb --root-owner-group -Zxz --build "$work/$p" "$out" >/dev/null
done
rm -rf "$work" "$work.install.log"
ls "$out"/*.deb
