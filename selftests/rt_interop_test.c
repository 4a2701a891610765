// SPDX-License-Identifier: GPL-2.0
/*
 * Living in a real C process (userlib/lockm.c, foreign.c, timerchan.c):
 * a G locked to its thread, calls from threads the runtime did not start,
 * timers as channels, fork and exec from a G.  Public API only, across
 * nprocs 1, 2 and 4.  Waits are liveness bounds (a count reached, or the
 * harness's timeout), never timing thresholds.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "rt_util.h"

RT_NPROCS_FIXTURE;

static pid_t tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static gmprt_waitgroup wg = GMPRT_WAITGROUP_INIT;
static atomic_int stop;

/* ---- LockOSThread -------------------------------------------------------- */

#define LOCKED_ROUNDS 10000

static pid_t locked_tid;
static atomic_long other_runs, other_on_locked;

/* Other Gs run on every P, and never on the locked G's thread. */
static void other(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		if (tid() == locked_tid)
			atomic_fetch_add(&other_on_locked, 1);
		atomic_fetch_add(&other_runs, 1);
		gmprt_yield();
	}
	gmprt_wg_done(&wg);
}

static gmprt_chan *ping, *pong;

static void partner(void *arg)
{
	long v;

	(void)arg;
	while (gmprt_chan_recv(ping, &v) == 0)
		gmprt_chan_send(pong, &v);
	gmprt_wg_done(&wg);
}

/* 10,000 blocking channel operations each way, and sleeps: one tid. */
static void locked(void *arg)
{
	int nprocs = (int)(long)arg, i, moved = 0;
	long v;

	gmprt_lock_thread();
	locked_tid = tid();
	for (i = 0; i < nprocs; i++)
		gmprt_go(other, NULL);
	for (i = 0; i < LOCKED_ROUNDS; i++) {
		v = i;
		GCHECK(gmprt_chan_send(ping, &v) == 0);
		GCHECK(gmprt_chan_recv(pong, &v) == 0 && v == i);
		if (i % 1000 == 0)
			gmprt_sleep(1000000);
		if (tid() != locked_tid)
			moved++;
	}
	GCHECKF(moved == 0, "the locked G changed threads %d times", moved);
	atomic_store(&stop, 1);
	gmprt_chan_close(ping);
	gmprt_unlock_thread();
	gmprt_wg_done(&wg);
}

static int lock_main(void *arg)
{
	int nprocs = (int)(long)arg;

	ping = gmprt_chan_make(sizeof(long), 0);
	pong = gmprt_chan_make(sizeof(long), 0);
	gmprt_wg_add(&wg, 2 + nprocs);
	gmprt_go(partner, NULL);
	gmprt_go(locked, arg);
	gmprt_wg_wait(&wg);
	GCHECKF(atomic_load(&other_on_locked) == 0,
		"%ld runs of other Gs on the locked thread", atomic_load(&other_on_locked));
	GCHECK(atomic_load(&other_runs) > 0);
	return 0;
}

TEST_F_TIMEOUT(rt, locked_g_keeps_its_thread, 300)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, lock_main, (void *)(long)variant->nprocs));
	RT_ASSERT_CLEAN();
	TH_LOG("other Gs ran %ld times meanwhile", atomic_load(&other_runs));
}

/* Calls nest; an extra unlock is a no-op; after the last, the G is free. */
static int nest_main(void *arg)
{
	pid_t t;
	int i;

	(void)arg;
	gmprt_unlock_thread();		/* not locked: nothing happens */
	gmprt_lock_thread();
	gmprt_lock_thread();
	t = tid();
	gmprt_unlock_thread();
	for (i = 0; i < 200; i++) {	/* still locked, once */
		gmprt_sleep(100000);
		GCHECK(tid() == t);
	}
	gmprt_unlock_thread();
	gmprt_unlock_thread();
	for (i = 0; i < 200; i++)
		gmprt_yield();
	return 0;
}

TEST_F(rt, lock_nesting)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, nest_main, NULL));
	RT_ASSERT_CLEAN();
}

/* A G that exits locked takes its thread; the program goes on. */
static atomic_int exited_tid;

static void exit_locked(void *arg)
{
	(void)arg;
	gmprt_lock_thread();
	atomic_store(&exited_tid, tid());
	gmprt_wg_done(&wg);
}

