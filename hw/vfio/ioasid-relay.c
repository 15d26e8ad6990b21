/*
 * qemu-ioasid: the relay from a device's DMA address space to its host IOASID
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What the guest said is the device's DMA address space; what the host was
 * told is the IOASID's mapping table.  The relay keeps the second equal to
 * the first, as VFIO's memory listener does for a container:
 *  - RAM sections of the address space (no vIOMMU, or vIOMMU translation
 *    off) are identity-mapped, page aligned, with the identity flags;
 *  - IOMMU sections get an IOMMU notifier, whose MAP/UNMAP events become
 *    host MAP_DMA/UNMAP_DMA calls; a MAP whose guest entry forces snooping
 *    (IOMMU_TLB_ATTR_SNOOP: VT-d SNP or PGSNP) gets BLOCK_NOSNOOP;
 *  - removing a section unmaps what it mapped.
 * Nothing but RAM is ever mapped: a vIOMMU entry that points elsewhere is a
 * guest error and leaves the IOVA unmapped, so the device's DMA faults.
 *
 * Coalescing: the vIOMMU reports one leaf at a time, and a changed leaf as
 * UNMAP then MAP.  Contiguous UNMAPs gather into one pending UNMAP run and
 * contiguous MAPs with contiguous targets and equal flags into one pending
 * MAP run; the UNMAP run is always sent first, which keeps every UNMAP
 * ahead of the MAP that followed it (an UNMAP that overlaps the pending
 * MAP run sends both runs first).  Runs go to the host as one call each
 * when an event does not extend them, or at the latest before anything
 * uses the host table: the
 * device's DMA, query-ioasid, a section going away, the end of a replay, or
 * a bottom half scheduled with the first event of the run.  So the events
 * of one guest invalidation covering contiguous entries with equal flags
 * become one host call.  (A backend over real hardware must also flush at
 * the end of each vIOMMU invalidation, before the guest's wait completes.)
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "exec/address-spaces.h"
#include "hw/vfio/ioasid-relay.h"
#include "trace.h"

struct IOASIDRelayGuestIOMMU {
    IOASIDRelay *relay;
    IOMMUMemoryRegion *iommu_mr;
    hwaddr iommu_offset;        /* address space offset - region offset */
    IOMMUNotifier n;
    QLIST_ENTRY(IOASIDRelayGuestIOMMU) next;
};

/* The page-aligned part of @section, as [*iova, *end). */
static bool ioasid_relay_section_range(IOASIDRelay *relay,
                                       MemoryRegionSection *section,
                                       hwaddr *iova, hwaddr *end)
{
    Int128 llend;

    *iova = ROUND_UP(section->offset_within_address_space, relay->pgsize);
    llend = int128_add(int128_make64(section->offset_within_address_space),
                       section->size);
    llend = int128_and(llend, int128_exts64(-relay->pgsize));
    if (int128_ge(int128_make64(*iova), llend)) {
        return false;
    }
    /* An address space never reaches 2^64: the end fits. */
    *end = int128_get64(llend);
    return true;
}

static void ioasid_relay_send(IOASIDRelay *relay, const IOASIDRelayRun *r)
{
    Error *err = NULL;
    int ret;

    if (r->map) {
        ret = ioasid_backend_map_dma(relay->be, relay->ioasid, r->iova,
                                     r->size, r->addr, r->flags, &err);
    } else {
        ret = ioasid_backend_unmap_dma(relay->be, relay->ioasid, r->iova,
                                       r->size, &err);
    }
    if (ret) {
        error_prepend(&err, "%s: ", relay->owner);
        error_report_err(err);
    }
    relay->dirty = true;
}

/* Send the pending runs, UNMAP first. */
static void ioasid_relay_send_run(IOASIDRelay *relay)
{
    IOASIDRelayRun unmap = relay->unmap_run, map = relay->map_run;

    relay->unmap_run.size = relay->map_run.size = 0;
    if (unmap.size) {
        ioasid_relay_send(relay, &unmap);
    }
    if (map.size) {
        ioasid_relay_send(relay, &map);
    }
}

