/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gmp.ko's tracepoints: the scheduler's decisions, as events in tracefs
 * (events/gmp/), for perf ("perf record -e 'gmp:*'"), trace-cmd and
 * bpftrace ("tracepoint:gmp:gmp_handoff").  tracepoints.c says what each
 * one is for and why these; this file is only their shapes.
 *
 * Every event names its instance by its number (the debugfs folder's name:
 * /sys/kernel/debug/gmp/<inst>), its M by the M id the runtime registered
 * and its P by its index; the thread is the event's own pid column, or
 * not there at all for events that fire in sysmon or in a timer.
 * Disabled, an event costs a static branch (a nop) where it sits.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM gmp

#if !defined(_GMP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _GMP_TRACE_H

#include <linux/tracepoint.h>
#include <linux/gmp.h>

/*
 * Why a P went to __gmp_handoffp() (the question a reader asks first: who
 * took my P, and why), and what handoffp did with it.  TRACE_DEFINE_ENUM
 * puts the values into the format file, so that perf and trace-cmd print
 * the names too; a new reason goes in the enum, here and in the table.
 */
#ifndef _GMP_TRACE_ENUMS
#define _GMP_TRACE_ENUMS
enum gmp_handoff_why {
	GMP_HANDOFF_SYSCALL,		/* sysmon retook a P in a syscall */
	GMP_HANDOFF_BLOCK,		/* its M blocked past the grace */
	GMP_HANDOFF_PREEMPT,		/* its G ran 10 ms: preempt handoff */
	GMP_HANDOFF_DEADM,		/* its M unregistered or died */
	GMP_HANDOFF_LOCKED,		/* its M parked for a locked G */
	GMP_HANDOFF_RELEASE,		/* its M gave it back (RELEASE_P) */
	GMP_HANDOFF_NEWM,		/* the new M it waited for never came */
	GMP_HANDOFF_RESIZE,		/* PROCRESIZE took it out of force */
};

enum gmp_handoff_to {
	GMP_HANDOFF_TO_M,		/* an M, to run its work */
	GMP_HANDOFF_TO_SPIN,		/* a spinning M, to look for work */
	GMP_HANDOFF_TO_IDLE,		/* the idle list */
	GMP_HANDOFF_TO_DEAD,		/* the idle list: shutting down */
	GMP_HANDOFF_TO_STOP,		/* stopped: out of force, no Gs */
};
#endif

TRACE_DEFINE_ENUM(GMP_HANDOFF_SYSCALL);
TRACE_DEFINE_ENUM(GMP_HANDOFF_BLOCK);
TRACE_DEFINE_ENUM(GMP_HANDOFF_PREEMPT);
TRACE_DEFINE_ENUM(GMP_HANDOFF_DEADM);
TRACE_DEFINE_ENUM(GMP_HANDOFF_LOCKED);
TRACE_DEFINE_ENUM(GMP_HANDOFF_RELEASE);
TRACE_DEFINE_ENUM(GMP_HANDOFF_NEWM);
TRACE_DEFINE_ENUM(GMP_HANDOFF_RESIZE);
TRACE_DEFINE_ENUM(GMP_HANDOFF_TO_M);
TRACE_DEFINE_ENUM(GMP_HANDOFF_TO_SPIN);
TRACE_DEFINE_ENUM(GMP_HANDOFF_TO_IDLE);
TRACE_DEFINE_ENUM(GMP_HANDOFF_TO_DEAD);
TRACE_DEFINE_ENUM(GMP_HANDOFF_TO_STOP);

#define gmp_show_handoff_why(w)						\
	__print_symbolic(w, { GMP_HANDOFF_SYSCALL, "syscall" },		\
			 { GMP_HANDOFF_BLOCK, "block" },		\
			 { GMP_HANDOFF_PREEMPT, "preempt" },		\
			 { GMP_HANDOFF_DEADM, "deadm" },		\
			 { GMP_HANDOFF_LOCKED, "locked" },		\
			 { GMP_HANDOFF_RELEASE, "release" },		\
			 { GMP_HANDOFF_NEWM, "newm" },		\
			 { GMP_HANDOFF_RESIZE, "resize" })

