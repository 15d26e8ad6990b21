/*
 * QTest: PASID-granular address spaces (ioasid-vfio requests with PASID)
 *
 * A guest driver that attaches domains to PASIDs of its device
 * (iommu_attach_device_pasid()) gets, for each (device, PASID), a PASID
 * entry of its own in scalable-mode VT-d, with its own tables and PGSNP.
 * Each test programs the vIOMMU as such a guest does (libqos/vtd.c),
 * points the device's PASID register at a PASID, and checks what reached
 * that PASID's host IOASID (query-ioasid), what its DMA does and what the
 * vIOMMU records: one test per rule of the contract in
 * docs/specs/ioasid-vfio.rst ("Requests with PASID") and
 * docs/devel/ioasid-relay.rst ("PASID-granular address spaces").
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "libqos/ioasid-env.h"
#include "standard-headers/linux/pci_regs.h"

#define DID             QIE_DID
#define IOVA            QIE_IOVA
#define GPA             QIE_GPA
#define PG              QIE_PG
#define CAP             IOASID_VFIO_PASID_CAP_OFFSET
/* Two PASIDs, each in a domain of its own, as Linux gives them */
#define PASID_A         1
#define PASID_B         2
#define DID_A           6
#define DID_B           7
#define GPA_A           0x03000000ULL
#define GPA_B           0x04000000ULL

/* VT-d fault reason QEMU records for a PASID entry that is not present */
#define FR_PASID_ENTRY_P        0x59

typedef QIoasidEnv Env;

/* Scalable mode with PASIDs (x-pasid-mode=on), queued invalidation */
static void pasid_start(Env *e, bool fs, bool sc, const char *more)
{
    g_autofree char *opts = g_strdup_printf(",x-pasid-mode=on,"
                                            "snoop-control=%s%s",
                                            sc ? "on" : "off", more ?: "");

    if (fs) {
        qie_start_fs(e, "2G", opts, NULL);
    } else {
        qie_start(e, "2G", opts, NULL, NULL, true, true);
    }
}

static void pasid_enable(Env *e, bool on)
{
    qiov_ext_config_writew(e->d, CAP + PCI_PASID_CTRL,
                           on ? PCI_PASID_CTRL_ENABLE : 0);
}

/*
 * What iommu_attach_device_pasid() makes the guest's VT-d driver do: the
 * PASID entry (P last), then a PASID-selective PASID-cache invalidation.
 * Returns the entry's address.
 */
static uint64_t pasid_attach(Env *e, uint32_t pasid, uint16_t did,
                             uint64_t top, bool pgsnp)
{
    uint64_t pe = qvtd_pasid_entry_addr(&e->v, QIE_SID, pasid);

    qvtd_pasid_entry_set(&e->v, pe, e->fs ? QVTD_PE_PGTT_FS : QVTD_PE_PGTT_SS,
                         top, did, pgsnp);
    qvtd_inv_pasid_cache_pasid(&e->v, did, pasid);
    return pe;
}

/* intel_pasid_tear_down_entry(): P=0, then both caches, with the old DID */
static void pasid_detach(Env *e, uint64_t pe, uint16_t did, uint32_t pasid)
{
    qtest_writeq(e->d->qts, pe, 0);
    qvtd_inv_pasid_cache_pasid(&e->v, did, pasid);
    qvtd_inv_piotlb_pasid(&e->v, did, pasid);
}

static uint64_t new_table(Env *e)
{
    return e->fs ? qvtd_fs_new(&e->v) : qvtd_sl_new(&e->v);
}

/* Map 4 KiB pages, leaf bits for the table format; @snp: SNP (SS only) */
static void map(Env *e, uint64_t top, uint64_t iova, uint64_t gpa,
                uint64_t size, bool snp)
{
    if (e->fs) {
        qvtd_fs_map(&e->v, top, iova, gpa, size, QVTD_PAGE_4K,
                    QVTD_FS_RW_LEAF);
    } else {
        qvtd_sl_map(&e->v, top, iova, gpa, size, QVTD_PAGE_4K,
                    QVTD_SL_R | QVTD_SL_W | (snp ? QVTD_SL_SNP : 0));
    }
}

/* Run a command with the PASID register set to @pasid_reg */
static uint32_t dma(Env *e, uint32_t pasid_reg, unsigned op, uint64_t src,
                    uint64_t dst, uint32_t len, bool nosnoop)
{
    qiov_wr32(e->d, IOASID_VFIO_REG_PASID, pasid_reg);
    return qiov_dma(e->d, op, src, dst, len, nosnoop);
}

static uint32_t fill_pasid(Env *e, uint32_t pasid, uint64_t iova,
                           uint32_t len, bool nosnoop)
{
    return dma(e, IOASID_VFIO_PASID_VALID | pasid, IOASID_VFIO_OP_FILL, 0,
               iova, len, nosnoop);
}

static void assert_fault(Env *e, uint32_t status, unsigned code,
                         uint64_t iova)
{
    g_assert_cmphex(status, ==, IOASID_VFIO_STATUS_ERROR |
                    (code << IOASID_VFIO_STATUS_CODE_SHIFT));
    g_assert_cmphex(qiov_rd64(e->d, IOASID_VFIO_REG_FAULT_ADDR), ==, iova);
}

/* The IOASID @pasid of the device is attached to (new ref), or NULL */
static QDict *space_of(Env *e, int64_t pasid)
{
    return qiov_query_space_pasid(e->d->qts, "ioasid-default", QIE_PATH,
                                  pasid);
}

/* The host mapping of @pasid at @iova: [iova, +size) -> gpa, @block */
static void assert_mapping(Env *e, int64_t pasid, uint64_t iova,
                           uint64_t size, uint64_t gpa, bool block)
{
    QDict *s = space_of(e, pasid);
    QDict *m;

    g_assert(s);
    m = qiov_find_mapping(s, iova);
    g_assert(m);
    g_assert_cmphex(qdict_get_u64(m, "iova"), ==, iova);
    g_assert_cmphex(qdict_get_u64(m, "size"), ==, size);
    g_assert_cmphex(qdict_get_u64(m, "addr"), ==, gpa);
    g_assert_cmpint(qdict_get_bool(m, "block-nosnoop"), ==, block);
    qobject_unref(s);
}

