/*
 * QTest for ioasid-vfio and the ioasid host context object
 *
 * Drives the device's DMA engine the way a guest driver would and checks
 * the user-visible contract: registers (docs/specs/ioasid-vfio.rst), guest
 * memory, NOSNOOP_BYTES, and the host mapping table through query-ioasid.
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "libqos/ioasid-vfio.h"
#include "qobject/qlist.h"
#include "hw/pci/pci_regs.h"

#define RAM_SIZE        (512 * 1024 * 1024ULL)
#define DEV_SLOT        4
/* ICH9 ACPI memory hotplug registers (hw/acpi/memory_hotplug.c) */
#define ACPI_MEMORY_HOTPLUG_BASE 0x0a00
#define SRC_ADDR        0x01000000ULL
#define DST_ADDR        0x02000000ULL

/* Start a q35 machine with ioasid-vfio (id dev0) in slot 4; @extra first. */
static QIoasidVfio *dev_start(const char *extra, const char *devopts)
{
    g_autofree char *args = g_strdup_printf(
        "-M q35 -m 512M -nodefaults %s -device ioasid-vfio,id=dev0,"
        "addr=%02x.0%s%s", extra ?: "", DEV_SLOT, devopts ? "," : "",
        devopts ?: "");

    return qiov_start(args, DEV_SLOT);
}

static uint64_t nosnoop_bytes(QIoasidVfio *d)
{
    return qiov_rd64(d, IOASID_VFIO_REG_NOSNOOP_BYTES);
}

static void fill_guest(QIoasidVfio *d, uint64_t addr, size_t len, uint8_t seed)
{
    g_autofree uint8_t *buf = g_malloc(len);
    size_t i;

    for (i = 0; i < len; i++) {
        buf[i] = seed + i * 7;
    }
    qtest_memwrite(d->qts, addr, buf, len);
}

/* ---- introspection ---- */

static void test_introspect(void)
{
    QIoasidVfio *d = dev_start("-object ioasid,id=ctx0,platform-nosnoop=off "
                               "-device ioasid-vfio,id=dev1,ioasid=ctx0", NULL);
    QDict *ctx, *space;
    QList *ioasids;

    g_assert_true(qtest_qom_get_bool(d->qts, "/objects/ctx0",
                                     "host-snoop-control"));
    g_assert_false(qtest_qom_get_bool(d->qts, "/objects/ctx0",
                                      "platform-nosnoop"));

    /* dev1 names ctx0; dev0 names nothing and gets the default context. */
    ctx = qiov_query_context(d->qts, "ctx0");
    g_assert(ctx);
    g_assert_false(qdict_get_bool(ctx, "platform-nosnoop"));
    g_assert_cmpstr(qdict_get_str(ctx, "enforce-snoop"), ==, "auto");
    ioasids = qdict_get_qlist(ctx, "ioasids");
    g_assert_cmpuint(qlist_size(ioasids), ==, 1);
    qobject_unref(ctx);

    ctx = qiov_query_context(d->qts, "ioasid-default");
    g_assert(ctx);
    g_assert_true(qdict_get_bool(ctx, "platform-nosnoop"));
    qobject_unref(ctx);

    space = qiov_query_space(d->qts, "ioasid-default",
                             "/machine/peripheral/dev0");
    g_assert(space);
    g_assert_false(qdict_get_bool(space, "enforce-snoop"));
    g_assert_cmpuint(qdict_get_u64(space, "map-calls"), >, 0);
    qobject_unref(space);
    space = qiov_query_space(d->qts, "ctx0", "/machine/peripheral/dev1");
    g_assert(space);
    qobject_unref(space);

    /* The device exists for the user and documents itself. */
    g_assert_true(qtest_has_device("ioasid-vfio"));
    qiov_stop(d);
}

