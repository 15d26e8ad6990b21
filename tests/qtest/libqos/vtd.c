/*
 * libqos driver for the Intel VT-d vIOMMU (intel-iommu)
 *
 * Register and table layouts: Intel VT-d specification 3.x, chapters 9
 * (translation structures), 6.5 (invalidation) and 10.4 (registers).
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "vtd.h"

/* Registers (10.4) */
/* IOTLB invalidations drain reads and writes */
#define IOTLB_DRAIN     (QVTD_DESC_IOTLB_DR | QVTD_DESC_IOTLB_DW)

static void wr64(QVTD *v, uint32_t reg, uint64_t val)
{
    qtest_writeq(v->qts, QVTD_BASE + reg, val);
}

static void wr32(QVTD *v, uint32_t reg, uint32_t val)
{
    qtest_writel(v->qts, QVTD_BASE + reg, val);
}

uint64_t qvtd_readq(QVTD *v, uint32_t reg)
{
    return qtest_readq(v->qts, QVTD_BASE + reg);
}

uint32_t qvtd_readl(QVTD *v, uint32_t reg)
{
    return qtest_readl(v->qts, QVTD_BASE + reg);
}

uint64_t qvtd_alloc_page(QVTD *v)
{
    uint64_t page = v->next_page;

    g_assert_cmphex(page + 4096, <=, v->end_page);
    v->next_page += 4096;
    qtest_memset(v->qts, page, 0, 4096);
    return page;
}

/* Issue a one-shot or state command and wait until GSTS shows @want. */
static void gcmd(QVTD *v, uint32_t set, uint32_t clear, uint32_t want_mask,
                 uint32_t want)
{
    uint32_t gsts = qvtd_readl(v, QVTD_REG_GSTS);
    uint32_t cmd = (gsts & QVTD_GSTS_KEEP & ~clear) | set;
    int i;

    wr32(v, QVTD_REG_GCMD, cmd);
    for (i = 0; i < 1000; i++) {
        if ((qvtd_readl(v, QVTD_REG_GSTS) & want_mask) == want) {
            return;
        }
    }
    g_assert_not_reached();
}

void qvtd_init(QVTD *v, QTestState *qts, uint64_t table_mem, uint64_t size,
               bool scalable)
{
    *v = (QVTD) {
        .qts = qts, .scalable = scalable, .next_page = table_mem,
        .end_page = table_mem + size, .levels = 4,
    };
    v->root = qvtd_alloc_page(v);
    wr64(v, QVTD_REG_RTADDR, v->root | (scalable ? QVTD_RTADDR_SMT : 0));
    gcmd(v, QVTD_GCMD_SRTP, 0, QVTD_GSTS_RTPS, QVTD_GSTS_RTPS);
}

void qvtd_set_root(QVTD *v, uint64_t rtaddr)
{
    wr64(v, QVTD_REG_RTADDR, rtaddr);
    gcmd(v, QVTD_GCMD_SRTP, 0, QVTD_GSTS_RTPS, QVTD_GSTS_RTPS);
}

void qvtd_set_translation(QVTD *v, bool on)
{
    uint32_t te = on ? QVTD_GCMD_TE : 0;

    gcmd(v, te, QVTD_GCMD_TE & ~te, QVTD_GCMD_TE, te);
}

void qvtd_enable_qi(QVTD *v)
{
    v->iq = qvtd_alloc_page(v);
    v->wait_status = qvtd_alloc_page(v);
    v->iq_tail = 0;
    /* 4 KiB queue (QS=0); scalable mode uses 256-bit descriptors */
    wr64(v, QVTD_REG_IQA, v->iq | (v->scalable ? QVTD_IQA_DW_256 : 0));
    wr64(v, QVTD_REG_IQT, 0);
    gcmd(v, QVTD_GCMD_QIE, 0, QVTD_GCMD_QIE, QVTD_GCMD_QIE);
    v->qi = true;
}

/* Append one descriptor and ring the tail; QEMU processes it at once. */
static void qi_put(QVTD *v, uint64_t lo, uint64_t hi)
{
    unsigned dsz = v->scalable ? 32 : 16;
    unsigned n = 4096 / dsz;
    uint64_t slot = v->iq + v->iq_tail * dsz;

    qtest_writeq(v->qts, slot, lo);
    qtest_writeq(v->qts, slot + 8, hi);
    if (dsz == 32) {
        qtest_writeq(v->qts, slot + 16, 0);
        qtest_writeq(v->qts, slot + 24, 0);
    }
    v->iq_tail = (v->iq_tail + 1) % n;
}

