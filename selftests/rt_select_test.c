// SPDX-License-Identifier: GPL-2.0
/*
 * select: fairness among ready cases (a statistical bound, not a timing
 * one), the default case, blocking until a case is ready, closed channels,
 * nil and duplicate channels, many cases, every value delivered exactly
 * once when many selecting Gs race (the selectdone claim), and Go's
 * TestPingPongHog.  Across nprocs 1, 2 and 4 where it matters.
 */
#include <stdlib.h>
#include "kselftest_harness.h"
#include "rt_util.h"
#include "chan.h"
#include "rt_chan_util.h"

/* The "rt" fixture: each TEST_F(rt, ...) runs for nprocs 1, 2 and 4. */
RT_NPROCS_FIXTURE;

static gmprt_waitgroup wg = GMPRT_WAITGROUP_INIT;

/* ---- fairness: two always-ready channels ---------------------------------- */

#define NFAIR 100000
static long chosen[2];

/*
 * Each of 100k selects sees both cases ready (a value buffered in each,
 * refilled after every pick), so each must win about half the time: a
 * 40-60% bound is more than 60 standard deviations wide.
 */
static int fairness(void *arg)
{
	gmprt_chan *a = gmprt_chan_make(sizeof(int), 1);
	gmprt_chan *b = gmprt_chan_make(sizeof(int), 1);
	int va = 0, vb = 1, got = -1, i, r;
	struct gmprt_select_case k[2] = {
		{ .chan = a, .dir = GMPRT_RECV, .elem = &got },
		{ .chan = b, .dir = GMPRT_RECV, .elem = &got },
	};

	gmprt_chan_send(a, &va);
	gmprt_chan_send(b, &vb);
	for (i = 0; i < NFAIR; i++) {
		r = gmprt_select(k, 2, (bool)arg);
		GCHECKF(r == 0 || r == 1, "select returned %d", r);
		if (r != 0 && r != 1)
			break;
		GCHECK(k[r].err == 0 && got == r);
		chosen[r]++;
		GCHECK(gmprt_chan_send(r ? b : a, &r) == 0);
	}
	return 0;
}

TEST_F(rt, select_fairness_blocking)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, fairness, (void *)true));
	RT_ASSERT_CLEAN();
	TH_LOG("case 0: %ld, case 1: %ld", chosen[0], chosen[1]);
	ASSERT_EQ(NFAIR, chosen[0] + chosen[1]);
	ASSERT_GE(chosen[0], NFAIR * 4 / 10);
	ASSERT_GE(chosen[1], NFAIR * 4 / 10);
}

TEST_F(rt, select_fairness_default)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, fairness, (void *)false));
	RT_ASSERT_CLEAN();
	TH_LOG("case 0: %ld, case 1: %ld", chosen[0], chosen[1]);
	ASSERT_GE(chosen[0], NFAIR * 4 / 10);
	ASSERT_GE(chosen[1], NFAIR * 4 / 10);
}

/* Uniform among ready cases even when unready ones are in the list. */
#define NFAIR3 30000
static long chosen3[4];

static int fairness_mixed(void *arg)
{
	gmprt_chan *c[4];
	int v, i, r;
	struct gmprt_select_case k[4];

	for (i = 0; i < 4; i++) {
		c[i] = gmprt_chan_make(sizeof(int), 1);
		k[i] = (struct gmprt_select_case){ .chan = c[i], .dir = GMPRT_RECV, .elem = &v };
	}
	/* Cases 1 and 3 are never ready; 0 and 2 always. */
	gmprt_chan_send(c[0], &v);
	gmprt_chan_send(c[2], &v);
	for (i = 0; i < NFAIR3; i++) {
		r = gmprt_select(k, 4, false);
		GCHECK(r == 0 || r == 2);
		if (r < 0)
			break;
		chosen3[r]++;
		gmprt_chan_send(c[r], &v);
	}
	return 0;
}

