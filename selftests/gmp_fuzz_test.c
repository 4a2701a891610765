// SPDX-License-Identifier: GPL-2.0
/*
 * gmp_fuzz_test: a bounded, seeded fuzzer of gmp.ko's whole interface.
 *
 * It runs episodes until its budget is spent (GMP_FUZZ_TIME seconds, 15 by
 * default; make check-debug gives it 60).  Each episode is a process of its
 * own, in its own process group, that:
 *
 *  - opens a few instances (at fixed high fd numbers), sets them up with
 *    random and boundary parameters, maps their regions;
 *  - runs worker threads that make every ioctl with random, boundary and
 *    mostly-valid arguments, argument structs at bad addresses (NULL, a
 *    kernel address, straddling into an unmapped page, read-only so that
 *    only the answer's copy-out faults), wrong command numbers; that park
 *    (bounded, past, endless deadlines; woken by an epoll file too, or
 *    given a bad one), wake each other, acquire, release,
 *    steal from and put into the rings, use the global queue, wait as
 *    template threads, unregister, and sometimes exit holding a P;
 *  - runs scribblers that write garbage into the shared rings and counters;
 *  - from its main thread: signals parked threads (EINTR), maps, unmaps,
 *    remaps, mprotects and madvises extra mappings of both regions, shuts
 *    an instance down by closing a dup of its fd while calls are in flight,
 *    closes an fd outright and opens a new instance at the same number,
 *    forks children that try every call on the inherited fds (EPERM) and
 *    close them (no effect on the parent), execs programs that do the same,
 *    and starts a process whose threads park in an instance and that then
 *    execs (de_thread kills the parked threads; the new image is still the
 *    owner), SIGKILLs those processes while their threads are parked;
 *  - ends by closing everything, by exit_group() with threads in the
 *    kernel, or by a SIGKILL from the test process at a random moment.
 *
 * What fails an episode: a call answering an errno its documentation does
 * not allow (docs/kernel-interface.md) or an answer out of range; the
 * kernel's invariants broken in a schedtrace (a P held by two Ms, a held P
 * that names no M, counters that are not the lengths of the lists); a
 * child or exec'd process that is not refused; an episode that does not end
 * (a thread stuck in the kernel); an instance or a module reference left
 * behind once every process of the episode is gone; and any kernel splat
 * in the log (checked here after each episode, and by the verdict, which
 * names the episode running when it came: the debug kernel panics on the
 * first WARN).
 *
 * Reproducing: the seed is printed first (GMP_FUZZ_SEED sets it; a new one
 * each run otherwise) and every episode is marked in the kernel log
 * ("gmp-fuzz: seed S episode E").  GMP_FUZZ_SEED=S/E runs episode E of
 * seed S alone.  A seed fixes what each thread and the main thread do and
 * with which arguments, not how the threads interleave: a seed that found
 * a race finds it again often, not always (run it a few times).  A failing
 * seed becomes a named regression test (FUZZ_REGRESSION below), and the bug
 * a deterministic test of its own in the file of the feature it broke.
 */
#include <dirent.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "gmp_util.h"
#include "kselftest_harness.h"

#define FZ_MAXINST	4	/* instances an episode has at once */
#define FZ_MAXW		6	/* worker threads */
#define FZ_MAXSCRIB	2	/* scribbler threads */
#define FZ_MAXFILES	64	/* files an episode opens in all (never freed) */
#define FZ_MAXMAPS	16	/* extra mappings */
#define FZ_MAXKIDS	6	/* subprocesses at once */
#define FZ_FD0		600	/* instance k lives at fd FZ_FD0 + k */
#define FZ_EXECFD0	700	/* ... and, in an exec'd child, at FZ_EXECFD0 + k */
#define FZ_TRACE_BUF	(1 << 20)
#define FZ_NCMD		14	/* the 13 ioctls, and a wrong command */
#define FZ_NERR		134	/* errno values counted (< 134) */
#define KTIME_MAX_NS	0x7fffffffffffffffULL

/* ---- what every process of an episode reports into ---------------------- */

struct fz_shared {
	atomic_int failed;
	char msg[2048];
	/* Per command: calls, and answers by errno (0: success). */
	atomic_ulong calls[FZ_NCMD];
	atomic_ulong answers[FZ_NCMD][FZ_NERR];
	atomic_ulong forks, execs, owner_execs, kills, shutdowns, replaces,
		maps, signals, exits_holding;
	/* Each worker's last call, to name a stuck one. */
	atomic_uint last_cmd[FZ_MAXW];
	atomic_int in_call[FZ_MAXW];
};

static struct fz_shared *fzs;

static const char *const cmd_names[FZ_NCMD] = {
	"SETUP", "REGISTER", "UNREGISTER", "PARK", "WAKE", "ACQUIRE_P",
	"RELEASE_P", "RUNQ_PUT", "RUNQ_GET", "NEWM_WAIT", "SCHEDTRACE",
	"SYSMON", "PROCRESIZE", "(bad cmd)",
};

static const unsigned long cmds[FZ_NCMD - 1] = {
	GMP_IOC_SETUP, GMP_IOC_REGISTER, GMP_IOC_UNREGISTER, GMP_IOC_PARK,
	GMP_IOC_WAKE, GMP_IOC_ACQUIRE_P, GMP_IOC_RELEASE_P, GMP_IOC_RUNQ_PUT,
	GMP_IOC_RUNQ_GET, GMP_IOC_NEWM_WAIT, GMP_IOC_SCHEDTRACE, GMP_IOC_SYSMON,
	GMP_IOC_PROCRESIZE,
};

enum { C_SETUP, C_REGISTER, C_UNREGISTER, C_PARK, C_WAKE, C_ACQUIRE,
       C_RELEASE, C_PUT, C_GET, C_NEWM, C_TRACE, C_SYSMON, C_RESIZE, C_BADCMD };

static __attribute__((format(printf, 1, 2))) void fz_fail(const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&fzs->failed, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(fzs->msg, sizeof(fzs->msg), fmt, ap);
	va_end(ap);
}

/* ---- randomness --------------------------------------------------------- */

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

struct rng {
	uint64_t s;
};

static void rng_init(struct rng *r, uint64_t seed, uint64_t stream)
{
	r->s = splitmix(seed ^ splitmix(stream + 1)) | 1;
}

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

static uint32_t below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rnd(r) % n) : 0;
}

static bool chance(struct rng *r, unsigned int pct)
{
	return below(r, 100) < pct;
}

/* A value programs get wrong: limits, off-by-ones, signs, all ones. */
static uint32_t edge32(struct rng *r)
{
	static const uint32_t e[] = {
		0, 1, 2, 3, 4, 7, 8, 31, 32, 63, 64, 127, 128, 129, 255, 256,
		257, 508, 509, 510, 1023, 1024, 1025, 4095, 4096, 9999, 10000,
		10001, 1u << 22, (1u << 22) + 1, 0x7fffffff, 0x80000000,
		0xfffffffe, 0xffffffff, GMP_P_SYSCALL_M(0), GMP_P_SYSCALL_M(1),
		GMP_P_DEAD,
	};

	return chance(r, 70) ? e[below(r, sizeof(e) / sizeof(e[0]))] :
			       (uint32_t)rnd(r);
}

static uint64_t edge64(struct rng *r)
{
	static const uint64_t e[] = {
		0, 1, 2, KTIME_MAX_NS, KTIME_MAX_NS + 1, 1ull << 63, ~0ull,
		0xffff888000000000ull, 0x0000800000000000ull, 4096,
	};

	return chance(r, 60) ? e[below(r, sizeof(e) / sizeof(e[0]))] : rnd(r);
}

/* ---- the episode's files and threads ------------------------------------ */

/*
 * One open file of /dev/gmp.  Never freed during the episode, so that a
 * pointer to one is never reused: a thread that loaded inst->cur before a
 * call and finds another one after it knows the fd changed meanwhile.
 */
struct fz_file {
	int gen;
	atomic_int setup;	/* SETUP answered: @prm is known */
	atomic_int mapped;	/* ... and the primary mappings exist */
	bool rdonly;		/* opened O_RDONLY: no writable mapping */
	atomic_int closing;	/* a close of it has begun: ESHUTDOWN allowed */
	pthread_mutex_t lock;
	struct gmp_params prm;
	uint8_t *sched;		/* primary mappings: unmapped only at exit */
	uint8_t *procs;
	uint8_t *ms;		/* the M slots */
	/*
	 * GMP_SETUP_RESIZE: Ps come and go.  pmax bounds every P id the
	 * kernel may answer (raised before a resize asks for more); pmade,
	 * the Ps whose pages surely exist (raised after it succeeded): only
	 * those may be touched.  Without the flag both are prm.nprocs.
	 */
	atomic_int pmax;
	atomic_int pmade;
};

static void fz_raise(atomic_int *v, int n)
{
	int cur = atomic_load(v);

	while (cur < n && !atomic_compare_exchange_weak(v, &cur, n))
		;
}

struct fz_inst {
	_Atomic(struct fz_file *) cur;	/* NULL while the fd is being replaced */
};

struct fz_map {
	uint8_t *addr;
	size_t len;
};

struct fz_ep {
	uint64_t seed;
	int episode;
	uint64_t deadline;		/* CLOCK_MONOTONIC ns */
	int ninst;
	struct fz_inst inst[FZ_MAXINST];
	struct fz_file files[FZ_MAXFILES];
	atomic_int nfiles;
	int nworkers;
	pthread_t workers[FZ_MAXW];
	atomic_int worker_exited[FZ_MAXW];
	pid_t worker_tid[FZ_MAXW];
	int nscrib;
	pthread_t scribs[FZ_MAXSCRIB];
	atomic_int stop;
	struct fz_map maps[FZ_MAXMAPS];
	pid_t kids[FZ_MAXKIDS];
	int kidkind[FZ_MAXKIDS];
	int memfd;			/* the shared page, for exec'd children */
};

static struct fz_ep *ep;

static size_t page;

/* A new file at slot @k's fd number, maybe set up.  Main thread only. */
static struct fz_file *fz_file_new(void)
{
	int i = atomic_fetch_add(&ep->nfiles, 1);
	struct fz_file *f;

