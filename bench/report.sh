#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# report.sh - the report of a bench run, on the host, after the VM (or
# after bench/run on this machine).
#
# Usage: bench/report.sh DIR
#   reads   DIR/output.log (bench/run's output), DIR/run-info (bench.mk)
#   writes  DIR/report.md, DIR/results.csv, DIR/summary.csv,
#           DIR/results.json, DIR/chart.dat, DIR/chart.png (with gnuplot)
#   prints  report.md
# Exit status: 0 when the run finished and gave results (whatever they
# say: targets are reported, never asserted); 1 when it did not finish or
# gave nothing.  Needs only sh and awk; the chart needs gnuplot (gnuplot-nox).
set -eu

dir=${1:?usage: bench/report.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
[ -f "$dir/output.log" ] || { echo "report: no $dir/output.log" >&2; exit 1; }
[ -f "$dir/run-info" ] || : >"$dir/run-info"

awk -v OUT="$dir" -f "$here/report.awk" "$dir/run-info" "$dir/output.log"

if ! command -v gnuplot >/dev/null 2>&1; then
	echo "report: no gnuplot (qemu/deps.sh gnuplot): no chart" >&2
elif [ "$(grep -vc '^#' "$dir/chart.dat")" -gt 0 ]; then
	# One column may be all "?" (gmp not built yet): gnuplot warns and
	# draws the others.
	gnuplot 2>"$dir/chart.err" <<EOF || echo "report: gnuplot failed (see $dir/chart.err)" >&2
set terminal pngcairo size 1200,560 font "sans,10"
set output "$dir/chart.png"
set title "gmp vs Go vs threads: cost relative to Go (* = to threads), median of the runs; lower is better"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [0.01:*]
set ylabel "cost relative to the reference (log scale)"
set grid ytics
set xtics rotate by -30 scale 0 nomirror
set key top left
set datafile missing "?"
set arrow from graph 0, first 1 to graph 1, first 1 nohead dashtype 2 lc rgb "#555555"
plot "$dir/chart.dat" using 2:xtic(1) title "gmp" lc rgb "#d95f02", \
     "" using 3 title "Go" lc rgb "#1b9e77", \
     "" using 4 title "Go 1.19" lc rgb "#a6d8c8", \
     "" using 5 title "threads" lc rgb "#7570b3"
EOF
	grep -v 'Skipping data file with no valid points' "$dir/chart.err" >&2 || true
fi

cat "$dir/report.md"
echo
echo "report: $dir/report.md, results.csv, summary.csv, results.json$( [ -f "$dir/chart.png" ] && echo ", chart.png")"
if ! grep -q '^# gmp bench: done' "$dir/output.log"; then
	echo "report: the run did not finish (see $dir/output.log and console.log)" >&2
	exit 1
fi