static void test_hmp_info(void)
{
    QIoasidVfio *d = dev_start(NULL, NULL);
    g_autofree char *out = qtest_hmp(d->qts, "info ioasid");

    g_assert_nonnull(strstr(out, "context ioasid-default (embedded)"));
    g_assert_nonnull(strstr(out, "device /machine/peripheral/dev0"));
    g_assert_nonnull(strstr(out, "block-nosnoop"));
    /* no vIOMMU: the IOASID mirrors guest RAM 1:1 */
    g_assert_nonnull(strstr(out, " quota-refused=0 mirrors=identity"));
    /* the default context's identity map asks for what it gets */
    g_assert_null(strstr(out, "forced"));
    qiov_stop(d);

    /*
     * nosnoop=deny on a context that would not block: the IOASID enforces,
     * so the host blocks what the mappings did not ask to.
     */
    d = dev_start("-object ioasid,id=c,enforce-snoop=off",
                  "ioasid=c,nosnoop=deny");
    g_free(out);
    out = qtest_hmp(d->qts, "info ioasid");
    g_assert_nonnull(strstr(out, " rw block-nosnoop (forced: not asked)"));
    qiov_stop(d);
}

/* ---- PCI and registers ---- */

static void test_pci_ids(void)
{
    QIoasidVfio *d = dev_start(NULL, NULL);

    g_assert_cmphex(qpci_config_readw(d->dev, PCI_VENDOR_ID), ==,
                    IOASID_VFIO_VENDOR_ID);
    g_assert_cmphex(qpci_config_readw(d->dev, PCI_DEVICE_ID), ==,
                    IOASID_VFIO_DEVICE_ID);
    g_assert_cmphex(qpci_config_readb(d->dev, PCI_REVISION_ID), ==,
                    IOASID_VFIO_REVISION);
    g_assert_cmphex(qiov_rd32(d, IOASID_VFIO_REG_ID), ==, IOASID_VFIO_ID_VALUE);
    qiov_stop(d);
}

static void test_devctl_nosnoop(void)
{
    QIoasidVfio *d = dev_start(NULL, NULL);
    uint8_t devctl = d->exp_cap + PCI_EXP_DEVCTL;

    /* PCIe: Enable No Snoop resets to 1, and the guest may clear it. */
    g_assert_true(qpci_config_readw(d->dev, devctl) &
                  PCI_EXP_DEVCTL_NOSNOOP_EN);
    qiov_set_nosnoop_enable(d, false);
    g_assert_false(qpci_config_readw(d->dev, devctl) &
                   PCI_EXP_DEVCTL_NOSNOOP_EN);
    qiov_set_nosnoop_enable(d, true);
    g_assert_true(qpci_config_readw(d->dev, devctl) &
                  PCI_EXP_DEVCTL_NOSNOOP_EN);
    qiov_set_nosnoop_enable(d, false);
    qtest_system_reset(d->qts);
    g_assert_true(qpci_config_readw(d->dev, devctl) &
                  PCI_EXP_DEVCTL_NOSNOOP_EN);
    qiov_stop(d);
}

