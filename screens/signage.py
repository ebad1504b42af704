"""The rolling display on a TV: one disclosure at a time, page by page, never scrolling.

Passers-by read from a few metres without touching anything, so a slide is built for the
glance: the category band (colour *and* name, and where this item stands in it, 3 / 12),
a bold title, one meta line (who, when, 目录编号, the 公示 window), then a page of the
body. The first image sits to the right of the text in landscape and above it in
portrait; the QR code for opinions sits bottom-right on white with its label, or the
supervision phone number when there is no usable QR.

Every box is computed by one pure function, :func:`slide_layout`, from the card and the
screen's own size; :meth:`SignageScreen.pages_of`, :meth:`~SignageScreen.page_chars` and
:meth:`~SignageScreen.show` all go through it, so the playlist's page count and the page
drawn can never disagree and a page never overflows its box.

Motion is limited to a 0.4 s cross-fade between slides (a cut on software GL, see
:func:`software_gl`) and the ticker. Slides that have
faded out give back their image and text textures at once, so memory stays flat on a
display that rolls for months.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from kivy.animation import Animation
from kivy.clock import Clock
from kivy.graphics.texture import Texture
from kivy.lang import Builder
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.relativelayout import RelativeLayout
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from kiosk.render import is_software_renderer
from screens.cards import FeedbackInfo, ItemCard, StatusInfo
from screens.linebreak import sanitize
from screens.pagination import (
    LruCache,
    Pages,
    block_height,
    line_height_for,
    paginate_body,
)
from screens.plaintext import PlainLabel, line_pixels, measurer, wrap
from screens.qrcode_widget import QRCode
from screens.statusbar import StatusBar  # noqa: F401  (used by signage.kv)
from screens.theme import BACKGROUND, Metrics, band_colors, metrics_for, rgba
from screens.ticker import Ticker  # noqa: F401  (used by signage.kv)

log = logging.getLogger(__name__)

Rect = tuple[float, float, float, float]  # x, y, width, height (Kivy: y from the bottom)
QRMatrix = list[list[bool]]

FADE_SECONDS = 0.4
UNSIZED = (100, 100)
"""Kivy's default widget size: not laid out yet. Metrics for it would give every label a
font size of its own (5, 6, 7 px ...), and each size opens another FreeType face of the CJK
font (about 2.5 MB each), so the screen keeps its 1080p metrics until it gets a real size."""
SCAN_LABEL = "扫码提意见"
PHONE_LABEL = "监督电话"
URGENT_LABEL = "紧急"
MAX_LINE_EM = 40  # longest body line, in characters of the body type
MAX_PHONE_CHARS = 32  # the feed's phone text sizes the corner: bound it
META_SEPARATOR = "  ·  "


def clean_line(text: str) -> str:
    """Feed text for a one-line slot: sanitised, whitespace runs collapsed."""
    return " ".join(sanitize(text).split())


def meta_parts(card: ItemCard) -> list[str]:
    parts = [
        card.publisher,
        card.published,
        f"目录编号 {card.catalog_no}" if card.catalog_no.strip() else "",
        card.window,
    ]
    return [clean_line(p) for p in parts if clean_line(p)]


def meta_lines(card: ItemCard, width: float, font_size: float) -> list[str]:
    """publisher · date · 目录编号 · window, broken only between parts where possible."""
    limit = width - 2

    def fits(text: str) -> bool:
        # The same breaker the label uses (it sums per-character widths, which can exceed
        # the width of the whole string measured at once), so a line we call one line is
        # never wrapped again by the label.
        return len(wrap(text, limit, font_size)) <= 1

    lines: list[str] = []
    for part in meta_parts(card):
        joined = f"{lines[-1]}{META_SEPARATOR}{part}" if lines else part
        if lines and fits(joined):
            lines[-1] = joined
        elif fits(part) or limit <= 0:
            lines.append(part)
        else:
            lines.extend(wrap(part, limit, font_size))
    return lines


def pager_text(page: int, pages: int) -> str:
    return f"第 {page + 1}/{pages} 页" if pages > 1 else ""


_software_gl: bool | None = None


def software_gl() -> bool:
    """Whether the window's GL renderer rasterises on the CPU (Mesa llvmpipe and kin).

    Kivy redraws the whole window for every frame in which anything changed, so a 0.4 s
    cross-fade is about a dozen full 1920×1080 frames per slide; on a GPU that is nothing,
    on llvmpipe it was most of the CPU the rolling display used. There, slides cut.
    """
    global _software_gl
    if _software_gl is None:
        from kivy.base import EventLoop

        if EventLoop.window is None:
            return False  # no GL context to ask yet (not remembered): assume a GPU
        try:
            from kivy.graphics.opengl import GL_RENDERER, glGetString

            raw = glGetString(GL_RENDERER)
        except Exception:  # a driver that will not say: assume a GPU, the common case
            raw = b""
        name = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw or "")
        _software_gl = is_software_renderer(name)
    return _software_gl


# --- geometry --------------------------------------------------------------------------


def corner_size(m: Metrics, has_qr: bool, phone: str) -> tuple[float, float] | None:
    """Size of the feedback corner: QR + "扫码提意见" (+ phone), or the phone alone."""
    pad = round(16 * m.scale)
    small = round(m.meta_font * 0.8)
    if has_qr:
        widths = [m.qr_size, measurer(m.meta_font, True)(SCAN_LABEL)]
        height = pad + m.qr_size + round(8 * m.scale) + line_pixels(m.meta_font) + pad
        if phone:
            widths.append(measurer(small)(f"{PHONE_LABEL} {phone}"))
            height += line_pixels(small)
        return max(widths) + 2 * pad, height
    if phone:
        width = max(measurer(m.meta_font)(PHONE_LABEL), measurer(m.body_font, True)(phone))
        return width + 2 * pad, pad + line_pixels(m.meta_font) + line_pixels(m.body_font) + pad
    return None


@dataclass(frozen=True)
class SlideLayout:
    """Every box of one slide, in the screen's coordinates."""

    metrics: Metrics
    header: Rect
    title: Rect
    title_max_lines: int
    tag: Rect | None
    meta: Rect
    meta_max_lines: int
    rule: Rect
    body: Rect
    pager: Rect
    image: Rect | None
    corner: Rect | None


