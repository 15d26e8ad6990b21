#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Print the current Debian kernel ABI names for the guest matrix, resolved
# from the archive (never hard-coded): "6.1 <abi>" from bookworm and
# "6.12 <abi>" from bookworm-backports (or trixie), e.g.
#   6.1 6.1.0-56-amd64
#   6.12 6.12.95+deb12-amd64
set -euo pipefail
apt-cache show -a linux-image-amd64 |
    awk '/^Version:/ { v = $2 }
         /^Depends:/ { for (i = 2; i <= NF; i++) if ($i ~ /^linux-image-/) print v, $i }' |
    sed 's/,$//; s/ linux-image-/ /' |
    while read -r ver abi; do
        case "$abi" in
        6.1.0-*) echo "6.1 $ver $abi" ;;
        6.12.*) echo "6.12 $ver $abi" ;;
        esac
    done | sort -k1,1 -k2,2V | awk '{ last[$1] = $3 } END { for (k in last) print k, last[k] }' | sort -V
