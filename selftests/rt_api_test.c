// SPDX-License-Identifier: GPL-2.0
/*
 * The runtime's API and its error paths: start-up options, goids,
 * gmprt_exit, park/ready, the errors gmprt_main() returns (no /dev/gmp, no
 * permission, bad settings) with their messages, and the fatal ones (a
 * G-only call from a thread that runs no G) with their exit status.
 */
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "rt_util.h"

static gmprt_waitgroup wg = GMPRT_WAITGROUP_INIT;


static int nothing(void *arg)
{
	return 0;
}

static void without_device(void)
{
	/* A private /dev without gmp in it. */
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", "/dev", "tmpfs", 0, NULL))
		_exit(99);
	/* It returns, and the program goes on: here, to exit with the errno. */
	_exit(-gmprt_main(nothing, NULL, NULL));
}

TEST(no_device_returns_enoent_with_advice)
{
	char err[1024];

	ASSERT_EQ(ENOENT, run_child(without_device, err, sizeof(err)));
	TH_LOG("%s", err);
	ASSERT_NE(NULL, strstr(err, "/dev/gmp"));
	ASSERT_NE(NULL, strstr(err, "modprobe gmp"));
	/* One line. */
	ASSERT_EQ(strlen(err) - 1, (size_t)(strchr(err, '\n') - err));
}

/* Having failed, gmprt_main() may be called again. */
static void without_device_twice(void)
{
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", "/dev", "tmpfs", 0, NULL))
		_exit(99);
	if (gmprt_main(nothing, NULL, NULL) != -ENOENT)
		_exit(98);
	_exit(-gmprt_main(nothing, NULL, NULL));
}

TEST(no_device_twice)
{
	char err[1024];

	ASSERT_EQ(ENOENT, run_child(without_device_twice, err, sizeof(err)));
}

static void as_nobody(void)
{
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		_exit(99);
	_exit(-gmprt_main(nothing, NULL, NULL));
}

/* gmp.ko's default mode (0600, root:root) as the runner loads it. */
TEST(no_permission_returns_eacces_with_advice)
{
	char err[1024];

	ASSERT_EQ(EACCES, run_child(as_nobody, err, sizeof(err)));
	TH_LOG("%s", err);
	ASSERT_NE(NULL, strstr(err, "Permission denied"));
	ASSERT_NE(NULL, strstr(err, "group gmp"));
	ASSERT_NE(NULL, strstr(err, "dev_mode=0666"));
}

#define STR_(x)	#x
#define STR(x)	STR_(x)

/* One VERSION file: the library, its header and the Makefile agree. */
TEST(version)
{
	ASSERT_STREQ(GMP_VERSION, gmprt_version());
	ASSERT_STREQ(GMP_VERSION, STR(GMPRT_VERSION_MAJOR) "." STR(GMPRT_VERSION_MINOR));
	/* True when the header is older than asked (liburing's sense). */
	ASSERT_FALSE(GMPRT_CHECK_VERSION(GMPRT_VERSION_MAJOR, GMPRT_VERSION_MINOR));
	ASSERT_FALSE(GMPRT_CHECK_VERSION(0, 0));
	ASSERT_TRUE(GMPRT_CHECK_VERSION(GMPRT_VERSION_MAJOR, GMPRT_VERSION_MINOR + 1));
	ASSERT_TRUE(GMPRT_CHECK_VERSION(GMPRT_VERSION_MAJOR + 1, 0));
}

/* ---- struct gmprt_config: sizes old and new ----------------------------- */

static int report_nprocs(void *arg)
{
	return gmprt_nprocs();
}

/*
 * A config of @size bytes whose last byte is the last of a page, the next
 * page inaccessible: a library that read past @size would fault.
 */
static struct gmprt_config *config_at_page_end(size_t size)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct gmprt_config *c;

	if (m == MAP_FAILED || mprotect(m + pg, pg, PROT_NONE))
		_exit(98);
	c = (struct gmprt_config *)(m + pg - size);
	memset(c, 0, size);
	c->size = size;
	c->nprocs = 3;
	return c;
}

