/*
 * qemu-ioasid: the embedded software host (/dev/ioasid semantics in-process)
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Invariants of the mapping table of an IOASID (IOASIDSoftSpace.mappings):
 *  - mappings never overlap: MAP_DMA over any mapped byte fails (EEXIST);
 *  - a mapping's flags are uniform over its whole range;
 *  - a mapping is created by exactly one MAP_DMA call and removed whole by
 *    UNMAP_DMA, never merged nor split: UNMAP_DMA of a range that would
 *    split one fails (EINVAL) and changes nothing, as in VFIO type1, so a
 *    table always shows exactly the calls the host was given and a caller
 *    that loses track of its mappings is told (coalescing is the caller's
 *    business);
 *  - an IOASID holds at most max_mappings mappings (ENOSPC past it);
 *  - every range is aligned to IOASID_SOFT_PAGE_SIZE;
 *  - mappings_count and nosnoop_mappings count all mappings and those
 *    without BLOCK_NOSNOOP;
 *  - the flush hook, if set, is called before every mapping that lets
 *    no-snoop through (no BLOCK_NOSNOOP, IOASID not enforcing, platform
 *    honouring no-snoop) is created and before it is removed.
 * Attachments: a device's requests without PASID go through at most one
 * IOASID, and so do its requests with each PASID; a device has at most
 * IOASID_SOFT_MAX_PASIDS PASIDs attached at a time (ENOSPC past it), so
 * the table of attachments is bounded by the bound devices.  An IOASID
 * with attachments cannot be freed.  There is no locking: QEMU calls the
 * host with the BQL held.
 */

#include "qemu/osdep.h"
#include "qemu/interval-tree.h"
#include "system/ioasid-soft-host.h"
#include "system/ioasid.h"

#define IOASID_SOFT_PAGE_SIZE   4096ULL
#define IOASID_SOFT_PGSIZES     ((1ULL << 12) | (1ULL << 21) | (1ULL << 30))
#define IOASID_SOFT_MAX_IOASIDS 65535
/* PASIDs a device may have attached at a time (IOASID_EXT_PASID) */
#define IOASID_SOFT_MAX_PASIDS  64

typedef struct IOASIDSoftMapping {
    IntervalTreeNode node;      /* [iova, iova + size - 1] */
    uint64_t addr;
    uint32_t flags;
} IOASIDSoftMapping;

typedef struct IOASIDSoftSpace {
    IOASIDSoftHost *host;
    uint32_t id;
    bool enforce_snoop;
    IntervalTreeRoot mappings;
    uint64_t mappings_count;    /* all mappings */
    uint64_t nosnoop_mappings;  /* mappings without BLOCK_NOSNOOP */
    unsigned int ndevices;      /* attachments (device, PASID) */
    uint64_t map_calls;
    uint64_t unmap_calls;
    uint64_t failed_calls;
    uint64_t quota_refused;
} IOASIDSoftSpace;

struct IOASIDSoftHost {
    uint32_t info_flags;        /* IOASID_INFO_* */
    uint32_t max_mappings;
    GTree *spaces;              /* IOASID -> IOASIDSoftSpace */
    /* attachment key (see ioasid_soft_key()) -> IOASIDSoftSpace */
    GTree *devices;
    GHashTable *pasids;         /* dev_id -> PASIDs attached (count) */
    uint32_t next_id;
    IOASIDHostFlushFn *flush;
    void *flush_opaque;
};

static gint ioasid_soft_cmp_u32(gconstpointer a, gconstpointer b,
                                gpointer unused)
{
    uint32_t x = GPOINTER_TO_UINT(a), y = GPOINTER_TO_UINT(b);

    return x < y ? -1 : x > y;
}

/*
 * The key of an attachment: the device in the low 32 bits, the PASID plus
 * one above (0: requests without PASID), so that a device's attachments
 * are neighbours, its requests without PASID first.
 */
static uint64_t ioasid_soft_key(uint32_t dev_id, uint32_t pasid)
{
    return dev_id | (pasid == IOASID_NO_PASID ? 0
                     : ((uint64_t)pasid + 1) << 32);
}

