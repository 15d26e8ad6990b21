/*
 * qemu-ioasid: ioasid-vfio, a PCIe device assigned through /dev/ioasid
 *
 * It stands for a real device behind a host IOMMU: its DMA engine (BAR0)
 * reaches guest memory only through the host mapping table of its IOASID,
 * which the relay (ioasid-relay.c) keeps equal to what the guest's DMA
 * address space says.  The register contract, IDs and error codes are in
 * docs/specs/ioasid-vfio.rst.
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "exec/address-spaces.h"
#include "hw/pci/pcie.h"
#include "hw/qdev-properties.h"
#include "hw/core/qdev-prop-internal.h"
#include "migration/vmstate.h"
#include "hw/vfio/ioasid-vfio.h"
#include "system/ioasid-cache-model.h"
#include "trace.h"

static const PropertyInfo ioasid_vfio_prop_nosnoop = {
    .type = "IoasidNosnoopPolicy",
    .description = "auto/deny",
    .enum_table = &IoasidNosnoopPolicy_lookup,
    .get = qdev_propinfo_get_enum,
    .set = qdev_propinfo_set_enum,
    .set_default_value = qdev_propinfo_set_default_value_enum,
};

/* PCIe r6.0 7.5.3.4: Enable No Snoop lets the function set No Snoop. */
static bool ioasid_vfio_nosnoop_enabled(IOASIDVFIOState *s)
{
    PCIDevice *pdev = PCI_DEVICE(s);

    return pci_get_word(pdev->config + pdev->exp.exp_cap + PCI_EXP_DEVCTL) &
           PCI_EXP_DEVCTL_NOSNOOP_EN;
}

/* ---- noncoherent DMA policy ---- */

/* What the device's address spaces hold, summed over their IOASIDs */
typedef struct IOASIDVFIOSpaces {
    uint64_t total;             /* mappings */
    uint64_t nosnoop;           /* mappings that let no-snoop through */
    bool all_force_snoop;       /* every space forces snooping (PGSNP) */
} IOASIDVFIOSpaces;

static void ioasid_vfio_count_space(IOASIDVFIOState *s, uint32_t ioasid,
                                    IOASIDRelay *relay, IOASIDVFIOSpaces *sum)
{
    uint64_t total, nosnoop;

    if (ioasid_backend_mapping_counts(s->be, ioasid, &total, &nosnoop)) {
        sum->total += total;
        sum->nosnoop += nosnoop;
    }
    sum->all_force_snoop &= ioasid_relay_forces_snoop(relay);
}

/*
 * Condition (b): the host lets no-snoop through one of the device's
 * address spaces (its requests without PASID, and each PASID in use).  It
 * does if it cannot block at all, or if some mapping does not block.  An
 * IOASID with no mapping at all lets no DMA through, so it says nothing
 * new: with nothing mapped anywhere, (b) keeps its value.  Guests
 * switching domains unmap everything before they map again; re-deciding
 * on the empty table in between would flap the VM's registration (and
 * zap KVM's page tables twice).
 */
static bool ioasid_vfio_nosnoop_passes(IOASIDVFIOState *s)
{
    IOASIDVFIOSpaces sum = { .all_force_snoop = true };
    GHashTableIter it;
    IOASIDVFIOPasid *p;

    if (!ioasid_backend_can_block_nosnoop(s->be)) {
        return true;
    }
    ioasid_vfio_count_space(s, s->ioasid, &s->relay, &sum);
    g_hash_table_iter_init(&it, s->pasids);
    while (g_hash_table_iter_next(&it, NULL, (gpointer *)&p)) {
        ioasid_vfio_count_space(s, p->ioasid, &p->relay, &sum);
    }
    if (!sum.total) {
        /*
         * Nothing mapped yet.  A first-stage shadow fills when the device
         * first misses, so the guest may well have mapped: if its PASID
         * entries force snooping (PGSNP), no-snoop cannot pass whatever it
         * maps.  Otherwise keep the last answer, so that a guest that
         * remaps does not make the device flap.
         */
        if (sum.all_force_snoop) {
            return false;
        }
        return s->nc.nosnoop_passes;
    }
    return sum.nosnoop > 0;
}

/*
 * Recompute the three conditions of noncoherent DMA.  Called only on events
 * that can change one: host calls on the IOASID (the relay's changed hook),
 * a change of Enable No Snoop, reset, realize.  Condition (b) comes from
 * counters kept by the host, so this never walks a page table.
 */
