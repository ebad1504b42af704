"""Terminal configuration from TOML, validated up front with one-line messages.

Unknown keys are errors, not warnings: a technician who types ``regoin_code`` on a
terminal three hours' drive away should learn it at start-up, not from a blank screen.

Where the configuration comes from, first match wins: ``--config FILE``; the
``KIOSK_CONFIG`` environment variable; ``/etc/kiosk/kiosk.toml`` on a terminal; and
otherwise the bundled demo (offline, signed with the demo key, data under the user's data
directory) so that ``kiosk run`` on a laptop just works.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from platformdirs import user_data_path

from kiosk.display_power import METHODS as POWER_METHODS
from kiosk.display_power import PowerSettings
from sync import trust

SYSTEM_CONFIG = Path("/etc/kiosk/kiosk.toml")
ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEMO_FEED = ASSETS / "demo" / "feed" / "feed.json"
DEMO_PUBLIC_KEY_FILE = ASSETS / "demo" / "demo-key.pub"
MODES = ("touch", "signage", "led")
_REGION = re.compile(r"^\d{6}(\d{3}(\d{3})?)?$")
_TERMINAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ConfigError(ValueError):
    """A configuration problem; ``str()`` is one line naming the file, section and key."""


@dataclass(frozen=True)
class TerminalConfig:
    id: str
    region_code: str
    name: str = ""
    mode: str = "touch"


@dataclass(frozen=True)
class FeedConfig:
    url: str
    sync_minutes: float = 15.0
    jitter_seconds: float = 120.0
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 120.0  # one fetch, retries and a trickling body included
    max_feed_mb: float = 32.0
    max_media_mb: float = 8.0
    max_media_megapixels: float = 40.0


@dataclass(frozen=True)
class TrustConfig:
    public_keys: tuple[str, ...] = ()
    allow_unsigned: bool = False


@dataclass(frozen=True)
class DisplayConfig:
    width: int = 1920
    height: int = 1080
    fullscreen: bool = True
    font: str = ""  # a .ttf/.otf/.ttc path; empty: search the usual system paths
    chars_per_minute: float = 150.0
    page_min_seconds: float = 8.0
    page_max_seconds: float = 45.0
    urgent_every: int = 8
    idle_timeout_seconds: float = 90.0
    ticker: bool = True
    # How the panel is mounted, turned clockwise: 90/270 for a landscape panel hung as a
    # portrait one. width/height stay the picture as residents see it (1080x1920).
    rotation: int = 0


@dataclass(frozen=True)
class ScheduleConfig:
    screen_on: time | None = None
    screen_off: time | None = None
    power: PowerSettings = field(default_factory=PowerSettings)

    def screen_is_off(self, now: time) -> bool:
        """Screen-off hours may wrap past midnight (off 21:00, on 07:00)."""
        if self.screen_on is None or self.screen_off is None or self.screen_on == self.screen_off:
            return False
        if self.screen_off > self.screen_on:
            return self.screen_off <= now or now < self.screen_on
        return self.screen_off <= now < self.screen_on


@dataclass(frozen=True)
class OpsConfig:
    """What the county sees: heartbeat, Prometheus textfile, play-log size."""

    heartbeat_url: str = ""  # empty: no heartbeat
    heartbeat_token: str = ""  # sent as "Authorization: Bearer <token>" when set
    heartbeat_minutes: float = 5.0
    metrics_textfile: str = ""  # empty: no metrics file
    playlog_max_rows: int = 500_000


@dataclass(frozen=True)
class TechnicianConfig:
    pin_hash: str = ""


@dataclass(frozen=True)
class Config:
    terminal: TerminalConfig
    feed: FeedConfig
    trust: TrustConfig
    data_dir: Path
    display: DisplayConfig = field(default_factory=DisplayConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    technician: TechnicianConfig = field(default_factory=TechnicianConfig)
    ops: OpsConfig = field(default_factory=OpsConfig)
    source: str = "<built-in demo>"

    @property
    def store_path(self) -> Path:
        return self.data_dir / "store.sqlite3"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def playlog_path(self) -> Path:
        return self.data_dir / "playlog.sqlite3"

    @property
    def heartbeat_dir(self) -> Path:
        return self.data_dir / "heartbeat"

    @property
    def is_demo(self) -> bool:
        return self.source == "<built-in demo>"


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Load the configuration in force (see the module docstring for the search order)."""
    if path is None:
        env = os.environ.get("KIOSK_CONFIG")
        if env:
            path = env
        elif SYSTEM_CONFIG.exists():
            path = SYSTEM_CONFIG
        else:
            return demo_config()
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config {path}: file not found") from exc
    except OSError as exc:
        raise ConfigError(f"config {path}: cannot read: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {path}: not valid TOML: {exc}") from exc
    return from_dict(raw, source=str(path), base_dir=path.parent)


