// SPDX-License-Identifier: GPL-2.0
/*
 * gmp-pipeline: stages connected by channels, as in Go's "pipelines and
 * cancellation": a generator, two squarers reading from it (fan-out), and
 * a merge closing its output once both are done (fan-in).  Each stage ends
 * when its input is closed, passing the close on; every send is a select
 * against a done channel, so that closing done stops the whole pipeline
 * early, from any stage.  The consumer waits with a timeout, so that a
 * stalled pipeline is reported, not waited for forever.
 *
 *	gmp-pipeline [N]	(default 100)
 *
 * Prints three lines (for N = 100):
 *	all: 100 squares, sum 338350
 *	early: took 5 of 1000000, done closed, every stage quit
 *	stalled: no value in 20 ms (timed out)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "gmprt.h"

#define MS	(1000 * 1000LL)

struct pipe {
	long n;
	gmprt_chan *nums, *squares, *done;	/* long, long, nothing */
	gmprt_waitgroup squarers, stages;
};

/* Send @v on @out unless done is closed first.  Return: 0, or -ECANCELED. */
static int send_or_done(struct pipe *p, gmprt_chan *out, long v)
{
	struct gmprt_select_case k[2] = {
		{ .chan = out, .dir = GMPRT_SEND, .elem = &v },
		{ .chan = p->done, .dir = GMPRT_RECV },
	};

	return gmprt_select(k, 2, true) == 0 && k[0].err == 0 ? 0 : -ECANCELED;
}

static void generate(void *arg)
{
	struct pipe *p = arg;
	long i;

	for (i = 1; i <= p->n; i++)
		if (send_or_done(p, p->nums, i))
			break;
	gmprt_chan_close(p->nums);
	gmprt_wg_done(&p->stages);
}

static void square(void *arg)
{
	struct pipe *p = arg;
	long v;

	while (gmprt_chan_recv(p->nums, &v) == 0)
		if (send_or_done(p, p->squares, v * v))
			break;
	gmprt_wg_done(&p->squarers);
	gmprt_wg_done(&p->stages);
}

/* Fan-in's close: the output ends once every squarer has. */
static void merge(void *arg)
{
	struct pipe *p = arg;

	gmprt_wg_wait(&p->squarers);
	gmprt_chan_close(p->squares);
	gmprt_wg_done(&p->stages);
}

static int start(struct pipe *p, long n)
{
	p->n = n;
	p->nums = gmprt_chan_make(sizeof(long), 0);
	p->squares = gmprt_chan_make(sizeof(long), 0);
	p->done = gmprt_chan_make(0, 0);
	if (!p->nums || !p->squares || !p->done)
		return -ENOMEM;
	gmprt_wg_init(&p->squarers);
	gmprt_wg_init(&p->stages);
	gmprt_wg_add(&p->squarers, 2);
	gmprt_wg_add(&p->stages, 4);
	if (gmprt_go(generate, p) || gmprt_go(square, p) || gmprt_go(square, p) ||
	    gmprt_go(merge, p))
		return -ENOMEM;
	return 0;
}

static void finish(struct pipe *p)
{
	gmprt_wg_wait(&p->stages);
	gmprt_chan_free(p->nums);
	gmprt_chan_free(p->squares);
	gmprt_chan_free(p->done);
}

static int pipeline_main(void *arg)
{
	long n = *(long *)arg, v, sum = 0, got = 0;
	struct pipe p;
	gmprt_chan *stalled;
	int err;

	/* All of it: receive until the merged output is closed. */
	if (start(&p, n))
		return 1;
	while ((err = gmprt_chan_recv_timeout(p.squares, &v, 1000 * MS)) == 0) {
		sum += v;
		got++;
	}
	if (err != -EPIPE) {
		fprintf(stderr, "gmp-pipeline: no square for a second (%d)\n", err);
		return 1;
	}
	gmprt_chan_close(p.done);
	finish(&p);
	printf("all: %ld squares, sum %ld\n", got, sum);

	/* Early: a few values, then close done; every stage must quit. */
	if (start(&p, 1000000))
		return 1;
	for (got = 0; got < 5; got++)
		if (gmprt_chan_recv_timeout(p.squares, &v, 1000 * MS)) {
			fprintf(stderr, "gmp-pipeline: the early run stalled\n");
			return 1;
		}
	gmprt_chan_close(p.done);
	finish(&p);
	printf("early: took %ld of 1000000, done closed, every stage quit\n", got);

	/* Stalled: a stage that never sends is a timeout, not a hang. */
	stalled = gmprt_chan_make(sizeof(long), 0);
	err = gmprt_chan_recv_timeout(stalled, &v, 20 * MS);
	gmprt_chan_free(stalled);
	if (err != -ETIMEDOUT) {
		fprintf(stderr, "gmp-pipeline: a receive nobody sends to returned %d\n", err);
		return 1;
	}
	printf("stalled: no value in 20 ms (timed out)\n");
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 0) : 100;

	if (n < 0) {
		fprintf(stderr, "usage: gmp-pipeline [N >= 0]\n");
		return 2;
	}
	int r = gmprt_main(pipeline_main, &n, NULL);

	/* Below zero, the runtime did not start (it said why on stderr). */
	return r < 0 ? 1 : r;
}
