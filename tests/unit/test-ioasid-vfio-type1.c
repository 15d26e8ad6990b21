/*
 * qemu-ioasid: the vfio-type1 host backend, with the kernel's answers
 * injected
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * No VFIO here: a fake kernel records every ioctl and answers as a test
 * says, and a fake guest RAM of two regions says where guest-physical
 * addresses live.  Every decision of the backend is reached: the
 * container's coherency answer (enforced, not, ioctl failure), the plan
 * (upstream, relay, refuse), and each host call with the kernel accepting
 * or failing.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-types-ioasid.h"
#include "system/ioasid-vfio-type1.h"
#include "ioasid-host-kernel-fake.h"
#include <linux/vfio.h>

#define CONTAINER_FD 42

typedef struct FakeCall {
    unsigned long request;
    uint64_t iova, size, vaddr;
    uint32_t flags;
} FakeCall;

typedef struct FakeKernel {
    int cc_answer;              /* VFIO_CHECK_EXTENSION(VFIO_DMA_CC_IOMMU) */
    int fail_map_at;            /* the n-th MAP_DMA (1-based) fails ... */
    int map_errno;              /* ... with this */
    int unmap_errno;            /* every UNMAP_DMA fails with this, if set */
    int maps;
    GArray *calls;
} FakeKernel;

static FakeKernel fk;

static int fake_ioctl(void *opaque, int fd, unsigned long request, void *arg)
{
    FakeCall c = { .request = request };

    g_assert_cmpint(fd, ==, CONTAINER_FD);
    if (request == VFIO_CHECK_EXTENSION) {
        g_assert_cmpuint((uintptr_t)arg, ==, VFIO_DMA_CC_IOMMU);
        g_array_append_val(fk.calls, c);
        return fk.cc_answer;
    }
    if (request == VFIO_IOMMU_MAP_DMA) {
        struct vfio_iommu_type1_dma_map *m = arg;

        g_assert_cmpuint(m->argsz, ==, sizeof(*m));
        c.iova = m->iova;
        c.size = m->size;
        c.vaddr = m->vaddr;
        c.flags = m->flags;
        g_array_append_val(fk.calls, c);
        return ++fk.maps == fk.fail_map_at ? -fk.map_errno : 0;
    }
    if (request == VFIO_IOMMU_UNMAP_DMA) {
        struct vfio_iommu_type1_dma_unmap *u = arg;

        g_assert_cmpuint(u->argsz, ==, sizeof(*u));
        c.iova = u->iova;
        c.size = u->size;
        g_array_append_val(fk.calls, c);
        return fk.unmap_errno ? -fk.unmap_errno : 0;
    }
    g_assert_not_reached();
}

static const IOASIDVfioKernel fake_kernel = {
    .ioctl = fake_ioctl,
    .ram_ptr = fake_ram_ptr,
};

static FakeCall *call(unsigned int i)
{
    g_assert_cmpuint(i, <, fk.calls->len);
    return &g_array_index(fk.calls, FakeCall, i);
}

static void fake_reset(int cc_answer)
{
    if (fk.calls) {
        g_array_free(fk.calls, true);
    }
    fk.calls = g_array_new(false, true, sizeof(FakeCall));
    fk.cc_answer = cc_answer;
    fk.fail_map_at = 0;
    fk.map_errno = 0;
    fk.unmap_errno = 0;
    fk.maps = 0;
}

/* A context as ioasid_backend_new_kernel() makes it, without QOM */
static IOASIDBackend *be_new(bool enforced, uint32_t max_mappings)
{
    return fake_context(&ioasid_vfio_type1_ops,
                        ioasid_vfio_type1_new(&fake_kernel, CONTAINER_FD,
                                              enforced, true, 0x1000,
                                              max_mappings),
                        IOASID_VFIO_TYPE1_IOASID);
}

static uint64_t mapping_count(IOASIDBackend *be)
{
    uint64_t total, nosnoop;

    g_assert_cmpint(be->ops->mapping_counts(be, 1, &total, &nosnoop), ==, 0);
    return total;
}

#define RW (IOASID_DMA_MAP_FLAG_READ | IOASID_DMA_MAP_FLAG_WRITE)
#define BLOCK IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP

/* ---- the decisions ---- */

