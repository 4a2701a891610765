// SPDX-License-Identifier: GPL-2.0
/*
 * gmp.ko: Ps and Ms handed over, parked and woken.
 *
 * READ THIS BEFORE HACKING
 * ========================
 *
 * Glossary (Go's): a G is a goroutine, known here only as an opaque 64-bit
 * handle.  An M is a thread that registered with the instance.  A P is the
 * right to run Gs; an M runs Gs only while it holds a P.  "Spinning" Ms hold a
 * P and look for work (stealing) without having found any yet; nmspinning
 * counts them.  "Park" is Go's stopm around notesleep; "wake" is startm around
 * notewakeup.
 *
 * What makes this hard
 * --------------------
 * User space runs the fast paths on shared memory with no syscall: it puts Gs
 * on its P's ring (runqput), takes them (runqget), steals from other rings,
 * and enters and leaves spinning by atomics on the nmspinning word.  Only
 * sleeping and waking come here.  So the classic lost-wakeup race is spread
 * over two address spaces:
 *
 *   a G is put on a ring by a running M at the very moment the last spinning
 *   M gives up and parks; nobody wakes anyone; the G waits for its own M.
 *
 * The rule Go lives by ("if findrunnable would return a G to run, handoffp
 * must start an M") must hold across the boundary.
 *
 * Rejected approaches
 * -------------------
 *  - An ioctl per run queue operation: correct and simple, and an order of
 *    magnitude slower than Go (a syscall is 100+ ns, Go's runqput a few).
 *  - Waking an M for every new G: a thundering herd; Go wakes at most one
 *    spinning M at a time (wakep's CAS of nmspinning 0->1).
 *  - A plain futex per M: loses "park releases the P and rechecks all queues
 *    atomically with going idle", which is what makes the protocol below safe
 *    without a lock in user space.
 *
 * The protocol (Dekker's, as in Go's proc.go "Worker thread parking")
 * -------------------------------------------------------------------
 * Submitter (user space, after runqput)      Parking spinning M (this file)
 *   store ring tail / runnext                  pidleput: npidle++ (mirrored)
 *   (A) full fence (seq_cst)                   nmspinning-- (atomic)
 *   load npidle, nmspinning                    (B) smp_mb()
 *   if npidle > 0 && nmspinning == 0:          load every P's timer0when, and
 *     CAS nmspinning 0 -> 1, GMP_IOC_WAKE        every ring's head, tail and
 *                                                runnext
 *
 * With (A) and (B), at least one side sees the other's store: either the
 * submitter sees nmspinning == 0 (and an idle P) and wakes an M, or the
 * parking M sees the new G and returns GMP_PARKED_WORK holding a P (and
 * spinning again, so that it in turn will wake another when it finds work:
 * Go's resetspinning).  If the submitter sees nmspinning != 0, some other
 * spinning M exists, and it is bound by the same argument when it parks.
 * If it sees npidle == 0, every P is held by an M that will run the G itself.
 *
 * An M that parks without having spun does not recheck the rings, as in Go:
 * a non-spinning M exists only while enough others spin (2 * nmspinning >=
 * busy Ps), and the last of those does the recheck.  The global queue and
 * the timers are rechecked on every park: looking costs nothing.  So is the
 * parking M's own ring: a P with Gs on it is kept, not idled (Go throws
 * "pidleput: P has non-empty run queue"; we cannot let user space strand
 * Gs on an idle P that no spinning M may be left to look at).
 *
 * Timers follow the same pattern.  Each P publishes the deadline of its
 * earliest timer in timer0when (Go's p.timer0When); a G adding an earlier
 * timer stores it, fences (A), and calls wakep.  A parking M reads every
 * timer0when behind (B) and sleeps no later than the earliest, so a timer
 * added while it parked is never slept through.  A timer added while no P
 * was idle woke nobody; it is seen when its P is released: through park
 * (whose recheck sees it) or through handoffp (sysmon, release, a dead M),
 * which counts a pending timer as work and starts an M, as Go's does.
 *
 * The note (C): a wake sets the M's note under sched->lock and then wakes the
 * task; the parked M sets TASK_INTERRUPTIBLE (a full barrier) before reading
 * its note.  A wake that comes before the park (GMP_WAKE_TARGET at an M that
 * has not parked yet) leaves the note set, and the park returns at once.
 *
 * Who writes what
 * ---------------
 *  - P ring: the owner M writes runqtail and runnext; any M CASes runqhead
 *    and runnext.  The kernel only reads them, here and in sysmon.
 *  - P status: the kernel writes it on every handover (IDLE, RUNNING); the
 *    owner M stores GMP_P_SYSCALL_M(its id) and CASes that word back to
 *    RUNNING on return; sysmon CASes the word it saw to IDLE to retake.
 *    Exactly one CAS wins.  The owner's id is in the word because, unlike
 *    Go's, our P has a holder the kernel keeps: with a bare SYSCALL, an M
 *    back from a long syscall would win its CAS on a P that sysmon retook
 *    and handed to another M, now in a syscall of its own (ABA), and two
 *    Ms would run one P while the kernel names only one of them.
 *  - npidle, nmidle, runqsize, gomaxprocs: the kernel, under sched->lock, in
 *    the read-only page.  nmspinning: both sides, atomically.
 *  - Kernel truth (P state and holder, M idle list, notes) lives in kernel
 *    memory only: nothing user space writes can corrupt it.
 */
