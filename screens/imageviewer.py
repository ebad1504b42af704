"""An enlarged view of a detail's images, as a layer inside the screen, not a pop-up.

Elderly-friendly norms say no pop-ups: the viewer covers the detail screen's whole area,
shows one image as large as it fits, says which of how many it is, and offers a large
关闭 button (and 上一张 / 下一张 when there are several). It swallows every touch while
open, so nothing behind it can be pressed by accident.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kivy.lang import Builder
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.floatlayout import FloatLayout

from screens.navbar import DEFAULT_METRICS, FlatButton  # noqa: F401  (FlatButton: .kv)
from screens.theme import metrics_for


def position_text(index: int, count: int) -> str:
    return f"第 {index + 1}/{count} 张"


class ImageViewer(FloatLayout):
    """Show with :meth:`open_at`; dispatches ``on_close`` when 关闭 is pressed."""

    paths = ListProperty([])
    index = NumericProperty(0)
    is_open = BooleanProperty(False)
    source = StringProperty("")
    caption = StringProperty("")
    m = ObjectProperty(DEFAULT_METRICS, rebind=True)

    __events__ = ("on_close",)

    def open_at(self, paths: Sequence[str], index: int = 0) -> None:
        self.paths = list(paths)
        self.index = min(max(0, index), max(len(self.paths) - 1, 0))
        self._show()  # the same paths and index again fire no event, and close() cleared it
        self.is_open = bool(self.paths)

    def step(self, delta: int) -> None:
        if self.paths:
            self.index = (self.index + delta) % len(self.paths)

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            self.source = ""  # give back the full-screen image's texture
            self.dispatch("on_close")

    def current_path(self) -> str:
        return self.paths[int(self.index)] if self.paths else ""

    def on_paths(self, *_args: object) -> None:
        self._show()

    def on_index(self, *_args: object) -> None:
        self._show()

    def _show(self) -> None:
        count = len(self.paths)
        self.source = self.current_path()
        self.caption = position_text(int(self.index), count) if count else ""

    def on_size(self, _instance: object, size: list[float]) -> None:
        if size[0] > 0 and size[1] > 0:
            self.m = metrics_for(int(size[0]), int(size[1]))

    def on_close(self) -> None:
        pass

    # While open, nothing behind the layer may react; closed, it is not in the tree.
    def on_touch_down(self, touch: object) -> bool:
        super().on_touch_down(touch)
        return True

    def on_touch_move(self, touch: object) -> bool:
        super().on_touch_move(touch)
        return True

    def on_touch_up(self, touch: object) -> bool:
        super().on_touch_up(touch)
        return True


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
