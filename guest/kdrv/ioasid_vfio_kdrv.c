// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest kernel driver for the ioasid-vfio DMA engine, through the DMA API
 *
 * The path a real driver author takes: dma_alloc_coherent() buffers whose
 * IOVAs the guest IOMMU driver maps (DMA-API domains never set VT-d SNP).
 * At probe it enables No Snoop in Device Control, runs a copy and a fill
 * with and without CMD.NOSNOOP, checks the data, and prints one line per
 * step that the host-side runner parses:
 *   ioasid-kdrv: step=<name> status=0x.. ok=<0|1> nosnoop_bytes=<n>
 *
 * With bench=1 it runs the DMA-API benchmark of `make bench` instead: a
 * loop of bench_iters single-page dma_map_page()/dma_unmap_page() pairs
 * on ioasid-vfio, whose relay mirrors every map and unmap into the host
 * table, and the same loop on QEMU's edu (PCI 1234:11e8) behind the same
 * vIOMMU, with no relay (edu needs no driver: the IOMMU core gave it a DMA
 * domain).  bench_rounds rounds, the order alternating; the kernel must run
 * with iommu.strict=1 and the vIOMMU with caching-mode=on, so that every
 * map and every unmap is an invalidation the vIOMMU processes.  It first
 * checks that both devices translate through a strict DMA domain (the DMA
 * address is an IOVA the domain maps to the page), then prints
 *   ioasid-kdrv: bench-check dev=<name> domain=<type> dma=.. phys=.. ok=..
 *   ioasid-kdrv: bench-loop dev=<name> round=<r> iters=<n> ns=<t> ok=..
 *
 * The no-snoop steps do the cache maintenance a correct driver does on a
 * platform where No Snoop bypasses the CPU caches: clflush_cache_range()
 * of the source after the CPU filled it and of the destination before the
 * DMA, and of the destination again before reading the result.
 *
 * With maint=<mode> it runs instead one no-snoop copy (CMD.NOSNOOP) with
 * that cache maintenance, compares it line by line (64 bytes) and prints
 *   ioasid-kdrv: step=maint-<mode> status=0x.. ok=<data correct>
 *       nosnoop_bytes=<n> devctl_nosnoop=<0|1> lines=<n> stale_lines=<n>
 *       first_stale=<line or -1>
 * modes:
 *   clflush         clflush_cache_range() of source and destination before
 *                   the DMA and of the destination after it: correct
 *   wbinvd          wbinvd_on_all_cpus() before and after: correct only
 *                   while the VM is registered noncoherent (KVM, and the
 *                   strict model, ignore WBINVD otherwise)
 *   none            no maintenance at all, deliberately wrong: under the
 *                   strict cache model the driver reads stale data, and says
 *                   "ioasid-kdrv: nosnoop maint=none: STALE data at line N
 *                   (driver skipped cache maintenance), K of L lines stale"
 *   wbinvd-snooped  Enable No Snoop cleared first
 *                   (pcie_capability_clear_word), then as wbinvd: the DMA is
 *                   snooped, so the data is correct, and the WBINVDs are
 *                   ignored by the platform (the VM is not noncoherent)
 *
 * With pasid=1 it runs instead the PASID mode: the device's requests with
 * two PASIDs, each attached to a paging domain of its own
 * (iommu_paging_domain_alloc(), iommu_attach_device_pasid()), the first
 * one made cache-coherent (the domain's enforce_cache_coherency, as VFIO
 * and iommufd call it, where the IOMMU can: ECAP.SC) before anything is
 * mapped.  Both domains map the same IOVAs to pages of their own; one
 * no-snoop copy per PASID (PASID register, CMD.NOSNOOP), data checked:
 *   ioasid-kdrv: pasid-setup pasid_a=<n> pasid_b=<n> coherent_a=<0|1>
 *       pasid_enabled=<0|1> ok=<0|1>
 *   ioasid-kdrv: step=pasid-a pasid=<n> coherent=<0|1> status=0x..
 *       ok=<data correct> nosnoop_bytes=<delta>
 *   ioasid-kdrv: step=pasid-b ...
 * At remove it detaches both PASIDs and frees the domains.  Linux before
 * 6.11 (iommu_paging_domain_alloc(); iommu_attach_device_pasid() itself
 * came in 6.2) says "ioasid-kdrv: pasid unsupported".
 *
 * Register contract: docs/specs/ioasid-vfio.rst (qemu-ioasid).
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 */