	if (i >= FZ_MAXFILES)
		return NULL;
	f = &ep->files[i];
	f->gen = i;
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

/* Record what SETUP answered for @f, and map its regions. */
static void fz_publish_setup(struct fz_file *f, int fd, const struct gmp_params *prm)
{
	void *s, *p;

	pthread_mutex_lock(&f->lock);
	if (atomic_load(&f->setup) || prm->nprocs < 1 ||
	    prm->nprocs > GMP_MAX_PROCS) {
		pthread_mutex_unlock(&f->lock);
		return;
	}
	f->prm = *prm;
	/* Raised, not set: a resize racing with us may have asked for more. */
	fz_raise(&f->pmax, prm->nprocs);
	fz_raise(&f->pmade, prm->nprocs);
	atomic_store(&f->setup, 1);
	s = mmap(NULL, prm->sched.size, PROT_READ, MAP_SHARED, fd, GMP_OFF_SCHED);
	p = mmap(NULL, prm->procs.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 GMP_OFF_PROCS);
	f->ms = mmap(NULL, prm->ms.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		     GMP_OFF_MS);
	if (f->ms == MAP_FAILED)
		f->ms = NULL;
	if (s != MAP_FAILED && p != MAP_FAILED) {
		f->sched = s;
		f->procs = p;
		atomic_store(&f->mapped, 1);
	} else {
		/* Only a close racing with us, or the file's mode, may refuse them. */
		if (!atomic_load(&f->closing) && !(f->rdonly && p == MAP_FAILED &&
						   errno == EACCES))
			fz_fail("mmap of a set-up instance (%u Ps) failed: %s",
				prm->nprocs, strerror(errno));
		if (s != MAP_FAILED)
			munmap(s, prm->sched.size);
		if (p != MAP_FAILED)
			munmap(p, prm->procs.size);
	}
	pthread_mutex_unlock(&f->lock);
}

static void setup_params(struct rng *r, struct gmp_params *prm)
{
	static const uint32_t np[] = { 0, 1, 1, 2, 2, 3, 4, 4, 5, 8, 16 };

	memset(prm, 0, sizeof(*prm));
	prm->nprocs = np[below(r, sizeof(np) / sizeof(np[0]))];
	if (chance(r, 3))
		prm->nprocs = chance(r, 50) ? GMP_MAX_PROCS : edge32(r);
	if (chance(r, 30))
		prm->flags = below(r, 8);	/* TEMPLATE, HANDOFF, RESIZE */
	if (chance(r, 5))
		prm->flags = edge32(r);
	if (chance(r, 5))
		((uint32_t *)prm)[below(r, sizeof(*prm) / 4)] = edge32(r);
}

/* ---- errno rules, from docs/kernel-interface.md ------------------------- */

static bool allowed(int c, int e)
{
	switch (e) {
	case EINVAL: case EFAULT: case EBADFD: case ESHUTDOWN:
		return c != C_BADCMD;
	case EPERM:
		return c == C_UNREGISTER || c == C_PARK || c == C_WAKE ||
		       c == C_ACQUIRE || c == C_RELEASE || c == C_NEWM;
	case EBUSY:
		return c == C_SETUP || c == C_REGISTER || c == C_WAKE ||
		       c == C_ACQUIRE || c == C_SYSMON;
	case ENOMEM:
		return c == C_SETUP || c == C_REGISTER || c == C_PUT || c == C_TRACE ||
		       c == C_RESIZE;
	case EOPNOTSUPP:
		return c == C_RESIZE;
	case EINTR:
		/* GET: a fatal signal while it waits for another taker */
		return c == C_PARK || c == C_NEWM || c == C_SYSMON || c == C_GET;
	case EAGAIN:
		return c == C_REGISTER;
	case EBADF:	/* GMP_PARK_POLL's pollfd not open */
		return c == C_PARK;
	case ENOSPC:
		return c == C_PUT;
	case ENOTTY:
		return c == C_BADCMD;
	default:
		return false;
	}
}

static const char *errname(int e)
{
	static char buf[16];

	switch (e) {
	case 0: return "ok";
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case EBADFD: return "EBADFD";
	case ESHUTDOWN: return "ESHUTDOWN";
	case EPERM: return "EPERM";
	case EBUSY: return "EBUSY";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EINTR: return "EINTR";
	case ENOSPC: return "ENOSPC";
	case ENOTTY: return "ENOTTY";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default:
		snprintf(buf, sizeof(buf), "errno %d", e);
		return buf;
	}
}

/*
 * Make call @c on slot @k's fd and judge its errno: one its documentation
 * allows, ESHUTDOWN only once a close began, EBADFD only before SETUP.
 * When the fd got another file during the call, anything goes.
 * Return: 0 or the errno.
 */
static int fz_call(int w, int k, int c, unsigned long cmd, void *arg)
{
	struct fz_file *f0 = atomic_load(&ep->inst[k].cur), *f1;
	int setup0 = f0 ? atomic_load(&f0->setup) : 0, e;

	if (w >= 0) {
		atomic_store(&fzs->last_cmd[w], c);
		atomic_store(&fzs->in_call[w], 1);
	}
	e = ioctl(FZ_FD0 + k, cmd, arg) < 0 ? errno : 0;
	if (w >= 0)
		atomic_store(&fzs->in_call[w], 0);
	atomic_fetch_add(&fzs->calls[c], 1);
	if (e < FZ_NERR)
		atomic_fetch_add(&fzs->answers[c][e], 1);
	f1 = atomic_load(&ep->inst[k].cur);
	if (!f0 || f0 != f1 || !e)
		return e;
	if (!allowed(c, e))
		fz_fail("%s answered %s, which it may not", cmd_names[c], errname(e));
	else if (e == ESHUTDOWN && !atomic_load(&f0->closing))
		fz_fail("%s answered ESHUTDOWN on an instance nobody closed",
			cmd_names[c]);
	else if (e == EBADFD && setup0)
		fz_fail("%s answered EBADFD on an instance set up", cmd_names[c]);
	return e;
}

/* ---- the kernel's invariants, from one schedtrace ----------------------- */

static long val(const char *line, const char *key)
{
	char pat[32];
	const char *at;

	snprintf(pat, sizeof(pat), " %s=", key);
	at = strstr(line, pat);
	if (!at) {
		snprintf(pat, sizeof(pat), "%s=", key);
		at = strstr(line, pat);
		if (!at || (at != line && at[-1] != ' '))
			return -1000;
	}
	return strtol(strchr(at, '=') + 1, NULL, 10);
}

/*
 * Check the detailed trace @text (complete: it ends with the stats line).
 * @nprocs_known: SETUP's answer, 0 if unknown or resizable; @pmax: for a
 * resizable instance, the most Ps it may have made (every P made has a
 * line, stopped ones too; an M may hold one out of force).
 * Return: 0, or -1 after fz_fail().
 */
static int fz_check_trace(const char *text, int nprocs_known, int pmax)
{
	static __thread int pm[GMP_MAX_PROCS], pstate[GMP_MAX_PROCS],
		claimed[GMP_MAX_PROCS];
	const char *l = text, *nl;
	long np = -1, idlep = 0, threads = 0, idlem = 0, nP = 0, nM = 0;
	long hdr_idlep = -1, hdr_threads = -1, hdr_idlem = -1;
	char line[512];

	while (*l) {
		nl = strchr(l, '\n');
		if (!nl)
			break;
		snprintf(line, sizeof(line), "%.*s", (int)(nl - l), l);
		l = nl + 1;
		if (!strncmp(line, "SCHED ", 6)) {
			np = val(line, "gomaxprocs");
			hdr_idlep = val(line, "idleprocs");
			hdr_threads = val(line, "threads");
			hdr_idlem = val(line, "idlethreads");
			if (np < 1 || np > GMP_MAX_PROCS ||
			    (nprocs_known > 0 && np != nprocs_known) ||
			    (pmax > 0 && np > pmax)) {
				fz_fail("trace: gomaxprocs=%ld, SETUP said %d, at most %d",
					np, nprocs_known, pmax);
				return -1;
			}
			memset(claimed, 0, sizeof(claimed));
		} else if (!strncmp(line, "  P", 3) && np > 0) {
			int i = atoi(line + 3);
			const char *st = strstr(line, "state=");

			if (i != nP || i >= (pmax > 0 ? pmax : np) || !st) {
				fz_fail("trace: bad P line '%s'", line);
				return -1;
			}
			pm[i] = val(line, "m");
			pstate[i] = !strncmp(st + 6, "idle", 4) ? 0 :
				    !strncmp(st + 6, "held", 4) ? 1 :
				    !strncmp(st + 6, "stopped", 7) ? 3 : 2;
			if (pstate[i] == 3 && i < np) {
				fz_fail("trace: P%d in force is stopped: '%s'", i, line);
				return -1;
			}
			if (pstate[i] == 0 && i >= np) {
				fz_fail("trace: P%d out of force is idle: '%s'", i, line);
				return -1;
			}
			if (pstate[i] == 0)
				idlep++;
			if (pstate[i] == 1 && pm[i] < 0) {
				fz_fail("trace: P%d held by no M: '%s'", i, line);
				return -1;
			}
			if (pstate[i] != 1 && pm[i] != -1) {
				fz_fail("trace: P%d not held names M%d: '%s'", i,
					pm[i], line);
				return -1;
			}
			nP++;
		} else if (!strncmp(line, "  M", 3) && np > 0) {
			int id = atoi(line + 3);
			long p = val(line, "p"), nextp = val(line, "nextp");
			long parked = val(line, "parked"), note = val(line, "note");

			threads++;
			idlem += parked == 1;
			if (p < -1 || p >= nP || nextp < -1 || nextp >= nP) {
				fz_fail("trace: M%d: P out of range: '%s'", id, line);
				return -1;
			}
			if (parked == 1 && (p != -1 || note)) {
				fz_fail("trace: parked M%d holds a P or a note: '%s'",
					id, line);
				return -1;
			}
			if (nextp >= 0 && !note) {
				fz_fail("trace: M%d has a next P and no note: '%s'",
					id, line);
				return -1;
			}
			if (p >= 0 && (claimed[p]++ || pstate[p] != 1 || pm[p] != id)) {
				fz_fail("trace: M%d holds P%ld, which is %s by M%d",
					id, p, pstate[p] == 1 ? "held" : "not held",
					pm[p]);
				return -1;
			}
			if (nextp >= 0 && (claimed[nextp]++ || pstate[nextp] != 1 ||
					   pm[nextp] != id)) {
				fz_fail("trace: M%d was handed P%ld, which is %s by M%d",
					id, nextp, pstate[nextp] == 1 ? "held" : "not held",
					pm[nextp]);
				return -1;
			}
			nM++;
		}
	}
	if (np < 0 || (pmax > 0 ? nP < np : nP != np) || !strstr(text, "\n  stats:")) {
		fz_fail("trace: incomplete (%ld of %ld Ps)", nP, np);
		return -1;
	}
	for (int i = 0; i < nP; i++) {
		if (pstate[i] == 1 && !claimed[i]) {
			fz_fail("trace: P%d held by M%d, which does not hold it", i,
				pm[i]);
			return -1;
		}
	}
	if (hdr_idlep != idlep || hdr_threads != threads || hdr_idlem != idlem) {
		fz_fail("trace: idleprocs=%ld threads=%ld idlethreads=%ld, lists "
			"have %ld, %ld, %ld", hdr_idlep, hdr_threads, hdr_idlem,
			idlep, threads, idlem);
		return -1;
	}
	(void)nM;
	return 0;
}

/* Take a detailed trace of slot @k's instance and check it. */
static void fz_trace_check(int w, int k, char *buf)
{
	struct fz_file *f = atomic_load(&ep->inst[k].cur);
	struct gmp_trace t = { .buf = (uintptr_t)buf, .len = FZ_TRACE_BUF - 1,
			       .flags = GMP_TRACE_DETAIL };
	int e;

	if (!f)
		return;
	e = fz_call(w, k, C_TRACE, GMP_IOC_SCHEDTRACE, &t);
	if (e || atomic_load(&ep->inst[k].cur) != f)
		return;
	if (t.len > FZ_TRACE_BUF - 1) {
		fz_fail("SCHEDTRACE wrote %u bytes into %u", t.len, FZ_TRACE_BUF - 1);
		return;
	}
	buf[t.len] = 0;
	if (!atomic_load(&f->setup))	/* SETUP's answer lost: resizable, maybe */
		fz_check_trace(buf, 0, GMP_MAX_PROCS);
	else if (f->prm.flags & GMP_SETUP_RESIZE)
		fz_check_trace(buf, 0, atomic_load(&f->pmax));
	else
		fz_check_trace(buf, (int)f->prm.nprocs, 0);
}

/* ---- workers ------------------------------------------------------------- */

struct fz_worker {
	int w;
	struct rng r;
	pid_t tid;
	/* Per slot: the file our M belongs to, the M, the P we believe we hold. */
	struct fz_file *mfile[FZ_MAXINST];
	int m[FZ_MAXINST];
	int p[FZ_MAXINST];
	/* Bad places for an argument: [rw page][no access], [read-only page]. */
	uint8_t *arena;
	uint8_t *ro;
	char *tracebuf;
	uint64_t gs[GMP_RUNQ_BATCH_MAX + 8];
	int pollep, pollev;	/* GMP_PARK_POLL: an epoll fd watching an eventfd */
};

static struct fz_worker workers[FZ_MAXW];

static uint64_t now_ns(void)
{
	return gmp_mono_ns();
}

/* Where the argument of a call lives: on the stack, or somewhere bad. */
static void *fz_place(struct fz_worker *wk, void *arg, size_t size, bool *copied)
{
	struct rng *r = &wk->r;
	uint8_t *p;

	*copied = false;
	if (!chance(r, 8))
		return arg;
	switch (below(r, 6)) {
	case 0:
		return NULL;
	case 1:
		return (void *)(uintptr_t)edge64(r);
	case 2:		/* straddles into the page nobody may touch */
		p = wk->arena + page - 1 - below(r, size);
		memcpy(p, arg, wk->arena + page - p);
		return p;
	case 3:		/* all of it unreadable */
		return wk->arena + page + below(r, 64);
	default:	/* readable, not writable: only the answer faults */
		if (mprotect(wk->ro, page, PROT_READ | PROT_WRITE))
			return arg;
		p = wk->ro + below(r, page - size);
		memcpy(p, arg, size);
		mprotect(wk->ro, page, PROT_READ);
		*copied = true;
		return p;
	}
}

/* Our M on slot @k, if it belongs to the file there now. */
static int fz_my_m(struct fz_worker *wk, int k)
{
	struct fz_file *f = atomic_load(&ep->inst[k].cur);

	if (!f || wk->mfile[k] != f) {
		wk->mfile[k] = f;
		wk->m[k] = -1;
		wk->p[k] = GMP_NONE;
	}
	return wk->m[k];
}

/* An M id to pass: ours mostly, another or garbage sometimes. */
static uint32_t fz_pick_m(struct fz_worker *wk, int k)
{
	struct rng *r = &wk->r;
	int m = fz_my_m(wk, k);

	if (m >= 0 && chance(r, 85))
		return m;
	return chance(r, 70) ? below(r, 12) : edge32(r);
}

/* Ps of slot @k's instance; when SETUP's answer was lost, @unknown. */
static int fz_np(int k, int unknown)
{
	struct fz_file *f = atomic_load(&ep->inst[k].cur);

	return f && atomic_load(&f->setup) ? atomic_load(&f->pmax) : unknown;
}

/* How many Ps to pick from; and the bound an answer must respect. */
#define fz_nprocs(k)	fz_np(k, 4)
#define fz_pbound(k)	fz_np(k, GMP_MAX_PROCS)

static int32_t fz_pick_p(struct fz_worker *wk, int k, bool none_ok)
{
	struct rng *r = &wk->r;
	int n = fz_nprocs(k);

	if (wk->p[k] >= 0 && chance(r, 50))
		return wk->p[k];
	if (none_ok && chance(r, 30))
		return GMP_NONE;
	return chance(r, 85) ? (int32_t)below(r, n + 1) - (chance(r, 10) ? 1 : 0) :
			       (int32_t)edge32(r);
}

/* Flip a random word of @a to garbage, sometimes. */
static void fz_maybe_garble(struct rng *r, void *a, size_t size)
{
	if (chance(r, 6))
		((uint32_t *)a)[below(r, size / 4)] = edge32(r);
}

/* Run a call with its argument maybe misplaced; copy the answer back. */
static int fz_do(struct fz_worker *wk, int k, int c, void *arg, size_t size)
{
	bool copied;
	void *at = fz_place(wk, arg, size, &copied);
	int e = fz_call(wk->w, k, c, cmds[c], at);

	(void)copied;
	/* An answer that went somewhere else is not read: say "no answer". */
	return at != arg && !e ? -1 : e;
}

static void fz_op_setup(struct fz_worker *wk, int k)
{
	struct gmp_params prm;
	struct fz_file *f = atomic_load(&ep->inst[k].cur);
	int e;

	setup_params(&wk->r, &prm);
	e = fz_do(wk, k, C_SETUP, &prm, sizeof(prm));
	if (e)
		return;
	if (prm.nprocs < 1 || prm.nprocs > GMP_MAX_PROCS ||
	    prm.runq_size != GMP_RUNQ_SIZE || prm.max_m != GMP_MAX_M ||
	    prm.procs.size != prm.procs.p0 + prm.procs.p_stride *
	    ((prm.flags & GMP_SETUP_RESIZE) ? GMP_MAX_PROCS : prm.nprocs)) {
		fz_fail("SETUP answered nprocs=%u runq_size=%u max_m=%u procs.size=%u",
			prm.nprocs, prm.runq_size, prm.max_m, prm.procs.size);
		return;
	}
	if (f && f == atomic_load(&ep->inst[k].cur))
		fz_publish_setup(f, FZ_FD0 + k, &prm);
}

static void fz_op_register(struct fz_worker *wk, int k)
{
	struct rng *r = &wk->r;
	struct gmp_register reg = { 0 };
	int e;

	if (fz_my_m(wk, k) >= 0 && chance(r, 70))
		return;		/* once is enough; sometimes again: EBUSY */
	if (chance(r, 15)) {
		reg.flags = GMP_REGISTER_CLAIM;
		reg.p = fz_pick_p(wk, k, false);
	}
	fz_maybe_garble(r, &reg, sizeof(reg));
	e = fz_do(wk, k, C_REGISTER, &reg, sizeof(reg));
	if (!e) {
		if (reg.m >= GMP_MAX_M)
			fz_fail("REGISTER answered M%u", reg.m);
		wk->m[k] = reg.m;
		wk->p[k] = (reg.flags & GMP_REGISTER_CLAIM) ? reg.p : GMP_NONE;
	}
}

static void fz_op_unregister(struct fz_worker *wk, int k)
{
	struct gmp_unregister a = { .m = fz_pick_m(wk, k) };
	int e;

	fz_maybe_garble(&wk->r, &a, sizeof(a));
	e = fz_do(wk, k, C_UNREGISTER, &a, sizeof(a));
	if (!e && (int)a.m == wk->m[k]) {
		wk->m[k] = -1;
		wk->p[k] = GMP_NONE;
	}
}

static void fz_op_park(struct fz_worker *wk, int k)
{
	struct rng *r = &wk->r;
	struct gmp_park a = { .m = fz_pick_m(wk, k) };
	int e;

	if (chance(r, 40))
		a.flags |= GMP_PARK_SPINNING;
	if (!chance(r, 8)) {	/* endless otherwise: a wake, signal or close ends it */
		a.flags |= GMP_PARK_DEADLINE;
		switch (below(r, 5)) {
		case 0:
			a.deadline = edge64(r) & ~(1ull << 63);
			if (a.deadline > now_ns() + 5000000)
				a.deadline = now_ns() + 2000000;
			break;
		case 1:
			a.deadline = now_ns() - below(r, 1000000);
			break;
		default:
			a.deadline = now_ns() + below(r, 2000000);
		}
	}
	/*
	 * Woken by an epoll file too: ours (kicked or not, drained or not),
	 * or any fd number.
	 */
	if (chance(r, 6)) {
		struct epoll_event ev;
		uint64_t one = 1;

		a.flags |= GMP_PARK_POLL;
		a.pollfd = chance(r, 4) ? (int)below(r, 1100) - 1 : wk->pollep;
		if (chance(r, 2) && write(wk->pollev, &one, sizeof(one)) < 0)
			one = 0;
		else if (chance(r, 2))
			epoll_wait(wk->pollep, &ev, 1, 0);
	}
	/* Locked: off the idle list until a targeted wake, signal or close. */
	if (chance(r, 5))
		a = (struct gmp_park){ .m = a.m, .flags = GMP_PARK_LOCKED };
	fz_maybe_garble(r, &a, sizeof(a));
	e = fz_do(wk, k, C_PARK, &a, sizeof(a));
	if (e)
		return;
	if (a.result < GMP_PARKED_WOKEN || a.result > GMP_PARKED_POLL ||
	    a.p < GMP_NONE || a.p >= fz_pbound(k) ||
	    (a.oflags & ~GMP_PARKED_SPINNING))
		fz_fail("PARK answered result=%u p=%d oflags=%#x", a.result, a.p,
			a.oflags);
	if ((int)a.m == wk->m[k])
		wk->p[k] = a.p;
	/* Spinning again means counted in nmspinning: stop, as a runtime would. */
	if ((a.oflags & GMP_PARKED_SPINNING) && atomic_load(&ep->inst[k].cur)) {
		struct fz_file *f = atomic_load(&ep->inst[k].cur);

		if (atomic_load(&f->mapped))
			__atomic_fetch_sub((uint32_t *)(f->procs + f->prm.procs.nmspinning),
					   1, __ATOMIC_SEQ_CST);
	}
}

static void fz_op_wake(struct fz_worker *wk, int k)
{
	struct rng *r = &wk->r;
	struct gmp_wake a = { .m = fz_pick_m(wk, k) };
	int e;

	a.flags = below(r, 16);
	if ((a.flags & GMP_WAKE_HANDOFF) && (a.flags & GMP_WAKE_PROC) && chance(r, 80))
		a.flags &= ~GMP_WAKE_HANDOFF;
	if (a.flags & GMP_WAKE_PROC)
		a.p = fz_pick_p(wk, k, false);
	if (a.flags & GMP_WAKE_TARGET)
		a.target = chance(r, 85) ? (int32_t)below(r, 12) : (int32_t)edge32(r);
	fz_maybe_garble(r, &a, sizeof(a));
	e = fz_do(wk, k, C_WAKE, &a, sizeof(a));
	if (e)
		return;
	if (a.result < GMP_WOKE_M || a.result > GMP_WOKE_NOPROC ||
	    (a.result != GMP_WOKE_NOPROC && (a.p < 0 || a.p >= fz_pbound(k))) ||
	    (a.result == GMP_WOKE_M && (a.target < 0 || a.target >= GMP_MAX_M)))
		fz_fail("WAKE answered result=%u p=%d target=%d", a.result, a.p,
			a.target);
	if ((int)a.m == wk->m[k] && (a.flags & GMP_WAKE_HANDOFF))
		wk->p[k] = GMP_NONE;
	/* No idle M: we make no thread here; give the P back (Go's newm failing). */
	if (a.result == GMP_WOKE_NEWM && chance(r, 80)) {
		struct gmp_procarg rel = { .m = a.m, .p = a.p };

		fz_call(wk->w, k, C_RELEASE, GMP_IOC_RELEASE_P, &rel);
	}
}

static void fz_op_proc(struct fz_worker *wk, int k, bool acquire)
{
	struct rng *r = &wk->r;
	struct gmp_procarg a = { .m = fz_pick_m(wk, k) };
	int e;

	a.p = fz_pick_p(wk, k, acquire);
	fz_maybe_garble(r, &a, sizeof(a));
	e = fz_do(wk, k, acquire ? C_ACQUIRE : C_RELEASE, &a, sizeof(a));
	if (e || (int)a.m != wk->m[k])
		return;
	if (acquire) {
		if (a.p < GMP_NONE || a.p >= fz_pbound(k))
			fz_fail("ACQUIRE_P answered P%d", a.p);
		wk->p[k] = a.p;
	} else if (a.p == wk->p[k]) {
		wk->p[k] = GMP_NONE;
	}
}

static void fz_op_runq(struct fz_worker *wk, int k, bool put)
{
	struct rng *r = &wk->r;
	struct gmp_runq a = { .gs = (uintptr_t)wk->gs };
	static const uint32_t ns[] = { 1, 1, 2, 8, 64, 128, 129, 129, 508, 509,
				       510, 1023, 1024 };
	int e;
	uint32_t i;

	a.n = ns[below(r, sizeof(ns) / sizeof(ns[0]))];
	if (chance(r, 5))
		a.n = edge32(r);
	if (put) {
		for (i = 0; i < GMP_RUNQ_BATCH_MAX && i < a.n; i++)
			wk->gs[i] = chance(r, 1) ? 0 : rnd(r) | 1;
		if (chance(r, 30))
			a.flags = GMP_RUNQ_WAKE;	/* starts Ms for idle Ps */
	}
	if (chance(r, 5))
		a.gs = edge64(r);
	else if (chance(r, 3))	/* the handles run into the page nobody may touch */
		a.gs = (uintptr_t)(wk->arena + page - 8 * below(r, 8));
	fz_maybe_garble(r, &a, sizeof(a));
	e = fz_do(wk, k, put ? C_PUT : C_GET, &a, sizeof(a));
	if (!e && !put && (a.n > GMP_RUNQ_SIZE / 2)) {
		fz_fail("RUNQ_GET answered n=%u", a.n);
		return;
	}
	if (!e && !put && a.gs == (uintptr_t)wk->gs)
		for (i = 0; i < a.n; i++)
			if (!wk->gs[i])
				fz_fail("RUNQ_GET returned a zero handle");
}

static void fz_op_newm(struct fz_worker *wk, int k)
{
	struct gmp_newm a = { .m = fz_pick_m(wk, k) };
	int e;

	fz_maybe_garble(&wk->r, &a, sizeof(a));
	e = fz_do(wk, k, C_NEWM, &a, sizeof(a));
	if (!e && (a.p < 0 || a.p >= fz_pbound(k)))
		fz_fail("NEWM_WAIT answered P%d", a.p);
	/* Nobody starts the new M: release it, or leave it reserved. */
	if (!e && chance(&wk->r, 70)) {
		struct gmp_procarg rel = { .m = a.m, .p = a.p };

		fz_call(wk->w, k, C_RELEASE, GMP_IOC_RELEASE_P, &rel);
	}
}

static void fz_op_trace(struct fz_worker *wk, int k)
{
	struct rng *r = &wk->r;
	static const uint32_t lens[] = { 0, 1, 2, 10, 80, 100, 4096, 65536,
					 FZ_TRACE_BUF - 1, FZ_TRACE_BUF - 1 };
	struct gmp_trace a = { .buf = (uintptr_t)wk->tracebuf };
	uint32_t len;
	int e;

	if (chance(r, 30)) {
		fz_trace_check(wk->w, k, wk->tracebuf);
		return;
	}
	a.len = len = lens[below(r, sizeof(lens) / sizeof(lens[0]))];
	a.flags = chance(r, 50) ? GMP_TRACE_DETAIL : 0;
	if (chance(r, 5))
		a.flags = edge32(r);
	if (chance(r, 5)) {	/* runs into the page nobody may touch */
		a.buf = (uintptr_t)(wk->arena + page - below(r, 200));
		a.len = 100 + below(r, 200);
	} else if (chance(r, 3)) {
		a.buf = edge64(r);
	}
	e = fz_do(wk, k, C_TRACE, &a, sizeof(a));
	if (!e && a.buf == (uintptr_t)wk->tracebuf &&
	    (a.len > len || (a.len >= 6 && memcmp(wk->tracebuf, "SCHED ", 6))))
		fz_fail("SCHEDTRACE answered %u bytes for %u: '%.20s'", a.len, len,
			wk->tracebuf);
}

/*
 * Become the instance's sysmon (or be told another thread is): it blocks
 * until a signal or a close ends it, as a park without deadline does.
 */
static void fz_op_sysmon(struct fz_worker *wk, int k)
{
	struct gmp_sysmon a = { 0 };

	fz_maybe_garble(&wk->r, &a, sizeof(a));
	fz_do(wk, k, C_SYSMON, &a, sizeof(a));
}

/*
 * Resize: mostly to a few Ps, now and then the most or garbage; the
 * question of the default too.  Without GMP_SETUP_RESIZE: refused.
 */
static void fz_op_resize(struct fz_worker *wk, int k)
{
	struct rng *r = &wk->r;
	struct fz_file *f = atomic_load(&ep->inst[k].cur);
	struct gmp_procresize a = { .nprocs = below(r, 9) };
	uint32_t want;
	int e;

	if (chance(r, 3))
		a.nprocs = chance(r, 50) ? GMP_MAX_PROCS : edge32(r);
	if (chance(r, 20))
		a.flags = GMP_RESIZE_DEFAULT;
	fz_maybe_garble(r, &a, sizeof(a));
	want = a.nprocs;
	/* The kernel may hand out the new Ps before the call returns. */
	if (f && want <= GMP_MAX_PROCS)
		fz_raise(&f->pmax, want);
	e = fz_do(wk, k, C_RESIZE, &a, sizeof(a));
	if (f && (e == 0 || e == -1) && want <= GMP_MAX_PROCS &&
	    f == atomic_load(&ep->inst[k].cur))
		fz_raise(&f->pmade, want);
	if (!e && a.nprocs > GMP_MAX_PROCS)
		fz_fail("PROCRESIZE answered %u Ps before", a.nprocs);
}

static void fz_op_badcmd(struct fz_worker *wk, int k)
{
	struct rng *r = &wk->r;
	unsigned long cmd;
	uint64_t junk[64];
	int i;

	do {
		cmd = _IOC(below(r, 4), chance(r, 90) ? GMP_IOC_MAGIC : below(r, 256),
			   chance(r, 80) ? below(r, 12) : below(r, 256),
			   chance(r, 50) ? 8 * below(r, 10) : below(r, 1 << 14));
		for (i = 0; i < FZ_NCMD - 1; i++)
			if (cmd == cmds[i])
				break;
	} while (i < FZ_NCMD - 1);
	memset(junk, 0, sizeof(junk));
	fz_call(wk->w, k, C_BADCMD, cmd, junk);
}

/*
 * User space's own side of the rings, as a confused runtime would run it:
 * put onto the P it thinks it holds, take and steal from any P by CAS, and
 * move nmspinning up and down.
 */
static void fz_op_ring(struct fz_worker *wk, int k)
{
	struct rng *r = &wk->r;
	struct fz_file *f = atomic_load(&ep->inst[k].cur);
	uint32_t *headp, *tailp, h, t;
	uint64_t *ring, *next;
	uint8_t *base;
	int p, n;

	if (!f || !atomic_load(&f->mapped))
		return;
	/*
	 * The P we hold, if it is of this file and in its range: a REGISTER
	 * whose fd got another file during the call left us a P of that one,
	 * and a P past this file's pages is a write into the next mapping.
	 */
	fz_my_m(wk, k);
	n = atomic_load(&f->pmade);
	p = wk->p[k] >= 0 && wk->p[k] < n && chance(r, 60) ?
	    wk->p[k] : (int)below(r, n);
	base = f->procs + f->prm.procs.p0 + (size_t)p * f->prm.procs.p_stride;
	headp = (uint32_t *)(base + f->prm.procs.runqhead);
	tailp = (uint32_t *)(base + f->prm.procs.runqtail);
	ring = (uint64_t *)(base + f->prm.procs.runq);
	next = (uint64_t *)(base + f->prm.procs.runnext);
	switch (below(r, 6)) {
	case 5:		/* an M slot: "in the runtime" or not, a P or garbage */
		if (f->ms) {
			uint32_t *w = (uint32_t *)(f->ms + (size_t)below(r, 16) *
						   f->prm.ms.slot_size);

			__atomic_store_n(&w[below(r, 2)], chance(r, 70) ? below(r, 2) :
					 edge32(r), __ATOMIC_RELAXED);
		}
		break;
	case 0:		/* runqput */
		t = __atomic_load_n(tailp, __ATOMIC_RELAXED);
		ring[t % GMP_RUNQ_SIZE] = rnd(r) | 1;
		__atomic_store_n(tailp, t + 1, __ATOMIC_RELEASE);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);	/* (A) */
		break;
	case 1:		/* runqget / steal one */
		h = __atomic_load_n(headp, __ATOMIC_ACQUIRE);
		t = __atomic_load_n(tailp, __ATOMIC_ACQUIRE);
		if (h != t)
			__atomic_compare_exchange_n(headp, &h, h + 1, false,
						    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
		break;
	case 2:		/* runnext */
		__atomic_store_n(next, chance(r, 50) ? 0 : rnd(r) | 1, __ATOMIC_RELEASE);
		break;
	case 3:		/* timer0when: soon, past, or none */
		__atomic_store_n((uint64_t *)(base + f->prm.procs.timer0when),
				 chance(r, 40) ? 0 : now_ns() + below(r, 3000000) -
				 1000000, __ATOMIC_RELEASE);
		break;
	default:	/* spinning, or not */
		__atomic_fetch_add((uint32_t *)(f->procs + f->prm.procs.nmspinning),
				   chance(r, 50) ? 1 : -1, __ATOMIC_SEQ_CST);
	}
}

static void *fz_worker_fn(void *arg)
{
	struct fz_worker *wk = arg;
	struct rng *r = &wk->r;
	int k;

	wk->tid = gmp_gettid();
	ep->worker_tid[wk->w] = wk->tid;
	wk->pollep = epoll_create1(EPOLL_CLOEXEC);
	wk->pollev = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	{
		struct epoll_event ev = { .events = EPOLLIN | EPOLLET };

		if (wk->pollep < 0 || wk->pollev < 0 ||
		    epoll_ctl(wk->pollep, EPOLL_CTL_ADD, wk->pollev, &ev))
			fz_fail("epoll for GMP_PARK_POLL: %s", strerror(errno));
	}
	while (!atomic_load(&ep->stop) && now_ns() < ep->deadline) {
		k = below(r, ep->ninst);
		switch (below(r, 100)) {
		case 0 ... 1:	fz_op_setup(wk, k); break;
		case 2 ... 11:	fz_op_register(wk, k); break;
		case 12 ... 14:	fz_op_unregister(wk, k); break;
		case 15 ... 29:	fz_op_park(wk, k); break;
		case 30 ... 41:	fz_op_wake(wk, k); break;
		case 42 ... 50:	fz_op_proc(wk, k, true); break;
		case 51 ... 56:	fz_op_proc(wk, k, false); break;
		case 57 ... 62:	fz_op_runq(wk, k, true); break;
		case 63 ... 68:	fz_op_runq(wk, k, false); break;
		case 69 ... 70:	fz_op_newm(wk, k); break;
		case 71 ... 76:	fz_op_trace(wk, k); break;
		case 77:	fz_op_badcmd(wk, k); break;
		case 78:	fz_op_sysmon(wk, k); break;
		case 80:	fz_op_resize(wk, k); break;
		case 79:
			/* Exit registered, maybe holding a P: sysmon reaps the M. */
			if (fz_my_m(wk, k) >= 0 && chance(r, 20)) {
				atomic_fetch_add(&fzs->exits_holding, 1);
				atomic_store(&ep->worker_exited[wk->w], 1);
				pthread_exit(NULL);
			}
			break;
		default:	fz_op_ring(wk, k); break;
		}
	}
	return NULL;
}

/* Garbage into every word user space may write, of every set-up file. */
struct fz_scrib {
	struct rng r;
};

static struct fz_scrib scribs[FZ_MAXSCRIB];

static void *fz_scrib_fn(void *arg)
{
	struct fz_scrib *sc = arg;
	struct rng *r = &sc->r;
	unsigned long n = 0;

	while (!atomic_load(&ep->stop) && now_ns() < ep->deadline) {
		int i = below(r, atomic_load(&ep->nfiles));
		struct fz_file *f = &ep->files[i < FZ_MAXFILES ? i : 0];
		uint32_t *w;

		if (!atomic_load(&f->mapped))
			goto nap;
		/* Only the pages of Ps made: the rest of the range is SIGBUS. */
		w = (uint32_t *)f->procs +
		    below(r, (f->prm.procs.p0 + (size_t)atomic_load(&f->pmade) *
			      f->prm.procs.p_stride) / 4);
		__atomic_store_n(w, edge32(r), __ATOMIC_RELAXED);
nap:
		if (++n % 32 == 0)
			usleep(below(r, 200));
	}
	return NULL;
}

static void fz_sigusr(int sig)
{
	(void)sig;
}

/* ---- children: forked, exec'd, and an owner that execs ------------------ */

/*
 * In a fork()ed child (another process): every call and mmap on every
 * inherited fd is refused with EPERM (ENOTTY for a wrong command), then the
 * fds are closed, which must not shut the parent's instances down.  Only
 * system calls here: the parent's other threads may hold libc's locks.
 * Return: 0, or the number of the first check that failed.
 */
static int fz_child_checks(int fd0, int n)
{
	uint8_t arg[256] = { 0 };
	int k, i;

	for (k = 0; k < n; k++) {
		int fd = fd0 + k;

		if (fcntl(fd, F_GETFD) < 0)
			continue;
		for (i = 0; i < FZ_NCMD - 1; i++) {
			memset(arg, 0, sizeof(arg));
			if (ioctl(fd, cmds[i], arg) == 0)
				return 10 + i;
			if (errno != EPERM)
				return 30 + i;
		}
		if (ioctl(fd, _IOC(_IOC_READ, GMP_IOC_MAGIC, 0x42, 8), arg) == 0 ||
		    errno != ENOTTY)
			return 50;
		if (mmap(NULL, page, PROT_READ, MAP_SHARED, fd, GMP_OFF_SCHED) !=
		    MAP_FAILED || errno != EPERM)
			return 51;
		if (mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 GMP_OFF_PROCS) != MAP_FAILED)
			return 52;
		close(fd);
	}
	return 0;
}

