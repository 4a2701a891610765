// SPDX-License-Identifier: GPL-2.0
/*
 * GMP_IOC_PARK and GMP_IOC_WAKE: Go's stopm/notesleep and startm/notewakeup.
 *
 * Ping-pong with no lost wakeup, wake-before-park, the deadline, a signal
 * and SIGKILL while parked, the rechecks park does before sleeping, every
 * result of wake, and the idle counters against what the tests know.  The
 * same tests for 1, 2 and 4 Ps (4 > the VM's 2 vCPUs).
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include "gmp_util.h"
#include "kselftest_harness.h"

FIXTURE(park) {
	struct gmp_inst g;
	uint32_t m;		/* the main thread's M */
};

FIXTURE_VARIANT(park) {
	unsigned int nprocs;
};

FIXTURE_VARIANT_ADD(park, nprocs1) { .nprocs = 1 };
FIXTURE_VARIANT_ADD(park, nprocs2) { .nprocs = 2 };
FIXTURE_VARIANT_ADD(park, nprocs4) { .nprocs = 4 };

FIXTURE_SETUP(park)
{
	ASSERT_EQ(0, gmp_inst_open(&self->g, variant->nprocs, 0));
	ASSERT_EQ(variant->nprocs, self->g.prm.nprocs);
	ASSERT_EQ(0, gmp_register(&self->g, &self->m));
}

FIXTURE_TEARDOWN(park)
{
	gmp_inst_close(&self->g);
}

#define NPIDLE(g)	GMP_SCHED_U32(g, npidle)
#define NMIDLE(g)	GMP_SCHED_U32(g, nmidle)

/* ---- ping-pong -------------------------------------------------------- */

struct pong {
	struct gmp_inst *g;
	int rounds;
	uint32_t peer;		/* the main thread's M */
	volatile uint32_t m;
	volatile int ready;
	int err;		/* first failing round + 1, or 0 */
	int errno_;
};

/* Park, get the P, hand it back to the peer with a targeted wake. */
static void *pong_fn(void *arg)
{
	struct pong *pp = arg;
	struct gmp_park out;
	struct gmp_wake w;
	uint32_t m;
	int i, ret;

	if (gmp_register(pp->g, &m)) {
		pp->err = -1;
		return NULL;
	}
	pp->m = m;
	__atomic_store_n(&pp->ready, 1, __ATOMIC_RELEASE);
	for (i = 0; i < pp->rounds; i++) {
		ret = gmp_park(pp->g, m, 0, 0, &out);
		if (ret || out.result != GMP_PARKED_WOKEN || out.p == GMP_NONE) {
			pp->err = i + 1;
			pp->errno_ = ret;
			return NULL;
		}
		ret = gmp_wake(pp->g, m, GMP_WAKE_HANDOFF | GMP_WAKE_TARGET, 0,
			       pp->peer, &w);
		if (ret || w.result != GMP_WOKE_M || w.p != out.p) {
			pp->err = i + 1;
			pp->errno_ = ret;
			return NULL;
		}
	}
	return NULL;
}

/*
 * 100k round trips: every wake must reach its M whether it comes before or
 * after the park (the two threads race freely).  A lost wakeup hangs the
 * test, which the harness's timeout turns into a failure.
 */
TEST_F_TIMEOUT(park, pingpong_100k, 120)
{
	struct pong pp = { .g = &self->g, .rounds = 100000, .peer = self->m };
	struct gmp_park out;
	struct gmp_wake w;
	uint64_t t0, t1;
	pthread_t t;
	int p, i;

	/* A tenth at a reduced volume (KASAN and lockdep: the timeout). */
	pp.rounds = vm_volume(pp.rounds);
	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	ASSERT_EQ(0, p);
	ASSERT_EQ(0, pthread_create(&t, NULL, pong_fn, &pp));
	ASSERT_TRUE(GMP_WAIT_UNTIL(__atomic_load_n(&pp.ready, __ATOMIC_ACQUIRE)));
	t0 = gmp_mono_ns();
	for (i = 0; i < pp.rounds; i++) {
		ASSERT_EQ(0, gmp_wake(&self->g, self->m,
				      GMP_WAKE_HANDOFF | GMP_WAKE_TARGET, 0, pp.m,
				      &w)) TH_LOG("round %d", i);
		ASSERT_EQ(GMP_WOKE_M, w.result);
		ASSERT_EQ(pp.m, w.target);
		ASSERT_EQ(0, gmp_park(&self->g, self->m, 0, 0, &out))
			TH_LOG("round %d", i);
		ASSERT_EQ(GMP_PARKED_WOKEN, out.result);
		ASSERT_EQ(0, out.p);
		if (pp.err)
			break;
	}
	t1 = gmp_mono_ns();
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, pp.err) TH_LOG("ponger failed at round %d: %d", pp.err,
				    pp.errno_);
	TH_LOG("park/wake round trip: %.2f us (%d rounds, %.2f s)",
	       (t1 - t0) / 1000.0 / pp.rounds, pp.rounds, (t1 - t0) / 1e9);
	/* Both Ms are back where they started: main holds P0, none idle. */
	ASSERT_EQ(self->g.prm.nprocs - 1, NPIDLE(&self->g));
	ASSERT_EQ(0, NMIDLE(&self->g));
	ASSERT_EQ(self->m, *GMP_P_FIELD(&self->g, 0, m, int32_t));
}

