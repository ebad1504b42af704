#!/usr/bin/env bash
# Install or update one disclosure-kiosk terminal on Raspberry Pi OS Bookworm Lite (arm64)
# or Debian 12. Run as root from a checkout of the repository or an unpacked release:
#
#   sudo deploy/install.sh --terminal-id QX-TY-LT-01 --region-code 360999101201 \
#       --feed-url https://gk.example.gov.cn/feed/feed.json --public-key BASE64KEY= \
#       [--mode touch|signage|led] [--name 柳塘村党群服务中心] [--width 1920 --height 1080]
#
# Idempotent: running it again with the same options changes nothing, and running it again
# after updating the source reinstalls the program only. An existing /etc/kiosk/kiosk.toml is
# never overwritten. Every bad option is refused with one line and exit status 2 before
# anything changes. Step-by-step guide and troubleshooting: deploy/README.md.
set -euo pipefail
umask 022
# Byte-wise, predictable regular expressions and messages; Python runs in UTF-8 mode anyway.
export LC_ALL=C PYTHONUTF8=1

PROG=install.sh
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

KIOSK_USER=kiosk
KIOSK_GROUPS=(video render input)
CONFIG_DIR=/etc/kiosk
CONFIG=$CONFIG_DIR/kiosk.toml
DATA_DIR=/var/lib/kiosk
UNIT_DIR=/etc/systemd/system
MODES=(touch signage led)
# The Python packages of the project (pyproject.toml [tool.setuptools.packages.find]).
PACKAGES=(kiosk screens sync)
APT_PACKAGES=(fonts-noto-cjk fonts-wqy-zenhei libmtdev1 libgl1 libegl1 libgles2
    libgl1-mesa-dri libgbm1 libdrm2 python3 python3-venv python3-pip)
# HDMI-CEC (switching the TV for [schedule]) and the Pi's firmware tools, where they exist.
OPTIONAL_PACKAGES=(cec-utils)
OPTIONAL_ONE_OF=(raspi-utils libraspberrypi-bin)

usage() {
    cat <<EOF
usage: sudo deploy/install.sh --terminal-id ID --region-code CODE --feed-url URL
                              --public-key BASE64 [--public-key BASE64 ...]
                              [--mode touch|signage|led] [--name NAME]
                              [--width PX --height PX] [--source DIR] [--prefix DIR]
                              [--no-apt] [--no-systemd-enable]

  --terminal-id ID     1-64 of A-Z a-z 0-9 . _ - (first a letter or digit)
  --region-code CODE   统计用区划代码 of the site: 6, 9 or 12 digits
  --feed-url URL       https:// URL of the county's feed.json (http:// only for tests)
  --public-key KEY     the county's Ed25519 public key, base64 of 32 bytes (repeatable)
  --mode MODE          touch (default), signage or led
  --name NAME          shown on screen, e.g. 柳塘村党群服务中心
  --width/--height     screen size, default 1920x1080; in led mode the LED area
  --source DIR         the project to install (default: the one containing this script)
  --prefix DIR         where the program goes (default: /opt/kiosk)
  --no-apt             do not install Debian packages (offline installs, tests)
  --no-systemd-enable  install the unit but do not enable it
EOF
}

# One line on stderr and exit 2: a refused invocation, nothing was changed.
refuse() { echo "$PROG: $*" >&2; exit 2; }
# A failure while installing: one line, exit 1; what was done so far is kept (re-run).
die() { echo "$PROG: error: $*" >&2; exit 1; }
warn() { echo "$PROG: warning: $*" >&2; }

CHANGES=0
# report STATUS SUBJECT [DETAIL]: one line per step; anything but unchanged/kept/skipped
# counts as a change.
report() {
    printf '  %-10s %s%s\n' "$1" "$2" "${3:+ ($3)}"
    case $1 in
        unchanged | kept | skipped) ;;
        *) CHANGES=$((CHANGES + 1)) ;;
    esac
}

# ---------------------------------------------------------------------------------------
# Options

TERMINAL_ID='' REGION_CODE='' FEED_URL='' MODE=touch NAME='' WIDTH=1920 HEIGHT=1080
SOURCE='' PREFIX=/opt/kiosk DO_APT=1 DO_ENABLE=1
PUBLIC_KEYS=()
SEEN=' '

