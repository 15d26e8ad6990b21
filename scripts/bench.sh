#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# make bench: the relay's figures, every one a ratio (or a count) measured
# in this run, never a bare time.
#   scripts/bench.sh BUILD_OBJ GUEST_DIR
# 1. tests/qtest/ioasid-bench: coalescing, the DMA path through the host
#    table, the cost per guest leaf of a vIOMMU replay and of a domain
#    invalidation as the tables grow, QEMU's memory per leaf and mapping;
#    the same for first-stage tables (x-flts=on: replay and PASID-selective
#    invalidation), with first-stage / second-level cost per leaf; a copy
#    with PASID against one without, and QEMU's memory per PASID in use;
# 2. one boot of the Linux 6.12 guest in bench mode
#    (scripts/guest/run-guest.py --bench): the DMA API's map/unmap loop on
#    ioasid-vfio relative to edu behind the same vIOMMU.
# Exits non-zero when a step fails (a qtest assertion, a guest check).
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
obj=$(realpath "${1:?usage: bench.sh BUILD_OBJ GUEST_DIR}")
guest=$(realpath "${2:?usage: bench.sh BUILD_OBJ GUEST_DIR}")
failed=

# TAP comments and results are noise here; failures go to stderr.
# The bench and its QEMU share one CPU: a DMA command's cost includes qtest
# round trips, whose wake-ups cost three times more when the scheduler puts
# the two processes on different CPUs, and it chooses per run (measured: a
# 1 MiB copy at 100 or 300 us, in the same run, on 2 cores).
(cd "$obj" && QTEST_QEMU_BINARY=./qemu-system-x86_64 \
    taskset -c 0 ./tests/qtest/ioasid-bench --tap -k) | grep -v -e '^#' -e '^1\.\.'
[ "${PIPESTATUS[0]}" = 0 ] || failed="$failed qtest"

echo
/usr/bin/python3 "$SRC/scripts/guest/run-guest.py" "$obj" "$guest/6.12" \
    --mode legacy --sc on --bench --quiet || failed="$failed guest"

if [ -n "$failed" ]; then
    echo "bench: FAILED:$failed" >&2
    exit 1
fi
echo "bench: every step worked"