static bool has_mapping(Env *e, int64_t pasid, uint64_t iova)
{
    QDict *s = space_of(e, pasid);
    bool found;

    g_assert(s);
    found = qiov_find_mapping(s, iova);
    qobject_unref(s);
    return found;
}

static uint64_t mapping_count(Env *e, int64_t pasid)
{
    QDict *s = space_of(e, pasid);
    uint64_t n;

    g_assert(s);
    n = qdict_get_u64(s, "mapping-count");
    qobject_unref(s);
    return n;
}

/* How many IOASIDs the device's context holds, and how many attachments */
static unsigned count_spaces(Env *e, unsigned *attachments)
{
    QDict *ctx = qiov_query_context(e->d->qts, "ioasid-default");
    QListEntry *le;
    unsigned n = 0;

    *attachments = 0;
    QLIST_FOREACH_ENTRY(qdict_get_qlist(ctx, "ioasids"), le) {
        QDict *s = qobject_to(QDict, qlist_entry_obj(le));

        n++;
        *attachments += qlist_size(qdict_get_qlist(s, "attachments"));
    }
    qobject_unref(ctx);
    return n;
}

/*
 * A PASID whose entry the guest tore down leaves the device's use in a
 * bottom half: each qtest command is a main-loop iteration, so it is gone
 * after a few at most.
 */
static void wait_released(Env *e, int64_t pasid)
{
    QDict *s;
    int i;

    for (i = 0; i < 100; i++) {
        s = space_of(e, pasid);
        if (!s) {
            return;
        }
        qobject_unref(s);
        qtest_clock_step(e->d->qts, 1);
    }
    g_assert_not_reached();
}

/*
 * The usual start: PASID_A (domain DID_A) with @size bytes at @iova
 * mapped to GPA_A in a table of its own, translation on, PASID enabled.
 * Returns PASID_A's table, and its PASID entry in *@pe if asked.
 */
static uint64_t pasid_a_start(Env *e, bool fs, uint64_t iova, uint64_t size,
                              uint64_t *pe)
{
    uint64_t top;
    uint64_t entry;

    pasid_start(e, fs, true, NULL);
    top = new_table(e);
    map(e, top, iova, GPA_A, size, false);
    entry = pasid_attach(e, PASID_A, DID_A, top, false);
    qvtd_set_translation(&e->v, true);
    pasid_enable(e, true);
    if (pe) {
        *pe = entry;
    }
    return top;
}

static uint64_t nosnoop_bytes(Env *e)
{
    return qiov_rd64(e->d, IOASID_VFIO_REG_NOSNOOP_BYTES);
}

/* ---- the PASID capability and ECAP ---- */

static void test_capability(void)
{
    Env e;
    uint64_t ecap;
    uint32_t devcap2;

    pasid_start(&e, false, true, NULL);
    /* PCIe r6.0 7.8.8: ID 0x1B, version 1, at 0x100, the only one */
    g_assert_cmphex(qiov_ext_config_readl(e.d, CAP), ==,
                    PCI_EXT_CAP_ID_PASID | (1 << 16));
    /* Max PASID Width 20, no Execute, no Privileged Mode */
    g_assert_cmphex(qiov_ext_config_readw(e.d, CAP + PCI_PASID_CAP), ==,
                    20 << 8);
    /* only PASID Enable is writable; it resets to 0 */
    g_assert_cmphex(qiov_ext_config_readw(e.d, CAP + PCI_PASID_CTRL), ==, 0);
    qiov_ext_config_writew(e.d, CAP + PCI_PASID_CTRL, 0xffff);
    g_assert_cmphex(qiov_ext_config_readw(e.d, CAP + PCI_PASID_CTRL), ==,
                    PCI_PASID_CTRL_ENABLE);
    /* the PASID prefix is an End-End TLP prefix */
    devcap2 = qpci_config_readl(e.d->dev, e.d->exp_cap + PCI_EXP_DEVCAP2);
    g_assert_true(devcap2 & PCI_EXP_DEVCAP2_EE_PREFIX);

    /* the vIOMMU takes 20-bit PASIDs: ECAP.PASID, PSS = 19 */
    ecap = qvtd_readq(&e.v, QVTD_REG_ECAP);
    g_assert_true(ecap & QVTD_ECAP_PASID);
    g_assert_cmpuint((ecap >> QVTD_ECAP_PSS_SHIFT) & 0x1f, ==, 19);
    qie_stop(&e);

    /* without x-pasid-mode, neither */
    qie_start(&e, NULL, NULL, NULL, NULL, true, true);
    ecap = qvtd_readq(&e.v, QVTD_REG_ECAP);
    g_assert_false(ecap & QVTD_ECAP_PASID);
    g_assert_cmpuint((ecap >> QVTD_ECAP_PSS_SHIFT) & 0x1f, ==, 0);
    qie_stop(&e);
}

/* ---- the PASID register ---- */

