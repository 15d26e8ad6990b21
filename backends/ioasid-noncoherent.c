/*
 * qemu-ioasid: the VM's noncoherent DMA registry
 *
 * KVM emulates WBINVD, and honours guest PAT, only while the VM has
 * noncoherent DMA registered; it learns that through the KVM-VFIO device
 * (KVM_DEV_VFIO_FILE_ADD/DEL of a device whose IOMMU does not enforce
 * snooping).  Each change of the registration zaps KVM's page tables, so
 * it must change only on 0 <-> 1 noncoherent devices, never flap.
 *
 * The guest can toggle a device's conditions as fast as it likes (Enable
 * No Snoop, its page tables' SNP bits).  So a device turns noncoherent at
 * once, but turns coherent again only after its conditions stayed false
 * for its hold-off (a virtual-clock timer): a guest toggling all the time
 * keeps the device noncoherent, and the registration changes at most
 * twice per hold-off period.
 *
 * This registry counts the machine's noncoherent assigned devices and
 * keeps that registration.  Without a real device fd (the embedded host,
 * or TCG) it is emulated and visible in QMP; ioasid_noncoherent_register()
 * is the one place where a real backend would talk to KVM.
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-ioasid.h"
#include "qapi/qapi-events-ioasid.h"
#include "exec/cpu-cache-model.h"
#include "hw/qdev-core.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"
#include "system/ioasid-noncoherent.h"
#include "trace.h"

static struct {
    QTAILQ_HEAD(, IOASIDNoncoherentDevice) devices;
    unsigned int noncoherent;   /* devices with noncoherent set */
    bool registered;
    uint64_t changes;
} ioasid_noncoherent = {
    .devices = QTAILQ_HEAD_INITIALIZER(ioasid_noncoherent.devices),
};

/*
 * The VM's registration changes.  Under KVM with a real device fd this is
 * where KVM_DEV_VFIO_FILE_ADD/DEL belongs; the embedded host has no fd, so
 * the registration is the emulated state shown by query-noncoherent-dma.
 */
static void ioasid_noncoherent_register(bool registered)
{
    /* read by the cache model's WBINVD from vCPU threads */
    qatomic_set(&ioasid_noncoherent.registered, registered);
    ioasid_noncoherent.changes++;
    trace_ioasid_noncoherent_registration(registered,
                                          ioasid_noncoherent.changes);
}

static const char *ioasid_noncoherent_id(IOASIDNoncoherentDevice *dev)
{
    DeviceState *ds = (DeviceState *)object_dynamic_cast(dev->owner,
                                                          TYPE_DEVICE);

    return ds ? ds->id : NULL;
}

static void ioasid_noncoherent_set(IOASIDNoncoherentDevice *dev,
                                   bool noncoherent)
{
    g_autofree char *path = NULL;

    timer_del(dev->release_timer);
    if (dev->noncoherent == noncoherent) {
        return;
    }
    dev->noncoherent = noncoherent;
    if (noncoherent) {
        if (ioasid_noncoherent.noncoherent++ == 0) {
            ioasid_noncoherent_register(true);
        }
    } else {
        assert(ioasid_noncoherent.noncoherent);
        if (--ioasid_noncoherent.noncoherent == 0) {
            ioasid_noncoherent_register(false);
        }
    }
    path = object_get_canonical_path(dev->owner);
    trace_ioasid_noncoherent_device(path, noncoherent,
                                    ioasid_noncoherent.noncoherent);
    qapi_event_send_noncoherent_dma_changed(path, ioasid_noncoherent_id(dev),
                                            noncoherent,
                                            ioasid_noncoherent.registered);
    if (dev->changed) {
        dev->changed(dev);
    }
}

static bool ioasid_noncoherent_wanted(IOASIDNoncoherentDevice *dev)
{
    return !dev->nosnoop_deny && dev->nosnoop_enabled &&
           dev->nosnoop_passes && dev->platform_nosnoop;
}

/* The hold-off ran out with the conditions still false */
static void ioasid_noncoherent_release(void *opaque)
{
    IOASIDNoncoherentDevice *dev = opaque;

    if (!ioasid_noncoherent_wanted(dev)) {
        ioasid_noncoherent_set(dev, false);
    }
}

static IOASIDNoncoherentCacheInfoFn *ioasid_noncoherent_cache_info;

void ioasid_noncoherent_set_cache_info(IOASIDNoncoherentCacheInfoFn *fn)
{
    ioasid_noncoherent_cache_info = fn;
}

bool ioasid_noncoherent_registered(void)
{
    return qatomic_read(&ioasid_noncoherent.registered);
}

void ioasid_noncoherent_add(IOASIDNoncoherentDevice *dev, Object *owner,
                            uint32_t holdoff_ms)
{
    dev->owner = owner;
    dev->holdoff_ms = holdoff_ms;
    dev->nosnoop_enabled = dev->nosnoop_passes = false;
    dev->platform_nosnoop = dev->nosnoop_deny = false;
    dev->noncoherent = false;
    dev->changed = NULL;
    dev->kvm_vfio_file = NULL;
    dev->release_timer = timer_new_ms(QEMU_CLOCK_VIRTUAL,
                                      ioasid_noncoherent_release, dev);
    QTAILQ_INSERT_TAIL(&ioasid_noncoherent.devices, dev, next);
}

void ioasid_noncoherent_update(IOASIDNoncoherentDevice *dev)
{
    if (ioasid_noncoherent_wanted(dev)) {
        ioasid_noncoherent_set(dev, true);
    } else if (!dev->noncoherent) {
        return;
    } else if (!dev->holdoff_ms) {
        ioasid_noncoherent_set(dev, false);
    } else if (!timer_pending(dev->release_timer)) {
        trace_ioasid_noncoherent_holdoff(object_get_canonical_path_component(
                                             dev->owner), dev->holdoff_ms);
        timer_mod(dev->release_timer,
                  qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) + dev->holdoff_ms);
    }
}

