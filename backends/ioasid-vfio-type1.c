/*
 * qemu-ioasid: a host backend over a VFIO type1 container
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A real assigned device (vfio-pci) behind a vIOMMU with snoop control
 * gets its host mappings from the same relay as ioasid-vfio
 * (hw/vfio/ioasid-relay.c); this backend turns the relay's host calls into
 * the type1 container's ioctls.  Type1 is coarser than /dev/ioasid:
 *  - the container is one I/O address space: the context holds one IOASID;
 *  - there is no per-mapping snoop flag: the kernel snoops every DMA of
 *    the container, or none (VFIO_CHECK_EXTENSION of VFIO_DMA_CC_IOMMU, true
 *    when every IOMMU domain of the container enforces coherency).  Where
 *    it enforces, each mapping is snooped whatever it asked: a guest's SNP
 *    is honoured exactly, its SNP=0 is stricter than asked, coherent and
 *    safe.  Where it does not, BLOCK_NOSNOOP cannot be honoured and is
 *    refused (EOPNOTSUPP), which is why such a host is refused behind a
 *    vIOMMU with snoop control (ioasid_vfio_type1_plan);
 *  - the kernel maps process addresses: the relay's guest-physical
 *    addresses are RAM, which the backend maps a RAM region at a time.
 *
 * Invariants:
 *  - maps holds one node per MAP_DMA that succeeded, with the flags it
 *    asked; the kernel holds exactly the pieces of those nodes;
 *  - a node is never split: UNMAP_DMA of part of one fails with EINVAL, as
 *    in type1 and the embedded host;
 *  - a MAP_DMA that fails leaves nothing mapped (its pieces are undone).
 * The kernel is reached only through IOASIDVfioKernel.
 */

#include "qemu/osdep.h"
#include "qemu/interval-tree.h"
#include "qemu/rcu.h"
#include "qapi/error.h"
#include "system/ioasid-vfio-type1.h"
#include <linux/vfio.h>

#define IOASID_VFIO_TYPE1_IOASID 1

typedef struct IOASIDVfioType1Map {
    IntervalTreeNode node;      /* [iova, iova + size - 1] */
    hwaddr addr;                /* guest-physical */
    uint32_t flags;             /* as asked: IOASID_DMA_MAP_FLAG_* */
} IOASIDVfioType1Map;

struct IOASIDVfioType1 {
    const IOASIDVfioKernel *k;
    int fd;                     /* the container */
    bool enforced;              /* the kernel snoops every DMA */
    bool platform_nosnoop;
    uint64_t pgsizes;
    uint32_t max_mappings;
    bool allocated;             /* the one IOASID */
    GHashTable *devices;        /* dev_ids attached */
    IntervalTreeRoot maps;
    uint64_t count;
    uint64_t map_calls, unmap_calls, failed_calls, quota_refused;
};

IOASIDVfioCoherency ioasid_vfio_type1_coherency(const IOASIDVfioKernel *k,
                                                int fd, int *err)
{
    int ret = k->ioctl(k->opaque, fd, VFIO_CHECK_EXTENSION,
                       (void *)(uintptr_t)VFIO_DMA_CC_IOMMU);

    *err = ret < 0 ? ret : 0;
    if (ret < 0) {
        return IOASID_VFIO_COHERENCY_UNKNOWN;
    }
    return ret ? IOASID_VFIO_COHERENCY_ENFORCED
               : IOASID_VFIO_COHERENCY_NOT_ENFORCED;
}

