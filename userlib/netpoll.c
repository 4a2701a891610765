// SPDX-License-Identifier: GPL-2.0
/*
 * libgmprt: the network poller (Go's netpoll.go and netpoll_epoll.go), the
 * fd calls on top of it, and signals delivered to channels.
 *
 * Glossary
 * ========
 * pollDesc (struct pd): what the runtime knows of one fd used through
 * gmprt_read & co.: its epoll registration (edge-triggered, in and out at
 * once), its incarnation (seq: the fd number is reused after a close), a
 * reader slot and a writer slot (rg, wg), its deadlines, and whether it is
 * being closed.  A slot holds NIL, READY (an edge came and nobody has
 * consumed it), WAIT (a G is about to park) or the parked G itself: Go's
 * pdNil, pdReady, pdWait and the G.
 *
 * The poller: what collects epoll's events (every registered fd, and an
 * eventfd the signal handler writes) and turns each edge into READY in the
 * slot or into the G parked there.  By default (GMPRT_NETPOLL=park) that
 * is any M: an M with no work parks in gmp.ko armed with GMP_PARK_POLL
 * (kmod/pollwait.c), so that the epoll file becoming readable ends its
 * park with an idle P; it collects the events without blocking and runs
 * their Gs from its own ring.  Running Ms poll too, without blocking, from
 * findrunnable before they steal and every GLOBAL_POLL-th schedule, but
 * only while some G waits and no parked M is armed (gmprt_netpoll_due()).
 * With GMPRT_NETPOLL=thread it is one thread of the runtime blocked in
 * epoll_wait, which hands the Gs it frees to gmp.ko's global queue in one
 * GMP_IOC_RUNQ_PUT with GMP_RUNQ_WAKE (that starts an M if a P is idle).
 *
 * Why it is hard
 * ==============
 * A G waiting for a socket must cost a few KiB, not a thread, and the M
 * that runs it must be free to run other Gs meanwhile; yet readiness, a
 * deadline, a close and the G's own decision to park all race, and an M
 * that parks with nothing to do must still be woken when an fd becomes
 * ready.
 *
 * Rejected approaches
 * ===================
 *  - Go's own placement, its last idle M blocked in epoll_wait: here an
 *    idle M sleeps in gmp.ko's park, not in epoll_wait, so the M that
 *    would poll must leave gmp.ko's idle list and come back, and a wakep
 *    must break its epoll_wait: two ways to sleep for one M.
 *  - A dedicated poller thread (kept as GMPRT_NETPOLL=thread): every batch
 *    of ready Gs crosses two threads (the poller's wake-up, then the M's)
 *    and costs a GMP_IOC_RUNQ_PUT on top.  Measured side by side on the
 *    echo benchmark (1,000 connections, one VM boot, bench/run's
 *    echo-pollthread row): 310-360 us per request against 140-200 us for
 *    the parked Ms, and 4.8-5.3 syscalls per request against 3.1-3.4 (Go:
 *    4.3-4.7).  So the parked Ms are the default; the thread stays for a
 *    gmp.ko without GMP_FEAT_POLL and as the benchmark's comparison.
 *  - signalfd for signals: it sees a signal only if every thread blocks
 *    it, and the runtime cannot block signals in threads the program and
 *    its libraries made, or made before it started.  A handler that sets
 *    a bit and writes the eventfd (both async-signal-safe) works in any
 *    thread.
 *  - Freeing a pollDesc at close: the poller may be looking at it.  They
 *    stay, one per fd number, and an event carries the seq it was
 *    registered with: a stale one is dropped.
 *
 * The protocol (a slot, Go's netpollblock / netpollunblock)
 * =========================================================
 *   waiter: READY -> NIL (consume an edge: try the I/O again), else
 *           NIL -> WAIT, recheck close and deadline, arm the deadline
 *           timer, park with the commit WAIT -> G (fails if an edge, a
 *           deadline or a close came in between: then it does not park);
 *           once woken, cancel the timer and take the slot back to NIL.
 *   poller: on an edge, WAIT or NIL -> READY, G -> READY and ready the G.
 *   timer, close, a new deadline: WAIT -> NIL (the commit fails),
 *           G -> NIL and ready the G; READY and NIL stay.
 * Exactly one CAS wins each transition, so a G is readied once.  The
 * waiter rechecks closing and its deadline after every wake, so a wake
 * that was not an edge is harmless.
 *
 * Who writes what: the slots by CAS from the waiter, the poller, timers
 * and close; seq, closing, registered under pd->lock (closing is read
 * without it); refs by atomic add from every call, read by close, which
 * waits for the calls in flight to leave before it closes the fd.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include "chan.h"

#define PD_NIL		0UL
#define PD_READY	1UL
#define PD_WAIT		2UL

struct pd {
	uintptr_t rg, wg;		/* the slots */
	spinlock_t lock;
	uint32_t seq;			/* incarnation, in the epoll data */
	uint32_t registered;
	uint32_t closing;
	uint32_t pollable;		/* epoll took it (not a regular file) */
	uint32_t refs;			/* calls in flight */
	int64_t rd, wd;			/* deadlines, CLOCK_MONOTONIC ns; 0: none */
};

