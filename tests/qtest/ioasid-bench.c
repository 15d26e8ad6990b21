/*
 * Benchmark of the snoop relay and the device's DMA path (make bench)
 *
 * Prints ratios measured in one run, never bare times:
 *  - host calls per guest leaf when the guest maps contiguous pages with
 *    equal flags in one invalidation (coalescing), and with alternating SNP
 *    (where nothing may be merged);
 *  - host table entries per guest leaf after each;
 *  - the cost of an SNP flip of a whole range (host calls per leaf);
 *  - the cost of a DMA copy through a relayed table of 4 KiB mappings
 *    relative to the same copy through one identity mapping (the
 *    per-segment cost of translating through the host table);
 *  - the cost per guest leaf of a vIOMMU replay (GCMD.TE on: the relay's
 *    notifiers register and intel-iommu replays the guest tables) and of a
 *    domain-selective IOTLB invalidation of an unchanged table (every leaf
 *    walked again, found identical, no host call), at 64 Ki and 256 Ki
 *    leaves relative to 4 Ki, with equal flags and with alternating SNP;
 *  - QEMU's memory per shadowed guest leaf and per host mapping;
 *  - requests with PASID: a DMA copy through a PASID's IOASID relative to
 *    the same copy without PASID, through tables of the same shape, and
 *    QEMU's memory per PASID in use (vIOMMU address space, IOASID, relay);
 *  - the strict cache model: a 64 KiB no-snoop copy relative to the same
 *    copy under cache-model=coherent, a snooped copy under strict, and
 *    the model's memory: lines held and bytes per pending line, at two
 *    guest RAM sizes.
 *
 * Costs are CPU time of QEMU's main thread (/proc/PID/schedstat), the
 * minimum of several repetitions, so that a loaded machine changes little.
 *
 * scripts/bench.sh (make bench) adds a guest-level figure: the DMA API's
 * map/unmap loop in a Linux guest, ioasid-vfio relative to edu.
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
#include "qobject/qstring.h"
#include "qemu/bswap.h"
#include "qemu/units.h"
#include "standard-headers/linux/pci_regs.h"

#define SLOT        4
#define DEV_PATH    "/machine/peripheral/dev0"
#define DID         3
#define PAGES       4096                    /* 16 MiB of guest mappings */
#define IOVA        0x80000000ULL
#define GPA         0x04000000ULL
#define PG          4096ULL
#define COPIES      200
#define COPY_ROUNDS 3

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

/*
 * CPU time of QEMU's main thread, which runs every qtest command, in
 * microseconds: unlike wall time, it does not count the round trips of
 * the qtest protocol or the time other processes of a loaded machine
 * take.  Read while QEMU waits for the next command, so it is up to date.
 */
static gint64 qemu_cpu_us(QTestState *qts)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/schedstat",
                                            (int)qtest_pid(qts));
    g_autofree char *text = NULL;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return g_ascii_strtoull(text, NULL, 10) / 1000;
}

/*
 * Map @leaves 4 KiB leaves (a multiple of 512) IOVA @iova + i * 4K -> GPA
 * @gpa + i * 4K, with leaf bits @even on even leaves and @odd on odd ones.
 * Each leaf table is written whole into a new page: a qtest write per PTE
 * would take minutes for large tables.
 */
static void write_table_leaves(QVTD *v, uint64_t top, bool fs, uint64_t iova,
                               uint64_t gpa, unsigned leaves, uint64_t even,
                               uint64_t odd)
{
    uint64_t pte[512];
    unsigned i, j;

    for (i = 0; i < leaves; i += 512) {
        uint64_t pde = fs ? qvtd_fs_entry_addr(v, top, iova + i * PG, 2)
                          : qvtd_sl_entry_addr(v, top, iova + i * PG, 2);
        uint64_t table = qvtd_alloc_page(v);

        for (j = 0; j < 512; j++) {
            unsigned k = i + j;

            pte[j] = cpu_to_le64((gpa + k * PG) | (k & 1 ? odd : even));
        }
        qtest_memwrite(v->qts, table, pte, sizeof(pte));
        qtest_writeq(v->qts, pde, table | (fs ? QVTD_FS_DIR : QVTD_SL_RW));
    }
}

/* The same in a second-level table */
static void write_leaves(QVTD *v, uint64_t top, uint64_t iova, uint64_t gpa,
                         unsigned leaves, uint64_t even, uint64_t odd)
{
    write_table_leaves(v, top, false, iova, gpa, leaves, even, odd);
}

/*
 * CPU time of QEMU (microseconds) for a 1 MiB copy of the device between
 * two IOVAs: the minimum over COPIES copies
 */
