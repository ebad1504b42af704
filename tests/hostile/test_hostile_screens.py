"""Hostile feed text on the real screens: the whole path, feed file → sync → store → App.

A county system that was compromised, or just careless, can put Kivy markup, control
characters, bidirectional overrides, zero-width characters and huge bodies into items
that are otherwise valid. They must reach the screen, if at all, as plain literal text:
no markup interpreted, nothing reordered or hidden, nothing unbounded, nothing crashing.
The App runs for real in the suite's off-screen window; the feed is unsigned on a test
terminal (``allow_unsigned``) so the test controls every byte.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import load
from kiosk.terminal import make_coordinator
from tests import feedkit
from tests.conftest import write_config
from tests.gui import ensure_window

pytestmark = pytest.mark.gui

MARKUP = "[b]粗[/b][color=ff0000]红[/color][ref=x]链[/ref][size=999999]大[/size][font=x]字[/font]"
BIDI = "金额\u202e000,01\u202c元\u2066隔离\u2069\u200f"  # RLO, PDF, LRI, PDI, RLM
CONTROLS = "第一行\x00\x07\x1b[31m\x7f\x85\u2028第二行\ufeff\u200b\u200c"
HUGE_BODY = ("村务公开财务收支明细，" * 10_000)[:100_000]
FORBIDDEN = {
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
    "\u2069", "\u200e", "\u200f", "\u200b", "\ufeff", "\x00", "\x07", "\x1b", "\x7f",
}  # fmt: skip


def hostile_items() -> list[dict[str, Any]]:
    return [
        feedkit.item("h-markup", title=f"通知{MARKUP}", content_text=f"正文{MARKUP}"),
        feedkit.item("h-bidi", title=f"公示{BIDI}", content_text=f"合计{BIDI}"),
        feedkit.item("h-ctrl", title=f"公告{CONTROLS}", content_text=CONTROLS * 20),
        feedkit.item("h-huge", title="超长正文" * 30, content_text=HUGE_BODY, d_priority="urgent"),
        feedkit.item("h-only-marks", title="\u202e\u200b\u2066", content_text="\u202e"),
    ]


@pytest.fixture
def hostile_app(tmp_path: Path) -> Any:
    feed_file = tmp_path / "feed.json"
    feed_file.write_bytes(feedkit.encode(feedkit.feed(hostile_items())))
    path = write_config(
        tmp_path / "k.toml",
        url=feed_file.as_uri(),
        data_dir=tmp_path / "data",
        public_keys=[],
        allow_unsigned=True,
    )
    path.write_text(path.read_text().replace('mode = "signage"', 'mode = "touch"'))
    config = load(path)
    make_coordinator(config).sync()
    window = ensure_window()
    from kiosk.app import build_app
    from kiosk.render import pump

    app = build_app(config)
    app.root = app.build()
    for child in list(window.children):
        window.remove_widget(child)
    window.add_widget(app.root)
    app.on_start()
    pump(6)
    yield app
    app.on_stop()
    window.remove_widget(app.root)


def shown_texts(root: Any) -> list[tuple[Any, str]]:
    from kivy.uix.label import Label

    return [(w, w.text) for w in root.walk() if isinstance(w, Label) and w.text]


def assert_safe(root: Any) -> None:
    for label, text in shown_texts(root):
        leaked = {ch for ch in text if ch in FORBIDDEN or unicodedata.category(ch) == "Cc"} - {"\n"}
        assert not leaked, f"{sorted(map(hex, map(ord, leaked)))} reached the screen: {text[:60]!r}"
        if "[" in text:  # feed text may contain markup characters only if shown literally
            assert label.markup is False, f"markup on for {text[:60]!r}"
        assert len(text) <= 20_000, f"an unbounded label: {len(text)} characters"


def test_hostile_items_roll_and_open_safely(hostile_app: Any) -> None:
    from kiosk.render import pump

    app = hostile_app
    admitted = {card.id for card in (app.player.card_for(i) for i in app.player.items)}
    # The title made only of invisible marks is dropped by the parser or shown as nothing
    # else but literal text; everything else is admitted and must be shown safely.
    assert {"h-markup", "h-bidi", "h-ctrl", "h-huge"} <= admitted

    seen: set[str] = set()
    for _ in range(60):  # every page of every item, the huge body included
        app.advance()
        pump(2)
        assert_safe(app.root)
        if app.current_slide is not None:
            seen.add(app.current_slide.card.id)
    assert {"h-markup", "h-bidi", "h-ctrl", "h-huge"} <= seen
    huge = app.player.card("h-huge")
    assert huge is not None and 6 < app.player.pages_of(huge) < 1000  # bounded, all there
    # ... but the rolling display shows at most MAX_ROLLING_PAGES of it, then moves on.
    from kiosk.player import MAX_ROLLING_PAGES

    huge_pages = set()
    for _ in range(60):
        app.advance()
        if app.current_slide is not None and app.current_slide.card.id == "h-huge":
            huge_pages.add(app.current_slide.slide.page)
    assert huge_pages == set(range(MAX_ROLLING_PAGES))

    # Literal, not interpreted: the markup text itself is on screen somewhere.
    app.open_item("h-markup")
    pump(4)
    texts = " ".join(text for _, text in shown_texts(app.root))
    assert "[b]粗[/b]" in texts and "[size=999999]" in texts
    assert_safe(app.root)
    for item_id in ("h-bidi", "h-ctrl", "h-huge"):
        app.open_item(item_id)
        pump(4)
        assert app.sm.current == "detail"
        assert_safe(app.root)
        app.open_feedback(item_id)
        pump(4)
        assert_safe(app.root)
    app.back_to_rolling()
    pump(4)
    assert app.sm.current == "signage"
