"""The node_exporter textfile: valid exposition format, atomic replacement, real values."""

from __future__ import annotations

import os
import re
import shutil
import stat
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.config import ASSETS, Config, load
from kiosk.metrics import METRICS, Counters, MetricsWriter, collect, render, write_textfile
from kiosk.playlog import PlayLog
from kiosk.rules import admitted
from kiosk.terminal import make_coordinator, open_store
from tests.conftest import write_config

# The text exposition format, written out from its specification (not from our code).
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_VALUE = r'"((?:[^"\\\n]|\\["\\n])*)"'
VALUE = r"(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]Inf)"
SAMPLE = re.compile(rf"^({NAME})\{{terminal={LABEL_VALUE}\}} ({VALUE})$")
HELP = re.compile(rf"^# HELP ({NAME}) (.*)$")
TYPE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")


def unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value)


def parse(text: str) -> dict[str, tuple[str, float, str]]:
    """``{name: (terminal label, value, type)}``, asserting every line is well formed."""
    assert text.endswith("\n")
    types: dict[str, str] = {}
    helped: set[str] = set()
    samples: dict[str, tuple[str, float, str]] = {}
    for line in text.splitlines():
        if m := HELP.match(line):
            helped.add(m.group(1))
        elif m := TYPE.match(line):
            assert m.group(1) not in types, f"second TYPE for {m.group(1)}"
            types[m.group(1)] = m.group(2)
        else:
            m = SAMPLE.match(line)
            assert m, f"not a valid sample line: {line!r}"
            name = m.group(1)
            assert name in types and name in helped, f"{name} lacks TYPE/HELP before it"
            assert name.startswith("kiosk_")
            if types[name] == "counter":
                assert name.endswith("_total")
            samples[name] = (unescape(m.group(2)), float(m.group(3)), types[name])
    return samples


def test_render_is_valid_and_escapes_the_label() -> None:
    terminal = 'LT "west" \\ hall\nB'
    values = {name: i * 1.5 for i, name in enumerate(METRICS)}
    values["up"] = 1
    values["feed_sequence"] = 1795326554
    values["sync_errors_total"] = 3
    samples = parse(render(values, terminal_id=terminal))
    assert set(samples) == {f"kiosk_{n}" for n in METRICS}
    assert all(label == terminal for label, _, _ in samples.values())
    assert samples["kiosk_feed_sequence"][1] == 1795326554
    assert samples["kiosk_sync_errors_total"][2] == "counter"
    assert samples["kiosk_up"][1] == 1


def test_none_leaves_the_sample_out_and_unknown_names_are_refused() -> None:
    samples = parse(render({"up": 1, "last_sync_success_timestamp_seconds": None}, terminal_id="x"))
    assert set(samples) == {"kiosk_up"}
    with pytest.raises(ValueError, match="unknown metric"):
        render({"up": 1, "bogus": 2}, terminal_id="x")


def test_special_float_values() -> None:
    samples = parse(render({"uptime_seconds": float("inf"), "disk_free_bytes": float("nan")},
                           terminal_id="t"))  # fmt: skip
    assert samples["kiosk_uptime_seconds"][1] == float("inf")
    assert samples["kiosk_disk_free_bytes"][1] != samples["kiosk_disk_free_bytes"][1]  # NaN


