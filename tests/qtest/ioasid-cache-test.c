/*
 * QTest for the strict no-snoop cache model (ioasid cache-model=strict)
 *
 * One case per rule of docs/devel/ioasid-cache-model.rst.  qtest writes
 * to RAM go through the CPU caches (as CPU stores), qtest reads see what
 * the CPU sees, and x-ioasid-cpu-cache-op stands for the instructions.
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "libqos/ioasid-env.h"
#include "qapi/error.h"
#include "qobject/qjson.h"

#define SLOT        4
#define LINE        64
#define SRC         0x01000000ULL
#define DST         0x02000000ULL
#define NLINES      4
#define OLD         0xa5
#define NEW_PATTERN 0x5a5a5a5a

/*
 * A q35 machine with ioasid-vfio dev0 on a strict context io0 and no
 * vIOMMU.  enforce-snoop=off: the identity mappings let no-snoop through,
 * so the device is noncoherent (VM registered) while Enable No Snoop is
 * set.  @ctx replaces enforce-snoop=off, @dev adds device options.
 */
static QIoasidVfio *strict_start(const char *ctx, const char *dev)
{
    g_autofree char *args = g_strdup_printf(
        "-M q35 -m 256M -nodefaults -object ioasid,id=io0,"
        "cache-model=strict,%s -device ioasid-vfio,id=dev0,addr=%02x.0,"
        "ioasid=io0,noncoherent-holdoff-ms=0%s%s",
        ctx ?: "enforce-snoop=off", SLOT, dev ? "," : "", dev ?: "");

    return qiov_start(args, SLOT);
}

static QDict *cache_info(QIoasidVfio *d)
{
    QDict *rsp = qtest_qmp(d->qts, "{'execute': 'query-noncoherent-dma'}");
    QDict *ret = qdict_get_qdict(rsp, "return");
    QDict *cache;

    g_assert_cmpstr(qdict_get_str(ret, "cache-model"), ==, "strict");
    cache = qdict_get_qdict(ret, "cache");
    g_assert(cache);
    qobject_ref(cache);
    qobject_unref(rsp);
    return cache;
}

static uint64_t counter(QIoasidVfio *d, const char *name)
{
    QDict *c = cache_info(d);
    uint64_t v = qdict_get_u64(c, name);

    qobject_unref(c);
    return v;
}

static bool registered(QIoasidVfio *d)
{
    QDict *rsp = qtest_qmp(d->qts, "{'execute': 'query-noncoherent-dma'}");
    bool r = qdict_get_bool(qdict_get_qdict(rsp, "return"), "registered");

    qobject_unref(rsp);
    return r;
}

static void cpu_op(QIoasidVfio *d, const char *op, uint64_t addr)
{
    QDict *rsp = qtest_qmp(d->qts, "{'execute': 'x-ioasid-cpu-cache-op', "
                           "'arguments': {'op': %s, 'addr': %" PRIu64 "}}",
                           op, addr);

    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
}

static void cpu_op_all(QIoasidVfio *d, const char *op)
{
    QDict *rsp = qtest_qmp(d->qts, "{'execute': 'x-ioasid-cpu-cache-op', "
                           "'arguments': {'op': %s}}", op);

    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
}

/* CPU stores @val over [addr, addr + len) */
static void cpu_store(QIoasidVfio *d, uint64_t addr, uint8_t val, size_t len)
{
    g_autofree uint8_t *buf = g_malloc(len);

    memset(buf, val, len);
    qtest_memwrite(d->qts, addr, buf, len);
}

/* What the CPU reads at line @addr is all @val */
static bool line_is(QIoasidVfio *d, uint64_t addr, uint8_t val)
{
    uint8_t buf[LINE];
    int i;

    qtest_memread(d->qts, addr, buf, LINE);
    for (i = 0; i < LINE; i++) {
        if (buf[i] != val) {
            return false;
        }
    }
    return true;
}

/* A no-snoop FILL of @nlines lines at @dst with NEW_PATTERN */
static void nosnoop_fill(QIoasidVfio *d, uint64_t dst, int nlines)
{
    qiov_wr32(d, IOASID_VFIO_REG_PATTERN, NEW_PATTERN);
    g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_FILL, 0, dst, nlines * LINE,
                             true), ==, IOASID_VFIO_STATUS_DONE);
}