static bool task_exists(pid_t t)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/self/task/%d", t);
	return stat(path, &st) == 0;
}

static int exit_main(void *arg)
{
	int i, n = 0;

	(void)arg;
	for (i = 0; i < 5; i++) {
		gmprt_wg_add(&wg, 1);
		gmprt_go(exit_locked, NULL);
		gmprt_wg_wait(&wg);
		while (task_exists(atomic_load(&exited_tid)))
			gmprt_sleep(1000000);
		n++;
	}
	/* Work still runs, on the threads that are left or new ones. */
	gmprt_wg_add(&wg, 100);
	for (i = 0; i < 100; i++)
		gmprt_go((void (*)(void *))gmprt_wg_done, &wg);
	gmprt_wg_wait(&wg);
	GCHECK(n == 5);
	return 0;
}

TEST_F(rt, exit_while_locked_ends_the_thread)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, exit_main, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- foreign threads ----------------------------------------------------- */

#define NFOREIGN 8
#define FOREIGN_OPS 3000
#define READIES (FOREIGN_OPS / 30)	/* i % 30 == 4 below */

static gmprt_chan *to_g, *from_g, *buffered;
static gmprt_mutex mu = GMPRT_MUTEX_INIT;
static atomic_long received, spawned_ran, readied, sent_by_g, mu_count;
static long mu_plain;			/* guarded by mu */
static gmprt_waitgroup gwg = GMPRT_WAITGROUP_INIT;

/* Parked Gs a foreign thread readies: each publishes itself, then parks. */
static _Atomic(gmprt_g *) slot[NFOREIGN];

static bool publish(gmprt_g *g, void *arg)
{
	atomic_store((_Atomic(gmprt_g *) *)arg, g);
	return true;
}

static void parker(void *arg)
{
	long i, k = (long)arg;

	for (i = 0; i < READIES; i++)
		gmprt_park(publish, &slot[k]);
	gmprt_wg_done(&gwg);
}

static void spawned(void *arg)
{
	(void)arg;
	atomic_fetch_add(&spawned_ran, 1);
	gmprt_wg_done(&gwg);
}

static void g_receiver(void *arg)
{
	long v;

	(void)arg;
	while (gmprt_chan_recv(to_g, &v) == 0)
		atomic_fetch_add(&received, v);
	gmprt_wg_done(&gwg);
}

static void g_sender(void *arg)
{
	long v = 1;

	(void)arg;
	while (!atomic_load(&stop) && gmprt_chan_send(from_g, &v) == 0)
		atomic_fetch_add(&sent_by_g, 1);
	gmprt_wg_done(&gwg);
}

static void g_locker(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < FOREIGN_OPS; i++) {
		gmprt_mutex_lock(&mu);
		mu_plain++;
		gmprt_mutex_unlock(&mu);
	}
	gmprt_wg_done(&gwg);
}

static atomic_long got_from_g;

static void *foreign(void *arg)
{
	long k = (long)arg, v = 1, w;
	int i;

	for (i = 0; i < FOREIGN_OPS; i++) {
		gmprt_g *g;

		switch (i % 6) {
		case 0:		/* blocking send to a G */
			GCHECK(gmprt_chan_send(to_g, &v) == 0);
			break;
		case 1:		/* blocking receive from a G */
			if (gmprt_chan_recv(from_g, &w) == 0)
				atomic_fetch_add(&got_from_g, w);
			break;
		case 2:		/* start a G */
			if (i % 60 == 2) {
				gmprt_wg_add(&gwg, 1);
				if (gmprt_go(spawned, NULL))
					gmprt_wg_done(&gwg);
			}
			break;
		case 3:		/* the mutex, against Gs */
			gmprt_mutex_lock(&mu);
			mu_plain++;
			gmprt_mutex_unlock(&mu);
			atomic_fetch_add(&mu_count, 1);
			break;
		case 4:		/* ready a parked G */
			if (i % 10 != 4)
				break;
			while (!(g = atomic_exchange(&slot[k], NULL)))
				sched_yield();
			atomic_fetch_add(&readied, 1);
			gmprt_ready(g);
			break;
		case 5:		/* try forms and a buffered channel */
			if (gmprt_chan_trysend(buffered, &v) == 0)
				GCHECK(gmprt_chan_tryrecv(buffered, &w) != -EPIPE);
			break;
		}
	}
	/* Each parker needs READIES readies: exactly ours. */
	gmprt_wg_done(&wg);
	return NULL;
}

