"""Disk faults end to end: the data directory fills up or turns read-only during a sync.

The data directory is a real, small tmpfs mounted for the test, so SQLite and the media
pipeline meet a real ENOSPC or EROFS from the kernel, not a simulated one. Mounting needs
root (CI runs as root); elsewhere these tests skip and say why.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sync.errors import SyncError
from tests import feedkit
from tests.faults.conftest import RawServer, Terminal, make_terminal, media_entry, noise_png

MOUNT_SIZE = "2m"


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs to be the terminal's data directory; always unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs as the data directory needs root (CI runs as root)")
    mount_point = tmp_path / "data"
    mount_point.mkdir()
    made = _mount("-t", "tmpfs", "-o", f"size={MOUNT_SIZE},mode=0755", "tmpfs", str(mount_point))
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        yield mount_point
    finally:
        done = subprocess.run(["umount", str(mount_point)], capture_output=True, text=True)
        if done.returncode != 0:  # something still holds a file open: detach it anyway
            subprocess.run(["umount", "-l", str(mount_point)], check=True)


def fill(disk: Path, leave: int) -> Path:
    """Take all but ``leave`` bytes of the filesystem with a file of random bytes."""
    st = os.statvfs(disk)
    free = st.f_bavail * st.f_frsize
    filler = disk / "filler"
    with open(filler, "wb") as fh:
        fh.write(os.urandom(max(0, free - leave)))
    if leave == 0:  # fill the last partial page too, byte by byte until the kernel refuses
        with open(filler, "ab", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * 512)
            except OSError:
                pass
    return filler


def remount(disk: Path, mode: str) -> None:
    done = _mount("-o", f"remount,{mode}", str(disk))
    assert done.returncode == 0, done.stderr


@pytest.fixture
def on_small_disk(
    server: RawServer, tmp_path: Path, small_disk: Path, county_key: tuple[str, str]
) -> Terminal:
    """Feed A, with one picture, synced onto the small disk."""
    return make_terminal(
        server, tmp_path, county_key, data_dir=small_disk, images={"a.png": noise_png(200, 1)}
    )


def a_image_files(term: Terminal) -> set[str]:
    return set(os.listdir(term.data_dir / "media"))


def assert_clean_failure(
    term: Terminal, result: subprocess.CompletedProcess[str], *phrases: str
) -> tuple[str, dict[str, Any]]:
    """One line, A listed as before, A's picture still on disk, the store still opens."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kiosk sync: "), result.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    term.assert_a_intact()
    assert term.items()[0]["images"], "A's picture must still be referenced"
    status = term.status()
    assert status["sequence"] == 100
    return lines[0], status


def test_media_that_cannot_fit(on_small_disk: Terminal) -> None:
    term = on_small_disk
    before = a_image_files(term)
    filler = fill(term.data_dir, leave=300_000)
    big = noise_png(400, 2)  # about 480 KB, and the prepared copy as big: cannot fit
    item = feedkit.item("b-only", d_media=[media_entry("b.png", big)])
    term.publish(feedkit.feed([item], sequence=101), {"b.png": big})

    line, status = assert_clean_failure(term, term.sync(), "No space left on device")
    # Not "taken without its picture": B must be tried again whole once there is room.
    assert status["last_result"] == "failed" and status["last_error"] in line
    assert a_image_files(term) == before  # no half-written temp file left behind

    filler.unlink()
    again = term.sync()
    assert again.returncode == 0 and again.stdout.startswith("updated:"), again.stderr
    rows = term.items()
    assert [r["id"] for r in rows] == ["b-only"] and rows[0]["images"]
    assert a_image_files(term) == set(rows[0]["images"])  # A's picture collected