/* Lines the CPU stored to and wrote back: memory and the CPU agree */
static void clean_lines(QIoasidVfio *d, uint64_t addr, uint8_t val, int n)
{
    int i;

    cpu_store(d, addr, val, n * LINE);
    for (i = 0; i < n; i++) {
        cpu_op(d, "clflush", addr + i * LINE);
    }
}

/* ---- rules ---- */

/* The default is coherent, bit for bit: no-snoop writes are seen at once. */
static void test_coherent_default(void)
{
    QIoasidVfio *d = qiov_start("-M q35 -m 256M -nodefaults -object "
                                "ioasid,id=io0,enforce-snoop=off -device "
                                "ioasid-vfio,id=dev0,addr=04.0,ioasid=io0",
                                SLOT);
    QDict *rsp;

    cpu_store(d, DST, OLD, NLINES * LINE);
    nosnoop_fill(d, DST, NLINES);
    g_assert_true(line_is(d, DST, 0x5a));
    g_assert_cmpuint(qiov_rd64(d, IOASID_VFIO_REG_NOSNOOP_BYTES), ==,
                     NLINES * LINE);
    rsp = qtest_qmp(d->qts, "{'execute': 'query-noncoherent-dma'}");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(rsp, "return"),
                                  "cache-model"), ==, "coherent");
    g_assert_false(qdict_haskey(qdict_get_qdict(rsp, "return"), "cache"));
    qobject_unref(rsp);
    rsp = qtest_qmp(d->qts, "{'execute': 'x-ioasid-cpu-cache-op', "
                    "'arguments': {'op': 'wbinvd'}}");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(rsp, "error"), "desc"), ==,
                    "no cache model: no ioasid context has "
                    "cache-model=strict");
    qobject_unref(rsp);
    qiov_stop(d);
}

/*
 * A no-snoop write reaches memory, not the CPU: the CPU reads the old
 * line until CLFLUSH or CLFLUSHOPT of that line; CLWB does not help.
 */
static void test_nosnoop_write_stale_until_flush(void)
{
    QIoasidVfio *d = strict_start(NULL, NULL);

    clean_lines(d, DST, OLD, NLINES);
    nosnoop_fill(d, DST, NLINES);
    g_assert_cmpuint(counter(d, "pending-lines"), ==, NLINES);
    g_assert_true(line_is(d, DST, OLD));
    g_assert_true(line_is(d, DST + 3 * LINE, OLD));

    cpu_op(d, "clflush", DST + 5);          /* any byte names the line */
    g_assert_true(line_is(d, DST, 0x5a));
    g_assert_true(line_is(d, DST + LINE, OLD));
    cpu_op(d, "clflushopt", DST + LINE);
    g_assert_true(line_is(d, DST + LINE, 0x5a));
    cpu_op(d, "clwb", DST + 2 * LINE);
    g_assert_true(line_is(d, DST + 2 * LINE, OLD));
    g_assert_cmpuint(counter(d, "pending-lines"), ==, 2);
    g_assert_cmpuint(counter(d, "clflush"), ==, NLINES + 1);
    g_assert_cmpuint(counter(d, "clflushopt"), ==, 1);
    g_assert_cmpuint(counter(d, "clwb"), ==, 1);
    g_assert_cmpuint(counter(d, "lost-writes"), ==, 0);
    qiov_stop(d);
}

/* The CPU wrote the line after the device: its dirty copy wins a flush. */
static void test_cpu_store_after_device_loses_its_data(void)
{
    QIoasidVfio *d = strict_start(NULL, NULL);
    uint8_t b;

    clean_lines(d, DST, OLD, 2);
    nosnoop_fill(d, DST, 2);
    qtest_writeb(d->qts, DST + 1, 0x11);    /* into the stale copy */
    cpu_op(d, "clflush", DST);
    b = qtest_readb(d->qts, DST);
    g_assert_cmphex(b, ==, OLD);
    g_assert_cmphex(qtest_readb(d->qts, DST + 1), ==, 0x11);
    g_assert_cmpuint(counter(d, "lost-writes"), ==, 1);
    /* the other line was not touched by the CPU: the device's data shows */
    cpu_op(d, "clflush", DST + LINE);
    g_assert_true(line_is(d, DST + LINE, 0x5a));
    g_assert_cmpuint(counter(d, "lost-writes"), ==, 1);
    /* CLWB writes a dirty line back: the device's data is lost the same */
    nosnoop_fill(d, DST, 1);
    qtest_writeb(d->qts, DST, 0x22);
    cpu_op(d, "clwb", DST);
    g_assert_cmpuint(counter(d, "lost-writes"), ==, 2);
    g_assert_cmpuint(counter(d, "pending-lines"), ==, 0);
    qiov_stop(d);
}

