/*
 * QTest: the relay of VT-d first-stage translation (intel-iommu x-flts=on)
 *
 * A Linux guest on a vIOMMU that offers only first-stage translation
 * (ECAP.FLTS without SLTS) maps every DMA domain with IA-32e-format
 * tables, and asks for snoop control with the PASID entry's PGSNP.  Each
 * test programs the vIOMMU as such a guest does (libqos/vtd.c) and checks
 * what reached the device's host IOASID (query-ioasid), what its DMA does
 * and what the vIOMMU records: one test per rule of
 * docs/devel/ioasid-relay.rst, "First-stage translation".
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "libqos/ioasid-env.h"

#define DID             QIE_DID
#define IOVA            QIE_IOVA
#define GPA             QIE_GPA
#define PG              QIE_PG
/* The first upper-half canonical IOVA of 4-level paging, and the top */
#define UPPER_IOVA      0xffff800000000000ULL
#define TOP_IOVA        0xfffffffffffff000ULL
/* Its non-canonical alias: the same table entry, bits 63:48 clear */
#define NONCANON_IOVA   0x0000800000000000ULL

/* VT-d fault reasons QEMU records for first-stage requests */
#define FR_PASID_ENTRY_INV      0x5b
#define FR_FS_NON_CANONICAL     0x80
#define FR_FS_US                0x81

typedef QIoasidEnv Env;

static void fs_start(Env *e, bool sc, const char *more)
{
    g_autofree char *opts = g_strdup_printf(",snoop-control=%s%s",
                                            sc ? "on" : "off", more ?: "");

    qie_start_fs(e, "2G", opts, NULL);
}

/* What a Linux guest does after changing leaves: PASID-based IOTLB */
static void inv_pasid(Env *e)
{
    qvtd_inv_piotlb_pasid(&e->v, DID, 0);
}

/* intel_pasid_setup_page_snoop_control(): PGSNP, then both caches */
static void set_pgsnp(Env *e, bool on)
{
    qvtd_pasid_set_pgsnp(&e->v, e->pe, on);
    qvtd_inv_pasid_cache_pasid(&e->v, DID, 0);
    qvtd_inv_piotlb_pasid(&e->v, DID, 0);
}

static uint32_t fill(Env *e, uint64_t iova, uint32_t len)
{
    return qiov_dma(e->d, IOASID_VFIO_OP_FILL, 0, iova, len, true);
}

static void assert_translation(Env *e, const char *want)
{
    char buf[32];

    g_assert_cmpstr(qie_translation(e, buf, sizeof(buf)), ==, want);
}

static void assert_fault(Env *e, uint32_t status, unsigned code,
                         uint64_t iova)
{
    g_assert_cmphex(status, ==, IOASID_VFIO_STATUS_ERROR |
                    (code << IOASID_VFIO_STATUS_CODE_SHIFT));
    g_assert_cmphex(qiov_rd64(e->d, IOASID_VFIO_REG_FAULT_ADDR), ==, iova);
}

/* The fault the vIOMMU recorded for the device's last faulting request */
static void assert_viommu_fault(Env *e, unsigned reason, uint64_t iova)
{
    uint64_t addr;
    uint16_t sid;

    g_assert_cmphex(qvtd_take_fault(&e->v, &addr, &sid), ==, reason);
    g_assert_cmphex(addr, ==, iova & ~(PG - 1));
    g_assert_cmphex(sid, ==, QIE_SID);
}

/* The host maps @iova to @gpa, whatever the mapping's extent */
static void assert_maps(Env *e, uint64_t iova, uint64_t gpa)
{
    QDict *s = qie_space(e);
    QDict *m = qiov_find_mapping(s, iova);

    g_assert(m);
    g_assert_cmphex(qdict_get_u64(m, "addr") + iova -
                    qdict_get_u64(m, "iova"), ==, gpa);
    qobject_unref(s);
}

