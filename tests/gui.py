"""Helpers for GUI tests: one real off-screen Kivy window per test process.

Kivy renders here through Mesa's software renderer; the window is created hidden at
1920×1080 the first time a test asks for it, and every widget under test is rendered into
an off-screen framebuffer at the size the test names (see ``kiosk.render``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_ready = False


def ensure_window() -> Any:
    global _ready
    from kiosk.render import prepare_window, window

    if not _ready:
        prepare_window(1920, 1080)
        from screens.fonts import find_font, register

        register(find_font())
        _ready = True
    return window()


def render(widget: Any, out: Path, size: tuple[int, int] = (1920, 1080)) -> Path:
    from kiosk.render import render as _render

    ensure_window()
    return _render(widget, out, size=size)
