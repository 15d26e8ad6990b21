/*
 * qemu-ioasid: ioasid-vfio PCI identity and BAR0 register contract
 *
 * Shared by the device model and its drivers (qtest, guest drivers); the
 * datasheet is docs/specs/ioasid-vfio.rst.
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VFIO_IOASID_VFIO_REGS_H
#define HW_VFIO_IOASID_VFIO_REGS_H

/* PCI identity */
#define IOASID_VFIO_VENDOR_ID   0x1234
#define IOASID_VFIO_DEVICE_ID   0x10a5
#define IOASID_VFIO_REVISION    0x01

/* BAR0 registers (little-endian) */
#define IOASID_VFIO_REG_ID              0x00    /* RO32 */
#define IOASID_VFIO_REG_SRC             0x08    /* RW64 */
#define IOASID_VFIO_REG_DST             0x10    /* RW64 */
#define IOASID_VFIO_REG_LEN             0x18    /* RW32 */
#define IOASID_VFIO_REG_CMD             0x1c    /* RW32 */
#define IOASID_VFIO_REG_STATUS          0x20    /* RW32, DONE/ERROR W1C */
#define IOASID_VFIO_REG_PATTERN         0x24    /* RW32 */
#define IOASID_VFIO_REG_FAULT_ADDR      0x28    /* RO64 */
#define IOASID_VFIO_REG_NOSNOOP_BYTES   0x30    /* RO64 */
#define IOASID_VFIO_REG_PASID           0x38    /* RW32 */
#define IOASID_VFIO_BAR_SIZE            0x1000

#define IOASID_VFIO_ID_VALUE            0x494f4131  /* "IOA1" */

#define IOASID_VFIO_CMD_START           (1u << 0)
#define IOASID_VFIO_CMD_OP_SHIFT        1
#define IOASID_VFIO_CMD_OP_MASK         (3u << IOASID_VFIO_CMD_OP_SHIFT)
#define IOASID_VFIO_OP_COPY             0
#define IOASID_VFIO_OP_FILL             1
#define IOASID_VFIO_CMD_NOSNOOP         (1u << 8)

#define IOASID_VFIO_STATUS_BUSY         (1u << 0)
#define IOASID_VFIO_STATUS_DONE         (1u << 1)
#define IOASID_VFIO_STATUS_ERROR        (1u << 2)
#define IOASID_VFIO_STATUS_CODE_SHIFT   8
#define IOASID_VFIO_STATUS_CODE_MASK    (0xffu << IOASID_VFIO_STATUS_CODE_SHIFT)

#define IOASID_VFIO_ERR_NO_MAPPING      1   /* no host mapping for an IOVA */
#define IOASID_VFIO_ERR_PERMISSION      2   /* host mapping forbids access */
#define IOASID_VFIO_ERR_BAD_ARGUMENT    3   /* LEN, op or range invalid */
#define IOASID_VFIO_ERR_NO_BUS_MASTER   4   /* Bus Master Enable is clear */
#define IOASID_VFIO_ERR_PASID_DISABLED  5   /* VALID, PASID Enable clear */

/* PASID: the PASID of the DMA engine's requests, while VALID is set */
#define IOASID_VFIO_PASID_VALID         (1u << 31)
#define IOASID_VFIO_PASID_MASK          0xfffffu

/* The PCIe PASID Extended Capability, in configuration space */
#define IOASID_VFIO_PASID_CAP_OFFSET    0x100
#define IOASID_VFIO_PASID_WIDTH         20
/* PASIDs a device may have in use (attached to the host) at a time */
#define IOASID_VFIO_MAX_PASIDS          64

#define IOASID_VFIO_MAX_LEN             (1u << 20)

#endif
