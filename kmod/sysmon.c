// SPDX-License-Identifier: GPL-2.0
/*
 * gmp.ko: sysmon (Go's sysmon, minus GC and netpoll), run by a thread of the
 * owning process inside GMP_IOC_SYSMON.
 *
 * Why a thread of the process and not a kernel thread: a kernel thread per
 * instance is a task that no pids limit counts and whose CPU and stack no
 * cgroup is charged for; any user could make thousands.  Go's sysmon is a
 * thread of its own process too.  Here its CPU time, its stack and its
 * wakeups are the process's own, and a process that runs no sysmon thread
 * gets no retakes, no preemption and no block handoffs: it hurts only itself.
 *
 * What must happen on time does not wait for sysmon's polling: block
 * detection (block.c) arms an hrtimer per blocked M, and its interrupt kicks
 * sysmon (GMP_KICK_HANDOFF); a dying M kicks it to reap (GMP_KICK_REAP).
 * What is polled is only what nothing signals: a G that runs too long, and a
 * system call that does not sleep.  Each round (Go's retake):
 *
 *  - a P whose holder's grace period expired is handed off (block.c);
 *  - a P whose schedtick has not moved for 10 ms runs one G too long: set
 *    its preempt word, which user space polls at its safe points, and with
 *    GMP_SETUP_HANDOFF hand the P off from the M's own context (block.c);
 *  - a P in GMP_P_SYSCALL whose syscalltick has not moved since the last
 *    round is retaken (CAS of the SYSCALL word -> IDLE) when it has work, or
 *    nobody is spinning or idle to pick work up, or it has been in the call
 *    for 10 ms; its P goes to another M (handoffp).  The M coming back from
 *    the call finds its CAS SYSCALL -> RUNNING failed and asks for a P;
 *  - Ms whose threads have died are reaped, their Ps handed off.
 *
 * Backoff is Go's: 20 us while it hands Ps off, doubling after 50 idle
 * rounds up to 10 ms; a preempt request is not activity (else one P held by
 * a sleeping thread would keep it at 20 us).  It sleeps until kicked when
 * no P is held by a running M (idle, or every holder asleep): an idle
 * instance costs nothing.  The Dekker pair (S) below makes sure a holder
 * that starts running while sysmon decides to sleep is not missed.
 *
 * All it reads in the shared pages is a hint; all it decides on is kernel
 * state under sched->lock.
 */
#include <linux/hrtimer.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include "gmp.h"

#define GMP_SYSMON_MIN_US	20
#define GMP_SYSMON_MAX_US	10000
#define GMP_FORCE_PREEMPT_NS	(10 * NSEC_PER_MSEC)	/* Go's forcePreemptNS */
#define GMP_SYSCALL_RETAKE_NS	(10 * NSEC_PER_MSEC)

/* What a round saw. */
struct gmp_round {
	int handoffs;		/* Ps taken: activity */
	bool poll;		/* something only polling will see */
	bool reap;		/* a holder has died */
};

/* One P, Go's retake body, plus block detection's handoff. */
static void __gmp_retake_p(struct gmp_sched *s, struct gmp_p *p, u64 now,
			   struct gmp_round *r, struct gmp_wakeq *wq)
{
	struct gmp_p_page *kp = p->kp;
	struct gmp_m *holder = p->m;
	bool preempted = false;
	u32 word, status, t;
	int ms;