static void test_coherency_answers(void)
{
    int err;

    fake_reset(1);
    g_assert_cmpint(ioasid_vfio_type1_coherency(&fake_kernel, CONTAINER_FD,
                                                &err), ==,
                    IOASID_VFIO_COHERENCY_ENFORCED);
    g_assert_cmpint(err, ==, 0);
    fake_reset(0);
    g_assert_cmpint(ioasid_vfio_type1_coherency(&fake_kernel, CONTAINER_FD,
                                                &err), ==,
                    IOASID_VFIO_COHERENCY_NOT_ENFORCED);
    fake_reset(-ENOTTY);
    g_assert_cmpint(ioasid_vfio_type1_coherency(&fake_kernel, CONTAINER_FD,
                                                &err), ==,
                    IOASID_VFIO_COHERENCY_UNKNOWN);
    g_assert_cmpint(err, ==, -ENOTTY);
    g_assert_cmpuint(fk.calls->len, ==, 1);
}

static void test_plan(void)
{
    IOASIDVfioCoherency c;
    Error *err = NULL;

    /* Without a snoop-relaying vIOMMU: upstream, whatever the host says */
    for (c = IOASID_VFIO_COHERENCY_ENFORCED;
         c <= IOASID_VFIO_COHERENCY_UNKNOWN; c++) {
        g_assert_cmpint(ioasid_vfio_type1_plan(false, c, -EIO, "dev",
                                               &error_abort), ==,
                        IOASID_VFIO_PLAN_UPSTREAM);
    }
    g_assert_cmpint(ioasid_vfio_type1_plan(true,
                                           IOASID_VFIO_COHERENCY_ENFORCED, 0,
                                           "dev", &error_abort), ==,
                    IOASID_VFIO_PLAN_RELAY);

    g_assert_cmpint(ioasid_vfio_type1_plan(true,
                                           IOASID_VFIO_COHERENCY_NOT_ENFORCED,
                                           0, "group 7", &err), ==,
                    IOASID_VFIO_PLAN_REFUSE);
    g_assert_nonnull(strstr(error_get_pretty(err), "group 7: "));
    g_assert_nonnull(strstr(error_get_pretty(err), "snoop-control=on"));
    g_assert_nonnull(strstr(error_get_pretty(err), "does not enforce"));
    error_free(err);
    err = NULL;

    g_assert_cmpint(ioasid_vfio_type1_plan(true, IOASID_VFIO_COHERENCY_UNKNOWN,
                                           -ENOTTY, "group 7", &err), ==,
                    IOASID_VFIO_PLAN_REFUSE);
    g_assert_nonnull(strstr(error_get_pretty(err), "could not say"));
    g_assert_nonnull(strstr(error_get_pretty(err), strerror(ENOTTY)));
    error_free(err);
}

/* What ops->query reports, recorded in the order it calls */
typedef struct Seen {
    IOASIDHostSpace space[2];
    unsigned nspace;
    uint32_t dev[4], pasid[4];
    unsigned ndev;
    IOASIDHostMapping map[4];
    unsigned nmap;
} Seen;

static void seen_space(const IOASIDHostSpace *space, void *opaque)
{
    Seen *s = opaque;

    g_assert_cmpuint(s->nspace, <, ARRAY_SIZE(s->space));
    s->space[s->nspace++] = *space;
}

static void seen_attachment(uint32_t dev_id, uint32_t pasid, void *opaque)
{
    Seen *s = opaque;

    g_assert_cmpuint(s->nspace, ==, 1);     /* after its IOASID */
    g_assert_cmpuint(s->ndev, <, ARRAY_SIZE(s->dev));
    s->dev[s->ndev] = dev_id;
    s->pasid[s->ndev++] = pasid;
}

static void seen_mapping(const IOASIDHostMapping *mapping, void *opaque)
{
    Seen *s = opaque;

    g_assert_cmpuint(s->nspace, ==, 1);
    g_assert_cmpuint(s->nmap, <, ARRAY_SIZE(s->map));
    s->map[s->nmap++] = *mapping;
}

static const IOASIDHostQueryFns seen_fns = {
    .space = seen_space,
    .attachment = seen_attachment,
    .mapping = seen_mapping,
};

static Seen query(IOASIDBackend *be, uint64_t first, uint64_t last,
                  uint64_t max)
{
    Seen s = { 0 };

    be->ops->query(be, first, last, max, &seen_fns, &s);
    return s;
}

/* ---- the host calls ---- */