/* The requested-block-nosnoop flag of the host mapping at @iova */
static bool requested_block(Env *e, uint64_t iova)
{
    QDict *s = qie_space(e);
    QDict *m = qiov_find_mapping(s, iova);
    bool r;

    g_assert(m);
    r = qdict_get_bool(m, "requested-block-nosnoop");
    qobject_unref(s);
    return r;
}

/* ---- start-up and capabilities ---- */

static void check_accepted(bool sc)
{
    Env e;
    uint64_t ecap;

    fs_start(&e, sc, NULL);
    ecap = qvtd_readq(&e.v, QVTD_REG_ECAP);
    g_assert_true(ecap & QVTD_ECAP_FLTS);
    g_assert_false(ecap & QVTD_ECAP_SLTS);
    g_assert_cmpint(!!(ecap & QVTD_ECAP_SC), ==, sc);
    g_assert_true(qvtd_readq(&e.v, QVTD_REG_CAP) & QVTD_CAP_FS1GP);
    /* translation off: guest RAM 1:1 */
    assert_translation(&e, "identity");
    assert_maps(&e, 0x1000, 0x1000);

    qvtd_set_translation(&e.v, true);
    assert_translation(&e, "first-stage");
    g_assert_cmpuint(qie_space_u64(&e, "mapping-count"), ==, 0);
    assert_fault(&e, fill(&e, IOVA, 64), IOASID_VFIO_ERR_NO_MAPPING, IOVA);
    qie_stop(&e);
}

static void test_accepted_sc_on(void)
{
    check_accepted(true);
}

static void test_accepted_sc_off(void)
{
    check_accepted(false);
}

/* ---- PGSNP ---- */

static void test_pgsnp(void)
{
    Env e;
    uint64_t before;

    fs_start(&e, true, NULL);
    qvtd_fs_map(&e.v, e.top, IOVA, GPA, 4 * PG, QVTD_PAGE_4K,
                QVTD_FS_RW_LEAF);
    qvtd_set_translation(&e.v, true);
    /* the replay at TE: one host mapping, not snooped */
    qie_assert_mapping(&e, IOVA, 4 * PG, GPA, false);
    g_assert_false(requested_block(&e, IOVA));
    before = qie_nosnoop_bytes(&e);
    g_assert_cmphex(fill(&e, IOVA, 64), ==, IOASID_VFIO_STATUS_DONE);
    g_assert_cmpuint(qie_nosnoop_bytes(&e) - before, ==, 64);

    /* the guest's VFIO enforces coherency: PGSNP, the guest asked */
    set_pgsnp(&e, true);
    qie_assert_mapping(&e, IOVA, 4 * PG, GPA, true);
    g_assert_true(requested_block(&e, IOVA));
    before = qie_nosnoop_bytes(&e);
    g_assert_cmphex(fill(&e, IOVA + PG, 64), ==, IOASID_VFIO_STATUS_DONE);
    g_assert_cmpuint(qie_nosnoop_bytes(&e), ==, before);

    set_pgsnp(&e, false);
    qie_assert_mapping(&e, IOVA, 4 * PG, GPA, false);
    qie_stop(&e);
}

/* Without Snoop Control PGSNP is reserved: the PASID entry is invalid */
static void test_pgsnp_reserved(void)
{
    Env e;

    fs_start(&e, false, NULL);
    qvtd_fs_map(&e.v, e.top, IOVA, GPA, PG, QVTD_PAGE_4K, QVTD_FS_RW_LEAF);
    qvtd_set_translation(&e.v, true);
    qie_assert_mapping(&e, IOVA, PG, GPA, false);

    set_pgsnp(&e, true);
    g_assert_cmpuint(qie_space_u64(&e, "mapping-count"), ==, 0);
    assert_translation(&e, "blocked");
    assert_fault(&e, fill(&e, IOVA, 64), IOASID_VFIO_ERR_NO_MAPPING, IOVA);
    assert_viommu_fault(&e, FR_PASID_ENTRY_INV, IOVA);

    set_pgsnp(&e, false);
    qie_assert_mapping(&e, IOVA, PG, GPA, false);
    assert_translation(&e, "first-stage");
    qie_stop(&e);
}

