"""Terminal health as a Prometheus node_exporter textfile (``*.prom``).

Counties that already run Prometheus scrape node_exporter on each terminal; its textfile
collector reads every ``*.prom`` file in one directory at each scrape. So the kiosk only
writes a file, atomically: a temporary name that does not end in ``.prom`` in the same
directory, then ``rename`` over the old file, so a scrape sees the whole old file or the
whole new one and never half of either. No fsync: the file is rewritten every minute, and
after a power cut the next write replaces whatever survived.

Every sample carries ``terminal="<id>"`` so that a county's dashboards can join across
hundreds of terminals without relying on scrape-target names. A value of ``None`` (say,
"never synced") leaves the sample out rather than inventing a zero.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sync.errors import SyncError

if TYPE_CHECKING:
    from kiosk.config import Config
    from kiosk.playlog import PlayLog
    from sync.store import Store

log = logging.getLogger(__name__)

PREFIX = "kiosk_"
Value = float | int | bool | None


@dataclass(frozen=True)
class MetricSpec:
    kind: str  # "gauge" or "counter"
    help: str


METRICS: dict[str, MetricSpec] = {
    "up": MetricSpec("gauge", "1 while the kiosk process is running and writing this file."),
    "uptime_seconds": MetricSpec("gauge", "Seconds since the kiosk process started."),
    "last_sync_success_timestamp_seconds": MetricSpec(
        "gauge", "Unix time of the last sync that left the store current."
    ),
    "last_sync_attempt_timestamp_seconds": MetricSpec(
        "gauge", "Unix time of the last sync attempt, successful or not."
    ),
    "sync_consecutive_failures": MetricSpec(
        "gauge", "Sync attempts that failed in a row (0 after a success)."
    ),
    "sync_errors_total": MetricSpec(
        "counter", "Sync attempts that failed since the kiosk process started."
    ),
    "feed_sequence": MetricSpec("gauge", "Sequence number of the feed held in the store."),
    "items_stored": MetricSpec("gauge", "Public, approved items held in the store."),
    "items_admitted": MetricSpec("gauge", "Items the display rule admits now (on screen)."),
    "slides_shown_total": MetricSpec("counter", "Slides shown, as counted by the play log."),
    "disk_free_bytes": MetricSpec("gauge", "Free bytes on the file system of the data dir."),
    "store_ok": MetricSpec("gauge", "1 when the offline store could be read, else 0."),
}


def escape_label(value: str) -> str:
    """Label value escaping of the text exposition format: backslash, quote, newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float | int | bool) -> str:
    if isinstance(value, bool | int):
        return str(int(value))
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def render(values: Mapping[str, Value], *, terminal_id: str) -> str:
    """The exposition text: HELP and TYPE for each metric, then its one sample."""
    unknown = sorted(set(values) - set(METRICS))
    if unknown:
        raise ValueError(f"unknown metric {unknown[0]!r} (add it to METRICS with its HELP)")
    label = f'{{terminal="{escape_label(terminal_id)}"}}'
    lines: list[str] = []
    for name, spec in METRICS.items():
        value = values.get(name)
        if value is None:
            continue
        full = PREFIX + name
        lines.append(f"# HELP {full} {_escape_help(spec.help)}")
        lines.append(f"# TYPE {full} {spec.kind}")
        lines.append(f"{full}{label} {format_value(value)}")
    return "\n".join(lines) + "\n"


def write_textfile(path: Path, values: Mapping[str, Value], *, terminal_id: str) -> None:
    """Replace ``path`` atomically with the rendered metrics (readable by node_exporter)."""
    path = Path(path)
    text = render(values, terminal_id=terminal_id)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; node_exporter runs as another user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Counters:
    """Process-lifetime counters, bumped from any thread (sync results, the UI)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, int] = {}

    def inc(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._values[name] = self._values.get(name, 0) + by

    def get(self, name: str) -> int:
        with self._lock:
            return self._values.get(name, 0)


def collect(
    config: Config,
    store: Store,
    playlog: PlayLog | None,
    started_at: datetime,
    counters: Counters,
    *,
    now: datetime | None = None,
) -> dict[str, Value]:
    """Gather the values from the store, the play log and the disk.

    Reads the whole snapshot (to apply the display rule), so call it off the UI thread.
    A store that cannot be read gives ``store_ok 0`` and leaves its samples out.
    """
    from kiosk.terminal import current_view

    now = now or datetime.now(UTC)
    values: dict[str, Value] = {
        "up": 1,
        "uptime_seconds": max(0.0, (now - started_at).total_seconds()),
        "sync_errors_total": counters.get("sync_errors"),
        "slides_shown_total": counters.get("slides_shown"),
        "store_ok": 1,
    }
    try:
        status = store.sync_status()
        view = current_view(config, store, now)
    except SyncError as exc:
        log.warning("metrics: cannot read the store: %s", exc)
        values["store_ok"] = 0
    else:
        state = view.snapshot.state
        values.update(
            last_sync_success_timestamp_seconds=_ts(status.last_success_at),
            last_sync_attempt_timestamp_seconds=_ts(status.last_attempt_at),
            sync_consecutive_failures=status.consecutive_failures,
            feed_sequence=state.sequence if state else None,
            items_stored=len(view.snapshot.items),
            items_admitted=len(view.items),
        )
    if playlog is not None:
        try:
            values["slides_shown_total"] = playlog.id_range()[1]
        except SyncError as exc:
            log.warning("metrics: cannot read the play log: %s", exc)
    try:
        values["disk_free_bytes"] = shutil.disk_usage(config.data_dir).free
    except OSError as exc:
        log.warning("metrics: cannot stat %s: %s", config.data_dir, exc)
    return values


def _ts(when: datetime | None) -> float | None:
    return when.timestamp() if when else None


class MetricsWriter:
    """Rewrites the textfile every ``every_seconds`` on its own thread.

    ``gather`` (usually a closure over :func:`collect`) reads SQLite, so it runs here and
    never on the UI thread; :meth:`nudge` asks for a write now, e.g. after a sync.
    """

    def __init__(
        self,
        path: Path,
        terminal_id: str,
        gather: Callable[[], Mapping[str, Value]],
        *,
        every_seconds: float = 60.0,
    ) -> None:
        if every_seconds <= 0:
            raise ValueError("every_seconds must be positive")
        self.path = Path(path)
        self.terminal_id = terminal_id
        self.gather = gather
        self.every_seconds = every_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def write_once(self) -> bool:
        try:
            write_textfile(self.path, self.gather(), terminal_id=self.terminal_id)
        except (OSError, SyncError, ValueError) as exc:
            log.warning("metrics: cannot write %s: %s", self.path, exc)
            return False
        return True

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kiosk-metrics", daemon=True)
            self._thread.start()

    def nudge(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and leave ``kiosk_up 0`` behind, so a clean stop shows at once.

        A crash leaves the last file as it was; alert on node_exporter's
        ``node_textfile_mtime_seconds`` growing old to catch that case too.
        """
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        try:
            write_textfile(self.path, {"up": 0}, terminal_id=self.terminal_id)
        except OSError as exc:
            log.warning("metrics: cannot write %s: %s", self.path, exc)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.write_once()
            self._wake.wait(self.every_seconds)
            self._wake.clear()
