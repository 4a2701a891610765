// SPDX-License-Identifier: GPL-2.0
/*
 * The mutex and the wait group: 8 Gs x 100k increments across all Ps give
 * exactly 800k; trylock; a blocked lock parks the G, not the thread; Go's
 * TestMutexFairness (starvation mode: a waiter is not overtaken forever);
 * unlocking an unlocked mutex is fatal; wait groups with many waiters and
 * reuse.  Across nprocs 1, 2 and 4 where it matters.
 */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "rt_util.h"

/* The "rt" fixture: each TEST_F(rt, ...) runs for nprocs 1, 2 and 4. */
RT_NPROCS_FIXTURE;

static gmprt_waitgroup wg = GMPRT_WAITGROUP_INIT;
static gmprt_mutex mu = GMPRT_MUTEX_INIT;

/* ---- 8 Gs x 100k increments ---------------------------------------------- */

#define NG 8
#define NINC 100000
static long counter;		/* plain: only the mutex protects it */
static int inside;		/* Gs in the critical section: never > 1 */
static double ns_per_op;

static void incr(void *arg)
{
	long i;

	for (i = 0; i < NINC; i++) {
		gmprt_mutex_lock(&mu);
		GCHECK(__atomic_add_fetch(&inside, 1, __ATOMIC_RELAXED) == 1);
		counter++;
		__atomic_sub_fetch(&inside, 1, __ATOMIC_RELAXED);
		gmprt_mutex_unlock(&mu);
		/* Now and then, let others in (and other Ps steal us). */
		if (i % 1000 == 0)
			gmprt_yield();
	}
	gmprt_wg_done(&wg);
}

static int increments(void *arg)
{
	int64_t t0 = gmprt_now();
	int i;

	gmprt_wg_add(&wg, NG);
	for (i = 0; i < NG; i++)
		gmprt_go(incr, NULL);
	gmprt_wg_wait(&wg);
	ns_per_op = (double)(gmprt_now() - t0) / (NG * NINC);
	GCHECKF(counter == NG * NINC, "counter %ld, want %d", counter, NG * NINC);
	return 0;
}

TEST_F_TIMEOUT(rt, mutex_8x100k_increments, 180)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, increments, NULL));
	RT_ASSERT_CLEAN();
	ASSERT_EQ(NG * NINC, counter);
	TH_LOG("nprocs %d: %.0f ns per lock+unlock", variant->nprocs, ns_per_op);
}

/* ---- trylock ---------------------------------------------------------------- */

static void try_other(void *arg)
{
	GCHECK(!gmprt_mutex_trylock(&mu));	/* main holds it */
	gmprt_wg_done(&wg);
}

static int trylocks(void *arg)
{
	gmprt_mutex m2;

	gmprt_mutex_init(&m2);
	GCHECK(gmprt_mutex_trylock(&m2));
	GCHECK(!gmprt_mutex_trylock(&m2));
	gmprt_mutex_unlock(&m2);
	GCHECK(gmprt_mutex_trylock(&m2));
	gmprt_mutex_unlock(&m2);

	gmprt_mutex_lock(&mu);
	gmprt_wg_add(&wg, 1);
	gmprt_go(try_other, NULL);
	gmprt_wg_wait(&wg);
	gmprt_mutex_unlock(&mu);
	GCHECK(gmprt_mutex_trylock(&mu));
	gmprt_mutex_unlock(&mu);
	return 0;
}

