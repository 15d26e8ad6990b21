/*
 * qemu-ioasid: what the host kernel backends' unit tests share: a fake
 * guest RAM, and a context over a backend without QOM
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_UNIT_IOASID_HOST_KERNEL_FAKE_H
#define TESTS_UNIT_IOASID_HOST_KERNEL_FAKE_H

#include "system/ioasid-host-kernel.h"

/* guest RAM: [0, 1M) read-write, [1M, 2M) read-only, nothing above */
#define RAM_SPLIT 0x100000
#define RAM_END 0x200000

/* The two RAM regions */
extern uint8_t fake_ram_low[RAM_SPLIT], fake_ram_high[RAM_SPLIT];

/* IOASIDVfioKernel.ram_ptr over them */
void *fake_ram_ptr(void *opaque, hwaddr addr, hwaddr *len, bool *readonly);

/*
 * A context over @host with @ops, as ioasid_backend_new_kernel() makes it
 * but without QOM, opened, with its one IOASID allocated (checked to be
 * @ioasid); fake_context_free() closes it.
 */
IOASIDBackend *fake_context(const IOASIDHostOps *ops, IOASIDHostKernel *host,
                            uint32_t ioasid);
void fake_context_free(IOASIDBackend *be);

#endif
