"""The rolling display on a low-resolution LED wall (192×96 up to 768×384 and beyond).

An LED wall has few pixels and is read from across a square, so only three things
remain: the category band (its name; "3/12" only when there is room), the title in the
largest type that fits, and the ticker. No body, no meta line, no QR code: none of them
would be legible at this resolution.

Colours: LED walls are not white-background TVs. A lit white field at full brightness
glares and ages the diodes, and the common single/dual-colour panels cannot show warm
white at all, so this screen uses a **black background**, the category colour for the
band (with white text, ≥ 4.5:1 by :func:`~screens.theme.band_colors`), the title in
**yellow** (#ffd21f, about 14:1 on black, the usual signal colour of Chinese LED
boards), and the ticker in white on the dark ticker band. An urgent item says "紧急" in
a white box in the band, not by colour alone.

Sizes come from the wall's own pixel size, not from the 1080p grid: Chinese characters
need about 12 px to be legible as dot matrix, so the band and ticker are at least 16 px
high whatever the wall.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty, ObjectProperty
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import Screen

from screens.cards import ItemCard
from screens.pagination import LruCache, block_height, line_height_for, lines_per_box
from screens.plaintext import PlainLabel, measurer, wrap
from screens.signage import FADE_SECONDS, URGENT_LABEL, CrossFade, clean_line
from screens.theme import band_colors, rgba
from screens.ticker import Ticker, fit  # noqa: F401  (Ticker is used by led.kv)

Rect = tuple[float, float, float, float]

TITLE_COLOR = "#ffd21f"
MIN_FONT = 12  # the smallest legible Chinese dot-matrix type


@dataclass(frozen=True)
class LedMetrics:
    """Pixel sizes for one wall."""

    width: int
    height: int
    band: int  # height of the category band and of the ticker
    band_font: int
    pad: int
    title_max: int  # largest title type: a two-character title must not fill the wall

    @property
    def title_area(self) -> Rect:
        x = self.pad
        y = self.band + self.pad
        return (x, y, self.width - 2 * self.pad, self.height - 2 * self.band - 2 * self.pad)


def led_metrics(width: int, height: int) -> LedMetrics:
    width, height = max(int(width), 1), max(int(height), 1)
    band = max(16, round(height * 0.16))
    return LedMetrics(
        width=width,
        height=height,
        band=band,
        band_font=max(MIN_FONT, round(band * 0.72)),
        pad=max(2, round(min(width, height) * 0.03)),
        title_max=max(MIN_FONT, round(height * 0.3)),
    )


def title_lines(title: str, width: float, font_size: float) -> list[str]:
    return wrap(title, width - 2, font_size, True) if width > 2 else []


def fits(title: str, area: Rect, font_size: int) -> bool:
    """The whole title, bold, at ``font_size``: every line within the width, all lines in
    the height (at the pagination pitch, see :func:`~screens.pagination.line_height_for`)."""
    lines = title_lines(title, area[2], font_size)
    if block_height(len(lines), font_size, True) > area[3]:
        return False
    measure = measurer(font_size, True)
    return all(measure(line) <= area[2] for line in lines)


def title_font(title: str, area: Rect, lowest: int, highest: int) -> int:
    """The largest size in [lowest, highest] at which the title fits (binary search);
    ``lowest`` when none does (the label then cuts it with an ellipsis)."""
    lo, hi = lowest, max(lowest, highest)
    best = lowest
    while lo <= hi:
        mid = (lo + hi) // 2
        if fits(title, area, mid):
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    return best


class LedSlide(FloatLayout):
    """Category band and title; two alternate for the cross-fade."""

    band = ColorProperty(rgba("#37474f"))
    fg = ColorProperty(rgba("#ffffff"))
    lm = ObjectProperty(led_metrics(384, 192), rebind=True)
    urgent = BooleanProperty(False)

    def fill(self, card: ItemCard, lm: LedMetrics, font: int, position: int, count: int) -> None:
        self.lm = lm
        band, fg = band_colors(card.color)
        self.band, self.fg = rgba(band), rgba(fg)
        self.urgent = card.urgent
        name = clean_line(card.category_name)
        place = f"{position}/{count}" if count > 0 else ""
        room = lm.width - 2 * lm.pad
        if card.urgent:
            room -= measurer(lm.band_font, True)(URGENT_LABEL) + 3 * lm.pad
        with_place = f"{name}  {place}"
        if place and measurer(lm.band_font, True)(with_place) <= room:
            self.ids.category.source_text = with_place
        else:
            self.ids.category.source_text = fit(name, room, lm.band_font, bold=True)

        area = lm.title_area
        title: PlainLabel = self.ids.title
        title.source_text = ""
        title.font_size = font
        title.line_height = line_height_for(font, True)
        title.max_lines = lines_per_box(area[3], font, True)
        title.x, title.width = area[0], area[2]
        title.source_text = card.title
        title.texture_update()
        title.height = title.texture_size[1]
        title.y = area[1] + (area[3] - title.height) / 2

    def release(self) -> None:
        self.ids.title.source_text = ""
        self.ids.category.source_text = ""


class LedScreen(Screen):
    """``name == "led"``: ``show``, ``set_ticker``, ``set_blank``, ``release``."""

    lm = ObjectProperty(led_metrics(384, 192), rebind=True)
    blank = BooleanProperty(False)
    fade_seconds = NumericProperty(FADE_SECONDS)

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("name", "led")
        self._fonts: LruCache[tuple[str, Rect], int] = LruCache(128)
        self._current: tuple[ItemCard, int, int] | None = None
        self._drawn: tuple[object, ...] | None = None
        self._shown = True
        self._relayout = Clock.create_trigger(self._redraw)
        super().__init__(**kwargs)
        self._fade = CrossFade(self.ids.stage, (self.ids.slide_a, self.ids.slide_b))
        self.bind(size=self._on_resize)
        self._on_resize()

    # --- public API --------------------------------------------------------------

    def font_for(self, card: ItemCard) -> int:
        """The title size :meth:`show` uses for ``card`` at the current size."""
        lm = self.lm
        area = lm.title_area
        key = (card.title, area)
        return self._fonts.get(key, lambda: title_font(card.title, area, MIN_FONT, lm.title_max))

    def show(self, card: ItemCard, position: int, count: int) -> None:
        """Cross-fade to ``card``, item ``position`` of ``count`` in its category."""
        self._current = (card, position, count)
        if not self.blank:
            self._draw(card, position, count, fade=True)

    def set_ticker(self, titles: list[str]) -> None:
        """Urgent titles to crawl along the bottom; none: the band stays still."""
        self.ids.ticker.set_titles(titles)

    def set_blank(self, blank: bool) -> None:
        """Screen-off hours: black, ticker stopped, no textures held."""
        if blank == self.blank:
            return
        self.blank = blank
        self._update_running()
        if blank:
            self._fade.release_all()
            self._drawn = None
        else:
            self._redraw()

    def release(self) -> None:
        """Drop the textures of the slide that is not on screen."""
        self._fade.release_hidden()

    # --- screen life -------------------------------------------------------------

    def on_pre_enter(self, *_args: object) -> None:
        self._shown = True
        self._update_running()

    def on_leave(self, *_args: object) -> None:
        self._shown = False
        self._update_running()

    def _update_running(self) -> None:
        running = self._shown and not self.blank
        self.ids.ticker.active = running
        if running:
            self.ids.ticker.resume()

    # --- internals ---------------------------------------------------------------

    def _on_resize(self, *_args: object) -> None:
        self.lm = led_metrics(int(self.width), int(self.height))
        self._relayout()

    def _redraw(self, *_args: object) -> None:
        """After a resize; a no-op when nothing changed, so a fade is never cut short."""
        current = self._current
        if current is not None and not self.blank and self._drawn != (*current, self.lm):
            self._draw(*current, fade=False)

    def _draw(self, card: ItemCard, position: int, count: int, fade: bool) -> None:
        new = self._fade.back()
        new.fill(card, self.lm, self.font_for(card), position, count)
        self._fade.swap(new, self.fade_seconds if fade else 0)
        self._drawn = (card, position, count, self.lm)


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
