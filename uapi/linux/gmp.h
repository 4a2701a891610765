/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * gmp: Go's G-M-P scheduler state held by the kernel - the interface.
 *
 * Each open file of /dev/gmp is one scheduler instance (Go's "sched"): its Ps,
 * its global run queue, its idle P and idle M lists and its sysmon.  The
 * instance belongs to the process that opened it; every call from another
 * process fails with EPERM.
 *
 * GMP_IOC_SETUP sizes the instance and answers with the offsets of every
 * field of the three shared regions, which user space then mmaps:
 *
 *   GMP_OFF_SCHED  read-only: counters the kernel keeps (gomaxprocs, npidle,
 *                  nmidle, runqsize) so that user space can skip syscalls.
 *   GMP_OFF_PROCS  read-write: the nmspinning word, then one P per page:
 *                  its 256-slot run queue ring, runnext, status, ticks and
 *                  preempt request, on which user space runs Go's lock-free
 *                  runqput/runqget/runqsteal with no syscall.
 *   GMP_OFF_MS     read-write: one slot per M: the word in which an M says
 *                  that it runs its scheduler, and the word in which the
 *                  kernel says which P it still holds (GMP_SETUP_HANDOFF).
 *
 * User space computes every pointer from the offsets; it never hard-codes
 * the layout.  The kernel never trusts the read-write regions: it masks every
 * index it reads there and treats every value as a hint.
 *
 * A G is known to the kernel only as an opaque, non-zero 64-bit handle: it is
 * stored and returned, never dereferenced.  0 means "no G".
 *
 * Every thread that uses the instance registers as an M (GMP_IOC_REGISTER)
 * and passes its M id to the calls that act for it; the kernel checks that the
 * id belongs to the calling thread.  See docs/kernel-interface.md for the
 * semantics and errors of every call, and the memory-ordering protocol.
 *
 * Errors common to every call: ENOTTY unknown command; EFAULT bad pointer;
 * EINVAL unknown flag, non-zero reserved field or id out of range; EPERM
 * called from a process that does not own the instance; EBADFD not set up
 * yet (only SETUP is allowed first); ESHUTDOWN the instance was closed.
 */
#ifndef _UAPI_LINUX_GMP_H
#define _UAPI_LINUX_GMP_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Slots in a P's local run queue ring (Go's len(p.runq)); a power of two. */
#define GMP_RUNQ_SIZE		256
/*
 * Ms an instance accepts at most (Go's sched.maxmcount); gmp.ko's max_m
 * parameter lowers it for instances set up after (params.max_m says).
 */
#define GMP_MAX_M		10000
/* Ps an instance accepts at most. */
#define GMP_MAX_PROCS		1024
/* G handles one GMP_IOC_RUNQ_PUT accepts at most. */
#define GMP_RUNQ_BATCH_MAX	1024
/* No P / no M, in the signed id fields. */
#define GMP_NONE		(-1)

/* P status (the status word of a P, Go's _Pidle ... _Pdead). */
#define GMP_P_IDLE		0	/* on the idle list, or reserved for a new M */
#define GMP_P_RUNNING		1	/* held by an M running user code */
#define GMP_P_SYSCALL		2	/* held by an M in a system call */
#define GMP_P_STOP		3	/* out of use: beyond nprocs since a resize */
#define GMP_P_DEAD		4	/* the instance was shut down */

/*
 * The status word holds GMP_P_* in its low byte.  An M entering a system call
 * stores GMP_P_SYSCALL_M(its M id), not bare GMP_P_SYSCALL, and on return CASes
 * that same value to GMP_P_RUNNING: the owner bits make the CAS fail when
 * sysmon retook the P meanwhile and another M now sits in a system call on it
 * (else the old owner's CAS would succeed: ABA).  The kernel looks only at
 * the low byte, and retakes by a CAS of the whole word it saw.
 */
#define GMP_P_STATUS_MASK	0xffU
#define GMP_P_SYSCALL_M(m)	(GMP_P_SYSCALL | (((__u32)(m) + 1) << 8))

/* mmap offsets of the three shared regions. */
#define GMP_OFF_SCHED		0x00000000ULL
#define GMP_OFF_PROCS		0x10000000ULL
#define GMP_OFF_MS		0x20000000ULL

/* ---- GMP_IOC_SETUP ---------------------------------------------------- */

/*
 * Setup flags.
 *
 * GMP_SETUP_TEMPLATE: user space runs a template thread (GMP_IOC_NEWM_WAIT):
 * a P that the kernel must hand off while no M is idle is queued for it even
 * while it is not waiting (starting up, or busy making the last M), instead
 * of going idle with its work.  Without this flag such a P is queued only
 * while a thread waits.
 *
 * GMP_SETUP_HANDOFF: the kernel may take the P of an M that blocks in the
 * kernel (any system call, page fault or lock) for longer than the grace
 * period, or whose G has run 10 ms without returning to its scheduler, and
 * hand it to another M, while that M goes on running its G.  User space
 * promises the protocol of the M slots (GMP_OFF_MS): an M sets its
 * inruntime word while it runs its scheduler and, before it touches its P
 * again, checks that its slot's p word still names that P.  Without the
 * flag only a P in GMP_P_SYSCALL is ever taken from a live M.
 */
/*
 * GMP_SETUP_RESIZE: the instance may change its number of Ps later
 * (GMP_IOC_PROCRESIZE).  The procs region then spans GMP_MAX_PROCS Ps
 * from the start (params.procs.size), so that its layout never moves; the
 * pages of Ps not made yet are not there (a touch is SIGBUS).
 */
#define GMP_SETUP_TEMPLATE	(1U << 0)
#define GMP_SETUP_HANDOFF	(1U << 1)
#define GMP_SETUP_RESIZE	(1U << 2)
#define GMP_SETUP_FLAGS		(GMP_SETUP_TEMPLATE | GMP_SETUP_HANDOFF | \
				 GMP_SETUP_RESIZE)

