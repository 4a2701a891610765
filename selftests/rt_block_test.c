// SPDX-License-Identifier: GPL-2.0
/*
 * Blocking without wrappers (kmod/block.c): a G that blocks in plain libc
 * (read, nanosleep, pthread_mutex_lock, a page fault on userfaultfd memory)
 * or loops without calling the runtime does not keep its P: gmp.ko hands
 * the P to another M and the other Gs run.  Public API only, across nprocs
 * 1, 2 and 4.  Every wait is a liveness bound (a count reached, or the
 * harness's timeout), never a timing threshold: without block detection
 * each of these hangs or counts nothing.
 */
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "rt_util.h"

RT_NPROCS_FIXTURE;

static gmprt_waitgroup wg = GMPRT_WAITGROUP_INIT;

static void plain_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000 };

	while (nanosleep(&ts, &ts))
		;
}

/* ---- a pipe pair with no wrapper -------------------------------------- */

static int pfd[2];
static char got;

static void pipe_reader(void *arg)
{
	char c = 0;

	(void)arg;
	GCHECK(read(pfd[0], &c, 1) == 1);	/* blocks: no GMPRT_SYSCALL */
	got = c;
	gmprt_wg_done(&wg);
}

static void pipe_writer(void *arg)
{
	(void)arg;
	GCHECK(write(pfd[1], "y", 1) == 1);
	gmprt_wg_done(&wg);
}

static int pipe_pair(void *arg)
{
	GCHECK(pipe(pfd) == 0);
	gmprt_wg_add(&wg, 2);
	gmprt_go(pipe_reader, NULL);
	gmprt_yield();			/* the reader blocks first */
	gmprt_go(pipe_writer, NULL);
	gmprt_wg_wait(&wg);
	GCHECK(got == 'y');
	/* With more Ps the writer may have run elsewhere, sooner. */
	if ((long)arg == 1)
		GCHECKF(rt_kstat("blockhandoff") >= 1, "blockhandoff=%ld",
			rt_kstat("blockhandoff"));
	close(pfd[0]);
	close(pfd[1]);
	return 0;
}

/* At one P the writer runs only if the reader's P was handed off. */
TEST_F(rt, plain_pipe_read_and_write)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, pipe_pair, (void *)(long)variant->nprocs));
	RT_ASSERT_CLEAN();
}

/* ---- plain nanosleeps overlap ----------------------------------------- */

#define NSLEEPERS 6
static atomic_int in_sleep, peak;

static void sleeper(void *arg)
{
	int now = atomic_fetch_add(&in_sleep, 1) + 1, old = atomic_load(&peak);

	(void)arg;
	while (now > old && !atomic_compare_exchange_weak(&peak, &old, now))
		;
	plain_sleep_ms(300);
	atomic_fetch_sub(&in_sleep, 1);
	gmprt_wg_done(&wg);
}

static int sleepers(void *arg)
{
	int i;

	(void)arg;
	gmprt_wg_add(&wg, NSLEEPERS);
	for (i = 0; i < NSLEEPERS; i++)
		gmprt_go(sleeper, NULL);
	gmprt_wg_wait(&wg);
	/* All were asleep at once: each sleep freed its P for the next. */
	GCHECKF(atomic_load(&peak) == NSLEEPERS, "peak %d of %d",
		atomic_load(&peak), NSLEEPERS);
	return 0;
}

TEST_F(rt, plain_nanosleeps_overlap)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, sleepers, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- Gs spawned just before a plain sleep run during it --------------- */

static atomic_int main_asleep, ran_during;

static void note_run(void *arg)
{
	(void)arg;
	if (atomic_load(&main_asleep))
		atomic_fetch_add(&ran_during, 1);
	gmprt_wg_done(&wg);
}

static int spawn_then_sleep(void *arg)
{
	int i;

	(void)arg;
	gmprt_wg_add(&wg, 10);
	/* Before the spawns: with more Ps, some may run before the sleep. */
	atomic_store(&main_asleep, 1);
	for (i = 0; i < 10; i++)
		gmprt_go(note_run, NULL);
	plain_sleep_ms(500);
	atomic_store(&main_asleep, 0);
	gmprt_wg_wait(&wg);
	GCHECKF(atomic_load(&ran_during) == 10, "%d of 10 ran while main slept",
		atomic_load(&ran_during));
	return 0;
}

