// SPDX-License-Identifier: GPL-2.0
/*
 * Block detection and the handoffs it makes (GMP_SETUP_HANDOFF, block.c),
 * driven through the raw interface: an M that blocks in the kernel holding
 * a P, outside its scheduler (its slot's inruntime clear), loses the P to a
 * parked M after the grace period, and finds GMP_NONE in its slot when it
 * wakes; inside its scheduler, without the flag, or briefly, it keeps it; a
 * G that runs 10 ms without a runtime call has its P handed off while its M
 * goes on running.  Then the lifetime traps: closing the instance while Ms
 * sleep, SIGKILL of an M that lost its P, and rmmod afterwards.  Waits are
 * liveness bounds, never timing thresholds.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include "gmp_util.h"
#include "kselftest_harness.h"

FIXTURE(block) {
	struct gmp_inst g;
	uint32_t m;
};

FIXTURE_VARIANT(block) {
	unsigned int nprocs;
};

FIXTURE_VARIANT_ADD(block, nprocs1) { .nprocs = 1 };
FIXTURE_VARIANT_ADD(block, nprocs2) { .nprocs = 2 };
FIXTURE_VARIANT_ADD(block, nprocs4) { .nprocs = 4 };

FIXTURE_SETUP(block)
{
	ASSERT_EQ(0, gmp_inst_open(&self->g, variant->nprocs, GMP_SETUP_HANDOFF));
	ASSERT_TRUE(self->g.prm.features & GMP_FEAT_HANDOFF);
	ASSERT_EQ(0, gmp_register(&self->g, &self->m));
	ASSERT_EQ(0, gmp_sysmon_start(&self->g));
}

FIXTURE_TEARDOWN(block)
{
	gmp_inst_close(&self->g);
}

static long kstat(struct gmp_inst *g, const char *key)
{
	char text[16384];
	const char *at;

	if (gmp_schedtrace(g, text, sizeof(text), 1))
		return -1;
	at = strstr(text, "\n  stats:");
	return at ? gmp_trace_val(at, key) : -1;
}

/* The state= of M @m in a detail schedtrace, or "" */
static const char *mstate(struct gmp_inst *g, uint32_t m, char *text, size_t len)
{
	char pat[32];
	char *at, *end;

	if (gmp_schedtrace(g, text, len, 1))
		return "";
	snprintf(pat, sizeof(pat), "  M%u: ", m);
	at = strstr(text, pat);
	at = at ? strstr(at, "state=") : NULL;
	if (!at)
		return "";
	end = strchr(at, '\n');
	if (end)
		*end = 0;
	return at + 6;
}

/*
 * A thread that registers, takes P @p, queues a G on it (work for whoever
 * gets the P: handoffp then starts an M rather than idling the P), sets its
 * slot's inruntime to @inruntime (as a runtime entering a G's code) and
 * blocks reading a pipe (or in a GMP_P_SYSCALL bracket with @syscall) until
 * the test writes.  Then it records what its slot says and tries to get a
 * P back.
 */
struct blocker {
	struct gmp_inst *g;
	pthread_t t;
	int p, inruntime, syscall;
	int pfd[2];
	volatile uint32_t m;
	volatile int registered, reading, done, leave;
	int slot_after;		/* its slot's p word, after the read */
	int cas_won;		/* with @syscall: exitsyscall's CAS */
	int reacquired;		/* the P ACQUIRE_P gave it back, or GMP_NONE */
};

