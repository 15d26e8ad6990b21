/*
 * QTest: seeded, structured random programming of intel-iommu, checked
 * against an independent model of the VT-d tables (libqos/vtd-oracle.c)
 *
 * Each case starts a q35 with intel-iommu and ioasid-vfio devices, then
 * plays a random guest: second-level tables with 4K/2M/1G leaves anywhere
 * (across the interrupt window too), aliased tables, tables of the wrong
 * level, reserved bits at every level, entries pointing outside RAM or at
 * MMIO, root/context/PASID changes and teardowns, TE toggles, SRTP, and
 * every kind of invalidation; device DMA at IOVAs taken mostly from the
 * expected table; Enable No Snoop writes.  With PASIDs (x-pasid-mode=on),
 * each PASID a device uses is a requester of its own, with its own PASID
 * entry, domain and tables, whose host IOASID the device attaches at its
 * first request with the PASID and releases when the guest tears the
 * entry down; the 64-PASID limit is played too.
 *
 * The check: after each guest table write the oracle is evaluated for
 * every device; where the grants changed, the device's IOVA range is
 * dirty, tagged with what invalidation makes the change effective (page
 * table entries, context entries, PASID entries, a new root).  The host
 * table (query-ioasid) must equal the oracle's table everywhere outside
 * the dirty ranges, at all times, and so everywhere once the guest has
 * invalidated what it changed.  DMA must do what the host table says.
 *
 * Environment: IOASID_RANDOM_SEED (a number, or "random"),
 * IOASID_RANDOM_STEPS (steps per case), IOASID_RANDOM_SKIP (a comma
 * separated list of known product bug classes not to generate, see
 * skip_classes[]), IOASID_RANDOM_VERBOSE=1 (log every operation).
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "libqos/ioasid-vfio.h"
#include "libqos/vtd.h"
#include "libqos/vtd-oracle.h"
#include "hw/pci/pci_regs.h"

/* Guest memory (-m 2G: RAM is [0, 2 GiB), see the identity template) */
#define TABLES          0x01000000ULL   /* root, context, PASID, queue */
#define TABLES_SIZE     0x00400000ULL
#define POOL            0x02000000ULL   /* second-level tables */
#define POOL_PAGES      64
#define GUARD           0x3ff00000ULL   /* never a DMA target */
#define DATA            0x40000000ULL   /* leaf targets, DMA writes */
#define DATA_SIZE       0x40000000ULL
#define RAM_END         0x80000000ULL
#define BAD_GPA         0x100000000ULL  /* not guest memory */
#define PG              4096ULL
#define MB2             0x200000ULL
#define GB1             0x40000000ULL

#define MAX_DEV         3
/* requesters: a device's requests without PASID, or with one PASID */
#define MAX_PASIDS      66
#define MAX_REQ         (MAX_DEV + MAX_PASIDS)
#define RING            24
#define CTX_ID          "ioasid-default"

/* Second-level entry bits (VT-d 3.x 9.8) */
#define SL_R            QVTD_SL_R
#define SL_W            QVTD_SL_W
#define SL_RW           QVTD_SL_RW
#define SL_PS           QVTD_SL_PS
#define SL_SNP          QVTD_SL_SNP
#define ADDR_MASK       0x0000fffffffff000ULL

/* First-stage entry bits (9.7), for the x-flts=on cases */
#define FS_P            QVTD_FS_P
#define FS_RW           QVTD_FS_RW
#define FS_US           QVTD_FS_US
#define FS_PS           QVTD_FS_PS
#define FS_AD           (QVTD_FS_A | QVTD_FS_D)
#define FS_DIR          QVTD_FS_DIR
#define FS_XD           QVTD_FS_XD
/* The first upper-half canonical IOVA of 4-level first-stage paging */
#define FS_UPPER        0xffff800000000000ULL

/* What makes a change effective */
enum {
    K_PTE = 1,          /* IOTLB invalidation (or stronger) */
    K_CTX = 2,          /* context-cache invalidation */
    K_PASID = 4,        /* PASID-cache or context-cache invalidation */
    K_ROOT = 8,         /* global context-cache invalidation (after SRTP) */
    K_ALL = 15,
};

/*
 * Product bug classes this test found (fixed since in intel-iommu; the
 * random-found cases below reproduce each).  IOASID_RANDOM_SKIP=name,...
 * stops generating the guest behaviour that triggers one, so that the
 * rest can be exercised on a QEMU that has the bug; for the strict-*
 * classes the oracle then models what QEMU 10.0 does instead of the spec.
 */
static const char *const skip_classes[] = {
    "strict-pasid-rsvd",    /* PASID dir/entry reserved bits */
    "strict-pdts",          /* RID_PASID beyond PDTS */
    "strict-snp-legacy",    /* SNP in legacy tables, SC off, SM capable */
    "psi-unaligned",        /* page-selective address not aligned to AM */
    "mmio-table",           /* tables (or leaves that alias them) in MMIO */
    "aw-shrink",            /* 4-level to 3-level: stale above 2^39 */
    NULL
};

typedef struct Case {
    const char *name;
    bool scalable;              /* the tables are in scalable mode */
    bool scalable_cap;          /* x-scalable-mode=on */
    bool sc;                    /* snoop-control=on */
    bool flts;                  /* x-flts=on: first-stage tables */
    bool no_fs1gp;              /* fs1gp=off: no 1 GiB first-stage leaves */
    bool qi;                    /* queued invalidation from the start */
    bool qi_toggle;             /* switch between register and queued */
    bool shared;                /* the devices share a domain and table */
    bool pasid_mode;            /* x-pasid-mode=on: requests with PASID */
    unsigned npasid;            /* PASID requesters per device */
    unsigned pretouch;          /* PASIDs given a request at start-up */
    int ndev;
    uint8_t slot[MAX_DEV];
    const char *devopts[MAX_DEV];
    const char *ctxopts;        /* -object ioasid,id=ioasid-default,... */
    bool host_can_block;
    bool platform_nosnoop;
    unsigned steps;
} Case;

typedef struct DirtySeg {
    uint64_t first;
    uint64_t last;
    unsigned kinds;
} DirtySeg;

typedef struct Dev Dev;
/*
 * A requester: a device's requests without PASID (the device, fn == the
 * Dev itself), or with one PASID.
 */
struct Dev {
    QIoasidVfio *d;
    char *path;                 /* for messages */
    const char *qom;            /* the device's QOM path */
    int64_t pasid;              /* -1: requests without PASID */
    Dev *fn;                    /* the device */
    uint8_t devfn;
    QVtdDevice od;
    GArray *expected;           /* the oracle's table, normalised */
    QVtdDevState st;
    GArray *dirty;              /* DirtySeg */
    GArray *dirty_dids;         /* uint16_t: DIDs it had while dirty */
    bool nosnoop_en;            /* Device Control Enable No Snoop */
    /* scalable: PASID directory and the two PASID tables */
    uint64_t pdir;
    uint64_t ptab[2];
};

/* The PASIDs of a device's PASID requesters, in order */
static uint32_t req_pasid(unsigned k)
{
    static const uint32_t first[] = { 1, 64, 2 };

    /* then 3 to 63, 65, 66...: each once, in the two PASID tables */
    return k < ARRAY_SIZE(first) ? first[k] : k < 64 ? k : k + 1;
}

typedef struct Rt {
    const Case *c;
    uint64_t seed;
    GRand *rnd;
    QTestState *qts;
    QVTD v;
    QVtdOracle o;
    Dev dev[MAX_REQ];           /* the devices first, then PASIDs */
    int ndev;                   /* requesters */
    int nfn;                    /* devices */
    bool te;
    uint64_t root[2];           /* root tables A and B */
    uint64_t rtaddr;            /* latched */
    uint64_t ctab[2];           /* context tables */
    uint64_t pool[POOL_PAGES];
    int level[POOL_PAGES];      /* the level each pool page is made for */
    GHashTable *shadow;         /* page -> uint64_t[512]: what we wrote */
    /* the current table-write transaction */
    unsigned tx_kind;
    GArray *tx_undo;            /* (addr, old value) pairs */
    unsigned step;
    char *ring[RING];
    unsigned ring_n;
    bool failed;
    bool verbose;
    bool skip[ARRAY_SIZE(skip_classes)];
    unsigned stats[32];
    gint64 usecs[4];            /* time spent: eval, check, DMA, other */
    GHashTable *blocked;        /* reason -> checks of a blocked device */
} Rt;

enum {
    ST_WRITES, ST_REVERTED, ST_INVS, ST_CHECKS, ST_DMA, ST_DMA_DONE,
    ST_DMA_FAULT, ST_DMA_SKIPPED, ST_TE, ST_SRTP, ST_FAULTS, ST_CLEAN,
    ST_MAPS, ST_SL, ST_PT, ST_BLOCKED, ST_OFF, ST_FS, ST_DMA_WALKED,
    ST_UNATTACHED, ST_PASID_DMA, ST_PASID_FULL,
};

static Rt *current_rt;

static uint64_t base_seed(void);

/* ---- randomness ---- */

static unsigned rnd(Rt *rt, unsigned n)
{
    return g_rand_int_range(rt->rnd, 0, n);
}

static bool chance(Rt *rt, unsigned percent)
{
    return rnd(rt, 100) < percent;
}

static uint64_t rnd64(Rt *rt)
{
    return ((uint64_t)g_rand_int(rt->rnd) << 32) | g_rand_int(rt->rnd);
}

static bool skipping(Rt *rt, const char *cls)
{
    unsigned i;

    for (i = 0; skip_classes[i]; i++) {
        if (!strcmp(skip_classes[i], cls)) {
            return rt->skip[i];
        }
    }
    g_assert_not_reached();
}

/* ---- the operation log and failure reports ---- */

static void G_GNUC_PRINTF(2, 3) op_log(Rt *rt, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_free(rt->ring[rt->ring_n % RING]);
    rt->ring[rt->ring_n % RING] = g_strdup_printf("step %u: %s", rt->step, s);
    rt->ring_n++;
    if (rt->verbose) {
        g_test_message("step %u: %s", rt->step, s);
    }
    g_free(s);
}

static void print_ring(Rt *rt, GString *out)
{
    unsigned i, first = rt->ring_n > RING ? rt->ring_n - RING : 0;

    g_string_append_printf(out, "  last operations:\n");
    for (i = first; i < rt->ring_n; i++) {
        g_string_append_printf(out, "    %s\n", rt->ring[i % RING]);
    }
}

static void report_header(Rt *rt, GString *out)
{
    g_string_append_printf(out, "ioasid-random %s: FAILED at step %u "
                           "(reproduce: IOASID_RANDOM_SEED=%" PRIu64
                           " IOASID_RANDOM_STEPS=%u -p /x86_64/ioasid-vfio/"
                           "random/%s)\n", rt->c->name, rt->step, base_seed(),
                           rt->step + 1, rt->c->name);
}

static void G_GNUC_PRINTF(3, 4) fail(Rt *rt, GString *detail,
                                     const char *fmt, ...)
{
    g_autoptr(GString) out = g_string_new(NULL);
    va_list ap;

    report_header(rt, out);
    g_string_append(out, "  ");
    va_start(ap, fmt);
    g_string_append_vprintf(out, fmt, ap);
    va_end(ap);
    g_string_append_c(out, '\n');
    if (detail) {
        g_string_append(out, detail->str);
    }
    print_ring(rt, out);
    fprintf(stderr, "%s", out->str);
    g_test_message("%s", out->str);
    rt->failed = true;
    g_test_fail();
}

/* QEMU died or a libqtest assertion fired: say where we were */
static void abort_report(void *opaque)
{
    Rt *rt = current_rt;
    g_autoptr(GString) out = g_string_new(NULL);

    if (!rt || rt->failed) {
        return;
    }
    report_header(rt, out);
    g_string_append(out, "  aborted (QEMU died, hung up or an assertion "
                    "failed)\n");
    print_ring(rt, out);
    fprintf(stderr, "%s", out->str);
}

/* ---- guest memory: every table write goes through here ---- */

static uint64_t *shadow_page(Rt *rt, uint64_t addr)
{
    uint64_t pfn = addr & ~(PG - 1);
    uint64_t *p = g_hash_table_lookup(rt->shadow, &pfn);

    if (!p) {
        /* table pages start zeroed (qvtd_alloc_page, the pool memset) */
        p = g_new0(uint64_t, PG / 8);
        g_hash_table_insert(rt->shadow, g_memdup2(&pfn, sizeof(pfn)), p);
    }
    return p;
}

static uint64_t rd(Rt *rt, uint64_t addr)
{
    return shadow_page(rt, addr)[(addr & (PG - 1)) / 8];
}

static void wr_raw(Rt *rt, uint64_t addr, uint64_t val)
{
    shadow_page(rt, addr)[(addr & (PG - 1)) / 8] = val;
    qtest_writeq(rt->qts, addr, val);
}

/* ---- dirty ranges ---- */

/* Over [first, last]: kinds = (kinds & and) | or; fills gaps if @or */
static void paint(GArray *segs, uint64_t first, uint64_t last, unsigned and,
                  unsigned or)
{
    GArray *out = g_array_new(false, false, sizeof(DirtySeg));
    uint64_t x = first;
    bool done = false;
    unsigned i;

    for (i = 0; i < segs->len; i++) {
        DirtySeg s = g_array_index(segs, DirtySeg, i);

        if (s.last < first || s.first > last || done) {
            g_array_append_val(out, s);
            continue;
        }
        if (s.first < first) {
            DirtySeg head = { s.first, first - 1, s.kinds };

            g_array_append_val(out, head);
            s.first = first;
        }
        if (or && s.first > x) {
            DirtySeg gap = { x, s.first - 1, or };

            g_array_append_val(out, gap);
        }
        {
            DirtySeg mid = { s.first, MIN(s.last, last),
                             (s.kinds & and) | or };

            g_array_append_val(out, mid);
        }
        if (s.last > last) {
            DirtySeg tail = { last + 1, s.last, s.kinds };

            g_array_append_val(out, tail);
            done = true;
        } else if (s.last == last) {
            done = true;
        } else {
            x = s.last + 1;
        }
    }
    if (or && !done) {
        DirtySeg gap = { x, last, or };

        g_array_append_val(out, gap);
    }
    /* sort (the gap may come after later segments), drop empty, merge */
    g_array_set_size(segs, 0);
    for (i = 0; i < out->len; i++) {
        DirtySeg *s = &g_array_index(out, DirtySeg, i);
        unsigned j = segs->len;

        if (!s->kinds) {
            continue;
        }
        while (j > 0 && g_array_index(segs, DirtySeg, j - 1).first >
               s->first) {
            j--;
        }
        g_array_insert_val(segs, j, *s);
    }
    for (i = 1; i < segs->len; i++) {
        DirtySeg *p = &g_array_index(segs, DirtySeg, i - 1);
        DirtySeg *s = &g_array_index(segs, DirtySeg, i);

        if (p->last + 1 == s->first && p->kinds == s->kinds) {
            p->last = s->last;
            g_array_remove_index(segs, i);
            i--;
        }
    }
    g_array_free(out, true);
}

static void dirty_add_did(Dev *dev, const QVtdDevState *st)
{
    unsigned i;

    if (!st->has_did) {
        return;
    }
    for (i = 0; i < dev->dirty_dids->len; i++) {
        if (g_array_index(dev->dirty_dids, uint16_t, i) == st->did) {
            return;
        }
    }
    g_array_append_val(dev->dirty_dids, st->did);
}

static bool dirty_has_did(Dev *dev, uint16_t did)
{
    unsigned i;

    if (dev->st.has_did && dev->st.did == did) {
        return true;
    }
    for (i = 0; i < dev->dirty_dids->len; i++) {
        if (g_array_index(dev->dirty_dids, uint16_t, i) == did) {
            return true;
        }
    }
    return false;
}

/* A change became effective for @dev over [first, last] */
static void clean(Dev *dev, uint64_t first, uint64_t last, unsigned kinds)
{
    paint(dev->dirty, first, last, ~kinds, 0);
    if (!dev->dirty->len) {
        g_array_set_size(dev->dirty_dids, 0);
    }
}

/* A device-selective context-cache invalidation: all its requesters */
static void clean_fn(Rt *rt, Dev *fn, unsigned kinds)
{
    int i;

    for (i = 0; i < rt->ndev; i++) {
        if (rt->dev[i].fn == fn) {
            clean(&rt->dev[i], 0, UINT64_MAX, kinds);
        }
    }
}

static void clean_all(Rt *rt, unsigned kinds)
{
    int i;

    for (i = 0; i < rt->ndev; i++) {
        clean(&rt->dev[i], 0, UINT64_MAX, kinds);
    }
}

static GArray *dirty_ranges(Dev *dev)
{
    GArray *r = qvtd_ranges_new();
    unsigned i;

    for (i = 0; i < dev->dirty->len; i++) {
        DirtySeg *s = &g_array_index(dev->dirty, DirtySeg, i);

        qvtd_ranges_add(r, s->first, s->last);
    }
    return r;
}

/* ---- the oracle ---- */

/* Evaluate every device; false if some table grants beyond the budget */
static bool eval_all(Rt *rt, GArray **out, QVtdDevState *st)
{
    gint64 t0 = g_get_monotonic_time();
    bool ok = true;
    int i;

    qvtd_oracle_begin(&rt->o);
    for (i = 0; i < rt->ndev; i++) {
        out[i] = qvtd_oracle_expected_pasid(&rt->o, &rt->dev[i].od,
                                            rt->dev[i].pasid, &st[i]);
        ok = ok && out[i];
    }
    /*
     * Whatever table a device uses next, the walk must stay cheap.  This
     * also reads every page the pool's tables lead to (see in_data()).
     */
    for (i = 0; ok && i < POOL_PAGES; i++) {
        if (rt->level[i] >= 3) {
            ok = qvtd_oracle_table_within_budget(&rt->o, rt->pool[i],
                                                 rt->level[i]);
        }
    }
    rt->usecs[0] += g_get_monotonic_time() - t0;
    if (!ok) {
        for (i = 0; i < rt->ndev; i++) {
            if (out[i]) {
                g_array_free(out[i], true);
            }
            out[i] = NULL;
        }
    }
    return ok;
}

/* Whether the device's path (what its context names) changed */
static bool path_changed(const QVtdDevState *a, const QVtdDevState *b)
{
    return a->mode != b->mode || a->has_did != b->has_did ||
           (a->has_did && a->did != b->did) ||
           ((a->mode == QVTD_MODE_SL || a->mode == QVTD_MODE_FS) &&
            (a->slpt != b->slpt || a->levels != b->levels ||
             a->pgsnp != b->pgsnp || a->pasid != b->pasid));
}

/*
 * Take the new evaluation.  @kind (0: the change is effective at once)
 * says what the guest changed.  Page-table entries: where the device's
 * grants changed, they are dirty.  A root, context or PASID entry that
 * changes the device's path: all of its IOVA space is dirty, since until
 * the invalidation the hardware may walk either path, and entries written
 * under either meanwhile count too.
 */
