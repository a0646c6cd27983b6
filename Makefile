# SPDX-License-Identifier: GPL-2.0
#
# famfs-bpf top-level Makefile.  `make help` lists the targets.
#
# Everything generated goes under $(O) (default build/):
#   $(O)/linux          kernel git tree: pristine 6.12 + kernel/series
#   $(O)/kernel         kbuild output (O=) of the test kernel
#   $(O)/kernel-debug   the same with KASAN, lockdep, kmemleak, ...
#   $(O)/tools          libbpf (static) and bpftool from the tree's tools/
#   $(O)/bpf            BPF objects and skeletons, vmlinux.h
#   $(O)/server         server library (server/fs, server/fsd) and the
#                       famfs-bpf binary and its mount helper (server/cli)
#   $(O)/selftests      test_progs (in-guest runner) and unit tests
#   $(O)/results        TAP output of the last check

O ?= build
override O := $(abspath $(O))
TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-7s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SUFFIXES:
.DEFAULT_GOAL := all

# --------------------------------------------------------------------------
# Set-up: Debian packages and virtme-ng

DEB_PACKAGES := linux-source-6.12 build-essential bc bison flex libelf-dev \
	libssl-dev dwarves cpio kmod ccache git zlib1g-dev pkg-config \
	clang-16 llvm-16 lld-16 libfuse3-dev fuse3 libcmocka-dev \
	qemu-system-x86 udev python3-venv busybox-static ndctl libclang-rt-16-dev
VNG_VERSION := 1.42
VENV := $(O)/venv
VNG := $(VENV)/bin/vng
# Named after what it installs: a package added to the list (or another
# virtme-ng) makes a new stamp, so trees that ran deps before check again.
# Only phony targets depend on it: a new stamp rebuilds nothing.
DEPS_HASH := $(shell printf '%s' '$(DEB_PACKAGES) $(VNG_VERSION)' | cksum | cut -d' ' -f1)
DEPS_STAMP := $(O)/.deps-$(VNG_VERSION)-$(DEPS_HASH)

.PHONY: deps
deps: $(DEPS_STAMP)

$(DEPS_STAMP):
	$(Q)mkdir -p $(O)
	$(Q)missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	done | tr '\n' ' '); \
	if [ -n "$$missing" ]; then \
		echo "  APT     $$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root, or install: $$missing" >&2; exit 1; fi; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing \
			>$(O)/apt.log 2>&1 || { tail -20 $(O)/apt.log; exit 1; }; \
	fi
	$(Q)if ! $(VNG) --version 2>/dev/null | grep -q ' $(VNG_VERSION)$$'; then \
		echo "  PIP     virtme-ng==$(VNG_VERSION)"; \
		/usr/bin/python3 -m venv $(VENV) && \
		$(VENV)/bin/pip install -q --disable-pip-version-check virtme-ng==$(VNG_VERSION); \
	fi
	$(Q)touch $@

# --------------------------------------------------------------------------
# The kernel: tree, config, bzImage

KSRC ?= $(O)/linux
KOUT := $(O)/kernel
KOUT_DEBUG := $(O)/kernel-debug
KSTAMP := $(KSRC)/.git/famfs-applied
KCONFIG_FRAGMENT := $(TOP)/selftests/config
KCONFIG_DEBUG := $(TOP)/selftests/config.debug
# A fixed build identity so ccache and incremental builds are not defeated
# by init/version.c.
KMAKE = $(MAKE) -C $(KSRC) -s CC="ccache gcc" KBUILD_BUILD_TIMESTAMP=famfs-bpf \
	KBUILD_BUILD_USER=famfs KBUILD_BUILD_HOST=build
JOBS ?= $(shell nproc)

# The series is (re)applied when kernel/ changes; ktree.sh refuses to drop
# work that was not exported.  Public targets run this first and then a
# sub-make, in which $(KSTAMP) is an ordinary file that dates the tree.
.PHONY: kernel-tree
kernel-tree: $(DEPS_STAMP)
	$(Q)$(TOP)/selftests/ktree.sh prepare $(KSRC)

# Lines of fragment(s) $(2) that $(1)/.config does not honour, into
# $(1)/config.missing; true when there are none.
define config_missing
	grep -hE '^(CONFIG_[A-Z0-9_]+=|# CONFIG_[A-Z0-9_]+ is not set)' $(2) | \
	while read -r line; do \
		case "$$line" in \
		*=n) sym=$${line%=n}; grep -q "^$$sym=" $(1)/.config && echo "$$line";; \
		\#*) sym=$$(echo "$$line" | cut -d' ' -f2); grep -q "^$$sym=" $(1)/.config && echo "$$line";; \
		*) grep -qx "$$line" $(1)/.config || echo "$$line";; \
		esac; \
	done > $(1)/config.missing; [ ! -s $(1)/config.missing ]
endef

# tinyconfig + fragment(s), then a check that every fragment line took.
define make_config
	$(call msg,CONFIG,$(1)/.config)
	$(Q)mkdir -p $(1)
	$(Q)$(KMAKE) O=$(1) tinyconfig >/dev/null
	$(Q)cd $(KSRC) && scripts/kconfig/merge_config.sh -m -O $(1) $(1)/.config $(2) >$(1)/merge.log 2>&1
	$(Q)$(KMAKE) O=$(1) olddefconfig >/dev/null
	$(Q)$(call config_missing,$(1),$(2)) || { \
		echo "kernel config: these fragment lines did not take (see $(1)/merge.log):" >&2; \
		cat $(1)/config.missing >&2; rm -f $(1)/.config; exit 1; }
