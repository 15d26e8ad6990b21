/*
 * Unit tests of the embedded /dev/ioasid host: the uAPI semantics of
 * include/uapi/linux/ioasid.h, driven through ioasid_soft_host_ioctl().
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "system/ioasid-soft-host.h"

#define R   IOASID_DMA_MAP_FLAG_READ
#define W   IOASID_DMA_MAP_FLAG_WRITE
#define B   IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP
#define PG  4096ULL

static uint32_t alloc(IOASIDSoftHost *h, uint32_t flags, long want)
{
    struct ioasid_alloc a = { .argsz = sizeof(a), .flags = flags };

    g_assert_cmpint(ioasid_soft_host_ioctl(h, IOASID_ALLOC, &a), ==, want);
    return a.ioasid;
}

static long map(IOASIDSoftHost *h, uint32_t ioasid, uint64_t iova,
                uint64_t size, uint64_t addr, uint32_t flags)
{
    struct ioasid_dma_map m = {
        .argsz = sizeof(m), .flags = flags, .ioasid = ioasid,
        .vaddr = addr, .iova = iova, .size = size,
    };

    return ioasid_soft_host_ioctl(h, IOASID_MAP_DMA, &m);
}

static long unmap(IOASIDSoftHost *h, uint32_t ioasid, uint64_t iova,
                  uint64_t size, uint64_t *unmapped)
{
    struct ioasid_dma_unmap u = {
        .argsz = sizeof(u), .ioasid = ioasid, .iova = iova, .size = size,
    };
    long ret = ioasid_soft_host_ioctl(h, IOASID_UNMAP_DMA, &u);

    if (unmapped) {
        *unmapped = u.size;
    }
    return ret;
}

static long attach(IOASIDSoftHost *h, unsigned long cmd, uint32_t ioasid,
                   uint32_t dev)
{
    struct ioasid_device_attach at = {
        .argsz = sizeof(at), .ioasid = ioasid, .dev_id = dev,
    };

    return ioasid_soft_host_ioctl(h, cmd, &at);
}

/* Attach or detach (device @dev, PASID @pasid) */
static long attach_pasid(IOASIDSoftHost *h, unsigned long cmd,
                         uint32_t ioasid, uint32_t dev, uint32_t pasid)
{
    struct ioasid_device_attach at = {
        .argsz = sizeof(at), .flags = IOASID_ATTACH_FLAG_PASID,
        .ioasid = ioasid, .dev_id = dev, .pasid = pasid,
    };

    return ioasid_soft_host_ioctl(h, cmd, &at);
}

static int xlate(IOASIDSoftHost *h, uint32_t dev, uint32_t pasid,
                 uint64_t iova, uint64_t *addr)
{
    uint64_t len = 8;
    bool block;

    return ioasid_soft_host_translate(h, dev, pasid, iova, false, addr, &len,
                                      &block);
}

typedef struct Table {
    unsigned int n;
    IOASIDSoftMappingInfo m[16];
} Table;

static void collect(const IOASIDSoftMappingInfo *info, void *opaque)
{
    Table *t = opaque;

    g_assert_cmpuint(t->n, <, ARRAY_SIZE(t->m));
    t->m[t->n++] = *info;
}

static Table table(IOASIDSoftHost *h, uint32_t ioasid)
{
    Table t = { 0 };

    g_assert_cmpint(ioasid_soft_host_foreach_mapping(h, ioasid, 0, UINT64_MAX,
                                                     0, collect, &t), ==, 0);
    return t;
}

static void test_info_and_extensions(void)
{
    IOASIDSoftHost *h = ioasid_soft_host_new(true, false, 65535);
    struct ioasid_info info = { .argsz = sizeof(info) };

    g_assert_cmpint(ioasid_soft_host_ioctl(h, IOASID_GET_API_VERSION, NULL),
                    ==, IOASID_API_VERSION);
    g_assert_cmpint(ioasid_soft_host_ioctl(h, IOASID_CHECK_EXTENSION,
                    (void *)(uintptr_t)IOASID_EXT_DMA_NO_SNOOP), ==, 1);
    g_assert_cmpint(ioasid_soft_host_ioctl(h, IOASID_CHECK_EXTENSION,
                    (void *)(uintptr_t)IOASID_EXT_PASID), ==, 64);
    g_assert_cmpint(ioasid_soft_host_ioctl(h, IOASID_CHECK_EXTENSION,
                    (void *)(uintptr_t)42), ==, 0);
    g_assert_cmpint(ioasid_soft_host_ioctl(h, IOASID_GET_INFO, &info), ==, 0);
    g_assert_cmphex(info.flags, ==, IOASID_INFO_CAN_BLOCK_NOSNOOP);
    g_assert_true(info.pgsize_bitmap & PG);
    info.argsz = 4;
    g_assert_cmpint(ioasid_soft_host_ioctl(h, IOASID_GET_INFO, &info), ==,
                    -EINVAL);
    g_assert_cmpint(ioasid_soft_host_ioctl(h, 0x1234, NULL), ==, -ENOTTY);
    ioasid_soft_host_free(h);
}