static void take_eval(Rt *rt, GArray **exp, QVtdDevState *st, unsigned kind)
{
    int i;
    unsigned j;

    for (i = 0; i < rt->ndev; i++) {
        Dev *dev = &rt->dev[i];
        g_autoptr(GArray) diff = qvtd_maps_diff(dev->expected, exp[i]);

        if (kind & (K_CTX | K_PASID) && path_changed(&dev->st, &st[i])) {
            paint(dev->dirty, 0, UINT64_MAX, ~0u, kind);
            dirty_add_did(dev, &dev->st);
            dirty_add_did(dev, &st[i]);
        } else if (kind && diff->len) {
            for (j = 0; j < diff->len; j++) {
                QVtdRange *r = &g_array_index(diff, QVtdRange, j);

                paint(dev->dirty, r->first, r->last, ~0u, kind);
            }
            dirty_add_did(dev, &dev->st);
            dirty_add_did(dev, &st[i]);
        }
        g_array_free(dev->expected, true);
        dev->expected = exp[i];
        dev->st = st[i];
    }
}

/* Re-evaluate after a change that is effective at once (TE) */
static void reeval(Rt *rt, unsigned kind)
{
    GArray *exp[MAX_REQ];
    QVtdDevState st[MAX_REQ];

    g_assert_true(eval_all(rt, exp, st));
    take_eval(rt, exp, st, kind);
}

/* ---- table writes, as transactions ---- */

static void tx_begin(Rt *rt, unsigned kind)
{
    rt->tx_kind = kind;
    g_array_set_size(rt->tx_undo, 0);
}

static void tx_write(Rt *rt, uint64_t addr, uint64_t val)
{
    uint64_t undo[2] = { addr, rd(rt, addr) };

    g_array_append_vals(rt->tx_undo, undo, 2);
    wr_raw(rt, addr, val);
}

/*
 * The guest wrote: evaluate.  If the tables now grant more than the walk
 * budget, put the old values back (nothing read them in between) and
 * return false.
 */
static bool tx_commit(Rt *rt)
{
    GArray *exp[MAX_REQ];
    QVtdDevState st[MAX_REQ];
    bool ok;
    int i;

    rt->stats[ST_WRITES]++;
    ok = eval_all(rt, exp, st);
    if (!ok) {
        for (i = 0; i < rt->ndev; i++) {
            if (exp[i]) {
                g_array_free(exp[i], true);
            }
        }
        for (i = rt->tx_undo->len - 2; i >= 0; i -= 2) {
            wr_raw(rt, g_array_index(rt->tx_undo, uint64_t, i),
                   g_array_index(rt->tx_undo, uint64_t, i + 1));
        }
        rt->stats[ST_REVERTED]++;
        op_log(rt, "  (reverted: over the walk budget)");
        /* the page cache must know every table again (see in_data()) */
        g_assert_true(eval_all(rt, exp, st));
        for (i = 0; i < rt->ndev; i++) {
            g_array_free(exp[i], true);
        }
        return false;
    }
    take_eval(rt, exp, st, rt->tx_kind);
    return true;
}

/* One entry of @n quadwords, written as one guest update */
static bool write_entry(Rt *rt, unsigned kind, uint64_t addr,
                        const uint64_t *val, int n)
{
    int i;

    tx_begin(rt, kind);
    for (i = 0; i < n; i++) {
        tx_write(rt, addr + 8 * i, val[i]);
    }
    return tx_commit(rt);
}

static bool write_q(Rt *rt, unsigned kind, uint64_t addr, uint64_t val)
{
    return write_entry(rt, kind, addr, &val, 1);
}

/* ---- where things are ---- */

static int pool_index(Rt *rt, uint64_t addr)
{
    if (addr < POOL || addr >= POOL + POOL_PAGES * PG) {
        return -1;
    }
    return (addr - POOL) / PG;
}

/* A pool page made for @level */
static uint64_t pool_page(Rt *rt, int level)
{
    int n = 0, pick, i;

    for (i = 0; i < POOL_PAGES; i++) {
        n += rt->level[i] == level;
    }
    pick = rnd(rt, n);
    for (i = 0; i < POOL_PAGES; i++) {
        if (rt->level[i] == level && !pick--) {
            return rt->pool[i];
        }
    }
    g_assert_not_reached();
}

static int active_root(Rt *rt)
{
    uint64_t a = rt->rtaddr & ADDR_MASK;

    return a == rt->root[0] ? 0 : a == rt->root[1] ? 1 : -1;
}

/* The context table @dev's root entry (of the active root) points to */
static int ctab_in_use(Rt *rt, Dev *dev)
{
    int r = active_root(rt);
    uint64_t e;

    if (r < 0) {
        return -1;
    }
    e = rd(rt, rt->root[r] + (rt->c->scalable && dev->devfn >= 128 ? 8 : 0));
    e &= ADDR_MASK;
    return e == rt->ctab[0] ? 0 : e == rt->ctab[1] ? 1 : -1;
}

static uint64_t ctx_entry(Rt *rt, int t, Dev *dev)
{
    return rt->c->scalable ? rt->ctab[t] + 32 * (dev->devfn & 0x7f)
                           : rt->ctab[t] + 16 * dev->devfn;
}

static uint64_t pasid_entry(Dev *dev, uint32_t pasid)
{
    return dev->ptab[(pasid >> 6) & 1] + 64 * (pasid & 0x3f);
}

static uint16_t home_did(Rt *rt, int i)
{
    return rt->c->shared ? 5 : 5 + i;
}

static uint64_t home_root(Rt *rt, int i)
{
    /* pool pages 0-5 are made for level 4 */
    return rt->pool[rt->c->shared ? 0 : i % 6];
}

/* PASID Enable in the device's PASID capability, in the PASID cases */
static void pasid_enable(Rt *rt, Dev *fn)
{
    if (rt->c->pasid_mode) {
        qiov_ext_config_writew(fn->d, IOASID_VFIO_PASID_CAP_OFFSET +
                               PCI_PASID_CTRL, PCI_PASID_CTRL_ENABLE);
        g_assert_cmphex(qiov_ext_config_readw(fn->d,
                                              IOASID_VFIO_PASID_CAP_OFFSET +
                                              PCI_PASID_CTRL), ==,
                        PCI_PASID_CTRL_ENABLE);
    }
}

/* An index that is likely to make an interesting IOVA at @level */
static unsigned pick_index(Rt *rt, int level)
{
    /* 255/256: the two canonical halves of first-stage tables */
    static const unsigned l4[] = { 0, 0, 0, 1, 255, 256, 511 };
    static const unsigned l3[] = { 0, 1, 2, 3, 3, 3, 511 };
    static const unsigned l2[] = { 0, 1, 2, 502, 503, 503, 503, 504, 511 };
    static const unsigned l1[] = { 0, 1, 2, 3, 255, 256, 511 };
    static const unsigned *const sets[] = { NULL, l1, l2, l3, l4 };
    static const unsigned lens[] = {
        0, ARRAY_SIZE(l1), ARRAY_SIZE(l2), ARRAY_SIZE(l3), ARRAY_SIZE(l4),
    };

    if (level < 1 || level > 4 || chance(rt, 25)) {
        return rnd(rt, 512);
    }
    return sets[level][rnd(rt, lens[level])];
}

/*
 * Permission bits of a new leaf.  First stage: present, writable, user
 * (every DMA is a user request), mostly with accessed and dirty preset
 * as Linux does; sometimes read-only, supervisor-only or not present.
 */
static uint64_t pick_perm(Rt *rt)
{
    unsigned r = rnd(rt, 100);

    if (rt->c->flts) {
        uint64_t e = r < 65 ? FS_P | FS_RW | FS_US : r < 82 ? FS_P | FS_US :
                     r < 91 ? FS_P | FS_RW : r < 95 ? FS_RW | FS_US : 0;

        return e | (chance(rt, 70) ? FS_AD : 0) | (chance(rt, 5) ? FS_XD : 0);
    }
    return r < 65 ? SL_RW : r < 80 ? SL_R : r < 90 ? SL_W : 0;
}

/* Directory entry bits: mostly what a guest kernel writes */
static uint64_t pick_dir_bits(Rt *rt)
{
    if (rt->c->flts) {
        return chance(rt, 92) ? FS_DIR : chance(rt, 50) ? FS_P | FS_US
                                                        : FS_P | FS_RW;
    }
    return chance(rt, 92) ? SL_RW : chance(rt, 50) ? SL_R : SL_W;
}

/* The bits that make an entry a usable directory: R|W, or P|RW|US */
static uint64_t dir_bits(Rt *rt)
{
    return rt->c->flts ? FS_DIR : SL_RW;
}

/* A leaf target for a page of @size: mostly the data area */
static uint64_t pick_target(Rt *rt, uint64_t size)
{
    static const uint64_t bad4k[] = {
        0xfed90000ULL,          /* intel-iommu registers */
        0xfec00000ULL,          /* IOAPIC */
        0xfee00000ULL,          /* APIC */
        0xe0000000ULL,          /* PCI hole (BARs) */
        0xb0000000ULL,          /* PCIe MMCONFIG */
        RAM_END,                /* just past RAM */
        RAM_END - PG,           /* the last RAM page */
        BAD_GPA,                /* above 4 GiB: nothing */
        0xfffff000ULL,          /* BIOS ROM (read-only) */
        0xcf000ULL,             /* PAM: read-only shadow */
        0xef000ULL,
        0x9f000ULL,             /* low RAM */
    };
    static const uint64_t bad2m[] = {
        RAM_END - MB2,          /* the last 2M of RAM */
        RAM_END, 0xfee00000ULL, 0xffe00000ULL, 0, BAD_GPA, 0xe0000000ULL,
    };
    static const uint64_t bad1g[] = { 0, RAM_END, 0xc0000000ULL, BAD_GPA };

    if (chance(rt, 82)) {
        return DATA + (rnd64(rt) % (DATA_SIZE / size)) * size;
    }
    if (skipping(rt, "mmio-table")) {
        /* any leaf may be read as a directory entry through aliasing */
        static const uint64_t safe[] = {
            RAM_END, BAD_GPA, 0xfffff000ULL, 0xcf000ULL, 0x9f000ULL,
        };

        return size == PG ? safe[rnd(rt, ARRAY_SIZE(safe))] :
               chance(rt, 50) ? RAM_END : BAD_GPA;
    }
    if (size == PG) {
        return bad4k[rnd(rt, ARRAY_SIZE(bad4k))];
    } else if (size == MB2) {
        return bad2m[rnd(rt, ARRAY_SIZE(bad2m))];
    }
    return bad1g[rnd(rt, ARRAY_SIZE(bad1g))];
}

/* SNP for a new leaf: allowed, reserved, or reserved only by the spec */
static uint64_t pick_snp(Rt *rt)
{
    const Case *c = rt->c;

    if (c->flts) {
        /* bit 11 is ignored in first-stage entries: it must not snoop */
        return chance(rt, 20) ? SL_SNP : 0;
    }
    if (c->sc || c->scalable) {
        return chance(rt, 50) ? SL_SNP : 0;
    }
    if (c->scalable_cap && skipping(rt, "strict-snp-legacy")) {
        return 0;
    }
    return chance(rt, 5) ? SL_SNP : 0;
}

static uint64_t make_leaf(Rt *rt, int level)
{
    uint64_t size = 1ULL << (12 + 9 * (level - 1));
    /* bit 12 of a first-stage large leaf is PAT, not an address bit */
    uint64_t pat = rt->c->flts && level > 1 && chance(rt, 10) ? 1ULL << 12
                                                                : 0;

    return pick_target(rt, size) | pick_perm(rt) | pick_snp(rt) | pat |
           (level > 1 ? SL_PS : 0);
}

/* A reserved bit of a first-stage entry at @level, given its kind */
static uint64_t pick_fs_reserved(Rt *rt, uint64_t e, int level)
{
    bool large = (level == 2 || level == 3) && (e & FS_PS);

    switch (rnd(rt, 4)) {
    case 0:
        return 1ULL << (48 + rnd(rt, 4));   /* address bits above the HAW */
    case 1:
        if (large) {
            return 1ULL << (13 + rnd(rt, level == 2 ? 8 : 17));
        }
        return level == 4 ? FS_PS : 1ULL << 51;
    case 2:
        /* a 1 GiB leaf, reserved without CAP.FS1GP */
        return level == 3 && rt->c->no_fs1gp ? FS_PS : 1ULL << 50;
    default:
        return level == 4 ? FS_PS : 1ULL << 49;
    }
}

/* A reserved bit of a second-level entry at @level, given its kind */
static uint64_t pick_sl_reserved(Rt *rt, uint64_t e, int level)
{
    bool large = (level == 2 || level == 3) && (e & SL_PS);

    if (rt->c->flts) {
        return pick_fs_reserved(rt, e, level);
    }

    switch (rnd(rt, 4)) {
    case 0:
        return 1ULL << 62;
    case 1:
        return 1ULL << (48 + rnd(rt, 4));
    case 2:
        if (large) {
            return 1ULL << (12 + rnd(rt, level == 2 ? 9 : 18));
        }
        return level == 4 ? SL_PS : level > 1 ? SL_SNP : 1ULL << 62;
    default:
        return level > 1 && !large ? SL_SNP : 1ULL << 51;
    }
}

static const char *kind_str(unsigned kind)
{
    switch (kind) {
    case K_PTE:
        return "pte";
    case K_CTX:
        return "context";
    case K_PASID:
        return "pasid";
    default:
        return "?";
    }
}

static bool log_write(Rt *rt, unsigned kind, uint64_t addr, uint64_t val,
                      const char *what)
{
    op_log(rt, "%s write [0x%" PRIx64 "] = 0x%016" PRIx64 " (%s)",
           kind_str(kind), addr, val, what);
    return write_q(rt, kind, addr, val);
}

/* ---- second-level table operations ---- */

/* Whether @e at @level is a directory entry into the pool */
static bool sl_dir_entry(Rt *rt, uint64_t e, int level)
{
    if (rt->c->flts) {
        return level > 1 && (e & FS_P) && (e & FS_US) &&
               !((level <= 3) && (e & FS_PS)) &&
               !(e & 0x000f000000000000ULL) &&
               pool_index(rt, e & ADDR_MASK) >= 0;
    }
    return level > 1 && (e & SL_RW) && !((level <= 3) && (e & SL_PS)) &&
           !(e & (SL_SNP | (1ULL << 62) | 0x000f000000000000ULL)) &&
           pool_index(rt, e & ADDR_MASK) >= 0;
}

/* The table a device walks from, for structured operations */
static uint64_t sl_top(Rt *rt, Dev *dev, int *levels)
{
    if ((dev->st.mode == QVTD_MODE_SL || dev->st.mode == QVTD_MODE_FS) &&
        pool_index(rt, dev->st.slpt) >= 0) {
        *levels = dev->st.levels;
        return dev->st.slpt;
    }
    /* translation off, or the path is broken: its usual table */
    *levels = 4;
    return chance(rt, 80) ? home_root(rt, dev - rt->dev) : pool_page(rt, 4);
}

/*
 * Like a guest driver mapping one page: walk down from the device's table
 * at interesting indices, creating directory entries from the pool where
 * there are none (or a leaf is in the way), then write the leaf.
 */
static void op_sl_map(Rt *rt, Dev *dev)
{
    int levels, level, leaf = chance(rt, 60) ? 1 : chance(rt, 75) ? 2 : 3;
    uint64_t table = sl_top(rt, dev, &levels);
    uint64_t iova = 0;

    leaf = MIN(leaf, levels - 1);
    for (level = levels; level > leaf; level--) {
        unsigned idx = pick_index(rt, level);
        uint64_t slot = table + 8 * idx, e = rd(rt, slot);

        iova |= (uint64_t)idx << (12 + 9 * (level - 1));
        if (!sl_dir_entry(rt, e, level) || chance(rt, 3)) {
            uint64_t child = chance(rt, 90) ? pool_page(rt, level - 1)
                                            : rt->pool[rnd(rt, POOL_PAGES)];

            e = child | pick_dir_bits(rt);
            if (!log_write(rt, K_PTE, slot, e, "directory")) {
                return;
            }
        }
        table = e & ADDR_MASK;
    }
    {
        unsigned idx = pick_index(rt, leaf);
        g_autofree char *what = NULL;
        uint64_t e = make_leaf(rt, leaf);

        iova |= (uint64_t)idx << (12 + 9 * (leaf - 1));
        what = g_strdup_printf("%s leaf for IOVA 0x%" PRIx64 " of %s",
                               leaf == 1 ? "4K" : leaf == 2 ? "2M" : "1G",
                               iova, dev->path);
        log_write(rt, K_PTE, table + 8 * idx, e, what);
    }
}

/* Clear (or take the permissions of) an entry on a device's path */
static void op_sl_unmap(Rt *rt, Dev *dev)
{
    int levels, level, stop;
    uint64_t table = sl_top(rt, dev, &levels);

    stop = 1 + rnd(rt, levels);
    for (level = levels; level >= 1; level--) {
        unsigned idx = pick_index(rt, level);
        uint64_t slot = table + 8 * idx, e = rd(rt, slot);

        if (level == stop || !sl_dir_entry(rt, e, level)) {
            if (chance(rt, 70)) {
                log_write(rt, K_PTE, slot, 0, "clear");
            } else if (rt->c->flts) {
                /* Linux clears the whole entry; P alone, or U/S, also do */
                log_write(rt, K_PTE, slot,
                          e & ~(chance(rt, 60) ? FS_P : FS_US),
                          "clear P or U/S");
            } else {
                log_write(rt, K_PTE, slot, e & ~(uint64_t)SL_RW,
                          "take R and W");
            }
            return;
        }
        table = e & ADDR_MASK;
    }
}

/*
 * Change an entry on a device's live path: a large leaf becomes a table
 * or the other way round, a directory points elsewhere (another table,
 * itself, a table of another level, outside RAM), reserved bits,
 * permissions, SNP, the target.
 */
static void op_sl_mutate(Rt *rt, Dev *dev)
{
    int levels, level, stop;
    uint64_t table = sl_top(rt, dev, &levels), slot = 0, e = 0;
    const char *what;
    unsigned x;

    stop = 1 + rnd(rt, levels);
    for (level = levels; level >= 1; level--) {
        slot = table + 8 * pick_index(rt, level);
        e = rd(rt, slot);
        if (level == stop || !sl_dir_entry(rt, e, level)) {
            break;
        }
        table = e & ADDR_MASK;
    }
    level = MAX(level, 1);
    x = rnd(rt, 100);
    if (x < 20 && level >= 2 && level <= 3) {
        e = make_leaf(rt, level);
        what = level == 2 ? "becomes a 2M leaf" : "becomes a 1G leaf";
    } else if (x < 40 && level >= 2) {
        e = pool_page(rt, level - 1) | dir_bits(rt);
        what = "becomes a directory";
    } else if (x < 50 && level >= 2) {
        e = rt->pool[rnd(rt, POOL_PAGES)] | dir_bits(rt);
        what = "points to a table of any level";
    } else if (x < 55 && level >= 2) {
        e = (slot & ADDR_MASK) | dir_bits(rt);
        what = "points to its own table";
    } else if (x < 62 && level >= 2) {
        static const uint64_t nowhere[] = {
            BAD_GPA, 0x7ffffffff000ULL, RAM_END, 0xfed90000ULL,
        };

        e = nowhere[rnd(rt, ARRAY_SIZE(nowhere) -
                        (skipping(rt, "mmio-table") ? 1 : 0))] | dir_bits(rt);
        what = "points outside RAM";
    } else if (x < 72) {
        e |= pick_sl_reserved(rt, e, level);
        what = "reserved bit";
    } else if (x < 84 && rt->c->flts) {
        static const uint64_t flips[] = { FS_P, FS_RW, FS_US, FS_RW };

        e ^= flips[rnd(rt, ARRAY_SIZE(flips))];
        what = "flip P, R/W or U/S";
    } else if (x < 84) {
        e ^= chance(rt, 50) ? SL_R : SL_W;
        what = "flip R or W";
    } else if (x < 92 && rt->c->flts) {
        /* bits the first-stage walk ignores: nothing may change */
        static const uint64_t ignored[] = {
            QVTD_FS_A, QVTD_FS_D, SL_SNP, FS_XD, 1ULL << 62, 1ULL << 8,
        };

        e ^= ignored[rnd(rt, ARRAY_SIZE(ignored))];
        what = "flip an ignored bit";
    } else if (x < 92 && (rt->c->sc || rt->c->scalable)) {
        e ^= SL_SNP;
        what = "flip SNP";
    } else if (x < 97 || level == 4) {
        e = 0;
        what = "clear";
    } else {
        e = (e & ~ADDR_MASK) |
            pick_target(rt, 1ULL << (12 + 9 * (level - 1)));
        what = "new target";
    }
    {
        g_autofree char *w = g_strdup_printf("L%d entry of %s %s", level,
                                             dev->path, what);

        log_write(rt, K_PTE, slot, e, w);
    }
}

