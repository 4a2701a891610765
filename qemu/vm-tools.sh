#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# vm-tools.sh - this machine's perf and trace-cmd, with every shared library
# they load, laid out as on an installed system under OUT/root, which
# qemu/mkinitramfs.sh merges into the VM's / (the VM has no libc of its
# own).  gmp_events_tools_test records gmp.ko's tracepoints with them.  x86-64
# only: the VM must run this machine's binaries.
#
# Usage: qemu/vm-tools.sh OUT
# Needs linux-perf and trace-cmd (qemu/deps.sh tracers).  perf must be the
# running kernel series' (Debian 12's 6.1, the VM's own).
set -euo pipefail

out=${1:?usage: qemu/vm-tools.sh OUT}
root=$out/root

die() { echo "vm-tools: $*" >&2; exit 1; }

# /usr/bin/perf is the ELF on Debian 12 (linux-perf diverts the wrapper).
perf=$(command -v perf) || die "no perf (qemu/deps.sh tracers)"
head -c4 "$perf" | grep -q ELF || perf=$(ls /usr/bin/perf_* 2>/dev/null | head -n1)
[ -n "$perf" ] && head -c4 "$perf" | grep -q ELF || die "no perf binary (only a wrapper)"
tracecmd=$(command -v trace-cmd) || die "no trace-cmd (qemu/deps.sh tracers)"

rm -rf "$root.tmp"
mkdir -p "$root.tmp/usr/bin"
cp "$perf" "$root.tmp/usr/bin/perf"
cp "$tracecmd" "$root.tmp/usr/bin/trace-cmd"
# Each library at its own path, and the loader at the path the ELFs name.
for lib in $({ ldd "$perf"; ldd "$tracecmd"; } |
		awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 != "=>" { print $1 }' | sort -u); do
	mkdir -p "$root.tmp$(dirname "$lib")"
	cp -L "$lib" "$root.tmp$lib"
done
rm -rf "$root"
mv "$root.tmp" "$root"
echo "vm-tools: $(basename "$perf") and trace-cmd with $(find "$root" -name '*.so*' | wc -l) libraries ($(du -sh "$root" | cut -f1)) in $root"
