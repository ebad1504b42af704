"""Periodic sync with APScheduler, off the UI thread.

APScheduler gives us, without hand-written timer code: jitter (so a county's hundreds of
terminals do not all hit the server on the same second), ``coalesce`` (a terminal that
slept through five runs syncs once, not five times) and ``max_instances=1`` (never two
syncs at once in this process; the coordinator's file lock covers other processes).

What APScheduler does not do: it plans on the wall clock, so a clock set back (a Pi with
no RTC boots in the past, then NTP corrects it, or a technician fixes a wrong date) would
postpone the next sync by the size of the jump, possibly a year. :meth:`notice_clock`,
called every half minute by the app, compares the wall clock with the monotonic one and
replans the next sync when they part by more than :data:`JUMP_SECONDS`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from sync.coordinator import Coordinator, SyncOutcome
from sync.errors import SyncError

log = logging.getLogger(__name__)

JOB_ID = "feed-sync"
JUMP_SECONDS = 120.0  # wall and monotonic clocks may part this much before we replan


class SyncScheduler:
    def __init__(
        self,
        coordinator: Coordinator,
        *,
        every_minutes: float,
        jitter_seconds: float,
        on_result: Callable[[SyncOutcome | None, SyncError | None], None] | None = None,
        first_delay_seconds: float = 2.0,
        wall: Callable[[], float] = time.time,
        mono: Callable[[], float] = time.monotonic,
    ) -> None:
        self.coordinator = coordinator
        self.on_result = on_result
        self._wall, self._mono = wall, mono
        self._clocks = (wall(), mono())
        self.jumps = 0
        self._scheduler = BackgroundScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="UTC",
        )
        first = datetime.now().astimezone() + timedelta(
            seconds=first_delay_seconds + random.uniform(0, max(jitter_seconds, 0) / 4)
        )
        self._scheduler.add_job(
            self.run_once,
            IntervalTrigger(minutes=every_minutes, jitter=int(jitter_seconds) or None),
            id=JOB_ID,
            next_run_time=first,
        )

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        """Safe to call twice: Kivy's App.stop() runs on_stop more than once."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def sync_now(self) -> None:
        """Ask for a sync soon (technician button); coalesces with one already queued."""
        self._scheduler.modify_job(JOB_ID, next_run_time=datetime.now().astimezone())

    def notice_clock(self) -> float:
        """Replan the next sync soon if the wall clock jumped since the last call.

        Returns the jump in seconds (0.0 when within :data:`JUMP_SECONDS`).
        """
        wall, mono = self._wall(), self._mono()
        last_wall, last_mono = self._clocks
        self._clocks = (wall, mono)
        jump = (wall - last_wall) - (mono - last_mono)
        if abs(jump) <= JUMP_SECONDS:
            return 0.0
        self.jumps += 1
        log.warning("the wall clock jumped by %+.0f s; the next sync is replanned", jump)
        if self._scheduler.running:
            self.sync_now()
        return jump

    def run_once(self) -> None:
        outcome: SyncOutcome | None = None
        error: SyncError | None = None
        try:
            outcome = self.coordinator.sync()
            log.info("sync: %s (sequence %s)", outcome.result, outcome.sequence)
        except SyncError as exc:
            error = exc
            log.warning("sync failed: %s", exc)
        if self.on_result is not None:
            self.on_result(outcome, error)
