"""The playlist of the rolling display: which slide comes next.

Pure and deterministic (no Kivy, no clock): the UI asks :meth:`Rotation.next` whenever a
slide's time is up, and hands in a new admitted snapshot with :meth:`Rotation.update`
whenever the store or the time changes what the display rule admits.

Choices, so that whoever reads the screen can predict it:

* The normal cycle goes through the feed's categories in the feed's order and, within a
  category, newest first. "Newest" is ``date_published``, falling back to
  ``date_modified`` and then ``valid_from`` when an item has no publication date; ties
  are broken by ``date_modified``, ``valid_from`` and finally the id, so the order never
  depends on the order of the snapshot. Every page of an item is shown consecutively.
* An item whose category is not among ``category_order`` is not shown: the display rule
  forbids it (rule 3), and a screen must err on the side of showing less.
* Urgent items also take their normal place. An urgent item not seen before interrupts
  at the very next slide (several arriving together are shown one after the other);
  afterwards one urgent item interrupts after every ``urgent_every`` normal slides, the
  one shown longest ago first (round robin). An interrupt shows all the urgent item's
  pages, then the normal cycle *continues the interrupted item from its next page*
  rather than restarting it: the reader has already seen the earlier pages, and
  restarting would make a long item with frequent interrupts never finish.
* The position survives updates. It is kept as the place in the sort order of the item
  being shown, not as an index, so a withdrawn current item is followed by whatever now
  sorts after it, new items after the position appear later in this cycle and new items
  before it in the next one. An item that changes its dates while on screen finishes
  its pages and the cycle continues from where it was: nothing is skipped.
* Page counts come from ``pages_of`` at every :meth:`update` (the UI calls ``update``
  again after a resize); the current item's page index is clamped to its new count.
  With ``lazy_pages`` an item's pages are counted only when the playlist reaches it (and
  remembered until the next update): paginating all 1,000 bodies of a county feed with
  the real font took seconds before the first slide, twice (again after the first
  layout), for items that come up minutes or hours later. A lazy count that fails has no
  caller to report to, so it is logged and the item is shown as one page.
"""

from __future__ import annotations

import logging
import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sync.model import Item

log = logging.getLogger(__name__)

# Sort key of an item in the normal cycle: (category rank, newest-first key ending in the id).
# The rank is a float so that a position inside a vanished category can sit between two
# remaining categories.
_WithinKey = tuple[float, float, float, str]
_OrderKey = tuple[float, _WithinKey]


@dataclass(frozen=True)
class Slide:
    item_id: str
    category: str
    page: int  # 0-based page index of the item's body
    pages: int  # total pages of that item
    urgent_interrupt: bool  # shown because of the urgent rule, not the normal cycle
    position: int  # 1-based position of the item within its category (for "党务公开 3/12")
    category_count: int  # number of admitted items in the category


@dataclass(slots=True)
class _Cursor:
    """Where the normal cycle is: the item on screen and the sort position it was taken from."""

    item_id: str
    category: str
    key: _OrderKey
    page: int


def _negated_time(value: datetime | None) -> float:
    """Newest first means descending time; a missing date sorts after every real one."""
    if value is None:
        return math.inf
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # the feed parser gives aware times; be safe
    return -value.timestamp()


def _newest_first(item: Item) -> _WithinKey:
    primary = item.date_published or item.date_modified or item.valid_from
    return (
        _negated_time(primary),
        _negated_time(item.date_modified),
        _negated_time(item.valid_from),
        item.id,
    )


