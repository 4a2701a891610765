// SPDX-License-Identifier: GPL-2.0
/*
 * What an unprivileged user can make gmp.ko do (kmod/user.c, sysmon.c):
 * nothing beyond its own limits.  As uid 65534 in a cgroup with pids.max,
 * memory.max, cpu.max and a cpuset: instances beyond max_user_instances are
 * refused; many instances make no kernel thread and their memory shows in
 * the cgroup's memory.current; idle instances, and instances whose Ps are
 * held by sleeping threads, cost no sysmon rounds; Ps name only CPUs of the
 * opener's cpuset, and the runtime's pinning stays inside it; exited Ms
 * are reaped promptly; tids are those of the caller's pid namespace; a
 * frozen cgroup with parked Ms freezes and thaws.  Waits are liveness
 * bounds; the costs measured are logged, the counts asserted.
 */
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "cg_util.h"
#include "gmp_util.h"
#include "kselftest_harness.h"
#include "gmprt.h"

#define NOBODY		65534

static int param_set(const char *name, long v)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), "/sys/module/gmp/parameters/%s", name);
	snprintf(buf, sizeof(buf), "%ld\n", v);
	return write_str(path, buf);
}

static long param_get(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/gmp/parameters/%s", name);
	return read_long_at(path);
}

/* In a child: join @c (may be NULL), become nobody, run @fn; its status. */
static int as_nobody(struct cg *c, int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		char me[16];

		snprintf(me, sizeof(me), "%d", getpid());
		if (c && cg_set(c, "cgroup.procs", me))
			_exit(90);
		if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
			_exit(91);
		_exit(fn(arg));
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * /dev/gmp is 0600 unless udev or dev_mode says otherwise (gmp(4)): open it
 * to everyone for these tests, as dev_mode=0666 would, and put it back.
 */
static mode_t dev_mode_before;

static void __attribute__((constructor)) open_the_device(void)
{
	struct stat st;

	if (stat("/dev/gmp", &st) == 0) {
		dev_mode_before = st.st_mode & 0777;
		chmod("/dev/gmp", 0666);
	}
}

static void __attribute__((destructor)) close_the_device(void)
{
	if (dev_mode_before)
		chmod("/dev/gmp", dev_mode_before);
}

/* ---- instances per user ------------------------------------------------ */

static int open_until_refused(void *arg)
{
	int fds[16], i, n = 0, err = 0, fd;

	(void)arg;
	for (i = 0; i < 16; i++) {
		fds[i] = open("/dev/gmp", O_RDWR | O_CLOEXEC);
		if (fds[i] < 0) {
			err = errno;
			break;
		}
		n++;
	}
	if (n == 0)
		return 100 + err;	/* cannot open at all: says why */
	if (n != 8 || err != EMFILE)
		return 10 + n;
	/* One closed: there is room for one again. */
	close(fds[0]);
	fd = open("/dev/gmp", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 30;
	if (open("/dev/gmp", O_RDWR | O_CLOEXEC) >= 0 || errno != EMFILE)
		return 31;
	return 0;
}

TEST(instances_beyond_the_cap_refused)
{
	long cap = param_get("max_user_instances");

	ASSERT_LT(0, cap);
	ASSERT_EQ(0, param_set("max_user_instances", 8));
	EXPECT_EQ(0, as_nobody(NULL, open_until_refused, NULL));
	/* Root (CAP_SYS_RESOURCE) is not bound by it. */
	{
		int fds[10], i;

		for (i = 0; i < 10; i++) {
			fds[i] = open("/dev/gmp", O_RDWR | O_CLOEXEC);
			EXPECT_LE(0, fds[i]);
		}
		for (i = 0; i < 10; i++)
			close(fds[i]);
	}
	ASSERT_EQ(0, param_set("max_user_instances", cap));
}

/* ---- many instances: no kernel threads, memory charged ---------------- */

#define NINST	100

static long tasks_in_system(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	long running = -1, total = -1;
	double a, b, c;

	if (f) {
		if (fscanf(f, "%lf %lf %lf %ld/%ld", &a, &b, &c, &running, &total) != 5)
			total = -1;
		fclose(f);
	}
	return total;
}

struct many {
	struct cg *cg;
	long tasks_before, tasks_after, mem_before, mem_after, pids;
};

static int open_many(void *arg)
{
	struct many *mn = arg;	/* a MAP_SHARED page: the parent reads it */
	static struct gmp_inst g[NINST];
	int i;

	mn->tasks_before = tasks_in_system();
	mn->mem_before = cg_get(mn->cg, "memory.current");
	for (i = 0; i < NINST; i++)
		if (gmp_inst_open(&g[i], 4, 0))
			return 10;
	mn->tasks_after = tasks_in_system();
	mn->mem_after = cg_get(mn->cg, "memory.current");
	mn->pids = cg_get(mn->cg, "pids.current");
	for (i = 0; i < NINST; i++)
		gmp_inst_close(&g[i]);
	return 0;
}

TEST(many_instances_no_kernel_thread_memory_charged)
{
	struct many *mn = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	long cap = param_get("max_user_instances");
	struct cg c = { { 0 } };
	long charged;

	ASSERT_NE(MAP_FAILED, mn);
	if (cg_make(&c, "gmp-many"))
		SKIP(return, "no cgroup v2 with pids and memory here");
	ASSERT_EQ(0, cg_set(&c, "pids.max", "8"));
	ASSERT_EQ(0, cg_set(&c, "memory.max", "268435456"));
	ASSERT_EQ(0, param_set("max_user_instances", 2 * NINST));
	mn->cg = &c;
	EXPECT_EQ(0, as_nobody(&c, open_many, mn));
	ASSERT_EQ(0, param_set("max_user_instances", cap));
	cg_remove(&c);
	charged = mn->mem_after - mn->mem_before;
	TH_LOG("%d instances: %ld tasks before, %ld after; %ld bytes charged; pids.current %ld",
	       NINST, mn->tasks_before, mn->tasks_after, charged, mn->pids);
	/* No thread per instance (a few others may come and go meanwhile). */
	EXPECT_GT(mn->tasks_before + 10, mn->tasks_after);
	EXPECT_GE(8, mn->pids);
	/* Each instance's pages (sched, header, 4 Ps) at the very least. */
	EXPECT_LE((long)NINST * 6 * 4096, charged);
}

/* ---- idle instances cost nothing ---------------------------------------- */

#define NIDLE	20

static long kstat_of(struct gmp_inst *g, const char *key)
{
	char text[8192];
	const char *at;

	if (gmp_schedtrace(g, text, sizeof(text), 1))
		return -1;
	at = strstr(text, "\n  stats:");
	return at ? gmp_trace_val(at, key) : -1;
}

/* Holds P 0 of its instance and sleeps, as a blocked runtime thread would. */
static void *holder_fn(void *arg)
{
	struct gmp_inst *g = arg;
	uint32_t m;

	if (gmp_register(g, &m) || gmp_acquire(g, m, 0, NULL))
		return NULL;
	usleep(5 * 1000 * 1000);
	return NULL;
}

static long cpu_ns_of_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000L +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000L;
}

TEST(idle_instances_cost_no_sysmon_rounds)
{
	static struct gmp_inst g[2 * NIDLE];
	pthread_t holders[NIDLE];
	long rounds0 = 0, rounds1 = 0, cpu0, cpu1;
	int i;

	for (i = 0; i < 2 * NIDLE; i++) {
		ASSERT_EQ(0, gmp_inst_open(&g[i], 2, 0));
		ASSERT_EQ(0, gmp_sysmon_start(&g[i]));
	}
	/* Half of them with a P held by a thread asleep in the kernel. */
	for (i = 0; i < NIDLE; i++)
		ASSERT_EQ(0, pthread_create(&holders[i], NULL, holder_fn, &g[NIDLE + i]));
	usleep(500 * 1000);	/* settled: every sysmon asleep for good */
	for (i = 0; i < 2 * NIDLE; i++)
		rounds0 += kstat_of(&g[i], "sysmonrounds");
	cpu0 = cpu_ns_of_self();
	usleep(3 * 1000 * 1000);
	cpu1 = cpu_ns_of_self();
	for (i = 0; i < 2 * NIDLE; i++)
		rounds1 += kstat_of(&g[i], "sysmonrounds");
	TH_LOG("%d idle instances and %d with sleeping holders, 3 s: %ld sysmon rounds, %.3f ms of CPU in the process",
	       NIDLE, NIDLE, rounds1 - rounds0, (cpu1 - cpu0) / 1e6);
	EXPECT_EQ(rounds0, rounds1);
	for (i = 0; i < NIDLE; i++)
		pthread_join(holders[i], NULL);
	for (i = 0; i < 2 * NIDLE; i++)
		gmp_inst_close(&g[i]);
}

/* ---- Ps and pinning stay inside the cpuset ----------------------------- */

static int gcpu_bad;

static void record_cpu(void *arg)
{
	if (sched_getcpu() != (long)arg)
		__atomic_store_n(&gcpu_bad, sched_getcpu() + 1, __ATOMIC_RELAXED);
}

static int pinned_main(void *arg)
{
	long i;

	for (i = 0; i < 200; i++) {
		gmprt_go(record_cpu, arg);
		gmprt_yield();
	}
	gmprt_sleep(10 * 1000 * 1000);
	return __atomic_load_n(&gcpu_bad, __ATOMIC_RELAXED);
}

static int in_cpuset(void *arg)
{
	struct gmprt_config cfg = GMPRT_CONFIG_INIT;
	long cpu = (long)arg;
	struct gmp_inst g;
	int i;

	cfg.nprocs = 2;
	cfg.flags = GMPRT_PIN_PROCS;
	if (gmp_inst_open(&g, 3, 0))
		return 10;
	for (i = 0; i < 3; i++)
		if (*GMP_P_FIELD(&g, i, cpu, int32_t) != cpu)
			return 20 + i;
	gmp_inst_close(&g);
	return gmprt_main(pinned_main, arg, &cfg);
}

TEST(pinning_stays_inside_the_cpuset)
{
	struct cg c = { { 0 } };
	char last[24];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (ncpu < 2)
		SKIP(return, "one CPU: no cpuset to stay inside");
	if (cg_make(&c, "gmp-cpuset"))
		SKIP(return, "no cgroup v2 here");
	snprintf(last, sizeof(last), "%ld", ncpu - 1);
	ASSERT_EQ(0, cg_set(&c, "cpuset.cpus", last));
	ASSERT_EQ(0, cg_set(&c, "cpuset.mems", "0"));
	EXPECT_EQ(0, as_nobody(&c, in_cpuset, (void *)(ncpu - 1)));
	cg_remove(&c);
}

/* ---- exited Ms are reaped promptly -------------------------------------- */

static void *register_and_exit(void *arg)
{
	uint32_t m;

	gmp_register(arg, &m);
	return NULL;	/* still registered */
}

static long threads_of(struct gmp_inst *g)
{
	char text[1024];

	if (gmp_schedtrace(g, text, sizeof(text), 0))
		return -1;
	return gmp_trace_val(text, "threads");
}

TEST(exited_ms_reaped_promptly)
{
	struct gmp_inst g;
	pthread_t t;
	uint32_t m;
	int i;

	ASSERT_EQ(0, gmp_inst_open(&g, 1, 0));
	ASSERT_EQ(0, gmp_register(&g, &m));
	/* Without sysmon: the next registration reaps the dead. */
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, pthread_create(&t, NULL, register_and_exit, &g));
		ASSERT_EQ(0, pthread_join(t, NULL));
	}
	EXPECT_GT(102, threads_of(&g));
	ASSERT_EQ(0, pthread_create(&t, NULL, register_and_exit, &g));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_GE(3, threads_of(&g));	/* us, the last one, maybe the one before */
	/* With sysmon: the last switch of each thread kicks it. */
	ASSERT_EQ(0, gmp_sysmon_start(&g));
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, pthread_create(&t, NULL, register_and_exit, &g));
		ASSERT_EQ(0, pthread_join(t, NULL));
	}
	EXPECT_TRUE(GMP_WAIT_UNTIL(threads_of(&g) == 1));
	EXPECT_LE(100, kstat_of(&g, "reap"));
	gmp_inst_close(&g);
}

