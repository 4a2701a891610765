// SPDX-License-Identifier: GPL-2.0
/*
 * libgmprt: select (Go's selectgo, in C).
 *
 * Select
 * ======
 * The tension: a G waiting on several channels is on several wait queues
 * at once, and each queue has its own lock and its own wakers; it must be
 * woken by exactly one of them, and no case may starve.
 *
 * Chosen, Go's protocol:
 *   0. A random poll order (uniform among the cases with a channel: a
 *      Fisher-Yates shuffle on the M's fastrand) and a lock order (the
 *      same cases by channel address, so that two selects never deadlock
 *      on each other's locks; a channel named twice is locked once).
 *   1. Lock every channel; take the first case that can proceed in poll
 *      order: that is "uniformly at random among the ready cases".
 *   -  Nothing ready and no blocking: unlock, -EAGAIN (the default case).
 *   2. Queue a sudog per case (on the G's stack, isselect set), and park;
 *      the unlockf (selparkcommit) unlocks every channel once the G is off
 *      its stack.
 *   3. Woken: the waker claimed the G by a CAS of g->selectdone 0 -> 1
 *      before touching its sudog (a waker that loses drops that sudog and
 *      looks further), and left that sudog in g->param.  Lock every channel
 *      again, reset selectdone, and take the other sudogs off their queues.
 *
 * With a deadline (gmprt_chan_recv_timeout) the G's own timer is a waker
 * too: set in selparkcommit, before the first unlock, so it cannot fire
 * before the G is parked; its function claims the G by the same CAS and
 * leaves param NULL.  Before step 3 the G cancels it, and waits if its
 * function is running (gmprt_deltimer): a timer function still in flight
 * when the G has reset selectdone could otherwise claim and wake it in a
 * later select (G structs are recycled, never freed).
 *
 * Why step 3 may write to its sudogs, which wakers also touch: a waker
 * touches a sudog only under its channel's lock, and a sudog claimed by
 * another case is dropped by the first waker that dequeues it; step 3
 * holds every lock and dequeue_sudog knows an already dropped sudog.
 */
#include <stdlib.h>
#include "chan.h"

#define SELECT_MAXCASES		65536	/* Go's limit */
#define SELECT_STACKCASES	8	/* scratch on the G's stack up to this */

static inline struct gmprt_chan *casechan(const struct gmprt_select_case *cases,
					  const int *order, int i)
{
	return cases[order[i]].chan;
}

static void sellock(const struct gmprt_select_case *cases, const int *lockorder,
		    int n)
{
	struct gmprt_chan *prev = NULL, *c;
	int i;

	for (i = 0; i < n; i++) {
		c = casechan(cases, lockorder, i);
		if (c != prev)
			chan_lock(c);
		prev = c;
	}
}

static void selunlock(const struct gmprt_select_case *cases, const int *lockorder,
		      int n)
{
	struct gmprt_chan *prev = NULL, *c;
	int i;

	for (i = 0; i < n; i++) {
		c = casechan(cases, lockorder, i);
		if (c != prev)
			chan_unlock(c);
		prev = c;
	}
}

struct selpark {
	const struct gmprt_select_case *cases;
	const int *lockorder;
	int n;
	int64_t deadline;
};

/* The timer of a select with a deadline: claim the G, or lose to a case. */
static void selecttimeout(g_t *gp)
{
	if (cas_acqrel(&gp->selectdone, 0, 1))
		gmprt_timer_goready(gp);	/* param stays NULL: timed out */
}

/*
 * gopark's unlockf (Go's selparkcommit), on g0.  Once a channel is
 * unlocked, the G may be woken, run elsewhere and return: so everything on
 * its stack is read before the last unlock, and nothing after.
 */
