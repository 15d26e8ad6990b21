/*
 * qemu-ioasid: the relay from a device's DMA address space to its host IOASID
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What the guest said is the device's DMA address space; what the host was
 * told is the IOASID's mapping table, which the host keeps and the relay
 * reads (ioasid_backend_mapping_at()): there is one copy of each mapping.
 * The relay keeps the second equal to the first, as VFIO's memory
 * listener does for a container:
 *  - RAM sections of the address space (no vIOMMU, or vIOMMU translation
 *    off) are identity-mapped, page aligned, with the identity flags;
 *  - IOMMU sections get an IOMMU notifier, whose MAP/UNMAP events become
 *    host MAP_DMA/UNMAP_DMA calls; a MAP whose guest entry forces snooping
 *    (IOMMU_TLB_ATTR_SNOOP: VT-d SNP or PGSNP) gets BLOCK_NOSNOOP;
 *  - removing a section unmaps what it mapped.
 * Nothing but RAM is ever mapped: a vIOMMU entry that points elsewhere is a
 * guest error and leaves the IOVA unmapped, so the device's DMA faults.
 *
 * A guest may create a VT-d first-stage entry without invalidating it
 * (VT-d 3.x 6.1), so no event tells the relay of it: when the device
 * misses in the host table, ioasid_relay_fill() asks the vIOMMU to walk
 * its tables at that IOVA, as hardware does on a miss, and the MAP
 * events it sends fill the host table before the device tries again.
 *
 * Invariants:
 *  - the host's table holds one mapping per successful MAP_DMA, removed
 *    when an UNMAP_DMA covers it; the relay keeps no copy of it;
 *  - the host never splits a mapping (UNMAP_DMA of part of one fails), so
 *    an UNMAP that cuts into a mapping unmaps all of it and maps the parts
 *    outside again;
 *  - after the vIOMMU commits an invalidation (IOMMUNotifier.commit),
 *    nothing is pending: the host table is what the vIOMMU's events said,
 *    except for mappings the host refused for lack of room (counted by the
 *    host as quota-refused; their DMA faults).
 *
 * Coalescing: the vIOMMU reports one leaf at a time, and a changed leaf as
 * UNMAP then MAP.  Within one invalidation, contiguous UNMAPs gather into
 * one pending UNMAP run and contiguous MAPs with contiguous targets and
 * equal flags into one pending MAP run; the UNMAP run is always sent
 * first, which keeps every UNMAP ahead of the MAP that followed it (an
 * UNMAP that overlaps the pending MAP run sends both runs first).  Runs go
 * to the host when an event does not extend them, when a section comes or
 * goes, and at the vIOMMU's commit, before the guest can see its
 * invalidation complete.  So the events of one invalidation covering
 * contiguous entries with equal flags become one host call.
 *
 * Resource bound: the host holds at most max_mappings mappings per IOASID
 * and refuses more with ENOSPC (counted and traced by the host).  From
 * the first refusal until an unmap makes room, the relay says so on its
 * notifiers (IOMMUNotifier.map_full): the vIOMMU stops adding mappings,
 * and keeps the refused one out of its shadow so that it is offered again
 * later.  To make that refusal exact, a MAP that would need a new host
 * mapping while the host is at its limit is tried at once instead of
 * being queued.  Memory stays bounded by the limit; DMA to what was not
 * mapped faults.
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/error-report.h"
#include "qapi/error.h"
#include "exec/address-spaces.h"
#include "hw/i386/intel_iommu.h"
#include "hw/vfio/ioasid-relay.h"
#include "trace.h"

struct IOASIDRelayGuestIOMMU {
    IOASIDRelay *relay;
    IOMMUMemoryRegion *iommu_mr;
    hwaddr iommu_offset;        /* address space offset - region offset */
    IOMMUNotifier n;
    QLIST_ENTRY(IOASIDRelayGuestIOMMU) next;
};

/* One mapping the host was given */
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

/* ---- the host ---- */

static uint64_t ioasid_relay_host_mappings(IOASIDRelay *relay)
{
    uint64_t total = 0, nosnoop;

    ioasid_backend_mapping_counts(relay->be, relay->ioasid, &total,
                                  &nosnoop);
    return total;
}

static void ioasid_relay_update_full(IOASIDRelay *relay)
{
    IOASIDRelayGuestIOMMU *giommu;
    bool full = relay->quota_hit;

    if (full != relay->full) {
        relay->full = full;
        trace_ioasid_relay_full(relay->owner, full,
                                ioasid_relay_host_mappings(relay));
    }
    QLIST_FOREACH(giommu, &relay->giommus, next) {
        giommu->n.map_full = full;
    }
}

