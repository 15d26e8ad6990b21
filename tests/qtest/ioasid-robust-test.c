/*
 * QTest: the relay under a hostile guest
 *
 * Every case is a guest behaviour that once aborted QEMU, left a host
 * mapping the guest's VT-d tables no longer grant, or grew QEMU's memory
 * without bound (issue 7 of qemu-ioasid), programmed through the libqos
 * VT-d driver as a guest kernel would, and checked against the contract:
 * QEMU lives, the host table holds what the tables grant and nothing
 * more, device DMA lands there or faults, and memory stays bounded.
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "libqos/ioasid-env.h"
#include "qemu/bswap.h"
#include "qobject/qlist.h"

#define IOVA            QIE_IOVA
#define GPA             QIE_GPA
#define PG              QIE_PG
#define DID             QIE_DID
#define SZ_2M           QVTD_PAGE_2M
#define SZ_1G           QVTD_PAGE_1G
#define IR_START        0xfee00000ULL   /* the vIOMMU's interrupt window */
#define IR_END          0xfef00000ULL
#define RW              QVTD_SL_RW

static uint32_t fill(QIoasidEnv *e, uint64_t iova, uint32_t len)
{
    return qiov_dma(e->d, IOASID_VFIO_OP_FILL, 0, iova, len, false);
}

static void assert_fill_faults(QIoasidEnv *e, uint64_t iova)
{
    g_assert_cmpuint(qiov_status_code(fill(e, iova, 64)), ==,
                     IOASID_VFIO_ERR_NO_MAPPING);
    g_assert_cmphex(qiov_rd64(e->d, IOASID_VFIO_REG_FAULT_ADDR), ==, iova);
}

/* A FILL at @iova lands at guest-physical @gpa */
static void assert_fill_lands(QIoasidEnv *e, uint64_t iova, uint64_t gpa)
{
    qtest_writel(e->d->qts, gpa, 0);
    qiov_wr32(e->d, IOASID_VFIO_REG_PATTERN, 0xc0ffee11);
    g_assert_cmphex(fill(e, iova, 4), ==, IOASID_VFIO_STATUS_DONE);
    g_assert_cmphex(qtest_readl(e->d->qts, gpa), ==, 0xc0ffee11);
}

/* The host never refused a call of the relay (the quota aside) */
static void assert_no_bad_host_call(QIoasidEnv *e)
{
    QDict *s = qie_space(e);

    g_assert_cmpuint(qdict_get_u64(s, "failed-calls"), ==,
                     qdict_get_u64(s, "quota-refused"));
    qobject_unref(s);
}

static uint64_t mapping_count(QIoasidEnv *e)
{
    return qie_space_u64(e, "mapping-count");
}

static void drain_faults(QIoasidEnv *e)
{
    while (qvtd_take_fault(&e->v, NULL, NULL)) {
        continue;
    }
}

/* ---- guest input that aborted QEMU ---- */

/*
 * A 2 MiB leaf over the interrupt window, then translation on: the replay
 * straddled the two notifiers of the device and hit an assertion.
 */
static void test_abort_ir_window_2m(void)
{
    QIoasidEnv e;

    qie_start(&e, NULL, ",snoop-control=on", NULL, NULL, false, false);
    qvtd_sl_map(&e.v, e.top, IR_START, 0x04000000, SZ_2M, QVTD_PAGE_2M, RW);
    qvtd_set_translation(&e.v, true);
    /* the part outside the window is mapped, with its own translation */
    qie_assert_mapping(&e, IR_END, IR_START + SZ_2M - IR_END,
                       0x04000000 + (IR_END - IR_START), false);
    qie_assert_unmapped(&e, IR_START);
    g_assert_cmpuint(mapping_count(&e), ==, 1);
    assert_fill_lands(&e, IR_END + PG, 0x04000000 + (IR_END - IR_START) + PG);

    /* and its UNMAP straddles the same way */
    qvtd_sl_update(&e.v, e.top, IR_START, QVTD_PAGE_2M, ~0ULL, 0);
    qvtd_inv_iotlb_page(&e.v, DID, IR_START, 9);
    g_assert_cmpuint(mapping_count(&e), ==, 0);
    assert_no_bad_host_call(&e);
    qie_stop(&e);
}

/*
 * A 1 GiB leaf across the window; then the top-level entry cleared and a
 * global invalidation, whose walk sends one UNMAP over 512 GiB.
 */
static void test_abort_ir_window_1g(void)
{
    QIoasidEnv e;
    uint64_t gpa = 0x40000000;

    qie_start(&e, "2G", ",snoop-control=on", NULL, NULL, false, true);
    qvtd_sl_map(&e.v, e.top, 0xc0000000, gpa, SZ_1G, QVTD_PAGE_1G, RW);
    qvtd_set_translation(&e.v, true);
    qie_assert_mapping(&e, 0xc0000000, IR_START - 0xc0000000, gpa, false);
    qie_assert_mapping(&e, IR_END, 0x100000000ULL - IR_END,
                       gpa + (IR_END - 0xc0000000), false);
    assert_fill_lands(&e, 0xfff00000, gpa + 0x3ff00000);

    qtest_writeq(e.d->qts, e.top, 0);
    qvtd_inv_iotlb_global(&e.v);
    g_assert_cmpuint(mapping_count(&e), ==, 0);
    assert_fill_faults(&e, 0xfff00000);
    drain_faults(&e);
    assert_no_bad_host_call(&e);
    qie_stop(&e);
}

