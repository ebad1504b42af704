"""The bar on top of every browsing screen (返回 · title · 首页) and the one button look.

Elderly residents lose their way in touch interfaces; two labelled buttons that never move
and never hide are the cheapest way back. Every button of the touch screens is a
:class:`FlatButton`: a plain rectangle with a 2 px border whose colours swap while pressed,
so the press is visible without animation, shadows or gloss.
"""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder
from kivy.properties import ColorProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen

from screens.fonts import FONT_NAME
from screens.plaintext import PlainLabel  # noqa: F401  (used by navbar.kv)
from screens.theme import SURFACE, TEXT, Metrics, metrics_for, rgba

DEFAULT_METRICS = metrics_for(1920, 1080)


class FlatButton(ButtonBehavior, Label):
    """A flat, bordered, labelled button: ``fg`` text on ``bg`` inside a ``line`` border.

    While pressed, ``fg`` and ``bg`` swap: the press shows without any animation.

    The label is UI text written by us, never feed text, but markup stays off all the same.
    """

    fg = ColorProperty(rgba(TEXT))
    bg = ColorProperty(rgba(SURFACE))
    line = ColorProperty(rgba(TEXT))
    border_px = NumericProperty(2)

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("font_name", FONT_NAME)
        super().__init__(**kwargs)
        self.markup = False


class MetricsScreen(Screen):
    """A screen whose sizes come from its own size (renders happen off-window, in an FBO)."""

    m = ObjectProperty(DEFAULT_METRICS, rebind=True)

    def on_size(self, _instance: object, size: list[float]) -> None:
        width, height = int(size[0]), int(size[1])
        if width > 0 and height > 0:
            self.m = metrics_for(width, height)


def bar_height(m: Metrics) -> float:
    """Tall enough for a full touch target plus a little band above and below it."""
    return max(m.header_height, m.touch_target + round(16 * m.scale))


class NavBar(BoxLayout):
    """返回 · title · 首页 in the category's band colour; dispatches ``on_back``/``on_home``."""

    title = StringProperty("")
    band = ColorProperty(rgba("#37474f"))
    fg = ColorProperty(rgba("#ffffff"))
    m = ObjectProperty(DEFAULT_METRICS, rebind=True)

    __events__ = ("on_back", "on_home")

    def on_back(self) -> None:
        pass

    def on_home(self) -> None:
        pass


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
