// SPDX-License-Identifier: GPL-2.0
/*
 * gmp-demo: the scheduler at work.  Spawns waves of Gs that each burn a
 * little CPU, counts which M (thread) ran each, and prints gmp.ko's
 * schedtrace.  A G may run on any M that holds a P; the counts show the
 * waves spread over the Ms (the Ps themselves are the kernel's: the
 * schedtrace's schedtick per P says how much each ran).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "gmprt.h"

#define WAVES	4
#define MAXM	64

static int per = 2000;		/* Gs per wave: gmp-demo [N] */

static gmprt_waitgroup wg = GMPRT_WAITGROUP_INIT;

/* Gs run per M in this wave, by thread id; guarded by mu. */
static gmprt_mutex mu = GMPRT_MUTEX_INIT;
static struct {
	pid_t tid;
	unsigned long ran;
} perm[MAXM];
static int nperm;

static void work(void *arg)
{
	volatile unsigned long x = (unsigned long)arg;
	pid_t tid;
	int i;

	for (i = 0; i < 2000; i++)
		x = x * 6364136223846793005UL + 1;
	/* Read the thread id after the work: a G may have moved since it began. */
	tid = gettid();
	gmprt_mutex_lock(&mu);
	for (i = 0; i < nperm && perm[i].tid != tid; i++)
		;
	if (i == nperm && nperm < MAXM)
		perm[nperm++].tid = tid;
	if (i < MAXM)
		perm[i].ran++;
	gmprt_mutex_unlock(&mu);
	gmprt_wg_done(&wg);
}

/* "2000 Gs on 3 Ms: 1210 702 88", and the table cleared for the next wave. */
static void print_per_m(int w)
{
	unsigned long sum = 0;
	int i;

	for (i = 0; i < nperm; i++)
		sum += perm[i].ran;
	printf("wave %d: %lu Gs on %d Ms:", w, sum, nperm);
	for (i = 0; i < nperm; i++)
		printf(" %lu", perm[i].ran);
	printf("\n");
	memset(perm, 0, sizeof(perm));
	nperm = 0;
}

static int demo(void *arg)
{
	char trace[8192];
	int w, i;

	(void)arg;
	printf("gmp-demo: gmprt %s, %d Ps\n", gmprt_version(), gmprt_nprocs());
	gmprt_schedtrace(trace, sizeof(trace), false);
	printf("before: %s", trace);
	for (w = 0; w < WAVES; w++) {
		int64_t t0 = gmprt_now();

		gmprt_wg_add(&wg, per);
		for (i = 0; i < per; i++)
			if (gmprt_go(work, (void *)(long)i))
				return 1;
		gmprt_schedtrace(trace, sizeof(trace), false);
		printf("wave %d spawned %d Gs: %s", w, per, trace);
		gmprt_wg_wait(&wg);
		printf("wave %d done in %.1f ms\n", w, (gmprt_now() - t0) / 1e6);
		print_per_m(w);
	}
	gmprt_schedtrace(trace, sizeof(trace), true);
	printf("after (scheddetail):\n%s", trace);
	return 0;
}

int main(int argc, char **argv)
{
	int r;

	if (argc > 1) {
		per = atoi(argv[1]);
		if (per < 1 || per > 1000000) {
			fprintf(stderr, "usage: gmp-demo [Gs per wave, 1 to 1000000]\n");
			return 2;
		}
	}
	r = gmprt_main(demo, NULL, NULL);

	/* Below zero, the runtime did not start (it said why on stderr). */
	return r < 0 ? 1 : r;
}
