/*
 * qemu-ioasid: the VM's noncoherent DMA registry
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SYSTEM_IOASID_NONCOHERENT_H
#define SYSTEM_IOASID_NONCOHERENT_H

#include "qemu/queue.h"
#include "qemu/timer.h"
#include "qom/object.h"
#include "qapi/qapi-types-ioasid.h"

/*
 * One assigned device's standing, kept by the device and registered here.
 * A device is noncoherent when its no-snoop DMA can really bypass the CPU
 * caches (the three conditions of the 2021 /dev/ioasid discussion):
 *   (a) nosnoop_enabled: the guest set Enable No Snoop in Device Control;
 *   (b) nosnoop_passes: the host IOMMU lets no-snoop through (a mapping of
 *       the device's IOASID does not block it, or the host cannot block);
 *   (c) platform_nosnoop: the platform honours no-snoop;
 * and never when the host administrator denied it (nosnoop=deny).
 *
 * Hysteresis: a device becomes noncoherent as soon as the conditions hold
 * (WBINVD must work before its first no-snoop DMA), but stops being so
 * only once they have stayed false for @holdoff_ms of virtual time.
 */
/* The default hold-off (vfio-pci has no property to change it) */
#define IOASID_NONCOHERENT_DEFAULT_HOLDOFF_MS 1000

typedef struct IOASIDNoncoherentDevice {
    Object *owner;
    uint32_t holdoff_ms;
    bool nosnoop_enabled;
    bool nosnoop_passes;
    bool platform_nosnoop;
    bool nosnoop_deny;
    bool noncoherent;
    QEMUTimer *release_timer;   /* pending while held off */
    /*
     * Optional, set by the owner after ioasid_noncoherent_add(): called
     * when @noncoherent changed (a real device moves its KVM-VFIO file),
     * and what query-noncoherent-dma says of that file.
     */
    void (*changed)(struct IOASIDNoncoherentDevice *dev);
    NoncoherentKvmVfioFile *(*kvm_vfio_file)(
        struct IOASIDNoncoherentDevice *dev);
    QTAILQ_ENTRY(IOASIDNoncoherentDevice) next;
} IOASIDNoncoherentDevice;

/*
 * Register @dev (all conditions false) for device @owner, which keeps
 * its noncoherent standing @holdoff_ms after the conditions stop holding.
 */
void ioasid_noncoherent_add(IOASIDNoncoherentDevice *dev, Object *owner,
                            uint32_t holdoff_ms);
/* Take the conditions in @dev into account: call after changing them. */
void ioasid_noncoherent_update(IOASIDNoncoherentDevice *dev);
/*
 * The same without hold-off, where no guest ran under the previous
 * conditions (the end of an incoming migration).
 */
void ioasid_noncoherent_settle(IOASIDNoncoherentDevice *dev);
/*
 * Whether the VM has noncoherent DMA registered (any thread).  The
 * registry owns this machine-wide fact; the strict cache model reads it
 * (WBINVD reaches the caches only then) and the registry depends on
 * nothing of the cache model's.
 */
bool ioasid_noncoherent_registered(void);

/*
 * query-noncoherent-dma's 'cache': what the strict cache model, once
 * attached, reports of itself (NULL: the machine is coherent)
 */
typedef IoasidCacheModelInfo *IOASIDNoncoherentCacheInfoFn(void);
void ioasid_noncoherent_set_cache_info(IOASIDNoncoherentCacheInfoFn *fn);
/* Unregister @dev (as if it became coherent first). */
void ioasid_noncoherent_remove(IOASIDNoncoherentDevice *dev);

#endif