void ioasid_noncoherent_settle(IOASIDNoncoherentDevice *dev)
{
    ioasid_noncoherent_set(dev, ioasid_noncoherent_wanted(dev));
}

void ioasid_noncoherent_remove(IOASIDNoncoherentDevice *dev)
{
    ioasid_noncoherent_set(dev, false);
    timer_free(dev->release_timer);
    dev->release_timer = NULL;
    QTAILQ_REMOVE(&ioasid_noncoherent.devices, dev, next);
    dev->owner = NULL;
}

NoncoherentDmaInfo *qmp_query_noncoherent_dma(Error **errp)
{
    NoncoherentDmaInfo *info = g_new0(NoncoherentDmaInfo, 1);
    NoncoherentDmaDeviceInfoList **tail = &info->devices;
    IOASIDNoncoherentDevice *dev;

    info->registered = ioasid_noncoherent.registered;
    info->registration_changes = ioasid_noncoherent.changes;
    QTAILQ_FOREACH(dev, &ioasid_noncoherent.devices, next) {
        NoncoherentDmaDeviceInfo *d = g_new0(NoncoherentDmaDeviceInfo, 1);

        d->device = object_get_canonical_path(dev->owner);
        d->id = g_strdup(ioasid_noncoherent_id(dev));
        d->nosnoop_enabled = dev->nosnoop_enabled;
        d->nosnoop_passes = dev->nosnoop_passes;
        d->platform_nosnoop = dev->platform_nosnoop;
        d->nosnoop_deny = dev->nosnoop_deny;
        d->noncoherent = dev->noncoherent;
        if (timer_pending(dev->release_timer)) {
            int64_t left = timer_expire_time_ns(dev->release_timer) -
                           qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);

            d->has_release_in_ms = true;
            d->release_in_ms = MAX(left, 0) / SCALE_MS;
        }
        if (dev->kvm_vfio_file) {
            d->kvm_vfio_file = dev->kvm_vfio_file(dev);
        }
        QAPI_LIST_APPEND(tail, d);
    }
    info->cache = ioasid_noncoherent_cache_info ?
                  ioasid_noncoherent_cache_info() : NULL;
    info->cache_model = info->cache ? IOASID_CACHE_MODEL_STRICT
                                    : IOASID_CACHE_MODEL_COHERENT;
    return info;
}

void hmp_info_noncoherent_dma(Monitor *mon, const QDict *qdict)
{
    g_autoptr(NoncoherentDmaInfo) info = qmp_query_noncoherent_dma(NULL);
    NoncoherentDmaDeviceInfoList *d;

    monitor_printf(mon, "noncoherent DMA registered: %s (%" PRIu64
                   " registration changes)\n",
                   info->registered ? "yes" : "no",
                   info->registration_changes);
    for (d = info->devices; d; d = d->next) {
        NoncoherentDmaDeviceInfo *dev = d->value;

        monitor_printf(mon, "  %s: (a) nosnoop-enabled=%s (b) nosnoop-passes"
                       "=%s (c) platform-nosnoop=%s%s -> %s", dev->device,
                       dev->nosnoop_enabled ? "yes" : "no",
                       dev->nosnoop_passes ? "yes" : "no",
                       dev->platform_nosnoop ? "yes" : "no",
                       dev->nosnoop_deny ? " nosnoop=deny" : "",
                       dev->noncoherent ? "noncoherent" : "coherent");
        if (dev->has_release_in_ms) {
            monitor_printf(mon, " (held off: coherent in %" PRIu64 " ms)",
                           dev->release_in_ms);
        }
        if (dev->kvm_vfio_file) {
            NoncoherentKvmVfioFile *f = dev->kvm_vfio_file;

            monitor_printf(mon, "; KVM-VFIO %s: %s%s%s", f->file,
                           f->added ? "added" : "held back",
                           f->always ? " (always)" : "",
                           f->kvm ? "" : " (no KVM)");
        }
        monitor_printf(mon, "\n");
    }
    monitor_printf(mon, "cache model: %s\n",
                   IoasidCacheModel_str(info->cache_model));
    if (info->cache) {
        IoasidCacheModelInfo *c = info->cache;

        monitor_printf(mon, "  lines held: %" PRIu64 " of %" PRIu64
                       " (%" PRIu64 " pending device writes the CPU does not "
                       "see, %" PRIu64 " dirty CPU lines), %" PRIu64
                       " watched ranges\n", c->lines,
                       c->cache_size / CPU_CACHE_LINE_SIZE, c->pending_lines,
                       c->dirty_lines, c->watched_ranges);
        monitor_printf(mon, "  no-snoop DMA: %" PRIu64 " stale device reads, %"
                       PRIu64 " lost device writes\n", c->stale_reads,
                       c->lost_writes);
        monitor_printf(mon, "  guest: clflush %" PRIu64 ", clflushopt %"
                       PRIu64 ", clwb %" PRIu64 ", wbinvd honoured %" PRIu64
                       " ignored %" PRIu64 ", invd honoured %" PRIu64
                       " ignored %" PRIu64 "\n", c->clflush, c->clflushopt,
                       c->clwb, c->wbinvd_honoured, c->wbinvd_ignored,
                       c->invd_honoured, c->invd_ignored);
        monitor_printf(mon, "  host: %" PRIu64 " cache flushes over %" PRIu64
                       " bytes; %" PRIu64 " evictions\n", c->host_flushes,
                       c->host_flush_bytes, c->evictions);
    }
}
