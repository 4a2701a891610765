// SPDX-License-Identifier: GPL-2.0
/*
 * libgmprt: the scheduler (Go's proc.go, in C, on gmp.ko).
 *
 * Goroutine scheduler
 * ===================
 * G is a goroutine, M a thread, P the right to run Gs: an M runs Gs only
 * while it holds a P, and there are exactly gomaxprocs Ps.  Each P has a
 * local run queue (a 256-slot ring plus runnext); overflow goes to the global
 * run queue.  gmp.ko owns the Ps and maps their rings into this process, so
 * the fast paths here are plain memory operations:
 *
 *   spawn (gmprt_go)   runqput on the current P, maybe wakep     no syscall
 *   yield              runqput at the tail, schedule             no syscall
 *   schedule           runqget from the local ring               no syscall
 *   steal              runqgrab from another P's ring (CAS)      no syscall
 *
 * and gmp.ko is entered only to sleep (park), to wake an M (wake), and to
 * use the global run queue (runqputslow, globrunqget), as Go's runtime only
 * takes sched.lock for those.
 *
 * Worker thread parking/unparking
 * ===============================
 * The tension (Go's own words): keep enough running Ms to use every P, but
 * park Ms to save CPU when there is not enough work, and wake them when work
 * appears, without a central lock.  Rejected: waking an M for every new G
 * (thundering herd, and a syscall per spawn); a lock around every run queue
 * (the contention Go's design exists to avoid).
 *
 * Chosen, Go's protocol: an M is "spinning" when it holds a P and looks for
 * work in other Ps' rings.  At most one M is woken per new G, and only when
 * nobody spins and some P is idle (wakep's CAS of nmspinning 0 -> 1), both
 * read from the shared pages without a syscall.  A spinning M that finds
 * work stops spinning and, if it was the last, wakes another (resetspinning)
 * so that work spreads one M at a time.  A spinning M that finds nothing
 * parks through gmp.ko, which releases its P, drops nmspinning and, behind
 * its barrier (B), rechecks every ring and the global queue before sleeping.
 * The submitter side is barrier (A) in wakep(): after publishing the G and
 * before reading npidle and nmspinning.  (A) and (B) make a Dekker pair:
 * either the submitter sees no spinning M and wakes one, or the parking M
 * sees the new G and comes back with a P (see the essay in kmod/park.c for
 * the kernel half and why no wakeup is lost).
 *
 * Who advances which index of a P's ring: the owner M advances runqtail
 * (runqput, and runqsteal into its own ring); anyone advances runqhead, by
 * CAS (runqget, runqgrab); runnext is set by the owner and taken by CAS.
 * gmp.ko only reads them.
 *
 * Differences from Go, and why:
 *  - Gosched puts the G on the local ring's tail, not the global queue:
 *    the global queue is a syscall away, and yield must not be.
 *  - Gs have fixed stacks (C cannot move them): see stack.c.
 *  - There is no GC and no netpoller; sysmon lives in gmp.ko.
 *  - The thread calling gmprt_main() does not become an M: it waits while
 *    the main G runs, so that gmprt_main() returns on the caller's thread.
 *
 * Each M runs schedule() on its own thread stack (Go's g0) and switches to a
 * G with gmprt_swapctx(); a G gets back to g0 with gmprt_mcall(fn), which
 * runs fn(g) on g0 once the G is off its stack (Go's mcall).
 */
#include <limits.h>
#include <sched.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "runtime.h"

struct gmprt_sched gmprt_sched = { .fd = -1 };
__thread struct m *gmprt_tls_m;

/* runtime.h says why this is never inlined (noipa: nor treated as pure). */
__attribute__((noinline, noipa)) struct m *gmprt_getm(void)
{
	return gmprt_tls_m;
}

#define RUNQ_MASK	(GMP_RUNQ_SIZE - 1)
#define GFREE_LOCAL_MAX	64		/* Go's gfput threshold */
#define GFREE_MOVE	32
#define GOIDCACHE	16		/* Go's _GoidCacheBatch */
#define GLOBAL_POLL	61		/* schedticks between global queue polls */
#define M0_STACK	(256 * 1024)	/* an M's own (g0) stack */
#define DEFAULT_STACK	(64 * 1024)

static void schedule(void) __attribute__((noreturn));