#include <linux/cpumask.h>
#include <linux/hrtimer.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include "gmp.h"

static void gmp_wakeq_add(struct gmp_wakeq *wq, struct task_struct *t)
{
	if (wq->n == ARRAY_SIZE(wq->task)) {
		/* Rare (sysmon retaking many Ps at once): wake under the lock. */
		wake_up_process(t);
		return;
	}
	get_task_struct(t);
	wq->task[wq->n++] = t;
}

/**
 * gmp_wakeq_flush() - wake the tasks queued under sched->lock.
 * @wq: the queue; empty afterwards
 *
 * Called after sched->lock is dropped, so that the woken M does not at once
 * contend for it.
 */
void gmp_wakeq_flush(struct gmp_wakeq *wq)
{
	int i;

	for (i = 0; i < wq->n; i++) {
		wake_up_process(wq->task[i]);
		put_task_struct(wq->task[i]);
	}
	wq->n = 0;
}

/* nmspinning is user-writable: bounded retries, never below zero. */
static void __gmp_spinning_dec(struct gmp_sched *s)
{
	u32 *w = gmp_nmspinning(s);
	u32 v = READ_ONCE(*w);
	int tries;

	for (tries = 0; v && tries < 16; tries++) {
		u32 old;

		gmp_shared_w(s);
		old = cmpxchg(w, v, v - 1);

		if (old == v)
			return;
		v = old;
	}
}

static void __gmp_spinning_inc(struct gmp_sched *s)
{
	gmp_shared_w(s);
	atomic_inc((atomic_t *)gmp_nmspinning(s));
}

/**
 * __gmp_runq_empty() - does P's ring or runnext look empty?
 * @p: the P
 *
 * Reads user-writable memory: the answer is a hint.  A consistent snapshot
 * needs tail unchanged across the reads (runqput may move runnext into the
 * ring); the loop is bounded, and "not empty" is the safe answer.
 *
 * Return: true if the ring and runnext were seen empty.
 */
bool __gmp_runq_empty(struct gmp_p *p)
{
	struct gmp_p_page *kp = p->kp;
	int tries;

	for (tries = 0; tries < 4; tries++) {
		u32 head = READ_ONCE(kp->runqhead);
		u32 tail = READ_ONCE(kp->runqtail);
		u64 next = READ_ONCE(kp->runnext);

		if (tail == READ_ONCE(kp->runqtail))
			return head == tail && !next;
	}
	return false;
}

/**
 * __gmp_pidleput() - put P on the idle list (Go's pidleput).
 * @s: the instance
 * @p: a P that nobody holds any more
 *
 * A P out of force (a resize shrank the instance) stops instead.
 * Called with sched->lock held.
 */
void __gmp_pidleput(struct gmp_sched *s, struct gmp_p *p)
	__must_hold(&s->lock)
{
	lockdep_assert_held(&s->lock);
	if (gmp_p_retiring(s, p)) {
		__gmp_pstop(s, p);
		return;
	}
	p->state = GMP_PS_IDLE;
	p->m = NULL;
	WRITE_ONCE(p->kp->m, GMP_NONE);
	WRITE_ONCE(p->kp->status, s->dead ? GMP_P_DEAD : GMP_P_IDLE);
	list_add(&p->idle, &s->pidle);
	s->npidle++;
	WRITE_ONCE(s->ks->npidle, s->npidle);
	/* The P's page, the idle list with its count, the shared npidle. */
	gmp_shared_wn(s, 3);
}

/* Take P @p off the idle list, if it is idle.  Called with sched->lock held. */
struct gmp_p *__gmp_pidleget_id(struct gmp_sched *s, struct gmp_p *p)
	__must_hold(&s->lock)
{
	if (p->state != GMP_PS_IDLE)
		return NULL;
	list_del_init(&p->idle);
	s->npidle--;
	WRITE_ONCE(s->ks->npidle, s->npidle);
	gmp_shared_wn(s, 2);
	return p;
}

/**
 * __gmp_pidleget() - take a P off the idle list (Go's pidleget).
 * @s: the instance
 *
 * The caller makes it HELD or RESERVED.  Called with sched->lock held.
 *
 * Return: the P, or NULL if none is idle.
 */
struct gmp_p *__gmp_pidleget(struct gmp_sched *s)
	__must_hold(&s->lock)
{
	struct gmp_p *p;

	lockdep_assert_held(&s->lock);
	p = list_first_entry_or_null(&s->pidle, struct gmp_p, idle);
	return p ? __gmp_pidleget_id(s, p) : NULL;
}

