#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel-debug.sh - build the debug VM kernel: Debian's linux-source-6.1
# (the source of the stock cloud kernel) configured by qemu/debug.config
# (KASAN, lockdep, kmemleak, UBSAN, fault injection, ...) on top of
# allnoconfig.
#
# Usage: [GMP_CACHE=dir] [JOBS=n] qemu/kernel-debug.sh
#
# Leaves in $GMP_CACHE/kernels/debug-<source version>-<config hash>/:
#   vmlinuz   the bzImage
#   kdir      the tree out-of-tree modules build against:
#             make -C "$(cat kdir)" M=$PWD modules
#   cmdline   extra kernel arguments this kernel wants
#   config    the final .config; build.log, config.log: what make said
# and points the symlink $GMP_CACHE/kernels/debug at it (the same interface
# as $GMP_CACHE/kernels/cloud).  The hash covers the options debug.config
# sets (not its comments) and the base config, so the kernel is rebuilt
# only when one of those or the source package version changes; otherwise
# this returns in about a second.  A cold build (extraction included) takes
# about 9.5 minutes of CPU time: 5 minutes on two idle cores with -j3, more
# when the cores are shared.  The build tree takes 330 MB, the source 1.5 GB.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
GMP_CACHE=${GMP_CACHE:-$HOME/.cache/gmp}
JOBS=${JOBS:-3}
FRAGMENT=$here/debug.config
# The base the fragment is applied to: merge_config.sh -n runs allnoconfig
# with the fragment's values forced (see debug.config).
BASE=allnoconfig
# Extra kernel arguments for this kernel.  panic_on_warn: a WARN, and the
# first KASAN or UBSAN report (they honour it), stops the VM at once, with
# the report as the last thing in the log; oops=panic: so does an oops in a
# task (otherwise the task dies, its locks stay held and later tests hang
# until their timeout).  kmemleak and KASAN need nothing here: both are on
# from boot by configuration.
CMDLINE="panic_on_warn=1 oops=panic"

say() { echo "kernel-debug: $*" >&2; }
die() { say "error: $*"; exit 1; }

# Whatever the caller's make or environment says must not reach this build
# (a parent make's flags, ARCH=, O=, another .config).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS \
	ARCH CROSS_COMPILE LLVM KBUILD_OUTPUT KCONFIG_CONFIG KCONFIG_ALLCONFIG

[ -f "$FRAGMENT" ] || die "no $FRAGMENT"
"$here/deps.sh" kbuild

mkdir -p "$GMP_CACHE/src" "$GMP_CACHE/kernels"
# One build at a time per cache (a second caller waits, then finds the
# kernel built).
exec 9>"$GMP_CACHE/kernels/.debug.lock"
if ! flock -n 9; then
	say "another kernel-debug.sh is building in $GMP_CACHE; waiting for it"
	flock 9
fi

# --- the source: the whole tarball, extracted once per package version ---
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
tarball=/usr/src/linux-source-6.1.tar.xz
[ -f "$tarball" ] || die "linux-source-6.1 $srcver is installed but $tarball is missing"
src=$GMP_CACHE/src/linux-source-6.1-$srcver
if [ ! -f "$src/.gmp-extracted" ]; then
	say "extracting $tarball ($srcver) into $src"
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
	echo "$srcver" >"$src.tmp/.gmp-extracted"
	mv "$src.tmp" "$src"
fi

# --- the build folder, named by source version and configuration ---
# Only the option lines count, in any order: editing a comment of
# debug.config does not cost a rebuild.
options() {
	grep -E '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set$)' "$FRAGMENT" |
		LC_ALL=C sort
}
hash=$({ echo "base: $BASE"; options; } | sha256sum | cut -c1-10)
name=debug-$srcver-$hash
out=$GMP_CACHE/kernels/$name
build=$out/build

