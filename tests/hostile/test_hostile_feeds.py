"""Hostile feed bodies the parser must refuse with a one-line reason, or bound, not crash on.

Each case here was (or could have been) a crash: an exception other than FeedRejected would
end the sync job with a traceback instead of the one-line reason, and memory spent before a
limit is checked is memory a Pi does not have. Pure parser tests, no mocks needed.
"""

from __future__ import annotations

import json
import tracemalloc

import pytest

from sync.errors import FeedRejected
from sync.parse import MAX_DEPTH, MAX_ITEMS, parse_feed
from tests import feedkit

URL = "https://county.example.gov.cn/feeds/feed.json"


def body_with_items(raw_items: str) -> bytes:
    text = json.dumps(feedkit.feed([]), ensure_ascii=False)
    return text.replace('"items": []', f'"items": [{raw_items}]').encode("utf-8")


def test_million_item_feed_is_refused_before_it_is_built() -> None:
    """A million ``{}`` items is 3 MB of body; built by json.loads it would be well over
    100 MB. The refusal must come from the pre-scan, so the peak stays near the body size."""
    body = body_with_items(",".join(["{}"] * 1_000_000))
    tracemalloc.start()
    try:
        with pytest.raises(FeedRejected, match=f"more than the limit of {MAX_ITEMS} items"):
            parse_feed(body, URL)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The body as text plus the reduced copies: a few times 3 MB, far below what a million
    # dicts and the list holding them would take (about 70 MB at the very least).
    assert peak < 30 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_an_item_limit_feed_still_parses() -> None:
    """The pre-scan must not refuse what the limit allows: exactly MAX_ITEMS items."""
    items = [feedkit.item(f"i{n}") for n in range(MAX_ITEMS)]
    feed = parse_feed(feedkit.encode(feedkit.feed(items)), URL)
    assert len(feed.items) == MAX_ITEMS


def test_long_audience_list_is_refused_before_it_is_built() -> None:
    codes = ",".join(['"360999"'] * (MAX_ITEMS + 1))
    item = json.dumps(feedkit.item("x")).replace('"scope"', f'"audience": [{codes}], "scope"')
    with pytest.raises(FeedRejected, match="more than the limit"):
        parse_feed(body_with_items(item), URL)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 100_000])
def test_deeply_nested_json_is_refused(depth: int) -> None:
    nested = "[" * depth + "]" * depth
    item = json.dumps(feedkit.item("x")).replace('"scope"', f'"extra": {nested}, "scope"')
    with pytest.raises(FeedRejected, match="nested deeper"):
        parse_feed(body_with_items(item), URL)


def test_integer_too_long_to_convert_is_a_rejection() -> None:
    body = json.dumps(feedkit.feed([])).replace('"sequence": 100', '"sequence": 1' + "0" * 5000)
    with pytest.raises(FeedRejected, match="not usable JSON"):
        parse_feed(body.encode(), URL)


def test_sequence_beyond_sqlite_integer_is_a_rejection() -> None:
    with pytest.raises(FeedRejected, match="larger than"):
        parse_feed(feedkit.encode(feedkit.feed([], sequence=2**63)), URL)


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"id": ["x"]}, "'id' must be"),
        ({"id": {"a": 1}}, "'id' must be"),
        ({"title": "\ud800标题"}, "lone surrogate"),
        ({"d_publisher": "\udfff"}, "lone surrogate"),
        ({"d_valid_from": "0001-01-01T00:00:00+14:00"}, "outside the years"),
        ({"d_valid_until": "9999-12-31T23:59:59-12:00"}, "outside the years"),
        (
            {
                "d_media": [
                    {"url": "http://[::1", "sha256": "a" * 64, "bytes": 1, "type": "image/png"}
                ]
            },
            "not a valid URL",
        ),
        (
            {
                "d_media": [
                    {
                        "url": "javascript:alert(1)",
                        "sha256": "a" * 64,
                        "bytes": 1,
                        "type": "image/png",
                    }
                ]
            },
            "unsupported scheme",
        ),
    ],
)
def test_hostile_item_is_dropped_with_a_reason_and_the_rest_stands(
    override: dict[str, object], reason: str
) -> None:
    bad = feedkit.item("bad", **override)
    if "id" in override:
        bad["id"] = override["id"]
    body = json.dumps(feedkit.feed([feedkit.item("good"), bad]), ensure_ascii=True).encode()
    feed = parse_feed(body, URL)
    assert [i.id for i in feed.items] == ["good"]
    assert len(feed.dropped) == 1 and reason in feed.dropped[0], feed.dropped
    assert "\n" not in feed.dropped[0]


def test_duplicate_ids_drop_every_copy() -> None:
    items = [feedkit.item("dup", title="甲"), feedkit.item("dup", title="乙"), feedkit.item("ok")]
    feed = parse_feed(feedkit.encode(feedkit.feed(items)), URL)
    assert [i.id for i in feed.items] == ["ok"]
    assert sum("duplicate id" in d for d in feed.dropped) == 2


def test_hundred_thousand_character_title_is_dropped_body_is_kept() -> None:
    """Titles are capped at 500 characters (dropped beyond); bodies may be 100,000."""
    items = [
        feedkit.item("long-title", title="长" * 100_000),
        feedkit.item("long-body", content_text="正" * 100_000),
    ]
    feed = parse_feed(feedkit.encode(feedkit.feed(items)), URL)
    assert [i.id for i in feed.items] == ["long-body"]
    assert "100000 characters" in feed.dropped[0]