static void test_info(void)
{
    IOASIDBackend *be;
    struct ioasid_info info = { .argsz = sizeof(info) };
    uint32_t ioasid;

    fake_reset(1);
    be = be_new(true, 7);
    /*
     * the backend answers get_info and writes nothing into the context:
     * the context reads the answers once (be->info), its properties stay
     */
    g_assert_false(be->host_snoop_control);
    g_assert_false(be->platform_nosnoop);
    g_assert_cmpuint(be->max_mappings, ==, 0);
    g_assert_cmpint(be->ops->get_info(be, &info), ==, 0);
    g_assert_cmphex(info.flags, ==, IOASID_INFO_CAN_BLOCK_NOSNOOP |
                    IOASID_INFO_PLATFORM_NOSNOOP);
    g_assert_cmphex(info.pgsize_bitmap, ==, 0x1000);
    g_assert_cmpuint(info.max_mappings, ==, 7);
    /* one container, one address space */
    g_assert_cmpint(be->ops->alloc(be, 0, &ioasid), ==, -ENOSPC);
    fake_context_free(be);

    be = be_new(false, 7);
    g_assert_cmpint(be->ops->get_info(be, &info), ==, 0);
    g_assert_cmphex(info.flags, ==, IOASID_INFO_PLATFORM_NOSNOOP);
    g_assert_cmpint(be->ops->free(be, 1), ==, 0);
    g_assert_cmpint(be->ops->alloc(be, IOASID_ALLOC_ENFORCE_SNOOP, &ioasid),
                    ==, -EOPNOTSUPP);
    g_assert_cmpint(be->ops->alloc(be, 0x80, &ioasid), ==, -EINVAL);
    g_assert_cmpint(be->ops->map_dma(be, 1, 0, 0x1000, 0, RW), ==, -ENOENT);
    g_assert_cmpuint(fk.calls->len, ==, 0);
    fake_context_free(be);
}

