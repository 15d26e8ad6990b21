/*
 * qemu-ioasid: real assigned devices (vfio-pci) under snoop control
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VFIO_IOASID_ASSIGNED_H
#define HW_VFIO_IOASID_ASSIGNED_H

#include "hw/vfio/vfio-container-base.h"

struct VFIODevice;
struct VFIOPCIDevice;

/*
 * A type1 container (@fd, of IOMMU group @groupid) starts following its
 * address space: instead of registering VFIO's memory listener, the
 * caller lets this decide how (VFIO's listener, or the ioasid relay
 * where a vIOMMU with snoop control is in front), or refuse.
 */
bool vfio_ioasid_container_connect(VFIOContainerBase *bcontainer, int fd,
                                   int groupid, Error **errp);
/* Another group joined the container: is it still acceptable? */
bool vfio_ioasid_container_joined(VFIOContainerBase *bcontainer, int fd,
                                  int groupid, Error **errp);
/* The container stops following its address space. */
void vfio_ioasid_container_disconnect(VFIOContainerBase *bcontainer);

/*
 * iommufd: device @vbasedev, bound to its iommufd, is about to be
 * attached in address space @as.  May it be?  Behind a vIOMMU with snoop
 * control only where its host IOMMU forces snooping.
 */
bool vfio_ioasid_iommufd_check(struct VFIODevice *vbasedev, AddressSpace *as,
                               Error **errp);
/*
 * A new iommufd container (IOAS @ioas_id of iommufd @fd) starts following
 * its address space, as vfio_ioasid_container_connect() for type1.
 */
bool vfio_ioasid_iommufd_connect(VFIOContainerBase *bcontainer, int fd,
                                 uint32_t ioas_id, Error **errp);
/*
 * The kernel gave iommufd HWPT @hwpt_id to @vbasedev, which allocated it
 * (the HWPT enforces cache coherency exactly when that device's IOMMU
 * can), or freed it (HWPT @hwpt_id of iommufd @fd).
 */
void vfio_ioasid_iommufd_hwpt_new(struct VFIODevice *vbasedev,
                                  uint32_t hwpt_id);
void vfio_ioasid_iommufd_hwpt_free(int fd, uint32_t hwpt_id);

/*
 * The KVM-VFIO file of a group, or of an iommufd device (its cdev):
 * known from connect to disconnect, added to KVM only while wanted (see
 * ioasid-assigned.c); @fd is the key.
 */
void vfio_ioasid_kvm_group_add(int fd, int groupid);
void vfio_ioasid_kvm_device_file_add(int fd, const char *name);
void vfio_ioasid_kvm_file_del(int fd);
/*
 * @vbasedev, whose file is @fd, is about to be opened (bound): one that
 * needs KVM whatever its DMA (mdev, non-PCI) gets the file added now.
 */
void vfio_ioasid_kvm_device_attaching(struct VFIODevice *vbasedev, int fd);

/* vfio-pci's life: realize (last step), config writes, reset, exit */
bool vfio_ioasid_pci_realize(struct VFIOPCIDevice *vdev, Error **errp);
void vfio_ioasid_pci_config_written(struct VFIOPCIDevice *vdev,
                                    uint32_t addr, int len);
void vfio_ioasid_pci_reset(struct VFIOPCIDevice *vdev);
void vfio_ioasid_pci_exit(struct VFIOPCIDevice *vdev);

#endif
