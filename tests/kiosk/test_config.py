from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from kiosk import config as config_mod
from kiosk.config import ConfigError, ScheduleConfig, demo_config, from_dict, load


def base(public_key: str) -> dict:
    return {
        "terminal": {"id": "LT-01", "region_code": "360999101201"},
        "feed": {"url": "https://feed.example.gov.cn/feed.json"},
        "trust": {"public_keys": [public_key]},
        "paths": {"data_dir": "/var/lib/kiosk"},
    }


def test_minimal_config_gets_defaults(county_key) -> None:
    cfg = from_dict(base(county_key[1]), source="t.toml")
    assert cfg.terminal.mode == "touch"
    assert cfg.feed.sync_minutes == 15
    assert cfg.feed.total_timeout == 120
    assert cfg.display.idle_timeout_seconds == 90
    assert cfg.store_path == Path("/var/lib/kiosk/store.sqlite3")


@pytest.mark.parametrize(
    ("section", "key", "value", "needle"),
    [
        ("terminal", "region_code", "3609", "6, 9 or 12 digit"),
        ("terminal", "id", "终端 1", "letters, digits"),
        ("terminal", "mode", "tv", "one of touch, signage, led"),
        ("terminal", "regoin_code", "360999", "not a known key"),
        ("feed", "url", "ftp://x/feed.json", "https://"),
        ("feed", "sync_minutes", 0, "greater than 0"),
        ("feed", "total_timeout", -1, "greater than 0"),
        ("feed", "sync_minutes", "15", "must be a float"),
        ("trust", "public_keys", ["bm90IGEga2V5"], "bad key"),
        ("trust", "allow_unsigned", "yes", "must be a bool"),
        ("display", "width", 10, "within"),
        ("schedule", "screen_on", "7 o'clock", "time like"),
        ("schedule", "display_power", "dpms", "one of auto, cec"),
        ("schedule", "cec_device", "cec0", "device path"),
        ("schedule", "backlight", "../../etc", "name under /sys/class/backlight"),
        ("display", "rotation", 45, "0, 90, 180 or 270"),
        ("heartbeat", "token", "short", "16-512 characters"),
        ("heartbeat", "token", "x" * 20 + "\n", "16-512 characters"),
    ],
)
def test_bad_values_are_named_in_one_line(county_key, section, key, value, needle) -> None:
    raw = base(county_key[1])
    raw.setdefault(section, {})[key] = value
    if section == "schedule" and key != "screen_off":
        raw["schedule"].setdefault("screen_on", "07:00")
        raw["schedule"]["screen_off"] = "21:00"
    if section == "heartbeat":
        raw["heartbeat"]["url"] = "https://county.example.gov.cn/hb"
    with pytest.raises(ConfigError) as info:
        from_dict(raw, source="/etc/kiosk/kiosk.toml")
    message = str(info.value)
    assert needle in message and "\n" not in message
    assert message.startswith("config /etc/kiosk/kiosk.toml:")


def test_heartbeat_token_needs_https_except_on_this_machine(county_key) -> None:
    raw = base(county_key[1])
    raw["heartbeat"] = {"url": "http://county.example.gov.cn/hb", "token": "t" * 24}
    with pytest.raises(ConfigError, match="only over https"):
        from_dict(raw, source="k.toml")
    raw["heartbeat"]["url"] = "http://127.0.0.1:8080/hb"
    assert from_dict(raw, source="k.toml").ops.heartbeat_token == "t" * 24
    raw["heartbeat"] = {"token": "t" * 24}
    with pytest.raises(ConfigError, match="url is not"):
        from_dict(raw, source="k.toml")


def test_display_power_and_rotation_settings(county_key) -> None:
    raw = base(county_key[1])
    assert from_dict(raw, source="k.toml").schedule.power.method == "auto"
    raw["display"] = {"rotation": 90, "width": 1080, "height": 1920}
    raw["schedule"] = {"display_power": "cec", "cec_device": "/dev/cec1"}
    cfg = from_dict(raw, source="k.toml")
    assert cfg.display.rotation == 90 and (cfg.display.width, cfg.display.height) == (1080, 1920)
    assert (cfg.schedule.power.method, cfg.schedule.power.cec_device) == ("cec", "/dev/cec1")


def test_missing_required_key(county_key) -> None:
    raw = base(county_key[1])
    del raw["feed"]["url"]
    with pytest.raises(ConfigError, match=r"\[feed\] url is required"):
        from_dict(raw, source="x")


def test_no_keys_needs_explicit_allow_unsigned(county_key) -> None:
    raw = base(county_key[1])
    raw["trust"] = {"public_keys": []}
    with pytest.raises(ConfigError, match="allow_unsigned"):
        from_dict(raw, source="x")
    raw["trust"]["allow_unsigned"] = True
    assert from_dict(raw, source="x").trust.allow_unsigned is True


def test_load_reports_toml_errors(tmp_path: Path) -> None:
    path = tmp_path / "k.toml"
    path.write_text("[terminal\nid=1", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(path)
    with pytest.raises(ConfigError, match="file not found"):
        load(tmp_path / "missing.toml")


def test_no_config_means_the_demo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    monkeypatch.setattr(config_mod, "SYSTEM_CONFIG", tmp_path / "absent.toml")
    cfg = load(None)
    assert cfg.is_demo and cfg.feed.url.startswith("file://")
    assert cfg.trust.public_keys == demo_config().trust.public_keys


def test_environment_variable_names_the_file(monkeypatch, tmp_path: Path, county_key) -> None:
    path = tmp_path / "k.toml"
    path.write_text(
        f"""[terminal]\nid = "A-1"\nregion_code = "360999"\n[feed]\nurl = "https://x/f.json"\n"""
        f"""[trust]\npublic_keys = ["{county_key[1]}"]\n[paths]\ndata_dir = "data"\n""",
        encoding="utf-8",
    )
    monkeypatch.setenv("KIOSK_CONFIG", str(path))
    cfg = load(None)
    assert cfg.terminal.id == "A-1"
    assert cfg.data_dir == tmp_path / "data"  # relative to the config file


@pytest.mark.parametrize(
    ("on", "off", "now", "is_off"),
    [
        ("07:00", "21:00", "06:59", True),
        ("07:00", "21:00", "07:00", False),
        ("07:00", "21:00", "20:59", False),
        ("07:00", "21:00", "21:00", True),
        ("07:00", "21:00", "23:30", True),
        ("22:00", "06:00", "03:00", False),  # on at night, off by day (a night market)
        ("22:00", "06:00", "12:00", True),
    ],
)
def test_screen_off_hours_wrap_midnight(on: str, off: str, now: str, is_off: bool) -> None:
    sched = ScheduleConfig(screen_on=time.fromisoformat(on), screen_off=time.fromisoformat(off))
    assert sched.screen_is_off(time.fromisoformat(now)) is is_off