static gint ioasid_soft_cmp_key(gconstpointer a, gconstpointer b,
                                gpointer unused)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Whether DMA through mapping @flags of @space can bypass the CPU caches */
static bool ioasid_soft_nosnoop_passes(IOASIDSoftSpace *space, uint32_t flags)
{
    return !(flags & IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP) &&
           !space->enforce_snoop &&
           (space->host->info_flags & IOASID_INFO_PLATFORM_NOSNOOP);
}

static void ioasid_soft_remove(IOASIDSoftSpace *space, IOASIDSoftMapping *m)
{
    IOASIDSoftHost *host = space->host;

    if (host->flush && ioasid_soft_nosnoop_passes(space, m->flags)) {
        host->flush(host->flush_opaque, m->addr,
                    m->node.last - m->node.start + 1, false);
    }
    interval_tree_remove(&m->node, &space->mappings);
    space->mappings_count--;
    if (!(m->flags & IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP)) {
        space->nosnoop_mappings--;
    }
    g_free(m);
}

static void ioasid_soft_space_clear(IOASIDSoftSpace *space)
{
    IntervalTreeNode *n;

    while ((n = interval_tree_iter_first(&space->mappings, 0, UINT64_MAX))) {
        ioasid_soft_remove(space, container_of(n, IOASIDSoftMapping, node));
    }
}

static void ioasid_soft_space_destroy(gpointer p)
{
    IOASIDSoftSpace *space = p;

    ioasid_soft_space_clear(space);
    g_free(space);
}

IOASIDSoftHost *ioasid_soft_host_new(bool can_block_nosnoop,
                                     bool platform_nosnoop,
                                     uint32_t max_mappings)
{
    IOASIDSoftHost *host = g_new0(IOASIDSoftHost, 1);

    host->max_mappings = max_mappings;
    host->info_flags = (can_block_nosnoop ? IOASID_INFO_CAN_BLOCK_NOSNOOP : 0) |
                       (platform_nosnoop ? IOASID_INFO_PLATFORM_NOSNOOP : 0);
    host->spaces = g_tree_new_full(ioasid_soft_cmp_u32, NULL, NULL,
                                   ioasid_soft_space_destroy);
    host->devices = g_tree_new_full(ioasid_soft_cmp_key, NULL, g_free, NULL);
    host->pasids = g_hash_table_new(NULL, NULL);
    host->next_id = 1;
    return host;
}

void ioasid_soft_host_free(IOASIDSoftHost *host)
{
    if (host) {
        g_tree_destroy(host->devices);
        g_hash_table_destroy(host->pasids);
        g_tree_destroy(host->spaces);
        g_free(host);
    }
}

void ioasid_soft_host_set_flush(IOASIDSoftHost *host,
                                IOASIDHostFlushFn *fn, void *opaque)
{
    host->flush = fn;
    host->flush_opaque = opaque;
}

static IOASIDSoftSpace *ioasid_soft_lookup(IOASIDSoftHost *host, uint32_t id)
{
    return g_tree_lookup(host->spaces, GUINT_TO_POINTER(id));
}

/* A range is valid if non-empty, page aligned and not wrapping. */
static bool ioasid_soft_range_ok(uint64_t iova, uint64_t size)
{
    return size && !(iova & (IOASID_SOFT_PAGE_SIZE - 1)) &&
           !(size & (IOASID_SOFT_PAGE_SIZE - 1)) && iova + size - 1 >= iova;
}

static long ioasid_soft_get_info(IOASIDSoftHost *host, struct ioasid_info *info)
{
    if (info->argsz < endof(struct ioasid_info, pgsize_bitmap)) {
        return -EINVAL;
    }
    info->flags = host->info_flags;
    info->pgsize_bitmap = IOASID_SOFT_PGSIZES;
    if (info->argsz >= endof(struct ioasid_info, max_mappings)) {
        info->max_mappings = host->max_mappings;
    }
    return 0;
}

