/*
 * qemu-ioasid: host /dev/ioasid context object (-object ioasid)
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SYSTEM_IOASID_H
#define SYSTEM_IOASID_H

#include "qemu/queue.h"
#include "qom/object.h"
#include "exec/hwaddr.h"
#include "qapi/qapi-types-ioasid.h"
#include "uapi/linux/ioasid.h"

#define TYPE_IOASID "ioasid"
OBJECT_DECLARE_SIMPLE_TYPE(IOASIDBackend, IOASID)

/* Id of the context devices use when none is named. */
#define IOASID_DEFAULT_ID "ioasid-default"

/*
 * What a host that lets no-snoop DMA bypass the CPU caches calls before it
 * creates such a mapping of guest-physical [@addr, @addr + @size) (@map)
 * and before it removes one: the strict cache model's cleaning.
 */
typedef void IOASIDHostFlushFn(void *opaque, uint64_t addr, uint64_t size,
                               bool map);

/*
 * A piece of a translated DMA range: it lands at guest-physical
 * [@addr, @addr + @len), and the IOMMU forces snooping there or not
 */
typedef void IOASIDHostDmaSegFn(void *opaque, uint64_t addr, uint64_t len,
                                bool block_nosnoop);

/* The PASID of a request without PASID, where a PASID is asked for */
#define IOASID_NO_PASID         UINT32_MAX

/* Mappings per IOASID unless max-mappings says otherwise (as VFIO type1) */
#define IOASID_DEFAULT_MAX_MAPPINGS 65535

/*
 * Introspection, what a host says of its state: ops->query calls @space
 * for each IOASID, then @attachment for each of its attachments and
 * @mapping for each of its mappings asked for, before the next IOASID.
 * Only backends/ioasid.c turns this into QAPI (query-ioasid).
 */
typedef struct IOASIDHostSpace {
    uint32_t ioasid;
    bool enforce_snoop;
    uint64_t mapping_count;     /* all of its mappings, listed or not */
    uint64_t map_calls;         /* MAP_DMA calls received, failed included */
    uint64_t unmap_calls;       /* UNMAP_DMA calls received */
    uint64_t failed_calls;      /* MAP_DMA and UNMAP_DMA calls that failed */
    uint64_t quota_refused;     /* MAP_DMA calls refused with ENOSPC */
} IOASIDHostSpace;

typedef struct IOASIDHostMapping {
    uint64_t iova;
    uint64_t size;
    uint64_t addr;
    uint32_t flags;             /* as asked: IOASID_DMA_MAP_FLAG_* */
    bool block_nosnoop;         /* what the host applies */
} IOASIDHostMapping;

typedef struct IOASIDHostQueryFns {
    void (*space)(const IOASIDHostSpace *space, void *opaque);
    /* device @dev_id, with @pasid (or IOASID_NO_PASID) */
    void (*attachment)(uint32_t dev_id, uint32_t pasid, void *opaque);
    void (*mapping)(const IOASIDHostMapping *mapping, void *opaque);
} IOASIDHostQueryFns;

/*
 * What a host offers: one function per /dev/ioasid operation.  Each
 * returns 0 or -errno.  The embedded software host is one implementation;
 * a backend over a real kernel provides another without the device
 * changing.  Flags are the uAPI's IOASID_* flags.
 */
typedef struct IOASIDHostOps {
    const char *name;
    IoasidHostBackend backend;  /* for query-ioasid */
    bool (*open)(IOASIDBackend *be, Error **errp);
    void (*close)(IOASIDBackend *be);
    int (*get_info)(IOASIDBackend *be, struct ioasid_info *info);
    int (*alloc)(IOASIDBackend *be, uint32_t flags, uint32_t *ioasid);
    int (*free)(IOASIDBackend *be, uint32_t ioasid);
    int (*map_dma)(IOASIDBackend *be, uint32_t ioasid, hwaddr iova,
                   hwaddr size, hwaddr addr, uint32_t flags);
    int (*unmap_dma)(IOASIDBackend *be, uint32_t ioasid, hwaddr iova,
                     hwaddr size, hwaddr *unmapped);
    /* @pasid: IOASID_NO_PASID for the device's requests without PASID */
    int (*attach)(IOASIDBackend *be, uint32_t ioasid, uint32_t dev_id,
                  uint32_t pasid);
    int (*detach)(IOASIDBackend *be, uint32_t ioasid, uint32_t dev_id,
                  uint32_t pasid);
    /* How many mappings @ioasid has, and how many let no-snoop through */
    int (*mapping_counts)(IOASIDBackend *be, uint32_t ioasid,
                          uint64_t *total, uint64_t *nosnoop);
    /*
     * The mapping of @ioasid at the lowest IOVA that overlaps [@first,
     * @last], into *@m: 0, or -ENOENT if there is none.  The host's table
     * is the one copy of what was mapped; a caller that needs it (the
     * relay, to cut an unmap to whole mappings) reads it here.
     */
    int (*mapping_at)(IOASIDBackend *be, uint32_t ioasid, uint64_t first,
                      uint64_t last, IOASIDHostMapping *m);
    /*
     * Emulated DMA only (the embedded host, where there is no real IOMMU):
     * see ioasid_soft_host_translate_range().
     */
    int (*dma_translate)(IOASIDBackend *be, uint32_t dev_id, uint32_t pasid,
                         hwaddr iova, hwaddr len, bool is_write,
                         IOASIDHostDmaSegFn *fn, void *opaque, hwaddr *done);
    /*
     * Introspection (see IOASIDHostQueryFns): every IOASID in increasing
     * order, with its attachments and the mappings that overlap [@first,
     * @last] in increasing IOVA order, at most @max of them (0: all).
     */
    void (*query)(IOASIDBackend *be, uint64_t first, uint64_t last,
                  uint64_t max, const IOASIDHostQueryFns *fns, void *opaque);
} IOASIDHostOps;

