// SPDX-License-Identifier: GPL-2.0
/*
 * Harness self-test: a module that WARNs when loaded.  make check must fail
 * on the "WARNING:" it leaves in the kernel log, even though it loads,
 * unloads and every test passes.
 */
#include <linux/bug.h>
#include <linux/module.h>

static int __init gmp_warn_init(void)
{
	WARN(1, "gmp_warn: warning on purpose (harness self-test)\n");
	return 0;
}

static void __exit gmp_warn_exit(void)
{
}

module_init(gmp_warn_init);
module_exit(gmp_warn_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("make check-harness: a module that WARNs on load");
