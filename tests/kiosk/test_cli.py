"""The issue's acceptance path, with the real commands in child processes.

``kiosk feed serve`` serves a copy of the shipped demo feed on loopback; ``kiosk sync``,
``kiosk items`` and ``kiosk status`` run against it exactly as a technician would.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.config import ASSETS, load
from kiosk.rules import admitted
from sync.parse import parse_feed
from tests.conftest import write_config

DEMO = ASSETS / "demo"


def kiosk(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    folder = tmp_path / "feed"
    shutil.copytree(DEMO / "feed", folder)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli", "feed", "serve", str(folder), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield folder, f"http://127.0.0.1:{port}/feed.json"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_sync_items_304_and_tamper(served: tuple[Path, str], tmp_path: Path) -> None:
    folder, url = served
    pub = (DEMO / "demo-key.pub").read_text().strip()
    config = write_config(tmp_path / "k.toml", url=url, data_dir=tmp_path / "data",
                          public_keys=[pub])

    first = kiosk("sync", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("updated:")

    listed = kiosk("items", "--json", "--config", str(config))
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert all({"id", "category", "title"} <= set(r) for r in rows)

    # Exactly what the display rule admits for this terminal, computed independently
    # from the feed file itself.
    body = (folder / "feed.json").read_bytes()
    feed = parse_feed(body, url)
    from datetime import UTC, datetime

    expected = admitted(feed.items, feed.meta, "360999101201", datetime.now(UTC))
    assert sorted(r["id"] for r in rows) == sorted(i.id for i in expected)
    assert len(rows) < len(feed.items)  # the demo's filtering is visible

    second = kiosk("sync", "--config", str(config))
    assert second.returncode == 0 and second.stdout.startswith("not_modified")

    # One byte of the feed changed: rejected with one line, the old items still listed.
    data = bytearray(body)
    data[data.index("党务".encode())] ^= 0x01
    (folder / "feed.json").write_bytes(bytes(data))
    third = kiosk("sync", "--config", str(config))
    assert third.returncode != 0
    lines = third.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kiosk sync:"), third.stderr
    again = json.loads(kiosk("items", "--json", "--config", str(config)).stdout)
    assert again == rows

    status = json.loads(kiosk("status", "--json", "--config", str(config)).stdout)
    assert status["last_result"] == "failed"
    assert status["last_error"] in lines[0]
    assert status["sequence"] == feed.meta.sequence
    assert status["counts"]["admitted_now"] == len(rows)
    assert status["terminal_id"] == "LT-TEST-01"


def test_items_at_a_given_time(tmp_path: Path) -> None:
    """--at picks the time; a demo terminal syncs its bundled feed offline (file://)."""
    pub = (DEMO / "demo-key.pub").read_text().strip()
    config = write_config(tmp_path / "k.toml", url=(DEMO / "feed" / "feed.json").as_uri(),
                          data_dir=tmp_path / "data", public_keys=[pub])
    assert kiosk("sync", "--config", str(config)).returncode == 0
    now = json.loads(kiosk("items", "--json", "--config", str(config)).stdout)
    future = json.loads(
        kiosk("items", "--json", "--at", "2031-06-01T00:00:00+08:00", "--config",
              str(config)).stdout
    )
    assert {r["id"] for r in now} != {r["id"] for r in future}
    bad = kiosk("items", "--json", "--at", "tomorrow", "--config", str(config))
    assert bad.returncode == 1 and "--at" in bad.stderr
    assert load(config).terminal.id == "LT-TEST-01"


def test_bad_config_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "k.toml"
    path.write_text('[terminal]\nid = "x"\nregion_code = "12"\n', encoding="utf-8")
    result = kiosk("status", "--config", str(path))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "region_code" in result.stderr


def test_unreachable_feed_fails_cleanly(tmp_path: Path) -> None:
    pub = (DEMO / "demo-key.pub").read_text().strip()
    config = write_config(tmp_path / "k.toml", url=f"http://127.0.0.1:{free_port()}/feed.json",
                          data_dir=tmp_path / "data", public_keys=[pub])
    result = kiosk("sync", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.startswith("kiosk sync: ") and result.stderr.count("\n") == 1
    status = json.loads(kiosk("status", "--json", "--config", str(config)).stdout)
    assert status["last_result"] == "failed" and status["sequence"] is None


def test_hash_pin_reads_stdin() -> None:
    result = kiosk("hash-pin", stdin="864213\n")
    assert result.returncode == 0 and result.stdout.startswith('pin_hash = "pbkdf2_sha256$')
    assert "864213" not in result.stdout
