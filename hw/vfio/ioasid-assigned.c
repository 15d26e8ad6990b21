/*
 * qemu-ioasid: real assigned devices (vfio-pci) under snoop control
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Upstream VFIO shadows a vIOMMU with a notifier that drops the guest's
 * snoop bits, so intel-iommu,snoop-control=on refuses it -- when the guest
 * first enables translation, and VFIO then stops QEMU ("DMA mapping
 * failed").  Here a container -- a type1 container, or an iommufd IOAS --
 * decides when it connects, that is when the device is realized (or
 * hot-plugged):
 *  - no vIOMMU, or one that accepts VFIO's notifier (snoop control off):
 *    VFIO's own memory listener, as upstream;
 *  - a vIOMMU with snoop control, and a host that enforces cache coherency
 *    for the device (type1: the container reports VFIO_DMA_CC_IOMMU;
 *    iommufd: the device's IOMMU has VT-d ECAP.SC, so every HWPT the
 *    kernel gives it enforces): the ioasid relay, the same one ioasid-vfio
 *    uses, over the vfio-type1 or iommufd host backend
 *    (backends/ioasid-host-kernel.c).  Every mapping is snooped by the
 *    host: SNP=1 is honoured exactly, SNP=0 is stricter than asked;
 *  - a vIOMMU with snoop control and a host that does not enforce (or
 *    cannot say): the device is refused, naming it and the reason.
 *
 * Noncoherent DMA (see system/ioasid-noncoherent.h) follows the three
 * conditions for these devices too: (a) the guest's Enable No Snoop in
 * the device's Device Control, seen in config writes; (b) the kernel's
 * answer: no-snoop passes unless the container enforces coherency
 * (iommufd: unless the HWPT the kernel gave the device does); (c)
 * platform-nosnoop of the ioasid-default context if there is one (on
 * otherwise).  QEMU's only lever is the device's file in the KVM-VFIO
 * device.  Each file (a VFIO group, or an iommufd device's cdev) is known
 * from its connect to its disconnect, and added to KVM only while wanted:
 * while one of its
 * devices is noncoherent (with that device's hold-off), or always when a
 * device needs KVM for other reasons (a mediated device, or any VFIO
 * device that is not vfio-pci).  Without KVM the decision is kept and
 * shown, and no ioctl is made.
 */

#include "qemu/osdep.h"
#include <sys/ioctl.h>
#include <linux/vfio.h>
#include "qemu/error-report.h"
#include "qapi/error.h"
#include "exec/address-spaces.h"
#include "exec/memory.h"
#include "system/kvm.h"
#include "system/ioasid-noncoherent.h"
#include "system/ioasid-iommufd.h"
#include "system/ioasid-vfio-type1.h"
#include "hw/vfio/ioasid-assigned.h"
#include "hw/vfio/ioasid-relay.h"
#include "hw/vfio/vfio-common.h"
#include "pci.h"
#include "trace.h"

/* ---- the kernel, for the vfio-type1 and iommufd backends ---- */

static int vfio_ioasid_kernel_ioctl(void *opaque, int fd,
                                    unsigned long request, void *arg)
{
    int ret = ioctl(fd, request, arg);

    return ret < 0 ? -errno : ret;
}

static void *vfio_ioasid_kernel_ram_ptr(void *opaque, hwaddr addr,
                                        hwaddr *len, bool *readonly)
{
    hwaddr xlat;
    MemoryRegion *mr = address_space_translate(&address_space_memory, addr,
                                               &xlat, len, false,
                                               MEMTXATTRS_UNSPECIFIED);

    if (!memory_region_is_ram(mr) || memory_region_is_ram_device(mr)) {
        return NULL;
    }
    *readonly = mr->readonly || memory_region_is_rom(mr);
    return (uint8_t *)memory_region_get_ram_ptr(mr) + xlat;
}

static const IOASIDVfioKernel vfio_ioasid_kernel = {
    .ioctl = vfio_ioasid_kernel_ioctl,
    .ram_ptr = vfio_ioasid_kernel_ram_ptr,
};

/* ---- containers ---- */

