"""Round-trip the model's dataclasses through JSON for the store.

Kept apart from the store so the schema of a stored item is readable in one place and
tests can check that nothing is lost on the way in and out.

Written out field by field rather than with :func:`dataclasses.asdict`: ``asdict``
deep-copies every value through a generic recursive walk, which made encoding 10,000
items the largest single cost of a cold sync (about 1 s of 4). The output is the same
dict, key for key and in the same order, as ``asdict`` plus the ISO time strings.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from sync.model import Approval, Category, Feedback, FeedMeta, Item, Media

_TIME_FIELDS = ("valid_from", "valid_until", "date_published", "date_modified")
# Every field of Item, in declaration order (the order asdict used, so stored rows keep
# their shape). Taken from the dataclass itself so that a field added to the model is
# stored without anyone remembering to add it here.
_ITEM_FIELDS = tuple(f.name for f in fields(Item))
_APPROVAL_FIELDS = tuple(f.name for f in fields(Approval))
_MEDIA_FIELDS = tuple(f.name for f in fields(Media))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def item_to_dict(item: Item) -> dict[str, Any]:
    data = {name: getattr(item, name) for name in _ITEM_FIELDS}
    for name in _TIME_FIELDS:
        data[name] = _iso(data[name])
    approval = item.approval
    data["approval"] = {name: getattr(approval, name) for name in _APPROVAL_FIELDS}
    data["approval"]["approved_at"] = _iso(approval.approved_at)
    data["audience"] = list(item.audience)
    data["media"] = [{name: getattr(m, name) for name in _MEDIA_FIELDS} for m in item.media]
    return data


def item_from_dict(data: dict[str, Any]) -> Item:
    approval = dict(data["approval"])
    approval["approved_at"] = _dt(approval.get("approved_at"))
    valid_from = _dt(data["valid_from"])
    assert valid_from is not None
    return Item(
        id=data["id"],
        title=data["title"],
        content_text=data["content_text"],
        category=data["category"],
        scope=data["scope"],
        approval=Approval(**approval),
        valid_from=valid_from,
        valid_until=_dt(data.get("valid_until")),
        subcategory=data.get("subcategory", ""),
        publisher=data.get("publisher", ""),
        catalog_no=data.get("catalog_no", ""),
        disclosure_type=data.get("disclosure_type", "ad_hoc"),
        audience=tuple(data.get("audience", ())),
        priority=data.get("priority", "normal"),
        date_published=_dt(data.get("date_published")),
        date_modified=_dt(data.get("date_modified")),
        media=tuple(Media(**m) for m in data.get("media", ())),
    )


def meta_to_dict(meta: FeedMeta) -> dict[str, Any]:
    data = asdict(meta)
    data["generated_at"] = meta.generated_at.isoformat()
    return data


def meta_from_dict(data: dict[str, Any]) -> FeedMeta:
    return FeedMeta(
        issuer=data["issuer"],
        sequence=data["sequence"],
        generated_at=datetime.fromisoformat(data["generated_at"]),
        categories=tuple(Category(**c) for c in data["categories"]),
        feedback=Feedback(**data["feedback"]),
        title=data.get("title", ""),
    )
