# SPDX-License-Identifier: GPL-2.0
#
# bench/bench.mk - "make bench": gmp against Go's runtime and 1:1 threads,
# side by side in one VM boot (or on this machine, BENCH_HOST=1).
# Included by the top Makefile, after its variables and rules; see
# bench/README.md.  "make bench-help" lists the variables.

# ---- variables a user may set -------------------------------------------
BENCH_HOST    ?=
BENCH_REPS    ?= 3
BENCH_SCALE   ?= 100
BENCH_ONLY    ?=
BENCH_NPROCS  ?=
BENCH_PROG_TIMEOUT ?= 600
BENCH_TIMEOUT ?= 5400
BENCH_PROFILE_ITERS ?= 20000
# The memory workload parks 1M Gs, then 1M goroutines: the VM needs
# several GiB (QEMU only takes from the host what the guest touches).
# VM_MEM given on the command line or in the environment wins.
BENCH_VM_MEM  ?= $(if $(filter command line environment,$(origin VM_MEM)),$(VM_MEM),12G)

BB        := $(B)/bench
# The folder that becomes /bench in the VM (mkinitramfs.sh copies a
# directory argument named "bench" there).
BENCH_IMG := $(BB)/image/bench
BENCH_OUT := $(RESULTS)/bench-$(if $(BENCH_HOST),host,$(VM_KERNEL))
BENCH_CFLAGS = $(USER_CFLAGS) -Iselftests

