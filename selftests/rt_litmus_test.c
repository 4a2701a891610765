// SPDX-License-Identifier: GPL-2.0
/*
 * The memory-ordering assumptions of the runtime, checked under stress on
 * the pages gmp.ko maps: litmus tests (the shapes of the herd/litmus7
 * catalogue) between threads pinned to different CPUs, written with the
 * runtime's own atomics (runtime.h) on the real shared fields, and the
 * ring protocol run with the runtime's own code.
 *
 * MP, message passing: how runqput publishes a G and runqget/runqgrab
 * take it (the slot is written, then the tail with release; the tail is
 * read with acquire, then the slot):
 *     writer: slot = i (relaxed); tail = i (release)
 *     reader: t = tail (acquire); s = slot
 *     forbidden: s < t
 * SB, store buffering: the Dekker pair (A)/(B) of wakep and GMP_IOC_PARK
 * (a G published, fence (A), nmspinning read; nmspinning written, fence
 * (B), the rings read):
 *     A: tail = i; fence; a = nmspinning    B: nmspinning = i; fence; b = tail
 *     forbidden: a < i and b < i, in the same round i
 * Ring: the owner of P0 writes plain fields of each "G" and runqputs it
 * (a seventh of them through runnext), two thieves steal with runqsteal;
 * every G arrives exactly once, with the fields its owner wrote.
 *
 * Each shape also runs once without its fences (acquire/release made
 * relaxed, the fences dropped) as a control: what that variant observes is
 * printed, never asserted.  Whether a machine shows a reordering is up to
 * it: x86-64 (TSO) shows SB but never MP; an arm64 machine may show both;
 * arm64 under QEMU's TCG on an x86-64 host behaves about as the host does.
 * A control that shows reorderings proves the test can see them; the
 * fenced runs must show none.
 */
#include <pthread.h>
#include <sched.h>
#include "kselftest_harness.h"
#include "gmp_util.h"
#include "runtime.h"

#define MP_ROUNDS	5000000
#define SB_ROUNDS	1000000
#define RING_ITEMS	500000
#define RING_THIEVES	2

FIXTURE(litmus) {
	struct gmp_inst g;
	struct p p[1 + RING_THIEVES];
};

FIXTURE_SETUP(litmus)
{
	int i;

	ASSERT_EQ(0, gmp_inst_open(&self->g, 1 + RING_THIEVES, 0));
	for (i = 0; i < 1 + RING_THIEVES; i++)
		gmprt_p_init(&self->p[i], self->g.procs, &self->g.prm, i);
}

FIXTURE_TEARDOWN(litmus)
{
	gmp_inst_close(&self->g);
}

/* Each thread on a CPU of its own where there are enough: the shapes need
 * two CPUs running at once, not one CPU switching between threads. */