static bool selparkcommit(g_t *gp, void *arg)
{
	const struct selpark *sp = arg;
	const struct gmprt_select_case *cases = sp->cases;
	const int *lockorder = sp->lockorder;
	struct gmprt_chan *lastc, *prev = NULL, *c;
	int i, n = sp->n;
	bool wake = false;

	/* Armed before the first unlock: a G woken by a channel must find
	 * its timer in the heap (to cancel it), never arriving later. */
	if (sp->deadline)
		wake = gmprt_addtimer_nowake(gp, sp->deadline, selecttimeout);
	if (n) {
		lastc = casechan(cases, lockorder, n - 1);
		for (i = 0; i < n - 1; i++) {
			c = casechan(cases, lockorder, i);
			if (c != prev && c != lastc)
				chan_unlock(c);
			prev = c;
		}
		chan_unlock(lastc);
	}
	if (wake)
		gmprt_wakep();	/* no syscall with the channels locked */
	return true;
}

/* Sort @order[0..n) by channel address: insertion sort, heapsort if long. */
static void sortlockorder(const struct gmprt_select_case *cases, int *order, int n)
{
#define KEY(i)	((uintptr_t)cases[order[i]].chan)
	int i, j, k, o;

	if (n <= 16) {
		for (i = 1; i < n; i++) {
			o = order[i];
			for (j = i; j > 0 && KEY(j - 1) > (uintptr_t)cases[o].chan; j--)
				order[j] = order[j - 1];
			order[j] = o;
		}
		return;
	}
	/* Heapify, then pop the maximum to the end, as selectgo does. */
	for (i = n / 2 - 1; i >= 0; i--) {
		for (j = i; (k = 2 * j + 1) < n; j = k) {
			if (k + 1 < n && KEY(k) < KEY(k + 1))
				k++;
			if (KEY(j) >= KEY(k))
				break;
			o = order[j], order[j] = order[k], order[k] = o;
		}
	}
	for (i = n - 1; i > 0; i--) {
		o = order[0], order[0] = order[i], order[i] = o;
		for (j = 0; (k = 2 * j + 1) < i; j = k) {
			if (k + 1 < i && KEY(k) < KEY(k + 1))
				k++;
			if (KEY(j) >= KEY(k))
				break;
			o = order[j], order[j] = order[k], order[k] = o;
		}
	}
#undef KEY
}

/*
 * gmprt_selectgo() - Go's selectgo over @cases[0..n) for @gp, the calling
 * G (passed, not read from the thread: the caller may have switched
 * threads since it looked); see the top of the file.  @deadline:
 * CLOCK_MONOTONIC ns after which it gives up, or 0.
 * Return: the index of the case done (its err set); -EAGAIN if none was
 * ready and !@block; -ETIMEDOUT at the deadline; -EINVAL, -ENOMEM.
 */
