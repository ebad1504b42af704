"""The ticker: one line of urgent titles crawling right to left in a dark band.

It is the only continuous motion on the rolling display, so it is made cheap and calm:

* The text is rendered once into a texture (in pieces of at most :data:`CHUNK_PX` pixels,
  because the Raspberry Pi 3's GPU cannot hold a texture wider than 2048 px; a usual
  line is a single piece) and moved by changing one ``Translate``: no relayout, no new
  texture per frame.
* The position is updated by a Clock interval of 1/20 s, not every frame, at a constant
  speed of about three characters a second (120 px/s for the 38 px type of 1080p), and
  only ever by whole pixels (6 px a step at 1080p): a sub-pixel position would blur the
  glyphs, and a step that rounds to no movement draws no frame.
* Kivy has no partial redraw: any change redraws the whole window. So each ticker step
  costs a full frame (about 10 ms of CPU at 1080p on llvmpipe once the screen's
  background is the window's clear colour, see ``SignageScreen.backdrop``), and 20 steps
  a second rather than 30 is what bounds that cost; the step is what readers see move,
  and 20 fps of whole-pixel steps still reads as a smooth crawl from a few metres.
* The Clock runs only while there is something to scroll and the owner says the ticker
  is active (not blanked, screen shown); detached from the window it stops itself.
* Without urgent titles the band shows the issuer / terminal name, still, left-aligned.

Feed titles are sanitised and drawn without markup.
"""

from __future__ import annotations

import math
from pathlib import Path

from kivy.clock import Clock, ClockEvent
from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, InstructionGroup, PopMatrix, PushMatrix, Rectangle, Translate
from kivy.graphics.texture import Texture
from kivy.lang import Builder
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    StringProperty,
)
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.stencilview import StencilView

from screens.fonts import FONT_NAME
from screens.linebreak import sanitize
from screens.plaintext import measurer

SEPARATOR = "　◆　"
FRAME_SECONDS = 1 / 20
CHARS_PER_SECOND = 120 / 38  # 120 px/s at the 38 px ticker type of 1080p
CHUNK_PX = 2000
MAX_TITLES = 20  # a ticker longer than this is no longer read by anyone passing by


def one_line(text: str) -> str:
    """Sanitised, newlines as spaces: the ticker is a single line."""
    return sanitize(text).replace("\n", " ").strip()


def strip_text(titles: list[str]) -> str:
    """The crawling line: sanitised titles, each followed by the separator (so it loops)."""
    clean = [one_line(t) for t in titles[:MAX_TITLES]]
    clean = [t for t in clean if t]
    return "".join(t + SEPARATOR for t in clean)


def fit(text: str, width: float, font_size: float, bold: bool = False) -> str:
    """``text`` cut with an ellipsis to ``width`` pixels (the still line never crawls)."""
    measure = measurer(font_size, bold)
    if measure(text) <= width:
        return text
    while text and measure(text + "…") > width:
        text = text[:-1]
    return text + "…" if text else ""


def chunks(text: str, font_size: float, limit: float = CHUNK_PX) -> list[str]:
    """Cut ``text`` into pieces no wider than ``limit`` pixels (at least one char each)."""
    measure = measurer(font_size)
    out: list[str] = []
    current = ""
    width = 0.0
    for ch in text:
        w = measure(ch)
        if current and width + w > limit:
            out.append(current)
            current, width = "", 0.0
        current += ch
        width += w
    if current:
        out.append(current)
    return out


