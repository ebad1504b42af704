"""Fuzzing the feed parser and the display rule with generated and mutated feeds.

Two promises are checked on every feed Hypothesis can think of:

* ``parse_feed`` either returns a feed or raises :class:`FeedRejected` (a one-line reason);
  any other exception would be a crash of the sync job on a hostile or broken feed.
* no item the real display rule (``kiosk.rules.admitted``) lets through breaks DESIGN.md's
  rule. The check here is a plain re-statement of the rule made on the *raw JSON* the item
  came from, not on the parsed ``Item``, so a parser that invented a default (a missing
  scope read as public, say) or mixed up two items would be caught too.

Items also go through the store's own encoding (``sync.codec`` plus ``json``), because that
is the shape in which the app and ``kiosk items`` meet them. No mocks: everything is the
real code, only the network and SQLite are left out (the power-cut and hostile-content
tests cover those).

Profiles are in ``conftest.py``: ``ci`` runs 3 × 350 feeds, deterministically;
``HYPOTHESIS_PROFILE=nightly`` runs 3 × 7,000.
"""

from __future__ import annotations

import json
import logging
import os
import string
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from kiosk.rules import admitted
from sync.codec import item_from_dict, item_to_dict
from sync.errors import FeedRejected
from sync.model import (
    DISCLOSURE_TYPES,
    IMAGE_TYPES,
    PRIORITIES,
    SCOPES,
    Approval,
    Feed,
    Item,
)
from sync.parse import parse_feed

PROFILE = settings(settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci")))
FEED_URL = "https://county.example.gov.cn/feeds/feed.json"
REGION = "360999101201"
VERSION = "https://jsonfeed.org/version/1.1"


@pytest.fixture(autouse=True, scope="module")
def _quiet_parser() -> Iterator[None]:
    """Every dropped item logs a warning; thousands of them would only slow the run."""
    logger = logging.getLogger("sync.parse")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


# ----- values ------------------------------------------------------------------------------

#: Any JSON value, small: what a mutation puts where something else was expected.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)
NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
#: Times near the chosen "now", so windows open and close around it.
near_times = st.builds(
    lambda delta, tz: (NOW + timedelta(hours=delta)).astimezone(tz),
    st.integers(min_value=-48, max_value=48),
    offsets,
)
far_times = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets
)