def slide_layout(
    card: ItemCard, width: int, height: int, corner: tuple[float, float] | None
) -> SlideLayout:
    """The one grid of a slide (48 px margins at 1080p), from the card and screen size.

    Landscape: a text column on the left; a right column with the image on top and the
    feedback corner at the bottom. Portrait: the image on top, full width; title, meta and
    body below; the feedback corner bottom-right with the page indicator beside it.
    """
    m = metrics_for(max(int(width), 1), max(int(height), 1))
    gap = m.gutter
    header = (0.0, height - m.header_height, float(width), m.header_height)
    left, right = m.margin, width - m.margin
    top = height - m.header_height - m.margin
    bottom = m.ticker_height + m.margin
    has_image = bool(card.image_paths)
    image: Rect | None = None
    corner_rect: Rect | None = None
    text_left, text_right = left, right

    if m.portrait:
        title_max = 3
        if has_image:
            ih = round(min((right - left) * 0.75, (top - bottom) * 0.34))
            image = (left, top - ih, right - left, ih)
            top -= ih + gap
    else:
        title_max = 2
        column = round((right - left) * 0.30) if has_image else 0
        if corner:
            column = max(column, round(corner[0]))
        if column:
            text_right = right - column - round(1.5 * gap)
        if has_image:
            image_bottom = bottom + (corner[1] + gap if corner else 0)
            image = (right - column, image_bottom, column, top - image_bottom)
    if corner:
        corner_rect = (right - corner[0], bottom, corner[0], corner[1])
    # A line longer than about 40 characters is hard to follow from a distance.
    text_right = min(text_right, text_left + MAX_LINE_EM * m.body_font)
    text_w = text_right - text_left

    # Title, with the urgent tag in front of its first line.
    tag: Rect | None = None
    title_x = text_left
    title_pitch = line_pixels(m.title_font)
    if card.urgent:
        tag_font = round(m.title_font * 0.6)
        tag_w = measurer(tag_font, True)(URGENT_LABEL) + round(24 * m.scale)
        tag_h = round(title_pitch * 0.8)
        tag = (text_left, top - title_pitch / 2 - tag_h / 2, tag_w, tag_h)
        title_x += tag_w + round(gap * 0.75)
    title_w = text_right - title_x
    lines = len(wrap(card.title, title_w - 2, m.title_font, True)) if title_w > 2 else 1
    title_h = block_height(max(1, min(lines, title_max)), m.title_font, True)
    title = (title_x, top - title_h, title_w, title_h)
    y = top - title_h - round(gap / 2)

    meta_max = 3 if m.portrait else 2  # portrait: narrow lines, but room to spare
    meta_h = block_height(min(len(meta_lines(card, text_w, m.meta_font)), meta_max), m.meta_font)
    meta = (text_left, y - meta_h, text_w, meta_h)
    y -= meta_h + round(gap * 0.75)
    thickness = max(1, round(2 * m.scale))
    rule = (text_left, y - thickness, text_w, thickness)
    y -= thickness + round(gap * 0.75)

    pager_h = line_pixels(m.meta_font)
    if m.portrait and corner:
        pager = (left, bottom + corner[1] - pager_h, right - left - corner[0] - gap, pager_h)
        body_bottom = bottom + corner[1] + gap
    else:
        pager = (text_left, bottom, text_w, pager_h)
        body_bottom = bottom + pager_h + round(gap / 2)
    body = (text_left, body_bottom, text_w, max(y - body_bottom, 1.0))
    return SlideLayout(
        metrics=m,
        header=header,
        title=title,
        title_max_lines=title_max,
        tag=tag,
        meta=meta,
        meta_max_lines=meta_max,
        rule=rule,
        body=body,
        pager=pager,
        image=image,
        corner=corner_rect,
    )


