// SPDX-License-Identifier: GPL-2.0
/*
 * How many Ps an instance gets, and on which CPUs (kmod/cpulimit.c): with
 * nprocs 0, one per CPU of the opener's mask capped by the CPU bandwidth
 * limit (cpu.max, rounded up) of its cgroup and of every ancestor, even
 * one its cgroup namespace hides; an explicit nprocs always wins, through
 * the ioctl, the config field and GMPRT_NPROCS; the runtime follows a
 * changed limit or main-thread mask once a second, unless the program named
 * a number.  Then GMP_IOC_PROCRESIZE
 * at the interface (kmod/procresize.c): the flag it needs, its bounds, Ps
 * made and brought back, idle Ps stopped at once, held ones retiring until
 * let go, a retiring P with Gs kept by park and handed to an M, never
 * idled; the pages of Ps not made are SIGBUS.  Then CPU hotplug: a P
 * pinned (GMPRT_PIN_PROCS) to a CPU that goes offline keeps running its Gs.
 *
 * Each case runs in a child moved into a cgroup of its own, so that the
 * test process itself never leaves the root.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/wait.h>
#include "cg_util.h"
#include "gmp_util.h"
#include "kselftest_harness.h"
#include "gmprt.h"

/* CPUs the caller may run on: what the kernel starts from. */
static int mask_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	return CPU_COUNT(&set);
}

#define NEW_CGNS	(1U << 0)	/* unshare the cgroup namespace first */

struct probe {
	struct cg *cg;
	unsigned int nprocs;		/* asked for */
	unsigned int how;		/* NEW_CGNS */
};

/* In a child: join @pr->cg, set an instance up; exit with its Ps (< 200). */
static int nprocs_in(struct probe *pr)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		struct gmp_inst g;

		if (pr->cg && cg_enter(pr->cg, 0))
			_exit(200);
		if ((pr->how & NEW_CGNS) && unshare(CLONE_NEWCGROUP))
			_exit(201);
		if (gmp_inst_open(&g, pr->nprocs, 0))
			_exit(202);
		_exit(g.prm.nprocs < 200 ? g.prm.nprocs : 203);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int nprocs_with(struct cg *c, const char *cpumax)
{
	struct probe pr = { .cg = c };

	if (cg_set(c, "cpu.max", cpumax))
		return -1;
	return nprocs_in(&pr);
}

FIXTURE(cpulimit)
{
	struct cg parent, child;
	int ncpu;
};

FIXTURE_SETUP(cpulimit)
{
	self->ncpu = mask_cpus();
	ASSERT_LE(1, self->ncpu);
	ASSERT_EQ(0, cg_make(&self->parent, "gmp-nprocs"));
	ASSERT_EQ(0, cg_make_in(&self->child, &self->parent, "child"));
}

FIXTURE_TEARDOWN(cpulimit)
{
	cg_remove(&self->child);
	cg_remove(&self->parent);
}

/* No limit anywhere: the mask, as before. */
TEST_F(cpulimit, no_limit_gives_the_mask)
{
	struct probe pr = { .cg = &self->child };

	ASSERT_EQ(0, cg_set(&self->parent, "cpu.max", "max 100000"));
	ASSERT_EQ(0, cg_set(&self->child, "cpu.max", "max 100000"));
	EXPECT_EQ(self->ncpu, nprocs_in(&pr));
}

/* QUOTA/PERIOD rounded up, and never more than the mask. */
TEST_F(cpulimit, quota_is_rounded_up_and_capped_by_the_mask)
{
	int n = self->ncpu;

	EXPECT_EQ(1, nprocs_with(&self->child, "100000 100000"));
	EXPECT_EQ(1, nprocs_with(&self->child, "20000 100000"));
	EXPECT_EQ(n < 2 ? n : 2, nprocs_with(&self->child, "150000 100000"));
	/* Another period: 25 ms of every 10 ms is 2.5 CPUs. */
	EXPECT_EQ(n < 3 ? n : 3, nprocs_with(&self->child, "25000 10000"));
	EXPECT_EQ(n, nprocs_with(&self->child, "max 100000"));
}