static void *blocker_fn(void *arg)
{
	struct blocker *b = arg;
	uint32_t m, word;
	char c;

	if (gmp_register(b->g, &m) || gmp_acquire(b->g, m, b->p, NULL))
		return NULL;
	b->m = m;
	gmp_ring_put(b->g, b->p, 0xb10c + m);
	__atomic_store_n(gmp_m_inruntime(b->g, m), b->inruntime, __ATOMIC_RELAXED);
	word = GMP_P_SYSCALL_M(m);
	if (b->syscall)
		__atomic_store_n(gmp_p_status(b->g, b->p), word, __ATOMIC_RELEASE);
	__atomic_store_n(&b->registered, 1, __ATOMIC_RELEASE);
	b->reading = 1;
	if (read(b->pfd[0], &c, 1) != 1)
		return NULL;
	__atomic_store_n(gmp_m_inruntime(b->g, m), 1, __ATOMIC_RELAXED);
	b->slot_after = gmp_m_slot_p(b->g, m);
	if (b->syscall)
		b->cas_won = __atomic_compare_exchange_n(gmp_p_status(b->g, b->p),
							 &word, GMP_P_RUNNING, false,
							 __ATOMIC_ACQ_REL,
							 __ATOMIC_ACQUIRE);
	b->reacquired = -2;
	if (b->slot_after == GMP_NONE)
		gmp_acquire_flags(b->g, m, b->p, GMP_ACQUIRE_ANY, &b->reacquired);
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
	/* Alive until told: a dead M's P would move again (reaping). */
	while (!__atomic_load_n(&b->leave, __ATOMIC_ACQUIRE))
		usleep(100);
	return NULL;
}

static int blocker_start(struct blocker *b, struct gmp_inst *g, int p)
{
	b->g = g;
	b->p = p;
	if (pipe(b->pfd))
		return -1;
	if (pthread_create(&b->t, NULL, blocker_fn, b))
		return -1;
	return GMP_WAIT_UNTIL(__atomic_load_n(&b->registered, __ATOMIC_ACQUIRE)) ? 0 : -1;
}

/* Let the blocker's read return; it records what it finds, and stays. */
static void blocker_wake(struct blocker *b)
{
	if (write(b->pfd[1], "x", 1) == 1)
		GMP_WAIT_UNTIL(__atomic_load_n(&b->done, __ATOMIC_ACQUIRE));
}

static void blocker_join(struct blocker *b)
{
	__atomic_store_n(&b->leave, 1, __ATOMIC_RELEASE);
	pthread_join(b->t, NULL);
	close(b->pfd[0]);
	close(b->pfd[1]);
}

/* Outside its scheduler, a blocked M's P goes to a parked M. */
TEST_F(block, blocked_m_loses_its_p_to_a_parked_m)
{
	struct gmp_parker pk = { .linger = 1 };
	struct blocker b = { 0 };
	long before = kstat(&self->g, "blockhandoff");
	char text[16384];
	int p = variant->nprocs - 1;

	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(GMP_SCHED_U32(&self->g, nmidle) == 1));
	ASSERT_EQ(0, blocker_start(&b, &self->g, p));
	EXPECT_EQ(p, gmp_m_slot_p(&self->g, b.m));
	ASSERT_TRUE(GMP_WAIT_UNTIL(pk.done));
	EXPECT_EQ(0, pk.ret);
	EXPECT_EQ(GMP_PARKED_WOKEN, pk.out.result);
	EXPECT_EQ(p, pk.out.p);
	EXPECT_EQ(pk.m, *GMP_P_FIELD(&self->g, p, m, int32_t));
	EXPECT_STREQ("taken", mstate(&self->g, b.m, text, sizeof(text)));
	EXPECT_EQ(before + 1, kstat(&self->g, "blockhandoff"));
	/* Woken, it finds its slot says so, before any user instruction. */
	blocker_wake(&b);
	EXPECT_EQ(GMP_NONE, b.slot_after);
	/* Its old P is the parked M's now: any other idle P, or none. */
	EXPECT_NE(p, b.reacquired);
	if (variant->nprocs == 1) {
		EXPECT_EQ(GMP_NONE, b.reacquired);
	} else {
		EXPECT_LE(0, b.reacquired);
	}
	/* Running again (or asleep in its usleep loop, holding nothing). */
	EXPECT_STRNE("taken", mstate(&self->g, b.m, text, sizeof(text)));
	blocker_join(&b);
	gmp_parker_join(&pk);
}

