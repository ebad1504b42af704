"""The play log on real SQLite files: bounds, windows, readers beside a writer, crashes."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from kiosk.playlog import PlayLog, PlayRecorder
from sync.errors import StoreError

T0 = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)


def test_bounded_size_keeps_the_newest(tmp_path: Path) -> None:
    log = PlayLog(tmp_path / "playlog.sqlite3", max_rows=1000)
    ids = [
        log.record(f"it-{n}", "cunwu", T0 + timedelta(seconds=n), 8.0, "signage", False, 7)
        for n in range(1200)
    ]
    assert ids == list(range(1, 1201))  # ids are handed out in order, never reused
    kept = log.since(0)
    assert 0 < len(kept) <= 1000
    assert kept[-1].id == 1200 and kept[-1].item_id == "it-1199"
    assert [r.id for r in kept] == list(range(1200 - len(kept) + 1, 1201))  # a newest suffix
    low, high = log.id_range()
    assert (low, high) == (kept[0].id, 1200)

    # The bound holds across restarts too: every open checks it.
    for _ in range(5):
        reopened = PlayLog(tmp_path / "playlog.sqlite3", max_rows=1000)
        for _ in range(60):
            reopened.record("again", "cunwu", T0, 1.0, "signage", False, None)
        assert reopened.count() <= 1000
    assert PlayLog(tmp_path / "playlog.sqlite3", max_rows=1000).id_range()[1] == 1500


def test_summary_counts_and_durations_over_a_window(tmp_path: Path) -> None:
    log = PlayLog(tmp_path / "p.sqlite3")
    rng = random.Random(4)
    since, until = T0 + timedelta(hours=1), T0 + timedelta(hours=5)
    expected: dict[tuple[str, str], list[tuple[datetime, float]]] = defaultdict(list)
    plays = []
    for _ in range(400):
        item = rng.choice(["dw-1", "dw-2", "cw-9", "cz-3"])
        category = {"dw": "dangwu", "cw": "cunwu", "cz": "caiwu"}[item[:2]]
        started = T0 + timedelta(seconds=rng.randrange(0, 6 * 3600))
        duration = round(rng.uniform(5, 45), 3)
        plays.append((item, category, started, duration))
    # Edges: exactly at ``since`` counts, exactly at ``until`` does not.
    plays.append(("dw-1", "dangwu", since, 10.0))
    plays.append(("dw-1", "dangwu", until, 10.0))
    for item, category, started, duration in plays:
        log.record(item, category, started, duration, "touch", False, 3)
        if since <= started < until:
            expected[(item, category)].append((started, duration))

    summary = log.summary(since, until)
    assert [(s.category, s.item_id) for s in summary] == sorted((c, i) for i, c in expected)
    for s in summary:
        shown = expected[(s.item_id, s.category)]
        assert s.times_shown == len(shown)
        assert s.total_seconds == pytest.approx(sum(d for _, d in shown))
        assert s.first_shown == min(t for t, _ in shown)
        assert s.last_shown == max(t for t, _ in shown)
    # A time in another zone means the same instant.
    china = timezone(timedelta(hours=8))
    assert log.summary(since.astimezone(china), until.astimezone(china)) == summary
    assert log.summary(until, until + timedelta(days=30))[0].times_shown >= 1
    assert log.summary(T0 - timedelta(days=2), T0 - timedelta(days=1)) == []


def test_since_returns_unsent_rows_in_order_with_a_limit(tmp_path: Path) -> None:
    log = PlayLog(tmp_path / "p.sqlite3")
    for n in range(30):
        log.record(f"i{n}", "dangwu", T0 + timedelta(minutes=n), 12.5, "led", n % 7 == 0, n)
    rows = log.since(10, limit=5)
    assert [r.id for r in rows] == [11, 12, 13, 14, 15]
    assert rows[0].item_id == "i10" and rows[0].sequence == 10 and rows[0].mode == "led"
    assert [r.urgent_interrupt for r in log.since(0)] == [n % 7 == 0 for n in range(30)]
    assert rows[0].to_json()["started_at"] == (T0 + timedelta(minutes=10)).isoformat()
    assert log.since(30) == []


def test_bad_input_is_refused_and_loses_nothing(tmp_path: Path) -> None:
    log = PlayLog(tmp_path / "p.sqlite3")
    log.record("ok", "cunwu", T0, 3.0, "touch", False, None)
    with pytest.raises(ValueError, match="UTC offset"):
        log.record("x", "cunwu", datetime(2026, 1, 1), 3.0, "touch", False, None)
    with pytest.raises(ValueError, match="non-negative"):
        log.record("x", "cunwu", T0, -1.0, "touch", False, None)
    with pytest.raises(ValueError, match="non-negative"):
        log.record("x", "cunwu", T0, float("nan"), "touch", False, None)
    assert [r.item_id for r in log.since(0)] == ["ok"]


def test_a_damaged_file_is_one_line_store_error(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError) as caught:
        PlayLog(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_log_id_is_stable_per_file(tmp_path: Path) -> None:
    first = PlayLog(tmp_path / "a.sqlite3")
    assert PlayLog(tmp_path / "a.sqlite3").log_id == first.log_id
    assert PlayLog(tmp_path / "b.sqlite3").log_id != first.log_id
    assert len(first.log_id) == 32


def test_one_writer_and_readers_on_other_threads(tmp_path: Path) -> None:
    log = PlayLog(tmp_path / "p.sqlite3", max_rows=300)
    errors: list[BaseException] = []
    done = threading.Event()

    def write() -> None:
        try:
            for n in range(600):
                log.record(f"i{n}", "zhengwu", T0 + timedelta(seconds=n), 1.0, "touch", False, 1)
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    def read() -> None:
        try:
            last = 0
            while not done.is_set():
                rows = PlayLog(tmp_path / "p.sqlite3", max_rows=300).since(0)
                ids = [r.id for r in rows]
                assert ids == sorted(ids) and len(ids) <= 300
                if ids:
                    assert ids[-1] >= last
                    last = ids[-1]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert log.id_range()[1] == 600


def test_killed_writer_leaves_a_sound_database(tmp_path: Path) -> None:
    """SIGKILL mid-stream (what a crash looks like to SQLite): the file opens and checks ok."""
    path = tmp_path / "p.sqlite3"
    code = (
        "import sys; from datetime import datetime, UTC; from kiosk.playlog import PlayLog\n"
        f"log = PlayLog({str(path)!r}, max_rows=2000)\n"
        "n = 0\n"
        "while True:\n"
        "    log.record(f'i{n}', 'cunwu', datetime.now(UTC), 1.0, 'signage', False, n)\n"
        "    n += 1\n"
        "    if n == 50: print('go', flush=True)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, cwd=Path(__file__).parents[2]
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"go"
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    log = PlayLog(path, max_rows=2000)
    rows = log.since(0)
    assert len(rows) >= 50 and [r.id for r in rows] == sorted(r.id for r in rows)
    assert log.record("after", "cunwu", T0, 1.0, "signage", False, None) > rows[-1].id


def test_recorder_writes_real_time_on_screen_and_merges_pages(tmp_path: Path) -> None:
    log = PlayLog(tmp_path / "p.sqlite3")
    # Each change of slide reads the clock twice: the end of one, the start of the next.
    ticks = iter([0.0, 12.0, 12.0, 30.0, 30.0, 35.5, 40.0, 40.0])
    wall = iter(T0 + timedelta(seconds=s) for s in (0, 12, 30, 40))
    recorded: list[int] = []
    rec = PlayRecorder(
        log,
        "signage",
        monotonic=lambda: next(ticks),
        now=lambda: next(wall),
        on_recorded=recorded.append,
    )
    rec.shown("dw-1", "dangwu", page=0, sequence=9)  # t=0
    rec.shown("dw-1", "dangwu", page=1, sequence=9)  # next page: same showing
    rec.shown("tz-5", "tongzhi", urgent=True, sequence=9)  # t=12: ends dw-1 after 12 s
    rec.shown("dw-1", "dangwu", page=0, sequence=9)  # t=30: a new showing of dw-1
    rec.stop()  # t=35.5
    rec.stop()  # nothing open: nothing written
    rec.shown("cw-2", "cunwu", page=1)  # page>0 of another item still opens a showing
    rec.stop()
    rows = log.since(0)
    assert [(r.item_id, r.duration_s, r.urgent_interrupt) for r in rows] == [
        ("dw-1", 12.0, False),
        ("tz-5", 18.0, True),
        ("dw-1", 5.5, False),
        ("cw-2", 0.0, False),
    ]
    assert [r.started_at for r in rows] == [T0 + timedelta(seconds=s) for s in (0, 12, 30, 40)]
    assert all(r.mode == "signage" for r in rows) and recorded == [r.id for r in rows]


def test_recorder_survives_a_broken_disk(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    log = PlayLog(path)
    rec = PlayRecorder(log, "touch")
    rec.shown("a", "cunwu")
    path.unlink()
    (tmp_path / "p.sqlite3-wal").unlink(missing_ok=True)
    path.mkdir()  # the file is now a directory: every write fails
    rec.stop()  # logged, not raised: the display goes on
    rec.shown("b", "cunwu")


def test_read_only_never_writes_or_prunes(tmp_path: Path) -> None:
    """A report does not know the terminal's bound, so it must not apply one."""
    path = tmp_path / "p.sqlite3"
    log = PlayLog(path, max_rows=100_000)
    for n in range(50):
        log.record(f"i{n}", "cunwu", T0 + timedelta(seconds=n), 2.0, "touch", False, 1)
    ro = PlayLog(path, max_rows=10, read_only=True)
    assert ro.count() == 50 and ro.log_id == log.log_id
    assert sum(s.times_shown for s in ro.summary(T0, T0 + timedelta(days=1))) == 50
    with pytest.raises(StoreError, match="read-only"):
        ro.record("x", "cunwu", T0, 1.0, "touch", False, None)
    assert log.count() == 50
    with pytest.raises(StoreError, match="no such file"):
        PlayLog(tmp_path / "missing.sqlite3", read_only=True)
    assert not (tmp_path / "missing.sqlite3").exists()
