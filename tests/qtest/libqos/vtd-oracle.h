/*
 * libqos: an independent model of what intel-iommu grants (placeholder)
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QTEST_LIBQOS_VTD_ORACLE_H
#define QTEST_LIBQOS_VTD_ORACLE_H

#include "vtd.h"

#endif
