/*
 * libqos driver for ioasid-vfio
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "pci-pc.h"
#include "qobject/qlist.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"
#include "hw/pci/pci_regs.h"
#include "ioasid-vfio.h"

static QIoasidVfio *qiov_bring_up(QTestState *qts, QPCIBus *bus, int slot)
{
    QIoasidVfio *d = g_new0(QIoasidVfio, 1);

    d->qts = qts;
    d->bus = bus;
    d->dev = qpci_device_find(bus, QPCI_DEVFN(slot, 0));
    g_assert(d->dev);
    g_assert_cmphex(qpci_config_readw(d->dev, PCI_DEVICE_ID), ==,
                    IOASID_VFIO_DEVICE_ID);
    qpci_device_enable(d->dev);
    d->bar = qpci_iomap(d->dev, 0, NULL);
    d->exp_cap = qpci_find_capability(d->dev, PCI_CAP_ID_EXP, 0);
    g_assert_cmpuint(d->exp_cap, !=, 0);
    return d;
}

QIoasidVfio *qiov_start(const char *args, int slot)
{
    QTestState *qts = qtest_init(args);

    return qiov_bring_up(qts, qpci_new_pc(qts, NULL), slot);
}

QIoasidVfio *qiov_attach(QIoasidVfio *first, int slot)
{
    return qiov_bring_up(first->qts, first->bus, slot);
}

void qiov_free(QIoasidVfio *d)
{
    g_free(d->dev);
    g_free(d);
}

void qiov_stop(QIoasidVfio *d)
{
    QTestState *qts = d->qts;

    qpci_free_pc(d->bus);
    qiov_free(d);
    qtest_quit(qts);
}

/*
 * Extended configuration space is reached through PCIe ECAM (the q35
 * MCH's PCIEXBAR, which firmware would set up: here at its default base,
 * 256 MiB, enabled) at the first access.
 */
#define QIOV_ECAM_BASE          0xb0000000ULL
#define QIOV_MCH_PCIEXBAR       0x60

static uint64_t qiov_ecam(QIoasidVfio *d, uint16_t off)
{
    g_assert_cmpuint(off, <, 4096);
    if (!d->ecam) {
        QPCIDevice *mch = qpci_device_find(d->bus, 0);

        g_assert(mch);
        qpci_config_writel(mch, QIOV_MCH_PCIEXBAR + 4, 0);
        qpci_config_writel(mch, QIOV_MCH_PCIEXBAR, QIOV_ECAM_BASE | 1);
        g_free(mch);
        d->ecam = true;
    }
    /* bus 0 */
    return QIOV_ECAM_BASE + ((uint64_t)d->dev->devfn << 12) + off;
}

uint16_t qiov_ext_config_readw(QIoasidVfio *d, uint16_t off)
{
    return qtest_readw(d->qts, qiov_ecam(d, off));
}

uint32_t qiov_ext_config_readl(QIoasidVfio *d, uint16_t off)
{
    return qtest_readl(d->qts, qiov_ecam(d, off));
}

void qiov_ext_config_writew(QIoasidVfio *d, uint16_t off, uint16_t val)
{
    qtest_writew(d->qts, qiov_ecam(d, off), val);
}

uint32_t qiov_rd32(QIoasidVfio *d, uint64_t off)
{
    return qpci_io_readl(d->dev, d->bar, off);
}

uint64_t qiov_rd64(QIoasidVfio *d, uint64_t off)
{
    return qpci_io_readq(d->dev, d->bar, off);
}

void qiov_wr32(QIoasidVfio *d, uint64_t off, uint32_t val)
{
    qpci_io_writel(d->dev, d->bar, off, val);
}

void qiov_wr64(QIoasidVfio *d, uint64_t off, uint64_t val)
{
    qpci_io_writeq(d->dev, d->bar, off, val);
}

bool qiov_nosnoop_enabled(QIoasidVfio *d)
{
    return qpci_config_readw(d->dev, d->exp_cap + PCI_EXP_DEVCTL) &
           PCI_EXP_DEVCTL_NOSNOOP_EN;
}

void qiov_set_nosnoop_enable(QIoasidVfio *d, bool on)
{
    uint16_t v = qpci_config_readw(d->dev, d->exp_cap + PCI_EXP_DEVCTL);

    v = on ? v | PCI_EXP_DEVCTL_NOSNOOP_EN : v & ~PCI_EXP_DEVCTL_NOSNOOP_EN;
    qpci_config_writew(d->dev, d->exp_cap + PCI_EXP_DEVCTL, v);
}

uint32_t qiov_dma(QIoasidVfio *d, unsigned op, uint64_t src, uint64_t dst,
                  uint32_t len, bool nosnoop)
{
    uint32_t status;

    qiov_wr64(d, IOASID_VFIO_REG_SRC, src);
    qiov_wr64(d, IOASID_VFIO_REG_DST, dst);
    qiov_wr32(d, IOASID_VFIO_REG_LEN, len);
    qiov_wr32(d, IOASID_VFIO_REG_CMD, IOASID_VFIO_CMD_START |
              (op << IOASID_VFIO_CMD_OP_SHIFT) |
              (nosnoop ? IOASID_VFIO_CMD_NOSNOOP : 0));
    status = qiov_rd32(d, IOASID_VFIO_REG_STATUS);
    g_assert_false(status & IOASID_VFIO_STATUS_BUSY);
    qiov_wr32(d, IOASID_VFIO_REG_STATUS,
              IOASID_VFIO_STATUS_DONE | IOASID_VFIO_STATUS_ERROR);
    return status;
}

