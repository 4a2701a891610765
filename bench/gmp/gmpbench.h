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

/*
 * A workload's name for its BENCH lines, with the variant's suffix:
 * "-nohandoff" linked against the library built without block detection's
 * bracket, "-notrace" against the one without GMPRT_TRACE's hooks
 * (bench.mk), "-traced" run with GMPRT_TRACE on (GMPBENCH_MAIN),
 * "-traceoff" the normal build at the iterations of those two.
 */
static inline const char *gmpbench_name(const char *base)
{
	static const char *const variants[] = { "-nohandoff", "-notrace", "-traced",
						"-traceoff" };
	static char buf[8][48];
	static int n;
	char *b = buf[n++ % 8];
	const char *v = "";
	unsigned int i;

	for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
		if (strstr(A.workload, variants[i]))
			v = variants[i];
	snprintf(b, sizeof(buf[0]), "%s%s", base, v);
	return b;
}
static struct bench_sc sc;
static int have_sc;

#define GMPBENCH_NSTATS 24

/* gmp.ko's per-instance counters, from the scheddetail "stats:" line. */
struct gmpbench_kstats {
	int n;
	char name[GMPBENCH_NSTATS][16];
	long val[GMPBENCH_NSTATS];
	long total;		/* the gmp.ko calls so far (sum of the ioctl counters), or -1 */
};

static inline void gmpbench_kstats(struct gmpbench_kstats *k)
{
	static char buf[1 << 16];
	char *at, *end, *eq;

	k->n = 0;
	k->total = -1;
	if (gmprt_schedtrace(buf, sizeof(buf), true) < 0)
		return;
	at = strstr(buf, "stats:");
	if (!at)
		return;
	at += strlen("stats:");
	end = strchr(at, '\n');
	if (end)
		*end = 0;
	k->total = 0;
	/* " park=1 wake=2 ..." */
	while ((eq = strchr(at, '=')) && k->n < GMPBENCH_NSTATS) {
		char *name = eq;

		while (name > at && name[-1] != ' ')
			name--;
		snprintf(k->name[k->n], sizeof(k->name[0]), "%.*s",
			 (int)(eq - name), name);
		k->val[k->n] = strtol(eq + 1, &at, 10);
		/* Only the ioctl counters: the rest count sysmon's and block
		 * detection's own doings, not calls from the process. */
		if (!strcmp(k->name[k->n], "park") || !strcmp(k->name[k->n], "wake") ||
		    !strcmp(k->name[k->n], "acquire") || !strcmp(k->name[k->n], "release") ||
		    !strcmp(k->name[k->n], "runqput") || !strcmp(k->name[k->n], "runqget"))
			k->total += k->val[k->n];
		k->n++;
	}
}

static inline long gmpbench_kstat(const struct gmpbench_kstats *k, const char *name)
{
	int i;

	for (i = 0; i < k->n; i++)
		if (!strcmp(k->name[i], name))
			return k->val[i];
	return -1;
}

/*
 * The counting build (make bench-count): gmp.ko built with GMP_COUNTING
 * adds "locks" and "kshared" to its stats line, and libgmprt-counting.a
 * has gmprt_counts_read(), the runtime's atomic stores by the kind of line
 * written (userlib/count.c).  Weak: the normal library has no such symbol,
 * and then no counts line is printed.
 */
extern int gmprt_counts_read(uint64_t *out, int n) __attribute__((weak));

#define GMPBENCH_NCOUNT 5

struct gmpbench_count {
	struct gmpbench_kstats k0;
	uint64_t u0[GMPBENCH_NCOUNT];
};

static inline bool gmpbench_counting(void)
{
	return gmprt_counts_read != NULL;
}

static inline void gmpbench_count_start(struct gmpbench_count *c)
{
	if (!gmpbench_counting())
		return;
	gmpbench_kstats(&c->k0);
	gmprt_counts_read(c->u0, GMPBENCH_NCOUNT);
}

/*
 * Print "counts-<what>" for @ops operations since gmpbench_count_start(),
 * all per operation: the instance lock's takes (the value), gmp.ko's
 * stores to shared lines (kshared), and the runtime's atomic stores to the
 * instance (usched), the caller's P (uownp), another P (uotherp), an
 * object such as a channel (uobj) and the M's own slot (umslot, not
 * shared).  @k1: the stats read at the end.  The two stats reads
 * themselves take the lock twice.
 */
