/*
 * qemu-ioasid: a host backend over a VFIO type1 container
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The container is the kernel's one I/O address space (see
 * backends/ioasid-host-kernel.c for the table the relay's calls keep);
 * this file says what is type1's own: how the container answers for its
 * coherency, and its MAP_DMA and UNMAP_DMA.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "system/ioasid-vfio-type1.h"
#include <linux/vfio.h>

IOASIDVfioCoherency ioasid_vfio_type1_coherency(const IOASIDVfioKernel *k,
                                                int fd, int *err)
{
    int ret = k->ioctl(k->opaque, fd, VFIO_CHECK_EXTENSION,
                       (void *)(uintptr_t)VFIO_DMA_CC_IOMMU);

    *err = ret < 0 ? ret : 0;
    if (ret < 0) {
        return IOASID_VFIO_COHERENCY_UNKNOWN;
    }
    /* true when every IOMMU domain of the container enforces coherency */
    return ret ? IOASID_VFIO_COHERENCY_ENFORCED
               : IOASID_VFIO_COHERENCY_NOT_ENFORCED;
}

IOASIDVfioPlan ioasid_vfio_type1_plan(bool snoop_viommu,
                                      IOASIDVfioCoherency coherency, int err,
                                      const char *name, Error **errp)
{
    return ioasid_vfio_plan(snoop_viommu, coherency, err,
                            "VFIO_CHECK_EXTENSION(VFIO_DMA_CC_IOMMU) of its "
                            "VFIO container", name, errp);
}

static int type1_map(const IOASIDVfioKernel *k, int fd, uint32_t id,
                     hwaddr iova, hwaddr size, void *vaddr, bool writable)
{
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof(map),
        .flags = VFIO_DMA_MAP_FLAG_READ |
                 (writable ? VFIO_DMA_MAP_FLAG_WRITE : 0),
        .vaddr = (uintptr_t)vaddr,
        .iova = iova,
        .size = size,
    };

    return MIN(k->ioctl(k->opaque, fd, VFIO_IOMMU_MAP_DMA, &map), 0);
}

static int type1_unmap(const IOASIDVfioKernel *k, int fd, uint32_t id,
                       hwaddr iova, hwaddr size)
{
    struct vfio_iommu_type1_dma_unmap unmap = {
        .argsz = sizeof(unmap), .iova = iova, .size = size,
    };

    return MIN(k->ioctl(k->opaque, fd, VFIO_IOMMU_UNMAP_DMA, &unmap), 0);
}

static const IOASIDKernelSpace ioasid_vfio_type1_space = {
    .map = type1_map,
    .unmap = type1_unmap,
};

IOASIDHostKernel *ioasid_vfio_type1_new(const IOASIDVfioKernel *k, int fd,
                                        bool enforced, bool platform_nosnoop,
                                        uint64_t pgsizes,
                                        uint32_t max_mappings)
{
    return ioasid_host_kernel_new(k, &ioasid_vfio_type1_space, fd,
                                  IOASID_VFIO_TYPE1_IOASID, enforced,
                                  platform_nosnoop, pgsizes, max_mappings);
}
