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

/*
 * Mirrors what a device's DMA address space says into the device's IOASID,
 * as VFIO's listener does for a container: guest RAM is identity-mapped when
 * no vIOMMU translates, and the vIOMMU's MAP/UNMAP events are relayed when
 * one does.
 */
typedef struct IOASIDRelay {
    IOASIDBackend *be;
    uint32_t ioasid;
    hwaddr pgsize;
    /* IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP for the identity map, or 0 */
    uint32_t identity_flags;
    char *owner;                /* for messages: the device's QOM path */

    AddressSpace *as;
    MemoryListener listener;
    bool started;
    QLIST_HEAD(, IOASIDRelayGuestIOMMU) giommus;
} IOASIDRelay;

/* Start mirroring @as into @ioasid of @be. */
void ioasid_relay_start(IOASIDRelay *relay, IOASIDBackend *be,
                        uint32_t ioasid, AddressSpace *as,
                        uint32_t identity_flags, const char *owner);
/* Stop mirroring, unmapping everything the relay mapped. */
void ioasid_relay_stop(IOASIDRelay *relay);

#endif
