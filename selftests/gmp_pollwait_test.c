// SPDX-License-Identifier: GPL-2.0
/*
 * GMP_PARK_POLL (kmod/pollwait.c): a parked M woken by its epoll file.
 *
 * Bad fds refused; a file readable at park time ends the park at once; an
 * event while parked wakes the M with an idle P, or with none when every P
 * is held; a wake still wins; one event wakes one parked M, not all of
 * them; closing the epoll fd while an M waits on it is harmless (the park
 * holds the file).  For 1 and 2 Ps.
 */
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include "gmp_util.h"
#include "kselftest_harness.h"

FIXTURE(pw) {
	struct gmp_inst g;
	uint32_t m;		/* the main thread's M */
	int ep, ev;		/* an epoll fd watching eventfd ev */
};

FIXTURE_VARIANT(pw) {
	unsigned int nprocs;
};

FIXTURE_VARIANT_ADD(pw, nprocs1) { .nprocs = 1 };
FIXTURE_VARIANT_ADD(pw, nprocs2) { .nprocs = 2 };

FIXTURE_SETUP(pw)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLET };

	ASSERT_EQ(0, gmp_inst_open(&self->g, variant->nprocs, 0));
	ASSERT_TRUE(self->g.prm.features & GMP_FEAT_POLL);
	ASSERT_EQ(0, gmp_register(&self->g, &self->m));
	self->ep = epoll_create1(EPOLL_CLOEXEC);
	self->ev = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, self->ep);
	ASSERT_LE(0, self->ev);
	ASSERT_EQ(0, epoll_ctl(self->ep, EPOLL_CTL_ADD, self->ev, &e));
}

FIXTURE_TEARDOWN(pw)
{
	close(self->ev);
	if (self->ep >= 0)
		close(self->ep);
	gmp_inst_close(&self->g);
}

#define NMIDLE(g)	GMP_SCHED_U32(g, nmidle)
#define NPIDLE(g)	GMP_SCHED_U32(g, npidle)

static int park_poll(struct gmp_inst *g, uint32_t m, int fd, struct gmp_park *out)
{
	*out = (struct gmp_park){ .m = m, .flags = GMP_PARK_POLL, .pollfd = fd };
	return gmp_ioctl(g->fd, GMP_IOC_PARK, out);
}

static void kick(int ev)
{
	uint64_t one = 1;

	if (write(ev, &one, sizeof(one)) != sizeof(one))
		abort();
}

static long pollwakes(struct gmp_inst *g)
{
	static char buf[1 << 16];

	if (gmp_schedtrace(g, buf, sizeof(buf), true) < 0)
		return -1;
	return gmp_trace_val(strstr(buf, "stats:") ?: buf, "pollwake");
}

/* A thread that registers, optionally takes a P, and parks on the epoll fd. */
struct poller {
	struct gmp_inst *g;
	int ep;
	int acquire;
	pthread_t t;
	volatile uint32_t m;
	volatile int registered, done, leave;
	int hold;		/* stay after the park until @leave */
	int ret;
	struct gmp_park out;
};

static void *poller_fn(void *arg)
{
	struct poller *pl = arg;
	uint32_t m;

	if (gmp_register(pl->g, &m)) {
		pl->ret = -1;
		__atomic_store_n(&pl->done, 1, __ATOMIC_RELEASE);
		return NULL;
	}
	pl->m = m;
	if (pl->acquire && gmp_acquire(pl->g, m, GMP_NONE, NULL))
		pl->ret = -2;
	__atomic_store_n(&pl->registered, 1, __ATOMIC_RELEASE);
	if (!pl->ret)
		pl->ret = park_poll(pl->g, m, pl->ep, &pl->out);
	__atomic_store_n(&pl->done, 1, __ATOMIC_RELEASE);
	while (pl->hold && !__atomic_load_n(&pl->leave, __ATOMIC_ACQUIRE))
		usleep(100);
	/*
	 * Give the P back (handoffp may start a parked M with it: Go's rule
	 * when no P is idle and no M spins).
	 */
	if (!pl->ret && pl->out.p != GMP_NONE)
		gmp_release(pl->g, m, pl->out.p);
	return NULL;
}

/* A thread that holds a P until told to leave. */
static void *holder_fn(void *arg)
{
	struct poller *pl = arg;
	uint32_t m = 0;
	int p = GMP_NONE;

	if (gmp_register(pl->g, &m) || gmp_acquire(pl->g, m, GMP_NONE, &p))
		pl->ret = -1;
	__atomic_store_n(&pl->registered, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&pl->leave, __ATOMIC_ACQUIRE))
		usleep(100);
	if (!pl->ret)
		gmp_release(pl->g, m, p);
	return NULL;
}