static void test_regs(void)
{
    QIoasidVfio *d = dev_start(NULL, NULL);

    /* 64-bit registers, whole and as two 32-bit halves */
    qiov_wr64(d, IOASID_VFIO_REG_SRC, 0x1122334455667788ULL);
    g_assert_cmphex(qiov_rd32(d, IOASID_VFIO_REG_SRC), ==, 0x55667788);
    g_assert_cmphex(qiov_rd32(d, IOASID_VFIO_REG_SRC + 4), ==, 0x11223344);
    qiov_wr32(d, IOASID_VFIO_REG_DST, 0xaabbccdd);
    qiov_wr32(d, IOASID_VFIO_REG_DST + 4, 0x01020304);
    g_assert_cmphex(qiov_rd64(d, IOASID_VFIO_REG_DST), ==,
                    0x01020304aabbccddULL);
    qiov_wr32(d, IOASID_VFIO_REG_PATTERN, 0xcafef00d);
    g_assert_cmphex(qiov_rd32(d, IOASID_VFIO_REG_PATTERN), ==, 0xcafef00d);
    qiov_wr32(d, IOASID_VFIO_REG_LEN, 4096);
    g_assert_cmpuint(qiov_rd32(d, IOASID_VFIO_REG_LEN), ==, 4096);

    /* read-only registers ignore writes */
    qiov_wr32(d, IOASID_VFIO_REG_ID, 0);
    g_assert_cmphex(qiov_rd32(d, IOASID_VFIO_REG_ID), ==, IOASID_VFIO_ID_VALUE);
    qiov_wr64(d, IOASID_VFIO_REG_NOSNOOP_BYTES, 1234);
    g_assert_cmpuint(nosnoop_bytes(d), ==, 0);
    qiov_wr64(d, IOASID_VFIO_REG_FAULT_ADDR, 1234);
    g_assert_cmpuint(qiov_rd64(d, IOASID_VFIO_REG_FAULT_ADDR), ==, 0);

    /* START is not stored; DONE and ERROR are write-1-to-clear */
    qiov_wr64(d, IOASID_VFIO_REG_DST, DST_ADDR);
    qiov_wr32(d, IOASID_VFIO_REG_CMD, IOASID_VFIO_CMD_START |
              (IOASID_VFIO_OP_FILL << IOASID_VFIO_CMD_OP_SHIFT));
    g_assert_cmphex(qiov_rd32(d, IOASID_VFIO_REG_CMD), ==,
                    IOASID_VFIO_OP_FILL << IOASID_VFIO_CMD_OP_SHIFT);
    g_assert_cmphex(qiov_rd32(d, IOASID_VFIO_REG_STATUS), ==,
                    IOASID_VFIO_STATUS_DONE);
    qiov_wr32(d, IOASID_VFIO_REG_STATUS, 0);
    g_assert_cmphex(qiov_rd32(d, IOASID_VFIO_REG_STATUS), ==,
                    IOASID_VFIO_STATUS_DONE);
    qiov_wr32(d, IOASID_VFIO_REG_STATUS, IOASID_VFIO_STATUS_DONE);
    g_assert_cmphex(qiov_rd32(d, IOASID_VFIO_REG_STATUS), ==, 0);
    qiov_stop(d);
}

static void test_bad_arguments(void)
{
    QIoasidVfio *d = dev_start(NULL, NULL);
    uint32_t status;

    g_assert_cmpuint(qiov_status_code(qiov_dma(d, IOASID_VFIO_OP_COPY, SRC_ADDR,
                                               DST_ADDR, 0, false)), ==,
                     IOASID_VFIO_ERR_BAD_ARGUMENT);
    g_assert_cmpuint(qiov_status_code(qiov_dma(d, IOASID_VFIO_OP_COPY, SRC_ADDR,
                                         DST_ADDR, IOASID_VFIO_MAX_LEN + 1,
                                               false)), ==,
                     IOASID_VFIO_ERR_BAD_ARGUMENT);
    g_assert_cmpuint(qiov_status_code(qiov_dma(d, 2, SRC_ADDR, DST_ADDR, 16,
                                               false)), ==,
                     IOASID_VFIO_ERR_BAD_ARGUMENT);
    g_assert_cmpuint(qiov_status_code(qiov_dma(d, IOASID_VFIO_OP_FILL, 0,
                                               UINT64_MAX - 7, 16, false)), ==,
                     IOASID_VFIO_ERR_BAD_ARGUMENT);

    /* ERROR is sticky until cleared, and its code goes with it */
    qiov_wr32(d, IOASID_VFIO_REG_LEN, 0);
    qiov_wr32(d, IOASID_VFIO_REG_CMD, IOASID_VFIO_CMD_START);
    status = qiov_rd32(d, IOASID_VFIO_REG_STATUS);
    g_assert_cmphex(status, ==, IOASID_VFIO_STATUS_ERROR |
                    (IOASID_VFIO_ERR_BAD_ARGUMENT <<
                     IOASID_VFIO_STATUS_CODE_SHIFT));
    qiov_wr32(d, IOASID_VFIO_REG_STATUS, IOASID_VFIO_STATUS_ERROR);
    g_assert_cmphex(qiov_rd32(d, IOASID_VFIO_REG_STATUS), ==, 0);

    /* The maximum length is accepted */
    g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_COPY, SRC_ADDR, DST_ADDR,
                             IOASID_VFIO_MAX_LEN, false), ==,
                    IOASID_VFIO_STATUS_DONE);

    /* No DMA without Bus Master Enable */
    qpci_config_writew(d->dev, PCI_COMMAND,
                       qpci_config_readw(d->dev, PCI_COMMAND) &
                       ~PCI_COMMAND_MASTER);
    g_assert_cmpuint(qiov_status_code(qiov_dma(d, IOASID_VFIO_OP_FILL, 0,
                                               DST_ADDR,
                                               16, false)), ==,
                     IOASID_VFIO_ERR_NO_BUS_MASTER);
    qiov_stop(d);
}

