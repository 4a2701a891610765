// SPDX-License-Identifier: GPL-2.0
/*
 * GMPRT_TRACE (userlib/trace.c): a program run with it writes a file that
 * is valid JSON in the trace-event format, in which no P and no M runs two
 * things at once, every G's runs are there with the spawns, parks (with
 * their reasons), syscalls and flows that led to them; a P that gmp.ko
 * took from a blocked M shows as lost; and a trace that fills up stays
 * within the bound userlib/trace.c documents.  Each program runs in a
 * child with the variable set; the test reads the file it wrote.
 */
#include <fcntl.h>
#include <math.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "kselftest_harness.h"
#include "rt_util.h"
#include "trace_json.h"

RT_NPROCS_FIXTURE;

/* For the tests that run at one nprocs only: a timeout, no variants. */
FIXTURE(one) {
};
FIXTURE_SETUP(one)
{
}
FIXTURE_TEARDOWN(one)
{
}

#define TRACE_MAX_EVENTS	(1 << 20)	/* userlib/trace.c */
#define TRACE_MAX_BYTES		400		/* per event, userlib/trace.c */

static char trace_path[64];
static int child_nprocs;

/* Run @fn (which calls gmprt_main) in a child with GMPRT_TRACE set. */
static int run_traced(void (*fn)(void), int nprocs, char *err, size_t len)
{
	snprintf(trace_path, sizeof(trace_path), "/tmp/rt_trace_%d.json", getpid());
	unlink(trace_path);
	setenv("GMPRT_TRACE", trace_path, 1);
	child_nprocs = nprocs;
	return run_child(fn, err, len);
}

/* The file, mapped; *len its size.  NULL if it is not there. */
static char *map_trace(size_t *len)
{
	struct stat st;
	char *text;
	int fd = open(trace_path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) || !st.st_size) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	/* One byte more than the file: a zero past its end, for strtod. */
	text = mmap(NULL, st.st_size + 1, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	*len = st.st_size;
	return text == MAP_FAILED ? NULL : text;
}

static int by_track_ts(const void *a, const void *b)
{
	const struct tj_event *x = *(struct tj_event *const *)a, *y = *(struct tj_event *const *)b;

	if (x->pid != y->pid)
		return x->pid - y->pid;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

struct facts {
	size_t pspans, mspans, lost, syscalls, spawns, parks, flows_f;
	size_t distinct_g;
	bool reason_chan, reason_sleep, lostp_instant;
	char bad[256];		/* the first broken rule */
};

/*
 * The rules every trace keeps: spans on one track never overlap (one P or
 * M runs one thing at a time); P spans are runs of a G, named for it, on a
 * P below @nprocs; every flow's end has its start before it.
 */
static void check_rules(const struct tj *j, int nprocs, struct facts *f)
{
	struct tj_event **xs = calloc(j->nev + 1, sizeof(*xs));
	unsigned long long *sid = calloc(j->nev + 1, sizeof(*sid));
	double *sts = calloc(j->nev + 1, sizeof(*sts));
	unsigned long long maxg = 0;
	char *seen;
	size_t i, nx = 0, ns = 0;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < j->nev; i++) {
		struct tj_event *e = &j->ev[i];

		if (e->ph == 'X') {
			xs[nx++] = e;
			if (e->g > maxg)
				maxg = e->g;
		}
		if (e->ph == 's') {
			sid[ns] = e->id;
			sts[ns++] = e->ts;
		}
	}
	qsort(xs, nx, sizeof(*xs), by_track_ts);
	seen = calloc(maxg + 1, 1);
	for (i = 0; i < nx && !f->bad[0]; i++) {
		struct tj_event *e = xs[i], *n = i + 1 < nx ? xs[i + 1] : NULL;
		char want[32];

		if (e->dur < 0)
			snprintf(f->bad, sizeof(f->bad), "%s at %.3f: dur %.3f", e->name, e->ts, e->dur);
		if (n && n->pid == e->pid && n->tid == e->tid && e->ts + e->dur > n->ts + 0.0005)
			snprintf(f->bad, sizeof(f->bad),
				 "track %d/%ld: %s [%.3f, +%.3f] overlaps %s at %.3f", e->pid,
				 e->tid, e->name, e->ts, e->dur, n->name, n->ts);
		if (e->pid == 1) {
			f->pspans++;
			f->lost += e->lost;
			snprintf(want, sizeof(want), "G%llu", e->g);
			if (!e->g || strcmp(want, e->name))
				snprintf(f->bad, sizeof(f->bad), "P span %s of g %llu", e->name, e->g);
			if (e->tid < 0 || e->tid >= nprocs)
				snprintf(f->bad, sizeof(f->bad), "a span on P%ld of %d", e->tid, nprocs);
			if (e->g && !seen[e->g]) {
				seen[e->g] = 1;
				f->distinct_g++;
			}
		} else if (e->pid == 2) {
			f->mspans++;
			f->syscalls += !strcmp(e->name, "syscall");
		} else {
			snprintf(f->bad, sizeof(f->bad), "a span in process %d", e->pid);
		}
	}
	for (i = 0; i < j->nev && !f->bad[0]; i++) {
		const struct tj_event *e = &j->ev[i];
		size_t k;

		if (e->ph == 'f') {
			f->flows_f++;
			for (k = 0; k < ns && sid[k] != e->id; k++)
				;
			if (k == ns || sts[k] > e->ts)
				snprintf(f->bad, sizeof(f->bad), "flow %llu ends at %.3f without a start before it",
					 e->id, e->ts);
		}
		if (e->ph == 'i') {
			f->spawns += !strcmp(e->name, "spawn");
			f->parks += !strcmp(e->name, "park");
			f->reason_chan |= !strncmp(e->reason, "chan ", 5);
			f->reason_sleep |= !strcmp(e->reason, "sleep");
			f->lostp_instant |= !strcmp(e->name, "P lost");
		}
	}
	free(seen);
	free(xs);
	free(sid);
	free(sts);
}