/*
 * A no-snoop read sees memory: CPU stores not written back are not seen,
 * and counted; after CLWB (or CLFLUSH) they are.
 */
static void test_nosnoop_read_misses_unwritten_stores(void)
{
    QIoasidVfio *d = strict_start(NULL, NULL);

    clean_lines(d, SRC, OLD, NLINES);
    clean_lines(d, DST, 0, NLINES);
    cpu_store(d, SRC, 0x77, NLINES * LINE);     /* dirty, not written back */
    g_assert_cmpuint(counter(d, "dirty-lines"), ==, NLINES);
    g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_COPY, SRC, DST, NLINES * LINE,
                             true), ==, IOASID_VFIO_STATUS_DONE);
    g_assert_cmpuint(counter(d, "stale-reads"), ==, NLINES);
    cpu_op(d, "clflush", DST);
    g_assert_true(line_is(d, DST, OLD));        /* memory's old SRC */

    cpu_op(d, "clwb", SRC);
    cpu_op(d, "clflush", SRC + LINE);
    g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_COPY, SRC, DST, 2 * LINE,
                             true), ==, IOASID_VFIO_STATUS_DONE);
    g_assert_cmpuint(counter(d, "stale-reads"), ==, NLINES);
    cpu_op(d, "clflush", DST);
    cpu_op(d, "clflush", DST + LINE);
    g_assert_true(line_is(d, DST, 0x77));
    g_assert_true(line_is(d, DST + LINE, 0x77));
    qiov_stop(d);
}

/* Snooped DMA stays coherent, whichever of the conditions makes it so. */
static void check_snooped(QIoasidVfio *d, bool nosnoop_cmd)
{
    uint64_t ns = qiov_rd64(d, IOASID_VFIO_REG_NOSNOOP_BYTES);

    clean_lines(d, DST, OLD, NLINES);
    cpu_store(d, SRC, 0x33, NLINES * LINE);     /* dirty in the CPU */
    g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_COPY, SRC, DST, NLINES * LINE,
                             nosnoop_cmd), ==, IOASID_VFIO_STATUS_DONE);
    g_assert_true(line_is(d, DST, 0x33));       /* seen at once, fresh */
    g_assert_true(line_is(d, DST + 3 * LINE, 0x33));
    g_assert_cmpuint(qiov_rd64(d, IOASID_VFIO_REG_NOSNOOP_BYTES), ==, ns);
    g_assert_cmpuint(counter(d, "stale-reads"), ==, 0);
    g_assert_cmpuint(counter(d, "pending-lines"), ==, 0);
}

static void test_snooped_stays_coherent(void)
{
    QIoasidVfio *d;

    /* NOSNOOP not requested */
    d = strict_start(NULL, NULL);
    check_snooped(d, false);
    /* a snooped write over a pending line replaces it for good */
    nosnoop_fill(d, DST, 1);
    g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_COPY, SRC, DST, LINE, false),
                    ==, IOASID_VFIO_STATUS_DONE);
    g_assert_true(line_is(d, DST, 0x33));
    cpu_op(d, "clflush", DST);
    g_assert_true(line_is(d, DST, 0x33));
    g_assert_cmpuint(counter(d, "pending-lines"), ==, 0);
    /* Enable No Snoop clear */
    qiov_set_nosnoop_enable(d, false);
    check_snooped(d, true);
    qiov_stop(d);
    /* the platform ignores no-snoop */
    d = strict_start("enforce-snoop=off,platform-nosnoop=off", NULL);
    check_snooped(d, true);
    g_assert_cmpuint(counter(d, "watched-ranges"), ==, 0);
    qiov_stop(d);
    /* the host mapping blocks no-snoop (auto, no guest page table) */
    d = strict_start("enforce-snoop=auto", NULL);
    check_snooped(d, true);
    g_assert_cmpuint(counter(d, "watched-ranges"), ==, 0);
    qiov_stop(d);
}

