// SPDX-License-Identifier: GPL-2.0
/*
 * Channels: unbuffered ping-pong (values checked, ns per round trip
 * logged), buffered capacity and FIFO order, close semantics (buffered
 * values drained, then closed; every blocked receiver and sender woken),
 * the non-blocking forms, many senders and receivers at once, the
 * thread-ring (examples/threadring.c), and the deadlock a channel nobody
 * sends on makes.  Each across nprocs 1, 2 and 4 where it matters (the VM
 * has 2 vCPUs, so 4 means more Ps than CPUs).
 */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "rt_util.h"
#include "chan.h"
#include "rt_chan_util.h"

#define THREADRING_NO_MAIN
#include "../examples/threadring.c"

/* The "rt" fixture: each TEST_F(rt, ...) runs for nprocs 1, 2 and 4. */
RT_NPROCS_FIXTURE;

static gmprt_waitgroup wg = GMPRT_WAITGROUP_INIT;

/* ---- unbuffered ping-pong ---------------------------------------------- */

#define NPING 100000
static gmprt_chan *ping, *pong;
static double ns_per_rt;

static void ponger(void *arg)
{
	long i, v;

	for (i = 0; i < NPING; i++) {
		GCHECK(gmprt_chan_recv(ping, &v) == 0);
		GCHECKF(v == 3 * i, "ponger got %ld, want %ld", v, 3 * i);
		v++;
		GCHECK(gmprt_chan_send(pong, &v) == 0);
	}
	gmprt_wg_done(&wg);
}

static int pingpong(void *arg)
{
	int64_t t0;
	long i, v;

	ping = gmprt_chan_make(sizeof(long), 0);
	pong = gmprt_chan_make(sizeof(long), 0);
	GCHECK(ping && pong);
	gmprt_wg_add(&wg, 1);
	gmprt_go(ponger, NULL);
	t0 = gmprt_now();
	for (i = 0; i < NPING; i++) {
		v = 3 * i;
		GCHECK(gmprt_chan_send(ping, &v) == 0);
		GCHECK(gmprt_chan_recv(pong, &v) == 0);
		GCHECKF(v == 3 * i + 1, "got %ld, want %ld", v, 3 * i + 1);
	}
	ns_per_rt = (double)(gmprt_now() - t0) / NPING;
	gmprt_wg_wait(&wg);
	GCHECK(gmprt_chan_len(ping) == 0 && gmprt_chan_cap(ping) == 0);
	gmprt_chan_free(ping);
	gmprt_chan_free(pong);
	return 0;
}

TEST_F_TIMEOUT(rt, unbuffered_pingpong_100k, 120)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, pingpong, NULL));
	RT_ASSERT_CLEAN();
	TH_LOG("nprocs %d: %.0f ns per round trip", variant->nprocs, ns_per_rt);
}

/* ---- buffered: capacity and FIFO order ---------------------------------- */

#define CAP 10

static int capacity(void *arg)
{
	gmprt_chan *c = gmprt_chan_make(sizeof(int), CAP);
	int i, v;

	GCHECK(c && gmprt_chan_cap(c) == CAP && gmprt_chan_len(c) == 0);
	for (i = 0; i < CAP; i++) {
		GCHECK(gmprt_chan_send(c, &i) == 0);	/* never blocks */
		GCHECK(gmprt_chan_len(c) == (size_t)i + 1);
	}
	GCHECK(gmprt_chan_trysend(c, &i) == -EAGAIN);
	GCHECK(gmprt_chan_len(c) == CAP);
	for (i = 0; i < CAP; i++) {
		GCHECK(gmprt_chan_recv(c, &v) == 0);
		GCHECKF(v == i, "got %d, want %d", v, i);
	}
	GCHECK(gmprt_chan_tryrecv(c, &v) == -EAGAIN);
	/* Wrap around the ring a few times, half full. */
	for (i = 0; i < 5 * CAP; i++) {
		GCHECK(gmprt_chan_trysend(c, &i) == 0);
		if (i >= CAP / 2) {
			GCHECK(gmprt_chan_tryrecv(c, &v) == 0);
			GCHECKF(v == i - CAP / 2, "got %d, want %d", v, i - CAP / 2);
		}
	}
	gmprt_chan_free(c);
	return 0;
}

TEST(buffered_capacity)
{
	ASSERT_EQ(0, rt_run(1, capacity, NULL));
	RT_ASSERT_CLEAN();
}

/* One producer, one consumer, across Ps, blocking both ways: FIFO. */
#define NFIFO 100000
static gmprt_chan *fifoc;

static void producer(void *arg)
{
	long i;

	for (i = 0; i < NFIFO; i++)
		GCHECK(gmprt_chan_send(fifoc, &i) == 0);
	gmprt_wg_done(&wg);
}

