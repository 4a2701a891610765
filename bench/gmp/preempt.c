// SPDX-License-Identifier: GPL-2.0
/*
 * gmp-preempt - a 10 ms ticker beside a G that loops without any runtime
 * call, at NPROCS 1 (issue 10's "preempt").  ITERS ticks; the spinner
 * runs until the last.  The ticker's lateness (woken how long after its
 * 10 ms were up): the worst (the value), the mean and p99 as extra fields.
 * On gmp the spinner's P is handed off after 10 ms while it runs on; Go
 * preempts it asynchronously with a signal.
 */
#include "gmpbench.h"

static volatile int stop;
static gmprt_waitgroup wg;
static int64_t *late;

static void spinner(void *arg)
{
	volatile unsigned long n = 0;

	(void)arg;
	while (!stop)
		n++;		/* no runtime call: only the kernel gets in */
	gmprt_wg_done(&wg);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int bench_main(void *arg)
{
	const int64_t tick = 10 * 1000 * 1000;
	double sum = 0;
	char more[96];
	long i;

	(void)arg;
	late = calloc(A.iters, sizeof(*late));
	if (!late)
		bench_die("calloc failed");
	gmprt_wg_init(&wg);
	gmprt_wg_add(&wg, 1);
	if (gmprt_go(spinner, NULL))
		bench_die("gmprt_go failed");
	gmprt_yield();		/* the spinner has the P */
	for (i = 0; i < A.iters; i++) {
		int64_t due = bench_now() + tick;

		gmprt_sleep(tick);
		late[i] = bench_now() - due;
	}
	stop = 1;
	gmprt_wg_wait(&wg);
	for (i = 0; i < A.iters; i++)
		sum += late[i];
	qsort(late, A.iters, sizeof(*late), cmp64);
	snprintf(more, sizeof(more), "mean_ns=%.0f p99_ns=%lld", sum / A.iters,
		 (long long)late[A.iters * 99 / 100]);
	bench_result("preempt", "gmp", A.nprocs, A.iters, "max_late_ns",
		     (double)late[A.iters - 1], more);
	return 0;
}

GMPBENCH_MAIN