static inline void gmpbench_count_report_at(struct gmpbench_count *c, const char *what,
					    long ops, const struct gmpbench_kstats *k1)
{
	uint64_t u1[GMPBENCH_NCOUNT];
	char name[64];
	double d[GMPBENCH_NCOUNT];
	long l0, l1, w0, w1;
	int i;

	if (!gmpbench_counting() || ops <= 0)
		return;
	gmprt_counts_read(u1, GMPBENCH_NCOUNT);
	l0 = gmpbench_kstat(&c->k0, "locks");
	l1 = gmpbench_kstat(k1, "locks");
	w0 = gmpbench_kstat(&c->k0, "kshared");
	w1 = gmpbench_kstat(k1, "kshared");
	if (l0 < 0 || l1 < 0 || w0 < 0 || w1 < 0) {
		printf("# %s: the counting library without the counting gmp.ko (no locks= in stats)\n",
		       what);
		return;
	}
	for (i = 0; i < GMPBENCH_NCOUNT; i++)
		d[i] = (double)(u1[i] - c->u0[i]) / ops;
	snprintf(name, sizeof(name), "counts-%s", what);
	bench_result(name, "gmp", A.nprocs, ops, "locks_per_op", (double)(l1 - l0) / ops,
		     "kshared=%.4g usched=%.4g uownp=%.4g uotherp=%.4g uobj=%.4g umslot=%.4g",
		     (double)(w1 - w0) / ops, d[0], d[1], d[2], d[3], d[4]);
}

static inline void gmpbench_count_report(struct gmpbench_count *c,
					 const char *what, long ops)
{
	struct gmpbench_kstats k1;

	if (!gmpbench_counting() || ops <= 0)
		return;
	gmpbench_kstats(&k1);
	gmpbench_count_report_at(c, what, ops, &k1);
}

/* Syscalls and gmp.ko calls over a measured section (and the counts). */
struct gmpbench_calls {
	long sc0;
	struct gmpbench_count cnt;	/* cnt.k0: the stats at the start */
};

static inline void gmpbench_calls_start(struct gmpbench_calls *c)
{
	gmpbench_kstats(&c->cnt.k0);
	if (gmpbench_counting())
		gmprt_counts_read(c->cnt.u0, GMPBENCH_NCOUNT);
	c->sc0 = bench_sc_read(&sc);
}

/*
 * Print "syscalls-<what>" for @ops operations since gmpbench_calls_start():
 * every syscall the process made (all threads), and beside it how many of
 * them were gmp.ko calls (gmpko_calls=) and every counter that moved
 * (gmpko_stats=park:N,wake:N,...; retake and preempt there count sysmon's
 * actions in the kernel, not calls).
 */
static inline void gmpbench_calls_report(struct gmpbench_calls *c,
					 const char *workload, long ops)
{
	long sc1 = bench_sc_read(&sc);
	long calls = bench_sc_delta(&sc, c->sc0, sc1);
	const struct gmpbench_kstats *k0 = &c->cnt.k0;
	struct gmpbench_kstats k1;
	char detail[512] = "-";
	size_t len = 0;
	int i;

	gmpbench_kstats(&k1);
	gmpbench_count_report_at(&c->cnt, strncmp(workload, "syscalls-", 9) ? workload :
				 workload + 9, ops, &k1);
	for (i = 0; i < k1.n; i++) {
		long v0 = gmpbench_kstat(k0, k1.name[i]);

		if (v0 < 0)
			v0 = 0;
		if (k1.val[i] == v0 || len >= sizeof(detail) - 1)
			continue;
		len += snprintf(detail + len, sizeof(detail) - len, "%s%s:%ld",
				len ? "," : "", k1.name[i], k1.val[i] - v0);
	}
	if (!len)
		snprintf(detail, sizeof(detail), "none");
	if (!have_sc || calls < 0) {
		printf("# %s: syscall count unavailable (perf tracepoint raw_syscalls:sys_enter); gmp.ko calls: %s\n",
		       workload, detail);
		return;
	}
	bench_result(workload, "gmp", A.nprocs, ops, "syscalls_per_op",
		     (double)calls / ops, "syscalls=%ld gmpko_calls=%ld gmpko_stats=%s",
		     calls, k1.total >= 0 && k0->total >= 0 ? k1.total - k0->total : -1L,
		     detail);
}

static int bench_main(void *arg);

#define GMPBENCH_MAIN							\
int main(int argc, char **argv)						\
{									\
	struct gmprt_config cfg = GMPRT_CONFIG_INIT;			\
	int r;								\
									\
	A = bench_parse(argc, argv);					\
	/* Before gmprt_main: every M it starts inherits the counter. */ \
	have_sc = bench_sc_open(&sc) == 0;				\
	cfg.nprocs = A.nprocs;						\
	/* Written after bench_main returns: outside the timed part. */	\
	if (strstr(A.workload, "-traced"))				\
		setenv("GMPRT_TRACE", "/tmp/gmpbench-trace.json", 1);	\
	r = gmprt_main(bench_main, NULL, &cfg);				\
	return r < 0 ? 1 : r;						\
}

#endif /* BENCH_GMPBENCH_H */