unsigned qiov_status_code(uint32_t status)
{
    g_assert_true(status & IOASID_VFIO_STATUS_ERROR);
    g_assert_false(status & IOASID_VFIO_STATUS_DONE);
    return (status & IOASID_VFIO_STATUS_CODE_MASK) >>
           IOASID_VFIO_STATUS_CODE_SHIFT;
}

uint64_t qdict_get_u64(QDict *d, const char *key)
{
    QNum *n = qobject_to(QNum, qdict_get(d, key));
    uint64_t v;

    g_assert(n);
    g_assert_true(qnum_get_try_uint(n, &v));
    return v;
}

QDict *qiov_query_context(QTestState *qts, const char *id)
{
    QDict *resp = qtest_qmp(qts, "{ 'execute': 'query-ioasid' }");
    QList *ctxs = qdict_get_qlist(resp, "return");
    QListEntry *e;
    QDict *found = NULL;

    g_assert(ctxs);
    QLIST_FOREACH_ENTRY(ctxs, e) {
        QDict *c = qobject_to(QDict, qlist_entry_obj(e));

        if (!strcmp(qdict_get_str(c, "id"), id)) {
            found = c;
            qobject_ref(found);
        }
    }
    qobject_unref(resp);
    return found;
}

bool qiov_qlist_has_str(QList *list, const char *str)
{
    QListEntry *e;

    QLIST_FOREACH_ENTRY(list, e) {
        QString *s = qobject_to(QString, qlist_entry_obj(e));

        if (s && !strcmp(qstring_get_str(s), str)) {
            return true;
        }
    }
    return false;
}

/* Whether @space has @dev_path attached with @pasid (-1: without PASID) */
static bool qiov_space_has(QDict *space, const char *dev_path, int64_t pasid)
{
    QListEntry *e;

    QLIST_FOREACH_ENTRY(qdict_get_qlist(space, "attachments"), e) {
        QDict *a = qobject_to(QDict, qlist_entry_obj(e));

        if (!strcmp(qdict_get_str(a, "device"), dev_path) &&
            (qdict_haskey(a, "pasid") ? (int64_t)qdict_get_u64(a, "pasid")
                                      : -1) == pasid) {
            /* "devices" names each attached device once */
            g_assert_true(qiov_qlist_has_str(qdict_get_qlist(space,
                                                             "devices"),
                                             dev_path));
            return true;
        }
    }
    return false;
}

QDict *qiov_query_space_pasid(QTestState *qts, const char *id,
                              const char *dev_path, int64_t pasid)
{
    QDict *ctx = qiov_query_context(qts, id);
    QListEntry *e;
    QDict *found = NULL;

    g_assert(ctx);
    QLIST_FOREACH_ENTRY(qdict_get_qlist(ctx, "ioasids"), e) {
        QDict *s = qobject_to(QDict, qlist_entry_obj(e));

        if (qiov_space_has(s, dev_path, pasid)) {
            g_assert_null(found);
            found = s;
            qobject_ref(found);
        }
    }
    qobject_unref(ctx);
    return found;
}

QDict *qiov_query_space(QTestState *qts, const char *id,
                        const char *dev_path)
{
    return qiov_query_space_pasid(qts, id, dev_path, -1);
}

QDict *qiov_find_mapping(QDict *space, uint64_t iova)
{
    QListEntry *e;

    QLIST_FOREACH_ENTRY(qdict_get_qlist(space, "mappings"), e) {
        QDict *m = qobject_to(QDict, qlist_entry_obj(e));
        uint64_t start = qdict_get_u64(m, "iova");

        if (iova >= start && iova - start < qdict_get_u64(m, "size")) {
            return m;
        }
    }
    return NULL;
}

QDict *qiov_query_noncoherent(QTestState *qts, const char *dev_path,
                              bool *registered, uint64_t *changes)
{
    QDict *resp = qtest_qmp(qts, "{ 'execute': 'query-noncoherent-dma' }");
    QDict *ret = qdict_get_qdict(resp, "return");
    QListEntry *e;
    QDict *found = NULL;

    g_assert(ret);
    if (registered) {
        *registered = qdict_get_bool(ret, "registered");
    }
    if (changes) {
        *changes = qdict_get_u64(ret, "registration-changes");
    }
    QLIST_FOREACH_ENTRY(qdict_get_qlist(ret, "devices"), e) {
        QDict *dev = qobject_to(QDict, qlist_entry_obj(e));

        if (dev_path && !strcmp(qdict_get_str(dev, "device"), dev_path)) {
            found = dev;
            qobject_ref(found);
        }
    }
    qobject_unref(resp);
    return found;
}

void qiov_expect_startup_error(const char *args, const char *needle1,
                                 const char *needle2)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    g_autofree char *cmd = g_strdup_printf("%s -M q35 -nodefaults -display "
                                           "none -accel qtest %s", qemu,
                                           args);
    g_autofree char *out = NULL, *err = NULL;
    g_auto(GStrv) argv = NULL;
    int status;

    g_assert(qemu);
    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, NULL));
    g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &err, &status, NULL));
    if (g_test_verbose()) {
        g_test_message("%s -> %s", args, err);
    }
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    g_assert_nonnull(strstr(err, needle1));
    if (needle2) {
        g_assert_nonnull(strstr(err, needle2));
    }
}
