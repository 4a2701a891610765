// SPDX-License-Identifier: GPL-2.0
/*
 * gmp-lockedm - pingpong with the main G locked to its thread
 * (gmprt_lock_thread, Go's LockOSThread): every round trip hands a P to
 * the locked thread and back (userlib/lockm.c).  ns per round trip; the
 * value is checked.  Compared with pingpong, unlocked, in the same boot.
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
	struct gmpbench_calls c;
	int64_t t0, t1;
	long i, v;

	ping = gmprt_chan_make(sizeof(long), 0);
	pong = gmprt_chan_make(sizeof(long), 0);
	if (!ping || !pong)
		bench_die("gmprt_chan_make failed");
	gmprt_lock_thread();
	gmprt_wg_init(&wg);
	gmprt_wg_add(&wg, 1);
	if (gmprt_go(ponger, NULL))
		bench_die("gmprt_go failed");
	gmpbench_calls_start(&c);
	t0 = bench_now();
	for (i = 0; i < A.iters; i++) {
		v = i;
		if (gmprt_chan_send(ping, &v) || gmprt_chan_recv(pong, &v))
			bench_die("send/recv failed");
		if (v != i + 1)
			bench_die("lockedm: got %ld, want %ld", v, i + 1);
	}
	t1 = bench_now();
	gmpbench_calls_report(&c, "syscalls-pingpong-locked", A.iters);
	gmprt_wg_wait(&wg);
	gmprt_unlock_thread();
	bench_result("pingpong-locked", "gmp", A.nprocs, A.iters, "ns_per_op",
		     (double)(t1 - t0) / A.iters, NULL);
	return 0;
}

GMPBENCH_MAIN