/* Scalable mode: the RID_PASID entry switched to pass-through and back */
static void test_abort_scalable_pt_switch(void)
{
    QIoasidEnv e;
    uint64_t lo;
    QDict *s, *m;

    qie_start(&e, NULL, ",snoop-control=on", NULL, NULL, true, true);
    qie_map_live(&e, 2, RW);
    lo = qtest_readq(e.d->qts, e.pe);

    /* PGTT=4 (pass-through), made effective by a PASID-cache invalidation */
    qtest_writeq(e.d->qts, e.pe, (lo & ~(7ULL << 6)) | (4ULL << 6));
    qvtd_inv_pasid_cache(&e.v, DID, true);
    qie_assert_unmapped(&e, IOVA);
    s = qie_space(&e);
    m = qiov_find_mapping(s, GPA);
    g_assert(m);            /* guest RAM 1:1 */
    g_assert_cmphex(qdict_get_u64(m, "addr"), ==, qdict_get_u64(m, "iova"));
    qobject_unref(s);
    assert_fill_lands(&e, GPA + PG, GPA + PG);

    /* and back to second-level translation */
    qtest_writeq(e.d->qts, e.pe, lo);
    qvtd_inv_pasid_cache(&e.v, DID, false);
    qie_assert_mapping(&e, IOVA, 2 * PG, GPA, false);
    qie_assert_unmapped(&e, GPA);
    assert_no_bad_host_call(&e);
    qie_stop(&e);
}

/*
 * Found by the random test once it drew PASID entries: the translate path
 * reads the RID_PASID entry again for its paging levels and table, without
 * the checks its cached context entry passed.  An address width of 4 or
 * more (6 levels) aborted QEMU on the next translation ("level <
 * VTD_SPTE_RSVD_LEN"), a first-stage paging mode of 2 or 3 shifted by
 * more than 63, and an entry gone since made it read uninitialised
 * memory.  Such an entry now faults, with or without the PASID-cache
 * invalidation, and the shadow holds nothing from it.
 */
static void check_abort_pasid_entry_changed(bool fs, uint64_t bits,
                                            bool invalidate)
{
    QIoasidEnv e;
    uint64_t q0, q2, ce;
    uint16_t sid;

    if (fs) {
        qie_start_fs(&e, NULL, ",snoop-control=on", NULL);
        qvtd_fs_map(&e.v, e.top, IOVA, GPA, 2 * PG, QVTD_PAGE_4K,
                    QVTD_FS_RW_LEAF);
        qvtd_set_translation(&e.v, true);
    } else {
        qie_start(&e, NULL, ",snoop-control=on", NULL, NULL, true, true);
        qie_map_live(&e, 2, RW);
    }
    q0 = qtest_readq(e.d->qts, e.pe);
    q2 = qtest_readq(e.d->qts, e.pe + 16);
    /*
     * Fault processing disabled in the context entry (as a guest may): the
     * translate path then trusted the cached context without looking at
     * the PASID entry again
     */
    ce = (qtest_readq(e.d->qts, e.v.root) & ~0xfffULL) +
         32 * (QIE_SID & 0x7f);
    qtest_writeq(e.d->qts, ce, qtest_readq(e.d->qts, ce) | 2);
    qvtd_inv_context_global(&e.v);
    /* a host miss makes the vIOMMU translate: it faults, QEMU lives */
    assert_fill_faults(&e, IOVA + 4 * PG);
    drain_faults(&e);
    /* the paging mode field: FLPM (quadword 2) or AW (quadword 0) */
    if (fs) {
        qtest_writeq(e.d->qts, e.pe + 16, (q2 & ~0xcULL) | bits);
    } else {
        qtest_writeq(e.d->qts, e.pe, (q0 & ~0x1cULL) | bits);
    }
    if (invalidate) {
        qvtd_inv_pasid_cache(&e.v, DID, false);
        g_assert_cmpuint(mapping_count(&e), ==, 0);
    }
    assert_fill_faults(&e, IOVA + 4 * PG);
    drain_faults(&e);
    if (!invalidate) {
        /* until the guest invalidates, its old mappings may be used */
        assert_fill_lands(&e, IOVA, GPA);
    }
    g_assert_cmpuint(qvtd_take_fault(&e.v, NULL, &sid), ==, 0);
    qtest_qmp_assert_success(e.d->qts, "{ 'execute': 'query-status' }");
    /* the entry back: all is well again */
    qtest_writeq(e.d->qts, e.pe, q0);
    qtest_writeq(e.d->qts, e.pe + 16, q2);
    qvtd_inv_pasid_cache(&e.v, DID, false);
    qvtd_inv_piotlb_pasid(&e.v, DID, 0);
    assert_fill_lands(&e, IOVA + PG, GPA + PG);
    assert_no_bad_host_call(&e);
    qie_stop(&e);
}

static void test_abort_pasid_entry_changed(void)
{
    int inv;

    for (inv = 0; inv < 2; inv++) {
        /* second-level: AW 4 to 7, 6 to 9 levels */
        check_abort_pasid_entry_changed(false, 4ULL << 2, inv);
        check_abort_pasid_entry_changed(false, 7ULL << 2, inv);
        /* first-stage: FLPM 2 and 3 */
        check_abort_pasid_entry_changed(true, 2ULL << 2, inv);
        check_abort_pasid_entry_changed(true, 3ULL << 2, inv);
    }
}

