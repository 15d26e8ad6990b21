/*
 * qemu-ioasid: a host backend over a VFIO type1 container
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SYSTEM_IOASID_VFIO_TYPE1_H
#define SYSTEM_IOASID_VFIO_TYPE1_H

#include "system/ioasid-host-kernel.h"

/* The context's one IOASID: the container */
#define IOASID_VFIO_TYPE1_IOASID 1

/*
 * Ask the kernel whether every DMA through container @fd is snooped
 * (VFIO_CHECK_EXTENSION of VFIO_DMA_CC_IOMMU).  On UNKNOWN, *@err is the
 * ioctl's -errno.
 */
IOASIDVfioCoherency ioasid_vfio_type1_coherency(const IOASIDVfioKernel *k,
                                                int fd, int *err);

/* ioasid_vfio_plan() with the container's answer */
IOASIDVfioPlan ioasid_vfio_type1_plan(bool snoop_viommu,
                                      IOASIDVfioCoherency coherency, int err,
                                      const char *name, Error **errp);

/* The backend's state for container @fd (see ioasid_host_kernel_new()) */
IOASIDHostKernel *ioasid_vfio_type1_new(const IOASIDVfioKernel *k, int fd,
                                        bool enforced, bool platform_nosnoop,
                                        uint64_t pgsizes,
                                        uint32_t max_mappings);

#endif
