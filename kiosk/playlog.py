"""The play log: which item was on screen, when, and for how long (归档, 督查).

The county office must be able to prove that a disclosure was actually shown, for how
long, and that urgent notices interrupted the cycle. So every slide the rolling display
shows becomes one row in a SQLite file of its own, ``data_dir/playlog.sqlite3``, kept
apart from the feed store so that a busy log can never get in the way of a feed swap.

Durability is chosen for the write rate: one insert per slide, all day, on an SD card.
WAL with ``synchronous = NORMAL`` commits without an fsync; a power cut may lose the last
few rows, which is acceptable, but SQLite's WAL guarantees the file itself never
corrupts. The table is bounded: once it holds more than ``max_rows`` the oldest rows go
in one ``DELETE`` (checked every ``prune_every`` inserts and on open, so the cost of the
check is spread thin). Row ids come from ``AUTOINCREMENT`` and are never reused, which is
what lets the heartbeat acknowledge "everything up to id N" and lets a server deduplicate
on (terminal, log id, id): the random ``log_id`` made with the file tells a server (and
the heartbeat's own acknowledgement) that a replaced file starts its ids afresh.

Every call opens its own short-lived connection, so the UI thread (the one writer) and
the heartbeat or a ``kiosk report`` process (readers) never share one; one more
connection stays open, unused, so that closing those does not checkpoint every time.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync.errors import StoreError

log = logging.getLogger(__name__)

FILENAME = "playlog.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS plays (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL,
    category TEXT NOT NULL,
    started_at TEXT NOT NULL,
    duration_s REAL NOT NULL,
    mode TEXT NOT NULL,
    urgent_interrupt INTEGER NOT NULL,
    sequence INTEGER
);
CREATE INDEX IF NOT EXISTS plays_started_at ON plays (started_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def playlog_path(data_dir: Path) -> Path:
    """Where a terminal keeps its play log (until ``Config`` grows a property for it)."""
    return Path(data_dir) / FILENAME


def utc_text(when: datetime) -> str:
    """Fixed-width UTC ISO text, so that SQL string comparison orders like time does."""
    if when.tzinfo is None:
        raise ValueError(f"time {when!r} has no UTC offset")
    return when.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class PlayRow:
    id: int
    item_id: str
    category: str
    started_at: datetime
    duration_s: float
    mode: str
    urgent_interrupt: bool
    sequence: int | None

    def to_json(self) -> dict[str, Any]:
        """The form the heartbeat sends (keys are part of the county server's contract)."""
        return {
            "id": self.id,
            "item_id": self.item_id,
            "category": self.category,
            "started_at": self.started_at.isoformat(),
            "duration_s": round(self.duration_s, 3),
            "mode": self.mode,
            "urgent_interrupt": self.urgent_interrupt,
            "sequence": self.sequence,
        }


@dataclass(frozen=True)
class ItemPlaySummary:
    item_id: str
    category: str
    times_shown: int
    total_seconds: float
    first_shown: datetime
    last_shown: datetime


class PlayLog:
    def __init__(
        self,
        path: Path,
        *,
        max_rows: int = 500_000,
        prune_every: int | None = None,
        read_only: bool = False,
    ) -> None:
        """``read_only`` is for reports: nothing is created, pruned or recorded, so a
        reader that does not know the terminal's ``max_rows`` can never delete rows."""
        if max_rows < 1:
            raise ValueError("PlayLog max_rows must be at least 1")
        self.path = Path(path)
        self.max_rows = max_rows
        # Pruning keeps ``max_rows - prune_every`` rows, so the table stays within
        # ``max_rows`` until the next check however the inserts fall between checks.
        default_every = max(1, min(1000, max_rows // 10))
        self.prune_every = max(1, min(prune_every or default_every, max_rows))
        self._inserts = 0
        self._lock = threading.Lock()
        self.read_only = read_only
        if read_only:
            if not self.path.is_file():
                raise StoreError(f"play log {self.path}: no such file")
            with self._connect() as db:
                row = db.execute("SELECT value FROM meta WHERE key = 'log_id'").fetchone()
            self.log_id = row[0] if row else ""
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"play log {self.path}: {exc.strerror or exc}") from exc
        self._anchor: sqlite3.Connection | None = None
        with self._connect() as db:
            # WAL is a property of the file: set once here, not on every connection,
            # where the pragma costs milliseconds of locking for nothing.
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(_SCHEMA)
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('log_id', ?)",
                (uuid.uuid4().hex,),
            )
            row = db.execute("SELECT value FROM meta WHERE key = 'log_id'").fetchone()
            self.log_id: str = row[0]
            self._prune(db)
        try:
            # Held open, never queried: while one connection is open, closing the
            # per-call ones does not checkpoint the WAL and fsync (SQLite does that when
            # the last connection closes), so a record costs well under a millisecond.
            self._anchor = sqlite3.connect(self.path, check_same_thread=False)
            self._anchor.execute("SELECT COUNT(*) FROM meta").fetchall()  # joins the WAL
        except sqlite3.Error as exc:
            raise StoreError(f"play log {self.path}: cannot open: {exc}") from exc

    def close(self) -> None:
        """Release the file (the last close checkpoints the WAL into the database)."""
        if self._anchor is not None:
            self._anchor.close()
            self._anchor = None

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"play log {self.path}: cannot open: {exc}") from exc
        try:
            db.execute("PRAGMA synchronous = NORMAL")
            yield db
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"play log {self.path}: {exc}") from exc
        finally:
            db.close()

    def record(
        self,
        item_id: str,
        category: str,
        started_at: datetime,
        duration_s: float,
        mode: str,
        urgent: bool,
        sequence: int | None,
    ) -> int:
        """Append one showing and return its row id."""
        if self.read_only:
            raise StoreError(f"play log {self.path}: opened read-only")
        if not duration_s >= 0:  # also refuses NaN
            raise ValueError(f"duration {duration_s!r} must be a non-negative number")
        started = utc_text(started_at)
        with self._connect() as db:
            cur = db.execute(
                "INSERT INTO plays (item_id, category, started_at, duration_s, mode,"
                " urgent_interrupt, sequence) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (item_id, category, started, float(duration_s), mode, int(bool(urgent)), sequence),
            )
            row_id = int(cur.lastrowid or 0)
            with self._lock:
                self._inserts += 1
                due = self._inserts % self.prune_every == 0
            if due:
                self._prune(db)
        return row_id

    def _prune(self, db: sqlite3.Connection) -> None:
        """Drop the oldest rows in one statement, down to ``max_rows - prune_every``.

        Pruning as soon as the table passes that mark, not ``max_rows`` itself, is what
        keeps it within ``max_rows`` during the inserts until the next check.

        Ids only grow, so ``MAX(id) - MIN(id) + 1`` bounds the row count from above using
        the primary key alone, instead of a full ``COUNT(*)`` scan.
        """
        keep = self.max_rows - self.prune_every if self.max_rows > self.prune_every else 1
        low, high = db.execute("SELECT MIN(id), MAX(id) FROM plays").fetchone()
        if high is None or high - low + 1 <= keep:
            return
        cur = db.execute("DELETE FROM plays WHERE id <= ?", (high - keep,))
        log.info("play log: dropped %d oldest rows (bound %d)", cur.rowcount, self.max_rows)

    def since(self, row_id: int, limit: int | None = None) -> list[PlayRow]:
        """Rows with an id above ``row_id``, oldest first (what the heartbeat has not sent)."""
        sql = "SELECT * FROM plays WHERE id > ? ORDER BY id"
        params: tuple[int, ...] = (row_id,)
        if limit is not None:
            sql += " LIMIT ?"
            params = (row_id, max(0, limit))
        with self._connect() as db:
            rows = db.execute(sql, params).fetchall()
        return [_row(r) for r in rows]

    def id_range(self) -> tuple[int, int]:
        """``(oldest id held, newest id ever written)``; ``(0, 0)`` for a new log.

        The newest id keeps counting after rows are pruned, so it also serves as a
        lifetime "slides shown" counter.
        """
        with self._connect() as db:
            low = db.execute("SELECT MIN(id) FROM plays").fetchone()[0]
            seq = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'plays'").fetchone()
        return int(low or 0), int(seq[0]) if seq else 0

    def count(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM plays").fetchone()[0])

    def summary(self, since: datetime, until: datetime) -> list[ItemPlaySummary]:
        """Per item: showings that started in ``[since, until)``, by category then item."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT item_id, category, COUNT(*), SUM(duration_s), MIN(started_at),"
                " MAX(started_at) FROM plays WHERE started_at >= ? AND started_at < ?"
                " GROUP BY item_id, category ORDER BY category, item_id",
                (utc_text(since), utc_text(until)),
            ).fetchall()
        return [
            ItemPlaySummary(
                item_id=r[0],
                category=r[1],
                times_shown=int(r[2]),
                total_seconds=float(r[3] or 0.0),
                first_shown=datetime.fromisoformat(r[4]),
                last_shown=datetime.fromisoformat(r[5]),
            )
            for r in rows
        ]


def _row(r: tuple[Any, ...]) -> PlayRow:
    return PlayRow(
        id=int(r[0]),
        item_id=r[1],
        category=r[2],
        started_at=datetime.fromisoformat(r[3]),
        duration_s=float(r[4]),
        mode=r[5],
        urgent_interrupt=bool(r[6]),
        sequence=r[7],
    )


class PlayRecorder:
    """Turns "this slide is now on screen" events into rows with the real time on screen.

    The App knows when a slide starts, but how long it stays is only known when the next
    one replaces it, the screen blanks, or a resident touches the screen. So the App calls
    :meth:`shown` at each slide and :meth:`stop` when the rolling display stops, and the
    row is written for the slide that just ended. Further pages of the same item extend
    its showing instead of counting as new ones. A failing disk is logged, never raised:
    the display must go on.
    """

    def __init__(
        self,
        playlog: PlayLog,
        mode: str,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_recorded: Callable[[int], None] | None = None,
    ) -> None:
        self.playlog = playlog
        self.mode = mode
        self._monotonic = monotonic
        self._now = now
        self._on_recorded = on_recorded
        self._open: tuple[str, str, datetime, float, bool, int | None] | None = None

    def shown(
        self,
        item_id: str,
        category: str,
        *,
        page: int = 0,
        urgent: bool = False,
        sequence: int | None = None,
    ) -> None:
        if page > 0 and self._open is not None and self._open[0] == item_id:
            return  # the next page of the item already on screen
        self.stop()
        self._open = (item_id, category, self._now(), self._monotonic(), urgent, sequence)

    def stop(self) -> None:
        """Close the showing in progress, if any, and write its row."""
        if self._open is None:
            return
        item_id, category, started_at, t0, urgent, sequence = self._open
        self._open = None
        duration = max(0.0, self._monotonic() - t0)
        try:
            row_id = self.playlog.record(
                item_id, category, started_at, duration, self.mode, urgent, sequence
            )
        except (StoreError, ValueError) as exc:
            log.warning("play log: cannot record %s: %s", item_id, exc)
            return
        if self._on_recorded is not None:
            self._on_recorded(row_id)