#include <linux/module.h>
#include <linux/pci.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/iommu.h>
#include <linux/ktime.h>
#include <linux/string.h>
#include <linux/version.h>
#include <linux/pci-ats.h>
#include <asm/cacheflush.h>
#include <asm/smp.h>

#define REG_ID              0x00
#define REG_SRC             0x08
#define REG_DST             0x10
#define REG_LEN             0x18
#define REG_CMD             0x1c
#define REG_STATUS          0x20
#define REG_PATTERN         0x24
#define REG_NOSNOOP_BYTES   0x30
#define REG_PASID           0x38
#define PASID_VALID         (1u << 31)

#define CMD_START           (1u << 0)
#define CMD_OP_FILL         (1u << 1)
#define CMD_NOSNOOP         (1u << 8)
#define STATUS_DONE         (1u << 1)
#define STATUS_ERROR        (1u << 2)

#define BUF_SIZE            (64 * 1024)
#define LINE                64

#define EDU_VENDOR          0x1234
#define EDU_DEVICE          0x11e8

static bool bench;
module_param(bench, bool, 0444);
MODULE_PARM_DESC(bench, "time dma_map_page/dma_unmap_page against edu");
static unsigned int bench_iters = 10000;
module_param(bench_iters, uint, 0444);
MODULE_PARM_DESC(bench_iters, "map/unmap pairs per loop");
static unsigned int bench_rounds = 15;
module_param(bench_rounds, uint, 0444);
MODULE_PARM_DESC(bench_rounds, "loops per device");
static char *maint;
module_param(maint, charp, 0444);
MODULE_PARM_DESC(maint, "one no-snoop copy with this cache maintenance: "
                 "clflush, wbinvd, none (wrong on purpose), wbinvd-snooped "
                 "(Enable No Snoop cleared)");
static bool pasid;
module_param(pasid, bool, 0444);
MODULE_PARM_DESC(pasid, "DMA with two PASIDs, each in a domain of its own");

static u32 run(__iomem void *bar, u32 cmd, dma_addr_t src, dma_addr_t dst,
               u32 len)
{
    u32 status;

    lo_hi_writeq(src, bar + REG_SRC);
    lo_hi_writeq(dst, bar + REG_DST);
    writel(len, bar + REG_LEN);
    writel(cmd | CMD_START, bar + REG_CMD);
    /* completion is synchronous, but a driver polls anyway */
    status = readl(bar + REG_STATUS);
    while (!(status & (STATUS_DONE | STATUS_ERROR))) {
        cpu_relax();
        status = readl(bar + REG_STATUS);
    }
    writel(STATUS_DONE | STATUS_ERROR, bar + REG_STATUS);
    return status;
}

static void report(__iomem void *bar, const char *step, u32 status, bool ok)
{
    pr_info("ioasid-kdrv: step=%s status=0x%x ok=%d nosnoop_bytes=%llu\n",
            step, status, ok && status == STATUS_DONE,
            (unsigned long long)lo_hi_readq(bar + REG_NOSNOOP_BYTES));
}

static const char *domain_type(struct iommu_domain *dom)
{
    if (!dom) {
        return "none";
    }
    switch (dom->type) {
    case IOMMU_DOMAIN_DMA:
        return "dma-strict";
    case IOMMU_DOMAIN_DMA_FQ:
        return "dma-lazy";
    case IOMMU_DOMAIN_IDENTITY:
        return "identity";
    default:
        return "other";
    }
}

/*
 * Whether @dev's DMA API goes through a strict IOMMU DMA domain: the DMA
 * address of @page is an IOVA, not its physical address, and the domain
 * maps it to the page until it is unmapped.
 */
static bool bench_check(struct device *dev, const char *name,
                        struct page *page)
{
    struct iommu_domain *dom = iommu_get_domain_for_dev(dev);
    phys_addr_t phys = page_to_phys(page), xlat = 0, after = 0;
    dma_addr_t dma;
    bool ok;

