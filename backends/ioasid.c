/*
 * qemu-ioasid: host /dev/ioasid context object (-object ioasid)
 *
 * A context is what one open /dev/ioasid is on a host: IOASIDs, their
 * mappings and the devices attached to them.  The object owns the host
 * behind an IOASIDHostOps table; users (ioasid-vfio) go through the
 * ioasid_backend_*() calls below, one function per host operation, each
 * traced.  IOASIDHostOps is the only seam between a context and its host:
 * an -object ioasid runs the embedded software host (ioasid-soft-host.c,
 * which models the hardware with the host-snoop-control and
 * platform-nosnoop properties), a vfio-pci's container the vfio-type1
 * backend; this file alone turns what a host reports into QAPI.
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-ioasid.h"
#include "qapi/qapi-visit-ioasid.h"
#include "qapi/visitor.h"
#include "qom/object_interfaces.h"
#include "qemu/queue.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"
#include "qobject/qdict.h"
#include "system/ioasid.h"
#include "system/ioasid-cache-model.h"
#include "trace.h"

static QTAILQ_HEAD(, IOASIDBackend) ioasid_backends =
    QTAILQ_HEAD_INITIALIZER(ioasid_backends);

static const char *ioasid_name(IOASIDBackend *be)
{
    return be->name ?: object_get_canonical_path_component(OBJECT(be)) ?:
           "(new)";
}

/* ---- Host calls used by devices ---- */

/*
 * Open the host behind @be->ops and read, once, what it can do: its
 * answers are the context's capabilities from then on (be->info).
 */
static bool ioasid_backend_open(IOASIDBackend *be, Error **errp)
{
    int ret;

    if (!be->ops->open(be, errp)) {
        return false;
    }
    be->info = (struct ioasid_info) { .argsz = sizeof(be->info) };
    ret = be->ops->get_info(be, &be->info);
    trace_ioasid_host_get_info(ioasid_name(be), be->info.flags,
                               be->info.pgsize_bitmap, be->info.max_mappings,
                               ret);
    if (ret) {
        error_setg_errno(errp, -ret, "ioasid '%s': the host does not say "
                         "what it can do (IOASID_GET_INFO)", ioasid_name(be));
        be->ops->close(be);
        return false;
    }
    return true;
}

bool ioasid_backend_can_block_nosnoop(IOASIDBackend *be)
{
    return be->info.flags & IOASID_INFO_CAN_BLOCK_NOSNOOP;
}

bool ioasid_backend_platform_nosnoop(IOASIDBackend *be)
{
    return be->info.flags & IOASID_INFO_PLATFORM_NOSNOOP;
}

uint32_t ioasid_backend_max_mappings(IOASIDBackend *be)
{
    return be->info.max_mappings;
}

uint64_t ioasid_backend_min_pgsize(IOASIDBackend *be)
{
    return be->info.pgsize_bitmap ? 1ULL << ctz64(be->info.pgsize_bitmap)
                                  : 4096;
}

bool ioasid_backend_mapping_counts(IOASIDBackend *be, uint32_t ioasid,
                                   uint64_t *total, uint64_t *nosnoop)
{
    return !be->ops->mapping_counts(be, ioasid, total, nosnoop);
}

bool ioasid_backend_mapping_at(IOASIDBackend *be, uint32_t ioasid,
                               uint64_t first, uint64_t last,
                               IOASIDHostMapping *m)
{
    return !be->ops->mapping_at(be, ioasid, first, last, m);
}

uint32_t ioasid_backend_bind_device(IOASIDBackend *be, Object *dev)
{
    uint32_t dev_id = ++be->next_dev_id;

    g_hash_table_insert(be->devices, GUINT_TO_POINTER(dev_id),
                        object_get_canonical_path(dev));
    trace_ioasid_backend_bind_device(ioasid_name(be), dev_id);
    return dev_id;
}

void ioasid_backend_unbind_device(IOASIDBackend *be, uint32_t dev_id)
{
    g_hash_table_remove(be->devices, GUINT_TO_POINTER(dev_id));
    trace_ioasid_backend_unbind_device(ioasid_name(be), dev_id);
}