typedef struct VFIOIoasidContainer {
    VFIOContainerBase *bcontainer;
    int fd;                     /* the container, or the iommufd */
    int groupid;                /* type1: of the first group */
    bool iommufd;
    uint32_t ioas_id;           /* iommufd: the IOAS */
    IOASIDVfioCoherency coherency;     /* type1: the container's answer */
    int coherency_err;
    bool snoop_viommu;          /* a vIOMMU with snoop control in front */
    /* the relay plan */
    IOASIDBackend *be;
    uint32_t ioasid;
    IOASIDRelay relay;
} VFIOIoasidContainer;

/* bcontainer -> VFIOIoasidContainer */
static GHashTable *vfio_ioasid_containers;

static VFIOIoasidContainer *vfio_ioasid_container(VFIOContainerBase *bc)
{
    return vfio_ioasid_containers ?
           g_hash_table_lookup(vfio_ioasid_containers, bc) : NULL;
}

/* (c): what the administrator said of the platform, on by default */
static bool vfio_ioasid_platform_nosnoop(void)
{
    Object *obj = object_resolve_path_component(object_get_objects_root(),
                                                IOASID_DEFAULT_ID);
    IOASIDBackend *be = obj ? (IOASIDBackend *)object_dynamic_cast(obj,
                                                        TYPE_IOASID) : NULL;

    return !be || be->platform_nosnoop;
}

static void vfio_ioasid_devices_update(VFIOIoasidContainer *c);

static void vfio_ioasid_relay_changed(void *opaque)
{
    vfio_ioasid_devices_update(opaque);
}

/*
 * Whether a vIOMMU in front relays snoop control: it refuses VFIO's own
 * notifier.  If it refuses the relay's too, say why now, not when the
 * guest first enables translation.
 */
static bool vfio_ioasid_probe_viommu(AddressSpace *as, bool *snoop_viommu,
                                     Error **errp)
{
    ERRP_GUARD();
    Error *plain = NULL;

    *snoop_viommu = false;
    if (as == &address_space_memory ||
        ioasid_relay_viommu_accepts(as, IOMMU_NOTIFIER_IOTLB_EVENTS,
                                    &plain)) {
        return true;
    }
    error_free(plain);
    if (!ioasid_relay_viommu_accepts(as, IOASID_RELAY_NOTIFIER_FLAGS, errp)) {
        error_prepend(errp, "the vIOMMU refuses to report its mappings: ");
        return false;
    }
    *snoop_viommu = true;
    return true;
}

static bool vfio_ioasid_start_relay(VFIOIoasidContainer *c, Error **errp)
{
    VFIOContainerBase *bc = c->bcontainer;
    uint32_t max = bc->dma_max_mappings ?: IOASID_DEFAULT_MAX_MAPPINGS;
    g_autofree char *name = NULL;
    g_autofree char *owner = NULL;
    IOASIDHostKernel *host;

    if (c->iommufd) {
        name = g_strdup_printf("iommufd-ioas%u", c->ioas_id);
        owner = g_strdup_printf("iommufd IOAS %u", c->ioas_id);
        host = ioasid_iommufd_new(&vfio_ioasid_kernel, c->fd, c->ioas_id,
                                  true, vfio_ioasid_platform_nosnoop(),
                                  bc->pgsizes, max);
        c->be = ioasid_backend_new_kernel(name, &ioasid_iommufd_ops, host,
                                          errp);
    } else {
        name = g_strdup_printf("vfio-group%d", c->groupid);
        owner = g_strdup_printf("VFIO group %d", c->groupid);
        host = ioasid_vfio_type1_new(&vfio_ioasid_kernel, c->fd, true,
                                     vfio_ioasid_platform_nosnoop(),
                                     bc->pgsizes, max);
        c->be = ioasid_backend_new_kernel(name, &ioasid_vfio_type1_ops, host,
                                          errp);
    }
    if (!c->be) {
        return false;
    }
    if (!ioasid_backend_alloc(c->be, 0, &c->ioasid, errp)) {
        goto fail;
    }
    if (!ioasid_relay_start(&c->relay, c->be, c->ioasid, bc->space->as, 0,
                            owner, vfio_ioasid_relay_changed, c, errp)) {
        ioasid_backend_free(c->be, c->ioasid);
        goto fail;
    }
    return true;

fail:
    ioasid_backend_release(c->be);
    c->be = NULL;
    return false;
}