static double copy_time(QIoasidVfio *d, uint64_t src, uint64_t dst)
{
    gint64 start, best = G_MAXINT64;
    int i;

    /* once untimed: the host faults the guest pages in */
    g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_COPY, src, dst,
                             IOASID_VFIO_MAX_LEN, true), ==,
                    IOASID_VFIO_STATUS_DONE);
    for (i = 0; i < COPIES; i++) {
        start = qemu_cpu_us(d->qts);
        g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_COPY, src, dst,
                                 IOASID_VFIO_MAX_LEN, true), ==,
                        IOASID_VFIO_STATUS_DONE);
        best = MIN(best, qemu_cpu_us(d->qts) - start);
    }
    return best;
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
    double t_identity, t_relayed, t_split;
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
    t_split = copy_time(d, IOVA, IOVA + 2 * IOASID_VFIO_MAX_LEN);

    /*
     * The three copies again, twice, keeping each one's minimum: a
     * machine busy elsewhere can make memory copies twice as slow for
     * most of a second.
     */
    for (i = 1; i < COPY_ROUNDS; i++) {
        qvtd_set_translation(&v, false);
        t_identity = MIN(t_identity,
                         copy_time(d, GPA, GPA + 2 * IOASID_VFIO_MAX_LEN));
        write_leaves(&v, top, IOVA, GPA, PAGES, QVTD_SL_RW, QVTD_SL_RW);
        qvtd_set_translation(&v, true);
        g_assert_cmpuint(entries(qts), ==, e_equal);
        t_relayed = MIN(t_relayed,
                        copy_time(d, IOVA, IOVA + 2 * IOASID_VFIO_MAX_LEN));
        write_leaves(&v, top, IOVA, GPA, PAGES, QVTD_SL_RW,
                     QVTD_SL_RW | QVTD_SL_SNP);
        qvtd_inv_iotlb_domain(&v, DID);
        g_assert_cmpuint(entries(qts), ==, e_alt);
        t_split = MIN(t_split,
                      copy_time(d, IOVA, IOVA + 2 * IOASID_VFIO_MAX_LEN));
    }
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
    g_assert_cmpuint(c_equal, >=, 1);
    g_assert_cmpuint(c_alt, >=, PAGES);
    qiov_stop(d);
}

/* ---- replay and invalidation cost as the guest's table grows ---- */

/*
 * Guest tables of up to 256 Ki 4 KiB leaves: IOVA SCALE_IOVA + i * 4K maps
 * GPA SCALE_DATA + i * 4K, so the targets are contiguous over the whole
 * range (1 GiB at 1 GiB, inside -m 2G) and equal flags really coalesce
 * into one host mapping.  512 leaf tables (2 MiB) for 256 Ki leaves.  The
 * host's max-mappings (65535 by default) and the vIOMMU's shadow bound
 * are raised above the largest table.
 */
#define SCALE_MEM_GB    2
#define SCALE_IOVA      0x100000000ULL      /* 4 GiB, 1 GiB aligned */
#define SCALE_DATA      0x40000000ULL
#define SCALE_TABLES    0x10000000ULL
#define SCALE_TABLES_SZ 0x01000000ULL       /* 16 MiB of VT-d tables */
#define SCALE_LIMIT     1048576             /* max-mappings, shadow bound */
#define SCALE_REPS      5
/*
 * Between repetitions: a machine busy elsewhere can make QEMU twice as slow
 * for most of a second, so the repetitions of a short measurement are
 * spread over time; each is preceded by the same operation, not timed, so
 * that it does not find the caches cold after the pause.
 */
#define SCALE_PAUSE_US  100000
#define SCALE_SIZES     3

static const unsigned scale_leaves[SCALE_SIZES] = { 4096, 65536, 262144 };

typedef struct ScaleRun {
    unsigned leaves;
    bool alternate;             /* SNP on every other leaf */
    gint64 replay_us;           /* minimum of the repetitions, microseconds */
    gint64 inv_us;
    uint64_t replay_calls;      /* host calls of one replay */
    uint64_t inv_calls;         /* host calls of a pass's invalidations */
    uint64_t mappings;          /* host mappings with the leaves mapped */
    int64_t rss_delta;          /* VmRSS growth when they were mapped */
} ScaleRun;

/* The device's IOASID: its counters, without its mapping list */
static void scale_counters(QTestState *qts, uint64_t *calls,
                           uint64_t *mappings)
{
    QDict *resp = qtest_qmp(qts, "{ 'execute': 'query-ioasid', 'arguments':"
                            " { 'id': 'ioasid-default', 'count': 1 } }");
    QList *ctxs = qdict_get_qlist(resp, "return");
    QDict *ctx;
    QListEntry *e;
    bool found = false;

    g_assert(ctxs && qlist_size(ctxs) == 1);
    ctx = qobject_to(QDict, qlist_peek(ctxs));
    QLIST_FOREACH_ENTRY(qdict_get_qlist(ctx, "ioasids"), e) {
        QDict *s = qobject_to(QDict, qlist_entry_obj(e));
        QList *devs = qdict_get_qlist(s, "devices");

        if (qlist_size(devs) != 1 ||
            strcmp(qstring_get_str(qobject_to(QString, qlist_peek(devs))),
                   DEV_PATH)) {
            continue;
        }
        /* no failed host call, none refused */
        g_assert_cmpuint(qdict_get_u64(s, "failed-calls"), ==, 0);
        g_assert_cmpuint(qdict_get_u64(s, "quota-refused"), ==, 0);
        *calls = qdict_get_u64(s, "map-calls") +
                 qdict_get_u64(s, "unmap-calls");
        *mappings = qdict_get_u64(s, "mapping-count");
        found = true;
    }
    g_assert_true(found);
    qobject_unref(resp);
}

/* The value of "@key:" (in kB) in a /proc file's @text, in bytes */
static int64_t proc_kb(const char *text, const char *key)
{
    const char *p = strstr(text, key);

    g_assert(p);
    return g_ascii_strtoll(p + strlen(key), NULL, 10) * 1024;
}

/*
 * Resident memory of the QEMU process, in bytes: VmRSS less the resident
 * part of guest RAM (the mapping of SCALE_MEM_GB GiB in smaps), which the
 * host backs with transparent huge pages, 2 MiB at a time, whenever
 * khugepaged comes by.
 */
static int64_t qemu_rss(QTestState *qts)
{
    g_autofree char *status = g_strdup_printf("/proc/%d/status",
                                              (int)qtest_pid(qts));
    g_autofree char *smaps = g_strdup_printf("/proc/%d/smaps",
                                             (int)qtest_pid(qts));
    g_autofree char *text = NULL, *maps = NULL;
    int64_t rss, ram = -1;
    const char *p;

    g_assert_true(g_file_get_contents(status, &text, NULL, NULL));
    rss = proc_kb(text, "VmRSS:");
    g_assert_true(g_file_get_contents(smaps, &maps, NULL, NULL));
    for (p = strstr(maps, "\nSize:"); p; p = strstr(p + 1, "\nSize:")) {
        if (proc_kb(p, "Size:") == SCALE_MEM_GB * GiB) {
            g_assert_cmpint(ram, ==, -1);
            ram = proc_kb(p, "Rss:");
        }
    }
    g_assert_cmpint(ram, >=, 0);
    return rss - ram;
}

