#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The main job: launch qemu-system-x86_64 with -device ioasid-vfio on the
embedded default host and show what it does.

A small driver in this script plays the guest through QEMU's qtest protocol
(it programs PCI config space and BAR0 exactly as a guest driver would),
while QMP shows the host side: the IOASID mapping table and its no-snoop
flags.  Every step checks what it expects; the last line says whether all
matched.  Its last machine runs the strict no-snoop cache model: a copy
with no cache maintenance is caught (stale lines, host pending-lines), the
same copy with CLFLUSH (x-ioasid-cpu-cache-op) is correct.

  scripts/demo.py BUILD_DIR
"""

import os
import socket
import subprocess
import sys
import tempfile

from qmp_client import QMP

SLOT = 4
BAR0 = 0xE0000000
PCI_COMMAND, PCI_BAR0 = 0x04, 0x10
REG = dict(ID=0x00, SRC=0x08, DST=0x10, LEN=0x18, CMD=0x1C, STATUS=0x20,
           PATTERN=0x24, FAULT_ADDR=0x28, NOSNOOP_BYTES=0x30)
CMD_START, CMD_NOSNOOP = 1, 1 << 8
OP_COPY, OP_FILL = 0, 1
ST_DONE, ST_ERROR = 2, 4
DEVCTL_NOSNOOP_EN = 0x0800

checks = {'ok': 0, 'bad': 0}


def check(what, cond):
    checks['ok' if cond else 'bad'] += 1
    print('    %s %s' % ('[ok]  ' if cond else '[FAIL]', what))


class Machine:
    """One QEMU, driven through qtest (the guest) and QMP (the host view)."""

    def __init__(self, qemu, args, title):
        self.dir = tempfile.mkdtemp(prefix='ioasid-demo-')
        qtest_path = os.path.join(self.dir, 'qtest.sock')
        qmp_path = os.path.join(self.dir, 'qmp.sock')
        self.trace = os.path.join(self.dir, 'trace.log')
        srv = socket.socket(socket.AF_UNIX)
        srv.bind(qtest_path)
        srv.listen(1)
        self.cmdline = ['-M', 'q35', '-m', '256M', '-nodefaults'] + args
        print('\n=== %s' % title)
        print('$ qemu-system-x86_64 ' + ' '.join(self.cmdline))
        self.proc = subprocess.Popen(
            [qemu] + self.cmdline +
            ['-display', 'none', '-accel', 'qtest',
             '-qtest', 'unix:' + qtest_path, '-qtest-log', '/dev/null',
             '-qmp', 'unix:%s,server=on,wait=off' % qmp_path,
             '-trace', 'ioasid_host_*', '-trace', 'ioasid_vfio_dma',
             '-D', self.trace])
        srv.settimeout(30)
        self.qtest, _ = srv.accept()
        srv.close()
        self.qtest_buf = b''
        self.qmp = QMP(qmp_path)

    def close(self):
        self.qmp_cmd('quit')
        self.proc.wait(timeout=30)

    # --- QMP: the host side ---
    def qmp_cmd(self, cmd, **args):
        return self.qmp.cmd(cmd, **args)

    def space(self, ctx, dev_path):
        for c in self.qmp_cmd('query-ioasid'):
            if c['id'] == ctx:
                for s in c['ioasids']:
                    if dev_path in s['devices']:
                        return s
        return None

    # --- qtest: the guest side ---
    def qt(self, line):
        self.qtest.sendall((line + '\n').encode())
        while b'\n' not in self.qtest_buf:
            self.qtest_buf += self.qtest.recv(4096)
        reply, self.qtest_buf = self.qtest_buf.split(b'\n', 1)
        words = reply.decode().split()
        if words[0] != 'OK':
            raise RuntimeError('qtest: %s -> %s' % (line, reply))
        return int(words[1], 16) if len(words) > 1 else None

    def cfg_addr(self, reg):
        self.qt('outl 0xcf8 0x%x' % (0x80000000 | (SLOT << 11) | (reg & 0xfc)))
        return 0xcfc + (reg & 3)

    def cfg_read16(self, reg):
        return self.qt('inw 0x%x' % self.cfg_addr(reg))

    def cfg_write16(self, reg, val):
        self.qt('outw 0x%x 0x%x' % (self.cfg_addr(reg), val))

    def cfg_write32(self, reg, val):
        self.qt('outl 0x%x 0x%x' % (self.cfg_addr(reg), val))

    def find_exp_cap(self):
        self.qt('outl 0xcf8 0x%x' % (0x80000000 | (SLOT << 11) | 0x34))
        ptr = self.qt('inb 0xcfc')
        while ptr:
            self.qt('outl 0xcf8 0x%x' % (0x80000000 | (SLOT << 11) | ptr))
            dword = self.qt('inl 0xcfc')
            if dword & 0xff == 0x10:
                return ptr
            ptr = (dword >> 8) & 0xff
        raise RuntimeError('no PCIe capability')

    def rd32(self, reg):
        return self.qt('readl 0x%x' % (BAR0 + REG[reg]))

    def rd64(self, reg):
        return self.qt('readq 0x%x' % (BAR0 + REG[reg]))

    def wr32(self, reg, val):
        self.qt('writel 0x%x 0x%x' % (BAR0 + REG[reg], val))

    def wr64(self, reg, val):
        self.qt('writeq 0x%x 0x%x' % (BAR0 + REG[reg], val))

    def mem_write(self, addr, data):
        self.qt('write 0x%x 0x%x 0x%s' % (addr, len(data), data.hex()))

    def mem_read(self, addr, size):
        self.qtest.sendall(('read 0x%x 0x%x\n' % (addr, size)).encode())
        while b'\n' not in self.qtest_buf:
            self.qtest_buf += self.qtest.recv(65536)
        reply, self.qtest_buf = self.qtest_buf.split(b'\n', 1)
        return bytes.fromhex(reply.decode().split()[1][2:])

    # --- the guest driver ---
    def bring_up(self):
        """What a guest's PCI core and driver probe do."""
        self.cfg_write32(PCI_BAR0, BAR0)
        self.cfg_write16(PCI_COMMAND, 0x6)   # memory space + bus master
        self.exp = self.find_exp_cap()

    def set_nosnoop_enable(self, on):
        v = self.cfg_read16(self.exp + 8)
        v = v | DEVCTL_NOSNOOP_EN if on else v & ~DEVCTL_NOSNOOP_EN
        self.cfg_write16(self.exp + 8, v)

    def dma(self, op, src, dst, length, nosnoop):
        self.wr64('SRC', src)
        self.wr64('DST', dst)
        self.wr32('LEN', length)
        self.wr32('CMD', CMD_START | (op << 1) | (CMD_NOSNOOP if nosnoop else 0))
        status = self.rd32('STATUS')
        self.wr32('STATUS', ST_DONE | ST_ERROR)
        return status

    def trace_lines(self, word):
        with open(self.trace) as f:
            return [ln.rstrip() for ln in f if word in ln]