static void ioasid_relay_host_map(IOASIDRelay *relay, hwaddr iova,
                                  hwaddr size, hwaddr addr, uint32_t flags)
{
    Error *err = NULL;
    int ret;

    relay->dirty = true;
    ret = ioasid_backend_map_dma(relay->be, relay->ioasid, iova, size, addr,
                                 flags, &err);
    if (ret == -ENOSPC) {
        /* The host is full: DMA there faults, as the guest can see. */
        error_free(err);
        relay->quota_hit = true;
        trace_ioasid_relay_dropped(relay->owner, iova, size);
        return;
    }
    if (ret) {
        error_prepend(&err, "%s: ", relay->owner);
        error_report_err(err);
    }
}

/*
 * Unmap [first, last] on the host.  The host removes mappings whole only,
 * so a mapping that straddles an end is unmapped whole and its part
 * outside the range is mapped again.
 */
static void ioasid_relay_host_unmap(IOASIDRelay *relay, hwaddr first,
                                    hwaddr last)
{
    IOASIDHostMapping m, head = { }, tail = { };
    bool found = false;
    Error *err = NULL;

    if (!first && last == UINT64_MAX) {
        /* An UNMAP_DMA size cannot say 2^64: the whole space in halves */
        ioasid_relay_host_unmap(relay, 0, INT64_MAX);
        ioasid_relay_host_unmap(relay, (uint64_t)INT64_MAX + 1, UINT64_MAX);
        return;
    }
    if (ioasid_backend_mapping_at(relay->be, relay->ioasid, first, first,
                                  &m)) {
        found = true;
        if (m.iova < first) {
            head = (IOASIDHostMapping) {
                .iova = m.iova, .size = first - m.iova, .addr = m.addr,
                .flags = m.flags,
            };
            first = m.iova;
        }
    }
    if (ioasid_backend_mapping_at(relay->be, relay->ioasid, last, last,
                                  &m)) {
        found = true;
        if (m.iova + (m.size - 1) > last) {
            tail = (IOASIDHostMapping) {
                .iova = last + 1, .size = m.iova + (m.size - 1) - last,
                .addr = m.addr + (last + 1 - m.iova), .flags = m.flags,
            };
            last = m.iova + (m.size - 1);
        }
    }
    if (!found &&
        !ioasid_backend_mapping_at(relay->be, relay->ioasid, first, last,
                                   &m)) {
        return;
    }

    relay->dirty = true;
    if (ioasid_backend_unmap_dma(relay->be, relay->ioasid, first,
                                 last - first + 1, &err)) {
        /* The host keeps what it has; so does the relay's view of it */
        error_prepend(&err, "%s: ", relay->owner);
        error_report_err(err);
        return;
    }
    relay->quota_hit = false;

    if (head.size) {
        ioasid_relay_host_map(relay, head.iova, head.size, head.addr,
                              head.flags);
    }
    if (tail.size) {
        ioasid_relay_host_map(relay, tail.iova, tail.size, tail.addr,
                              tail.flags);
    }
}

/* ---- pending runs ---- */

/* Send the pending runs, UNMAP first. */
static void ioasid_relay_send_runs(IOASIDRelay *relay)
{
    IOASIDRelayRun unmap = relay->unmap_run, map = relay->map_run;

    relay->unmap_run.size = relay->map_run.size = 0;
    if (unmap.size) {
        ioasid_relay_host_unmap(relay, unmap.iova,
                                unmap.iova + unmap.size - 1);
    }
    if (map.size) {
        /* A MAP replaces what the host had there, whatever it was. */
        ioasid_relay_host_unmap(relay, map.iova, map.iova + map.size - 1);
        ioasid_relay_host_map(relay, map.iova, map.size, map.addr, map.flags);
    }
    ioasid_relay_update_full(relay);
}

/* Make the host table final and let the owner look at it. */
static void ioasid_relay_flush(IOASIDRelay *relay)
{
    ioasid_relay_send_runs(relay);
    if (relay->dirty) {
        relay->dirty = false;
        if (relay->changed) {
            relay->changed(relay->opaque);
        }
    }
}

/*
 * Runs may end at 2^64 (first-stage upper-half IOVAs): compare last
 * addresses, which never wrap, rather than ends.
 */