/* ---- entries ---- */

/* Requests without PASID are user requests: U/S at every level */
static void test_user_bit(void)
{
    Env e;

    fs_start(&e, true, NULL);
    qvtd_fs_map(&e.v, e.top, IOVA, GPA, 2 * PG, QVTD_PAGE_4K,
                QVTD_FS_RW_LEAF);
    qvtd_set_translation(&e.v, true);
    qie_assert_mapping(&e, IOVA, 2 * PG, GPA, false);

    /* a leaf without U/S */
    qvtd_fs_update(&e.v, e.top, IOVA + PG, QVTD_PAGE_4K, QVTD_FS_US, 0);
    inv_pasid(&e);
    qie_assert_mapping(&e, IOVA, PG, GPA, false);
    qie_assert_unmapped(&e, IOVA + PG);
    assert_fault(&e, fill(&e, IOVA + PG, 64), IOASID_VFIO_ERR_NO_MAPPING,
                 IOVA + PG);
    assert_viommu_fault(&e, FR_FS_US, IOVA + PG);

    /* a directory without U/S: all below it goes */
    qtest_writeq(e.d->qts, qvtd_fs_entry_addr(&e.v, e.top, IOVA, 3),
                 qtest_readq(e.d->qts,
                             qvtd_fs_entry_addr(&e.v, e.top, IOVA, 3)) &
                 ~QVTD_FS_US);
    inv_pasid(&e);
    g_assert_cmpuint(qie_space_u64(&e, "mapping-count"), ==, 0);
    qie_stop(&e);
}

/* A reserved bit at any level unmaps everything below the entry */
static void test_reserved_bits(void)
{
    static const struct {
        int level;
        uint64_t bit;
    } cases[] = {
        { 4, QVTD_FS_PS },          /* no 512 GiB pages */
        { 4, 1ULL << 50 },          /* above the 48-bit address width */
        { 3, 1ULL << 48 },
        { 2, 1ULL << 51 },
        { 1, 1ULL << 49 },
    };
    Env e;
    unsigned i;

    fs_start(&e, true, NULL);
    qvtd_fs_map(&e.v, e.top, IOVA, GPA, 2 * PG, QVTD_PAGE_4K,
                QVTD_FS_RW_LEAF);
    qvtd_set_translation(&e.v, true);
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        uint64_t a = qvtd_fs_entry_addr(&e.v, e.top, IOVA, cases[i].level);
        uint64_t old = qtest_readq(e.d->qts, a);

        assert_maps(&e, IOVA, GPA);
        assert_maps(&e, IOVA + PG, GPA + PG);
        qtest_writeq(e.d->qts, a, old | cases[i].bit);
        inv_pasid(&e);
        qie_assert_unmapped(&e, IOVA);
        assert_fault(&e, fill(&e, IOVA, 64), IOASID_VFIO_ERR_NO_MAPPING,
                     IOVA);
        qtest_writeq(e.d->qts, a, old);
        inv_pasid(&e);
    }
    assert_maps(&e, IOVA, GPA);
    assert_maps(&e, IOVA + PG, GPA + PG);

    /* a 2 MiB leaf with an address bit below its size set (bit 13) */
    qvtd_fs_map(&e.v, e.top, 0x40000000, GPA, QVTD_PAGE_2M, QVTD_PAGE_2M,
                QVTD_FS_RW_LEAF | (1ULL << 13));
    inv_pasid(&e);
    qie_assert_unmapped(&e, 0x40000000);
    /* bit 12 of a large leaf is PAT, not an address bit */
    qvtd_fs_map(&e.v, e.top, 0x40000000, GPA, QVTD_PAGE_2M, QVTD_PAGE_2M,
                QVTD_FS_RW_LEAF | (1ULL << 12));
    inv_pasid(&e);
    qie_assert_mapping(&e, 0x40000000, QVTD_PAGE_2M, GPA, false);
    qie_stop(&e);
}

