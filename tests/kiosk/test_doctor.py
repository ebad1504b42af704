"""``kiosk doctor`` on temporary terminals: real configs, a real feed server, real files.

Machine-level checks read a prepared tree in the same layout as ``/sys/class/input`` and
``/dev/input``, because this machine has no input devices or RTC to look at.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from kiosk import display_power as pm
from kiosk.config import ASSETS, load
from kiosk.doctor import (
    Check,
    Machine,
    check_display_power,
    check_gl,
    check_touch,
    exit_status,
    run_checks,
)
from kiosk.terminal import make_coordinator
from sync import trust
from tests.conftest import write_config

REPO = Path(__file__).resolve().parents[2]
DEMO = ASSETS / "demo"
DEMO_PUB = (DEMO / "demo-key.pub").read_text().strip()
LINE = re.compile(r"^(OK|WARN|FAIL) +([a-z]+): (.+?)(?: — (.+))?$")


def parse(lines: list[str]) -> dict[str, tuple[str, str, str]]:
    """``{check: (level, finding, hint)}``, asserting the one-line format."""
    found = {}
    for line in lines:
        m = LINE.match(line)
        assert m, f"bad doctor line: {line!r}"
        assert "\n" not in line and line[:6].rstrip() == m.group(1)  # level in a 6-wide column
        found[m.group(2)] = (m.group(1), m.group(3), m.group(4) or "")
    return found


def checks_of(checks: list[Check]) -> dict[str, tuple[str, str, str]]:
    return parse([c.line() for c in checks])


def machine(tmp_path: Path, **kw: object) -> Machine:
    (tmp_path / "sys").mkdir(exist_ok=True)
    (tmp_path / "dev").mkdir(exist_ok=True)
    kw.setdefault("rtc", (tmp_path / "rtc0",))
    kw.setdefault("timedatectl", None)
    return Machine(input_sys=tmp_path / "sys", input_dev=tmp_path / "dev", **kw)  # type: ignore[arg-type]


def input_device(root: Path, node: str, name: str, properties: str = "0", abs_: str = "0") -> Path:
    """One device as the kernel lays it out: sysfs attributes and a /dev node."""
    device = root / "sys" / node / "device"
    (device / "capabilities").mkdir(parents=True)
    (device / "name").write_text(name + "\n")
    (device / "properties").write_text(properties + "\n")
    (device / "capabilities" / "abs").write_text(abs_ + "\n")
    dev = root / "dev" / node
    dev.parent.mkdir(exist_ok=True)
    dev.write_bytes(b"")
    return dev


def config_file(
    tmp_path: Path, url: str, key: str = DEMO_PUB, *, mode: str = "signage", **kw: object
) -> Path:
    kw.setdefault("public_keys", [key])
    path = write_config(tmp_path / "kiosk.toml", url=url, data_dir=tmp_path / "data", **kw)  # type: ignore[arg-type]
    path.write_text(path.read_text().replace('mode = "signage"', f'mode = "{mode}"'))
    return path


@pytest.fixture
def county(httpserver: HTTPServer, county_key: tuple[str, str]) -> Iterator[tuple[str, str]]:
    """``(feed url, public key)``: the demo feed signed with a county's own key, with ETags
    so that a terminal holding the feed costs the server a 304."""
    body = (DEMO / "feed" / "feed.json").read_bytes()
    sig = trust.sign(body, county_key[0]).encode("ascii")
    etag = '"demo-1"'

    def feed(request: Request) -> Response:
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(body, content_type="application/feed+json", headers={"ETag": etag})

    httpserver.expect_request("/feed.json").respond_with_handler(feed)
    httpserver.expect_request("/feed.json.sig").respond_with_data(sig)
    for media in (DEMO / "feed" / "media").iterdir():
        httpserver.expect_request(f"/media/{media.name}").respond_with_data(media.read_bytes())
    yield httpserver.url_for("/feed.json"), county_key[1]


def test_healthy_terminal_then_synced(county: tuple[str, str], tmp_path: Path) -> None:
    path = config_file(tmp_path, *county)
    (tmp_path / "rtc0").write_bytes(b"")
    found = checks_of(run_checks(path, skip_gl=True, machine=machine(tmp_path)))
    assert list(found) == [
        "config", "font", "gl", "touch", "display", "clock", "disk", "feed", "trust",
        "store",
    ]  # fmt: skip
    levels = {name: level for name, (level, _, _) in found.items()}
    assert levels == {
        "config": "OK", "font": "OK", "gl": "OK", "touch": "OK", "display": "OK",
        "clock": "OK",
        "disk": "OK", "feed": "OK", "trust": "OK", "store": "WARN",
    }  # fmt: skip
    assert "LT-TEST-01" in found["config"][1] and "signage" in found["config"][1]
    assert "not needed in signage mode" in found["touch"][1]
    assert "RTC" in found["clock"][1]
    assert "reachable" in found["feed"][1] and "bytes" in found["feed"][1]
    assert "never synced" in found["store"][1] and "kiosk sync" in found["store"][2]

    assert make_coordinator(load(path)).sync().result == "updated"
    checks = run_checks(path, skip_gl=True, machine=machine(tmp_path))
    found = checks_of(checks)
    assert found["store"][0] == "OK" and "updated" in found["store"][1]
    assert "not modified" in found["feed"][1]  # the held ETag: no download
    assert exit_status(checks) == 0


def test_missing_feed_is_a_fail_line_with_a_hint(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/feed.json").respond_with_data("gone", status=404)
    path = config_file(tmp_path, httpserver.url_for("/feed.json"))
    result = subprocess.run(
        [sys.executable, "-m", "kiosk.ops_cli", "doctor", "--config", str(path), "--skip-gl"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    found = parse(result.stdout.splitlines())
    level, finding, hint = found["feed"]
    assert level == "FAIL" and "HTTP 404" in finding and "[feed] url" in hint
    assert found["config"][0] == "OK"

    as_json = subprocess.run(
        [sys.executable, "-m", "kiosk.ops_cli", "doctor", "--config", str(path), "--skip-gl",
         "--json"],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert as_json.returncode == 1
    rows = {r["name"]: r for r in json.loads(as_json.stdout)}
    assert rows["feed"]["level"] == "FAIL" and rows["feed"]["hint"] == hint


def test_unreachable_server_and_missing_files(tmp_path: Path) -> None:
    path = config_file(tmp_path, f"http://127.0.0.1:{closed_port()}/feed.json")
    level, finding, hint = checks_of(run_checks(path, skip_gl=True, machine=machine(tmp_path)))[
        "feed"
    ]
    assert level == "FAIL" and "connection" in finding and "network" in hint

    missing = tmp_path / "nowhere" / "feed.json"
    path = config_file(tmp_path, missing.as_uri())
    found = checks_of(run_checks(path, skip_gl=True, machine=machine(tmp_path)))
    assert found["feed"][0] == "FAIL" and str(missing) in found["feed"][1]

    unsigned = tmp_path / "feed.json"
    shutil.copy(DEMO / "feed" / "feed.json", unsigned)
    path = config_file(tmp_path, unsigned.as_uri())
    found = checks_of(run_checks(path, skip_gl=True, machine=machine(tmp_path)))
    assert found["feed"][0] == "FAIL" and ".sig" in found["feed"][1]


def closed_port() -> int:
    """A loopback port that was free a moment ago: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_touch_devices(tmp_path: Path) -> None:
    m = machine(tmp_path)
    level, finding, hint = checks_of([check_touch("touch", m)])["touch"]
    assert level == "WARN" and "none" in finding and "dmesg" in hint

    input_device(tmp_path, "event1", "SynPS/2 Synaptics TouchPad", properties="5", abs_="3")
    input_device(tmp_path, "event2", "AT Translated Set 2 keyboard")
    level, finding, _ = checks_of([check_touch("touch", m)])["touch"]
    assert level == "WARN" and "TouchPad" in finding  # a touchpad is not a touchscreen

    # Found by its properties (INPUT_PROP_DIRECT + absolute axes), whatever its name.
    input_device(tmp_path, "event10", "generic panel", properties="2", abs_="260800000000003")
    input_device(tmp_path, "event3", "Goodix Capacitive TouchScreen")
    level, finding, _ = checks_of([check_touch("touch", m)])["touch"]
    assert level == "OK" and "event3 'Goodix Capacitive TouchScreen'" in finding
    assert "event10 'generic panel'" in finding and "keyboard" not in finding
    assert finding.index("event3") < finding.index("event10")  # numeric order

    level, finding, _ = checks_of([check_touch("led", m)])["touch"]
    assert level == "OK" and "not needed in led mode" in finding


