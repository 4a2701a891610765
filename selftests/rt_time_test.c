// SPDX-License-Identifier: GPL-2.0
/*
 * Timers: sleep ordering (Gs sleeping 30, 10, 20 ms wake in order 10, 20,
 * 30), accuracy (never early; late by less than a liveness bound, with the
 * lateness logged), many sleepers, sleep parks the G and not the thread,
 * receive with timeout (timing out, receiving in time, closed, nil, zero
 * timeout), a G waiting with a timeout is not a deadlock, and a stress of
 * timers racing senders for the same G (the selectdone claim, and
 * deltimer waiting for a timer function in flight).
 */
#include <stdlib.h>
#include "kselftest_harness.h"
#include "rt_util.h"
#include "runtime.h"

/* The "rt" fixture: each TEST_F(rt, ...) runs for nprocs 1, 2 and 4. */
RT_NPROCS_FIXTURE;

#define MS		(1000 * 1000LL)
#define LIVENESS	(2000 * MS)	/* "late" beyond this is a hang, not jitter */

static gmprt_waitgroup wg = GMPRT_WAITGROUP_INIT;

/* No timer left anywhere (white box): every wait cleaned up after itself. */
static bool no_timers(void)
{
	int i;

	for (i = 0; i < gmprt_nmade(); i++)
		if (load_acquire(sched.allp[i].ktimer0when))
			return false;
	return true;
}

/* ---- sleep ordering: 30, 10, 20 ms wake in order 10, 20, 30 --------------- */

/*
 * The three sleep from a common start (base): started one after another,
 * a stall of the VM between two starts would otherwise shift their
 * deadlines by more than the 10 ms between them.
 */
static int64_t base, unit = 10 * MS;	/* deadlines base + 1, 2, 3 units */
static int wake_order[3];
static int64_t started[3], lateness[3];
static atomic_int nwoke;

static void sleeper(void *arg)
{
	int ms = (int)(long)arg, i = ms / 10 - 1;	/* its name: 10, 20, 30 */
	int64_t deadline = base + (i + 1) * unit;

	started[i] = gmprt_now();
	gmprt_sleep(deadline - started[i]);
	lateness[i] = gmprt_now() - deadline;
	GCHECKF(lateness[i] >= 0, "woke %lld ns early", (long long)-lateness[i]);
	wake_order[atomic_fetch_add(&nwoke, 1)] = ms;
	gmprt_wg_done(&wg);
}

static void start_sleepers(void)
{
	atomic_store(&nwoke, 0);
	gmprt_wg_add(&wg, 3);
	base = gmprt_now();
	gmprt_go(sleeper, (void *)30L);
	gmprt_go(sleeper, (void *)10L);
	gmprt_go(sleeper, (void *)20L);
}

static bool in_order(void)
{
	return wake_order[0] == 10 && wake_order[1] == 20 && wake_order[2] == 30;
}

/* All three asleep before the first deadline: else a stall decided. */
static bool started_in_time(void)
{
	int i;

	for (i = 0; i < 3; i++)
		if (started[i] >= base + unit)
			return false;
	return true;
}

/*
 * With one P the order holds whatever the lateness: its timers fire in
 * deadline order, and Gs due together are readied in deadline order.  With
 * more, two Gs whose timers fire on different Ps run in parallel once both
 * are due: the order is then only meaningful if no G woke 10 ms late.  A
 * round spoilt by a stall of the VM (a G that started sleeping after the
 * first deadline, or on several Ps a wake 10 ms late) is tried again.
 */
static int sleep_order(void *arg)
{
	int round, i;
	int64_t maxlate;

	for (round = 0; round < 5; round++) {
		start_sleepers();
		gmprt_wg_wait(&wg);
		if (in_order())
			return round;
		maxlate = 0;
		for (i = 0; i < 3; i++)
			if (lateness[i] > maxlate)
				maxlate = lateness[i];
		GCHECKF(!started_in_time() || (gmprt_gomaxprocs() > 1 && maxlate >= 10 * MS),
			"woke in order %d, %d, %d with at most %lld us lateness",
			wake_order[0], wake_order[1], wake_order[2],
			(long long)maxlate / 1000);
	}
	GCHECKF(false, "every round was spoilt by a stall");
	return round;
}

