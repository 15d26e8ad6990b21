/*
 * qemu-ioasid: a host backend over a host kernel's IOMMU
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A real assigned device (vfio-pci) behind a vIOMMU with snoop control
 * gets its host mappings from the same relay as ioasid-vfio
 * (hw/vfio/ioasid-relay.c); this backend turns the relay's host calls into
 * the kernel's, for either way Linux offers: a VFIO type1 container
 * (backends/ioasid-vfio-type1.c) or an iommufd IOAS
 * (backends/ioasid-iommufd.c).  Both are coarser than /dev/ioasid:
 *  - the kernel's address space (container, IOAS) is one I/O address
 *    space: the context holds one IOASID, numbered as the kernel's;
 *  - there is no per-mapping snoop flag: the kernel snoops every DMA of
 *    the address space's devices, or none (type1: VFIO_DMA_CC_IOMMU;
 *    iommufd: the device's IOMMU can force snooping, and then its HWPT
 *    does).  Where it enforces, each mapping is snooped whatever it asked:
 *    a guest's SNP is honoured exactly, its SNP=0 is stricter than asked,
 *    coherent and safe.  Where it does not, BLOCK_NOSNOOP cannot be
 *    honoured and is refused (EOPNOTSUPP), which is why such a host is
 *    refused behind a vIOMMU with snoop control (ioasid_vfio_plan());
 *  - the kernel maps process addresses: the relay's guest-physical
 *    addresses are RAM, which the backend maps a RAM region at a time.
 *
 * Invariants:
 *  - maps holds one node per MAP_DMA that succeeded, with the flags it
 *    asked; the kernel holds exactly the pieces of those nodes;
 *  - a node is never split: UNMAP_DMA of part of one fails with EINVAL, as
 *    in type1, iommufd and the embedded host;
 *  - a MAP_DMA that fails leaves nothing mapped (its pieces are undone);
 *  - close unmaps everything it mapped.
 * The kernel is reached only through IOASIDVfioKernel.
 */

#include "qemu/osdep.h"
#include "qemu/interval-tree.h"
#include "qemu/rcu.h"
#include "qapi/error.h"
#include "system/ioasid-host-kernel.h"

typedef struct IOASIDHostKernelMap {
    IntervalTreeNode node;      /* [iova, iova + size - 1] */
    hwaddr addr;                /* guest-physical */
    uint32_t flags;             /* as asked: IOASID_DMA_MAP_FLAG_* */
} IOASIDHostKernelMap;

struct IOASIDHostKernel {
    const IOASIDVfioKernel *k;
    const IOASIDKernelSpace *space;
    int fd;                     /* the container, or the iommufd */
    uint32_t id;                /* the kernel's address space: the IOASID */
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

IOASIDVfioPlan ioasid_vfio_plan(bool snoop_viommu,
                                IOASIDVfioCoherency coherency, int err,
                                const char *asked, const char *name,
                                Error **errp)
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
                   "does not enforce cache coherency for this device (%s "
                   "says no), so the guest's snoop bits could not be "
                   "honoured", name, asked);
        break;
    default:
        error_setg(errp, "%s: the vIOMMU has snoop-control=on, but the host "
                   "could not say whether it enforces cache coherency for "
                   "this device: %s: %s", name, asked, strerror(-err));
        break;
    }
    error_append_hint(errp, "Snoop control works with devices whose host "
                      "IOMMU can force snooping; for this one use "
                      "intel-iommu,snoop-control=off.\n");
    return IOASID_VFIO_PLAN_REFUSE;
}

IOASIDHostKernel *ioasid_host_kernel_new(const IOASIDVfioKernel *k,
                                         const IOASIDKernelSpace *space,
                                         int fd, uint32_t id, bool enforced,
                                         bool platform_nosnoop,
                                         uint64_t pgsizes,
                                         uint32_t max_mappings)
{
    IOASIDHostKernel *t = g_new0(IOASIDHostKernel, 1);

    t->k = k;
    t->space = space;
    t->fd = fd;
    t->id = id;
    t->enforced = enforced;
    t->platform_nosnoop = platform_nosnoop;
    t->pgsizes = pgsizes;
    t->max_mappings = max_mappings;
    t->devices = g_hash_table_new(NULL, NULL);
    return t;
}

static IOASIDHostKernel *hk(IOASIDBackend *be)
{
    return be->host;
}

/* The kernel object was opened by its caller */
static bool hk_open(IOASIDBackend *be, Error **errp)
{
    return true;
}

