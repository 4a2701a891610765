/* SPDX-License-Identifier: GPL-2.0 */
/* White-box helpers for the channel and select tests (after chan.h). */
#ifndef RT_CHAN_UTIL_H
#define RT_CHAN_UTIL_H

/* Gs queued on @c's receive (or send) queue, under its lock (white box). */
static inline int waiters(gmprt_chan *c, bool send)
{
	struct sudog *sg;
	int n = 0;

	chan_lock(c);
	for (sg = send ? c->sendq.first : c->recvq.first; sg; sg = sg->next)
		n++;
	chan_unlock(c);
	return n;
}

/* Yield until @n Gs wait on @c: they are parked, not just about to be. */
static inline void await_waiters(gmprt_chan *c, bool send, int n)
{
	while (waiters(c, send) < n)
		gmprt_yield();
}

#endif /* RT_CHAN_UTIL_H */