/* fd -> pd, two levels, so that the poller reads it while it grows. */
#define PD_PAGE		1024
#define PD_PAGES	1024		/* fds below 1M */
static struct pd *pd_dir[PD_PAGES];
static spinlock_t pd_grow;
COUNT_SCHED_VAR(pd_dir);
COUNT_SCHED_VAR(pd_grow);

static int epfd = -1;
static int sigevfd = -1;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_err;

#define SIG_KEY		(~0ULL)

/* ---- signals (Go's signal.Notify) -------------------------------------- */

#define MAXNOTIFY	64
static struct {
	gmprt_chan *c;
	uint64_t sigs;
} notify[MAXNOTIFY];
static pthread_mutex_t notify_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t sig_pending;
static uint64_t sig_handled;		/* our handler is installed */
COUNT_SCHED_VAR(sig_pending);

static void sig_handler(int sig)
{
	int saved = errno;
	uint64_t one = 1;
	ssize_t r;

	__atomic_fetch_or(CW(&sig_pending), 1ULL << sig, __ATOMIC_SEQ_CST);
	r = write(sigevfd, &one, sizeof(one));	/* fails only when a wake is pending */
	(void)r;
	errno = saved;
}

static void sig_deliver(void)
{
	uint64_t v, pend;
	int i, sig;

	if (read(sigevfd, &v, sizeof(v)) < 0)
		return;
	pend = __atomic_exchange_n(CW(&sig_pending), 0, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&notify_lock);
	for (sig = 1; sig < 64; sig++) {
		if (!(pend & (1ULL << sig)))
			continue;
		for (i = 0; i < MAXNOTIFY; i++)
			if (notify[i].c && (notify[i].sigs & (1ULL << sig)))
				gmprt_chansend_nb(notify[i].c, &sig);	/* full: dropped */
	}
	pthread_mutex_unlock(&notify_lock);
}

/* ---- the table ---------------------------------------------------------- */

static struct pd *pd_lookup(int fd, bool make)
{
	struct pd *page;

	if (fd < 0 || fd >= PD_PAGE * PD_PAGES)
		return NULL;
	page = __atomic_load_n(&pd_dir[fd / PD_PAGE], __ATOMIC_ACQUIRE);
	if (!page && make) {
		spin_lock(&pd_grow);
		page = pd_dir[fd / PD_PAGE];
		if (!page) {
			page = calloc(PD_PAGE, sizeof(*page));
			if (page)
				__atomic_store_n(CW(&pd_dir[fd / PD_PAGE]), page, __ATOMIC_RELEASE);
		}
		spin_unlock(&pd_grow);
	}
	return page ? &page[fd % PD_PAGE] : NULL;
}

/* ---- the poller thread -------------------------------------------------- */

/* Go's netpollunblock: the G to ready, or NULL. */
static g_t *netpollunblock(uintptr_t *gpp, bool ioready)
{
	for (;;) {
		uintptr_t old = load_acquire(gpp), new;

		if (old == PD_READY)
			return NULL;
		if (old == PD_NIL && !ioready)
			return NULL;
		new = ioready ? PD_READY : PD_NIL;
		if (cas_acqrel(gpp, old, new))
			return old > PD_WAIT ? (g_t *)old : NULL;
	}
}

#define NEVENTS	128

/*
 * Collect the events epoll has (waiting up to @timeout ms, -1: forever),
 * deliver signals, and turn each edge into READY or a G to ready.
 * Return: the Gs to ready, in @batch (2 * NEVENTS room).
 */