const char *ioasid_backend_device_path(IOASIDBackend *be, uint32_t dev_id)
{
    return g_hash_table_lookup(be->devices, GUINT_TO_POINTER(dev_id)) ?:
           "(unknown)";
}

bool ioasid_backend_alloc(IOASIDBackend *be, uint32_t flags,
                          uint32_t *ioasid, Error **errp)
{
    int ret = be->ops->alloc(be, flags, ioasid);

    trace_ioasid_host_alloc(ioasid_name(be), flags, ret ? 0 : *ioasid, ret);
    if (ret) {
        error_setg_errno(errp, -ret, "ioasid '%s': IOASID_ALLOC (flags 0x%x)"
                         " failed", ioasid_name(be), flags);
        return false;
    }
    return true;
}

void ioasid_backend_free(IOASIDBackend *be, uint32_t ioasid)
{
    int ret = be->ops->free(be, ioasid);

    trace_ioasid_host_free(ioasid_name(be), ioasid, ret);
    if (ret) {
        warn_report("ioasid '%s': IOASID_FREE of IOASID %u failed: %s",
                    ioasid_name(be), ioasid, strerror(-ret));
    }
}

bool ioasid_backend_attach(IOASIDBackend *be, uint32_t ioasid,
                           uint32_t dev_id, uint32_t pasid, Error **errp)
{
    int ret = be->ops->attach(be, ioasid, dev_id, pasid);

    trace_ioasid_host_attach(ioasid_name(be), ioasid, dev_id, pasid, ret);
    if (ret) {
        if (pasid == IOASID_NO_PASID) {
            error_setg_errno(errp, -ret, "ioasid '%s': attaching device %u "
                             "to IOASID %u failed", ioasid_name(be), dev_id,
                             ioasid);
        } else {
            error_setg_errno(errp, -ret, "ioasid '%s': attaching device %u "
                             "PASID %u to IOASID %u failed", ioasid_name(be),
                             dev_id, pasid, ioasid);
        }
        return false;
    }
    return true;
}

void ioasid_backend_detach(IOASIDBackend *be, uint32_t ioasid,
                           uint32_t dev_id, uint32_t pasid)
{
    int ret = be->ops->detach(be, ioasid, dev_id, pasid);

    trace_ioasid_host_detach(ioasid_name(be), ioasid, dev_id, pasid, ret);
    if (ret) {
        warn_report("ioasid '%s': detaching device %u from IOASID %u "
                    "failed: %s", ioasid_name(be), dev_id, ioasid,
                    strerror(-ret));
    }
}

int ioasid_backend_map_dma(IOASIDBackend *be, uint32_t ioasid, hwaddr iova,
                           hwaddr size, hwaddr addr, uint32_t flags,
                           Error **errp)
{
    int ret = be->ops->map_dma(be, ioasid, iova, size, addr, flags);

    trace_ioasid_host_map(ioasid_name(be), ioasid, iova, size, addr, flags,
                          ret);
    if (ret == -ENOSPC) {
        trace_ioasid_host_map_quota(ioasid_name(be), ioasid, iova, size);
    }
    if (ret) {
        error_setg_errno(errp, -ret, "ioasid '%s': IOASID_MAP_DMA of IOASID "
                         "%u [0x%" PRIx64 ", +0x%" PRIx64 ") -> 0x%" PRIx64
                         " flags 0x%x failed", ioasid_name(be), ioasid, iova,
                         size, addr, flags);
    }
    return ret;
}

int ioasid_backend_unmap_dma(IOASIDBackend *be, uint32_t ioasid,
                             hwaddr iova, hwaddr size, Error **errp)
{
    hwaddr unmapped = 0;
    int ret = be->ops->unmap_dma(be, ioasid, iova, size, &unmapped);

    trace_ioasid_host_unmap(ioasid_name(be), ioasid, iova, size, unmapped,
                            ret);
    if (ret) {
        error_setg_errno(errp, -ret, "ioasid '%s': IOASID_UNMAP_DMA of IOASID "
                         "%u [0x%" PRIx64 ", +0x%" PRIx64 ") failed",
                         ioasid_name(be), ioasid, iova, size);
    }
    return ret;
}

