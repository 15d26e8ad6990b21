/*
 * qemu-ioasid: the iommufd host backend, with the kernel's answers
 * injected
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * No /dev/iommu here: a fake kernel records every ioctl and answers as a
 * test says (IOMMU_GET_HW_INFO of a VT-d unit with or without ECAP.SC, of
 * another IOMMU, or failing; IOMMU_IOAS_MAP and IOMMU_IOAS_UNMAP), and a
 * fake guest RAM of two regions says where guest-physical addresses live.
 * The table the backend keeps is the vfio-type1 backend's, tested there;
 * this tests what is iommufd's own.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-types-ioasid.h"
#include "system/ioasid-iommufd.h"
#include "ioasid-host-kernel-fake.h"
#include <linux/iommufd.h>

#define IOMMUFD_FD 43
#define IOAS_ID 7
#define DEV_ID 3

typedef struct FakeCall {
    unsigned long request;
    uint32_t id, flags;
    uint64_t iova, length, user_va;
} FakeCall;

typedef struct FakeKernel {
    int hw_info_ret;            /* IOMMU_GET_HW_INFO fails with it, if set */
    uint32_t hw_type;           /* IOMMU_HW_INFO_TYPE_* */
    uint64_t ecap;              /* VT-d ECAP */
    int fail_map_at;            /* the n-th IOAS_MAP (1-based) fails ... */
    int map_errno;              /* ... with this */
    int maps;
    GArray *calls;
} FakeKernel;

static FakeKernel fk;