	if (p->state != GMP_PS_HELD)
		return;
	ms = atomic_read(&holder->mstate);
	if (ms == GMP_MS_DEAD) {
		r->reap = true;
		return;
	}
	if (ms == GMP_MS_EXPIRED && __gmp_take_blocked(s, p, wq)) {
		r->handoffs++;
		return;
	}
	word = READ_ONCE(kp->status);
	status = word & GMP_P_STATUS_MASK;
	if (status != GMP_P_RUNNING && status != GMP_P_SYSCALL)
		return;
	/* A holder on a CPU, or a system call nothing else will signal. */
	if (ms == GMP_MS_RUNNING ||
	    (status == GMP_P_SYSCALL && !(s->flags & GMP_SETUP_HANDOFF)))
		r->poll = true;
	t = READ_ONCE(kp->schedtick);
	if (p->schedtick != t || !p->schedwhen) {	/* moved, or just handed over */
		p->schedtick = t;
		p->schedwhen = now;
	} else if (p->schedwhen + GMP_FORCE_PREEMPT_NS <= now) {
		bool handoff = (s->flags & GMP_SETUP_HANDOFF) &&
			       status == GMP_P_RUNNING &&
			       ms == GMP_MS_RUNNING && holder->p == p;

		WRITE_ONCE(kp->preempt, 1);
		gmp_shared_w(s);
		gmp_stat(s, GMP_STAT_PREEMPT);
		trace_gmp_preempt(s->id, p->id, holder->id, handoff);
		p->schedwhen = now;	/* ask again in 10 ms, not every round */
		preempted = true;
		if (handoff)
			gmp_preempt_handoff(s, holder, t);
	}
	if (status != GMP_P_SYSCALL || holder->p != p)
		return;
	t = READ_ONCE(kp->syscalltick);
	if (!preempted && (p->syscalltick != t || !p->syscallwhen)) {
		p->syscalltick = t;
		p->syscallwhen = now;
		return;
	}
	if (__gmp_runq_empty(p) && !s->gq_size &&
	    READ_ONCE(*gmp_nmspinning(s)) + s->npidle > 0 &&
	    p->syscallwhen + GMP_SYSCALL_RETAKE_NS > now)
		return;
	/* The owner CASes the same word back to RUNNING: one of us wins. */
	gmp_shared_w(s);
	if (cmpxchg(&kp->status, word, GMP_P_IDLE) != word)
		return;
	__gmp_m_setp(holder, NULL);
	p->m = NULL;
	gmp_stat(s, GMP_STAT_RETAKE);
	r->handoffs++;
	__gmp_handoffp(s, p, GMP_HANDOFF_SYSCALL, wq);
}

/*
 * A reserved P waiting for a template thread that went away is handed off
 * again: to an M that went idle since, else to the idle list.  Not with
 * GMP_SETUP_TEMPLATE: the caller promised its template thread comes back.
 */
static void __gmp_orphan_newm(struct gmp_sched *s, struct gmp_wakeq *wq)
{
	struct gmp_p *p, *tmp;

	if (s->newm_waiters || (s->flags & GMP_SETUP_TEMPLATE))
		return;
	list_for_each_entry_safe(p, tmp, &s->newmq, newm) {
		list_del_init(&p->newm);
		__gmp_handoffp(s, p, GMP_HANDOFF_NEWM, wq);
	}
}

/* Does any held P have a holder on a CPU?  (S): after sysmon_wait is set. */
static bool __gmp_holder_runs(struct gmp_sched *s)
{
	int i;

	for (i = 0; i < s->nallp; i++) {
		struct gmp_p *p = s->allp[i];

		if (p->state == GMP_PS_HELD &&
		    atomic_read(&p->m->mstate) == GMP_MS_RUNNING)
			return true;
	}
	return false;
}

/* One round.  Return: what it saw; *wait: sysmon may sleep until kicked. */
static struct gmp_round gmp_retake(struct gmp_sched *s, bool *wait)
{
	struct gmp_wakeq wq = { .n = 0 };
	struct gmp_round r = { 0 };
	u64 now = gmp_now();
	u32 nsys = 0;
	int i;

	gmp_stat(s, GMP_STAT_SYSMON_ROUND);
	gmp_sched_lock(s);
	WRITE_ONCE(s->sysmon_wait, false);
	for (i = 0; i < s->nallp; i++) {
		struct gmp_p *p = s->allp[i];

		__gmp_retake_p(s, p, now, &r, &wq);
		if (p->state == GMP_PS_HELD &&
		    (READ_ONCE(p->kp->status) & GMP_P_STATUS_MASK) ==
		    GMP_P_SYSCALL)
			nsys++;
	}
	WRITE_ONCE(s->ks->nmsys, nsys);
	gmp_shared_w(s);
	__gmp_orphan_newm(s, &wq);
	*wait = false;
	if (!r.poll && !r.reap && list_empty(&s->newmq)) {
		/*
		 * (S): sysmon_wait is published before the holders' states
		 * are read again; a holder's sched_in swaps its state before
		 * it reads sysmon_wait.  One of the two sees the other.
		 */
		WRITE_ONCE(s->sysmon_wait, true);
		smp_mb();	/* (S): pairs with gmp_sched_in()'s atomic_xchg() */
		if (__gmp_holder_runs(s))
			WRITE_ONCE(s->sysmon_wait, false);
		else
			*wait = true;
	}
	spin_unlock(&s->lock);
	gmp_wakeq_flush(&wq);
	return r;
}

