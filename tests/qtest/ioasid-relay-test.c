/*
 * QTest: the snoop relay through intel-iommu and the noncoherent DMA policy
 *
 * Each test programs the vIOMMU as a guest kernel would (libqos/vtd.c),
 * then checks what reached the host (query-ioasid), what the device's DMA
 * does (guest memory, NOSNOOP_BYTES, faults) and the noncoherent DMA
 * registry (query-noncoherent-dma, NONCOHERENT_DMA_CHANGED).
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "libqos/ioasid-env.h"
#include "qobject/qlist.h"

#define DEV_SLOT        QIE_SLOT
#define DEV_PATH        QIE_PATH
#define SID             QIE_SID
#define DID             QIE_DID
#define TABLES          QIE_TABLES
#define TABLES_SIZE     QIE_TABLES_SIZE
#define IOVA            QIE_IOVA
#define GPA             QIE_GPA
#define PG              QIE_PG

/* guest RAM of the machines env_start() makes */
static const char *env_mem = "512M";

typedef QIoasidEnv Env;

static void env_start(Env *e, const char *viommu, const char *extra,
                      const char *devopts, bool scalable, bool qi)
{
    qie_start(e, env_mem, viommu, extra, devopts, scalable, qi);
}

/* ---- SNP per page ---- */

static void check_snp_per_page(bool scalable)
{
    Env e;
    uint64_t before, calls;
    uint8_t buf[64], got[64];
    char what[32];

    env_start(&e, ",snoop-control=on", NULL, NULL, scalable, scalable);
    g_assert_cmpstr(qie_translation(&e, what, sizeof(what)), ==, "identity");
    /* pages 0-1 force snooping, pages 2-3 do not */
    qvtd_sl_map(&e.v, e.top, IOVA, GPA, 2 * PG, QVTD_PAGE_4K,
                QVTD_SL_RW | QVTD_SL_SNP);
    qvtd_sl_map(&e.v, e.top, IOVA + 2 * PG, GPA + 2 * PG, 2 * PG,
                QVTD_PAGE_4K, QVTD_SL_RW);
    calls = qie_space_u64(&e, "map-calls");
    qvtd_set_translation(&e.v, true);

    /* the replay: one host call per run of equal flags */
    g_assert_cmpuint(qie_space_u64(&e, "map-calls") - calls, ==, 2);
    g_assert_cmpstr(qie_translation(&e, what, sizeof(what)), ==,
                    "second-stage");
    qie_assert_mapping(&e, IOVA, 2 * PG, GPA, true);
    qie_assert_mapping(&e, IOVA + 2 * PG, 2 * PG, GPA + 2 * PG, false);
    qie_assert_unmapped(&e, IOVA + 4 * PG);
    /* guest RAM is no longer identity-mapped */
    qie_assert_unmapped(&e, 0x100000);

    /* copy page 0 -> page 2: only the write to page 2 bypasses caches */
    memset(buf, 0xa5, sizeof(buf));
    qtest_memwrite(e.d->qts, GPA, buf, sizeof(buf));
    before = qie_nosnoop_bytes(&e);
    g_assert_cmphex(qiov_dma(e.d, IOASID_VFIO_OP_COPY, IOVA, IOVA + 2 * PG,
                             sizeof(buf), true), ==, IOASID_VFIO_STATUS_DONE);
    g_assert_cmpuint(qie_nosnoop_bytes(&e) - before, ==, sizeof(buf));
    qtest_memread(e.d->qts, GPA + 2 * PG, got, sizeof(got));
    g_assert_cmpmem(got, sizeof(got), buf, sizeof(buf));
    /* page 3 -> page 1: only the read */
    before = qie_nosnoop_bytes(&e);
    g_assert_cmphex(qiov_dma(e.d, IOASID_VFIO_OP_COPY, IOVA + 3 * PG,
                             IOVA + PG, 100, true), ==,
                    IOASID_VFIO_STATUS_DONE);
    g_assert_cmpuint(qie_nosnoop_bytes(&e) - before, ==, 100);
    qie_stop(&e);
}

static void test_snp_per_page_legacy(void)
{
    check_snp_per_page(false);
}

static void test_snp_per_page_scalable(void)
{
    check_snp_per_page(true);
}

/* ---- SNP flipped on a live PTE ---- */

static void check_snp_flip(bool scalable, bool qi)
{
    Env e;
    uint64_t before;

    env_start(&e, ",snoop-control=on", NULL, NULL, scalable, qi);
    qie_map_live(&e, 1, QVTD_SL_RW);

    qvtd_sl_update(&e.v, e.top, IOVA, QVTD_PAGE_4K, 0, QVTD_SL_SNP);
    qie_inv_page(&e, IOVA);
    qie_assert_mapping(&e, IOVA, PG, GPA, true);
    before = qie_nosnoop_bytes(&e);
    g_assert_cmphex(qiov_dma(e.d, IOASID_VFIO_OP_FILL, 0, IOVA, 64, true),
                    ==, IOASID_VFIO_STATUS_DONE);
    g_assert_cmpuint(qie_nosnoop_bytes(&e), ==, before);

    qvtd_sl_update(&e.v, e.top, IOVA, QVTD_PAGE_4K, QVTD_SL_SNP, 0);
    qie_inv_page(&e, IOVA);
    qie_assert_mapping(&e, IOVA, PG, GPA, false);
    g_assert_cmphex(qiov_dma(e.d, IOASID_VFIO_OP_FILL, 0, IOVA, 64, true),
                    ==, IOASID_VFIO_STATUS_DONE);
    g_assert_cmpuint(qie_nosnoop_bytes(&e) - before, ==, 64);
    qie_stop(&e);
}