/* In its scheduler (inruntime set), a blocked M keeps its P. */
TEST_F(block, blocked_in_the_scheduler_keeps_its_p)
{
	struct blocker b = { .inruntime = 1 };
	struct gmp_parker pk = { .linger = 1 };
	long before = kstat(&self->g, "blockhandoff");
	char text[16384];

	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(GMP_SCHED_U32(&self->g, nmidle) == 1));
	ASSERT_EQ(0, blocker_start(&b, &self->g, 0));
	ASSERT_TRUE(GMP_WAIT_UNTIL(!strcmp(mstate(&self->g, b.m, text, sizeof(text)),
					   "sleep")));
	usleep(200 * 1000);	/* many grace periods: still nothing */
	EXPECT_EQ(1, GMP_SCHED_U32(&self->g, nmidle));
	EXPECT_EQ(b.m, *GMP_P_FIELD(&self->g, 0, m, int32_t));
	blocker_wake(&b);
	EXPECT_EQ(0, b.slot_after);
	EXPECT_EQ(b.m, *GMP_P_FIELD(&self->g, 0, m, int32_t));
	EXPECT_EQ(before, kstat(&self->g, "blockhandoff"));
	EXPECT_EQ(1, GMP_SCHED_U32(&self->g, nmidle));
	/* Closing wakes the parked M (ESHUTDOWN); then the threads go. */
	gmp_inst_close(&self->g);
	gmp_parker_join(&pk);
	blocker_join(&b);
}

/* A P in GMP_P_SYSCALL goes at once, by the status CAS exitsyscall races. */
TEST_F(block, blocked_in_a_syscall_bracket_goes_at_once)
{
	struct blocker b = { .syscall = 1 };
	struct gmp_parker pk = { .linger = 1 };

	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(GMP_SCHED_U32(&self->g, nmidle) == 1));
	b.inruntime = 1;	/* the status word decides, not the slot */
	ASSERT_EQ(0, blocker_start(&b, &self->g, 0));
	ASSERT_TRUE(GMP_WAIT_UNTIL(pk.done));
	EXPECT_EQ(GMP_PARKED_WOKEN, pk.out.result);
	blocker_wake(&b);
	EXPECT_FALSE(b.cas_won);
	EXPECT_EQ(GMP_NONE, b.slot_after);
	blocker_join(&b);
	gmp_parker_join(&pk);
}

/* Without GMP_SETUP_HANDOFF nothing is taken from a blocked M. */
TEST(no_handoff_without_the_flag)
{
	struct gmp_inst g;
	struct blocker b = { 0 };
	struct gmp_parker pk = { .linger = 1 };
	uint32_t m;

	ASSERT_EQ(0, gmp_inst_open(&g, 1, 0));
	ASSERT_EQ(0, gmp_register(&g, &m));
	ASSERT_EQ(0, gmp_sysmon_start(&g));
	ASSERT_EQ(0, gmp_parker_start(&pk, &g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(GMP_SCHED_U32(&g, nmidle) == 1));
	ASSERT_EQ(0, blocker_start(&b, &g, 0));
	usleep(200 * 1000);
	EXPECT_EQ(1, GMP_SCHED_U32(&g, nmidle));
	EXPECT_EQ(0, kstat(&g, "block"));
	blocker_wake(&b);
	EXPECT_EQ(0, b.slot_after);
	EXPECT_EQ(1, GMP_SCHED_U32(&g, nmidle));
	gmp_inst_close(&g);
	gmp_parker_join(&pk);
	blocker_join(&b);
}

/*
 * A "G" that runs 10 ms without a runtime call: its P goes to a parked M
 * (from its own thread, at its next return to user space) while it keeps
 * running, and its slot says so.
 */
struct hog {
	struct gmp_inst *g;
	volatile int go, stop, registered;
	uint32_t m;
	int p;
	int32_t slot_seen;
};

static void *hog_fn(void *arg)
{
	struct hog *h = arg;
	uint32_t m;

	if (gmp_register(h->g, &m) || gmp_acquire(h->g, m, h->p, NULL))
		return NULL;
	h->m = m;
	gmp_ring_put(h->g, h->p, 0x409);	/* work for the next holder */
	__atomic_store_n(gmp_m_inruntime(h->g, m), 0, __ATOMIC_RELAXED);
	__atomic_store_n(&h->registered, 1, __ATOMIC_RELEASE);
	/* No system call at all: only the kernel's kick gets in. */
	while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE))
		;
	__atomic_store_n(gmp_m_inruntime(h->g, m), 1, __ATOMIC_RELAXED);
	h->slot_seen = gmp_m_slot_p(h->g, m);
	return NULL;
}

