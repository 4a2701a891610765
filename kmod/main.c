// SPDX-License-Identifier: GPL-2.0
/*
 * gmp.ko entry points: the /dev/gmp misc device.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>

static int gmp_open(struct inode *inode, struct file *file)
{
	return 0;
}

static int gmp_release(struct inode *inode, struct file *file)
{
	return 0;
}

static const struct file_operations gmp_fops = {
	.owner = THIS_MODULE,
	.open = gmp_open,
	.release = gmp_release,
};

static struct miscdevice gmp_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "gmp",
	.fops = &gmp_fops,
	.mode = 0666,
};

module_misc_device(gmp_misc);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("gmp: Go's G-M-P scheduler state for C runtimes");
