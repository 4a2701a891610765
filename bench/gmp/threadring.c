// SPDX-License-Identifier: GPL-2.0
/*
 * gmp-threadring - the Benchmarks Game's thread-ring: 503 Gs in a ring,
 * each with its own unbuffered channel; G 1 receives the token ITERS, each
 * G passes the token on decremented, and the G that receives 0 reports its
 * id (498 for 1000 hops).  Hops per second.
 */
#include "gmpbench.h"

#define RING 503

static gmprt_chan *ch[RING];
static gmprt_chan *done;

static void ring_g(void *arg)
{
	int id = (int)(intptr_t)arg;
	gmprt_chan *in = ch[id], *out = ch[(id + 1) % RING];
	long n;

	for (;;) {
		if (gmprt_chan_recv(in, &n))
			return;		/* closed: the run is over */
		if (n == 0) {
			int winner = id + 1;

			gmprt_chan_send(done, &winner);
			return;
		}
		n--;
		if (gmprt_chan_send(out, &n))
			return;
	}
}

static int bench_main(void *arg)
{
	struct gmpbench_count cnt;
	int64_t t0, t1;
	int i, winner;
	long n = A.iters;

	done = gmprt_chan_make(sizeof(int), 0);
	for (i = 0; i < RING; i++) {
		ch[i] = gmprt_chan_make(sizeof(long), 0);
		if (!ch[i] || !done)
			bench_die("gmprt_chan_make failed");
	}
	for (i = 0; i < RING; i++)
		if (gmprt_go(ring_g, (void *)(intptr_t)i))
			bench_die("gmprt_go failed");
	gmpbench_count_start(&cnt);
	t0 = bench_now();
	if (gmprt_chan_send(ch[0], &n) || gmprt_chan_recv(done, &winner))
		bench_die("send/recv failed");
	t1 = bench_now();
	gmpbench_count_report(&cnt, "threadring", A.iters);
	/* The other 502 Gs are parked in a receive: closing ends them. */
	for (i = 0; i < RING; i++)
		gmprt_chan_close(ch[i]);
	bench_result("threadring", "gmp", A.nprocs, A.iters, "hops_per_s",
		     A.iters * 1e9 / (double)(t1 - t0), "ns_per_hop=%.1f winner=%d",
		     (double)(t1 - t0) / A.iters, winner);
	return 0;
}

GMPBENCH_MAIN
