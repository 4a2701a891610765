// SPDX-License-Identifier: GPL-2.0
/*
 * No lost wakeup, across the user/kernel boundary: Go's Dekker-style
 * protocol between a submitter (runqput, fence (A), load npidle and
 * nmspinning, wakep) and a spinning M that gives up and parks (the kernel
 * drops nmspinning, fence (B), rechecks every ring).  Either the submitter
 * wakes the M, or the parking M sees the G: a G is never left on a ring
 * with every M asleep.  See the essay in kmod/park.c.
 */
#include <pthread.h>
#include <sched.h>
#include "gmp_util.h"
#include "kselftest_harness.h"

FIXTURE(wake) {
	struct gmp_inst g;
};

FIXTURE_VARIANT(wake) {
	unsigned int nprocs;
};

/* With one P the submitter runs its own Gs: no second M is ever needed. */
FIXTURE_VARIANT_ADD(wake, nprocs2) { .nprocs = 2 };
FIXTURE_VARIANT_ADD(wake, nprocs4) { .nprocs = 4 };

FIXTURE_SETUP(wake)
{
	ASSERT_EQ(0, gmp_inst_open(&self->g, variant->nprocs, 0));
}

FIXTURE_TEARDOWN(wake)
{
	gmp_inst_close(&self->g);
}

#define NGS	20000

struct spinner {
	struct gmp_inst *g;
	int src;			/* the P whose ring it steals from */
	volatile uint32_t consumed;
	volatile int stop;
	volatile int done;
	volatile int ready;		/* registered, holds its P */
	uint32_t parks, works, wakes;
	int err;
	uint64_t next;			/* the G it expects next */
};

static uint32_t *spin_word(struct gmp_inst *g)
{
	return gmp_nmspinning(g);
}

/*
 * An M that only steals: spinning while it looks (nmspinning counts it),
 * parking with GMP_PARK_SPINNING when it finds nothing, as Go's
 * findrunnable does.
 */
