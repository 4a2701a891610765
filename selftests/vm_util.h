/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the tests know of the boot they run in: the volume it asked for.
 * The debug kernel (KASAN, lockdep, kmemleak; qemu/kernel-debug.sh) is
 * about ten times slower under emulation, arm64 under TCG about twice:
 * the heaviest cases scale their work down there (vm_volume()), not their
 * checks.
 */
#ifndef VM_UTIL_H
#define VM_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The volume of the heaviest cases (docs/testing.md, "Volume"): the full
 * one in make check on the stock kernel, which is where the numbers the
 * issues and docs name (10,000 connections, 100k round trips, 10,000 Ms)
 * are proven; a tenth where the boot says GMP_TEST_VOLUME=tenth (make's
 * TEST_VOLUME; check-debug's default, and CI's 6.12 and arm64 tiers),
 * whose job is the same paths on another kernel, build or architecture.
 * The checks are the same at either volume.  Any other value is a mistake
 * that must not pass for either: it ends the test binary.
 */
static inline bool vm_volume_reduced(void)
{
	const char *v = getenv("GMP_TEST_VOLUME");

	if (!v || !*v || !strcmp(v, "full"))
		return false;
	if (strcmp(v, "tenth")) {
		fprintf(stderr, "GMP_TEST_VOLUME=%s: full or tenth\n", v);
		exit(2);
	}
	return true;
}

static inline long vm_volume(long full)
{
	return vm_volume_reduced() && full >= 10 ? full / 10 : full;
}

#endif /* VM_UTIL_H */