/* ---- wake before park -------------------------------------------------- */

/*
 * A targeted wake at an M that has not parked yet waits in its note: the
 * P is handed over at once, and the park that comes later returns with it.
 */
TEST_F(park, wake_before_park)
{
	struct gmp_parker pk = { .gated = 1 };
	struct gmp_wake w;
	int p;

	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(pk.registered));

	ASSERT_EQ(0, gmp_wake(&self->g, self->m,
			      GMP_WAKE_HANDOFF | GMP_WAKE_TARGET, 0, pk.m, &w));
	ASSERT_EQ(GMP_WOKE_M, w.result);
	ASSERT_EQ(p, w.p);
	ASSERT_EQ(pk.m, w.target);
	/* The P is the target's already; the waker holds none. */
	ASSERT_EQ(pk.m, *GMP_P_FIELD(&self->g, p, m, int32_t));
	ASSERT_EQ(GMP_P_RUNNING, *gmp_p_status(&self->g, p));
	ASSERT_EQ(0, NMIDLE(&self->g));
	ASSERT_EQ(self->g.prm.nprocs - 1, NPIDLE(&self->g));
	ASSERT_EQ(-EINVAL, gmp_wake(&self->g, self->m, GMP_WAKE_HANDOFF, 0, 0,
				    NULL));
	/* A second wake while one is pending: EBUSY, nothing taken. */
	if (self->g.prm.nprocs > 1) {
		ASSERT_EQ(-EBUSY, gmp_wake(&self->g, self->m, GMP_WAKE_TARGET,
					   0, pk.m, NULL));
	}
	ASSERT_EQ(self->g.prm.nprocs - 1, NPIDLE(&self->g));

	__atomic_store_n(&pk.gate, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, gmp_parker_join(&pk));
	ASSERT_EQ(0, pk.ret);
	ASSERT_EQ(GMP_PARKED_WOKEN, pk.out.result);
	ASSERT_EQ(p, pk.out.p);
	ASSERT_EQ(0, NMIDLE(&self->g));
}

/* ---- park releases, rechecks ------------------------------------------- */

/* The P a parking M holds goes back to the idle list, counters follow. */
TEST_F(park, park_releases_p)
{
	struct gmp_parker pk = { .acquire = 1, .linger = 1 };
	struct gmp_wake w;
	int n = self->g.prm.nprocs;

	ASSERT_EQ(n, NPIDLE(&self->g));
	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(NMIDLE(&self->g) == 1));
	ASSERT_EQ(0, pk.acq_ret);
	ASSERT_EQ(n, NPIDLE(&self->g));
	ASSERT_EQ(GMP_P_IDLE, *gmp_p_status(&self->g, 0));
	ASSERT_EQ(GMP_NONE, *GMP_P_FIELD(&self->g, 0, m, int32_t));
	/* Untargeted wake: any idle P (P0 first), the one idle M. */
	ASSERT_EQ(0, gmp_wake(&self->g, self->m, 0, 0, 0, &w));
	ASSERT_EQ(GMP_WOKE_M, w.result);
	ASSERT_EQ(0, w.p);
	ASSERT_EQ(pk.m, w.target);
	ASSERT_TRUE(GMP_WAIT_UNTIL(pk.done));
	ASSERT_EQ(0, pk.ret);
	ASSERT_EQ(GMP_PARKED_WOKEN, pk.out.result);
	ASSERT_EQ(0, pk.out.p);
	ASSERT_EQ(0, pk.out.oflags);
	ASSERT_EQ(n - 1, NPIDLE(&self->g));
	ASSERT_EQ(0, NMIDLE(&self->g));
	ASSERT_EQ(pk.m, *GMP_P_FIELD(&self->g, 0, m, int32_t));
	ASSERT_EQ(0, gmp_parker_join(&pk));
}

