/*
 * qemu-ioasid: the strict no-snoop cache model (ioasid cache-model=strict)
 *
 * Under TCG every DMA is coherent.  This model gives DMA that bypasses the
 * CPU caches (unblocked no-snoop, exactly the bytes ioasid-vfio counts in
 * NOSNOOP_BYTES) the semantics it has on hardware, worst case: the CPU
 * caches every line and never evicts one by itself (until the model is
 * full).  Documented in docs/devel/ioasid-cache-model.rst.
 *
 * Invariants (one lock, ioasid_cache.lock, guards all of them):
 *  - RAM holds what the CPU sees, i.e. the CPU caches in front of memory.
 *    Memory differs from RAM only in lines the model holds: for those,
 *    line->mem is memory's copy.
 *  - The model holds a line exactly while it is dirty (the CPU stored to
 *    it since its last writeback: memory is older than RAM) or pending (a
 *    no-snoop write put data in memory the CPU does not see: RAM is
 *    older than memory), or both (a flush will lose the device's data).
 *  - CPU stores are seen only on watched pages: those some host mapping
 *    lets no-snoop through.  Only no-snoop DMA can tell memory from the
 *    caches, and it reaches only watched pages; the host cleans a page's
 *    lines before it starts or stops letting no-snoop through.
 *  - Memory is bounded: at most capacity lines (cache-size), one watched
 *    range per host mapping that lets no-snoop through (max-mappings per
 *    IOASID).  Neither grows with guest RAM.
 *
 * Lines are keyed by RAM address (ram_addr_t), so aliases of the same RAM
 * (e.g. the PC's high-memory alias) are one line, as in a cache.
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/interval-tree.h"
#include "qemu/lockable.h"
#include "qemu/queue.h"
#include "qemu/rcu.h"
#include "qemu/thread.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-ioasid.h"
#include "exec/address-spaces.h"
#include "exec/memory.h"
#include "migration/blocker.h"
#include "system/kvm.h"
#include "system/ioasid-cache-model.h"
#include "system/ioasid-noncoherent.h"
#include "trace.h"

#define LINE_SIZE           CPU_CACHE_LINE_SIZE
#define LINE_ALIGN(a)       QEMU_ALIGN_DOWN((a), LINE_SIZE)

typedef struct IOASIDCacheLine {
    ram_addr_t addr;            /* first byte; the key of lines */
    bool dirty;                 /* CPU stored since its last writeback */
    bool pending;               /* no-snoop wrote data the CPU does not see */
    uint8_t mem[LINE_SIZE];     /* memory's copy of the line */
    QTAILQ_ENTRY(IOASIDCacheLine) next;   /* oldest first */
} IOASIDCacheLine;

/* A RAM range some host mapping lets no-snoop through */
typedef struct IOASIDCacheWatch {
    IntervalTreeNode node;      /* [start, last] in RAM addresses */
    QSLIST_ENTRY(IOASIDCacheWatch) next;
} IOASIDCacheWatch;

/*
 * One such host mapping, by guest-physical range, with the RAM pieces it
 * covered when it was made: the guest can change what a guest-physical
 * address is (PAM, SMRAM, hot-plug) before the mapping goes, and the
 * pieces it watches must go with it all the same.
 */
typedef struct IOASIDCacheMapping {
    IntervalTreeNode node;      /* [start, last] guest-physical */
    QSLIST_HEAD(, IOASIDCacheWatch) pieces;
} IOASIDCacheMapping;

static struct {
    QemuMutex lock;
    bool active;
    uint64_t cache_size;
    uint64_t capacity;          /* lines */
    GHashTable *lines;          /* &line->addr -> line */
    QTAILQ_HEAD(, IOASIDCacheLine) order;
    uint64_t dirty_lines;
    uint64_t pending_lines;
    IntervalTreeRoot watched;   /* IOASIDCacheWatch */
    uint64_t watched_ranges;
    IntervalTreeRoot mappings;  /* IOASIDCacheMapping */
    Error *migration_blocker;
    IoasidCacheModelInfo stats; /* the counters */
} ioasid_cache;