/* Feature bits the kernel answers with. */
#define GMP_FEAT_PARK_DEADLINE	(1U << 0)	/* GMP_PARK_DEADLINE works */
#define GMP_FEAT_SYSMON		(1U << 1)	/* GMP_IOC_SYSMON: retake, preempt, reap */
#define GMP_FEAT_NEWM		(1U << 2)	/* GMP_IOC_NEWM_WAIT */
#define GMP_FEAT_TRACE		(1U << 3)	/* GMP_IOC_SCHEDTRACE */
#define GMP_FEAT_TIMERS		(1U << 4)	/* park honours every P's timer0when */
#define GMP_FEAT_TEMPLATE	(1U << 5)	/* GMP_SETUP_TEMPLATE works */
#define GMP_FEAT_HANDOFF	(1U << 6)	/* GMP_SETUP_HANDOFF works */
#define GMP_FEAT_CPUS		(1U << 7)	/* each P names a CPU to pin to */
#define GMP_FEAT_LOCKED		(1U << 8)	/* GMP_PARK_LOCKED, GMP_RUNQ_WAKE */
#define GMP_FEAT_RESIZE		(1U << 9)	/* GMP_SETUP_RESIZE, GMP_IOC_PROCRESIZE */
#define GMP_FEAT_POLL		(1U << 10)	/* GMP_PARK_POLL */

/* Offsets in the read-only region (GMP_OFF_SCHED); each field is a __u32. */
struct gmp_sched_offsets {
	__u32 gomaxprocs;	/* Ps in the instance */
	__u32 npidle;		/* Ps on the idle list */
	__u32 nmidle;		/* Ms parked on the idle list */
	__u32 runqsize;		/* Gs in the global run queue */
	__u32 nmsys;		/* Ps in GMP_P_SYSCALL, as of the last sysmon pass */
	__u32 size;		/* bytes to mmap */
	__u32 resv[2];
};

/* Offsets in the read-write region (GMP_OFF_PROCS). */
struct gmp_procs_offsets {
	__u32 nmspinning;	/* __u32: spinning Ms; both sides update it atomically */
	__u32 p0;		/* first byte of P 0 */
	__u32 p_stride;		/* bytes from P i to P i+1 */
	__u32 size;		/* bytes to mmap */
	/* Within a P: */
	__u32 status;		/* __u32: GMP_P_* in the low byte (GMP_P_SYSCALL_M) */
	__u32 m;		/* __s32: M holding the P, or GMP_NONE (kernel-written) */
	__u32 schedtick;	/* __u32: bumped by the owner M at every schedule */
	__u32 syscalltick;	/* __u32: bumped by the owner M at every syscall */
	__u32 preempt;		/* __u32: non-zero: sysmon asks the running G to yield */
	__u32 runqhead;		/* __u32: next slot to take (CAS by takers) */
	__u32 runqtail;		/* __u32: next slot to fill (owner M only) */
	__u32 runnext;		/* __u64: G to run next, or 0 (CAS) */
	__u32 runq;		/* __u64[GMP_RUNQ_SIZE]: the ring */
	/* __u64: the P's earliest timer, CLOCK_MONOTONIC ns, or 0 (owner M) */
	__u32 timer0when;
	/*
	 * __s32: a CPU the opener may run on, for an M holding this P to pin
	 * itself to (sched_setaffinity); kernel-written at SETUP
	 */
	__u32 cpu;
	__u32 resv[5];
};