/*
 * 8-byte writes to the 32-bit registers at 8-aligned offsets (FECTL,
 * IECTL, IEADDR): an assertion aborted QEMU, with or without a device.
 * They act as the two dword writes they cover.
 */
static void check_register_quadword(const char *args)
{
    QTestState *qts = qtest_init(args);

    qtest_writeq(qts, QVTD_BASE + 0x38, 0x0000abcd80000000ULL);
    g_assert_cmphex(qtest_readl(qts, QVTD_BASE + 0x38) & (1u << 31), !=, 0);
    g_assert_cmphex(qtest_readl(qts, QVTD_BASE + 0x3c), ==, 0xabcd);
    qtest_writeq(qts, QVTD_BASE + 0xa0, 0x1);
    qtest_writeq(qts, QVTD_BASE + 0xa8, 0x00000000fee00000ULL);
    g_assert_cmphex(qtest_readl(qts, QVTD_BASE + 0xa8), ==, 0xfee00000);
    /* QEMU is alive and answers */
    qtest_qmp_assert_success(qts, "{ 'execute': 'query-status' }");
    qtest_quit(qts);
}

static void test_abort_register_quadword(void)
{
    check_register_quadword("-M q35 -nodefaults -device intel-iommu");
    check_register_quadword("-M q35 -nodefaults -device intel-iommu,"
                            "caching-mode=on,snoop-control=on "
                            "-device ioasid-vfio");
}

/* ---- host mappings the guest no longer grants ---- */

/*
 * A 2 MiB leaf replaced by a table of 4 KiB leaves: the UNMAP went over
 * the new entry's range, and the rest of the old mapping stayed.
 */
static void test_stale_large_leaf_to_table(void)
{
    QIoasidEnv e;
    uint64_t t1, pde;

    qie_start(&e, NULL, ",snoop-control=on", NULL, NULL, false, false);
    qvtd_sl_map(&e.v, e.top, IOVA, GPA, SZ_2M, QVTD_PAGE_2M, RW);
    qvtd_set_translation(&e.v, true);
    qie_assert_mapping(&e, IOVA, SZ_2M, GPA, false);

    t1 = qvtd_alloc_page(&e.v);
    qtest_writeq(e.d->qts, t1, 0x06000000 | RW);
    pde = qvtd_sl_entry_addr(&e.v, e.top, IOVA, 2);
    qtest_writeq(e.d->qts, pde, t1 | RW);
    qvtd_inv_iotlb_page(&e.v, DID, IOVA, 0);

    qie_assert_mapping(&e, IOVA, PG, 0x06000000, false);
    g_assert_cmpuint(mapping_count(&e), ==, 1);
    assert_fill_faults(&e, IOVA + 2 * PG);
    drain_faults(&e);
    assert_fill_lands(&e, IOVA, 0x06000000);
    assert_no_bad_host_call(&e);
    qie_stop(&e);
}

/*
 * The same, with a table that maps the same 2 MiB and an invalidation of
 * one 4 KiB page only: what the guest still maps around it stays mapped.
 */
static void test_stale_large_leaf_to_equal_table(void)
{
    QIoasidEnv e;
    uint64_t t1, pde, k;

    qie_start(&e, NULL, ",snoop-control=on", NULL, NULL, false, true);
    qvtd_sl_map(&e.v, e.top, IOVA, GPA, SZ_2M, QVTD_PAGE_2M, RW);
    qvtd_set_translation(&e.v, true);

    t1 = qvtd_alloc_page(&e.v);
    for (k = 0; k < 512; k++) {
        qtest_writeq(e.d->qts, t1 + 8 * k, (GPA + k * PG) | RW);
    }
    pde = qvtd_sl_entry_addr(&e.v, e.top, IOVA, 2);
    qtest_writeq(e.d->qts, pde, t1 | RW);
    qvtd_inv_iotlb_page(&e.v, DID, IOVA + PG, 0);

    qie_assert_mapping(&e, IOVA, SZ_2M, GPA, false);
    assert_fill_lands(&e, IOVA + SZ_2M - PG, GPA + SZ_2M - PG);
    assert_no_bad_host_call(&e);
    qie_stop(&e);
}

/*
 * Scalable mode: the RID_PASID entry torn down (P=0) and the PASID cache
 * invalidated for its domain, as Linux does: the mapping stayed and a
 * FILL to it completed.
 */
static void test_stale_pasid_teardown(void)
{
    QIoasidEnv e;

    qie_start(&e, NULL, ",snoop-control=on", NULL, NULL, true, true);
    qie_map_live(&e, 1, RW);
    qtest_writeq(e.d->qts, e.pe, 0);
    qtest_writeq(e.d->qts, e.pe + 8, 0);
    qvtd_inv_pasid_cache(&e.v, DID, false);
    qie_assert_unmapped(&e, IOVA);
    g_assert_cmpuint(mapping_count(&e), ==, 0);
    /* nor do the invalidations Linux issues next bring it back */
    qvtd_inv_piotlb_page(&e.v, DID, 0, IOVA, 0);
    qvtd_inv_iotlb_global(&e.v);
    qie_assert_unmapped(&e, IOVA);
    assert_fill_faults(&e, IOVA);
    drain_faults(&e);
    assert_no_bad_host_call(&e);
    qie_stop(&e);
}