/* ---- lines ---- */

static IOASIDCacheLine *cache_line_find(ram_addr_t addr)
{
    return g_hash_table_lookup(ioasid_cache.lines, &addr);
}

static void cache_line_set(IOASIDCacheLine *line, bool dirty, bool pending)
{
    ioasid_cache.dirty_lines += (int)dirty - (int)line->dirty;
    ioasid_cache.pending_lines += (int)pending - (int)line->pending;
    line->dirty = dirty;
    line->pending = pending;
}

static void cache_line_drop(IOASIDCacheLine *line)
{
    cache_line_set(line, false, false);
    QTAILQ_REMOVE(&ioasid_cache.order, line, next);
    g_hash_table_remove(ioasid_cache.lines, &line->addr);
    g_free(line);
}

/*
 * Write back and invalidate @line (CLFLUSH, honoured WBINVD, the host's
 * flush, eviction).  A dirty line's CPU copy goes to memory, over any
 * data a device wrote there: that data is lost.  A clean pending line is
 * just invalidated: the CPU reads memory, the device's data, from now on.
 */
static void cache_line_flush(IOASIDCacheLine *line, const char *why)
{
    if (line->dirty) {
        if (line->pending) {
            ioasid_cache.stats.lost_writes++;
            trace_ioasid_cache_lost_write(line->addr, why);
        }
    } else if (line->pending) {
        cpu_cache_model_fill(line->addr, line->mem, LINE_SIZE);
        trace_ioasid_cache_line_visible(line->addr, why);
    }
    cache_line_drop(line);
}

/*
 * The line at @addr, which the model starts to hold if needed: memory and
 * the CPU agree on it then, so memory's copy is what RAM holds.
 */
static IOASIDCacheLine *cache_line_get(ram_addr_t addr)
{
    IOASIDCacheLine *line = cache_line_find(addr);

    if (line) {
        return line;
    }
    if (g_hash_table_size(ioasid_cache.lines) >= ioasid_cache.capacity) {
        ioasid_cache.stats.evictions++;
        cache_line_flush(QTAILQ_FIRST(&ioasid_cache.order), "eviction");
    }
    line = g_new0(IOASIDCacheLine, 1);
    line->addr = addr;
    memcpy(line->mem, cpu_cache_model_ram_ptr(addr), LINE_SIZE);
    QTAILQ_INSERT_TAIL(&ioasid_cache.order, line, next);
    g_hash_table_insert(ioasid_cache.lines, &line->addr, line);
    return line;
}

/* Flush every line in RAM [start, start + len) */
static void cache_flush_range(ram_addr_t start, ram_addr_t len,
                              const char *why)
{
    IOASIDCacheLine *line, *tmp;
    ram_addr_t a;

    if (len / LINE_SIZE > g_hash_table_size(ioasid_cache.lines)) {
        QTAILQ_FOREACH_SAFE(line, &ioasid_cache.order, next, tmp) {
            if (line->addr >= start && line->addr - start < len) {
                cache_line_flush(line, why);
            }
        }
        return;
    }
    for (a = LINE_ALIGN(start); a < start + len; a += LINE_SIZE) {
        line = cache_line_find(a);
        if (line) {
            cache_line_flush(line, why);
        }
    }
}

static void cache_flush_all(const char *why)
{
    while (!QTAILQ_EMPTY(&ioasid_cache.order)) {
        cache_line_flush(QTAILQ_FIRST(&ioasid_cache.order), why);
    }
}

/* ---- what the CPU does (exec/cpu-cache-model.h) ---- */

static bool cache_watched(ram_addr_t addr)
{
    return interval_tree_iter_first(&ioasid_cache.watched, addr, addr);
}