static void qi_ring(QVTD *v)
{
    wr64(v, QVTD_REG_IQT, (uint64_t)v->iq_tail * (v->scalable ? 32 : 16));
}

static void qi_submit(QVTD *v, uint64_t lo, uint64_t hi)
{
    qi_put(v, lo, hi);
    qi_ring(v);
}

/* Submit @lo/@hi, then a wait descriptor, and check both completed. */
static void qi_run(QVTD *v, uint64_t lo, uint64_t hi)
{
    uint32_t seq = ++v->wait_seq;

    qi_put(v, lo, hi);
    if (!v->qi_one_tail) {
        qi_ring(v);
    }
    qi_submit(v, QVTD_DESC_WAIT | QVTD_DESC_WAIT_SW | ((uint64_t)seq << 32),
              v->wait_status);
    g_assert_cmphex(qvtd_readl(v, QVTD_REG_FSTS) & QVTD_FSTS_IQE, ==, 0);
    g_assert_cmphex(qvtd_readq(v, QVTD_REG_IQH), ==,
                    qvtd_readq(v, QVTD_REG_IQT));
    g_assert_cmphex(qtest_readl(v->qts, v->wait_status), ==, seq);
}

void qvtd_disable_qi(QVTD *v)
{
    uint32_t seq = ++v->wait_seq;

    /*
     * Drain with a wait descriptor first: QEMU refuses to clear GCMD.QIE
     * unless the last descriptor it processed was a wait.
     */
    qi_submit(v, QVTD_DESC_WAIT | QVTD_DESC_WAIT_SW | ((uint64_t)seq << 32),
              v->wait_status);
    g_assert_cmphex(qtest_readl(v->qts, v->wait_status), ==, seq);
    gcmd(v, 0, QVTD_GCMD_QIE, QVTD_GCMD_QIE, 0);
    v->qi = false;
}

/* Write a register-based invalidation command and wait for @busy to clear */
static void reg_command(QVTD *v, uint32_t reg, uint64_t busy, uint64_t val)
{
    int i;

    wr64(v, reg, busy | val);
    for (i = 0; i < 1000 && (qvtd_readq(v, reg) & busy); i++) {
        continue;
    }
    g_assert_false(qvtd_readq(v, reg) & busy);
}

static void ccmd(QVTD *v, uint64_t val)
{
    reg_command(v, QVTD_REG_CCMD, QVTD_CCMD_ICC, val);
}

static void iotlb_reg(QVTD *v, uint64_t val)
{
    reg_command(v, QVTD_REG_IOTLB, QVTD_IOTLB_IVT, val);
}

void qvtd_inv_context_global(QVTD *v)
{
    if (v->qi) {
        qi_run(v, QVTD_DESC_CC | (1ULL << 4), 0);
    } else {
        ccmd(v, 1ULL << 61);
    }
}

void qvtd_inv_context_domain(QVTD *v, uint16_t did)
{
    if (v->qi) {
        qi_run(v, QVTD_DESC_CC | (2ULL << 4) | ((uint64_t)did << 16), 0);
    } else {
        ccmd(v, (2ULL << 61) | did);
    }
}

void qvtd_inv_context_device(QVTD *v, uint16_t did, uint16_t sid)
{
    if (v->qi) {
        qi_run(v, QVTD_DESC_CC | (3ULL << 4) | ((uint64_t)did << 16) |
               ((uint64_t)sid << 32), 0);
    } else {
        ccmd(v, (3ULL << 61) | did | ((uint64_t)sid << 16));
    }
}

void qvtd_inv_iotlb_global(QVTD *v)
{
    if (v->qi) {
        qi_run(v, QVTD_DESC_IOTLB | (1ULL << 4) | IOTLB_DRAIN, 0);
    } else {
        iotlb_reg(v, 1ULL << 60);
    }
}

void qvtd_inv_iotlb_domain(QVTD *v, uint16_t did)
{
    if (v->qi) {
        qi_run(v, QVTD_DESC_IOTLB | (2ULL << 4) | IOTLB_DRAIN |
               ((uint64_t)did << 16), 0);
    } else {
        iotlb_reg(v, (2ULL << 60) | ((uint64_t)did << 32));
    }
}

void qvtd_inv_iotlb_page(QVTD *v, uint16_t did, uint64_t addr, unsigned am)
{
    if (v->qi) {
        qi_run(v, QVTD_DESC_IOTLB | (3ULL << 4) | IOTLB_DRAIN |
               ((uint64_t)did << 16), addr | am);
    } else {
        wr64(v, QVTD_REG_IVA, addr | am);
        iotlb_reg(v, (3ULL << 60) | ((uint64_t)did << 32));
    }
}