class TickerStrip(StencilView):
    """The clipped area the line moves in; ``head`` is the x of the line's start."""

    text = StringProperty("")
    font_size = NumericProperty(38)
    speed = NumericProperty(120)
    scrolling = BooleanProperty(False)
    active = BooleanProperty(True)
    head = NumericProperty(0)
    text_color = ListProperty([1, 1, 1, 1])

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._textures: list[Texture] = []
        self._period = 0.0
        self._exact = 0.0  # the unrounded position; ``head`` is it in whole pixels
        self._event: ClockEvent | None = None
        with self.canvas:
            PushMatrix()
            self._color = Color(*self.text_color)
            self.translate = Translate(0, 0)
            self._group = InstructionGroup()
            PopMatrix()
        self.bind(text=self._rebuild, font_size=self._rebuild, size=self._on_size)
        self.bind(pos=self._place, scrolling=self._rebuild, active=self._update_clock)
        self.bind(text_color=self._recolor)
        self._rebuild()

    # --- drawing -----------------------------------------------------------------

    def _recolor(self, *_args: object) -> None:
        self._color.rgba = self.text_color

    def _rebuild(self, *_args: object) -> None:
        self._textures = []
        text = self.text if self.scrolling else fit(self.text, self.width, self.font_size)
        for piece in chunks(text, self.font_size) if text else []:
            core = CoreLabel(text=piece, font_name=FONT_NAME, font_size=self.font_size)
            core.refresh()
            if core.texture is not None:
                self._textures.append(core.texture)
        self._period = float(sum(t.width for t in self._textures))
        self._restart()

    def _on_size(self, *_args: object) -> None:
        if self.scrolling:
            self._layout()
        else:
            self._rebuild()  # the still line is cut to the width

    def _layout(self, *_args: object) -> None:
        """(Re)place the rectangles: enough copies of the line to cover the area."""
        self._group.clear()
        if not self._textures:
            self._place()
            return
        copies = math.ceil(self.width / self._period) + 1 if self.scrolling else 1
        for k in range(copies):
            x = k * self._period
            for texture in self._textures:
                y = (self.height - texture.height) / 2
                self._group.add(Rectangle(texture=texture, pos=(x, y), size=texture.size))
                x += texture.width
        self._place()

    def _place(self, *_args: object) -> None:
        self.translate.xy = (self.x + self.head, self.y)

    # --- motion ------------------------------------------------------------------

    def _restart(self, *_args: object) -> None:
        """New text: start it at the right edge (scrolling) or the left edge (still)."""
        self.head = self._exact = round(self.width) if self.scrolling else 0
        self._layout()
        self._update_clock()

    def _update_clock(self, *_args: object) -> None:
        want = self.scrolling and self.active and self._period > 0
        if want and self._event is None:
            self._event = Clock.schedule_interval(self.step, FRAME_SECONDS)
        elif not want and self._event is not None:
            self._event.cancel()
            self._event = None

    @property
    def running(self) -> bool:
        return self._event is not None

    def step(self, dt: float) -> bool | None:
        if self.get_root_window() is None:  # detached (screen switched away): stop
            self._event = None
            return False
        exact = self._exact - self.speed * min(dt, 0.5)
        while exact <= -self._period:
            exact += self._period
        self._exact = exact
        head = round(exact)
        if head != self.head:  # unchanged: no instruction touched, so no frame drawn
            self.head = head
            self._place()
        return None

    def resume(self) -> None:
        """Restart the Clock after the screen came back (``step`` stops when detached)."""
        self._update_clock()

    def release(self) -> None:
        if self._event is not None:
            self._event.cancel()
            self._event = None
        self._group.clear()
        self._textures = []


class Ticker(BoxLayout):
    """The dark band: a "紧急通知" tag when there are urgent titles, then the line."""

    titles = ListProperty([])
    idle_text = StringProperty("")
    font_size = NumericProperty(38)
    tag_text = StringProperty("紧急通知")
    active = BooleanProperty(True)
    pad = NumericProperty(16)

    def on_kv_post(self, _base: object) -> None:
        self.bind(titles=self._refresh, idle_text=self._refresh, font_size=self._refresh)
        self._refresh()

    def set_titles(self, titles: list[str]) -> None:
        self.titles = list(titles)

    @property
    def strip(self) -> TickerStrip:
        return self.ids.strip

    @property
    def urgent(self) -> bool:
        return bool(strip_text(list(self.titles)))

    def _refresh(self, *_args: object) -> None:
        line = strip_text(list(self.titles))
        strip = self.ids.strip
        idle = one_line(self.idle_text)
        if strip.text == (line or idle) and strip.scrolling == bool(line):
            strip.speed = self.font_size * CHARS_PER_SECOND  # same line: keep its place
            return
        strip.scrolling = False  # set text and mode together, then restart once
        strip.speed = self.font_size * CHARS_PER_SECOND
        if line:
            strip.text_color = [1, 1, 1, 1]
            strip.text = line
            strip.scrolling = True
        else:
            strip.text_color = [1, 1, 1, 0.85]
            strip.text = idle
        self.ids.tag.opacity = 1 if line else 0

    def resume(self) -> None:
        self.ids.strip.resume()

    def release(self) -> None:
        self.ids.strip.release()


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
