// SPDX-License-Identifier: GPL-2.0
/*
 * gmp-workerpool: a fixed pool of worker Gs takes jobs from a buffered
 * channel; results go into a table under a mutex, and a wait group says
 * when every worker is done (Go's "worker pools" pattern).
 *
 *	gmp-workerpool [JOBS [WORKERS]]		(default 1000 jobs, 8 workers)
 *
 * Job i is the Collatz sequence from i: its result is the number of steps
 * to reach 1.  Prints the jobs done by each worker, then
 *	jobs=N workers=W steps=S longest=I (L steps)
 * and exits 1 if a job was lost or done twice.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "gmprt.h"

struct pool {
	gmprt_chan *jobs;		/* long: the job's number */
	gmprt_waitgroup wg;		/* the workers still running */
	gmprt_mutex mu;			/* guards what follows */
	long *steps;			/* per job; -1: not done yet */
	long njobs, total, dup;
};

struct worker {
	struct pool *pool;
	long done;			/* jobs this worker did */
};

static long collatz(long n)
{
	long steps = 0;

	while (n != 1) {
		n = (n & 1) ? 3 * n + 1 : n / 2;
		steps++;
	}
	return steps;
}

static void worker(void *arg)
{
	struct worker *w = arg;
	struct pool *p = w->pool;
	long job, s;

	/* -EPIPE once main closed the channel and the buffer is drained. */
	while (gmprt_chan_recv(p->jobs, &job) == 0) {
		s = collatz(job);
		gmprt_mutex_lock(&p->mu);
		if (p->steps[job - 1] >= 0)
			p->dup++;
		p->steps[job - 1] = s;
		p->total += s;
		gmprt_mutex_unlock(&p->mu);
		w->done++;
	}
	gmprt_wg_done(&p->wg);
}

static int pool_main(void *arg)
{
	long *argv = arg, njobs = argv[0], nworkers = argv[1], i, best = 1, lost = 0;
	struct pool p = { .njobs = njobs };
	struct worker *w = calloc(nworkers, sizeof(*w));

	p.jobs = gmprt_chan_make(sizeof(long), 16);
	p.steps = malloc(njobs * sizeof(long));
	if (!w || !p.jobs || !p.steps) {
		fprintf(stderr, "gmp-workerpool: out of memory\n");
		return 1;
	}
	gmprt_wg_init(&p.wg);
	gmprt_mutex_init(&p.mu);
	for (i = 0; i < njobs; i++)
		p.steps[i] = -1;

	for (i = 0; i < nworkers; i++) {
		w[i].pool = &p;
		gmprt_wg_add(&p.wg, 1);
		if (gmprt_go(worker, &w[i])) {
			fprintf(stderr, "gmp-workerpool: cannot start a worker\n");
			return 1;
		}
	}
	/* Blocks while 16 jobs wait: the workers set the pace. */
	for (i = 1; i <= njobs; i++)
		gmprt_chan_send(p.jobs, &i);
	gmprt_chan_close(p.jobs);
	gmprt_wg_wait(&p.wg);

	for (i = 0; i < nworkers; i++)
		printf("worker %ld: %ld jobs\n", i, w[i].done);
	for (i = 0; i < njobs; i++) {
		if (p.steps[i] < 0)
			lost++;
		else if (p.steps[i] > p.steps[best - 1])
			best = i + 1;
	}
	printf("jobs=%ld workers=%ld steps=%ld longest=%ld (%ld steps)\n",
	       njobs, nworkers, p.total, best, p.steps[best - 1]);
	if (lost || p.dup) {
		fprintf(stderr, "gmp-workerpool: %ld jobs lost, %ld done twice\n", lost, p.dup);
		return 1;
	}
	gmprt_chan_free(p.jobs);
	free(p.steps);
	free(w);
	return 0;
}

int main(int argc, char **argv)
{
	long a[2] = { 1000, 8 };

	if (argc > 1)
		a[0] = strtol(argv[1], NULL, 0);
	if (argc > 2)
		a[1] = strtol(argv[2], NULL, 0);
	if (a[0] < 1 || a[1] < 1) {
		fprintf(stderr, "usage: gmp-workerpool [JOBS >= 1 [WORKERS >= 1]]\n");
		return 2;
	}
	int r = gmprt_main(pool_main, a, NULL);

	/* Below zero, the runtime did not start (it said why on stderr). */
	return r < 0 ? 1 : r;
}