def test_file_is_world_readable_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.prom"
    write_textfile(path, {"up": 1}, terminal_id="LT-1")
    write_textfile(path, {"up": 1, "uptime_seconds": 5}, terminal_id="LT-1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # node_exporter is another user
    assert [p.name for p in tmp_path.iterdir()] == ["kiosk.prom"]
    assert parse(path.read_text())["kiosk_uptime_seconds"][1] == 5


def test_a_reader_never_sees_a_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.prom"
    big = {name: 10.0**i for i, name in enumerate(METRICS)}
    small = {"up": 1}
    write_textfile(path, small, terminal_id="LT-1")
    stop = threading.Event()
    errors: list[BaseException] = []
    reads = 0

    def reader() -> None:
        nonlocal reads
        try:
            while not stop.is_set():
                samples = parse(path.read_text(encoding="utf-8"))
                assert set(samples) in ({"kiosk_up"}, {f"kiosk_{n}" for n in METRICS})
                reads += 1
        except BaseException as exc:
            errors.append(exc)
            stop.set()

    thread = threading.Thread(target=reader)
    thread.start()
    deadline = time.monotonic() + 1.5
    writes = 0
    while time.monotonic() < deadline and not stop.is_set():
        write_textfile(path, big if writes % 2 else small, terminal_id="LT-1")
        writes += 1
    stop.set()
    thread.join(10)
    assert not errors, errors[0]
    assert writes > 100 and reads > 100


@pytest.fixture
def synced(tmp_path: Path) -> Config:
    pub = (ASSETS / "demo" / "demo-key.pub").read_text().strip()
    config = load(
        write_config(
            tmp_path / "kiosk.toml",
            url=(ASSETS / "demo" / "feed" / "feed.json").as_uri(),
            data_dir=tmp_path / "data",
            public_keys=[pub],
        )
    )
    make_coordinator(config).sync()
    return config


def test_collect_reads_the_store_playlog_and_disk(synced: Config, tmp_path: Path) -> None:
    config = synced
    store = open_store(config)
    snapshot = store.snapshot()
    status = store.sync_status()
    playlog = PlayLog(config.data_dir / "playlog.sqlite3")
    for n in range(7):
        playlog.record(f"i{n}", "cunwu", datetime.now(UTC), 8.0, "signage", False, 1)
    counters = Counters()
    for _ in range(3):
        counters.inc("sync_errors")
    now = datetime.now(UTC)
    started = now - timedelta(minutes=5)
    values = collect(config, store, playlog, started, counters, now=now)

    assert snapshot.meta is not None and snapshot.state is not None
    expected_admitted = admitted(snapshot.items, snapshot.meta, config.terminal.region_code, now)
    assert values["feed_sequence"] == snapshot.state.sequence
    assert values["items_stored"] == len(snapshot.items)
    assert values["items_admitted"] == len(expected_admitted)
    assert 0 < len(expected_admitted) < len(snapshot.items)
    assert status.last_success_at is not None
    assert values["last_sync_success_timestamp_seconds"] == status.last_success_at.timestamp()
    assert values["last_sync_attempt_timestamp_seconds"] == status.last_attempt_at.timestamp()  # type: ignore[union-attr]
    assert values["sync_consecutive_failures"] == 0
    assert values["sync_errors_total"] == 3
    assert values["slides_shown_total"] == 7
    assert values["uptime_seconds"] == pytest.approx(300.0)
    free = shutil.disk_usage(config.data_dir).free
    assert abs(values["disk_free_bytes"] - free) < 512 * 1024 * 1024  # type: ignore[operator]
    assert values["up"] == 1 and values["store_ok"] == 1

    out = tmp_path / "textfile" / "kiosk.prom"
    out.parent.mkdir()
    write_textfile(out, values, terminal_id=config.terminal.id)
    samples = parse(out.read_text())
    assert samples["kiosk_feed_sequence"] == ("LT-TEST-01", snapshot.state.sequence, "gauge")
    assert samples["kiosk_slides_shown_total"][1] == 7


def test_collect_before_any_sync_and_with_a_broken_store(tmp_path: Path) -> None:
    config = load(
        write_config(
            tmp_path / "kiosk.toml",
            url="http://127.0.0.1:9/feed.json",
            data_dir=tmp_path / "data",
            public_keys=[],
            allow_unsigned=True,
        )
    )
    store = open_store(config)
    values = collect(config, store, None, datetime.now(UTC), Counters())
    samples = parse(render(values, terminal_id="LT-TEST-01"))
    assert "kiosk_last_sync_success_timestamp_seconds" not in samples  # never: absent, not 0
    assert "kiosk_feed_sequence" not in samples
    assert samples["kiosk_items_stored"][1] == 0 and samples["kiosk_store_ok"][1] == 1

    config.store_path.unlink()
    for extra in ("-wal", "-shm"):
        Path(f"{config.store_path}{extra}").unlink(missing_ok=True)
    config.store_path.mkdir()  # unreadable as a database
    values = collect(config, store, None, datetime.now(UTC), Counters())
    assert values["store_ok"] == 0 and "feed_sequence" not in values
    assert values["up"] == 1


def test_writer_thread_writes_and_marks_down_on_stop(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.prom"
    calls = Counters()

    def gather() -> dict[str, float]:
        calls.inc("n")
        return {"up": 1, "uptime_seconds": calls.get("n")}

    writer = MetricsWriter(path, "LT-1", gather, every_seconds=3600)
    writer.start()
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert parse(path.read_text())["kiosk_up"][1] == 1
    writer.nudge()
    while calls.get("n") < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert calls.get("n") >= 2
    writer.stop()
    assert parse(path.read_text()) == {"kiosk_up": ("LT-1", 0.0, "gauge")}
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    assert os.access(path, os.R_OK)
