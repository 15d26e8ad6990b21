/*
 * libqos: an independent model of what intel-iommu grants a device, and
 * of what the ioasid-vfio relay must therefore put in the host table
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Written from the Intel VT-d specification 3.x (chapter 9, translation
 * structures) and the qemu-ioasid contract (docs/devel/ioasid-relay.rst),
 * not from QEMU's page walker.  It reads the guest's structures through
 * qtest, a whole 4 KiB page at a time, cached for one evaluation.
 *
 * What it models, for a device on bus 0:
 *  - GSTS.TE clear, or pass-through (legacy TT=2, scalable PGTT=4): the
 *    device sees guest RAM 1:1, i.e. the identity template (the host table
 *    the relay built while TE was off).
 *  - Otherwise root entry -> context entry (legacy) or root entry ->
 *    scalable context entry -> PASID directory entry -> PASID entry of
 *    RID_PASID (scalable), or of the request's PASID for a request with
 *    PASID, then the second-level tables (or, with
 *    x-flts=on, the first-stage tables: PGTT=1; PGTT=2 is then not
 *    supported).  Anything not present, in a page that is not guest
 *    memory, with a reserved bit set or an unsupported type, address
 *    width or paging mode grants nothing below it: hardware faults there.
 *  - Second-level entries: permissions are ANDed down the levels, an
 *    entry without R and W is not present, PS makes a 2 MiB (level 2) or
 *    1 GiB (level 3) leaf and is reserved at level 4.
 *  - First-stage entries (9.7, IA-32e): 4-level only (FLPM=0); an entry
 *    is usable when P and U/S are set (the device's requests are user
 *    requests) and no reserved bit is: address bits 51:HAW, PS at level
 *    4, PS at level 3 without CAP.FS1GP, the address bits of a large
 *    leaf below its size but for bit 12 (PAT); bits 63:52 are ignored.
 *    A leaf is readable, and writable when R/W is set at every level.
 *    Table index 256-511 at level 4 is the upper canonical half: its
 *    IOVAs are sign-extended.  First-stage leaves have no SNP; PGSNP
 *    alone forces snooping.
 *  - Requests with PASID (x-pasid-mode=on, ECAP.PASID) are translated in
 *    scalable mode only: with translation off, in legacy mode, or without
 *    ECAP.PASID they get nothing (the device faults, and its PASID is not
 *    attached for long); the PASID must be below the directory's size
 *    (PDTS).  Pass-through gives them guest RAM 1:1 as it does RID_PASID.
 *  - The relay (the product contract): a leaf, or the part of it on one
 *    side of the interrupt window, becomes a host mapping only if its
 *    target lies in one RAM range of the identity template; write is
 *    dropped on read-only RAM (ROM); block-nosnoop is set when the IOASID
 *    enforces snoop, or when the vIOMMU has Snoop Control, the leaf has
 *    SNP or the PASID entry PGSNP, and the host can block.  The interrupt
 *    window is never mapped for requests without PASID; a request with
 *    PASID is translated there like anywhere else (VT-d 3.x 3.14).
 *
 * Invariants of every list this file returns: sorted by IOVA, disjoint,
 * and normalised (neighbours that continue each other, in IOVA and in
 * address with equal flags, are merged), so two tables are equal exactly
 * when their lists are.  The oracle never writes guest memory.
 *
 * Where QEMU 10.0 does not check what the specification reserves, the
 * oracle follows the specification for what QVtdConfig.strict selects.
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qobject/qlist.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"
#include "hw/vfio/ioasid-vfio-regs.h"
#include "ioasid-vfio.h"
#include "vtd-oracle.h"

#define REG_GSTS        0x1c
#define GSTS_TES        (1u << 31)
#define RTADDR_SMT      (1ULL << 10)

#define PG              4096ULL
#define ENTRIES         512

/* Second-level paging entries (9.8) */
#define SL_R            (1ULL << 0)
#define SL_W            (1ULL << 1)
#define SL_PS           (1ULL << 7)
#define SL_SNP          (1ULL << 11)
/* Bits 61:52 and 63 are ignored; bit 62 (TM) is reserved without DT */
#define SL_IGNORED      0xbff0000000000000ULL

/* First-stage paging entries (9.7) */
#define FS_P            (1ULL << 0)
#define FS_RW           (1ULL << 1)
#define FS_US           (1ULL << 2)
#define FS_PS           (1ULL << 7)
#define FS_ADDR_FIELD   0x000ffffffffff000ULL   /* 51:12 */
#define FS_SIGN_EXTEND  0xffff000000000000ULL   /* 4-level upper half */

static GArray *maps_new(void)
{
    return g_array_new(false, false, sizeof(QVtdMap));
}

GArray *qvtd_ranges_new(void)
{
    return g_array_new(false, false, sizeof(QVtdRange));
}

static uint64_t haw_mask(QVtdOracle *o)
{
    return o->cfg.aw_bits >= 64 ? ~0ULL : (1ULL << o->cfg.aw_bits) - 1;
}

/* ---- guest memory ---- */

/* The page cache's marker for a page that is not guest memory */
static uint8_t unreadable;

static const QVtdMap *ram_range(const GArray *ram, uint64_t gpa, uint64_t len)
{
    unsigned i;

    for (i = 0; i < ram->len; i++) {
        const QVtdMap *m = &g_array_index(ram, QVtdMap, i);

        if (gpa >= m->iova && gpa - m->iova < m->size &&
            len - 1 <= m->iova + m->size - 1 - gpa) {
            return m;
        }
    }
    return NULL;
}