/* Write needs R/W at every level; read needs only present */
static void test_write_permission(void)
{
    Env e;
    uint64_t a;

    fs_start(&e, true, NULL);
    qvtd_fs_map(&e.v, e.top, IOVA, GPA, 2 * PG, QVTD_PAGE_4K,
                QVTD_FS_RW_LEAF);
    qvtd_set_translation(&e.v, true);
    a = qvtd_fs_entry_addr(&e.v, e.top, IOVA, 3);
    qtest_writeq(e.d->qts, a, qtest_readq(e.d->qts, a) & ~QVTD_FS_RW);
    inv_pasid(&e);
    qie_assert_mapping(&e, IOVA, 2 * PG, GPA, false);
    assert_fault(&e, fill(&e, IOVA, 64), IOASID_VFIO_ERR_PERMISSION, IOVA);
    qtest_writeq(e.d->qts, a, qtest_readq(e.d->qts, a) | QVTD_FS_RW);
    qvtd_fs_update(&e.v, e.top, IOVA + PG, QVTD_PAGE_4K, QVTD_FS_RW, 0);
    inv_pasid(&e);
    /* page 0 -> page 1: reading the read-only page is fine */
    g_assert_cmphex(qiov_dma(e.d, IOASID_VFIO_OP_COPY, IOVA + PG, IOVA, 64,
                             false), ==, IOASID_VFIO_STATUS_DONE);
    assert_fault(&e, fill(&e, IOVA + PG, 64), IOASID_VFIO_ERR_PERMISSION,
                 IOVA + PG);
    qie_stop(&e);
}

/* Upper-half IOVAs map at their sign-extended address; the rest faults */
static void test_canonical(void)
{
    Env e;
    uint8_t got[16];

    fs_start(&e, true, NULL);
    qvtd_fs_map(&e.v, e.top, UPPER_IOVA, GPA, PG, QVTD_PAGE_4K,
                QVTD_FS_RW_LEAF);
    qvtd_fs_map(&e.v, e.top, TOP_IOVA, GPA + PG, PG, QVTD_PAGE_4K,
                QVTD_FS_RW_LEAF);
    qvtd_set_translation(&e.v, true);
    qie_assert_mapping(&e, UPPER_IOVA, PG, GPA, false);
    qie_assert_mapping(&e, TOP_IOVA, PG, GPA + PG, false);
    qie_assert_unmapped(&e, NONCANON_IOVA);

    qiov_wr32(e.d, IOASID_VFIO_REG_PATTERN, 0x5a5a5a5a);
    g_assert_cmphex(fill(&e, TOP_IOVA + PG - 16, 16), ==,
                    IOASID_VFIO_STATUS_DONE);
    qtest_memread(e.d->qts, GPA + 2 * PG - 16, got, sizeof(got));
    g_assert_cmphex(got[15], ==, 0x5a);
    /* the same table entry, reached by a non-canonical address */
    assert_fault(&e, fill(&e, NONCANON_IOVA, 64), IOASID_VFIO_ERR_NO_MAPPING,
                 NONCANON_IOVA);
    assert_viommu_fault(&e, FR_FS_NON_CANONICAL, NONCANON_IOVA);

    /* unmapping the top page works up to the last byte */
    qvtd_fs_update(&e.v, e.top, TOP_IOVA, QVTD_PAGE_4K, QVTD_FS_P, 0);
    qvtd_inv_piotlb_page(&e.v, DID, 0, TOP_IOVA, 0);
    qie_assert_unmapped(&e, TOP_IOVA);
    qie_assert_mapping(&e, UPPER_IOVA, PG, GPA, false);
    qie_stop(&e);
}

/*
 * Found by the random test: a device that loses its context loses its
 * upper-half mappings too.  Unmapping a whole address space stopped at the
 * second-stage address width (2^48), and the relay merged the UNMAP that
 * ends at 2^64 with the next one from 0 into a run that wrapped: both
 * left upper-half mappings on the host.
 */
