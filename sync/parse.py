"""Parse and validate a county feed (JSON Feed 1.1 with ``_disclosure`` extensions).

Two levels of failure, on purpose: a problem with the feed as a whole (not JSON, wrong
version, missing sequence or categories) rejects the feed, so the terminal keeps what it
had; a problem with one item drops that item with a logged reason while the rest stands,
because one clerk's typo must not blank every screen in the county.

Untrusted input is bounded before it is used: byte size by the fetcher, nesting depth,
item count and string lengths here.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from sync.errors import FeedRejected
from sync.model import (
    DISCLOSURE_TYPES,
    IMAGE_TYPES,
    PRIORITIES,
    SCOPES,
    Approval,
    Category,
    Feed,
    Feedback,
    FeedMeta,
    Item,
    Media,
)

log = logging.getLogger(__name__)

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
MAX_ITEMS = 20_000
MAX_DEPTH = 32
MAX_TITLE_CHARS = 500
MAX_TEXT_CHARS = 100_000
MAX_SHORT_CHARS = 200
MAX_MEDIA_PER_ITEM = 16
MAX_AUDIENCE = 500
MAX_CATEGORIES = 64
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_REGION = re.compile(r"^\d{6}(\d{3}(\d{3})?)?$")
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_SEQUENCE = 2**63 - 1  # what SQLite's INTEGER holds
# Times outside these years are a typo or an attack, and near the ends of datetime's range
# turning them into local time for display would overflow.
MIN_YEAR, MAX_YEAR = 1900, 9000
# For _check_lengths: escapes, everything but brackets, quotes and commas, strings, then
# strings are removed in C, leaving only brackets and commas to count.
_LEN_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_LEN_KEEP = bytes(b for b in range(256) if b not in b'[]{}",')
_LEN_STRING = re.compile(rb'"[^"]*"?')


class ItemInvalid(ValueError):
    """One item is unusable; the reason is logged and the item dropped."""


def parse_feed(body: bytes, feed_url: str) -> Feed:
    """Parse ``body`` (the exact bytes that were signed) fetched from ``feed_url``.

    ``feed_url`` resolves relative media URLs. Raises :class:`FeedRejected`.
    """
    doc = _load_json(body)
    if doc.get("version") != JSON_FEED_VERSION:
        raise FeedRejected(f"feed: version is {doc.get('version')!r}, expected {JSON_FEED_VERSION}")
    meta = _parse_meta(doc)
    raw_items = doc.get("items")
    if not isinstance(raw_items, list):
        raise FeedRejected("feed: 'items' must be a list")
    if len(raw_items) > MAX_ITEMS:
        raise FeedRejected(f"feed: {len(raw_items)} items, more than the limit of {MAX_ITEMS}")

    category_ids = {c.id for c in meta.categories}
    dropped: list[str] = []
    # Only string ids are counted: a list or object as an id is refused per item below,
    # and could not be counted anyway (unhashable).
    ids = Counter(
        raw["id"] for raw in raw_items if isinstance(raw, dict) and isinstance(raw.get("id"), str)
    )
    items: list[Item] = []
    for index, raw in enumerate(raw_items):
        label = _item_label(raw, index)
        try:
            if isinstance(raw, dict) and isinstance(raw.get("id"), str) and ids[raw["id"]] > 1:
                raise ItemInvalid("duplicate id (every copy dropped)")
            items.append(_parse_item(raw, category_ids, feed_url))
        except ItemInvalid as exc:
            reason = f"item {label}: {exc}"
            log.warning("dropped %s", reason)
            dropped.append(reason)
    return Feed(meta=meta, items=tuple(items), dropped=tuple(dropped))


def _load_json(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedRejected(f"feed: not UTF-8 (byte {exc.start})") from exc
    if _nesting_depth(body) > MAX_DEPTH:
        raise FeedRejected(f"feed: JSON nested deeper than {MAX_DEPTH} levels")
    _check_lengths(body)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (an HTML page?)" if text.lstrip()[:1] == "<" else ""
        raise FeedRejected(f"feed: not valid JSON at line {exc.lineno}: {exc.msg}{hint}") from exc
    except RecursionError as exc:  # pragma: no cover - the depth check comes first
        raise FeedRejected("feed: JSON nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise FeedRejected(f"feed: not usable JSON: {str(exc)[:100]}") from exc
    if not isinstance(doc, dict):
        raise FeedRejected("feed: top level must be a JSON object")
    return doc


# Performance change (issue 5, cold sync): the character-by-character walk over a 10,000-item
# feed took about 0.2-0.3 s of pure Python; this does the same bound in about 10 ms.
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')
_STRING = re.compile(rb'"[^"]*"?')


def _nesting_depth(body: bytes) -> int:
    """Depth of brackets outside strings, worked out in C over the raw bytes.

    The structural characters are ASCII and never occur inside a multi-byte UTF-8
    sequence, so the bytes can be reduced to them: drop every escape pair, keep only
    brackets and quotes, drop adjacent ``""`` (two toggles with nothing between change
    nothing), then drop what remains inside strings. Only the brackets are walked.

    For valid JSON this is exact. A backslash outside a string is treated as an escape
    too; that is already a syntax error, where ``json.loads`` stops, and everything before
    it is counted exactly, so the bound still holds for whatever the parser would reach.
    """
    reduced = _ESCAPE.sub(b"", body).translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    depth = deepest = 0
    for ch in _STRING.sub(b"", reduced):
        if ch in b"[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return deepest
        else:
            depth -= 1
    return deepest


def _check_lengths(body: bytes) -> None:
    """Refuse a list or object of more than MAX_ITEMS entries before ``json.loads`` runs.

    ``json.loads`` builds every value before anything could count them, so a million-item
    feed (three megabytes of ``{},``) would cost a hundred megabytes or more first. No
    legitimate list or object comes near MAX_ITEMS entries (the items list is the longest),
    so any that does rejects the feed. One counter per open bracket is all it keeps
    (substituting containers away with ``re.sub`` was tried: its list of pieces for a
    million matches cost more than the parse it was meant to avoid).
    """
    reduced = _LEN_ESCAPE.sub(b"", body).translate(None, _LEN_KEEP).replace(b'""', b"")
    counts: list[int] = []  # entries so far in each open list or object
    for ch in _LEN_STRING.sub(b"", reduced):  # only brackets and commas are left
        if ch == 44:  # ","
            if counts:
                counts[-1] += 1
                if counts[-1] > MAX_ITEMS:
                    raise FeedRejected(
                        f"feed: a list or object of more than {MAX_ITEMS} entries, more than"
                        f" the limit of {MAX_ITEMS} items"
                    )
        elif ch in (91, 123):  # "[" or "{"
            counts.append(1)
        elif counts:
            counts.pop()


def _parse_meta(doc: Mapping[str, Any]) -> FeedMeta:
    ext = doc.get("_disclosure")
    if not isinstance(ext, dict):
        raise FeedRejected("feed: missing '_disclosure' object")
    try:
        issuer = _text(ext, "issuer", required=True, limit=MAX_SHORT_CHARS)
        sequence = ext.get("sequence")
        if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
            raise ItemInvalid("'sequence' must be a non-negative integer")
        if sequence > MAX_SEQUENCE:
            raise ItemInvalid(f"'sequence' is larger than {MAX_SEQUENCE}")
        generated_at = _time(ext, "generated_at", required=True)
        categories = _parse_categories(ext.get("categories"))
        feedback = _parse_feedback(ext.get("feedback"))
    except ItemInvalid as exc:
        raise FeedRejected(f"feed: _disclosure {exc}") from exc
    assert generated_at is not None
    title = doc.get("title") if isinstance(doc.get("title"), str) else ""
    return FeedMeta(
        issuer=issuer,
        sequence=sequence,
        generated_at=generated_at,
        categories=categories,
        feedback=feedback,
        title=title[:MAX_SHORT_CHARS],
    )


def _parse_categories(raw: Any) -> tuple[Category, ...]:
    if not isinstance(raw, list) or not raw:
        raise ItemInvalid("'categories' must be a non-empty list")
    if len(raw) > MAX_CATEGORIES:
        raise ItemInvalid(f"more than {MAX_CATEGORIES} categories")
    cats: list[Category] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise ItemInvalid("each category must be an object")
        cid = entry.get("id")
        if not isinstance(cid, str) or not _SLUG.match(cid):
            raise ItemInvalid(f"category id {cid!r} is not a lowercase slug")
        name = _text(entry, "name", required=True, limit=32)
        order = entry.get("order", len(cats))
        if not isinstance(order, int) or isinstance(order, bool):
            raise ItemInvalid(f"category {cid}: 'order' must be an integer")
        color = entry.get("color")
        if color is not None and (not isinstance(color, str) or not _COLOR.match(color)):
            raise ItemInvalid(f"category {cid}: 'color' must look like #1a2b3c")
        cats.append(Category(id=cid, name=name, order=order, color=color))
    if len({c.id for c in cats}) != len(cats):
        raise ItemInvalid("duplicate category id")
    return tuple(sorted(cats, key=lambda c: (c.order, c.id)))


def _parse_feedback(raw: Any) -> Feedback:
    if not isinstance(raw, dict):
        raise ItemInvalid("'feedback' must be an object with 'url_template'")
    template = _text(raw, "url_template", required=True, limit=1000)
    return Feedback(
        url_template=template,
        phone=_text(raw, "phone", limit=64) or None,
        email=_text(raw, "email", limit=254) or None,
    )


def _parse_item(raw: Any, category_ids: set[str], feed_url: str) -> Item:
    if not isinstance(raw, dict):
        raise ItemInvalid("not an object")
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not item_id.strip() or len(item_id) > MAX_SHORT_CHARS:
        raise ItemInvalid("'id' must be a non-empty string of at most 200 characters")
    ext = raw.get("_disclosure")
    if not isinstance(ext, dict):
        raise ItemInvalid("missing '_disclosure' object")
    title = _text(raw, "title", required=True, limit=MAX_TITLE_CHARS)
    content = _text(raw, "content_text", limit=MAX_TEXT_CHARS)
    category = _text(ext, "category", required=True, limit=32)
    if category not in category_ids:
        raise ItemInvalid(f"category {category!r} is not one of the feed's categories")
    scope = _choice(ext, "scope", SCOPES, required=True)
    approval = _parse_approval(ext.get("approval"))
    date_published = _time(raw, "date_published")
    valid_from = _time(ext, "valid_from") or date_published
    if valid_from is None:
        raise ItemInvalid("needs 'valid_from' (or 'date_published')")
    valid_until = _time(ext, "valid_until")
    if valid_until is not None and valid_until <= valid_from:
        raise ItemInvalid("'valid_until' is not after 'valid_from'")
    return Item(
        id=item_id,
        title=title,
        content_text=content,
        category=category,
        scope=scope,
        approval=approval,
        valid_from=valid_from,
        valid_until=valid_until,
        subcategory=_text(ext, "subcategory", limit=MAX_SHORT_CHARS),
        publisher=_text(ext, "publisher", limit=MAX_SHORT_CHARS),
        catalog_no=_text(ext, "catalog_no", limit=MAX_SHORT_CHARS),
        disclosure_type=_choice(ext, "disclosure_type", DISCLOSURE_TYPES) or "ad_hoc",
        audience=_parse_audience(ext.get("audience")),
        priority=_choice(ext, "priority", PRIORITIES) or "normal",
        date_published=date_published,
        date_modified=_time(raw, "date_modified"),
        media=_parse_media(ext.get("media"), feed_url),
    )


def _parse_approval(raw: Any) -> Approval:
    if not isinstance(raw, dict):
        raise ItemInvalid("'approval' must be an object with 'status'")
    return Approval(
        status=_text(raw, "status", required=True, limit=32),
        reviewed_by=_text(raw, "reviewed_by", limit=MAX_SHORT_CHARS) or None,
        approved_by=_text(raw, "approved_by", limit=MAX_SHORT_CHARS) or None,
        approved_at=_time(raw, "approved_at"),
    )


def _parse_audience(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_AUDIENCE:
        raise ItemInvalid(f"'audience' must be a list of at most {MAX_AUDIENCE} region codes")
    codes = []
    for code in raw:
        if not isinstance(code, str) or not _REGION.match(code):
            raise ItemInvalid(f"audience code {str(code)[:20]!r} is not a 6, 9 or 12 digit code")
        codes.append(code)
    return tuple(codes)


def _parse_media(raw: Any, feed_url: str) -> tuple[Media, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_MEDIA_PER_ITEM:
        raise ItemInvalid(f"'media' must be a list of at most {MAX_MEDIA_PER_ITEM} entries")
    media = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise ItemInvalid("each media entry must be an object")
        url = _text(entry, "url", required=True, limit=2000)
        try:
            absolute = urljoin(feed_url, url)
            scheme = urlsplit(absolute).scheme
        except ValueError as exc:  # e.g. "http://[::1": an unclosed IPv6 host
            raise ItemInvalid(f"media url {url[:60]!r} is not a valid URL: {exc}") from exc
        if scheme not in ("http", "https", "file"):
            raise ItemInvalid(f"media url {url[:60]!r} has an unsupported scheme")
        sha = _text(entry, "sha256", required=True, limit=64).lower()
        if not _SHA256.match(sha):
            raise ItemInvalid(f"media sha256 {sha[:16]!r}… is not 64 hex digits")
        size = entry.get("bytes")
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise ItemInvalid("media 'bytes' must be a positive integer")
        mtype = _choice(entry, "type", IMAGE_TYPES, required=True)
        media.append(Media(url=absolute, sha256=sha, bytes=size, type=mtype))
    return tuple(media)


def _text(obj: Mapping[str, Any], key: str, *, required: bool = False, limit: int) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise ItemInvalid(f"missing '{key}'")
        return ""
    if not isinstance(value, str):
        raise ItemInvalid(f"'{key}' must be a string")
    if required and not value.strip():
        raise ItemInvalid(f"'{key}' is empty")
    if len(value) > limit:
        raise ItemInvalid(f"'{key}' is {len(value)} characters, more than {limit}")
    if not value.isascii() and (bad := _SURROGATE.search(value)):
        # JSON can escape a lone surrogate ("\\ud800"). It is not text: SQLite's UTF-8 would
        # refuse it when the feed is stored, failing the sync for every other item.
        raise ItemInvalid(f"'{key}' contains a lone surrogate (U+{ord(bad.group()):04X})")
    return value


def _choice(
    obj: Mapping[str, Any], key: str, allowed: tuple[str, ...], *, required: bool = False
) -> str:
    value = _text(obj, key, required=required, limit=64)
    if value and value not in allowed:
        raise ItemInvalid(f"'{key}' is {value!r}, expected one of {', '.join(allowed)}")
    return value


def _time(obj: Mapping[str, Any], key: str, *, required: bool = False) -> datetime | None:
    value = _text(obj, key, required=required, limit=64)
    if not value:
        return None
    return parse_time(value, key)


def parse_time(value: str, key: str = "time") -> datetime:
    """RFC 3339 with a mandatory offset: a naive time on a terminal is a guess, not a fact."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ItemInvalid(f"'{key}' {value!r} is not an RFC 3339 time") from exc
    if parsed.tzinfo is None:
        raise ItemInvalid(f"'{key}' {value!r} has no UTC offset")
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ItemInvalid(f"'{key}' {value!r} is outside the years {MIN_YEAR} to {MAX_YEAR}")
    return parsed


def _item_label(raw: Any, index: int) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        return f"{raw['id'][:60]!r} (#{index + 1})"
    return f"#{index + 1}"