/*
 * Sleep for @us (0: until kicked).  Return: 0 (time, or kicked), -EINTR on
 * a signal (the freezer's too), -ESHUTDOWN.
 */
static int gmp_sysmon_sleep(struct gmp_sched *s, u64 us)
{
	long ret;

#define GMP_SYSMON_WOKEN (READ_ONCE(s->kick) || READ_ONCE(s->dead))
	if (us)
		ret = wait_event_interruptible_hrtimeout(s->sysmon_wq,
				GMP_SYSMON_WOKEN, ns_to_ktime(us * NSEC_PER_USEC));
	else
		ret = wait_event_interruptible(s->sysmon_wq, GMP_SYSMON_WOKEN);
#undef GMP_SYSMON_WOKEN
	if (READ_ONCE(s->dead))
		return -ESHUTDOWN;
	return ret == -ERESTARTSYS ? -EINTR : 0;
}

/**
 * gmp_sysmon() - GMP_IOC_SYSMON: run sysmon's loop in the calling thread.
 * @s: the instance
 *
 * Return: -EINTR on a signal (call again), -ESHUTDOWN once the instance is
 * closed, -EBUSY if another thread runs it.
 */
int gmp_sysmon(struct gmp_sched *s)
{
	u64 delay = GMP_SYSMON_MIN_US;
	bool wait = false;
	int idle = 0, ret;

	gmp_sched_lock(s);
	ret = s->sysmon_running ? -EBUSY : 0;
	s->sysmon_running = true;
	spin_unlock(&s->lock);
	if (ret)
		return ret;
	/* A round first: what happened while nobody ran sysmon. */
	set_bit(GMP_KICK_REAP, &s->kick);
	for (;;) {
		unsigned long kick = xchg(&s->kick, 0);
		struct gmp_round r;

		if (test_bit(GMP_KICK_REAP, &kick))
			gmp_reap_dead(s);
		r = gmp_retake(s, &wait);
		if (r.reap)
			set_bit(GMP_KICK_REAP, &s->kick);
		if (r.handoffs)
			idle = 0;
		else
			idle++;
		if (idle == 0)
			delay = GMP_SYSMON_MIN_US;
		else if (idle > 50)
			delay = min_t(u64, delay * 2, GMP_SYSMON_MAX_US);
		ret = gmp_sysmon_sleep(s, wait ? 0 : delay);
		if (ret)
			break;
	}
	gmp_sched_lock(s);
	s->sysmon_running = false;
	s->sysmon_wait = false;
	spin_unlock(&s->lock);
	return ret;
}

/**
 * gmp_sysmon_kick() - wake sysmon, for @why (GMP_KICK_*).
 * @s: the instance
 * @why: the reason bit
 *
 * Any context, hard interrupts included; never under a runqueue lock.
 */
void gmp_sysmon_kick(struct gmp_sched *s, int why)
{
	gmp_shared_wn(s, 2);	/* the kick word, sysmon's wake */
	set_bit(why, &s->kick);
	wake_up(&s->sysmon_wq);
}

/**
 * __gmp_sysmon_kick() - a P was taken: wake sysmon if it sleeps for good.
 * @s: the instance
 *
 * Called with sched->lock held.
 */
void __gmp_sysmon_kick(struct gmp_sched *s)
	__must_hold(&s->lock)
{
	if (s->sysmon_wait) {
		WRITE_ONCE(s->sysmon_wait, false);
		gmp_sysmon_kick(s, GMP_KICK_RUN);
	}
}
