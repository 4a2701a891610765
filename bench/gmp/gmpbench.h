/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench/gmp/gmpbench.h - what the gmp workloads share: start the runtime
 * with NPROCS Ps, the syscall counter opened before any M exists, and
 * gmp.ko's own per-instance counters (the scheddetail "stats:" line).
 *
 * A workload defines   static int bench_main(void *arg);
 * and ends with        GMPBENCH_MAIN
 */
#ifndef BENCH_GMPBENCH_H
#define BENCH_GMPBENCH_H

#include <stdbool.h>
#include "../common.h"
#include "gmprt.h"

static struct bench_args A;
static struct bench_sc sc;
static int have_sc;

/*
 * gmp.ko's calls on this instance so far (the sum of the "stats:" line's
 * counters: park, wake, acquire, release, runqput, runqget, ...), or -1.
 * @detail: if not NULL, the stats line itself (for the result's extra keys).
 */
static inline long gmpbench_kstats(char *detail, size_t len)
{
	static char buf[1 << 16];
	char *at, *end, *p;
	long total = 0;

	if (gmprt_schedtrace(buf, sizeof(buf), true) < 0)
		return -1;
	at = strstr(buf, "stats:");
	if (!at)
		return -1;
	at += strlen("stats:");
	end = strchr(at, '\n');
	if (end)
		*end = 0;
	for (p = strchr(at, '='); p; p = strchr(p + 1, '='))
		total += strtol(p + 1, NULL, 10);
	if (detail) {
		snprintf(detail, len, "%s", at);
		for (p = detail; *p; p++)	/* " park=1 wake=2" -> "park=1,wake=2" */
			if (*p == ' ')
				*p = ',';
		p = detail;
		while (*p == ',')
			p++;
		memmove(detail, p, strlen(p) + 1);
	}
	return total;
}

/* Syscalls and gmp.ko calls over a measured section. */
struct gmpbench_calls {
	long sc0, k0;
};

static inline void gmpbench_calls_start(struct gmpbench_calls *c)
{
	c->k0 = gmpbench_kstats(NULL, 0);
	c->sc0 = bench_sc_read(&sc);
}

/* Print "syscalls-<what>" for @ops operations since gmpbench_calls_start(). */
static inline void gmpbench_calls_report(struct gmpbench_calls *c,
					 const char *workload, long ops)
{
	long sc1 = bench_sc_read(&sc), k1 = gmpbench_kstats(NULL, 0);
	long calls = bench_sc_delta(&sc, c->sc0, sc1);
	char detail[256] = "";

	gmpbench_kstats(detail, sizeof(detail));
	if (!have_sc || calls < 0) {
		printf("# %s: syscall count unavailable (perf tracepoint raw_syscalls:sys_enter); gmp.ko calls: %ld\n",
		       workload, k1 - c->k0);
		return;
	}
	bench_result(workload, "gmp", A.nprocs, ops, "syscalls_per_op",
		     (double)calls / ops, "syscalls=%ld gmpko_calls=%ld gmpko_stats=%s",
		     calls, k1 >= 0 && c->k0 >= 0 ? k1 - c->k0 : -1L, detail);
}

static int bench_main(void *arg);

#define GMPBENCH_MAIN							\
int main(int argc, char **argv)						\
{									\
	struct gmprt_config cfg = { 0 };				\
									\
	A = bench_parse(argc, argv);					\
	/* Before gmprt_main: every M it starts inherits the counter. */ \
	have_sc = bench_sc_open(&sc) == 0;				\
	cfg.nprocs = A.nprocs;						\
	return gmprt_main(bench_main, NULL, &cfg);			\
}

#endif /* BENCH_GMPBENCH_H */
