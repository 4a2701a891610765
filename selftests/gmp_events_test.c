// SPDX-License-Identifier: GPL-2.0
/*
 * gmp.ko's tracepoints (kmod/gmp_trace.h), read back through tracefs: each
 * scenario makes the kernel take one decision and the test finds the event
 * it must have written, with its fields (instance, M, P, reason, result).
 * The events are recorded in a tracing instance of the test's own
 * (instances/gmp-events-<pid>), so nothing else in the VM is disturbed.
 * Waits are liveness bounds only (GMP_LIVENESS_MS), never timing thresholds.
 */
#include <stdarg.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include "gmp_util.h"
#include "kselftest_harness.h"

#define TRACEFS	"/sys/kernel/tracing"

FIXTURE(events) {
	char dir[128];		/* the tracing instance */
	struct gmp_inst g;
	uint32_t m;
	char text[1 << 17];	/* its trace, as last read */
};

/* Write @val to @file of the test's tracing instance. */
static int tr_write(const char *dir, const char *file, const char *val)
{
	char path[256];
	int fd, n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (int)strlen(val) ? 0 : -EIO;
}

static int tr_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	size_t off = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (off + 1 < len && (n = read(fd, buf + off, len - 1 - off)) > 0)
		off += n;
	buf[off] = 0;
	close(fd);
	return 0;
}

/*
 * Does the trace hold an event starting "@event: @fields"?  Reads the
 * trace again until it does, or GMP_LIVENESS_MS pass (events written by
 * sysmon or another thread arrive when they arrive).
 */
static bool has_event(FIXTURE_DATA(events) *self, const char *event,
		      const char *fmt, ...)
{
	char want[256], path[256];
	int n;
	va_list ap;

	n = snprintf(want, sizeof(want), "%s: ", event);
	va_start(ap, fmt);
	vsnprintf(want + n, sizeof(want) - n, fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/trace", self->dir);
	return GMP_WAIT_UNTIL(!tr_read(path, self->text, sizeof(self->text)) &&
			      strstr(self->text, want));
}

FIXTURE_SETUP(events)
{
	struct stat st;

	if (stat(TRACEFS "/instances", &st))
		mount("tracefs", TRACEFS, "tracefs", 0, NULL);
	if (stat(TRACEFS "/events/gmp", &st))
		SETUP_SKIP("no %s/events/gmp: tracefs or the module's events missing",
			   TRACEFS);
	snprintf(self->dir, sizeof(self->dir), TRACEFS "/instances/gmp-events-%d",
		 getpid());
	ASSERT_EQ(0, mkdir(self->dir, 0700));
	ASSERT_EQ(0, tr_write(self->dir, "buffer_size_kb", "1024"));
	ASSERT_EQ(0, tr_write(self->dir, "events/gmp/enable", "1"));
	self->g.fd = -1;
}

FIXTURE_TEARDOWN(events)
{
	gmp_inst_close(&self->g);
	tr_write(self->dir, "events/gmp/enable", "0");
	rmdir(self->dir);
}

static int open_inst(FIXTURE_DATA(events) *self, unsigned int nprocs,
		     unsigned int flags)
{
	int ret = gmp_inst_open(&self->g, nprocs, flags);

	return ret ? ret : gmp_register(&self->g, &self->m);
}

#define INST(self)	((self)->g.prm.instance)

/* Every event is there, with its fields named in its format. */
TEST_F(events, formats_name_every_field)
{
	static const char *const ev[][2] = {
		{ "gmp_park", "field:u64 deadline" },
		{ "gmp_unpark", "field:u32 result" },
		{ "gmp_wake", "field:s32 target" },
		{ "gmp_handoff", "field:u32 why" },
		{ "gmp_preempt", "field:bool handoff" },
		{ "gmp_block", "field:u64 grace_ns" },
		{ "gmp_unblock", "field:bool lost" },
		{ "gmp_newm", "field:s32 p" },
		{ "gmp_runq_put", "field:u32 size" },
		{ "gmp_runq_get", "field:u32 n" },
	};
	char path[256];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ev); i++) {
		snprintf(path, sizeof(path), TRACEFS "/events/gmp/%s/format", ev[i][0]);
		ASSERT_EQ(0, tr_read(path, self->text, sizeof(self->text)))
			TH_LOG("%s", path);
		EXPECT_NE(NULL, strstr(self->text, ev[i][1])) TH_LOG("%s", ev[i][0]);
		EXPECT_NE(NULL, strstr(self->text, "field:u32 inst")) TH_LOG("%s", ev[i][0]);
	}
	/*
	 * The reasons print as names for perf and trace-cmd too, which read
	 * this format: the enum's names must have been replaced by numbers.
	 */
	snprintf(path, sizeof(path), TRACEFS "/events/gmp/gmp_handoff/format");
	ASSERT_EQ(0, tr_read(path, self->text, sizeof(self->text)));
	EXPECT_NE(NULL, strstr(self->text, "\"syscall\""));
	EXPECT_NE(NULL, strstr(self->text, "\"block\""));
	EXPECT_EQ(NULL, strstr(self->text, "GMP_HANDOFF_")) TH_LOG("%s", self->text);
}

