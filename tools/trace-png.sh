#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# trace-png.sh - draw a GMPRT_TRACE file as a picture: one lane per P on
# top, one per M below, time to the right; each run of a G is a span in a
# colour of its own (the same G, the same colour, on its P and its M), a
# syscall is grey and an M asleep in gmp.ko light grey.
#
# Usage: tools/trace-png.sh TRACE.json OUT.png [WIDTH]
# Needs awk and gnuplot (Debian: gnuplot-nox; qemu/deps.sh gnuplot).  It
# reads the file as libgmprt writes it (one event per line); for anything
# else, open the JSON in Perfetto (ui.perfetto.dev) instead.
set -euo pipefail

in=${1:?usage: tools/trace-png.sh TRACE.json OUT.png [WIDTH]}
out=${2:?usage: tools/trace-png.sh TRACE.json OUT.png [WIDTH]}
width=${3:-1400}
command -v gnuplot >/dev/null || { echo "trace-png: no gnuplot (apt-get install gnuplot-nox)" >&2; exit 2; }
[ -s "$in" ] || { echo "trace-png: $in: no such file, or empty" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# spans.dat: x0 x1 (ms) lane colour; lanes.gp: the lanes' names as y tics.
awk -v spans="$tmp/spans.dat" -v lanes="$tmp/lanes.gp" '
function field(k,   re, s) {
	re = "\"" k "\":(-?[0-9.]+|\"[^\"]*\")"
	if (!match($0, re))
		return ""
	s = substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 3)
	gsub(/"/, "", s)
	return s
}
# A colour per G, spread around the hue circle by the golden ratio.
function colour(g,   h, i, f, q, t, r, gr, b) {
	h = (g * 0.618033988749895) % 1 * 6
	i = int(h); f = h - i; q = 1 - f; t = f
	if (i == 0) { r = 1; gr = t; b = 0 } else if (i == 1) { r = q; gr = 1; b = 0 }
	else if (i == 2) { r = 0; gr = 1; b = t } else if (i == 3) { r = 0; gr = q; b = 1 }
	else if (i == 4) { r = t; gr = 0; b = 1 } else { r = 1; gr = 0; b = q }
	return int(40 + 180 * r) * 65536 + int(40 + 180 * gr) * 256 + int(40 + 180 * b)
}
/"ph":"X"/ {
	n++
	pid[n] = field("pid"); tid[n] = field("tid")
	ts[n] = field("ts") / 1000; te[n] = ts[n] + field("dur") / 1000
	name[n] = field("name"); g[n] = field("g")
	if (pid[n] == 1 && tid[n] + 1 > np)
		np = tid[n] + 1
	if (pid[n] == 2 && !(tid[n] in mlane))
		mlane[tid[n]] = ++nm
}
/"name":"thread_name"/ && /"pid":2/ {
	t = field("tid"); mname[t] = $0
	sub(/.*"args":\{"name":"/, "", mname[t]); sub(/".*/, "", mname[t])
}
END {
	if (!n) {
		print "trace-png: no spans in the trace" > "/dev/stderr"
		exit 1
	}
	# Ms in order of their ids: lanes below the Ps, a gap between.
	k = 0
	for (t in mlane)
		ids[++k] = t + 0
	for (a = 1; a <= k; a++)
		for (b = a + 1; b <= k; b++)
			if (ids[b] < ids[a]) { x = ids[a]; ids[a] = ids[b]; ids[b] = x }
	for (a = 1; a <= k; a++)
		mlane[ids[a]] = a
	for (i = 1; i <= n; i++) {
		y = pid[i] == 1 ? -tid[i] : -(np + mlane[tid[i]])
		c = name[i] == "syscall" ? 8421504 : name[i] == "idle" ? 14737632 : colour(g[i])
		printf "%.6f %.6f %d %d\n", ts[i], te[i], y, c > spans
	}
	printf "set ytics (" > lanes
	for (p = 0; p < np; p++)
		printf "%s\"P%d\" %d", p ? ", " : "", p, -p > lanes
	for (a = 1; a <= k; a++)
		printf ", \"%s\" %d", (ids[a] in mname) ? mname[ids[a]] : "M" ids[a], -(np + a) > lanes
	printf ")\nset yrange [%f:%f]\n", -(np + k) - 0.7, 0.7 > lanes
	printf "set arrow from graph 0, first %f to graph 1, first %f nohead lc rgb \"#888888\" dt 2\n", \
		-(np - 0.5), -(np - 0.5) > lanes
	printf "lanes = %d\n", np + k > lanes
}' "$in"

lanes=$(sed -n 's/^lanes = //p' "$tmp/lanes.gp")
height=$((120 + 28 * lanes))
gnuplot <<EOF
set terminal pngcairo size $width,$height font "sans,9" noenhanced
set output "$out"
set title "GMPRT_TRACE: Ps (top) and Ms (below); a colour per G, grey: syscall, light grey: M asleep in gmp.ko"
set xlabel "ms since the trace began"
set grid xtics lc rgb "#dddddd"
unset key
load "$tmp/lanes.gp"
set style fill solid 1.0 noborder
plot "$tmp/spans.dat" using ((\$1+\$2)/2):3:((\$2-\$1)/2):(0.38):4 with boxxyerror lc rgb variable
EOF
[ "$(head -c 8 "$out" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
	{ echo "trace-png: gnuplot wrote no PNG to $out" >&2; exit 1; }
echo "trace-png: $out ($(wc -l <"$tmp/spans.dat") spans, $lanes lanes)"
