// SPDX-License-Identifier: GPL-2.0
/*
 * threads-bench - the 1:1 peer: each workload on plain OS threads
 * (pthreads, a raw futex where the workload is a hand-off).
 *
 *   threads-bench WORKLOAD ITERS NPROCS
 *
 *   spawn               pthread_create + pthread_join of a trivial thread,
 *                       one after the other; ns per thread; and the
 *                       syscalls each costs (syscalls-spawn)
 *   yield               two threads pinned to one CPU calling sched_yield;
 *                       ns per yield; syscalls per yield (syscalls-yield)
 *   pingpong            two threads handing a turn back and forth on a
 *                       futex; ns per round trip
 *   threadring          503 threads in a ring passing a token (one futex
 *                       word each); hops per second
 *   mutex-uncontended   pthread_mutex lock+unlock by one thread; ns per pair
 *   mutex-contended     4 threads incrementing one counter under one
 *                       pthread_mutex; ns per lock+unlock pair (all threads)
 *   fanout              the serial leaves of fanout's fib(32) (cutoff 16),
 *                       shared by NPROCS threads through one atomic counter:
 *                       no scheduler, so its speed-up from 1 to NPROCS is
 *                       what the machine (under emulation, the emulator)
 *                       allows; ns per fib(32)
 *
 * NPROCS is recorded (the threads are not limited to it, except yield's,
 * which are pinned to one CPU, and fanout's, which are NPROCS).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdatomic.h>
#include <sched.h>
#include <linux/futex.h>
#include "common.h"

static struct bench_args A;
static struct bench_sc sc;
static int have_sc;

static long futex(uint32_t *uaddr, int op, uint32_t val)
{
	return syscall(SYS_futex, uaddr, op | FUTEX_PRIVATE_FLAG, val, NULL,
		       NULL, 0);
}

static void futex_wait_while(uint32_t *w, uint32_t val)
{
	while (__atomic_load_n(w, __ATOMIC_ACQUIRE) == val)
		futex(w, FUTEX_WAIT, val);
}

static void report_syscalls(const char *workload, long ops, long calls)
{
	if (!have_sc || calls < 0) {
		printf("# %s: syscall count unavailable (perf tracepoint raw_syscalls:sys_enter)\n",
		       workload);
		return;
	}
	bench_result(workload, "threads", A.nprocs, ops, "syscalls_per_op",
		     (double)calls / ops, "syscalls=%ld", calls);
}

/* ---- spawn -------------------------------------------------------------- */

static void *trivial(void *arg)
{
	return arg;
}

static void bench_spawn(void)
{
	long i, c0, c1;
	int64_t t0, t1;

	c0 = bench_sc_read(&sc);
	t0 = bench_now();
	for (i = 0; i < A.iters; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, trivial, NULL))
			bench_die("pthread_create failed at %ld", i);
		pthread_join(t, NULL);
	}
	t1 = bench_now();
	c1 = bench_sc_read(&sc);
	bench_result("spawn", "threads", A.nprocs, A.iters, "ns_per_op",
		     (double)(t1 - t0) / A.iters, NULL);
	report_syscalls("syscalls-spawn", A.iters, bench_sc_delta(&sc, c0, c1));
}

/* ---- yield -------------------------------------------------------------- */

static void *yielder(void *arg)
{
	long i;

	for (i = 0; i < A.iters; i++)
		sched_yield();
	return arg;
}

static void bench_yield(void)
{
	pthread_attr_t attr;
	cpu_set_t one;
	pthread_t t[2];
	int64_t t0, t1;
	long c0, c1;
	int i;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	pthread_attr_init(&attr);
	pthread_attr_setaffinity_np(&attr, sizeof(one), &one);
	c0 = bench_sc_read(&sc);
	t0 = bench_now();
	for (i = 0; i < 2; i++)
		if (pthread_create(&t[i], &attr, yielder, NULL))
			bench_die("pthread_create failed");
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	t1 = bench_now();
	c1 = bench_sc_read(&sc);
	bench_result("yield", "threads", 1, A.iters, "ns_per_op",
		     (double)(t1 - t0) / (2 * A.iters), "pinned=cpu0");
	report_syscalls("syscalls-yield", 2 * A.iters, bench_sc_delta(&sc, c0, c1));
}

/* ---- pingpong ----------------------------------------------------------- */

static uint32_t turn;	/* 1: the ponger's turn; 0: main's */

