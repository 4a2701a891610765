# SPDX-License-Identifier: GPL-2.0
#
# gmp: Go's G-M-P scheduler for C, with the shared state in a kernel module.
# "make help" lists the targets and the variables.

# ---- variables a user may set -------------------------------------------
GMP_CACHE  ?= $(HOME)/.cache/gmp
# The CPU everything is built for and the VM is: x86_64 (this machine's)
# or arm64 (built with Debian's aarch64-linux-gnu cross toolchain, run in
# qemu-system-aarch64).  Given on the command line, it also reaches the
# kernel's build (kbuild reads ARCH too).
ARCH       ?= x86_64
override ARCH := $(patsubst x86,x86_64,$(patsubst amd64,x86_64,$(patsubst aarch64,arm64,$(ARCH))))
ifeq ($(filter x86_64 arm64,$(ARCH)),)
$(error ARCH=$(ARCH): x86_64 or arm64)
endif
ifeq ($(ARCH),arm64)
VM_KERNEL  ?= cloud-arm64
# Emulating arm64 is slower: rt_netscale_test's 10k and 100k connections
# ran past 300 s there once: 600, as on the debug kernel.
TEST_TIMEOUT ?= 600
CROSS_COMPILE ?= aarch64-linux-gnu-
ifeq ($(origin CC),default)
CC := $(CROSS_COMPILE)gcc
endif
else
VM_KERNEL  ?= cloud
endif
VM_MEM     ?= 1G
VM_SMP     ?= 2
VM_TIMEOUT ?= 1500
TEST_TIMEOUT ?= 300
TESTS      ?=
VM_APPEND  ?=
CFLAGS     ?= -O2 -g
RESULTS    ?= results
# The fuzzer (selftests/gmp_fuzz_test): its budget in seconds, and its seed
# (empty: a new one each run, printed; give it to replay a run).
FUZZ_TIME  ?= 15
FUZZ_SEED  ?=
# The heaviest cases' volume (selftests/vm_util.h, docs/testing.md):
# full, or tenth (a tenth of the connections, round trips, Ms, blocked Gs).
TEST_VOLUME ?= full
ifeq ($(filter full tenth,$(TEST_VOLUME)),)
$(error TEST_VOLUME=$(TEST_VOLUME): full or tenth)
endif
# make check-debug: the same suite on the debug kernel (qemu/kernel-debug.sh),
# then kmemleak.  Its own VM size and timeouts: the debug kernel runs the
# suite about 3 times slower than the stock one.
DEBUG_VM_MEM       ?= 1G
DEBUG_VM_SMP       ?= 2
DEBUG_VM_TIMEOUT   ?= 2400
DEBUG_TEST_TIMEOUT ?= 600
DEBUG_FUZZ_TIME    ?= 60
DEBUG_TEST_VOLUME  ?= tenth
# make vm-run: the static program to run in the VM, and its arguments
# (shell words, as typed).
PROG       ?=
ARGS       ?=
# How QEMU runs the VM: auto (KVM where /dev/kvm opens and boots a guest,
# else TCG's software emulation), kvm or tcg (qemu/boot.sh).
VM_ACCEL   ?= auto

# Installation, with liburing's names: DESTDIR stages a package build, the
# others are where things live on the machine that uses them.
DESTDIR    ?=
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# install-module and dkms-install write where udev and systemd look, not
# under PREFIX: /etc is the administrator's (a package sets /lib/udev/rules.d
# and /usr/lib/modules-load.d).
UDEVRULESDIR   ?= /etc/udev/rules.d
MODULESLOADDIR ?= /etc/modules-load.d
# More dkms options (dkms-install), e.g. --force.
DKMS_FLAGS ?=

# The kernel the VM boots, and the tree its modules build against: one name,
# everything else follows (qemu/deps.sh and qemu/kernel-$(VM_KERNEL).sh).
VM_KDIR = $(shell cat $(GMP_CACHE)/kernels/$(VM_KERNEL)/kdir 2>/dev/null)
VM_ARCH = $(or $(shell cat $(GMP_CACHE)/kernels/$(VM_KERNEL)/arch 2>/dev/null),x86_64)
# The initramfs's busybox: the VM kernel's own when it brings one (another
# CPU's), else this machine's (qemu/mkinitramfs.sh).
BUSYBOX = $(wildcard $(GMP_CACHE)/kernels/$(VM_KERNEL)/busybox)
# The module for *this* machine: its own kernel's build tree when there is
# one (and ARCH is this machine's), else the VM kernel's headers.
RUNNING_KDIR := /lib/modules/$(shell uname -r)/build
HOST_ARCH := $(patsubst aarch64,arm64,$(shell uname -m))
KDIR ?= $(if $(and $(filter $(HOST_ARCH),$(ARCH)),$(wildcard $(RUNNING_KDIR)/Makefile)),$(RUNNING_KDIR),$(VM_KDIR))
# What kbuild needs to build for ARCH from this machine.
KBUILD_ARCH := $(if $(filter-out $(HOST_ARCH),$(ARCH)),ARCH=$(ARCH) CROSS_COMPILE=$(CROSS_COMPILE))

