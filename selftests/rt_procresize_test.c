// SPDX-License-Identifier: GPL-2.0
/*
 * gmprt_set_nprocs() (userlib/procresize.c, kmod/procresize.c): what it
 * returns and refuses; a resize storm (2 -> 4 -> 1 -> 3 -> 2, over and
 * over) while 100,000 Gs (25,000 from nprocs 1 and 4) spawn, yield, sleep, block in plain system calls,
 * meet on a mutex and exit, with every G run exactly once and
 * gmprt_nprocs() and the schedtrace agreeing after each resize; sleepers
 * on the Ps that leave all wake, none early; Gs spinning with yields on
 * four Ps all finish when one P is left; the Ps gone show as stopped in
 * the trace.  Every case from nprocs 1, 2 and 4.
 */
#include <errno.h>
#include <time.h>
#include "kselftest_harness.h"
#include "rt_util.h"
#include "runtime.h"

RT_NPROCS_FIXTURE;

#define MS		(1000 * 1000LL)

static gmprt_waitgroup wg = GMPRT_WAITGROUP_INIT;

/* gmprt_nprocs() and the trace's gomaxprocs= both say @n. */
static void check_agree(int n)
{
	char text[4096];

	GCHECKF(gmprt_nprocs() == n, "gmprt_nprocs() %d, set %d", gmprt_nprocs(), n);
	GCHECK(gmprt_schedtrace(text, sizeof(text), false) > 0);
	GCHECKF(rt_trace_val(text, "gomaxprocs") == n, "trace: %.80s (set %d)",
		text, n);
}

/* ---- what it returns ------------------------------------------------------ */

static int returns_main(void *arg)
{
	int n = *(int *)arg;

	GCHECK(gmprt_set_nprocs(0) == n);
	GCHECK(gmprt_set_nprocs(-5) == n);
	GCHECK(gmprt_set_nprocs(1025) == -EINVAL);
	GCHECK(gmprt_nprocs() == n);
	GCHECK(gmprt_set_nprocs(3) == n);
	check_agree(3);
	GCHECK(gmprt_set_nprocs(3) == 3);
	GCHECK(gmprt_set_nprocs(1) == 3);
	check_agree(1);
	GCHECK(gmprt_set_nprocs(n) == 1);
	check_agree(n);
	return 0;
}

TEST_F(rt, set_nprocs_returns_the_previous_value)
{
	int n = variant->nprocs;

	ASSERT_EQ(0, rt_run(n, returns_main, &n));
	RT_ASSERT_CLEAN();
}

/* ---- the storm ------------------------------------------------------------ */

#define STORM_GS	100000
#define SPAWNERS	100

static unsigned char ran[STORM_GS];
static long storm_gs;			/* this run's: STORM_GS at nprocs 2 */
static gmprt_mutex storm_mu = GMPRT_MUTEX_INIT;
static long storm_shared;
static atomic_int storm_left;
static atomic_int resizes;

static void storm_g(void *arg)
{
	long id = (long)arg;

	GCHECKF(__atomic_add_fetch(&ran[id], 1, __ATOMIC_RELAXED) == 1,
		"G %ld ran twice", id);
	switch (id % 50) {
	case 0:
		gmprt_sleep((id / 50) % 3 * MS);	/* a timer, maybe on a P that leaves */
		break;
	case 1: {
		struct timespec ts = { 0, 200 * 1000 };

		nanosleep(&ts, NULL);	/* a plain block: block detection's */
		break;
	}
	case 2 ... 9:
		gmprt_mutex_lock(&storm_mu);
		storm_shared++;
		gmprt_mutex_unlock(&storm_mu);
		break;
	default:
		gmprt_yield();
	}
	gmprt_wg_done(&wg);
}

static void spawner(void *arg)
{
	long s = (long)arg, i;

	for (i = s; i < storm_gs; i += SPAWNERS) {
		gmprt_wg_add(&wg, 1);
		GCHECK(gmprt_go(storm_g, (void *)i) == 0);
		/* In waves, so that the resizes fall among them. */
		if (i % (64 * SPAWNERS) == s)
			gmprt_sleep(MS);
	}
	atomic_fetch_sub(&storm_left, 1);
	gmprt_wg_done(&wg);
}

static void resizer(void *arg)
{
	static const int cycle[] = { 2, 4, 1, 3, 2 };
	int k = 0;

	(void)arg;
	while (atomic_load(&storm_left) > 0) {
		int n = cycle[k++ % 5];

		GCHECK(gmprt_set_nprocs(n) > 0);
		check_agree(n);
		atomic_fetch_add(&resizes, 1);
		/*
		 * A timer: when it fires its G runs next, so the resizes keep
		 * their pace however long the run queues grow (a yield would
		 * wait for a lap of the global queue).
		 */
		gmprt_sleep(MS);
	}
	gmprt_wg_done(&wg);
}