static void test_snp_flip_register(void)
{
    check_snp_flip(false, false);
}

static void test_snp_flip_queued(void)
{
    check_snp_flip(false, true);
}

static void test_snp_flip_scalable(void)
{
    check_snp_flip(true, true);
}

/* ---- coalescing ---- */

static void test_coalesce(void)
{
    Env e;
    uint64_t calls;
    int i;

    env_start(&e, ",snoop-control=on", NULL, NULL, false, true);
    qvtd_set_translation(&e.v, true);

    /* 16 contiguous pages, equal flags, one domain invalidation: 1 call */
    qvtd_sl_map(&e.v, e.top, IOVA, GPA, 16 * PG, QVTD_PAGE_4K,
                QVTD_SL_RW | QVTD_SL_SNP);
    calls = qie_space_u64(&e, "map-calls");
    qvtd_inv_iotlb_domain(&e.v, DID);
    g_assert_cmpuint(qie_space_u64(&e, "map-calls") - calls, ==, 1);
    qie_assert_mapping(&e, IOVA, 16 * PG, GPA, true);

    /* alternating SNP: never merged, 16 calls, flags per page */
    for (i = 0; i < 16; i++) {
        qvtd_sl_map(&e.v, e.top, IOVA + 0x100000 + i * PG, GPA + i * PG, PG,
                    QVTD_PAGE_4K, QVTD_SL_RW | (i & 1 ? QVTD_SL_SNP : 0));
    }
    calls = qie_space_u64(&e, "map-calls");
    qvtd_inv_iotlb_domain(&e.v, DID);
    g_assert_cmpuint(qie_space_u64(&e, "map-calls") - calls, ==, 16);
    for (i = 0; i < 16; i++) {
        qie_assert_mapping(&e, IOVA + 0x100000 + i * PG, PG, GPA + i * PG,
                           i & 1);
    }

    /* a target that is not contiguous starts a new call */
    qvtd_sl_map(&e.v, e.top, IOVA + 0x200000, GPA, PG, QVTD_PAGE_4K,
                QVTD_SL_RW);
    qvtd_sl_map(&e.v, e.top, IOVA + 0x201000, GPA + 0x10000, PG,
                QVTD_PAGE_4K, QVTD_SL_RW);
    calls = qie_space_u64(&e, "map-calls");
    qvtd_inv_iotlb_global(&e.v);
    g_assert_cmpuint(qie_space_u64(&e, "map-calls") - calls, ==, 2);
    qie_stop(&e);
}

/* ---- huge leaves ---- */

static void test_huge_pages(void)
{
    Env e;

    env_start(&e, ",snoop-control=on", NULL, NULL, false, false);
    /* 2 MiB with SNP, 1 GiB without */
    qvtd_sl_map(&e.v, e.top, IOVA, 0x4000000, QVTD_PAGE_2M, QVTD_PAGE_2M,
                QVTD_SL_RW | QVTD_SL_SNP);
    qvtd_sl_map(&e.v, e.top, 0x100000000ULL, 0, QVTD_PAGE_1G, QVTD_PAGE_1G,
                QVTD_SL_RW);
    qvtd_set_translation(&e.v, true);
    qie_assert_mapping(&e, IOVA, QVTD_PAGE_2M, 0x4000000, true);
    /* 1 GiB at guest-physical 0: only 512 MiB is RAM, so not mapped */
    qie_assert_unmapped(&e, 0x100000000ULL);

    /* SNP of the 2M leaf cleared: one 2M host mapping flips */
    qvtd_sl_update(&e.v, e.top, IOVA, QVTD_PAGE_2M, QVTD_SL_SNP, 0);
    qvtd_inv_iotlb_page(&e.v, DID, IOVA, 9);
    qie_assert_mapping(&e, IOVA, QVTD_PAGE_2M, 0x4000000, false);
    qie_stop(&e);
}

