/*
 * qemu-ioasid nested VFIO driver: runs inside a Linux guest whose
 * ioasid-vfio device is bound to vfio-pci, starts our own QEMU there on
 * that device (-device vfio-pci, under qtest), and drives it as a guest
 * kernel would: PCI config, the inner intel-iommu's tables and
 * invalidations, the ioasid-vfio DMA engine through BAR0.  It checks the
 * data in the inner guest's RAM, that DMA to an unmapped IOVA faults, the
 * inner QEMU's exit status and stderr, and prints the inner QMP replies
 * (query-ioasid, query-noncoherent-dma) for the host side
 * (scripts/guest/nested.py), which checks them and the outer QEMU.
 *
 *   inner-driver QEMU FIRMWARE_DIR CASE...
 *
 * CASE: none, platform-nosnoop-off, legacy-sc-off, legacy-sc-on,
 * scalable-sc-off, scalable-sc-on, hotplug-legacy-sc-on (the inner QEMU
 * starts without the device, behind a root port, and QMP device_add brings
 * it), and iommufd-X for X none, the legacy, scalable and first-stage
 * ones and hotplug-legacy-sc-on: the same with -object iommufd and
 * vfio-pci,iommufd= (the device's cdev, /dev/vfio/devices/vfioN, on
 * /dev/iommu; a guest kernel with CONFIG_IOMMUFD and
 * CONFIG_VFIO_DEVICE_CDEV).  In the none case the
 * driver also clears and sets Enable No Snoop and steps the inner virtual
 * clock through the noncoherent hold-off.
 * platform-nosnoop-off is none with -object ioasid,id=ioasid-default,
 * platform-nosnoop=off (the platform ignores no-snoop) and one fill only.
 * Every output line for the host starts with "NESTED".  At each checkpoint
 * the driver waits for a line on stdin (the console): meanwhile the host
 * reads the outer QEMU's state.
 *
 * VT-d layouts: Intel VT-d specification 3.x, chapters 9 (translation
 * structures), 6.5 (invalidation) and 10.4 (registers); the sequence is
 * that of tests/qtest/libqos/vtd.c.  Registers of the device:
 * docs/specs/ioasid-vfio.rst.
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* the contracts shared with QEMU's side (-I include -I tests/qtest/libqos) */
#include "hw/vfio/ioasid-vfio-regs.h"
#include "vtd-regs.h"

#define HOST_BDF        "0000:00:04.0"
#define QMP_PATH        "/tmp/inner.sock"
#define IO_TIMEOUT_MS   60000

/* The device's ops and its no-mapping status (docs/specs/ioasid-vfio.rst) */
#define CMD_OP_COPY     (IOASID_VFIO_OP_COPY << IOASID_VFIO_CMD_OP_SHIFT)
#define CMD_OP_FILL     (IOASID_VFIO_OP_FILL << IOASID_VFIO_CMD_OP_SHIFT)
#define STATUS_NO_MAP   (IOASID_VFIO_STATUS_ERROR | \
                         (IOASID_VFIO_ERR_NO_MAPPING << \
                          IOASID_VFIO_STATUS_CODE_SHIFT))

/* The inner machine's layout */
#define BAR0_ADDR       UINT64_C(0xe0000000)
#define TABLE_MEM       UINT64_C(0x01000000)   /* VT-d tables, 1 MiB */
#define TABLE_SIZE      UINT64_C(0x00100000)
#define BUF_GPA         UINT64_C(0x03000000)   /* DMA buffers */
#define RAM_END         UINT64_C(0x08000000)   /* -m 128M */
#define IOVA_BASE       UINT64_C(0x00100000)   /* what the inner vIOMMU maps */
#define IOVA_UNMAPPED   UINT64_C(0x00200000)   /* never mapped */
#define NPAGES          8
#define PG              ((uint64_t)4096)
#define DID             1
#define HOTPLUG_BUS     1               /* behind the inner root port */
#define RP_SLOT         4               /* the root port's slot, bus 0 */

/* PCI configuration space */
#define PCI_STATUS_CAPS     (1u << 4)
#define PCI_CAP_PTR         0x34
#define PCI_CAP_ID_EXP      0x10
#define PCI_EXP_DEVCTL      8
#define DEVCTL_NOSNOOP_EN   (1u << 11)
#define HOLDOFF_MS          1000    /* IOASID_NONCOHERENT_DEFAULT_HOLDOFF_MS */

typedef struct Case {
    const char *name;
    bool viommu;
    bool scalable;
    bool sc;
    bool hotplug;
    bool platform_off;          /* ioasid-default, platform-nosnoop=off */
    bool fs;                    /* x-flts=on: first-stage tables */
    bool iommufd;               /* -object iommufd, vfio-pci,iommufd= */
} Case;

static const Case cases[] = {
    { "none", false, false, false, false, false, false },
    { "platform-nosnoop-off", false, false, false, false, true, false },
    { "legacy-sc-off", true, false, false, false, false, false },
    { "legacy-sc-on", true, false, true, false, false, false },
    { "scalable-sc-off", true, true, false, false, false, false },
    { "scalable-sc-on", true, true, true, false, false, false },
    { "first-stage-sc-off", true, true, false, false, false, true },
    { "first-stage-sc-on", true, true, true, false, false, true },
    { "hotplug-legacy-sc-on", true, false, true, true, false, false },
    { "iommufd-none", false, false, false, false, false, false, true },
    { "iommufd-legacy-sc-off", true, false, false, false, false, false, true },
    { "iommufd-legacy-sc-on", true, false, true, false, false, false, true },
    { "iommufd-scalable-sc-off", true, true, false, false, false, false,
      true },
    { "iommufd-scalable-sc-on", true, true, true, false, false, false, true },
    { "iommufd-first-stage-sc-off", true, true, false, false, false, true,
      true },
    { "iommufd-first-stage-sc-on", true, true, true, false, false, true,
      true },
    { "iommufd-hotplug-legacy-sc-on", true, false, true, true, false, false,
      true },
};

typedef struct Inner {
    const Case *c;
    pid_t pid;
    int to, from;               /* qtest pipes */
    int qmp;
    char rbuf[1 << 18];          /* qtest input not yet consumed */
    size_t rlen;
    /* the inner guest */
    unsigned bus, devfn;
    /* VT-d */
    uint64_t next_page, root, top, pe, iq, wait_status;
    uint32_t iq_tail, wait_seq;
    bool qi;
    bool snp[NPAGES];           /* PTE SNP of each page */
    bool mapped[NPAGES];
    bool pgsnp;
    int checks, failed;
} Inner;