while [ $# -gt 0 ]; do
    opt=$1
    shift
    value=''
    has_value=0
    case $opt in
        --*=*) value=${opt#*=} opt=${opt%%=*} has_value=1 ;;
    esac
    case $opt in
        -h | --help) usage; exit 0 ;;
        --no-apt | --no-systemd-enable)
            [ "$has_value" -eq 0 ] || refuse "$opt takes no value"
            if [ "$opt" = --no-apt ]; then DO_APT=0; else DO_ENABLE=0; fi
            ;;
        --terminal-id | --region-code | --feed-url | --public-key | --mode | --name | \
            --width | --height | --source | --prefix)
            if [ "$has_value" -eq 0 ]; then
                [ $# -gt 0 ] || refuse "$opt needs a value"
                value=$1
                shift
            fi
            if [ "$opt" != --public-key ]; then
                case $SEEN in *" $opt "*) refuse "$opt given twice" ;; esac
                SEEN="$SEEN$opt "
            fi
            case $opt in
                --terminal-id) TERMINAL_ID=$value ;;
                --region-code) REGION_CODE=$value ;;
                --feed-url) FEED_URL=$value ;;
                --public-key) PUBLIC_KEYS+=("$value") ;;
                --mode) MODE=$value ;;
                --name) NAME=$value ;;
                --width) WIDTH=$value ;;
                --height) HEIGHT=$value ;;
                --source) SOURCE=$value ;;
                --prefix) PREFIX=$value ;;
            esac
            ;;
        *) refuse "unknown option '$opt' (see --help)" ;;
    esac
done

ERRORS=()
# bad MESSAGE...: collect one line per bad value (control characters shown as '?').
bad() {
    local line="$*"
    ERRORS+=("${line//[[:cntrl:]]/?}")
}

if [ -z "$TERMINAL_ID" ]; then
    bad "--terminal-id is required"
elif ! [[ $TERMINAL_ID =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]]; then
    bad "--terminal-id '$TERMINAL_ID': must be 1-64 letters, digits, '.', '_' or '-'," \
        "starting with a letter or digit"
fi

if [ -z "$REGION_CODE" ]; then
    bad "--region-code is required"
elif ! [[ $REGION_CODE =~ ^[0-9]{6}([0-9]{3}([0-9]{3})?)?$ ]]; then
    bad "--region-code '$REGION_CODE': must be a 6, 9 or 12 digit 区划代码"
fi

if [ -z "$FEED_URL" ]; then
    bad "--feed-url is required"