#define gmp_show_handoff_to(t)						\
	__print_symbolic(t, { GMP_HANDOFF_TO_M, "m" },			\
			 { GMP_HANDOFF_TO_SPIN, "spinning" },		\
			 { GMP_HANDOFF_TO_IDLE, "idle" },		\
			 { GMP_HANDOFF_TO_DEAD, "dead" },		\
			 { GMP_HANDOFF_TO_STOP, "stopped" })

#define gmp_show_park_flags(f)						\
	__print_flags(f, "|", { GMP_PARK_SPINNING, "spinning" },	\
		      { GMP_PARK_DEADLINE, "deadline" },		\
		      { GMP_PARK_LOCKED, "locked" })

#define gmp_show_parked(r)						\
	__print_symbolic(r, { 0, "none" }, { GMP_PARKED_WOKEN, "woken" }, \
			 { GMP_PARKED_WORK, "work" },			\
			 { GMP_PARKED_TIMEOUT, "timeout" })

#define gmp_show_wake_flags(f)						\
	__print_flags(f, "|", { GMP_WAKE_SPINNING, "spinning" },	\
		      { GMP_WAKE_HANDOFF, "handoff" },			\
		      { GMP_WAKE_PROC, "proc" },			\
		      { GMP_WAKE_TARGET, "target" })

#define gmp_show_woke(r)						\
	__print_symbolic(r, { 0, "none" }, { GMP_WOKE_M, "m" },	\
			 { GMP_WOKE_NEWM, "newm" },			\
			 { GMP_WOKE_NOPROC, "noproc" })

/* An M asks to sleep (GMP_IOC_PARK), before anything is decided. */
TRACE_EVENT(gmp_park,
	TP_PROTO(u32 inst, u32 m, u32 flags, u64 deadline),
	TP_ARGS(inst, m, flags, deadline),
	TP_STRUCT__entry(
		__field(u32, inst)
		__field(u32, m)
		__field(u32, flags)
		__field(u64, deadline)
	),
	TP_fast_assign(
		__entry->inst = inst;
		__entry->m = m;
		__entry->flags = flags;
		__entry->deadline = deadline;
	),
	TP_printk("inst=%u m=%u flags=%s deadline=%llu", __entry->inst,
		  __entry->m, gmp_show_park_flags(__entry->flags),
		  __entry->deadline)
);

/* ... and comes back: with which P, and why (error: ret < 0). */
TRACE_EVENT(gmp_unpark,
	TP_PROTO(u32 inst, u32 m, int ret, u32 result, s32 p),
	TP_ARGS(inst, m, ret, result, p),
	TP_STRUCT__entry(
		__field(u32, inst)
		__field(u32, m)
		__field(int, ret)
		__field(u32, result)
		__field(s32, p)
	),
	TP_fast_assign(
		__entry->inst = inst;
		__entry->m = m;
		__entry->ret = ret;
		__entry->result = result;
		__entry->p = p;
	),
	TP_printk("inst=%u m=%u ret=%d result=%s p=%d", __entry->inst,
		  __entry->m, __entry->ret, gmp_show_parked(__entry->result),
		  __entry->p)
);

/* An M wakes another (GMP_IOC_WAKE, Go's startm): what it found. */
TRACE_EVENT(gmp_wake,
	TP_PROTO(u32 inst, u32 m, u32 flags, int ret, u32 result, s32 p,
		 s32 target),
	TP_ARGS(inst, m, flags, ret, result, p, target),
	TP_STRUCT__entry(
		__field(u32, inst)
		__field(u32, m)
		__field(u32, flags)
		__field(int, ret)
		__field(u32, result)
		__field(s32, p)
		__field(s32, target)
	),
	TP_fast_assign(
		__entry->inst = inst;
		__entry->m = m;
		__entry->flags = flags;
		__entry->ret = ret;
		__entry->result = result;
		__entry->p = p;
		__entry->target = target;
	),
	TP_printk("inst=%u m=%u flags=%s ret=%d result=%s p=%d target=%d",
		  __entry->inst, __entry->m, gmp_show_wake_flags(__entry->flags),
		  __entry->ret, gmp_show_woke(__entry->result), __entry->p,
		  __entry->target)
);