/* Work in the global queue: park returns at once, holding a P. */
TEST_F(park, park_sees_global_work)
{
	uint64_t gh = 0x1234;
	struct gmp_park out;
	int p;

	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	ASSERT_EQ(0, gmp_runq_put(&self->g, &gh, 1));
	ASSERT_EQ(0, gmp_park(&self->g, self->m, 0, 0, &out));
	ASSERT_EQ(GMP_PARKED_WORK, out.result);
	ASSERT_NE(GMP_NONE, out.p);
	ASSERT_EQ(0, NMIDLE(&self->g));
	ASSERT_EQ(self->m, *GMP_P_FIELD(&self->g, out.p, m, int32_t));
}

/*
 * Go's "check all runqueues once again": a spinning M parks while a G sits
 * in a P's ring; it comes back with a P, spinning again (nmspinning back).
 */
TEST_F(park, park_spinning_sees_ring_work)
{
	struct gmp_park out;
	int p;

	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	gmp_ring_put(&self->g, p, 0x77);
	__atomic_store_n(gmp_nmspinning(&self->g), 1, __ATOMIC_SEQ_CST);
	ASSERT_EQ(0, gmp_park(&self->g, self->m, GMP_PARK_SPINNING, 0, &out));
	ASSERT_EQ(GMP_PARKED_WORK, out.result);
	ASSERT_EQ(GMP_PARKED_SPINNING, out.oflags);
	ASSERT_NE(GMP_NONE, out.p);
	ASSERT_EQ(1, __atomic_load_n(gmp_nmspinning(&self->g), __ATOMIC_SEQ_CST));
	ASSERT_EQ(0x77, gmp_ring_get(&self->g, p));
}

/*
 * A non-spinning M that parks with Gs left in its own P's ring would strand
 * them on an idle P (Go throws "pidleput: P has non-empty run queue"): park
 * keeps the P and says there is work.
 */
TEST_F(park, park_with_own_ring_work)
{
	struct gmp_park out;
	int p;

	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	gmp_ring_put(&self->g, p, 0x99);
	ASSERT_EQ(0, gmp_park(&self->g, self->m, 0, 0, &out));
	ASSERT_EQ(GMP_PARKED_WORK, out.result);
	ASSERT_EQ(p, out.p);
	ASSERT_EQ(0x99, gmp_ring_get(&self->g, p));
	/* runnext counts too. */
	*GMP_P_FIELD(&self->g, p, runnext, uint64_t) = 0x98;
	ASSERT_EQ(0, gmp_park(&self->g, self->m, 0, 0, &out));
	ASSERT_EQ(GMP_PARKED_WORK, out.result);
	ASSERT_EQ(p, out.p);
}

/* ---- wake's results --------------------------------------------------- */

/* A spinning wake: the woken M says so; the caller's nmspinning stays. */
TEST_F(park, wake_spinning)
{
	struct gmp_parker pk = { .linger = 1 };
	struct gmp_wake w;

	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(NMIDLE(&self->g) == 1));
	/* wakep: the caller won the CAS of nmspinning 0 -> 1. */
	__atomic_store_n(gmp_nmspinning(&self->g), 1, __ATOMIC_SEQ_CST);
	ASSERT_EQ(0, gmp_wake(&self->g, self->m, GMP_WAKE_SPINNING, 0, 0, &w));
	ASSERT_EQ(GMP_WOKE_M, w.result);
	ASSERT_TRUE(GMP_WAIT_UNTIL(pk.done));
	ASSERT_EQ(GMP_PARKED_WOKEN, pk.out.result);
	ASSERT_EQ(GMP_PARKED_SPINNING, pk.out.oflags);
	ASSERT_EQ(w.p, pk.out.p);
	ASSERT_EQ(1, *gmp_nmspinning(&self->g));
	ASSERT_EQ(0, gmp_parker_join(&pk));
}

/* No idle P: nothing done, and a spinning wake gives nmspinning back. */
TEST_F(park, wake_noproc)
{
	struct gmp_parker hold[4] = { 0 };
	struct gmp_wake w;
	int i, n = self->g.prm.nprocs;

	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, NULL));
	for (i = 0; i < n - 1; i++) {
		hold[i].acquire = 1;
		hold[i].gated = 1;
		ASSERT_EQ(0, gmp_parker_start(&hold[i], &self->g));
	}
	ASSERT_TRUE(GMP_WAIT_UNTIL(NPIDLE(&self->g) == 0));
	ASSERT_EQ(0, gmp_wake(&self->g, self->m, 0, 0, 0, &w));
	ASSERT_EQ(GMP_WOKE_NOPROC, w.result);
	ASSERT_EQ(GMP_NONE, w.p);
	__atomic_store_n(gmp_nmspinning(&self->g), 1, __ATOMIC_SEQ_CST);
	ASSERT_EQ(0, gmp_wake(&self->g, self->m, GMP_WAKE_SPINNING, 0, 0, &w));
	ASSERT_EQ(GMP_WOKE_NOPROC, w.result);
	ASSERT_EQ(0, *gmp_nmspinning(&self->g));
	/* A specific P that is held: NOPROC too. */
	ASSERT_EQ(0, gmp_wake(&self->g, self->m, GMP_WAKE_PROC, 0, 0, &w));
	ASSERT_EQ(GMP_WOKE_NOPROC, w.result);
	gmp_inst_close(&self->g);
	for (i = 0; i < n - 1; i++) {
		__atomic_store_n(&hold[i].gate, 1, __ATOMIC_RELEASE);
		ASSERT_EQ(0, gmp_parker_join(&hold[i]));
	}
}

