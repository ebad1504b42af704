"""The sync scheduler with a real coordinator on the demo feed (file://) and a real
APScheduler thread; only the clocks it compares to detect a jump are hand-driven."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kiosk.config import load
from kiosk.scheduler import JOB_ID, JUMP_SECONDS, SyncScheduler
from kiosk.terminal import make_coordinator
from tests.conftest import write_demo_config


class Clocks:
    def __init__(self) -> None:
        self.wall = 1_800_000_000.0
        self.mono = 5_000.0


@pytest.mark.parametrize("jump_days", [-365, -2, 365])
def test_a_clock_jump_replans_the_next_sync_instead_of_waiting_it_out(
    tmp_path: Path, jump_days: int
) -> None:
    config = load(write_demo_config(tmp_path))
    done = threading.Event()
    results: list[str] = []

    def on_result(outcome, error) -> None:  # type: ignore[no-untyped-def]
        results.append(outcome.result if outcome else f"error: {error}")
        done.set()

    clocks = Clocks()
    sched = SyncScheduler(
        make_coordinator(config),
        every_minutes=60,
        jitter_seconds=0,
        on_result=on_result,
        first_delay_seconds=3600,  # as if the last run was just now
        wall=lambda: clocks.wall,
        mono=lambda: clocks.mono,
    )
    sched.start()
    try:
        clocks.wall += 30
        clocks.mono += 30
        assert sched.notice_clock() == 0.0  # both clocks moved alike: nothing to do
        job = sched._scheduler.get_job(JOB_ID)
        assert job.next_run_time - datetime.now().astimezone() > timedelta(minutes=50)
        assert not done.is_set()

        clocks.wall += jump_days * 86400 + 30
        clocks.mono += 30
        assert sched.notice_clock() == pytest.approx(jump_days * 86400)
        assert done.wait(60), "the sync was not run after the clock jump"
        assert results == ["updated"] and sched.jumps == 1
        job = sched._scheduler.get_job(JOB_ID)
        assert job.next_run_time - datetime.now().astimezone() > timedelta(minutes=50)
    finally:
        sched.shutdown()


def test_small_drift_is_not_a_jump(tmp_path: Path) -> None:
    clocks = Clocks()
    sched = SyncScheduler(
        make_coordinator(load(write_demo_config(tmp_path))),
        every_minutes=15,
        jitter_seconds=0,
        wall=lambda: clocks.wall,
        mono=lambda: clocks.mono,
    )
    clocks.wall += JUMP_SECONDS - 1  # NTP slewing a slow clock: not a jump
    assert sched.notice_clock() == 0.0 and sched.jumps == 0
    sched.shutdown()
