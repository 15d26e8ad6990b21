#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build, once per machine, a guest kernel with iommufd: Debian's Linux 6.12
# source (linux-source-6.12; no Debian kernel enables CONFIG_IOMMUFD) with
# a small configuration, and put it at OUT_DIR/vmlinuz.
#   scripts/guest/iommufd-kernel.sh OUT_DIR
#
# The configuration: tinyconfig, then, built in (the guest has no modules
# for this kernel), what the nested image needs and nothing else (listed
# below in groups): a 64-bit SMP PC with ACPI, PCI Express and a serial
# console; the IOMMU, VFIO and iommufd (INTEL_IOMMU, IRQ_REMAP, PCI_PASID,
# IOMMUFD, VFIO_DEVICE_CDEV, VFIO_PCI, and VFIO_CONTAINER with type1); an
# initramfs with a script as /init; the system calls glibc and QEMU use.
# About 6 minutes cold on two cores (x86_64_defconfig with the big
# subsystems off took 19).
#
# The kernel is cached in ~/.cache/qemu-ioasid/kernel/ under a key of the
# source package's version and this script, so a second checkout or CI
# run on the same machine copies it; the build tree stays there too, and
# gcc goes through ccache.  Times on two cores: docs/devel/ioasid-nested.rst.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(realpath -m "${1:?usage: iommufd-kernel.sh OUT_DIR}")
TARBALL=/usr/src/linux-source-6.12.tar.xz
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/qemu-ioasid/kernel

[ -f "$TARBALL" ] || {
    echo "iommufd-kernel: $TARBALL is missing: run" \
         "scripts/setup-host.sh --kernel (linux-source-6.12)" >&2
    exit 1
}
version=$(dpkg-query -W -f '${Version}' linux-source-6.12)
key=$(cat "$0" | sha256sum | cut -c1-12)
dir=$CACHE/6.12-$version-$key
mkdir -p "$OUT"

if [ -f "$dir/bzImage" ]; then
    cp "$dir/bzImage" "$OUT/vmlinuz"
    echo "iommufd-kernel: cached $dir/bzImage (linux-source-6.12 $version)"
    exit 0
fi

start=$(date +%s)
tree=$CACHE/linux-source-6.12-$version
if [ ! -f "$tree/Makefile" ]; then
    echo "iommufd-kernel: extracting $TARBALL"
    rm -rf "$tree" "$tree.tmp"
    mkdir -p "$tree.tmp"
    tar -C "$tree.tmp" -xf "$TARBALL" --strip-components=1
    mv "$tree.tmp" "$tree"
fi

cd "$tree"
# tinyconfig, then what the nested image needs, all built in
make -s tinyconfig
cfg=scripts/config
opts=(
    # a 64-bit SMP PC with ACPI (the DMAR table), PCI Express and its
    # extended configuration space (MMCONFIG), MSI, and a serial console
    64BIT SMP X86_LOCAL_APIC X86_IO_APIC X86_X2APIC MTRR X86_PAT X86_TSC
    HIGH_RES_TIMERS HPET_TIMER ACPI PCI PCI_MMCONFIG PCIEPORTBUS PCI_MSI
    TTY SERIAL_8250 SERIAL_8250_CONSOLE PRINTK EARLY_PRINTK BUG
    # the IOMMU, VFIO and iommufd
    IOMMU_SUPPORT INTEL_IOMMU INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON
    IRQ_REMAP PCI_PASID PCI_ATS PCI_PRI IOMMUFD VFIO VFIO_GROUP
    VFIO_CONTAINER VFIO_IOMMU_TYPE1 VFIO_DEVICE_CDEV VFIO_PCI_CORE VFIO_PCI
    VFIO_PCI_MMAP VFIO_PCI_INTX
    # an initramfs with busybox's shell as /init, devtmpfs, proc, sysfs
    BLK_DEV_INITRD RD_GZIP BINFMT_ELF BINFMT_SCRIPT DEVTMPFS DEVTMPFS_MOUNT
    PROC_FS PROC_SYSCTL SYSFS SHMEM TMPFS
    # what glibc and QEMU use: threads, event and signal fds, timers,
    # memfd, AF_UNIX for QMP
    MULTIUSER FUTEX EPOLL EVENTFD SIGNALFD TIMERFD POSIX_TIMERS AIO
    ADVISE_SYSCALLS MEMBARRIER RSEQ FILE_LOCKING INOTIFY_USER MEMFD_CREATE
    NET UNIX
)
for o in "${opts[@]}"; do
    $cfg --enable "$o"
done
$cfg --disable DEBUG_INFO --enable DEBUG_INFO_NONE \
     --set-str LOCALVERSION "-qemu-ioasid-iommufd" --disable LOCALVERSION_AUTO
make -s olddefconfig
for opt in "${opts[@]}"; do
    grep -q "^CONFIG_$opt=y" .config || {
        echo "iommufd-kernel: CONFIG_$opt did not stay =y" >&2
        exit 1
    }
done
echo "iommufd-kernel: building bzImage ($(nproc) jobs, ccache)"
make -s -j"$(nproc)" CC="ccache gcc" KBUILD_BUILD_TIMESTAMP=@0 \
    KBUILD_BUILD_USER=qemu-ioasid KBUILD_BUILD_HOST=qemu-ioasid bzImage
mkdir -p "$dir"
cp .config "$dir/config"
cp arch/x86/boot/bzImage "$dir/bzImage.tmp"
mv "$dir/bzImage.tmp" "$dir/bzImage"
cp "$dir/bzImage" "$OUT/vmlinuz"
echo "iommufd-kernel: built $dir/bzImage in $(( $(date +%s) - start ))s"