static long ioasid_soft_alloc(IOASIDSoftHost *host, struct ioasid_alloc *a)
{
    IOASIDSoftSpace *space;
    unsigned int tries;

    if (a->argsz < sizeof(*a) || (a->flags & ~IOASID_ALLOC_ENFORCE_SNOOP)) {
        return -EINVAL;
    }
    if ((a->flags & IOASID_ALLOC_ENFORCE_SNOOP) &&
        !(host->info_flags & IOASID_INFO_CAN_BLOCK_NOSNOOP)) {
        return -EOPNOTSUPP;
    }
    for (tries = 0; ioasid_soft_lookup(host, host->next_id); tries++) {
        if (tries == IOASID_SOFT_MAX_IOASIDS) {
            return -ENOSPC;
        }
        host->next_id = host->next_id % IOASID_SOFT_MAX_IOASIDS + 1;
    }
    space = g_new0(IOASIDSoftSpace, 1);
    space->host = host;
    space->id = host->next_id;
    space->enforce_snoop = a->flags & IOASID_ALLOC_ENFORCE_SNOOP;
    space->mappings = (IntervalTreeRoot) { };
    g_tree_insert(host->spaces, GUINT_TO_POINTER(space->id), space);
    host->next_id = host->next_id % IOASID_SOFT_MAX_IOASIDS + 1;
    a->ioasid = space->id;
    return 0;
}

static long ioasid_soft_free_ioasid(IOASIDSoftHost *host, uint32_t id)
{
    IOASIDSoftSpace *space = ioasid_soft_lookup(host, id);

    if (!space) {
        return -ENOENT;
    }
    if (space->ndevices) {
        return -EBUSY;
    }
    g_tree_remove(host->spaces, GUINT_TO_POINTER(id));
    return 0;
}

static void ioasid_soft_insert(IOASIDSoftSpace *space, uint64_t iova,
                               uint64_t last, uint64_t addr, uint32_t flags)
{
    IOASIDSoftMapping *m = g_new0(IOASIDSoftMapping, 1);
    IOASIDSoftHost *host = space->host;

    if (host->flush && ioasid_soft_nosnoop_passes(space, flags)) {
        host->flush(host->flush_opaque, addr, last - iova + 1, true);
    }
    m->node.start = iova;
    m->node.last = last;
    m->addr = addr;
    m->flags = flags;
    interval_tree_insert(&m->node, &space->mappings);
    space->mappings_count++;
    if (!(flags & IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP)) {
        space->nosnoop_mappings++;
    }
}

static long ioasid_soft_do_map(IOASIDSoftHost *host, IOASIDSoftSpace *space,
                               struct ioasid_dma_map *map)
{
    const uint32_t rw = IOASID_DMA_MAP_FLAG_READ | IOASID_DMA_MAP_FLAG_WRITE;
    const uint32_t known = rw | IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP;

    if ((map->flags & ~known) ||
        !(map->flags & rw) ||
        !ioasid_soft_range_ok(map->iova, map->size) ||
        !ioasid_soft_range_ok(map->vaddr, map->size)) {
        return -EINVAL;
    }
    if ((map->flags & IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP) &&
        !(host->info_flags & IOASID_INFO_CAN_BLOCK_NOSNOOP)) {
        return -EOPNOTSUPP;
    }
    if (interval_tree_iter_first(&space->mappings, map->iova,
                                 map->iova + map->size - 1)) {
        return -EEXIST;
    }
    if (space->mappings_count >= host->max_mappings) {
        space->quota_refused++;
        return -ENOSPC;
    }
    ioasid_soft_insert(space, map->iova, map->iova + map->size - 1,
                       map->vaddr, map->flags);
    return 0;
}

static long ioasid_soft_map(IOASIDSoftHost *host, struct ioasid_dma_map *map)
{
    IOASIDSoftSpace *space;
    long ret;

    if (map->argsz < sizeof(*map)) {
        return -EINVAL;
    }
    space = ioasid_soft_lookup(host, map->ioasid);
    if (!space) {
        return -ENOENT;
    }
    space->map_calls++;
    ret = ioasid_soft_do_map(host, space, map);
    if (ret) {
        space->failed_calls++;
    }
    return ret;
}

