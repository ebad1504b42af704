"""Plain data the screens show, prepared by the app (``kiosk/presenter.py``).

Screens get everything as already-formatted strings and absolute file paths, so they hold
no rules, read no store and format no dates: presentation only.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CategoryCard:
    id: str
    name: str
    color: str  # "#rrggbb", always set (the presenter picks a default)
    count: int = 0


@dataclass(frozen=True)
class ItemCard:
    id: str
    category_id: str
    category_name: str
    color: str
    title: str
    body: str
    subcategory: str = ""
    publisher: str = ""
    catalog_no: str = ""
    published: str = ""  # e.g. "2026年11月1日"
    window: str = ""  # e.g. "公示期 2026年11月1日至11月30日", or "长期公开"
    disclosure_type: str = ""  # 长期 / 定期 / 逐段 / 临时
    approval: str = ""  # e.g. "审核 李红梅　审批 王建国"
    image_paths: tuple[str, ...] = ()  # absolute paths of pre-scaled images
    feedback_url: str | None = None  # None: the feed's template is unusable; show phone only
    urgent: bool = False
    sort_key: str = ""  # newest first when sorted descending


@dataclass(frozen=True)
class FeedbackInfo:
    """The feed's feedback channels, shown beside every QR code."""

    phone: str = ""
    email: str = ""
    issuer: str = ""


@dataclass(frozen=True)
class StatusInfo:
    """What the status strip shows: the terminal's name and whether it is offline."""

    terminal_name: str = ""
    offline: bool = False
    last_sync: str = ""  # e.g. "11月22日 08:15", shown in the offline badge
    extra: dict[str, str] = field(default_factory=dict)