    dma = dma_map_page(dev, page, 0, PAGE_SIZE, DMA_BIDIRECTIONAL);
    if (dma_mapping_error(dev, dma)) {
        pr_info("ioasid-kdrv: bench-check dev=%s error=map ok=0\n", name);
        return false;
    }
    if (dom) {
        xlat = iommu_iova_to_phys(dom, dma);
    }
    dma_unmap_page(dev, dma, PAGE_SIZE, DMA_BIDIRECTIONAL);
    if (dom) {
        after = iommu_iova_to_phys(dom, dma);
    }
    ok = dom && dom->type == IOMMU_DOMAIN_DMA && dma != phys &&
         xlat == phys && !after;
    pr_info("ioasid-kdrv: bench-check dev=%s domain=%s dma=0x%llx "
            "phys=0x%llx iova_to_phys=0x%llx after_unmap=0x%llx ok=%d\n",
            name, domain_type(dom), (unsigned long long)dma,
            (unsigned long long)phys, (unsigned long long)xlat,
            (unsigned long long)after, ok);
    return ok;
}

/* bench_iters map/unmap pairs of one page; nanoseconds, 0 on error */
static u64 bench_loop(struct device *dev, struct page *page)
{
    u64 start = ktime_get_ns();
    dma_addr_t dma;
    unsigned int i;

    for (i = 0; i < bench_iters; i++) {
        dma = dma_map_page(dev, page, 0, PAGE_SIZE, DMA_BIDIRECTIONAL);
        if (dma_mapping_error(dev, dma)) {
            return 0;
        }
        dma_unmap_page(dev, dma, PAGE_SIZE, DMA_BIDIRECTIONAL);
        if (i % 1024 == 1023) {
            cond_resched();
        }
    }
    return ktime_get_ns() - start;
}

static void bench_report(const char *name, unsigned int round, u64 ns)
{
    pr_info("ioasid-kdrv: bench-loop dev=%s round=%u iters=%u ns=%llu "
            "ok=%d\n", name, round, bench_iters, (unsigned long long)ns,
            ns != 0);
}

static int kdrv_bench(struct pci_dev *pdev)
{
    struct pci_dev *edu = pci_get_device(EDU_VENDOR, EDU_DEVICE, NULL);
    struct page *page = alloc_page(GFP_KERNEL);
    unsigned int r;
    bool ok;

    if (!edu || !page) {
        pr_info("ioasid-kdrv: bench-done error=%s ok=0\n",
                edu ? "no-memory" : "no-edu");
        goto out;
    }
    ok = bench_check(&pdev->dev, "ioasid-vfio", page);
    ok = bench_check(&edu->dev, "edu", page) && ok;
    for (r = 0; ok && r < bench_rounds; r++) {
        u64 ns;

        /* alternate the order, so that neither device always goes first */
        if (r & 1) {
            ns = bench_loop(&pdev->dev, page);
            bench_report("ioasid-vfio", r, ns);
            ok = ns;
            ns = bench_loop(&edu->dev, page);
            bench_report("edu", r, ns);
        } else {
            ns = bench_loop(&edu->dev, page);
            bench_report("edu", r, ns);
            ok = ns;
            ns = bench_loop(&pdev->dev, page);
            bench_report("ioasid-vfio", r, ns);
        }
        ok = ok && ns;
    }
    pr_info("ioasid-kdrv: bench-done ok=%d\n", ok);
out:
    if (page) {
        __free_page(page);
    }
    pci_dev_put(edu);
    return 0;
}

enum maint_mode { MAINT_CLFLUSH, MAINT_WBINVD, MAINT_NONE,
                  MAINT_WBINVD_SNOOPED };
static const char *const maint_names[] = {
    [MAINT_CLFLUSH] = "clflush", [MAINT_WBINVD] = "wbinvd",
    [MAINT_NONE] = "none", [MAINT_WBINVD_SNOOPED] = "wbinvd-snooped",
};

/* Make the CPU's view of @buf and memory agree, the way @mode says */
static void cache_maint(enum maint_mode mode, void *buf, unsigned int size)
{
    switch (mode) {
    case MAINT_CLFLUSH:
        clflush_cache_range(buf, size);
        break;
    case MAINT_WBINVD:
    case MAINT_WBINVD_SNOOPED:
        wbinvd_on_all_cpus();
        break;
    case MAINT_NONE:
        break;
    }
}

/* One no-snoop copy with the cache maintenance of @mode, checked by line */
static int kdrv_maint(struct pci_dev *pdev, __iomem void *bar,
                      enum maint_mode mode)
{
    const char *name = maint_names[mode];
    int i, stale = 0, first = -1, lines = BUF_SIZE / LINE;
    dma_addr_t src_dma, dst_dma;
    char step[32];
    u8 *src, *dst;
    u16 devctl = 0;
    u32 status;

