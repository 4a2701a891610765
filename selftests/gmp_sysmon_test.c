// SPDX-License-Identifier: GPL-2.0
/*
 * Sysmon, run by a thread of the process in GMP_IOC_SYSMON (here the
 * helper gmp_sysmon_start() makes): a P whose holder died is given back
 * (another M gets it), a P left in a system call is retaken and handed to a
 * parked M (or, with none, to the template thread in NEWM_WAIT, whose new
 * M claims it), and a P whose G runs too long is asked to yield.  Waits are
 * liveness bounds only (GMP_LIVENESS_MS), never timing thresholds.
 */
#include <pthread.h>
#include <signal.h>
#include "gmp_util.h"
#include "kselftest_harness.h"

FIXTURE(sysmon) {
	struct gmp_inst g;
	uint32_t m;
};

FIXTURE_VARIANT(sysmon) {
	unsigned int nprocs;
};

FIXTURE_VARIANT_ADD(sysmon, nprocs1) { .nprocs = 1 };
FIXTURE_VARIANT_ADD(sysmon, nprocs2) { .nprocs = 2 };
FIXTURE_VARIANT_ADD(sysmon, nprocs4) { .nprocs = 4 };

FIXTURE_SETUP(sysmon)
{
	ASSERT_EQ(0, gmp_inst_open(&self->g, variant->nprocs, 0));
	ASSERT_EQ(0, gmp_register(&self->g, &self->m));
	ASSERT_EQ(0, gmp_sysmon_start(&self->g));
}

FIXTURE_TEARDOWN(sysmon)
{
	gmp_inst_close(&self->g);
}

#define NPIDLE(g)	GMP_SCHED_U32(g, npidle)
#define NMIDLE(g)	GMP_SCHED_U32(g, nmidle)

static long threads(struct gmp_inst *g)
{
	char text[1024];

	if (gmp_schedtrace(g, text, sizeof(text), 0))
		return -1;
	return gmp_trace_val(text, "threads");
}

static long newm_waiters(struct gmp_inst *g)
{
	char text[4096];

	if (gmp_schedtrace(g, text, sizeof(text), 1))
		return -1;
	return gmp_trace_val(text, "newmwaiters");
}

/* A thread that registers, takes a P, maybe queues a G on it, and exits. */
struct dier {
	struct gmp_inst *g;
	uint64_t g_on_ring;	/* 0: none */
	uint32_t m;
	int p;
	int err;
};

static void *dier_fn(void *arg)
{
	struct dier *d = arg;

	if (gmp_register(d->g, &d->m) || gmp_acquire(d->g, d->m, GMP_NONE, &d->p) ||
	    d->p == GMP_NONE) {
		d->err = 1;
		return NULL;
	}
	if (d->g_on_ring)
		gmp_ring_put(d->g, d->p, d->g_on_ring);
	return NULL;	/* exits holding the P, never unregistered */
}

/*
 * A registered thread exits holding a P with a G on its ring: sysmon takes
 * the P back and hands it to the parked M, which finds the G; the dead M
 * is reaped.
 */
TEST_F(sysmon, dead_holder_with_work)
{
	struct dier d = { .g = &self->g, .g_on_ring = 0xd1e };
	struct gmp_parker pk = { .linger = 1 };
	pthread_t t;

	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(NMIDLE(&self->g) == 1));
	ASSERT_EQ(0, pthread_create(&t, NULL, dier_fn, &d));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, d.err);
	ASSERT_TRUE(GMP_WAIT_UNTIL(pk.done));
	ASSERT_EQ(0, pk.ret);
	ASSERT_EQ(GMP_PARKED_WOKEN, pk.out.result);
	ASSERT_EQ(d.p, pk.out.p);
	ASSERT_EQ(pk.m, *GMP_P_FIELD(&self->g, d.p, m, int32_t));
	ASSERT_EQ(0xd1e, gmp_ring_get(&self->g, d.p));
	ASSERT_TRUE(GMP_WAIT_UNTIL(threads(&self->g) == 2));
	ASSERT_EQ(0, gmp_parker_join(&pk));
}

/*
 * Without work the P goes back to the idle list (or, with one P, to a
 * spinning M: Go's handoffp starts one when nobody spins and no P is idle).
 */