static const char *const child_failure[] = {
	[10 ... 29] = "a call from another process succeeded",
	[30 ... 49] = "a call from another process was not refused with EPERM",
	[50] = "a wrong command from another process was not ENOTTY",
	[51] = "another process mapped the sched region",
	[52] = "another process mapped the procs region",
	[60] = "the exec'd owner could not use its instance",
	[61] = "the exec'd owner's trace broke an invariant",
	[62] = "the exec'd owner got an answer it may not",
	[63] = "the owner before exec could not set up",
};

static const char *child_why(int code)
{
	if (code > 0 && code < (int)(sizeof(child_failure) / sizeof(child_failure[0])) &&
	    child_failure[code])
		return child_failure[code];
	return "exited badly";
}

static char self_exe[4096];

/* Exec ourselves as another process holding copies of every instance fd. */
static void fz_exec_other(void)
{
	char arg[16], memfd[16];
	int k;

	for (k = 0; k < ep->ninst; k++)
		if (fcntl(FZ_FD0 + k, F_GETFD) >= 0)
			dup3(FZ_FD0 + k, FZ_EXECFD0 + k, 0);	/* no CLOEXEC */
	snprintf(arg, sizeof(arg), "%d", ep->ninst);
	snprintf(memfd, sizeof(memfd), "%d", ep->memfd);
	execl(self_exe, "gmp_fuzz_test", "--fuzz-other", arg, memfd, (char *)NULL);
	_exit(99);
}

