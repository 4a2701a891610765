// SPDX-License-Identifier: GPL-2.0
/*
 * libgmprt: GMPRT_TRACE, a timeline of the scheduler (Go's runtime/trace),
 * written at exit as Chrome trace-event JSON, which Perfetto
 * (ui.perfetto.dev) and chrome://tracing open.
 *
 * Glossary.
 *   event    one thing an M saw, stamped with CLOCK_MONOTONIC: a G starts
 *            or stops running on it, enters or leaves a system call, is
 *            spawned, parks (with its wait reason), is readied, is
 *            preempted, exits; the M lost its P (block detection or a
 *            preempt handoff), stole, took from or put to the global
 *            queue, polled the network, parked in gmp.ko and came back.
 *   buffer   an M's own list of chunks of events.  Only that M writes it.
 *   track    a lane of the picture: one per P ("Ps", tid = P id) and one
 *            per M ("Ms", tid = gmp.ko's M id).  A G's run is a span on
 *            the P it ran on and on its M; syscalls and parks in gmp.ko
 *            are spans on the M; the rest are instants.
 *   flow     an arrow from a spawn to the G's first run, and from a ready
 *            to the run it led to.
 *
 * Why it is hard.  Recording must not change what it records: no lock, no
 * shared cache line per event.  Each M appends to its own buffer, and
 * publishes an event with one release store of the chunk's count; the
 * writer at exit reads each buffer up to the count it acquires, while Ms
 * may still be running (main's return does not stop them).  So the writer
 * sees a consistent prefix of every M's events and never a torn one.
 *
 * A P's span ends when its G stops, enters a syscall, or its M learns it
 * lost the P.  The last is late: gmp.ko hands the P of a blocked M on
 * without telling the runtime, which hears of it only when the G enters
 * the runtime again.  By then another M may have run Gs on that P.  The
 * writer ends the lost span where the P's next M starts (args.lost = 1,
 * counted in otherData.clipped): the P was in other hands by then at the
 * latest.  Any other overlap on a P would be a scheduler bug, and the
 * writer does not hide it (the test checks that none is there).
 *
 * Rejected: one shared ring with an atomic index (a cache line bounced
 * between Ms on every event: the cost would distort the very scheduling
 * being traced); Go's binary format and a converter (one more tool for
 * the user; the JSON opens where people already look); streaming to the
 * file while running (a write per buffer in the middle of scheduling;
 * the bound below keeps memory small enough to hold it all).
 *
 * Bounds.  At most TRACE_MAX_EVENTS (2^20) events are kept, 32 bytes each
 * (32 MiB at most); later ones are counted in otherData.dropped.  The
 * writer sorts a copy (40 bytes each) and each event becomes at most 400
 * bytes of JSON, plus a line naming each P and M: charged to the event
 * that opens it, a span is at most 130 bytes, a flow's end 95, an instant
 * and a flow's start 220, so a START (P span, M span, flow end) is the
 * dearest at about 340.  A full trace is under 2^20 x 400 bytes, 400 MiB,
 * and typically a third of that (rt_trace_test checks the bound on a trace
 * that fills up).
 *
 * Off, each hook costs one load and a predicted branch (runtime.h's
 * traceev); a G's switch in and out shares one, taken before anything
 * else in execute(), whose traced copy is out of line: the fast path is
 * the untraced code plus that load and branch.  GMPRT_NO_TRACE compiles
 * the hooks out, for bench/ to compare (under emulation two builds of the
 * same code differ by up to 20% from code layout alone: bench/README.md).
 *
 * Who writes what.  gmprt_tracing: gmprt_trace_init, before any M starts;
 * cleared by the writer.  m->trhead/trcur and the chunks: that M only.
 * tr.reserved/dropped: any M, atomically.  The file: the writer, once.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "runtime.h"

#define TBUF_EVENTS		4096
#define TRACE_MAX_EVENTS	(1u << 20)

struct tev {
	int64_t ts;
	uint64_t g;		/* goid, or 0 */
	uint64_t arg;		/* per type: a P, a count, a wait reason */
	int32_t p;		/* the P the M held, or -1 */
	uint32_t type;
};

struct tbuf {
	struct tbuf *next;
	uint32_t n;		/* published events: release-stored */
	struct tev ev[TBUF_EVENTS];
};

bool gmprt_tracing;

/* The netpoller's thread is not an M; it gets a track of its own. */
#define TRACE_POLLER_M	65535