TEST_F(sysmon, dead_holder_idle)
{
	struct dier d = { .g = &self->g };
	struct gmp_parker pk = { .linger = 1 };
	int n = variant->nprocs;
	pthread_t t;

	if (n == 1) {
		ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
		ASSERT_TRUE(GMP_WAIT_UNTIL(NMIDLE(&self->g) == 1));
	}
	ASSERT_EQ(0, pthread_create(&t, NULL, dier_fn, &d));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, d.err);
	if (n == 1) {
		ASSERT_TRUE(GMP_WAIT_UNTIL(pk.done));
		ASSERT_EQ(GMP_PARKED_WOKEN, pk.out.result);
		ASSERT_EQ(0, pk.out.p);
		ASSERT_EQ(GMP_PARKED_SPINNING, pk.out.oflags);
		ASSERT_EQ(1, *gmp_nmspinning(&self->g));
	} else {
		ASSERT_TRUE(GMP_WAIT_UNTIL(NPIDLE(&self->g) == n));
		ASSERT_EQ(GMP_P_IDLE, *gmp_p_status(&self->g, d.p));
		/* Another M gets it. */
		ASSERT_EQ(0, gmp_acquire(&self->g, self->m, d.p, NULL));
		ASSERT_EQ(self->m, *GMP_P_FIELD(&self->g, d.p, m, int32_t));
	}
	ASSERT_TRUE(GMP_WAIT_UNTIL(threads(&self->g) == 1 + (n == 1)));
	if (n == 1)
		ASSERT_EQ(0, gmp_parker_join(&pk));
}

/* Enter a "system call" on P @p as an M must: status names the M. */
static void enter_syscall(struct gmp_inst *g, int p, uint32_t m)
{
	uint32_t *tick = GMP_P_FIELD(g, p, syscalltick, uint32_t);

	__atomic_store_n(tick, *tick + 1, __ATOMIC_RELAXED);
	__atomic_store_n(gmp_p_status(g, p), GMP_P_SYSCALL_M(m), __ATOMIC_SEQ_CST);
}

/* Leave it: the CAS that says whether the P is still ours. */
static int exit_syscall(struct gmp_inst *g, int p, uint32_t m)
{
	uint32_t want = GMP_P_SYSCALL_M(m);

	return __atomic_compare_exchange_n(gmp_p_status(g, p), &want,
					   GMP_P_RUNNING, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/*
 * A system call that returns at once keeps its P.  Sysmon may still catch
 * one (the thread can be preempted between entry and exit, and with one P
 * nobody else is idle or spinning, so Go's rule retakes at once): a few
 * tries, and one must keep it.
 */
TEST_F(sysmon, short_syscall_keeps_p)
{
	int p, try, kept = 0;

	for (try = 0; try < 20 && !kept; try++) {
		ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
		ASSERT_NE(GMP_NONE, p);
		enter_syscall(&self->g, p, self->m);
		kept = exit_syscall(&self->g, p, self->m);
		if (!kept)
			continue;	/* retaken: it went idle or to an M */
		ASSERT_EQ(GMP_P_RUNNING, *gmp_p_status(&self->g, p));
		ASSERT_EQ(self->m, *GMP_P_FIELD(&self->g, p, m, int32_t));
	}
	ASSERT_TRUE(kept);
}

/*
 * A P left in a system call with work on its ring is retaken and handed to
 * the parked M.  The M back from the call loses its CAS, even after the new
 * holder entered a call of its own (the ABA that GMP_P_SYSCALL_M prevents).
 */
TEST_F(sysmon, syscall_retake_to_parked_m)
{
	struct gmp_parker pk = { .linger = 1 };
	uint32_t st;
	int p, q;

	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(NMIDLE(&self->g) == 1));
	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	gmp_ring_put(&self->g, p, 0x5c);
	enter_syscall(&self->g, p, self->m);

	ASSERT_TRUE(GMP_WAIT_UNTIL(pk.done));
	ASSERT_EQ(GMP_PARKED_WOKEN, pk.out.result);
	ASSERT_EQ(p, pk.out.p);
	ASSERT_EQ(pk.m, *GMP_P_FIELD(&self->g, p, m, int32_t));
	ASSERT_EQ(GMP_P_RUNNING, *gmp_p_status(&self->g, p));
	/* The new holder enters a call; the old one comes back: it lost. */
	enter_syscall(&self->g, p, pk.m);
	ASSERT_FALSE(exit_syscall(&self->g, p, self->m));
	/*
	 * Still in the new holder's call, unless sysmon retook it from that
	 * call as well (two rounds, 40 us: a preempted test thread sees it).
	 */
	st = *gmp_p_status(&self->g, p);
	ASSERT_TRUE(st == GMP_P_SYSCALL_M(pk.m) || st == GMP_P_IDLE)
		TH_LOG("P%d status %#x", p, st);
	/* The kernel agrees: the old M holds nothing and may take another P. */
	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &q));
	if (q == p) {
		/* Sysmon retook it from the new holder's call too: it lost. */
		ASSERT_FALSE(exit_syscall(&self->g, p, pk.m));
	}
	if (q != GMP_NONE) {
		ASSERT_EQ(self->m, *GMP_P_FIELD(&self->g, q, m, int32_t));
		ASSERT_EQ(GMP_P_RUNNING, *gmp_p_status(&self->g, q));
	}
	ASSERT_EQ(0x5c, gmp_ring_get(&self->g, p));
	ASSERT_EQ(0, gmp_parker_join(&pk));
}

