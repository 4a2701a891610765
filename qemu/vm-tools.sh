#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# vm-tools.sh - this machine's tracing tools, with every shared library
# they load, laid out as on an installed system under OUT/root, which
# qemu/mkinitramfs.sh merges into the VM's / (the VM has no libc of its
# own).  gmp_events_tools_test records gmp.ko's tracepoints with them.  x86-64
# only: the VM must run this machine's binaries.
#
# Usage: qemu/vm-tools.sh OUT TOOL...
#   TOOL   perf, trace-cmd or bpftrace.  bpftrace brings LLVM and clang
#          (about 200 MB): the Makefile packs it only with VM_BPFTRACE=1.
# Needs linux-perf, trace-cmd and bpftrace (qemu/deps.sh tracers).  perf
# must be the running kernel series' (Debian 12's 6.1, the VM's own).
set -euo pipefail

out=${1:?usage: qemu/vm-tools.sh OUT TOOL...}
shift
[ $# -gt 0 ] || set -- perf trace-cmd
root=$out/root

die() { echo "vm-tools: $*" >&2; exit 1; }

bins=()
for tool; do
	case $tool in
	perf)
		# /usr/bin/perf is the ELF on Debian 12 (linux-perf diverts the wrapper).
		bin=$(command -v perf) || die "no perf (qemu/deps.sh tracers)"
		head -c4 "$bin" | grep -q ELF || bin=$(ls /usr/bin/perf_* 2>/dev/null | head -n1)
		[ -n "$bin" ] && head -c4 "$bin" | grep -q ELF || die "no perf binary (only a wrapper)"
		;;
	trace-cmd|bpftrace)
		bin=$(command -v "$tool") || die "no $tool (qemu/deps.sh tracers)" ;;
	*)	die "unknown tool '$tool' (perf, trace-cmd, bpftrace)" ;;
	esac
	bins+=("$tool=$bin")
done

rm -rf "$root.tmp"
mkdir -p "$root.tmp/usr/bin"
for tb in "${bins[@]}"; do
	cp "${tb#*=}" "$root.tmp/usr/bin/${tb%%=*}"
done
# Each library at its own path, and the loader at the path the ELFs name.
for lib in $(for tb in "${bins[@]}"; do ldd "${tb#*=}"; done |
		awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 != "=>" { print $1 }' | sort -u); do
	mkdir -p "$root.tmp$(dirname "$lib")"
	cp -L "$lib" "$root.tmp$lib"
done
rm -rf "$root"
mv "$root.tmp" "$root"
echo "vm-tools: $* with $(find "$root" -name '*.so*' | wc -l) libraries ($(du -sh "$root" | cut -f1)) in $root"
