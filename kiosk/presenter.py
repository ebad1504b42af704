"""Turns admitted store items into the plain cards the screens show.

All formatting decisions (Chinese dates, the 公示 window wording, which image file,
the feedback URL) are made here, once, so every screen says the same thing the same way.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kiosk.feedback import FeedbackUrlError, feedback_url, validate_template
from screens.cards import CategoryCard, FeedbackInfo, ItemCard
from sync.model import FeedMeta, Item

log = logging.getLogger(__name__)

DISCLOSURE_LABELS = {
    "standing": "长期公开",
    "periodic": "定期公开",
    "phase": "逐段公开",
    "ad_hoc": "及时公开",
}
WEEKDAYS = "一二三四五六日"
# Calm defaults for categories whose feed entry has no colour.
DEFAULT_COLORS = ("#9e1b1b", "#1f4e8c", "#2e6b34", "#7a5312", "#455a64", "#5b3f8c")


def local_zone() -> tzinfo:
    try:
        return ZoneInfo("Asia/Shanghai")
    except ZoneInfoNotFoundError:  # a minimal image without tzdata
        return timezone(timedelta(hours=8), "CST")


ZONE = local_zone()


def cn_date(value: datetime) -> str:
    local = value.astimezone(ZONE)
    return f"{local.year}年{local.month}月{local.day}日"


def cn_clock(value: datetime) -> str:
    local = value.astimezone(ZONE)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def cn_weekday(value: datetime) -> str:
    local = value.astimezone(ZONE)
    return f"{local.month}月{local.day}日 星期{WEEKDAYS[local.weekday()]}"


def window_text(item: Item) -> str:
    start = cn_date(item.valid_from)
    if item.valid_until is not None:
        # valid_until is exclusive; people read the last day as the one before it at 00:00.
        end = item.valid_until - timedelta(seconds=1)
        return f"公示期 {start} 至 {cn_date(end)}"
    if item.disclosure_type == "standing":
        return "长期公开"
    return f"自 {start} 起公开"


def approval_text(item: Item) -> str:
    parts = []
    if item.approval.reviewed_by:
        parts.append(f"审核 {item.approval.reviewed_by}")
    if item.approval.approved_by:
        parts.append(f"审批 {item.approval.approved_by}")
    return "　".join(parts)


class Presenter:
    """Cards for one snapshot; build a new one whenever the snapshot changes."""

    def __init__(self, meta: FeedMeta, media_dir: Path, terminal_id: str) -> None:
        self.meta = meta
        self.media_dir = media_dir
        self.terminal_id = terminal_id
        self._template: str | None = meta.feedback.url_template
        try:
            validate_template(meta.feedback.url_template)
        except FeedbackUrlError as exc:
            log.warning("feedback QR codes disabled: %s", exc)
            self._template = None
        self._cards: dict[str, ItemCard] = {}

    def color(self, category_id: str) -> str:
        for index, cat in enumerate(self.meta.categories):
            if cat.id == category_id:
                return cat.color or DEFAULT_COLORS[index % len(DEFAULT_COLORS)]
        return DEFAULT_COLORS[-2]

    def category_name(self, category_id: str) -> str:
        cat = self.meta.category(category_id)
        return cat.name if cat else category_id

    def feedback_info(self) -> FeedbackInfo:
        fb = self.meta.feedback
        return FeedbackInfo(phone=fb.phone or "", email=fb.email or "", issuer=self.meta.issuer)

    def categories(self, items: list[Item]) -> list[CategoryCard]:
        counts: dict[str, int] = {}
        for item in items:
            counts[item.category] = counts.get(item.category, 0) + 1
        return [
            CategoryCard(id=c.id, name=c.name, color=self.color(c.id), count=counts.get(c.id, 0))
            for c in self.meta.categories
        ]

    def card(self, item: Item) -> ItemCard:
        cached = self._cards.get(item.id)
        if cached is not None:
            return cached
        url = None
        if self._template is not None:
            try:
                url = feedback_url(
                    self._template,
                    item_id=item.id,
                    terminal_id=self.terminal_id,
                    category=item.category,
                )
            except FeedbackUrlError as exc:
                log.warning("no QR for item %r: %s", item.id, exc)
        published = item.date_published or item.valid_from
        images = tuple(
            str(self.media_dir / m.local_path)
            for m in item.media
            if m.local_path and (self.media_dir / m.local_path).is_file()
        )
        card = ItemCard(
            id=item.id,
            category_id=item.category,
            category_name=self.category_name(item.category),
            color=self.color(item.category),
            title=item.title,
            body=item.content_text,
            subcategory=item.subcategory,
            publisher=item.publisher,
            catalog_no=item.catalog_no,
            published=cn_date(published),
            window=window_text(item),
            disclosure_type=DISCLOSURE_LABELS.get(item.disclosure_type, ""),
            approval=approval_text(item),
            image_paths=images,
            feedback_url=url,
            urgent=item.is_urgent,
            sort_key=_sort_key(item),
        )
        self._cards[item.id] = card
        return card


def _sort_key(item: Item) -> str:
    when = item.date_published or item.date_modified or item.valid_from
    return f"{when.astimezone(UTC).isoformat()}|{item.id}"