IOASIDVfioPlan ioasid_vfio_type1_plan(bool snoop_viommu,
                                      IOASIDVfioCoherency coherency, int err,
                                      const char *name, Error **errp)
{
    ERRP_GUARD();

    if (!snoop_viommu) {
        return IOASID_VFIO_PLAN_UPSTREAM;
    }
    switch (coherency) {
    case IOASID_VFIO_COHERENCY_ENFORCED:
        return IOASID_VFIO_PLAN_RELAY;
    case IOASID_VFIO_COHERENCY_NOT_ENFORCED:
        error_setg(errp, "%s: the vIOMMU has snoop-control=on, but the host "
                   "does not enforce cache coherency for this device (its "
                   "VFIO container does not report VFIO_DMA_CC_IOMMU), so "
                   "the guest's snoop bits could not be honoured", name);
        break;
    default:
        error_setg(errp, "%s: the vIOMMU has snoop-control=on, but the host "
                   "could not say whether it enforces cache coherency for "
                   "this device: VFIO_CHECK_EXTENSION(VFIO_DMA_CC_IOMMU): %s",
                   name, strerror(-err));
        break;
    }
    error_append_hint(errp, "Snoop control works with devices whose host "
                      "IOMMU can force snooping; for this one use "
                      "intel-iommu,snoop-control=off.\n");
    return IOASID_VFIO_PLAN_REFUSE;
}

IOASIDVfioType1 *ioasid_vfio_type1_new(const IOASIDVfioKernel *k, int fd,
                                       bool enforced, bool platform_nosnoop,
                                       uint64_t pgsizes,
                                       uint32_t max_mappings)
{
    IOASIDVfioType1 *t = g_new0(IOASIDVfioType1, 1);

    t->k = k;
    t->fd = fd;
    t->enforced = enforced;
    t->platform_nosnoop = platform_nosnoop;
    t->pgsizes = pgsizes;
    t->max_mappings = max_mappings;
    t->devices = g_hash_table_new(NULL, NULL);
    return t;
}

static IOASIDVfioType1 *type1(IOASIDBackend *be)
{
    return be->host;
}

/* The container was opened by its caller (ioasid_vfio_type1_new()) */
static bool type1_open(IOASIDBackend *be, Error **errp)
{
    return true;
}

static int type1_kernel_unmap(IOASIDVfioType1 *t, hwaddr iova, hwaddr size)
{
    struct vfio_iommu_type1_dma_unmap unmap = {
        .argsz = sizeof(unmap), .iova = iova, .size = size,
    };

    return MIN(t->k->ioctl(t->k->opaque, t->fd, VFIO_IOMMU_UNMAP_DMA,
                           &unmap), 0);
}

static void type1_close(IOASIDBackend *be)
{
    IOASIDVfioType1 *t = type1(be);
    IntervalTreeNode *n;

    while ((n = interval_tree_iter_first(&t->maps, 0, UINT64_MAX))) {
        type1_kernel_unmap(t, n->start, n->last - n->start + 1);
        interval_tree_remove(n, &t->maps);
        g_free(container_of(n, IOASIDVfioType1Map, node));
    }
    g_hash_table_destroy(t->devices);
    g_free(t);
    be->host = NULL;
}

static int type1_get_info(IOASIDBackend *be, struct ioasid_info *info)
{
    IOASIDVfioType1 *t = type1(be);

    info->argsz = sizeof(*info);
    info->flags = (t->enforced ? IOASID_INFO_CAN_BLOCK_NOSNOOP : 0) |
                  (t->platform_nosnoop ? IOASID_INFO_PLATFORM_NOSNOOP : 0);
    info->pgsize_bitmap = t->pgsizes;
    info->max_mappings = t->max_mappings;
    return 0;
}

static int type1_alloc(IOASIDBackend *be, uint32_t flags, uint32_t *ioasid)
{
    IOASIDVfioType1 *t = type1(be);

    if (flags & ~IOASID_ALLOC_ENFORCE_SNOOP) {
        return -EINVAL;
    }
    if ((flags & IOASID_ALLOC_ENFORCE_SNOOP) && !t->enforced) {
        return -EOPNOTSUPP;
    }
    if (t->allocated) {
        return -ENOSPC;         /* one container, one address space */
    }
    t->allocated = true;
    *ioasid = IOASID_VFIO_TYPE1_IOASID;
    return 0;
}

static bool type1_valid(IOASIDVfioType1 *t, uint32_t ioasid)
{
    return t->allocated && ioasid == IOASID_VFIO_TYPE1_IOASID;
}

static int type1_free(IOASIDBackend *be, uint32_t ioasid)
{
    IOASIDVfioType1 *t = type1(be);

    if (!type1_valid(t, ioasid)) {
        return -ENOENT;
    }
    if (t->count || g_hash_table_size(t->devices)) {
        return -EBUSY;
    }
    t->allocated = false;
    return 0;
}