/* The tightest level binds, wherever it is. */
TEST_F(cpulimit, a_parent_limit_binds_an_unlimited_child)
{
	ASSERT_EQ(0, cg_set(&self->parent, "cpu.max", "100000 100000"));
	EXPECT_EQ(1, nprocs_with(&self->child, "max 100000"));
	ASSERT_EQ(0, cg_set(&self->parent, "cpu.max", "max 100000"));
	EXPECT_EQ(1, nprocs_with(&self->child, "100000 100000"));
	EXPECT_EQ(self->ncpu, nprocs_with(&self->child, "max 100000"));
}

/*
 * Inside a cgroup namespace rooted at the child, the parent's cpu.max is
 * not in /sys/fs/cgroup's view at all: a user-space reader (Go 1.25's)
 * finds no limit.  The kernel still applies it.
 */
TEST_F(cpulimit, a_limit_above_the_cgroup_namespace_still_binds)
{
	struct probe pr = { .cg = &self->child, .how = NEW_CGNS };

	ASSERT_EQ(0, cg_set(&self->parent, "cpu.max", "100000 100000"));
	ASSERT_EQ(0, cg_set(&self->child, "cpu.max", "max 100000"));
	EXPECT_EQ(1, nprocs_in(&pr));
}

/* An explicit nprocs is never lowered by a limit. */
TEST_F(cpulimit, explicit_nprocs_wins)
{
	struct probe pr = { .cg = &self->child, .nprocs = 3 };

	ASSERT_EQ(0, cg_set(&self->parent, "cpu.max", "100000 100000"));
	EXPECT_EQ(3, nprocs_in(&pr));
}

/* ---- the runtime: gmprt_nprocs() shows the default, GMPRT_NPROCS wins --- */

static int report_nprocs(void *arg)
{
	(void)arg;
	return gmprt_nprocs();
}

/*
 * In a child in @c: gmprt_main(@fn, @arg) with nprocs @n and $GMPRT_NPROCS
 * @env (NULL: unset).  Return: its exit status, -1 if it did not exit.
 */