/* ---- a program that does a bit of everything ----------------------------- */

#define NPAIRS	10
#define ROUNDS	10

static gmprt_waitgroup all = GMPRT_WAITGROUP_INIT;

static void player(void *arg)
{
	gmprt_chan **c = arg;
	int i, v = 0;

	for (i = 0; i < ROUNDS; i++) {
		GCHECK(gmprt_chan_send(c[0], &v) == 0);
		GCHECK(gmprt_chan_recv(c[1], &v) == 0);
		gmprt_yield();
	}
	gmprt_sleep(1000000);
	GMPRT_SYSCALL(usleep(1000));
	gmprt_wg_done(&all);
}

static void partner(void *arg)
{
	gmprt_chan **c = arg;
	int i, v;

	for (i = 0; i < ROUNDS; i++) {
		GCHECK(gmprt_chan_recv(c[0], &v) == 0);
		GCHECK(gmprt_chan_send(c[1], &v) == 0);
	}
	gmprt_wg_done(&all);
}

static int mix_main(void *arg)
{
	static gmprt_chan *cs[NPAIRS][2];
	int i;

	gmprt_wg_add(&all, 2 * NPAIRS);
	for (i = 0; i < NPAIRS; i++) {
		cs[i][0] = gmprt_chan_make(sizeof(int), 0);
		cs[i][1] = gmprt_chan_make(sizeof(int), 0);
		GCHECK(gmprt_go(player, cs[i]) == 0);
		GCHECK(gmprt_go(partner, cs[i]) == 0);
	}
	gmprt_wg_wait(&all);
	return atomic_load(&rt_failed) ? 1 : 0;
}

static void mix_child(void)
{
	exit(rt_run(child_nprocs, mix_main, NULL) ? 3 : 0);
}

TEST_F_TIMEOUT(rt, a_program_traced, 120)
{
	static char err[8192];
	struct facts f;
	struct tj j;
	size_t len;
	char *text;

	ASSERT_EQ(0, run_traced(mix_child, variant->nprocs, err, sizeof(err))) TH_LOG("%s", err);
	text = map_trace(&len);
	ASSERT_NE(NULL, text) TH_LOG("no trace in %s", trace_path);
	ASSERT_TRUE(tj_parse(&j, text, len, false))
		TH_LOG("not JSON at byte %zu: %.60s", (size_t)(j.where - text), j.where);
	check_rules(&j, variant->nprocs, &f);
	EXPECT_STREQ("", f.bad);
	EXPECT_EQ(0, j.dropped);
	EXPECT_LT(0, j.events);
	/* Main and its 2 x NPAIRS Gs ran, each spawn has its flow to a run. */
	EXPECT_LE(2 * NPAIRS + 1, f.distinct_g);
	EXPECT_LE(2 * NPAIRS, f.spawns);
	EXPECT_LE(2 * NPAIRS, f.flows_f);
	EXPECT_LE(NPAIRS, f.syscalls);
	EXPECT_TRUE(f.reason_chan);
	EXPECT_TRUE(f.reason_sleep);
	EXPECT_LT(0, f.mspans);
	TH_LOG("%lld events, %zu P spans, %zu M spans, %zu parks, %zu lost, %zu bytes",
	       j.events, f.pspans, f.mspans, f.parks, f.lost, len);
	free(j.ev);
	munmap(text, len + 1);
	unlink(trace_path);
}

