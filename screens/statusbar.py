"""Clock, date and the offline badge at the right end of the ticker band.

A passer-by glances at the clock; a technician walking past needs to see at once that a
terminal has lost its feed, and since when. The clock changes once a minute, so it is
updated by a one-shot Clock aimed at the start of the next minute (re-aimed each time, so
it never drifts) instead of every frame; blanked, it schedules nothing at all.

The date is formatted here, not by the presenter, because it is the live clock rather than
feed data; the time zone is China Standard Time like every date the presenter writes,
unless the app hands in its own ``now``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kivy.clock import Clock, ClockEvent
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from screens.cards import StatusInfo
from screens.linebreak import sanitize

WEEKDAYS = "一二三四五六日"


def _zone() -> tzinfo:
    try:
        return ZoneInfo("Asia/Shanghai")
    except ZoneInfoNotFoundError:  # a minimal image without tzdata
        return timezone(timedelta(hours=8), "CST")


ZONE = _zone()


def china_now() -> datetime:
    return datetime.now(ZONE)


def clock_text(now: datetime) -> str:
    return f"{now:%H:%M}"


def date_text(now: datetime) -> str:
    return f"{now.month}月{now.day}日 星期{WEEKDAYS[now.weekday()]}"


def offline_text(status: StatusInfo) -> str:
    last = " ".join(sanitize(status.last_sync).split())
    return f"离线 · 最后同步 {last}" if last else "离线"


def seconds_to_next_minute(now: datetime) -> float:
    """A little past the minute boundary, so the new minute is already there."""
    return 60.0 - now.second - now.microsecond / 1e6 + 0.05


class StatusBar(BoxLayout):
    """Offline badge (only when offline), then "11月22日 星期日" and "08:15"."""

    clock = StringProperty("")
    date = StringProperty("")
    offline = BooleanProperty(False)
    badge = StringProperty("")
    font_size = NumericProperty(38)
    small_font = NumericProperty(30)
    pad = NumericProperty(16)
    active = BooleanProperty(True)
    compact = BooleanProperty(False)  # narrow band (portrait): the clock without the date

    def __init__(self, **kwargs: object) -> None:
        self.now: Callable[[], datetime] = china_now
        self._status = StatusInfo()
        self._event: ClockEvent | None = None
        super().__init__(**kwargs)
        self.bind(active=self._on_active)
        self.tick()

    def set_status(self, status: StatusInfo) -> None:
        self._status = status
        self._update_badge()

    def on_compact(self, *_args: object) -> None:
        self._update_badge()

    def _update_badge(self) -> None:
        """In a narrow band the badge says only 离线, leaving the ticker room to crawl."""
        status = self._status
        self.offline = status.offline
        if not status.offline:
            self.badge = ""
        else:
            self.badge = "离线" if self.compact else offline_text(status)

    def tick(self, *_args: object) -> None:
        """Show the time now and aim at the next minute."""
        self._cancel()
        now = self.now()
        self.clock = clock_text(now)
        self.date = date_text(now)
        if self.active:
            self._event = Clock.schedule_once(self.tick, seconds_to_next_minute(now))

    @property
    def running(self) -> bool:
        return self._event is not None

    def _on_active(self, _instance: object, active: bool) -> None:
        if active:
            self.tick()
        else:
            self._cancel()

    def _cancel(self) -> None:
        if self._event is not None:
            self._event.cancel()
            self._event = None


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
