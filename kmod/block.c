// SPDX-License-Identifier: GPL-2.0
/*
 * gmp.ko: block detection, and the handoffs it makes (GMP_SETUP_HANDOFF).
 *
 * READ THIS BEFORE HACKING
 * ========================
 *
 * Glossary: an M "blocks" when its thread goes to sleep in the kernel of its
 * own accord (a system call that waits, a page fault that waits for I/O, a
 * contended kernel lock): the scheduler switches it out and it is no longer
 * runnable.  It is "preempted" when it is switched out but stays runnable.
 * A P is "taken" (handed off) when the kernel decides that an M no longer
 * holds it and gives it to another M.  "In its scheduler": an M running
 * libgmprt's own code (or any code user space marks so), as opposed to the
 * code of a G.
 *
 * What this is for
 * ----------------
 * A G that calls a plain read() keeps its M, and so its P: no other G of that
 * P runs until the read returns (at one P, forever, if the writer is a G of
 * the same P).  Go brackets every system call (entersyscall) and has sysmon
 * poll for brackets that last; C code blocks in libc, in page faults and in
 * pthread locks without a bracket.  Only the kernel sees every block: the
 * preempt notifier on each M's thread tells us when it is switched out, and
 * whether it is still runnable.
 *
 * Why it is hard
 * --------------
 *  - The notifiers run inside the scheduler: sched_out with the runqueue
 *    lock held and interrupts off, sched_in just after the switch.  They
 *    must not sleep, take sched->lock (its holders wake tasks, which takes
 *    runqueue locks: an ABBA deadlock), wake a task or touch user memory.
 *    They flip an atomic state word and arm an hrtimer; the timer's hard
 *    interrupt wakes sysmon, which does the handoff in process context.
 *  - Most blocks are short: a page fault served from the page cache, a
 *    mutex held for a microsecond.  Handing the P off for each would be a
 *    storm of wakeups.  So an M is allowed a grace period (the module
 *    parameter block_grace_us, default 50 us) before its P goes; a GMP_P_SYSCALL
 *    P (user space said "this may block") goes at once.
 *  - The M wakes up whenever it likes, possibly at the very moment the P is
 *    being handed to another M, and goes back to user space running its G.
 *    Two Ms must never run the Gs of one P.  The handoff is committed by a
 *    compare-and-swap of the M's state that only succeeds while the thread
 *    is still asleep; its sched_in swaps the state back and, if it lost the
 *    race, learns that the P is gone before it can return to user space.
 *  - The M must learn that its P is gone without a system call on the fast
 *    paths.  The kernel writes "no P" into the M's slot (GMP_OFF_MS) before
 *    the thread can run again; user space compares the slot with the P it
 *    believes it holds at every entry into its scheduler: one load.
 *  - An M blocked inside its scheduler (an mmap for a new stack, a futex in
 *    libc's malloc) holds its P in the middle of an operation on it: that P
 *    must not move.  The M's inruntime word says where it is, and it is read
 *    only while the thread is stopped (asleep, or in our own task_work), so
 *    user space needs no fence to write it: a plain store before it touches
 *    the P, a plain store when it goes back to the G.
 *  - A notifier lives on its thread's own list; only that thread may add or
 *    remove it.  An instance closed from another thread, or a thread that
 *    simply exits, must not leave a dangling notifier behind (see lifetime).
 *
 * Rejected approaches
 * -------------------
 *  - Sysmon polling each P's status word (Go's way): it sees only what user
 *    space brackets, and costs a wakeup every 20 us while anything runs.
 *  - A task_work that makes the M wait for a P before its system call
 *    returns: simple for blocks, but it would stop a G that sysmon only
 *    wants off its P (the 10 ms preemption below), and it blocks a thread
 *    whose G may never need a P again before its next block.  Go's model
 *    (exitsyscall at the next runtime call) serves both.
 *  - Doing the handoff in the hrtimer's interrupt: sched->lock would have to
 *    be interrupt-safe, and so every lock nested in it (the xarrays'); the
 *    extra wakeup to sysmon is cheap next to what it saves in locking.
 *  - Asking user space to fence its inruntime store (a Dekker pair with the
 *    kernel): a full fence on every runtime entry.  Reading it only while
 *    the thread is stopped makes a plain store enough.
 *
 * The states of an M (m->mstate), and who moves them
 * ---------------------------------------------------
 *   RUNNING  -> SLEEP     sched_out, blocked with no P, in its scheduler,
 *                         or without GMP_SETUP_HANDOFF      (the thread)
 *   RUNNING  -> BLOCKED   sched_out, blocked holding a P, not in its
 *                         scheduler (or in GMP_P_SYSCALL): timer armed
 *   BLOCKED  -> EXPIRED   the timer fires: sysmon is kicked  (hard irq)
 *   EXPIRED  -> TAKEN     sysmon commits the handoff, under sched->lock
 *   SLEEP, BLOCKED, EXPIRED, TAKEN -> RUNNING
 *                         sched_in: an atomic swap; from TAKEN it writes
 *                         GMP_NONE into the M's slot first  (the thread)
 *   any      -> DEAD      the thread's last sched_out (TASK_DEAD)
 * Preemption (still runnable) leaves RUNNING as it is.  A P is taken from a
 * sleeping M only by the EXPIRED -> TAKEN swap, which fails if the thread
 * woke first; and a woken thread cannot reach user space before its
 * sched_in has run.  So either the M keeps its P and never learns it was
 * nearly taken, or it loses it and its slot says so before its next
 * instruction in user space.
 *
 * A P in GMP_P_SYSCALL_M(m) is taken by the CAS of its status word that
 * exitsyscall races with (sysmon.c's retake), whether its M sleeps or runs.
 *
 * Preemption by handoff: a G that has run 10 ms without entering its
 * scheduler (sysmon sees its schedtick stand still) gets a preempt request,
 * and its M a task_work, which runs in the M's own context at its next
 * return to user space (kick_process makes that immediate).  There, with
 * the thread stopped, the inruntime word is read race-free: if the M is in
 * G code its P goes to another M, and the G runs on, on its own thread,
 * without a P, until its next runtime call.  No G is ever switched out in
 * the middle of C code.
 *
 * Why no P is ever run by two Ms
 * ------------------------------
 * The kernel's truth (m->p, p->m, under sched->lock) moves a P away from an
 * M only (a) with the M's consent (park, release, wake's handoff), (b) by
 * the status-word CAS of a P in a system call, which user space's return
 * path must win to keep it, (c) by the EXPIRED -> TAKEN swap while its
 * thread sleeps outside its scheduler, or (d) in the M's own task_work
 * while it runs G code.  In (c) and (d) the slot says GMP_NONE before the
 * thread runs another user instruction, and user space checks the slot
 * before touching its P.  A user space that breaks its side of the protocol
 * (a wrong inruntime) can corrupt only its own scheduling: the kernel's
 * state stays consistent whatever the shared pages say.
 *
 * Lifetime
 * --------
 * An M's notifier is registered by its own thread at REGISTER and removed
 * by its own thread: at UNREGISTER, or through a task_work queued when the
 * instance shuts down (TWA_RESUME: it runs when the thread next returns to
 * user space, or in do_exit()).  A thread that exits with the notifier on
 * fires sched_out one last time in TASK_DEAD: the M becomes DEAD and its
 * list is never walked again.  While its notifier is on, an M holds a
 * reference on the instance (gmp_sched_put()), and the instance one on the
 * module, so that no notifier, timer or task_work ever runs on freed memory
 * or after rmmod.  The last sched_out arms the M's timer before it publishes
 * DEAD (interrupts are off, and the timer is pinned to this CPU: it cannot
 * fire first); whoever sees DEAD cancels the timer before freeing the M.
 */
