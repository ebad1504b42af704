"""One headless App run: ``python -m bench.app_case CONFIG first|cpu|bare [SECONDS]``.

``first``: time from the parent's launch (``BENCH_T0``, a ``time.time()`` taken just before
spawning, so interpreter start and imports count) to the first frame flipped after the first
slide was shown, then stop. ``bare``: the same for an empty App of the same size, the memory
floor. ``cpu``: roll for SECONDS after start and report CPU time as % of one core. Each
prints one JSON line, with the process's peak RSS (VmHWM).
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import resource
import sys
import time
from pathlib import Path
from typing import Any

WARM_UP_S = 10.0


def _vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main(argv: list[str]) -> int:
    t0 = float(os.environ.get("BENCH_T0", time.time()))
    from kiosk.config import load
    from kiosk.render import prepare_window

    config = load(Path(argv[0]))
    what = argv[1]
    seconds = float(argv[2]) if len(argv) > 2 else 0.0
    prepare_window(config.display.width, config.display.height)
    from kivy.config import Config as KivyConfig

    KivyConfig.set("graphics", "maxfps", "30")  # as kiosk.app.configure_window sets it
    KivyConfig.set("kivy", "pause_on_minimize", "0")
    from kivy.clock import Clock
    from kivy.core.window import Window

    out: dict[str, Any] = {}

    def first_flip(app: Any) -> None:
        def on_flip(*_a: Any) -> None:
            Window.unbind(on_flip=on_flip)
            out["first_frame_s"] = time.time() - t0
            Clock.schedule_once(lambda _dt: app.stop(), 0)

        Window.bind(on_flip=on_flip)

    if what == "bare":
        from kivy.app import App
        from kivy.uix.widget import Widget

        class Bare(App):
            def build(self) -> Any:
                return Widget()

            def on_start(self) -> None:
                first_flip(self)

        Bare().run()
    else:
        from kiosk.app import build_app
        from screens.fonts import find_font, register

        register(find_font(config.display.font))
        app = build_app(config)
        advance = app.advance
        state = {"slides": 0}

        def counted(*args: Any) -> None:
            advance(*args)
            state["slides"] += 1
            if state["slides"] == 1 and what == "first":
                first_flip(app)

        app.advance = counted
        if what == "cpu":
            profile = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None

            def begin(_dt: float) -> None:
                out["cpu0"], out["wall0"] = _cpu_seconds(), time.perf_counter()
                if profile is not None:
                    profile.enable()
                Clock.schedule_once(finish, seconds)

            def finish(_dt: float) -> None:
                out["cpu_percent"] = 100 * (_cpu_seconds() - out.pop("cpu0")) / (
                    time.perf_counter() - out.pop("wall0"))
                if profile is not None:  # BENCH_PROFILE=1: the window's hot spots, on stderr
                    profile.disable()
                    pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(15)
                app.stop()

            # Steady state: past start-up, the re-pagination after the first layout and the
            # first (offline, failing) sync.
            Clock.schedule_once(begin, WARM_UP_S)
        try:
            app.run()
        except Exception as exc:  # reported: the figures are already taken
            # Kivy dispatches on_stop twice after App.stop(); the app's scheduler shutdown
            # is not idempotent (a bug reported separately), so it raises on the second.
            out["stop_error"] = f"{type(exc).__name__}: {exc}"
        out["slides"] = state["slides"]
    out["vm_hwm_mb"] = _vm_hwm_mb()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