/* Any entry of any pool table: aliasing, wrong levels, garbage */
static void op_sl_chaos(Rt *rt)
{
    int pi = rnd(rt, POOL_PAGES), level = rt->level[pi];
    uint64_t slot = rt->pool[pi] + 8 * pick_index(rt, level);
    uint64_t e = rd(rt, slot);
    unsigned r = rnd(rt, 100);
    const char *what;

    if (r < 25) {
        e = make_leaf(rt, level == 4 ? 1 + rnd(rt, 3) : level);
        if (level == 4) {
            e |= SL_PS;         /* reserved at level 4 */
        }
        what = "leaf";
    } else if (r < 55) {
        int to = chance(rt, 10) ? pi : rnd(rt, POOL_PAGES);

        e = rt->pool[to] | (chance(rt, 90) ? dir_bits(rt) : pick_dir_bits(rt));
        what = to == pi ? "points to itself" : "points to any table";
    } else if (r < 68) {
        e = 0;
        what = "clear";
    } else if (r < 85) {
        static const uint64_t flips[] = { SL_R, SL_W, SL_SNP, SL_PS };
        static const uint64_t fs_flips[] = { FS_P, FS_RW, FS_US, FS_PS };
        uint64_t f = rt->c->flts ? fs_flips[rnd(rt, ARRAY_SIZE(fs_flips))]
                                 : flips[rnd(rt, ARRAY_SIZE(flips))];

        if (f == SL_SNP && !rt->c->sc && !rt->c->scalable &&
            rt->c->scalable_cap && skipping(rt, "strict-snp-legacy")) {
            f = SL_R;
        }
        e ^= f;
        what = "flip a bit";
    } else if (r < 94) {
        e |= pick_sl_reserved(rt, e, level);
        what = "reserved bit";
    } else {
        static const uint64_t nowhere[] = {
            BAD_GPA, BAD_GPA + 0x5000, 0x7ffffffff000ULL, RAM_END,
            0xfec00000ULL, 0xe0000000ULL,   /* MMIO: last */
        };

        e = nowhere[rnd(rt, ARRAY_SIZE(nowhere) -
                        (skipping(rt, "mmio-table") ? 2 : 0))] | dir_bits(rt);
        what = "points outside RAM";
    }
    log_write(rt, K_PTE, slot, e, what);
}

/* ---- root, context and PASID operations ---- */

static uint16_t pick_did(Rt *rt)
{
    unsigned r = rnd(rt, 100);
    Dev *dev = &rt->dev[rnd(rt, rt->ndev)];

    if (r < 55 && dev->st.has_did) {
        return dev->st.did;
    } else if (r < 70 && dev->dirty_dids->len) {
        return g_array_index(dev->dirty_dids, uint16_t,
                             rnd(rt, dev->dirty_dids->len));
    } else if (r < 85) {
        return home_did(rt, rnd(rt, rt->ndev));
    }
    return rnd(rt, 10);
}

static uint64_t pick_sl_root(Rt *rt, unsigned *aw)
{
    *aw = chance(rt, 85) || skipping(rt, "aw-shrink") ? 2 : 1;
    return pool_page(rt, *aw == 2 ? 4 : 3);
}

static int pick_ctab(Rt *rt, Dev *dev)
{
    int t = ctab_in_use(rt, dev);

    return t < 0 || chance(rt, 15) ? (int)rnd(rt, 2) : t;
}

static void op_root(Rt *rt)
{
    int r = active_root(rt) < 0 || chance(rt, 20) ? rnd(rt, 2)
                                                   : active_root(rt);
    uint64_t addr = rt->root[r];
    uint64_t e[2] = { rd(rt, addr), rd(rt, addr + 8) };
    int half = rt->c->scalable ? rnd(rt, 2) : 0;
    unsigned x = rnd(rt, 100);
    const char *what;

    if (x < 30) {
        e[half] ^= 1;
        what = "toggle present";
    } else if (x < 55) {
        e[half] = rt->ctab[rnd(rt, 2)] | (e[half] & 1);
        what = "context table";
    } else if (x < 70) {
        if (chance(rt, 50)) {
            e[half] |= 1ULL << (1 + rnd(rt, 11));
        } else {
            e[half] |= 1ULL << (48 + rnd(rt, 16));
        }
        if (!rt->c->scalable && chance(rt, 30)) {
            e[1] |= 1ULL << rnd(rt, 64);
        }
        what = "reserved bit";
    } else if (x < 80) {
        e[half] = BAD_GPA | 1;
        what = "context table outside RAM";
    } else {
        e[0] = rt->ctab[0] | 1;
        e[1] = rt->c->scalable ? rt->ctab[0] | 1 : 0;
        what = "restore";
    }
    op_log(rt, "root %c entry = 0x%" PRIx64 " 0x%" PRIx64 " (%s%s)",
           'A' + r, e[0], e[1], what,
           r == active_root(rt) ? "" : ", inactive root");
    write_entry(rt, K_CTX, addr, e, 2);
}

static void op_context_legacy(Rt *rt, int i)
{
    Dev *dev = &rt->dev[i];
    int t = pick_ctab(rt, dev);
    uint64_t addr = ctx_entry(rt, t, dev);
    uint64_t e[2] = { rd(rt, addr), rd(rt, addr + 8) };
    unsigned x = rnd(rt, 100), aw;
    const char *what;

    if (x < 22) {
        uint64_t root = pick_sl_root(rt, &aw);

        e[0] = root | (e[0] & 0xf);
        e[1] = (e[1] & ~7ULL) | aw;
        what = "second-level table";
    } else if (x < 35) {
        e[1] = (e[1] & ~0xffff00ULL) | ((uint64_t)pick_did(rt) << 8);
        what = "domain";
    } else if (x < 50) {
        static const unsigned tts[] = { 0, 0, 0, 0, 2, 2, 2, 1, 3 };

        e[0] = (e[0] & ~0xcULL) | (tts[rnd(rt, ARRAY_SIZE(tts))] << 2);
        what = "translation type";
    } else if (x < 60) {
        e[0] ^= 1;
        what = "toggle present";
    } else if (x < 75) {
        e[0] = home_root(rt, i) | 1;
        e[1] = 2 | ((uint64_t)home_did(rt, i) << 8);
        what = "restore";
    } else if (x < 82) {
        e[1] = (e[1] & ~7ULL) | (chance(rt, 50) ? 0 : 3 + rnd(rt, 5));
        what = "address width invalid";
    } else if (x < 93) {
        switch (rnd(rt, 4)) {
        case 0:
            e[0] |= 1ULL << (4 + rnd(rt, 8));
            break;
        case 1:
            e[0] |= 1ULL << (48 + rnd(rt, 16));
            break;
        case 2:
            e[1] |= 1ULL << 7;
            break;
        default:
            e[1] |= 1ULL << (24 + rnd(rt, 40));
            break;
        }
        what = "reserved bit";
    } else {
        e[0] ^= 2;
        what = "toggle FPD";
    }
    op_log(rt, "context[%c] of %s = 0x%" PRIx64 " 0x%" PRIx64 " (%s)",
           'A' + t, dev->path, e[0], e[1], what);
    write_entry(rt, K_CTX, addr, e, 2);
}

static void op_context_scalable(Rt *rt, int i)
{
    Dev *dev = &rt->dev[i];
    int t = pick_ctab(rt, dev);
    uint64_t addr = ctx_entry(rt, t, dev);
    uint64_t e[4];
    unsigned x = rnd(rt, 100), k;
    const char *what;

    for (k = 0; k < 4; k++) {
        e[k] = rd(rt, addr + 8 * k);
    }
    if (x < 15) {
        uint64_t dir = chance(rt, 60) ? dev->pdir :
                       chance(rt, 70) ? rt->dev[rnd(rt, rt->ndev)].pdir :
                       BAD_GPA;

        e[0] = dir | (e[0] & 0xfff);
        what = "PASID directory";
    } else if (x < 30) {
        static const uint32_t pasids[] = { 0, 0, 1, 64 };

        e[1] = (e[1] & ~0xfffffULL) | pasids[rnd(rt, ARRAY_SIZE(pasids))];
        if (!skipping(rt, "strict-pdts") && chance(rt, 20)) {
            /* directory index 128 with a 128-entry directory */
            e[1] = (e[1] & ~0xfffffULL) | (128 << 6);
            e[0] &= ~0xe00ULL;
        }
        what = "RID_PASID";
    } else if (x < 40) {
        e[0] = (e[0] & ~0xe00ULL) | ((uint64_t)rnd(rt, 8) << 9);
        what = "PDTS";
    } else if (x < 50) {
        e[0] ^= 1;
        what = "toggle present";
    } else if (x < 68) {
        e[0] = dev->pdir | 1;
        e[1] = e[2] = e[3] = 0;
        what = "restore";
    } else if (x < 85) {
        switch (rnd(rt, 5)) {
        case 0:
            e[0] |= 1ULL << (5 + rnd(rt, 4));
            break;
        case 1:
            e[0] |= 1ULL << (48 + rnd(rt, 16));
            break;
        case 2:
            e[1] |= 1ULL << (21 + rnd(rt, 43));
            break;
        default:
            e[2 + rnd(rt, 2)] |= 1ULL << rnd(rt, 64);
            break;
        }
        what = "reserved bit";
    } else {
        e[0] ^= chance(rt, 50) ? 2 : 8;
        what = "toggle FPD or PASIDE";
    }
    op_log(rt, "context[%c] of %s = 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64
           " 0x%" PRIx64 " (%s)", 'A' + t, dev->path, e[0], e[1], e[2], e[3],
           what);
    write_entry(rt, K_CTX, addr, e, 4);
}

static void op_pasid_dir(Rt *rt, int i)
{
    Dev *dev = &rt->dev[i];
    static const unsigned idxs[] = { 0, 0, 0, 1, 128 };
    unsigned idx = idxs[rnd(rt, ARRAY_SIZE(idxs))];
    uint64_t addr = dev->pdir + 8 * idx, e = rd(rt, addr);
    uint64_t good = dev->ptab[idx ? 1 : 0] | 1;
    unsigned x = rnd(rt, 100);
    const char *what;

    if (x < 30) {
        e ^= 1;
        what = "toggle present";
    } else if (x < 55) {
        Dev *o = &rt->dev[rnd(rt, rt->ndev)];

        e = (chance(rt, 85) ? o->ptab[rnd(rt, 2)] : BAD_GPA) | (e & 1);
        what = "PASID table";
    } else if (x < 65 && !skipping(rt, "strict-pasid-rsvd")) {
        e |= chance(rt, 70) ? 1ULL << (2 + rnd(rt, 10))
                            : 1ULL << (48 + rnd(rt, 16));
        what = "reserved bit (spec)";
    } else {
        e = good;
        what = "restore";
    }
    op_log(rt, "PASID dir[%u] of %s = 0x%" PRIx64 " (%s)", idx, dev->path, e,
           what);
    write_q(rt, K_PASID, addr, e);
}

/* The home PASID entry of device @i: its table, its domain */
static void home_pasid_entry(Rt *rt, int i, uint64_t *e)
{
    if (rt->c->flts) {
        e[0] = (1ULL << 6) | (2ULL << 2) | 1;   /* PGTT=1, AW=2, P */
        e[2] = home_root(rt, i);                /* FLPTPTR, FLPM=0 */
    } else {
        e[0] = home_root(rt, i) | (2ULL << 6) | (2ULL << 2) | 1;
        e[2] = 0;
    }
    e[1] = home_did(rt, i);
}

static void op_pasid_entry(Rt *rt, int i)
{
    Dev *dev = &rt->dev[i];
    static const uint32_t pasids[] = { 0, 1, 64 };
    uint32_t pasid = dev->pasid >= 0 && chance(rt, 70) ? dev->pasid :
                     chance(rt, 60) && dev->st.pasid < 128 ?
                     dev->st.pasid : pasids[rnd(rt, 3)];
    uint64_t addr = pasid_entry(dev, pasid);
    uint64_t e[3] = { rd(rt, addr), rd(rt, addr + 8), rd(rt, addr + 16) };
    unsigned x = rnd(rt, 100), aw;
    const char *what;

    if (x < 20 && rt->c->flts) {
        /* FLPTPTR; FLPM 1 asks for 5-level paging, which is not offered */
        e[2] = (chance(rt, 85) ? pool_page(rt, 4) :
                chance(rt, 50) ? rt->pool[rnd(rt, POOL_PAGES)] : BAD_GPA) |
               (chance(rt, 8) ? 1ULL << 2 : 0);
        what = "first-stage table";
    } else if (x < 20) {
        uint64_t root = pick_sl_root(rt, &aw);

        e[0] = root | (e[0] & 0xfe3) | ((uint64_t)aw << 2);
        what = "second-level table";
    } else if (x < 35) {
        static const unsigned pgtts[] = { 2, 2, 2, 2, 4, 4, 1, 3, 0, 5, 6, 7 };
        static const unsigned fs_pgtts[] = {
            1, 1, 1, 1, 4, 4, 2, 2, 3, 0, 5, 6, 7,
        };
        unsigned pgtt = rt->c->flts ? fs_pgtts[rnd(rt, ARRAY_SIZE(fs_pgtts))]
                                    : pgtts[rnd(rt, ARRAY_SIZE(pgtts))];

        e[0] = (e[0] & ~0x1c0ULL) | ((uint64_t)pgtt << 6);
        if (pgtt == 2 && rt->c->flts) {
            e[0] = (e[0] & 0xfff) | pool_page(rt, 4);
        }
        what = "PGTT";
    } else if (x < 43) {
        e[0] = (e[0] & ~0x1cULL) | ((uint64_t)rnd(rt, 8) << 2);
        if (skipping(rt, "aw-shrink") && ((e[0] >> 2) & 7) == 1) {
            e[0] = (e[0] & ~0x1cULL) | (2ULL << 2);
        }
        what = "address width";
    } else if (x < 55) {
        e[1] = (e[1] & ~0xffffULL) | pick_did(rt);
        what = "domain";
    } else if (x < 70) {
        e[1] ^= 1ULL << 24;
        what = "toggle PGSNP";
    } else if (x < 78) {
        e[0] ^= 1;
        what = "toggle present";
    } else if (x < 92) {
        home_pasid_entry(rt, i, e);
        what = "restore";
    } else if (!skipping(rt, "strict-pasid-rsvd")) {
        if (chance(rt, 50)) {
            e[0] |= 1ULL << (10 + rnd(rt, 2));
        } else {
            e[1] |= 1ULL << (16 + rnd(rt, 7));
        }
        what = "reserved bit (spec)";
    } else {
        e[0] ^= 2;
        what = "toggle FPD";
    }
    op_log(rt, "PASID %u of %s = 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64
           " (%s)", pasid, dev->path, e[0], e[1], e[2], what);
    write_entry(rt, K_PASID, addr, e, 3);
}

/* ---- the check ---- */

static void describe_dev(Rt *rt, Dev *dev, GString *out)
{
    unsigned i;

    g_string_append_printf(out, "  %s (devfn 0x%02x): %s", dev->path,
                           dev->devfn, qvtd_mode_str(dev->st.mode));
    if (dev->st.mode == QVTD_MODE_BLOCKED) {
        g_string_append_printf(out, " (%s)", dev->st.reason);
    }
    if (dev->st.has_did) {
        g_string_append_printf(out, ", DID %u", dev->st.did);
    }
    if (dev->st.mode == QVTD_MODE_SL || dev->st.mode == QVTD_MODE_FS) {
        g_string_append_printf(out, ", table 0x%" PRIx64 " (%u levels)%s, "
                               "%" PRIu64 " leaves", dev->st.slpt,
                               dev->st.levels, dev->st.pgsnp ? ", PGSNP" : "",
                               dev->st.leaves);
    }
    g_string_append_printf(out, "; TE %s, root 0x%" PRIx64 "\n",
                           rt->te ? "on" : "off", rt->rtaddr);
    if (rt->c->scalable && ctab_in_use(rt, dev) >= 0) {
        /* its context entry, PASID directory entry and PASID entry */
        uint64_t ce = ctx_entry(rt, ctab_in_use(rt, dev), dev);
        uint64_t lo = qtest_readq(rt->qts, ce);
        uint32_t pasid = dev->pasid >= 0 ? dev->pasid :
                         qtest_readq(rt->qts, ce + 8) & 0xfffff;
        uint64_t de = qtest_readq(rt->qts, (lo & ADDR_MASK) +
                                  8 * (pasid >> 6));
        uint64_t pe = (de & ADDR_MASK) + 64 * (pasid & 63);

        g_string_append_printf(out, "  context 0x%" PRIx64 " 0x%" PRIx64
                               ", PASID %u: dir 0x%" PRIx64 ", entry 0x%"
                               PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 "\n", lo,
                               qtest_readq(rt->qts, ce + 8), pasid, de,
                               qtest_readq(rt->qts, pe),
                               qtest_readq(rt->qts, pe + 8),
                               qtest_readq(rt->qts, pe + 16));
    }
    g_string_append_printf(out, "  dirty (not yet invalidated):");
    for (i = 0; i < dev->dirty->len && i < 8; i++) {
        DirtySeg *s = &g_array_index(dev->dirty, DirtySeg, i);

        g_string_append_printf(out, " 0x%" PRIx64 "-0x%" PRIx64 "[%s%s%s%s]",
                               s->first, s->last,
                               s->kinds & K_PTE ? "p" : "",
                               s->kinds & K_CTX ? "c" : "",
                               s->kinds & K_PASID ? "a" : "",
                               s->kinds & K_ROOT ? "r" : "");
    }
    g_string_append_printf(out, "%s\n", dev->dirty->len ?
                           (dev->dirty->len > 8 ? " ..." : "") : " none");
}