#include <linux/hrtimer.h>
#include <linux/preempt.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include "compat.h"
#include "gmp.h"

#ifndef CONFIG_PREEMPT_NOTIFIERS
#error "gmp.ko needs CONFIG_PREEMPT_NOTIFIERS (selected by CONFIG_KVM)"
#endif

#define GMP_TIMER_MODE	HRTIMER_MODE_REL_PINNED_HARD

/* Drop the M's reference on its instance, once (whoever sees it go). */
static void gmp_m_put_ref(struct gmp_m *m)
{
	if (!test_and_set_bit(GMP_MB_REF_DROPPED, &m->bits))
		gmp_sched_put(m->s);
}

/*
 * The M's timer: its grace period ran out, its thread died, or a holder
 * woke while sysmon sleeps.  Hard interrupt context: kick sysmon, no more.
 */
static enum hrtimer_restart gmp_m_timer_fn(struct hrtimer *t)
{
	struct gmp_m *m = container_of(t, struct gmp_m, timer);
	struct gmp_sched *s = m->s;
	int st = atomic_read_acquire(&m->mstate);

	if (st == GMP_MS_DEAD) {
		gmp_sysmon_kick(s, GMP_KICK_REAP);
		gmp_m_put_ref(m);	/* may free nothing yet: see gmp_sched_put() */
	} else if (st == GMP_MS_BLOCKED &&
		   atomic_cmpxchg(&m->mstate, GMP_MS_BLOCKED,
				  GMP_MS_EXPIRED) == GMP_MS_BLOCKED) {
		gmp_sysmon_kick(s, GMP_KICK_HANDOFF);
	} else {
		gmp_sysmon_kick(s, GMP_KICK_RUN);
	}
	return HRTIMER_NORESTART;
}