/*
 * A directory entry rewritten to point outside guest RAM, or with a
 * reserved bit set: the walk skipped it and kept what was below.
 */
static void check_stale_directory(uint64_t bad_entry, int level)
{
    QIoasidEnv e;
    uint64_t entry;

    qie_start(&e, NULL, ",snoop-control=on", NULL, NULL, false, false);
    qie_map_live(&e, 4, RW);
    entry = qvtd_sl_entry_addr(&e.v, e.top, IOVA, level);
    qtest_writeq(e.d->qts, entry,
                 bad_entry ?: qtest_readq(e.d->qts, entry) | QVTD_SL_SNP);
    qvtd_inv_iotlb_page(&e.v, DID, IOVA, 2);
    qie_assert_unmapped(&e, IOVA);
    g_assert_cmpuint(mapping_count(&e), ==, 0);
    assert_fill_faults(&e, IOVA + PG);
    /* the vIOMMU reports it to the guest too */
    g_assert_cmpuint(qvtd_take_fault(&e.v, NULL, NULL), !=, 0);
    drain_faults(&e);
    assert_no_bad_host_call(&e);
    qie_stop(&e);
}

static void test_stale_directory_outside_ram(void)
{
    check_stale_directory(0x7ff000000000ULL | RW, 2);
}

static void test_stale_directory_reserved(void)
{
    /* SNP is reserved in a non-leaf entry (VT-d 3.x 9.8) */
    check_stale_directory(0, 3);
}

/* ---- bounded memory ---- */

static uint64_t qemu_rss_kib(QTestState *qts)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status",
                                            qtest_pid(qts));
    g_autofree char *text = NULL;
    const char *p;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    p = strstr(text, "VmRSS:");
    g_assert_nonnull(p);
    return g_ascii_strtoull(p + 6, NULL, 10);
}

/* A page of 512 entries: @base + i * @step, with @bits (and SNP on odd i) */
static void write_table(QTestState *qts, uint64_t table, uint64_t base,
                        uint64_t step, uint64_t bits, bool alternate_snp)
{
    uint64_t e[512];
    int i;

    for (i = 0; i < 512; i++) {
        e[i] = cpu_to_le64((base + i * step) | bits |
                           (alternate_snp && (i & 1) ? QVTD_SL_SNP : 0));
    }
    qtest_memwrite(qts, table, e, sizeof(e));
}

/*
 * Second-level tables aliased into themselves: eight top-level entries
 * share one L3 table whose entries all share one L2 table whose entries
 * all share one L1 table: 2^30 leaves.  The walks that follow them grew
 * QEMU by 175 MiB a second, without end.  Now the vIOMMU shadows at most
 * its shadow limit, walks at most its budget per invalidation, and QEMU's
 * memory stays bounded.
 */
static void check_aliased_tables(bool alternate_snp, const char *viommu,
                                 uint64_t want_count)
{
    QIoasidEnv e;
    QTestState *qts;
    uint64_t t3, t2, t1, rss0, rss1, count;
    int i;

    qie_start(&e, NULL, viommu, NULL, NULL, false, true);
    qts = e.d->qts;
    t3 = qvtd_alloc_page(&e.v);
    t2 = qvtd_alloc_page(&e.v);
    t1 = qvtd_alloc_page(&e.v);
    write_table(qts, e.top, t3, 0, RW, false);
    qtest_memset(qts, e.top + 8 * 8, 0, 4096 - 8 * 8);
    write_table(qts, t3, t2, 0, RW, false);
    write_table(qts, t2, t1, 0, RW, false);
    write_table(qts, t1, 0x04000000, PG, RW, alternate_snp);
    rss0 = qemu_rss_kib(qts);

    qvtd_set_translation(&e.v, true);
    for (i = 0; i < 3; i++) {
        qvtd_inv_iotlb_global(&e.v);
        qvtd_inv_iotlb_domain(&e.v, DID);
    }
    rss1 = qemu_rss_kib(qts);
    g_test_message("RSS %" PRIu64 " KiB -> %" PRIu64 " KiB, %" PRIu64
                   " host mappings", rss0, rss1, mapping_count(&e));
    /* about 70 bytes per shadowed leaf, 190 per host mapping (make bench) */
    g_assert_cmpuint(rss1 - rss0, <, 256 * 1024);
    count = mapping_count(&e);
    g_assert_cmpuint(count, >, 0);
    g_assert_cmpuint(count, <=, 65535);
    if (want_count) {
        g_assert_cmpuint(count, ==, want_count);
    }
    /* the first leaves are in, and DMA works there */
    assert_fill_lands(&e, 0, 0x04000000);
    /* what the limits kept out faults, as DMA to unmapped memory does */
    assert_fill_faults(&e, 7ULL << 39);
    drain_faults(&e);

    /* the guest takes it all down: nothing stays */
    qtest_memset(qts, e.top, 0, 4096);
    qvtd_inv_iotlb_global(&e.v);
    g_assert_cmpuint(mapping_count(&e), ==, 0);
    assert_no_bad_host_call(&e);
    qie_stop(&e);
}

