/*
 * qemu-ioasid: a host backend over an iommufd IOAS
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SYSTEM_IOASID_IOMMUFD_H
#define SYSTEM_IOASID_IOMMUFD_H

#include "system/ioasid-host-kernel.h"

/* VT-d Extended Capability Register: Snoop Control (11.4.3) */
#define IOASID_VTD_ECAP_SC      (1ULL << 7)

/*
 * Ask iommufd @fd whether device @devid's DMA is snooped whatever it asks
 * (IOMMU_GET_HW_INFO): its IOMMU is VT-d with ECAP.SC, so the kernel gives
 * it only HWPTs that enforce cache coherency.  Another IOMMU, or a failed
 * call, is UNKNOWN (*@err: -EOPNOTSUPP, or the ioctl's -errno).
 */
IOASIDVfioCoherency ioasid_iommufd_coherency(const IOASIDVfioKernel *k,
                                             int fd, uint32_t devid,
                                             int *err);

/* ioasid_vfio_plan() with the device's answer */
IOASIDVfioPlan ioasid_iommufd_plan(bool snoop_viommu,
                                   IOASIDVfioCoherency coherency, int err,
                                   const char *name, Error **errp);

/*
 * The backend's state for IOAS @ioas_id of iommufd @fd (see
 * ioasid_host_kernel_new()): the context's IOASID is @ioas_id.
 */
IOASIDHostKernel *ioasid_iommufd_new(const IOASIDVfioKernel *k, int fd,
                                     uint32_t ioas_id, bool enforced,
                                     bool platform_nosnoop, uint64_t pgsizes,
                                     uint32_t max_mappings);

#endif