static long ioasid_soft_unmap(IOASIDSoftHost *host,
                              struct ioasid_dma_unmap *unmap)
{
    IOASIDSoftSpace *space;
    IntervalTreeNode *n;
    uint64_t first, last, unmapped = 0;

    if (unmap->argsz < sizeof(*unmap)) {
        return -EINVAL;
    }
    space = ioasid_soft_lookup(host, unmap->ioasid);
    if (!space) {
        return -ENOENT;
    }
    space->unmap_calls++;
    if (unmap->flags || !ioasid_soft_range_ok(unmap->iova, unmap->size)) {
        space->failed_calls++;
        return -EINVAL;
    }
    first = unmap->iova;
    last = unmap->iova + unmap->size - 1;
    /* A mapping holding either end, but not starting or ending there */
    n = interval_tree_iter_first(&space->mappings, first, first);
    if (n && n->start != first) {
        space->failed_calls++;
        return -EINVAL;
    }
    n = interval_tree_iter_first(&space->mappings, last, last);
    if (n && n->last != last) {
        space->failed_calls++;
        return -EINVAL;
    }
    while ((n = interval_tree_iter_first(&space->mappings, first, last))) {
        unmapped += n->last - n->start + 1;
        ioasid_soft_remove(space, container_of(n, IOASIDSoftMapping, node));
    }
    unmap->size = unmapped;
    return 0;
}

static long ioasid_soft_attach(IOASIDSoftHost *host,
                               struct ioasid_device_attach *at, bool attach)
{
    bool with_pasid = at->flags & IOASID_ATTACH_FLAG_PASID;
    uint32_t pasid = with_pasid ? at->pasid : IOASID_NO_PASID;
    gpointer count_key = GUINT_TO_POINTER(at->dev_id);
    unsigned count = GPOINTER_TO_UINT(g_hash_table_lookup(host->pasids,
                                                          count_key));
    IOASIDSoftSpace *space, *cur;
    uint64_t key;

    if (at->argsz < IOASID_ATTACH_V1_SIZE ||
        (at->flags & ~IOASID_ATTACH_FLAG_PASID) ||
        (with_pasid && (at->argsz < sizeof(*at) ||
                        at->pasid >= 1u << IOASID_PASID_BITS))) {
        return -EINVAL;
    }
    space = ioasid_soft_lookup(host, at->ioasid);
    if (!space) {
        return -ENOENT;
    }
    key = ioasid_soft_key(at->dev_id, pasid);
    cur = g_tree_lookup(host->devices, &key);
    if (attach) {
        if (cur) {
            return -EBUSY;
        }
        if (with_pasid && count >= IOASID_SOFT_MAX_PASIDS) {
            return -ENOSPC;
        }
        g_tree_insert(host->devices, g_memdup2(&key, sizeof(key)), space);
        space->ndevices++;
        count += with_pasid;
    } else {
        if (cur != space) {
            return -ENOENT;
        }
        g_tree_remove(host->devices, &key);
        space->ndevices--;
        count -= with_pasid;
    }
    if (count) {
        g_hash_table_insert(host->pasids, count_key, GUINT_TO_POINTER(count));
    } else {
        g_hash_table_remove(host->pasids, count_key);
    }
    return 0;
}

long ioasid_soft_host_ioctl(IOASIDSoftHost *host, unsigned long cmd,
                            void *arg)
{
    switch (cmd) {
    case IOASID_GET_API_VERSION:
        return IOASID_API_VERSION;
    case IOASID_CHECK_EXTENSION:
        switch ((uintptr_t)arg) {
        case IOASID_EXT_DMA_NO_SNOOP:
            return 1;
        case IOASID_EXT_PASID:
            return IOASID_SOFT_MAX_PASIDS;
        default:
            return 0;
        }
    case IOASID_GET_INFO:
        return ioasid_soft_get_info(host, arg);
    case IOASID_ALLOC:
        return ioasid_soft_alloc(host, arg);
    case IOASID_FREE:
        return ioasid_soft_free_ioasid(host, (uintptr_t)arg);
    case IOASID_MAP_DMA:
        return ioasid_soft_map(host, arg);
    case IOASID_UNMAP_DMA:
        return ioasid_soft_unmap(host, arg);
    case IOASID_ATTACH_DEVICE:
        return ioasid_soft_attach(host, arg, true);
    case IOASID_DETACH_DEVICE:
        return ioasid_soft_attach(host, arg, false);
    default:
        return -ENOTTY;
    }
}