static int rt_child(struct cg *c, int n, const char *env, int (*fn)(void *),
		    void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		struct gmprt_config cfg = GMPRT_CONFIG_INIT;

		if (cg_enter(c, 0))
			_exit(200);
		if (env)
			setenv("GMPRT_NPROCS", env, 1);
		else
			unsetenv("GMPRT_NPROCS");
		cfg.nprocs = n;
		_exit(gmprt_main(fn, arg, &cfg));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int rt_nprocs_in(struct cg *c, int n, const char *env)
{
	return rt_child(c, n, env, report_nprocs, NULL);
}

TEST_F(cpulimit, the_runtime_default_follows_the_limit)
{
	ASSERT_EQ(0, cg_set(&self->parent, "cpu.max", "100000 100000"));
	EXPECT_EQ(1, rt_nprocs_in(&self->child, 0, NULL));
	EXPECT_EQ(3, rt_nprocs_in(&self->child, 0, "3"));
	EXPECT_EQ(2, rt_nprocs_in(&self->child, 2, NULL));
	ASSERT_EQ(0, cg_set(&self->parent, "cpu.max", "max 100000"));
	EXPECT_EQ(self->ncpu, rt_nprocs_in(&self->child, 0, NULL));
}

/*
 * ---- the runtime follows a changed limit, unless the program chose ------
 *
 * The runtime asks gmp.ko once a second (GMP_RESIZE_DEFAULT); a limit that
 * moves moves nprocs with it.  A program that named nprocs (config field,
 * GMPRT_NPROCS, or gmprt_set_nprocs()) keeps its number.
 */
#define FOLLOW_WAIT_MS	5000	/* a liveness bound: the runtime looks each second */
#define STAY_MS		2500	/* two and a half looks */

struct follow {
	struct cg *parent;
	int ncpu;
	bool set_first;			/* gmprt_set_nprocs(ncpu) before the change */
};

/* Poll gmprt_nprocs() until it is @n or @ms pass.  Return: the last value. */
static int nprocs_becomes(int n, int ms)
{
	int i, v = gmprt_nprocs();

	for (i = 0; i < ms / 50 && v != n; i++) {
		gmprt_sleep(50 * 1000 * 1000LL);
		v = gmprt_nprocs();
	}
	return v;
}

static int follow_main(void *arg)
{
	struct follow *fw = arg;
	cpu_set_t one, all;

	if (gmprt_nprocs() != fw->ncpu)
		return 10;
	if (cg_set(fw->parent, "cpu.max", "100000 100000"))
		return 11;
	if (nprocs_becomes(1, FOLLOW_WAIT_MS) != 1)
		return 12;
	if (cg_set(fw->parent, "cpu.max", "max 100000"))
		return 13;
	if (nprocs_becomes(fw->ncpu, FOLLOW_WAIT_MS) != fw->ncpu)
		return 14;
	/* The mask counts too: the main thread's (its tid is the pid). */
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (sched_getaffinity(getpid(), sizeof(all), &all) ||
	    sched_setaffinity(getpid(), sizeof(one), &one))
		return 15;
	if (nprocs_becomes(1, FOLLOW_WAIT_MS) != 1)
		return 16;
	if (sched_setaffinity(getpid(), sizeof(all), &all))
		return 17;
	if (nprocs_becomes(fw->ncpu, FOLLOW_WAIT_MS) != fw->ncpu)
		return 18;
	return 0;
}

static int stay_main(void *arg)
{
	struct follow *fw = arg;

	if (fw->set_first && gmprt_set_nprocs(fw->ncpu) != fw->ncpu)
		return 20;
	if (gmprt_nprocs() != fw->ncpu)
		return 21;
	if (cg_set(fw->parent, "cpu.max", "100000 100000"))
		return 22;
	/* Never lowered: wait through several of the runtime's looks. */
	if (nprocs_becomes(1, STAY_MS) != fw->ncpu)
		return 23;
	return 0;
}

TEST_F(cpulimit, the_runtime_follows_a_changed_limit)
{
	struct follow fw = { .parent = &self->parent, .ncpu = self->ncpu };

	if (self->ncpu < 2)
		SKIP(return, "one CPU: no limit lowers the default");
	EXPECT_EQ(0, rt_child(&self->child, 0, NULL, follow_main, &fw));
}

TEST_F(cpulimit, an_explicit_nprocs_never_follows)
{
	struct follow fw = { .parent = &self->parent, .ncpu = self->ncpu };

	if (self->ncpu < 2)
		SKIP(return, "one CPU: no limit lowers the default");
	/* The config field. */
	EXPECT_EQ(0, rt_child(&self->child, self->ncpu, NULL, stay_main, &fw));
	/* gmprt_set_nprocs() after a default start. */
	ASSERT_EQ(0, cg_set(&self->parent, "cpu.max", "max 100000"));
	fw.set_first = true;
	EXPECT_EQ(0, rt_child(&self->child, 0, NULL, stay_main, &fw));
}

/* The question alone changes nothing, and answers for the caller. */
TEST_F(cpulimit, the_default_is_asked_without_a_change)
{
	struct gmp_procresize a = { .flags = GMP_RESIZE_DEFAULT };
	struct gmp_inst g;

	ASSERT_EQ(0, gmp_inst_open(&g, 1, GMP_SETUP_RESIZE));
	ASSERT_EQ(0, gmp_ioctl(g.fd, GMP_IOC_PROCRESIZE, &a));
	EXPECT_EQ(1, a.nprocs);
	EXPECT_EQ(self->ncpu, a.dflt);
	EXPECT_EQ(1, GMP_SCHED_WORD(&g, gomaxprocs));
	a.nprocs = 0;
	a.dflt = 0;
	a.flags = 2;
	EXPECT_EQ(-EINVAL, gmp_ioctl(g.fd, GMP_IOC_PROCRESIZE, &a));
	gmp_inst_close(&g);
}

/* ---- GMP_IOC_PROCRESIZE ------------------------------------------------- */

static uint32_t pstatus(struct gmp_inst *g, int p)
{
	return __atomic_load_n(gmp_p_status(g, p), __ATOMIC_ACQUIRE);
}

TEST(resize_needs_its_setup_flag_and_a_clean_request)
{
	struct gmp_procresize a = { .nprocs = 2 };
	struct gmp_inst g;

	ASSERT_EQ(0, gmp_inst_open(&g, 1, 0));
	EXPECT_TRUE(g.prm.features & GMP_FEAT_RESIZE);
	EXPECT_EQ(g.prm.procs.p0 + g.prm.procs.p_stride, g.prm.procs.size);
	EXPECT_EQ(-EOPNOTSUPP, gmp_procresize(&g, 2));
	gmp_inst_close(&g);

	ASSERT_EQ(0, gmp_inst_open(&g, 1, GMP_SETUP_RESIZE));
	/* The range is GMP_MAX_PROCS Ps from the start. */
	EXPECT_EQ(g.prm.procs.p0 + (size_t)GMP_MAX_PROCS * g.prm.procs.p_stride,
		  g.prm.procs.size);
	EXPECT_EQ(1, g.prm.nprocs);
	EXPECT_EQ(-EINVAL, gmp_procresize(&g, GMP_MAX_PROCS + 1));
	EXPECT_EQ(-EINVAL, gmp_procresize(&g, 0x80000000u));
	EXPECT_EQ(-EINVAL, gmp_procresize(&g, 0xffffffffu));
	a.flags = GMP_RESIZE_DEFAULT << 1;	/* unknown */
	EXPECT_EQ(-EINVAL, gmp_ioctl(g.fd, GMP_IOC_PROCRESIZE, &a));
	a.flags = 0;
	a.dflt = 1;				/* out only */
	EXPECT_EQ(-EINVAL, gmp_ioctl(g.fd, GMP_IOC_PROCRESIZE, &a));
	a.dflt = 0;
	a.resv = 1;
	EXPECT_EQ(-EINVAL, gmp_ioctl(g.fd, GMP_IOC_PROCRESIZE, &a));
	EXPECT_EQ(-EFAULT, gmp_ioctl(g.fd, GMP_IOC_PROCRESIZE, (void *)8));
	EXPECT_EQ(1, GMP_SCHED_WORD(&g, gomaxprocs));	/* nothing changed */
	EXPECT_EQ(1, gmp_procresize(&g, 0));		/* 0 only reads */
	gmp_inst_close(&g);
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(bus_jmp, 1);
}

/* Does reading @addr fault with SIGBUS? */
static bool sigbus_at(volatile uint32_t *addr)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	bool bus = false;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(bus_jmp, 1))
		bus = true;
	else
		(void)*addr;
	sigaction(SIGBUS, &old, NULL);
	return bus;
}

