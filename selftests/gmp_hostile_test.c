// SPDX-License-Identifier: GPL-2.0
/*
 * A process that scribbles over its own shared pages, or throws random
 * arguments at every ioctl, hurts only itself: no WARN, oops, leak or hang
 * (the runner fails the run on any of those in the kernel log and on a
 * failed rmmod), and the kernel's own counters stay consistent.
 */
#include <pthread.h>
#include "gmp_util.h"
#include "kselftest_harness.h"

FIXTURE(hostile) {
	struct gmp_inst g;
	uint32_t m;
};

FIXTURE_VARIANT(hostile) {
	unsigned int nprocs;
};

FIXTURE_VARIANT_ADD(hostile, nprocs1) { .nprocs = 1 };
FIXTURE_VARIANT_ADD(hostile, nprocs2) { .nprocs = 2 };
FIXTURE_VARIANT_ADD(hostile, nprocs4) { .nprocs = 4 };

/* With handoffs on and sysmon running: the M slots are hostile input too. */
FIXTURE_SETUP(hostile)
{
	ASSERT_EQ(0, gmp_inst_open(&self->g, variant->nprocs, GMP_SETUP_HANDOFF));
	ASSERT_EQ(0, gmp_register(&self->g, &self->m));
	ASSERT_EQ(0, gmp_sysmon_start(&self->g));
}