def test_touchscreen_unreadable_by_the_user(tmp_path: Path) -> None:
    """Runs the check as an unprivileged user (root can read anything)."""
    root = Path(tempfile.mkdtemp(prefix="kiosk-doctor-"))
    try:
        root.chmod(0o755)
        dev = input_device(root, "event0", "ILITEK ILITEK-TP")
        dev.chmod(0o000)
        for d in (root / "sys", root / "dev", *root.joinpath("sys").rglob("*")):
            if d.is_dir():
                d.chmod(0o755)
        m = Machine(input_sys=root / "sys", input_dev=root / "dev")
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child drops to nobody, checks, reports through the pipe
            try:
                if os.geteuid() == 0:
                    os.setgroups([])
                    os.setgid(65534)
                    os.setuid(65534)
                os.write(write_fd, check_touch("touch", m).line().encode())
            finally:
                os._exit(0)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as pipe:
            output = pipe.read().decode()
        os.waitpid(pid, 0)
        level, finding, hint = parse([output])["touch"]
        assert level == "WARN" and "not readable" in finding and "ILITEK" in finding
        assert "usermod -aG input" in hint
        if os.geteuid() == 0:
            assert "nobody" in finding  # the check names the account it ran as
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_clock_sources(county: tuple[str, str], tmp_path: Path) -> None:
    path = config_file(tmp_path, *county)
    stub = tmp_path / "timedatectl"

    def with_ntp(answer: str) -> tuple[str, str, str]:
        stub.write_text(f"#!/bin/sh\necho {answer}\n")
        stub.chmod(0o755)
        m = machine(tmp_path, timedatectl=str(stub))
        return checks_of(run_checks(path, skip_gl=True, machine=m))["clock"]

    assert with_ntp("yes")[:2] == ("OK", "NTP synchronized, no RTC")
    level, finding, hint = with_ntp("no")
    assert level == "WARN" and "no RTC" in finding and "set-ntp" in hint and "RTC" in hint

    # A clock behind the newest feed held (a board without RTC that booted in 1970).
    make_coordinator(load(path)).sync()
    m = machine(tmp_path)
    past = datetime(2020, 1, 1, tzinfo=UTC)
    level, finding, _ = checks_of(run_checks(path, skip_gl=True, machine=m, now=past))["clock"]
    assert level == "WARN" and "behind" in finding


