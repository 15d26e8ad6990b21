# SPDX-License-Identifier: GPL-2.0-or-later
#
# qemu-ioasid top-level Makefile.  `./configure` materialises the QEMU tree in
# build/; this file drives the build, the tests, the demo and the benchmark.

SRC := $(CURDIR)
BUILD := $(SRC)/build
OBJ := $(BUILD)/obj
export PATH := /usr/lib/ccache:$(PATH)
# Let clones at other paths (CI) share the compiler cache.
export CCACHE_BASEDIR := $(BUILD)
export CCACHE_NOHASHDIR := 1

# Our unit test and qtests, plus the upstream qtests our devices and
# commands must keep passing (they exercise every device and every QMP/HMP
# command).  Paths are relative to build/obj.
OUR_TESTS := tests/unit/test-ioasid-soft-host tests/unit/test-ioasid-vfio-type1 \
	tests/unit/test-ioasid-iommufd \
	tests/qtest/ioasid-vfio-test \
	tests/qtest/ioasid-relay-test tests/qtest/ioasid-robust-test \
	tests/qtest/ioasid-random-test tests/qtest/ioasid-cache-test \
	tests/qtest/ioasid-first-stage-test tests/qtest/ioasid-pasid-test
UPSTREAM_TESTS := $(addprefix tests/qtest/,intel-iommu-test qmp-cmd-test \
	test-hmp device-introspect-test)
# The guest bring-up matrix (real Linux guests under TCG), run last
GUEST_MATRIX := $(SRC)/scripts/guest/matrix.sh
# The nested VFIO matrix (our QEMU's vfio-pci on real Linux VFIO inside a
# guest), after the guest matrix; its initramfs, booted with Linux 6.12
NESTED := $(SRC)/scripts/guest/nested.py
NESTED_SERIES := 6.12
# Its iommufd rows: the guest kernel with iommufd and its own image
NESTED_IOMMUFD := $(SRC)/scripts/guest/nested-iommufd.sh
# The crash regression corpus: every past fuzzer crash, replayed
CRASHERS := $(SRC)/scripts/fuzz/replay-crashers.py
TESTS := $(OUR_TESTS) $(UPSTREAM_TESTS)
GUEST := $(BUILD)/guest

# ./configure links our files into build/qemu: it must run again when the
# set of files changes, not when their content does (the links follow it).
# The list is rewritten only when it differs, so its mtime says when.
OVERLAY_LIST := $(BUILD)/.overlay-files
$(shell mkdir -p $(BUILD) && git -C $(SRC) ls-files -co --exclude-standard \
	backends hw include qapi system monitor tests docs 2>/dev/null \
	> $(OVERLAY_LIST).new && (cmp -s $(OVERLAY_LIST).new $(OVERLAY_LIST) || \
	cp $(OVERLAY_LIST).new $(OVERLAY_LIST)))
# One ninja at a time in a build directory
NINJA := flock $(BUILD)/.ninja-lock ninja

.PHONY: all setup build configure check run demo bench checkpatch clean \
	distclean guest-images build-sanitize check-sanitize build-fuzz fuzz \
	fuzz-minimize nested-image nested iommufd-kernel

all: build

# Packages (Debian 12/13): installed once per checkout, re-checked when the
# set-up script changes.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
$(BUILD)/.setup-done: scripts/setup-host.sh
	@mkdir -p $(BUILD)
	$(SUDO) bash scripts/setup-host.sh
	@touch $@

setup: $(BUILD)/.setup-done