/* ---- DMA ---- */

static void test_dma_copy(void)
{
    QIoasidVfio *d = dev_start(NULL, NULL);
    const size_t len = 3 * 4096 + 100;  /* crosses pages, odd tail */
    g_autofree uint8_t *want = g_malloc(len);
    g_autofree uint8_t *got = g_malloc(len + 1);
    uint8_t guard = 0x5a;

    fill_guest(d, SRC_ADDR + 0x123, len, 3);
    qtest_memset(d->qts, DST_ADDR + 0x77, 0, len);
    qtest_memwrite(d->qts, DST_ADDR + 0x77 + len, &guard, 1);
    qtest_memread(d->qts, SRC_ADDR + 0x123, want, len);

    g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_COPY, SRC_ADDR + 0x123,
                             DST_ADDR + 0x77, len, false), ==,
                    IOASID_VFIO_STATUS_DONE);
    qtest_memread(d->qts, DST_ADDR + 0x77, got, len + 1);
    g_assert_cmpmem(got, len, want, len);
    g_assert_cmpuint(got[len], ==, guard);
    qiov_stop(d);
}

/*
 * Function Level Reset (PCIe r6.0 6.6.2): advertised in Device
 * Capabilities; Initiate FLR resets the DMA engine and its counters, so
 * that nothing leaks from one user of the function to the next (VFIO
 * resets it between them), and the bit reads back 0.
 */
static void test_flr(void)
{
    QIoasidVfio *d = dev_start("-object ioasid,id=ctx0,enforce-snoop=off",
                               "ioasid=ctx0");
    uint8_t devcap = d->exp_cap + PCI_EXP_DEVCAP;
    uint8_t devctl = d->exp_cap + PCI_EXP_DEVCTL;

    g_assert_true(qpci_config_readl(d->dev, devcap) & PCI_EXP_DEVCAP_FLR);
    qiov_wr32(d, IOASID_VFIO_REG_PATTERN, 0xdeadbeef);
    g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_FILL, 0, DST_ADDR, 64, true),
                    ==, IOASID_VFIO_STATUS_DONE);
    qiov_wr64(d, IOASID_VFIO_REG_SRC, SRC_ADDR);
    g_assert_cmpuint(nosnoop_bytes(d), ==, 64);
    qiov_set_nosnoop_enable(d, false);

    qpci_config_writew(d->dev, devctl, qpci_config_readw(d->dev, devctl) |
                       PCI_EXP_DEVCTL_BCR_FLR);
    g_assert_false(qpci_config_readw(d->dev, devctl) &
                   PCI_EXP_DEVCTL_BCR_FLR);
    /* the function forgot its user: bus mastering and BARs included */
    g_assert_false(qpci_config_readw(d->dev, PCI_COMMAND) &
                   PCI_COMMAND_MASTER);
    g_assert_true(qpci_config_readw(d->dev, devctl) &
                  PCI_EXP_DEVCTL_NOSNOOP_EN);
    qpci_device_enable(d->dev);
    d->bar = qpci_iomap(d->dev, 0, NULL);
    g_assert_cmpuint(nosnoop_bytes(d), ==, 0);
    g_assert_cmphex(qiov_rd32(d, IOASID_VFIO_REG_PATTERN), ==, 0);
    g_assert_cmphex(qiov_rd64(d, IOASID_VFIO_REG_SRC), ==, 0);
    g_assert_cmphex(qiov_rd32(d, IOASID_VFIO_REG_STATUS), ==, 0);
    g_assert_cmphex(qiov_rd32(d, IOASID_VFIO_REG_ID), ==,
                    IOASID_VFIO_ID_VALUE);
    qiov_stop(d);
}