static int hk_kernel_unmap(IOASIDHostKernel *t, hwaddr iova, hwaddr size)
{
    return t->space->unmap(t->k, t->fd, t->id, iova, size);
}

static void hk_close(IOASIDBackend *be)
{
    IOASIDHostKernel *t = hk(be);
    IntervalTreeNode *n;

    while ((n = interval_tree_iter_first(&t->maps, 0, UINT64_MAX))) {
        hk_kernel_unmap(t, n->start, n->last - n->start + 1);
        interval_tree_remove(n, &t->maps);
        g_free(container_of(n, IOASIDHostKernelMap, node));
    }
    g_hash_table_destroy(t->devices);
    g_free(t);
    be->host = NULL;
}

static int hk_get_info(IOASIDBackend *be, struct ioasid_info *info)
{
    IOASIDHostKernel *t = hk(be);

    info->argsz = sizeof(*info);
    info->flags = (t->enforced ? IOASID_INFO_CAN_BLOCK_NOSNOOP : 0) |
                  (t->platform_nosnoop ? IOASID_INFO_PLATFORM_NOSNOOP : 0);
    info->pgsize_bitmap = t->pgsizes;
    info->max_mappings = t->max_mappings;
    return 0;
}

static int hk_alloc(IOASIDBackend *be, uint32_t flags, uint32_t *ioasid)
{
    IOASIDHostKernel *t = hk(be);

    if (flags & ~IOASID_ALLOC_ENFORCE_SNOOP) {
        return -EINVAL;
    }
    if ((flags & IOASID_ALLOC_ENFORCE_SNOOP) && !t->enforced) {
        return -EOPNOTSUPP;
    }
    if (t->allocated) {
        return -ENOSPC;         /* one kernel address space */
    }
    t->allocated = true;
    *ioasid = t->id;
    return 0;
}

static bool hk_valid(IOASIDHostKernel *t, uint32_t ioasid)
{
    return t->allocated && ioasid == t->id;
}

static int hk_free(IOASIDBackend *be, uint32_t ioasid)
{
    IOASIDHostKernel *t = hk(be);

    if (!hk_valid(t, ioasid)) {
        return -ENOENT;
    }
    if (t->count || g_hash_table_size(t->devices)) {
        return -EBUSY;
    }
    t->allocated = false;
    return 0;
}

/* Map [iova, iova + size) to the RAM at @addr, a RAM region at a time. */
static int hk_kernel_map(IOASIDHostKernel *t, hwaddr iova, hwaddr size,
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

        if (!vaddr || !len || len > size - done) {
            ret = -EFAULT;      /* not RAM: the relay never asks that */
            break;
        }
        ret = t->space->map(t->k, t->fd, t->id, iova + done, len, vaddr,
                            (flags & IOASID_DMA_MAP_FLAG_WRITE) && !readonly);
        if (ret) {
            break;
        }
        done += len;
    }
    if (ret && done) {
        hk_kernel_unmap(t, iova, done);
    }
    return ret;
}

static int hk_map_dma(IOASIDBackend *be, uint32_t ioasid, hwaddr iova,
                      hwaddr size, hwaddr addr, uint32_t flags)
{
    IOASIDHostKernel *t = hk(be);
    IOASIDHostKernelMap *m;
    int ret;

    if (!hk_valid(t, ioasid)) {
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
        ret = hk_kernel_map(t, iova, size, addr, flags);
    }
    if (ret) {
        t->failed_calls++;
        t->quota_refused += ret == -ENOSPC;
        return ret;
    }
    m = g_new0(IOASIDHostKernelMap, 1);
    m->node.start = iova;
    m->node.last = iova + size - 1;
    m->addr = addr;
    m->flags = flags;
    interval_tree_insert(&m->node, &t->maps);
    t->count++;
    return 0;
}

static int hk_unmap_dma(IOASIDBackend *be, uint32_t ioasid, hwaddr iova,
                        hwaddr size, hwaddr *unmapped)
{
    IOASIDHostKernel *t = hk(be);
    hwaddr last = iova + size - 1;
    IntervalTreeNode *n;
    int ret = 0;

    *unmapped = 0;
    if (!hk_valid(t, ioasid)) {
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
        ret = hk_kernel_unmap(t, iova, size);
    }
    if (ret) {
        t->failed_calls++;
        return ret;
    }
    while ((n = interval_tree_iter_first(&t->maps, iova, last))) {
        *unmapped += n->last - n->start + 1;
        interval_tree_remove(n, &t->maps);
        g_free(container_of(n, IOASIDHostKernelMap, node));
        t->count--;
    }
    return 0;
}

