// SPDX-License-Identifier: GPL-2.0
/*
 * libgmprt: blocking system calls (Go's entersyscall / exitsyscall).
 *
 * A G about to block in the kernel marks its P GMP_P_SYSCALL (with its M's
 * id) in the shared page and lets go of it without a syscall of its own.  If
 * the call is quick, exitsyscall takes the P back with one CAS (SYSCALL ->
 * RUNNING).  If
 * it blocks, gmp.ko's sysmon notices (the P's syscalltick has not moved
 * since its last round), CASes SYSCALL -> IDLE and hands the P to another M,
 * so the other Gs go on.  The G coming back then finds its CAS failed and
 * asks gmp.ko for any idle P; failing that, it queues itself on the global
 * run queue and its M parks (Go's exitsyscall0).
 *
 * errno is the G's: it is kept across exitsyscall, even when the G comes
 * back on another thread.
 */
#include <string.h>
#include "runtime.h"

void gmprt_entersyscall(void)
{
	RT_ENTER(gp, "gmprt_entersyscall");
	struct m *mp = gp->m;
	struct p *pp = mp->p;

	traceev(mp, TR_SYSCALL, gp->goid, pp->id, 0);
	gp->status = G_SYSCALL;
	store_relaxed(&mp->insyscall, 1);
	pp->syscalltick++;
	store_relaxed(pp->ksyscalltick, pp->syscalltick);
	mp->oldp = pp;
	mp->p = NULL;
	/* With our M id in it: see GMP_P_SYSCALL_M for the ABA it prevents. */
	store_release(pp->kstatus, GMP_P_SYSCALL_M(mp->id));
}

/*
 * gmprt_exitsyscall0() - on g0: no P to be had for @gp; queue it on the
 * global queue and park the M (Go's exitsyscall0).  Also the way back of
 * an M whose P gmp.ko handed off (gmprt_lostp).
 */
void gmprt_exitsyscall0(g_t *gp)
{
	struct m *mp = getm();
	uint64_t h = (uintptr_t)gp;
	int err;

	gp->status = G_RUNNABLE;
	if (unlikely(mp->lockedg)) {
		/*
		 * Only this M may run it: it waits on the global queue for an
		 * M with a P to hand us that P (lockm.c), and schedule() parks
		 * us locked.  An M is started for it if a P is idle.
		 */
		err = gmprt_k_runqput(&h, 1, GMP_RUNQ_WAKE);
		if (err)
			gmprt_throw("global run queue: %s", strerror(-err));
		return;
	}
	err = gmprt_k_runqput(&h, 1, 0);
	if (err)
		gmprt_throw("global run queue: %s", strerror(-err));
	gmprt_stopm(mp, true);	/* the G is queued: nothing on our back */
}

void gmprt_exitsyscall(void)
{
	RT_ENTER(gp, "gmprt_exitsyscall");
	struct m *mp = gp->m;
	struct p *oldp;
	int pid, err;

	if (unlikely(gp->status != G_SYSCALL))
		gmprt_throw("gmprt_exitsyscall without gmprt_entersyscall");
	oldp = mp->oldp;
	mp->oldp = NULL;
	/* Back from the call: this M is a runner again for checkdead (it is
	 * not parked, so it cannot be mistaken for an idle one). */
	store_relaxed(&mp->insyscall, 0);
	if (cas_acqrel(oldp->kstatus, GMP_P_SYSCALL_M(mp->id), GMP_P_RUNNING)) {
		mp->p = oldp;		/* fast path: nobody took it */
		traceev(mp, TR_SYSCALL_END, gp->goid, oldp->id, 0);
	} else {
		/* Its old P first, if idle (Go's exitsyscallfast). */
		err = gmprt_k_acquire(mp, oldp->id, GMP_ACQUIRE_ANY, &pid);
		if (err)
			gmprt_throw("GMP_IOC_ACQUIRE_P: %s", strerror(-err));
		traceev(mp, TR_SYSCALL_END, gp->goid, pid == GMP_NONE ? -1 : pid, 0);
		if (pid != GMP_NONE)
			gmprt_acquirep(mp, pid);
		else
			gmprt_mcall(gmprt_exitsyscall0);	/* resumes with a P */
	}
	/*
	 * errno needs no restoring: the CAS leaves it alone, the ioctl
	 * wrapper saves it, and the mcall carries it in the G.  Writing it
	 * here would be wrong: the compiler may have taken errno's address
	 * on the thread this call started on, before the mcall.
	 */
	gp->status = G_RUNNING;
}