elif [[ $FEED_URL =~ [[:space:][:cntrl:]\"\\] ]] || ! [[ $FEED_URL =~ ^https?://[^/?#@]+ ]]; then
    bad "--feed-url '$FEED_URL': must be an https:// URL (http:// only for tests)"
elif [[ $FEED_URL == http://* ]]; then
    warn "--feed-url uses http://: for test terminals only; use https:// in the field"
fi

if [ ${#PUBLIC_KEYS[@]} -eq 0 ]; then
    bad "--public-key is required (the county's Ed25519 public key, base64)"
fi
for key in "${PUBLIC_KEYS[@]}"; do
    # 32 bytes are exactly 43 base64 characters and one '=' of padding.
    if ! [[ $key =~ ^[A-Za-z0-9+/]{43}=$ ]] \
        || [ "$(printf '%s' "$key" | base64 -d 2>/dev/null | wc -c)" -ne 32 ]; then
        bad "--public-key '$key': must be the base64 of a 32-byte Ed25519 public key"
    fi
done

case " ${MODES[*]} " in
    *" $MODE "*) ;;
    *) bad "--mode '$MODE': must be one of ${MODES[*]}" ;;
esac

if [[ $NAME =~ [[:cntrl:]] ]] || [ ${#NAME} -gt 200 ]; then
    bad "--name: must be one line of at most 200 bytes"
fi

if ! [[ $WIDTH =~ ^[0-9]{1,5}$ ]] || [ $((10#$WIDTH)) -lt 64 ] || [ $((10#$WIDTH)) -gt 7680 ]
then
    bad "--width '$WIDTH': must be a number of pixels from 64 to 7680"
fi
if ! [[ $HEIGHT =~ ^[0-9]{1,5}$ ]] || [ $((10#$HEIGHT)) -lt 32 ] \
    || [ $((10#$HEIGHT)) -gt 4320 ]; then
    bad "--height '$HEIGHT': must be a number of pixels from 32 to 4320"
fi

if ! [[ $PREFIX =~ ^(/[A-Za-z0-9._-]+)+$ ]] || [[ $PREFIX == *..* ]]; then
    bad "--prefix '$PREFIX': must be an absolute path of letters, digits, '.', '_', '-'"
fi

SOURCE=${SOURCE:-$SCRIPT_DIR/..}
if [ -d "$SOURCE" ]; then
    SOURCE=$(cd "$SOURCE" && pwd)
fi
if ! grep -qs '^name = "disclosure-kiosk"' "$SOURCE/pyproject.toml"; then
    bad "--source '$SOURCE': not a disclosure-kiosk source tree (no pyproject.toml for it)"
else
    for needed in README.md deploy/kiosk.toml.template deploy/systemd/kiosk.service \
        "${PACKAGES[@]}"; do
        [ -e "$SOURCE/$needed" ] || bad "--source '$SOURCE': $needed is missing"
    done
fi

if [ ${#ERRORS[@]} -gt 0 ]; then
    for error in "${ERRORS[@]}"; do
        echo "$PROG: $error" >&2
    done
    exit 2
fi

if [ "$(id -u)" -ne 0 ]; then
    refuse "must run as root: sudo $0 ..."
fi

VENV=$PREFIX/venv
STAMP=$PREFIX/.installed

# Checks that need no change to the system, so a missing prerequisite also refuses early.
if [ "$DO_APT" -eq 1 ]; then
    command -v apt-get >/dev/null || refuse "apt-get not found: use --no-apt on this system"
else
    command -v python3 >/dev/null || refuse "python3 not found (--no-apt: install it first)"
    python3 -c 'import venv, ensurepip' 2>/dev/null \
        || refuse "python3 -m venv does not work (--no-apt: install python3-venv first)"
fi
for tool in useradd usermod groupadd getent install sha256sum tar; do
    command -v "$tool" >/dev/null || refuse "$tool not found"
done

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "$PROG: installing disclosure-kiosk from $SOURCE into $PREFIX"

# ---------------------------------------------------------------------------------------
# Debian packages

pkg_installed() {
    [[ " $(dpkg-query -W -f='${db:Status-Status} ' "$1" 2>/dev/null) " == *" installed "* ]]
}

# A candidate in the package lists: `apt-cache policy` says "Candidate: (none)" or nothing.
pkg_available() {
    local candidate
    candidate=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { c = $2 } END { print c }')
    [ -n "$candidate" ] && [ "$candidate" != "(none)" ]
}

APT_UPDATED=0
apt_run() {  # apt_run WHAT ARGS...: quiet unless it fails, then the tail of its output
    local what=$1
    shift
    if ! DEBIAN_FRONTEND=noninteractive apt-get "$@" >"$WORK/apt.log" 2>&1; then
        tail -n 15 "$WORK/apt.log" >&2
        die "$what failed (network? mirror? see above; --no-apt skips this step)"
    fi
}
apt_update_once() {
    if [ "$APT_UPDATED" -eq 0 ]; then
        apt_run "apt-get update" update
        APT_UPDATED=1
    fi
}
apt_install() {
    apt_update_once
    apt_run "apt-get install $*" install -y --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}

install_packages() {
    local missing=() pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        pkg_installed "$pkg" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt_install "${missing[@]}"
        report installed "packages: ${missing[*]}"
    else
        report unchanged "packages: ${#APT_PACKAGES[@]} required packages present"
    fi

    local wanted=("${OPTIONAL_PACKAGES[@]}") choice=''
    for pkg in "${OPTIONAL_ONE_OF[@]}"; do
        if pkg_installed "$pkg"; then choice=$pkg; break; fi
    done
    if [ -z "$choice" ]; then
        for pkg in "${OPTIONAL_ONE_OF[@]}"; do
            if pkg_available "$pkg"; then choice=$pkg; break; fi
        done
    fi
    [ -z "$choice" ] || wanted+=("$choice")
    for pkg in "${wanted[@]}"; do
        if pkg_installed "$pkg"; then
            report unchanged "package: $pkg"
        elif pkg_available "$pkg"; then
            apt_install "$pkg"
            report installed "package: $pkg"
        else
            report skipped "package: $pkg" "not available here"
        fi
    done
    [ -n "$choice" ] || report skipped "package: ${OPTIONAL_ONE_OF[*]}" "not a Raspberry Pi OS"
}

if [ "$DO_APT" -eq 1 ]; then
    install_packages
else
    report skipped "Debian packages" "--no-apt"
fi

python3 -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' 2>/dev/null \
    || die "python3 must be Python 3.11 or 3.12 (found: $(python3 --version 2>&1))"

# ---------------------------------------------------------------------------------------
# The kiosk user, its groups and directories

ensure_group() {
    if getent group "$1" >/dev/null; then
        report unchanged "group $1"
    else
        groupadd --system "$1"
        report created "group $1"
    fi
}

ensure_user() {
    local shell=/usr/sbin/nologin group_opt=(--user-group)
    [ -x "$shell" ] || shell=/bin/false
    if getent passwd "$KIOSK_USER" >/dev/null; then
        report unchanged "user $KIOSK_USER"
    else
        if getent group "$KIOSK_USER" >/dev/null; then group_opt=(--gid "$KIOSK_USER"); fi
        useradd --system --home-dir "$DATA_DIR" --no-create-home --shell "$shell" \
            "${group_opt[@]}" --comment "disclosure kiosk" "$KIOSK_USER"
        report created "user $KIOSK_USER" "no login, home $DATA_DIR"
    fi
    local current missing=() g
    current=" $(id -nG "$KIOSK_USER") "
    for g in "${KIOSK_GROUPS[@]}"; do
        [[ $current == *" $g "* ]] || missing+=("$g")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        usermod -a -G "$(IFS=,; echo "${missing[*]}")" "$KIOSK_USER"
        report added "user $KIOSK_USER to groups ${missing[*]}"
    else
        report unchanged "groups of $KIOSK_USER: ${KIOSK_GROUPS[*]}"
    fi
}

# ensure_dir DIR OWNER:GROUP MODE
ensure_dir() {
    local dir=$1 owner=$2 mode=$3
    if [ ! -d "$dir" ]; then
        install -d -o "${owner%:*}" -g "${owner#*:}" -m "$mode" "$dir"
        report created "$dir" "$owner $mode"
    elif [ "$(stat -c '%U:%G %a' "$dir")" != "$owner $mode" ]; then
        chown "$owner" "$dir"
        chmod "$mode" "$dir"
        report fixed "$dir" "now $owner $mode"
    else
        report unchanged "$dir"
    fi
}

for group in "${KIOSK_GROUPS[@]}"; do
    ensure_group "$group"
done
ensure_user
ensure_dir "$DATA_DIR" "$KIOSK_USER:$KIOSK_USER" 750
ensure_dir "$CONFIG_DIR" "root:$KIOSK_USER" 750
ensure_dir "$PREFIX" root:root 755

# ---------------------------------------------------------------------------------------
# The program: a virtualenv with the project installed (not editable) from the source

# The files that make up the installed program, NUL-separated, in a stable order.
source_files() {
    local top=(pyproject.toml README.md) f
    for f in setup.cfg setup.py MANIFEST.in LICENSE LICENSE.txt; do
        [ ! -f "$SOURCE/$f" ] || top+=("$f")
    done
    (cd "$SOURCE" && find "${top[@]}" "${PACKAGES[@]}" \
        \( -name __pycache__ -o -name '*.egg-info' \) -prune \
        -o -type f ! -name '*.pyc' -print0 | sort -z)
}

source_hash() {
    (cd "$SOURCE" && source_files | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

venv_usable() {
    [ -x "$VENV/bin/python" ] || return 1
    [ "$("$VENV/bin/python" -c 'import sys; print(sys.version_info[:2])' 2>/dev/null)" \
        = "$(python3 -c 'import sys; print(sys.version_info[:2])')" ]
}

PROGRAM_CHANGED=0
install_program() {
    local want have=''
    want=$(source_hash)
    if ! venv_usable; then
        if [ -e "$VENV" ]; then
            rm -rf "$VENV"
            report removed "$VENV" "made for another Python"
        fi
        rm -f "$STAMP"
        python3 -m venv "$VENV" || die "python3 -m venv $VENV failed"
        report created "$VENV"
    fi
    [ ! -f "$STAMP" ] || have=$(cat "$STAMP")
    if [ "$have" = "$want" ] && "$VENV/bin/python" -B -c 'import kiosk.cli' 2>/dev/null; then
        report unchanged "$VENV" "disclosure-kiosk $(installed_version)"
        return
    fi
    # Build from a copy: pip writes build/ and *.egg-info next to the sources otherwise.
    mkdir "$WORK/src"
    (cd "$SOURCE" && source_files | tar --null -T - -cf -) | tar -xf - -C "$WORK/src"
    local pip_opts=(--disable-pip-version-check --no-input --quiet)
    # No download cache on the SD card unless asked for (PIP_CACHE_DIR, e.g. in tests).
    [ -n "${PIP_CACHE_DIR:-}" ] || pip_opts+=(--no-cache-dir)
    # pip always reinstalls a project given as a directory; its dependencies are installed
    # or upgraded only as pyproject.toml requires.
    if ! PIP_ROOT_USER_ACTION=ignore "$VENV/bin/python" -m pip install "${pip_opts[@]}" \
        "$WORK/src" >"$WORK/pip.log" 2>&1; then
        tail -n 15 "$WORK/pip.log" >&2
        die "pip install failed (network? PyPI mirror: PIP_INDEX_URL; see deploy/README.md)"
    fi
    "$VENV/bin/python" -B -c 'import kiosk.cli' || die "the installed program does not import"
    printf '%s\n' "$want" >"$STAMP"
    PROGRAM_CHANGED=1
    if [ -n "$have" ]; then
        report updated "$VENV" "disclosure-kiosk $(installed_version)"
    else
        report installed "$VENV" "disclosure-kiosk $(installed_version)"
    fi
}

installed_version() {
    "$VENV/bin/python" -B -c \
        'import importlib.metadata as m; print(m.version("disclosure-kiosk"))' 2>/dev/null \
        || echo "?"
}

install_program

# ---------------------------------------------------------------------------------------
# /etc/kiosk/kiosk.toml: written once from the template, never overwritten

# check_config FILE: exit 0, or one line saying what is wrong with it.
check_config() {
    "$VENV/bin/python" -B - "$1" <<'PY'
import sys

from kiosk.config import ConfigError, load

try:
    load(sys.argv[1])
except ConfigError as exc:
    print(exc)
    sys.exit(1)
PY
}

render_config() {  # render_config OUT
    "$VENV/bin/python" -B - "$SOURCE/deploy/kiosk.toml.template" "$1" "$TERMINAL_ID" \
        "$REGION_CODE" "$NAME" "$MODE" "$FEED_URL" "$WIDTH" "$HEIGHT" "${PUBLIC_KEYS[@]}" <<'PY'
import json
import re
import sys

template, out, terminal_id, region, name, mode, url, width, height, *keys = sys.argv[1:]


def toml_string(value: str) -> str:
    # A JSON string with ensure_ascii=False is also a valid TOML basic string.
    return json.dumps(value, ensure_ascii=False)


values = {
    "TERMINAL_ID": toml_string(terminal_id),
    "REGION_CODE": toml_string(region),
    "NAME": toml_string(name),
    "MODE": toml_string(mode),
    "FEED_URL": toml_string(url),
    "PUBLIC_KEYS": "[" + ", ".join(toml_string(k) for k in keys) + "]",
    "WIDTH": str(int(width, 10)),
    "HEIGHT": str(int(height, 10)),
}
with open(template, encoding="utf-8") as f:
    text = f.read()
for key, value in values.items():
    text = text.replace(f"@{key}@", value)
left = re.findall(r"@[A-Z_]+@", text)
if left:
    sys.exit(f"template placeholder {left[0]} has no value")
with open(out, "w", encoding="utf-8") as f:
    f.write(text)
PY
}

CONFIG_STATE=kept
CONFIG_PROBLEM=''
if [ -e "$CONFIG" ]; then
    report kept "$CONFIG" "exists; never overwritten"
    if [ "$(stat -c '%U:%G %a' "$CONFIG")" != "root:$KIOSK_USER 640" ]; then
        chown "root:$KIOSK_USER" "$CONFIG"
        chmod 640 "$CONFIG"
        report fixed "$CONFIG" "now root:$KIOSK_USER 640"
    fi
    CONFIG_PROBLEM=$(check_config "$CONFIG") || true
else
    new=$CONFIG_DIR/.kiosk.toml.new
    render_config "$new" || die "could not write $new from the template"
    if ! problem=$(check_config "$new"); then
        rm -f "$new"
        die "the configuration made from the options is not valid: $problem"
    fi
    chown "root:$KIOSK_USER" "$new"
    chmod 640 "$new"
    mv "$new" "$CONFIG"
    CONFIG_STATE=created
    report created "$CONFIG"
fi

# ---------------------------------------------------------------------------------------
# systemd units

UNITS_CHANGED=0
ensure_dir "$UNIT_DIR" root:root 755
for unit_src in "$SOURCE"/deploy/systemd/*; do
    [ -f "$unit_src" ] || continue
    unit=$(basename "$unit_src")
    dest=$UNIT_DIR/$unit
    sed "s#/opt/kiosk/#$PREFIX/#g" "$unit_src" >"$WORK/$unit"
    if [ -f "$dest" ] && cmp -s "$WORK/$unit" "$dest" \
        && [ "$(stat -c '%U:%G %a' "$dest")" = "root:root 644" ]; then
        report unchanged "$dest"
    else
        state=installed
        [ ! -e "$dest" ] || state=updated
        install -o root -g root -m 644 "$WORK/$unit" "$dest"
        report "$state" "$dest"
        UNITS_CHANGED=1
    fi
done

SERVICE_STATE=''
if [ ! -d /run/systemd/system ]; then
    report skipped "systemctl enable kiosk.service" "systemd is not running, e.g. a chroot"
    SERVICE_STATE="not enabled: systemd not running; on the terminal: systemctl enable kiosk"
else
    if [ "$UNITS_CHANGED" -eq 1 ]; then
        systemctl daemon-reload
        report reloaded "systemd units"
    fi
    if [ "$DO_ENABLE" -eq 0 ]; then
        report skipped "systemctl enable kiosk.service" "--no-systemd-enable"
        SERVICE_STATE="not enabled (--no-systemd-enable)"
    elif systemctl is-enabled --quiet kiosk.service; then
        report unchanged "kiosk.service enabled"
        SERVICE_STATE="enabled"
    else
        systemctl enable --quiet kiosk.service
        report enabled "kiosk.service" "starts at boot"
        SERVICE_STATE="enabled"
    fi
    if [ $((PROGRAM_CHANGED + UNITS_CHANGED)) -gt 0 ] \
        && systemctl is-active --quiet kiosk.service; then
        systemctl restart kiosk.service
        report restarted "kiosk.service" "runs the new version"
    fi
fi

# ---------------------------------------------------------------------------------------
# Summary

echo "$PROG: done, $CHANGES change(s)"
if [ "$CONFIG_STATE" = kept ]; then
    echo "  config    $CONFIG (kept: its values apply, not the options given; edit it to change)"
else
    echo "  config    $CONFIG (terminal $TERMINAL_ID, region $REGION_CODE, mode $MODE," \
        "${WIDTH}x$HEIGHT)"
fi
echo "  program   $VENV/bin/kiosk (disclosure-kiosk $(installed_version))"
echo "  data      $DATA_DIR"
echo "  service   kiosk.service: $SERVICE_STATE"
echo "  next      sudo reboot; logs: journalctl -u kiosk -f"
echo "            status: sudo -u $KIOSK_USER $VENV/bin/kiosk status --config $CONFIG"
if [ -n "$CONFIG_PROBLEM" ]; then
    echo "$PROG: error: the kept $CONFIG does not load: $CONFIG_PROBLEM" >&2
    exit 1
fi
