// SPDX-License-Identifier: GPL-2.0
/*
 * The runtime's scheduler on gmp.ko: spawning, run queue order, runnext,
 * overflow to the global queue, stealing, yielding, fairness of the global
 * queue, and Go's own scheduler tests ported (TestYieldProgress,
 * TestGoroutineParallelism).  Each across nprocs 1, 2 and 4 where it
 * matters (the VM has 2 vCPUs, so 4 means more Ps than CPUs).
 */
#include <stdlib.h>
#include <string.h>
#include "kselftest_harness.h"
#include "rt_util.h"
#include "runtime.h"

/* The "rt" fixture: each TEST_F(rt, ...) runs for nprocs 1, 2 and 4. */
RT_NPROCS_FIXTURE;

/* The P this G runs on (white box: the M's P). */
static int curp(void)
{
	return getm()->p->id;
}

/* ---- spawn and join 100k ---------------------------------------------- */

#define NSPAWN 100000
static gmprt_waitgroup wg = GMPRT_WAITGROUP_INIT;
static atomic_long counter;
static unsigned char *seen;

static void count_one(void *arg)
{
	long i = (long)arg;

	GCHECKF(seen[i]++ == 0, "G %ld ran twice", i);
	atomic_fetch_add(&counter, 1);
	gmprt_wg_done(&wg);
}

static int spawn_join(void *arg)
{
	long i;

	(void)arg;
	seen = calloc(NSPAWN, 1);
	gmprt_wg_add(&wg, NSPAWN);
	for (i = 0; i < NSPAWN; i++)
		GCHECK(gmprt_go(count_one, (void *)i) == 0);
	gmprt_wg_wait(&wg);
	GCHECK(atomic_load(&counter) == NSPAWN);
	for (i = 0; i < NSPAWN; i++)
		GCHECKF(seen[i] == 1, "G %ld ran %d times", i, seen[i]);
	return 7;
}

