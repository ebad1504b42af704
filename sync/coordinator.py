"""One sync: fetch, verify, parse, prepare media, swap the store — or change nothing.

This is the single place that writes the store (the Home Assistant "coordinator"
pattern): the app and the command line only read. Every failure is recorded in the
store's sync status and re-raised as a one-line :class:`SyncError`; the previous
snapshot stays untouched.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from sync import trust
from sync.errors import FeedRejected, FetchError, MediaError, StoreError, SyncError
from sync.fetch import Fetcher, FetchLimits, Validators, redact_url
from sync.media import MediaCache, MediaLimits
from sync.model import Item
from sync.parse import parse_feed
from sync.store import Store

log = logging.getLogger(__name__)

MEDIA_WORKERS = 4


@dataclass(frozen=True)
class SyncSettings:
    feed_url: str
    public_keys: tuple[str, ...] = ()
    allow_unsigned: bool = False
    fetch_limits: FetchLimits = field(default_factory=FetchLimits)
    media_limits: MediaLimits = field(default_factory=MediaLimits)


@dataclass(frozen=True)
class SyncOutcome:
    result: str  # "updated" | "not_modified"
    sequence: int | None
    items_stored: int = 0
    items_withheld: int = 0
    dropped: tuple[str, ...] = ()


_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def _check_looks_like_json(body: bytes, content_type: str | None, url: str) -> None:
    """Name a captive portal or error page for what it is, before the signature check.

    Without this a village Wi-Fi login page served with status 200 would be reported as
    "feed signature does not match", sending the technician after the county's keys. Only
    bodies that cannot be a JSON object are refused here: a correctly signed feed served
    as text/plain by a plain web server is still taken, the signature being the authority.
    """
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    where = redact_url(url)
    if content_type in _HTML_TYPES and start != b"{":
        raise FetchError(
            f"feed {where}: got an HTML page ({content_type}), not the JSON feed"
            " (a captive portal or an error page?)"
        )
    if start != b"{":
        snippet = body[:16].decode("utf-8", "replace")
        raise FetchError(
            f"feed {where}: not JSON (Content-Type {content_type or 'not given'},"
            f" body starts {snippet!r})"
        )


class SyncBusy(SyncError):
    """Another process holds the sync lock (the app's job and a manual ``kiosk sync``)."""


class Coordinator:
    def __init__(
        self,
        store: Store,
        media: MediaCache,
        settings: SyncSettings,
        *,
        fetcher: Fetcher | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        lock_path: Path | None = None,
    ) -> None:
        self.store = store
        self.media = media
        self.settings = settings
        self.fetcher = fetcher or Fetcher(settings.fetch_limits)
        self.clock = clock
        self.lock_path = lock_path or store.path.with_suffix(".sync.lock")

    def sync(self) -> SyncOutcome:
        """Run one sync; raise :class:`SyncError` (already recorded) when it fails."""
        try:
            with self._lock():
                outcome = self._sync()
        except SyncBusy:
            raise
        except SyncError as exc:
            self._record("failed", str(exc))
            raise
        except Exception as exc:  # a bug must not kill the scheduler; say what broke
            log.exception("sync failed unexpectedly")
            message = f"sync failed: {type(exc).__name__}: {exc}"
            self._record("failed", message)
            raise SyncError(message) from exc
        self._record(outcome.result, None)
        return outcome

    def _record(self, result: str, error: str | None) -> None:
        try:
            self.store.record_attempt(self.clock(), result, error)
        except SyncError as exc:
            # After a failure the caller reports the failure itself; one line is enough.
            level = logging.INFO if result == "failed" else logging.WARNING
            log.log(level, "could not record sync result %s: %s", result, exc)

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """A file lock: never two syncs at once, whichever processes they run in."""
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # a read-only or full data dir: say so, not "OSError"
            raise StoreError(
                f"cannot open the sync lock {self.lock_path}: {exc.strerror or exc}"
            ) from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise SyncBusy("another sync is already running") from exc
            yield
        finally:
            os.close(fd)

    def _sync(self) -> SyncOutcome:
        settings = self.settings
        if not settings.public_keys and not settings.allow_unsigned:
            raise FeedRejected(
                "no public keys are pinned and allow_unsigned is false: refusing every feed"
            )
        state = self.store.feed_state()
        same_url = state is not None and state.feed_url == settings.feed_url
        validators = Validators(state.etag, state.last_modified) if same_url and state else None
        fetched = self.fetcher.fetch_feed(settings.feed_url, validators)
        if fetched.not_modified:
            return SyncOutcome("not_modified", state.sequence if state else None)
        body = fetched.body or b""
        _check_looks_like_json(body, fetched.content_type, fetched.url)

        if settings.public_keys:
            signature = self.fetcher.fetch_optional(settings.feed_url + ".sig", 1024)
            trust.verify(body, signature, list(settings.public_keys))
        body_sha = hashlib.sha256(body).hexdigest()
        feed = parse_feed(body, fetched.url)

        if state is not None:
            if feed.meta.sequence < state.sequence:
                raise FeedRejected(
                    f"feed sequence {feed.meta.sequence} is lower than the {state.sequence}"
                    " already held (replayed old feed)"
                )
            if feed.meta.sequence == state.sequence:
                if body_sha != state.body_sha256:
                    raise FeedRejected(
                        f"feed content changed but its sequence stayed at {state.sequence}"
                    )
                self.store.update_validators(
                    fetched.validators.etag, fetched.validators.last_modified
                )
                return SyncOutcome("not_modified", state.sequence)

        shown = [i for i in feed.items if i.is_public_and_approved]
        withheld = len(feed.items) - len(shown)
        prepared, media_problems = self._prepare_media(shown)
        dropped = feed.dropped + tuple(media_problems)
        self.store.replace_snapshot(
            feed.meta,
            prepared,
            body_sha256=body_sha,
            feed_url=settings.feed_url,
            etag=fetched.validators.etag,
            last_modified=fetched.validators.last_modified,
            accepted_at=self.clock(),
            items_in_feed=len(feed.items) + len(feed.dropped),
            items_withheld=withheld,
            dropped=dropped,
        )
        removed = self.media.collect(self.store.media_names())
        log.info(
            "feed %s accepted: %d items shown-eligible, %d withheld, %d dropped, %d media removed",
            feed.meta.sequence,
            len(prepared),
            withheld,
            len(dropped),
            removed,
        )
        return SyncOutcome("updated", feed.meta.sequence, len(prepared), withheld, dropped)

    def _prepare_media(self, items: list[Item]) -> tuple[list[Item], list[str]]:
        """Download and pre-scale every image; a bad image is left out, its item stays.

        A broken receipt scan must not hide the text of a finance disclosure, so the item
        is kept without that image and the reason is listed with the dropped ones.
        """
        wanted = {m.sha256: m for item in items for m in item.media}
        results: dict[str, str | MediaError] = {}

        def prepare(sha: str) -> None:
            try:
                results[sha] = self.media.ensure(wanted[sha], self.fetcher.fetch_bytes)
            except MediaError as exc:
                results[sha] = exc

        missing = [sha for sha, m in wanted.items() if not self.media.has(m)]
        for sha, m in wanted.items():
            if sha not in missing:
                results[sha] = self.media.local_name(m)
        if missing:
            with ThreadPoolExecutor(max_workers=MEDIA_WORKERS) as pool:
                list(pool.map(prepare, missing))

        problems = []
        out = []
        for item in items:
            media = []
            for m in item.media:
                got = results[m.sha256]
                if isinstance(got, MediaError):
                    problems.append(f"item {item.id!r}: image left out: {got}")
                else:
                    media.append(replace(m, local_path=got))
            out.append(replace(item, media=tuple(media)) if item.media else item)
        for line in problems:
            log.warning(line)
        return out, problems
