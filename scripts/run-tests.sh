#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Run test binaries of a qemu-ioasid build (unit tests and qtests) with TAP
# output, print each result, and end with one line:
# "tests: N passed, N failed".
#   scripts/run-tests.sh BUILD_DIR TEST...   (TEST relative to BUILD_DIR)
set -u
obj=$1
shift
cd "$obj" || exit 1
# (scripts/sanitize-env.sh gives the QEMU under test options of its own)
export QTEST_QEMU_BINARY=${QTEST_QEMU_BINARY:-./qemu-system-x86_64}
export QTEST_QEMU_IMG=./qemu-img
export G_TEST_DBUS_DAEMON=$(realpath ../qemu/tests/dbus-vmstate-daemon.sh)
export PYTHON=/usr/bin/python3
# What ASan, LSan and UBSan print when they find something
SANITIZER_REPORT='ERROR: (Address|Leak)Sanitizer|SUMMARY: [A-Za-z]+Sanitizer|: runtime error: '
passed=0
failed=0
logdir=$obj/test-logs
mkdir -p "$logdir"
for t in "$@"; do
    log=$logdir/$(basename "$t").log
    start=$(date +%s)
    case "$t" in
    /*) # a script (the guest matrix): BUILD_DIR and the guest images
        timeout 1800 "$t" "$obj" "$(dirname "$obj")/guest" > "$log" 2>&1 ;;
    *)  timeout 600 "./$t" --tap -k > "$log" 2>&1 ;;
    esac
    rc=$?
    ok=$(grep -c '^ok ' "$log")
    bad=$(grep -c '^not ok ' "$log")
    # a crash or a time-out that ran no test case still counts as a failure
    if [ "$rc" != 0 ] && [ "$bad" = 0 ]; then
        bad=1
        echo "not ok $t exited with status $rc" >> "$log"
    fi
    # so does a sanitizer's report, from the test or from a QEMU it ran,
    # even if every test case passed (in a sanitized build, see
    # scripts/sanitize-env.sh)
    if [ "$bad" = 0 ] && grep -qE "$SANITIZER_REPORT" "$log"; then
        bad=1
        echo "not ok $t: a sanitizer reported an error" >> "$log"
    fi
    echo "== $t: $ok passed, $bad failed ($(( $(date +%s) - start ))s)"
    grep -E '^not ok |^# (Start|End) of|^Bail out|ERROR|assert|FAIL|^# result|runtime error|^ +#[0-4] 0x' "$log" |
        grep -v '^# \(Start\|End\) of' | head -n 20
    passed=$((passed + ok))
    failed=$((failed + bad))
done
echo "tests: $passed passed, $failed failed"
[ "$failed" = 0 ]