def demo_config() -> Config:
    """The bundled demo: a 柳塘村 terminal reading the shipped, signed demo feed offline."""
    key = DEMO_PUBLIC_KEY_FILE.read_text(encoding="ascii").strip()
    return Config(
        terminal=TerminalConfig(
            id="DEMO-LT-001", region_code="360999101201", name="柳塘村党群服务中心（演示）"
        ),
        feed=FeedConfig(url=DEMO_FEED.as_uri(), sync_minutes=60.0, jitter_seconds=0.0),
        trust=TrustConfig(public_keys=(key,)),
        data_dir=user_data_path("disclosure-kiosk") / "demo",
        display=DisplayConfig(fullscreen=True),
    )


_SECTIONS: dict[str, set[str]] = {
    "terminal": {"id", "region_code", "name", "mode"},
    "feed": set(FeedConfig.__dataclass_fields__),
    "trust": {"public_keys", "allow_unsigned"},
    "paths": {"data_dir"},
    "display": set(DisplayConfig.__dataclass_fields__),
    "schedule": {
        "screen_on",
        "screen_off",
        "display_power",
        "cec_device",
        "wlr_output",
        "backlight",
    },
    "technician": {"pin_hash"},
    "heartbeat": {"url", "every_minutes", "token"},
    "metrics": {"textfile"},
    "playlog": {"max_rows"},
}