static int netpoll_collect(int timeout, g_t **batch, struct m *tm)
{
	struct epoll_event evs[NEVENTS];
	int i, n, k = 0;

	do
		n = epoll_wait(epfd, evs, NEVENTS, timeout);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		gmprt_throw("netpoll: epoll_wait: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		uint64_t key = evs[i].data.u64;
		uint32_t e = evs[i].events;
		struct pd *pd;
		g_t *gp;

		if (key == SIG_KEY) {
			sig_deliver();
			continue;
		}
		pd = pd_lookup((int)(uint32_t)key, false);
		if (!pd || load_acquire(&pd->seq) != (uint32_t)(key >> 32))
			continue;	/* an fd closed since: stale */
		if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
			gp = netpollunblock(&pd->rg, true);
			if (gp)
				batch[k++] = gp;
		}
		if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
			gp = netpollunblock(&pd->wg, true);
			if (gp)
				batch[k++] = gp;
		}
	}
	if (k && unlikely(tm)) {
		traceev(tm, TR_NETPOLL, 0, -1, k);
		for (i = 0; i < k; i++)
			traceev(tm, TR_READY, batch[i]->goid, -1, 0);
	}
	return k;
}

static void *poller(void *arg)
{
	g_t *batch[2 * NEVENTS];
	struct m *tm = gmprt_trace_thread();	/* not an M: a track of its own */
	int k;

	(void)arg;
	__atomic_fetch_add(CW(&sched.nthreads), 1, __ATOMIC_SEQ_CST);
	for (;;) {
		k = netpoll_collect(-1, batch, tm);
		if (k)
			gmprt_injectglist(batch, k);
	}
	return NULL;
}

/**
 * gmprt_netpoll() - Go's netpoll(0) and injectglist, from an M
 * (GMPRT_NETPOLL=park).
 * @pp: the caller's P: the Gs go on its ring, and the first is returned
 *	(runnable) for the caller to run; NULL: the caller holds no P, and the
 *	Gs go on the global queue, starting Ms for idle Ps
 *
 * Return: the G to run, or NULL.
 */
g_t *gmprt_netpoll(struct p *pp)
{
	g_t *batch[2 * NEVENTS];
	struct m *mp = getm();
	int i, k;

	k = netpoll_collect(0, batch, unlikely(trace_on()) ? mp : NULL);
	if (!k)
		return NULL;
	if (!pp) {
		gmprt_injectglist(batch, k);
		return NULL;
	}
	for (i = 0; i < k; i++) {
		if (unlikely(batch[i]->status != G_WAITING))
			gmprt_throw("netpoll readied a G that is not waiting (status %u)",
				    batch[i]->status);
		batch[i]->status = G_RUNNABLE;
		if (i)
			gmprt_runqput(pp, batch[i], false);
	}
	if (k > 1)
		gmprt_wakep();	/* a spinning M takes some of them */
	return batch[0];
}

/* GMPRT_NETPOLL: "park" (the default) or "thread"; checked at start. */
int gmprt_netpoll_env(void)
{
	const char *v = getenv("GMPRT_NETPOLL");

	if (!v || !*v || !strcmp(v, "park"))
		sched.netpoll_mode = NETPOLL_PARK;
	else if (!strcmp(v, "thread"))
		sched.netpoll_mode = NETPOLL_THREAD;
	else {
		fprintf(stderr, "gmprt: bad $GMPRT_NETPOLL: '%s' (thread or park)\n", v);
		return -EINVAL;
	}
	return 0;
}

static void netpoll_init(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = SIG_KEY };
	pthread_attr_t attr;
	pthread_t t;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	sigevfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (epfd < 0 || sigevfd < 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, sigevfd, &ev)) {
		init_err = -errno;
		return;
	}
	if (sched.netpoll_mode == NETPOLL_PARK && (sched.prm.features & GMP_FEAT_POLL)) {
		sched.netpoll_epfd = epfd;
		store_release(&sched.netpoll_park, 1);
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, poller, NULL))
		init_err = -EAGAIN;
	pthread_attr_destroy(&attr);
}

static int netpoll_start(void)
{
	pthread_once(&init_once, netpoll_init);
	return init_err;
}

/* ---- registering an fd -------------------------------------------------- */

