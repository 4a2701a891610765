// SPDX-License-Identifier: GPL-2.0
/*
 * libgmprt: wait group (Go's sync.WaitGroup), on gopark/goready.
 *
 * The counter is one atomic: Add/Done cost no lock unless they bring it to
 * zero.  Waiters queue under a small spinlock which gopark releases only
 * once the waiter is off its stack, so the Done that reaches zero (and takes
 * the lock to empty the queue) can never ready a G that is not parked yet.
 */
#include "runtime.h"

struct wg {
	int64_t counter;
	spinlock_t lock;
	g_t *waiters;
};

_Static_assert(sizeof(struct wg) <= sizeof(gmprt_waitgroup), "gmprt_waitgroup too small");

void gmprt_wg_init(gmprt_waitgroup *w)
{
	*w = (gmprt_waitgroup)GMPRT_WAITGROUP_INIT;
}

void gmprt_wg_add(gmprt_waitgroup *w, int64_t delta)
{
	struct wg *wg = (struct wg *)w;
	int64_t v = __atomic_add_fetch(CW(&wg->counter), delta, __ATOMIC_SEQ_CST);
	g_t *gp;

	if (v < 0)
		gmprt_throw("negative wait group counter");
	if (v > 0 || delta > 0)
		return;
	spin_lock(&wg->lock);
	gp = wg->waiters;
	wg->waiters = NULL;
	spin_unlock(&wg->lock);
	if (gp) {
		RT_ENTER_ANY(self);

		(void)self;
		while (gp) {
			g_t *next = gp->waitnext;

			gmprt_goready(gp);
			gp = next;
		}
	}
}

void gmprt_wg_done(gmprt_waitgroup *w)
{
	gmprt_wg_add(w, -1);
}

void gmprt_wg_wait(gmprt_waitgroup *w)
{
	struct wg *wg = (struct wg *)w;
	RT_ENTER_ANY(gp);	/* a foreign thread blocks itself (foreign.c) */

	if (!__atomic_load_n(&wg->counter, __ATOMIC_SEQ_CST))
		return;
	spin_lock(&wg->lock);
	if (!__atomic_load_n(&wg->counter, __ATOMIC_SEQ_CST)) {
		spin_unlock(&wg->lock);
		return;
	}
	gp->waitnext = wg->waiters;
	wg->waiters = gp;
	gmprt_gopark(gmprt_unlock_spin, &wg->lock, "gmprt_wg_wait");
}