TEST_F(rt, sleep_order_10_20_30)
{
	int rounds = rt_run(variant->nprocs, sleep_order, NULL);

	RT_ASSERT_CLEAN();
	TH_LOG("nprocs %d: in order after %d retries; lateness %lld, %lld, %lld us",
	       variant->nprocs, rounds, (long long)lateness[0] / 1000,
	       (long long)lateness[1] / 1000, (long long)lateness[2] / 1000);
}

/*
 * Deterministic, on one P: main keeps the P (it spins, never yielding)
 * until all three timers are overdue, so one run of timers finds them due
 * together.  Readied one by one into runnext they would run 30, 10, 20
 * (each kicks the one before to the tail); they must run 10, 20, 30.
 * The deadlines are 2, 4 and 6 ms and main spins to 8 ms, short of
 * sysmon's 10 ms: a G that runs longer is preempted and its P handed to
 * another M, which would run the timers one by one as they fall due.  A
 * round in which gmp.ko still preempted (a stall of the VM) is tried again,
 * as one in which a sleeper started after the first deadline.
 */
static int due_together(void *arg)
{
	long preempts;
	int round, i;

	unit = 2 * MS;
	for (round = 0; round < 20; round++) {
		preempts = rt_kstat("preempt");
		start_sleepers();
		for (i = 0; i < 3; i++)
			gmprt_yield();		/* let them run and park */
		while (gmprt_now() < base + 4 * unit)
			;
		gmprt_wg_wait(&wg);
		if (started_in_time() && rt_kstat("preempt") == preempts)
			break;
	}
	unit = 10 * MS;
	GCHECKF(round < 20, "every round was spoilt by a stall");
	GCHECKF(in_order(), "woke in order %d, %d, %d (round %d)",
		wake_order[0], wake_order[1], wake_order[2], round);
	return round;
}

TEST(timers_due_together_wake_in_deadline_order)
{
	int rounds = rt_run(1, due_together, NULL);

	RT_ASSERT_CLEAN();
	ASSERT_LE(0, rounds);
	TH_LOG("in order after %d spoilt rounds", rounds);
}

/* ---- accuracy: never early, late by less than a liveness bound ------------ */

static int64_t late_max, late_sum;
static int nlate;

static int accuracy(void *arg)
{
	static const int64_t durations[] = { 1000, 100 * 1000, 1 * MS, 5 * MS, 20 * MS, 50 * MS };
	int64_t t0, late;
	unsigned int i, rep;

	for (rep = 0; rep < 3; rep++) {
		for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
			t0 = gmprt_now();
			gmprt_sleep(durations[i]);
			late = gmprt_now() - t0 - durations[i];
			GCHECKF(late >= 0, "sleep(%lld ns) woke %lld ns early",
				(long long)durations[i], (long long)-late);
			GCHECKF(late < LIVENESS, "sleep(%lld ns) took %lld ns more",
				(long long)durations[i], (long long)late);
			late_sum += late;
			nlate++;
			if (late > late_max)
				late_max = late;
		}
	}
	/* Zero and negative durations only yield. */
	gmprt_sleep(0);
	gmprt_sleep(-5);
	GCHECK(no_timers());
	return 0;
}

TEST_F(rt, sleep_accuracy)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, accuracy, NULL));
	RT_ASSERT_CLEAN();
	TH_LOG("nprocs %d: lateness mean %lld us, max %lld us over %d sleeps",
	       variant->nprocs, (long long)(late_sum / nlate / 1000),
	       (long long)late_max / 1000, nlate);
}

/* ---- many sleepers ---------------------------------------------------------- */

#define NSLEEP 1000

static void short_nap(void *arg)
{
	int64_t ns = (long)arg, t0 = gmprt_now();

	gmprt_sleep(ns);
	GCHECK(gmprt_now() - t0 >= ns);
	gmprt_wg_done(&wg);
}

static int many_sleepers(void *arg)
{
	long i;

	gmprt_wg_add(&wg, NSLEEP);
	for (i = 0; i < NSLEEP; i++)
		gmprt_go(short_nap, (void *)((i * 7919) % 20 * MS + i));
	gmprt_wg_wait(&wg);
	GCHECK(no_timers());
	return 0;
}

