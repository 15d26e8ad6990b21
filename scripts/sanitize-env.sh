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
#
# Leak detection is on for the tests and for every QEMU they start: QEMU
# with our devices exits without a leak report in all our suites and the
# upstream ones we run (what it does not free at exit stays reachable from
# globals, which LSan does not report), so a report is news: a leak in our
# code, or one of upstream's that a new path reaches.  A QEMU that leaks
# exits with LSan's status 23, which fails its qtest.  SAN_DETECT_LEAKS=0
# turns it off for one run while such a report is looked into.
set -eu
common=abort_on_error=1:print_stacktrace=1:disable_coredump=1
export UBSAN_OPTIONS=halt_on_error=1:$common
export ASAN_OPTIONS=detect_leaks=${SAN_DETECT_LEAKS:-1}:$common
exec "$@"
