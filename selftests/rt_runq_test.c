// SPDX-License-Identifier: GPL-2.0
/*
 * The runtime's lock-free local run queue, on real P pages mapped from
 * gmp.ko: Go's RunSchedLocalQueueTest and RunSchedLocalQueueStealTest
 * (steals take half, nothing lost or duplicated), and the same under
 * concurrency: an owner putting and getting while a thief steals.
 */
#include <pthread.h>
#include "kselftest_harness.h"
#include "gmp_util.h"
#include "runtime.h"

FIXTURE(runq) {
	struct gmp_inst g;
	struct p p1, p2;
	g_t gs[GMP_RUNQ_SIZE];
	int sig[GMP_RUNQ_SIZE];
};

FIXTURE_SETUP(runq)
{
	ASSERT_EQ(0, gmp_inst_open(&self->g, 2, 0));
	gmprt_p_init(&self->p1, self->g.procs, &self->g.prm, 0);
	gmprt_p_init(&self->p2, self->g.procs, &self->g.prm, 1);
}

FIXTURE_TEARDOWN(runq)
{
	gmp_inst_close(&self->g);
}

static int idx(struct __test_metadata *_metadata, FIXTURE_DATA(runq) *self, g_t *gp)
{
	long i = gp - self->gs;

	return (i >= 0 && i < GMP_RUNQ_SIZE) ? (int)i : -1;
}

/* Go's RunSchedLocalQueueTest: what goes in comes out, in order. */
TEST_F(runq, put_get_order)
{
	bool inherit;
	int i, j;

	ASSERT_EQ(NULL, gmprt_runqget(&self->p1, &inherit));
	for (i = 0; i < GMP_RUNQ_SIZE; i++) {
		for (j = 0; j < i; j++)
			gmprt_runqput(&self->p1, &self->gs[j], false);
		for (j = 0; j < i; j++) {
			g_t *gp = gmprt_runqget(&self->p1, &inherit);

			ASSERT_EQ(&self->gs[j], gp);
			ASSERT_FALSE(inherit);
		}
		ASSERT_EQ(NULL, gmprt_runqget(&self->p1, &inherit));
	}
	/* runnext comes first and inherits the time slice. */
	gmprt_runqput(&self->p1, &self->gs[0], false);
	gmprt_runqput(&self->p1, &self->gs[1], true);
	ASSERT_EQ(&self->gs[1], gmprt_runqget(&self->p1, &inherit));
	ASSERT_TRUE(inherit);
	ASSERT_EQ(&self->gs[0], gmprt_runqget(&self->p1, &inherit));
}

/* Go's RunSchedLocalQueueStealTest. */
TEST_F(runq, steal_takes_half)
{
	bool inherit;
	int i, j, s;

	for (i = 0; i < GMP_RUNQ_SIZE; i++) {
		g_t *gp;

		for (j = 0; j < i; j++) {
			self->sig[j] = 0;
			gmprt_runqput(&self->p1, &self->gs[j], false);
		}
		gp = gmprt_runqsteal(&self->p2, &self->p1, true);
		s = 0;
		if (gp) {
			s++;
			self->sig[idx(_metadata, self, gp)]++;
		}
		while ((gp = gmprt_runqget(&self->p2, &inherit))) {
			s++;
			self->sig[idx(_metadata, self, gp)]++;
		}
		while ((gp = gmprt_runqget(&self->p1, &inherit)))
			self->sig[idx(_metadata, self, gp)]++;
		for (j = 0; j < i; j++)
			ASSERT_EQ(1, self->sig[j]) TH_LOG("element %d at iteration %d", j, i);
		ASSERT_TRUE(s == i / 2 || s == i / 2 + 1) TH_LOG("stole %d of %d", s, i);
	}
}

/* Concurrency: the owner of p1 puts and gets, a thief owning p2 steals. */
#define NITEMS 200000
struct race {
	struct p *p1, *p2;
	g_t *items;
	atomic_uchar *count;
	atomic_int done;
	long stolen;
};

static void take(struct race *r, g_t *gp)
{
	atomic_fetch_add(&r->count[gp - r->items], 1);
}

static void *thief(void *arg)
{
	struct race *r = arg;
	bool inherit;
	g_t *gp;

	while (!atomic_load(&r->done)) {
		gp = gmprt_runqsteal(r->p2, r->p1, true);
		if (!gp)
			continue;
		take(r, gp);
		r->stolen++;
		while ((gp = gmprt_runqget(r->p2, &inherit)))
			take(r, gp), r->stolen++;
	}
	return NULL;
}

TEST_F_TIMEOUT(runq, concurrent_steal_loses_nothing, 120)
{
	struct race r = { .p1 = &self->p1, .p2 = &self->p2 };
	bool inherit;
	pthread_t t;
	long i, next = 0;
	g_t *gp;

	r.items = calloc(NITEMS, sizeof(g_t));
	r.count = calloc(NITEMS, 1);
	ASSERT_EQ(0, pthread_create(&t, NULL, thief, &r));
	while (next < NITEMS) {
		uint32_t h = __atomic_load_n(self->p1.krunqhead, __ATOMIC_ACQUIRE);
		uint32_t tl = __atomic_load_n(self->p1.krunqtail, __ATOMIC_ACQUIRE);

		/* Stay clear of overflow: the global queue is not under test. */
		if (tl - h < GMP_RUNQ_SIZE - 2) {
			gmprt_runqput(&self->p1, &r.items[next], next % 7 == 0);
			next++;
		}
		if (next % 3 == 0 && (gp = gmprt_runqget(&self->p1, &inherit)))
			take(&r, gp);
	}
	while ((gp = gmprt_runqget(&self->p1, &inherit)))
		take(&r, gp);
	atomic_store(&r.done, 1);
	pthread_join(t, NULL);
	while ((gp = gmprt_runqget(&self->p2, &inherit)))
		take(&r, gp);
	for (i = 0; i < NITEMS; i++)
		ASSERT_EQ(1, atomic_load(&r.count[i])) TH_LOG("item %ld", i);
	TH_LOG("thief took %ld of %d", r.stolen, NITEMS);
	ASSERT_LT(0, r.stolen);
}

TEST_HARNESS_MAIN