/* The container follows its address space: VFIO's listener or the relay */
static bool vfio_ioasid_container_follow(VFIOIoasidContainer *c, bool relay,
                                         Error **errp)
{
    VFIOContainerBase *bcontainer = c->bcontainer;

    if (!vfio_ioasid_containers) {
        vfio_ioasid_containers = g_hash_table_new(NULL, NULL);
    }
    g_hash_table_insert(vfio_ioasid_containers, bcontainer, c);
    if (!relay) {
        memory_listener_register(&bcontainer->listener,
                                 bcontainer->space->as);
        return true;
    }
    if (!vfio_ioasid_start_relay(c, errp)) {
        g_hash_table_remove(vfio_ioasid_containers, bcontainer);
        return false;
    }
    return true;
}

bool vfio_ioasid_container_connect(VFIOContainerBase *bcontainer, int fd,
                                   int groupid, Error **errp)
{
    ERRP_GUARD();
    VFIOIoasidContainer *c = g_new0(VFIOIoasidContainer, 1);
    g_autofree char *name = g_strdup_printf("group %d", groupid);
    IOASIDVfioPlan plan;

    c->bcontainer = bcontainer;
    c->fd = fd;
    c->groupid = groupid;
    c->coherency = ioasid_vfio_type1_coherency(&vfio_ioasid_kernel, fd,
                                               &c->coherency_err);
    if (!vfio_ioasid_probe_viommu(bcontainer->space->as, &c->snoop_viommu,
                                  errp)) {
        error_prepend(errp, "%s: ", name);
        g_free(c);
        return false;
    }
    plan = ioasid_vfio_type1_plan(c->snoop_viommu, c->coherency,
                                  c->coherency_err, name, errp);
    trace_vfio_ioasid_container_connect(groupid, c->snoop_viommu,
                                        c->coherency, plan);
    if (plan == IOASID_VFIO_PLAN_REFUSE) {
        g_free(c);
        return false;
    }
    if (!vfio_ioasid_container_follow(c, plan == IOASID_VFIO_PLAN_RELAY,
                                      errp)) {
        error_prepend(errp, "%s: ", name);
        g_free(c);
        return false;
    }
    return true;
}

bool vfio_ioasid_iommufd_check(VFIODevice *vbasedev, AddressSpace *as,
                               Error **errp)
{
    ERRP_GUARD();
    IOASIDVfioCoherency coherency;
    IOASIDVfioPlan plan;
    bool snoop_viommu;
    int err;

    if (!vfio_ioasid_probe_viommu(as, &snoop_viommu, errp)) {
        error_prepend(errp, "%s: ", vbasedev->name);
        return false;
    }
    coherency = ioasid_iommufd_coherency(&vfio_ioasid_kernel,
                                         vbasedev->iommufd->fd,
                                         vbasedev->devid, &err);
    /* VFIO prefixes the device's name */
    plan = ioasid_iommufd_plan(snoop_viommu, coherency, err, "iommufd", errp);
    trace_vfio_ioasid_iommufd_check(vbasedev->name, snoop_viommu, coherency,
                                    err, plan);
    return plan != IOASID_VFIO_PLAN_REFUSE;
}

bool vfio_ioasid_iommufd_connect(VFIOContainerBase *bcontainer, int fd,
                                 uint32_t ioas_id, Error **errp)
{
    ERRP_GUARD();
    VFIOIoasidContainer *c = g_new0(VFIOIoasidContainer, 1);

    c->bcontainer = bcontainer;
    c->fd = fd;
    c->iommufd = true;
    c->ioas_id = ioas_id;
    if (!vfio_ioasid_probe_viommu(bcontainer->space->as, &c->snoop_viommu,
                                  errp)) {
        g_free(c);
        return false;
    }
    /*
     * Each device was checked before it was attached (behind a vIOMMU
     * with snoop control, only devices whose HWPTs enforce), and its
     * condition (b) is its own HWPT's: the IOAS has no coherency of its own
     */
    trace_vfio_ioasid_iommufd_connect(ioas_id, c->snoop_viommu);
    if (!vfio_ioasid_container_follow(c, c->snoop_viommu, errp)) {
        error_prepend(errp, "IOAS %u: ", ioas_id);
        g_free(c);
        return false;
    }
    return true;
}