static void test_dma_fill(void)
{
    QIoasidVfio *d = dev_start(NULL, NULL);
    const uint8_t want[13] = { 0xef, 0xbe, 0xad, 0xde, 0xef, 0xbe, 0xad,
                               0xde, 0xef, 0xbe, 0xad, 0xde, 0xef };
    uint8_t got[14];

    qtest_memset(d->qts, DST_ADDR, 0x11, sizeof(got));
    qiov_wr32(d, IOASID_VFIO_REG_PATTERN, 0xdeadbeef);
    g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_FILL, 0, DST_ADDR,
                             sizeof(want), false), ==,
                    IOASID_VFIO_STATUS_DONE);
    qtest_memread(d->qts, DST_ADDR, got, sizeof(got));
    g_assert_cmpmem(got, sizeof(want), want, sizeof(want));
    g_assert_cmphex(got[13], ==, 0x11);
    qiov_stop(d);
}

static void test_dma_fault(void)
{
    QIoasidVfio *d = dev_start(NULL, NULL);
    uint8_t before[0x800], after[0x800];

    /* Above guest RAM: nothing maps it on the host, so the host faults. */
    g_assert_cmpuint(qiov_status_code(qiov_dma(d, IOASID_VFIO_OP_FILL, 0,
                                         RAM_SIZE + 0x10000, 64, false)), ==,
                     IOASID_VFIO_ERR_NO_MAPPING);
    g_assert_cmphex(qiov_rd64(d, IOASID_VFIO_REG_FAULT_ADDR), ==,
                    RAM_SIZE + 0x10000);

    /* Reading from the MMIO hole faults at the first unmapped byte. */
    g_assert_cmpuint(qiov_status_code(qiov_dma(d, IOASID_VFIO_OP_COPY,
                                         0xfec00000, DST_ADDR, 64, false)),
                     ==, IOASID_VFIO_ERR_NO_MAPPING);
    g_assert_cmphex(qiov_rd64(d, IOASID_VFIO_REG_FAULT_ADDR), ==, 0xfec00000);

    /* A transfer that runs off the end of RAM moves nothing at all. */
    fill_guest(d, RAM_SIZE - sizeof(before), sizeof(before), 9);
    qtest_memread(d->qts, RAM_SIZE - sizeof(before), before, sizeof(before));
    qiov_wr32(d, IOASID_VFIO_REG_PATTERN, 0);
    g_assert_cmpuint(qiov_status_code(qiov_dma(d, IOASID_VFIO_OP_FILL, 0,
                                         RAM_SIZE - sizeof(before), 0x1000,
                                               false)), ==,
                     IOASID_VFIO_ERR_NO_MAPPING);
    g_assert_cmphex(qiov_rd64(d, IOASID_VFIO_REG_FAULT_ADDR), ==, RAM_SIZE);
    qtest_memread(d->qts, RAM_SIZE - sizeof(after), after, sizeof(after));
    g_assert_cmpmem(before, sizeof(before), after, sizeof(after));

    /* The device is still usable afterwards. */
    g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_FILL, 0, DST_ADDR, 64, false),
                    ==, IOASID_VFIO_STATUS_DONE);
    qiov_stop(d);
}

/* ---- NOSNOOP_BYTES over every host and device setting ---- */

typedef struct NosnoopCase {
    bool host_snoop_control;
    bool platform_nosnoop;
    const char *enforce_snoop;
    const char *nosnoop;
} NosnoopCase;

