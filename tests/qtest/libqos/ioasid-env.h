/*
 * libqos: a q35 with intel-iommu and ioasid-vfio, set up for relay tests
 *
 * One machine with the vIOMMU programmed as a guest kernel would for one
 * ioasid-vfio (root and context tables, or the scalable-mode PASID
 * structures, an empty second-level table), and helpers that check what
 * reached the device's host IOASID.
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QTEST_LIBQOS_IOASID_ENV_H
#define QTEST_LIBQOS_IOASID_ENV_H

#include "ioasid-vfio.h"
#include "vtd.h"

#define QIE_SLOT        4
#define QIE_PATH        "/machine/peripheral/dev0"
#define QIE_SID         (QIE_SLOT << 3)         /* 00:04.0 */
#define QIE_DID         5
#define QIE_TABLES      0x10000000ULL           /* 16 MiB of VT-d tables */
#define QIE_TABLES_SIZE 0x01000000ULL
#define QIE_IOVA        0x80000000ULL           /* not a guest RAM address */
#define QIE_GPA         0x02000000ULL
#define QIE_PG          4096ULL

typedef struct QIoasidEnv {
    QIoasidVfio *d;
    QVTD v;
    uint64_t top;               /* second-level (fs: first-stage) table */
    uint64_t pe;                /* scalable: the RID_PASID entry */
    bool scalable;
    bool fs;                    /* x-flts=on: first-stage tables */
} QIoasidEnv;

/*
 * A q35 with @mem of RAM (NULL: 512M), intel-iommu (@viommu: more
 * options, each starting with a comma) and ioasid-vfio id=dev0 at
 * 00:04.0 (@devopts), plus @extra on the command line; vIOMMU tables set
 * up for the device (empty second-level table, domain QIE_DID), caches
 * invalidated, translation still off.
 */
void qie_start(QIoasidEnv *e, const char *mem, const char *viommu,
               const char *extra, const char *devopts, bool scalable,
               bool qi);
/*
 * The same in scalable mode with x-flts=on (@viommu: more options), queued
 * invalidation on: the device's RID_PASID entry translates through an
 * empty first-stage table, without PGSNP.
 */
void qie_start_fs(QIoasidEnv *e, const char *mem, const char *viommu,
                  const char *devopts);
void qie_stop(QIoasidEnv *e);
/* The IOASID's "translation" in query-ioasid ("" if absent) */
const char *qie_translation(QIoasidEnv *e, char *buf, size_t len);

/* The device's IOASID in query-ioasid (new reference) */
QDict *qie_space(QIoasidEnv *e);
uint64_t qie_space_u64(QIoasidEnv *e, const char *key);
/* The host mapping at @iova is exactly [iova, iova+size) -> addr */
void qie_assert_mapping(QIoasidEnv *e, uint64_t iova, uint64_t size,
                        uint64_t addr, bool block);
void qie_assert_unmapped(QIoasidEnv *e, uint64_t iova);
uint64_t qie_nosnoop_bytes(QIoasidEnv *e);
/* Page-selective invalidation of one 4K page, the way the mode has it */
void qie_inv_page(QIoasidEnv *e, uint64_t iova);
/*
 * Map @pages 4K pages at QIE_IOVA -> QIE_GPA with leaf bits @flags, turn
 * translation on, and check the host got them as one mapping.
 */
void qie_map_live(QIoasidEnv *e, int pages, uint64_t flags);

#endif
