#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Fuzz intel-iommu and ioasid-vfio with QEMU's generic-fuzz (libFuzzer).

  fuzz.py run BUILD        fuzz every configuration, then summarise
  fuzz.py summary BUILD    replay the crash files, grouped by signature
  fuzz.py minimize BUILD CRASH [--config NAME] [-o FILE.qtest]
                           turn a crash file into a minimal qtest trace in
                           the format of tests/fuzz/crashers/

BUILD is the build/ directory: the fuzzer is BUILD/obj-fuzz, the corpus
BUILD/fuzz/corpus/CONFIG (kept across runs), crash files
BUILD/fuzz/crashes/CONFIG.  `make fuzz`, `make fuzz-minimize` drive this;
see docs/devel/ioasid-testing.rst.
"""

import argparse
import collections
import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.realpath(__file__))))

# What generic-fuzz drives: the machine (it adds -machine accel=qtest and
# -m 512M itself) and the QOM objects whose MemoryRegions and PCI functions
# it may touch.  Matching intel-iommu gives the VT-d register MMIO (and the
# per-device vtd address spaces, not reachable by the CPU); ioasid-vfio
# gives its BAR0 (mapped and enabled before each input) and its PCI config
# space through 0xcf8/0xcfc.  DMA reads that the vIOMMU does of its tables
# (root, context, PASID, page tables, invalidation queue) and that the
# device does of guest RAM are served from the fuzzer's DMA patterns.
DEVICE = '-device ioasid-vfio,addr=04.0'
CONFIGS = collections.OrderedDict([
    ('legacy', '-M q35 -nodefaults '
     '-device intel-iommu,caching-mode=on,snoop-control=on ' + DEVICE),
    ('scalable', '-M q35 -nodefaults '
     '-device intel-iommu,caching-mode=on,snoop-control=on,'
     'x-scalable-mode=on ' + DEVICE),
    # legacy tables under the strict cache model: the fuzzer's RAM writes
    # are CPU stores, its no-snoop DMA goes through the model
    ('legacy-strict', '-M q35 -nodefaults '
     '-object ioasid,id=ioasid-default,cache-model=strict,cache-size=64K '
     '-device intel-iommu,caching-mode=on,snoop-control=on ' + DEVICE),
    # first-stage tables (the mode Linux picks there), PGSNP
    ('scalable-fs', '-M q35 -nodefaults '
     '-device intel-iommu,caching-mode=on,snoop-control=on,'
     'x-scalable-mode=on,x-flts=on ' + DEVICE),
    # requests with PASID: each PASID its own address space and IOASID
    ('scalable-pasid', '-M q35 -nodefaults '
     '-device intel-iommu,caching-mode=on,snoop-control=on,'
     'x-scalable-mode=on,x-pasid-mode=on ' + DEVICE),
    # the same with first-stage tables: PGSNP is a PASID's only snoop
    # control, and its new entries reach the host at the device's miss
    ('scalable-fs-pasid', '-M q35 -nodefaults '
     '-device intel-iommu,caching-mode=on,snoop-control=on,'
     'x-scalable-mode=on,x-flts=on,x-pasid-mode=on ' + DEVICE),
])
# The table format each configuration's seeds program
MODES = {'legacy': 'legacy', 'legacy-strict': 'legacy',
         'scalable': 'scalable', 'scalable-fs': 'fs',
         'scalable-pasid': 'pasid', 'scalable-fs-pasid': 'fs-pasid'}
OBJECTS = 'intel-iommu* ioasid*'
# PASID Enable is in extended configuration space, reached through PCIe
# ECAM only, which the q35 MCH's PCIEXBAR enables (firmware's job): the
# PASID configuration also gives the fuzzer the MCH's configuration space
# (generic-fuzz's PCI write, through 0xcf8/0xcfc) and the ECAM window.
# Not the configuration ports as PIO regions: the reset control register
# at 0xcf9 splits 0xcf8's region, so no 32-bit write reaches it.
CONFIG_OBJECTS = {
    'scalable-pasid': OBJECTS + ' mch pcie-mmcfg-mmio*',
    'scalable-fs-pasid': OBJECTS + ' mch pcie-mmcfg-mmio*',
}

# ---------------------------------------------------------------------------
# Seeds.  Starting from nothing, the fuzzer rarely gets as far as a
# translating vIOMMU: that takes a root table address, SRTP, TE, an
# invalidation, then DMA reads that happen to be valid root, context (PASID)
# and page-table entries, and a device DMA.  Seed inputs do that much, in
# generic-fuzz's input format (tests/qtest/fuzz/generic_fuzz.c): commands
# separated by "FUZZ", the first byte of each an opcode.  A DMA pattern
# serves one DMA read, the next pattern the next read (cycling), so there
# is one pattern per table entry read, in the order the vIOMMU reads them.
#
# Translation is turned on *before* the patterns exist: the replay at TE
# then finds no context entry, where with the patterns it would walk the
# whole 39-bit space (every read a new pattern-filled entry: seconds per
# input).  A page-selective invalidation then walks just the page at IOVA
# 0: root, context (PASID directory, PASID entry), three page-table levels.
# ---------------------------------------------------------------------------
SEPARATOR = b'FUZZ'
OP_WRITE, OP_PCI_WRITE, OP_ADD_DMA_PATTERN, OP_CLEAR_DMA_PATTERNS = 3, 5, 7, 8
# MMIO region index: generic-fuzz counts the matched regions in address
# order; ioasid-vfio's BAR0 (libqos maps it at 0xe0000000) comes first
BAR0, VTD = 0, 1
SIZE = {1: 0, 2: 1, 4: 2, 8: 3}

# VT-d registers and bits (VT-d 3.x 10.4; QEMU's intel_iommu_internal.h)
GCMD, RTADDR, IQT, IQA, IVA, IOTLB = 0x18, 0x20, 0x88, 0x90, 0xf0, 0xf8
GCMD_TE, GCMD_SRTP, GCMD_QIE = 1 << 31, 1 << 30, 1 << 26
RTADDR_SMT = 1 << 10
IQA_DW = 1 << 11                        # 256-bit descriptors
IOTLB_PSI_DID1 = (1 << 63) | (3 << 60) | (1 << 32)
INV_DESC_IOTLB_PSI_DID1 = 2 | (3 << 4) | (1 << 16)
# PASID-based IOTLB, page-selective within PASID 0 of domain 1
INV_DESC_PIOTLB_PSI_DID1 = 6 | (3 << 4) | (1 << 16)
SL_R_W, SL_SNP = 3, 1 << 11
FS_P_RW_US = 7                          # first-stage present, R/W, U/S
# ioasid-vfio (docs/specs/ioasid-vfio.rst)
DEV_DST, DEV_LEN, DEV_CMD, DEV_PATTERN = 0x10, 0x18, 0x1c, 0x24
DEV_PASID, PASID_VALID = 0x38, 1 << 31
DEV_DEVFN, PASID_CTRL = 4 << 3, 0x106   # PASID capability at 0x100
# With ECAM on, the MMIO regions in address order: ECAM, BAR0, VT-d; the
# matched PCI devices, in QOM tree order: ioasid-vfio, the MCH
ECAM_BASE, MCH_PCIEXBAR = 0xb0000000, 0x60
PCI_MCH = 1
ECAM, BAR0_ECAM, VTD_ECAM = 0, 1, 2
CMD_START, CMD_FILL, CMD_NOSNOOP = 1, 1 << 1, 1 << 8

# Guest-physical addresses of the tables (all below -m 512M)
ROOT, CTX, PASIDDIR, PASIDT = 0x10000, 0x11000, 0x12000, 0x13000
L3, L2, L1, PAGE, QUEUE = 0x14000, 0x15000, 0x16000, 0x100000, 0x20000
L4 = 0x17000


def op_write(base, offset, value, size):
    # struct { uint8_t size, base; (2 bytes padding) uint32_t offset;
    # uint64_t value; } after the opcode
    return bytes([OP_WRITE, SIZE[size], base, 0, 0]) + \
        offset.to_bytes(4, 'little') + value.to_bytes(8, 'little')


def op_pci_write(dev, offset, value, size):
    # struct { uint8_t size, base, offset; (1 byte padding) uint32_t value; }
    # base: the index among the matched PCI devices; offset: below 0x100
    return bytes([OP_PCI_WRITE, SIZE[size], dev, offset, 0]) + \
        value.to_bytes(4, 'little')


def op_pattern(*qwords):
    # struct { uint8_t index, stride; } then the pattern's bytes
    return bytes([OP_ADD_DMA_PATTERN, 0, 0]) + \
        b''.join(q.to_bytes(8, 'little') for q in qwords)


def seed_inputs(config):
    """{name: bytes}: inputs that get the vIOMMU translating IOVA 0 for the
    device and run its DMA engine there."""
    mode = MODES[config]
    if mode in ('pasid', 'fs-pasid'):
        return pasid_seed_inputs(mode == 'fs-pasid')

    def tables(snp):
        # one pattern per entry read: ... L3 -> L2 -> L1 -> 4 KiB leaf
        ptes = [op_pattern(L2 | SL_R_W), op_pattern(L1 | SL_R_W),
                op_pattern(PAGE | SL_R_W | (SL_SNP if snp else 0))]
        if mode == 'fs':
            # root, context, PASID directory entries; PASID entry: first
            # stage (PGTT 1), DID 1, PGSNP as asked, FLPTPTR (quadword 2);
            # then four IA-32e levels, every entry present, R/W, U/S
            return [op_pattern(CTX | 1, 0),
                    op_pattern(PASIDDIR | 1, 0, 0, 0),
                    op_pattern(PASIDT | 1),
                    op_pattern((1 << 6) | (2 << 2) | 1,
                               ((1 << 24) if snp else 0) | 1, L4,
                               0, 0, 0, 0, 0),
                    op_pattern(L3 | FS_P_RW_US), op_pattern(L2 | FS_P_RW_US),
                    op_pattern(L1 | FS_P_RW_US),
                    op_pattern(PAGE | FS_P_RW_US)]
        if mode != 'scalable':
            # root entry; context entry: second level, AW 39, DID 1
            return [op_pattern(CTX | 1, 0),
                    op_pattern(L3 | 1, (1 << 8) | 1)] + ptes
        # scalable: root entry (lower half), context entry (PASID
        # directory), PASID directory entry, PASID entry (second level
        # only: PGTT 2, AW 39, DID 1, PGSNP (bit 88) as asked)
        return [op_pattern(CTX | 1, 0),
                op_pattern(PASIDDIR | 1, 0, 0, 0),
                op_pattern(PASIDT | 1),
                op_pattern(L3 | (2 << 6) | (1 << 2) | 1,
                           ((1 << 24) if snp else 0) | 1, 0, 0, 0, 0, 0, 0),
                ] + ptes[:2] + [op_pattern(PAGE | SL_R_W)]

    rtaddr = ROOT | (RTADDR_SMT if mode != 'legacy' else 0)
    enable = [op_write(VTD, RTADDR, rtaddr, 8),
              op_write(VTD, GCMD, GCMD_SRTP, 4),
              op_write(VTD, GCMD, GCMD_TE, 4)]
    psi = [op_write(VTD, IVA, 0, 8), op_write(VTD, IOTLB, IOTLB_PSI_DID1, 8)]
    dma = [op_write(BAR0, DEV_DST, 0, 8),
           op_write(BAR0, DEV_LEN, 0x1000, 4),
           op_write(BAR0, DEV_PATTERN, 0x5a5a5a5a, 4),
           op_write(BAR0, DEV_CMD, CMD_START | CMD_FILL | CMD_NOSNOOP, 4)]
    # The same invalidation through the queue: its descriptor is the first
    # DMA read after the tail moves
    if mode == 'fs':
        # first-stage leaves are invalidated PASID-based
        iqa, desc, tail = QUEUE | IQA_DW, [INV_DESC_PIOTLB_PSI_DID1, 0, 0, 0], 32
    elif mode == 'scalable':
        iqa, desc, tail = QUEUE | IQA_DW, [INV_DESC_IOTLB_PSI_DID1, 0, 0, 0], 32
    else:
        iqa, desc, tail = QUEUE, [INV_DESC_IOTLB_PSI_DID1, 0], 16
    qi = [op_write(VTD, IQA, iqa, 8),
          op_write(VTD, GCMD, GCMD_TE | GCMD_QIE, 4),
          op_pattern(*desc)] + tables(True) + [op_write(VTD, IQT, tail, 8)]
    if mode == 'fs':
        # A new first-stage entry need not be invalidated: the device's
        # miss walks the tables (a domain-based PSI would resync the whole
        # first-stage space, every read a new pattern-filled entry)
        return {
            'seed-fs-miss-pgsnp': SEPARATOR.join(enable + tables(True) + dma),
            'seed-fs-miss': SEPARATOR.join(enable + tables(False) + dma),
            'seed-fs-qi-piotlb': SEPARATOR.join(enable + qi + dma),
        }
    return {
        'seed-psi-snoop': SEPARATOR.join(enable + tables(True) + psi + dma),
        'seed-psi-nosnoop': SEPARATOR.join(enable + tables(False) + psi + dma),
        'seed-qi': SEPARATOR.join(enable + qi + dma),
    }


def pasid_seed_inputs(first_stage=False):
    """Inputs that get the device's requests with PASID 1 translated:
    ECAM on (MCH PCIEXBAR, bus 0 device 0 register 0x60), PASID Enable,
    translation on, one PASID entry (second stage, or with @first_stage
    first stage; DID 2, PGSNP as asked) and its tables, a page-selective
    PASID-based invalidation, then DMA with the PASID register set."""
    ecam = [op_pci_write(PCI_MCH, MCH_PCIEXBAR, ECAM_BASE | 1, 4),
            op_write(ECAM, (DEV_DEVFN << 12) | PASID_CTRL, 1, 2)]
    enable = [op_write(VTD_ECAM, RTADDR, ROOT | RTADDR_SMT, 8),
              op_write(VTD_ECAM, GCMD, GCMD_SRTP, 4),
              op_write(VTD_ECAM, GCMD, GCMD_TE, 4)]

    def tables(snp, pgtt):
        if first_stage and pgtt != 4:
            # PASID 1's entry: first stage (PGTT 1), SRE clear, DID 2,
            # PGSNP as asked, FLPTPTR (quadword 2); four IA-32e levels
            return [op_pattern(CTX | 1, 0),
                    op_pattern(PASIDDIR | 1, 0, 0, 0),
                    op_pattern(PASIDT | 1),
                    op_pattern((1 << 6) | (2 << 2) | 1,
                               ((1 << 24) if snp else 0) | 2, L4,
                               0, 0, 0, 0, 0),
                    op_pattern(L3 | FS_P_RW_US), op_pattern(L2 | FS_P_RW_US),
                    op_pattern(L1 | FS_P_RW_US),
                    op_pattern(PAGE | FS_P_RW_US)]
        # root, context (PASID directory), PASID directory entry, PASID 1's
        # entry (PGTT 2: second stage, AW 39; 4: pass-through), then the
        # three second-stage levels down to a 4 KiB leaf
        return [op_pattern(CTX | 1, 0),
                op_pattern(PASIDDIR | 1, 0, 0, 0),
                op_pattern(PASIDT | 1),
                op_pattern(L3 | (pgtt << 6) | (1 << 2) | 1,
                           ((1 << 24) if snp else 0) | 2, 0, 0, 0, 0, 0, 0),
                op_pattern(L2 | SL_R_W), op_pattern(L1 | SL_R_W),
                op_pattern(PAGE | SL_R_W | (SL_SNP if snp else 0))]

    dma = [op_write(BAR0_ECAM, DEV_PASID, PASID_VALID | 1, 4),
           op_write(BAR0_ECAM, DEV_DST, 0, 8),
           op_write(BAR0_ECAM, DEV_LEN, 0x1000, 4),
           op_write(BAR0_ECAM, DEV_PATTERN, 0x5a5a5a5a, 4),
           op_write(BAR0_ECAM, DEV_CMD, CMD_START | CMD_FILL | CMD_NOSNOOP,
                    4)]
    # PASID-based IOTLB, page-selective in PASID 1 of domain 2
    desc = [6 | (3 << 4) | (2 << 16) | (1 << 32), 0, 0, 0]
    qi = [op_write(VTD_ECAM, IQA, QUEUE | IQA_DW, 8),
          op_write(VTD_ECAM, GCMD, GCMD_TE | GCMD_QIE, 4),
          op_pattern(*desc)] + tables(True, 2) + \
        [op_write(VTD_ECAM, IQT, 32, 8)]
    return {
        # the first request attaches the PASID: the relay replays its tables
        'seed-pasid-snoop': SEPARATOR.join(ecam + enable + tables(True, 2) +
                                           dma),
        'seed-pasid-nosnoop': SEPARATOR.join(ecam + enable +
                                             tables(False, 2) + dma),
        'seed-pasid-pt': SEPARATOR.join(ecam + enable + tables(False, 4) +
                                        dma),
        # the first DMA attaches PASID 1; then, from the first pattern
        # again, the queued PASID-based invalidation resyncs its shadow
        'seed-pasid-qi': SEPARATOR.join(ecam + enable + tables(True, 2) +
                                        dma + [bytes([OP_CLEAR_DMA_PATTERNS])]
                                        + qi + dma),
    }


def write_seeds(corpus, config):
    for name, data in seed_inputs(config).items():
        path = os.path.join(corpus, name)
        if not os.path.exists(path):
            with open(path, 'wb') as f:
                f.write(data)


CRASH_PREFIXES = ('crash-', 'leak-', 'timeout-', 'oom-', 'slow-unit-')
# libFuzzer's status line in fork mode
STATUS = re.compile(r'^#(\d+): cov: (\d+) ft: (\d+) corp: (\d+) exec/s:? (\d+)'
                    r' oom/timeout/crash: (\d+)/(\d+)/(\d+) time: (\d+)s')


def paths(build):
    obj = os.path.join(build, 'obj-fuzz')
    return {
        'obj': obj,
        'fuzzer': os.path.join(obj, 'qemu-fuzz-x86_64'),
        'system': os.path.join(obj, 'qemu-system-x86_64'),
        'out': os.path.join(build, 'fuzz'),
        'firmware': ['/usr/share/seabios', os.path.join(obj, 'pc-bios',
                                                        'optionrom')],
    }


def firmware_args(p):
    # The fuzzer does not look for firmware next to itself: name it
    return ' '.join('-L ' + d for d in p['firmware'])


def fuzz_env(p, config, extra=None):
    env = dict(os.environ)
    env.update({
        'QEMU_FUZZ_ARGS': firmware_args(p) + ' ' + CONFIGS[config],
        'QEMU_FUZZ_OBJECTS': CONFIG_OBJECTS.get(config, OBJECTS),
        # As QEMU's predefined configs do: fill each DMA range once between
        # two commands, so that a crash replays as a plain qtest trace.
        'QEMU_AVOID_DOUBLE_FETCH': '1',
        # QEMU frees little of what it allocates at start-up, and the
        # process is reused for all inputs: leak reports would only be
        # noise (a leak per input shows up as an OOM instead).
        'ASAN_OPTIONS': 'detect_leaks=0:abort_on_error=1:print_stacktrace=1'
                        ':disable_coredump=1',
        'UBSAN_OPTIONS': 'halt_on_error=1:abort_on_error=1:print_stacktrace=1',
    })
    env.update(extra or {})
    return env


def crash_files(p, config):
    d = os.path.join(p['out'], 'crashes', config)
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, f) for f in os.listdir(d)
                  if f.startswith(CRASH_PREFIXES))


def config_of(p, path):
    """The configuration a crash file was found with (from its directory)."""
    d = os.path.basename(os.path.dirname(os.path.abspath(path)))
    return d if d in CONFIGS else None


# ---------------------------------------------------------------------------
# Crash signatures
# ---------------------------------------------------------------------------
FRAME = re.compile(r'^\s*#(\d+) 0x[0-9a-f]+ in (\S+) (\S+)')
# Frames that say nothing about where QEMU went wrong
BORING = re.compile(r'^(__|_start|abort$|raise$|g_assertion|g_assert|'
                    r'g_log|g_logv|qtest_|fuzz::|fuzzer::|LLVMFuzzer|main$|'
                    r'generic_fuzz|op_(in|out|read|write|pci_read|pci_write|'
                    r'clock_step)$|flush_events|'
                    r'libc_start|__libc|__sanitizer|__asan|__ubsan)')
MESSAGE = re.compile(r'(Assertion .* failed|ERROR: AddressSanitizer: [\w-]+'
                     r'|ERROR: LeakSanitizer: .*|runtime error: .*'
                     r'|ERROR: libFuzzer: [\w-]+|\*\*\s*ERROR:.*'
                     r'|code should not be reached.*|deadly signal)')


def signature(output):
    """(message, [top frames]) of a crash report."""
    msg = None
    frames = []
    for line in output.splitlines():
        if msg is None:
            m = MESSAGE.search(line)
            if m:
                msg = m.group(1).strip()
                # addresses differ between runs: not part of the signature
                msg = re.sub(r' on (unknown )?address 0x[0-9a-f]+.*', '', msg)
                continue
        m = FRAME.match(line)
        if m and msg is not None:
            if m.group(1) == '0' and frames:
                break               # the next stack (allocation, free)
            func, where = m.group(2), m.group(3)
            if BORING.match(func) or '/sanitizer_common/' in where:
                continue
            # a source path relative to the QEMU tree
            where = re.sub(r'^.*/(\.\./|build/)qemu/', '', where)
            where = re.sub(r'^\(.*/([^/]+)\+0x[0-9a-f]+\)$', r'\1', where)
            frames.append('%s %s' % (func, where))
    return msg or 'no report (status only)', frames[:4]


def replay_fuzzer(p, config, path, extra_env=None, timeout=120):
    """Run one input through the fuzzer; return its output."""
    cmd = [p['fuzzer'], '--fuzz-target=generic-fuzz', '-runs=1',
           '-timeout=25', '-rss_limit_mb=4096', path]
    os.makedirs(p['out'], exist_ok=True)
    try:
        r = subprocess.run(cmd, env=fuzz_env(p, config, extra_env),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, cwd=p['out'])
        return r.returncode, r.stdout.decode(errors='replace')
    except subprocess.TimeoutExpired as e:
        return None, (e.stdout or b'').decode(errors='replace') + \
            '\nERROR: libFuzzer: timeout (replay killed)\n'


def cached_signature(p, config, path):
    cache = os.path.join(os.path.dirname(path), '.sig',
                         os.path.basename(path))
    if os.path.exists(cache):
        with open(cache) as f:
            lines = f.read().splitlines()
        return lines[0], lines[1:]
    rc, out = replay_fuzzer(p, config, path)
    if rc == 0:
        msg, frames = 'does not reproduce (fixed?)', []
    else:
        msg, frames = signature(out)
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    with open(cache, 'w') as f:
        f.write('\n'.join([msg] + frames) + '\n')
    return msg, frames


def summarise_crashes(p, configs, since=None, limit=200):
    """Print the crash files grouped by signature; return the group count."""
    groups = collections.OrderedDict()
    total = 0
    for config in configs:
        files = crash_files(p, config)
        total += len(files)
        new = [f for f in files if since is None or f not in since]
        for path in files[:limit]:
            msg, frames = cached_signature(p, config, path)
            # the same bug: the same report at the same two top frames
            sig = (config, msg, tuple(frames[:2]))
            g = groups.setdefault(sig, {'files': [], 'frames': frames,
                                        'new': 0})
            g['files'].append(path)
            g['new'] += path in new
        if len(files) > limit:
            print('(%s: %d crash files, only the first %d replayed)'
                  % (config, len(files), limit))
    fixed = [s for s in groups if s[1].startswith('does not reproduce')]
    bugs = [s for s in groups if s not in fixed]
    print('crash files: %d, distinct crashes: %d%s' % (
        total, len(bugs), ', %d files no longer crash' % sum(
            len(groups[s]['files']) for s in fixed) if fixed else ''))
    for n, sig in enumerate(bugs, 1):
        g = groups[sig]
        print('  [%d] %s: %s (%d files%s; e.g. %s)' % (
            n, sig[0], sig[1], len(g['files']),
            '' if since is None else ', %d new' % g['new'],
            os.path.relpath(g['files'][0], SRC)))
        for fr in g['frames']:
            print('        ' + fr)
    return len(bugs)


# ---------------------------------------------------------------------------
# run
# ---------------------------------------------------------------------------
class Tee:
    def __init__(self, path):
        self.f = open(path, 'w')

    def __call__(self, text=''):
        print(text)
        self.f.write(text + '\n')
        self.f.flush()


def cmd_run(a):
    p = paths(a.build)
    configs = a.configs.split(',')
    for c in configs:
        if c not in CONFIGS:
            sys.exit('fuzz: unknown configuration %s (%s)'
                     % (c, ', '.join(CONFIGS)))
    os.makedirs(os.path.join(p['out'], 'logs'), exist_ok=True)
    log = Tee(os.path.join(p['out'], 'last-run.log'))
    per_config = max(a.time // len(configs), 1)
    stamp = time.strftime('%Y%m%d-%H%M%S')
    log('fuzz: %s, %ds per configuration (%s), %d job(s), started %s' % (
        os.path.relpath(p['fuzzer'], SRC), per_config, ', '.join(configs),
        a.jobs, time.strftime('%F %T')))
    before = {c: set(crash_files(p, c)) for c in configs}
    execs_all = 0
    failed = False
    for c in configs:
        corpus = os.path.join(p['out'], 'corpus', c)
        crashes = os.path.join(p['out'], 'crashes', c)
        os.makedirs(corpus, exist_ok=True)
        os.makedirs(crashes, exist_ok=True)
        write_seeds(corpus, c)
        joblog = os.path.join(p['out'], 'logs', '%s-%s.log' % (stamp, c))
        seeds = len(os.listdir(corpus))
        cmd = [p['fuzzer'], '--fuzz-target=generic-fuzz',
               '-fork=%d' % a.jobs, '-ignore_crashes=1',
               '-ignore_timeouts=1', '-ignore_ooms=1',
               '-max_total_time=%d' % per_config,
               # An input runs in well under a second; a QEMU stuck in a
               # loop is a bug of its own, kept as timeout-*
               '-timeout=25', '-rss_limit_mb=4096',
               '-artifact_prefix=%s/' % crashes, corpus]
        log()
        log('== %s: %s' % (c, CONFIGS[c]))
        log('   corpus %s (%d inputs), crashes %s, log %s' % (
            os.path.relpath(corpus, SRC), seeds,
            os.path.relpath(crashes, SRC), os.path.relpath(joblog, SRC)))
        start = time.time()
        last = None
        with open(joblog, 'w') as jl:
            proc = subprocess.Popen(cmd, env=fuzz_env(p, c), cwd=p['out'],
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT)
            next_note = start + 60
            for raw in proc.stdout:
                line = raw.decode(errors='replace').rstrip('\n')
                jl.write(line + '\n')
                m = STATUS.match(line)
                if m:
                    last = m
                    if time.time() >= next_note:
                        print('   ' + line, flush=True)
                        next_note = time.time() + 300
            proc.wait()
        took = time.time() - start
        if last is None:
            log('   fuzzer printed no status (exit %d): see %s' % (
                proc.returncode, os.path.relpath(joblog, SRC)))
            with open(joblog) as jl:
                for line in jl.read().splitlines()[-15:]:
                    log('   | ' + line)
            failed = True
            continue
        execs, cov, ft, corp, eps, ooms, touts, crs, _ = \
            (int(x) for x in last.groups())
        execs_all += execs
        # libFuzzer does not count what crashes while it loads the corpus:
        # the crash files do
        new = len(set(crash_files(p, c)) - before[c])
        log('   %d executions in %ds (%d exec/s), cov %d, ft %d, corpus %d; '
            'crashes %d, timeouts %d, ooms %d; %d new crash files' % (
                execs, took, execs / max(took, 1), cov, ft, corp, crs, touts,
                ooms, new))
    log()
    new = sum(len(set(crash_files(p, c)) - before[c]) for c in configs)
    log('fuzz: %d executions in all, %d new crash files' % (
        execs_all, new))
    # the grouped crashes, into the log too
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        summarise_crashes(p, configs, since=set().union(*before.values()))
    for line in buf.getvalue().splitlines():
        log(line)
    log('fuzz: finished %s; minimise a crash with: make fuzz-minimize '
        'CRASH=FILE' % time.strftime('%F %T'))
    return 1 if failed else 0


def cmd_summary(a):
    summarise_crashes(paths(a.build), list(CONFIGS))
    return 0


# ---------------------------------------------------------------------------
# minimize
# ---------------------------------------------------------------------------
def crash_token(msg, frames):
    """A string of QEMU's crash output that identifies this crash: the
    assertion, or the file and line of the top frame in QEMU's source."""
    if msg.startswith('Assertion'):
        return msg
    for fr in frames:
        where = fr.split(' ', 1)[1].split('/')[-1]
        if re.search(r'\.[ch]:\d+', where):
            return where
    return msg


