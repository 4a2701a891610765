// SPDX-License-Identifier: GPL-2.0
/*
 * The M limit (Go's maxmcount, GMP_MAX_M = 10000): that many live threads
 * register, the next one gets EAGAIN; a registered thread that exits is
 * reaped so that a new one can take its place; an unregistered id is free
 * at once.  Then all of them exit and the instance is freed with 10000
 * dead Ms in it.  At a reduced volume (vm_volume(), the debug kernel:
 * 10000 thread creations under KASAN take three minutes there) the same
 * with the module's max_m parameter at 1000.  And the parameter itself:
 * refused outside 1 to GMP_MAX_M, read at SETUP.
 */
#include <linux/futex.h>
#include <pthread.h>
#include <limits.h>
#include "gmp_util.h"
#include "kselftest_harness.h"

static void futex_wait(volatile uint32_t *w, uint32_t val)
{
	syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_all(volatile uint32_t *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

struct pool {
	struct gmp_inst *g;
	volatile uint32_t go_home;	/* everybody exits */
	volatile uint32_t victim_go;	/* the victim exits */
	volatile uint32_t registered;
	volatile uint32_t failed;
	volatile uint32_t exited;
	volatile int last_err;
};

struct member {
	struct pool *pool;
	volatile uint32_t *leave;	/* exit when non-zero (default go_home) */
	int unreg;		/* unregister before exiting */
	uint32_t m;
};

static void *member_fn(void *arg)
{
	struct member *me = arg;
	struct pool *pl = me->pool;
	volatile uint32_t *w = me->leave ? me->leave : &pl->go_home;
	int ret = gmp_register(pl->g, &me->m);

	if (ret) {
		pl->last_err = ret;
		__atomic_fetch_add(&pl->failed, 1, __ATOMIC_SEQ_CST);
		return NULL;
	}
	__atomic_fetch_add(&pl->registered, 1, __ATOMIC_SEQ_CST);
	while (!*w)
		futex_wait(w, 0);
	if (me->unreg)
		gmp_unregister(pl->g, me->m);
	__atomic_fetch_add(&pl->exited, 1, __ATOMIC_SEQ_CST);
	return NULL;	/* the others exit still registered */
}

/*
 * Send every member waiting on go_home home, 64 at a time: 10000 threads
 * made runnable at once starve the kernel's own workers for long enough,
 * under emulation, to trip the workqueue watchdog.
 */
static void go_home(struct pool *pl, uint32_t members)
{
	uint32_t done;

	__atomic_store_n(&pl->go_home, 1, __ATOMIC_SEQ_CST);
	while ((done = __atomic_load_n(&pl->exited, __ATOMIC_SEQ_CST)) <
	       members) {
		syscall(SYS_futex, &pl->go_home, FUTEX_WAKE_PRIVATE, 64, NULL,
			NULL, 0);
		for (int i = 0; i < 1000 && pl->exited < done + 64 &&
		     pl->exited < members; i++)
			usleep(1000);
	}
}

/* One thread that registers and reports, then stays until go_home. */
static int one_more(struct pool *pl, pthread_attr_t *attr, struct member *me,
		    pthread_t *t)
{
	uint32_t reg = pl->registered, fail = pl->failed;

	if (pthread_create(t, attr, member_fn, me))
		return -1000;
	while (pl->registered == reg && pl->failed == fail)
		usleep(100);
	return pl->failed != fail ? pl->last_err : 0;
}

static long threads_of(struct gmp_inst *g)
{
	char text[1024];

	if (gmp_schedtrace(g, text, sizeof(text), 0))
		return -1;
	return gmp_trace_val(text, "threads");
}

static long read_long(const char *path)
{
	char buf[32] = { 0 };
	int fd = open(path, O_RDONLY);
	long v = -1;

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) > 0)
			v = strtol(buf, NULL, 10);
		close(fd);
	}
	return v;
}

static int write_long(const char *path, long v)
{
	char buf[32];
	int fd = open(path, O_WRONLY), ret;

	if (fd < 0)
		return -1;
	snprintf(buf, sizeof(buf), "%ld\n", v);
	ret = write(fd, buf, strlen(buf)) > 0 ? 0 : -1;
	close(fd);
	return ret;
}

/*
 * SCHEDTRACE of 10000 Ms formats outside sched->lock: a thread taking and
 * giving back a P (both under the lock) goes on doing so while the trace is
 * being formatted.  Counted, not timed: with the lock held for the whole
 * formatting (tens of ms under emulation) it would get nothing done.
 */
struct taker {
	struct gmp_inst *g;
	volatile int stop, tracing;
	long during;
	int err;
};