/**
 * __gmp_hold() - P now belongs to M (held, or handed over through its note).
 * @s: the instance
 * @p: the P
 * @m: the M
 *
 * Sysmon's clocks for P restart (0: sysmon starts them at its next look),
 * so that a P just handed over is not mistaken for one that has run a G
 * for too long.  No clock is read here: on the wake path it would cost
 * more than the rest (under emulation the clocksource is an emulated HPET).
 */
void __gmp_hold(struct gmp_sched *s, struct gmp_p *p, struct gmp_m *m)
	__must_hold(&s->lock)
{
	p->state = GMP_PS_HELD;
	p->m = m;
	p->schedtick = READ_ONCE(p->kp->schedtick);
	p->syscalltick = READ_ONCE(p->kp->syscalltick);
	p->schedwhen = 0;
	p->syscallwhen = 0;
	WRITE_ONCE(p->kp->m, m->id);
	WRITE_ONCE(p->kp->status, GMP_P_RUNNING);
	gmp_shared_w(s);
	/* Something runs: sysmon, if it sleeps for good, has work again. */
	__gmp_sysmon_kick(s);
}

/**
 * __gmp_m_setp() - M now holds P (or none), as far as M is told.
 * @m: the M
 * @p: the P, or NULL
 *
 * The M's slot mirrors it (GMP_OFF_MS): user space compares the slot with
 * the P it believes it holds.  Called with sched->lock held, in M's own
 * context, or while M cannot run user code (block.c).
 */
void __gmp_m_setp(struct gmp_m *m, struct gmp_p *p)
{
	m->p = p;
	WRITE_ONCE(m->kslot->p, p ? p->id : GMP_NONE);
}

/* P waits for an M that does not exist yet. */
static void __gmp_reserve(struct gmp_sched *s, struct gmp_p *p)
{
	gmp_shared_w(s);
	p->state = GMP_PS_RESERVED;
	p->m = NULL;
	WRITE_ONCE(p->kp->m, GMP_NONE);
	WRITE_ONCE(p->kp->status, GMP_P_RUNNING);
}

static void __gmp_mput(struct gmp_sched *s, struct gmp_m *m)
{
	m->parked = true;
	list_add(&m->idle, &s->midle);
	s->nmidle++;
	WRITE_ONCE(s->ks->nmidle, s->nmidle);
	gmp_shared_wn(s, 2);	/* the idle list with its count, nmidle */
}

static void __gmp_mremove(struct gmp_sched *s, struct gmp_m *m)
{
	list_del_init(&m->idle);
	m->parked = false;
	s->nmidle--;
	WRITE_ONCE(s->ks->nmidle, s->nmidle);
	gmp_shared_wn(s, 2);
}

static struct gmp_m *__gmp_mget(struct gmp_sched *s)
{
	struct gmp_m *m = list_first_entry_or_null(&s->midle, struct gmp_m, idle);

	if (m)
		__gmp_mremove(s, m);
	return m;
}

/*
 * Hand P to M through its note (Go's mp.nextp = pp; notewakeup). (C)  Only
 * an M that was parked sleeps on its note (its thread is in our call, so
 * alive); one that has not parked yet finds the note when it does.
 */
static void __gmp_note(struct gmp_sched *s, struct gmp_m *m, struct gmp_p *p,
		       bool spinning, bool parked, struct gmp_wakeq *wq)
{
	if (p)
		__gmp_hold(s, p, m);
	m->nextp = p;
	m->nextspinning = spinning;
	m->noteerr = 0;
	WRITE_ONCE(m->note, true);
	/* The note's line, and the woken task's state and runqueue. */
	gmp_shared_wn(s, parked ? 2 : 1);
	if (parked)
		gmp_wakeq_add(wq, m->task);
}

/*
 * Go's startm(pp, spinning) for the kernel's own handoffs (sysmon, release,
 * dead Ms): an idle M gets P; with none, a template thread waiting in
 * GMP_IOC_NEWM_WAIT makes a new M for it.  A spinning start without an idle
 * M is not worth a new thread: P goes idle.
 */
void __gmp_startm(struct gmp_sched *s, struct gmp_p *p, bool spinning,
		  struct gmp_wakeq *wq)
{
	struct gmp_m *m = __gmp_mget(s);

	if (m) {
		__gmp_note(s, m, p, spinning, true, wq);
		return;
	}
	if (spinning)
		__gmp_spinning_dec(s);
	if (!spinning &&
	    (s->newm_waiters || (s->flags & GMP_SETUP_TEMPLATE))) {
		__gmp_reserve(s, p);
		list_add_tail(&p->newm, &s->newmq);
		gmp_shared_wn(s, 2);	/* the queue, the template's wake */
		gmp_stat(s, GMP_STAT_NEWM);
		trace_gmp_newm(s->id, p->id);
		wake_up(&s->newm_wq);
		return;
	}
	__gmp_pidleput(s, p);
}

/*
 * handoffp of a P out of force.  Gs on its ring need an M, which takes
 * them to the global queue and releases the P (procresize.c); without Gs
 * it stops.  Its timers stay on it, for an M to adopt: an M is started on
 * an idle P for them, as for a pending timer below, and for the global
 * queue's Gs, which were this P's to serve too.
 */