TEST(trylock)
{
	ASSERT_EQ(0, rt_run(2, trylocks, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- a blocked lock parks the G, not the thread ------------------------- */

/*
 * One P: the holder waits on a channel while another G blocks in lock.
 * If lock held the thread, the third G, which sends on the channel, could
 * never run.
 */
static gmprt_chan *release;
static atomic_int order[3], norder;

static void holder(void *arg)
{
	long v;

	gmprt_mutex_lock(&mu);
	gmprt_wg_done(&wg);			/* main: start the contender */
	gmprt_chan_recv(release, &v);
	order[atomic_fetch_add(&norder, 1)] = 1;
	gmprt_mutex_unlock(&mu);
}

static void contender(void *arg)
{
	gmprt_mutex_lock(&mu);
	order[atomic_fetch_add(&norder, 1)] = 2;
	gmprt_mutex_unlock(&mu);
	gmprt_wg_done(&wg);
}

static int parks_g(void *arg)
{
	long v = 1;
	int i;

	release = gmprt_chan_make(sizeof(long), 0);
	gmprt_wg_add(&wg, 1);
	gmprt_go(holder, NULL);
	gmprt_wg_wait(&wg);
	gmprt_wg_add(&wg, 1);
	gmprt_go(contender, NULL);
	for (i = 0; i < 10; i++)
		gmprt_yield();			/* the contender is parked in lock */
	GCHECK(atomic_load(&norder) == 0);
	gmprt_chan_send(release, &v);
	gmprt_wg_wait(&wg);
	GCHECK(atomic_load(&norder) == 2 && order[0] == 1 && order[1] == 2);
	return 0;
}

TEST(lock_parks_the_g_not_the_thread)
{
	ASSERT_EQ(0, rt_run(1, parks_g, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- Go's TestMutexFairness ------------------------------------------------- */

/*
 * A G that holds the lock nearly all the time (it sleeps holding it, and
 * relocks at once) against one that wants it 10 times: starvation mode
 * must hand it over.  The bound is a liveness bound (Go's is 10 s; ours is
 * longer for emulation).
 */
static gmprt_chan *stop, *fdone;

static void hogger(void *arg)
{
	for (;;) {
		gmprt_mutex_lock(&mu);
		gmprt_sleep(100 * 1000);
		gmprt_mutex_unlock(&mu);
		if (gmprt_chan_tryrecv(stop, NULL) != -EAGAIN)
			break;
	}
	gmprt_wg_done(&wg);
}

static void wanter(void *arg)
{
	bool t = true;
	int i;

	for (i = 0; i < 10; i++) {
		gmprt_sleep(100 * 1000);
		gmprt_mutex_lock(&mu);
		gmprt_mutex_unlock(&mu);
	}
	gmprt_chan_send(fdone, &t);
}

static int fairness(void *arg)
{
	bool t;

	stop = gmprt_chan_make(0, 0);
	fdone = gmprt_chan_make(sizeof(bool), 1);
	gmprt_wg_add(&wg, 1);
	gmprt_go(hogger, NULL);
	gmprt_go(wanter, NULL);
	GCHECKF(gmprt_chan_recv_timeout(fdone, &t, 60LL * 1000 * 1000 * 1000) == 0,
		"can't acquire the mutex in 60 s");
	gmprt_chan_close(stop);
	gmprt_wg_wait(&wg);
	return 0;
}

TEST_F_TIMEOUT(rt, mutex_fairness, 120)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, fairness, NULL));
	RT_ASSERT_CLEAN();
}


static int unlock_twice(void *arg)
{
	gmprt_mutex_lock(&mu);
	gmprt_mutex_unlock(&mu);
	gmprt_mutex_unlock(&mu);
	return 0;
}

static void unlocker(void)
{
	rt_run(1, unlock_twice, NULL);
}

TEST(unlock_of_unlocked_mutex_is_fatal)
{
	char err[1024];

	ASSERT_EQ(2, run_child(unlocker, err, sizeof(err)));
	ASSERT_NE(NULL, strstr(err, "unlock of unlocked mutex"));
}

/* ---- wait group -------------------------------------------------------------- */

#define NWAITERS 10
#define NWORKERS 100
static gmprt_waitgroup work = GMPRT_WAITGROUP_INIT;
static atomic_int finished, released;

static void worker(void *arg)
{
	gmprt_yield();
	atomic_fetch_add(&finished, 1);
	gmprt_wg_done(&work);
}

static void waiter(void *arg)
{
	gmprt_wg_wait(&work);
	GCHECK(atomic_load(&finished) == NWORKERS);
	atomic_fetch_add(&released, 1);
	gmprt_wg_done(&wg);
}

static int waitgroup(void *arg)
{
	int round, i;

	for (round = 0; round < 3; round++) {	/* reused once it is back at 0 */
		atomic_store(&finished, 0);
		atomic_store(&released, 0);
		gmprt_wg_add(&work, NWORKERS);
		gmprt_wg_add(&wg, NWAITERS);
		for (i = 0; i < NWAITERS; i++)
			gmprt_go(waiter, NULL);
		for (i = 0; i < NWORKERS; i++)
			gmprt_go(worker, NULL);
		gmprt_wg_wait(&wg);
		GCHECK(atomic_load(&released) == NWAITERS);
		gmprt_wg_wait(&work);		/* at zero: returns at once */
	}
	return 0;
}

TEST_F(rt, waitgroup_many_waiters_and_reuse)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, waitgroup, NULL));
	RT_ASSERT_CLEAN();
}

TEST_HARNESS_MAIN