static void test_map_rules(void)
{
    IOASIDSoftHost *h = ioasid_soft_host_new(true, true, 65535);
    uint32_t id = alloc(h, 0, 0);
    Table t;

    g_assert_cmpuint(id, >, 0);
    g_assert_cmpint(map(h, id, 0x10000, 4 * PG, 0x80000, R | W | B), ==, 0);
    /* any overlap is refused: a mapping never replaces another */
    g_assert_cmpint(map(h, id, 0x10000, PG, 0x90000, R), ==, -EEXIST);
    g_assert_cmpint(map(h, id, 0x13000, 2 * PG, 0x90000, R), ==, -EEXIST);
    g_assert_cmpint(map(h, id, 0xf000, 2 * PG, 0x90000, R), ==, -EEXIST);
    /* adjacent is fine and stays a separate mapping */
    g_assert_cmpint(map(h, id, 0x14000, PG, 0x84000, R | W | B), ==, 0);
    /* bad arguments */
    g_assert_cmpint(map(h, id, 0x20000, PG, 0, 0), ==, -EINVAL);
    g_assert_cmpint(map(h, id, 0x20000, PG, 0, B), ==, -EINVAL);
    g_assert_cmpint(map(h, id, 0x20000, PG, 0, R | 0x80), ==, -EINVAL);
    g_assert_cmpint(map(h, id, 0x20800, PG, 0, R), ==, -EINVAL);
    g_assert_cmpint(map(h, id, 0x20000, 0x800, 0, R), ==, -EINVAL);
    g_assert_cmpint(map(h, id, 0x20000, PG, 0x800, R), ==, -EINVAL);
    g_assert_cmpint(map(h, id, 0x20000, 0, 0, R), ==, -EINVAL);
    g_assert_cmpint(map(h, id, UINT64_MAX - PG + 1, 2 * PG, 0, R), ==,
                    -EINVAL);
    g_assert_cmpint(map(h, id + 1, 0x20000, PG, 0, R), ==, -ENOENT);

    t = table(h, id);
    g_assert_cmpuint(t.n, ==, 2);
    g_assert_cmphex(t.m[0].iova, ==, 0x10000);
    g_assert_cmphex(t.m[0].size, ==, 4 * PG);
    g_assert_cmphex(t.m[1].iova, ==, 0x14000);
    ioasid_soft_host_free(h);
}

static void test_unmap_whole(void)
{
    IOASIDSoftHost *h = ioasid_soft_host_new(true, true, 65535);
    uint32_t id = alloc(h, 0, 0);
    uint64_t unmapped;
    IOASIDSoftSpaceInfo info;
    Table t;

    g_assert_cmpint(map(h, id, 0x100000, 8 * PG, 0x500000, R | B), ==, 0);
    g_assert_cmpint(map(h, id, 0x108000, PG, 0x600000, R), ==, 0);
    /* a hole in the middle, a head, a tail: refused, nothing changes */
    g_assert_cmpint(unmap(h, id, 0x102000, 2 * PG, NULL), ==, -EINVAL);
    g_assert_cmpint(unmap(h, id, 0x0ff000, 2 * PG, NULL), ==, -EINVAL);
    g_assert_cmpint(unmap(h, id, 0x107000, 2 * PG, NULL), ==, -EINVAL);
    t = table(h, id);
    g_assert_cmpuint(t.n, ==, 2);
    g_assert_cmphex(t.m[0].iova, ==, 0x100000);
    g_assert_cmphex(t.m[0].size, ==, 8 * PG);
    g_assert_cmphex(t.m[0].flags, ==, R | B);
    g_assert_cmpint(ioasid_soft_host_get_space(h, id, &info), ==, 0);
    g_assert_cmpuint(info.failed_calls, ==, 3);

    /* whole mappings go, with the holes around them */
    g_assert_cmpint(unmap(h, id, 0x0f0000, 0x19000, &unmapped), ==, 0);
    g_assert_cmphex(unmapped, ==, 9 * PG);
    /* nothing mapped there any more: not an error, 0 bytes */
    g_assert_cmpint(unmap(h, id, 0x100000, 8 * PG, &unmapped), ==, 0);
    g_assert_cmphex(unmapped, ==, 0);
    g_assert_cmpuint(table(h, id).n, ==, 0);

    g_assert_cmpint(unmap(h, id, 0x101800, PG, NULL), ==, -EINVAL);
    g_assert_cmpint(unmap(h, id, 0, 0, NULL), ==, -EINVAL);
    g_assert_cmpint(map(h, id, 0x3000, PG, 0, R), ==, 0);
    g_assert_cmpint(unmap(h, id, 0, UINT64_MAX - PG + 1, &unmapped), ==, 0);
    g_assert_cmphex(unmapped, ==, PG);
    ioasid_soft_host_free(h);
}