typedef struct IOASIDSoftFirstPiece {
    uint64_t addr, len;
    bool block_nosnoop;
    bool seen;
} IOASIDSoftFirstPiece;

static void ioasid_soft_first_piece(void *opaque, uint64_t addr, uint64_t len,
                                    bool block_nosnoop)
{
    IOASIDSoftFirstPiece *f = opaque;

    if (!f->seen) {
        *f = (IOASIDSoftFirstPiece) { addr, len, block_nosnoop, true };
    }
}

/* The first piece of ioasid_soft_host_translate_range() */
int ioasid_soft_host_translate(IOASIDSoftHost *host, uint32_t dev_id,
                               uint32_t pasid, uint64_t iova, bool is_write,
                               uint64_t *addr, uint64_t *len,
                               bool *block_nosnoop)
{
    IOASIDSoftFirstPiece f = { 0 };
    uint64_t n = *len, done;
    int ret;

    assert(n);
    if (iova + n - 1 < iova) {
        n = -iova;              /* up to 2^64 */
    }
    ret = ioasid_soft_host_translate_range(host, dev_id, pasid, iova, n,
                                           is_write, ioasid_soft_first_piece,
                                           &f, &done);

    if (!f.seen) {
        return ret;
    }
    *addr = f.addr;
    *len = f.len;
    *block_nosnoop = f.block_nosnoop;
    return 0;
}

int ioasid_soft_host_translate_range(IOASIDSoftHost *host, uint32_t dev_id,
                                     uint32_t pasid, uint64_t iova,
                                     uint64_t len, bool is_write,
                                     IOASIDHostDmaSegFn *fn, void *opaque,
                                     uint64_t *done)
{
    uint64_t key = ioasid_soft_key(dev_id, pasid);
    IOASIDSoftSpace *space = g_tree_lookup(host->devices, &key);
    uint64_t last = iova + len - 1, cur = iova;
    uint32_t need = is_write ? IOASID_DMA_MAP_FLAG_WRITE
                             : IOASID_DMA_MAP_FLAG_READ;
    uint64_t run_addr = 0, run_len = 0;
    bool run_block = false;
    IntervalTreeNode *n;
    int ret = 0;

    assert(len && last >= iova);
    *done = 0;
    if (!space) {
        return -ENOENT;
    }
    /* mappings never overlap: in start order, each must begin at cur */
    for (n = interval_tree_iter_first(&space->mappings, iova, last); ;
         n = interval_tree_iter_next(n, iova, last)) {
        IOASIDSoftMapping *m;
        uint64_t addr, piece;
        bool block;

        if (!n || n->start > cur) {
            ret = -ENOENT;
            break;
        }
        m = container_of(n, IOASIDSoftMapping, node);
        if (!(m->flags & need)) {
            ret = -EACCES;
            break;
        }
        addr = m->addr + (cur - n->start);
        piece = MIN(n->last, last) - cur + 1;
        block = space->enforce_snoop ||
                (m->flags & IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP);
        if (run_len && (run_addr + run_len != addr || run_block != block)) {
            fn(opaque, run_addr, run_len, run_block);
            *done += run_len;
            run_len = 0;
        }
        if (!run_len) {
            run_addr = addr;
            run_block = block;
        }
        run_len += piece;
        if (MIN(n->last, last) == last) {
            break;
        }
        cur += piece;
    }
    if (run_len) {
        fn(opaque, run_addr, run_len, run_block);
        *done += run_len;
    }
    return ret;
}

