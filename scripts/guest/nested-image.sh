#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build the nested VFIO initramfs: busybox and the VFIO modules of a guest
# image built by build-images.sh, our qemu-system-x86_64 (stripped) with
# every library ldd lists at its path, SeaBIOS's bios-256k.bin (and the
# build's kvmvapic.bin) for -L, and the static inner driver
# (guest/nested/inner-driver.c) that runs that QEMU on the assigned device.
#   scripts/guest/nested-image.sh OUT_DIR BUILD_OBJ SERIES_DIR [KERNEL]
# writes OUT_DIR/initrd.img (to boot with SERIES_DIR/vmlinuz); does nothing
# when it is newer than its inputs.  With KERNEL (a vmlinuz whose VFIO,
# vfio-pci and iommufd are built in: `make iommufd-kernel`), the image is
# for that kernel: busybox from SERIES_DIR, no modules to load.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
usage="usage: nested-image.sh OUT_DIR BUILD_OBJ SERIES_DIR [KERNEL]"
OUT=$(realpath -m "${1:?$usage}")
OBJ=$(realpath "${2:?$usage}")
SERIES=$(realpath "${3:?$usage}")
KERNEL=${4:+$(realpath "$4")}
QEMU=$OBJ/qemu-system-x86_64
BIOS=/usr/share/seabios/bios-256k.bin
img=$OUT/initrd.img
inputs=("$QEMU" "$SRC/guest/nested/inner-driver.c" "$SRC/guest/nested/init"
        "$SRC/include/hw/vfio/ioasid-vfio-regs.h"
        "$SRC/tests/qtest/libqos/vtd-regs.h"
        "$SRC/scripts/guest/nested-image.sh" "$SERIES/initrd.img"
        ${KERNEL:+"$KERNEL"})

for f in "${inputs[@]}" "$BIOS" "$SERIES/root/bin/busybox" \
         "$SERIES/root/lib/vfio-modules"; do
    [ -e "$f" ] || { echo "nested-image: $f is missing" >&2; exit 1; }
done
fresh=yes
for f in "${inputs[@]}"; do
    [ -f "$img" ] && [ "$img" -nt "$f" ] || fresh=no
done
if [ $fresh = yes ]; then
    echo "nested-image: $img up to date"
    exit 0
fi

mkdir -p "$OUT"
root=$OUT/root
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,lib,share/qemu}
cp "$SERIES/root/bin/busybox" "$root/bin/busybox"
for a in $("$root/bin/busybox" --list); do
    [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
done
if [ -n "$KERNEL" ]; then
    : > "$root/lib/vfio-modules"        # built into KERNEL
else
    cp -r "$SERIES/root/lib/vfio" "$SERIES/root/lib/vfio-modules" "$root/lib/"
fi
cp "$SRC/guest/nested/init" "$root/init"
chmod +x "$root/init"
gcc -static -O2 -Wall -I "$SRC/include" -I "$SRC/tests/qtest/libqos" \
    -o "$root/bin/inner-driver" \
    "$SRC/guest/nested/inner-driver.c"

# our QEMU and what it links, at the paths ldd gives (files, not links)
strip -o "$root/bin/qemu-system-x86_64" "$QEMU"
for lib in $(ldd "$QEMU" | grep -oE '/[^ ]+'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done
cp "$BIOS" "$root/share/qemu/"
vapic=$OBJ/pc-bios/optionrom/kvmvapic.bin
[ -f "$vapic" ] && cp "$vapic" "$root/share/qemu/"

(cd "$root" && find . | "$root/bin/busybox" cpio -o -H newc 2>/dev/null |
    gzip -1) > "$img.tmp"
mv "$img.tmp" "$img"
echo "nested-image: $img ($(du -k "$img" | cut -f1) KiB, kernel" \
    "${KERNEL:-$(cat "$SERIES/abi")})"