/* A q35 with the vIOMMU set up for the device, an empty table, TE off */
static QIoasidVfio *scale_start(QVTD *v, uint64_t *top)
{
    g_autofree char *args = g_strdup_printf(
        "-M q35 -m %dG -nodefaults "
        "-object ioasid,id=ioasid-default,max-mappings=%d "
        "-device intel-iommu,snoop-control=on,caching-mode=on,"
        "shadow-max-leaves=%d "
        "-device ioasid-vfio,id=dev0,addr=%02x.0",
        SCALE_MEM_GB, SCALE_LIMIT, SCALE_LIMIT, SLOT);
    QIoasidVfio *d = qiov_start(args, SLOT);

    qvtd_init(v, d->qts, SCALE_TABLES, SCALE_TABLES_SZ, false);
    qvtd_enable_qi(v);
    *top = qvtd_sl_new(v);
    qvtd_context_legacy(v, SLOT << 3, DID, *top);
    qvtd_inv_context_global(v);
    qvtd_inv_iotlb_global(v);
    return d;
}

/*
 * What does not depend on the leaves: a replay and an invalidation with an
 * empty table, in a QEMU of its own (each GCMD.TE rebuilds flat views,
 * freed later by RCU, which would blur the memory figures of the others).
 * Lowers *@replay_us and *@inv_us to the minimum times.
 */
static void scale_baseline(gint64 *replay_us, gint64 *inv_us)
{
    QVTD v;
    uint64_t top;
    QIoasidVfio *d = scale_start(&v, &top);
    QTestState *qts = d->qts;
    gint64 t;
    int i;

    for (i = 0; i < SCALE_REPS; i++) {
        g_usleep(SCALE_PAUSE_US);
        qvtd_set_translation(&v, true);
        qvtd_set_translation(&v, false);
        t = qemu_cpu_us(qts);
        qvtd_set_translation(&v, true);
        *replay_us = MIN(*replay_us, qemu_cpu_us(qts) - t);
        qvtd_inv_iotlb_domain(&v, DID);
        t = qemu_cpu_us(qts);
        qvtd_inv_iotlb_domain(&v, DID);
        *inv_us = MIN(*inv_us, qemu_cpu_us(qts) - t);
        qvtd_set_translation(&v, false);
    }
    qiov_stop(d);
}

/*
 * One QEMU for @r's table: lowers r->replay_us and r->inv_us to the
 * minimum times; the memory figure is taken in the @first pass.
 */
static void scale_run(ScaleRun *r, bool first)
{
    QVTD v;
    uint64_t top;
    QIoasidVfio *d = scale_start(&v, &top);
    QTestState *qts = d->qts;
    uint64_t before, after, mappings;
    int64_t rss;
    gint64 t;
    int i;

    /*
     * The leaves appear while translation is on: one invalidation creates
     * the shadow and the host mappings; no address space changes meanwhile.
     */
    qvtd_set_translation(&v, true);
    write_leaves(&v, top, SCALE_IOVA, SCALE_DATA, r->leaves,
                 QVTD_SL_RW | (r->alternate ? 0 : QVTD_SL_SNP),
                 QVTD_SL_RW | QVTD_SL_SNP);
    scale_counters(qts, &before, &mappings);
    rss = qemu_rss(qts);
    qvtd_inv_iotlb_domain(&v, DID);
    if (first) {
        r->rss_delta = qemu_rss(qts) - rss;
    }
    scale_counters(qts, &after, &r->mappings);
    /* equal flags: one host mapping; alternating SNP: one per leaf */
    g_assert_cmpuint(r->mappings, ==, r->alternate ? r->leaves : 1);

    /* Replays: translation off (not timed), then on */
    for (i = 0; i < SCALE_REPS; i++) {
        g_usleep(SCALE_PAUSE_US);
        qvtd_set_translation(&v, false);
        scale_counters(qts, &before, &mappings);
        g_assert_cmpuint(mappings, <, 16);      /* guest RAM, identity */
        t = qemu_cpu_us(qts);
        qvtd_set_translation(&v, true);
        r->replay_us = MIN(r->replay_us, qemu_cpu_us(qts) - t);
        scale_counters(qts, &after, &mappings);
        g_assert_cmpuint(mappings, ==, r->mappings);
        r->replay_calls = after - before;
    }

    /* Domain-selective invalidations of the unchanged table */
    before = after;
    for (i = 0; i < SCALE_REPS; i++) {
        g_usleep(SCALE_PAUSE_US);
        qvtd_inv_iotlb_domain(&v, DID);
        t = qemu_cpu_us(qts);
        qvtd_inv_iotlb_domain(&v, DID);
        r->inv_us = MIN(r->inv_us, qemu_cpu_us(qts) - t);
    }
    scale_counters(qts, &after, &mappings);
    r->inv_calls = after - before;
    /* every leaf walked again and found identical: nothing for the host */
    g_assert_cmpuint(r->inv_calls, ==, 0);
    g_assert_cmpuint(mappings, ==, r->mappings);
    qiov_stop(d);
}

/* Cost per leaf: what the leaves add to the cost with an empty table */
static double per_leaf(gint64 t, gint64 t0, unsigned leaves)
{
    return (double)(t - t0) / leaves;
}

