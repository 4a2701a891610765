// SPDX-License-Identifier: GPL-2.0
/*
 * gmp-demo: the scheduler at work.  Spawns waves of Gs that each burn a
 * little CPU, counts which P ran each, and prints gmp.ko's schedtrace.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gmprt.h"

#define WAVES	4
#define PER	2000

static gmprt_waitgroup wg = GMPRT_WAITGROUP_INIT;
static unsigned long ran[64];

static void work(void *arg)
{
	volatile unsigned long x = (unsigned long)arg;
	int i;

	for (i = 0; i < 2000; i++)
		x = x * 6364136223846793005UL + 1;
	__atomic_fetch_add(&ran[gmprt_goid() % 64], 1, __ATOMIC_RELAXED);
	gmprt_wg_done(&wg);
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

		gmprt_wg_add(&wg, PER);
		for (i = 0; i < PER; i++)
			if (gmprt_go(work, (void *)(long)i))
				return 1;
		gmprt_schedtrace(trace, sizeof(trace), false);
		printf("wave %d spawned %d Gs: %s", w, PER, trace);
		gmprt_wg_wait(&wg);
		printf("wave %d done in %.1f ms\n", w, (gmprt_now() - t0) / 1e6);
	}
	gmprt_schedtrace(trace, sizeof(trace), true);
	printf("after (scheddetail):\n%s", trace);
	return 0;
}

int main(void)
{
	return gmprt_main(demo, NULL, NULL);
}
