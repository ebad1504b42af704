"""``kiosk doctor``: what is wrong with this terminal, and what to do about it.

Written for a technician standing in a village hall with a laptop on the terminal's
SSH: one line per check, ``OK|WARN|FAIL  <check>: <finding> — <fix hint>``, and an exit
status of 1 when any check failed. WARN means the kiosk runs but something will bite
later (software rendering, no clock source, little disk); FAIL means it cannot do its job.

Checks that read the machine (``/sys/class/input``, ``/dev/rtc0``, ``timedatectl``) look
through a :class:`Machine` so a test can point them at a prepared directory tree; the
GL check runs Kivy in a child process, so the doctor itself never loads a GL driver and
a hung driver costs a timeout, not the doctor.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from urllib.request import url2pathname

from kiosk import config as config_mod
from kiosk import display_power
from kiosk.config import DEMO_PUBLIC_KEY_FILE, Config, ConfigError
from kiosk.render import is_software_renderer
from sync.errors import SyncError

if TYPE_CHECKING:
    from sync.fetch import Validators

MB = 1024 * 1024
TOUCH_NAMES = (
    "touch", "ft5x06", "ft5406", "edt-ft", "goodix", "ilitek", "egalax", "eeti", "maxtouch",
    "atmel_mxt", "wacom", "usbtouch", "ads7846", "tsc2007", "raspberrypi-ts",
    "waveshare", "sitronix", "silead",
)  # fmt: skip
GL_PROBE_MARK = "KIOSK_GL_PROBE "
GL_PROBE = f"""
import json, os
for k in ("KIVY_NO_ARGS", "KIVY_NO_CONSOLELOG", "KIVY_NO_FILELOG"):
    os.environ.setdefault(k, "1")