# The release KDIR builds for (the module's vermagic): where install-module
# and dkms-install put the module.  From utsrelease.h: Debian's headers
# have the upstream version in include/config/kernel.release (6.1.192, not
# 6.1.0-57-cloud-amd64).
KVER = $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' $(KDIR)/include/generated/utsrelease.h 2>/dev/null)

export GMP_CACHE VM_KERNEL VM_MEM VM_SMP VM_TIMEOUT VM_ACCEL BUSYBOX

# Each ARCH its own build folder: objects of one CPU never link into the other's.
B     := $(if $(filter x86_64,$(ARCH)),build,build/$(ARCH))
SRC   := $(CURDIR)

# The one place the version is written: the library (gmprt_version(),
# GMPRT_VERSION_MAJOR/MINOR), the module (MODULE_VERSION, through Kbuild),
# gmprt.pc and dkms.conf all take it from VERSION.
VERSION := $(shell cat $(SRC)/VERSION)
VERSION_MAJOR := $(word 1,$(subst ., ,$(VERSION)))
VERSION_MINOR := $(word 2,$(subst ., ,$(VERSION)))

KSELFTEST = $(GMP_CACHE)/linux-source-6.1/tools/testing/selftests

# ---- user space ---------------------------------------------------------
WARNINGS := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes
USER_CFLAGS := $(CFLAGS) $(WARNINGS) -std=gnu11 -D_GNU_SOURCE -Iuapi -Iuserlib -I$(B)/include
# The context switch of the CPU built for (arch.h has the rest).
ASM_ARCH := $(if $(filter arm64,$(ARCH)),arm64,amd64)
LIB_SRCS := $(sort $(wildcard userlib/*.c) userlib/asm_$(ASM_ARCH).S)
LIB_OBJS := $(patsubst userlib/%,$(B)/userlib/%.o,$(LIB_SRCS))
LIB_PIC_OBJS := $(patsubst userlib/%,$(B)/userlib/pic/%.o,$(LIB_SRCS))
# gmprt.h includes the generated version header (liburing's
# io_uring_version.h): installed, it must stand alone, without VERSION.
VERSION_H := $(B)/include/gmprt_version.h
LIB_HDRS := $(wildcard userlib/*.h) $(wildcard uapi/linux/*.h) $(VERSION_H)

# Test binaries in the order they run; each selftests/NAME.c is one binary.
SELFTESTS := $(basename $(notdir $(sort $(wildcard selftests/*_test.c))))
# install_test runs what selftests/host/install.sh built and installed on
# this machine, for this machine's CPU: not in an arm64 VM.
ifeq ($(ARCH),arm64)
SELFTESTS := $(filter-out install_test,$(SELFTESTS))
endif
TEST_HDRS := $(wildcard selftests/*.h)
HARNESS_TESTS := $(basename $(notdir $(wildcard selftests/harness/*_test.c)))

.DEFAULT_GOAL := all
.PHONY: all module userlib selftests examples deps deps-host check check-host check-vm check-harness \
	check-debug check-dkms run trace-demo vm vm-run vm-module install uninstall install-module \
	uninstall-module dkms-install dkms-uninstall deb check-deb checkpatch clean help

# What a user needs, built as any user from the sources and a kernel's
# headers: no test harness, no linux-source, no root (the selftests are
# built by the targets that run them).
all: module userlib examples

deps:
	@qemu/deps.sh base $(if $(filter arm64,$(ARCH)),arm64) kernel source tools

# Where neither KDIR nor the running kernel's build tree exists, the VM
# kernel's headers are fetched (as root: the cloud kernel's headers for
# x86-64, the arm64 kernel's tree for ARCH=arm64), and make starts again
# to see them.
module:
ifeq ($(KDIR),)
	@test -z "$(GMP_KDIR_FETCHED)" || { echo "module: no kernel headers found"; exit 1; }
	@echo "module: no $(RUNNING_KDIR) and no KDIR=: building for the VM kernel's headers"
	@$(if $(filter arm64,$(ARCH)),qemu/deps.sh arm64 kernel,qemu/deps.sh headers)
	@$(MAKE) --no-print-directory module GMP_KDIR_FETCHED=1 \
		KDIR=$$(cat $(GMP_CACHE)/kernels/$(if $(filter arm64,$(ARCH)),$(VM_KERNEL),cloud)/kdir)
else
	$(MAKE) -C "$(KDIR)" M=$(SRC) $(KBUILD_ARCH) modules
	@echo "built kmod/gmp.ko for $(or $(KVER),$(KDIR))"
endif

SONAME := libgmprt.so.$(VERSION_MAJOR)
LIB_SO := $(B)/libgmprt.so.$(VERSION)
userlib: $(B)/libgmprt.a $(LIB_SO) $(B)/$(SONAME) $(B)/libgmprt.so $(B)/gmprt.pc

$(VERSION_H): VERSION
	@mkdir -p $(dir $@)
	@test -n "$(VERSION_MINOR)" || { echo "VERSION must be MAJOR.MINOR, not '$(VERSION)'"; exit 1; }
	@printf '%s\n' '/* SPDX-License-Identifier: GPL-2.0 */' \
		'/* Generated from VERSION by the Makefile: do not edit. */' \
		'#ifndef GMPRT_VERSION_H' '#define GMPRT_VERSION_H' \
		'#define GMPRT_VERSION_MAJOR $(VERSION_MAJOR)' \
		'#define GMPRT_VERSION_MINOR $(VERSION_MINOR)' '#endif' >$@

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
# Exports and their versions are userlib/libgmprt.map's; -z defs: every
# symbol the library uses resolves at its link, not in a program's.
$(LIB_SO): $(LIB_PIC_OBJS) userlib/libgmprt.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=userlib/libgmprt.map \
		-Wl,-z,defs -o $@ $(LIB_PIC_OBJS) -lpthread
# The soname's link is what programs load, the plain one what -lgmprt finds.
$(B)/$(SONAME) $(B)/libgmprt.so: $(LIB_SO)
	ln -sfn $(notdir $<) $@

# Rewritten whenever PREFIX or LIBDIR differ from the last run's.
$(B)/gmprt.pc: pkg/gmprt.pc.in VERSION FORCE
	@mkdir -p $(dir $@)
	@sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' $< >$@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

# Static binaries: the initramfs has no libc.
TEST_CFLAGS = $(USER_CFLAGS) -Wno-sign-compare -I$(KSELFTEST) -Iselftests -static \
	-DGMP_VERSION='"$(VERSION)"'
selftests: $(addprefix $(B)/selftests/,$(SELFTESTS))
$(B)/selftests/%: selftests/%.c $(TEST_HDRS) $(B)/libgmprt.a | $(KSELFTEST)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(B)/libgmprt.a -lpthread -lm

$(KSELFTEST):
	@qemu/deps.sh source

# examples/NAME.c -> build/gmp-NAME, static so that it runs in the VM.
EXAMPLES := $(addprefix $(B)/gmp-,$(basename $(notdir $(sort $(wildcard examples/*.c)))))
examples: $(EXAMPLES)
$(B)/gmp-%: examples/%.c $(B)/libgmprt.a
	$(CC) $(USER_CFLAGS) -static -o $@ $< $(B)/libgmprt.a -lpthread
# rt_chan_test runs the example's threadring().
$(B)/selftests/rt_chan_test: examples/threadring.c

$(B)/gmp-timeout: qemu/gmp-timeout.c
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -static -o $@ $<

# ---- installing ---------------------------------------------------------
# As liburing: the real file is libgmprt.so.MAJOR.MINOR, programs load the
# soname's link, -lgmprt finds the plain one.  gmp.ko's interface goes to
# INCLUDEDIR/gmprt/linux/gmp.h, not INCLUDEDIR/linux/: that folder is the
# kernel's uapi (Debian's linux-libc-dev owns it), where a header of an
# out-of-tree module would shadow or be shadowed by the kernel's own and
# outlive the module it describes (libdrm keeps its kernel headers in
# INCLUDEDIR/libdrm for the same reason).  gmprt.pc adds -IINCLUDEDIR/gmprt,
# so <linux/gmp.h> is spelled as in the tree and in the kernel.
MAN_PAGES := $(sort $(wildcard man/*.[347]))
INSTALLED := $(LIBDIR)/libgmprt.a $(LIBDIR)/libgmprt.so.$(VERSION) $(LIBDIR)/$(SONAME) \
	$(LIBDIR)/libgmprt.so $(PKGCONFIGDIR)/gmprt.pc $(INCLUDEDIR)/gmprt.h \
	$(INCLUDEDIR)/gmprt_version.h $(INCLUDEDIR)/gmprt/linux/gmp.h \
	$(foreach m,$(MAN_PAGES),$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)))

install: userlib
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(INCLUDEDIR)/gmprt/linux \
		$(addprefix $(DESTDIR)$(MANDIR)/man,3 4 7)
	install -m 644 $(B)/libgmprt.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sfn libgmprt.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sfn libgmprt.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libgmprt.so
	install -m 644 $(B)/gmprt.pc $(DESTDIR)$(PKGCONFIGDIR)/
	install -m 644 userlib/gmprt.h $(VERSION_H) $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 uapi/linux/gmp.h $(DESTDIR)$(INCLUDEDIR)/gmprt/linux/
	@# A page for every call of a family is a link to the family's (as liburing's).
	@for m in $(MAN_PAGES); do d=$(DESTDIR)$(MANDIR)/man$${m##*.}; \
		if [ -L $$m ]; then ln -sfn $$(readlink $$m) $$d/$${m##*/}; \
		else install -m 644 $$m $$d/; fi || exit 1; done
	@echo "installed $(words $(MAN_PAGES)) man pages in $(DESTDIR)$(MANDIR)"
	@$(if $(DESTDIR),true,! command -v ldconfig >/dev/null || [ "$$(id -u)" != 0 ] || ldconfig)

# Every file install wrote, and the folders only gmprt uses.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/gmprt/linux $(DESTDIR)$(INCLUDEDIR)/gmprt 2>/dev/null
	@$(if $(DESTDIR),true,! command -v ldconfig >/dev/null || [ "$$(id -u)" != 0 ] || ldconfig)

# What makes gmp.ko usable on a machine besides the module: the udev rule
# (group gmp, 0660), loading at boot, the group.  Without DESTDIR (a real
# install, as root) the group is created and udev told.
MODULE_FILES := $(UDEVRULESDIR)/60-gmp.rules $(MODULESLOADDIR)/gmp.conf
define install_module_files
	install -D -m 644 pkg/60-gmp.rules $(DESTDIR)$(UDEVRULESDIR)/60-gmp.rules
	install -D -m 644 pkg/modules-load.conf $(DESTDIR)$(MODULESLOADDIR)/gmp.conf
	@$(if $(DESTDIR),true,getent group gmp >/dev/null || groupadd --system gmp)
	@$(if $(DESTDIR),true,! command -v udevadm >/dev/null || udevadm control --reload 2>/dev/null || true)
endef

# The module as built for KDIR, in /lib/modules/KVER/extra (as kbuild's
# modules_install would put it; install(1) because kbuild's also signs and
# runs depmod, which a headers-only tree cannot do).
install-module: module
	@test -n "$(KVER)" || { echo "install-module: no kernel release in $(KDIR)"; exit 1; }
	install -D -m 644 kmod/gmp.ko $(DESTDIR)/lib/modules/$(KVER)/extra/gmp.ko
	$(install_module_files)
	@$(if $(DESTDIR),true,depmod -a $(KVER))
	@echo "installed gmp.ko for $(KVER); load it with: modprobe gmp (members of group gmp may use /dev/gmp)"

# The group stays: files may belong to it.
uninstall-module:
	@test -n "$(KVER)" || { echo "uninstall-module: no kernel release in $(KDIR)"; exit 1; }
	rm -f $(DESTDIR)/lib/modules/$(KVER)/extra/gmp.ko $(addprefix $(DESTDIR),$(MODULE_FILES))
	-rmdir $(DESTDIR)/lib/modules/$(KVER)/extra 2>/dev/null
	@$(if $(DESTDIR),true,depmod -a $(KVER))

# DKMS builds the module for every kernel installed, now and later.  Its
# sources come from git archive of HEAD, never the work tree (whose build/,
# results/ and uncommitted edits do not belong in /usr/src).  With DESTDIR,
# DKMS's own trees are staged there too, so that nothing outside it changes.
DKMS_FILES := VERSION Kbuild kmod uapi
DKMS_SRC = $(DESTDIR)/usr/src/gmp-$(VERSION)
# Staged, DKMS signs the module with a key of its own in DESTDIR (made on
# first use), not the machine's /var/lib/dkms/mok.key, and leaves depmod to
# whoever installs the staged tree.
DKMS_STAGED = mok_signing_key=$(DESTDIR)/var/lib/dkms/mok.key \
	mok_certificate=$(DESTDIR)/var/lib/dkms/mok.pub dkms --sourcetree $(DESTDIR)/usr/src \
	--dkmstree $(DESTDIR)/var/lib/dkms --installtree $(DESTDIR)/lib/modules --no-depmod
DKMS = $(if $(DESTDIR),$(DKMS_STAGED),dkms) $(DKMS_FLAGS)
dkms-install:
	@command -v dkms >/dev/null || { echo "dkms-install: no dkms (qemu/deps.sh dkms installs it)"; exit 1; }
	@git -C $(SRC) rev-parse --verify -q HEAD >/dev/null || \
		{ echo "dkms-install: needs a git checkout (it installs HEAD)"; exit 1; }
	@git -C $(SRC) diff --quiet HEAD -- $(DKMS_FILES) || \
		echo "dkms-install: warning: uncommitted changes to $(DKMS_FILES) are not installed"
	@test -n "$(KVER)" || { echo "dkms-install: no kernel release in $(KDIR)"; exit 1; }
	-$(DKMS) remove gmp/$(VERSION) --all >/dev/null 2>&1
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC) $(if $(DESTDIR),$(DESTDIR)/var/lib/dkms $(DESTDIR)/lib/modules/$(KVER))
	git -C $(SRC) archive --format=tar HEAD $(DKMS_FILES) | tar -x -C $(DKMS_SRC)
	sed 's|@VERSION@|$(VERSION)|' pkg/dkms.conf.in >$(DKMS_SRC)/dkms.conf
	$(DKMS) add gmp/$(VERSION)
	$(DKMS) install gmp/$(VERSION) -k $(KVER)
	$(install_module_files)
	@echo "dkms: gmp/$(VERSION) installed for $(KVER); load it with: modprobe gmp"

dkms-uninstall:
	-$(DKMS) remove gmp/$(VERSION) --all
	rm -rf $(DKMS_SRC) $(addprefix $(DESTDIR),$(MODULE_FILES))

# Debian packages: libgmprt0, libgmprt-dev, gmp-dkms (pkg/mkdeb.sh says what
# goes where), from make install and git archive of HEAD.
DEB_DIR := $(B)/deb
deb: userlib
	@command -v dpkg-deb >/dev/null || { echo "deb: no dpkg-deb (Debian's dpkg)"; exit 1; }
	@pkg/mkdeb.sh $(DEB_DIR)

# The packages installed on this machine for real (root: apt-get, as a user
# would), a program built against them with pkg-config (shared and
# static), gmp.ko as DKMS built it for the VM kernel loaded in the VM and
# running that program, then purged: nothing of theirs left
# (selftests/host/deb.sh).
check-deb: deb $(B)/gmp-timeout
	@qemu/deps.sh deb headers
	@B=$(B) selftests/host/deb.sh $(DEB_DIR) $(RESULTS)/check-deb

# ---- the VM -------------------------------------------------------------
# The module for the VM kernel is built in a shadow tree of symlinks, so that
# it never clashes with kmod/gmp.ko built for this machine's kernel.
VM_BUILD := $(B)/vm-$(VM_KERNEL)
# Packed next to gmp.ko by qemu/mkinitramfs.sh, loaded by the runner after
# it: qemu/pnkey/gmp_pnkey.c says why (a QEMU TCG workaround).
export PNKEY := $(abspath $(VM_BUILD)/pnkey/gmp_pnkey.ko)
# gmp.ko without its tracepoints, for gmp_fault_test (debug kernel only).
NOTRACE_BUILD := $(VM_BUILD)/notrace
export NOTRACE_KO := $(if $(filter debug,$(VM_KERNEL)),$(abspath $(NOTRACE_BUILD)/kmod/gmp.ko))
# The kernel's facts are read when its line runs (deps.sh may have just
# fetched or built it: on an empty cache, make's parse-time view is empty).
VM_KFACT = $$(cat $(GMP_CACHE)/kernels/$(VM_KERNEL)/$(1) 2>/dev/null)
# shadow_module DIR[,KCFLAGS]: gmp.ko built in DIR from links to the tree
# (Kbuild, uapi, VERSION, kmod's sources), with KCFLAGS if given: the VM's
# module, its NOTRACE twin, the counting build (bench/bench.mk).  Dead links
# go first (a source file removed), and so do links to kbuild's own output
# (gmp.mod.c of a host build in kmod/): one would have modpost write one
# kernel's CRCs into another's build.
define shadow_module
	@mkdir -p $(1)/kmod
	@for f in Kbuild uapi VERSION; do ln -sfn $(SRC)/$$f $(1)/$$f; done
	@find $(1)/kmod -maxdepth 1 -type l ! -exec test -e {} \; -delete
	@find $(1)/kmod -maxdepth 1 -type l -name '*.mod.c' -delete
	@for f in $(SRC)/kmod/Kbuild $(filter-out %.mod.c,$(wildcard $(SRC)/kmod/*.[ch])); do \
		ln -sfn $$f $(1)/kmod/; done
	$(MAKE) -C "$(call VM_KFACT,kdir)" M=$(SRC)/$(1) $(KBUILD_ARCH) $(if $(2),KCFLAGS=$(2)) modules
endef
vm-module:
	@qemu/deps.sh base $(if $(filter arm64,$(ARCH)),arm64) kernel
	@a=$(call VM_KFACT,arch); a=$${a:-x86_64}; test "$$a" = "$(ARCH)" || \
		{ echo "VM_KERNEL=$(VM_KERNEL) is an $$a kernel, not ARCH=$(ARCH)'s"; exit 1; }
	$(call shadow_module,$(VM_BUILD))
ifeq ($(VM_KERNEL),debug)
	@# gmp_fault_test's module_load steps through every fault point of
	@# the load: built with NOTRACE (the kernel's own switch), so that none
	@# is the kernel's trace-event setup, which WARNs on a failure.
	$(call shadow_module,$(NOTRACE_BUILD),-DNOTRACE)
endif
	@mkdir -p $(VM_BUILD)/pnkey
	@ln -sfn $(SRC)/qemu/pnkey/Kbuild $(SRC)/qemu/pnkey/gmp_pnkey.c $(VM_BUILD)/pnkey/
	$(MAKE) -C "$(call VM_KFACT,kdir)" M=$(SRC)/$(VM_BUILD)/pnkey $(KBUILD_ARCH) modules

VM_TESTDIR := $(B)/selftests
$(VM_TESTDIR)/list: FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' $(SELFTESTS) >$@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp
FORCE:

# The install test's programs and the files they need, laid out as on an
# installed machine (qemu/mkinitramfs.sh merges a folder named root into /):
# made by selftests/host/install.sh, run in the VM by install_test.
PKGTEST := $(B)/pkgtest
$(PKGTEST)/root:
	@qemu/deps.sh tools headers
	@selftests/host/install.sh $(PKGTEST)

INITRD := $(VM_BUILD)/initramfs.cpio
PKGTEST_ROOT := $(if $(filter arm64,$(ARCH)),,$(PKGTEST)/root)
# perf and trace-cmd with their libraries, for gmp_events_tools_test (x86-64: this
# machine's binaries; qemu/vm-tools.sh); with VM_BPFTRACE=1 bpftrace too, with
# its LLVM (200 MB: a third of the 1G VM's memory, so not in every boot; CI
# boots it for gmp_events_tools_test alone).  The debug kernel has no BPF.
VM_BPFTRACE ?=
VMTOOLS_ROOT := $(if $(filter arm64,$(ARCH)),,$(B)/vmtools$(if $(VM_BPFTRACE),-bpf)/root)
$(B)/vmtools/root:
	@qemu/deps.sh tracers
	@qemu/vm-tools.sh $(B)/vmtools perf trace-cmd
$(B)/vmtools-bpf/root:
	@qemu/deps.sh tracers
	@qemu/vm-tools.sh $(B)/vmtools-bpf perf trace-cmd bpftrace
initramfs: vm-module selftests examples $(B)/gmp-timeout $(VM_TESTDIR)/list | $(PKGTEST_ROOT) \
		$(VMTOOLS_ROOT)
	@qemu/mkinitramfs.sh $(INITRD) $(VM_BUILD)/kmod/gmp.ko $(VM_TESTDIR) \
		$(EXAMPLES) $(B)/gmp-timeout $(PKGTEST_ROOT) $(VMTOOLS_ROOT)

comma := ,
empty :=
space := $(empty) $(empty)
RUN_APPEND = $(if $(TESTS),gmp.tests=$(subst $(space),$(comma),$(strip $(TESTS)))) \
	gmp.timeout=$(TEST_TIMEOUT) gmp.env.GMP_FUZZ_TIME=$(FUZZ_TIME) \
	gmp.env.GMP_TEST_VOLUME=$(TEST_VOLUME) $(if $(FUZZ_SEED),gmp.env.GMP_FUZZ_SEED=$(FUZZ_SEED)) \
	$(if $(VM_BPFTRACE),gmp.env.GMP_REQUIRE_BPFTRACE=1) $(CHECK_APPEND) $(VM_APPEND)

# The host part first: what needs no VM, and fails fast.  Each step is a
# script in selftests/host/ (see docs/testing.md).
HOST_CHECKS := man abi docs boot volume install
deps-host:
	@qemu/deps.sh tools headers $(if $(filter arm64,$(ARCH)),arm64)
check-host: deps-host
	@$(MAKE) --no-print-directory userlib
	@echo "== make check-host: $(HOST_CHECKS)"
	@fail=0; for c in $(HOST_CHECKS); do \
		case $$c in install) a=$(PKGTEST) ;; *) a= ;; esac; \
		t0=$$(date +%s); \
		if selftests/host/$$c.sh $$a; then r=ok; else r="not ok"; fail=1; fi; \
		echo "$$r host: $$c ($$(( $$(date +%s) - t0 )) s)"; \
	done; exit $$fail

check: check-host
	@$(MAKE) --no-print-directory check-vm

check-vm: initramfs
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
	@$(MAKE) --no-print-directory check-vm VM_KERNEL=debug VM_MEM=$(DEBUG_VM_MEM) \
		VM_SMP=$(DEBUG_VM_SMP) VM_TIMEOUT=$(DEBUG_VM_TIMEOUT) \
		TEST_TIMEOUT=$(DEBUG_TEST_TIMEOUT) FUZZ_TIME=$(DEBUG_FUZZ_TIME) \
		TEST_VOLUME=$(DEBUG_TEST_VOLUME) CHECK_APPEND=gmp.kmemleak=1

run: initramfs
	@VM_APPEND="$(VM_APPEND)" qemu/boot.sh run $(INITRD) $(RESULTS)/run-$(VM_KERNEL)
	@grep -q '^# demo exit=0' $(RESULTS)/run-$(VM_KERNEL)/output.log || \
		{ echo "make run: the demo failed (see $(RESULTS)/run-$(VM_KERNEL)/)"; exit 1; }

# The demo, small (40 Gs a wave), under GMPRT_TRACE in the VM; the trace
# comes out on the runner's line, and tools/trace-png.sh draws it.
TRACE_DEMO := $(RESULTS)/trace-demo
trace-demo: initramfs
	@qemu/deps.sh gnuplot
	@# The file itself only into output.log, not onto the terminal.
	@VM_APPEND="$(VM_APPEND)" qemu/boot.sh trace $(INITRD) $(TRACE_DEMO) | \
		sed -u '/^# trace: begin/,/^# trace: end/d'
	@grep -q '^# demo exit=0' $(TRACE_DEMO)/output.log || \
		{ echo "make trace-demo: the demo failed (see $(TRACE_DEMO)/)"; exit 1; }
	@tr -d '\r' <$(TRACE_DEMO)/output.log | \
		sed -n '/^# trace: begin$$/,/^# trace: end$$/{/^# trace: /!p}' >$(TRACE_DEMO)/trace.json
	@tools/trace-png.sh $(TRACE_DEMO)/trace.json $(TRACE_DEMO)/trace.png
	@echo "make trace-demo: $(TRACE_DEMO)/trace.json (open it in ui.perfetto.dev) and trace.png"

vm: initramfs
	@echo "Booting $(VM_KERNEL) with gmp.ko loaded; exit the shell (or Ctrl-a x) to stop."
	@VM_APPEND="$(VM_APPEND)" qemu/boot.sh shell $(INITRD) $(RESULTS)/vm-$(VM_KERNEL)

# Your own program in the VM: make's status is 0 when the program's is
# (make cannot pass another on); qemu/vm-run.sh, which it runs, returns it.
# ARGS reaches the VM as typed: quoted for the recipe's shell.
shquote = '$(subst ','\'',$(1))'
vm-run: vm-module $(B)/gmp-timeout
	@test -n "$(PROG)" || { echo "usage: make vm-run PROG=path/to/static-program [ARGS='...']"; exit 2; }
	@B=$(B) RESULTS=$(RESULTS) qemu/vm-run.sh $(VM_BUILD)/kmod/gmp.ko $(call shquote,$(PROG)) \
		$(call shquote,$(ARGS))

# DKMS, as a user would run it (make dkms-install, from git archive), for
# the VM kernel, staged in $(RESULTS)/check-dkms/: the module it builds must
# carry VERSION, match the VM kernel, and load and run a program there
# (selftests/host/dkms.sh).
check-dkms: vm-module examples $(B)/gmp-timeout
	@qemu/deps.sh dkms
	@B=$(B) KDIR=$(VM_KDIR) selftests/host/dkms.sh $(RESULTS)/check-dkms

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
	$$(MAKE) -C "$$(VM_KDIR)" M=$(SRC)/$(HARNESS_MODS)/$(1)mod $(KBUILD_ARCH) modules
	cp $(HARNESS_MODS)/$(1)mod/gmp_$(1).ko $$@
endef
$(foreach m,warn leak,$(eval $(call harness_mod,$(m))))

$(B)/harness/exitwith: selftests/harness/exitwith.c
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -static -o $@ $<

check-harness: vm-module $(B)/gmp-timeout $(HARNESS_BINS) $(B)/harness/tests/list \
		$(HARNESS_MODS)/gmp_warn.ko $(HARNESS_MODS)/gmp_leak.ko $(B)/harness/exitwith
	@B=$(B) RESULTS=$(RESULTS) qemu/check-harness.sh

# ---- housekeeping -------------------------------------------------------
# An out-of-tree module must test LINUX_VERSION_CODE to build on 6.1 and
# later kernels alike (it does so in kmod/compat.h only): checkpatch's
# advice on it is for in-tree code.
checkpatch: | $(KSELFTEST)
	@perl $(GMP_CACHE)/linux-source-6.1/scripts/checkpatch.pl --no-tree -q \
		--ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON \
		-f $(filter-out %.mod.c,$(wildcard kmod/*.c)) kmod/*.h uapi/linux/*.h && echo "checkpatch: clean"

clean:
	@if [ -n "$(KDIR)" ] && [ -d "$(KDIR)" ]; then $(MAKE) -C "$(KDIR)" M=$(SRC) $(KBUILD_ARCH) clean; fi
	rm -rf $(B)

help:
	@echo "gmp: make targets"
	@echo "  all (default)  gmp.ko for KDIR, libgmprt (.a, .so, gmprt.pc), the examples;"
	@echo "                 as any user, with a kernel's headers only"
	@echo "  run            boots the VM and runs the demo (the main job)"
	@echo "  check          the test suite: check-host, then check-vm; last line"
	@echo "                 'N passed, N failed'"
	@echo "  check-host     its part on this machine: man lint, ABI, docs, boot.sh,"
	@echo "                 TEST_VOLUME's values, install test (selftests/host/)"
	@echo "  check-vm       its part in the VM: every selftest, the kernel log"
	@echo "  check-debug    the same suite on the debug kernel (KASAN, lockdep, kmemleak,"
	@echo "                 UBSAN, fault injection; built by qemu/kernel-debug.sh, cached),"
	@echo "                 then kmemleak with the module loaded and after rmmod"
	@echo "  check-harness  proves make check catches failures, crashes, hangs and WARNs"
	@echo "                 (with VM_KERNEL=debug: on the debug kernel, and leaks too)"
	@echo "  check-dkms     make dkms-install for the VM kernel, staged; the module it"
	@echo "                 builds runs a program in the VM"
	@echo "  trace-demo     the demo under GMPRT_TRACE in the VM: the trace (JSON, for"
	@echo "                 Perfetto) and its picture in results/trace-demo/"
	@echo "  vm             boots the VM to a shell with gmp.ko loaded (debugging)"
	@echo "  vm-run         PROG=prog ARGS='...': runs your static program in the VM with"
	@echo "                 gmp.ko loaded; prints its output, fails if it does"
	@echo "  bench          gmp vs Go vs threads, one VM boot; report in results/ (make bench-help)"
	@echo "  install        libgmprt, gmprt.h, <gmprt/linux/gmp.h>, gmprt.pc, man pages"
	@echo "  uninstall      removes what install wrote"
	@echo "  install-module gmp.ko for KDIR, the udev rule (group gmp, 0660), modules-load.d"
	@echo "  uninstall-module"
	@echo "  dkms-install   the module through DKMS, from git archive of HEAD, for every"
	@echo "                 kernel; the udev rule and modules-load.d too"
	@echo "  dkms-uninstall"
	@echo "  deb            Debian packages libgmprt0, libgmprt-dev, gmp-dkms in build/deb/"
	@echo "  check-deb      installs them here (root), builds and runs a program in the"
	@echo "                 VM with them, purges them: nothing left (selftests/host/deb.sh)"
	@echo "  module         only gmp.ko (for KDIR)      userlib  only libgmprt"
	@echo "  examples       only the examples (build/gmp-*)"
	@echo "  selftests      only the selftests (needs linux-source's kselftest harness)"
	@echo "  vm-module      only gmp.ko for the VM kernel (build/vm-VM_KERNEL/)"
	@echo "  deps           installs/fetches what is missing (apt-get as root)"
	@echo "  deps-host      only what check-host needs (mandoc, groff, pkgconf, the VM kernel's headers)"
	@echo "  checkpatch     the kernel's checkpatch.pl on kmod/ and uapi/"
	@echo "  clean, help"
	@echo "variables (current value):"
	@echo "  KDIR=$(KDIR)"
	@echo "               kernel tree gmp.ko builds against (default: the running"
	@echo "               kernel's, else the VM kernel's headers)"
	@echo "  CC=$(CC)  CFLAGS=$(CFLAGS)  (user space)"
	@echo "  ARCH=$(ARCH)  x86_64, or arm64: cross-built, run in qemu-system-aarch64"
	@echo "               (make check ARCH=arm64)"
	@echo "  CROSS_COMPILE=$(CROSS_COMPILE)  the toolchain prefix for ARCH=arm64"
	@echo "  VM_KERNEL=$(VM_KERNEL)     kernel the VM boots: cloud (Debian 12's cloud-amd64,"
	@echo "               6.1), trixie (Debian 13's cloud-amd64, 6.12), cloud-arm64 (Debian"
	@echo "               12's, the default with ARCH=arm64), debug (qemu/kernel-debug.sh;"
	@echo "               what check-debug uses)"
	@echo "  VM_SMP=$(VM_SMP)  VM_MEM=$(VM_MEM)  VM_TIMEOUT=$(VM_TIMEOUT) (s, whole VM)"
	@echo "  VM_ACCEL=$(VM_ACCEL)  auto (KVM if /dev/kvm opens and boots a guest, else TCG), kvm, tcg"
	@echo "  TESTS='a b'  run only these selftests (default: all: $(SELFTESTS))"
	@echo "  TEST_TIMEOUT=$(TEST_TIMEOUT) (s, per test binary)  VM_APPEND=  extra kernel arguments"
	@echo "  FUZZ_TIME=$(FUZZ_TIME) (s, the fuzzer's budget in check)  FUZZ_SEED=$(FUZZ_SEED)"
	@echo "               (the fuzzer's seed; empty: a new one each run, printed)"
	@echo "  TEST_VOLUME=$(TEST_VOLUME)  full, or tenth: the heaviest cases at a tenth of their"
	@echo "               connections, round trips, Ms (same checks; docs/testing.md, Volume)"
	@echo "  check-debug: DEBUG_VM_SMP=$(DEBUG_VM_SMP) DEBUG_VM_MEM=$(DEBUG_VM_MEM)"
	@echo "               DEBUG_VM_TIMEOUT=$(DEBUG_VM_TIMEOUT) DEBUG_TEST_TIMEOUT=$(DEBUG_TEST_TIMEOUT)"
	@echo "               DEBUG_FUZZ_TIME=$(DEBUG_FUZZ_TIME) (s) DEBUG_TEST_VOLUME=$(DEBUG_TEST_VOLUME);"
	@echo "               TESTS, FUZZ_SEED as for check"
	@echo "  vm-run: PROG=$(PROG)  ARGS=$(ARGS)  (shell words; \$$\$$ for a \$$ in make)"
	@echo "  install: DESTDIR=$(DESTDIR)  PREFIX=$(PREFIX)  LIBDIR=$(LIBDIR)"
	@echo "           INCLUDEDIR=$(INCLUDEDIR)  MANDIR=$(MANDIR)  PKGCONFIGDIR=$(PKGCONFIGDIR)"
	@echo "  install-module, dkms-install: UDEVRULESDIR=$(UDEVRULESDIR)"
	@echo "           MODULESLOADDIR=$(MODULESLOADDIR)  DKMS_FLAGS=$(DKMS_FLAGS) (more dkms options);"
	@echo "           DESTDIR stages these too (and DKMS's trees)"
	@echo "  VM_BPFTRACE=$(VM_BPFTRACE)  1: bpftrace (and its 200 MB of LLVM) in the VM too, for"
	@echo "               gmp_events_tools_test's bpftrace case (which skips without it)"
	@echo "  deb: DEB_MAINTAINER=$(DEB_MAINTAINER)  (the packages' Maintainer; default: HEAD's author)"
	@echo "  GMP_CACHE=$(GMP_CACHE)  (downloads, kernels)"
	@echo "  RESULTS=$(RESULTS)  (logs of check/run/vm-run)"

-include bench/bench.mk
