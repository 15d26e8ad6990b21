#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The nested VFIO matrix with a sanitized QEMU (ASan + UBSan) outside and
# inside: run by `make check-sanitize` (through scripts/run-tests.sh and
# scripts/sanitize-env.sh) after `make` built GUEST_DIR/nested-san from
# the sanitized build.  Any sanitizer report, from the outer QEMU or from
# the inner one, fails its case.
#   scripts/guest/nested-sanitize.sh BUILD_OBJ_SAN GUEST_DIR
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
obj=${1:?usage: nested-sanitize.sh BUILD_OBJ_SAN GUEST_DIR}
guest=${2:?usage: nested-sanitize.sh BUILD_OBJ_SAN GUEST_DIR}
exec /usr/bin/python3 "$SRC/scripts/guest/nested.py" "$obj" "$guest" \
    --image "$guest/nested-san/initrd.img"
