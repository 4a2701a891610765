// SPDX-License-Identifier: GPL-2.0
/*
 * The network poller (userlib/netpoll.c): deadlines on accept, read, write,
 * fd_wait and connect; close while another G waits, peer reset,
 * half-close; an accept storm, UDP, a pipe and a socketpair; readiness
 * while every M is parked; a G waiting on an fd is no deadlock; signals on
 * a channel.  (At scale: rt_netscale_test.)  Public API only, across
 * nprocs 1, 2 and 4.  Waits are liveness bounds (the harness's timeout), never timing
 * thresholds: a deadline is checked to have passed, not how late it came.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <fcntl.h>
#include "kselftest_harness.h"
#include "rt_util.h"
#include "rt_net_util.h"
#include "runtime.h"

/*
 * Each case with either poller (GMPRT_NETPOLL): the poller thread, and Ms
 * that park on the epoll file (gmp.ko's GMP_PARK_POLL) and poll it.
 */
FIXTURE(rt) {
};
FIXTURE_VARIANT(rt) {
	int nprocs;
	const char *netpoll;
};
FIXTURE_VARIANT_ADD(rt, nprocs1) { .nprocs = 1, .netpoll = "thread" };
FIXTURE_VARIANT_ADD(rt, nprocs2) { .nprocs = 2, .netpoll = "thread" };
FIXTURE_VARIANT_ADD(rt, nprocs4) { .nprocs = 4, .netpoll = "thread" };
FIXTURE_VARIANT_ADD(rt, nprocs1_park) { .nprocs = 1, .netpoll = "park" };
FIXTURE_VARIANT_ADD(rt, nprocs2_park) { .nprocs = 2, .netpoll = "park" };
FIXTURE_VARIANT_ADD(rt, nprocs4_park) { .nprocs = 4, .netpoll = "park" };
FIXTURE_SETUP(rt)
{
	ASSERT_EQ(0, setenv("GMPRT_NETPOLL", variant->netpoll, 1));
}
FIXTURE_TEARDOWN(rt)
{
}

static gmprt_waitgroup wg = GMPRT_WAITGROUP_INIT;



static int64_t ms(int n)
{
	return (int64_t)n * 1000000;
}

/* ---- deadlines --------------------------------------------------------- */

static char big_buf[65536];	/* not on a G's 64 KiB stack */

static int deadline_main(void *arg)
{
	struct sockaddr_in sa, sa2;
	int l = listen_any(&sa, 16), c, s, r, full;
	int64_t t0;
	long n;

	(void)arg;
	/* accept: it gives up at the deadline, not before */
	t0 = gmprt_now() + ms(50);
	GCHECK(gmprt_fd_set_deadline(l, GMPRT_POLLIN, t0) == 0);
	r = gmprt_accept(l, NULL, NULL, 0);
	GCHECKF(r == -ETIMEDOUT, "accept: %d", r);
	GCHECK(gmprt_now() >= t0);
	GCHECK(gmprt_fd_set_deadline(l, GMPRT_POLLIN, 0) == 0);
	/* read */
	c = dial(&sa);
	s = gmprt_accept(l, NULL, NULL, 0);
	GCHECK(c >= 0 && s >= 0);
	GCHECK(gmprt_fd_set_deadline(s, GMPRT_POLLIN, gmprt_now() + ms(30)) == 0);
	n = gmprt_read(s, big_buf, 1);
	GCHECKF(n == -ETIMEDOUT, "read: %ld", n);
	/* A deadline in the past fails at once; cleared, the read works. */
	GCHECK(gmprt_read(s, big_buf, 1) == -ETIMEDOUT);
	GCHECK(gmprt_fd_set_deadline(s, GMPRT_POLLIN, 0) == 0);
	GCHECK(gmprt_write(c, "x", 1) == 1);
	GCHECK(gmprt_read(s, big_buf, 1) == 1);
	/* write: fill the socket until it would block, then time out. */
	GCHECK(gmprt_fd_set_deadline(c, GMPRT_POLLOUT, gmprt_now() + ms(100)) == 0);
	full = 0;
	for (int i = 0; i < 1000 && !full; i++) {
		n = gmprt_write(c, big_buf, sizeof(big_buf));
		if (n == -ETIMEDOUT || (n >= 0 && n < (long)sizeof(big_buf)))
			full = 1;
	}
	GCHECK(full);
	/* fd_wait with its own deadline. */
	GCHECK(gmprt_fd_wait(s, GMPRT_POLLOUT, 0) & POLLOUT);
	GCHECK(gmprt_fd_set_deadline(c, GMPRT_POLLOUT, 0) == 0);
	GCHECK(gmprt_fd_wait(c, GMPRT_POLLOUT, gmprt_now() + ms(20)) == -ETIMEDOUT);
	GCHECK(gmprt_fd_wait(c, GMPRT_POLLIN | GMPRT_POLLOUT, 0) == -EINVAL);
	gmprt_close(c);
	gmprt_close(s);
	/*
	 * connect: the accept queue of a listener with backlog 0 fills, and
	 * the next handshakes wait (the SYNs are dropped) past the deadline.
	 */
	{
		int l0 = listen_any(&sa2, 0), cs[8], k, timed = 0;

		for (k = 0; k < 8; k++) {
			cs[k] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			gmprt_fd_set_deadline(cs[k], GMPRT_POLLOUT, gmprt_now() + ms(200));
			r = gmprt_connect(cs[k], (struct sockaddr *)&sa2, sizeof(sa2));
			if (r == -ETIMEDOUT)
				timed++;
			else
				GCHECKF(r == 0, "connect %d: %d", k, r);
		}
		GCHECKF(timed > 0, "no connect timed out");
		for (k = 0; k < 8; k++)
			gmprt_close(cs[k]);
		close(l0);
	}
	gmprt_close(l);
	return 0;
}