def test_disk_thresholds(county: tuple[str, str], tmp_path: Path) -> None:
    path = config_file(tmp_path, *county)
    free = shutil.disk_usage(tmp_path).free
    warn = machine(tmp_path, disk_warn_bytes=free * 4, disk_fail_bytes=1)
    fail = machine(tmp_path, disk_warn_bytes=free * 4, disk_fail_bytes=free * 2)
    assert checks_of(run_checks(path, skip_gl=True, machine=warn))["disk"][0] == "WARN"
    checks = run_checks(path, skip_gl=True, machine=fail)
    assert checks_of(checks)["disk"][0] == "FAIL" and exit_status(checks) == 1


def test_trust_warnings(county: tuple[str, str], tmp_path: Path) -> None:
    path = config_file(tmp_path, *county, public_keys=[], allow_unsigned=True)
    level, finding, hint = checks_of(run_checks(path, skip_gl=True, machine=machine(tmp_path)))[
        "trust"
    ]
    assert level == "WARN" and "unsigned" in finding and "public_keys" in hint

    path = config_file(tmp_path, county[0], DEMO_PUB)  # a real terminal, the demo key
    level, finding, _ = checks_of(run_checks(path, skip_gl=True, machine=machine(tmp_path)))[
        "trust"
    ]
    assert level == "WARN" and "demo key" in finding


