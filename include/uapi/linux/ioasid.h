/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * /dev/ioasid: the I/O address space uAPI of qemu-ioasid
 *
 * This is the interface a host offers to a VMM for devices assigned through
 * /dev/ioasid, in the shape of the 2021 "/dev/ioasid uAPI proposal" (v2):
 * one open file is a *context*; an *IOASID* is an I/O page table of that
 * context; devices are attached to IOASIDs; MAP_DMA/UNMAP_DMA edit an
 * IOASID's page table.  What is new compared with VFIO type1 is no-snoop
 * control:
 *
 *  - an IOASID may be allocated with IOASID_ALLOC_ENFORCE_SNOOP, fixed for
 *    its lifetime: every DMA through it is snooped, whatever the mappings or
 *    the device's TLPs say;
 *  - otherwise each mapping says with IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP
 *    whether the host IOMMU must force snooping for it (the relay of a guest
 *    VT-d SNP bit).
 *
 * Both need a host IOMMU that can force snooping (Intel VT-d ECAP.SC): the
 * IOASID_INFO_CAN_BLOCK_NOSNOOP bit of IOASID_GET_INFO.  The uAPI level that
 * knows about any of this is the IOASID_EXT_DMA_NO_SNOOP extension.
 *
 * All structures start with argsz (the size user space passes in, so that
 * they can grow) and flags; unknown flags are refused with EINVAL.  Every
 * ioctl returns 0 (or the documented positive value) on success and -1 with
 * errno set on failure.  qemu-ioasid's embedded software host implements
 * exactly these semantics in-process (backends/ioasid-soft-host.c).
 */
#ifndef _UAPI_LINUX_IOASID_H
#define _UAPI_LINUX_IOASID_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define IOASID_API_VERSION      1

#define IOASID_TYPE             (';')
#define IOASID_BASE             100

/*
 * IOASID_GET_API_VERSION - _IO(IOASID_TYPE, IOASID_BASE + 0)
 *
 * Returns IOASID_API_VERSION.  No errors.
 */
#define IOASID_GET_API_VERSION  _IO(IOASID_TYPE, IOASID_BASE + 0)

/*
 * IOASID_CHECK_EXTENSION - _IO(IOASID_TYPE, IOASID_BASE + 1), arg: extension
 *
 * Returns 1 if the extension is supported, 0 if not (IOASID_EXT_PASID:
 * see there).  No errors.
 */
#define IOASID_CHECK_EXTENSION  _IO(IOASID_TYPE, IOASID_BASE + 1)

/* IOASID_ALLOC_ENFORCE_SNOOP and IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP exist */
#define IOASID_EXT_DMA_NO_SNOOP 1
/*
 * IOASID_ATTACH_FLAG_PASID exists: returns how many PASIDs a device may
 * have attached at a time (0: none)
 */
#define IOASID_EXT_PASID        2

/*
 * IOASID_GET_INFO - _IO(IOASID_TYPE, IOASID_BASE + 2), arg: struct ioasid_info
 *
 * What the host IOMMU and platform behind this context can do.
 *
 * @flags (out):
 *  IOASID_INFO_CAN_BLOCK_NOSNOOP: the host IOMMU can force snooping (VT-d
 *      ECAP.SC), so ENFORCE_SNOOP and BLOCK_NOSNOOP can be honoured.
 *  IOASID_INFO_PLATFORM_NOSNOOP: the platform honours no-snoop TLPs: DMA
 *      that is not forced to snoop may bypass the CPU caches.
 * @pgsize_bitmap (out): supported mapping granularities (bit n: 2^n bytes).
 * @max_mappings (out): the most mappings one IOASID may hold at a time
 *      (like VFIO type1's dma_entry_limit); filled in if @argsz covers it.
 *
 * Errors: EINVAL if argsz is smaller than the structure up to @pgsize_bitmap.
 */
struct ioasid_info {
    __u32    argsz;
    __u32    flags;
#define IOASID_INFO_CAN_BLOCK_NOSNOOP    (1 << 0)
#define IOASID_INFO_PLATFORM_NOSNOOP    (1 << 1)
    __u64    pgsize_bitmap;
    __u32    max_mappings;
    __u32    __reserved;
};
#define IOASID_GET_INFO         _IO(IOASID_TYPE, IOASID_BASE + 2)

/*
 * IOASID_ALLOC - _IO(IOASID_TYPE, IOASID_BASE + 3), arg: struct ioasid_alloc
 *
 * Allocate an empty I/O address space.
 *
 * @flags (in):
 *  IOASID_ALLOC_ENFORCE_SNOOP: every DMA through this IOASID is snooped,
 *      for its whole lifetime, whatever its mappings say.
 * @ioasid (out): the new IOASID, > 0.
 *
 * Errors: EINVAL (argsz, unknown flags); EOPNOTSUPP (ENFORCE_SNOOP on a
 * host that cannot block no-snoop); ENOSPC (no IOASID left).
 */
struct ioasid_alloc {
    __u32    argsz;
    __u32    flags;
#define IOASID_ALLOC_ENFORCE_SNOOP    (1 << 0)
    __u32    ioasid;
    __u32    __reserved;
};
#define IOASID_ALLOC            _IO(IOASID_TYPE, IOASID_BASE + 3)

/*
 * IOASID_FREE - _IO(IOASID_TYPE, IOASID_BASE + 4), arg: ioasid
 *
 * Free an IOASID and all its mappings.
 *
 * Errors: ENOENT (no such IOASID); EBUSY (devices still attached).
 */