    src = dmam_alloc_coherent(&pdev->dev, BUF_SIZE, &src_dma, GFP_KERNEL);
    dst = dmam_alloc_coherent(&pdev->dev, BUF_SIZE, &dst_dma, GFP_KERNEL);
    if (!src || !dst) {
        return -ENOMEM;
    }
    if (mode == MAINT_WBINVD_SNOOPED) {
        pcie_capability_clear_word(pdev, PCI_EXP_DEVCTL,
                                   PCI_EXP_DEVCTL_NOSNOOP_EN);
    } else {
        pcie_capability_set_word(pdev, PCI_EXP_DEVCTL,
                                 PCI_EXP_DEVCTL_NOSNOOP_EN);
    }
    pcie_capability_read_word(pdev, PCI_EXP_DEVCTL, &devctl);

    /* the CPU writes both buffers: its caches hold them dirty */
    for (i = 0; i < BUF_SIZE; i++) {
        src[i] = i * 11 + 5 + mode * 37;
    }
    memset(dst, 0x5a, BUF_SIZE);
    /* the device must read what the CPU wrote: write it back */
    cache_maint(mode, src, BUF_SIZE);
    /* and no dirty line of the CPU may later overwrite the device's data */
    if (mode == MAINT_CLFLUSH) {
        cache_maint(mode, dst, BUF_SIZE);
    }
    status = run(bar, CMD_NOSNOOP, src_dma, dst_dma, BUF_SIZE);
    /* the CPU must not read its old copy of what the device wrote */
    cache_maint(mode, dst, BUF_SIZE);

    for (i = 0; i < lines; i++) {
        if (memcmp(src + i * LINE, dst + i * LINE, LINE)) {
            if (first < 0) {
                first = i;
            }
            stale++;
        }
    }
    snprintf(step, sizeof(step), "maint-%s", name);
    pr_info("ioasid-kdrv: step=%s status=0x%x ok=%d nosnoop_bytes=%llu "
            "devctl_nosnoop=%d lines=%d stale_lines=%d first_stale=%d\n",
            step, status, !stale && status == STATUS_DONE,
            (unsigned long long)lo_hi_readq(bar + REG_NOSNOOP_BYTES),
            !!(devctl & PCI_EXP_DEVCTL_NOSNOOP_EN), lines, stale, first);
    if (stale) {
        pr_info("ioasid-kdrv: nosnoop maint=%s: STALE data at line %d "
                "(driver %s), %d of %d lines stale\n", name, first,
                mode == MAINT_NONE ? "skipped cache maintenance" :
                "did cache maintenance, the platform did not honour it",
                stale, lines);
    } else {
        pr_info("ioasid-kdrv: nosnoop maint=%s: data correct in all %d "
                "lines\n", name, lines);
    }
    return 0;
}

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
/* The same IOVAs in both PASIDs' domains, each mapping pages of its own */
#define PASID_IOVA_SRC      0x10000000UL
#define PASID_IOVA_DST      0x10001000UL

struct kdrv_pasid_space {
    struct iommu_domain *dom;
    ioasid_t pasid;
    bool attached;
    bool coherent;
    struct page *src, *dst;
};

struct kdrv_pasid_state {
    struct kdrv_pasid_space sp[2];
};

static void kdrv_pasid_teardown(struct pci_dev *pdev,
                                struct kdrv_pasid_state *st)
{
    int i;

    for (i = 0; i < 2; i++) {
        struct kdrv_pasid_space *sp = &st->sp[i];

        if (sp->attached) {
            iommu_detach_device_pasid(sp->dom, &pdev->dev, sp->pasid);
        }
        if (sp->pasid != IOMMU_PASID_INVALID) {
            iommu_free_global_pasid(sp->pasid);
        }
        if (sp->dom) {
            iommu_domain_free(sp->dom);
        }
        if (sp->src) {
            __free_page(sp->src);
        }
        if (sp->dst) {
            __free_page(sp->dst);
        }
    }
    kfree(st);
}

/*
 * One space: a paging domain, coherent if @coherent and the IOMMU can
 * enforce it (before anything is mapped, as VFIO and iommufd do), its
 * pages mapped at the PASID IOVAs, a PASID attached to it.
 */