/* One line of the table: a label and a value per size, then @extra */
static void scale_row(const char *label, int decimals, const double *val,
                      int n, const char *extra)
{
    int s;

    printf("    %-38s", label);
    for (s = 0; s < n; s++) {
        printf(" %9.*f", decimals, val[s]);
    }
    printf("%s\n", extra);
}

/*
 * The cost per guest leaf of a replay and of a domain invalidation must
 * stay flat as the table grows: the ratios to 4 Ki leaves should be near
 * 1.  Some growth is expected: intel-iommu looks every leaf up in its
 * shadow, a balanced tree (GTree), and the relay and the host insert into
 * interval trees, so the cost per leaf grows with log N (18/12 = 1.5 from
 * 4 Ki to 256 Ki) and with cache misses once the trees outgrow the caches:
 * about 1.1 to 1.9 at 256 Ki, the most for invalidations with alternating
 * SNP, whose shadow nodes lie among the host mappings' nodes.  A
 * regression is a ratio above 2.5, and certainly one that grows like the
 * table, about 16 at 64 Ki and 64 at 256 Ki: some step then does work
 * proportional to the table for every leaf (quadratic in all).
 */
#define SCALE_FLAT_MAX          2.5
/*
 * A first-stage walk reads the same number of entries per leaf as a
 * second-level one, and a leaf costs the same downstream: more than
 * this is a regression of the first-stage walk
 */
#define STAGE_RATIO_MAX         1.5
/* Memory bounds: the shadow is documented at about 100 bytes per leaf */
#define SCALE_SHADOW_MAX        128
#define SCALE_HOST_MAX          128

static void bench_scale(void)
{
    static const char *const mode[2] = {
        "equal flags (coalesced)",
        "alternating SNP (one host mapping per leaf)",
    };
    ScaleRun runs[2][SCALE_SIZES];
    double val[SCALE_SIZES + 1], worst = 0, mem[2];
    gint64 replay0_us = G_MAXINT64, inv0_us = G_MAXINT64;
    int a, s, i;

    /*
     * Two passes, the second in the reverse order, and the baseline before,
     * between and after them: a neighbour that loads the machine's memory
     * for a while slows the large tables (their trees miss the caches)
     * much more than the small ones, and would look like a regression.
     */
    for (a = 0; a < 2; a++) {
        for (s = 0; s < SCALE_SIZES; s++) {
            runs[a][s] = (ScaleRun) {
                .leaves = scale_leaves[s], .alternate = a,
                .replay_us = G_MAXINT64, .inv_us = G_MAXINT64,
            };
        }
    }
    scale_baseline(&replay0_us, &inv0_us);
    for (i = 0; i < 2 * SCALE_SIZES; i++) {
        scale_run(&runs[i / SCALE_SIZES][i % SCALE_SIZES], true);
    }
    scale_baseline(&replay0_us, &inv0_us);
    for (i = 2 * SCALE_SIZES - 1; i >= 0; i--) {
        scale_run(&runs[i / SCALE_SIZES][i % SCALE_SIZES], false);
    }
    scale_baseline(&replay0_us, &inv0_us);

    printf("ioasid-bench: per guest leaf, a vIOMMU replay (GCMD.TE on) and "
           "a domain-selective\nIOTLB invalidation of an unchanged table\n");
    printf("  q35 -m %dG, intel-iommu snoop-control=on caching-mode=on "
           "shadow-max-leaves=%d,\n  legacy mode, queued invalidation, "
           "-object ioasid max-mappings=%d;\n  4 KiB leaves IOVA 0x%" PRIx64
           " + i * 4K -> GPA 0x%" PRIx64 " + i * 4K (contiguous);\n"
           "  cost: CPU time of QEMU's main thread, minimum of 2 x %d "
           "repetitions (two\n  passes, a fresh QEMU per column, mode and "
           "pass), minus the same operation\n  on an empty table\n",
           SCALE_MEM_GB, SCALE_LIMIT, SCALE_LIMIT, (uint64_t)SCALE_IOVA,
           (uint64_t)SCALE_DATA, SCALE_REPS);
    printf("    %-38s %9s %9s %9s\n", "guest leaves", "4 Ki", "64 Ki",
           "256 Ki");
    for (a = 0; a < 2; a++) {
        ScaleRun *r = runs[a];

        printf("  %s\n", mode[a]);
        for (s = 0; s < SCALE_SIZES; s++) {
            val[s] = (double)r[s].replay_calls / r[s].leaves;
        }
        scale_row("replay: host calls per leaf", 5, val, SCALE_SIZES, "");
        for (s = 0; s < SCALE_SIZES; s++) {
            val[s] = r[s].mappings;
        }
        scale_row("replay: host mappings", 0, val, SCALE_SIZES, "");
        for (s = 0; s < SCALE_SIZES; s++) {
            val[s] = per_leaf(r[s].replay_us, replay0_us, r[s].leaves) /
                     per_leaf(r[0].replay_us, replay0_us, r[0].leaves);
            worst = MAX(worst, val[s]);
        }
        scale_row("replay: cost per leaf / at 4 Ki", 2, val, SCALE_SIZES,
                  "   (flat)");
        for (s = 0; s < SCALE_SIZES; s++) {
            val[s] = r[s].inv_calls;
        }
        scale_row("invalidation: host calls", 0, val, SCALE_SIZES, "");
        for (s = 0; s < SCALE_SIZES; s++) {
            val[s] = per_leaf(r[s].inv_us, inv0_us, r[s].leaves) /
                     per_leaf(r[0].inv_us, inv0_us, r[0].leaves);
            worst = MAX(worst, val[s]);
        }
        scale_row("invalidation: cost per leaf / at 4 Ki", 2, val,
                  SCALE_SIZES, "   (flat)");
        for (s = 0; s < SCALE_SIZES; s++) {
            val[s] = per_leaf(r[s].inv_us, inv0_us, r[s].leaves) /
                     per_leaf(r[s].replay_us, replay0_us, r[s].leaves);
        }
        scale_row("invalidation / replay", 2, val, SCALE_SIZES, "");
    }
    printf("  alternating SNP / equal flags, cost per leaf\n");
    for (s = 0; s < SCALE_SIZES; s++) {
        val[s] = per_leaf(runs[1][s].replay_us, replay0_us, scale_leaves[s]) /
                 per_leaf(runs[0][s].replay_us, replay0_us, scale_leaves[s]);
    }
    scale_row("replay", 2, val, SCALE_SIZES, "");
    for (s = 0; s < SCALE_SIZES; s++) {
        val[s] = per_leaf(runs[1][s].inv_us, inv0_us, scale_leaves[s]) /
                 per_leaf(runs[0][s].inv_us, inv0_us, scale_leaves[s]);
    }
    scale_row("invalidation", 2, val, SCALE_SIZES, "");

    /*
     * Memory: VmRSS growth when one invalidation maps the leaves, per leaf.
     * The smaller tables partly fit in free heap QEMU already has, so the
     * figure is the slope from 64 Ki to 256 Ki leaves (last column).
     */
    printf("  QEMU memory, bytes per leaf: growth of VmRSS (guest RAM aside) "
           "when the leaves\n  are first mapped\n    %-38s %9s %9s %9s %9s\n",
           "guest leaves", "4 Ki", "64 Ki", "256 Ki", "slope");
    for (a = 0; a < 2; a++) {
        for (s = 0; s < SCALE_SIZES; s++) {
            val[s] = (double)runs[a][s].rss_delta / scale_leaves[s];
        }
        mem[a] = val[SCALE_SIZES] =
            (double)(runs[a][2].rss_delta - runs[a][1].rss_delta) /
            (scale_leaves[2] - scale_leaves[1]);
        scale_row(a ? "leaf with its own host mapping" :
                  "shadowed leaf (equal flags)", 0, val, SCALE_SIZES + 1,
                  "");
    }
    for (s = 0; s <= SCALE_SIZES; s++) {
        double leaf = (double)runs[1][MIN(s, 2)].rss_delta /
                      runs[1][MIN(s, 2)].leaves;
        double shadow = (double)runs[0][MIN(s, 2)].rss_delta /
                        runs[0][MIN(s, 2)].leaves;

        val[s] = s < SCALE_SIZES ? leaf - shadow : mem[1] - mem[0];
    }
    scale_row("host mapping (the difference)", 0, val, SCALE_SIZES + 1, "");
    printf("  targets: cost per leaf flat (every ratio above < %.1f): %s; "
           "memory (slope)\n  per shadowed leaf <= %d: %s, per host "
           "mapping <= %d: %s\n", SCALE_FLAT_MAX,
           worst < SCALE_FLAT_MAX ? "ok" : "MISSED", SCALE_SHADOW_MAX,
           mem[0] <= SCALE_SHADOW_MAX ? "ok" : "MISSED", SCALE_HOST_MAX,
           mem[1] - mem[0] <= SCALE_HOST_MAX ? "ok" : "MISSED");
}

