/*
 * qemu-ioasid: ioasid-vfio's requests with PASID
 *
 * With the PASID capability enabled and the PASID register valid, the DMA
 * engine's requests carry a PASID (PCIe PASID TLP prefix).  A
 * scalable-mode vIOMMU translates each PASID of the device through that
 * PASID's own entry, so each (device, PASID) is an address space of its
 * own: the device attaches each to its own IOASID on the host (the uAPI's
 * attach with IOASID_ATTACH_FLAG_PASID) and relays that address space
 * into it, with that PASID's snoop control, exactly as it relays its
 * requests-without-PASID into its first IOASID.
 *
 * Invariants:
 *  - s->pasids holds every PASID in use, at most IOASID_VFIO_MAX_PASIDS;
 *    each has the vIOMMU's address space for it, an IOASID attached to
 *    (dev_id, PASID) and nothing else, and a running relay;
 *  - a PASID comes into use at the first request with it and goes out of
 *    use when the guest tears its PASID entry down (its address space
 *    then reports a blocked translation), when PASID Enable is cleared,
 *    on reset and at unplug; going out of use detaches the IOASID, frees
 *    it and gives the address space back to the vIOMMU;
 *  - a request whose PASID cannot come into use (no vIOMMU taking
 *    requests-with-PASID, or the limit reached) faults.
 * So what the host holds for the device is bounded by
 * IOASID_VFIO_MAX_PASIDS + 1 IOASIDs of at most max-mappings mappings.
 *
 * A torn-down PASID cannot leave the device's use from inside the
 * vIOMMU's invalidation (its notifier would go away while the vIOMMU
 * walks them): a bottom half does it, and so does a request that finds
 * the device at its limit.
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "hw/pci/pcie.h"
#include "hw/vfio/ioasid-vfio.h"
#include "trace.h"

bool ioasid_vfio_pasid_enabled(IOASIDVFIOState *s)
{
    return pci_get_word(PCI_DEVICE(s)->config + IOASID_VFIO_PASID_CAP_OFFSET +
                        PCI_PASID_CTRL) & PCI_PASID_CTRL_ENABLE;
}

static void ioasid_vfio_pasid_release(IOASIDVFIOPasid *p, const char *why)
{
    IOASIDVFIOState *s = p->dev;

    trace_ioasid_vfio_pasid_release(s->dev_id, p->pasid, p->ioasid, why);
    g_hash_table_remove(s->pasids, GUINT_TO_POINTER(p->pasid));
    ioasid_relay_stop(&p->relay);
    ioasid_backend_detach(s->be, p->ioasid, s->dev_id, p->pasid);
    ioasid_backend_free(s->be, p->ioasid);
    pci_device_iommu_put_address_space_pasid(PCI_DEVICE(s), p->pasid);
    g_free(p);
}

static gboolean ioasid_vfio_pasid_torn_down(gpointer key, gpointer value,
                                            gpointer opaque)
{
    IOASIDVFIOPasid *p = value;

    return ioasid_relay_translation(&p->relay) ==
           IOASID_GUEST_TRANSLATION_BLOCKED;
}

/* Release the PASIDs whose address space the guest tore down */
static void ioasid_vfio_pasid_reclaim(IOASIDVFIOState *s)
{
    IOASIDVFIOPasid *p;
    bool released = false;

    while ((p = g_hash_table_find(s->pasids, ioasid_vfio_pasid_torn_down,
                                  NULL))) {
        ioasid_vfio_pasid_release(p, "torn-down");
        released = true;
    }
    if (released) {
        ioasid_vfio_update_noncoherent(s, false);
    }
}

static void ioasid_vfio_pasid_reclaim_bh(void *opaque)
{
    ioasid_vfio_pasid_reclaim(opaque);
}

/* The relay of @opaque's address space changed the host or saw it change */
static void ioasid_vfio_pasid_changed(void *opaque)
{
    IOASIDVFIOPasid *p = opaque;

    ioasid_vfio_update_noncoherent(p->dev, false);
    if (ioasid_relay_translation(&p->relay) ==
        IOASID_GUEST_TRANSLATION_BLOCKED) {
        qemu_bh_schedule(p->dev->pasid_reclaim_bh);
    }
}

