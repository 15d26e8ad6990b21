/*
 * libqos: an independent model of what intel-iommu grants (placeholder)
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "vtd-oracle.h"