/* Like VFIO type1's dma_entry_limit: ENOSPC past the limit, per IOASID */
static void test_mapping_limit(void)
{
    IOASIDSoftHost *h = ioasid_soft_host_new(true, true, 3);
    uint32_t a = alloc(h, 0, 0), b = alloc(h, 0, 0);
    struct ioasid_info info = { .argsz = sizeof(info) };
    IOASIDSoftSpaceInfo si;
    int i;

    g_assert_cmpint(ioasid_soft_host_ioctl(h, IOASID_GET_INFO, &info), ==, 0);
    g_assert_cmpuint(info.max_mappings, ==, 3);
    for (i = 0; i < 3; i++) {
        g_assert_cmpint(map(h, a, i * 2 * PG, PG, 0, R), ==, 0);
    }
    g_assert_cmpint(map(h, a, 8 * PG, PG, 0, R), ==, -ENOSPC);
    g_assert_cmpint(map(h, a, 9 * PG, 16 * PG, 0, R), ==, -ENOSPC);
    /* a bad request is refused for what it is, not for the limit */
    g_assert_cmpint(map(h, a, 0, PG, 0, R), ==, -EEXIST);
    /* the other IOASID has its own limit */
    g_assert_cmpint(map(h, b, 0, PG, 0, R), ==, 0);
    g_assert_cmpint(ioasid_soft_host_get_space(h, a, &si), ==, 0);
    g_assert_cmpuint(si.mappings, ==, 3);
    g_assert_cmpuint(si.quota_refused, ==, 2);
    g_assert_cmpuint(si.failed_calls, ==, 3);
    /* room again after an unmap */
    g_assert_cmpint(unmap(h, a, 0, PG, NULL), ==, 0);
    g_assert_cmpint(map(h, a, 8 * PG, PG, 0, R), ==, 0);
    ioasid_soft_host_free(h);
}

static void test_foreach_range(void)
{
    IOASIDSoftHost *h = ioasid_soft_host_new(true, true, 65535);
    uint32_t id = alloc(h, 0, 0);
    Table t = { 0 };
    int i;

    for (i = 0; i < 8; i++) {
        g_assert_cmpint(map(h, id, i * 2 * PG, PG, 0, R), ==, 0);
    }
    /* overlapping [3 PG, 9 PG]: the mappings at 4, 6 and 8 PG, at most 2 */
    g_assert_cmpint(ioasid_soft_host_foreach_mapping(h, id, 3 * PG,
                                                     9 * PG, 2, collect, &t),
                    ==, 0);
    g_assert_cmpuint(t.n, ==, 2);
    g_assert_cmphex(t.m[0].iova, ==, 4 * PG);
    g_assert_cmphex(t.m[1].iova, ==, 6 * PG);
    t.n = 0;
    g_assert_cmpint(ioasid_soft_host_foreach_mapping(h, id, 3 * PG,
                                                     9 * PG, 0, collect, &t),
                    ==, 0);
    g_assert_cmpuint(t.n, ==, 3);
    ioasid_soft_host_free(h);
}

