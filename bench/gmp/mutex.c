// SPDX-License-Identifier: GPL-2.0
/*
 * gmp-mutex - gmprt_mutex lock+unlock, ns per pair:
 *   mutex-uncontended  one G, ITERS pairs
 *   mutex-contended    4 Gs on NPROCS Ps, each ITERS increments of one
 *                      counter under one mutex (Go's sync.Mutex and
 *                      pthread_mutex do the same in their peers)
 */
#include "gmpbench.h"

#define MUTEX_WORKERS 4

static gmprt_mutex mu;
static gmprt_waitgroup wg;
static long counter;

static void worker(void *arg)
{
	long i;

	for (i = 0; i < A.iters; i++) {
		gmprt_mutex_lock(&mu);
		counter++;
		gmprt_mutex_unlock(&mu);
	}
	if (arg)
		gmprt_wg_done(&wg);
}

static int bench_main(void *arg)
{
	int workers = strcmp(A.workload, "mutex-contended") ? 1 : MUTEX_WORKERS;
	struct gmpbench_count cnt;
	int64_t t0, t1;
	int i;

	if (workers == 1 && strcmp(A.workload, "mutex-uncontended"))
		bench_die("gmp-mutex: mutex-uncontended or mutex-contended");
	gmprt_mutex_init(&mu);
	gmprt_wg_init(&wg);
	gmpbench_count_start(&cnt);
	t0 = bench_now();
	if (workers == 1) {
		worker(NULL);
	} else {
		gmprt_wg_add(&wg, workers);
		for (i = 0; i < workers; i++)
			if (gmprt_go(worker, &wg))
				bench_die("gmprt_go failed");
		gmprt_wg_wait(&wg);
	}
	t1 = bench_now();
	gmpbench_count_report(&cnt, A.workload, (long)workers * A.iters);
	if (counter != workers * A.iters)
		bench_die("mutex: counter %ld, want %ld", counter, workers * A.iters);
	bench_result(A.workload, "gmp", A.nprocs, A.iters, "ns_per_op",
		     (double)(t1 - t0) / ((double)workers * A.iters),
		     "workers=%d", workers);
	return 0;
}

GMPBENCH_MAIN
