"""Headless rendering of a widget tree to PNG, without running an App.

Used by ``kiosk screenshot`` and by the GUI tests: the window is created once per process
at the requested size, frames are pumped by hand through Kivy's event loop, and the
framebuffer is read back with ``Window.screenshot``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

_prepared: tuple[int, int] | None = None

# GL renderers that rasterise on the CPU: `kiosk doctor` warns about them, and the
# rolling display cuts instead of cross-fading on them.
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "software rasterizer")


def is_software_renderer(name: str) -> bool:
    return any(sw in name.lower() for sw in SOFTWARE_RENDERERS)


def prepare_window(width: int, height: int, *, visible: bool = False) -> None:
    """Configure Kivy for an off-screen window of exactly ``width``×``height`` pixels.

    Must run before anything imports ``kivy.core.window``.
    """
    global _prepared
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    # PYTHON: Kivy logs through the standard logging tree instead of rewiring the root
    # logger, so our level and handlers (journald via stderr) apply to it too.
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KCFG_KIVY_LOG_LEVEL", os.environ.get("KIOSK_KIVY_LOG_LEVEL", "warning"))
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_METRICS_DENSITY", "1")
    from kivy.config import Config

    level = os.environ.get("KIOSK_KIVY_LOG_LEVEL", "warning")
    Config.set("kivy", "log_level", level)
    import logging

    logging.getLogger("kivy").setLevel(level.upper())
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "resizable", "0")
    Config.set("graphics", "borderless", "1")
    Config.set("graphics", "show_cursor", "0")
    Config.set("graphics", "position", "custom")
    Config.set("graphics", "left", "0")
    Config.set("graphics", "top", "0")
    if not visible:
        Config.set("graphics", "window_state", "hidden")
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    _prepared = (width, height)


def window() -> Any:
    from kivy.base import EventLoop
    from kivy.core.window import Window

    EventLoop.ensure_window()
    if _prepared and tuple(Window.size) != _prepared:
        Window.size = _prepared
    return Window


def pump(frames: int = 3) -> None:
    """Run ``frames`` iterations of the event loop: clock, layout, draw."""
    from kivy.base import EventLoop

    for _ in range(frames):
        EventLoop.idle()


def render(
    root: Any,
    out: str | os.PathLike[str],
    *,
    size: tuple[int, int] | None = None,
    frames: int = 6,
) -> Path:
    """Show ``root`` alone in the window, draw it, and write it to ``out`` as PNG.

    With ``size`` equal to the window's (the ``kiosk screenshot`` case) the real
    framebuffer is read back. Any other size is drawn into an off-screen framebuffer
    object, because a hidden SDL window cannot be resized after creation under Mesa;
    screens therefore size themselves from their own ``size``, never ``Window.size``.
    """
    win = window()
    for child in list(win.children):
        win.remove_widget(child)
    target = size or tuple(win.size)
    root.size_hint = (None, None)
    root.pos = (0, 0)
    root.size = target
    win.add_widget(root)
    pump(frames)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if tuple(target) == tuple(win.size):
        with tempfile.TemporaryDirectory() as tmp:
            written = win.screenshot(name=str(Path(tmp) / "shot.png"))
            if not written:
                raise RuntimeError("the window produced no screenshot")
            shutil.move(written, out)
    else:
        root.export_to_png(str(out))
    return out
