/*
 * libqos driver for the Intel VT-d vIOMMU (intel-iommu)
 *
 * Programs the vIOMMU the way a guest kernel does: root and context tables
 * (legacy and scalable mode), the scalable-mode PASID directory and table,
 * second-level page tables with 4 KiB, 2 MiB and 1 GiB leaves, and
 * register-based or queued invalidation.  Tables live in guest RAM handed
 * out page by page from a region the test reserves.
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QTEST_LIBQOS_VTD_H
#define QTEST_LIBQOS_VTD_H

#include "../libqtest.h"
#include "vtd-regs.h"

typedef struct QVTD {
    QTestState *qts;
    bool scalable;
    bool qi;                    /* queued invalidation enabled */
    uint64_t next_page;         /* table allocator */
    uint64_t end_page;
    uint64_t root;
    uint64_t iq;                /* invalidation queue */
    uint32_t iq_tail;
    uint64_t wait_status;       /* where wait descriptors write */
    uint32_t wait_seq;
    /*
     * Queued invalidations: put each invalidation and its wait descriptor
     * in the queue together and ring the tail once, as Linux does (by
     * default each descriptor gets its own tail write)
     */
    bool qi_one_tail;
    int levels;                 /* second-level paging levels: 3 or 4 */
} QVTD;

/*
 * Take over the vIOMMU: tables go in [table_mem, table_mem + size) of guest
 * RAM; @scalable selects scalable mode (x-scalable-mode=on).  Sets the root
 * table (GCMD.SRTP); translation stays off.
 */
void qvtd_init(QVTD *v, QTestState *qts, uint64_t table_mem, uint64_t size,
               bool scalable);
/* A zeroed page of table memory */
uint64_t qvtd_alloc_page(QVTD *v);

uint64_t qvtd_readq(QVTD *v, uint32_t reg);
uint32_t qvtd_readl(QVTD *v, uint32_t reg);

/* Switch to queued invalidation (GCMD.QIE) */
void qvtd_enable_qi(QVTD *v);
/* Back to register-based invalidation (GCMD.QIE clear) */
void qvtd_disable_qi(QVTD *v);
/*
 * Latch a root table: RTADDR = @rtaddr (address, and bit 10 for scalable
 * mode), GCMD.SRTP, wait for GSTS.RTPS.  v->root is left alone.
 */
void qvtd_set_root(QVTD *v, uint64_t rtaddr);
/* GCMD.TE on or off, waiting for GSTS */
void qvtd_set_translation(QVTD *v, bool on);

/* A new, empty second-level page table (its top level) */
uint64_t qvtd_sl_new(QVTD *v);
/*
 * Map @size bytes at @iova to @gpa with leaves of @pgsize (4K, 2M or 1G)
 * and leaf bits @flags (QVTD_SL_R/W/SNP).  Non-leaf entries get R|W only.
 */
void qvtd_sl_map(QVTD *v, uint64_t top, uint64_t iova, uint64_t gpa,
                 uint64_t size, uint64_t pgsize, uint64_t flags);
/* Guest address of the leaf PTE mapping @iova (of leaf size @pgsize) */
uint64_t qvtd_sl_pte_addr(QVTD *v, uint64_t top, uint64_t iova,
                          uint64_t pgsize);
/*
 * Guest address of the entry at @level (1: 4K leaves ... 4: the top) on
 * the way to @iova, creating the tables above it
 */
uint64_t qvtd_sl_entry_addr(QVTD *v, uint64_t top, uint64_t iova, int level);
/* Read-modify-write the leaf PTE for @iova: clear @clear, then set @set */
void qvtd_sl_update(QVTD *v, uint64_t top, uint64_t iova, uint64_t pgsize,
                    uint64_t clear, uint64_t set);

/*
 * First-stage tables (x-flts=on): the same as second-level ones, in the
 * IA-32e format, always 4 levels.  Directories get QVTD_FS_DIR; leaves
 * get @flags (QVTD_FS_*, e.g. QVTD_FS_RW_LEAF).
 */
uint64_t qvtd_fs_new(QVTD *v);
void qvtd_fs_map(QVTD *v, uint64_t top, uint64_t iova, uint64_t gpa,
                 uint64_t size, uint64_t pgsize, uint64_t flags);