static void *ponger(void *arg)
{
	long i;

	for (i = 0; i < A.iters; i++) {
		futex_wait_while(&turn, 0);
		__atomic_store_n(&turn, 0, __ATOMIC_RELEASE);
		futex(&turn, FUTEX_WAKE, 1);
	}
	return arg;
}

static void bench_pingpong(void)
{
	pthread_t t;
	int64_t t0, t1;
	long i;

	if (pthread_create(&t, NULL, ponger, NULL))
		bench_die("pthread_create failed");
	t0 = bench_now();
	for (i = 0; i < A.iters; i++) {
		__atomic_store_n(&turn, 1, __ATOMIC_RELEASE);
		futex(&turn, FUTEX_WAKE, 1);
		futex_wait_while(&turn, 1);
	}
	t1 = bench_now();
	pthread_join(t, NULL);
	bench_result("pingpong", "threads", A.nprocs, A.iters, "ns_per_op",
		     (double)(t1 - t0) / A.iters, NULL);
}

/* ---- threadring --------------------------------------------------------- */

#define RING 503

/*
 * Each thread waits for a token in its own word (0: none; else the
 * count of hops left plus one), passes it on decremented, and the one that
 * receives the last hop records its id (1-based, as the Benchmarks Game
 * prints it).
 */
static struct {
	uint32_t token;
	char pad[60];
} ring[RING];
static int ring_winner;
static uint32_t ring_done;

static void *ring_thread(void *arg)
{
	int id = (int)(intptr_t)arg, next = (id + 1) % RING;

	for (;;) {
		uint32_t tok;

		futex_wait_while(&ring[id].token, 0);
		tok = __atomic_exchange_n(&ring[id].token, 0, __ATOMIC_ACQ_REL);
		if (tok == UINT32_MAX)		/* the end: pass it on and stop */
			tok = 0;
		else if (tok == 1) {		/* the last hop is ours */
			ring_winner = id + 1;
			__atomic_store_n(&ring_done, 1, __ATOMIC_RELEASE);
			futex(&ring_done, FUTEX_WAKE, 1);
			tok = 0;
		}
		if (!tok) {
			__atomic_store_n(&ring[next].token, UINT32_MAX,
					 __ATOMIC_RELEASE);
			futex(&ring[next].token, FUTEX_WAKE, 1);
			return NULL;
		}
		__atomic_store_n(&ring[next].token, tok - 1, __ATOMIC_RELEASE);
		futex(&ring[next].token, FUTEX_WAKE, 1);
	}
}

static void bench_threadring(void)
{
	pthread_attr_t attr;
	pthread_t t[RING];
	int64_t t0, t1;
	int i;

	if (A.iters >= UINT32_MAX - 1)
		bench_die("threadring: too many hops");
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (i = 0; i < RING; i++)
		if (pthread_create(&t[i], &attr, ring_thread, (void *)(intptr_t)i))
			bench_die("pthread_create failed");
	usleep(20000);
	t0 = bench_now();
	/* The token starts at thread 1 holding N hops (counted as N + 1). */
	__atomic_store_n(&ring[0].token, (uint32_t)A.iters + 1, __ATOMIC_RELEASE);
	futex(&ring[0].token, FUTEX_WAKE, 1);
	futex_wait_while(&ring_done, 0);
	t1 = bench_now();
	for (i = 0; i < RING; i++)
		pthread_join(t[i], NULL);
	bench_result("threadring", "threads", A.nprocs, A.iters, "hops_per_s",
		     A.iters * 1e9 / (double)(t1 - t0), "ns_per_hop=%.1f winner=%d",
		     (double)(t1 - t0) / A.iters, ring_winner);
}

/* ---- mutex -------------------------------------------------------------- */

#define MUTEX_WORKERS 4

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *mutex_worker(void *arg)
{
	long i;

	for (i = 0; i < A.iters; i++) {
		pthread_mutex_lock(&mu);
		counter++;
		pthread_mutex_unlock(&mu);
	}
	return arg;
}