struct IOASIDBackend {
    Object parent_obj;

    /* properties */
    bool host_snoop_control;
    bool platform_nosnoop;
    IoasidEnforceSnoop enforce_snoop;
    uint32_t max_mappings;
    IoasidCacheModel cache_model;
    uint64_t cache_size;        /* of the strict cache model */

    /* state */
    /*
     * What the host says it can do (IOASID_GET_INFO), read once when it
     * is opened (ioasid_backend_open()) and never written after
     */
    struct ioasid_info info;
    char *name;                 /* a kernel context's (not an -object) */
    IOASIDHostFlushFn *host_flush;  /* for a host that models the caches */
    const IOASIDHostOps *ops;
    void *host;                 /* the ops' own state */
    uint32_t next_dev_id;
    GHashTable *devices;        /* dev_id -> QOM path of the bound device */
    GHashTable *mirrors;        /* ioasid -> IOASIDMirror, for introspection */
    QTAILQ_ENTRY(IOASIDBackend) next;
};

extern const IOASIDHostOps ioasid_soft_host_ops;

/*
 * The context named @id, or the implicit default context (created on first
 * use with default properties) when @id is NULL.
 */
IOASIDBackend *ioasid_backend_find(const char *id, Error **errp);

/*
 * A context over a host kernel object the caller opened (a VFIO
 * container): @ops with @host as their state, named @name in
 * query-ioasid.  It is not an -object; the caller owns it and gives it
 * back with ioasid_backend_release(), which calls @ops->close.
 */
IOASIDBackend *ioasid_backend_new_kernel(const char *name,
                                         const IOASIDHostOps *ops, void *host,
                                         Error **errp);
void ioasid_backend_release(IOASIDBackend *be);

/* Whether the host can force snooping / honours no-snoop */
bool ioasid_backend_can_block_nosnoop(IOASIDBackend *be);
bool ioasid_backend_platform_nosnoop(IOASIDBackend *be);
/* The most mappings one IOASID may hold */
uint32_t ioasid_backend_max_mappings(IOASIDBackend *be);
/* The smallest page the host maps (its IOMMU's) */
uint64_t ioasid_backend_min_pgsize(IOASIDBackend *be);

/* Bind a device to the context; returns its dev_id. */
uint32_t ioasid_backend_bind_device(IOASIDBackend *be, Object *dev);
void ioasid_backend_unbind_device(IOASIDBackend *be, uint32_t dev_id);

/* Host calls: one function per operation, traced; errors name the call. */
bool ioasid_backend_alloc(IOASIDBackend *be, uint32_t flags,
                          uint32_t *ioasid, Error **errp);
void ioasid_backend_free(IOASIDBackend *be, uint32_t ioasid);
/* @pasid: IOASID_NO_PASID for the device's requests without PASID */
bool ioasid_backend_attach(IOASIDBackend *be, uint32_t ioasid,
                           uint32_t dev_id, uint32_t pasid, Error **errp);
void ioasid_backend_detach(IOASIDBackend *be, uint32_t ioasid,
                           uint32_t dev_id, uint32_t pasid);
int ioasid_backend_map_dma(IOASIDBackend *be, uint32_t ioasid, hwaddr iova,
                           hwaddr size, hwaddr addr, uint32_t flags,
                           Error **errp);
int ioasid_backend_unmap_dma(IOASIDBackend *be, uint32_t ioasid,
                             hwaddr iova, hwaddr size, Error **errp);
int ioasid_backend_dma_translate(IOASIDBackend *be, uint32_t dev_id,
                                 uint32_t pasid, hwaddr iova, hwaddr len,
                                 bool is_write, IOASIDHostDmaSegFn *fn,
                                 void *opaque, hwaddr *done);

/* How many mappings @ioasid has, and how many let no-snoop through */
bool ioasid_backend_mapping_counts(IOASIDBackend *be, uint32_t ioasid,
                                   uint64_t *total, uint64_t *nosnoop);
/* See IOASIDHostOps.mapping_at: whether there is one */
bool ioasid_backend_mapping_at(IOASIDBackend *be, uint32_t ioasid,
                               uint64_t first, uint64_t last,
                               IOASIDHostMapping *m);

/*
 * Whoever mirrors a guest address space into @ioasid (the relay) says,
 * when query-ioasid asks, which guest translation that is; @translation
 * NULL stops it.
 */
typedef IoasidGuestTranslation (*IOASIDMirrorTranslation)(void *opaque);
void ioasid_backend_set_mirror(IOASIDBackend *be, uint32_t ioasid,
                               IOASIDMirrorTranslation translation,
                               void *opaque);

/* The QOM path of device @dev_id, for introspection */
const char *ioasid_backend_device_path(IOASIDBackend *be, uint32_t dev_id);

#endif
