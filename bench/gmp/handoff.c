// SPDX-License-Identifier: GPL-2.0
/*
 * gmp-handoff - how long from a G entering a blocking call to another G of
 * the same P running (issue 10's "handoff"), at NPROCS 1.
 *
 * Each round, the blocker readies the other G (an unbuffered send it is
 * waiting on: it goes to runnext), stamps the time and blocks in read() on
 * a pipe; the other G can run only once the blocker's P has been handed to
 * another M.  It takes the time, writes the pipe (the blocker wakes) and
 * waits for the next round.  Workloads:
 *   handoff-plain    a plain read(): block detection (grace period, then
 *                    sysmon's handoff)
 *   handoff-syscall  GMPRT_SYSCALL(read()): no grace period
 * ns per handoff (the mean), p50 and p99 as extra fields.
 */
#include <unistd.h>
#include "gmpbench.h"

static int pfd[2];
static gmprt_chan *go_c;
static gmprt_waitgroup wg;
static volatile int64_t t_block;
static int64_t *lat;

static void other(void *arg)
{
	long i, v;

	(void)arg;
	for (i = 0; i < A.iters; i++) {
		if (gmprt_chan_recv(go_c, &v))
			bench_die("recv failed");
		/* Runs only once the blocker's P went to another M. */
		while (!t_block)
			;
		lat[i] = bench_now() - t_block;
		t_block = 0;
		if (write(pfd[1], "x", 1) != 1)
			bench_die("write failed");
	}
	gmprt_wg_done(&wg);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int bench_main(void *arg)
{
	bool syscall = !strcmp(A.workload, "handoff-syscall");
	double sum = 0;
	char more[96], c;
	long i, v = 0;

	(void)arg;
	lat = calloc(A.iters, sizeof(*lat));
	go_c = gmprt_chan_make(sizeof(long), 0);
	if (!lat || !go_c || pipe(pfd))
		bench_die("setup failed");
	gmprt_wg_init(&wg);
	gmprt_wg_add(&wg, 1);
	if (gmprt_go(other, NULL))
		bench_die("gmprt_go failed");
	for (i = 0; i < A.iters; i++) {
		if (gmprt_chan_send(go_c, &v))	/* the other G: to runnext */
			bench_die("send failed");
		t_block = bench_now();
		if ((syscall ? GMPRT_SYSCALL(read(pfd[0], &c, 1)) :
			       read(pfd[0], &c, 1)) != 1)
			bench_die("read failed");
	}
	gmprt_wg_wait(&wg);
	for (i = 0; i < A.iters; i++)
		sum += lat[i];
	qsort(lat, A.iters, sizeof(*lat), cmp64);
	snprintf(more, sizeof(more), "p50_ns=%lld p99_ns=%lld",
		 (long long)lat[A.iters / 2], (long long)lat[A.iters * 99 / 100]);
	bench_result(A.workload, "gmp", A.nprocs, A.iters, "ns_per_op",
		     sum / A.iters, more);
	return 0;
}

GMPBENCH_MAIN
