"""Screen power for the screen-off hours: detection, each way of switching, and failures.

There is no HDMI sink, CEC adapter, DSI backlight or Raspberry Pi firmware here, so the
commands are stand-in scripts on PATH that record their arguments and answer the way the
real tools do (``vcgencmd`` under KMS answers ``display_power=-1``), and the backlight is
a ``bl_power`` file in a temporary tree shaped like ``/sys/class/backlight``. Those are
the mocks; the module's subprocess handling, threading and retry logic run for real.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk import display_power as dp
from kiosk.display_power import (
    Backlight,
    CecClient,
    CecCtl,
    DisplayPower,
    DisplayPowerError,
    Machine,
    PowerSettings,
    Vcgencmd,
    WlrRandr,
    detect,
)


def tool(bin_dir: Path, name: str, body: str) -> str:
    """A stand-in executable; ``$LOG`` receives one line per call: args, then stdin."""
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\nLOG={bin_dir}/{name}.log\n{body}\n")
    path.chmod(0o755)
    return str(path)


RECORD = 'printf "%s|%s\\n" "$*" "$(cat 2>/dev/null | tr "\\n" " ")" >> "$LOG"'


def calls(bin_dir: Path, name: str) -> list[str]:
    log = bin_dir / f"{name}.log"
    return log.read_text().splitlines() if log.exists() else []


def machine(tmp_path: Path, *, tools: dict[str, str], cec: bool = False,
            backlight: bool = False, wayland: bool = False) -> Machine:  # fmt: skip
    dev = tmp_path / "dev"
    dev.mkdir(parents=True, exist_ok=True)
    if cec:
        (dev / "cec0").touch()
    sys_bl = tmp_path / "sys" / "class" / "backlight"
    sys_bl.mkdir(parents=True, exist_ok=True)
    if backlight:
        (sys_bl / "10-0045").mkdir(exist_ok=True)
        (sys_bl / "10-0045" / "bl_power").write_text("0\n")
    env = {"WAYLAND_DISPLAY": "wayland-1"} if wayland else {}
    return Machine(sys_backlight=sys_bl, dev=dev, which=tools.get, environ=env)


def test_auto_prefers_cec_then_backlight_then_wayland_then_vcgencmd(tmp_path: Path) -> None:
    tools = {"cec-ctl": "/x/cec-ctl", "wlr-randr": "/x/wlr-randr", "vcgencmd": "/x/vcgencmd"}
    auto = PowerSettings()
    assert isinstance(detect(auto, machine(tmp_path, tools=tools, cec=True, backlight=True)),
                      CecCtl)  # fmt: skip
    found = detect(auto, machine(tmp_path / "b", tools=tools, backlight=True, wayland=True))
    assert isinstance(found, Backlight) and found.path.name == "bl_power"
    assert isinstance(detect(auto, machine(tmp_path / "c", tools=tools, wayland=True)), WlrRandr)
    assert isinstance(detect(auto, machine(tmp_path / "d", tools=tools)), Vcgencmd)
    assert detect(auto, machine(tmp_path / "e", tools={})) is None
    # cec-client (cec-utils, which install.sh installs) when cec-ctl is absent.
    only_client = machine(tmp_path / "f", tools={"cec-client": "/x/cec-client"}, cec=True)
    assert isinstance(detect(auto, only_client), CecClient)
    assert detect(PowerSettings(method="none"), machine(tmp_path / "g", tools=tools)) is None


@pytest.mark.parametrize(
    ("method", "needle"),
    [
        ("cec", "neither cec-ctl nor cec-client"),
        ("backlight", "no bl_power"),
        ("wlr-randr", "wlr-randr is not installed"),
        ("vcgencmd", "vcgencmd is not installed"),
    ],
)
def test_an_explicit_method_without_its_tool_says_what_is_missing(
    tmp_path: Path, method: str, needle: str
) -> None:
    with pytest.raises(DisplayPowerError, match=needle) as info:
        detect(PowerSettings(method=method), machine(tmp_path, tools={}))
    assert "\n" not in str(info.value)


def test_cec_ctl_standby_and_wake(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    backend = CecCtl(tool(bin_dir, "cec-ctl", RECORD), "/dev/cec0")
    backend.set_power(False)
    backend.set_power(True)
    assert calls(bin_dir, "cec-ctl") == [
        "-d /dev/cec0 --playback --to 0 --standby|",
        "-d /dev/cec0 --playback --to 0 --image-view-on|",
    ]


def test_cec_client_gets_its_command_on_stdin(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    CecClient(tool(bin_dir, "cec-client", RECORD)).set_power(False)
    assert calls(bin_dir, "cec-client") == ["-s -d 1|standby 0 "]
    no_adapter = CecClient(tool(bin_dir, "cec-nope", 'echo "could not open a connection"'))
    with pytest.raises(DisplayPowerError, match="no CEC adapter"):
        no_adapter.set_power(True)


def test_vcgencmd_under_kms_is_a_failure_not_a_success(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    legacy = Vcgencmd(tool(bin_dir, "vcgencmd", f'{RECORD}\necho "display_power=$2"'))
    legacy.set_power(False)
    assert calls(bin_dir, "vcgencmd") == ["display_power 0|"]
    kms = Vcgencmd(tool(bin_dir / "kms", "vcgencmd", 'echo "display_power=-1"'))
    with pytest.raises(DisplayPowerError, match="not supported under KMS"):
        kms.set_power(False)


def test_wlr_randr_switches_the_named_output(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    WlrRandr(tool(bin_dir, "wlr-randr", RECORD), "HDMI-A-2").set_power(False)
    assert calls(bin_dir, "wlr-randr") == ["--output HDMI-A-2 --off|"]


def test_backlight_writes_bl_power_and_reports_permission(tmp_path: Path) -> None:
    m = machine(tmp_path, tools={}, backlight=True)
    backend = detect(PowerSettings(method="backlight"), m)
    assert isinstance(backend, Backlight)
    backend.set_power(False)
    assert backend.path.read_text() == "4"
    backend.set_power(True)
    assert backend.path.read_text() == "0"
    missing = Backlight(tmp_path / "gone" / "bl_power")
    with pytest.raises(DisplayPowerError, match="cannot write"):
        missing.set_power(False)


def test_failing_command_is_one_line_with_its_message(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    said = 'echo "Failed to open /dev/cec0:\n Permission denied" >&2; exit 1'
    broken = CecCtl(tool(bin_dir, "cec-ctl", said), "/dev/cec0")
    with pytest.raises(DisplayPowerError) as info:
        broken.set_power(False)
    assert str(info.value) == ("cec-ctl exited with 1: Failed to open /dev/cec0: Permission denied")


def test_requests_run_off_the_callers_thread_and_repeat_only_on_change(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    gate = tmp_path / "gate"
    # The stand-in waits until the test opens the gate: a CEC bus that is slow to answer.
    slow = tool(bin_dir, "cec-ctl", f"while [ ! -e {gate} ]; do sleep 0.05; done\n{RECORD}")
    power = DisplayPower(CecCtl(slow, "/dev/cec0"))
    first = power.request(False)
    assert first is not None and not first.done()  # the caller did not wait
    assert power.request(False) is None  # the same state again: nothing sent
    gate.touch()
    first.result(timeout=30)
    assert power.applied is False and power.last_error == ""
    power.request(True).result(timeout=30)  # type: ignore[union-attr]
    assert [c.split("|")[0].split()[-1] for c in calls(bin_dir, "cec-ctl")] == [
        "--standby", "--image-view-on",
    ]  # fmt: skip
    power.close()
    assert power.request(False) is None  # closed: ignored, not raised


def test_a_failure_is_kept_and_retried_later(tmp_path: Path, caplog) -> None:
    bin_dir = tmp_path / "bin"
    flag = tmp_path / "tv-plugged-in"
    script = tool(
        bin_dir, "cec-ctl", f'[ -e {flag} ] || {{ echo "No reply" >&2; exit 1; }}\n{RECORD}'
    )
    now = [0.0]
    power = DisplayPower(CecCtl(script, "/dev/cec0"), clock=lambda: now[0])
    power.request(False).result(timeout=30)  # type: ignore[union-attr]
    assert power.applied is None and "No reply" in power.last_error
    assert any("display power off via cec failed" in r.getMessage() for r in caplog.records)
    now[0] += dp.RETRY_SECONDS - 1
    assert power.request(False) is None  # not yet: no CEC message every minute
    flag.touch()
    now[0] += 1
    power.request(False).result(timeout=30)  # type: ignore[union-attr]
    assert power.applied is False and power.last_error == ""
    power.close()


def test_no_backend_means_requests_are_ignored() -> None:
    power = DisplayPower(None)
    assert power.method == "none" and power.request(False) is None
    power.close()
