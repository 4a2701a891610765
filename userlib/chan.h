/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libgmprt internals shared by chan.c and select.c: the channel (Go's
 * hchan), its wait queues of sudogs, and the hand-off steps both use.
 * See the top of chan.c for the design.
 */
#ifndef GMPRT_CHAN_H
#define GMPRT_CHAN_H

#include <sched.h>
#include <string.h>
#include "runtime.h"

/*
 * A G waiting on a channel (Go's sudog).  It lives on the waiting G's own
 * stack: C stacks never move, and the G cannot return from the frame that
 * holds it before it has taken itself off every queue, under the channels'
 * locks.
 */
struct sudog {
	g_t *g;
	struct sudog *next;
	struct sudog *prev;
	void *elem;		/* the value to send, or where to receive (may be NULL) */
	bool isselect;		/* wakers must claim g (CAS of g->selectdone) */
	bool success;		/* woken by a hand-off (true) or by close (false) */
};

/* FIFO of sudogs.  first is also read without the lock (the fast paths):
 * stored with release, see "Memory ordering" in chan.c. */
struct waitq {
	struct sudog *first;
	struct sudog *last;
};

struct gmprt_chan {
	spinlock_t lock;	/* guards everything below but elemsize/dataqsiz/buf */
	uint32_t closed;	/* also read without the lock */
	size_t qcount;		/* values in buf; also read without the lock */
	size_t dataqsiz;	/* capacity */
	size_t elemsize;
	size_t sendx;		/* buf index of the next send */
	size_t recvx;		/* buf index of the next receive */
	struct waitq recvq;	/* Gs blocked receiving */
	struct waitq sendq;	/* Gs blocked sending */
	char *buf;		/* dataqsiz values, right after the header */
	struct gmprt_timer *timer; /* the timer that owns this channel (timerchan.c) */
} __attribute__((aligned(64)));

/* timerchan.c: free a timer and its channel; chan.c: a send that never
 * blocks and needs no G (a timer's function, on g0). */
void gmprt_timer_free(struct gmprt_timer *t);
int gmprt_chansend_nb(struct gmprt_chan *c, const void *ep);
int gmprt_chanrecv_nb(struct gmprt_chan *c, void *ep);
void gmprt_chan_free0(struct gmprt_chan *c);

/*
 * The channel lock: held for a few dozen instructions, and across a
 * gopark only until the parking G is off its stack.  It spins, then yields
 * the thread (lock_yield).
 */
static inline void chan_lock(struct gmprt_chan *c)
{
	lock_yield(&c->lock);
}

static inline void chan_unlock(struct gmprt_chan *c)
{
	spin_unlock(&c->lock);
}

/* Copy one value; a NULL @src sends the zero value, a NULL @dst drops it. */
static inline void elemmove(const struct gmprt_chan *c, void *dst, const void *src)
{
	size_t n = c->elemsize;

	if (!dst || !n)
		return;
	if (!src)
		memset(dst, 0, n);
	else if (n == sizeof(uint64_t))
		memcpy(dst, src, sizeof(uint64_t));	/* the common case, inlined */
	else
		memcpy(dst, src, n);
}

static inline void elemclr(const struct gmprt_chan *c, void *dst)
{
	if (dst && c->elemsize)
		memset(dst, 0, c->elemsize);
}

static inline void *chanbuf(const struct gmprt_chan *c, size_t i)
{
	return c->buf + i * c->elemsize;
}

/* ---- wait queues (Go's waitq), with the channel lock held ------------- */

static inline void enqueue(struct waitq *q, struct sudog *sg)
{
	sg->next = NULL;
	sg->prev = q->last;
	if (q->last)
		q->last->next = sg;
	else
		store_release(&q->first, sg);
	q->last = sg;
}

/*
 * The first waiter that can still be woken.  A select's sudog whose G was
 * already claimed through another case (or by its timer) is dropped: that
 * G is on its way to take the channel lock and remove it, and finds it gone.
 */
static inline struct sudog *dequeue(struct waitq *q)
{
	for (;;) {
		struct sudog *sg = q->first, *y;

		if (!sg)
			return NULL;
		y = sg->next;
		if (!y) {
			store_release(&q->first, NULL);
			q->last = NULL;
		} else {
			y->prev = NULL;
			store_release(&q->first, y);
			sg->next = NULL;
		}
		if (sg->isselect && !cas_acqrel(&sg->g->selectdone, 0, 1))
			continue;
		return sg;
	}
}

/* Remove @sg wherever it is; it may already be gone (dequeue dropped it). */
static inline void dequeue_sudog(struct waitq *q, struct sudog *sg)
{
	struct sudog *x = sg->prev, *y = sg->next;

	if (x) {
		if (y) {
			x->next = y;
			y->prev = x;
		} else {
			x->next = NULL;
			q->last = x;
		}
	} else if (y) {
		y->prev = NULL;
		store_release(&q->first, y);
	} else if (q->first == sg) {
		store_release(&q->first, NULL);
		q->last = NULL;
	}
	sg->next = NULL;
	sg->prev = NULL;
}

/* ---- hand-offs, with the lock held: each returns the G to ready, which
 * the caller readies once it has dropped its locks -------------------- */

/* Send @src to the receiver @sg (Go's send). */
static inline g_t *send_direct(struct gmprt_chan *c, struct sudog *sg,
			       const void *src)
{
	g_t *gp = sg->g;

	elemmove(c, sg->elem, src);
	sg->success = true;
	gp->param = sg;
	return gp;
}

/*
 * Receive from the sender @sg into @dst (Go's recv): unbuffered, straight
 * from it; full buffer, the head of the buffer, and @sg's value goes to the
 * tail so that FIFO order holds.
 */
static inline g_t *recv_direct(struct gmprt_chan *c, struct sudog *sg, void *dst)
{
	g_t *gp = sg->g;

	if (c->dataqsiz == 0) {
		elemmove(c, dst, sg->elem);
	} else {
		void *qp = chanbuf(c, c->recvx);

		elemmove(c, dst, qp);
		elemmove(c, qp, sg->elem);
		if (++c->recvx == c->dataqsiz)
			c->recvx = 0;
		c->sendx = c->recvx;
	}
	sg->success = true;
	gp->param = sg;
	return gp;
}

static inline void bufsend(struct gmprt_chan *c, const void *src)
{
	elemmove(c, chanbuf(c, c->sendx), src);
	if (++c->sendx == c->dataqsiz)
		c->sendx = 0;
	store_release(&c->qcount, c->qcount + 1);
}

static inline void bufrecv(struct gmprt_chan *c, void *dst)
{
	void *qp = chanbuf(c, c->recvx);

	elemmove(c, dst, qp);
	if (++c->recvx == c->dataqsiz)
		c->recvx = 0;
	store_release(&c->qcount, c->qcount - 1);
}

/*
 * A preemption point: sysmon asked this P's G to yield (it has run 10 ms,
 * or a pair of Gs handing a time slice to each other through runnext has).
 */
static inline void chan_safepoint(struct m *mp)
{
	struct p *pp = mp->p;

	if (unlikely(load_relaxed(pp->kpreempt))) {
		store_relaxed(pp->kpreempt, 0);
		gmprt_yield();
	}
}

#endif /* GMPRT_CHAN_H */
