// SPDX-License-Identifier: GPL-2.0
/*
 * What a user sees of the scheduler (userlib/debug.c): the goroutine dump
 * of a program with 1,000 Gs parked on different things, the dump on
 * SIGQUIT and on a deadlock, GMPRT_DEBUG's schedtrace and scheddetail
 * against a known state, and its errors.  Waits are liveness bounds, never
 * timing thresholds.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "rt_util.h"

RT_NPROCS_FIXTURE;

/* ---- 1,000 Gs parked on six different things ---------------------------- */

#define NRECV	200
#define NSEND	200
#define NMUTEX	200
#define NWG	200
#define NSELECT	100
#define NSLEEP	100

static gmprt_chan *never_r, *never_s, *sel_a, *sel_b;
static gmprt_mutex mu = GMPRT_MUTEX_INIT;
static gmprt_waitgroup gate = GMPRT_WAITGROUP_INIT;
static gmprt_waitgroup all = GMPRT_WAITGROUP_INIT;
static atomic_int nparked;

static void receiver(void *arg)
{
	atomic_fetch_add(&nparked, 1);
	GCHECK(gmprt_chan_recv(never_r, NULL) == -EPIPE);
	gmprt_wg_done(&all);
}

static void sender(void *arg)
{
	atomic_fetch_add(&nparked, 1);
	GCHECK(gmprt_chan_send(never_s, NULL) == -EPIPE);
	gmprt_wg_done(&all);
}

static void locker(void *arg)
{
	atomic_fetch_add(&nparked, 1);
	gmprt_mutex_lock(&mu);
	gmprt_mutex_unlock(&mu);
	gmprt_wg_done(&all);
}

static void waiter(void *arg)
{
	atomic_fetch_add(&nparked, 1);
	gmprt_wg_wait(&gate);
	gmprt_wg_done(&all);
}

static void selector(void *arg)
{
	struct gmprt_select_case c[2] = {
		{ .chan = sel_a, .dir = GMPRT_RECV },
		{ .chan = sel_b, .dir = GMPRT_RECV },
	};

	atomic_fetch_add(&nparked, 1);
	GCHECK(gmprt_select(c, 2, true) >= 0);
	gmprt_wg_done(&all);
}

/* Parked in a sleep the test never waits for: main's return ends it. */
static void sleeper(void *arg)
{
	atomic_fetch_add(&nparked, 1);
	gmprt_sleep(3600 * 1000000000LL);
}

struct tally {
	int recv, send, mutex, wg, select, sleep, running, other, total;
	long long waited;	/* sum of the ms fields */
};

/* Dump into memory and count the lines by state. */
static int dump_tally(struct tally *t)
{
	int fd = memfd_create("dump", MFD_CLOEXEC);
	static char text[1 << 17];
	char *line, *save = NULL;
	ssize_t n;

	memset(t, 0, sizeof(*t));
	if (fd < 0)
		return -1;
	gmprt_dump(fd);
	n = pread(fd, text, sizeof(text) - 1, 0);
	close(fd);
	if (n < 0)
		return -1;
	text[n] = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long id;
		const char *c;
		char state[64];
		long ms = 0, m;

		if (sscanf(line, "goroutine %llu [%63[^],]", &id, state) != 2)
			return -2;
		if (strstr(line, " ms]")) {
			c = strstr(line, ", ");
			if (!c || sscanf(c, ", %ld ms]", &ms) != 1)
				return -3;
			t->waited += ms;
		}
		c = strstr(line, "]: m=");
		if (!c || sscanf(c + 5, "%ld", &m) != 1)
			return -4;
		t->total++;
		if (!strcmp(state, "chan receive"))
			t->recv++;
		else if (!strcmp(state, "chan send"))
			t->send++;
		else if (!strcmp(state, "gmprt_mutex_lock"))
			t->mutex++;
		else if (!strcmp(state, "gmprt_wg_wait"))
			t->wg++;
		else if (!strcmp(state, "select"))
			t->select++;
		else if (!strcmp(state, "sleep"))
			t->sleep++;
		else if (!strcmp(state, "running") && m >= 0)
			t->running++;
		else
			t->other++;
	}
	return 0;
}

static bool all_counted(const struct tally *t)
{
	return t->recv == NRECV && t->send == NSEND && t->mutex == NMUTEX &&
	       t->wg == NWG && t->select == NSELECT && t->sleep == NSLEEP;
}

