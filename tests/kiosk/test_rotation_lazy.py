"""Lazy page counting: the playlist asks for an item's pages only when it reaches the item.

Counting every item up front meant laying out all 1,000 bodies of a county feed with the
real font before the first slide (seconds, twice); these tests pin that the lazy playlist
asks only for what it shows, still plays exactly what the eager one plays, and survives a
count that fails.
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.rotation import Rotation
from sync.model import Item
from tests.kiosk.test_rotation import ORDER, five_items, make_item, take


def test_only_items_reached_are_counted() -> None:
    asked: list[str] = []

    def pages_of(item: Item) -> int:
        asked.append(item.id)
        return 2

    items = [make_item(f"i{n:03}", "dangwu", day=-n) for n in range(200)]
    rotation = Rotation(pages_of=pages_of, lazy_pages=True)
    rotation.update(items, ORDER)
    assert asked == []  # nothing laid out before the first slide is asked for
    slides = take(rotation, 5)
    assert [(s.item_id, s.page, s.pages) for s in slides] == [
        ("i000", 0, 2),
        ("i000", 1, 2),
        ("i001", 0, 2),
        ("i001", 1, 2),
        ("i002", 0, 2),
    ]
    assert asked == ["i000", "i001", "i002"]  # each counted once, not once per page


def test_update_forgets_counts_so_a_resize_is_seen() -> None:
    pages = {"d1": 3}
    rotation = Rotation(pages_of=lambda item: pages.get(item.id, 1), lazy_pages=True)
    rotation.update(five_items(), ORDER)
    assert [(s.item_id, s.page, s.pages) for s in take(rotation, 1)] == [("d1", 0, 3)]
    pages["d1"] = 2  # e.g. the screen turned to portrait: fewer, longer pages
    rotation.update(five_items(), ORDER)
    assert [(s.item_id, s.page, s.pages) for s in take(rotation, 2)] == [
        ("d1", 1, 2),
        ("d2", 0, 1),
    ]
    assert rotation.cycle_length() == 6  # counts every item when asked for the whole cycle


def test_a_failing_lazy_count_shows_one_page_and_the_rest_plays_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def pages_of(item: Item) -> int:
        if item.id == "d2":
            raise RuntimeError("layout failed")
        return 2

    rotation = Rotation(pages_of=pages_of, lazy_pages=True)
    rotation.update(five_items(), ORDER)
    with caplog.at_level(logging.WARNING, logger="kiosk.rotation"):
        slides = take(rotation, 5)
    assert [(s.item_id, s.page, s.pages) for s in slides] == [
        ("d1", 0, 2),
        ("d1", 1, 2),
        ("d2", 0, 1),
        ("z1", 0, 2),
        ("z1", 1, 2),
    ]
    assert "cannot count the pages of 'd2': layout failed" in caplog.text


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=-1, max_value=4), min_size=1, max_size=12),
    urgent=st.sets(st.integers(min_value=0, max_value=11), max_size=4),
    every=st.integers(min_value=1, max_value=5),
    steps=st.integers(min_value=1, max_value=60),
)
def test_lazy_plays_exactly_what_eager_plays(
    counts: list[int], urgent: set[int], every: int, steps: int
) -> None:
    items = [
        make_item(f"i{n}", ORDER[n % len(ORDER)], day=n % 5, urgent=n in urgent)
        for n in range(len(counts))
    ]
    pages = {item.id: counts[n] for n, item in enumerate(items)}
    eager = Rotation(urgent_every=every, pages_of=lambda item: pages[item.id])
    lazy = Rotation(urgent_every=every, pages_of=lambda item: pages[item.id], lazy_pages=True)
    eager.update(items, ORDER)
    lazy.update(items, ORDER)
    assert take(lazy, steps) == take(eager, steps)
    assert lazy.cycle_length() == eager.cycle_length()