static bool ioasid_relay_run_overlaps(IOASIDRelayRun *r, hwaddr iova,
                                      hwaddr size)
{
    return r->size && iova <= r->iova + (r->size - 1) &&
           r->iova <= iova + (size - 1);
}

static bool ioasid_relay_run_extends(IOASIDRelayRun *r, hwaddr iova,
                                     hwaddr addr, uint32_t flags)
{
    /* a run that ends at 2^64 has nothing after it (iova 0 is not) */
    return r->size && iova && r->iova + r->size == iova &&
           (!r->map || (r->addr + r->size == addr && r->flags == flags));
}

static void ioasid_relay_queue(IOASIDRelay *relay, bool map, hwaddr iova,
                               hwaddr size, hwaddr addr, uint32_t flags)
{
    IOASIDRelayRun *r = map ? &relay->map_run : &relay->unmap_run;

    if (!map && ioasid_relay_run_overlaps(&relay->map_run, iova, size)) {
        /* it undoes a MAP not sent yet: keep the order */
        ioasid_relay_send_runs(relay);
    }
    if (ioasid_relay_run_extends(r, iova, addr, flags)) {
        r->size += size;
        return;
    }
    if (r->size) {
        ioasid_relay_send_runs(relay);
    }
    if (map && (relay->full ||
                (relay->max_mappings && ioasid_relay_host_mappings(relay) >=
                                        relay->max_mappings))) {
        /*
         * No room for a new host mapping: let the host refuse it now, so
         * that the vIOMMU learns it was not taken (see map_full).
         */
        ioasid_relay_send_runs(relay);
        ioasid_relay_host_unmap(relay, iova, iova + size - 1);
        ioasid_relay_host_map(relay, iova, size, addr, flags);
        ioasid_relay_update_full(relay);
        return;
    }
    *r = (IOASIDRelayRun) {
        .map = map, .iova = iova, .size = size, .addr = addr, .flags = flags,
    };
}

/* ---- the vIOMMU's notifiers ---- */

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
        if (!size) {
            /*
             * The whole 2^64 space (a notifier without interrupt window,
             * as for a PASID): no run can say that size; unmap it now,
             * after what is pending.
             */
            ioasid_relay_send_runs(relay);
            ioasid_relay_host_unmap(relay, 0, UINT64_MAX);
            return;
        }
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

/*
 * The vIOMMU completed an invalidation: the host must have it all now.  A
 * change of PGSNP with nothing mapped makes no host call, but changes what
 * the owner decides (whether no-snoop can pass): tell it too.
 */
static void ioasid_relay_iommu_commit(IOMMUNotifier *n)
{
    IOASIDRelay *relay = container_of(n, IOASIDRelayGuestIOMMU, n)->relay;
    bool forces = ioasid_relay_forces_snoop(relay);

    if (forces != relay->forces_snoop) {
        relay->forces_snoop = forces;
        relay->dirty = true;
    }
    if (relay->watch_translation) {
        IoasidGuestTranslation t = ioasid_relay_translation(relay);

        if (t != relay->translation) {
            relay->translation = t;
            relay->dirty = true;
        }
    }
    ioasid_relay_flush(relay);
}

static void ioasid_relay_probe_notify(IOMMUNotifier *n, IOMMUTLBEntry *iotlb)
{
}

/*
 * Whether @iommu_mr accepts a notifier with @flags: probed by registering
 * one that does nothing (the vIOMMU says why not), then unregistering it.
 */
static bool ioasid_relay_probe_iommu(IOMMUMemoryRegion *iommu_mr,
                                     IOMMUNotifierFlag flags, Error **errp)
{
    IOMMUNotifier probe;
    int idx = memory_region_iommu_attrs_to_index(iommu_mr,
                                                 MEMTXATTRS_UNSPECIFIED);

    iommu_notifier_init(&probe, ioasid_relay_probe_notify, flags, 0,
                        HWADDR_MAX, idx);
    if (memory_region_register_iommu_notifier(MEMORY_REGION(iommu_mr),
                                              &probe, errp)) {
        return false;
    }
    memory_region_unregister_iommu_notifier(MEMORY_REGION(iommu_mr), &probe);
    return true;
}

/*
 * Check every IOMMU region of the address space below @mr: that it accepts
 * a notifier with @flags and, for the relay (@relay set), that it can
 * follow it: only intel-iommu relays the guest's snoop bits (other vIOMMUs
 * would accept the notifier and drop them), and it must accept a
 * snoop-relaying MAP notifier (caching mode).  Checked when
 * the device is created rather than when the guest first enables
 * translation.
 */