static void test_snoop_control(void)
{
    IOASIDSoftHost *weak = ioasid_soft_host_new(false, true, 65535);
    IOASIDSoftHost *h = ioasid_soft_host_new(true, true, 65535);
    uint32_t id, enf;
    uint64_t addr, len;
    bool block;

    /* a host that cannot block refuses to be asked to */
    alloc(weak, IOASID_ALLOC_ENFORCE_SNOOP, -EOPNOTSUPP);
    id = alloc(weak, 0, 0);
    g_assert_cmpint(map(weak, id, 0, PG, 0, R | B), ==, -EOPNOTSUPP);
    g_assert_cmpint(map(weak, id, 0, PG, 0, R), ==, 0);

    /* per-mapping flag versus an enforcing IOASID */
    id = alloc(h, 0, 0);
    enf = alloc(h, IOASID_ALLOC_ENFORCE_SNOOP, 0);
    g_assert_cmpuint(id, !=, enf);
    g_assert_cmpint(map(h, id, 0, PG, 0x1000, R | W), ==, 0);
    g_assert_cmpint(map(h, id, PG, PG, 0x2000, R | W | B), ==, 0);
    g_assert_cmpint(map(h, enf, 0, PG, 0x1000, R | W), ==, 0);
    g_assert_cmpint(attach(h, IOASID_ATTACH_DEVICE, id, 1), ==, 0);
    g_assert_cmpint(attach(h, IOASID_ATTACH_DEVICE, enf, 2), ==, 0);

    len = 2 * PG;
    g_assert_cmpint(ioasid_soft_host_translate(h, 1, IOASID_NO_PASID,
                                               0x10, true, &addr, &len,
                                               &block), ==, 0);
    g_assert_cmphex(addr, ==, 0x1010);
    g_assert_cmphex(len, ==, PG - 0x10);
    g_assert_false(block);
    len = 16;
    g_assert_cmpint(ioasid_soft_host_translate(h, 1, IOASID_NO_PASID,
                                               PG, false, &addr, &len,
                                               &block), ==, 0);
    g_assert_cmphex(len, ==, 16);
    g_assert_true(block);
    len = 16;
    g_assert_cmpint(ioasid_soft_host_translate(h, 2, IOASID_NO_PASID,
                                               0, false, &addr, &len,
                                               &block), ==, 0);
    g_assert_true(block);
    ioasid_soft_host_free(weak);
    ioasid_soft_host_free(h);
}

static void test_translate_faults(void)
{
    IOASIDSoftHost *h = ioasid_soft_host_new(true, true, 65535);
    uint32_t id = alloc(h, 0, 0);
    uint64_t addr, len = 8;
    bool block;

    g_assert_cmpint(map(h, id, 0, PG, 0x1000, R), ==, 0);
    /* not attached: the host translates nothing for the device */
    g_assert_cmpint(ioasid_soft_host_translate(h, 7, IOASID_NO_PASID,
                                               0, false, &addr, &len,
                                               &block), ==, -ENOENT);
    g_assert_cmpint(attach(h, IOASID_ATTACH_DEVICE, id, 7), ==, 0);
    g_assert_cmpint(ioasid_soft_host_translate(h, 7, IOASID_NO_PASID,
                                               0, false, &addr, &len,
                                               &block), ==, 0);
    g_assert_cmpint(ioasid_soft_host_translate(h, 7, IOASID_NO_PASID,
                                               0, true, &addr, &len,
                                               &block), ==, -EACCES);
    g_assert_cmpint(ioasid_soft_host_translate(h, 7, IOASID_NO_PASID,
                                               PG, false, &addr, &len,
                                               &block), ==, -ENOENT);
    ioasid_soft_host_free(h);
}

/* The pieces a range translation reported */
typedef struct Pieces {
    uint64_t addr[8], len[8];
    bool block[8];
    unsigned n;
} Pieces;

static void add_piece(void *opaque, uint64_t addr, uint64_t len, bool block)
{
    Pieces *p = opaque;

    g_assert_cmpuint(p->n, <, ARRAY_SIZE(p->addr));
    p->addr[p->n] = addr;
    p->len[p->n] = len;
    p->block[p->n++] = block;
}

/*
 * A range translates as the device's DMA needs it: one piece per run of
 * mappings contiguous in IOVA and address with the same snoop attribute,
 * and a fault at the first IOVA that does not translate, with what came
 * before it reported.
 */
