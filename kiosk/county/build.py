"""Build the county feed (JSON Feed 1.1 + ``_disclosure``) from a folder of item files.

The clerks who publish write one small TOML or Markdown file per item; this turns the
folder into the one document terminals fetch, copies the images under content-addressed
names and signs the exact bytes. It refuses rather than guesses: an item that a terminal
would drop (or, worse, show to the wrong people) stops the build with one line naming the
file and the field, so the mistake is fixed at the desk and not discovered in a village.

Source layout (see ``assets/demo/src`` for a full example)::

    feed.toml             title, issuer, categories, feedback, optional home_page_url
    items/xyz.toml        every field, the body in ``content_text``
    items/abc.md          ``+++`` TOML front matter ``+++`` then the body as plain text
    images/x.jpg          media, listed in an item as ``media = ["images/x.jpg"]``

Files and folders whose names start with ``_`` or ``.``, and ``README.md``, are ignored,
so notes and drafts can live beside the items. Times without a UTC offset (a TOML local
date-time, a bare date or a string without offset) are taken in the feed's ``utc_offset``
(default ``+08:00``): a county office thinks in Beijing time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import string
import tempfile
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from sync import trust
from sync.model import DISCLOSURE_TYPES, PRIORITIES, SCOPES

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
DEFAULT_UTC_OFFSET = "+08:00"
FEED_FILE = "feed.json"
SIG_SUFFIX = ".sig"
MEDIA_DIR = "media"

# The same bounds the terminal's parser enforces, so a feed that builds also parses.
MAX_TITLE_CHARS = 500
MAX_TEXT_CHARS = 100_000
MAX_SHORT_CHARS = 200
MAX_CATEGORY_NAME_CHARS = 32
MAX_MEDIA_PER_ITEM = 16
MAX_AUDIENCE = 500
MAX_MEDIA_BYTES = 16 * 1024 * 1024  # a terminal on a village line should not fetch more
MAX_MEDIA_PIXELS = 40_000_000

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_ITEM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_REGION = re.compile(r"^\d{6}(\d{3}(\d{3})?)?$")
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
_TEMPLATE_FIELDS = {"item_id", "terminal_id", "category"}

_FEED_KEYS = {
    "title", "issuer", "home_page_url", "feed_url", "description", "language",
    "utc_offset", "region_code", "categories", "feedback",
}  # fmt: skip
_CATEGORY_KEYS = {"id", "name", "order", "color"}
_FEEDBACK_KEYS = {"url_template", "phone", "email"}
_ITEM_KEYS = {
    "id", "title", "content_text", "date_published", "date_modified", "category",
    "subcategory", "scope", "approval", "publisher", "catalog_no", "disclosure_type",
    "valid_from", "valid_until", "audience", "priority", "media",
}  # fmt: skip
_APPROVAL_KEYS = {"status", "reviewed_by", "approved_by", "approved_at"}

# Magic numbers, not file names, decide the type: a renamed GIF must not slip through.
_IMAGE_KINDS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"),
                "WEBP": ("image/webp", "webp")}  # fmt: skip


class BuildError(ValueError):
    """A source file is unusable; ``str(self)`` is one line: ``file: field problem``."""

    def __init__(self, reason: str) -> None:
        super().__init__(" ".join(str(reason).split()))


@dataclass(frozen=True)
class BuildReport:
    """What a build produced, for the command line to print and tests to check."""

    feed_path: Path
    signature_path: Path | None
    sequence: int
    generated_at: str
    item_count: int
    media_count: int
    counts_by_category: dict[str, int]
    # Items that build fine but that no public screen will show (scope or approval).
    notices: tuple[str, ...] = field(default=())


@dataclass
class _Context:
    src_dir: Path
    tz: timezone
    category_ids: set[str]
    region_code: str | None
    media: dict[str, tuple[Path, str]] = field(default_factory=dict)  # sha -> (file, name)


def build_feed(
    src_dir: Path,
    out_dir: Path,
    private_key_b64: str | None,
    *,
    feed_meta_file: str = "feed.toml",
    now: datetime | None = None,
) -> BuildReport:
    """Build ``out_dir/feed.json`` (+ ``media/``, + ``feed.json.sig`` with a key).

    ``sequence`` is ``max(previous + 1, int(now.timestamp()))``. The previous value comes
    from ``out_dir/feed.json`` so rebuilding in the same folder always goes up; the clock
    part keeps it going up even when a build starts from an empty folder (a new PC, a
    wiped server), because terminals reject any feed whose sequence is lower than the one
    they hold. An unreadable previous feed stops the build instead of risking a rollback.
    Building without a key removes a stale ``feed.json.sig`` so the pair never disagrees.
    """
    src_dir = Path(src_dir)
    out_dir = Path(out_dir)
    if not src_dir.is_dir():
        raise BuildError(f"{src_dir}: source folder does not exist")
    if private_key_b64 is not None:
        try:
            trust.public_key_of(private_key_b64)
        except ValueError as exc:  # fail before reading a single item, not after
            raise BuildError(f"signing key: {exc}") from exc
    meta_path = src_dir / feed_meta_file
    feed_doc, ctx = _load_feed_meta(meta_path, src_dir)

    now = now or datetime.now(ctx.tz)
    if now.tzinfo is None:
        now = now.replace(tzinfo=ctx.tz)
    now = now.astimezone(ctx.tz)

    items: list[dict[str, Any]] = []
    notices: list[str] = []
    seen: dict[str, str] = {}
    for path in _item_files(src_dir, meta_path, out_dir):
        rel = path.relative_to(src_dir).as_posix()
        item = _build_item(_read_item_file(path, rel), rel, path.stem, ctx)
        if item["id"] in seen:
            raise BuildError(f"{rel}: id {item['id']!r} duplicates the one in {seen[item['id']]}")
        seen[item["id"]] = rel
        ext = item["_disclosure"]
        if ext["scope"] != "public" or ext["approval"]["status"] != "approved":
            notices.append(
                f"{rel}: scope {ext['scope']}, approval {ext['approval']['status']}"
                " - terminals will not show it"
            )
        items.append(item)
    if not items:
        # An empty feed would blank every screen in the county: surely a wrong folder.
        raise BuildError(f"{src_dir}: no item files (*.toml, *.md) found")
    items.sort(key=lambda it: it["id"])

    sequence = max(_previous_sequence(out_dir / FEED_FILE) + 1, int(now.timestamp()))
    generated_at = now.isoformat(timespec="seconds")
    feed_doc["_disclosure"]["sequence"] = sequence
    feed_doc["_disclosure"]["generated_at"] = generated_at
    feed_doc["items"] = items
    body = (json.dumps(feed_doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")

    out_dir.mkdir(parents=True, exist_ok=True)
    _copy_media(ctx.media, out_dir / MEDIA_DIR)
    feed_path = out_dir / FEED_FILE
    sig_path = feed_path.with_name(feed_path.name + SIG_SUFFIX)
    signature = trust.sign(body, private_key_b64) if private_key_b64 else None
    _write_atomic(feed_path, body)
    if signature is not None:
        _write_atomic(sig_path, (signature + "\n").encode("ascii"))
    else:
        sig_path.unlink(missing_ok=True)

    counts: dict[str, int] = {}
    for item in items:
        cat = item["_disclosure"]["category"]
        counts[cat] = counts.get(cat, 0) + 1
    return BuildReport(
        feed_path=feed_path,
        signature_path=sig_path if signature is not None else None,
        sequence=sequence,
        generated_at=generated_at,
        item_count=len(items),
        media_count=len(ctx.media),
        counts_by_category=counts,
        notices=tuple(notices),
    )


def sign_file(feed_path: Path, private_key_b64: str) -> Path:
    """Sign the exact bytes of ``feed_path`` and write the base64 signature to ``<feed>.sig``.

    For feeds edited or produced by other tools; ``build_feed`` signs its own output.
    """
    feed_path = Path(feed_path)
    try:
        body = feed_path.read_bytes()
    except OSError as exc:
        raise BuildError(f"{feed_path}: cannot read ({exc.strerror or exc})") from exc
    sig_path = feed_path.with_name(feed_path.name + SIG_SUFFIX)
    _write_atomic(sig_path, (trust.sign(body, private_key_b64) + "\n").encode("ascii"))
    return sig_path


# --- feed.toml ---------------------------------------------------------------------------


def _load_feed_meta(path: Path, src_dir: Path) -> tuple[dict[str, Any], _Context]:
    rel = path.name if path.parent == src_dir else str(path)
    raw = _load_toml(path, rel)
    _no_unknown_keys(raw, _FEED_KEYS, rel, "")
    tz = _parse_offset(raw.get("utc_offset", DEFAULT_UTC_OFFSET), rel)
    title = _string(raw, "title", rel, required=True, limit=MAX_SHORT_CHARS)
    issuer = _string(raw, "issuer", rel, required=True, limit=MAX_SHORT_CHARS)
    region_code = _string(raw, "region_code", rel, limit=12) or None
    if region_code is not None and not _REGION.match(region_code):
        raise BuildError(f"{rel}: region_code {region_code!r} is not a 6, 9 or 12 digit code")

    raw_cats = raw.get("categories")
    if not isinstance(raw_cats, list) or not raw_cats:
        raise BuildError(f"{rel}: missing categories (a [[categories]] table per category)")
    categories = []
    for index, cat in enumerate(raw_cats):
        where = f"categories[{index}]"
        if not isinstance(cat, dict):
            raise BuildError(f"{rel}: {where} must be a table")
        _no_unknown_keys(cat, _CATEGORY_KEYS, rel, where + ".")
        cid = _string(cat, "id", rel, required=True, limit=32, prefix=where + ".")
        if not _SLUG.match(cid):
            raise BuildError(f"{rel}: {where}.id {cid!r} must be a lowercase slug like 'cunwu'")
        name = _string(cat, "name", rel, required=True, limit=MAX_CATEGORY_NAME_CHARS,
                       prefix=where + ".")  # fmt: skip
        order = cat.get("order", index)
        if not isinstance(order, int) or isinstance(order, bool):
            raise BuildError(f"{rel}: {where}.order must be an integer")
        entry: dict[str, Any] = {"id": cid, "name": name, "order": order}
        color = _string(cat, "color", rel, limit=7, prefix=where + ".")
        if color:
            if not _COLOR.match(color):
                raise BuildError(f"{rel}: {where}.color {color!r} must look like #1a2b3c")
            entry["color"] = color.lower()
        categories.append(entry)
    ids = [c["id"] for c in categories]
    dupes = sorted({c for c in ids if ids.count(c) > 1})
    if dupes:
        raise BuildError(f"{rel}: categories: id {dupes[0]!r} appears more than once")
    categories.sort(key=lambda c: (c["order"], c["id"]))

    raw_fb = raw.get("feedback")
    if not isinstance(raw_fb, dict):
        raise BuildError(f"{rel}: missing feedback (a [feedback] table with url_template)")
    _no_unknown_keys(raw_fb, _FEEDBACK_KEYS, rel, "feedback.")
    template = _string(raw_fb, "url_template", rel, required=True, limit=1000, prefix="feedback.")
    _check_template(template, rel)
    feedback: dict[str, Any] = {"url_template": template}
    for key, limit in (("phone", 64), ("email", 254)):
        value = _string(raw_fb, key, rel, limit=limit, prefix="feedback.")
        if value:
            feedback[key] = value

    doc: dict[str, Any] = {"version": JSON_FEED_VERSION, "title": title}
    for key in ("home_page_url", "feed_url", "description", "language"):
        value = _string(raw, key, rel, limit=2000)
        if value:
            doc[key] = value
    doc["_disclosure"] = {
        "issuer": issuer,
        "sequence": 0,  # filled in once the previous feed has been read
        "generated_at": "",
        "categories": categories,
        "feedback": feedback,
    }
    ctx = _Context(src_dir=src_dir, tz=tz, category_ids=set(ids), region_code=region_code)
    return doc, ctx


def _check_template(template: str, rel: str) -> None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise BuildError(f"{rel}: feedback.url_template is malformed ({exc})") from exc
    unknown = sorted(names - _TEMPLATE_FIELDS)
    if unknown:
        raise BuildError(
            f"{rel}: feedback.url_template uses {{{unknown[0]}}};"
            " only {item_id}, {terminal_id} and {category} are filled in"
        )


def _parse_offset(value: Any, rel: str) -> timezone:
    match = _OFFSET.match(value) if isinstance(value, str) else None
    if not match:
        raise BuildError(f"{rel}: utc_offset {value!r} must look like +08:00")
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if sign == "-" else delta)


# --- item files --------------------------------------------------------------------------


def _item_files(src_dir: Path, meta_path: Path, out_dir: Path) -> list[Path]:
    # Only an output folder *inside* the source is skipped (``--out src/_site``); an output
    # folder that contains the source (``--out .``) must not hide every item.
    src_resolved, out_resolved = src_dir.resolve(), out_dir.resolve()
    skip_out = out_resolved != src_resolved and out_resolved.is_relative_to(src_resolved)
    files = []
    for path in sorted(src_dir.rglob("*")):
        if path.suffix not in (".toml", ".md") or not path.is_file() or path == meta_path:
            continue
        rel_parts = path.relative_to(src_dir).parts
        if any(part.startswith(("_", ".")) for part in rel_parts):
            continue
        if path.name.lower() == "readme.md":
            continue
        if skip_out and path.resolve().is_relative_to(out_resolved):
            continue
        files.append(path)
    return files


def _read_item_file(path: Path, rel: str) -> dict[str, Any]:
    if path.suffix == ".toml":
        return _load_toml(path, rel)
    text = _read_text(path, rel).replace("\r\n", "\n")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "+++":
        raise BuildError(f"{rel}: no TOML front matter (the file must start with a +++ line)")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "+++")
    except StopIteration:
        raise BuildError(f"{rel}: front matter has no closing +++ line") from None
    try:
        raw = tomllib.loads("\n".join(lines[1:end]))
    except tomllib.TOMLDecodeError as exc:
        raise BuildError(f"{rel}: invalid TOML front matter: {exc}") from exc
    if "content_text" in raw:
        raise BuildError(f"{rel}: content_text is the Markdown body, not a front matter key")
    raw["content_text"] = "\n".join(lines[end + 1 :]).strip("\n").rstrip()
    return raw


def _build_item(raw: dict[str, Any], rel: str, stem: str, ctx: _Context) -> dict[str, Any]:
    _no_unknown_keys(raw, _ITEM_KEYS, rel, "")
    item_id = _string(raw, "id", rel, limit=128) or stem
    if not _ITEM_ID.match(item_id):
        raise BuildError(
            f"{rel}: id {item_id!r} may use only letters, digits, '.', '_' and '-' (max 128)"
        )
    title = _string(raw, "title", rel, required=True, limit=MAX_TITLE_CHARS)
    content = _string(raw, "content_text", rel, required=True, limit=MAX_TEXT_CHARS)

    approval_raw = raw.get("approval")
    if approval_raw is None:
        raise BuildError(f"{rel}: missing approval.status")
    if not isinstance(approval_raw, dict):
        raise BuildError(f"{rel}: approval must be a table with status")
    _no_unknown_keys(approval_raw, _APPROVAL_KEYS, rel, "approval.")
    approval: dict[str, Any] = {
        "status": _string(approval_raw, "status", rel, required=True, limit=32,
                          prefix="approval."),
    }  # fmt: skip
    for key in ("reviewed_by", "approved_by"):
        value = _string(approval_raw, key, rel, limit=MAX_SHORT_CHARS, prefix="approval.")
        if value:
            approval[key] = value
    approved_at = _time(approval_raw, "approved_at", rel, ctx.tz, prefix="approval.")
    if approved_at is not None:
        approval["approved_at"] = _rfc3339(approved_at)

    scope = _choice(raw, "scope", SCOPES, rel, required=True)
    category = _string(raw, "category", rel, required=True, limit=32)
    if category not in ctx.category_ids:
        raise BuildError(
            f"{rel}: category {category!r} is not in feed.toml"
            f" ({', '.join(sorted(ctx.category_ids))})"
        )

    date_published = _time(raw, "date_published", rel, ctx.tz)
    date_modified = _time(raw, "date_modified", rel, ctx.tz)
    valid_from = _time(raw, "valid_from", rel, ctx.tz) or date_published
    if valid_from is None:
        raise BuildError(f"{rel}: missing valid_from (or date_published)")
    valid_until = _time(raw, "valid_until", rel, ctx.tz)
    if valid_until is not None and valid_until <= valid_from:
        raise BuildError(f"{rel}: valid_until is not after valid_from")

    item: dict[str, Any] = {"id": item_id, "title": title, "content_text": content}
    if date_published is not None:
        item["date_published"] = _rfc3339(date_published)
    if date_modified is not None:
        item["date_modified"] = _rfc3339(date_modified)

    ext: dict[str, Any] = {"category": category}
    subcategory = _string(raw, "subcategory", rel, limit=MAX_SHORT_CHARS)
    if subcategory:
        ext["subcategory"] = subcategory
    ext["scope"] = scope
    ext["approval"] = approval
    for key in ("publisher", "catalog_no"):
        value = _string(raw, key, rel, limit=MAX_SHORT_CHARS)
        if value:
            ext[key] = value
    ext["disclosure_type"] = _choice(raw, "disclosure_type", DISCLOSURE_TYPES, rel) or "ad_hoc"
    ext["valid_from"] = _rfc3339(valid_from)
    if valid_until is not None:
        ext["valid_until"] = _rfc3339(valid_until)
    audience = _audience(raw.get("audience"), rel, ctx.region_code)
    if audience:
        ext["audience"] = audience
    ext["priority"] = _choice(raw, "priority", PRIORITIES, rel) or "normal"
    media = _media(raw.get("media"), rel, ctx)
    if media:
        ext["media"] = media
    item["_disclosure"] = ext
    return item


def _audience(raw: Any, rel: str, region_code: str | None) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_AUDIENCE:
        raise BuildError(f"{rel}: audience must be a list of at most {MAX_AUDIENCE} region codes")
    codes = []
    for index, code in enumerate(raw):
        # TOML lets a clerk write the code unquoted; it is still a code, not a number.
        text = str(code) if isinstance(code, int) and not isinstance(code, bool) else code
        if not isinstance(text, str) or not _REGION.match(text):
            raise BuildError(f"{rel}: audience[{index}] {code!r} is not a 6, 9 or 12 digit code")
        if region_code and not (text.startswith(region_code) or region_code.startswith(text)):
            raise BuildError(
                f"{rel}: audience[{index}] {text} is outside the feed's region {region_code}"
            )
        if text not in codes:
            codes.append(text)
    return codes


def _media(raw: Any, rel: str, ctx: _Context) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_MEDIA_PER_ITEM:
        raise BuildError(f"{rel}: media must be a list of at most {MAX_MEDIA_PER_ITEM} file names")
    entries = []
    root = ctx.src_dir.resolve()
    for index, name in enumerate(raw):
        where = f"media[{index}]"
        if not isinstance(name, str) or not name.strip():
            raise BuildError(f"{rel}: {where} must be a file name relative to the source folder")
        path = (ctx.src_dir / name).resolve()
        if Path(name).is_absolute() or not path.is_relative_to(root):
            raise BuildError(f"{rel}: {where} {name!r} is outside the source folder")
        if not path.is_file():
            raise BuildError(f"{rel}: {where} {name!r} does not exist")
        entry = _media_entry(path, f"{rel}: {where} {name!r}")
        ctx.media.setdefault(entry["sha256"], (path, entry["url"]))
        entries.append(entry)
    return entries


def _media_entry(path: Path, where: str) -> dict[str, Any]:
    size = path.stat().st_size
    if size == 0:
        raise BuildError(f"{where} is empty")
    if size > MAX_MEDIA_BYTES:
        raise BuildError(f"{where} is {size} bytes, more than {MAX_MEDIA_BYTES}")
    try:
        with Image.open(path) as img:
            kind = img.format or ""
            if kind not in _IMAGE_KINDS:
                raise BuildError(f"{where} is {kind or 'not an image'}, not JPEG, PNG or WebP")
            width, height = img.size
            if width * height > MAX_MEDIA_PIXELS:
                raise BuildError(f"{where} is {width}x{height}, more than {MAX_MEDIA_PIXELS} px")
            img.verify()
    except BuildError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError,
            ValueError) as exc:  # fmt: skip
        raise BuildError(f"{where} is not a readable JPEG, PNG or WebP image ({exc})") from exc
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    mime, ext = _IMAGE_KINDS[kind]
    return {"url": f"{MEDIA_DIR}/{sha}.{ext}", "sha256": sha, "bytes": len(data), "type": mime}


def _copy_media(media: dict[str, tuple[Path, str]], media_dir: Path) -> None:
    """Copy each image under its content-addressed name; identical files are left alone.

    Files from earlier builds stay: a terminal that fetched the previous feed a moment
    ago may still be downloading them, and they never change under the same name.
    """
    media_dir.mkdir(parents=True, exist_ok=True)
    for sha, (src, url) in media.items():
        target = media_dir / url.rsplit("/", 1)[-1]
        if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == sha:
            continue
        _write_atomic(target, src.read_bytes())


# --- small helpers -----------------------------------------------------------------------


def _previous_sequence(feed_path: Path) -> int:
    if not feed_path.exists():
        return -1
    try:
        doc = json.loads(feed_path.read_bytes().decode("utf-8-sig"))
        seq = doc["_disclosure"]["sequence"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BuildError(
            f"{feed_path}: cannot read the previous sequence ({type(exc).__name__});"
            " move the file away to build afresh"
        ) from exc
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise BuildError(f"{feed_path}: previous _disclosure.sequence is not an integer")
    return seq


def _load_toml(path: Path, rel: str) -> dict[str, Any]:
    try:
        return tomllib.loads(_read_text(path, rel))
    except tomllib.TOMLDecodeError as exc:
        raise BuildError(f"{rel}: invalid TOML: {exc}") from exc


def _read_text(path: Path, rel: str) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise BuildError(f"{rel}: file not found") from None
    except OSError as exc:
        raise BuildError(f"{rel}: cannot read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise BuildError(f"{rel}: not UTF-8 (byte {exc.start})") from exc


def _no_unknown_keys(raw: dict[str, Any], allowed: set[str], rel: str, prefix: str) -> None:
    """A misspelt key (``valid_untill``) would otherwise be ignored and the item live forever."""
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise BuildError(f"{rel}: unknown field {prefix}{unknown[0]}")


def _string(
    raw: dict[str, Any],
    key: str,
    rel: str,
    *,
    required: bool = False,
    limit: int,
    prefix: str = "",
) -> str:
    value = raw.get(key)
    if value is None:
        if required:
            raise BuildError(f"{rel}: missing {prefix}{key}")
        return ""
    if not isinstance(value, str):
        raise BuildError(f"{rel}: {prefix}{key} must be a string")
    if required and not value.strip():
        raise BuildError(f"{rel}: {prefix}{key} is empty")
    if len(value) > limit:
        raise BuildError(f"{rel}: {prefix}{key} is {len(value)} characters, more than {limit}")
    return value


def _choice(
    raw: dict[str, Any], key: str, allowed: tuple[str, ...], rel: str, *, required: bool = False
) -> str:
    value = _string(raw, key, rel, required=required, limit=64)
    if value and value not in allowed:
        raise BuildError(f"{rel}: {key} {value!r} is not one of {', '.join(allowed)}")
    return value


def _time(
    raw: dict[str, Any], key: str, rel: str, tz: timezone, *, prefix: str = ""
) -> datetime | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise BuildError(f"{rel}: {prefix}{key} {value!r} is not an RFC 3339 time") from None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0), tzinfo=tz)
    raise BuildError(f"{rel}: {prefix}{key} must be a date-time like 2026-03-01T09:00:00+08:00")


def _rfc3339(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _write_atomic(path: Path, data: bytes) -> None:
    """Write beside the target and rename, so a web server never serves half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