/* Offsets in the read-write region of M slots (GMP_OFF_MS). */
struct gmp_ms_offsets {
	__u32 slot_size;	/* bytes from M i's slot to M i+1's; slot 0 at 0 */
	/* __u32: written by the M: non-zero while it runs its scheduler */
	__u32 inruntime;
	/* __s32: written by the kernel: the P the M holds, or GMP_NONE */
	__u32 p;
	__u32 size;		/* bytes to mmap (slots for GMP_MAX_M Ms) */
	__u32 resv[4];
};

struct gmp_params {
	/*
	 * in: Ps wanted (0: one per CPU the opener may use, capped by the CPU
	 * bandwidth limit of its cgroup and every ancestor); out: Ps made
	 */
	__u32 nprocs;
	__u32 flags;		/* in: GMP_SETUP_* */
	__u32 features;		/* out: GMP_FEAT_* */
	__u32 instance;		/* out: instance id (debugfs: gmp/<instance>/) */
	__u32 runq_size;	/* out: GMP_RUNQ_SIZE */
	__u32 max_m;		/* out: Ms accepted (max_m parameter, <= GMP_MAX_M) */
	__u32 global_runq_max;	/* out: Gs the global run queue holds at most */
	__u32 block_grace_us;	/* out: with GMP_SETUP_HANDOFF, the grace period */
	struct gmp_sched_offsets sched;	/* out */
	struct gmp_procs_offsets procs;	/* out */
	struct gmp_ms_offsets ms;	/* out */
	__u64 resv[8];		/* must be zero */
};

/* ---- GMP_IOC_REGISTER, GMP_IOC_UNREGISTER ----------------------------- */

#define GMP_REGISTER_CLAIM	(1U << 0)	/* take P @p, reserved for a new M */
#define GMP_REGISTER_FLAGS	(GMP_REGISTER_CLAIM)

struct gmp_register {
	__u32 flags;		/* in: GMP_REGISTER_* */
	__s32 p;		/* in: with GMP_REGISTER_CLAIM, the reserved P */
	__u32 m;		/* out: the new M's id (its slot in GMP_OFF_MS) */
	__u32 resv;		/* must be zero */
	__u64 resv2[2];		/* must be zero */
};

struct gmp_unregister {
	__u32 m;		/* in: caller's M */
	__u32 flags;		/* must be zero */
	__u64 resv;		/* must be zero */
};

/* ---- GMP_IOC_PARK: Go's stopm around notesleep ------------------------- */

#define GMP_PARK_SPINNING	(1U << 0)	/* caller was spinning: nmspinning-- and recheck */
#define GMP_PARK_DEADLINE	(1U << 1)	/* wake at @deadline at the latest */
/*
 * The caller's G is locked to it (Go's stoplockedm): its P is handed off
 * (handoffp), and it sleeps off the idle list until a GMP_WAKE_TARGET
 * hands it a P.  Not with SPINNING or DEADLINE.
 */
#define GMP_PARK_LOCKED		(1U << 2)
/*
 * Wake also when epoll file @pollfd is readable (the runtime's netpoller):
 * the park returns GMP_PARKED_POLL, with an idle P if there is one, and
 * the caller collects the events itself.  Not with LOCKED.
 */
#define GMP_PARK_POLL		(1U << 3)
#define GMP_PARK_FLAGS		(GMP_PARK_SPINNING | GMP_PARK_DEADLINE | GMP_PARK_LOCKED | \
				 GMP_PARK_POLL)

/* Why park returned (@result). */
#define GMP_PARKED_WOKEN	1	/* woken by a wake: @p handed over */
#define GMP_PARKED_WORK		2	/* work appeared while parking: @p acquired */
#define GMP_PARKED_TIMEOUT	3	/* deadline passed: @p acquired if one was idle */
#define GMP_PARKED_POLL		4	/* @pollfd is readable: @p acquired if one was idle */