/* The page at @gpa, or NULL if it is not guest memory (unreadable) */
static const uint8_t *oracle_page(QVtdOracle *o, uint64_t gpa)
{
    uint64_t pfn = gpa & ~(PG - 1);
    uint8_t *p = g_hash_table_lookup(o->pages, &pfn);

    if (!p) {
        uint64_t *key = g_new(uint64_t, 1);

        *key = pfn;
        if (ram_range(o->ram, pfn, PG)) {
            p = g_malloc(PG);
            qtest_memread(o->qts, pfn, p, PG);
            o->page_reads++;
        } else {
            p = &unreadable;
        }
        g_hash_table_insert(o->pages, key, p);
    }
    return p == &unreadable ? NULL : p;
}

/* Read the @n quadwords of an entry at @gpa (within one page) */
static bool oracle_read(QVtdOracle *o, uint64_t gpa, uint64_t *val, int n)
{
    const uint8_t *p = oracle_page(o, gpa);
    int i;

    if (!p) {
        return false;
    }
    g_assert_cmpuint((gpa & (PG - 1)) + 8 * n, <=, PG);
    for (i = 0; i < n; i++) {
        val[i] = ldq_le_p(p + (gpa & (PG - 1)) + 8 * i);
    }
    return true;
}

static void page_free(gpointer p)
{
    if (p != &unreadable) {
        g_free(p);
    }
}

bool qvtd_oracle_page_read(QVtdOracle *o, uint64_t gpa)
{
    uint64_t pfn = gpa & ~(PG - 1);

    return g_hash_table_contains(o->pages, &pfn);
}

void qvtd_oracle_begin(QVtdOracle *o)
{
    g_hash_table_remove_all(o->pages);
    g_hash_table_remove_all(o->memo);
}

void qvtd_oracle_init(QVtdOracle *o, QTestState *qts, const QVtdConfig *cfg,
                      const GArray *ram)
{
    unsigned i;

    *o = (QVtdOracle) {
        .qts = qts, .cfg = *cfg, .max_leaves = 20000, .max_tables = 2048,
    };
    o->ram = maps_new();
    for (i = 0; i < ram->len; i++) {
        g_array_append_val(o->ram, g_array_index(ram, QVtdMap, i));
    }
    o->pages = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                     page_free);
    o->memo = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                    g_free);
}

void qvtd_oracle_destroy(QVtdOracle *o)
{
    g_hash_table_destroy(o->pages);
    g_hash_table_destroy(o->memo);
    g_array_free(o->ram, true);
}

void qvtd_oracle_set_rtaddr(QVtdOracle *o, uint64_t rtaddr)
{
    o->rtaddr = rtaddr;
}

const char *qvtd_mode_str(QVtdMode mode)
{
    static const char *const names[] = {
        [QVTD_MODE_OFF] = "translation off",
        [QVTD_MODE_PT] = "pass-through",
        [QVTD_MODE_SL] = "second level",
        [QVTD_MODE_FS] = "first stage",
        [QVTD_MODE_BLOCKED] = "blocked",
    };

    return names[mode];
}

/* ---- root, context and PASID entries ---- */

static bool blocked(QVtdDevState *st, const char *why)
{
    st->mode = QVTD_MODE_BLOCKED;
    st->reason = why;
    st->has_did = false;
    return false;
}

/* Second-level paging levels for an address-width field value (SAGAW) */
static bool aw_supported(QVtdOracle *o, unsigned aw)
{
    /* QEMU advertises 39-bit (3-level), and 48-bit if aw-bits allows */
    return aw == 1 || (aw == 2 && o->cfg.aw_bits >= 48);
}

/* Legacy mode: root entry (9.1) and context entry (9.3) */
static bool legacy_context(QVtdOracle *o, uint8_t devfn, QVtdDevState *st)
{
    uint64_t haw = haw_mask(o);
    uint64_t root = o->rtaddr & haw & ~(PG - 1);
    uint64_t re[2], ce[2];
    unsigned tt, aw;

    if (!oracle_read(o, root, re, 2)) {     /* bus 0 */
        return blocked(st, "root table not in guest memory");
    }
    if (!(re[0] & 1)) {
        return blocked(st, "root entry not present");
    }
    /* bits 11:1, address bits above HAW and the upper 64 bits reserved */
    if (re[1] || (re[0] & (0xffeULL | ~haw))) {
        return blocked(st, "root entry reserved bits");
    }
    if (!oracle_read(o, (re[0] & ~(PG - 1)) + 16 * devfn, ce, 2)) {
        return blocked(st, "context table not in guest memory");
    }
    if (!(ce[0] & 1)) {
        return blocked(st, "context entry not present");
    }
    /* lo: bits 11:4 and above HAW; hi: bit 71 and 127:88 reserved */
    if ((ce[0] & (0xff0ULL | ~haw)) || (ce[1] & 0xffffffffff000080ULL)) {
        return blocked(st, "context entry reserved bits");
    }
    aw = ce[1] & 7;
    if (!aw_supported(o, aw)) {
        return blocked(st, "context entry address width unsupported");
    }
    tt = (ce[0] >> 2) & 3;
    switch (tt) {
    case 0:
        st->mode = QVTD_MODE_SL;
        break;
    case 2:
        if (!o->cfg.pt) {
            return blocked(st, "pass-through unsupported");
        }
        st->mode = QVTD_MODE_PT;
        break;
    default:    /* 1: device-TLB, not supported; 3: reserved */
        return blocked(st, "context entry translation type invalid");
    }
    st->slpt = ce[0] & haw & ~(PG - 1);
    st->levels = 2 + aw;
    st->did = (ce[1] >> 8) & 0xffff;
    st->has_did = true;
    return true;
}