void ioasid_vfio_update_noncoherent(IOASIDVFIOState *s, bool settle)
{
    s->nc.nosnoop_enabled = ioasid_vfio_nosnoop_enabled(s);
    s->nc.nosnoop_passes = ioasid_vfio_nosnoop_passes(s);
    s->nc.platform_nosnoop = ioasid_backend_platform_nosnoop(s->be);
    s->nc.nosnoop_deny = s->nosnoop == IOASID_NOSNOOP_POLICY_DENY;
    trace_ioasid_vfio_noncoherent(s->dev_id, s->nc.nosnoop_enabled,
                                  s->nc.nosnoop_passes,
                                  s->nc.platform_nosnoop,
                                  s->nc.nosnoop_deny);
    if (settle) {
        ioasid_noncoherent_settle(&s->nc);
    } else {
        ioasid_noncoherent_update(&s->nc);
    }
}

static void ioasid_vfio_mappings_changed(void *opaque)
{
    ioasid_vfio_update_noncoherent(opaque, false);
}

static void ioasid_vfio_config_write(PCIDevice *pdev, uint32_t addr,
                                     uint32_t val, int len)
{
    IOASIDVFIOState *s = IOASID_VFIO(pdev);
    bool before = ioasid_vfio_nosnoop_enabled(s);

    pci_default_write_config(pdev, addr, val, len);
    /* Initiate Function Level Reset: the DMA engine and its counters */
    pcie_cap_flr_write_config(pdev, addr, val, len);
    if (s->attached && ioasid_vfio_nosnoop_enabled(s) != before) {
        ioasid_vfio_update_noncoherent(s, false);
    }
    /* PASID Enable clear: the device uses no PASID any more */
    if (s->attached && !ioasid_vfio_pasid_enabled(s)) {
        ioasid_vfio_pasid_release_all(s);
    }
}

/* ---- DMA engine ---- */

typedef struct IOASIDVFIOSegment {
    hwaddr addr;                /* guest-physical, from the host table */
    hwaddr len;
    bool block_nosnoop;
} IOASIDVFIOSegment;

/*
 * Translate [iova, iova + len) through the host mapping table, as a host
 * IOMMU would, before any byte moves: a transfer that would fault moves
 * nothing.  Where nothing is mapped, the vIOMMU may not have been told of
 * a new entry (VT-d first stage): it walks its tables there once, as
 * hardware walks on a miss, and the host table is tried again.  Returns
 * 0, or an IOASID_VFIO_ERR_* code with s->fault_addr set.
 */
/* The address space of one request: its PASID, and the relay filling it */
typedef struct IOASIDVFIORequester {
    uint32_t pasid;             /* IOASID_NO_PASID: request without PASID */
    IOASIDRelay *relay;
} IOASIDVFIORequester;

static void ioasid_vfio_add_segment(void *opaque, uint64_t addr, uint64_t len,
                                    bool block_nosnoop)
{
    IOASIDVFIOSegment seg = { addr, len, block_nosnoop };

    g_array_append_val((GArray *)opaque, seg);
}

static int ioasid_vfio_translate(IOASIDVFIOState *s, IOASIDVFIORequester *rq,
                                 uint64_t iova, uint32_t len, bool is_write,
                                 GArray *segs)
{
    bool walked = false;        /* the vIOMMU walked at this IOVA already */

    while (len) {
        hwaddr done;
        int ret = ioasid_backend_dma_translate(s->be, s->dev_id, rq->pasid,
                                               iova, len, is_write,
                                               ioasid_vfio_add_segment, segs,
                                               &done);

        iova += done;
        len -= done;
        if (!ret) {
            break;
        }
        walked &= !done;
        if (ret != -EACCES && !walked && ioasid_relay_fill(rq->relay, iova)) {
            walked = true;
            continue;
        }
        s->fault_addr = iova;
        ioasid_relay_report_fault(rq->relay, iova, is_write);
        return ret == -EACCES ? IOASID_VFIO_ERR_PERMISSION
                              : IOASID_VFIO_ERR_NO_MAPPING;
    }
    return 0;
}

/*
 * Move @buf to or from the segments; count what bypassed the caches.
 * Under the strict cache model every transfer goes through it, so that
 * what bypasses the caches meets them as it would on hardware.
 */
