"""Builds the data side of one terminal from its configuration.

The composition lives here, not in the command line or the App, so both assemble the
store, media cache and sync coordinator the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from kiosk.config import Config
from kiosk.rules import admitted
from sync.coordinator import Coordinator, SyncSettings
from sync.fetch import FetchLimits
from sync.media import MediaCache, MediaLimits
from sync.model import Item
from sync.store import Snapshot, Store

MB = 1024 * 1024


def open_store(config: Config) -> Store:
    return Store(config.store_path)


def media_limits(config: Config) -> MediaLimits:
    return MediaLimits(
        max_bytes=int(config.feed.max_media_mb * MB),
        max_pixels=int(config.feed.max_media_megapixels * 1_000_000),
        target_size=(config.display.width, config.display.height),
    )


def make_coordinator(config: Config, store: Store | None = None) -> Coordinator:
    settings = SyncSettings(
        feed_url=config.feed.url,
        public_keys=config.trust.public_keys,
        allow_unsigned=config.trust.allow_unsigned,
        fetch_limits=FetchLimits(
            connect_timeout=config.feed.connect_timeout,
            read_timeout=config.feed.read_timeout,
            total_deadline=config.feed.total_timeout,
            max_feed_bytes=int(config.feed.max_feed_mb * MB),
        ),
        media_limits=media_limits(config),
    )
    return Coordinator(
        store or open_store(config),
        MediaCache(config.media_dir, settings.media_limits),
        settings,
    )


@dataclass(frozen=True)
class View:
    """What a screen may show now: the snapshot plus the items the display rule admits."""

    snapshot: Snapshot
    items: tuple[Item, ...]
    at: datetime


def current_view(config: Config, store: Store, now: datetime | None = None) -> View:
    snapshot = store.snapshot()
    at = now or datetime.now(UTC)
    items = admitted(snapshot.items, snapshot.meta, config.terminal.region_code, at)
    return View(snapshot=snapshot, items=tuple(items), at=at)