/* WBINVD and INVD are honoured while the VM is registered noncoherent. */
static void test_wbinvd_honoured_when_registered(void)
{
    QIoasidVfio *d = strict_start(NULL, NULL);

    g_assert_true(registered(d));
    clean_lines(d, DST, OLD, NLINES);
    nosnoop_fill(d, DST, NLINES);
    cpu_op_all(d, "wbinvd");
    g_assert_true(line_is(d, DST, 0x5a));
    g_assert_true(line_is(d, DST + 3 * LINE, 0x5a));
    g_assert_cmpuint(counter(d, "wbinvd-honoured"), ==, 1);
    g_assert_cmpuint(counter(d, "lines"), ==, 0);

    clean_lines(d, DST, OLD, NLINES);
    nosnoop_fill(d, DST, NLINES);
    cpu_op_all(d, "invd");
    g_assert_true(line_is(d, DST, 0x5a));
    g_assert_cmpuint(counter(d, "invd-honoured"), ==, 1);
    qiov_stop(d);
}

/*
 * Otherwise they do nothing, as under KVM: a "coherent" decision while
 * no-snoop data is pending shows up as stale data after WBINVD.
 */
static void test_wbinvd_ignored_when_not_registered(void)
{
    QIoasidVfio *d = strict_start(NULL, NULL);

    clean_lines(d, DST, OLD, NLINES);
    nosnoop_fill(d, DST, NLINES);
    qiov_set_nosnoop_enable(d, false);      /* hold-off 0: coherent now */
    g_assert_false(registered(d));
    cpu_op_all(d, "wbinvd");
    cpu_op_all(d, "invd");
    g_assert_true(line_is(d, DST, OLD));
    g_assert_cmpuint(counter(d, "wbinvd-ignored"), ==, 1);
    g_assert_cmpuint(counter(d, "invd-ignored"), ==, 1);
    g_assert_cmpuint(counter(d, "wbinvd-honoured"), ==, 0);
    g_assert_cmpuint(counter(d, "pending-lines"), ==, NLINES);
    /* CLFLUSH is always honoured */
    cpu_op(d, "clflush", DST);
    g_assert_true(line_is(d, DST, 0x5a));
    qiov_stop(d);
}

/*
 * The host cleans the caches before it maps memory so that no-snoop
 * passes and before it unmaps it: pending device data becomes visible
 * when the mapping goes, and the flushes are counted.
 */
static void test_host_flushes_at_map_and_unmap(void)
{
    QIoasidEnv e;
    uint64_t flushes, bytes;

    qie_start(&e, NULL, ",snoop-control=off",
              "-object ioasid,id=ioasid-default,cache-model=strict", NULL,
              false, true);
    flushes = counter(e.d, "host-flushes");
    bytes = counter(e.d, "host-flush-bytes");
    g_assert_cmpuint(counter(e.d, "watched-ranges"), ==, 0);
    qie_map_live(&e, 1, QVTD_SL_RW);
    g_assert_cmpuint(counter(e.d, "host-flushes"), ==, flushes + 1);
    g_assert_cmpuint(counter(e.d, "host-flush-bytes"), ==, bytes + QIE_PG);
    g_assert_cmpuint(counter(e.d, "watched-ranges"), ==, 1);

    clean_lines(e.d, QIE_GPA, OLD, 1);
    nosnoop_fill(e.d, QIE_IOVA, 1);
    g_assert_true(line_is(e.d, QIE_GPA, OLD));

    qtest_writeq(e.d->qts, qvtd_sl_pte_addr(&e.v, e.top, QIE_IOVA,
                                            QVTD_PAGE_4K), 0);
    qie_inv_page(&e, QIE_IOVA);
    qie_assert_unmapped(&e, QIE_IOVA);
    g_assert_cmpuint(counter(e.d, "host-flushes"), ==, flushes + 2);
    g_assert_cmpuint(counter(e.d, "watched-ranges"), ==, 0);
    g_assert_true(line_is(e.d, QIE_GPA, 0x5a));
    g_assert_cmpuint(counter(e.d, "pending-lines"), ==, 0);

    /* a blocked mapping (SNP=1 under snoop-control) is not flushed */
    qie_stop(&e);
    qie_start(&e, NULL, ",snoop-control=on",
              "-object ioasid,id=ioasid-default,cache-model=strict", NULL,
              false, true);
    flushes = counter(e.d, "host-flushes");
    qie_map_live(&e, 1, QVTD_SL_RW | QVTD_SL_SNP);
    g_assert_cmpuint(counter(e.d, "host-flushes"), ==, flushes);
    g_assert_cmpuint(counter(e.d, "watched-ranges"), ==, 0);
    qie_stop(&e);
}