/*
 * Scalable mode: root entry (9.2), scalable-mode context entry (9.4),
 * PASID directory entry (9.5) and PASID entry (9.6) of RID_PASID.
 */
static bool scalable_context(QVtdOracle *o, uint8_t devfn, int64_t req_pasid,
                             QVtdDevState *st)
{
    uint64_t haw = haw_mask(o);
    uint64_t root = o->rtaddr & haw & ~(PG - 1);
    uint64_t re[2], ce[4], de, pe[8], half;
    uint32_t pasid;
    unsigned pgtt, pdts;

    if (!oracle_read(o, root, re, 2)) {
        return blocked(st, "root table not in guest memory");
    }
    half = devfn < 128 ? re[0] : re[1];
    if (!(half & 1)) {
        return blocked(st, "root entry not present");
    }
    if ((re[0] | re[1]) & (0xffeULL | ~haw)) {
        return blocked(st, "root entry reserved bits");
    }
    if (!oracle_read(o, (half & ~(PG - 1)) + 32 * (devfn & 0x7f), ce, 4)) {
        return blocked(st, "context table not in guest memory");
    }
    if (!(ce[0] & 1)) {
        return blocked(st, "context entry not present");
    }
    /* bits 8:5, above HAW, 127:85 and the upper 128 bits are reserved */
    if ((ce[0] & (0x1e0ULL | ~haw)) || (ce[1] & 0xffffffffffe00000ULL) ||
        ce[2] || ce[3]) {
        return blocked(st, "context entry reserved bits");
    }
    pasid = req_pasid < 0 ? ce[1] & 0xfffff : req_pasid;
    pdts = (ce[0] >> 9) & 7;
    st->pasid = pasid;
    /* the directory has 2^(PDTS + 7) entries of 64 PASIDs each */
    if ((req_pasid >= 0 || (o->cfg.strict & QVTD_STRICT_PDTS)) &&
        (pasid >> 6) >= (1u << (pdts + 7))) {
        return blocked(st, req_pasid < 0 ? "RID_PASID beyond the PASID "
                       "directory (PDTS)" : "PASID beyond the PASID directory "
                       "(PDTS)");
    }
    if (!oracle_read(o, (ce[0] & haw & ~(PG - 1)) + 8 * (pasid >> 6), &de,
                     1)) {
        return blocked(st, "PASID directory not in guest memory");
    }
    if (!(de & 1)) {
        return blocked(st, "PASID directory entry not present");
    }
    if ((o->cfg.strict & QVTD_STRICT_PASID_RSVD) &&
        (de & (0xffcULL | ~haw))) {
        return blocked(st, "PASID directory entry reserved bits");
    }
    if (!oracle_read(o, (de & ~(PG - 1)) + 64 * (pasid & 0x3f), pe, 8)) {
        return blocked(st, "PASID table not in guest memory");
    }
    if (!(pe[0] & 1)) {
        return blocked(st, "PASID entry not present");
    }
    /* PGSNP (bit 88) is reserved without Snoop Control */
    if ((pe[1] & (1ULL << 24)) && !o->cfg.snoop_control) {
        return blocked(st, "PASID entry PGSNP without snoop control");
    }
    /* bits 11:10 and 86:80 are reserved */
    if ((o->cfg.strict & QVTD_STRICT_PASID_RSVD) &&
        ((pe[0] & 0xc00ULL) || (pe[1] & 0x7f0000ULL))) {
        return blocked(st, "PASID entry reserved bits");
    }
    pgtt = (pe[0] >> 6) & 7;
    switch (pgtt) {
    case 1:
        if (!o->cfg.flts) {
            return blocked(st, "PASID entry translation type invalid");
        }
        /* FLPM (quadword 2, bits 3:2): 4-level only, no FL5LP */
        if ((pe[2] >> 2) & 3) {
            return blocked(st, "PASID entry first-stage paging mode "
                           "unsupported");
        }
        st->mode = QVTD_MODE_FS;
        st->slpt = pe[2] & ~(PG - 1);
        st->levels = 4;
        st->did = pe[1] & 0xffff;
        st->pgsnp = pe[1] & (1ULL << 24);
        st->has_did = true;
        return true;
    case 2:
        if (o->cfg.flts) {
            /* ECAP.SLTS is clear with x-flts=on */
            return blocked(st, "PASID entry translation type invalid");
        }
        if (!aw_supported(o, (pe[0] >> 2) & 7)) {
            return blocked(st, "PASID entry address width unsupported");
        }
        if ((o->cfg.strict & QVTD_STRICT_PASID_RSVD) && (pe[0] & ~haw)) {
            return blocked(st, "PASID entry reserved bits");
        }
        st->mode = QVTD_MODE_SL;
        break;
    case 4:
        if (!o->cfg.pt) {
            return blocked(st, "pass-through unsupported");
        }
        st->mode = QVTD_MODE_PT;
        break;
    default:    /* 3: nested, others reserved */
        return blocked(st, "PASID entry translation type invalid");
    }
    st->slpt = pe[0] & haw & ~(PG - 1);
    st->levels = 2 + ((pe[0] >> 2) & 7);
    st->did = pe[1] & 0xffff;
    st->pgsnp = pe[1] & (1ULL << 24);
    st->has_did = true;
    return true;
}

