from __future__ import annotations

import json

import pytest

from sync.errors import FeedRejected
from sync.parse import MAX_DEPTH, parse_feed
from tests import feedkit

URL = "https://feed.example.gov.cn/qingxi/feed.json"


def parse(doc: dict) -> object:
    return parse_feed(feedkit.encode(doc), URL)


def test_valid_feed_parses_every_field() -> None:
    media = {"url": "media/a.jpg", "sha256": "A" * 64, "bytes": 10, "type": "image/jpeg"}
    doc = feedkit.feed(
        [
            feedkit.item(
                "a",
                d_audience=["360999101"],
                d_valid_until="2027-01-01T00:00:00+08:00",
                d_media=[media],
            )
        ]
    )
    feed = parse(doc)
    assert feed.meta.sequence == 100
    assert [c.id for c in feed.meta.categories] == ["dangwu", "zhengwu", "cunwu", "caiwu"]
    (item,) = feed.items
    assert item.title == "关于a的公示"
    assert item.audience == ("360999101",)
    assert item.valid_until is not None and item.valid_until.year == 2027
    assert item.media[0].url == "https://feed.example.gov.cn/qingxi/media/a.jpg"
    assert item.media[0].sha256 == "a" * 64
    assert feed.dropped == ()


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "HTML"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "not valid JSON"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"[]", "top level"),
        (b"[" * (MAX_DEPTH + 5) + b"]" * (MAX_DEPTH + 5), "nested"),
    ],
)
def test_broken_documents_are_rejected_with_one_line(body: bytes, needle: str) -> None:
    with pytest.raises(FeedRejected) as info:
        parse_feed(body, URL)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"version": "https://jsonfeed.org/version/1"}, "version"),
        ({"items": {}}, "'items' must be a list"),
    ],
)
def test_feed_level_problems_reject(change: dict, needle: str) -> None:
    doc = feedkit.feed([feedkit.item()])
    doc.update(change)
    with pytest.raises(FeedRejected, match=needle):
        parse(doc)


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"sequence": "7"}, "sequence"),
        ({"sequence": -1}, "sequence"),
        ({"generated_at": "yesterday"}, "generated_at"),
        ({"generated_at": "2026-11-01T08:00:00"}, "no UTC offset"),
        ({"categories": []}, "categories"),
        ({"categories": [{"id": "Bad Slug", "name": "x"}]}, "slug"),
        ({"feedback": None}, "feedback"),
        ({"issuer": ""}, "issuer"),
    ],
)
def test_disclosure_header_problems_reject(override: dict, needle: str) -> None:
    doc = feedkit.feed([feedkit.item()])
    doc["_disclosure"].update(override)
    if override.get("feedback", 1) is None:
        del doc["_disclosure"]["feedback"]
    with pytest.raises(FeedRejected, match=needle):
        parse(doc)


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"title": None}, "missing 'title'"),
        ({"title": "x" * 100_000}, "more than 500"),
        ({"d_category": "secret"}, "not one of the feed's categories"),
        ({"d_scope": None}, "missing 'scope'"),
        ({"d_scope": "everyone"}, "'scope'"),
        ({"d_approval": None}, "'approval'"),
        ({"d_valid_from": "2026-13-01T00:00:00+08:00"}, "valid_from"),
        ({"d_valid_until": "2026-09-01T00:00:00+08:00"}, "not after"),
        ({"d_audience": ["36"]}, "audience code"),
        ({"d_priority": "critical"}, "priority"),
        ({"d_media": [{"url": "javascript:alert(1)", "sha256": "0" * 64, "bytes": 1,
                       "type": "image/png"}]}, "scheme"),
        ({"d_media": [{"url": "a.svg", "sha256": "0" * 64, "bytes": 1,
                       "type": "image/svg+xml"}]}, "type"),
    ],
)
def test_bad_item_is_dropped_and_the_rest_stands(override: dict, needle: str) -> None:
    doc = feedkit.feed([feedkit.item("good"), feedkit.item("bad", **override)])
    feed = parse(doc)
    assert [i.id for i in feed.items] == ["good"]
    (reason,) = feed.dropped
    assert "'bad'" in reason and needle in reason


def test_duplicate_ids_drop_every_copy() -> None:
    doc = feedkit.feed([feedkit.item("dup"), feedkit.item("ok"), feedkit.item("dup")])
    feed = parse(doc)
    assert [i.id for i in feed.items] == ["ok"]
    assert len(feed.dropped) == 2


def test_non_object_items_are_dropped() -> None:
    doc = feedkit.feed([feedkit.item("ok")])
    doc["items"].extend([None, 3, "x"])
    feed = parse(doc)
    assert [i.id for i in feed.items] == ["ok"]
    assert len(feed.dropped) == 3


def test_markup_in_text_is_kept_literally() -> None:
    doc = feedkit.feed([feedkit.item("m", title="[b]加粗[/b][color=ff0000]红[/color]")])
    assert parse(doc).items[0].title == "[b]加粗[/b][color=ff0000]红[/color]"


def test_valid_from_defaults_to_date_published() -> None:
    feed = parse(feedkit.feed([feedkit.item("x", d_valid_from=None)]))
    assert feed.items[0].valid_from == feed.items[0].date_published


def test_too_many_items_rejects_before_parsing_them() -> None:
    body = json.dumps(feedkit.feed([])).replace('"items": []', '"items": [' + ",".join(
        ["{}"] * 20_001) + "]")
    with pytest.raises(FeedRejected, match="more than the limit"):
        parse_feed(body.encode(), URL)
