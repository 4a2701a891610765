// SPDX-License-Identifier: GPL-2.0
/*
 * gmp-spawn - create, run and finish ITERS trivial Gs (Go: "go f()" with
 * a WaitGroup): the main G spawns them all, each marks a wait group done,
 * main waits.  ns per G; and the syscalls the whole run made, per G
 * (syscalls-spawn), with gmp.ko's own call counters beside it.  Then
 * spawn-steady: the same in waves of 64 (no overflow, Gs reused).
 */
#include "gmpbench.h"

#define STEADY_WAVE	64

static gmprt_waitgroup wg;

static void trivial(void *arg)
{
	gmprt_wg_done(&wg);
}

static int bench_main(void *arg)
{
	struct gmpbench_calls c;
	int64_t t0, t1;
	long i;

	gmprt_wg_init(&wg);
	gmpbench_calls_start(&c);
	t0 = bench_now();
	gmprt_wg_add(&wg, A.iters);
	for (i = 0; i < A.iters; i++)
		if (gmprt_go(trivial, NULL))
			bench_die("gmprt_go failed at %ld", i);
	gmprt_wg_wait(&wg);
	t1 = bench_now();
	bench_result(gmpbench_name("spawn"), "gmp", A.nprocs, A.iters, "ns_per_op",
		     (double)(t1 - t0) / A.iters, NULL);
	gmpbench_calls_report(&c, gmpbench_name("syscalls-spawn"), A.iters);

	/*
	 * spawn-steady: the same Gs in waves of STEADY_WAVE, each waited for,
	 * so that the ring never overflows to the global queue and dead Gs'
	 * stacks are reused: the fast path alone, which the design says makes
	 * no syscall.
	 */
	gmpbench_calls_start(&c);
	t0 = bench_now();
	for (i = 0; i < A.iters; i += STEADY_WAVE) {
		long j;

		gmprt_wg_add(&wg, STEADY_WAVE);
		for (j = 0; j < STEADY_WAVE; j++)
			if (gmprt_go(trivial, NULL))
				bench_die("gmprt_go failed at %ld", i + j);
		gmprt_wg_wait(&wg);
	}
	t1 = bench_now();
	bench_result(gmpbench_name("spawn-steady"), "gmp", A.nprocs, i, "ns_per_op",
		     (double)(t1 - t0) / i, NULL);
	gmpbench_calls_report(&c, gmpbench_name("syscalls-spawn-steady"), i);
	return 0;
}

GMPBENCH_MAIN