static int foreign_main(void *arg)
{
	pthread_t t[NFOREIGN];
	long i, n = 0;

	(void)arg;
	to_g = gmprt_chan_make(sizeof(long), 0);
	from_g = gmprt_chan_make(sizeof(long), 0);
	buffered = gmprt_chan_make(sizeof(long), 4);
	gmprt_wg_add(&gwg, 3 + 2 * NFOREIGN);
	gmprt_go(g_receiver, NULL);
	gmprt_go(g_sender, NULL);
	gmprt_go(g_locker, NULL);
	for (i = 0; i < NFOREIGN; i++) {
		gmprt_go(parker, (void *)i);
		gmprt_go(g_locker, NULL);
	}
	gmprt_wg_add(&wg, NFOREIGN);
	for (i = 0; i < NFOREIGN; i++)
		GCHECK(pthread_create(&t[i], NULL, foreign, (void *)i) == 0);
	gmprt_wg_wait(&wg);		/* a G waits for plain threads */
	for (i = 0; i < NFOREIGN; i++)
		pthread_join(t[i], NULL);
	atomic_store(&stop, 1);
	gmprt_chan_close(to_g);
	/* Unblock the sender if it waits on from_g. */
	while (gmprt_chan_tryrecv(from_g, &n) == 0)
		atomic_fetch_add(&got_from_g, n);
	gmprt_chan_close(from_g);
	gmprt_wg_wait(&gwg);
	n = (long)NFOREIGN * ((FOREIGN_OPS + 5) / 6);
	GCHECKF(atomic_load(&received) == n, "received %ld of %ld",
		atomic_load(&received), n);
	GCHECKF(atomic_load(&readied) == NFOREIGN * READIES,
		"readied %ld", atomic_load(&readied));
	GCHECKF(atomic_load(&got_from_g) == atomic_load(&sent_by_g),
		"got %ld of %ld", atomic_load(&got_from_g), atomic_load(&sent_by_g));
	GCHECKF(mu_plain == (1 + NFOREIGN) * FOREIGN_OPS + atomic_load(&mu_count),
		"mutex count %ld", mu_plain);
	GCHECKF(atomic_load(&spawned_ran) == NFOREIGN * ((FOREIGN_OPS + 57) / 60),
		"spawned %ld", atomic_load(&spawned_ran));
	return 0;
}

TEST_F_TIMEOUT(rt, foreign_threads_against_gs, 300)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, foreign_main, NULL));
	RT_ASSERT_CLEAN();
}

/* A wait group done by a plain pthread while the G has long parked. */
static void *late_done(void *arg)
{
	usleep(300000);
	gmprt_wg_done(arg);
	return NULL;
}

static int late_main(void *arg)
{
	gmprt_waitgroup w = GMPRT_WAITGROUP_INIT;
	pthread_t t;

	(void)arg;
	gmprt_wg_add(&w, 1);
	GCHECK(pthread_create(&t, NULL, late_done, &w) == 0);
	gmprt_wg_wait(&w);	/* no deadlock report: a foreign thread lives */
	pthread_join(t, NULL);
	return 7;
}