/* The table entries on the way to @iova, read from guest memory */
static void describe_path(Rt *rt, Dev *dev, uint64_t iova, GString *out)
{
    uint64_t table = dev->st.slpt;
    bool fs = dev->st.mode == QVTD_MODE_FS;
    int level;

    if (dev->st.mode != QVTD_MODE_SL && !fs) {
        return;
    }
    g_string_append_printf(out, "  walk of 0x%" PRIx64 ":", iova);
    for (level = dev->st.levels; level >= 1; level--) {
        unsigned idx = (iova >> (12 + 9 * (level - 1))) & 511;
        uint64_t e;

        if (table >= RAM_END) {
            g_string_append_printf(out, " L%d table 0x%" PRIx64 " not RAM",
                                   level, table);
            break;
        }
        e = qtest_readq(rt->qts, table + 8 * idx);
        g_string_append_printf(out, " L%d 0x%" PRIx64 "[%u]=0x%" PRIx64,
                               level, table, idx, e);
        if (!(e & (fs ? FS_P : SL_RW)) || level == 1 ||
            (level < 4 && (e & SL_PS))) {
            break;
        }
        table = e & ADDR_MASK;
    }
    g_string_append_c(out, '\n');
}

static const char **dev_paths(Rt *rt, const char **paths, int64_t *pasids)
{
    int i;

    for (i = 0; i < rt->ndev; i++) {
        paths[i] = rt->dev[i].qom;
        pasids[i] = rt->dev[i].pasid;
    }
    return paths;
}

static void check_noncoherent(Rt *rt, GArray **host)
{
    QDict *resp = qtest_qmp(rt->qts, "{ 'execute': 'query-noncoherent-dma' }");
    QDict *ret = qdict_get_qdict(resp, "return");
    QListEntry *e;
    int i;

    g_assert(ret);
    for (i = 0; i < rt->nfn && !rt->failed; i++) {
        Dev *dev = &rt->dev[i];
        QDict *nc = NULL;
        bool a, b, c, deny, mapped = false, passes;
        unsigned j;
        int r;

        QLIST_FOREACH_ENTRY(qdict_get_qlist(ret, "devices"), e) {
            QDict *d = qobject_to(QDict, qlist_entry_obj(e));

            if (!strcmp(qdict_get_str(d, "device"), dev->path)) {
                nc = d;
            }
        }
        if (!nc) {
            fail(rt, NULL, "%s missing from query-noncoherent-dma",
                 dev->path);
            break;
        }
        a = qdict_get_bool(nc, "nosnoop-enabled");
        b = qdict_get_bool(nc, "nosnoop-passes");
        c = qdict_get_bool(nc, "platform-nosnoop");
        deny = qdict_get_bool(nc, "nosnoop-deny");
        if (a != dev->nosnoop_en) {
            fail(rt, NULL, "%s: nosnoop-enabled %d but Device Control says "
                 "%d", dev->path, a, dev->nosnoop_en);
        } else if (c != rt->c->platform_nosnoop) {
            fail(rt, NULL, "%s: platform-nosnoop %d", dev->path, c);
        } else if (qdict_get_bool(nc, "noncoherent") !=
                   (a && b && c && !deny) &&
                   (deny || (a && b && c))) {
            /* it turns coherent only after a hold-off: not checked here */
            fail(rt, NULL, "%s: noncoherent %d but a %d, b %d, c %d, deny %d",
                 dev->path, qdict_get_bool(nc, "noncoherent"), a, b, c, deny);
        } else {
            /* any of the device's address spaces, with or without PASID */
            passes = !rt->c->host_can_block;
            for (r = 0; r < rt->ndev; r++) {
                if (rt->dev[r].fn != dev || !host[r]) {
                    continue;
                }
                mapped |= host[r]->len;
                for (j = 0; j < host[r]->len; j++) {
                    passes |= !g_array_index(host[r], QVtdMap, j).block;
                }
            }
            if (mapped && b != passes) {
                fail(rt, NULL, "%s: nosnoop-passes %d but the host tables "
                     "say %d", dev->path, b, passes);
            }
        }
    }
    qobject_unref(resp);
}

/* The host table must equal the oracle's outside the dirty ranges */
static void check(Rt *rt, const char *why)
{
    GArray *host[MAX_REQ];
    const char *paths[MAX_REQ];
    int64_t pasids[MAX_REQ];
    QVtdHostSpace info[MAX_REQ];
    gint64 t0 = g_get_monotonic_time();
    int i;

    if (rt->failed) {
        return;
    }
    rt->stats[ST_CHECKS]++;
    qvtd_host_tables_pasid(rt->qts, CTX_ID, dev_paths(rt, paths, pasids),
                           pasids, rt->ndev, host, info, false);
    for (i = 0; i < rt->ndev && !rt->failed; i++) {
        Dev *dev = &rt->dev[i];
        g_autoptr(GArray) diff = NULL;
        g_autoptr(GArray) dirty = NULL;
        g_autoptr(GArray) bad = NULL;
        g_autoptr(GString) detail = NULL;

        if (!host[i] && dev->pasid >= 0) {
            /* not in use: the device attaches it at its next request */
            rt->stats[ST_UNATTACHED]++;
            continue;
        }
        if (!host[i]) {
            fail(rt, NULL, "%s has no IOASID", dev->path);
            break;
        }
        if (info[i].failed_calls) {
            fail(rt, NULL, "%s: %" PRIu64 " host calls failed (%" PRIu64
                 " refused by the quota)", dev->path, info[i].failed_calls,
                 info[i].quota_refused);
            break;
        }
        diff = qvtd_maps_diff(dev->expected, host[i]);
        dirty = dirty_ranges(dev);
        if (rt->verbose) {
            g_test_message("  check %s: %s, %u expected, %u host, %u dirty, "
                           "%u differ", dev->path, qvtd_mode_str(dev->st.mode),
                           dev->expected->len, host[i]->len, dirty->len,
                           diff->len);
        }
        rt->stats[ST_CLEAN] += !dirty->len;
        rt->stats[ST_MAPS] += dev->expected->len;
        if (dev->st.mode == QVTD_MODE_BLOCKED) {
            g_hash_table_insert(rt->blocked, (gpointer)dev->st.reason,
                                GUINT_TO_POINTER(GPOINTER_TO_UINT(
                                    g_hash_table_lookup(rt->blocked,
                                                        dev->st.reason)) + 1));
        }
        rt->stats[dev->st.mode == QVTD_MODE_SL ? ST_SL :
                  dev->st.mode == QVTD_MODE_FS ? ST_FS :
                  dev->st.mode == QVTD_MODE_PT ? ST_PT :
                  dev->st.mode == QVTD_MODE_OFF ? ST_OFF : ST_BLOCKED]++;
        bad = qvtd_ranges_subtract(diff, dirty);
        if (!bad->len) {
            continue;
        }
        detail = g_string_new(NULL);
        describe_dev(rt, dev, detail);
        qvtd_maps_describe(detail, dev->expected, "oracle", host[i], "host",
                           bad, 6);
        describe_path(rt, dev, g_array_index(bad, QVtdRange, 0).first,
                      detail);
        fail(rt, detail, "host table of %s differs from the oracle outside "
             "the dirty ranges (after %s)", dev->path, why);
    }
    if (!rt->failed) {
        check_noncoherent(rt, host);
    }
    for (i = 0; i < rt->ndev; i++) {
        if (host[i]) {
            g_array_free(host[i], true);
        }
    }
    rt->usecs[1] += g_get_monotonic_time() - t0;
}

/* ---- invalidations ---- */

static void inv_domain(Rt *rt, uint16_t did, unsigned kinds, bool any_did)
{
    int i;

    for (i = 0; i < rt->ndev; i++) {
        Dev *dev = &rt->dev[i];

        if (any_did ? dirty_has_did(dev, did)
                    : dev->st.has_did && dev->st.did == did) {
            clean(dev, 0, UINT64_MAX, kinds);
        }
    }
}

/*
 * Page-selective, domain-based (@pasid < 0) or within a PASID.  A
 * domain-based one drops every first-stage entry of the domain, whatever
 * the address (VT-d 3.x 6.5.2.4).
 */
static void inv_pages(Rt *rt, uint16_t did, int pasid, uint64_t addr,
                      unsigned am)
{
    uint64_t size = PG << am, first = addr & ~(size - 1);
    int i;

    for (i = 0; i < rt->ndev; i++) {
        Dev *dev = &rt->dev[i];

        if (dev->st.has_did && dev->st.did == did &&
            (pasid < 0 || dev->st.pasid == pasid)) {
            if (pasid < 0 && dev->st.mode == QVTD_MODE_FS) {
                clean(dev, 0, UINT64_MAX, K_PTE);
            } else {
                clean(dev, first, first + size - 1, K_PTE);
            }
        }
    }
}

static void pick_psi(Rt *rt, uint64_t *addr, unsigned *am)
{
    Dev *dev = &rt->dev[rnd(rt, rt->ndev)];
    unsigned r = rnd(rt, 100);
    uint64_t a;

    *am = r < 50 ? 0 : r < 90 ? 1 + rnd(rt, 9) : 10 + rnd(rt, 9);
    if (dev->dirty->len && chance(rt, 75)) {
        DirtySeg *s = &g_array_index(dev->dirty, DirtySeg,
                                     rnd(rt, dev->dirty->len));
        uint64_t span = MIN(s->last - s->first, GB1);

        a = s->first + (chance(rt, 50) ? 0 : rnd64(rt) % (span + 1));
    } else if (dev->expected->len && chance(rt, 60)) {
        const QVtdMap *m = &g_array_index(dev->expected, QVtdMap,
                                          rnd(rt, dev->expected->len));

        a = m->iova + (chance(rt, 50) ? 0 : rnd64(rt) % m->size);
    } else {
        a = (rnd64(rt) % (1ULL << 39));
    }
    a &= ~(PG - 1);
    if (!chance(rt, 20) || skipping(rt, "psi-unaligned")) {
        a &= ~((PG << *am) - 1);
    }
    /* first-stage IOVAs may be upper-half canonical ones */
    *addr = rt->c->flts ? a : a & ((1ULL << 48) - 1);
}

static void op_invalidate(Rt *rt)
{
    enum {
        CC_GLOBAL, CC_DOMAIN, CC_DEVICE, IOTLB_GLOBAL, IOTLB_DOMAIN,
        IOTLB_PAGE, PIOTLB_PASID, PIOTLB_PAGE, PC_GLOBAL, PC_DOMAIN, NINV
    };
    static const unsigned legacy_w[NINV] = { 8, 8, 14, 12, 20, 38 };
    static const unsigned scalable_w[NINV] = {
        6, 6, 10, 8, 12, 18, 10, 18, 5, 7,
    };
    const unsigned *w = rt->c->scalable ? scalable_w : legacy_w;
    unsigned total = 0, x, type;
    uint16_t did = pick_did(rt);
    Dev *dev = &rt->dev[rnd(rt, rt->ndev)];
    uint64_t addr;
    unsigned am;
    uint32_t pasid = chance(rt, 80) ? dev->st.pasid : rnd(rt, 2) * 64;
    const char *how = rt->v.qi ? "queued" : "register";

    for (type = 0; type < NINV; type++) {
        total += w[type];
    }
    x = rnd(rt, total);
    for (type = 0; x >= w[type]; type++) {
        x -= w[type];
    }
    rt->stats[ST_INVS]++;
    switch (type) {
    case CC_GLOBAL:
        op_log(rt, "context-cache global (%s)", how);
        qvtd_inv_context_global(&rt->v);
        clean_all(rt, K_ALL);
        break;
    case CC_DOMAIN:
        op_log(rt, "context-cache domain %u (%s)", did, how);
        qvtd_inv_context_domain(&rt->v, did);
        inv_domain(rt, did, K_CTX | K_PASID | K_PTE, true);
        break;
    case CC_DEVICE:
        op_log(rt, "context-cache device %s (%s)", dev->fn->path, how);
        qvtd_inv_context_device(&rt->v, dev->st.did, dev->devfn);
        clean_fn(rt, dev->fn, K_CTX | K_PASID | K_PTE);
        break;
    case IOTLB_GLOBAL:
        op_log(rt, "IOTLB global (%s)", how);
        qvtd_inv_iotlb_global(&rt->v);
        clean_all(rt, K_PTE);
        break;
    case IOTLB_DOMAIN:
        op_log(rt, "IOTLB domain %u (%s)", did, how);
        qvtd_inv_iotlb_domain(&rt->v, did);
        inv_domain(rt, did, K_PTE, false);
        break;
    case IOTLB_PAGE:
        pick_psi(rt, &addr, &am);
        op_log(rt, "IOTLB domain %u page 0x%" PRIx64 " am %u (%s)", did,
               addr, am, how);
        qvtd_inv_iotlb_page(&rt->v, did, addr, am);
        inv_pages(rt, did, -1, addr, am);
        break;
    case PIOTLB_PASID:
        op_log(rt, "PASID-IOTLB domain %u PASID %u", did, pasid);
        qvtd_inv_piotlb_pasid(&rt->v, did, pasid);
        {
            int i;

            for (i = 0; i < rt->ndev; i++) {
                Dev *d = &rt->dev[i];

                if (d->st.has_did && d->st.did == did &&
                    d->st.pasid == pasid) {
                    clean(d, 0, UINT64_MAX, K_PTE);
                }
            }
        }
        break;
    case PIOTLB_PAGE:
        pick_psi(rt, &addr, &am);
        op_log(rt, "PASID-IOTLB domain %u PASID %u page 0x%" PRIx64
               " am %u", did, pasid, addr, am);
        qvtd_inv_piotlb_page(&rt->v, did, pasid, addr, am);
        inv_pages(rt, did, pasid, addr, am);
        break;
    case PC_GLOBAL:
        op_log(rt, "PASID-cache global");
        qvtd_inv_pasid_cache(&rt->v, 0, true);
        clean_all(rt, K_PASID);
        break;
    case PC_DOMAIN:
        op_log(rt, "PASID-cache domain %u", did);
        qvtd_inv_pasid_cache(&rt->v, did, false);
        inv_domain(rt, did, K_PASID, true);
        break;
    }
    check(rt, "an invalidation");
}

/*
 * What a careful guest does after its writes: the invalidation that makes
 * one of a device's pending changes effective.
 */
static void op_invalidate_dirty(Rt *rt)
{
    Dev *dev = &rt->dev[rnd(rt, rt->ndev)];
    DirtySeg *s;
    uint16_t did;
    unsigned am;
    uint64_t first;

    if (!dev->dirty->len) {
        op_invalidate(rt);
        return;
    }
    s = &g_array_index(dev->dirty, DirtySeg, rnd(rt, dev->dirty->len));
    did = dev->st.has_did ? dev->st.did : home_did(rt, dev - rt->dev);
    if (dev->dirty_dids->len && chance(rt, 50)) {
        did = g_array_index(dev->dirty_dids, uint16_t,
                            rnd(rt, dev->dirty_dids->len));
    }
    rt->stats[ST_INVS]++;
    if (s->kinds & K_ROOT) {
        op_log(rt, "context-cache global (after SRTP)");
        qvtd_inv_context_global(&rt->v);
        clean_all(rt, K_ALL);
    } else if (s->kinds & K_CTX || (s->kinds & K_PASID && !rt->v.qi)) {
        op_log(rt, "context-cache device %s", dev->fn->path);
        qvtd_inv_context_device(&rt->v, did, dev->devfn);
        clean_fn(rt, dev->fn, K_CTX | K_PASID | K_PTE);
    } else if (s->kinds & K_PASID) {
        if (chance(rt, 80)) {
            op_log(rt, "PASID-cache domain %u", did);
            qvtd_inv_pasid_cache(&rt->v, did, false);
            inv_domain(rt, did, K_PASID, true);
        } else {
            op_log(rt, "PASID-cache global");
            qvtd_inv_pasid_cache(&rt->v, 0, true);
            clean_all(rt, K_PASID);
        }
    } else {
        /* the smallest aligned power of two pages covering the range */
        for (am = 0; am <= 18; am++) {
            first = s->first & ~((PG << am) - 1);
            if (first + (PG << am) - 1 >= s->last) {
                break;
            }
        }
        if (am > 18 || !dev->st.has_did) {
            op_log(rt, "IOTLB domain %u (for 0x%" PRIx64 "-0x%" PRIx64 ")",
                   did, s->first, s->last);
            qvtd_inv_iotlb_domain(&rt->v, did);
            inv_domain(rt, did, K_PTE, false);
        } else if (rt->c->scalable && chance(rt, 50)) {
            op_log(rt, "PASID-IOTLB domain %u PASID %u page 0x%" PRIx64
                   " am %u", did, dev->st.pasid, first, am);
            qvtd_inv_piotlb_page(&rt->v, did, dev->st.pasid, first, am);
            inv_pages(rt, did, dev->st.pasid, first, am);
        } else {
            op_log(rt, "IOTLB domain %u page 0x%" PRIx64 " am %u", did, first,
                   am);
            qvtd_inv_iotlb_page(&rt->v, did, first, am);
            inv_pages(rt, did, -1, first, am);
        }
    }
    check(rt, "an invalidation of what changed");
}

/* ---- global commands ---- */

static void op_te(Rt *rt, bool on)
{
    op_log(rt, "GCMD.TE %s", on ? "on" : "off");
    rt->stats[ST_TE]++;
    qvtd_set_translation(&rt->v, on);
    rt->te = on;
    clean_all(rt, K_ALL);
    reeval(rt, 0);
    check(rt, "a TE change");
}

static void op_srtp(Rt *rt)
{
    int r = active_root(rt);
    uint64_t addr;
    int i;

    if (chance(rt, 6)) {
        addr = BAD_GPA;
    } else if (chance(rt, 10) && r >= 0) {
        addr = rt->root[r];
    } else {
        addr = rt->root[r == 0 ? 1 : 0];
    }
    rt->rtaddr = addr | (rt->c->scalable ? 1ULL << 10 : 0);
    op_log(rt, "SRTP 0x%" PRIx64, rt->rtaddr);
    rt->stats[ST_SRTP]++;
    qvtd_set_root(&rt->v, rt->rtaddr);
    qvtd_oracle_set_rtaddr(&rt->o, rt->rtaddr);
    reeval(rt, 0);
    if (rt->te) {
        /* in effect only after a global context-cache invalidation */
        for (i = 0; i < rt->ndev; i++) {
            paint(rt->dev[i].dirty, 0, UINT64_MAX, ~0u, K_ROOT);
        }
    }
    check(rt, "SRTP");
}

static void op_qi_toggle(Rt *rt)
{
    op_log(rt, "queued invalidation %s", rt->v.qi ? "off" : "on");
    if (rt->v.qi) {
        qvtd_disable_qi(&rt->v);
    } else {
        qvtd_enable_qi(&rt->v);
    }
}

/*
 * A system reset: the vIOMMU forgets everything (TE, root, queue), the
 * devices are reset (Enable No Snoop is 1 again); memory stays.  Then the
 * guest sets things up again, translation off.
 */
static void op_reset(Rt *rt)
{
    int i;

    op_log(rt, "system reset");
    qtest_system_reset(rt->qts);
    for (i = 0; i < rt->nfn; i++) {
        Dev *dev = &rt->dev[i];

        qpci_device_enable(dev->d->dev);
        dev->d->bar = qpci_iomap(dev->d->dev, 0, NULL);
        dev->nosnoop_en = true;
        /* the reset disabled ECAM (PCIEXBAR) too */
        dev->d->ecam = false;
        pasid_enable(rt, dev);
    }
    rt->te = false;
    rt->v.qi = false;
    clean_all(rt, K_ALL);
    reeval(rt, 0);
    check(rt, "a system reset");
    rt->rtaddr = rt->root[0] | (rt->c->scalable ? 1ULL << 10 : 0);
    qvtd_set_root(&rt->v, rt->rtaddr);
    qvtd_oracle_set_rtaddr(&rt->o, rt->rtaddr);
    if (rt->c->qi || rt->c->scalable) {
        qvtd_enable_qi(&rt->v);
    }
    reeval(rt, 0);
    check(rt, "setting up after a reset");
}