TEST_F(rt, spawned_gs_run_during_a_plain_sleep)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, spawn_then_sleep, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- pthread_mutex_lock held by a plain thread ------------------------ */

static pthread_mutex_t pmu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int other_ran, holder_locked;

/* A plain pthread: holds the mutex until a G other than the locker ran. */
static void *holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pmu);
	atomic_store(&holder_locked, 1);
	while (!atomic_load(&other_ran))
		plain_sleep_ms(1);
	pthread_mutex_unlock(&pmu);
	return NULL;
}

static void locker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pmu);	/* blocks in the kernel (futex) */
	pthread_mutex_unlock(&pmu);
	gmprt_wg_done(&wg);
}

static void other_g(void *arg)
{
	(void)arg;
	atomic_store(&other_ran, 1);
	gmprt_wg_done(&wg);
}

static int mutex_held_by_a_thread(void *arg)
{
	pthread_t t;

	(void)arg;
	GCHECK(pthread_create(&t, NULL, holder, NULL) == 0);
	while (!atomic_load(&holder_locked))
		gmprt_yield();
	gmprt_wg_add(&wg, 2);
	gmprt_go(locker, NULL);
	gmprt_yield();			/* the locker blocks first */
	gmprt_go(other_g, NULL);
	gmprt_wg_wait(&wg);
	pthread_join(t, NULL);
	return 0;
}

TEST_F(rt, pthread_mutex_held_by_a_plain_thread)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, mutex_held_by_a_thread, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- a page fault that the test resolves (userfaultfd) ---------------- */

static int uffd;
static char *upage;
static long pagesz;
static atomic_int fault_ran;

/* Resolves the fault only once another G has run meanwhile. */
static void *fault_handler(void *arg)
{
	struct pollfd p = { .fd = uffd, .events = POLLIN };
	struct uffd_msg msg;
	struct uffdio_copy cp;
	char *src = aligned_alloc(pagesz, pagesz);

	(void)arg;
	memset(src, 0x5a, pagesz);
	while (poll(&p, 1, -1) != 1)
		;
	if (read(uffd, &msg, sizeof(msg)) != sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT)
		return NULL;
	while (!atomic_load(&fault_ran))
		plain_sleep_ms(1);
	cp = (struct uffdio_copy){ .dst = (uintptr_t)upage, .src = (uintptr_t)src,
				   .len = pagesz };
	ioctl(uffd, UFFDIO_COPY, &cp);
	free(src);
	return NULL;
}

static void toucher(void *arg)
{
	(void)arg;
	GCHECK(*(volatile char *)upage == 0x5a);	/* faults, and waits */
	gmprt_wg_done(&wg);
}

static void fault_other(void *arg)
{
	(void)arg;
	atomic_store(&fault_ran, 1);
	gmprt_wg_done(&wg);
}

static int page_fault(void *arg)
{
	pthread_t t;

	(void)arg;
	GCHECK(pthread_create(&t, NULL, fault_handler, NULL) == 0);
	gmprt_wg_add(&wg, 2);
	gmprt_go(toucher, NULL);
	gmprt_yield();			/* the toucher faults first */
	gmprt_go(fault_other, NULL);
	gmprt_wg_wait(&wg);
	pthread_join(t, NULL);
	return 0;
}