static void __gmp_handoff_retiring(struct gmp_sched *s, struct gmp_p *p,
				   struct gmp_wakeq *wq)
{
	struct gmp_p *q;
	bool timer;

	if (!__gmp_runq_empty(p)) {
		__gmp_startm(s, p, false, wq);
		return;
	}
	timer = READ_ONCE(p->kp->timer0when);
	__gmp_pstop(s, p);
	if (!timer && !s->gq_size)
		return;
	q = __gmp_pidleget(s);
	if (q)
		__gmp_startm(s, q, false, wq);
}

/**
 * __gmp_handoffp() - find an M for a P nobody holds (Go's handoffp).
 * @s: the instance
 * @p: the P, taken from its holder or its reservation
 * @why: what took it (the gmp_handoff tracepoint's reason)
 * @wq: where to queue the task to wake
 *
 * Starts an M if P has local work, a timer pending or the global queue has
 * work; starts a spinning M if nobody spins and no P is idle; otherwise
 * idles P.  Called with sched->lock held.
 */
void __gmp_handoffp(struct gmp_sched *s, struct gmp_p *p,
		    enum gmp_handoff_why why, struct gmp_wakeq *wq)
	__must_hold(&s->lock)
{
	u32 *spin = gmp_nmspinning(s);

	lockdep_assert_held(&s->lock);
	if (s->dead) {
		trace_gmp_handoff(s->id, p->id, why, GMP_HANDOFF_TO_DEAD);
		__gmp_pidleput(s, p);
		return;
	}
	if (gmp_p_retiring(s, p)) {
		trace_gmp_handoff(s->id, p->id, why, __gmp_runq_empty(p) ?
				  GMP_HANDOFF_TO_STOP : GMP_HANDOFF_TO_M);
		__gmp_handoff_retiring(s, p, wq);
		return;
	}
	/*
	 * A P with a timer pending counts as one with work: Go's handoffp
	 * wakes an M for it (wakeNetPoller).  Idled, the P's timer would be
	 * seen by no parked M, whose sleeps were sized before it was added.
	 * The M parks again at once if the timer is not due, and its park
	 * sleeps until it.
	 */
	if (!__gmp_runq_empty(p) || s->gq_size ||
	    READ_ONCE(p->kp->timer0when)) {
		trace_gmp_handoff(s->id, p->id, why, GMP_HANDOFF_TO_M);
		__gmp_startm(s, p, false, wq);
		return;
	}
	if (!READ_ONCE(*spin) && !s->npidle && gmp_shared_w_true(s) &&
	    cmpxchg(spin, 0, 1) == 0) {
		trace_gmp_handoff(s->id, p->id, why, GMP_HANDOFF_TO_SPIN);
		__gmp_startm(s, p, true, wq);
		return;
	}
	trace_gmp_handoff(s->id, p->id, why, GMP_HANDOFF_TO_IDLE);
	__gmp_pidleput(s, p);
}

/**
 * __gmp_drop_m() - an M leaves (unregisters, or its thread died).
 * @s: the instance
 * @m: the M
 * @wq: where to queue tasks to wake
 *
 * Whatever it holds or was handed goes to another M (handoffp), so that no
 * P is lost.  Called with sched->lock held.
 */
void __gmp_drop_m(struct gmp_sched *s, struct gmp_m *m, struct gmp_wakeq *wq)
	__must_hold(&s->lock)
{
	lockdep_assert_held(&s->lock);
	if (m->parked)
		__gmp_mremove(s, m);
	if (m->lockwait) {
		list_del_init(&m->idle);
		m->lockwait = false;
	}
	if (m->p) {
		struct gmp_p *p = m->p;

		__gmp_m_setp(m, NULL);
		p->m = NULL;
		__gmp_handoffp(s, p, GMP_HANDOFF_DEADM, wq);
	}
	if (m->note && m->nextp) {
		struct gmp_p *p = m->nextp;

		m->nextp = NULL;
		__gmp_handoffp(s, p, GMP_HANDOFF_DEADM, wq);
	}
	m->note = false;
}

/**
 * __gmp_wake_all() - give every parked M a note with an error (shutdown).
 * @s: the instance
 * @err: the error their park returns
 *
 * Each M's thread is referenced in @m->wake_task, to be woken by the
 * caller once sched->lock is dropped (gmp_wake_all_flush()): up to
 * GMP_MAX_M wakeups are too many to make under a spinlock.  Called with
 * sched->lock and mlock held (no M is freed before the flush).
 */
void __gmp_wake_all(struct gmp_sched *s, int err)
	__must_hold(&s->lock)
{
	struct gmp_m *m, *tmp;

	lockdep_assert_held(&s->lock);
	lockdep_assert_held(&s->mlock);
	list_for_each_entry_safe(m, tmp, &s->midle, idle) {
		__gmp_mremove(s, m);
		m->nextp = NULL;
		m->noteerr = err;
		WRITE_ONCE(m->note, true);
		m->wake_task = get_task_struct(m->task);
	}
	list_for_each_entry_safe(m, tmp, &s->mlocked, idle) {
		list_del_init(&m->idle);
		m->lockwait = false;
		m->nextp = NULL;
		m->noteerr = err;
		WRITE_ONCE(m->note, true);
		m->wake_task = get_task_struct(m->task);
	}
}