static void op_devctl(Rt *rt)
{
    Dev *dev = &rt->dev[rnd(rt, rt->nfn)];

    dev->nosnoop_en = chance(rt, 50);
    op_log(rt, "Device Control Enable No Snoop of %s = %d", dev->path,
           dev->nosnoop_en);
    qiov_set_nosnoop_enable(dev->d, dev->nosnoop_en);
    check(rt, "a Device Control write");
}

/* ---- device DMA ---- */

static uint32_t pick_len(Rt *rt)
{
    unsigned r = rnd(rt, 1000);

    if (r < 700) {
        return 1 + rnd(rt, 256);
    } else if (r < 920) {
        return 1 + rnd(rt, 16384);
    } else if (r < 985) {
        return 1 + rnd(rt, 256 * 1024);
    } else if (r < 995) {
        return 1 + rnd(rt, IOASID_VFIO_MAX_LEN);
    }
    return chance(rt, 50) ? 0 : IOASID_VFIO_MAX_LEN + 1;
}

/*
 * Mostly inside, at the edges of, or just outside a mapping; for a
 * destination (@write), preferably one that allows it, in the data area.
 */
static uint64_t pick_iova(Rt *rt, const GArray *maps, uint32_t len,
                          bool write)
{
    static const uint64_t spots[] = {
        0, 0xfedff000ULL, 0xfedfff00ULL, 0xfeeff000ULL, 0xfef00000ULL,
        0x80000000ULL, 0xc0000000ULL, 0x100000000ULL,
        /* the canonical halves of first-stage paging, and the top */
        0x00007ffffffff000ULL, 0x0000800000000000ULL, FS_UPPER,
        0xfffffffffffff000ULL,
    };
    const QVtdMap *m = NULL;
    QVtdMap cut;
    unsigned i, tries;

    for (tries = 0; maps->len && tries < 8 && chance(rt, 85); tries++) {
        m = &g_array_index(maps, QVtdMap, rnd(rt, maps->len));
        if (write ? m->write : m->read) {
            break;
        }
    }
    if (m && write && chance(rt, 80)) {
        /* the part of it that lands in the data area, if any */
        for (i = 0; i < 8; i++) {
            cut = *m;
            if (m->addr < DATA) {
                uint64_t skip = DATA - m->addr;

                if (skip >= m->size) {
                    break;
                }
                cut.iova += skip;
                cut.addr += skip;
                cut.size -= skip;
            }
            if (cut.addr < DATA + DATA_SIZE) {
                cut.size = MIN(cut.size, DATA + DATA_SIZE - cut.addr);
                m = &cut;
            }
            break;
        }
    }
    if (m) {
        switch (rnd(rt, 8)) {
        case 0:
            return m->iova;
        case 1:     /* across the end into what follows */
            return m->iova + m->size - 1 - rnd(rt, MAX(MIN(len, m->size), 1));
        case 2:     /* just before */
            return m->iova - 1 - rnd(rt, len + 1);
        default:    /* inside, and fits if it can */
            return m->iova + rnd64(rt) % (m->size - MIN(len, m->size) + 1);
        }
    }
    if (chance(rt, 50)) {
        return spots[rnd(rt, ARRAY_SIZE(spots))] - rnd(rt, 64);
    }
    return rnd64(rt) % (1ULL << 40);
}

typedef struct Span {
    uint64_t gpa;
    uint64_t len;
    uint8_t *before;
    uint8_t *model;
} Span;

static gint span_cmp(gconstpointer a, gconstpointer b)
{
    const Span *x = a, *y = b;

    return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

/* The pages a transfer writes, merged; read now */
static GArray *snapshot(Rt *rt, const GArray *segs)
{
    GArray *spans = g_array_new(false, false, sizeof(Span));
    unsigned i, n = 0;

    for (i = 0; i < segs->len; i++) {
        const QVtdDmaSeg *s = &g_array_index(segs, QVtdDmaSeg, i);
        Span sp = { s->gpa & ~(PG - 1) };

        sp.len = ROUND_UP(s->gpa + s->len, PG) - sp.gpa;
        g_array_append_val(spans, sp);
    }
    g_array_sort(spans, span_cmp);
    for (i = 0; i < spans->len; i++) {
        Span *s = &g_array_index(spans, Span, i);
        Span *p = n ? &g_array_index(spans, Span, n - 1) : NULL;

        if (p && s->gpa <= p->gpa + p->len) {
            p->len = MAX(p->len, s->gpa + s->len - p->gpa);
        } else {
            g_array_index(spans, Span, n++) = *s;
        }
    }
    g_array_set_size(spans, n);
    for (i = 0; i < n; i++) {
        Span *s = &g_array_index(spans, Span, i);

        s->before = g_malloc(s->len);
        qtest_memread(rt->qts, s->gpa, s->before, s->len);
        s->model = g_memdup2(s->before, s->len);
    }
    return spans;
}

static void spans_free(GArray *spans)
{
    unsigned i;

    for (i = 0; i < spans->len; i++) {
        g_free(g_array_index(spans, Span, i).before);
        g_free(g_array_index(spans, Span, i).model);
    }
    g_array_free(spans, true);
}

/*
 * Whether a transfer writes only the data area, and no page that is a
 * table (a leaf read as a directory makes a data page a table): the last
 * evaluation read every page any table of the pool leads to.
 */
static bool in_data(Rt *rt, const GArray *segs)
{
    unsigned i;
    uint64_t a;

    for (i = 0; i < segs->len; i++) {
        const QVtdDmaSeg *s = &g_array_index(segs, QVtdDmaSeg, i);

        if (s->gpa < DATA || s->gpa + s->len > DATA + DATA_SIZE) {
            return false;
        }
        for (a = s->gpa & ~(PG - 1); a < s->gpa + s->len; a += PG) {
            if (qvtd_oracle_page_read(&rt->o, a)) {
                return false;
            }
        }
    }
    return true;
}

static void dma_fail(Rt *rt, Dev *dev, const GArray *maps, bool host,
                     const char *what, uint64_t want, uint64_t got)
{
    g_autoptr(GString) d = g_string_new(NULL);

    describe_dev(rt, dev, d);
    g_string_append_printf(d, "  predicted from the %s table:\n",
                           host ? "host" : "oracle's");
    if (maps->len <= 12) {
        unsigned i;

        for (i = 0; i < maps->len; i++) {
            g_string_append(d, "    ");
            qvtd_map_str(d, &g_array_index(maps, QVtdMap, i));
            g_string_append_c(d, '\n');
        }
    }
    {
        /* what the host has now, against the oracle */
        g_autoptr(GArray) now = NULL;
        g_autoptr(GArray) diff = NULL;
        g_autoptr(GArray) all = qvtd_ranges_new();

        qvtd_host_tables_pasid(rt->qts, CTX_ID, &dev->qom, &dev->pasid, 1,
                               &now, NULL, false);
        if (!now) {
            g_string_append(d, "  host: not attached now\n");
        } else {
            diff = qvtd_maps_diff(dev->expected, now);
            g_string_append_printf(d, "  host now: %u mappings, %u ranges "
                                   "differ from the oracle\n", now->len,
                                   diff->len);
            qvtd_maps_describe(d, dev->expected, "oracle", now, "host",
                               diff, 4);
        }
    }
    fail(rt, d, "DMA of %s: %s: expected 0x%" PRIx64 ", got 0x%" PRIx64,
         dev->path, what, want, got);
}

/* Whether [iova, iova + len) meets a dirty range of @dev */
static bool dirty_overlaps(Dev *dev, uint64_t iova, uint32_t len)
{
    uint64_t last = iova + MAX(len, 1) - 1;
    unsigned i;

    if (last < iova) {
        last = UINT64_MAX;
    }
    for (i = 0; i < dev->dirty->len; i++) {
        DirtySeg *s = &g_array_index(dev->dirty, DirtySeg, i);

        if (s->first <= last && iova <= s->last) {
            return true;
        }
    }
    return false;
}

/* The last IOVA of a transfer of @len at @iova (0: still one byte) */
static uint64_t xfer_last(uint64_t iova, uint32_t len)
{
    uint64_t last = iova + MAX(len, 1) - 1;

    return last < iova ? UINT64_MAX : last;
}

static bool ranges_meet(const GArray *ranges, uint64_t first, uint64_t last)
{
    unsigned i;

    for (i = 0; i < ranges->len; i++) {
        const QVtdRange *r = &g_array_index(ranges, QVtdRange, i);

        if (r->first <= last && first <= r->last) {
            return true;
        }
    }
    return false;
}

static GArray *maps_ranges(const GArray *maps)
{
    GArray *r = qvtd_ranges_new();
    unsigned i;

    for (i = 0; i < maps->len; i++) {
        const QVtdMap *m = &g_array_index(maps, QVtdMap, i);

        qvtd_ranges_add(r, m->iova, m->iova + m->size - 1);
    }
    return r;
}

typedef enum FsView {
    FS_VIEW_HOST,       /* the device sees the host table */
    FS_VIEW_ORACLE,     /* its misses walk the guest's table: the oracle's */
    FS_VIEW_UNKNOWN,    /* it depends on the order of the walks */
} FsView;

/*
 * A first-stage device whose transfer meets changes not yet invalidated:
 * where the host has nothing, its access walks the guest's table as it
 * is now (a new first-stage entry need not be invalidated, VT-d 3.x 6.1).
 * If the transfer meets such a miss and no page the host maps otherwise
 * than the oracle, the device sees the oracle's table; if it meets no
 * miss, the host's.  With both, a walk may replace a stale mapping the
 * transfer uses: not predicted.  So is a change of the device's context
 * or PASID entry not yet invalidated (whether it walks depends on it).
 */
static FsView fs_dma_view(Dev *dev, const GArray *host, bool copy,
                          uint64_t src, uint64_t dst, uint32_t len)
{
    g_autoptr(GArray) diff = qvtd_maps_diff(dev->expected, host);
    g_autoptr(GArray) exp_r = maps_ranges(dev->expected);
    g_autoptr(GArray) host_r = maps_ranges(host);
    g_autoptr(GArray) misses = qvtd_ranges_subtract(exp_r, host_r);
    g_autoptr(GArray) stale = qvtd_ranges_subtract(diff, misses);
    bool miss, other;
    unsigned i;

    for (i = 0; i < dev->dirty->len; i++) {
        DirtySeg *d = &g_array_index(dev->dirty, DirtySeg, i);

        if ((d->kinds & ~K_PTE) &&
            ((d->first <= xfer_last(dst, len) && dst <= d->last) ||
             (copy && d->first <= xfer_last(src, len) && src <= d->last))) {
            return FS_VIEW_UNKNOWN;
        }
    }
    miss = ranges_meet(misses, dst, xfer_last(dst, len)) ||
           (copy && ranges_meet(misses, src, xfer_last(src, len)));
    other = ranges_meet(stale, dst, xfer_last(dst, len)) ||
            (copy && ranges_meet(stale, src, xfer_last(src, len)));
    if (!miss) {
        return FS_VIEW_HOST;
    }
    return other ? FS_VIEW_UNKNOWN : FS_VIEW_ORACLE;
}

/*
 * Whether PASID requester @dev is attached to an IOASID now.  If not, its
 * next request attaches it, unless its device has IOASID_VFIO_MAX_PASIDS
 * attached already: then *@full, the request faults; but if one of those
 * was torn down by the guest (blocked), the device releases it first,
 * which rests on the vIOMMU's view of the teardown: *@unsure.
 */
static bool pasid_attached(Rt *rt, Dev *dev, bool *full, bool *unsure)
{
    GArray *host[MAX_REQ];
    const char *paths[MAX_REQ];
    int64_t pasids[MAX_REQ];
    unsigned in_use = 0;
    bool torn = false, attached;
    int i;

    qvtd_host_tables_pasid(rt->qts, CTX_ID, dev_paths(rt, paths, pasids),
                           pasids, rt->ndev, host, NULL, false);
    attached = host[dev - rt->dev];
    for (i = 0; i < rt->ndev; i++) {
        if (host[i] && rt->dev[i].fn == dev->fn && rt->dev[i].pasid >= 0) {
            in_use++;
            torn |= rt->dev[i].st.mode == QVTD_MODE_BLOCKED;
        }
        if (host[i]) {
            g_array_free(host[i], true);
        }
    }
    *full = !attached && in_use >= IOASID_VFIO_MAX_PASIDS && !torn;
    *unsure = !attached && in_use >= IOASID_VFIO_MAX_PASIDS && torn;
    return attached;
}

static void op_dma_dev(Rt *rt, Dev *dev)
{
    bool use_host = dev->dirty->len;
    GArray *maps = dev->expected;
    g_autoptr(GArray) host_maps = NULL;
    unsigned op = chance(rt, 60) ? IOASID_VFIO_OP_FILL : IOASID_VFIO_OP_COPY;
    uint32_t len = pick_len(rt), pattern = g_rand_int(rt->rnd);
    uint64_t dst, src, ns_before, fault = 0;
    g_autofree uint8_t *guard = g_malloc(PG);
    bool cmd_ns = chance(rt, 50);
    QVtdDmaPrediction p;
    g_autofree uint8_t *buf = NULL;
    GArray *spans = NULL;
    uint32_t status;
    bool full = false, unsure = false;
    unsigned i;

    dst = pick_iova(rt, maps, len, true);
    src = pick_iova(rt, maps, len, false);
    if (dev->pasid >= 0 && !pasid_attached(rt, dev, &full, &unsure)) {
        /*
         * Not attached: the request attaches it, and the relay fills its
         * IOASID from the guest's tables as they are now, which is what
         * the oracle says, dirty or not.  At the limit, nothing.
         */
        if (unsure) {
            rt->stats[ST_DMA_SKIPPED]++;
            return;
        }
        if (full) {
            host_maps = g_array_new(false, false, sizeof(QVtdMap));
            maps = host_maps;
            rt->stats[ST_PASID_FULL]++;
        }
        use_host = false;
    } else if (use_host && (dirty_overlaps(dev, dst, len) ||
                            (op == IOASID_VFIO_OP_COPY &&
                             dirty_overlaps(dev, src, len)))) {
        /* dirty: the host table may lag; the device must follow it */
        qvtd_host_tables_pasid(rt->qts, CTX_ID, &dev->qom, &dev->pasid, 1,
                               &host_maps, NULL, false);
        maps = host_maps;
        if (dev->st.mode == QVTD_MODE_FS) {
            switch (fs_dma_view(dev, host_maps, op == IOASID_VFIO_OP_COPY,
                                src, dst, len)) {
            case FS_VIEW_UNKNOWN:
                rt->stats[ST_DMA_SKIPPED]++;
                return;
            case FS_VIEW_ORACLE:
                rt->stats[ST_DMA_WALKED]++;
                maps = dev->expected;
                use_host = false;
                break;
            case FS_VIEW_HOST:
                break;
            }
        }
    } else {
        use_host = false;
    }
    qvtd_predict_dma(maps, op, src, dst, len,
                     cmd_ns && dev->fn->nosnoop_en &&
                     rt->c->platform_nosnoop, &p);
    if (p.status == IOASID_VFIO_STATUS_DONE && !in_data(rt, p.dst)) {
        rt->stats[ST_DMA_SKIPPED]++;
        qvtd_dma_prediction_clear(&p);
        return;
    }
    op_log(rt, "DMA %s %s src 0x%" PRIx64 " dst 0x%" PRIx64 " len 0x%x%s "
           "(predicted status 0x%x)", dev->path,
           op == IOASID_VFIO_OP_FILL ? "fill" : "copy", src, dst, len,
           cmd_ns ? " nosnoop" : "", p.status);
    rt->stats[ST_DMA]++;
    if (p.status == IOASID_VFIO_STATUS_DONE) {
        uint64_t off = 0;

        buf = g_malloc(len);
        if (op == IOASID_VFIO_OP_COPY) {
            for (i = 0; i < p.src->len; i++) {
                QVtdDmaSeg *s = &g_array_index(p.src, QVtdDmaSeg, i);

                qtest_memread(rt->qts, s->gpa, buf + off, s->len);
                off += s->len;
            }
        } else {
            for (i = 0; i < len; i++) {
                buf[i] = pattern >> (8 * (i % 4));
            }
        }
        spans = snapshot(rt, p.dst);
    }

    qiov_wr32(dev->d, IOASID_VFIO_REG_PATTERN, pattern);
    if (rt->c->pasid_mode) {
        qiov_wr32(dev->d, IOASID_VFIO_REG_PASID, dev->pasid < 0 ? 0 :
                  IOASID_VFIO_PASID_VALID | dev->pasid);
        rt->stats[ST_PASID_DMA] += dev->pasid >= 0;
    }
    ns_before = qiov_rd64(dev->d, IOASID_VFIO_REG_NOSNOOP_BYTES);
    status = qiov_dma(dev->d, op, src, dst, len, cmd_ns);
    if (status & IOASID_VFIO_STATUS_ERROR) {
        fault = qiov_rd64(dev->d, IOASID_VFIO_REG_FAULT_ADDR);
    }
    while (qvtd_take_fault(&rt->v, NULL, NULL)) {
        rt->stats[ST_FAULTS]++;
    }

    if (status != p.status) {
        dma_fail(rt, dev, maps, use_host, "STATUS", p.status, status);
    } else if ((status & IOASID_VFIO_STATUS_ERROR) &&
               qiov_status_code(status) != IOASID_VFIO_ERR_BAD_ARGUMENT &&
               fault != p.fault_addr) {
        dma_fail(rt, dev, maps, use_host, "FAULT_ADDR", p.fault_addr, fault);
    } else if (qiov_rd64(dev->d, IOASID_VFIO_REG_NOSNOOP_BYTES) - ns_before !=
               p.nosnoop_bytes) {
        dma_fail(rt, dev, maps, use_host, "NOSNOOP_BYTES delta",
                 p.nosnoop_bytes,
                 qiov_rd64(dev->d, IOASID_VFIO_REG_NOSNOOP_BYTES) - ns_before);
    }
    rt->stats[status == IOASID_VFIO_STATUS_DONE ? ST_DMA_DONE
                                                 : ST_DMA_FAULT]++;

    /* the bytes written are the predicted ones, the rest is unchanged */
    if (spans && !rt->failed) {
        uint64_t off = 0;

        for (i = 0; i < p.dst->len; i++) {
            QVtdDmaSeg *s = &g_array_index(p.dst, QVtdDmaSeg, i);
            unsigned k;

            for (k = 0; k < spans->len; k++) {
                Span *sp = &g_array_index(spans, Span, k);

                if (s->gpa >= sp->gpa && s->gpa + s->len <= sp->gpa + sp->len) {
                    memcpy(sp->model + (s->gpa - sp->gpa), buf + off, s->len);
                    break;
                }
            }
            off += s->len;
        }
        for (i = 0; i < spans->len && !rt->failed; i++) {
            Span *sp = &g_array_index(spans, Span, i);
            g_autofree uint8_t *after = g_malloc(sp->len);
            uint64_t k;

            qtest_memread(rt->qts, sp->gpa, after, sp->len);
            for (k = 0; k < sp->len && after[k] == sp->model[k]; k++) {
                continue;
            }
            if (k < sp->len) {
                g_autofree char *what = g_strdup_printf(
                    "memory byte at GPA 0x%" PRIx64, sp->gpa + k);

                dma_fail(rt, dev, maps, use_host, what, sp->model[k],
                         after[k]);
            }
        }
    }
    qtest_memread(rt->qts, GUARD, guard, PG);
    for (i = 0; i < PG && !rt->failed; i++) {
        if (guard[i] != 0x5a) {
            dma_fail(rt, dev, maps, use_host, "guard page byte", 0x5a,
                     guard[i]);
        }
    }
    if (spans) {
        spans_free(spans);
    }
    qvtd_dma_prediction_clear(&p);
}

static void op_dma(Rt *rt)
{
    op_dma_dev(rt, &rt->dev[rnd(rt, rt->ndev)]);
}

/* ---- a case ---- */

static void rt_setup_devices(Rt *rt)
{
    const Case *c = rt->c;
    int i, t;

    for (i = 0; i < rt->ndev; i++) {
        Dev *dev = &rt->dev[i];
        uint16_t did = home_did(rt, i);

        if (dev->pasid >= 0) {
            /* its own PASID entry, domain and table, in the device's */
            uint64_t e[3];

            dev->pdir = dev->fn->pdir;
            dev->ptab[0] = dev->fn->ptab[0];
            dev->ptab[1] = dev->fn->ptab[1];
            home_pasid_entry(rt, i, e);
            for (t = 2; t >= 0; t--) {
                wr_raw(rt, pasid_entry(dev, dev->pasid) + 8 * t, e[t]);
            }
            continue;
        }
        if (!c->scalable) {
            for (t = 0; t < 2; t++) {
                uint64_t ce = ctx_entry(rt, t, dev);

                wr_raw(rt, ce + 8, 2 | ((uint64_t)did << 8));
                wr_raw(rt, ce, home_root(rt, i) | 1);
            }
            continue;
        }
        dev->pdir = qvtd_alloc_page(&rt->v);
        dev->ptab[0] = qvtd_alloc_page(&rt->v);
        dev->ptab[1] = qvtd_alloc_page(&rt->v);
        wr_raw(rt, dev->pdir, dev->ptab[0] | 1);
        wr_raw(rt, dev->pdir + 8, dev->ptab[1] | 1);
        wr_raw(rt, dev->pdir + 8 * 128, dev->ptab[1] | 1);
        if (c->flts) {
            /* PASID 0 (RID_PASID), 1 and 64: first-stage, 4 levels */
            uint32_t pasids[] = { 0, 1, 64 };

            for (t = 0; t < 3; t++) {
                uint64_t pe = pasid_entry(dev, pasids[t]);

                wr_raw(rt, pe + 16, t ? pool_page(rt, 4) : home_root(rt, i));
                wr_raw(rt, pe + 8, did);
                wr_raw(rt, pe, (1ULL << 6) | (2ULL << 2) | 1);
            }
            for (t = 0; t < 2; t++) {
                wr_raw(rt, ctx_entry(rt, t, dev), dev->pdir | 1);
            }
            continue;
        }
        /* PASID 0 (RID_PASID), 1 and 64: SL, 4 or 3 levels */
        wr_raw(rt, pasid_entry(dev, 0) + 8, did);
        wr_raw(rt, pasid_entry(dev, 0),
               home_root(rt, i) | (2ULL << 6) | (2ULL << 2) | 1);
        wr_raw(rt, pasid_entry(dev, 1) + 8, did);
        wr_raw(rt, pasid_entry(dev, 1),
               pool_page(rt, 4) | (2ULL << 6) | (2ULL << 2) | 1);
        wr_raw(rt, pasid_entry(dev, 64) + 8, did);
        if (skipping(rt, "aw-shrink")) {
            wr_raw(rt, pasid_entry(dev, 64),
                   pool_page(rt, 4) | (2ULL << 6) | (2ULL << 2) | 1);
        } else {
            wr_raw(rt, pasid_entry(dev, 64),
                   pool_page(rt, 3) | (2ULL << 6) | (1ULL << 2) | 1);
        }
        for (t = 0; t < 2; t++) {
            wr_raw(rt, ctx_entry(rt, t, dev), dev->pdir | 1);
        }
    }
}

static void rt_start(Rt *rt, const Case *c, uint64_t seed)
{
    g_autoptr(GString) args = g_string_new("-M q35 -m 2G -nodefaults ");
    GArray *ident[MAX_DEV];
    const char *paths[MAX_DEV];
    QVtdHostSpace info[MAX_DEV];
    QVtdConfig cfg = {
        .scalable_cap = c->scalable_cap, .snoop_control = c->sc, .pt = true,
        .aw_bits = 48, .host_can_block = c->host_can_block,
        .flts = c->flts, .fs1gp = !c->no_fs1gp, .pasid_cap = c->pasid_mode,
    };
    const char *env;
    int i;

    rt->c = c;
    rt->seed = seed;
    rt->rnd = g_rand_new_with_seed_array((guint32[]) { seed, seed >> 32 },
                                         2);
    rt->nfn = c->ndev;
    rt->ndev = c->ndev * (1 + c->npasid);
    g_assert_cmpint(rt->ndev, <=, MAX_REQ);
    rt->verbose = g_getenv("IOASID_RANDOM_VERBOSE") != NULL;
    env = g_getenv("IOASID_RANDOM_SKIP");
    for (i = 0; skip_classes[i]; i++) {
        g_auto(GStrv) list = g_strsplit(env ?: "", ",", -1);

        rt->skip[i] = g_strv_contains((const char *const *)list,
                                      skip_classes[i]);
    }
    /* a skipped spec gap is modelled as QEMU has it */
    cfg.strict = (skipping(rt, "strict-pasid-rsvd") ? 0 :
                  QVTD_STRICT_PASID_RSVD) |
                 (skipping(rt, "strict-pdts") ? 0 : QVTD_STRICT_PDTS) |
                 (skipping(rt, "strict-snp-legacy") ? 0 :
                  QVTD_STRICT_SNP_LEGACY);
    rt->shadow = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                       g_free);
    rt->tx_undo = g_array_new(false, false, sizeof(uint64_t));
    rt->blocked = g_hash_table_new(g_str_hash, g_str_equal);
    current_rt = rt;
    qtest_add_abrt_handler(abort_report, rt);

    if (c->ctxopts) {
        g_string_append_printf(args, "-object ioasid,id=" CTX_ID ",%s ",
                               c->ctxopts);
    }
    g_string_append_printf(args, "-device intel-iommu,caching-mode=on%s%s%s"
                           "%s%s",
                           c->scalable_cap ? ",x-scalable-mode=on" : "",
                           c->sc ? ",snoop-control=on" : "",
                           c->flts ? ",x-flts=on" : "",
                           c->no_fs1gp ? ",fs1gp=off" : "",
                           c->pasid_mode ? ",x-pasid-mode=on" : "");
    for (i = 0; i < rt->nfn; i++) {
        g_string_append_printf(args, " -device ioasid-vfio,id=dev%d,"
                               "addr=%02x.0%s%s", i, c->slot[i],
                               c->devopts[i] ? "," : "",
                               c->devopts[i] ?: "");
    }
    rt->dev[0].d = qiov_start(args->str, c->slot[0]);
    rt->qts = rt->dev[0].d->qts;
    for (i = 0; i < rt->nfn; i++) {
        Dev *dev = &rt->dev[i];

        if (i) {
            dev->d = qiov_attach(rt->dev[0].d, c->slot[i]);
        }
        dev->path = g_strdup_printf("/machine/peripheral/dev%d", i);
        dev->qom = dev->path;
        dev->pasid = -1;
        dev->fn = dev;
        dev->devfn = c->slot[i] << 3;
        dev->nosnoop_en = qiov_nosnoop_enabled(dev->d);
        g_assert_true(dev->nosnoop_en);     /* resets to 1 */
        paths[i] = dev->path;
        pasid_enable(rt, dev);
    }
    /* each device's PASID requesters after the devices */
    for (i = rt->nfn; i < rt->ndev; i++) {
        Dev *dev = &rt->dev[i];
        Dev *fn = &rt->dev[(i - rt->nfn) / c->npasid];

        dev->d = fn->d;
        dev->fn = fn;
        dev->qom = fn->path;
        dev->pasid = req_pasid((i - rt->nfn) % c->npasid);
        dev->path = g_strdup_printf("%s PASID %" PRId64, fn->path,
                                    dev->pasid);
        dev->devfn = fn->devfn;
    }
    for (i = 0; i < rt->ndev; i++) {
        rt->dev[i].dirty = g_array_new(false, false, sizeof(DirtySeg));
        rt->dev[i].dirty_dids = g_array_new(false, false, sizeof(uint16_t));
    }

    /* the identity templates, while translation is off */
    qvtd_host_tables(rt->qts, CTX_ID, paths, rt->nfn, ident, info, true);
    for (i = 0; i < rt->nfn; i++) {
        g_assert(ident[i] && ident[i]->len);
        /* each device has its own IOASID */
        g_assert_true(i == 0 || info[i].ioasid != info[i - 1].ioasid);
        rt->dev[i].od = (QVtdDevice) {
            .devfn = rt->dev[i].devfn, .enforce = info[i].enforce,
            .identity = ident[i],
        };
    }
    /* a PASID's IOASID is allocated as its device's: the same template */
    for (i = rt->nfn; i < rt->ndev; i++) {
        rt->dev[i].od = rt->dev[i].fn->od;
    }

    /* VT-d structures: two roots, two context tables, the pool */
    qvtd_init(&rt->v, rt->qts, TABLES, TABLES_SIZE, c->scalable);
    rt->root[0] = rt->v.root;
    rt->root[1] = qvtd_alloc_page(&rt->v);
    rt->ctab[0] = qvtd_alloc_page(&rt->v);
    rt->ctab[1] = qvtd_alloc_page(&rt->v);
    rt->rtaddr = rt->root[0] | (c->scalable ? 1ULL << 10 : 0);
    qtest_memset(rt->qts, POOL, 0, POOL_PAGES * PG);
    for (i = 0; i < POOL_PAGES; i++) {
        rt->pool[i] = POOL + i * PG;
        rt->level[i] = i < 6 ? 4 : i < 16 ? 3 : i < 32 ? 2 : 1;
    }
    qtest_memset(rt->qts, GUARD, 0x5a, PG);
    for (i = 0; i < 2; i++) {
        wr_raw(rt, rt->root[i], rt->ctab[0] | 1);
        wr_raw(rt, rt->root[i] + 8, c->scalable ? rt->ctab[0] | 1 : 0);
    }
    rt_setup_devices(rt);
    if (c->qi) {
        qvtd_enable_qi(&rt->v);
    }
    qvtd_oracle_init(&rt->o, rt->qts, &cfg, ident[0]);
    qvtd_oracle_set_rtaddr(&rt->o, rt->rtaddr);
    /* keep query-ioasid small: aliasing multiplies leaves */
    rt->o.max_leaves = 256;
    rt->o.max_tables = 192;
    if (g_getenv("IOASID_RANDOM_MAX_LEAVES")) {
        rt->o.max_leaves = atoi(g_getenv("IOASID_RANDOM_MAX_LEAVES"));
    }
    for (i = 0; i < rt->ndev; i++) {
        rt->dev[i].expected = g_array_new(false, false, sizeof(QVtdMap));
    }
    reeval(rt, 0);
    qvtd_inv_context_global(&rt->v);
    qvtd_inv_iotlb_global(&rt->v);
    check(rt, "start-up");

    /* some tables to begin with, then translation on */
    for (i = 0; i < 24; i++) {
        op_sl_map(rt, &rt->dev[rnd(rt, rt->ndev)]);
    }
    op_te(rt, true);
    for (i = 0; i < (int)c->pretouch && !rt->failed; i++) {
        op_dma_dev(rt, &rt->dev[rt->nfn + i]);
    }
    if (c->pretouch) {
        check(rt, "the first request of each PASID");
    }
}