TEST_F(rt, wg_done_from_a_pthread_after_the_park)
{
	ASSERT_EQ(7, rt_run(variant->nprocs, late_main, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- G-only calls from a foreign thread: fatal, the same way each time --- */

static void (*g_only_call)(void);
static const char *g_only_name;

static void *call_it(void *arg)
{
	(void)arg;
	g_only_call();
	return NULL;
}

static int g_only_main(void *arg)
{
	pthread_t t;

	(void)arg;
	pthread_create(&t, NULL, call_it, NULL);
	pthread_join(t, NULL);
	return 0;
}

static void in_child(void)
{
	struct gmprt_config c = GMPRT_CONFIG_INIT;

	c.nprocs = 2;
	gmprt_main(g_only_main, NULL, &c);
}

static void c_yield(void) { gmprt_yield(); }
static void c_sleep(void) { gmprt_sleep(1); }
static void c_self(void) { gmprt_self(); }
static void c_lock(void) { gmprt_lock_thread(); }
static void c_timer(void) { gmprt_after(1); }
static void c_syscall(void) { gmprt_entersyscall(); }
static void c_select(void)
{
	struct gmprt_select_case k = { .chan = NULL, .dir = GMPRT_RECV };

	gmprt_select(&k, 1, false);
}

TEST(g_only_calls_from_a_foreign_thread_are_fatal)
{
	static const struct {
		void (*fn)(void);
		const char *name;
	} calls[] = {
		{ c_yield, "gmprt_yield" }, { c_sleep, "gmprt_sleep" },
		{ c_self, "gmprt_self" }, { c_lock, "gmprt_lock_thread" },
		{ c_timer, "gmprt_timer_new" }, { c_syscall, "gmprt_entersyscall" },
		{ c_select, "gmprt_select" },
	};
	char err[1024], want[128];
	unsigned int i, round;

	for (round = 0; round < 3; round++) {
		for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
			g_only_call = calls[i].fn;
			g_only_name = calls[i].name;
			EXPECT_EQ(2, run_child(in_child, err, sizeof(err))) TH_LOG("%s", err);
			snprintf(want, sizeof(want),
				 "%s called from a thread that runs no G: only a G may call it",
				 calls[i].name);
			EXPECT_NE(NULL, strstr(err, want)) TH_LOG("%s", err);
		}
	}
}

/* ---- timers as channels -------------------------------------------------- */

static long tick_info[3];

static int timer_main(void *arg)
{
	gmprt_chan *never = gmprt_chan_make(sizeof(long), 0), *after;
	struct gmprt_select_case k[2];
	gmprt_timer *t, *tk;
	int64_t v, t0, start, prev = 0;
	long ticks = 0, skipped = 0, late_max = 0;

	(void)arg;
	/* Fire: a select with a timeout case. */
	t0 = gmprt_now();
	after = gmprt_after(20 * 1000000);
	GCHECK(after != NULL);
	k[0] = (struct gmprt_select_case){ .chan = never, .dir = GMPRT_RECV };
	k[1] = (struct gmprt_select_case){ .chan = after, .dir = GMPRT_RECV, .elem = &v };
	GCHECK(gmprt_select(k, 2, true) == 1);
	GCHECK(v >= t0 + 20 * 1000000 && gmprt_now() >= v);
	gmprt_chan_free(after);		/* frees its timer */

	/* Freed before it fires: nothing touches it afterwards. */
	gmprt_chan_free(gmprt_after(1000000));

	/* Stop before fire: true, and no value ever comes. */
	t = gmprt_timer_new(50 * 1000000);
	GCHECK(gmprt_timer_stop(t) == true);
	GCHECK(gmprt_timer_stop(t) == false);
	gmprt_sleep(100 * 1000000);
	GCHECK(gmprt_chan_tryrecv(gmprt_timer_chan(t), &v) == -EAGAIN);

	/* Reset: armed again, fires once. */
	GCHECK(gmprt_timer_reset(t, 10 * 1000000) == false);
	GCHECK(gmprt_chan_recv(gmprt_timer_chan(t), &v) == 0);
	GCHECK(gmprt_timer_reset(t, 10 * 1000000000LL) == false);
	GCHECK(gmprt_timer_reset(t, 5 * 1000000) == true);
	GCHECK(gmprt_chan_recv(gmprt_timer_chan(t), &v) == 0);
	GCHECK(gmprt_chan_tryrecv(gmprt_timer_chan(t), &v) == -EAGAIN);
	gmprt_timer_free(t);

	/* A ticker over 1 s: its values are start + k * period, k rising. */
	GCHECK(gmprt_ticker_new(0) == NULL && errno == EINVAL);
	start = gmprt_now();
	tk = gmprt_ticker_new(10 * 1000000);
	while (gmprt_now() - start < 1000000000LL) {
		k[0] = (struct gmprt_select_case){ .chan = gmprt_timer_chan(tk),
						   .dir = GMPRT_RECV, .elem = &v };
		GCHECK(gmprt_select(k, 1, true) == 0);
		if (!prev)
			prev = v - 10 * 1000000;
		GCHECKF((v - prev) % (10 * 1000000) == 0 && v > prev,
			"tick %ld: %lld after the last", ticks, (long long)(v - prev));
		skipped += (v - prev) / (10 * 1000000) - 1;
		if (gmprt_now() - v > late_max)
			late_max = gmprt_now() - v;
		prev = v;
		ticks++;
	}
	gmprt_timer_free(tk);
	GCHECK(ticks > 0);
	tick_info[0] = ticks;
	tick_info[1] = skipped;
	tick_info[2] = late_max;
	gmprt_chan_free(never);
	return 0;
}

TEST_F(rt, timers_in_select)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, timer_main, NULL));
	RT_ASSERT_CLEAN();
	/* For the record, not a verdict: how late a 10 ms ticker is here. */
	TH_LOG("ticker: %ld ticks in 1 s, %ld skipped, at most %.1f ms after due",
	       tick_info[0], tick_info[1], tick_info[2] / 1e6);
}

