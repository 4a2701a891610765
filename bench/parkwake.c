// SPDX-License-Identifier: GPL-2.0
/*
 * parkwake - the cost of putting a thread to sleep and waking it: gmp.ko's
 * park/wake round trip between two Ms (impl gmp) versus the same ping-pong
 * on a plain futex between two threads (impl threads).
 *
 *   parkwake gmp ITERS 1      GMP_IOC_PARK / GMP_IOC_WAKE, one P handed
 *                             back and forth (as selftests/gmp_smoke_test.c)
 *   parkwake threads ITERS 1  FUTEX_WAIT / FUTEX_WAKE on one word
 *
 * One op is a round trip: each side wakes the other once and parks once.
 * Neither side spins.  As with a futex whose value already changed, a park
 * that comes after the wake meant for it returns at once without sleeping
 * (gmp.ko's note); otherwise a round trip is two wakes and two sleeps in
 * the kernel, which is what an M that runs out of work pays in gmp.
 * Needs no runtime (libgmprt): it drives the module's ioctls directly.
 * Also prints the syscalls per round trip of each (syscalls-parkwake), both
 * threads counted: how often each side got away without sleeping.
 */
#include <pthread.h>
#include <linux/futex.h>
#include "common.h"
#include "gmp_util.h"

/* ---- gmp.ko ------------------------------------------------------------- */

struct gmp_pp {
	struct gmp_inst g;
	long rounds;
	uint32_t main_m;
	uint32_t m;
	int err;
};

static void *gmp_ponger(void *arg)
{
	struct gmp_pp *pp = arg;
	struct gmp_park out;
	long i;

	if (gmp_register(&pp->g, &pp->m)) {
		pp->err = -1;
		return NULL;
	}
	for (i = 0; i < pp->rounds; i++) {
		/* Sleep until main hands us its P, then hand it back. */
		if (gmp_park(&pp->g, pp->m, 0, 0, &out) ||
		    out.result != GMP_PARKED_WOKEN) {
			pp->err = -2;
			return NULL;
		}
		if (gmp_wake(&pp->g, pp->m, GMP_WAKE_HANDOFF | GMP_WAKE_TARGET,
			     0, pp->main_m, NULL)) {
			pp->err = -3;
			return NULL;
		}
	}
	return NULL;
}

static struct bench_sc sc;
static long calls = -1;	/* syscalls in the measured loop (both threads) */

static double run_gmp(long rounds)
{
	struct gmp_pp pp = { .rounds = rounds };
	struct gmp_park out;
	struct gmp_wake w;
	pthread_t t;
	int64_t t0, t1;
	int ret, p;
	long i, c0;

	ret = gmp_inst_open(&pp.g, 1, 0);
	if (ret)
		bench_die("gmp.ko: cannot set up /dev/gmp: %s (is gmp.ko loaded?)",
			  strerror(-ret));
	if (gmp_register(&pp.g, &pp.main_m) ||
	    gmp_acquire(&pp.g, pp.main_m, GMP_NONE, &p))
		bench_die("gmp.ko: register/acquire failed");
	if (pthread_create(&t, NULL, gmp_ponger, &pp))
		bench_die("pthread_create failed");
	while (GMP_SCHED_U32(&pp.g, nmidle) != 1 && !pp.err)
		usleep(100);
	c0 = bench_sc_read(&sc);
	t0 = bench_now();
	for (i = 0; i < rounds; i++) {
		/*
		 * TARGET on both sides: the ponger may not have parked yet
		 * (it is between its wake and its park); a targeted wake is
		 * then left in its note, where a plain HANDOFF would find no
		 * idle M and reserve the P for a new thread instead.
		 */
		if (gmp_wake(&pp.g, pp.main_m, GMP_WAKE_HANDOFF | GMP_WAKE_TARGET,
			     0, pp.m, &w) ||
		    w.result != GMP_WOKE_M)
			bench_die("gmp.ko: wake failed at round %ld", i);
		if (gmp_park(&pp.g, pp.main_m, 0, 0, &out) ||
		    out.result != GMP_PARKED_WOKEN)
			bench_die("gmp.ko: park failed at round %ld", i);
	}
	t1 = bench_now();
	calls = bench_sc_delta(&sc, c0, bench_sc_read(&sc));
	pthread_join(t, NULL);
	if (pp.err)
		bench_die("gmp.ko: ponger failed (%d)", pp.err);
	gmp_inst_close(&pp.g);
	return (double)(t1 - t0) / rounds;
}

/* ---- futex -------------------------------------------------------------- */

static uint32_t turn;	/* 1: the ponger's turn; 0: main's */

static long futex(uint32_t *uaddr, int op, uint32_t val)
{
	return syscall(SYS_futex, uaddr, op | FUTEX_PRIVATE_FLAG, val, NULL,
		       NULL, 0);
}

/* Sleep while *@w == @val. */
static void futex_wait_while(uint32_t *w, uint32_t val)
{
	while (__atomic_load_n(w, __ATOMIC_ACQUIRE) == val)
		futex(w, FUTEX_WAIT, val);
}

static void *futex_ponger(void *arg)
{
	long rounds = *(long *)arg, i;

	for (i = 0; i < rounds; i++) {
		futex_wait_while(&turn, 0);
		__atomic_store_n(&turn, 0, __ATOMIC_RELEASE);
		futex(&turn, FUTEX_WAKE, 1);
	}
	return NULL;
}

static double run_futex(long rounds)
{
	pthread_t t;
	int64_t t0, t1;
	long i, c0;

	if (pthread_create(&t, NULL, futex_ponger, &rounds))
		bench_die("pthread_create failed");
	usleep(10000);	/* let the ponger reach its first wait */
	c0 = bench_sc_read(&sc);
	t0 = bench_now();
	for (i = 0; i < rounds; i++) {
		__atomic_store_n(&turn, 1, __ATOMIC_RELEASE);
		futex(&turn, FUTEX_WAKE, 1);
		futex_wait_while(&turn, 1);
	}
	t1 = bench_now();
	calls = bench_sc_delta(&sc, c0, bench_sc_read(&sc));
	pthread_join(t, NULL);
	return (double)(t1 - t0) / rounds;
}

int main(int argc, char **argv)
{
	struct bench_args a = bench_parse(argc, argv);
	int have_sc;
	double ns;

	/* Before the second thread exists, so that it inherits the counter. */
	have_sc = bench_sc_open(&sc) == 0;

	if (!strcmp(a.workload, "gmp"))
		ns = run_gmp(a.iters);
	else if (!strcmp(a.workload, "threads"))
		ns = run_futex(a.iters);
	else
		bench_die("parkwake: gmp or threads, not %s", a.workload);
	bench_result("parkwake", a.workload, a.nprocs, a.iters, "ns_per_op", ns,
		     NULL);
	/*
	 * Where the time goes: a wait whose wake came first costs a futex
	 * no syscall (the value already changed) but a gmp park one ioctl
	 * (it finds the note set and returns).
	 */
	if (have_sc && calls >= 0)
		bench_result("syscalls-parkwake", a.workload, a.nprocs, a.iters,
			     "syscalls_per_op", (double)calls / a.iters,
			     "syscalls=%ld", calls);
	else
		printf("# syscalls-parkwake: syscall count unavailable\n");
	return 0;
}
