#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# docs.sh - what is public is documented, and what is documented runs:
#   - every call (GMPRT_API), macro (#define GMPRT_*), type (gmprt_*) and
#     environment variable (GMPRT_* read by getenv) of userlib/gmprt.h is
#     named in docs/runtime.md;
#   - "make help" names every target the Makefile declares (.PHONY) and
#     every variable it lets a user set (?=), and "make bench-help" those
#     of bench/bench.mk;
#   - every program in examples/ is run by selftests/rt_examples_test.c
#     and named in the README.
# Usage: selftests/host/docs.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
status=0
bad() { echo "docs: $*" >&2; status=1; }

doc=docs/runtime.md
names=$( {
	grep -E '^GMPRT_API' userlib/gmprt.h | grep -oE '\bgmprt_[a-z0-9_]+ *\(' | tr -d ' ('
	grep -oE '^#define GMPRT_[A-Z0-9_]+' userlib/gmprt.h | sed 's/#define //' | grep -v '^GMPRT_H$\|^GMPRT_API$'
	grep -oE '^static inline [a-z_ ]+\bgmprt_[a-z0-9_]+' userlib/gmprt.h | grep -oE 'gmprt_[a-z0-9_]+$'
	grep -oE '\b(struct )?gmprt_[a-z_]+\b' userlib/gmprt.h | grep -E '^struct |_t$|^gmprt_(g|chan|mutex|waitgroup)$'
	grep -ohE 'getenv\("GMPRT_[A-Z_]+"|env_long\("GMPRT_[A-Z_]+"' userlib/*.c | grep -oE 'GMPRT_[A-Z_]+'
	echo GMPRT_VERSION_MAJOR; echo GMPRT_VERSION_MINOR
} | sort -u)
n=0
for x in $names; do
	n=$((n + 1))
	grep -qF -- "$x" "$doc" || bad "$x (userlib/gmprt.h) is not in $doc"
done

help=$(make -s --no-print-directory help 2>/dev/null)
bhelp=$(make -s --no-print-directory bench-help 2>/dev/null)
phony() {
	awk '/^\.PHONY:/ { on = 1; sub(/^\.PHONY:/, "") } on { c = sub(/\\$/, ""); print; if (!c) on = 0 }' "$1" |
		tr ' \t' '\n\n' | grep .
}
vars() { sed -n 's/^\([A-Z][A-Z0-9_]*\) *?=.*/\1/p' "$1"; }
for t in $(phony Makefile); do
	grep -qE "(^|[ ,(])$t([ ,):]|$)" <<<"$help" || bad "make help does not name the target $t"
done
for v in $(vars Makefile); do
	grep -qE "(^|[ (])$v=" <<<"$help" || bad "make help does not name the variable $v"
done
for t in $(phony bench/bench.mk); do
	grep -qE "(^|[ ,(])$t([ ,):]|$)" <<<"$bhelp$help" || bad "make bench-help does not name the target $t"
done
for v in $(vars bench/bench.mk); do
	grep -qE "(^|[ (])$v=" <<<"$bhelp" || bad "make bench-help does not name the variable $v"
done

for e in examples/*.c; do
	b=gmp-$(basename "$e" .c)
	grep -q "\"/bin/$b\"" selftests/rt_examples_test.c || bad "$e ($b) is not run by selftests/rt_examples_test.c"
	grep -qF "$(basename "$e")" README.md || bad "$e is not in the README"
done
[ $status = 0 ] && echo "docs: $n names of gmprt.h in $doc; make help and bench-help complete; every example run and in the README"
exit $status