static int poller_start(struct poller *pl, struct gmp_inst *g, int ep)
{
	pl->g = g;
	pl->ep = ep;
	return pthread_create(&pl->t, NULL, poller_fn, pl);
}

TEST_F(pw, bad_fds_refused)
{
	struct gmp_park a;
	int pfd[2];

	ASSERT_EQ(0, pipe(pfd));
	EXPECT_EQ(-EBADF, park_poll(&self->g, self->m, -1, &a));
	EXPECT_EQ(-EBADF, park_poll(&self->g, self->m, 1 << 20, &a));
	/* Pollable, but not an epoll file. */
	EXPECT_EQ(-EINVAL, park_poll(&self->g, self->m, pfd[0], &a));
	EXPECT_EQ(-EINVAL, park_poll(&self->g, self->m, self->ev, &a));
	EXPECT_EQ(-EINVAL, park_poll(&self->g, self->m, self->g.fd, &a));
	/* Not with LOCKED; no pollfd without the flag. */
	a = (struct gmp_park){ .m = self->m, .pollfd = self->ep,
			       .flags = GMP_PARK_POLL | GMP_PARK_LOCKED };
	EXPECT_EQ(-EINVAL, gmp_ioctl(self->g.fd, GMP_IOC_PARK, &a));
	a = (struct gmp_park){ .m = self->m, .pollfd = self->ep };
	EXPECT_EQ(-EINVAL, gmp_ioctl(self->g.fd, GMP_IOC_PARK, &a));
	/* Nothing was parked by any of it. */
	EXPECT_EQ(0, NMIDLE(&self->g));
	close(pfd[0]);
	close(pfd[1]);
}

/* Events that wait already: the park returns at once, with the P back. */
TEST_F(pw, ready_at_park)
{
	struct gmp_park out;
	int p;

	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	kick(self->ev);
	ASSERT_EQ(0, park_poll(&self->g, self->m, self->ep, &out));
	EXPECT_EQ(GMP_PARKED_POLL, out.result);
	EXPECT_NE(GMP_NONE, out.p);
	EXPECT_EQ(0, NMIDLE(&self->g));
	EXPECT_EQ(self->g.prm.nprocs - 1, NPIDLE(&self->g));
	EXPECT_EQ(1, pollwakes(&self->g));
}

/* An event while parked wakes the M, which comes back holding an idle P. */
TEST_F(pw, event_wakes_a_parked_m)
{
	struct poller pl = { 0 };

	ASSERT_EQ(0, poller_start(&pl, &self->g, self->ep));
	ASSERT_TRUE(GMP_WAIT_UNTIL(NMIDLE(&self->g) == 1));
	EXPECT_FALSE(pl.done);
	kick(self->ev);
	ASSERT_TRUE(GMP_WAIT_UNTIL(pl.done));
	pthread_join(pl.t, NULL);
	ASSERT_EQ(0, pl.ret);
	EXPECT_EQ(GMP_PARKED_POLL, pl.out.result);
	EXPECT_NE(GMP_NONE, pl.out.p);
	EXPECT_EQ(0, NMIDLE(&self->g));
	EXPECT_EQ(1, pollwakes(&self->g));
}

/* Every P held: the M comes back without one (it queues what it collects). */
TEST_F(pw, event_with_every_p_held)
{
	struct poller pl = { 0 }, holder = { .g = &self->g };
	int p;

	/* Main holds one P, a second thread the other (at 2 Ps). */
	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	if (self->g.prm.nprocs > 1) {
		ASSERT_EQ(0, pthread_create(&holder.t, NULL, holder_fn, &holder));
		ASSERT_TRUE(GMP_WAIT_UNTIL(holder.registered));
		ASSERT_EQ(0, holder.ret);
	}
	ASSERT_EQ(0, NPIDLE(&self->g));
	ASSERT_EQ(0, poller_start(&pl, &self->g, self->ep));
	ASSERT_TRUE(GMP_WAIT_UNTIL(NMIDLE(&self->g) == 1));
	kick(self->ev);
	ASSERT_TRUE(GMP_WAIT_UNTIL(pl.done));
	pthread_join(pl.t, NULL);
	ASSERT_EQ(0, pl.ret);
	EXPECT_EQ(GMP_PARKED_POLL, pl.out.result);
	EXPECT_EQ(GMP_NONE, pl.out.p);
	EXPECT_EQ(0, NMIDLE(&self->g));
	if (self->g.prm.nprocs > 1) {
		__atomic_store_n(&holder.leave, 1, __ATOMIC_RELEASE);
		pthread_join(holder.t, NULL);
	}
}

