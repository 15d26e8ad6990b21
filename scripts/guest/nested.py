#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The nested VFIO matrix: our QEMU's vfio-pci against real Linux VFIO.

The outer QEMU (our build) boots Linux 6.12 behind intel-iommu with
-device ioasid-vfio; the nested image (scripts/guest/nested-image.sh)
binds the device to vfio-pci and runs the same QEMU binary on it, under
qtest, once per inner case (guest/nested/inner-driver.c): no inner
vIOMMU (also with an ioasid-default context that says the platform
ignores no-snoop), legacy and scalable intel-iommu with snoop control
off and on, and the device hot-plugged behind an inner snoop-control
vIOMMU.  The
driver checks the data, the faults and the inner QEMU's exit; at each
checkpoint this script checks the inner QMP replies the driver printed
(the KVM-VFIO decision of query-noncoherent-dma, the Enable No Snoop
hold-off) and the outer QEMU's query-ioasid and query-noncoherent-dma.
One boot per outer snoop-control (on, off); every inner case is one TAP
test.

  nested.py BUILD_OBJ GUEST_DIR [--outer-sc on,off] [--cases a,b]
            [--verbose-guest]

GUEST_DIR holds 6.12/vmlinuz and nested/initrd.img.  Run by `make check`
(through scripts/run-tests.sh) and `make nested`.
"""

import argparse
import collections
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..'))
from qmp_client import QMP  # noqa: E402

DEV = '/machine/peripheral/dev0'
CASES = ['none', 'platform-nosnoop-off', 'legacy-sc-off', 'legacy-sc-on',
         'scalable-sc-off', 'scalable-sc-on', 'first-stage-sc-off',
         'first-stage-sc-on', 'hotplug-legacy-sc-on']
# The same through iommufd (-object iommufd, vfio-pci,iommufd=): a guest
# kernel with CONFIG_IOMMUFD (`make iommufd-kernel`; no Debian kernel has it)
IOMMUFD_CASES = ['iommufd-' + c for c in (
    'none', 'legacy-sc-off', 'legacy-sc-on', 'scalable-sc-off',
    'scalable-sc-on', 'first-stage-sc-off', 'first-stage-sc-on',
    'hotplug-legacy-sc-on')]
BOOT_TIMEOUT = 300
PG = 4096
# the driver's no-snoop fill: 8 pages (guest/nested/inner-driver.c)
NOSNOOP_FILL = 8 * PG
# the vfio-pci device's noncoherent hold-off, ms of virtual time
HOLDOFF_MS = 1000
# The guest kernel saying that a CPU stopped taking interrupts: seen, rarely
# and only on a loaded host, as CPU 0 idle with its timer interrupts never
# delivered (an outer TCG vCPU that stays halted).  A boot that hits it is
# cut short, its diagnostics printed, and booted again once.
GUEST_STALL = re.compile(r'rcu: INFO: rcu_\w+ detected stalls|'
                         r'watchdog: BUG: soft lockup')
# What ASan, LSan and UBSan print (a sanitized outer QEMU)
SANITIZER_REPORT = re.compile(r'ERROR: (Address|Leak)Sanitizer|'
                              r'SUMMARY: [A-Za-z]+Sanitizer|: runtime error: ')


def pages(maps):
    out = set()
    for m in maps:
        out.update(range(m['iova'], m['iova'] + m['size'], PG))
    return out


def ranges(pgs):
    """Page set as 'a-b' ranges, for messages"""
    out = []
    for p in sorted(pgs):
        if out and out[-1][1] + PG == p:
            out[-1][1] = p
        else:
            out.append([p, p])
    return ','.join('0x%x-0x%x' % (a, b + PG) for a, b in out) or 'none'


class Case:
    def __init__(self, name, outer_sc):
        self.name = name
        # the inner vfio-pci on iommufd: its host context is an IOAS
        self.iommufd = name.startswith('iommufd-')
        self.backend = 'iommufd' if self.iommufd else 'vfio-type1'
        name = name[len('iommufd-'):] if self.iommufd else name
        self.sc = name.endswith('sc-on')
        # -object ioasid,id=ioasid-default,platform-nosnoop=off, no vIOMMU
        self.platform_off = name == 'platform-nosnoop-off'
        self.viommu = name not in ('none', 'platform-nosnoop-off')
        self.hotplug = name.startswith('hotplug-')
        # scalable mode, second-level or first-stage (x-flts=on) tables:
        # the PASID entry's PGSNP asks for snooping, not SNP bits
        self.pasid_snoop = name.startswith(('scalable-', 'first-stage-'))
        # refused at start-up, or at device_add in the hot-plug case
        self.refuse = self.sc and not outer_sc
        self.driver = []            # (ok, what) from the driver
        self.host = []              # (ok, what) checked here
        self.json = {}              # (stage, cmd) -> reply
        self.expect = {}            # stage -> [(iova, size, requested)]
        self.stages = []
        self.stderr = []
        self.times = {}
        self.nosnoop_bytes = None
        self.ended = False
        self.wall = None
        self.start = None

    def check(self, what, cond):
        self.host.append((bool(cond), what))

    def ok(self):
        return (self.ended and all(o for o, _ in self.driver) and
                all(o for o, _ in self.host))


class Boot:
    def __init__(self, args, outer_sc):
        self.args = args
        self.outer_sc = outer_sc
        self.cases = {n: Case(n, outer_sc) for n in args.cases}
        self.cur = None
        self.notes = []
        self.lines = []
        self.console = collections.deque(maxlen=40)  # the other lines
        self.boot_time = None
        self.total = None
        self.ecap = None
        self.bound = None
        self.group = None
        self.done = False
        self.stall = None           # the guest's stall report, if any

    def say(self, text):
        print('# ' + text)

    def stall_diagnostics(self):
        """What the outer QEMU says of its vCPUs when the guest stalls"""
        self.say('guest CPU stall: %s' % self.stall)
        for cmd in ['info cpus', 'info lapic 0', 'info lapic 1']:
            try:
                out = self.qmp.cmd('human-monitor-command', **{
                    'command-line': cmd})
            except Exception as e:
                out = 'failed: %r' % e
            for line in out.splitlines():
                self.say('stall: %s: %s' % (cmd, line))
        for line in self.console:
            self.say('stall: console: %s' % line)

    # ---- the outer side ----
    def outer_space(self):
        for ctx in self.qmp.cmd('query-ioasid'):
            for s in ctx['ioasids']:
                if DEV in s['devices']:
                    return s
        return None

    def outer_nosnoop_enabled(self):
        for d in self.qmp.cmd('query-noncoherent-dma')['devices']:
            if d['device'] == DEV:
                return d['nosnoop-enabled']
        return None

    def checkpoint(self, case, stage):
        if stage in ('nosnoop-cleared', 'nosnoop-set'):
            want = stage == 'nosnoop-set'
            got = self.outer_nosnoop_enabled()
            case.check('%s: outer: query-noncoherent-dma dev0 nosnoop-enabled '
                       '%s (want %s: the inner config write reached the '
                       'device)' % (stage, got, want), got is want)
        space = self.outer_space()
        maps = space['mappings'] if space else []
        sc = self.outer_sc
        tag = '%s: outer' % stage
        if stage == 'exited':
            case.check('%s: no outer mapping left once the inner QEMU '
                       'exited (%d left)' % (tag, len(maps)), not maps)
            return
        case.stages.append(stage)
        case.check('%s: dev0 has mappings (%d)' % (tag, len(maps)), maps)
        case.check('%s: every mapping is block-nosnoop=%s (outer '
                   'snoop-control=%s; %d are)' % (
                       tag, sc, 'on' if sc else 'off',
                       sum(m['block-nosnoop'] for m in maps)),
                   maps and all(m['block-nosnoop'] == sc for m in maps))
        if case.viommu:
            # what reaches the outer host is the guest kernel's request:
            # its VFIO domain enforces coherency exactly when the outer
            # vIOMMU offers snoop control, whatever the inner SNP or PGSNP
            # (those stay in the inner host table, checked below)
            case.check('%s: every mapping requested-block-nosnoop=%s (the '
                       'guest kernel\'s VFIO asked; %d did)' % (
                           tag, sc, sum(m['requested-block-nosnoop']
                                        for m in maps)),
                       maps and all(m['requested-block-nosnoop'] == sc
                                    for m in maps))
        if case.viommu:
            want = pages([{'iova': i, 'size': s}
                          for i, s, _ in case.expect.get(stage, [])])
            got = pages(maps)
            case.check('%s: the mappings are exactly the inner vIOMMU\'s '
                       '(%s; want %s)' % (tag, ranges(got), ranges(want)),
                       got == want)
        self.inner_view(case, stage)

    # ---- the inner side, as the driver printed it ----
    def inner_view(self, case, stage):
        tag = '%s: inner' % stage
        nc = case.json.get((stage, 'query-noncoherent-dma'))
        ioasid = case.json.get((stage, 'query-ioasid'))
        case.check('%s: QMP replied to query-ioasid and '
                   'query-noncoherent-dma' % tag,
                   isinstance(nc, dict) and 'return' in nc and
                   isinstance(ioasid, dict) and 'return' in ioasid)
        if not isinstance(nc, dict) or not isinstance(ioasid, dict):
            return
        devs = [d for d in nc.get('return', {}).get('devices', [])
                if d.get('device', '').endswith('hostdev0')]
        case.check('%s: query-noncoherent-dma lists hostdev0 with '
                   'kvm-vfio-file %s' % (
                       tag, json.dumps(devs[0].get('kvm-vfio-file'))
                       if devs else '(no entry)'),
                   devs and isinstance(devs[0].get('kvm-vfio-file'), dict))
        if case.platform_off:
            self.platform_off_checks(case, stage)
        elif stage in ('pgsnp-on', 'final'):  # the others: holdoff_checks
            self.nc_expect(case, stage, *self.nc_steady(case))
        if not case.sc:
            return
        spaces = self.kernel_spaces(case, stage)
        if len(spaces) != 1:
            return
        maps = spaces[0].get('mappings', [])
        case.check('%s: every mapping block-nosnoop (the host applies it)'
                   % tag, maps and all(m.get('block-nosnoop') is True
                                       for m in maps))
        want = {i: r for i, _, r in case.expect.get(stage, [])}
        got = {}
        for m in maps:
            for p in range(m['iova'], m['iova'] + m['size'], PG):
                got[p] = m.get('requested-block-nosnoop')
        case.check('%s: mappings and requested-block-nosnoop follow the '
                   '%s (got %s; want %s)' % (
                       tag, 'PGSNP' if case.pasid_snoop else 'SNP',
                       self.req_str(got), self.req_str(want)),
                   got == want)

    @staticmethod
    def kernel_spaces(case, stage):
        """The IOASIDs of the kernel contexts (vfio-type1, or iommufd for
        an iommufd case) holding hostdev0 (a check)"""
        ioasid = case.json.get((stage, 'query-ioasid'))
        ret = ioasid.get('return', []) if isinstance(ioasid, dict) else []
        ctxs = [ctx for ctx in ret if ctx.get('backend') == case.backend]
        spaces = [s for ctx in ctxs for s in ctx.get('ioasids', [])
                  if any(d.endswith('hostdev0') for d in s.get('devices', []))]
        case.check('%s: inner: query-ioasid: a %s context with one '
                   'IOASID holding hostdev0 (%d: %s)' % (
                       stage, case.backend, len(spaces),
                       ', '.join('%s:%s' % (c.get('id'), c.get('backend'))
                                 for c in ret)),
                   len(spaces) == 1)
        if case.iommufd and len(spaces) == 1:
            # the IOASID is the IOAS, and names the context
            case.check('%s: inner: the iommufd context is named after its '
                       'IOAS (%s, IOASID %s)' % (
                           stage, ctxs[0].get('id'),
                           spaces[0].get('ioasid')),
                       ctxs[0].get('id') ==
                       'iommufd-ioas%s' % spaces[0].get('ioasid'))
        return spaces

    def kvm_file(self, case):
        """hostdev0's KVM-VFIO file: its group's, or its own cdev"""
        if case.iommufd:
            return 'device 0000:00:04.0'
        return 'group %s' % self.group

    def nc_steady(self, case):
        """hostdev0 as realized, Enable No Snoop set, as the three
        conditions say: no-snoop passes the guest kernel's type1 container
        exactly when the outer vIOMMU has no snoop control; the file was
        added at realize (one change) exactly then."""
        nc = not self.outer_sc
        want = {'nosnoop-enabled': True, 'nosnoop-passes': nc,
                'platform-nosnoop': True, 'nosnoop-deny': False,
                'noncoherent': nc, 'release-in-ms': None,
                'vm.registered': nc}
        fwant = {'added': nc, 'always': False, 'kvm': False,
                 'file': self.kvm_file(case)}
        want['vm.registration-changes'] = int(nc)
        fwant['changes'] = int(nc)
        return want, fwant

    def platform_off_checks(self, case, stage):
        """Condition (c) off: the ioasid-default context says the platform
        ignores no-snoop, so hostdev0 is never noncoherent, whatever the
        kernel's answer (b) is, and its file is never added to KVM"""
        passes = not self.outer_sc
        self.nc_expect(case, stage, {
            'platform-nosnoop': False, 'nosnoop-enabled': True,
            'nosnoop-passes': passes, 'nosnoop-deny': False,
            'noncoherent': False, 'release-in-ms': None,
            'vm.registered': False, 'vm.registration-changes': 0,
        }, {'added': False, 'always': False, 'kvm': False, 'changes': 0,
            'file': self.kvm_file(case)})
        tag = '%s: inner: query-ioasid' % stage
        r = case.json.get((stage, 'query-ioasid'))
        ret = r.get('return') if isinstance(r, dict) else None
        ctxs = ret if isinstance(ret, list) else []
        default = [c for c in ctxs if c.get('id') == 'ioasid-default']
        case.check('%s: the ioasid-default context, backend embedded, '
                   'platform-nosnoop false (%s)' % (
                       tag, json.dumps([{k: c.get(k) for k in (
                           'backend', 'platform-nosnoop')}
                           for c in default])),
                   len(default) == 1 and
                   default[0].get('backend') == 'embedded' and
                   default[0].get('platform-nosnoop') is False)
        backends = [c.get('backend') for c in ctxs]
        case.check('%s: no kernel context (contexts %s)' % (
            tag, ', '.join('%s:%s' % (c.get('id'), c.get('backend'))
                           for c in ctxs)),
                   ctxs and not {'vfio-type1', 'iommufd'} & set(backends))

    def nc_expect(self, case, stage, want, fwant):
        """Check hostdev0's query-noncoherent-dma entry at @stage: @want
        its fields (vm.X: the reply's X; None: absent), @fwant its
        kvm-vfio-file's"""
        tag = '%s: inner: query-noncoherent-dma' % stage
        r = case.json.get((stage, 'query-noncoherent-dma'))
        ret = r.get('return') if isinstance(r, dict) else None
        devs = [d for d in (ret or {}).get('devices', [])
                if d.get('id') == 'hostdev0']
        if len(devs) != 1:
            case.check('%s: hostdev0 listed once (%d)' % (tag, len(devs)),
                       False)
            return
        d = devs[0]
        f = d.get('kvm-vfio-file') or {}
        bad = []
        for k, v in want.items():
            got = ret.get(k[3:]) if k.startswith('vm.') else d.get(k)
            if got != v:
                bad.append('%s %s, want %s' % (k, got, v))
        for k, v in fwant.items():
            if f.get(k) != v:
                bad.append('kvm-vfio-file.%s %s, want %s' % (k, f.get(k), v))
        show = ' '.join('%s=%s' % (k, 'absent' if v is None else v)
                        for k, v in want.items())
        case.check('%s: hostdev0 %s, kvm-vfio-file %s%s' % (
            tag, show, json.dumps(fwant, sort_keys=True),
            ' -- WRONG: ' + '; '.join(bad) if bad else ''), not bad)

    def holdoff_checks(self, case):
        """The none case: Enable No Snoop cleared, the hold-off stepped
        through (999 ms, then 1001 ms of virtual time), then set again"""
        nc = not self.outer_sc
        c0 = int(nc)
        steps = [
            ('nosnoop-cleared', False, nc, HOLDOFF_MS, c0),
            ('holdoff-999ms', False, nc, 1, c0),
            ('holdoff-1001ms', False, False, None, c0 + nc),
            ('nosnoop-set', True, nc, None, c0 + 2 * nc),
        ]
        for stage, enabled, noncoh, release, changes in steps:
            want = {'nosnoop-enabled': enabled, 'nosnoop-passes': nc,
                    'platform-nosnoop': True, 'noncoherent': noncoh,
                    'release-in-ms': release if nc else None,
                    'vm.registered': noncoh,
                    'vm.registration-changes': changes}
            fwant = {'added': noncoh, 'always': False, 'kvm': False,
                     'file': self.kvm_file(case), 'changes': changes}
            self.nc_expect(case, stage, want, fwant)

    def hotplug_checks(self, case):
        r = case.json.get(('hotplug', 'device_add'))
        if not case.refuse:
            case.check('hotplug: device_add returned {} (%s)' % json.dumps(r),
                       r == {'return': {}})
            self.kernel_spaces(case, 'hotplugged')
            self.nc_expect(case, 'hotplugged', *self.nc_steady(case))
            return
        desc = (r or {}).get('error', {}).get('desc', '')
        case.check('hotplug: device_add returned an error naming %s (or '
                   'its group) and "does not enforce": %s' % (
                       '0000:00:04.0', desc),
                   ('0000:00:04.0' in desc or 'group' in desc) and
                   'does not enforce' in desc)
        nc = case.json.get(('refused', 'query-noncoherent-dma'), {})
        ioasid = case.json.get(('refused', 'query-ioasid'), {})
        left = [d.get('device') for d in
                nc.get('return', {}).get('devices', [])] + [
            d for ctx in ioasid.get('return', [])
            for s in ctx.get('ioasids', []) for d in s.get('devices', [])
            if d.endswith('hostdev0')]
        case.check('refused: the refused device left nothing behind in '
                   'query-noncoherent-dma or query-ioasid (%s)' % left,
                   'return' in nc and 'return' in ioasid and not left and
                   nc['return'].get('registered') is False)

    @staticmethod
    def req_str(d):
        on = {p for p, r in d.items() if r is True}
        off = {p for p, r in d.items() if r is not True}
        return 'requested %s, not %s' % (ranges(on), ranges(off))

    # ---- the console ----
    def line(self, line):
        if not line.startswith('NESTED'):
            if line:
                self.console.append(line)
            return
        self.lines.append(line)
        if self.args.verbose_guest:
            self.say('| ' + line[:300])
        j = re.match(r'NESTED-JSON case=(\S+) stage=(\S+) cmd=(\S+) (.*)',
                     line)
        if j:
            try:
                reply = json.loads(j.group(4))
            except ValueError:
                reply = {'unparsed': j.group(4)}
            if j.group(1) in self.cases:
                self.cases[j.group(1)].json[(j.group(2), j.group(3))] = reply
            self.say('inner %s %s %s: %s' % (j.group(1), j.group(2),
                                             j.group(3), j.group(4)[:2000]))
            return
        m = re.match(r'NESTED (\S+)(.*)', line)
        if not m:
            return
        kind, rest = m.group(1), m.group(2)
        kv = dict(re.findall(r'(\S+?)=(\S+)', rest))
        case = self.cases.get(kv.get('case'))
        if kind == 'outer-ecap':
            self.ecap = int(rest.strip(), 16)
        elif kind == 'bound':
            self.bound = kv.get('driver')
            self.group = kv.get('group')
            self.say(line)
        elif kind == 'case-start' and case:
            case.start = time.time()
            self.cur = case
        elif kind == 'check' and case:
            what = re.search(r'what=(.*)', rest).group(1)
            case.driver.append((kv.get('ok') == '1', what))
        elif kind == 'expect' and case:
            case.expect.setdefault(kv['stage'], []).append(
                (int(kv['iova'], 16), int(kv['size'], 16),
                 kv['requested'] == '1'))
        elif kind == 'time' and case:
            case.times[kv['what']] = int(kv['ms'])
        elif kind == 'nosnoop-bytes' and case:
            case.nosnoop_bytes = int(kv['bytes'])
        elif kind == 'stderr' and case:
            case.stderr.append(re.sub(r'^ case=\S+ ', '', rest))
            if len(case.stderr) <= 4:
                self.say('inner %s stderr: %s' % (case.name, case.stderr[-1]))
        elif kind == 'checkpoint' and case:
            self.checkpoint(case, kv['stage'])
            self.proc.stdin.write(b'\n')
            self.proc.stdin.flush()
        elif kind == 'case-end' and case:
            case.ended = True
            case.wall = time.time() - case.start
        elif kind == 'done':
            self.done = True
        elif kind in ('error', 'note', 'guest', 'exit'):
            self.say(line)

    def finish_case(self, case):
        """The checks that need the whole case"""
        if not case.ended:
            return
        if case.hotplug:
            self.hotplug_checks(case)
        if not case.viommu and not case.platform_off:
            self.holdoff_checks(case)
        if not case.refuse:
            want = ['final']
            if case.pasid_snoop and case.sc:
                want = ['pgsnp-on', 'final']
            elif not case.viommu and not case.platform_off:
                want = ['final', 'nosnoop-cleared', 'nosnoop-set']
            case.check('went through the checkpoints %s (%s)' % (
                want, case.stages), case.stages == want)
            nsb = 0 if self.outer_sc else NOSNOOP_FILL
            case.check('NOSNOOP_BYTES %s after the no-snoop fill: %s (outer '
                       'snoop-control=%s)' % (case.nosnoop_bytes, nsb,
                                              'on' if self.outer_sc else
                                              'off'),
                       case.nosnoop_bytes == nsb)

    def run(self):
        a = self.args
        tmp = tempfile.mkdtemp(prefix='ioasid-nested-')
        qmp_path = os.path.join(tmp, 'qmp.sock')
        sc = 'on' if self.outer_sc else 'off'
        # no_timer_check: Linux's check that IRQ0 reaches the CPU through
        # the IO-APIC counts on delay loops that a TCG guest on a loaded
        # host overruns ("timer doesn't work through Interrupt-remapped
        # IO-APIC", a panic, seen once with the iommufd kernel while a
        # cold build ran beside it); KVM guests skip it the same way
        append = ('console=ttyS0 intel_iommu=on panic=-1 quiet '
                  'no_timer_check nested_cases=%s' % ','.join(a.cases))
        cmd = [os.path.join(a.obj, 'qemu-system-x86_64'), '-M', 'q35',
               '-m', '1G', '-smp', '2', '-nodefaults', '-nographic',
               '-serial', 'stdio', '-monitor', 'none', '-no-reboot',
               '-kernel', os.path.join(a.guest, a.series, 'vmlinuz'),
               '-initrd', a.image or os.path.join(a.guest, 'nested',
                                                  'initrd.img'),
               '-append', append,
               '-device', 'intel-iommu,caching-mode=on,snoop-control=%s' % sc,
               '-device', 'ioasid-vfio,id=dev0,addr=04.0',
               '-qmp', 'unix:%s,server=on,wait=off' % qmp_path]
        self.say('=== outer snoop-control=%s: Linux %s, inner cases %s' % (
            sc, a.series, ' '.join(a.cases)))
        start = time.time()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.qmp = QMP(qmp_path)
        buf = b''
        deadline = start + BOOT_TIMEOUT
        timed_out = True
        while time.time() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 1)
            if not r:
                if self.proc.poll() is not None:
                    timed_out = False
                    break
                continue
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                timed_out = False
                break
            buf += chunk
            while b'\n' in buf:
                raw, buf = buf.split(b'\n', 1)
                line = raw.decode(errors='replace').strip()
                if self.boot_time is None and line.startswith('NESTED'):
                    self.boot_time = time.time() - start
                if SANITIZER_REPORT.search(line):
                    self.notes.append('the outer QEMU: %s' % line)
                self.line(line)
                if GUEST_STALL.search(line) and not self.stall:
                    self.stall = line
                    self.stall_diagnostics()
                    self.proc.kill()
        if timed_out:
            self.proc.kill()
            self.notes.append('the boot did not finish within %d s'
                              % BOOT_TIMEOUT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if not timed_out and self.proc.returncode != 0:
            self.notes.append('the outer QEMU exited with status %s'
                              % self.proc.returncode)
        self.total = time.time() - start
        if self.ecap is None or bool(self.ecap & 0x80) != self.outer_sc:
            self.notes.append('the guest reads outer ECAP %s, want SC=%d'
                              % (hex(self.ecap or 0), self.outer_sc))
        if self.bound != 'vfio-pci':
            self.notes.append('dev0 bound to %s, not vfio-pci' % self.bound)
        if not self.done:
            self.notes.append('the inner driver did not finish')
            # the guest kernel's last words (hung tasks, faults, panics)
            for line in self.console:
                self.say('console: %s' % line[:300])
        for c in self.cases.values():
            self.finish_case(c)
        return self


def report(boots, n0):
    n = n0
    failed = 0
    for b in boots:
        sc = 'on' if b.outer_sc else 'off'
        for note in b.notes:
            print('# outer snoop-control=%s: %s' % (sc, note))
        for c in b.cases.values():
            n += 1
            ok = c.ok() and not b.notes
            failed += not ok
            name = '/nested/outer-sc=%s/inner=%s' % (sc, c.name)
            print('# --- %s%s: %d driver checks, %d host checks, run %s ms '
                  '(QEMU start %s ms), wall %.1f s' % (
                      name, ' (device_add must be refused)'
                      if c.refuse and c.hotplug else
                      ' (must refuse)' if c.refuse else '',
                      len(c.driver), len(c.host), c.times.get('run', '?'),
                      c.times.get('first-answer', '?'), c.wall or -1))
            for o, what in c.driver + c.host:
                print('#   %s %s' % ('[ok]  ' if o else '[FAIL]', what))
            if not c.ended:
                print('#   [FAIL] the case did not end')
            if not ok:
                for line in c.stderr[:6]:
                    print('#   stderr:%s' % line)
            print('%s %d %s' % ('ok' if ok else 'not ok', n, name))
    return n - n0, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('obj')
    ap.add_argument('guest')
    ap.add_argument('--series', default='6.12')
    ap.add_argument('--outer-sc', default='on,off')
    ap.add_argument('--cases', default=','.join(CASES),
                    help='default: the type1 cases; the iommufd ones (%s) '
                    'need --series iommufd' % ','.join(IOMMUFD_CASES))
    ap.add_argument('--verbose-guest', action='store_true')
    ap.add_argument('--image', help='the nested initramfs (default: '
                    'GUEST_DIR/nested/initrd.img)')
    a = ap.parse_args()
    a.cases = a.cases.split(',')
    for c in a.cases:
        if c not in CASES + IOMMUFD_CASES:
            ap.error('unknown case %s (cases: %s)' % (
                c, ', '.join(CASES + IOMMUFD_CASES)))
    outer = [s == 'on' for s in a.outer_sc.split(',')]
    print('1..%d' % (len(outer) * len(a.cases)))
    start = time.time()
    boots = []
    n = failed = 0
    retried = 0
    for sc in outer:
        for attempt in (1, 2):
            b = Boot(a, sc)
            try:
                b.run()
            except Exception as e:  # every case of the boot fails, counted
                b.notes.append('the boot failed: %r' % e)
                if getattr(b, 'proc', None) and b.proc.poll() is None:
                    b.proc.kill()
                    b.proc.wait()
                if b.total is None:
                    b.total = -1
            if not b.stall or attempt == 2:
                break
            retried += 1
            print('# outer snoop-control=%s: the guest kernel stalled (%s) '
                  'after %.1f s: not counted, booting again (once)' % (
                      'on' if sc else 'off', b.stall, b.total))
        if b.stall:
            b.notes.append('the guest kernel stalled: %s' % b.stall)
        boots.append(b)
        k, f = report([b], n)
        n += k
        failed += f
    print('# nested run times:')
    for b in boots:
        print('#   outer snoop-control=%s: boot to /init %.1f s, whole boot '
              '%.1f s; inner runs (ms: run / QEMU start): %s' % (
                  'on' if b.outer_sc else 'off', b.boot_time or -1, b.total,
                  ', '.join('%s %s/%s' % (c.name, c.times.get('run', '?'),
                                          c.times.get('first-answer', '?'))
                            for c in b.cases.values())))
    print('#   total %.1f s' % (time.time() - start))
    if retried:
        print('# %d boot(s) booted again after a guest CPU stall' % retried)
    print('# nested: %d passed, %d failed' % (n - failed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