/*
 * Without work, a P in a long system call is retaken all the same (at once
 * when nobody else could look for work, else after Go's 10 ms).
 */
TEST_F(sysmon, syscall_retake_idle)
{
	int p, n = variant->nprocs;

	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	enter_syscall(&self->g, p, self->m);
	ASSERT_TRUE(GMP_WAIT_UNTIL(NPIDLE(&self->g) == n));
	ASSERT_EQ(GMP_P_IDLE, *gmp_p_status(&self->g, p));
	ASSERT_EQ(GMP_NONE, *GMP_P_FIELD(&self->g, p, m, int32_t));
	ASSERT_FALSE(exit_syscall(&self->g, p, self->m));
	/* Back from the call, the M takes a P the slow way. */
	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	ASSERT_NE(GMP_NONE, p);
}

/*
 * A P retaken from a system call with a timer pending (and no G) goes to a
 * parked M, as Go's handoffp wakes one for a timer: idled, it would be
 * seen by no M, all asleep with sleeps sized before the timer was added.
 */
TEST_F(sysmon, syscall_retake_with_timer)
{
	struct gmp_parker pk = { .linger = 1 };
	uint64_t *tw;
	int p;

	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(NMIDLE(&self->g) == 1));
	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	tw = GMP_P_FIELD(&self->g, p, timer0when, uint64_t);
	/* A G on P adds a timer an hour away, then blocks in a call. */
	__atomic_store_n(tw, gmp_mono_ns() + 3600ull * 1000000000ull,
			 __ATOMIC_SEQ_CST);
	enter_syscall(&self->g, p, self->m);
	ASSERT_TRUE(GMP_WAIT_UNTIL(pk.done));
	ASSERT_EQ(0, pk.ret);
	ASSERT_EQ(GMP_PARKED_WOKEN, pk.out.result);
	ASSERT_EQ(p, pk.out.p);
	ASSERT_FALSE(exit_syscall(&self->g, p, self->m));
	__atomic_store_n(tw, 0, __ATOMIC_SEQ_CST);
	ASSERT_EQ(0, gmp_parker_join(&pk));
}

/* A held P whose schedtick does not move gets its preempt word set. */
TEST_F(sysmon, preempt_request)
{
	uint32_t *pre;
	int p, i;

	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	pre = GMP_P_FIELD(&self->g, p, preempt, uint32_t);
	ASSERT_TRUE(GMP_WAIT_UNTIL(__atomic_load_n(pre, __ATOMIC_ACQUIRE)));
	/* Idle Ps are never asked. */
	for (i = 0; i < variant->nprocs; i++) {
		if (i != p)
			ASSERT_EQ(0, *GMP_P_FIELD(&self->g, i, preempt, uint32_t));
	}
	/* The G yields (schedtick moves, request cleared); asked again later. */
	__atomic_store_n(pre, 0, __ATOMIC_RELEASE);
	(*GMP_P_FIELD(&self->g, p, schedtick, uint32_t))++;
	ASSERT_TRUE(GMP_WAIT_UNTIL(__atomic_load_n(pre, __ATOMIC_ACQUIRE)));
}