static void test_map_splits_at_ram_regions(void)
{
    IOASIDBackend *be;
    hwaddr unmapped;

    fake_reset(1);
    be = be_new(true, 100);
    /* 64K on each side of the split: two kernel mappings */
    g_assert_cmpint(be->ops->map_dma(be, 1, 0x40000000, 0x20000,
                                     RAM_SPLIT - 0x10000, RW | BLOCK), ==, 0);
    g_assert_cmpuint(fk.calls->len, ==, 2);
    g_assert_cmpuint(call(0)->request, ==, VFIO_IOMMU_MAP_DMA);
    g_assert_cmphex(call(0)->iova, ==, 0x40000000);
    g_assert_cmphex(call(0)->size, ==, 0x10000);
    g_assert_cmphex(call(0)->vaddr, ==,
                    (uintptr_t)&fake_ram_low[RAM_SPLIT - 0x10000]);
    g_assert_cmphex(call(0)->flags, ==,
                    VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
    g_assert_cmphex(call(1)->iova, ==, 0x40010000);
    g_assert_cmphex(call(1)->size, ==, 0x10000);
    g_assert_cmphex(call(1)->vaddr, ==, (uintptr_t)&fake_ram_high[0]);
    /* read-only RAM is mapped read-only, whatever was asked */
    g_assert_cmphex(call(1)->flags, ==, VFIO_DMA_MAP_FLAG_READ);
    g_assert_cmpuint(mapping_count(be), ==, 1);

    /* the same range again: no kernel call */
    g_assert_cmpint(be->ops->map_dma(be, 1, 0x40010000, 0x1000, 0, RW), ==,
                    -EEXIST);
    g_assert_cmpuint(fk.calls->len, ==, 2);

    /* unmapping part of it would split it: refused before the kernel */
    g_assert_cmpint(be->ops->unmap_dma(be, 1, 0x40000000, 0x10000,
                                       &unmapped), ==, -EINVAL);
    g_assert_cmpuint(fk.calls->len, ==, 2);
    g_assert_cmpuint(mapping_count(be), ==, 1);

    /* unmapping a range covering it: one kernel call for both pieces */
    g_assert_cmpint(be->ops->unmap_dma(be, 1, 0x3ff00000, 0x200000,
                                       &unmapped), ==, 0);
    g_assert_cmphex(unmapped, ==, 0x20000);
    g_assert_cmpuint(fk.calls->len, ==, 3);
    g_assert_cmpuint(call(2)->request, ==, VFIO_IOMMU_UNMAP_DMA);
    g_assert_cmphex(call(2)->iova, ==, 0x3ff00000);
    g_assert_cmphex(call(2)->size, ==, 0x200000);
    g_assert_cmpuint(mapping_count(be), ==, 0);

    /* nothing there: no kernel call */
    g_assert_cmpint(be->ops->unmap_dma(be, 1, 0, 0x1000, &unmapped), ==, 0);
    g_assert_cmphex(unmapped, ==, 0);
    g_assert_cmpuint(fk.calls->len, ==, 3);
    fake_context_free(be);
}

static void test_map_failure_undoes_its_pieces(void)
{
    IOASIDBackend *be;
    Seen q;

    fake_reset(1);
    be = be_new(true, 100);
    fk.fail_map_at = 2;
    fk.map_errno = ENOMEM;
    g_assert_cmpint(be->ops->map_dma(be, 1, 0, 0x20000, RAM_SPLIT - 0x10000,
                                     RW), ==, -ENOMEM);
    /* map, map (fails), unmap of the first piece */
    g_assert_cmpuint(fk.calls->len, ==, 3);
    g_assert_cmpuint(call(2)->request, ==, VFIO_IOMMU_UNMAP_DMA);
    g_assert_cmphex(call(2)->iova, ==, 0);
    g_assert_cmphex(call(2)->size, ==, 0x10000);
    g_assert_cmpuint(mapping_count(be), ==, 0);

    /* the kernel's own limit is the relay's ENOSPC */
    fk.fail_map_at = 3;
    fk.map_errno = ENOSPC;
    g_assert_cmpint(be->ops->map_dma(be, 1, 0, 0x1000, 0, RW), ==, -ENOSPC);

    /* not RAM: no kernel call */
    g_assert_cmpint(be->ops->map_dma(be, 1, 0, 0x1000, RAM_END, RW), ==,
                    -EFAULT);
    g_assert_cmpuint(fk.calls->len, ==, 4);
    q = query(be, 0, UINT64_MAX, 0);
    g_assert_cmpuint(q.nspace, ==, 1);
    g_assert_cmpuint(q.space[0].map_calls, ==, 3);
    g_assert_cmpuint(q.space[0].failed_calls, ==, 3);
    g_assert_cmpuint(q.space[0].quota_refused, ==, 1);
    g_assert_cmpuint(q.space[0].mapping_count, ==, 0);
    fake_context_free(be);
}

static void test_limit_and_unmap_failure(void)
{
    IOASIDBackend *be;
    hwaddr unmapped;
    unsigned int before, i;

    fake_reset(1);
    be = be_new(true, 2);
    g_assert_cmpint(be->ops->map_dma(be, 1, 0, 0x1000, 0, RW), ==, 0);
    g_assert_cmpint(be->ops->map_dma(be, 1, 0x1000, 0x1000, 0x1000, RW), ==,
                    0);
    g_assert_cmpint(be->ops->map_dma(be, 1, 0x2000, 0x1000, 0x2000, RW), ==,
                    -ENOSPC);
    g_assert_cmpuint(fk.calls->len, ==, 2);

    /* the kernel refuses the unmap: the mirror keeps what it still has */
    fk.unmap_errno = EINVAL;
    g_assert_cmpint(be->ops->unmap_dma(be, 1, 0, 0x2000, &unmapped), ==,
                    -EINVAL);
    g_assert_cmpuint(mapping_count(be), ==, 2);
    fk.unmap_errno = 0;
    g_assert_cmpint(be->ops->free(be, 1), ==, -EBUSY);
    /* closing unmaps what is left, one kernel call per mapping */
    before = fk.calls->len;
    fake_context_free(be);
    g_assert_cmpuint(fk.calls->len, ==, before + 2);
    for (i = before; i < before + 2; i++) {
        g_assert_cmpuint(call(i)->request, ==, VFIO_IOMMU_UNMAP_DMA);
        g_assert_cmphex(call(i)->size, ==, 0x1000);
    }
    g_assert_cmphex(call(before)->iova ^ call(before + 1)->iova, ==, 0x1000);
}

static void test_not_enforced_cannot_block(void)
{
    IOASIDBackend *be;
    uint64_t total, nosnoop;

    fake_reset(0);
    be = be_new(false, 100);
    g_assert_cmpint(be->ops->map_dma(be, 1, 0, 0x1000, 0, RW | BLOCK), ==,
                    -EOPNOTSUPP);
    g_assert_cmpuint(fk.calls->len, ==, 0);
    g_assert_cmpint(be->ops->map_dma(be, 1, 0, 0x1000, 0, RW), ==, 0);
    g_assert_cmpint(be->ops->mapping_counts(be, 1, &total, &nosnoop), ==, 0);
    g_assert_cmpuint(total, ==, 1);
    g_assert_cmpuint(nosnoop, ==, 1);
    fake_context_free(be);
}

/* query-ioasid: what the guest asked, and what the host applies */
static void test_query_asked_and_applied(void)
{
    IOASIDBackend *be;
    Seen q;
    uint64_t total, nosnoop;

    fake_reset(1);
    be = be_new(true, 100);
    g_hash_table_insert(be->devices, GUINT_TO_POINTER(5),
                        g_strdup("/machine/peripheral/hostdev0"));
    g_assert_cmpint(be->ops->attach(be, 1, 5, IOASID_NO_PASID), ==, 0);
    g_assert_cmpint(be->ops->attach(be, 1, 5, IOASID_NO_PASID), ==, -EBUSY);
    /* a type1 container has no PASIDs */
    g_assert_cmpint(be->ops->attach(be, 1, 5, 1), ==, -EOPNOTSUPP);
    g_assert_cmpint(be->ops->map_dma(be, 1, 0x1000, 0x1000, 0, RW | BLOCK),
                    ==, 0);
    g_assert_cmpint(be->ops->map_dma(be, 1, 0x3000, 0x2000, 0x4000, RW), ==,
                    0);
    g_assert_cmpint(be->ops->mapping_counts(be, 1, &total, &nosnoop), ==, 0);
    g_assert_cmpuint(total, ==, 2);
    g_assert_cmpuint(nosnoop, ==, 0);       /* the kernel snoops them all */

    q = query(be, 0, UINT64_MAX, 0);
    g_assert_cmpuint(q.nspace, ==, 1);
    g_assert_cmpuint(q.space[0].ioasid, ==, 1);
    g_assert_true(q.space[0].enforce_snoop);
    g_assert_cmpuint(q.space[0].mapping_count, ==, 2);
    /* the one device, with requests without PASID */
    g_assert_cmpuint(q.ndev, ==, 1);
    g_assert_cmpuint(q.dev[0], ==, 5);
    g_assert_cmphex(q.pasid[0], ==, IOASID_NO_PASID);
    g_assert_cmpuint(q.nmap, ==, 2);
    g_assert_cmphex(q.map[0].iova, ==, 0x1000);
    g_assert_true(q.map[0].flags & BLOCK);
    g_assert_true(q.map[0].block_nosnoop);
    g_assert_cmphex(q.map[1].iova, ==, 0x3000);
    g_assert_cmphex(q.map[1].size, ==, 0x2000);
    g_assert_cmphex(q.map[1].addr, ==, 0x4000);
    g_assert_false(q.map[1].flags & BLOCK);
    g_assert_true(q.map[1].block_nosnoop);          /* stricter than asked */

    /* a window, and a count */
    q = query(be, 0x3000, 0x3fff, 0);
    g_assert_cmpuint(q.nmap, ==, 1);
    g_assert_cmphex(q.map[0].iova, ==, 0x3000);
    q = query(be, 0, UINT64_MAX, 1);
    g_assert_cmpuint(q.nmap, ==, 1);

    g_assert_cmpint(be->ops->detach(be, 1, 5, IOASID_NO_PASID), ==, 0);
    g_assert_cmpint(be->ops->detach(be, 1, 5, IOASID_NO_PASID), ==, -ENODEV);
    fake_context_free(be);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ioasid-vfio-type1/coherency-answers",
                    test_coherency_answers);
    g_test_add_func("/ioasid-vfio-type1/plan", test_plan);
    g_test_add_func("/ioasid-vfio-type1/info", test_info);
    g_test_add_func("/ioasid-vfio-type1/map-splits-at-ram-regions",
                    test_map_splits_at_ram_regions);
    g_test_add_func("/ioasid-vfio-type1/map-failure-undoes-its-pieces",
                    test_map_failure_undoes_its_pieces);
    g_test_add_func("/ioasid-vfio-type1/limit-and-unmap-failure",
                    test_limit_and_unmap_failure);
    g_test_add_func("/ioasid-vfio-type1/not-enforced-cannot-block",
                    test_not_enforced_cannot_block);
    g_test_add_func("/ioasid-vfio-type1/query-asked-and-applied",
                    test_query_asked_and_applied);
    return g_test_run();
}
