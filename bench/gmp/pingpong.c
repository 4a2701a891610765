// SPDX-License-Identifier: GPL-2.0
/*
 * gmp-pingpong - an unbuffered channel round trip between two Gs: main
 * sends on ping, the other G receives and sends it back on pong.  ns per
 * round trip; the value is checked.
 */
#include "gmpbench.h"

static gmprt_chan *ping, *pong;
static gmprt_waitgroup wg;

static void ponger(void *arg)
{
	long i, v;

	for (i = 0; i < A.iters; i++) {
		if (gmprt_chan_recv(ping, &v))
			bench_die("recv failed");
		v++;
		if (gmprt_chan_send(pong, &v))
			bench_die("send failed");
	}
	gmprt_wg_done(&wg);
}

static int bench_main(void *arg)
{
	struct gmpbench_count cnt;
	int64_t t0, t1;
	long i, v;

	ping = gmprt_chan_make(sizeof(long), 0);
	pong = gmprt_chan_make(sizeof(long), 0);
	if (!ping || !pong)
		bench_die("gmprt_chan_make failed");
	gmprt_wg_init(&wg);
	gmprt_wg_add(&wg, 1);
	if (gmprt_go(ponger, NULL))
		bench_die("gmprt_go failed");
	gmpbench_count_start(&cnt);
	t0 = bench_now();
	for (i = 0; i < A.iters; i++) {
		v = i;
		if (gmprt_chan_send(ping, &v) || gmprt_chan_recv(pong, &v))
			bench_die("send/recv failed");
		if (v != i + 1)
			bench_die("pingpong: got %ld, want %ld", v, i + 1);
	}
	t1 = bench_now();
	gmpbench_count_report(&cnt, gmpbench_name("pingpong"), A.iters);
	gmprt_wg_wait(&wg);
	bench_result(gmpbench_name("pingpong"), "gmp", A.nprocs, A.iters, "ns_per_op",
		     (double)(t1 - t0) / A.iters, NULL);
	gmprt_chan_free(ping);
	gmprt_chan_free(pong);
	return 0;
}

GMPBENCH_MAIN
