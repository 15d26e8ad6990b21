/*
 * intel-iommu: the address spaces of PCI devices' requests with PASID
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_I386_INTEL_IOMMU_PASID_H
#define HW_I386_INTEL_IOMMU_PASID_H

#include "hw/i386/intel_iommu.h"

/* PASIDs are 20 bits (PCIe PASID TLP prefix); ECAP.PSS says so */
#define VTD_PASID_BITS          20

/* PCIIOMMUOps.get_address_space_pasid / put_address_space_pasid */
AddressSpace *vtd_get_address_space_pasid(PCIBus *bus, void *opaque,
                                          int devfn, uint32_t pasid);
void vtd_put_address_space_pasid(PCIBus *bus, void *opaque, int devfn,
                                 uint32_t pasid);

/*
 * Provided by intel_iommu.c: give the PASID address space @vtd_as, which
 * no device uses and no notifier follows, to the requests of @bus/@devfn
 * with @pasid (its own key or another), as a new one: emptied of what it
 * cached for its last user, its mode read from the guest's tables now.
 * False if another address space has that key already.
 */
bool vtd_as_rekey(IntelIOMMUState *s, VTDAddressSpace *vtd_as, PCIBus *bus,
                  int devfn, uint32_t pasid);

#endif
