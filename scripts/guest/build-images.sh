#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build the guest images of the bring-up matrix from Debian's archive:
# for each kernel series (6.1 from bookworm, 6.12 from bookworm-backports,
# resolved at build time) a kernel and a busybox-static initramfs holding
# the VFIO modules, our DMA-API driver (built against Debian's
# linux-headers for that kernel) and our VFIO userspace driver.
#   scripts/guest/build-images.sh OUT_DIR
# writes OUT_DIR/<series>/{vmlinuz,initrd.img,abi}.  Downloads are cached in
# ${XDG_CACHE_HOME:-~/.cache}/qemu-ioasid/guest, so a second run does not
# download again.  Installing linux-headers needs root.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(realpath -m "${1:?usage: build-images.sh OUT_DIR}")
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/qemu-ioasid/guest
mkdir -p "$OUT" "$CACHE"

fetch() {   # fetch PACKAGE: the .deb in the cache
    local deb
    deb=$(find "$CACHE" -maxdepth 1 -name "${1}_*.deb" | head -n1)
    if [ -z "$deb" ]; then
        (cd "$CACHE" && apt-get download -q "$1" >/dev/null 2>&1) ||
            { echo "build-images: cannot download $1" >&2; exit 1; }
        deb=$(find "$CACHE" -maxdepth 1 -name "${1}_*.deb" | head -n1)
    fi
    echo "$deb"
}

extract() {     # extract PACKAGE: its unpacked tree in the cache
    local dir=$CACHE/tree/$1
    if [ ! -d "$dir" ]; then
        rm -rf "$dir.tmp"; mkdir -p "$dir.tmp"
        dpkg-deb -x "$(fetch "$1")" "$dir.tmp" && mv "$dir.tmp" "$dir"
    fi
    echo "$dir"
}

# The userspace driver is the same for every kernel.
gcc -static -O2 -Wall -o "$OUT/ioasid_vfio_user" \
    "$SRC/guest/udrv/ioasid_vfio_user.c"
bb=$(extract busybox-static)/bin/busybox

"$SRC/scripts/guest/resolve-kernels.sh" | while read -r series abi; do
    dest=$OUT/$series
    if [ -f "$dest/abi" ] && [ "$(cat "$dest/abi")" = "$abi" ] &&
       [ -f "$dest/initrd.img" ] && [ "$dest/initrd.img" -nt "$SRC/guest/init" ] &&
       [ "$dest/initrd.img" -nt "$SRC/guest/kdrv/ioasid_vfio_kdrv.c" ] &&
       [ "$dest/initrd.img" -nt "$SRC/guest/udrv/ioasid_vfio_user.c" ]; then
        echo "build-images: $series ($abi) up to date"
        continue
    fi
    echo "build-images: $series: linux-image-$abi"
    img=$(extract "linux-image-$abi")
    mkdir -p "$dest"
    cp "$img/boot/vmlinuz-$abi" "$dest/vmlinuz"
    moddir=$(find "$img" -type d -path "*/modules/$abi" | head -n1)

    # our DMA-API driver, against Debian's headers for this kernel
    if [ ! -d "/usr/src/linux-headers-$abi" ]; then
        case "$series" in
        6.1) apt-get install -y -q "linux-headers-$abi" >/dev/null ;;
        *) apt-get install -y -q -t bookworm-backports "linux-headers-$abi" \
               >/dev/null 2>&1 ||
           apt-get install -y -q "linux-headers-$abi" >/dev/null ;;
        esac
    fi
    rm -rf "$dest/kdrv"
    cp -r "$SRC/guest/kdrv" "$dest/kdrv"
    make -s -C "/usr/src/linux-headers-$abi" M="$dest/kdrv" modules >/dev/null

    # initramfs
    root=$dest/root
    rm -rf "$root"
    mkdir -p "$root"/{bin,sbin,proc,sys,dev,lib/vfio}
    cp "$bb" "$root/bin/busybox"
    for a in $("$bb" --list); do
        [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
    done
    cp "$SRC/guest/init" "$root/init"
    chmod +x "$root/init"
    cp "$OUT/ioasid_vfio_user" "$root/bin/"
    cp "$dest/kdrv/ioasid_vfio_kdrv.ko" "$root/lib/"
    # VFIO type1 and vfio-pci, in dependency order (modinfo depends=)
    : > "$root/lib/vfio-modules"
    add_module() {
        local name=$1 f deps d
        grep -qx "$name" "$root/lib/vfio-modules" && return 0
        # files may spell the module name with '-' for '_'
        f=$(find "$moddir" \( -name "$name.ko*" -o -name "${name//_/-}.ko*" \) |
            head -n1)
        [ -n "$f" ] || return 0     # built in
        deps=$(/sbin/modinfo -F depends "$f" | tr ',' ' ')
        for d in $deps; do add_module "$d"; done
        case "$f" in
        *.xz) xz -dc "$f" > "$root/lib/vfio/$name.ko" ;;
        *.zst) zstd -qdc "$f" > "$root/lib/vfio/$name.ko" ;;
        *) cp "$f" "$root/lib/vfio/$name.ko" ;;
        esac
        echo "$name" >> "$root/lib/vfio-modules"
    }
    for m in vfio vfio_iommu_type1 vfio_pci; do add_module "$m"; done
    (cd "$root" && find . | "$bb" cpio -o -H newc 2>/dev/null | gzip -1) \
        > "$dest/initrd.img"
    echo "$abi" > "$dest/abi"
    echo "build-images: $series ($abi): $(tr '\n' ' ' < "$root/lib/vfio-modules")"
done
