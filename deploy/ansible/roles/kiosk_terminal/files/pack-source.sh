#!/usr/bin/env bash
# pack-source.sh SOURCE OUTDIR: pack the files of the kiosk program from the checkout SOURCE
# into OUTDIR/kiosk-src.tar and print the hash of their content.
#
# Runs on the controller. The file list and the hash are exactly deploy/install.sh's
# (source_files, source_hash), and so is the stamp they are compared with on the terminal
# (/opt/kiosk/.installed): a terminal installed by install.sh from the same source is not
# reinstalled by Ansible, and the other way round.
set -euo pipefail
export LC_ALL=C

SOURCE=$1
OUT=$2
cd "$SOURCE"
top=(pyproject.toml README.md)
for f in setup.cfg setup.py MANIFEST.in LICENSE LICENSE.txt; do
    [ ! -f "$f" ] || top+=("$f")
done
find "${top[@]}" kiosk screens sync \( -name __pycache__ -o -name '*.egg-info' \) -prune \
    -o -type f ! -name '*.pyc' -print0 | sort -z >"$OUT/kiosk-src.files"
tar --null -T "$OUT/kiosk-src.files" -cf "$OUT/kiosk-src.tar.new"
mv "$OUT/kiosk-src.tar.new" "$OUT/kiosk-src.tar"
xargs -0 sha256sum <"$OUT/kiosk-src.files" | sha256sum | cut -d' ' -f1
