"""The cold-sync speed-ups keep the store's contents and protections exactly as they were.

Each fast path made for issue 5 is checked against the plain way it replaced: the
field-by-field codec against ``dataclasses.asdict``, ``media_names`` read by SQL against
the names found by decoding the snapshot, the byte-level nesting bound against a walk
over the text, and the store's durability settings on a real SQLite file.
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sync.codec import item_from_dict, item_to_dict
from sync.errors import FeedRejected
from sync.model import Approval, Item, Media
from sync.parse import MAX_DEPTH, _nesting_depth, parse_feed
from sync.store import Store
from tests import feedkit

URL = "https://feed.example.gov.cn/qingxi/feed.json"
SHA_A = "a" * 64
SHA_B = "b" * 64


def _reference_item_to_dict(item: Item) -> dict:
    """The encoding the store used before: asdict, then ISO strings for the times."""
    data = asdict(item)
    for key in ("valid_from", "valid_until", "date_published", "date_modified"):
        value = getattr(item, key)
        data[key] = value.isoformat() if value is not None else None
    approved_at = item.approval.approved_at
    data["approval"]["approved_at"] = approved_at.isoformat() if approved_at else None
    return data


def _media(sha: str, local: str | None) -> Media:
    return Media(
        url=f"https://feed.example.gov.cn/media/{sha}.jpg",
        sha256=sha,
        bytes=1234,
        type="image/jpeg",
        local_path=local,
    )


def _items() -> list[Item]:
    t0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    full = Item(
        id="full",
        title="关于\"引号\"与\\反斜杠的公示",
        content_text="第一段\n第二段\t[括号]{花括号}",
        category="caiwu",
        scope="public",
        approval=Approval("approved", reviewed_by="李四", approved_by="王五", approved_at=t0),
        valid_from=t0,
        valid_until=t0.replace(year=2027),
        subcategory="收支",
        publisher="柳塘村",
        catalog_no="LT-1",
        disclosure_type="periodic",
        audience=("360999", "360999101201"),
        priority="urgent",
        date_published=t0,
        date_modified=t0.replace(day=2),
        media=(_media(SHA_A, f"{SHA_A}-1920x1080.jpg"), _media(SHA_B, None)),
    )
    bare = Item(
        id="bare",
        title="简",
        content_text="",
        category="cunwu",
        scope="public",
        approval=Approval("approved"),
        valid_from=t0,
    )
    shared = replace(bare, id="shared", media=(_media(SHA_A, f"{SHA_A}-1920x1080.jpg"),))
    return [full, bare, shared]


def test_codec_writes_what_asdict_wrote_and_reads_it_back() -> None:
    for item in _items():
        # Compared as stored text: same keys, same order, same values (lists where
        # asdict gave tuples, which JSON writes alike).
        text = json.dumps(item_to_dict(item), ensure_ascii=False)
        assert text == json.dumps(_reference_item_to_dict(item), ensure_ascii=False)
        assert item_from_dict(json.loads(text)) == item


def _store_with(tmp_path: Path, items: list[Item]) -> Store:
    feed = parse_feed(feedkit.encode(feedkit.feed([feedkit.item("x")])), URL)
    store = Store(tmp_path / "kiosk.db")
    store.replace_snapshot(
        feed.meta,
        items,
        body_sha256="0" * 64,
        feed_url=URL,
        etag=None,
        last_modified=None,
        accepted_at=datetime(2026, 11, 1, tzinfo=UTC),
        items_in_feed=len(items),
        items_withheld=0,
        dropped=(),
    )
    return store


def test_media_names_by_sql_match_the_decoded_snapshot(tmp_path: Path) -> None:
    store = _store_with(tmp_path, _items())
    decoded = {m.local_path for i in store.snapshot().items for m in i.media if m.local_path}
    assert decoded == {f"{SHA_A}-1920x1080.jpg"}
    assert store.media_names() == decoded
    assert store.snapshot().items == tuple(_items())


def test_media_names_of_an_empty_store_is_empty(tmp_path: Path) -> None:
    assert Store(tmp_path / "kiosk.db").media_names() == set()


def test_store_file_stays_in_wal_and_connections_sync_fully(tmp_path: Path) -> None:
    """WAL is now set once, at open; it must still be the file's mode for every reader."""
    store = _store_with(tmp_path, _items())
    other = sqlite3.connect(store.path)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()
    with store._connect() as db:  # the connection the snapshot switch runs on
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def _walk_depth(text: str) -> int:
    """The original character-by-character bound, kept here as the reference."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def test_nesting_bound_matches_the_walk_when_backslashes_sit_in_strings() -> None:
    rng = random.Random(20261206)
    pieces = ["[", "]", "{", "}", '"', '\\"', "\\\\", "\\n", "a", "公", ",", ":", " "]
    checked = 0
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))
        if _outside_backslash(text):
            continue  # not JSON anywhere; covered by the next test
        assert _nesting_depth(text.encode()) == _walk_depth(text), text
        checked += 1
    assert checked > 1_000  # enough JSON-like cases were really compared


def _outside_backslash(text: str) -> bool:
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "\\":
            return True
    return False


def test_nesting_bound_never_undercounts_what_the_parser_can_reach() -> None:
    """Past a backslash outside a string json.loads stops; everything before it counts."""
    deep = "[" * (MAX_DEPTH + 3)
    assert _nesting_depth(deep.encode()) > MAX_DEPTH
    assert _nesting_depth(('["\\\\"' + deep).encode()) > MAX_DEPTH  # escaped backslash
    assert _nesting_depth((deep + '\\"').encode()) > MAX_DEPTH
    assert _nesting_depth(('["a\\"' + "[" * 40 + '"]').encode()) == 1  # inside a string


@pytest.mark.parametrize(
    "content",
    ["[" * 40 + '"\\', "{" * 40 + '\\"]' + "}" * 3, '\\"' * 20 + "[" * 40],
)
def test_brackets_inside_strings_do_not_count_in_a_whole_feed(content: str) -> None:
    doc = feedkit.feed([feedkit.item("a", content_text=content)])
    feed = parse_feed(feedkit.encode(doc), URL)
    assert [i.content_text for i in feed.items] == [content]


def test_deep_nesting_behind_escaped_quotes_is_still_refused() -> None:
    body = b'{"a": "x\\"y\\\\", "b": ' + b"[" * (MAX_DEPTH + 2) + b"]" * (MAX_DEPTH + 2) + b"}"
    with pytest.raises(FeedRejected, match="nested"):
        parse_feed(body, URL)