TEST_F(rt, deadlines)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, deadline_main, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- close while another G waits; reset; half-close --------------------- */

static int pfd[2];
static long waiter_ret;

static void blocked_reader(void *arg)
{
	char c;

	(void)arg;
	waiter_ret = gmprt_read(pfd[0], &c, 1);
	gmprt_wg_done(&wg);
}

static int close_main(void *arg)
{
	struct sockaddr_in sa;
	int l = listen_any(&sa, 16), c, s;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char buf[16];
	long n;
	int i;

	(void)arg;
	/* close wakes the reader with -ECANCELED */
	GCHECK(pipe2(pfd, O_CLOEXEC) == 0);
	gmprt_wg_add(&wg, 1);
	gmprt_go(blocked_reader, NULL);
	/*
	 * Until the reader waits on the fd (white box: npollwait), not a
	 * fixed 20 ms: on the debug kernel under load it once had not begun
	 * by then, and read a closed fd (EBADF).
	 */
	for (i = 0; i < 5000 && !load_acquire(&sched.npollwait); i++)
		gmprt_sleep(ms(1));
	GCHECK(load_acquire(&sched.npollwait) == 1);
	GCHECK(gmprt_close(pfd[0]) == 0);
	gmprt_wg_wait(&wg);
	GCHECKF(waiter_ret == -ECANCELED, "waiter got %ld", waiter_ret);
	GCHECK(gmprt_read(pfd[0], buf, 1) < 0);		/* closed */
	close(pfd[1]);

	/* peer reset: SO_LINGER 0 and close sends RST */
	c = dial(&sa);
	s = gmprt_accept(l, NULL, NULL, 0);
	GCHECK(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
	GCHECK(gmprt_close(c) == 0);
	n = gmprt_read(s, buf, sizeof(buf));
	GCHECKF(n == -ECONNRESET, "after reset: %ld", n);
	n = gmprt_send(s, "x", 1, 0);
	GCHECKF(n == -EPIPE || n == -ECONNRESET, "send after reset: %ld", n);
	gmprt_close(s);

	/* half-close: the server sees EOF, still writes; the client reads it */
	c = dial(&sa);
	s = gmprt_accept(l, NULL, NULL, 0);
	GCHECK(gmprt_write(c, "ping", 4) == 4);
	GCHECK(shutdown(c, SHUT_WR) == 0);
	GCHECK(gmprt_read(s, buf, 4) == 4);
	GCHECK(gmprt_read(s, buf, 4) == 0);
	GCHECK(gmprt_write(s, "pong", 4) == 4);
	GCHECK(gmprt_close(s) == 0);
	GCHECK(gmprt_read(c, buf, 4) == 4 && memcmp(buf, "pong", 4) == 0);
	GCHECK(gmprt_read(c, buf, 4) == 0);
	gmprt_close(c);
	gmprt_close(l);
	return 0;
}

TEST_F(rt, close_reset_half_close)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, close_main, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- an accept storm, UDP, pipes and a socketpair ----------------------- */

#define STORM 1000
static atomic_int storm_ok;

static void stormer(void *arg)
{
	int fd = dial(arg);

	if (fd >= 0) {
		atomic_fetch_add(&storm_ok, 1);
		gmprt_close(fd);
	}
	gmprt_wg_done(&wg);
}

static void udp_peer(void *arg)
{
	int fd = (int)(long)arg;
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	char buf[64];
	long n;

	n = gmprt_recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	GCHECK(n == 5);
	GCHECK(gmprt_sendto(fd, buf, n, 0, (struct sockaddr *)&from, fl) == n);
	gmprt_wg_done(&wg);
}

static void pipe_writer(void *arg)
{
	int fd = (int)(long)arg;
	static char big[1 << 20];

	memset(big, 'p', sizeof(big));
	GCHECK(gmprt_write(fd, big, sizeof(big)) == (long)sizeof(big));
	gmprt_close(fd);
	gmprt_wg_done(&wg);
}

static int misc_main(void *arg)
{
	struct sockaddr_in sa, ua = { .sin_family = AF_INET }, ub;
	int l = listen_any(&sa, 4096), i, u1, u2, sp[2], pp[2];
	socklen_t ul = sizeof(ub);
	struct iovec iov[2];
	long n, total = 0;

	(void)arg;
	/* 1000 connects at once against one accept loop */
	gmprt_wg_add(&wg, STORM);
	for (i = 0; i < STORM; i++)
		gmprt_go(stormer, &sa);
	for (i = 0; i < STORM; i++) {
		int fd = gmprt_accept(l, NULL, NULL, SOCK_CLOEXEC);

		GCHECKF(fd >= 0, "accept %d: %d", i, fd);
		gmprt_close(fd);
	}
	gmprt_wg_wait(&wg);
	GCHECK(atomic_load(&storm_ok) == STORM);
	gmprt_close(l);

	/* UDP */
	ua.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	u1 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	u2 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	GCHECK(bind(u1, (struct sockaddr *)&ua, sizeof(ua)) == 0);
	GCHECK(getsockname(u1, (struct sockaddr *)&ub, &ul) == 0);
	gmprt_wg_add(&wg, 1);
	gmprt_go(udp_peer, (void *)(long)u1);
	gmprt_sleep(ms(10));
	GCHECK(gmprt_sendto(u2, "hello", 5, 0, (struct sockaddr *)&ub, ul) == 5);
	GCHECK(gmprt_recv(u2, big_buf, sizeof(big_buf), 0) == 5 && memcmp(big_buf, "hello", 5) == 0);
	gmprt_wg_wait(&wg);
	gmprt_close(u1);
	gmprt_close(u2);

	/* a pipe: 1 MiB through a 64 KiB pipe, the writer blocking */
	GCHECK(pipe2(pp, O_CLOEXEC) == 0);
	gmprt_wg_add(&wg, 1);
	gmprt_go(pipe_writer, (void *)(long)pp[1]);
	while ((n = gmprt_read(pp[0], big_buf, sizeof(big_buf))) > 0)
		total += n;
	GCHECKF(n == 0 && total == 1 << 20, "pipe: %ld then %ld", total, n);
	gmprt_wg_wait(&wg);
	gmprt_close(pp[0]);

	/* a socketpair, with readv and writev */
	GCHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	iov[0] = (struct iovec){ .iov_base = "ab", .iov_len = 2 };
	iov[1] = (struct iovec){ .iov_base = "cd", .iov_len = 2 };
	GCHECK(gmprt_writev(sp[0], iov, 2) == 4);
	iov[0] = (struct iovec){ .iov_base = big_buf, .iov_len = 1 };
	iov[1] = (struct iovec){ .iov_base = big_buf + 1, .iov_len = 3 };
	GCHECK(gmprt_readv(sp[1], iov, 2) == 4 && memcmp(big_buf, "abcd", 4) == 0);
	gmprt_close(sp[0]);
	GCHECK(gmprt_read(sp[1], big_buf, 1) == 0);
	gmprt_close(sp[1]);
	return 0;
}

TEST_F_TIMEOUT(rt, storm_udp_pipe_socketpair, 300)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, misc_main, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- readiness while every M is parked ---------------------------------- */

static int rpipe[2];
static long last_pollwake = -1;

static void *late_writer(void *arg)
{
	(void)arg;
	usleep(300000);		/* long enough for every M to park */
	if (write(rpipe[1], "w", 1) != 1)
		abort();
	return NULL;
}

static int parked_main(void *arg)
{
	char c = 0;
	pthread_t t;
	long n;

	(void)arg;
	GCHECK(pipe2(rpipe, O_CLOEXEC) == 0);
	GCHECK(pthread_create(&t, NULL, late_writer, NULL) == 0);
	n = gmprt_read(rpipe[0], &c, 1);	/* every M parks meanwhile */
	GCHECK(n == 1 && c == 'w');
	last_pollwake = rt_kstat("pollwake");
	pthread_join(t, NULL);
	gmprt_close(rpipe[0]);
	close(rpipe[1]);
	return 0;
}

TEST_F(rt, readiness_while_every_m_is_parked)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, parked_main, NULL));
	RT_ASSERT_CLEAN();
	/* Parked Ms are woken by the epoll file only with GMPRT_NETPOLL=park. */
	if (!strcmp(variant->netpoll, "park")) {
		EXPECT_LT(0, last_pollwake);
	} else {
		EXPECT_EQ(0, last_pollwake);
	}
}