class Rotation:
    """Playlist state for one rolling display."""

    def __init__(
        self,
        *,
        urgent_every: int = 8,
        pages_of: Callable[[Item], int] = lambda item: 1,
        lazy_pages: bool = False,
    ) -> None:
        if isinstance(urgent_every, bool) or not isinstance(urgent_every, int) or urgent_every < 1:
            raise ValueError(f"urgent_every must be an integer >= 1, got {urgent_every!r}")
        self._urgent_every = urgent_every
        self._pages_of = pages_of
        self._lazy_pages = lazy_pages
        # The admitted snapshot, in cycle order.
        self._items: dict[str, Item] = {}
        self._order: list[str] = []
        self._keys: list[_OrderKey] = []
        self._pages: dict[str, int] = {}
        self._places: dict[str, tuple[int, int]] = {}  # id -> (position, category_count)
        self._category_order: tuple[str, ...] = ()
        # The normal cycle.
        self._cursor: _Cursor | None = None
        self._since_interrupt = 0  # normal slides since the last interrupt, capped
        # Urgent interrupts.
        self._run: tuple[str, int] | None = None  # urgent item being interrupted with, page
        self._arrivals: list[str] = []  # urgent items not yet shown since they arrived
        self._seen_urgent: set[str] = set()
        self._last_interrupt: dict[str, int] = {}  # id -> number of its latest interrupt
        self._interrupts = 0

    # ----------------------------------------------------------------- snapshot

    def update(self, items: Sequence[Item], category_order: Sequence[str]) -> None:
        """Take a new admitted snapshot without losing the place in the cycle."""
        new_order = tuple(dict.fromkeys(category_order))
        ranks = {category: rank for rank, category in enumerate(new_order)}
        admitted: dict[str, Item] = {}
        for item in items:
            # A duplicate id would be an upstream bug; the first one wins, deterministically.
            if item.category in ranks and item.id not in admitted:
                admitted[item.id] = item
        entries = sorted(
            ((float(ranks[item.category]), _newest_first(item)), item.id)
            for item in admitted.values()
        )
        # Eager: ask the UI for page counts before touching any state, so that if it fails
        # the previous snapshot keeps playing and the error reaches the caller. Lazy: counted
        # by _page_count when each item comes up.
        pages: dict[str, int] = {}
        if not self._lazy_pages:
            pages = {item_id: self._count(admitted[item_id]) for _, item_id in entries}
        self._keys = [key for key, _ in entries]
        self._order = [item_id for _, item_id in entries]
        self._items = {item_id: admitted[item_id] for item_id in self._order}
        self._pages = pages
        self._places = {}
        counts: dict[str, int] = {}
        for item in self._items.values():
            counts[item.category] = counts.get(item.category, 0) + 1
        seen_in: dict[str, int] = {}
        for item in self._items.values():
            seen_in[item.category] = seen_in.get(item.category, 0) + 1
            self._places[item.id] = (seen_in[item.category], counts[item.category])

        if self._cursor is not None:
            cursor = self._cursor
            rank = self._remap_rank(cursor.category, cursor.key[0], new_order, ranks)
            cursor.key = (rank, cursor.key[1])
            # A page count that shrank below the page on screen needs no fixing here:
            # next() moves on as soon as no later page exists, which is the clamp.
        self._category_order = new_order

        urgent = [item_id for item_id in self._order if self._items[item_id].is_urgent]
        urgent_set = set(urgent)
        self._arrivals = [item_id for item_id in self._arrivals if item_id in urgent_set]
        self._arrivals += [item_id for item_id in urgent if item_id not in self._seen_urgent]
        # Forgetting what left keeps memory bounded on a screen that runs for months; an
        # urgent item that comes back is announced again, which is what a reader expects.
        self._seen_urgent = urgent_set
        self._last_interrupt = {
            item_id: count
            for item_id, count in self._last_interrupt.items()
            if item_id in urgent_set
        }
        if self._run is not None and self._run[0] not in urgent_set:
            self._run = None  # withdrawn or no longer urgent: stop interrupting with it

    def _count(self, item: Item) -> int:
        return max(1, int(self._pages_of(item)))

    def _page_count(self, item_id: str) -> int:
        """Pages of an admitted item, counted on first use when lazy."""
        count = self._pages.get(item_id)
        if count is None:
            try:
                count = self._count(self._items[item_id])
            except Exception as exc:
                log.warning("cannot count the pages of %r: %s", item_id, exc)
                count = 1
            self._pages[item_id] = count
        return count

    def _remap_rank(
        self, category: str, rank: float, new_order: tuple[str, ...], ranks: dict[str, int]
    ) -> float:
        """Rank of the cursor's category in the new order, or just before its successor."""
        if category in ranks:
            return float(ranks[category])
        # The category left the feed: continue with the first later category that remains.
        for later in self._category_order[math.floor(rank) + 1 :]:
            if later in ranks:
                return ranks[later] - 0.5
        return len(new_order) - 0.5  # nothing remains after it: the next slide wraps

    # ----------------------------------------------------------------- playback

    def next(self) -> Slide | None:
        """The slide to show now, advancing the playlist; ``None`` when nothing is admitted."""
        if not self._order:
            return None
        if self._run is not None:
            run_id, run_page = self._run
            if run_page + 1 < self._page_count(run_id):
                self._run = (run_id, run_page + 1)
                return self._slide(run_id, run_page + 1, urgent_interrupt=True)
            self._run = None
        if self._arrivals:
            return self._interrupt(self._arrivals.pop(0))
        if self._since_interrupt >= self._urgent_every:
            urgent = [item_id for item_id in self._order if self._items[item_id].is_urgent]
            if urgent:
                # Round robin: the urgent item interrupted longest ago (or never) goes next;
                # ties go in cycle order. min() keeps the first of equal keys.
                return self._interrupt(min(urgent, key=lambda i: self._last_interrupt.get(i, -1)))
        return self._normal()

    def _interrupt(self, item_id: str) -> Slide:
        self._interrupts += 1
        self._last_interrupt[item_id] = self._interrupts
        self._since_interrupt = 0
        self._run = (item_id, 0)
        return self._slide(item_id, 0, urgent_interrupt=True)

    def _normal(self) -> Slide:
        cursor = self._cursor
        if (
            cursor is not None
            and cursor.item_id in self._items
            and cursor.page + 1 < self._page_count(cursor.item_id)
        ):
            cursor.page += 1
        else:
            index = 0 if cursor is None else bisect_right(self._keys, cursor.key)
            if index == len(self._keys):
                index = 0  # end of the cycle
            item_id = self._order[index]
            cursor = _Cursor(item_id, self._items[item_id].category, self._keys[index], 0)
            self._cursor = cursor
        # Capped so that an urgent item arriving after a long calm waits no longer than needed.
        self._since_interrupt = min(self._since_interrupt + 1, self._urgent_every)
        return self._slide(cursor.item_id, cursor.page, urgent_interrupt=False)

    def _slide(self, item_id: str, page: int, *, urgent_interrupt: bool) -> Slide:
        position, count = self._places[item_id]
        return Slide(
            item_id=item_id,
            category=self._items[item_id].category,
            page=page,
            pages=self._page_count(item_id),
            urgent_interrupt=urgent_interrupt,
            position=position,
            category_count=count,
        )

    # ----------------------------------------------------------------- inspection

    def item(self, item_id: str) -> Item | None:
        """The admitted item behind a slide, so the UI needs no second lookup table."""
        return self._items.get(item_id)

    def cycle_length(self) -> int:
        """Slides in one full normal cycle (urgent interrupts not included)."""
        return sum(self._page_count(item_id) for item_id in self._order)

    def cycle_seconds(self, seconds_of: Callable[[Slide], float]) -> float:
        """Duration of one full normal cycle, each slide timed by ``seconds_of``.

        Urgent interrupts are not included: how many fall into a cycle depends on where
        the cycle starts, and this figure is for "the whole board takes N minutes".
        """
        return sum(
            seconds_of(self._slide(item_id, page, urgent_interrupt=False))
            for item_id in self._order
            for page in range(self._page_count(item_id))
        )