/* Runqueue lock held, interrupts off: atomics and the timer only. */
static void gmp_sched_out(struct preempt_notifier *pn, struct task_struct *next)
{
	struct gmp_m *m = container_of(pn, struct gmp_m, pn);
	struct gmp_sched *s = m->s;
	struct gmp_p *p;
	u64 grace;
	u32 word;

	if (READ_ONCE(current->__state) == TASK_DEAD) {
		atomic_set(&m->pnstate, GMP_PN_DEAD);
		hrtimer_start(&m->timer, 0, GMP_TIMER_MODE);
		atomic_inc(&s->ndead);
		atomic_set_release(&m->mstate, GMP_MS_DEAD);
		return;
	}
	if (gmp_task_runnable(current))	/* preempted, or yielding */
		return;
	/* Only this thread (or a handoff while it sleeps) changes m->p. */
	p = READ_ONCE(m->p);
	if (!p || !(s->flags & GMP_SETUP_HANDOFF) || READ_ONCE(s->dead)) {
		atomic_set(&m->mstate, GMP_MS_SLEEP);
		return;
	}
	word = READ_ONCE(p->kp->status);
	/* In a syscall bracket, user space said it may block: no grace. */
	grace = s->grace_ns;
	if (word == GMP_P_SYSCALL_M(m->id) || word == GMP_P_SYSCALL)
		grace = 0;
	else if (READ_ONCE(m->kslot->inruntime))
		grace = U64_MAX;	/* inside its scheduler: never */
	if (grace == U64_MAX) {
		atomic_set(&m->mstate, GMP_MS_SLEEP);
		return;
	}
	atomic_set(&m->mstate, GMP_MS_BLOCKED);
	gmp_stat(s, GMP_STAT_BLOCK);
	trace_gmp_block(s->id, m->id, p->id, grace);
	hrtimer_start(&m->timer, ns_to_ktime(grace), GMP_TIMER_MODE);
}

