// SPDX-License-Identifier: GPL-2.0
/*
 * libgmprt: seeing the scheduler without a debugger.  Go's GODEBUG
 * schedtrace/scheddetail as GMPRT_DEBUG, and the goroutine dump (on
 * SIGQUIT, on a deadlock, or by gmprt_dump()).
 *
 * Glossary.
 *   allg        every G ever made (Go's allgs).  Gs are never freed (they
 *               go to free lists with their stacks), so the list only grows
 *               and a walk needs no lock: it is a prepend-only list.
 *   waitreason  what a parked G waits on ("chan receive", "IO wait"...),
 *               a string literal its gopark names (Go's waitReason).
 *   coarsenow   a clock the main thread keeps, every 100 ms at most: what
 *               a park stamps into the G, so that "waited 1200 ms" costs a
 *               park one load and one store, not a clock read.
 *
 * Why it is hard.  A dump wants the state of every G at one instant; Go
 * stops the world for it.  We do not: the dump reads each G's status,
 * reason and M with plain loads while Ms run, so a G may be printed as
 * running while it has just parked.  That is enough to find what a stuck
 * program waits on, which is what dumps are for (a stuck program's Gs do
 * not move), and a dump never disturbs the program.  A signal handler may
 * not print (stdio is not async-signal-safe) and may run on a G's small
 * stack: SIGQUIT's handler only sets sched.dumpreq and wakes the main
 * thread, which prints from its own stack and exits, as Go does, with
 * status 2.
 *
 * Rejected: a thread of its own for schedtrace (the main thread already
 * wakes every 100 ms for checkdead: its sleep is shortened instead); a
 * clock read in every park for waitsince (the fast path makes no
 * syscall, and on arm64 under emulation even the vDSO's is slow).
 *
 * Who writes what.  allg: gmprt_allgadd (CAS prepend, any thread).
 * waitreason: the G itself, in gopark.  waitsince: its M in park_m.
 * coarsenow, the schedtrace clock: the main thread in waitmain.
 * dumpreq: the SIGQUIT handler.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include "runtime.h"

void gmprt_allgadd(g_t *gp)
{
	g_t *head = load_relaxed(&sched.allg);

	do {
		gp->alllink = head;
	} while (!__atomic_compare_exchange_n(CW(&sched.allg), &head, gp, true,
					      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

static int64_t monotime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *const gstatus_names[] = {
	[G_IDLE] = "idle",
	[G_RUNNABLE] = "runnable",
	[G_RUNNING] = "running",
	[G_SYSCALL] = "syscall",
	[G_WAITING] = "waiting",
	[G_DEAD] = "dead",
};

static const char *gstatus_name(uint32_t st)
{
	return st < sizeof(gstatus_names) / sizeof(gstatus_names[0]) ?
	       gstatus_names[st] : "?";
}

/* The G's state as the dump says it: its wait reason while it waits. */
static const char *gstate(const g_t *gp, uint32_t st)
{
	const char *why = load_relaxed(&gp->waitreason);

	return st == G_WAITING && why ? why : gstatus_name(st);
}

/* The M running @gp, or -1: read once, the G may be moving. */
static long gm(const g_t *gp, uint32_t st)
{
	struct m *mp = load_relaxed(&gp->m);

	return (st == G_RUNNING || st == G_SYSCALL) && mp ? (long)mp->id : -1;
}

void gmprt_dump(int fd)
{
	int64_t now = load_relaxed(&sched.coarsenow);
	FILE *f;
	g_t *gp;
	int nfd = dup(fd);

	if (nfd < 0 || !(f = fdopen(nfd, "w"))) {
		if (nfd >= 0)
			close(nfd);
		return;
	}
	for (gp = load_acquire(&sched.allg); gp; gp = gp->alllink) {
		uint32_t st = load_relaxed(&gp->status);
		struct m *lm = load_relaxed(&gp->lockedm);

		if (st == G_DEAD || st == G_IDLE)
			continue;
		fprintf(f, "goroutine %llu [%s", (unsigned long long)gp->goid,
			gstate(gp, st));
		if (st == G_WAITING && now > gp->waitsince)
			fprintf(f, ", %lld ms",
				(long long)((now - gp->waitsince) / 1000000));
		fprintf(f, "]: m=%ld", gm(gp, st));
		if (lm)
			fprintf(f, " lockedm=%u", lm->id);
		fputc('\n', f);
	}
	fclose(f);
}