TEST(select_uniform_among_ready_cases)
{
	ASSERT_EQ(0, rt_run(1, fairness_mixed, NULL));
	RT_ASSERT_CLEAN();
	TH_LOG("chosen: %ld %ld %ld %ld", chosen3[0], chosen3[1], chosen3[2], chosen3[3]);
	ASSERT_EQ(0, chosen3[1] + chosen3[3]);
	ASSERT_GE(chosen3[0], NFAIR3 * 4 / 10);
	ASSERT_GE(chosen3[2], NFAIR3 * 4 / 10);
}

/* ---- default, send cases, closed and nil channels ------------------------ */

static int defaults(void *arg)
{
	gmprt_chan *u = gmprt_chan_make(sizeof(long), 0);
	gmprt_chan *b = gmprt_chan_make(sizeof(long), 1);
	long in = 0, out = 9;
	struct gmprt_select_case k[3] = {
		{ .chan = u, .dir = GMPRT_RECV, .elem = &in },
		{ .chan = u, .dir = GMPRT_SEND, .elem = &out },
		{ .chan = b, .dir = GMPRT_RECV, .elem = &in },
	};

	/* Nothing ready: the default case. */
	GCHECK(gmprt_select(k, 3, false) == -EAGAIN);
	GCHECK(gmprt_select(k, 0, false) == -EAGAIN);
	/* Buffer room makes a send case ready. */
	k[1].chan = b;
	GCHECK(gmprt_select(k, 3, false) == 1 && k[1].err == 0);
	GCHECK(gmprt_chan_len(b) == 1);
	/* Now b is full: its send is not ready, its receive is. */
	in = 0;
	GCHECK(gmprt_select(k, 3, false) == 2 && k[2].err == 0 && in == 9);
	/* Closed: a receive is ready, with the zero value and -EPIPE. */
	gmprt_chan_close(u);
	in = 5;
	k[1].chan = NULL;		/* nil: never ready */
	k[2].chan = NULL;
	GCHECK(gmprt_select(k, 3, true) == 0 && k[0].err == -EPIPE && in == 0);
	/* Closed: a send is ready too, and fails with -EPIPE. */
	k[0] = (struct gmprt_select_case){ .chan = u, .dir = GMPRT_SEND, .elem = &out };
	GCHECK(gmprt_select(k, 1, true) == 0 && k[0].err == -EPIPE);
	/* Only nil channels, non-blocking: the default case. */
	k[0].chan = NULL;
	GCHECK(gmprt_select(k, 3, false) == -EAGAIN);
	/* A bad direction. */
	k[0] = (struct gmprt_select_case){ .chan = b, .dir = 3 };
	GCHECK(gmprt_select(k, 1, false) == -EINVAL);
	GCHECK(gmprt_select(k, -1, false) == -EINVAL);
	gmprt_chan_free(u);
	gmprt_chan_free(b);
	return 0;
}

TEST(select_default_send_closed_nil)
{
	ASSERT_EQ(0, rt_run(1, defaults, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- blocking until a case is ready --------------------------------------- */

static gmprt_chan *bc[3];

static void late_sender(void *arg)
{
	long v = 77;

	/* The selecting G is parked on all three before we send. */
	await_waiters(bc[0], false, 1);
	await_waiters(bc[2], true, 1);
	GCHECK(gmprt_chan_send(bc[1], &v) == 0);
	gmprt_wg_done(&wg);
}

static int blocks(void *arg)
{
	long in = 0, out = 1;
	int i, r;
	struct gmprt_select_case k[3];

	for (i = 0; i < 3; i++)
		bc[i] = gmprt_chan_make(sizeof(long), 0);
	k[0] = (struct gmprt_select_case){ .chan = bc[0], .dir = GMPRT_RECV, .elem = &in };
	k[1] = (struct gmprt_select_case){ .chan = bc[1], .dir = GMPRT_RECV, .elem = &in };
	k[2] = (struct gmprt_select_case){ .chan = bc[2], .dir = GMPRT_SEND, .elem = &out };
	gmprt_wg_add(&wg, 1);
	gmprt_go(late_sender, NULL);
	r = gmprt_select(k, 3, true);
	GCHECKF(r == 1 && k[1].err == 0 && in == 77, "case %d err %d value %ld", r,
		r >= 0 ? k[r].err : 0, in);
	gmprt_wg_wait(&wg);
	/* Pass 3 took the other two sudogs off their queues. */
	for (i = 0; i < 3; i++)
		GCHECK(waiters(bc[i], false) == 0 && waiters(bc[i], true) == 0);
	return 0;
}

TEST_F(rt, select_blocks_until_ready)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, blocks, NULL));
	RT_ASSERT_CLEAN();
}

