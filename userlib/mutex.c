// SPDX-License-Identifier: GPL-2.0
/*
 * libgmprt: mutex (Go's sync.Mutex, in C) on a semaphore built on
 * gopark/goready (Go's sema.go, simplified).
 *
 * Mutex
 * =====
 * The tension: handing the lock straight to the longest waiter is fair but
 * slow (every hand-off is a context switch while the lock is idle), while
 * letting whoever runs take it is fast but can overtake a woken waiter
 * forever.  Go's answer, kept here: two modes.
 *
 *   normal     waiters queue FIFO, but a woken waiter competes with Gs
 *              arriving just now (which hold a P and may even spin a little
 *              first); one that loses goes back to the head of the queue.
 *   starvation entered by a waiter that waited more than 1 ms: unlock
 *              hands the lock straight to the head of the queue, newcomers
 *              do not try to take it and queue at the tail; left when the
 *              last waiter, or one that waited less than 1 ms, takes it.
 *
 * state is one word: LOCKED, WOKEN (a waiter is awake, so unlock need not
 * wake another), STARVING, and the count of waiters above them.  Lock and
 * unlock are one CAS or one add when there is no contention.  Spinning is
 * Go's rule: a few rounds, only if there are other Ps that run Gs (the
 * holder may release soon) and this P has nothing else to run.
 *
 * The semaphore's waiters sit on the mutex's own queue (the mutex has room
 * for it: no hash table of semaphore roots as in Go, whose Mutex is 8
 * bytes), in a waiter struct on the G's stack; it parks the G, never the
 * thread.  semrelease with hand-off also yields, so that the waiter, put in
 * runnext, runs now (Go's goyield).
 */
#include <sched.h>
#include <unistd.h>
#include "runtime.h"

#define MUTEX_LOCKED		1
#define MUTEX_WOKEN		2
#define MUTEX_STARVING		4
#define MUTEX_WAITERSHIFT	3
#define STARVATION_NS		(1000 * 1000)	/* Go's starvationThresholdNs */
#define SPIN_ROUNDS		4		/* Go's active_spin */
#define SPIN_PAUSES		30		/* Go's active_spin_cnt */

struct semawaiter {
	g_t *g;
	struct semawaiter *next;
	bool ticket;		/* semrelease handed the unit straight to us */
};

struct mutex {
	int32_t state;
	uint32_t sema;		/* the semaphore's count */
	spinlock_t lock;	/* guards the queue */
	uint32_t nwait;		/* Gs queued or about to; read without the lock */
	struct semawaiter *head;
	struct semawaiter *tail;
};

_Static_assert(sizeof(struct mutex) <= sizeof(gmprt_mutex), "gmprt_mutex too small");
_Static_assert(offsetof(struct mutex, state) == offsetof(gmprt_mutex, state) &&
	       MUTEX_LOCKED == 1, "gmprt.h's inline fast paths see this layout");

static inline struct mutex *M(gmprt_mutex *mu)
{
	return (struct mutex *)mu;
}

/* ---- the semaphore (Go's semacquire1 / semrelease1) -------------------- */

