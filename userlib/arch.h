/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libgmprt: what differs between the CPUs the runtime runs on (x86-64 and
 * arm64), besides the context switch itself (asm_amd64.S, asm_arm64.S):
 *
 *   cpu_relax()      the body of a spin-wait loop
 *   arch_gframe()    a new G's first saved context
 *   arch_fault_pc()  where a signal interrupted the thread (its ucontext)
 *
 * The rest of the runtime is arch-neutral C11 atomics; the orderings they
 * rely on are written down where they are used (proc.c, time.c) and
 * checked by selftests/rt_litmus_test.c.
 */
#ifndef GMPRT_ARCH_H
#define GMPRT_ARCH_H

#include <stdint.h>
#include <string.h>
#include <ucontext.h>

#if defined(__x86_64__)

/* PAUSE: the spinning hyperthread yields its core, and leaving the loop
 * does not pay for a memory-order mis-speculation. */
static inline void cpu_relax(void)
{
	__builtin_ia32_pause();
}

/*
 * The stack a new G's first gmprt_swapctx() switches to, as if that G had
 * called gmprt_swapctx() itself (asm_amd64.S's frame, from the top): a
 * zero "caller" slot, the return address @entry, rbp rbx r12-r15 zeroed,
 * then the x87 control word and MXCSR at the ABI's initial values (round
 * to nearest, every exception masked), not the creator's: a G does not
 * inherit the FP mode of whoever spawned it.
 */
static inline void *arch_gframe(char *stack_hi, void (*entry)(void))
{
	uint64_t *sp = (uint64_t *)((uintptr_t)stack_hi & ~(uintptr_t)15);

	*--sp = 0;				/* no caller */
	*--sp = (uintptr_t)entry;		/* ret of gmprt_swapctx */
	sp -= 6;				/* rbp rbx r12 r13 r14 r15 */
	memset(sp, 0, 6 * sizeof(*sp));
	*--sp = 0x037f00001f80ULL;		/* fcw 0x37f | mxcsr 0x1f80 */
	return sp;
}

static inline uintptr_t arch_fault_pc(const void *uc)
{
	return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
}

#elif defined(__aarch64__)

/* YIELD, as Go's procyield: a hint to an SMT core or a hypervisor. */
static inline void cpu_relax(void)
{
	__asm__ __volatile__("yield" ::: "memory");
}

/* asm_arm64.S's frame: x19-x28, x29 (fp), x30 (lr), d8-d15, FPCR. */
#define ARCH_FRAME_WORDS	22
#define ARCH_FRAME_LR		11	/* x30's slot */

/*
 * The stack a new G's first gmprt_swapctx() switches to: every saved
 * register zero (fp = 0 ends a backtrace), lr = @entry (its "ret" enters
 * the G), FPCR 0 (round to nearest, no traps: AAPCS64's default).  16-byte
 * aligned at both ends, as AAPCS64 requires of sp.
 */
static inline void *arch_gframe(char *stack_hi, void (*entry)(void))
{
	uint64_t *sp = (uint64_t *)((uintptr_t)stack_hi & ~(uintptr_t)15);

	sp -= ARCH_FRAME_WORDS;
	memset(sp, 0, ARCH_FRAME_WORDS * sizeof(*sp));
	sp[ARCH_FRAME_LR] = (uintptr_t)entry;
	return sp;
}

static inline uintptr_t arch_fault_pc(const void *uc)
{
	return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.pc;
}

#else
#error "libgmprt has a context switch for x86-64 and arm64 only"
#endif

#endif /* GMPRT_ARCH_H */