void qvtd_inv_pasid_cache(QVTD *v, uint16_t did, bool global)
{
    g_assert_true(v->qi);
    qi_run(v, QVTD_DESC_PC | (global ? 3ULL << 4 : 0) | ((uint64_t)did << 16),
           0);
}

void qvtd_inv_pasid_cache_pasid(QVTD *v, uint16_t did, uint32_t pasid)
{
    g_assert_true(v->qi);
    qi_run(v, QVTD_DESC_PC | (1ULL << 4) | ((uint64_t)did << 16) |
           ((uint64_t)pasid << 32), 0);
}

void qvtd_inv_piotlb_pasid(QVTD *v, uint16_t did, uint32_t pasid)
{
    g_assert_true(v->qi);
    qi_run(v, QVTD_DESC_PIOTLB | (2ULL << 4) | ((uint64_t)did << 16) |
           ((uint64_t)pasid << 32), 0);
}

void qvtd_inv_piotlb_page(QVTD *v, uint16_t did, uint32_t pasid,
                          uint64_t addr, unsigned am)
{
    g_assert_true(v->qi);
    qi_run(v, QVTD_DESC_PIOTLB | (3ULL << 4) | ((uint64_t)did << 16) |
           ((uint64_t)pasid << 32), addr | am);
}

/* ---- second-level tables ---- */

uint64_t qvtd_sl_new(QVTD *v)
{
    return qvtd_alloc_page(v);
}

static int leaf_level(uint64_t pgsize)
{
    switch (pgsize) {
    case QVTD_PAGE_4K:
        return 1;
    case QVTD_PAGE_2M:
        return 2;
    case QVTD_PAGE_1G:
        return 3;
    }
    g_assert_not_reached();
}

static unsigned level_index(uint64_t iova, int level)
{
    return (iova >> (12 + 9 * (level - 1))) & 0x1ff;
}

/*
 * The entry for @iova at @leaf's level, creating tables on the way: a
 * second-level table of v->levels levels, or (@fs) a 4-level first-stage
 * one.
 */
static uint64_t table_entry_addr(QVTD *v, uint64_t top, uint64_t iova,
                                 int leaf, bool fs)
{
    uint64_t table = top;
    int level;

    for (level = fs ? 4 : v->levels; level > leaf; level--) {
        uint64_t slot = table + 8 * level_index(iova, level);
        uint64_t e = qtest_readq(v->qts, slot);

        if (!(e & (fs ? QVTD_FS_P : QVTD_SL_RW))) {
            e = qvtd_alloc_page(v) | (fs ? QVTD_FS_DIR : QVTD_SL_RW);
            qtest_writeq(v->qts, slot, e);
        }
        table = e & QVTD_PTE_ADDR_MASK;
    }
    return table + 8 * level_index(iova, leaf);
}

static uint64_t pte_addr(QVTD *v, uint64_t top, uint64_t iova, int leaf)
{
    return table_entry_addr(v, top, iova, leaf, false);
}

void qvtd_sl_map(QVTD *v, uint64_t top, uint64_t iova, uint64_t gpa,
                 uint64_t size, uint64_t pgsize, uint64_t flags)
{
    int leaf = leaf_level(pgsize);
    uint64_t off;

    for (off = 0; off < size; off += pgsize) {
        qtest_writeq(v->qts, pte_addr(v, top, iova + off, leaf),
                     (gpa + off) | flags | (leaf > 1 ? QVTD_SL_PS : 0));
    }
}

uint64_t qvtd_sl_pte_addr(QVTD *v, uint64_t top, uint64_t iova,
                          uint64_t pgsize)
{
    return pte_addr(v, top, iova, leaf_level(pgsize));
}

uint64_t qvtd_sl_entry_addr(QVTD *v, uint64_t top, uint64_t iova, int level)
{
    g_assert(level >= 1 && level <= v->levels);
    return pte_addr(v, top, iova, level);
}

void qvtd_sl_update(QVTD *v, uint64_t top, uint64_t iova, uint64_t pgsize,
                    uint64_t clear, uint64_t set)
{
    uint64_t a = qvtd_sl_pte_addr(v, top, iova, pgsize);

    qtest_writeq(v->qts, a, (qtest_readq(v->qts, a) & ~clear) | set);
}

/* ---- first-stage tables ---- */

