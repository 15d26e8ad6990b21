/*
 * libqos: an independent model of what intel-iommu grants a device, and
 * of what the ioasid-vfio relay must therefore put in the host table
 *
 * See the comment at the top of vtd-oracle.c for what is modelled.
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QTEST_LIBQOS_VTD_ORACLE_H
#define QTEST_LIBQOS_VTD_ORACLE_H

#include "vtd.h"
#include "qobject/qdict.h"

/* The vIOMMU never translates its interrupt window (VT-d 3.x 3.14) */
#define QVTD_MSI_FIRST          0xfee00000ULL
#define QVTD_MSI_LAST           0xfeefffffULL

/* One mapping: [iova, iova + size) -> [addr, addr + size) */
typedef struct QVtdMap {
    uint64_t iova;
    uint64_t size;
    uint64_t addr;
    bool read;
    bool write;
    bool block;                 /* block-nosnoop */
} QVtdMap;

/* A closed IOVA interval [first, last] */
typedef struct QVtdRange {
    uint64_t first;
    uint64_t last;
} QVtdRange;

/* What the vIOMMU is and what the host can do */
typedef struct QVtdConfig {
    bool scalable_cap;          /* x-scalable-mode=on (ECAP.SMTS) */
    bool snoop_control;         /* snoop-control=on (ECAP.SC) */
    bool pt;                    /* pass-through supported (ECAP.PT) */
    bool flts;                  /* x-flts=on: first-stage instead of SL */
    bool fs1gp;                 /* CAP.FS1GP: first-stage 1 GiB leaves */
    unsigned aw_bits;           /* aw-bits (host address width) */
    bool host_can_block;        /* the ioasid context can block no-snoop */
    bool pasid_cap;             /* x-pasid-mode=on (ECAP.PASID) */
    /*
     * QVTD_STRICT_*: also treat as reserved what the VT-d specification
     * reserves but QEMU 10.0 does not check.
     */
    unsigned strict;
} QVtdConfig;

/* The PASID directory entry's bits 11:2, the PASID entry's 11:10, 86:80 */
#define QVTD_STRICT_PASID_RSVD  (1u << 0)
/* A RID_PASID beyond the PASID directory size (context entry PDTS) */
#define QVTD_STRICT_PDTS        (1u << 1)
/* SNP in legacy-mode leaves without SC, on a scalable-capable vIOMMU */
#define QVTD_STRICT_SNP_LEGACY  (1u << 2)
#define QVTD_STRICT_ALL         7u

/* A device on bus 0 as the oracle needs it */
typedef struct QVtdDevice {
    uint8_t devfn;
    bool enforce;               /* its IOASID enforces snoop */
    GArray *identity;           /* QVtdMap: its table with TE off */
} QVtdDevice;

typedef enum QVtdMode {
    QVTD_MODE_OFF,              /* GSTS.TE clear: the identity template */
    QVTD_MODE_PT,               /* pass-through: the identity template */
    QVTD_MODE_SL,               /* second-level translation */
    QVTD_MODE_FS,               /* first-stage translation (x-flts=on) */
    QVTD_MODE_BLOCKED,          /* not present or invalid: nothing */
} QVtdMode;

/* How the oracle found the device, for invalidation matching and logs */
typedef struct QVtdDevState {
    QVtdMode mode;
    const char *reason;         /* why BLOCKED */
    bool has_did;               /* the context (PASID entry) is valid */
    uint16_t did;
    uint32_t pasid;             /* scalable: RID_PASID */
    uint64_t slpt;              /* the table: second-level, or first-stage */
    unsigned levels;
    bool pgsnp;
    uint64_t leaves;            /* leaf entries the walk crosses */
    uint64_t tables;            /* table visits the walk makes */
    bool over_budget;           /* the tables grant too much: no result */
} QVtdDevState;

typedef struct QVtdOracle {
    QTestState *qts;
    QVtdConfig cfg;
    uint64_t rtaddr;            /* latched by the last GCMD.SRTP */
    GArray *ram;                /* QVtdMap: where guest memory is */
    GHashTable *pages;          /* this evaluation's page cache */
    GHashTable *memo;           /* this evaluation's walk costs */
    uint64_t max_leaves;        /* walk budget */
    uint64_t max_tables;
    uint64_t page_reads;        /* statistics */
} QVtdOracle;

/*
 * @ram: the identity template of a device (query-ioasid with TE off):
 * the ranges of guest RAM, each one range of the memory map, with their
 * write permission.  Tables outside them are unreadable.
 */
void qvtd_oracle_init(QVtdOracle *o, QTestState *qts, const QVtdConfig *cfg,
                      const GArray *ram);
void qvtd_oracle_destroy(QVtdOracle *o);
/* The root table address and mode latched by GCMD.SRTP (RTADDR value) */
void qvtd_oracle_set_rtaddr(QVtdOracle *o, uint64_t rtaddr);
/* Start an evaluation: guest memory may have changed since the last one */
void qvtd_oracle_begin(QVtdOracle *o);
/*
 * The host table @dev must have if every change has been invalidated:
 * normalised QVtdMap list.  Reads GSTS.TE and guest memory (cached until
 * the next qvtd_oracle_begin()).  Returns NULL if the tables grant more
 * than the walk budget (st->over_budget).
 */