static bool ioasid_relay_check_viommu(IOASIDRelay *relay, MemoryRegion *mr,
                                      IOMMUNotifierFlag flags, Error **errp)
{
    ERRP_GUARD();
    MemoryRegion *sub;

    if (memory_region_is_iommu(mr)) {
        if (relay && !object_dynamic_cast(OBJECT(mr),
                                          TYPE_INTEL_IOMMU_MEMORY_REGION)) {
            error_setg(errp, "%s: the vIOMMU in front of the device (%s) "
                       "cannot relay the guest's snoop control to the host",
                       relay->owner, object_get_typename(OBJECT(mr)));
            error_append_hint(errp, "ioasid-vfio works behind intel-iommu, "
                              "or with no vIOMMU.\n");
            return false;
        }
        if (!ioasid_relay_probe_iommu(IOMMU_MEMORY_REGION(mr), flags, errp)) {
            if (relay) {
                error_prepend(errp, "%s: intel-iommu refuses to report its "
                              "mappings (it needs caching-mode=on): ",
                              relay->owner);
            }
            return false;
        }
        if (relay && !relay->viommu) {
            relay->viommu = IOMMU_MEMORY_REGION(mr);
            /* asked at every commit: the class is looked up once */
            relay->viommu_class = IOMMU_MEMORY_REGION_GET_CLASS(mr);
        }
        return true;
    }
    QTAILQ_FOREACH(sub, &mr->subregions, subregions_link) {
        /* aliases lead to guest memory, where no vIOMMU lives */
        if (!sub->alias &&
            !ioasid_relay_check_viommu(relay, sub, flags, errp)) {
            return false;
        }
    }
    return true;
}

bool ioasid_relay_viommu_accepts(AddressSpace *as, IOMMUNotifierFlag flags,
                                 Error **errp)
{
    return ioasid_relay_check_viommu(NULL, as->root, flags, errp);
}

/* ---- the address space's sections ---- */

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
                            IOASID_RELAY_NOTIFIER_FLAGS,
                            section->offset_within_region,
                            int128_get64(int128_sub(llend, int128_one())),
                            idx);
        giommu->n.commit = ioasid_relay_iommu_commit;
        giommu->n.map_full = relay->full;
        if (memory_region_register_iommu_notifier(section->mr, &giommu->n,
                                                  &err)) {
            /*
             * Checked at start, so this should not happen: the IOASID
             * stays empty and the device's DMA faults, which the guest
             * can see.
             */
            error_reportf_err(err, "%s: cannot follow the vIOMMU, device DMA "
                              "will fault: ", relay->owner);
            g_free(giommu);
            return;
        }
        memory_region_ref(section->mr);
        QLIST_INSERT_HEAD(&relay->giommus, giommu, next);
        memory_region_iommu_replay(iommu_mr, &giommu->n);
        /* the vIOMMU now translates: the owner hears of it */
        relay->dirty = true;
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
    ioasid_relay_send_runs(relay);
    ioasid_relay_host_unmap(relay, iova, end - 1);
    ioasid_relay_host_map(relay, iova, end - iova, iova,
                          IOASID_DMA_MAP_FLAG_READ | relay->identity_flags |
                          (section->readonly ? 0 : IOASID_DMA_MAP_FLAG_WRITE));
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
        iova = section->offset_within_address_space;
        end = int128_get64(int128_sub(llend, int128_one()));
        ioasid_relay_send_runs(relay);
        ioasid_relay_host_unmap(relay, iova, end);
        /* the vIOMMU no longer translates: the owner hears of it */
        relay->dirty = true;
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
    ioasid_relay_send_runs(relay);
    ioasid_relay_host_unmap(relay, iova, end - 1);
    ioasid_relay_flush(relay);
}

/* ---- introspection ---- */

/* memory_region_iommu_get_attr() of the vIOMMU, its class looked up once */
static int ioasid_relay_viommu_attr(IOASIDRelay *relay,
                                    enum IOMMUMemoryRegionAttr attr,
                                    void *data)
{
    if (!relay->viommu || !relay->viommu_class->get_attr) {
        return -EINVAL;
    }
    return relay->viommu_class->get_attr(relay->viommu, attr, data);
}