FIXTURE_TEARDOWN(hostile)
{
	gmp_inst_close(&self->g);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Interesting values more often than uniform ones. */
static uint32_t rnd32(uint64_t *s)
{
	static const uint32_t edge[] = {
		0, 1, 2, 3, 4, 255, 256, 257, 0x7fffffff, 0x80000000,
		0xffffffff, 0xfffffffe, GMP_P_SYSCALL_M(0), GMP_P_SYSCALL_M(1),
	};
	uint64_t r = rnd(s);

	return r & 1 ? edge[(r >> 1) % (sizeof(edge) / sizeof(edge[0]))] :
		       (uint32_t)(r >> 8);
}

struct scribbler {
	struct gmp_inst *g;
	volatile int stop;
	uint64_t seed;
	unsigned long writes;
};

/*
 * Garbage into every byte user space may write: rings, heads, tails,
 * runnext, statuses, ticks, preempt words, m, nmspinning; and the slots of
 * the first Ms (inruntime, p), which the workers are.
 */
static void *scribble(void *arg)
{
	struct scribbler *sc = arg;
	uint32_t words = sc->g->prm.procs.size / 4;
	uint32_t mwords = 8 * sc->g->prm.ms.slot_size / 4;
	uint32_t *w = (uint32_t *)sc->g->procs;
	uint32_t *mw = (uint32_t *)sc->g->ms;

	while (!__atomic_load_n(&sc->stop, __ATOMIC_ACQUIRE)) {
		uint64_t r = rnd(&sc->seed);
		uint32_t i = r % (words + mwords);

		if (i < words)
			__atomic_store_n(&w[i], rnd32(&sc->seed), __ATOMIC_RELAXED);
		else
			__atomic_store_n(&mw[i - words], rnd32(&sc->seed),
					 __ATOMIC_RELAXED);
		if (++sc->writes % 64 == 0)
			usleep(10);
	}
	return NULL;
}

struct worker {
	struct gmp_inst *g;
	volatile int *stop;
	uint64_t seed;
	unsigned long calls;
	int bad;		/* an errno no call may return */
	int bad_case;
};

/*
 * Park (with a short deadline, so garbage can never leave it asleep) and
 * wake, release and acquire, put and get, as a confused runtime would.
 */
static void *work(void *arg)
{
	struct worker *wk = arg;
	struct gmp_inst *g = wk->g;
	uint64_t gs[8];
	uint32_t m, n;
	int ret, p;

	if (gmp_register(g, &m)) {
		wk->bad = -1;
		return NULL;
	}
	while (!__atomic_load_n(wk->stop, __ATOMIC_ACQUIRE)) {
		struct gmp_park out;
		uint64_t r = rnd(&wk->seed);

		switch (r % 6) {
		case 0:
			ret = gmp_park(g, m, (r & 64) ? GMP_PARK_SPINNING |
				       GMP_PARK_DEADLINE : GMP_PARK_DEADLINE,
				       gmp_mono_ns() + 200000, &out);
			break;
		case 1: {
			struct gmp_wake w;

			ret = gmp_wake(g, m, (r >> 8) & (GMP_WAKE_SPINNING |
							  GMP_WAKE_HANDOFF),
				       0, 0, &w);
			if (ret == -EINVAL)	/* handoff without a P */
				ret = 0;
			/*
			 * No idle M: we start no thread, so give it back
			 * (unless another worker's random release did).
			 */
			if (!ret && w.result == GMP_WOKE_NEWM &&
			    gmp_release(g, m, w.p) == -EINVAL)
				ret = 0;
			break;
		}
		case 2:
			ret = gmp_acquire(g, m, GMP_NONE, &p);
			if (ret == -EBUSY)
				ret = 0;
			break;
		case 3:
			ret = gmp_release(g, m, (r >> 8) % g->prm.nprocs);
			if (ret == -EINVAL)
				ret = 0;
			break;
		case 4:
			gs[0] = r | 1;
			ret = gmp_runq_put(g, gs, 1);
			break;
		default:
			ret = gmp_runq_get(g, gs, 8, &n);
			break;
		}
		if (ret && ret != -ESHUTDOWN) {
			wk->bad = ret;
			wk->bad_case = r % 6;
		}
		wk->calls++;
	}
	return NULL;
}

TEST_F_TIMEOUT(hostile, garbage_in_shared_pages, 60)
{
	struct scribbler sc = { .g = &self->g, .seed = 0x9e3779b97f4a7c15ull };
	struct worker wk[3];
	pthread_t st, wt[3];
	char text[8192];
	int i, n = variant->nprocs;

	for (i = 0; i < 3; i++) {
		wk[i] = (struct worker){ .g = &self->g, .stop = &sc.stop,
					 .seed = 12345 + i };
		ASSERT_EQ(0, pthread_create(&wt[i], NULL, work, &wk[i]));
	}
	ASSERT_EQ(0, pthread_create(&st, NULL, scribble, &sc));
	usleep(1500 * 1000);
	__atomic_store_n(&sc.stop, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_join(st, NULL));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, pthread_join(wt[i], NULL));
		EXPECT_EQ(0, wk[i].bad) TH_LOG("worker %d case %d", i,
						wk[i].bad_case);
		EXPECT_LT(0, wk[i].calls);
	}
	TH_LOG("%lu garbage writes, %lu+%lu+%lu calls", sc.writes,
	       wk[0].calls, wk[1].calls, wk[2].calls);
	/* The kernel's own counters are still sane: no M parked, Ps add up. */
	EXPECT_EQ(0, GMP_SCHED_U32(&self->g, nmidle));
	EXPECT_GE(n, GMP_SCHED_U32(&self->g, npidle));
	ASSERT_EQ(0, gmp_schedtrace(&self->g, text, sizeof(text), 1));
	EXPECT_EQ(n, gmp_trace_val(text, "gomaxprocs"));
	EXPECT_EQ(0, gmp_trace_val(text, "idlethreads"));
	/* The mirrored counters are the lengths of the kernel's lists. */
	{
		long idle = 0;
		const char *at = text;

		while ((at = strstr(at, " state=idle")))
			idle++, at++;
		/* (one snapshot: sysmon may be reaping the dead workers) */
		EXPECT_EQ(idle, gmp_trace_val(text, "idleprocs"));
	}
	/* A held P names its M, and that M (alone) names the P. */
	for (i = 0; i < n; i++) {
		char pat[32], *at;
		int pm = -2, held;

		snprintf(pat, sizeof(pat), "  P%d: ", i);
		at = strstr(text, pat);
		ASSERT_NE(NULL, at);
		at = strstr(at, " m=");
		ASSERT_NE(NULL, at);
		pm = atoi(at + 3);
		held = !strncmp(strstr(at, "state=") + 6, "held", 4);
		if (held) {
			char pat2[48];

			/* Its P, or handed over in a note it has yet to take. */
			snprintf(pat, sizeof(pat), "  M%d: p=%d ", pm, i);
			snprintf(pat2, sizeof(pat2), "  M%d: p=-1 nextp=%d ", pm, i);
			EXPECT_TRUE(strstr(text, pat) || strstr(text, pat2))
				TH_LOG("P%d\n%s", i, text);
		} else {
			EXPECT_EQ(-1, pm);
		}
		snprintf(pat, sizeof(pat), ": p=%d ", i);
		at = strstr(text, pat);
		if (at)
			EXPECT_EQ(NULL, strstr(at + 1, pat)) TH_LOG("P%d twice", i);
	}
	/*
	 * Once user space cleans up, the instance works again: the dead
	 * workers' Ps come back (sysmon reaps them) and can be acquired.
	 */
	memset(self->g.procs, 0, self->g.prm.procs.size);
	for (i = 0; i < 8; i++)		/* "in the runtime": keep our Ps */
		*gmp_m_inruntime(&self->g, i) = 1;
	ASSERT_TRUE(GMP_WAIT_UNTIL(GMP_SCHED_U32(&self->g, npidle) == n));
	for (i = 0; i < n; i++) {
		int p;

		ASSERT_EQ(0, gmp_acquire(&self->g, self->m, i, &p));
		ASSERT_EQ(i, p);
		ASSERT_EQ(0, gmp_release(&self->g, self->m, i));
	}
}