# --- widgets ---------------------------------------------------------------------------


def _place(widget: Widget, rect: Rect | None) -> None:
    if rect is None:
        widget.opacity = 0
        widget.pos, widget.size = (0, 0), (0, 0)
        return
    widget.opacity = 1
    widget.pos, widget.size = (rect[0], rect[1]), (rect[2], rect[3])


def _fill_label(label: PlainLabel, rect: Rect, text: str, font: float, bold: bool) -> None:
    """Set a multi-line label and pin it to the top of ``rect`` at the pagination pitch."""
    label.source_text = ""
    label.font_size = font
    label.bold = bold
    label.line_height = line_height_for(font, bold)
    label.x, label.width = rect[0], rect[2]
    label.source_text = text
    label.texture_update()
    label.height = label.texture_size[1] if text else 0
    label.y = rect[1] + rect[3] - label.height


def box_texture(path: str, width: float, height: float) -> Texture | None:
    """The picture at ``path`` scaled once to fit ``width``×``height``, as a texture.

    Sync stores pictures at screen size (1440×1080 for a 4:3 photo at 1080p) for the
    detail and image screens; the slide's image box is about a third of that width, so
    loading the file as it is held ~6 MB of texture (and as much again while decoding) for
    a ~0.9 MB picture. JPEGs are decoded at a reduced scale (``draft``) straight away.
    None when the file cannot be read: the slide then shows no image, as before.
    """
    from PIL import Image as PILImage

    box = (max(1, int(width)), max(1, int(height)))
    try:
        with PILImage.open(path) as im:
            im.draft("RGB", box)
            im.thumbnail(box, PILImage.Resampling.BICUBIC)
            pixels = im.convert("RGBA")
    except Exception as exc:  # a missing or damaged file must not take the display down
        log.warning("cannot show image %s: %s", path, exc)
        return None
    texture = Texture.create(size=pixels.size, colorfmt="rgba")
    texture.blit_buffer(pixels.tobytes(), colorfmt="rgba", bufferfmt="ubyte")
    texture.flip_vertical()  # Pillow's rows run top-down, GL's bottom-up
    return texture