/* A wake still ends the park as a wake; the entry is gone afterwards. */
TEST_F(pw, wake_wins_and_leaves_no_entry)
{
	struct poller pl = { 0 };
	struct gmp_wake w;
	struct gmp_park out;

	ASSERT_EQ(0, poller_start(&pl, &self->g, self->ep));
	ASSERT_TRUE(GMP_WAIT_UNTIL(NMIDLE(&self->g) == 1));
	ASSERT_EQ(0, gmp_wake(&self->g, self->m, 0, 0, 0, &w));
	ASSERT_EQ(GMP_WOKE_M, w.result);
	ASSERT_TRUE(GMP_WAIT_UNTIL(pl.done));
	pthread_join(pl.t, NULL);
	ASSERT_EQ(0, pl.ret);
	EXPECT_EQ(GMP_PARKED_WOKEN, pl.out.result);
	EXPECT_EQ(0, pollwakes(&self->g));
	/*
	 * The woken thread is gone; an event now finds no entry of it on the
	 * queue (a stale one would be a use after free: KASAN's to see).
	 */
	kick(self->ev);
	ASSERT_EQ(0, park_poll(&self->g, self->m, self->ep, &out));
	EXPECT_EQ(GMP_PARKED_POLL, out.result);
}

/* One event wakes the first parked M only: no herd. */
TEST_F(pw, one_event_wakes_one_m)
{
	struct poller pl[2] = { { .hold = 1 }, { .hold = 1 } };
	struct gmp_wake w;
	int i, done;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, poller_start(&pl[i], &self->g, self->ep));
	ASSERT_TRUE(GMP_WAIT_UNTIL(NMIDLE(&self->g) == 2));
	kick(self->ev);
	ASSERT_TRUE(GMP_WAIT_UNTIL(pl[0].done || pl[1].done));
	usleep(100 * 1000);	/* a second wake would have come by now */
	done = pl[0].done + pl[1].done;
	EXPECT_EQ(1, done);
	EXPECT_EQ(1, NMIDLE(&self->g));
	/*
	 * The other one is still parked.  A plain wake ends it if a P is idle
	 * (2 Ps); else (1 P) the first one's release hands it the P.
	 */
	ASSERT_EQ(0, gmp_wake(&self->g, self->m, 0, 0, 0, &w));
	for (i = 0; i < 2; i++)
		__atomic_store_n(&pl[i].leave, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++) {
		ASSERT_TRUE(GMP_WAIT_UNTIL(pl[i].done));
		pthread_join(pl[i].t, NULL);
		ASSERT_EQ(0, pl[i].ret);
	}
	EXPECT_EQ(1, pollwakes(&self->g));
}

/* The park holds the epoll file: closing its fd meanwhile is harmless. */
TEST_F(pw, close_epoll_fd_while_parked)
{
	struct poller pl = { 0 };
	struct gmp_wake w;

	ASSERT_EQ(0, poller_start(&pl, &self->g, self->ep));
	ASSERT_TRUE(GMP_WAIT_UNTIL(NMIDLE(&self->g) == 1));
	ASSERT_EQ(0, close(self->ep));
	self->ep = -1;
	/* The file lives on while the park holds it: an event still wakes. */
	kick(self->ev);
	if (!GMP_WAIT_UNTIL(pl.done))
		ASSERT_EQ(0, gmp_wake(&self->g, self->m, 0, 0, 0, &w));
	ASSERT_TRUE(GMP_WAIT_UNTIL(pl.done));
	pthread_join(pl.t, NULL);
	ASSERT_EQ(0, pl.ret);
	EXPECT_EQ(GMP_PARKED_POLL, pl.out.result);
}

/*
 * A process killed while its M is parked on an epoll file: the entry goes
 * with the park, the instance with the process (the runner checks the
 * module unloads and the log is clean).
 */
TEST_F(pw, sigkill_while_parked_on_poll)
{
	int sync[2], status;
	pid_t child;
	char c;

	ASSERT_EQ(0, pipe(sync));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		struct gmp_inst g;
		struct gmp_park out;
		uint32_t m;
		int ep = epoll_create1(0);

		if (ep < 0 || gmp_inst_open(&g, 1, 0) || gmp_register(&g, &m))
			_exit(2);
		if (write(sync[1], "p", 1) != 1)
			_exit(2);
		park_poll(&g, m, ep, &out);
		_exit(3);
	}
	close(sync[1]);
	ASSERT_EQ(1, read(sync[0], &c, 1));
	usleep(50 * 1000);	/* into the park, most likely; either way it dies */
	ASSERT_EQ(0, kill(child, SIGKILL));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	close(sync[0]);
}

TEST_HARNESS_MAIN