/* GMP_WAKE_PROC hands over the P asked for; no idle M: it is reserved. */
TEST_F(park, wake_proc_and_newm)
{
	struct gmp_parker pk = { .linger = 1 };
	struct gmp_wake w;
	int n = self->g.prm.nprocs, want = n - 1;

	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(NMIDLE(&self->g) == 1));
	ASSERT_EQ(0, gmp_wake(&self->g, self->m, GMP_WAKE_PROC, want, 0, &w));
	ASSERT_EQ(GMP_WOKE_M, w.result);
	ASSERT_EQ(want, w.p);
	ASSERT_EQ(pk.m, w.target);
	ASSERT_TRUE(GMP_WAIT_UNTIL(pk.done));
	ASSERT_EQ(want, pk.out.p);
	ASSERT_EQ(n - 1, NPIDLE(&self->g));
	if (n > 1) {
		/* Nobody parked now: the next wake reserves a P for a new M. */
		ASSERT_EQ(0, gmp_wake(&self->g, self->m, 0, 0, 0, &w));
		ASSERT_EQ(GMP_WOKE_NEWM, w.result);
		ASSERT_EQ(GMP_NONE, w.target);
		ASSERT_NE(GMP_NONE, w.p);
		ASSERT_EQ(n - 2, NPIDLE(&self->g));
		ASSERT_EQ(GMP_NONE, *GMP_P_FIELD(&self->g, w.p, m, int32_t));
		ASSERT_EQ(GMP_P_RUNNING, *gmp_p_status(&self->g, w.p));
	}
	ASSERT_EQ(0, gmp_parker_join(&pk));
}

/* ---- deadline ------------------------------------------------------------ */

TEST_F(park, deadline_past)
{
	struct gmp_park out;
	int p;

	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	ASSERT_EQ(0, gmp_park(&self->g, self->m, GMP_PARK_DEADLINE, 1, &out));
	ASSERT_EQ(GMP_PARKED_TIMEOUT, out.result);
	/* It released its P and took an idle one back. */
	ASSERT_NE(GMP_NONE, out.p);
	ASSERT_EQ(self->g.prm.nprocs - 1, NPIDLE(&self->g));
	ASSERT_EQ(0, NMIDLE(&self->g));
}

/* A deadline of 0 is long past too, not "no deadline" (it once slept). */
TEST_F(park, deadline_zero)
{
	struct gmp_parker pk = { .flags = GMP_PARK_DEADLINE, .deadline = 0 };

	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(pk.done));
	ASSERT_EQ(0, gmp_parker_join(&pk));
	ASSERT_EQ(0, pk.ret);
	ASSERT_EQ(GMP_PARKED_TIMEOUT, pk.out.result);
	ASSERT_NE(GMP_NONE, pk.out.p);
}

/*
 * GMP_FEAT_TIMERS: park sleeps no later than the earliest timer0when of any
 * P, and comes back with a P to run it.
 */
TEST_F(park, sleeps_until_earliest_timer)
{
	int n = self->g.prm.nprocs;
	uint64_t *tw = GMP_P_FIELD(&self->g, n - 1, timer0when, uint64_t);
	uint64_t t0 = gmp_mono_ns();
	struct gmp_park out;

	ASSERT_TRUE(self->g.prm.features & GMP_FEAT_TIMERS);
	__atomic_store_n(tw, t0 + 20 * 1000000ull, __ATOMIC_SEQ_CST);
	ASSERT_EQ(0, gmp_park(&self->g, self->m, 0, 0, &out));
	ASSERT_LE(t0 + 20 * 1000000ull, gmp_mono_ns());
	ASSERT_EQ(GMP_PARKED_TIMEOUT, out.result);
	ASSERT_NE(GMP_NONE, out.p);
	/* A due timer: park returns at once, with a P, as for work. */
	ASSERT_EQ(0, gmp_park(&self->g, self->m, 0, 0, &out));
	ASSERT_EQ(GMP_PARKED_WORK, out.result);
	ASSERT_NE(GMP_NONE, out.p);
	__atomic_store_n(tw, 0, __ATOMIC_SEQ_CST);
}

