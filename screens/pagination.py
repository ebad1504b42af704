"""Splitting an item's body into pages that fit a box of the rolling display.

The rolling display never scrolls: a long disclosure (a 财务 statement, a 四议两公开
record) is shown as a sequence of pages, and the playlist needs to know how many pages an
item has and how much text each holds (to time it) *before* the page is drawn. So pages
are computed here from the box size and the real font, with the very line breaks
:class:`~screens.plaintext.PlainLabel` will draw (same :func:`~screens.plaintext.wrap`,
same width), and the label's line pitch is pinned to :func:`~screens.plaintext.line_pixels`
by :func:`line_height_for`, so ``lines * line_pixels <= box height`` is a promise the
drawn page keeps.

"Pure-ish": no widgets, but measuring needs Kivy's text provider and the registered font.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar

from screens.fonts import FONT_NAME
from screens.linebreak import sanitize
from screens.plaintext import line_pixels, measurer, wrap

LABEL_SLACK = 2.0
"""PlainLabel wraps a hair (2 px) narrower than its width; pagination must do the same."""

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@lru_cache(maxsize=128)
def natural_height(font_size: float, bold: bool = False, font_name: str = FONT_NAME) -> float:
    """Height of one line of the font at line_height 1 (ascent + descent), as Kivy lays it."""
    from kivy.core.text import Label as CoreLabel

    core = CoreLabel(font_name=font_name, font_size=font_size, bold=bold)
    return float(max(core.get_extents("国Ag")[1], 1))


def line_height_for(font_size: float, bold: bool = False) -> float:
    """Kivy ``line_height`` factor that makes a label's line pitch ``floor(line_pixels)``.

    Kivy multiplies the font's natural height (about 1.45 em for CJK faces) by
    ``line_height`` and truncates per line, so ``LINE_HEIGHT`` itself would give a pitch of
    about 2 em: far looser than the 1.4 em the theme means, and not what pagination
    counts. The extra half pixel keeps the truncation from losing a whole pixel.
    """
    pitch = math.floor(line_pixels(font_size))
    return (pitch + 0.5) / natural_height(float(font_size), bold)


def drawn_height(lines: int, font_size: float, bold: bool = False) -> float:
    """Height of a label's texture showing ``lines`` lines at :func:`line_height_for`.

    Kivy gives the last line the font's full natural height even when ``line_height`` is
    below 1, so a page is a few pixels taller than ``lines * pitch``.
    """
    if lines <= 0:
        return 0.0
    pitch = math.floor(line_pixels(font_size))
    return (lines - 1) * pitch + max(pitch, natural_height(float(font_size), bold))


def block_height(lines: int, font_size: float, bold: bool = False) -> float:
    """Room ``lines`` lines need: the pagination count and the drawn texture, whichever
    is taller."""
    return max(lines * line_pixels(font_size), drawn_height(lines, font_size, bold))


def lines_per_box(height: float, font_size: float, bold: bool = False) -> int:
    """Whole lines that fit ``height``: ``lines * line_pixels <= height`` and the drawn
    texture too (at least one line, so a tiny box still shows something)."""
    lines = int(height // line_pixels(font_size))
    while lines > 1 and block_height(lines, font_size, bold) > height:
        lines -= 1
    return max(1, lines)


def body_lines(text: str, width: float, font_size: float, bold: bool = False) -> list[str]:
    """The lines a PlainLabel ``width`` pixels wide shows for ``text``."""
    return wrap(text, width - LABEL_SLACK, font_size, bold)


def count_chars(text: str) -> int:
    """Characters a reader has to read: everything but whitespace."""
    return sum(1 for ch in text if not ch.isspace())


@dataclass(frozen=True)
class Pages:
    """A body cut into pages of at most ``lines_per_page`` drawn lines each."""

    pages: tuple[tuple[str, ...], ...]
    lines_per_page: int

    def __len__(self) -> int:
        return len(self.pages)

    def clamp(self, index: int) -> int:
        return min(max(index, 0), len(self.pages) - 1)

    def text(self, index: int) -> str:
        return "\n".join(self.pages[self.clamp(index)])

    def chars(self, index: int) -> int:
        return count_chars(self.text(index))


def paginate_body(
    text: str, width: float, height: float, font_size: float, bold: bool = False
) -> Pages:
    """Cut ``text`` into pages for a box of ``width`` × ``height`` pixels.

    * A page never starts or ends with a blank line (a paragraph gap at a page edge
      wastes a line).
    * A page ends at a paragraph end when one is among its last quarter of lines, so the
      next page starts with a paragraph (often "三、…") rather than mid-sentence.
    * Pages are balanced (same count, evenly filled), so the last page is not a stray
      fragment that a passer-by sees without its beginning.
    * A line wider than the box (a ぶら下げ line whose closing marks hang past the edge)
      counts as two, because the label's own wrap may still push the hanging marks down.
    * An empty body is one empty page, so a title-only item is still shown once.
    """
    per_page = lines_per_box(height, font_size, bold)
    lines, ends = _paragraph_lines(text, width, font_size, bold)
    measure = measurer(font_size, bold)
    costs = [1 if not line or measure(line) <= width else 2 for line in lines]
    pages = _fill(lines, costs, ends, per_page)
    if len(pages) > 1:
        for target in range(-(-sum(costs) // len(pages)), per_page):
            even = _fill(lines, costs, ends, target)
            if len(even) == len(pages):
                pages = even
                break
    return Pages(tuple(pages) or ((),), per_page)


def _paragraph_lines(
    text: str, width: float, font_size: float, bold: bool
) -> tuple[list[str], list[bool]]:
    """The label's lines (as :func:`body_lines`) and whether each one ends a paragraph."""
    lines: list[str] = []
    ends: list[bool] = []
    if width <= LABEL_SLACK:
        return lines, ends
    blank_before = False
    for paragraph in sanitize(text).split("\n"):
        if not paragraph.strip():
            blank_before = True
            continue
        if blank_before and lines:
            lines.append("")
            ends.append(True)
        blank_before = False
        wrapped = body_lines(paragraph, width, font_size, bold)
        lines.extend(wrapped)
        ends.extend([False] * (len(wrapped) - 1) + [True])
    return lines, ends


def _fill(
    lines: list[str], costs: list[int], ends: list[bool], per_page: int
) -> list[tuple[str, ...]]:
    """Fill pages greedily, ending a page early at a paragraph end near its bottom."""
    slack = per_page // 4
    pages: list[tuple[str, ...]] = []
    current: list[int] = []
    used = 0
    for i, line in enumerate(lines):
        if not line and not current:
            continue
        if current and used + costs[i] > per_page:
            cut = len(current)
            for k in range(len(current), len(current) - slack - 1, -1):
                if k > 0 and ends[current[k - 1]]:
                    cut = k
                    break
            pages.append(_trimmed([lines[j] for j in current[:cut]]))
            current = [j for j in current[cut:] if lines[j] or j != current[cut]]
            used = sum(costs[j] for j in current)
            if not line and not current:
                continue
        current.append(i)
        used += costs[i]
    if current:
        pages.append(_trimmed([lines[j] for j in current]))
    return pages


def _trimmed(lines: list[str]) -> tuple[str, ...]:
    while lines and not lines[-1]:
        lines.pop()
    return tuple(lines)


class LruCache(Generic[K, V]):
    """A small bounded memo: the display rolls for days, so nothing may grow without end."""

    def __init__(self, maxsize: int = 64) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K, make: Callable[[], V]) -> V:
        if key in self._data:
            self._data.move_to_end(key)
            return self._data[key]
        value = make()
        self._data[key] = value
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