static struct {
	struct m *poller;
	char *path;
	uint64_t reserved;	/* events chunks were taken for */
	uint64_t dropped;
	uint32_t written;	/* the file was written (once) */
	int64_t t0;
} tr;
COUNT_SCHED_VAR(tr);
COUNT_SCHED_VAR(gmprt_tracing);

/* GMPRT_TRACE=FILE: 0, or -errno if FILE cannot be created. */
int gmprt_trace_init(void)
{
	const char *v = getenv("GMPRT_TRACE");
	FILE *f;

	if (!v || !*v)
		return 0;
	/* Made now, so that a bad path fails at start, not after the run. */
	f = fopen(v, "w");
	if (!f) {
		int err = -errno;

		fprintf(stderr, "gmprt: $GMPRT_TRACE: cannot create %s: %s\n", v,
			strerror(errno));
		return err;
	}
	fclose(f);
	tr.path = strdup(v);
	if (!tr.path)
		return -ENOMEM;
	tr.t0 = gmprt_now();
	atexit(gmprt_trace_write);
	store_release(&gmprt_tracing, true);
	return 0;
}

/* A tracing identity for the netpoller's thread, or NULL when not tracing. */
struct m *gmprt_trace_thread(void)
{
	struct m *mp;

	if (!load_acquire(&gmprt_tracing) || load_acquire(&tr.poller))
		return NULL;
	mp = calloc(1, sizeof(*mp));
	if (mp) {
		mp->id = TRACE_POLLER_M;
		store_release(&tr.poller, mp);
	}
	return mp;
}

void gmprt_traceev(struct m *mp, unsigned int type, uint64_t g, int p, uint64_t arg)
{
	struct tbuf *b;
	struct tev *e;
	uint32_t n;

	if (!mp)
		return;		/* a foreign thread: not an M, not traced */
	b = mp->trcur;
	n = b ? b->n : TBUF_EVENTS;
	if (n == TBUF_EVENTS) {
		struct tbuf *nb = NULL;

		if (load_relaxed(&tr.reserved) < TRACE_MAX_EVENTS &&
		    __atomic_fetch_add(CW(&tr.reserved), TBUF_EVENTS, __ATOMIC_RELAXED) <
			    TRACE_MAX_EVENTS)
			nb = malloc(sizeof(*nb));
		if (!nb) {
			__atomic_fetch_add(CW(&tr.dropped), 1, __ATOMIC_RELAXED);
			return;
		}
		nb->next = NULL;
		nb->n = 0;
		if (b)
			store_release(&b->next, nb);
		else
			store_release(&mp->trhead, nb);
		mp->trcur = b = nb;
		n = 0;
	}
	e = &b->ev[n];
	e->ts = gmprt_now();
	e->g = g;
	e->arg = arg;
	e->p = p;
	e->type = type;
	store_release(&b->n, n + 1);
}

/* ---- the writer ---------------------------------------------------------- */

struct rec {
	struct tev e;
	uint32_t m;
	uint32_t seq;		/* order within its M */
};

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->e.ts != y->e.ts)
		return x->e.ts < y->e.ts ? -1 : 1;
	if (x->m != y->m)
		return x->m < y->m ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

enum { MS_NONE, MS_RUN, MS_SYSCALL, MS_IDLE };

struct mstate {
	int kind;
	uint64_t g;
	int64_t start;
};

struct pstate {
	bool open;
	uint64_t g;
	uint32_t m;
	int64_t start;
};

/* Pending flows: goid -> flow id, open addressing (goids are never 0). */
struct flows {
	uint64_t *key, *val;
	size_t mask;
	uint64_t next;
};

static uint64_t *flow_slot(struct flows *fl, uint64_t g)
{
	size_t i = (g * 0x9e3779b97f4a7c15ull) & fl->mask;

	while (fl->key[i] && fl->key[i] != g)
		i = (i + 1) & fl->mask;
	fl->key[i] = g;
	return &fl->val[i];
}

#define PID_P	1
#define PID_M	2

struct out {
	FILE *f;
	int64_t t0;
	bool first;
	uint64_t clipped;
};

/* Microseconds with nanosecond digits, without floating point. */
static void put_us(struct out *o, const char *key, int64_t ns)
{
	if (ns < 0)
		ns = 0;
	fprintf(o->f, ",\"%s\":%" PRId64 ".%03" PRId64, key, ns / 1000, ns % 1000);
}

