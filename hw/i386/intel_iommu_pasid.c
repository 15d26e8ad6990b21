/*
 * intel-iommu: the address spaces of PCI devices' requests with PASID
 *
 * In scalable mode every PASID of a device has its own PASID entry, hence
 * its own translation: the device's requests with that PASID go through
 * an address space of their own (VTDAddressSpace.pasid), which a device
 * that issues them (ioasid-vfio) gets with
 * pci_device_iommu_address_space_pasid().  Only with ECAP.PASID
 * (x-pasid-mode=on) does the IOMMU take requests-with-PASID at all.
 *
 * Invariants:
 *  - a PASID address space exists for each (device, PASID) some device
 *    holds (got and not put), and is never freed: the memory API may
 *    still reach its regions through a FlatView being retired;
 *  - one a device put is idle (no device, no notifier) and waits on
 *    s->pasid_spares, to be given, emptied, to the next (device, PASID)
 *    that needs one;
 *  - so the PASID address spaces never outnumber the most (device, PASID)
 *    pairs held at once, whatever PASIDs the guest cycles through.
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/pci/pci_bus.h"
#include "intel_iommu_pasid.h"
#include "trace.h"

static gint vtd_pasid_as_cmp(gconstpointer a, gconstpointer b)
{
    const VTDAddressSpace *as = a, *key = b;

    return !(as->bus == key->bus && as->devfn == key->devfn &&
             as->pasid == key->pasid);
}

AddressSpace *vtd_get_address_space_pasid(PCIBus *bus, void *opaque,
                                          int devfn, uint32_t pasid)
{
    IntelIOMMUState *s = opaque;
    VTDAddressSpace key = { .bus = bus, .devfn = devfn, .pasid = pasid };
    VTDAddressSpace *vtd_as;
    GList *idle;

    assert(0 <= devfn && devfn < PCI_DEVFN_MAX);
    /* ECAP.PASID clear: requests-with-PASID are not supported */
    if (!s->pasid || pasid >= (1u << VTD_PASID_BITS)) {
        return NULL;
    }
    /*
     * The device's own, put earlier and not reused yet.  While idle it
     * followed the guest's invalidations only: renew it, as a new one
     * reads the tables (the guest may have rewritten them since, and the
     * relay that starts on it replays them as they are now).
     */
    idle = g_queue_find_custom(&s->pasid_spares, &key, vtd_pasid_as_cmp);
    if (idle) {
        vtd_as = idle->data;
        g_queue_delete_link(&s->pasid_spares, idle);
        vtd_as_rekey(s, vtd_as, bus, devfn, pasid);
        trace_vtd_pasid_as_get(pci_bus_num(bus), devfn, pasid, "idle");
        return &vtd_as->as;
    }
    vtd_as = g_queue_peek_head(&s->pasid_spares);
    if (vtd_as && vtd_as_rekey(s, vtd_as, bus, devfn, pasid)) {
        g_queue_pop_head(&s->pasid_spares);
        trace_vtd_pasid_as_get(pci_bus_num(bus), devfn, pasid, "reused");
        return &vtd_as->as;
    }
    trace_vtd_pasid_as_get(pci_bus_num(bus), devfn, pasid, "new");
    return &vtd_find_add_as(s, bus, devfn, pasid)->as;
}

void vtd_put_address_space_pasid(PCIBus *bus, void *opaque, int devfn,
                                 uint32_t pasid)
{
    IntelIOMMUState *s = opaque;
    VTDAddressSpace *vtd_as = vtd_find_add_as(s, bus, devfn, pasid);

    assert(pasid != PCI_NO_PASID && !vtd_as->notifier_flags);
    trace_vtd_pasid_as_put(pci_bus_num(bus), devfn, pasid,
                           g_queue_get_length(&s->pasid_spares) + 1);
    g_queue_push_tail(&s->pasid_spares, vtd_as);
}
