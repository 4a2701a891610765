// SPDX-License-Identifier: GPL-2.0
/*
 * libgmprt: a G locked to its thread (Go's LockOSThread).
 *
 * Glossary
 * ========
 * A locked G runs only on its M (lockedm), and that M runs only it
 * (lockedg): gmprt_lock_thread() makes the pair, with a nesting count, and
 * the matching number of gmprt_unlock_thread() calls undoes it.  For the
 * libraries that keep per-thread state (OpenGL contexts, some database
 * clients, setns(), thread-local caches).
 *
 * Why it is hard
 * ==============
 * The scheduler's whole point is that any M runs any G.  A locked G that
 * blocks must not keep its P idle (the other Gs go on), yet when it is
 * readied, it can only run on its own M, which is asleep and holds no P.
 *
 * Rejected approaches
 * ===================
 *  - Keeping the P while the locked G waits: every other G of that P stops
 *    (at one P, the program), which is what blocking without a handoff did
 *    before block detection.
 *  - Letting the locked M wait on a futex of its own and handing it a P by
 *    RELEASE_P + FUTEX_WAKE + ACQUIRE_P: three system calls where Go needs
 *    one wake, and a window where a third M takes the P.
 *
 * The protocol (Go's stoplockedm / startlockedm, with gmp.ko's notes)
 * ===================================================================
 *  - When the locked G stops running (it parks, yields or is preempted),
 *    its M's schedule() does not look for work: gmprt_stoplockedm() parks
 *    with GMP_PARK_LOCKED.  gmp.ko hands the P off (handoffp: to an M if
 *    it has work, else idle) and sleeps the M off the idle list, where no
 *    ordinary wake finds it.
 *  - The readied G goes on a run queue like any G.  The M that picks it
 *    (schedule) sees g->lockedm is not itself and calls
 *    gmprt_startlockedm(): one GMP_WAKE_TARGET | GMP_WAKE_HANDOFF gives
 *    its own P to the locked M, through that M's note, and wakes it; then
 *    it parks itself (stopm).  The locked M runs its G on that P.
 *  - The wake may come before the locked M has parked (its G was readied
 *    the moment it was queued, on another P): gmp.ko keeps the P in the
 *    note, and the park, when it comes, hands off the M's own P and
 *    returns at once with the new one.
 *  - A locked G whose M lost its P (a block, a 10 ms preemption) and finds
 *    none idle goes on the global queue (exitsyscall0) and its M parks
 *    locked: the same path.
 *  - A G that exits locked takes its thread with it, as Go's does: the
 *    thread may have been changed for good.  Its P is handed off by
 *    GMP_IOC_UNREGISTER.
 *
 * Who writes what: g->lockedm, g->lockcount and m->lockedg are written by
 * the locked G itself (lock, unlock) and by goexit0 on its M; every other
 * M only reads g->lockedm of a G it has taken from a queue, which the
 * queue's release/acquire orders after the G's last write.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include "runtime.h"

void gmprt_lock_thread(void)
{
	RT_ENTER(gp, "gmprt_lock_thread");

	if (unlikely(gp->lockcount == UINT32_MAX))
		gmprt_throw("gmprt_lock_thread nested %u times", gp->lockcount);
	if (gp->lockcount++ == 0) {
		gp->lockedm = gp->m;
		gp->m->lockedg = gp;
	}
}

void gmprt_unlock_thread(void)
{
	RT_ENTER(gp, "gmprt_unlock_thread");

	if (!gp->lockcount)
		return;		/* Go's UnlockOSThread: a no-op when not locked */
	if (--gp->lockcount == 0) {
		gp->m->lockedg = NULL;
		gp->lockedm = NULL;
	}
}

/* This M gives up its P, if it has one, as far as user space knows. */
static void dropp(struct m *mp)
{
	struct m *me = mp;

	if (mp->p)
		__atomic_compare_exchange_n(CW(&mp->p->owner), &me, NULL, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	mp->p = NULL;
}

/*
 * gmprt_stoplockedm() - on g0: the locked G of @mp is not running; sleep
 * until an M hands us a P to run it on.  Returns holding a P.
 */
void gmprt_stoplockedm(struct m *mp)
{
	struct gmp_park r;
	int err;

	dropp(mp);
	__atomic_fetch_add(CW(&sched.nmlocked), 1, __ATOMIC_SEQ_CST);
	store_relaxed(&mp->nparks, mp->nparks + 1);
	traceev(mp, TR_MPARK, 0, -1, 0);
	do
		err = gmprt_k_park(mp, GMP_PARK_LOCKED, 0, 0, &r);
	while (err == -EINTR);
	__atomic_fetch_sub(CW(&sched.nmlocked), 1, __ATOMIC_SEQ_CST);
	if (err == -ESHUTDOWN)
		pthread_exit(NULL);
	if (err)
		gmprt_throw("GMP_IOC_PARK (locked): %s", strerror(-err));
	if (r.p == GMP_NONE)
		gmprt_throw("GMP_IOC_PARK (locked) returned without a P");
	gmprt_acquirep(mp, r.p);
	mp->spinning = false;
	traceev(mp, TR_MUNPARK, 0, r.p, 0);
	if (unlikely(mp->lockedg->status != G_RUNNABLE))
		gmprt_throw("locked M woken for a G that is not runnable (status %u)",
			    mp->lockedg->status);
}

/*
 * gmprt_startlockedm() - on g0, holding a P: @gp is locked to another M;
 * hand that M our P and park this one.  Returns holding a P.
 */
void gmprt_startlockedm(struct m *mp, g_t *gp)
{
	struct m *lm = gp->lockedm;
	struct gmp_wake w;
	int err;

	dropp(mp);
	err = gmprt_k_wake(mp, GMP_WAKE_HANDOFF | GMP_WAKE_TARGET, 0, lm->id, &w);
	if (err)
		gmprt_throw("GMP_IOC_WAKE of locked M%u: %s", lm->id, strerror(-err));
	gmprt_stopm(mp, true);
}

/*
 * gmprt_mexit() - on g0: @mp's thread ends, with its locked G or as a
 * spare M (@uncount: it still counts in nmworkers).  Its P goes to another M
 * (GMP_IOC_UNREGISTER hands it off).
 */
void gmprt_mexit(struct m *mp, bool uncount)
{
	stack_t ss = { .ss_flags = SS_DISABLE };
	int err;

	dropp(mp);
	if (uncount)
		__atomic_fetch_sub(CW(&sched.nmworkers), 1, __ATOMIC_SEQ_CST);
	err = gmprt_k_unregister(mp);
	if (err)
		gmprt_throw("GMP_IOC_UNREGISTER: %s", strerror(-err));
	__atomic_fetch_sub(CW(&sched.nthreads), 1, __ATOMIC_SEQ_CST);
	/* We run on the thread's own stack, not on the signal stack. */
	if (mp->sigstack && sigaltstack(&ss, NULL) == 0) {
		munmap(mp->sigstack, GMPRT_SIGSTACK_SIZE);
		mp->sigstack = NULL;
	}
	gmprt_tls_m = NULL;
	/* The last touch of *mp: from here on newm may reuse it (mreuse). */
	store_release(&mp->exited, 1);
	pthread_exit(NULL);
}
