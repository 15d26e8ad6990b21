/*
 * qemu-ioasid: the embedded software host
 *
 * An in-process implementation of the /dev/ioasid semantics of
 * include/uapi/linux/ioasid.h: what the host kernel and its IOMMU would do,
 * modelled in software.  It is the reference model of the host: device DMA
 * of ioasid-vfio is translated through its mapping tables.
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SYSTEM_IOASID_SOFT_HOST_H
#define SYSTEM_IOASID_SOFT_HOST_H

#include "uapi/linux/ioasid.h"
#include "system/ioasid.h"

typedef struct IOASIDSoftHost IOASIDSoftHost;

/*
 * @can_block_nosnoop: the modelled host IOMMU can force snooping (VT-d SC)
 * @platform_nosnoop: the modelled platform honours no-snoop TLPs
 * @max_mappings: the most mappings an IOASID may hold (ENOSPC past it)
 */
IOASIDSoftHost *ioasid_soft_host_new(bool can_block_nosnoop,
                                     bool platform_nosnoop,
                                     uint32_t max_mappings);
void ioasid_soft_host_free(IOASIDSoftHost *host);

/*
 * The host's cache duty: @fn is called before a mapping that lets
 * no-snoop through is created and before it is removed, so that the CPU
 * caches can be cleaned for it (see IOASIDHostFlushFn).
 */
void ioasid_soft_host_set_flush(IOASIDSoftHost *host,
                                IOASIDHostFlushFn *fn, void *opaque);

/*
 * The in-process equivalent of ioctl() on an open /dev/ioasid: @cmd and
 * @arg as documented in the uAPI header.  Returns the ioctl's non-negative
 * result, or -errno.
 */
long ioasid_soft_host_ioctl(IOASIDSoftHost *host, unsigned long cmd,
                            void *arg);

/*
 * What the host IOMMU does with one DMA request of device @dev_id, with
 * PASID @pasid (IOASID_NO_PASID: without): look up @iova in the IOASID the
 * device (PASID) is attached to.
 *
 * On success, *@addr is where @iova lands, *@len (at least 1 when
 * called) how many bytes from @iova, at most the @len passed in, land
 * contiguously from there with the same snoop attribute (the first piece
 * of ioasid_soft_host_translate_range()), and *@block_nosnoop says
 * whether the IOMMU forces snooping there.
 * Returns -ENOENT if nothing maps @iova (or the device is not attached),
 * -EACCES if the mapping does not allow the access.
 */
int ioasid_soft_host_translate(IOASIDSoftHost *host, uint32_t dev_id,
                               uint32_t pasid, uint64_t iova, bool is_write,
                               uint64_t *addr, uint64_t *len,
                               bool *block_nosnoop);

/*
 * The same for the whole of [@iova, @iova + @len) (@len >= 1, not past
 * 2^64): @fn gets the pieces in order, one per run of mappings contiguous
 * in IOVA and guest-physical address with the same snoop attribute.
 * Returns 0 when all of it translates; else -ENOENT or -EACCES as above
 * for IOVA @iova + *@done, @fn having had the *@done bytes before it.
 */
int ioasid_soft_host_translate_range(IOASIDSoftHost *host, uint32_t dev_id,
                                     uint32_t pasid, uint64_t iova,
                                     uint64_t len, bool is_write,
                                     IOASIDHostDmaSegFn *fn, void *opaque,
                                     uint64_t *done);

/* Introspection, for query-ioasid. */
typedef struct IOASIDSoftMappingInfo {
    uint64_t iova;
    uint64_t size;
    uint64_t addr;
    uint32_t flags;             /* IOASID_DMA_MAP_FLAG_* */
} IOASIDSoftMappingInfo;

typedef struct IOASIDSoftSpaceInfo {
    uint32_t ioasid;
    bool enforce_snoop;
    uint64_t mappings;          /* number of mappings */
    uint64_t nosnoop_mappings;  /* mappings that let no-snoop through */
    uint64_t map_calls;         /* MAP_DMA calls received, failed included */
    uint64_t unmap_calls;       /* UNMAP_DMA calls received */
    uint64_t failed_calls;      /* MAP_DMA and UNMAP_DMA calls that failed */
    uint64_t quota_refused;     /* MAP_DMA calls refused with ENOSPC */
} IOASIDSoftSpaceInfo;

typedef void (*IOASIDSoftSpaceFn)(const IOASIDSoftSpaceInfo *info,
                                  void *opaque);
typedef void (*IOASIDSoftMappingFn)(const IOASIDSoftMappingInfo *info,
                                    void *opaque);
/* An attachment: device @dev_id, with @pasid (or IOASID_NO_PASID) */
typedef void (*IOASIDSoftDeviceFn)(uint32_t dev_id, uint32_t pasid,
                                   void *opaque);

/* What ioasid_soft_host_foreach_ioasid() says of one IOASID. */
int ioasid_soft_host_get_space(IOASIDSoftHost *host, uint32_t ioasid,
                               IOASIDSoftSpaceInfo *info);
/* Call @fn for each IOASID, in increasing order. */
void ioasid_soft_host_foreach_ioasid(IOASIDSoftHost *host,
                                     IOASIDSoftSpaceFn fn, void *opaque);
/*
 * Call @fn for each mapping of @ioasid that overlaps [@first, @last], in
 * increasing IOVA order, at most @max times (0: no limit).
 */
int ioasid_soft_host_foreach_mapping(IOASIDSoftHost *host, uint32_t ioasid,
                                     uint64_t first, uint64_t last,
                                     uint64_t max, IOASIDSoftMappingFn fn,
                                     void *opaque);
/*
 * Call @fn for each attachment of @ioasid, in increasing device order, a
 * device's requests without PASID before its PASIDs, in increasing order.
 */
int ioasid_soft_host_foreach_device(IOASIDSoftHost *host, uint32_t ioasid,
                                    IOASIDSoftDeviceFn fn, void *opaque);

#endif
