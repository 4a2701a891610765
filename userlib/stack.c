// SPDX-License-Identifier: GPL-2.0
/*
 * libgmprt: G stacks.
 *
 * A C stack cannot grow or move (pointers into it are everywhere), so each G
 * gets a fixed stack, 64 KiB by default (gmprt_config.stack_size,
 * $GMPRT_STACK).  Stacks are mmap'd with MAP_NORESERVE: only the pages a G
 * touches become resident, which is what makes a million parked Gs fit (a
 * parked G touches the one or two pages at the top of its stack).
 *
 * Overflow must be detected, not silently corrupt a neighbour.  The sure way
 * is a PROT_NONE guard page below each stack, and a SIGSEGV handler (on an
 * alternate signal stack) that names the G.  But every guard splits the
 * mapping: a guarded stack costs two of the kernel's vm.max_map_count
 * mappings (65530 by default), so guards alone would cap a process at ~32k
 * Gs.  The trade-off chosen:
 *
 *  - stacks are guarded while half of max_map_count (less a margin for the
 *    program's own mappings) allows, read once at start-up;
 *  - beyond that, stacks come unguarded, in batches that share one mapping,
 *    and overflow is detected when the G next switches (its stack pointer is
 *    checked against its stack's bottom at every switch): late, but loud.
 *
 * Raising vm.max_map_count (sysctl) keeps every stack guarded.  Stacks are
 * never unmapped: dead Gs keep theirs on the free lists for the next G.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "runtime.h"

#define STACK_BATCH	16		/* stacks per mmap */
#define MAP_MARGIN	4096		/* mappings left for the program */

static size_t pagesz;
static long guard_budget;		/* guarded stacks we may still make */
static spinlock_t pool_lock;
static char *pool_next;			/* carved from the current batch */
static int pool_left;
static bool pool_guarded;
COUNT_SCHED_VAR(guard_budget);
COUNT_SCHED_VAR(pool_lock);

static long read_max_map_count(void)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	long v = 65530;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 65530;
		fclose(f);
	}
	return v;
}

static void overflow_handler(int sig, siginfo_t *si, void *uc)
{
	struct m *mp = getm();
	g_t *gp = mp ? mp->curg : NULL;
	char *addr = si->si_addr;
	char msg[200];
	int n;

	if (gp && gp->guarded && addr >= gp->stack_lo - pagesz && addr < gp->stack_lo) {
		n = snprintf(msg, sizeof(msg),
			     "gmprt: fatal error: stack overflow in G %llu (stack %zu bytes; raise gmprt_config.stack_size or $GMPRT_STACK)\n",
			     (unsigned long long)gp->goid,
			     (size_t)(gp->stack_hi - gp->stack_lo));
		if (write(2, msg, n) < 0)
			n = 0;
		_exit(2);
	}
	/*
	 * Not ours: say where, as Go's "unexpected signal" does (the default
	 * action prints nothing), then let it happen when the fault repeats.
	 */
	n = snprintf(msg, sizeof(msg),
		     "gmprt: fatal error: unexpected signal %d (code %d) at address %p, pc %#lx, in G %llu on M %d%s\n",
		     sig, si->si_code, (void *)addr, (unsigned long)arch_fault_pc(uc),
		     gp ? (unsigned long long)gp->goid : 0ULL, mp ? (int)mp->id : -1,
		     gp && addr >= gp->stack_lo - 65536 && addr < gp->stack_hi ?
		     " (near its stack)" : "");
	if (write(2, msg, n) < 0)
		n = 0;
	signal(sig, SIG_DFL);
}

void gmprt_stack_init(void)
{
	struct sigaction old, sa;

	pagesz = (size_t)sysconf(_SC_PAGESIZE);
	guard_budget = (read_max_map_count() - MAP_MARGIN) / 2;
	/* Only where the program has not set its own handler. */
	if (!sigaction(SIGSEGV, NULL, &old) && old.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = overflow_handler;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGSEGV, &sa, NULL);
	}
}

/* Each M handles its overflow faults on a stack of its own. */
void gmprt_sigstack_init(struct m *mp)
{
	stack_t ss = { .ss_size = GMPRT_SIGSTACK_SIZE };

	ss.ss_sp = mmap(NULL, GMPRT_SIGSTACK_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ss.ss_sp == MAP_FAILED)
		return;
	if (sigaltstack(&ss, NULL)) {
		munmap(ss.ss_sp, GMPRT_SIGSTACK_SIZE);
		return;
	}
	mp->sigstack = ss.ss_sp;
}

/* A new batch of STACK_BATCH stacks of @size bytes.  Called with pool_lock. */
static int new_batch(size_t size)
{
	bool guarded = __atomic_sub_fetch(CW(&guard_budget), STACK_BATCH,
					  __ATOMIC_RELAXED) >= 0;
	size_t slot = size + (guarded ? pagesz : 0);
	char *mem;
	int i;

	mem = mmap(NULL, slot * STACK_BATCH, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (mem == MAP_FAILED)
		return -ENOMEM;
	if (guarded) {
		for (i = 0; i < STACK_BATCH; i++)
			if (mprotect(mem + i * slot, pagesz, PROT_NONE))
				return -ENOMEM;
	}
	pool_next = mem;
	pool_left = STACK_BATCH;
	pool_guarded = guarded;
	return 0;
}

/*
 * Give @gp a stack of @size bytes (rounded up to pages).
 * Return: 0, or -ENOMEM.
 */
int gmprt_stackalloc(g_t *gp, size_t size)
{
	int err = 0;

	size = (size + pagesz - 1) & ~(pagesz - 1);
	spin_lock(&pool_lock);
	if (!pool_left)
		err = new_batch(size);
	if (!err) {
		if (pool_guarded)
			pool_next += pagesz;
		gp->stack_lo = pool_next;
		gp->stack_hi = pool_next + size;
		gp->guarded = pool_guarded;
		pool_next += size;
		pool_left--;
	}
	spin_unlock(&pool_lock);
	return err;
}