/**
 * gmp_wake_all_flush() - wake the Ms __gmp_wake_all() gave notes to.
 * @s: the instance; called with mlock held, sched->lock not
 */
void gmp_wake_all_flush(struct gmp_sched *s)
{
	struct gmp_m *m;
	unsigned long id;

	lockdep_assert_held(&s->mlock);
	xa_for_each(&s->ms, id, m) {
		if (!m->wake_task)
			continue;
		wake_up_process(m->wake_task);
		put_task_struct(m->wake_task);
		m->wake_task = NULL;
		cond_resched();
	}
}

/* Take what a wake left in M's note.  Called with sched->lock held. */
static int __gmp_take_note(struct gmp_m *m, struct gmp_park *a)
{
	gmp_shared_w(m->s);	/* the note's line comes back from the waker */
	m->note = false;
	if (m->noteerr)
		return m->noteerr;
	__gmp_m_setp(m, m->nextp);
	m->nextp = NULL;
	m->spinning = m->nextspinning;
	a->result = GMP_PARKED_WOKEN;
	a->p = m->p ? m->p->id : GMP_NONE;
	a->oflags = m->nextspinning ? GMP_PARKED_SPINNING : 0;
	return 0;
}

/* M takes an idle P for itself, if there is one. */
static void __gmp_acquire_any(struct gmp_sched *s, struct gmp_m *m,
			      struct gmp_park *a)
{
	struct gmp_p *p = __gmp_pidleget(s);

	if (p) {
		__gmp_hold(s, p, m);
		__gmp_m_setp(m, p);
	}
	a->p = p ? p->id : GMP_NONE;
}

/*
 * Sleep until the note is set, *@pollready (if not NULL) is true, @deadline
 * (absolute ns, 0: none) passes or a signal comes.  Return: 0 (note or
 * poll), -ETIMEDOUT or -EINTR.
 */
static int gmp_sleep(struct gmp_m *m, u64 deadline, const bool *pollready)
{
	/* Past KTIME_MAX is never (schedule_hrtimeout_range()'s own "never"). */
	ktime_t t = deadline > KTIME_MAX ? KTIME_MAX : ns_to_ktime(deadline);
	int ret = 0;

	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);	/* (C) */
		if (READ_ONCE(m->note))
			break;
		if (pollready && READ_ONCE(*pollready))
			break;
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (deadline) {
			if (!schedule_hrtimeout_range(&t, 0, HRTIMER_MODE_ABS)) {
				ret = -ETIMEDOUT;
				break;
			}
		} else {
			schedule();
		}
	}
	__set_current_state(TASK_RUNNING);
	return ret;
}

/*
 * The earliest timer of any P, from the timer0when words user space keeps
 * (Go's checkTimersNoP): a hint, 0 if none.
 */
static u64 __gmp_timers_min(struct gmp_sched *s)
{
	u64 min = 0;
	int i;

	/* Stopped Ps too: their timers wait for an M to adopt them. */
	for (i = 0; i < s->nallp; i++) {
		u64 w = READ_ONCE(s->allp[i]->kp->timer0when);

		if (w && (!min || w < min))
			min = w;
	}
	return min;
}

/**
 * gmp_park() - Go's stopm around notesleep, with findrunnable's last checks.
 * @s: the instance
 * @m: the calling M
 * @a: the request; its out fields are filled
 *
 * Releases the P that M holds, leaves spinning, and behind barrier (B)
 * rechecks the global queue, every P's timers (timer0when) and, for a
 * spinning M, every P's ring; only then puts M on the idle list and sleeps
 * until a wake hands it a P, a deadline passes (its own, or the earliest
 * timer of any P), or a signal comes.  When a timer's deadline passes and
 * no P is idle, M sleeps on: the next M to release a P sees the expired
 * timer here and runs it.
 *
 * With GMP_PARK_POLL, a readable epoll file @a->pollfd ends the sleep too
 * (pollwait.c): GMP_PARKED_POLL, with an idle P if there is one.
 *
 * Return: 0 with @a->result telling why; -EINTR on a signal (M is off the
 * idle list, holds no P); -ESHUTDOWN if the instance was closed; -EBADF or
 * -EINVAL if @a->pollfd is not an open epoll file.
 */
/*
 * GMP_PARK_LOCKED: Go's stoplockedm.  M's G is locked to it, so M runs
 * nothing else: its P goes to whoever should run the other Gs (handoffp,
 * not the idle list: Gs may be queued on it), and M sleeps off the idle
 * list, where no ordinary wake finds it, until the M that readies its G
 * hands it a P with GMP_WAKE_TARGET (Go's startlockedm).  That wake may
 * come first: then the note is here already and M goes on at once.
 */