/* A program built with the first layout runs: only its bytes are read. */
static void config_ver0(void)
{
	_exit(gmprt_main(report_nprocs, NULL, config_at_page_end(GMPRT_CONFIG_SIZE_VER0)));
}

/* A program built with a newer gmprt.h, using none of the new fields. */
static void config_newer_zero(void)
{
	_exit(gmprt_main(report_nprocs, NULL, config_at_page_end(sizeof(struct gmprt_config) + 24)));
}

/* ... and one setting a field this library does not have. */
static void config_newer_set(void)
{
	struct gmprt_config *c = config_at_page_end(sizeof(struct gmprt_config) + 24);

	((char *)c)[sizeof(*c) + 20] = 1;
	_exit(-gmprt_main(report_nprocs, NULL, c));
}

/* A config someone forgot to size ({ .nprocs = 3 }, not GMPRT_CONFIG_INIT). */
static void config_unsized(void)
{
	struct gmprt_config c = { .nprocs = 3 };

	_exit(-gmprt_main(report_nprocs, NULL, &c));
}

TEST(config_sizes)
{
	char err[1024];

	EXPECT_EQ(3, run_child(config_ver0, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(3, run_child(config_newer_zero, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(EINVAL, run_child(config_newer_set, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "sets fields libgmprt")) TH_LOG("%s", err);
	EXPECT_EQ(EINVAL, run_child(config_unsized, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "GMPRT_CONFIG_INIT")) TH_LOG("%s", err);
}

/* ---- settings out of range, and what the messages say ----------------- */

static void big_nprocs(void)
{
	struct gmprt_config c = GMPRT_CONFIG_INIT;

	c.nprocs = 1025;
	_exit(-gmprt_main(nothing, NULL, &c));
}

static void small_stack(void)
{
	struct gmprt_config c = GMPRT_CONFIG_INIT;

	c.stack_size = 8 * 1024;
	_exit(-gmprt_main(nothing, NULL, &c));
}

static void small_stack_env(void)
{
	setenv("GMPRT_STACK", "8k", 1);
	_exit(-gmprt_main(nothing, NULL, NULL));
}

static void bad_nprocs_env(void)
{
	setenv("GMPRT_NPROCS", "two", 1);
	_exit(-gmprt_main(nothing, NULL, NULL));
}

static void bad_netpoll_env(void)
{
	setenv("GMPRT_NETPOLL", "epoll", 1);
	_exit(-gmprt_main(nothing, NULL, NULL));
}

static int stack_of_a_g(void *arg)
{
	char big[96 * 1024];	/* more than the default 64 KiB */

	memset(big, 1, sizeof(big));
	return big[sizeof(big) - 1] + 40;
}

static void stack_env_suffix(void)
{
	setenv("GMPRT_STACK", "256k", 1);
	_exit(gmprt_main(stack_of_a_g, NULL, NULL));
}

static void bad_flags(void)
{
	struct gmprt_config c = GMPRT_CONFIG_INIT;

	c.flags = 1U << 7;
	_exit(-gmprt_main(nothing, NULL, &c));
}

TEST(settings_out_of_range_return_einval)
{
	char err[1024];

	EXPECT_EQ(EINVAL, run_child(big_nprocs, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "nprocs 1025 out of range (1..1024")) TH_LOG("%s", err);
	EXPECT_EQ(EINVAL, run_child(small_stack, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "16 KiB at least")) TH_LOG("%s", err);
	EXPECT_EQ(EINVAL, run_child(small_stack_env, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "16 KiB at least")) TH_LOG("%s", err);
	EXPECT_EQ(EINVAL, run_child(bad_nprocs_env, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "bad $GMPRT_NPROCS: 'two'")) TH_LOG("%s", err);
	EXPECT_EQ(EINVAL, run_child(bad_netpoll_env, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "bad $GMPRT_NETPOLL: 'epoll' (thread or park)")) TH_LOG("%s", err);
	EXPECT_EQ(EINVAL, run_child(bad_flags, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "unknown gmprt_config flags 0x80")) TH_LOG("%s", err);
	/* "k" is KiB: a G gets the 96 KiB array it could not have by default. */
	EXPECT_EQ(41, run_child(stack_env_suffix, err, sizeof(err))) TH_LOG("%s", err);
}

/* ---- gmprt_schedtrace --------------------------------------------------- */

static char trace[8192];
static int tr_full, tr_detail, tr_short, tr_tiny;

static int traces(void *arg)
{
	char two[2] = { 'x', 'x' };

	tr_full = gmprt_schedtrace(trace, sizeof(trace), false);
	GCHECK(tr_full > 0 && trace[tr_full] == 0 && (size_t)tr_full == strlen(trace));
	GCHECK(strncmp(trace, "SCHED ", 6) == 0);
	GCHECK(strstr(trace, " gomaxprocs=2 "));
	tr_short = gmprt_schedtrace(two, sizeof(two), false);
	GCHECK(two[1] == 0);
	tr_tiny = gmprt_schedtrace(two, 1, false);
	tr_detail = gmprt_schedtrace(trace, sizeof(trace), true);
	GCHECK(strstr(trace, "\n  P0: status="));
	GCHECK(strstr(trace, "\n  M"));
	return 0;
}

TEST(schedtrace)
{
	char buf[64];

	ASSERT_EQ(-ENODEV, gmprt_schedtrace(buf, sizeof(buf), false));
	ASSERT_EQ(0, rt_run(2, traces, NULL));
	RT_ASSERT_CLEAN();
	EXPECT_LT(0, tr_full);
	EXPECT_LT(tr_full, tr_detail);
	EXPECT_EQ(1, tr_short);
	EXPECT_EQ(-EINVAL, tr_tiny);
}

static void yield_outside(void)
{
	gmprt_yield();
}

static void go_outside(void)
{
	gmprt_go(NULL, NULL);
}

TEST(g_only_calls_outside_a_g_are_fatal)
{
	char err[1024];

	ASSERT_EQ(2, run_child(yield_outside, err, sizeof(err)));
	ASSERT_NE(NULL, strstr(err, "gmprt_yield called from a thread that runs no G: only a G may call it"));
	ASSERT_EQ(2, run_child(go_outside, err, sizeof(err)));
	ASSERT_NE(NULL, strstr(err, "gmprt_go called from a thread that runs no G before gmprt_main() started the runtime"));
	ASSERT_FALSE(gmprt_in_g());
	ASSERT_EQ(0, gmprt_nprocs());
}

static int nprocs_seen;

static int report(void *arg)
{
	nprocs_seen = gmprt_nprocs();
	GCHECK(gmprt_in_g());
	GCHECK(gmprt_goid() == 1);
	return 42;
}

TEST(main_returns_its_value_and_runs_once)
{
	ASSERT_EQ(42, rt_run(3, report, NULL));
	ASSERT_EQ(3, nprocs_seen);
	RT_ASSERT_CLEAN();
	ASSERT_EQ(-EBUSY, rt_run(1, report, NULL));
}

TEST(nprocs_from_the_environment)
{
	setenv("GMPRT_NPROCS", "5", 1);
	ASSERT_EQ(42, gmprt_main(report, NULL, NULL));
	ASSERT_EQ(5, nprocs_seen);
}

TEST(nprocs_defaults_to_online_cpus)
{
	unsetenv("GMPRT_NPROCS");
	ASSERT_EQ(42, gmprt_main(report, NULL, NULL));
	ASSERT_EQ(sysconf(_SC_NPROCESSORS_ONLN), nprocs_seen);
}

/* goids are unique; gmprt_exit ends a G from deep inside. */
#define NG 1000
static uint64_t ids[NG];
static atomic_int after_exit;

static void deep(int n);
static void (*volatile deeper)(int) = deep;	/* a real call chain */

static void deep(int n)
{
	if (n > 0) {
		deeper(n - 1);
	} else {
		gmprt_wg_done(&wg);
		gmprt_exit();
	}
	atomic_fetch_add(&after_exit, 1);
}

static void idg(void *arg)
{
	ids[(long)arg] = gmprt_goid();
	deep(5);
	atomic_fetch_add(&after_exit, 1);
}

static int cmpu64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int goids(void *arg)
{
	long i;

	(void)arg;
	gmprt_wg_add(&wg, NG);
	for (i = 0; i < NG; i++)
		gmprt_go(idg, (void *)i);
	gmprt_wg_wait(&wg);
	qsort(ids, NG, sizeof(ids[0]), cmpu64);
	for (i = 0; i < NG; i++)
		GCHECKF(ids[i] > 1 && (i == 0 || ids[i] != ids[i - 1]),
			"goid %llu at %ld", (unsigned long long)ids[i], i);
	return 0;
}

TEST(goids_unique_and_exit_ends_the_g)
{
	ASSERT_EQ(0, rt_run(2, goids, NULL));
	RT_ASSERT_CLEAN();
	ASSERT_EQ(0, atomic_load(&after_exit));
}

/* gmprt_park / gmprt_ready, and an unlockf that vetoes the park. */
static gmprt_g *sleeper;
static atomic_int woke, step;

static bool publish_self(gmprt_g *g, void *arg)
{
	__atomic_store_n(&sleeper, g, __ATOMIC_RELEASE);
	return true;
}

static void parks(void *arg)
{
	gmprt_park(publish_self, NULL);
	atomic_store(&woke, 1);
	gmprt_wg_done(&wg);
}

static bool veto(gmprt_g *g, void *arg)
{
	atomic_fetch_add(&step, 1);
	return false;
}

static int parkready(void *arg)
{
	gmprt_g *g;

	(void)arg;
	gmprt_park(veto, NULL);		/* returns at once */
	GCHECK(atomic_load(&step) == 1);
	gmprt_wg_add(&wg, 1);
	gmprt_go(parks, NULL);
	while (!(g = __atomic_load_n(&sleeper, __ATOMIC_ACQUIRE)))
		gmprt_yield();
	GCHECK(!atomic_load(&woke));
	gmprt_ready(g);
	gmprt_wg_wait(&wg);
	GCHECK(atomic_load(&woke));
	return 0;
}

TEST(park_and_ready)
{
	ASSERT_EQ(0, rt_run(2, parkready, NULL));
	RT_ASSERT_CLEAN();
}

/* Go's checkdead: main waits for a wait group nobody will finish. */
static int waits_forever(void *arg)
{
	gmprt_waitgroup never = GMPRT_WAITGROUP_INIT;

	gmprt_wg_add(&never, 1);
	gmprt_wg_wait(&never);
	return 0;
}

static void deadlocker(void)
{
	gmprt_main(waits_forever, NULL, NULL);
}

TEST(deadlock_is_fatal)
{
	char err[1024];

	ASSERT_EQ(2, run_child(deadlocker, err, sizeof(err)));
	ASSERT_NE(NULL, strstr(err, "fatal error: all goroutines are asleep - deadlock!"));
}

/* Not a deadlock: every M parks, but a timer will wake a G, and a G in a
 * blocking system call will come back. */
static void naps(void *arg)
{
	gmprt_sleep(400 * 1000 * 1000);
	gmprt_wg_done(&wg);
}

static void reads(void *arg)
{
	int *fds = arg;
	char c;

	GCHECK(GMPRT_SYSCALL(read(fds[0], &c, 1)) == 1);
	gmprt_wg_done(&wg);
}

static void *write_later(void *arg)
{
	int *fds = arg;

	usleep(500 * 1000);
	if (write(fds[1], "x", 1) != 1)
		return NULL;
	return NULL;
}

static int quiet_but_alive(void *arg)
{
	static int fds[2];
	pthread_t t;

	(void)arg;
	GCHECK(pipe(fds) == 0);
	pthread_create(&t, NULL, write_later, fds);
	gmprt_wg_add(&wg, 2);
	gmprt_go(naps, NULL);
	gmprt_go(reads, fds);
	gmprt_wg_wait(&wg);
	pthread_join(t, NULL);
	return 5;
}

TEST(sleeping_or_syscall_is_not_deadlock)
{
	ASSERT_EQ(5, rt_run(2, quiet_but_alive, NULL));
	RT_ASSERT_CLEAN();
}

TEST_HARNESS_MAIN