endef

# A .config that drifted (a build of another branch in the tree, a manual
# menuconfig) is made again rather than trusted.
define build_kernel
	$(Q)$(call config_missing,$(1),$(2)) || { rm -f $(1)/.config; \
		$(MAKE) --no-print-directory $(1)/.config; }
	$(call msg,KBUILD,$(1))
	$(Q)$(KMAKE) O=$(1) -j$(JOBS) bzImage
endef

$(KOUT)/.config: $(KCONFIG_FRAGMENT) $(KSTAMP)
	$(call make_config,$(KOUT),$(KCONFIG_FRAGMENT))

$(KOUT_DEBUG)/.config: $(KCONFIG_FRAGMENT) $(KCONFIG_DEBUG) $(KSTAMP)
	$(call make_config,$(KOUT_DEBUG),$(KCONFIG_FRAGMENT) $(KCONFIG_DEBUG))

# kbuild decides what is out of date; these always ask it.
.PHONY: kernel kernel-debug build-kernel build-kernel-debug
kernel: kernel-tree
	$(Q)$(MAKE) --no-print-directory build-kernel

kernel-debug: kernel-tree
	$(Q)$(MAKE) --no-print-directory build-kernel-debug

build-kernel: $(KOUT)/.config
	$(call build_kernel,$(KOUT),$(KCONFIG_FRAGMENT))

build-kernel-debug: $(KOUT_DEBUG)/.config
	$(call build_kernel,$(KOUT_DEBUG),$(KCONFIG_FRAGMENT) $(KCONFIG_DEBUG))

.PHONY: kernel-export kernel-reset kernel-checkpatch kernel-buildeach
kernel-export:
	$(Q)$(TOP)/selftests/ktree.sh export $(KSRC)

kernel-reset: $(DEPS_STAMP)
	$(Q)$(TOP)/selftests/ktree.sh reset $(KSRC)

# Every prefix of the series builds fs/fuse (bisectability), HEAD
# without the options, and HEAD with fuse as a module (CONFIG_FUSE_FS=m: a
# whole kernel in $(KSRC)-each.mod); in a worktree, with the test kernel's
# config.
kernel-buildeach: kernel
	$(Q)KCONFIG=$(KOUT)/.config $(TOP)/selftests/ktree.sh buildeach $(KSRC)

# Fuse as a module in a guest: the FUSE_FS=m kernel (ktree.sh buildmod)
# loads fuse.ko, its BPF resolver registers, and a few guest tests run
# (T=... picks others).
.PHONY: kernel-modtest
kernel-modtest: all
	$(Q)KCONFIG=$(KOUT)/.config $(TOP)/selftests/ktree.sh buildmod $(KSRC)
	$(Q)VNG=$(VNG) $(TOP)/selftests/modtest.sh -k $(KSRC)-each.mod -p $(TEST_PROGS) \
		-o $(RESULTS)/modtest $(VM_FILTER)

# From inside the kernel tree: run in this repository, checkpatch takes a
# git-tracked file argument for a source file, not a patch.  ENOSYS is
# FUSE's answer to a request the server does not implement, as in the rest
# of fs/fuse, not a bad syscall number: that one check is left out.
kernel-checkpatch: kernel-tree
	$(Q)fail=0; for p in $$(grep -Ev '^\s*(#|$$)' kernel/series); do \
		out=$$(cd $(KSRC) && perl scripts/checkpatch.pl --strict --no-tree -q --ignore ENOSYS $(TOP)/kernel/$$p); \
		if [ -n "$$out" ]; then echo "$$p:"; echo "$$out"; fail=1; else echo "  OK      $$p"; fi; \
	done; exit $$fail

# --------------------------------------------------------------------------
# BPF toolchain from the same tree: libbpf (static), bpftool, vmlinux.h

TOOLS := $(O)/tools
LIBBPF_OUT := $(TOOLS)/libbpf
LIBBPF_A := $(LIBBPF_OUT)/libbpf.a
LIBBPF_INC := $(LIBBPF_OUT)/include
BPFTOOL := $(TOOLS)/bpftool/bpftool
CLANG := clang-16
LLVM_STRIP := llvm-strip-16

$(LIBBPF_A): | $(KSTAMP)
	$(call msg,LIBBPF,$@)
	$(Q)mkdir -p $(LIBBPF_OUT)
	$(Q)$(MAKE) -C $(KSRC)/tools/lib/bpf -s OUTPUT=$(LIBBPF_OUT)/ \
		BUILD_STATIC_ONLY=1 DESTDIR=$(LIBBPF_OUT) prefix= \
		INCLUDEDIR=/include LIBDIR=/lib -j$(JOBS) install_headers $(LIBBPF_A) >/dev/null

