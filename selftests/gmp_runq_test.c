// SPDX-License-Identifier: GPL-2.0
/*
 * The global run queue (GMP_IOC_RUNQ_PUT / GMP_IOC_RUNQ_GET): batches keep
 * order and content, gets are sized as Go's globrunqget, runqsize is
 * mirrored, a faulting get takes nothing, the cap answers ENOSPC, and
 * concurrent putters and getters lose and duplicate nothing.
 */
#include <pthread.h>
#include "gmp_util.h"
#include "kselftest_harness.h"

FIXTURE(runq) {
	struct gmp_inst g;
	uint32_t m;
};

FIXTURE_VARIANT(runq) {
	unsigned int nprocs;
};

FIXTURE_VARIANT_ADD(runq, nprocs1) { .nprocs = 1 };
FIXTURE_VARIANT_ADD(runq, nprocs2) { .nprocs = 2 };
FIXTURE_VARIANT_ADD(runq, nprocs4) { .nprocs = 4 };

FIXTURE_SETUP(runq)
{
	ASSERT_EQ(0, gmp_inst_open(&self->g, variant->nprocs, 0));
	ASSERT_EQ(0, gmp_register(&self->g, &self->m));
}

FIXTURE_TEARDOWN(runq)
{
	gmp_inst_close(&self->g);
}

#define RUNQSIZE(g)	GMP_SCHED_U32(g, runqsize)

/* Go's globrunqget sizing, for a caller with room for @max. */
static uint32_t go_batch(uint32_t runqsize, uint32_t gomaxprocs, uint32_t max)
{
	uint32_t n = runqsize / gomaxprocs + 1;

	if (n > runqsize)
		n = runqsize;
	if (n > max)
		n = max;
	if (n > GMP_RUNQ_SIZE / 2)
		n = GMP_RUNQ_SIZE / 2;
	return n;
}

/* runqputslow's batch: half a ring plus one, 129 Gs, in one call. */
TEST_F(runq, batch_129_order_and_sizing)
{
	uint64_t in[129], out[256];
	uint32_t n, next = 0, size = 129, want;

	for (n = 0; n < 129; n++)
		in[n] = 0x1000 + n;
	ASSERT_EQ(0, gmp_runq_put(&self->g, in, 129));
	ASSERT_EQ(129, RUNQSIZE(&self->g));
	while (size) {
		want = go_batch(size, variant->nprocs, 256);
		ASSERT_EQ(0, gmp_runq_get(&self->g, out, 256, &n));
		ASSERT_EQ(want, n) TH_LOG("runqsize %u", size);
		for (uint32_t i = 0; i < n; i++) {
			ASSERT_EQ(in[next + i], out[i]) TH_LOG("at %u", next + i);
		}
		next += n;
		size -= n;
		ASSERT_EQ(size, RUNQSIZE(&self->g));
	}
	ASSERT_EQ(129, next);
	/* Empty: a get takes nothing. */
	ASSERT_EQ(0, gmp_runq_get(&self->g, out, 256, &n));
	ASSERT_EQ(0, n);
}

/* The caller's room bounds the batch; no room takes nothing. */
TEST_F(runq, get_bounded_by_room)
{
	uint64_t in[40], out[8];
	uint32_t n, i;

	for (i = 0; i < 40; i++)
		in[i] = i + 1;
	ASSERT_EQ(0, gmp_runq_put(&self->g, in, 40));
	ASSERT_EQ(0, gmp_runq_get(&self->g, out, 0, &n));
	ASSERT_EQ(0, n);
	ASSERT_EQ(0, gmp_runq_get(&self->g, out, 3, &n));
	ASSERT_EQ(3, n);
	ASSERT_EQ(1, out[0]);
	ASSERT_EQ(3, out[2]);
	ASSERT_EQ(37, RUNQSIZE(&self->g));
}

/* Many batches across the kernel's chunk boundaries keep FIFO order. */
TEST_F(runq, fifo_across_chunks)
{
	static uint64_t buf[GMP_RUNQ_BATCH_MAX];
	uint32_t total = 0, taken = 0, n, i, k;

	for (k = 0; k < 5; k++) {
		uint32_t len = k == 2 ? 1 : GMP_RUNQ_BATCH_MAX - 3 * k;

		for (i = 0; i < len; i++)
			buf[i] = (uint64_t)(total + i + 1) << 8 | 0x5a;
		ASSERT_EQ(0, gmp_runq_put(&self->g, buf, len));
		total += len;
	}
	ASSERT_EQ(total, RUNQSIZE(&self->g));
	while (taken < total) {
		ASSERT_EQ(0, gmp_runq_get(&self->g, buf, 128, &n));
		ASSERT_LT(0, n);
		for (i = 0; i < n; i++) {
			ASSERT_EQ((uint64_t)(taken + i + 1) << 8 | 0x5a, buf[i]);
		}
		taken += n;
	}
	ASSERT_EQ(0, RUNQSIZE(&self->g));
}

/* A get whose copy-out faults takes nothing: the Gs are still first. */
TEST_F(runq, faulting_get_takes_nothing)
{
	uint64_t in[10] = { 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 }, out[128];
	void *bad = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t n;

	ASSERT_NE(MAP_FAILED, bad);
	ASSERT_EQ(0, gmp_runq_put(&self->g, in, 10));
	ASSERT_EQ(-EFAULT, gmp_runq_get(&self->g, bad, 128, &n));
	ASSERT_EQ(10, RUNQSIZE(&self->g));
	ASSERT_EQ(0, gmp_runq_get(&self->g, out, 128, &n));
	ASSERT_LT(0, n);
	ASSERT_EQ(11, out[0]);
	/* A faulting put queues nothing. */
	ASSERT_EQ(0, mprotect(bad, 4096, PROT_NONE));
	ASSERT_EQ(-EFAULT, gmp_runq_put(&self->g, bad, 2));
	ASSERT_EQ(10 - n, RUNQSIZE(&self->g));
}

