// SPDX-License-Identifier: GPL-2.0
/*
 * gmp_pnkey.ko: scaffolding of the test VM, never installed.  It holds one
 * reference on the kernel's preempt-notifier static key for the rest of
 * the VM's run (qemu/init loads it at boot, with only the boot vCPU online,
 * and nothing unloads it), so that the tests' loads and unloads of gmp.ko (each an inc at load
 * and a dec at unload: kmod/block.c) move only the key's count and never
 * patch the kernel's text while it runs.
 *
 * Why: QEMU's TCG (Debian 12's 7.2, one thread per vCPU) can go on running
 * a stale translation of an instruction another vCPU has just patched.
 * x86's text_poke_bp() puts an int3 on the jump-label site in __schedule
 * and then the final bytes; a vCPU kept executing the int3 after memory no
 * longer held it.  On 6.1 both vCPUs looped on it for good (the kprobes
 * handler finds no int3 in memory and rewinds, the stale code traps
 * again: seen with QEMU's monitor, RIP at __schedule, exc_int3,
 * get_kprobe); on 6.12 the same int3 is an "Oops: int3" in __schedule.
 * Loading and unloading gmp.ko 50 times with a busy host was enough to
 * hang 6.1.  The patching itself is right on hardware, where KVM toggles
 * this key for every VM it runs.
 *
 * Loaded while only one vCPU is online, its own inc patches nothing that
 * another vCPU could be running (docs/testing.md).
 *
 * What it costs the tests: a gmp.ko that forgot its inc would not be
 * caught by block detection's tests in the VM.  The inc is one line of
 * gmp_block_init().
 */
#include <linux/module.h>
#include <linux/preempt.h>

static int __init gmp_pnkey_init(void)
{
	preempt_notifier_inc();
	return 0;
}

static void __exit gmp_pnkey_exit(void)
{
	preempt_notifier_dec();
}

module_init(gmp_pnkey_init);
module_exit(gmp_pnkey_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("gmp's test VM: keeps the preempt notifier key on (QEMU TCG workaround)");
