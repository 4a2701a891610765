// SPDX-License-Identifier: GPL-2.0
/*
 * Harness self-test: a module that leaks one allocation when loaded.  On
 * the debug kernel, make check-debug's kmemleak check must fail on it (with
 * the module loaded, naming gmp_leak_one in the backtrace), although it
 * loads, unloads and every test passes.  (Not in the __init function: its
 * text is freed once the module is up, and kmemleak names it by address.)
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

static noinline void gmp_leak_one(void)
{
	char *p = kmalloc(1024, GFP_KERNEL);

	/* Written, so that the allocation is not optimised away; never freed. */
	if (p)
		strscpy(p, "gmp_leak: leaked on purpose (harness self-test)", 1024);
}

static int __init gmp_leak_init(void)
{
	gmp_leak_one();
	pr_info("gmp_leak: 1024 bytes leaked on purpose\n");
	return 0;
}

static void __exit gmp_leak_exit(void)
{
}

module_init(gmp_leak_init);
module_exit(gmp_leak_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("make check-harness: a module that leaks on load");