/* ---- second-level tables ---- */

typedef struct Walk {
    QVtdOracle *o;
    const QVtdDevice *dev;
    QVtdDevState *st;
    GArray *out;
    bool snp_ok;                /* SNP is not reserved in leaves */
    bool fs;                    /* first-stage tables, not second-level */
    bool with_pasid;            /* a request with PASID: no MSI window */
} Walk;

typedef struct WalkCost {
    uint64_t leaves;
    uint64_t tables;
} WalkCost;

static bool sl_is_leaf(uint64_t e, unsigned level)
{
    return level == 1 || ((level == 2 || level == 3) && (e & SL_PS));
}

/*
 * Reserved bits of a second-level entry (9.8): address bits above HAW and
 * bit 62 everywhere; SNP in non-leaf entries, and in leaves unless Snoop
 * Control or scalable mode allows it; PS at level 4; the address bits
 * below the page size of a large leaf.
 */
static uint64_t sl_reserved(Walk *w, uint64_t e, unsigned level)
{
    uint64_t rsvd = ~(haw_mask(w->o) | SL_IGNORED);

    if (!sl_is_leaf(e, level)) {
        return rsvd | SL_SNP | (level == 4 ? SL_PS : 0);
    }
    if (!w->snp_ok) {
        rsvd |= SL_SNP;
    }
    if (level == 2) {
        rsvd |= 0x1ff000ULL;
    } else if (level == 3) {
        rsvd |= 0x3ffff000ULL;
    }
    return rsvd;
}

/* ---- first-stage tables ---- */

static bool fs_is_leaf(uint64_t e, unsigned level)
{
    return level == 1 || ((level == 2 || level == 3) && (e & FS_PS));
}

/* Whether a first-stage entry faults at @level (see the top comment) */
static bool fs_unusable(Walk *w, uint64_t e, unsigned level)
{
    uint64_t rsvd = FS_ADDR_FIELD & ~haw_mask(w->o);

    if (!(e & FS_P) || !(e & FS_US)) {
        return true;
    }
    if (level == 4) {
        rsvd |= FS_PS;
    } else if (level == 3 && (e & FS_PS)) {
        if (!w->o->cfg.fs1gp) {
            return true;
        }
        rsvd |= 0x3fffe000ULL;
    } else if (level == 2 && (e & FS_PS)) {
        rsvd |= 0x1fe000ULL;
    }
    return e & rsvd;
}

/* Whether entry @e at @level is usable, in the walk's format */
static bool entry_usable(Walk *w, uint64_t e, unsigned level)
{
    if (w->fs) {
        return !fs_unusable(w, e, level);
    }
    return (e & (SL_R | SL_W)) && !(e & sl_reserved(w, e, level));
}

static bool entry_is_leaf(Walk *w, uint64_t e, unsigned level)
{
    return w->fs ? fs_is_leaf(e, level) : sl_is_leaf(e, level);
}

/*
 * What a walk of @table at @level costs QEMU, ignoring parents' perms;
 * memoised for the evaluation (tables are shared, aliased, of any level).
 */
static WalkCost walk_cost(Walk *w, uint64_t table, unsigned level)
{
    uint64_t key = table | level | (w->snp_ok ? 8 : 0) | (w->fs ? 16 : 0);
    WalkCost *memo = g_hash_table_lookup(w->o->memo, &key);
    WalkCost c = { 0, 1 };
    const uint8_t *p;
    unsigned i;

    if (memo) {
        return *memo;
    }
    p = oracle_page(w->o, table);
    for (i = 0; p && i < ENTRIES; i++) {
        uint64_t e = ldq_le_p(p + 8 * i);

        if (!entry_usable(w, e, level)) {
            continue;
        }
        if (entry_is_leaf(w, e, level)) {
            c.leaves++;
        } else {
            WalkCost sub = walk_cost(w, e & haw_mask(w->o) & ~(PG - 1),
                                     level - 1);

            c.leaves += sub.leaves;
            c.tables += sub.tables;
        }
    }
    memo = g_new(WalkCost, 1);
    *memo = c;
    g_hash_table_insert(w->o->memo, g_memdup2(&key, sizeof(key)), memo);
    return c;
}

/* What the relay maps for the part [iova, iova + size) of a leaf */
static void emit_part(Walk *w, uint64_t iova, uint64_t size, uint64_t addr,
                      bool r, bool wr, bool snp)
{
    const QVtdMap *ram = ram_range(w->o->ram, addr, size);
    QVtdConfig *cfg = &w->o->cfg;
    QVtdMap m = {
        .iova = iova, .size = size, .addr = addr, .read = r,
    };

    if (!ram) {
        return;                 /* not guest RAM: left unmapped */
    }
    m.write = wr && ram->write;
    if (!m.read && !m.write) {
        return;
    }
    m.block = w->dev->enforce ||
              (cfg->snoop_control && cfg->host_can_block &&
               (snp || w->st->pgsnp));
    g_array_append_val(w->out, m);
}

/*
 * A leaf: the interrupt window is carved out of it, for requests without
 * PASID; requests with PASID in that range are translated like any other
 * (VT-d 3.x 3.14)
 */