int ioasid_backend_dma_translate(IOASIDBackend *be, uint32_t dev_id,
                                 uint32_t pasid, hwaddr iova, hwaddr len,
                                 bool is_write, IOASIDHostDmaSegFn *fn,
                                 void *opaque, hwaddr *done)
{
    *done = 0;
    if (!be->ops->dma_translate) {
        return -ENOSYS;
    }
    return be->ops->dma_translate(be, dev_id, pasid, iova, len, is_write, fn,
                                  opaque, done);
}

/* ---- The object ---- */

IOASIDBackend *ioasid_backend_find(const char *id, Error **errp)
{
    Object *obj = object_resolve_path_component(object_get_objects_root(),
                                                id ?: IOASID_DEFAULT_ID);

    if (!obj && !id) {
        obj = object_new_with_props(TYPE_IOASID, object_get_objects_root(),
                                    IOASID_DEFAULT_ID, errp, NULL);
        if (!obj) {
            return NULL;
        }
    }
    if (!obj) {
        error_setg(errp, "no ioasid object with id '%s'", id);
        return NULL;
    }
    if (!object_dynamic_cast(obj, TYPE_IOASID)) {
        error_setg(errp, "object '%s' is not an ioasid object", id);
        return NULL;
    }
    return IOASID(obj);
}

/* The host cleans the CPU caches before no-snoop can pass, and after */
static void ioasid_flush_caches(void *opaque, uint64_t addr, uint64_t size,
                                bool map)
{
    if (map) {
        ioasid_cache_model_host_map(addr, size);
    } else {
        ioasid_cache_model_host_unmap(addr, size);
    }
}

static void ioasid_complete(UserCreatable *uc, Error **errp)
{
    ERRP_GUARD();
    IOASIDBackend *be = IOASID(uc);
    IOASIDBackend *other;

    if (!be->max_mappings) {
        error_setg(errp, "ioasid '%s': max-mappings must be at least 1",
                   ioasid_name(be));
        return;
    }
    if (be->enforce_snoop == IOASID_ENFORCE_SNOOP_ON &&
        !be->host_snoop_control) {
        error_setg(errp, "ioasid '%s': enforce-snoop=on needs a host that "
                   "can block no-snoop, but host-snoop-control=off",
                   ioasid_name(be));
        error_append_hint(errp, "A host IOMMU without snoop control cannot "
                          "block no-snoop DMA; use enforce-snoop=auto or "
                          "off.\n");
        return;
    }
    QTAILQ_FOREACH(other, &ioasid_backends, next) {
        if (other->name) {
            continue;           /* a kernel context, on the platform's terms */
        }
        if (other->cache_model != be->cache_model ||
            other->cache_size != be->cache_size) {
            error_setg(errp, "ioasid '%s' has cache-model=%s cache-size=%"
                       PRIu64 " but ioasid '%s' has cache-model=%s "
                       "cache-size=%" PRIu64 ": the cache model is the "
                       "platform's, every context must have the same",
                       ioasid_name(be), IoasidCacheModel_str(be->cache_model),
                       be->cache_size, ioasid_name(other),
                       IoasidCacheModel_str(other->cache_model),
                       other->cache_size);
            if (!strcmp(ioasid_name(be), IOASID_DEFAULT_ID)) {
                error_append_hint(errp, "The implicit context '%s' has the "
                                  "defaults: name the strict context in "
                                  "each device's ioasid property, or create "
                                  "'%s' with -object.\n", IOASID_DEFAULT_ID,
                                  IOASID_DEFAULT_ID);
            }
            return;
        }
    }
    if (be->cache_model == IOASID_CACHE_MODEL_STRICT) {
        if (be->cache_size < IOASID_CACHE_MODEL_MIN_SIZE) {
            error_setg(errp, "ioasid '%s': cache-size must be at least %d",
                       ioasid_name(be), IOASID_CACHE_MODEL_MIN_SIZE);
            return;
        }
        if (!ioasid_cache_model_enable(be->cache_size, errp)) {
            error_prepend(errp, "ioasid '%s': ", ioasid_name(be));
            return;
        }
        be->host_flush = ioasid_flush_caches;
    }
    be->ops = &ioasid_soft_host_ops;
    if (!ioasid_backend_open(be, errp)) {
        be->ops = NULL;
        return;
    }
    QTAILQ_INSERT_TAIL(&ioasid_backends, be, next);
}

