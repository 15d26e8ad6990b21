#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build, once per machine, a guest kernel with iommufd: Debian's Linux 6.12
# source (linux-source-6.12; no Debian kernel enables CONFIG_IOMMUFD) with
# a small configuration, and put it at OUT_DIR/vmlinuz.
#   scripts/guest/iommufd-kernel.sh OUT_DIR
#
# The configuration: x86_64_defconfig and kvm_guest.config (a bootable PC
# guest with ACPI, which the DMAR table needs, PCI Express and a serial
# console), then what the nested matrix uses, built in (the guest has no
# modules for this kernel):
#   IOMMUFD, VFIO, VFIO_PCI, VFIO_DEVICE_CDEV (/dev/iommu and
#   /dev/vfio/devices/vfioN), VFIO_CONTAINER and VFIO_IOMMU_TYPE1 (the
#   type1 rows), INTEL_IOMMU with its scalable mode and SVM off (what
#   intel_iommu=on needs), PCI_PASID and PCI_ATS, IRQ_REMAP;
# and without what a TCG guest with a serial console never uses (DRM,
# sound, USB, wireless, netfilter, most network drivers), which is most
# of defconfig's build time.  Everything else stays defconfig's.
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
make -s x86_64_defconfig
make -s kvm_guest.config
cfg=scripts/config
$cfg --enable IOMMU_SUPPORT --enable INTEL_IOMMU \
     --enable INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON \
     --disable INTEL_IOMMU_SVM --enable IRQ_REMAP \
     --enable PCI_PASID --enable PCI_ATS --enable PCI_PRI \
     --enable IOMMUFD --enable VFIO --enable VFIO_GROUP \
     --enable VFIO_CONTAINER --enable VFIO_IOMMU_TYPE1 \
     --enable VFIO_DEVICE_CDEV --enable VFIO_PCI_CORE --enable VFIO_PCI \
     --enable VFIO_PCI_MMAP --enable VFIO_PCI_INTX \
     --enable BLK_DEV_INITRD --enable RD_GZIP \
     --enable DEVTMPFS --enable DEVTMPFS_MOUNT \
     --enable SERIAL_8250 --enable SERIAL_8250_CONSOLE \
     --enable EVENTFD --enable UNIX \
     --disable DRM --disable SOUND --disable USB_SUPPORT --disable WLAN \
     --disable WIRELESS --disable CFG80211 --disable NETFILTER \
     --disable ETHERNET --disable HAMRADIO --disable BT \
     --disable DEBUG_INFO --enable DEBUG_INFO_NONE \
     --set-str LOCALVERSION "-qemu-ioasid-iommufd" --disable LOCALVERSION_AUTO
make -s olddefconfig
for opt in IOMMUFD VFIO_DEVICE_CDEV VFIO_PCI INTEL_IOMMU VFIO_CONTAINER \
           IRQ_REMAP PCI_PASID DEVTMPFS BLK_DEV_INITRD; do
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