static void test_huge_1g(void)
{
    Env e;
    uint8_t got[4];

    env_mem = "2G";
    env_start(&e, ",snoop-control=on", NULL, NULL, false, false);
    env_mem = "512M";
    qvtd_sl_map(&e.v, e.top, 0x100000000ULL, 0x40000000ULL, QVTD_PAGE_1G,
                QVTD_PAGE_1G, QVTD_SL_RW | QVTD_SL_SNP);
    qvtd_set_translation(&e.v, true);
    qie_assert_mapping(&e, 0x100000000ULL, QVTD_PAGE_1G, 0x40000000ULL, true);
    qiov_wr32(e.d, IOASID_VFIO_REG_PATTERN, 0x04030201);
    g_assert_cmphex(qiov_dma(e.d, IOASID_VFIO_OP_FILL, 0,
                             0x100000000ULL + 0x12345000, 4, true), ==,
                    IOASID_VFIO_STATUS_DONE);
    qtest_memread(e.d->qts, 0x40000000ULL + 0x12345000, got, sizeof(got));
    g_assert_cmphex(got[0], ==, 1);
    g_assert_cmphex(got[3], ==, 4);
    g_assert_cmpuint(qie_nosnoop_bytes(&e), ==, 0);
    qie_stop(&e);
}

/* ---- PGSNP ---- */

static void test_pgsnp(void)
{
    Env e;
    uint64_t before;

    env_start(&e, ",snoop-control=on", NULL, NULL, true, true);
    qvtd_sl_map(&e.v, e.top, IOVA, GPA, 4 * PG, QVTD_PAGE_4K, QVTD_SL_RW);
    qvtd_pasid_set_pgsnp(&e.v, e.pe, true);
    qvtd_inv_pasid_cache(&e.v, DID, false);
    qvtd_set_translation(&e.v, true);
    /* PGSNP=1 forces snooping over SNP=0 leaves */
    qie_assert_mapping(&e, IOVA, 4 * PG, GPA, true);
    before = qie_nosnoop_bytes(&e);
    g_assert_cmphex(qiov_dma(e.d, IOASID_VFIO_OP_FILL, 0, IOVA, 4 * PG,
                             true), ==, IOASID_VFIO_STATUS_DONE);
    g_assert_cmpuint(qie_nosnoop_bytes(&e), ==, before);

    /* PGSNP cleared + PASID-cache invalidation: follow the PTEs again */
    qvtd_pasid_set_pgsnp(&e.v, e.pe, false);
    qvtd_inv_pasid_cache(&e.v, DID, false);
    qie_assert_mapping(&e, IOVA, 4 * PG, GPA, false);
    g_assert_cmphex(qiov_dma(e.d, IOASID_VFIO_OP_FILL, 0, IOVA, 4 * PG,
                             true), ==, IOASID_VFIO_STATUS_DONE);
    g_assert_cmpuint(qie_nosnoop_bytes(&e) - before, ==, 4 * PG);

    /* and back, with a global PASID-cache invalidation */
    qvtd_pasid_set_pgsnp(&e.v, e.pe, true);
    qvtd_inv_pasid_cache(&e.v, 0, true);
    qie_assert_mapping(&e, IOVA, 4 * PG, GPA, true);
    qie_stop(&e);
}

/* ---- unmapping ---- */

static void test_pte_cleared(void)
{
    Env e;
    uint64_t addr;
    uint16_t sid;

    env_start(&e, ",snoop-control=on", NULL, NULL, false, true);
    /* three pages, one host mapping */
    qie_map_live(&e, 3, QVTD_SL_RW);

    /*
     * Clear the second page: the host removes mappings whole only, so the
     * relay unmaps all three and maps the first and the third again, at
     * once, not when the device next misses there
     */
    qvtd_sl_update(&e.v, e.top, IOVA + PG, QVTD_PAGE_4K, ~0ULL, 0);
    qie_inv_page(&e, IOVA + PG);
    qie_assert_mapping(&e, IOVA, PG, GPA, false);
    qie_assert_unmapped(&e, IOVA + PG);
    qie_assert_mapping(&e, IOVA + 2 * PG, PG, GPA + 2 * PG, false);

    /* DMA there: a host fault, which the vIOMMU records too */
    g_assert_cmpuint(qvtd_take_fault(&e.v, NULL, NULL), ==, 0);
    g_assert_cmpuint(qiov_status_code(qiov_dma(e.d, IOASID_VFIO_OP_FILL, 0,
                                               IOVA + PG, 16, false)), ==,
                     IOASID_VFIO_ERR_NO_MAPPING);
    g_assert_cmphex(qiov_rd64(e.d, IOASID_VFIO_REG_FAULT_ADDR), ==,
                    IOVA + PG);
    g_assert_cmpuint(qvtd_take_fault(&e.v, &addr, &sid), !=, 0);
    g_assert_cmphex(addr, ==, IOVA + PG);
    g_assert_cmphex(sid, ==, SID);
    /* the first page still works */
    g_assert_cmphex(qiov_dma(e.d, IOASID_VFIO_OP_FILL, 0, IOVA, 16, false),
                    ==, IOASID_VFIO_STATUS_DONE);
    qie_stop(&e);
}

/* ---- translation on and off ---- */