static void test_register(void)
{
    Env e;
    uint8_t devctl;
    uint8_t got[64], zero[64] = { 0 };

    pasid_start(&e, false, true, NULL);
    /* reserved bits read as 0 */
    qiov_wr32(e.d, IOASID_VFIO_REG_PASID, 0xffffffff);
    g_assert_cmphex(qiov_rd32(e.d, IOASID_VFIO_REG_PASID), ==,
                    IOASID_VFIO_PASID_VALID | IOASID_VFIO_PASID_MASK);

    /* PASID_VALID with PASID Enable clear: code 5, no memory touched */
    map(&e, e.top, IOVA, GPA, PG, false);
    qvtd_set_translation(&e.v, true);
    qtest_memset(e.d->qts, GPA, 0, sizeof(got));
    qiov_wr32(e.d, IOASID_VFIO_REG_PATTERN, 0xdeadbeef);
    g_assert_cmphex(fill_pasid(&e, 0, IOVA, sizeof(got), false), ==,
                    IOASID_VFIO_STATUS_ERROR |
                    (IOASID_VFIO_ERR_PASID_DISABLED <<
                     IOASID_VFIO_STATUS_CODE_SHIFT));
    qtest_memread(e.d->qts, GPA, got, sizeof(got));
    g_assert_cmpmem(got, sizeof(got), zero, sizeof(zero));
    /* without PASID_VALID the same command is a request without PASID */
    g_assert_cmphex(dma(&e, IOASID_VFIO_PASID_MASK, IOASID_VFIO_OP_FILL, 0,
                        IOVA, sizeof(got), false), ==,
                    IOASID_VFIO_STATUS_DONE);
    qtest_memread(e.d->qts, GPA, got, 4);
    g_assert_cmphex((uint32_t)ldl_le_p(got), ==, 0xdeadbeef);

    /* Function Level Reset clears the register and PASID Enable */
    pasid_enable(&e, true);
    qiov_wr32(e.d, IOASID_VFIO_REG_PASID, IOASID_VFIO_PASID_VALID | 5);
    devctl = e.d->exp_cap + PCI_EXP_DEVCTL;
    qpci_config_writew(e.d->dev, devctl, qpci_config_readw(e.d->dev, devctl) |
                       PCI_EXP_DEVCTL_BCR_FLR);
    qpci_device_enable(e.d->dev);
    e.d->bar = qpci_iomap(e.d->dev, 0, NULL);
    g_assert_cmphex(qiov_rd32(e.d, IOASID_VFIO_REG_PASID), ==, 0);
    g_assert_cmphex(qiov_ext_config_readw(e.d, CAP + PCI_PASID_CTRL), ==, 0);
    qie_stop(&e);
}

/* ---- one address space per (device, PASID) ---- */

/*
 * Two PASIDs map the same IOVA to different pages, one with SNP (or PGSNP
 * under first stage): each DMA lands in its own page, each IOASID holds
 * its own mapping with its own block-nosnoop, and the request without
 * PASID still goes through the RID_PASID entry.
 */
