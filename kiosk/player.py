"""What the rolling display shows next, and for how long: rule + rotation + cards.

No Kivy here: the screen hands in its own pagination (``pages_of``/``page_chars``), so
this class can be driven by a test with a fake clock, and the App only moves its output
onto the screen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kiosk.config import Config
from kiosk.presenter import Presenter
from kiosk.reading_time import count_reading_chars, page_seconds
from kiosk.rotation import Rotation, Slide
from kiosk.rules import admitted, effective_now
from screens.cards import CategoryCard, FeedbackInfo, ItemCard
from sync.model import Item
from sync.store import Snapshot


@dataclass(frozen=True)
class PlannedSlide:
    card: ItemCard
    slide: Slide
    seconds: float


MAX_ROLLING_PAGES = 6


class Player:
    def __init__(
        self,
        config: Config,
        *,
        pages_of: Callable[[ItemCard], int] = lambda card: 1,
        page_text: Callable[[ItemCard, int], str] = lambda card, page: card.body,
        media_dir: Path | None = None,
    ) -> None:
        self.config = config
        self.pages_of = pages_of
        self.page_text = page_text
        self.media_dir = media_dir or config.media_dir
        self.snapshot: Snapshot | None = None
        self.presenter: Presenter | None = None
        self.items: list[Item] = []
        self._ids: tuple[str, ...] = ()
        # Lazy: a page count needs the item laid out with the real font; counting all of
        # them up front delayed the first slide by seconds on a 1,000-item feed.
        self.rotation = Rotation(
            urgent_every=config.display.urgent_every, pages_of=self._item_pages, lazy_pages=True
        )

    def _item_pages(self, item: Item) -> int:
        # A 100,000-character body is 100-odd pages: rolled in full it would hold a
        # passer-by's screen for a quarter of an hour. The rest is for the touch screen
        # and the QR code; the pager still shows the true count ("第 6/120 页").
        return max(1, min(MAX_ROLLING_PAGES, self.pages_of(self.card_for(item))))

    def card_for(self, item: Item) -> ItemCard:
        assert self.presenter is not None
        return self.presenter.card(item)

    def load(self, snapshot: Snapshot, now: datetime) -> None:
        """Take up a new store snapshot without restarting the cycle."""
        self.snapshot = snapshot
        self.presenter = (
            Presenter(snapshot.meta, self.media_dir, self.config.terminal.id)
            if snapshot.meta
            else None
        )
        self._ids = ()
        self.refresh(now)

    def refresh(self, now: datetime, *, force: bool = False) -> bool:
        """Re-apply the display rule at ``now``; True when the admitted set changed."""
        if self.snapshot is None or self.snapshot.meta is None:
            changed = bool(self.items)
            self.items = []
            self.rotation.update([], [])
            return changed
        items = admitted(
            self.snapshot.items, self.snapshot.meta, self.config.terminal.region_code, now
        )
        ids = tuple(i.id for i in items)
        if ids == self._ids and not force:
            return False
        self._ids = ids
        self.items = items
        self.rotation.update(items, [c.id for c in self.snapshot.meta.categories])
        return True

    def effective_now(self, now: datetime) -> datetime:
        return effective_now(now, self.snapshot.meta if self.snapshot else None)

    def next(self) -> PlannedSlide | None:
        slide = self.rotation.next()
        if slide is None:
            return None
        item = self.rotation.item(slide.item_id)
        assert item is not None
        card = self.card_for(item)
        return PlannedSlide(card=card, slide=slide, seconds=self.seconds(card, slide.page))

    def seconds(self, card: ItemCard, page: int) -> float:
        d = self.config.display
        chars = count_reading_chars(self.page_text(card, page))
        if page == 0:
            chars += count_reading_chars(card.title)
        return page_seconds(
            chars,
            chars_per_minute=d.chars_per_minute,
            minimum=d.page_min_seconds,
            maximum=d.page_max_seconds,
        )

    def cycle_seconds(self) -> float:
        def of(slide: Slide) -> float:
            item = self.rotation.item(slide.item_id)
            return self.seconds(self.card_for(item), slide.page) if item else 0.0

        return self.rotation.cycle_seconds(of)

    # What the touch screens read.
    def urgent_titles(self) -> list[str]:
        return [i.title for i in self.items if i.is_urgent]

    def categories(self) -> list[CategoryCard]:
        return self.presenter.categories(self.items) if self.presenter else []

    def cards_in(self, category_id: str) -> list[ItemCard]:
        cards = [self.card_for(i) for i in self.items if i.category == category_id]
        return sorted(cards, key=lambda c: c.sort_key, reverse=True)

    def card(self, item_id: str) -> ItemCard | None:
        for item in self.items:
            if item.id == item_id:
                return self.card_for(item)
        return None

    def category(self, category_id: str) -> CategoryCard | None:
        for cat in self.categories():
            if cat.id == category_id:
                return cat
        return None

    def feedback(self) -> FeedbackInfo:
        return self.presenter.feedback_info() if self.presenter else FeedbackInfo()