static int kdrv_pasid_space(struct pci_dev *pdev, struct kdrv_pasid_space *sp,
                            bool coherent)
{
    struct device *dev = &pdev->dev;
    int ret;

    sp->pasid = IOMMU_PASID_INVALID;
    sp->dom = iommu_paging_domain_alloc(dev);
    if (IS_ERR(sp->dom)) {
        ret = PTR_ERR(sp->dom);
        sp->dom = NULL;
        return ret;
    }
    if (coherent && device_iommu_capable(dev,
                                         IOMMU_CAP_ENFORCE_CACHE_COHERENCY) &&
        sp->dom->ops->enforce_cache_coherency) {
        sp->coherent = sp->dom->ops->enforce_cache_coherency(sp->dom);
    }
    sp->src = alloc_page(GFP_KERNEL | __GFP_ZERO);
    sp->dst = alloc_page(GFP_KERNEL | __GFP_ZERO);
    if (!sp->src || !sp->dst) {
        return -ENOMEM;
    }
    ret = iommu_map(sp->dom, PASID_IOVA_SRC, page_to_phys(sp->src), PAGE_SIZE,
                    IOMMU_READ | IOMMU_WRITE, GFP_KERNEL);
    if (ret) {
        return ret;
    }
    ret = iommu_map(sp->dom, PASID_IOVA_DST, page_to_phys(sp->dst), PAGE_SIZE,
                    IOMMU_READ | IOMMU_WRITE, GFP_KERNEL);
    if (ret) {
        return ret;
    }
    sp->pasid = iommu_alloc_global_pasid(dev);
    if (sp->pasid == IOMMU_PASID_INVALID) {
        return -ENOSPC;
    }
    ret = iommu_attach_device_pasid(sp->dom, dev, sp->pasid, NULL);
    if (ret) {
        return ret;
    }
    sp->attached = true;
    return 0;
}

/* One no-snoop copy in @sp's address space, checked */
static void kdrv_pasid_copy(__iomem void *bar, struct kdrv_pasid_space *sp,
                            const char *step, u8 seed)
{
    u8 *src = page_address(sp->src), *dst = page_address(sp->dst);
    u64 before = lo_hi_readq(bar + REG_NOSNOOP_BYTES);
    u32 status;
    int i;

    for (i = 0; i < PAGE_SIZE; i++) {
        src[i] = i * 13 + seed;
    }
    memset(dst, 0, PAGE_SIZE);
    clflush_cache_range(src, PAGE_SIZE);
    clflush_cache_range(dst, PAGE_SIZE);
    writel(PASID_VALID | sp->pasid, bar + REG_PASID);
    status = run(bar, CMD_NOSNOOP, PASID_IOVA_SRC, PASID_IOVA_DST, PAGE_SIZE);
    writel(0, bar + REG_PASID);
    clflush_cache_range(dst, PAGE_SIZE);
    pr_info("ioasid-kdrv: step=%s pasid=%u coherent=%d status=0x%x ok=%d "
            "nosnoop_bytes=%llu\n", step, sp->pasid, sp->coherent, status,
            status == STATUS_DONE && !memcmp(src, dst, PAGE_SIZE),
            (unsigned long long)(lo_hi_readq(bar + REG_NOSNOOP_BYTES) -
                                 before));
}

static int kdrv_pasid(struct pci_dev *pdev, __iomem void *bar)
{
    struct kdrv_pasid_state *st = kzalloc(sizeof(*st), GFP_KERNEL);
    int ret = 0, i;

    if (!st) {
        return -ENOMEM;
    }
    for (i = 0; i < 2; i++) {
        st->sp[i].pasid = IOMMU_PASID_INVALID;
    }
    /* the IOMMU driver enables PASID at probe where it can */
    if (!pdev->pasid_enabled) {
        ret = pci_enable_pasid(pdev, 0);
    }
    if (!ret) {
        ret = kdrv_pasid_space(pdev, &st->sp[0], true);
    }
    if (!ret) {
        ret = kdrv_pasid_space(pdev, &st->sp[1], false);
    }
    pr_info("ioasid-kdrv: pasid-setup pasid_a=%u pasid_b=%u coherent_a=%d "
            "pasid_enabled=%d ret=%d ok=%d\n", st->sp[0].pasid,
            st->sp[1].pasid, st->sp[0].coherent, pdev->pasid_enabled, ret,
            !ret);
    if (ret) {
        kdrv_pasid_teardown(pdev, st);
        return 0;
    }
    pcie_capability_set_word(pdev, PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_NOSNOOP_EN);
    kdrv_pasid_copy(bar, &st->sp[0], "pasid-a", 0xa5);
    kdrv_pasid_copy(bar, &st->sp[1], "pasid-b", 0x5b);
    pci_set_drvdata(pdev, st);
    return 0;
}