/* After the switch, before the thread can return to user space. */
static void gmp_sched_in(struct preempt_notifier *pn, int cpu)
{
	struct gmp_m *m = container_of(pn, struct gmp_m, pn);
	int old = atomic_xchg(&m->mstate, GMP_MS_RUNNING);

	if (old == GMP_MS_RUNNING)
		return;
	if (old != GMP_MS_SLEEP)	/* it blocked holding a P (gmp_block) */
		trace_gmp_unblock(m->s->id, m->id, old == GMP_MS_TAKEN);
	if (old == GMP_MS_BLOCKED)
		hrtimer_try_to_cancel(&m->timer);	/* running: it finds RUNNING */
	else if (old == GMP_MS_TAKEN)
		WRITE_ONCE(m->kslot->p, GMP_NONE);
	/* The taker wrote mstate from another CPU: the line comes back. */
	if (old == GMP_MS_TAKEN)
		gmp_shared_w(m->s);
	/*
	 * A holder runs again while sysmon sleeps for good: wake it, so that
	 * a G that now runs for 10 ms is seen.  Pairs with the barrier in
	 * gmp_sysmon_may_wait(): the xchg above is ordered before this load.
	 */
	if (READ_ONCE(m->p) && READ_ONCE(m->s->sysmon_wait))
		hrtimer_start(&m->timer, 0, GMP_TIMER_MODE);
}

static struct preempt_ops gmp_preempt_ops = {
	.sched_in = gmp_sched_in,
	.sched_out = gmp_sched_out,
};

/**
 * gmp_m_current() - is the calling thread an M of @s already?
 * @s: the instance
 *
 * Its own notifier list says so; no tid, which a dying thread may have
 * passed on to a new one before its last switch.
 *
 * Return: true if it is.
 */
bool gmp_m_current(struct gmp_sched *s)
{
	struct preempt_notifier *pn;
	bool found = false;

	preempt_disable();
	hlist_for_each_entry(pn, &current->preempt_notifiers, link) {
		if (pn->ops == &gmp_preempt_ops &&
		    container_of(pn, struct gmp_m, pn)->s == s)
			found = true;
	}
	preempt_enable();
	return found;
}

/**
 * gmp_m_watch() - the calling thread, M @m, starts being watched.
 * @m: the new M, of the calling thread, not yet published
 *
 * Takes a reference on the instance for as long as the notifier is on.
 */
void gmp_m_watch(struct gmp_m *m)
{
	hrtimer_init(&m->timer, CLOCK_MONOTONIC, GMP_TIMER_MODE);
	m->timer.function = gmp_m_timer_fn;
	atomic_set(&m->mstate, GMP_MS_RUNNING);
	atomic_set(&m->pnstate, GMP_PN_ON);
	kref_get(&m->s->ref);
	preempt_notifier_init(&m->pn, &gmp_preempt_ops);
	/* The list is walked at every switch of this thread: no switch now. */
	preempt_disable();
	preempt_notifier_register(&m->pn);
	preempt_enable();
}

/* Remove the notifier of the calling thread's M @m, if it is still on. */
static void gmp_m_unwatch_self(struct gmp_m *m)
{
	if (atomic_cmpxchg(&m->pnstate, GMP_PN_ON, GMP_PN_OFF) != GMP_PN_ON)
		return;
	preempt_disable();
	preempt_notifier_unregister(&m->pn);
	preempt_enable();
	/* Nothing arms the timer any more. */
	hrtimer_cancel(&m->timer);
	gmp_m_put_ref(m);
}

/**
 * gmp_m_unwatch() - the calling thread, M @m, stops being watched.
 * @m: the caller's M (UNREGISTER), or a DEAD M being freed
 *
 * After it, nothing of block.c touches @m: it may be freed (after RCU).
 */
void gmp_m_unwatch(struct gmp_m *m)
{
	if (m->task == current)
		gmp_m_unwatch_self(m);
	gmp_m_timer_cancel(m);
}

/**
 * gmp_m_timer_cancel() - wait until M @m's timer cannot run any more.
 * @m: an M whose notifier is off or DEAD (nothing re-arms the timer)
 *
 * Also drops the M's reference on the instance if its timer did not: the
 * caller must not hold the last other one.
 */
void gmp_m_timer_cancel(struct gmp_m *m)
{
	hrtimer_cancel(&m->timer);
	if (atomic_read(&m->pnstate) != GMP_PN_ON)
		gmp_m_put_ref(m);
}

