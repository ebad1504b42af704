"""One disclosure in full: title, the metadata an inspector looks for, the text, the
images, and a large QR code for the resident's opinion.

Landscape puts the QR panel in a column on the right, where it stays visible however far
the text is scrolled; portrait puts the images above the text (DESIGN.md, "Look") and the
QR panel along the bottom. The body is split into one label per paragraph (and very long
paragraphs into sentence-aligned blocks) so no label's texture outgrows what a Pi's GPU
accepts, and every block is broken by the 避头尾 rules through :class:`PlainLabel`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.image import Image

from screens.cards import FeedbackInfo, ItemCard
from screens.countdown import CountdownBanner  # noqa: F401  (used by detail.kv)
from screens.imageviewer import ImageViewer
from screens.linebreak import NO_LINE_END, NO_LINE_START, sanitize
from screens.navbar import DEFAULT_METRICS, FlatButton, MetricsScreen  # noqa: F401
from screens.plaintext import PlainLabel, measurer
from screens.qrcode_widget import QRCode  # noqa: F401  (used by detail.kv)
from screens.theme import band_colors, rgba

QrProvider = Callable[[str], list[list[bool]]]

BLOCK_CHARS = 600  # longest text block in one label: a few thousand px of texture at most
BODY_LINE_HEIGHT = 1.1  # × the face's line box (≈1.47 em): ≈1.6 em between lines
SENTENCE_ENDS = "。！？；!?;"
APPROVAL = "审核审批"


def body_blocks(body: str, limit: int = BLOCK_CHARS) -> list[str]:
    """Paragraphs of ``body``, long ones cut after a sentence end into ≤ ``limit`` chars.

    A cut never leaves closing punctuation at the start of the next block nor opening
    punctuation at the end of this one, so the blocks obey 避头尾 at their seams too.
    """
    blocks: list[str] = []
    for para in sanitize(body).split("\n"):
        para = para.strip()
        while len(para) > limit:
            cut = _cut(para, limit)
            blocks.append(para[:cut])
            para = para[cut:]
        if para:
            blocks.append(para)
    return blocks


def _cut(text: str, limit: int) -> int:
    cut = 0
    for i in range(limit, limit // 2, -1):
        if text[i - 1] in SENTENCE_ENDS:
            cut = i
            break
    if cut == 0:
        cut = limit
        while cut > 1 and text[cut - 1] in NO_LINE_END:
            cut -= 1
    # Keep closing marks and combining marks with what they close or modify.
    while cut < len(text) and (
        text[cut] in NO_LINE_START or unicodedata.combining(text[cut]) or text[cut] == "\u200d"
    ):
        cut += 1
    return cut


def fit_font(text: str, width: float, largest: float, smallest: float) -> float:
    """The largest size from ``largest`` down to ``smallest`` at which ``text`` fits."""
    natural = measurer(largest)(sanitize(text)) if text else 0.0
    if natural <= width or natural <= 0:
        return largest
    return max(smallest, float(int(largest * width / natural)))


def strip_label(value: str, label: str) -> str:
    """``公示期 2026年…`` shown under the heading 公示期 loses the repeated word."""
    value = value.strip()
    return value[len(label) :].lstrip(" 　:：") if value.startswith(label) else value


def meta_rows(card: ItemCard) -> list[tuple[str, str]]:
    category = " / ".join(part for part in (card.category_name, card.subcategory) if part)
    rows = [
        ("发布单位", card.publisher),
        ("发布日期", card.published),
        ("目录编号", card.catalog_no),
        ("类　　别", category),
        ("公开时限", card.disclosure_type),
        ("公 示 期", strip_label(card.window, "公示期")),
        # "审核 X　审批 Y": one line each, so a name is never split between them.
        (APPROVAL, "\n".join(part.strip() for part in card.approval.split("　") if part.strip())),
    ]
    return [(key, value) for key, value in rows if value.strip()]


class MetaField(BoxLayout):
    """One "key  value" line of the metadata table; the value is feed text."""

    key = StringProperty("")
    value = StringProperty("")
    m = ObjectProperty(DEFAULT_METRICS, rebind=True)


class BodyBlock(PlainLabel):
    """One paragraph (or block) of the body text."""


class Thumb(ButtonBehavior, Image):
    """A tappable thumbnail; ``number`` is its index in the card's images."""

    number = NumericProperty(0)
    m = ObjectProperty(DEFAULT_METRICS, rebind=True)


