"""The App itself in a real off-screen Kivy window: rolling, touch, idle return, play log.

The App is built and started by hand (``build`` + ``on_start``) instead of ``run()`` so the
test can pump frames and move a fake idle clock; everything else is real: the store holds
the bundled demo feed synced over file://, the scheduler thread runs, screens render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kiosk.config import load
from kiosk.terminal import make_coordinator
from tests.conftest import write_demo_config
from tests.gui import ensure_window


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def start_app(tmp_path: Path, extra: str = "", mode: str = "touch") -> Any:
    """Build and start the App on the synced demo feed inside the shared off-screen window."""
    metrics = '[metrics]\ntextfile = "' + str(tmp_path / "kiosk.prom") + '"\n'
    path = write_demo_config(tmp_path, mode=mode, extra=metrics + extra)
    config = load(path)
    make_coordinator(config).sync()
    window = ensure_window()
    from kiosk.app import build_app

    application = build_app(config)
    clock = FakeClock()
    application.idle.clock = clock
    application.idle.touched()
    root = application.build()
    application.root = root
    for child in list(window.children):
        window.remove_widget(child)
    window.add_widget(root)
    application.on_start()
    from kiosk.render import pump

    pump(6)
    application._on_resize(0)  # as the resize trigger does, whatever the frame timing
    application.fake_clock = clock
    return application


def stop_app(application: Any) -> None:
    from kivy.core.window import Window

    application.on_stop()
    Window.remove_widget(application.root)


@pytest.fixture
def app(tmp_path: Path) -> Any:
    application = start_app(tmp_path)
    yield application
    stop_app(application)


def touch_at(app: Any, x: float, y: float) -> bool:
    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch

    touch = UnitTestTouch(x, y)
    return bool(app._on_any_touch(Window, touch))


def test_rolls_then_touch_opens_browsing_and_idle_returns(app: Any) -> None:
    from kiosk.render import pump

    assert app.sm.current == "signage"
    first = app.current_slide
    assert first is not None
    app.advance()
    assert app.current_slide is not None and app.current_slide != first

    assert touch_at(app, 900, 500) is True  # consumed: the first touch only opens browsing
    assert app.sm.current == "home"
    cat = app.player.categories()[0]
    app.open_category(cat.id)
    assert app.sm.current == "category"
    card = app.player.cards_in(cat.id)[0]
    app.open_item(card.id)
    assert app.sm.current == "detail"
    pump(2)

    app.fake_clock.now += 81
    app._idle_tick(0)
    banner = app.detail.ids.countdown
    assert banner.shown and banner.seconds == 9
    app.fake_clock.now += 5
    app.idle.touched()  # a touch cancels the countdown
    app._idle_tick(0)
    assert app.sm.current == "detail" and not banner.shown
    app.fake_clock.now += 91
    app._idle_tick(0)
    pump(12)
    assert app.sm.current == "signage"


def test_keys_that_would_exit_are_swallowed(app: Any) -> None:
    from kivy.core.window import Window

    assert app._on_keyboard(Window, 27, 0, None, []) is True  # Esc
    assert app._on_keyboard(Window, 282, 0, None, []) is True  # F1: settings
    assert app._on_keyboard(Window, 285, 0, None, ["alt"]) is True  # Alt+F4
    assert app._on_close() is True
    assert app.open_settings() is False
    assert app._on_keyboard(Window, 97, 0, "a", []) is False


def test_pages_follow_the_laid_out_screen_size(app: Any) -> None:
    """Regression: pages were once counted for Kivy's 100x100 default size (138 pages)."""
    assert tuple(app.rolling.size) == (1920, 1080)
    pages = [app.player.pages_of(app.player.card_for(i)) for i in app.player.items]
    assert max(pages) <= 10  # the longest demo body (about 1,200 characters) takes 5


def test_play_log_records_only_what_was_on_screen(app: Any) -> None:
    items = set()
    for _ in range(12):
        app.advance()
        items.add(app.current_slide.card.id)
    # One row per showing of an item (its pages together), written when it leaves.
    assert app.playlog.count() >= len(items) - 1 >= 2
    touch_at(app, 900, 500)
    assert app.sm.current == "home"
    shown = app.playlog.count()
    for _ in range(3):
        app.advance()  # the rotation goes on behind the touch screens
    assert app.playlog.count() == shown  # ... but is not logged as shown