static void obj_start(struct out *o, const char *ph, int pid, long tid, int64_t ts)
{
	fprintf(o->f, "%s\n{\"ph\":\"%s\",\"pid\":%d,\"tid\":%ld", o->first ? "" : ",",
		ph, pid, tid);
	o->first = false;
	put_us(o, "ts", ts - o->t0);
}

static void span(struct out *o, int pid, long tid, const char *what, uint64_t g,
		 int64_t start, int64_t end, uint32_t m, bool lost)
{
	obj_start(o, "X", pid, tid, start);
	put_us(o, "dur", end - start);
	if (g)
		fprintf(o->f, ",\"name\":\"G%" PRIu64 "\",\"args\":{\"g\":%" PRIu64 ",\"m\":%u%s}}",
			g, g, m, lost ? ",\"lost\":1" : "");
	else
		fprintf(o->f, ",\"name\":\"%s\",\"args\":{\"m\":%u}}", what, m);
}

/* A JSON string of a wait reason: ours are literals, but escape anyway. */
static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void instant(struct out *o, const struct rec *r, const char *name)
{
	int pid = r->e.p >= 0 ? PID_P : PID_M;
	long tid = r->e.p >= 0 ? r->e.p : (long)r->m;

	obj_start(o, "i", pid, tid, r->e.ts);
	fprintf(o->f, ",\"s\":\"t\",\"name\":\"%s\",\"args\":{\"m\":%u", name, r->m);
	if (r->e.g)
		fprintf(o->f, ",\"g\":%" PRIu64, r->e.g);
	switch (r->e.type) {
	case TR_PARK:
		fputs(",\"reason\":", o->f);
		put_str(o->f, (const char *)(uintptr_t)r->e.arg);
		break;
	case TR_STEAL:
		fprintf(o->f, ",\"from\":%" PRIu64, r->e.arg);
		break;
	case TR_LOSTP:
		fprintf(o->f, ",\"p\":%" PRIu64, r->e.arg);
		break;
	case TR_GLOBAL_GET:
	case TR_GLOBAL_PUT:
	case TR_NETPOLL:
		fprintf(o->f, ",\"n\":%" PRIu64, r->e.arg);
		break;
	}
	fputs("}}", o->f);
}

static void flow(struct out *o, const char *ph, const char *name, uint64_t id,
		 int pid, long tid, int64_t ts)
{
	obj_start(o, ph, pid, tid, ts);
	fprintf(o->f, ",\"cat\":\"flow\",\"name\":\"%s\",\"id\":%" PRIu64 "%s}", name, id,
		ph[0] == 'f' ? ",\"bp\":\"e\"" : "");
}

static void m_close(struct out *o, struct mstate *ms, uint32_t m, int64_t ts)
{
	static const char *const what[] = { "", "", "syscall", "idle" };

	if (ms->kind != MS_NONE)
		span(o, PID_M, m, what[ms->kind], ms->kind == MS_RUN ? ms->g : 0,
		     ms->start, ts, m, false);
	ms->kind = MS_NONE;
}

static void m_open(struct mstate *ms, int kind, uint64_t g, int64_t ts)
{
	ms->kind = kind;
	ms->g = g;
	ms->start = ts;
}

static void p_close(struct out *o, struct pstate *ps, int p, int64_t ts, bool lost)
{
	if (ps->open)
		span(o, PID_P, p, "", ps->g, ps->start, ts, ps->m, lost);
	ps->open = false;
}

/* G @g starts running on P @p (of @np), on M @r->m. */
static void run_start(struct out *o, struct pstate *pss, int np, struct mstate *ms,
		      struct flows *fl, const struct rec *r, int p)
{
	uint64_t *pend;

	if (p >= 0 && p < np) {
		struct pstate *ps = &pss[p];

		if (ps->open && ps->m != r->m) {
			/* Its M has not noticed yet that gmp.ko took it. */
			p_close(o, ps, p, r->e.ts, true);
			o->clipped++;
		}
		p_close(o, ps, p, r->e.ts, false);
		*ps = (struct pstate){ true, r->e.g, r->m, r->e.ts };
	}
	if (ms->kind != MS_RUN || ms->g != r->e.g) {
		m_close(o, ms, r->m, r->e.ts);
		m_open(ms, MS_RUN, r->e.g, r->e.ts);
	}
	pend = flow_slot(fl, r->e.g);
	if (*pend) {
		flow(o, "f", "", *pend, p >= 0 ? PID_P : PID_M, p >= 0 ? p : (long)r->m, r->e.ts);
		*pend = 0;
	}
}

