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
    /* IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP for the identity map, or 0 */
    uint32_t identity_flags;
    char *owner;                /* for messages: the device's QOM path */
    /* called after host calls changed the IOASID's mappings */
    void (*changed)(void *opaque);
    void *opaque;

    AddressSpace *as;
    MemoryListener listener;
    bool started;
    QLIST_HEAD(, IOASIDRelayGuestIOMMU) giommus;
    /* pending runs; the UNMAP run is always sent before the MAP run */
    IOASIDRelayRun unmap_run;
    IOASIDRelayRun map_run;
    QEMUBH *flush_bh;
    Notifier flush_notifier;    /* flush before query-ioasid reads */
    bool dirty;                 /* host calls made since changed() */
} IOASIDRelay;

/* Start mirroring @as into @ioasid of @be. */
void ioasid_relay_start(IOASIDRelay *relay, IOASIDBackend *be,
                        uint32_t ioasid, AddressSpace *as,
                        uint32_t identity_flags, const char *owner,
                        void (*changed)(void *opaque), void *opaque);
/* Stop mirroring, unmapping everything the relay mapped. */
void ioasid_relay_stop(IOASIDRelay *relay);
/* Send what is pending to the host: before anything looks at its table. */
void ioasid_relay_flush(IOASIDRelay *relay);
/* Whether a vIOMMU translates for the device right now */
bool ioasid_relay_translating(IOASIDRelay *relay);
/*
 * A DMA of the device faulted on the host at @iova: let the vIOMMU see the
 * access, so that it records the fault a guest expects from it.
 */
void ioasid_relay_report_fault(IOASIDRelay *relay, hwaddr iova,
                               bool is_write);

#endif