/* A CPU store is about to land in [addr, addr + len): those lines are dirty */
static void ioasid_cache_store(ram_addr_t addr, ram_addr_t len)
{
    ram_addr_t a;

    QEMU_LOCK_GUARD(&ioasid_cache.lock);
    for (a = LINE_ALIGN(addr); a < addr + len; a += LINE_SIZE) {
        IOASIDCacheLine *line;

        if (!cache_watched(a)) {
            continue;
        }
        line = cache_line_get(a);
        if (!line->dirty) {
            trace_ioasid_cache_dirty(a, line->pending);
        }
        cache_line_set(line, true, line->pending);
    }
}

/* WBINVD and INVD reach the caches only where KVM would run them */
static void ioasid_cache_whole(CPUCacheOp op)
{
    bool honoured = ioasid_noncoherent_registered();
    bool wbinvd = op == CPU_CACHE_WBINVD;

    trace_ioasid_cache_whole(wbinvd ? "wbinvd" : "invd", honoured,
                             g_hash_table_size(ioasid_cache.lines));
    if (!honoured) {
        if (wbinvd) {
            ioasid_cache.stats.wbinvd_ignored++;
        } else {
            ioasid_cache.stats.invd_ignored++;
        }
        return;
    }
    if (wbinvd) {
        ioasid_cache.stats.wbinvd_honoured++;
    } else {
        ioasid_cache.stats.invd_honoured++;
    }
    /*
     * A host never lets a guest discard dirty lines (they may hold another
     * VM's or the host's data): an honoured INVD writes back, as WBINVD.
     */
    cache_flush_all(wbinvd ? "wbinvd" : "invd");
}

static void ioasid_cache_maintain(CPUCacheOp op, ram_addr_t addr)
{
    IOASIDCacheLine *line;

    QEMU_LOCK_GUARD(&ioasid_cache.lock);
    switch (op) {
    case CPU_CACHE_WBINVD:
    case CPU_CACHE_INVD:
        ioasid_cache_whole(op);
        return;
    case CPU_CACHE_CLFLUSH:
    case CPU_CACHE_CLFLUSHOPT:
        if (op == CPU_CACHE_CLFLUSH) {
            ioasid_cache.stats.clflush++;
        } else {
            ioasid_cache.stats.clflushopt++;
        }
        line = cache_line_find(addr);
        trace_ioasid_cache_line_op(op == CPU_CACHE_CLFLUSH ? "clflush"
                                                           : "clflushopt",
                                   addr, line && line->dirty,
                                   line && line->pending);
        if (line) {
            cache_line_flush(line, "clflush");
        }
        return;
    case CPU_CACHE_CLWB:
        ioasid_cache.stats.clwb++;
        line = cache_line_find(addr);
        trace_ioasid_cache_line_op("clwb", addr, line && line->dirty,
                                   line && line->pending);
        /*
         * CLWB writes a dirty line back and may keep it: memory and the
         * CPU agree afterwards.  A clean line stays as it is, so a stale
         * copy stays stale: CLWB cannot make a device's write visible.
         */
        if (line && line->dirty) {
            cache_line_flush(line, "clwb");
        }
        return;
    default:
        g_assert_not_reached();
    }
}

static const CPUCacheModelOps ioasid_cache_ops = {
    .store = ioasid_cache_store,
    .maintain = ioasid_cache_maintain,
};

/* ---- guest-physical ranges ---- */

/*
 * Call @fn on each RAM piece of guest-physical [gpa, gpa + size), with the
 * RAM address; other pieces (MMIO, holes) go to @other if given.  Stops
 * at the first error @fn or @other returns.
 */
typedef MemTxResult (*CacheRangeFn)(ram_addr_t addr, hwaddr gpa,
                                    hwaddr len, void *opaque);

