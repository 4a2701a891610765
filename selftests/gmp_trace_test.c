// SPDX-License-Identifier: GPL-2.0
/*
 * Introspection: GMP_IOC_SCHEDTRACE and /sys/kernel/debug/gmp/<instance>/,
 * parsed and checked against a state the test builds and knows: Ps held
 * and idle, Ms parked, the spinning count, the global queue, ring lengths.
 */
#include <pthread.h>
#include "gmp_util.h"
#include "kselftest_harness.h"

FIXTURE(trace) {
	struct gmp_inst g;
	uint32_t m;
	struct gmp_parker pk[2];
};

FIXTURE_VARIANT(trace) {
	unsigned int nprocs;
};

FIXTURE_VARIANT_ADD(trace, nprocs1) { .nprocs = 1 };
FIXTURE_VARIANT_ADD(trace, nprocs2) { .nprocs = 2 };
FIXTURE_VARIANT_ADD(trace, nprocs4) { .nprocs = 4 };

/*
 * Both parked Ms' threads asleep as block detection sees them (state=sleep
 * is written at their switch out, a moment after they joined the idle
 * list): how many parked Ms the detail text shows asleep.
 */
static int parked_asleep(struct gmp_inst *g)
{
	char text[8192];
	const char *at = text;
	int n = 0;

	if (gmp_schedtrace(g, text, sizeof(text), 1))
		return -1;
	while ((at = strstr(at, " parked=1 locked=0 spinning=0 note=0 state=sleep\n"))) {
		n++;
		at++;
	}
	return n;
}

/*
 * The known state: main's M holds P0 with 3 Gs on its ring and runnext set,
 * P n-1 (if not P0) has 2 Gs on its ring, two Ms are parked, nmspinning is
 * 1, the global queue holds 7 Gs.
 */
FIXTURE_SETUP(trace)
{
	uint64_t gs[7] = { 1, 2, 3, 4, 5, 6, 7 };
	int i, p, n = variant->nprocs;

	ASSERT_EQ(0, gmp_inst_open(&self->g, n, 0));
	ASSERT_EQ(0, gmp_register(&self->g, &self->m));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, gmp_parker_start(&self->pk[i], &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(GMP_SCHED_U32(&self->g, nmidle) == 2));
	ASSERT_TRUE(GMP_WAIT_UNTIL(parked_asleep(&self->g) == 2));
	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, 0, &p));
	ASSERT_EQ(0, p);
	for (i = 0; i < 3; i++)
		gmp_ring_put(&self->g, 0, 0x100 + i);
	*GMP_P_FIELD(&self->g, 0, runnext, uint64_t) = 0x200;
	if (n > 1) {
		gmp_ring_put(&self->g, n - 1, 0x300);
		gmp_ring_put(&self->g, n - 1, 0x301);
	}
	*gmp_nmspinning(&self->g) = 1;
	ASSERT_EQ(0, gmp_runq_put(&self->g, gs, 7));
}

FIXTURE_TEARDOWN(trace)
{
	gmp_inst_close(&self->g);	/* parked Ms wake with ESHUTDOWN */
	gmp_parker_join(&self->pk[0]);
	gmp_parker_join(&self->pk[1]);
}

static void check_first_line(struct __test_metadata *_metadata, const char *t,
			     int n, int detail)
{
	unsigned long ms;
	int gomaxprocs, idle, threads, spinning, idlethreads, runq, used = 0;

	ASSERT_EQ(7, sscanf(t, "SCHED %lums: gomaxprocs=%d idleprocs=%d threads=%d spinningthreads=%d idlethreads=%d runqueue=%d%n",
			    &ms, &gomaxprocs, &idle, &threads, &spinning,
			    &idlethreads, &runq, &used)) TH_LOG("%s", t);
	EXPECT_EQ(n, gomaxprocs);
	EXPECT_EQ(n - 1, idle);
	EXPECT_EQ(3, threads);
	EXPECT_EQ(1, spinning);
	EXPECT_EQ(2, idlethreads);
	EXPECT_EQ(7, runq);
	if (!detail) {
		/* Per-P ring lengths, Go's [a b c]. */
		char want[64], *w = want;
		int i;

		w += sprintf(w, " [");
		for (i = 0; i < n; i++)
			w += sprintf(w, i ? " %d" : "%d",
				     i == 0 ? 3 : i == n - 1 ? 2 : 0);
		sprintf(w, "]\n");
		EXPECT_STREQ(want, t + used);
	} else {
		EXPECT_EQ(0, strncmp(t + used, " syscallprocs=0 sysmon=0 sysmonwait=0 newmwaiters=0 dead=0\n", 59))
			TH_LOG("%s", t + used);
	}
}

TEST_F(trace, schedtrace_line)
{
	char text[4096];

	ASSERT_EQ(0, gmp_schedtrace(&self->g, text, sizeof(text), 0));
	check_first_line(_metadata, text, variant->nprocs, 0);
	/* One line, nothing else. */
	EXPECT_EQ(strlen(text) - 1, strchr(text, '\n') - text);
}

static void check_detail(struct __test_metadata *_metadata, const char *text,
			 struct gmp_inst *g, uint32_t main_m,
			 struct gmp_parker *pk, int n)
{
	char want[256];
	int i;