static void rt_stop(Rt *rt)
{
    int i;

    qtest_remove_abrt_handler(rt);
    current_rt = NULL;
    for (i = 1; i < rt->nfn; i++) {
        qiov_free(rt->dev[i].d);
    }
    qiov_stop(rt->dev[0].d);
    qvtd_oracle_destroy(&rt->o);
    for (i = 0; i < rt->ndev; i++) {
        Dev *dev = &rt->dev[i];

        g_free(dev->path);
        if (dev->pasid < 0) {
            g_array_free(dev->od.identity, true);
        }
        g_array_free(dev->expected, true);
        g_array_free(dev->dirty, true);
        g_array_free(dev->dirty_dids, true);
    }
    for (i = 0; i < RING; i++) {
        g_free(rt->ring[i]);
    }
    g_hash_table_destroy(rt->shadow);
    g_hash_table_destroy(rt->blocked);
    g_array_free(rt->tx_undo, true);
    g_rand_free(rt->rnd);
}

/*
 * Put a device's path back in order, as a guest reassigning it would:
 * root entry, context entry, PASID directory and entry, each a write.
 */
static void op_repair(Rt *rt, int i)
{
    Dev *dev = &rt->dev[i];
    int r = active_root(rt);
    uint64_t e[4] = { 0 };

    if (r < 0) {
        op_srtp(rt);
        return;
    }
    op_log(rt, "repair the path of %s", dev->path);
    e[0] = rt->ctab[0] | 1;
    e[1] = rt->c->scalable ? rt->ctab[0] | 1 : 0;
    if (rd(rt, rt->root[r]) != e[0] || rd(rt, rt->root[r] + 8) != e[1]) {
        write_entry(rt, K_CTX, rt->root[r], e, 2);
    }
    if (!rt->c->scalable) {
        e[0] = home_root(rt, i) | 1;
        e[1] = 2 | ((uint64_t)home_did(rt, i) << 8);
        write_entry(rt, K_CTX, ctx_entry(rt, 0, dev), e, 2);
        return;
    }
    e[0] = dev->pdir | 1;
    e[1] = 0;
    write_entry(rt, K_CTX, ctx_entry(rt, 0, dev), e, 4);
    write_q(rt, K_PASID, dev->pdir, dev->ptab[0] | 1);
    if (dev->pasid >= 64) {
        write_q(rt, K_PASID, dev->pdir + 8, dev->ptab[1] | 1);
    }
    home_pasid_entry(rt, i, e);
    write_entry(rt, K_PASID, pasid_entry(dev, dev->pasid < 0 ? 0 : dev->pasid),
                e, 3);
}

static void rt_step(Rt *rt)
{
    const Case *c = rt->c;
    Dev *dev;
    int i = rnd(rt, rt->ndev), f;
    unsigned x;

    dev = &rt->dev[i];
    f = dev->fn - rt->dev;
    if (!rt->te && chance(rt, 30)) {
        op_te(rt, true);
        return;
    }
    if (dev->st.mode == QVTD_MODE_BLOCKED && chance(rt, 15)) {
        op_repair(rt, i);
        return;
    }
    x = rnd(rt, 1000);
    if (x >= 690 && x < 960) {
        gint64 t0 = g_get_monotonic_time();

        op_dma(rt);
        rt->usecs[2] += g_get_monotonic_time() - t0;
    } else if (x < 190) {
        op_sl_map(rt, dev);
    } else if (x < 230) {
        op_sl_unmap(rt, dev);
    } else if (x < 290) {
        op_sl_mutate(rt, dev);
    } else if (x < 320) {
        op_sl_chaos(rt);
    } else if (x < 365) {
        if (c->scalable) {
            op_context_scalable(rt, f);
        } else {
            op_context_legacy(rt, f);
        }
    } else if (x < 380) {
        op_root(rt);
    } else if (x < 440) {
        if (!c->scalable) {
            op_sl_map(rt, dev);
        } else if (x < 400) {
            op_pasid_dir(rt, f);
        } else {
            op_pasid_entry(rt, i);
        }
    } else if (x < 690) {
        if (chance(rt, 60)) {
            op_invalidate_dirty(rt);
        } else {
            op_invalidate(rt);
        }
    } else if (x < 960) {
        op_dma(rt);
    } else if (x < 974) {
        op_devctl(rt);
    } else if (x < 975) {
        op_reset(rt);
    } else if (x < 983) {
        op_te(rt, !rt->te);
    } else if (x < 991) {
        op_srtp(rt);
    } else if (c->qi_toggle) {
        op_qi_toggle(rt);
    } else {
        op_dma(rt);
    }
}

static uint64_t base_seed(void)
{
    static uint64_t seed;
    static bool have;
    const char *env = g_getenv("IOASID_RANDOM_SEED");

    if (!have) {
        if (env && !strcmp(env, "random")) {
            seed = g_random_int() | ((uint64_t)g_random_int() << 32);
        } else if (env) {
            seed = g_ascii_strtoull(env, NULL, 0);
        } else {
            seed = 1;
        }
        have = true;
    }
    return seed;
}

static void test_case(const void *opaque)
{
    const Case *c = opaque;
    uint64_t seed = base_seed() * 0x9e3779b97f4a7c15ULL ^ g_str_hash(c->name);
    const char *env = g_getenv("IOASID_RANDOM_STEPS");
    unsigned steps = env ? atoi(env) : c->steps;
    Rt rt = { 0 };
    gint64 t0 = g_get_monotonic_time();

    g_test_message("ioasid-random %s: IOASID_RANDOM_SEED=%" PRIu64
                   " (case seed 0x%" PRIx64 "), %u steps", c->name,
                   base_seed(), seed, steps);
    rt_start(&rt, c, seed);
    for (rt.step = 0; rt.step < steps && !rt.failed; rt.step++) {
        rt_step(&rt);
        if (rt.step % 16 == 15) {
            check(&rt, "table writes");
        }
    }
    g_test_message("ioasid-random %s: %u steps in %.1f s: %u table writes "
                   "(%u reverted), %u invalidations, %u checks, %u DMA (%u "
                   "done, %u faulted, %u skipped), %u TE, %u SRTP, %u vIOMMU "
                   "faults, %" PRIu64 " page reads; %.1f s oracle, %.1f s "
                   "checks, %.1f s DMA", c->name, rt.step,
                   (g_get_monotonic_time() - t0) / 1e6, rt.stats[ST_WRITES],
                   rt.stats[ST_REVERTED], rt.stats[ST_INVS],
                   rt.stats[ST_CHECKS], rt.stats[ST_DMA],
                   rt.stats[ST_DMA_DONE], rt.stats[ST_DMA_FAULT],
                   rt.stats[ST_DMA_SKIPPED], rt.stats[ST_TE],
                   rt.stats[ST_SRTP], rt.stats[ST_FAULTS],
                   rt.o.page_reads, rt.usecs[0] / 1e6, rt.usecs[1] / 1e6,
                   rt.usecs[2] / 1e6);
    g_test_message("  device checks: %u clean, %u mappings compared; "
                   "second level %u, first stage %u, pass-through %u, "
                   "blocked %u, off %u; %u DMA walked a first-stage miss",
                   rt.stats[ST_CLEAN], rt.stats[ST_MAPS], rt.stats[ST_SL],
                   rt.stats[ST_FS], rt.stats[ST_PT], rt.stats[ST_BLOCKED],
                   rt.stats[ST_OFF], rt.stats[ST_DMA_WALKED]);
    {
        GHashTableIter it;
        gpointer k, v;

        g_hash_table_iter_init(&it, rt.blocked);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            g_test_message("  blocked %u times: %s", GPOINTER_TO_UINT(v),
                           (const char *)k);
        }
    }
    rt_stop(&rt);
}

