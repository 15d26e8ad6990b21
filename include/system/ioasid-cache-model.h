/*
 * qemu-ioasid: the strict no-snoop cache model
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SYSTEM_IOASID_CACHE_MODEL_H
#define SYSTEM_IOASID_CACHE_MODEL_H

#include "exec/hwaddr.h"
#include "exec/memattrs.h"
#include "exec/cpu-cache-model.h"
#include "qapi/qapi-types-ioasid.h"

/* Default and smallest cache-size of -object ioasid,cache-model=strict */
#define IOASID_CACHE_MODEL_DEFAULT_SIZE (8 * 1024 * 1024)
#define IOASID_CACHE_MODEL_MIN_SIZE     4096

/*
 * Attach the machine's strict cache model, holding at most @cache_size
 * bytes of lines (a real cache's capacity: past it the oldest line is
 * evicted).  Fails under KVM, where the CPU runs cache instructions
 * natively.  Called once per strict context; later calls must agree.
 */
bool ioasid_cache_model_enable(uint64_t cache_size, Error **errp);

/* Whether the strict model is attached */
bool ioasid_cache_model_active(void);

/*
 * The host's duty (Linux's 2024 proposal "Enforce CPU cache flush for
 * non-coherent device assignment"): before it maps guest-physical
 * [@gpa, @gpa + @size) so that no-snoop passes, and before it unmaps such
 * a mapping, the host cleans the CPU caches for those pages.  The model
 * also watches the CPU stores to pages while they are so mapped.
 */
void ioasid_cache_model_host_map(hwaddr gpa, hwaddr size);
void ioasid_cache_model_host_unmap(hwaddr gpa, hwaddr size);

/*
 * A device's DMA of @len bytes at guest-physical @gpa, to or from @buf;
 * @nosnoop: the TLPs bypass the CPU caches (unblocked no-snoop).
 */
MemTxResult ioasid_cache_model_dma_rw(hwaddr gpa, uint8_t *buf, hwaddr len,
                                      bool is_write, bool nosnoop);

/* The model's state and counters, for query-noncoherent-dma */
IoasidCacheModelInfo *ioasid_cache_model_info(void);

#endif