static void test_nosnoop_case(const void *opaque)
{
    const NosnoopCase *c = opaque;
    g_autofree char *obj = g_strdup_printf(
        "-object ioasid,id=ctx0,host-snoop-control=%s,platform-nosnoop=%s,"
        "enforce-snoop=%s", c->host_snoop_control ? "on" : "off",
        c->platform_nosnoop ? "on" : "off", c->enforce_snoop);
    g_autofree char *devopts = g_strdup_printf("ioasid=ctx0,nosnoop=%s",
                                               c->nosnoop);
    QIoasidVfio *d = dev_start(obj, devopts);
    /*
     * The identity map blocks no-snoop where the host can, unless
     * enforce-snoop=off; enforce-snoop=on and nosnoop=deny block all.
     */
    bool blocked = c->host_snoop_control &&
                   (strcmp(c->enforce_snoop, "off") ||
                    !strcmp(c->nosnoop, "deny"));
    const uint32_t len = 2 * 4096;
    int devctl;

    for (devctl = 0; devctl <= 1; devctl++) {
        bool unsnooped = devctl && !blocked && c->platform_nosnoop;
        uint64_t before;

        qiov_set_nosnoop_enable(d, devctl);
        before = nosnoop_bytes(d);

        /* Without the NOSNOOP command bit nothing ever bypasses caches. */
        g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_COPY, SRC_ADDR, DST_ADDR,
                                 len, false), ==, IOASID_VFIO_STATUS_DONE);
        g_assert_cmpuint(nosnoop_bytes(d), ==, before);

        /* A copy reads len bytes and writes len bytes. */
        g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_COPY, SRC_ADDR, DST_ADDR,
                                 len, true), ==, IOASID_VFIO_STATUS_DONE);
        g_assert_cmpuint(nosnoop_bytes(d) - before, ==,
                         unsnooped ? 2 * len : 0);
        before = nosnoop_bytes(d);
        g_assert_cmphex(qiov_dma(d, IOASID_VFIO_OP_FILL, 0, DST_ADDR, len,
                                 true), ==, IOASID_VFIO_STATUS_DONE);
        g_assert_cmpuint(nosnoop_bytes(d) - before, ==,
                         unsnooped ? len : 0);
    }
    qiov_stop(d);
}

static void add_nosnoop_cases(void)
{
    static const char *enforce[] = { "auto", "on", "off" };
    static const char *policy[] = { "auto", "deny" };
    int host, platform, e, p;

    for (host = 0; host <= 1; host++) {
        for (platform = 0; platform <= 1; platform++) {
            for (e = 0; e < ARRAY_SIZE(enforce); e++) {
                for (p = 0; p < ARRAY_SIZE(policy); p++) {
                    NosnoopCase *c;
                    char *path;

                    /* a host without snoop control refuses to enforce */
                    if (!host && (e == 1 || p == 1)) {
                        continue;
                    }
                    c = g_new0(NosnoopCase, 1);
                    c->host_snoop_control = host;
                    c->platform_nosnoop = platform;
                    c->enforce_snoop = enforce[e];
                    c->nosnoop = policy[p];
                    path = g_strdup_printf("/ioasid-vfio/nosnoop-bytes/"
                                           "host-snoop-control=%s/"
                                           "platform-nosnoop=%s/"
                                           "enforce-snoop=%s/nosnoop=%s",
                                           host ? "on" : "off",
                                           platform ? "on" : "off",
                                           enforce[e], policy[p]);
                    qtest_add_data_func_full(path, c, test_nosnoop_case,
                                             g_free);
                    g_free(path);
                }
            }
        }
    }
}

/* ---- the identity map in query-ioasid ---- */

