"""Soak: thousands of slide changes of the real App on an accelerated clock.

Parent side (:func:`run`): build a 1,000-item, 100-image signed feed, sync it once over
loopback, shut the server (the terminal is offline from then on, as in the app bench) and
start one child per mode. Child side (``python -m bench.soak_case CONFIG SLIDES
[--touch-every K] [--sample-every N]``): run ``kiosk.app.build_app(config)`` headless at
the configured size and replace only its *timing*, never its logic:

* ``app.advance`` is wrapped: the product's ``Clock.schedule_once(advance, seconds)`` is
  cancelled and the next ``advance()`` runs on the first frame after the slide (and its
  cross-fade) was really flipped to the window, at the product's 30 fps cap. A cross-fade
  is shortened from 0.4 s to :data:`FADE_S`, so it still animates over drawn frames and
  still releases the hidden slide from its completion callback; if the product cuts
  (``fade_seconds`` 0, as it may on software GL) the soak cuts too.
* The wall clock is fake: ``datetime`` in ``kiosk.app`` (``_now()`` and the screen-off
  schedule), the play log's clock and the status bar's clock read :class:`FakeClock`,
  which moves on by each slide's planned seconds. The product's 30 s minute tick is
  unscheduled and called instead each time the fake clock crosses a 30 s boundary, so
  validity windows open and close, the rotation is updated, the ticker changes and the
  screen blanks for the night (the fake clock then jumps through the night minute by
  minute) as over days of real use.
* Every :data:`RELOAD_EVERY` of fake time the store's snapshot is re-applied through the
  app's own sync-result path (``_on_sync_result`` with ``updated``), as when the county
  republishes: new presenter, new cards, same items.
* ``--touch-every K`` (touch mode): after every K slides a resident's round trip,
  dispatched as the widgets' own events: home → category → item detail (every other visit
  an item with a scanned image, opened full screen and closed) → feedback QR → back, back,
  back → idle return to the rolling display (its 0.3 s fade kept), each step drawn before
  the next.

Every N slides: ``gc.collect()``, then VmRSS, live ``Texture`` and ``Widget`` objects
(``gc.get_objects()``), each also printed to stderr as it is taken. Prints one JSON line.
``SOAK_DEBUG=1`` logs every slide and round-trip step (with RSS) to stderr;
``SOAK_TRACEMALLOC=1`` prints the largest Python allocation growths since the first sample.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
import traceback
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

CN = timezone(timedelta(hours=8))
SOAK_START = datetime(2026, 12, 1, 8, 0, tzinfo=CN)  # fake clock at the first slide
FADE_S = 0.04  # the product's cross-fade is 0.4 s; at 30 fps this still draws a mid-fade frame
MINUTE_TICK_S = 30.0  # as kiosk.app schedules _minute_tick
RELOAD_EVERY = timedelta(hours=3)
NIGHT_STEP = timedelta(minutes=1)
STALL_S = 10.0  # real seconds without the awaited frame: reported, and the soak moves on
SCREEN_ON, SCREEN_OFF = "07:30", "21:00"


# --- parent ------------------------------------------------------------------------------

DISPLAY = """
[display]
width = 1920
height = 1080
fullscreen = false
ticker = true