static int storm_main(void *arg)
{
	long i, bad = 0;

	(void)arg;
	atomic_store(&storm_left, SPAWNERS);
	gmprt_wg_add(&wg, SPAWNERS + 1);
	GCHECK(gmprt_go(resizer, NULL) == 0);
	for (i = 0; i < SPAWNERS; i++)
		GCHECK(gmprt_go(spawner, (void *)i) == 0);
	gmprt_wg_wait(&wg);
	for (i = 0; i < storm_gs; i++)
		bad += ran[i] != 1;
	GCHECKF(bad == 0, "%ld Gs did not run exactly once", bad);
	GCHECK(storm_shared == storm_gs / 50 * 8);
	return 0;
}

/*
 * 100k Gs at nprocs 2, a quarter of that at 1 and 4: seconds in the stock
 * VM.  At a reduced volume (vm_volume()) a quarter of each: on the debug
 * kernel the 100k took a minute and a half, the three variants with the
 * rest of the file near six.
 */
TEST_F_TIMEOUT(rt, a_resize_storm_loses_and_repeats_no_g, 300)
{
	int64_t t0 = gmprt_now();

	storm_gs = variant->nprocs == 2 ? STORM_GS : STORM_GS / 4;
	if (vm_volume_reduced())
		storm_gs /= 4;
	ASSERT_EQ(0, rt_run(variant->nprocs, storm_main, NULL));
	RT_ASSERT_CLEAN();
	TH_LOG("%d resizes while %ld Gs ran, in %lld ms", atomic_load(&resizes),
	       storm_gs, (long long)(gmprt_now() - t0) / 1000000);
	EXPECT_LT(0, atomic_load(&resizes));
}

/* ---- timers on Ps that leave ---------------------------------------------- */

#define SLEEPERS	200

static atomic_int woke;

static void timed_sleeper(void *arg)
{
	int64_t ns = (1 + (long)arg % 40) * MS, t0 = gmprt_now();

	gmprt_sleep(ns);
	GCHECKF(gmprt_now() - t0 >= ns, "woke %lld ns early",
		(long long)(ns - (gmprt_now() - t0)));
	atomic_fetch_add(&woke, 1);
	gmprt_wg_done(&wg);
}

static int timers_main(void *arg)
{
	long i;

	(void)arg;
	gmprt_set_nprocs(4);
	gmprt_wg_add(&wg, SLEEPERS);
	for (i = 0; i < SLEEPERS; i++) {
		GCHECK(gmprt_go(timed_sleeper, (void *)i) == 0);
		if (i % 8 == 0)
			gmprt_yield();	/* spread them over the Ps */
	}
	GCHECK(gmprt_set_nprocs(1) == 4);
	gmprt_wg_wait(&wg);
	GCHECK(atomic_load(&woke) == SLEEPERS);
	return 0;
}

TEST_F(rt, sleepers_on_ps_that_leave_all_wake)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, timers_main, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- down to one P under busy Gs -------------------------------------------- */

#define SPINNERS	8

static atomic_int spun;

static void spinner(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 2000; i++)
		gmprt_yield();
	atomic_fetch_add(&spun, 1);
	gmprt_wg_done(&wg);
}

static int shrink_main(void *arg)
{
	char *text = malloc(1 << 16);
	int i;

	(void)arg;
	gmprt_set_nprocs(4);
	gmprt_wg_add(&wg, SPINNERS);
	for (i = 0; i < SPINNERS; i++)
		GCHECK(gmprt_go(spinner, NULL) == 0);
	gmprt_sleep(5 * MS);
	GCHECK(gmprt_set_nprocs(1) == 4);
	gmprt_wg_wait(&wg);
	GCHECK(atomic_load(&spun) == SPINNERS);
	check_agree(1);
	/*
	 * The Ps gone stop as their Ms let go: at once when idle, else at the
	 * holder's next schedule or park (a spinning M may still hold one).
	 */
	for (i = 0; text && i < 2000; i++) {
		GCHECK(gmprt_schedtrace(text, 1 << 16, true) > 0);
		if (strstr(text, "  P1: status=3(stop) ") &&
		    strstr(text, "  P2: status=3(stop) ") &&
		    strstr(text, "  P3: status=3(stop) "))
			break;
		gmprt_sleep(MS);
	}
	GCHECKF(text && strstr(text, "  P3: status=3(stop) "), "%.300s", text);
	free(text);
	return 0;
}

TEST_F(rt, busy_gs_on_four_ps_finish_on_one)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, shrink_main, NULL));
	RT_ASSERT_CLEAN();
}

TEST_HARNESS_MAIN