static void test_translation_toggle(void)
{
    Env e;

    env_start(&e, ",snoop-control=on", NULL, NULL, false, false);
    /* TE off: the identity map, blocking no-snoop (enforce-snoop=auto) */
    qie_assert_mapping(&e, 0x100000, 512 * 1024 * 1024 - 0x100000, 0x100000,
                   true);
    qie_assert_unmapped(&e, IOVA);

    qvtd_sl_map(&e.v, e.top, IOVA, GPA, PG, QVTD_PAGE_4K, QVTD_SL_RW);
    qvtd_set_translation(&e.v, true);
    qie_assert_mapping(&e, IOVA, PG, GPA, false);
    qie_assert_unmapped(&e, 0x100000);

    qvtd_set_translation(&e.v, false);
    qie_assert_unmapped(&e, IOVA);
    qie_assert_mapping(&e, 0x100000, 512 * 1024 * 1024 - 0x100000, 0x100000,
                   true);

    /* TE on again: the guest tables are replayed, as they are now */
    qvtd_sl_update(&e.v, e.top, IOVA, QVTD_PAGE_4K, 0, QVTD_SL_SNP);
    qvtd_set_translation(&e.v, true);
    qie_assert_mapping(&e, IOVA, PG, GPA, true);

    /* a system reset turns translation off: back to the identity map */
    qtest_system_reset(e.d->qts);
    qie_assert_unmapped(&e, IOVA);
    qie_assert_mapping(&e, 0x100000, 512 * 1024 * 1024 - 0x100000, 0x100000,
                   true);
    qie_stop(&e);
}

/* ---- context-cache invalidation ---- */

static void test_context_switch(void)
{
    Env e;
    uint64_t top2;

    env_start(&e, ",snoop-control=on", NULL, NULL, false, false);
    qie_map_live(&e, 1, QVTD_SL_RW);

    /* point the device at another table, invalidate its context entry */
    top2 = qvtd_sl_new(&e.v);
    qvtd_sl_map(&e.v, top2, IOVA + PG, GPA + PG, PG, QVTD_PAGE_4K,
                QVTD_SL_RW | QVTD_SL_SNP);
    qvtd_context_legacy(&e.v, SID, DID, top2);
    qvtd_inv_context_device(&e.v, DID, SID);
    qvtd_inv_iotlb_domain(&e.v, DID);
    qie_assert_unmapped(&e, IOVA);
    qie_assert_mapping(&e, IOVA + PG, PG, GPA + PG, true);
    qie_stop(&e);
}

/* ---- reserved bits ---- */

static void test_snp_reserved_without_sc(void)
{
    Env e;
    uint64_t addr;

    /* snoop-control=off, legacy mode: SNP is a reserved bit */
    env_start(&e, NULL, NULL, NULL, false, false);
    qvtd_sl_map(&e.v, e.top, IOVA, GPA, PG, QVTD_PAGE_4K, QVTD_SL_RW);
    qvtd_sl_map(&e.v, e.top, IOVA + PG, GPA + PG, PG, QVTD_PAGE_4K,
                QVTD_SL_RW | QVTD_SL_SNP);
    qvtd_set_translation(&e.v, true);
    /* without SC the guest cannot ask: the good page does not block */
    qie_assert_mapping(&e, IOVA, PG, GPA, false);
    qie_assert_unmapped(&e, IOVA + PG);

    g_assert_cmpuint(qiov_status_code(qiov_dma(e.d, IOASID_VFIO_OP_FILL, 0,
                                               IOVA + PG, 16, false)), ==,
                     IOASID_VFIO_ERR_NO_MAPPING);
    /* VT-d fault reason 0xc: non-zero reserved field in a paging entry */
    g_assert_cmphex(qvtd_take_fault(&e.v, &addr, NULL), ==, 0xc);
    g_assert_cmphex(addr, ==, IOVA + PG);

    /* setting SNP on a live PTE removes the host mapping */
    qvtd_sl_update(&e.v, e.top, IOVA, QVTD_PAGE_4K, 0, QVTD_SL_SNP);
    qvtd_inv_iotlb_page(&e.v, DID, IOVA, 0);
    qie_assert_unmapped(&e, IOVA);
    qie_stop(&e);
}

/* ---- a guest that writes garbage ---- */

/*
 * Random page tables, a root table pointer outside RAM, invalidation
 * storms: QEMU must neither abort nor hang, DMA only ever lands where a
 * guest entry pointed into guest RAM, and the device keeps working.
 */
