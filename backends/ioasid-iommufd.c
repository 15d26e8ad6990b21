/*
 * qemu-ioasid: a host backend over an iommufd IOAS
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * iommufd (/dev/iommu with VFIO device cdevs) is what /dev/ioasid became
 * in Linux.  An IOAS is one I/O address space; VFIO attaches each device
 * to it through a hardware page table (HWPT) the kernel allocates for the
 * device's IOMMU.  See backends/ioasid-host-kernel.c for the table the
 * relay's calls keep; this file says what is iommufd's own:
 *  - coherency is the kernel's decision per device, with no uAPI to ask
 *    for it or to opt out: an HWPT enforces cache coherency when the
 *    device's IOMMU can force snooping (IOMMU_CAP_ENFORCE_CACHE_COHERENCY,
 *    which intel-iommu answers with ECAP.SC), and a coherent HWPT is
 *    never shared with a device that could not be.  What userspace can
 *    read is IOMMU_GET_HW_INFO: for VT-d, the raw ECAP register;
 *  - IOMMU_IOAS_MAP at a fixed IOVA and IOMMU_IOAS_UNMAP of whole areas;
 *    ENOSPC (the kernel's limits) reaches the relay as back-pressure.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "system/ioasid-iommufd.h"
#include <linux/iommufd.h>

IOASIDVfioCoherency ioasid_iommufd_coherency(const IOASIDVfioKernel *k,
                                             int fd, uint32_t devid,
                                             int *err)
{
    struct iommu_hw_info_vtd vtd = { 0 };
    struct iommu_hw_info info = {
        .size = sizeof(info),
        .dev_id = devid,
        .data_len = sizeof(vtd),
        .data_uptr = (uintptr_t)&vtd,
    };
    int ret = k->ioctl(k->opaque, fd, IOMMU_GET_HW_INFO, &info);

    *err = 0;
    if (ret < 0) {
        *err = ret;
        return IOASID_VFIO_COHERENCY_UNKNOWN;
    }
    if (info.out_data_type != IOMMU_HW_INFO_TYPE_INTEL_VTD) {
        *err = -EOPNOTSUPP;     /* another IOMMU: not relayed yet */
        return IOASID_VFIO_COHERENCY_UNKNOWN;
    }
    return vtd.ecap_reg & IOASID_VTD_ECAP_SC ?
           IOASID_VFIO_COHERENCY_ENFORCED : IOASID_VFIO_COHERENCY_NOT_ENFORCED;
}

IOASIDVfioPlan ioasid_iommufd_plan(bool snoop_viommu,
                                   IOASIDVfioCoherency coherency, int err,
                                   const char *name, Error **errp)
{
    return ioasid_vfio_plan(snoop_viommu, coherency, err,
                            "IOMMU_GET_HW_INFO (VT-d ECAP.SC) of its host "
                            "IOMMU", name, errp);
}

static int iommufd_map(const IOASIDVfioKernel *k, int fd, uint32_t id,
                       hwaddr iova, hwaddr size, void *vaddr, bool writable)
{
    struct iommu_ioas_map map = {
        .size = sizeof(map),
        .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
                 (writable ? IOMMU_IOAS_MAP_WRITEABLE : 0),
        .ioas_id = id,
        .user_va = (uintptr_t)vaddr,
        .length = size,
        .iova = iova,
    };

    return MIN(k->ioctl(k->opaque, fd, IOMMU_IOAS_MAP, &map), 0);
}

static int iommufd_unmap(const IOASIDVfioKernel *k, int fd, uint32_t id,
                         hwaddr iova, hwaddr size)
{
    struct iommu_ioas_unmap unmap = {
        .size = sizeof(unmap), .ioas_id = id, .iova = iova, .length = size,
    };

    return MIN(k->ioctl(k->opaque, fd, IOMMU_IOAS_UNMAP, &unmap), 0);
}

static const IOASIDKernelSpace ioasid_iommufd_space = {
    .map = iommufd_map,
    .unmap = iommufd_unmap,
};

IOASIDHostKernel *ioasid_iommufd_new(const IOASIDVfioKernel *k, int fd,
                                     uint32_t ioas_id, bool enforced,
                                     bool platform_nosnoop, uint64_t pgsizes,
                                     uint32_t max_mappings)
{
    return ioasid_host_kernel_new(k, &ioasid_iommufd_space, fd, ioas_id,
                                  enforced, platform_nosnoop, pgsizes,
                                  max_mappings);
}
