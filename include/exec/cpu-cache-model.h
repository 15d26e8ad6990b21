/*
 * qemu-ioasid: the hook through which TCG reports cache-relevant CPU events
 *
 * Under TCG the CPU has no caches: every store lands in RAM at once and
 * cache maintenance instructions are no-ops.  A cache model (at most one
 * per machine) can attach here to see what it needs to give DMA that
 * bypasses the caches its real semantics:
 *
 *  - stores to RAM pages it watches, just before they land (TCG stores
 *    through the notdirty slow path, and address_space_write() into RAM);
 *  - CLFLUSH, CLFLUSHOPT and CLWB of a line, WBINVD and INVD.
 *
 * Without a model attached the only cost is a test of cpu_cache_model
 * on RAM writes done by address_space_write() and in the maintenance
 * instructions' helpers; TCG stores are unaffected, since no page is
 * watched.
 *
 * Watching uses a dirty-memory client of its own: a watched page has its
 * DIRTY_MEMORY_CACHE_MODEL bit clear, which keeps TLB_NOTDIRTY on its TLB
 * entries, so every TCG store to it takes the slow path and is reported.
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef EXEC_CPU_CACHE_MODEL_H
#define EXEC_CPU_CACHE_MODEL_H

#include "exec/cpu-common.h"

/* The x86 cache maintenance instructions a model sees */
typedef enum CPUCacheOp {
    CPU_CACHE_CLFLUSH,      /* write back if dirty, invalidate a line */
    CPU_CACHE_CLFLUSHOPT,   /* the same, weakly ordered */
    CPU_CACHE_CLWB,         /* write back if dirty, may keep the line */
    CPU_CACHE_WBINVD,       /* write back and invalidate every line */
    CPU_CACHE_INVD,         /* invalidate every line */
    CPU_CACHE_OP__MAX,
} CPUCacheOp;

/* One cache line of the x86 CPUs QEMU models (CPUID.01H:EBX[15:8] = 8) */
#define CPU_CACHE_LINE_SIZE 64

typedef struct CPUCacheModelOps {
    /*
     * RAM [@addr, @addr + @len) is about to be written through the CPU
     * caches; called only when the range touches a watched page, before
     * the bytes land.  May run in any vCPU thread, without the BQL.
     */
    void (*store)(ram_addr_t addr, ram_addr_t len);
    /*
     * A CPU executes @op.  Line operations pass the RAM address of the
     * line; they are not reported for lines outside RAM.  Whole-cache
     * operations pass RAM_ADDR_INVALID.  Same threading as @store.
     */
    void (*maintain)(CPUCacheOp op, ram_addr_t addr);
} CPUCacheModelOps;

/* The attached model, or NULL */
extern const CPUCacheModelOps *cpu_cache_model;

/* Attach @ops (NULL: detach).  Call with no vCPU running (at startup). */
void cpu_cache_model_attach(const CPUCacheModelOps *ops);

/*
 * Start (@watch) or stop reporting stores to the pages of RAM
 * [@start, @start + @length), which must lie in one RAMBlock.
 */
void cpu_cache_model_watch(ram_addr_t start, ram_addr_t length, bool watch);

/*
 * Write @buf to RAM [@addr, @addr + @len) (one RAMBlock) without
 * reporting it as a store: the model changes what the CPU sees, e.g.
 * when a stale line is invalidated.  Translated code is invalidated.
 */
void cpu_cache_model_fill(ram_addr_t addr, const void *buf, ram_addr_t len);

/* Host pointer to RAM at @addr, or NULL (the model's reads of RAM) */
void *cpu_cache_model_ram_ptr(ram_addr_t addr);

#endif