/* ---- the oracle on known-good cases ---- */

static void add_map(GArray *maps, uint64_t iova, uint64_t size, uint64_t addr,
                    bool r, bool w, bool block)
{
    QVtdMap m = { iova, size, addr, r, w, block };

    g_array_append_val(maps, m);
}

/* Mapping lists, ranges and DMA prediction, without QEMU */
static void test_oracle_units(void)
{
    g_autoptr(GArray) a = g_array_new(false, false, sizeof(QVtdMap));
    g_autoptr(GArray) b = g_array_new(false, false, sizeof(QVtdMap));
    g_autoptr(GArray) d = NULL;
    g_autoptr(GArray) r1 = qvtd_ranges_new();
    g_autoptr(GArray) r2 = qvtd_ranges_new();
    g_autoptr(GArray) r3 = NULL;
    QVtdDmaPrediction p;

    /* continuations merge; other flags, addresses or gaps do not */
    add_map(a, 0x3000, 0x1000, 0x13000, true, true, false);
    add_map(a, 0x1000, 0x1000, 0x11000, true, true, false);
    add_map(a, 0x2000, 0x1000, 0x12000, true, true, false);
    add_map(a, 0x4000, 0x1000, 0x14000, true, true, true);
    add_map(a, 0x5000, 0x1000, 0x99000, true, true, true);
    add_map(a, 0x7000, 0x1000, 0x9b000, true, true, true);
    qvtd_maps_normalise(a);
    g_assert_cmpuint(a->len, ==, 4);
    g_assert_cmphex(g_array_index(a, QVtdMap, 0).size, ==, 0x3000);
    g_assert_null(qvtd_maps_lookup(a, 0x6000));
    g_assert_cmphex(qvtd_maps_lookup(a, 0x2fff)->addr, ==, 0x11000);

    /* the same translation coalesced differently is equal */
    add_map(b, 0x1000, 0x2000, 0x11000, true, true, false);
    add_map(b, 0x3000, 0x1000, 0x13000, true, true, false);
    add_map(b, 0x4000, 0x1000, 0x14000, true, true, true);
    add_map(b, 0x5000, 0x1000, 0x99000, true, true, true);
    add_map(b, 0x7000, 0x1000, 0x9b000, true, false, true);
    d = qvtd_maps_diff(a, b);
    g_assert_cmpuint(d->len, ==, 1);
    g_assert_cmphex(g_array_index(d, QVtdRange, 0).first, ==, 0x7000);
    g_assert_cmphex(g_array_index(d, QVtdRange, 0).last, ==, 0x7fff);
    g_array_unref(d);
    g_array_index(b, QVtdMap, 4).write = true;
    g_array_index(b, QVtdMap, 0).addr = 0x21000;  /* another target */
    g_array_set_size(b, 4);                      /* 0x7000 missing */
    d = qvtd_maps_diff(a, b);
    g_assert_cmpuint(d->len, ==, 2);
    g_assert_cmphex(g_array_index(d, QVtdRange, 0).last, ==, 0x2fff);
    g_assert_cmphex(g_array_index(d, QVtdRange, 1).first, ==, 0x7000);

    /* ranges: merge, subtract */
    qvtd_ranges_add(r1, 0x100, 0x1ff);
    qvtd_ranges_add(r1, 0x400, 0x4ff);
    qvtd_ranges_add(r1, 0x200, 0x2ff);
    qvtd_ranges_add(r1, 0, UINT64_MAX - 1);
    g_assert_cmpuint(r1->len, ==, 1);
    qvtd_ranges_add(r2, 0x1000, 0x1fff);
    qvtd_ranges_add(r2, UINT64_MAX - 10, UINT64_MAX);
    r3 = qvtd_ranges_subtract(r1, r2);
    g_assert_cmpuint(r3->len, ==, 2);
    g_assert_cmphex(g_array_index(r3, QVtdRange, 0).last, ==, 0xfff);
    g_assert_cmphex(g_array_index(r3, QVtdRange, 1).first, ==, 0x2000);
    g_assert_cmphex(g_array_index(r3, QVtdRange, 1).last, ==, UINT64_MAX - 11);

    /* DMA: a fill across two mappings, into a hole, without permission */
    qvtd_predict_dma(a, IOASID_VFIO_OP_FILL, 0, 0x3f00, 0x200, true, &p);
    g_assert_cmphex(p.status, ==, IOASID_VFIO_STATUS_DONE);
    g_assert_cmpuint(p.dst->len, ==, 2);
    g_assert_cmpuint(p.nosnoop_bytes, ==, 0x100);   /* 0x4000: blocked */
    qvtd_dma_prediction_clear(&p);
    qvtd_predict_dma(a, IOASID_VFIO_OP_FILL, 0, 0x5f00, 0x200, false, &p);
    g_assert_cmphex(p.status, ==, IOASID_VFIO_STATUS_ERROR |
                    (IOASID_VFIO_ERR_NO_MAPPING <<
                     IOASID_VFIO_STATUS_CODE_SHIFT));
    g_assert_cmphex(p.fault_addr, ==, 0x6000);
    qvtd_dma_prediction_clear(&p);
    g_array_index(a, QVtdMap, 3).write = false;
    /* a copy translates all of SRC first */
    qvtd_predict_dma(a, IOASID_VFIO_OP_COPY, 0x6ff0, 0x7000, 0x20, false,
                     &p);
    g_assert_cmphex(p.fault_addr, ==, 0x6ff0);
    qvtd_dma_prediction_clear(&p);
    qvtd_predict_dma(a, IOASID_VFIO_OP_COPY, 0x1000, 0x7000, 0x20, true, &p);
    g_assert_cmphex(p.status, ==, IOASID_VFIO_STATUS_ERROR |
                    (IOASID_VFIO_ERR_PERMISSION <<
                     IOASID_VFIO_STATUS_CODE_SHIFT));
    g_assert_cmphex(p.fault_addr, ==, 0x7000);
    qvtd_dma_prediction_clear(&p);
    qvtd_predict_dma(a, IOASID_VFIO_OP_COPY, 0x1000, 0x2000, 0x100, true,
                     &p);
    g_assert_cmpuint(p.nosnoop_bytes, ==, 0x200);
    qvtd_dma_prediction_clear(&p);
    qvtd_predict_dma(a, IOASID_VFIO_OP_FILL, 0, UINT64_MAX - 4, 0x10, true,
                     &p);
    g_assert_cmphex(p.status, ==, IOASID_VFIO_STATUS_ERROR |
                    (IOASID_VFIO_ERR_BAD_ARGUMENT <<
                     IOASID_VFIO_STATUS_CODE_SHIFT));
    qvtd_dma_prediction_clear(&p);
}

/* Assert that @maps holds exactly [iova, iova + size) -> addr, flags */
static void assert_has(const GArray *maps, uint64_t iova, uint64_t size,
                       uint64_t addr, bool r, bool w, bool block)
{
    const QVtdMap *m = qvtd_maps_lookup(maps, iova);

    g_assert(m);
    g_assert_cmphex(m->iova, ==, iova);
    g_assert_cmphex(m->size, ==, size);
    g_assert_cmphex(m->addr, ==, addr);
    g_assert_cmpint(m->read, ==, r);
    g_assert_cmpint(m->write, ==, w);
    g_assert_cmpint(m->block, ==, block);
}

static GArray *host_table(QTestState *qts)
{
    const char *path = "/machine/peripheral/dev0";
    GArray *maps;

    qvtd_host_tables(qts, CTX_ID, &path, 1, &maps, NULL, false);
    g_assert(maps);
    return maps;
}

/* Tables whose grants are known by hand: oracle, hand and host agree */
static void check_oracle_known(bool scalable)
{
    QIoasidVfio *d = qiov_start(scalable ?
        "-M q35 -m 2G -nodefaults -device intel-iommu,caching-mode=on,"
        "snoop-control=on,x-scalable-mode=on "
        "-device ioasid-vfio,id=dev0,addr=04.0" :
        "-M q35 -m 2G -nodefaults -device intel-iommu,caching-mode=on,"
        "snoop-control=on -device ioasid-vfio,id=dev0,addr=04.0", 4);
    QTestState *qts = d->qts;
    QVtdConfig cfg = {
        .scalable_cap = scalable, .snoop_control = true, .pt = true,
        .aw_bits = 48, .host_can_block = true, .strict = QVTD_STRICT_ALL,
    };
    const char *path = "/machine/peripheral/dev0";
    GArray *ident, *exp, *host;
    g_autoptr(GArray) diff = NULL;
    QVtdDevice dev = { .devfn = 4 << 3 };
    QVtdDevState st;
    QVtdOracle o;
    QVTD v;
    uint64_t top, pe = 0;
    QVtdHostSpace info;

    qvtd_host_tables(qts, CTX_ID, &path, 1, &ident, &info, true);
    dev.enforce = info.enforce;
    dev.identity = ident;
    qvtd_oracle_init(&o, qts, &cfg, ident);
    qvtd_init(&v, qts, TABLES, TABLES_SIZE, scalable);
    qvtd_oracle_set_rtaddr(&o, v.root | (scalable ? 1ULL << 10 : 0));
    qvtd_enable_qi(&v);
    top = qvtd_sl_new(&v);
    if (scalable) {
        pe = qvtd_context_scalable(&v, dev.devfn, 5, top, false);
    } else {
        qvtd_context_legacy(&v, dev.devfn, 5, top);
    }

    /* translation off: the identity template, RAM below 1M split */
    qvtd_oracle_begin(&o);
    exp = qvtd_oracle_expected(&o, &dev, &st);
    g_assert_cmpint(st.mode, ==, QVTD_MODE_OFF);
    assert_has(exp, 0, 0xc0000, 0, true, true, true);
    assert_has(exp, 0xc0000, 0x40000, 0xc0000, true, false, true);
    assert_has(exp, 0x100000, RAM_END - 0x100000, 0x100000, true, true,
               true);
    g_array_free(exp, true);

    /* 4K pages with and without SNP, read-only and write-only */
    qvtd_sl_map(&v, top, 0x80000000, DATA, 2 * PG, QVTD_PAGE_4K,
                SL_RW | SL_SNP);
    qvtd_sl_map(&v, top, 0x80002000, DATA + 2 * PG, PG, QVTD_PAGE_4K, SL_RW);
    qvtd_sl_map(&v, top, 0x80003000, DATA + 3 * PG, PG, QVTD_PAGE_4K, SL_R);
    qvtd_sl_map(&v, top, 0x80004000, DATA + 4 * PG, PG, QVTD_PAGE_4K, SL_W);
    /* 2M and 1G leaves; a 2M leaf over the interrupt window */
    qvtd_sl_map(&v, top, 0x80200000, DATA + MB2, MB2, QVTD_PAGE_2M,
                SL_RW | SL_SNP);
    qvtd_sl_map(&v, top, 0x100000000ULL, DATA, GB1, QVTD_PAGE_1G, SL_RW);
    qvtd_sl_map(&v, top, 0xfee00000, DATA + 4 * MB2, MB2, QVTD_PAGE_2M,
                SL_RW);
    /* ROM (write dropped), MMIO and the end of RAM (not mapped) */
    qvtd_sl_map(&v, top, 0x90000000, 0xfffff000ULL, PG, QVTD_PAGE_4K, SL_RW);
    qvtd_sl_map(&v, top, 0x90001000, 0xfed90000ULL, PG, QVTD_PAGE_4K, SL_RW);
    qvtd_sl_map(&v, top, 0x90200000, RAM_END - PG * 0 - MB2, MB2,
                QVTD_PAGE_2M, SL_RW);
    qvtd_sl_map(&v, top, 0x90400000, RAM_END, MB2, QVTD_PAGE_2M, SL_RW);
    /* a reserved bit, a directory outside RAM */
    qvtd_sl_map(&v, top, 0x90600000, DATA, PG, QVTD_PAGE_4K,
                SL_RW | (1ULL << 62));
    qtest_writeq(qts, qvtd_sl_entry_addr(&v, top, 0xa0000000ULL, 2),
                 BAD_GPA | SL_RW);
    if (scalable) {
        qvtd_pasid_set_pgsnp(&v, pe, false);
    }
    qvtd_inv_context_global(&v);
    qvtd_inv_iotlb_global(&v);
    qvtd_set_translation(&v, true);

    qvtd_oracle_begin(&o);
    exp = qvtd_oracle_expected(&o, &dev, &st);
    g_assert_cmpint(st.mode, ==, QVTD_MODE_SL);
    g_assert_cmpuint(st.did, ==, 5);
    assert_has(exp, 0x80000000, 2 * PG, DATA, true, true, true);
    assert_has(exp, 0x80002000, PG, DATA + 2 * PG, true, true, false);
    assert_has(exp, 0x80003000, PG, DATA + 3 * PG, true, false, false);
    assert_has(exp, 0x80004000, PG, DATA + 4 * PG, false, true, false);
    assert_has(exp, 0x80200000, MB2, DATA + MB2, true, true, true);
    assert_has(exp, 0x100000000ULL, GB1, DATA, true, true, false);
    assert_has(exp, 0xfef00000, 0x100000, DATA + 4 * MB2 + 0x100000, true,
               true, false);
    g_assert_null(qvtd_maps_lookup(exp, 0xfee00000));
    g_assert_null(qvtd_maps_lookup(exp, 0xfeefffff));
    assert_has(exp, 0x90000000, PG, 0xfffff000ULL, true, false, false);
    g_assert_null(qvtd_maps_lookup(exp, 0x90001000));
    assert_has(exp, 0x90200000, MB2, RAM_END - MB2, true, true, false);
    g_assert_null(qvtd_maps_lookup(exp, 0x90400000));
    g_assert_null(qvtd_maps_lookup(exp, 0x90600000));
    g_assert_null(qvtd_maps_lookup(exp, 0xa0000000));
    g_assert_cmpuint(exp->len, ==, 9);
    host = host_table(qts);
    diff = qvtd_maps_diff(exp, host);
    if (diff->len) {
        g_autoptr(GString) out = g_string_new(NULL);

        qvtd_maps_describe(out, exp, "oracle", host, "host", diff, 8);
        g_test_message("%s", out->str);
    }
    g_assert_cmpuint(diff->len, ==, 0);
    g_array_free(host, true);

    if (scalable) {
        /* PGSNP forces snooping everywhere */
        qvtd_pasid_set_pgsnp(&v, pe, true);
        qvtd_inv_pasid_cache(&v, 5, false);
        g_array_free(exp, true);
        qvtd_oracle_begin(&o);
        exp = qvtd_oracle_expected(&o, &dev, &st);
        g_assert_true(st.pgsnp);
        assert_has(exp, 0x80000000, 3 * PG, DATA, true, true, true);
        host = host_table(qts);
        g_array_unref(diff);
        diff = qvtd_maps_diff(exp, host);
        g_assert_cmpuint(diff->len, ==, 0);
        g_array_free(host, true);
    }

    /* the DMA engine does what the prediction says */
    {
        QVtdDmaPrediction p;
        uint32_t status;

        qvtd_predict_dma(exp, IOASID_VFIO_OP_FILL, 0, 0x80001ff0, 0x20, true,
                         &p);
        g_assert_cmpuint(p.dst->len, ==, scalable ? 1 : 2);
        status = qiov_dma(d, IOASID_VFIO_OP_FILL, 0, 0x80001ff0, 0x20, true);
        g_assert_cmphex(status, ==, p.status);
        qvtd_dma_prediction_clear(&p);
        qvtd_predict_dma(exp, IOASID_VFIO_OP_COPY, 0x80003ff0, 0x80004ff0,
                         0x20, true, &p);
        g_assert_cmphex(p.fault_addr, ==, 0x80004000);  /* not readable */
        status = qiov_dma(d, IOASID_VFIO_OP_COPY, 0x80003ff0, 0x80004ff0,
                          0x20, true);
        g_assert_cmphex(status, ==, p.status);
        g_assert_cmphex(qiov_rd64(d, IOASID_VFIO_REG_FAULT_ADDR), ==,
                        p.fault_addr);
        qvtd_dma_prediction_clear(&p);
    }

    /* translation off again: identity */
    qvtd_set_translation(&v, false);
    g_array_free(exp, true);
    qvtd_oracle_begin(&o);
    exp = qvtd_oracle_expected(&o, &dev, &st);
    host = host_table(qts);
    g_array_unref(diff);
    diff = qvtd_maps_diff(exp, host);
    g_assert_cmpuint(diff->len, ==, 0);
    g_array_free(host, true);
    g_array_free(exp, true);
    qvtd_oracle_destroy(&o);
    g_array_free(ident, true);
    qiov_stop(d);
}

/*
 * First-stage tables (x-flts=on) built by hand: what the oracle must say
 * about each rule of the format, and the host must hold the same.
 */