@st.composite
def mostly(
    draw: st.DrawFn, valid: st.SearchStrategy[Any], wild: st.SearchStrategy[Any], odds: int = 40
) -> Any:
    """``valid`` ``odds`` times out of ``odds + 1``, else ``wild``.

    A feed with a random value in every field would be dropped at its first check and the
    later checks never reached, so each field is usually right and now and then wrong.
    Shrinking moves towards 0, the valid value, so a failure shows only the wrong fields.
    """
    # A wide range taken modulo: Hypothesis draws the ends of a small range far more often.
    if draw(st.integers(0, 2**24)) % (odds + 1) == 1:
        return draw(wild)
    return draw(valid)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The value, or the key left out (``None`` is dropped when the dict is built)."""
    return st.one_of(strategy, st.none())


time_text = mostly(
    near_times.map(datetime.isoformat),
    st.one_of(
        far_times.map(datetime.isoformat),
        near_times.map(lambda t: t.replace(tzinfo=None).isoformat()),  # naive: refused
        st.text(max_size=30),
        json_values,
    ),
)
any_text = st.text(max_size=12)
wild_text = st.one_of(st.text(max_size=12), json_values)

slugs = st.from_regex(r"\A[a-z0-9][a-z0-9_-]{0,8}\Z")
region_codes = mostly(
    st.sampled_from([REGION[:6], REGION[:9], REGION, "360999", "360999102", "110101001001"]),
    st.one_of(
        st.from_regex(r"\A\d{6}(\d{3}(\d{3})?)?\Z"),
        st.text(alphabet=string.digits + "x", max_size=13),
        json_values,
    ),
)
hex64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
media_entry = st.fixed_dictionaries(
    {
        "url": mostly(
            st.sampled_from(["media/a.jpg", "https://cdn.example.gov.cn/a.png", "/m/b.webp"]),
            st.one_of(
                st.sampled_from(
                    [
                        "../../etc/passwd",
                        "javascript:alert(1)",
                        "data:image/png;base64,AAAA",
                        "file:///etc/shadow",
                        "http://[::1",
                        "http://[zz]/a.png",
                        "//evil.example/x.png",
                        "https://a.example:99999/x.png",
                    ]
                ),
                wild_text,
            ),
        ),
        "sha256": mostly(hex64, st.one_of(hex64.map(str.upper), st.text(max_size=70))),
        "bytes": mostly(st.integers(1, 10**6), st.one_of(st.integers(-5, 2**70), json_values)),
        "type": mostly(st.sampled_from(IMAGE_TYPES), st.one_of(st.just("image/gif"), wild_text)),
    },
)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


@st.composite
def items(draw: st.DrawFn, category_ids: list[str], id_pool: list[str]) -> dict[str, Any]:
    """A structurally valid item with a random value in every field."""
    approval = _drop_none(
        {
            "status": draw(mostly(st.just("approved"), st.one_of(st.just("pending"), wild_text))),
            "reviewed_by": draw(maybe(mostly(any_text, wild_text))),
            "approved_by": draw(maybe(mostly(any_text, wild_text))),
            "approved_at": draw(maybe(time_text)),
        }
    )
    ext = _drop_none(
        {
            "category": draw(mostly(st.sampled_from(category_ids), st.one_of(slugs, wild_text))),
            "subcategory": draw(maybe(mostly(any_text, wild_text))),
            "scope": draw(mostly(st.just("public") | st.sampled_from(SCOPES), wild_text)),
            "approval": draw(mostly(st.just(approval), json_values)),
            "publisher": draw(maybe(mostly(any_text, wild_text))),
            "catalog_no": draw(maybe(mostly(any_text, wild_text))),
            "disclosure_type": draw(maybe(mostly(st.sampled_from(DISCLOSURE_TYPES), wild_text))),
            "valid_from": draw(maybe(time_text)),
            "valid_until": draw(maybe(time_text)),
            "audience": draw(maybe(mostly(st.lists(region_codes, max_size=3), json_values))),
            "priority": draw(maybe(mostly(st.sampled_from(PRIORITIES), wild_text))),
            "media": draw(maybe(mostly(st.lists(media_entry, max_size=2), json_values))),
        }
    )
    return _drop_none(
        {
            "id": draw(
                mostly(st.sampled_from(id_pool) | st.text(min_size=1, max_size=12), wild_text)
            ),
            "title": draw(mostly(st.text(min_size=1, max_size=40), wild_text)),
            "content_text": draw(maybe(mostly(st.text(max_size=60), wild_text))),
            "date_published": draw(maybe(time_text)),
            "date_modified": draw(maybe(time_text)),
            "_disclosure": ext,
        }
    )


category_entries = st.fixed_dictionaries(
    {
        "id": mostly(slugs, wild_text),
        "name": mostly(st.text(min_size=1, max_size=30), st.one_of(st.text(), json_values)),
    },
    optional={
        "order": mostly(st.integers(-10, 10), json_values),
        "color": mostly(st.from_regex(r"\A#[0-9a-fA-F]{6}\Z"), wild_text),
    },
)


@st.composite
def feeds(draw: st.DrawFn) -> dict[str, Any]:
    """A structurally valid feed document (as a dict) with random values throughout."""
    categories = draw(
        st.lists(category_entries, min_size=1, max_size=4, unique_by=lambda c: str(c["id"]))
    )
    category_ids = [c["id"] for c in categories if isinstance(c.get("id"), str)] or ["x"]
    id_pool = ["it-1", "it-2", "it-3", "it-4", "it-5", "it-6"]  # so duplicate ids happen
    feedback = _drop_none(
        {
            "url_template": draw(
                mostly(
                    st.just("https://yijian.example.gov.cn/f?i={item_id}&t={terminal_id}"),
                    wild_text,
                )
            ),
            "phone": draw(maybe(mostly(any_text, wild_text))),
            "email": draw(maybe(mostly(any_text, wild_text))),
        }
    )
    return {
        "version": VERSION,
        "title": draw(mostly(st.text(max_size=20), json_values)),
        "items": draw(st.lists(items(category_ids, id_pool), max_size=6)),
        "_disclosure": {
            "issuer": draw(mostly(st.text(min_size=1, max_size=20), wild_text)),
            "sequence": draw(
                mostly(st.integers(0, 10**6), st.one_of(st.integers(-3, 2**70), json_values))
            ),
            "generated_at": draw(time_text),
            "categories": categories,
            "feedback": feedback,
        },
    }


terminal_nows = mostly(near_times, far_times)
terminal_regions = st.sampled_from([REGION, "360999101202", "360999102001", "110101001001"])

# ----- the rule, re-stated on the raw document -------------------------------------------


def _raw_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def assert_rule_holds(doc: dict[str, Any], shown: list[Item], region: str, now: datetime) -> None:
    """DESIGN.md's display rule, checked against the JSON the item came from."""
    ext = doc["_disclosure"]
    generated_at = datetime.fromisoformat(ext["generated_at"])
    t = max(now, generated_at)  # the clock, never earlier than the feed
    known = {c["id"] for c in ext["categories"]}
    raws = [r for r in doc["items"] if isinstance(r, dict)]
    for item in shown:
        copies = [r for r in raws if r.get("id") == item.id]
        assert len(copies) == 1, f"admitted {item.id!r} but the feed has {len(copies)} copies"
        raw = copies[0]
        d = raw["_disclosure"]
        assert d.get("scope") == "public", (item.id, d.get("scope"))
        assert d["approval"].get("status") == "approved", (item.id, d["approval"])
        assert d.get("category") in known, (item.id, d.get("category"))
        start = _raw_time(d.get("valid_from")) or _raw_time(raw.get("date_published"))
        assert start is not None and start <= t, (item.id, start, t)
        end = _raw_time(d.get("valid_until"))
        assert end is None or t < end, (item.id, end, t)
        audience = d.get("audience") or []
        assert not audience or any(region.startswith(code) for code in audience), (
            item.id,
            audience,
            region,
        )
        assert item.title == raw["title"]


