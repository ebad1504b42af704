"""The rolling display's playlist, driven the way the Kivy screen drives it.

The engine reads no clock; where time matters the tests run a small player on a fake
clock that advances by each slide's reading time, as the screen's timer would.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.reading_time import page_seconds, text_seconds
from kiosk.rotation import Rotation, Slide
from sync.model import Approval, Item

ORDER = ("dangwu", "zhengwu", "cunwu", "caiwu")
EPOCH = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def make_item(
    item_id: str,
    category: str = "dangwu",
    *,
    day: int | None = 0,
    modified_day: int | None = None,
    valid_day: int = -30,
    urgent: bool = False,
    text: str = "公示内容",
) -> Item:
    """An admitted item; ``day`` is the publication day after EPOCH, None for no date."""
    return Item(
        id=item_id,
        title=f"{item_id}的公示",
        content_text=text,
        category=category,
        scope="public",
        approval=Approval(status="approved"),
        valid_from=EPOCH + timedelta(days=valid_day),
        priority="urgent" if urgent else "normal",
        date_published=None if day is None else EPOCH + timedelta(days=day),
        date_modified=None if modified_day is None else EPOCH + timedelta(days=modified_day),
    )


def take(rotation: Rotation, count: int) -> list[Slide]:
    slides = []
    for _ in range(count):
        slide = rotation.next()
        assert slide is not None
        slides.append(slide)
    return slides


def ids(slides: Iterable[Slide]) -> list[str]:
    return [slide.item_id for slide in slides]


def runs(slides: Iterable[Slide]) -> list[tuple[str, bool, list[int]]]:
    """Consecutive slides of the same item shown for the same reason, with their pages."""
    grouped: list[tuple[str, bool, list[int]]] = []
    for slide in slides:
        if grouped and grouped[-1][:2] == (slide.item_id, slide.urgent_interrupt):
            grouped[-1][2].append(slide.page)
        else:
            grouped.append((slide.item_id, slide.urgent_interrupt, [slide.page]))
    return grouped


def normal_only(slides: Iterable[Slide]) -> list[Slide]:
    return [slide for slide in slides if not slide.urgent_interrupt]


def five_items() -> list[Item]:
    return [
        make_item("d1", "dangwu", day=3),
        make_item("d2", "dangwu", day=2),
        make_item("z1", "zhengwu", day=5),
        make_item("c1", "cunwu", day=1),
        make_item("c2", "cunwu", day=0),
    ]


# ------------------------------------------------------------------ order of the cycle


def test_categories_in_feed_order_then_newest_first() -> None:
    items = [
        make_item("c-old", "cunwu", day=1),
        make_item("z-mid", "zhengwu", day=4),
        make_item("d-old", "dangwu", day=1),
        make_item("d-new", "dangwu", day=9),
        make_item("d-undated", "dangwu", day=None, modified_day=5),  # falls back to modified
        make_item("c-new", "cunwu", day=7),
        make_item("d-only-valid", "dangwu", day=None, valid_day=2),  # falls back to valid_from
    ]
    rotation = Rotation()
    rotation.update(items, ["zhengwu", "dangwu", "cunwu", "caiwu"])
    assert ids(take(rotation, len(items))) == [
        "z-mid",
        "d-new",
        "d-undated",
        "d-only-valid",
        "d-old",
        "c-new",
        "c-old",
    ]


def test_equal_dates_are_ordered_by_modification_then_id_whatever_the_input_order() -> None:
    items = [
        make_item("b", day=1),
        make_item("a", day=1),
        make_item("edited", day=1, modified_day=4),
    ]
    orders = []
    for snapshot in (items, list(reversed(items))):
        rotation = Rotation()
        rotation.update(snapshot, ORDER)
        orders.append(ids(take(rotation, 3)))
    assert orders[0] == orders[1] == ["edited", "a", "b"]


def test_position_and_count_within_the_category() -> None:
    rotation = Rotation()
    rotation.update(five_items(), ORDER)
    labels = [(s.item_id, s.category, s.position, s.category_count) for s in take(rotation, 5)]
    assert labels == [
        ("d1", "dangwu", 1, 2),
        ("d2", "dangwu", 2, 2),
        ("z1", "zhengwu", 1, 1),
        ("c1", "cunwu", 1, 2),
        ("c2", "cunwu", 2, 2),
    ]


def test_item_of_a_category_outside_the_feed_is_never_shown() -> None:
    rotation = Rotation()
    rotation.update([*five_items(), make_item("stray", "secret")], ORDER)
    assert rotation.cycle_length() == 5
    assert rotation.item("stray") is None
    assert "stray" not in ids(take(rotation, 15))


def test_every_item_once_per_cycle_with_its_pages_consecutive() -> None:
    pages = {"d1": 3, "d2": 1, "z1": 2, "c1": 1, "c2": 4}
    rotation = Rotation(pages_of=lambda item: pages[item.id])
    rotation.update(five_items(), ORDER)
    length = rotation.cycle_length()
    assert length == sum(pages.values())
    slides = take(rotation, 3 * length)
    for cycle in range(3):
        in_cycle = slides[cycle * length : (cycle + 1) * length]
        grouped = runs(in_cycle)
        assert sorted(item_id for item_id, _, _ in grouped) == sorted(pages)
        for item_id, _, shown in grouped:
            assert shown == list(range(pages[item_id]))
    assert all(slide.pages == pages[slide.item_id] for slide in slides)
    assert not any(slide.urgent_interrupt for slide in slides)


def test_item_lookup_returns_the_admitted_item() -> None:
    items = five_items()
    rotation = Rotation()
    rotation.update(items, ORDER)
    slide = rotation.next()
    assert slide is not None
    assert rotation.item(slide.item_id) == next(i for i in items if i.id == slide.item_id)


# ------------------------------------------------------------------ time on a fake clock


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Player:
    """What the rolling screen does with the engine: show a slide, wait its time, repeat."""

    def __init__(
        self, rotation: Rotation, clock: FakeClock, seconds_of: Callable[[Slide], float]
    ) -> None:
        self.rotation = rotation
        self.clock = clock
        self.seconds_of = seconds_of
        self.shown: list[tuple[float, float, Slide]] = []  # start, end, slide

    def step(self) -> Slide:
        slide = self.rotation.next()
        assert slide is not None
        start = self.clock.now
        self.clock.advance(self.seconds_of(slide))
        self.shown.append((start, self.clock.now, slide))
        return slide


CHARS_PER_PAGE = 120


def paged(item: Item) -> int:
    return max(1, math.ceil(len(item.content_text) / CHARS_PER_PAGE))


def long_items() -> list[Item]:
    text = "本村二〇二四年度村级财务收支情况公示如下，请广大村民监督。"
    return [make_item(f"item{n}", ORDER[n % 4], day=n, text=text * (1 + 3 * n)) for n in range(8)]


def page_text_seconds(items: dict[str, Item]) -> Callable[[Slide], float]:
    def seconds_of(slide: Slide) -> float:
        text = items[slide.item_id].content_text
        start = slide.page * CHARS_PER_PAGE
        return text_seconds(text[start : start + CHARS_PER_PAGE])

    return seconds_of


def test_cycle_seconds_is_the_time_one_cycle_takes_on_the_clock() -> None:
    items = long_items()
    rotation = Rotation(pages_of=paged)
    rotation.update(items, ORDER)
    seconds_of = page_text_seconds({item.id: item for item in items})
    assert rotation.cycle_length() == sum(paged(item) for item in items)
    assert rotation.cycle_length() > len(items)  # some items really are multi-page

    clock = FakeClock()
    player = Player(rotation, clock, seconds_of)
    for _ in range(rotation.cycle_length()):
        player.step()
    assert clock.now == pytest.approx(rotation.cycle_seconds(seconds_of))
    assert {slide.item_id for _, _, slide in player.shown} == {item.id for item in items}


def test_urgent_item_waits_at_most_the_page_on_screen() -> None:
    items = long_items()
    urgent = make_item("flood", "zhengwu", day=0, urgent=True, text="防汛紧急通知：今晚有暴雨。")
    by_id = {item.id: item for item in [*items, urgent]}
    rotation = Rotation(urgent_every=6, pages_of=paged)
    rotation.update(items, ORDER)
    clock = FakeClock()
    player = Player(rotation, clock, page_text_seconds(by_id))
    while clock.now < 100.0:
        player.step()
    # The notice reaches the store part-way through the page now on screen.
    start, end, _ = player.shown[-1]
    arrived_at = start + (end - start) / 3
    rotation.update([*items, urgent], ORDER)
    slide = player.step()
    assert slide.item_id == "flood" and slide.urgent_interrupt
    assert player.shown[-1][0] - arrived_at <= page_seconds(10**6)  # at most one full page


def test_every_item_is_on_screen_within_two_cycles_of_clock_time() -> None:
    items = long_items()
    urgent = make_item("notice", "dangwu", day=1, urgent=True)
    everything = [*items, urgent]
    rotation = Rotation(urgent_every=4, pages_of=paged)
    rotation.update(everything, ORDER)
    seconds_of = page_text_seconds({item.id: item for item in everything})
    clock = FakeClock()
    player = Player(rotation, clock, seconds_of)
    window = 2 * rotation.cycle_seconds(seconds_of)
    while clock.now < 3 * window:
        player.step()
    for item in everything:
        starts = [start for start, _, slide in player.shown if slide.item_id == item.id]
        gaps = [b - a for a, b in zip([0.0, *starts], [*starts, clock.now], strict=True)]
        assert max(gaps) <= window, item.id


# ------------------------------------------------------------------ urgent items


def test_urgent_arrival_interrupts_at_once_then_every_n_normal_slides() -> None:
    every = 3
    pages = {"d1": 3}
    rotation = Rotation(urgent_every=every, pages_of=lambda item: pages.get(item.id, 1))
    rotation.update(five_items(), ORDER)
    first = rotation.next()
    assert first is not None and (first.item_id, first.page) == ("d1", 0)

    urgent = make_item("u", "cunwu", day=9, urgent=True)
    rotation.update([*five_items(), urgent], ORDER)
    interrupt = rotation.next()
    assert interrupt is not None
    assert (interrupt.item_id, interrupt.urgent_interrupt) == ("u", True)
    resumed = rotation.next()
    assert resumed is not None
    assert (resumed.item_id, resumed.page, resumed.urgent_interrupt) == ("d1", 1, False)

    slides = [interrupt, resumed, *take(rotation, 40)]
    interrupt_at = [n for n, slide in enumerate(slides) if slide.urgent_interrupt]
    assert all(slides[n].item_id == "u" for n in interrupt_at)
    assert len(interrupt_at) > 5
    assert all(b - a == every + 1 for a, b in pairwise(interrupt_at))
    # It keeps its normal place in its category too.
    normal_u = [s for s in slides if s.item_id == "u" and not s.urgent_interrupt]
    assert normal_u and all(s.category == "cunwu" and s.position == 1 for s in normal_u)


def test_multi_page_urgent_item_shows_all_its_pages_per_interrupt() -> None:
    pages = {"u": 2, "d1": 2}
    rotation = Rotation(urgent_every=2, pages_of=lambda item: pages.get(item.id, 1))
    rotation.update([*five_items(), make_item("u", "caiwu", urgent=True)], ORDER)
    slides = take(rotation, 30)
    interrupts = [s for s in slides if s.urgent_interrupt]
    assert [s.page for s in interrupts[:6]] == [0, 1, 0, 1, 0, 1]
    u_runs = [(interrupt, shown) for item_id, interrupt, shown in runs(slides) if item_id == "u"]
    assert any(not interrupt for interrupt, _ in u_runs)  # its normal place in 财务 too
    assert all(shown == [0, 1] for _, shown in u_runs[:-1])  # the last run may be cut off


def test_two_urgent_items_take_turns() -> None:
    every = 2
    rotation = Rotation(urgent_every=every)
    urgent = [make_item("u1", "dangwu", day=8, urgent=True), make_item("u2", "caiwu", urgent=True)]
    rotation.update([*five_items(), *urgent], ORDER)
    slides = take(rotation, 60)
    # Both are new: announced one after the other, then one per interrupt, alternating.
    assert [(s.item_id, s.urgent_interrupt) for s in slides[:2]] == [("u1", True), ("u2", True)]
    turns = [s.item_id for s in slides[2:] if s.urgent_interrupt]
    assert len(turns) >= 10
    assert all(a != b for a, b in pairwise(turns))
    assert turns[0] == "u1"
    gaps = [n for n, s in enumerate(slides) if s.urgent_interrupt][1:]
    assert all(b - a == every + 1 for a, b in pairwise(gaps))


def test_a_late_urgent_arrival_does_not_starve_the_earlier_one() -> None:
    rotation = Rotation(urgent_every=2)
    old = make_item("old", urgent=True)
    rotation.update([*five_items(), old], ORDER)
    take(rotation, 4)  # announced, then one periodic interrupt already happened
    rotation.update([*five_items(), old, make_item("new", "cunwu", urgent=True)], ORDER)
    arrival = rotation.next()
    assert arrival is not None and arrival.item_id == "new" and arrival.urgent_interrupt
    later = [s.item_id for s in take(rotation, 12) if s.urgent_interrupt]
    assert later[:4] == ["old", "new", "old", "new"]


def test_withdrawn_urgent_items_are_never_shown_again_even_if_queued() -> None:
    pages = {"u1": 3}
    rotation = Rotation(urgent_every=2, pages_of=lambda item: pages.get(item.id, 1))
    u1 = make_item("u1", urgent=True)
    u2 = make_item("u2", "cunwu", urgent=True)
    rotation.update([*five_items(), u1, u2], ORDER)
    first = rotation.next()
    assert first is not None and (first.item_id, first.page) == ("u1", 0)
    # Both withdrawn: u1 in the middle of its interrupt, u2 still waiting its turn.
    rotation.update(five_items(), ORDER)
    slides = take(rotation, 40)
    assert not {"u1", "u2"} & set(ids(slides))
    assert not any(s.urgent_interrupt for s in slides)
    assert slides[0].item_id == "d1"  # the normal cycle starts as if nothing happened


def test_an_item_that_stops_being_urgent_stops_interrupting() -> None:
    rotation = Rotation(urgent_every=1)
    rotation.update([*five_items(), make_item("u", "caiwu", urgent=True)], ORDER)
    assert any(s.urgent_interrupt for s in take(rotation, 4))
    rotation.update([*five_items(), make_item("u", "caiwu")], ORDER)
    slides = take(rotation, 18)
    assert not any(s.urgent_interrupt for s in slides)
    assert ids(slides).count("u") == 3  # still in its normal place, once per cycle of 6


def test_urgent_every_must_be_positive() -> None:
    for bad in (0, -3, 1.5, True):
        with pytest.raises(ValueError, match="urgent_every"):
            Rotation(urgent_every=bad)  # type: ignore[arg-type]


# ------------------------------------------------------------------ updates keep the place


def test_update_mid_cycle_keeps_the_position() -> None:
    rotation = Rotation()
    rotation.update(five_items(), ORDER)
    assert ids(take(rotation, 3)) == ["d1", "d2", "z1"]
    rotation.update(list(reversed(five_items())), ORDER)  # same content, fresh objects
    assert ids(take(rotation, 4)) == ["c1", "c2", "d1", "d2"]


def test_update_mid_item_continues_its_pages() -> None:
    rotation = Rotation(pages_of=lambda item: 3 if item.id == "z1" else 1)
    rotation.update(five_items(), ORDER)
    take(rotation, 3)  # d1, d2, z1 page 0
    rotation.update(five_items(), ORDER)
    assert [(s.item_id, s.page) for s in take(rotation, 3)] == [("z1", 1), ("z1", 2), ("c1", 0)]


def test_withdrawn_current_item_continues_with_the_one_after_it() -> None:
    rotation = Rotation(pages_of=lambda item: 2)
    rotation.update(five_items(), ORDER)
    assert ids(take(rotation, 5)) == ["d1", "d1", "d2", "d2", "z1"]  # z1 page 0 on screen
    rotation.update([i for i in five_items() if i.id != "z1"], ORDER)
    assert [(s.item_id, s.page) for s in take(rotation, 3)] == [("c1", 0), ("c1", 1), ("c2", 0)]


def test_withdrawn_current_and_following_items_continue_with_the_next_remaining() -> None:
    rotation = Rotation()
    rotation.update(five_items(), ORDER)
    take(rotation, 2)  # d2 on screen
    rotation.update([i for i in five_items() if i.id in {"d1", "c2"}], ORDER)
    assert ids(take(rotation, 3)) == ["c2", "d1", "c2"]


@pytest.mark.parametrize(
    ("new_order", "expected"),
    [
        (["dangwu", "cunwu", "caiwu"], ["c1", "c2", "d0", "d1"]),
        (["cunwu", "dangwu", "caiwu"], ["c1", "c2", "d0", "d1"]),
        (["caiwu", "dangwu"], ["d0", "d1", "d2", "d0"]),  # 财务 is empty: on to 党务
        (["dangwu"], ["d0", "d1", "d2", "d0"]),  # nothing remains after it: wrap
    ],
)
def test_current_category_dropped_from_the_feed_continues_with_the_next_category(
    new_order: list[str], expected: list[str]
) -> None:
    items = [*five_items(), make_item("d0", "dangwu", day=9)]
    rotation = Rotation()
    rotation.update(items, ORDER)
    assert ids(take(rotation, 4)) == ["d0", "d1", "d2", "z1"]
    # The county drops 政务 from the feed (and maybe reorders): z1 goes with it.
    rotation.update(items, new_order)
    assert ids(take(rotation, len(expected))) == expected


def test_reordered_categories_keep_the_item_on_screen_as_the_position() -> None:
    rotation = Rotation()
    rotation.update(five_items(), ORDER)
    take(rotation, 1)  # d1
    rotation.update(five_items(), ["zhengwu", "cunwu", "dangwu"])
    assert ids(take(rotation, 5)) == ["d2", "z1", "c1", "c2", "d1"]


def test_new_items_appear_in_their_place_within_the_next_cycle() -> None:
    rotation = Rotation()
    rotation.update(five_items(), ORDER)
    take(rotation, 3)  # d1, d2, z1
    later = make_item("c-new", "cunwu", day=4)  # sorts after the position: this cycle
    earlier = make_item("d-new", "dangwu", day=7)  # sorts before it: next cycle
    rotation.update([*five_items(), later, earlier], ORDER)
    assert rotation.cycle_length() == 7
    slides = ids(take(rotation, 7))
    assert slides == ["c-new", "c1", "c2", "d-new", "d1", "d2", "z1"]


def test_current_item_edited_to_sort_elsewhere_skips_nothing() -> None:
    rotation = Rotation()
    rotation.update(five_items(), ORDER)
    take(rotation, 2)  # d2 on screen
    edited = [make_item("d2", "dangwu", day=20) if i.id == "d2" else i for i in five_items()]
    rotation.update(edited, ORDER)
    # d2 now sorts first in 党务; the cycle goes on from where d2 was.
    assert ids(take(rotation, 5)) == ["z1", "c1", "c2", "d2", "d1"]


def test_shrinking_page_count_of_the_current_item_is_clamped() -> None:
    pages = {"d1": 5}
    rotation = Rotation(pages_of=lambda item: pages.get(item.id, 1))
    rotation.update(five_items(), ORDER)
    assert [s.page for s in take(rotation, 4)] == [0, 1, 2, 3]
    pages["d1"] = 2  # e.g. the screen rotated to landscape
    rotation.update(five_items(), ORDER)
    assert (rotation.next() or pytest.fail("no slide")).item_id == "d2"

    pages["d1"] = 4
    rotation.update(five_items(), ORDER)
    take(rotation, 4)  # z1 c1 c2 d1 page 0
    pages["d1"] = 3
    rotation.update(five_items(), ORDER)
    assert [(s.item_id, s.page, s.pages) for s in take(rotation, 3)] == [
        ("d1", 1, 3),
        ("d1", 2, 3),
        ("d2", 0, 1),
    ]


def test_nonsense_page_counts_mean_one_page() -> None:
    rotation = Rotation(pages_of=lambda item: 0 if item.id == "d1" else -4)
    rotation.update(five_items(), ORDER)
    assert rotation.cycle_length() == 5
    assert all(s.pages == 1 and s.page == 0 for s in take(rotation, 10))


def test_a_failing_page_count_leaves_the_previous_snapshot_playing() -> None:
    def pages_of(item: Item) -> int:
        if item.id == "broken":
            raise RuntimeError("layout failed")
        return 1

    rotation = Rotation(pages_of=pages_of)
    rotation.update(five_items(), ORDER)
    take(rotation, 2)
    with pytest.raises(RuntimeError, match="layout failed"):
        rotation.update([*five_items(), make_item("broken", "caiwu")], ORDER)
    assert rotation.cycle_length() == 5
    assert ids(take(rotation, 4)) == ["z1", "c1", "c2", "d1"]


def test_nothing_admitted_gives_none_then_recovers_where_it_was() -> None:
    rotation = Rotation()
    assert rotation.next() is None
    assert rotation.cycle_length() == 0
    assert rotation.cycle_seconds(lambda slide: 10.0) == 0
    rotation.update([], ORDER)
    assert rotation.next() is None
    rotation.update(five_items(), ORDER)
    assert ids(take(rotation, 2)) == ["d1", "d2"]
    rotation.update([], ORDER)
    assert rotation.next() is None
    assert rotation.next() is None
    rotation.update(five_items(), ORDER)
    assert ids(take(rotation, 2)) == ["z1", "c1"]


# ------------------------------------------------------------------ property


POOL = [f"i{n}" for n in range(8)]
POOL_CATEGORY = {item_id: ORDER[n % 3] for n, item_id in enumerate(POOL)}
POOL_DAY = {item_id: (n * 5) % 7 for n, item_id in enumerate(POOL)}
MAX_PAGES = 3

step_strategy = st.tuples(
    st.frozensets(st.sampled_from(POOL)),  # admitted
    st.frozensets(st.sampled_from(POOL)),  # urgent (where admitted)
    st.fixed_dictionaries({item_id: st.integers(1, MAX_PAGES) for item_id in POOL}),
    st.integers(0, 25),  # slides shown before the next snapshot
)


@settings(max_examples=300, deadline=None)
@given(urgent_every=st.integers(1, 5), steps=st.lists(step_strategy, min_size=1, max_size=12))
def test_random_snapshots_never_show_withdrawn_items_and_stay_fair(
    urgent_every: int,
    steps: list[tuple[frozenset[str], frozenset[str], dict[str, int], int]],
) -> None:
    pages: dict[str, int] = {}
    rotation = Rotation(urgent_every=urgent_every, pages_of=lambda item: pages[item.id])
    admitted: frozenset[str] = frozenset()
    urgent: frozenset[str] = frozenset()
    unannounced: set[str] = set()
    normal_since_interrupt = 0
    waiting: dict[str, int] = {}  # normal slides since each item was admitted or last shown

    def check(slide: Slide | None) -> None:
        nonlocal normal_since_interrupt
        if not admitted:
            assert slide is None
            return
        assert slide is not None
        assert slide.item_id in admitted, "a withdrawn item was shown"
        assert slide.pages == pages[slide.item_id] and 0 <= slide.page < slide.pages
        assert slide.category == POOL_CATEGORY[slide.item_id]
        in_category = sum(1 for i in admitted if POOL_CATEGORY[i] == slide.category)
        assert slide.category_count == in_category and 1 <= slide.position <= in_category
        if slide.urgent_interrupt:
            assert slide.item_id in urgent
            unannounced.discard(slide.item_id)
            normal_since_interrupt = 0
            return
        assert not unannounced, "a new urgent item waited behind a normal slide"
        if urgent:
            assert normal_since_interrupt < urgent_every, "urgent interrupt overdue"
        normal_since_interrupt += 1
        for item_id in waiting:
            waiting[item_id] += 1
        waiting[slide.item_id] = 0
        # Each pass over the order visits a place at most once: two passes at most.
        assert max(waiting.values()) <= 2 * len(POOL) * MAX_PAGES

    for members, urgent_members, step_pages, shown in steps:
        pages.update(step_pages)
        new_urgent = members & urgent_members
        unannounced = (unannounced & new_urgent) | (new_urgent - urgent)
        admitted, urgent = members, new_urgent
        waiting = {item_id: waiting.get(item_id, 0) for item_id in admitted}
        rotation.update(
            [
                make_item(i, POOL_CATEGORY[i], day=POOL_DAY[i], urgent=i in urgent)
                for i in sorted(admitted)
            ],
            ORDER,
        )
        assert rotation.cycle_length() == sum(pages[i] for i in admitted)
        for _ in range(shown):
            check(rotation.next())

    # A stable snapshot from here on: one cycle of normal slides shows every item.
    if admitted:
        cycle = rotation.cycle_length()
        normal: list[str] = []
        for _ in range(cycle * (urgent_every + 1 + MAX_PAGES)):  # bounded even if broken
            if len(normal) == cycle:
                break
            slide = rotation.next()
            check(slide)
            assert slide is not None
            if not slide.urgent_interrupt:
                normal.append(slide.item_id)
        assert set(normal) == admitted
