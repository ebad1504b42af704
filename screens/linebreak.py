"""Line breaking and pagination for Chinese text, following the 避头尾 (kinsoku) rules.

Pure Python, no Kivy: the screen passes ``measure``, a function that returns the rendered
width of a short string in its real font, so the same code serves every screen size and font
and can be tested with a fake monospace measure.

How a paragraph is broken:

* Text is cut into clusters (a character with its combining marks, variation selectors,
  emoji modifiers and ZWJ sequences) so nothing visually joined is ever split.
* Every position between clusters gets a rank. Normal break opportunities are next to a
  CJK (wide) character or a space. Inside a run of Latin letters and digits, including the
  connectors of numbers, dates and addresses (12,345.67, 2026-11-22, a@b.cn), breaking is a
  last resort for a run wider than a whole line. A break that would start a line with
  closing punctuation (NO_LINE_START) or end one with opening punctuation (NO_LINE_END) is
  forbidden, which glues a run such as 。」 to the character before it.
* Lines are filled greedily. When the next cluster does not fit, the line ends at the last
  normal opportunity, which pulls the preceding character down together with its
  punctuation (追い出し). Only when no such opportunity exists on the line (a single long
  unit) may up to MAX_HANG closing marks hang past the right edge (ぶら下げ). Failing that,
  the line is cut inside a word, and as the very last resort anywhere.

Width is the sum of per-cluster widths, each measured once and cached, so a 100,000
character text costs one measure call per distinct cluster rather than the O(n²) of
measuring growing prefixes. This ignores kerning: Chinese type is set on a fixed grid and
has none, and the few hundredths of a pixel a Latin pair may lose are absorbed by the
label's own layout.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable

NO_LINE_START: frozenset[str] = frozenset(
    "，。、；：？！）》」』】〕〉〗〙〛｠”’〞〟…—·・‧%‰℃°′″"
    "．，：；？！％）］｝＞"  # full-width forms
    ",.;:?!)]}"
    "-‐‑–"  # hyphens and the en dash: a line starting with one reads as a list bullet
)
"""Closing punctuation that may not begin a line."""

NO_LINE_END: frozenset[str] = frozenset(
    "（《「『【〔〈〖〘〚｟“‘〝"
    "（［｛＜"  # full-width forms
    "([{"
    "¥￥$＄£￡€"  # currency signs that precede their amount: ￥ | 1,000 would mislead
)
"""Opening punctuation (and prefixed currency signs) that may not end a line."""

MAX_HANG = 3
"""Most closing marks that may hang past the right edge, e.g. ”）。 ; longer runs wrap."""

TAB_SPACES = 4

# Characters that join two alphanumeric runs into one unbreakable word or number.
_CONNECTORS = frozenset(".,:-/_'’@&+")

# Break ranks: lower is better. A position's rank is the worst that applies to it. Inside a
# word, just after a connector (2026- | 11-22, 12, | 345.67) reads better than elsewhere.
_NORMAL, _AFTER_CONNECTOR, _IN_WORD, _KINSOKU = 0, 1, 2, 3


def _is_extender(ch: str) -> bool:
    """True for a code point that belongs to the cluster before it."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0x1F3FB <= cp <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # emoji tag sequences
        or 0xE0100 <= cp <= 0xE01EF
        or cp == 0x200D  # zero-width joiner
    )


def _clusters(text: str) -> list[str]:
    """Split text into user-perceived characters, close enough to UAX #29 for display."""
    out: list[str] = []
    join_next = False
    for ch in text:
        cp = ord(ch)
        if out and (join_next or _is_extender(ch)):
            out[-1] += ch
            join_next = cp == 0x200D
            continue
        if out and 0x1F1E6 <= cp <= 0x1F1FF:
            prev = out[-1]
            if len(prev) == 1 and 0x1F1E6 <= ord(prev) <= 0x1F1FF:  # second flag letter
                out[-1] += ch
                continue
        out.append(ch)
        join_next = False
    return out


def _is_word(cluster: str) -> bool:
    """Narrow or full-width letters and digits; ideographs, kana and hangul break anywhere."""
    ch = cluster[0]
    return ch.isalnum() and unicodedata.east_asian_width(ch) != "W"