/*
 * The guest changes what a guest-physical address is (here PAM turns
 * 0xc0000 from pc.rom into RAM) between the map and the unmap: what the
 * mapping watched still goes with it, so nothing piles up.
 */
static void test_unmap_after_memory_map_change(void)
{
    QIoasidEnv e;
    QPCIDevice *host_bridge;
    int i;

    qie_start(&e, NULL, ",snoop-control=off",
              "-object ioasid,id=ioasid-default,cache-model=strict", NULL,
              false, true);
    host_bridge = qpci_device_find(e.d->bus, 0);
    for (i = 0; i < 3; i++) {
        qpci_config_writeb(host_bridge, 0x91, i & 1 ? 0x00 : 0x33); /* PAM1 */
        qvtd_sl_map(&e.v, e.top, QIE_IOVA, 0xc0000, QIE_PG, QVTD_PAGE_4K,
                    QVTD_SL_RW);
        qvtd_set_translation(&e.v, true);
        qie_inv_page(&e, QIE_IOVA);
        g_assert_cmpuint(counter(e.d, "watched-ranges"), ==, 1);
        qpci_config_writeb(host_bridge, 0x91, i & 1 ? 0x33 : 0x00);
        qtest_writeq(e.d->qts, qvtd_sl_pte_addr(&e.v, e.top, QIE_IOVA,
                                                QVTD_PAGE_4K), 0);
        qie_inv_page(&e, QIE_IOVA);
        qie_assert_unmapped(&e, QIE_IOVA);
        g_assert_cmpuint(counter(e.d, "watched-ranges"), ==, 0);
    }
    g_free(host_bridge);
    qie_stop(&e);
}

/* CPU stores to pages no-snoop cannot reach are not tracked at all. */
static void test_unwatched_pages_hold_nothing(void)
{
    QIoasidEnv e;

    qie_start(&e, NULL, ",snoop-control=off",
              "-object ioasid,id=ioasid-default,cache-model=strict", NULL,
              false, true);
    qie_map_live(&e, 1, QVTD_SL_RW);
    cpu_store(e.d, QIE_GPA + QIE_PG, 0x44, 16 * LINE);   /* next page */
    g_assert_cmpuint(counter(e.d, "dirty-lines"), ==, 0);
    cpu_store(e.d, QIE_GPA, 0x44, 16 * LINE);            /* mapped page */
    g_assert_cmpuint(counter(e.d, "dirty-lines"), ==, 16);
    /* a store across the end of the mapped page: only its lines count */
    cpu_store(e.d, QIE_GPA + QIE_PG - 2 * LINE, 0x45, 4 * LINE);
    g_assert_cmpuint(counter(e.d, "dirty-lines"), ==, 18);
    /* once unmapped, the page is not watched any more */
    cpu_op_all(e.d, "wbinvd");
    qtest_writeq(e.d->qts, qvtd_sl_pte_addr(&e.v, e.top, QIE_IOVA,
                                            QVTD_PAGE_4K), 0);
    qie_inv_page(&e, QIE_IOVA);
    qie_assert_unmapped(&e, QIE_IOVA);
    cpu_store(e.d, QIE_GPA, 0x46, 16 * LINE);
    g_assert_cmpuint(counter(e.d, "lines"), ==, 0);
    qie_stop(&e);
}

/* The model holds at most cache-size bytes of lines: it evicts the oldest. */
static void test_capacity_bounds_memory(void)
{
    QIoasidVfio *d = strict_start("enforce-snoop=off,cache-size=4096", NULL);
    QDict *c;

    nosnoop_fill(d, DST, 1024);                 /* 64 KiB */
    c = cache_info(d);
    g_assert_cmpuint(qdict_get_u64(c, "cache-size"), ==, 4096);
    g_assert_cmpuint(qdict_get_u64(c, "lines"), ==, 4096 / LINE);
    g_assert_cmpuint(qdict_get_u64(c, "evictions"), ==, 1024 - 4096 / LINE);
    qobject_unref(c);
    /* an evicted clean line was invalidated: the CPU sees memory */
    g_assert_true(line_is(d, DST, 0x5a));
    g_assert_true(line_is(d, DST + 1023 * LINE, 0));
    qiov_stop(d);
}