static int ioasid_vfio_access(IOASIDVFIOState *s, uint64_t iova, GArray *segs,
                              uint8_t *buf, bool is_write, bool nosnoop)
{
    /*
     * Without the cache model the data moves the same whatever each
     * segment's snoop attribute: one access per run of segments contiguous
     * in guest-physical memory, unless one fails (then one at a time, so
     * that the fault names the first IOVA that cannot be reached).
     */
    bool merge = !ioasid_cache_model_active();
    unsigned int i, j, k;

    for (i = 0; i < segs->len; i = j) {
        IOASIDVFIOSegment *seg = &g_array_index(segs, IOASIDVFIOSegment, i);
        hwaddr len = seg->len;
        MemTxResult r;

        for (j = i + 1; merge && j < segs->len; j++) {
            IOASIDVFIOSegment *next = &g_array_index(segs, IOASIDVFIOSegment,
                                                     j);

            if (next->addr != seg->addr + len) {
                break;
            }
            len += next->len;
        }
        if (unlikely(ioasid_cache_model_active())) {
            r = ioasid_cache_model_dma_rw(seg->addr, buf, len, is_write,
                                          nosnoop && !seg->block_nosnoop);
        } else {
            r = address_space_rw(&address_space_memory, seg->addr,
                                 MEMTXATTRS_UNSPECIFIED, buf, len, is_write);
        }
        if (r != MEMTX_OK) {
            if (j > i + 1) {
                merge = false;
                j = i;          /* again, a segment at a time */
                continue;
            }
            s->fault_addr = iova;
            return IOASID_VFIO_ERR_NO_MAPPING;
        }
        for (k = i; k < j; k++) {
            seg = &g_array_index(segs, IOASIDVFIOSegment, k);
            if (nosnoop && !seg->block_nosnoop) {
                s->nosnoop_bytes += seg->len;
            }
        }
        buf += len;
        iova += len;
    }
    return 0;
}

static int ioasid_vfio_do_dma(IOASIDVFIOState *s, unsigned int op,
                              bool nosnoop)
{
    GArray *src, *dst;
    uint8_t *buf;
    IOASIDVFIORequester rq = { IOASID_NO_PASID, &s->relay };
    int err;

    if (!(pci_get_word(PCI_DEVICE(s)->config + PCI_COMMAND) &
          PCI_COMMAND_MASTER)) {
        return IOASID_VFIO_ERR_NO_BUS_MASTER;
    }
    if (op > IOASID_VFIO_OP_FILL || !s->len || s->len > IOASID_VFIO_MAX_LEN ||
        s->dst + s->len - 1 < s->dst ||
        (op == IOASID_VFIO_OP_COPY && s->src + s->len - 1 < s->src)) {
        return IOASID_VFIO_ERR_BAD_ARGUMENT;
    }
    if (s->pasid & IOASID_VFIO_PASID_VALID) {
        IOASIDVFIOPasid *p;

        if (!ioasid_vfio_pasid_enabled(s)) {
            return IOASID_VFIO_ERR_PASID_DISABLED;
        }
        p = ioasid_vfio_pasid_get(s, s->pasid & IOASID_VFIO_PASID_MASK);
        if (!p) {
            /* No address space takes the PASID: the first access faults */
            s->fault_addr = op == IOASID_VFIO_OP_COPY ? s->src : s->dst;
            return IOASID_VFIO_ERR_NO_MAPPING;
        }
        rq = (IOASIDVFIORequester) { p->pasid, &p->relay };
    }
    if (!s->bounce) {
        s->bounce = g_malloc(IOASID_VFIO_MAX_LEN);
        s->segs[0] = g_array_new(false, false, sizeof(IOASIDVFIOSegment));
        s->segs[1] = g_array_new(false, false, sizeof(IOASIDVFIOSegment));
    }
    src = g_array_set_size(s->segs[0], 0);
    dst = g_array_set_size(s->segs[1], 0);
    if (op == IOASID_VFIO_OP_COPY) {
        err = ioasid_vfio_translate(s, &rq, s->src, s->len, false, src);
        if (err) {
            return err;
        }
    }
    err = ioasid_vfio_translate(s, &rq, s->dst, s->len, true, dst);
    if (err) {
        return err;
    }

    buf = s->bounce;
    if (op == IOASID_VFIO_OP_COPY) {
        err = ioasid_vfio_access(s, s->src, src, buf, false, nosnoop);
        if (err) {
            return err;
        }
    } else {
        uint32_t i;

        for (i = 0; i < s->len; i++) {
            buf[i] = s->pattern >> (8 * (i % 4));
        }
    }
    return ioasid_vfio_access(s, s->dst, dst, buf, true, nosnoop);
}

