"""Switch the screen itself off and on for the ``[schedule]`` screen-off hours.

A black picture still burns a TV's backlight and an LED wall's modules all night, so the
app asks the hardware to power down. Which way works depends on the terminal:

- ``cec``: an HDMI TV or monitor with HDMI-CEC, put into standby and woken by a CEC
  message (``cec-ctl`` from v4l-utils, or ``cec-client`` from cec-utils, which
  ``deploy/install.sh`` installs). The usual case under KMS on Raspberry Pi OS Bookworm.
- ``backlight``: a DSI or SPI panel (the official Raspberry Pi touch display) whose
  backlight the kernel exposes as ``/sys/class/backlight/*/bl_power``.
- ``wlr-randr``: only when the kiosk runs under a wlroots Wayland compositor (labwc,
  wayfire, cage); the console kiosk has none.
- ``vcgencmd``: ``vcgencmd display_power``, which works only on the legacy firmware
  display stack (Bullseye and older without ``vc4-kms-v3d``); Bookworm answers
  "Command not registered", which this module reports as a failure, not a success.

``auto`` picks the first that this machine has, in that order. When none works the app
still shows black and stops rendering, and ``kiosk doctor`` says so.

No Kivy here: the commands run on a worker thread of their own, so a CEC bus that takes
seconds to answer never stalls the UI thread or the systemd watchdog.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

METHODS = ("auto", "cec", "backlight", "wlr-randr", "vcgencmd", "none")
COMMAND_TIMEOUT = 15.0  # s: a CEC bus with a sleeping TV can take several seconds
RETRY_SECONDS = 600.0  # a failed switch is tried again this long after, not every tick
BL_POWER_ON, BL_POWER_OFF = "0", "4"  # FB_BLANK_UNBLANK, FB_BLANK_POWERDOWN


class DisplayPowerError(Exception):
    """One line for the journal and the technician panel: what failed and how."""


class Backend(Protocol):
    name: str

    def set_power(self, on: bool) -> None: ...


Which = Callable[[str], str | None]


@dataclass(frozen=True)
class Machine:
    """Where detection looks; the defaults are the real system, a test points elsewhere."""

    sys_backlight: Path = Path("/sys/class/backlight")
    dev: Path = Path("/dev")
    which: Which = shutil.which
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))


def _run(argv: list[str], *, stdin: str | None = None) -> str:
    """Run one command; any failure becomes a one-line DisplayPowerError."""
    try:
        done = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise DisplayPowerError(f"{argv[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise DisplayPowerError(
            f"{argv[0]} did not answer within {COMMAND_TIMEOUT:.0f} s"
        ) from None
    except OSError as exc:
        raise DisplayPowerError(f"{argv[0]}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        said = " ".join((done.stderr or done.stdout).split())[:200] or "no message"
        raise DisplayPowerError(f"{Path(argv[0]).name} exited with {done.returncode}: {said}")
    return done.stdout


@dataclass
class CecCtl:
    """``cec-ctl``: claim a playback logical address, then talk to the TV (address 0)."""

    exe: str
    device: str
    name: str = "cec"

    def set_power(self, on: bool) -> None:
        message = "--image-view-on" if on else "--standby"
        _run([self.exe, "-d", self.device, "--playback", "--to", "0", message])


@dataclass
class CecClient:
    """libcec's ``cec-client`` in single-command mode, as cec-utils ships it."""

    exe: str
    name: str = "cec"

    def set_power(self, on: bool) -> None:
        out = _run([self.exe, "-s", "-d", "1"], stdin="on 0\n" if on else "standby 0\n")
        if "could not open a connection" in out.lower():
            raise DisplayPowerError("cec-client: no CEC adapter found")


@dataclass
class Backlight:
    """Writes ``bl_power``: the panel's backlight really goes dark, not just the pixels."""

    path: Path
    name: str = "backlight"

    def set_power(self, on: bool) -> None:
        try:
            self.path.write_text(BL_POWER_ON if on else BL_POWER_OFF)
        except OSError as exc:
            raise DisplayPowerError(f"cannot write {self.path}: {exc.strerror or exc}") from None


@dataclass
class WlrRandr:
    exe: str
    output: str
    name: str = "wlr-randr"

    def set_power(self, on: bool) -> None:
        _run([self.exe, "--output", self.output, "--on" if on else "--off"])


