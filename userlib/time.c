// SPDX-License-Identifier: GPL-2.0
/*
 * libgmprt: timers and sleep (Go's per-P timer heaps, simplified).
 *
 * Each P keeps a min-heap of the timers its Gs set, under a small lock
 * (other Ms run a P's due timers when they steal, or when its M sleeps).  A
 * P publishes the deadline of its earliest timer in timer0when, in its
 * shared page, so that gmp.ko can make a parking M sleep no later than the
 * earliest timer of any P: no thread sits in a timed wait of its own.
 *
 * Adding a timer that becomes a P's earliest stores timer0when, fences (A)
 * and calls wakep (Go's wakeNetPoller): a spinning M parking concurrently
 * reads timer0when behind (B) in gmp.ko, so one of the two sees the other.
 *
 * A timer's function runs on g0 with the lock dropped, on whichever M holds
 * a P at the time; the Gs it readies go to that M's P.
 *
 * Each G has one timer (struct gtimer in the G), used by one wait at a
 * time: gmprt_sleep, and a select with a deadline (gmprt_chan_recv_timeout).
 * Two rules make it safe to reuse:
 *  - Cancelling waits for a function already running (Go's timerRunning):
 *    a runner takes the timer off the heap and counts itself in
 *    timer.running under the heap lock, and gmprt_deltimer, finding the
 *    timer off the heap, waits for the count to drop.  Otherwise a select's
 *    timer function still in flight could claim the G in its next select.
 *  - Gs made ready by one run of timers are readied in deadline order once
 *    the run ends (gmprt_timer_goready): the first to runnext, the others
 *    to the tail of the run queue.  Readying each to runnext as it fires
 *    would run the last first when several are due at once (an M that
 *    woke late), and a G sleeping 20 ms could wake before one sleeping 10.
 */
#include <sched.h>
#include <stdlib.h>
#include "runtime.h"

static void heap_swap(g_t **h, int i, int j)
{
	g_t *t = h[i];

	h[i] = h[j];
	h[j] = t;
	h[i]->timer.idx = i;
	h[j]->timer.idx = j;
}

static void heap_up(g_t **h, int i)
{
	while (i > 0) {
		int parent = (i - 1) / 2;

		if (h[parent]->timer.when <= h[i]->timer.when)
			break;
		heap_swap(h, i, parent);
		i = parent;
	}
}

static void heap_down(g_t **h, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;

		if (l < n && h[l]->timer.when < h[m]->timer.when)
			m = l;
		if (r < n && h[r]->timer.when < h[m]->timer.when)
			m = r;
		if (m == i)
			return;
		heap_swap(h, i, m);
		i = m;
	}
}

/* Remove heap[i].  Called with the P's timers lock held. */
static void heap_remove(struct timers *ts, int i)
{
	g_t **h = ts->heap;
	int last = --ts->n;

	h[i]->timer.idx = -1;
	if (i != last) {
		h[i] = h[last];
		h[i]->timer.idx = i;
		heap_down(h, ts->n, i);
		heap_up(h, i);
	}
}

/* Room for one more timer on @ts.  Called with its lock held. */
static void heap_grow(struct timers *ts)
{
	int cap = ts->cap ? 2 * ts->cap : 16;
	g_t **h;

	if (ts->n < ts->cap)
		return;
	h = realloc(ts->heap, cap * sizeof(*h));
	if (!h)
		gmprt_throw("out of memory for timers");
	ts->heap = h;
	ts->cap = cap;
}

static void publish(struct p *pp)
{
	struct timers *ts = &pp->timers;

	store_release(pp->ktimer0when,
		      ts->n ? (uint64_t)ts->heap[0]->timer.when : 0);
}

/*
 * gmprt_addtimer_nowake() - gmprt_addtimer() for a caller that holds locks
 * (select's unlockf holds its channels): it must not make a system call.
 * Return: true if the caller must call gmprt_wakep() once it has dropped
 * them (the timer is its P's earliest: an M may have to wake for it).
 */