static void test_garbage(void)
{
    Env e;
    GRand *rnd = g_rand_new_with_seed(0x10a5);
    uint64_t guard = 0x1f000000, pattern = 0x5a5a5a5a5a5a5a5aULL;
    int i, j, done = 0, faults = 0;

    env_start(&e, ",snoop-control=on", NULL, NULL, false, true);
    qtest_writeq(e.d->qts, guard, pattern);
    /* random second-level tables, up to four levels deep */
    for (i = 0; i < 64; i++) {
        uint64_t iova = (uint64_t)g_rand_int(rnd) << 12;
        uint64_t pte = ((uint64_t)g_rand_int(rnd) << 32) | g_rand_int(rnd);

        qvtd_sl_map(&e.v, e.top, iova, 0, PG, QVTD_PAGE_4K, 0);
        qtest_writeq(e.d->qts, qvtd_sl_pte_addr(&e.v, e.top, iova,
                                                QVTD_PAGE_4K), pte);
    }
    qvtd_set_translation(&e.v, true);
    /* an invalidation storm of every kind */
    for (i = 0; i < 300; i++) {
        switch (i % 4) {
        case 0:
            qvtd_inv_iotlb_page(&e.v, DID, (uint64_t)g_rand_int(rnd) << 12,
                                g_rand_int_range(rnd, 0, 10));
            break;
        case 1:
            qvtd_inv_iotlb_domain(&e.v, g_rand_int_range(rnd, 0, 8));
            break;
        case 2:
            qvtd_inv_context_device(&e.v, DID, SID);
            break;
        default:
            qvtd_inv_iotlb_global(&e.v);
            break;
        }
    }
    /* DMA anywhere: done or a host fault, never anything else */
    for (i = 0; i < 64; i++) {
        uint32_t st = qiov_dma(e.d, IOASID_VFIO_OP_FILL, 0,
                               (uint64_t)g_rand_int(rnd) << 12, 64, true);

        if (st == IOASID_VFIO_STATUS_DONE) {
            done++;
        } else {
            j = qiov_status_code(st);
            g_assert_true(j == IOASID_VFIO_ERR_NO_MAPPING ||
                          j == IOASID_VFIO_ERR_PERMISSION);
            faults++;
        }
        while (qvtd_take_fault(&e.v, NULL, NULL)) {
            continue;
        }
    }
    g_assert_cmpint(done + faults, ==, 64);

    /* a root table pointer into the MMIO hole, with translation on */
    qtest_writeq(e.d->qts, QVTD_BASE + 0x20, 0xfec00000ULL);
    qtest_writel(e.d->qts, QVTD_BASE + 0x18, (1u << 31) | (1u << 30) |
                 (1u << 26));
    qvtd_inv_context_global(&e.v);
    qvtd_inv_iotlb_global(&e.v);
    g_assert_cmpuint(qiov_status_code(qiov_dma(e.d, IOASID_VFIO_OP_FILL, 0,
                                               IOVA, 64, false)), ==,
                     IOASID_VFIO_ERR_NO_MAPPING);

    /* memory the guest never mapped is intact, and the device recovers */
    g_assert_cmphex(qtest_readq(e.d->qts, guard), ==, pattern);
    qtest_writel(e.d->qts, QVTD_BASE + 0x18, 0);    /* TE and QIE off */
    qvtd_init(&e.v, e.d->qts, TABLES + TABLES_SIZE / 2, TABLES_SIZE / 2,
              false);
    qvtd_enable_qi(&e.v);
    e.top = qvtd_sl_new(&e.v);
    qvtd_context_legacy(&e.v, SID, DID, e.top);
    qvtd_sl_map(&e.v, e.top, IOVA, GPA, PG, QVTD_PAGE_4K, QVTD_SL_RW);
    qvtd_inv_context_global(&e.v);
    qvtd_inv_iotlb_global(&e.v);
    qvtd_set_translation(&e.v, true);
    qie_assert_mapping(&e, IOVA, PG, GPA, false);
    g_assert_cmphex(qiov_dma(e.d, IOASID_VFIO_OP_FILL, 0, IOVA, 64, false),
                    ==, IOASID_VFIO_STATUS_DONE);
    g_rand_free(rnd);
    qie_stop(&e);
}

/* ---- host policy ---- */

static void test_nosnoop_deny(void)
{
    Env e;
    QDict *s, *nc;

    env_start(&e, ",snoop-control=on", NULL, "nosnoop=deny", false, false);
    qvtd_sl_map(&e.v, e.top, IOVA, GPA, PG, QVTD_PAGE_4K, QVTD_SL_RW);
    qvtd_set_translation(&e.v, true);
    s = qie_space(&e);
    g_assert_true(qdict_get_bool(s, "enforce-snoop"));
    qobject_unref(s);
    qie_assert_mapping(&e, IOVA, PG, GPA, true);
    g_assert_cmphex(qiov_dma(e.d, IOASID_VFIO_OP_FILL, 0, IOVA, 64, true),
                    ==, IOASID_VFIO_STATUS_DONE);
    g_assert_cmpuint(qie_nosnoop_bytes(&e), ==, 0);
    nc = qiov_query_noncoherent(e.d->qts, DEV_PATH, NULL, NULL);
    g_assert_true(qdict_get_bool(nc, "nosnoop-enabled"));
    g_assert_true(qdict_get_bool(nc, "nosnoop-deny"));
    g_assert_false(qdict_get_bool(nc, "noncoherent"));
    qobject_unref(nc);
    qie_stop(&e);
}

static void test_refused_configs(void)
{
    qiov_expect_startup_error("-object ioasid,id=c,host-snoop-control=off "
                              "-device intel-iommu,snoop-control=on,"
                              "caching-mode=on -device ioasid-vfio,ioasid=c",
                              "snoop-control=on", "host-snoop-control=off");
    qiov_expect_startup_error("-device intel-iommu -device ioasid-vfio",
                              "caching-mode", NULL);
}

