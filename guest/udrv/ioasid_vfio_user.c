// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest userspace driver for the ioasid-vfio DMA engine over VFIO type1
 *
 * Binds nothing itself: the device (argv[1], e.g. 0000:00:04.0) must be
 * bound to vfio-pci.  It opens the group and a type1 container (guest VFIO
 * asks the IOMMU for enforced coherency, so with VT-d Snoop Control its
 * mappings carry SNP), maps two buffers, runs the DMA engine with and
 * without NOSNOOP, toggles Enable No Snoop through the VFIO config region,
 * and prints lines the host-side runner parses:
 *   ioasid-udrv: <key>=<value> ...
 * Before unmapping, it prints "PHASE udrv" and waits for a line on stdin,
 * so that the host can look at its mappings.
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/vfio.h>

#define REG_SRC             0x08
#define REG_DST             0x10
#define REG_LEN             0x18
#define REG_CMD             0x1c
#define REG_STATUS          0x20
#define REG_NOSNOOP_BYTES   0x30
#define CMD_START           (1u << 0)
#define CMD_NOSNOOP         (1u << 8)
#define STATUS_DONE         (1u << 1)
#define STATUS_ERROR        (1u << 2)

#define BUF_SIZE            (64 * 1024)
#define IOVA_SRC            0x100000ULL
#define IOVA_DST            0x200000ULL

static volatile uint8_t *bar;   /* BAR0 MMIO: every access reaches the device */
static int device;
static off_t cfg_off;

static void die(const char *what)
{
    printf("ioasid-udrv: error=\"%s: %s\"\n", what, strerror(errno));
    exit(1);
}

static void w32(unsigned off, uint32_t v)
{
    *(volatile uint32_t *)(bar + off) = v;      /* one 32-bit MMIO write */
}

static uint32_t r32(unsigned off)
{
    return *(volatile uint32_t *)(bar + off);   /* one 32-bit MMIO read */
}

static uint64_t r64(unsigned off)
{
    return r32(off) | (uint64_t)r32(off + 4) << 32;
}

static void w64(unsigned off, uint64_t v)
{
    w32(off, v);
    w32(off + 4, v >> 32);
}

static uint16_t cfg_r16(unsigned off)
{
    uint16_t v = 0;

    if (pread(device, &v, 2, cfg_off + off) != 2) {
        die("config read");
    }
    return v;
}

static void cfg_w16(unsigned off, uint16_t v)
{
    if (pwrite(device, &v, 2, cfg_off + off) != 2) {
        die("config write");
    }
}

static unsigned find_exp_cap(void)
{
    unsigned ptr = cfg_r16(0x34) & 0xff;

    while (ptr) {
        uint16_t hdr = cfg_r16(ptr);

        if ((hdr & 0xff) == 0x10) {
            return ptr;
        }
        ptr = hdr >> 8;
    }
    return 0;
}

static uint32_t run(uint32_t cmd, uint64_t src, uint64_t dst, uint32_t len)
{
    uint32_t status;

    w64(REG_SRC, src);
    w64(REG_DST, dst);
    w32(REG_LEN, len);
    w32(REG_CMD, cmd | CMD_START);
    do {
        status = r32(REG_STATUS);
    } while (!(status & (STATUS_DONE | STATUS_ERROR)));
    w32(REG_STATUS, STATUS_DONE | STATUS_ERROR);
    return status;
}

static void *map_buf(int container, uint64_t iova)
{
    struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
    void *p = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        die("mmap buffer");
    }
    map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
    map.vaddr = (uintptr_t)p;
    map.iova = iova;
    map.size = BUF_SIZE;
    if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map)) {
        die("VFIO_IOMMU_MAP_DMA");
    }
    return p;
}