[schedule]
screen_on = "{on}"
screen_off = "{off}"
"""


@dataclass(frozen=True)
class SoakFigures:
    mode: str
    slides: int
    frames: int
    elapsed_s: float
    fake_hours: float
    nights: int
    reloads: int
    round_trips: int
    rss_first_mb: float  # at the first sample after warm-up
    rss_end_mb: float
    rss_max_mb: float  # from the first sample on, as the two below
    textures_first: int
    textures_max: int
    textures_end: int
    widgets_first: int
    widgets_end: int
    stalls: int
    fade_s: float  # the cross-fade the soak ran with: 0 is a cut
    first_sample_at: int
    samples: list[dict[str, Any]]

    @property
    def growth_mb(self) -> float:
        return self.rss_end_mb - self.rss_first_mb


def _windows(items: list[dict[str, Any]]) -> None:
    """Give the feed validity windows that open and close during the fake days.

    One item in ten expires at a fake hour, one in ten becomes valid at one, and one urgent
    item in two appears late (so the "new urgent item interrupts at once" path runs).
    """
    for n, doc in enumerate(items):
        hours = timedelta(hours=(n // 10) % 100 + 1)
        disclosure = doc["_disclosure"]
        if n % 100 == 0:
            disclosure["valid_from"] = (SOAK_START + timedelta(hours=(n // 100) * 7)).isoformat()
        elif n % 10 == 3:
            disclosure["valid_until"] = (SOAK_START + hours).isoformat()
        elif n % 10 == 7:
            disclosure["valid_from"] = (SOAK_START + hours).isoformat()


@dataclass(frozen=True)
class Spec:
    """One child run: ``touch_every`` 0 is the signage soak, else a touch soak."""

    mode: str
    slides: int
    touch_every: int = 0
    sample_every: int = 500
    warm_up: int = 500  # growth is measured from the first sample at or after this slide


def run(specs: list[Spec], count: int = 1000, image_every: int = 10) -> list[SoakFigures]:
    """Build and sync the feed once, then run one child per spec, offline."""
    from bench import counting, feedgen
    from bench.setup import run_child, write_config
    from sync import trust

    private_key, public_key = trust.generate_keypair()
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-soak-") as tmp:
        work = Path(tmp)
        items = feedgen.build_items(count, work / "feed" / "media", image_every)
        _windows(items)
        feedgen.write_feed(work / "feed", items, 100, private_key)
        server, _thread = counting.start(work / "feed")
        extra = DISPLAY.format(on=SCREEN_ON, off=SCREEN_OFF)
        configs = {
            mode: write_config(work / f"{mode}.toml", url=server.url + "feed.json",
                               data_dir=work / "data", public_key=public_key, mode=mode,
                               extra=extra)
            for mode in {spec.mode for spec in specs}
        }
        try:
            run_child("bench.sync_case", str(next(iter(configs.values()))))
        finally:
            server.shutdown()
            server.server_close()  # from here on the terminal is offline
        out = []
        for spec in specs:
            # Far above the expected time even on a loaded machine; a hang still ends.
            limit = 600 + spec.slides * (1.0 + 10.0 / spec.touch_every if spec.touch_every
                                         else 1.0)
            raw = run_child("bench.soak_case", str(configs[spec.mode]), str(spec.slides),
                            "--touch-every", str(spec.touch_every),
                            "--sample-every", str(spec.sample_every), timeout=limit)
            out.append(_figures(spec, raw))
        return out


def _figures(spec: Spec, raw: dict[str, Any]) -> SoakFigures:
    samples = raw["samples"]
    first = next((s for s in samples if s["slide"] >= spec.warm_up), samples[-1])
    last = samples[-1]
    after = samples[samples.index(first):]
    return SoakFigures(
        mode=spec.mode,
        slides=raw["slides"],
        frames=raw["frames"],
        elapsed_s=raw["elapsed_s"],
        fake_hours=raw["fake_hours"],
        nights=raw["nights"],
        reloads=raw["reloads"],
        round_trips=raw["round_trips"],
        rss_first_mb=first["rss_mb"],
        rss_end_mb=last["rss_mb"],
        rss_max_mb=max(s["rss_mb"] for s in after),
        textures_first=first["textures"],
        textures_max=max(s["textures"] for s in after),
        textures_end=last["textures"],
        widgets_first=first["widgets"],
        widgets_end=last["widgets"],
        stalls=raw["stalls"],
        fade_s=raw["fade_s"],
        first_sample_at=first["slide"],
        samples=samples,
    )


# --- child -------------------------------------------------------------------------------


class FakeClock:
    """The terminal's wall clock and play-log monotonic clock, moved on by the soak."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.monotonic = 0.0

    def forward(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.monotonic += seconds


def fake_datetime(clock: FakeClock) -> type[datetime]:
    """A ``datetime`` whose ``now()`` is the fake clock (aware, or naive local time)."""

    class FakeDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            if tz is None:
                return clock.now.astimezone().replace(tzinfo=None)
            return clock.now.astimezone(tz)

    return FakeDatetime


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def census() -> tuple[int, int]:
    """Live Texture and Widget objects, after a full collection."""
    from kivy.graphics.texture import Texture
    from kivy.uix.widget import Widget

    gc.collect()
    textures = widgets = 0
    for obj in gc.get_objects():
        cls = type(obj)  # not isinstance(): a dead weakref.proxy raises on it
        if issubclass(cls, Texture):
            textures += 1
        elif issubclass(cls, Widget):
            widgets += 1
    return textures, widgets


class Soak:
    """Drives the app: one slide per drawn cross-fade, the fake clock, the round trips."""

    def __init__(self, app: Any, clock: FakeClock, slides: int, touch_every: int,
                 sample_every: int) -> None:
        from kivy.clock import Clock
        from kivy.core.window import Window

        self.app, self.clock = app, clock
        self.target, self.touch_every, self.sample_every = slides, touch_every, sample_every
        self.slides = self.frames = self.nights = self.reloads = self.round_trips = 0
        self.stalls = 0
        self.samples: list[dict[str, Any]] = []
        self.ready = False  # the awaited state has been flipped to the window
        self.waiting_since = time.perf_counter()
        self.condition: Any = None  # what must be on screen before the next step
        self.steps: list[Any] = []  # the rest of a round trip
        self.next_tick = clock.now + timedelta(seconds=MINUTE_TICK_S)
        self.next_reload = clock.now + RELOAD_EVERY
        self.t0 = 0.0
        self.finished = False
        self.snapshot: tracemalloc.Snapshot | None = None
        self._advance = app.advance
        app.advance = self.advance
        Window.bind(on_flip=self._on_flip)
        Clock.schedule_interval(self._frame, 0)

    # The product calls this (on_start, minute tick, new snapshot) and so does the soak.
    def advance(self, *args: Any) -> None:
        if self.finished:
            return
        app = self.app
        self._advance(*args)
        if app._advance_ev is not None:  # the product's timer: replaced by the frame loop
            app._advance_ev.cancel()
            app._advance_ev = None
        if app.screen_off:
            return
        if app.current_slide is None:  # nothing admitted: the product retries in 10 s
            self._await(lambda: True)
            return
        self.slides += 1
        if os.environ.get("SOAK_DEBUG"):
            print("slide", self.slides, "frames", self.frames, file=sys.stderr)
        if self.slides == 1:
            self.t0 = time.perf_counter()
        self._await(self._slide_drawn)

    def _await(self, condition: Any) -> None:
        self.condition, self.ready = condition, False
        self.waiting_since = time.perf_counter()

    def _slide_drawn(self) -> bool:
        fade = self.app.rolling._fade
        front = fade.front
        return front is not None and front.opacity == 1 and all(
            s.opacity == 0 for s in fade.slides if s is not front)

    def _screen_drawn(self) -> bool:
        return len(self.app.sm.children) == 1  # no ScreenManager transition running

    def _on_flip(self, *_args: Any) -> None:
        self.frames += 1
        if self.condition is not None and self.condition():
            self.ready = True

    def _frame(self, _dt: float) -> None:
        if self.finished:
            return
        if self.condition is None:
            if self.app.screen_off:
                self._skip_night()
            return
        if not self.ready:
            if time.perf_counter() - self.waiting_since > STALL_S:
                self.stalls += 1
                self.ready = True
            return
        self.condition = None
        if self.steps:
            self.app.idle.touched()  # each step is a tap
            step = self.steps.pop(0)
            if os.environ.get("SOAK_DEBUG"):
                print(f"rss {rss_mb():.1f} before {getattr(step, '__qualname__', step)}"
                      f" on {self.app.sm.current}", file=sys.stderr)
            step()
            if self.condition is None:
                self._await(self._screen_drawn)
            return
        due = self.slides % self.sample_every == 0 or self.slides >= self.target
        if due and (not self.samples or self.samples[-1]["slide"] != self.slides):
            self._sample()
        if self.slides >= self.target:
            self._finish()
            return
        slide = self.app.current_slide
        self._pass_time(slide.seconds if slide is not None else 10.0)
        if self.app.screen_off:
            self._skip_night()
        elif self.touch_every and self.slides % self.touch_every == 0:
            self._round_trip()
        else:
            self.advance()

    def _pass_time(self, seconds: float) -> None:
        """Move the fake clock, firing the timers the product would have fired meanwhile."""
        self.clock.forward(seconds)
        app = self.app
        if self.clock.now >= self.next_reload:
            self.next_reload += RELOAD_EVERY
            self.reloads += 1
            from sync.coordinator import SyncOutcome

            snapshot = app.store.snapshot()
            app._on_sync_result(SyncOutcome("updated", snapshot.sequence), None)
            app._apply_pending(0)  # what the Clock would run next frame, at this fake time
        if self.clock.now >= self.next_tick:
            while self.next_tick <= self.clock.now:
                self.next_tick += timedelta(seconds=MINUTE_TICK_S)
            app._minute_tick(0)
            app.rolling.ids.status.tick()

    def _skip_night(self) -> None:
        """Screen off: advance the fake clock minute by minute until the tick turns it on."""
        self.nights += 1
        while self.app.screen_off and not self.finished:
            self.clock.forward(NIGHT_STEP.total_seconds())
            self.next_tick = self.clock.now
            self._pass_time(0)  # the minute tick turns the screen on and calls advance()

    def _round_trip(self) -> None:
        """A resident's visit, each step one widget event, as a tap would dispatch it."""
        app = self.app
        n = self.round_trips
        self.round_trips += 1
        categories = [c for c in app.player.categories() if app.player.cards_in(c.id)]
        if not categories:
            self.advance()
            return
        cid = categories[n % len(categories)].id
        cards = app.player.cards_in(cid)
        with_images = [c for c in cards if c.image_paths]
        if n % 2 and with_images:  # every other visit opens a scanned notice full screen
            cards = with_images
        card = cards[(n // len(categories)) % len(cards)]
        iid = card.id

        def back(screen: Any) -> Any:
            from screens.navbar import NavBar

            return lambda: next(w for w in screen.walk(restrict=True)
                                if isinstance(w, NavBar)).dispatch("on_back")

        app.idle.touched()
        app.go_home()  # what a touch on the rolling display does
        self.steps = [
            lambda: app.home.dispatch("on_category", cid),
            lambda: app.category_screen.dispatch("on_item", iid),
            *([lambda: app.detail.open_image(0), app.detail.close_image]
              if card.image_paths else []),
            lambda: app.detail.dispatch("on_feedback", iid),
            back(app.feedback_screen),
            back(app.detail),
            back(app.category_screen),
            app.back_to_rolling,  # the idle timer's return
            self.advance,
        ]
        self._await(self._screen_drawn)

    def _sample(self) -> None:
        textures, widgets = census()
        self.samples.append({
            "slide": self.slides,
            "rss_mb": round(rss_mb(), 1),
            "textures": textures,
            "widgets": widgets,
            "elapsed_s": round(time.perf_counter() - self.t0, 1),
        })
        print(json.dumps({"sample": self.samples[-1]}), file=sys.stderr, flush=True)
        if os.environ.get("SOAK_TRACEMALLOC"):  # where the growth since the first sample is
            if self.snapshot is None:
                tracemalloc.start(10)
                self.snapshot = tracemalloc.take_snapshot()
            else:
                stats = tracemalloc.take_snapshot().compare_to(self.snapshot, "traceback")
                for stat in stats[:8]:
                    print(stat, *stat.traceback.format()[-6:], sep="\n  ", file=sys.stderr)

    def _finish(self) -> None:
        self.finished = True
        self.elapsed = time.perf_counter() - self.t0
        self.app.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak_case")
    parser.add_argument("config", type=Path)
    parser.add_argument("slides", type=int)
    parser.add_argument("--touch-every", type=int, default=0)
    parser.add_argument("--sample-every", type=int, default=500)
    parser.add_argument("--start", type=datetime.fromisoformat, default=SOAK_START,
                        help="fake clock at the first slide (default: %(default)s)")
    args = parser.parse_args(argv)

    # A terminal in China keeps China time: the screen-off hours are read in local time.
    os.environ["TZ"] = "Asia/Shanghai"
    time.tzset()
    from kiosk.config import load
    from kiosk.render import prepare_window

    config = load(args.config)
    prepare_window(config.display.width, config.display.height)
    from kivy.config import Config as KivyConfig

    KivyConfig.set("graphics", "maxfps", "30")  # as the product sets it
    KivyConfig.set("kivy", "pause_on_minimize", "0")

    import kiosk.app
    from screens.fonts import find_font, register
    from screens.statusbar import ZONE

    clock = FakeClock(args.start)
    kiosk.app.datetime = fake_datetime(clock)  # type: ignore[misc]
    register(find_font(config.display.font))
    app = kiosk.app.build_app(config)
    app.recorder._now = lambda: clock.now.astimezone(UTC)
    app.recorder._monotonic = lambda: clock.monotonic
    holder: dict[str, Soak] = {}
    fade: dict[str, float] = {}
    on_start = app.on_start

    def start() -> None:
        from kivy.clock import Clock

        # Shortened, never lengthened: a product that cuts (fade 0) keeps cutting.
        app.rolling.fade_seconds = min(app.rolling.fade_seconds, FADE_S)
        fade["seconds"] = app.rolling.fade_seconds
        app.rolling.ids.status.now = lambda: clock.now.astimezone(ZONE)
        holder["soak"] = Soak(app, clock, args.slides, args.touch_every, args.sample_every)
        on_start()
        Clock.unschedule(app._minute_tick)  # called by the soak at each fake 30 s instead

    app.on_start = start
    error = ""
    try:
        app.run()
    except Exception as exc:  # after the figures were taken (see bench.app_case)
        error = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    soak = holder["soak"]
    print(json.dumps({
        "slides": soak.slides,
        "frames": soak.frames,
        "elapsed_s": round(getattr(soak, "elapsed", time.perf_counter() - soak.t0), 1),
        "fake_hours": round((clock.now - args.start).total_seconds() / 3600, 1),
        "nights": soak.nights,
        "reloads": soak.reloads,
        "round_trips": soak.round_trips,
        "stalls": soak.stalls,
        "fade_s": fade.get("seconds", 0.0),
        "samples": soak.samples,
        "stop_error": error,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