IOASIDBackend *ioasid_backend_new_kernel(const char *name,
                                         const IOASIDHostOps *ops, void *host,
                                         Error **errp)
{
    IOASIDBackend *be = IOASID(object_new(TYPE_IOASID));

    be->name = g_strdup(name);
    be->ops = ops;
    be->host = host;
    if (!ioasid_backend_open(be, errp)) {
        be->ops = NULL;
        object_unref(OBJECT(be));
        return NULL;
    }
    /* a kernel context's policy is what its kernel does */
    be->enforce_snoop = ioasid_backend_can_block_nosnoop(be) ?
                        IOASID_ENFORCE_SNOOP_ON : IOASID_ENFORCE_SNOOP_OFF;
    QTAILQ_INSERT_TAIL(&ioasid_backends, be, next);
    return be;
}

void ioasid_backend_release(IOASIDBackend *be)
{
    object_unref(OBJECT(be));
}

static bool ioasid_can_be_deleted(UserCreatable *uc)
{
    return !g_hash_table_size(IOASID(uc)->devices);
}

static bool ioasid_check_settable(Object *obj, const char *name, Error **errp)
{
    if (IOASID(obj)->ops) {
        error_setg(errp, "ioasid '%s': property '%s' cannot be changed after "
                   "creation", ioasid_name(IOASID(obj)), name);
        return false;
    }
    return true;
}

static bool ioasid_get_host_snoop_control(Object *obj, Error **errp)
{
    return IOASID(obj)->host_snoop_control;
}

static void ioasid_set_host_snoop_control(Object *obj, bool value,
                                          Error **errp)
{
    if (ioasid_check_settable(obj, "host-snoop-control", errp)) {
        IOASID(obj)->host_snoop_control = value;
    }
}

static bool ioasid_get_platform_nosnoop(Object *obj, Error **errp)
{
    return IOASID(obj)->platform_nosnoop;
}

static void ioasid_set_platform_nosnoop(Object *obj, bool value, Error **errp)
{
    if (ioasid_check_settable(obj, "platform-nosnoop", errp)) {
        IOASID(obj)->platform_nosnoop = value;
    }
}

static int ioasid_get_enforce_snoop(Object *obj, Error **errp)
{
    return IOASID(obj)->enforce_snoop;
}

static void ioasid_set_enforce_snoop(Object *obj, int value, Error **errp)
{
    if (ioasid_check_settable(obj, "enforce-snoop", errp)) {
        IOASID(obj)->enforce_snoop = value;
    }
}

static void ioasid_get_max_mappings(Object *obj, Visitor *v, const char *name,
                                    void *opaque, Error **errp)
{
    visit_type_uint32(v, name, &IOASID(obj)->max_mappings, errp);
}

static void ioasid_set_max_mappings(Object *obj, Visitor *v, const char *name,
                                    void *opaque, Error **errp)
{
    uint32_t value;

    if (ioasid_check_settable(obj, name, errp) &&
        visit_type_uint32(v, name, &value, errp)) {
        IOASID(obj)->max_mappings = value;
    }
}

static int ioasid_get_cache_model(Object *obj, Error **errp)
{
    return IOASID(obj)->cache_model;
}

static void ioasid_set_cache_model(Object *obj, int value, Error **errp)
{
    if (ioasid_check_settable(obj, "cache-model", errp)) {
        IOASID(obj)->cache_model = value;
    }
}

static void ioasid_get_cache_size(Object *obj, Visitor *v, const char *name,
                                  void *opaque, Error **errp)
{
    visit_type_size(v, name, &IOASID(obj)->cache_size, errp);
}

static void ioasid_set_cache_size(Object *obj, Visitor *v, const char *name,
                                  void *opaque, Error **errp)
{
    uint64_t value;

    if (ioasid_check_settable(obj, name, errp) &&
        visit_type_size(v, name, &value, errp)) {
        IOASID(obj)->cache_size = value;
    }
}

