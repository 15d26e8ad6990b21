#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Boot a real Linux guest against ioasid-vfio behind intel-iommu and check
the bring-up from both sides.

The guest (guest/init) runs the DMA-API kernel driver, then the VFIO
userspace driver, and stops at each "PHASE <name>" line until the host
answers; meanwhile this script reads the host side through QMP
(query-ioasid, query-noncoherent-dma) and prints a live view.  Every
expectation is checked; the exit status says whether all matched.

  run-guest.py BUILD_OBJ GUEST_DIR [--mode legacy|scalable|fs] [--sc on|off]
               [--cache-model coherent|strict] [--quiet] [--bench]

--mode fs offers the guest first-stage translation only (x-scalable-mode=on,
x-flts=on), the mode Linux then uses for every DMA domain: its DMA API maps
first-stage tables without invalidating (the device's first access walks
them), and its VFIO asks for snoop control with the PASID entry's PGSNP,
not with SNP bits.

In the scalable modes (scalable, fs; not with the strict cache model) the
vIOMMU also takes requests with PASID (x-pasid-mode=on), and the guest adds the kernel driver's PASID mode
(phases pasid, pasid-removed): two PASIDs of the device in two domains of
their own, the first made coherent; the host side must show two more
IOASIDs, attached with those PASIDs, each with its own block-nosnoop.
Linux 6.1 cannot (no iommu_attach_device_pasid()): the driver says so.

Used by `make run` (one boot, verbose) and by the guest matrix of
`make check` (scripts/guest/matrix.sh).  With --bench (`make bench`) the
guest instead times the DMA API's map/unmap loop on ioasid-vfio and on
QEMU's edu behind the same vIOMMU (iommu.strict=1), and this script prints
their ratio.

