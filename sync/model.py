"""Immutable data types for an accepted feed, shared by every layer.

Frozen dataclasses rather than dicts so that screens cannot mutate what the store
handed them, and so that a typo in a field name fails loudly instead of showing blank.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

SCOPES = ("public", "party", "unit", "specific")
DISCLOSURE_TYPES = ("standing", "periodic", "phase", "ad_hoc")
PRIORITIES = ("normal", "urgent")
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    order: int
    color: str | None = None  # "#rrggbb" or None: the app picks a calm default


@dataclass(frozen=True)
class Feedback:
    url_template: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Approval:
    status: str
    reviewed_by: str | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None


@dataclass(frozen=True)
class Media:
    url: str  # absolute once the feed has been parsed against its own URL
    sha256: str  # lowercase hex
    bytes: int
    type: str
    local_path: str | None = None  # file of the pre-scaled copy, relative to the media dir


@dataclass(frozen=True)
class Item:
    id: str
    title: str
    content_text: str
    category: str
    scope: str
    approval: Approval
    valid_from: datetime
    valid_until: datetime | None = None
    subcategory: str = ""
    publisher: str = ""
    catalog_no: str = ""
    disclosure_type: str = "ad_hoc"
    audience: tuple[str, ...] = ()
    priority: str = "normal"
    date_published: datetime | None = None
    date_modified: datetime | None = None
    media: tuple[Media, ...] = ()

    @property
    def is_public_and_approved(self) -> bool:
        """Rule 2 of the display rule: the only scope a public screen may ever show."""
        return self.scope == "public" and self.approval.status == "approved"

    @property
    def is_urgent(self) -> bool:
        return self.priority == "urgent"


@dataclass(frozen=True)
class FeedMeta:
    issuer: str
    sequence: int
    generated_at: datetime
    categories: tuple[Category, ...]
    feedback: Feedback
    title: str = ""

    def category(self, category_id: str) -> Category | None:
        for cat in self.categories:
            if cat.id == category_id:
                return cat
        return None


@dataclass(frozen=True)
class Feed:
    meta: FeedMeta
    items: tuple[Item, ...]
    dropped: tuple[str, ...] = field(default=())  # one line per item that was left out, and why
