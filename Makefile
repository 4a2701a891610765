# SPDX-License-Identifier: GPL-2.0
#
# gmp: Go's G-M-P scheduler for C, with the shared state in a kernel module.
# "make help" lists the targets and the variables.

# ---- variables a user may set -------------------------------------------
GMP_CACHE  ?= $(HOME)/.cache/gmp
VM_KERNEL  ?= cloud
VM_MEM     ?= 1G
VM_SMP     ?= 2
VM_TIMEOUT ?= 1500
TEST_TIMEOUT ?= 300
TESTS      ?=
VM_APPEND  ?=
CC         ?= gcc
CFLAGS     ?= -O2 -g
RESULTS    ?= results
# The fuzzer (selftests/gmp_fuzz_test): its budget in seconds, and its seed
# (empty: a new one each run, printed; give it to replay a run).
FUZZ_TIME  ?= 15
FUZZ_SEED  ?=
# make check-debug: the same suite on the debug kernel (qemu/kernel-debug.sh),
# then kmemleak.  Its own VM size and timeouts: the debug kernel runs the
# suite about 3 times slower than the stock one.
DEBUG_VM_MEM       ?= 1G
DEBUG_VM_SMP       ?= 2
DEBUG_VM_TIMEOUT   ?= 2400
DEBUG_TEST_TIMEOUT ?= 600
DEBUG_FUZZ_TIME    ?= 60

# The kernel the VM boots, and the tree its modules build against: one name,
# everything else follows (qemu/deps.sh and qemu/kernel-$(VM_KERNEL).sh).
VM_KDIR = $(shell cat $(GMP_CACHE)/kernels/$(VM_KERNEL)/kdir 2>/dev/null)
# The module for *this* machine: its own kernel's build tree when there is
# one, else the VM kernel's headers.
RUNNING_KDIR := /lib/modules/$(shell uname -r)/build
KDIR ?= $(if $(wildcard $(RUNNING_KDIR)/Makefile),$(RUNNING_KDIR),$(VM_KDIR))

export GMP_CACHE VM_KERNEL VM_MEM VM_SMP VM_TIMEOUT

B     := build
SRC   := $(CURDIR)
KSELFTEST = $(GMP_CACHE)/linux-source-6.1/tools/testing/selftests