static void test_reset_counters(void)
{
    QIoasidVfio *d = strict_start(NULL, NULL);
    g_autofree char *hmp = NULL;
    QDict *rsp;

    nosnoop_fill(d, DST, 2);
    cpu_op(d, "clflush", DST);
    rsp = qtest_qmp(d->qts, "{'execute': "
                    "'ioasid-cache-model-reset-counters'}");
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    g_assert_cmpuint(counter(d, "clflush"), ==, 0);
    g_assert_cmpuint(counter(d, "host-flushes"), ==, 0);
    g_assert_cmpuint(counter(d, "pending-lines"), ==, 1);  /* state stays */
    hmp = qtest_hmp(d->qts, "info noncoherent-dma");
    g_assert_nonnull(strstr(hmp, "cache model: strict"));
    g_assert_nonnull(strstr(hmp, "(1 pending device writes the CPU does "
                            "not see, 0 dirty CPU lines)"));
    qiov_stop(d);
}

/* x-ioasid-cpu-cache-op with @args fails, saying @needle */
static void expect_op_error(QIoasidVfio *d, const char *needle,
                            const char *args)
{
    QDict *rsp = qtest_qmp(d->qts, "{'execute': 'x-ioasid-cpu-cache-op', "
                           "'arguments': %p}", qobject_from_json(args,
                                                                 &error_abort));
    const char *desc;

    g_assert(qdict_haskey(rsp, "error"));
    desc = qdict_get_str(qdict_get_qdict(rsp, "error"), "desc");
    g_assert_nonnull(strstr(desc, needle));
    qobject_unref(rsp);
}

static void test_errors(void)
{
    QIoasidVfio *d = strict_start(NULL, NULL);

    expect_op_error(d, "give no 'addr'", "{'op': 'wbinvd', 'addr': 0}");
    expect_op_error(d, "needs the 'addr'", "{'op': 'clflush'}");
    expect_op_error(d, "is not RAM", "{'op': 'clwb', 'addr': 4276092928}");
    qiov_stop(d);

    qiov_expect_startup_error("-object ioasid,id=a,"
                              "cache-model=strict -object ioasid,id=b",
                              "ioasid 'b' has cache-model=coherent",
                              "ioasid 'a' has cache-model=strict");
    qiov_expect_startup_error("-object ioasid,id=a,"
                              "cache-model=strict -device ioasid-vfio",
                              "ioasid 'ioasid-default' has "
                              "cache-model=coherent",
                              "ioasid 'a' has cache-model=strict");
    qiov_expect_startup_error("-object ioasid,id=a,"
                              "cache-model=strict,cache-size=64",
                              "ioasid 'a': cache-size must be at least",
                              "4096");
    qiov_expect_startup_error("-object ioasid,id=a,"
                              "cache-model=sloppy", "cache-model",
                              "sloppy");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/ioasid-cache/coherent-default", test_coherent_default);
    qtest_add_func("/ioasid-cache/nosnoop-write-stale-until-flush",
                   test_nosnoop_write_stale_until_flush);
    qtest_add_func("/ioasid-cache/cpu-store-after-device-loses-its-data",
                   test_cpu_store_after_device_loses_its_data);
    qtest_add_func("/ioasid-cache/nosnoop-read-misses-unwritten-stores",
                   test_nosnoop_read_misses_unwritten_stores);
    qtest_add_func("/ioasid-cache/snooped-stays-coherent",
                   test_snooped_stays_coherent);
    qtest_add_func("/ioasid-cache/wbinvd-honoured-when-registered",
                   test_wbinvd_honoured_when_registered);
    qtest_add_func("/ioasid-cache/wbinvd-ignored-when-not-registered",
                   test_wbinvd_ignored_when_not_registered);
    qtest_add_func("/ioasid-cache/host-flushes-at-map-and-unmap",
                   test_host_flushes_at_map_and_unmap);
    qtest_add_func("/ioasid-cache/unmap-after-memory-map-change",
                   test_unmap_after_memory_map_change);
    qtest_add_func("/ioasid-cache/unwatched-pages-hold-nothing",
                   test_unwatched_pages_hold_nothing);
    qtest_add_func("/ioasid-cache/capacity-bounds-memory",
                   test_capacity_bounds_memory);
    qtest_add_func("/ioasid-cache/reset-counters", test_reset_counters);
    qtest_add_func("/ioasid-cache/errors", test_errors);
    return g_test_run();
}
