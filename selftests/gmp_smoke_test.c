// SPDX-License-Identifier: GPL-2.0
/* Smoke test: set up, map, register, acquire, park/wake between two Ms. */
#include <pthread.h>
#include "gmp_util.h"
#include "kselftest_harness.h"

struct pp {
	struct gmp_inst *g;
	int rounds;
	uint32_t m;
	uint32_t main_m;
	int err;
};

static void *ponger(void *arg)
{
	struct pp *pp = arg;
	struct gmp_park out;
	int i, p;

	if (gmp_register(pp->g, &pp->m)) {
		pp->err = -1;
		return NULL;
	}
	for (i = 0; i < pp->rounds; i++) {
		/* Wait for a P, then hand ours back by waking the other M. */
		if (gmp_park(pp->g, pp->m, 0, 0, &out) || out.result != GMP_PARKED_WOKEN) {
			pp->err = -2;
			return NULL;
		}
		p = out.p;
		(void)p;
		if (gmp_wake(pp->g, pp->m, GMP_WAKE_HANDOFF | GMP_WAKE_TARGET, 0,
			     pp->main_m, NULL)) {
			pp->err = -3;
			return NULL;
		}
	}
	return NULL;
}

TEST(smoke)
{
	struct gmp_inst g;
	struct pp pp = { .g = &g, .rounds = 1000 };
	struct gmp_wake w;
	struct gmp_park out;
	char trace[4096];
	pthread_t t;
	uint32_t m;
	int p, i;

	ASSERT_EQ(0, gmp_inst_open(&g, 1, 0));
	ASSERT_EQ(1, g.prm.nprocs);
	ASSERT_EQ(1, GMP_SCHED_U32(&g, npidle));
	ASSERT_EQ(0, gmp_register(&g, &m));
	pp.main_m = m;
	ASSERT_EQ(0, gmp_acquire(&g, m, GMP_NONE, &p));
	ASSERT_EQ(0, p);
	ASSERT_EQ(0, GMP_SCHED_U32(&g, npidle));
	ASSERT_EQ(GMP_P_RUNNING, *GMP_P_FIELD(&g, 0, status, uint32_t));

	ASSERT_EQ(0, pthread_create(&t, NULL, ponger, &pp));
	/* Wait until the ponger is parked. */
	while (GMP_SCHED_U32(&g, nmidle) != 1)
		usleep(100);
	for (i = 0; i < pp.rounds; i++) {
		/*
		 * Targeted: the ponger may not have parked again yet, and a
		 * wake at it must then wait in its note (wake-before-park).
		 */
		ASSERT_EQ(0, gmp_wake(&g, m, GMP_WAKE_HANDOFF | GMP_WAKE_TARGET,
				      0, pp.m, &w));
		ASSERT_EQ(GMP_WOKE_M, w.result);
		ASSERT_EQ(0, gmp_park(&g, m, 0, 0, &out));
		ASSERT_EQ(GMP_PARKED_WOKEN, out.result);
		ASSERT_EQ(0, out.p);
	}
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, pp.err);
	ASSERT_EQ(0, gmp_schedtrace(&g, trace, sizeof(trace), 1));
	TH_LOG("%s", trace);
	ASSERT_EQ(1, gmp_trace_val(trace, "gomaxprocs"));
	gmp_inst_close(&g);
}

TEST_HARNESS_MAIN