void ioasid_relay_flush(IOASIDRelay *relay)
{
    ioasid_relay_send_run(relay);
    if (relay->dirty) {
        relay->dirty = false;
        if (relay->changed) {
            relay->changed(relay->opaque);
        }
    }
}

static void ioasid_relay_flush_bh(void *opaque)
{
    ioasid_relay_flush(opaque);
}

static void ioasid_relay_flush_notify(Notifier *n, void *unused)
{
    ioasid_relay_flush(container_of(n, IOASIDRelay, flush_notifier));
}

static bool ioasid_relay_run_overlaps(IOASIDRelayRun *r, hwaddr iova,
                                      hwaddr size)
{
    return r->size && iova < r->iova + r->size && r->iova < iova + size;
}

static void ioasid_relay_queue(IOASIDRelay *relay, bool map, hwaddr iova,
                               hwaddr size, hwaddr addr, uint32_t flags)
{
    IOASIDRelayRun *r = map ? &relay->map_run : &relay->unmap_run;

    if (!map && ioasid_relay_run_overlaps(&relay->map_run, iova, size)) {
        /* it undoes a MAP not sent yet: keep the order */
        ioasid_relay_send_run(relay);
    }
    if (r->size && r->iova + r->size == iova &&
        (!map || (r->addr + r->size == addr && r->flags == flags))) {
        r->size += size;
        return;
    }
    if (r->size) {
        ioasid_relay_send_run(relay);
    }
    *r = (IOASIDRelayRun) {
        .map = map, .iova = iova, .size = size, .addr = addr, .flags = flags,
    };
    qemu_bh_schedule(relay->flush_bh);
}

static void ioasid_relay_iommu_notify(IOMMUNotifier *n, IOMMUTLBEntry *iotlb)
{
    IOASIDRelayGuestIOMMU *giommu = container_of(n, IOASIDRelayGuestIOMMU, n);
    IOASIDRelay *relay = giommu->relay;
    hwaddr iova = iotlb->iova + giommu->iommu_offset;
    hwaddr size = iotlb->addr_mask + 1;
    hwaddr xlat, len = size;
    MemoryRegion *mr;
    uint32_t flags = 0;

    trace_ioasid_relay_iommu_notify(relay->owner,
                                    iotlb->perm == IOMMU_NONE ? "UNMAP" : "MAP",
                                    iova, size, iotlb->translated_addr,
                                    iotlb->perm, iotlb->attrs);

    if (iotlb->perm == IOMMU_NONE) {
        ioasid_relay_queue(relay, false, iova, size, 0, 0);
        return;
    }

    if (iotlb->target_as != &address_space_memory) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: vIOMMU maps IOVA 0x%" HWADDR_PRIx
                      " into address space '%s'; only system memory can be "
                      "mapped\n", relay->owner, iova,
                      iotlb->target_as->name ?: "?");
        return;
    }

    RCU_READ_LOCK_GUARD();
    mr = address_space_translate(&address_space_memory, iotlb->translated_addr,
                                 &xlat, &len, iotlb->perm & IOMMU_WO,
                                 MEMTXATTRS_UNSPECIFIED);
    if (!memory_region_is_ram(mr) || memory_region_is_ram_device(mr) ||
        len < size) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: vIOMMU maps IOVA 0x%" HWADDR_PRIx
                      " to 0x%" HWADDR_PRIx ", which is not guest RAM: left "
                      "unmapped\n", relay->owner, iova,
                      iotlb->translated_addr);
        return;
    }
    if (iotlb->perm & IOMMU_RO) {
        flags |= IOASID_DMA_MAP_FLAG_READ;
    }
    if ((iotlb->perm & IOMMU_WO) && !mr->readonly) {
        flags |= IOASID_DMA_MAP_FLAG_WRITE;
    }
    if (!flags) {
        return;
    }
    /* The guest's SNP / PGSNP, relayed where the host can honour it */
    if ((iotlb->attrs & IOMMU_TLB_ATTR_SNOOP) && relay->can_block) {
        flags |= IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP;
    }
    ioasid_relay_queue(relay, true, iova, size, iotlb->translated_addr, flags);
}