def run_trace(qemu, args, trace, timeout):
    """Feed a qtest trace to qemu-system; (crashed?, output)."""
    cmd = [qemu] + shlex.split(args) + ['-qtest', 'stdio', '-monitor',
                                        'none', '-serial', 'none']
    with open(trace) as f:
        proc = subprocess.Popen(cmd, stdin=f, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            # still running at EOF of the trace: it did not crash
            proc.kill()
            out, _ = proc.communicate()
            return False, out.decode(errors='replace')
    return True, out.decode(errors='replace')


def cmd_minimize(a):
    p = paths(a.build)
    crash = os.path.abspath(a.crash)
    config = a.config or config_of(p, crash)
    if config not in CONFIGS:
        sys.exit('fuzz: which configuration found %s? (--config %s)'
                 % (crash, '|'.join(CONFIGS)))
    oss = os.path.join(a.build, 'qemu', 'scripts', 'oss-fuzz')
    work = tempfile.mkdtemp(prefix='fuzz-min-')
    # 1. the fuzzer's own replay, logging every qtest command
    rc, out = replay_fuzzer(p, config, crash, {
        'QTEST_LOG': '1', 'FUZZ_SERIALIZE_QTEST': '1'})
    if rc == 0:
        sys.exit('fuzz: %s does not crash any more' % crash)
    msg, frames = signature(out)
    print('crash: %s' % msg)
    for fr in frames:
        print('    ' + fr)
    log = os.path.join(work, 'qtest-log')
    with open(log, 'w') as f:
        f.write(out)
    # 2. DMA fills before the command that reads them: a plain trace
    trace = os.path.join(work, 'trace')
    with open(trace, 'w') as f:
        subprocess.run([sys.executable, os.path.join(
            oss, 'reorder_fuzzer_qtest_trace.py'), log], stdout=f, check=True)
    # 3. it must crash qemu-system (the ASan build of the same tree)
    args = '-display none -machine accel=qtest -m 512M %s %s' % (
        firmware_args(p), CONFIGS[config])
    env = fuzz_env(p, config)
    os.environ.update({k: env[k] for k in ('ASAN_OPTIONS', 'UBSAN_OPTIONS')})
    crashed, out = run_trace(p['system'], args, trace, 30)
    if not crashed:
        sys.exit('fuzz: the qtest trace (%s) does not crash %s' % (
            trace, p['system']))
    token = a.token or crash_token(*signature(out))
    print('crash token: %s' % token)
    # 4. upstream's minimiser: drop commands, then clear operand bits
    small = os.path.join(work, 'trace-min')
    subprocess.run([sys.executable, os.path.join(
        oss, 'minimize_qtest_trace.py'), '-M1', '-M2', trace, small],
        env=dict(os.environ, QEMU_PATH=p['system'], QEMU_ARGS=args,
                 CRASH_TOKEN=token),
        stdout=subprocess.DEVNULL, check=True)
    with open(small) as f:
        cmds = [x.strip() for x in f if x.strip()]
    crashed, out = run_trace(p['system'], args, small, 30)
    msg, frames = signature(out)
    name = os.path.basename(crash)
    text = ['# SPDX-License-Identifier: GPL-2.0-or-later',
            '# Found by generic-fuzz (%s configuration): %s' % (config, name),
            '# %s' % msg] + ['#   %s' % fr for fr in frames] + [
            '# Replace these lines by what was wrong and what fixed it.',
            'args: -M q35 -m 512M %s' % CONFIGS[config].replace(
                '-M q35 ', '')] + cmds
    out_path = a.output or os.path.join(p['out'], 'minimized', name + '.qtest')
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, 'w') as f:
        f.write('\n'.join(text) + '\n')
    print('\n'.join(text))
    print('fuzz: %d commands, written to %s (%s)' % (
        len(cmds), out_path, 'still crashes' if crashed else
        'WARNING: the minimised trace no longer crashes'))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('run')
    r.add_argument('build')
    r.add_argument('--time', type=int, default=600,
                   help='seconds in all, shared by the configurations')
    r.add_argument('--jobs', type=int, default=1,
                   help='parallel fuzzing processes (libFuzzer -fork)')
    r.add_argument('--configs', default=','.join(CONFIGS))
    s = sub.add_parser('summary')
    s.add_argument('build')
    m = sub.add_parser('minimize')
    m.add_argument('build')
    m.add_argument('crash')
    m.add_argument('--config', choices=list(CONFIGS))
    m.add_argument('--token', help='string identifying the crash in '
                   "QEMU's output (default: its top frame)")
    m.add_argument('-o', '--output')
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    return {'run': cmd_run, 'summary': cmd_summary,
            'minimize': cmd_minimize}[a.cmd](a)


if __name__ == '__main__':
    sys.exit(main())
