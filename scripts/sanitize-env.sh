#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Run a command with the sanitizer options of `make check-sanitize`:
#   scripts/sanitize-env.sh COMMAND [ARG...]
#
# Every sanitizer report is fatal: UBSan halts at its first report (its
# checks are recoverable by default and would only print), and both abort,
# so that the QEMU under test dies loudly and its qtest fails.  Core dumps
# stay off (a sanitized QEMU's would be terabytes of shadow memory).
set -eu
common=abort_on_error=1:print_stacktrace=1:disable_coredump=1
export UBSAN_OPTIONS=halt_on_error=1:$common
export ASAN_OPTIONS=detect_leaks=${SAN_DETECT_LEAKS:-1}:$common
exec "$@"