/* Receivers select on one channel, senders on another: both get closed. */
static gmprt_chan *cc[2];

static void select_on_closing(void *arg)
{
	int dir = (int)(long)arg;
	gmprt_chan *never = gmprt_chan_make(sizeof(long), 0);
	long v = 3;
	struct gmprt_select_case k[2] = {
		{ .chan = never, .dir = GMPRT_RECV, .elem = &v },
		{ .chan = cc[dir == GMPRT_SEND], .dir = dir, .elem = &v },
	};
	int r = gmprt_select(k, 2, true);

	GCHECK(r == 1 && k[1].err == -EPIPE);
	if (dir == GMPRT_RECV)
		GCHECK(v == 0);
	GCHECK(waiters(never, false) == 0);
	gmprt_chan_free(never);
	gmprt_wg_done(&wg);
}

static int close_wakes_select(void *arg)
{
	int i;

	cc[0] = gmprt_chan_make(sizeof(long), 0);
	cc[1] = gmprt_chan_make(sizeof(long), 0);
	gmprt_wg_add(&wg, 20);
	for (i = 0; i < 10; i++) {
		gmprt_go(select_on_closing, (void *)(long)GMPRT_RECV);
		gmprt_go(select_on_closing, (void *)(long)GMPRT_SEND);
	}
	await_waiters(cc[0], false, 10);
	await_waiters(cc[1], true, 10);
	gmprt_chan_close(cc[0]);
	gmprt_chan_close(cc[1]);
	gmprt_wg_wait(&wg);
	return 0;
}

TEST_F(rt, close_wakes_selects)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, close_wakes_select, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- duplicates and many cases ------------------------------------------ */

static int dups(void *arg)
{
	gmprt_chan *c = gmprt_chan_make(sizeof(long), 0);
	gmprt_chan *many[40];
	struct gmprt_select_case k[40];
	long v = 0, w = 4;
	int i, r;

	/* The same channel three times: locked once, and each case is its own. */
	for (i = 0; i < 3; i++)
		k[i] = (struct gmprt_select_case){ .chan = c, .dir = GMPRT_RECV, .elem = &v };
	GCHECK(gmprt_select(k, 3, false) == -EAGAIN);
	gmprt_chan_close(c);
	r = gmprt_select(k, 3, false);
	GCHECK(r >= 0 && r < 3 && k[r].err == -EPIPE);
	gmprt_chan_free(c);

	/* 40 cases (the heapsort path and scratch off the stack); one ready. */
	for (i = 0; i < 40; i++) {
		many[i] = gmprt_chan_make(sizeof(long), 1);
		k[i] = (struct gmprt_select_case){ .chan = many[i], .dir = GMPRT_RECV, .elem = &v };
	}
	for (i = 0; i < 40; i++) {
		gmprt_chan_send(many[(i * 7) % 40], &w);
		r = gmprt_select(k, 40, true);
		GCHECKF(r == (i * 7) % 40, "chose %d, want %d", r, (i * 7) % 40);
	}
	for (i = 0; i < 40; i++)
		gmprt_chan_free(many[i]);
	return 0;
}