TEST(grow_makes_ps_and_shrink_stops_the_idle_ones_at_once)
{
	struct gmp_inst g;
	uint32_t m;
	int p, i;

	ASSERT_EQ(0, gmp_inst_open(&g, 2, GMP_SETUP_RESIZE));
	ASSERT_EQ(0, gmp_register(&g, &m));
	/* P 3 is not made: its page is not there. */
	EXPECT_TRUE(sigbus_at(gmp_p_status(&g, 3)));
	EXPECT_EQ(2, gmp_procresize(&g, 4));
	EXPECT_EQ(4, GMP_SCHED_WORD(&g, gomaxprocs));
	EXPECT_EQ(4, GMP_SCHED_WORD(&g, npidle));
	EXPECT_FALSE(sigbus_at(gmp_p_status(&g, 3)));
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(GMP_P_IDLE, pstatus(&g, i));
		EXPECT_LE(0, *GMP_P_FIELD(&g, i, cpu, int32_t));
	}
	EXPECT_TRUE(sigbus_at(gmp_p_status(&g, 4)));
	/* A new P is handed out as any idle P. */
	ASSERT_EQ(0, gmp_acquire(&g, m, 3, &p));
	EXPECT_EQ(3, p);
	ASSERT_EQ(0, gmp_release(&g, m, 3));

	EXPECT_EQ(4, gmp_procresize(&g, 1));
	EXPECT_EQ(1, GMP_SCHED_WORD(&g, gomaxprocs));
	EXPECT_EQ(1, GMP_SCHED_WORD(&g, npidle));
	for (i = 1; i < 4; i++)
		EXPECT_EQ(GMP_P_STOP, pstatus(&g, i));
	/* A stopped P is never handed out; P 0 is. */
	ASSERT_EQ(0, gmp_acquire(&g, m, 2, &p));
	EXPECT_EQ(GMP_NONE, p);
	ASSERT_EQ(0, gmp_acquire_flags(&g, m, 2, GMP_ACQUIRE_ANY, &p));
	EXPECT_EQ(0, p);
	ASSERT_EQ(0, gmp_release(&g, m, 0));

	/* Back again: the same Ps, idle. */
	EXPECT_EQ(1, gmp_procresize(&g, 3));
	EXPECT_EQ(3, GMP_SCHED_WORD(&g, npidle));
	EXPECT_EQ(GMP_P_IDLE, pstatus(&g, 2));
	EXPECT_EQ(GMP_P_STOP, pstatus(&g, 3));
	gmp_inst_close(&g);
}

