# SPDX-License-Identifier: GPL-2.0
#
# bench/count-check.awk - make bench-count's check of its own output: that
# every counting workload printed its counts-<name> line, that no run
# failed, and that every counter moved in some workload (a counter stuck at
# zero is a broken counting build, not a scalable scheduler).  Counts, not
# times: what it checks does not depend on the machine's speed.
#
# Usage: awk -v want="spawn yield ..." -f bench/count-check.awk output.log
# Prints one line per problem; exit status 1 if there was any.

function problem(msg) { print "bench-count: " msg; bad++ }

BEGIN { nkeys = split("locks kshared usched uownp uotherp uobj umslot", keys, " ") }

{ sub(/\r$/, "") }

/^BENCH / && / status=(failed|skipped)/ { problem("a run did not finish: " $0) }

/^BENCH workload=counts-/ {
	delete kv
	for (i = 2; i <= NF; i++) {
		eq = index($i, "=")
		if (eq)
			kv[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	w = substr(kv["workload"], 8)
	got[w] = 1
	kv["locks"] = kv["value"]
	for (k = 1; k <= nkeys; k++) {
		if (!(keys[k] in kv))
			problem("counts-" w ": no " keys[k] "=")
		else if (kv[keys[k]] + 0 > 0)
			moved[keys[k]] = 1
		val[w, keys[k]] = kv[keys[k]] + 0
	}
}

END {
	n = split(want, W, " ")
	for (i = 1; i <= n; i++)
		if (!(W[i] in got))
			problem("no counts-" W[i] " line")
	for (k = 1; k <= nkeys; k++)
		if (!(keys[k] in moved))
			problem(keys[k] " is 0 in every workload: that counter is not counting")
	# What bench/README.md ("Counts") says of the structure, not the speed:
	# a yield at one P writes nothing instance-wide (its few lock takes are
	# sysmon's rounds and the two stats reads), and gfput moves free Gs to
	# the global list in batches (one take of gflock per G was 1.5 per spawn).
	if (("yield", "locks") in val && (val["yield", "locks"] >= 0.01 ||
					   val["yield", "usched"] >= 0.01))
		problem("counts-yield: " val["yield", "locks"] " lock takes and " \
			val["yield", "usched"] " instance-wide stores per yield, not ~0")
	if (("spawn-steady", "usched") in val && val["spawn-steady", "usched"] >= 1)
		problem("counts-spawn-steady: " val["spawn-steady", "usched"] \
			" instance-wide stores per spawn: free Gs move one by one again?")
	exit bad ? 1 : 0
}
