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
 * The KVM-VFIO file of a group: known from connect to disconnect, added
 * to KVM only while wanted (see ioasid-assigned.c).
 */
void vfio_ioasid_kvm_group_add(int fd, int groupid);
void vfio_ioasid_kvm_group_del(int fd);
/*
 * @vbasedev of group @group_fd is about to be opened: one that needs KVM
 * whatever its DMA (mdev, non-PCI) gets the file added now.
 */
void vfio_ioasid_kvm_device_attaching(struct VFIODevice *vbasedev,
                                      int group_fd);

/* vfio-pci's life: realize (last step), config writes, reset, exit */
bool vfio_ioasid_pci_realize(struct VFIOPCIDevice *vdev, Error **errp);
void vfio_ioasid_pci_config_written(struct VFIOPCIDevice *vdev,
                                    uint32_t addr, int len);
void vfio_ioasid_pci_reset(struct VFIOPCIDevice *vdev);
void vfio_ioasid_pci_exit(struct VFIOPCIDevice *vdev);

#endif