static void test_bound_aliased_tables(void)
{
    check_aliased_tables(false, ",snoop-control=on", 0);
    /*
     * The vIOMMU's own bound: 4096 shadowed leaves, each L1 table's 512
     * contiguous leaves one host mapping: exactly 8 of them.
     */
    check_aliased_tables(false, ",snoop-control=on,shadow-max-leaves=4096",
                         8);
}

/*
 * The same with alternating SNP, so that no two leaves coalesce: the host
 * fills up to max-mappings (65535 by default, like VFIO's
 * dma_entry_limit), refuses the next with ENOSPC, and the vIOMMU stops
 * adding; what could not be mapped faults, without a vIOMMU fault record
 * (the guest's own tables grant it, as on bare metal).
 */
static void test_bound_host_quota(void)
{
    QIoasidEnv e;
    QDict *ctx, *s;
    QList *l;

    check_aliased_tables(true, ",snoop-control=on", 65535);

    /* a small limit, to check what happens around it exactly */
    qie_start(&e, NULL, ",snoop-control=on",
              "-object ioasid,id=ioasid-default,max-mappings=8", NULL, false,
              false);
    qvtd_sl_map(&e.v, e.top, IOVA, GPA, 16 * PG, QVTD_PAGE_4K, RW);
    for (int i = 1; i < 16; i += 2) {
        qvtd_sl_update(&e.v, e.top, IOVA + i * PG, QVTD_PAGE_4K, 0,
                       QVTD_SL_SNP);
    }
    qvtd_set_translation(&e.v, true);
    s = qie_space(&e);
    g_assert_cmpuint(qdict_get_u64(s, "mapping-count"), ==, 8);
    g_assert_cmpuint(qdict_get_u64(s, "quota-refused"), ==, 1);
    qobject_unref(s);
    assert_fill_lands(&e, IOVA + 7 * PG, GPA + 7 * PG);
    assert_fill_faults(&e, IOVA + 8 * PG);
    g_assert_cmpuint(qvtd_take_fault(&e.v, NULL, NULL), ==, 0);

    /* the guest unmaps four pages: the next invalidation maps four more */
    qvtd_sl_map(&e.v, e.top, IOVA, 0, 4 * PG, QVTD_PAGE_4K, 0);
    qvtd_inv_iotlb_page(&e.v, DID, IOVA, 2);
    qvtd_inv_iotlb_domain(&e.v, DID);
    qie_assert_unmapped(&e, IOVA);
    g_assert_cmpuint(mapping_count(&e), ==, 8);
    assert_fill_lands(&e, IOVA + 11 * PG, GPA + 11 * PG);
    assert_fill_faults(&e, IOVA + 12 * PG);

    /* the limit is shown and checked */
    ctx = qiov_query_context(e.d->qts, "ioasid-default");
    g_assert_cmpuint(qdict_get_u64(ctx, "max-mappings"), ==, 8);
    l = qdict_get_qlist(ctx, "ioasids");
    g_assert_cmpuint(qlist_size(l), ==, 1);
    qobject_unref(ctx);
    assert_no_bad_host_call(&e);
    qie_stop(&e);
    qiov_expect_startup_error("-object ioasid,id=c,max-mappings=0 "
                              "-device ioasid-vfio,ioasid=c",
                              "max-mappings", NULL);
}

/*
 * First-stage tables aliased the same way (x-flts=on).  The walk of an
 * invalidation and the walk of a device's miss share the bounds: past the
 * shadow limit a miss maps nothing and its DMA faults, and a storm of
 * misses at distinct IOVAs leaves QEMU's memory where it was.
 */
static void test_bound_first_stage_aliased(void)
{
    QIoasidEnv e;
    QTestState *qts;
    uint64_t t3, t2, t1, rss0, rss1, count;
    int i;

    qie_start_fs(&e, NULL, ",snoop-control=on,shadow-max-leaves=4096",
                 NULL);
    qts = e.d->qts;
    t3 = qvtd_alloc_page(&e.v);
    t2 = qvtd_alloc_page(&e.v);
    t1 = qvtd_alloc_page(&e.v);
    write_table(qts, e.top, t3, 0, QVTD_FS_DIR, false);
    qtest_memset(qts, e.top + 8 * 8, 0, 4096 - 8 * 8);
    write_table(qts, t3, t2, 0, QVTD_FS_DIR, false);
    write_table(qts, t2, t1, 0, QVTD_FS_DIR, false);
    write_table(qts, t1, 0x04000000, PG, QVTD_FS_RW_LEAF, false);
    rss0 = qemu_rss_kib(qts);

    qvtd_set_translation(&e.v, true);
    for (i = 0; i < 3; i++) {
        qvtd_inv_piotlb_pasid(&e.v, DID, 0);
        qvtd_inv_iotlb_domain(&e.v, DID);
    }
    /* 4096 shadowed leaves: eight L1 tables, one host mapping each */
    count = mapping_count(&e);
    g_assert_cmpuint(count, ==, 8);
    assert_fill_lands(&e, 0, 0x04000000);
    /* misses past the limit: walked, not mapped, faulting */
    for (i = 0; i < 256; i++) {
        assert_fill_faults(&e, (7ULL << 39) + ((uint64_t)i << 30));
    }
    drain_faults(&e);
    g_assert_cmpuint(mapping_count(&e), ==, 8);
    rss1 = qemu_rss_kib(qts);
    g_test_message("RSS %" PRIu64 " KiB -> %" PRIu64 " KiB", rss0, rss1);
    g_assert_cmpuint(rss1 - rss0, <, 64 * 1024);

    /* the guest takes it all down: nothing stays */
    qtest_memset(qts, e.top, 0, 4096);
    qvtd_inv_piotlb_pasid(&e.v, DID, 0);
    g_assert_cmpuint(mapping_count(&e), ==, 0);
    assert_no_bad_host_call(&e);
    qie_stop(&e);
}