/* The template thread: Go's templateThread, waiting in NEWM_WAIT. */
struct tmpl {
	struct gmp_inst *g;
	volatile uint32_t m;
	volatile int registered;
	volatile int done;
	int ret, p;
};

static void *tmpl_fn(void *arg)
{
	struct tmpl *t = arg;
	uint32_t m;

	if (gmp_register(t->g, &m)) {
		t->ret = -1000;
		return NULL;
	}
	t->m = m;
	__atomic_store_n(&t->registered, 1, __ATOMIC_RELEASE);
	t->ret = gmp_newm_wait(t->g, m, &t->p);
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* The new M made for a reserved P. */
struct newm {
	struct gmp_inst *g;
	int p;
	int ret;
	uint32_t m;
	uint64_t got;
	volatile int done;
	volatile int leave;
};

static void *newm_fn(void *arg)
{
	struct newm *nm = arg;

	nm->ret = gmp_register_claim(nm->g, nm->p, &nm->m);
	if (!nm->ret)
		nm->got = gmp_ring_get(nm->g, nm->p);
	__atomic_store_n(&nm->done, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&nm->leave, __ATOMIC_ACQUIRE))
		usleep(100);
	return NULL;
}

static void *claim_fn(void *arg)
{
	struct newm *nm = arg;

	nm->ret = gmp_register_claim(nm->g, nm->p, &nm->m);
	return NULL;
}

/*
 * Sysmon must hand off a P with work and no M is idle: the template thread
 * receives it reserved, and a new thread's GMP_REGISTER_CLAIM takes it.
 */
TEST_F(sysmon, newm_template_gets_reserved_p)
{
	struct tmpl t = { .g = &self->g };
	struct newm nm = { .g = &self->g }, other = { .g = &self->g };
	pthread_t tt, nt;
	int p;

	ASSERT_EQ(0, pthread_create(&tt, NULL, tmpl_fn, &t));
	ASSERT_TRUE(GMP_WAIT_UNTIL(t.registered));
	ASSERT_TRUE(GMP_WAIT_UNTIL(newm_waiters(&self->g) == 1));
	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	gmp_ring_put(&self->g, p, 0x7e);
	enter_syscall(&self->g, p, self->m);

	ASSERT_TRUE(GMP_WAIT_UNTIL(t.done));
	ASSERT_EQ(0, pthread_join(tt, NULL));
	ASSERT_EQ(0, t.ret);
	ASSERT_EQ(p, t.p);
	/* Reserved: nobody holds it, it is not idle. */
	ASSERT_EQ(GMP_NONE, *GMP_P_FIELD(&self->g, p, m, int32_t));
	ASSERT_EQ(GMP_P_RUNNING, *gmp_p_status(&self->g, p));
	ASSERT_EQ(variant->nprocs - 1, NPIDLE(&self->g));
	ASSERT_FALSE(exit_syscall(&self->g, p, self->m));

	nm.p = p;
	ASSERT_EQ(0, pthread_create(&nt, NULL, newm_fn, &nm));
	ASSERT_TRUE(GMP_WAIT_UNTIL(nm.done));
	ASSERT_EQ(0, nm.ret);
	ASSERT_EQ(0x7e, nm.got);
	ASSERT_EQ(nm.m, *GMP_P_FIELD(&self->g, p, m, int32_t));
	ASSERT_EQ(GMP_P_RUNNING, *gmp_p_status(&self->g, p));
	/* Claimed once only. */
	other.p = p;
	ASSERT_EQ(0, pthread_create(&tt, NULL, claim_fn, &other));
	ASSERT_EQ(0, pthread_join(tt, NULL));
	ASSERT_EQ(-EINVAL, other.ret);
	ASSERT_EQ(nm.m, *GMP_P_FIELD(&self->g, p, m, int32_t));
	__atomic_store_n(&nm.leave, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_join(nt, NULL));
}

static void on_usr1(int sig)
{
}