typedef struct IOASIDSoftIter {
    IOASIDSoftSpaceFn fn;
    void *opaque;
} IOASIDSoftIter;

static void ioasid_soft_space_info(IOASIDSoftSpace *space,
                                   IOASIDSoftSpaceInfo *info)
{
    *info = (IOASIDSoftSpaceInfo) {
        .ioasid = space->id,
        .enforce_snoop = space->enforce_snoop,
        .mappings = space->mappings_count,
        /* an enforcing IOASID lets nothing through, whatever the flags */
        .nosnoop_mappings = space->enforce_snoop ? 0
                                                 : space->nosnoop_mappings,
        .map_calls = space->map_calls,
        .unmap_calls = space->unmap_calls,
        .failed_calls = space->failed_calls,
        .quota_refused = space->quota_refused,
    };
}

static gboolean ioasid_soft_space_iter(gpointer key, gpointer value,
                                       gpointer opaque)
{
    IOASIDSoftIter *it = opaque;
    IOASIDSoftSpaceInfo info;

    ioasid_soft_space_info(value, &info);
    it->fn(&info, it->opaque);
    return false;
}

void ioasid_soft_host_foreach_ioasid(IOASIDSoftHost *host,
                                     IOASIDSoftSpaceFn fn, void *opaque)
{
    IOASIDSoftIter it = { fn, opaque };

    g_tree_foreach(host->spaces, ioasid_soft_space_iter, &it);
}

int ioasid_soft_host_foreach_mapping(IOASIDSoftHost *host, uint32_t ioasid,
                                     uint64_t first, uint64_t last,
                                     uint64_t max, IOASIDSoftMappingFn fn,
                                     void *opaque)
{
    IOASIDSoftSpace *space = ioasid_soft_lookup(host, ioasid);
    IntervalTreeNode *n;
    uint64_t count = 0;

    if (!space) {
        return -ENOENT;
    }
    for (n = interval_tree_iter_first(&space->mappings, first, last);
         n && (!max || count < max);
         n = interval_tree_iter_next(n, first, last), count++) {
        IOASIDSoftMapping *m = container_of(n, IOASIDSoftMapping, node);
        IOASIDSoftMappingInfo info = {
            .iova = n->start,
            .size = n->last - n->start + 1,
            .addr = m->addr,
            .flags = m->flags,
        };

        fn(&info, opaque);
    }
    return 0;
}

typedef struct IOASIDSoftDevIter {
    IOASIDSoftSpace *space;
    IOASIDSoftDeviceFn fn;
    void *opaque;
} IOASIDSoftDevIter;

static gboolean ioasid_soft_dev_iter(gpointer key, gpointer value,
                                     gpointer opaque)
{
    IOASIDSoftDevIter *it = opaque;

    if (value == it->space) {
        uint64_t k = *(uint64_t *)key;

        it->fn((uint32_t)k, k >> 32 ? (uint32_t)(k >> 32) - 1
                                    : IOASID_NO_PASID, it->opaque);
    }
    return false;
}

int ioasid_soft_host_foreach_device(IOASIDSoftHost *host, uint32_t ioasid,
                                    IOASIDSoftDeviceFn fn, void *opaque)
{
    IOASIDSoftDevIter it = { ioasid_soft_lookup(host, ioasid), fn, opaque };

    if (!it.space) {
        return -ENOENT;
    }
    g_tree_foreach(host->devices, ioasid_soft_dev_iter, &it);
    return 0;
}

int ioasid_soft_host_get_space(IOASIDSoftHost *host, uint32_t ioasid,
                               IOASIDSoftSpaceInfo *info)
{
    IOASIDSoftSpace *space = ioasid_soft_lookup(host, ioasid);

    if (!space) {
        return -ENOENT;
    }
    ioasid_soft_space_info(space, info);
    return 0;
}

/*
 * ---- The host seam: this host behind IOASIDHostOps ----
 *
 * What an -object ioasid uses: the uAPI's calls made on the model above,
 * the properties that model the hardware read at open, and the strict
 * cache model told of each mapping that lets no-snoop through.
 */