uint64_t qvtd_fs_new(QVTD *v)
{
    return qvtd_alloc_page(v);
}

void qvtd_fs_map(QVTD *v, uint64_t top, uint64_t iova, uint64_t gpa,
                 uint64_t size, uint64_t pgsize, uint64_t flags)
{
    int leaf = leaf_level(pgsize);
    uint64_t off;

    for (off = 0; off < size; off += pgsize) {
        qtest_writeq(v->qts, table_entry_addr(v, top, iova + off, leaf, true),
                     (gpa + off) | flags | (leaf > 1 ? QVTD_FS_PS : 0));
    }
}

uint64_t qvtd_fs_entry_addr(QVTD *v, uint64_t top, uint64_t iova, int level)
{
    g_assert(level >= 1 && level <= 4);
    return table_entry_addr(v, top, iova, level, true);
}

void qvtd_fs_update(QVTD *v, uint64_t top, uint64_t iova, uint64_t pgsize,
                    uint64_t clear, uint64_t set)
{
    uint64_t a = table_entry_addr(v, top, iova, leaf_level(pgsize), true);

    qtest_writeq(v->qts, a, (qtest_readq(v->qts, a) & ~clear) | set);
}

/* ---- context entries ---- */

/* The context table of bus 0 for @devfn (scalable: its half), created. */
static uint64_t context_table(QVTD *v, uint8_t devfn)
{
    uint64_t slot = v->root + (v->scalable && devfn >= 128 ? 8 : 0);
    uint64_t e = qtest_readq(v->qts, slot);

    if (!(e & 1)) {
        e = qvtd_alloc_page(v) | 1;
        qtest_writeq(v->qts, slot, e);
    }
    return e & QVTD_PTE_ADDR_MASK;
}

void qvtd_context_legacy(QVTD *v, uint8_t devfn, uint16_t did, uint64_t top)
{
    uint64_t ce = context_table(v, devfn) + 16 * devfn;

    g_assert_false(v->scalable);
    /* hi: AW=2 (48-bit, 4-level), DID; lo: SLPTPTR, TT=0, P */
    qtest_writeq(v->qts, ce + 8, 2 | ((uint64_t)did << 8));
    qtest_writeq(v->qts, ce, top | 1);
}

uint64_t qvtd_context_scalable(QVTD *v, uint8_t devfn, uint16_t did,
                               uint64_t top, bool pgsnp)
{
    uint64_t ce = context_table(v, devfn) + 32 * (devfn & 0x7f);
    uint64_t dir = qvtd_alloc_page(v);
    uint64_t table = qvtd_alloc_page(v);
    uint64_t pe = table;        /* PASID 0 = RID_PASID */

    g_assert_true(v->scalable);
    /* PASID entry: SLPTPTR, PGTT=2 (second level), AW=2, P; DID, PGSNP */
    qtest_writeq(v->qts, pe + 8, did | (pgsnp ? 1ULL << 24 : 0));
    qtest_writeq(v->qts, pe, top | (2ULL << 6) | (2ULL << 2) | 1);
    /* PASID directory entry 0 -> the table */
    qtest_writeq(v->qts, dir, table | 1);
    /* context entry: PASIDDIRPTR, P (PDTS=0: 128 entries); RID_PASID=0 */
    qtest_writeq(v->qts, ce + 8, 0);
    qtest_writeq(v->qts, ce, dir | 1);
    return pe;
}

void qvtd_context_clear(QVTD *v, uint8_t devfn)
{
    uint64_t ce = context_table(v, devfn) +
                  (v->scalable ? 32 * (devfn & 0x7f) : 16 * devfn);

    qtest_writeq(v->qts, ce, qtest_readq(v->qts, ce) & ~1ULL);
}

uint64_t qvtd_context_scalable_fs(QVTD *v, uint8_t devfn, uint16_t did,
                                  uint64_t fs_top, bool pgsnp)
{
    uint64_t pe = qvtd_context_scalable(v, devfn, did, 0, pgsnp);

    qvtd_pasid_entry_set(v, pe, QVTD_PE_PGTT_FS, fs_top, did, pgsnp);
    return pe;
}

/* 00:@devfn's scalable-mode context entry */
static uint64_t context_entry_scalable(QVTD *v, uint8_t devfn)
{
    g_assert_true(v->scalable);
    return context_table(v, devfn) + 32 * (devfn & 0x7f);
}