def test_bad_config_and_damaged_store(county: tuple[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[terminal]\nid = "x"\nregoin_code = "1"\n')
    checks = run_checks(bad, skip_gl=True, machine=machine(tmp_path))
    found = checks_of(checks)
    assert found["config"][0] == "FAIL" and "regoin_code" in found["config"][1]
    assert "feed" not in found and exit_status(checks) == 1

    path = config_file(tmp_path, *county)
    store = load(path).store_path
    store.parent.mkdir(parents=True)
    store.write_bytes(b"garbage, not SQLite" * 64)
    found = checks_of(run_checks(path, skip_gl=True, machine=machine(tmp_path)))
    assert found["store"][0] == "FAIL" and "move it aside" in found["store"][2]


def test_stale_sync_is_a_warning(county: tuple[str, str], tmp_path: Path) -> None:
    path = config_file(tmp_path, *county)
    make_coordinator(load(path)).sync()
    later = datetime.now(UTC) + timedelta(days=3)
    found = checks_of(run_checks(path, skip_gl=True, machine=machine(tmp_path), now=later))
    assert found["store"][0] == "WARN" and "h ago" in found["store"][1]


def test_real_gl_probe_reports_software_rendering() -> None:
    """This machine renders with Mesa llvmpipe: the probe must see it and warn."""
    level, finding, hint = checks_of([check_gl(Machine())])["gl"]
    assert level == "WARN", finding
    assert "llvmpipe" in finding and "software rendering" in finding
    assert "GPU" in hint or "video,render" in hint


def test_screen_power(tmp_path: Path) -> None:
    """What the doctor says of the screen-off hours. The tools are stand-in scripts and the
    CEC device an empty file: no HDMI sink or CEC adapter here (see test_display_power)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tools: dict[str, str] = {}

    def stand_in(name: str, answer: str) -> None:
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\necho '{answer}'\n")
        path.chmod(0o755)
        tools[name] = str(path)

    def check(extra: str, *, cec: bool = False) -> tuple[str, str, str]:
        dev = tmp_path / "pdev"
        dev.mkdir(exist_ok=True)
        (dev / "cec0").unlink(missing_ok=True)
        if cec:
            (dev / "cec0").touch()
        power = pm.Machine(sys_backlight=tmp_path / "nobl", dev=dev, which=tools.get, environ={})
        path = config_file(tmp_path, "https://feed.example.gov.cn/feed.json", extra=extra)
        m = machine(tmp_path, power=power)
        return checks_of([check_display_power(load(path), m)])["display"]

    hours = '[schedule]\nscreen_off = "21:00"\nscreen_on = "07:00"\n'
    assert check("")[0] == "OK" and "not needed" in check("")[1]
    level, finding, hint = check(hours)
    assert level == "WARN" and "black only" in finding and "cec-utils" in hint
    stand_in("vcgencmd", "display_power=-1")
    level, finding, _ = check(hours)
    assert level == "WARN" and "not supported under KMS" in finding
    stand_in("cec-client", "")
    level, finding, _ = check(hours, cec=True)
    assert level == "OK" and "off 21:00, on 07:00: cec" in finding
    level, finding, _ = check(hours + 'display_power = "wlr-randr"\n')
    assert level == "WARN" and "wlr-randr is not installed" in finding