static void ioasid_init(Object *obj)
{
    IOASIDBackend *be = IOASID(obj);

    be->host_snoop_control = true;
    be->platform_nosnoop = true;
    be->enforce_snoop = IOASID_ENFORCE_SNOOP_AUTO;
    be->max_mappings = IOASID_DEFAULT_MAX_MAPPINGS;
    be->cache_model = IOASID_CACHE_MODEL_COHERENT;
    be->cache_size = IOASID_CACHE_MODEL_DEFAULT_SIZE;
    be->devices = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    be->mirrors = g_hash_table_new_full(NULL, NULL, NULL, g_free);
}

static void ioasid_finalize(Object *obj)
{
    IOASIDBackend *be = IOASID(obj);

    if (be->ops) {
        QTAILQ_REMOVE(&ioasid_backends, be, next);
        be->ops->close(be);
    }
    g_hash_table_destroy(be->devices);
    g_hash_table_destroy(be->mirrors);
    g_free(be->name);
}

static void ioasid_class_init(ObjectClass *oc, void *data)
{
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);

    ucc->complete = ioasid_complete;
    ucc->can_be_deleted = ioasid_can_be_deleted;

    object_class_property_add_bool(oc, "host-snoop-control",
                                   ioasid_get_host_snoop_control,
                                   ioasid_set_host_snoop_control);
    object_class_property_set_description(oc, "host-snoop-control",
        "Whether the host IOMMU can force snooping (VT-d ECAP.SC)");
    object_class_property_add_bool(oc, "platform-nosnoop",
                                   ioasid_get_platform_nosnoop,
                                   ioasid_set_platform_nosnoop);
    object_class_property_set_description(oc, "platform-nosnoop",
        "Whether the platform honours no-snoop TLPs");
    object_class_property_add_enum(oc, "enforce-snoop", "IoasidEnforceSnoop",
                                   &IoasidEnforceSnoop_lookup,
                                   ioasid_get_enforce_snoop,
                                   ioasid_set_enforce_snoop);
    object_class_property_set_description(oc, "enforce-snoop",
        "Snoop enforcement of the context's IOASIDs (auto/on/off)");
    object_class_property_add(oc, "max-mappings", "uint32",
                              ioasid_get_max_mappings,
                              ioasid_set_max_mappings, NULL, NULL);
    object_class_property_set_description(oc, "max-mappings",
        "The most mappings one IOASID may hold (default 65535)");
    object_class_property_add_enum(oc, "cache-model", "IoasidCacheModel",
                                   &IoasidCacheModel_lookup,
                                   ioasid_get_cache_model,
                                   ioasid_set_cache_model);
    object_class_property_set_description(oc, "cache-model",
        "How no-snoop DMA meets the CPU caches (coherent/strict); the "
        "platform's, so the same for every context");
    object_class_property_add(oc, "cache-size", "size",
                              ioasid_get_cache_size,
                              ioasid_set_cache_size, NULL, NULL);
    object_class_property_set_description(oc, "cache-size",
        "Bytes of lines the strict cache model holds (default 8M)");
}

static const TypeInfo ioasid_types[] = {
    {
        .name = TYPE_IOASID,
        .parent = TYPE_OBJECT,
        .instance_size = sizeof(IOASIDBackend),
        .instance_init = ioasid_init,
        .instance_finalize = ioasid_finalize,
        .class_init = ioasid_class_init,
        .interfaces = (InterfaceInfo[]) {
            { TYPE_USER_CREATABLE },
            { }
        }
    },
};
DEFINE_TYPES(ioasid_types)

/* ---- QMP / HMP ---- */

typedef struct IOASIDMirror {
    IOASIDMirrorTranslation translation;
    void *opaque;
} IOASIDMirror;

void ioasid_backend_set_mirror(IOASIDBackend *be, uint32_t ioasid,
                               IOASIDMirrorTranslation translation,
                               void *opaque)
{
    IOASIDMirror *m;

    if (!translation) {
        g_hash_table_remove(be->mirrors, GUINT_TO_POINTER(ioasid));
        return;
    }
    m = g_new(IOASIDMirror, 1);
    *m = (IOASIDMirror) { .translation = translation, .opaque = opaque };
    g_hash_table_insert(be->mirrors, GUINT_TO_POINTER(ioasid), m);
}