static void *taker_fn(void *arg)
{
	struct taker *tk = arg;
	uint32_t m;
	int p;

	if ((tk->err = gmp_register(tk->g, &m)))
		return NULL;
	while (!tk->stop) {
		if ((tk->err = gmp_acquire(tk->g, m, GMP_NONE, &p)) ||
		    (p != GMP_NONE && (tk->err = gmp_release(tk->g, m, p))))
			return NULL;
		if (tk->tracing)
			tk->during++;
	}
	gmp_unregister(tk->g, m);
	return NULL;
}

static void trace_beside_a_taker(struct __test_metadata *_metadata,
				 struct gmp_inst *g, uint32_t mainm)
{
	static char text[1 << 20];
	struct taker tk = { .g = g };
	uint64_t t0;
	pthread_t t;

	/* The table is full: the taker uses the main thread's M slot. */
	ASSERT_EQ(0, gmp_unregister(g, mainm));
	ASSERT_EQ(0, pthread_create(&t, NULL, taker_fn, &tk));
	usleep(50 * 1000);
	t0 = gmp_mono_ns();
	tk.tracing = 1;
	ASSERT_EQ(0, gmp_schedtrace(g, text, sizeof(text), 1));
	tk.tracing = 0;
	TH_LOG("schedtrace of %u Ms: %zu bytes in %.1f ms, %ld acquire+release meanwhile",
	       g->prm.max_m, strlen(text), (gmp_mono_ns() - t0) / 1e6, tk.during);
	tk.stop = 1;
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, tk.err);
	EXPECT_LT(g->prm.max_m / 10 * 9, gmp_trace_val(text, "threads"));
	EXPECT_LE(10, tk.during);
	ASSERT_EQ(0, gmp_register(g, &mainm));
}

#define THREADS_MAX	"/proc/sys/kernel/threads-max"
#define PID_MAX		"/proc/sys/kernel/pid_max"
#define MAX_M		"/sys/module/gmp/parameters/max_m"

FIXTURE(mlimit) {
	struct gmp_inst g;
	long threads_max;
	long pid_max;
	long max_m;
};

FIXTURE_SETUP(mlimit)
{
	/* The kernel's default for a 1 GiB VM is below 10000 threads. */
	self->threads_max = read_long(THREADS_MAX);
	if (self->threads_max < GMP_MAX_M + 100 &&
	    write_long(THREADS_MAX, GMP_MAX_M + 1000))
		SETUP_SKIP("cannot raise %s (not root?)", THREADS_MAX);
	/*
	 * A small kernel (the debug kernel: no CONFIG_BASE_FULL) has 4096
	 * pids; its limit is 32768.
	 */
	self->pid_max = read_long(PID_MAX);
	if (self->pid_max < GMP_MAX_M + 1000 &&
	    write_long(PID_MAX, GMP_MAX_M + 2000))
		SETUP_SKIP("cannot raise %s", PID_MAX);
	self->max_m = read_long(MAX_M);
	ASSERT_EQ(GMP_MAX_M, self->max_m);
	/* Read at SETUP: the instance below takes it. */
	if (vm_volume(GMP_MAX_M) < GMP_MAX_M)
		ASSERT_EQ(0, write_long(MAX_M, vm_volume(GMP_MAX_M)));
	ASSERT_EQ(0, gmp_inst_open(&self->g, 2, 0));
	ASSERT_EQ(vm_volume(GMP_MAX_M), self->g.prm.max_m);
}

FIXTURE_TEARDOWN(mlimit)
{
	gmp_inst_close(&self->g);
	if (self->max_m > 0)
		write_long(MAX_M, self->max_m);
	if (self->threads_max > 0)
		write_long(THREADS_MAX, self->threads_max);
	if (self->pid_max > 0)
		write_long(PID_MAX, self->pid_max);
}