static IOASIDSoftHost *soft(IOASIDBackend *be)
{
    return be->host;
}

static bool soft_open(IOASIDBackend *be, Error **errp)
{
    be->host = ioasid_soft_host_new(be->host_snoop_control,
                                    be->platform_nosnoop, be->max_mappings);
    if (be->host_flush) {
        ioasid_soft_host_set_flush(be->host, be->host_flush, be);
    }
    return true;
}

static void soft_close(IOASIDBackend *be)
{
    ioasid_soft_host_free(soft(be));
    be->host = NULL;
}

static int soft_get_info(IOASIDBackend *be, struct ioasid_info *info)
{
    info->argsz = sizeof(*info);
    return ioasid_soft_host_ioctl(soft(be), IOASID_GET_INFO, info);
}

static int soft_alloc(IOASIDBackend *be, uint32_t flags, uint32_t *ioasid)
{
    struct ioasid_alloc a = { .argsz = sizeof(a), .flags = flags };
    int ret = ioasid_soft_host_ioctl(soft(be), IOASID_ALLOC, &a);

    *ioasid = a.ioasid;
    return ret;
}

static int soft_free(IOASIDBackend *be, uint32_t ioasid)
{
    return ioasid_soft_host_ioctl(soft(be), IOASID_FREE,
                                  (void *)(uintptr_t)ioasid);
}

static int soft_map_dma(IOASIDBackend *be, uint32_t ioasid, hwaddr iova,
                        hwaddr size, hwaddr addr, uint32_t flags)
{
    struct ioasid_dma_map map = {
        .argsz = sizeof(map), .flags = flags, .ioasid = ioasid,
        .vaddr = addr, .iova = iova, .size = size,
    };

    return ioasid_soft_host_ioctl(soft(be), IOASID_MAP_DMA, &map);
}

static int soft_unmap_dma(IOASIDBackend *be, uint32_t ioasid, hwaddr iova,
                          hwaddr size, hwaddr *unmapped)
{
    struct ioasid_dma_unmap unmap = {
        .argsz = sizeof(unmap), .ioasid = ioasid, .iova = iova, .size = size,
    };
    int ret = ioasid_soft_host_ioctl(soft(be), IOASID_UNMAP_DMA, &unmap);

    *unmapped = ret ? 0 : unmap.size;
    return ret;
}

static int soft_attach_op(IOASIDBackend *be, unsigned long cmd,
                          uint32_t ioasid, uint32_t dev_id, uint32_t pasid)
{
    struct ioasid_device_attach at = {
        .argsz = sizeof(at), .ioasid = ioasid, .dev_id = dev_id,
        .flags = pasid == IOASID_NO_PASID ? 0 : IOASID_ATTACH_FLAG_PASID,
        .pasid = pasid == IOASID_NO_PASID ? 0 : pasid,
    };

    return ioasid_soft_host_ioctl(soft(be), cmd, &at);
}

static int soft_attach(IOASIDBackend *be, uint32_t ioasid, uint32_t dev_id,
                       uint32_t pasid)
{
    return soft_attach_op(be, IOASID_ATTACH_DEVICE, ioasid, dev_id, pasid);
}

static int soft_detach(IOASIDBackend *be, uint32_t ioasid, uint32_t dev_id,
                       uint32_t pasid)
{
    return soft_attach_op(be, IOASID_DETACH_DEVICE, ioasid, dev_id, pasid);
}

static int soft_mapping_counts(IOASIDBackend *be, uint32_t ioasid,
                               uint64_t *total, uint64_t *nosnoop)
{
    IOASIDSoftSpaceInfo info;
    int ret = ioasid_soft_host_get_space(soft(be), ioasid, &info);

    *total = ret ? 0 : info.mappings;
    *nosnoop = ret ? 0 : info.nosnoop_mappings;
    return ret;
}