/* query-ioasid's IOASIDs, from what the host says (IOASIDHostQueryFns) */
typedef struct IOASIDQuery {
    IOASIDBackend *be;
    IoasidSpaceInfoList *head, **tail;
    IoasidMappingInfoList **mtail;
    strList **dtail;
    IoasidAttachmentInfoList **atail;
    uint32_t last_dev;          /* the device listed last in devices */
} IOASIDQuery;

static void ioasid_query_space(const IOASIDHostSpace *s, void *opaque)
{
    IOASIDQuery *q = opaque;
    IoasidSpaceInfo *info = g_new0(IoasidSpaceInfo, 1);

    info->ioasid = s->ioasid;
    info->enforce_snoop = s->enforce_snoop;
    info->map_calls = s->map_calls;
    info->unmap_calls = s->unmap_calls;
    info->failed_calls = s->failed_calls;
    info->quota_refused = s->quota_refused;
    info->mapping_count = s->mapping_count;
    q->mtail = &info->mappings;
    q->dtail = &info->devices;
    q->atail = &info->attachments;
    q->last_dev = 0;            /* dev_ids start at 1 */
    QAPI_LIST_APPEND(q->tail, info);
}

/* Attachments come a device at a time: list each device once */
static void ioasid_query_attachment(uint32_t dev_id, uint32_t pasid,
                                    void *opaque)
{
    IOASIDQuery *q = opaque;
    IoasidAttachmentInfo *at = g_new0(IoasidAttachmentInfo, 1);
    const char *path = ioasid_backend_device_path(q->be, dev_id);

    if (dev_id != q->last_dev) {
        QAPI_LIST_APPEND(q->dtail, g_strdup(path));
        q->last_dev = dev_id;
    }
    at->device = g_strdup(path);
    at->has_pasid = pasid != IOASID_NO_PASID;
    at->pasid = at->has_pasid ? pasid : 0;
    QAPI_LIST_APPEND(q->atail, at);
}

static void ioasid_query_mapping(const IOASIDHostMapping *m, void *opaque)
{
    IOASIDQuery *q = opaque;
    IoasidMappingInfo *info = g_new0(IoasidMappingInfo, 1);

    info->iova = m->iova;
    info->size = m->size;
    info->addr = m->addr;
    info->read = m->flags & IOASID_DMA_MAP_FLAG_READ;
    info->write = m->flags & IOASID_DMA_MAP_FLAG_WRITE;
    info->requested_block_nosnoop =
        m->flags & IOASID_DMA_MAP_FLAG_BLOCK_NOSNOOP;
    info->block_nosnoop = m->block_nosnoop;
    QAPI_LIST_APPEND(q->mtail, info);
}

static const IOASIDHostQueryFns ioasid_query_fns = {
    .space = ioasid_query_space,
    .attachment = ioasid_query_attachment,
    .mapping = ioasid_query_mapping,
};

static IoasidSpaceInfoList *ioasid_query_spaces(IOASIDBackend *be,
                                                uint64_t first,
                                                uint64_t last, uint64_t max)
{
    IOASIDQuery q = { .be = be };

    q.tail = &q.head;
    be->ops->query(be, first, last, max, &ioasid_query_fns, &q);
    return q.head;
}

/* What each IOASID of @be mirrors, where someone mirrors into it */
static void ioasid_query_translations(IOASIDBackend *be,
                                      IoasidSpaceInfoList *spaces)
{
    for (; spaces; spaces = spaces->next) {
        IoasidSpaceInfo *sp = spaces->value;
        IOASIDMirror *m = g_hash_table_lookup(be->mirrors,
                                              GUINT_TO_POINTER(sp->ioasid));

        if (m) {
            sp->has_translation = true;
            sp->translation = m->translation(m->opaque);
        }
    }
}

/*
 * The host tables are exact whenever the monitor runs: users apply what
 * they batch when the vIOMMU commits an invalidation (see ioasid-relay.c),
 * so nothing needs flushing here.
 */
