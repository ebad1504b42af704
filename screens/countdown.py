"""The idle countdown: a band over the bottom of the screen during the last seconds.

DOMAIN.md asks for no time-outs while someone is still reading and for no pop-ups, so the
warning is a band inside the layout, not a dialog: it takes no touches (any touch reaches
the screen below and, through the app's window handler, restarts the idle timer), and it
hides itself the moment the app passes ``None``.
"""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout

from screens.navbar import DEFAULT_METRICS
from screens.theme import metrics_for


def countdown_text(seconds: int) -> str:
    return f"{seconds} 秒后返回滚动播放，轻触屏幕继续浏览"


class CountdownBanner(FloatLayout):
    """A full-area, touch-transparent layer that draws the banner at its bottom edge.

    Give it the whole screen's area (``size_hint: 1, 1``); its type size follows that area.
    """

    seconds = NumericProperty(0)
    shown = BooleanProperty(False)
    text = StringProperty("")
    m = ObjectProperty(DEFAULT_METRICS, rebind=True)

    def set_seconds(self, seconds: int | None) -> None:
        """Show ``seconds`` left, or hide the banner with ``None``."""
        if seconds is None:
            self.shown = False
            self.text = ""
            return
        self.seconds = max(0, int(seconds))
        self.text = countdown_text(int(self.seconds))
        self.shown = True

    def on_size(self, _instance: object, size: list[float]) -> None:
        if size[0] > 0 and size[1] > 0:
            self.m = metrics_for(int(size[0]), int(size[1]))

    # The banner never swallows a touch: the resident's tap must reach the screen.
    def on_touch_down(self, touch: object) -> bool:
        return False

    def on_touch_move(self, touch: object) -> bool:
        return False

    def on_touch_up(self, touch: object) -> bool:
        return False


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
