#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The guest bring-up matrix, as TAP: every guest kernel built by
# build-images.sh x legacy/scalable/fs (first-stage only, x-flts=on) mode x
# snoop-control on/off, each boot running both drivers
# (scripts/guest/run-guest.py checks both sides), per kernel one boot under
# the strict no-snoop cache model (legacy mode, snoop-control=on): the
# kernel driver's cache-maintenance modes, the skipped one caught from
# both sides; and one strict boot on first-stage tables (the newest
# kernel).
#   scripts/guest/matrix.sh BUILD_OBJ GUEST_DIR
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
obj=${1:?usage: matrix.sh BUILD_OBJ GUEST_DIR}
guest=${2:?usage: matrix.sh BUILD_OBJ GUEST_DIR}
# the kernel series (build-images.sh writes an abi file in each; the
# nested image's directory has none)
series=$(cd "$guest" && ls -d */abi 2>/dev/null | sed 's,/abi$,,' | sort -V)
n=0
failed=0
total=$(( $(echo $series | wc -w) * 7 + 1 ))
echo "1..$total"
boot() {    # boot SERIES MODE SC CACHE_MODEL: one TAP line
    local name=/guest/linux-$1/$2/snoop-control=$3 out rc
    [ "$4" = coherent ] || name=$name/cache-model=$4
    n=$((n + 1))
    out=$(/usr/bin/python3 "$SRC/scripts/guest/run-guest.py" "$obj" \
          "$guest/$1" --mode "$2" --sc "$3" --cache-model "$4" --quiet 2>&1)
    rc=$?
    echo "$out" | sed 's/^/# /'
    if [ $rc = 0 ]; then
        echo "ok $n $name"
    else
        echo "not ok $n $name"
        failed=$((failed + 1))
    fi
}
for s in $series; do
    for mode in legacy scalable fs; do
        for sc in on off; do
            boot "$s" "$mode" "$sc" coherent
        done
    done
    boot "$s" legacy on strict
done
boot "$(echo $series | awk '{print $NF}')" fs on strict
[ $failed = 0 ]