/* A task_work of ours: it holds the instance, names its M by id and pid. */
struct gmp_twork {
	struct callback_head cb;
	struct gmp_sched *s;
	struct pid *pid;
	u32 m;
	u32 schedtick;
};

/* The M of the calling thread that @tw names, or NULL.  Under mlock or lock. */
static struct gmp_m *gmp_twork_m(struct gmp_twork *tw)
{
	struct gmp_m *m = xa_load(&tw->s->ms, tw->m);

	return m && m->pid == tw->pid && m->task == current ? m : NULL;
}

static void gmp_twork_free(struct gmp_twork *tw)
{
	put_pid(tw->pid);
	gmp_sched_put(tw->s);
	kfree(tw);
}

/*
 * Queue @fn for the thread of M @m.  Called under sched->lock or mlock
 * (M @m cannot go away).  Return: 0, -ESRCH (the thread is exiting: its
 * last sched_out does what we meant to), -ENOMEM.
 */
static int gmp_twork_queue(struct gmp_sched *s, struct gmp_m *m, u32 tick,
			   task_work_func_t fn, gfp_t gfp)
{
	struct gmp_twork *tw = kmalloc(sizeof(*tw), gfp);
	struct task_struct *t = NULL;
	int ret = -ESRCH;

	if (!tw)
		return -ENOMEM;
	tw->s = s;
	tw->pid = get_pid(m->pid);
	tw->m = m->id;
	tw->schedtick = tick;
	init_task_work(&tw->cb, fn);
	kref_get(&s->ref);
	rcu_read_lock();
	if (atomic_read_acquire(&m->mstate) != GMP_MS_DEAD) {
		t = m->task;
		get_task_struct(t);
	}
	rcu_read_unlock();
	if (t) {
		ret = task_work_add(t, &tw->cb, TWA_RESUME);
		if (!ret)
			kick_process(t);
		put_task_struct(t);
	}
	if (ret) {
		/* Never the last reference: the caller's keeps it alive. */
		put_pid(tw->pid);
		refcount_dec(&s->ref.refcount);
		kfree(tw);
	}
	return ret;
}

static void gmp_unwatch_fn(struct callback_head *cb)
{
	struct gmp_twork *tw = container_of(cb, struct gmp_twork, cb);
	struct gmp_m *m;

	mutex_lock(&tw->s->mlock);
	m = gmp_twork_m(tw);
	if (m)
		gmp_m_unwatch_self(m);
	mutex_unlock(&tw->s->mlock);
	gmp_twork_free(tw);
}

/**
 * gmp_m_unwatch_remote() - have M @m's thread remove its notifier (shutdown).
 * @s: the instance, shut down
 * @m: the M; called with mlock held
 */
void gmp_m_unwatch_remote(struct gmp_sched *s, struct gmp_m *m)
{
	lockdep_assert_held(&s->mlock);
	if (atomic_read(&m->pnstate) != GMP_PN_ON)
		return;
	if (m->task == current) {
		gmp_m_unwatch_self(m);
		return;
	}
	/* -ENOMEM leaves it on until the thread exits: still safe. */
	gmp_twork_queue(s, m, 0, gmp_unwatch_fn, GFP_KERNEL_ACCOUNT);
}

/*
 * Preemption by handoff, in the M's own context: if its G still runs the
 * time slice sysmon saw, outside the scheduler, its P goes to another M.
 */