void gmprt_throw(const char *fmt, ...)
{
	va_list ap;

	fputs("gmprt: fatal error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(2);
}

/*
 * The child of a fork() has one thread and a copy of the runtime's memory,
 * but no instance: gmp.ko refuses every call on the parent's fd from
 * another process.  The child may exec or _exit (and make async-signal-
 * safe calls): every runtime call that needs the scheduler says so.
 */
static void atfork_child(void)
{
	sched.forked = 1;
	gmprt_tls_m = NULL;
}

void gmprt_forked_throw(const char *what)
{
	gmprt_throw("%s called in the child of a fork(): the child has no runtime (it may exec or _exit)",
		    what);
}

g_t *gmprt_mustg(const char *what)
{
	struct m *mp = getm();

	if (unlikely(sched.forked))
		gmprt_forked_throw(what);
	if (unlikely(!mp || !mp->curg))
		gmprt_throw("%s called from a thread that runs no G: only a G may call it (gmprt.h: \"From any thread\" names what other threads may call)",
			    what);
	return mp->curg;
}

static int futex(uint32_t *uaddr, int op, uint32_t val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

/* ---- local run queue (Go's runqput / runqget / runqgrab / runqsteal) ---- */

/* Put @gp on the global queue with @batch[0..n) ahead of it. */
static bool runqputslow(struct p *pp, g_t *gp, uint32_t h, uint32_t t)
{
	uint64_t batch[GMP_RUNQ_SIZE / 2 + 1];
	uint32_t i, n = (t - h) / 2;
	int err;

	if (n != GMP_RUNQ_SIZE / 2)
		gmprt_throw("runqputslow: queue is not full");
	for (i = 0; i < n; i++)
		batch[i] = load_relaxed(&pp->krunq[(h + i) & RUNQ_MASK]);
	if (!cas_acqrel(pp->krunqhead, h, h + n))
		return false;
	batch[n] = (uintptr_t)gp;
	err = gmprt_k_runqput(batch, n + 1, 0);
	if (err)
		gmprt_throw("global run queue: %s", strerror(-err));
	return true;
}

/*
 * gmprt_runqput() - put @gp on @pp's local queue; with @next, in runnext,
 * kicking the old runnext to the tail.  A full ring moves half of itself to
 * the global queue.  Only from the M that owns @pp.
 */
void gmprt_runqput(struct p *pp, g_t *gp, bool next)
{
	uint32_t h, t;

	if (next) {
		uint64_t old = load_relaxed(pp->krunnext);

		while (!__atomic_compare_exchange_n(CW(pp->krunnext), &old,
						    (uintptr_t)gp, false,
						    __ATOMIC_ACQ_REL,
						    __ATOMIC_RELAXED))
			;
		if (!old)
			return;
		gp = (g_t *)(uintptr_t)old;
	}
	for (;;) {
		h = load_acquire(pp->krunqhead);
		t = load_relaxed(pp->krunqtail);
		if (t - h < GMP_RUNQ_SIZE) {
			store_relaxed(&pp->krunq[t & RUNQ_MASK], (uintptr_t)gp);
			store_release(pp->krunqtail, t + 1);
			return;
		}
		if (runqputslow(pp, gp, h, t))
			return;
	}
}

/*
 * gmprt_runqget() - take a G from @pp's local queue; *@inherit: it was
 * runnext (it inherits the time slice).  Only from @pp's owner.
 */
g_t *gmprt_runqget(struct p *pp, bool *inherit)
{
	uint64_t next = load_relaxed(pp->krunnext);
	uint32_t h, t;
	uint64_t gp;

	if (next && cas_acqrel(pp->krunnext, next, 0)) {
		*inherit = true;
		return (g_t *)(uintptr_t)next;
	}
	*inherit = false;
	for (;;) {
		h = load_acquire(pp->krunqhead);
		t = load_relaxed(pp->krunqtail);
		if (t == h)
			return NULL;
		gp = load_relaxed(&pp->krunq[h & RUNQ_MASK]);
		if (cas_acqrel(pp->krunqhead, h, h + 1))
			return (g_t *)(uintptr_t)gp;
	}
}

/*
 * Wait RUNNEXT_GRACE_US, without a syscall (not even the clock's, which
 * is one where the TSC is unusable), for runnext @next to be taken.  The
 * wait is counted in cpu_relax() calls, so it is only as short as their
 * count is right: a PAUSE costs ~10 cycles on one x86 and ~140 on another,
 * and under QEMU's TCG each one leaves the translated code.  A fixed 4096
 * of them (what this was) spun ~1 ms under TCG (~0.2 ms at 140 cycles),
 * and a spinner woken onto the owner's CPU kept the owner from running
 * all that time: a locked G's ping-pong (bench lockedm) took 333 us a
 * round trip, 86 us with the count measured once, at start
 * (relax_calibrate; make bench, 2026-12-03), 91 us in the run that
 * bench/quoted/ holds.
 */
#define RUNNEXT_GRACE_US	3	/* Go's usleep(3) in runqgrab */

static void runnext_grace(struct p *pp, uint64_t next)
{
	uint32_t n = RUNNEXT_GRACE_US * sched.relax_per_us, i;

	for (i = 0; i < n; i++) {
		cpu_relax();
		if ((i & 15) == 15 && load_relaxed(pp->krunnext) != next)
			return;
	}
}

/*
 * relax_calibrate() - sched.relax_per_us: the best of three timings of 256
 * cpu_relax() (a preempted timing only makes the grace shorter).
 */
static void relax_calibrate(void)
{
	int64_t best = INT64_MAX, t0, dt;
	int round, i;

	for (round = 0; round < 3; round++) {
		t0 = gmprt_now();
		for (i = 0; i < 256; i++)
			cpu_relax();
		dt = gmprt_now() - t0;
		if (dt < best)
			best = dt;
	}
	if (best < 1)
		best = 1;
	sched.relax_per_us = (uint32_t)(256 * 1000 / best);
	if (sched.relax_per_us < 1)
		sched.relax_per_us = 1;
	if (sched.relax_per_us > 4096)
		sched.relax_per_us = 4096;
}

/*
 * Grab half of @pp's queue into @batch (a ring of GMP_RUNQ_SIZE, from
 * @bhead).  Return: how many.
 */
static uint32_t runqgrab(struct p *pp, uint64_t *batch, uint32_t bhead,
			 bool stealnext)
{
	for (;;) {
		uint32_t h = load_acquire(pp->krunqhead);
		uint32_t t = load_acquire(pp->krunqtail);
		uint32_t i, n = t - h;

		n = n - n / 2;
		if (n == 0) {
			uint64_t next;

			if (!stealnext)
				return 0;
			next = load_acquire(pp->krunnext);
			if (!next)
				return 0;
			/*
			 * The owner is likely about to run it (it was made
			 * runnable just now by a G that is about to block):
			 * give it a moment, as Go does (Go sleeps 3 us; a
			 * spin keeps stealing free of syscalls).
			 */
			if (load_relaxed(pp->kstatus) == GMP_P_RUNNING)
				runnext_grace(pp, next);
			if (!cas_acqrel(pp->krunnext, next, 0))
				continue;
			store_relaxed(&batch[bhead & RUNQ_MASK], next);
			return 1;
		}
		if (n > GMP_RUNQ_SIZE / 2)	/* read inconsistent h and t */
			continue;
		for (i = 0; i < n; i++)
			store_relaxed(&batch[(bhead + i) & RUNQ_MASK],
				      load_relaxed(&pp->krunq[(h + i) & RUNQ_MASK]));
		if (cas_acqrel(pp->krunqhead, h, h + n))
			return n;
	}
}

/*
 * gmprt_runqsteal() - steal half of @p2's queue into @pp's (runnext too,
 * with @stealnext).  Return: one G to run, or NULL.  Only from @pp's owner.
 */
g_t *gmprt_runqsteal(struct p *pp, struct p *p2, bool stealnext)
{
	uint32_t t = load_relaxed(pp->krunqtail), h, n;
	g_t *gp;

	n = runqgrab(p2, pp->krunq, t, stealnext);
	if (!n)
		return NULL;
	n--;
	gp = (g_t *)(uintptr_t)load_relaxed(&pp->krunq[(t + n) & RUNQ_MASK]);
	if (!n)
		return gp;
	h = load_acquire(pp->krunqhead);
	if (t - h + n >= GMP_RUNQ_SIZE)
		gmprt_throw("runqsteal: runq overflow");
	store_release(pp->krunqtail, t + n);
	return gp;
}

/* Free slots in @pp's ring (owner only: the tail does not move under us). */
static uint32_t ringroom(struct p *pp)
{
	uint32_t used = load_relaxed(pp->krunqtail) - load_acquire(pp->krunqhead);

	return used >= GMP_RUNQ_SIZE ? 0 : GMP_RUNQ_SIZE - used;
}

/* Go's globrunqget: a batch from the global queue, one to run. */
static g_t *globrunqget(struct p *pp, uint32_t max)
{
	uint64_t batch[GMP_RUNQ_SIZE / 2];
	int i, n;

	if (!max || max > GMP_RUNQ_SIZE / 2)
		max = GMP_RUNQ_SIZE / 2;
	n = gmprt_k_runqget(batch, max);
	if (n < 0)
		gmprt_throw("global run queue: %s", strerror(-n));
	if (!n)
		return NULL;
	for (i = 1; i < n; i++)
		gmprt_runqput(pp, (g_t *)(uintptr_t)batch[i], false);
	return (g_t *)(uintptr_t)batch[0];
}

/* ---- G free lists and ids (Go's gfput / gfget, goidcache) ------------- */

/*
 * @pp's free Gs to the global list until it keeps @keep, under one take
 * of gflock for the batch, as Go's gfput.  One take per G (what this was)
 * wrote the lock's line twice for every G that a P freed beyond 64: about
 * two instance-wide writes per spawn at 2 Ps (make bench-count).
 */
static void gfmove(struct p *pp, int keep)
{
	g_t *head = NULL, *tail = NULL, *g1;
	int n = 0;

	while (pp->ngfree > keep) {
		g1 = pp->gfree;
		pp->gfree = g1->schedlink;
		pp->ngfree--;
		g1->schedlink = head;
		head = g1;
		if (!tail)
			tail = g1;
		n++;
	}
	if (!head)
		return;
	while (atomic_flag_test_and_set_explicit(CW(&sched.gflock), memory_order_acquire))
		cpu_relax();
	tail->schedlink = sched.gfree;
	sched.gfree = head;
	sched.ngfree += n;
	atomic_flag_clear_explicit(CW(&sched.gflock), memory_order_release);
}

static void gfput(struct p *pp, g_t *gp)
{
	gp->schedlink = pp->gfree;
	pp->gfree = gp;
	if (++pp->ngfree < GFREE_LOCAL_MAX)
		return;
	gfmove(pp, GFREE_MOVE - 1);
}

/*
 * gmprt_gfpurge() - every free G of @pp to the global list (Go's gfpurge,
 * for a P that procresize destroys).  By @pp's owner, as it lets it go.
 */
void gmprt_gfpurge(struct p *pp)
{
	gfmove(pp, 0);
}

static g_t *gfget(struct p *pp)
{
	g_t *gp;

	if (!pp->gfree && load_relaxed(&sched.ngfree)) {
		while (atomic_flag_test_and_set_explicit(CW(&sched.gflock), memory_order_acquire))
			cpu_relax();
		while (pp->ngfree < GFREE_MOVE && sched.gfree) {
			gp = sched.gfree;
			sched.gfree = gp->schedlink;
			sched.ngfree--;
			gp->schedlink = pp->gfree;
			pp->gfree = gp;
			pp->ngfree++;
		}
		atomic_flag_clear_explicit(CW(&sched.gflock), memory_order_release);
	}
	gp = pp->gfree;
	if (gp) {
		pp->gfree = gp->schedlink;
		pp->ngfree--;
	}
	return gp;
}

static uint64_t newgoid(struct p *pp)
{
	if (pp->goidcache == pp->goidcacheend) {
		pp->goidcache = fetch_add(&sched.goidgen, GOIDCACHE) + 1;
		pp->goidcacheend = pp->goidcache + GOIDCACHE;
	}
	return pp->goidcache++;
}

/* ---- switching between G and g0 --------------------------------------- */

/* Make @gp's stack look like a saved context that returns into gstart. */
static void g_init(g_t *gp, void (*fn)(void *), void *arg)
{
	gp->sp = arch_gframe(gp->stack_hi, gmprt_gstart);
	gp->fn = fn;
	gp->arg = arg;
	gp->errno_save = 0;
	gp->rtdepth = 0;
	gp->lockedm = NULL;
	gp->lockcount = 0;
}

void gmprt_ginit(g_t *gp, void (*fn)(void *), void *arg)
{
	g_init(gp, fn, arg);
}

/*
 * gmprt_mcall() - switch from the running G to its M's g0 and run @fn(g)
 * there, once the G's registers are saved (Go's mcall).  The G resumes,
 * maybe on another M, when something runs it again.
 */
void gmprt_mcall(void (*fn)(g_t *))
{
	struct m *mp = getm();
	g_t *gp = mp->curg;

	if (unlikely(!gp->guarded &&
		     (char *)__builtin_frame_address(0) < gp->stack_lo + 256))
		gmprt_throw("stack overflow in G %llu (stack %zu bytes)",
			    (unsigned long long)gp->goid,
			    (size_t)(gp->stack_hi - gp->stack_lo));
	gp->errno_save = errno;
	mp->mcallfn = fn;
	gmprt_swapctx(&gp->sp, mp->g0sp);
	/* Back, maybe on another thread: nothing cached from before is valid. */
}

/*
 * Run @gp on this M until it mcalls back; then run what it asked for.
 * Made twice from one body: without the trace's two events, the switch's
 * fast path, and with them (GMPRT_TRACE on), so that the fast path pays
 * one load and a branch for tracing and nothing else (with the events in
 * line, it kept two more registers across the switch).
 */
static inline __attribute__((always_inline))
void execute_body(struct m *mp, g_t *gp, bool inherit, bool tracing)
{
	struct p *pp = mp->p;

	if (!inherit) {
		/* A new time slice: a preempt request was for the last one. */
		pp->schedtick++;
		store_relaxed(pp->kschedtick, pp->schedtick);
		if (unlikely(load_relaxed(pp->kpreempt)))
			store_relaxed(pp->kpreempt, 0);
	}
	gp->status = G_RUNNING;
	gp->m = mp;
	mp->curg = gp;
	errno = gp->errno_save;
	if (tracing)
		gmprt_traceev(mp, TR_START, gp->goid, pp->id, 0);
	gmprt_swapctx(&mp->g0sp, gp->sp);
	/* On g0 again; the G is off its stack. */
	gp = mp->curg;
	if (tracing)
		gmprt_traceev(mp, TR_STOP, gp->goid, TRP(mp), 0);
	mp->curg = NULL;
	gp->m = NULL;
	mp->mcallfn(gp);
}

static __attribute__((noinline, cold)) void execute_traced(struct m *mp, g_t *gp, bool inherit)
{
	execute_body(mp, gp, inherit, true);
}

static void execute(struct m *mp, g_t *gp, bool inherit)
{
	if (unlikely(trace_on())) {
		execute_traced(mp, gp, inherit);
		return;
	}
	execute_body(mp, gp, inherit, false);
}

/* ---- Ms ---------------------------------------------------------------- */

static void *mstart(void *arg);

/* Go's newm: a new thread that claims P @pid, reserved for it by gmp.ko. */
struct newm_arg {
	int p;
	bool spinning;
};

static void newm(int pid, bool spinning)
{
	struct newm_arg *a = malloc(sizeof(*a));
	pthread_attr_t attr;
	pthread_t t;
	int err = ENOMEM;

	if (a) {
		a->p = pid;
		a->spinning = spinning;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, M0_STACK);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		err = pthread_create(&t, &attr, mstart, a);
		pthread_attr_destroy(&attr);
	}
	if (err) {
		struct m *mp = getm();

		free(a);
		if (spinning)
			fetch_add(sched.knmspinning, -1);
		/* Give the P back so that it is not lost; go on with fewer Ms. */
		if (mp)
			gmprt_k_release(mp, pid);
		fprintf(stderr, "gmprt: cannot start a thread: %s\n", strerror(err));
	}
}

/*
 * GMPRT_PIN_PROCS: keep the thread on its P's CPU.  gmp.ko names a CPU the
 * opener may run on for each P; the pinning itself is sched_setaffinity,
 * so that the cpuset and every check it makes apply.  A refusal (the
 * cpuset shrank, a CPU went offline) is said once and leaves the thread
 * where the kernel puts it.
 */
static void pin(struct m *mp, struct p *pp)
{
	static bool warned;
	COUNT_SCHED_VAR(warned);
	cpu_set_t set;
	int saved = errno;

	int32_t cpu;

	if (!(sched.flags & GMPRT_PIN_PROCS))
		return;
	cpu = load_relaxed(pp->kcpu);
	if (mp->pinned == cpu || cpu < 0 || cpu >= CPU_SETSIZE)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) == 0) {
		mp->pinned = cpu;
	} else if (!__atomic_exchange_n(CW(&warned), true, __ATOMIC_RELAXED)) {
		fprintf(stderr, "gmprt: cannot pin a thread to CPU %d: %s\n",
			cpu, strerror(errno));
	}
	errno = saved;
}