#define IOASID_FREE             _IO(IOASID_TYPE, IOASID_BASE + 4)

/*
 * IOASID_MAP_DMA - _IO(IOASID_TYPE, IOASID_BASE + 5)
 *     arg: struct ioasid_dma_map
 *
 * Map [iova, iova + size) of @ioasid to the caller's memory at @vaddr.  In
 * qemu-ioasid's embedded host the caller's memory is the guest's physical
 * address space, so @vaddr is a guest-physical address.
 *
 * @flags (in):
 *  IOASID_DMA_MAP_FLAG_READ: the device may read;
 *  IOASID_DMA_MAP_FLAG_WRITE: the device may write;
 *  IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP: the host IOMMU forces snooping on
 *      this range (VT-d second-level SNP).  At least one of READ and WRITE.
 * @iova, @size, @vaddr: aligned to the smallest page size of pgsize_bitmap;
 *      @size > 0 and the range must not wrap.
 *
 * A new mapping never replaces an existing one.  A mapping is the unit of
 * unmapping: it is never split (see IOASID_UNMAP_DMA).
 *
 * Errors: EINVAL (argsz, unknown flags, no permission, misaligned, zero or
 * wrapping range); ENOENT (no such IOASID); EEXIST (overlaps an existing
 * mapping); EOPNOTSUPP (BLOCK_NOSNOOP on a host that cannot block no-snoop);
 * ENOSPC (the IOASID already holds max_mappings mappings, see
 * IOASID_GET_INFO); ENOMEM.
 */
struct ioasid_dma_map {
    __u32    argsz;
    __u32    flags;
#define IOASID_DMA_MAP_FLAG_READ        (1 << 0)
#define IOASID_DMA_MAP_FLAG_WRITE        (1 << 1)
#define IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP    (1 << 2)
    __u32    ioasid;
    __u32    __reserved;
    __u64    vaddr;
    __u64    iova;
    __u64    size;
};
#define IOASID_MAP_DMA          _IO(IOASID_TYPE, IOASID_BASE + 5)

/*
 * IOASID_UNMAP_DMA - _IO(IOASID_TYPE, IOASID_BASE + 6)
 *     arg: struct ioasid_dma_unmap
 *
 * Unmap every mapping inside [iova, iova + size) of @ioasid.  As with VFIO
 * type1, mappings are removed whole: a range that starts or ends inside a
 * mapping is refused (EINVAL) and nothing is unmapped, so a caller that
 * lost track of its mappings finds out instead of leaving a part mapped.
 * Unmapping a range that holds no mapping is not an error.
 *
 * @size (in/out): on return, the number of bytes that were unmapped.
 *
 * Errors: EINVAL (argsz, flags != 0, misaligned, zero or wrapping range,
 * or the range would split a mapping); ENOENT (no such IOASID).
 */
struct ioasid_dma_unmap {
    __u32    argsz;
    __u32    flags;
    __u32    ioasid;
    __u32    __reserved;
    __u64    iova;
    __u64    size;
};
#define IOASID_UNMAP_DMA        _IO(IOASID_TYPE, IOASID_BASE + 6)

/*
 * IOASID_ATTACH_DEVICE / IOASID_DETACH_DEVICE -
 *     _IO(IOASID_TYPE, IOASID_BASE + 7 / + 8), arg: struct ioasid_device_attach
 *
 * Attach a device to an IOASID: from then on its DMA is translated by that
 * IOASID's mappings.  Without IOASID_ATTACH_FLAG_PASID that is its
 * requests without PASID, and a device is attached so to at most one
 * IOASID.  With it, its requests with PASID @pasid: each (device, PASID)
 * is attached to at most one IOASID, and a device has at most as many
 * PASIDs attached at a time as IOASID_CHECK_EXTENSION(IOASID_EXT_PASID)
 * says.  Several devices and PASIDs may share an IOASID.
 *
 * @dev_id (in): the device's handle in this context (in the VFIO design,
 *      what binding the device fd to the ioasid fd returned).
 * @pasid (in, with IOASID_ATTACH_FLAG_PASID): below 2^20.  The first 16
 *      bytes are the structure of the first version: a caller that passes
 *      no flag may pass an @argsz of 16.
 *
 * Errors: EINVAL (argsz, unknown flags, @pasid out of range); ENOENT (no
 * such IOASID; or, for DETACH, the device (PASID) is not attached to it);
 * EBUSY (ATTACH of a device (PASID) that is already attached); ENOSPC
 * (ATTACH of one PASID too many for the device); EOPNOTSUPP (PASIDs on a
 * host without IOASID_EXT_PASID).
 */
struct ioasid_device_attach {
    __u32    argsz;
    __u32    flags;
#define IOASID_ATTACH_FLAG_PASID    (1 << 0)
    __u32    ioasid;
    __u32    dev_id;
    __u32    pasid;
    __u32    __reserved;
};
#define IOASID_ATTACH_V1_SIZE   16
/* PASIDs are 20 bits (PCIe PASID TLP prefix) */
#define IOASID_PASID_BITS       20
#define IOASID_ATTACH_DEVICE    _IO(IOASID_TYPE, IOASID_BASE + 7)
#define IOASID_DETACH_DEVICE    _IO(IOASID_TYPE, IOASID_BASE + 8)

#endif /* _UAPI_LINUX_IOASID_H */