static MemTxResult cache_for_each_ram(hwaddr gpa, hwaddr size, bool is_write,
                                      CacheRangeFn fn, CacheRangeFn other,
                                      void *opaque)
{
    MemTxResult r = MEMTX_OK;

    RCU_READ_LOCK_GUARD();
    while (size && r == MEMTX_OK) {
        hwaddr xlat, len = size;
        MemoryRegion *mr = address_space_translate(&address_space_memory,
                                                   gpa, &xlat, &len, is_write,
                                                   MEMTXATTRS_UNSPECIFIED);

        len = MIN(len, size);
        if (memory_region_is_ram(mr) && !memory_region_is_ram_device(mr)) {
            r = fn(memory_region_get_ram_addr(mr) + xlat, gpa, len, opaque);
        } else if (other) {
            r = other(RAM_ADDR_INVALID, gpa, len, opaque);
        }
        gpa += len;
        size -= len;
    }
    return r;
}

/* ---- the host's duty ---- */

static MemTxResult cache_host_map_ram(ram_addr_t addr, hwaddr gpa, hwaddr len,
                                      void *opaque)
{
    IOASIDCacheMapping *m = opaque;
    IOASIDCacheWatch *w = g_new0(IOASIDCacheWatch, 1);

    cache_flush_range(addr, len, "host-map");
    w->node.start = addr;
    w->node.last = addr + len - 1;
    interval_tree_insert(&w->node, &ioasid_cache.watched);
    QSLIST_INSERT_HEAD(&m->pieces, w, next);
    ioasid_cache.watched_ranges++;
    cpu_cache_model_watch(addr, len, true);
    return MEMTX_OK;
}

/* Stop watching what in [start, last] no other watched range covers */
static void cache_unwatch_uncovered(ram_addr_t start, ram_addr_t last)
{
    IntervalTreeNode *n = interval_tree_iter_first(&ioasid_cache.watched,
                                                   start, last);
    ram_addr_t from = start;

    /* overlapping ranges come in order of their start */
    for (; n && from <= last; n = interval_tree_iter_next(n, start, last)) {
        if (n->start > from) {
            cpu_cache_model_watch(from, n->start - from, false);
        }
        if (n->last >= last) {
            return;
        }
        from = MAX(from, n->last + 1);
    }
    if (from <= last) {
        cpu_cache_model_watch(from, last - from + 1, false);
    }
}

static void cache_host_flush_counted(hwaddr gpa, hwaddr size, bool map)
{
    ioasid_cache.stats.host_flushes++;
    ioasid_cache.stats.host_flush_bytes += size;
    trace_ioasid_cache_host_flush(map ? "map" : "unmap", gpa, size);
}

void ioasid_cache_model_host_map(hwaddr gpa, hwaddr size)
{
    IOASIDCacheMapping *m = g_new0(IOASIDCacheMapping, 1);

    QEMU_LOCK_GUARD(&ioasid_cache.lock);
    cache_host_flush_counted(gpa, size, true);
    m->node.start = gpa;
    m->node.last = gpa + size - 1;
    QSLIST_INIT(&m->pieces);
    interval_tree_insert(&m->node, &ioasid_cache.mappings);
    cache_for_each_ram(gpa, size, false, cache_host_map_ram, NULL, m);
}

/* The pieces the mapping of exactly [gpa, gpa + size) watches go. */
void ioasid_cache_model_host_unmap(hwaddr gpa, hwaddr size)
{
    IntervalTreeNode *n;
    IOASIDCacheMapping *m = NULL;
    IOASIDCacheWatch *w;

    QEMU_LOCK_GUARD(&ioasid_cache.lock);
    cache_host_flush_counted(gpa, size, false);
    for (n = interval_tree_iter_first(&ioasid_cache.mappings, gpa, gpa);
         n; n = interval_tree_iter_next(n, gpa, gpa)) {
        if (n->start == gpa && n->last == gpa + size - 1) {
            m = container_of(n, IOASIDCacheMapping, node);
            break;
        }
    }
    if (!m) {
        return;     /* the host maps and unmaps whole mappings: not reached */
    }
    interval_tree_remove(&m->node, &ioasid_cache.mappings);
    while ((w = QSLIST_FIRST(&m->pieces))) {
        QSLIST_REMOVE_HEAD(&m->pieces, next);
        cache_flush_range(w->node.start, w->node.last - w->node.start + 1,
                          "host-unmap");
        interval_tree_remove(&w->node, &ioasid_cache.watched);
        ioasid_cache.watched_ranges--;
        cache_unwatch_uncovered(w->node.start, w->node.last);
        g_free(w);
    }
    g_free(m);
}