GArray *qvtd_oracle_expected(QVtdOracle *o, const QVtdDevice *dev,
                             QVtdDevState *st);
/* The same for @dev's requests with @pasid (-1: without PASID) */
GArray *qvtd_oracle_expected_pasid(QVtdOracle *o, const QVtdDevice *dev,
                                   int64_t pasid, QVtdDevState *st);
/*
 * Whether a walk of table @table of @levels levels stays within the
 * budget: for a test that must not build tables QEMU would take too long
 * to walk, whichever of them a device uses next.  The table is read in the
 * format of the configuration's scalable mode: first-stage with flts,
 * second-level otherwise.
 */
bool qvtd_oracle_table_within_budget(QVtdOracle *o, uint64_t table,
                                     unsigned levels);
/* Whether this evaluation read the page at @gpa (as a table) */
bool qvtd_oracle_page_read(QVtdOracle *o, uint64_t gpa);
const char *qvtd_mode_str(QVtdMode mode);

/* ---- mapping lists ---- */

/* Sort by IOVA and merge neighbours that continue each other */
void qvtd_maps_normalise(GArray *maps);
/* The mapping containing @iova, or NULL */
const QVtdMap *qvtd_maps_lookup(const GArray *maps, uint64_t iova);
/* The IOVA ranges (sorted, merged) where @a and @b translate differently */
GArray *qvtd_maps_diff(const GArray *a, const GArray *b);
/* Append to @out a description of @a and @b over @ranges (at most @max) */
void qvtd_maps_describe(GString *out, const GArray *a, const char *a_name,
                        const GArray *b, const char *b_name,
                        const GArray *ranges, unsigned max);
void qvtd_map_str(GString *out, const QVtdMap *m);

/* ---- closed IOVA range lists (sorted, disjoint, merged) ---- */

void qvtd_ranges_add(GArray *ranges, uint64_t first, uint64_t last);
/* @a minus @b, as a new list */
GArray *qvtd_ranges_subtract(const GArray *a, const GArray *b);
GArray *qvtd_ranges_new(void);

/* ---- the host side ---- */

/* What query-ioasid says about a device's IOASID besides its mappings */
typedef struct QVtdHostSpace {
    uint64_t ioasid;
    bool enforce;               /* enforce-snoop */
    uint64_t failed_calls;      /* host calls that failed, quota included */
    uint64_t quota_refused;
} QVtdHostSpace;

/*
 * The same as qvtd_host_tables() for the requests of @paths[i] with
 * @pasids[i] (-1: without PASID): the IOASID attached to that (device,
 * PASID), or NULL.
 */
void qvtd_host_tables_pasid(QTestState *qts, const char *ctx,
                            const char **paths, const int64_t *pasids,
                            unsigned n, GArray **maps, QVtdHostSpace *info,
                            bool raw);
/*
 * The host tables of the devices at QOM paths @paths[0..n-1] (context
 * @ctx) from one query-ioasid: normalised QVtdMap lists in @maps[], and
 * the rest in @info[] (may be NULL).  With @raw,
 * the mappings as the host lists them (sorted, not merged: the identity
 * template keeps one range per section of the memory map).  A device that
 * is not attached gets NULL.  Overlapping host mappings fail the test.
 */
void qvtd_host_tables(QTestState *qts, const char *ctx, const char **paths,
                      unsigned n, GArray **maps, QVtdHostSpace *info,
                      bool raw);

/* ---- the device's DMA ---- */

typedef struct QVtdDmaSeg {
    uint64_t iova;
    uint64_t gpa;
    uint64_t len;
    bool block;
} QVtdDmaSeg;

typedef struct QVtdDmaPrediction {
    uint32_t status;            /* STATUS after the command */
    uint64_t fault_addr;        /* valid with ERROR, codes 1 and 2 */
    uint64_t nosnoop_bytes;     /* NOSNOOP_BYTES delta */
    GArray *src;                /* QVtdDmaSeg of a transfer that is DONE */
    GArray *dst;
} QVtdDmaPrediction;

/*
 * What ioasid-vfio does for @op (IOASID_VFIO_OP_*) over @len bytes at
 * @src/@dst given host table @maps: translate all of SRC (copy), then all
 * of DST, before any byte moves.  @nosnoop: the request carries No Snoop
 * (CMD.NOSNOOP, Device Control Enable No Snoop and the platform honours
 * it).  Free with qvtd_dma_prediction_clear().
 */
void qvtd_predict_dma(const GArray *maps, unsigned op, uint64_t src,
                      uint64_t dst, uint32_t len, bool nosnoop,
                      QVtdDmaPrediction *p);
void qvtd_dma_prediction_clear(QVtdDmaPrediction *p);

#endif