/*
 * The owner that execs, stage 1 (a fresh image): an instance, threads that
 * register, take Ps and park (or wait as template threads); then one of
 * them, the leader or not, execs stage 2 with the instance's fd kept open.
 */
struct fz_owner {
	int fd;
	int np;
	struct rng r;
	atomic_int ready;
	pthread_barrier_t bar;
};

static void *fz_owner_thread(void *arg)
{
	struct fz_owner *o = arg;
	struct gmp_register reg = { 0 };
	struct gmp_procarg a = { .p = GMP_NONE };
	struct gmp_park pk = { 0 };
	struct gmp_newm nm = { 0 };
	int kind = atomic_fetch_add(&o->ready, 1);

	if (!ioctl(o->fd, GMP_IOC_REGISTER, &reg)) {
		a.m = pk.m = nm.m = reg.m;
		if (kind % 3 != 2)
			ioctl(o->fd, GMP_IOC_ACQUIRE_P, &a);
	}
	pthread_barrier_wait(&o->bar);
	if (kind % 4 == 3)
		ioctl(o->fd, GMP_IOC_NEWM_WAIT, &nm);
	else
		ioctl(o->fd, GMP_IOC_PARK, &pk);	/* endless: de_thread ends it */
	for (;;)
		pause();
	return NULL;
}

