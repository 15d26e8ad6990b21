#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Replay the crash regression corpus against a qemu-ioasid build, as TAP.

  scripts/fuzz/replay-crashers.py BUILD_OBJ [IGNORED_DIR] [FILE.qtest...]

Each tests/fuzz/crashers/*.qtest (or each FILE given) once made QEMU crash,
abort or report a sanitizer error; the replay passes iff QEMU now runs the
whole trace and then quits cleanly within the time limit.  A file is text:
'#' comments, one header line 'args: QEMU ARGUMENTS', then qtest protocol
commands (docs/devel/testing/qtest.rst), one per line, e.g.

    args: -M q35 -nodefaults -device intel-iommu
    writeq 0xfed900a0 0x1

QEMU runs as BUILD_OBJ/qemu-system-x86_64 ARGS -display none -accel qtest
-qtest stdio, with QMP on a unix socket.  Each command waits for its reply;
at the end QMP 'quit' ends QEMU: at EOF on its qtest chardev QEMU would just
keep running.  scripts/run-tests.sh passes the guest image directory as a
second argument (as to the guest matrix); any argument that is not a .qtest
file is ignored.  The sanitizer options come from the environment
(ASAN_OPTIONS, UBSAN_OPTIONS: `make check-sanitize` sets them).
"""

import json
import os
import re
import selectors
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.realpath(__file__))))
CORPUS = os.path.join(SRC, 'tests', 'fuzz', 'crashers')
# Whole replay, QEMU start-up and quit included; sanitizer builds start slowly
TIMEOUT = float(os.environ.get('REPLAY_TIMEOUT', '60'))
# What QEMU must never print, even when it goes on running afterwards
# (e.g. UBSan without halt_on_error).
BAD_OUTPUT = re.compile(r'ERROR: (Address|Leak|Memory|Thread)Sanitizer|'
                        r'runtime error: |SUMMARY: \w+Sanitizer|'
                        r'Assertion .* failed|\*\*\s*ERROR:|'
                        r'code should not be reached')


def parse(path):
    """Return (args, commands) of a .qtest file."""
    args = None
    cmds = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            if line.startswith('args:'):
                if args is not None:
                    raise ValueError('%s:%d: a second args: line' % (path, n))
                args = shlex.split(line[len('args:'):])
            elif args is None:
                raise ValueError('%s:%d: commands before the args: line'
                                 % (path, n))
            else:
                cmds.append(line)
    if args is None:
        raise ValueError('%s: no args: line' % path)
    return args, cmds


class Replay:
    """One QEMU under qtest; collects why it failed, if it did."""

    def __init__(self, qemu, args, tmpdir):
        self.deadline = time.monotonic() + TIMEOUT
        self.qmp_path = os.path.join(tmpdir, 'qmp.sock')
        self.err = open(os.path.join(tmpdir, 'stderr'), 'w+')
        self.proc = subprocess.Popen(
            [qemu] + args + ['-display', 'none', '-accel', 'qtest',
                             '-qtest', 'stdio',
                             '-qmp', 'unix:%s,server=on,wait=off'
                             % self.qmp_path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err,
            start_new_session=True)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.buf = b''

    def left(self):
        return self.deadline - time.monotonic()

    def readline(self):
        """A line of qtest output, None at EOF; TimeoutError when out of time."""
        while b'\n' not in self.buf:
            if self.left() <= 0 or not self.sel.select(self.left()):
                raise TimeoutError()
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b'\n', 1)
        return line.decode(errors='replace')

    def command(self, cmd):
        """Send one qtest command and return its reply; None if QEMU died."""
        try:
            self.proc.stdin.write(cmd.encode() + b'\n')
            self.proc.stdin.flush()
        except BrokenPipeError:
            return None
        while True:
            line = self.readline()
            if line is None:
                return None
            # IRQ lines are asynchronous (irq_intercept_*); the reply follows
            if line.startswith('OK') or line.startswith('FAIL') or \
               line.startswith('ERR'):
                return line

    def quit(self):
        """QMP quit; QEMU must then exit by itself."""
        while not os.path.exists(self.qmp_path):
            if self.proc.poll() is not None or self.left() <= 0:
                return
            time.sleep(0.05)
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(max(self.left(), 0.1))
        try:
            sock.connect(self.qmp_path)
            f = sock.makefile('rw')
            json.loads(f.readline())            # greeting
            for cmd in ('qmp_capabilities', 'quit'):
                f.write(json.dumps({'execute': cmd}) + '\n')
                f.flush()
                while 'event' in json.loads(f.readline()):
                    pass
        except (OSError, ValueError):
            pass        # QEMU died or went away: its status says which
        finally:
            sock.close()

    def finish(self):
        """Wait for QEMU (killing it when out of time); return its stderr."""
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(max(self.left(), 0.1))
            hung = False
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            hung = True
        self.err.seek(0)
        return hung, self.err.read()


def replay(qemu, path):
    """Return None if the trace replays cleanly, else (reason, stderr)."""
    args, cmds = parse(path)
    with tempfile.TemporaryDirectory(prefix='replay-') as tmpdir:
        r = Replay(qemu, args, tmpdir)
        reason = None
        try:
            for n, cmd in enumerate(cmds, 1):
                reply = r.command(cmd)
                if reply is None:
                    reason = 'QEMU died at command %d: %s' % (n, cmd)
                    break
                if not reply.startswith('OK'):
                    # a typo in the file: it would no longer test anything
                    reason = 'command %d: %s: qtest replied %s' % (
                        n, cmd, reply)
                    r.quit()
                    break
            else:
                r.quit()
        except TimeoutError:
            reason = 'timed out (%gs) at command %d: %s' % (TIMEOUT, n, cmd)
        hung, err = r.finish()
        rc = r.proc.returncode
        if hung and reason is None:
            reason = 'QEMU did not quit within %gs' % TIMEOUT
        if reason is None and rc != 0:
            reason = 'QEMU exited with %s' % (
                'signal %d' % -rc if rc < 0 else 'status %d' % rc)
        if reason is None and BAD_OUTPUT.search(err):
            reason = 'QEMU reported an error'
        if reason is not None and rc is not None and rc != 0 and \
           'exited with' not in reason:
            reason += ' (%s)' % ('signal %d' % -rc if rc < 0
                                 else 'status %d' % rc)
        return None if reason is None else (reason, err)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__.strip())
    obj = os.path.abspath(sys.argv[1])
    qemu = os.path.join(obj, 'qemu-system-x86_64')
    files = [a for a in sys.argv[2:] if a.endswith('.qtest')]
    if not files:
        files = sorted(os.path.join(CORPUS, f) for f in os.listdir(CORPUS)
                       if f.endswith('.qtest'))
    print('1..%d' % len(files))
    failed = 0
    for n, path in enumerate(files, 1):
        name = '/fuzz/crashers/' + os.path.basename(path)[:-len('.qtest')]
        start = time.monotonic()
        try:
            result = replay(qemu, path)
        except ValueError as e:
            result = (str(e), '')
        took = time.monotonic() - start
        if result is None:
            print('ok %d %s # %.1fs' % (n, name, took))
        else:
            failed += 1
            reason, err = result
            print('not ok %d %s: %s' % (n, name, reason))
            # QEMU's report (the assertion, or the sanitizer's report with
            # its first frames), else the end of its stderr
            lines = err.rstrip('\n').split('\n')
            first = [n for n, line in enumerate(lines)
                     if BAD_OUTPUT.search(line)]
            for line in (lines[first[0]:first[0] + 25] if first
                         else lines[-20:]):
                print('# ' + line)
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