static int gmp_park_locked(struct gmp_sched *s, struct gmp_m *m,
			   struct gmp_park *a)
{
	struct gmp_wakeq wq = { .n = 0 };
	int ret;

	gmp_sched_lock(s);
	if (s->dead) {
		ret = -ESHUTDOWN;
		goto out;
	}
	if (m->p) {
		struct gmp_p *p = m->p;

		__gmp_m_setp(m, NULL);
		p->m = NULL;
		__gmp_handoffp(s, p, GMP_HANDOFF_LOCKED, &wq);
	}
	/*
	 * Not a spinning M (the flag is refused with LOCKED): m->spinning
	 * only says how its last wake came.  That count was user space's to
	 * drop (resetspinning, before the M ran its G); dropping it here too
	 * took another spinner's, and user space found nmspinning negative.
	 */
	m->spinning = false;
	if (!m->note) {
		m->lockwait = true;
		list_add(&m->idle, &s->mlocked);
		spin_unlock(&s->lock);
		gmp_wakeq_flush(&wq);
		ret = gmp_sleep(m, 0, NULL);
		gmp_sched_lock(s);
		if (m->lockwait) {		/* a signal, not a wake */
			list_del_init(&m->idle);
			m->lockwait = false;
		}
	}
	ret = m->note ? __gmp_take_note(m, a) : -EINTR;
out:
	spin_unlock(&s->lock);
	gmp_wakeq_flush(&wq);
	return ret;
}

static int __gmp_park(struct gmp_sched *s, struct gmp_m *m, struct gmp_park *a,
		      struct gmp_pollwait *pw);

int gmp_park(struct gmp_sched *s, struct gmp_m *m, struct gmp_park *a)
{
	struct gmp_pollwait pw = { .file = NULL };
	int ret;

	a->p = GMP_NONE;
	a->oflags = 0;
	gmp_stat(s, GMP_STAT_PARK);
	/* Threads that died: their Ps may be what this M should run. */
	if (unlikely(atomic_read(&s->ndead)))
		gmp_reap_dead(s);
	if (a->flags & GMP_PARK_LOCKED)
		return gmp_park_locked(s, m, a);
	/* Armed before sched->lock: vfs_poll() may sleep (epoll's mutex). */
	if (a->flags & GMP_PARK_POLL) {
		ret = gmp_pollwait_arm(&pw, a->pollfd);
		if (ret)
			return ret;
	}
	ret = __gmp_park(s, m, a, pw.file ? &pw : NULL);
	gmp_pollwait_disarm(&pw);
	return ret;
}

static int __gmp_park(struct gmp_sched *s, struct gmp_m *m, struct gmp_park *a,
		      struct gmp_pollwait *pw)
{
	bool spinning = a->flags & GMP_PARK_SPINNING;
	bool has_mine = a->flags & GMP_PARK_DEADLINE;
	/* 0 means "none" below: a deadline of 0 is just long past. */
	u64 mine = has_mine ? max_t(u64, a->deadline, 1) : 0;
	u64 now, timers, deadline;
	int i, ret;

	gmp_sched_lock(s);
	if (s->dead) {
		ret = -ESHUTDOWN;
		goto out_unlock;
	}
	if (m->p && !m->note && !__gmp_runq_empty(m->p)) {
		/*
		 * Gs left in the parking M's own ring would be stranded on an
		 * idle P (Go throws "pidleput: P has non-empty run queue"):
		 * keep the P, there is work.
		 */
		a->result = GMP_PARKED_WORK;
		a->p = m->p->id;
		if (spinning) {
			a->oflags = GMP_PARKED_SPINNING;
			m->spinning = true;
		}
		ret = 0;
		goto out_unlock;
	}
	if (m->p) {
		__gmp_pidleput(s, m->p);
		__gmp_m_setp(m, NULL);
	}
	if (spinning)
		__gmp_spinning_dec(s);
	m->spinning = false;