static void emit(Walk *w, uint64_t iova, uint64_t size, uint64_t addr,
                 bool r, bool wr, bool snp)
{
    uint64_t last = iova + size - 1;

    if (w->with_pasid || iova > QVTD_MSI_LAST || last < QVTD_MSI_FIRST) {
        emit_part(w, iova, size, addr, r, wr, snp);
        return;
    }
    if (iova < QVTD_MSI_FIRST) {
        emit_part(w, iova, QVTD_MSI_FIRST - iova, addr, r, wr, snp);
    }
    if (last > QVTD_MSI_LAST) {
        emit_part(w, QVTD_MSI_LAST + 1, last - QVTD_MSI_LAST,
                  addr + (QVTD_MSI_LAST + 1 - iova), r, wr, snp);
    }
}

static void walk_level(Walk *w, uint64_t table, unsigned level, uint64_t base,
                       bool r, bool wr)
{
    const uint8_t *p = oracle_page(w->o, table);
    unsigned shift = 12 + 9 * (level - 1);
    unsigned i;

    for (i = 0; p && i < ENTRIES; i++) {
        uint64_t e = ldq_le_p(p + 8 * i);
        uint64_t iova = base + ((uint64_t)i << shift);
        bool r2 = r && (e & SL_R), w2 = wr && (e & SL_W);

        if ((!r2 && !w2) || (e & sl_reserved(w, e, level))) {
            continue;
        }
        if (sl_is_leaf(e, level)) {
            emit(w, iova, 1ULL << shift,
                 e & haw_mask(w->o) & ~((1ULL << shift) - 1), r2, w2,
                 e & SL_SNP);
        } else {
            walk_level(w, e & haw_mask(w->o) & ~(PG - 1), level - 1, iova,
                       r2, w2);
        }
    }
}

/*
 * First-stage table @table at @level for the IOVAs from @base; @wr: the
 * levels above allow writes.  Reads are always allowed.
 */
static void fs_walk_level(Walk *w, uint64_t table, unsigned level,
                          uint64_t base, bool wr)
{
    const uint8_t *p = oracle_page(w->o, table);
    unsigned shift = 12 + 9 * (level - 1);
    unsigned i;

    for (i = 0; p && i < ENTRIES; i++) {
        uint64_t e = ldq_le_p(p + 8 * i);
        uint64_t iova = base + ((uint64_t)i << shift);
        bool w2 = wr && (e & FS_RW);

        if (level == 4 && i >= ENTRIES / 2) {
            iova |= FS_SIGN_EXTEND;     /* the upper canonical half */
        }
        if (fs_unusable(w, e, level)) {
            continue;
        }
        if (fs_is_leaf(e, level)) {
            emit(w, iova, 1ULL << shift,
                 e & haw_mask(w->o) & ~((1ULL << shift) - 1), true, w2,
                 false);
        } else {
            fs_walk_level(w, e & haw_mask(w->o) & ~(PG - 1), level - 1, iova,
                          w2);
        }
    }
}

static GArray *maps_copy(const GArray *maps)
{
    GArray *out = maps_new();

    g_array_append_vals(out, maps->data, maps->len);
    qvtd_maps_normalise(out);
    return out;
}

/*
 * Find @dev's translation under root @rtaddr, as if translation were on.
 * For second-level translation, also the cost of the walk; false if over
 * the budget.  @w gets what a walk needs.
 */
static bool oracle_find(QVtdOracle *o, const QVtdDevice *dev, int64_t pasid,
                        uint64_t rtaddr, QVtdDevState *st, Walk *w)
{
    bool scalable = o->cfg.scalable_cap && (rtaddr & RTADDR_SMT);
    uint64_t saved = o->rtaddr;
    WalkCost cost;
    bool found;

    *st = (QVtdDevState) { .mode = QVTD_MODE_OFF };
    *w = (Walk) { .o = o, .dev = dev, .st = st, .with_pasid = pasid >= 0 };
    o->rtaddr = rtaddr;
    if (pasid >= 0 && !scalable) {
        /* nothing to walk: the request is blocked, which is a result */
        found = blocked(st, "request with PASID in legacy mode");
    } else if (scalable) {
        found = scalable_context(o, dev->devfn, pasid, st);
    } else {
        found = legacy_context(o, dev->devfn, st);
    }
    o->rtaddr = saved;
    if (found && st->mode == QVTD_MODE_FS) {
        w->fs = true;
        cost = walk_cost(w, st->slpt, st->levels);
        st->leaves = cost.leaves;
        st->tables = cost.tables;
        st->over_budget = cost.leaves > o->max_leaves ||
                          cost.tables > o->max_tables;
        return !st->over_budget;
    }
    if (!found || st->mode != QVTD_MODE_SL) {
        return true;
    }

    /*
     * SNP in leaves is reserved in legacy mode without Snoop Control
     * (9.8).  QEMU decides by capability (scalable_cap), the
     * specification by the mode the tables are in.
     */
    w->snp_ok = o->cfg.snoop_control || scalable ||
                (!(o->cfg.strict & QVTD_STRICT_SNP_LEGACY) &&
                 o->cfg.scalable_cap);
    cost = walk_cost(w, st->slpt, st->levels);
    st->leaves = cost.leaves;
    st->tables = cost.tables;
    st->over_budget = cost.leaves > o->max_leaves ||
                      cost.tables > o->max_tables;
    return !st->over_budget;
}

bool qvtd_oracle_table_within_budget(QVtdOracle *o, uint64_t table,
                                     unsigned levels)
{
    QVtdDevice dev = { 0 };
    QVtdDevState st = { 0 };
    Walk w = {
        .o = o, .dev = &dev, .st = &st, .snp_ok = true, .fs = o->cfg.flts,
    };
    WalkCost cost = walk_cost(&w, table, levels);

    return cost.leaves <= o->max_leaves && cost.tables <= o->max_tables;
}