/* A G waiting on an fd is not a deadlock, even with no other thread. */
static int lone_main(void *arg)
{
	struct sockaddr_in sa;
	int l = listen_any(&sa, 1);
	long r;

	(void)arg;
	GCHECK(gmprt_fd_set_deadline(l, GMPRT_POLLIN, gmprt_now() + ms(400)) == 0);
	r = gmprt_accept(l, NULL, NULL, 0);	/* the only G, waiting on the poller */
	GCHECKF(r == -ETIMEDOUT, "accept: %ld", r);
	gmprt_close(l);
	return 0;
}

TEST_F(rt, waiting_on_an_fd_is_not_a_deadlock)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, lone_main, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- signals ------------------------------------------------------------ */

static int signal_main(void *arg)
{
	gmprt_chan *c = gmprt_chan_make(sizeof(int), 4);
	int sig = 0, i;

	(void)arg;
	GCHECK(gmprt_signal_notify(c, 0) == -EINVAL);
	GCHECK(gmprt_signal_notify(c, SIGKILL) == -EINVAL);
	GCHECK(gmprt_signal_notify(c, SIGUSR1) == 0);
	GCHECK(gmprt_signal_notify(c, SIGUSR2) == 0);
	for (i = 0; i < 3; i++) {
		GCHECK(kill(getpid(), i == 1 ? SIGUSR2 : SIGUSR1) == 0);
		GCHECK(gmprt_chan_recv(c, &sig) == 0);
		GCHECKF(sig == (i == 1 ? SIGUSR2 : SIGUSR1), "got %d", sig);
	}
	GCHECK(gmprt_signal_stop(c) == 0);
	GCHECK(gmprt_signal_stop(c) == -ENOENT);
	/* SIGUSR1's default is back: ignore it ourselves to prove nothing comes. */
	signal(SIGUSR1, SIG_IGN);
	kill(getpid(), SIGUSR1);
	gmprt_sleep(ms(50));
	GCHECK(gmprt_chan_tryrecv(c, &sig) == -EAGAIN);
	return 0;
}

TEST_F(rt, signals_to_a_channel)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, signal_main, NULL));
	RT_ASSERT_CLEAN();
}

TEST_HARNESS_MAIN
