#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The guest bring-up matrix, as TAP: every guest kernel built by
# build-images.sh x legacy/scalable mode x snoop-control on/off, each boot
# running both drivers (scripts/guest/run-guest.py checks both sides).
#   scripts/guest/matrix.sh BUILD_OBJ GUEST_DIR
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
obj=${1:?usage: matrix.sh BUILD_OBJ GUEST_DIR}
guest=${2:?usage: matrix.sh BUILD_OBJ GUEST_DIR}
series=$(cd "$guest" && ls -d */ 2>/dev/null | tr -d / | sort -V)
n=0
failed=0
total=$(( $(echo $series | wc -w) * 4 ))
echo "1..$total"
for s in $series; do
    for mode in legacy scalable; do
        for sc in on off; do
            n=$((n + 1))
            out=$(/usr/bin/python3 "$SRC/scripts/guest/run-guest.py" "$obj" \
                  "$guest/$s" --mode "$mode" --sc "$sc" --quiet 2>&1)
            rc=$?
            echo "$out" | sed 's/^/# /'
            if [ $rc = 0 ]; then
                echo "ok $n /guest/linux-$s/$mode/snoop-control=$sc"
            else
                echo "not ok $n /guest/linux-$s/$mode/snoop-control=$sc"
                failed=$((failed + 1))
            fi
        done
    done
done
[ $failed = 0 ]