int gmprt_selectgo(g_t *gp, struct gmprt_select_case *cases, int n, bool block,
		   int64_t deadline)
{
	int orderbuf[2 * SELECT_STACKCASES] = { 0 }, *pollorder, *lockorder;
	struct sudog sgbuf[SELECT_STACKCASES], *sgs, *sg;
	struct gmprt_select_case *cas;
	struct gmprt_chan *c;
	void *scratch = NULL;
	struct selpark sp;
	g_t *wg;
	int i, j, norder = 0, casi;

	if (n < 0 || n > SELECT_MAXCASES)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (cases[i].dir != GMPRT_SEND && cases[i].dir != GMPRT_RECV)
			return -EINVAL;
	if (n <= SELECT_STACKCASES) {
		pollorder = orderbuf;
		sgs = sgbuf;
	} else {
		scratch = malloc(n * (sizeof(*sgs) + 2 * sizeof(int)));
		if (!scratch)
			return -ENOMEM;
		sgs = scratch;
		pollorder = (int *)(sgs + n);
	}
	lockorder = pollorder + n;

	/* Pass 0: poll order (cases with no channel are never ready). */
	for (i = 0; i < n; i++) {
		if (!cases[i].chan)
			continue;
		j = (int)(((uint64_t)fastrand(gp->m) * (uint32_t)(norder + 1)) >> 32);
		pollorder[norder] = j < norder ? pollorder[j] : i;
		pollorder[j] = i;
		norder++;
	}
	memcpy(lockorder, pollorder, norder * sizeof(int));
	sortlockorder(cases, lockorder, norder);

	if (!norder && block && !deadline) {
		free(scratch);
		for (;;)
			gmprt_gopark(NULL, NULL, "select (no cases)");	/* Go's select {} */
	}

	/* Pass 1: something ready, in poll order. */
	sellock(cases, lockorder, norder);
	for (i = 0; i < norder; i++) {
		casi = pollorder[i];
		cas = &cases[casi];
		c = cas->chan;
		if (cas->dir == GMPRT_RECV) {
			sg = dequeue(&c->sendq);
			if (sg) {
				wg = recv_direct(c, sg, cas->elem);
				selunlock(cases, lockorder, norder);
				gmprt_goready(wg);
				cas->err = 0;
				goto out;
			}
			if (c->qcount > 0) {
				bufrecv(c, cas->elem);
				cas->err = 0;
				goto unlock_out;
			}
			if (c->closed) {
				elemclr(c, cas->elem);
				cas->err = -EPIPE;
				goto unlock_out;
			}
		} else {
			if (c->closed) {
				cas->err = -EPIPE;
				goto unlock_out;
			}
			sg = dequeue(&c->recvq);
			if (sg) {
				wg = send_direct(c, sg, cas->elem);
				selunlock(cases, lockorder, norder);
				gmprt_goready(wg);
				cas->err = 0;
				goto out;
			}
			if (c->qcount < c->dataqsiz) {
				bufsend(c, cas->elem);
				cas->err = 0;
				goto unlock_out;
			}
		}
	}
	if (!block) {
		casi = -EAGAIN;
		goto unlock_out;
	}

	/* Pass 2: a sudog on every queue, then park. */
	for (i = 0; i < norder; i++) {
		casi = lockorder[i];
		cas = &cases[casi];
		sg = &sgs[casi];
		*sg = (struct sudog){ .g = gp, .elem = cas->elem, .isselect = true };
		enqueue(cas->dir == GMPRT_SEND ? &cas->chan->sendq : &cas->chan->recvq, sg);
	}
	gp->param = NULL;
	sp = (struct selpark){ .cases = cases, .lockorder = lockorder, .n = norder,
			       .deadline = deadline };
	gmprt_gopark(selparkcommit, &sp, "select");

	/* Pass 3: claimed by one case (param) or by the timer (param NULL). */
	if (deadline)
		gmprt_deltimer(gp);	/* waits for its function, if running */
	sellock(cases, lockorder, norder);
	store_relaxed(&gp->selectdone, 0);
	sg = gp->param;
	gp->param = NULL;
	casi = -ETIMEDOUT;
	for (i = 0; i < norder; i++) {
		j = lockorder[i];
		cas = &cases[j];
		if (sg == &sgs[j]) {
			casi = j;
			cas->err = sg->success ? 0 : -EPIPE;
			if (cas->dir == GMPRT_RECV && !sg->success)
				elemclr(cas->chan, cas->elem);
		} else {
			dequeue_sudog(cas->dir == GMPRT_SEND ? &cas->chan->sendq
							     : &cas->chan->recvq,
				      &sgs[j]);
		}
	}
	if (casi == -ETIMEDOUT && (sg || !deadline))
		gmprt_throw("selectgo: bad wakeup");
unlock_out:
	selunlock(cases, lockorder, norder);
out:
	free(scratch);
	return casi;
}

int gmprt_select(struct gmprt_select_case *cases, int n, bool block)
{
	RT_ENTER(gp, "gmprt_select");

	chan_safepoint(gp->m);
	return gmprt_selectgo(gp, cases, n, block, 0);
}
