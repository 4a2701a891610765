// SPDX-License-Identifier: GPL-2.0
/*
 * libgmprt: channels (Go's chan.go, in C, on gopark/goready).
 *
 * Channels
 * ========
 * A channel is a small spinlock, a ring buffer of dataqsiz values and two
 * FIFO wait queues of sudogs: Gs blocked sending and Gs blocked receiving.
 * Waiting receivers mean the buffer is empty, waiting senders that it is
 * full (or that there is none), so only one queue has live waiters (but
 * for one select that both sends and receives on the channel).  Every
 * operation is Go's:
 *
 *   send     closed -> -EPIPE; a receiver waits -> copy the value straight
 *            into it (its sudog names where) and ready it; room in the
 *            buffer -> append; else queue a sudog on sendq and park.
 *   recv     closed and empty -> zero value, -EPIPE; a sender waits -> take
 *            its value (unbuffered), or the buffer's head and put the
 *            sender's value at the tail (full buffer: FIFO order holds);
 *            something buffered -> take it; else queue on recvq and park.
 *   close    mark closed, and wake every waiter: receivers get -EPIPE and
 *            the zero value (the buffer drains first: a receive queue is
 *            never waiting on a non-empty buffer), senders get -EPIPE.
 *
 * The direct hand-off is what makes an unbuffered ping-pong cheap: the
 * receiver never takes the lock again, and goready puts it in the waker's
 * runnext, so it runs on this P as soon as the waker blocks, inheriting the
 * time slice (Go's runnext).  Per round trip that is two lock/unlock pairs
 * per side, two parks and no syscall, no allocation.
 *
 * Differences from Go, and why:
 *  - The sudog lives on the waiting G's stack, not in a per-P cache: C
 *    stacks never move (no copystack, so no activeStackChans or
 *    parkingOnChan), and the G cannot leave the frame that holds it before
 *    it is off every queue.  Nothing is allocated on any path but make.
 *  - Sending on a closed channel, or being woken by close while sending,
 *    is -EPIPE, not a panic; closing twice is -EPIPE.
 *  - The lock spins and then yields the thread; Go's runtime lock sleeps
 *    on a futex.  It is held for a few dozen instructions, and across a
 *    park only until the parking G is off its stack (gopark's unlockf).
 *  - A channel operation is a preemption point: a G that sysmon asked to
 *    yield yields there (Go preempts anywhere; C code cannot be, safely).
 *
 * A waiter is woken exactly once.  A plain waiter can only be woken by
 * whoever dequeues its sudog under the lock.  A select's G sits on several
 * queues (and maybe on a timer): the waker must first win a CAS of
 * g->selectdone (0 -> 1), else it drops that sudog and looks further; see
 * select.c.
 *
 * Memory ordering: everything is under the channel lock except the reads
 * of the non-blocking fast paths (closed, qcount, recvq/sendq.first): loads
 * with acquire of words stored with release under the lock.  The failed
 * receive's "seen empty, then seen open" (Go's reasoning) needs both: a
 * channel closed and then drained in two critical sections must not look
 * drained and open.  Under the lock, relaxed stores would be enough on
 * x86-64 and on arm64 hardware (both multi-copy atomic), but not by C11's
 * rules, by which the load of closed could still read the value from
 * before the close; with release stores the load of qcount synchronizes
 * with the drain, which the lock orders after the close.  A woken G sees
 * what its waker wrote (the value, success, param) through the run queue's
 * release/acquire.
 */
#include <limits.h>
#include <stdlib.h>
#include "chan.h"

#define MAXELEMSIZE	(1 << 16)	/* Go's limit too */

void gmprt_lock_slow(spinlock_t *l)
{
	int spins = 0;

	for (;;) {
		while (load_relaxed(&l->v)) {
			if (++spins < 128)
				cpu_relax();
			else
				sched_yield();
		}
		if (spin_trylock(l))
			return;
	}
}

