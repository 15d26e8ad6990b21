/*
 * qemu-ioasid: intel-iommu registers, bits and descriptors as a driver
 * programs them (VT-d specification 10.4, 6.5, 9)
 *
 * Standalone (integer constants only), so that drivers outside QEMU's
 * build use it too: libqos's vtd.c and the nested matrix's inner driver
 * (guest/nested/inner-driver.c).  The oracle (vtd-oracle.c) keeps its own
 * definitions on purpose: it must not share a mistake with the driver.
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QTEST_LIBQOS_VTD_REGS_H
#define QTEST_LIBQOS_VTD_REGS_H

/* Where q35 puts the DMAR unit */
#define QVTD_BASE               0xfed90000ULL

/* Registers (10.4) */
#define QVTD_REG_CAP            0x08
#define QVTD_REG_ECAP           0x10
#define QVTD_REG_GCMD           0x18
#define QVTD_REG_GSTS           0x1c
#define QVTD_REG_RTADDR         0x20
#define QVTD_REG_CCMD           0x28
#define QVTD_REG_FSTS           0x34
#define QVTD_REG_IQH            0x80
#define QVTD_REG_IQT            0x88
#define QVTD_REG_IQA            0x90
#define QVTD_REG_IVA            0xf0
#define QVTD_REG_IOTLB          0xf8
#define QVTD_REG_FRCD           0x220

#define QVTD_CAP_FS1GP          (1ULL << 56)
#define QVTD_ECAP_SC            (1ULL << 7)
#define QVTD_ECAP_PASID         (1ULL << 40)
#define QVTD_ECAP_PSS_SHIFT     35              /* 39:35: PASID bits - 1 */
#define QVTD_ECAP_SMTS          (1ULL << 43)
#define QVTD_ECAP_SLTS          (1ULL << 46)
#define QVTD_ECAP_FLTS          (1ULL << 47)

#define QVTD_GCMD_TE            (1u << 31)
#define QVTD_GCMD_SRTP          (1u << 30)
#define QVTD_GCMD_QIE           (1u << 26)
/* GSTS bits that stay set when written back to GCMD (one-shot bits clear) */
#define QVTD_GSTS_KEEP          ((1u << 31) | (1u << 26) | (1u << 25) | \
                                 (1u << 23))
#define QVTD_GSTS_RTPS          (1u << 30)
#define QVTD_RTADDR_SMT         (1ULL << 10)
#define QVTD_CCMD_ICC           (1ULL << 63)
#define QVTD_IOTLB_IVT          (1ULL << 63)
#define QVTD_FSTS_PPF           (1u << 1)
#define QVTD_FSTS_IQE           (1u << 4)
#define QVTD_FRCD_F             (1ULL << 63)
#define QVTD_IQA_DW_256         (1ULL << 11)

/* Invalidation descriptor types and bits (6.5.2) */
#define QVTD_DESC_CC            1
#define QVTD_DESC_IOTLB         2
#define QVTD_DESC_WAIT          5
#define QVTD_DESC_PIOTLB        6
#define QVTD_DESC_PC            7
#define QVTD_DESC_WAIT_SW       (1ULL << 5)
#define QVTD_DESC_IOTLB_DR      (1ULL << 7)
#define QVTD_DESC_IOTLB_DW      (1ULL << 6)

/* Second-level paging entries (9.8) */
#define QVTD_SL_R               (1ULL << 0)
#define QVTD_SL_W               (1ULL << 1)
#define QVTD_SL_PS              (1ULL << 7)     /* large page (2M/1G) */
#define QVTD_SL_SNP             (1ULL << 11)    /* snoop behaviour */
#define QVTD_SL_RW              (QVTD_SL_R | QVTD_SL_W)
#define QVTD_PTE_ADDR_MASK      0x000ffffffffff000ULL

/* Scalable-mode PASID entry (9.6): quadword 0, and PGSNP in quadword 1 */
#define QVTD_PE_P               (1ULL << 0)
#define QVTD_PE_AW48            (2ULL << 2)     /* AW=2: 48 bits */
#define QVTD_PE_PGTT_FS         (1ULL << 6)     /* first-stage */
#define QVTD_PE_PGTT_SS         (2ULL << 6)     /* second-stage */
#define QVTD_PE_PGTT_PT         (4ULL << 6)     /* pass-through */
#define QVTD_PE_PGTT_MASK       (7ULL << 6)
#define QVTD_PE_PGSNP           (1ULL << 24)    /* bit 88 */

/* First-stage paging entries (9.7): the IA-32e format */
#define QVTD_FS_P               (1ULL << 0)
#define QVTD_FS_RW              (1ULL << 1)
#define QVTD_FS_US              (1ULL << 2)     /* user: every DMA is */
#define QVTD_FS_A               (1ULL << 5)
#define QVTD_FS_D               (1ULL << 6)
#define QVTD_FS_PS              (1ULL << 7)     /* large page (2M/1G) */
#define QVTD_FS_XD              (1ULL << 63)
/* What Linux puts in first-stage entries: it presets accessed and dirty */
#define QVTD_FS_DIR             (QVTD_FS_P | QVTD_FS_RW | QVTD_FS_US | \
                                 QVTD_FS_A)
#define QVTD_FS_RW_LEAF         (QVTD_FS_DIR | QVTD_FS_D)
#define QVTD_FS_RO_LEAF         (QVTD_FS_P | QVTD_FS_US | QVTD_FS_A)

#define QVTD_PAGE_4K            (1ULL << 12)
#define QVTD_PAGE_2M            (1ULL << 21)
#define QVTD_PAGE_1G            (1ULL << 30)

#endif
