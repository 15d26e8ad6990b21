# SPDX-License-Identifier: GPL-2.0-or-later
"""A minimal QMP client for qemu-ioasid's scripts (demo, guest runner)."""

import json
import os
import socket
import time


class QMP:
    """Connects to a QMP unix socket QEMU listens on; events are skipped."""

    def __init__(self, path, timeout=10.0):
        deadline = time.time() + timeout
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.05)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.file = self.sock.makefile('rw')
        json.loads(self.file.readline())        # greeting
        self.cmd('qmp_capabilities')

    def cmd(self, name, **args):
        self.file.write(json.dumps({'execute': name, 'arguments': args}))
        self.file.flush()
        while True:
            resp = json.loads(self.file.readline())
            if 'event' not in resp:
                break
        if 'error' in resp:
            raise RuntimeError('%s: %s' % (name, resp['error']['desc']))
        return resp['return']