/*
 * (iommufd fd, HWPT id) -> whether the HWPT enforces cache coherency: the
 * HWPTs QEMU had the kernel allocate (ids are per iommufd)
 */
static GHashTable *vfio_ioasid_hwpts;

static uint64_t *vfio_ioasid_hwpt_key(int fd, uint32_t hwpt_id)
{
    uint64_t *key = g_new(uint64_t, 1);

    *key = ((uint64_t)(uint32_t)fd << 32) | hwpt_id;
    return key;
}

void vfio_ioasid_iommufd_hwpt_new(VFIODevice *vbasedev, uint32_t hwpt_id)
{
    int err;
    bool enforced = ioasid_iommufd_coherency(&vfio_ioasid_kernel,
                                             vbasedev->iommufd->fd,
                                             vbasedev->devid, &err) ==
                    IOASID_VFIO_COHERENCY_ENFORCED;

    if (!vfio_ioasid_hwpts) {
        vfio_ioasid_hwpts = g_hash_table_new_full(g_int64_hash,
                                                  g_int64_equal, g_free,
                                                  NULL);
    }
    g_hash_table_insert(vfio_ioasid_hwpts,
                        vfio_ioasid_hwpt_key(vbasedev->iommufd->fd, hwpt_id),
                        GUINT_TO_POINTER(enforced));
    trace_vfio_ioasid_iommufd_hwpt(hwpt_id, vbasedev->name, enforced);
}

void vfio_ioasid_iommufd_hwpt_free(int fd, uint32_t hwpt_id)
{
    g_autofree uint64_t *key = vfio_ioasid_hwpt_key(fd, hwpt_id);

    if (vfio_ioasid_hwpts) {
        g_hash_table_remove(vfio_ioasid_hwpts, key);
    }
}

/* Whether the HWPT the kernel gave iommufd device @vbasedev enforces */
static bool vfio_ioasid_hwpt_enforced(VFIODevice *vbasedev)
{
    g_autofree uint64_t *key = NULL;

    if (!vbasedev->hwpt || !vfio_ioasid_hwpts) {
        return false;           /* an mdev: no HWPT of its own */
    }
    key = vfio_ioasid_hwpt_key(vbasedev->iommufd->fd,
                               vbasedev->hwpt->hwpt_id);
    return g_hash_table_lookup(vfio_ioasid_hwpts, key);
}

bool vfio_ioasid_container_joined(VFIOContainerBase *bcontainer, int fd,
                                  int groupid, Error **errp)
{
    VFIOIoasidContainer *c = vfio_ioasid_container(bcontainer);
    g_autofree char *name = g_strdup_printf("group %d", groupid);
    int err;
    IOASIDVfioCoherency coherency;

    if (!c) {
        return true;
    }
    /* The new group's IOMMU may not enforce: the container's answer moves */
    coherency = ioasid_vfio_type1_coherency(&vfio_ioasid_kernel, fd, &err);
    if (ioasid_vfio_type1_plan(c->snoop_viommu, coherency, err, name,
                               errp) == IOASID_VFIO_PLAN_REFUSE) {
        return false;
    }
    c->coherency = coherency;
    c->coherency_err = err;
    vfio_ioasid_devices_update(c);
    return true;
}

void vfio_ioasid_container_disconnect(VFIOContainerBase *bcontainer)
{
    VFIOIoasidContainer *c = vfio_ioasid_container(bcontainer);

    if (!c) {
        return;
    }
    if (c->be) {
        ioasid_relay_stop(&c->relay);
        ioasid_backend_free(c->be, c->ioasid);
        ioasid_backend_release(c->be);
    }
    g_hash_table_remove(vfio_ioasid_containers, bcontainer);
    g_free(c);
}

/* ---- KVM-VFIO files ---- */