static int fifo(void *arg)
{
	long i, v;

	fifoc = gmprt_chan_make(sizeof(long), (long)arg);
	gmprt_wg_add(&wg, 1);
	gmprt_go(producer, NULL);
	for (i = 0; i < NFIFO; i++) {
		GCHECK(gmprt_chan_recv(fifoc, &v) == 0);
		GCHECKF(v == i, "got %ld, want %ld", v, i);
		if (v != i)
			break;
	}
	gmprt_wg_wait(&wg);
	return 0;
}

TEST_F_TIMEOUT(rt, buffered_fifo_100k, 120)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, fifo, (void *)4L));
	RT_ASSERT_CLEAN();
}

/*
 * Senders blocked on a full buffer keep their order: the receiver takes
 * the buffer's head and moves the first blocked sender's value to its tail.
 */
static gmprt_chan *fullc;

static void send_one(void *arg)
{
	long v = (long)arg;

	GCHECK(gmprt_chan_send(fullc, &v) == 0);
	gmprt_wg_done(&wg);
}

static int blocked_senders(void *arg)
{
	long i, v;

	fullc = gmprt_chan_make(sizeof(long), 3);
	for (i = 0; i < 3; i++)
		gmprt_chan_send(fullc, &i);
	gmprt_wg_add(&wg, 5);
	for (i = 3; i < 8; i++) {
		gmprt_go(send_one, (void *)i);
		await_waiters(fullc, true, (int)i - 2);	/* queue them in order */
	}
	for (i = 0; i < 8; i++) {
		GCHECK(gmprt_chan_recv(fullc, &v) == 0);
		GCHECKF(v == i, "got %ld, want %ld", v, i);
	}
	gmprt_wg_wait(&wg);
	GCHECK(gmprt_chan_len(fullc) == 0);
	return 0;
}

TEST(blocked_senders_keep_fifo_order)
{
	ASSERT_EQ(0, rt_run(1, blocked_senders, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- close --------------------------------------------------------------- */

static int close_drains(void *arg)
{
	gmprt_chan *c = gmprt_chan_make(sizeof(long), 4);
	long i, v;

	for (i = 1; i <= 3; i++)
		gmprt_chan_send(c, &i);
	GCHECK(gmprt_chan_close(c) == 0);
	GCHECK(gmprt_chan_close(c) == -EPIPE);
	GCHECK(gmprt_chan_send(c, &i) == -EPIPE);
	GCHECK(gmprt_chan_trysend(c, &i) == -EPIPE);
	GCHECK(gmprt_chan_len(c) == 3);
	for (i = 1; i <= 3; i++) {
		GCHECK(gmprt_chan_recv(c, &v) == 0);	/* buffered values first */
		GCHECK(v == i);
	}
	v = 42;
	GCHECK(gmprt_chan_recv(c, &v) == -EPIPE);
	GCHECK(v == 0);				/* the zero value */
	v = 42;
	GCHECK(gmprt_chan_tryrecv(c, &v) == -EPIPE);
	GCHECK(v == 0);
	GCHECK(gmprt_chan_recv(c, NULL) == -EPIPE);
	gmprt_chan_free(c);
	return 0;
}

TEST(close_drains_then_reports_closed)
{
	ASSERT_EQ(0, rt_run(1, close_drains, NULL));
	RT_ASSERT_CLEAN();
}

#define NWAIT 100
static gmprt_chan *closec;
static atomic_int woken_closed;

static void blocked_recv(void *arg)
{
	long v = 42;

	if (gmprt_chan_recv(closec, &v) == -EPIPE && v == 0)
		atomic_fetch_add(&woken_closed, 1);
	gmprt_wg_done(&wg);
}

static void blocked_send(void *arg)
{
	long v = 7;

	if (gmprt_chan_send(closec, &v) == -EPIPE)
		atomic_fetch_add(&woken_closed, 1);
	gmprt_wg_done(&wg);
}

static int close_wakes(void *arg)
{
	void (*fn)(void *) = arg;
	int i;

	atomic_store(&woken_closed, 0);
	closec = gmprt_chan_make(sizeof(long), 0);
	gmprt_wg_add(&wg, NWAIT);
	for (i = 0; i < NWAIT; i++)
		gmprt_go(fn, NULL);
	await_waiters(closec, fn == blocked_send, NWAIT);
	GCHECK(gmprt_chan_close(closec) == 0);
	gmprt_wg_wait(&wg);
	GCHECKF(atomic_load(&woken_closed) == NWAIT, "%d of %d woken with -EPIPE",
		atomic_load(&woken_closed), NWAIT);
	gmprt_chan_free(closec);
	return 0;
}

TEST_F(rt, close_wakes_every_receiver)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, close_wakes, blocked_recv));
	RT_ASSERT_CLEAN();
}