static bool cansemacquire(uint32_t *addr)
{
	uint32_t v = __atomic_load_n(addr, __ATOMIC_SEQ_CST);

	while (v) {
		if (__atomic_compare_exchange_n(CW(addr), &v, v - 1, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return true;
	}
	return false;
}

/* Take a unit, parking until there is one; @lifo: queue at the head. */
/*
 * @gp: the caller (a G, or a foreign thread's stand-in), from RT_ENTER_ANY:
 * never from TLS here, which the compiler may read through a thread
 * pointer it cached before the G moved threads (arm64 does).
 */
static void semacquire(struct mutex *mu, bool lifo, g_t *gp)
{
	struct semawaiter w = { .g = gp };

	if (cansemacquire(&mu->sema))
		return;
	for (;;) {
		lock_yield(&mu->lock);
		/* Count ourselves before the last look: pairs with semrelease. */
		__atomic_fetch_add(CW(&mu->nwait), 1, __ATOMIC_SEQ_CST);
		if (cansemacquire(&mu->sema)) {
			__atomic_fetch_sub(CW(&mu->nwait), 1, __ATOMIC_SEQ_CST);
			spin_unlock(&mu->lock);
			return;
		}
		w.ticket = false;
		w.next = NULL;
		if (lifo) {
			w.next = mu->head;
			mu->head = &w;
			if (!mu->tail)
				mu->tail = &w;
		} else {
			if (mu->tail)
				mu->tail->next = &w;
			else
				mu->head = &w;
			mu->tail = &w;
		}
		gmprt_gopark(gmprt_unlock_spin, &mu->lock, "gmprt_mutex_lock");
		if (w.ticket || cansemacquire(&mu->sema))
			return;
		lifo = true;	/* woken but overtaken: back at the head */
	}
}

/* Add a unit and wake a waiter; with @handoff, give it the unit. */
static void semrelease(struct mutex *mu, bool handoff, g_t *self)
{
	struct semawaiter *w;
	bool ticket = false;
	g_t *gp;

	__atomic_fetch_add(CW(&mu->sema), 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&mu->nwait, __ATOMIC_SEQ_CST))
		return;
	lock_yield(&mu->lock);
	w = mu->head;
	if (!w) {
		spin_unlock(&mu->lock);
		return;
	}
	mu->head = w->next;
	if (!mu->head)
		mu->tail = NULL;
	__atomic_fetch_sub(CW(&mu->nwait), 1, __ATOMIC_SEQ_CST);
	spin_unlock(&mu->lock);
	/* w is on a parked G's stack: read what we need before readying it. */
	if (handoff && cansemacquire(&mu->sema))
		w->ticket = ticket = true;
	gp = w->g;
	gmprt_goready(gp);
	if (ticket && !self->foreign)
		gmprt_yield();	/* let the new owner run now, on this P */
}

/* ---- the mutex (Go's sync.Mutex) --------------------------------------- */

static int ncpu(void)
{
	static int n;
	COUNT_SCHED_VAR(n);
	int v = load_relaxed(&n);

	if (!v) {
		int saved = errno;

		v = (int)sysconf(_SC_NPROCESSORS_ONLN);
		errno = saved;
		if (v < 1)
			v = 1;
		store_relaxed(&n, v);
	}
	return v;
}

/*
 * Go's sync_runtime_canSpin.  lockslow calls it again after a park, maybe
 * on another thread: the M is its G's (gp->m), never one looked up before.
 */
static bool canspin(int iter, g_t *gp)
{
	struct m *mp = gp->foreign ? NULL : gp->m;
	struct p *pp;

	/* A foreign thread (no P) just waits: it has no queue to look after. */
	if (!mp || !mp->curg || !mp->p)
		return false;
	if (iter >= SPIN_ROUNDS || gmprt_gomaxprocs() <= 1 || ncpu() <= 1)
		return false;
	if ((uint32_t)gmprt_gomaxprocs() <= load_relaxed(sched.knpidle) +
					  load_relaxed(sched.knmspinning) + 1)
		return false;
	pp = mp->p;
	return load_relaxed(pp->krunqhead) == load_relaxed(pp->krunqtail) &&
	       !load_relaxed(pp->krunnext);
}

static void dospin(void)
{
	int i;

	for (i = 0; i < SPIN_PAUSES; i++)
		cpu_relax();
}

static inline bool state_cas(struct mutex *mu, int32_t *old, int32_t new)
{
	return __atomic_compare_exchange_n(CW(&mu->state), old, new, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static void lockslow(struct mutex *mu, g_t *gp)
{
	int64_t waitstart = 0;
	bool starving = false, awoke = false, lifo;
	int iter = 0;
	int32_t old = __atomic_load_n(&mu->state, __ATOMIC_SEQ_CST), new;

	for (;;) {
		/* Locked, normal mode: spin if it can help. */
		if ((old & (MUTEX_LOCKED | MUTEX_STARVING)) == MUTEX_LOCKED &&
		    canspin(iter, gp)) {
			/* Tell unlock not to wake a waiter: we are awake. */
			if (!awoke && !(old & MUTEX_WOKEN) &&
			    (old >> MUTEX_WAITERSHIFT) &&
			    state_cas(mu, &old, old | MUTEX_WOKEN))
				awoke = true;
			dospin();
			iter++;
			old = __atomic_load_n(&mu->state, __ATOMIC_SEQ_CST);
			continue;
		}
		new = old;
		/* In starvation mode newcomers queue; they never take it. */
		if (!(old & MUTEX_STARVING))
			new |= MUTEX_LOCKED;
		if (old & (MUTEX_LOCKED | MUTEX_STARVING))
			new += 1 << MUTEX_WAITERSHIFT;
		/* Switch to starvation mode, unless it was unlocked just now. */
		if (starving && (old & MUTEX_LOCKED))
			new |= MUTEX_STARVING;
		if (awoke) {
			if (!(new & MUTEX_WOKEN))
				gmprt_throw("sync: inconsistent mutex state");
			new &= ~MUTEX_WOKEN;
		}
		if (!state_cas(mu, &old, new))
			continue;	/* old reloaded */
		if (!(old & (MUTEX_LOCKED | MUTEX_STARVING)))
			return;		/* took it */
		/* Waited before: back to the head of the queue. */
		lifo = waitstart != 0;
		if (!waitstart)
			waitstart = gmprt_now();
		semacquire(mu, lifo, gp);
		starving = starving || gmprt_now() - waitstart > STARVATION_NS;
		old = __atomic_load_n(&mu->state, __ATOMIC_SEQ_CST);
		if (old & MUTEX_STARVING) {
			/* Handed to us: the state is ours to fix. */
			int32_t delta = MUTEX_LOCKED - (1 << MUTEX_WAITERSHIFT);

			if ((old & (MUTEX_LOCKED | MUTEX_WOKEN)) ||
			    !(old >> MUTEX_WAITERSHIFT))
				gmprt_throw("sync: inconsistent mutex state");
			/* Leave starvation mode if we waited little, or were last. */
			if (!starving || (old >> MUTEX_WAITERSHIFT) == 1)
				delta -= MUTEX_STARVING;
			__atomic_fetch_add(CW(&mu->state), delta, __ATOMIC_SEQ_CST);
			return;
		}
		awoke = true;
		iter = 0;
	}
}

static void unlockslow(struct mutex *mu, int32_t new, g_t *self)
{
	int32_t old;

	if (!((new + MUTEX_LOCKED) & MUTEX_LOCKED))
		gmprt_throw("sync: unlock of unlocked mutex");
	if (new & MUTEX_STARVING) {
		/* Hand it to the next waiter; it runs at once on this P. */
		semrelease(mu, true, self);
		return;
	}
	old = new;
	for (;;) {
		/* No waiters, or someone already took it, woke up or starves. */
		if (!(old >> MUTEX_WAITERSHIFT) ||
		    (old & (MUTEX_LOCKED | MUTEX_WOKEN | MUTEX_STARVING)))
			return;
		new = (old - (1 << MUTEX_WAITERSHIFT)) | MUTEX_WOKEN;
		if (state_cas(mu, &old, new)) {
			semrelease(mu, false, self);
			return;
		}
	}
}

void gmprt_mutex_init(gmprt_mutex *mu)
{
	*mu = (gmprt_mutex)GMPRT_MUTEX_INIT;
}

/* The fast path, one CAS of 0 -> MUTEX_LOCKED, is inline in gmprt.h. */
void gmprt_mutex_lock_slow(gmprt_mutex *mu)
{
	RT_ENTER_ANY(gp);	/* a foreign thread blocks itself (foreign.c) */

	lockslow(M(mu), gp);
}

bool gmprt_mutex_trylock(gmprt_mutex *mu)
{
	int32_t old = __atomic_load_n(&M(mu)->state, __ATOMIC_SEQ_CST);

	if (old & (MUTEX_LOCKED | MUTEX_STARVING))
		return false;
	/* One try: whoever gets there first has it, as in Go. */
	return state_cas(M(mu), &old, old | MUTEX_LOCKED);
}

/* The fast path, subtracting MUTEX_LOCKED to 0, is inline in gmprt.h. */
void gmprt_mutex_unlock_slow(gmprt_mutex *mu, int32_t new)
{
	RT_ENTER_ANY(gp);

	unlockslow(M(mu), new, gp);
}