def test_technician_rows_say_the_screen_stays_on_without_hours(app: Any) -> None:
    from kiosk.technician import technician_rows

    rows = dict(technician_rows(app))
    assert rows["屏幕电源"] == "全天开启" and rows["心跳上报"] == "未配置"
    assert rows["终端编号"] == "LT-TEST-01"


def test_technician_corner_needs_the_pin(app: Any) -> None:
    from kivy.core.window import Window

    touch_at(app, 10, Window.height - 10)
    app._long_pressed(0)
    assert app.sm.current == "pin"
    app._check_pin("0000")  # no pin_hash configured: never opens
    assert app.sm.current == "pin"


def test_screen_off_hours_power_the_screen_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At the off hour the picture goes black AND the TV is sent to standby over CEC.

    ``cec-ctl`` is a stand-in script on PATH that records its arguments: there is no HDMI
    sink or CEC adapter here (the one mock in this test).
    """
    from datetime import datetime, timedelta

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "cec-calls"
    fake = bin_dir / "cec-ctl"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    now = datetime.now().astimezone()
    off, on = (now - timedelta(hours=1)).strftime("%H:%M"), (now + timedelta(hours=1)).strftime(
        "%H:%M"
    )
    extra = f'[schedule]\nscreen_off = "{off}"\nscreen_on = "{on}"\ndisplay_power = "cec"\n'
    application = start_app(tmp_path, extra)
    try:
        assert application.display_power.method == "cec"
        application._minute_tick(0)
        assert application.screen_off is True
        application.display_power.close()  # waits for the worker: the command has run
        assert calls.read_text().split("\n")[0] == "-d /dev/cec0 --playback --to 0 --standby"
        assert application.display_power.applied is False
        assert application.display_power.last_error == ""
        from kiosk.technician import technician_rows

        rows = dict(technician_rows(application))
        assert rows["屏幕电源"] == f"{off} 关屏，{on} 开屏；方式 cec"
        assert rows["心跳上报"] == "未配置"
    finally:
        stop_app(application)


def test_led_mode_in_a_full_screen_output_draws_only_the_top_left_area(tmp_path: Path) -> None:
    """Under KMS the LED app gets the whole 1920x1080 HDMI mode; the controller card shows
    only the top-left 384x192, so everything must be drawn there and the rest stay black.
    """
    from PIL import Image

    from kiosk.render import pump

    application = start_app(tmp_path, '[display]\nwidth = 384\nheight = 192\n', mode="led")
    from kivy.core.window import Window  # only now: start_app creates the window at 1920x1080

    try:
        assert tuple(Window.size) == (1920, 1080)
        sm = application.sm
        assert tuple(sm.size) == (384, 192) and sm.x == 0 and sm.top == Window.height
        assert tuple(application.rolling.size) == (384, 192)
        application.advance()
        pump(6)
        shot = Window.screenshot(name=str(tmp_path / "led.png"))
        image = Image.open(shot).convert("RGB")
        assert image.size == (1920, 1080)
        area = image.crop((0, 0, 384, 192))
        outside = [image.crop(box) for box in ((384, 0, 1920, 1080), (0, 192, 384, 1080))]
        assert area.getextrema() != ((0, 0), (0, 0), (0, 0))  # the slide is there
        for part in outside:
            assert part.getextrema() == ((0, 0), (0, 0), (0, 0))  # nothing leaks outside
    finally:
        stop_app(application)


def test_a_stopped_app_is_never_called_back(tmp_path: Path) -> None:
    """Regression: a stopped App's next slide still fired and drew on freed widgets."""
    application = start_app(tmp_path)
    pending = [application._advance_ev, *application._clock_events]
    assert application._advance_ev.is_triggered  # the next slide is waiting
    assert touch_at(application, 900, 500) is True  # rolling: the touch opens browsing
    application.back_to_rolling()
    stop_app(application)
    assert not any(event.is_triggered for event in pending)
    # Nor does it take touches meant for whatever the window shows next.
    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch

    assert Window.dispatch("on_touch_down", UnitTestTouch(900, 500)) is not True
    assert application.sm.current == "signage"