def wordy_feed(sequence: int, items: int, chars: int) -> dict[str, Any]:
    """A feed whose text alone is ``items * chars`` characters of Chinese (3 bytes each)."""
    text = "经村民代表会议讨论通过现予公示" * (chars // 15)
    return feedkit.feed(
        [feedkit.item(f"b-{n:03d}", content_text=f"{n}{text}") for n in range(items)],
        sequence=sequence,
    )


def test_snapshot_that_cannot_fit(on_small_disk: Terminal) -> None:
    """The feed downloads fine but the new snapshot does not fit: SQLite rolls it back."""
    term = on_small_disk
    filler = fill(term.data_dir, leave=200_000)
    term.publish(wordy_feed(101, items=40, chars=6000))  # about 720 KB of text
    line, status = assert_clean_failure(term, term.sync())
    assert status["last_result"] == "failed" and status["last_error"] in line

    filler.unlink()
    again = term.sync()
    assert again.returncode == 0 and again.stdout.startswith("updated:"), again.stderr
    assert len(term.items()) == 40


def test_snapshot_that_cannot_fit_names_the_full_disk(on_small_disk: Terminal) -> None:
    term = on_small_disk
    fill(term.data_dir, leave=200_000)
    term.publish(wordy_feed(101, items=40, chars=6000))
    assert_clean_failure(term, term.sync(), "full")


def test_read_only_data_dir_fails_cleanly_and_recovers(on_small_disk: Terminal) -> None:
    term = on_small_disk
    term.publish(feedkit.feed([feedkit.item("b-only")], sequence=101))
    remount(term.data_dir, "ro")
    try:
        result = term.sync()
        assert result.returncode != 0, result.stdout
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("kiosk sync: "), result.stderr
        assert "Traceback" not in result.stderr
    finally:
        remount(term.data_dir, "rw")
    term.assert_a_intact()  # nothing was half-written while it was read-only
    again = term.sync()
    assert again.returncode == 0 and again.stdout.startswith("updated:"), again.stderr
    assert [r["id"] for r in term.items()] == ["b-only"]


def test_disk_completely_full_sync_fails_in_one_line(on_small_disk: Terminal) -> None:
    """Not a byte left: the sync must still end in one line, and recover once space is freed."""
    term = on_small_disk
    filler = fill(term.data_dir, leave=0)
    term.publish(feedkit.feed([feedkit.item("b-only")], sequence=101))
    result = term.sync()
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kiosk sync: "), result.stderr
    filler.unlink()
    term.assert_a_intact()  # the file itself was never touched
    again = term.sync()
    assert again.returncode == 0 and again.stdout.startswith("updated:"), again.stderr
    assert [r["id"] for r in term.items()] == ["b-only"]


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_held_content_still_readable(on_small_disk: Terminal, fault: str) -> None:
    """An SD card that filled up or that the kernel remounted read-only must still show A."""
    term = on_small_disk
    if fault == "full":
        fill(term.data_dir, leave=0)
        term.assert_a_intact()
        term.status()
    else:
        remount(term.data_dir, "ro")
        try:
            term.assert_a_intact()
            term.status()
        finally:
            remount(term.data_dir, "rw")


def test_a_running_terminal_reads_through_a_read_only_spell_and_recovers(
    on_small_disk: Terminal,
) -> None:
    """The app keeps one Store for months: the SD card turning read-only under it must not
    blank the screen, and writing must work again once the card is writable, no restart."""
    from datetime import UTC, datetime

    from sync.store import Store

    store = Store(term_store(on_small_disk))
    held = [i.id for i in store.snapshot().items]
    assert held and store.read_only_reason is None
    remount(on_small_disk.data_dir, "ro")
    try:
        assert [i.id for i in store.snapshot().items] == held
        assert store.read_only_reason is not None and "read-only" in store.read_only_reason
        with pytest.raises(SyncError, match="read-only"):
            store.record_attempt(datetime.now(UTC), "failed", "test")
    finally:
        remount(on_small_disk.data_dir, "rw")
    store.record_attempt(datetime.now(UTC), "failed", "written after the spell")
    assert store.sync_status().last_error == "written after the spell"
    assert store.read_only_reason is None


def term_store(term: Terminal) -> Path:
    return term.data_dir / "store.sqlite3"