static char exec_fd_arg[16], exec_memfd_arg[16];

static void *fz_owner_execer(void *arg)
{
	struct fz_owner *o = arg;

	pthread_barrier_wait(&o->bar);
	usleep(below(&o->r, 3000));
	execl(self_exe, "gmp_fuzz_test", "--fuzz-owner2", exec_fd_arg,
	      exec_memfd_arg, (char *)NULL);
	_exit(98);
}

static int fz_owner1(uint64_t seed, int memfd)
{
	static struct fz_owner o;
	struct gmp_params prm = { 0 };
	pthread_t t[6];
	int i, n;

	rng_init(&o.r, seed, 77);
	o.fd = open("/dev/gmp", O_RDWR);	/* kept across exec */
	prm.nprocs = 1 + below(&o.r, 3);
	prm.flags = below(&o.r, 4);
	if (o.fd < 0 || ioctl(o.fd, GMP_IOC_SETUP, &prm))
		return 63;
	if (chance(&o.r, 50))
		mmap(NULL, prm.procs.size, PROT_READ | PROT_WRITE, MAP_SHARED, o.fd,
		     GMP_OFF_PROCS);
	bool leader_parks = chance(&o.r, 50);

	n = 1 + below(&o.r, 4);
	snprintf(exec_fd_arg, sizeof(exec_fd_arg), "%d", o.fd);
	snprintf(exec_memfd_arg, sizeof(exec_memfd_arg), "%d", memfd);
	/* The parkers, and the one that execs. */
	pthread_barrier_init(&o.bar, NULL, n + 1);
	for (i = 0; i < n - leader_parks; i++)
		pthread_create(&t[i], NULL, fz_owner_thread, &o);
	if (leader_parks) {	/* a thread that is not the leader execs */
		pthread_t x;

		pthread_create(&x, NULL, fz_owner_execer, &o);
		fz_owner_thread(&o);
	}
	fz_owner_execer(&o);
	return 0;
}

