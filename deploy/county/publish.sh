#!/usr/bin/env bash
# Publish a built feed folder to the web server's document root, atomically.
#
#   deploy/county/publish.sh BUILD_DIR WEB_ROOT [KEEP]
#
#   BUILD_DIR  the output of `kiosk feed build SRC --out BUILD_DIR --key county.key`
#              (feed.json, feed.json.sig, media/)
#   WEB_ROOT   e.g. /srv/disclosure; nginx serves WEB_ROOT/current (deploy/county/nginx.conf)
#   KEEP       how many releases to keep for rolling back (default 5)
#
# The new release is copied complete into WEB_ROOT/releases/<time>-<sequence>/feed/ and
# checked (signature file present, every image the feed lists present with its sha256,
# sequence higher than the one in service, no key files), and only then is the symlink
# WEB_ROOT/current switched to it, in one rename. A terminal therefore never sees a feed
# whose images are not there yet. Rolling back is a switch of the symlink (README.md), but
# terminals refuse a lower sequence: roll forward with a new build instead.
set -euo pipefail
umask 022
export LC_ALL=C

PROG=publish.sh
die() { echo "$PROG: $*" >&2; exit 1; }

if [ $# -lt 2 ] || [ $# -gt 3 ]; then die "usage: $PROG BUILD_DIR WEB_ROOT [KEEP]"; fi
BUILD=$1
ROOT=$2
KEEP=${3:-5}
[[ $KEEP =~ ^[1-9][0-9]*$ ]] || die "KEEP '$KEEP' must be a whole number of at least 1"
[ -f "$BUILD/feed.json" ] || die "$BUILD/feed.json: no feed here (kiosk feed build --out $BUILD)"
[ -s "$BUILD/feed.json.sig" ] || die "$BUILD/feed.json.sig: missing; terminals refuse an" \
    "unsigned feed (build with --key, or kiosk feed sign)"
command -v python3 >/dev/null || die "python3 is needed to check the feed"
command -v rsync >/dev/null || die "rsync is needed: sudo apt-get install rsync"

# check_feed FEED_DIR [images]: print the feed's sequence; with "images", fail with one line
# if the feed names an image that is missing or has other bytes than its sha256 says.
check_feed() {
    python3 - "$@" <<'PY'
import hashlib, json, sys
from pathlib import Path
from urllib.parse import urlsplit

folder = Path(sys.argv[1])
check_images = sys.argv[2:] == ["images"]
try:
    feed = json.loads((folder / "feed.json").read_bytes())
    sequence = feed["_disclosure"]["sequence"]
    items = feed["items"]
except (ValueError, KeyError, TypeError) as exc:
    sys.exit(f"{folder}/feed.json: not a disclosure feed ({exc})")
for item in items if check_images else []:
    for media in (item.get("_disclosure") or {}).get("media") or []:
        url, sha = media.get("url", ""), media.get("sha256", "")
        if urlsplit(url).scheme or urlsplit(url).netloc:
            continue  # an absolute URL lives elsewhere
        path = folder / url
        try:
            data = path.read_bytes()
        except OSError:
            sys.exit(f"{path}: missing, but item {item.get('id')} lists it")
        if hashlib.sha256(data).hexdigest() != sha:
            sys.exit(f"{path}: sha256 differs from the one item {item.get('id')} lists")
print(sequence)
PY
}

found_key=$(find "$BUILD" -name '*.key' -print -quit)
[ -z "$found_key" ] || die "$found_key: a key file in the build folder; keep keys off the server"

sequence=$(check_feed "$BUILD" images) || exit 1
[[ $sequence =~ ^[0-9]+$ ]] || die "$BUILD/feed.json: sequence '$sequence' is not a number"

mkdir -p "$ROOT/releases"
current_seq=''
if [ -f "$ROOT/current/feed/feed.json" ]; then
    current_seq=$(check_feed "$ROOT/current/feed") || current_seq=''
fi
if [ -n "$current_seq" ]; then
    if [ "$sequence" -eq "$current_seq" ] \
        && cmp -s "$BUILD/feed.json" "$ROOT/current/feed/feed.json" \
        && cmp -s "$BUILD/feed.json.sig" "$ROOT/current/feed/feed.json.sig"; then
        echo "$PROG: sequence $sequence is already in service; nothing to do"
        exit 0
    fi
    [ "$sequence" -gt "$current_seq" ] || die "sequence $sequence is not higher than" \
        "$current_seq in service: terminals would reject it (build again to raise it)"
fi

name=$(date -u +%Y%m%dT%H%M%SZ)-$sequence
release=$ROOT/releases/$name
staging=$ROOT/releases/.$name.partial
rm -rf "$staging"
mkdir -p "$staging/feed"
# Hidden files and keys stay behind. Unchanged images are hard links to the release in
# service (rsync --link-dest), so a release costs only what changed.
link=()
[ ! -d "$ROOT/current/feed" ] || link=(--link-dest="$(cd "$ROOT/current/feed" && pwd -P)")
rsync -a "${link[@]}" --exclude='.*' --exclude='*.key' "$BUILD/" "$staging/feed/"
[ "$(check_feed "$staging/feed" images)" = "$sequence" ] \
    || die "the copy in $staging does not check"
chmod -R a+rX "$staging"
mv "$staging" "$release"

# The switch: a new symlink renamed over the old one is atomic; nginx follows it on the
# next request.
ln -sfn "releases/$name" "$ROOT/.current.new"
mv -Tf "$ROOT/.current.new" "$ROOT/current"
echo "$PROG: sequence $sequence in service: $ROOT/current -> releases/$name"

# Keep the newest KEEP releases (the one in service among them) for rolling back.
mapfile -t releases < <(find "$ROOT/releases" -mindepth 1 -maxdepth 1 -type d ! -name '.*' \
    -printf '%f\n' | sort -r)
for old in "${releases[@]:$KEEP}"; do
    [ "$old" != "$name" ] || continue
    rm -rf "${ROOT:?}/releases/$old"
    echo "$PROG: removed old release $old"
done
