/*
 * intel-iommu: first-stage page tables, for the translate path and for the
 * shadow that IOMMU notifiers (VFIO, ioasid-vfio) follow
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A scalable-mode PASID entry with PGTT=001b translates through
 * first-stage tables (VT-d 3.x 3.6, 9.7): the IA-32e (x86-64) paging
 * format.  Every entry has P (bit 0), R/W (1), U/S (2), PWT, PCD, A (5),
 * D (6), PS (7: a 2 MiB leaf at level 2, a 1 GiB leaf at level 3 where
 * CAP.FS1GP allows it) and the address in bits 51:12; bits 63:52 are
 * ignored, as QEMU's translate path always did.  Input addresses are
 * canonical: bits 63:N equal bit N-1, N = 48 for 4-level paging.
 *
 * What a walk grants, for the requests emulated devices and ioasid-vfio
 * issue (requests-without-PASID, which are user requests, VT-d 3.x
 * 3.6.1): an entry is usable when it is readable guest RAM, present, has
 * U/S set and no reserved bit set; a leaf reached through usable entries
 * is mapped readable, and writable when R/W is set at every level.
 * Anything else faults, so nothing below it is mapped.
 *
 * Invariants of vtd_fs_walk():
 *  - every IOVA of the walked range is reported exactly once, in order:
 *    as part of one leaf (its whole naturally aligned range, mapped), of
 *    one unusable entry (its whole range, not mapped) or of the
 *    non-canonical hole (not mapped);
 *  - upper-half canonical IOVAs are reported at their sign-extended
 *    address, as the device issues them;
 *  - each entry read costs one unit of the caller's budget; when it runs
 *    out the walk stops and says where, so the caller can unmap what the
 *    walk did not reach (never keep it);
 *  - guest memory is only ever read.  Accessed and dirty flags are not
 *    written back: a shadow is built when the guest invalidates, not
 *    when the device accesses memory, so setting A (and D for writable
 *    leaves) there would claim accesses that never happened, and a write
 *    would race with the guest editing its tables.  Linux presets A and
 *    D in its first-stage entries and never reads them back
 *    (docs/devel/ioasid-relay.rst, "First-stage translation").
 */

#include "qemu/osdep.h"
#include "intel_iommu_first_stage.h"

#define FS_P            (1ULL << 0)
#define FS_RW           (1ULL << 1)
#define FS_US           (1ULL << 2)
#define FS_PS           (1ULL << 7)
/* Bits 63:52 are ignored (XD, bit 63, included) */
#define FS_IGNORED      0xfff0000000000000ULL
#define FS_ENTRIES      512

static unsigned fs_shift(unsigned level)
{
    return 12 + 9 * (level - 1);
}

/* The address bits of an entry: 51:12, of which those below the HAW */
static uint64_t fs_addr_bits(unsigned aw_bits)
{
    return ((1ULL << aw_bits) - 1) & ~0xfffULL;
}

bool vtd_fs_pte_is_leaf(uint64_t pte, unsigned level)
{
    return level == 1 || ((level == 2 || level == 3) && (pte & FS_PS));
}

bool vtd_fs_pte_reserved(uint64_t pte, unsigned level, unsigned aw_bits,
                         bool fs1gp)
{
    /* Address bits at and above the host address width, up to bit 51 */
    uint64_t rsvd = ~((1ULL << aw_bits) - 1) & ~FS_IGNORED;

    switch (level) {
    case 5:
    case 4:
        rsvd |= FS_PS;                  /* no 512 GiB pages */
        break;
    case 3:
        if (pte & FS_PS) {
            if (!fs1gp) {
                return true;            /* 1 GiB pages need CAP.FS1GP */
            }
            rsvd |= 0x3fffe000ULL;      /* 29:13 (12 is PAT) */
        }
        break;
    case 2:
        if (pte & FS_PS) {
            rsvd |= 0x1fe000ULL;        /* 20:13 (12 is PAT) */
        }
        break;
    case 1:
        break;                          /* bit 7 is PAT */
    default:
        return true;
    }
    return pte & rsvd;
}

/* 4- and 5-level paging are the only first-stage modes (FLPM 0 and 1) */
static bool fs_levels_ok(unsigned levels)
{
    return levels == 4 || levels == 5;
}

bool vtd_fs_iova_canonical(uint64_t iova, unsigned levels)
{
    unsigned n = 12 + 9 * levels;
    int64_t upper;

    if (!fs_levels_ok(levels)) {
        return false;
    }
    upper = (int64_t)iova >> (n - 1);

    /* bits 63:N-1 all clear or all set */
    return upper == 0 || upper == -1;
}

/*
 * Walk [@first, @last] of the table at @table of level @level; @write: the
 * levels above allow writes.
 */
static int fs_walk_table(VTDFirstStageWalk *w, uint64_t table, unsigned level,
                         uint64_t first, uint64_t last, bool write)
{
    unsigned shift = fs_shift(level);
    uint64_t span = (1ULL << shift) - 1;
    uint64_t iova = first;
    int ret;

    for (;;) {
        uint64_t base = iova & ~span;
        uint64_t end = base + span;     /* base is aligned: no wrap */
        uint64_t pte, addr;
        bool writable;

        if (!*w->budget) {
            w->aborted = true;
            w->abort_iova = iova;
            return -1;
        }
        (*w->budget)--;

        pte = w->read_pte(table, (iova >> shift) & (FS_ENTRIES - 1));
        if (pte == (uint64_t)-1 || !(pte & FS_P) || !(pte & FS_US) ||
            vtd_fs_pte_reserved(pte, level, w->aw_bits, w->fs1gp)) {
            /* Faults: nothing below is mapped */
            ret = w->report(w, base, span, 0, IOMMU_NONE);
        } else {
            writable = write && (pte & FS_RW);
            addr = pte & fs_addr_bits(w->aw_bits);
            if (vtd_fs_pte_is_leaf(pte, level)) {
                ret = w->report(w, base, span, addr & ~span,
                                writable ? IOMMU_RW : IOMMU_RO);
            } else {
                ret = fs_walk_table(w, addr, level - 1, iova, MIN(last, end),
                                    writable);
            }
        }
        if (ret) {
            return ret;
        }
        if (end >= last) {
            return 0;
        }
        iova = end + 1;
    }
}

int vtd_fs_walk(VTDFirstStageWalk *w, uint64_t first, uint64_t last)
{
    uint64_t half, upper;
    int ret = 0;

    w->aborted = false;
    if (first > last) {
        return 0;
    }
    if (!fs_levels_ok(w->levels)) {
        /* no such paging mode: nothing is mapped */
        return w->report(w, first, last - first, 0, IOMMU_NONE);
    }
    half = 1ULL << (12 + 9 * w->levels - 1);    /* lower half: [0, half) */
    upper = -half;                              /* upper: [upper, 2^64) */
    if (first < half) {
        ret = fs_walk_table(w, w->root, w->levels, first, MIN(last, half - 1),
                            true);
        if (ret) {
            return ret;
        }
    }
    if (last >= half && first < upper) {
        /* Non-canonical: every request there faults (VT-d 3.x 3.6) */
        ret = w->report(w, half, upper - 1 - half, 0, IOMMU_NONE);
        if (ret) {
            return ret;
        }
    }
    if (last >= upper) {
        ret = fs_walk_table(w, w->root, w->levels, MAX(first, upper), last,
                            true);
    }
    return ret;
}
