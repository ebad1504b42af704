"""The Kivy App: the composition root that wires store, sync, player and screens.

State the screens care about is exposed as Kivy properties; network results arrive on
the sync thread and reach the UI only through ``Clock`` (``_post``), so nothing on the UI
thread waits for the network or decodes a large image (media are pre-scaled by sync).
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kiosk.config import Config
from kiosk.display_power import DisplayPower, DisplayPowerError, detect
from kiosk.idle import IdleTimer
from kiosk.pin import PinGuard
from kiosk.player import PlannedSlide, Player
from kiosk.presenter import cn_clock
from kiosk.render import prepare_window
from kiosk.terminal import make_coordinator, open_store
from sync.coordinator import SyncOutcome
from sync.errors import SyncError
from sync.store import Snapshot, SyncStatus

if TYPE_CHECKING:  # APScheduler is imported in on_start, after the first frame is drawn
    from kiosk.scheduler import SyncScheduler

log = logging.getLogger(__name__)

CORNER = 140  # px: the top-left square a technician holds for LONG_PRESS seconds
LONG_PRESS = 5.0
TOUCH_SCREENS = ("home", "category", "detail", "feedback")
BLOCKED_KEYS = {27, 282, 1001}  # Esc, F1, Android back


def configure_window(config: Config, *, windowed: bool) -> None:
    """Kivy's window settings for the mode, before the window exists.

    ``[display] width/height`` are the picture as residents see it; with ``rotation`` 90
    or 270 the output itself is the other way round, so the window asks for the swapped
    size and Kivy turns the drawing (and maps touches back) by ``rotation``.
    """
    from kivy.config import Config as KivyConfig

    d = config.display
    w, h = (d.height, d.width) if d.rotation in (90, 270) else (d.width, d.height)
    prepare_window(w, h, visible=True)
    KivyConfig.set("graphics", "rotation", str(d.rotation))
    if config.terminal.mode == "led" and (windowed or not d.fullscreen):
        # On a desktop: a borderless window of exactly the LED area at (0, 0).
        KivyConfig.set("graphics", "fullscreen", "0")
    elif d.fullscreen and not windowed:
        # Full screen in the output's own mode. Under KMS there are no windows: a smaller
        # one would be scaled up to the whole HDMI picture, so an LED wall too gets the
        # native mode and the app draws the LED area into its top-left corner (build()).
        KivyConfig.set("graphics", "fullscreen", "auto")
    else:
        KivyConfig.set("graphics", "borderless", "0")
    KivyConfig.set("kivy", "exit_on_escape", "0")
    KivyConfig.set("kivy", "pause_on_minimize", "0")
    KivyConfig.set("graphics", "maxfps", "30")


def run_app(config: Config, *, windowed: bool = False) -> int:
    configure_window(config, windowed=windowed)
    from screens.fonts import FontNotFound, find_font, register

    try:
        register(find_font(config.display.font))
    except FontNotFound as exc:
        raise SyncError(str(exc)) from exc  # shown as one line by the command line
    app = build_app(config)
    app.run()
    return 0


def build_app(config: Config) -> Any:
    """Import Kivy lazily: ``kiosk sync`` and friends never load a GL driver."""
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.properties import BooleanProperty, NumericProperty, StringProperty
    from kivy.uix.screenmanager import FadeTransition, NoTransition, ScreenManager

    from kiosk.feedback import qr_matrix
    from screens.signage import software_gl

    class KioskApp(App):
        offline = BooleanProperty(False)
        last_sync = StringProperty("")
        sequence = NumericProperty(0)
        screen_off = BooleanProperty(False)

        title = "三务公开"

        def __init__(self) -> None:
            super().__init__()
            self.config_ = config
            self.use_kivy_settings = False
            self.store = open_store(config)
            self.coordinator = make_coordinator(config, self.store)
            self.idle = IdleTimer(timeout=config.display.idle_timeout_seconds)
            self.pin_guard = PinGuard(config.technician.pin_hash)
            self.scheduler: SyncScheduler | None = None
            self._pending: tuple[Snapshot, SyncStatus] | None = None
            self._pending_lock = threading.Lock()
            self._advance_ev: Any = None
            self._long_press_ev: Any = None
            self._clock_events: list[Any] = []
            self.started = datetime.now(UTC)
            self.current_slide: PlannedSlide | None = None
            self.display_power = _display_power(config)
            from kiosk.metrics import Counters
            from kiosk.playlog import PlayLog, PlayRecorder

            self.counters = Counters()
            self.playlog = PlayLog(config.playlog_path, max_rows=config.ops.playlog_max_rows)
            self.recorder = PlayRecorder(
                self.playlog,
                config.terminal.mode,
                on_recorded=lambda _row: self.counters.inc("slides_shown"),
            )
            self.heartbeat: Any = None
            self.metrics: Any = None

        # ----- building -------------------------------------------------------------
        def build(self) -> Any:
            from screens.signage import SignageScreen

            mode = config.terminal.mode
            self.sm = ScreenManager(transition=NoTransition())
            if mode == "led":
                from screens.led import LedScreen

                self.rolling = LedScreen(name="led")
            else:
                self.rolling = SignageScreen(name="signage")
                self.rolling.qr_for = qr_matrix
            self.sm.add_widget(self.rolling)
            if mode == "touch":
                self._build_touch_screens()
            pages_of = getattr(self.rolling, "pages_of", lambda card: 1)
            page_text = getattr(self.rolling, "page_text", None)
            self.player = Player(
                config,
                pages_of=pages_of,
                page_text=page_text or (lambda card, page: card.body),
            )
            # Pagination depends on the screen's size, which is only final after the first
            # layout (and changes if the output mode does): re-paginate on every resize.
            self._repaginate = Clock.create_trigger(self._on_resize, 0)
            self.rolling.bind(size=lambda *_: self._repaginate())
            Window.show_cursor = False
            Window.bind(on_keyboard=self._on_keyboard, on_request_close=self._on_close)
            Window.bind(on_touch_down=self._on_any_touch, on_touch_up=self._on_touch_up)
            if mode == "led":
                return _top_left(self.sm, config.display.width, config.display.height)
            return self.sm

        def _build_touch_screens(self) -> None:
            from screens.category import CategoryScreen
            from screens.detail import DetailScreen
            from screens.feedback import FeedbackScreen
            from screens.home import HomeScreen
            from screens.technician import PinScreen, TechnicianScreen

            self.home = HomeScreen(name="home")
            self.category_screen = CategoryScreen(name="category")
            self.detail = DetailScreen(name="detail")
            self.feedback_screen = FeedbackScreen(name="feedback")
            self.detail.qr_for = qr_matrix
            self.feedback_screen.qr_for = qr_matrix
            for screen in (self.home, self.category_screen, self.detail, self.feedback_screen):
                self.sm.add_widget(screen)
            self.home.bind(on_category=lambda _s, cid: self.open_category(cid))
            self.category_screen.bind(on_item=lambda _s, iid: self.open_item(iid))
            self.detail.bind(on_feedback=lambda _s, iid: self.open_feedback(iid))
            for screen in (self.category_screen, self.detail, self.feedback_screen):
                for nav in _navbars(screen):
                    nav.bind(on_back=lambda *_: self.go_back(), on_home=lambda *_: self.go_home())
            self._build_technician(PinScreen, TechnicianScreen)

        def _build_technician(self, pin_cls: Any, tech_cls: Any) -> None:
            self.pin_screen = pin_cls(name="pin")
            self.tech_screen = tech_cls(name="technician")
            self.sm.add_widget(self.pin_screen)
            self.sm.add_widget(self.tech_screen)
            self.pin_screen.bind(on_pin=lambda _s, pin: self._check_pin(pin))
            self.pin_screen.bind(on_cancel=lambda *_: self.back_to_rolling())
            self.tech_screen.bind(on_close=lambda *_: self.back_to_rolling())
            self.tech_screen.bind(on_sync_now=lambda *_: self.sync_now())

        # ----- lifecycle --------------------------------------------------------------
        def on_start(self) -> None:
            self.player.load(self.store.snapshot(), self._now())
            self._update_status(self.store.sync_status())
            self._refresh_rolling_extras()
            self.advance()
            # Syncing, and importing APScheduler for it, waits until the first slide is up.
            self._clock_events.append(Clock.schedule_once(self._start_sync, 0.5))
            self._start_reporting()
            self._clock_events.append(Clock.schedule_interval(self._minute_tick, 30))
            self._clock_events.append(Clock.schedule_interval(self._idle_tick, 1))
            self._minute_tick(0)
            _notify_systemd("READY=1")
            self._clock_events.append(
                Clock.schedule_interval(lambda dt: _notify_systemd("WATCHDOG=1"), 10)
            )

        def _start_sync(self, _dt: float = 0) -> None:
            from kiosk.scheduler import SyncScheduler

            self.scheduler = SyncScheduler(
                self.coordinator,
                every_minutes=config.feed.sync_minutes,
                jitter_seconds=config.feed.jitter_seconds,
                on_result=self._on_sync_result,
                first_delay_seconds=0.0,
            )
            self.scheduler.start()

        def _start_reporting(self) -> None:
            """Heartbeat and metrics run on their own threads; the UI only nudges them."""
            ops = config.ops
            if ops.heartbeat_url:
                from kiosk.cli import status_dict
                from kiosk.heartbeat import Heartbeat

                self.heartbeat = Heartbeat(
                    ops.heartbeat_url,
                    config.terminal.id,
                    config.heartbeat_dir,
                    playlog=self.playlog,
                    status=lambda: status_dict(config),
                    every_seconds=ops.heartbeat_minutes * 60,
                    token=ops.heartbeat_token,
                )
                self.heartbeat.start()
            if ops.metrics_textfile:
                from pathlib import Path

                from kiosk.metrics import MetricsWriter, collect

                self.metrics = MetricsWriter(
                    Path(ops.metrics_textfile),
                    config.terminal.id,
                    lambda: collect(config, self.store, self.playlog, self.started, self.counters),
                )
                self.metrics.start()

        def on_stop(self) -> None:
            # A stopped App must not be called back: its widgets may already be gone.
            for event in (*self._clock_events, self._advance_ev, self._long_press_ev):
                if event is not None:
                    event.cancel()
            self._clock_events.clear()
            from kivy.core.window import Window

            Window.unbind(on_keyboard=self._on_keyboard, on_request_close=self._on_close)
            Window.unbind(on_touch_down=self._on_any_touch, on_touch_up=self._on_touch_up)
            self.recorder.stop()
            for worker in (self.heartbeat, self.metrics):
                if worker is not None:
                    worker.stop()
            if self.scheduler is not None:
                self.scheduler.shutdown()
            self.display_power.close()
            _notify_systemd("STOPPING=1")

        def open_settings(self, *args: Any) -> bool:  # the Kivy settings panel never opens
            return False

        def _on_keyboard(self, _window: Any, key: int, *args: Any) -> bool:
            modifiers = args[-1] if args and isinstance(args[-1], list) else []
            return key in BLOCKED_KEYS or (key == 285 and "alt" in modifiers)  # 285: F4

        def _on_close(self, *_args: Any, **_kwargs: Any) -> bool:
            return True  # Alt+F4 / window manager close: refused; systemd stops us

        def _now(self) -> datetime:
            return datetime.now(UTC)

        # ----- sync results (sync thread → UI thread) -----------------------------------
        def _on_sync_result(self, outcome: SyncOutcome | None, error: SyncError | None) -> None:
            """Runs on the scheduler's thread: read the store here, apply on the UI thread."""
            try:
                updated = outcome is not None and outcome.result == "updated"
                snapshot = self.store.snapshot() if updated else None
                status = self.store.sync_status()
            except SyncError as exc:
                log.warning("cannot read store after sync: %s", exc)
                return
            if error is not None:
                self.counters.inc("sync_errors")
            for worker in (self.heartbeat, self.metrics):
                if worker is not None:
                    worker.nudge()
            with self._pending_lock:
                self._pending = (snapshot, status)  # type: ignore[assignment]
            Clock.schedule_once(self._apply_pending, 0)

        def _apply_pending(self, _dt: float) -> None:
            with self._pending_lock:
                pending, self._pending = self._pending, None
            if pending is None:
                return
            snapshot, status = pending
            self._update_status(status)
            if snapshot is not None:
                self.player.load(snapshot, self._now())
                self._refresh_rolling_extras()
                if self.current_slide is None:
                    self.advance()

        def _update_status(self, status: SyncStatus) -> None:
            self.offline = status.last_result == "failed"
            self.last_sync = cn_clock(status.last_success_at) if status.last_success_at else ""
            self.sequence = self.player.snapshot.sequence or 0 if self.player.snapshot else 0
            from screens.cards import StatusInfo

            info = StatusInfo(
                terminal_name=config.terminal.name,
                offline=self.offline,
                last_sync=self.last_sync or "尚未同步",
            )
            if hasattr(self.rolling, "set_status"):
                self.rolling.set_status(info)

        def sync_now(self) -> None:
            if self.scheduler is not None:
                self.scheduler.sync_now()

        # ----- rolling ------------------------------------------------------------------
        def _refresh_rolling_extras(self) -> None:
            self.rolling.set_ticker(self.player.urgent_titles() if config.display.ticker else [])
            if hasattr(self.rolling, "feedback"):
                self.rolling.feedback = self.player.feedback()

        def advance(self, *_args: Any) -> None:
            if self._advance_ev is not None:
                self._advance_ev.cancel()
                self._advance_ev = None
            if self.screen_off:
                return
            planned = self.player.next()
            self.current_slide = planned
            if planned is None:
                self.recorder.stop()
                self._advance_ev = Clock.schedule_once(self.advance, 10)
                return
            s = planned.slide
            if self.sm.current == self.rolling.name:
                # The play log records what was really on screen: nothing while a resident
                # browses, since the rolling display is then hidden.
                self.recorder.shown(
                    s.item_id,
                    s.category,
                    page=s.page,
                    urgent=s.urgent_interrupt,
                    sequence=self.player.snapshot.sequence if self.player.snapshot else None,
                )
            if config.terminal.mode == "led":
                self.rolling.show(planned.card, s.position, s.category_count)
            else:
                self.rolling.show(planned.card, s.page, s.position, s.category_count)
            self._advance_ev = Clock.schedule_once(self.advance, planned.seconds)

        def _on_resize(self, _dt: float) -> None:
            self.player.refresh(self._now(), force=True)
            slide = self.current_slide
            if slide is not None and slide.slide.page >= self.player.pages_of(slide.card):
                self.advance()

        def _minute_tick(self, _dt: float) -> None:
            """Time passing changes what the rule admits, and the screen-off hours."""
            if self.scheduler is not None:
                self.scheduler.notice_clock()
            now = self._now()
            if self.player.refresh(now):
                self._refresh_rolling_extras()
            local = datetime.now().astimezone().time()
            off = config.schedule.screen_is_off(local)
            # Asked every tick; DisplayPower sends a command only when the wanted state
            # changes, or again ten minutes after a failed switch.
            self.display_power.request(not off)
            if off != self.screen_off:
                self.screen_off = off
                self.rolling.set_blank(off)
                if off:
                    self.recorder.stop()
                    if self._advance_ev is not None:
                        self._advance_ev.cancel()
                    self.back_to_rolling()
                else:
                    self.advance()

        # ----- touch browsing -----------------------------------------------------------
        def _on_any_touch(self, _window: Any, touch: Any) -> bool:
            self.idle.touched()
            if config.terminal.mode != "touch":
                return False
            if touch.x < CORNER and touch.y > Window.height - CORNER:
                self._long_press_ev = Clock.schedule_once(self._long_pressed, LONG_PRESS)
            if self.sm.current == self.rolling.name and not self.screen_off:
                self.go_home()
                return True
            return bool(self.screen_off)

        def _on_touch_up(self, _window: Any, _touch: Any) -> bool:
            if self._long_press_ev is not None:
                self._long_press_ev.cancel()
                self._long_press_ev = None
            return False

        def _long_pressed(self, _dt: float) -> None:
            self._long_press_ev = None
            self.recorder.stop()
            self.pin_screen.clear()
            self.sm.current = "pin"

        def _check_pin(self, pin: str) -> None:
            ok, message = self.pin_guard.check(pin)
            if not ok:
                self.pin_screen.set_message(message)
                self.pin_screen.clear()
                return
            from kiosk.technician import technician_rows

            self.tech_screen.set_info(technician_rows(self))
            self.sm.current = "technician"

        def _idle_tick(self, _dt: float) -> None:
            if config.terminal.mode != "touch" or self.sm.current == self.rolling.name:
                return
            seconds = self.idle.countdown_seconds()
            banner_host = self.sm.current_screen
            if hasattr(banner_host, "set_countdown"):
                banner_host.set_countdown(seconds)
            if self.idle.expired():
                self.back_to_rolling()

        def back_to_rolling(self) -> None:
            for screen in self.sm.screens:
                if hasattr(screen, "set_countdown"):
                    screen.set_countdown(None)
            # A fade renders both screens into window-sized buffers: on software GL that is
            # a CPU-bound 0.3 s and ~50 MB, so there it cuts, as the rolling slides do.
            if not software_gl():
                self.sm.transition = FadeTransition(duration=0.3)
            self.sm.current = self.rolling.name
            self.sm.transition = NoTransition()

        def go_home(self) -> None:
            self.recorder.stop()
            self.home.set_categories(self.player.categories(), config.terminal.name)
            self.sm.current = "home"

        def go_back(self) -> None:
            back = {"category": "home", "detail": "category", "feedback": "detail"}
            target = back.get(self.sm.current, "home")
            if target == "home":
                self.go_home()
            else:
                self.sm.current = target

        def open_category(self, category_id: str) -> None:
            cat = self.player.category(category_id)
            if cat is None:
                return
            self.category_screen.set_items(cat, self.player.cards_in(category_id))
            self.sm.current = "category"

        def open_item(self, item_id: str) -> None:
            card = self.player.card(item_id)
            if card is None:  # withdrawn while the list was open
                self.go_home()
                return
            self.detail.show(card, self.player.feedback())
            self.sm.current = "detail"

        def open_feedback(self, item_id: str) -> None:
            card = self.player.card(item_id)
            if card is None:
                return
            self.feedback_screen.show(card, self.player.feedback())
            self.sm.current = "feedback"

    return KioskApp()