static void ioasid_relay_region_add(MemoryListener *listener,
                                    MemoryRegionSection *section)
{
    IOASIDRelay *relay = container_of(listener, IOASIDRelay, listener);
    hwaddr iova, end;
    Error *err = NULL;

    if (memory_region_is_iommu(section->mr)) {
        IOASIDRelayGuestIOMMU *giommu = g_new0(IOASIDRelayGuestIOMMU, 1);
        IOMMUMemoryRegion *iommu_mr = IOMMU_MEMORY_REGION(section->mr);
        Int128 llend = int128_add(int128_make64(section->offset_within_region),
                                  section->size);
        int idx = memory_region_iommu_attrs_to_index(iommu_mr,
                                                     MEMTXATTRS_UNSPECIFIED);

        trace_ioasid_relay_region_add_iommu(relay->owner, section->mr->name,
                                    section->offset_within_address_space);
        giommu->relay = relay;
        giommu->iommu_mr = iommu_mr;
        giommu->iommu_offset = section->offset_within_address_space -
                               section->offset_within_region;
        iommu_notifier_init(&giommu->n, ioasid_relay_iommu_notify,
                            IOMMU_NOTIFIER_IOTLB_EVENTS |
                            IOMMU_NOTIFIER_SNOOP_ATTR,
                            section->offset_within_region,
                            int128_get64(int128_sub(llend, int128_one())),
                            idx);
        if (memory_region_register_iommu_notifier(section->mr, &giommu->n,
                                                  &err)) {
            /*
             * The vIOMMU refuses to tell us its mappings: the IOASID stays
             * empty and the device's DMA faults, which the guest can see.
             */
            error_reportf_err(err, "%s: cannot follow the vIOMMU, device DMA "
                              "will fault: ", relay->owner);
            g_free(giommu);
            return;
        }
        memory_region_ref(section->mr);
        QLIST_INSERT_HEAD(&relay->giommus, giommu, next);
        memory_region_iommu_replay(iommu_mr, &giommu->n);
        ioasid_relay_flush(relay);
        return;
    }

    if (!memory_region_is_ram(section->mr) ||
        memory_region_is_ram_device(section->mr) ||
        !ioasid_relay_section_range(relay, section, &iova, &end)) {
        return;
    }
    trace_ioasid_relay_region_add_ram(relay->owner, section->mr->name, iova,
                                      end - iova);
    /*
     * The device's address space is system memory or an alias of all of it
     * (a vIOMMU with translation off): an IOVA is its guest-physical address.
     */
    ioasid_relay_send_run(relay);
    ioasid_relay_send(relay, &(IOASIDRelayRun) {
        .map = true, .iova = iova, .size = end - iova, .addr = iova,
        .flags = IOASID_DMA_MAP_FLAG_READ | relay->identity_flags |
                 (section->readonly ? 0 : IOASID_DMA_MAP_FLAG_WRITE),
    });
    ioasid_relay_flush(relay);
}

