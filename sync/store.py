"""The offline store: one SQLite file (WAL) holding the last accepted feed.

A new feed replaces the old one in a single transaction, so a reader — the app, or
``kiosk items`` in another process — sees the whole old snapshot or the whole new one,
never a mix, even if the writer is killed or the power fails half-way: SQLite's journal
rolls an unfinished transaction back on the next open.

Each call opens its own short-lived connection. That costs under a millisecond and
makes the store safe to use from the UI thread and the sync thread at once without
sharing a connection across threads.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from sync.codec import item_from_dict, item_to_dict, meta_from_dict, meta_to_dict
from sync.errors import FeedRejected, StoreError
from sync.model import FeedMeta, Item

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA_VERSION = 1

# Items are plain dicts of str/int/None/list built by the codec: no cycles to guard
# against, so the per-call set-up and circularity bookkeeping of json.dumps are skipped.
_encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feed_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sequence INTEGER NOT NULL,
    generated_at TEXT NOT NULL,
    meta_json TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    feed_url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    accepted_at TEXT NOT NULL,
    items_in_feed INTEGER NOT NULL,
    items_withheld INTEGER NOT NULL,
    dropped_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    category TEXT NOT NULL,
    data_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sync_status (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_attempt_at TEXT,
    last_result TEXT,
    last_error TEXT,
    last_success_at TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True)
class FeedState:
    """What the terminal holds, without the items: enough to decide on the next sync."""

    sequence: int
    generated_at: datetime
    body_sha256: str
    feed_url: str
    etag: str | None
    last_modified: str | None
    accepted_at: datetime
    items_in_feed: int
    items_withheld: int
    dropped: tuple[str, ...]


@dataclass(frozen=True)
class SyncStatus:
    last_attempt_at: datetime | None = None
    last_result: str | None = None  # "updated" | "not_modified" | "failed"
    last_error: str | None = None
    last_success_at: datetime | None = None
    consecutive_failures: int = 0


@dataclass(frozen=True)
class Snapshot:
    """One consistent read of the store; ``meta`` is None before the first accepted feed."""

    meta: FeedMeta | None
    state: FeedState | None
    items: tuple[Item, ...] = field(default=())

    @property
    def sequence(self) -> int | None:
        return self.state.sequence if self.state else None


class Store:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # Set when the file can only be read as it lies on disk (a full or read-only SD
        # card): the last good content stays on screen, and every write fails cleanly.
        self.read_only_reason: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                    # WAL is a property of the file, kept across connections and restarts,
                    # so it is set once, with the schema, when the file is new.
                    db.execute("PRAGMA journal_mode = WAL")
                    db.executescript(_SCHEMA)
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except OSError as exc:
            raise StoreError(f"store {self.path}: {exc.strerror or exc}") from exc
        except StoreError as exc:
            if not self._can_read_as_is():
                raise
            self.read_only_reason = str(exc)
            log.info("%s; reading the content held as it is on disk", exc)

    @contextmanager
    def _connect(self, *, as_is: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection whose transaction commits on success and rolls back on error.

        ``as_is``: read the file as it lies on disk (``immutable``), for a full or read-only
        file system where SQLite cannot create the WAL index it needs for a normal read.
        """
        try:
            if as_is:
                uri = f"file:{quote(str(self.path.resolve()))}?mode=ro&immutable=1"
                db = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
            else:
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: cannot open: {_reason(exc)}") from exc
        try:
            # FULL: a committed feed survives a power cut, not only a crash. Swaps are rare,
            # so the extra fsync costs nothing that matters. Unlike the journal mode this
            # setting belongs to the connection, so every connection sets it.
            if not as_is:
                db.execute("PRAGMA synchronous = FULL")
            yield db
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"store {self.path}: {_reason(exc)}") from exc
        finally:
            db.close()

    def _can_read_as_is(self) -> bool:
        """Whether the main file alone holds the last committed state.

        SQLite checkpoints and removes the ``-wal`` file when the last connection closes,
        which every call here does; a ``-wal`` with frames left in it (a crash) may hold
        the newest commit, and reading around it could show a half-checkpointed file.
        """
        wal = self.path.with_name(self.path.name + "-wal")
        try:
            if (wal.exists() and wal.stat().st_size > 0) or not self.path.is_file():
                return False
            with self._connect(as_is=True) as db:
                return bool(db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION)
        except (OSError, StoreError):
            return False

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read; on a disk that has filled up or turned read-only, read as is.

        The normal way is tried every time, so the store is writable again as soon as the
        disk is (space freed, remounted read-write) without restarting the app.
        """
        try:
            with self._connect() as db:
                result = fn(db)
        except StoreError as exc:
            if not self._can_read_as_is():
                raise
            if self.read_only_reason is None:
                log.info("%s; reading the content held as it is on disk", exc)
            self.read_only_reason = str(exc)
            with self._connect(as_is=True) as db:
                return fn(db)
        self.read_only_reason = None
        return result

    def snapshot(self) -> Snapshot:
        def read(db: sqlite3.Connection) -> tuple[tuple | None, list[tuple]]:
            db.execute("BEGIN")
            try:
                state = db.execute("SELECT * FROM feed_state WHERE id = 1").fetchone()
                return state, db.execute("SELECT data_json FROM items ORDER BY rowid").fetchall()
            finally:
                db.execute("COMMIT")

        state_row, rows = self._read(read)
        if state_row is None:
            return Snapshot(meta=None, state=None)
        meta, state = _state_from_row(state_row)
        items = tuple(item_from_dict(json.loads(r[0])) for r in rows)
        return Snapshot(meta=meta, state=state, items=items)

    def feed_state(self) -> FeedState | None:
        row = self._read(lambda db: db.execute("SELECT * FROM feed_state WHERE id = 1").fetchone())
        return _state_from_row(row)[1] if row else None

    def replace_snapshot(
        self,
        meta: FeedMeta,
        items: Sequence[Item],
        *,
        body_sha256: str,
        feed_url: str,
        etag: str | None,
        last_modified: str | None,
        accepted_at: datetime,
        items_in_feed: int,
        items_withheld: int,
        dropped: Sequence[str],
    ) -> None:
        """Swap in a new feed atomically; refuse a sequence lower than the one held.

        The sequence is checked again inside the write transaction so that two syncs
        racing each other can never roll the store back.
        """
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT sequence FROM feed_state WHERE id = 1").fetchone()
                if row is not None and meta.sequence < row[0]:
                    raise FeedRejected(
                        f"feed sequence {meta.sequence} is lower than the {row[0]} already held"
                        " (replayed old feed)"
                    )
                db.execute("DELETE FROM items")
                db.executemany(
                    "INSERT INTO items (id, category, data_json) VALUES (?, ?, ?)",
                    (
                        (i.id, i.category, _encode(item_to_dict(i)))
                        for i in items
                    ),
                )
                db.execute(
                    "INSERT OR REPLACE INTO feed_state VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        meta.sequence,
                        meta.generated_at.isoformat(),
                        json.dumps(meta_to_dict(meta), ensure_ascii=False),
                        body_sha256,
                        feed_url,
                        etag,
                        last_modified,
                        accepted_at.isoformat(),
                        items_in_feed,
                        items_withheld,
                        json.dumps(list(dropped), ensure_ascii=False),
                    ),
                )
                db.execute("COMMIT")
            except BaseException:
                # SQLite has already rolled back by itself after some errors (a full disk):
                # a second ROLLBACK would fail and hide the real reason.
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def update_validators(self, etag: str | None, last_modified: str | None) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE feed_state SET etag = ?, last_modified = ? WHERE id = 1",
                (etag, last_modified),
            )

    def record_attempt(self, at: datetime, result: str, error: str | None = None) -> None:
        """Remember how the last sync went, for ``kiosk status`` and the offline badge."""
        ok = result != "failed"
        with self._connect() as db:
            db.execute(
                "INSERT INTO sync_status (id, consecutive_failures) VALUES (1, 0)"
                " ON CONFLICT(id) DO NOTHING"
            )
            db.execute(
                "UPDATE sync_status SET last_attempt_at = ?, last_result = ?, last_error = ?,"
                " last_success_at = CASE WHEN ? THEN ? ELSE last_success_at END,"
                " consecutive_failures = CASE WHEN ? THEN 0 ELSE consecutive_failures + 1 END"
                " WHERE id = 1",
                (at.isoformat(), result, error, ok, at.isoformat(), ok),
            )

    def sync_status(self) -> SyncStatus:
        row = self._read(
            lambda db: db.execute(
                "SELECT last_attempt_at, last_result, last_error, last_success_at,"
                " consecutive_failures FROM sync_status WHERE id = 1"
            ).fetchone()
        )
        if row is None:
            return SyncStatus()
        return SyncStatus(
            last_attempt_at=_dt(row[0]),
            last_result=row[1],
            last_error=row[2],
            last_success_at=_dt(row[3]),
            consecutive_failures=row[4],
        )

    def media_names(self) -> set[str]:
        """Local media files the held snapshot refers to (what media collection must keep).

        Read by SQLite's JSON functions straight from the stored rows: decoding all 10,000
        items into objects just to look at the few that carry an image cost about a third
        of a second after every cold sync. One statement, so one consistent read.
        """

        def read(db: sqlite3.Connection) -> list[tuple] | None:
            try:
                return db.execute(
                    "SELECT DISTINCT json_extract(m.value, '$.local_path')"
                    " FROM items, json_each(items.data_json, '$.media') AS m"
                    " WHERE json_extract(m.value, '$.local_path') IS NOT NULL"
                ).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such function" not in str(exc) and "no such table" not in str(exc):
                    raise
                return None  # an SQLite built without JSON functions (before 3.38)

        rows = self._read(read)
        if rows is None:
            items = self.snapshot().items
            return {m.local_path for item in items for m in item.media if m.local_path}
        return {r[0] for r in rows if r[0]}


def _reason(exc: sqlite3.Error) -> str:
    """SQLite's words, plus what they mean on a terminal when they are obscure."""
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return f"{text} (the SD card or data folder is read-only)"
    if "full" in text:
        return f"{text} (no space left for the data folder)"
    if "disk I/O error" in text or "unable to open" in text:
        return f"{text} (the data folder may be full or read-only)"
    return text


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _state_from_row(row: sqlite3.Row | tuple) -> tuple[FeedMeta, FeedState]:
    (_, sequence, generated_at, meta_json, body_sha, url, etag, last_mod, accepted,
     in_feed, withheld, dropped_json) = row  # fmt: skip
    state = FeedState(
        sequence=sequence,
        generated_at=datetime.fromisoformat(generated_at),
        body_sha256=body_sha,
        feed_url=url,
        etag=etag,
        last_modified=last_mod,
        accepted_at=datetime.fromisoformat(accepted),
        items_in_feed=in_feed,
        items_withheld=withheld,
        dropped=tuple(json.loads(dropped_json)),
    )
    return meta_from_dict(json.loads(meta_json)), state