/* A park and the wake that hands it a P: three events, fields matching. */
TEST_F(events, park_wake_unpark)
{
	struct gmp_parker pk = { 0 };
	struct gmp_wake w;
	int p;

	ASSERT_EQ(0, open_inst(self, 1, 0));
	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(GMP_SCHED_U32(&self->g, nmidle) == 1));
	ASSERT_EQ(0, gmp_wake(&self->g, self->m, GMP_WAKE_HANDOFF, 0, 0, &w));
	ASSERT_EQ(GMP_WOKE_M, w.result);
	ASSERT_TRUE(GMP_WAIT_UNTIL(pk.done));
	ASSERT_EQ(0, gmp_parker_join(&pk));
	EXPECT_TRUE(has_event(self, "gmp_park", "inst=%u m=%u flags= deadline=0",
			      INST(self), pk.m));
	EXPECT_TRUE(has_event(self, "gmp_wake",
			      "inst=%u m=%u flags=handoff ret=0 result=m p=%d target=%u",
			      INST(self), self->m, p, pk.m));
	EXPECT_TRUE(has_event(self, "gmp_unpark",
			      "inst=%u m=%u ret=0 result=woken p=%d",
			      INST(self), pk.m, p));
}

/* A park with a deadline that passes: result timeout. */
TEST_F(events, park_timeout)
{
	struct gmp_park out;

	ASSERT_EQ(0, open_inst(self, 1, 0));
	ASSERT_EQ(0, gmp_park(&self->g, self->m, GMP_PARK_DEADLINE,
			      gmp_mono_ns() + 1000000, &out));
	ASSERT_EQ(GMP_PARKED_TIMEOUT, out.result);
	EXPECT_TRUE(has_event(self, "gmp_park", "inst=%u m=%u flags=deadline",
			      INST(self), self->m));
	EXPECT_TRUE(has_event(self, "gmp_unpark",
			      "inst=%u m=%u ret=0 result=timeout p=%d",
			      INST(self), self->m, out.p));
}

/* A P left in a system call with work: sysmon's retake, reason syscall. */
TEST_F(events, handoff_syscall)
{
	struct gmp_parker pk = { .linger = 1 };
	uint32_t *tick;
	int p;

	ASSERT_EQ(0, open_inst(self, 1, 0));
	ASSERT_EQ(0, gmp_sysmon_start(&self->g));
	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(GMP_SCHED_U32(&self->g, nmidle) == 1));
	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	gmp_ring_put(&self->g, p, 0x5c);
	tick = GMP_P_FIELD(&self->g, p, syscalltick, uint32_t);
	__atomic_store_n(tick, *tick + 1, __ATOMIC_RELAXED);
	__atomic_store_n(gmp_p_status(&self->g, p), GMP_P_SYSCALL_M(self->m),
			 __ATOMIC_SEQ_CST);
	ASSERT_TRUE(GMP_WAIT_UNTIL(pk.done));
	EXPECT_EQ(GMP_PARKED_WOKEN, pk.out.result);
	EXPECT_TRUE(has_event(self, "gmp_handoff", "inst=%u p=%d why=syscall to=m",
			      INST(self), p));
	EXPECT_TRUE(has_event(self, "gmp_unpark", "inst=%u m=%u ret=0 result=woken p=%d",
			      INST(self), pk.m, p));
	ASSERT_EQ(0, gmp_parker_join(&pk));
}

/* A P held and never yielded: sysmon's preempt request names P and M. */
TEST_F(events, preempt_request)
{
	int p;

	ASSERT_EQ(0, open_inst(self, 1, 0));
	ASSERT_EQ(0, gmp_sysmon_start(&self->g));
	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	ASSERT_TRUE(GMP_WAIT_UNTIL(*GMP_P_FIELD(&self->g, p, preempt, uint32_t)));
	EXPECT_TRUE(has_event(self, "gmp_preempt", "inst=%u p=%d m=%u handoff=0",
			      INST(self), p, self->m));
}

/* A thread that holds a P and blocks in read() outside its scheduler. */
struct reader {
	struct gmp_inst *g;
	pthread_t t;
	int pfd[2];
	volatile uint32_t m;
	volatile int p;
	volatile int ready;
	int err;
};

static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	uint32_t m;
	int p;
	char c;

	if (gmp_register(r->g, &m) || gmp_acquire(r->g, m, GMP_NONE, &p) ||
	    p == GMP_NONE) {
		r->err = 1;
		__atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
		return NULL;
	}
	r->m = m;
	r->p = p;
	/* Out of its scheduler, as a runtime running a G's own code. */
	__atomic_store_n(gmp_m_inruntime(r->g, m), 0, __ATOMIC_RELAXED);
	__atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
	if (read(r->pfd[0], &c, 1) != 1)
		r->err = 2;
	__atomic_store_n(gmp_m_inruntime(r->g, m), 1, __ATOMIC_RELAXED);
	gmp_unregister(r->g, m);
	return NULL;
}