# The gmp workloads, one program each (bench/gmp/NAME.c -> gmp-NAME): each
# links once libgmprt defines every gmprt_* symbol it uses.
BENCH_GMP      := $(basename $(notdir $(sort $(wildcard bench/gmp/*.c))))
BENCH_GMP_OBJS := $(patsubst %,$(BB)/obj/gmp-%.o,$(BENCH_GMP))
BENCH_GO_SRCS  := $(wildcard bench/go/*.go) bench/go/go.mod
BENCH_PROGS    := $(BENCH_IMG)/run $(BENCH_IMG)/threads-bench \
	$(BENCH_IMG)/parkwake $(BENCH_IMG)/go-bench $(BENCH_IMG)/go119-bench \
	$(BENCH_IMG)/echo $(BENCH_IMG)/gmp-echo

.PHONY: bench bench-build bench-deps bench-gmp bench-compile bench-report bench-quote bench-profile bench-help

bench-deps:
	@qemu/deps.sh go gnuplot || \
		echo "bench: could not install golang-go / gnuplot-nox: no Go 1.19 peer or no chart"
	@qemu/deps.sh go124 || echo "bench: could not fetch Go 1.24 from Debian 13: no Go 1.24 peer"

$(BENCH_IMG)/run: bench/run
	@mkdir -p $(dir $@)
	cp $< $@

$(BENCH_IMG)/threads-bench: bench/threads.c bench/common.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -static -o $@ $< -lpthread

# The echo workload: one client for every server; gmp's server is the
# example users run (examples/echo.c, static as every example).
$(BENCH_IMG)/echo: bench/echo.c bench/common.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -static -o $@ $<
$(BENCH_IMG)/gmp-echo: $(B)/gmp-echo
	@mkdir -p $(dir $@)
	cp $< $@

$(BENCH_IMG)/parkwake: bench/parkwake.c bench/common.h selftests/gmp_util.h uapi/linux/gmp.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -static -o $@ $< -lpthread

# Static, no cgo: it runs in the initramfs, which has no libc.  The module
# has no dependencies, so nothing is fetched (GOPROXY=off).  The main Go
# peer is the newest Debian ships (Debian 13's Go 1.24, unpacked into the
# cache by qemu/deps.sh go124, never installed); Debian 12's Go 1.19 stays
# beside it as a second column.  GOTOOLCHAIN=local: never a download.
GO124 := $(GMP_CACHE)/go-1.24/usr/lib/go-1.24/bin/go
# go_build GO OUT: bench/go built by that compiler, or a line saying why not.
define go_build
	@mkdir -p $(dir $(2))
	@if [ -x "$$(command -v $(1))" ]; then \
		echo "$$($(1) version): go build bench/go -> $(2)"; \
		cd bench/go && CGO_ENABLED=0 GOPROXY=off GOFLAGS= GOTOOLCHAIN=local \
			GOCACHE=$(CURDIR)/$(BB)/go-cache-$(notdir $(2)) GOPATH=$(CURDIR)/$(BB)/go-path \
			$(1) build -trimpath -o $(CURDIR)/$(2) . ; \
	else \
		echo "bench: no $(1): $(notdir $(2)) skipped"; \
	fi
endef
$(BENCH_IMG)/go-bench: $(BENCH_GO_SRCS) | bench-deps
	$(call go_build,$(GO124),$@)
$(BENCH_IMG)/go119-bench: $(BENCH_GO_SRCS) | bench-deps
	$(call go_build,go,$@)

# Every gmp workload compiles against gmprt.h whatever the library has.
$(BB)/obj/gmp-%.o: bench/gmp/%.c bench/gmp/gmpbench.h bench/common.h userlib/gmprt.h $(VERSION_H)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -c -o $@ $<
bench-compile: $(BENCH_GMP_OBJS)

# lib_variant NAME FLAG: the library again, compiled with -DFLAG, as
# $(BB)/libgmprt-NAME.a, for a workload to measure what FLAG takes out.
define lib_variant
$(BB)/$(1)/%.c.o: userlib/%.c $(LIB_HDRS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(USER_CFLAGS) -D$(2) -fvisibility=hidden -c -o $$@ $$<
$(BB)/$(1)/%.S.o: userlib/%.S
	@mkdir -p $$(dir $$@)
	$$(CC) $$(USER_CFLAGS) -c -o $$@ $$<
$(BB)/libgmprt-$(1).a: $(patsubst userlib/%,$(BB)/$(1)/%.o,$(LIB_SRCS))
	@rm -f $$@
	ar rcs $$@ $$^
endef
# Without block detection's bracket (GMPRT_NO_HANDOFF, userlib/runtime.h):
# yield, spawn and ping-pong linked against it measure what the bracket
# costs on the fast paths, in the same boot.
BENCH_NH := yield spawn pingpong
$(eval $(call lib_variant,nohandoff,GMPRT_NO_HANDOFF))
# Without GMPRT_TRACE's hooks (GMPRT_NO_TRACE): what tracing costs off.
BENCH_NT := yield pingpong
$(eval $(call lib_variant,notrace,GMPRT_NO_TRACE))

# The counting build (make bench-count): the runtime's atomic stores
# counted by the kind of line they write (userlib/count.c).
$(eval $(call lib_variant,counting,GMPRT_COUNTING))
# The workloads that print a counts-<name> line.
BENCH_COUNT_W := spawn yield pingpong threadring fanout mutex lockedm

# ... and links only once the library provides what it calls.
bench-gmp: $(BENCH_GMP_OBJS) $(B)/libgmprt.a $(BB)/libgmprt-nohandoff.a $(BB)/libgmprt-notrace.a
	@mkdir -p $(BENCH_IMG)
	@for w in $(BENCH_GMP); do \
		bench/link-gmp.sh $(BENCH_IMG)/gmp-$$w $(BB)/obj/gmp-$$w.o \
			$(B)/libgmprt.a $(CC) -lpthread || exit 1; \
	done
	@for w in $(BENCH_NH); do \
		bench/link-gmp.sh $(BENCH_IMG)/gmp-nh-$$w $(BB)/obj/gmp-$$w.o \
			$(BB)/libgmprt-nohandoff.a $(CC) -lpthread || exit 1; \
	done
	@for w in $(BENCH_NT); do \
		bench/link-gmp.sh $(BENCH_IMG)/gmp-nt-$$w $(BB)/obj/gmp-$$w.o \
			$(BB)/libgmprt-notrace.a $(CC) -lpthread || exit 1; \
	done

bench-build: $(BENCH_PROGS) bench-gmp

# ---- make bench-count: how the work grows with CPUs, in counts ------------
# gmp.ko built with GMP_COUNTING (kmod/gmp.h: the instance lock's takes and
# the stores to shared lines, on the stats line) in its own shadow tree, and
# the workloads linked against libgmprt-counting.a; one boot, gmp only, one
# rep (counts do not vary as times do).  The counting adds atomics to every
# path: its times mean nothing and are not reported.
BENCH_COUNT_SCALE ?= 10
BENCH_COUNT_ONLY  ?= spawn yield pingpong threadring fanout mutex lockedm
COUNT_BUILD := $(VM_BUILD)/counting
COUNT_IMG   := $(BB)/count-image/bench
COUNT_OUT   := $(RESULTS)/bench-count-$(VM_KERNEL)
COUNT_INITRD := $(VM_BUILD)/bench-count-initramfs.cpio
# The counts lines each workload prints (bench/count-check.awk wants them).
count_names_spawn   := spawn spawn-steady
count_names_mutex   := mutex-uncontended mutex-contended
count_names_lockedm := pingpong pingpong-locked
COUNT_WANT = $(sort $(foreach w,$(BENCH_COUNT_ONLY),$(or $(count_names_$(w)),$(w))))
.PHONY: bench-count bench-count-module
bench-count-module: vm-module
	$(call shadow_module,$(COUNT_BUILD),-DGMP_COUNTING)

bench-count: bench-count-module $(BENCH_GMP_OBJS) $(BB)/libgmprt-counting.a $(B)/gmp-timeout \
		$(BENCH_IMG)/run
	@mkdir -p $(COUNT_IMG) $(BB)/no-tests $(COUNT_OUT)
	@: >$(BB)/no-tests/list
	cp $(BENCH_IMG)/run $(COUNT_IMG)/run
	@for w in $(BENCH_COUNT_W); do \
		bench/link-gmp.sh $(COUNT_IMG)/gmp-$$w $(BB)/obj/gmp-$$w.o \
			$(BB)/libgmprt-counting.a $(CC) -lpthread || exit 1; \
	done
	@qemu/mkinitramfs.sh $(COUNT_INITRD) $(COUNT_BUILD)/kmod/gmp.ko $(BB)/no-tests \
		$(B)/gmp-timeout $(COUNT_IMG)
	@echo "== make bench-count: $(VM_KERNEL) kernel, $(VM_SMP) vCPUs; results in $(COUNT_OUT)/"
	@VM_MEM=$(BENCH_VM_MEM) VM_TIMEOUT=$(BENCH_TIMEOUT) \
		VM_APPEND="gmp.bench_reps=1 gmp.bench_scale=$(BENCH_COUNT_SCALE) \
		gmp.bench_timeout=$(BENCH_PROG_TIMEOUT) gmp.bench_nprocs=$(or $(BENCH_NPROCS),$(VM_SMP)) \
		gmp.bench_impls=gmp gmp.bench_only=$(subst $(space),$(comma),$(strip $(BENCH_COUNT_ONLY))) \
		$(VM_APPEND)" qemu/boot.sh bench $(COUNT_INITRD) $(COUNT_OUT) || true
	@tr -d "\r" <$(COUNT_OUT)/output.log | grep "^BENCH workload=counts-" | tee $(COUNT_OUT)/counts.txt || true
	@awk -v want="$(COUNT_WANT)" -f bench/count-check.awk $(COUNT_OUT)/output.log

# What the report says about where and how the numbers were taken.
define bench_run_info
	{ echo "date=$$(date -u +%Y-%m-%dT%H:%M:%SZ)"; \
	  echo "host=$$(hostname)"; \
	  echo "host_cpu=$$(awk -F': ' '/^model name/ { print $$2; exit }' /proc/cpuinfo)"; \
	  echo "host_cpus=$$(nproc)"; \
	  echo "host_kernel=$$(uname -r)"; \
	  echo "host_load_before=$$(cut -d' ' -f1-3 /proc/loadavg)"; \
	  echo "other_vms=$$(pgrep -c qemu-system || true)"; \
	  echo "git=$$(git describe --always --dirty 2>/dev/null)"; \
	  echo "mode=$(1)"; \
	  $(if $(filter vm,$(1)),echo "vm_smp=$(VM_SMP)"; echo "vm_mem=$(BENCH_VM_MEM)"; \
	  echo "vm_kernel=$(VM_KERNEL)"; \
	  echo "qemu=$$(qemu-system-x86_64 --version | head -n1)";) \
	  echo "go=$$($(GO124) version 2>/dev/null)"; \
	  echo "go119=$$(go version 2>/dev/null)"; \
	  echo "reps=$(BENCH_REPS)"; echo "scale=$(BENCH_SCALE)"; } >$(BENCH_OUT)/run-info
endef

ifeq ($(BENCH_HOST),)
BENCH_INITRD := $(VM_BUILD)/bench-initramfs.cpio
BENCH_APPEND = gmp.bench_reps=$(BENCH_REPS) gmp.bench_scale=$(BENCH_SCALE) \
	gmp.bench_timeout=$(BENCH_PROG_TIMEOUT) gmp.bench_nprocs=$(or $(BENCH_NPROCS),$(VM_SMP)) \
	$(if $(BENCH_ONLY),gmp.bench_only=$(subst $(space),$(comma),$(strip $(BENCH_ONLY)))) \
	$(VM_APPEND)

bench: bench-build vm-module $(B)/gmp-timeout
	@mkdir -p $(BB)/no-tests
	@: >$(BB)/no-tests/list
	@qemu/mkinitramfs.sh $(BENCH_INITRD) $(VM_BUILD)/kmod/gmp.ko $(BB)/no-tests \
		$(B)/gmp-timeout $(BENCH_IMG)
	@echo "== make bench: $(VM_KERNEL) kernel, $(VM_SMP) vCPUs, $(BENCH_VM_MEM), $(BENCH_REPS) reps; results in $(BENCH_OUT)/"
	@rm -rf $(BENCH_OUT)
	@mkdir -p $(BENCH_OUT)
	@$(call bench_run_info,vm)
	@VM_MEM=$(BENCH_VM_MEM) VM_TIMEOUT=$(BENCH_TIMEOUT) VM_APPEND="$(BENCH_APPEND)" \
		qemu/boot.sh bench $(BENCH_INITRD) $(BENCH_OUT) || true
	@echo "host_load_after=$$(cut -d' ' -f1-3 /proc/loadavg)" >>$(BENCH_OUT)/run-info
	@bench/report.sh $(BENCH_OUT)
else
# On this machine: gmp.ko must be loaded already (make; sudo insmod kmod/gmp.ko).
bench: bench-build $(B)/gmp-timeout
	@test -c /dev/gmp || echo "bench: /dev/gmp is missing (make && sudo insmod kmod/gmp.ko): gmp workloads will fail"
	@echo "== make bench on $$(hostname), $(BENCH_REPS) reps; results in $(BENCH_OUT)/"
	@rm -rf $(BENCH_OUT)
	@mkdir -p $(BENCH_OUT)
	@$(call bench_run_info,host)
	@PATH="$(CURDIR)/$(B):$$PATH" BENCH_REPS=$(BENCH_REPS) BENCH_SCALE=$(BENCH_SCALE) \
		BENCH_ONLY="$(BENCH_ONLY)" BENCH_NPROCS=$(BENCH_NPROCS) \
		BENCH_PROG_TIMEOUT=$(BENCH_PROG_TIMEOUT) \
		$(BENCH_IMG)/run 2>&1 | tee $(BENCH_OUT)/output.log
	@echo "host_load_after=$$(cut -d' ' -f1-3 /proc/loadavg)" >>$(BENCH_OUT)/run-info
	@bench/report.sh $(BENCH_OUT)
endif

# The report again, from the results of the last run.
bench-report:
	@bench/report.sh $(BENCH_OUT)

# Keep the last run's report and chart in the tree (bench/quoted/), for the
# README to show: results/ is not committed.
bench-quote:
	@test -f $(BENCH_OUT)/report.md || { echo "bench-quote: no $(BENCH_OUT)/report.md: run make bench first"; exit 1; }
	@mkdir -p bench/quoted
	cp $(BENCH_OUT)/report.md $(BENCH_OUT)/summary.csv bench/quoted/
	@if [ -f $(BENCH_OUT)/chart.png ]; then cp $(BENCH_OUT)/chart.png bench/quoted/; fi
	@echo "bench-quote: bench/quoted/ now holds the run of $$(sed -n 's/^date=//p' $(BENCH_OUT)/run-info); commit it"

# park/wake under perf in the VM, next to the futex (bench/profile.sh).
bench-profile: $(BENCH_IMG)/parkwake vm-module $(B)/gmp-timeout $(B)/vmtools/root
	@B=$(B) bench/profile.sh $(VM_BUILD)/kmod/gmp.ko $(RESULTS)/bench-profile $(BENCH_PROFILE_ITERS)

bench-help:
	@echo "make bench: gmp vs Go 1.24, Go 1.19 and threads (bench/README.md)"
	@echo "  bench          boots the VM once, runs every workload, writes the report"
	@echo "  bench-report   the report again from $(BENCH_OUT)/output.log"
	@echo "  bench-compile  compile-check the gmp workloads against gmprt.h"
	@echo "  bench-quote    copy the last report and chart to bench/quoted/ (for the README)"
	@echo "  bench-count    the instance lock's takes and shared-line stores per op (counting build)"
	@echo "  bench-count-module  only build the counting gmp.ko (KCFLAGS=-DGMP_COUNTING)"
	@echo "  bench-profile  park/wake and the futex under perf in the VM ($(RESULTS)/bench-profile/)"
	@echo "  bench-build    only build (bench-gmp: the gmp workloads; bench-deps: Go 1.19, Go 1.24, gnuplot)"
	@echo "variables (current value):"
	@echo "  BENCH_HOST=$(BENCH_HOST)  1: run on this machine, gmp.ko loaded, no VM"
	@echo "  BENCH_REPS=$(BENCH_REPS)  BENCH_SCALE=$(BENCH_SCALE) (% of the default iterations)"
	@echo "  BENCH_ONLY='$(BENCH_ONLY)'  workloads: parkwake spawn yield pingpong threadring fanout memory mutex handoff preempt bracket lockedm trace echo"
	@echo "  BENCH_NPROCS=$(BENCH_NPROCS)  gmp's nprocs and GOMAXPROCS (default: VM_SMP, or the CPUs)"
	@echo "  BENCH_VM_MEM=$(BENCH_VM_MEM)  BENCH_TIMEOUT=$(BENCH_TIMEOUT) (s, whole VM)"
	@echo "  BENCH_PROG_TIMEOUT=$(BENCH_PROG_TIMEOUT) (s, one program run)"
	@echo "  BENCH_PROFILE_ITERS=$(BENCH_PROFILE_ITERS)  round trips per run of bench-profile"
	@echo "  BENCH_COUNT_SCALE=$(BENCH_COUNT_SCALE)  BENCH_COUNT_ONLY='$(BENCH_COUNT_ONLY)'  (bench-count)"
	@echo "  results: $(BENCH_OUT)/ (report.md, results.csv, results.json, chart.png)"
