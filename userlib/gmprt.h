/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gmprt.h - the gmp runtime: Go's goroutines for C, scheduled by Go's G-M-P
 * algorithm on the state gmp.ko keeps (/dev/gmp).
 *
 * (Named gmprt, libgmprt, gmprt_*: GNU MP already owns gmp.h, libgmp and
 * gmp_*.)
 *
 * A program hands its main function to gmprt_main(), which runs it as the
 * main G and returns its result when it returns; as in Go, the program
 * should then exit: Gs still running are abandoned.
 *
 *	static int real_main(void *arg)
 *	{
 *		gmprt_go(worker, NULL);
 *		...
 *		return 0;
 *	}
 *
 *	int main(void)
 *	{
 *		return gmprt_main(real_main, NULL, NULL);
 *	}
 *
 * Calls marked "Only from a G" are fatal elsewhere, every time: the
 * runtime prints "gmprt: fatal error: ..." and exits with status 2, as
 * Go's throw does.  Calls marked "From any thread" may also be made by a
 * thread the runtime did not start (a foreign thread: a plain pthread, a
 * library's callback thread, the thread gmprt_main() returned on): a G
 * they ready goes to the global run queue and an M is woken for it if a P
 * is idle; where they block, they block that thread, not an M (see
 * docs/runtime.md, "Foreign threads").  Other errors are returned as
 * negative errno values.
 *
 * What a G may rely on (see docs/runtime.md): a G may resume on another
 * thread after any call that can block or yield, so it must not keep the
 * address of a thread-local variable (errno included) across such a call;
 * the runtime's own calls preserve errno for the G.  Signal masks and
 * handlers belong to threads, not Gs.
 */
#ifndef GMPRT_H
#define GMPRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gmprt_version.h"	/* GMPRT_VERSION_MAJOR, _MINOR: from VERSION */

#ifdef __cplusplus
extern "C" {
#endif

#define GMPRT_API __attribute__((visibility("default")))

/* ---- start-up ---------------------------------------------------------- */

#define GMPRT_PIN_PROCS		(1U << 0)	/* keep the M holding P i on CPU i */

/*
 * The struct grows at its end, one release at a time; @size says which
 * layout the program was built with, so that a library newer than the
 * program's header gives the fields it does not know their defaults (zero),
 * and an older library refuses a field it does not have rather than ignore
 * it.  Start from GMPRT_CONFIG_INIT:
 *	struct gmprt_config cfg = GMPRT_CONFIG_INIT;
 *	cfg.nprocs = 4;
 */
struct gmprt_config {
	size_t size;		/* sizeof(struct gmprt_config), as built */
	int nprocs;		/* Ps; 0: $GMPRT_NPROCS, else gmp.ko's default */
	size_t stack_size;	/* bytes per G stack; 0: $GMPRT_STACK, else 64 KiB */
	unsigned int flags;	/* GMPRT_PIN_PROCS */
};
#define GMPRT_CONFIG_INIT	{ .size = sizeof(struct gmprt_config) }
/* The first layout's size (0.1): the smallest gmprt_main() takes. */
#define GMPRT_CONFIG_SIZE_VER0	32

/*
 * gmprt_main() - start the runtime and run @fn(@arg) as the main G.
 * @cfg may be NULL for the defaults.  Environment: GMPRT_NPROCS (like
 * GOMAXPROCS) and GMPRT_STACK override zero fields of @cfg; GMPRT_NETPOLL
 * (park, the default, or thread) places the network poller.
 *
 * Return: @fn's return value, once it returns.  Without starting anything
 * (one line on stderr says why; the program may go on without gmp): the
 * errno of opening /dev/gmp, negated (-ENOENT: the module is not loaded;
 * -EACCES; -EMFILE: the user's instances are used up); -EINVAL for a bad
 * @cfg (@cfg->size below GMPRT_CONFIG_SIZE_VER0, non-zero bytes beyond the
 * struct this library knows, nprocs, stack size or flags out of range) or
 * a malformed GMPRT_NPROCS, GMPRT_STACK or GMPRT_NETPOLL; -EBUSY if the
 * runtime already ran.  Only from a thread that is not an M.
 */
GMPRT_API int gmprt_main(int (*fn)(void *), void *arg,
			 const struct gmprt_config *cfg);

/*
 * GMPRT_CHECK_VERSION(major, minor) - true when the header is older than
 * major.minor, for code that needs a newer call (liburing's idiom):
 *	#if GMPRT_CHECK_VERSION(0, 2)	... not there before 0.2 ...
 */
#define GMPRT_CHECK_VERSION(major, minor)				\
	((major) > GMPRT_VERSION_MAJOR ||				\
	 ((major) == GMPRT_VERSION_MAJOR && (minor) > GMPRT_VERSION_MINOR))

/*
 * gmprt_version() - the version of the library the program runs with,
 * "major.minor" (it may be newer than the header it was built with).
 * Return: a static string.  From anywhere.
 */
GMPRT_API const char *gmprt_version(void);

/* gmprt_nprocs() - Ps in force (GOMAXPROCS), or 0 if the runtime is not up. */
GMPRT_API int gmprt_nprocs(void);

/*
 * gmprt_set_nprocs() - make @n Ps be in force (Go's runtime.GOMAXPROCS(n));
 * @n <= 0 only reads.  Gs on the Ps that leave move to the others; a G
 * running on one goes on until its next call into the scheduler.  Once
 * called, the runtime never changes nprocs by itself.  Only from a G.
 * Return: the Ps in force before; -EINVAL for @n above 1024; -ENOMEM.
 */
GMPRT_API int gmprt_set_nprocs(int n);

/* ---- Gs ---------------------------------------------------------------- */

/*
 * gmprt_go() - start a new G running @fn(@arg) (Go's "go fn(arg)").
 * Return: 0, or -ENOMEM.  From any thread (from a foreign thread, once
 * gmprt_main() has started the runtime; before, fatal).
 */
GMPRT_API int gmprt_go(void (*fn)(void *), void *arg);

/* gmprt_yield() - let other Gs run (Go's runtime.Gosched).  Only from a G. */
GMPRT_API void gmprt_yield(void);

/* gmprt_exit() - end the calling G (Go's runtime.Goexit).  Only from a G. */
GMPRT_API __attribute__((noreturn)) void gmprt_exit(void);

/* gmprt_goid() - the calling G's id (main is 1).  Only from a G. */
GMPRT_API uint64_t gmprt_goid(void);

/* gmprt_in_g() - true when called from a G.  From any thread. */
GMPRT_API bool gmprt_in_g(void);

/*
 * gmprt_lock_thread() - wire the calling G to its thread (Go's
 * runtime.LockOSThread): until as many gmprt_unlock_thread() calls, the G
 * runs only on this thread and the thread runs only it.  When it blocks,
 * the thread sleeps and its P goes on with other Gs; when it is readied,
 * the P of the M that found it is handed straight to its thread.  Calls
 * nest.  A G that exits locked takes its thread with it (as Go's does:
 * the thread may hold state no other G should inherit).  Only from a G.
 */
GMPRT_API void gmprt_lock_thread(void);
/* One level less; at zero the G is free again; a no-op if not locked.
 * Only from a G. */
GMPRT_API void gmprt_unlock_thread(void);

/* ---- park / ready: the one mechanism blocking primitives are built on --- */

typedef struct gmprt_g gmprt_g;

/* gmprt_self() - the calling G.  Only from a G. */
GMPRT_API gmprt_g *gmprt_self(void);

/*
 * gmprt_park() - block the calling G (Go's gopark).
 * Once the G is off its stack, @unlockf(g, @arg) runs on the scheduler's
 * stack; if it returns false the G is made runnable again at once.  Typical
 * use: @unlockf releases the lock that protects the wait queue the G was put
 * on, so that a gmprt_ready() cannot come before the G is parked.
 * Only from a G.
 */
GMPRT_API void gmprt_park(bool (*unlockf)(gmprt_g *g, void *arg), void *arg);

/*
 * gmprt_ready() - make a parked G runnable (Go's goready): it runs next on
 * the caller's P.  From any thread (from a foreign thread it goes to the
 * global run queue).
 */
GMPRT_API void gmprt_ready(gmprt_g *g);

/* ---- wait group -------------------------------------------------------- */

typedef struct gmprt_waitgroup {
	uint64_t opaque[4];
} gmprt_waitgroup;
#define GMPRT_WAITGROUP_INIT { { 0 } }

GMPRT_API void gmprt_wg_init(gmprt_waitgroup *wg);
/* Add @delta (may be negative) to the counter; below zero is fatal.
 * From any thread. */
GMPRT_API void gmprt_wg_add(gmprt_waitgroup *wg, int64_t delta);
/* gmprt_wg_add(wg, -1).  From any thread. */
GMPRT_API void gmprt_wg_done(gmprt_waitgroup *wg);
/* Block until the counter is zero.  From any thread (a foreign thread
 * blocks itself). */
GMPRT_API void gmprt_wg_wait(gmprt_waitgroup *wg);

/* ---- mutex ------------------------------------------------------------- */

typedef struct gmprt_mutex {
	int32_t state;		/* private; bit 0: locked */
	uint32_t opaque[7];
} gmprt_mutex;
#define GMPRT_MUTEX_INIT { 0, { 0 } }

/* Go's sync.Mutex: not recursive, no owner; a waiter is never overtaken
 * forever (starvation mode after 1 ms). */
GMPRT_API void gmprt_mutex_init(gmprt_mutex *mu);
/* Return: true if it took @mu.  Never blocks. */
GMPRT_API bool gmprt_mutex_trylock(gmprt_mutex *mu);
/* The slow paths of gmprt_mutex_lock and gmprt_mutex_unlock.  From any
 * thread. */
GMPRT_API void gmprt_mutex_lock_slow(gmprt_mutex *mu);
GMPRT_API void gmprt_mutex_unlock_slow(gmprt_mutex *mu, int32_t state);

/*
 * Block the G (not the thread) until @mu is held.  From any thread (a
 * foreign thread blocks itself).
 * Inline: without contention it is one CAS, as Go's Lock (a library call
 * costs as much again; bench's mutex-uncontended measures it).
 */
static inline void gmprt_mutex_lock(gmprt_mutex *mu)
{
	int32_t old = 0;

	if (!__atomic_compare_exchange_n(&mu->state, &old, 1, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		gmprt_mutex_lock_slow(mu);
}

/* Unlocking an unlocked mutex is fatal.  From any thread (it may wake a
 * G, which goes where an M finds it). */
static inline void gmprt_mutex_unlock(gmprt_mutex *mu)
{
	int32_t state = __atomic_sub_fetch(&mu->state, 1, __ATOMIC_SEQ_CST);

	if (state)
		gmprt_mutex_unlock_slow(mu, state);
}

/* ---- channels ---------------------------------------------------------- */

typedef struct gmprt_chan gmprt_chan;

/*
 * Channels are Go's (see docs/runtime.md), with errors for panics.  A NULL
 * channel is Go's nil channel: send and receive on it block forever, the
 * try forms say -EAGAIN, a select case on it is never ready.  send, recv,
 * their try forms and close are from any thread (a foreign thread blocks
 * itself, not an M); select and recv_timeout only from a G; make, free,
 * len and cap from anywhere.
 */

/* A channel of @elemsize-byte values (0 allowed, below 64 KiB), @cap of
 * them buffered (0: unbuffered).
 * Return: the channel, or NULL (errno ENOMEM or EINVAL). */
GMPRT_API gmprt_chan *gmprt_chan_make(size_t elemsize, size_t cap);
/* Free a channel no thread uses any more.  A timer's channel (gmprt_after,
 * gmprt_timer_chan) frees its timer too, stopping it first. */
GMPRT_API void gmprt_chan_free(gmprt_chan *c);
/* Send *@elem (NULL: the zero value).  Return: 0; -EPIPE if @c is closed,
 * or is closed while the send waits.  From any thread. */
GMPRT_API int gmprt_chan_send(gmprt_chan *c, const void *elem);
/* Receive into @elem (may be NULL).  Return: 0; -EPIPE once @c is closed
 * and drained (@elem zeroed).  From any thread. */
GMPRT_API int gmprt_chan_recv(gmprt_chan *c, void *elem);
/* Without blocking.  Return: 0; -EAGAIN if it would block; -EPIPE.
 * From any thread. */
GMPRT_API int gmprt_chan_trysend(gmprt_chan *c, const void *elem);
GMPRT_API int gmprt_chan_tryrecv(gmprt_chan *c, void *elem);
/* Receive, waiting at most @ns (<= 0: not at all).
 * Return: 0; -ETIMEDOUT; -EPIPE.  Only from a G. */
GMPRT_API int gmprt_chan_recv_timeout(gmprt_chan *c, void *elem, int64_t ns);
/* Close: every waiter wakes; receivers drain what is buffered, then get
 * -EPIPE; senders get -EPIPE.
 * Return: 0; -EPIPE if already closed; -EINVAL if @c is NULL.  From any
 * thread. */
GMPRT_API int gmprt_chan_close(gmprt_chan *c);
GMPRT_API size_t gmprt_chan_len(gmprt_chan *c);
GMPRT_API size_t gmprt_chan_cap(gmprt_chan *c);

#define GMPRT_SEND	1
#define GMPRT_RECV	2

struct gmprt_select_case {
	gmprt_chan *chan;	/* NULL: the case is never ready */
	int dir;		/* GMPRT_SEND or GMPRT_RECV */
	void *elem;		/* value to send, or where to receive (may be NULL) */
	int err;		/* out: 0, or -EPIPE (closed) for the chosen case */
};

/*
 * gmprt_select() - Go's select: wait until one case can proceed and do it,
 * choosing uniformly at random among ready cases.  With @block false it is
 * a select with a default case.  A send case on a closed channel is ready,
 * and fails (err -EPIPE).  n == 0 with @block waits forever.
 * Return: the index of the case done; -EAGAIN if none was ready and @block
 * is false; -EINVAL if @n is not in 0..65536 or a dir is neither
 * GMPRT_SEND nor GMPRT_RECV; -ENOMEM (more than 8 cases need memory).
 * Only from a G.
 */
GMPRT_API int gmprt_select(struct gmprt_select_case *cases, int n, bool block);

/* ---- time -------------------------------------------------------------- */

/* gmprt_now() - CLOCK_MONOTONIC, ns.  From any thread. */
GMPRT_API int64_t gmprt_now(void);
/* gmprt_sleep() - block the G (not the thread) for @ns.  Only from a G. */
GMPRT_API void gmprt_sleep(int64_t ns);

/*
 * Timers as channels (Go's time.After, time.NewTimer, time.NewTicker), for
 * gmprt_select's timeout cases.  Each owns a channel of one int64_t,
 * buffered one deep, that receives the CLOCK_MONOTONIC time (ns) the value
 * was due; a value not yet received when the next is due makes the next
 * one dropped (Go's rule).  A ticker's values are start + k * period: it
 * does not drift, and skips whole periods when it falls behind.
 *
 * Ownership: the timer owns its channel.  gmprt_timer_free(t), or
 * gmprt_chan_free() of its channel, stops it (waiting for a fire in
 * flight) and frees both; nothing touches either afterwards.  After stop
 * or reset returns, no value from before it is received (Go 1.23).
 */
typedef struct gmprt_timer gmprt_timer;

/* A channel that receives one value @ns from now; free it with
 * gmprt_chan_free().  Return: NULL (errno ENOMEM).  Only from a G. */
GMPRT_API gmprt_chan *gmprt_after(int64_t ns);
/* A timer that fires once, @ns from now.  Return: NULL (errno ENOMEM).
 * Only from a G. */
GMPRT_API gmprt_timer *gmprt_timer_new(int64_t ns);
/* A ticker: a value every @period ns (> 0).  Return: NULL (errno EINVAL,
 * ENOMEM).  Only from a G. */
GMPRT_API gmprt_timer *gmprt_ticker_new(int64_t period);
/* The timer's channel, to receive from or select on.  From any thread. */
GMPRT_API gmprt_chan *gmprt_timer_chan(gmprt_timer *t);
/* Stop it.  Return: true if a value was still to come.  From any thread. */
GMPRT_API bool gmprt_timer_stop(gmprt_timer *t);
/* Stop it and arm it again, @ns from now (a ticker: @ns becomes its
 * period).  Return: as gmprt_timer_stop.  Only from a G. */
GMPRT_API bool gmprt_timer_reset(gmprt_timer *t, int64_t ns);
/* Stop it and free it with its channel (NULL: nothing).  From any thread. */
GMPRT_API void gmprt_timer_free(gmprt_timer *t);

/* ---- fds: the network poller ------------------------------------------ */

/*
 * I/O that blocks the G, not its thread (Go's net and os packages, on
 * epoll: docs/runtime.md, "Network I/O").  The fd is made non-blocking and
 * registered on first use; it must then be closed with gmprt_close(), which
 * wakes the Gs waiting on it with -ECANCELED (Go's "use of closed network
 * connection").  One G reads and one G writes an fd at a time.  Each call
 * honours the fd's deadlines (gmprt_fd_set_deadline): -ETIMEDOUT once one
 * has passed.  Other errors are the system call's, negated.  Only from a G.
 */
struct iovec;
struct sockaddr;
#define GMPRT_POLLIN	0x001	/* POLLIN */
#define GMPRT_POLLOUT	0x004	/* POLLOUT */

/* As read(2): the bytes read (0 at end of file), or -errno. */
GMPRT_API long gmprt_read(int fd, void *buf, size_t len);
/* All of @buf, as Go's Write; if an error or a deadline stops it, what was
 * written so far, or -errno if nothing was. */
GMPRT_API long gmprt_write(int fd, const void *buf, size_t len);
GMPRT_API long gmprt_readv(int fd, const struct iovec *iov, int iovcnt);
GMPRT_API long gmprt_writev(int fd, const struct iovec *iov, int iovcnt);
GMPRT_API long gmprt_recv(int fd, void *buf, size_t len, int flags);
/* send(2) with MSG_NOSIGNAL: -EPIPE, never SIGPIPE. */
GMPRT_API long gmprt_send(int fd, const void *buf, size_t len, int flags);
GMPRT_API long gmprt_recvfrom(int fd, void *buf, size_t len, int flags,
			      struct sockaddr *addr, unsigned int *addrlen);
GMPRT_API long gmprt_sendto(int fd, const void *buf, size_t len, int flags,
			    const struct sockaddr *addr, unsigned int addrlen);
/* accept4(2); @flags: SOCK_CLOEXEC (the new fd is non-blocking and
 * registered).  Return: the new fd, or -errno. */
GMPRT_API int gmprt_accept(int fd, struct sockaddr *addr, unsigned int *addrlen,
			   int flags);
/* connect(2), waiting for the handshake.  Return: 0, or -errno. */
GMPRT_API int gmprt_connect(int fd, const struct sockaddr *addr, unsigned int addrlen);
/* Wait until @fd is ready for @events (GMPRT_POLLIN or GMPRT_POLLOUT), or
 * @deadline (absolute gmprt_now() ns; 0: none).  Return: the revents of
 * poll(2), -ETIMEDOUT, -ECANCELED, -EINVAL, -errno. */
GMPRT_API int gmprt_fd_wait(int fd, int events, int64_t deadline);
/* Go's SetReadDeadline / SetWriteDeadline (@events: GMPRT_POLLIN and/or
 * GMPRT_POLLOUT); @deadline absolute gmprt_now() ns, 0 for none.  Waiting
 * calls look again at once.  Return: 0, -EINVAL, -errno. */
GMPRT_API int gmprt_fd_set_deadline(int fd, int events, int64_t deadline);
/* Close @fd; Gs waiting on it get -ECANCELED.  Return: 0, or -errno. */
GMPRT_API int gmprt_close(int fd);

/*
 * gmprt_signal_notify() - send signal @sig to channel @c (of int, give it
 * room: a signal that finds it full is dropped), Go's signal.Notify.  The
 * signal's disposition becomes the runtime's until gmprt_signal_stop().
 * Return: 0; -EINVAL (@sig, or @c not of int); -ENOSPC (64 channels).
 * From any thread.
 */
GMPRT_API int gmprt_signal_notify(gmprt_chan *c, int sig);
/* Stop sending to @c; a signal no channel wants gets SIG_DFL again.
 * Return: 0, or -ENOENT.  From any thread. */
GMPRT_API int gmprt_signal_stop(gmprt_chan *c);

/* ---- system calls ------------------------------------------------------ */

/*
 * gmprt_entersyscall() / gmprt_exitsyscall() - bracket a blocking system
 * call (Go's entersyscall/exitsyscall), so that sysmon can hand the P to
 * another M while this one blocks.  No syscall of their own on the fast
 * path.  exitsyscall preserves errno.  Only from a G.
 */
GMPRT_API void gmprt_entersyscall(void);
GMPRT_API void gmprt_exitsyscall(void);

/* GMPRT_SYSCALL(expr): evaluate a blocking call inside the bracket. */
#define GMPRT_SYSCALL(expr) ({				\
	__typeof__(expr) __gmprt_r;			\
	gmprt_entersyscall();				\
	__gmprt_r = (expr);				\
	gmprt_exitsyscall();				\
	__gmprt_r; })

/* ---- introspection ----------------------------------------------------- */

/* gmprt_schedtrace() - Go's schedtrace line (with @detail, scheddetail)
 * from gmp.ko into @buf.  Return: bytes written (NUL-terminated), or
 * -errno. */
GMPRT_API int gmprt_schedtrace(char *buf, size_t len, bool detail);

/*
 * gmprt_dump() - Go's goroutine dump: one line per live G on @fd,
 * "goroutine ID [STATE(, N ms)]: m=M( lockedm=M)", where STATE is what a
 * waiting G waits on ("chan receive", "IO wait"...) or runnable, running,
 * syscall, and N how long it has waited (to 100 ms).  Read while the Gs
 * run: a snapshot of each G, not of all at one instant.  Any thread.
 * SIGQUIT (unless the program handles it) and a deadlock print it to
 * stderr and exit 2.
 */
GMPRT_API void gmprt_dump(int fd);

#ifdef __cplusplus
}
#endif

#endif /* GMPRT_H */