/* @oflags */
#define GMP_PARKED_SPINNING	(1U << 0)	/* return as a spinning M (counted in nmspinning) */

struct gmp_park {
	__u32 m;		/* in: caller's M */
	__u32 flags;		/* in: GMP_PARK_* */
	__u64 deadline;		/* in: absolute CLOCK_MONOTONIC time, ns */
	__u32 result;		/* out: GMP_PARKED_* */
	__s32 p;		/* out: P now held, or GMP_NONE */
	__u32 oflags;		/* out: GMP_PARKED_SPINNING */
	__s32 pollfd;		/* in: with GMP_PARK_POLL, an epoll fd; else zero */
};

/* ---- GMP_IOC_WAKE: Go's startm around notewakeup ---------------------- */

#define GMP_WAKE_SPINNING	(1U << 0)	/* start the M spinning (caller won nmspinning 0->1) */
#define GMP_WAKE_HANDOFF	(1U << 1)	/* hand over the caller's own P */
#define GMP_WAKE_PROC		(1U << 2)	/* take idle P @p, not any idle P */
/*
 * Wake M @target (Go's startlockedm).  The target may still hold a P (a
 * locked M on its way to GMP_PARK_LOCKED): the P handed over waits in its
 * note, and its park hands its own P off.
 */
#define GMP_WAKE_TARGET		(1U << 3)
#define GMP_WAKE_FLAGS		(GMP_WAKE_SPINNING | GMP_WAKE_HANDOFF | \
				 GMP_WAKE_PROC | GMP_WAKE_TARGET)

/* What wake did (@result). */
#define GMP_WOKE_M		1	/* M @target now holds P @p and runs */
#define GMP_WOKE_NEWM		2	/* no idle M: P @p is reserved, start a new M with it */
#define GMP_WOKE_NOPROC		3	/* no idle P: nothing done */

struct gmp_wake {
	__u32 m;		/* in: caller's M */
	__u32 flags;		/* in: GMP_WAKE_* */
	__s32 p;		/* in: with GMP_WAKE_PROC; out: the P handed over or reserved */
	__s32 target;		/* in: with GMP_WAKE_TARGET; out: the M woken */
	__u32 result;		/* out: GMP_WOKE_* */
	__u32 resv[3];		/* must be zero */
};

/* ---- GMP_IOC_ACQUIRE_P, GMP_IOC_RELEASE_P: pidleget / pidleput -------- */

/* acquire: P @p if it is idle, else any idle P (Go's exitsyscallfast). */
#define GMP_ACQUIRE_ANY		(1U << 0)
#define GMP_ACQUIRE_FLAGS	(GMP_ACQUIRE_ANY)

struct gmp_procarg {
	__u32 m;		/* in: caller's M */
	/*
	 * acquire: in: the P wanted, or GMP_NONE for any; out: the P, or
	 * GMP_NONE.  release: the caller's P, or a P reserved for a new M.
	 */
	__s32 p;
	__u32 flags;		/* acquire: GMP_ACQUIRE_*; release: must be zero */
	__u32 resv;		/* must be zero */
};

/* ---- GMP_IOC_RUNQ_PUT, GMP_IOC_RUNQ_GET: the global run queue --------- */

/*
 * put from a thread that holds no P (Go's injectglist without a P): start
 * an M for each idle P, up to the number of Gs put.  Needs no M id.
 */
#define GMP_RUNQ_WAKE		(1U << 0)
#define GMP_RUNQ_FLAGS		(GMP_RUNQ_WAKE)

struct gmp_runq {
	__u64 gs;		/* in: user pointer to an array of __u64 G handles */
	/*
	 * put: in: handles (1..GMP_RUNQ_BATCH_MAX).
	 * get: in: room in @gs; out: handles taken.
	 */
	__u32 n;
	__u32 flags;		/* put: GMP_RUNQ_*; get: must be zero */
	__u64 resv;		/* must be zero */
};

/* ---- GMP_IOC_NEWM_WAIT: Go's templateThread ---------------------------- */

struct gmp_newm {
	__u32 m;		/* in: caller's M */
	__s32 p;		/* out: a P reserved for a new M (a kernel handoff) */
	__u32 flags;		/* must be zero */
	__u32 resv;		/* must be zero */
};

/* ---- GMP_IOC_SCHEDTRACE: Go's schedtrace / scheddetail ---------------- */