static int dump_main(void *arg)
{
	struct tally t, t2;
	int i, tries;

	never_r = gmprt_chan_make(0, 0);
	never_s = gmprt_chan_make(0, 0);
	sel_a = gmprt_chan_make(0, 0);
	sel_b = gmprt_chan_make(0, 0);
	GCHECK(never_r && never_s && sel_a && sel_b);
	gmprt_mutex_lock(&mu);
	gmprt_wg_add(&gate, 1);
	gmprt_wg_add(&all, NRECV + NSEND + NMUTEX + NWG + NSELECT);
	for (i = 0; i < NRECV; i++)
		GCHECK(gmprt_go(receiver, NULL) == 0);
	for (i = 0; i < NSEND; i++)
		GCHECK(gmprt_go(sender, NULL) == 0);
	for (i = 0; i < NMUTEX; i++)
		GCHECK(gmprt_go(locker, NULL) == 0);
	for (i = 0; i < NWG; i++)
		GCHECK(gmprt_go(waiter, NULL) == 0);
	for (i = 0; i < NSELECT; i++)
		GCHECK(gmprt_go(selector, NULL) == 0);
	for (i = 0; i < NSLEEP; i++)
		GCHECK(gmprt_go(sleeper, NULL) == 0);

	/* Every G parked, as the dump says (a liveness bound: 50 s). */
	for (tries = 0; tries < 5000; tries++) {
		GCHECK(dump_tally(&t) == 0);
		if (all_counted(&t))
			break;
		gmprt_sleep(10 * 1000000LL);
	}
	GCHECKF(all_counted(&t), "recv %d send %d mutex %d wg %d select %d sleep %d other %d",
		t.recv, t.send, t.mutex, t.wg, t.select, t.sleep, t.other);
	/* The main G, dumping: running, on an M; nothing else is there. */
	GCHECKF(t.running == 1 && t.other == 0, "running %d other %d", t.running, t.other);
	GCHECK(t.total == 1001);
	/* The waits grow while they wait (a liveness bound, not a time). */
	for (tries = 0; tries < 500; tries++) {
		gmprt_sleep(10 * 1000000LL);
		GCHECK(dump_tally(&t2) == 0);
		if (t2.waited > t.waited)
			break;
	}
	GCHECKF(t2.waited > t.waited, "waited %lld then %lld", t.waited, t2.waited);

	gmprt_chan_close(never_r);
	gmprt_chan_close(never_s);
	gmprt_chan_close(sel_a);
	gmprt_mutex_unlock(&mu);
	gmprt_wg_done(&gate);
	gmprt_wg_wait(&all);
	gmprt_chan_free(never_r);
	gmprt_chan_free(never_s);
	gmprt_chan_free(sel_a);
	gmprt_chan_free(sel_b);
	return 0;
}

TEST_F_TIMEOUT(rt, dump_of_1000_parked_gs, 120)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, dump_main, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- SIGQUIT and deadlock print it and exit 2 ------------------------- */

static gmprt_chan *quit_c;

static void quit_parked(void *arg)
{
	gmprt_chan_recv(quit_c, NULL);
}

/*
 * The signal comes from another G, 50 ms on: main is asleep by then.  Sent
 * from main itself, the dump could catch main between kill() and its park
 * (it did once: "goroutine 1 [running]").
 */
static void quit_sender(void *arg)
{
	gmprt_sleep(50 * 1000000LL);
	kill(getpid(), SIGQUIT);
}

static int quit_main(void *arg)
{
	quit_c = gmprt_chan_make(0, 0);
	gmprt_go(quit_parked, NULL);
	gmprt_go(quit_sender, NULL);
	for (;;)
		gmprt_sleep(1000 * 1000000LL);
	return 0;
}

static void quit_child(void)
{
	exit(gmprt_main(quit_main, NULL, NULL) ? 3 : 4);
}

TEST(sigquit_dumps_and_exits_2)
{
	char err[8192];

	ASSERT_EQ(2, run_child(quit_child, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "SIGQUIT: quit\n")) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "goroutine 1 [sleep")) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "[chan receive")) TH_LOG("%s", err);
}

/* A program that handles SIGQUIT itself keeps its handler. */
static volatile sig_atomic_t own_quit;

static void own_handler(int sig)
{
	own_quit = 1;
}

static int own_main(void *arg)
{
	kill(getpid(), SIGQUIT);
	while (!own_quit)
		gmprt_sleep(1000000LL);
	return 7;
}

static void own_child(void)
{
	signal(SIGQUIT, own_handler);
	exit(gmprt_main(own_main, NULL, NULL));
}