/* The fd's pd, registered with epoll and non-blocking; NULL with *err. */
static struct pd *pd_get(int fd, bool nonblock_already, int *err)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	struct pd *pd = pd_lookup(fd, true);
	int fl;

	if (!pd) {
		*err = fd < 0 ? -EBADF : -EMFILE;
		return NULL;
	}
	if (likely(load_acquire(&pd->registered)))
		return pd;
	*err = netpoll_start();
	if (*err)
		return NULL;
	lock_yield(&pd->lock);
	if (pd->registered) {
		spin_unlock(&pd->lock);
		return pd;
	}
	if (!nonblock_already) {
		fl = fcntl(fd, F_GETFL);
		if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)) {
			*err = -errno;
			spin_unlock(&pd->lock);
			return NULL;
		}
	}
	store_release(&pd->seq, pd->seq + 1);
	pd->rg = pd->wg = PD_NIL;
	pd->rd = pd->wd = 0;
	store_relaxed(&pd->closing, 0);
	ev.data.u64 = (uint32_t)fd | (uint64_t)pd->seq << 32;
	pd->pollable = 1;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		if (errno == EPERM) {
			pd->pollable = 0;	/* a regular file: always ready */
		} else if (errno != EEXIST ||
			   epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev)) {
			*err = -errno;
			spin_unlock(&pd->lock);
			return NULL;
		}
	}
	store_release(&pd->registered, 1);
	spin_unlock(&pd->lock);
	return pd;
}

/* ---- waiting (Go's netpollblock) ---------------------------------------- */

static bool netpollcommit(g_t *gp, void *gpp)
{
	return cas_acqrel((uintptr_t *)gpp, PD_WAIT, (uintptr_t)gp);
}

/* The deadline timer of a G waiting on a slot (gp->waitsel). */
static void netpolldeadline(g_t *gp)
{
	g_t *w = netpollunblock(gp->waitsel, false);

	if (w)
		gmprt_timer_goready(w);
}

/*
 * Wait for an edge on @pd's slot @mode ('r' or 'w'), a close, or
 * @deadline (0: none).  Return: 0 to try the I/O again, -ECANCELED
 * (closing), -ETIMEDOUT.
 */
static int netpollblock(g_t *gp, struct pd *pd, int fd, int mode, int64_t deadline)
{
	uintptr_t *gpp = mode == 'r' ? &pd->rg : &pd->wg;
	uintptr_t old;

	for (;;) {
		old = load_acquire(gpp);
		if (old == PD_READY) {
			if (cas_acqrel(gpp, PD_READY, PD_NIL))
				return 0;
			continue;
		}
		if (old != PD_NIL)
			gmprt_throw("netpoll: two Gs wait to %s fd %d at once (one reader and one writer per fd, as Go's)",
				    mode == 'r' ? "read" : "write", fd);
		if (cas_acqrel(gpp, PD_NIL, PD_WAIT))
			break;
	}
	if (load_acquire(&pd->closing) || (deadline && gmprt_now() >= deadline)) {
		cas_acqrel(gpp, PD_WAIT, PD_NIL);
		return load_acquire(&pd->closing) ? -ECANCELED : -ETIMEDOUT;
	}
	if (deadline) {
		gp->waitsel = gpp;
		gmprt_addtimer(gp, deadline, netpolldeadline);
	}
	__atomic_fetch_add(CW(&sched.npollwait), 1, __ATOMIC_SEQ_CST);
	gmprt_gopark(netpollcommit, gpp, "IO wait");
	__atomic_fetch_sub(CW(&sched.npollwait), 1, __ATOMIC_SEQ_CST);
	if (deadline)
		gmprt_deltimer(gp);
	old = __atomic_exchange_n(CW(gpp), PD_NIL, __ATOMIC_ACQ_REL);
	if (old > PD_WAIT)
		gmprt_throw("netpoll: a woken G is still in its slot");
	if (load_acquire(&pd->closing))
		return -ECANCELED;
	if (deadline && gmprt_now() >= deadline)
		return -ETIMEDOUT;
	return 0;
}

/* The nearer of @a and @b, 0 meaning none. */
static int64_t earlier(int64_t a, int64_t b)
{
	if (!a)
		return b;
	return b && b < a ? b : a;
}

/* ---- the calls ---------------------------------------------------------- */

enum op { OP_READ, OP_WRITE, OP_READV, OP_WRITEV, OP_RECV, OP_SEND,
	  OP_RECVFROM, OP_SENDTO, OP_ACCEPT };

