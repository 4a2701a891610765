#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# apt-alt.sh - fetch Debian packages from a suite or an architecture this
# machine's apt is not set up for (Debian 13 "trixie", or bookworm's arm64
# packages), without touching /etc/apt or dpkg's architectures.
#
# Usage: qemu/apt-alt.sh SUITE ARCH update
#        qemu/apt-alt.sh SUITE ARCH depends PKG   (apt-cache depends)
#        qemu/apt-alt.sh SUITE ARCH version PKG   (the candidate version)
#        qemu/apt-alt.sh SUITE ARCH download DIR PKG...
#
# Why not the machine's own apt: adding trixie to /etc/apt would offer its
# libc as an upgrade of this Debian 12 machine's, and "dpkg
# --add-architecture arm64" changes what every later apt-get sees.  So each
# SUITE-ARCH pair gets its own sources list, package lists and cache under
# $GMP_CACHE/apt/SUITE-ARCH/, and apt-get runs with
#   -o Dir::Etc::SourceList=... -o Dir::Etc::SourceParts=/dev/null
#   -o Dir::State::Lists=... -o Dir::Cache=... -o APT::Architecture=ARCH
# The deb lines are this machine's own, with the suite renamed (below).
# Packages are only downloaded here; callers unpack them with dpkg -x.
# The lists are refreshed when older than a day (and by "update").
set -euo pipefail

GMP_CACHE=${GMP_CACHE:-$HOME/.cache/gmp}
suite=$1 arch=$2 cmd=$3
shift 3

say() { echo "apt-alt: $*" >&2; }
die() { say "error: $*"; exit 1; }

dir=$GMP_CACHE/apt/$suite-$arch
mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"

# This machine's own deb lines (deb822 .sources, or one-line .list), each
# "URI SUITE COMPONENTS KEYRING", with bookworm renamed to SUITE:
# bookworm, bookworm-updates and bookworm-security become trixie,
# trixie-updates and trixie-security.  So the mirrors and keys are the
# ones this machine already trusts, and security updates come along.
machine_sources() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v want="$suite" '
		function flush(   n, i, s) {
			if (types ~ /(^| )deb( |$)/ && uris != "" && suites != "") {
				n = split(suites, s, " ")
				for (i = 1; i <= n; i++)
					if (s[i] ~ /^bookworm/) {
						sub(/^bookworm/, want, s[i])
						print uris, s[i], comps, (key == "" ? "-" : key)
					}
			}
			types = uris = suites = comps = key = ""
		}
		/^[ \t]*$/ { flush(); next }
		/^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
		/^URIs:/ { uris = $2 }
		/^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
		/^Components:/ { sub(/^Components:[ \t]*/, ""); comps = $0 }
		/^Signed-By:/ { key = $2 }
		END { flush() }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
			awk -v want="$suite" '$1 == "deb" && $3 ~ /^bookworm/ {
				sub(/^bookworm/, want, $3)
				c = $4; for (i = 5; i <= NF; i++) c = c " " $i
				print $2, $3, c, "-" }'
	done
}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
machine_sources | while read -r u s c k; do
	[ "$k" = - ] && k=$keyring
	echo "deb [arch=$arch signed-by=$k] $u $s $c"
done >"$dir/sources.list.tmp"
[ -s "$dir/sources.list.tmp" ] ||
	die "no bookworm deb line in /etc/apt: cannot tell which Debian mirror to use"
cmp -s "$dir/sources.list.tmp" "$dir/sources.list" 2>/dev/null ||
	{ mv "$dir/sources.list.tmp" "$dir/sources.list"; rm -f "$dir/.updated"; }
rm -f "$dir/sources.list.tmp"

opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
      -o "Dir::State::status=$dir/status" -o "APT::Architecture=$arch"
      -o "APT::Architectures=$arch" -o Debug::NoLocking=1)
# An empty dpkg status: nothing counts as installed, whatever this machine has.
[ -f "$dir/status" ] || : >"$dir/status"

do_update() {
	say "apt-get update ($suite, $arch) into $dir"
	apt-get "${opts[@]}" -q update >"$dir/update.log" 2>&1 ||
		{ tail -n 5 "$dir/update.log" >&2; die "apt-get update failed: see $dir/update.log"; }
	touch "$dir/.updated"
}
fresh() { [ -n "$(find "$dir/.updated" -mmin -1440 2>/dev/null)" ]; }

case $cmd in
update) do_update ;;
depends)
	fresh || do_update
	apt-cache "${opts[@]}" depends "$1" 2>/dev/null ;;
version)
	fresh || do_update
	apt-cache "${opts[@]}" policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '(none)' ;;
download)
	fresh || do_update
	dest=$1
	shift
	mkdir -p "$dest"
	# apt-get download as root drops to the _apt user, which cannot
	# write into the cache: it warns and downloads as root (harmless).
	(cd "$dest" && apt-get "${opts[@]}" -q download "$@" >"$dir/download.log" 2>&1) || {
		# Stale lists name files the archive no longer has: refresh once.
		do_update
		(cd "$dest" && apt-get "${opts[@]}" -q download "$@" >"$dir/download.log" 2>&1) ||
			{ tail -n 5 "$dir/download.log" >&2; die "apt-get download $* failed: see $dir/download.log"; }
	} ;;
*) die "unknown command $cmd" ;;
esac