TEST_F(rt, many_sleepers_all_wake)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, many_sleepers, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- sleep parks the G, not the thread ------------------------------------- */

static atomic_long spins;
static atomic_int napping;

static void spinner(void *arg)
{
	while (atomic_load(&napping)) {
		atomic_fetch_add(&spins, 1);
		gmprt_yield();
	}
	gmprt_wg_done(&wg);
}

static int sleep_frees_p(void *arg)
{
	long before;

	atomic_store(&napping, 1);
	gmprt_wg_add(&wg, 1);
	gmprt_go(spinner, NULL);
	gmprt_yield();
	before = atomic_load(&spins);
	gmprt_sleep(30 * MS);
	GCHECKF(atomic_load(&spins) > before, "nothing ran while main slept");
	atomic_store(&napping, 0);
	gmprt_wg_wait(&wg);
	return 0;
}

TEST(sleep_parks_the_g_not_the_thread)
{
	ASSERT_EQ(0, rt_run(1, sleep_frees_p, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- receive with timeout ------------------------------------------------- */

static gmprt_chan *tc;

static void send_after(void *arg)
{
	long v = 99;

	gmprt_sleep((long)arg);
	GCHECK(gmprt_chan_send(tc, &v) == 0);
	gmprt_wg_done(&wg);
}

static int recv_timeout(void *arg)
{
	int64_t t0, took;
	long v = 7;

	tc = gmprt_chan_make(sizeof(long), 0);

	/* Nobody sends: -ETIMEDOUT, not before the time, the value untouched. */
	t0 = gmprt_now();
	GCHECK(gmprt_chan_recv_timeout(tc, &v, 20 * MS) == -ETIMEDOUT);
	took = gmprt_now() - t0;
	GCHECKF(took >= 20 * MS, "timed out after %lld ns", (long long)took);
	GCHECK(v == 7);
	GCHECK(no_timers());

	/* A sender in time: the value, long before the deadline. */
	gmprt_wg_add(&wg, 1);
	gmprt_go(send_after, (void *)(long)(5 * MS));
	t0 = gmprt_now();
	GCHECK(gmprt_chan_recv_timeout(tc, &v, 60000 * MS) == 0 && v == 99);
	GCHECK(gmprt_now() - t0 < LIVENESS);
	gmprt_wg_wait(&wg);
	GCHECK(no_timers());		/* the timer was cancelled */

	/* A sender already waiting: no timer at all. */
	gmprt_wg_add(&wg, 1);
	gmprt_go(send_after, (void *)0L);
	while (gmprt_chan_recv_timeout(tc, &v, 0) == -ETIMEDOUT)
		gmprt_yield();		/* zero timeout: tryrecv */
	GCHECK(v == 99);
	gmprt_wg_wait(&wg);

	/* Closed: -EPIPE and the zero value, at once or while waiting. */
	gmprt_chan_close(tc);
	v = 5;
	GCHECK(gmprt_chan_recv_timeout(tc, &v, 1000 * MS) == -EPIPE && v == 0);
	GCHECK(gmprt_chan_recv_timeout(tc, &v, -1) == -EPIPE);
	gmprt_chan_free(tc);

	/* A nil channel: a plain sleep. */
	t0 = gmprt_now();
	GCHECK(gmprt_chan_recv_timeout(NULL, &v, 5 * MS) == -ETIMEDOUT);
	GCHECK(gmprt_now() - t0 >= 5 * MS);
	GCHECK(no_timers());
	return 0;
}

TEST_F(rt, recv_timeout)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, recv_timeout, NULL));
	RT_ASSERT_CLEAN();
}

static gmprt_chan *closing;

static void close_later(void *arg)
{
	gmprt_sleep(5 * MS);
	gmprt_chan_close(closing);
	gmprt_wg_done(&wg);
}

static int close_during_timeout(void *arg)
{
	long v = 3;

	closing = gmprt_chan_make(sizeof(long), 0);
	gmprt_wg_add(&wg, 1);
	gmprt_go(close_later, NULL);
	GCHECK(gmprt_chan_recv_timeout(closing, &v, 60000 * MS) == -EPIPE && v == 0);
	gmprt_wg_wait(&wg);
	GCHECK(no_timers());
	return 0;
}