/*
 * The host's quota with first-stage tables: a miss the host has no room
 * for faults (no vIOMMU fault record: the guest's tables grant it), and
 * maps once an unmap makes room.
 */
static void test_bound_first_stage_quota(void)
{
    QIoasidEnv e;
    int i;

    qie_start(&e, NULL, ",snoop-control=on,x-flts=on",
              "-object ioasid,id=ioasid-default,max-mappings=4", NULL, true,
              true);
    e.top = qvtd_fs_new(&e.v);
    qvtd_pasid_entry_set(&e.v, e.pe, QVTD_PE_PGTT_FS, e.top, DID, false);
    qvtd_inv_pasid_cache(&e.v, 0, true);
    qvtd_set_translation(&e.v, true);
    /* read-only and writable pages alternate: no two coalesce */
    for (i = 0; i < 8; i++) {
        qvtd_fs_map(&e.v, e.top, IOVA + i * PG, GPA + i * PG, PG,
                    QVTD_PAGE_4K, i & 1 ? QVTD_FS_RO_LEAF : QVTD_FS_RW_LEAF);
    }
    for (i = 0; i < 8; i += 2) {
        assert_fill_lands(&e, IOVA + i * PG, GPA + i * PG);
    }
    g_assert_cmpuint(mapping_count(&e), ==, 4);
    g_assert_cmphex(qiov_dma(e.d, IOASID_VFIO_OP_COPY, IOVA + PG, IOVA, 64,
                             false), ==, IOASID_VFIO_STATUS_ERROR |
                    (IOASID_VFIO_ERR_NO_MAPPING <<
                     IOASID_VFIO_STATUS_CODE_SHIFT));
    g_assert_cmpuint(qvtd_take_fault(&e.v, NULL, NULL), ==, 0);

    /* one unmapped and invalidated: room for the next miss */
    qvtd_fs_update(&e.v, e.top, IOVA, QVTD_PAGE_4K, QVTD_FS_P, 0);
    qvtd_inv_piotlb_page(&e.v, DID, 0, IOVA, 0);
    g_assert_cmphex(qiov_dma(e.d, IOASID_VFIO_OP_COPY, IOVA + PG,
                             IOVA + 2 * PG, 64, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    g_assert_cmpuint(mapping_count(&e), ==, 4);
    qie_stop(&e);
}

/* query-ioasid's filters: a large table can be read piecewise */
static void test_bound_query_filters(void)
{
    QIoasidEnv e;
    QDict *r, *ctx, *sp;
    QList *spaces, *maps;

    qie_start(&e, NULL, ",snoop-control=on", NULL, NULL, false, false);
    qvtd_sl_map(&e.v, e.top, IOVA, GPA, 64 * PG, QVTD_PAGE_4K, RW);
    for (int i = 1; i < 64; i += 2) {
        qvtd_sl_update(&e.v, e.top, IOVA + i * PG, QVTD_PAGE_4K, 0,
                       QVTD_SL_SNP);
    }
    qvtd_set_translation(&e.v, true);
    r = qtest_qmp(e.d->qts,
            "{ 'execute': 'query-ioasid', 'arguments': { 'id': "
            "'ioasid-default', 'iova': %" PRIu64 ", 'size': %" PRIu64 ", "
            "'count': 5 } }", (uint64_t)(IOVA + 10 * PG), (uint64_t)(20 * PG));
    spaces = qobject_to(QList, qdict_get(r, "return"));
    g_assert_cmpuint(qlist_size(spaces), ==, 1);
    ctx = qobject_to(QDict, qlist_peek(spaces));
    sp = qobject_to(QDict, qlist_peek(qdict_get_qlist(ctx, "ioasids")));
    g_assert_cmpuint(qdict_get_u64(sp, "mapping-count"), ==, 64);
    maps = qdict_get_qlist(sp, "mappings");
    g_assert_cmpuint(qlist_size(maps), ==, 5);
    g_assert_cmphex(qdict_get_u64(qobject_to(QDict, qlist_peek(maps)),
                                  "iova"), ==, IOVA + 10 * PG);
    qobject_unref(r);
    r = qtest_qmp(e.d->qts, "{ 'execute': 'query-ioasid', "
                  "'arguments': { 'count': 0 } }");
    g_assert_true(qdict_haskey(r, "error"));
    qobject_unref(r);
    r = qtest_qmp(e.d->qts, "{ 'execute': 'query-ioasid', "
                  "'arguments': { 'id': 'nope' } }");
    g_assert_true(qdict_haskey(r, "error"));
    qobject_unref(r);
    qie_stop(&e);
}

/* ---- registration flapping ---- */

static unsigned count_events(QTestState *qts, const char *path, bool *last)
{
    unsigned n = 0;
    QDict *ev;

    /* a period of the throttle passes; the round trip reads the events */
    qtest_clock_step(qts, 1000 * 1000 * 1000);
    qtest_qmp_assert_success(qts, "{ 'execute': 'query-status' }");
    while ((ev = qtest_qmp_event_ref(qts, "NONCOHERENT_DMA_CHANGED"))) {
        QDict *data = qdict_get_qdict(ev, "data");

        g_assert_cmpstr(qdict_get_str(data, "device"), ==, path);
        *last = qdict_get_bool(data, "noncoherent");
        n++;
        qobject_unref(ev);
    }
    return n;
}

/*
 * A guest toggling Enable No Snoop 10,000 times: every toggle was a
 * registration change (a KVM page-table zap each) and an event.  Now the
 * device turns noncoherent at once but coherent only after its hold-off,
 * and the event is throttled.
 */
static void test_policy_toggle_storm(void)
{
    const char *path = "/machine/peripheral/dev0";
    QIoasidVfio *d;
    QTestState *qts;
    uint64_t changes;
    bool registered, last = false;
    QDict *nc;
    int i;

    /* no vIOMMU, enforce-snoop=off: the identity map lets no-snoop pass */
    d = qiov_start("-M q35 -m 512M -nodefaults "
                   "-object ioasid,id=ioasid-default,enforce-snoop=off "
                   "-device ioasid-vfio,id=dev0,addr=04.0", 4);
    qts = d->qts;
    nc = qiov_query_noncoherent(qts, path, &registered, &changes);
    g_assert_true(qdict_get_bool(nc, "noncoherent"));
    g_assert_cmpuint(changes, ==, 1);
    qobject_unref(nc);

    for (i = 0; i < 10000; i++) {
        qiov_set_nosnoop_enable(d, !(i & 1));
    }
    /* the last write cleared it: held off, still registered */
    nc = qiov_query_noncoherent(qts, path, &registered, &changes);
    g_assert_false(qdict_get_bool(nc, "nosnoop-enabled"));
    g_assert_true(qdict_get_bool(nc, "noncoherent"));
    g_assert_true(qdict_haskey(nc, "release-in-ms"));
    g_assert_cmpuint(qdict_get_u64(nc, "release-in-ms"), <=, 1000);
    g_assert_true(registered);
    g_assert_cmpuint(changes, ==, 1);
    qobject_unref(nc);

    /* the hold-off runs out (the event period passes with it) */
    g_assert_cmpuint(count_events(qts, path, &last), ==, 1);
    g_assert_false(last);
    nc = qiov_query_noncoherent(qts, path, &registered, &changes);
    g_assert_false(qdict_get_bool(nc, "noncoherent"));
    g_assert_false(qdict_haskey(nc, "release-in-ms"));
    g_assert_false(registered);
    g_assert_cmpuint(changes, ==, 2);
    qobject_unref(nc);

    /* toggles spread over time, each within the hold-off: one change */
    for (i = 0; i < 20; i++) {
        qiov_set_nosnoop_enable(d, !(i & 1));
        qtest_clock_step(qts, 600 * 1000 * 1000);
    }
    nc = qiov_query_noncoherent(qts, path, &registered, &changes);
    g_assert_cmpuint(changes, ==, 3);
    g_assert_true(registered);
    qobject_unref(nc);
    qiov_stop(d);
}

/* Without hold-off every change counts, but events are still throttled */
static void test_policy_event_throttle(void)
{
    const char *path = "/machine/peripheral/dev0";
    QIoasidVfio *d;
    QTestState *qts;
    uint64_t changes;
    bool registered, last = true;
    QDict *nc;
    int i;

    d = qiov_start("-M q35 -m 512M -nodefaults "
                   "-object ioasid,id=ioasid-default,enforce-snoop=off "
                   "-device ioasid-vfio,id=dev0,addr=04.0,"
                   "noncoherent-holdoff-ms=0", 4);
    qts = d->qts;
    /* (what happened before the QMP client connected is not sent) */
    g_assert_cmpuint(count_events(qts, path, &last), ==, 0);
    for (i = 0; i < 1000; i++) {
        qiov_set_nosnoop_enable(d, i & 1);
    }
    nc = qiov_query_noncoherent(qts, path, &registered, &changes);
    g_assert_cmpuint(changes, ==, 1001);
    qobject_unref(nc);
    /* the first change at once, the last state at the end of the period */
    g_assert_cmpuint(count_events(qts, path, &last), ==, 2);
    g_assert_true(last);
    qiov_stop(d);
}

/* ---- completion ---- */

/*
 * The relay batches the events of an invalidation and applies them when
 * the vIOMMU commits it: before the wait descriptor's status write, by
 * which the guest learns the invalidation is complete.  The trace log
 * shows the order.
 */
static void test_commit_before_wait(void)
{
    g_autofree char *log = g_strdup_printf("%s/ioasid-commit-%d.log",
                                           g_get_tmp_dir(), getpid());
    g_autofree char *extra = g_strdup_printf(
        "-D %s -trace ioasid_host_map -trace vtd_inv_desc_wait_sw", log);
    g_autofree char *text = NULL;
    g_autofree char *map_line = NULL, *before = NULL, *after = NULL;
    const char *map;
    uint32_t seq;
    QIoasidEnv e;

    qie_start(&e, NULL, ",snoop-control=on", extra, NULL, false, true);
    qvtd_set_translation(&e.v, true);
    qvtd_sl_map(&e.v, e.top, IOVA, GPA, 4 * PG, QVTD_PAGE_4K, RW);
    /* the invalidation and its wait descriptor in one tail write */
    e.v.qi_one_tail = true;
    qvtd_inv_iotlb_page(&e.v, DID, IOVA, 2);
    seq = e.v.wait_seq;
    /* one host call for the four leaves of the invalidation */
    qie_assert_mapping(&e, IOVA, 4 * PG, GPA, false);
    qie_stop(&e);

    g_assert_true(g_file_get_contents(log, &text, NULL, NULL));
    map_line = g_strdup_printf("iova=0x%" PRIx64 " size=0x4000",
                               (uint64_t)IOVA);
    before = g_strdup_printf("status write addr 0x%" PRIx64 " data 0x%x\n",
                             e.v.wait_status, seq - 1);
    after = g_strdup_printf("status write addr 0x%" PRIx64 " data 0x%x\n",
                            e.v.wait_status, seq);
    map = strstr(text, map_line);
    g_assert_nonnull(map);
    /* the previous wait completed before, this invalidation's wait after */
    g_assert_nonnull(g_strstr_len(text, map - text, before));
    g_assert_null(g_strstr_len(text, map - text, after));
    g_assert_nonnull(strstr(map, after));
    unlink(log);
}

/* ---- what the relay cannot honour ---- */

static void test_refuse_other_viommu(void)
{
    qiov_expect_startup_error("-device virtio-iommu-pci "
                              "-device ioasid-vfio", "cannot relay", NULL);
}

/* Hotplug behind an intel-iommu that refuses the relay: a clean error */
static void test_refuse_hotplug(void)
{
    QTestState *qts = qtest_init(
        "-M q35 -nodefaults -device intel-iommu "
        "-device pcie-root-port,id=rp0,bus=pcie.0,addr=06.0,chassis=1");
    QDict *r;

    r = qtest_qmp(qts, "{ 'execute': 'device_add', 'arguments': { "
                  "'driver': 'ioasid-vfio', 'id': 'hp', 'bus': 'rp0' } }");
    g_assert_true(qdict_haskey(r, "error"));
    g_assert_nonnull(strstr(qdict_get_str(qdict_get_qdict(r, "error"), "desc"),
                            "caching-mode=on"));
    qobject_unref(r);
    /* nothing was left behind */
    r = qiov_query_context(qts, "ioasid-default");
    if (r) {
        g_assert_cmpuint(qlist_size(qdict_get_qlist(r, "ioasids")), ==, 0);
        qobject_unref(r);
    }
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/ioasid-vfio/robust/abort/ir-window-2m",
                   test_abort_ir_window_2m);
    qtest_add_func("/ioasid-vfio/robust/abort/ir-window-1g",
                   test_abort_ir_window_1g);
    qtest_add_func("/ioasid-vfio/robust/abort/scalable-pt-switch",
                   test_abort_scalable_pt_switch);
    qtest_add_func("/ioasid-vfio/robust/abort/pasid-entry-changed",
                   test_abort_pasid_entry_changed);
    qtest_add_func("/ioasid-vfio/robust/abort/register-quadword",
                   test_abort_register_quadword);
    qtest_add_func("/ioasid-vfio/robust/stale/large-leaf-to-table",
                   test_stale_large_leaf_to_table);
    qtest_add_func("/ioasid-vfio/robust/stale/large-leaf-to-equal-table",
                   test_stale_large_leaf_to_equal_table);
    qtest_add_func("/ioasid-vfio/robust/stale/pasid-teardown",
                   test_stale_pasid_teardown);
    qtest_add_func("/ioasid-vfio/robust/stale/directory-outside-ram",
                   test_stale_directory_outside_ram);
    qtest_add_func("/ioasid-vfio/robust/stale/directory-reserved",
                   test_stale_directory_reserved);
    qtest_add_func("/ioasid-vfio/robust/bound/aliased-tables",
                   test_bound_aliased_tables);
    qtest_add_func("/ioasid-vfio/robust/bound/host-quota",
                   test_bound_host_quota);
    qtest_add_func("/ioasid-vfio/robust/bound/first-stage-aliased-tables",
                   test_bound_first_stage_aliased);
    qtest_add_func("/ioasid-vfio/robust/bound/first-stage-host-quota",
                   test_bound_first_stage_quota);
    qtest_add_func("/ioasid-vfio/robust/bound/query-filters",
                   test_bound_query_filters);
    qtest_add_func("/ioasid-vfio/robust/policy/toggle-storm",
                   test_policy_toggle_storm);
    qtest_add_func("/ioasid-vfio/robust/policy/event-throttle",
                   test_policy_event_throttle);
    qtest_add_func("/ioasid-vfio/robust/commit/before-wait-status",
                   test_commit_before_wait);
    qtest_add_func("/ioasid-vfio/robust/refuse/other-viommu",
                   test_refuse_other_viommu);
    qtest_add_func("/ioasid-vfio/robust/refuse/hotplug",
                   test_refuse_hotplug);
    return g_test_run();
}