int main(int argc, char **argv)
{
    struct vfio_group_status gs = { .argsz = sizeof(gs) };
    struct vfio_region_info reg = { .argsz = sizeof(reg) };
    struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
    char path[256], link[256], line[16];
    int container, group, cc, i, ok;
    uint8_t *src, *dst;
    unsigned exp;
    uint32_t st;
    ssize_t n;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DDDD:BB:DD.F\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
             argv[1]);
    n = readlink(path, link, sizeof(link) - 1);
    if (n < 0) {
        die("iommu_group");
    }
    link[n] = 0;
    snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(link, '/') + 1);

    container = open("/dev/vfio/vfio", O_RDWR);
    if (container < 0) {
        die("/dev/vfio/vfio");
    }
    if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
        !ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU)) {
        die("type1v2 not supported");
    }
    group = open(path, O_RDWR);
    if (group < 0) {
        die(path);
    }
    if (ioctl(group, VFIO_GROUP_GET_STATUS, &gs) ||
        !(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
        die("group not viable");
    }
    if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) ||
        ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
        die("VFIO_SET_IOMMU");
    }
    /* 1 when the IOMMU enforces coherency: VT-d with Snoop Control */
    cc = ioctl(container, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU);
    printf("ioasid-udrv: dma_cc_iommu=%d\n", cc);

    device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[1]);
    if (device < 0) {
        die("VFIO_GROUP_GET_DEVICE_FD");
    }
    reg.index = VFIO_PCI_CONFIG_REGION_INDEX;
    if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &reg)) {
        die("config region");
    }
    cfg_off = reg.offset;
    reg.argsz = sizeof(reg);
    reg.index = VFIO_PCI_BAR0_REGION_INDEX;
    if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &reg) ||
        !(reg.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
        die("BAR0 region");
    }
    bar = mmap(NULL, reg.size, PROT_READ | PROT_WRITE, MAP_SHARED, device,
               reg.offset);
    if (bar == MAP_FAILED) {
        die("mmap BAR0");
    }
    /* memory space and bus master */
    cfg_w16(0x04, cfg_r16(0x04) | 0x6);
    exp = find_exp_cap();
    if (!exp) {
        die("no PCIe capability");
    }

    src = map_buf(container, IOVA_SRC);
    dst = map_buf(container, IOVA_DST);
    for (i = 0; i < BUF_SIZE; i++) {
        src[i] = i * 13 + 1;
    }

    cfg_w16(exp + 8, cfg_r16(exp + 8) | 0x0800);
    printf("ioasid-udrv: devctl_nosnoop=%d\n", !!(cfg_r16(exp + 8) & 0x800));
    st = run(0, IOVA_SRC, IOVA_DST, BUF_SIZE);
    ok = st == STATUS_DONE && !memcmp(src, dst, BUF_SIZE);
    printf("ioasid-udrv: step=copy status=0x%x ok=%d nosnoop_bytes=%llu\n",
           st, ok, (unsigned long long)r64(REG_NOSNOOP_BYTES));
    memset(dst, 0, BUF_SIZE);
    st = run(CMD_NOSNOOP, IOVA_SRC, IOVA_DST, BUF_SIZE);
    ok = st == STATUS_DONE && !memcmp(src, dst, BUF_SIZE);
    printf("ioasid-udrv: step=copy-nosnoop status=0x%x ok=%d "
           "nosnoop_bytes=%llu\n", st, ok,
           (unsigned long long)r64(REG_NOSNOOP_BYTES));

    /* the host looks at our mappings now */
    printf("PHASE udrv\n");
    if (!fgets(line, sizeof(line), stdin)) {
        die("waiting for the host");
    }

    /* Enable No Snoop off and on again, through the config region */
    cfg_w16(exp + 8, cfg_r16(exp + 8) & ~0x0800);
    printf("ioasid-udrv: devctl_nosnoop=%d\n", !!(cfg_r16(exp + 8) & 0x800));
    printf("PHASE udrv-nosnoop-off\n");
    if (!fgets(line, sizeof(line), stdin)) {
        die("waiting for the host");
    }
    cfg_w16(exp + 8, cfg_r16(exp + 8) | 0x0800);

    unmap.iova = IOVA_SRC;
    unmap.size = 2 * (IOVA_DST - IOVA_SRC);
    if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap)) {
        die("VFIO_IOMMU_UNMAP_DMA");
    }
    printf("ioasid-udrv: done\n");
    return 0;
}