uint64_t qvtd_fs_entry_addr(QVTD *v, uint64_t top, uint64_t iova, int level);
void qvtd_fs_update(QVTD *v, uint64_t top, uint64_t iova, uint64_t pgsize,
                    uint64_t clear, uint64_t set);

/* Legacy mode: context entry of 00:@devfn -> domain @did, table @top */
void qvtd_context_legacy(QVTD *v, uint8_t devfn, uint16_t did, uint64_t top);
/*
 * Scalable mode: context entry of 00:@devfn with a PASID directory whose
 * RID_PASID (0) entry translates through second-level table @top in domain
 * @did; @pgsnp sets PGSNP.  Returns the guest address of the PASID entry.
 */
uint64_t qvtd_context_scalable(QVTD *v, uint8_t devfn, uint16_t did,
                               uint64_t top, bool pgsnp);
/*
 * The same, with the RID_PASID entry translating through first-stage
 * table @fs_top (PGTT=1, 4-level).  Returns the PASID entry's address.
 */
uint64_t qvtd_context_scalable_fs(QVTD *v, uint8_t devfn, uint16_t did,
                                  uint64_t fs_top, bool pgsnp);
/*
 * Rewrite PASID entry @pe as a guest kernel switches a domain: P=0 first,
 * then the new entry (@pgtt QVTD_PE_PGTT_*, @table the first- or
 * second-stage table), DID @did, PGSNP; no invalidation.
 */
void qvtd_pasid_entry_set(QVTD *v, uint64_t pe, uint64_t pgtt,
                          uint64_t table, uint16_t did, bool pgsnp);
/*
 * Scalable mode: the guest address of 00:@devfn's PASID entry for @pasid,
 * creating its PASID table (the context entry is qvtd_context_scalable()'s;
 * its directory takes PASIDs below 2^(PDTS + 13), 8192 at first)
 */
uint64_t qvtd_pasid_entry_addr(QVTD *v, uint8_t devfn, uint32_t pasid);
/* Grow 00:@devfn's PASID directory to 2^(@pdts + 7) entries (7: 2^20 PASIDs) */
void qvtd_context_set_pdts(QVTD *v, uint8_t devfn, unsigned pdts);
/* Clear the present bit of 00:@devfn's context entry (either mode) */
void qvtd_context_clear(QVTD *v, uint8_t devfn);
/* Set or clear PGSNP (bit 88) of a PASID entry */
void qvtd_pasid_set_pgsnp(QVTD *v, uint64_t pasid_entry, bool pgsnp);

/*
 * Invalidations: register-based until qvtd_enable_qi(), queued after (each
 * followed by a wait descriptor whose completion is checked).
 */
void qvtd_inv_context_global(QVTD *v);
void qvtd_inv_context_domain(QVTD *v, uint16_t did);
void qvtd_inv_context_device(QVTD *v, uint16_t did, uint16_t sid);
void qvtd_inv_iotlb_global(QVTD *v);
void qvtd_inv_iotlb_domain(QVTD *v, uint16_t did);
/* Page-selective: 2^@am pages at @addr */
void qvtd_inv_iotlb_page(QVTD *v, uint16_t did, uint64_t addr, unsigned am);
/* Queued only: PASID cache (global or of @did) and PASID-based IOTLB */
void qvtd_inv_pasid_cache(QVTD *v, uint16_t did, bool global);
/* PASID-selective PASID-cache invalidation, as Linux issues it */
void qvtd_inv_pasid_cache_pasid(QVTD *v, uint16_t did, uint32_t pasid);
void qvtd_inv_piotlb_pasid(QVTD *v, uint16_t did, uint32_t pasid);
void qvtd_inv_piotlb_page(QVTD *v, uint16_t did, uint32_t pasid,
                          uint64_t addr, unsigned am);

/* First pending fault record: reason, or 0 if none; then clear it */
unsigned qvtd_take_fault(QVTD *v, uint64_t *addr, uint16_t *sid);
/* The same; *@pasid: the request's PASID, or -1 for none */
unsigned qvtd_take_fault_pasid(QVTD *v, uint64_t *addr, uint16_t *sid,
                               int64_t *pasid);

#endif
