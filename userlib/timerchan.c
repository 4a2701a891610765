// SPDX-License-Identifier: GPL-2.0
/*
 * libgmprt: timers as channels (Go's time.After, NewTimer, NewTicker).
 *
 * Glossary
 * ========
 * A gmprt_timer owns a channel of one int64_t, buffered one deep, and a
 * timer on a P's heap (time.c).  When the timer fires, the time it was due
 * is sent on the channel without blocking: if the last value is still
 * unreceived, the new one is dropped (Go's sendTime).  A ticker fires
 * again at due + period, catching up by whole periods if it fell behind,
 * so that its values never drift from start + k * period.
 *
 * Why it is hard
 * ==============
 * The timer's function runs on g0 of whichever M runs the heap, at any
 * time, without the program's knowledge.  Freeing the channel while a
 * fire is in flight, or a ticker re-arming itself while it is stopped,
 * would write freed memory.  Users who built this themselves (a sleeping G
 * and a 1-slot channel) could not free it safely until it fired.
 *
 * Rejected approaches
 * ===================
 *  - A G per timer, sleeping and sending: a stack per timer, and stopping
 *    it means waking a G only to tell it to exit.
 *  - Letting the program free the channel: the timer refers to it, so
 *    the channel belongs to the timer, and gmprt_chan_free() of a timer's
 *    channel frees the timer with it.
 *
 * The protocol
 * ============
 * t->lock orders the one decision that matters: a fire checks t->active
 * and sends (and a ticker re-arms) under it; stop clears t->active under
 * it, then removes the timer from its heap (gmprt_deltimer) and waits
 * until no fire is running (timer.running), so that after stop returns no
 * fire can touch t again.  Then it drains the channel: as in Go 1.23, no
 * value from before a stop or reset is received after it.  free is stop,
 * then free.
 *
 * Who writes what: t->active and t->period under t->lock; the embedded G's
 * timer fields by time.c under the heap's lock; the channel by its lock.
 */
#include <stdlib.h>
#include "chan.h"

struct gmprt_timer {
	/* The heap holds Gs: a timer rides it as a G with no stack would. */
	g_t carrier;
	gmprt_chan *c;
	spinlock_t lock;
	bool active;		/* armed, not stopped */
	int64_t period;		/* 0: one value only */
};

#define timer_of(gp) \
	((struct gmprt_timer *)((char *)(gp) - offsetof(struct gmprt_timer, carrier)))

/* On g0 with a P, the heap's lock dropped (time.c's runtimers). */
static void timer_fire(g_t *gp)
{
	struct gmprt_timer *t = timer_of(gp);
	int64_t due = gp->timer.when;

	bool wake = false;

	lock_yield(&t->lock);
	if (!t->active) {
		spin_unlock(&t->lock);
		return;
	}
	gmprt_chansend_nb(t->c, &due);	/* full: dropped, as Go's sendTime */
	if (t->period) {
		int64_t now = gmprt_now(), next = due + t->period;

		if (next <= now)
			next += t->period * ((now - next) / t->period + 1);
		wake = gmprt_addtimer_nowake(gp, next, timer_fire);
	} else {
		t->active = false;
	}
	spin_unlock(&t->lock);
	if (wake)
		gmprt_wakep();
}

static struct gmprt_timer *timer_make(int64_t ns, int64_t period)
{
	struct gmprt_timer *t;

	gmprt_mustg(period ? "gmprt_ticker_new" : "gmprt_timer_new");
	if (period < 0) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	t->c = gmprt_chan_make(sizeof(int64_t), 1);
	if (!t->c) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->c->timer = t;
	t->carrier.timer.idx = -1;
	t->period = period;
	t->active = true;
	if (ns < 0)
		ns = 0;
	if (__builtin_add_overflow(gmprt_now(), ns, &ns))
		ns = INT64_MAX;
	{
		RT_ENTER(gp, "gmprt_timer_new");

		(void)gp;
		gmprt_addtimer(&t->carrier, ns, timer_fire);
	}
	return t;
}

gmprt_timer *gmprt_timer_new(int64_t ns)
{
	return timer_make(ns, 0);
}

gmprt_timer *gmprt_ticker_new(int64_t period)
{
	if (period <= 0) {
		gmprt_mustg("gmprt_ticker_new");
		errno = EINVAL;
		return NULL;
	}
	return timer_make(period, period);
}

gmprt_chan *gmprt_after(int64_t ns)
{
	struct gmprt_timer *t = timer_make(ns, 0);

	return t ? t->c : NULL;
}

gmprt_chan *gmprt_timer_chan(gmprt_timer *t)
{
	return t->c;
}

/* Return: true if a value was still to come. */
static bool timer_stop(struct gmprt_timer *t)
{
	bool was;

	lock_yield(&t->lock);
	was = t->active;
	t->active = false;
	spin_unlock(&t->lock);
	gmprt_deltimer(&t->carrier);
	/* deltimer waits for a fire only if it found none pending: wait anyway. */
	while (load_acquire(&t->carrier.timer.running))
		sched_yield();
	gmprt_chanrecv_nb(t->c, NULL);	/* no stale value after stop */
	return was;
}

bool gmprt_timer_stop(gmprt_timer *t)
{
	return timer_stop(t);
}

bool gmprt_timer_reset(gmprt_timer *t, int64_t ns)
{
	RT_ENTER(gp, "gmprt_timer_reset");
	bool was = timer_stop(t), wake;
	int64_t when;

	(void)gp;
	if (ns < 0)
		ns = 0;
	if (__builtin_add_overflow(gmprt_now(), ns, &when))
		when = INT64_MAX;
	lock_yield(&t->lock);
	if (t->period)
		t->period = ns > 0 ? ns : 1;
	t->active = true;
	wake = gmprt_addtimer_nowake(&t->carrier, when, timer_fire);
	spin_unlock(&t->lock);
	if (wake)
		gmprt_wakep();
	return was;
}

void gmprt_timer_free(gmprt_timer *t)
{
	if (!t)
		return;
	timer_stop(t);
	gmprt_chan_free0(t->c);
	free(t);
}
