"""A whole page for giving an opinion on one item: a very large QR code and the other
channels beside it.

Many residents hold the phone far from the screen, or have older phones with weak cameras:
the code is as large as the page allows, always on white with its quiet zone, and the
hotline and e-mail address are there for those who do not scan. Replies are published
later as 通知公告 › 意见建议答复; the page says so, so a resident knows where to look.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.properties import (
    ColorProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)

from screens.cards import FeedbackInfo, ItemCard
from screens.countdown import CountdownBanner  # noqa: F401  (used by feedback.kv)
from screens.detail import fit_font
from screens.navbar import MetricsScreen
from screens.plaintext import PlainLabel  # noqa: F401  (used by feedback.kv)
from screens.qrcode_widget import QRCode  # noqa: F401  (used by feedback.kv)
from screens.theme import band_colors, rgba

INSTRUCTION = "请用手机扫描二维码提出意见建议"
INSTRUCTION_2 = "请用手机扫描二维码\n提出意见建议"  # the narrow landscape card: two whole phrases
REPLY_NOTE = "对意见建议的答复，将在首页「通知公告」栏目的「意见建议答复」中公布。"
NO_QR = "本条暂不能扫码反馈\n请拨打监督电话"


class FeedbackScreen(MetricsScreen):
    """Name ``feedback``. ``qr_for(url) -> matrix`` is set by the app."""

    qr_for = ObjectProperty(None, allownone=True)
    item_id = StringProperty("")
    title = StringProperty("")
    category_name = StringProperty("")
    phone = StringProperty("")
    email = StringProperty("")
    matrix = ListProperty([])
    band = ColorProperty(rgba("#37474f"))
    band_text = ColorProperty(rgba("#ffffff"))
    qr_side = NumericProperty(600)  # set by feedback.kv from the metrics

    def __init__(self, **kwargs: Any) -> None:
        self._card: ItemCard | None = None
        super().__init__(**kwargs)
        self.ids.email.bind(width=self._fit_email)
        self.bind(email=self._fit_email, m=self._fit_email)

    def show(self, card: ItemCard, feedback: FeedbackInfo) -> None:
        self._card = card
        band, text = band_colors(card.color)
        self.band, self.band_text = rgba(band), rgba(text)
        self.item_id = card.id
        self.title = card.title
        self.category_name = card.category_name
        self.phone = feedback.phone
        self.email = feedback.email
        self.matrix = self._matrix(card.feedback_url)

    def _matrix(self, url: str | None) -> list[list[bool]]:
        if self.qr_for is None or not url:
            return []
        try:
            return self.qr_for(url)
        except ValueError:  # too long for a readable code: the hotline remains
            return []

    def on_qr_for(self, *_args: object) -> None:
        if self._card is not None:
            self.matrix = self._matrix(self._card.feedback_url)

    def _fit_email(self, *_args: object) -> None:
        label = self.ids.email
        label.font_size = fit_font(self.email, label.width - 4, self.m.body_font, 26 * self.m.scale)

    def set_countdown(self, seconds: int | None) -> None:
        self.ids.countdown.set_seconds(seconds)


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