/* Go's scheddetail G lines, after gmp.ko's P and M lines. */
static void dump_detail(FILE *f)
{
	g_t *gp;

	for (gp = load_acquire(&sched.allg); gp; gp = gp->alllink) {
		uint32_t st = load_relaxed(&gp->status);
		struct m *lm = load_relaxed(&gp->lockedm);

		if (st == G_DEAD || st == G_IDLE)
			continue;
		fprintf(f, "  G%llu: status=%u(%s) m=%ld lockedm=%ld\n",
			(unsigned long long)gp->goid, st, gstate(gp, st),
			gm(gp, st), lm ? (long)lm->id : -1L);
	}
}

static void schedtrace(void)
{
	char *buf;
	size_t len = sched.scheddetail ? 1 << 20 : 4096;
	int n;

	buf = malloc(len);
	if (!buf)
		return;
	n = gmprt_schedtrace(buf, len, sched.scheddetail);
	if (n > 0) {
		fputs(buf, stderr);
		if (buf[n - 1] != '\n')
			fputc('\n', stderr);
		if (sched.scheddetail)
			dump_detail(stderr);
		fflush(stderr);
	}
	free(buf);
}

static void sigquit(int sig)
{
	(void)sig;
	store_release(&sched.dumpreq, 1);
	syscall(SYS_futex, &sched.maindone, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* "schedtrace=MS,scheddetail=1": 0, or -EINVAL said on stderr. */
static int parse_debug(const char *v)
{
	char *copy = strdup(v), *save = NULL, *kv;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	for (kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '='), *end;
		long n;

		if (!eq) {
			fprintf(stderr, "gmprt: $GMPRT_DEBUG: '%s' is not key=value\n", kv);
			err = -EINVAL;
			break;
		}
		*eq = 0;
		errno = 0;
		n = strtol(eq + 1, &end, 10);
		if (!strcmp(kv, "schedtrace") || !strcmp(kv, "scheddetail")) {
			if (*end || end == eq + 1 || n < 0 || errno) {
				fprintf(stderr, "gmprt: $GMPRT_DEBUG: %s=%s (a non-negative number)\n",
					kv, eq + 1);
				err = -EINVAL;
				break;
			}
			if (!strcmp(kv, "schedtrace"))
				sched.schedtrace_ns = (int64_t)n * 1000000;
			else
				sched.scheddetail = n != 0;
		} else {
			/* As GODEBUG: a key this library lacks is not an error. */
			fprintf(stderr, "gmprt: $GMPRT_DEBUG: unknown setting '%s' ignored\n", kv);
		}
	}
	free(copy);
	return err;
}

/* GMPRT_DEBUG, read before anything starts: 0, or -EINVAL. */
int gmprt_debug_init(void)
{
	const char *v = getenv("GMPRT_DEBUG");

	sched.schedtrace_ns = 0;
	sched.scheddetail = false;
	store_relaxed(&sched.coarsenow, monotime());
	return v && *v ? parse_debug(v) : 0;
}

/*
 * Once the runtime runs (a program that falls back to plain threads keeps
 * SIGQUIT's default): dump on SIGQUIT where the program left it alone.
 */
void gmprt_debug_start(void)
{
	struct sigaction old, sa;

	if (!sigaction(SIGQUIT, NULL, &old) && old.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = sigquit;
		sa.sa_flags = SA_RESTART | SA_ONSTACK;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGQUIT, &sa, NULL);
	}
}

/* main returned: nobody will serve a dump request any more. */
void gmprt_debug_stop(void)
{
	struct sigaction cur;

	if (!sigaction(SIGQUIT, NULL, &cur) && cur.sa_handler == sigquit)
		signal(SIGQUIT, SIG_DFL);
}

/*
 * The main thread, between its waits: the coarse clock, schedtrace when
 * due, a dump if SIGQUIT came.  Return: how long it may sleep next, at
 * most @max ns.
 */
int64_t gmprt_debug_tick(int64_t max)
{
	static int64_t nexttrace;
	int64_t now = monotime();

	store_relaxed(&sched.coarsenow, now);
	if (unlikely(load_acquire(&sched.dumpreq))) {
		fputs("SIGQUIT: quit\n\n", stderr);
		fflush(stderr);
		gmprt_dump(2);
		_exit(2);
	}
	if (!sched.schedtrace_ns)
		return max;
	if (!nexttrace)
		nexttrace = now + sched.schedtrace_ns;
	if (now >= nexttrace) {
		schedtrace();
		nexttrace += sched.schedtrace_ns;
		if (nexttrace <= now)
			nexttrace = now + sched.schedtrace_ns;
	}
	return nexttrace - now < max ? nexttrace - now : max;
}