/* ---- first-stage against second-stage tables ---- */

/*
 * The same measurement in scalable mode, for first-stage tables (x-flts=on,
 * the mode Linux picks there) and second-level ones: a replay, and the
 * PASID-selective PASID-based IOTLB invalidation Linux issues for a
 * domain attached to a PASID, of an unchanged table of equal leaves.  The
 * two walks differ in the entry format and the canonical halves only, so
 * their cost per leaf should be close, and flat in the table's size.
 */
typedef struct StageRun {
    unsigned leaves;
    bool fs;
    gint64 replay_us;
    gint64 inv_us;
} StageRun;

static QIoasidVfio *stage_start(QVTD *v, uint64_t *top, bool fs)
{
    g_autofree char *args = g_strdup_printf(
        "-M q35 -m %dG -nodefaults "
        "-object ioasid,id=ioasid-default,max-mappings=%d "
        "-device intel-iommu,snoop-control=on,caching-mode=on,"
        "x-scalable-mode=on%s,shadow-max-leaves=%d "
        "-device ioasid-vfio,id=dev0,addr=%02x.0",
        SCALE_MEM_GB, SCALE_LIMIT, fs ? ",x-flts=on" : "", SCALE_LIMIT, SLOT);
    QIoasidVfio *d = qiov_start(args, SLOT);

    qvtd_init(v, d->qts, SCALE_TABLES, SCALE_TABLES_SZ, true);
    qvtd_enable_qi(v);
    if (fs) {
        *top = qvtd_fs_new(v);
        qvtd_context_scalable_fs(v, SLOT << 3, DID, *top, false);
    } else {
        *top = qvtd_sl_new(v);
        qvtd_context_scalable(v, SLOT << 3, DID, *top, false);
    }
    qvtd_inv_context_global(v);
    qvtd_inv_pasid_cache(v, 0, true);
    qvtd_inv_iotlb_global(v);
    return d;
}