gmprt_chan *gmprt_chan_make(size_t elemsize, size_t cap)
{
	struct gmprt_chan *c;
	size_t hdr = sizeof(*c), bytes;
	void *mem;

	if (elemsize >= MAXELEMSIZE ||
	    __builtin_mul_overflow(elemsize, cap, &bytes) ||
	    bytes > (size_t)PTRDIFF_MAX - hdr) {
		errno = EINVAL;
		return NULL;
	}
	if (posix_memalign(&mem, 64, hdr + bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	c = mem;
	memset(c, 0, hdr);
	c->elemsize = elemsize;
	c->dataqsiz = cap;
	c->buf = (char *)mem + hdr;
	return c;
}

static int chansend(g_t *gp, struct gmprt_chan *c, const void *ep, bool block);
static int chanrecv(g_t *gp, struct gmprt_chan *c, void *ep, bool block);

void gmprt_chan_free0(struct gmprt_chan *c)
{
	free(c);
}

/* A timer's channel goes with its timer: the timer is stopped first. */
void gmprt_chan_free(gmprt_chan *c)
{
	if (c && c->timer) {
		gmprt_timer_free(c->timer);
		return;
	}
	free(c);
}

int gmprt_chansend_nb(struct gmprt_chan *c, const void *ep)
{
	return chansend(NULL, c, ep, false);
}

int gmprt_chanrecv_nb(struct gmprt_chan *c, void *ep)
{
	return chanrecv(NULL, c, ep, false);
}

size_t gmprt_chan_len(gmprt_chan *c)
{
	return c ? load_relaxed(&c->qcount) : 0;
}

size_t gmprt_chan_cap(gmprt_chan *c)
{
	return c ? c->dataqsiz : 0;
}

/* A send would block (Go's full): checked without the lock. */
static inline bool full(struct gmprt_chan *c)
{
	if (c->dataqsiz == 0)
		return load_acquire(&c->recvq.first) == NULL;
	return load_acquire(&c->qcount) == c->dataqsiz;
}

/* A receive would block (Go's empty): checked without the lock. */
static inline bool empty(struct gmprt_chan *c)
{
	if (c->dataqsiz == 0)
		return load_acquire(&c->sendq.first) == NULL;
	return load_acquire(&c->qcount) == 0;
}

/* Operations on a NULL channel block forever, as in Go. */
static __attribute__((noreturn)) void block_forever(void)
{
	gmprt_gopark(NULL, NULL, "chan (nil chan)");
	gmprt_throw("a G blocked on a nil channel was woken");
}

static bool chanparkcommit(g_t *gp, void *c)
{
	(void)gp;
	chan_unlock(c);
	return true;
}

static int chansend(g_t *gp, struct gmprt_chan *c, const void *ep, bool block)
{
	struct sudog *sg, mysg;
	g_t *rg;

	if (unlikely(!c)) {
		if (!block)
			return -EAGAIN;
		block_forever();
	}
	/*
	 * Fast path for a failed non-blocking send (Go's reasoning): if the
	 * channel is seen open and then full, it was full when it was open.
	 */
	if (!block && !load_acquire(&c->closed) && full(c))
		return -EAGAIN;

	chan_lock(c);
	if (unlikely(c->closed)) {
		chan_unlock(c);
		return -EPIPE;
	}
	sg = dequeue(&c->recvq);
	if (sg) {
		rg = send_direct(c, sg, ep);
		chan_unlock(c);
		gmprt_goready(rg);
		return 0;
	}
	if (c->qcount < c->dataqsiz) {
		bufsend(c, ep);
		chan_unlock(c);
		return 0;
	}
	if (!block) {
		chan_unlock(c);
		return -EAGAIN;
	}
	mysg = (struct sudog){ .g = gp, .elem = (void *)ep };
	gp->param = NULL;
	enqueue(&c->sendq, &mysg);
	gmprt_gopark(chanparkcommit, c, "chan send");
	/* Woken by a receiver (the value is taken) or by close. */
	if (unlikely(gp->param != &mysg))
		gmprt_throw("chansend: G waiting list is corrupted");
	gp->param = NULL;
	return mysg.success ? 0 : -EPIPE;
}

static int chanrecv(g_t *gp, struct gmprt_chan *c, void *ep, bool block)
{
	struct sudog *sg, mysg;
	g_t *sgp;

	if (unlikely(!c)) {
		if (!block)
			return -EAGAIN;
		block_forever();
	}
	/*
	 * Fast path for a failed non-blocking receive (Go's reasoning): seen
	 * empty, then open, it was empty while open; seen closed, it stays
	 * closed, and if it is still empty it is drained for good.
	 */
	if (!block && empty(c)) {
		if (!load_acquire(&c->closed))
			return -EAGAIN;
		if (empty(c)) {
			elemclr(c, ep);
			return -EPIPE;
		}
	}

	chan_lock(c);
	if (unlikely(c->closed) && c->qcount == 0) {
		chan_unlock(c);
		elemclr(c, ep);
		return -EPIPE;
	}
	sg = dequeue(&c->sendq);
	if (sg) {
		sgp = recv_direct(c, sg, ep);
		chan_unlock(c);
		gmprt_goready(sgp);
		return 0;
	}
	if (c->qcount > 0) {
		bufrecv(c, ep);
		chan_unlock(c);
		return 0;
	}
	if (!block) {
		chan_unlock(c);
		return -EAGAIN;
	}
	mysg = (struct sudog){ .g = gp, .elem = ep };
	gp->param = NULL;
	enqueue(&c->recvq, &mysg);
	gmprt_gopark(chanparkcommit, c, "chan receive");
	/* Woken by a sender (the value is in *ep) or by close. */
	if (unlikely(gp->param != &mysg))
		gmprt_throw("chanrecv: G waiting list is corrupted");
	gp->param = NULL;
	if (!mysg.success) {
		elemclr(c, ep);
		return -EPIPE;
	}
	return 0;
}

int gmprt_chan_send(gmprt_chan *c, const void *elem)
{
	RT_ENTER_ANY(gp);

	if (likely(!gp->foreign))
		chan_safepoint(gp->m);
	return chansend(gp, c, elem, true);
}

int gmprt_chan_recv(gmprt_chan *c, void *elem)
{
	RT_ENTER_ANY(gp);

	if (likely(!gp->foreign))
		chan_safepoint(gp->m);
	return chanrecv(gp, c, elem, true);
}

/* The try forms are safe points too: a G polling in a loop must yield. */
int gmprt_chan_trysend(gmprt_chan *c, const void *elem)
{
	RT_ENTER_ANY(gp);

	if (likely(!gp->foreign))
		chan_safepoint(gp->m);
	return chansend(gp, c, elem, false);
}

int gmprt_chan_tryrecv(gmprt_chan *c, void *elem)
{
	RT_ENTER_ANY(gp);

	if (likely(!gp->foreign))
		chan_safepoint(gp->m);
	return chanrecv(gp, c, elem, false);
}

int gmprt_chan_recv_timeout(gmprt_chan *c, void *elem, int64_t ns)
{
	RT_ENTER(gp, "gmprt_chan_recv_timeout");
	struct gmprt_select_case k = { .chan = c, .dir = GMPRT_RECV, .elem = elem };
	int64_t deadline;
	int r;

	chan_safepoint(gp->m);
	if (ns <= 0) {
		r = chanrecv(gp, c, elem, false);
		return r == -EAGAIN ? -ETIMEDOUT : r;
	}
	if (__builtin_add_overflow(gmprt_now(), ns, &deadline))
		deadline = INT64_MAX;
	r = gmprt_selectgo(gp, &k, 1, true, deadline);
	return r == 0 ? k.err : r;
}

int gmprt_chan_close(gmprt_chan *c)
{
	RT_ENTER_ANY(self);
	g_t *glist = NULL, *gp;
	struct sudog *sg;

	(void)self;
	if (!c)
		return -EINVAL;
	chan_lock(c);
	if (c->closed) {
		chan_unlock(c);
		return -EPIPE;
	}
	store_release(&c->closed, 1);
	/* Every receiver (the buffer is empty if any waits), then every sender. */
	while ((sg = dequeue(&c->recvq)) || (sg = dequeue(&c->sendq))) {
		gp = sg->g;
		sg->success = false;
		gp->param = sg;
		gp->schedlink = glist;
		glist = gp;
	}
	chan_unlock(c);
	while (glist) {
		gp = glist;
		glist = gp->schedlink;
		gp->schedlink = NULL;
		gmprt_goready(gp);
	}
	return 0;
}