/* The P span of @r's G, if this M still has it open. */
static void run_stop(struct out *o, struct pstate *pss, int np, const struct rec *r,
		     int p, bool lost)
{
	if (p >= 0 && p < np && pss[p].open && pss[p].m == r->m)
		p_close(o, &pss[p], p, r->e.ts, lost);
}

static const char *const trace_names[TR_NTYPES] = {
	[TR_SPAWN] = "spawn", [TR_READY] = "ready", [TR_PARK] = "park",
	[TR_PREEMPT] = "preempt", [TR_EXIT] = "exit",
	[TR_STEAL] = "steal", [TR_GLOBAL_GET] = "global get",
	[TR_GLOBAL_PUT] = "global put", [TR_NETPOLL] = "netpoll",
	[TR_LOSTP] = "P lost",
};

static void write_events(struct out *o, struct rec *rs, size_t n, uint32_t maxm)
{
	int np = sched.maxprocs, i;
	struct pstate *pss = calloc(np, sizeof(*pss));
	struct mstate *mss = calloc(maxm + 1, sizeof(*mss));
	int *mp_p = malloc((maxm + 1) * sizeof(int));
	struct flows fl = { 0 };
	int64_t last = n ? rs[n - 1].e.ts : o->t0;
	size_t k, cap = 64;

	while (cap < 2 * n)
		cap <<= 1;
	fl.key = calloc(cap, sizeof(*fl.key));
	fl.val = calloc(cap, sizeof(*fl.val));
	fl.mask = cap - 1;
	if (!pss || !mss || !mp_p || !fl.key || !fl.val)
		goto out;
	for (k = 0; k <= maxm; k++)
		mp_p[k] = -1;
	for (k = 0; k < n; k++) {
		const struct rec *r = &rs[k];
		struct mstate *ms = &mss[r->m];
		uint64_t *pend;

		switch (r->e.type) {
		case TR_START:
			run_start(o, pss, np, ms, &fl, r, r->e.p);
			mp_p[r->m] = r->e.p;
			break;
		case TR_STOP:
			run_stop(o, pss, np, r, mp_p[r->m], false);
			if (ms->kind == MS_RUN)
				m_close(o, ms, r->m, r->e.ts);
			break;
		case TR_SYSCALL:
			run_stop(o, pss, np, r, mp_p[r->m], false);
			m_close(o, ms, r->m, r->e.ts);
			m_open(ms, MS_SYSCALL, r->e.g, r->e.ts);
			break;
		case TR_SYSCALL_END:
			if (ms->kind == MS_SYSCALL)
				m_close(o, ms, r->m, r->e.ts);
			mp_p[r->m] = r->e.p;
			if (r->e.p >= 0)
				run_start(o, pss, np, ms, &fl, r, r->e.p);
			break;
		case TR_LOSTP:
			run_stop(o, pss, np, r, (int)r->e.arg, true);
			mp_p[r->m] = -1;
			instant(o, r, trace_names[r->e.type]);
			break;
		case TR_MPARK:
			m_close(o, ms, r->m, r->e.ts);
			m_open(ms, MS_IDLE, 0, r->e.ts);
			mp_p[r->m] = -1;
			break;
		case TR_MUNPARK:
			if (ms->kind == MS_IDLE)
				m_close(o, ms, r->m, r->e.ts);
			break;
		case TR_SPAWN:
		case TR_READY: {
			const char *name = trace_names[r->e.type];

			instant(o, r, name);
			pend = flow_slot(&fl, r->e.type == TR_SPAWN ? r->e.arg : r->e.g);
			*pend = ++fl.next;
			flow(o, "s", "", *pend, r->e.p >= 0 ? PID_P : PID_M,
			     r->e.p >= 0 ? r->e.p : (long)r->m, r->e.ts);
			break;
		}
		default:
			if (r->e.type < TR_NTYPES && trace_names[r->e.type])
				instant(o, r, trace_names[r->e.type]);
			break;
		}
	}
	/* What is still open runs to the end of the trace. */
	for (i = 0; i < np; i++)
		p_close(o, &pss[i], i, last, false);
	for (k = 0; k <= maxm; k++)
		m_close(o, &mss[k], k, last);
out:
	free(pss);
	free(mss);
	free(mp_p);
	free(fl.key);
	free(fl.val);
}