TEST_F(rt, page_fault_on_userfaultfd_memory)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;

	pagesz = sysconf(_SC_PAGESIZE);
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0)
		SKIP(return, "userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	upage = mmap(NULL, pagesz, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, upage);
	reg = (struct uffdio_register){ .range = { (uintptr_t)upage, pagesz },
					.mode = UFFDIO_REGISTER_MODE_MISSING };
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));
	ASSERT_EQ(0, rt_run(variant->nprocs, page_fault, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- loops that never call the runtime -------------------------------- */

static atomic_int ticks, stop_spinning;

static void ticker(void *arg)
{
	(void)arg;
	while (atomic_load(&ticks) < 20) {
		gmprt_sleep(10 * 1000 * 1000);
		atomic_fetch_add(&ticks, 1);
	}
	gmprt_wg_done(&wg);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * One P: a G that loops with no runtime call lets a 10 ms ticker tick: its
 * P goes to another M after 10 ms while it keeps looping on its thread.
 */
static int spin_with_ticker(void *arg)
{
	int64_t end = mono_ns() + 20LL * 1000000000;	/* liveness only */

	(void)arg;
	gmprt_wg_add(&wg, 1);
	gmprt_go(ticker, NULL);
	gmprt_yield();			/* the ticker starts sleeping */
	while (atomic_load(&ticks) < 20 && mono_ns() < end)
		;			/* no runtime call */
	GCHECKF(atomic_load(&ticks) >= 20, "%d ticks while main spun",
		atomic_load(&ticks));
	gmprt_wg_wait(&wg);
	GCHECKF(rt_kstat("preempthandoff") >= 1, "preempthandoff=%ld",
		rt_kstat("preempthandoff"));
	return 0;
}

TEST_F_TIMEOUT(rt, loop_without_runtime_calls_lets_a_ticker_run, 60)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, spin_with_ticker, NULL));
	RT_ASSERT_CLEAN();
}

#define NSPIN 4
static atomic_long spun[NSPIN];

static void spinner(void *arg)
{
	long i = (long)arg;

	while (!atomic_load(&stop_spinning))
		atomic_fetch_add(&spun[i], 1);	/* no runtime call */
	gmprt_wg_done(&wg);
}

/* Twice as many spinners as Ps: all progress, and main's sleep ends. */
static int spinners(void *arg)
{
	long i;

	(void)arg;
	gmprt_wg_add(&wg, NSPIN);
	for (i = 0; i < NSPIN; i++)
		gmprt_go(spinner, (void *)i);
	gmprt_sleep(500 * 1000 * 1000);
	/* Each had a turn: wait (liveness only) for the last to start. */
	for (i = 0; i < NSPIN; i++)
		while (!atomic_load(&spun[i]))
			gmprt_sleep(10 * 1000 * 1000);
	atomic_store(&stop_spinning, 1);
	gmprt_wg_wait(&wg);
	return 0;
}

TEST_F_TIMEOUT(rt, more_spinners_than_ps_all_progress, 60)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, spinners, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- errno survives the handoff and the way back ---------------------- */

/*
 * errno is *__errno_location(), which the compiler may compute once per
 * function: across a call that can move the G to another thread, it must
 * be read afresh (docs/runtime.md), as these out-of-line helpers do.
 */
static __attribute__((noipa)) int get_errno(void)
{
	return errno;
}

static __attribute__((noipa)) void set_errno(int e)
{
	errno = e;
}

static void errno_blocked(void *arg)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 100 * 1000 };
	int sv[2];
	char c;

	(void)arg;
	GCHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	GCHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
	set_errno(0);
	/* Blocks 100 ms (its P goes), then fails with EAGAIN. */
	GCHECK(read(sv[0], &c, 1) == -1);
	GCHECKF(get_errno() == EAGAIN, "errno %d after the read", get_errno());
	/* The runtime call finds the P gone, may move the G: errno stays. */
	gmprt_yield();
	GCHECKF(get_errno() == EAGAIN, "errno %d after the yield", get_errno());
	set_errno(4321);
	plain_sleep_ms(50);
	gmprt_go(note_run, NULL);
	GCHECKF(get_errno() == 4321, "errno %d after the spawn", get_errno());
	close(sv[0]);
	close(sv[1]);
	gmprt_wg_done(&wg);
}

static int errno_paths(void *arg)
{
	int i;

	(void)arg;
	gmprt_wg_add(&wg, 8);
	for (i = 0; i < 4; i++)
		gmprt_go(errno_blocked, NULL);
	gmprt_wg_wait(&wg);
	return 0;
}

TEST_F(rt, errno_survives_a_handoff)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, errno_paths, NULL));
	RT_ASSERT_CLEAN();
}


/* ---- a stress of plain blocking calls, yields, spawns, channels -------- */