/* gmprt_acquirep() - take P @pid for this M (Go's acquirep). */
void gmprt_acquirep(struct m *mp, int pid)
{
	struct p *pp = &sched.allp[pid];

	mp->p = pp;
	store_relaxed(&pp->owner, mp);
	/*
	 * A preempt request stays: it was for the G that runs now (back from a
	 * call, or from a handoff), or execute() clears it for a new one.
	 */
	pin(mp, pp);
}

/*
 * Go's startm(nil, spinning): ask gmp.ko to hand an idle P to an idle M;
 * with no idle M, make one.
 */
static void startm(struct m *mp, bool spinning)
{
	struct gmp_wake w;
	int err;

	err = gmprt_k_wake(mp, spinning ? GMP_WAKE_SPINNING : 0, 0, 0, &w);
	if (err)
		gmprt_throw("GMP_IOC_WAKE: %s", strerror(-err));
	if (w.result == GMP_WOKE_NEWM)
		newm(w.p, spinning);
}

/*
 * gmprt_wakep() - Go's wakep: start one more spinning M if there is an idle
 * P and nobody spins.  Called after making a G runnable.
 */
void gmprt_wakep(void)
{
	uint32_t zero = 0;

	/* (A): the new G is published before we look; pairs with (B) in gmp.ko. */
	atomic_thread_fence(memory_order_seq_cst);
	if (!load_relaxed(sched.knpidle))
		return;
	if (load_relaxed(sched.knmspinning) ||
	    !__atomic_compare_exchange_n(CW(sched.knmspinning), &zero, 1, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		return;
	startm(getm(), true);
}

/* Go's resetspinning: the M found work; if it was the last spinner, wake one. */
static void resetspinning(struct m *mp)
{
	mp->spinning = false;
	if (__atomic_sub_fetch(CW(sched.knmspinning), 1, __ATOMIC_SEQ_CST) == UINT32_MAX)
		gmprt_throw("findrunnable: negative nmspinning");
	gmprt_wakep();
}

/* ---- finding work ------------------------------------------------------ */

static int gcd(int a, int b)
{
	while (b) {
		int t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/*
 * Go's randomOrder: a step coprime with @n visits every P once.  Found
 * from a random start, as n changes with every resize (a few gcd()s of
 * numbers below GMP_MAX_PROCS, before a round of stealing).
 */
static int steal_step(uint32_t r, int n)
{
	int inc = 1 + (int)(r % (uint32_t)n);

	while (gcd(inc, n) != 1)
		inc = inc % n + 1;
	return inc;
}

/* Go's stealWork: 4 rounds over the other Ps in force, in random order. */
static g_t *stealwork(struct m *mp, struct p *pp, bool *ranTimers)
{
	int i, k, n = gmprt_gomaxprocs();

	for (i = 0; i < 4; i++) {
		bool last = i == 3;
		uint32_t r = fastrand(mp);
		int pos = r % n;
		int inc = steal_step(r / n, n);

		for (k = 0; k < n; k++, pos = (pos + inc) % n) {
			struct p *p2 = &sched.allp[pos];
			g_t *gp;

			if (p2 == pp)
				continue;
			/* Run p2's due timers on the last round (Go does too). */
			if (last && gmprt_checktimers(p2, 0)) {
				gp = gmprt_runqget(pp, &(bool){ false });
				if (gp)
					return gp;
				*ranTimers = true;
			}
			if (load_relaxed(p2->kstatus) == GMP_P_IDLE)
				continue;
			gp = gmprt_runqsteal(pp, p2, last);
			if (gp) {
				traceev(mp, TR_STEAL, 0, pp->id, p2->id);
				return gp;
			}
		}
	}
	return NULL;
}

/*
 * Spare Ms exit.
 *
 * Block detection makes an M whenever a thread sleeps in the kernel with
 * a P and no M is idle; when the sleepers come back they find their Ps
 * taken and idle.  A burst of blocks (a connect storm faulting in stacks
 * while new threads take mmap_lock) leaves dozens of idle threads.  Go keeps
 * its idle Ms for good (golang/go#14592 asks for this and is open); we let
 * the spare ones go: an M that parks with nothing to do while more Ms run Gs
 * than there are Ps (nmworkers, not counting locked Ms) parks with a
 * deadline MIDLE_NS after it first found itself spare (sparesince, kept
 * while it stays spare across the work it does meanwhile: two Ms taking
 * turns at one P's timer wakes would otherwise both stay for good), and
 * if the deadline passes and it is still spare, it uncounts itself (a CAS on nmworkers, so that
 * never fewer than gomaxprocs stay) and exits as a locked G's M does
 * (gmprt_mexit: GMP_IOC_UNREGISTER idles or hands on the P its park's
 * timeout may have given it).  Its struct m stays on allm (lock-free
 * readers walk it) and the next newm reuses it.
 * Rejected: a cap on idle Ms checked at park time (a burst that ends
 * would thrash: exit, then make again for the next block); sysmon in
 * gmp.ko picking Ms to kill (it cannot end a thread; it would have to wake
 * it with a reason, a new note kind, for what a park deadline does).
 * Only a park with nothing on the M's back may exit: findrunnable's,
 * exitsyscall0's (its G is on the global queue) and startlockedm's; not
 * procresize's, which goes on with the P it gets.
 */
#define MIDLE_NS	(1000 * 1000 * 1000LL)

/* Would n Ms serving Gs be more than the Ps? (Locked Ms serve one G.) */
static bool mspare_n(uint32_t n)
{
	return n - load_relaxed(&sched.nmlocked) > (uint32_t)gmprt_gomaxprocs();
}

static bool mspare(void)
{
	return mspare_n(load_relaxed(&sched.nmworkers));
}

/* Uncount this M if it is still spare; true if it may exit. */
static bool mspare_leave(void)
{
	uint32_t n = __atomic_load_n(&sched.nmworkers, __ATOMIC_SEQ_CST);

	while (mspare_n(n))
		if (__atomic_compare_exchange_n(CW(&sched.nmworkers), &n, n - 1, false,
						__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			return true;
	return false;
}

/*
 * gmprt_stopm() - park this M in gmp.ko (Go's stopm, with findrunnable's
 * last checks done there: the global queue, every P's timers and, if it
 * spun, every ring).  Returns holding a P; the M's thread exits if the
 * instance is gone, or (@may_exit) if it is spare and stays idle.
 */
void gmprt_stopm(struct m *mp, bool may_exit)
{
	struct gmp_park r;
	uint32_t flags = mp->spinning ? GMP_PARK_SPINNING : 0;
	int64_t deadline = 0;
	int err, pollfd;

	for (;;) {
		/* Spare since when (kept across the work it does meanwhile). */
		if (may_exit && mspare()) {
			if (!mp->sparesince)
				mp->sparesince = gmprt_now();
			deadline = mp->sparesince + MIDLE_NS;
			flags |= GMP_PARK_DEADLINE;
		} else {
			mp->sparesince = 0;
			deadline = 0;
			flags &= ~GMP_PARK_DEADLINE;
		}
		if (mp->p) {
			struct m *me = mp;

			/* Ours no more, unless gmp.ko keeps it (then it says so). */
			__atomic_compare_exchange_n(CW(&mp->p->owner), &me, NULL, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
		}
		mp->p = NULL;
		store_relaxed(&mp->nparks, mp->nparks + 1);
		traceev(mp, TR_MPARK, 0, -1, 0);
		/* GMPRT_NETPOLL=park: readiness ends this park too. */
		pollfd = -1;
		if (load_acquire(&sched.netpoll_park)) {
			pollfd = sched.netpoll_epfd;
			fetch_add(&sched.npollparked, 1);
		}
		err = gmprt_k_park(mp, flags | (pollfd >= 0 ? GMP_PARK_POLL : 0),
				   deadline, pollfd >= 0 ? pollfd : 0, &r);
		if (pollfd >= 0)
			fetch_add(&sched.npollparked, -1);
		mp->spinning = false;	/* said once, in the first park */
		flags &= ~GMP_PARK_SPINNING;
		if (err == -EINTR)
			continue;
		if (err == -ESHUTDOWN)
			pthread_exit(NULL);
		if (err)
			gmprt_throw("GMP_IOC_PARK: %s", strerror(-err));
		/* Our deadline, not a timer's: idle for MIDLE_NS. */
		if (r.result == GMP_PARKED_TIMEOUT && deadline &&
		    (r.p == GMP_NONE || gmprt_now() >= deadline)) {
			if (r.p != GMP_NONE)
				gmprt_acquirep(mp, r.p);
			if (mspare_leave())
				gmprt_mexit(mp, false);
			mp->sparesince = 0;
			if (r.p == GMP_NONE)
				continue;
		} else if (r.result == GMP_PARKED_POLL && r.p == GMP_NONE) {
			/* Events, and no P to run their Gs: queue them globally. */
			gmprt_netpoll(NULL);
			continue;
		} else if (r.p == GMP_NONE) {
			gmprt_throw("GMP_IOC_PARK returned without a P");
		}
		if (!mp->p)
			gmprt_acquirep(mp, r.p);
		mp->spinning = r.oflags & GMP_PARKED_SPINNING;
		traceev(mp, TR_MUNPARK, 0, r.p, 0);
		if (r.result == GMP_PARKED_POLL) {
			/* Onto our ring, the first one next: findrunnable finds them. */
			g_t *gp = gmprt_netpoll(mp->p);

			if (gp)
				gmprt_runqput(mp->p, gp, true);
		}
		return;
	}
}

/* Go's findrunnable: block until there is a G to run. */
static g_t *findrunnable(struct m *mp, bool *inherit)
{
	struct p *pp;
	g_t *gp;

top:
	pp = mp->p;
	gmprt_checktimers(pp, 0);
	gp = gmprt_runqget(pp, inherit);
	if (gp)
		return gp;
	if (load_relaxed(sched.krunqsize)) {
		gp = globrunqget(pp, 0);
		if (gp)
			return gp;
	}
	/* Go's non-blocking netpoll before stealing (GMPRT_NETPOLL=park). */
	if (unlikely(gmprt_netpoll_due())) {
		gp = gmprt_netpoll(pp);
		if (gp)
			return gp;
	}
	/* Limit spinning Ms to half the busy Ps (Go's rule). */
	if (mp->spinning ||
	    2 * load_relaxed(sched.knmspinning) <
		    (uint32_t)gmprt_gomaxprocs() - load_relaxed(sched.knpidle)) {
		bool ranTimers = false;

		if (!mp->spinning) {
			mp->spinning = true;
			fetch_add(sched.knmspinning, 1);
		}
		gp = stealwork(mp, pp, &ranTimers);
		if (gp)
			return gp;
		if (ranTimers)
			goto top;
	}
	/* Due timers anywhere are work: gmp.ko would send us back for them. */
	if (gmprt_runtimers_all(0))
		goto top;
	gmprt_stopm(mp, true);
	goto top;
}

/* Go's schedule: one round of finding a G and running it. */
static void schedule(void)
{
	struct m *mp = getm();

	for (;;) {
		struct p *pp;
		bool inherit = false;
		g_t *gp = NULL;

		if (mp->nextg) {
			gp = mp->nextg;
			mp->nextg = NULL;
			inherit = true;
		} else if (unlikely(mp->lockedg)) {
			/* This M runs its locked G or nothing (Go's stoplockedm). */
			gmprt_stoplockedm(mp);
			execute(mp, mp->lockedg, false);
			continue;
		}
		pp = mp->p;
		/* Out of force since a resize: its Gs go, and so does the M. */
		if (unlikely(pp->id >= gmprt_gomaxprocs()) && gmprt_retirep(mp))
			continue;
		/* Due timers first (no clock read unless this P has timers). */
		if (!gp && load_relaxed(pp->ktimer0when))
			gmprt_checktimers(pp, 0);
		/*
		 * Check the global queue once in a while, for fairness.  Go
		 * takes one G; a syscall is dearer than Go's lock, so take what
		 * fits behind the local Gs (they still run first): one ioctl
		 * then serves many polls.
		 */
		if (!gp && pp->schedtick % GLOBAL_POLL == 0) {
			if (load_relaxed(sched.krunqsize))
				gp = globrunqget(pp, 1 + ringroom(pp));
			/* Busy Ps still see the network (GMPRT_NETPOLL=park). */
			if (!gp && unlikely(gmprt_netpoll_due()))
				gp = gmprt_netpoll(pp);
		}
		if (!gp)
			gp = gmprt_runqget(pp, &inherit);
		if (!gp)
			gp = findrunnable(mp, &inherit);
		if (mp->spinning)
			resetspinning(mp);
		if (unlikely(gp->lockedm) && gp->lockedm != mp) {
			/* Its own M runs it, on our P (Go's startlockedm). */
			gmprt_startlockedm(mp, gp);
			continue;
		}
		execute(mp, gp, inherit);
	}
}

/*
 * The struct m of an M whose thread exited (a spare one, or a locked G's),
 * taken for a new M: allm only grows, and its readers never see a struct
 * freed.  Not while tracing: each struct's event chunks are one thread's
 * track.  nparks goes on counting (checkdead compares sums of it).
 */
static struct m *mreuse(void)
{
	struct m *mp, fresh;
	uint32_t one;

	if (trace_on())
		return NULL;
	for (mp = load_acquire(&sched.allm); mp; mp = mp->alllink) {
		one = 1;
		if (load_relaxed(&mp->exited) == 1 &&
		    __atomic_compare_exchange_n(CW(&mp->exited), &one, 2, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
	}
	if (!mp)
		return NULL;
	/*
	 * One copy, in which alllink's bytes are rewritten with their own
	 * value: a reader walking allm never sees it cleared.
	 */
	memset(&fresh, 0, sizeof(fresh));
	fresh.alllink = mp->alllink;
	fresh.trhead = mp->trhead;
	fresh.trcur = mp->trcur;
	fresh.nparks = mp->nparks;
#ifdef GMPRT_COUNTING
	/* The writes of the thread that left stay in the sums (count.c). */
	memcpy(fresh.counts, mp->counts, sizeof(fresh.counts));
#endif
	fresh.exited = 0;	/* live again: only 1 may be claimed */
	*mp = fresh;
	return mp;
}

/* Every M but the ones that only wait (the caller of gmprt_main). */
static struct m *mcommoninit(int claim_p)
{
	struct m *mp = mreuse();
	bool reused = mp != NULL;
	int err;

	if (!mp)
		mp = calloc(1, sizeof(*mp));
	if (!mp)
		gmprt_throw("out of memory for an M");
	err = gmprt_k_register(&mp->id, claim_p);
	if (err)
		gmprt_throw("cannot register a thread with gmp.ko: %s%s", strerror(-err),
			    err == -EAGAIN ? " (gmp.ko's max_m threads: thread exhaustion)" : "");
	gmprt_k_mslot(mp);	/* gmp.ko set inruntime: g0 is the runtime */
	mp->pinned = -1;
	mp->thread = pthread_self();
	mp->fastrand = ((uint64_t)mp->id << 32 | (uint32_t)gmprt_now()) | 1;
	gmprt_tls_m = mp;
	if (!reused) {
		mp->alllink = __atomic_load_n(&sched.allm, __ATOMIC_RELAXED);
		while (!__atomic_compare_exchange_n(CW(&sched.allm), &mp->alllink, mp, false,
						    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
			;
	}
	__atomic_fetch_add(CW(&sched.mcount), 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(CW(&sched.nthreads), 1, __ATOMIC_SEQ_CST);
	gmprt_sigstack_init(mp);
	return mp;
}

static void *mstart(void *arg)
{
	struct newm_arg a = *(struct newm_arg *)arg;
	struct m *mp;

	free(arg);
	mp = mcommoninit(a.p);
	__atomic_fetch_add(CW(&sched.nmworkers), 1, __ATOMIC_SEQ_CST);
	gmprt_acquirep(mp, a.p);
	mp->spinning = a.spinning;
	schedule();
}

/*
 * Go's templateThread: makes the Ms that gmp.ko's sysmon asks for when it
 * hands off a P and no M is idle.
 */
static void *templatethread(void *arg)
{
	struct m *mp = mcommoninit(GMP_NONE);
	int pid, err;

	(void)arg;
	for (;;) {
		err = gmprt_k_newm_wait(mp, &pid);
		if (err == -EINTR)
			continue;
		if (err)
			return NULL;
		newm(pid, false);
	}
}

/*
 * Go's sysmon is a thread of its process; so is ours.  It is not an M: it
 * runs gmp.ko's sysmon loop inside GMP_IOC_SYSMON (retake, preemption,
 * block handoffs, reaping), and comes out only for signals.
 */
static void *sysmonthread(void *arg)
{
	(void)arg;
	__atomic_fetch_add(CW(&sched.nthreads), 1, __ATOMIC_SEQ_CST);
	while (gmprt_k_sysmon() == -EINTR)
		;
	__atomic_fetch_sub(CW(&sched.nthreads), 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* ---- G lifecycle ------------------------------------------------------- */

/* Entered from gmprt_gstart on a new G's stack. */
__attribute__((used, noreturn)) void gmprt_goentry(void);
void gmprt_goentry(void)
{
	g_t *gp = getm()->curg;

	/* From g0 (in the runtime) into the G's own code. */
#ifndef GMPRT_NO_HANDOFF
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	store_relaxed(gp->m->kinruntime, 0);
#endif
	gp->fn(gp->arg);
	gmprt_exit();
}

static void goexit0(g_t *gp)
{
	struct m *mp = getm();
	bool locked = gp->lockedm != NULL;

	traceev(mp, TR_EXIT, gp->goid, TRP(mp), 0);
	gp->status = G_DEAD;
	gp->fn = NULL;
	gp->arg = NULL;
	gp->lockedm = NULL;
	gp->lockcount = 0;
	gfput(mp->p, gp);
	/*
	 * As Go's: a G that exits locked may have changed its thread for
	 * good (setns, a library's thread state), so the thread goes with it.
	 */
	if (unlikely(locked)) {
		mp->lockedg = NULL;
		gmprt_mexit(mp, true);
	}
}

void gmprt_exit(void)
{
	/* No leave: the G is gone (g_init starts the next one at depth 0). */
	rt_enter(gmprt_mustg("gmprt_exit"));
	gmprt_mcall(goexit0);
	__builtin_unreachable();
}

static void gosched_m(g_t *gp)
{
	gp->status = G_RUNNABLE;
	gmprt_runqput(getm()->p, gp, false);
}

void gmprt_yield(void)
{
	RT_ENTER(gp, "gmprt_yield");

	gmprt_mcall(gosched_m);
}

/* A preempt request from sysmon is honoured at the runtime's safe points. */
static inline void preemptcheck(struct p *pp)
{
	if (unlikely(load_relaxed(pp->kpreempt))) {
		struct m *mp = getm();

		store_relaxed(pp->kpreempt, 0);
		traceev(mp, TR_PREEMPT, mp->curg->goid, pp->id, 0);
		gmprt_mcall(gosched_m);
	}
}

/* A new G with a stack: from the global free list, else fresh.  Any thread. */
g_t *gmprt_galloc(void)
{
	g_t *gp = NULL;

	if (load_relaxed(&sched.ngfree)) {
		while (atomic_flag_test_and_set_explicit(CW(&sched.gflock), memory_order_acquire))
			cpu_relax();
		gp = sched.gfree;
		if (gp) {
			sched.gfree = gp->schedlink;
			sched.ngfree--;
		}
		atomic_flag_clear_explicit(CW(&sched.gflock), memory_order_release);
		if (gp)
			return gp;
	}
	gp = calloc(1, sizeof(*gp));
	if (gp && gmprt_stackalloc(gp, sched.stack_size)) {
		free(gp);
		gp = NULL;
	}
	if (gp)
		gmprt_allgadd(gp);
	return gp;
}

int gmprt_go(void (*fn)(void *), void *arg)
{
	RT_ENTER_ANY(self);
	struct m *mp;
	struct p *pp;
	g_t *gp;

	if (unlikely(self->foreign))
		return gmprt_foreign_go(fn, arg);
	mp = self->m;
	pp = mp->p;
	if (unlikely(!pp))	/* inside gmprt_entersyscall: no P to queue on */
		return gmprt_foreign_go(fn, arg);
	gp = gfget(pp);
	if (!gp) {
		gp = gmprt_galloc();
		if (!gp)
			return -ENOMEM;
	}
	g_init(gp, fn, arg);
	gp->goid = newgoid(pp);
	gp->status = G_RUNNABLE;
	traceev(mp, TR_SPAWN, self->goid, pp->id, gp->goid);
	gmprt_runqput(pp, gp, true);
	gmprt_wakep();
	preemptcheck(pp);
	return 0;
}

uint64_t gmprt_goid(void)
{
	return gmprt_mustg("gmprt_goid")->goid;
}

bool gmprt_in_g(void)
{
	struct m *mp = getm();

	return mp && mp->curg;
}

gmprt_g *gmprt_self(void)
{
	return gmprt_mustg("gmprt_self");
}

/* ---- park / ready (Go's gopark / goready) ------------------------------ */

static void park_m(g_t *gp)
{
	struct m *mp = getm();
	bool (*unlockf)(g_t *, void *) = mp->parkfn;

	mp->parkfn = NULL;
	gp->waitsince = load_relaxed(&sched.coarsenow);
	gp->status = G_WAITING;
	traceev(mp, TR_PARK, gp->goid, TRP(mp), (uintptr_t)gp->waitreason);
	if (unlockf && !unlockf(gp, mp->parkarg)) {
		/* Not parking after all: run it again at once, same time slice. */
		gp->status = G_RUNNABLE;
		mp->nextg = gp;
	}
}

/*
 * gmprt_gopark() - block the running G; @unlockf(g, @arg) runs on g0 once
 * the G is off its stack, and may veto the park by returning false.
 * @reason, a string literal, is what the goroutine dump says it waits on.
 */
void gmprt_gopark(bool (*unlockf)(g_t *, void *), void *arg, const char *reason)
{
	struct m *mp = getm();

	if (unlikely(!mp || !mp->curg)) {
		/* A foreign thread blocks itself, not an M. */
		gmprt_foreign_park(unlockf, arg);
		return;
	}
	mp->curg->waitreason = reason;
	mp->parkfn = unlockf;
	mp->parkarg = arg;
	gmprt_mcall(park_m);
}

void gmprt_park(bool (*unlockf)(gmprt_g *, void *), void *arg)
{
	RT_ENTER(gp, "gmprt_park");

	gmprt_gopark(unlockf, arg, "gmprt_park");
}

/* gmprt_goready() - make @gp runnable: it runs next on this M's P. */
void gmprt_goready(g_t *gp)
{
	struct m *mp = getm();

	if (unlikely(gp->foreign)) {
		gmprt_foreign_ready(gp);
		return;
	}
	if (unlikely(gp->status != G_WAITING))
		gmprt_throw("gmprt_ready of a G that is not waiting (status %u): a G is readied once per park",
			    gp->status);
	gp->status = G_RUNNABLE;
	traceev(mp, TR_READY, gp->goid, TRP(mp), 0);
	if (unlikely(!mp || !mp->p)) {
		/* A thread with no P: where an M will find it. */
		gmprt_globrunqput_wake(gp);
		return;
	}
	gmprt_runqput(mp->p, gp, true);
	gmprt_wakep();
}

/*
 * gmprt_globrunqput_wake() - queue runnable @gp on the global queue and
 * start an M for it if a P is idle (Go's injectglist without a P).  From a
 * thread that holds no P.
 */
void gmprt_globrunqput_wake(g_t *gp)
{
	uint64_t h = (uintptr_t)gp;
	int err;

	if (unlikely(sched.forked))
		gmprt_forked_throw("readying a G");
	err = gmprt_k_runqput(&h, 1, GMP_RUNQ_WAKE);
	if (err)
		gmprt_throw("global run queue: %s", strerror(-err));
}

/*
 * gmprt_injectglist() - make @n parked Gs runnable and queue them on the
 * global queue in one call, starting Ms for idle Ps (Go's injectglist, from
 * a thread without a P: the netpoller).
 */
void gmprt_injectglist(g_t **gs, int n)
{
	uint64_t h[GMP_RUNQ_BATCH_MAX];
	int i, err;

	if (n > GMP_RUNQ_BATCH_MAX)
		gmprt_throw("injectglist: %d Gs at once", n);
	for (i = 0; i < n; i++) {
		if (unlikely(gs[i]->status != G_WAITING))
			gmprt_throw("injectglist of a G that is not waiting (status %u)",
				    gs[i]->status);
		gs[i]->status = G_RUNNABLE;
		h[i] = (uintptr_t)gs[i];
	}
	err = gmprt_k_runqput(h, (uint32_t)n, GMP_RUNQ_WAKE);
	if (err)
		gmprt_throw("global run queue: %s", strerror(-err));
}

void gmprt_ready(gmprt_g *gp)
{
	RT_ENTER_ANY(self);

	(void)self;
	gmprt_goready(gp);
}

/*
 * gmprt_lostp() - gmp.ko took this M's P while its G ran its own code (the
 * thread blocked, or the G ran 10 ms): get one back the way Go's exitsyscall
 * does.  The old P if it is idle, else any idle P, else the G waits on the
 * global queue and this M parks.  Called from rt_enter(), in the runtime.
 */
void gmprt_lostp(g_t *gp)
{
	struct m *mp = gp->m;
	struct p *oldp = mp->p;
	int pid, err;

	if (load_relaxed(mp->kslotp) == oldp->id)
		gmprt_throw("P%d is used by two Ms (M%u and M%u)", oldp->id,
			    mp->id, load_relaxed(&oldp->owner)->id);
	mp->p = NULL;
	traceev(mp, TR_LOSTP, gp->goid, -1, oldp->id);
	err = gmprt_k_acquire(mp, oldp->id, GMP_ACQUIRE_ANY, &pid);
	if (err)
		gmprt_throw("GMP_IOC_ACQUIRE_P after a handoff: %s", strerror(-err));
	if (pid != GMP_NONE) {
		gmprt_acquirep(mp, pid);
		traceev(mp, TR_START, gp->goid, pid, 0);
	} else
		gmprt_mcall(gmprt_exitsyscall0);	/* resumes with a P */
}

bool gmprt_unlock_spin(g_t *gp, void *lock)
{
	(void)gp;
	spin_unlock(lock);
	return true;
}

/* ---- start-up ---------------------------------------------------------- */

int64_t gmprt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#define GMPRT_STR_(x)	#x
#define GMPRT_STR(x)	GMPRT_STR_(x)

const char *gmprt_version(void)
{
	return GMPRT_STR(GMPRT_VERSION_MAJOR) "." GMPRT_STR(GMPRT_VERSION_MINOR);
}

int gmprt_nprocs(void)
{
	return sched.running && sched.kgomaxprocs ? gmprt_gomaxprocs() : 0;
}

/* Return: the value, @def if unset, or -1 (said on stderr) if malformed. */
static long env_long(const char *name, long def)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return def;
	errno = 0;
	n = strtol(v, &end, 0);
	if (*end == 'k' || *end == 'K')
		n <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		n <<= 20, end++;
	if (*end || n < 0 || errno) {
		fprintf(stderr, "gmprt: bad $%s: '%s' (a non-negative number, k or M suffix allowed)\n",
			name, v);
		return -1;
	}
	return n;
}

static void mainentry(void *arg)
{
	(void)arg;
	sched.mainret = sched.mainfn(sched.mainarg);
	store_release(&sched.maindone, 1);
	futex(&sched.maindone, FUTEX_WAKE_PRIVATE, 1);
	/* As in Go, main's return ends the program's Gs: this one just stops. */
	gmprt_exit();
}

/*
 * Go's checkdead, from the outside.  Every M that runs Gs is parked in
 * gmp.ko, none is in a system call, no G is queued anywhere and no timer is
 * set: nothing can ever make a G runnable again, so the main G, which has
 * not returned, never will.  Samples race with the Ms, so it takes two of
 * them, apart, with no M having parked in between.
 * Return: true if the sample looks dead; *activity: parks so far.
 */
static bool quiescent(uint64_t *activity)
{
	uint64_t parks = 0;
	struct m *mp;
	int i;

	if (load_acquire(sched.knmidle) + load_acquire(&sched.nmlocked) !=
	    load_acquire(&sched.nmworkers))
		return false;
	/* A G waiting for an fd or a signal waits for the world: not dead. */
	if (load_acquire(&sched.npollwait) || load_acquire(&sched.nsignotify))
		return false;
	for (mp = load_acquire(&sched.allm); mp; mp = mp->alllink) {
		if (load_relaxed(&mp->insyscall))
			return false;
		parks += load_relaxed(&mp->nparks);
	}
	if (load_acquire(sched.krunqsize))
		return false;
	for (i = 0; i < gmprt_nmade(); i++) {
		struct p *pp = &sched.allp[i];

		if (load_acquire(pp->krunqhead) != load_acquire(pp->krunqtail) ||
		    load_acquire(pp->krunnext) || load_acquire(pp->ktimer0when))
			return false;
	}
	*activity = parks;
	return true;
}

#define CHECKDEAD_NS	(100 * 1000 * 1000)
#define FOLLOW_NS	(1000 * 1000 * 1000LL)	/* Go 1.25 looks once a second too */

/* The main thread waits for the main G, and watches for a deadlock. */
static void waitmain(void)
{
	int64_t sleep = CHECKDEAD_NS, checked = 0, followed = 0;
	uint64_t before = 0, now, again;
	bool suspect = false;

	while (!load_acquire(&sched.maindone)) {
		struct timespec ts = { .tv_sec = sleep / 1000000000,
				       .tv_nsec = sleep % 1000000000 };

		syscall(SYS_futex, &sched.maindone, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
		if (load_acquire(&sched.maindone))
			break;
		/* GMPRT_DEBUG's schedtrace may wake us sooner than checkdead's pace. */
		sleep = gmprt_debug_tick(CHECKDEAD_NS);
		if (load_relaxed(&sched.coarsenow) - checked < CHECKDEAD_NS * 9 / 10)
			continue;
		checked = load_relaxed(&sched.coarsenow);
		if (checked - followed >= FOLLOW_NS * 9 / 10) {
			followed = checked;
			gmprt_follow_default();
		}
		if (!quiescent(&now)) {
			suspect = false;
			continue;
		}
		/*
		 * A foreign thread seen gone may have readied a G just before
		 * it went, after the sample above: sample again after looking
		 * (its wake shows as an M not idle, a G queued, or a park
		 * more), and main may have returned meanwhile.
		 */
		if (suspect && now == before && !gmprt_foreign_threads() &&
		    quiescent(&again) && again == now && !load_acquire(&sched.maindone)) {
			fputs("fatal error: all goroutines are asleep - deadlock!\n\n", stderr);
			fflush(stderr);
			gmprt_dump(2);
			gmprt_trace_write();
			_exit(2);
		}
		suspect = true;
		before = now;
	}
}

/*
 * The caller's config, taken as the kernel takes a struct that grows
 * (copy_struct_from_user): of a smaller one (an older gmprt.h) only @size
 * bytes are read, and the fields it lacks stay zero, the defaults; a larger
 * one (a newer gmprt.h) is fine while the part this library does not know
 * is zero, and fatal otherwise: the program asks for something not here.
 */
_Static_assert(offsetof(struct gmprt_config, flags) + sizeof(unsigned int) <=
	       GMPRT_CONFIG_SIZE_VER0 && sizeof(struct gmprt_config) >= GMPRT_CONFIG_SIZE_VER0,
	       "the 0.1 fields of struct gmprt_config moved");

static int config_copy(struct gmprt_config *c, const struct gmprt_config *cfg)
{
	const unsigned char *b = (const unsigned char *)cfg;
	size_t i;

	memset(c, 0, sizeof(*c));
	if (!cfg)
		return 0;
	if (cfg->size < GMPRT_CONFIG_SIZE_VER0 || cfg->size > 4096) {
		fprintf(stderr, "gmprt: struct gmprt_config has size %zu: start from GMPRT_CONFIG_INIT\n",
			cfg->size);
		return -EINVAL;
	}
	memcpy(c, cfg, cfg->size < sizeof(*c) ? cfg->size : sizeof(*c));
	for (i = sizeof(*c); i < cfg->size; i++) {
		if (b[i]) {
			fprintf(stderr, "gmprt: struct gmprt_config of %zu bytes sets fields libgmprt %s does not have (it knows %zu)\n",
				cfg->size, gmprt_version(), sizeof(*c));
			return -EINVAL;
		}
	}
	return 0;
}

/* The settings in force: @cfg's, then the environment's, checked. */
static int config_resolve(struct gmprt_config *c, const struct gmprt_config *cfg)
{
	long v;
	int err = config_copy(c, cfg);

	if (err)
		return err;
	if (!c->nprocs) {
		v = env_long("GMPRT_NPROCS", 0);
		if (v < 0)
			return -EINVAL;
		c->nprocs = v > INT_MAX ? INT_MAX : (int)v;
	}
	if (c->nprocs < 0 || c->nprocs > GMP_MAX_PROCS) {
		fprintf(stderr, "gmprt: nprocs %d out of range (1..%d, or 0 for the default)\n",
			c->nprocs, GMP_MAX_PROCS);
		return -EINVAL;
	}
	if (!c->stack_size) {
		v = env_long("GMPRT_STACK", DEFAULT_STACK);
		if (v < 0)
			return -EINVAL;
		c->stack_size = (size_t)v;
	}
	if (c->stack_size < 16 * 1024) {
		fprintf(stderr, "gmprt: stack size %zu too small (16 KiB at least)\n",
			c->stack_size);
		return -EINVAL;
	}
	if (c->flags & ~GMPRT_PIN_PROCS) {
		fprintf(stderr, "gmprt: unknown gmprt_config flags %#x\n",
			c->flags & ~GMPRT_PIN_PROCS);
		return -EINVAL;
	}
	return 0;
}

int gmprt_main(int (*fn)(void *), void *arg, const struct gmprt_config *cfg)
{
	struct gmprt_config c;
	struct m *m0;
	struct gmp_wake w;
	pthread_t t;
	g_t *gp;
	int i, err;

	if (!fn)
		return -EINVAL;
	if (__atomic_exchange_n(CW(&sched.running), true, __ATOMIC_ACQ_REL))
		return -EBUSY;
	err = config_resolve(&c, cfg);
	if (!err)
		err = gmprt_netpoll_env();
	if (!err)
		err = gmprt_debug_init();
	if (!err)
		err = gmprt_trace_init();
	if (!err)
		err = gmprt_kernel_open(c.nprocs, c.flags);
	if (err) {
		/* Nothing started: the program may go on without gmp. */
		store_release(&sched.running, false);
		return err;
	}
	sched.stack_size = c.stack_size;
	sched.flags = c.flags;
	sched.nprocs_auto = c.nprocs == 0;
	sched.mainfn = fn;
	sched.mainarg = arg;
	pthread_atfork(NULL, NULL, atfork_child);
	gmprt_stack_init();
	relax_calibrate();

	/*
	 * This thread registers only to hand P0, with the main G in its
	 * queue, to a new M; then it waits for main to return.
	 */
	m0 = mcommoninit(GMP_NONE);
	err = gmprt_k_acquire(m0, 0, 0, &i);
	if (err || i != 0)
		gmprt_throw("cannot acquire P0: %s", strerror(-err));
	gmprt_acquirep(m0, 0);
	gp = calloc(1, sizeof(*gp));
	if (!gp || gmprt_stackalloc(gp, sched.stack_size))
		gmprt_throw("out of memory for the main G");
	gmprt_allgadd(gp);
	g_init(gp, mainentry, NULL);
	gp->goid = newgoid(m0->p);
	gp->status = G_RUNNABLE;
	gmprt_runqput(m0->p, gp, false);
	err = gmprt_k_wake(m0, GMP_WAKE_HANDOFF, 0, 0, &w);
	if (err || w.result != GMP_WOKE_NEWM)
		gmprt_throw("cannot hand P0 to a new M: %s", err ? strerror(-err) : "unexpected wake");
	m0->p = NULL;
	newm(w.p, false);
	if (pthread_create(&t, NULL, templatethread, NULL) == 0)
		pthread_detach(t);
	if (pthread_create(&t, NULL, sysmonthread, NULL) == 0)
		pthread_detach(t);
	else
		fprintf(stderr, "gmprt: cannot start sysmon: no preemption, no handoffs\n");
	store_release(&sched.started, 1);
	gmprt_debug_start();

	waitmain();
	gmprt_debug_stop();
	gmprt_trace_write();
	return sched.mainret;
}