static void test_upper_half_teardown(void)
{
    Env e;

    fs_start(&e, true, NULL);
    qvtd_fs_map(&e.v, e.top, UPPER_IOVA, GPA, PG, QVTD_PAGE_4K,
                QVTD_FS_RW_LEAF);
    qvtd_fs_map(&e.v, e.top, TOP_IOVA, GPA + PG, PG, QVTD_PAGE_4K,
                QVTD_FS_RW_LEAF);
    qvtd_fs_map(&e.v, e.top, IOVA, GPA, PG, QVTD_PAGE_4K, QVTD_FS_RW_LEAF);
    qvtd_set_translation(&e.v, true);
    g_assert_cmpuint(qie_space_u64(&e, "mapping-count"), ==, 3);

    /* the context entry goes: a context-cache invalidation unmaps all */
    qvtd_context_clear(&e.v, QIE_SID);
    qvtd_inv_context_global(&e.v);
    g_assert_cmpuint(qie_space_u64(&e, "mapping-count"), ==, 0);
    assert_fault(&e, fill(&e, UPPER_IOVA, 64), IOASID_VFIO_ERR_NO_MAPPING,
                 UPPER_IOVA);
    qie_stop(&e);
}

/* 2 MiB leaves always, 1 GiB leaves only with CAP.FS1GP */
static void check_large_leaves(bool fs1gp)
{
    Env e;

    fs_start(&e, true, fs1gp ? NULL : ",fs1gp=off");
    g_assert_cmpint(!!(qvtd_readq(&e.v, QVTD_REG_CAP) & QVTD_CAP_FS1GP), ==,
                    fs1gp);
    qvtd_fs_map(&e.v, e.top, 0x40000000, 0x00200000, QVTD_PAGE_2M,
                QVTD_PAGE_2M, QVTD_FS_RW_LEAF);
    qvtd_fs_map(&e.v, e.top, 0x80000000, 0x40000000, QVTD_PAGE_1G,
                QVTD_PAGE_1G, QVTD_FS_RO_LEAF);
    qvtd_set_translation(&e.v, true);
    qie_assert_mapping(&e, 0x40000000, QVTD_PAGE_2M, 0x00200000, false);
    if (fs1gp) {
        QDict *s = qie_space(&e);
        QDict *m = qiov_find_mapping(s, 0x80000000);

        g_assert(m);
        g_assert_cmphex(qdict_get_u64(m, "size"), ==, QVTD_PAGE_1G);
        g_assert_cmphex(qdict_get_u64(m, "addr"), ==, 0x40000000);
        g_assert_false(qdict_get_bool(m, "write"));
        qobject_unref(s);
        g_assert_cmphex(qiov_dma(e.d, IOASID_VFIO_OP_COPY, 0x80001000,
                                 0x40000000, 64, false), ==,
                        IOASID_VFIO_STATUS_DONE);
    } else {
        qie_assert_unmapped(&e, 0x80000000);
    }
    qie_stop(&e);
}

static void test_large_leaves(void)
{
    check_large_leaves(true);
}

static void test_large_leaves_no_fs1gp(void)
{
    check_large_leaves(false);
}

/* FLPM=1 asks for 5-level paging, which the vIOMMU does not offer */
static void test_five_level(void)
{
    Env e;

    fs_start(&e, true, NULL);
    qvtd_fs_map(&e.v, e.top, IOVA, GPA, PG, QVTD_PAGE_4K, QVTD_FS_RW_LEAF);
    qvtd_set_translation(&e.v, true);
    qie_assert_mapping(&e, IOVA, PG, GPA, false);
    qtest_writeq(e.d->qts, e.pe + 16, e.top | (1ULL << 2));
    qvtd_inv_pasid_cache_pasid(&e.v, DID, 0);
    g_assert_cmpuint(qie_space_u64(&e, "mapping-count"), ==, 0);
    assert_translation(&e, "blocked");
    qie_stop(&e);
}

/* ---- what the guest need not invalidate ---- */

/*
 * A new first-stage entry need not be invalidated (VT-d 3.x 6.1), and
 * Linux does not: the device's first access walks the table there.  A
 * removed entry must be invalidated, and stays mapped until it is.
 */