void qvtd_context_set_pdts(QVTD *v, uint8_t devfn, unsigned pdts)
{
    uint64_t ce = context_entry_scalable(v, devfn);
    uint64_t lo = qtest_readq(v->qts, ce);
    unsigned old = (lo >> 9) & 7;
    uint64_t size = 8ULL << (pdts + 7), dir = 0, i;
    g_autofree uint8_t *copy = g_malloc(8ULL << (old + 7));

    g_assert_cmpuint(pdts, >=, old);
    /* the directory is contiguous: pages of the allocator, in a row */
    for (i = 0; i < MAX(size, 4096); i += 4096) {
        uint64_t page = qvtd_alloc_page(v);

        if (!i) {
            dir = page;
        }
        g_assert_cmphex(page, ==, dir + i);
    }
    qtest_memread(v->qts, lo & QVTD_PTE_ADDR_MASK, copy, 8ULL << (old + 7));
    qtest_memwrite(v->qts, dir, copy, 8ULL << (old + 7));
    lo = (lo & 0xfffULL & ~(7ULL << 9)) | dir | ((uint64_t)pdts << 9);
    qtest_writeq(v->qts, ce, lo);
}

uint64_t qvtd_pasid_entry_addr(QVTD *v, uint8_t devfn, uint32_t pasid)
{
    uint64_t lo = qtest_readq(v->qts, context_entry_scalable(v, devfn));
    uint64_t de_addr = (lo & QVTD_PTE_ADDR_MASK) + 8 * (pasid >> 6);
    uint64_t de = qtest_readq(v->qts, de_addr);

    /* PDTS: the directory has 2^(PDTS + 7) entries of 64 PASIDs */
    g_assert_cmpuint(pasid >> 6, <, 1u << (((lo >> 9) & 7) + 7));
    if (!(de & 1)) {
        de = qvtd_alloc_page(v) | 1;
        qtest_writeq(v->qts, de_addr, de);
    }
    return (de & QVTD_PTE_ADDR_MASK) + 64 * (pasid & 63);
}

void qvtd_pasid_entry_set(QVTD *v, uint64_t pe, uint64_t pgtt,
                          uint64_t table, uint16_t did, bool pgsnp)
{
    bool fs = pgtt == QVTD_PE_PGTT_FS;

    qtest_writeq(v->qts, pe, 0);
    /* quadword 2: FLPTPTR (FLPM=0: 4-level); quadword 1: DID, PGSNP */
    qtest_writeq(v->qts, pe + 16, fs ? table : 0);
    qtest_writeq(v->qts, pe + 8, did | (pgsnp ? QVTD_PE_PGSNP : 0));
    /* quadword 0: SLPTPTR, PGTT, AW=2, P (last) */
    qtest_writeq(v->qts, pe, (fs ? 0 : table) | pgtt | QVTD_PE_AW48 |
                 QVTD_PE_P);
}

void qvtd_pasid_set_pgsnp(QVTD *v, uint64_t pasid_entry, bool pgsnp)
{
    uint64_t hi = qtest_readq(v->qts, pasid_entry + 8);

    hi = pgsnp ? hi | (1ULL << 24) : hi & ~(1ULL << 24);
    qtest_writeq(v->qts, pasid_entry + 8, hi);
}

unsigned qvtd_take_fault(QVTD *v, uint64_t *addr, uint16_t *sid)
{
    return qvtd_take_fault_pasid(v, addr, sid, NULL);
}

unsigned qvtd_take_fault_pasid(QVTD *v, uint64_t *addr, uint16_t *sid,
                               int64_t *pasid)
{
    uint32_t fsts = qvtd_readl(v, QVTD_REG_FSTS);
    uint32_t fri = (fsts >> 8) & 0xff;
    uint64_t lo, hi;

    if (!(fsts & QVTD_FSTS_PPF)) {
        return 0;
    }
    lo = qvtd_readq(v, QVTD_REG_FRCD + 16 * fri);
    hi = qvtd_readq(v, QVTD_REG_FRCD + 16 * fri + 8);
    g_assert_true(hi & QVTD_FRCD_F);
    if (addr) {
        *addr = lo & ~0xfffULL;
    }
    if (sid) {
        *sid = hi & 0xffff;
    }
    if (pasid) {
        /* PP (bit 95), PV (bits 123:104) */
        *pasid = hi & (1ULL << 31) ? (int64_t)((hi >> 40) & 0xfffff) : -1;
    }
    /* write 1 to clear */
    wr64(v, QVTD_REG_FRCD + 16 * fri + 8, QVTD_FRCD_F);
    return (hi >> 32) & 0xff;
}
