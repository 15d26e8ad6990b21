/*
 * qemu-ioasid: a host backend over a VFIO type1 container
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SYSTEM_IOASID_VFIO_TYPE1_H
#define SYSTEM_IOASID_VFIO_TYPE1_H

#include "system/ioasid.h"

/*
 * How the backend reaches the kernel and guest RAM.  The real table is
 * hw/vfio's; unit tests inject the kernel's answers through their own.
 */
typedef struct IOASIDVfioKernel {
    /* ioctl(2) on @fd: its result (>= 0), or -errno */
    int (*ioctl)(void *opaque, int fd, unsigned long request, void *arg);
    /*
     * The process address of the guest RAM at guest-physical @addr, with
     * in *@len (at most its value on entry) how many bytes are contiguous
     * there and in *@readonly whether the RAM is read-only; NULL where
     * @addr is not RAM.  Called with the RCU read lock held.
     */
    void *(*ram_ptr)(void *opaque, hwaddr addr, hwaddr *len, bool *readonly);
    void *opaque;
} IOASIDVfioKernel;

/* What the kernel says of the container's cache coherency */
typedef enum IOASIDVfioCoherency {
    IOASID_VFIO_COHERENCY_ENFORCED,     /* VFIO_DMA_CC_IOMMU: 1 */
    IOASID_VFIO_COHERENCY_NOT_ENFORCED, /* VFIO_DMA_CC_IOMMU: 0 */
    IOASID_VFIO_COHERENCY_UNKNOWN,      /* the ioctl failed */
} IOASIDVfioCoherency;

/*
 * Ask the kernel whether every DMA through container @fd is snooped
 * (VFIO_CHECK_EXTENSION of VFIO_DMA_CC_IOMMU).  On UNKNOWN, *@err is the
 * ioctl's -errno.
 */
IOASIDVfioCoherency ioasid_vfio_type1_coherency(const IOASIDVfioKernel *k,
                                                int fd, int *err);

/* What QEMU does with a VFIO device, given its vIOMMU and its host */
typedef enum IOASIDVfioPlan {
    IOASID_VFIO_PLAN_UPSTREAM,  /* VFIO's own listener, as upstream */
    IOASID_VFIO_PLAN_RELAY,     /* the ioasid relay over this backend */
    IOASID_VFIO_PLAN_REFUSE,    /* refuse the device (reason in errp) */
} IOASIDVfioPlan;

/*
 * @snoop_viommu: a vIOMMU in front of the device relays snoop control
 * (it refuses a notifier that would drop the guest's snoop bits).
 * @coherency, @err: the kernel's answer for the device's container.
 * @name: the device, for the reason given on REFUSE.
 */
IOASIDVfioPlan ioasid_vfio_type1_plan(bool snoop_viommu,
                                      IOASIDVfioCoherency coherency, int err,
                                      const char *name, Error **errp);

/*
 * The backend's state for container @fd, whose coherency the kernel
 * answered (@enforced), with the container's page sizes and its limit of
 * mappings; the kernel context takes it over (ioasid_backend_new_kernel
 * with ioasid_vfio_type1_ops) and frees it when released.
 */
typedef struct IOASIDVfioType1 IOASIDVfioType1;
IOASIDVfioType1 *ioasid_vfio_type1_new(const IOASIDVfioKernel *k, int fd,
                                       bool enforced, bool platform_nosnoop,
                                       uint64_t pgsizes,
                                       uint32_t max_mappings);

extern const IOASIDHostOps ioasid_vfio_type1_ops;

#endif