/* The detailed trace agrees: gomaxprocs in force, every P made listed. */
TEST(the_trace_shows_ps_in_force_and_stopped)
{
	static char text[1 << 16];
	struct gmp_inst g;

	ASSERT_EQ(0, gmp_inst_open(&g, 3, GMP_SETUP_RESIZE));
	ASSERT_EQ(3, gmp_procresize(&g, 1));
	ASSERT_EQ(0, gmp_schedtrace(&g, text, sizeof(text), 1));
	EXPECT_EQ(1, gmp_trace_val(text, "gomaxprocs"));
	EXPECT_NE(NULL, strstr(text, "  P2: status=3(stop) "));
	EXPECT_NE(NULL, strstr(text, " state=stopped "));
	gmp_inst_close(&g);
}

TEST(a_held_p_retires_and_stops_when_let_go)
{
	static char text[1 << 16];
	struct gmp_inst g;
	uint32_t m;
	int p;

	ASSERT_EQ(0, gmp_inst_open(&g, 2, GMP_SETUP_RESIZE));
	ASSERT_EQ(0, gmp_register(&g, &m));
	ASSERT_EQ(0, gmp_acquire(&g, m, 1, &p));
	ASSERT_EQ(1, p);
	EXPECT_EQ(2, gmp_procresize(&g, 1));
	/* Still ours, running, asked to yield. */
	EXPECT_EQ(GMP_P_RUNNING, pstatus(&g, 1));
	EXPECT_EQ(1, *GMP_P_FIELD(&g, 1, preempt, uint32_t));
	EXPECT_EQ(1, gmp_m_slot_p(&g, m));
	ASSERT_EQ(0, gmp_schedtrace(&g, text, sizeof(text), 1));
	EXPECT_NE(NULL, strstr(text, "  P1: status=1(running) "));
	ASSERT_EQ(0, gmp_release(&g, m, 1));
	EXPECT_EQ(GMP_P_STOP, pstatus(&g, 1));
	EXPECT_EQ(1, GMP_SCHED_WORD(&g, npidle));
	gmp_inst_close(&g);
}

/* Gs on a retiring P's ring: park keeps the P; without them it stops. */
TEST(park_keeps_a_retiring_p_with_gs)
{
	struct gmp_inst g;
	struct gmp_park out;
	uint32_t m;
	int p;

	ASSERT_EQ(0, gmp_inst_open(&g, 2, GMP_SETUP_RESIZE));
	ASSERT_EQ(0, gmp_register(&g, &m));
	ASSERT_EQ(0, gmp_acquire(&g, m, 1, &p));
	gmp_ring_put(&g, 1, 0x1001);
	EXPECT_EQ(2, gmp_procresize(&g, 1));
	ASSERT_EQ(0, gmp_park(&g, m, 0, 0, &out));
	EXPECT_EQ(GMP_PARKED_WORK, out.result);
	EXPECT_EQ(1, out.p);
	/* As the runtime does: the G to the global queue, then park. */
	EXPECT_EQ(0x1001, gmp_ring_get(&g, 1));
	ASSERT_EQ(0, gmp_runq_put(&g, (uint64_t[]){ 0x1001 }, 1));
	ASSERT_EQ(0, gmp_park(&g, m, 0, 0, &out));
	EXPECT_EQ(GMP_PARKED_WORK, out.result);	/* the global queue's G */
	EXPECT_EQ(0, out.p);
	EXPECT_EQ(GMP_P_STOP, pstatus(&g, 1));
	gmp_inst_close(&g);
}