/* ---- tids as the caller's pid namespace sees them ---------------------- */

static int tid_in_ns(void *arg)
{
	struct gmp_inst g;
	char text[4096], want[64];
	uint32_t m;

	(void)arg;
	if (getpid() != 1)
		return 10;
	if (gmp_inst_open(&g, 1, 0) || gmp_register(&g, &m))
		return 11;
	if (gmp_schedtrace(&g, text, sizeof(text), 1))
		return 12;
	snprintf(want, sizeof(want), "  M%u: p=-1 nextp=-1 tid=1 ", m);
	return strstr(text, want) ? 0 : 13;
}

TEST(tids_in_a_pid_namespace)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		pid_t inner;

		if (unshare(CLONE_NEWPID))
			_exit(90);
		inner = fork();
		if (inner < 0)
			_exit(91);
		if (!inner)
			_exit(tid_in_ns(NULL));
		if (waitpid(inner, &status, 0) != inner || !WIFEXITED(status))
			_exit(92);
		_exit(WEXITSTATUS(status));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* ---- a frozen cgroup with parked Ms ------------------------------------ */

static volatile long *progress;

static void ticking(void *arg)
{
	(void)arg;
	for (int i = 0; i < 60; i++) {
		gmprt_sleep(20 * 1000 * 1000);
		__atomic_fetch_add(progress, 1, __ATOMIC_RELAXED);
	}
}