TEST_F(rt, close_wakes_every_sender)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, close_wakes, blocked_send));
	RT_ASSERT_CLEAN();
}

/* ---- the non-blocking forms, and odd channels --------------------------- */

static gmprt_chan *tryc;

static void try_partner(void *arg)
{
	long v = 5;

	GCHECK(gmprt_chan_send(tryc, &v) == 0);
	GCHECK(gmprt_chan_recv(tryc, &v) == 0);
	GCHECK(v == 6);
	gmprt_wg_done(&wg);
}

static int nonblocking(void *arg)
{
	gmprt_chan *z;
	long v = 0;
	char big[64];

	tryc = gmprt_chan_make(sizeof(long), 0);
	/* Nobody there: both would block. */
	GCHECK(gmprt_chan_trysend(tryc, &v) == -EAGAIN);
	GCHECK(gmprt_chan_tryrecv(tryc, &v) == -EAGAIN);
	/* A parked sender: tryrecv takes its value; a parked receiver: trysend. */
	gmprt_wg_add(&wg, 1);
	gmprt_go(try_partner, NULL);
	await_waiters(tryc, true, 1);
	GCHECK(gmprt_chan_tryrecv(tryc, &v) == 0 && v == 5);
	await_waiters(tryc, false, 1);
	v = 6;
	GCHECK(gmprt_chan_trysend(tryc, &v) == 0);
	gmprt_wg_wait(&wg);
	gmprt_chan_close(tryc);
	GCHECK(gmprt_chan_trysend(tryc, &v) == -EPIPE);
	gmprt_chan_free(tryc);

	/* A nil channel is never ready; closing it is an error. */
	GCHECK(gmprt_chan_trysend(NULL, &v) == -EAGAIN);
	GCHECK(gmprt_chan_tryrecv(NULL, &v) == -EAGAIN);
	GCHECK(gmprt_chan_close(NULL) == -EINVAL);
	GCHECK(gmprt_chan_len(NULL) == 0 && gmprt_chan_cap(NULL) == 0);

	/* Zero-sized values (signals), NULL elems, and values of odd sizes. */
	z = gmprt_chan_make(0, 2);
	GCHECK(z && gmprt_chan_send(z, NULL) == 0 && gmprt_chan_len(z) == 1);
	GCHECK(gmprt_chan_recv(z, NULL) == 0);
	gmprt_chan_free(z);
	z = gmprt_chan_make(sizeof(big), 1);
	memset(big, 0xab, sizeof(big));
	GCHECK(gmprt_chan_send(z, big) == 0);
	memset(big, 0, sizeof(big));
	GCHECK(gmprt_chan_recv(z, big) == 0);
	GCHECK(big[0] == (char)0xab && big[63] == (char)0xab);
	GCHECK(gmprt_chan_send(z, NULL) == 0);		/* the zero value */
	GCHECK(gmprt_chan_recv(z, big) == 0 && big[0] == 0 && big[63] == 0);
	gmprt_chan_free(z);

	errno = 0;
	GCHECK(gmprt_chan_make(1 << 16, 1) == NULL && errno == EINVAL);
	GCHECK(gmprt_chan_make(8, SIZE_MAX / 4) == NULL && errno == EINVAL);
	return 0;
}

TEST(nonblocking_and_odd_channels)
{
	ASSERT_EQ(0, rt_run(2, nonblocking, NULL));
	RT_ASSERT_CLEAN();
}

/*
 * One P: main polls with tryrecv and never blocks, while the G that will
 * send waits in runnext.  Only sysmon's request to yield, honoured at the
 * try forms' safe point, lets it run (else: a hang, and the timeout).
 */
static gmprt_chan *pollc;

static void send_to_poller(void *arg)
{
	long v = 12;

	GCHECK(gmprt_chan_send(pollc, &v) == 0);
}

static int poller(void *arg)
{
	long v = 0;
	int r;

	pollc = gmprt_chan_make(sizeof(long), 1);
	gmprt_go(send_to_poller, NULL);
	while ((r = gmprt_chan_tryrecv(pollc, &v)) == -EAGAIN)
		;
	GCHECK(r == 0 && v == 12);
	return 0;
}