/* ---- the noncoherent policy ---- */

typedef struct NcState {
    bool a, b, c;
} NcState;

/* Check one device's conditions and result, and the VM's registration. */
static void assert_nc(QTestState *qts, const char *path, NcState want,
                      bool registered, uint64_t changes)
{
    bool reg;
    uint64_t ch;
    QDict *nc = qiov_query_noncoherent(qts, path, &reg, &ch);

    g_assert(nc);
    g_assert_cmpint(qdict_get_bool(nc, "nosnoop-enabled"), ==, want.a);
    g_assert_cmpint(qdict_get_bool(nc, "nosnoop-passes"), ==, want.b);
    g_assert_cmpint(qdict_get_bool(nc, "platform-nosnoop"), ==, want.c);
    g_assert_cmpint(qdict_get_bool(nc, "noncoherent"), ==,
                    want.a && want.b && want.c);
    g_assert_cmpint(reg, ==, registered);
    g_assert_cmpuint(ch, ==, changes);
    qobject_unref(nc);
}

/*
 * NONCOHERENT_DMA_CHANGED is throttled to one per second and device (on
 * the virtual clock under qtest): let a period pass, so that an event held
 * back by the throttle is delivered.
 */
static void event_period_passes(QTestState *qts)
{
    qtest_clock_step(qts, 1000 * 1000 * 1000);
    /* a command round trip reads whatever events came before its reply */
    qtest_qmp_assert_success(qts, "{ 'execute': 'query-status' }");
}

/* The next NONCOHERENT_DMA_CHANGED must be for @path, saying @nc. */
static void expect_event(QTestState *qts, const char *path, bool nc)
{
    QDict *ev;
    QDict *data;

    event_period_passes(qts);
    ev = qtest_qmp_event_ref(qts, "NONCOHERENT_DMA_CHANGED");
    g_assert(ev);
    data = qdict_get_qdict(ev, "data");
    g_assert_cmpstr(qdict_get_str(data, "device"), ==, path);
    g_assert_cmpint(qdict_get_bool(data, "noncoherent"), ==, nc);
    qobject_unref(ev);
}

static void expect_no_event(QTestState *qts)
{
    QDict *ev;

    event_period_passes(qts);
    ev = qtest_qmp_event_ref(qts, "NONCOHERENT_DMA_CHANGED");
    g_assert_null(ev);
}

static void check_truth_table(bool platform)
{
    Env e;
    QTestState *qts;
    bool c = platform;
    uint64_t changes = 0;

    /* without hold-off: conditions and result always agree */
    env_start(&e, ",snoop-control=on", platform ? NULL :
              "-object ioasid,id=ioasid-default,platform-nosnoop=off",
              "noncoherent-holdoff-ms=0", false, false);
    qts = e.d->qts;
    /* identity map blocks everything: a=1 (reset value), b=0 */
    assert_nc(qts, DEV_PATH, (NcState) { true, false, c }, false, 0);
    {
        g_autofree char *out = qtest_hmp(qts, "info noncoherent-dma");

        g_assert_nonnull(strstr(out, "registered: no (0 registration"));
        g_assert_nonnull(strstr(out, DEV_PATH ": (a) nosnoop-enabled=yes "
                                "(b) nosnoop-passes=no"));
    }

    /* b: a guest mapping without SNP */
    qvtd_sl_map(&e.v, e.top, IOVA, GPA, PG, QVTD_PAGE_4K, QVTD_SL_RW);
    qvtd_set_translation(&e.v, true);
    if (c) {
        changes++;
    }
    assert_nc(qts, DEV_PATH, (NcState) { true, true, c }, c, changes);
    if (c) {
        expect_event(qts, DEV_PATH, true);
    }
    expect_no_event(qts);

    /* a: the guest clears Enable No Snoop */
    qiov_set_nosnoop_enable(e.d, false);
    if (c) {
        changes++;
    }
    assert_nc(qts, DEV_PATH, (NcState) { false, true, c }, false, changes);
    if (c) {
        expect_event(qts, DEV_PATH, false);
    }
    /* writing the same value again changes nothing */
    qiov_set_nosnoop_enable(e.d, false);
    assert_nc(qts, DEV_PATH, (NcState) { false, true, c }, false, changes);
    expect_no_event(qts);

    /* b off: SNP set on the only mapping; then a back on */
    qvtd_sl_update(&e.v, e.top, IOVA, QVTD_PAGE_4K, 0, QVTD_SL_SNP);
    qvtd_inv_iotlb_page(&e.v, DID, IOVA, 0);
    qiov_set_nosnoop_enable(e.d, true);
    assert_nc(qts, DEV_PATH, (NcState) { true, false, c }, false, changes);
    expect_no_event(qts);

    /* b on again through a second, unblocked mapping */
    qvtd_sl_map(&e.v, e.top, IOVA + PG, GPA + PG, PG, QVTD_PAGE_4K,
                QVTD_SL_RW);
    qvtd_inv_iotlb_page(&e.v, DID, IOVA + PG, 0);
    if (c) {
        changes++;
    }
    assert_nc(qts, DEV_PATH, (NcState) { true, true, c }, c, changes);
    if (c) {
        expect_event(qts, DEV_PATH, true);
    }

    /*
     * Every mapping removed (a guest switching domains): an empty IOASID
     * lets no DMA through and decides nothing, so nothing flaps.
     */
    qvtd_sl_update(&e.v, e.top, IOVA, QVTD_PAGE_4K, ~0ULL, 0);
    qvtd_sl_update(&e.v, e.top, IOVA + PG, QVTD_PAGE_4K, ~0ULL, 0);
    qvtd_inv_iotlb_domain(&e.v, DID);
    qie_assert_unmapped(&e, IOVA + PG);
    assert_nc(qts, DEV_PATH, (NcState) { true, true, c }, c, changes);
    expect_no_event(qts);
    qie_stop(&e);
}