/*
 * Completion is synchronous: the transfer is over when the write to CMD
 * returns, so BUSY is never seen set.
 */
static void ioasid_vfio_start(IOASIDVFIOState *s)
{
    unsigned int op = (s->cmd & IOASID_VFIO_CMD_OP_MASK) >>
                      IOASID_VFIO_CMD_OP_SHIFT;
    /*
     * A TLP carries No Snoop only if the command asks for it and Enable No
     * Snoop permits it; it bypasses the caches only where the host IOMMU does
     * not force snooping and the platform honours the attribute.
     */
    bool nosnoop = (s->cmd & IOASID_VFIO_CMD_NOSNOOP) &&
                   ioasid_vfio_nosnoop_enabled(s) &&
                   ioasid_backend_platform_nosnoop(s->be);
    uint64_t before = s->nosnoop_bytes;
    int err;

    /*
     * The host table is final: the relay applies the vIOMMU's events when
     * the vIOMMU commits an invalidation, before the guest sees it done.
     */
    s->status = IOASID_VFIO_STATUS_BUSY;
    err = ioasid_vfio_do_dma(s, op, nosnoop);
    s->status = err ? IOASID_VFIO_STATUS_ERROR |
                      (err << IOASID_VFIO_STATUS_CODE_SHIFT)
                    : IOASID_VFIO_STATUS_DONE;
    trace_ioasid_vfio_dma(s->dev_id, s->pasid, op, s->src, s->dst, s->len,
                          !!(s->cmd & IOASID_VFIO_CMD_NOSNOOP),
                          s->nosnoop_bytes - before, err,
                          err ? s->fault_addr : 0);
    if (err && err != IOASID_VFIO_ERR_BAD_ARGUMENT &&
        err != IOASID_VFIO_ERR_NO_BUS_MASTER) {
        qemu_log_mask(LOG_GUEST_ERROR, "ioasid-vfio: DMA fault at IOVA 0x%"
                      PRIx64 " (code %d)\n", s->fault_addr, err);
    }
}

/* ---- BAR0 ---- */

static uint32_t ioasid_vfio_half(uint64_t reg, hwaddr off)
{
    return off & 4 ? reg >> 32 : (uint32_t)reg;
}

static void ioasid_vfio_set_half(uint64_t *reg, hwaddr off, uint32_t val)
{
    *reg = deposit64(*reg, off & 4 ? 32 : 0, 32, val);
}

static uint64_t ioasid_vfio_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    IOASIDVFIOState *s = opaque;
    uint64_t val = 0;

    switch (addr) {
    case IOASID_VFIO_REG_ID:
        val = IOASID_VFIO_ID_VALUE;
        break;
    case IOASID_VFIO_REG_SRC:
    case IOASID_VFIO_REG_SRC + 4:
        val = ioasid_vfio_half(s->src, addr);
        break;
    case IOASID_VFIO_REG_DST:
    case IOASID_VFIO_REG_DST + 4:
        val = ioasid_vfio_half(s->dst, addr);
        break;
    case IOASID_VFIO_REG_LEN:
        val = s->len;
        break;
    case IOASID_VFIO_REG_CMD:
        val = s->cmd;
        break;
    case IOASID_VFIO_REG_STATUS:
        val = s->status;
        break;
    case IOASID_VFIO_REG_PATTERN:
        val = s->pattern;
        break;
    case IOASID_VFIO_REG_FAULT_ADDR:
    case IOASID_VFIO_REG_FAULT_ADDR + 4:
        val = ioasid_vfio_half(s->fault_addr, addr);
        break;
    case IOASID_VFIO_REG_NOSNOOP_BYTES:
    case IOASID_VFIO_REG_NOSNOOP_BYTES + 4:
        val = ioasid_vfio_half(s->nosnoop_bytes, addr);
        break;
    case IOASID_VFIO_REG_PASID:
        val = s->pasid;
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR, "ioasid-vfio: read of unknown "
                      "register 0x%" HWADDR_PRIx "\n", addr);
        break;
    }
    trace_ioasid_vfio_mmio_read(addr, val);
    return val;
}