GArray *qvtd_oracle_expected(QVtdOracle *o, const QVtdDevice *dev,
                             QVtdDevState *st)
{
    return qvtd_oracle_expected_pasid(o, dev, -1, st);
}

GArray *qvtd_oracle_expected_pasid(QVtdOracle *o, const QVtdDevice *dev,
                                   int64_t pasid, QVtdDevState *st)
{
    Walk w;

    if (pasid >= 0 && !o->cfg.pasid_cap) {
        *st = (QVtdDevState) { .pasid = pasid };
        blocked(st, "request with PASID without ECAP.PASID");
        return maps_new();
    }
    if (!(qtest_readl(o->qts, QVTD_BASE + REG_GSTS) & GSTS_TES)) {
        *st = (QVtdDevState) { .mode = QVTD_MODE_OFF };
        if (pasid >= 0) {
            st->pasid = pasid;
            blocked(st, "request with PASID while translation is off");
            return maps_new();
        }
        return maps_copy(dev->identity);
    }
    if (!oracle_find(o, dev, pasid, o->rtaddr, st, &w)) {
        return NULL;
    }
    switch (st->mode) {
    case QVTD_MODE_PT:
        return maps_copy(dev->identity);
    case QVTD_MODE_SL:
        w.out = maps_new();
        walk_level(&w, st->slpt, st->levels, 0, true, true);
        qvtd_maps_normalise(w.out);
        return w.out;
    case QVTD_MODE_FS:
        w.out = maps_new();
        fs_walk_level(&w, st->slpt, st->levels, 0, true);
        qvtd_maps_normalise(w.out);
        return w.out;
    default:
        return maps_new();
    }
}

/* ---- mapping lists ---- */

static uint64_t map_last(const QVtdMap *m)
{
    return m->iova + m->size - 1;
}

static bool map_same_flags(const QVtdMap *a, const QVtdMap *b)
{
    return a->read == b->read && a->write == b->write &&
           a->block == b->block;
}

static gint map_cmp(gconstpointer a, gconstpointer b)
{
    const QVtdMap *x = a, *y = b;

    return x->iova < y->iova ? -1 : x->iova > y->iova;
}

void qvtd_maps_normalise(GArray *maps)
{
    unsigned i, n = 0;

    g_array_sort(maps, map_cmp);
    for (i = 0; i < maps->len; i++) {
        QVtdMap *cur = &g_array_index(maps, QVtdMap, i);
        QVtdMap *prev = n ? &g_array_index(maps, QVtdMap, n - 1) : NULL;

        if (prev && map_last(prev) + 1 == cur->iova &&
            prev->addr + prev->size == cur->addr &&
            map_same_flags(prev, cur)) {
            prev->size += cur->size;
        } else {
            g_array_index(maps, QVtdMap, n++) = *cur;
        }
    }
    g_array_set_size(maps, n);
}

/* Whether a sorted list has overlapping mappings */
static bool maps_overlap(const GArray *maps)
{
    unsigned i;

    for (i = 1; i < maps->len; i++) {
        if (map_last(&g_array_index(maps, QVtdMap, i - 1)) >=
            g_array_index(maps, QVtdMap, i).iova) {
            return true;
        }
    }
    return false;
}

const QVtdMap *qvtd_maps_lookup(const GArray *maps, uint64_t iova)
{
    unsigned lo = 0, hi = maps->len;

    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        const QVtdMap *m = &g_array_index(maps, QVtdMap, mid);

        if (iova < m->iova) {
            hi = mid;
        } else if (iova > map_last(m)) {
            lo = mid + 1;
        } else {
            return m;
        }
    }
    return NULL;
}

/* The first mapping of @maps from index *@i on that ends at or after @x */
static const QVtdMap *maps_at(const GArray *maps, unsigned *i, uint64_t x)
{
    while (*i < maps->len &&
           map_last(&g_array_index(maps, QVtdMap, *i)) < x) {
        (*i)++;
    }
    return *i < maps->len ? &g_array_index(maps, QVtdMap, *i) : NULL;
}

GArray *qvtd_maps_diff(const GArray *a, const GArray *b)
{
    GArray *out = qvtd_ranges_new();
    unsigned i = 0, j = 0;
    uint64_t x = 0;

    for (;;) {
        const QVtdMap *ma = maps_at(a, &i, x), *mb = maps_at(b, &j, x);
        const QVtdMap *in_a = ma && ma->iova <= x ? ma : NULL;
        const QVtdMap *in_b = mb && mb->iova <= x ? mb : NULL;
        uint64_t lim = UINT64_MAX;
        bool differ;

        if (!ma && !mb) {
            break;
        }
        /* the piece [x, lim] is covered the same way throughout */
        if (ma) {
            lim = MIN(lim, in_a ? map_last(ma) : ma->iova - 1);
        }
        if (mb) {
            lim = MIN(lim, in_b ? map_last(mb) : mb->iova - 1);
        }
        differ = !in_a != !in_b ||
                 (in_a && (in_a->addr - in_a->iova != in_b->addr - in_b->iova ||
                           !map_same_flags(in_a, in_b)));
        if (differ) {
            qvtd_ranges_add(out, x, lim);
        }
        if (lim == UINT64_MAX) {
            break;
        }
        x = lim + 1;
    }
    return out;
}

void qvtd_map_str(GString *out, const QVtdMap *m)
{
    g_string_append_printf(out, "0x%" PRIx64 "-0x%" PRIx64 " -> 0x%" PRIx64
                           " %s%s%s", m->iova, map_last(m), m->addr,
                           m->read ? "r" : "-", m->write ? "w" : "-",
                           m->block ? " block-nosnoop" : "");
}