struct io {
	enum op op;
	void *buf;
	size_t len;
	const struct iovec *iov;
	int iovcnt;
	int flags;
	struct sockaddr *addr;
	socklen_t *addrlen;
	const struct sockaddr *daddr;
	socklen_t daddrlen;
};

static ssize_t io_once(int fd, const struct io *io)
{
	switch (io->op) {
	case OP_READ:
		return read(fd, io->buf, io->len);
	case OP_WRITE:
		return write(fd, io->buf, io->len);
	case OP_READV:
		return readv(fd, io->iov, io->iovcnt);
	case OP_WRITEV:
		return writev(fd, io->iov, io->iovcnt);
	case OP_RECV:
		return recv(fd, io->buf, io->len, io->flags);
	case OP_SEND:
		return send(fd, io->buf, io->len, io->flags | MSG_NOSIGNAL);
	case OP_RECVFROM:
		return recvfrom(fd, io->buf, io->len, io->flags, io->addr, io->addrlen);
	case OP_SENDTO:
		return sendto(fd, io->buf, io->len, io->flags | MSG_NOSIGNAL,
			      io->daddr, io->daddrlen);
	case OP_ACCEPT:
		return accept4(fd, io->addr, io->addrlen,
			       io->flags | SOCK_NONBLOCK);
	}
	return -1;
}

static bool is_write(enum op op)
{
	return op == OP_WRITE || op == OP_WRITEV || op == OP_SEND || op == OP_SENDTO;
}

/* Try, and wait while it would block. */
static ssize_t io_loop(g_t *gp, int fd, const struct io *io)
{
	int mode = is_write(io->op) ? 'w' : 'r', err;
	struct pd *pd = pd_get(fd, false, &err);
	ssize_t n;

	if (!pd)
		return err;
	__atomic_fetch_add(CW(&pd->refs), 1, __ATOMIC_SEQ_CST);
	for (;;) {
		int64_t dl = mode == 'r' ? load_relaxed(&pd->rd) : load_relaxed(&pd->wd);

		if (load_acquire(&pd->closing)) {
			n = -ECANCELED;
			break;
		}
		if (dl && gmprt_now() >= dl) {
			n = -ETIMEDOUT;
			break;
		}
		n = io_once(fd, io);
		if (n >= 0)
			break;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			n = -errno;
			break;
		}
		if (errno == EINTR)
			continue;
		if (!pd->pollable) {	/* cannot wait for an edge: a file */
			n = -EAGAIN;
			break;
		}
		err = netpollblock(gp, pd, fd, mode, dl);
		if (err) {
			n = err;
			break;
		}
	}
	__atomic_fetch_sub(CW(&pd->refs), 1, __ATOMIC_SEQ_CST);
	return n;
}

long gmprt_read(int fd, void *buf, size_t len)
{
	RT_ENTER(gp, "gmprt_read");
	struct io io = { .op = OP_READ, .buf = buf, .len = len };

	return io_loop(gp, fd, &io);
}

/* All of @buf, as Go's Write, unless an error or the deadline stops it. */
long gmprt_write(int fd, const void *buf, size_t len)
{
	RT_ENTER(gp, "gmprt_write");
	struct io io = { .op = OP_WRITE };
	size_t done = 0;
	ssize_t n;

	do {
		io.buf = (char *)buf + done;
		io.len = len - done;
		n = io_loop(gp, fd, &io);
		if (n < 0)
			return done ? (ssize_t)done : n;
		done += n;
	} while (done < len);
	return done;
}

long gmprt_readv(int fd, const struct iovec *iov, int iovcnt)
{
	RT_ENTER(gp, "gmprt_readv");
	struct io io = { .op = OP_READV, .iov = iov, .iovcnt = iovcnt };

	return io_loop(gp, fd, &io);
}

long gmprt_writev(int fd, const struct iovec *iov, int iovcnt)
{
	RT_ENTER(gp, "gmprt_writev");
	struct io io = { .op = OP_WRITEV, .iov = iov, .iovcnt = iovcnt };

	return io_loop(gp, fd, &io);
}

long gmprt_recv(int fd, void *buf, size_t len, int flags)
{
	RT_ENTER(gp, "gmprt_recv");
	struct io io = { .op = OP_RECV, .buf = buf, .len = len, .flags = flags };

	return io_loop(gp, fd, &io);
}

