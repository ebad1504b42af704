"""The first screen a resident sees after touching the rolling display: one tile per category.

Few, very large tiles with the category's name in big type and its colour only as an accent
band, so a reader who cannot tell red from green still finds 财务公开 by its name. The grid
is chosen per orientation so five categories fit without scrolling: 3 + 2 in landscape,
one column in portrait; more categories get more columns and, past that, a scroll.
"""

from __future__ import annotations

import math
from pathlib import Path

from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import ColorProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.relativelayout import RelativeLayout

from screens.cards import CategoryCard
from screens.countdown import CountdownBanner  # noqa: F401  (used by home.kv)
from screens.navbar import DEFAULT_METRICS, MetricsScreen
from screens.plaintext import PlainLabel  # noqa: F401  (used by home.kv)
from screens.theme import FALLBACK_CATEGORY, Metrics, rgba

HEADING = "三务公开 · 请点击查看"


def grid_shape(count: int, portrait: bool) -> tuple[int, int]:
    """(columns, rows) for ``count`` tiles: big tiles first, then more columns."""
    if count <= 0:
        return 1, 0
    if portrait:
        cols = 1 if count <= 5 else 2
    elif count <= 3:
        cols = count
    elif count == 4:
        cols = 2
    elif count <= 6:
        cols = 3
    else:
        cols = 4
    return cols, math.ceil(count / cols)


def count_text(count: int) -> str:
    return f"共 {count} 项"


class CategoryTile(ButtonBehavior, RelativeLayout):
    """One category: accent band in the category colour, its name, its item count."""

    category_id = StringProperty("")
    name = StringProperty("")
    count = StringProperty("")
    accent = ColorProperty(rgba(FALLBACK_CATEGORY))
    m = ObjectProperty(DEFAULT_METRICS, rebind=True)
    border_px = NumericProperty(2)
    band_px = NumericProperty(28)


class TileArea(FloatLayout):
    """Places the tiles row by row; an incomplete last row is centred under the others."""

    m = ObjectProperty(DEFAULT_METRICS, rebind=True)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._place = Clock.create_trigger(self.place, -1)
        self.bind(size=self._place, m=self._place)

    def on_parent(self, _instance: object, parent: object) -> None:
        # Tile heights follow the visible (scroll) area, not only our own size.
        if parent is not None:
            parent.bind(height=self._place)  # type: ignore[attr-defined]

    def tile_height(self, m: Metrics, rows: int, available: float) -> float:
        if rows == 0:
            return 0
        fit = (available - (rows - 1) * m.gutter) / rows
        return max(round(200 * m.scale), min(fit, round(420 * m.scale)))

    def place(self, *_args: object) -> None:
        tiles = list(reversed(self.children))
        m = self.m
        cols, rows = grid_shape(len(tiles), m.portrait)
        available = self.parent.height if self.parent is not None else self.height
        th = self.tile_height(m, rows, available)
        inner = self.width - 2 * m.margin
        tw = (inner - (cols - 1) * m.gutter) / cols
        needed = rows * th + max(rows - 1, 0) * m.gutter
        self.height = max(needed, available)
        top = self.height - (self.height - needed) / 2
        for index, tile in enumerate(tiles):
            row, col = divmod(index, cols)
            in_row = min(cols, len(tiles) - row * cols)
            row_width = in_row * tw + (in_row - 1) * m.gutter
            left = self.x + (self.width - row_width) / 2
            tile.m = m
            tile.size = (tw, th)
            bottom = self.y + top - (row + 1) * th - row * m.gutter
            tile.pos = (left + col * (tw + m.gutter), bottom)


class HomeScreen(MetricsScreen):
    """Name ``home``. Dispatches ``on_category(category_id)`` when a tile is touched."""

    terminal_name = StringProperty("")
    heading = StringProperty(HEADING)

    __events__ = ("on_category",)

    def set_categories(self, cards: list[CategoryCard], terminal_name: str) -> None:
        self.terminal_name = terminal_name
        area = self.ids.tiles
        area.clear_widgets()
        for card in cards:
            tile = CategoryTile(
                category_id=card.id,
                name=card.name,
                count=count_text(card.count),
                accent=rgba(card.color or FALLBACK_CATEGORY),
            )
            tile.bind(on_release=self._tile_released)
            area.add_widget(tile)
        area.place()

    def _tile_released(self, tile: CategoryTile) -> None:
        self.dispatch("on_category", tile.category_id)

    def set_countdown(self, seconds: int | None) -> None:
        self.ids.countdown.set_seconds(seconds)

    def on_category(self, category_id: str) -> None:
        pass


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