TEST(polling_with_tryrecv_lets_others_run)
{
	ASSERT_EQ(0, rt_run(1, poller, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- many senders, many receivers --------------------------------------- */

#define NSIDE 4
#define PERSIDE 25000
static gmprt_chan *mc;
static atomic_long msum, mcount;

static void msend(void *arg)
{
	long i, base = (long)arg * PERSIDE;

	for (i = 0; i < PERSIDE; i++) {
		long v = base + i;

		GCHECK(gmprt_chan_send(mc, &v) == 0);
	}
	gmprt_wg_done(&wg);
}

static gmprt_waitgroup rwg = GMPRT_WAITGROUP_INIT;

static void mrecv(void *arg)
{
	long v, sum = 0, n = 0;

	while (gmprt_chan_recv(mc, &v) == 0) {
		sum += v;
		n++;
	}
	atomic_fetch_add(&msum, sum);
	atomic_fetch_add(&mcount, n);
	gmprt_wg_done(&rwg);
}

static int many(void *arg)
{
	long i, total = NSIDE * PERSIDE;

	atomic_store(&msum, 0);
	atomic_store(&mcount, 0);
	mc = gmprt_chan_make(sizeof(long), (long)arg);
	gmprt_wg_add(&wg, NSIDE);
	gmprt_wg_add(&rwg, NSIDE);
	for (i = 0; i < NSIDE; i++) {
		gmprt_go(msend, (void *)i);
		gmprt_go(mrecv, NULL);
	}
	gmprt_wg_wait(&wg);		/* every value sent, then close */
	gmprt_chan_close(mc);
	gmprt_wg_wait(&rwg);
	GCHECKF(atomic_load(&mcount) == total, "received %ld of %ld",
		atomic_load(&mcount), total);
	GCHECK(atomic_load(&msum) == total * (total - 1) / 2);
	gmprt_chan_free(mc);
	return 0;
}

TEST_F_TIMEOUT(rt, many_senders_receivers_unbuffered, 120)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, many, (void *)0L));
	RT_ASSERT_CLEAN();
}

TEST_F_TIMEOUT(rt, many_senders_receivers_buffered, 120)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, many, (void *)16L));
	RT_ASSERT_CLEAN();
}

/* ---- the thread-ring (examples/threadring.c) ---------------------------- */

static int ring_results[3];
static double ns_per_hop;

static int ring(void *arg)
{
	int64_t t0;

	ring_results[0] = threadring(1000);
	ring_results[1] = threadring(0);
	t0 = gmprt_now();
	ring_results[2] = threadring(100000);
	ns_per_hop = (double)(gmprt_now() - t0) / 100000;
	return 0;
}

TEST_F_TIMEOUT(rt, threadring, 120)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, ring, NULL));
	ASSERT_EQ(498, ring_results[0]);		/* the Benchmarks Game's answer */
	ASSERT_EQ(1, ring_results[1]);
	ASSERT_EQ(100000 % 503 + 1, ring_results[2]);
	TH_LOG("nprocs %d: %.0f ns per hop (100k hops, 503 Gs, spawn included)",
	       variant->nprocs, ns_per_hop);
}


static void recv_nothing(void *arg)
{
	long v;

	gmprt_chan_recv(arg, &v);
}

static int recv_forever(void *arg)
{
	gmprt_chan *c = gmprt_chan_make(sizeof(long), 0);
	long v;

	/* A few other Gs blocked on it too: nobody is left to send. */
	gmprt_go(recv_nothing, c);
	gmprt_go(recv_nothing, c);
	gmprt_chan_recv(c, &v);
	return 0;
}

static void chan_deadlocker(void)
{
	struct gmprt_config cfg = GMPRT_CONFIG_INIT;

	cfg.nprocs = 2;

	gmprt_main(recv_forever, NULL, &cfg);
}

TEST(deadlock_on_a_channel_is_fatal)
{
	char err[1024];

	ASSERT_EQ(2, run_child(chan_deadlocker, err, sizeof(err)));
	ASSERT_NE(NULL, strstr(err, "fatal error: all goroutines are asleep - deadlock!"));
}

/*
 * From a thread that runs no G, send, receive and their try forms work
 * (rt_interop_test drives them against Gs); select is G-only and fatal,
 * every time, with the usual message.
 */
static void send_outside(void)
{
	gmprt_chan *c = gmprt_chan_make(sizeof(long), 1);
	long v = 1, w = 0;

	if (gmprt_chan_send(c, &v) || gmprt_chan_tryrecv(c, &w) || w != 1 ||
	    gmprt_chan_tryrecv(c, &w) != -EAGAIN || gmprt_chan_close(c) ||
	    gmprt_chan_recv(c, &w) != -EPIPE)
		_exit(3);
	gmprt_chan_free(c);
}

static void select_outside(void)
{
	gmprt_chan *c = gmprt_chan_make(sizeof(long), 1);
	struct gmprt_select_case k = { .chan = c, .dir = GMPRT_RECV };

	gmprt_select(&k, 1, false);
}

TEST(channel_calls_outside_a_g)
{
	char err[1024];

	ASSERT_EQ(0, run_child(send_outside, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(2, run_child(select_outside, err, sizeof(err)));
	ASSERT_NE(NULL, strstr(err, "gmprt_select called from a thread that runs no G"));
}

TEST_HARNESS_MAIN
