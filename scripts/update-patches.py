#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Turn edits made in the materialised upstream files (build/qemu) back into
patches/.

Each upstream file belongs to exactly one patch.  Without arguments, every
patch in patches/ is regenerated from the current content of the files it
touches (its header is kept), and upstream files edited in build/qemu that no
patch covers are listed.  To put such files into a new patch:

  scripts/update-patches.py --new NAME --subject "area: what" \\
      --why "why, in a few lines" FILE...

creates patches/NNNN-NAME.patch (NNNN = next number).  Run it before
./configure, which re-materialises build/qemu from upstream + patches/.
"""

import argparse
import difflib
import os
import re
import sys

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UPSTREAM = os.path.join(SRC, 'build', 'upstream')
TREE = os.path.join(SRC, 'build', 'qemu')
PATCHES = os.path.join(SRC, 'patches')
STAMP = os.path.join(SRC, 'build', '.materialised')


def read(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding='utf-8', errors='surrogateescape') as f:
        return f.readlines()


def file_diff(rel):
    old = read(os.path.join(UPSTREAM, rel))
    new = read(os.path.join(TREE, rel))
    fromfile = 'a/' + rel if old else '/dev/null'
    lines = list(difflib.unified_diff(old, new, fromfile, 'b/' + rel, n=3))
    if not lines:
        return ''
    out = []
    for line in lines:
        out.append(line if line.endswith('\n')
                   else line + '\n\\ No newline at end of file\n')
    return 'diff --git a/%s b/%s\n' % (rel, rel) + ''.join(out)


def parse_patch(path):
    text = ''.join(read(path))
    m = re.search(r'^diff --git ', text, re.M)
    header = text[:m.start()] if m else text
    files = re.findall(r'^\+\+\+ b/(\S+)', text, re.M)
    return header, files


def write_patch(path, header, files):
    body = ''.join(file_diff(f) for f in files)
    if not body:
        print('update-patches: %s no longer changes anything; remove it'
              % os.path.basename(path), file=sys.stderr)
    with open(path, 'w', encoding='utf-8', errors='surrogateescape') as f:
        f.write(header + body)


def edited_files():
    """Regular (non-overlay) files of build/qemu edited since configure."""
    since = os.path.getmtime(STAMP) if os.path.exists(STAMP) else 0
    found = []
    for root, dirs, names in os.walk(TREE):
        for n in names:
            p = os.path.join(root, n)
            if os.path.islink(p) or os.path.getmtime(p) <= since:
                continue
            rel = os.path.relpath(p, TREE)
            if file_diff(rel):
                found.append(rel)
    return sorted(found)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--new', metavar='NAME')
    ap.add_argument('--subject')
    ap.add_argument('--why')
    ap.add_argument('files', nargs='*')
    args = ap.parse_args()

    patches = sorted(p for p in os.listdir(PATCHES) if p.endswith('.patch')) \
        if os.path.isdir(PATCHES) else []
    owner = {}
    for p in patches:
        header, files = parse_patch(os.path.join(PATCHES, p))
        for f in files:
            owner[f] = p
        write_patch(os.path.join(PATCHES, p), header, files)

    if args.new:
        if not (args.subject and args.why and args.files):
            ap.error('--new needs --subject, --why and the files')
        for f in args.files:
            if f in owner:
                ap.error('%s already belongs to %s' % (f, owner[f]))
        num = 1 + max([int(p[:4]) for p in patches if p[:4].isdigit()] or [0])
        path = os.path.join(PATCHES, '%04d-%s.patch' % (num, args.new))
        header = ('From: qemu-ioasid\nSubject: [PATCH] %s\n\n%s\n---\n'
                  % (args.subject, args.why.strip()))
        write_patch(path, header, args.files)
        print('update-patches: wrote %s' % os.path.relpath(path, SRC))
        for f in args.files:
            owner[f] = path

    loose = [f for f in edited_files() if f not in owner]
    if loose:
        print('update-patches: edited upstream files no patch covers '
              '(add them with --new):', file=sys.stderr)
        for f in loose:
            print('  ' + f, file=sys.stderr)
        return 1
    # Everything edited is in patches/ now: configure may proceed.
    os.utime(STAMP) if os.path.exists(STAMP) else None
    return 0


if __name__ == '__main__':
    sys.exit(main())