/* Lowers r->replay_us and r->inv_us; with no leaves, the baseline */
static void stage_run(StageRun *r)
{
    QVTD v;
    uint64_t top, before, after, mappings;
    QIoasidVfio *d = stage_start(&v, &top, r->fs);
    QTestState *qts = d->qts;
    uint64_t leaf = r->fs ? QVTD_FS_RW_LEAF : QVTD_SL_RW;
    gint64 t;
    int i;

    qvtd_set_translation(&v, true);
    if (r->leaves) {
        write_table_leaves(&v, top, r->fs, SCALE_IOVA, SCALE_DATA, r->leaves,
                           leaf, leaf);
        qvtd_inv_piotlb_pasid(&v, DID, 0);
        scale_counters(qts, &before, &mappings);
        g_assert_cmpuint(mappings, ==, 1);      /* equal flags: coalesced */
    }
    for (i = 0; i < SCALE_REPS; i++) {
        g_usleep(SCALE_PAUSE_US);
        qvtd_set_translation(&v, false);
        t = qemu_cpu_us(qts);
        qvtd_set_translation(&v, true);
        r->replay_us = MIN(r->replay_us, qemu_cpu_us(qts) - t);
    }
    scale_counters(qts, &before, &mappings);
    for (i = 0; i < SCALE_REPS; i++) {
        g_usleep(SCALE_PAUSE_US);
        qvtd_inv_piotlb_pasid(&v, DID, 0);
        t = qemu_cpu_us(qts);
        qvtd_inv_piotlb_pasid(&v, DID, 0);
        r->inv_us = MIN(r->inv_us, qemu_cpu_us(qts) - t);
    }
    scale_counters(qts, &after, &mappings);
    /* every leaf walked again and found identical: nothing for the host */
    g_assert_cmpuint(after - before, ==, 0);
    g_assert_cmpuint(mappings, ==, r->leaves ? 1 : 0);
    qiov_stop(d);
}

static void bench_stages(void)
{
    static const char *const name[2] = { "second-level", "first-stage" };
    StageRun runs[2][SCALE_SIZES], base[2];
    double val[SCALE_SIZES], worst = 0, ratio_worst = 0;
    int f, s, pass;

    for (f = 0; f < 2; f++) {
        base[f] = (StageRun) {
            .fs = f, .replay_us = G_MAXINT64, .inv_us = G_MAXINT64,
        };
        for (s = 0; s < SCALE_SIZES; s++) {
            runs[f][s] = (StageRun) {
                .leaves = scale_leaves[s], .fs = f,
                .replay_us = G_MAXINT64, .inv_us = G_MAXINT64,
            };
        }
    }
    /* two passes, the second reversed, baselines around (see above) */
    for (pass = 0; pass < 2; pass++) {
        for (f = 0; f < 2; f++) {
            stage_run(&base[f]);
        }
        for (s = 0; s < 2 * SCALE_SIZES; s++) {
            int k = pass ? 2 * SCALE_SIZES - 1 - s : s;

            stage_run(&runs[k / SCALE_SIZES][k % SCALE_SIZES]);
        }
    }
    for (f = 0; f < 2; f++) {
        stage_run(&base[f]);
    }

    printf("ioasid-bench: first-stage and second-level tables, per guest "
           "leaf, a replay\n(GCMD.TE on) and a PASID-selective PASID-based "
           "IOTLB invalidation of an\nunchanged table\n");
    printf("  q35 -m %dG, intel-iommu snoop-control=on caching-mode=on "
           "x-scalable-mode=on\n  [x-flts=on], RID_PASID entry PGTT=1 or "
           "2; equal 4 KiB leaves (one host\n  mapping); CPU time of QEMU's "
           "main thread, minimum of 2 x %d, minus an empty\n  table's\n",
           SCALE_MEM_GB, SCALE_REPS);
    printf("    %-38s %9s %9s %9s\n", "guest leaves", "4 Ki", "64 Ki",
           "256 Ki");
    for (f = 1; f >= 0; f--) {
        StageRun *r = runs[f];

        printf("  %s\n", name[f]);
        for (s = 0; s < SCALE_SIZES; s++) {
            val[s] = per_leaf(r[s].replay_us, base[f].replay_us, r[s].leaves);
        }
        scale_row("replay: microseconds per leaf", 3, val, SCALE_SIZES, "");
        for (s = 0; s < SCALE_SIZES; s++) {
            val[s] = per_leaf(r[s].replay_us, base[f].replay_us,
                              r[s].leaves) /
                     per_leaf(r[0].replay_us, base[f].replay_us, r[0].leaves);
            worst = MAX(worst, val[s]);
        }
        scale_row("replay: cost per leaf / at 4 Ki", 2, val, SCALE_SIZES,
                  "   (flat)");
        for (s = 0; s < SCALE_SIZES; s++) {
            val[s] = per_leaf(r[s].inv_us, base[f].inv_us, r[s].leaves) /
                     per_leaf(r[0].inv_us, base[f].inv_us, r[0].leaves);
            worst = MAX(worst, val[s]);
        }
        scale_row("PASID invalidation: per leaf / at 4 Ki", 2, val,
                  SCALE_SIZES, "   (flat)");
    }
    printf("  first-stage / second-level, cost per leaf\n");
    for (s = 0; s < SCALE_SIZES; s++) {
        val[s] = per_leaf(runs[1][s].replay_us, base[1].replay_us,
                          scale_leaves[s]) /
                 per_leaf(runs[0][s].replay_us, base[0].replay_us,
                          scale_leaves[s]);
        ratio_worst = MAX(ratio_worst, val[s]);
    }
    scale_row("replay", 2, val, SCALE_SIZES, "");
    for (s = 0; s < SCALE_SIZES; s++) {
        val[s] = per_leaf(runs[1][s].inv_us, base[1].inv_us,
                          scale_leaves[s]) /
                 per_leaf(runs[0][s].inv_us, base[0].inv_us,
                          scale_leaves[s]);
        ratio_worst = MAX(ratio_worst, val[s]);
    }
    scale_row("PASID invalidation", 2, val, SCALE_SIZES, "");
    printf("  targets: cost per leaf flat (every ratio to 4 Ki < %.1f): %s; "
           "first-stage per\n  leaf at most %.1fx second-level: %s\n",
           SCALE_FLAT_MAX, worst < SCALE_FLAT_MAX ? "ok" : "MISSED",
           STAGE_RATIO_MAX, ratio_worst <= STAGE_RATIO_MAX ? "ok" : "MISSED");
}