static void kdrv_remove(struct pci_dev *pdev)
{
    struct kdrv_pasid_state *st = pci_get_drvdata(pdev);

    if (st) {
        kdrv_pasid_teardown(pdev, st);
        pr_info("ioasid-kdrv: pasid-removed ok=1\n");
    }
}
#else
static int kdrv_pasid(struct pci_dev *pdev, __iomem void *bar)
{
    pr_info("ioasid-kdrv: pasid unsupported (Linux before 6.11: no "
            "iommu_paging_domain_alloc)\n");
    return 0;
}

static void kdrv_remove(struct pci_dev *pdev)
{
}
#endif

static int kdrv_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
    dma_addr_t src_dma, dst_dma;
    __iomem void *bar;
    u8 *src, *dst;
    u32 status;
    int i, ret;

    ret = pcim_enable_device(pdev);
    if (ret) {
        return ret;
    }
    pci_set_master(pdev);
    ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
    if (ret) {
        return ret;
    }
    bar = pcim_iomap(pdev, 0, 0);
    if (!bar) {
        return -ENOMEM;
    }
    pr_info("ioasid-kdrv: probe id=0x%x\n", readl(bar + REG_ID));
    if (bench) {
        return kdrv_bench(pdev);
    }
    if (pasid) {
        return kdrv_pasid(pdev, bar);
    }
    if (maint) {
        for (i = 0; i < ARRAY_SIZE(maint_names); i++) {
            if (sysfs_streq(maint, maint_names[i])) {
                return kdrv_maint(pdev, bar, i);
            }
        }
        pr_info("ioasid-kdrv: error=unknown-maint-mode maint=%s\n", maint);
        return -EINVAL;
    }

    src = dmam_alloc_coherent(&pdev->dev, BUF_SIZE, &src_dma, GFP_KERNEL);
    dst = dmam_alloc_coherent(&pdev->dev, BUF_SIZE, &dst_dma, GFP_KERNEL);
    if (!src || !dst) {
        return -ENOMEM;
    }
    for (i = 0; i < BUF_SIZE; i++) {
        src[i] = i * 7 + 3;
    }

    /* Enable No Snoop (it resets to 1; a driver that wants it says so) */
    pcie_capability_set_word(pdev, PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_NOSNOOP_EN);

    memset(dst, 0, BUF_SIZE);
    status = run(bar, 0, src_dma, dst_dma, BUF_SIZE);
    report(bar, "copy", status, !memcmp(src, dst, BUF_SIZE));

    /* no-snoop DMA: write back what the CPU wrote, drop what it holds */
    memset(dst, 0, BUF_SIZE);
    clflush_cache_range(src, BUF_SIZE);
    clflush_cache_range(dst, BUF_SIZE);
    status = run(bar, CMD_NOSNOOP, src_dma, dst_dma, BUF_SIZE);
    clflush_cache_range(dst, BUF_SIZE);
    report(bar, "copy-nosnoop", status, !memcmp(src, dst, BUF_SIZE));

    writel(0xdeadbeef, bar + REG_PATTERN);
    status = run(bar, CMD_OP_FILL | CMD_NOSNOOP, 0, dst_dma, BUF_SIZE);
    clflush_cache_range(dst, BUF_SIZE);
    report(bar, "fill-nosnoop", status,
           dst[0] == 0xef && dst[1] == 0xbe && dst[BUF_SIZE - 1] == 0xde);
    return 0;
}

static const struct pci_device_id kdrv_ids[] = {
    { PCI_DEVICE(0x1234, 0x10a5) },
    { }
};
MODULE_DEVICE_TABLE(pci, kdrv_ids);

static struct pci_driver kdrv_driver = {
    .name = "ioasid_vfio_kdrv",
    .id_table = kdrv_ids,
    .probe = kdrv_probe,
    .remove = kdrv_remove,
};
module_pci_driver(kdrv_driver);

MODULE_DESCRIPTION("ioasid-vfio DMA engine, DMA-API test driver");
MODULE_LICENSE("GPL");
