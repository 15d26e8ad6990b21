/*
 * qemu-ioasid: the relay from a device's DMA address space to its host IOASID
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VFIO_IOASID_RELAY_H
#define HW_VFIO_IOASID_RELAY_H

#include "exec/memory.h"
#include "system/ioasid.h"

typedef struct IOASIDRelayGuestIOMMU IOASIDRelayGuestIOMMU;

/* What the relay asks of a vIOMMU: every MAP/UNMAP, with the snoop bits */
#define IOASID_RELAY_NOTIFIER_FLAGS \
    (IOMMU_NOTIFIER_IOTLB_EVENTS | IOMMU_NOTIFIER_SNOOP_ATTR)

/* A run of contiguous vIOMMU events with equal flags, not yet sent. */
typedef struct IOASIDRelayRun {
    bool map;                   /* MAP (else UNMAP) */
    hwaddr iova;
    hwaddr size;                /* 0: no run pending */
    hwaddr addr;
    uint32_t flags;
} IOASIDRelayRun;

/*
 * Mirrors what a device's DMA address space says into the device's IOASID,
 * as VFIO's listener does for a container: guest RAM is identity-mapped when
 * no vIOMMU translates, and the vIOMMU's MAP/UNMAP events are relayed, with
 * the guest's snoop attribute, when one does.
 */
typedef struct IOASIDRelay {
    IOASIDBackend *be;
    uint32_t ioasid;
    hwaddr pgsize;
    bool can_block;             /* the host can block no-snoop */
    uint32_t max_mappings;      /* the host's limit per IOASID */
    /* IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP for the identity map, or 0 */
    uint32_t identity_flags;
    char *owner;                /* for messages: the device's QOM path */
    /* called after host calls changed the IOASID's mappings */
    void (*changed)(void *opaque);
    void *opaque;

    AddressSpace *as;
    IOMMUMemoryRegion *viommu;  /* the vIOMMU in front of @as, if any */
    IOMMUMemoryRegionClass *viommu_class;
    MemoryListener listener;
    bool started;
    QLIST_HEAD(, IOASIDRelayGuestIOMMU) giommus;
    /* pending runs; the UNMAP run is always sent before the MAP run */
    IOASIDRelayRun unmap_run;
    IOASIDRelayRun map_run;
    bool forces_snoop;          /* ioasid_relay_forces_snoop(), last seen */
    /*
     * Set by the owner: a change of ioasid_relay_translation() at an
     * invalidation calls changed() too, host calls or not
     */
    bool watch_translation;
    IoasidGuestTranslation translation;     /* last seen, if watched */
    bool quota_hit;             /* MAP_DMA got ENOSPC since the last unmap */
    bool full;                  /* cannot take a new mapping now */
    bool dirty;                 /* host calls made since changed() */
} IOASIDRelay;

/*
 * Start mirroring @as into @ioasid of @be.  Fails if a vIOMMU in front of
 * the device cannot be followed (not intel-iommu, or it refuses the relay's
 * notifier), naming the reason.
 */
bool ioasid_relay_start(IOASIDRelay *relay, IOASIDBackend *be,
                        uint32_t ioasid, AddressSpace *as,
                        uint32_t identity_flags, const char *owner,
                        void (*changed)(void *opaque), void *opaque,
                        Error **errp);
/*
 * Stop mirroring, unmapping everything the relay mapped, without calling
 * changed() again.
 */
void ioasid_relay_stop(IOASIDRelay *relay);
/*
 * Whether every vIOMMU region of @as accepts an IOMMU notifier with
 * @flags (if not, errp says why, in the vIOMMU's words).
 */
bool ioasid_relay_viommu_accepts(AddressSpace *as, IOMMUNotifierFlag flags,
                                 Error **errp);
/* Whether a vIOMMU translates for the device right now */
bool ioasid_relay_translating(IOASIDRelay *relay);
/* Which guest translation the relay mirrors now */
IoasidGuestTranslation ioasid_relay_translation(IOASIDRelay *relay);
/*
 * Whether the vIOMMU forces snooping on whatever the device's address
 * space maps now or later (VT-d PGSNP), known before any mapping exists
 */
bool ioasid_relay_forces_snoop(IOASIDRelay *relay);
/*
 * A DMA of the device found no host mapping at @iova: let the vIOMMU walk
 * its tables there if its guest may map without invalidating (VT-d first
 * stage), which maps what the guest maps now.  Returns whether it did, so
 * the caller can try the host table again.
 */
bool ioasid_relay_fill(IOASIDRelay *relay, hwaddr iova);
/*
 * A DMA of the device faulted on the host at @iova: let the vIOMMU see the
 * access, so that it records the fault a guest expects from it.
 */
void ioasid_relay_report_fault(IOASIDRelay *relay, hwaddr iova,
                               bool is_write);

#endif
