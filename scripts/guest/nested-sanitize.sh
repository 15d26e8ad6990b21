#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The nested VFIO matrix, type1 and iommufd rows, with a sanitized QEMU
# (ASan + UBSan) outside and inside: run by `make check-sanitize`
# (through scripts/run-tests.sh and
# scripts/sanitize-env.sh) after `make` built GUEST_DIR/nested-san from
# the sanitized build.  Any sanitizer report, from the outer QEMU or from
# the inner one, fails its case.
#   scripts/guest/nested-sanitize.sh BUILD_OBJ_SAN GUEST_DIR
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
obj=${1:?usage: nested-sanitize.sh BUILD_OBJ_SAN GUEST_DIR}
guest=${2:?usage: nested-sanitize.sh BUILD_OBJ_SAN GUEST_DIR}
rc=0
/usr/bin/python3 "$SRC/scripts/guest/nested.py" "$obj" "$guest" \
    --image "$guest/nested-san/initrd.img" || rc=1
# the iommufd rows, on the kernel with iommufd
cases=$(/usr/bin/python3 -c "import sys; sys.path.insert(0, '$SRC/scripts/guest')
import nested; print(','.join(nested.IOMMUFD_CASES))")
/usr/bin/python3 "$SRC/scripts/guest/nested.py" "$obj" "$guest" \
    --series iommufd --image "$guest/nested-san-iommufd/initrd.img" \
    --cases "$cases" || rc=1
exit $rc
