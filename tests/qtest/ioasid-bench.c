/*
 * Benchmark of the snoop relay and the device's DMA path (make bench)
 *
 * Prints ratios measured in one run, never bare times:
 *  - host calls per guest leaf when the guest maps contiguous pages with
 *    equal flags in one invalidation (coalescing), and with alternating SNP
 *    (where nothing may be merged);
 *  - host table entries per guest leaf after each;
 *  - the cost of an SNP flip of a whole range (host calls per leaf);
 *  - DMA time through a relayed table of 4 KiB mappings relative to the
 *    same copy through one identity mapping (the per-segment cost of
 *    translating through the host table).
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "libqos/ioasid-vfio.h"
#include "libqos/vtd.h"
#include "qobject/qlist.h"

#define SLOT        4
#define DEV_PATH    "/machine/peripheral/dev0"
#define DID         3
#define PAGES       4096                    /* 16 MiB of guest mappings */
#define IOVA        0x80000000ULL
#define GPA         0x04000000ULL
#define PG          4096ULL
#define COPIES      200

static QDict *space(QTestState *qts)
{
    QDict *s = qiov_query_space(qts, "ioasid-default", DEV_PATH);

    g_assert(s);
    return s;
}

static uint64_t calls(QTestState *qts)
{
    QDict *s = space(qts);
    uint64_t n = qdict_get_u64(s, "map-calls") +
                 qdict_get_u64(s, "unmap-calls");

    qobject_unref(s);
    return n;
}

static unsigned entries(QTestState *qts)
{
    QDict *s = space(qts);
    unsigned n = qlist_size(qdict_get_qlist(s, "mappings"));

    qobject_unref(s);
    return n;
}

/* Average seconds per 1 MiB copy of the device between two IOVAs */
static double copy_time(QIoasidVfio *d, uint64_t src, uint64_t dst)
{
    gint64 start;
    int i;

    /* once untimed: the host faults the guest pages in */
    g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_COPY, src, dst,
                             IOASID_VFIO_MAX_LEN, true), ==,
                    IOASID_VFIO_STATUS_DONE);
    start = g_get_monotonic_time();
    for (i = 0; i < COPIES; i++) {
        g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_COPY, src, dst,
                                 IOASID_VFIO_MAX_LEN, true), ==,
                        IOASID_VFIO_STATUS_DONE);
    }
    return (g_get_monotonic_time() - start) / 1e6 / COPIES;
}

static void bench(void)
{
    QIoasidVfio *d = qiov_start("-M q35 -m 512M -nodefaults -device "
                                "intel-iommu,snoop-control=on,caching-mode=on"
                                " -device ioasid-vfio,id=dev0,addr=04.0",
                                SLOT);
    QTestState *qts = d->qts;
    QVTD v;
    uint64_t top, before, c_equal, c_alt, c_flip;
    unsigned e_equal, e_alt;
    double t_identity, t_relayed;
    int i;

    qvtd_init(&v, qts, 0x10000000, 0x01000000, false);
    qvtd_enable_qi(&v);
    top = qvtd_sl_new(&v);
    qvtd_context_legacy(&v, SLOT << 3, DID, top);
    qvtd_inv_context_global(&v);
    qvtd_inv_iotlb_global(&v);

    /* identity map (translation off): one host mapping covers RAM */
    t_identity = copy_time(d, GPA, GPA + 2 * IOASID_VFIO_MAX_LEN);

    qvtd_set_translation(&v, true);
    /* contiguous pages, equal flags, one domain invalidation */
    qvtd_sl_map(&v, top, IOVA, GPA, PAGES * PG, QVTD_PAGE_4K,
                QVTD_SL_RW | QVTD_SL_SNP);
    before = calls(qts);
    qvtd_inv_iotlb_domain(&v, DID);
    c_equal = calls(qts) - before;
    e_equal = entries(qts);

    /* SNP flipped on every leaf, one domain invalidation */
    for (i = 0; i < PAGES; i++) {
        qvtd_sl_update(&v, top, IOVA + i * PG, QVTD_PAGE_4K, QVTD_SL_SNP, 0);
    }
    before = calls(qts);
    qvtd_inv_iotlb_domain(&v, DID);
    c_flip = calls(qts) - before;

    /* DMA through the relayed table, now merged into a few entries */
    t_relayed = copy_time(d, IOVA, IOVA + 2 * IOASID_VFIO_MAX_LEN);

    /* alternating SNP: nothing may merge */
    for (i = 0; i < PAGES; i++) {
        qvtd_sl_update(&v, top, IOVA + i * PG, QVTD_PAGE_4K, QVTD_SL_SNP,
                       i & 1 ? QVTD_SL_SNP : 0);
    }
    before = calls(qts);
    qvtd_inv_iotlb_domain(&v, DID);
    c_alt = calls(qts) - before;
    e_alt = entries(qts);
    {
        double t_split = copy_time(d, IOVA, IOVA + 2 * IOASID_VFIO_MAX_LEN);

        printf("ioasid-bench: %d guest 4 KiB leaves\n", PAGES);
        printf("  host calls per leaf, equal flags (coalesced):   %.5f "
               "(%" PRIu64 " calls)\n", (double)c_equal / PAGES, c_equal);
        printf("  host calls per leaf, SNP flipped on all:        %.5f "
               "(%" PRIu64 " calls)\n", (double)c_flip / PAGES, c_flip);
        printf("  host calls per leaf, SNP set on every other:    %.5f "
               "(%" PRIu64 " calls)\n", (double)c_alt / PAGES, c_alt);
        printf("  host table entries per leaf, equal flags:       %.5f\n",
               (double)e_equal / PAGES);
        printf("  host table entries per leaf, alternating SNP:   %.5f\n",
               (double)e_alt / PAGES);
        printf("  1 MiB copy, relayed (merged) / identity map:    %.2f\n",
               t_relayed / t_identity);
        printf("  1 MiB copy, relayed (4 KiB entries) / identity: %.2f\n",
               t_split / t_identity);
    }
    g_assert_cmpuint(c_equal, >=, 1);
    g_assert_cmpuint(c_alt, >=, PAGES);
    qiov_stop(d);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/ioasid-vfio/bench", bench);
    return g_test_run();
}