bool gmprt_addtimer_nowake(g_t *gp, int64_t when, void (*f)(g_t *))
{
	struct p *pp = getm()->p;
	struct timers *ts = &pp->timers;
	bool earliest;

	lock_yield(&ts->lock);
	heap_grow(ts);
	gp->timer.when = when;
	gp->timer.f = f;
	gp->timer.pp = pp;
	gp->timer.idx = ts->n;
	ts->heap[ts->n++] = gp;
	heap_up(ts->heap, gp->timer.idx);
	earliest = gp->timer.idx == 0;
	if (earliest)
		publish(pp);
	spin_unlock(&ts->lock);
	return earliest;
}

/*
 * gmprt_addtimer() - run @f(@gp) on g0 at @when (CLOCK_MONOTONIC ns), on
 * the current M's P's heap.  Only with a P (from a G, or on g0).
 */
void gmprt_addtimer(g_t *gp, int64_t when, void (*f)(g_t *))
{
	if (gmprt_addtimer_nowake(gp, when, f))
		gmprt_wakep();	/* fences (A) first */
}

/*
 * gmprt_deltimer() - cancel @gp's timer; if its function is running, wait
 * until it has returned.  Only from @gp (or for it while it is parked).
 * Return: true if it was cancelled before it fired.
 */
bool gmprt_deltimer(g_t *gp)
{
	struct p *pp;
	struct timers *ts;
	bool removed = false;

	/* A timer adopted meanwhile (gmprt_timers_adopt) is on another heap. */
	for (;;) {
		pp = __atomic_load_n(&gp->timer.pp, __ATOMIC_ACQUIRE);
		if (!pp)
			return false;
		ts = &pp->timers;
		lock_yield(&ts->lock);
		if (gp->timer.pp == pp)
			break;
		spin_unlock(&ts->lock);
	}
	if (gp->timer.idx >= 0) {
		heap_remove(ts, gp->timer.idx);
		publish(pp);
		removed = true;
	}
	spin_unlock(&ts->lock);
	if (!removed) {
		int spins = 0;

		/* A runner counted itself under the lock we just held. */
		while (load_acquire(&gp->timer.running)) {
			if (++spins < 128)
				cpu_relax();
			else
				sched_yield();
		}
	}
	return removed;
}

/* The Gs a run of timers readies, in deadline order (timers run on g0). */
static __thread g_t *readyq;
static __thread int batching;

/*
 * gmprt_timer_goready() - ready @gp from a timer function: at the end of
 * the run of timers, in deadline order.  On g0, with a P.
 */
void gmprt_timer_goready(g_t *gp)
{
	g_t **pos = &readyq;

	if (!batching) {
		gmprt_goready(gp);
		return;
	}
	while (*pos && (*pos)->timer.when <= gp->timer.when)
		pos = &(*pos)->schedlink;
	gp->schedlink = *pos;
	*pos = gp;
}

/* End a run of timers: the earliest to runnext, the rest behind it. */
static void flush(void)
{
	struct p *pp = getm()->p;
	g_t *gp = readyq, *next;
	bool first = true;

	readyq = NULL;
	for (; gp; gp = next, first = false) {
		next = gp->schedlink;
		gp->schedlink = NULL;
		if (first) {
			gmprt_goready(gp);
			continue;
		}
		if (unlikely(gp->status != G_WAITING))
			gmprt_throw("timer: ready of a G that is not waiting (status %u)",
				    gp->status);
		gp->status = G_RUNNABLE;
		gmprt_runqput(pp, gp, false);
		gmprt_wakep();
	}
}