	if (m->note) {			/* a wake came before the park */
		ret = __gmp_take_note(m, a);
		goto out_unlock;
	}
	ret = 0;
	if (s->gq_size) {
		__gmp_acquire_any(s, m, a);
		if (m->p) {
			a->result = GMP_PARKED_WORK;
			goto out_unlock;
		}
	}
	smp_mb();	/* (B): pairs with (A) in user space's wakep and timer adds */
	timers = __gmp_timers_min(s);
	/* The clock only if something is timed (see __gmp_hold()). */
	now = (timers || mine) ? ktime_get_ns() : 0;
	if (timers && timers <= now) {
		__gmp_acquire_any(s, m, a);
		if (m->p) {
			a->result = GMP_PARKED_WORK;
			goto out_unlock;
		}
		timers = 0;
	}
	if (spinning) {
		for (i = 0; i < s->nallp; i++) {
			if (__gmp_runq_empty(s->allp[i]))
				continue;
			__gmp_acquire_any(s, m, a);
			if (m->p) {
				a->result = GMP_PARKED_WORK;
				a->oflags = GMP_PARKED_SPINNING;
				m->spinning = true;
				__gmp_spinning_inc(s);
				goto out_unlock;
			}
			break;
		}
	}
	if (mine && mine <= now) {
		__gmp_acquire_any(s, m, a);
		a->result = GMP_PARKED_TIMEOUT;
		goto out_unlock;
	}
	if (pw && READ_ONCE(pw->ready)) {	/* events wait already */
		__gmp_acquire_any(s, m, a);
		a->result = GMP_PARKED_POLL;
		gmp_stat(s, GMP_STAT_POLLWAKE);
		goto out_unlock;
	}
	__gmp_mput(s, m);
	for (;;) {
		deadline = mine;
		if (timers && (!deadline || timers < deadline))
			deadline = timers;
		spin_unlock(&s->lock);
		ret = gmp_sleep(m, deadline, pw ? &pw->ready : NULL);
		gmp_sched_lock(s);
		if (m->note) {
			/* The waker took M off the idle list. */
			ret = __gmp_take_note(m, a);
			break;
		}
		if (ret == 0) {			/* the poll file, not a wake */
			__gmp_mremove(s, m);
			__gmp_acquire_any(s, m, a);
			a->result = GMP_PARKED_POLL;
			gmp_stat(s, GMP_STAT_POLLWAKE);
			break;
		}
		if (ret != -ETIMEDOUT) {
			__gmp_mremove(s, m);
			break;
		}
		ret = 0;
		if (mine && mine <= ktime_get_ns()) {
			__gmp_mremove(s, m);
			__gmp_acquire_any(s, m, a);
			a->result = GMP_PARKED_TIMEOUT;
			break;
		}
		/* A timer is due: run it if a P is idle, else leave it. */
		if (s->npidle) {
			__gmp_mremove(s, m);
			__gmp_acquire_any(s, m, a);
			a->result = GMP_PARKED_TIMEOUT;
			break;
		}
		timers = 0;
	}
out_unlock:
	spin_unlock(&s->lock);
	return ret;
}

/**
 * gmp_wake() - Go's startm around notewakeup.
 * @s: the instance
 * @m: the calling M
 * @a: the request; its out fields are filled
 *
 * Takes a P (the caller's own with GMP_WAKE_HANDOFF, idle P @a->p with
 * GMP_WAKE_PROC, else any idle P) and an M (M @a->target with
 * GMP_WAKE_TARGET, else any idle M), hands the P over and wakes the M.  With
 * no idle M, the P is reserved and returned, for a new thread to claim with
 * GMP_REGISTER_CLAIM; no P is ever lost.  A spinning wake that finds no
 * idle P gives back the caller's nmspinning increment.
 *
 * Return: 0 with @a->result; -EINVAL for a handoff without a P or an unknown
 * target; -EBUSY if the target has a wake pending or is the caller.
 */
int gmp_wake(struct gmp_sched *s, struct gmp_m *m, struct gmp_wake *a)
{
	bool spinning = a->flags & GMP_WAKE_SPINNING;
	struct gmp_wakeq wq = { .n = 0 };
	struct gmp_m *t = NULL;
	bool parked;
	struct gmp_p *p;
	int ret = 0;

	gmp_stat(s, GMP_STAT_WAKE);
	gmp_sched_lock(s);
	if (s->dead) {
		ret = -ESHUTDOWN;
		goto out;
	}
	if (a->flags & GMP_WAKE_TARGET) {
		t = xa_load(&s->ms, a->target);
		if (!t) {
			ret = -EINVAL;
			goto out;
		}
		/*
		 * A target that still holds a P is a locked M on its way to
		 * GMP_PARK_LOCKED (its G was readied before it parked): the
		 * note waits for it, and its park hands its own P off.
		 */
		if (t == m || t->note) {
			ret = -EBUSY;
			goto out;
		}
	}
	if (a->flags & GMP_WAKE_HANDOFF) {
		p = m->p;
		if (!p) {
			ret = -EINVAL;
			goto out;
		}
		__gmp_m_setp(m, NULL);
	} else if (a->flags & GMP_WAKE_PROC) {
		p = gmp_p_get(s, a->p);
		if (!p) {
			ret = -EINVAL;
			goto out;
		}
		p = __gmp_pidleget_id(s, p);
	} else {
		p = __gmp_pidleget(s);
	}
	if (!p) {
		if (spinning)
			__gmp_spinning_dec(s);
		a->result = GMP_WOKE_NOPROC;
		a->p = GMP_NONE;
		goto out;
	}
	a->p = p->id;
	if (t) {
		parked = t->parked || t->lockwait;
		if (t->parked)
			__gmp_mremove(s, t);
		if (t->lockwait) {
			list_del_init(&t->idle);
			t->lockwait = false;
		}
	} else {
		t = __gmp_mget(s);
		parked = true;
	}
	if (!t) {
		__gmp_reserve(s, p);
		a->result = GMP_WOKE_NEWM;
		a->target = GMP_NONE;
		goto out;
	}
	__gmp_note(s, t, p, spinning, parked, &wq);
	a->result = GMP_WOKE_M;
	a->target = t->id;
out:
	spin_unlock(&s->lock);
	gmp_wakeq_flush(&wq);
	return ret;
}