static int soft_mapping_at(IOASIDBackend *be, uint32_t ioasid,
                           uint64_t first, uint64_t last,
                           IOASIDHostMapping *hm)
{
    IOASIDSoftSpace *space = ioasid_soft_lookup(soft(be), ioasid);
    IntervalTreeNode *n;
    IOASIDSoftMapping *m;

    n = space ? interval_tree_iter_first(&space->mappings, first, last)
              : NULL;
    if (!n) {
        return -ENOENT;
    }
    m = container_of(n, IOASIDSoftMapping, node);
    *hm = (IOASIDHostMapping) {
        .iova = n->start, .size = n->last - n->start + 1, .addr = m->addr,
        .flags = m->flags,
        .block_nosnoop = space->enforce_snoop ||
                         (m->flags & IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP),
    };
    return 0;
}

static int soft_dma_translate(IOASIDBackend *be, uint32_t dev_id,
                              uint32_t pasid, hwaddr iova, hwaddr len,
                              bool is_write, IOASIDHostDmaSegFn *fn,
                              void *opaque, hwaddr *done)
{
    uint64_t d;
    int ret = ioasid_soft_host_translate_range(soft(be), dev_id, pasid, iova,
                                               len, is_write, fn, opaque, &d);

    *done = d;
    return ret;
}

typedef struct SoftQuery {
    IOASIDSoftHost *host;
    uint64_t first, last, max;  /* the mappings to list */
    const IOASIDHostQueryFns *fns;
    void *opaque;
    bool enforce_snoop;         /* of the IOASID being listed */
} SoftQuery;

static void soft_query_mapping(const IOASIDSoftMappingInfo *m, void *opaque)
{
    SoftQuery *q = opaque;
    IOASIDHostMapping hm = {
        .iova = m->iova, .size = m->size, .addr = m->addr, .flags = m->flags,
        /* an enforcing IOASID blocks no-snoop on every mapping */
        .block_nosnoop = q->enforce_snoop ||
                         (m->flags & IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP),
    };

    q->fns->mapping(&hm, q->opaque);
}

static void soft_query_device(uint32_t dev_id, uint32_t pasid, void *opaque)
{
    SoftQuery *q = opaque;

    q->fns->attachment(dev_id, pasid, q->opaque);
}

static void soft_query_space(const IOASIDSoftSpaceInfo *s, void *opaque)
{
    SoftQuery *q = opaque;
    IOASIDHostSpace hs = {
        .ioasid = s->ioasid, .enforce_snoop = s->enforce_snoop,
        .mapping_count = s->mappings, .map_calls = s->map_calls,
        .unmap_calls = s->unmap_calls, .failed_calls = s->failed_calls,
        .quota_refused = s->quota_refused,
    };

    q->enforce_snoop = s->enforce_snoop;
    q->fns->space(&hs, q->opaque);
    ioasid_soft_host_foreach_device(q->host, s->ioasid, soft_query_device, q);
    ioasid_soft_host_foreach_mapping(q->host, s->ioasid, q->first, q->last,
                                     q->max, soft_query_mapping, q);
}

static void soft_query(IOASIDBackend *be, uint64_t first, uint64_t last,
                       uint64_t max, const IOASIDHostQueryFns *fns,
                       void *opaque)
{
    SoftQuery q = {
        .host = soft(be), .first = first, .last = last, .max = max,
        .fns = fns, .opaque = opaque,
    };

    ioasid_soft_host_foreach_ioasid(soft(be), soft_query_space, &q);
}

const IOASIDHostOps ioasid_soft_host_ops = {
    .name = "embedded",
    .backend = IOASID_HOST_BACKEND_EMBEDDED,
    .open = soft_open,
    .close = soft_close,
    .get_info = soft_get_info,
    .alloc = soft_alloc,
    .free = soft_free,
    .map_dma = soft_map_dma,
    .unmap_dma = soft_unmap_dma,
    .attach = soft_attach,
    .detach = soft_detach,
    .mapping_counts = soft_mapping_counts,
    .mapping_at = soft_mapping_at,
    .dma_translate = soft_dma_translate,
    .query = soft_query,
};