class DetailScreen(MetricsScreen):
    """Name ``detail``. Dispatches ``on_feedback(item_id)`` for the 我要提意见 button.

    ``qr_for(url) -> matrix`` is set by the app; without it (or without a usable URL) the
    panel shows the phone number and asks the resident to call.
    """

    qr_for = ObjectProperty(None, allownone=True)
    item_id = StringProperty("")
    title = StringProperty("")
    category_name = StringProperty("")
    band = ColorProperty(rgba("#37474f"))
    band_text = ColorProperty(rgba("#ffffff"))
    accent = ColorProperty(rgba("#37474f"))
    urgent = BooleanProperty(False)
    phone = StringProperty("")
    email = StringProperty("")
    matrix = ListProperty([])
    has_images = BooleanProperty(False)
    qr_side = NumericProperty(340)  # ≥ 300 px at 1080p (set by detail.kv from the metrics)

    __events__ = ("on_feedback",)

    def __init__(self, **kwargs: Any) -> None:
        self._card: ItemCard | None = None
        super().__init__(**kwargs)
        self.viewer = ImageViewer()
        self.viewer.bind(on_close=self._viewer_closed)
        self.bind(m=self._place_sections)
        self.ids.thumbs.bind(width=self._size_thumbs)
        self.ids.email.bind(width=self._fit_email)
        self.bind(email=self._fit_email, m=self._fit_email)

    def show(self, card: ItemCard, feedback: FeedbackInfo) -> None:
        self.close_image()
        self._card = card
        band, text = band_colors(card.color)
        self.band, self.band_text, self.accent = rgba(band), rgba(text), rgba(band)
        self.item_id = card.id
        self.category_name = card.category_name
        self.title = card.title
        self.urgent = card.urgent
        self.phone = feedback.phone
        self.email = feedback.email
        self.matrix = self._matrix(card.feedback_url)
        self._fill_meta(card)
        self._fill_body(card)
        self._fill_images(card)
        self._place_sections()
        self.ids.scroll.scroll_y = 1

    def _matrix(self, url: str | None) -> list[list[bool]]:
        provider: QrProvider | None = self.qr_for
        if provider is None or not url:
            return []
        try:
            return provider(url)
        except ValueError:  # a URL too long for a readable code: phone and e-mail remain
            return []

    def on_qr_for(self, *_args: object) -> None:
        if self._card is not None:
            self.matrix = self._matrix(self._card.feedback_url)

    def _fill_meta(self, card: ItemCard) -> None:
        grid, wide = self.ids.meta, self.ids.meta_wide
        grid.clear_widgets()
        wide.clear_widgets()
        for key, value in meta_rows(card):
            # Names of reviewers are long: that row gets the whole width.
            box = wide if key == APPROVAL else grid
            box.add_widget(MetaField(key=key, value=value, m=self.m))

    def _fill_body(self, card: ItemCard) -> None:
        box = self.ids.body
        box.clear_widgets()
        for block in body_blocks(card.body):
            box.add_widget(BodyBlock(source_text=block, font_size=self.m.body_font))

    def _fill_images(self, card: ItemCard) -> None:
        box = self.ids.thumbs
        box.clear_widgets()
        for number, path in enumerate(card.image_paths):
            thumb = Thumb(source=path, number=number, m=self.m)
            thumb.bind(on_release=lambda t: self.open_image(int(t.number)))
            box.add_widget(thumb)
        self.has_images = bool(card.image_paths)
        self._size_thumbs()

    def _size_thumbs(self, *_args: object) -> None:
        """Three thumbnails to a row at most 300 px wide (at 1080p), 4:3."""
        m = self.m
        box = self.ids.thumbs
        width = min(round(300 * m.scale), (box.width - 2 * m.gutter) / 3 - 1)
        for thumb in box.children:
            thumb.size = (max(width, 1), max(width, 1) * 3 / 4)

    def _fit_email(self, *_args: object) -> None:
        """An address reads best on one line: shrink it a little (not below 24 px) to fit."""
        label = self.ids.email
        label.font_size = fit_font(self.email, label.width - 4, self.m.meta_font, 24 * self.m.scale)

    def _place_sections(self, *_args: object) -> None:
        """Portrait: images above the text; landscape: after it."""
        content = self.ids.content
        images = self.ids.images
        ids = self.ids
        for widget in (*ids.meta.children, *ids.meta_wide.children, *ids.thumbs.children):
            widget.m = self.m
        for block in self.ids.body.children:
            block.font_size = self.m.body_font
        self._size_thumbs()
        if images.parent is not None:
            images.parent.remove_widget(images)
        # BoxLayout stacks children in reverse order of the list: index 0 is the bottom.
        content.add_widget(images, index=len(content.children) if self.m.portrait else 0)

    # ----- images ------------------------------------------------------------------
    def open_image(self, index: int) -> None:
        if self._card is None or not self._card.image_paths:
            return
        self.viewer.open_at(self._card.image_paths, index)
        if self.viewer.parent is None:
            # Above the content, below the countdown banner.
            self.add_widget(self.viewer, index=1)

    def close_image(self) -> None:
        self.viewer.close()

    def _viewer_closed(self, *_args: object) -> None:
        if self.viewer.parent is not None:
            self.viewer.parent.remove_widget(self.viewer)

    def on_leave(self, *_args: object) -> None:
        self.close_image()

    # ----- outward ---------------------------------------------------------------
    def request_feedback(self) -> None:
        if self.item_id:
            self.dispatch("on_feedback", self.item_id)

    def set_countdown(self, seconds: int | None) -> None:
        self.ids.countdown.set_seconds(seconds)

    def on_feedback(self, item_id: str) -> None:
        pass


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