static void *spinner_fn(void *arg)
{
	struct spinner *sp = arg;
	struct gmp_inst *g = sp->g;
	struct gmp_park out;
	uint32_t m;
	int p;

	if (gmp_register(g, &m) || gmp_acquire(g, m, GMP_NONE, &p) ||
	    p == GMP_NONE) {
		sp->err = 1;
		return NULL;
	}
	__atomic_fetch_add(spin_word(g), 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sp->ready, 1, __ATOMIC_RELEASE);
	for (;;) {
		uint64_t gh = gmp_ring_get(g, sp->src);

		if (gh) {
			/* resetspinning; run the G (check it); spin again. */
			__atomic_fetch_sub(spin_word(g), 1, __ATOMIC_SEQ_CST);
			if (gh != sp->next) {
				sp->err = 2;
				return NULL;
			}
			sp->next++;
			__atomic_store_n(&sp->consumed, sp->consumed + 1,
					 __ATOMIC_RELEASE);
			__atomic_fetch_add(spin_word(g), 1, __ATOMIC_SEQ_CST);
			continue;
		}
		if (__atomic_load_n(&sp->stop, __ATOMIC_ACQUIRE))
			break;
		sp->parks++;
		if (gmp_park(g, m, GMP_PARK_SPINNING, 0, &out)) {
			sp->err = 3;
			return NULL;
		}
		if (out.p == GMP_NONE) {
			sp->err = 4;
			return NULL;
		}
		if (!(out.oflags & GMP_PARKED_SPINNING)) {
			/* Only the final, plain wake does this. */
			if (!__atomic_load_n(&sp->stop, __ATOMIC_ACQUIRE))
				sp->err = 5;
			goto out;
		}
		if (out.result == GMP_PARKED_WORK)
			sp->works++;
		else
			sp->wakes++;
	}
	__atomic_fetch_sub(spin_word(g), 1, __ATOMIC_SEQ_CST);
out:
	__atomic_store_n(&sp->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* wakep: only if a P is idle and nobody spins, and only the CAS winner. */
static int wakep(struct gmp_inst *g, uint32_t m, uint32_t *newms)
{
	uint32_t zero = 0;
	struct gmp_wake w;
	int ret;

	if (!GMP_SCHED_U32(g, npidle) ||
	    __atomic_load_n(spin_word(g), __ATOMIC_SEQ_CST))
		return 0;
	if (!__atomic_compare_exchange_n(spin_word(g), &zero, 1, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return 0;
	ret = gmp_wake(g, m, GMP_WAKE_SPINNING, 0, 0, &w);
	if (ret)
		return ret;
	if (w.result == GMP_WOKE_NEWM) {
		/*
		 * The spinner is between Gs, not parked: it will look again.
		 * We start no thread: give the P and the increment back.
		 */
		(*newms)++;
		__atomic_fetch_sub(spin_word(g), 1, __ATOMIC_SEQ_CST);
		return gmp_release(g, m, w.p);
	}
	return 0;
}

TEST_F_TIMEOUT(wake, no_lost_wakeup_dekker, 120)
{
	struct gmp_inst *g = &self->g;
	struct spinner sp = { .g = g, .next = 1 };
	uint32_t m, newms = 0, i, *head, *tail;
	uint64_t t0;
	pthread_t t;
	int p;

	ASSERT_EQ(0, gmp_register(g, &m));
	ASSERT_EQ(0, gmp_acquire(g, m, GMP_NONE, &p));
	sp.src = p;
	head = GMP_P_FIELD(g, p, runqhead, uint32_t);
	tail = GMP_P_FIELD(g, p, runqtail, uint32_t);
	ASSERT_EQ(0, pthread_create(&t, NULL, spinner_fn, &sp));
	/* Else our first wakep could hold the idle P as the spinner acquires. */
	ASSERT_TRUE(GMP_WAIT_UNTIL(sp.ready || sp.err));
	ASSERT_EQ(0, sp.err);
	t0 = gmp_mono_ns();
	for (i = 1; i <= NGS; i++) {
		/* Room in the ring (the spinner drains it). */
		while (*tail - __atomic_load_n(head, __ATOMIC_ACQUIRE) >=
		       GMP_RUNQ_SIZE)
			sched_yield();
		gmp_ring_put(g, p, i);		/* runqput and fence (A) */
		ASSERT_EQ(0, wakep(g, m, &newms));
		if (sp.err)
			break;
		/* Now and then let the spinner run dry and park. */
		if (i % 64 == 0) {
			ASSERT_TRUE(GMP_WAIT_UNTIL(sp.consumed == i ||
						   sp.err))
				TH_LOG("lost wakeup: G %u never ran (%u ran)",
				       i, sp.consumed);
		}
	}
	ASSERT_EQ(0, sp.err);
	ASSERT_TRUE(GMP_WAIT_UNTIL(sp.consumed == NGS))
		TH_LOG("lost wakeup: %u of %u ran", sp.consumed, NGS);
	TH_LOG("%u Gs in %.2f s: %u parks, %u rechecks found work, %u wakes, %u wakes found no M",
	       NGS, (gmp_mono_ns() - t0) / 1e9, sp.parks, sp.works, sp.wakes,
	       newms);
	/* Wake it for the last time and let it go. */
	__atomic_store_n(&sp.stop, 1, __ATOMIC_RELEASE);
	ASSERT_TRUE(GMP_WAIT_UNTIL(GMP_SCHED_U32(g, nmidle) == 1 || sp.done));
	if (!sp.done)
		ASSERT_EQ(0, gmp_wake(g, m, 0, 0, 0, NULL));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, sp.err);
	ASSERT_EQ(0, *spin_word(g));
	/* Both halves of the protocol were exercised. */
	EXPECT_LT(0, sp.parks);
}

TEST_HARNESS_MAIN
