"""Heartbeat: tell the county office this screen is alive, and what it showed.

Every ``every_seconds`` the terminal takes a status snapshot (what ``kiosk status``
reports) and POSTs it as JSON to the county's URL, together with the play-log rows the
server has not yet acknowledged::

    {"terminal_id": "LT-01", "sent_at": "…", "taken_at": "…", "status": {…},
     "play_log_id": "9f…", "plays": [{"id": 41, "item_id": …}, …], "last_play_id": 57,
     "plays_dropped": 0, "queued": 0, "repeat": false}

A 2xx answer acknowledges the plays: ``{"ack": N}`` means "I have stored every play up to
id N" (a plain 2xx means "all of them, up to ``last_play_id``"). The acknowledged id is
kept in ``queue_dir/ack.json``; an ``ack`` above what was sent is clamped to it, one below
makes the terminal send again from there.

Delivery is at least once, never exactly once: a power cut between the server's answer
and the write of ``ack.json``, or a lost response, sends the same plays again. The server
must therefore deduplicate on ``(terminal_id, play_log_id, id)``; ``play_log_id`` changes
when the play log file is replaced and its ids start again from 1.

Villages go offline for days. Each snapshot is first written to ``queue_dir`` as a file
(bounded to ``max_queue_files``, oldest dropped) and the queue is sent oldest first once
the server answers, so the office sees the outage as it happened. Plays are not copied
into the queue: they stay in the play log and go with whichever request comes next, at
most ``max_plays`` per request to bound memory and request size; when the queue is empty
but plays remain, further requests repeat the newest status with ``"repeat": true``.
``plays_dropped`` counts plays the bounded play log discarded before they could be sent.

Failures back off exponentially (with jitter, so a county's terminals do not return in
step after an outage) while snapshots keep being queued on schedule. Everything runs on
the heartbeat's own thread; the UI thread at most calls :meth:`Heartbeat.nudge`, which
never blocks.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from kiosk.playlog import PlayLog
from sync.errors import SyncError
from sync.fetch import redact_url

log = logging.getLogger(__name__)

ACK_FILE = "ack.json"
_QUEUE_NAME = re.compile(r"^beat-(\d{12})\.json$")
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "disclosure-kiosk/0.1"


@dataclass(frozen=True)
class HeartbeatState:
    """For the technician screen and metrics: how the heartbeat is doing."""

    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    acked_play_id: int
    queued: int


class _SendFailed(Exception):
    pass


class Heartbeat:
    def __init__(
        self,
        url: str,
        terminal_id: str,
        queue_dir: Path,
        *,
        playlog: PlayLog | None = None,
        status: Callable[[], Mapping[str, Any]] = dict,
        session: requests.Session | None = None,
        every_seconds: float = 300.0,
        first_delay_seconds: float | None = None,
        max_queue_files: int = 2000,
        max_plays: int = 5000,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        backoff_base: float = 30.0,
        backoff_max: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        token: str = "",
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"heartbeat url {redact_url(url)} must be an https:// or http:// URL")
        if every_seconds <= 0 or max_queue_files < 1 or max_plays < 1:
            raise ValueError("heartbeat every_seconds, max_queue_files, max_plays must be > 0")
        self.url = url
        self.token = token
        self.terminal_id = terminal_id
        self.queue_dir = Path(queue_dir)
        self.playlog = playlog
        self.status = status
        self.session = session if session is not None else requests.Session()
        self.every_seconds = every_seconds
        self.max_queue_files = max_queue_files
        self.max_plays = max_plays
        self.timeouts = (connect_timeout, read_timeout)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._clock = clock
        self._now = now
        self._rng = rng or random.Random()
        self.queue_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.queue_dir.glob(".*.tmp"):  # left by a crash mid-write
            stale.unlink(missing_ok=True)
        self._seq = max((n for n, _ in self._queue()), default=0)
        self._latest: dict[str, Any] | None = None
        self.failures = 0
        self.last_success_at: datetime | None = None
        self.last_error: str | None = None
        first = first_delay_seconds
        if first is None:  # spread a county's terminals that booted together
            first = self._rng.uniform(0, min(self.every_seconds, 60.0))
        self._next_snapshot = self._clock() + first
        self._next_send = self._next_snapshot
        self._nudged = threading.Event()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ thread

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="kiosk-heartbeat", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to finish; a request in flight ends within its timeouts."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def nudge(self) -> None:
        """Snapshot and send soon (after a sync, say); never blocks the caller."""
        self._nudged.set()
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                delay = self.step()
            except Exception:  # a bug here must not end the heartbeat for good
                log.exception("heartbeat: unexpected error")
                delay = self.every_seconds
            self._wake.wait(delay)
            self._wake.clear()

    def step(self) -> float:
        """Do what is due now; return the seconds until something is due again."""
        now = self._clock()
        nudged = self._nudged.is_set()
        self._nudged.clear()
        if nudged or now >= self._next_snapshot:
            self.take_snapshot()
            self._next_snapshot = now + self.every_seconds * self._rng.uniform(0.9, 1.1)
        if nudged or now >= self._next_send:
            if self.drain():
                self._next_send = self._next_snapshot
            else:
                self._next_send = self._clock() + self.backoff(self.failures)
        return max(0.0, min(self._next_snapshot, self._next_send) - self._clock())

    def backoff(self, failures: int) -> float:
        """Exponential with equal jitter: half the ceiling fixed, half random."""
        ceiling = min(self.backoff_max, self.backoff_base * 2.0 ** min(max(failures, 1) - 1, 30))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def state(self) -> HeartbeatState:
        return HeartbeatState(
            last_success_at=self.last_success_at,
            last_error=self.last_error,
            consecutive_failures=self.failures,
            acked_play_id=self._load_ack(),
            queued=len(self._queue()),
        )

    # ------------------------------------------------------------------- queue

    def _queue(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.queue_dir.iterdir():
            m = _QUEUE_NAME.match(path.name)
            if m:
                found.append((int(m.group(1)), path))
        return sorted(found)

    def take_snapshot(self) -> Path | None:
        """Queue the status as it is now (the queue is the send order); None if the disk
        refused, in which case whatever is already queued is still sent."""
        try:
            status = dict(self.status())
        except Exception as exc:  # the status source failing is itself worth reporting
            log.warning("heartbeat: status unavailable: %s", exc)
            status = {"error": " ".join(str(exc).split())[:300] or type(exc).__name__}
        self._seq += 1
        path = self.queue_dir / f"beat-{self._seq:012d}.json"
        beat = {"taken_at": self._now().isoformat(), "status": status}
        try:
            _atomic_write(path, json.dumps(beat, ensure_ascii=False, default=str).encode())
        except OSError as exc:
            log.warning("heartbeat: cannot queue a snapshot in %s: %s", self.queue_dir, exc)
            return None
        queue = self._queue()
        for _, old in queue[: max(0, len(queue) - self.max_queue_files)]:
            old.unlink(missing_ok=True)
            log.info("heartbeat: queue full, dropped %s", old.name)
        return path

    # -------------------------------------------------------------------- ack

    def _ack_path(self) -> Path:
        return self.queue_dir / ACK_FILE

    def _load_ack(self) -> int:
        """The acknowledged play id for the current play log (0 if none, unreadable, or
        if it belongs to a play log file that has since been replaced)."""
        try:
            data = json.loads(self._ack_path().read_text(encoding="utf-8"))
        except FileNotFoundError:
            return 0
        except (OSError, ValueError) as exc:
            log.warning("heartbeat: %s unreadable (%s); plays will be sent again", ACK_FILE, exc)
            return 0
        if not isinstance(data, dict):
            return 0
        if self.playlog is not None and data.get("play_log_id") != self.playlog.log_id:
            return 0
        value = data.get("last_play_id")
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    def _save_ack(self, play_id: int) -> None:
        data = {
            "play_log_id": self.playlog.log_id if self.playlog else None,
            "last_play_id": play_id,
            "updated_at": self._now().isoformat(),
        }
        _atomic_write(self._ack_path(), json.dumps(data).encode())

    # ------------------------------------------------------------------- send

    def drain(self) -> bool:
        """Send the queue oldest first, then any plays left; True when nothing is left."""
        continuing = False
        while True:
            queue = self._queue()
            path: Path | None = None
            if queue:
                path = queue[0][1]
                try:
                    beat = json.loads(path.read_text(encoding="utf-8"))
                    if not isinstance(beat, dict):
                        raise ValueError("not a JSON object")
                except (OSError, ValueError) as exc:
                    log.warning("heartbeat: dropping unreadable %s: %s", path.name, exc)
                    path.unlink(missing_ok=True)
                    continue
            elif continuing and self._latest is not None:
                beat = self._latest
            else:
                return True
            old_ack = self._load_ack()
            try:
                plays, sent_last, dropped = self._plays_after(old_ack)
                ack = self._post(beat, plays, sent_last, dropped, len(queue), path is None)
            except _SendFailed as exc:
                self.failures += 1
                self.last_error = str(exc)
                log.warning("heartbeat: %s (failure %d)", exc, self.failures)
                return False
            self.failures = 0
            self.last_error = None
            self.last_success_at = self._now()
            if path is not None:
                path.unlink(missing_ok=True)
                self._latest = beat
            new_ack = old_ack if ack is None else min(ack, sent_last)
            if new_ack != old_ack:
                try:
                    self._save_ack(new_ack)
                except OSError as exc:  # the plays will simply be sent again
                    log.warning("heartbeat: cannot write %s: %s", ACK_FILE, exc)
            # Keep going while whole chunks of plays come back acknowledged; a server
            # that acknowledges nothing new ends the round instead of looping on it.
            continuing = len(plays) == self.max_plays and new_ack > old_ack

    def _plays_after(self, acked: int) -> tuple[list[dict[str, Any]], int, int]:
        if self.playlog is None:
            return [], acked, 0
        try:
            rows = self.playlog.since(acked, limit=self.max_plays)
            oldest = rows[0].id if rows else self.playlog.id_range()[0]
        except SyncError as exc:
            raise _SendFailed(f"cannot read the play log: {exc}") from None
        dropped = max(0, oldest - acked - 1) if oldest else 0
        last = rows[-1].id if rows else acked
        return [r.to_json() for r in rows], last, dropped

    def _post(
        self,
        beat: Mapping[str, Any],
        plays: list[dict[str, Any]],
        last_play_id: int,
        dropped: int,
        queued: int,
        repeat: bool,
    ) -> int | None:
        """POST one request; the acknowledged play id, or None for an unusable ``ack``."""
        payload = {
            "terminal_id": self.terminal_id,
            "sent_at": self._now().isoformat(),
            "taken_at": beat.get("taken_at"),
            "status": beat.get("status", {}),
            "play_log_id": self.playlog.log_id if self.playlog else None,
            "plays": plays,
            "last_play_id": last_play_id,
            "plays_dropped": dropped,
            "queued": queued,
            "repeat": repeat,
        }
        body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
        where = redact_url(self.url)
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            resp = self.session.post(
                self.url,
                data=body,
                headers=headers,
                timeout=self.timeouts,
                allow_redirects=False,
                stream=True,
            )
        except requests.exceptions.Timeout:
            raise _SendFailed(f"heartbeat {where}: timed out") from None
        except requests.exceptions.RequestException as exc:
            reason = " ".join(str(exc).split())[:200]
            raise _SendFailed(f"heartbeat {where}: {type(exc).__name__}: {reason}") from None
        with resp:
            if resp.status_code in (401, 403):
                raise _SendFailed(
                    f"heartbeat {where}: HTTP {resp.status_code}, the county refused this"
                    " terminal: check [heartbeat] token"
                )
            if not 200 <= resp.status_code < 300:
                raise _SendFailed(f"heartbeat {where}: HTTP {resp.status_code}")
            try:
                answer = _read_capped(resp)
            except requests.exceptions.RequestException as exc:
                raise _SendFailed(f"heartbeat {where}: reading the answer failed: {exc}") from None
        return _ack_from(answer, last_play_id)


def _read_capped(resp: requests.Response) -> bytes:
    data = bytearray()
    for chunk in resp.iter_content(8192):
        data += chunk
        if len(data) > MAX_RESPONSE_BYTES:
            break  # an ack is a few bytes; whatever this is, it is not one
    return bytes(data[: MAX_RESPONSE_BYTES + 1])


def _ack_from(answer: bytes, sent_last: int) -> int | None:
    """``{"ack": N}`` → N; an empty or non-JSON body, or JSON without ``ack`` → everything
    sent; an ``ack`` that is not a non-negative integer → None (nothing acknowledged)."""
    try:
        data = json.loads(answer) if answer.strip() else None
    except ValueError:
        return sent_last
    if not isinstance(data, dict) or "ack" not in data:
        return sent_last
    ack = data["ack"]
    if isinstance(ack, bool) or not isinstance(ack, int) or ack < 0:
        log.warning("heartbeat: server sent an unusable ack %r; plays will be sent again", ack)
        return None
    return ack


def _atomic_write(path: Path, data: bytes) -> None:
    """Temp file, fsync, rename: after a power cut the old or the new file, never half."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