/* ---- requests with PASID ---- */

/*
 * A 1 MiB copy through the IOASID of PASID 1 against the same copy
 * through the device's IOASID for requests without PASID, both tables of
 * 4 KiB leaves with alternating SNP (nothing merges: 512 host mappings
 * per copy), interleaved; then the memory of PASIDs in use: QEMU's
 * resident memory with 64 PASIDs attached (each with one mapping) less
 * that with none, per PASID.  Most of that is the FlatView dispatch QEMU
 * builds for every address space (docs/devel/ioasid-relay.rst, bounds).
 */
#define PASID_MEM_GB    2               /* qemu_rss() knows this size */
#define PASID_RATIO_MAX 1.05
#define PASID_MEM_N     64

static void pasid_bench_tables(QVTD *v, uint64_t top)
{
    write_leaves(v, top, IOVA, GPA, 2 * IOASID_VFIO_MAX_LEN / PG,
                 QVTD_SL_RW, QVTD_SL_RW | QVTD_SL_SNP);
}

static void bench_pasid(void)
{
    g_autofree char *args = g_strdup_printf(
        "-M q35 -m %dG -nodefaults -device intel-iommu,snoop-control=on,"
        "caching-mode=on,x-scalable-mode=on,x-pasid-mode=on "
        "-device ioasid-vfio,id=dev0,addr=%02x.0", PASID_MEM_GB, SLOT);
    QIoasidVfio *d = qiov_start(args, SLOT);
    QTestState *qts = d->qts;
    QVTD v;
    uint64_t rid_top, top, pe;
    double t_rid = G_MAXDOUBLE, t_pasid = G_MAXDOUBLE;
    int64_t rss0, rss1;
    unsigned i;

    qvtd_init(&v, qts, 0x10000000, 0x01000000, true);
    qvtd_enable_qi(&v);
    rid_top = qvtd_sl_new(&v);
    qvtd_context_scalable(&v, SLOT << 3, DID, rid_top, false);
    top = qvtd_sl_new(&v);
    pe = qvtd_pasid_entry_addr(&v, SLOT << 3, 1);
    qvtd_pasid_entry_set(&v, pe, QVTD_PE_PGTT_SS, top, DID + 1, false);
    qvtd_inv_context_global(&v);
    qvtd_inv_pasid_cache(&v, 0, true);
    qvtd_inv_iotlb_global(&v);
    pasid_bench_tables(&v, rid_top);
    pasid_bench_tables(&v, top);
    qvtd_set_translation(&v, true);
    qiov_ext_config_writew(d, IOASID_VFIO_PASID_CAP_OFFSET + PCI_PASID_CTRL,
                           PCI_PASID_CTRL_ENABLE);

    for (i = 0; i < 2 * COPY_ROUNDS; i++) {
        qiov_wr32(d, IOASID_VFIO_REG_PASID, 0);
        t_rid = MIN(t_rid, copy_time(d, IOVA, IOVA + IOASID_VFIO_MAX_LEN));
        qiov_wr32(d, IOASID_VFIO_REG_PASID, IOASID_VFIO_PASID_VALID | 1);
        t_pasid = MIN(t_pasid,
                      copy_time(d, IOVA, IOVA + IOASID_VFIO_MAX_LEN));
    }
    /* both went through 4 KiB host mappings */
    g_assert_cmpuint(entries(qts), ==, 2 * IOASID_VFIO_MAX_LEN / PG);

    /* PASIDs 2..65, one page each, brought into use by a request */
    for (i = 2; i < 2 + PASID_MEM_N; i++) {
        uint64_t t = qvtd_sl_new(&v);

        qvtd_sl_map(&v, t, IOVA, GPA, PG, QVTD_PAGE_4K, QVTD_SL_RW);
        qvtd_pasid_entry_set(&v, qvtd_pasid_entry_addr(&v, SLOT << 3, i),
                             QVTD_PE_PGTT_SS, t, DID + i, false);
    }
    qvtd_inv_pasid_cache(&v, 0, true);
    /* tear PASID 1 down first: 64 in use below is the limit */
    qtest_writeq(qts, pe, 0);
    qvtd_inv_pasid_cache(&v, 0, true);
    for (i = 0; i < 10; i++) {
        qtest_clock_step(qts, 1);
    }
    rss0 = qemu_rss(qts);
    for (i = 2; i < 2 + PASID_MEM_N; i++) {
        qiov_wr32(d, IOASID_VFIO_REG_PASID, IOASID_VFIO_PASID_VALID | i);
        g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_FILL, 0, IOVA, 4, false),
                        ==, IOASID_VFIO_STATUS_DONE);
    }
    rss1 = qemu_rss(qts);

    printf("ioasid-bench: requests with PASID (x-pasid-mode=on)\n");
    printf("  1 MiB copy through PASID 1's IOASID / without PASID (4 KiB "
           "entries): %.3f\n", t_pasid / t_rid);
    printf("  memory per PASID in use (vIOMMU address space, IOASID, relay, "
           "one mapping;\n  %d PASIDs): %" PRId64 " bytes\n", PASID_MEM_N,
           (rss1 - rss0) / PASID_MEM_N);
    printf("  bound: %d PASIDs in use per device: %" PRId64 " bytes\n",
           IOASID_VFIO_MAX_PASIDS,
           (rss1 - rss0) / PASID_MEM_N * IOASID_VFIO_MAX_PASIDS);
    printf("  target: copy with PASID / without <= %.2f: %s\n",
           PASID_RATIO_MAX, t_pasid / t_rid <= PASID_RATIO_MAX ? "ok" :
           "MISSED");
    qiov_stop(d);
}