	check_first_line(_metadata, text, n, 1);
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof(want),
			 "  P%d: status=%u(%s) schedtick=0 syscalltick=0 m=%d runqsize=%d runnext=%d preempt=",
			 i, i == 0 ? GMP_P_RUNNING : GMP_P_IDLE,
			 i == 0 ? "running" : "idle",
			 i == 0 ? (int)main_m : -1,
			 i == 0 ? 3 : i == n - 1 ? 2 : 0, i == 0);
		EXPECT_NE(NULL, strstr(text, want)) TH_LOG("want %s\n%s", want, text);
		snprintf(want, sizeof(want), "P%d:", i);
		{
			const char *at = strstr(text, want);
			const char *state = at ? strstr(at, "state=") : NULL;

			ASSERT_NE(NULL, state);
			EXPECT_EQ(0, strncmp(state, i == 0 ? "state=held" :
					     "state=idle", 10));
		}
	}
	snprintf(want, sizeof(want), "  M%u: p=0 nextp=-1 tid=%d parked=0 ",
		 main_m, gmp_gettid());
	EXPECT_NE(NULL, strstr(text, want)) TH_LOG("want %s\n%s", want, text);
	for (i = 0; i < 2; i++) {
		snprintf(want, sizeof(want),
			 "  M%u: p=-1 nextp=-1 tid=%d parked=1 locked=0 spinning=0 note=0 state=sleep\n",
			 pk[i].m, pk[i].tid);
		EXPECT_NE(NULL, strstr(text, want)) TH_LOG("want %s\n%s", want, text);
	}
	EXPECT_NE(NULL, strstr(text, "  stats: park=2 wake=0 acquire=1 release=0 runqput=1 runqget=0 "));
}

TEST_F(trace, schedtrace_detail)
{
	char text[8192];

	ASSERT_EQ(0, gmp_schedtrace(&self->g, text, sizeof(text), 1));
	check_detail(_metadata, text, &self->g, self->m, self->pk,
		     variant->nprocs);
}

TEST_F(trace, debugfs_matches)
{
	char path[64], text[8192];
	ssize_t len, k;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/debug/gmp/%u/sched",
		 self->g.prm.instance);
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	for (len = 0; (k = read(fd, text + len, sizeof(text) - 1 - len)) > 0;)
		len += k;
	close(fd);
	text[len] = 0;
	check_detail(_metadata, text, &self->g, self->m, self->pk,
		     variant->nprocs);
	/* The owner file names this process. */
	snprintf(path, sizeof(path), "/sys/kernel/debug/gmp/%u/owner",
		 self->g.prm.instance);
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	len = read(fd, text, sizeof(text) - 1);
	close(fd);
	ASSERT_LT(0, len);
	text[len] = 0;
	EXPECT_EQ(getpid(), strtol(text, NULL, 10));
}

/* A short buffer gets the text cut off, never overrun. */
TEST_F(trace, schedtrace_truncates)
{
	char full[4096], buf[64];
	struct gmp_trace t;
	int len;

	ASSERT_EQ(0, gmp_schedtrace(&self->g, full, sizeof(full), 0));
	len = strlen(full);
	memset(full, 0, sizeof(full));
	memset(buf, 'Z', sizeof(buf));
	t = (struct gmp_trace){ .buf = (uintptr_t)buf, .len = 10 };
	ASSERT_EQ(0, gmp_ioctl(self->g.fd, GMP_IOC_SCHEDTRACE, &t));
	EXPECT_EQ(10, t.len);
	EXPECT_EQ(0, memcmp(buf, "SCHED ", 6));	/* then the uptime in ms */
	EXPECT_EQ('Z', buf[10]);
	t = (struct gmp_trace){ .buf = (uintptr_t)buf, .len = 1 };
	ASSERT_EQ(0, gmp_ioctl(self->g.fd, GMP_IOC_SCHEDTRACE, &t));
	EXPECT_EQ(1, t.len);
	EXPECT_EQ('S', buf[0]);
	/* Room to spare: exactly the text, no NUL counted. */
	t = (struct gmp_trace){ .buf = (uintptr_t)full, .len = sizeof(full) };
	ASSERT_EQ(0, gmp_ioctl(self->g.fd, GMP_IOC_SCHEDTRACE, &t));
	EXPECT_LE(len, t.len);	/* the uptime may have grown a digit */
	EXPECT_GE(len + 1, t.len);
	EXPECT_EQ('\n', full[t.len - 1]);
	/* A huge length is capped, not an error. */
	{
		size_t big = 4u << 20;
		char *b = malloc(big);

		ASSERT_NE(NULL, b);
		t = (struct gmp_trace){ .buf = (uintptr_t)b, .len = big };
		ASSERT_EQ(0, gmp_ioctl(self->g.fd, GMP_IOC_SCHEDTRACE, &t));
		EXPECT_EQ('\n', b[t.len - 1]);
		EXPECT_EQ(NULL, memchr(b, 0, t.len));
		EXPECT_GE(len + 2, t.len);	/* the uptime may grow a digit */
		free(b);
	}
}

/* P0's status word, as its holder or a hostile user writes it: named. */
TEST_F(trace, status_word_named)
{
	static const struct { uint32_t word; const char *want; } c[] = {
		{ GMP_P_SYSCALL, "P0: status=2(syscall) " },
		{ 0x202, "P0: status=514(syscall) " },	/* GMP_P_SYSCALL_M(1) */
		{ 0x77, "P0: status=119(?) " },
		{ 0x101, "P0: status=257(?) " },
		{ GMP_P_RUNNING, "P0: status=1(running) " },
	};
	char text[16384];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		__atomic_store_n(gmp_p_status(&self->g, 0), c[i].word, __ATOMIC_SEQ_CST);
		ASSERT_EQ(0, gmp_schedtrace(&self->g, text, sizeof(text), 1));
		EXPECT_NE(NULL, strstr(text, c[i].want)) TH_LOG("want %s\n%s", c[i].want, text);
	}
}

TEST_HARNESS_MAIN