static const char *qemu_bin;
static const char *fw_dir;
static bool outer_sc;
static jmp_buf case_abort;
static char errpath[64];

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check(Inner *in, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void check(Inner *in, bool ok, const char *fmt, ...)
{
    va_list ap;

    in->checks++;
    in->failed += !ok;
    printf("NESTED check case=%s ok=%d what=", in->c->name, ok);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* A protocol failure: the case cannot go on */
static void fail(Inner *in, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

static void fail(Inner *in, const char *fmt, ...)
{
    va_list ap;

    in->checks++;
    in->failed++;
    printf("NESTED check case=%s ok=0 what=", in->c->name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    longjmp(case_abort, 1);
}

/* ---- line I/O with a time-out ---- */

/* Read one line from @fd into @line (without the newline); false at EOF */
static bool read_line(int fd, char *buf, size_t *len, size_t cap,
                      char *line, size_t max)
{
    for (;;) {
        char *nl = memchr(buf, '\n', *len);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;

        if (nl) {
            size_t l = nl - buf;

            if (l >= max) {
                l = max - 1;
            }
            memcpy(line, buf, l);
            line[l] = 0;
            if (l && line[l - 1] == '\r') {
                line[l - 1] = 0;
            }
            *len -= nl + 1 - buf;
            memmove(buf, nl + 1, *len);
            return true;
        }
        if (*len == cap) {
            return false;
        }
        if (poll(&p, 1, IO_TIMEOUT_MS) <= 0) {
            return false;
        }
        n = read(fd, buf + *len, cap - *len);
        if (n <= 0) {
            return false;
        }
        *len += n;
    }
}

static void write_all(Inner *in, int fd, const char *s, size_t len)
{
    while (len) {
        ssize_t n = write(fd, s, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fail(in, "write to the inner QEMU: %s", strerror(errno));
        }
        s += n;
        len -= n;
    }
}

/* ---- qtest ---- */

static char qt_reply[1 << 17];

/* Send one qtest command; returns the text after "OK" */
static const char *qt(Inner *in, const char *fmt, ...)
{
    static char cmd[1 << 17];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap);
    va_end(ap);
    cmd[n++] = '\n';
    write_all(in, in->to, cmd, n);
    for (;;) {
        if (!read_line(in->from, in->rbuf, &in->rlen, sizeof(in->rbuf),
                       qt_reply, sizeof(qt_reply))) {
            fail(in, "qtest: no answer to '%.*s' (the inner QEMU exited "
                 "or hung)", n - 1, cmd);
        }
        if (!strncmp(qt_reply, "IRQ", 3)) {
            continue;
        }
        if (strncmp(qt_reply, "OK", 2)) {
            fail(in, "qtest: '%.*s' -> '%s'", n - 1, cmd, qt_reply);
        }
        return qt_reply + 2;
    }
}

static uint64_t qt_num(Inner *in, const char *fmt, ...)
{
    static char cmd[256];
    uint64_t v;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    if (sscanf(qt(in, "%s", cmd), " %" SCNx64, &v) != 1) {
        fail(in, "qtest: '%s' -> no number", cmd);
    }
    return v;
}

static uint32_t readl(Inner *in, uint64_t a)
{
    return qt_num(in, "readl 0x%" PRIx64, a);
}

static uint64_t readq(Inner *in, uint64_t a)
{
    return qt_num(in, "readq 0x%" PRIx64, a);
}

static void writel(Inner *in, uint64_t a, uint32_t v)
{
    qt(in, "writel 0x%" PRIx64 " 0x%x", a, v);
}

static void writeq(Inner *in, uint64_t a, uint64_t v)
{
    qt(in, "writeq 0x%" PRIx64 " 0x%" PRIx64, a, v);
}

static void memset_guest(Inner *in, uint64_t a, uint8_t v, size_t len)
{
    qt(in, "memset 0x%" PRIx64 " 0x%zx 0x%02x", a, len, v);
}

static void memwrite(Inner *in, uint64_t a, const uint8_t *data, size_t len)
{
    static char hex[2 * 65536 + 1];
    size_t i;

    for (i = 0; i < len; i++) {
        sprintf(hex + 2 * i, "%02x", data[i]);
    }
    qt(in, "write 0x%" PRIx64 " 0x%zx 0x%s", a, len, hex);
}

static void memread(Inner *in, uint64_t a, uint8_t *data, size_t len)
{
    const char *r = qt(in, "read 0x%" PRIx64 " 0x%zx", a, len);
    size_t i;

    while (*r == ' ') {
        r++;
    }
    if (strncmp(r, "0x", 2) || strlen(r + 2) < 2 * len) {
        fail(in, "qtest: short read of 0x%zx bytes", len);
    }
    r += 2;
    for (i = 0; i < len; i++) {
        unsigned b;

        sscanf(r + 2 * i, "%2x", &b);
        data[i] = b;
    }
}

/* PCI configuration through 0xcf8/0xcfc; @bdf is bus << 8 | devfn */
static uint32_t cfg_readl(Inner *in, unsigned bdf, unsigned off)
{
    qt(in, "outl 0xcf8 0x%x", 0x80000000u | bdf << 8 | off);
    return qt_num(in, "inl 0xcfc");
}

static void cfg_writel(Inner *in, unsigned bdf, unsigned off, uint32_t v)
{
    qt(in, "outl 0xcf8 0x%x", 0x80000000u | bdf << 8 | off);
    qt(in, "outl 0xcfc 0x%x", v);
}

static uint16_t cfg_readw(Inner *in, unsigned bdf, unsigned off)
{
    qt(in, "outl 0xcf8 0x%x", 0x80000000u | bdf << 8 | (off & ~3u));
    return qt_num(in, "inw 0x%x", 0xcfc + (off & 2));
}

static void cfg_writew(Inner *in, unsigned bdf, unsigned off, uint16_t v)
{
    qt(in, "outl 0xcf8 0x%x", 0x80000000u | bdf << 8 | (off & ~3u));
    qt(in, "outw 0x%x 0x%x", 0xcfc + (off & 2), v);
}

/* The offset of capability @id in the list, or 0 */
static unsigned find_cap(Inner *in, unsigned bdf, unsigned id)
{
    unsigned pos, n;

    if (!(cfg_readw(in, bdf, 0x06) & PCI_STATUS_CAPS)) {
        return 0;
    }
    pos = cfg_readl(in, bdf, PCI_CAP_PTR) & 0xfc;
    for (n = 0; pos && n < 48; n++) {
        uint32_t hdr = cfg_readl(in, bdf, pos);

        if ((hdr & 0xff) == id) {
            return pos;
        }
        pos = (hdr >> 8) & 0xfc;
    }
    return 0;
}

static unsigned bdf(Inner *in)
{
    return in->bus << 8 | in->devfn;
}

/* ---- QMP ---- */

static char qmp_buf[1 << 20];
static size_t qmp_len;
static char qmp_line[1 << 20];

/* Send one QMP request (a JSON object and a newline); returns the reply */
static const char *qmp_req(Inner *in, const char *req)
{
    write_all(in, in->qmp, req, strlen(req));
    for (;;) {
        if (!read_line(in->qmp, qmp_buf, &qmp_len, sizeof(qmp_buf),
                       qmp_line, sizeof(qmp_line))) {
            fail(in, "qmp: no answer to %s", req);
        }
        if (!strstr(qmp_line, "\"event\"")) {
            return qmp_line;
        }
    }
}

static const char *qmp_cmd(Inner *in, const char *cmd)
{
    char req[256];

    snprintf(req, sizeof(req), "{\"execute\": \"%s\"}\n", cmd);
    return qmp_req(in, req);
}

static void qmp_connect(Inner *in)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int i;

    strcpy(sa.sun_path, QMP_PATH);
    for (i = 0; i < 200; i++) {
        in->qmp = socket(AF_UNIX, SOCK_STREAM, 0);
        if (!connect(in->qmp, (struct sockaddr *)&sa, sizeof(sa))) {
            break;
        }
        close(in->qmp);
        in->qmp = -1;
        usleep(50000);
    }
    if (in->qmp < 0) {
        fail(in, "qmp: cannot connect to %s", QMP_PATH);
    }
    qmp_len = 0;
    if (!read_line(in->qmp, qmp_buf, &qmp_len, sizeof(qmp_buf), qmp_line,
                   sizeof(qmp_line)) || !strstr(qmp_line, "\"QMP\"")) {
        fail(in, "qmp: no greeting");
    }
    if (!strstr(qmp_cmd(in, "qmp_capabilities"), "\"return\"")) {
        fail(in, "qmp: qmp_capabilities refused");
    }
}

/* Print the inner QEMU's view, for the host to check */
static void show_json(Inner *in, const char *stage, const char *cmd)
{
    printf("NESTED-JSON case=%s stage=%s cmd=%s %s\n", in->c->name, stage,
           cmd, qmp_cmd(in, cmd));
}

static void show_inner(Inner *in, const char *stage)
{
    static const char *const cmds[] = {
        "query-ioasid", "query-noncoherent-dma"
    };
    unsigned i;

    for (i = 0; i < 2; i++) {
        printf("NESTED-JSON case=%s stage=%s cmd=%s %s\n", in->c->name,
               stage, cmds[i], qmp_cmd(in, cmds[i]));
    }
}

/* The host looks at the outer QEMU; wait for its line on the console */
static void checkpoint(Inner *in, const char *stage)
{
    char line[256];
    int i;

    if (in->c->viommu && strcmp(stage, "exited")) {
        for (i = 0; i < NPAGES; i++) {
            if (in->mapped[i]) {
                printf("NESTED expect case=%s stage=%s iova=0x%" PRIx64
                       " size=0x%" PRIx64 " requested=%d\n", in->c->name,
                       stage,
                       IOVA_BASE + i * PG, PG,
                       in->c->scalable ? in->pgsnp : in->snp[i]);
            }
        }
    }
    printf("NESTED checkpoint case=%s stage=%s\n", in->c->name, stage);
    fflush(stdout);
    if (!fgets(line, sizeof(line), stdin)) {
        printf("NESTED note no answer from the host on the console\n");
    }
}

/* ---- the inner QEMU ---- */

static void start_inner(Inner *in)
{
    const Case *c = in->c;
    char viommu[128];
    const char *argv[32];
    int n = 0, to[2], from[2], err;

    snprintf(viommu, sizeof(viommu),
             "intel-iommu,caching-mode=on,snoop-control=%s%s%s",
             c->sc ? "on" : "off", c->scalable ? ",x-scalable-mode=on" : "",
             c->fs ? ",x-flts=on" : "");
    argv[n++] = qemu_bin;
    argv[n++] = "-L";
    argv[n++] = fw_dir;
    argv[n++] = "-M";
    argv[n++] = "q35";
    argv[n++] = "-m";
    argv[n++] = "128M";
    argv[n++] = "-nodefaults";
    argv[n++] = "-display";
    argv[n++] = "none";
    argv[n++] = "-accel";
    argv[n++] = "qtest";
    argv[n++] = "-qtest";
    argv[n++] = "stdio";
    argv[n++] = "-qtest-log";
    argv[n++] = "none";
    if (c->viommu) {
        argv[n++] = "-device";
        argv[n++] = viommu;
    }
    if (c->iommufd) {
        argv[n++] = "-object";
        argv[n++] = "iommufd,id=iommufd0";
    }
    if (c->platform_off) {
        /* condition (c) of vfio-pci comes from this context */
        argv[n++] = "-object";
        argv[n++] = "ioasid,id=ioasid-default,platform-nosnoop=off";
    }
    argv[n++] = "-device";
    if (c->hotplug) {
        /* the device comes later, through device_add */
        argv[n++] = "pcie-root-port,id=rp0,chassis=1,addr=04.0";
    } else if (c->iommufd) {
        argv[n++] = "vfio-pci,host=" HOST_BDF ",id=hostdev0,iommufd=iommufd0";
    } else {
        argv[n++] = "vfio-pci,host=" HOST_BDF ",id=hostdev0";
    }
    argv[n++] = "-qmp";
    argv[n++] = "unix:" QMP_PATH ",server=on,wait=off";
    argv[n] = NULL;

    snprintf(errpath, sizeof(errpath), "/tmp/inner-%s.err", c->name);
    unlink(QMP_PATH);
    if (pipe(to) || pipe(from)) {
        fail(in, "pipe: %s", strerror(errno));
    }
    err = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    in->pid = fork();
    if (in->pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        dup2(err, 2);
        close(to[0]);
        close(to[1]);
        close(from[0]);
        close(from[1]);
        close(err);
        execv(qemu_bin, (char **)argv);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    close(err);
    in->to = to[1];
    in->from = from[0];
    in->rlen = 0;
}

/* Print where each thread of the inner QEMU is, in the guest kernel */
static void show_threads(Inner *in)
{
    char path[64], buf[4096], *line, *save;
    struct dirent *e;
    DIR *d;
    int fd;
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%d/task", (int)in->pid);
    d = opendir(path);
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%d/task/%.16s/stat",
                 (int)in->pid, e->d_name);
        fd = open(path, O_RDONLY);
        n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = 0;
        if (fd >= 0) {
            close(fd);
        }
        line = strrchr(buf, ')');
        printf("NESTED note case=%s thread %s state %.1s\n", in->c->name,
               e->d_name, line && line[1] ? line + 2 : "?");
        snprintf(path, sizeof(path), "/proc/%d/task/%.16s/stack",
                 (int)in->pid, e->d_name);
        fd = open(path, O_RDONLY);
        n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = 0;
        if (fd >= 0) {
            close(fd);
        }
        for (line = strtok_r(buf, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            printf("NESTED note case=%s   %s\n", in->c->name, line);
        }
    }
    if (d) {
        closedir(d);
    }
}

/*
 * Wait for the inner QEMU to exit (@grace seconds, then SIGKILL, then 10 s
 * more); returns its wait status, or -1 if it could not be reaped (stuck
 * in the guest kernel: its threads' states and stacks are printed)
 */
static int reap(Inner *in, double grace)
{
    double end = now() + grace;
    bool killed = false;
    int status = 0;

    while (waitpid(in->pid, &status, WNOHANG) == 0) {
        if (now() > end && killed) {
            printf("NESTED note case=%s the inner QEMU (pid %d) is not "
                   "gone 10 s after SIGKILL\n", in->c->name, (int)in->pid);
            show_threads(in);
            in->pid = 0;
            return -1;
        }
        if (now() > end) {
            printf("NESTED note case=%s the inner QEMU did not exit within "
                   "%.0f s: killed\n", in->c->name, grace);
            show_threads(in);
            kill(in->pid, SIGKILL);
            killed = true;
            end = now() + 10;
        }
        usleep(20000);
    }
    in->pid = 0;
    return status;
}

static char *slurp(const char *path)
{
    static char buf[65536];
    FILE *f = fopen(path, "r");
    size_t n = 0;

    if (f) {
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
    }
    buf[n] = 0;
    return buf;
}

/* On a copy: slurp()'s buffer is what the checks read */
static void show_stderr(Inner *in)
{
    char *s = strdup(slurp(errpath)), *line, *save = NULL;

    for (line = strtok_r(s, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        printf("NESTED stderr case=%s %s\n", in->c->name, line);
    }
    free(s);
}

/* ---- VT-d ---- */

static uint64_t alloc_page(Inner *in)
{
    uint64_t p = in->next_page;

    if (p + PG > TABLE_MEM + TABLE_SIZE) {
        fail(in, "out of table memory");
    }
    in->next_page += PG;
    memset_guest(in, p, 0, PG);
    return p;
}

static void gcmd(Inner *in, uint32_t set, uint32_t clear, uint32_t mask,
                 uint32_t want)
{
    uint32_t gsts = readl(in, QVTD_BASE + QVTD_REG_GSTS);
    uint32_t cmd = (gsts & QVTD_GSTS_KEEP & ~clear) | set;
    int i;

    writel(in, QVTD_BASE + QVTD_REG_GCMD, cmd);
    for (i = 0; i < 100; i++) {
        if ((readl(in, QVTD_BASE + QVTD_REG_GSTS) & mask) == want) {
            return;
        }
    }
    fail(in, "GSTS 0x%x: GCMD 0x%x not done",
         readl(in, QVTD_BASE + QVTD_REG_GSTS), cmd);
}

static void qi_put(Inner *in, uint64_t lo, uint64_t hi)
{
    unsigned dsz = in->c->scalable ? 32 : 16;
    uint64_t slot = in->iq + in->iq_tail * dsz;

    writeq(in, slot, lo);
    writeq(in, slot + 8, hi);
    if (dsz == 32) {
        writeq(in, slot + 16, 0);
        writeq(in, slot + 24, 0);
    }
    in->iq_tail = (in->iq_tail + 1) % (PG / dsz);
}

/* Submit a descriptor and a wait descriptor; check both completed */
static void qi_run(Inner *in, uint64_t lo, uint64_t hi)
{
    uint32_t seq = ++in->wait_seq;
    uint32_t dsz = in->c->scalable ? 32 : 16;

    qi_put(in, lo, hi);
    qi_put(in, QVTD_DESC_WAIT | QVTD_DESC_WAIT_SW | ((uint64_t)seq << 32),
           in->wait_status);
    writeq(in, QVTD_BASE + QVTD_REG_IQT, (uint64_t)in->iq_tail * dsz);
    if (readl(in, QVTD_BASE + QVTD_REG_FSTS) & QVTD_FSTS_IQE) {
        fail(in, "invalidation queue error (FSTS.IQE) on 0x%" PRIx64, lo);
    }
    if (readl(in, in->wait_status) != seq) {
        fail(in, "wait descriptor %u not completed", seq);
    }
}

static void reg_command(Inner *in, uint32_t reg, uint64_t busy, uint64_t v)
{
    int i;

    writeq(in, QVTD_BASE + reg, busy | v);
    for (i = 0; i < 100; i++) {
        if (!(readq(in, QVTD_BASE + reg) & busy)) {
            return;
        }
    }
    fail(in, "invalidation register 0x%x stays busy", reg);
}

static void inv_context_global(Inner *in)
{
    if (in->qi) {
        qi_run(in, QVTD_DESC_CC | (1ULL << 4), 0);
    } else {
        reg_command(in, QVTD_REG_CCMD, QVTD_CCMD_ICC, 1ULL << 61);
    }
}

static void inv_iotlb_global(Inner *in)
{
    if (in->qi) {
        qi_run(in, QVTD_DESC_IOTLB | (1ULL << 4) | QVTD_DESC_IOTLB_DR |
               QVTD_DESC_IOTLB_DW, 0);
    } else {
        reg_command(in, QVTD_REG_IOTLB, QVTD_IOTLB_IVT, 1ULL << 60);
    }
}

/* The invalidation a guest kernel issues after changing one 4 KiB page */
static void inv_page(Inner *in, uint64_t iova)
{
    if (in->c->scalable) {
        /* PASID-based IOTLB, page-selective, PASID 0 (RID_PASID) */
        qi_run(in, QVTD_DESC_PIOTLB | (3ULL << 4) | ((uint64_t)DID << 16),
               iova);
    } else {
        writeq(in, QVTD_BASE + QVTD_REG_IVA, iova);
        reg_command(in, QVTD_REG_IOTLB, QVTD_IOTLB_IVT,
                    (3ULL << 60) | ((uint64_t)DID << 32));
    }
}

/* The leaf entry for @iova (4 levels: second-level or first-stage) */
static uint64_t pte_addr(Inner *in, uint64_t iova)
{
    uint64_t table = in->top;
    bool fs = in->c->fs;
    int level;

    for (level = 4; level > 1; level--) {
        uint64_t slot = table + 8 * ((iova >> (12 + 9 * (level - 1))) & 0x1ff);
        uint64_t e = readq(in, slot);

        if (!(e & (fs ? QVTD_FS_P : QVTD_SL_RW))) {
            e = alloc_page(in) | (fs ? QVTD_FS_DIR : QVTD_SL_RW);
            writeq(in, slot, e);
        }
        table = e & QVTD_PTE_ADDR_MASK;
    }
    return table + 8 * ((iova >> 12) & 0x1ff);
}

/* The leaf that maps page @i of the buffer, in the case's format */
static uint64_t leaf(Inner *in, int i)
{
    if (in->c->fs) {
        /* what Linux writes: P, R/W, U/S, accessed and dirty preset */
        return (BUF_GPA + i * PG) | QVTD_FS_RW_LEAF;
    }
    return (BUF_GPA + i * PG) | QVTD_SL_RW | (in->snp[i] ? QVTD_SL_SNP : 0);
}

/*
 * The inner vIOMMU translates IOVA_BASE + i pages to BUF_GPA + i pages.
 * Legacy mode with snoop control: SNP on the first half of the pages.
 * Scalable mode, second-level or first-stage tables: the PASID entry's
 * PGSNP decides (no SNP in the PTEs), set when the vIOMMU has snoop
 * control.
 */
static void viommu_setup(Inner *in)
{
    const Case *c = in->c;
    uint64_t ctx, ce;
    int i;

    in->next_page = TABLE_MEM;
    in->root = alloc_page(in);
    in->top = alloc_page(in);
    for (i = 0; i < NPAGES; i++) {
        in->snp[i] = c->sc && !c->scalable && i < NPAGES / 2;
        in->mapped[i] = true;
        writeq(in, pte_addr(in, IOVA_BASE + i * PG), leaf(in, i));
    }
    ctx = alloc_page(in);
    writeq(in, in->root + 16 * in->bus, ctx | 1);
    if (!c->scalable) {
        ce = ctx + 16 * in->devfn;
        /* hi: AW=2 (48-bit, 4-level), DID; lo: SLPTPTR, TT=0, P */
        writeq(in, ce + 8, 2 | ((uint64_t)DID << 8));
        writeq(in, ce, in->top | 1);
    } else {
        uint64_t dir = alloc_page(in), table = alloc_page(in);

        in->pgsnp = c->sc;
        in->pe = table;             /* PASID 0 = RID_PASID */
        ce = ctx + 32 * (in->devfn & 0x7f);
        /*
         * PASID entry: SLPTPTR, PGTT=2 (second level), AW=2, P; or PGTT=1
         * (first stage) with FLPTPTR in quadword 2; DID, PGSNP
         */
        writeq(in, in->pe + 8, DID | (in->pgsnp ? QVTD_PE_PGSNP : 0));
        if (c->fs) {
            writeq(in, in->pe + 16, in->top);
            writeq(in, in->pe, QVTD_PE_PGTT_FS | QVTD_PE_AW48 | QVTD_PE_P);
        } else {
            writeq(in, in->pe, in->top | QVTD_PE_PGTT_SS | QVTD_PE_AW48 |
                   QVTD_PE_P);
        }
        writeq(in, dir, table | 1);
        writeq(in, ce + 8, 0);
        writeq(in, ce, dir | 1);
    }
    writeq(in, QVTD_BASE + QVTD_REG_RTADDR,
           in->root | (c->scalable ? QVTD_RTADDR_SMT : 0));
    gcmd(in, QVTD_GCMD_SRTP, 0, QVTD_GSTS_RTPS, QVTD_GSTS_RTPS);
    if (c->scalable) {
        /* Linux uses queued invalidation in scalable mode */
        in->iq = alloc_page(in);
        in->wait_status = alloc_page(in);
        in->iq_tail = 0;
        writeq(in, QVTD_BASE + QVTD_REG_IQA, in->iq | QVTD_IQA_DW_256);
        writeq(in, QVTD_BASE + QVTD_REG_IQT, 0);
        gcmd(in, QVTD_GCMD_QIE, 0, QVTD_GCMD_QIE, QVTD_GCMD_QIE);
        in->qi = true;
    }
    inv_context_global(in);
    if (c->scalable) {
        /* PASID cache, global */
        qi_run(in, QVTD_DESC_PC | (3ULL << 4), 0);
    }
    inv_iotlb_global(in);
    /* Translation on: vfio-pci's notifier registers and replays the tables */
    gcmd(in, QVTD_GCMD_TE, 0, QVTD_GCMD_TE, QVTD_GCMD_TE);
}

/* Scalable mode: flip PGSNP, then invalidate as Linux does */
static void set_pgsnp(Inner *in, bool on)
{
    uint64_t hi = readq(in, in->pe + 8);

    in->pgsnp = on;
    writeq(in, in->pe + 8, on ? hi | QVTD_PE_PGSNP : hi & ~QVTD_PE_PGSNP);
    /* domain-selective */
    qi_run(in, QVTD_DESC_PC | ((uint64_t)DID << 16), 0);
    qi_run(in, QVTD_DESC_PIOTLB | (2ULL << 4) | ((uint64_t)DID << 16), 0);
}

static void unmap_page(Inner *in, int i)
{
    uint64_t a = pte_addr(in, IOVA_BASE + i * PG);

    writeq(in, a, 0);
    in->mapped[i] = false;
    inv_page(in, IOVA_BASE + i * PG);
}

/* ---- the device ---- */

static uint64_t bar_readq(Inner *in, unsigned reg)
{
    return readl(in, BAR0_ADDR + reg) |
           (uint64_t)readl(in, BAR0_ADDR + reg + 4) << 32;
}

static void bar_writeq(Inner *in, unsigned reg, uint64_t v)
{
    writel(in, BAR0_ADDR + reg, v);
    writel(in, BAR0_ADDR + reg + 4, v >> 32);
}

static uint32_t dma(Inner *in, uint32_t op, uint64_t src, uint64_t dst,
                    uint32_t len, uint32_t pattern, bool nosnoop)
{
    uint32_t st;

    writel(in, BAR0_ADDR + IOASID_VFIO_REG_STATUS,
           IOASID_VFIO_STATUS_DONE | IOASID_VFIO_STATUS_ERROR);
    bar_writeq(in, IOASID_VFIO_REG_SRC, src);
    bar_writeq(in, IOASID_VFIO_REG_DST, dst);
    writel(in, BAR0_ADDR + IOASID_VFIO_REG_LEN, len);
    writel(in, BAR0_ADDR + IOASID_VFIO_REG_PATTERN, pattern);
    writel(in, BAR0_ADDR + IOASID_VFIO_REG_CMD,
           IOASID_VFIO_CMD_START | op |
           (nosnoop ? IOASID_VFIO_CMD_NOSNOOP : 0));
    st = readl(in, BAR0_ADDR + IOASID_VFIO_REG_STATUS);
    return st & 0xffff;
}

/*
 * The hot-plug case's root port (bus 0, slot RP_SLOT): secondary bus
 * HOTPLUG_BUS, a memory window of 1 MiB at BAR0_ADDR, no I/O and no
 * prefetchable window, memory space and bus master on
 */
static void root_port_setup(Inner *in)
{
    unsigned rp = RP_SLOT << 3;

    cfg_writel(in, rp, 0x18, HOTPLUG_BUS << 16 | HOTPLUG_BUS << 8);
    cfg_writew(in, rp, 0x1c, 0x00f0);
    cfg_writel(in, rp, 0x20, (BAR0_ADDR >> 16) << 16 | BAR0_ADDR >> 16);
    cfg_writel(in, rp, 0x24, 0x0000fff0);
    cfg_writew(in, rp, 0x04, 0x6);
}

static bool pci_setup(Inner *in)
{
    unsigned slot;
    uint32_t bar;

    if (in->c->hotplug) {
        root_port_setup(in);
        in->bus = HOTPLUG_BUS;
    }
    for (slot = 0; slot < 32; slot++) {
        if (cfg_readl(in, in->bus << 8 | slot << 3, 0) ==
            (IOASID_VFIO_DEVICE_ID << 16 | IOASID_VFIO_VENDOR_ID)) {
            break;
        }
    }
    check(in, slot < 32, "the inner guest sees the device (vendor 0x%x "
          "device 0x%x) on bus %u", IOASID_VFIO_VENDOR_ID,
          IOASID_VFIO_DEVICE_ID, in->bus);
    if (slot == 32) {
        return false;
    }
    in->devfn = slot << 3;
    cfg_writel(in, bdf(in), 0x10, BAR0_ADDR);
    bar = cfg_readl(in, bdf(in), 0x10);
    if ((bar & 6) == 4) {       /* 64-bit BAR */
        cfg_writel(in, bdf(in), 0x14, 0);
    }
    /* Command: memory space and bus master */
    cfg_writel(in, bdf(in), 0x04,
               (cfg_readl(in, bdf(in), 0x04) & ~0xffffu) | 0x6);
    printf("NESTED note case=%s device at %02x:%02x.0, BAR0 0x%x\n",
           in->c->name, in->bus, slot, cfg_readl(in, bdf(in), 0x10));
    return true;
}

/* A no-snoop fill over every page; check the inner guest's RAM */
static void fill_check(Inner *in, uint64_t base, uint64_t gpa,
                       const char *stage, uint32_t salt)
{
    static uint8_t buf[NPAGES * PG], want[NPAGES * PG];
    uint32_t len = NPAGES * PG, pattern = 0x5a000000 | salt, st;
    size_t i;

    memset_guest(in, gpa, 0, len);
    st = dma(in, CMD_OP_FILL, 0, base, len, pattern, true);
    memread(in, gpa, buf, len);
    for (i = 0; i < len; i++) {
        want[i] = pattern >> (8 * (i % 4));
    }
    check(in, st == IOASID_VFIO_STATUS_DONE && !memcmp(buf, want, len),
          "%s: no-snoop fill of %u bytes at IOVA 0x%" PRIx64 ": STATUS "
          "0x%x, data %s", stage, len, base, st,
          memcmp(buf, want, len) ? "wrong" : "correct");
}

/* Fill and copy through the device; check the inner guest's RAM */
static void dma_checks(Inner *in, uint64_t base, uint64_t gpa,
                       const char *stage, uint32_t salt)
{
    static uint8_t buf[2 * PG], want[2 * PG];
    uint32_t st;
    size_t i;

    fill_check(in, base, gpa, stage, salt);

    /* a copy across the SNP boundary: pages 1-2 to pages 4-5 */
    for (i = 0; i < 2 * PG; i++) {
        want[i] = (i * 7 + salt) ^ (i >> 8);
    }
    memwrite(in, gpa + PG, want, 2 * PG);
    st = dma(in, CMD_OP_COPY, base + PG, base + 4 * PG, 2 * PG, 0, false);
    memread(in, gpa + 4 * PG, buf, 2 * PG);
    check(in, st == IOASID_VFIO_STATUS_DONE && !memcmp(buf, want, 2 * PG),
          "%s: copy of 8 KiB IOVA 0x%" PRIx64 " -> 0x%" PRIx64 ": STATUS "
          "0x%x, data %s", stage, base + PG, base + 4 * PG, st,
          memcmp(buf, want, 2 * PG) ? "wrong" : "correct");
}

/* DMA to @iova must fault at the host, leaving the inner RAM alone */
static void fault_check(Inner *in, uint64_t iova, const char *why)
{
    uint32_t st = dma(in, CMD_OP_FILL, 0, iova, PG, 0xdeadbeef, false);
    uint64_t fa = bar_readq(in, IOASID_VFIO_REG_FAULT_ADDR);

    check(in, st == STATUS_NO_MAP && fa == iova,
          "DMA to %s IOVA 0x%" PRIx64 " faults: STATUS 0x%x (want 0x%x), "
          "FAULT_ADDR 0x%" PRIx64, why, iova, st, STATUS_NO_MAP, fa);
}

/*
 * Condition (a) and the hold-off: the guest clears Enable No Snoop in the
 * device's Device Control, found through the capability list.  The device
 * stays noncoherent for the hold-off of virtual time (which stands still
 * under qtest until clock_step), then turns coherent and its KVM-VFIO file
 * is dropped; setting the bit again makes it noncoherent at once.  The host
 * checks the inner replies and, at the checkpoints, the outer device's
 * Enable No Snoop; the driver checks that the device obeys the bit.
 */
static void nosnoop_holdoff(Inner *in)
{
    unsigned exp = find_cap(in, bdf(in), PCI_CAP_ID_EXP);
    uint32_t len = NPAGES * PG;
    uint64_t nsb;
    uint16_t devctl;

    check(in, exp, "the PCI Express capability is in the capability list "
          "(at 0x%x)", exp);
    if (!exp) {
        return;
    }
    devctl = cfg_readw(in, bdf(in), exp + PCI_EXP_DEVCTL);
    check(in, devctl & DEVCTL_NOSNOOP_EN, "Device Control 0x%04x has Enable "
          "No Snoop", devctl);
    cfg_writew(in, bdf(in), exp + PCI_EXP_DEVCTL, devctl & ~DEVCTL_NOSNOOP_EN);
    check(in, !(cfg_readw(in, bdf(in), exp + PCI_EXP_DEVCTL) &
                DEVCTL_NOSNOOP_EN),
          "Enable No Snoop reads 0 once the guest cleared it");
    show_inner(in, "nosnoop-cleared");
    checkpoint(in, "nosnoop-cleared");
    nsb = bar_readq(in, IOASID_VFIO_REG_NOSNOOP_BYTES);
    dma_checks(in, BUF_GPA, BUF_GPA, "Enable No Snoop 0", 4);
    nsb = bar_readq(in, IOASID_VFIO_REG_NOSNOOP_BYTES) - nsb;
    check(in, nsb == 0, "Enable No Snoop 0: the no-snoop fill adds %" PRIu64
          " to NOSNOOP_BYTES (want 0: the device saw the bit clear)", nsb);
    qt(in, "clock_step %" PRIu64, (uint64_t)(HOLDOFF_MS - 1) * 1000000);
    show_json(in, "holdoff-999ms", "query-noncoherent-dma");
    qt(in, "clock_step %" PRIu64, (uint64_t)2 * 1000000);
    show_json(in, "holdoff-1001ms", "query-noncoherent-dma");
    cfg_writew(in, bdf(in), exp + PCI_EXP_DEVCTL, devctl | DEVCTL_NOSNOOP_EN);
    show_inner(in, "nosnoop-set");
    checkpoint(in, "nosnoop-set");
    nsb = bar_readq(in, IOASID_VFIO_REG_NOSNOOP_BYTES);
    dma_checks(in, BUF_GPA, BUF_GPA, "Enable No Snoop 1", 5);
    nsb = bar_readq(in, IOASID_VFIO_REG_NOSNOOP_BYTES) - nsb;
    check(in, nsb == (outer_sc ? 0 : len), "Enable No Snoop 1: the no-snoop "
          "fill adds %" PRIu64 " to NOSNOOP_BYTES (want %u: outer "
          "snoop-control=%s)", nsb, outer_sc ? 0 : len,
          outer_sc ? "on" : "off");
}

#define HOTPLUG_REQ \
    "{\"execute\": \"device_add\", \"arguments\": {\"driver\": " \
    "\"vfio-pci\", \"host\": \"" HOST_BDF "\", \"id\": \"hostdev0\", " \
    "\"bus\": \"rp0\"}}\n"
#define HOTPLUG_REQ_IOMMUFD \
    "{\"execute\": \"device_add\", \"arguments\": {\"driver\": " \
    "\"vfio-pci\", \"host\": \"" HOST_BDF "\", \"id\": \"hostdev0\", " \
    "\"bus\": \"rp0\", \"iommufd\": \"iommufd0\"}}\n"

static bool hotplug_refused(const char *r)
{
    return strstr(r, "\"error\"") &&
           (strstr(r, HOST_BDF) || strstr(r, "group")) &&
           strstr(r, "does not enforce");
}

/*
 * Hot-plug the device into the inner root port.  With snoop control on a
 * host that does not enforce snoop it must be refused, the QEMU going on;
 * otherwise it must come.  Returns whether it came.
 */
static bool hotplug(Inner *in, bool refuse)
{
    const char *req = in->c->iommufd ? HOTPLUG_REQ_IOMMUFD : HOTPLUG_REQ;
    static char r[4096];

    snprintf(r, sizeof(r), "%s", qmp_req(in, req));
    printf("NESTED-JSON case=%s stage=hotplug cmd=device_add %s\n",
           in->c->name, r);
    if (!refuse) {
        check(in, strstr(r, "\"return\": {}"), "QMP device_add vfio-pci,"
              "host=" HOST_BDF " succeeds: %.300s", r);
        show_inner(in, "hotplugged");
        return strstr(r, "\"return\": {}");
    }
    check(in, hotplug_refused(r), "QMP device_add vfio-pci,host=" HOST_BDF
          " is refused, naming the device (or its group) and \"does not "
          "enforce\": %.400s", r);
    snprintf(r, sizeof(r), "%s", qmp_req(in, req));
    check(in, hotplug_refused(r), "a second device_add is refused for the "
          "same reason (the first one let the group go): %.300s", r);
    snprintf(r, sizeof(r), "%s", qmp_cmd(in, "query-status"));
    check(in, strstr(r, "\"return\"") && strstr(r, "\"running\""),
          "the inner QEMU still answers: query-status %.200s", r);
    show_inner(in, "refused");
    return false;
}

/*
 * First stage: map page @i again without invalidating, as Linux does (VT-d
 * 3.x 6.1 does not require it).  The physical device behind vfio-pci
 * cannot have its miss walked: it faults until the guest invalidates.
 */
static void map_page_lazily(Inner *in, int i, const char *what)
{
    writeq(in, pte_addr(in, IOVA_BASE + i * PG), leaf(in, i));
    fault_check(in, IOVA_BASE + i * PG, what);
    inv_page(in, IOVA_BASE + i * PG);
    in->mapped[i] = true;
    check(in, dma(in, CMD_OP_FILL, 0, IOVA_BASE + i * PG, PG, 1, false) ==
          IOASID_VFIO_STATUS_DONE, "%s: DMA works once invalidated", what);
}

static void run_case(Inner *in)
{
    const Case *c = in->c;
    bool refuse = c->sc && !outer_sc;
    bool refuse_start = refuse && !c->hotplug;
    double t0 = now();
    volatile double t1 = t0;            /* volatile: read after longjmp */
    volatile bool quit_sent = false;    /* volatile: read after longjmp */
    volatile bool started = false;      /* volatile: read after longjmp */
    uint64_t nsb;
    char *err;
    int status;

    printf("NESTED case-start case=%s\n", c->name);
    fflush(stdout);
    in->qmp = -1;
    in->pid = 0;
    if (setjmp(case_abort)) {
        goto out;
    }
    start_inner(in);
    /* the first answer comes once the machine is up, vfio-pci realized */
    write_all(in, in->to, "endianness\n", 11);
    started = read_line(in->from, in->rbuf, &in->rlen, sizeof(in->rbuf),
                        qt_reply, sizeof(qt_reply));
    t1 = now();
    printf("NESTED time case=%s what=first-answer ms=%.0f\n", c->name,
           (t1 - t0) * 1000);
    if (refuse_start) {
        /* if it does start, go on: it must not abort at translation time */
        check(in, !started, "the inner QEMU refuses to start");
    } else {
        check(in, started, c->hotplug ? "the inner QEMU starts (no device)"
              : "the inner QEMU starts (vfio-pci realizes)");
    }
    if (!started) {
        goto out;
    }
    qmp_connect(in);
    if (c->viommu) {
        uint64_t ecap = readq(in, QVTD_BASE + QVTD_REG_ECAP);

        check(in, !!(ecap & 0x80) == c->sc, "inner ECAP.SC=%d (ECAP 0x%"
              PRIx64 ")", c->sc, ecap);
    }
    if (c->hotplug && !hotplug(in, refuse)) {
        goto quit;
    }
    if (!pci_setup(in)) {
        goto quit;
    }
    check(in, readl(in, BAR0_ADDR + IOASID_VFIO_REG_ID) == IOASID_VFIO_ID_VALUE,
          "BAR0 ID reads \"IOA1\" through vfio-pci");
    /* FLR: a fresh device in every inner run */
    check(in, bar_readq(in, IOASID_VFIO_REG_NOSNOOP_BYTES) == 0 &&
          bar_readq(in, IOASID_VFIO_REG_SRC) == 0 &&
          bar_readq(in, IOASID_VFIO_REG_DST) == 0 &&
          readl(in, BAR0_ADDR + IOASID_VFIO_REG_PATTERN) == 0 &&
          readl(in, BAR0_ADDR + IOASID_VFIO_REG_LEN) == 0,
          "the device starts reset (NOSNOOP_BYTES 0x%" PRIx64 ", SRC 0x%"
          PRIx64 ", PATTERN 0x%x)",
          bar_readq(in, IOASID_VFIO_REG_NOSNOOP_BYTES),
          bar_readq(in, IOASID_VFIO_REG_SRC),
          readl(in, BAR0_ADDR + IOASID_VFIO_REG_PATTERN));

    if (c->platform_off) {
        /* the KVM-VFIO decision is what this case is about: one fill */
        fill_check(in, BUF_GPA, BUF_GPA, "identity", 6);
    } else if (!c->viommu) {
        dma_checks(in, BUF_GPA, BUF_GPA, "identity", 1);
        fault_check(in, RAM_END + 0x1000000, "beyond-RAM");
    } else {
        viommu_setup(in);
        if (c->scalable && c->sc) {
            dma_checks(in, IOVA_BASE, BUF_GPA, "pgsnp=1", 2);
            show_inner(in, "pgsnp-on");
            checkpoint(in, "pgsnp-on");
            set_pgsnp(in, false);
        }
        dma_checks(in, IOVA_BASE, BUF_GPA, "mapped", 3);
        fault_check(in, IOVA_UNMAPPED, "never-mapped");
        unmap_page(in, NPAGES - 1);
        fault_check(in, IOVA_BASE + (NPAGES - 1) * PG, "unmapped");
        check(in, dma(in, CMD_OP_FILL, 0, IOVA_BASE, PG, 1, false) ==
              IOASID_VFIO_STATUS_DONE, "DMA to a page still mapped works "
              "after the unmap");
        if (c->fs) {
            map_page_lazily(in, NPAGES - 1, "mapped-not-invalidated");
        }
    }
    nsb = bar_readq(in, IOASID_VFIO_REG_NOSNOOP_BYTES);
    printf("NESTED nosnoop-bytes case=%s bytes=%" PRIu64 "\n", c->name, nsb);
    show_inner(in, "final");
    checkpoint(in, "final");
    if (!c->viommu && !c->platform_off) {
        nosnoop_holdoff(in);
    }

quit:
    t1 = now();
    quit_sent = true;
    qmp_cmd(in, "quit");
out:
    if (in->qmp >= 0) {
        close(in->qmp);
        in->qmp = -1;
    }
    if (in->pid > 0) {
        if (!quit_sent && started) {
            /* a failed case: let QEMU go */
            kill(in->pid, SIGTERM);
        }
        status = reap(in, 20);
        close(in->to);
        close(in->from);
        if (quit_sent) {
            printf("NESTED time case=%s what=quit ms=%.0f\n", c->name,
                   (now() - t1) * 1000);
        }
        err = slurp(errpath);
        show_stderr(in);
        if (status == -1) {
            check(in, false, "the inner QEMU exits: still there 10 s after "
                  "SIGKILL (stuck in the guest kernel)");
        } else if (WIFSIGNALED(status)) {
            check(in, false, "the inner QEMU exits normally: killed by "
                  "signal %d%s", WTERMSIG(status),
                  WTERMSIG(status) == SIGABRT ? " (abort)" : "");
        } else if (refuse_start && !started) {
            check(in, WEXITSTATUS(status) == 1,
                  "the inner QEMU refuses snoop-control=on over a host "
                  "that does not enforce snoop: exit status %d (want 1)",
                  WEXITSTATUS(status));
            check(in, strstr(err, HOST_BDF) && strstr(err,
                  "snoop-control=on") && strstr(err, "does not enforce"),
                  "its error names " HOST_BDF ", snoop-control=on and "
                  "\"does not enforce\"");
        } else {
            check(in, WEXITSTATUS(status) == 0,
                  "the inner QEMU exits 0 after quit (status %d)",
                  WEXITSTATUS(status));
        }
        err = slurp(errpath);
        if (c->fs && !refuse) {
            check(in, strstr(err, "first-stage mapping once the guest "
                             "invalidates it") != NULL,
                  "vfio-pci warns that a first-stage mapping reaches the "
                  "physical device once the guest invalidates it");
        }
        check(in, !strstr(err, "no available reset mechanism"),
              "vfio-pci can reset the device (no \"no available reset "
              "mechanism\")");
        /* a sanitized build of QEMU (docs/devel/ioasid-nested.rst) */
        check(in, !strstr(err, "runtime error:") &&
              !strstr(err, "Sanitizer:"), "no sanitizer report");
    }
    printf("NESTED time case=%s what=run ms=%.0f\n", c->name,
           (now() - t0) * 1000);
    checkpoint(in, "exited");
    printf("NESTED case-end case=%s checks=%d failed=%d\n", c->name,
           in->checks, in->failed);
    fflush(stdout);
}

static bool read_outer_sc(void)
{
    FILE *f = fopen("/sys/class/iommu/dmar0/intel-iommu/ecap", "r");
    unsigned long long ecap = 0;

    if (f) {
        if (fscanf(f, "%llx", &ecap) != 1) {
            ecap = 0;
        }
        fclose(f);
    }
    printf("NESTED outer-ecap 0x%llx\n", ecap);
    return ecap & 0x80;
}

int main(int argc, char **argv)
{
    int i, total = 0;
    size_t k;

    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    if (argc < 4) {
        fprintf(stderr, "usage: inner-driver QEMU FIRMWARE_DIR CASE...\n");
        return 2;
    }
    qemu_bin = argv[1];
    fw_dir = argv[2];
    outer_sc = read_outer_sc();
    for (i = 3; i < argc; i++) {
        static Inner in;

        for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
            if (!strcmp(argv[i], cases[k].name)) {
                break;
            }
        }
        if (k == sizeof(cases) / sizeof(cases[0])) {
            printf("NESTED note unknown case %s\n", argv[i]);
            total++;
            continue;
        }
        memset(&in, 0, sizeof(in));
        in.c = &cases[k];
        run_case(&in);
        total += in.failed;
    }
    printf("NESTED done failed=%d\n", total);
    return total ? 1 : 0;
}