static void ioasid_vfio_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                                   unsigned size)
{
    IOASIDVFIOState *s = opaque;

    trace_ioasid_vfio_mmio_write(addr, val);
    switch (addr) {
    case IOASID_VFIO_REG_SRC:
    case IOASID_VFIO_REG_SRC + 4:
        ioasid_vfio_set_half(&s->src, addr, val);
        break;
    case IOASID_VFIO_REG_DST:
    case IOASID_VFIO_REG_DST + 4:
        ioasid_vfio_set_half(&s->dst, addr, val);
        break;
    case IOASID_VFIO_REG_LEN:
        s->len = val;
        break;
    case IOASID_VFIO_REG_CMD:
        s->cmd = val & ~IOASID_VFIO_CMD_START;
        if (val & IOASID_VFIO_CMD_START) {
            ioasid_vfio_start(s);
        }
        break;
    case IOASID_VFIO_REG_STATUS:
        /* DONE and ERROR are write-1-to-clear; the code goes with ERROR. */
        s->status &= ~(val & (IOASID_VFIO_STATUS_DONE |
                              IOASID_VFIO_STATUS_ERROR));
        if (!(s->status & IOASID_VFIO_STATUS_ERROR)) {
            s->status &= ~IOASID_VFIO_STATUS_CODE_MASK;
        }
        break;
    case IOASID_VFIO_REG_PATTERN:
        s->pattern = val;
        break;
    case IOASID_VFIO_REG_PASID:
        /* the other bits are reserved: read as 0 */
        s->pasid = val & (IOASID_VFIO_PASID_VALID | IOASID_VFIO_PASID_MASK);
        break;
    case IOASID_VFIO_REG_ID:
    case IOASID_VFIO_REG_FAULT_ADDR:
    case IOASID_VFIO_REG_FAULT_ADDR + 4:
    case IOASID_VFIO_REG_NOSNOOP_BYTES:
    case IOASID_VFIO_REG_NOSNOOP_BYTES + 4:
        qemu_log_mask(LOG_GUEST_ERROR, "ioasid-vfio: write to read-only "
                      "register 0x%" HWADDR_PRIx "\n", addr);
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR, "ioasid-vfio: write to unknown "
                      "register 0x%" HWADDR_PRIx "\n", addr);
        break;
    }
}

/* 64-bit accesses are split into two 32-bit ones, low half first. */
static const MemoryRegionOps ioasid_vfio_mmio_ops = {
    .read = ioasid_vfio_mmio_read,
    .write = ioasid_vfio_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 4,
        .max_access_size = 8,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
};

/* ---- PCI ---- */

static void ioasid_vfio_reset_regs(IOASIDVFIOState *s)
{
    PCIDevice *pdev = PCI_DEVICE(s);

    s->src = s->dst = 0;
    s->len = s->cmd = s->status = s->pattern = 0;
    s->fault_addr = 0;
    s->nosnoop_bytes = 0;
    s->pasid = 0;
    /* PCIe r6.0 7.5.3.4: Enable No Snoop resets to 1. */
    pci_word_test_and_set_mask(pdev->config + pdev->exp.exp_cap +
                               PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_NOSNOOP_EN);
}

static void ioasid_vfio_reset(DeviceState *dev)
{
    IOASIDVFIOState *s = IOASID_VFIO(dev);

    ioasid_vfio_reset_regs(s);
    if (s->attached) {
        ioasid_vfio_pasid_reset(s);
        ioasid_vfio_update_noncoherent(s, false);
    }
}

/*
 * The vIOMMU in front of the device, if any, must be one whose mappings
 * the relay can follow with the snoop attribute the host can honour.
 */
static bool ioasid_vfio_check_viommu(IOASIDVFIOState *s, bool can_block,
                                     Error **errp)
{
    ERRP_GUARD();
    PCIDevice *pdev = PCI_DEVICE(s);
    Object *viommu;

    if (pci_device_iommu_address_space(pdev) == &address_space_memory) {
        return true;
    }
    viommu = object_resolve_path_type("", "intel-iommu", NULL);
    if (!viommu) {
        return true;
    }
    if (object_property_get_bool(viommu, "snoop-control", NULL) &&
        !can_block) {
        error_setg(errp, "ioasid-vfio: intel-iommu snoop-control=on "
                   "promises the guest it can force snooping, but ioasid "
                   "'%s' has host-snoop-control=off",
                   object_get_canonical_path_component(OBJECT(s->be)));
        error_append_hint(errp, "Use intel-iommu snoop-control=off, or an "
                          "ioasid context with host-snoop-control=on.\n");
        return false;
    }
    return true;
}