static void check_two_pasids(bool fs, bool sc)
{
    Env e;
    uint64_t top_a, top_b, before;
    uint8_t got[4];
    unsigned atts;
    QDict *s;
    g_autofree char *hmp = NULL;

    pasid_start(&e, fs, sc, NULL);
    top_a = new_table(&e);
    top_b = new_table(&e);
    /* A snooped (SNP, or PGSNP) where the vIOMMU can say so; B not */
    map(&e, top_a, IOVA, GPA_A, 2 * PG, sc);
    map(&e, top_b, IOVA, GPA_B, 2 * PG, false);
    map(&e, e.top, IOVA, GPA, 2 * PG, false);
    pasid_attach(&e, PASID_A, DID_A, top_a, fs && sc);
    pasid_attach(&e, PASID_B, DID_B, top_b, false);
    qvtd_set_translation(&e.v, true);
    pasid_enable(&e, true);

    /* nothing attached for a PASID before its first request */
    g_assert_null(space_of(&e, PASID_A));
    qiov_wr32(e.d, IOASID_VFIO_REG_PATTERN, 0xaaaaaaaa);
    before = nosnoop_bytes(&e);
    g_assert_cmphex(fill_pasid(&e, PASID_A, IOVA, 64, true), ==,
                    IOASID_VFIO_STATUS_DONE);
    g_assert_cmpuint(nosnoop_bytes(&e) - before, ==, sc ? 0 : 64);
    qiov_wr32(e.d, IOASID_VFIO_REG_PATTERN, 0xbbbbbbbb);
    before = nosnoop_bytes(&e);
    g_assert_cmphex(fill_pasid(&e, PASID_B, IOVA, 64, true), ==,
                    IOASID_VFIO_STATUS_DONE);
    g_assert_cmpuint(nosnoop_bytes(&e) - before, ==, 64);
    qiov_wr32(e.d, IOASID_VFIO_REG_PATTERN, 0xcccccccc);
    g_assert_cmphex(dma(&e, 0, IOASID_VFIO_OP_FILL, 0, IOVA, 64, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    qtest_memread(e.d->qts, GPA_A, got, 4);
    g_assert_cmphex((uint32_t)ldl_le_p(got), ==, 0xaaaaaaaa);
    qtest_memread(e.d->qts, GPA_B, got, 4);
    g_assert_cmphex((uint32_t)ldl_le_p(got), ==, 0xbbbbbbbb);
    qtest_memread(e.d->qts, GPA, got, 4);
    g_assert_cmphex((uint32_t)ldl_le_p(got), ==, 0xcccccccc);

    /* a copy inside PASID B's space reads and writes there */
    g_assert_cmphex(dma(&e, IOASID_VFIO_PASID_VALID | PASID_B,
                        IOASID_VFIO_OP_COPY, IOVA, IOVA + PG, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    qtest_memread(e.d->qts, GPA_B + PG, got, 4);
    g_assert_cmphex((uint32_t)ldl_le_p(got), ==, 0xbbbbbbbb);

    /* three IOASIDs: the RID's and one per PASID, each attached once */
    g_assert_cmpuint(count_spaces(&e, &atts), ==, 3);
    g_assert_cmpuint(atts, ==, 3);
    assert_mapping(&e, PASID_A, IOVA, 2 * PG, GPA_A, sc);
    assert_mapping(&e, PASID_B, IOVA, 2 * PG, GPA_B, false);
    assert_mapping(&e, -1, IOVA, 2 * PG, GPA, false);
    s = space_of(&e, PASID_A);
    g_assert_cmpstr(qdict_get_str(s, "translation"), ==,
                    fs ? "first-stage" : "second-stage");
    qobject_unref(s);
    /* and HMP says which IOASID each PASID is attached to */
    hmp = qtest_hmp(e.d->qts, "info ioasid");
    g_assert_nonnull(strstr(hmp, "    device " QIE_PATH " pasid 1\r\n"));
    g_assert_nonnull(strstr(hmp, "    device " QIE_PATH " pasid 2\r\n"));
    g_assert_nonnull(strstr(hmp, "    device " QIE_PATH "\r\n"));
    qie_stop(&e);
}

static void test_two_pasids_ss_sc_on(void)
{
    check_two_pasids(false, true);
}

static void test_two_pasids_ss_sc_off(void)
{
    check_two_pasids(false, false);
}

static void test_two_pasids_fs_sc_on(void)
{
    check_two_pasids(true, true);
}

static void test_two_pasids_fs_sc_off(void)
{
    check_two_pasids(true, false);
}

/* PGSNP of one PASID's entry, set and cleared as Linux does */
static void test_pgsnp_toggle(void)
{
    Env e;
    uint64_t top_a, top_b, pe_a;

    pasid_start(&e, true, true, NULL);
    top_a = new_table(&e);
    top_b = new_table(&e);
    map(&e, top_a, IOVA, GPA_A, PG, false);
    map(&e, top_b, IOVA, GPA_B, PG, false);
    pe_a = pasid_attach(&e, PASID_A, DID_A, top_a, false);
    pasid_attach(&e, PASID_B, DID_B, top_b, false);
    qvtd_set_translation(&e.v, true);
    pasid_enable(&e, true);
    g_assert_cmphex(fill_pasid(&e, PASID_A, IOVA, 4, true), ==,
                    IOASID_VFIO_STATUS_DONE);
    g_assert_cmphex(fill_pasid(&e, PASID_B, IOVA, 4, true), ==,
                    IOASID_VFIO_STATUS_DONE);
    assert_mapping(&e, PASID_A, IOVA, PG, GPA_A, false);

    /* intel_pasid_setup_page_snoop_control() on PASID A */
    qvtd_pasid_set_pgsnp(&e.v, pe_a, true);
    qvtd_inv_pasid_cache_pasid(&e.v, DID_A, PASID_A);
    qvtd_inv_piotlb_pasid(&e.v, DID_A, PASID_A);
    assert_mapping(&e, PASID_A, IOVA, PG, GPA_A, true);
    assert_mapping(&e, PASID_B, IOVA, PG, GPA_B, false);

    qvtd_pasid_set_pgsnp(&e.v, pe_a, false);
    qvtd_inv_pasid_cache_pasid(&e.v, DID_A, PASID_A);
    qvtd_inv_piotlb_pasid(&e.v, DID_A, PASID_A);
    assert_mapping(&e, PASID_A, IOVA, PG, GPA_A, false);
    qie_stop(&e);
}

/* ---- requests the vIOMMU does not take ---- */

/* A PASID whose entry is not present faults, and nothing is written */
static void test_entry_not_present(void)
{
    Env e;
    uint8_t got[64], zero[64] = { 0 };
    uint64_t addr;
    uint16_t sid;
    int64_t pasid;

    pasid_start(&e, false, true, NULL);
    map(&e, e.top, IOVA, GPA, PG, false);
    qvtd_set_translation(&e.v, true);
    pasid_enable(&e, true);
    qtest_memset(e.d->qts, GPA, 0, sizeof(got));
    assert_fault(&e, fill_pasid(&e, PASID_A, IOVA, sizeof(got), false),
                 IOASID_VFIO_ERR_NO_MAPPING, IOVA);
    qtest_memread(e.d->qts, GPA, got, sizeof(got));
    g_assert_cmpmem(got, sizeof(got), zero, sizeof(zero));
    /* the vIOMMU saw the request with its PASID */
    g_assert_cmphex(qvtd_take_fault_pasid(&e.v, &addr, &sid, &pasid), ==,
                    FR_PASID_ENTRY_P);
    g_assert_cmphex(addr, ==, IOVA);
    g_assert_cmphex(sid, ==, QIE_SID);
    g_assert_cmpint(pasid, ==, PASID_A);
    /* and the PASID does not stay in use */
    wait_released(&e, PASID_A);
    qie_stop(&e);
}

/*
 * Where the vIOMMU takes no request with PASID (legacy mode, translation
 * off, x-pasid-mode off, no vIOMMU), the request faults, nothing is
 * written, and no IOASID is attached for the PASID; requests without
 * PASID are not affected.
 */
static void check_refused(Env *e)
{
    uint8_t got[64], zero[64] = { 0 };
    unsigned atts;

    pasid_enable(e, true);
    qtest_memset(e->d->qts, GPA, 0, sizeof(got));
    assert_fault(e, fill_pasid(e, PASID_A, GPA, sizeof(got), false),
                 IOASID_VFIO_ERR_NO_MAPPING, GPA);
    qtest_memread(e->d->qts, GPA, got, sizeof(got));
    g_assert_cmpmem(got, sizeof(got), zero, sizeof(zero));
    wait_released(e, PASID_A);
    g_assert_cmpuint(count_spaces(e, &atts), ==, 1);
    g_assert_cmpuint(atts, ==, 1);
}

static void test_refused_legacy(void)
{
    Env e;

    qie_start(&e, NULL, ",x-pasid-mode=off", NULL, NULL, false, true);
    map(&e, e.top, GPA, GPA, PG, false);
    qvtd_set_translation(&e.v, true);
    check_refused(&e);
    g_assert_cmphex(dma(&e, 0, IOASID_VFIO_OP_FILL, 0, GPA, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    qie_stop(&e);
}

/*
 * A vIOMMU that can do scalable mode and PASIDs, used by the guest in
 * legacy mode (RTADDR.SMT clear): requests without PASID translate
 * through the legacy context entry, requests with PASID are blocked.
 */
static void test_refused_legacy_root(void)
{
    Env e;

    pasid_start(&e, false, true, NULL);
    e.v.scalable = false;
    e.v.root = qvtd_alloc_page(&e.v);
    qvtd_context_legacy(&e.v, QIE_SID, DID, e.top);
    /* the invalidation queue keeps its 256-bit descriptors */
    e.v.scalable = true;
    qvtd_set_root(&e.v, e.v.root);
    qvtd_inv_context_global(&e.v);
    qvtd_inv_iotlb_global(&e.v);
    map(&e, e.top, GPA, GPA, PG, false);
    qvtd_set_translation(&e.v, true);
    check_refused(&e);
    g_assert_cmphex(dma(&e, 0, IOASID_VFIO_OP_FILL, 0, GPA, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    assert_mapping(&e, -1, GPA, PG, GPA, false);
    qie_stop(&e);
}

static void test_refused_translation_off(void)
{
    Env e;
    uint64_t top_a;

    pasid_start(&e, false, true, NULL);
    top_a = new_table(&e);
    map(&e, top_a, GPA, GPA, PG, false);
    pasid_attach(&e, PASID_A, DID_A, top_a, false);
    check_refused(&e);
    /* requests without PASID: guest RAM 1:1 */
    g_assert_cmphex(dma(&e, 0, IOASID_VFIO_OP_FILL, 0, GPA, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    /* translation on: the PASID's table */
    qvtd_set_translation(&e.v, true);
    g_assert_cmphex(fill_pasid(&e, PASID_A, GPA, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    /* and off again: its IOASID goes */
    qvtd_set_translation(&e.v, false);
    wait_released(&e, PASID_A);
    assert_fault(&e, fill_pasid(&e, PASID_A, GPA, 4, false),
                 IOASID_VFIO_ERR_NO_MAPPING, GPA);
    qie_stop(&e);
}

static void test_refused_pasid_mode_off(void)
{
    Env e;

    qie_start(&e, NULL, NULL, NULL, NULL, true, true);
    map(&e, e.top, GPA, GPA, PG, false);
    qvtd_set_translation(&e.v, true);
    check_refused(&e);
    qie_stop(&e);
}

static void test_refused_no_viommu(void)
{
    QIoasidVfio *d = qiov_start("-M q35 -nodefaults "
                                "-device ioasid-vfio,id=dev0,addr=04.0",
                                QIE_SLOT);
    Env e = { .d = d };

    check_refused(&e);
    qiov_stop(d);
}

/* ---- invalidations ---- */

/*
 * A second-stage domain attached to a PASID: Linux flushes it with
 * domain-based IOTLB invalidations (type 2), page-selective or not.
 */
static void test_inv_domain_based(void)
{
    Env e;
    uint64_t top_a;

    top_a = pasid_a_start(&e, false, IOVA, PG, NULL);
    g_assert_cmphex(fill_pasid(&e, PASID_A, IOVA, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    assert_mapping(&e, PASID_A, IOVA, PG, GPA_A, false);

    /* a new page, page-selective type 2 */
    map(&e, top_a, IOVA + 4 * PG, GPA_A + 4 * PG, PG, true);
    qvtd_inv_iotlb_page(&e.v, DID_A, IOVA + 4 * PG, 0);
    assert_mapping(&e, PASID_A, IOVA + 4 * PG, PG, GPA_A + 4 * PG, true);
    /* a change of SNP, page-selective */
    qvtd_sl_update(&e.v, top_a, IOVA, QVTD_PAGE_4K, 0, QVTD_SL_SNP);
    qvtd_inv_iotlb_page(&e.v, DID_A, IOVA, 0);
    assert_mapping(&e, PASID_A, IOVA, PG, GPA_A, true);
    /* an unmap, domain-selective */
    qvtd_sl_update(&e.v, top_a, IOVA, QVTD_PAGE_4K, QVTD_SL_R | QVTD_SL_W,
                   0);
    qvtd_inv_iotlb_domain(&e.v, DID_A);
    g_assert_false(has_mapping(&e, PASID_A, IOVA));
    assert_fault(&e, fill_pasid(&e, PASID_A, IOVA, 4, false),
                 IOASID_VFIO_ERR_NO_MAPPING, IOVA);
    /* another domain's invalidation does not touch it */
    g_assert_cmpuint(mapping_count(&e, PASID_A), ==, 1);
    qvtd_inv_iotlb_domain(&e.v, DID_B);
    g_assert_cmpuint(mapping_count(&e, PASID_A), ==, 1);
    qie_stop(&e);
}

/* A first-stage domain on a PASID: PASID-based IOTLB invalidations */
static void test_inv_pasid_based(void)
{
    Env e;
    uint64_t top_a;

    top_a = pasid_a_start(&e, true, IOVA, 2 * PG, NULL);
    g_assert_cmphex(fill_pasid(&e, PASID_A, IOVA, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    g_assert_cmpuint(mapping_count(&e, PASID_A), >=, 1);

    /* the leaf goes: page-selective within the PASID */
    qvtd_fs_update(&e.v, top_a, IOVA, QVTD_PAGE_4K, QVTD_FS_P, 0);
    qvtd_inv_piotlb_page(&e.v, DID_A, PASID_A, IOVA, 0);
    g_assert_false(has_mapping(&e, PASID_A, IOVA));
    assert_fault(&e, fill_pasid(&e, PASID_A, IOVA, 4, false),
                 IOASID_VFIO_ERR_NO_MAPPING, IOVA);
    /* the same invalidation for another PASID leaves this one alone */
    qvtd_fs_update(&e.v, top_a, IOVA, QVTD_PAGE_4K, 0, QVTD_FS_P);
    qvtd_fs_update(&e.v, top_a, IOVA + PG, QVTD_PAGE_4K, QVTD_FS_P, 0);
    g_assert_cmphex(fill_pasid(&e, PASID_A, IOVA, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    qvtd_inv_piotlb_page(&e.v, DID_A, PASID_B, IOVA + PG, 0);
    g_assert_true(has_mapping(&e, PASID_A, IOVA + PG));
    qie_stop(&e);
}

/*
 * Teardown: P=0 and the PASID-cache invalidation empty the PASID's IOASID
 * at once and release it; a new entry for the PASID starts afresh.
 */
static void test_teardown(void)
{
    Env e;
    uint64_t top_a, top_b, pe_a;
    unsigned atts;

    pasid_start(&e, false, true, NULL);
    top_a = new_table(&e);
    top_b = new_table(&e);
    map(&e, top_a, IOVA, GPA_A, PG, false);
    map(&e, top_b, IOVA, GPA_B, PG, true);
    pe_a = pasid_attach(&e, PASID_A, DID_A, top_a, false);
    qvtd_set_translation(&e.v, true);
    pasid_enable(&e, true);
    g_assert_cmphex(fill_pasid(&e, PASID_A, IOVA, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    assert_mapping(&e, PASID_A, IOVA, PG, GPA_A, false);

    pasid_detach(&e, pe_a, DID_A, PASID_A);
    /* not one stale mapping, even before the release */
    {
        QDict *s = space_of(&e, PASID_A);

        if (s) {
            g_assert_cmpuint(qdict_get_u64(s, "mapping-count"), ==, 0);
            qobject_unref(s);
        }
    }
    wait_released(&e, PASID_A);
    g_assert_cmpuint(count_spaces(&e, &atts), ==, 1);
    assert_fault(&e, fill_pasid(&e, PASID_A, IOVA, 4, false),
                 IOASID_VFIO_ERR_NO_MAPPING, IOVA);
    qvtd_take_fault(&e.v, NULL, NULL);

    /* the PASID comes back with another domain */
    pasid_attach(&e, PASID_A, DID_B, top_b, false);
    g_assert_cmphex(fill_pasid(&e, PASID_A, IOVA, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    assert_mapping(&e, PASID_A, IOVA, PG, GPA_B, true);
    qie_stop(&e);
}

/* PASID Enable cleared: the device uses no PASID any more */
static void test_pasid_disable(void)
{
    Env e;
    uint64_t top_a;
    unsigned atts;

    pasid_start(&e, false, true, NULL);
    top_a = new_table(&e);
    map(&e, top_a, IOVA, GPA_A, PG, false);
    pasid_attach(&e, PASID_A, DID_A, top_a, false);
    pasid_attach(&e, PASID_B, DID_A, top_a, false);
    qvtd_set_translation(&e.v, true);
    pasid_enable(&e, true);
    g_assert_cmphex(fill_pasid(&e, PASID_A, IOVA, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    g_assert_cmphex(fill_pasid(&e, PASID_B, IOVA, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    g_assert_cmpuint(count_spaces(&e, &atts), ==, 3);

    pasid_enable(&e, false);
    g_assert_cmpuint(count_spaces(&e, &atts), ==, 1);
    g_assert_cmpuint(atts, ==, 1);
    g_assert_cmphex(fill_pasid(&e, PASID_A, IOVA, 4, false), ==,
                    IOASID_VFIO_STATUS_ERROR |
                    (IOASID_VFIO_ERR_PASID_DISABLED <<
                     IOASID_VFIO_STATUS_CODE_SHIFT));
    qie_stop(&e);
}

/* ---- noncoherent DMA ---- */

/*
 * Condition (b) holds when any address space of the device lets no-snoop
 * through: here only PASID B's does, the RID's and PASID A's are snooped.
 */
static void test_noncoherent_any_space(void)
{
    Env e;
    uint64_t top_a, top_b, pe_b;
    QDict *nc;

    pasid_start(&e, false, true, NULL);
    top_a = new_table(&e);
    top_b = new_table(&e);
    map(&e, e.top, IOVA, GPA, PG, true);
    map(&e, top_a, IOVA, GPA_A, PG, true);
    map(&e, top_b, IOVA, GPA_B, PG, true);
    pasid_attach(&e, PASID_A, DID_A, top_a, false);
    pe_b = pasid_attach(&e, PASID_B, DID_B, top_b, false);
    qvtd_set_translation(&e.v, true);
    pasid_enable(&e, true);
    g_assert_cmphex(fill_pasid(&e, PASID_A, IOVA, 4, true), ==,
                    IOASID_VFIO_STATUS_DONE);
    g_assert_cmphex(fill_pasid(&e, PASID_B, IOVA, 4, true), ==,
                    IOASID_VFIO_STATUS_DONE);
    nc = qiov_query_noncoherent(e.d->qts, QIE_PATH, NULL, NULL);
    g_assert_false(qdict_get_bool(nc, "nosnoop-passes"));
    qobject_unref(nc);

    /* PASID B's leaf loses SNP */
    qvtd_sl_update(&e.v, top_b, IOVA, QVTD_PAGE_4K, QVTD_SL_SNP, 0);
    qvtd_inv_iotlb_page(&e.v, DID_B, IOVA, 0);
    nc = qiov_query_noncoherent(e.d->qts, QIE_PATH, NULL, NULL);
    g_assert_true(qdict_get_bool(nc, "nosnoop-passes"));
    g_assert_true(qdict_get_bool(nc, "noncoherent"));
    qobject_unref(nc);

    /* and PASID B goes: nothing lets no-snoop through any more */
    pasid_detach(&e, pe_b, DID_B, PASID_B);
    wait_released(&e, PASID_B);
    nc = qiov_query_noncoherent(e.d->qts, QIE_PATH, NULL, NULL);
    g_assert_false(qdict_get_bool(nc, "nosnoop-passes"));
    qobject_unref(nc);
    qie_stop(&e);
}

/* ---- limits ---- */

/*
 * At most IOASID_VFIO_MAX_PASIDS PASIDs in use at a time: a request with
 * one more faults, QEMU lives on; tearing one down makes room.
 */
static void test_limit(void)
{
    Env e;
    uint64_t top, pe0 = 0;
    unsigned atts;
    uint32_t p;

    pasid_start(&e, false, true, NULL);
    top = new_table(&e);
    map(&e, top, IOVA, GPA_A, PG, false);
    for (p = 1; p <= IOASID_VFIO_MAX_PASIDS + 1; p++) {
        uint64_t pe = pasid_attach(&e, p, DID_A, top, false);

        if (p == 1) {
            pe0 = pe;
        }
    }
    qvtd_set_translation(&e.v, true);
    pasid_enable(&e, true);
    for (p = 1; p <= IOASID_VFIO_MAX_PASIDS; p++) {
        g_assert_cmphex(fill_pasid(&e, p, IOVA, 4, false), ==,
                        IOASID_VFIO_STATUS_DONE);
    }
    g_assert_cmpuint(count_spaces(&e, &atts), ==,
                     IOASID_VFIO_MAX_PASIDS + 1);
    assert_fault(&e, fill_pasid(&e, p, IOVA, 4, false),
                 IOASID_VFIO_ERR_NO_MAPPING, IOVA);
    g_assert_null(space_of(&e, p));
    /* nothing the vIOMMU could have recorded: the request never got there */
    g_assert_cmpuint(qvtd_take_fault(&e.v, NULL, NULL), ==, 0);

    pasid_detach(&e, pe0, DID_A, 1);
    g_assert_cmphex(fill_pasid(&e, p, IOVA, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    assert_mapping(&e, p, IOVA, PG, GPA_A, false);
    g_assert_cmpuint(count_spaces(&e, &atts), ==,
                     IOASID_VFIO_MAX_PASIDS + 1);
    qie_stop(&e);
}

/* How many PASID address spaces intel-iommu built ("info mtree") */
static unsigned viommu_pasid_spaces(Env *e)
{
    g_autofree char *out = qtest_hmp(e->d->qts, "info mtree");
    const char *p = out;
    unsigned n = 0;

    while ((p = strstr(p, "-pasid-")) && (p = strstr(p, "-dmar"))) {
        n++;
    }
    return n;
}

/*
 * A guest that cycles through many PASIDs, one at a time, does not grow
 * the vIOMMU: the address space of a released PASID serves the next one.
 * Also a PASID of 20 bits, the largest.
 */
static void test_cycle_pasids(void)
{
    Env e;
    uint64_t top;
    uint32_t i;

    pasid_start(&e, false, true, NULL);
    qvtd_context_set_pdts(&e.v, QIE_SID, 7);
    top = new_table(&e);
    map(&e, top, IOVA, GPA_A, PG, false);
    qvtd_set_translation(&e.v, true);
    pasid_enable(&e, true);
    for (i = 0; i < 40; i++) {
        uint32_t pasid = i == 39 ? IOASID_VFIO_PASID_MASK : 100 + i * 997;
        uint64_t pe = pasid_attach(&e, pasid, DID_A, top, false);

        g_assert_cmphex(fill_pasid(&e, pasid, IOVA, 4, false), ==,
                        IOASID_VFIO_STATUS_DONE);
        assert_mapping(&e, pasid, IOVA, PG, GPA_A, false);
        pasid_detach(&e, pe, DID_A, pasid);
        wait_released(&e, pasid);
    }
    g_assert_cmpuint(viommu_pasid_spaces(&e), ==, 1);
    qie_stop(&e);
}

/* ---- what the random test found ---- */

/*
 * A request with PASID has no interrupt window: it is translated at
 * 0xFEEx_xxxx like anywhere else (VT-d 3.x 3.14).  QEMU asserted that no
 * translation reaches that range, which the relay's fault report of a
 * PASID's DMA there did.
 */
static void test_found_interrupt_window(void)
{
    Env e;
    uint8_t got[4];

    pasid_a_start(&e, false, 0xfee00000, PG, NULL);
    qiov_wr32(e.d, IOASID_VFIO_REG_PATTERN, 0x12345678);
    g_assert_cmphex(fill_pasid(&e, PASID_A, 0xfee00000, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    assert_mapping(&e, PASID_A, 0xfee00000, PG, GPA_A, false);
    qtest_memread(e.d->qts, GPA_A, got, 4);
    g_assert_cmphex((uint32_t)ldl_le_p(got), ==, 0x12345678);
    /* unmapped in the window: the fault the vIOMMU records, QEMU lives */
    assert_fault(&e, fill_pasid(&e, PASID_A, 0xfee01000, 4, false),
                 IOASID_VFIO_ERR_NO_MAPPING, 0xfee01000);
    g_assert_cmpuint(qvtd_take_fault(&e.v, NULL, NULL), !=, 0);
    qie_stop(&e);
}

/*
 * Linux tears RID_PASID down (the RID's blocking domain) while PASIDs
 * stay attached: the PASIDs keep translating, and invalidations keep
 * reaching them.  The context fetch used to check RID_PASID's entry for
 * every request of the device.
 */
static void test_found_rid_pasid_torn_down(void)
{
    Env e;
    uint64_t top_a;

    pasid_start(&e, false, true, NULL);
    top_a = new_table(&e);
    map(&e, top_a, IOVA, GPA_A, PG, false);
    map(&e, e.top, IOVA, GPA, PG, false);
    pasid_attach(&e, PASID_A, DID_A, top_a, false);
    qvtd_set_translation(&e.v, true);
    pasid_enable(&e, true);
    g_assert_cmphex(fill_pasid(&e, PASID_A, IOVA, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);

    /* RID_PASID goes */
    pasid_detach(&e, e.pe, DID, 0);
    g_assert_cmpuint(mapping_count(&e, -1), ==, 0);
    assert_fault(&e, dma(&e, 0, IOASID_VFIO_OP_FILL, 0, IOVA, 4, false),
                 IOASID_VFIO_ERR_NO_MAPPING, IOVA);
    qvtd_take_fault(&e.v, NULL, NULL);
    /* PASID A still translates, and follows its invalidations */
    g_assert_cmphex(fill_pasid(&e, PASID_A, IOVA, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    map(&e, top_a, IOVA + PG, GPA_A + PG, PG, true);
    qvtd_inv_iotlb_page(&e.v, DID_A, IOVA + PG, 0);
    assert_mapping(&e, PASID_A, IOVA + PG, PG, GPA_A + PG, true);
    qie_stop(&e);
}

/*
 * A PASID's address space has no interrupt window, so the vIOMMU's
 * notifier covers all 2^64 IOVAs, and unmapping all of it is one event
 * whose size does not fit 64 bits: the relay dropped it, leaving the
 * upper half mapped.
 */
static void test_found_whole_space_unmap(void)
{
    Env e;
    uint64_t top_a, upper = 0xffff800000000000ULL;

    pasid_start(&e, true, true, NULL);
    top_a = new_table(&e);
    map(&e, top_a, upper, GPA_A, PG, false);
    map(&e, top_a, IOVA, GPA_A + PG, PG, false);
    pasid_attach(&e, PASID_A, DID_A, top_a, false);
    qvtd_set_translation(&e.v, true);
    pasid_enable(&e, true);
    g_assert_cmphex(fill_pasid(&e, PASID_A, upper, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    g_assert_cmphex(fill_pasid(&e, PASID_A, IOVA, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    g_assert_cmpuint(mapping_count(&e, PASID_A), ==, 2);
    /* the upper half's level-4 entry goes, then a global invalidation */
    qtest_writeq(e.d->qts, qvtd_fs_entry_addr(&e.v, top_a, upper, 4), 0);
    qvtd_inv_context_global(&e.v);
    g_assert_false(has_mapping(&e, PASID_A, upper));
    g_assert_true(has_mapping(&e, PASID_A, IOVA));
    qie_stop(&e);
}

/*
 * A PASID that comes back into use reads the guest's tables as they are
 * then, as at its first use.  The vIOMMU keeps a PASID's address space
 * idle for a while after its device lets it go, and handed it back with
 * the mode of its last invalidation: a PASID torn down (blocked), then
 * rewritten as pass-through without an invalidation, stayed translated
 * through an entry that maps nothing, and its DMA faulted.
 */
static void test_found_idle_space_renewed(void)
{
    Env e;
    uint64_t pe;
    uint8_t got[4];

    pasid_a_start(&e, false, IOVA, PG, &pe);
    g_assert_cmphex(fill_pasid(&e, PASID_A, IOVA, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    pasid_detach(&e, pe, DID_A, PASID_A);
    wait_released(&e, PASID_A);

    /* pass-through now, not invalidated: the next request reads it */
    qvtd_pasid_entry_set(&e.v, pe, QVTD_PE_PGTT_PT, 0, DID_A, false);
    qiov_wr32(e.d, IOASID_VFIO_REG_PATTERN, 0x5a5a1234);
    g_assert_cmphex(fill_pasid(&e, PASID_A, GPA_A + PG, 4, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    qtest_memread(e.d->qts, GPA_A + PG, got, 4);
    g_assert_cmphex((uint32_t)ldl_le_p(got), ==, 0x5a5a1234);
    g_assert_true(has_mapping(&e, PASID_A, GPA_A + PG));
    qie_stop(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/ioasid-pasid/capability", test_capability);
    qtest_add_func("/ioasid-pasid/register", test_register);
    qtest_add_func("/ioasid-pasid/two-pasids/second-stage/sc=on",
                   test_two_pasids_ss_sc_on);
    qtest_add_func("/ioasid-pasid/two-pasids/second-stage/sc=off",
                   test_two_pasids_ss_sc_off);
    qtest_add_func("/ioasid-pasid/two-pasids/first-stage/sc=on",
                   test_two_pasids_fs_sc_on);
    qtest_add_func("/ioasid-pasid/two-pasids/first-stage/sc=off",
                   test_two_pasids_fs_sc_off);
    qtest_add_func("/ioasid-pasid/pgsnp-toggle", test_pgsnp_toggle);
    qtest_add_func("/ioasid-pasid/fault/entry-not-present",
                   test_entry_not_present);
    qtest_add_func("/ioasid-pasid/fault/legacy-mode", test_refused_legacy);
    qtest_add_func("/ioasid-pasid/fault/legacy-root-table",
                   test_refused_legacy_root);
    qtest_add_func("/ioasid-pasid/fault/translation-off",
                   test_refused_translation_off);
    qtest_add_func("/ioasid-pasid/fault/x-pasid-mode=off",
                   test_refused_pasid_mode_off);
    qtest_add_func("/ioasid-pasid/fault/no-viommu", test_refused_no_viommu);
    qtest_add_func("/ioasid-pasid/inv/domain-based", test_inv_domain_based);
    qtest_add_func("/ioasid-pasid/inv/pasid-based", test_inv_pasid_based);
    qtest_add_func("/ioasid-pasid/inv/teardown", test_teardown);
    qtest_add_func("/ioasid-pasid/pasid-enable-clear", test_pasid_disable);
    qtest_add_func("/ioasid-pasid/noncoherent/any-space",
                   test_noncoherent_any_space);
    qtest_add_func("/ioasid-pasid/limit", test_limit);
    qtest_add_func("/ioasid-pasid/cycle-pasids", test_cycle_pasids);
    qtest_add_func("/ioasid-pasid/found/interrupt-window",
                   test_found_interrupt_window);
    qtest_add_func("/ioasid-pasid/found/rid-pasid-torn-down",
                   test_found_rid_pasid_torn_down);
    qtest_add_func("/ioasid-pasid/found/idle-space-renewed",
                   test_found_idle_space_renewed);
    qtest_add_func("/ioasid-pasid/found/whole-space-unmap",
                   test_found_whole_space_unmap);
    return g_test_run();
}