static int fake_ioctl(void *opaque, int fd, unsigned long request, void *arg)
{
    FakeCall c = { .request = request };

    g_assert_cmpint(fd, ==, IOMMUFD_FD);
    if (request == IOMMU_GET_HW_INFO) {
        struct iommu_hw_info *info = arg;
        struct iommu_hw_info_vtd *vtd =
            (struct iommu_hw_info_vtd *)(uintptr_t)info->data_uptr;

        g_assert_cmpuint(info->size, ==, sizeof(*info));
        g_assert_cmpuint(info->flags, ==, 0);
        g_assert_cmpuint(info->data_len, ==, sizeof(*vtd));
        c.id = info->dev_id;
        g_array_append_val(fk.calls, c);
        if (fk.hw_info_ret) {
            return fk.hw_info_ret;
        }
        info->out_data_type = fk.hw_type;
        if (fk.hw_type == IOMMU_HW_INFO_TYPE_INTEL_VTD) {
            vtd->cap_reg = 0x00d2008c22260206ULL;
            vtd->ecap_reg = fk.ecap;
        }
        return 0;
    }
    if (request == IOMMU_IOAS_MAP) {
        struct iommu_ioas_map *m = arg;

        g_assert_cmpuint(m->size, ==, sizeof(*m));
        c.id = m->ioas_id;
        c.flags = m->flags;
        c.iova = m->iova;
        c.length = m->length;
        c.user_va = m->user_va;
        g_array_append_val(fk.calls, c);
        return ++fk.maps == fk.fail_map_at ? -fk.map_errno : 0;
    }
    if (request == IOMMU_IOAS_UNMAP) {
        struct iommu_ioas_unmap *u = arg;

        g_assert_cmpuint(u->size, ==, sizeof(*u));
        c.id = u->ioas_id;
        c.iova = u->iova;
        c.length = u->length;
        g_array_append_val(fk.calls, c);
        return 0;
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

static void fake_reset(uint32_t hw_type, uint64_t ecap, int hw_info_ret)
{
    if (fk.calls) {
        g_array_free(fk.calls, true);
    }
    fk.calls = g_array_new(false, true, sizeof(FakeCall));
    fk.hw_type = hw_type;
    fk.ecap = ecap;
    fk.hw_info_ret = hw_info_ret;
    fk.fail_map_at = 0;
    fk.map_errno = 0;
    fk.maps = 0;
}

/* A context as ioasid_backend_new_kernel() makes it: the IOASID is the IOAS */
static IOASIDBackend *be_new(bool enforced, uint32_t max_mappings)
{
    return fake_context(&ioasid_iommufd_ops,
                        ioasid_iommufd_new(&fake_kernel, IOMMUFD_FD, IOAS_ID,
                                           enforced, true, 0x1000,
                                           max_mappings),
                        IOAS_ID);
}

#define RW (IOASID_DMA_MAP_FLAG_READ | IOASID_DMA_MAP_FLAG_WRITE)
#define BLOCK IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP
/* ECAP of QEMU's intel-iommu, scalable mode, with and without SC */
#define ECAP_NO_SC 0x00f0101ULL
#define ECAP_SC (ECAP_NO_SC | 0x80)       /* SC: bit 7 (11.4.3) */

/* ---- the decisions ---- */

static IOASIDVfioCoherency coherency(int *err)
{
    return ioasid_iommufd_coherency(&fake_kernel, IOMMUFD_FD, DEV_ID, err);
}

static void test_coherency_answers(void)
{
    int err;

    fake_reset(IOMMU_HW_INFO_TYPE_INTEL_VTD, ECAP_SC, 0);
    g_assert_cmpint(coherency(&err), ==, IOASID_VFIO_COHERENCY_ENFORCED);
    g_assert_cmpint(err, ==, 0);
    g_assert_cmpuint(fk.calls->len, ==, 1);
    g_assert_cmpuint(call(0)->id, ==, DEV_ID);      /* asked of the device */

    fake_reset(IOMMU_HW_INFO_TYPE_INTEL_VTD, ECAP_NO_SC, 0);
    g_assert_cmpint(coherency(&err), ==, IOASID_VFIO_COHERENCY_NOT_ENFORCED);
    g_assert_cmpint(err, ==, 0);

    /* another IOMMU: not known to force snooping */
    fake_reset(IOMMU_HW_INFO_TYPE_ARM_SMMUV3, ECAP_SC, 0);
    g_assert_cmpint(coherency(&err), ==, IOASID_VFIO_COHERENCY_UNKNOWN);
    g_assert_cmpint(err, ==, -EOPNOTSUPP);
    fake_reset(IOMMU_HW_INFO_TYPE_NONE, ECAP_SC, 0);
    g_assert_cmpint(coherency(&err), ==, IOASID_VFIO_COHERENCY_UNKNOWN);

    fake_reset(IOMMU_HW_INFO_TYPE_INTEL_VTD, ECAP_SC, -ENOTTY);
    g_assert_cmpint(coherency(&err), ==, IOASID_VFIO_COHERENCY_UNKNOWN);
    g_assert_cmpint(err, ==, -ENOTTY);
}

static void test_plan(void)
{
    IOASIDVfioCoherency c;
    Error *err = NULL;

    for (c = IOASID_VFIO_COHERENCY_ENFORCED;
         c <= IOASID_VFIO_COHERENCY_UNKNOWN; c++) {
        g_assert_cmpint(ioasid_iommufd_plan(false, c, -EIO, "dev",
                                            &error_abort), ==,
                        IOASID_VFIO_PLAN_UPSTREAM);
    }
    g_assert_cmpint(ioasid_iommufd_plan(true, IOASID_VFIO_COHERENCY_ENFORCED,
                                        0, "dev", &error_abort), ==,
                    IOASID_VFIO_PLAN_RELAY);

    g_assert_cmpint(ioasid_iommufd_plan(true,
                                        IOASID_VFIO_COHERENCY_NOT_ENFORCED, 0,
                                        "0000:00:04.0", &err), ==,
                    IOASID_VFIO_PLAN_REFUSE);
    g_assert_nonnull(strstr(error_get_pretty(err), "0000:00:04.0: "));
    g_assert_nonnull(strstr(error_get_pretty(err), "snoop-control=on"));
    g_assert_nonnull(strstr(error_get_pretty(err), "does not enforce"));
    g_assert_nonnull(strstr(error_get_pretty(err), "ECAP.SC"));
    error_free(err);
    err = NULL;

    g_assert_cmpint(ioasid_iommufd_plan(true, IOASID_VFIO_COHERENCY_UNKNOWN,
                                        -EOPNOTSUPP, "0000:00:04.0", &err),
                    ==, IOASID_VFIO_PLAN_REFUSE);
    g_assert_nonnull(strstr(error_get_pretty(err), "could not say"));
    g_assert_nonnull(strstr(error_get_pretty(err), "IOMMU_GET_HW_INFO"));
    g_assert_nonnull(strstr(error_get_pretty(err), strerror(EOPNOTSUPP)));
    error_free(err);
}

/* ---- the host calls ---- */

static void test_ops_name_the_kernel(void)
{
    g_assert_cmpstr(ioasid_iommufd_ops.name, ==, "iommufd");
    g_assert_cmpint(ioasid_iommufd_ops.backend, ==,
                    IOASID_HOST_BACKEND_IOMMUFD);
    g_assert_cmpint(ioasid_vfio_type1_ops.backend, ==,
                    IOASID_HOST_BACKEND_VFIO_TYPE1);
}

static void test_ioas_map_and_unmap(void)
{
    IOASIDBackend *be;
    hwaddr unmapped;
    uint32_t other;

    fake_reset(IOMMU_HW_INFO_TYPE_INTEL_VTD, ECAP_SC, 0);
    be = be_new(true, 100);
    /* one IOAS, one IOASID */
    g_assert_cmpint(be->ops->alloc(be, 0, &other), ==, -ENOSPC);
    g_assert_cmpint(be->ops->map_dma(be, 1, 0, 0x1000, 0, RW), ==, -ENOENT);

    /* 64K on each side of the RAM split: two IOAS_MAPs at fixed IOVAs */
    g_assert_cmpint(be->ops->map_dma(be, IOAS_ID, 0x40000000, 0x20000,
                                     RAM_SPLIT - 0x10000, RW | BLOCK), ==, 0);
    g_assert_cmpuint(fk.calls->len, ==, 2);
    g_assert_cmpuint(call(0)->request, ==, IOMMU_IOAS_MAP);
    g_assert_cmpuint(call(0)->id, ==, IOAS_ID);
    g_assert_cmphex(call(0)->flags, ==, IOMMU_IOAS_MAP_FIXED_IOVA |
                    IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE);
    g_assert_cmphex(call(0)->iova, ==, 0x40000000);
    g_assert_cmphex(call(0)->length, ==, 0x10000);
    g_assert_cmphex(call(0)->user_va, ==,
                    (uintptr_t)&fake_ram_low[RAM_SPLIT - 0x10000]);
    /* read-only RAM is mapped read-only, whatever was asked */
    g_assert_cmphex(call(1)->flags, ==, IOMMU_IOAS_MAP_FIXED_IOVA |
                    IOMMU_IOAS_MAP_READABLE);
    g_assert_cmphex(call(1)->iova, ==, 0x40010000);
    g_assert_cmphex(call(1)->user_va, ==, (uintptr_t)&fake_ram_high[0]);

    /* a part would split an area: refused before the kernel */
    g_assert_cmpint(be->ops->unmap_dma(be, IOAS_ID, 0x40000000, 0x10000,
                                       &unmapped), ==, -EINVAL);
    g_assert_cmpuint(fk.calls->len, ==, 2);
    /* the whole: one IOAS_UNMAP for both areas */
    g_assert_cmpint(be->ops->unmap_dma(be, IOAS_ID, 0x40000000, 0x20000,
                                       &unmapped), ==, 0);
    g_assert_cmphex(unmapped, ==, 0x20000);
    g_assert_cmpuint(fk.calls->len, ==, 3);
    g_assert_cmpuint(call(2)->request, ==, IOMMU_IOAS_UNMAP);
    g_assert_cmpuint(call(2)->id, ==, IOAS_ID);
    g_assert_cmphex(call(2)->iova, ==, 0x40000000);
    g_assert_cmphex(call(2)->length, ==, 0x20000);
    fake_context_free(be);
}

static void test_enospc_is_back_pressure(void)
{
    IOASIDBackend *be;
    uint64_t total, nosnoop;
    unsigned int before;

    fake_reset(IOMMU_HW_INFO_TYPE_INTEL_VTD, ECAP_SC, 0);
    be = be_new(true, 2);
    /* the kernel's ENOSPC: nothing kept, the first piece undone */
    fk.fail_map_at = 2;
    fk.map_errno = ENOSPC;
    g_assert_cmpint(be->ops->map_dma(be, IOAS_ID, 0, 0x20000,
                                     RAM_SPLIT - 0x10000, RW), ==, -ENOSPC);
    g_assert_cmpuint(fk.calls->len, ==, 3);
    g_assert_cmpuint(call(2)->request, ==, IOMMU_IOAS_UNMAP);
    g_assert_cmphex(call(2)->length, ==, 0x10000);

    /* the quota: the third mapping is refused before the kernel */
    g_assert_cmpint(be->ops->map_dma(be, IOAS_ID, 0, 0x1000, 0, RW), ==, 0);
    g_assert_cmpint(be->ops->map_dma(be, IOAS_ID, 0x1000, 0x1000, 0x1000,
                                     RW), ==, 0);
    before = fk.calls->len;
    g_assert_cmpint(be->ops->map_dma(be, IOAS_ID, 0x2000, 0x1000, 0x2000,
                                     RW), ==, -ENOSPC);
    g_assert_cmpuint(fk.calls->len, ==, before);
    g_assert_cmpint(be->ops->mapping_counts(be, IOAS_ID, &total, &nosnoop),
                    ==, 0);
    g_assert_cmpuint(total, ==, 2);
    g_assert_cmpuint(nosnoop, ==, 0);

    /* close unmaps everything, in the IOAS */
    fake_context_free(be);
    g_assert_cmpuint(fk.calls->len, ==, before + 2);
    g_assert_cmpuint(call(before)->request, ==, IOMMU_IOAS_UNMAP);
    g_assert_cmpuint(call(before)->id, ==, IOAS_ID);
    g_assert_cmpuint(call(before + 1)->request, ==, IOMMU_IOAS_UNMAP);
}

static void test_not_enforced_cannot_block(void)
{
    IOASIDBackend *be;
    struct ioasid_info info = { .argsz = sizeof(info) };

    fake_reset(IOMMU_HW_INFO_TYPE_INTEL_VTD, ECAP_NO_SC, 0);
    be = be_new(false, 100);
    g_assert_cmpint(be->ops->get_info(be, &info), ==, 0);
    g_assert_false(info.flags & IOASID_INFO_CAN_BLOCK_NOSNOOP);
    g_assert_cmpint(be->ops->map_dma(be, IOAS_ID, 0, 0x1000, 0, RW | BLOCK),
                    ==, -EOPNOTSUPP);
    g_assert_cmpuint(fk.calls->len, ==, 0);
    /* relayed without PASID only */
    g_assert_cmpint(be->ops->attach(be, IOAS_ID, 1, 5), ==, -EOPNOTSUPP);
    fake_context_free(be);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ioasid-iommufd/coherency-answers",
                    test_coherency_answers);
    g_test_add_func("/ioasid-iommufd/plan", test_plan);
    g_test_add_func("/ioasid-iommufd/ops-name-the-kernel",
                    test_ops_name_the_kernel);
    g_test_add_func("/ioasid-iommufd/ioas-map-and-unmap",
                    test_ioas_map_and_unmap);
    g_test_add_func("/ioasid-iommufd/enospc-is-back-pressure",
                    test_enospc_is_back_pressure);
    g_test_add_func("/ioasid-iommufd/not-enforced-cannot-block",
                    test_not_enforced_cannot_block);
    return g_test_run();
}
