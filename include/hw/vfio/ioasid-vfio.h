/*
 * qemu-ioasid: ioasid-vfio, a PCIe device assigned through /dev/ioasid
 *
 * The register contract is docs/specs/ioasid-vfio.rst.
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VFIO_IOASID_VFIO_H
#define HW_VFIO_IOASID_VFIO_H

#include "hw/pci/pci_device.h"
#include "system/ioasid.h"
#include "system/ioasid-noncoherent.h"
#include "hw/vfio/ioasid-relay.h"
#include "hw/vfio/ioasid-vfio-regs.h"

#define TYPE_IOASID_VFIO "ioasid-vfio"
OBJECT_DECLARE_SIMPLE_TYPE(IOASIDVFIOState, IOASID_VFIO)

/*
 * The address space of the device's requests with one PASID, attached to
 * an IOASID of its own (ioasid-vfio-pasid.c)
 */
typedef struct IOASIDVFIOPasid {
    IOASIDVFIOState *dev;
    uint32_t pasid;
    uint32_t ioasid;
    AddressSpace *as;           /* the vIOMMU's, given back on release */
    IOASIDRelay relay;
} IOASIDVFIOPasid;

struct IOASIDVFIOState {
    PCIDevice parent_obj;

    /* properties */
    IOASIDBackend *be;
    int nosnoop;                /* IoasidNosnoopPolicy */
    uint32_t noncoherent_holdoff_ms;

    /* host side: our handle and IOASID in the context */
    uint32_t dev_id;
    uint32_t ioasid;
    bool attached;
    uint32_t alloc_flags;       /* of every IOASID the device allocates */
    uint32_t identity_flags;    /* of every identity map it relays */

    /* the device's DMA address space, mirrored into the IOASID */
    IOASIDRelay relay;
    /* its standing in the VM's noncoherent DMA registry */
    IOASIDNoncoherentDevice nc;
    /*
     * Its requests with PASID: PASID -> IOASIDVFIOPasid, at most
     * IOASID_VFIO_MAX_PASIDS; the bottom half releases those whose
     * PASID entry the guest tore down.
     */
    GHashTable *pasids;
    QEMUBH *pasid_reclaim_bh;

    /* BAR0 */
    MemoryRegion mmio;
    uint64_t src;
    uint64_t dst;
    uint32_t len;
    uint32_t cmd;
    uint32_t status;
    uint32_t pattern;
    uint64_t fault_addr;
    uint64_t nosnoop_bytes;
    uint32_t pasid;             /* the PASID register */

    /*
     * The DMA engine's buffer, IOASID_VFIO_MAX_LEN bytes from the first
     * command on, and its lists of translated segments: one per device
     * rather than one per command, so that a command's cost is its copy,
     * not the allocator's
     */
    uint8_t *bounce;
    GArray *segs[2];            /* a command's source and destination */
};

/*
 * Recompute the conditions of noncoherent DMA; @settle: without hold-off
 * (see ioasid_noncoherent_settle())
 */
void ioasid_vfio_update_noncoherent(IOASIDVFIOState *s, bool settle);

/* ioasid-vfio-pasid.c */
void ioasid_vfio_pasid_realize(IOASIDVFIOState *s);
void ioasid_vfio_pasid_unrealize(IOASIDVFIOState *s);
/* Whether the driver set PASID Enable in the PASID capability */
bool ioasid_vfio_pasid_enabled(IOASIDVFIOState *s);
/* Reset: PASID Enable clear, and no PASID in use */
void ioasid_vfio_pasid_reset(IOASIDVFIOState *s);
/*
 * The address space of the device's requests with @pasid, attached to its
 * own IOASID, or NULL if the vIOMMU takes no such request or the device
 * has IOASID_VFIO_MAX_PASIDS in use: then the request faults.
 */
IOASIDVFIOPasid *ioasid_vfio_pasid_get(IOASIDVFIOState *s, uint32_t pasid);
/* Stop using every PASID: detach them all, give their address spaces back */
void ioasid_vfio_pasid_release_all(IOASIDVFIOState *s);

#endif
