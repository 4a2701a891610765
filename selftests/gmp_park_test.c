// SPDX-License-Identifier: GPL-2.0
/*
 * GMP_IOC_PARK and GMP_IOC_WAKE: Go's stopm/notesleep and startm/notewakeup.
 *
 * Ping-pong with no lost wakeup, wake-before-park, the deadline, a signal
 * and SIGKILL while parked, the rechecks park does before sleeping, every
 * result of wake, and the idle counters against what the tests know.  The
 * same tests for 1, 2 and 4 Ps (4 > the VM's 2 vCPUs).
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include "gmp_util.h"
#include "kselftest_harness.h"

FIXTURE(park) {
	struct gmp_inst g;
	uint32_t m;		/* the main thread's M */
};

FIXTURE_VARIANT(park) {
	unsigned int nprocs;
};

FIXTURE_VARIANT_ADD(park, nprocs1) { .nprocs = 1 };
FIXTURE_VARIANT_ADD(park, nprocs2) { .nprocs = 2 };
FIXTURE_VARIANT_ADD(park, nprocs4) { .nprocs = 4 };

FIXTURE_SETUP(park)
{
	ASSERT_EQ(0, gmp_inst_open(&self->g, variant->nprocs, 0));
	ASSERT_EQ(variant->nprocs, self->g.prm.nprocs);
	ASSERT_EQ(0, gmp_register(&self->g, &self->m));
}

FIXTURE_TEARDOWN(park)
{
	gmp_inst_close(&self->g);
}

#define NPIDLE(g)	GMP_SCHED_U32(g, npidle)
#define NMIDLE(g)	GMP_SCHED_U32(g, nmidle)

/* ---- ping-pong -------------------------------------------------------- */

struct pong {
	struct gmp_inst *g;
	int rounds;
	uint32_t peer;		/* the main thread's M */
	volatile uint32_t m;
	volatile int ready;
	int err;		/* first failing round + 1, or 0 */
	int errno_;
};

/* Park, get the P, hand it back to the peer with a targeted wake. */
static void *pong_fn(void *arg)
{
	struct pong *pp = arg;
	struct gmp_park out;
	struct gmp_wake w;
	uint32_t m;
	int i, ret;

	if (gmp_register(pp->g, &m)) {
		pp->err = -1;
		return NULL;
	}
	pp->m = m;
	__atomic_store_n(&pp->ready, 1, __ATOMIC_RELEASE);
	for (i = 0; i < pp->rounds; i++) {
		ret = gmp_park(pp->g, m, 0, 0, &out);
		if (ret || out.result != GMP_PARKED_WOKEN || out.p == GMP_NONE) {
			pp->err = i + 1;
			pp->errno_ = ret;
			return NULL;
		}
		ret = gmp_wake(pp->g, m, GMP_WAKE_HANDOFF | GMP_WAKE_TARGET, 0,
			       pp->peer, &w);
		if (ret || w.result != GMP_WOKE_M || w.p != out.p) {
			pp->err = i + 1;
			pp->errno_ = ret;
			return NULL;
		}
	}
	return NULL;
}

/*
 * 100k round trips: every wake must reach its M whether it comes before or
 * after the park (the two threads race freely).  A lost wakeup hangs the
 * test, which the harness's timeout turns into a failure.
 */
TEST_F_TIMEOUT(park, pingpong_100k, 240)
{
	struct pong pp = { .g = &self->g, .rounds = 100000, .peer = self->m };
	struct gmp_park out;
	struct gmp_wake w;
	uint64_t t0, t1;
	pthread_t t;
	int p, i;

	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	ASSERT_EQ(0, p);
	ASSERT_EQ(0, pthread_create(&t, NULL, pong_fn, &pp));
	ASSERT_TRUE(GMP_WAIT_UNTIL(__atomic_load_n(&pp.ready, __ATOMIC_ACQUIRE)));
	t0 = gmp_mono_ns();
	for (i = 0; i < pp.rounds; i++) {
		ASSERT_EQ(0, gmp_wake(&self->g, self->m,
				      GMP_WAKE_HANDOFF | GMP_WAKE_TARGET, 0, pp.m,
				      &w)) TH_LOG("round %d", i);
		ASSERT_EQ(GMP_WOKE_M, w.result);
		ASSERT_EQ(pp.m, w.target);
		ASSERT_EQ(0, gmp_park(&self->g, self->m, 0, 0, &out))
			TH_LOG("round %d", i);
		ASSERT_EQ(GMP_PARKED_WOKEN, out.result);
		ASSERT_EQ(0, out.p);
		if (pp.err)
			break;
	}
	t1 = gmp_mono_ns();
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, pp.err) TH_LOG("ponger failed at round %d: %d", pp.err,
				    pp.errno_);
	TH_LOG("park/wake round trip: %.2f us (%d rounds, %.2f s)",
	       (t1 - t0) / 1000.0 / pp.rounds, pp.rounds, (t1 - t0) / 1e9);
	/* Both Ms are back where they started: main holds P0, none idle. */
	ASSERT_EQ(self->g.prm.nprocs - 1, NPIDLE(&self->g));
	ASSERT_EQ(0, NMIDLE(&self->g));
	ASSERT_EQ(self->m, *GMP_P_FIELD(&self->g, 0, m, int32_t));
}

/* ---- wake before park -------------------------------------------------- */

/*
 * A targeted wake at an M that has not parked yet waits in its note: the
 * P is handed over at once, and the park that comes later returns with it.
 */
TEST_F(park, wake_before_park)
{
	struct gmp_parker pk = { .gated = 1 };
	struct gmp_wake w;
	int p;

	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(pk.registered));

	ASSERT_EQ(0, gmp_wake(&self->g, self->m,
			      GMP_WAKE_HANDOFF | GMP_WAKE_TARGET, 0, pk.m, &w));
	ASSERT_EQ(GMP_WOKE_M, w.result);
	ASSERT_EQ(p, w.p);
	ASSERT_EQ(pk.m, w.target);
	/* The P is the target's already; the waker holds none. */
	ASSERT_EQ(pk.m, *GMP_P_FIELD(&self->g, p, m, int32_t));
	ASSERT_EQ(GMP_P_RUNNING, *gmp_p_status(&self->g, p));
	ASSERT_EQ(0, NMIDLE(&self->g));
	ASSERT_EQ(self->g.prm.nprocs - 1, NPIDLE(&self->g));
	ASSERT_EQ(-EINVAL, gmp_wake(&self->g, self->m, GMP_WAKE_HANDOFF, 0, 0,
				    NULL));
	/* A second wake while one is pending: EBUSY, nothing taken. */
	if (self->g.prm.nprocs > 1)
		ASSERT_EQ(-EBUSY, gmp_wake(&self->g, self->m, GMP_WAKE_TARGET,
					   0, pk.m, NULL));
	ASSERT_EQ(self->g.prm.nprocs - 1, NPIDLE(&self->g));

	__atomic_store_n(&pk.gate, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, gmp_parker_join(&pk));
	ASSERT_EQ(0, pk.ret);
	ASSERT_EQ(GMP_PARKED_WOKEN, pk.out.result);
	ASSERT_EQ(p, pk.out.p);
	ASSERT_EQ(0, NMIDLE(&self->g));
}

TEST_HARNESS_MAIN