class BoxImage(Image):
    """An Image whose texture is set by :meth:`SignageSlide.fill` (from
    :func:`box_texture`), never loaded from ``source`` at full size."""

    def texture_update(self, *_args: object) -> None:
        return None


class FeedbackCorner(RelativeLayout):
    """QR code on white with "扫码提意见" (and the phone) under it, or the phone alone."""

    m = ObjectProperty(metrics_for(1920, 1080), rebind=True)
    has_qr = BooleanProperty(False)
    phone = StringProperty("")

    def arrange(self, m: Metrics, matrix: QRMatrix | None, phone: str) -> None:
        self.m = m
        self.has_qr = matrix is not None
        self.phone = phone
        qr: QRCode = self.ids.qr
        qr.matrix = matrix or []
        pad = round(16 * m.scale)
        w = self.width
        y = self.height - pad
        if matrix is not None:
            qr.size = (m.qr_size, m.qr_size)
            qr.pos = ((w - m.qr_size) / 2, y - m.qr_size)
            y -= m.qr_size + round(8 * m.scale)
            first_h, second_h = line_pixels(m.meta_font), line_pixels(round(m.meta_font * 0.8))
        else:
            qr.size = (0, 0)
            first_h, second_h = line_pixels(m.meta_font), line_pixels(m.body_font)
        first: Label = self.ids.first
        first.size, first.pos = (w, first_h), (0, y - first_h)
        y -= first_h
        second: PlainLabel = self.ids.second
        second.size, second.pos = (w, second_h), (0, y - second_h)

    def release(self) -> None:
        self.ids.qr.release()
        self.phone = ""


class SlideHeader(Widget):
    """The category band: name and subcategory on the left, "3 / 12" on the right."""

    band = ColorProperty(rgba("#37474f"))
    fg = ColorProperty(rgba("#ffffff"))
    category = StringProperty("")
    subcategory = StringProperty("")
    position = StringProperty("")
    m = ObjectProperty(metrics_for(1920, 1080), rebind=True)


class SignageSlide(FloatLayout):
    """One slide; two of them alternate so that the next can fade in over the last."""

    m = ObjectProperty(metrics_for(1920, 1080), rebind=True)
    accent = ColorProperty(rgba("#37474f"))
    card_id = StringProperty("")

    def fill(
        self,
        card: ItemCard,
        lay: SlideLayout,
        pages: Pages,
        page: int,
        position: int,
        count: int,
        matrix: QRMatrix | None,
        phone: str,
    ) -> None:
        m = lay.metrics
        ids = self.ids
        self.m = m
        self.card_id = card.id
        band, fg = band_colors(card.color)
        self.accent = rgba(band)
        header: SlideHeader = ids.header
        header.m = m
        header.band, header.fg = rgba(band), rgba(fg)
        header.category = card.category_name
        header.subcategory = card.subcategory
        header.position = f"{position} / {count}" if count > 0 else ""
        _place(header, lay.header)

        _place(ids.tag, lay.tag)
        ids.title.max_lines = lay.title_max_lines
        _fill_label(ids.title, lay.title, card.title, m.title_font, True)
        ids.meta.max_lines = lay.meta_max_lines
        meta = "\n".join(meta_lines(card, lay.meta[2], m.meta_font))
        _fill_label(ids.meta, lay.meta, meta, m.meta_font, False)
        _place(ids.rule, lay.rule)
        _fill_label(ids.body, lay.body, pages.text(page), m.body_font, False)
        ids.pager.text = pager_text(page, len(pages))
        _place(ids.pager, lay.pager)

        image = ids.image
        texture = None
        if lay.image is not None and card.image_paths:
            texture = box_texture(card.image_paths[0], lay.image[2], lay.image[3])
        image.texture = texture
        _place(image, lay.image if texture is not None else None)

        corner: FeedbackCorner = ids.corner
        _place(corner, lay.corner)
        if lay.corner is not None:
            corner.arrange(m, matrix, phone)
        else:
            corner.release()

    def release(self) -> None:
        """Give back what this slide holds on the GPU: image, QR and text textures."""
        self.card_id = ""
        image = self.ids.image
        image.source = ""
        image.texture = None
        for name in ("title", "meta", "body"):
            self.ids[name].source_text = ""
        self.ids.pager.text = ""
        header = self.ids.header
        header.category = header.subcategory = header.position = ""
        self.ids.corner.release()