static void ioasid_vfio_realize(PCIDevice *pdev, Error **errp)
{
    IOASIDVFIOState *s = IOASID_VFIO(pdev);
    g_autofree char *path = NULL;
    bool can_block;

    if (!pci_is_express(pdev) || !pci_bus_is_express(pci_get_bus(pdev))) {
        error_setg(errp, "ioasid-vfio is a PCI Express endpoint: plug it into "
                   "a PCIe bus (e.g. -M q35)");
        return;
    }
    if (!s->be) {
        IOASIDBackend *be = ioasid_backend_find(NULL, errp);

        if (!be) {
            return;
        }
        /* as if set through the (strong) link property */
        s->be = IOASID(object_ref(OBJECT(be)));
    }
    can_block = ioasid_backend_can_block_nosnoop(s->be);
    if (!ioasid_vfio_check_viommu(s, can_block, errp)) {
        return;
    }
    if (s->nosnoop == IOASID_NOSNOOP_POLICY_DENY && !can_block) {
        error_setg(errp, "ioasid-vfio: nosnoop=deny needs an ioasid context "
                   "with host-snoop-control=on, and ioasid '%s' has "
                   "host-snoop-control=off",
                   object_get_canonical_path_component(OBJECT(s->be)));
        return;
    }

    if (pcie_endpoint_cap_init(pdev, 0) < 0) {
        error_setg(errp, "ioasid-vfio: cannot add the PCIe capability");
        return;
    }
    pci_word_test_and_set_mask(pdev->wmask + pdev->exp.exp_cap +
                               PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_NOSNOOP_EN);
    /* PCIe r6.0 6.6.2: FLR, so that VFIO can reset the function */
    pcie_cap_flr_init(pdev);
    pci_config_set_interrupt_pin(pdev->config, 0);
    ioasid_vfio_pasid_realize(s);

    memory_region_init_io(&s->mmio, OBJECT(s), &ioasid_vfio_mmio_ops, s,
                          "ioasid-vfio-mmio", IOASID_VFIO_BAR_SIZE);
    pci_register_bar(pdev, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->mmio);

    /*
     * The host side, in the order the VFIO design has it: bind the device
     * to the context, allocate its IOASID (snoop enforcement is fixed
     * here), attach.
     */
    s->dev_id = ioasid_backend_bind_device(s->be, OBJECT(s));
    s->alloc_flags = 0;
    if (s->be->enforce_snoop == IOASID_ENFORCE_SNOOP_ON ||
        s->nosnoop == IOASID_NOSNOOP_POLICY_DENY) {
        s->alloc_flags |= IOASID_ALLOC_ENFORCE_SNOOP;
    }
    if (!ioasid_backend_alloc(s->be, s->alloc_flags, &s->ioasid, errp)) {
        goto fail_unbind;
    }
    if (!ioasid_backend_attach(s->be, s->ioasid, s->dev_id, IOASID_NO_PASID,
                               errp)) {
        goto fail_free;
    }
    s->attached = true;

    /* Without a guest page table, auto blocks no-snoop wherever it can. */
    s->identity_flags = 0;
    if (s->be->enforce_snoop == IOASID_ENFORCE_SNOOP_AUTO && can_block) {
        s->identity_flags = IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP;
    }
    path = object_get_canonical_path(OBJECT(s));
    ioasid_noncoherent_add(&s->nc, OBJECT(s), s->noncoherent_holdoff_ms);
    ioasid_vfio_reset_regs(s);
    if (!ioasid_relay_start(&s->relay, s->be, s->ioasid,
                            pci_device_iommu_address_space(pdev),
                            s->identity_flags, path,
                            ioasid_vfio_mappings_changed,
                            s, errp)) {
        goto fail_detach;
    }
    ioasid_vfio_update_noncoherent(s, false);
    return;

fail_detach:
    ioasid_noncoherent_remove(&s->nc);
    ioasid_backend_detach(s->be, s->ioasid, s->dev_id, IOASID_NO_PASID);
    s->attached = false;
fail_free:
    ioasid_backend_free(s->be, s->ioasid);
fail_unbind:
    ioasid_backend_unbind_device(s->be, s->dev_id);
    ioasid_vfio_pasid_unrealize(s);
}

