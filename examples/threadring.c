// SPDX-License-Identifier: GPL-2.0
/*
 * gmp-threadring: the Benchmarks Game's thread-ring, on gmp's Gs and
 * channels.  503 Gs stand in a ring, each reading from its own unbuffered
 * channel and writing to its neighbour's.  G 1 gets a token holding N; each
 * G that gets it passes it on, decremented, and the G that gets 0 prints
 * its id.  For N = 1000 that is 498 (in general N % 503 + 1).
 *
 *	gmp-threadring [N]	(default 1000)
 *
 * selftests/rt_chan_test.c runs threadring() itself (THREADRING_NO_MAIN).
 */
#include <stdio.h>
#include <stdlib.h>
#include "gmprt.h"

#define THREADRING_SIZE	503

struct ringg {
	int id;				/* 1 ... THREADRING_SIZE */
	gmprt_chan *in, *out, *done;
	gmprt_waitgroup *wg;
};

static void ring_g(void *arg)
{
	struct ringg *r = arg;
	long token;

	/* A receive fails once main closes the ring: the run is over. */
	while (gmprt_chan_recv(r->in, &token) == 0) {
		if (token == 0) {
			gmprt_chan_send(r->done, &r->id);
			break;
		}
		token--;
		if (gmprt_chan_send(r->out, &token))
			break;
	}
	gmprt_wg_done(r->wg);
}

/*
 * threadring() - pass a token @n times around a ring of 503 Gs.
 * Return: the id of the G that holds it last (1 ... 503), or -1 if a G or
 * a channel could not be made.  Only from a G.
 */
static int threadring(long n)
{
	gmprt_waitgroup wg = GMPRT_WAITGROUP_INIT;
	struct ringg *r = calloc(THREADRING_SIZE, sizeof(*r));
	gmprt_chan *done = gmprt_chan_make(sizeof(int), 0);
	int i, last = -1, spawned = 0;

	if (!r || !done)
		goto out;
	for (i = 0; i < THREADRING_SIZE; i++) {
		r[i].id = i + 1;
		r[i].in = gmprt_chan_make(sizeof(long), 0);
		r[i].done = done;
		r[i].wg = &wg;
		if (!r[i].in)
			goto out;
	}
	for (i = 0; i < THREADRING_SIZE; i++)
		r[i].out = r[(i + 1) % THREADRING_SIZE].in;
	for (; spawned < THREADRING_SIZE; spawned++) {
		gmprt_wg_add(&wg, 1);
		if (gmprt_go(ring_g, &r[spawned])) {
			gmprt_wg_done(&wg);
			goto out;
		}
	}
	if (gmprt_chan_send(r[0].in, &n) == 0 && gmprt_chan_recv(done, &last))
		last = -1;
out:
	/* End the Gs parked in a receive, and wait for every one. */
	for (i = 0; r && i < THREADRING_SIZE; i++)
		if (r[i].in)
			gmprt_chan_close(r[i].in);
	gmprt_wg_wait(&wg);
	if (r) {
		for (i = 0; i < THREADRING_SIZE; i++)
			gmprt_chan_free(r[i].in);
	}
	gmprt_chan_free(done);
	free(r);
	return last;
}

#ifndef THREADRING_NO_MAIN
static int ring_main(void *arg)
{
	long n = *(long *)arg;
	int last = threadring(n);

	if (last < 0) {
		fprintf(stderr, "gmp-threadring: out of memory\n");
		return 1;
	}
	printf("%d\n", last);
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 0) : 1000;

	if (n < 0) {
		fprintf(stderr, "usage: gmp-threadring [N >= 0]\n");
		return 2;
	}
	int r = gmprt_main(ring_main, &n, NULL);

	/* Below zero, the runtime did not start (it said why on stderr). */
	return r < 0 ? 1 : r;
}
#endif