static int frozen_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < 4; i++)
		gmprt_go(ticking, NULL);
	while (__atomic_load_n(progress, __ATOMIC_RELAXED) < 240)
		gmprt_sleep(10 * 1000 * 1000);
	return 0;
}

static int run_frozen(void *arg)
{
	struct gmprt_config cfg = GMPRT_CONFIG_INIT;

	(void)arg;
	cfg.nprocs = 2;
	return gmprt_main(frozen_main, NULL, &cfg);
}

TEST(frozen_cgroup_freezes_and_thaws)
{
	struct cg c = { { 0 } };
	long before, after;
	int status;
	pid_t pid;

	progress = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, progress);
	if (cg_make(&c, "gmp-freeze"))
		SKIP(return, "no cgroup v2 here");
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char me[16];

		snprintf(me, sizeof(me), "%d", getpid());
		if (cg_set(&c, "cgroup.procs", me))
			_exit(90);
		_exit(run_frozen(NULL));
	}
	ASSERT_TRUE(GMP_WAIT_UNTIL(*progress >= 20));
	ASSERT_EQ(0, cg_set(&c, "cgroup.freeze", "1"));
	/* Every thread, parked Ms and sysmon included, stops. */
	EXPECT_TRUE(GMP_WAIT_UNTIL(cg_key(&c, "cgroup.events", "frozen ") == 1));
	before = *progress;
	usleep(300 * 1000);
	after = *progress;
	EXPECT_EQ(before, after);
	ASSERT_EQ(0, cg_set(&c, "cgroup.freeze", "0"));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_LE(240, *progress);
	cg_remove(&c);
}

TEST_HARNESS_MAIN
