#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# man.sh - the man pages lint clean and cover the API.
#   - mandoc -T lint (warnings and up) and groff -ww say nothing;
#   - every function gmprt.h exports (GMPRT_API) has a page, its own or a
#     link to its family's, and is named in that page's NAME section;
#   - a link points at a page in man/, and every page is in a SEE ALSO
#     chain: gmprt(7) or a page it names reaches it.
# Usage: selftests/host/man.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
status=0
bad() { echo "man: $*" >&2; status=1; }

pages=$(ls man/*.[347])
out=$(mandoc -T lint -W warning $pages 2>&1) || bad "mandoc -T lint:"$'\n'"$out"
for p in $pages; do
	[ -L "$p" ] && continue
	out=$(groff -man -ww -z "$p" 2>&1)
	[ -z "$out" ] || bad "groff -ww $p:"$'\n'"$out"
done

# The calls: GMPRT_API ... name( in the header.
calls=$(grep -E '^GMPRT_API' userlib/gmprt.h | grep -oE '\bgmprt_[a-z0-9_]+ *\(' | tr -d ' (' | sort -u)
[ -n "$calls" ] || bad "no GMPRT_API function found in userlib/gmprt.h"
for c in $calls; do
	p=man/$c.3
	if [ ! -e "$p" ]; then
		bad "$c has no man page ($p)"
		continue
	fi
	# NAME: the lines between .SH NAME and the next .SH.
	sed -n '/^\.SH NAME$/,/^\.SH [^N]/p' "$(readlink -f "$p")" | grep -qw "$c" ||
		bad "$c is not in the NAME section of $(readlink -f "$p" | sed "s|$PWD/||")"
done
for p in $pages; do
	[ -L "$p" ] || continue
	t=$(readlink "$p")
	case $t in */*) bad "$p links outside man/: $t" ;; esac
	[ -f "man/$t" ] || bad "$p links to a missing page: $t"
done

# SEE ALSO: every page (not link) is reached from gmprt(7).
seen=" gmprt.7 " todo="gmprt.7"
while [ -n "$todo" ]; do
	set -- $todo
	todo=
	for p; do
		for r in $(sed -n '/^\.SH SEE ALSO/,$p' "man/$p" |
			sed -n 's/^\.BR \([a-z_]*\) (\([347]\)).*/\1.\2/p'); do
			[ -f "man/$r" ] || continue
			case $seen in *" $r "*) ;; *) seen="$seen$r " todo="$todo $r" ;; esac
		done
	done
done
for p in $pages; do
	[ -L "$p" ] && continue
	case $seen in *" ${p#man/} "*) ;; *) bad "${p#man/} is not reached from gmprt(7)'s SEE ALSO" ;; esac
done
[ $status = 0 ] && echo "man: $(echo "$pages" | wc -w) pages (links included) lint clean, $(echo "$calls" | wc -w) calls covered"
exit $status