/*
 * For STRESS_S seconds per nprocs, Gs do at random: plain nanosleep, a
 * pthread mutex shared with the others, a socketpair round trip, a
 * yield, a buffered channel send and receive, a spawn.  Every G marks
 * itself done exactly once (none lost, none run twice); a plain thread
 * checks the kernel's view all along: every held P names an M that names
 * it back, and no M holds two Ps.  The runtime itself checks at every
 * runtime call that no other M uses its P (rt_enter's owner check).
 */
#define STRESS_S	10
#define STRESS_MAXG	20000

static unsigned char *stress_done;
static atomic_int stress_next, stress_stop, stress_bad;
static pthread_mutex_t stress_mu = PTHREAD_MUTEX_INITIALIZER;
static gmprt_chan *stress_ch;
static char stress_why[200];

static uint32_t xs(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void stress_g(void *arg);

static void stress_spawn(void)
{
	int id = atomic_fetch_add(&stress_next, 1);

	if (id >= STRESS_MAXG) {
		atomic_fetch_sub(&stress_next, 1);
		return;
	}
	gmprt_wg_add(&wg, 1);
	GCHECK(gmprt_go(stress_g, (void *)(long)id) == 0);
}

static void stress_g(void *arg)
{
	long id = (long)arg;
	uint32_t r = 2654435761u * (uint32_t)(id + 1);
	int i, n = 1 + xs(&r) % 16;

	for (i = 0; i < n && !atomic_load(&stress_stop); i++) {
		switch (xs(&r) % 7) {
		case 0:
			plain_sleep_ms(0);
			{
				struct timespec ts = { 0, (xs(&r) % 300) * 1000 };

				nanosleep(&ts, NULL);
			}
			break;
		case 1:
			pthread_mutex_lock(&stress_mu);
			if (xs(&r) % 4 == 0) {
				struct timespec ts = { 0, 100 * 1000 };

				nanosleep(&ts, NULL);	/* block holding it */
			}
			pthread_mutex_unlock(&stress_mu);
			break;
		case 2: {
			int sv[2];
			char c = 'x';

			if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
				GCHECK(write(sv[0], &c, 1) == 1);
				GCHECK(read(sv[1], &c, 1) == 1);
				close(sv[0]);
				close(sv[1]);
			}
			break;
		}
		case 3:
			gmprt_yield();
			break;
		case 4: {
			long v = id;

			if (gmprt_chan_trysend(stress_ch, &v) == 0)
				GCHECK(gmprt_chan_recv_timeout(stress_ch, &v, 1000000) != -EPIPE);
			break;
		}
		case 5:
			stress_spawn();
			break;
		default: {
			volatile long k;

			for (k = 0; k < 20000; k++)
				;	/* a little work, no call */
		}
		}
	}
	if (stress_done[id]++ != 0)
		atomic_fetch_add(&stress_bad, 1);
	gmprt_wg_done(&wg);
}

/* The kernel's view: each held P's M names it, and no M holds two Ps. */
static int stress_check_trace(void)
{
	static char text[1 << 16];
	int held[1024], n = 0, i;
	const char *at;

	if (gmprt_schedtrace(text, sizeof(text), true) < 0)
		return 0;
	for (at = text; (at = strstr(at, "\n  P")); at++) {
		int pid = atoi(at + 4), m;
		const char *mm = strstr(at, " m="), *st = strstr(at, " state=");

		if (!mm || !st)
			continue;
		m = atoi(mm + 3);
		if (!strncmp(st + 7, "held", 4)) {
			char pat[48], pat2[48];

			snprintf(pat, sizeof(pat), "\n  M%d: p=%d ", m, pid);
			snprintf(pat2, sizeof(pat2), "\n  M%d: p=-1 nextp=%d ", m, pid);
			if (!strstr(text, pat) && !strstr(text, pat2)) {
				snprintf(stress_why, sizeof(stress_why),
					 "P%d held by M%d, which does not name it", pid, m);
				return -1;
			}
			held[n++] = m;
		}
	}
	for (i = 0; i < n; i++)
		for (int j = 0; j < i; j++)
			if (held[i] == held[j]) {
				snprintf(stress_why, sizeof(stress_why),
					 "M%d holds two Ps", held[i]);
				return -1;
			}
	return 0;
}