/* Run @pp's due timers.  Return: how many ran. */
static int runtimers(struct p *pp, int64_t *now)
{
	struct timers *ts = &pp->timers;
	uint64_t next = load_acquire(pp->ktimer0when);
	int ran = 0;

	if (!next)
		return 0;
	/*
	 * The clock only when a timer is set: where the TSC is unusable
	 * (software emulation: hpet) clock_gettime is a real syscall.
	 */
	if (!*now)
		*now = gmprt_now();
	if ((int64_t)next > *now)
		return 0;
	if (!spin_trylock(&ts->lock))
		return 0;	/* someone else is running them */
	while (ts->n && ts->heap[0]->timer.when <= *now) {
		g_t *gp = ts->heap[0];
		void (*f)(g_t *) = gp->timer.f;

		heap_remove(ts, 0);
		publish(pp);
		__atomic_fetch_add(CW(&gp->timer.running), 1, __ATOMIC_RELAXED);
		spin_unlock(&ts->lock);
		f(gp);
		__atomic_fetch_sub(CW(&gp->timer.running), 1, __ATOMIC_RELEASE);
		ran++;
		lock_yield(&ts->lock);
	}
	spin_unlock(&ts->lock);
	return ran;
}

/*
 * gmprt_checktimers() - run @pp's timers that are due at @now (0: read
 * the clock, only if @pp has a timer).  On g0,
 * with a P.  Return: how many ran.
 */
int gmprt_checktimers(struct p *pp, int64_t now)
{
	int ran;

	batching++;
	ran = runtimers(pp, &now);
	if (!--batching && readyq)
		flush();
	return ran;
}

/*
 * gmprt_timers_adopt() - move every timer of @from (a P a resize stopped)
 * to @to's heap (Go's moveTimers in procresize).  Both locks are held,
 * lower P id first, so that a timer is always on exactly one heap under
 * its lock and gmprt_deltimer() finds it wherever it is.  On g0, with @to.
 */
void gmprt_timers_adopt(struct p *from, struct p *to)
{
	struct p *first = from->id < to->id ? from : to;
	struct p *second = first == from ? to : from;
	uint64_t before;
	bool earlier;

	if (from == to || !load_acquire(from->ktimer0when))
		return;
	lock_yield(&first->timers.lock);
	lock_yield(&second->timers.lock);
	before = load_relaxed(to->ktimer0when);
	while (from->timers.n) {
		g_t *gp = from->timers.heap[0];

		heap_remove(&from->timers, 0);
		heap_grow(&to->timers);
		__atomic_store_n(CW(&gp->timer.pp), to, __ATOMIC_RELEASE);
		gp->timer.idx = to->timers.n;
		to->timers.heap[to->timers.n++] = gp;
		heap_up(to->timers.heap, gp->timer.idx);
	}
	publish(from);
	publish(to);
	earlier = !before || load_relaxed(to->ktimer0when) < before;
	spin_unlock(&second->timers.lock);
	spin_unlock(&first->timers.lock);
	if (earlier)
		gmprt_wakep();	/* as an add of an earliest timer does (A) */
}

/*
 * Run every P's due timers (an M about to park), and adopt those of the
 * Ps a resize stopped into our own.  Return: how many ran.
 */
int gmprt_runtimers_all(int64_t now)
{
	int i, ran = 0, n = gmprt_gomaxprocs(), made = gmprt_nmade();
	struct p *mine = getm()->p;

	batching++;
	for (i = 0; i < made; i++) {
		struct p *pp = &sched.allp[i];

		if (i >= n && mine && mine->id < n &&
		    load_relaxed(pp->kstatus) == GMP_P_STOP)
			gmprt_timers_adopt(pp, mine);
		ran += runtimers(pp, &now);
	}
	if (!--batching && readyq)
		flush();
	return ran;
}

static void sleep_fire(g_t *gp)
{
	gmprt_timer_goready(gp);
}

/* The timer goes in only once the G is parked: it cannot fire too early. */
static bool sleep_arm(g_t *gp, void *arg)
{
	(void)arg;
	gmprt_addtimer(gp, gp->timer.when, sleep_fire);
	return true;
}

void gmprt_sleep(int64_t ns)
{
	RT_ENTER(gp, "gmprt_sleep");

	if (ns <= 0) {
		gmprt_yield();
		return;
	}
	gp->timer.when = gmprt_now() + ns;
	gmprt_gopark(sleep_arm, NULL, "sleep");
}