def from_dict(raw: dict[str, Any], *, source: str, base_dir: Path | None = None) -> Config:
    def fail(section: str, key: str, problem: str) -> ConfigError:
        return ConfigError(f"config {source}: [{section}] {key} {problem}")

    for section, value in raw.items():
        if section not in _SECTIONS:
            raise ConfigError(f"config {source}: unknown section [{section}]")
        if not isinstance(value, dict):
            raise ConfigError(f"config {source}: [{section}] must be a table")
        unknown = set(value) - _SECTIONS[section]
        if unknown:
            raise fail(section, sorted(unknown)[0], "is not a known key (a typo?)")

    def get(section: str, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        value = raw.get(section, {}).get(key, default)
        if value is None:
            if default is None:
                raise fail(section, key, "is required")
            return default
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise fail(section, key, f"must be a {name}, not {type(value).__name__}")
        return value

    def positive(section: str, key: str, default: float) -> float:
        value = get(section, key, float, default)
        if value <= 0:
            raise fail(section, key, "must be greater than 0")
        return value

    terminal_id = get("terminal", "id", str)
    if not _TERMINAL_ID.match(terminal_id):
        raise fail("terminal", "id", "must be 1-64 letters, digits, '.', '_' or '-'")
    region = get("terminal", "region_code", str)
    if not _REGION.match(region):
        raise fail("terminal", "region_code", "must be a 6, 9 or 12 digit 区划代码")
    mode = get("terminal", "mode", str, "touch")
    if mode not in MODES:
        raise fail("terminal", "mode", f"must be one of {', '.join(MODES)}")
    terminal = TerminalConfig(
        id=terminal_id, region_code=region, name=get("terminal", "name", str, ""), mode=mode
    )

    url = get("feed", "url", str)
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https", "file"):
        raise fail("feed", "url", "must be an https://, http:// or file:// URL")
    feed = FeedConfig(
        url=url,
        **{
            k: positive("feed", k, getattr(FeedConfig, k))
            for k in FeedConfig.__dataclass_fields__
            if k not in ("url", "jitter_seconds")
        },
        jitter_seconds=get("feed", "jitter_seconds", float, FeedConfig.jitter_seconds),
    )

    keys = get("trust", "public_keys", list, [])
    for key in keys:
        if not isinstance(key, str):
            raise fail("trust", "public_keys", "must be a list of base64 strings")
        try:
            trust.load_public_key(key)
        except ValueError as exc:
            raise fail("trust", "public_keys", f"has a bad key: {exc}") from exc
    trust_cfg = TrustConfig(
        public_keys=tuple(keys), allow_unsigned=get("trust", "allow_unsigned", bool, False)
    )
    if not keys and not trust_cfg.allow_unsigned:
        raise ConfigError(
            f"config {source}: [trust] public_keys is empty and allow_unsigned is false;"
            " pin the county's key (or set allow_unsigned = true for a test terminal)"
        )

    data_dir = Path(get("paths", "data_dir", str, "/var/lib/kiosk")).expanduser()
    if not data_dir.is_absolute() and base_dir is not None:
        data_dir = base_dir / data_dir

    d = DisplayConfig()
    display_raw = raw.get("display", {})
    display_kwargs: dict[str, Any] = {}
    for key, default in vars(d).items():
        kind = type(default)
        if key in display_raw:
            display_kwargs[key] = get("display", key, kind, default)
    display = DisplayConfig(**display_kwargs)
    if not (64 <= display.width <= 7680 and 32 <= display.height <= 4320):
        raise fail("display", "width/height", "must be within 64x32 .. 7680x4320")
    if display.page_min_seconds > display.page_max_seconds:
        raise fail("display", "page_min_seconds", "is larger than page_max_seconds")
    if display.urgent_every < 1:
        raise fail("display", "urgent_every", "must be at least 1")
    if display.rotation not in (0, 90, 180, 270):
        raise fail("display", "rotation", "must be 0, 90, 180 or 270")

    schedule = ScheduleConfig(
        screen_on=_clock_time(raw, "screen_on", fail),
        screen_off=_clock_time(raw, "screen_off", fail),
        power=PowerSettings(
            method=get("schedule", "display_power", str, "auto"),
            cec_device=get("schedule", "cec_device", str, "/dev/cec0"),
            wlr_output=get("schedule", "wlr_output", str, "HDMI-A-1"),
            backlight=get("schedule", "backlight", str, ""),
        ),
    )
    if schedule.power.method not in POWER_METHODS:
        raise fail("schedule", "display_power", f"must be one of {', '.join(POWER_METHODS)}")
    if not schedule.power.cec_device.startswith("/dev/"):
        raise fail("schedule", "cec_device", 'must be a device path like "/dev/cec0"')
    if "/" in schedule.power.backlight or schedule.power.backlight.startswith("."):
        raise fail("schedule", "backlight", "must be a name under /sys/class/backlight")
    if (schedule.screen_on is None) != (schedule.screen_off is None):
        raise fail("schedule", "screen_on/screen_off", "must be given together")

    heartbeat_url = get("heartbeat", "url", str, "")
    if heartbeat_url and urlsplit(heartbeat_url).scheme not in ("http", "https"):
        raise fail("heartbeat", "url", "must be an https:// or http:// URL")
    token = get("heartbeat", "token", str, "")
    if token and not re.fullmatch(r"[A-Za-z0-9._~+/=-]{16,512}", token):
        raise fail("heartbeat", "token", "must be 16-512 characters of A-Z a-z 0-9 . _ ~ + / = -")
    if token and not heartbeat_url:
        raise fail("heartbeat", "token", "is set but [heartbeat] url is not")
    parts = urlsplit(heartbeat_url)
    if token and parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "::1", "localhost"):
        raise fail("heartbeat", "token", "is sent only over https:// (or to this machine)")
    textfile = get("metrics", "textfile", str, "")
    if textfile and not textfile.endswith(".prom"):
        raise fail("metrics", "textfile", "must end in .prom (node_exporter reads *.prom)")
    max_rows = get("playlog", "max_rows", int, 500_000)
    if max_rows < 1000:
        raise fail("playlog", "max_rows", "must be at least 1000")
    ops = OpsConfig(
        heartbeat_url=heartbeat_url,
        heartbeat_token=token,
        heartbeat_minutes=positive("heartbeat", "every_minutes", 5.0),
        metrics_textfile=textfile,
        playlog_max_rows=max_rows,
    )

    return Config(
        terminal=terminal,
        feed=feed,
        trust=trust_cfg,
        data_dir=data_dir,
        display=display,
        schedule=schedule,
        technician=TechnicianConfig(pin_hash=get("technician", "pin_hash", str, "")),
        ops=ops,
        source=source,
    )


def _clock_time(raw: dict[str, Any], key: str, fail: Any) -> time | None:
    value = raw.get("schedule", {}).get(key)
    if value is None:
        return None
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        try:
            return time.fromisoformat(value)
        except ValueError:
            pass
    raise fail("schedule", key, 'must be a time like "07:30"')