/*
 * Block detection: the M blocks holding its P (gmp_block), the P is handed
 * off after the grace period (reason block), the M runs again and learns
 * it lost it (gmp_unblock lost=1).
 */
TEST_F(events, block_handoff_unblock)
{
	struct reader r = { .g = &self->g };

	ASSERT_EQ(0, open_inst(self, 1, GMP_SETUP_HANDOFF));
	ASSERT_EQ(0, gmp_sysmon_start(&self->g));
	ASSERT_EQ(0, pipe(r.pfd));
	ASSERT_EQ(0, pthread_create(&r.t, NULL, reader_fn, &r));
	ASSERT_TRUE(GMP_WAIT_UNTIL(__atomic_load_n(&r.ready, __ATOMIC_ACQUIRE)));
	ASSERT_EQ(0, r.err);
	EXPECT_TRUE(has_event(self, "gmp_block", "inst=%u m=%u p=%d grace_ns=",
			      INST(self), r.m, r.p));
	EXPECT_TRUE(has_event(self, "gmp_handoff", "inst=%u p=%d why=block to=",
			      INST(self), r.p));
	ASSERT_EQ(1, write(r.pfd[1], "x", 1));
	pthread_join(r.t, NULL);
	EXPECT_EQ(0, r.err);
	EXPECT_TRUE(has_event(self, "gmp_unblock", "inst=%u m=%u lost=1",
			      INST(self), r.m));
	close(r.pfd[0]);
	close(r.pfd[1]);
}

/*
 * A P given back with work on its ring and no idle M, for a template
 * thread: handoff (reason release, to an M) and the new-M request.
 */
TEST_F(events, release_newm)
{
	int p;

	ASSERT_EQ(0, open_inst(self, 1, GMP_SETUP_TEMPLATE));
	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	gmp_ring_put(&self->g, p, 0x77);
	ASSERT_EQ(0, gmp_release(&self->g, self->m, p));
	EXPECT_TRUE(has_event(self, "gmp_handoff", "inst=%u p=%d why=release to=m",
			      INST(self), p));
	EXPECT_TRUE(has_event(self, "gmp_newm", "inst=%u p=%d", INST(self), p));
}

/* An M that unregisters holding its P: reason deadm. */
TEST_F(events, handoff_deadm)
{
	int p;

	ASSERT_EQ(0, open_inst(self, 1, 0));
	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	ASSERT_EQ(0, gmp_unregister(&self->g, self->m));
	EXPECT_TRUE(has_event(self, "gmp_handoff", "inst=%u p=%d why=deadm to=",
			      INST(self), p));
}

/* PROCRESIZE down takes an idle P out of force: reason resize, stopped. */
TEST_F(events, handoff_resize)
{
	ASSERT_EQ(0, gmp_inst_open(&self->g, 2, GMP_SETUP_RESIZE));
	ASSERT_EQ(2, gmp_procresize(&self->g, 1));
	EXPECT_TRUE(has_event(self, "gmp_handoff",
			      "inst=%u p=1 why=resize to=stopped", INST(self)));
}

/* The global queue: a batch in, Go's share of it out, the length after. */
TEST_F(events, runq_put_get)
{
	uint64_t gs[3] = { 0x11, 0x22, 0x33 }, got[8];
	uint32_t n;

	ASSERT_EQ(0, open_inst(self, 2, 0));
	ASSERT_EQ(0, gmp_runq_put(&self->g, gs, 3));
	ASSERT_EQ(0, gmp_runq_get(&self->g, got, 8, &n));
	ASSERT_LT(0, n);
	EXPECT_TRUE(has_event(self, "gmp_runq_put", "inst=%u n=3 size=3", INST(self)));
	EXPECT_TRUE(has_event(self, "gmp_runq_get", "inst=%u n=%u size=%u",
			      INST(self), n, 3 - n));
}

/* Disabled, nothing is written (the events are off, not filtered). */
TEST_F(events, disabled_writes_nothing)
{
	char path[256];

	ASSERT_EQ(0, tr_write(self->dir, "events/gmp/enable", "0"));
	ASSERT_EQ(0, tr_write(self->dir, "trace", ""));
	ASSERT_EQ(0, open_inst(self, 1, 0));
	ASSERT_EQ(0, gmp_runq_put(&self->g, (uint64_t[]){ 0x11 }, 1));
	snprintf(path, sizeof(path), "%s/trace", self->dir);
	ASSERT_EQ(0, tr_read(path, self->text, sizeof(self->text)));
	EXPECT_EQ(NULL, strstr(self->text, "gmp_runq_put:"));
	/* ... and on again, it is. */
	ASSERT_EQ(0, tr_write(self->dir, "events/gmp/enable", "1"));
	ASSERT_EQ(0, gmp_runq_put(&self->g, (uint64_t[]){ 0x22 }, 1));
	EXPECT_TRUE(has_event(self, "gmp_runq_put", "inst=%u n=1 size=2", INST(self)));
}

TEST_HARNESS_MAIN