/*
 * Stage 2: the same process (the owner) after exec, its other threads gone.
 * The instance still works for it: a trace that keeps the invariants, a
 * register (or EBUSY: the thread that exec'd may be an M already), calls
 * with only documented answers.
 */
static int fz_owner2(int fd)
{
	static char buf[FZ_TRACE_BUF];
	struct gmp_trace t = { .buf = (uintptr_t)buf, .len = sizeof(buf) - 1,
			       .flags = GMP_TRACE_DETAIL };
	struct gmp_register reg = { 0 };
	struct gmp_procarg a = { .p = GMP_NONE };
	uint64_t g = 0x1234, end = now_ns() + 300 * 1000000ull;
	struct gmp_runq q = { .gs = (uintptr_t)&g, .n = 1 };

	if (ioctl(fd, GMP_IOC_SCHEDTRACE, &t))
		return 60;
	buf[t.len] = 0;
	if (fz_check_trace(buf, 0, 0))
		return 61;
	if (ioctl(fd, GMP_IOC_RUNQ_PUT, &q))
		return 60;
	if (!ioctl(fd, GMP_IOC_REGISTER, &reg)) {
		/* The Ps of the threads exec killed come back once sysmon reaps. */
		a.m = reg.m;
		while (now_ns() < end) {
			a.p = GMP_NONE;
			if (ioctl(fd, GMP_IOC_ACQUIRE_P, &a))
				return 62;
			if (a.p >= 0)
				break;
			usleep(10000);
		}
	} else if (errno != EBUSY) {
		return 62;
	}
	t.len = sizeof(buf) - 1;
	if (ioctl(fd, GMP_IOC_SCHEDTRACE, &t))
		return 60;
	buf[t.len] = 0;
	if (fz_check_trace(buf, 0, 0))
		return 61;
	return 0;
}

/* main() of the exec'd children; each reports through the shared page. */
static int fz_exec_main(int argc, char **argv)
{
	int memfd = argc > 3 ? atoi(argv[3]) : -1, ret = 99;

	page = sysconf(_SC_PAGESIZE);
	if (readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1) < 0)
		return 95;
	fzs = memfd >= 0 ? mmap(NULL, sizeof(*fzs), PROT_READ | PROT_WRITE,
				MAP_SHARED, memfd, 0) : MAP_FAILED;
	if (fzs == MAP_FAILED)
		fzs = calloc(1, sizeof(*fzs));
	if (argc < 3)
		return 97;
	if (!strcmp(argv[1], "--fuzz-other"))
		ret = fz_child_checks(FZ_EXECFD0, atoi(argv[2]));
	else if (!strcmp(argv[1], "--fuzz-owner1"))
		ret = fz_owner1(strtoull(argv[2], NULL, 0), memfd);
	else if (!strcmp(argv[1], "--fuzz-owner2"))
		ret = fz_owner2(atoi(argv[2]));
	if (ret && argc > 1)
		fz_fail("%s: %s (code %d)", argv[1] + 7, child_why(ret), ret);
	return ret;
}

/* ---- the episode's main thread ------------------------------------------ */

static void fz_kid_add(pid_t pid, int kind)
{
	int i;

	for (i = 0; i < FZ_MAXKIDS; i++) {
		if (!ep->kids[i]) {
			ep->kids[i] = pid;
			ep->kidkind[i] = kind;
			return;
		}
	}
}

static const char *const kid_names[] = { "forked child", "exec'd child",
					 "exec'ing owner" };

/* Reap the children that are done; with @wait, all of them. */
static void fz_kids_reap(bool wait)
{
	uint64_t end = now_ns() + 20000ull * 1000000;
	int i, st;

	for (i = 0; i < FZ_MAXKIDS; i++) {
		pid_t pid = ep->kids[i];

		if (!pid)
			continue;
		for (;;) {
			pid_t got = waitpid(pid, &st, WNOHANG);

			if (got == pid) {
				if (WIFEXITED(st) && WEXITSTATUS(st))
					fz_fail("%s: %s (code %d)",
						kid_names[ep->kidkind[i]],
						child_why(WEXITSTATUS(st)),
						WEXITSTATUS(st));
				else if (WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL)
					fz_fail("%s died of signal %d",
						kid_names[ep->kidkind[i]],
						WTERMSIG(st));
				ep->kids[i] = 0;
				break;
			}
			if (!wait || got < 0) {
				if (got < 0)
					ep->kids[i] = 0;
				break;
			}
			if (now_ns() > end) {
				fz_fail("%s (pid %d) did not end in 20 s",
					kid_names[ep->kidkind[i]], pid);
				kill(pid, SIGKILL);
				end = now_ns() + 20000ull * 1000000;
			}
			usleep(1000);
		}
	}
}

static int fz_kids_count(void)
{
	int i, n = 0;

	for (i = 0; i < FZ_MAXKIDS; i++)
		n += ep->kids[i] != 0;
	return n;
}

/*
 * A new file at slot @k: opened, maybe set up and mapped.  The fd open()
 * answered stays open too: closing it would be a close by the owner, which
 * shuts the instance down.  dup3() over the slot's old file closes that one
 * (the caller marked it closing).
 */
static void fz_open_slot(struct rng *r, int k)
{
	struct fz_file *f = fz_file_new();
	struct gmp_params prm;
	int fd;

	if (!f)
		return;
	f->rdonly = chance(r, 3);
	fd = open("/dev/gmp", f->rdonly ? O_RDONLY | O_CLOEXEC : O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fz_fail("open /dev/gmp: %s", strerror(errno));
		return;
	}
	atomic_store(&ep->inst[k].cur, NULL);
	if (dup3(fd, FZ_FD0 + k, O_CLOEXEC) < 0)
		fz_fail("dup3: %s", strerror(errno));
	atomic_store(&ep->inst[k].cur, f);
	if (chance(r, 85)) {
		setup_params(r, &prm);
		if (fz_call(-1, k, C_SETUP, GMP_IOC_SETUP, &prm) == 0)
			fz_publish_setup(f, FZ_FD0 + k, &prm);
	}
}

/* Shut an instance down while calls are in flight: close a dup of its fd. */
static void fz_shutdown_slot(int k)
{
	struct fz_file *f = atomic_load(&ep->inst[k].cur);
	int d;

	if (!f)
		return;
	atomic_store(&f->closing, 1);
	d = dup(FZ_FD0 + k);
	if (d >= 0)
		close(d);
	atomic_fetch_add(&fzs->shutdowns, 1);
}

/* Close slot @k's fd outright and open a new instance at the same number. */
static void fz_replace_slot(struct rng *r, int k)
{
	struct fz_file *f = atomic_load(&ep->inst[k].cur);

	if (f)
		atomic_store(&f->closing, 1);
	atomic_store(&ep->inst[k].cur, NULL);
	if (chance(r, 50))
		close(FZ_FD0 + k);	/* a moment with nothing at the number */
	fz_open_slot(r, k);
	atomic_fetch_add(&fzs->replaces, 1);
}

/*
 * mmap answered EBADFD ("not set up") where this file's bookkeeping says
 * set up.  Seen once (seed 0x4da99ee006471101 episode 106, not again in
 * replays): the kernel publishes ready before SETUP returns and never
 * clears it, so the suspect is the bookkeeping of which file sits at the
 * slot.  Ask the kernel on the same fd: if a call that needs SETUP is
 * refused the same way, the file there is truly not set up (a bookkeeping
 * race, logged); if it is served, the kernel contradicted itself (a
 * failure).
 */
static bool fz_not_set_up(int k, int e)
{
	char buf[256];
	struct gmp_trace a = { .buf = (uintptr_t)buf, .len = sizeof(buf) };

	if (e != EBADFD || ioctl(FZ_FD0 + k, GMP_IOC_SCHEDTRACE, &a) == 0 ||
	    errno != EBADFD)
		return false;
	fprintf(stderr, "# gmp-fuzz: slot %d: mmap and SCHEDTRACE both say "
		"not set up where SETUP was recorded (bookkeeping race)\n", k);
	return true;
}

/* Extra mappings of the regions, right and wrong, and what can be done to them. */
static void fz_map_op(struct rng *r)
{
	int k = below(r, ep->ninst), i = below(r, FZ_MAXMAPS);
	struct fz_file *f = atomic_load(&ep->inst[k].cur);
	struct fz_map *mp = &ep->maps[i];
	size_t len;
	off_t off;
	int prot, flags;
	void *a;

	atomic_fetch_add(&fzs->maps, 1);
	if (mp->addr) {
		switch (below(r, 7)) {
		case 0:
			munmap(mp->addr, mp->len);
			mp->addr = NULL;
			return;
		case 1:		/* a piece of it */
			if (mp->len > page && !munmap(mp->addr + page * below(r, mp->len / page),
						      page))
				mp->addr = NULL;	/* (leak the rest: exit unmaps it) */
			return;
		case 2:
			mprotect(mp->addr, mp->len, below(r, 8));
			return;
		case 3:
			a = mremap(mp->addr, mp->len, chance(r, 50) ? mp->len + page :
				   page, MREMAP_MAYMOVE);
			if (a != MAP_FAILED) {
				mp->addr = a;
				mp->len = chance(r, 50) ? mp->len : page;
				munmap(mp->addr, mp->len);
				mp->addr = NULL;
			}
			return;
		case 4: {
			static const int adv[] = { MADV_DONTNEED, MADV_DOFORK,
						   MADV_DONTFORK, MADV_WILLNEED,
						   MADV_COLD, MADV_PAGEOUT,
						   MADV_NORMAL, MADV_REMOVE,
						   MADV_FREE, MADV_DONTDUMP };

			madvise(mp->addr, mp->len, adv[below(r, 10)]);
			return;
		}
		default: {
			/* Garbage through /proc/self/mem: a fault there is an error, not a signal. */
			uint64_t junk = rnd(r);
			int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);

			if (fd >= 0) {
				if (pwrite(fd, &junk, 8, (off_t)(uintptr_t)(mp->addr +
					   8 * below(r, mp->len / 8))) < 0) {
					/* read-only, zapped, or gone: fine */
				}
				close(fd);
			}
			return;
		}
		}
	}
	if (!f)
		return;
	off = chance(r, 50) ? GMP_OFF_SCHED : GMP_OFF_PROCS;
	if (chance(r, 5))
		off = (off_t)edge32(r) * page;
	len = atomic_load(&f->setup) ? (off == GMP_OFF_SCHED ? f->prm.sched.size :
					f->prm.procs.size) : page;
	if (chance(r, 10))
		len += page * (chance(r, 50) ? 1 : -1);
	prot = chance(r, 80) ? (off == GMP_OFF_SCHED ? PROT_READ : PROT_READ | PROT_WRITE) :
	       (int)below(r, 8);
	flags = chance(r, 90) ? MAP_SHARED : MAP_PRIVATE;
	a = mmap(NULL, len ? len : page, prot, flags, FZ_FD0 + k, off);
	if (a == MAP_FAILED) {
		int e = errno;

		/* A right mapping of a live, set-up instance is never refused. */
		if (atomic_load(&f->setup) && !atomic_load(&f->closing) &&
		    atomic_load(&ep->inst[k].cur) == f && flags == MAP_SHARED &&
		    (off == GMP_OFF_SCHED || off == GMP_OFF_PROCS) &&
		    len == (off == GMP_OFF_SCHED ? f->prm.sched.size : f->prm.procs.size) &&
		    prot == (off == GMP_OFF_SCHED ? PROT_READ : PROT_READ | PROT_WRITE) &&
		    e != EACCES && e != ENOMEM && !fz_not_set_up(k, e))
			fz_fail("a right mmap of the %s region was refused: %s",
				off == GMP_OFF_SCHED ? "sched" : "procs",
				strerror(e));
		return;
	}
	mp->addr = a;
	mp->len = len ? len : page;
}