/**
 * gmp_inject_wake() - start an M for each idle P, up to @n (Go's
 * injectglist from a thread without a P: GMP_RUNQ_WAKE).
 * @s: the instance
 * @n: Gs just put on the global queue
 */
void gmp_inject_wake(struct gmp_sched *s, u32 n)
{
	struct gmp_wakeq wq = { .n = 0 };
	struct gmp_p *p;

	gmp_sched_lock(s);
	while (n-- && !s->dead && (p = __gmp_pidleget(s)))
		__gmp_startm(s, p, false, &wq);
	spin_unlock(&s->lock);
	gmp_wakeq_flush(&wq);
}

/**
 * gmp_acquire_p() - Go's pidleget for an M without a P (exitsyscall).
 * @s: the instance
 * @m: the calling M, holding no P
 * @a: @a->p: the P wanted, or GMP_NONE for any; with GMP_ACQUIRE_ANY,
 *     any idle P if that one is not (Go's exitsyscallfast: its old P
 *     first); out: the P, or GMP_NONE
 *
 * Return: 0 (with or without a P); -EBUSY if M holds a P or has a wake
 * pending; -EINVAL for a P out of range.
 */
int gmp_acquire_p(struct gmp_sched *s, struct gmp_m *m, struct gmp_procarg *a)
{
	struct gmp_p *p = NULL;
	int ret = 0;

	gmp_stat(s, GMP_STAT_ACQUIRE);
	gmp_sched_lock(s);
	if (s->dead) {
		ret = -ESHUTDOWN;
	} else if (m->p || m->note) {
		ret = -EBUSY;
	} else if (a->p == GMP_NONE) {
		p = __gmp_pidleget(s);
	} else {
		p = gmp_p_get(s, a->p);
		if (!p)
			ret = -EINVAL;
		else
			p = __gmp_pidleget_id(s, p);
		if (!ret && !p && (a->flags & GMP_ACQUIRE_ANY))
			p = __gmp_pidleget(s);
	}
	if (p) {
		__gmp_hold(s, p, m);
		__gmp_m_setp(m, p);
	}
	a->p = p ? p->id : GMP_NONE;
	spin_unlock(&s->lock);
	return ret;
}

/**
 * gmp_release_p() - give up a P (Go's handoffp).
 * @s: the instance
 * @m: the calling M
 * @a: @a->p: the caller's own P, or a P reserved for a new M that could
 *     not be made
 *
 * The P goes to an M if it has work (Go's handoffp), else to the idle list.
 *
 * Return: 0; -EINVAL if P is neither the caller's nor reserved.
 */
int gmp_release_p(struct gmp_sched *s, struct gmp_m *m, struct gmp_procarg *a)
{
	struct gmp_wakeq wq = { .n = 0 };
	struct gmp_p *p = gmp_p_get(s, a->p);
	int ret = 0;

	if (!p)
		return -EINVAL;
	gmp_stat(s, GMP_STAT_RELEASE);
	gmp_sched_lock(s);
	if (p == m->p) {
		__gmp_m_setp(m, NULL);
		p->m = NULL;
		__gmp_handoffp(s, p, GMP_HANDOFF_RELEASE, &wq);
	} else if (p->state == GMP_PS_RESERVED && list_empty(&p->newm)) {
		__gmp_handoffp(s, p, GMP_HANDOFF_RELEASE, &wq);
	} else {
		ret = -EINVAL;
	}
	spin_unlock(&s->lock);
	gmp_wakeq_flush(&wq);
	return ret;
}

/**
 * gmp_newm_wait() - Go's templateThread: wait for a P that needs a new M.
 * @s: the instance
 * @m: the calling M (the template thread)
 * @a: out: @a->p, a P reserved for the new M to claim
 *
 * Sysmon's handoffs find an M for a P; when none is idle, only user space
 * can make one.  While some M waits here, such a P is reserved and handed
 * to it; with nobody waiting, the P goes idle instead.
 *
 * Return: 0; -EINTR on a signal; -ESHUTDOWN.
 */
int gmp_newm_wait(struct gmp_sched *s, struct gmp_m *m, struct gmp_newm *a)
{
	struct gmp_p *p;
	int ret;

	gmp_sched_lock(s);
	s->newm_waiters++;
	for (;;) {
		if (s->dead) {
			ret = -ESHUTDOWN;
			break;
		}
		p = list_first_entry_or_null(&s->newmq, struct gmp_p, newm);
		if (p) {
			list_del_init(&p->newm);
			a->p = p->id;
			ret = 0;
			break;
		}
		spin_unlock(&s->lock);
		ret = wait_event_interruptible(s->newm_wq,
					       !list_empty(&s->newmq) ||
					       READ_ONCE(s->dead));
		gmp_sched_lock(s);
		if (ret) {
			ret = -EINTR;
			break;
		}
	}
	s->newm_waiters--;
	spin_unlock(&s->lock);
	return ret;
}