typedef struct VFIOIoasidKvmFile {
    int fd;
    char *name;
    bool always;                /* a device needs it whatever its DMA */
    unsigned int noncoherent;   /* its devices that are noncoherent */
    bool added;                 /* QEMU's decision */
    bool in_kvm;                /* what KVM was told */
    uint64_t changes;
} VFIOIoasidKvmFile;

/* fd -> VFIOIoasidKvmFile */
static GHashTable *vfio_ioasid_kvm_files;

static VFIOIoasidKvmFile *vfio_ioasid_kvm_file(int fd)
{
    return vfio_ioasid_kvm_files ?
           g_hash_table_lookup(vfio_ioasid_kvm_files, GINT_TO_POINTER(fd)) :
           NULL;
}

static void vfio_ioasid_kvm_file_tell(VFIOIoasidKvmFile *f, bool add)
{
    Error *err = NULL;

    if (!kvm_enabled() || f->in_kvm == add) {
        return;
    }
    if (add ? vfio_kvm_device_add_fd(f->fd, &err)
            : vfio_kvm_device_del_fd(f->fd, &err)) {
        error_reportf_err(err, "%s: ", f->name);
        return;
    }
    f->in_kvm = add;
}

static void vfio_ioasid_kvm_file_update(VFIOIoasidKvmFile *f)
{
    bool want = f->always || f->noncoherent;

    if (want != f->added) {
        f->added = want;
        f->changes++;
        trace_vfio_ioasid_kvm_file(f->name, want, f->always, f->noncoherent,
                                   kvm_enabled());
    }
    vfio_ioasid_kvm_file_tell(f, want);
}

/* @name: taken over */
static void vfio_ioasid_kvm_file_add(int fd, char *name)
{
    VFIOIoasidKvmFile *f = g_new0(VFIOIoasidKvmFile, 1);

    f->fd = fd;
    f->name = name;
    if (!vfio_ioasid_kvm_files) {
        vfio_ioasid_kvm_files = g_hash_table_new(NULL, NULL);
    }
    g_hash_table_insert(vfio_ioasid_kvm_files, GINT_TO_POINTER(fd), f);
    trace_vfio_ioasid_kvm_file(f->name, false, false, 0, kvm_enabled());
}

void vfio_ioasid_kvm_group_add(int fd, int groupid)
{
    vfio_ioasid_kvm_file_add(fd, g_strdup_printf("group %d", groupid));
}

void vfio_ioasid_kvm_device_file_add(int fd, const char *name)
{
    vfio_ioasid_kvm_file_add(fd, g_strdup_printf("device %s", name));
}

void vfio_ioasid_kvm_file_del(int fd)
{
    VFIOIoasidKvmFile *f = vfio_ioasid_kvm_file(fd);

    if (!f) {
        return;
    }
    vfio_ioasid_kvm_file_tell(f, false);
    g_hash_table_remove(vfio_ioasid_kvm_files, GINT_TO_POINTER(fd));
    g_free(f->name);
    g_free(f);
}

void vfio_ioasid_kvm_device_attaching(VFIODevice *vbasedev, int fd)
{
    VFIOIoasidKvmFile *f = vfio_ioasid_kvm_file(fd);

    /*
     * Before the device is opened: a mediated device's vendor driver looks
     * for its KVM when it opens.
     */
    if (f && (vbasedev->mdev || vbasedev->type != VFIO_DEVICE_TYPE_PCI)) {
        f->always = true;
        vfio_ioasid_kvm_file_update(f);
    }
}

/* ---- vfio-pci devices ---- */

typedef struct VFIOIoasidDevice {
    VFIOPCIDevice *vdev;
    IOASIDNoncoherentDevice nc;
    int kvm_fd;                 /* its group's, or its own (iommufd) */
    uint32_t dev_id;            /* in the relay's context */
    bool attached;
} VFIOIoasidDevice;

/* VFIOPCIDevice -> VFIOIoasidDevice */
static GHashTable *vfio_ioasid_devices;

static VFIOIoasidDevice *vfio_ioasid_device(VFIOPCIDevice *vdev)
{
    return vfio_ioasid_devices ?
           g_hash_table_lookup(vfio_ioasid_devices, vdev) : NULL;
}