static void test_truth_table_platform_on(void)
{
    check_truth_table(true);
}

static void test_truth_table_platform_off(void)
{
    check_truth_table(false);
}

/* Two devices: the registration changes only on 0 <-> 1 noncoherent. */
static void test_registration_no_flapping(void)
{
    const char *path1 = "/machine/peripheral/dev1";
    QIoasidVfio *d0, *d1;
    QTestState *qts;

    /* no vIOMMU; enforce-snoop=off: the identity map lets no-snoop pass */
    d0 = qiov_start("-M q35 -m 512M -nodefaults "
                    "-object ioasid,id=ioasid-default,enforce-snoop=off "
                    "-device ioasid-vfio,id=dev0,addr=04.0,"
                    "noncoherent-holdoff-ms=0 "
                    "-device ioasid-vfio,id=dev1,addr=05.0,"
                    "noncoherent-holdoff-ms=0", 4);
    d1 = qiov_attach(d0, 5);
    qts = d0->qts;
    /* both noncoherent from the start (Enable No Snoop resets to 1) */
    assert_nc(qts, DEV_PATH, (NcState) { true, true, true }, true, 1);
    assert_nc(qts, path1, (NcState) { true, true, true }, true, 1);

    qiov_set_nosnoop_enable(d0, false);
    assert_nc(qts, DEV_PATH, (NcState) { false, true, true }, true, 1);
    expect_event(qts, DEV_PATH, false);
    qiov_set_nosnoop_enable(d1, false);
    assert_nc(qts, path1, (NcState) { false, true, true }, false, 2);
    expect_event(qts, path1, false);
    qiov_set_nosnoop_enable(d0, true);
    qiov_set_nosnoop_enable(d1, true);
    assert_nc(qts, path1, (NcState) { true, true, true }, true, 3);

    /* a reset sets Enable No Snoop again: nothing changes */
    qtest_system_reset(qts);
    assert_nc(qts, DEV_PATH, (NcState) { true, true, true }, true, 3);
    qiov_free(d1);
    qiov_stop(d0);
}

/* Hot-unplug: the IOASID, its mappings and the registration all go. */
static void test_hot_unplug(void)
{
    QTestState *qts = qtest_init(
        "-M q35 -m 512M -nodefaults "
        "-object ioasid,id=ioasid-default,enforce-snoop=off "
        "-device pcie-root-port,id=rp0,bus=pcie.0,addr=06.0,chassis=1 "
        "-device ioasid-vfio,id=dev0,bus=rp0");
    QDict *ctx, *nc, *ev;
    bool registered;
    uint64_t changes;

    nc = qiov_query_noncoherent(qts, "/machine/peripheral/dev0",
                                &registered, &changes);
    g_assert(nc);
    g_assert_true(qdict_get_bool(nc, "noncoherent"));
    qobject_unref(nc);
    g_assert_true(registered);
    g_assert_cmpuint(changes, ==, 1);

    /* the guest does not run: the unplug completes at the reset */
    qtest_qmp_device_del_send(qts, "dev0");
    qtest_system_reset_nowait(qts);
    ev = qtest_qmp_eventwait_ref(qts, "DEVICE_DELETED");
    qobject_unref(ev);

    ctx = qiov_query_context(qts, "ioasid-default");
    g_assert(ctx);
    g_assert_cmpuint(qlist_size(qdict_get_qlist(ctx, "ioasids")), ==, 0);
    qobject_unref(ctx);
    nc = qiov_query_noncoherent(qts, "/machine/peripheral/dev0",
                                &registered, &changes);
    g_assert_null(nc);
    g_assert_false(registered);
    g_assert_cmpuint(changes, ==, 2);
    qtest_quit(qts);
}

static void wait_migration(QTestState *qts)
{
    int i;

    for (i = 0; i < 1000; i++) {
        QDict *r = qtest_qmp_assert_success_ref(
            qts, "{ 'execute': 'query-migrate' }");
        const char *st = qdict_haskey(r, "status") ?
                         qdict_get_str(r, "status") : "none";
        bool done = !strcmp(st, "completed");

        g_assert_cmpstr(st, !=, "failed");
        qobject_unref(r);
        if (done) {
            return;
        }
        g_usleep(10 * 1000);
    }
    g_assert_not_reached();
}