from kivy.config import Config
Config.set("graphics", "width", "64")
Config.set("graphics", "height", "64")
Config.set("graphics", "window_state", "hidden")
from kivy.base import EventLoop
EventLoop.ensure_window()
from kivy.graphics.opengl import GL_RENDERER, GL_VENDOR, GL_VERSION, glGetString
def text(name):
    value = glGetString(name)
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
print({GL_PROBE_MARK!r} + json.dumps(
    {{"renderer": text(GL_RENDERER), "vendor": text(GL_VENDOR), "version": text(GL_VERSION)}}
), flush=True)
"""


@dataclass(frozen=True)
class Check:
    level: str  # "OK" | "WARN" | "FAIL"
    name: str
    finding: str
    hint: str = ""

    def line(self) -> str:
        text = f"{self.name}: {self.finding}"
        if self.hint and self.level != "OK":
            text += f" — {self.hint}"
        return f"{self.level:<4}  {' '.join(text.split())}"  # one line, whatever was quoted

    def to_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Machine:
    """Where the machine-level checks look; the defaults are the real system."""

    input_sys: Path = Path("/sys/class/input")
    input_dev: Path = Path("/dev/input")
    rtc: tuple[Path, ...] = (Path("/dev/rtc0"), Path("/dev/rtc"))
    timedatectl: str | None = field(default_factory=lambda: shutil.which("timedatectl"))
    disk_warn_bytes: int = 500 * MB
    disk_fail_bytes: int = 100 * MB
    gl_timeout: float = 20.0
    python: str = sys.executable
    power: display_power.Machine = field(default_factory=display_power.Machine)


def run_checks(
    config_path: str | os.PathLike[str] | None,
    *,
    skip_gl: bool = False,
    machine: Machine | None = None,
    now: datetime | None = None,
) -> list[Check]:
    """All checks in the order a technician would fix things."""
    machine = machine or Machine()
    now = now or datetime.now(UTC)
    checks: list[Check] = []
    config_check, config = check_config(config_path)
    checks.append(config_check)
    checks.append(check_font(config.display.font if config else ""))
    checks.append(Check("OK", "gl", "skipped (--skip-gl)") if skip_gl else check_gl(machine))
    if config is None:
        checks.append(check_clock(machine, None, now))
        return checks
    checks.append(check_touch(config.terminal.mode, machine))
    checks.append(check_display_power(config, machine))
    store_check, newest_feed = check_store(config, now)
    checks.append(check_clock(machine, newest_feed, now))
    checks.append(check_disk(config.data_dir, machine))
    checks.append(check_feed(config))
    checks.append(check_trust(config))
    checks.append(store_check)
    return checks


def exit_status(checks: list[Check]) -> int:
    return 1 if any(c.level == "FAIL" for c in checks) else 0


def render_json(checks: list[Check]) -> str:
    return json.dumps([c.to_json() for c in checks], ensure_ascii=False, indent=2)


# ----------------------------------------------------------------------- checks


def check_config(path: str | os.PathLike[str] | None) -> tuple[Check, Config | None]:
    try:
        config = config_mod.load(path)
    except ConfigError as exc:
        return Check("FAIL", "config", str(exc), "fix the file and run kiosk doctor again"), None
    t = config.terminal
    finding = f"{config.source}: terminal {t.id}, region {t.region_code}, mode {t.mode}"
    if config.is_demo:
        return Check(
            "WARN",
            "config",
            "no configuration found, this is the built-in demo",
            f"write {config_mod.SYSTEM_CONFIG} (from deploy/kiosk.toml.template) or pass --config",
        ), config
    return Check("OK", "config", finding), config


def check_font(configured: str) -> Check:
    from screens.fonts import FONT_PACKAGE_HINT, FontNotFound, find_font

    try:
        choice = find_font(configured)
    except FontNotFound as exc:
        hint = "fix [display] font" if configured else FONT_PACKAGE_HINT
        return Check("FAIL", "font", str(exc), hint)
    return Check("OK", "font", f"{choice.family} ({choice.regular})")


def check_gl(machine: Machine) -> Check:
    """Open a hidden 64×64 Kivy window in a child process and ask GL who renders."""
    env = {**os.environ, "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1"}
    try:
        proc = subprocess.run(
            [machine.python, "-c", GL_PROBE],
            capture_output=True,
            text=True,
            timeout=machine.gl_timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return Check(
            "WARN",
            "gl",
            f"no GL window within {machine.gl_timeout:g} s",
            "the GPU driver may hang; check dmesg, or use --skip-gl over SSH",
        )
    except OSError as exc:
        return Check("FAIL", "gl", f"cannot run {machine.python}: {exc.strerror}", "reinstall")
    found = next(
        (
            ln[len(GL_PROBE_MARK) :]
            for ln in proc.stdout.splitlines()
            if ln.startswith(GL_PROBE_MARK)
        ),
        None,
    )
    if proc.returncode != 0 or found is None:
        last = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        return Check(
            "FAIL",
            "gl",
            f"cannot open a GL window: {last[:200]}",
            "run as the kiosk user in its display session (not plain SSH: use --skip-gl "
            "there); check the GPU driver (Raspberry Pi: dtoverlay=vc4-kms-v3d)",
        )
    info = json.loads(found)
    renderer = f"{info['renderer']}, OpenGL {info['version']}"
    if is_software_renderer(info["renderer"]):
        driver = "no GPU driver is loaded (Raspberry Pi: dtoverlay=vc4-kms-v3d in config.txt)"
        groups = (
            f"the kiosk user lacks GPU access: sudo usermod -aG video,render {_user()} and log "
            f"in again; if it has it, {driver}"
        )
        return Check(
            "WARN",
            "gl",
            f"software rendering (slow, CPU-bound): {renderer}",
            driver if os.geteuid() == 0 else groups,
        )
    return Check("OK", "gl", renderer)


@dataclass(frozen=True)
class InputDevice:
    node: str  # "event3"
    name: str
    touchscreen: bool
    readable: bool


def input_devices(machine: Machine) -> list[InputDevice]:
    devices = []
    if not machine.input_sys.is_dir():
        return devices
    for entry in sorted(machine.input_sys.glob("event*"), key=lambda p: _event_number(p.name)):
        dev = machine.input_dev / entry.name
        if not dev.exists():
            continue
        name = _read(entry / "device" / "name") or "?"
        direct = _low_bit(_read(entry / "device" / "properties"), 1)  # INPUT_PROP_DIRECT
        has_abs = any(int(w, 16) for w in _words(_read(entry / "device" / "capabilities" / "abs")))
        low = name.lower()
        looks = any(word in low for word in TOUCH_NAMES) and "touchpad" not in low
        devices.append(
            InputDevice(entry.name, name, (direct and has_abs) or looks, os.access(dev, os.R_OK))
        )
    return devices


def check_touch(mode: str, machine: Machine) -> Check:
    devices = input_devices(machine)
    touch = [d for d in devices if d.touchscreen]
    listing = ", ".join(f"{d.node} {d.name!r}" for d in devices) or "none"
    if mode != "touch":
        return Check("OK", "touch", f"not needed in {mode} mode (input devices: {listing})")
    if not touch:
        return Check(
            "WARN",
            "touch",
            f"no touchscreen among input devices ({listing})",
            "check the touch cable/USB and its driver (dmesg | grep -i touch)",
        )
    unreadable = [d for d in touch if not d.readable]
    if unreadable:
        nodes = ", ".join(f"{machine.input_dev / d.node}" for d in unreadable)
        return Check(
            "WARN",
            "touch",
            f"touchscreen {unreadable[0].name!r} not readable by {_user()} ({nodes})",
            f"sudo usermod -aG input {_user()} and restart the kiosk",
        )
    names = ", ".join(f"{d.node} {d.name!r}" for d in touch)
    return Check("OK", "touch", f"touchscreen {names}")


def check_display_power(config: Config, machine: Machine) -> Check:
    """Whether the screen-off hours can really switch the screen off, not just show black."""
    schedule = config.schedule
    if schedule.screen_on is None:
        return Check("OK", "display", "not needed (no [schedule] screen-off hours)")
    hours = f"off {schedule.screen_off:%H:%M}, on {schedule.screen_on:%H:%M}"
    hint = (
        "HDMI TV: enable HDMI-CEC (Anynet+, Bravia Sync, SimpLink…) and apt install cec-utils;"
        " touch panel: check /sys/class/backlight; or set [schedule] display_power"
    )
    try:
        backend = display_power.detect(schedule.power, machine.power)
    except display_power.DisplayPowerError as exc:
        return Check("WARN", "display", f"{hours}: {exc}", hint)
    if backend is None:
        return Check(
            "WARN", "display", f"{hours}: no way to power the screen down, black only", hint
        )
    if isinstance(backend, display_power.Vcgencmd):
        # Asking (no argument) changes nothing; under KMS the answer is -1 or an error.
        try:
            answer = display_power._run([backend.exe, "display_power"]).strip()
        except display_power.DisplayPowerError as exc:
            answer = str(exc)
        if answer not in ("display_power=0", "display_power=1"):
            return Check(
                "WARN",
                "display",
                f"{hours}: vcgencmd answers {answer[:80]!r} (not supported under KMS)",
                hint,
            )
    where = getattr(backend, "exe", None) or getattr(backend, "path", "")
    return Check("OK", "display", f"{hours}: {backend.name} ({where})")


def ntp_synchronized(machine: Machine) -> bool | None:
    """``timedatectl``'s answer, or None when it cannot tell (no systemd, no binary)."""
    if not machine.timedatectl:
        return None
    try:
        proc = subprocess.run(
            [machine.timedatectl, "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    answer = proc.stdout.strip()
    if proc.returncode != 0 or answer not in ("yes", "no"):
        return None
    return answer == "yes"


def check_clock(machine: Machine, newest_feed: datetime | None, now: datetime) -> Check:
    if newest_feed is not None and now < newest_feed:
        return Check(
            "WARN",
            "clock",
            f"the clock ({now.isoformat(timespec='seconds')}) is behind the feed held "
            f"({newest_feed.isoformat(timespec='seconds')})",
            "set the time (sudo timedatectl set-ntp true, or date -s) — HTTPS fails too",
        )
    ntp = ntp_synchronized(machine)
    rtc = next((p for p in machine.rtc if p.exists()), None)
    ntp_text = {True: "NTP synchronized", False: "NTP not synchronized", None: "NTP unknown"}[ntp]
    rtc_text = f"RTC {rtc}" if rtc else "no RTC"
    if ntp or rtc:
        return Check("OK", "clock", f"{ntp_text}, {rtc_text}")
    return Check(
        "WARN",
        "clock",
        f"{ntp_text}, {rtc_text}: after a power cut the time may be wrong",
        "enable NTP (sudo timedatectl set-ntp true) and let it reach a time server, or fit "
        "an RTC module (Raspberry Pi: DS3231 with dtoverlay=i2c-rtc,ds3231)",
    )


def check_disk(data_dir: Path, machine: Machine) -> Check:
    where = data_dir
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        free = shutil.disk_usage(where).free
    except OSError as exc:
        return Check("FAIL", "disk", f"cannot stat {where}: {exc.strerror}", "check the mount")
    finding = f"{free / MB:,.0f} MB free on {data_dir}"
    hint = "free space: sudo journalctl --vacuum-size=50M; remove old files; a bigger SD card"
    if free < machine.disk_fail_bytes:
        return Check("FAIL", "disk", finding, hint)
    if free < machine.disk_warn_bytes:
        return Check("WARN", "disk", finding, hint)
    if not os.access(where, os.W_OK):
        return Check(
            "WARN",
            "disk",
            f"{finding}, but {where} is not writable by {_user()}",
            "run doctor as the kiosk user (sudo -u kiosk kiosk doctor) or fix the ownership",
        )
    return Check("OK", "disk", finding)


def check_feed(config: Config) -> Check:
    url = config.feed.url
    if urlsplit(url).scheme == "file":
        path = Path(url2pathname(urlsplit(url).path))
        if not path.is_file():
            return Check("FAIL", "feed", f"feed file {path} does not exist", "check [feed] url")
        if config.trust.public_keys and not Path(f"{path}.sig").is_file():
            return Check(
                "FAIL", "feed", f"no signature file {path}.sig", "sign it: kiosk feed sign"
            )
        return Check("OK", "feed", f"file {path} ({path.stat().st_size:,} bytes)")

    from sync.fetch import Fetcher, FetchError, FetchLimits, redact_url

    limits = FetchLimits(
        connect_timeout=min(config.feed.connect_timeout, 5.0),
        read_timeout=min(config.feed.read_timeout, 10.0),
        max_feed_bytes=int(config.feed.max_feed_mb * MB),
        retries=0,
        total_deadline=30.0,
    )
    fetcher = Fetcher(limits)
    try:
        result = fetcher.fetch_feed(url, _validators(config))
        size = (
            "not modified since the copy held"
            if result.not_modified
            else (f"{len(result.body or b''):,} bytes")
        )
        sig = fetcher.fetch_optional(url + ".sig", 4096) if config.trust.public_keys else b""
    except FetchError as exc:
        return Check("FAIL", "feed", str(exc), _fetch_hint(str(exc)))
    if sig is None:
        return Check(
            "FAIL",
            "feed",
            f"{redact_url(url)} has no signature at .sig, and keys are pinned",
            "the county must publish feed.json.sig (kiosk feed sign)",
        )
    return Check("OK", "feed", f"{redact_url(url)} reachable ({size})")


def _validators(config: Config) -> Validators | None:
    """The held feed's ETag, so a healthy terminal costs the county a 304, not a download."""
    if not config.store_path.exists():
        return None
    from sync.fetch import Validators
    from sync.store import Store

    try:
        state = Store(config.store_path).feed_state()
    except SyncError:
        return None
    if state is None or state.feed_url != config.feed.url:
        return None
    return Validators(etag=state.etag, last_modified=state.last_modified)


def _fetch_hint(reason: str) -> str:
    low = reason.lower()
    if "http 404" in low or "http 410" in low:
        return "check [feed] url (the county may have moved the feed)"
    if "tls" in low or "certificate" in low:
        return "check the clock (certificates need the right date) and the county's certificate"
    if "timed out" in low or "deadline" in low:
        return "the network is slow or blocked; check the uplink and any firewall"
    if "name or service" in low or "resolution" in low or "resolve" in low:
        return "DNS cannot resolve the host; check the network settings"
    if "connection" in low:
        return "check the network (cable, Wi-Fi, 4G) and that the county server is up"
    if "http 401" in low or "http 403" in low:
        return "the server refuses this terminal; ask the county to allow it"
    return "check [feed] url and the network"


def check_trust(config: Config) -> Check:
    keys = config.trust.public_keys
    if not keys:
        return Check(
            "WARN",
            "trust",
            "no key pinned: unsigned feeds are accepted (allow_unsigned = true)",
            "pin the county's key in [trust] public_keys and set allow_unsigned = false",
        )
    demo = DEMO_PUBLIC_KEY_FILE.read_text(encoding="ascii").strip()
    if demo in keys and not config.is_demo:
        return Check(
            "WARN",
            "trust",
            "the public demo key is pinned: anyone can sign feeds with it",
            "remove it from [trust] public_keys; pin only the county's key",
        )
    return Check("OK", "trust", f"{len(keys)} signing key(s) pinned")


def check_store(config: Config, now: datetime) -> tuple[Check, datetime | None]:
    """The store's health and the newest feed time it holds (for the clock check)."""
    path = config.store_path
    if not path.exists():
        return Check(
            "WARN", "store", f"no store yet at {path} (never synced)", "run kiosk sync"
        ), None
    from sync.store import Store

    try:
        store = Store(path)
        state = store.feed_state()
        status = store.sync_status()
    except SyncError as exc:
        return Check(
            "FAIL",
            "store",
            str(exc),
            "run as the kiosk user; if the file is damaged, move it aside and run kiosk sync",
        ), None
    newest = state.generated_at if state else None
    held = f"sequence {state.sequence}" if state else "no feed held"
    if status.last_attempt_at is None:
        return Check("WARN", "store", f"{held}; never synced", "run kiosk sync"), newest
    if status.last_result == "failed":
        return Check(
            "WARN",
            "store",
            f"{held}; last sync failed ({status.consecutive_failures} in a row): "
            f"{status.last_error}",
            "see kiosk status; kiosk sync shows the reason",
        ), newest
    age_h = (now - (status.last_success_at or status.last_attempt_at)).total_seconds() / 3600
    last = (status.last_success_at or status.last_attempt_at).isoformat(timespec="seconds")
    if age_h > 24:
        return Check(
            "WARN",
            "store",
            f"{held}; last successful sync {age_h:.0f} h ago ({last})",
            "is the kiosk service running? (systemctl status kiosk)",
        ), newest
    return Check("OK", "store", f"{held}; last sync {last} {status.last_result}"), newest


# ---------------------------------------------------------------------- helpers


def _user() -> str:
    """The account the checks ran as (not ``$USER``, which ``sudo -u`` may leave stale)."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return "the kiosk user"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def _words(bitmap: str) -> list[str]:
    return [w for w in bitmap.split() if all(c in "0123456789abcdefABCDEF" for c in w)]


def _low_bit(bitmap: str, bit: int) -> bool:
    """A bit of a sysfs bitmap's lowest word (the last one, whatever the word size)."""
    words = _words(bitmap)
    return bool(words) and bool(int(words[-1], 16) >> bit & 1)


def _event_number(name: str) -> int:
    digits = name.removeprefix("event")
    return int(digits) if digits.isdigit() else 1 << 30
