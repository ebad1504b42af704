"""Labels that show feed text literally and break Chinese lines by the 避头尾 rules.

Every label that shows feed text goes through :class:`PlainLabel`: markup is off (a
title ``[color=ff0000]`` stays those characters), control and bidi characters are removed,
and lines are broken by :mod:`screens.linebreak` with the real font's measurements, so
Kivy's own word wrap (which knows nothing of Chinese punctuation) never has to act.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from kivy.core.text import Label as CoreLabel
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.label import Label

from screens.fonts import FONT_NAME
from screens.linebreak import break_lines, sanitize
from screens.theme import LINE_HEIGHT


@lru_cache(maxsize=64)
def _measurer(font_name: str, font_size: float, bold: bool) -> Callable[[str], float]:
    core = CoreLabel(font_name=font_name, font_size=font_size, bold=bold)
    cache: dict[str, float] = {}

    def measure(text: str) -> float:
        width = cache.get(text)
        if width is None:
            width = float(core.get_extents(text)[0])
            if len(cache) < 20_000:
                cache[text] = width
        return width

    return measure


def measurer(
    font_size: float, bold: bool = False, font_name: str = FONT_NAME
) -> Callable[[str], float]:
    """A cached width function for one font and size (used by pagination too)."""
    return _measurer(font_name, _size_key(font_size), bold)


def wrap(text: str, width: float, font_size: float, bold: bool = False) -> list[str]:
    return break_lines(sanitize(text), max(width, 1.0), measurer(font_size, bold))


@lru_cache(maxsize=64)
def line_pixels(font_size: float, bold: bool = False, font_name: str = FONT_NAME) -> float:
    """Height of one line of a PlainLabel, measured with the real font.

    Kivy's ``line_height`` multiplies the font's own line height, which for Noto Sans CJK
    is already about 1.45 em — above the 1.3 the elderly-reading norms ask for — so
    labels keep ``line_height`` at :data:`screens.theme.LINE_HEIGHT` (1.0) and pagination
    uses this measured value rather than a guess.
    """
    core = CoreLabel(font_name=font_name, font_size=_size_key(font_size), bold=bold)
    return float(core.get_extents("国Ag")[1]) * LINE_HEIGHT


def _size_key(font_size: float) -> float | int:
    """A whole size as an int: Kivy caches font faces by the size's text, so 38.0 and 38
    would each open a face of the CJK font (about 2.5 MB apiece)."""
    return int(font_size) if float(font_size).is_integer() else float(font_size)


class PlainLabel(Label):
    """A multi-line label for untrusted text: literal, sanitised, 避头尾-wrapped.

    Set ``source_text``; the label fills ``text`` itself whenever its width changes.
    ``max_lines`` > 0 cuts the text with an ellipsis (titles on a signage must fit).
    """

    source_text = StringProperty("")
    max_lines = NumericProperty(0)
    wrap_text = BooleanProperty(True)

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("font_name", FONT_NAME)
        kwargs.setdefault("markup", False)
        kwargs.setdefault("line_height", LINE_HEIGHT)
        kwargs.setdefault("halign", "left")
        kwargs.setdefault("valign", "top")
        super().__init__(**kwargs)
        self.markup = False
        self.bind(
            source_text=self._rewrap,
            width=self._rewrap,
            font_size=self._rewrap,
            max_lines=self._rewrap,
            bold=self._rewrap,
        )
        self._rewrap()

    def on_markup(self, _instance: object, value: bool) -> None:
        if value:  # a .kv rule or a caller must never switch markup on for feed text
            self.markup = False

    def _rewrap(self, *_args: object) -> None:
        if not self.wrap_text:
            self.text = sanitize(self.source_text).replace("\n", " ")
            self.text_size = (None, None)
            return
        # A hair narrower than the box, so Kivy's own wrap never re-breaks our lines.
        width = self.width - 2
        lines = wrap(self.source_text, width, self.font_size, self.bold) if width > 0 else []
        if self.max_lines and len(lines) > self.max_lines:
            lines = lines[: int(self.max_lines)]
            measure = measurer(self.font_size, self.bold)
            last = lines[-1]
            while last and measure(last + "…") > width:
                last = last[:-1]
            lines[-1] = last + "…"
        self.text = "\n".join(lines)
        self.text_size = (self.width, None)
