"""The display rule (DESIGN.md): the one function that decides what a screen may show.

The command line (``kiosk items``) and the app both call :func:`admitted`, so what a
technician lists is exactly what residents see. Rule 1 (the item came in an accepted feed)
holds by construction: only the sync coordinator writes the store, and only after the
feed was verified; rules 2-5 are checked here on every call, even though the store already
refuses to keep non-public items, because a screen is the last line of defence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sync.model import FeedMeta, Item


@dataclass(frozen=True)
class Verdict:
    shown: bool
    reason: str  # why not, in a few words; "shown" when it is


def effective_now(now: datetime, meta: FeedMeta | None) -> datetime:
    """The terminal's clock, floored at the newest accepted feed's ``generated_at``.

    A Pi without a real-time clock boots in 1970 (or at its last shutdown) until NTP
    answers; without the floor it would show items whose window has long closed, or
    none at all.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if meta is not None and now < meta.generated_at:
        return meta.generated_at
    return now


def judge(item: Item, meta: FeedMeta, region_code: str, now: datetime) -> Verdict:
    """Apply rules 2-5 at ``now`` (already floored by :func:`effective_now`)."""
    if item.scope != "public":
        return Verdict(False, f"scope is {item.scope}, not public")
    if item.approval.status != "approved":
        return Verdict(False, f"approval is {item.approval.status}, not approved")
    if meta.category(item.category) is None:
        return Verdict(False, f"category {item.category} is not in the feed")
    if now < item.valid_from:
        return Verdict(False, "not yet valid")
    if item.valid_until is not None and now >= item.valid_until:
        return Verdict(False, "expired")
    if item.audience and not any(region_code.startswith(code) for code in item.audience):
        return Verdict(False, "for another area")
    return Verdict(True, "shown")


def admitted(
    items: Iterable[Item], meta: FeedMeta | None, region_code: str, now: datetime
) -> list[Item]:
    """The items terminal ``region_code`` may show at ``now``, in their stored order."""
    if meta is None:
        return []
    at = effective_now(now, meta)
    return [item for item in items if judge(item, meta, region_code, at).shown]