static void describe_side(GString *out, const GArray *maps, const char *name,
                          const QVtdRange *r)
{
    unsigned i, shown = 0;

    g_string_append_printf(out, "      %-8s:", name);
    for (i = 0; i < maps->len; i++) {
        const QVtdMap *m = &g_array_index(maps, QVtdMap, i);

        if (m->iova > r->last || map_last(m) < r->first) {
            continue;
        }
        if (shown++ == 4) {
            g_string_append(out, " ...");
            break;
        }
        g_string_append(out, shown > 1 ? "\n                 " : " ");
        qvtd_map_str(out, m);
    }
    if (!shown) {
        g_string_append(out, " (nothing)");
    }
    g_string_append_c(out, '\n');
}

void qvtd_maps_describe(GString *out, const GArray *a, const char *a_name,
                        const GArray *b, const char *b_name,
                        const GArray *ranges, unsigned max)
{
    unsigned i;

    for (i = 0; i < ranges->len && i < max; i++) {
        const QVtdRange *r = &g_array_index(ranges, QVtdRange, i);

        g_string_append_printf(out, "    IOVA 0x%" PRIx64 "-0x%" PRIx64
                               " differs:\n", r->first, r->last);
        describe_side(out, a, a_name, r);
        describe_side(out, b, b_name, r);
    }
    if (ranges->len > max) {
        g_string_append_printf(out, "    ... and %u more ranges\n",
                               ranges->len - max);
    }
}

/* ---- closed ranges ---- */

/* Whether closed ranges @a and @b overlap or touch */
static bool ranges_meet(const QVtdRange *a, const QVtdRange *b)
{
    return (a->last == UINT64_MAX || b->first <= a->last + 1) &&
           (b->last == UINT64_MAX || a->first <= b->last + 1);
}

void qvtd_ranges_add(GArray *ranges, uint64_t first, uint64_t last)
{
    QVtdRange add = { first, last };
    GArray *out;
    bool placed = false;
    unsigned i;

    /* the common case: lists are built in order */
    if (!ranges->len ||
        g_array_index(ranges, QVtdRange, ranges->len - 1).first <= first) {
        QVtdRange *end = ranges->len ?
            &g_array_index(ranges, QVtdRange, ranges->len - 1) : NULL;

        if (end && ranges_meet(end, &add)) {
            end->last = MAX(end->last, last);
        } else {
            g_array_append_val(ranges, add);
        }
        return;
    }
    out = qvtd_ranges_new();
    for (i = 0; i < ranges->len; i++) {
        QVtdRange *r = &g_array_index(ranges, QVtdRange, i);

        if (ranges_meet(r, &add)) {
            add.first = MIN(add.first, r->first);
            add.last = MAX(add.last, r->last);
            continue;
        }
        if (!placed && r->first > add.last) {
            g_array_append_val(out, add);
            placed = true;
        }
        g_array_append_val(out, *r);
    }
    if (!placed) {
        g_array_append_val(out, add);
    }
    g_array_set_size(ranges, 0);
    g_array_append_vals(ranges, out->data, out->len);
    g_array_free(out, true);
}

GArray *qvtd_ranges_subtract(const GArray *a, const GArray *b)
{
    GArray *out = qvtd_ranges_new();
    unsigned i, j = 0;

    for (i = 0; i < a->len; i++) {
        QVtdRange r = g_array_index(a, QVtdRange, i);
        unsigned k;

        while (j < b->len && g_array_index(b, QVtdRange, j).last < r.first) {
            j++;
        }
        for (k = j; k < b->len; k++) {
            const QVtdRange *s = &g_array_index(b, QVtdRange, k);

            if (s->first > r.last) {
                break;
            }
            if (s->first > r.first) {
                qvtd_ranges_add(out, r.first, s->first - 1);
            }
            if (s->last >= r.last) {
                r.first = 1;
                r.last = 0;     /* consumed */
                break;
            }
            r.first = s->last + 1;
        }
        if (r.first <= r.last) {
            qvtd_ranges_add(out, r.first, r.last);
        }
    }
    return out;
}

/* ---- the host side ---- */

static GArray *space_maps(QDict *space, const char *path, bool raw)
{
    GArray *maps = maps_new();
    QListEntry *e;

    QLIST_FOREACH_ENTRY(qdict_get_qlist(space, "mappings"), e) {
        QDict *d = qobject_to(QDict, qlist_entry_obj(e));
        QVtdMap m = {
            .iova = qdict_get_u64(d, "iova"),
            .size = qdict_get_u64(d, "size"),
            .addr = qdict_get_u64(d, "addr"),
            .read = qdict_get_bool(d, "read"),
            .write = qdict_get_bool(d, "write"),
            .block = qdict_get_bool(d, "block-nosnoop"),
        };

        g_assert_cmphex(m.size, !=, 0);
        g_array_append_val(maps, m);
    }
    g_array_sort(maps, map_cmp);
    if (maps_overlap(maps)) {
        g_test_message("host table of %s has overlapping mappings", path);
        g_assert_not_reached();
    }
    if (!raw) {
        qvtd_maps_normalise(maps);
    }
    return maps;
}

void qvtd_host_tables(QTestState *qts, const char *ctx, const char **paths,
                      unsigned n, GArray **maps, QVtdHostSpace *info,
                      bool raw)
{
    qvtd_host_tables_pasid(qts, ctx, paths, NULL, n, maps, info, raw);
}