TEST_F_TIMEOUT(rt, spawn_join_100k, 120)
{
	ASSERT_EQ(7, rt_run(variant->nprocs, spawn_join, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- order on one P: runnext first, then the ring in FIFO order ------- */

/*
 * Sysmon asks a G that has run for 10 ms to yield (a preempt request, which
 * gmprt_go honours), and that legitimately changes the order in which Gs
 * run: a G spawned so far runs before the rest are spawned.  Under a debug
 * kernel in emulation a burst of spawns can take that long.  So a round of
 * the tests below counts only if gmp.ko's preempt counter did not move
 * during it, and a disturbed round is run again, up to TRIES times; if every
 * round was disturbed the test fails rather than check nothing.  The
 * counter is read from the stats line (rt_kstat()): the per-P lines have a
 * preempt= of their own, the request word, almost always 0.
 */
#define TRIES	10
#define NORDER	100
static int order[NORDER + 1];
static atomic_int norder;

static void record(void *arg)
{
	order[atomic_fetch_add(&norder, 1)] = (int)(long)arg;
	gmprt_wg_done(&wg);
}

static int fifo(void *arg)
{
	int i, try;
	long pre;

	(void)arg;
	for (try = 0; try < TRIES; try++) {
		atomic_store(&norder, 0);
		pre = rt_kstat("preempt");
		gmprt_yield();		/* a fresh time slice: no stale request */
		gmprt_wg_add(&wg, NORDER);
		for (i = 1; i <= NORDER; i++)
			gmprt_go(record, (void *)(long)i);
		gmprt_wg_wait(&wg);
		if (rt_kstat("preempt") == pre)
			break;
	}
	GCHECKF(try < TRIES, "preempted in every round");
	/* The last spawned sits in runnext and runs first, then 1..99 in order. */
	GCHECKF(order[0] == NORDER, "first ran %d (try %d)", order[0], try);
	for (i = 1; i < NORDER; i++)
		GCHECKF(order[i] == i, "position %d ran %d (try %d)", i, order[i],
			try);
	return 0;
}

TEST(fifo_and_runnext_on_one_p)
{
	ASSERT_EQ(0, rt_run(1, fifo, NULL));
	RT_ASSERT_CLEAN();
}

/* A G made ready runs before Gs queued earlier (Go's runnext). */
static void readied(void *arg)
{
	order[atomic_fetch_add(&norder, 1)] = -1;
	gmprt_wg_done(&wg);
}

static int runnext(void *arg)
{
	int i, try, ran = 0, got[11];
	long pre;

	(void)arg;
	for (try = 0; try < TRIES; try++) {
		atomic_store(&norder, 0);
		pre = rt_kstat("preempt");
		gmprt_yield();		/* a fresh time slice */
		gmprt_wg_add(&wg, 11);
		for (i = 1; i <= 10; i++)
			gmprt_go(record, (void *)(long)i);
		gmprt_go(readied, NULL);	/* runnext, kicking 10 to the ring */
		gmprt_yield();			/* main goes behind all of them */
		/* What ran while main was behind them. */
		ran = atomic_load(&norder);
		memcpy(got, order, sizeof(got));
		gmprt_wg_wait(&wg);
		if (rt_kstat("preempt") == pre)
			break;
	}
	GCHECKF(try < TRIES, "preempted in every round");
	/* All 11 ran before main: readied first, then 1..10. */
	GCHECKF(ran == 11, "%d ran before main (try %d)", ran, try);
	GCHECKF(got[0] == -1, "first ran %d (try %d)", got[0], try);
	for (i = 1; i <= 10; i++)
		GCHECKF(got[i] == i, "position %d ran %d (try %d)", i, got[i], try);
	return 0;
}

TEST(runnext_runs_next)
{
	ASSERT_EQ(0, rt_run(1, runnext, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- overflow to the global queue ------------------------------------- */

#define NOVER 2000
/* More than a ring and runnext hold: the last spawns must overflow. */
#define NFULL (GMP_RUNQ_SIZE + 44)
static atomic_long stat_runqput;
static atomic_int overflow_tries;

/*
 * Every G runs exactly once, in every round.  With one P, spawning NFULL
 * Gs without a preempt request (see above) must send a batch to the global
 * queue: the 256-slot ring and runnext cannot hold them.  Main asked to
 * yield meanwhile lets the ring drain, so such a round does not count for
 * that check and is run again.  Only the first NFULL spawns are watched: all
 * 2000 take longer than a time slice under a debug kernel (a preempted
 * spawner waits behind a whole ring of Gs), the first few hundred do not.
 */
static int overflow(void *arg)
{
	long i, pre, put;
	int try;
	bool quiet = false;

	(void)arg;
	seen = calloc(NOVER, 1);
	for (try = 0; try < TRIES; try++) {
		memset(seen, 0, NOVER);
		pre = rt_kstat("preempt");
		put = rt_kstat("runqput");
		gmprt_yield();		/* a fresh time slice */
		gmprt_wg_add(&wg, NOVER);
		for (i = 0; i < NFULL; i++)
			gmprt_go(count_one, (void *)i);
		/* Only main ran since: nothing else runs on one P. */
		put = rt_kstat("runqput") - put;
		quiet = rt_kstat("preempt") == pre;
		for (; i < NOVER; i++)
			gmprt_go(count_one, (void *)i);
		gmprt_wg_wait(&wg);
		for (i = 0; i < NOVER; i++)
			GCHECKF(seen[i] == 1, "G %ld ran %d times (try %d)", i,
				seen[i], try);
		if (quiet || gmprt_nprocs() > 1)
			break;
	}
	atomic_store(&stat_runqput, quiet ? put : -1);
	atomic_store(&overflow_tries, try);
	return 0;
}

TEST_F(rt, overflow_to_global_queue)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, overflow, NULL));
	RT_ASSERT_CLEAN();
	/* One P cannot hold 300 Gs in a 256-slot ring: a batch went global. */
	if (variant->nprocs == 1) {
		ASSERT_LT(atomic_load(&overflow_tries), TRIES)
			TH_LOG("preempted in every round");
		if (atomic_load(&overflow_tries))
			TH_LOG("%d round(s) preempted, run again",
			       atomic_load(&overflow_tries));
		ASSERT_LT(0, atomic_load(&stat_runqput));
	}
}

/* ---- stealing spreads work to every P ---------------------------------- */

static atomic_int ranon[8];

static void busy(void *arg)
{
	volatile unsigned long x = 0;
	int i;

	for (i = 0; i < 200000; i++)
		x += i;
	atomic_fetch_add(&ranon[curp()], 1);
	gmprt_wg_done(&wg);
}

static int spread(void *arg)
{
	int i, n = gmprt_nprocs() * 64;

	(void)arg;
	gmprt_wg_add(&wg, n);
	for (i = 0; i < n; i++)
		gmprt_go(busy, NULL);
	gmprt_wg_wait(&wg);
	return 0;
}

TEST_F_TIMEOUT(rt, stealing_reaches_every_p, 120)
{
	int i;

	ASSERT_EQ(0, rt_run(variant->nprocs, spread, NULL));
	RT_ASSERT_CLEAN();
	for (i = 0; i < variant->nprocs; i++) {
		TH_LOG("P%d ran %d Gs", i, atomic_load(&ranon[i]));
		EXPECT_LT(0, atomic_load(&ranon[i]));
	}
}

/* ---- two yielding Gs alternate on one P -------------------------------- */

#define NYIELD 1000
static char trail[2 * NYIELD + 1];
static atomic_int ntrail;

static void yielder(void *arg)
{
	int i;

	for (i = 0; i < NYIELD; i++) {
		trail[atomic_fetch_add(&ntrail, 1)] = (char)(long)arg;
		gmprt_yield();
	}
	gmprt_wg_done(&wg);
}

static int alternate(void *arg)
{
	int i;

	(void)arg;
	gmprt_wg_add(&wg, 2);
	gmprt_go(yielder, (void *)'a');
	gmprt_go(yielder, (void *)'b');
	gmprt_wg_wait(&wg);
	GCHECK(atomic_load(&ntrail) == 2 * NYIELD);
	for (i = 2; i < 2 * NYIELD; i++)
		GCHECKF(trail[i] != trail[i - 1], "no alternation at %d: %.8s", i,
			&trail[i - 2]);
	return 0;
}

TEST(two_yielding_gs_alternate)
{
	ASSERT_EQ(0, rt_run(1, alternate, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- a G that spawns forever cannot starve the global queue ------------ */

static atomic_int stop;

static void noop(void *arg)
{
}

static void spawner(void *arg)
{
	while (!atomic_load(&stop)) {
		gmprt_go(noop, NULL);
		gmprt_yield();
	}
}

static int starve(void *arg)
{
	long i;

	(void)arg;
	seen = calloc(NOVER, 1);
	/* The spawner goes first; 2000 more overflow the ring to the global queue. */
	gmprt_go(spawner, NULL);
	gmprt_wg_add(&wg, NOVER);
	for (i = 0; i < NOVER; i++)
		gmprt_go(count_one, (void *)i);
	gmprt_wg_wait(&wg);
	atomic_store(&stop, 1);
	return 0;
}

TEST(spawner_cannot_starve_global_queue)
{
	ASSERT_EQ(0, rt_run(1, starve, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- Go's TestYieldProgress -------------------------------------------- */

static atomic_int c, cack;

static void yield_loop(void *arg)
{
	while (!atomic_load(&c))
		gmprt_yield();
	atomic_store(&cack, 1);
}

static int yield_progress(void *arg)
{
	(void)arg;
	gmprt_go(yield_loop, NULL);
	gmprt_sleep(10 * 1000 * 1000);	/* a timer must fire on a busy P */
	atomic_store(&c, 1);
	while (!atomic_load(&cack))
		gmprt_yield();
	return 0;
}

TEST_F_TIMEOUT(rt, yield_progress, 60)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, yield_progress, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- Go's TestGoroutineParallelism ------------------------------------- */

static atomic_uint x;

struct par {
	int p, np;
};

static void par_step(void *arg)
{
	struct par *a = arg;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		unsigned int expected = a->np * i + a->p;

		while (atomic_load(&x) != expected)
			;
		atomic_store(&x, expected + 1);
	}
	gmprt_wg_done(&wg);
}

static int parallelism(void *arg)
{
	int np = gmprt_nprocs(), try, p;
	struct par a[8];

	(void)arg;
	for (try = 0; try < 10; try++) {
		atomic_store(&x, 0);
		gmprt_wg_add(&wg, np);
		for (p = 0; p < np; p++) {
			a[p].p = p;
			a[p].np = np;
			gmprt_go(par_step, &a[p]);
		}
		gmprt_wg_wait(&wg);
		GCHECK(atomic_load(&x) == 3u * np);
	}
	return 0;
}

/* Spinning Gs only finish if all nprocs of them run at once. */
TEST_F_TIMEOUT(rt, goroutine_parallelism, 120)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, parallelism, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- a G that moves to another thread finds its new M ------------------ */

/*
 * A G that yields may go on on another M (a steal), inside the same C
 * function.  The runtime's getm() must then name the new thread's M, not
 * the one whose thread-local it read before the switch: GCC keeps a
 * thread-local's address for a whole function (on arm64 the thread pointer
 * itself), so an inlined getm() read the M the G had left (runtime.h).
 * Here the white box asks it after every yield, in a loop that invites
 * the compiler to hoist the lookup.
 */
#define HOPPERS	8
#define HOPS	500

static atomic_int hops, bad_hops;

static void hopper(void *arg)
{
	g_t *self = gmprt_mustg("hopper");
	struct m *before, *after;
	int i;

	for (i = 0; i < HOPS; i++) {
		before = getm();
		gmprt_yield();
		after = getm();
		if (after != before)
			atomic_fetch_add(&hops, 1);
		if (after->curg != self || self->m != after)
			atomic_fetch_add(&bad_hops, 1);
	}
	gmprt_wg_done(&wg);
}

static int hoppers(void *arg)
{
	int i;

	gmprt_wg_add(&wg, HOPPERS);
	for (i = 0; i < HOPPERS; i++)
		GCHECK(gmprt_go(hopper, NULL) == 0);
	gmprt_wg_wait(&wg);
	GCHECKF(atomic_load(&bad_hops) == 0,
		"%d of %d yields came back to an M that is not the G's",
		atomic_load(&bad_hops), HOPPERS * HOPS);
	return 0;
}

TEST_F_TIMEOUT(rt, a_g_that_moves_thread_finds_its_new_m, 120)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, hoppers, NULL));
	RT_ASSERT_CLEAN();
	TH_LOG("nprocs %d: %d of %d yields came back on another M", variant->nprocs,
	       atomic_load(&hops), HOPPERS * HOPS);
}

TEST_HARNESS_MAIN