TEST(select_duplicate_channels_and_many_cases)
{
	ASSERT_EQ(0, rt_run(1, dups, NULL));
	RT_ASSERT_CLEAN();
}

/*
 * 40 cases, blocking: the G parks on all 40 queues (lock order over a
 * heap-sorted list), and a sender on any one of them wakes it.
 */
static gmprt_chan *mc40[40];

static void poke(void *arg)
{
	long v = (long)arg;

	GCHECK(gmprt_chan_send(mc40[v], &v) == 0);
	gmprt_wg_done(&wg);
}

static int many_blocking(void *arg)
{
	struct gmprt_select_case k[40];
	long v;
	int i, r;

	for (i = 0; i < 40; i++) {
		mc40[i] = gmprt_chan_make(sizeof(long), 0);
		k[i] = (struct gmprt_select_case){ .chan = mc40[i], .dir = GMPRT_RECV, .elem = &v };
	}
	gmprt_wg_add(&wg, 40);
	for (i = 0; i < 40; i++)
		gmprt_go(poke, (void *)(long)((i * 13) % 40));
	for (i = 0; i < 40; i++) {
		r = gmprt_select(k, 40, true);
		GCHECK(r >= 0 && r < 40 && v == r && k[r].err == 0);
	}
	gmprt_wg_wait(&wg);
	return 0;
}

TEST_F(rt, select_many_cases_blocking)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, many_blocking, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- exactly once: many selecting Gs, many senders ------------------------ */

/*
 * Receivers select over 3 unbuffered channels (and a send case on a
 * fourth nobody reads); senders send on any of the three, also through
 * select.  Every value sent must be received exactly once: a G claimed by
 * two wakers would lose one value (its sender believes it delivered).
 */
#define XS 4		/* senders */
#define XR 4		/* receivers */
#define XPER 20000	/* values per sender */
static gmprt_chan *xc[4], *xquit;
static unsigned char *xseen;
static atomic_long xgot;
static gmprt_waitgroup xrwg = GMPRT_WAITGROUP_INIT;

static void xsender(void *arg)
{
	long base = (long)arg * XPER, i, v;
	struct gmprt_select_case k[3];
	int j;

	for (i = 0; i < XPER; i++) {
		v = base + i;
		for (j = 0; j < 3; j++)
			k[j] = (struct gmprt_select_case){ .chan = xc[(i + j) % 3],
							   .dir = GMPRT_SEND, .elem = &v };
		if (i % 2)
			GCHECK(gmprt_select(k, 3, true) >= 0);
		else
			GCHECK(gmprt_chan_send(xc[i % 3], &v) == 0);
	}
	gmprt_wg_done(&wg);
}

static void xreceiver(void *arg)
{
	long v, dummy = -1;
	struct gmprt_select_case k[5] = {
		{ .chan = xc[0], .dir = GMPRT_RECV, .elem = &v },
		{ .chan = xc[1], .dir = GMPRT_RECV, .elem = &v },
		{ .chan = xc[2], .dir = GMPRT_RECV, .elem = &v },
		{ .chan = xc[3], .dir = GMPRT_SEND, .elem = &dummy },
		{ .chan = xquit, .dir = GMPRT_RECV, .elem = NULL },
	};
	int r;

	for (;;) {
		r = gmprt_select(k, 5, true);
		if (r == 4)
			break;
		GCHECKF(r >= 0 && r < 3, "case %d", r);
		if (r < 0 || r >= 3)
			break;
		GCHECKF(v >= 0 && v < XS * XPER, "value %ld", v);
		if (v < 0 || v >= XS * XPER)
			break;
		GCHECKF(__atomic_fetch_add(&xseen[v], 1, __ATOMIC_RELAXED) == 0,
			"value %ld received twice", v);
		atomic_fetch_add(&xgot, 1);
	}
	gmprt_wg_done(&xrwg);
}