TEST_F_TIMEOUT(block, hog_loses_its_p_and_keeps_running, 60)
{
	struct hog h = { .g = &self->g, .p = 0 };
	struct gmp_parker pk = { .linger = 1 };
	pthread_t t;

	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(GMP_SCHED_U32(&self->g, nmidle) == 1));
	ASSERT_EQ(0, pthread_create(&t, NULL, hog_fn, &h));
	ASSERT_TRUE(GMP_WAIT_UNTIL(h.registered));
	ASSERT_TRUE(GMP_WAIT_UNTIL(pk.done));
	EXPECT_EQ(GMP_PARKED_WOKEN, pk.out.result);
	EXPECT_EQ(0, pk.out.p);
	EXPECT_LE(1, kstat(&self->g, "preempthandoff"));
	/* The hog is still spinning, on its own thread, with no P. */
	__atomic_store_n(&h.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	EXPECT_EQ(GMP_NONE, h.slot_seen);
	gmp_parker_join(&pk);
}

/* Inside its scheduler, a hog only gets the preempt request. */
static void *hog_in_runtime_fn(void *arg)
{
	struct hog *h = arg;
	uint32_t m;

	if (gmp_register(h->g, &m) || gmp_acquire(h->g, m, h->p, NULL))
		return NULL;
	h->m = m;
	__atomic_store_n(&h->registered, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE))
		;
	h->slot_seen = gmp_m_slot_p(h->g, m);
	return NULL;
}

TEST_F_TIMEOUT(block, hog_in_the_scheduler_keeps_its_p, 60)
{
	struct hog h = { .g = &self->g, .p = 0 };
	long before = kstat(&self->g, "preempthandoff");
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, hog_in_runtime_fn, &h));
	ASSERT_TRUE(GMP_WAIT_UNTIL(h.registered));
	ASSERT_TRUE(GMP_WAIT_UNTIL(*GMP_P_FIELD(&self->g, 0, preempt, uint32_t)));
	usleep(100 * 1000);	/* several more 10 ms rounds */
	EXPECT_EQ(h.m, *GMP_P_FIELD(&self->g, 0, m, int32_t));
	__atomic_store_n(&h.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	EXPECT_EQ(0, h.slot_seen);
	EXPECT_EQ(before, kstat(&self->g, "preempthandoff"));
}

/* A parked M is not "blocked": it holds no P, nothing is counted. */
TEST_F(block, park_is_not_a_block)
{
	struct gmp_parker pk = { .acquire = 1 };
	long before = kstat(&self->g, "block");
	char text[16384];

	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(GMP_SCHED_U32(&self->g, nmidle) == 1));
	/*
	 * Its state is written when its thread switches out, a moment after
	 * it joined the idle list: wait for that, then it must be a sleep
	 * (never blocked: no grace timer, no count).
	 */
	EXPECT_TRUE(GMP_WAIT_UNTIL(!strcmp("sleep", mstate(&self->g, pk.m, text,
							   sizeof(text)))))
		TH_LOG("state %s", mstate(&self->g, pk.m, text, sizeof(text)));
	EXPECT_EQ(before, kstat(&self->g, "block"));
	EXPECT_EQ(0, gmp_wake(&self->g, self->m, GMP_WAKE_TARGET, 0, pk.m, NULL));
	gmp_parker_join(&pk);
}