long gmprt_send(int fd, const void *buf, size_t len, int flags)
{
	RT_ENTER(gp, "gmprt_send");
	struct io io = { .op = OP_SEND, .buf = (void *)buf, .len = len, .flags = flags };

	return io_loop(gp, fd, &io);
}

long gmprt_recvfrom(int fd, void *buf, size_t len, int flags,
		       struct sockaddr *addr, socklen_t *addrlen)
{
	RT_ENTER(gp, "gmprt_recvfrom");
	struct io io = { .op = OP_RECVFROM, .buf = buf, .len = len, .flags = flags,
			 .addr = addr, .addrlen = addrlen };

	return io_loop(gp, fd, &io);
}

long gmprt_sendto(int fd, const void *buf, size_t len, int flags,
		     const struct sockaddr *addr, socklen_t addrlen)
{
	RT_ENTER(gp, "gmprt_sendto");
	struct io io = { .op = OP_SENDTO, .buf = (void *)buf, .len = len, .flags = flags,
			 .daddr = addr, .daddrlen = addrlen };

	return io_loop(gp, fd, &io);
}

int gmprt_accept(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
	RT_ENTER(gp, "gmprt_accept");
	struct io io = { .op = OP_ACCEPT, .addr = addr, .addrlen = addrlen,
			 .flags = flags & ~SOCK_NONBLOCK };
	ssize_t nfd;
	int err;

	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	nfd = io_loop(gp, fd, &io);
	if (nfd < 0)
		return (int)nfd;
	/* Ready for gmprt I/O at once: non-blocking already. */
	if (!pd_get((int)nfd, true, &err)) {
		close((int)nfd);
		return err;
	}
	return (int)nfd;
}

int gmprt_connect(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	RT_ENTER(gp, "gmprt_connect");
	struct pd *pd;
	int err, soerr;
	socklen_t sl = sizeof(soerr);

	pd = pd_get(fd, false, &err);
	if (!pd)
		return err;
	if (connect(fd, addr, addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR && errno != EALREADY)
		return -errno;
	__atomic_fetch_add(CW(&pd->refs), 1, __ATOMIC_SEQ_CST);
	for (;;) {
		int64_t dl = load_relaxed(&pd->wd);

		err = netpollblock(gp, pd, fd, 'w', dl);
		if (err)
			break;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl)) {
			err = -errno;
			break;
		}
		if (soerr == EINPROGRESS || soerr == EALREADY || soerr == EINTR)
			continue;
		if (soerr) {
			err = -soerr;
			break;
		}
		{
			struct sockaddr_storage ss;
			socklen_t l = sizeof(ss);

			if (getpeername(fd, (struct sockaddr *)&ss, &l) == 0)
				break;		/* connected */
		}
	}
	__atomic_fetch_sub(CW(&pd->refs), 1, __ATOMIC_SEQ_CST);
	return err;
}

int gmprt_fd_wait(int fd, int events, int64_t deadline)
{
	RT_ENTER(gp, "gmprt_fd_wait");
	struct pollfd p = { .fd = fd, .events = (short)(events & (POLLIN | POLLOUT)) };
	struct pd *pd;
	int err, mode = events & POLLIN ? 'r' : 'w';

	if (!p.events || (events & ~(POLLIN | POLLOUT)) ||
	    p.events == (POLLIN | POLLOUT))
		return -EINVAL;
	pd = pd_get(fd, false, &err);
	if (!pd)
		return err;
	__atomic_fetch_add(CW(&pd->refs), 1, __ATOMIC_SEQ_CST);
	for (;;) {
		int64_t dl = earlier(deadline, load_relaxed(mode == 'r' ? &pd->rd : &pd->wd));

		if (load_acquire(&pd->closing)) {
			err = -ECANCELED;
			break;
		}
		if (poll(&p, 1, 0) > 0) {
			err = p.revents;
			break;
		}
		if (dl && gmprt_now() >= dl) {
			err = -ETIMEDOUT;
			break;
		}
		err = netpollblock(gp, pd, fd, mode, dl);
		if (err)
			break;
	}
	__atomic_fetch_sub(CW(&pd->refs), 1, __ATOMIC_SEQ_CST);
	return err;
}