static void test_translate_range(void)
{
    IOASIDSoftHost *h = ioasid_soft_host_new(true, true, 65535);
    uint32_t id = alloc(h, 0, 0);
    uint64_t done;
    Pieces p = { 0 };

    g_assert_cmpint(attach(h, IOASID_ATTACH_DEVICE, id, 7), ==, 0);
    /* 0-3 contiguous: 0 and 1 snooped, 2 not, 3 elsewhere; 5 read-only */
    g_assert_cmpint(map(h, id, 0, PG, 0x100000, R | W | B), ==, 0);
    g_assert_cmpint(map(h, id, PG, PG, 0x101000, R | W | B), ==, 0);
    g_assert_cmpint(map(h, id, 2 * PG, PG, 0x102000, R | W), ==, 0);
    g_assert_cmpint(map(h, id, 3 * PG, PG, 0x200000, R | W), ==, 0);
    g_assert_cmpint(map(h, id, 5 * PG, PG, 0x300000, R), ==, 0);

    g_assert_cmpint(ioasid_soft_host_translate_range(h, 7, IOASID_NO_PASID,
                                                     0x800, 4 * PG - 0x900,
                                                     false, add_piece, &p,
                                                     &done), ==, 0);
    g_assert_cmpuint(done, ==, 4 * PG - 0x900);
    g_assert_cmpuint(p.n, ==, 3);
    g_assert_cmphex(p.addr[0], ==, 0x100800);
    g_assert_cmphex(p.len[0], ==, 2 * PG - 0x800);
    g_assert_true(p.block[0]);
    g_assert_cmphex(p.addr[1], ==, 0x102000);
    g_assert_cmphex(p.len[1], ==, PG);
    g_assert_false(p.block[1]);
    g_assert_cmphex(p.addr[2], ==, 0x200000);
    g_assert_cmphex(p.len[2], ==, PG - 0x100);

    /* the hole at 4: what came before is reported, the fault is at 4 */
    p.n = 0;
    g_assert_cmpint(ioasid_soft_host_translate_range(h, 7, IOASID_NO_PASID,
                                                     3 * PG, 3 * PG, false,
                                                     add_piece, &p, &done),
                    ==, -ENOENT);
    g_assert_cmpuint(done, ==, PG);
    g_assert_cmpuint(p.n, ==, 1);
    /* a write to the read-only page: -EACCES there */
    p.n = 0;
    g_assert_cmpint(ioasid_soft_host_translate_range(h, 7, IOASID_NO_PASID,
                                                     5 * PG, 8, true,
                                                     add_piece, &p, &done),
                    ==, -EACCES);
    g_assert_cmpuint(done, ==, 0);
    g_assert_cmpuint(p.n, ==, 0);
    /* a hole first, and a device not attached */
    g_assert_cmpint(ioasid_soft_host_translate_range(h, 7, IOASID_NO_PASID,
                                                     4 * PG, 1, false,
                                                     add_piece, &p, &done),
                    ==, -ENOENT);
    g_assert_cmpuint(done, ==, 0);
    g_assert_cmpint(ioasid_soft_host_translate_range(h, 8, IOASID_NO_PASID,
                                                     0, 1, false, add_piece,
                                                     &p, &done), ==, -ENOENT);
    g_assert_cmpuint(p.n, ==, 0);
    attach(h, IOASID_DETACH_DEVICE, id, 7);
    ioasid_soft_host_free(h);
}

static void test_attach_and_free(void)
{
    IOASIDSoftHost *h = ioasid_soft_host_new(true, true, 65535);
    uint32_t a = alloc(h, 0, 0), b = alloc(h, 0, 0);

    g_assert_cmpint(attach(h, IOASID_ATTACH_DEVICE, a, 1), ==, 0);
    g_assert_cmpint(attach(h, IOASID_ATTACH_DEVICE, b, 1), ==, -EBUSY);
    g_assert_cmpint(attach(h, IOASID_DETACH_DEVICE, b, 1), ==, -ENOENT);
    g_assert_cmpint(ioasid_soft_host_ioctl(h, IOASID_FREE,
                                           (void *)(uintptr_t)a), ==, -EBUSY);
    g_assert_cmpint(attach(h, IOASID_DETACH_DEVICE, a, 1), ==, 0);
    g_assert_cmpint(map(h, a, 0, PG, 0, R), ==, 0);
    g_assert_cmpint(ioasid_soft_host_ioctl(h, IOASID_FREE,
                                           (void *)(uintptr_t)a), ==, 0);
    g_assert_cmpint(ioasid_soft_host_ioctl(h, IOASID_FREE,
                                           (void *)(uintptr_t)a), ==, -ENOENT);
    g_assert_cmpint(attach(h, IOASID_ATTACH_DEVICE, a, 1), ==, -ENOENT);
    g_assert_cmpint(attach(h, IOASID_ATTACH_DEVICE, b, 1), ==, 0);
    ioasid_soft_host_free(h);
}