class _Widths:
    """Per-cluster widths, each distinct cluster measured once."""

    def __init__(self, measure: Callable[[str], float]) -> None:
        self._measure = measure
        self._cache: dict[str, float] = {}

    def __call__(self, cluster: str) -> float:
        width = self._cache.get(cluster)
        if width is None:
            width = self._measure(cluster)
            if (
                isinstance(width, bool)
                or not isinstance(width, int | float)
                or not math.isfinite(width)
                or width < 0
            ):
                raise ValueError(f"measure({cluster!r}) returned {width!r}, not a width >= 0")
            self._cache[cluster] = width = float(width)
        return width


def _ranks(clusters: list[str]) -> list[int]:
    """Rank of breaking before each cluster (index 0 is never used)."""
    n = len(clusters)
    space = [c.isspace() for c in clusters]
    word = [_is_word(c) for c in clusters]
    conn = [c in _CONNECTORS for c in clusters]
    starts = [c[0] in NO_LINE_START for c in clusters]
    ends = [c[0] in NO_LINE_END for c in clusters]

    # The clusters a break would actually put at the line's edges, looking past spaces.
    prev_end = [False] * (n + 1)  # last non-space before position p is NO_LINE_END
    flag = False
    for p in range(1, n + 1):
        if not space[p - 1]:
            flag = ends[p - 1]
        prev_end[p] = flag
    next_start = [False] * (n + 1)  # first non-space at or after p is NO_LINE_START
    flag = False
    for p in range(n - 1, -1, -1):
        if not space[p]:
            flag = starts[p]
        next_start[p] = flag

    ranks = [_NORMAL] * n
    for p in range(1, n):
        a, b = p - 1, p
        if (
            (word[a] and word[b])
            or (word[a] and conn[b] and b + 1 < n and word[b + 1])
            or (conn[a] and word[b] and a > 0 and word[a - 1])
        ):
            ranks[p] = _AFTER_CONNECTOR if conn[a] else _IN_WORD
        if next_start[p] or prev_end[p]:
            ranks[p] = _KINSOKU
    return ranks


def _break_paragraph(
    clusters: list[str], widths: list[float], max_width: float, out: list[str]
) -> None:
    n = len(clusters)
    ranks = _ranks(clusters)
    space = [c.isspace() for c in clusters]
    start = 0
    first = True  # the first line keeps its leading spaces (a paragraph indent such as 　　)
    while start < n:
        if not first:
            while start < n and space[start]:
                start += 1
            if start == n:
                break
        first = False

        # Greedy fill: `end` is the first cluster that no longer fits; spaces never overflow
        # because trailing spaces are stripped.
        total = 0.0
        end = start
        while end < n:
            total += widths[end]
            if not space[end] and total > max_width and end > start:
                break
            end += 1
        cut = n if end == n else _choose_cut(ranks, clusters, space, start, end)
        line = "".join(clusters[start:cut]).rstrip()
        if line:  # an indent wider than the line would otherwise leave a fake blank line
            out.append(line)
        start = cut