def show_space(space, limit=6):
    print('    IOASID %d (enforce-snoop=%s), devices %s, host calls: '
          '%d map, %d unmap' % (space['ioasid'],
                                'on' if space['enforce-snoop'] else 'off',
                                ', '.join(space['devices']),
                                space['map-calls'], space['unmap-calls']))
    for m in space['mappings'][:limit]:
        print('      iova 0x%09x-0x%09x -> 0x%09x  %s%s  %s' % (
            m['iova'], m['iova'] + m['size'] - 1, m['addr'],
            'r' if m['read'] else '-', 'w' if m['write'] else '-',
            'block-nosnoop' if m['block-nosnoop'] else 'no-snoop passes'))
    if len(space['mappings']) > limit:
        print('      ... %d more' % (len(space['mappings']) - limit))


def copy_demo(m, nosnoop_expected, label):
    msg = b'ioasid-vfio copied this through the host IOASID table. '
    data = (msg * 80)[:4096]
    m.mem_write(0x100000, data)
    m.mem_write(0x200000, bytes(len(data)))
    before = m.rd64('NOSNOOP_BYTES')
    status = m.dma(OP_COPY, 0x100000, 0x200000, len(data), nosnoop=True)
    got = m.mem_read(0x200000, len(data))
    unsnooped = m.rd64('NOSNOOP_BYTES') - before
    print('    copy 4 KiB 0x100000 -> 0x200000 with CMD.NOSNOOP (%s):' % label)
    print('      STATUS=0x%x, NOSNOOP_BYTES +%d' % (status, unsnooped))
    check('the copy completed (DONE) and the data arrived',
          status == ST_DONE and got == data)
    check('NOSNOOP_BYTES grew by %d' % nosnoop_expected,
          unsnooped == nosnoop_expected)


def show_cache(m):
    nc = m.qmp_cmd('query-noncoherent-dma')
    c = nc['cache']
    print('    host: cache model %s: pending-lines=%d dirty-lines=%d '
          'stale-reads=%d lost-writes=%d clflush=%d host-flushes=%d' % (
              nc['cache-model'], c['pending-lines'], c['dirty-lines'],
              c['stale-reads'], c['lost-writes'], c['clflush'],
              c['host-flushes']))
    return c


def flush_lines(m, addr, size):
    """clflush of every 64-byte line, as the CPU would execute it"""
    for a in range(addr, addr + size, 64):
        m.qmp_cmd('x-ioasid-cpu-cache-op', op='clflush', addr=a)