/* ---- DMA ---- */

typedef struct CacheDMA {
    uint8_t *buf;
    bool is_write;
    bool nosnoop;
} CacheDMA;

/* No-snoop: memory, not the caches */
static void cache_dma_nosnoop(ram_addr_t addr, uint8_t *buf, hwaddr len,
                              bool is_write)
{
    ram_addr_t a = addr;

    while (a < addr + len) {
        ram_addr_t la = LINE_ALIGN(a);
        hwaddr off = a - la, n = MIN(LINE_SIZE - off, addr + len - a);
        IOASIDCacheLine *line;

        if (is_write) {
            line = cache_line_get(la);
            memcpy(line->mem + off, buf, n);
            if (!line->pending) {
                trace_ioasid_cache_pending(la, line->dirty);
            }
            cache_line_set(line, line->dirty, true);
        } else {
            line = cache_line_find(la);
            if (!line) {
                memcpy(buf, (uint8_t *)cpu_cache_model_ram_ptr(a), n);
            } else {
                memcpy(buf, line->mem + off, n);
                if (line->dirty) {
                    ioasid_cache.stats.stale_reads++;
                    trace_ioasid_cache_stale_read(la);
                }
            }
        }
        buf += n;
        a += n;
    }
}

static MemTxResult cache_dma_ram(ram_addr_t addr, hwaddr gpa, hwaddr len,
                                 void *opaque)
{
    CacheDMA *dma = opaque;

    if (dma->nosnoop) {
        cache_dma_nosnoop(addr, dma->buf, len, dma->is_write);
    } else if (dma->is_write) {
        /* A snooped write takes the lines out of the caches, then lands. */
        cache_flush_range(addr, len, "snoop");
        cpu_cache_model_fill(addr, dma->buf, len);
    } else {
        memcpy(dma->buf, cpu_cache_model_ram_ptr(addr), len);
    }
    dma->buf += len;
    return MEMTX_OK;
}

static MemTxResult cache_dma_other(ram_addr_t addr, hwaddr gpa, hwaddr len,
                                   void *opaque)
{
    CacheDMA *dma = opaque;
    MemTxResult r;

    /* MMIO is not cached: the access is what it is without the model */
    qemu_mutex_unlock(&ioasid_cache.lock);
    r = address_space_rw(&address_space_memory, gpa, MEMTXATTRS_UNSPECIFIED,
                         dma->buf, len, dma->is_write);
    qemu_mutex_lock(&ioasid_cache.lock);
    dma->buf += len;
    return r;
}

MemTxResult ioasid_cache_model_dma_rw(hwaddr gpa, uint8_t *buf, hwaddr len,
                                      bool is_write, bool nosnoop)
{
    CacheDMA dma = { .buf = buf, .is_write = is_write, .nosnoop = nosnoop };

    QEMU_LOCK_GUARD(&ioasid_cache.lock);
    return cache_for_each_ram(gpa, len, is_write, cache_dma_ram,
                              cache_dma_other, &dma);
}

/* ---- setup and QMP ---- */

bool ioasid_cache_model_active(void)
{
    return ioasid_cache.active;
}

