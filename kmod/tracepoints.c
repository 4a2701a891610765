// SPDX-License-Identifier: GPL-2.0
/*
 * gmp.ko: the tracepoints (gmp_trace.h), instantiated here and only here.
 *
 * Glossary.  A tracepoint is a named hook in kernel code that costs a
 * patched-out branch until someone enables it through tracefs
 * (/sys/kernel/tracing/events/gmp/), perf or a BPF program; then each hit
 * writes one record of fixed fields into the tracing ring buffer.
 *
 * Why these.  The scheduler's state is on the shared pages and in
 * schedtrace, but a state is a snapshot: what a user debugging a stall
 * needs is the decisions in order.  Each event sits where gmp.ko decides
 * something a user of the runtime can feel:
 *   gmp_park / gmp_unpark  an M sleeps (Go's stopm) and comes back: with
 *                          which P, woken, work found, or a timeout
 *   gmp_wake               an M starts another (Go's startm): which M,
 *                          which P, or a P reserved for a new thread
 *   gmp_handoff            a P nobody holds goes to an M, a spinning M or
 *                          the idle list (Go's handoffp), with the reason
 *                          it lost its holder: syscall retake, block
 *                          detected, preempt handoff, a dead M, a locked
 *                          park, a release, a new M that never came
 *   gmp_preempt            sysmon asks a G that ran 10 ms to yield
 *   gmp_block / _unblock   block detection: an M holding a P blocked in
 *                          the kernel, and ran again (lost: its P was
 *                          handed off meanwhile)
 *   gmp_newm               a P reserved for the template thread's new M
 *   gmp_runq_put / _get    the global run queue, batch sizes and length
 * The runtime's own fast paths (its rings, its spinning) never enter the
 * kernel and so are not here; GMPRT's own tracing is the place for those.
 *
 * Rejected: trace_printk() (a debugging aid that the kernel warns about at
 * load, not an interface); one event per ioctl (the ioctl is not the
 * decision: a park may hand a P off, sleep, or return at once).
 *
 * Where they fire.  gmp_block fires in the preempt notifier, under the
 * runqueue lock; gmp_unblock right after the switch; both only record
 * fields, which tracepoints are made for.  gmp_handoff, gmp_newm and the
 * run-queue events fire under sched->lock.  None of them reads the shared
 * pages: every field is the kernel's own copy.
 */
#include "gmp.h"		/* declares them, as everywhere else */

#define CREATE_TRACE_POINTS
#include "gmp_trace.h"		/* ... and, with this defined, defines them */