@dataclass
class Vcgencmd:
    exe: str
    name: str = "vcgencmd"

    def set_power(self, on: bool) -> None:
        want = "1" if on else "0"
        out = _run([self.exe, "display_power", want]).strip()
        # Under KMS it exits 0 and prints "display_power=-1" (or an error text): the screen
        # did not change, and saying so beats believing it did.
        if out != f"display_power={want}":
            said = " ".join(out.split())[:120] or "nothing"
            raise DisplayPowerError(
                f"vcgencmd display_power answered {said!r}: not supported under KMS"
            )


@dataclass(frozen=True)
class PowerSettings:
    method: str = "auto"
    cec_device: str = "/dev/cec0"
    wlr_output: str = "HDMI-A-1"
    backlight: str = ""  # a device name under /sys/class/backlight; empty: the first


def detect(settings: PowerSettings, machine: Machine | None = None) -> Backend | None:
    """The backend for ``settings.method``; ``auto``: the first this machine has."""
    m = machine or Machine()
    method = settings.method
    if method not in METHODS:
        raise DisplayPowerError(f"unknown display power method {method!r}")
    if method == "none":
        return None
    tried = ("cec", "backlight", "wlr-randr", "vcgencmd") if method == "auto" else (method,)
    for name in tried:
        backend = _make(name, settings, m, explicit=method != "auto")
        if backend is not None:
            return backend
    return None


def _make(name: str, s: PowerSettings, m: Machine, *, explicit: bool) -> Backend | None:
    if name == "cec":
        device = Path(s.cec_device)
        if not explicit and not (m.dev / device.name).exists():
            return None
        if exe := m.which("cec-ctl"):
            return CecCtl(exe, s.cec_device)
        if exe := m.which("cec-client"):
            return CecClient(exe)
        if explicit:
            raise DisplayPowerError("method cec: neither cec-ctl nor cec-client is installed")
        return None
    if name == "backlight":
        path = _backlight_file(m.sys_backlight, s.backlight)
        if path is None:
            if explicit:
                raise DisplayPowerError(f"method backlight: no bl_power under {m.sys_backlight}")
            return None
        return Backlight(path)
    if name == "wlr-randr":
        exe = m.which("wlr-randr")
        if not explicit and not m.environ.get("WAYLAND_DISPLAY"):
            return None  # the console kiosk: no compositor to ask
        if exe is None:
            if explicit:
                raise DisplayPowerError("method wlr-randr: wlr-randr is not installed")
            return None
        return WlrRandr(exe, s.wlr_output)
    exe = m.which("vcgencmd")
    if exe is None:
        if explicit:
            raise DisplayPowerError("method vcgencmd: vcgencmd is not installed")
        return None
    return Vcgencmd(exe)


def _backlight_file(root: Path, wanted: str) -> Path | None:
    try:
        devices = sorted(p for p in root.iterdir() if (p / "bl_power").exists())
    except OSError:
        return None
    if wanted:
        devices = [p for p in devices if p.name == wanted]
    return devices[0] / "bl_power" if devices else None


class DisplayPower:
    """Applies on/off requests in order, off the caller's thread, and remembers the outcome.

    Requests that repeat the state last asked for are dropped, so a minute tick can call
    :meth:`request` every time without sending a CEC message a minute. A failed switch is
    logged, kept in :attr:`last_error` for the technician panel, and tried again after
    ``RETRY_SECONDS`` (a TV unplugged at the wall answers again once plugged back in).
    """

    def __init__(
        self, backend: Backend | None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.backend = backend
        self.wanted: bool | None = None
        self.last_error = ""
        self.applied: bool | None = None
        self.clock = clock
        self._failed_at: float | None = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-display-power")

    @property
    def method(self) -> str:
        return self.backend.name if self.backend else "none"

    def request(self, on: bool) -> Future[None] | None:
        with self._lock:
            if self.backend is None:
                return None
            retry = self._failed_at is not None and self.clock() - self._failed_at >= RETRY_SECONDS
            if self.wanted == on and not retry:
                return None
            self.wanted = on
            self._failed_at = None
        try:
            return self._pool.submit(self._apply, on)
        except RuntimeError:  # closed: the app is stopping
            return None

    def _apply(self, on: bool) -> None:
        assert self.backend is not None
        try:
            self.backend.set_power(on)
        except DisplayPowerError as exc:
            self.last_error = str(exc)
            self._failed_at = self.clock()
            log.warning("display power %s via %s failed: %s", "on" if on else "off",
                        self.backend.name, exc)  # fmt: skip
            return
        self.applied = on
        self.last_error = ""
        log.info("display powered %s via %s", "on" if on else "off", self.backend.name)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
