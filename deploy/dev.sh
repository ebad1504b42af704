#!/usr/bin/env bash
# Set up a development or CI machine and run the app or the tests.
#
#   bash deploy/dev.sh run     # the full-screen app on the bundled demo feed (offline)
#   bash deploy/dev.sh test    # ruff + the whole test suite, headless
#
# Idempotent: creates .venv with Python 3.11 and installs the project into it; when run as
# root on Debian/Raspberry Pi OS it also installs the Debian packages the app needs
# (Chinese fonts, libmtdev1, Mesa GL). Extra arguments go to `kiosk run` or to pytest.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
DEB_PACKAGES=(fonts-noto-cjk fonts-wqy-zenhei libmtdev1 libgl1 libgl1-mesa-dri libegl1
              shellcheck debootstrap nginx-light rsync systemd faketime)

die() { echo "deploy/dev.sh: $*" >&2; exit 1; }

install_debian_packages() {
    command -v dpkg-query >/dev/null 2>&1 || return 0
    local missing=()
    for pkg in "${DEB_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "deploy/dev.sh: missing Debian packages: ${missing[*]}" >&2
        echo "deploy/dev.sh: run as root once, or: sudo apt-get install ${missing[*]}" >&2
        return 0
    fi
    echo "deploy/dev.sh: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

find_python() {
    for candidate in python3.11 python3.12 python3; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 13)))'
        then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

setup_venv() {
    local python
    python=$(find_python) || die "Python 3.11 or 3.12 is required"
    if [ ! -x "$VENV/bin/python" ]; then
        "$python" -m venv "$VENV"
    fi
    # Reinstall only when pyproject.toml changed since the last install.
    local stamp
    stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        "$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
        "$VENV/bin/python" -m pip install -q -e ".[test]" 2>&1 | grep -v "is ignored" || true
        "$VENV/bin/python" -c "import kivy, requests, PIL, qrcode, apscheduler, zxingcpp" \
            || die "the Python packages did not install"
        rm -f "$VENV"/.installed-*
        touch "$stamp"
    fi
}

export KIVY_NO_ARGS=1
export KIVY_NO_FILELOG=1

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
    run)
        install_debian_packages
        setup_venv
        exec "$VENV/bin/kiosk" run "$@"
        ;;
    test)
        install_debian_packages
        setup_venv
        export KIVY_NO_CONSOLELOG=1
        "$VENV/bin/ruff" check .
        exec "$VENV/bin/python" -m pytest -q "$@"
        ;;
    *)
        echo "usage: bash deploy/dev.sh run|test [args...]" >&2
        exit 2
        ;;
esac