/* A retiring P with Gs that its M lets go goes to an idle M, never idle. */
TEST(a_retiring_p_with_gs_is_handed_to_an_m)
{
	struct gmp_parker pk = { 0 };
	struct gmp_inst g;
	uint32_t m;
	int p;

	ASSERT_EQ(0, gmp_inst_open(&g, 2, GMP_SETUP_RESIZE));
	ASSERT_EQ(0, gmp_register(&g, &m));
	ASSERT_EQ(0, gmp_acquire(&g, m, 1, &p));
	ASSERT_EQ(0, gmp_parker_start(&pk, &g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(GMP_SCHED_WORD(&g, nmidle) == 1));
	gmp_ring_put(&g, 1, 0x2002);
	EXPECT_EQ(2, gmp_procresize(&g, 1));
	ASSERT_EQ(0, gmp_release(&g, m, 1));
	ASSERT_TRUE(GMP_WAIT_UNTIL(__atomic_load_n(&pk.done, __ATOMIC_ACQUIRE)));
	EXPECT_EQ(0, pk.ret);
	EXPECT_EQ(GMP_PARKED_WOKEN, pk.out.result);
	EXPECT_EQ(1, pk.out.p);
	EXPECT_EQ(GMP_P_RUNNING, pstatus(&g, 1));
	gmp_parker_join(&pk);
	gmp_inst_close(&g);
}

/* All the way up and down: every P made, its page charged, then stopped. */
TEST(resize_to_the_maximum_and_back)
{
	struct gmp_inst g;

	ASSERT_EQ(0, gmp_inst_open(&g, 1, GMP_SETUP_RESIZE));
	ASSERT_EQ(1, gmp_procresize(&g, GMP_MAX_PROCS));
	EXPECT_EQ(GMP_MAX_PROCS, GMP_SCHED_WORD(&g, npidle));
	EXPECT_EQ(GMP_P_IDLE, pstatus(&g, GMP_MAX_PROCS - 1));
	EXPECT_EQ(GMP_MAX_PROCS, gmp_procresize(&g, 1));
	EXPECT_EQ(GMP_P_STOP, pstatus(&g, GMP_MAX_PROCS - 1));
	EXPECT_EQ(1, GMP_SCHED_WORD(&g, npidle));
	gmp_inst_close(&g);
}

/* ---- CPU hotplug under pinned Ps ----------------------------------------- */

#define HOT_GS		64
#define HOT_ROUNDS	2000

static const char *hot_cpu_path = "/sys/devices/system/cpu/cpu1/online";

struct hot {
	gmprt_waitgroup wg;
	long done[HOT_GS];
	int offline_at;			/* round at which G 0 takes the CPU out */
	bool back;			/* the second run: the CPU is back */
	int offline_err;		/* what taking it out returned */
};

static struct hot hot;

static void hot_g(void *arg)
{
	long id = (long)arg, r;

	for (r = 0; r < HOT_ROUNDS; r++) {
		if (id == 0 && r == hot.offline_at && !hot.back)
			hot.offline_err = write_str(hot_cpu_path, "0");
		hot.done[id]++;
		gmprt_yield();
	}
	gmprt_wg_done(&hot.wg);
}

static int hot_main(void *arg)
{
	long i;

	(void)arg;
	gmprt_wg_init(&hot.wg);
	gmprt_wg_add(&hot.wg, HOT_GS);
	for (i = 0; i < HOT_GS; i++)
		if (gmprt_go(hot_g, (void *)i))
			return 1;
	gmprt_wg_wait(&hot.wg);
	if (hot.offline_err || read_long_at(hot_cpu_path) != 0)
		return 5;
	/* The CPU back while the Ps still run: spawn across it again. */
	if (write_str(hot_cpu_path, "1"))
		return 4;
	hot.back = true;
	gmprt_wg_add(&hot.wg, HOT_GS);
	for (i = 0; i < HOT_GS; i++)
		if (gmprt_go(hot_g, (void *)i))
			return 2;
	gmprt_wg_wait(&hot.wg);
	for (i = 0; i < HOT_GS; i++)
		if (hot.done[i] != 2 * HOT_ROUNDS)
			return 3;
	return 0;
}

/*
 * nprocs 2 pinned to CPUs 0 and 1 (gmp.ko names them so on two CPUs); CPU 1
 * goes offline while every G yields in a loop, then comes back.  Every G
 * runs every round: the M pinned to the CPU that left runs on elsewhere.
 */
TEST(pinned_ps_survive_a_cpu_going_offline)
{
	struct gmprt_config cfg = GMPRT_CONFIG_INIT;
	int status;
	pid_t pid;

	if (mask_cpus() < 2 || access(hot_cpu_path, W_OK))
		SKIP(return, "needs CPU 1 and a way to take it offline");
	hot.offline_at = HOT_ROUNDS / 4;
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		cfg.nprocs = 2;
		cfg.flags = GMPRT_PIN_PROCS;
		_exit(gmprt_main(hot_main, NULL, &cfg));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	write_str(hot_cpu_path, "1");	/* whatever happened */
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(1, read_long_at(hot_cpu_path));
}

TEST_HARNESS_MAIN