# check_config FRAGMENT CONFIG: every value the fragment sets is in the
# final .config, and every option it turns off is off.  merge_config.sh
# only warns when an unmet dependency drops an option; this fails.
check_config() {
	awk '
	FNR == NR {
		if (/^CONFIG_[A-Za-z0-9_]+=/) {
			k = substr($0, 1, index($0, "=") - 1)
			want[k] = $0; order[++n] = k
		} else if (/^# CONFIG_[A-Za-z0-9_]+ is not set$/) {
			want[$2] = ""; order[++n] = $2
		}
		next
	}
	/^CONFIG_[A-Za-z0-9_]+=/ { have[substr($0, 1, index($0, "=") - 1)] = $0 }
	END {
		for (i = 1; i <= n; i++) {
			k = order[i]
			h = (k in have) ? have[k] : ""
			if (h == want[k] || (want[k] == "" && h == k "=n"))
				continue
			printf "kernel-debug:   asked for %s, got %s\n",
				(want[k] == "" ? k " off" : want[k]),
				(h == "" ? k " off" : h) > "/dev/stderr"
			bad++
		}
		exit bad > 0
	}' "$1" "$2"
}

if [ ! -f "$out/vmlinuz" ] || [ ! -f "$build/Module.symvers" ]; then
	say "building $name (source $src)"
	t0=$(date +%s)
	mkdir -p "$build"
	if [ ! -f "$build/.gmp-config-ok" ]; then
		say "configuring: $BASE + $FRAGMENT"
		rm -f "$build/.config"
		(cd "$src" && scripts/kconfig/merge_config.sh -n -O "$build" "$FRAGMENT") \
			>"$out/config.log" 2>&1 ||
			{ tail -n 20 "$out/config.log" >&2; die "configuration failed: see $out/config.log"; }
		check_config "$FRAGMENT" "$build/.config" ||
			die "debug.config asks for options the final .config does not have" \
				"(an unmet dependency: see $out/config.log, or" \
				"make -C $src O=$build menuconfig, search with /)"
		cp "$build/.config" "$out/config"
		touch "$build/.gmp-config-ok"
	fi

	say "compiling with -j$JOBS (log: $out/build.log)"
	# A line a minute so that a long build does not look hung.  It must
	# not hold the lock (fd 9), nor leave a sleep behind that does.
	(
		exec 9>&-
		trap 'kill $nap 2>/dev/null; exit 0' TERM
		while :; do
			sleep 60 &
			nap=$!
			wait $nap
			n=$(grep -c '^  CC ' "$out/build.log" 2>/dev/null || true)
			say "still compiling: $(( ($(date +%s) - t0) / 60 )) min, $n files so far"
		done
	) &
	ticker=$!
	trap 'kill $ticker 2>/dev/null || true' EXIT
	status=0
	make -C "$src" O="$build" -j"$JOBS" all >"$out/build.log" 2>&1 9>&- || status=$?
	kill $ticker 2>/dev/null || true
	wait $ticker 2>/dev/null || true
	trap - EXIT
	if [ $status -ne 0 ]; then
		grep -E 'error|Error' "$out/build.log" | head -n 20 >&2 || true
		die "make failed (status $status): see $out/build.log"
	fi
	[ -f "$build/Module.symvers" ] || die "no Module.symvers after the build: see $out/build.log"
	cp "$build/arch/x86/boot/bzImage" "$out/vmlinuz.tmp"
	mv "$out/vmlinuz.tmp" "$out/vmlinuz"
	t=$(( $(date +%s) - t0 ))
	say "built $(cat "$build/include/config/kernel.release") in $((t / 60))m$((t % 60))s"
	for old in "$GMP_CACHE"/kernels/debug-*; do
		if [ -d "$old" ] && [ "$old" != "$out" ]; then
			say "note: older build $old ($(du -sh "$old" | cut -f1)) can be removed"
		fi
	done
else
	say "up to date: $out"
fi

echo "$build" >"$out/kdir"
echo "$CMDLINE" >"$out/cmdline"
ln -sfn "$name" "$GMP_CACHE/kernels/debug"
say "kernel: $GMP_CACHE/kernels/debug -> $name"