typedef struct Attachments {
    unsigned int n;
    uint32_t dev[8];
    uint32_t pasid[8];
} Attachments;

static void collect_attachment(uint32_t dev_id, uint32_t pasid, void *opaque)
{
    Attachments *a = opaque;

    g_assert_cmpuint(a->n, <, 8);
    a->dev[a->n] = dev_id;
    a->pasid[a->n++] = pasid;
}

/*
 * Each (device, PASID) has its own IOASID: a device's requests without
 * PASID and with each PASID translate through what they are attached to.
 */
static void test_pasid_attach(void)
{
    IOASIDSoftHost *h = ioasid_soft_host_new(true, true, 65535);
    uint32_t a = alloc(h, 0, 0), b = alloc(h, 0, 0);
    struct ioasid_device_attach v1 = {
        .argsz = IOASID_ATTACH_V1_SIZE, .ioasid = a, .dev_id = 1,
    };
    Attachments seen = { 0 };
    uint64_t addr;

    g_assert_cmpint(map(h, a, 0, PG, 0x1000, R), ==, 0);
    g_assert_cmpint(map(h, b, 0, PG, 0x2000, R), ==, 0);
    /* the first version's structure still attaches requests without PASID */
    g_assert_cmpint(ioasid_soft_host_ioctl(h, IOASID_ATTACH_DEVICE, &v1), ==,
                    0);
    g_assert_cmpint(attach_pasid(h, IOASID_ATTACH_DEVICE, b, 1, 5), ==, 0);
    g_assert_cmpint(attach_pasid(h, IOASID_ATTACH_DEVICE, a, 1, 6), ==, 0);
    g_assert_cmpint(attach_pasid(h, IOASID_ATTACH_DEVICE, b, 2, 5), ==, 0);

    g_assert_cmpint(xlate(h, 1, IOASID_NO_PASID, 0, &addr), ==, 0);
    g_assert_cmphex(addr, ==, 0x1000);
    g_assert_cmpint(xlate(h, 1, 5, 0, &addr), ==, 0);
    g_assert_cmphex(addr, ==, 0x2000);
    g_assert_cmpint(xlate(h, 1, 6, 0, &addr), ==, 0);
    g_assert_cmphex(addr, ==, 0x1000);
    g_assert_cmpint(xlate(h, 2, 5, 0, &addr), ==, 0);
    g_assert_cmphex(addr, ==, 0x2000);
    /* a PASID not attached translates nothing, nor does a device without */
    g_assert_cmpint(xlate(h, 1, 7, 0, &addr), ==, -ENOENT);
    g_assert_cmpint(xlate(h, 2, IOASID_NO_PASID, 0, &addr), ==, -ENOENT);

    /* one IOASID per (device, PASID); what is attached is listed */
    g_assert_cmpint(attach_pasid(h, IOASID_ATTACH_DEVICE, a, 1, 5), ==,
                    -EBUSY);
    g_assert_cmpint(ioasid_soft_host_foreach_device(h, b, collect_attachment,
                                                    &seen), ==, 0);
    g_assert_cmpuint(seen.n, ==, 2);
    g_assert_cmpuint(seen.dev[0], ==, 1);
    g_assert_cmpuint(seen.pasid[0], ==, 5);
    g_assert_cmpuint(seen.dev[1], ==, 2);
    g_assert_cmpuint(seen.pasid[1], ==, 5);
    seen.n = 0;
    ioasid_soft_host_foreach_device(h, a, collect_attachment, &seen);
    g_assert_cmpuint(seen.n, ==, 2);
    g_assert_cmpuint(seen.pasid[0], ==, IOASID_NO_PASID);
    g_assert_cmpuint(seen.pasid[1], ==, 6);

    /* bad arguments: PASIDs are 20 bits, the flag needs the whole struct */
    g_assert_cmpint(attach_pasid(h, IOASID_ATTACH_DEVICE, a, 3, 1 << 20), ==,
                    -EINVAL);
    v1.flags = IOASID_ATTACH_FLAG_PASID;
    g_assert_cmpint(ioasid_soft_host_ioctl(h, IOASID_ATTACH_DEVICE, &v1), ==,
                    -EINVAL);
    v1.flags = 1 << 1;
    g_assert_cmpint(ioasid_soft_host_ioctl(h, IOASID_ATTACH_DEVICE, &v1), ==,
                    -EINVAL);

    /* detaching a PASID leaves the device's other attachments */
    g_assert_cmpint(attach_pasid(h, IOASID_DETACH_DEVICE, a, 1, 5), ==,
                    -ENOENT);
    g_assert_cmpint(attach_pasid(h, IOASID_DETACH_DEVICE, b, 1, 5), ==, 0);
    g_assert_cmpint(xlate(h, 1, 5, 0, &addr), ==, -ENOENT);
    g_assert_cmpint(xlate(h, 1, 6, 0, &addr), ==, 0);
    g_assert_cmpint(ioasid_soft_host_ioctl(h, IOASID_FREE,
                                           (void *)(uintptr_t)b), ==, -EBUSY);
    g_assert_cmpint(attach_pasid(h, IOASID_DETACH_DEVICE, b, 2, 5), ==, 0);
    g_assert_cmpint(ioasid_soft_host_ioctl(h, IOASID_FREE,
                                           (void *)(uintptr_t)b), ==, 0);
    ioasid_soft_host_free(h);
}

