#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The nested VFIO matrix's iommufd rows: the outer QEMU boots the guest
# kernel with iommufd (`make iommufd-kernel`, GUEST_DIR/iommufd/vmlinuz) and
# the image built for it (GUEST_DIR/nested-iommufd); inside, our QEMU runs
# -object iommufd -device vfio-pci,iommufd= on the device's cdev, under
# each inner vIOMMU, once per outer snoop-control.  Run by `make check`
# (through scripts/run-tests.sh) and `make nested`.
#   scripts/guest/nested-iommufd.sh BUILD_OBJ GUEST_DIR
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
obj=${1:?usage: nested-iommufd.sh BUILD_OBJ GUEST_DIR}
guest=${2:?usage: nested-iommufd.sh BUILD_OBJ GUEST_DIR}
cases=$(/usr/bin/python3 -c "import sys; sys.path.insert(0, '$SRC/scripts/guest')
import nested; print(','.join(nested.IOMMUFD_CASES))")
exec /usr/bin/python3 "$SRC/scripts/guest/nested.py" "$obj" "$guest" \
    --series iommufd --image "$guest/nested-iommufd/initrd.img" \
    --cases "$cases"