IoasidContextInfoList *qmp_query_ioasid(const char *id, bool has_iova,
                                        uint64_t iova, bool has_size,
                                        uint64_t size, bool has_count,
                                        uint64_t count, Error **errp)
{
    IoasidContextInfoList *head = NULL, **tail = &head;
    uint64_t first = has_iova ? iova : 0;
    uint64_t last = UINT64_MAX;
    IOASIDBackend *be;

    if (has_size) {
        if (!size) {
            error_setg(errp, "query-ioasid: 'size' must not be 0");
            return NULL;
        }
        last = size - 1 > UINT64_MAX - first ? UINT64_MAX : first + size - 1;
    }
    if (has_count && !count) {
        error_setg(errp, "query-ioasid: 'count' must not be 0");
        return NULL;
    }
    QTAILQ_FOREACH(be, &ioasid_backends, next) {
        IoasidContextInfo *info;

        if (id && strcmp(id, ioasid_name(be))) {
            continue;
        }
        info = g_new0(IoasidContextInfo, 1);
        info->id = g_strdup(ioasid_name(be));
        info->backend = be->ops->backend;
        /* what the host said at open, for kernel contexts too */
        info->host_snoop_control = ioasid_backend_can_block_nosnoop(be);
        info->platform_nosnoop = ioasid_backend_platform_nosnoop(be);
        info->enforce_snoop = be->enforce_snoop;
        info->max_mappings = ioasid_backend_max_mappings(be);
        info->ioasids = ioasid_query_spaces(be, first, last,
                                            has_count ? count : 0);
        ioasid_query_translations(be, info->ioasids);
        QAPI_LIST_APPEND(tail, info);
    }
    if (id && !head) {
        error_setg(errp, "query-ioasid: no ioasid object with id '%s'", id);
    }
    return head;
}

void hmp_info_ioasid(Monitor *mon, const QDict *qdict)
{
    g_autoptr(IoasidContextInfoList) list =
        qmp_query_ioasid(NULL, false, 0, false, 0, false, 0, NULL);
    IoasidContextInfoList *c;

    if (!list) {
        monitor_printf(mon, "No ioasid context\n");
        return;
    }
    for (c = list; c; c = c->next) {
        IoasidContextInfo *ctx = c->value;
        IoasidSpaceInfoList *s;

        monitor_printf(mon, "context %s (%s): host-snoop-control=%s "
                       "platform-nosnoop=%s enforce-snoop=%s "
                       "max-mappings=%" PRIu32 "\n", ctx->id,
                       IoasidHostBackend_str(ctx->backend),
                       ctx->host_snoop_control ? "on" : "off",
                       ctx->platform_nosnoop ? "on" : "off",
                       IoasidEnforceSnoop_str(ctx->enforce_snoop),
                       ctx->max_mappings);
        for (s = ctx->ioasids; s; s = s->next) {
            IoasidSpaceInfo *sp = s->value;
            IoasidMappingInfoList *m;
            IoasidAttachmentInfoList *a;

            monitor_printf(mon, "  ioasid %u: enforce-snoop=%s mappings=%"
                           PRIu64 " map-calls=%" PRIu64 " unmap-calls=%"
                           PRIu64 " failed-calls=%" PRIu64
                           " quota-refused=%" PRIu64 "%s%s\n", sp->ioasid,
                           sp->enforce_snoop ? "on" : "off",
                           sp->mapping_count, sp->map_calls,
                           sp->unmap_calls, sp->failed_calls,
                           sp->quota_refused,
                           sp->has_translation ? " mirrors=" : "",
                           sp->has_translation ?
                           IoasidGuestTranslation_str(sp->translation) : "");
            for (a = sp->attachments; a; a = a->next) {
                monitor_printf(mon, "    device %s", a->value->device);
                if (a->value->has_pasid) {
                    monitor_printf(mon, " pasid %" PRIu32, a->value->pasid);
                }
                monitor_printf(mon, "\n");
            }
            for (m = sp->mappings; m; m = m->next) {
                IoasidMappingInfo *mi = m->value;

                monitor_printf(mon, "    0x%016" PRIx64 "-0x%016" PRIx64
                               " -> 0x%016" PRIx64 " %c%c%s%s\n", mi->iova,
                               mi->iova + mi->size - 1, mi->addr,
                               mi->read ? 'r' : '-', mi->write ? 'w' : '-',
                               mi->block_nosnoop ? " block-nosnoop" : "",
                               mi->block_nosnoop &&
                               !mi->requested_block_nosnoop ?
                               " (forced: not asked)" : "");
            }
        }
    }
}
