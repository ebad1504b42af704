"""One category's items as a list, newest first, with subcategory filter chips on top.

The list is a RecycleView so a category with hundreds of items stays cheap on a Pi. Rows
are tall (≥ 96 px at 1080p) and show the title on at most two lines; the filter chips
mark the selected one by a thicker border, bold type and a ✓ as well as by colour.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.lang import Builder
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.recycleview import RecycleView
from kivy.uix.recycleview.views import RecycleDataViewBehavior

from screens.cards import CategoryCard, ItemCard
from screens.countdown import CountdownBanner  # noqa: F401  (used by category.kv)
from screens.fonts import FONT_NAME
from screens.linebreak import sanitize
from screens.navbar import DEFAULT_METRICS, FlatButton, MetricsScreen
from screens.plaintext import PlainLabel, wrap  # noqa: F401
from screens.theme import Metrics, band_colors, rgba

ALL = ""  # the "全部" chip's value
TITLE_LINES = 2
EMPTY_TEXT = "暂无公开内容"


ROW_GAP = 8  # px between a row and the list's scroll bar
TITLE_LINE_HEIGHT = 1.0  # Kivy's factor on the face's own line box (≈1.47 em in Noto CJK)


@lru_cache(maxsize=64)
def natural_line(font_size: float, bold: bool = False) -> float:
    """Height of one line as Kivy lays it out in the kiosk font (line_height 1)."""
    core = CoreLabel(font_name=FONT_NAME, font_size=font_size, bold=bold)
    return float(core.get_extents("中")[1])


def text_height(lines: int, font_size: float, line_height: float, bold: bool = False) -> float:
    """Height of a ``lines``-line label: Kivy spaces lines by line_height × the line box."""
    one = natural_line(font_size, bold)
    return one + max(lines - 1, 0) * one * line_height


def row_metrics(m: Metrics) -> tuple[float, float, float]:
    """(title font, meta font, vertical padding) of a list row."""
    return m.body_font, m.meta_font, round(20 * m.scale)


def row_height(title_lines: int, m: Metrics) -> float:
    title_font, meta_font, pad = row_metrics(m)
    lines = max(1, min(TITLE_LINES, title_lines))
    title = text_height(lines, title_font, TITLE_LINE_HEIGHT, bold=True)
    meta = natural_line(meta_font)
    return max(m.touch_target, 2 * pad + title + round(10 * m.scale) + meta)


def meta_text(card: ItemCard) -> str:
    return "　·　".join(part for part in (card.subcategory, card.published) if part)


def newest_first(items: list[ItemCard]) -> list[ItemCard]:
    return sorted(items, key=lambda card: card.sort_key, reverse=True)


class ItemRow(RecycleDataViewBehavior, ButtonBehavior, BoxLayout):
    """One list row; touching it calls ``choose(item_id)`` (set through the data dict)."""

    item_id = StringProperty("")
    title = StringProperty("")
    meta = StringProperty("")
    urgent = BooleanProperty(False)
    accent = ColorProperty(rgba("#37474f"))
    m = ObjectProperty(DEFAULT_METRICS, rebind=True)
    choose = ObjectProperty(None, allownone=True)

    def on_release(self) -> None:
        if self.choose is not None:
            self.choose(self.item_id)


class ItemList(RecycleView):
    """The RecycleView of rows; a class of its own so the .kv can style its scroll bar."""

    m = ObjectProperty(DEFAULT_METRICS, rebind=True)


def chip_text(label: str, count: int, selected: bool) -> str:
    return f"{'✓ ' if selected else ''}{label}（{count}）"


class Chip(FlatButton):
    """A subcategory filter; ``value`` is the subcategory ("" for 全部).

    Selected, it is bold, filled, thicker-bordered and starts with ✓: never colour alone.
    """

    value = StringProperty(ALL)
    selected = BooleanProperty(False)
    label = StringProperty("")
    count = NumericProperty(0)
    accent = ColorProperty(rgba("#37474f"))
    m = ObjectProperty(DEFAULT_METRICS, rebind=True)
    column = BooleanProperty(False)  # True: one full-width chip per line (landscape sidebar)

    pad_x = NumericProperty(24)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(
            label=self._retext,
            count=self._retext,
            selected=self._retext,
            column=self._retext,
            width=self._retext,
            font_size=self._retext,
        )
        self._retext()

    def _retext(self, *_args: object) -> None:
        text = chip_text(self.label, int(self.count), self.selected)
        if self.column:  # a full-width menu entry: break it by the 避头尾 rules ourselves
            width = self.width - 2 * self.pad_x - 2
            text = "\n".join(wrap(text, width, self.font_size, self.selected)) if width > 0 else ""
        self.text = text


class CategoryScreen(MetricsScreen):
    """Name ``category``. Dispatches ``on_item(item_id)`` when a row is touched."""

    category_name = StringProperty("")
    band = ColorProperty(rgba("#37474f"))
    band_text = ColorProperty(rgba("#ffffff"))
    accent = ColorProperty(rgba("#37474f"))
    selected = StringProperty(ALL)
    empty = BooleanProperty(False)
    chips = ListProperty([])

    __events__ = ("on_item",)

    def __init__(self, **kwargs: Any) -> None:
        self._items: list[ItemCard] = []
        super().__init__(**kwargs)
        self._refresh = Clock.create_trigger(self.refresh_list, -1)
        self.bind(m=self._refresh)
        self.ids.list.bind(width=self._refresh)

    def set_items(self, category: CategoryCard, items: list[ItemCard]) -> None:
        band, text = band_colors(category.color)
        self.band, self.band_text = rgba(band), rgba(text)
        self.accent = rgba(band)
        self.category_name = category.name
        self._items = newest_first(list(items))
        self.selected = ALL
        self._build_chips()
        self.refresh_list()
        self.ids.list.scroll_y = 1

    def on_m(self, _instance: object, m: Metrics) -> None:
        for chip in self.ids.chips.children:
            chip.m = m
            chip.column = not m.portrait

    def select_subcategory(self, value: str) -> None:
        """Show only one subcategory ("" for all), as touching its chip does."""
        self.selected = value
        for chip in self.ids.chips.children:
            chip.selected = chip.value == value
        self.refresh_list()
        self.ids.list.scroll_y = 1

    def visible_items(self) -> list[ItemCard]:
        if self.selected == ALL:
            return list(self._items)
        return [card for card in self._items if card.subcategory == self.selected]

    def _build_chips(self) -> None:
        box = self.ids.chips
        box.clear_widgets()
        counts = Counter(card.subcategory for card in self._items if card.subcategory)
        entries = [(ALL, "全部", len(self._items))]
        entries += [(name, sanitize(name), n) for name, n in sorted(counts.items())]
        self.chips = entries
        for value, label, count in entries:
            chip = Chip(
                value=value,
                label=label,
                count=count,
                accent=self.accent,
                selected=value == self.selected,
                m=self.m,
                column=not self.m.portrait,
            )
            chip.bind(on_release=lambda c: self.select_subcategory(c.value))
            box.add_widget(chip)

    def refresh_list(self, *_args: object) -> None:
        m = self.m
        title_font = row_metrics(m)[0]
        # The title's width inside a row, the same sum as category.kv makes.
        rv = self.ids.list
        row = rv.width - rv.bar_width - ROW_GAP
        width = row - 2 * round(32 * m.scale) - round(64 * m.scale) - m.gutter - 4
        shown = self.visible_items()
        choose: Callable[[str], None] = self._choose
        data = []
        for card in shown:
            lines = len(wrap(card.title, width, title_font, True)) if width > 0 else 1
            data.append(
                {
                    "item_id": card.id,
                    "title": card.title,
                    "meta": meta_text(card),
                    "urgent": card.urgent,
                    "accent": self.accent,
                    "m": m,
                    "choose": choose,
                    "height": row_height(lines, m),
                }
            )
        self.ids.list.data = data
        self.empty = not data

    def _choose(self, item_id: str) -> None:
        self.dispatch("on_item", item_id)

    def set_countdown(self, seconds: int | None) -> None:
        self.ids.countdown.set_seconds(seconds)

    def on_item(self, item_id: str) -> None:
        pass


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