/* Timers stopped, reset and freed while they fire, from many Gs. */
static void timer_churn(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 300; i++) {
		gmprt_timer *t = gmprt_ticker_new(1000 + i % 7 * 1000);

		gmprt_sleep(i % 3 * 10000);
		if (i % 2)
			gmprt_timer_reset(t, 2000);
		gmprt_timer_free(t);
	}
	gmprt_wg_done(&wg);
}

static int churn_main(void *arg)
{
	int i;

	(void)arg;
	gmprt_wg_add(&wg, 8);
	for (i = 0; i < 8; i++)
		gmprt_go(timer_churn, NULL);
	gmprt_wg_wait(&wg);
	return 0;
}

TEST_F(rt, timers_freed_while_firing)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, churn_main, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- fork and exec ------------------------------------------------------- */

static atomic_long ticks_meanwhile;

static void ticker_g(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		atomic_fetch_add(&ticks_meanwhile, 1);
		gmprt_sleep(1000000);
	}
	gmprt_wg_done(&wg);
}

static int spawn_main(void *arg)
{
	char line[64] = "";
	FILE *f;
	int i;

	(void)arg;
	gmprt_wg_add(&wg, 1);
	gmprt_go(ticker_g, NULL);
	for (i = 0; i < 5; i++)
		GCHECK(system("exit 3") == 3 << 8);
	f = popen("echo gmp; sleep 0.2", "r");
	GCHECK(f && fgets(line, sizeof(line), f));
	GCHECK(strcmp(line, "gmp\n") == 0);
	GCHECK(f && pclose(f) == 0);
	GCHECK(atomic_load(&ticks_meanwhile) > 0);
	atomic_store(&stop, 1);
	gmprt_wg_wait(&wg);
	return 0;
}

TEST_F(rt, system_and_popen_from_a_g)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, spawn_main, NULL));
	RT_ASSERT_CLEAN();
}

/* The child of fork() has no runtime: every call that needs it says so. */
static gmprt_chan *forkc;

static void waiter(void *arg)
{
	long v;

	(void)arg;
	gmprt_chan_recv(forkc, &v);	/* parked when the child forks */
	gmprt_wg_done(&wg);
}

static int fork_main(void *arg)
{
	int mode = (int)(long)arg, status, pfd[2];
	char err[512] = "";
	ssize_t n;
	long v = 1;
	pid_t pid;

	forkc = gmprt_chan_make(sizeof(long), 0);
	gmprt_wg_add(&wg, 1);
	gmprt_go(waiter, NULL);
	gmprt_sleep(10 * 1000000);
	GCHECK(pipe(pfd) == 0);
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 2);
		if (mode == 0)
			gmprt_yield();
		else
			gmprt_chan_send(forkc, &v);	/* would ready the parent's G */
		_exit(0);
	}
	close(pfd[1]);
	for (size_t got = 0; got < sizeof(err) - 1; got += n) {
		n = read(pfd[0], err + got, sizeof(err) - 1 - got);
		if (n <= 0)
			break;
	}
	close(pfd[0]);
	GCHECK(waitpid(pid, &status, 0) == pid);
	GCHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 2, "status %#x", status);
	GCHECKF(strstr(err, "called in the child of a fork(): the child has no runtime"),
		"%s", err);
	/* The parent goes on. */
	gmprt_chan_send(forkc, &v);
	gmprt_wg_wait(&wg);
	return 0;
}

TEST_F(rt, fork_child_cannot_yield)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, fork_main, (void *)0L));
	RT_ASSERT_CLEAN();
}

TEST_F(rt, fork_child_cannot_ready_the_parents_g)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, fork_main, (void *)1L));
	RT_ASSERT_CLEAN();
}

TEST_HARNESS_MAIN