class CrossFade:
    """Two slides on one stage: the next is filled out of sight, put on top and faded in
    over the last one, which then gives back its textures (``release()``) and leaves the
    stage: Kivy draws a widget at opacity 0 all the same (its bands and boxes blended at
    alpha 0 over the whole slide, every frame the ticker moves), so a slide nobody can
    see is taken out of the widget tree rather than made transparent."""

    def __init__(self, stage: Widget, slides: tuple[Widget, Widget]) -> None:
        self.stage = stage
        self.slides = slides
        self.front: Widget | None = None

    def back(self) -> Widget:
        """The slide to fill next; any running fade is finished at once."""
        for slide in self.slides:
            Animation.cancel_all(slide)
        if self.front is not None:
            self.front.opacity = 1
        return self.slides[1] if self.front is self.slides[0] else self.slides[0]

    def swap(self, new: Widget, seconds: float) -> None:
        old, self.front = self.front, new
        self.stage.remove_widget(new)
        self.stage.add_widget(new)  # on top, so it fades in over the old slide
        if old is None or seconds <= 0 or new.get_root_window() is None:
            new.opacity = 1
            if old is not None:
                self._retire(old)
            return
        new.opacity = 0
        anim = Animation(opacity=1, duration=seconds)

        def done(*_args: object) -> None:
            if self.front is new:
                self._retire(old)

        anim.bind(on_complete=done)
        anim.start(new)

    def _retire(self, slide: Widget) -> None:
        slide.opacity = 0
        slide.release()
        self.stage.remove_widget(slide)

    def release_hidden(self) -> None:
        for slide in self.slides:
            if slide is not self.front:
                Animation.cancel_all(slide)
                self._retire(slide)
        if self.front is not None:
            Animation.cancel_all(self.front)
            self.front.opacity = 1

    def release_all(self) -> None:
        self.front = None
        self.release_hidden()


# --- the screen ------------------------------------------------------------------------