def as_stored(feed: Feed) -> list[Item]:
    """The items as the store hands them back: codec, JSON text and back again."""
    return [
        item_from_dict(json.loads(json.dumps(item_to_dict(i), ensure_ascii=False)))
        for i in feed.items
    ]


def parse_or_reject(body: bytes) -> Feed | None:
    """Parse, and fail the test on any exception other than the project's rejection."""
    try:
        return parse_feed(body, FEED_URL)
    except FeedRejected as exc:
        reason = str(exc)
        assert reason and "\n" not in reason
        return None


def check(doc: dict[str, Any], region: str, now: datetime) -> None:
    body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    feed = parse_or_reject(body)
    if feed is None:
        return
    assert_rule_holds(doc, admitted(feed.items, feed.meta, region, now), region, now)
    stored = as_stored(feed)
    assert_rule_holds(doc, admitted(stored, feed.meta, region, now), region, now)


# ----- properties -----------------------------------------------------------------------


@PROFILE
@given(doc=feeds(), region=terminal_regions, now=terminal_nows)
def test_generated_feeds_parse_or_reject_and_never_break_the_rule(
    doc: dict[str, Any], region: str, now: datetime
) -> None:
    check(doc, region, now)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key/index path inside a JSON document, the root excluded."""
    out: list[tuple[Any, ...]] = []
    children = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in children:
        out.append((*prefix, key))
        out.extend(_paths(child, (*prefix, key)))
    return out


@PROFILE
@given(doc=feeds(), data=st.data(), region=terminal_regions, now=terminal_nows)
def test_mutated_feeds_parse_or_reject_and_never_break_the_rule(
    doc: dict[str, Any], data: st.DataObject, region: str, now: datetime
) -> None:
    """Fields removed, replaced by values of the wrong type, or containers emptied."""
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        paths = _paths(doc)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths), label="path")
        parent: Any = doc
        for key in path[:-1]:
            parent = parent[key]
        action = data.draw(st.sampled_from(["remove", "replace", "wrap"]), label="action")
        if action == "remove":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = data.draw(json_values, label="value")
        else:
            parent[path[-1]] = [parent[path[-1]]]
    try:
        body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except ValueError:  # a float that JSON cannot carry; nothing to parse
        return
    feed = parse_or_reject(body)
    if feed is None:
        return
    # The mutation may have broken the structure the re-statement reads: only check the
    # rule where the raw document still has the parts it needs.
    shown = admitted(feed.items, feed.meta, region, now)
    if shown:
        assert_rule_holds(doc, shown, region, now)


@PROFILE
@given(doc=feeds(), data=st.data())
def test_byte_mutated_bodies_only_ever_raise_feed_rejected(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    """Random bytes flipped, inserted, deleted or cut in a valid body: the parser's input
    from a broken proxy or a truncated download."""
    body = bytearray(json.dumps(doc, ensure_ascii=False).encode("utf-8"))
    for _ in range(data.draw(st.integers(1, 6), label="edits")):
        pos = data.draw(st.integers(0, max(len(body) - 1, 0)), label="pos")
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]), label="op")
        if op == "flip" and body:
            body[pos] = data.draw(st.integers(0, 255), label="byte")
        elif op == "insert":
            body[pos:pos] = data.draw(
                st.sampled_from(
                    [
                        b"{",
                        b"[",
                        b"]",
                        b"}",
                        b'"',
                        b"\\",
                        b",",
                        b"\x00",
                        b"\xff",
                        b"\xed\xa0\x80",
                        b"1e999999",
                        b"NaN",
                        b"\\ud800",
                    ]
                )
                | st.binary(max_size=4),
                label="inserted",
            )
        elif op == "delete":
            del body[pos : pos + data.draw(st.integers(1, 8), label="n")]
        elif op == "truncate":
            del body[pos:]
    feed = parse_or_reject(bytes(body))
    if feed is not None:
        # Whatever got through must still store and read back without an error.
        as_stored(feed)


# ----- the generator is not vacuous --------------------------------------------------------


def _admitting_example() -> tuple[dict[str, Any], str, datetime]:
    def shows_something(args: tuple[dict[str, Any], str, datetime]) -> bool:
        doc, region, now = args
        try:
            feed = parse_feed(json.dumps(doc, ensure_ascii=False).encode(), FEED_URL)
        except FeedRejected:
            return False
        return len(admitted(feed.items, feed.meta, region, now)) >= 2

    return find(
        st.tuples(feeds(), terminal_regions, terminal_nows),
        shows_something,
        settings=settings(
            database=None,
            max_examples=5000,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )


def test_generator_reaches_feeds_whose_items_are_shown() -> None:
    """The rule property means little if no generated item is ever admitted: make sure the
    strategy produces accepted feeds with several admitted items, and with audiences."""
    doc, region, now = _admitting_example()
    feed = parse_feed(json.dumps(doc, ensure_ascii=False).encode(), FEED_URL)
    assert len(admitted(feed.items, feed.meta, region, now)) >= 2


def test_rule_restatement_catches_a_forbidden_item() -> None:
    """The checker itself can fail: hand it an item the rule forbids and see it object."""
    doc = {
        "_disclosure": {
            "generated_at": "2026-11-01T00:00:00+08:00",
            "categories": [{"id": "cunwu", "name": "村务"}],
        },
        "items": [
            {
                "id": "x",
                "title": "t",
                "_disclosure": {
                    "category": "cunwu",
                    "scope": "party",
                    "approval": {"status": "approved"},
                    "valid_from": "2026-10-01T00:00:00+08:00",
                },
            }
        ],
    }
    fake = Item(
        id="x",
        title="t",
        content_text="",
        category="cunwu",
        scope="public",  # what a buggy parser might have made of "party"
        approval=Approval("approved"),
        valid_from=datetime(2026, 10, 1, tzinfo=UTC),
    )
    try:
        assert_rule_holds(doc, [fake], REGION, datetime(2026, 11, 22, tzinfo=UTC))
    except AssertionError as exc:
        assert "party" in str(exc)
    else:
        raise AssertionError("the re-statement let a party-only item through")
