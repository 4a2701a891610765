// SPDX-License-Identifier: GPL-2.0
/*
 * gmp-memory - resident bytes per parked G: ITERS Gs each blocked in a
 * receive on one unbuffered channel.  RSS (from /proc/self/statm) once
 * they are all parked, less RSS before the first was spawned, divided by
 * ITERS.  The workload name carries the count (memory-100k, memory-1m).
 * Then the channel is closed and every G must finish.
 */
#include "gmpbench.h"

static gmprt_chan *gate;
static gmprt_waitgroup started, finished;

static void parked(void *arg)
{
	gmprt_wg_done(&started);
	gmprt_chan_recv(gate, NULL);	/* parks until the close */
	gmprt_wg_done(&finished);
}

static int bench_main(void *arg)
{
	char name[32];
	long rss0, rss1, i;
	int64_t t0, t1;

	gate = gmprt_chan_make(1, 0);
	if (!gate)
		bench_die("gmprt_chan_make failed");
	gmprt_wg_init(&started);
	gmprt_wg_init(&finished);
	gmprt_wg_add(&started, A.iters);
	gmprt_wg_add(&finished, A.iters);
	rss0 = bench_rss();
	t0 = bench_now();
	for (i = 0; i < A.iters; i++)
		if (gmprt_go(parked, NULL))
			bench_die("gmprt_go failed at %ld (out of memory or maps?)", i);
	gmprt_wg_wait(&started);
	/* Every G has run; let the last ones reach their receive. */
	gmprt_sleep(50 * 1000 * 1000);
	rss1 = bench_rss();
	t1 = bench_now();
	gmprt_chan_close(gate);
	gmprt_wg_wait(&finished);
	if (A.iters % 1000000 == 0)
		snprintf(name, sizeof(name), "memory-%ldm", A.iters / 1000000);
	else if (A.iters % 1000 == 0)
		snprintf(name, sizeof(name), "memory-%ldk", A.iters / 1000);
	else
		snprintf(name, sizeof(name), "memory-%ld", A.iters);
	bench_result(name, "gmp", A.nprocs, A.iters, "bytes_per_g",
		     (double)(rss1 - rss0) / A.iters,
		     "rss_before=%ld rss_parked=%ld spawn_ms=%.1f", rss0, rss1,
		     (t1 - t0) / 1e6);
	return 0;
}

GMPBENCH_MAIN