# Re-materialise when patches or the set of our files change.
# ($(SRC)/configure is the script; plain "configure" is the phony target.)
$(BUILD)/.configured: $(BUILD)/.setup-done $(SRC)/configure \
		$(wildcard $(SRC)/patches/*.patch) $(OVERLAY_LIST)
	./configure
	@touch $@

configure: $(BUILD)/.configured

# Firmware: option ROMs built from the tree, SeaBIOS and iPXE from Debian.
# A binary run from the build tree looks in build/obj/qemu-bundle/<dir>
# for each directory of its firmware path, so link them there.
FIRMWARE_DIRS := $(OBJ)/pc-bios/optionrom /usr/share/seabios /usr/lib/ipxe/qemu

build: $(BUILD)/.configured
	$(NINJA) -C $(OBJ) qemu-system-x86_64 $(TESTS)
	$(MAKE) -C $(OBJ)/pc-bios/optionrom
	@for d in $(FIRMWARE_DIRS); do \
	    mkdir -p $(OBJ)/qemu-bundle$$(dirname $$d); \
	    ln -sfn $$d $(OBJ)/qemu-bundle$$d; \
	done

# Guest kernels and initramfs images (downloads cached across clones)
guest-images: $(BUILD)/.setup-done
	$(SUDO) $(SRC)/scripts/guest/build-images.sh $(GUEST)

# The nested image (build/guest/nested/initrd.img): our QEMU binary, its
# libraries and the inner driver in an initramfs; rebuilt when the binary,
# the driver, its /init or the series' image changed
nested-image: build guest-images iommufd-kernel
	$(SUDO) $(SRC)/scripts/guest/nested-image.sh $(GUEST)/nested $(OBJ) \
	    $(GUEST)/$(NESTED_SERIES)
	$(SUDO) $(SRC)/scripts/guest/nested-image.sh $(GUEST)/nested-iommufd \
	    $(OBJ) $(GUEST)/$(NESTED_SERIES) $(GUEST)/iommufd/vmlinuz

check: build guest-images nested-image
	$(SRC)/scripts/run-tests.sh $(OBJ) $(TESTS) $(CRASHERS) $(GUEST_MATRIX) \
	    $(NESTED) $(NESTED_IOMMUFD)

# The nested VFIO matrix alone (about two minutes): one outer boot per outer
# snoop-control, every inner case in each, on Debian's kernel (type1) and
# on the iommufd kernel (docs/devel/ioasid-nested.rst)
nested: nested-image
	/usr/bin/python3 $(NESTED) $(OBJ) $(GUEST) --series $(NESTED_SERIES)
	$(NESTED_IOMMUFD) $(OBJ) $(GUEST)

# The main job: boot Linux 6.12 behind intel-iommu with snoop control,
# run both drivers, show the relay live from the host side.
run: build guest-images
	/usr/bin/python3 $(SRC)/scripts/guest/run-guest.py $(OBJ) \
	    $(GUEST)/6.12 --mode legacy --sc on --cache-model strict

# The device alone, driven through qtest (no guest kernel)
demo: build
	/usr/bin/python3 $(SRC)/scripts/demo.py $(OBJ)

# Ratios measured in one run: the qtest bench, then one 6.12 guest boot
# timing the DMA API (scripts/bench.sh).  Fails when a step fails.
bench: build guest-images
	$(NINJA) -C $(OBJ) tests/qtest/ioasid-bench
	$(SRC)/scripts/bench.sh $(OBJ) $(GUEST)


checkpatch: $(BUILD)/.configured
	perl $(BUILD)/qemu/scripts/checkpatch.pl --no-tree -f \
	    $(shell git -C $(SRC) ls-files '*.c' '*.h')

# ---------------------------------------------------------------------------
# Sanitizers: the same tree built by gcc with ASan and UBSan in build/obj-san
# (./configure --sanitize), running our tests and the crash corpus.
OBJ_SAN := $(BUILD)/obj-san
# Our tests and the upstream qtests of `make check`: all of them run clean
# under the sanitizers, QEMU's exit included (no leak reports)
SAN_TESTS := $(OUR_TESTS) $(UPSTREAM_TESTS)

# $(call firmware_links,OBJDIR): as for build/obj (see FIRMWARE_DIRS)
define firmware_links
	@for d in $(1)/pc-bios/optionrom /usr/share/seabios /usr/lib/ipxe/qemu; do \
	    mkdir -p $(1)/qemu-bundle$$(dirname $$d); \
	    ln -sfn $$d $(1)/qemu-bundle$$d; \
	done
endef

$(BUILD)/.configured-san: $(BUILD)/.configured $(SRC)/configure
	./configure --sanitize
	@touch $@

build-sanitize: $(BUILD)/.configured-san
	flock $(BUILD)/.ninja-lock-san ninja -C $(OBJ_SAN) qemu-system-x86_64 \
	    $(SAN_TESTS)
	$(MAKE) -C $(OBJ_SAN)/pc-bios/optionrom
	$(call firmware_links,$(OBJ_SAN))

# Any sanitizer report fails the run: UBSan halts at its first report, and
# both abort, so that QEMU dies and its qtest (or the replay) fails even
# where a test would not look at QEMU's exit status (options and the leak
# policy: scripts/sanitize-env.sh).
# The nested VFIO matrix runs there too, type1 and iommufd rows, with the
# sanitized QEMU outside and inside the guest (their own images,
# build/guest/nested-san and nested-san-iommufd; about two minutes).
check-sanitize: build-sanitize guest-images iommufd-kernel
	$(SUDO) $(SRC)/scripts/guest/nested-image.sh $(GUEST)/nested-san \
	    $(OBJ_SAN) $(GUEST)/$(NESTED_SERIES)
	$(SUDO) $(SRC)/scripts/guest/nested-image.sh \
	    $(GUEST)/nested-san-iommufd $(OBJ_SAN) $(GUEST)/$(NESTED_SERIES) \
	    $(GUEST)/iommufd/vmlinuz
	$(SRC)/scripts/sanitize-env.sh $(SRC)/scripts/run-tests.sh $(OBJ_SAN) \
	    $(SAN_TESTS) $(CRASHERS) $(SRC)/scripts/guest/nested-sanitize.sh

# ---------------------------------------------------------------------------
# A guest kernel with iommufd (no Debian kernel enables it), built from
# Debian's linux-source-6.12 once per machine and cached in
# ~/.cache/qemu-ioasid/kernel (scripts/guest/iommufd-kernel.sh).
$(BUILD)/.setup-kernel-done: scripts/setup-host.sh
	@mkdir -p $(BUILD)
	$(SUDO) bash scripts/setup-host.sh --kernel
	@touch $@

iommufd-kernel: $(BUILD)/.setup-kernel-done
	$(SRC)/scripts/guest/iommufd-kernel.sh $(GUEST)/iommufd

# ---------------------------------------------------------------------------
# Fuzzing: QEMU's generic-fuzz over q35 + intel-iommu + ioasid-vfio, built by
# clang with libFuzzer and ASan in build/obj-fuzz (./configure --fuzz).
# FUZZ_TIME seconds in all, shared by the configurations (FUZZ_CONFIGS, see
# scripts/fuzz/fuzz.py); FUZZ_JOBS fuzzing processes.  The corpus
# (build/fuzz/corpus) and the crash files (build/fuzz/crashes) are kept
# across runs; build/fuzz/last-run.log ends with the summary.
OBJ_FUZZ := $(BUILD)/obj-fuzz
FUZZ_TIME ?= 600
FUZZ_JOBS ?= 1
FUZZ_CONFIGS ?= legacy,scalable,legacy-strict,scalable-fs,scalable-pasid,scalable-fs-pasid
FUZZ := /usr/bin/python3 $(SRC)/scripts/fuzz/fuzz.py

$(BUILD)/.setup-fuzz-done: scripts/setup-host.sh
	@mkdir -p $(BUILD)
	$(SUDO) bash scripts/setup-host.sh --fuzz
	@touch $@

$(BUILD)/.configured-fuzz: $(BUILD)/.configured $(BUILD)/.setup-fuzz-done \
		$(SRC)/configure
	./configure --fuzz
	@touch $@

# A meson re-run copies the instrumentation filter anew: configure adds
# backends/ioasid* back.  ccache must see the filter's content.
build-fuzz: $(BUILD)/.configured-fuzz
	@grep -q 'backends/ioasid' $(OBJ_FUZZ)/instrumentation-filter || \
	    ./configure --fuzz
	CCACHE_EXTRAFILES=$(OBJ_FUZZ)/instrumentation-filter \
	    flock $(BUILD)/.ninja-lock-fuzz ninja -C $(OBJ_FUZZ) \
	    qemu-fuzz-x86_64 qemu-system-x86_64
	$(MAKE) -C $(OBJ_FUZZ)/pc-bios/optionrom
	$(call firmware_links,$(OBJ_FUZZ))

fuzz: build-fuzz
	$(FUZZ) run $(BUILD) --time $(FUZZ_TIME) --jobs $(FUZZ_JOBS) \
	    --configs $(FUZZ_CONFIGS)

# make fuzz-minimize CRASH=build/fuzz/crashes/CONFIG/crash-...
fuzz-minimize: build-fuzz
	@test -n "$(CRASH)" || { echo "usage: make fuzz-minimize CRASH=FILE" \
	    "(a file of build/fuzz/crashes/CONFIG/)"; exit 2; }
	$(FUZZ) minimize $(BUILD) $(CRASH)

clean:
	rm -rf $(OBJ) $(BUILD)/.configured

distclean:
	rm -rf $(BUILD)