def _choose_cut(
    ranks: list[int], clusters: list[str], space: list[bool], start: int, end: int
) -> int:
    """Where to end a line holding clusters[start:end] when clusters[end] does not fit."""
    n = len(clusters)
    # 追い出し: the last normal opportunity on the line (breaking before `end` included).
    for p in range(end, start, -1):
        if ranks[p] == _NORMAL:
            return p
    # ぶら下げ: let a short run of closing marks hang past the edge, if a normal
    # opportunity follows it.
    hung = 0
    p = end
    while p < n and (space[p] or clusters[p][0] in NO_LINE_START):
        if not space[p]:
            hung += 1
            if hung > MAX_HANG:
                break
        p += 1
        if hung and (p == n or ranks[p] == _NORMAL):
            return p
    # Last resorts: inside a word (after a connector if that leaves the line at least half
    # full), then anywhere.
    for rank, lowest in ((_AFTER_CONNECTOR, (start + end + 1) // 2), (_IN_WORD, start + 1)):
        for p in range(end, lowest - 1, -1):
            if ranks[p] == rank:
                return p
    for p in range(end, start, -1):
        if ranks[p] != _KINSOKU:
            return p
    return end


def break_lines(text: str, max_width: float, measure: Callable[[str], float]) -> list[str]:
    """Break text into lines no wider than max_width, measured with ``measure``.

    Explicit newlines end paragraphs; any number of blank lines between two paragraphs
    becomes a single empty string, and blank lines at the start and end are dropped. Trailing
    spaces are stripped from every line, and leading spaces from wrapped lines (a paragraph's
    own indent is kept). A line is wider than max_width only when it hangs at most MAX_HANG
    closing marks, or when a single cluster is wider than max_width by itself.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, not {type(text).__name__}")
    if isinstance(max_width, bool) or not isinstance(max_width, int | float):
        raise TypeError(f"max_width must be a number, not {type(max_width).__name__}")
    if math.isnan(max_width) or max_width <= 0:
        raise ValueError(f"max_width must be positive, not {max_width!r}")

    width_of = _Widths(measure)
    lines: list[str] = []
    blank_before = False
    for paragraph in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not paragraph.strip():
            blank_before = True
            continue
        if blank_before and lines:
            lines.append("")
        blank_before = False
        clusters = _clusters(paragraph)
        _break_paragraph(clusters, [width_of(c) for c in clusters], max_width, lines)
    return lines


def paginate(lines: list[str], lines_per_page: int) -> list[list[str]]:
    """Split lines into pages of exactly lines_per_page (the last page may be shorter)."""
    if isinstance(lines_per_page, bool) or not isinstance(lines_per_page, int):
        raise TypeError(f"lines_per_page must be an integer, not {type(lines_per_page).__name__}")
    if lines_per_page < 1:
        raise ValueError(f"lines_per_page must be at least 1, not {lines_per_page}")
    return [list(lines[i : i + lines_per_page]) for i in range(0, len(lines), lines_per_page)]


# --- making feed text safe to show ------------------------------------------------------

_LINE_SEPARATORS = {0x85: "\n", 0x2028: "\n", 0x2029: "\n"}  # NEL, LS, PS
_REMOVED = frozenset(
    (
        *range(0x00, 0x20),  # C0 controls (\n and \t are taken out again below)
        *range(0x7F, 0xA0),  # DEL and C1 controls
        *(0x061C, 0x200E, 0x200F),  # bidi marks
        *range(0x202A, 0x202F),  # bidi embeddings and overrides
        *range(0x2066, 0x206A),  # bidi isolates
        *(0x200B, 0x2060, 0xFEFF),  # zero-width space, word joiner, byte-order mark
    )
) - {0x0A, 0x09}
_DROP_TABLE: dict[int, str | None] = {cp: None for cp in _REMOVED}
_DROP_TABLE.update(_LINE_SEPARATORS)
_DROP_TABLE[0x09] = " " * TAB_SPACES


def _is_emoji_part(ch: str) -> bool:
    cp = ord(ch)
    return (
        unicodedata.category(ch) == "So"
        or 0xFE00 <= cp <= 0xFE0F
        or 0x1F3FB <= cp <= 0x1F3FF
        or 0x1F000 <= cp <= 0x1FAFF
    )


_SURROGATE = re.compile("[\ud800-\udfff]")
_ZWJ = re.compile("(.?)\u200d(?=(.?))", re.DOTALL)


def _keep_emoji_zwj(match: re.Match[str]) -> str:
    before, after = match.group(1), match.group(2)
    if before and after and _is_emoji_part(before) and _is_emoji_part(after):
        return before + "\u200d"
    return before


def sanitize(text: str) -> str:
    """Make feed text safe to display literally.

    Removes what could hide, reorder or garble text on a public screen: control characters
    (newlines kept, tabs become spaces), bidirectional overrides, embeddings, isolates and
    marks (which can make a sum or a name read backwards), zero-width spaces and byte-order
    marks, lone surrogates (which a font renderer may refuse), and a zero-width joiner unless
    it joins two emoji. Line endings become \\n and the result is NFC-normalised. Kivy markup
    characters are left alone: labels showing feed text have markup disabled.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, not {type(text).__name__}")
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_DROP_TABLE)
    text = _SURROGATE.sub("", text)
    if "\u200d" in text:
        text = _ZWJ.sub(_keep_emoji_zwj, text)
    return unicodedata.normalize("NFC", text)


def escape_kivy_markup(text: str) -> str:
    """Escape & [ ] for the rare label that must have markup on, so the text stays literal."""
    return text.replace("&", "&amp;").replace("[", "&bl;").replace("]", "&br;")