/* (a): Enable No Snoop, as the device has it */
static bool vfio_ioasid_nosnoop_enabled(VFIOPCIDevice *vdev)
{
    uint16_t exp = vdev->pdev.exp.exp_cap;

    if (!exp) {
        /*
         * The guest sees no PCI Express capability (conventional bus), so
         * it cannot clear the bit, which resets to 1.
         */
        return true;
    }
    return vfio_pci_read_config(&vdev->pdev, exp + PCI_EXP_DEVCTL, 2) &
           PCI_EXP_DEVCTL_NOSNOOP_EN;
}

/* (b): whether no-snoop can pass the host IOMMU */
static bool vfio_ioasid_nosnoop_passes(VFIOPCIDevice *vdev)
{
    VFIODevice *vbasedev = &vdev->vbasedev;
    VFIOIoasidContainer *c = vfio_ioasid_container(vbasedev->bcontainer);

    if (vbasedev->iommufd) {
        /*
         * The HWPT the kernel gave the device: one allocated for a device
         * whose IOMMU forces snooping enforces, and the kernel never
         * gives it to another kind; one allocated for another device does
         * not (a device that could enforce may share it).  An mdev has no
         * HWPT of its own.
         */
        return !vfio_ioasid_hwpt_enforced(vbasedev);
    }
    /* a kernel that did not answer: it may pass */
    return !c || c->coherency != IOASID_VFIO_COHERENCY_ENFORCED;
}

static void vfio_ioasid_device_update(VFIOIoasidDevice *d, bool settle)
{
    VFIOPCIDevice *vdev = d->vdev;

    d->nc.nosnoop_enabled = vfio_ioasid_nosnoop_enabled(vdev);
    d->nc.nosnoop_passes = vfio_ioasid_nosnoop_passes(vdev);
    d->nc.platform_nosnoop = vfio_ioasid_platform_nosnoop();
    trace_vfio_ioasid_noncoherent(vdev->vbasedev.name, d->nc.nosnoop_enabled,
                                  d->nc.nosnoop_passes,
                                  d->nc.platform_nosnoop);
    if (settle) {
        ioasid_noncoherent_settle(&d->nc);
    } else {
        ioasid_noncoherent_update(&d->nc);
    }
}

static void vfio_ioasid_devices_update(VFIOIoasidContainer *c)
{
    GHashTableIter iter;
    gpointer value;

    if (!vfio_ioasid_devices) {
        return;
    }
    g_hash_table_iter_init(&iter, vfio_ioasid_devices);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        VFIOIoasidDevice *d = value;

        if (d->vdev->vbasedev.bcontainer == c->bcontainer) {
            vfio_ioasid_device_update(d, false);
        }
    }
}

/* The registry says the device's standing changed: move its file. */
static void vfio_ioasid_nc_changed(IOASIDNoncoherentDevice *nc)
{
    VFIOIoasidDevice *d = container_of(nc, VFIOIoasidDevice, nc);
    VFIOIoasidKvmFile *f = vfio_ioasid_kvm_file(d->kvm_fd);

    if (!f) {
        return;
    }
    if (nc->noncoherent) {
        f->noncoherent++;
    } else {
        assert(f->noncoherent);
        f->noncoherent--;
    }
    vfio_ioasid_kvm_file_update(f);
}

static NoncoherentKvmVfioFile *vfio_ioasid_nc_kvm_file(
    IOASIDNoncoherentDevice *nc)
{
    VFIOIoasidDevice *d = container_of(nc, VFIOIoasidDevice, nc);
    VFIOIoasidKvmFile *f = vfio_ioasid_kvm_file(d->kvm_fd);
    NoncoherentKvmVfioFile *info = g_new0(NoncoherentKvmVfioFile, 1);

    if (!f) {
        /* not reached: every group and cdev is known from its connect */
        info->file = g_strdup_printf("device %s", d->vdev->vbasedev.name);
        return info;
    }
    info->file = g_strdup(f->name);
    info->added = f->added;
    info->always = f->always;
    info->kvm = f->in_kvm == f->added && kvm_enabled();
    info->changes = f->changes;
    return info;
}