static void write_names(struct out *o, uint32_t maxm, const bool *seen)
{
	uint32_t k;
	int i;

	fprintf(o->f, "\n{\"ph\":\"M\",\"pid\":%d,\"name\":\"process_name\",\"args\":{\"name\":\"Ps\"}},",
		PID_P);
	fprintf(o->f, "\n{\"ph\":\"M\",\"pid\":%d,\"name\":\"process_name\",\"args\":{\"name\":\"Ms\"}}",
		PID_M);
	for (i = 0; i < sched.maxprocs; i++)
		fprintf(o->f, ",\n{\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"name\":\"thread_name\",\"args\":{\"name\":\"P%d\"}}",
			PID_P, i, i);
	for (k = 0; k <= maxm; k++)
		if (seen[k] && k == TRACE_POLLER_M)
			fprintf(o->f, ",\n{\"ph\":\"M\",\"pid\":%d,\"tid\":%u,\"name\":\"thread_name\",\"args\":{\"name\":\"netpoller\"}}",
				PID_M, k);
		else if (seen[k])
			fprintf(o->f, ",\n{\"ph\":\"M\",\"pid\":%d,\"tid\":%u,\"name\":\"thread_name\",\"args\":{\"name\":\"M%u\"}}",
				PID_M, k, k);
	o->first = false;
}

/* Every M, then the netpoller's identity. */
static struct m *next_m(struct m *mp)
{
	if (mp == tr.poller)
		return NULL;
	return mp->alllink ? mp->alllink : load_acquire(&tr.poller);
}

/*
 * gmprt_trace_write() - stop recording and write GMPRT_TRACE's file.  At
 * gmprt_main's return, at exit() (atexit), and before a deadlock's exit;
 * only the first call writes.
 */
void gmprt_trace_write(void)
{
	struct out o = { .first = true };
	struct rec *rs;
	uint32_t maxm = 0;
	bool *seen;
	size_t n = 0, k = 0;
	struct m *mp;

	if (!tr.path || __atomic_exchange_n(CW(&tr.written), 1, __ATOMIC_ACQ_REL))
		return;
	store_relaxed(&gmprt_tracing, false);
	for (mp = load_acquire(&sched.allm); mp; mp = next_m(mp)) {
		struct tbuf *b;

		if (mp->id > maxm)
			maxm = mp->id;
		for (b = load_acquire(&mp->trhead); b; b = load_acquire(&b->next))
			n += load_acquire(&b->n);
	}
	rs = malloc((n ? n : 1) * sizeof(*rs));
	seen = calloc(maxm + 1, sizeof(*seen));
	o.f = fopen(tr.path, "w");
	if (!rs || !seen || !o.f) {
		fprintf(stderr, "gmprt: $GMPRT_TRACE: cannot write %s: %s\n", tr.path,
			o.f ? "out of memory" : strerror(errno));
		goto out;
	}
	for (mp = load_acquire(&sched.allm); mp; mp = next_m(mp)) {
		struct tbuf *b;
		uint32_t seq = 0;

		for (b = load_acquire(&mp->trhead); b && k < n; b = load_acquire(&b->next)) {
			uint32_t i, bn = load_acquire(&b->n);

			for (i = 0; i < bn && k < n; i++) {
				rs[k].e = b->ev[i];
				rs[k].m = mp->id;
				rs[k++].seq = seq++;
				seen[mp->id] = true;
			}
		}
	}
	n = k;
	qsort(rs, n, sizeof(*rs), rec_cmp);
	o.t0 = tr.t0;
	setvbuf(o.f, NULL, _IOFBF, 1 << 20);
	fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", o.f);
	write_names(&o, maxm, seen);
	write_events(&o, rs, n, maxm);
	fprintf(o.f, "\n],\"otherData\":{\"runtime\":\"gmp %s\",\"events\":%zu,"
		"\"dropped\":%" PRIu64 ",\"clipped\":%" PRIu64 "}}\n",
		gmprt_version(), n, load_relaxed(&tr.dropped), o.clipped);
out:
	if (o.f && fclose(o.f))
		fprintf(stderr, "gmprt: $GMPRT_TRACE: writing %s: %s\n", tr.path,
			strerror(errno));
	free(rs);
	free(seen);
}
