// SPDX-License-Identifier: GPL-2.0
/*
 * The context switch (asm_amd64.S, asm_arm64.S), seen from C: what the
 * ABI says survives a call survives a switch to other Gs and back, maybe
 * onto another M, and the floating-point mode is the G's.  Across nprocs
 * 1, 2 and 4 (Gs switch on one M, and move between Ms).
 *
 * Registers are checked through the compiler: a G's loop keeps many
 * integer and floating-point values live across gmprt_yield(), which the
 * compiler puts in callee-saved registers (x86-64: rbx, rbp, r12-r15;
 * arm64: x19-x28, d8-d15), and its result must be bit for bit the result
 * of the same loop run without yields.  A switch that lost one of them
 * would hand a G another G's values.
 */
#include <fenv.h>
#include <stdint.h>
#include "kselftest_harness.h"
#include "rt_util.h"
#include "runtime.h"

RT_NPROCS_FIXTURE;

#define NGS	8
#define ROUNDS	2000

struct regs {
	uint64_t i[10];
	double d[8];
};

/*
 * Twelve integers and eight doubles live across the call; noclone, so
 * that the run with yields and the one without are the same code.
 */
static __attribute__((noinline, noclone)) void churn(uint64_t seed, bool yield,
						    struct regs *out)
{
	uint64_t a = seed, b = seed ^ 0x9e3779b97f4a7c15ULL, c = seed * 3, d = seed + 7;
	uint64_t e = ~seed, f = seed << 3, g = seed >> 2, h = seed * seed;
	uint64_t x = seed | 1, y = seed & 0xffff;
	double d0 = (double)(seed % 1000) + 0.5, d1 = d0 * 1.25, d2 = d0 / 3.0;
	double d3 = d0 - 11.0, d4 = d1 * d2, d5 = d3 + d4, d6 = 1.0 / (d0 + 1.0);
	double d7 = d6 * d5;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		a = a * 6364136223846793005ULL + b;
		b ^= a >> 17;
		c += b * 31;
		d = (d << 5) ^ c;
		e -= d;
		f += e ^ (f >> 3);
		g = g * 7 + f;
		h ^= g + r;
		x = x * 5 + h;
		y += x >> 11;
		d0 = d0 * 0.999 + d7;
		d1 = d1 * 1.001 - d0 * 0.25;
		d2 = d2 + d1 * 0.125;
		d3 = d3 * 0.5 + d2;
		d4 = d4 - d3 * 0.0625;
		d5 = d5 * 0.75 + d4;
		d6 = d6 + d5 * 0.001;
		d7 = d7 * 0.9 + d6 * 0.1;
		if (yield)
			gmprt_yield();
	}
	*out = (struct regs){ { a, b, c, d, e, f, g, h, x, y },
			      { d0, d1, d2, d3, d4, d5, d6, d7 } };
}

static struct regs want[NGS], got[NGS];
static gmprt_waitgroup wg = GMPRT_WAITGROUP_INIT;

static void churner(void *arg)
{
	long k = (long)arg;

	churn(0x1234567ULL * (k + 1), true, &got[k]);
	gmprt_wg_done(&wg);
}

static int switch_many(void *arg)
{
	long k;

	(void)arg;
	for (k = 0; k < NGS; k++)
		churn(0x1234567ULL * (k + 1), false, &want[k]);
	gmprt_wg_add(&wg, NGS);
	for (k = 0; k < NGS; k++)
		GCHECK(gmprt_go(churner, (void *)k) == 0);
	gmprt_wg_wait(&wg);
	for (k = 0; k < NGS; k++)
		GCHECKF(!memcmp(&want[k], &got[k], sizeof(want[k])),
			"G %ld: its callee-saved values changed across switches", k);
	return 0;
}

TEST_F_TIMEOUT(rt, callee_saved_survive_switches, 120)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, switch_many, NULL));
	RT_ASSERT_CLEAN();
}

/* ---- the FP mode is the G's ------------------------------------------ */

static const int modes[] = { FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO };
#define NMODES	(int)(sizeof(modes) / sizeof(modes[0]))

/* 1/3 rounded in the current mode: the four modes give three results. */
static double third(void)
{
	volatile double one = 1.0, three = 3.0;

	return one / three;
}

static void moder(void *arg)
{
	long k = (long)arg;
	int mode = modes[k % NMODES], r;
	double mine;

	GCHECK(fesetround(mode) == 0);
	mine = third();
	for (r = 0; r < ROUNDS; r++) {
		gmprt_yield();
		GCHECKF(fegetround() == mode, "G %ld: rounding mode %#x, set %#x", k,
			fegetround(), mode);
		GCHECKF(third() == mine, "G %ld: 1/3 rounded another G's way", k);
	}
	fesetround(FE_TONEAREST);
	gmprt_wg_done(&wg);
}

static int modes_apart(void *arg)
{
	long k;

	(void)arg;
	gmprt_wg_add(&wg, 2 * NMODES);
	for (k = 0; k < 2 * NMODES; k++)
		GCHECK(gmprt_go(moder, (void *)k) == 0);
	gmprt_wg_wait(&wg);
	return 0;
}

TEST_F_TIMEOUT(rt, fp_mode_is_per_g, 120)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, modes_apart, NULL));
	RT_ASSERT_CLEAN();
}

static atomic_int child_mode = -1;

static void child(void *arg)
{
	(void)arg;
	atomic_store(&child_mode, fegetround());
	gmprt_wg_done(&wg);
}

static int spawn_in_odd_mode(void *arg)
{
	(void)arg;
	GCHECK(fesetround(FE_TOWARDZERO) == 0);
	gmprt_wg_add(&wg, 1);
	GCHECK(gmprt_go(child, NULL) == 0);
	gmprt_wg_wait(&wg);
	GCHECK(fegetround() == FE_TOWARDZERO);
	fesetround(FE_TONEAREST);
	return 0;
}

TEST_F(rt, new_g_starts_in_default_fp_mode)
{
	ASSERT_EQ(0, rt_run(variant->nprocs, spawn_in_odd_mode, NULL));
	RT_ASSERT_CLEAN();
	ASSERT_EQ(FE_TONEAREST, atomic_load(&child_mode));
}

TEST_HARNESS_MAIN