/*
 * Lifetime: in a child process (so that its exit is the test), Ms block
 * with and without their P, the instance is closed from another thread,
 * then one M is SIGKILLed (the whole process goes).  Afterwards the
 * module's reference count is back where it was: no notifier, timer or
 * task_work of the dead instance is left anywhere.
 */
static long module_refcnt(void)
{
	FILE *f = fopen("/sys/module/gmp/refcnt", "r");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

static void lifetime_child(void)
{
	struct gmp_inst g;
	struct blocker b[3] = { { 0 } };
	struct gmp_parker pk = { 0 };
	uint32_t m;
	int i;

	if (gmp_inst_open(&g, 3, GMP_SETUP_HANDOFF) || gmp_register(&g, &m) ||
	    gmp_sysmon_start(&g))
		_exit(10);
	if (gmp_parker_start(&pk, &g))
		_exit(11);
	for (i = 0; i < 3; i++) {
		b[i].inruntime = i == 2;	/* one keeps its P */
		if (blocker_start(&b[i], &g, i))
			_exit(12 + i);
	}
	usleep(100 * 1000);	/* the handoffs happen */
	close(g.fd);		/* shutdown with Ms blocked, one without its P */
	g.fd = -1;
	usleep(50 * 1000);
	kill(getpid(), SIGKILL);
	_exit(20);
}

TEST(close_and_kill_with_ms_blocked_then_rmmod_refcount)
{
	long base = module_refcnt();
	int status;
	pid_t pid;

	ASSERT_LE(0, base);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		lifetime_child();
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	/* The last references go with the threads' last switches. */
	EXPECT_TRUE(GMP_WAIT_UNTIL(module_refcnt() == base))
		TH_LOG("refcnt %ld, was %ld", module_refcnt(), base);
}

/*
 * Closing the instance from another thread while an M's thread sleeps
 * elsewhere: its notifier stays (and with it the instance and a module
 * reference) until that thread returns to user space and removes it.
 */
struct sleeper_m {
	struct gmp_inst *g;
	int pfd[2];
	volatile int registered;
};

static void *sleeper_m_fn(void *arg)
{
	struct sleeper_m *sm = arg;
	uint32_t m;
	char c;

	if (gmp_register(sm->g, &m))
		return NULL;
	__atomic_store_n(&sm->registered, 1, __ATOMIC_RELEASE);
	if (read(sm->pfd[0], &c, 1) != 1)
		return NULL;
	usleep(1000);		/* back in user space: the task_work ran */
	return NULL;
}

TEST(close_while_an_m_sleeps_elsewhere)
{
	long base = module_refcnt();
	struct sleeper_m sm = { 0 };
	struct gmp_inst g;
	pthread_t t;

	ASSERT_EQ(0, gmp_inst_open(&g, 1, GMP_SETUP_HANDOFF));
	sm.g = &g;
	ASSERT_EQ(0, pipe(sm.pfd));
	ASSERT_EQ(0, pthread_create(&t, NULL, sleeper_m_fn, &sm));
	ASSERT_TRUE(GMP_WAIT_UNTIL(sm.registered));
	usleep(10 * 1000);	/* it sleeps in read() */
	gmp_inst_close(&g);
	/* The file is gone; the instance is held by the sleeping M. */
	EXPECT_EQ(base + 1, module_refcnt());
	ASSERT_EQ(1, write(sm.pfd[1], "x", 1));
	EXPECT_TRUE(GMP_WAIT_UNTIL(module_refcnt() == base));
	pthread_join(t, NULL);
	EXPECT_EQ(base, module_refcnt());
	close(sm.pfd[0]);
	close(sm.pfd[1]);
}

TEST_HARNESS_MAIN