int gmprt_fd_set_deadline(int fd, int events, int64_t deadline)
{
	RT_ENTER(gp, "gmprt_fd_set_deadline");
	struct pd *pd;
	g_t *w;
	int err;

	(void)gp;
	if (!events || (events & ~(POLLIN | POLLOUT)) || deadline < 0)
		return -EINVAL;
	pd = pd_get(fd, false, &err);
	if (!pd)
		return err;
	/* Waiters look again, under the new deadline (Go's SetDeadline). */
	if (events & POLLIN) {
		store_relaxed(&pd->rd, deadline);
		w = netpollunblock(&pd->rg, false);
		if (w)
			gmprt_goready(w);
	}
	if (events & POLLOUT) {
		store_relaxed(&pd->wd, deadline);
		w = netpollunblock(&pd->wg, false);
		if (w)
			gmprt_goready(w);
	}
	return 0;
}

int gmprt_close(int fd)
{
	RT_ENTER(gp, "gmprt_close");
	struct pd *pd = pd_lookup(fd, false);
	g_t *w;
	int ret;

	(void)gp;
	if (!pd || !load_acquire(&pd->registered))
		return close(fd) ? -errno : 0;
	lock_yield(&pd->lock);
	if (pd->closing) {
		spin_unlock(&pd->lock);
		return -EBADF;		/* someone else closes it */
	}
	store_release(&pd->closing, 1);
	spin_unlock(&pd->lock);
	/* Every waiter wakes, sees closing, and leaves: -ECANCELED. */
	w = netpollunblock(&pd->rg, false);
	if (w)
		gmprt_goready(w);
	w = netpollunblock(&pd->wg, false);
	if (w)
		gmprt_goready(w);
	while (load_acquire(&pd->refs))
		gmprt_yield();
	if (pd->pollable)
		epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	/*
	 * Unregistered before the number is free again: the next socket to
	 * get it must register afresh (a new seq, closing clear), not find
	 * this one's pd still registered and closing.
	 */
	lock_yield(&pd->lock);
	store_release(&pd->registered, 0);
	spin_unlock(&pd->lock);
	ret = close(fd) ? -errno : 0;
	return ret;
}

/* ---- signals: the calls ------------------------------------------------- */

int gmprt_signal_notify(gmprt_chan *c, int sig)
{
	struct sigaction sa = { .sa_handler = sig_handler, .sa_flags = SA_RESTART };
	int i, slot = -1, err = netpoll_start();

	if (err)
		return err;
	if (!c || sig <= 0 || sig >= 64 || sig == SIGKILL || sig == SIGSTOP ||
	    c->elemsize != sizeof(int))
		return -EINVAL;
	pthread_mutex_lock(&notify_lock);
	for (i = 0; i < MAXNOTIFY; i++) {
		if (notify[i].c == c) {
			slot = i;
			break;
		}
		if (!notify[i].c && slot < 0)
			slot = i;
	}
	if (slot < 0) {
		pthread_mutex_unlock(&notify_lock);
		return -ENOSPC;
	}
	if (!(sig_handled & (1ULL << sig))) {
		sigfillset(&sa.sa_mask);
		if (sigaction(sig, &sa, NULL)) {
			pthread_mutex_unlock(&notify_lock);
			return -errno;
		}
		sig_handled |= 1ULL << sig;
	}
	if (!notify[slot].c)
		__atomic_fetch_add(CW(&sched.nsignotify), 1, __ATOMIC_SEQ_CST);
	notify[slot].c = c;
	notify[slot].sigs |= 1ULL << sig;
	pthread_mutex_unlock(&notify_lock);
	return 0;
}

int gmprt_signal_stop(gmprt_chan *c)
{
	uint64_t still = 0;
	int i, sig, found = 0;

	pthread_mutex_lock(&notify_lock);
	for (i = 0; i < MAXNOTIFY; i++) {
		if (notify[i].c == c && c) {
			notify[i].c = NULL;
			notify[i].sigs = 0;
			found = 1;
			__atomic_fetch_sub(CW(&sched.nsignotify), 1, __ATOMIC_SEQ_CST);
		}
		still |= notify[i].sigs;
	}
	/* A signal nobody asks for any more gets its default back (Go's rule). */
	for (sig = 1; sig < 64; sig++) {
		if ((sig_handled & (1ULL << sig)) && !(still & (1ULL << sig))) {
			signal(sig, SIG_DFL);
			sig_handled &= ~(1ULL << sig);
		}
	}
	pthread_mutex_unlock(&notify_lock);
	return found ? 0 : -ENOENT;
}
