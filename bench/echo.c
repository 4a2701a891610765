// SPDX-License-Identifier: GPL-2.0
/*
 * echo - the echo workload's client, the same for every server (issue 12):
 * CONNS connections to 127.0.0.1, each sending 64 bytes and waiting for
 * them back, ROUNDS times, all at once (a closed loop: a connection's next
 * request leaves when its answer is in).  One thread and epoll, so the
 * client costs each server the same.
 *
 *   echo IMPL CONNS ROUNDS NPROCS SERVER [ARG...]
 *
 * starts SERVER with its ARGs, a "{port}" among them replaced by a free
 * port, GMPRT_NPROCS and GOMAXPROCS set to NPROCS, its output thrown away;
 * waits for it to accept; runs; stops it with SIGTERM.  Prints
 *
 *   BENCH workload=echo ... metric=ns_per_op value=<wall time per request>
 *         rps=... p50_us=... p99_us=...
 *   BENCH workload=echo-p99 ... metric=ns_per_op value=<p99 round trip>
 *   BENCH workload=syscalls-echo ... metric=syscalls_per_op value=<the
 *         server's syscalls per request, every thread of it counted>
 *
 * $BENCH_ECHO_WORKLOAD renames the three (echo-pollthread: gmp's server with
 * GMPRT_NETPOLL=thread, the poller placement not taken, beside the default).
 *
 * A byte that comes back wrong ends the run with an error: a benchmark of
 * a broken server is no benchmark.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "common.h"

#define MSG	64

struct conn {
	int fd;
	int rounds;		/* left to send */
	int got;		/* bytes of the answer so far */
	int64_t sent;		/* when the request left */
	unsigned char seq;	/* this round's byte pattern */
};

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int dial(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		bench_die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/*
 * The server, with the syscall counter @sc on it from before its exec (so
 * that it inherits into every thread the server makes); @sc->n is 0 where
 * counting is unavailable.
 */
static pid_t start_server(char **argv, int port, int nprocs, struct bench_sc *sc)
{
	char p[16], n[16], c = 0;
	int i, go[2];
	pid_t pid;

	snprintf(p, sizeof(p), "%d", port);
	snprintf(n, sizeof(n), "%d", nprocs);
	for (i = 0; argv[i]; i++)
		if (!strcmp(argv[i], "{port}"))
			argv[i] = p;
	if (pipe(go))
		bench_die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		close(go[1]);
		if (read(go[0], &c, 1) != 1)	/* the counter is on */
			_exit(127);
		close(go[0]);
		dup2(devnull, 1);
		setenv("GMPRT_NPROCS", n, 1);
		setenv("GOMAXPROCS", n, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(go[0]);
	if (bench_sc_open_pid(sc, pid))
		sc->n = 0;
	if (write(go[1], &c, 1) != 1)
		bench_die("start the server: %s", strerror(errno));
	close(go[1]);
	return pid;
}

static void send_req(struct conn *c)
{
	unsigned char buf[MSG];

	c->seq++;
	memset(buf, c->seq, sizeof(buf));
	c->got = 0;
	c->sent = bench_now();
	if (write(c->fd, buf, MSG) != MSG)
		bench_die("write: %s", strerror(errno));
	c->rounds--;
}

int main(int argc, char **argv)
{
	struct epoll_event ev, evs[256];
	struct conn *cs;
	int64_t *rtt, t0, t1;
	long nrtt = 0, total;
	int conns, rounds, nprocs, port, ep, i, live, status;
	const char *impl, *wl = getenv("BENCH_ECHO_WORKLOAD");
	char extra[160], name[64];
	struct bench_sc sc;
	long sc0, sc1;
	pid_t srv;

	if (argc < 6)
		bench_die("usage: echo IMPL CONNS ROUNDS NPROCS SERVER [ARG...]");
	impl = argv[1];
	conns = atoi(argv[2]);
	rounds = atoi(argv[3]);
	nprocs = atoi(argv[4]);
	if (conns < 1 || rounds < 1 || nprocs < 1)
		bench_die("CONNS, ROUNDS and NPROCS must be positive");
	signal(SIGPIPE, SIG_IGN);
	port = 20000 + getpid() % 20000;
	if (!wl || !*wl)
		wl = "echo";
	srv = start_server(argv + 5, port, nprocs, &sc);
	/* Up when it accepts: give it 60 s (a VM under emulation is slow). */
	for (i = 0; i < 6000; i++) {
		int fd = dial(port);

		if (fd >= 0) {
			close(fd);
			break;
		}
		if (waitpid(srv, &status, WNOHANG) == srv)
			bench_die("the server %s exited before it accepted", argv[5]);
		usleep(10000);
	}
	if (i == 6000)
		bench_die("the server %s never accepted on port %d", argv[5], port);

	total = (long)conns * rounds;
	cs = calloc(conns, sizeof(*cs));
	rtt = malloc(total * sizeof(*rtt));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!cs || !rtt || ep < 0)
		bench_die("out of memory");
	for (i = 0; i < conns; i++) {
		cs[i].fd = dial(port);
		if (cs[i].fd < 0)
			bench_die("connect %d: %s", i, strerror(errno));
		cs[i].rounds = rounds;
		ev.events = EPOLLIN;
		ev.data.ptr = &cs[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev))
			bench_die("epoll_ctl: %s", strerror(errno));
	}
	sc0 = sc.n ? bench_sc_read(&sc) : -1;
	t0 = bench_now();
	for (i = 0; i < conns; i++)
		send_req(&cs[i]);
	live = conns;
	while (live) {
		int n = epoll_wait(ep, evs, 256, 60000), k;

		if (n == 0)
			bench_die("no answer for 60 s (%d connections waiting)", live);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			bench_die("epoll_wait: %s", strerror(errno));
		}
		for (k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;
			unsigned char buf[MSG];
			ssize_t r = read(c->fd, buf, MSG - c->got);
			int j;

			if (r <= 0)
				bench_die("read: %s", r ? strerror(errno) : "the server closed");
			for (j = 0; j < r; j++)
				if (buf[j] != c->seq)
					bench_die("byte %d of an answer is %u, not %u", c->got + j,
						  buf[j], c->seq);
			c->got += r;
			if (c->got < MSG)
				continue;
			rtt[nrtt++] = bench_now() - c->sent;
			if (c->rounds)
				send_req(c);
			else
				live--;
		}
	}
	t1 = bench_now();
	sc1 = sc.n ? bench_sc_read(&sc) : -1;
	for (i = 0; i < conns; i++)
		close(cs[i].fd);
	kill(srv, SIGTERM);
	waitpid(srv, &status, 0);
	qsort(rtt, nrtt, sizeof(*rtt), cmp_i64);
	snprintf(extra, sizeof(extra), "rps=%.0f p50_us=%.1f p99_us=%.1f conns=%d rounds=%d",
		 nrtt * 1e9 / (t1 - t0), rtt[nrtt / 2] / 1e3, rtt[nrtt * 99 / 100] / 1e3,
		 conns, rounds);
	bench_result(wl, impl, nprocs, nrtt, "ns_per_op", (double)(t1 - t0) / nrtt,
		     "%s", extra);
	snprintf(name, sizeof(name), "%s-p99", wl);
	bench_result(name, impl, nprocs, nrtt, "ns_per_op",
		     (double)rtt[nrtt * 99 / 100], NULL);
	snprintf(name, sizeof(name), "syscalls-%s", wl);
	if (sc0 >= 0 && sc1 >= sc0)
		bench_result(name, impl, nprocs, nrtt, "syscalls_per_op",
			     (double)(sc1 - sc0) / nrtt, "syscalls=%ld", sc1 - sc0);
	else
		printf("# %s: syscall count unavailable\n", name);
	/* Killed by it is fine too (the thread-per-connection server). */
	if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) &&
	    !(WIFEXITED(status) && !WEXITSTATUS(status)))
		printf("# the server did not exit 0 after SIGTERM (status %#x)\n", status);
	return 0;
}