/* A P nobody holds goes somewhere (Go's handoffp), and why it had to. */
TRACE_EVENT(gmp_handoff,
	TP_PROTO(u32 inst, s32 p, enum gmp_handoff_why why,
		 enum gmp_handoff_to to),
	TP_ARGS(inst, p, why, to),
	TP_STRUCT__entry(
		__field(u32, inst)
		__field(s32, p)
		__field(u32, why)
		__field(u32, to)
	),
	TP_fast_assign(
		__entry->inst = inst;
		__entry->p = p;
		__entry->why = why;
		__entry->to = to;
	),
	TP_printk("inst=%u p=%d why=%s to=%s", __entry->inst, __entry->p,
		  gmp_show_handoff_why(__entry->why),
		  gmp_show_handoff_to(__entry->to))
);

/* Sysmon asks P's G to yield (it ran 10 ms); handoff: its P goes too. */
TRACE_EVENT(gmp_preempt,
	TP_PROTO(u32 inst, s32 p, u32 m, bool handoff),
	TP_ARGS(inst, p, m, handoff),
	TP_STRUCT__entry(
		__field(u32, inst)
		__field(s32, p)
		__field(u32, m)
		__field(bool, handoff)
	),
	TP_fast_assign(
		__entry->inst = inst;
		__entry->p = p;
		__entry->m = m;
		__entry->handoff = handoff;
	),
	TP_printk("inst=%u p=%d m=%u handoff=%d", __entry->inst, __entry->p,
		  __entry->m, __entry->handoff)
);

/* An M holding P blocked in the kernel: its grace period starts. */
TRACE_EVENT(gmp_block,
	TP_PROTO(u32 inst, u32 m, s32 p, u64 grace_ns),
	TP_ARGS(inst, m, p, grace_ns),
	TP_STRUCT__entry(
		__field(u32, inst)
		__field(u32, m)
		__field(s32, p)
		__field(u64, grace_ns)
	),
	TP_fast_assign(
		__entry->inst = inst;
		__entry->m = m;
		__entry->p = p;
		__entry->grace_ns = grace_ns;
	),
	TP_printk("inst=%u m=%u p=%d grace_ns=%llu", __entry->inst,
		  __entry->m, __entry->p, __entry->grace_ns)
);

/* A blocked M runs again; lost: its P was handed off while it slept. */
TRACE_EVENT(gmp_unblock,
	TP_PROTO(u32 inst, u32 m, bool lost),
	TP_ARGS(inst, m, lost),
	TP_STRUCT__entry(
		__field(u32, inst)
		__field(u32, m)
		__field(bool, lost)
	),
	TP_fast_assign(
		__entry->inst = inst;
		__entry->m = m;
		__entry->lost = lost;
	),
	TP_printk("inst=%u m=%u lost=%d", __entry->inst, __entry->m,
		  __entry->lost)
);

/* No idle M for P: it is reserved for a new thread (the template's). */
TRACE_EVENT(gmp_newm,
	TP_PROTO(u32 inst, s32 p),
	TP_ARGS(inst, p),
	TP_STRUCT__entry(
		__field(u32, inst)
		__field(s32, p)
	),
	TP_fast_assign(
		__entry->inst = inst;
		__entry->p = p;
	),
	TP_printk("inst=%u p=%d", __entry->inst, __entry->p)
);

/* The global run queue: a batch of @n Gs in or out, @size after it. */
DECLARE_EVENT_CLASS(gmp_runq,
	TP_PROTO(u32 inst, u32 n, u32 size),
	TP_ARGS(inst, n, size),
	TP_STRUCT__entry(
		__field(u32, inst)
		__field(u32, n)
		__field(u32, size)
	),
	TP_fast_assign(
		__entry->inst = inst;
		__entry->n = n;
		__entry->size = size;
	),
	TP_printk("inst=%u n=%u size=%u", __entry->inst, __entry->n,
		  __entry->size)
);

DEFINE_EVENT(gmp_runq, gmp_runq_put,
	TP_PROTO(u32 inst, u32 n, u32 size),
	TP_ARGS(inst, n, size)
);

DEFINE_EVENT(gmp_runq, gmp_runq_get,
	TP_PROTO(u32 inst, u32 n, u32 size),
	TP_ARGS(inst, n, size)
);

#endif /* _GMP_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE gmp_trace
#include <trace/define_trace.h>