TEST_F(park, deadline_sleeps_then_times_out)
{
	struct gmp_park out;
	uint64_t t0 = gmp_mono_ns();

	ASSERT_EQ(0, gmp_park(&self->g, self->m, GMP_PARK_DEADLINE,
			      t0 + 20 * 1000000ull, &out));
	ASSERT_EQ(GMP_PARKED_TIMEOUT, out.result);
	/* Not before the deadline. */
	ASSERT_LE(t0 + 20 * 1000000ull, gmp_mono_ns());
	ASSERT_NE(GMP_NONE, out.p);
	ASSERT_EQ(0, NMIDLE(&self->g));
	ASSERT_EQ(self->g.prm.nprocs - 1, NPIDLE(&self->g));
}

/* Every P busy: the deadline passes and no P comes with it. */
TEST_F(park, deadline_no_idle_p)
{
	struct gmp_parker hold[4] = { 0 }, pk = { .flags = GMP_PARK_DEADLINE };
	int i, n = self->g.prm.nprocs;

	/* Main holds one P, gated threads the others. */
	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, NULL));
	for (i = 0; i < n - 1; i++) {
		hold[i].acquire = 1;
		hold[i].gated = 1;
		ASSERT_EQ(0, gmp_parker_start(&hold[i], &self->g));
		ASSERT_TRUE(GMP_WAIT_UNTIL(hold[i].parking || hold[i].registered));
	}
	ASSERT_TRUE(GMP_WAIT_UNTIL(NPIDLE(&self->g) == 0));
	pk.deadline = gmp_mono_ns() + 10 * 1000000ull;
	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_EQ(0, gmp_parker_join(&pk));
	ASSERT_EQ(0, pk.ret);
	ASSERT_EQ(GMP_PARKED_TIMEOUT, pk.out.result);
	ASSERT_EQ(GMP_NONE, pk.out.p);
	ASSERT_EQ(0, NMIDLE(&self->g));
	ASSERT_EQ(0, NPIDLE(&self->g));
	/* Let the holders park; closing the instance wakes them (ESHUTDOWN). */
	for (i = 0; i < n - 1; i++)
		__atomic_store_n(&hold[i].gate, 1, __ATOMIC_RELEASE);
	ASSERT_TRUE(GMP_WAIT_UNTIL(NMIDLE(&self->g) == n - 1));
	ASSERT_EQ(n - 1, NPIDLE(&self->g));
	gmp_inst_close(&self->g);
	for (i = 0; i < n - 1; i++) {
		ASSERT_EQ(0, gmp_parker_join(&hold[i]));
		ASSERT_EQ(-ESHUTDOWN, hold[i].ret);
	}
}

/* A far deadline (even U64_MAX) is a deadline that never comes. */
TEST_F(park, deadline_far)
{
	struct gmp_parker pk = { .flags = GMP_PARK_DEADLINE,
				 .deadline = UINT64_MAX };
	struct gmp_wake w;

	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(NMIDLE(&self->g) == 1));
	usleep(50000);
	ASSERT_EQ(0, pk.done);
	ASSERT_EQ(1, NMIDLE(&self->g));
	ASSERT_EQ(0, gmp_wake(&self->g, self->m, GMP_WAKE_TARGET, 0, pk.m, &w));
	ASSERT_EQ(GMP_WOKE_M, w.result);
	ASSERT_EQ(0, gmp_parker_join(&pk));
	ASSERT_EQ(0, pk.ret);
	ASSERT_EQ(GMP_PARKED_WOKEN, pk.out.result);
	ASSERT_EQ(w.p, pk.out.p);
}

/* ---- signals ------------------------------------------------------------- */

static void on_usr1(int sig)
{
}

/* A signal: -EINTR, the M off the idle list, holding no P; it parks again. */
TEST_F(park, signal_while_parked)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	struct gmp_parker pk = { .acquire = 1 };
	int n = self->g.prm.nprocs;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(NMIDLE(&self->g) == 1));
	ASSERT_EQ(0, pthread_kill(pk.t, SIGUSR1));
	ASSERT_EQ(0, gmp_parker_join(&pk));
	ASSERT_EQ(-EINTR, pk.ret);
	ASSERT_EQ(0, NMIDLE(&self->g));
	ASSERT_EQ(n, NPIDLE(&self->g));
	/* The M is still registered and usable: the test thread is gone, so
	 * the next parker is a new M; the old id is reaped when needed. */
	memset(&pk, 0, sizeof(pk));
	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(NMIDLE(&self->g) == 1));
	ASSERT_EQ(0, gmp_wake(&self->g, self->m, 0, 0, 0, NULL));
	ASSERT_EQ(0, gmp_parker_join(&pk));
	ASSERT_EQ(GMP_PARKED_WOKEN, pk.out.result);
}