$(BPFTOOL): | $(KSTAMP)
	$(call msg,BPFTOOL,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(MAKE) -C $(KSRC)/tools/bpf/bpftool -s OUTPUT=$(dir $@) \
		CLANG=$(CLANG) LLVM_STRIP=$(LLVM_STRIP) -j$(JOBS) >/dev/null 2>&1 || \
	 $(MAKE) -C $(KSRC)/tools/bpf/bpftool OUTPUT=$(dir $@) CLANG=$(CLANG) LLVM_STRIP=$(LLVM_STRIP)

BPF_OUT := $(O)/bpf
VMLINUX_H := $(BPF_OUT)/vmlinux.h

# Only replaced when the BTF really changed, so BPF objects are not rebuilt
# after every kernel relink.
$(VMLINUX_H): $(KOUT)/vmlinux $(BPFTOOL)
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(BPF_OUT)
	$(Q)$(BPFTOOL) btf dump file $(KOUT)/vmlinux format c > $@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm $@.tmp; touch $@; else mv $@.tmp $@; fi

.PHONY: tools
tools: kernel-tree
	$(Q)$(MAKE) -s --no-print-directory $(LIBBPF_A) $(BPFTOOL)

# --------------------------------------------------------------------------
# BPF programs: bpf/*.bpf.c (the resolver) and selftests/progs/*.bpf.c
# (test programs), each to an object and a skeleton.

BPF_SRCS := $(wildcard bpf/*.bpf.c selftests/progs/*.bpf.c)
BPF_OBJS := $(patsubst %.bpf.c,$(BPF_OUT)/%.bpf.o,$(notdir $(BPF_SRCS)))
BPF_SKELS := $(BPF_OBJS:.bpf.o=.skel.h)
# -mcpu=v3: 32-bit jumps and ALU the verifier tracks bounds through; with
# the default v1, clang-16 checks a bound on one copy of an index and uses
# another, which the verifier rejects (include/fmap.h, issue 6).
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall -Werror \
	-I$(BPF_OUT) -I$(LIBBPF_INC) -I$(TOP)/include -I$(TOP)/bpf
vpath %.bpf.c bpf selftests/progs

$(BPF_OUT)/%.bpf.o: %.bpf.c $(VMLINUX_H) $(LIBBPF_A) $(wildcard include/*.h bpf/*.h selftests/progs/*.h)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BPF_OUT)/%.skel.h: $(BPF_OUT)/%.bpf.o $(BPFTOOL)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

.PHONY: bpf
bpf: kernel
	$(Q)$(MAKE) --no-print-directory build-bpf

.PHONY: build-bpf
build-bpf: $(BPF_OBJS) $(BPF_SKELS)

# --------------------------------------------------------------------------
# Userspace: server library + famfs-bpf, selftests

CC := gcc
USER_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -g -O2 -DFUSE_USE_VERSION=312 \
	-I$(TOP)/include/uapi -I$(TOP)/include -I$(TOP)/server -I$(TOP)/bpf \
	-I$(BPF_OUT) -I$(LIBBPF_INC) $(shell pkg-config --cflags fuse3 2>/dev/null)
USER_LDLIBS := $(LIBBPF_A) $(shell pkg-config --libs fuse3 2>/dev/null) -lelf -lz -lpthread
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

SERVER_OUT := $(O)/server
# server/ has rooms: fs/ (the file system's core), fsd/ (the FUSE daemon),
# cli/ (the famfs-bpf command and the mount helper).  fs and fsd objects
# and cli's subcommands make the server library; objects keep their room
# ($(O)/server/fs/alloc.o, ...), the two programs stay in $(O)/server.
SERVER_ROOMS := fs fsd cli
SERVER_MAIN := server/cli/famfs-bpf.c
# mount(8)'s helper for type fuse.famfs-bpf (a program of its own)
SERVER_HELPER := server/cli/mount_helper.c
SERVER_SRCS := $(filter-out $(SERVER_MAIN) $(SERVER_HELPER), \
	$(foreach r,$(SERVER_ROOMS),$(wildcard server/$(r)/*.c)))
SERVER_HDRS := $(foreach r,$(SERVER_ROOMS),$(wildcard server/$(r)/*.h)) \
	$(wildcard include/*.h include/uapi/linux/*.h)
SERVER_LIB := $(SERVER_OUT)/libfamfs-server.a
SERVER_LIB_SAN := $(SERVER_OUT)/san/libfamfs-server.a
# The BPF resolver's loader goes into the server library.  loader.c needs
# the resolver's skeleton, hence the patched kernel's BTF; the sanitized
# library of the host unit tests, which build before any kernel, takes
# loader_stub.c instead (opening the resolver fails with EOPNOTSUPP).
LOADER_SRCS := bpf/loader.c bpf/slices.c
LOADER_SAN_SRCS := bpf/loader_stub.c bpf/slices.c
LOADER_HDRS := $(wildcard bpf/*.h)
SERVER_OBJS := $(patsubst server/%.c,$(SERVER_OUT)/%.o,$(SERVER_SRCS)) \
	$(patsubst bpf/%.c,$(SERVER_OUT)/bpf/%.o,$(LOADER_SRCS))
SERVER_OBJS_SAN := $(patsubst server/%.c,$(SERVER_OUT)/san/%.o,$(SERVER_SRCS)) \
	$(patsubst bpf/%.c,$(SERVER_OUT)/san/bpf/%.o,$(LOADER_SAN_SRCS))

$(SERVER_OUT)/%.o: server/%.c $(SERVER_HDRS) $(LOADER_HDRS) | $(LIBBPF_A)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(SERVER_OUT)/san/%.o: server/%.c $(SERVER_HDRS) $(LOADER_HDRS) | $(LIBBPF_A)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(USER_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(SERVER_OUT)/bpf/%.o: bpf/%.c $(SERVER_HDRS) $(LOADER_HDRS) | $(LIBBPF_A)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(SERVER_OUT)/bpf/loader.o: $(BPF_OUT)/resolver.skel.h

$(SERVER_OUT)/san/bpf/%.o: bpf/%.c $(SERVER_HDRS) $(LOADER_HDRS) | $(LIBBPF_A)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(USER_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(SERVER_LIB): $(SERVER_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(SERVER_LIB_SAN): $(SERVER_OBJS_SAN)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(SERVER_OUT)/famfs-bpf: $(SERVER_MAIN) $(SERVER_LIB) $(SERVER_HDRS)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(USER_CFLAGS) $< $(SERVER_LIB) $(USER_LDLIBS) -o $@

$(SERVER_OUT)/mount.fuse.famfs-bpf: $(SERVER_HELPER) $(SERVER_LIB) $(SERVER_HDRS)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(USER_CFLAGS) $< $(SERVER_LIB) $(USER_LDLIBS) -o $@

SERVER_BINS := $(if $(wildcard $(SERVER_MAIN)),$(SERVER_OUT)/famfs-bpf) \
	$(SERVER_OUT)/mount.fuse.famfs-bpf
.PHONY: build-server
build-server: $(if $(SERVER_SRCS),$(SERVER_LIB)) $(SERVER_BINS)

ST_OUT := $(O)/selftests
PROG_TESTS := $(sort $(wildcard selftests/prog_tests/*.c))
TEST_PROGS := $(ST_OUT)/test_progs
# shared by the tests: the fixtures (mounts of the daemon or the vehicle),
# and the test vehicle (selftests/vehicle/: a FUSE server of its own, built on
# the server library, for replies the daemon never gives)
TEST_HELPERS := selftests/fixture.c selftests/vehicle/server.c

# The test list is discovered, not kept by hand.
$(ST_OUT)/tests.h: $(PROG_TESTS)
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)grep -ho '^void test_[a-z0-9_]*(void)' $(PROG_TESTS) | \
		sed 's/^void test_\(.*\)(void)/DEFINE_TEST(\1)/' > $@
	$(Q)for f in $(PROG_TESTS); do \
		n=$$(basename $$f .c); \
		grep -qx "DEFINE_TEST($$n)" $@ || { \
			echo "$$f: no \"void test_$$n(void)\" at the start of a line: the runner would not find it" >&2; \
			rm -f $@; exit 1; }; \
	done
	$(Q)found=$$(wc -l < $@); defined=$$(grep -hEc '^(void[[:space:]]+)?test_[a-z0-9_]+[[:space:]]*\((void)?\)[[:space:]]*\{?$$' $(PROG_TESTS) | \
		awk '{ s += $$1 } END { print s }'); \
	[ "$$found" = "$$defined" ] || { \
		echo "tests.h: $$found tests found, $$defined test_*() functions defined in selftests/prog_tests/" >&2; \
		rm -f $@; exit 1; }

$(TEST_PROGS): selftests/test_progs.c selftests/test_progs.h $(PROG_TESTS) \
		$(TEST_HELPERS) $(wildcard selftests/*.h selftests/vehicle/*.h) \
		$(ST_OUT)/tests.h $(SERVER_HDRS) $(BPF_SKELS) \
		$(if $(SERVER_SRCS),$(SERVER_LIB)) | $(LIBBPF_A)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(USER_CFLAGS) -I$(TOP)/selftests -I$(ST_OUT) \
		selftests/test_progs.c $(TEST_HELPERS) $(PROG_TESTS) \
		$(if $(SERVER_SRCS),$(SERVER_LIB)) $(USER_LDLIBS) -o $@

UNIT_SRCS := $(sort $(wildcard selftests/unit/test_*.c))
UNIT_BINS := $(patsubst selftests/unit/%.c,$(ST_OUT)/unit/%,$(UNIT_SRCS))

# Unit tests always run under ASan/UBSan, with a sanitized server library.
$(ST_OUT)/unit/%: selftests/unit/%.c $(SERVER_HDRS) $(wildcard selftests/*.h selftests/vehicle/*.h) \
		$(wildcard selftests/unit/*.h) $(if $(SERVER_SRCS),$(SERVER_LIB_SAN)) | $(LIBBPF_A)
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(USER_CFLAGS) $(SAN_FLAGS) -I$(TOP)/selftests $< \
		$(if $(SERVER_SRCS),$(SERVER_LIB_SAN)) $(USER_LDLIBS) -lcmocka -o $@

.PHONY: build-selftests build-unit
build-selftests: $(TEST_PROGS) $(UNIT_BINS)
build-unit: $(UNIT_BINS)

# The kernel first: vmlinux.h, hence every BPF skeleton, comes from it.
.PHONY: all build-userspace
all: kernel
	$(Q)$(MAKE) -s --no-print-directory build-userspace

build-userspace: build-bpf build-server build-selftests

# --------------------------------------------------------------------------
# Tests.  T=PATTERN selects tests (fnmatch on "test" or "test/subtest",
# host unit test binaries by name); CHECK_DEBUG=0 skips the debug kernel.

RESULTS := $(O)/results
CHECK_DEBUG ?= 1
T ?=
VM_FILTER := $(foreach t,$(T),-t '$(t)')
unit_selected = $(if $(T),$(filter $(foreach t,$(T),$(ST_OUT)/unit/$(firstword $(subst /, ,$(t))) $(ST_OUT)/unit/test_$(firstword $(subst /, ,$(t)))),$(UNIT_BINS)),$(UNIT_BINS))

# The debug kernel runs the kernel-path subset (selftests/debug.tests),
# unless T names tests.
DEBUG_TESTS := $(shell grep -Ev '^[[:space:]]*(\#|$$)' $(TOP)/selftests/debug.tests)
VM_FILTER_DEBUG := $(if $(T),$(VM_FILTER),$(foreach t,$(DEBUG_TESTS),-t '$(t)'))
# Extra kernel command line of the debug guest: room for an early splat.
DEBUG_APPEND := log_buf_len=16M

# make check's time: one deadline for the whole run (CHECK_MINUTES from its
# start, apt and kernel builds included); each stage's limits come from
# what is left (selftests/budget.sh).  Outside check there is none.
CHECK_MINUTES ?= 70
BUDGET := $(TOP)/selftests/budget.sh
# Each unit binary's own limit (capped by the deadline in check).
UNIT_TIMEOUT ?= 300

.PHONY: unit
unit: tools
	$(Q)$(MAKE) -s --no-print-directory build-unit
	$(Q)mkdir -p $(RESULTS)
	$(Q)rm -f $(RESULTS)/unit-*.tap
	$(Q)for t in $(unit_selected); do \
		name=$$(basename $$t); tap=$(RESULTS)/unit-$$name.tap; \
		echo "# host: $$name"; \
		lim=$$($(BUDGET) cap $(UNIT_TIMEOUT)); \
		if [ "$$lim" -le 0 ]; then \
			echo "not ok - $$name # not run: make check's deadline" > $$tap; cat $$tap; continue; \
		fi; \
		CMOCKA_MESSAGE_OUTPUT=TAP timeout -k 5 $$lim $$t > $$tap 2>&1; \
		rc=$$?; cat $$tap; \
		if [ $$rc = 124 ] || [ $$rc = 137 ]; then \
			echo "not ok - $$name timed out after $$lim s" >> $$tap; \
		elif [ $$rc -ge 128 ]; then \
			echo "not ok - $$name crashed ($$rc)" >> $$tap; \
		elif [ $$rc != 0 ] && ! grep -q '^not ok' $$tap; then \
			echo "not ok - $$name exited $$rc after its tests passed: a sanitizer (LeakSanitizer) report" >> $$tap; \
		fi; \
	done; true

# The UAPI header userspace builds against must be the one in the series.
.PHONY: uapi-check
uapi-check: kernel-tree
	$(Q)mkdir -p $(RESULTS)
	$(Q)if cmp -s include/uapi/linux/fuse.h $(KSRC)/include/uapi/linux/fuse.h; then \
		echo "ok 1 include/uapi/linux/fuse.h matches the kernel series"; \
	else \
		echo "not ok 1 include/uapi/linux/fuse.h matches the kernel series # run make kernel-export"; \
	fi > $(RESULTS)/uapi.tap; echo 1..1 >> $(RESULTS)/uapi.tap; cat $(RESULTS)/uapi.tap

# Fail when a guest test or a verdict (guest finished, kernel log clean)
# failed, so that "make vmtest" alone says so; check keeps going past it
# and lets its summary count the TAP.  VMTEST_LIMIT bounds the whole guest
# (check sets it from its deadline).
.PHONY: vmtest vmtest-debug run-vmtest run-vmtest-debug
vmtest: all
	$(Q)$(MAKE) --no-print-directory run-vmtest

vmtest-debug: all kernel-debug
	$(Q)$(MAKE) --no-print-directory run-vmtest-debug

run-vmtest:
	$(Q)VNG=$(VNG) $(TOP)/selftests/vmtest.sh -k $(KOUT)/arch/x86/boot/bzImage \
		-p $(TEST_PROGS) -o $(RESULTS)/vm $(if $(VMTEST_LIMIT),-L $(VMTEST_LIMIT)) $(VM_FILTER)

run-vmtest-debug:
	$(Q)VNG=$(VNG) VMTEST_MARGIN=$${VMTEST_MARGIN:-240} $(TOP)/selftests/vmtest.sh -k $(KOUT_DEBUG)/arch/x86/boot/bzImage \
		-p $(TEST_PROGS) -o $(RESULTS)/vm-debug -T 1200 -a '$(DEBUG_APPEND)' \
		$(if $(VMTEST_LIMIT),-L $(VMTEST_LIMIT)) $(VM_FILTER_DEBUG)

# Two guests, one memory: an owner and a read-only follower on one NVDIMM
# backed by one host file (selftests/twohost.sh); TAP in twohost/twohost.tap.
# The guests run the host's ndctl (in DEB_PACKAGES).  check runs it unless
# T names tests and none of them is "twohost".
.PHONY: vmtest-twohost run-vmtest-twohost
vmtest-twohost: all
	$(Q)$(MAKE) --no-print-directory run-vmtest-twohost

run-vmtest-twohost:
	$(Q)VNG=$(VNG) $(TOP)/selftests/twohost.sh -k $(KOUT)/arch/x86/boot/bzImage \
		-b $(O) -o $(RESULTS)/twohost

# Files and devices past 4 and 16 GiB: fs_large in a guest with two 18 GiB
# NVDIMMs (sparse host files: only what the guest writes takes memory);
# TAP in vm-large/.  35 s on the test kernel, boot included (the test 14 s).
.PHONY: vmtest-large run-vmtest-large
vmtest-large: all
	$(Q)$(MAKE) --no-print-directory run-vmtest-large

run-vmtest-large:
	$(Q)VNG=$(VNG) $(TOP)/selftests/vmtest.sh -k $(KOUT)/arch/x86/boot/bzImage \
		-p $(TEST_PROGS) -o $(RESULTS)/vm-large -N 18G -t fs_large \
		$(if $(VMTEST_LIMIT),-L $(VMTEST_LIMIT))

# fstests (xfstests) against fuse.famfs-bpf: not part of check (not
# packaged by Debian, CI has no network).  FSTESTS is a checkout; it is
# copied to $(FST_OUT)/xfstests (the guest needs its tree writable) and
# built there, then selftests/fstests.sh boots the test kernel (or
# FSTESTS_KERNEL) with two pmem devices and runs ./check -g FSTESTS_GROUP.
# fstests' summary ends the output; results in $(FST_OUT)/xfstests/results.
FST_OUT := $(O)/fstests
FSTESTS_GROUP ?= quick
FSTESTS_KERNEL ?= $(KOUT)/arch/x86/boot/bzImage
FSTESTS_LIMIT ?= 2700
FST_DEBS := xfslibs-dev uuid-dev libtool-bin automake gcc quota attr make \
	libacl1-dev libaio-dev xfsprogs libgdbm-dev gawk fio dbench \
	uuid-runtime python3 sqlite3 libcap-dev bc
.PHONY: fstests
fstests: build-server
	$(Q)[ -n "$(FSTESTS)" ] && [ -x "$(FSTESTS)/check" ] || \
		{ echo "usage: make fstests FSTESTS=DIR [FSTESTS_GROUP=quick]: DIR is an fstests (xfstests) checkout" >&2; exit 2; }
	$(Q)missing=$$(for p in $(FST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	[ -z "$$missing" ] || { echo "fstests needs:" $$missing "(apt-get install" $$missing")" >&2; exit 2; }
	$(Q)mkdir -p $(FST_OUT)/xfstests
	$(Q)tar -C $(FSTESTS) --exclude=./.git -cf - . | tar -C $(FST_OUT)/xfstests -xf -
	$(call msg,MAKE,$(FST_OUT)/xfstests)
	$(Q)$(MAKE) -C $(FST_OUT)/xfstests -j$$(nproc) > $(FST_OUT)/build.log 2>&1 || \
		{ tail -n 30 $(FST_OUT)/build.log; exit 1; }
	$(Q)VNG=$(VNG) $(TOP)/selftests/fstests.sh -k $(FSTESTS_KERNEL) -s $(FST_OUT)/xfstests \
		-o $(FST_OUT) -g $(FSTESTS_GROUP) -L $(FSTESTS_LIMIT)

# check: everything, then one summary line; fails if anything failed.
# The deadline starts before apt, so check's own set-up counts too.
.PHONY: check check-stages
check:
	$(Q)rm -rf $(RESULTS) && mkdir -p $(RESULTS)
	$(Q)$(MAKE) --no-print-directory check-stages \
		CHECK_DEADLINE=$$(( $$(date +%s) + $(CHECK_MINUTES) * 60 ))

# Builds first, both kernels, so that the guests then share what is left by
# weight: test kernel 6, two hosts 1, debug kernel 3 (the test kernel's run
# is the longest: 18-23 min against the debug kernel's 13-15, 2026-12-07);
# what a stage does not use goes to the stages after it.
check-stages:
	$(Q)$(BUDGET) run $(MAKE) --no-print-directory deps || \
		echo "not ok 1 set-up # make deps failed" > $(RESULTS)/deps.tap
	$(Q)$(BUDGET) run $(MAKE) --no-print-directory uapi-check || \
		echo "not ok 1 kernel tree # make uapi-check failed" > $(RESULTS)/tree.tap
	$(Q)$(BUDGET) run $(MAKE) --no-print-directory unit T='$(T)' || \
		echo "not ok 1 unit tests build # make unit failed" > $(RESULTS)/unit-build.tap
	$(Q)$(BUDGET) run $(MAKE) --no-print-directory fuzz-check || \
		echo "not ok 1 fuzz # make fuzz-check failed" > $(RESULTS)/fuzz-build.tap
	$(Q)$(BUDGET) run $(MAKE) --no-print-directory all || \
		echo "not ok 1 build # make all failed" > $(RESULTS)/build.tap
	$(Q)$(BUDGET) run $(MAKE) --no-print-directory build-bench || \
		echo "not ok 1 bench build # make build-bench failed" > $(RESULTS)/bench-build.tap
	$(Q)[ "$(CHECK_DEBUG)" != 1 ] || [ -f $(RESULTS)/build.tap ] || \
		$(BUDGET) run $(MAKE) --no-print-directory kernel-debug || \
		echo "not ok 1 debug kernel build # make kernel-debug failed" > $(RESULTS)/build-debug.tap
	$(Q)[ -f $(RESULTS)/build.tap ] || \
		$(MAKE) --no-print-directory run-vmtest T='$(T)' \
			VMTEST_LIMIT=$$($(BUDGET) share 6 $(if $(filter 1,$(CHECK_DEBUG)),10,7)) || \
		[ -f $(RESULTS)/vm/kernel.tap ] || \
		echo "not ok 1 vmtest # make vmtest failed before the guest ran" > $(RESULTS)/vmtest.tap
	$(Q)[ -f $(RESULTS)/build.tap ] || { [ -n '$(T)' ] && ! echo '$(T)' | grep -qw twohost; } || \
		TWOHOST_LIMIT=$$($(BUDGET) share 1 $(if $(filter 1,$(CHECK_DEBUG)),4,1)) \
		$(MAKE) --no-print-directory run-vmtest-twohost || \
		[ -f $(RESULTS)/twohost/twohost.tap ] || \
		echo "not ok 1 twohost # make vmtest-twohost failed before the guests ran" > $(RESULTS)/twohost.tap
	$(Q)[ -f $(RESULTS)/build.tap ] || { [ -n '$(T)' ] && ! echo '$(T)' | grep -qw fs_large; } || \
		$(MAKE) --no-print-directory run-vmtest-large VMTEST_LIMIT=$$($(BUDGET) cap 400) || \
		[ -f $(RESULTS)/vm-large/kernel.tap ] || \
		echo "not ok 1 vmtest-large # make vmtest-large failed before the guest ran" > $(RESULTS)/vmtest-large.tap
	$(Q)[ -f $(RESULTS)/build.tap ] || [ "$(CHECK_DEBUG)" != 1 ] || [ -f $(RESULTS)/build-debug.tap ] || \
		$(MAKE) --no-print-directory run-vmtest-debug T='$(T)' VMTEST_LIMIT=$$($(BUDGET) left) || \
		[ -f $(RESULTS)/vm-debug/kernel.tap ] || \
		echo "not ok 1 debug kernel guest # make vmtest-debug failed before the guest ran" > $(RESULTS)/vmtest-debug.tap
	$(Q)echo "# make check: $$(( ($$(date +%s) - $(CHECK_DEADLINE) + $(CHECK_MINUTES) * 60) / 60 )) min of its $(CHECK_MINUTES)"
	$(Q)$(TOP)/selftests/summary.sh $(RESULTS)

# --------------------------------------------------------------------------
# Demo and benchmarks

.PHONY: demo
demo: $(DEPS_STAMP)
	$(Q)$(MAKE) --no-print-directory all
	$(Q)VNG=$(VNG) $(TOP)/server/demo.sh $(KOUT)/arch/x86/boot/bzImage $(O)

# make bench: one guest run puts the BPF, built-in C and upcall resolvers
# (and ext2 -o dax) side by side; selftests/bench/.  Results, a table,
# results.json and scaling.svg in $(BENCH_OUT).  BENCH_QUICK=1 for a smoke
# run, BENCH_CASES='miss fault files extents seq' to pick cases.
BENCH_OUT := $(O)/bench
BENCH_BIN := $(ST_OUT)/bench/famfs-bench
BENCH_SRCS := $(wildcard selftests/bench/*.c)
# the bpf column exists once the server library knows the BPF resolver
BENCH_CFLAGS := $(if $(shell grep -s FBS_RESOLVER_BPF selftests/vehicle/server.h),-DBENCH_HAVE_BPF)

$(BPF_OUT)/bench_fmap.bpf.o: selftests/progs/bench_fmap.h

$(BENCH_BIN): $(BENCH_SRCS) selftests/progs/bench_fmap.h $(TEST_HELPERS) \
		$(wildcard selftests/*.h selftests/vehicle/*.h) $(SERVER_HDRS) $(BPF_OUT)/bench_fmap.skel.h \
		$(if $(SERVER_SRCS),$(SERVER_LIB)) | $(LIBBPF_A)
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(USER_CFLAGS) $(BENCH_CFLAGS) -I$(TOP)/selftests -I$(TOP)/selftests/progs \
		$(BENCH_SRCS) $(TEST_HELPERS) $(if $(SERVER_SRCS),$(SERVER_LIB)) \
		$(USER_LDLIBS) -o $@

.PHONY: bench build-bench
build-bench: $(BENCH_BIN)

bench: $(DEPS_STAMP)
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) -s --no-print-directory build-bench
	$(Q)VNG=$(VNG) $(TOP)/selftests/bench/bench.sh -k $(KOUT)/arch/x86/boot/bzImage \
		-b $(BENCH_BIN) -o $(BENCH_OUT)

# --------------------------------------------------------------------------
# Install: the famfs-bpf binary and its man pages (build-server first).

PREFIX ?= /usr/local
DESTDIR ?=
MAN_PAGES := $(wildcard server/cli/man/*.8)
# mount(8) looks for helpers in /sbin only, whatever PREFIX is
HELPERDIR ?= /sbin

.PHONY: install
install:
	$(Q)[ -x $(SERVER_OUT)/famfs-bpf ] || { echo "make install: $(SERVER_OUT)/famfs-bpf missing: make all first" >&2; exit 1; }
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX)/sbin/famfs-bpf)
	$(Q)install -D -m 0755 $(SERVER_OUT)/famfs-bpf $(DESTDIR)$(PREFIX)/sbin/famfs-bpf
	$(call msg,INSTALL,$(DESTDIR)$(HELPERDIR)/mount.fuse.famfs-bpf)
	$(Q)install -D -m 0755 $(SERVER_OUT)/mount.fuse.famfs-bpf \
		$(DESTDIR)$(HELPERDIR)/mount.fuse.famfs-bpf
	$(call msg,INSTALL,$(MAN_PAGES))
	$(Q)install -d $(DESTDIR)$(PREFIX)/share/man/man8
	$(Q)install -m 0644 $(MAN_PAGES) $(DESTDIR)$(PREFIX)/share/man/man8/

# --------------------------------------------------------------------------
# Fuzzing (check runs a short fuzz-check): libFuzzer (clang-16, with ASan and UBSan)
# over the metadata log's decoder and replay (and the superblock and label
# checks), from the seeds in
# selftests/fuzz/corpus/<target>; what it finds new goes to $(FUZZ_OUT).
# Pure userspace: no kernel tree, no libbpf.  FUZZ_RUNS=N to run longer.

FUZZ_PACKAGES := clang-16 libclang-rt-16-dev
FUZZ_STAMP := $(O)/.deps-fuzz
FUZZ_OUT := $(O)/fuzz
FUZZ_RUNS ?= 1000000
FUZZ_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -g -O1 \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-I$(TOP)/include/uapi -I$(TOP)/include -I$(TOP)/server

# The same idempotent apt-get step as deps, for the fuzzer's packages only.
$(FUZZ_STAMP):
	$(Q)mkdir -p $(O)
	$(Q)missing=$$(for p in $(FUZZ_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	done | tr '\n' ' '); \
	if [ -n "$$missing" ]; then \
		echo "  APT     $$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "make fuzz: run as root, or install: $$missing" >&2; exit 1; fi; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing \
			>$(O)/apt-fuzz.log 2>&1 || { tail -20 $(O)/apt-fuzz.log; exit 1; }; \
	fi
	$(Q)touch $@

FUZZ_MLOG_SRCS := selftests/fuzz/fuzz_mlog.c server/fs/mlog.c server/fs/super.c \
	server/fs/crc32c.c server/fs/log.c server/fs/ns.c server/fs/acl.c

$(FUZZ_OUT)/fuzz_mlog: $(FUZZ_MLOG_SRCS) $(SERVER_HDRS) | $(FUZZ_STAMP)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $(FUZZ_MLOG_SRCS) -o $@

# Fails on a crash, a leak or undefined behaviour (the input is kept in
# $(FUZZ_OUT)/crash-*); the last lines give executions per second.
.PHONY: fuzz build-fuzz
build-fuzz: $(FUZZ_OUT)/fuzz_mlog

fuzz: build-fuzz
	$(Q)mkdir -p $(FUZZ_OUT)/corpus/mlog
	$(call msg,FUZZ,mlog $(FUZZ_RUNS) runs)
	$(Q)$(FUZZ_OUT)/fuzz_mlog -runs=$(FUZZ_RUNS) -max_len=8192 -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_OUT)/ $(FUZZ_OUT)/corpus/mlog \
		$(TOP)/selftests/fuzz/corpus/mlog > $(FUZZ_OUT)/mlog.log 2>&1 || \
		{ tail -40 $(FUZZ_OUT)/mlog.log; exit 1; }
	$(Q)grep -E '^(Done|stat::(number_of_executed_units|average_exec_per_sec))' $(FUZZ_OUT)/mlog.log

# check's short fuzz run (FUZZ_CHECK_RUNS, fresh corpus dir each time is not
# needed: what it found before is kept and replayed first), as one TAP line.
FUZZ_CHECK_RUNS ?= 50000
.PHONY: fuzz-check
fuzz-check:
	$(Q)mkdir -p $(RESULTS)
	$(Q)if $(MAKE) --no-print-directory fuzz FUZZ_RUNS=$(FUZZ_CHECK_RUNS); then \
		echo "ok 1 fuzz_mlog: $(FUZZ_CHECK_RUNS) runs, no crash, leak or undefined behaviour"; \
	else \
		echo "not ok 1 fuzz_mlog: $(FUZZ_CHECK_RUNS) runs # see $(FUZZ_OUT)/mlog.log"; \
	fi > $(RESULTS)/fuzz.tap; echo 1..1 >> $(RESULTS)/fuzz.tap; cat $(RESULTS)/fuzz.tap

.PHONY: clean distclean help
clean:
	$(Q)rm -rf $(BPF_OUT) $(SERVER_OUT) $(ST_OUT) $(RESULTS) $(TOOLS)

# distclean also drops the kernel tree: unexported kernel work is lost.
distclean:
	$(Q)rm -rf $(O)

help:
	@echo 'famfs-bpf: make [O=DIR] [V=1] TARGET'
	@echo
	@echo '  demo            boot the patched kernel and show famfs-bpf at work'
	@echo '  bench           boot the test kernel once, measure BPF vs built-in C vs'
	@echo '                  upcall resolution; table, results.json, scaling.svg in $(BENCH_OUT)'
	@echo '  check           build everything, run host and guest tests, print'
	@echo '                  "N passed, N failed, N skipped"; T=PATTERN selects tests,'
	@echo '                  CHECK_DEBUG=0 skips the debug-kernel run, CHECK_MINUTES=70'
	@echo '                  is the deadline of the whole run (apt and builds included)'
	@echo '  all             kernel, tools, bpf, server, selftests'
	@echo '  deps            apt-get packages, virtme-ng $(VNG_VERSION) in $(VENV)'
	@echo '  kernel          the test kernel ($(KOUT)), incremental'
	@echo '  kernel-debug    the debug kernel (KASAN, lockdep, kmemleak)'
	@echo '  kernel-export   kernel/*.patch + kernel/series := the tree ($(KSRC))'
	@echo '  kernel-reset    drop the tree commits and re-apply kernel/series'
	@echo '  kernel-checkpatch  checkpatch.pl --strict on every patch'
	@echo '  kernel-buildeach   fs/fuse builds at every patch, without the options, as a module'
	@echo '  kernel-modtest     boot the FUSE_FS=m kernel, load fuse.ko, run a few guest tests'
	@echo '  unit            cmocka unit tests on the host (ASan/UBSan)'
	@echo '  fuzz            libFuzzer over the metadata log, FUZZ_RUNS=$(FUZZ_RUNS) runs'
	@echo '                  (check runs $(FUZZ_CHECK_RUNS) of them: fuzz-check)'
	@echo '  vmtest          in-guest tests on the test kernel'
	@echo '  vmtest-debug    in-guest tests on the debug kernel'
	@echo '  vmtest-twohost  two guests share one NVDIMM: owner and read-only follower'
	@echo '  fstests         FSTESTS=DIR [FSTESTS_GROUP=quick]: fstests checkout DIR in a guest'
	@echo '                  (not in check; README, "Conformance (fstests)")'
	@echo '  install         famfs-bpf (after all) and man pages under [DESTDIR]$(PREFIX)'
	@echo '  clean           userspace outputs; distclean: all of $(O)'
	@echo
	@echo '  V=1 shows full commands; O=DIR puts outputs in DIR (default build/).'