static void ioasid_relay_region_del(MemoryListener *listener,
                                    MemoryRegionSection *section)
{
    IOASIDRelay *relay = container_of(listener, IOASIDRelay, listener);
    hwaddr iova, end;

    if (memory_region_is_iommu(section->mr)) {
        IOASIDRelayGuestIOMMU *giommu;
        Int128 llend;

        QLIST_FOREACH(giommu, &relay->giommus, next) {
            if (MEMORY_REGION(giommu->iommu_mr) == section->mr &&
                giommu->n.start == section->offset_within_region) {
                break;
            }
        }
        if (!giommu) {
            return;
        }
        trace_ioasid_relay_region_del_iommu(relay->owner, section->mr->name,
                                    section->offset_within_address_space);
        memory_region_unregister_iommu_notifier(section->mr, &giommu->n);
        QLIST_REMOVE(giommu, next);
        memory_region_unref(section->mr);
        /* Whatever the vIOMMU told us through this section goes too. */
        llend = int128_add(int128_make64(section->offset_within_address_space),
                           section->size);
        iova = QEMU_ALIGN_DOWN(section->offset_within_address_space,
                               relay->pgsize);
        end = int128_get64(int128_sub(llend, int128_one()));
        ioasid_relay_send_run(relay);
        ioasid_relay_send(relay, &(IOASIDRelayRun) {
            .iova = iova,
            .size = ROUND_UP(end - iova + 1, relay->pgsize),
        });
        ioasid_relay_flush(relay);
        g_free(giommu);
        return;
    }

    if (!memory_region_is_ram(section->mr) ||
        memory_region_is_ram_device(section->mr) ||
        !ioasid_relay_section_range(relay, section, &iova, &end)) {
        return;
    }
    trace_ioasid_relay_region_del_ram(relay->owner, section->mr->name, iova,
                                      end - iova);
    ioasid_relay_send_run(relay);
    ioasid_relay_send(relay, &(IOASIDRelayRun) {
        .iova = iova, .size = end - iova,
    });
    ioasid_relay_flush(relay);
}

void ioasid_relay_start(IOASIDRelay *relay, IOASIDBackend *be,
                        uint32_t ioasid, AddressSpace *as,
                        uint32_t identity_flags, const char *owner,
                        void (*changed)(void *opaque), void *opaque)
{
    struct ioasid_info info = { .argsz = sizeof(info) };

    assert(!relay->started);
    relay->be = be;
    relay->ioasid = ioasid;
    relay->as = as;
    relay->identity_flags = identity_flags;
    relay->owner = g_strdup(owner);
    relay->changed = changed;
    relay->opaque = opaque;
    relay->can_block = ioasid_backend_can_block_nosnoop(be);
    relay->unmap_run.size = relay->map_run.size = 0;
    relay->dirty = false;
    relay->flush_bh = qemu_bh_new(ioasid_relay_flush_bh, relay);
    relay->flush_notifier.notify = ioasid_relay_flush_notify;
    ioasid_backend_add_flush_notifier(be, &relay->flush_notifier);
    relay->pgsize = 4096;
    if (!be->ops->get_info(be, &info) && info.pgsize_bitmap) {
        relay->pgsize = 1ULL << ctz64(info.pgsize_bitmap);
    }
    QLIST_INIT(&relay->giommus);
    relay->listener = (MemoryListener) {
        .name = "ioasid-relay",
        .region_add = ioasid_relay_region_add,
        .region_del = ioasid_relay_region_del,
        .priority = MEMORY_LISTENER_PRIORITY_DEV_BACKEND,
    };
    relay->started = true;
    memory_listener_register(&relay->listener, as);
}

void ioasid_relay_stop(IOASIDRelay *relay)
{
    if (!relay->started) {
        return;
    }
    /* Unregistering calls region_del for every section: all is unmapped. */
    memory_listener_unregister(&relay->listener);
    assert(QLIST_EMPTY(&relay->giommus));
    ioasid_relay_send_run(relay);
    ioasid_backend_remove_flush_notifier(&relay->flush_notifier);
    qemu_bh_delete(relay->flush_bh);
    relay->flush_bh = NULL;
    relay->started = false;
    g_free(relay->owner);
    relay->owner = NULL;
}

bool ioasid_relay_translating(IOASIDRelay *relay)
{
    return !QLIST_EMPTY(&relay->giommus);
}

void ioasid_relay_report_fault(IOASIDRelay *relay, hwaddr iova,
                               bool is_write)
{
    hwaddr xlat, len = 1;

    if (!ioasid_relay_translating(relay)) {
        return;
    }
    /*
     * A translation attempt through the vIOMMU: where the guest's tables do
     * not allow the access, the vIOMMU records its fault (unless the guest
     * disabled fault processing), as a nested host IOMMU would report it.
     */
    RCU_READ_LOCK_GUARD();
    address_space_translate(relay->as, iova, &xlat, &len, is_write,
                            MEMTXATTRS_UNSPECIFIED);
}
