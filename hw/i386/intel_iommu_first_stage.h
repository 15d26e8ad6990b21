/*
 * intel-iommu: first-stage page tables, for the translate path and for the
 * shadow that IOMMU notifiers (VFIO, ioasid-vfio) follow
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_I386_INTEL_IOMMU_FIRST_STAGE_H
#define HW_I386_INTEL_IOMMU_FIRST_STAGE_H

#include "exec/memory.h"

/*
 * The one rule for first-stage paging entries, used by the translate path
 * and by the walk below alike: whether @pte at @level (1: PTE ... 4: PML4E)
 * has a reserved bit set, with output addresses of @aw_bits bits and 1 GiB
 * leaves allowed only with @fs1gp (CAP.FS1GP).
 */
bool vtd_fs_pte_reserved(uint64_t pte, unsigned level, unsigned aw_bits,
                         bool fs1gp);

/* Whether @pte at @level maps a page (4 KiB, 2 MiB or 1 GiB) */
bool vtd_fs_pte_is_leaf(uint64_t pte, unsigned level);

/*
 * Whether @iova is canonical for first-stage paging of @levels levels:
 * bits 63:N equal bit N-1, N = 48 for 4-level and 57 for 5-level paging
 * (VT-d 3.x 3.6).
 */
bool vtd_fs_iova_canonical(uint64_t iova, unsigned levels);

typedef struct VTDFirstStageWalk VTDFirstStageWalk;

/*
 * A walk of a first-stage table over a range of IOVAs.  The caller fills
 * the inputs; vtd_fs_walk() reports every IOVA of the range exactly once,
 * as part of what one entry (or the non-canonical hole) covers.
 */
struct VTDFirstStageWalk {
    /* From the PASID entry and the vIOMMU's capabilities */
    uint64_t root;              /* FLPTPTR: the top-level table */
    unsigned levels;            /* 4 (FLPM 0); 5-level is not offered */
    unsigned aw_bits;           /* host address width */
    bool fs1gp;                 /* CAP.FS1GP: 1 GiB leaves */
    /*
     * Read entry @index of the table at @table, or (uint64_t)-1 if it
     * cannot be read (not guest RAM).
     */
    uint64_t (*read_pte)(uint64_t table, uint32_t index);
    /* Entry reads left for this walk; 0 stops it (see @aborted) */
    uint64_t *budget;
    /*
     * [@iova, @iova + @mask] is mapped to @gpa with @perm, or, with
     * IOMMU_NONE, nothing is mapped there.  A mapped range is one whole
     * leaf, naturally aligned; an unmapped one is a whole entry or the
     * non-canonical hole.  A nonzero return stops the walk.
     */
    int (*report)(VTDFirstStageWalk *w, uint64_t iova, uint64_t mask,
                  uint64_t gpa, IOMMUAccessFlags perm);
    void *opaque;

    /*
     * Out: the budget ran out, and the IOVAs from @abort_iova on were not
     * reported
     */
    bool aborted;
    uint64_t abort_iova;
};

/*
 * Walk [@first, @last] (inclusive: the IOVA space reaches 2^64 - 1).
 * Returns 0, the first nonzero value of @report, or -1 if the budget ran
 * out.
 */
int vtd_fs_walk(VTDFirstStageWalk *w, uint64_t first, uint64_t last);

#endif
