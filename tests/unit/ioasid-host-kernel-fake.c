/*
 * qemu-ioasid: what the host kernel backends' unit tests share
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "ioasid-host-kernel-fake.h"

uint8_t fake_ram_low[RAM_SPLIT], fake_ram_high[RAM_SPLIT];

void *fake_ram_ptr(void *opaque, hwaddr addr, hwaddr *len, bool *readonly)
{
    hwaddr end = addr < RAM_SPLIT ? RAM_SPLIT : RAM_END;

    if (addr >= RAM_END) {
        return NULL;
    }
    *len = MIN(*len, end - addr);
    *readonly = addr >= RAM_SPLIT;
    return addr < RAM_SPLIT ? &fake_ram_low[addr]
                            : &fake_ram_high[addr - RAM_SPLIT];
}

IOASIDBackend *fake_context(const IOASIDHostOps *ops, IOASIDHostKernel *host,
                            uint32_t ioasid)
{
    IOASIDBackend *be = g_new0(IOASIDBackend, 1);
    uint32_t got = 0;

    be->ops = ops;
    be->host = host;
    be->devices = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    g_assert_true(be->ops->open(be, &error_abort));
    g_assert_cmpint(be->ops->alloc(be, 0, &got), ==, 0);
    g_assert_cmpuint(got, ==, ioasid);
    return be;
}

void fake_context_free(IOASIDBackend *be)
{
    be->ops->close(be);
    g_hash_table_destroy(be->devices);
    g_free(be);
}