# ---- user space ---------------------------------------------------------
WARNINGS := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes
USER_CFLAGS := $(CFLAGS) $(WARNINGS) -std=gnu11 -D_GNU_SOURCE -Iuapi -Iuserlib
LIB_SRCS := $(sort $(wildcard userlib/*.c) $(wildcard userlib/*.S))
LIB_OBJS := $(patsubst userlib/%,$(B)/userlib/%.o,$(LIB_SRCS))
LIB_PIC_OBJS := $(patsubst userlib/%,$(B)/userlib/pic/%.o,$(LIB_SRCS))
LIB_HDRS := $(wildcard userlib/*.h) $(wildcard uapi/linux/*.h)

# Test binaries in the order they run; each selftests/NAME.c is one binary.
SELFTESTS := $(basename $(notdir $(sort $(wildcard selftests/*_test.c))))
TEST_HDRS := $(wildcard selftests/*.h)
HARNESS_TESTS := $(basename $(notdir $(wildcard selftests/harness/*_test.c)))

.DEFAULT_GOAL := all
.PHONY: all module userlib selftests demo deps deps-kdir check check-harness check-debug \
	run vm vm-module checkpatch clean help

all: module userlib selftests demo

deps:
	@qemu/deps.sh base kernel source

# Fetch the VM kernel only when the module would be built against it.
deps-kdir:
	@$(if $(filter $(VM_KDIR),$(KDIR)),qemu/deps.sh kernel,true)

module: deps-kdir
	@test -n "$(KDIR)" || { echo "no KDIR: run make deps"; exit 1; }
	$(MAKE) -C "$(KDIR)" M=$(SRC) modules
	@echo "built kmod/gmp.ko for $$(cat $(KDIR)/include/config/kernel.release 2>/dev/null || echo $(KDIR))"

userlib: $(B)/libgmprt.a $(B)/libgmprt.so

$(B)/userlib/%.c.o: userlib/%.c $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -fvisibility=hidden -c -o $@ $<
$(B)/userlib/%.S.o: userlib/%.S
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -c -o $@ $<
$(B)/userlib/pic/%.c.o: userlib/%.c $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<
$(B)/userlib/pic/%.S.o: userlib/%.S
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -fPIC -c -o $@ $<
$(B)/libgmprt.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^
$(B)/libgmprt.so: $(LIB_PIC_OBJS)
	$(CC) -shared -Wl,-soname,libgmprt.so.0 -o $@ $^ -lpthread

# Static binaries: the initramfs has no libc.
TEST_CFLAGS = $(USER_CFLAGS) -Wno-sign-compare -I$(KSELFTEST) -Iselftests -static
selftests: $(addprefix $(B)/selftests/,$(SELFTESTS))
$(B)/selftests/%: selftests/%.c $(TEST_HDRS) $(B)/libgmprt.a | $(KSELFTEST)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(B)/libgmprt.a -lpthread

$(KSELFTEST):
	@qemu/deps.sh source

demo: $(B)/gmp-demo $(B)/gmp-threadring
$(B)/gmp-demo: examples/demo.c $(B)/libgmprt.a
	$(CC) $(USER_CFLAGS) -static -o $@ $< $(B)/libgmprt.a -lpthread
$(B)/gmp-threadring: examples/threadring.c $(B)/libgmprt.a
	$(CC) $(USER_CFLAGS) -static -o $@ $< $(B)/libgmprt.a -lpthread
# rt_chan_test runs the example's threadring().
$(B)/selftests/rt_chan_test: examples/threadring.c

$(B)/gmp-timeout: qemu/gmp-timeout.c
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -static -o $@ $<

# ---- the VM -------------------------------------------------------------
# The module for the VM kernel is built in a shadow tree of symlinks, so that
# it never clashes with kmod/gmp.ko built for this machine's kernel.
VM_BUILD := $(B)/vm-$(VM_KERNEL)
vm-module: deps
	@mkdir -p $(VM_BUILD)/kmod
	@ln -sfn $(SRC)/Kbuild $(VM_BUILD)/Kbuild
	@ln -sfn $(SRC)/uapi $(VM_BUILD)/uapi
	@find $(VM_BUILD)/kmod -maxdepth 1 -type l ! -exec test -e {} \; -delete
	@for f in $(SRC)/kmod/Kbuild $(SRC)/kmod/*.[ch]; do ln -sfn $$f $(VM_BUILD)/kmod/; done
	$(MAKE) -C "$(VM_KDIR)" M=$(SRC)/$(VM_BUILD) modules

VM_TESTDIR := $(B)/selftests
$(VM_TESTDIR)/list: FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' $(SELFTESTS) >$@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp
FORCE:

INITRD := $(VM_BUILD)/initramfs.cpio
initramfs: vm-module selftests demo $(B)/gmp-timeout $(VM_TESTDIR)/list
	@qemu/mkinitramfs.sh $(INITRD) $(VM_BUILD)/kmod/gmp.ko $(VM_TESTDIR) \
		$(B)/gmp-demo $(B)/gmp-timeout

comma := ,
empty :=
space := $(empty) $(empty)
RUN_APPEND = $(if $(TESTS),gmp.tests=$(subst $(space),$(comma),$(strip $(TESTS)))) \
	gmp.timeout=$(TEST_TIMEOUT) gmp.env.GMP_FUZZ_TIME=$(FUZZ_TIME) \
	$(if $(FUZZ_SEED),gmp.env.GMP_FUZZ_SEED=$(FUZZ_SEED)) $(CHECK_APPEND) $(VM_APPEND)

check: initramfs
	@echo "== make check: $(VM_KERNEL) kernel, $(VM_SMP) vCPUs, $(VM_MEM); results in $(RESULTS)/check-$(VM_KERNEL)/"
	@rm -rf $(RESULTS)/check-$(VM_KERNEL)
	@VM_APPEND="$(RUN_APPEND)" qemu/boot.sh check $(INITRD) $(RESULTS)/check-$(VM_KERNEL) || true
	@qemu/verdict.sh $(RESULTS)/check-$(VM_KERNEL)

# The same machinery as check, with VM_KERNEL=debug: the module is built
# against the debug tree in build/vm-debug/, the kernel fetched and built by
# qemu/kernel-debug.sh (cached; a second run does nothing slow), the logs go
# to $(RESULTS)/check-debug/.  gmp.kmemleak=1 makes the runner look for
# leaks after the tests, with the module loaded and after rmmod.
check-debug:
	@$(MAKE) --no-print-directory check VM_KERNEL=debug VM_MEM=$(DEBUG_VM_MEM) \
		VM_SMP=$(DEBUG_VM_SMP) VM_TIMEOUT=$(DEBUG_VM_TIMEOUT) \
		TEST_TIMEOUT=$(DEBUG_TEST_TIMEOUT) FUZZ_TIME=$(DEBUG_FUZZ_TIME) \
		CHECK_APPEND=gmp.kmemleak=1

run: initramfs
	@VM_APPEND="$(VM_APPEND)" qemu/boot.sh run $(INITRD) $(RESULTS)/run-$(VM_KERNEL)
	@grep -q '^# demo exit=0' $(RESULTS)/run-$(VM_KERNEL)/output.log || \
		{ echo "make run: the demo failed (see $(RESULTS)/run-$(VM_KERNEL)/)"; exit 1; }

vm: initramfs
	@echo "Booting $(VM_KERNEL) with gmp.ko loaded; exit the shell (or Ctrl-a x) to stop."
	@VM_APPEND="$(VM_APPEND)" qemu/boot.sh shell $(INITRD) $(RESULTS)/vm-$(VM_KERNEL)

# The harness's own tests, and modules that WARN and leak, built for the VM
# kernel (each kernel its own folder: a module loads only on its own kernel).
HARNESS_BINS := $(addprefix $(B)/harness/tests/,$(HARNESS_TESTS))
HARNESS_MODS := $(B)/harness/$(VM_KERNEL)
$(B)/harness/tests/%: selftests/harness/%.c | $(KSELFTEST)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $<
$(B)/harness/tests/list: FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' $(HARNESS_TESTS) >$@
# harness_mod NAME: selftests/harness/NAMEmod/gmp_NAME.c -> gmp_NAME.ko
define harness_mod
$(HARNESS_MODS)/gmp_$(1).ko: selftests/harness/$(1)mod/gmp_$(1).c vm-module
	@mkdir -p $(HARNESS_MODS)/$(1)mod
	@ln -sfn $(SRC)/selftests/harness/$(1)mod/Kbuild $(SRC)/$$< $(HARNESS_MODS)/$(1)mod/
	$$(MAKE) -C "$$(VM_KDIR)" M=$(SRC)/$(HARNESS_MODS)/$(1)mod modules
	cp $(HARNESS_MODS)/$(1)mod/gmp_$(1).ko $$@
endef
$(foreach m,warn leak,$(eval $(call harness_mod,$(m))))

check-harness: vm-module $(B)/gmp-timeout $(HARNESS_BINS) $(B)/harness/tests/list \
		$(HARNESS_MODS)/gmp_warn.ko $(HARNESS_MODS)/gmp_leak.ko
	@B=$(B) RESULTS=$(RESULTS) qemu/check-harness.sh

# ---- housekeeping -------------------------------------------------------
# An out-of-tree module must test LINUX_VERSION_CODE to build on 6.1 and
# later kernels alike: checkpatch's advice on it is for in-tree code.
checkpatch: deps
	@perl $(GMP_CACHE)/linux-source-6.1/scripts/checkpatch.pl --no-tree -q \
		--ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON \
		-f $(filter-out %.mod.c,$(wildcard kmod/*.c)) kmod/*.h uapi/linux/*.h && echo "checkpatch: clean"

clean:
	@if [ -n "$(KDIR)" ] && [ -d "$(KDIR)" ]; then $(MAKE) -C "$(KDIR)" M=$(SRC) clean; fi
	rm -rf $(B)

help:
	@echo "gmp: make targets"
	@echo "  all (default)  gmp.ko for KDIR, libgmprt.a/.so, the selftests, the demo"
	@echo "  check          the test suite: boots the VM, runs every selftest, checks"
	@echo "                 the kernel log; last line 'N passed, N failed'"
	@echo "  run            boots the VM and runs the demo (the main job)"
	@echo "  vm             boots the VM to a shell with gmp.ko loaded (debugging)"
	@echo "  check-debug    the same suite on the debug kernel (KASAN, lockdep, kmemleak,"
	@echo "                 UBSAN, fault injection; built by qemu/kernel-debug.sh, cached),"
	@echo "                 then kmemleak with the module loaded and after rmmod"
	@echo "  check-harness  proves make check catches failures, crashes, hangs and WARNs"
	@echo "                 (with VM_KERNEL=debug: on the debug kernel, and leaks too)"
	@echo "  bench          gmp vs Go vs threads, one VM boot; report in results/ (make bench-help)"
	@echo "  deps           installs/fetches what is missing (apt-get as root)"
	@echo "  module         only gmp.ko (for KDIR)      userlib  only libgmprt"
	@echo "  checkpatch     the kernel's checkpatch.pl on kmod/ and uapi/"
	@echo "  clean"
	@echo "variables (current value):"
	@echo "  KDIR=$(KDIR)"
	@echo "               kernel tree gmp.ko builds against (default: the running"
	@echo "               kernel's, else the VM kernel's headers)"
	@echo "  VM_KERNEL=$(VM_KERNEL)     kernel the VM boots: cloud (Debian's cloud-amd64),"
	@echo "               debug (qemu/kernel-debug.sh; what check-debug uses)"
	@echo "  VM_SMP=$(VM_SMP)  VM_MEM=$(VM_MEM)  VM_TIMEOUT=$(VM_TIMEOUT) (s, whole VM)"
	@echo "  TESTS='a b'  run only these selftests (default: all: $(SELFTESTS))"
	@echo "  TEST_TIMEOUT=$(TEST_TIMEOUT) (s, per test binary)  VM_APPEND=  extra kernel arguments"
	@echo "  FUZZ_TIME=$(FUZZ_TIME) (s, the fuzzer's budget in check)  FUZZ_SEED=$(FUZZ_SEED)"
	@echo "               (the fuzzer's seed; empty: a new one each run, printed)"
	@echo "  check-debug: DEBUG_VM_SMP=$(DEBUG_VM_SMP) DEBUG_VM_MEM=$(DEBUG_VM_MEM)"
	@echo "               DEBUG_VM_TIMEOUT=$(DEBUG_VM_TIMEOUT) DEBUG_TEST_TIMEOUT=$(DEBUG_TEST_TIMEOUT)"
	@echo "               DEBUG_FUZZ_TIME=$(DEBUG_FUZZ_TIME) (s); TESTS, FUZZ_SEED as for check"
	@echo "  GMP_CACHE=$(GMP_CACHE)  (downloads, kernels)"
	@echo "  RESULTS=$(RESULTS)  (logs of check/run)"

-include bench/bench.mk