static void pin(int cpu)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	if (ncpu < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu % ncpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* All threads of a shape start together (spinning: no syscall between). */
static void rendezvous(atomic_int *arrived, int n)
{
	atomic_fetch_add(arrived, 1);
	while (atomic_load(arrived) < n)
		cpu_relax();
}

/* ---- MP: the ring's publication ---------------------------------------- */

struct mp {
	uint64_t *slot;			/* P0's runq[0] */
	uint32_t *tail;			/* P0's runqtail */
	bool fenced;
	atomic_int arrived;
	long stale;			/* rounds where s < t */
	long changes;			/* distinct tails the reader saw */
};

static void *mp_writer(void *arg)
{
	struct mp *mp = arg;
	uint32_t i;

	pin(0);
	rendezvous(&mp->arrived, 2);
	for (i = 1; i <= MP_ROUNDS; i++) {
		store_relaxed(mp->slot, i);
		if (mp->fenced)
			store_release(mp->tail, i);
		else
			store_relaxed(mp->tail, i);
	}
	return NULL;
}

static void *mp_reader(void *arg)
{
	struct mp *mp = arg;
	uint32_t t, last = 0;
	uint64_t s;

	pin(1);
	rendezvous(&mp->arrived, 2);
	while (last != MP_ROUNDS) {
		t = mp->fenced ? load_acquire(mp->tail) : load_relaxed(mp->tail);
		s = load_relaxed(mp->slot);
		if (s < t)
			mp->stale++;
		if (t != last)
			mp->changes++;
		last = t;
	}
	return NULL;
}

static void run_mp(struct __test_metadata *_metadata,
		   FIXTURE_DATA(litmus) *self, struct mp *mp, bool fenced)
{
	pthread_t w, r;

	*mp = (struct mp){ .slot = &self->p[0].krunq[0],
			   .tail = self->p[0].krunqtail, .fenced = fenced };
	store_relaxed(mp->slot, 0);
	store_relaxed(mp->tail, 0);
	ASSERT_EQ(0, pthread_create(&r, NULL, mp_reader, mp));
	ASSERT_EQ(0, pthread_create(&w, NULL, mp_writer, mp));
	pthread_join(w, NULL);
	pthread_join(r, NULL);
}

TEST_F_TIMEOUT(litmus, mp_ring_release_acquire, 240)
{
	struct mp mp;

	run_mp(_metadata, self, &mp, false);
	TH_LOG("control (relaxed): %ld stale slots in %ld tails seen (allowed; x86-64 never shows one)",
	       mp.stale, mp.changes);
	run_mp(_metadata, self, &mp, true);
	TH_LOG("release/acquire: %ld stale slots in %ld tails seen", mp.stale, mp.changes);
	ASSERT_EQ(0, mp.stale) TH_LOG("the reader saw a tail before the slot written ahead of it");
}

/* ---- SB: the Dekker pair (A)/(B) ---------------------------------------- */

struct sb {
	uint32_t *x;			/* P0's runqtail: the G published */
	uint32_t *y;			/* nmspinning */
	bool fenced;
	atomic_int arrived;
	atomic_uint step;		/* arrivals at round barriers */
	uint32_t *a, *b;		/* what each side read, per round */
};

/*
 * Both sides start each round together (litmus7's per-round barrier),
 * so that their store and load overlap.  The barrier's atomics come
 * before the round's store, never between its store and its load.
 */
static void round_start(struct sb *sb, uint32_t round)
{
	atomic_fetch_add(&sb->step, 1);
	while (atomic_load_explicit(&sb->step, memory_order_relaxed) < 2 * round)
		cpu_relax();
}

static void *sb_submitter(void *arg)
{
	struct sb *sb = arg;
	uint32_t i;

	pin(0);
	rendezvous(&sb->arrived, 2);
	for (i = 1; i <= SB_ROUNDS; i++) {
		round_start(sb, i);
		store_release(sb->x, i);		/* runqput's tail */
		if (sb->fenced)
			atomic_thread_fence(memory_order_seq_cst);	/* (A) */
		sb->a[i - 1] = load_relaxed(sb->y);
	}
	return NULL;
}

static void *sb_parker(void *arg)
{
	struct sb *sb = arg;
	uint32_t i;

	pin(1);
	rendezvous(&sb->arrived, 2);
	for (i = 1; i <= SB_ROUNDS; i++) {
		round_start(sb, i);
		store_relaxed(sb->y, i);		/* nmspinning-- */
		if (sb->fenced)
			atomic_thread_fence(memory_order_seq_cst);	/* (B), smp_mb() */
		sb->b[i - 1] = load_relaxed(sb->x);
	}
	return NULL;
}

/* Return: rounds where neither side saw the other's store of that round. */
static long run_sb(struct __test_metadata *_metadata,
		   FIXTURE_DATA(litmus) *self, bool fenced, long *overlap)
{
	struct sb sb = { .x = self->p[0].krunqtail, .y = gmp_nmspinning(&self->g),
			 .fenced = fenced };
	pthread_t s, p;
	long i, both = 0;

	sb.a = calloc(SB_ROUNDS, sizeof(*sb.a));
	sb.b = calloc(SB_ROUNDS, sizeof(*sb.b));
	if (!sb.a || !sb.b) {
		free(sb.a);
		free(sb.b);
		return -1;
	}
	store_relaxed(sb.x, 0);
	store_relaxed(sb.y, 0);
	if (pthread_create(&p, NULL, sb_parker, &sb) ||
	    pthread_create(&s, NULL, sb_submitter, &sb))
		return -1;
	pthread_join(s, NULL);
	pthread_join(p, NULL);
	*overlap = 0;
	for (i = 0; i < SB_ROUNDS; i++) {
		uint32_t round = i + 1;

		if (sb.a[i] < round && sb.b[i] < round)
			both++;
		/* Rounds where at least one side saw the other's store. */
		if (sb.a[i] == round || sb.b[i] == round)
			(*overlap)++;
	}
	free(sb.a);
	free(sb.b);
	/* The kernel reads nmspinning as a hint: leave it as it was. */
	store_relaxed(sb.y, 0);
	store_relaxed(sb.x, 0);
	return both;
}

TEST_F_TIMEOUT(litmus, sb_dekker_fences, 240)
{
	long both, overlap;

	both = run_sb(_metadata, self, false, &overlap);
	ASSERT_LE(0, both);
	TH_LOG("control (no fences): %ld of %d rounds where neither saw the other (allowed), %ld where one did",
	       both, SB_ROUNDS, overlap);
	both = run_sb(_metadata, self, true, &overlap);
	ASSERT_LE(0, both);
	TH_LOG("fences (A)/(B): %ld of %d rounds where neither saw the other, %ld where one did",
	       both, SB_ROUNDS, overlap);
	ASSERT_EQ(0, both) TH_LOG("both sides missed each other's store: a wakeup would be lost");
}

/* ---- the ring, with the runtime's own runqput / runqsteal --------------- */

/* A stand-in for a G: the ring only carries pointers. */
struct item {
	uint64_t seq;
	uint64_t check;
	char pad[48];			/* one item per cache line */
};

struct ring {
	struct p *owner;
	struct p *thief[RING_THIEVES];
	struct item *items;
	atomic_uchar *count;
	atomic_int arrived;
	atomic_int done;
	atomic_long stale;
	long stolen[RING_THIEVES];
};

struct thief_arg {
	struct ring *r;
	int k;
};

static void take(struct ring *r, struct item *it)
{
	long i = it - r->items;

	/* Plain reads, as a G's fields are: the ring's acquire orders them. */
	if (it->seq != (uint64_t)i + 1 || it->check != ~it->seq)
		atomic_fetch_add(&r->stale, 1);
	atomic_fetch_add(&r->count[i], 1);
}

static void *ring_thief(void *arg)
{
	struct thief_arg *ta = arg;
	struct ring *r = ta->r;
	struct p *pp = r->thief[ta->k];
	bool inherit;
	g_t *gp;

	pin(1 + ta->k);
	rendezvous(&r->arrived, 1 + RING_THIEVES);
	while (!atomic_load(&r->done)) {
		gp = gmprt_runqsteal(pp, r->owner, true);
		if (!gp)
			continue;
		do {
			take(r, (struct item *)gp);
			r->stolen[ta->k]++;
		} while ((gp = gmprt_runqget(pp, &inherit)));
	}
	return NULL;
}

TEST_F_TIMEOUT(litmus, ring_publishes_g, 240)
{
	struct ring r = { .owner = &self->p[0] };
	struct thief_arg ta[RING_THIEVES];
	pthread_t t[RING_THIEVES];
	bool inherit;
	long i, own = 0;
	int k;
	g_t *gp;

	r.items = calloc(RING_ITEMS, sizeof(*r.items));
	r.count = calloc(RING_ITEMS, 1);
	ASSERT_NE(NULL, r.items);
	ASSERT_NE(NULL, r.count);
	for (k = 0; k < RING_THIEVES; k++) {
		r.thief[k] = &self->p[1 + k];
		ta[k] = (struct thief_arg){ .r = &r, .k = k };
		ASSERT_EQ(0, pthread_create(&t[k], NULL, ring_thief, &ta[k]));
	}
	pin(0);
	rendezvous(&r.arrived, 1 + RING_THIEVES);
	for (i = 0; i < RING_ITEMS;) {
		uint32_t h = load_acquire(r.owner->krunqhead);
		uint32_t tl = load_relaxed(r.owner->krunqtail);

		/* Never full: runqputslow's global queue is not under test. */
		if (tl - h < GMP_RUNQ_SIZE - 2) {
			struct item *it = &r.items[i];

			it->seq = i + 1;
			it->check = ~it->seq;
			gmprt_runqput(r.owner, (g_t *)it, i % 7 == 0);
			i++;
		} else if ((gp = gmprt_runqget(r.owner, &inherit))) {
			take(&r, (struct item *)gp);
			own++;
		}
	}
	while ((gp = gmprt_runqget(r.owner, &inherit))) {
		take(&r, (struct item *)gp);
		own++;
	}
	atomic_store(&r.done, 1);
	for (k = 0; k < RING_THIEVES; k++)
		pthread_join(t[k], NULL);
	for (k = 0; k < RING_THIEVES; k++)
		while ((gp = gmprt_runqget(r.thief[k], &inherit)))
			take(&r, (struct item *)gp);
	for (i = 0; i < RING_ITEMS; i++)
		ASSERT_EQ(1, atomic_load(&r.count[i])) TH_LOG("G %ld", i);
	TH_LOG("owner ran %ld, thieves stole %ld and %ld of %d", own, r.stolen[0],
	       r.stolen[1], RING_ITEMS);
	ASSERT_EQ(0, atomic_load(&r.stale))
		TH_LOG("a thief saw a G before the fields its owner wrote");
	free(r.items);
	free(r.count);
}

TEST_HARNESS_MAIN