/*
 * The cap: GMP_GQ_MAX handles (4M, 32 MiB), then ENOSPC with nothing
 * queued; a get makes room again.  Release frees it all (the module
 * unload at the end of the run would catch a leak of its pages).
 */
FIXTURE(runq2) {
	struct gmp_inst g;
	uint32_t m;
};

/* The cap does not depend on nprocs: one instance of 2 Ps is enough. */
FIXTURE_SETUP(runq2)
{
	ASSERT_EQ(0, gmp_inst_open(&self->g, 2, 0));
	ASSERT_EQ(0, gmp_register(&self->g, &self->m));
}

FIXTURE_TEARDOWN(runq2)
{
	gmp_inst_close(&self->g);
}

TEST_F_TIMEOUT(runq2, cap_enospc, 120)
{
	static uint64_t buf[GMP_RUNQ_BATCH_MAX];
	uint32_t cap = self->g.prm.global_runq_max, put = 0, n, i;

	for (i = 0; i < GMP_RUNQ_BATCH_MAX; i++)
		buf[i] = i + 1;
	while (put + GMP_RUNQ_BATCH_MAX <= cap) {
		ASSERT_EQ(0, gmp_runq_put(&self->g, buf, GMP_RUNQ_BATCH_MAX))
			TH_LOG("at %u", put);
		put += GMP_RUNQ_BATCH_MAX;
	}
	if (put < cap) {
		ASSERT_EQ(0, gmp_runq_put(&self->g, buf, cap - put));
		put = cap;
	}
	ASSERT_EQ(cap, RUNQSIZE(&self->g));
	ASSERT_EQ(-ENOSPC, gmp_runq_put(&self->g, buf, 1));
	ASSERT_EQ(cap, RUNQSIZE(&self->g));
	ASSERT_EQ(0, gmp_runq_get(&self->g, buf, 128, &n));
	ASSERT_EQ(128, n);
	ASSERT_EQ(1, buf[0]);
	ASSERT_EQ(0, gmp_runq_put(&self->g, buf, 128));
	ASSERT_EQ(-ENOSPC, gmp_runq_put(&self->g, buf, 1));
}

/* Producers and consumers at once: every G comes out exactly once. */
#define PRODUCERS	2
#define PER_PRODUCER	20000

struct rq_thread {
	struct gmp_inst *g;
	int id;
	int err;
	uint32_t got;
	uint8_t *seen;		/* consumers: [producer][seq] */
	uint32_t last[PRODUCERS];	/* consumers: last seq seen + 1 */
	volatile int *stop;
};

static void *producer(void *arg)
{
	struct rq_thread *t = arg;
	uint64_t buf[129];
	uint32_t seq = 0, n, i;

	while (seq < PER_PRODUCER) {
		n = PER_PRODUCER - seq < 129 ? PER_PRODUCER - seq : 129;
		for (i = 0; i < n; i++)
			buf[i] = (uint64_t)(t->id + 1) << 32 | (seq + i);
		if (gmp_runq_put(t->g, buf, n)) {
			t->err = 1;
			return NULL;
		}
		seq += n;
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct rq_thread *t = arg;
	uint64_t buf[128];
	uint32_t n, i;

	for (;;) {
		int stop = __atomic_load_n(t->stop, __ATOMIC_ACQUIRE);

		if (gmp_runq_get(t->g, buf, 128, &n)) {
			t->err = 1;
			return NULL;
		}
		for (i = 0; i < n; i++) {
			uint32_t p = (buf[i] >> 32) - 1, seq = (uint32_t)buf[i];

			if (p >= PRODUCERS || seq >= PER_PRODUCER ||
			    __atomic_fetch_add(&t->seen[p * PER_PRODUCER + seq], 1,
					       __ATOMIC_RELAXED)) {
				t->err = 2;
				return NULL;
			}
			/* Each consumer sees each producer's Gs in order. */
			if (t->last[p] > seq) {
				t->err = 3;
				return NULL;
			}
			t->last[p] = seq + 1;
		}
		t->got += n;
		if (!n && stop)
			return NULL;
	}
}

TEST_F_TIMEOUT(runq, concurrent_put_get, 120)
{
	static uint8_t seen[PRODUCERS * PER_PRODUCER];
	struct rq_thread prod[PRODUCERS], cons[2];
	pthread_t pt[PRODUCERS], ct[2];
	volatile int stop = 0;
	uint32_t total = 0;
	int i;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < 2; i++) {
		cons[i] = (struct rq_thread){ .g = &self->g, .seen = seen,
					      .stop = &stop };
		ASSERT_EQ(0, pthread_create(&ct[i], NULL, consumer, &cons[i]));
	}
	for (i = 0; i < PRODUCERS; i++) {
		prod[i] = (struct rq_thread){ .g = &self->g, .id = i };
		ASSERT_EQ(0, pthread_create(&pt[i], NULL, producer, &prod[i]));
	}
	for (i = 0; i < PRODUCERS; i++) {
		ASSERT_EQ(0, pthread_join(pt[i], NULL));
		ASSERT_EQ(0, prod[i].err);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, pthread_join(ct[i], NULL));
		ASSERT_EQ(0, cons[i].err);
		total += cons[i].got;
	}
	ASSERT_EQ(PRODUCERS * PER_PRODUCER, total);
	for (i = 0; i < PRODUCERS * PER_PRODUCER; i++) {
		ASSERT_EQ(1, seen[i]) TH_LOG("G %d", i);
	}
	ASSERT_EQ(0, RUNQSIZE(&self->g));
}

TEST_HARNESS_MAIN
