/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the tests know of the kernel they run on.  The debug kernel
 * (KASAN, lockdep, kmemleak; qemu/kernel-debug.sh) is about ten times
 * slower under emulation: the heaviest cases scale their work down there,
 * not their checks.
 */
#ifndef VM_UTIL_H
#define VM_UTIL_H

#include <stdbool.h>
#include <string.h>
#include <sys/utsname.h>

static inline bool vm_debug_kernel(void)
{
	struct utsname u;

	return uname(&u) == 0 && strstr(u.release, "debug");
}

#endif /* VM_UTIL_H */