/* Signal a worker: a park or template wait in progress returns EINTR. */
static void fz_signal(struct rng *r)
{
	int w = below(r, ep->nworkers);

	if (ep->worker_tid[w] && !atomic_load(&ep->worker_exited[w])) {
		syscall(SYS_tgkill, getpid(), ep->worker_tid[w], SIGUSR1);
		atomic_fetch_add(&fzs->signals, 1);
	}
}

static void fz_spawn(struct rng *r, int kind)
{
	pid_t pid;

	if (fz_kids_count() >= FZ_MAXKIDS)
		fz_kids_reap(false);
	if (fz_kids_count() >= FZ_MAXKIDS)
		return;
	if (kind == 0 && chance(r, 30)) {
		/* Let the child have the pages too: it must still not make a call. */
		int k = below(r, ep->ninst);
		struct fz_file *f = atomic_load(&ep->inst[k].cur);

		if (f && atomic_load(&f->mapped))
			madvise(f->procs, f->prm.procs.size, MADV_DOFORK);
	}
	pid = fork();
	if (pid < 0)
		return;
	if (!pid) {
		if (kind == 0) {
			int ret = fz_child_checks(FZ_FD0, ep->ninst);

			/* Scribble on the pages if we got them (MADV_DOFORK). */
			_exit(ret);
		}
		if (kind == 1)
			fz_exec_other();
		{
			char seed[32], memfd[16];

			snprintf(seed, sizeof(seed), "%" PRIu64, rnd(r));
			snprintf(memfd, sizeof(memfd), "%d", ep->memfd);
			execl(self_exe, "gmp_fuzz_test", "--fuzz-owner1", seed, memfd,
			      (char *)NULL);
			_exit(96);
		}
	}
	fz_kid_add(pid, kind);
	atomic_fetch_add(kind == 0 ? &fzs->forks : kind == 1 ? &fzs->execs :
			 &fzs->owner_execs, 1);
}

/* Kill a subprocess: an exec'ing owner's threads are parked in gmp.ko. */
static void fz_kill_kid(struct rng *r)
{
	int i = below(r, FZ_MAXKIDS);

	if (ep->kids[i]) {
		kill(ep->kids[i], SIGKILL);
		atomic_fetch_add(&fzs->kills, 1);
	}
}

enum { END_CLOSE, END_EXIT, END_KILLED };

static int fz_episode_main(uint64_t seed, int episode, int ending, uint64_t dur_ns)
{
	struct rng r;
	struct sigaction sa = { .sa_handler = fz_sigusr };	/* no SA_RESTART */
	static char tracebuf[FZ_TRACE_BUF];
	uint64_t next_check;
	int i, k;

	setpgid(0, 0);
	sigaction(SIGUSR1, &sa, NULL);
	rng_init(&r, seed, 1000003ull * episode);
	ep->seed = seed;
	ep->episode = episode;
	ep->deadline = now_ns() + dur_ns;
	ep->ninst = 1 + below(&r, 3);
	for (k = 0; k < ep->ninst; k++)
		fz_open_slot(&r, k);
	ep->nworkers = 2 + below(&r, FZ_MAXW - 1);
	for (i = 0; i < ep->nworkers; i++) {
		struct fz_worker *wk = &workers[i];

		wk->w = i;
		rng_init(&wk->r, seed, 1000003ull * episode + 1 + i);
		wk->arena = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		wk->tracebuf = mmap(NULL, FZ_TRACE_BUF + page, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (wk->arena == MAP_FAILED || wk->tracebuf == MAP_FAILED) {
			fz_fail("mmap: %s", strerror(errno));
			return 1;
		}
		mprotect(wk->arena + page, page, PROT_NONE);
		wk->ro = wk->arena + 2 * page;
		mprotect(wk->tracebuf + FZ_TRACE_BUF, page, PROT_NONE);
		for (k = 0; k < FZ_MAXINST; k++) {
			wk->m[k] = -1;
			wk->p[k] = GMP_NONE;
		}
		pthread_create(&ep->workers[i], NULL, fz_worker_fn, wk);
	}
	ep->nscrib = below(&r, FZ_MAXSCRIB + 1);
	for (i = 0; i < ep->nscrib; i++) {
		rng_init(&scribs[i].r, seed, 1000003ull * episode + 500 + i);
		pthread_create(&ep->scribs[i], NULL, fz_scrib_fn, &scribs[i]);
	}

	next_check = now_ns();
	while (now_ns() < ep->deadline && !atomic_load(&fzs->failed)) {
		switch (below(&r, 100)) {
		case 0 ... 29:	fz_signal(&r); break;
		case 30 ... 49:	fz_map_op(&r); break;
		case 50 ... 54:	fz_spawn(&r, 0); break;
		case 55 ... 56:	fz_spawn(&r, 1); break;
		case 57 ... 58:	fz_spawn(&r, 2); break;
		case 59 ... 60:	fz_kill_kid(&r); break;
		case 61:	/* about once an episode: the rest runs on it dead */
			if (chance(&r, 10))
				fz_shutdown_slot(below(&r, ep->ninst));
			break;
		case 62:
			if (chance(&r, 10))
				fz_replace_slot(&r, below(&r, ep->ninst));
			break;
		default:	usleep(below(&r, 3000)); break;
		}
		if (now_ns() >= next_check) {
			for (k = 0; k < ep->ninst; k++)
				fz_trace_check(-1, k, tracebuf);
			next_check = now_ns() + 20 * 1000000ull;
			fz_kids_reap(false);
		}
	}
	if (ending == END_EXIT) {
		/* exit_group() with threads parked and in calls. */
		_exit(atomic_load(&fzs->failed) ? 1 : 0);
	}
	if (ending == END_KILLED) {
		/* The test process SIGKILLs us while we go on. */
		for (;;)
			pause();
	}
	atomic_store(&ep->stop, 1);
	for (k = 0; k < ep->ninst; k++)
		fz_trace_check(-1, k, tracebuf);
	/* Wake every sleeper: shut each instance down, and signal. */
	for (k = 0; k < ep->ninst; k++)
		fz_shutdown_slot(k);
	for (i = 0; i < ep->nworkers; i++) {
		struct timespec ts;
		int err;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 20;
		err = pthread_timedjoin_np(ep->workers[i], NULL, &ts);
		if (err == ETIMEDOUT) {
			fz_fail("worker %d stuck in %s (in the kernel: %d) after shutdown",
				i, cmd_names[atomic_load(&fzs->last_cmd[i]) % FZ_NCMD],
				atomic_load(&fzs->in_call[i]));
			_exit(1);
		}
	}
	for (i = 0; i < ep->nscrib; i++)
		pthread_join(ep->scribs[i], NULL);
	fz_kids_reap(true);
	for (k = 0; k < ep->ninst; k++)
		close(FZ_FD0 + k);
	return atomic_load(&fzs->failed) ? 1 : 0;
}

/* ---- the test process: episodes, and what must be true after each ------- */

static void kmsg(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (write(fd, buf, strlen(buf)) < 0) {
		/* nothing to do */
	}
	close(fd);
}

static long module_refcnt(void)
{
	char buf[32] = { 0 };
	int fd = open("/sys/module/gmp/refcnt", O_RDONLY | O_CLOEXEC);
	long v = -1;

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) > 0)
			v = atol(buf);
		close(fd);
	}
	return v;
}

