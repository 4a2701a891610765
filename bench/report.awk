# SPDX-License-Identifier: GPL-2.0
#
# report.awk - turn the BENCH lines of a bench run into the report (POSIX
# awk: Debian's mawk is enough).  Run by bench/report.sh:
#
#   awk -v OUT=DIR -f bench/report.awk DIR/run-info DIR/output.log
#
# Writes DIR/results.csv (every measurement), DIR/summary.csv (median, min,
# max per workload and implementation), DIR/results.json (both, and the run's
# settings), DIR/chart.dat (for gnuplot) and DIR/report.md (the table).
#
# Ratios compare costs: time per op, bytes per G, syscalls per op; for
# hops/s and speed-up, where more is better, the inverse.  Below 1.0 gmp is
# ahead of the peer.  Targets come from issue 7; they are reported, never
# asserted.

function fail(msg) { print "report: " msg > "/dev/stderr"; exit 1 }

function jstr(s) {
	gsub(/\\/, "\\\\", s)
	gsub(/"/, "\\\"", s)
	gsub(/\t/, " ", s)
	return "\"" s "\""
}
# A JSON value: a number as it is, anything else as a string.
function jval(s) {
	return (s ~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/) ? s + 0 : jstr(s)
}
function csv(s) {
	if (s ~ /[",]/) { gsub(/"/, "\"\"", s); return "\"" s "\"" }
	return s
}

# More is better for these metrics.
function higher_better(metric) { return metric == "hops_per_s" || metric == "speedup" }

# The cost of @v in @metric (more is worse).
function cost(metric, v) { return higher_better(metric) ? (v > 0 ? 1 / v : -1) : v }

# Unit for a metric, chosen from a typical value: sets U_DIV and U_NAME.
function unit(metric, v) {
	U_DIV = 1; U_NAME = ""
	if (metric == "ns_per_op") {
		if (v >= 1e9) { U_DIV = 1e9; U_NAME = " s" }
		else if (v >= 1e6) { U_DIV = 1e6; U_NAME = " ms" }
		else if (v >= 1e3) { U_DIV = 1e3; U_NAME = " µs" }
		else U_NAME = " ns"
	} else if (metric == "hops_per_s") {
		if (v >= 1e6) { U_DIV = 1e6; U_NAME = " M/s" }
		else if (v >= 1e3) { U_DIV = 1e3; U_NAME = " k/s" }
		else U_NAME = " /s"
	} else if (metric == "bytes_per_g") {
		if (v >= 1024) { U_DIV = 1024; U_NAME = " KiB" }
		else U_NAME = " B"
	} else if (metric == "syscalls_per_op") {
		# shown per 1M operations
		U_DIV = 1e-6
		if (v * 1e6 >= 1e6) { U_DIV = 1; U_NAME = "M" }
		else if (v * 1e6 >= 1e3) { U_DIV = 1e-3; U_NAME = "k" }
	} else if (metric == "speedup") {
		U_NAME = "×"
	}
}
function num(v) {
	if (v == 0) return "0"
	if (v >= 100) return sprintf("%.0f", v)
	return sprintf("%.3g", v)
}
function show(metric, v) { unit(metric, v); return num(v / U_DIV) U_NAME }
function metric_label(m) {
	if (m == "ns_per_op") return "time/op"
	if (m == "hops_per_s") return "hops/s"
	if (m == "bytes_per_g") return "RSS/G"
	if (m == "syscalls_per_op") return "syscalls/1M ops"
	if (m == "speedup") return "speed-up"
	return m
}
function impl_name(i) { return i == "gmp" ? "gmp" : i == "go" ? "Go" : i == "go119" ? "Go 1.19" : i }

# The implementations, in the columns' order: "go" is the main Go peer (the
# newest Go, Debian 13's 1.24), "go119" Debian 12's, kept for continuity.
BEGIN { NIMPL = split("gmp go go119 threads", IMPLS, " ") }

# Sort a[1..n] (numbers) in place.
function isort(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
}