/* At most 64 PASIDs of a device attached at a time: bounded memory */
static void test_pasid_limit(void)
{
    IOASIDSoftHost *h = ioasid_soft_host_new(true, true, 65535);
    uint32_t a = alloc(h, 0, 0);
    uint32_t pasid;

    for (pasid = 1; pasid <= 64; pasid++) {
        g_assert_cmpint(attach_pasid(h, IOASID_ATTACH_DEVICE, a, 1, pasid),
                        ==, 0);
    }
    g_assert_cmpint(attach_pasid(h, IOASID_ATTACH_DEVICE, a, 1, 65), ==,
                    -ENOSPC);
    /* requests without PASID do not count, another device neither */
    g_assert_cmpint(attach(h, IOASID_ATTACH_DEVICE, a, 1), ==, 0);
    g_assert_cmpint(attach_pasid(h, IOASID_ATTACH_DEVICE, a, 2, 65), ==, 0);
    /* one detached: room for one more */
    g_assert_cmpint(attach_pasid(h, IOASID_DETACH_DEVICE, a, 1, 3), ==, 0);
    g_assert_cmpint(attach_pasid(h, IOASID_ATTACH_DEVICE, a, 1, 65), ==, 0);
    g_assert_cmpint(attach_pasid(h, IOASID_ATTACH_DEVICE, a, 1, 66), ==,
                    -ENOSPC);
    ioasid_soft_host_free(h);
}

static void count_space(const IOASIDSoftSpaceInfo *info, void *opaque)
{
    *(IOASIDSoftSpaceInfo *)opaque = *info;
}

static void test_call_counters(void)
{
    IOASIDSoftHost *h = ioasid_soft_host_new(true, true, 65535);
    uint32_t id = alloc(h, 0, 0);
    IOASIDSoftSpaceInfo info;

    map(h, id, 0, PG, 0, R);
    map(h, id, 0, PG, 0, R);            /* fails, still a call */
    unmap(h, id, 0, PG, NULL);
    ioasid_soft_host_foreach_ioasid(h, count_space, &info);
    g_assert_cmpuint(info.ioasid, ==, id);
    g_assert_cmpuint(info.map_calls, ==, 2);
    g_assert_cmpuint(info.unmap_calls, ==, 1);
    g_assert_cmpuint(info.mappings, ==, 0);
    g_assert_cmpuint(info.nosnoop_mappings, ==, 0);
    g_assert_cmpuint(info.failed_calls, ==, 1);
    map(h, id, 0, PG, 0, R);
    map(h, id, PG, PG, 0, R);
    map(h, id, 2 * PG, PG, 0, R | B);
    unmap(h, id, PG, PG, NULL);         /* leaves [0, PG) and the other */
    g_assert_cmpint(ioasid_soft_host_get_space(h, id, &info), ==, 0);
    g_assert_cmpuint(info.mappings, ==, 2);
    g_assert_cmpuint(info.nosnoop_mappings, ==, 1);
    ioasid_soft_host_free(h);
}