/* Random bytes as the argument of every command (never a blocking park). */
TEST_F_TIMEOUT(hostile, random_ioctl_arguments, 60)
{
	static const unsigned long cmds[] = {
		GMP_IOC_SETUP, GMP_IOC_REGISTER, GMP_IOC_UNREGISTER,
		GMP_IOC_PARK, GMP_IOC_WAKE, GMP_IOC_ACQUIRE_P,
		GMP_IOC_RELEASE_P, GMP_IOC_RUNQ_PUT, GMP_IOC_RUNQ_GET,
		GMP_IOC_SCHEDTRACE,
	};
	uint64_t seed = 0xfeedface ^ variant->nprocs, gs[64];
	union {
		uint64_t raw[16];
		uint32_t w[32];
		struct gmp_park park;
		struct gmp_runq runq;
		struct gmp_trace trace;
	} u;
	char *scratch = malloc(1 << 16);
	unsigned long i, ok = 0;
	uint32_t m = self->m;

	ASSERT_NE(NULL, scratch);
	for (i = 0; i < 20000; i++) {
		uint64_t r = rnd(&seed);
		unsigned long cmd = cmds[r % (sizeof(cmds) / sizeof(cmds[0]))];
		unsigned int k;
		int ret;

		for (k = 0; k < 32; k++)
			u.w[k] = rnd32(&seed);
		/* Often mostly zero, so that calls get past the checks. */
		if (r & 0x800) {
			for (k = 2; k < 32; k++)
				u.w[k] = 0;
			u.w[1] &= 0xf;
		}
		/* Often a valid M, so that calls get past the id check. */
		if (r & 0x100)
			u.w[0] = m;
		switch (cmd) {
		case GMP_IOC_PARK:	/* never sleep: deadline in the past */
			u.park.flags |= GMP_PARK_DEADLINE;
			u.park.deadline = r & 0x200 ? 1 : ~0ull;
			if (!(r & 0x200))
				u.park.flags |= 0x80;
			break;
		case GMP_IOC_RUNQ_PUT:
		case GMP_IOC_RUNQ_GET:
			if (r & 0x400) {
				for (k = 0; k < 64; k++)
					gs[k] = rnd(&seed);
				u.runq.gs = (uintptr_t)gs;
				u.runq.n %= 65;
			}
			break;
		case GMP_IOC_SCHEDTRACE:
			if (r & 0x400) {
				u.trace.buf = (uintptr_t)scratch;
				u.trace.len %= 1 << 16;
			}
			break;
		case GMP_IOC_UNREGISTER:
			if (u.w[0] == m)
				continue;	/* keep our M */
			break;
		}
		ret = gmp_ioctl(self->g.fd, cmd, &u);
		ok += !ret;
		EXPECT_NE(-ENOTTY, ret);
		EXPECT_NE(-ESHUTDOWN, ret);
		if (ret == -EFAULT || ret == -EINVAL || ret == -EPERM ||
		    ret == -EBUSY || ret == -EAGAIN || ret == -ENOSPC || !ret)
			continue;
		EXPECT_EQ(0, ret) TH_LOG("cmd %#lx", cmd);
	}
	TH_LOG("%lu of 20000 calls succeeded", ok);
	free(scratch);
}

TEST_HARNESS_MAIN
