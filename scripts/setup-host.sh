#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Install what building and testing qemu-ioasid needs on a fresh Debian 12
# (bookworm) or Debian 13 (trixie) machine.  Idempotent; run as root.
#   scripts/setup-host.sh [--fuzz] [--kernel]
#
# - deb-src for trixie, so that `apt-get source qemu` fetches QEMU 10.0.x;
# - on bookworm, bookworm-backports for meson >= 1.5 and python3-pycotap;
# - compilers, ninja, glib, pixman, libfdt, ccache;
# - SeaBIOS and the x86 option ROMs (QEMU's orig tarball ships no blobs);
# - with --fuzz, also clang and its runtime with libFuzzer (`make fuzz`):
#   Debian's default clang (14 on bookworm), the same on 12 and 13;
# - with --kernel, Debian's Linux 6.12 source and what building it needs
#   (`make iommufd-kernel`: a guest kernel with iommufd).
set -euo pipefail

fuzz=no
kernel=no
for arg in "$@"; do
    case "$arg" in
    --fuzz) fuzz=yes ;;
    --kernel) kernel=yes ;;
    *) echo "usage: setup-host.sh [--fuzz] [--kernel]" >&2; exit 1 ;;
    esac
done

if [ "$(id -u)" != 0 ]; then
    echo "setup-host.sh: run as root (it installs packages)" >&2
    exit 1
fi

. /etc/os-release
list=/etc/apt/sources.list.d/qemu-ioasid.sources
want="Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"
if [ "${VERSION_CODENAME:-}" = bookworm ]; then
    want="$want
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"
fi
if [ ! -f "$list" ] || [ "$(cat "$list")" != "$(printf '%s' "$want")" ]; then
    printf '%s' "$want" > "$list"
    rm -f /var/lib/apt/lists/.qemu-ioasid-updated
fi
# apt-get update once per change of sources (and at least once a day)
stamp=/var/lib/apt/lists/.qemu-ioasid-updated
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440)" ]; then
    apt-get update -q
    touch "$stamp"
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for another apt-get (e.g. a second checkout's set-up) to finish
apt_install="apt-get install -y -q -o DPkg::Lock::Timeout=600"
pkgs="build-essential gcc-multilib ccache ninja-build pkg-config dpkg-dev
      libglib2.0-dev libpixman-1-dev libfdt-dev zlib1g-dev
      python3 python3-venv bzip2 xz-utils flex bison rsync patch
      seabios ipxe-qemu kmod xz-utils gzip"
if [ "${VERSION_CODENAME:-}" = bookworm ]; then
    $apt_install $pkgs
    $apt_install -t bookworm-backports meson python3-pycotap
else
    $apt_install $pkgs meson python3-pycotap
fi
if [ "$fuzz" = yes ]; then
    $apt_install clang libclang-rt-dev
fi
if [ "$kernel" = yes ]; then
    $apt_install linux-source-6.12 bc bison flex libelf-dev libssl-dev cpio
fi
echo "setup-host: done ($PRETTY_NAME)"