TEST(sigquit_handled_by_the_program)
{
	char err[4096];

	ASSERT_EQ(7, run_child(own_child, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(NULL, strstr(err, "SIGQUIT")) TH_LOG("%s", err);
}

/*
 * Faults in a G (stack.c's SIGSEGV handler): an overflow of a guarded
 * stack names the G and exits 2; any other fault is reported with its
 * address and the G, then kills the program with SIGSEGV as it would have.
 */
static int deep(int n)
{
	volatile char frame[512];

	frame[0] = (char)n;
	return n ? deep(n - 1) + frame[0] : 0;	/* not a tail call */
}

static void recurse_g(void *arg)
{
	deep(1 << 20);
}

static int overflow_main(void *arg)
{
	gmprt_go(recurse_g, NULL);
	gmprt_sleep(60 * 1000000000LL);
	return 3;
}

static void overflow_child(void)
{
	exit(rt_run(1, overflow_main, NULL) ? 4 : 5);
}

TEST(stack_overflow_names_the_g)
{
	char err[4096];

	ASSERT_EQ(2, run_child(overflow_child, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "gmprt: fatal error: stack overflow in G 2 (stack 65536 bytes"))
		TH_LOG("%s", err);
}

static void wild_g(void *arg)
{
	*(volatile int *)16 = 1;
}

static int wild_main(void *arg)
{
	gmprt_go(wild_g, NULL);
	gmprt_sleep(60 * 1000000000LL);
	return 3;
}

static void wild_child(void)
{
	exit(rt_run(1, wild_main, NULL) ? 4 : 5);
}

TEST(unexpected_fault_says_where_and_kills)
{
	char err[4096];

	ASSERT_EQ(128 + SIGSEGV, run_child(wild_child, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "gmprt: fatal error: unexpected signal 11 (code 1) at address 0x10, pc 0x"))
		TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, " in G 2 on M ")) TH_LOG("%s", err);
}

static int dead_main(void *arg)
{
	gmprt_chan *c = gmprt_chan_make(0, 0);

	gmprt_chan_recv(c, NULL);	/* nobody will ever send */
	return 0;
}

static void dead_child(void)
{
	exit(gmprt_main(dead_main, NULL, NULL) ? 3 : 4);
}

TEST(deadlock_dumps)
{
	char err[8192];

	ASSERT_EQ(2, run_child(dead_child, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "fatal error: all goroutines are asleep - deadlock!\n\n"
				    "goroutine 1 [chan receive")) TH_LOG("%s", err);
}

/* ---- GMPRT_DEBUG ---------------------------------------------------------- */

static int trace_nprocs;
static gmprt_waitgroup trace_wg = GMPRT_WAITGROUP_INIT;

static void trace_waiter(void *arg)
{
	gmprt_wg_wait(&trace_wg);
}

static int trace_main(void *arg)
{
	gmprt_wg_add(&trace_wg, 1);
	gmprt_go(trace_waiter, NULL);	/* G2 */
	gmprt_sleep(1000 * 1000000LL);	/* ~20 schedtrace periods */
	gmprt_wg_done(&trace_wg);
	return 0;
}

static void trace_child(void)
{
	char n[16];

	snprintf(n, sizeof(n), "%d", trace_nprocs);
	setenv("GMPRT_NPROCS", n, 1);
	setenv("GMPRT_DEBUG", "schedtrace=50,scheddetail=1", 1);
	exit(gmprt_main(trace_main, NULL, NULL) ? 3 : 0);
}

TEST_F(rt, gmprt_debug_schedtrace_scheddetail)
{
	static char err[1 << 16];
	char want[64];

	trace_nprocs = variant->nprocs;
	ASSERT_EQ(0, run_child(trace_child, err, sizeof(err))) TH_LOG("%s", err);
	snprintf(want, sizeof(want), "ms: gomaxprocs=%d ", variant->nprocs);
	EXPECT_NE(NULL, strstr(err, "SCHED ")) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, want)) TH_LOG("%s", err);
	snprintf(want, sizeof(want), "\n  P%d: status=", variant->nprocs - 1);
	EXPECT_NE(NULL, strstr(err, want)) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "\n  M")) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "\n  G1: status=4(sleep) m=-1 lockedm=-1\n")) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "\n  G2: status=4(gmprt_wg_wait) m=-1 lockedm=-1\n"))
		TH_LOG("%s", err);
}

static void trace_only_child(void)
{
	setenv("GMPRT_DEBUG", "schedtrace=50", 1);
	exit(gmprt_main(trace_main, NULL, NULL) ? 3 : 0);
}

TEST(gmprt_debug_schedtrace_alone_has_no_detail)
{
	static char err[1 << 16];

	ASSERT_EQ(0, run_child(trace_only_child, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "SCHED ")) TH_LOG("%s", err);
	EXPECT_EQ(NULL, strstr(err, "\n  G1:")) TH_LOG("%s", err);
	EXPECT_EQ(NULL, strstr(err, "\n  P0:")) TH_LOG("%s", err);
}

static int quick_main(void *arg)
{
	return 0;
}

static void bad_child(void)
{
	setenv("GMPRT_DEBUG", "schedtrace=abc", 1);
	exit(gmprt_main(quick_main, NULL, NULL) == -EINVAL ? 5 : 6);
}

static void unknown_child(void)
{
	setenv("GMPRT_DEBUG", "gctrace=1", 1);
	exit(gmprt_main(quick_main, NULL, NULL) == 0 ? 5 : 6);
}

TEST(gmprt_debug_errors)
{
	char err[4096];

	EXPECT_EQ(5, run_child(bad_child, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "schedtrace=abc")) TH_LOG("%s", err);
	EXPECT_EQ(5, run_child(unknown_child, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "unknown setting 'gctrace'")) TH_LOG("%s", err);
}

TEST_HARNESS_MAIN