class SignageScreen(Screen):
    """``name == "signage"``. The app drives it; it never calls the app.

    ``qr_for(url)`` (set by the app) returns a QR matrix with its quiet zone; without it,
    or when it fails, the corner shows the 监督电话 from :attr:`feedback` instead.
    """

    qr_for = ObjectProperty(None, allownone=True)  # Callable[[str], QRMatrix] | None
    feedback = ObjectProperty(FeedbackInfo())
    m = ObjectProperty(metrics_for(1920, 1080), rebind=True)
    blank = BooleanProperty(False)
    fade_seconds = NumericProperty(FADE_SECONDS)
    backdrop = BooleanProperty(True)
    """Paint the background as a rectangle. False while the screen fills the window on
    its own: the window is then cleared to the background colour instead, because on
    software GL a full-window rectangle costs about 25 ms of CPU per frame (measured on
    llvmpipe at 1920×1080: 31 ms per frame with it, 6 ms with the clear alone) and the
    ticker draws many frames. Needed in a transition (screens are drawn into off-screen
    buffers then) and when the screen is exported at a size other than the window's."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("name", "signage")
        self._layouts: LruCache[tuple[object, ...], SlideLayout] = LruCache(64)
        self._pages: LruCache[tuple[object, ...], Pages] = LruCache(64)
        self._qr_cache: LruCache[str, QRMatrix | None] = LruCache(16)
        self._current: tuple[ItemCard, int, int, int] | None = None
        self._drawn: tuple[object, ...] | None = None  # what the front slide shows
        self._shown = True
        self._status = StatusInfo()
        self._relayout = Clock.create_trigger(self._redraw_current)
        self._transit = False  # in a screen transition: drawn into an off-screen buffer
        super().__init__(**kwargs)
        if software_gl():
            self.fade_seconds = 0
        backdrop = self._update_backdrop
        self.bind(parent=backdrop, pos=backdrop, blank=backdrop)
        # Strong references: ids are weak proxies, and a slide off the stage has no parent.
        slides = (self.ids.slide_a.__self__, self.ids.slide_b.__self__)
        self._fade = CrossFade(self.ids.stage, slides)
        self._fade.release_all()  # off the stage until the first show()
        self.bind(
            size=self._on_resize,
            feedback=self._on_feedback,
            qr_for=self._on_feedback,
        )
        if tuple(self.size) != UNSIZED:
            self._on_resize()
        self._update_idle_text()

    # --- public API --------------------------------------------------------------

    def pages_of(self, card: ItemCard) -> int:
        """Body pages of ``card`` at the current size (what :meth:`show` will draw)."""
        return len(self._paginate(card, self._layout(card)))

    def page_text(self, card: ItemCard, page: int) -> str:
        """The body text of ``page`` (0-based, clamped): what the player times a page by."""
        pages = self._paginate(card, self._layout(card))
        return pages.text(page)

    def page_chars(self, card: ItemCard, page: int) -> int:
        """Non-blank body characters on ``page`` (0-based), for the reading time."""
        return self._paginate(card, self._layout(card)).chars(page)

    def show(self, card: ItemCard, page: int, position: int, count: int) -> None:
        """Cross-fade to ``page`` (0-based, clamped) of ``card``, item ``position`` of
        ``count`` in its category."""
        self._current = (card, page, position, count)
        if self.blank:
            return  # remembered; drawn when the screen comes back on
        self._draw(card, page, position, count, fade=True)

    def set_ticker(self, titles: list[str]) -> None:
        """Urgent titles to crawl; none: the band shows issuer and terminal, still."""
        self.ids.ticker.set_titles(titles)

    def set_status(self, status: StatusInfo) -> None:
        """Terminal name (ticker when calm) and the offline badge."""
        self._status = status
        self.ids.status.set_status(status)
        self._update_idle_text()

    def set_blank(self, blank: bool) -> None:
        """Screen-off hours: black, no Clock running, no textures held."""
        if blank == self.blank:
            return
        self.blank = blank
        self._update_running()
        if blank:
            self._fade.release_all()
            self._drawn = None
        elif self._current is not None:
            self._draw(*self._current, fade=False)

    def release(self) -> None:
        """Drop the textures of every slide that is not on screen."""
        self._fade.release_hidden()

    # --- screen life -------------------------------------------------------------

    def on_pre_enter(self, *_args: object) -> None:
        self._shown = True
        self._transit = True
        self._update_backdrop()
        self._update_running()

    def on_enter(self, *_args: object) -> None:
        self._transit = False
        self._update_backdrop()

    def on_pre_leave(self, *_args: object) -> None:
        self._transit = True
        self._update_backdrop()

    def on_leave(self, *_args: object) -> None:
        self._shown = False
        self._transit = False
        self._update_running()

    def _update_running(self) -> None:
        running = self._shown and not self.blank
        self.ids.ticker.active = running
        self.ids.status.active = running
        if running:
            self.ids.ticker.resume()

    # --- internals ---------------------------------------------------------------

    def on_manager(self, _screen: object, manager: Widget | None) -> None:
        """Take the manager's size at once, as its next layout pass would.

        The app puts its first slide up in ``on_start``, before that pass: at Kivy's
        default 100×100 it would lay the slide out (and open a font face per tiny size)
        only to do it all again a frame later at the real size.
        """
        if manager is not None:
            manager.bind(size=self._follow_manager)
            self._follow_manager(manager, manager.size)

    def _follow_manager(self, manager: Widget, size: list[float]) -> None:
        if self.manager is manager and tuple(size) != UNSIZED and self.size_hint == [1, 1]:
            self.size = size

    def _update_backdrop(self, *_args: object) -> None:
        """Clear the window to the background instead of painting it, where that is the same."""
        window = self.get_root_window()
        direct = (
            window is not None
            and not self._transit
            and tuple(self.pos) == (0, 0)
            and tuple(map(int, self.size)) == tuple(map(int, window.size))
        )
        if direct:
            window.clearcolor = (0, 0, 0, 1) if self.blank else rgba(BACKGROUND)
        self.backdrop = not direct

    def _on_resize(self, *_args: object) -> None:
        self._update_backdrop()
        w, h = int(self.width), int(self.height)
        if w > 0 and h > 0:
            self.m = metrics_for(w, h)
        self._relayout()

    def _on_feedback(self, *_args: object) -> None:
        self._qr_cache.clear()
        self._update_idle_text()
        self._relayout()

    def _update_idle_text(self) -> None:
        parts = [clean_line(self.feedback.issuer), clean_line(self._status.terminal_name)]
        self.ids.ticker.idle_text = "  ·  ".join(p for p in parts if p)

    def _redraw_current(self, *_args: object) -> None:
        """After a resize or new feedback settings; a no-op when nothing visible changed
        (so a late trigger never cuts a running cross-fade short)."""
        current = self._current
        if current is not None and not self.blank and self._drawn != self._draw_key(*current):
            self._draw(*current, fade=False)

    def _draw_key(self, card: ItemCard, page: int, position: int, count: int) -> tuple[object, ...]:
        has_qr = self._qr(card.feedback_url) is not None
        return (
            card,
            page,
            position,
            count,
            int(self.width),
            int(self.height),
            has_qr,
            self._phone(),
        )

    def _qr(self, url: str | None) -> QRMatrix | None:
        if not url or self.qr_for is None:
            return None
        provider = self.qr_for

        def make() -> QRMatrix | None:
            try:
                matrix = provider(url)
            except Exception as exc:  # a bad URL must not take the display down
                log.warning("no QR code for %r: %s", url, exc)
                return None
            return [list(map(bool, row)) for row in matrix] if matrix else None

        return self._qr_cache.get(url, make)

    def _phone(self) -> str:
        return clean_line(self.feedback.phone)[:MAX_PHONE_CHARS]

    def _layout(self, card: ItemCard) -> SlideLayout:
        w, h = int(self.width), int(self.height)
        # Whether a QR corner is reserved depends only on there being a URL and a provider,
        # not on encoding it: pagination runs for every item at start-up and after each
        # snapshot, and encoding a QR code per item there cost seconds. A code that fails
        # to encode when drawn shows the phone in the same corner, so pages stay the same.
        has_qr = bool(card.feedback_url) and self.qr_for is not None
        phone = self._phone()
        key = (card, w, h, has_qr, phone)

        def make() -> SlideLayout:
            corner = corner_size(metrics_for(max(w, 1), max(h, 1)), has_qr, phone)
            return slide_layout(card, w, h, corner)

        return self._layouts.get(key, make)

    def _paginate(self, card: ItemCard, lay: SlideLayout) -> Pages:
        _, _, bw, bh = lay.body
        font = lay.metrics.body_font
        key = (card.id, card.body, bw, bh, font)
        return self._pages.get(key, lambda: paginate_body(card.body, bw, bh, font))

    def _draw(self, card: ItemCard, page: int, position: int, count: int, fade: bool) -> None:
        self._update_backdrop()
        lay = self._layout(card)
        pages = self._paginate(card, lay)
        new = self._fade.back()
        matrix = self._qr(card.feedback_url)
        new.fill(card, lay, pages, pages.clamp(page), position, count, matrix, self._phone())
        self._fade.swap(new, self.fade_seconds if fade else 0)
        self._drawn = self._draw_key(card, page, position, count)


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
