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

    /* the device's DMA address space, mirrored into the IOASID */
    IOASIDRelay relay;
    /* its standing in the VM's noncoherent DMA registry */
    IOASIDNoncoherentDevice nc;

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
};

#endif
