from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from kiosk.rules import admitted, effective_now, judge
from sync.parse import parse_feed
from tests import feedkit

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=CST)


def parsed(*items: dict, generated_at: str = "2026-11-01T08:00:00+08:00"):
    feed = parse_feed(feedkit.encode(feedkit.feed(list(items), generated_at=generated_at)), "x:")
    return feed.meta, feed.items


@pytest.mark.parametrize(
    ("override", "shown", "reason"),
    [
        ({}, True, "shown"),
        ({"d_scope": "party"}, False, "scope"),
        ({"d_scope": "unit"}, False, "scope"),
        ({"d_scope": "specific"}, False, "scope"),
        ({"d_approval": {"status": "pending"}}, False, "approval"),
        ({"d_approval": {"status": "Approved"}}, False, "approval"),
        ({"d_valid_from": "2026-11-22T10:00:01+08:00"}, False, "not yet valid"),
        ({"d_valid_from": "2026-11-22T10:00:00+08:00"}, True, "shown"),
        ({"d_valid_until": "2026-11-22T10:00:00+08:00"}, False, "expired"),
        ({"d_valid_until": "2026-11-22T10:00:01+08:00"}, True, "shown"),
        ({"d_audience": []}, True, "shown"),
        ({"d_audience": ["360999"]}, True, "shown"),
        ({"d_audience": ["360999101"]}, True, "shown"),
        ({"d_audience": ["360999101201"]}, True, "shown"),
        ({"d_audience": ["360999101202"]}, False, "another area"),
        ({"d_audience": ["360999101202", "360999101201"]}, True, "shown"),
        ({"d_audience": ["360998"]}, False, "another area"),
    ],
)
def test_each_branch_of_the_rule(override: dict, shown: bool, reason: str) -> None:
    meta, items = parsed(feedkit.item("x", **override))
    verdict = judge(items[0], meta, feedkit.REGION, NOW)
    assert verdict.shown is shown
    assert reason in verdict.reason


def test_category_missing_from_feed_is_not_shown() -> None:
    meta, items = parsed(feedkit.item("x"))
    from dataclasses import replace

    orphan = replace(items[0], category="tongzhi")
    assert judge(orphan, meta, feedkit.REGION, NOW).reason.startswith("category")


def test_clock_before_generated_at_is_floored() -> None:
    meta, items = parsed(
        feedkit.item("window", d_valid_from="2026-11-20T00:00:00+08:00"),
        generated_at="2026-11-21T08:00:00+08:00",
    )
    epoch = datetime(1970, 1, 1, tzinfo=UTC_)
    assert effective_now(epoch, meta) == meta.generated_at
    assert [i.id for i in admitted(items, meta, feedkit.REGION, epoch)] == ["window"]


def test_clock_after_generated_at_is_used() -> None:
    meta, items = parsed(feedkit.item("old", d_valid_until="2026-11-10T00:00:00+08:00"))
    assert admitted(items, meta, feedkit.REGION, NOW) == []
    assert len(admitted(items, meta, feedkit.REGION, NOW - timedelta(days=20))) == 1


def test_no_feed_admits_nothing() -> None:
    assert admitted([], None, feedkit.REGION, NOW) == []


def test_naive_time_is_refused() -> None:
    meta, _ = parsed(feedkit.item("x"))
    with pytest.raises(ValueError):
        effective_now(datetime(2026, 1, 1), meta)


UTC_ = UTC