With --cache-model strict the platform runs the strict no-snoop cache
model (-object ioasid,id=ioasid-default,cache-model=strict, the device's
noncoherent hold-off 0 ms) and the guest adds one phase per cache-
maintenance mode of the kernel driver (maint=clflush, wbinvd, none,
wbinvd-snooped): correct maintenance gives correct data, the skipped one
is caught from both sides (the driver reads stale lines, the host counts
pending lines and stale reads), WBINVD with Enable No Snoop clear is
ignored and counted; guest VFIO with snoop control on needs no
maintenance at all.
"""

import argparse
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
# ECAP bits the guest must see per mode: SMTS 43, SLTS 46, FLTS 47
ECAP_SMTS, ECAP_SLTS, ECAP_FLTS = 1 << 43, 1 << 46, 1 << 47
# The guest translation each mode's IOASID mirrors while a driver runs
TRANSLATION = {'legacy': 'second-stage', 'scalable': 'second-stage',
               'fs': 'first-stage'}
BOOT_TIMEOUT = 240
# The guest-side sanity bounds of the bench ratio (ioasid-vfio / edu): the
# relay adds a host call to every map and unmap, so more than 1; a ratio
# past the upper bound means something else than the relay is measured.
BENCH_RATIO_MAX = 50
# The phases of a boot, and those the strict cache model adds after
# kdrv-removed
PHASES = ['boot', 'kdrv', 'kdrv-removed', 'udrv', 'udrv-nosnoop-off', 'done']
PASID_PHASES = ['pasid', 'pasid-removed']
# The kernel driver's PASID mode maps these IOVAs in both domains
PASID_IOVAS = (0x10000000, 0x10001000)
MAINT_MODES = ['clflush', 'wbinvd', 'none', 'wbinvd-snooped']
STRICT_PHASES = ['maint-' + m for m in MAINT_MODES] + ['maint-removed']
LINES = 65536 // 64


class Run:
    def __init__(self, args):
        self.args = args
        self.ok = 0
        self.bad = []
        self.guest = {}             # what the guest printed, by key
        self.changes = []           # registration changes at each phase
        self.bench = []             # bench lines of the kernel driver
        self.calls = None           # host calls at the bench's start
        self.strict = args.cache_model == 'strict'
        self.caught = None          # the skipped maintenance, as caught
        self.wbinvd_ignored = None  # WBINVDs ignored, Enable No Snoop clear
        # requests with PASID: the scalable modes (the strict cache
        # model's boots are about cache maintenance, and their zero
        # hold-off would show each PASID's attach as a registration)
        self.pasid = args.mode != 'legacy' and not args.bench and \
            not self.strict

    def check(self, what, cond):
        if cond:
            self.ok += 1
        else:
            self.bad.append(what)
        if not self.args.quiet or not cond:
            print('    %s %s' % ('[ok]  ' if cond else '[FAIL]', what))

    def say(self, text=''):
        if not self.args.quiet:
            print(text)

    # ---- QMP ----
    def qmp_cmd(self, cmd):
        return self.qmp.cmd(cmd)

    def spaces(self):
        """{pasid or None: the IOASID the device is attached to with it}"""
        out = {}
        for ctx in self.qmp_cmd('query-ioasid'):
            for s in ctx['ioasids']:
                for a in s.get('attachments', []):
                    if a['device'] == DEV:
                        out[a.get('pasid')] = s
        return out

    def host_state(self):
        space = self.spaces().get(None)
        nc = self.qmp_cmd('query-noncoherent-dma')
        dev = [d for d in nc['devices'] if d['device'] == DEV][0]
        return space, nc, dev

    def show_host(self, space, nc, dev, limit=4):
        maps = space['mappings']
        self.say('    host: IOASID %d, %d mappings, %d map / %d unmap calls'
                 % (space['ioasid'], len(maps), space['map-calls'],
                    space['unmap-calls']))
        for m in maps[:limit]:
            self.say('      iova 0x%x+0x%x -> 0x%x %s' % (
                m['iova'], m['size'], m['addr'],
                'block-nosnoop' if m['block-nosnoop'] else 'no-snoop passes'))
        if len(maps) > limit:
            self.say('      ... %d more' % (len(maps) - limit))
        held = (' (held off: coherent in %d ms)' % dev['release-in-ms']
                if 'release-in-ms' in dev else '')
        self.say('    host: (a) nosnoop-enabled=%s (b) nosnoop-passes=%s '
                 '(c) platform-nosnoop=%s -> noncoherent=%s%s; VM '
                 'registered=%s, registration changes=%d' % (
                     dev['nosnoop-enabled'], dev['nosnoop-passes'],
                     dev['platform-nosnoop'], dev['noncoherent'], held,
                     nc['registered'], nc['registration-changes']))
        c = nc.get('cache')
        if c is not None:
            self.say('    host: cache model %s: pending-lines=%d '
                     'dirty-lines=%d watched-ranges=%d stale-reads=%d '
                     'lost-writes=%d' % (
                         nc.get('cache-model'), c['pending-lines'],
                         c['dirty-lines'], c['watched-ranges'],
                         c['stale-reads'], c['lost-writes']))
            self.say('      guest cache ops: clflush=%d clflushopt=%d '
                     'clwb=%d wbinvd honoured=%d ignored=%d; host flushes '
                     '%d (%d bytes), evictions %d' % (
                         c['clflush'], c['clflushopt'], c['clwb'],
                         c['wbinvd-honoured'], c['wbinvd-ignored'],
                         c['host-flushes'], c['host-flush-bytes'],
                         c['evictions']))

    # ---- what the guest printed ----
    def guest_line(self, line):
        m = re.match(r'ioasid-kdrv: (bench-\S+)(.*)', line)
        if m:
            fields = dict(kv.split('=', 1) for kv in m.group(2).split()
                          if '=' in kv)
            self.bench.append((m.group(1), fields))
            if fields.get('ok') != '1':
                self.guest.setdefault('errors', []).append(line)
            return
        m = re.match(r'ioasid-(kdrv|udrv): (.*)', line)
        if m:
            words = m.group(2).split()
            fields = dict(kv.split('=', 1) for kv in words if '=' in kv)
            if 'step' in fields:
                self.guest['%s/%s' % (m.group(1), fields['step'])] = fields
            elif words and '=' not in words[0]:
                # "pasid-setup k=v ...", "pasid unsupported (...)"
                self.guest['%s/%s' % (m.group(1), words[0])] = fields
            else:
                for k, v in fields.items():
                    self.guest['%s/%s' % (m.group(1), k)] = v
        m = re.search(r'ecap ([0-9a-f]+)', line)
        if m:
            self.guest['ecap'] = int(m.group(1), 16)
        if line.startswith('DMESG') and re.search(
                r'DMAR: \[DMA|DMAR: DRHD: handling fault|DMAR:.*[Ff]ault',
                line):
            self.guest.setdefault('faults', []).append(line)
        if line.startswith('DMESG') and re.search(r'WARNING|BUG', line):
            self.guest.setdefault('warnings', []).append(line)
        if line.startswith('GUEST error') or 'ioasid-udrv: error' in line:
            self.guest.setdefault('errors', []).append(line)

    @staticmethod
    def conditions(dev):
        """Whether the device's three conditions hold (not nosnoop=deny).

        The registry turns a device noncoherent as soon as they hold, and
        coherent again only after they stayed false for the device's
        hold-off; meanwhile it shows release-in-ms.  So the conditions are
        what a phase decides, and the result must follow them that way.
        """
        return (dev['nosnoop-enabled'] and dev['nosnoop-passes'] and
                dev['platform-nosnoop'] and not dev['nosnoop-deny'])

    def check_result_follows(self, dev):
        cond = self.conditions(dev)
        held = dev['noncoherent'] and not cond and 'release-in-ms' in dev
        self.check('the registry follows the conditions%s' % (
            ' (held off, coherent in %d ms)' % dev['release-in-ms']
            if held else ''), dev['noncoherent'] == cond or held)

    # ---- the DMA-API bench (--bench) ----
    def bench_phase(self, space):
        a = self.args
        iters = 10000
        rounds = 0
        loops = {'edu': {}, 'ioasid-vfio': {}}
        for kind, f in self.bench:
            if kind == 'bench-check':
                self.say('    guest: %s: %s domain, dma 0x%x for phys 0x%x, '
                         'the domain maps it to 0x%x' % (
                             f.get('dev'), f.get('domain'),
                             int(f.get('dma', '0'), 16),
                             int(f.get('phys', '0'), 16),
                             int(f.get('iova_to_phys', '0'), 16)))
                self.check('%s: DMA through a strict IOMMU DMA domain '
                           '(the DMA address is an IOVA, not physical)'
                           % f.get('dev'), f.get('ok') == '1')
            elif kind == 'bench-loop' and f.get('dev') in loops:
                loops[f['dev']][int(f.get('round', 0))] = int(f.get('ns', 0))
                iters = int(f.get('iters', iters))
                rounds = max(rounds, int(f.get('round', 0)) + 1)
        self.check('guest: the bench ran to its end',
                   ('bench-done', {'ok': '1'}) in self.bench)
        self.check('guest: %d rounds of both loops' % rounds,
                   rounds >= 1 and all(len(v) == rounds and all(v.values())
                                       for v in loops.values()))
        maps = space['map-calls'] - self.calls[0]
        unmaps = space['unmap-calls'] - self.calls[1]
        want = rounds * iters
        self.say('    host: ioasid-vfio IOASID: +%d map and +%d unmap calls '
                 'for %d x %d map/unmap pairs; %d mappings left' % (
                     maps, unmaps, rounds, iters, space['mapping-count']))
        self.check('host: the relay mirrored every map and unmap of '
                   'ioasid-vfio, and none of edu\'s',
                   want <= maps <= want * 1.01 + 16 and
                   want <= unmaps <= want * 1.01 + 16)
        self.check('no DMAR fault in dmesg', not self.guest.get('faults'))
        self.check('no warning in dmesg', not self.guest.get('warnings'))
        self.check('no guest error', not self.guest.get('errors'))
        edu, relayed = loops['edu'], loops['ioasid-vfio']
        if not rounds or sorted(edu) != sorted(relayed) or \
                not all(edu.values()) or not all(relayed.values()):
            return
        # Each loop's minimum over the rounds: the host's load only adds
        # time.  The ratios of the two loops of each round show the noise.
        ratio = min(relayed.values()) / min(edu.values())
        each = sorted(relayed[r] / edu[r] for r in edu)
        print('guest DMA API, Linux %s, %s mode, one boot: a loop of %d x '
              'dma_map_page +\n  dma_unmap_page of one page (iommu.strict=1,'
              ' intel-iommu caching-mode=on),\n  ktime in the guest, '
              'minimum of %d rounds per device' % (
                  self.abi, a.mode, iters, rounds))
        print('    loop time, ioasid-vfio (relayed to the host) / edu '
              '(no relay):  %.2f' % ratio)
        print('    (the same ratio round by round: min %.2f, median %.2f, '
              'max %.2f)' % (each[0], each[len(each) // 2], each[-1]))
        self.check('the ratio is above 1 (the relay costs something) and '
                   'below %d' % BENCH_RATIO_MAX, 1 < ratio < BENCH_RATIO_MAX)

    # ---- phases ----
    def phase(self, name):
        space, nc, dev = self.host_state()
        self.changes.append((name, nc['registration-changes']))
        sc = self.args.sc == 'on'
        maps = space['mappings']
        self.say('  -- phase %s' % name)
        if name == 'boot':
            ecap = self.guest.get('ecap')
            self.check('guest reads ECAP.SC=%d (ecap %s)' % (
                sc, hex(ecap) if ecap is not None else '?'),
                ecap is not None and bool(ecap & 0x80) == sc)
            if self.args.mode == 'fs':
                self.check('guest reads first-stage translation only '
                           '(ECAP.SMTS, FLTS, not SLTS)',
                           ecap is not None and ecap & ECAP_SMTS and
                           ecap & ECAP_FLTS and not ecap & ECAP_SLTS)
            self.calls = (space['map-calls'], space['unmap-calls'])
        elif name == 'bench':
            self.bench_phase(space)
        elif name == 'kdrv':
            steps = ['copy', 'copy-nosnoop', 'fill-nosnoop']
            for st in steps:
                g = self.guest.get('kdrv/' + st, {})
                self.say('    guest: kdrv %s status=%s ok=%s nosnoop_bytes=%s'
                         % (st, g.get('status'), g.get('ok'),
                            g.get('nosnoop_bytes')))
                self.check('kernel driver: %s data correct' % st,
                           g.get('ok') == '1')
            self.show_host(space, nc, dev)
            self.check('DMA-API mappings are not block-nosnoop',
                       maps and not any(m['block-nosnoop'] for m in maps))
            self.check_translation(space)
            nb = [int(self.guest.get('kdrv/' + s, {}).get('nosnoop_bytes', -1))
                  for s in steps]
            self.check('NOSNOOP_BYTES counts the unblocked no-snoop DMA '
                       '(0, +128 KiB, +64 KiB)',
                       nb == [0, 131072, 196608])
            self.check('noncoherent: the driver enabled No Snoop on '
                       'unblocked mappings', dev['noncoherent'] and
                       self.conditions(dev) and nc['registered'])
            if self.strict:
                c = nc['cache']
                self.check('strict: the driver flushed what it wrote and '
                           'what the device wrote (clflush %d, pending-lines '
                           '%d, stale-reads %d, lost-writes %d)' % (
                               c['clflush'] + c['clflushopt'],
                               c['pending-lines'], c['stale-reads'],
                               c['lost-writes']),
                           c['clflush'] + c['clflushopt'] > 0 and
                           not c['pending-lines'] and not c['stale-reads']
                           and not c['lost-writes'])
        elif name == 'pasid':
            self.pasid_phase(nc, dev)
        elif name == 'pasid-removed':
            left = [p for p in self.spaces() if p is not None]
            self.say('    host: IOASIDs attached with a PASID: %s' % left)
            self.check('guest: the driver detached its PASIDs',
                       self.guest.get('kdrv/pasid-removed', {}).get('ok') ==
                       '1' or 'kdrv/pasid' in self.guest)
            self.check('host: no IOASID is attached with a PASID any more',
                       not left)
        elif name.startswith('maint-') and name != 'maint-removed':
            self.maint_phase(name[len('maint-'):], nc, dev)
        elif name == 'udrv':
            g0 = self.guest.get('udrv/copy', {})
            g1 = self.guest.get('udrv/copy-nosnoop', {})
            self.say('    guest: udrv VFIO_DMA_CC_IOMMU=%s copy ok=%s, '
                     'copy-nosnoop ok=%s, NOSNOOP_BYTES %s -> %s' % (
                         self.guest.get('udrv/dma_cc_iommu'), g0.get('ok'),
                         g1.get('ok'), g0.get('nosnoop_bytes'),
                         g1.get('nosnoop_bytes')))
            self.check('VFIO driver: data correct',
                       g0.get('ok') == '1' and g1.get('ok') == '1')
            self.check('guest VFIO sees enforced coherency = SC (%d)' % sc,
                       self.guest.get('udrv/dma_cc_iommu') == str(int(sc)))
            self.show_host(space, nc, dev)
            vfio = [m for m in maps if 0x100000 <= m['iova'] < 0x300000]
            self.check('the VFIO mappings reached the host', len(vfio) >= 1
                       and sum(m['size'] for m in vfio) >= 2 * 65536)
            self.check('every VFIO mapping is block-nosnoop exactly when SC '
                       'is on', vfio and all(m['block-nosnoop'] == sc
                                             for m in vfio))
            self.check('the guest asked for it (%s): requested-block-nosnoop '
                       '= SC on every VFIO mapping' % (
                           'PGSNP' if self.args.mode == 'fs' else 'SNP'),
                       vfio and all(m['requested-block-nosnoop'] == sc
                                    for m in vfio))
            self.check_translation(space)
            try:
                delta = int(g1['nosnoop_bytes']) - int(g0['nosnoop_bytes'])
            except (KeyError, ValueError):
                delta = -1
            self.check('NOSNOOP_BYTES: %s' % ('0 where blocked' if sc
                                               else '+128 KiB where not'),
                       delta == (0 if sc else 131072))
            self.check('noncoherent conditions hold exactly when no-snoop '
                       'passes (%s)' % (not sc),
                       self.conditions(dev) == (not sc))
            if self.strict:
                c = nc['cache']
                self.check('strict: VFIO with snoop control on needs no '
                           'maintenance: no pending line, no stale read, no '
                           'lost write (pending-lines %d, stale-reads %d, '
                           'lost-writes %d)' % (
                               c['pending-lines'], c['stale-reads'],
                               c['lost-writes']),
                           sc and not c['pending-lines'] and
                           not c['stale-reads'] and not c['lost-writes'])
            self.check_result_follows(dev)
        elif name == 'udrv-nosnoop-off':
            self.show_host(space, nc, dev, limit=0)
            self.check('Enable No Snoop cleared: conditions do not hold',
                       not dev['nosnoop-enabled'] and
                       not self.conditions(dev))
            self.check_result_follows(dev)
        elif name == 'done':
            self.check('no DMAR fault in dmesg', not self.guest.get('faults'))
            self.check('no warning in dmesg', not self.guest.get('warnings'))
            self.check('no guest error', not self.guest.get('errors'))
            # the strict maintenance phases load and unload the driver
            # (registered, then not) between kdrv-removed and udrv
            steps = [b - a for (p, a), (q, b) in
                     zip(self.changes, self.changes[1:])
                     if not q.startswith('maint-')]
            self.check('registration changed at most once per phase %s'
                       % steps, all(0 <= s <= 1 for s in steps))
        else:
            self.show_host(space, nc, dev, limit=2)
        if self.strict:
            # each phase's counters count what happened since the last one
            self.qmp_cmd('ioasid-cache-model-reset-counters')

    def pasid_phase(self, nc, dev):
        """The kernel driver's two PASIDs, from both sides"""
        sc = self.args.sc == 'on'
        if 'kdrv/pasid' in self.guest:
            # "pasid unsupported": a kernel without the API
            self.say('    guest: kdrv pasid unsupported')
            self.check('guest: only Linux before 6.11 lacks the PASID API '
                       '(this is %s)' % self.abi, self.abi.startswith('6.1.'))
            return
        setup = self.guest.get('kdrv/pasid-setup', {})
        a = self.guest.get('kdrv/pasid-a', {})
        b = self.guest.get('kdrv/pasid-b', {})
        self.say('    guest: kdrv PASIDs %s (coherent %s) and %s, PASID '
                 'enabled %s; copy in A ok=%s nosnoop_bytes=+%s, in B ok=%s '
                 'nosnoop_bytes=+%s' % (
                     setup.get('pasid_a'), setup.get('coherent_a'),
                     setup.get('pasid_b'), setup.get('pasid_enabled'),
                     a.get('ok'), a.get('nosnoop_bytes'), b.get('ok'),
                     b.get('nosnoop_bytes')))
        self.check('guest: two PASIDs attached to two domains, PASID '
                   'enabled on the device', setup.get('ok') == '1' and
                   setup.get('pasid_enabled') == '1' and
                   setup.get('pasid_a') != setup.get('pasid_b'))
        self.check('guest: domain A coherent exactly when SC is on (%d)' % sc,
                   setup.get('coherent_a') == str(int(sc)))
        self.check('guest: each PASID copies its own data (same IOVAs, '
                   'other pages)', a.get('ok') == '1' and b.get('ok') == '1')
        self.check('NOSNOOP_BYTES: PASID A +%d, PASID B +8192' % (
                   0 if sc else 8192),
                   a.get('nosnoop_bytes') == ('0' if sc else '8192') and
                   b.get('nosnoop_bytes') == '8192')
        spaces = self.spaces()
        try:
            pa, pb = int(setup['pasid_a']), int(setup['pasid_b'])
        except (KeyError, ValueError):
            pa = pb = -1
        sa, sb, rid = spaces.get(pa), spaces.get(pb), spaces.get(None)
        for what, sp in (('A', sa), ('B', sb)):
            if sp is None:
                continue
            self.say('    host: PASID %s -> IOASID %d (%s), %d mappings:' % (
                what, sp['ioasid'], sp.get('translation'),
                len(sp['mappings'])))
            for m in sp['mappings']:
                self.say('      iova 0x%x+0x%x -> 0x%x %s' % (
                    m['iova'], m['size'], m['addr'],
                    'block-nosnoop' if m['block-nosnoop'] else
                    'no-snoop passes'))
        self.check('host: three IOASIDs for the device: without PASID, '
                   'PASID %d and PASID %d' % (pa, pb),
                   sa is not None and sb is not None and rid is not None and
                   len({sa['ioasid'], sb['ioasid'], rid['ioasid']}) == 3)
        if sa is None or sb is None:
            return

        def at(sp, iova):
            return [m for m in sp['mappings']
                    if m['iova'] <= iova < m['iova'] + m['size']]
        got_a = [m for i in PASID_IOVAS for m in at(sa, i)]
        got_b = [m for i in PASID_IOVAS for m in at(sb, i)]
        self.check('host: both PASIDs map the IOVAs the driver used',
                   len(got_a) >= 1 and len(got_b) >= 1 and
                   all(at(sa, i) and at(sb, i) for i in PASID_IOVAS))
        self.check('host: PASID A blocks no-snoop exactly when SC is on, '
                   'as the guest asked (%s)' % (
                       'PGSNP' if self.args.mode == 'fs' else 'SNP'),
                   all(m['block-nosnoop'] == sc and
                       m['requested-block-nosnoop'] == sc for m in got_a))
        self.check('host: PASID B lets no-snoop through',
                   not any(m['block-nosnoop'] for m in got_b))
        self.check('host: PASID A and B map other pages',
                   {m['addr'] for m in got_a}.isdisjoint(
                       {m['addr'] for m in got_b}))
        want = TRANSLATION[self.args.mode]
        self.check('host: both PASIDs mirror %s tables' % want,
                   sa.get('translation') == want and
                   sb.get('translation') == want)
        self.check('host: (b) nosnoop-passes through PASID B',
                   dev['nosnoop-passes'])
        self.check_result_follows(dev)

    def maint_phase(self, mode, nc, dev):
        """One no-snoop copy of the kernel driver with maint=@mode"""
        g = self.guest.get('kdrv/maint-' + mode, {})
        c = nc['cache']
        prev = self.guest.get('kdrv/maint-' + MAINT_MODES[
            MAINT_MODES.index(mode) - 1], {}) if mode != 'clflush' else \
            self.guest.get('kdrv/fill-nosnoop', {})
        stale = int(g.get('stale_lines', -1))
        self.say('    guest: kdrv maint=%s status=%s ok=%s stale_lines=%s '
                 'first_stale=%s devctl_nosnoop=%s nosnoop_bytes=%s' % (
                     mode, g.get('status'), g.get('ok'), g.get('stale_lines'),
                     g.get('first_stale'), g.get('devctl_nosnoop'),
                     g.get('nosnoop_bytes')))
        self.say('    host: VM registered=%s; cache model: pending-lines=%d '
                 'stale-reads=%d lost-writes=%d clflush=%d wbinvd '
                 'honoured=%d ignored=%d' % (
                     nc['registered'], c['pending-lines'], c['stale-reads'],
                     c['lost-writes'], c['clflush'] + c['clflushopt'],
                     c['wbinvd-honoured'], c['wbinvd-ignored']))
        try:
            nsb = int(g['nosnoop_bytes']) - int(prev['nosnoop_bytes'])
        except (KeyError, ValueError):
            nsb = -1
        if mode in ('clflush', 'wbinvd'):
            self.check('maint=%s: the driver reads correct data (0 of %d '
                       'lines stale)' % (mode, LINES),
                       g.get('ok') == '1' and stale == 0)
            self.check('maint=%s: the copy was no-snoop (+128 KiB '
                       'NOSNOOP_BYTES) and the VM registered noncoherent'
                       % mode, nsb == 131072 and nc['registered'])
            self.check('maint=%s: host: no pending line, stale read or lost '
                       'write' % mode, not c['pending-lines'] and
                       not c['stale-reads'] and not c['lost-writes'])
            if mode == 'clflush':
                self.check('maint=clflush: host saw the flushes (clflush '
                           '%d >= %d lines)' % (
                               c['clflush'] + c['clflushopt'], 3 * LINES),
                           c['clflush'] + c['clflushopt'] >= 3 * LINES)
            else:
                self.check('maint=wbinvd: honoured (%d), none ignored' %
                           c['wbinvd-honoured'],
                           c['wbinvd-honoured'] > 0 and
                           not c['wbinvd-ignored'])
        elif mode == 'none':
            # On first-stage tables the device's first access maps each
            # page on the host, which cleans the CPU's lines as it starts
            # letting no-snoop through (docs/devel/ioasid-cache-model.rst):
            # the source the CPU wrote reads right there, only the
            # destination the device wrote is caught (pending lines)
            fs = self.args.mode == 'fs'
            self.check('maint=none: the driver sees stale data (%d of %d '
                       'lines)' % (stale, LINES),
                       g.get('ok') == '0' and stale > 0)
            self.check('maint=none: host counters name it: pending-lines '
                       '%d, stale-reads %d%s' % (
                           c['pending-lines'], c['stale-reads'],
                           ' (none expected: first stage)' if fs else ''),
                       c['pending-lines'] >= stale > 0 and
                       (fs or c['stale-reads'] > 0) and nsb == 131072)
            if stale > 0 and c['pending-lines'] > 0:
                self.caught = (stale, c['pending-lines'], c['stale-reads'])
                print('    caught: the driver skipped cache maintenance: it '
                      'read stale data in %d lines (first: line %s); host: '
                      'pending-lines=%d, stale-reads=%d' % (
                          stale, g.get('first_stale'), c['pending-lines'],
                          c['stale-reads']))
        elif mode == 'wbinvd-snooped':
            if c['lost-writes']:
                self.say('    (lost-writes %d: when maint=none unloaded, the '
                         'host cleaned the caches before unmapping its '
                         'buffers and wrote the CPU\'s dirty copy over the '
                         'lines the device had written)' % c['lost-writes'])
            self.wbinvd_ignored = c['wbinvd-ignored']
            self.check('maint=wbinvd-snooped: Enable No Snoop clear, the DMA '
                       'was snooped (+0 NOSNOOP_BYTES), data correct',
                       g.get('devctl_nosnoop') == '0' and nsb == 0 and
                       g.get('ok') == '1' and stale == 0)
            self.check('maint=wbinvd-snooped: the VM is not registered '
                       'noncoherent, and WBINVD was ignored and counted '
                       '(ignored %d, honoured %d)' % (
                           c['wbinvd-ignored'], c['wbinvd-honoured']),
                       not nc['registered'] and not dev['noncoherent'] and
                       c['wbinvd-ignored'] > 0 and
                       not c['wbinvd-honoured'])

    def check_translation(self, space):
        want = TRANSLATION[self.args.mode]
        self.check('the IOASID mirrors %s tables' % want,
                   space.get('translation') == want)

    def run(self):
        a = self.args
        tmp = tempfile.mkdtemp(prefix='ioasid-guest-')
        qmp_path = os.path.join(tmp, 'qmp.sock')
        viommu = 'intel-iommu,caching-mode=on,snoop-control=%s%s' % (
            a.sc, {'legacy': '', 'scalable': ',x-scalable-mode=on',
                   'fs': ',x-scalable-mode=on,x-flts=on'}[a.mode])
        append = 'console=ttyS0 intel_iommu=on panic=-1 quiet'
        if self.pasid:
            viommu += ',x-pasid-mode=on'
            append += ' ioasid_pasid'
        device = 'ioasid-vfio,id=dev0,addr=04.0'
        if self.strict:
            append += ' ioasid_strict'
            device += ',noncoherent-holdoff-ms=0'
        if a.bench:
            append += ' iommu.strict=1 ioasid_bench'
        cmd = [os.path.join(a.obj, 'qemu-system-x86_64'), '-M', 'q35',
               '-m', '512M', '-smp', '2', '-nodefaults', '-nographic',
               '-serial', 'stdio', '-monitor', 'none', '-no-reboot',
               '-kernel', os.path.join(a.guest, 'vmlinuz'),
               '-initrd', os.path.join(a.guest, 'initrd.img'),
               '-append', append,
               '-device', viommu, '-device', device,
               '-qmp', 'unix:%s,server=on,wait=off' % qmp_path]
        if a.bench:
            # the same loop on a device behind the same vIOMMU, no relay
            cmd += ['-device', 'edu,addr=05.0']
        if self.strict:
            # the implicit context of the device, strict
            cmd += ['-object', 'ioasid,id=ioasid-default,cache-model=strict']
        if a.trace:
            cmd += ['-trace', a.trace, '-D', a.trace_file]
        with open(os.path.join(a.guest, 'abi')) as f:
            abi = f.read().strip()
        self.abi = abi
        print('=== Linux %s, %s mode, snoop-control=%s%s%s' % (
            abi, a.mode, a.sc, ', cache-model=strict' if self.strict else '',
            ', DMA-API bench' if a.bench else ''))
        self.say('$ qemu-system-x86_64 ' + ' '.join(
            c for c in cmd[1:] if not c.startswith(('unix:', '-qmp'))))
        start = time.time()
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        self.qmp = QMP(qmp_path)
        buf = b''
        phases = []
        boot_time = None
        deadline = start + BOOT_TIMEOUT
        while time.time() < deadline:
            r, _, _ = select.select([proc.stdout], [], [], 1)
            if not r:
                if proc.poll() is not None:
                    break
                continue
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            while b'\n' in buf:
                raw, buf = buf.split(b'\n', 1)
                line = raw.decode(errors='replace').strip()
                self.guest_line(line)
                if a.verbose_guest and line:
                    print('    | ' + line)
                m = re.match(r'PHASE (\S+)', line)
                if m:
                    if boot_time is None:
                        boot_time = time.time() - start
                    phases.append(m.group(1))
                    self.phase(m.group(1))
                    proc.stdin.write(b'\n')
                    proc.stdin.flush()
        else:
            proc.kill()
            self.check('guest finished within %d s' % BOOT_TIMEOUT, False)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        total = time.time() - start
        if self.strict and not a.bench and not a.quiet and not self.bad:
            print('strict cache model: maint=clflush and maint=wbinvd (VM '
                  'registered) -> correct data; guest VFIO with snoop '
                  'control on -> coherent without maintenance')
            if self.caught:
                print('  caught: the driver skipped cache maintenance: it '
                      'read stale data in %d lines; host: pending-lines=%d, '
                      'stale-reads=%d' % self.caught)
            print('  WBINVD with Enable No Snoop clear (VM not registered '
                  'noncoherent): ignored, counted wbinvd-ignored=%s'
                  % self.wbinvd_ignored)
        want = ['boot', 'bench'] if a.bench else PHASES
        if self.pasid:
            want = want[:3] + PASID_PHASES + want[3:]
        if self.strict and not a.bench:
            want = want[:3] + STRICT_PHASES + want[3:]
        self.check('guest went through every phase %s' % phases,
                   phases == want)
        if self.strict and not a.bench:
            self.check('the skipped cache maintenance was caught',
                       self.caught is not None)
        print('result: Linux %s %s sc=%s%s: %d checks matched, %d did not; '
              'boot %.1f s, run %.1f s -> %s' % (
                  abi, a.mode, a.sc,
                  ' cache-model=strict' if self.strict else '',
                  self.ok, len(self.bad),
                  boot_time or -1, total,
                  'everything matched' if not self.bad else
                  'MISMATCH: ' + '; '.join(self.bad)))
        return 0 if not self.bad else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('obj')
    ap.add_argument('guest')
    ap.add_argument('--mode', choices=['legacy', 'scalable', 'fs'],
                    default='legacy',
                    help='fs: first-stage translation only (x-flts=on)')
    ap.add_argument('--sc', choices=['on', 'off'], default='on')
    ap.add_argument('--cache-model', choices=['coherent', 'strict'],
                    default='coherent',
                    help='strict: the strict no-snoop cache model, and the '
                    "kernel driver's cache-maintenance phases")
    ap.add_argument('--quiet', action='store_true')
    ap.add_argument('--verbose-guest', action='store_true')
    ap.add_argument('--bench', action='store_true',
                    help='time the DMA API on ioasid-vfio against edu')
    ap.add_argument('--trace', metavar='PATTERN',
                    help="QEMU trace events to log, e.g. 'ioasid_*'")
    ap.add_argument('--trace-file', default='ioasid-trace.log')
    return Run(ap.parse_args()).run()


if __name__ == '__main__':
    sys.exit(main())