static void *stress_monitor(void *arg)
{
	(void)arg;
	while (!atomic_load(&stress_stop)) {
		if (stress_check_trace())
			atomic_fetch_add(&stress_bad, 1);
		plain_sleep_ms(20);
	}
	return NULL;
}

static int stress(void *arg)
{
	int64_t end = mono_ns() + STRESS_S * 1000000000LL;
	pthread_t mon;
	int i;

	(void)arg;
	stress_done = calloc(STRESS_MAXG, 1);
	stress_ch = gmprt_chan_make(sizeof(long), 8);
	GCHECK(pthread_create(&mon, NULL, stress_monitor, NULL) == 0);
	while (mono_ns() < end) {
		for (i = 0; i < 20; i++)
			stress_spawn();
		gmprt_sleep(5 * 1000 * 1000);
	}
	atomic_store(&stress_stop, 1);
	gmprt_wg_wait(&wg);
	pthread_join(mon, NULL);
	GCHECKF(!atomic_load(&stress_bad), "%d bad: %s", atomic_load(&stress_bad),
		stress_why);
	for (i = 0; i < atomic_load(&stress_next); i++)
		GCHECKF(stress_done[i] == 1, "G %d ran %d times", i, stress_done[i]);
	return atomic_load(&stress_next);
}

TEST_F_TIMEOUT(rt, stress_of_plain_blocking, 120)
{
	int n = rt_run(variant->nprocs, stress, NULL);

	TH_LOG("%d Gs, blocks %ld, block handoffs %ld, preempt handoffs %ld",
	       n, rt_kstat("block"), rt_kstat("blockhandoff"),
	       rt_kstat("preempthandoff"));
	RT_ASSERT_CLEAN();
	ASSERT_LT(100, n);
}

/* ---- bounded: Gs blocked at once in plain calls, threads made ---------- */

/* 1000, or a tenth at a reduced volume (vm_volume()) */
static int NBLOCKED = 1000;

static int bfd[2];

static void blocked_reader(void *arg)
{
	char c;

	(void)arg;
	GCHECK(read(bfd[0], &c, 1) == 1);	/* plain: a thread each, no more */
	gmprt_wg_done(&wg);
}

static long threads_now(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	long n = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Threads:", 8))
			n = atol(line + 8);
	if (f)
		fclose(f);
	return n;
}

static int many_blocked(void *arg)
{
	long most = 0, t, base = threads_now();
	int i;

	(void)arg;
	GCHECK(pipe(bfd) == 0);
	gmprt_wg_add(&wg, NBLOCKED);
	for (i = 0; i < NBLOCKED; i++)
		gmprt_go(blocked_reader, NULL);
	/* Every reader gets a thread of its own: wait until they all block. */
	while (rt_kstat("blockhandoff") < NBLOCKED - 10)
		gmprt_sleep(20 * 1000 * 1000);
	t = threads_now();
	most = t > most ? t : most;
	for (i = 0; i < NBLOCKED; i++)
		GCHECK(write(bfd[1], "x", 1) == 1);
	gmprt_wg_wait(&wg);
	/* About one thread per blocked G, plus the Ps' and the runtime's own. */
	GCHECKF(most <= base + NBLOCKED + 16, "%ld threads for %d blocked Gs (base %ld)",
		most, NBLOCKED, base);
	close(bfd[0]);
	close(bfd[1]);
	return (int)(most - base);
}


TEST_F_TIMEOUT(rt, a_thousand_blocked_gs_a_thousand_threads, 120)
{
	int extra;

	NBLOCKED = vm_volume(NBLOCKED);
	extra = rt_run(variant->nprocs, many_blocked, NULL);

	TH_LOG("%d Gs blocked in plain reads: %d threads more than before", NBLOCKED, extra);
	RT_ASSERT_CLEAN();
}