static void ioasid_vfio_exit(PCIDevice *pdev)
{
    IOASIDVFIOState *s = IOASID_VFIO(pdev);

    ioasid_vfio_pasid_unrealize(s);
    ioasid_relay_stop(&s->relay);
    g_clear_pointer(&s->bounce, g_free);
    g_clear_pointer(&s->segs[0], g_array_unref);
    g_clear_pointer(&s->segs[1], g_array_unref);
    if (s->attached) {
        ioasid_noncoherent_remove(&s->nc);
        ioasid_backend_detach(s->be, s->ioasid, s->dev_id, IOASID_NO_PASID);
        ioasid_backend_free(s->be, s->ioasid);
        ioasid_backend_unbind_device(s->be, s->dev_id);
        s->attached = false;
    }
}

/*
 * Device Control arrived with the config space: recompute condition (a),
 * without hold-off: no guest ran under whatever the device said while
 * its state was loading.
 */
static int ioasid_vfio_post_load(void *opaque, int version_id)
{
    IOASIDVFIOState *s = opaque;

    if (s->attached) {
        ioasid_vfio_update_noncoherent(s, true);
    }
    return 0;
}

static const VMStateDescription vmstate_ioasid_vfio = {
    .name = TYPE_IOASID_VFIO,
    .version_id = 2,
    .minimum_version_id = 1,
    .post_load = ioasid_vfio_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, IOASIDVFIOState),
        VMSTATE_UINT64(src, IOASIDVFIOState),
        VMSTATE_UINT64(dst, IOASIDVFIOState),
        VMSTATE_UINT32(len, IOASIDVFIOState),
        VMSTATE_UINT32(cmd, IOASIDVFIOState),
        VMSTATE_UINT32(status, IOASIDVFIOState),
        VMSTATE_UINT32(pattern, IOASIDVFIOState),
        VMSTATE_UINT64(fault_addr, IOASIDVFIOState),
        VMSTATE_UINT64(nosnoop_bytes, IOASIDVFIOState),
        VMSTATE_UINT32_V(pasid, IOASIDVFIOState, 2),
        VMSTATE_END_OF_LIST()
    }
};

static const Property ioasid_vfio_properties[] = {
    DEFINE_PROP_LINK("ioasid", IOASIDVFIOState, be, TYPE_IOASID,
                     IOASIDBackend *),
    DEFINE_PROP_SIGNED("nosnoop", IOASIDVFIOState, nosnoop,
                       IOASID_NOSNOOP_POLICY_AUTO, ioasid_vfio_prop_nosnoop,
                       int),
    /*
     * How long the device stays noncoherent after its conditions stop
     * holding: under KVM each registration change zaps the VM's page
     * tables, and the guest decides how often the conditions change.
     */
    DEFINE_PROP_UINT32("noncoherent-holdoff-ms", IOASIDVFIOState,
                       noncoherent_holdoff_ms,
                       IOASID_NONCOHERENT_DEFAULT_HOLDOFF_MS),
};

static void ioasid_vfio_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = ioasid_vfio_realize;
    k->exit = ioasid_vfio_exit;
    k->config_write = ioasid_vfio_config_write;
    k->vendor_id = IOASID_VFIO_VENDOR_ID;
    k->device_id = IOASID_VFIO_DEVICE_ID;
    k->revision = IOASID_VFIO_REVISION;
    k->class_id = PCI_CLASS_SYSTEM_OTHER;
    dc->desc = "PCIe DMA engine assigned through /dev/ioasid (embedded host)";
    dc->vmsd = &vmstate_ioasid_vfio;
    device_class_set_legacy_reset(dc, ioasid_vfio_reset);
    device_class_set_props(dc, ioasid_vfio_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo ioasid_vfio_types[] = {
    {
        .name = TYPE_IOASID_VFIO,
        .parent = TYPE_PCI_DEVICE,
        .instance_size = sizeof(IOASIDVFIOState),
        .class_init = ioasid_vfio_class_init,
        .interfaces = (InterfaceInfo[]) {
            { INTERFACE_PCIE_DEVICE },
            { }
        },
    },
};
DEFINE_TYPES(ioasid_vfio_types)