TEST_F_TIMEOUT(mlimit, max_m_eagain_and_reap, 480)
{
	static struct member mem[GMP_MAX_M + 8];
	static pthread_t t[GMP_MAX_M + 8];
	/* Members; main's M makes max_m. */
	const int N = (int)self->g.prm.max_m - 1, max_m = N + 1;
	struct pool pl = { .g = &self->g };
	static volatile uint32_t unreg_go;
	pthread_attr_t attr;
	uint64_t t0 = gmp_mono_ns();
	uint32_t mainm;
	int i, x = N;

	ASSERT_EQ(0, pthread_attr_init(&attr));
	ASSERT_EQ(0, pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN));
	ASSERT_EQ(0, gmp_register(&self->g, &mainm));
	for (i = 0; i < N; i++) {
		mem[i].pool = &pl;
		mem[i].leave = i == 100 ? &pl.victim_go :
			       i == 200 ? &unreg_go : NULL;
		mem[i].unreg = i == 200;
		if (pthread_create(&t[i], &attr, member_fn, &mem[i]))
			break;
	}
	if (i < N) {
		/* Not the module's doing: the VM (a debug kernel) is full. */
		ASSERT_TRUE(GMP_WAIT_UNTIL(pl.registered + pl.failed == i));
		pl.victim_go = unreg_go = 1;
		futex_wake_all(&pl.victim_go);
		futex_wake_all(&unreg_go);
		go_home(&pl, pl.registered);
		SKIP(return, "this VM runs only %d threads", i);
	}
	ASSERT_TRUE(GMP_WAIT_UNTIL(pl.registered + pl.failed == N));
	ASSERT_EQ(0, pl.failed) TH_LOG("first error %d", pl.last_err);
	ASSERT_EQ(max_m, threads_of(&self->g));
	TH_LOG("%d Ms registered in %.1f s", max_m, (gmp_mono_ns() - t0) / 1e9);
	trace_beside_a_taker(_metadata, &self->g, mainm);

	/* Full: the next one is refused, and nothing is reaped (all alive). */
	mem[x] = (struct member){ .pool = &pl };
	ASSERT_EQ(-EAGAIN, one_more(&pl, &attr, &mem[x], &t[x]));
	ASSERT_EQ(0, pthread_join(t[x], NULL));
	x++;

	/* Member 100 exits without unregistering: reaped, its id reused. */
	pl.victim_go = 1;
	futex_wake_all(&pl.victim_go);
	ASSERT_EQ(0, pthread_join(t[100], NULL));
	mem[x] = (struct member){ .pool = &pl };
	ASSERT_EQ(0, one_more(&pl, &attr, &mem[x], &t[x]));
	ASSERT_EQ(mem[100].m, mem[x].m);
	x++;
	mem[x] = (struct member){ .pool = &pl };
	ASSERT_EQ(-EAGAIN, one_more(&pl, &attr, &mem[x], &t[x]));
	ASSERT_EQ(0, pthread_join(t[x], NULL));
	x++;
	ASSERT_EQ(max_m, threads_of(&self->g));

	/* Member 200 unregisters: its id is free at once. */
	unreg_go = 1;
	futex_wake_all(&unreg_go);
	ASSERT_EQ(0, pthread_join(t[200], NULL));
	mem[x] = (struct member){ .pool = &pl };
	ASSERT_EQ(0, one_more(&pl, &attr, &mem[x], &t[x]));
	ASSERT_EQ(mem[200].m, mem[x].m);
	x++;
	ASSERT_EQ(max_m, threads_of(&self->g));

	/* Everybody exits registered; the release frees max_m dead Ms. */
	go_home(&pl, pl.registered);
	for (i = 0; i < x; i++) {
		if (i != 100 && i != 200 && i != N && i != N + 2)
			ASSERT_EQ(0, pthread_join(t[i], NULL));
	}
	TH_LOG("done in %.1f s", (gmp_mono_ns() - t0) / 1e9);
}

/*
 * The parameter: 1 to GMP_MAX_M, anything else refused and the old value
 * kept; read at SETUP, so that an instance set up before a change keeps
 * its limit and one set up after has the new one, in params.max_m and in
 * what REGISTER allows.
 */
TEST_F(mlimit, max_m_parameter)
{
	const char *bad[] = { "0", "10001", "-1", "4294967297", "x", "" };
	struct pool pl = { .g = &self->g };
	struct member mem[9];
	pthread_t t[9];
	struct gmp_inst after;
	pthread_attr_t attr;
	long before = read_long(MAX_M);
	unsigned int i;
	int fd;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = open(MAX_M, O_WRONLY);
		ASSERT_LE(0, fd);
		EXPECT_EQ(-1, write(fd, bad[i], strlen(bad[i]) ? strlen(bad[i]) : 1))
			TH_LOG("max_m=%s accepted", bad[i]);
		close(fd);
		EXPECT_EQ(before, read_long(MAX_M));
	}
	ASSERT_EQ(0, write_long(MAX_M, 8));
	ASSERT_EQ(8, read_long(MAX_M));
	/* self->g was set up before: it keeps its limit. */
	EXPECT_EQ(vm_volume(GMP_MAX_M), self->g.prm.max_m);
	ASSERT_EQ(0, gmp_inst_open(&after, 1, 0));
	ASSERT_EQ(0, write_long(MAX_M, before));
	EXPECT_EQ(8, after.prm.max_m);

	/* Eight Ms register in the new instance, the ninth gets EAGAIN. */
	pl.g = &after;
	ASSERT_EQ(0, pthread_attr_init(&attr));
	ASSERT_EQ(0, pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN));
	for (i = 0; i < 9; i++) {
		mem[i] = (struct member){ .pool = &pl };
		EXPECT_EQ(i < 8 ? 0 : -EAGAIN, one_more(&pl, &attr, &mem[i], &t[i]))
			TH_LOG("M %u", i);
	}
	go_home(&pl, pl.registered);
	for (i = 0; i < 9; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	EXPECT_EQ(8, pl.registered);
	gmp_inst_close(&after);
}

TEST_HARNESS_MAIN
