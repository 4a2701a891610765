// SPDX-License-Identifier: GPL-2.0
/*
 * gmp-fanout - recursive fib(32) that spawns a G for fib(n-1) at every call
 * with n above a cutoff (16: about 2,600 Gs per fib(32), each then doing a
 * serial fib of at most 16), computes fib(n-2) itself and waits for the
 * child.  Work stealing and wakeups under load: run at NPROCS 1 and 2; the
 * report divides the two for the speed-up.  ns per fib(32), ITERS of them.
 */
#include "gmpbench.h"

struct fib_call {
	int n;
	long result;
	gmprt_waitgroup *wg;
};

static long fib(int n);

static void fib_g(void *arg)
{
	struct fib_call *c = arg;

	c->result = fib(c->n);
	gmprt_wg_done(c->wg);
}

static long fib(int n)
{
	gmprt_waitgroup wg;
	struct fib_call child;
	long mine;

	if (n <= FIB_CUTOFF)
		return fib_serial(n);
	gmprt_wg_init(&wg);
	gmprt_wg_add(&wg, 1);
	child.n = n - 1;
	child.wg = &wg;
	if (gmprt_go(fib_g, &child))
		bench_die("gmprt_go failed");
	mine = fib(n - 2);
	gmprt_wg_wait(&wg);
	return mine + child.result;
}

static int bench_main(void *arg)
{
	struct gmpbench_count cnt;
	int64_t t0, t1;
	long i, r = 0;

	gmpbench_count_start(&cnt);
	t0 = bench_now();
	for (i = 0; i < A.iters; i++)
		r = fib(FIB_N);
	t1 = bench_now();
	gmpbench_count_report(&cnt, "fanout", A.iters);
	if (r != FIB_RESULT)
		bench_die("fib(%d) = %ld, want %ld", FIB_N, r, FIB_RESULT);
	bench_result("fanout", "gmp", A.nprocs, A.iters, "ns_per_op",
		     (double)(t1 - t0) / A.iters, "n=%d cutoff=%d", FIB_N, FIB_CUTOFF);
	return 0;
}

GMPBENCH_MAIN
