"""The technician's two screens: a PIN pad, and a panel with the terminal's vital signs.

Technicians stand at a kiosk without a keyboard, often with a phone in the other hand, so
the PIN pad is as large as the residents' screens and the panel lists, in one table, what a
support call asks for first (terminal id, version, feed, last sync, counts, disk, address).
The screen test draws colour bars, a one-pixel grid and corner markers over the whole
area, to check a new panel's scaling, overscan and colours on site.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.graphics import Color, Rectangle
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from screens.fonts import FONT_NAME
from screens.navbar import DEFAULT_METRICS, FlatButton, MetricsScreen
from screens.plaintext import PlainLabel  # noqa: F401  (used by technician.kv)
from screens.theme import TEXT, metrics_for, rgba

MAX_PIN = 12
PIN_PROMPT = "请输入维护密码"
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "删除", "0", "确定")
SYNC_STARTED = "已开始同步，结果稍后显示在上表中"

BARS = ("#ffffff", "#ffff00", "#00ffff", "#00ff00", "#ff00ff", "#ff0000", "#0000ff", "#000000")
GRID_STEP = 40  # px between the 1-px grid lines
MARKER = "#ff0000"


def masked(entry: str) -> str:
    return "  ".join("●" for _ in entry)


class PinScreen(MetricsScreen):
    """Name ``pin``. Dispatches ``on_pin(pin)`` on 确定 and ``on_cancel`` on 取消.

    The digits typed are kept only until 确定, 取消 or leaving the screen.
    """

    entry = StringProperty("")
    message = StringProperty(PIN_PROMPT)
    dots = StringProperty("")

    __events__ = ("on_pin", "on_cancel")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pad = self.ids.pad
        for key in KEYS:
            button = FlatButton(text=key, bold=key.isdigit())
            button.bind(on_release=lambda b: self.press_key(b.text))
            pad.add_widget(button)
        self.bind(m=self._style_keys)
        self._style_keys()

    def _style_keys(self, *_args: object) -> None:
        for button in self.ids.pad.children:
            digit = button.text.isdigit()
            button.font_size = round((64 if digit else 44) * self.m.scale)
            if button.text == "确定":
                button.fg, button.bg = rgba("#ffffff"), rgba(TEXT)
                button.bold = True

    def press_key(self, key: str) -> None:
        if key == "删除":
            self.entry = self.entry[:-1]
        elif key == "确定":
            self.confirm()
        elif key.isdigit() and len(key) == 1 and len(self.entry) < MAX_PIN:
            self.entry += key

    def confirm(self) -> None:
        pin = self.entry
        if not pin:
            self.message = PIN_PROMPT
            return
        self.entry = ""
        self.dispatch("on_pin", pin)

    def cancel(self) -> None:
        self.entry = ""
        self.dispatch("on_cancel")

    def on_entry(self, _instance: object, entry: str) -> None:
        self.dots = masked(entry)

    def set_message(self, text: str) -> None:
        self.message = text

    def clear(self) -> None:
        """Forget the digits typed (the message stays: the app sets it just before)."""
        self.entry = ""

    def on_leave(self, *_args: object) -> None:
        self.entry = ""
        self.message = PIN_PROMPT

    def on_pin(self, pin: str) -> None:
        pass

    def on_cancel(self) -> None:
        pass


class InfoRow(BoxLayout):
    """One key/value line of the panel's table; values may come from the feed or the OS."""

    key = StringProperty("")
    value = StringProperty("")
    shaded = BooleanProperty(False)
    m = ObjectProperty(DEFAULT_METRICS, rebind=True)


