# daxcow: top-level make targets.  `make check` is the test command; `make demo` is the main job.
# Inside a kernel tree Kbuild reads ./Kbuild instead of this file.

TOP        := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
PROFILE    ?= default
KOBJ       := $(TOP)/build/linux/out-$(PROFILE)
# TRACE=1: the persistence-trace build of the module, in its own directory.
TRACE      ?=
MODOUT     := $(TOP)/build/module-$(PROFILE)$(if $(TRACE),-trace)
KERNEL     := $(KOBJ)/arch/x86/boot/bzImage
RUST_V     := $(shell rustc --version 2>/dev/null | awk '{ print $$2 }')
export RUST_LIB_SRC ?= /usr/src/rustc-$(RUST_V)/library
export LIBCLANG_PATH ?= /usr/lib/llvm-19/lib
export PATH := $(HOME)/.cargo/bin:$(PATH)
export PROFILE
KMAKE       = $(MAKE) -C $(KOBJ) LLVM=-19 M=$(TOP) MO=$(MODOUT) $(if $(TRACE),DAXCOW_TRACE=y)
CLIPPY     ?=

.PHONY: all deps kernel module host-test guest-test check demo bench bench-native bench-profile soak fstests fstests-report check-failure clean distclean fmt

all: module

deps:
	@bash scripts/deps.sh

kernel:
	@bash scripts/kernel.sh

# The module only; `make kernel` first.  CLIPPY=1 runs clippy over the Rust as it compiles.
module:
	@test -f $(KOBJ)/Module.symvers || { echo "module: no built kernel in $(KOBJ) (make kernel)"; exit 1; }
	@mkdir -p $(MODOUT)
	+$(KMAKE) $(if $(CLIPPY),CLIPPY=1) modules

host-test:
	@bash scripts/host-test.sh

guest-test:
	@bash tests/guest/run-all.sh

demo: deps kernel module
	@qemu/run --timeout 900 -- tests/guest/demo.sh

check:
	@bash scripts/check.sh

# Failure paths (docs/failure-model.md): bad blocks, ENOSPC, 1000 engine reloads under load,
# memory failure and device removal, each under both engines.  LIFECYCLE_CYCLES=N to change.
check-failure: deps kernel module
	@bash scripts/check-failure.sh

# The fuzzer under both engines until each has SOAK_TARGET (250000) operations on this build,
# resumable across runs through the ledger docs/soak.tsv; docs/soak.md is its report.
soak: deps kernel module
	@bash scripts/soak.sh

# Both engines side by side in one boot; BENCH_ROUNDS (5) and BENCH_SIZE_MB (1024) scale it.
bench: deps kernel module
	@bash scripts/bench.sh

# The engine's copy and compare loops natively on this CPU, against the C they replace and the
# machine's limit (no guest): build/bench/native.json and the native table of docs/BENCHMARKS.md.
bench-native: deps kernel
	@bash scripts/bench-native.sh

# Where each workload's time goes under each engine: perf (cpu-clock) in the guest, one boot,
# the hottest symbols in build/bench/profile/ENGINE-WORKLOAD.txt.
bench-profile: deps kernel module
	@bash scripts/bench-profile.sh

# fstests under both engines on a tree the user built (never fetched or built here):
#   make fstests FSTESTS_DIR=/path/to/xfstests [PROFILE=fstests] [GROUPS="dax dedupe clone mmap"]
#                [ENGINES=rust,c] [SECTIONS=dax: also dax_pmd, dax_rt, nodax]
#                [TESTS="generic/001 ..."] [PER_BOOT=60] [TEST_TIMEOUT=5400]
#   The committed runs: PROFILE=fstests (docs/fstests.md: its defaults are the three sections
#   and a 7200 s watchdog) and PROFILE=debug (docs/fstests-debug.md: clone and dedupe, a
#   1200 s watchdog); any other profile, group list or TESTS is a spot run under build/.
#                [JOBS=2: the engines' guests side by side; JOBS=1 one guest at a time]
#                [RESUME=1: keep the last run's results and run only what it did not reach;
#                 GROUPS may add groups to it; same patches, kernel config, module and tree]
#                [RERUN="generic/168 ...": with RESUME=1, run these again, e.g. with a longer
#                 TEST_TIMEOUT, replacing their results; RERUN_WHY="..." says why, and
#                 RERUN_BOOTS="rust-dax-001 ..." names the boots, their consoles unread,
#                 whose tests they are]
ifeq ($(PROFILE),fstests)
SECTIONS ?= dax dax_pmd dax_rt
TEST_TIMEOUT ?= 7200
endif
ifeq ($(PROFILE),debug)
GROUPS   ?= clone dedupe
TEST_TIMEOUT ?= 1200
endif
GROUPS   ?= dax dedupe clone mmap
ENGINES  ?= rust,c
SECTIONS ?= dax
PER_BOOT ?= 60
TEST_TIMEOUT ?= 5400
JOBS     ?= 2
fstests:
	@python3 qemu/fstests check-tree "$(FSTESTS_DIR)"
	@$(MAKE) --no-print-directory deps kernel module
	@python3 qemu/fstests run "$(FSTESTS_DIR)" --groups "$(GROUPS)" --engines "$(ENGINES)" \
		--sections "$(SECTIONS)" --tests "$(TESTS)" --per-boot $(PER_BOOT) \
		--test-timeout $(TEST_TIMEOUT) --jobs $(JOBS) $(if $(RESUME),--resume) \
		$(if $(RERUN),--rerun "$(RERUN)") $(if $(RERUN_WHY),--rerun-why "$(RERUN_WHY)") \
		$(if $(RERUN_BOOTS),--rerun-boots "$(RERUN_BOOTS)")

# docs/fstests.md again from docs/fstests.json (after editing expected/).
fstests-report:
	@python3 qemu/fstests report

fmt:
	rustfmt --edition 2021 src/*.rs tests/host/src/*.rs

clean:
	rm -rf $(MODOUT) build/run build/logs

distclean:
	rm -rf build