/*
 * A physical device's misses cannot be walked for it (ioasid_relay_fill()
 * is for devices whose DMA QEMU performs): behind first-stage tables it
 * sees a mapping once the guest invalidates it, which VT-d does not
 * require (3.x 6.1) and Linux guests do not do.
 */
static void vfio_ioasid_warn_first_stage(VFIOPCIDevice *vdev)
{
    Object *viommu = object_resolve_path_type("", "intel-iommu", NULL);

    if (viommu && object_property_get_bool(viommu, "x-flts", NULL) &&
        pci_device_iommu_address_space(&vdev->pdev) != &address_space_memory) {
        warn_report("%s: behind intel-iommu x-flts=on the device sees a "
                    "first-stage mapping once the guest invalidates it; "
                    "VT-d does not require that and Linux guests do not do "
                    "it, so DMA to a new mapping faults until then",
                    vdev->vbasedev.name);
        error_printf("Use intel-iommu x-flts=off for vfio-pci with a Linux "
                     "guest.\n");
    }
}

bool vfio_ioasid_pci_realize(VFIOPCIDevice *vdev, Error **errp)
{
    ERRP_GUARD();
    VFIODevice *vbasedev = &vdev->vbasedev;
    VFIOIoasidContainer *c = vfio_ioasid_container(vbasedev->bcontainer);
    VFIOIoasidDevice *d;

    vfio_ioasid_warn_first_stage(vdev);
    d = g_new0(VFIOIoasidDevice, 1);
    d->vdev = vdev;
    d->kvm_fd = vbasedev->group ? vbasedev->group->fd : vbasedev->fd;
    if (c && c->be) {
        d->dev_id = ioasid_backend_bind_device(c->be, OBJECT(vdev));
        if (!ioasid_backend_attach(c->be, c->ioasid, d->dev_id,
                                   IOASID_NO_PASID, errp)) {
            ioasid_backend_unbind_device(c->be, d->dev_id);
            g_free(d);
            return false;
        }
        d->attached = true;
    }
    if (!vfio_ioasid_devices) {
        vfio_ioasid_devices = g_hash_table_new(NULL, NULL);
    }
    g_hash_table_insert(vfio_ioasid_devices, vdev, d);
    ioasid_noncoherent_add(&d->nc, OBJECT(vdev),
                           IOASID_NONCOHERENT_DEFAULT_HOLDOFF_MS);
    d->nc.changed = vfio_ioasid_nc_changed;
    d->nc.kvm_vfio_file = vfio_ioasid_nc_kvm_file;
    /* No guest ran yet: no hold-off. */
    vfio_ioasid_device_update(d, true);
    return true;
}

void vfio_ioasid_pci_config_written(VFIOPCIDevice *vdev, uint32_t addr,
                                    int len)
{
    VFIOIoasidDevice *d = vfio_ioasid_device(vdev);
    uint16_t exp = vdev->pdev.exp.exp_cap;

    if (d && exp && ranges_overlap(addr, len, exp + PCI_EXP_DEVCTL, 2)) {
        vfio_ioasid_device_update(d, false);
    }
}

void vfio_ioasid_pci_reset(VFIOPCIDevice *vdev)
{
    VFIOIoasidDevice *d = vfio_ioasid_device(vdev);

    if (d) {
        vfio_ioasid_device_update(d, false);
    }
}

void vfio_ioasid_pci_exit(VFIOPCIDevice *vdev)
{
    VFIOIoasidDevice *d = vfio_ioasid_device(vdev);
    VFIOIoasidContainer *c = vfio_ioasid_container(vdev->vbasedev.bcontainer);

    if (!d) {
        return;
    }
    ioasid_noncoherent_remove(&d->nc);
    if (d->attached && c && c->be) {
        ioasid_backend_detach(c->be, c->ioasid, d->dev_id, IOASID_NO_PASID);
        ioasid_backend_unbind_device(c->be, d->dev_id);
    }
    g_hash_table_remove(vfio_ioasid_devices, vdev);
    g_free(d);
}