/* Map [iova, iova + size) to the RAM at @addr, a RAM region at a time. */
static int type1_kernel_map(IOASIDVfioType1 *t, hwaddr iova, hwaddr size,
                            hwaddr addr, uint32_t flags)
{
    hwaddr done = 0;
    int ret = 0;

    RCU_READ_LOCK_GUARD();
    while (done < size) {
        hwaddr len = size - done;
        bool readonly = false;
        void *vaddr = t->k->ram_ptr(t->k->opaque, addr + done, &len,
                                    &readonly);
        struct vfio_iommu_type1_dma_map map = {
            .argsz = sizeof(map),
            .flags = VFIO_DMA_MAP_FLAG_READ,
            .vaddr = (uintptr_t)vaddr,
            .iova = iova + done,
        };

        if (!vaddr || !len || len > size - done) {
            ret = -EFAULT;      /* not RAM: the relay never asks that */
            break;
        }
        if ((flags & IOASID_DMA_MAP_FLAG_WRITE) && !readonly) {
            map.flags |= VFIO_DMA_MAP_FLAG_WRITE;
        }
        map.size = len;
        ret = MIN(t->k->ioctl(t->k->opaque, t->fd, VFIO_IOMMU_MAP_DMA, &map),
                  0);
        if (ret) {
            break;
        }
        done += len;
    }
    if (ret && done) {
        type1_kernel_unmap(t, iova, done);
    }
    return ret;
}

static int type1_map_dma(IOASIDBackend *be, uint32_t ioasid, hwaddr iova,
                         hwaddr size, hwaddr addr, uint32_t flags)
{
    IOASIDVfioType1 *t = type1(be);
    IOASIDVfioType1Map *m;
    int ret;

    if (!type1_valid(t, ioasid)) {
        return -ENOENT;
    }
    t->map_calls++;
    if ((flags & ~(IOASID_DMA_MAP_FLAG_READ | IOASID_DMA_MAP_FLAG_WRITE |
                   IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP)) ||
        !size || iova + size - 1 < iova || addr + size - 1 < addr) {
        ret = -EINVAL;
    } else if ((flags & IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP) && !t->enforced) {
        ret = -EOPNOTSUPP;
    } else if (interval_tree_iter_first(&t->maps, iova, iova + size - 1)) {
        ret = -EEXIST;
    } else if (t->count >= t->max_mappings) {
        ret = -ENOSPC;
    } else {
        ret = type1_kernel_map(t, iova, size, addr, flags);
    }
    if (ret) {
        t->failed_calls++;
        t->quota_refused += ret == -ENOSPC;
        return ret;
    }
    m = g_new0(IOASIDVfioType1Map, 1);
    m->node.start = iova;
    m->node.last = iova + size - 1;
    m->addr = addr;
    m->flags = flags;
    interval_tree_insert(&m->node, &t->maps);
    t->count++;
    return 0;
}

static int type1_unmap_dma(IOASIDBackend *be, uint32_t ioasid, hwaddr iova,
                           hwaddr size, hwaddr *unmapped)
{
    IOASIDVfioType1 *t = type1(be);
    hwaddr last = iova + size - 1;
    IntervalTreeNode *n;
    int ret = 0;

    *unmapped = 0;
    if (!type1_valid(t, ioasid)) {
        return -ENOENT;
    }
    t->unmap_calls++;
    if (!size || last < iova) {
        ret = -EINVAL;
    }
    for (n = interval_tree_iter_first(&t->maps, iova, last); n && !ret;
         n = interval_tree_iter_next(n, iova, last)) {
        if (n->start < iova || n->last > last) {
            ret = -EINVAL;      /* it would split a mapping */
        }
    }
    if (!ret && interval_tree_iter_first(&t->maps, iova, last)) {
        ret = type1_kernel_unmap(t, iova, size);
    }
    if (ret) {
        t->failed_calls++;
        return ret;
    }
    while ((n = interval_tree_iter_first(&t->maps, iova, last))) {
        *unmapped += n->last - n->start + 1;
        interval_tree_remove(n, &t->maps);
        g_free(container_of(n, IOASIDVfioType1Map, node));
        t->count--;
    }
    return 0;
}

