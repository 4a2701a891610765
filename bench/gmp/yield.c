// SPDX-License-Identifier: GPL-2.0
/*
 * gmp-yield - two Gs yielding to each other (Go: runtime.Gosched at
 * GOMAXPROCS=1).  Run with NPROCS 1, so that every yield is a switch
 * between the two.  ns per yield, and the syscalls per yield
 * (syscalls-yield): the design says zero.
 */
#include "gmpbench.h"

static gmprt_waitgroup wg;

static void yielder(void *arg)
{
	long i;

	for (i = 0; i < A.iters; i++)
		gmprt_yield();
	gmprt_wg_done(&wg);
}

static int bench_main(void *arg)
{
	struct gmpbench_calls c;
	int64_t t0, t1;

	gmprt_wg_init(&wg);
	gmprt_wg_add(&wg, 2);
	gmpbench_calls_start(&c);
	t0 = bench_now();
	if (gmprt_go(yielder, NULL) || gmprt_go(yielder, NULL))
		bench_die("gmprt_go failed");
	gmprt_wg_wait(&wg);
	t1 = bench_now();
	bench_result(gmpbench_name("yield"), "gmp", A.nprocs, A.iters, "ns_per_op",
		     (double)(t1 - t0) / (2 * A.iters), NULL);
	gmpbench_calls_report(&c, gmpbench_name("syscalls-yield"), 2 * A.iters);
	return 0;
}

GMPBENCH_MAIN
