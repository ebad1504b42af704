"""App figures: first slide, peak RSS against a bare Kivy window, CPU while rolling."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import counting, feedgen
from bench.setup import run_child, write_config
from sync import trust

DISPLAY = """
[display]
width = 1920
height = 1080
fullscreen = false
page_min_seconds = 2
page_max_seconds = 3
ticker = {ticker}
"""


@dataclass(frozen=True)
class AppFigures:
    items: int
    images: int
    first_slide_s: float
    app_hwm_mb: float
    bare_first_frame_s: float
    bare_hwm_mb: float
    cpu_seconds: float
    cpu_ticker_off: float
    cpu_ticker_on: float
    slides_off: int
    slides_on: int
    # Peak RSS of the rolling runs (start-up plus warm-up plus the CPU window): the first
    # slide is not the whole story, since each slide's textures and font sizes add to it.
    rolling_hwm_off_mb: float = float("nan")
    rolling_hwm_on_mb: float = float("nan")


def _timed(module: str, *args: str, timeout: float) -> dict[str, object]:
    return run_child(module, *args, timeout=timeout, env={"BENCH_T0": repr(time.time())})


def run(cpu_seconds: float, count: int = 1000, image_every: int = 10) -> AppFigures:
    private_key, public_key = trust.generate_keypair()
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-app-") as tmp:
        work = Path(tmp)
        items, _ = feedgen.generate(work / "feed", count, private_key, image_every)
        server, _thread = counting.start(work / "feed")
        url = server.url + "feed.json"

        def config(name: str, ticker: bool) -> Path:
            extra = DISPLAY.format(ticker="true" if ticker else "false")
            return write_config(work / name, url=url, data_dir=work / "data",
                                public_key=public_key, extra=extra)

        on, off = config("on.toml", True), config("off.toml", False)
        try:
            run_child("bench.sync_case", str(on))
        finally:
            server.shutdown()
            server.server_close()  # from here on the terminal is offline
        limit = cpu_seconds + 180
        bare = _timed("bench.app_case", str(on), "bare", timeout=120)
        first = _timed("bench.app_case", str(on), "first", timeout=120)
        cpu_off = _timed("bench.app_case", str(off), "cpu", str(cpu_seconds), timeout=limit)
        cpu_on = _timed("bench.app_case", str(on), "cpu", str(cpu_seconds), timeout=limit)
        return AppFigures(
            items=count,
            images=sum(1 for it in items if it["_disclosure"].get("media")),
            first_slide_s=float(first["first_frame_s"]),  # type: ignore[arg-type]
            app_hwm_mb=float(first["vm_hwm_mb"]),  # type: ignore[arg-type]
            bare_first_frame_s=float(bare["first_frame_s"]),  # type: ignore[arg-type]
            bare_hwm_mb=float(bare["vm_hwm_mb"]),  # type: ignore[arg-type]
            cpu_seconds=cpu_seconds,
            cpu_ticker_off=float(cpu_off["cpu_percent"]),  # type: ignore[arg-type]
            cpu_ticker_on=float(cpu_on["cpu_percent"]),  # type: ignore[arg-type]
            slides_off=int(cpu_off["slides"]),  # type: ignore[call-overload]
            slides_on=int(cpu_on["slides"]),  # type: ignore[call-overload]
            rolling_hwm_off_mb=float(cpu_off["vm_hwm_mb"]),  # type: ignore[arg-type]
            rolling_hwm_on_mb=float(cpu_on["vm_hwm_mb"]),  # type: ignore[arg-type]
        )