static int type1_attach(IOASIDBackend *be, uint32_t ioasid, uint32_t dev_id,
                        uint32_t pasid)
{
    IOASIDVfioType1 *t = type1(be);

    if (pasid != IOASID_NO_PASID) {
        return -EOPNOTSUPP;     /* a type1 container has no PASIDs */
    }
    if (!type1_valid(t, ioasid)) {
        return -ENOENT;
    }
    /* The group joined the container when VFIO connected it. */
    return g_hash_table_add(t->devices, GUINT_TO_POINTER(dev_id)) ? 0
                                                                   : -EBUSY;
}

static int type1_detach(IOASIDBackend *be, uint32_t ioasid, uint32_t dev_id,
                        uint32_t pasid)
{
    IOASIDVfioType1 *t = type1(be);

    if (pasid != IOASID_NO_PASID || !type1_valid(t, ioasid)) {
        return -ENOENT;
    }
    return g_hash_table_remove(t->devices, GUINT_TO_POINTER(dev_id)) ? 0
                                                                      : -ENODEV;
}

static int type1_mapping_counts(IOASIDBackend *be, uint32_t ioasid,
                                uint64_t *total, uint64_t *nosnoop)
{
    IOASIDVfioType1 *t = type1(be);

    if (!type1_valid(t, ioasid)) {
        *total = *nosnoop = 0;
        return -ENOENT;
    }
    *total = t->count;
    *nosnoop = t->enforced ? 0 : t->count;
    return 0;
}

static gint type1_dev_cmp(gconstpointer a, gconstpointer b)
{
    uint32_t x = GPOINTER_TO_UINT(a), y = GPOINTER_TO_UINT(b);

    return x < y ? -1 : x > y;
}

static void type1_query(IOASIDBackend *be, uint64_t first, uint64_t last,
                        uint64_t max, const IOASIDHostQueryFns *fns,
                        void *opaque)
{
    IOASIDVfioType1 *t = type1(be);
    IOASIDHostSpace space = {
        .ioasid = IOASID_VFIO_TYPE1_IOASID, .enforce_snoop = t->enforced,
        .mapping_count = t->count, .map_calls = t->map_calls,
        .unmap_calls = t->unmap_calls, .failed_calls = t->failed_calls,
        .quota_refused = t->quota_refused,
    };
    g_autoptr(GList) devs = NULL;
    IntervalTreeNode *n;
    uint64_t listed = 0;
    GList *d;

    if (!t->allocated) {
        return;
    }
    fns->space(&space, opaque);
    /* requests without PASID: a type1 container has no PASIDs */
    devs = g_list_sort(g_hash_table_get_keys(t->devices), type1_dev_cmp);
    for (d = devs; d; d = d->next) {
        fns->attachment(GPOINTER_TO_UINT(d->data), IOASID_NO_PASID, opaque);
    }
    for (n = interval_tree_iter_first(&t->maps, first, last);
         n && (!max || listed < max);
         n = interval_tree_iter_next(n, first, last), listed++) {
        IOASIDVfioType1Map *m = container_of(n, IOASIDVfioType1Map, node);
        IOASIDHostMapping hm = {
            .iova = n->start, .size = n->last - n->start + 1,
            .addr = m->addr, .flags = m->flags,
            /* what the kernel applies: the container's coherency */
            .block_nosnoop = t->enforced,
        };

        fns->mapping(&hm, opaque);
    }
}

const IOASIDHostOps ioasid_vfio_type1_ops = {
    .name = "vfio-type1",
    .backend = IOASID_HOST_BACKEND_VFIO_TYPE1,
    .open = type1_open,
    .close = type1_close,
    .get_info = type1_get_info,
    .alloc = type1_alloc,
    .free = type1_free,
    .map_dma = type1_map_dma,
    .unmap_dma = type1_unmap_dma,
    .attach = type1_attach,
    .detach = type1_detach,
    .mapping_counts = type1_mapping_counts,
    .query = type1_query,
};