IOASIDVFIOPasid *ioasid_vfio_pasid_get(IOASIDVFIOState *s, uint32_t pasid)
{
    IOASIDVFIOPasid *p = g_hash_table_lookup(s->pasids,
                                             GUINT_TO_POINTER(pasid));
    g_autofree char *path = NULL;
    g_autofree char *owner = NULL;
    Error *err = NULL;
    AddressSpace *as;

    if (p) {
        return p;
    }
    if (g_hash_table_size(s->pasids) >= IOASID_VFIO_MAX_PASIDS) {
        ioasid_vfio_pasid_reclaim(s);
        if (g_hash_table_size(s->pasids) >= IOASID_VFIO_MAX_PASIDS) {
            trace_ioasid_vfio_pasid_refused(s->dev_id, pasid,
                                            "the device has its most PASIDs "
                                            "in use");
            return NULL;
        }
    }
    as = pci_device_iommu_address_space_pasid(PCI_DEVICE(s), pasid);
    if (!as) {
        trace_ioasid_vfio_pasid_refused(s->dev_id, pasid, "no vIOMMU takes "
                                        "requests-with-PASID");
        return NULL;
    }

    p = g_new0(IOASIDVFIOPasid, 1);
    p->dev = s;
    p->pasid = pasid;
    p->as = as;
    if (!ioasid_backend_alloc(s->be, s->alloc_flags, &p->ioasid, &err)) {
        goto fail_put;
    }
    if (!ioasid_backend_attach(s->be, p->ioasid, s->dev_id, pasid, &err)) {
        goto fail_free;
    }
    path = object_get_canonical_path(OBJECT(s));
    owner = g_strdup_printf("%s PASID %" PRIu32, path, pasid);
    if (!ioasid_relay_start(&p->relay, s->be, p->ioasid, as,
                            s->identity_flags, owner,
                            ioasid_vfio_pasid_changed, p, &err)) {
        goto fail_detach;
    }
    /* its teardown may change no host mapping: the relay must tell */
    p->relay.watch_translation = true;
    g_hash_table_insert(s->pasids, GUINT_TO_POINTER(pasid), p);
    trace_ioasid_vfio_pasid_attach(s->dev_id, pasid, p->ioasid,
                                   g_hash_table_size(s->pasids));
    ioasid_vfio_update_noncoherent(s, false);
    /* a PASID without a usable entry: its requests fault, then it goes */
    if (ioasid_relay_translation(&p->relay) ==
        IOASID_GUEST_TRANSLATION_BLOCKED) {
        qemu_bh_schedule(s->pasid_reclaim_bh);
    }
    return p;

fail_detach:
    ioasid_backend_detach(s->be, p->ioasid, s->dev_id, pasid);
fail_free:
    ioasid_backend_free(s->be, p->ioasid);
fail_put:
    pci_device_iommu_put_address_space_pasid(PCI_DEVICE(s), pasid);
    trace_ioasid_vfio_pasid_refused(s->dev_id, pasid, error_get_pretty(err));
    error_free(err);
    g_free(p);
    return NULL;
}

void ioasid_vfio_pasid_release_all(IOASIDVFIOState *s)
{
    GList *all, *l;

    if (!g_hash_table_size(s->pasids)) {
        return;
    }
    all = g_hash_table_get_values(s->pasids);
    for (l = all; l; l = l->next) {
        ioasid_vfio_pasid_release(l->data, "PASID use stopped");
    }
    g_list_free(all);
    ioasid_vfio_update_noncoherent(s, false);
}

void ioasid_vfio_pasid_reset(IOASIDVFIOState *s)
{
    PCIDevice *pdev = PCI_DEVICE(s);

    /* PCIe r6.0 7.8.8.3: PASID Enable resets to 0 */
    pci_set_word(pdev->config + IOASID_VFIO_PASID_CAP_OFFSET + PCI_PASID_CTRL,
                 0);
    s->pasid = 0;
    ioasid_vfio_pasid_release_all(s);
}

void ioasid_vfio_pasid_realize(IOASIDVFIOState *s)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    uint16_t cap = IOASID_VFIO_PASID_CAP_OFFSET;

    /*
     * PCIe r6.0 7.8.8: Max PASID Width 20; neither Execute nor Privileged
     * Mode is supported, so PASID Enable is the only writable control.
     */
    pcie_add_capability(pdev, PCI_EXT_CAP_ID_PASID, 1, cap,
                        PCI_EXT_CAP_PASID_SIZEOF);
    pci_set_word(pdev->config + cap + PCI_PASID_CAP,
                 IOASID_VFIO_PASID_WIDTH << 8);
    pci_set_word(pdev->wmask + cap + PCI_PASID_CTRL, PCI_PASID_CTRL_ENABLE);
    /* The PASID TLP prefix is an End-End TLP prefix (PCIe r6.0 7.5.3.15) */
    pci_long_test_and_set_mask(pdev->config + pdev->exp.exp_cap +
                               PCI_EXP_DEVCAP2, PCI_EXP_DEVCAP2_EE_PREFIX);

    s->pasids = g_hash_table_new(NULL, NULL);
    s->pasid_reclaim_bh = qemu_bh_new_guarded(ioasid_vfio_pasid_reclaim_bh, s,
                                      &DEVICE(s)->mem_reentrancy_guard);
}

void ioasid_vfio_pasid_unrealize(IOASIDVFIOState *s)
{
    if (!s->pasids) {
        return;
    }
    ioasid_vfio_pasid_release_all(s);
    qemu_bh_delete(s->pasid_reclaim_bh);
    s->pasid_reclaim_bh = NULL;
    g_hash_table_destroy(s->pasids);
    s->pasids = NULL;
}