static int debugfs_instances(void)
{
	DIR *d = opendir("/sys/kernel/debug/gmp");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* What a kernel says when something is wrong (as qemu/verdict.sh). */
static const char *const splats[] = {
	"BUG:", "WARNING:", "Oops", "general protection", "possible recursive locking",
	"circular locking", "suspicious RCU usage", "UBSAN:", "KASAN:",
	"kernel BUG at", "hung_task", "blocked for more than", "soft lockup",
	"Kernel panic", "new suspected memory leaks",
};

/* New kernel log records since the last call; the first splat among them. */
static const char *kmsg_splat(int fd, char *line, size_t size)
{
	ssize_t n;
	unsigned int i;

	if (fd < 0)
		return NULL;
	while ((n = read(fd, line, size - 1)) != 0) {
		if (n < 0) {
			if (errno == EPIPE)	/* overwritten records: go on */
				continue;
			break;
		}
		line[n] = 0;
		for (i = 0; i < sizeof(splats) / sizeof(splats[0]); i++)
			if (strstr(line, splats[i]))
				return line;
	}
	return NULL;
}

struct fz_run {
	uint64_t seed;
	int only;		/* run only this episode, or -1 */
	double budget;		/* seconds */
	long refcnt0;
	int inst0;
	int kmsgfd;
	int memfd;
	int episodes;
};

/* Run episode @e of @run's seed and check what it leaves.  Return: 0 or -1. */
static int fz_one(struct fz_run *run, int e, char *why, size_t whylen)
{
	struct rng r;
	uint64_t dur, t0 = now_ns(), kill_at, end;
	int ending, st, i;
	pid_t pid, got;
	char line[1024];
	const char *splat;

	rng_init(&r, run->seed, 7 * (uint64_t)e + 3);
	dur = (100 + below(&r, 700)) * 1000000ull;
	i = below(&r, 100);
	ending = i < 60 ? END_CLOSE : i < 80 ? END_EXIT : END_KILLED;
	kill_at = t0 + dur / 4 + below(&r, dur / 1000) * 750ull;
	memset(fzs, 0, sizeof(*fzs));
	kmsg("gmp-fuzz: seed %#" PRIx64 " episode %d\n", run->seed, e);
	pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return -1;
	}
	if (!pid) {
		static struct fz_ep the_ep;

		ep = &the_ep;
		ep->memfd = run->memfd;
		_exit(fz_episode_main(run->seed, e, ending, dur));
	}
	setpgid(pid, pid);
	end = now_ns() + dur + 60000ull * 1000000;
	for (;;) {
		got = waitpid(pid, &st, WNOHANG);
		if (got == pid)
			break;
		if (ending == END_KILLED && now_ns() >= kill_at) {
			kill(pid, SIGKILL);
			kill_at = ~0ull;
		}
		if (now_ns() > end) {
			snprintf(why, whylen, "the episode did not end in %" PRIu64 " s",
				 (uint64_t)(dur / 1000000000ull) + 60);
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(2000);
	}
	/* Every other process of the episode, then every orphan (we reap them). */
	kill(-pid, SIGKILL);
	end = now_ns() + 20000ull * 1000000;
	while ((got = waitpid(-1, NULL, WNOHANG)) >= 0) {
		if (!got) {
			if (now_ns() > end) {
				snprintf(why, whylen, "a process of the episode does not die "
					 "(stuck in the kernel?)");
				return -1;
			}
			usleep(2000);
		}
	}
	if (atomic_load(&fzs->failed)) {
		snprintf(why, whylen, "%s", fzs->msg);
		return -1;
	}
	if (WIFSIGNALED(st) && !(ending == END_KILLED && WTERMSIG(st) == SIGKILL)) {
		snprintf(why, whylen, "the episode died of signal %d", WTERMSIG(st));
		return -1;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st)) {
		snprintf(why, whylen, "the episode exited with %d", WEXITSTATUS(st));
		return -1;
	}
	/* Everything freed: no instance, no reference to the module left. */
	end = now_ns() + 5000ull * 1000000;
	while (module_refcnt() != run->refcnt0 || debugfs_instances() != run->inst0) {
		if (now_ns() > end) {
			snprintf(why, whylen, "left behind: module refcnt %ld (was %ld), "
				 "%d instances in debugfs (were %d)", module_refcnt(),
				 run->refcnt0, debugfs_instances(), run->inst0);
			return -1;
		}
		usleep(10000);
	}
	splat = kmsg_splat(run->kmsgfd, line, sizeof(line));
	if (splat) {
		snprintf(why, whylen, "kernel log: %s", splat);
		return -1;
	}
	printf("# episode %d: %.2f s, %s; %lu calls, %lu forks, %lu execs, %lu owner "
	       "execs, %lu kills, %lu shutdowns, %lu replaced fds, %lu map ops, %lu "
	       "signals, %lu exits holding\n", e, (now_ns() - t0) / 1e9,
	       ending == END_CLOSE ? "closed" : ending == END_EXIT ? "exit_group" :
	       "SIGKILLed", ({ unsigned long c = 0; for (i = 0; i < FZ_NCMD; i++)
	       c += atomic_load(&fzs->calls[i]); c; }), atomic_load(&fzs->forks),
	       atomic_load(&fzs->execs), atomic_load(&fzs->owner_execs),
	       atomic_load(&fzs->kills), atomic_load(&fzs->shutdowns),
	       atomic_load(&fzs->replaces), atomic_load(&fzs->maps),
	       atomic_load(&fzs->signals), atomic_load(&fzs->exits_holding));
	fflush(stdout);
	return 0;
}

static unsigned long totals[FZ_NCMD][FZ_NERR];

static void fz_add_totals(void)
{
	int c, e;

	for (c = 0; c < FZ_NCMD; c++)
		for (e = 0; e < FZ_NERR; e++)
			totals[c][e] += atomic_load(&fzs->answers[c][e]);
}

static void fz_print_totals(void)
{
	static const int cols[] = { 0, EINVAL, EFAULT, EPERM, EBUSY, EINTR,
				    ESHUTDOWN, EBADFD, ENOTTY };
	unsigned int c, j;

	printf("# %-11s", "answers");
	for (j = 0; j < sizeof(cols) / sizeof(cols[0]); j++)
		printf(" %9s", errname(cols[j]));
	printf(" %9s\n", "other");
	for (c = 0; c < FZ_NCMD; c++) {
		unsigned long other = 0;
		int e;

		printf("# %-11s", cmd_names[c]);
		for (j = 0; j < sizeof(cols) / sizeof(cols[0]); j++)
			printf(" %9lu", totals[c][cols[j]]);
		for (e = 1; e < FZ_NERR; e++) {
			for (j = 1; j < sizeof(cols) / sizeof(cols[0]); j++)
				if (e == cols[j])
					break;
			if (j == sizeof(cols) / sizeof(cols[0]))
				other += totals[c][e];
		}
		printf(" %9lu\n", other);
	}
	fflush(stdout);
}

/* GMP_FUZZ_SEED: "S" or "S/E" (only episode E); none: a new seed. */
static void fz_config(struct fz_run *run)
{
	const char *s = getenv("GMP_FUZZ_SEED"), *t = getenv("GMP_FUZZ_TIME");
	char *end;

	run->only = -1;
	if (s && *s) {
		run->seed = strtoull(s, &end, 0);
		if (*end == '/')
			run->only = atoi(end + 1);
	} else {
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

		if (fd < 0 || read(fd, &run->seed, sizeof(run->seed)) != sizeof(run->seed))
			run->seed = now_ns() ^ ((uint64_t)getpid() << 32);
		if (fd >= 0)
			close(fd);
	}
	run->budget = t && *t ? atof(t) : 15;
}

static int fz_prepare(struct fz_run *run)
{
	struct rlimit rl;

	page = sysconf(_SC_PAGESIZE);
	if (readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1) < 0)
		return -errno;
	/* Room for fd FZ_EXECFD0 + FZ_MAXINST. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < 1024) {
		rl.rlim_cur = rl.rlim_max < 1024 ? rl.rlim_max : 1024;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Orphans of an episode (its exec'd children) come back to us. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	run->memfd = memfd_create("gmp-fuzz", 0);	/* inherited across exec */
	if (run->memfd < 0 || ftruncate(run->memfd, sizeof(*fzs)))
		return -errno;
	fzs = mmap(NULL, sizeof(*fzs), PROT_READ | PROT_WRITE, MAP_SHARED,
		   run->memfd, 0);
	if (fzs == MAP_FAILED)
		return -errno;
	run->refcnt0 = module_refcnt();
	run->inst0 = debugfs_instances();
	run->kmsgfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (run->kmsgfd >= 0)
		lseek(run->kmsgfd, 0, SEEK_END);
	return 0;
}

FIXTURE(fuzz) {
	struct fz_run run;
};

FIXTURE_SETUP(fuzz)
{
	int fd = open("/dev/gmp", O_RDWR);

	if (fd < 0)
		SETUP_SKIP("no /dev/gmp: %s", strerror(errno));
	close(fd);
	ASSERT_EQ(0, fz_prepare(&self->run));
	fz_config(&self->run);
}

FIXTURE_TEARDOWN(fuzz)
{
}

/* Episodes of one seed, from @first, until the budget is spent. */
static int fz_episodes(struct fz_run *run, int first, int last, char *why,
		       size_t whylen, int *failed_ep)
{
	uint64_t end = now_ns() + (uint64_t)(run->budget * 1e9);
	int e;

	for (e = first; e <= last && (e == first || now_ns() < end); e++) {
		int ret = fz_one(run, e, why, whylen);

		fz_add_totals();
		run->episodes++;
		if (ret) {
			*failed_ep = e;
			return -1;
		}
	}
	return 0;
}

TEST_F_TIMEOUT(fuzz, budget, 7200)
{
	struct fz_run *run = &self->run;
	char why[2300];
	int failed_ep = -1, ret;
	uint64_t t0 = now_ns();

	printf("# gmp-fuzz: seed %#" PRIx64 "%s, budget %.0f s (replay: GMP_FUZZ_SEED="
	       "%#" PRIx64 "; make check-debug TESTS=gmp_fuzz_test FUZZ_SEED=%#" PRIx64
	       ")\n", run->seed, run->only >= 0 ? " (one episode)" : "", run->budget,
	       run->seed, run->seed);
	fflush(stdout);
	if (run->only >= 0)
		ret = fz_episodes(run, run->only, run->only, why, sizeof(why), &failed_ep);
	else
		ret = fz_episodes(run, 0, INT32_MAX, why, sizeof(why), &failed_ep);
	fz_print_totals();
	TH_LOG("%d episodes in %.1f s", run->episodes, (now_ns() - t0) / 1e9);
	if (ret)
		TH_LOG("FAILED in episode %d of seed %#" PRIx64 ": %s\n"
		       "# replay it: FUZZ_SEED=%#" PRIx64 "/%d (GMP_FUZZ_SEED in the VM)",
		       failed_ep, run->seed, why, run->seed, failed_ep);
	ASSERT_EQ(0, ret);
}

/*
 * Seeds that found a bug, replayed as named tests: FUZZ_REGRESSION(name,
 * seed, episode).  Each bug also has a deterministic test of its own in the
 * file of the feature it broke; the seed is kept because it found it.
 */
#define FUZZ_REGRESSION(name, s, e)					\
	TEST_F_TIMEOUT(fuzz, name, 300)					\
	{								\
		char why[2300];						\
		int failed_ep = -1;					\
									\
		self->run.seed = (s);					\
		self->run.budget = 0;					\
		ASSERT_EQ(0, fz_episodes(&self->run, (e), (e), why,	\
					 sizeof(why), &failed_ep))	\
			TH_LOG("%s", why);				\
	}

int main(int argc, char **argv)
{
	if (argc > 1 && !strncmp(argv[1], "--fuzz-", 7))
		return fz_exec_main(argc, argv);
	if (!__constructor_order)
		__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD;
	return test_harness_run(argc, argv);
}
