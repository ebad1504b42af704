"""Clock faults: a terminal whose wall clock is far behind, or jumps a year ahead.

A Raspberry Pi has no real-time clock: it boots in 1970 (or at its last shutdown) until
NTP answers, and then the clock leaps. The display rule floors "now" at the newest
accepted feed's ``generated_at``; these tests check that floor in the real command line,
with the real process clock moved by libfaketime (Debian's ``faketime`` package, installed
by ``deploy/dev.sh``) rather than by ``--at``, so the path that reads the clock is the one
under test. The monotonic clock is left real (``FAKETIME_DONT_FAKE_MONOTONIC``), as a
kernel leaves it when the wall clock is set.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests import feedkit
from tests.faults.conftest import ROOT, RawServer, Terminal, make_terminal, trickle

_LIBS = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
LIBFAKETIME = _LIBS[0] if _LIBS else None
needs_faketime = pytest.mark.skipif(
    LIBFAKETIME is None, reason="libfaketime missing: apt-get install faketime (deploy/dev.sh)"
)

GENERATED_AT = "2026-11-01T08:00:00+08:00"


def clock_feed(sequence: int = 100) -> dict[str, Any]:
    """Windows chosen so that each clock below admits a different set."""
    return feedkit.feed(
        [
            feedkit.item("c-standing", d_disclosure_type="standing"),
            feedkit.item("c-window", d_valid_until="2027-03-01T00:00:00+08:00"),
            feedkit.item("c-later", d_valid_from="2026-12-15T00:00:00+08:00"),
            feedkit.item(
                "c-closed",
                d_valid_from="2026-09-01T00:00:00+08:00",
                d_valid_until="2026-10-20T00:00:00+08:00",
            ),
        ],
        sequence=sequence,
        generated_at=GENERATED_AT,
    )


AT_FLOOR = ["c-standing", "c-window"]  # what the feed's own generated_at admits
A_YEAR_ON = ["c-later", "c-standing"]  # c-window ended 2027-03-01


def faked(spec: str | None = None, *, stamp_file: Path | None = None) -> dict[str, str]:
    """Environment for a child whose wall clock is ``spec`` (or read live from a file)."""
    assert LIBFAKETIME is not None
    env = {
        "LD_PRELOAD": LIBFAKETIME,
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_NO_CACHE": "1",  # re-read the spec on every call: a file may change
    }
    if spec is not None:
        env["FAKETIME"] = spec
    if stamp_file is not None:
        env["FAKETIME_TIMESTAMP_FILE"] = str(stamp_file)
    return env


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(r["id"] for r in rows)


def items_now(term: Terminal, spec: str) -> list[str]:
    """``kiosk items`` with no ``--at``: the child's own (faked) clock decides."""
    out = term.run("items", "--json", env=faked(spec))
    assert out.returncode == 0, out.stderr
    return ids(json.loads(out.stdout))


def status_now(term: Terminal, spec: str) -> dict[str, Any]:
    out = term.run("status", "--json", env=faked(spec))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
def clock_terminal(server: RawServer, tmp_path: Path, county_key: tuple[str, str]) -> Terminal:
    return make_terminal(server, tmp_path, county_key, doc=clock_feed(), sync=False)


@needs_faketime
def test_faketime_really_moves_the_childs_clock() -> None:
    """Guard for the tests below: without it a silently ignored LD_PRELOAD passes them all."""
    out = subprocess.run(
        [sys.executable, "-c", "import datetime; print(datetime.datetime.now().year)"],
        capture_output=True,
        text=True,
        env={**os.environ, **faked("@1970-01-02 00:00:00")},
        timeout=30,
    )
    assert out.stdout.strip() == "1970", out.stderr


@needs_faketime
def test_clock_in_1970(clock_terminal: Terminal) -> None:
    """Synced and shown with the clock in 1970: the feed's generated_at stands in for now."""
    term = clock_terminal
    synced = term.run("sync", env=faked("@1970-01-01 00:00:05"))
    assert synced.returncode == 0 and synced.stdout.startswith("updated:"), synced.stderr
    assert items_now(term, "@1970-01-01 00:00:05") == AT_FLOOR
    # The explicit --at path applies the same floor.
    assert ids(term.items(at="1970-01-01T00:00:00+00:00")) == AT_FLOOR
    status = status_now(term, "@1970-01-01 00:00:05")
    assert status["counts"]["admitted_now"] == len(AT_FLOOR)
    assert status["last_result"] == "updated" and status["last_attempt_at"].startswith("1970")