/* Whether @space has @path attached for its requests with @pasid */
static bool space_attaches(QDict *space, const char *path, int64_t pasid)
{
    QListEntry *e;

    QLIST_FOREACH_ENTRY(qdict_get_qlist(space, "attachments"), e) {
        QDict *a = qobject_to(QDict, qlist_entry_obj(e));
        int64_t p = qdict_haskey(a, "pasid") ?
                    (int64_t)qdict_get_u64(a, "pasid") : -1;

        if (p == pasid && !strcmp(qdict_get_str(a, "device"), path)) {
            return true;
        }
    }
    return false;
}

void qvtd_host_tables_pasid(QTestState *qts, const char *ctx,
                            const char **paths, const int64_t *pasids,
                            unsigned n, GArray **maps, QVtdHostSpace *info,
                            bool raw)
{
    QDict *resp = qtest_qmp(qts, "{ 'execute': 'query-ioasid' }");
    QList *ctxs = qdict_get_qlist(resp, "return");
    QListEntry *e, *s;
    unsigned i;

    g_assert(ctxs);
    for (i = 0; i < n; i++) {
        maps[i] = NULL;
    }
    QLIST_FOREACH_ENTRY(ctxs, e) {
        QDict *c = qobject_to(QDict, qlist_entry_obj(e));

        if (strcmp(qdict_get_str(c, "id"), ctx)) {
            continue;
        }
        QLIST_FOREACH_ENTRY(qdict_get_qlist(c, "ioasids"), s) {
            QDict *space = qobject_to(QDict, qlist_entry_obj(s));

            for (i = 0; i < n; i++) {
                if (!space_attaches(space, paths[i],
                                    pasids ? pasids[i] : -1)) {
                    continue;
                }
                g_assert_null(maps[i]);
                maps[i] = space_maps(space, paths[i], raw);
                if (info) {
                    info[i] = (QVtdHostSpace) {
                        .ioasid = qdict_get_u64(space, "ioasid"),
                        .enforce = qdict_get_bool(space, "enforce-snoop"),
                        .failed_calls = qdict_haskey(space, "failed-calls") ?
                            qdict_get_u64(space, "failed-calls") : 0,
                        .quota_refused = qdict_haskey(space, "quota-refused") ?
                            qdict_get_u64(space, "quota-refused") : 0,
                    };
                }
            }
        }
    }
    qobject_unref(resp);
}

/* ---- the device's DMA ---- */

/* Translate like the host IOMMU: 0 or an IOASID_VFIO_ERR_* code */
static unsigned dma_translate(const GArray *maps, uint64_t iova, uint64_t len,
                              bool is_write, GArray *segs, uint64_t *fault)
{
    while (len) {
        const QVtdMap *m = qvtd_maps_lookup(maps, iova);
        QVtdDmaSeg seg;

        if (!m) {
            *fault = iova;
            return IOASID_VFIO_ERR_NO_MAPPING;
        }
        if (!(is_write ? m->write : m->read)) {
            *fault = iova;
            return IOASID_VFIO_ERR_PERMISSION;
        }
        seg = (QVtdDmaSeg) {
            .iova = iova, .gpa = m->addr + (iova - m->iova),
            .len = MIN(len - 1, map_last(m) - iova) + 1, .block = m->block,
        };
        g_array_append_val(segs, seg);
        iova += seg.len;
        len -= seg.len;
    }
    return 0;
}

static uint64_t unblocked_bytes(const GArray *segs)
{
    uint64_t n = 0;
    unsigned i;

    for (i = 0; i < segs->len; i++) {
        const QVtdDmaSeg *s = &g_array_index(segs, QVtdDmaSeg, i);

        n += s->block ? 0 : s->len;
    }
    return n;
}

void qvtd_predict_dma(const GArray *maps, unsigned op, uint64_t src,
                      uint64_t dst, uint32_t len, bool nosnoop,
                      QVtdDmaPrediction *p)
{
    unsigned err = 0;

    *p = (QVtdDmaPrediction) {
        .src = g_array_new(false, false, sizeof(QVtdDmaSeg)),
        .dst = g_array_new(false, false, sizeof(QVtdDmaSeg)),
    };
    if (op > IOASID_VFIO_OP_FILL || !len || len > IOASID_VFIO_MAX_LEN ||
        dst + len - 1 < dst ||
        (op == IOASID_VFIO_OP_COPY && src + len - 1 < src)) {
        err = IOASID_VFIO_ERR_BAD_ARGUMENT;
    }
    if (!err && op == IOASID_VFIO_OP_COPY) {
        err = dma_translate(maps, src, len, false, p->src, &p->fault_addr);
    }
    if (!err) {
        err = dma_translate(maps, dst, len, true, p->dst, &p->fault_addr);
    }
    if (err) {
        g_array_set_size(p->src, 0);
        g_array_set_size(p->dst, 0);
        p->status = IOASID_VFIO_STATUS_ERROR |
                    (err << IOASID_VFIO_STATUS_CODE_SHIFT);
        return;
    }
    p->status = IOASID_VFIO_STATUS_DONE;
    if (nosnoop) {
        p->nosnoop_bytes = unblocked_bytes(p->src) + unblocked_bytes(p->dst);
    }
}

void qvtd_dma_prediction_clear(QVtdDmaPrediction *p)
{
    g_array_free(p->src, true);
    g_array_free(p->dst, true);
    p->src = p->dst = NULL;
}