static void test_miss_walk(void)
{
    Env e;
    uint64_t calls;

    fs_start(&e, true, NULL);
    qvtd_set_translation(&e.v, true);
    set_pgsnp(&e, true);
    qvtd_fs_map(&e.v, e.top, IOVA, GPA, 4 * PG, QVTD_PAGE_4K,
                QVTD_FS_RW_LEAF);
    qie_assert_unmapped(&e, IOVA);
    calls = qie_space_u64(&e, "map-calls");

    g_assert_cmphex(fill(&e, IOVA + 64, 64), ==, IOASID_VFIO_STATUS_DONE);
    /* the page the device touched, with the PASID entry's PGSNP */
    qie_assert_mapping(&e, IOVA, PG, GPA, true);
    g_assert_true(requested_block(&e, IOVA));
    qie_assert_unmapped(&e, IOVA + PG);
    g_assert_cmpuint(qie_space_u64(&e, "map-calls") - calls, ==, 1);
    /* a copy across both pages walks the second one */
    g_assert_cmphex(qiov_dma(e.d, IOASID_VFIO_OP_COPY, IOVA, IOVA + PG - 32,
                             64, false), ==, IOASID_VFIO_STATUS_DONE);
    qie_assert_mapping(&e, IOVA, PG, GPA, true);
    qie_assert_mapping(&e, IOVA + PG, PG, GPA + PG, true);
    g_assert_cmpuint(qie_space_u64(&e, "map-calls") - calls, ==, 2);
    /* a transfer over two pages neither walked yet: each miss walks */
    g_assert_cmphex(fill(&e, IOVA + 3 * PG - 32, 64), ==,
                    IOASID_VFIO_STATUS_DONE);
    qie_assert_mapping(&e, IOVA + 2 * PG, PG, GPA + 2 * PG, true);
    qie_assert_mapping(&e, IOVA + 3 * PG, PG, GPA + 3 * PG, true);

    /* removed, not yet invalidated: still mapped, as an IOTLB holds it */
    qvtd_fs_update(&e.v, e.top, IOVA, QVTD_PAGE_4K, QVTD_FS_P, 0);
    qie_assert_mapping(&e, IOVA, PG, GPA, true);
    qvtd_inv_piotlb_page(&e.v, DID, 0, IOVA, 0);
    qie_assert_unmapped(&e, IOVA);
    qie_assert_mapping(&e, IOVA + PG, PG, GPA + PG, true);
    assert_fault(&e, fill(&e, IOVA, 64), IOASID_VFIO_ERR_NO_MAPPING, IOVA);
    qie_stop(&e);
}

static bool nc_flag(Env *e, const char *key)
{
    QDict *nc = qiov_query_noncoherent(e->d->qts, QIE_PATH, NULL, NULL);
    bool v;

    g_assert(nc);
    v = qdict_get_bool(nc, key);
    qobject_unref(nc);
    return v;
}

/*
 * Noncoherent DMA, condition (b), before the device's first access: the
 * shadow fills then, so while nothing is mapped PGSNP says whether
 * no-snoop can pass, whatever the guest maps.
 */
static void test_noncoherent_before_first_access(void)
{
    Env e;

    fs_start(&e, true, NULL);
    qvtd_set_translation(&e.v, true);
    g_assert_true(nc_flag(&e, "nosnoop-enabled"));
    qvtd_fs_map(&e.v, e.top, IOVA, GPA, PG, QVTD_PAGE_4K, QVTD_FS_RW_LEAF);
    /* no PGSNP: the first access maps a page no-snoop passes through */
    g_assert_cmphex(fill(&e, IOVA, 64), ==, IOASID_VFIO_STATUS_DONE);
    g_assert_true(nc_flag(&e, "nosnoop-passes"));
    g_assert_true(nc_flag(&e, "noncoherent"));

    /* everything unmapped: the last answer holds (no flapping) */
    qvtd_fs_update(&e.v, e.top, IOVA, QVTD_PAGE_4K, QVTD_FS_P, 0);
    inv_pasid(&e);
    g_assert_cmpuint(qie_space_u64(&e, "mapping-count"), ==, 0);
    g_assert_true(nc_flag(&e, "nosnoop-passes"));

    /* PGSNP with nothing mapped: no-snoop cannot pass, at once */
    set_pgsnp(&e, true);
    g_assert_false(nc_flag(&e, "nosnoop-passes"));
    qvtd_fs_update(&e.v, e.top, IOVA, QVTD_PAGE_4K, 0, QVTD_FS_P);
    g_assert_cmphex(fill(&e, IOVA, 64), ==, IOASID_VFIO_STATUS_DONE);
    qie_assert_mapping(&e, IOVA, PG, GPA, true);
    g_assert_false(nc_flag(&e, "nosnoop-passes"));
    qie_stop(&e);
}