typedef struct Flushes {
    unsigned int n;
    uint64_t addr[8], size[8];
    bool map[8];
} Flushes;

static void record_flush(void *opaque, uint64_t addr, uint64_t size, bool map)
{
    Flushes *f = opaque;

    g_assert_cmpuint(f->n, <, ARRAY_SIZE(f->addr));
    f->addr[f->n] = addr;
    f->size[f->n] = size;
    f->map[f->n++] = map;
}

/*
 * The host cleans the caches before a mapping that lets no-snoop through
 * is created and before it goes, and for no other mapping.
 */
static void test_cache_duty(void)
{
    IOASIDSoftHost *h = ioasid_soft_host_new(true, true, 65535);
    IOASIDSoftHost *ignoring = ioasid_soft_host_new(true, false, 65535);
    Flushes f = { 0 };
    uint32_t id, enf;

    ioasid_soft_host_set_flush(h, record_flush, &f);
    ioasid_soft_host_set_flush(ignoring, record_flush, &f);
    id = alloc(h, 0, 0);
    enf = alloc(h, IOASID_ALLOC_ENFORCE_SNOOP, 0);
    g_assert_cmpint(map(h, id, 0, 2 * PG, 0x10000, R | W), ==, 0);
    g_assert_cmpuint(f.n, ==, 1);
    g_assert_true(f.map[0]);
    g_assert_cmphex(f.addr[0], ==, 0x10000);
    g_assert_cmphex(f.size[0], ==, 2 * PG);
    /* blocked, enforcing, or a platform ignoring no-snoop: nothing */
    g_assert_cmpint(map(h, id, 4 * PG, PG, 0x20000, R | B), ==, 0);
    g_assert_cmpint(map(h, enf, 0, PG, 0x30000, R), ==, 0);
    id = alloc(ignoring, 0, 0);
    g_assert_cmpint(map(ignoring, id, 0, PG, 0x40000, R), ==, 0);
    g_assert_cmpuint(f.n, ==, 1);
    /* a refused unmap flushes nothing; a whole one flushes before */
    g_assert_cmpint(unmap(h, 1, 0, PG, NULL), ==, -EINVAL);
    g_assert_cmpuint(f.n, ==, 1);
    g_assert_cmpint(unmap(h, 1, 0, 8 * PG, NULL), ==, 0);
    g_assert_cmpuint(f.n, ==, 2);
    g_assert_false(f.map[1]);
    g_assert_cmphex(f.addr[1], ==, 0x10000);
    g_assert_cmphex(f.size[1], ==, 2 * PG);
    /* freeing an IOASID removes its mappings: flushed too */
    g_assert_cmpint(map(h, 1, 0, PG, 0x50000, R), ==, 0);
    ioasid_soft_host_free(h);
    g_assert_cmpuint(f.n, ==, 4);
    g_assert_false(f.map[3]);
    g_assert_cmphex(f.addr[3], ==, 0x50000);
    ioasid_soft_host_free(ignoring);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ioasid-soft-host/info", test_info_and_extensions);
    g_test_add_func("/ioasid-soft-host/map-rules", test_map_rules);
    g_test_add_func("/ioasid-soft-host/unmap-whole", test_unmap_whole);
    g_test_add_func("/ioasid-soft-host/mapping-limit", test_mapping_limit);
    g_test_add_func("/ioasid-soft-host/foreach-range", test_foreach_range);
    g_test_add_func("/ioasid-soft-host/snoop-control", test_snoop_control);
    g_test_add_func("/ioasid-soft-host/translate-faults",
                    test_translate_faults);
    g_test_add_func("/ioasid-soft-host/translate-range",
                    test_translate_range);
    g_test_add_func("/ioasid-soft-host/attach-and-free",
                    test_attach_and_free);
    g_test_add_func("/ioasid-soft-host/call-counters", test_call_counters);
    g_test_add_func("/ioasid-soft-host/pasid-attach", test_pasid_attach);
    g_test_add_func("/ioasid-soft-host/pasid-limit", test_pasid_limit);
    g_test_add_func("/ioasid-soft-host/cache-duty", test_cache_duty);
    return g_test_run();
}