/*
 * A signal takes the template thread out of NEWM_WAIT (EINTR); with nobody
 * waiting, a P that needs a new M goes idle instead of being reserved.
 */
TEST_F(sysmon, newm_wait_signal)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct tmpl t = { .g = &self->g };
	pthread_t tt;
	int p;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, pthread_create(&tt, NULL, tmpl_fn, &t));
	ASSERT_TRUE(GMP_WAIT_UNTIL(newm_waiters(&self->g) == 1));
	ASSERT_EQ(0, pthread_kill(tt, SIGUSR1));
	ASSERT_EQ(0, pthread_join(tt, NULL));
	ASSERT_EQ(-EINTR, t.ret);
	ASSERT_EQ(0, newm_waiters(&self->g));
	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	gmp_ring_put(&self->g, p, 0x51);
	enter_syscall(&self->g, p, self->m);
	ASSERT_TRUE(GMP_WAIT_UNTIL(NPIDLE(&self->g) == variant->nprocs));
	ASSERT_EQ(GMP_P_IDLE, *gmp_p_status(&self->g, p));
	/* The G is still there for whoever takes the P. */
	ASSERT_EQ(0x51, gmp_ring_get(&self->g, p));
}

/*
 * GMP_SETUP_TEMPLATE: a P to hand off while no M is idle and the template
 * thread is not (yet) waiting stays reserved for it, with its work, and the
 * template thread finds it when it comes.  (Without the flag it would go
 * idle, as newm_wait_signal shows: the runtime hung that way at start-up.)
 */
TEST(newm_queued_for_a_template_not_yet_waiting)
{
	struct gmp_inst g;
	struct tmpl t = { .g = &g };
	uint32_t m;
	pthread_t tt;
	int p;

	ASSERT_EQ(0, gmp_inst_open(&g, 1, GMP_SETUP_TEMPLATE));
	ASSERT_TRUE(g.prm.features & GMP_FEAT_TEMPLATE);
	ASSERT_EQ(0, gmp_sysmon_start(&g));
	ASSERT_EQ(0, gmp_register(&g, &m));
	ASSERT_EQ(0, gmp_acquire(&g, m, GMP_NONE, &p));
	gmp_ring_put(&g, p, 0x7e1);
	enter_syscall(&g, p, m);
	/* Sysmon retakes it; no M idle, nobody waiting: reserved, not idle. */
	ASSERT_TRUE(GMP_WAIT_UNTIL(*GMP_P_FIELD(&g, p, m, int32_t) == GMP_NONE &&
				   *gmp_p_status(&g, p) == GMP_P_RUNNING));
	usleep(50 * 1000);	/* several sysmon rounds: it stays so */
	ASSERT_EQ(0, NPIDLE(&g));
	ASSERT_FALSE(exit_syscall(&g, p, m));
	ASSERT_EQ(0, pthread_create(&tt, NULL, tmpl_fn, &t));
	ASSERT_EQ(0, pthread_join(tt, NULL));
	ASSERT_EQ(0, t.ret);
	ASSERT_EQ(p, t.p);
	gmp_inst_close(&g);
}

/* A P reserved by a wake that found no idle M, released: idle again. */
TEST_F(sysmon, reserved_p_released)
{
	struct gmp_wake w;
	int p;

	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	ASSERT_EQ(0, gmp_wake(&self->g, self->m, GMP_WAKE_HANDOFF, 0, 0, &w));
	ASSERT_EQ(GMP_WOKE_NEWM, w.result);
	ASSERT_EQ(p, w.p);
	ASSERT_EQ(GMP_NONE, w.target);
	ASSERT_EQ(GMP_NONE, *GMP_P_FIELD(&self->g, p, m, int32_t));
	ASSERT_EQ(variant->nprocs - 1, NPIDLE(&self->g));
	/* The new thread could not be made: give the P back. */
	ASSERT_EQ(0, gmp_release(&self->g, self->m, p));
	ASSERT_EQ(variant->nprocs, NPIDLE(&self->g));
	ASSERT_EQ(GMP_P_IDLE, *gmp_p_status(&self->g, p));
	ASSERT_EQ(-EINVAL, gmp_release(&self->g, self->m, p));
}

TEST_HARNESS_MAIN