/*
 * ---- spare Ms exit ------------------------------------------------------
 * A storm of plain blocks leaves an M for each blocked G; when they come
 * back, the Ms beyond one per P exit once idle (proc.c, "Spare Ms exit"):
 * the process goes back to nprocs + 4 threads (the Ps' Ms, main,
 * template, sysmon, the poller).  Three storms in a row: the Ms made after
 * exits (which reuse exited Ms' structs) block, hand off and exit as the
 * first ones did.  Waits are liveness bounds (the harness's timeout).
 */
#define NSTORM 64

static int spare_ms(void *arg)
{
	int nprocs = (int)(long)arg, round, i;
	long most, t = 0, handoffs;

	for (round = 0; round < 3; round++) {
		GCHECK(pipe(bfd) == 0);
		handoffs = rt_kstat("blockhandoff");
		gmprt_wg_add(&wg, NSTORM);
		for (i = 0; i < NSTORM; i++)
			gmprt_go(blocked_reader, NULL);
		while (rt_kstat("blockhandoff") - handoffs < NSTORM - 10)
			gmprt_sleep(20 * 1000 * 1000);
		most = threads_now();
		for (i = 0; i < NSTORM; i++)
			GCHECK(write(bfd[1], "x", 1) == 1);
		gmprt_wg_wait(&wg);
		close(bfd[0]);
		close(bfd[1]);
		GCHECKF(most > nprocs + 4 + NSTORM / 2, "round %d: only %ld threads in the storm",
			round, most);
		for (i = 0; i < 3000 && (t = threads_now()) > nprocs + 4; i++)
			gmprt_sleep(20 * 1000 * 1000);
		GCHECKF(t <= nprocs + 4, "round %d: %ld threads left after the storm (%ld at its most)",
			round, t, most);
		fprintf(stderr, "# round %d: %ld threads in the storm, %ld after it\n", round, most, t);
	}
	return 0;
}

TEST_F_TIMEOUT(rt, spare_ms_exit_after_a_block_storm, 180)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, spare_ms, (void *)(long)variant->nprocs));
	RT_ASSERT_CLEAN();
}

/* ---- short blocks cause no handoff ------------------------------------ */

static long param_read(const char *name)
{
	char path[128], buf[32] = { 0 };
	int fd;

	snprintf(path, sizeof(path), "/sys/module/gmp/parameters/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
		return -1;
	close(fd);
	return atol(buf);
}

static int param_write(const char *name, long v)
{
	char path[128], buf[32];
	int fd, n, ok;

	snprintf(path, sizeof(path), "/sys/module/gmp/parameters/%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	n = snprintf(buf, sizeof(buf), "%ld\n", v);
	ok = write(fd, buf, n) == n;
	close(fd);
	return ok ? 0 : -1;
}

static int short_blocks(void *arg)
{
	long before = rt_kstat("blockhandoff"), blocks = rt_kstat("block");
	char *mem;
	int i;

	(void)arg;
	/*
	 * 200 blocks of about 1 ms each: far shorter than the 1 s grace.  The
	 * yields keep the G's time slices short: one that ran 10 ms would
	 * lose its P to preemption (and then block with no P to count).
	 */
	for (i = 0; i < 200; i++) {
		plain_sleep_ms(1);
		gmprt_yield();
	}
	/* And page faults on fresh memory: they do not even sleep. */
	mem = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	GCHECK(mem != MAP_FAILED);
	for (i = 0; i < (16 << 20); i += 4096)
		mem[i] = 1;
	munmap(mem, 16 << 20);
	blocks = rt_kstat("block") - blocks;
	GCHECKF(rt_kstat("blockhandoff") == before, "%ld handoffs for %ld blocks",
		rt_kstat("blockhandoff") - before, blocks);
	/* (A block while the M had no P, after a preemption, is not one.) */
	GCHECKF(blocks >= 100, "only %ld blocks seen", blocks);
	return 0;
}

TEST(short_blocks_cause_no_handoff)
{
	long grace = param_read("block_grace_us");

	ASSERT_LT(0, grace);
	ASSERT_EQ(0, param_write("block_grace_us", 1000000));
	EXPECT_EQ(0, rt_run(1, short_blocks, NULL));
	ASSERT_EQ(0, param_write("block_grace_us", grace));
	RT_ASSERT_CLEAN();
}

TEST_HARNESS_MAIN