static int hk_attach(IOASIDBackend *be, uint32_t ioasid, uint32_t dev_id,
                     uint32_t pasid)
{
    IOASIDHostKernel *t = hk(be);

    if (pasid != IOASID_NO_PASID) {
        return -EOPNOTSUPP;     /* relayed without PASID only */
    }
    if (!hk_valid(t, ioasid)) {
        return -ENOENT;
    }
    /* VFIO attached the device to the kernel's address space. */
    return g_hash_table_add(t->devices, GUINT_TO_POINTER(dev_id)) ? 0
                                                                   : -EBUSY;
}

static int hk_detach(IOASIDBackend *be, uint32_t ioasid, uint32_t dev_id,
                     uint32_t pasid)
{
    IOASIDHostKernel *t = hk(be);

    if (pasid != IOASID_NO_PASID || !hk_valid(t, ioasid)) {
        return -ENOENT;
    }
    return g_hash_table_remove(t->devices, GUINT_TO_POINTER(dev_id)) ? 0
                                                                      : -ENODEV;
}

static int hk_mapping_counts(IOASIDBackend *be, uint32_t ioasid,
                             uint64_t *total, uint64_t *nosnoop)
{
    IOASIDHostKernel *t = hk(be);

    if (!hk_valid(t, ioasid)) {
        *total = *nosnoop = 0;
        return -ENOENT;
    }
    *total = t->count;
    *nosnoop = t->enforced ? 0 : t->count;
    return 0;
}

static int hk_mapping_at(IOASIDBackend *be, uint32_t ioasid, uint64_t first,
                         uint64_t last, IOASIDHostMapping *hm)
{
    IOASIDHostKernel *t = hk(be);
    IntervalTreeNode *n;
    IOASIDHostKernelMap *m;

    n = hk_valid(t, ioasid) ? interval_tree_iter_first(&t->maps, first, last)
                            : NULL;
    if (!n) {
        return -ENOENT;
    }
    m = container_of(n, IOASIDHostKernelMap, node);
    *hm = (IOASIDHostMapping) {
        .iova = n->start, .size = n->last - n->start + 1, .addr = m->addr,
        .flags = m->flags, .block_nosnoop = t->enforced,
    };
    return 0;
}

static gint hk_dev_cmp(gconstpointer a, gconstpointer b)
{
    uint32_t x = GPOINTER_TO_UINT(a), y = GPOINTER_TO_UINT(b);

    return x < y ? -1 : x > y;
}

static void hk_query(IOASIDBackend *be, uint64_t first, uint64_t last,
                     uint64_t max, const IOASIDHostQueryFns *fns,
                     void *opaque)
{
    IOASIDHostKernel *t = hk(be);
    IOASIDHostSpace space = {
        .ioasid = t->id, .enforce_snoop = t->enforced,
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
    /* requests without PASID only */
    devs = g_list_sort(g_hash_table_get_keys(t->devices), hk_dev_cmp);
    for (d = devs; d; d = d->next) {
        fns->attachment(GPOINTER_TO_UINT(d->data), IOASID_NO_PASID, opaque);
    }
    for (n = interval_tree_iter_first(&t->maps, first, last);
         n && (!max || listed < max);
         n = interval_tree_iter_next(n, first, last), listed++) {
        IOASIDHostKernelMap *m = container_of(n, IOASIDHostKernelMap, node);
        IOASIDHostMapping hm = {
            .iova = n->start, .size = n->last - n->start + 1,
            .addr = m->addr, .flags = m->flags,
            /* what the kernel applies: its address space's coherency */
            .block_nosnoop = t->enforced,
        };

        fns->mapping(&hm, opaque);
    }
}

#define IOASID_HOST_KERNEL_OPS \
    .open = hk_open, \
    .close = hk_close, \
    .get_info = hk_get_info, \
    .alloc = hk_alloc, \
    .free = hk_free, \
    .map_dma = hk_map_dma, \
    .unmap_dma = hk_unmap_dma, \
    .attach = hk_attach, \
    .detach = hk_detach, \
    .mapping_counts = hk_mapping_counts, \
    .mapping_at = hk_mapping_at, \
    .query = hk_query

const IOASIDHostOps ioasid_vfio_type1_ops = {
    .name = "vfio-type1",
    .backend = IOASID_HOST_BACKEND_VFIO_TYPE1,
    IOASID_HOST_KERNEL_OPS,
};

const IOASIDHostOps ioasid_iommufd_ops = {
    .name = "iommufd",
    .backend = IOASID_HOST_BACKEND_IOMMUFD,
    IOASID_HOST_KERNEL_OPS,
};