/* ---- a P that gmp.ko takes from a blocked M ------------------------------ */

static int pfd[2];

static void blocked_reader(void *arg)
{
	char c;

	/* A plain read: block detection hands the P on while it sleeps. */
	GCHECK(read(pfd[0], &c, 1) == 1);
	gmprt_yield();		/* into the runtime: it learns the P is gone */
	gmprt_wg_done(&all);
}

static void late_writer(void *arg)
{
	gmprt_sleep(50 * 1000000LL);
	GCHECK(write(pfd[1], "x", 1) == 1);
	gmprt_wg_done(&all);
}

static int block_main(void *arg)
{
	GCHECK(pipe(pfd) == 0);
	gmprt_wg_add(&all, 2);
	gmprt_go(blocked_reader, NULL);
	gmprt_go(late_writer, NULL);
	gmprt_wg_wait(&all);
	return atomic_load(&rt_failed) ? 1 : 0;
}

static void block_child(void)
{
	exit(rt_run(1, block_main, NULL) ? 3 : 0);
}

/* At one P: where the handoff must happen for the writer to run at all. */
TEST_F_TIMEOUT(one, a_lost_p_ends_its_span, 120)
{
	static char err[8192];
	struct facts f;
	struct tj j;
	size_t len;
	char *text;
	ASSERT_EQ(0, run_traced(block_child, 1, err, sizeof(err))) TH_LOG("%s", err);
	text = map_trace(&len);
	ASSERT_NE(NULL, text);
	ASSERT_TRUE(tj_parse(&j, text, len, false))
		TH_LOG("not JSON at byte %zu: %.60s", (size_t)(j.where - text), j.where);
	check_rules(&j, 1, &f);
	EXPECT_STREQ("", f.bad);
	EXPECT_TRUE(f.lostp_instant);
	EXPECT_LE(1, f.lost);
	TH_LOG("%zu P spans, %zu lost, %lld clipped", f.pspans, f.lost, j.clipped);
	free(j.ev);
	munmap(text, len + 1);
	unlink(trace_path);
}

/* ---- a trace that fills up ------------------------------------------------ */

#define YIELDS	300000		/* 2 Gs x 2 events per yield: past the cap */

static void yielder(void *arg)
{
	int i;

	for (i = 0; i < YIELDS; i++)
		gmprt_yield();
	gmprt_wg_done(&all);
}

static int full_main(void *arg)
{
	gmprt_wg_add(&all, 2);
	gmprt_go(yielder, NULL);
	gmprt_go(yielder, NULL);
	gmprt_wg_wait(&all);
	return 0;
}

static void full_child(void)
{
	exit(rt_run(1, full_main, NULL) ? 3 : 0);
}

/* The bound does not depend on the Ps: one run, at one P. */
TEST_F_TIMEOUT(one, a_full_trace_stays_bounded, 600)
{
	static char err[8192];
	struct tj j;
	size_t len;
	char *text;
	ASSERT_EQ(0, run_traced(full_child, 1, err, sizeof(err))) TH_LOG("%s", err);
	text = map_trace(&len);
	ASSERT_NE(NULL, text);
	ASSERT_TRUE(tj_parse(&j, text, len, true))
		TH_LOG("not JSON at byte %zu: %.60s", (size_t)(j.where - text), j.where);
	EXPECT_LE(j.events, TRACE_MAX_EVENTS);
	EXPECT_LT(1000000, j.events);
	EXPECT_LT(0, j.dropped);
	EXPECT_LE(len, (size_t)TRACE_MAX_BYTES * j.events);
	TH_LOG("%lld events kept, %lld dropped: %zu bytes, %.1f per event, %zu JSON objects",
	       j.events, j.dropped, len, (double)len / j.events, j.nev);
	munmap(text, len + 1);
	unlink(trace_path);
}

/* ---- errors --------------------------------------------------------------- */

static int quick_main(void *arg)
{
	return 0;
}

static void badpath_child(void)
{
	setenv("GMPRT_TRACE", "/nonexistent/dir/t.json", 1);
	exit(gmprt_main(quick_main, NULL, NULL) == -ENOENT ? 0 : 3);
}

/* A file that cannot be made fails gmprt_main at once, with the reason. */
TEST(unwritable_trace_fails_at_start)
{
	char err[4096];

	ASSERT_EQ(0, run_child(badpath_child, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "GMPRT_TRACE: cannot create /nonexistent/dir/t.json"))
		TH_LOG("%s", err);
}

TEST_HARNESS_MAIN