class PatternLayer(Widget):
    """Colour bars, grey steps, a 1-px grid and corner markers; any touch closes it."""

    __events__ = ("on_close",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._label = Label(font_name=FONT_NAME, markup=False, color=(1, 1, 1, 1))
        self.add_widget(self._label)
        self.bind(size=self._draw, pos=self._draw)

    def _draw(self, *_args: object) -> None:
        x0, y0 = int(self.x), int(self.y)
        w, h = int(self.width), int(self.height)
        m = metrics_for(max(w, 1), max(h, 1))
        self.canvas.before.clear()
        with self.canvas.before:
            Color(0, 0, 0, 1)
            Rectangle(pos=(x0, y0), size=(w, h))
            bars_h = int(h * 0.5)
            for i, colour in enumerate(BARS):  # top half: eight bars
                left, right = x0 + w * i // len(BARS), x0 + w * (i + 1) // len(BARS)
                Color(*rgba(colour))
                Rectangle(pos=(left, y0 + h - bars_h), size=(right - left, bars_h))
            steps = 11
            ramp_h = int(h * 0.12)
            for i in range(steps):  # then a grey ramp, black to white
                left, right = x0 + w * i // steps, x0 + w * (i + 1) // steps
                Color(i / (steps - 1), i / (steps - 1), i / (steps - 1), 1)
                Rectangle(pos=(left, y0 + h - bars_h - ramp_h), size=(right - left, ramp_h))
            grid_top = h - bars_h - ramp_h
            Color(1, 1, 1, 1)  # bottom: a one-pixel grid on black
            for gx in range(0, w, GRID_STEP):
                Rectangle(pos=(x0 + gx, y0), size=(1, grid_top))
            for gy in range(0, grid_top, GRID_STEP):
                Rectangle(pos=(x0, y0 + gy), size=(w, 1))
            Color(*rgba(MARKER))  # a 1-px frame on the outermost pixels, and corner marks
            for rect in ((0, 0, w, 1), (0, h - 1, w, 1), (0, 0, 1, h), (w - 1, 0, 1, h)):
                Rectangle(pos=(x0 + rect[0], y0 + rect[1]), size=(rect[2], rect[3]))
            arm, thick = max(24, int(80 * m.scale)), max(4, int(10 * m.scale))
            for cx, cy in ((0, 0), (w - arm, 0), (0, h - thick), (w - arm, h - thick)):
                Rectangle(pos=(x0 + cx, y0 + cy), size=(arm, thick))
            for cx, cy in ((0, 0), (w - thick, 0), (0, h - arm), (w - thick, h - arm)):
                Rectangle(pos=(x0 + cx, y0 + cy), size=(thick, arm))
        self._label.text = f"{w} × {h}　轻触任意处关闭"
        self._label.font_size = m.body_font
        self._label.texture_update()
        tw, th = self._label.texture_size
        self._label.size = (tw + 2 * m.margin, th + m.margin)
        self._label.center = (x0 + w / 2, y0 + grid_top / 2)
        with self.canvas.before:
            Color(0, 0, 0, 1)
            Rectangle(pos=self._label.pos, size=self._label.size)

    def on_touch_down(self, touch: Any) -> bool:
        return True

    def on_touch_move(self, touch: Any) -> bool:
        return True

    def on_touch_up(self, touch: Any) -> bool:
        self.dispatch("on_close")
        return True

    def on_close(self) -> None:
        pass


class TechnicianScreen(MetricsScreen):
    """Name ``technician``: events ``on_sync_now``, ``on_test_pattern``, ``on_close``."""

    rows = ListProperty([])
    status = StringProperty("")
    pattern_open = BooleanProperty(False)

    __events__ = ("on_sync_now", "on_test_pattern", "on_close")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pattern = PatternLayer()
        self.pattern.bind(on_close=lambda *_: self.close_test_pattern())
        self.bind(m=self._restyle)

    def set_info(self, rows: list[tuple[str, str]]) -> None:
        self.rows = list(rows)
        table = self.ids.table
        table.clear_widgets()
        for index, (key, value) in enumerate(rows):
            table.add_widget(
                InfoRow(key=str(key), value=str(value), shaded=index % 2 == 0, m=self.m)
            )

    def _restyle(self, *_args: object) -> None:
        for row in self.ids.table.children:
            row.m = self.m

    def sync_now(self) -> None:
        self.status = SYNC_STARTED
        self.dispatch("on_sync_now")

    def show_test_pattern(self) -> None:
        if self.pattern.parent is None:
            self.pattern.size_hint = (1, 1)
            self.add_widget(self.pattern)
        self.pattern_open = True
        self.dispatch("on_test_pattern")

    def close_test_pattern(self) -> None:
        if self.pattern.parent is not None:
            self.pattern.parent.remove_widget(self.pattern)
        self.pattern_open = False

    def on_leave(self, *_args: object) -> None:
        self.close_test_pattern()
        self.status = ""

    def on_sync_now(self) -> None:
        pass

    def on_test_pattern(self) -> None:
        pass

    def on_close(self) -> None:
        pass


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