FILENAME ~ /run-info$/ {
	k = $0; sub(/=.*/, "", k); v = $0; sub(/^[^=]*=/, "", v)
	if (!(k in info)) ninfo_keys[++ninfo] = k
	info[k] = v
	next
}
{ sub(/\r$/, "") }
/^# gmp bench: done/ { finished = 1 }
# What a program said before it failed, for the report.
/^# \[[0-9]+\] / { lasterr = "" }
/^# error: / { lasterr = substr($0, 10) }
/^[^#B]/ || /^B/ && !/^BENCH/ { lasterr = $0 }	# e.g. "gmprt: fatal error: ..."
/^# .*: killed after / { lasterr = substr($0, 3) }
/^BENCHINFO / {
	for (i = 2; i <= NF; i++) {
		k = $i; sub(/=.*/, "", k); v = $i; sub(/^[^=]*=/, "", v)
		k = "run_" k
		if (!(k in info)) ninfo_keys[++ninfo] = k
		info[k] = v
	}
	next
}
/^BENCH / {
	n++
	for (k in f) delete f[k]
	extra = ""
	for (i = 2; i <= NF; i++) {
		k = $i; sub(/=.*/, "", k); v = $i; sub(/^[^=]*=/, "", v)
		f[k] = v
		if (k !~ /^(workload|impl|nprocs|iters|metric|value|status)$/)
			extra = extra (extra == "" ? "" : " ") k "=" v
	}
	if (!("status" in f)) f["status"] = "ok"
	R_wl[n] = f["workload"]; R_impl[n] = f["impl"]; R_np[n] = f["nprocs"]
	R_it[n] = f["iters"]; R_metric[n] = f["metric"]; R_val[n] = f["value"]
	R_st[n] = f["status"]; R_extra[n] = extra
	g = f["workload"] SUBSEP f["nprocs"]
	if (!(g in seen)) { seen[g] = 1; rows[++nrows] = g }
	gi = g SUBSEP f["impl"]
	if (f["status"] == "ok") {
		metric[g] = f["metric"]
		lastextra[gi] = extra
		cnt[gi]++
		vals[gi, cnt[gi]] = f["value"] + 0
	} else if (f["status"] == "skipped") {
		skipped[gi]++
		reason[gi] = f["reason"]
	} else {
		failed[gi]++
		reason[gi] = "exit " f["rc"] (lasterr == "" ? "" : ": " lasterr)
	}
	next
}

# median/min/max of group @gi into MED, MIN, MAX; 0 if no value.
function stats(gi,    a, k, c) {
	c = cnt[gi] + 0
	if (!c) return 0
	for (k = 1; k <= c; k++) a[k] = vals[gi, k]
	isort(a, c)
	MIN = a[1]; MAX = a[c]
	MED = (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
	return c
}

function cell(g, impl, gi,    c, s) {
	gi = g SUBSEP impl
	c = (gi in med) ? cnt[gi] : 0
	if (c) {
		unit(metric[g], med[gi])
		if (c > 1)
			s = num(med[gi] / U_DIV) U_NAME " [" num(mn[gi] / U_DIV) "–" num(mx[gi] / U_DIV) "]"
		else
			s = num(med[gi] / U_DIV) U_NAME
		if (failed[gi]) s = s " (" failed[gi] " FAILED)"
		return s
	}
	if (failed[gi]) return "FAILED"
	if (skipped[gi]) return "skipped"
	return "—"
}

# gmp's cost over the peer's, or "" when either is missing.
function ratio(g, peer,    a, b) {
	if (!((g SUBSEP "gmp") in med) || !((g SUBSEP peer) in med)) return ""
	a = cost(metric[g], med[g SUBSEP "gmp"]); b = cost(metric[g], med[g SUBSEP peer])
	if (b <= 0) return a == 0 ? 1 : "inf"
	return a / b
}
# @r rounded as shown (so that a ratio shown as 1.00× is not "behind").
function shown(r) { return sprintf("%.2f", r) + 0 }
function showratio(r) {
	if (r == "") return "—"
	if (r == "inf") return "∞"
	return sprintf(r < 0.1 ? "%.2g×" : "%.2f×", r)
}

# The target of a row, and whether gmp meets it: sets T_TEXT and T_STATUS
# (and T_NOTE, the sentence for "where gmp is behind").
function target(g, wl,    r, r2, v, has, gp) {
	T_TEXT = ""; T_STATUS = ""; T_NOTE = ""
	has = (g SUBSEP "gmp") in med
	if (wl == "spawn") {
		T_TEXT = "≤1.0× Go, ≤0.05× threads"
		r = ratio(g, "go"); r2 = ratio(g, "threads")
		if (!has) return
		if (r != "" && shown(r) > 1.0) T_NOTE = sprintf("spawn: gmp takes %.2f× Go's time per G (target ≤ 1.0×)", r)
		if (r2 != "" && shown(r2) > 0.05) T_NOTE = T_NOTE (T_NOTE == "" ? "" : "; ") sprintf("spawn: gmp is only %.1f× faster than pthread_create/join (target ≥ 20×)", 1 / r2)
		T_STATUS = T_NOTE == "" ? "met" : "**behind**"
		return
	}
	if (wl == "yield" || wl == "pingpong" || wl == "threadring" || wl == "fanout-speedup" ||
	    wl == "spawn-steady") {
		T_TEXT = wl == "fanout-speedup" ? "≥ Go's speed-up" : "≤1.0× Go"
		r = ratio(g, "go")
		if (!has || r == "") return
		if (shown(r) > 1.0) {
			if (wl == "threadring")
				T_NOTE = sprintf("threadring: gmp passes the token at %.2f× Go's cost per hop (target ≤ 1.0×)", r)
			else if (wl == "fanout-speedup")
				T_NOTE = sprintf("fanout: gmp's speed-up from 1 to %s Ps is %.2f×, Go's %.2f× (target: at least Go's)", R_npmax, med[g SUBSEP "gmp"], med[g SUBSEP "go"])
			else
				T_NOTE = sprintf("%s: gmp takes %.2f× Go's time (target ≤ 1.0×)", wl, r)
		}
		T_STATUS = T_NOTE == "" ? "met" : "**behind**"
		return
	}
	if (wl == "handoff-plain" || wl == "handoff-syscall") {
		T_TEXT = "≤0.1× Go"
		r = ratio(g, "go")
		if (!has || r == "") return
		if (shown(r) > 0.1) T_NOTE = sprintf("%s: gmp hands a blocked G's P over in %.2f× Go's time (target ≤ 0.1×)", wl, r)
		T_STATUS = T_NOTE == "" ? "met" : "**behind**"
		return
	}
	if (wl == "echo" || wl == "echo-p99") {
		# Issue 12: ahead of Go on throughput (time per request) and p99.
		T_TEXT = "≤1.0× Go"
		r = ratio(g, "go")
		if (!has || r == "") return
		if (shown(r) > 1.0) T_NOTE = sprintf("%s: gmp's %s is %.2f× Go's (target ≤ 1.0×)", wl, wl == "echo" ? "time per request" : "p99 round trip", r)
		T_STATUS = T_NOTE == "" ? "met" : "**behind**"
		return
	}
	if (wl == "preempt") {
		T_TEXT = "≤1.0× Go"
		r = ratio(g, "go")
		if (!has || r == "") return
		if (shown(r) > 1.0) T_NOTE = sprintf("preempt: a ticker beside a CPU-bound G is up to %.2f× later than Go's (target ≤ 1.0×)", r)
		T_STATUS = T_NOTE == "" ? "met" : "**behind**"
		return
	}
	if (wl ~ /-nohandoff$/) {
		# The bracket's cost: the same workload with it, over without it.
		v = wl
		sub(/-nohandoff$/, "", v)
		T_TEXT = "within 3%"
		split(g, gp, SUBSEP)
		v = v SUBSEP gp[2]
		if (!has || !((v SUBSEP "gmp") in med)) return
		r = med[v SUBSEP "gmp"] / med[g SUBSEP "gmp"]
		v = gp[1]
		sub(/-nohandoff$/, "", v)
		T_TEXT = sprintf("within 3%% (with it: %.3f×)", r)
		if (shown(r) > 1.03) T_NOTE = sprintf("%s: block detection's bracket makes it %.1f%% dearer (target ≤ 3%%)", v, (r - 1) * 100)
		T_STATUS = T_NOTE == "" ? "met" : "**behind**"
		return
	}
	if (wl ~ /^syscalls-.*-traced$/) {
		# Tracing on reads the clock per event: a syscall where the
		# guest has no usable TSC (TCG), the vDSO elsewhere.
		T_TEXT = "— (a clock read per event)"
		return
	}
	if (wl !~ /^syscalls-/ && (wl ~ /-notrace$/ || wl ~ /-traced$/)) {
		# GMPRT_TRACE: off (hooks there) over no hooks; on over off.
		split(g, gp, SUBSEP)
		v = gp[1]
		sub(/-(notrace|traced)$/, "", v)
		v = v "-traceoff" SUBSEP gp[2]
		if (!has || !((v SUBSEP "gmp") in med)) return
		if (wl ~ /-notrace$/) {
			r = med[v SUBSEP "gmp"] / med[g SUBSEP "gmp"]
			T_TEXT = sprintf("off costs nothing (≤1.02×: %.3f×)", r)
			if (shown(r) > 1.02) T_NOTE = sprintf("%s: GMPRT_TRACE's hooks, off, make it %.1f%% dearer (target ≤ 2%%)", gp[1], (r - 1) * 100)
			T_STATUS = T_NOTE == "" ? "met" : "**behind**"
		} else {
			r = med[g SUBSEP "gmp"] / med[v SUBSEP "gmp"]
			T_TEXT = sprintf("on: %.2f× off (stated, no target)", r)
			T_STATUS = "measured"
		}
		return
	}
	if (wl == "pingpong-locked") {
		# What locking costs, in each runtime: locked over unlocked.
		T_TEXT = "≤2× unlocked"
		split(g, gp, SUBSEP)
		v = "pingpong" SUBSEP gp[2]
		if (!has || !((v SUBSEP "gmp") in med)) return
		r = med[g SUBSEP "gmp"] / med[v SUBSEP "gmp"]
		gr = ""
		if (((g SUBSEP "go") in med) && ((v SUBSEP "go") in med))
			gr = sprintf(", Go %.1f×", med[g SUBSEP "go"] / med[v SUBSEP "go"])
		T_TEXT = sprintf("≤2× unlocked (gmp %.1f×%s)", r, gr)
		if (shown(r) > 2) T_NOTE = sprintf("pingpong-locked: a locked G's round trip costs %.1f× the unlocked one (target ≤ 2×)", r)
		T_STATUS = T_NOTE == "" ? "met" : "**behind**"
		return
	}
	if (wl == "parkwake") {
		T_TEXT = "≤1.2× futex"
		r = ratio(g, "threads")
		if (!has || r == "") return
		if (shown(r) > 1.2) T_NOTE = sprintf("parkwake: gmp.ko's park/wake round trip takes %.2f× a futex's (target ≤ 1.2×)", r)
		T_STATUS = T_NOTE == "" ? "met" : "**behind**"
		return
	}
	if (wl ~ /^memory-/) {
		T_TEXT = "≤ 8 KiB per G"
		if (!has) return
		v = med[g SUBSEP "gmp"]
		if (v > 8192) T_NOTE = sprintf("%s: a parked G costs %.1f KiB resident (target ≤ 8 KiB)", wl, v / 1024)
		T_STATUS = T_NOTE == "" ? "met" : "**behind**"
		return
	}
	if (wl == "syscalls-parkwake") return	# where parkwake's time goes; no target
	# An echo server's reads and writes are syscalls: compared with Go's, no target.
	if (wl ~ /^syscalls-echo/) return
	if (wl ~ /^syscalls-/) {
		T_TEXT = "0 on the fast path"
		if (!has) return
		v = med[g SUBSEP "gmp"]
		if (v == 0)
			T_STATUS = "met"
		else if (v < 0.001)	# fewer than 1 in 1000 ops: not a per-op cost
			T_STATUS = "met (" show("syscalls_per_op", v) " per 1M from slow paths)"
		else {
			T_NOTE = sprintf("%s: gmp made %s syscalls per 1M ops (Go %s), counting every path of the measured section; gmp.ko calls in the last run: %s", \
				wl, show("syscalls_per_op", v), \
				((g SUBSEP "go") in med) ? show("syscalls_per_op", med[g SUBSEP "go"]) : "not measured", \
				kstats(lastextra[g SUBSEP "gmp"]))
			T_STATUS = "not zero"
		}
		return
	}
}

# The gmpko_stats field of a BENCH line's extras, readable.
function kstats(extra,    s) {
	s = extra
	if (!sub(/.*gmpko_stats=/, "", s)) return "not reported"
	sub(/ .*/, "", s)
	gsub(/,/, ", ", s)
	gsub(/:/, " ", s)
	return s
}

END {
	if (!n) fail("no BENCH lines in the output")

	# Per group and implementation: median, min, max.
	for (r = 1; r <= nrows; r++) {
		g = rows[r]
		for (ii = 1; ii <= NIMPL; ii++) {
			impl = IMPLS[ii]
			gi = g SUBSEP impl
			if (stats(gi)) { med[gi] = MED; mn[gi] = MIN; mx[gi] = MAX }
		}
	}

	# Derived: fanout's speed-up from 1 P to the most Ps measured.
	R_npmax = 0
	for (r = 1; r <= nrows; r++) {
		split(rows[r], p, SUBSEP)
		if (p[1] == "fanout" && p[2] + 0 > R_npmax) R_npmax = p[2] + 0
	}
	g1 = "fanout" SUBSEP 1; gN = "fanout" SUBSEP R_npmax
	if (R_npmax > 1) {
		gs = "fanout-speedup" SUBSEP R_npmax
		rows[++nrows] = gs; metric[gs] = "speedup"
		for (ii = 1; ii <= NIMPL; ii++) {
			impl = IMPLS[ii]
			if (((g1 SUBSEP impl) in med) && ((gN SUBSEP impl) in med)) {
				med[gs SUBSEP impl] = med[g1 SUBSEP impl] / med[gN SUBSEP impl]
				# The interval the runs allow: slowest 1-P run over the
				# fastest N-P one, and the other way round.
				mn[gs SUBSEP impl] = mn[g1 SUBSEP impl] / mx[gN SUBSEP impl]
				mx[gs SUBSEP impl] = mx[g1 SUBSEP impl] / mn[gN SUBSEP impl]
				cnt[gs SUBSEP impl] = cnt[gN SUBSEP impl]
			} else if (skipped[g1 SUBSEP impl]) skipped[gs SUBSEP impl] = 1
			else if (failed[g1 SUBSEP impl] || failed[gN SUBSEP impl]) failed[gs SUBSEP impl] = 1
		}
	}

	# results.csv: every measurement.
	f_csv = OUT "/results.csv"
	print "seq,workload,impl,nprocs,iters,metric,value,status,extra" > f_csv
	for (i = 1; i <= n; i++)
		print i "," csv(R_wl[i]) "," csv(R_impl[i]) "," R_np[i] "," R_it[i] "," \
			csv(R_metric[i]) "," R_val[i] "," R_st[i] "," csv(R_extra[i]) > f_csv
	close(f_csv)

	# summary.csv
	f_sum = OUT "/summary.csv"
	print "workload,nprocs,metric,impl,runs,median,min,max,failed,skipped,ratio_gmp_over_impl" > f_sum
	for (r = 1; r <= nrows; r++) {
		g = rows[r]; split(g, p, SUBSEP)
		for (ii = 1; ii <= NIMPL; ii++) {
			impl = IMPLS[ii]
			gi = g SUBSEP impl
			if (!(gi in med) && !failed[gi] && !skipped[gi]) continue
			print p[1] "," p[2] "," metric[g] "," impl "," (cnt[gi] + 0) "," \
				((gi in med) ? med[gi] : "") "," ((gi in mn) ? mn[gi] : "") "," \
				((gi in mx) ? mx[gi] : "") "," (failed[gi] + 0) "," (skipped[gi] + 0) "," \
				(impl == "gmp" ? "" : ratio(g, impl)) > f_sum
		}
	}
	close(f_sum)

	# results.json
	f_js = OUT "/results.json"
	printf "{\n  \"run\": {" > f_js
	for (i = 1; i <= ninfo; i++)
		printf "%s\n    %s: %s", (i > 1 ? "," : ""), jstr(ninfo_keys[i]), jval(info[ninfo_keys[i]]) > f_js
	printf "\n  },\n  \"finished\": %s,\n  \"results\": [", finished ? "true" : "false" > f_js
	for (i = 1; i <= n; i++) {
		printf "%s\n    {\"seq\": %d, \"workload\": %s, \"impl\": %s, \"nprocs\": %s, \"iters\": %s, \"metric\": %s, \"value\": %s, \"status\": %s",
			(i > 1 ? "," : ""), i, jstr(R_wl[i]), jstr(R_impl[i]), jval(R_np[i]),
			jval(R_it[i]), jstr(R_metric[i]), (R_val[i] == "" ? "null" : jval(R_val[i])),
			jstr(R_st[i]) > f_js
		ne = split(R_extra[i], ex, " ")
		printf ", \"extra\": {" > f_js
		for (k = 1; k <= ne; k++) {
			kk = ex[k]; sub(/=.*/, "", kk); vv = ex[k]; sub(/^[^=]*=/, "", vv)
			printf "%s%s: %s", (k > 1 ? ", " : ""), jstr(kk), jval(vv) > f_js
		}
		printf "}}" > f_js
	}
	printf "\n  ],\n  \"summary\": [" > f_js
	first = 1
	for (r = 1; r <= nrows; r++) {
		g = rows[r]; split(g, p, SUBSEP)
		for (ii = 1; ii <= NIMPL; ii++) {
			impl = IMPLS[ii]
			gi = g SUBSEP impl
			if (!(gi in med)) continue
			printf "%s\n    {\"workload\": %s, \"nprocs\": %s, \"metric\": %s, \"impl\": %s, \"runs\": %d, \"median\": %s, \"min\": %s, \"max\": %s",
				(first ? "" : ","), jstr(p[1]), jval(p[2]), jstr(metric[g]), jstr(impl),
				cnt[gi], med[gi], ((gi in mn) ? mn[gi] : "null"),
				((gi in mx) ? mx[gi] : "null") > f_js
			if (impl != "gmp") {
				rr = ratio(g, impl)
				printf ", \"gmp_cost_ratio\": %s", (rr == "" ? "null" : rr == "inf" ? "null" : rr) > f_js
			}
			printf "}" > f_js
			first = 0
		}
	}
	printf "\n  ]\n}\n" > f_js
	close(f_js)

	# chart.dat: each implementation's cost relative to Go's (to the
	# threads' where Go has no peer), per workload; "?" where not measured.
	f_ch = OUT "/chart.dat"
	print "# workload gmp go go119 threads (cost relative to the reference: Go, else threads)" > f_ch
	for (r = 1; r <= nrows; r++) {
		g = rows[r]; split(g, p, SUBSEP)
		if (p[1] ~ /^syscalls-/ || p[1] == "fanout-speedup") continue
		ref = ((g SUBSEP "go") in med) ? "go" : ((g SUBSEP "threads") in med) ? "threads" : ""
		if (ref == "") continue
		rc_ = cost(metric[g], med[g SUBSEP ref])
		if (rc_ <= 0) continue
		line = p[1] (p[1] == "fanout" || p[1] == "yield" ? "(P=" p[2] ")" : "")
		if (ref == "threads") line = line "*"
		for (ii = 1; ii <= NIMPL; ii++) {
			impl = IMPLS[ii]
			gi = g SUBSEP impl
			line = line " " ((gi in med) ? sprintf("%.4g", cost(metric[g], med[gi]) / rc_) : "?")
		}
		print line > f_ch
	}
	close(f_ch)

	# report.md
	f_md = OUT "/report.md"
	print "# gmp benchmark: gmp vs Go vs threads" > f_md
	print "" > f_md
	qemu = info["qemu"]; sub(/^QEMU emulator version /, "", qemu)
	where = (info["mode"] == "vm") ? \
		sprintf("QEMU %s (software emulation, TCG), %s vCPUs, %s, kernel %s", \
			qemu, info["vm_smp"], info["vm_mem"], info["run_kernel"]) : \
		sprintf("this machine (no VM), kernel %s", info["run_kernel"])
	printf "- **when**: %s; git %s\n", info["date"], info["git"] > f_md
	printf "- **where**: %s\n", where > f_md
	printf "- **host**: %s, %s (%s CPUs); load average %s before the run, %s after; other QEMU processes at the start: %s\n", \
		info["host"], info["host_cpu"], info["host_cpus"], info["host_load_before"], \
		info["host_load_after"], (info["other_vms"] == "" ? "?" : info["other_vms"]) > f_md
	printf "- **runs**: %s repetitions of each workload, interleaved gmp, Go, Go 1.19, threads; iterations at %s%% of the defaults; nprocs = GOMAXPROCS = %s\n", \
		info["reps"], info["scale"], info["run_nprocs"] > f_md
	printf "- **peers**: Go: %s; Go 1.19: %s; threads: glibc pthreads and raw futex, static\n", \
		(info["go"] == "" ? "not built" : info["go"]), (info["go119"] == "" ? "not built" : info["go119"]) > f_md
	if (info["mode"] == "vm")
		print "- Absolute times under software emulation are not real-hardware times (a thread's sleep and wake are far dearer there); read the ratios, which compare runs in the same boot." > f_md
	if (!finished)
		print "- **The run did not finish** (see output.log and console.log): the table holds what was measured before it stopped." > f_md
	print "" > f_md
	print "Cells: median [min–max] over the repetitions. Ratios compare cost (time, bytes, syscalls; for hops/s and speed-up, the inverse): below 1.00× gmp is ahead of the peer. Targets (issue 7) are reported, never asserted." > f_md
	print "" > f_md
	print "| workload | P | metric | gmp | Go | Go 1.19 | threads | gmp/Go | gmp/Go 1.19 | gmp/threads | target | status |" > f_md
	print "|---|---|---|---|---|---|---|---|---|---|---|---|" > f_md
	nbehind = 0; nmissing = 0; nfailed = 0
	for (r = 1; r <= nrows; r++) {
		g = rows[r]; split(g, p, SUBSEP)
		wl = p[1]
		target(g, wl)
		st = T_STATUS
		if (!((g SUBSEP "gmp") in med)) {
			if (failed[g SUBSEP "gmp"]) st = "**gmp failed**"
			else if (skipped[g SUBSEP "gmp"]) {
				st = "not measured"
				if (!(wl in missing_seen)) { missing_seen[wl] = 1; missing[++nmissing] = wl }
				rs = reason[g SUBSEP "gmp"]
				if (rs != "" && !(rs in reason_seen)) { reason_seen[rs] = 1; reasons = reasons (reasons == "" ? "" : ", ") rs }
			}
			else if (T_TEXT != "") st = "not measured"
		}
		if (T_NOTE != "") behind[++nbehind] = T_NOTE
		for (ii = 1; ii <= NIMPL; ii++) {
			impl = IMPLS[ii]
			if (failed[g SUBSEP impl] && wl != "fanout-speedup")
				failedrow[++nfailed] = sprintf("%s (P=%s) %s: %d of %d runs failed; last: %s", wl, p[2], impl_name(impl), failed[g SUBSEP impl], failed[g SUBSEP impl] + cnt[g SUBSEP impl], reason[g SUBSEP impl])
		}
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", wl, p[2], \
			metric_label(metric[g]), cell(g, "gmp"), cell(g, "go"), cell(g, "go119"), \
			cell(g, "threads"), showratio(ratio(g, "go")), showratio(ratio(g, "go119")), \
			showratio(ratio(g, "threads")), \
			(T_TEXT == "" ? "—" : T_TEXT), (st == "" ? "—" : st) > f_md
	}
	print "" > f_md
	if (nbehind) {
		print "## Where gmp is behind" > f_md
		print "" > f_md
		for (i = 1; i <= nbehind; i++) print "- " behind[i] > f_md
		print "" > f_md
	}
	if (nfailed) {
		print "## Runs that failed" > f_md
		print "" > f_md
		for (i = 1; i <= nfailed; i++) print "- " failedrow[i] > f_md
		print "" > f_md
	}
	if (nmissing) {
		print "## Not measured" > f_md
		print "" > f_md
		list = ""
		for (i = 1; i <= nmissing; i++) list = list (i > 1 ? ", " : "") missing[i]
		printf "gmp: %s (the run says: %s).\n\n", list, (reasons == "" ? "skipped" : reasons) > f_md
	}
	print "## Notes" > f_md
	print "" > f_md
	if (("fanout" SUBSEP 1) in seen)
		print "- fanout: its times include the serial fib(16) leaves, compiled by gcc -O2 for gmp and by Go's compiler for Go, so gmp/Go there compares compilers as much as schedulers; the target is the speed-up from 1 to more Ps, each against itself. Its threads column is the same leaves (gmp's build) shared by plain threads through one counter, with no scheduler: the speed-up the machine allows for this work." > f_md
	print "- syscalls: every syscall of every thread of the process over the measured section (perf counter on raw_syscalls:sys_enter, inherited by new threads). Go's include its sysmon thread's sleeps; gmp's sysmon runs in the kernel. A per-op rate far below 1 means the per-op path makes none." > f_md
	print "- The run shares the host's CPUs with whatever else runs there (see the load above); under emulation that shows as spread between repetitions." > f_md
	print "" > f_md
	print "Files: results.csv (every measurement), summary.csv, results.json, chart.png, output.log (the run's own output)." > f_md
	close(f_md)
}