static int exactly_once(void *arg)
{
	long i;

	xseen = calloc(XS * XPER, 1);
	for (i = 0; i < 4; i++)
		xc[i] = gmprt_chan_make(sizeof(long), 0);
	xquit = gmprt_chan_make(0, 0);
	gmprt_wg_add(&xrwg, XR);
	for (i = 0; i < XR; i++)
		gmprt_go(xreceiver, NULL);
	gmprt_wg_add(&wg, XS);
	for (i = 0; i < XS; i++)
		gmprt_go(xsender, (void *)i);
	gmprt_wg_wait(&wg);
	gmprt_chan_close(xquit);
	gmprt_wg_wait(&xrwg);
	GCHECKF(atomic_load(&xgot) == XS * XPER, "received %ld of %d",
		atomic_load(&xgot), XS * XPER);
	for (i = 0; i < XS * XPER; i++)
		GCHECKF(xseen[i] == 1, "value %ld received %d times", i, xseen[i]);
	return 0;
}

TEST_F_TIMEOUT(rt, select_delivers_exactly_once, 180)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, exactly_once, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- Go's TestPingPongHog ------------------------------------------------ */

/*
 * GOMAXPROCS=1: a hog pair (a million increments per turn) and a light
 * pair (a thousand) each pass a token over their own channel, through a
 * select that also watches done.  A pair handing the token back and forth
 * through runnext inherits its time slice, so after 10 ms sysmon asks it
 * to yield, and it does at its next channel operation: both pairs get the
 * P.  Without that, the pair that ran first would keep it and the other
 * would count nothing; with it, the counts are within a factor of 20 (Go's
 * bound: "if the scheduler isn't working right, the gap should be ~1000X").
 */
static gmprt_chan *done, *hogc, *lightc;
static volatile long hogcount, lightcount;

struct pair {
	long limit;
	volatile long *counter;
	gmprt_chan **wake;
};

static void run_pair(void *arg)
{
	struct pair *p = arg;
	bool t = true;
	long i;
	int r;

	for (;;) {
		struct gmprt_select_case k[2] = {
			{ .chan = done, .dir = GMPRT_RECV, .elem = &t },
			{ .chan = *p->wake, .dir = GMPRT_RECV, .elem = &t },
		};

		r = gmprt_select(k, 2, true);
		if (r == 0)
			return;
		for (i = 0; i < p->limit; i++)
			(*p->counter)++;
		gmprt_chan_send(*p->wake, &t);
	}
}

static int pingponghog(void *arg)
{
	static struct pair hog = { 1000000, &hogcount, &hogc };
	static struct pair light = { 1000, &lightcount, &lightc };
	bool t = true;
	int i;

	done = gmprt_chan_make(sizeof(bool), 0);
	hogc = gmprt_chan_make(sizeof(bool), 0);
	lightc = gmprt_chan_make(sizeof(bool), 0);
	for (i = 0; i < 2; i++)
		gmprt_go(run_pair, &hog);
	for (i = 0; i < 2; i++)
		gmprt_go(run_pair, &light);
	gmprt_chan_send(hogc, &t);
	gmprt_chan_send(lightc, &t);
	gmprt_sleep(100 * 1000 * 1000);
	gmprt_chan_close(done);
	gmprt_chan_recv(hogc, &t);
	gmprt_chan_recv(lightc, &t);
	return 0;
}

TEST(pingpong_hog)
{
	const long factor = 20;

	ASSERT_EQ(0, rt_run(1, pingponghog, NULL));
	TH_LOG("hog %ld, light %ld: ratio %.2f", hogcount, lightcount,
	       (double)hogcount / (lightcount ? lightcount : 1));
	ASSERT_LE(hogcount / factor, lightcount);
	ASSERT_LE(lightcount / factor, hogcount);
}

TEST_HARNESS_MAIN