#define GMP_TRACE_DETAIL	(1U << 0)	/* add a line per P and per M */
#define GMP_TRACE_FLAGS		(GMP_TRACE_DETAIL)

struct gmp_trace {
	__u64 buf;		/* in: user buffer */
	__u32 len;		/* in: its size; out: bytes written (text, no NUL) */
	__u32 flags;		/* in: GMP_TRACE_* */
	__u64 resv[2];		/* must be zero */
};

/* ---- GMP_IOC_SYSMON: Go's sysmon, run by a thread of the process ------- */

/*
 * The calling thread (one at a time; it need not be an M) becomes the
 * instance's sysmon until a signal comes (EINTR: call again) or the
 * instance is shut down (ESHUTDOWN).  Its CPU time is the process's own.
 */
struct gmp_sysmon {
	__u32 flags;		/* must be zero */
	__u32 resv;		/* must be zero */
	__u64 resv2[2];		/* must be zero */
};

/* ---- GMP_IOC_PROCRESIZE: Go's procresize (runtime.GOMAXPROCS(n)) ----- */

/*
 * Change the number of Ps in force to @nprocs (1..GMP_MAX_PROCS; 0 only
 * reads), with GMP_SETUP_RESIZE.  Growing makes the new Ps (idle) or brings
 * stopped ones back.  Shrinking stops the idle Ps beyond @nprocs at once;
 * a P beyond it that an M holds stops when that M lets it go (park,
 * release, a handoff), and until then is "retiring": its M should move its
 * Gs to the global queue and release it at its next scheduling point (the
 * kernel never idles a retiring P whose ring has Gs: it hands it to an M).
 * A stopped P keeps its page, its ring (empty) and its timer0when: its
 * timers wait for an M to adopt them, and a parking M still sleeps no
 * later than them.  Needs no M id: any thread of the owner may call.
 *
 * GMP_RESIZE_DEFAULT: also answer in @dflt what SETUP's nprocs 0 would
 * give the calling thread now (its mask, capped by the CPU bandwidth
 * limits of its cgroups); with @nprocs 0, a question that changes nothing.
 */
#define GMP_RESIZE_DEFAULT	(1U << 0)
#define GMP_RESIZE_FLAGS	(GMP_RESIZE_DEFAULT)

struct gmp_procresize {
	__u32 nprocs;		/* in: Ps wanted, 0: none changed; out: Ps before */
	__u32 flags;		/* in: GMP_RESIZE_* */
	__u32 dflt;		/* out: with GMP_RESIZE_DEFAULT, the default now */
	__u32 resv;		/* must be zero */
};

#define GMP_IOC_MAGIC		0xBC
#define GMP_IOC_SETUP		_IOWR(GMP_IOC_MAGIC, 0x00, struct gmp_params)
#define GMP_IOC_REGISTER	_IOWR(GMP_IOC_MAGIC, 0x01, struct gmp_register)
#define GMP_IOC_UNREGISTER	_IOW(GMP_IOC_MAGIC, 0x02, struct gmp_unregister)
#define GMP_IOC_PARK		_IOWR(GMP_IOC_MAGIC, 0x03, struct gmp_park)
#define GMP_IOC_WAKE		_IOWR(GMP_IOC_MAGIC, 0x04, struct gmp_wake)
#define GMP_IOC_ACQUIRE_P	_IOWR(GMP_IOC_MAGIC, 0x05, struct gmp_procarg)
#define GMP_IOC_RELEASE_P	_IOW(GMP_IOC_MAGIC, 0x06, struct gmp_procarg)
#define GMP_IOC_RUNQ_PUT	_IOW(GMP_IOC_MAGIC, 0x07, struct gmp_runq)
#define GMP_IOC_RUNQ_GET	_IOWR(GMP_IOC_MAGIC, 0x08, struct gmp_runq)
#define GMP_IOC_NEWM_WAIT	_IOWR(GMP_IOC_MAGIC, 0x09, struct gmp_newm)
#define GMP_IOC_SCHEDTRACE	_IOWR(GMP_IOC_MAGIC, 0x0a, struct gmp_trace)
#define GMP_IOC_SYSMON		_IOW(GMP_IOC_MAGIC, 0x0b, struct gmp_sysmon)
#define GMP_IOC_PROCRESIZE	_IOWR(GMP_IOC_MAGIC, 0x0c, struct gmp_procresize)

#endif /* _UAPI_LINUX_GMP_H */