TEST(close_wakes_a_receive_with_timeout)
{
	ASSERT_EQ(0, rt_run(2, close_during_timeout, NULL));
	RT_ASSERT_CLEAN();
}

/* Waiting with a timeout is not a deadlock, even with every M parked. */
static int lonely_wait(void *arg)
{
	gmprt_chan *c = gmprt_chan_make(sizeof(long), 0);
	long v;

	GCHECK(gmprt_chan_recv_timeout(c, &v, 400 * MS) == -ETIMEDOUT);
	return 11;
}

TEST(waiting_with_a_timeout_is_not_deadlock)
{
	ASSERT_EQ(11, rt_run(2, lonely_wait, NULL));
	RT_ASSERT_CLEAN();
}

/*
 * White box: gmprt_deltimer must wait for a timer function in flight (Go's
 * timerRunning), or a select's timer could claim its G in a later select.
 * The function runs on the other M (main keeps its P busy) and takes 20 ms;
 * once main has seen it start, deltimer must not return before it ends.
 */
static atomic_int fn_entered, fn_exited;

static void slow_fn(g_t *gp)
{
	int64_t until = gmprt_now() + 20 * MS;

	atomic_store(&fn_entered, 1);
	while (gmprt_now() < until)
		;
	atomic_store(&fn_exited, 1);
}

static int deltimer_waits(void *arg)
{
	g_t *self = gmprt_self();
	int64_t give_up = gmprt_now() + LIVENESS;

	gmprt_addtimer(self, gmprt_now() + MS, slow_fn);
	while (!atomic_load(&fn_entered) && gmprt_now() < give_up)
		;
	GCHECKF(atomic_load(&fn_entered), "no M ran the timer");
	GCHECK(!gmprt_deltimer(self));		/* it fired: not cancelled */
	GCHECKF(atomic_load(&fn_exited), "deltimer returned while the function ran");
	return 0;
}

TEST(deltimer_waits_for_a_running_timer)
{
	ASSERT_EQ(0, rt_run(2, deltimer_waits, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- stress: timers and senders race to wake the same G ------------------- */

/*
 * Pairs of Gs: a sender sends 0, 1, 2 ... on an unbuffered channel; its
 * receiver takes them with timeouts of a few microseconds (so the timer
 * often fires just as a sender arrives), sleeping now and then (the same
 * timer, reused).  Each value must arrive once and in order: a G woken
 * twice, or a timer that claims a G in a later wait, shows up as a lost or
 * repeated value, a stray wake-up or a throw.
 */
#define NPAIRS 4
#define NVALS 5000
static gmprt_chan *pc[NPAIRS];
static atomic_long timeouts;

static void psender(void *arg)
{
	long i, k = (long)arg;

	for (i = 0; i < NVALS; i++)
		GCHECK(gmprt_chan_send(pc[k], &i) == 0);
	gmprt_wg_done(&wg);
}

static void preceiver(void *arg)
{
	long k = (long)arg, want = 0, v, n = 0;
	int r;

	while (want < NVALS) {
		v = -1;
		r = gmprt_chan_recv_timeout(pc[k], &v, (n++ % 7) * 3000);
		if (r == -ETIMEDOUT) {
			GCHECK(v == -1);
			atomic_fetch_add(&timeouts, 1);
			if (n % 5 == 0)
				gmprt_sleep(2000);
			continue;
		}
		GCHECKF(r == 0 && v == want, "pair %ld: got %ld (r %d), want %ld", k, v, r, want);
		if (r || v != want)
			break;
		want++;
	}
	gmprt_wg_done(&wg);
}

static int race(void *arg)
{
	long k;

	gmprt_wg_add(&wg, 2 * NPAIRS);
	for (k = 0; k < NPAIRS; k++) {
		pc[k] = gmprt_chan_make(sizeof(long), 0);
		gmprt_go(preceiver, (void *)k);
		gmprt_go(psender, (void *)k);
	}
	gmprt_wg_wait(&wg);
	GCHECK(no_timers());
	return 0;
}

TEST_F_TIMEOUT(rt, timeouts_race_senders, 180)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, race, NULL));
	RT_ASSERT_CLEAN();
	TH_LOG("nprocs %d: %ld timeouts among %d values", variant->nprocs,
	       atomic_load(&timeouts), NPAIRS * NVALS);
}

TEST_HARNESS_MAIN