static void bench_mutex(int workers)
{
	pthread_t t[MUTEX_WORKERS];
	int64_t t0, t1;
	int i;

	t0 = bench_now();
	if (workers == 1) {
		mutex_worker(NULL);
	} else {
		for (i = 0; i < workers; i++)
			if (pthread_create(&t[i], NULL, mutex_worker, NULL))
				bench_die("pthread_create failed");
		for (i = 0; i < workers; i++)
			pthread_join(t[i], NULL);
	}
	t1 = bench_now();
	if (counter != workers * A.iters)
		bench_die("mutex: counter %ld, want %ld", counter, workers * A.iters);
	bench_result(workers == 1 ? "mutex-uncontended" : "mutex-contended",
		     "threads", A.nprocs, A.iters, "ns_per_op",
		     (double)(t1 - t0) / ((double)workers * A.iters),
		     "workers=%d", workers);
}

#define FIB_MAXLEAVES	8192	/* fib(32) with cutoff 16 has 2,584 */

static int leaves[FIB_MAXLEAVES], nleaves;
static atomic_long next_leaf, fib_sum;
static long fib_total;

/* The leaves fanout's recursion reaches: fib(n) for n <= FIB_CUTOFF. */
static void fib_leaves(int n)
{
	if (n <= FIB_CUTOFF) {
		if (nleaves == FIB_MAXLEAVES)
			bench_die("fanout: more than %d leaves", FIB_MAXLEAVES);
		leaves[nleaves++] = n;
		return;
	}
	fib_leaves(n - 1);
	fib_leaves(n - 2);
}

static void *fib_worker(void *arg)
{
	long i, sum = 0;

	(void)arg;
	while ((i = atomic_fetch_add(&next_leaf, 1)) < fib_total)
		sum += fib_serial(leaves[i % nleaves]);
	atomic_fetch_add(&fib_sum, sum);
	return NULL;
}

static void bench_fanout(void)
{
	pthread_t t[64];
	int64_t t0, t1;
	int i, n = A.nprocs < 1 ? 1 : A.nprocs > 64 ? 64 : A.nprocs;

	fib_leaves(FIB_N);
	fib_total = (long)nleaves * A.iters;
	t0 = bench_now();
	for (i = 1; i < n; i++)
		if (pthread_create(&t[i], NULL, fib_worker, NULL))
			bench_die("pthread_create failed");
	fib_worker(NULL);
	for (i = 1; i < n; i++)
		pthread_join(t[i], NULL);
	t1 = bench_now();
	if (atomic_load(&fib_sum) != FIB_RESULT * A.iters)
		bench_die("fanout: sum %ld, want %ld", atomic_load(&fib_sum),
			  FIB_RESULT * A.iters);
	bench_result("fanout", "threads", A.nprocs, A.iters, "ns_per_op",
		     (double)(t1 - t0) / A.iters, "n=%d cutoff=%d threads=%d leaves=%d",
		     FIB_N, FIB_CUTOFF, n, nleaves);
}

/*
 * The echo workload's thread-per-connection server (bench/echo.c is the
 * client): ITERS is the port.  SIGTERM's default action ends it; the
 * client only waits for it to go.
 */
static void *echo_conn(void *arg)
{
	int fd = (int)(long)arg;
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(fd, buf, n) != n)
			break;
	close(fd);
	return NULL;
}

static void bench_echo_server(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(A.iters) };
	int ln = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, fd;
	pthread_attr_t at;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ln < 0 || setsockopt(ln, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(ln, (struct sockaddr *)&sa, sizeof(sa)) || listen(ln, 4096))
		bench_die("echo-server: listen: %s", strerror(errno));
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 64 * 1024);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	while ((fd = accept4(ln, NULL, NULL, SOCK_CLOEXEC)) >= 0 || errno == EINTR) {
		pthread_t t;

		if (fd >= 0 && pthread_create(&t, &at, echo_conn, (void *)(long)fd))
			close(fd);
	}
	bench_die("echo-server: accept: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	A = bench_parse(argc, argv);
	have_sc = bench_sc_open(&sc) == 0;
	if (!strcmp(A.workload, "spawn"))
		bench_spawn();
	else if (!strcmp(A.workload, "yield"))
		bench_yield();
	else if (!strcmp(A.workload, "pingpong"))
		bench_pingpong();
	else if (!strcmp(A.workload, "threadring"))
		bench_threadring();
	else if (!strcmp(A.workload, "mutex-uncontended"))
		bench_mutex(1);
	else if (!strcmp(A.workload, "mutex-contended"))
		bench_mutex(MUTEX_WORKERS);
	else if (!strcmp(A.workload, "fanout"))
		bench_fanout();
	else if (!strcmp(A.workload, "echo-server"))
		bench_echo_server();
	else
		bench_die("threads-bench: no workload %s", A.workload);
	return 0;
}