bool ioasid_cache_model_enable(uint64_t cache_size, Error **errp)
{
    ERRP_GUARD();
    if (ioasid_cache.active) {
        if (cache_size != ioasid_cache.cache_size) {
            error_setg(errp, "the strict cache model is already attached "
                       "with cache-size=%" PRIu64, ioasid_cache.cache_size);
            return false;
        }
        return true;
    }
    if (kvm_enabled()) {
        error_setg(errp, "cache-model=strict needs TCG: under KVM the CPU "
                   "executes cache maintenance natively and no model can "
                   "see it");
        error_append_hint(errp, "Use cache-model=coherent with KVM.\n");
        return false;
    }
    if (cpu_cache_model) {
        error_setg(errp, "another CPU cache model is already attached");
        return false;
    }
    error_setg(&ioasid_cache.migration_blocker, "the strict cache model "
               "(ioasid cache-model=strict) does not migrate its lines");
    if (migrate_add_blocker(&ioasid_cache.migration_blocker, errp) < 0) {
        return false;
    }
    qemu_mutex_init(&ioasid_cache.lock);
    ioasid_cache.cache_size = cache_size;
    ioasid_cache.capacity = cache_size / LINE_SIZE;
    ioasid_cache.lines = g_hash_table_new(g_int64_hash, g_int64_equal);
    QTAILQ_INIT(&ioasid_cache.order);
    ioasid_cache.active = true;
    cpu_cache_model_attach(&ioasid_cache_ops);
    ioasid_noncoherent_set_cache_info(ioasid_cache_model_info);
    return true;
}

IoasidCacheModelInfo *ioasid_cache_model_info(void)
{
    IoasidCacheModelInfo *info;

    if (!ioasid_cache.active) {
        return NULL;
    }
    QEMU_LOCK_GUARD(&ioasid_cache.lock);
    info = g_memdup2(&ioasid_cache.stats, sizeof(*info));
    info->cache_size = ioasid_cache.cache_size;
    info->lines = g_hash_table_size(ioasid_cache.lines);
    info->pending_lines = ioasid_cache.pending_lines;
    info->dirty_lines = ioasid_cache.dirty_lines;
    info->watched_ranges = ioasid_cache.watched_ranges;
    return info;
}

void qmp_ioasid_cache_model_reset_counters(Error **errp)
{
    if (!ioasid_cache.active) {
        error_setg(errp, "no cache model: no ioasid context has "
                   "cache-model=strict");
        return;
    }
    QEMU_LOCK_GUARD(&ioasid_cache.lock);
    memset(&ioasid_cache.stats, 0, sizeof(ioasid_cache.stats));
}

static MemTxResult cache_line_of(ram_addr_t addr, hwaddr gpa, hwaddr len,
                                 void *opaque)
{
    *(ram_addr_t *)opaque = addr;
    return MEMTX_OK;
}

void qmp_x_ioasid_cpu_cache_op(IoasidCpuCacheOp op, bool has_addr,
                               uint64_t addr, Error **errp)
{
    static const CPUCacheOp ops[IOASID_CPU_CACHE_OP__MAX] = {
        [IOASID_CPU_CACHE_OP_CLFLUSH] = CPU_CACHE_CLFLUSH,
        [IOASID_CPU_CACHE_OP_CLFLUSHOPT] = CPU_CACHE_CLFLUSHOPT,
        [IOASID_CPU_CACHE_OP_CLWB] = CPU_CACHE_CLWB,
        [IOASID_CPU_CACHE_OP_WBINVD] = CPU_CACHE_WBINVD,
        [IOASID_CPU_CACHE_OP_INVD] = CPU_CACHE_INVD,
    };
    bool whole = op == IOASID_CPU_CACHE_OP_WBINVD ||
                 op == IOASID_CPU_CACHE_OP_INVD;
    ram_addr_t ram = RAM_ADDR_INVALID;

    if (!ioasid_cache.active) {
        error_setg(errp, "no cache model: no ioasid context has "
                   "cache-model=strict");
        return;
    }
    if (whole != !has_addr) {
        error_setg(errp, whole ? "'%s' applies to the whole cache: give no "
                   "'addr'" : "'%s' needs the 'addr' of a line",
                   IoasidCpuCacheOp_str(op));
        return;
    }
    if (!whole) {
        cache_for_each_ram(LINE_ALIGN(addr), 1, false, cache_line_of, NULL,
                           &ram);
        if (ram == RAM_ADDR_INVALID) {
            error_setg(errp, "guest-physical address 0x%" PRIx64 " is not "
                       "RAM", addr);
            return;
        }
    }
    ioasid_cache_maintain(ops[op], ram);
}