static void gmp_preempt_fn(struct callback_head *cb)
{
	struct gmp_twork *tw = container_of(cb, struct gmp_twork, cb);
	struct gmp_sched *s = tw->s;
	struct gmp_wakeq wq = { .n = 0 };
	struct gmp_m *m;
	struct gmp_p *p;

	gmp_sched_lock(s);
	m = s->dead ? NULL : gmp_twork_m(tw);
	p = m ? m->p : NULL;
	if (p && READ_ONCE(p->kp->schedtick) == tw->schedtick &&
	    (READ_ONCE(p->kp->status) & GMP_P_STATUS_MASK) == GMP_P_RUNNING &&
	    !READ_ONCE(m->kslot->inruntime)) {
		__gmp_m_setp(m, NULL);
		gmp_stat(s, GMP_STAT_PREEMPT_HANDOFF);
		__gmp_handoffp(s, p, GMP_HANDOFF_PREEMPT, &wq);
	}
	spin_unlock(&s->lock);
	gmp_wakeq_flush(&wq);
	gmp_twork_free(tw);
}

/**
 * gmp_preempt_handoff() - ask M @m to give up its P if its G still runs.
 * @s: the instance, with GMP_SETUP_HANDOFF
 * @m: the M, holding a P whose schedtick stood at @schedtick for 10 ms
 * @schedtick: the time slice sysmon saw
 *
 * Called with sched->lock held (GFP_ATOMIC).
 *
 * Return: 0, or the error of queueing the task_work.
 */
int gmp_preempt_handoff(struct gmp_sched *s, struct gmp_m *m, u32 schedtick)
{
	lockdep_assert_held(&s->lock);
	return gmp_twork_queue(s, m, schedtick, gmp_preempt_fn,
			       GFP_ATOMIC | __GFP_ACCOUNT);
}

/**
 * __gmp_take_blocked() - commit the handoff of P @p from its sleeping holder.
 * @s: the instance
 * @p: a HELD P whose holder is EXPIRED (or may be: it is checked)
 * @wq: where to queue the M to wake
 *
 * Called with sched->lock held.
 *
 * Return: true if the P was taken and handed off.
 */
bool __gmp_take_blocked(struct gmp_sched *s, struct gmp_p *p,
			struct gmp_wakeq *wq)
	__must_hold(&s->lock)
{
	struct gmp_m *m = p->m;
	u32 word;

	lockdep_assert_held(&s->lock);
	if (p->state != GMP_PS_HELD || m->p != p ||
	    atomic_read(&m->mstate) != GMP_MS_EXPIRED)
		return false;
	word = READ_ONCE(p->kp->status);
	if (word == GMP_P_SYSCALL_M(m->id) || word == GMP_P_SYSCALL) {
		/* exitsyscall's CAS decides, whether the thread sleeps or not. */
		gmp_shared_w(s);
		if (cmpxchg(&p->kp->status, word, GMP_P_IDLE) != word)
			return false;
		gmp_shared_wn(s, 2);	/* the M's state and slot */
		atomic_cmpxchg(&m->mstate, GMP_MS_EXPIRED, GMP_MS_TAKEN);
		WRITE_ONCE(m->kslot->p, GMP_NONE);
	} else {
		/* The thread is asleep: its inruntime is what it left. */
		if (READ_ONCE(m->kslot->inruntime))
			return false;
		/* The commit: fails if the thread woke first (sched_in). */
		gmp_shared_w(s);
		if (atomic_cmpxchg(&m->mstate, GMP_MS_EXPIRED,
				   GMP_MS_TAKEN) != GMP_MS_EXPIRED)
			return false;
	}
	/* m->p only: its slot is the thread's to write, at sched_in. */
	m->p = NULL;
	p->m = NULL;
	gmp_stat(s, GMP_STAT_BLOCK_HANDOFF);
	__gmp_handoffp(s, p, GMP_HANDOFF_BLOCK, wq);
	return true;
}

/** gmp_block_init() - at module load: turn the notifiers on. */
int gmp_block_init(void)
{
	BUILD_BUG_ON(sizeof(struct gmp_p_page) > PAGE_SIZE);
	BUILD_BUG_ON(sizeof(struct gmp_m_slot) != L1_CACHE_BYTES);
	preempt_notifier_inc();
	return 0;
}

/** gmp_block_exit() - at module unload: no notifier of ours is left. */
void gmp_block_exit(void)
{
	preempt_notifier_dec();
}
