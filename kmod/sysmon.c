// SPDX-License-Identifier: GPL-2.0
/*
 * gmp.ko: sysmon, one kernel thread per instance (Go's sysmon, minus GC and
 * netpoll).
 *
 * It wakes every 20 us while it finds something to do, backing off to 10 ms
 * after 50 idle rounds, as Go's does; when every P is idle it sleeps until a
 * P is taken (__gmp_sysmon_kick()).  Each round (Go's retake):
 *
 *  - a P whose schedtick has not moved for 10 ms runs one G too long: set its
 *    preempt word, which user space polls at its safe points;
 *  - a P in GMP_P_SYSCALL whose syscalltick has not moved since the last
 *    round is retaken (CAS of the SYSCALL word -> IDLE) when it has work, or nobody is
 *    spinning or idle to pick work up, or it has been in the syscall for
 *    10 ms; its P goes to another M (handoffp).  The M coming back from the
 *    syscall finds its CAS SYSCALL -> RUNNING failed and asks for a P;
 *  - a P held by an M whose thread has died is taken back, and the M reaped.
 *
 * All it reads in the shared pages is a hint; all it decides on is kernel
 * state under sched->lock.
 */
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/sched/task.h>
#include "gmp.h"

#define GMP_SYSMON_MIN_US	20
#define GMP_SYSMON_MAX_US	10000
#define GMP_FORCE_PREEMPT_NS	(10 * NSEC_PER_MSEC)	/* Go's forcePreemptNS */
#define GMP_SYSCALL_RETAKE_NS	(10 * NSEC_PER_MSEC)
#define GMP_REAP_EVERY_NS	NSEC_PER_SEC

/* One P, Go's retake body.  Return: true if it took the P or asked a preempt. */
static bool __gmp_retake_p(struct gmp_sched *s, struct gmp_p *p, u64 now,
			   bool *dead_m, struct gmp_wakeq *wq)
{
	struct gmp_p_page *kp = p->kp;
	struct gmp_m *holder = p->m;
	bool sysretake = false;
	u32 word, status, t;

	if (p->state != GMP_PS_HELD)
		return false;
	if (gmp_m_dead(holder)) {
		*dead_m = true;
		return false;	/* gmp_reap_dead() hands the P off */
	}
	word = READ_ONCE(kp->status);
	status = word & GMP_P_STATUS_MASK;
	if (status != GMP_P_RUNNING && status != GMP_P_SYSCALL)
		return false;
	t = READ_ONCE(kp->schedtick);
	if (p->schedtick != t || !p->schedwhen) {	/* moved, or just handed over */
		p->schedtick = t;
		p->schedwhen = now;
	} else if (p->schedwhen + GMP_FORCE_PREEMPT_NS <= now) {
		WRITE_ONCE(kp->preempt, 1);
		gmp_stat(s, GMP_STAT_PREEMPT);
		p->schedwhen = now;	/* ask again in 10 ms, not every round */
		sysretake = true;
	}
	if (status != GMP_P_SYSCALL || holder->p != p)
		return sysretake;
	t = READ_ONCE(kp->syscalltick);
	if (!sysretake && (p->syscalltick != t || !p->syscallwhen)) {
		p->syscalltick = t;
		p->syscallwhen = now;
		return false;
	}
	if (__gmp_runq_empty(p) && !s->gq_size &&
	    READ_ONCE(*gmp_nmspinning(s)) + s->npidle > 0 &&
	    p->syscallwhen + GMP_SYSCALL_RETAKE_NS > now)
		return false;
	/* The owner CASes the same word back to RUNNING: one of us wins. */
	if (cmpxchg(&kp->status, word, GMP_P_IDLE) != word)
		return false;
	holder->p = NULL;
	p->m = NULL;
	gmp_stat(s, GMP_STAT_RETAKE);
	__gmp_handoffp(s, p, wq);
	return true;
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
		__gmp_handoffp(s, p, wq);
	}
}

/* One round.  Return: true if it did anything. */
static bool gmp_retake(struct gmp_sched *s, bool *dead_m)
{
	struct gmp_wakeq wq = { .n = 0 };
	u64 now = gmp_now();
	u32 nsys = 0;
	bool did = false;
	int i;

	spin_lock(&s->lock);
	for (i = 0; i < s->nprocs; i++) {
		struct gmp_p *p = &s->allp[i];

		did |= __gmp_retake_p(s, p, now, dead_m, &wq);
		if (p->state == GMP_PS_HELD &&
		    (READ_ONCE(p->kp->status) & GMP_P_STATUS_MASK) ==
		    GMP_P_SYSCALL)
			nsys++;
	}
	WRITE_ONCE(s->ks->nmsys, nsys);
	__gmp_orphan_newm(s, &wq);
	spin_unlock(&s->lock);
	gmp_wakeq_flush(&wq);
	return did;
}

/* Sleep for @us, or until kicked or stopped. */
static void gmp_sysmon_sleep(u64 us)
{
	ktime_t t = ns_to_ktime(us * NSEC_PER_USEC);

	set_current_state(TASK_INTERRUPTIBLE);
	if (!kthread_should_stop())
		schedule_hrtimeout_range(&t, us * NSEC_PER_USEC / 4,
					 HRTIMER_MODE_REL);
	__set_current_state(TASK_RUNNING);
}

static int gmp_sysmon(void *data)
{
	struct gmp_sched *s = data;
	u64 delay = GMP_SYSMON_MIN_US, last_reap = gmp_now();
	int idle = 0;

	while (!kthread_should_stop()) {
		bool dead_m = false;

		if (idle == 0)
			delay = GMP_SYSMON_MIN_US;
		else if (idle > 50)
			delay = min_t(u64, delay * 2, GMP_SYSMON_MAX_US);
		gmp_sysmon_sleep(delay);

		spin_lock(&s->lock);
		if (s->dead || (s->npidle == s->nprocs && list_empty(&s->newmq))) {
			/* Nothing runs: sleep until a P is taken (Go's sysmonwait). */
			s->sysmon_wait = true;
			set_current_state(TASK_INTERRUPTIBLE);
			spin_unlock(&s->lock);
			if (!kthread_should_stop())
				schedule();
			__set_current_state(TASK_RUNNING);
			idle = 0;
			continue;
		}
		spin_unlock(&s->lock);

		if (gmp_retake(s, &dead_m))
			idle = 0;
		else
			idle++;
		if (dead_m || gmp_now() - last_reap > GMP_REAP_EVERY_NS) {
			gmp_reap_dead(s);
			last_reap = gmp_now();
		}
	}
	return 0;
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
		s->sysmon_wait = false;
		wake_up_process(s->sysmon);
	}
}

/**
 * gmp_sysmon_start() - start the instance's sysmon thread.
 * @s: the instance, being set up
 *
 * Return: 0, or the error of kthread_run().
 */
int gmp_sysmon_start(struct gmp_sched *s)
{
	struct task_struct *t;

	t = kthread_run(gmp_sysmon, s, "gmp-sysmon/%u", s->id);
	if (IS_ERR(t))
		return PTR_ERR(t);
	s->sysmon = get_task_struct(t);
	return 0;
}

/**
 * gmp_sysmon_stop() - stop it (final release).
 * @s: the instance
 */
void gmp_sysmon_stop(struct gmp_sched *s)
{
	if (!s->sysmon)
		return;
	kthread_stop(s->sysmon);
	put_task_struct(s->sysmon);
	s->sysmon = NULL;
}