static void check_identity_map(const char *enforce, bool host,
                               bool want_block, bool want_enforce)
{
    g_autofree char *obj = g_strdup_printf(
        "-object ioasid,id=ctx0,host-snoop-control=%s,enforce-snoop=%s",
                                           host ? "on" : "off", enforce);
    QIoasidVfio *d = dev_start(obj, "ioasid=ctx0");
    QDict *space = qiov_query_space(d->qts, "ctx0", "/machine/peripheral/dev0");
    QListEntry *e;
    QList *att;
    QDict *a;
    uint64_t covered = 0, next = 0x100000;

    g_assert(space);
    g_assert_cmpint(qdict_get_bool(space, "enforce-snoop"), ==, want_enforce);
    /* one attachment: the device's requests without PASID */
    att = qdict_get_qlist(space, "attachments");
    g_assert_cmpint(qlist_size(att), ==, 1);
    a = qobject_to(QDict, qlist_peek(att));
    g_assert_cmpstr(qdict_get_str(a, "device"), ==, "/machine/peripheral/dev0");
    g_assert_false(qdict_haskey(a, "pasid"));
    QLIST_FOREACH_ENTRY(qdict_get_qlist(space, "mappings"), e) {
        QDict *m = qobject_to(QDict, qlist_entry_obj(e));
        uint64_t iova = qdict_get_u64(m, "iova");
        uint64_t size = qdict_get_u64(m, "size");

        /* identity, page aligned, flags as configured */
        g_assert_cmphex(qdict_get_u64(m, "addr"), ==, iova);
        g_assert_cmphex(iova & 0xfff, ==, 0);
        g_assert_cmphex(size & 0xfff, ==, 0);
        g_assert_true(qdict_get_bool(m, "read"));
        g_assert_cmpint(qdict_get_bool(m, "block-nosnoop"), ==, want_block);
        /*
         * what was asked: the applied flag, unless the IOASID forces it;
         * then nothing (identity maps ask BLOCK_NOSNOOP under auto only)
         */
        g_assert_cmpint(qdict_get_bool(m, "requested-block-nosnoop"), ==,
                        (want_enforce ? false : want_block));
        if (iova >= RAM_SIZE) {
            /* only the BIOS ROM below 4 GiB, read-only */
            g_assert_cmphex(iova, >=, 0xfffc0000);
            g_assert_cmphex(iova + size, <=, 0x100000000ULL);
            g_assert_false(qdict_get_bool(m, "write"));
            continue;
        }
        g_assert_cmphex(iova + size, <=, RAM_SIZE);
        /* all of RAM above 1 MiB is mapped, writable, without gaps */
        if (iova + size > next && iova <= next) {
            g_assert_true(qdict_get_bool(m, "write"));
            next = iova + size;
        }
        covered += size;
    }
    g_assert_cmphex(next, ==, RAM_SIZE);
    g_assert_cmpuint(covered, >=, RAM_SIZE - 0x100000);
    g_assert_null(qiov_find_mapping(space, 0xfec00000));
    g_assert_null(qiov_find_mapping(space, RAM_SIZE));
    qobject_unref(space);
    qiov_stop(d);
}

static void test_identity_auto(void)
{
    check_identity_map("auto", true, true, false);
}

static void test_identity_off(void)
{
    check_identity_map("off", true, false, false);
}

static void test_identity_on(void)
{
    check_identity_map("on", true, true, true);
}

static void test_identity_host_cannot_block(void)
{
    check_identity_map("auto", false, false, false);
}

/* ---- RAM hot-add and hot-remove ---- */

static void test_ram_hotplug(void)
{
    QTestState *qts = qtest_init("-M q35 -m 512M,slots=2,maxmem=2G "
                                 "-nodefaults -device ioasid-vfio,id=dev0");
    QDict *resp, *space, *m;
    QList *devs;
    uint64_t addr, size;

    space = qiov_query_space(qts, "ioasid-default", "/machine/peripheral/dev0");
    g_assert_null(qiov_find_mapping(space, 0x100000000ULL));
    qobject_unref(space);

    qtest_qmp_assert_success(qts, "{ 'execute': 'object-add', 'arguments': {"
                             " 'qom-type': 'memory-backend-ram', 'id': 'm1',"
                             " 'size': 268435456 } }");
    qtest_qmp_assert_success(qts, "{ 'execute': 'device_add', 'arguments': {"
                             " 'driver': 'pc-dimm', 'id': 'dimm1',"
                             " 'memdev': 'm1' } }");
    resp = qtest_qmp(qts, "{ 'execute': 'query-memory-devices' }");
    devs = qdict_get_qlist(resp, "return");
    g_assert_cmpuint(qlist_size(devs), ==, 1);
    m = qdict_get_qdict(qobject_to(QDict, qlist_peek(devs)), "data");
    addr = qdict_get_u64(m, "addr");
    size = qdict_get_u64(m, "size");
    qobject_unref(resp);

    space = qiov_query_space(qts, "ioasid-default", "/machine/peripheral/dev0");
    m = qiov_find_mapping(space, addr);
    g_assert(m);
    g_assert_cmphex(qdict_get_u64(m, "iova"), ==, addr);
    g_assert_cmphex(qdict_get_u64(m, "size"), ==, size);
    g_assert_cmphex(qdict_get_u64(m, "addr"), ==, addr);
    g_assert_true(qdict_get_bool(m, "block-nosnoop"));
    qobject_unref(space);

    /*
     * Hot-remove: request it, then eject as the guest's ACPI code would
     * (ICH9 memory hotplug block: select slot 0, write the eject bit).
     */
    qtest_qmp_assert_success(qts, "{ 'execute': 'device_del', 'arguments': {"
                             " 'id': 'dimm1' } }");
    qtest_outl(qts, ACPI_MEMORY_HOTPLUG_BASE, 0);
    qtest_outb(qts, ACPI_MEMORY_HOTPLUG_BASE + 0x14, 8);
    qtest_qmp_eventwait(qts, "DEVICE_DELETED");
    space = qiov_query_space(qts, "ioasid-default", "/machine/peripheral/dev0");
    g_assert_null(qiov_find_mapping(space, addr));
    g_assert_null(qiov_find_mapping(space, addr + size - 1));
    g_assert(qiov_find_mapping(space, 0x100000));
    qobject_unref(space);
    qtest_quit(qts);
}

