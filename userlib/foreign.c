// SPDX-License-Identifier: GPL-2.0
/*
 * libgmprt: calls from threads the runtime did not start.
 *
 * Glossary
 * ========
 * A foreign thread is any thread that is not running a G: a plain pthread
 * of the program or of a library (a callback thread, a signal thread, a
 * pool), and also the thread that called gmprt_main() once it returned.
 * Its stand-in is a struct gmprt_g in that thread's TLS, marked foreign: it
 * has no stack and is never scheduled; it exists so that the wait queues of
 * channels, wait groups and mutexes, which hold Gs, can hold the thread too.
 *
 * Why it is hard
 * ==============
 * Everything the runtime does assumes a P: goready puts the G on the
 * caller's P, gopark switches the caller's G off its M.  A foreign thread
 * has neither, and the program cannot make it a G.  Before this file,
 * gmprt_wg_done() from a plain pthread worked if the waiter had not parked
 * yet and aborted if it had: timing decided.
 *
 * Rejected approaches
 * ===================
 *  - Registering the foreign thread as an M on its first call: it would
 *    then need a P to ready a G (taking one from a running M, or waiting
 *    for one), would count against the Ms, and would have to be
 *    unregistered when the thread exits, which the runtime cannot see.
 *  - Refusing every call from a foreign thread: C libraries call back on
 *    their own threads; a runtime that cannot be told "this is done" from
 *    one is not usable from real C.
 *  - A pipe or eventfd per waiting thread: a futex on a word in its TLS is
 *    the same wait with no fd and no allocation.
 *
 * The protocol
 * ============
 *  - Readying a G from a thread without a P (gmprt_goready) puts it on the
 *    global run queue with GMP_RUNQ_WAKE: gmp.ko starts an M for it if a P
 *    is idle, in the same call (Go's injectglist without a P).  With no P
 *    idle, every P has an M that polls the global queue (schedule, every
 *    61 ticks, and findrunnable, and park's recheck under sched->lock), so
 *    the G is never stranded.
 *  - Starting a G from a foreign thread: the G is made here (global free
 *    list or a fresh stack), its id taken from goidgen directly, and it goes
 *    the same way.
 *  - Blocking: gopark on a foreign thread (gmprt_foreign_park) clears the
 *    stand-in's futex word, marks it waiting, runs the unlockf (which drops
 *    the lock of the wait queue it is on), and sleeps in FUTEX_WAIT until
 *    the word is 1.  Whoever dequeues it calls gmprt_goready as for any G,
 *    which sees the foreign mark and sets the word and FUTEX_WAKEs.  The
 *    thread blocks; no M and no P is involved.
 *  - Every other call from a foreign thread is fatal, always, in
 *    gmprt_mustg(), before it looks at any state.
 *
 * Who writes what: the stand-in's status and futex word are written by the
 * thread before it is queued (under the queue's lock) and, once queued, by
 * exactly one waker (the one that dequeued it), which writes status before
 * the word's release store; the thread reads the word with acquire.
 *
 * Deadlock detection (proc.c's checkdead) cannot know whether a foreign
 * thread will ready a G later, so it is off while the process has threads
 * the runtime did not start (gmprt_foreign_threads).
 */
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "runtime.h"

static __thread g_t foreign_g;

g_t *gmprt_foreign_self(void)
{
	g_t *gp = &foreign_g;

	if (unlikely(!gp->foreign)) {
		gp->foreign = true;
		gp->status = G_RUNNING;
	}
	return gp;
}

static void futex_op(uint32_t *uaddr, int op, uint32_t val)
{
	int saved = errno;

	syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
	errno = saved;
}

void gmprt_foreign_park(bool (*unlockf)(g_t *, void *), void *arg)
{
	g_t *gp = gmprt_foreign_self();

	store_relaxed(&gp->fwake, 0);
	gp->status = G_WAITING;
	if (unlockf && !unlockf(gp, arg)) {
		gp->status = G_RUNNING;
		return;
	}
	while (!load_acquire(&gp->fwake))
		futex_op(&gp->fwake, FUTEX_WAIT_PRIVATE, 0);
	gp->status = G_RUNNING;
}

void gmprt_foreign_ready(g_t *gp)
{
	if (unlikely(gp->status != G_WAITING))
		gmprt_throw("gmprt_ready of a thread that is not waiting (status %u)",
			    gp->status);
	gp->status = G_RUNNABLE;
	store_release(&gp->fwake, 1);
	/*
	 * The thread may be gone by now (it saw the word and went on): a wake
	 * of a futex word nobody waits on is harmless.
	 */
	futex_op(&gp->fwake, FUTEX_WAKE_PRIVATE, 1);
}

int gmprt_foreign_go(void (*fn)(void *), void *arg)
{
	g_t *gp;

	if (unlikely(sched.forked))
		gmprt_forked_throw("gmprt_go");
	if (unlikely(!load_acquire(&sched.started)))
		gmprt_throw("gmprt_go called from a thread that runs no G before gmprt_main() started the runtime");
	gp = gmprt_galloc();
	if (!gp)
		return -ENOMEM;
	gmprt_ginit(gp, fn, arg);
	gp->goid = fetch_add(&sched.goidgen, 1) + 1;
	gp->status = G_RUNNABLE;
	gmprt_globrunqput_wake(gp);
	return 0;
}

/*
 * gmprt_foreign_threads() - true if the process has threads the runtime
 * did not start (or is starting one): a foreign thread may still ready a
 * G, so nothing can be called a deadlock.  For checkdead only (a read of
 * /proc/self/status: slow, and only when every M is parked).
 */
bool gmprt_foreign_threads(void)
{
	char line[128];
	long threads = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return true;	/* cannot tell: say nothing rather than kill */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %ld", &threads) == 1)
			break;
	fclose(f);
	return threads < 0 || threads > (long)load_acquire(&sched.nthreads);
}
