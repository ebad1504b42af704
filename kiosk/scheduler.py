"""Periodic sync with APScheduler, off the UI thread.

APScheduler gives us, without hand-written timer code: jitter (so a county's hundreds of
terminals do not all hit the server on the same second), ``coalesce`` (a terminal that
slept through five runs syncs once, not five times) and ``max_instances=1`` (never two
syncs at once in this process; the coordinator's file lock covers other processes).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from sync.coordinator import Coordinator, SyncOutcome
from sync.errors import SyncError

log = logging.getLogger(__name__)

JOB_ID = "feed-sync"


class SyncScheduler:
    def __init__(
        self,
        coordinator: Coordinator,
        *,
        every_minutes: float,
        jitter_seconds: float,
        on_result: Callable[[SyncOutcome | None, SyncError | None], None] | None = None,
        first_delay_seconds: float = 2.0,
    ) -> None:
        self.coordinator = coordinator
        self.on_result = on_result
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