/* The relay never writes the guest's tables: no accessed/dirty updates */
static void test_accessed_dirty(void)
{
    Env e;
    uint64_t dir = QVTD_FS_P | QVTD_FS_RW | QVTD_FS_US;
    uint64_t leaf = dir, a[4];
    int level;

    fs_start(&e, true, NULL);
    qvtd_fs_map(&e.v, e.top, IOVA, GPA, PG, QVTD_PAGE_4K, leaf);
    for (level = 4; level > 1; level--) {
        uint64_t p = qvtd_fs_entry_addr(&e.v, e.top, IOVA, level);

        qtest_writeq(e.d->qts, p, qtest_readq(e.d->qts, p) & ~QVTD_FS_A);
    }
    for (level = 4; level >= 1; level--) {
        a[level - 1] = qtest_readq(e.d->qts,
                                   qvtd_fs_entry_addr(&e.v, e.top, IOVA,
                                                      level));
        g_assert_false(a[level - 1] & (QVTD_FS_A | QVTD_FS_D));
    }
    qvtd_set_translation(&e.v, true);
    qie_assert_mapping(&e, IOVA, PG, GPA, false);
    /* mapped without invalidating: the device's access walks there */
    qvtd_fs_map(&e.v, e.top, IOVA + PG, GPA + PG, PG, QVTD_PAGE_4K, leaf);
    /* through the host table, and through a miss walk */
    g_assert_cmphex(fill(&e, IOVA, 64), ==, IOASID_VFIO_STATUS_DONE);
    g_assert_cmphex(fill(&e, IOVA + PG, 64), ==, IOASID_VFIO_STATUS_DONE);
    for (level = 4; level >= 1; level--) {
        g_assert_cmphex(qtest_readq(e.d->qts,
                                    qvtd_fs_entry_addr(&e.v, e.top, IOVA,
                                                       level)), ==,
                        a[level - 1]);
    }
    g_assert_false(qtest_readq(e.d->qts, qvtd_fs_entry_addr(&e.v, e.top,
                                                            IOVA + PG, 1)) &
                   (QVTD_FS_A | QVTD_FS_D));
    qie_stop(&e);
}

/* ---- invalidations and PASID entry switches ---- */

/* A domain-based page-selective invalidation drops the whole domain */
static void test_domain_psi(void)
{
    Env e;

    fs_start(&e, true, NULL);
    qvtd_fs_map(&e.v, e.top, IOVA, GPA, PG, QVTD_PAGE_4K, QVTD_FS_RW_LEAF);
    qvtd_set_translation(&e.v, true);
    qie_assert_mapping(&e, IOVA, PG, GPA, false);
    qvtd_fs_update(&e.v, e.top, IOVA, QVTD_PAGE_4K, QVTD_FS_P, 0);
    /* an address far from the change: first-stage entries go anyway */
    qvtd_inv_iotlb_page(&e.v, DID, 0x12345000, 0);
    qie_assert_unmapped(&e, IOVA);
    qie_stop(&e);
}