/* Read "key=N" from a debugfs sched file. */
static long debugfs_val(unsigned int inst, const char *key)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/debug/gmp/%u/sched", inst);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return gmp_trace_val(buf, key);
}

/*
 * SIGKILL while parked: the process dies and is reaped, its instance goes
 * away (the module unloads at the end of the run: the runner checks).
 */
TEST_F(park, sigkill_while_parked)
{
	unsigned int inst;
	int pfd[2], status;
	pid_t pid;

	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct gmp_inst cg;
		uint32_t cm;

		if (gmp_inst_open(&cg, self->g.prm.nprocs, 0) ||
		    gmp_register(&cg, &cm) ||
		    gmp_acquire(&cg, cm, GMP_NONE, NULL))
			_exit(1);
		if (write(pfd[1], &cg.prm.instance, sizeof(cg.prm.instance)) < 0)
			_exit(1);
		gmp_park(&cg, cm, 0, 0, NULL);
		_exit(2);
	}
	close(pfd[1]);
	ASSERT_EQ(sizeof(inst), read(pfd[0], &inst, sizeof(inst)));
	ASSERT_TRUE(GMP_WAIT_UNTIL(debugfs_val(inst, "idlethreads") == 1));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGKILL, WTERMSIG(status));
	/* Its instance is gone. */
	ASSERT_TRUE(GMP_WAIT_UNTIL(debugfs_val(inst, "gomaxprocs") == -1));
}

/* ---- GMP_PARK_LOCKED: Go's stoplockedm / startlockedm ------------------- */

/* The M line of @m in a detailed schedtrace has "locked=1". */
static int m_locked(struct gmp_inst *g, uint32_t m)
{
	static char buf[1 << 16];
	char pat[32];
	const char *at;

	if (gmp_schedtrace(g, buf, sizeof(buf), GMP_TRACE_DETAIL) < 0)
		return -1;
	snprintf(pat, sizeof(pat), "\n  M%u: ", m);
	at = strstr(buf, pat);
	if (!at)
		return -1;
	at = strstr(at, " locked=");
	return at ? atoi(at + 8) : -1;
}

/*
 * A locked park hands the M's P off and sleeps off the idle list: an
 * ordinary wake does not find it (it asks for a new M instead); only a
 * targeted one does, and hands it a P.
 */
TEST_F(park, locked_park_waits_for_its_target)
{
	struct gmp_parker pk = { .flags = GMP_PARK_LOCKED, .acquire = 1 };
	int n = self->g.prm.nprocs, p;
	struct gmp_wake w;

	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(pk.registered && m_locked(&self->g, pk.m) == 1));
	ASSERT_EQ(0, pk.acq_ret);
	ASSERT_EQ(n, NPIDLE(&self->g));		/* its P was handed off: idle */
	ASSERT_EQ(0, NMIDLE(&self->g));		/* and it is not an idle M */
	ASSERT_EQ(0, gmp_wake(&self->g, self->m, 0, 0, 0, &w));
	ASSERT_EQ(GMP_WOKE_NEWM, w.result);
	ASSERT_EQ(0, gmp_release(&self->g, self->m, w.p));
	ASSERT_EQ(0, __atomic_load_n(&pk.done, __ATOMIC_ACQUIRE));
	ASSERT_EQ(1, m_locked(&self->g, pk.m));

	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	ASSERT_EQ(0, gmp_wake(&self->g, self->m,
			      GMP_WAKE_HANDOFF | GMP_WAKE_TARGET, 0, pk.m, &w));
	ASSERT_EQ(GMP_WOKE_M, w.result);
	ASSERT_EQ(0, gmp_parker_join(&pk));
	ASSERT_EQ(0, pk.ret);
	ASSERT_EQ(GMP_PARKED_WOKEN, pk.out.result);
	ASSERT_EQ(p, pk.out.p);
	ASSERT_EQ(n - 1, NPIDLE(&self->g));
}

/* Closing the instance wakes a locked M too. */
TEST_F(park, locked_park_shutdown)
{
	struct gmp_parker pk = { .flags = GMP_PARK_LOCKED };

	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(pk.registered && m_locked(&self->g, pk.m) == 1));
	gmp_inst_close(&self->g);
	ASSERT_EQ(0, gmp_parker_join(&pk));
	ASSERT_EQ(-ESHUTDOWN, pk.ret);
}

