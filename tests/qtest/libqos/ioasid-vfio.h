/*
 * libqos driver for ioasid-vfio (docs/specs/ioasid-vfio.rst) and helpers
 * to read its host side through QMP (query-ioasid, query-noncoherent-dma)
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QTEST_LIBQOS_IOASID_VFIO_H
#define QTEST_LIBQOS_IOASID_VFIO_H

#include "../libqtest.h"
#include "pci.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "hw/vfio/ioasid-vfio-regs.h"

typedef struct QIoasidVfio {
    QTestState *qts;
    QPCIBus *bus;
    QPCIDevice *dev;
    QPCIBar bar;
    uint8_t exp_cap;
    bool ecam;                  /* extended config space reachable */
} QIoasidVfio;

/*
 * Start QEMU with @args and bring up the ioasid-vfio at 00:@slot.0 as a
 * guest driver does (BAR0, memory space, bus master).
 */
QIoasidVfio *qiov_start(const char *args, int slot);
/* Bring up another ioasid-vfio of the same machine */
QIoasidVfio *qiov_attach(QIoasidVfio *first, int slot);
void qiov_free(QIoasidVfio *d);     /* the device only */
void qiov_stop(QIoasidVfio *d);     /* the device and QEMU */

/* Extended configuration space (offsets below 4096), through PCIe ECAM */
uint16_t qiov_ext_config_readw(QIoasidVfio *d, uint16_t off);
uint32_t qiov_ext_config_readl(QIoasidVfio *d, uint16_t off);
void qiov_ext_config_writew(QIoasidVfio *d, uint16_t off, uint16_t val);

uint32_t qiov_rd32(QIoasidVfio *d, uint64_t off);
uint64_t qiov_rd64(QIoasidVfio *d, uint64_t off);
void qiov_wr32(QIoasidVfio *d, uint64_t off, uint32_t val);
void qiov_wr64(QIoasidVfio *d, uint64_t off, uint64_t val);

/* Device Control Enable No Snoop */
void qiov_set_nosnoop_enable(QIoasidVfio *d, bool on);
bool qiov_nosnoop_enabled(QIoasidVfio *d);

/* Run one command; returns STATUS (DONE and ERROR are cleared after). */
uint32_t qiov_dma(QIoasidVfio *d, unsigned op, uint64_t src, uint64_t dst,
                  uint32_t len, bool nosnoop);
/* The error code of a failed command's STATUS */
unsigned qiov_status_code(uint32_t status);

/*
 * Start QEMU (q35, qtest accelerator) with @args and expect it to fail at
 * start-up with a message containing @needle1 and, if not NULL, @needle2.
 */
void qiov_expect_startup_error(const char *args, const char *needle1,
                               const char *needle2);

/* ---- the host side, through QMP ---- */

uint64_t qdict_get_u64(QDict *d, const char *key);
/* Whether @list holds the string @str */
bool qiov_qlist_has_str(QList *list, const char *str);
/* The context @id of query-ioasid (new reference) or NULL */
QDict *qiov_query_context(QTestState *qts, const char *id);
/*
 * The IOASID of context @id that @dev_path's requests without PASID are
 * attached to (new ref), or NULL
 */
QDict *qiov_query_space(QTestState *qts, const char *id,
                        const char *dev_path);
/* The same for its requests with @pasid (-1: without PASID) */
QDict *qiov_query_space_pasid(QTestState *qts, const char *id,
                              const char *dev_path, int64_t pasid);
/* The mapping of @space covering @iova, or NULL (borrowed) */
QDict *qiov_find_mapping(QDict *space, uint64_t iova);
/* The query-noncoherent-dma entry of @dev_path (new ref), or NULL */
QDict *qiov_query_noncoherent(QTestState *qts, const char *dev_path,
                              bool *registered, uint64_t *changes);

#endif