static void test_pasid_entry_switch(void)
{
    Env e;

    fs_start(&e, true, NULL);
    qvtd_fs_map(&e.v, e.top, IOVA, GPA, PG, QVTD_PAGE_4K, QVTD_FS_RW_LEAF);
    qvtd_set_translation(&e.v, true);
    qie_assert_mapping(&e, IOVA, PG, GPA, false);

    /* pass-through: guest RAM 1:1, as with translation off */
    qvtd_pasid_entry_set(&e.v, e.pe, QVTD_PE_PGTT_PT, 0, DID, false);
    qvtd_inv_pasid_cache_pasid(&e.v, DID, 0);
    assert_translation(&e, "pass-through");
    qie_assert_unmapped(&e, IOVA);
    assert_maps(&e, 0x1000, 0x1000);

    /* second-stage is not offered with x-flts=on: the entry is invalid */
    qvtd_pasid_entry_set(&e.v, e.pe, QVTD_PE_PGTT_SS, qvtd_sl_new(&e.v),
                         DID, false);
    qvtd_inv_pasid_cache_pasid(&e.v, DID, 0);
    assert_translation(&e, "blocked");
    g_assert_cmpuint(qie_space_u64(&e, "mapping-count"), ==, 0);

    /* back to first-stage, with PGSNP */
    qvtd_pasid_entry_set(&e.v, e.pe, QVTD_PE_PGTT_FS, e.top, DID, true);
    qvtd_inv_pasid_cache_pasid(&e.v, DID, 0);
    qvtd_inv_piotlb_pasid(&e.v, DID, 0);
    assert_translation(&e, "first-stage");
    qie_assert_mapping(&e, IOVA, PG, GPA, true);
    g_assert_cmpuint(qie_space_u64(&e, "mapping-count"), ==, 1);

    /* torn down (P=0, FPD kept, as Linux does) */
    qtest_writeq(e.d->qts, e.pe, 1ULL << 1);
    qvtd_inv_pasid_cache_pasid(&e.v, DID, 0);
    qvtd_inv_piotlb_pasid(&e.v, DID, 0);
    g_assert_cmpuint(qie_space_u64(&e, "mapping-count"), ==, 0);
    assert_translation(&e, "blocked");
    qie_stop(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (!qtest_has_device("intel-iommu") || !qtest_has_device("ioasid-vfio")) {
        return g_test_run();
    }
    qtest_add_func("/ioasid-vfio/first-stage/accepted/snoop-control=on",
                   test_accepted_sc_on);
    qtest_add_func("/ioasid-vfio/first-stage/accepted/snoop-control=off",
                   test_accepted_sc_off);
    qtest_add_func("/ioasid-vfio/first-stage/pgsnp", test_pgsnp);
    qtest_add_func("/ioasid-vfio/first-stage/pgsnp-reserved-without-sc",
                   test_pgsnp_reserved);
    qtest_add_func("/ioasid-vfio/first-stage/user-bit", test_user_bit);
    qtest_add_func("/ioasid-vfio/first-stage/reserved-bits",
                   test_reserved_bits);
    qtest_add_func("/ioasid-vfio/first-stage/write-permission",
                   test_write_permission);
    qtest_add_func("/ioasid-vfio/first-stage/canonical", test_canonical);
    qtest_add_func("/ioasid-vfio/first-stage/upper-half-teardown",
                   test_upper_half_teardown);
    qtest_add_func("/ioasid-vfio/first-stage/large-leaves",
                   test_large_leaves);
    qtest_add_func("/ioasid-vfio/first-stage/large-leaves/fs1gp=off",
                   test_large_leaves_no_fs1gp);
    qtest_add_func("/ioasid-vfio/first-stage/five-level", test_five_level);
    qtest_add_func("/ioasid-vfio/first-stage/miss-walk", test_miss_walk);
    qtest_add_func("/ioasid-vfio/first-stage/noncoherent-before-first-access",
                   test_noncoherent_before_first_access);
    qtest_add_func("/ioasid-vfio/first-stage/accessed-dirty",
                   test_accessed_dirty);
    qtest_add_func("/ioasid-vfio/first-stage/domain-psi", test_domain_psi);
    qtest_add_func("/ioasid-vfio/first-stage/pasid-entry-switch",
                   test_pasid_entry_switch);
    return g_test_run();
}