/*
 * Migration: the destination rebuilds the host table from the vIOMMU's
 * tables, and the noncoherent conditions from the migrated config space.
 */
static void test_migration(void)
{
    const char *machine = "-M q35 -m 512M -nodefaults -device intel-iommu,"
                          "caching-mode=on,snoop-control=on "
                          "-device ioasid-vfio,id=dev0,addr=04.0";
    g_autofree char *file = g_strdup_printf("%s/ioasid-mig-%d",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("exec:cat > %s", file);
    g_autofree char *in = g_strdup_printf("exec:cat %s", file);
    QTestState *dst;
    Env e;
    QDict *nc;

    env_start(&e, ",snoop-control=on", NULL, NULL, false, false);
    qvtd_sl_map(&e.v, e.top, IOVA, GPA, PG, QVTD_PAGE_4K,
                QVTD_SL_RW | QVTD_SL_SNP);
    qvtd_sl_map(&e.v, e.top, IOVA + PG, GPA + PG, PG, QVTD_PAGE_4K,
                QVTD_SL_RW);
    qvtd_set_translation(&e.v, true);
    qiov_set_nosnoop_enable(e.d, false);

    qtest_qmp_assert_success(e.d->qts, "{ 'execute': 'stop' }");
    qtest_qmp_assert_success(e.d->qts, "{ 'execute': 'migrate', "
                             "'arguments': { 'uri': %s } }", uri);
    wait_migration(e.d->qts);

    dst = qtest_initf("%s -incoming defer", machine);
    qtest_qmp_assert_success(dst, "{ 'execute': 'migrate-incoming', "
                             "'arguments': { 'uri': %s } }", in);
    wait_migration(dst);
    {
        QDict *sp = qiov_query_space(dst, "ioasid-default", DEV_PATH);
        QDict *m;

        g_assert(sp);
        m = qiov_find_mapping(sp, IOVA);
        g_assert(m);
        g_assert_true(qdict_get_bool(m, "block-nosnoop"));
        m = qiov_find_mapping(sp, IOVA + PG);
        g_assert(m);
        g_assert_false(qdict_get_bool(m, "block-nosnoop"));
        qobject_unref(sp);
    }
    nc = qiov_query_noncoherent(dst, DEV_PATH, NULL, NULL);
    g_assert(nc);
    g_assert_false(qdict_get_bool(nc, "nosnoop-enabled"));
    g_assert_true(qdict_get_bool(nc, "nosnoop-passes"));
    g_assert_false(qdict_get_bool(nc, "noncoherent"));
    qobject_unref(nc);
    qtest_quit(dst);
    unlink(file);
    qie_stop(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_func("/ioasid-vfio/relay/snp-per-page/legacy",
                   test_snp_per_page_legacy);
    qtest_add_func("/ioasid-vfio/relay/snp-per-page/scalable",
                   test_snp_per_page_scalable);
    qtest_add_func("/ioasid-vfio/relay/snp-flip/register-psi",
                   test_snp_flip_register);
    qtest_add_func("/ioasid-vfio/relay/snp-flip/queued-psi",
                   test_snp_flip_queued);
    qtest_add_func("/ioasid-vfio/relay/snp-flip/scalable-piotlb",
                   test_snp_flip_scalable);
    qtest_add_func("/ioasid-vfio/relay/coalesce", test_coalesce);
    qtest_add_func("/ioasid-vfio/relay/huge-pages", test_huge_pages);
    qtest_add_func("/ioasid-vfio/relay/huge-1g", test_huge_1g);
    qtest_add_func("/ioasid-vfio/relay/pgsnp", test_pgsnp);
    qtest_add_func("/ioasid-vfio/relay/pte-cleared", test_pte_cleared);
    qtest_add_func("/ioasid-vfio/relay/translation-toggle",
                   test_translation_toggle);
    qtest_add_func("/ioasid-vfio/relay/context-switch", test_context_switch);
    qtest_add_func("/ioasid-vfio/relay/snp-reserved-without-sc",
                   test_snp_reserved_without_sc);
    qtest_add_func("/ioasid-vfio/relay/guest-garbage", test_garbage);
    qtest_add_func("/ioasid-vfio/policy/nosnoop-deny", test_nosnoop_deny);
    qtest_add_func("/ioasid-vfio/policy/refused-configs",
                   test_refused_configs);
    qtest_add_func("/ioasid-vfio/policy/truth-table/platform-nosnoop=on",
                   test_truth_table_platform_on);
    qtest_add_func("/ioasid-vfio/policy/truth-table/platform-nosnoop=off",
                   test_truth_table_platform_off);
    qtest_add_func("/ioasid-vfio/policy/registration-no-flapping",
                   test_registration_no_flapping);
    qtest_add_func("/ioasid-vfio/policy/hot-unplug", test_hot_unplug);
    qtest_add_func("/ioasid-vfio/relay/migration", test_migration);
    return g_test_run();
}