/* A signal ends it with EINTR, off every list. */
TEST_F(park, locked_park_signal)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	struct gmp_parker pk = { .flags = GMP_PARK_LOCKED };
	struct gmp_wake w;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(pk.registered && m_locked(&self->g, pk.m) == 1));
	ASSERT_EQ(0, pthread_kill(pk.t, SIGUSR1));
	ASSERT_TRUE(GMP_WAIT_UNTIL(__atomic_load_n(&pk.done, __ATOMIC_ACQUIRE)));
	ASSERT_EQ(-EINTR, pk.ret);
	ASSERT_EQ(0, m_locked(&self->g, pk.m));
	/* A wake aimed at it now leaves a note, and finds nobody asleep. */
	ASSERT_EQ(0, gmp_wake(&self->g, self->m, GMP_WAKE_TARGET, 0, pk.m, &w));
	ASSERT_EQ(GMP_WOKE_M, w.result);
	ASSERT_EQ(0, gmp_parker_join(&pk));
}

/*
 * A locked park leaves nmspinning alone.  Once an M takes a spinning wake,
 * the count is user space's: resetspinning drops it before the M runs a G,
 * and a locked M parks after running its G.  gmp.ko used to drop it again
 * in the locked park of an M whose last wake was a spinning one, which
 * took another spinner's count: rt_interop_test's locked G at 4 Ps then
 * met "findrunnable: negative nmspinning" (2026-12-07).
 */
struct spin_then_lock {
	struct gmp_inst *g;
	volatile uint32_t m;
	volatile int registered, woke, go;
	struct gmp_park first, second;
	int ret1, ret2;
};

static void *spin_then_lock_fn(void *arg)
{
	struct spin_then_lock *st = arg;
	uint32_t m;

	if (gmp_register(st->g, &m))
		return NULL;
	st->m = m;
	__atomic_store_n(&st->registered, 1, __ATOMIC_RELEASE);
	st->ret1 = gmp_park(st->g, m, 0, 0, &st->first);
	/* resetspinning: it found work, it spins no more. */
	__atomic_fetch_sub(gmp_nmspinning(st->g), 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&st->woke, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&st->go, __ATOMIC_ACQUIRE))
		usleep(100);
	st->ret2 = gmp_park(st->g, m, GMP_PARK_LOCKED, 0, &st->second);
	if (!st->ret2)
		gmp_release(st->g, m, st->second.p);
	return NULL;
}

TEST_F(park, locked_park_leaves_nmspinning_alone)
{
	struct spin_then_lock st = { .g = &self->g };
	uint32_t *spin = gmp_nmspinning(&self->g);
	struct gmp_wake w;
	pthread_t t;
	int p;

	ASSERT_EQ(0, pthread_create(&t, NULL, spin_then_lock_fn, &st));
	ASSERT_TRUE(GMP_WAIT_UNTIL(st.registered && NMIDLE(&self->g) == 1));
	/* wakep: nmspinning 0 -> 1, then a spinning wake of the idle M. */
	ASSERT_EQ(0, __atomic_load_n(spin, __ATOMIC_SEQ_CST));
	__atomic_store_n(spin, 1, __ATOMIC_SEQ_CST);
	ASSERT_EQ(0, gmp_wake(&self->g, self->m, GMP_WAKE_SPINNING, 0, 0, &w));
	ASSERT_EQ(GMP_WOKE_M, w.result);
	ASSERT_TRUE(GMP_WAIT_UNTIL(__atomic_load_n(&st.woke, __ATOMIC_ACQUIRE)));
	ASSERT_EQ(0, st.ret1);
	ASSERT_EQ(GMP_PARKED_SPINNING, st.first.oflags);
	ASSERT_EQ(0, __atomic_load_n(spin, __ATOMIC_SEQ_CST));
	/* Another M spins now: the locked park must not count it out. */
	__atomic_store_n(spin, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&st.go, 1, __ATOMIC_RELEASE);
	ASSERT_TRUE(GMP_WAIT_UNTIL(m_locked(&self->g, st.m) == 1));
	EXPECT_EQ(1, __atomic_load_n(spin, __ATOMIC_SEQ_CST));
	__atomic_store_n(spin, 0, __ATOMIC_SEQ_CST);
	/* startlockedm lets it go. */
	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	ASSERT_EQ(0, gmp_wake(&self->g, self->m, GMP_WAKE_HANDOFF | GMP_WAKE_TARGET, 0,
			      st.m, &w));
	ASSERT_EQ(GMP_WOKE_M, w.result);
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, st.ret2);
	ASSERT_EQ(p, st.second.p);
	EXPECT_EQ(0, __atomic_load_n(spin, __ATOMIC_SEQ_CST));
}