IoasidGuestTranslation ioasid_relay_translation(IOASIDRelay *relay)
{
    IOMMUGuestTranslation t;

    if (ioasid_relay_viommu_attr(relay, IOMMU_ATTR_GUEST_TRANSLATION, &t)) {
        return IOASID_GUEST_TRANSLATION_IDENTITY;
    }
    switch (t) {
    case IOMMU_GUEST_TRANSLATION_PASS_THROUGH:
        return IOASID_GUEST_TRANSLATION_PASS_THROUGH;
    case IOMMU_GUEST_TRANSLATION_FIRST_STAGE:
        return IOASID_GUEST_TRANSLATION_FIRST_STAGE;
    case IOMMU_GUEST_TRANSLATION_SECOND_STAGE:
        return IOASID_GUEST_TRANSLATION_SECOND_STAGE;
    case IOMMU_GUEST_TRANSLATION_BLOCKED:
        return IOASID_GUEST_TRANSLATION_BLOCKED;
    default:
        return IOASID_GUEST_TRANSLATION_IDENTITY;
    }
}

bool ioasid_relay_forces_snoop(IOASIDRelay *relay)
{
    bool forces = false;

    return ioasid_relay_translating(relay) &&
           !ioasid_relay_viommu_attr(relay, IOMMU_ATTR_GUEST_FORCES_SNOOP,
                                     &forces) && forces;
}

static IoasidGuestTranslation ioasid_relay_translation_cb(void *opaque)
{
    return ioasid_relay_translation(opaque);
}

bool ioasid_relay_start(IOASIDRelay *relay, IOASIDBackend *be,
                        uint32_t ioasid, AddressSpace *as,
                        uint32_t identity_flags, const char *owner,
                        void (*changed)(void *opaque), void *opaque,
                        Error **errp)
{
    assert(!relay->started);
    *relay = (IOASIDRelay) {
        .be = be,
        .ioasid = ioasid,
        .as = as,
        .identity_flags = identity_flags,
        .owner = g_strdup(owner),
        .changed = changed,
        .opaque = opaque,
        .can_block = ioasid_backend_can_block_nosnoop(be),
        .max_mappings = ioasid_backend_max_mappings(be),
        .pgsize = ioasid_backend_min_pgsize(be),
    };
    QLIST_INIT(&relay->giommus);
    if (as != &address_space_memory &&
        !ioasid_relay_check_viommu(relay, as->root,
                                   IOASID_RELAY_NOTIFIER_FLAGS, errp)) {
        g_free(relay->owner);
        relay->owner = NULL;
        return false;
    }
    relay->listener = (MemoryListener) {
        .name = "ioasid-relay",
        .region_add = ioasid_relay_region_add,
        .region_del = ioasid_relay_region_del,
        .priority = MEMORY_LISTENER_PRIORITY_DEV_BACKEND,
    };
    relay->started = true;
    ioasid_backend_set_mirror(be, ioasid, ioasid_relay_translation_cb, relay);
    memory_listener_register(&relay->listener, as);
    return true;
}

void ioasid_relay_stop(IOASIDRelay *relay)
{
    if (!relay->started) {
        return;
    }
    /* The owner is going away: it is not called back */
    relay->changed = NULL;
    /* Unregistering calls region_del for every section: all is unmapped. */
    memory_listener_unregister(&relay->listener);
    ioasid_backend_set_mirror(relay->be, relay->ioasid, NULL, NULL);
    assert(QLIST_EMPTY(&relay->giommus));
    ioasid_relay_send_runs(relay);
    /* Whatever is left (nothing, unless the host refused an unmap) */
    ioasid_relay_host_unmap(relay, 0, UINT64_MAX);
    relay->started = false;
    g_free(relay->owner);
    relay->owner = NULL;
}

bool ioasid_relay_translating(IOASIDRelay *relay)
{
    return !QLIST_EMPTY(&relay->giommus);
}

bool ioasid_relay_fill(IOASIDRelay *relay, hwaddr iova)
{
    IOASIDRelayGuestIOMMU *giommu;

    QLIST_FOREACH(giommu, &relay->giommus, next) {
        hwaddr offset = iova - giommu->iommu_offset;

        if (iova >= giommu->iommu_offset && offset >= giommu->n.start &&
            offset <= giommu->n.end) {
            trace_ioasid_relay_fill(relay->owner, iova);
            /* The vIOMMU commits: the host has what it found on return */
            return memory_region_iommu_notify_miss(giommu->iommu_mr, offset);
        }
    }
    return false;
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
