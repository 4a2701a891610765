/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The context switch: the only assembly in the runtime.
 *
 * void gmprt_swapctx(void **save_sp, void *new_sp)
 *
 * Saves what the SysV ABI says a callee must preserve (rbx, rbp, r12-r15),
 * the SSE control/status word (MXCSR) and the x87 control word on the current
 * stack, stores the stack pointer in *save_sp, switches to new_sp and
 * restores the same from there.  The return address is already on the stack
 * (the call pushed it), so "ret" resumes whoever saved new_sp.  No system
 * call, no signal mask (that is what makes ucontext slow): a G's signal mask
 * is its thread's.
 *
 * A new G's stack is prepared by arch_gframe() (arch.h) to look like a
 * saved context whose return address is gmprt_gstart.
 */
	.text
	.globl	gmprt_swapctx
	.hidden	gmprt_swapctx
	.type	gmprt_swapctx, @function
gmprt_swapctx:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	gmprt_swapctx, .-gmprt_swapctx

/*
 * First instruction of every G: clear the frame pointer (so that debuggers
 * and backtraces stop here), align the stack and enter C.
 */
	.globl	gmprt_gstart
	.hidden	gmprt_gstart
	.type	gmprt_gstart, @function
gmprt_gstart:
	.cfi_startproc
	.cfi_undefined rip
	xorl	%ebp, %ebp
	andq	$-16, %rsp
	call	gmprt_goentry
	ud2
	.cfi_endproc
	.size	gmprt_gstart, .-gmprt_gstart

	.section .note.GNU-stack,"",@progbits