/* ---- the strict cache model ---- */

#define CACHE_COPY      (64 * KiB)
#define CACHE_SRC       0x01000000ULL
#define CACHE_DST       0x02000000ULL
#define CACHE_COPY_MAX  3.0             /* strict / coherent target */

static QIoasidVfio *cache_start(const char *mem, const char *model)
{
    g_autofree char *args = g_strdup_printf(
        "-M q35 -m %s -nodefaults -object ioasid,id=io0,enforce-snoop=off,"
        "cache-model=%s,cache-size=64M -device ioasid-vfio,id=dev0,"
        "addr=%02x.0,ioasid=io0", mem, model, SLOT);

    return qiov_start(args, SLOT);
}

static void cache_wbinvd(QIoasidVfio *d)
{
    qobject_unref(qtest_qmp_assert_success_ref(d->qts,
                  "{'execute': 'x-ioasid-cpu-cache-op', "
                  "'arguments': {'op': 'wbinvd'}}"));
}

static uint64_t cache_u64(QIoasidVfio *d, const char *key)
{
    QDict *rsp = qtest_qmp_assert_success_ref(d->qts,
                     "{'execute': 'query-noncoherent-dma'}");
    uint64_t v = qdict_get_u64(qdict_get_qdict(rsp, "cache"), key);

    qobject_unref(rsp);
    return v;
}

/*
 * CPU time (us) of one 64 KiB copy, minimum over COPIES; under strict
 * the caches are emptied (WBINVD, untimed) before each, so every copy
 * makes its 1024 destination lines pending from scratch.
 */
static double cache_copy_time(QIoasidVfio *d, bool strict, bool nosnoop)
{
    gint64 start, best = G_MAXINT64;
    int i;

    for (i = 0; i <= COPIES; i++) {
        if (strict) {
            cache_wbinvd(d);
        }
        start = qemu_cpu_us(d->qts);
        g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_COPY, CACHE_SRC, CACHE_DST,
                                 CACHE_COPY, nosnoop), ==,
                        IOASID_VFIO_STATUS_DONE);
        if (i) {        /* the first one faults the pages in */
            best = MIN(best, qemu_cpu_us(d->qts) - start);
        }
    }
    return best;
}

/*
 * Lines held after no-snoop writes of @bytes, and the RSS growth they
 * cost if @rss (only at SCALE_MEM_GB, which qemu_rss() knows to discount)
 */
static void cache_memory(const char *mem, uint64_t bytes, uint64_t *lines,
                         int64_t *rss)
{
    QIoasidVfio *d = cache_start(mem, "strict");
    int64_t before = 0;
    uint64_t off;

    qiov_dma(d, IOASID_VFIO_OP_FILL, 0, CACHE_DST, IOASID_VFIO_MAX_LEN, true);
    cache_wbinvd(d);
    if (rss) {
        before = qemu_rss(d->qts);
    }
    for (off = 0; off < bytes; off += IOASID_VFIO_MAX_LEN) {
        g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_FILL, 0, CACHE_DST + off,
                                 IOASID_VFIO_MAX_LEN, true), ==,
                        IOASID_VFIO_STATUS_DONE);
    }
    if (rss) {
        *rss = qemu_rss(d->qts) - before;
    }
    *lines = cache_u64(d, "pending-lines");
    qiov_stop(d);
}

static void bench_cache(void)
{
    g_autofree char *big = g_strdup_printf("%dG", SCALE_MEM_GB);
    double t_coherent, t_strict, t_snooped;
    uint64_t lines_small, lines_big;
    int64_t rss;
    const uint64_t bytes = 16 * MiB;
    QIoasidVfio *d;
    double ratio;

    d = cache_start("512M", "coherent");
    t_coherent = cache_copy_time(d, false, true);
    qiov_stop(d);
    d = cache_start("512M", "strict");
    t_strict = cache_copy_time(d, true, true);
    t_snooped = cache_copy_time(d, true, false);
    qiov_stop(d);

    cache_memory("512M", bytes, &lines_small, NULL);
    cache_memory(big, bytes, &lines_big, &rss);
    ratio = t_strict / MAX(t_coherent, 1);

    printf("ioasid-bench: the strict cache model (64 KiB copies, CPU time, "
           "min of %d)\n", COPIES);
    printf("  no-snoop copy, strict / coherent:               %.2f\n", ratio);
    printf("  snooped copy under strict / no-snoop coherent:  %.2f\n",
           t_snooped / MAX(t_coherent, 1));
    printf("  lines held after %" PRIu64 " MiB of no-snoop writes: %" PRIu64
           " at -m 512M, %" PRIu64 " at -m %s (pending lines, not RAM)\n",
           bytes / MiB, lines_small, lines_big, big);
    printf("  QEMU memory per pending line (VmRSS growth):     %.0f bytes\n",
           (double)rss / MAX(lines_big, 1));
    printf("  targets: strict copy <= %.1fx coherent: %s; lines independent "
           "of RAM size: %s\n", CACHE_COPY_MAX,
           ratio <= CACHE_COPY_MAX ? "ok" : "MISSED",
           lines_small == lines_big && lines_big == bytes / 64 ? "ok"
                                                               : "MISSED");
    g_assert_cmpuint(lines_small, ==, bytes / 64);
    g_assert_cmpuint(lines_big, ==, bytes / 64);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/ioasid-vfio/bench", bench);
    qtest_add_func("/ioasid-vfio/bench-scale", bench_scale);
    qtest_add_func("/ioasid-vfio/bench-stages", bench_stages);
    qtest_add_func("/ioasid-vfio/bench-cache", bench_cache);
    qtest_add_func("/ioasid-vfio/bench-pasid", bench_pasid);
    return g_test_run();
}