/* LOCKED is neither spinning nor timed. */
TEST_F(park, locked_park_flags)
{
	struct gmp_park a = { .m = self->m, .flags = GMP_PARK_LOCKED | GMP_PARK_SPINNING };

	ASSERT_EQ(-EINVAL, gmp_ioctl(self->g.fd, GMP_IOC_PARK, &a));
	a = (struct gmp_park){ .m = self->m, .deadline = 1,
			       .flags = GMP_PARK_LOCKED | GMP_PARK_DEADLINE };
	ASSERT_EQ(-EINVAL, gmp_ioctl(self->g.fd, GMP_IOC_PARK, &a));
	ASSERT_TRUE(self->g.prm.features & GMP_FEAT_LOCKED);
}

/*
 * The wake may come while the locked M still holds its P (its G was
 * readied on another P before it parked): the new P waits in its note, and
 * its park hands its own P off and returns at once with the new one.
 */
TEST(locked_target_still_holding_a_p)
{
	struct gmp_parker pk = { .flags = GMP_PARK_LOCKED, .acquire = 1, .gated = 1 };
	struct gmp_inst g;
	struct gmp_wake w;
	uint32_t m;
	int p, mine;

	ASSERT_EQ(0, gmp_inst_open(&g, 2, 0));
	ASSERT_EQ(0, gmp_register(&g, &m));
	ASSERT_EQ(0, gmp_parker_start(&pk, &g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(pk.registered && NPIDLE(&g) == 1));
	ASSERT_EQ(0, pk.acq_ret);
	mine = gmp_m_slot_p(&g, pk.m);
	ASSERT_LE(0, mine);
	ASSERT_EQ(0, gmp_acquire(&g, m, GMP_NONE, &p));
	ASSERT_NE(mine, p);
	ASSERT_EQ(0, gmp_wake(&g, m, GMP_WAKE_HANDOFF | GMP_WAKE_TARGET, 0, pk.m, &w));
	ASSERT_EQ(GMP_WOKE_M, w.result);
	ASSERT_EQ(p, w.p);
	ASSERT_EQ(0, NPIDLE(&g));
	__atomic_store_n(&pk.gate, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, gmp_parker_join(&pk));
	ASSERT_EQ(0, pk.ret);
	ASSERT_EQ(GMP_PARKED_WOKEN, pk.out.result);
	ASSERT_EQ(p, pk.out.p);
	ASSERT_EQ(1, NPIDLE(&g));		/* its old P, handed off: idle */
	ASSERT_EQ(GMP_P_IDLE, *gmp_p_status(&g, mine));
	gmp_inst_close(&g);
}

/* ---- GMP_RUNQ_WAKE: a G readied by a thread with no P ------------------ */

static int runq_put_flags(struct gmp_inst *g, uint64_t gh, uint32_t flags)
{
	struct gmp_runq a = { .gs = (uintptr_t)&gh, .n = 1, .flags = flags };

	return gmp_ioctl(g->fd, GMP_IOC_RUNQ_PUT, &a);
}

TEST_F(park, runq_put_wake_starts_an_m)
{
	struct gmp_parker pk = { 0 };
	uint64_t got[4];
	uint32_t n, total;

	ASSERT_EQ(-EINVAL, runq_put_flags(&self->g, 0x1000, 1U << 1));
	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(NMIDLE(&self->g) == 1));
	/* Without the flag nobody is woken (a P-holding M would find it). */
	ASSERT_EQ(0, runq_put_flags(&self->g, 0x1000, 0));
	usleep(20000);
	ASSERT_EQ(0, __atomic_load_n(&pk.done, __ATOMIC_ACQUIRE));
	ASSERT_EQ(0, runq_put_flags(&self->g, 0x2000, GMP_RUNQ_WAKE));
	ASSERT_EQ(0, gmp_parker_join(&pk));
	ASSERT_EQ(0, pk.ret);
	ASSERT_EQ(GMP_PARKED_WOKEN, pk.out.result);
	ASSERT_NE(GMP_NONE, pk.out.p);
	/* Both are still queued (a get takes its share: Go's globrunqget). */
	ASSERT_EQ(0, gmp_runq_get(&self->g, got, 4, &n));
	total = n;
	while (n && total < 3) {
		ASSERT_EQ(0, gmp_runq_get(&self->g, got, 4, &n));
		total += n;
	}
	ASSERT_EQ(2, total);
}

TEST_HARNESS_MAIN