def strict_demo(m):
    msg = b'no-snoop DMA bypasses the CPU caches under cache-model=strict. '
    data = (msg * 80)[:4096]
    lines = len(data) // 64
    print('  The guest driver writes 4 KiB at 0x100000 and clears 0x200000,'
          ' then copies\n  with CMD.NOSNOOP and NO cache maintenance '
          '(the bug):')
    m.mem_write(0x100000, data)
    m.mem_write(0x200000, bytes(len(data)))
    m.qmp_cmd('ioasid-cache-model-reset-counters')
    status = m.dma(OP_COPY, 0x100000, 0x200000, len(data), nosnoop=True)
    got = m.mem_read(0x200000, len(data))
    stale = sum(got[i:i + 64] != data[i:i + 64]
                for i in range(0, len(data), 64))
    c = show_cache(m)
    check('the CPU reads stale data in every line (%d of %d)'
          % (stale, lines), status == ST_DONE and stale == lines)
    check('the host counters name it: pending-lines %d, stale-reads %d'
          % (c['pending-lines'], c['stale-reads']),
          c['pending-lines'] == lines and c['stale-reads'] == lines)
    print('    caught: the driver skipped cache maintenance: it read stale '
          'data in %d lines; host: pending-lines=%d' % (stale,
                                                          c['pending-lines']))
    print('  The same copy with CLFLUSH of both buffers before the DMA and '
          'of the\n  destination after it (x-ioasid-cpu-cache-op, as the '
          'CPU executes it):')
    m.mem_write(0x200000, bytes(len(data)))
    m.qmp_cmd('ioasid-cache-model-reset-counters')
    flush_lines(m, 0x100000, len(data))
    flush_lines(m, 0x200000, len(data))
    status = m.dma(OP_COPY, 0x100000, 0x200000, len(data), nosnoop=True)
    flush_lines(m, 0x200000, len(data))
    got = m.mem_read(0x200000, len(data))
    c = show_cache(m)
    if c['lost-writes']:
        print('    (lost-writes %d: the first copy\'s lines, which the CPU '
              'had dirty: its flush\n    wrote the CPU\'s copy over the '
              'device\'s data)' % c['lost-writes'])
    check('the data arrived, no pending line, no stale read',
          status == ST_DONE and got == data and not c['pending-lines'] and
          not c['stale-reads'])


def main():
    obj = sys.argv[1]
    qemu = os.path.join(obj, 'qemu-system-x86_64')

    m = Machine(qemu, ['-device', 'ioasid-vfio,id=dma0,addr=%02x.0' % SLOT],
                'ioasid-vfio on the embedded default host (no options)')
    m.bring_up()
    print('  The guest enables the device; ID register = 0x%08x' %
          m.rd32('ID'))
    check('ID reads "IOA1"', m.rd32('ID') == 0x494F4131)
    print('  Host side (query-ioasid): with no vIOMMU the relay identity-maps '
          'guest RAM')
    space = m.space('ioasid-default', '/machine/peripheral/dma0')
    show_space(space)
    check('every mapping is identity and blocks no-snoop '
          '(enforce-snoop=auto, host-snoop-control=on)',
          all(x['iova'] == x['addr'] and x['block-nosnoop']
              for x in space['mappings']))
    print('  The guest driver runs the DMA engine (Enable No Snoop is 1 '
          'after reset):')
    copy_demo(m, 0, 'the host forces snooping')
    status = m.dma(OP_FILL, 0, 0x30000000, 64, nosnoop=False)
    print('    fill 64 bytes at 0x30000000 (above the 256 MiB of RAM): '
          'STATUS=0x%x FAULT_ADDR=0x%x' % (status, m.rd64('FAULT_ADDR')))
    check('no host mapping: ERROR with code 1 at the first IOVA',
          status == (ST_ERROR | 1 << 8) and m.rd64('FAULT_ADDR') == 0x30000000)
    print('  Trace (ioasid_vfio_dma):')
    for line in m.trace_lines('ioasid_vfio_dma')[-3:]:
        print('    ' + line)
    m.close()

    m = Machine(qemu, ['-object', 'ioasid,id=lab,enforce-snoop=off',
                       '-device', 'ioasid-vfio,id=dma0,ioasid=lab,addr=%02x.0'
                       % SLOT],
                'a host context that leaves no-snoop alone (enforce-snoop=off)')
    m.bring_up()
    space = m.space('lab', '/machine/peripheral/dma0')
    show_space(space, limit=3)
    check('no mapping blocks no-snoop',
          not any(x['block-nosnoop'] for x in space['mappings']))
    copy_demo(m, 2 * 4096, 'Enable No Snoop set: read and write bypass')
    m.set_nosnoop_enable(False)
    copy_demo(m, 0, 'the guest cleared Enable No Snoop')
    m.close()

    m = Machine(qemu, ['-object', 'ioasid,id=lab,enforce-snoop=off,'
                       'cache-model=strict',
                       '-device', 'ioasid-vfio,id=dma0,ioasid=lab,addr=%02x.0'
                       % SLOT],
                'the same, under the strict no-snoop cache model '
                '(cache-model=strict)')
    m.bring_up()
    strict_demo(m)
    m.close()

    print('\ndemo: %d checks matched, %d did not -> %s' %
          (checks['ok'], checks['bad'],
           'everything matched' if not checks['bad'] else 'MISMATCH'))
    return 1 if checks['bad'] else 0


if __name__ == '__main__':
    sys.exit(main())