/* ---- bad command lines fail at start-up, naming the option ---- */

static void test_bad_options(void)
{
    qiov_expect_startup_error("-object ioasid,id=c,enforce-snoop=maybe",
                              "enforce-snoop", NULL);
    qiov_expect_startup_error("-object ioasid,id=c,host-snoop-control=sure",
                              "host-snoop-control", NULL);
    qiov_expect_startup_error("-object ioasid,id=c,platform-nosnoop=2",
                              "platform-nosnoop", NULL);
    qiov_expect_startup_error("-device ioasid-vfio,nosnoop=sometimes",
                              "nosnoop", NULL);
    qiov_expect_startup_error("-object ioasid,id=c,host-snoop-control=off,"
                              "enforce-snoop=on", "enforce-snoop=on",
                              "host-snoop-control=off");
    qiov_expect_startup_error("-object ioasid,id=c,host-snoop-control=off "
                              "-device ioasid-vfio,ioasid=c,nosnoop=deny",
                              "nosnoop=deny", "host-snoop-control=off");
    qiov_expect_startup_error("-device ioasid-vfio,ioasid=nosuch", "nosuch",
                              NULL);
    qiov_expect_startup_error("-M pc -device ioasid-vfio", "PCI Express", NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_func("/ioasid-vfio/introspect/objects", test_introspect);
    qtest_add_func("/ioasid-vfio/introspect/hmp-info", test_hmp_info);
    qtest_add_func("/ioasid-vfio/pci/ids", test_pci_ids);
    qtest_add_func("/ioasid-vfio/pci/devctl-enable-no-snoop",
                   test_devctl_nosnoop);
    qtest_add_func("/ioasid-vfio/regs/access", test_regs);
    qtest_add_func("/ioasid-vfio/regs/bad-arguments", test_bad_arguments);
    qtest_add_func("/ioasid-vfio/dma/copy", test_dma_copy);
    qtest_add_func("/ioasid-vfio/dma/fill", test_dma_fill);
    qtest_add_func("/ioasid-vfio/dma/host-fault", test_dma_fault);
    add_nosnoop_cases();
    qtest_add_func("/ioasid-vfio/identity-map/enforce-snoop=auto",
                   test_identity_auto);
    qtest_add_func("/ioasid-vfio/identity-map/enforce-snoop=off",
                   test_identity_off);
    qtest_add_func("/ioasid-vfio/identity-map/enforce-snoop=on",
                   test_identity_on);
    qtest_add_func("/ioasid-vfio/identity-map/host-snoop-control=off",
                   test_identity_host_cannot_block);
    qtest_add_func("/ioasid-vfio/identity-map/ram-hotplug", test_ram_hotplug);
    qtest_add_func("/ioasid-vfio/cmdline/bad-options", test_bad_options);
    qtest_add_func("/ioasid-vfio/flr", test_flr);

    return g_test_run();
}