@needs_faketime
def test_clock_months_before_the_feed(clock_terminal: Terminal) -> None:
    term = clock_terminal
    assert term.run("sync", env=faked("@2026-11-02 09:00:00")).returncode == 0
    assert items_now(term, "@2026-06-01 12:00:00") == AT_FLOOR
    assert status_now(term, "@2026-06-01 12:00:00")["counts"]["admitted_now"] == len(AT_FLOOR)


@needs_faketime
def test_clock_jumps_forward_a_year_after_a_sync(clock_terminal: Terminal) -> None:
    term = clock_terminal
    assert term.run("sync", env=faked("@2026-11-02 09:00:00")).returncode == 0
    assert items_now(term, "@2026-11-02 09:00:00") == AT_FLOOR
    later = "@2027-11-02 09:00:00"
    # c-window's window ended while the clock leapt: it must not show; c-later now does.
    assert items_now(term, later) == A_YEAR_ON
    assert status_now(term, later)["counts"]["admitted_now"] == len(A_YEAR_ON)
    # Syncing keeps working on the far side of the jump: the same feed, then a new one.
    same = term.run("sync", env=faked(later))
    assert same.returncode == 0 and same.stdout.startswith("not_modified"), same.stderr
    term.publish(feedkit.feed([feedkit.item("b-new")], sequence=101, generated_at=GENERATED_AT))
    new = term.run("sync", env=faked(later))
    assert new.returncode == 0 and new.stdout.startswith("updated:"), new.stderr
    assert items_now(term, later) == ["b-new"]
    status = status_now(term, later)
    assert status["last_attempt_at"].startswith("2027") and status["consecutive_failures"] == 0


# ------------------------------------------------------------ jumps during a fetch

_FETCH_CHILD = textwrap.dedent(
    """
    import json, sys, time
    from sync.errors import FetchError
    from sync.fetch import Fetcher, FetchLimits

    limits = FetchLimits(connect_timeout=1, read_timeout=2, retries=0, total_deadline=3)
    started = time.monotonic()
    try:
        Fetcher(limits).fetch_feed(sys.argv[1])
        error = None
    except FetchError as exc:
        error = str(exc)
    print(json.dumps({"error": error, "elapsed": time.monotonic() - started,
                      "year": time.gmtime().tm_year}))
    """
)


@needs_faketime
@pytest.mark.parametrize("jump", ["+365d", "-20000d"])
def test_fetch_deadline_ignores_wall_clock_jumps(
    server: RawServer, tmp_path: Path, jump: str
) -> None:
    """The 3 s deadline on a trickling body fires after 3 s whichever way the clock leaps.

    A deadline on the wall clock would fire at once after a jump forward and never after
    a jump back (the trickle would then run for its whole body, minutes); on the
    monotonic clock neither happens. The jump happens mid-body, through libfaketime's
    timestamp file, which the child re-reads on every clock call.
    """
    sent = threading.Event()
    body = feedkit.encode(clock_feed())
    slow = trickle(server, body, interval=0.25)

    def counting(conn: Any, path: str) -> None:
        sent.set()
        slow(conn, path)

    server.routes["/feed.json"] = counting
    stamp = tmp_path / "faketime"
    stamp.write_text("+0\n")
    days = int(jump[:-1])
    expected_year = time.gmtime(time.time() + days * 86400).tm_year
    child = subprocess.Popen(
        [sys.executable, "-c", _FETCH_CHILD, server.url("/feed.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, **faked(stamp_file=stamp)},
    )
    try:
        assert sent.wait(20), "the child never asked for the feed"
        time.sleep(0.8)  # a few bytes in
        stamp.write_text(f"{jump}\n")
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    result = json.loads(out.strip().splitlines()[-1])
    assert result["year"] == expected_year, (result, err)  # the leap did happen
    assert (
        result["error"]
        and "total deadline of 3 s exceeded while reading the body" in (result["error"])
    ), result
    assert result["elapsed"] >= 3.0, result  # not cut short by the forward leap