def _top_left(widget: Any, width: int, height: int) -> Any:
    """``widget`` at exactly ``width``×``height`` in the output's top-left corner.

    An LED controller card shows only that rectangle of the HDMI picture; the rest of the
    output stays black (Kivy's clear colour) and is never seen.
    """
    from kivy.uix.floatlayout import FloatLayout

    holder = FloatLayout()
    widget.size_hint = (None, None)
    widget.size = (width, height)
    widget.pos_hint = {"x": 0, "top": 1}
    holder.add_widget(widget)
    return holder


def _display_power(config: Config) -> DisplayPower:
    """The screen's power switch; none when there are no screen-off hours to keep."""
    if config.schedule.screen_on is None:
        return DisplayPower(None)
    try:
        backend = detect(config.schedule.power)
    except DisplayPowerError as exc:
        log.warning("display power: %s; screen-off hours will only show black", exc)
        return DisplayPower(None)
    if backend is None:
        log.warning("display power: no way to switch this screen off; it will only show black")
    return DisplayPower(backend)


def _navbars(screen: Any) -> list[Any]:
    from screens.navbar import NavBar

    return [w for w in screen.walk(restrict=True) if isinstance(w, NavBar)]


def _notify_systemd(state: str) -> None:
    """sd_notify without a dependency: a datagram to $NOTIFY_SOCKET, if systemd set one."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    import socket

    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        log.debug("sd_notify failed: %s", exc)