static void test_oracle_known_first_stage(void)
{
    QIoasidVfio *d = qiov_start(
        "-M q35 -m 2G -nodefaults -device intel-iommu,caching-mode=on,"
        "snoop-control=on,x-scalable-mode=on,x-flts=on "
        "-device ioasid-vfio,id=dev0,addr=04.0", 4);
    QTestState *qts = d->qts;
    QVtdConfig cfg = {
        .scalable_cap = true, .snoop_control = true, .pt = true,
        .aw_bits = 48, .host_can_block = true, .strict = QVTD_STRICT_ALL,
        .flts = true, .fs1gp = true,
    };
    const char *path = "/machine/peripheral/dev0";
    GArray *ident, *exp, *host;
    g_autoptr(GArray) diff = NULL;
    QVtdDevice dev = { .devfn = 4 << 3 };
    QVtdDevState st;
    QVtdOracle o;
    QVTD v;
    uint64_t top, pe;
    QVtdHostSpace info;

    qvtd_host_tables(qts, CTX_ID, &path, 1, &ident, &info, true);
    dev.enforce = info.enforce;
    dev.identity = ident;
    qvtd_oracle_init(&o, qts, &cfg, ident);
    qvtd_init(&v, qts, TABLES, TABLES_SIZE, true);
    qvtd_oracle_set_rtaddr(&o, v.root | (1ULL << 10));
    qvtd_enable_qi(&v);
    top = qvtd_fs_new(&v);
    pe = qvtd_context_scalable_fs(&v, dev.devfn, 5, top, false);

    /* writable, read-only (R/W clear in the leaf), and 2M/1G leaves */
    qvtd_fs_map(&v, top, 0x80000000, DATA, 2 * PG, QVTD_PAGE_4K,
                QVTD_FS_RW_LEAF);
    qvtd_fs_map(&v, top, 0x80002000, DATA + 2 * PG, PG, QVTD_PAGE_4K,
                QVTD_FS_RO_LEAF);
    qvtd_fs_map(&v, top, 0x80200000, DATA + MB2, MB2, QVTD_PAGE_2M,
                QVTD_FS_RW_LEAF | (1ULL << 12));     /* PAT: not address */
    qvtd_fs_map(&v, top, 0x100000000ULL, DATA, GB1, QVTD_PAGE_1G,
                QVTD_FS_RW_LEAF);
    /* the upper canonical half, at its sign-extended address */
    qvtd_fs_map(&v, top, FS_UPPER, DATA + 8 * PG, PG, QVTD_PAGE_4K,
                QVTD_FS_RW_LEAF | SL_SNP | FS_XD);   /* both ignored */
    /* faults: no U/S, not present, reserved bits, no A/D is fine */
    qvtd_fs_map(&v, top, 0x90000000, DATA, PG, QVTD_PAGE_4K,
                QVTD_FS_P | QVTD_FS_RW);
    qvtd_fs_map(&v, top, 0x90001000, DATA, PG, QVTD_PAGE_4K,
                QVTD_FS_RW | QVTD_FS_US);
    qvtd_fs_map(&v, top, 0x90002000, DATA, PG, QVTD_PAGE_4K,
                QVTD_FS_RW_LEAF | (1ULL << 50));
    qvtd_fs_map(&v, top, 0x90003000, DATA + 9 * PG, PG, QVTD_PAGE_4K,
                QVTD_FS_P | QVTD_FS_RW | QVTD_FS_US);
    qvtd_fs_map(&v, top, 0x90200000, DATA, MB2, QVTD_PAGE_2M,
                QVTD_FS_RW_LEAF | (1ULL << 13));
    /* a directory without R/W: read-only below it */
    qvtd_fs_map(&v, top, 0xa0000000ULL, DATA + 10 * PG, PG, QVTD_PAGE_4K,
                QVTD_FS_RW_LEAF);
    qtest_writeq(qts, qvtd_fs_entry_addr(&v, top, 0xa0000000ULL, 2),
                 qtest_readq(qts, qvtd_fs_entry_addr(&v, top, 0xa0000000ULL,
                                                     2)) & ~QVTD_FS_RW);
    qvtd_inv_pasid_cache(&v, 0, true);
    qvtd_inv_iotlb_global(&v);
    qvtd_set_translation(&v, true);

    qvtd_oracle_begin(&o);
    exp = qvtd_oracle_expected(&o, &dev, &st);
    g_assert_cmpint(st.mode, ==, QVTD_MODE_FS);
    g_assert_cmpuint(st.did, ==, 5);
    assert_has(exp, 0x80000000, 2 * PG, DATA, true, true, false);
    assert_has(exp, 0x80002000, PG, DATA + 2 * PG, true, false, false);
    assert_has(exp, 0x80200000, MB2, DATA + MB2, true, true, false);
    assert_has(exp, 0x100000000ULL, GB1, DATA, true, true, false);
    assert_has(exp, FS_UPPER, PG, DATA + 8 * PG, true, true, false);
    g_assert_null(qvtd_maps_lookup(exp, FS_UPPER & ((1ULL << 48) - 1)));
    g_assert_null(qvtd_maps_lookup(exp, 0x90000000));
    g_assert_null(qvtd_maps_lookup(exp, 0x90001000));
    g_assert_null(qvtd_maps_lookup(exp, 0x90002000));
    assert_has(exp, 0x90003000, PG, DATA + 9 * PG, true, true, false);
    g_assert_null(qvtd_maps_lookup(exp, 0x90200000));
    assert_has(exp, 0xa0000000ULL, PG, DATA + 10 * PG, true, false, false);
    g_assert_cmpuint(exp->len, ==, 7);
    host = host_table(qts);
    diff = qvtd_maps_diff(exp, host);
    g_assert_cmpuint(diff->len, ==, 0);
    g_array_free(host, true);

    /* PGSNP forces snooping everywhere; second-stage is not offered */
    qvtd_pasid_set_pgsnp(&v, pe, true);
    qvtd_inv_pasid_cache_pasid(&v, 5, 0);
    g_array_free(exp, true);
    qvtd_oracle_begin(&o);
    exp = qvtd_oracle_expected(&o, &dev, &st);
    g_assert_true(st.pgsnp);
    assert_has(exp, 0x80000000, 2 * PG, DATA, true, true, true);
    host = host_table(qts);
    g_array_unref(diff);
    diff = qvtd_maps_diff(exp, host);
    g_assert_cmpuint(diff->len, ==, 0);
    g_array_free(host, true);
    qvtd_pasid_entry_set(&v, pe, QVTD_PE_PGTT_SS, qvtd_sl_new(&v), 5, false);
    qvtd_inv_pasid_cache_pasid(&v, 5, 0);
    g_array_free(exp, true);
    qvtd_oracle_begin(&o);
    exp = qvtd_oracle_expected(&o, &dev, &st);
    g_assert_cmpint(st.mode, ==, QVTD_MODE_BLOCKED);
    g_assert_cmpuint(exp->len, ==, 0);
    host = host_table(qts);
    g_assert_cmpuint(host->len, ==, 0);
    g_array_free(host, true);

    g_array_free(exp, true);
    g_array_free(ident, true);
    qvtd_oracle_destroy(&o);
    qiov_stop(d);
}

static void test_oracle_known_legacy(void)
{
    check_oracle_known(false);
}

static void test_oracle_known_scalable(void)
{
    check_oracle_known(true);
}

/* ---- minimal reproductions of the product bugs found ---- */

typedef struct Repro {
    QIoasidVfio *d;
    QTestState *qts;
    QVTD v;
    QVtdOracle o;
    QVtdDevice dev;
    uint64_t top;               /* 4-level second-level table */
    uint64_t pe;                /* scalable: the RID_PASID entry */
} Repro;

static void repro_start(Repro *r, bool scalable)
{
    const char *path = "/machine/peripheral/dev0";
    QVtdConfig cfg = {
        .scalable_cap = scalable, .snoop_control = true, .pt = true,
        .aw_bits = 48, .host_can_block = true, .strict = QVTD_STRICT_ALL,
    };
    QVtdHostSpace info;
    GArray *ident;

    r->d = qiov_start(scalable ?
        "-M q35 -m 2G -nodefaults -device intel-iommu,caching-mode=on,"
        "snoop-control=on,x-scalable-mode=on "
        "-device ioasid-vfio,id=dev0,addr=04.0" :
        "-M q35 -m 2G -nodefaults -device intel-iommu,caching-mode=on,"
        "snoop-control=on -device ioasid-vfio,id=dev0,addr=04.0", 4);
    r->qts = r->d->qts;
    qvtd_host_tables(r->qts, CTX_ID, &path, 1, &ident, &info, true);
    r->dev = (QVtdDevice) {
        .devfn = 4 << 3, .enforce = info.enforce, .identity = ident,
    };
    qvtd_oracle_init(&r->o, r->qts, &cfg, ident);
    qvtd_init(&r->v, r->qts, TABLES, TABLES_SIZE, scalable);
    qvtd_oracle_set_rtaddr(&r->o, r->v.root | (scalable ? 1ULL << 10 : 0));
    qvtd_enable_qi(&r->v);
    r->top = qvtd_sl_new(&r->v);
    if (scalable) {
        r->pe = qvtd_context_scalable(&r->v, r->dev.devfn, 5, r->top, false);
    } else {
        qvtd_context_legacy(&r->v, r->dev.devfn, 5, r->top);
    }
    qvtd_inv_context_global(&r->v);
    qvtd_inv_iotlb_global(&r->v);
}

/* After a complete invalidation, the host table must be the oracle's */
static void repro_check(Repro *r, const char *when)
{
    g_autoptr(GArray) diff = NULL;
    QVtdDevState st;
    GArray *exp, *host;

    qvtd_oracle_begin(&r->o);
    exp = qvtd_oracle_expected(&r->o, &r->dev, &st);
    host = host_table(r->qts);
    diff = qvtd_maps_diff(exp, host);
    if (diff->len) {
        g_autoptr(GString) out = g_string_new(NULL);

        qvtd_maps_describe(out, exp, "oracle", host, "host", diff, 4);
        g_test_message("%s: host table differs (device %s%s%s)", when,
                       qvtd_mode_str(st.mode), st.reason ? ": " : "",
                       st.reason ?: "");
        g_test_message("%s", out->str);
        g_test_fail();
    }
    g_array_free(exp, true);
    g_array_free(host, true);
}

static void repro_stop(Repro *r)
{
    qvtd_oracle_destroy(&r->o);
    g_array_free(r->dev.identity, true);
    qiov_stop(r->d);
}

/*
 * aw-shrink: the device's table goes from 4 levels (48-bit) to 3 (39-bit).
 * vtd_page_walk() clamps the walk to the new limit, so the shadow keeps
 * what was mapped above 2^39 and so does the host.
 */
static void test_repro_aw_shrink(void)
{
    Repro r;
    uint64_t top3, ce;

    repro_start(&r, false);
    qvtd_sl_map(&r.v, r.top, 0x8000000000ULL, DATA, PG, QVTD_PAGE_4K, SL_RW);
    qvtd_sl_map(&r.v, r.top, 0x1000, DATA + PG, PG, QVTD_PAGE_4K, SL_RW);
    qvtd_set_translation(&r.v, true);
    repro_check(&r, "4 levels");
    r.v.levels = 3;
    top3 = qvtd_sl_new(&r.v);
    qvtd_sl_map(&r.v, top3, 0x1000, DATA + PG, PG, QVTD_PAGE_4K, SL_RW);
    ce = (qtest_readq(r.qts, r.v.root) & ADDR_MASK) + 16 * r.dev.devfn;
    qtest_writeq(r.qts, ce + 8, 1 | (5 << 8));          /* AW=1: 39-bit */
    qtest_writeq(r.qts, ce, top3 | 1);
    qvtd_inv_context_device(&r.v, 5, r.dev.devfn);
    qvtd_inv_iotlb_domain(&r.v, 5);
    repro_check(&r, "3 levels after context-cache and IOTLB invalidation");
    repro_stop(&r);
}

/*
 * mmio-table: a directory entry points at MMIO (ioasid-vfio's BAR0).
 * vtd_get_pte() reads tables with dma_memory_read(), which reads device
 * registers: the ID register 0x494f4131 becomes a read-only leaf.
 */
static void test_repro_mmio_table(void)
{
    Repro r;
    uint64_t bar;

    repro_start(&r, false);
    bar = qpci_config_readl(r.d->dev, PCI_BASE_ADDRESS_0) & ~0xfULL;
    qvtd_sl_map(&r.v, r.top, 0x80000000, DATA, PG, QVTD_PAGE_4K, SL_RW);
    qvtd_set_translation(&r.v, true);
    qtest_writeq(r.qts, qvtd_sl_entry_addr(&r.v, r.top, 0x80200000, 2),
                 bar | SL_RW);
    qvtd_inv_iotlb_page(&r.v, 5, 0x80200000, 9);
    repro_check(&r, "a directory entry into BAR0");
    repro_stop(&r);
}

/*
 * psi-unaligned: a page-selective invalidation whose address is not
 * aligned to 2^AM pages covers the aligned range (VT-d 3.x 6.5.2.3);
 * vtd_iotlb_page_invalidate_notify() walks [addr, addr + size) instead.
 */
static void test_repro_psi_unaligned(void)
{
    Repro r;

    repro_start(&r, false);
    qvtd_sl_map(&r.v, r.top, 0x80000000, DATA, 2 * PG, QVTD_PAGE_4K,
                SL_RW);
    qvtd_set_translation(&r.v, true);
    qvtd_sl_map(&r.v, r.top, 0x80000000, DATA + 16 * PG, 2 * PG,
                QVTD_PAGE_4K, SL_RW);
    qvtd_inv_iotlb_page(&r.v, 5, 0x80001000, 1);    /* 0x80000000-0x80001fff */
    repro_check(&r, "PSI 0x80001000 AM 1");
    repro_stop(&r);
}

/*
 * strict-pasid-rsvd: reserved bits of a PASID entry (bits 11:10, 86:80)
 * or of a PASID directory entry (bits 11:2) must fault (VT-d 3.x 9.5,
 * 9.6); vtd_get_pe_in_pasid_leaf_table() and vtd_get_pdire_from_pdir_table()
 * do not check them, so the mappings stay.
 */
static void test_repro_pasid_reserved(void)
{
    Repro r;
    uint64_t ce, dir;

    repro_start(&r, true);
    qvtd_sl_map(&r.v, r.top, 0x80000000, DATA, PG, QVTD_PAGE_4K, SL_RW);
    qvtd_set_translation(&r.v, true);
    qtest_writeq(r.qts, r.pe + 8, qtest_readq(r.qts, r.pe + 8) | (1 << 16));
    qvtd_inv_pasid_cache(&r.v, 5, false);
    repro_check(&r, "PASID entry bit 80 set");
    qtest_writeq(r.qts, r.pe + 8, qtest_readq(r.qts, r.pe + 8) & ~(1 << 16));
    qvtd_inv_pasid_cache(&r.v, 5, false);
    ce = (qtest_readq(r.qts, r.v.root) & ADDR_MASK) + 32 * r.dev.devfn;
    dir = qtest_readq(r.qts, ce) & ADDR_MASK;
    qtest_writeq(r.qts, dir, qtest_readq(r.qts, dir) | (1 << 2));
    qvtd_inv_pasid_cache(&r.v, 5, false);
    repro_check(&r, "PASID directory entry bit 2 set");
    repro_stop(&r);
}

/*
 * strict-pdts: RID_PASID 8192 needs directory entry 128, beyond the 128
 * entries PDTS=0 gives the directory (VT-d 3.x 9.4); QEMU never checks
 * PDTS and translates through entry 128.
 */
static void test_repro_pdts(void)
{
    Repro r;
    uint64_t ce, dir;

    repro_start(&r, true);
    qvtd_sl_map(&r.v, r.top, 0x80000000, DATA, PG, QVTD_PAGE_4K, SL_RW);
    qvtd_set_translation(&r.v, true);
    ce = (qtest_readq(r.qts, r.v.root) & ADDR_MASK) + 32 * r.dev.devfn;
    dir = qtest_readq(r.qts, ce) & ADDR_MASK;
    qtest_writeq(r.qts, dir + 8 * 128, qtest_readq(r.qts, dir));
    qtest_writeq(r.qts, ce + 8, 128 << 6);              /* RID_PASID 8192 */
    qvtd_inv_context_device(&r.v, 5, r.dev.devfn);
    qvtd_inv_iotlb_domain(&r.v, 5);
    repro_check(&r, "RID_PASID beyond PDTS");
    repro_stop(&r);
}

static const Case cases[] = {
    {
        .name = "legacy", .sc = true, .qi_toggle = true, .ndev = 1,
        .slot = { 4 }, .host_can_block = true, .platform_nosnoop = true,
        .steps = 600,
    }, {
        .name = "legacy-nosc", .qi = true, .ndev = 2, .slot = { 4, 5 },
        .devopts = { NULL, "nosnoop=deny" }, .ctxopts = "enforce-snoop=off",
        .host_can_block = true, .platform_nosnoop = true, .steps = 400,
    }, {
        .name = "scalable", .scalable = true, .scalable_cap = true,
        .sc = true, .qi = true, .ndev = 1, .slot = { 4 },
        .host_can_block = true, .platform_nosnoop = true, .steps = 600,
    }, {
        .name = "scalable-nosc", .scalable = true, .scalable_cap = true,
        .qi = true, .ndev = 1, .slot = { 4 },
        .ctxopts = "host-snoop-control=off,platform-nosnoop=off",
        .host_can_block = false, .platform_nosnoop = false, .steps = 400,
    }, {
        .name = "two-devices-shared-domain", .sc = true, .qi = true,
        .shared = true, .ndev = 2, .slot = { 4, 5 }, .host_can_block = true,
        .platform_nosnoop = true, .steps = 500,
    }, {
        .name = "two-devices-separate-domains", .scalable = true,
        .scalable_cap = true, .sc = true, .qi = true, .ndev = 2,
        .slot = { 4, 0x11 }, .host_can_block = true,
        .platform_nosnoop = true, .steps = 500,
    }, {
        .name = "legacy-on-scalable-capable", .scalable_cap = true,
        .qi = true, .ndev = 1, .slot = { 4 }, .host_can_block = true,
        .ctxopts = "enforce-snoop=on",
        .platform_nosnoop = true, .steps = 300,
    }, {
        .name = "first-stage", .scalable = true, .scalable_cap = true,
        .flts = true, .sc = true, .qi = true, .ndev = 1, .slot = { 4 },
        .host_can_block = true, .platform_nosnoop = true, .steps = 600,
    }, {
        .name = "first-stage-nosc", .scalable = true, .scalable_cap = true,
        .flts = true, .qi = true, .ndev = 2, .slot = { 4, 5 },
        .devopts = { NULL, "nosnoop=deny" }, .host_can_block = true,
        .platform_nosnoop = true, .steps = 400,
    }, {
        .name = "first-stage-two-devices-no-fs1gp", .scalable = true,
        .scalable_cap = true, .flts = true, .no_fs1gp = true, .sc = true,
        .qi = true, .ndev = 2, .slot = { 4, 0x11 }, .host_can_block = true,
        .platform_nosnoop = true, .steps = 400,
    }, {
        /* PASID-granular: each PASID its own requester and IOASID */
        .name = "pasid-second-stage", .scalable = true, .scalable_cap = true,
        .sc = true, .qi = true, .pasid_mode = true, .npasid = 2, .ndev = 2,
        .slot = { 4, 5 }, .host_can_block = true, .platform_nosnoop = true,
        .steps = 500,
    }, {
        .name = "pasid-first-stage", .scalable = true, .scalable_cap = true,
        .flts = true, .sc = true, .qi = true, .pasid_mode = true,
        .npasid = 3, .ndev = 1, .slot = { 4 }, .host_can_block = true,
        .platform_nosnoop = true, .steps = 500,
    }, {
        .name = "pasid-first-stage-nosc", .scalable = true,
        .scalable_cap = true, .flts = true, .qi = true, .pasid_mode = true,
        .npasid = 2, .ndev = 1, .slot = { 4 }, .host_can_block = true,
        .platform_nosnoop = true, .steps = 300,
    }, {
        /* one more PASID than the device may have in use */
        .name = "pasid-limit", .scalable = true, .scalable_cap = true,
        .sc = true, .qi = true, .pasid_mode = true, .shared = true,
        .npasid = IOASID_VFIO_MAX_PASIDS + 2, .pretouch = 64, .ndev = 1,
        .slot = { 4 }, .host_can_block = true, .platform_nosnoop = true,
        .steps = 200,
    },
};

int main(int argc, char **argv)
{
    unsigned i;

    g_test_init(&argc, &argv, NULL);
    /* the oracle itself first, on cases known by hand */
    qtest_add_func("/ioasid-vfio/vtd-oracle/units", test_oracle_units);
    qtest_add_func("/ioasid-vfio/vtd-oracle/known/legacy",
                   test_oracle_known_legacy);
    qtest_add_func("/ioasid-vfio/vtd-oracle/known/scalable",
                   test_oracle_known_scalable);
    qtest_add_func("/ioasid-vfio/vtd-oracle/known/first-stage",
                   test_oracle_known_first_stage);
    /* the bugs it found, one by one, as regression tests */
    qtest_add_func("/ioasid-vfio/random-found/aw-shrink",
                   test_repro_aw_shrink);
    qtest_add_func("/ioasid-vfio/random-found/mmio-table",
                   test_repro_mmio_table);
    qtest_add_func("/ioasid-vfio/random-found/psi-unaligned",
                   test_repro_psi_unaligned);
    qtest_add_func("/ioasid-vfio/random-found/strict-pasid-rsvd",
                   test_repro_pasid_reserved);
    qtest_add_func("/ioasid-vfio/random-found/strict-pdts",
                   test_repro_pdts);
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        g_autofree char *path = g_strdup_printf("/ioasid-vfio/random/%s",
                                                cases[i].name);

        qtest_add_data_func(path, &cases[i], test_case);
    }
    return g_test_run();
}
