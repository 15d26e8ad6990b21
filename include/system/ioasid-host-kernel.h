/*
 * qemu-ioasid: a host backend over a host kernel's IOMMU (VFIO type1 or
 * iommufd)
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SYSTEM_IOASID_HOST_KERNEL_H
#define SYSTEM_IOASID_HOST_KERNEL_H

#include "system/ioasid.h"

/*
 * How a backend reaches the kernel and guest RAM.  The real table is
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

/* What the kernel says of a device's (or container's) cache coherency */
typedef enum IOASIDVfioCoherency {
    IOASID_VFIO_COHERENCY_ENFORCED,     /* every DMA is snooped */
    IOASID_VFIO_COHERENCY_NOT_ENFORCED, /* no-snoop DMA may pass */
    IOASID_VFIO_COHERENCY_UNKNOWN,      /* the kernel could not say */
} IOASIDVfioCoherency;

/* What QEMU does with a VFIO device, given its vIOMMU and its host */
typedef enum IOASIDVfioPlan {
    IOASID_VFIO_PLAN_UPSTREAM,  /* VFIO's own listener, as upstream */
    IOASID_VFIO_PLAN_RELAY,     /* the ioasid relay over this backend */
    IOASID_VFIO_PLAN_REFUSE,    /* refuse the device (reason in errp) */
} IOASIDVfioPlan;

/*
 * @snoop_viommu: a vIOMMU in front of the device relays snoop control
 * (it refuses a notifier that would drop the guest's snoop bits).
 * @coherency, @err: the kernel's answer, to @asked (the call, named in
 * the reason given on REFUSE).  @name: the device, for that reason.
 */
IOASIDVfioPlan ioasid_vfio_plan(bool snoop_viommu,
                                IOASIDVfioCoherency coherency, int err,
                                const char *asked, const char *name,
                                Error **errp);

/*
 * A kernel's one I/O address space (a type1 container, an iommufd IOAS)
 * and how it maps process memory there.  Each returns 0 or -errno; a
 * @unmap covers whole earlier @map calls only.
 */
typedef struct IOASIDKernelSpace {
    int (*map)(const IOASIDVfioKernel *k, int fd, uint32_t id, hwaddr iova,
               hwaddr size, void *vaddr, bool writable);
    int (*unmap)(const IOASIDVfioKernel *k, int fd, uint32_t id, hwaddr iova,
                 hwaddr size);
} IOASIDKernelSpace;

/*
 * The backend's state for the kernel's address space @id on @fd, mapped
 * by @space, whose coherency the kernel answered (@enforced), with its
 * page sizes and its limit of mappings; the context's IOASID is @id.
 * The kernel context takes it over (ioasid_backend_new_kernel with the
 * ops of that kernel) and frees it when released.
 */
typedef struct IOASIDHostKernel IOASIDHostKernel;
IOASIDHostKernel *ioasid_host_kernel_new(const IOASIDVfioKernel *k,
                                         const IOASIDKernelSpace *space,
                                         int fd, uint32_t id, bool enforced,
                                         bool platform_nosnoop,
                                         uint64_t pgsizes,
                                         uint32_t max_mappings);

/* The same backend; query-ioasid names the kernel */
extern const IOASIDHostOps ioasid_vfio_type1_ops;
extern const IOASIDHostOps ioasid_iommufd_ops;

#endif
