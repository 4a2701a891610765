/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The context switch for arm64 (asm_amd64.S's twin).
 *
 * void gmprt_swapctx(void **save_sp, void *new_sp)
 *
 * Saves what AAPCS64 says a callee must preserve: x19-x28, the frame
 * pointer x29, the link register x30 (our return address: "bl" left it
 * there, not on the stack as x86's call does), the low halves d8-d15 of
 * v8-v15, and FPCR (rounding mode, flush-to-zero, trap enables: the
 * floating-point mode is a G's, as MXCSR is on x86).  Not saved, because a
 * caller may not rely on them across a call: x0-x18, the rest of the
 * vector registers, NZCV and FPSR's cumulative flags.
 *
 * The frame, 176 bytes from the new sp (a multiple of 16, as sp must be):
 *    0: x19 x20   16: x21 x22   32: x23 x24   48: x25 x26   64: x27 x28
 *   80: x29 x30   96: d8 d9    112: d10 d11  128: d12 d13  144: d14 d15
 *  160: FPCR, padding
 * arch_gframe() (arch.h) builds the same frame for a new G, with x30 =
 * gmprt_gstart.
 *
 * Like Go's gogo (runtime/asm_arm64.s), which restores sp, fp and lr
 * before jumping, this is a plain function: no system call, no signal
 * mask.  Unlike gogo it keeps the callee-saved registers, because a G's
 * C frames above us expect them back.  No barrier either: a G handed to
 * another M was published through the run queues' release/acquire pairs,
 * which order this M's reads of its saved context after the other's writes.
 */
	.text
	.globl	gmprt_swapctx
	.hidden	gmprt_swapctx
	.type	gmprt_swapctx, %function
	.p2align 4
gmprt_swapctx:
	.cfi_startproc
	sub	sp, sp, #176
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	mrs	x9, fpcr
	str	x9, [sp, #160]
	mov	x10, sp
	str	x10, [x0]

	mov	sp, x1
	ldr	x10, [sp, #160]
	/*
	 * Writing FPCR can serialize the pipeline on some cores; Gs nearly
	 * always share one mode, so write it only when it differs.
	 */
	cmp	x9, x10
	b.eq	1f
	msr	fpcr, x10
1:	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	add	sp, sp, #176
	ret
	.cfi_endproc
	.size	gmprt_swapctx, .-gmprt_swapctx

/*
 * First instruction of every G ("ret" above lands here, sp 16-aligned at
 * the top of its stack): a zero frame pointer and link register end every
 * backtrace here, then enter C.  gmprt_goentry never returns.
 */
	.globl	gmprt_gstart
	.hidden	gmprt_gstart
	.type	gmprt_gstart, %function
	.p2align 2
gmprt_gstart:
	.cfi_startproc
	.cfi_undefined x30
	mov	x29, #0
	mov	x30, #0
	bl	gmprt_goentry
	brk	#0x1
	.cfi_endproc
	.size	gmprt_gstart, .-gmprt_gstart

	.section .note.GNU-stack,"",%progbits
