"""How long a page of text stays on the rolling display.

The rolling display runs unattended, so nobody can ask it to wait: a page has to stay up
long enough for a slow reader standing in front of the screen to finish it, but not so
long that passers-by walk away before the next item. The time therefore follows the
amount of text on the page at an *elderly* reading speed, clamped to a floor (a nearly
empty page still needs time to be noticed and recognised) and a ceiling (one very dense
page must not hold the whole board).

Assumption on the speed: the International Reading Speed Texts study (Trauzettel-Klosinski
& Dietz, IOVS 2012) measured roughly 250 characters per minute for young native Chinese
adults reading aloud at close distance; reading rates fall with age and with poorer
literacy (Brysbaert 2019 review), and a signage reader reads from a metre or more with no
control over the pace. 150 characters per minute, about 60 % of the young-adult figure,
is our working assumption for an elderly villager; it is a parameter, not a fact, and a
deployment can tune it.
"""

from __future__ import annotations

import math
import unicodedata

DEFAULT_CHARS_PER_MINUTE = 150.0

# Scripts read one syllable per character: every character is one unit of reading.
_CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x31A0, 0x31BF),  # Bopomofo extended
    (0x3400, 0x4DBF),  # CJK Unified Ideographs extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0x20000, 0x3134F),  # CJK extensions B-G and compatibility supplement
)


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def count_reading_chars(text: str) -> int:
    """Units of reading effort in ``text``: one per CJK character, one per word otherwise.

    A reader takes in a Chinese character at a time but a Latin word or a number
    ("2024", "WiFi", "12") as one glance, so a run of letters/digits counts once.
    Full-width forms are folded first (NFKC), so "２０２４" counts like "2024".
    Whitespace, punctuation and symbols cost no reading time of their own and are not
    counted: the ``base`` of :func:`page_seconds` already covers orientation.
    """
    units = 0
    in_word = False
    for char in unicodedata.normalize("NFKC", text):
        if _is_cjk(char):
            units += 1
            in_word = False
            continue
        kind = unicodedata.category(char)
        if kind[0] in "LN":
            if not in_word:
                units += 1
                in_word = True
        elif kind[0] == "M":
            continue  # a combining mark belongs to the letter before it
        else:
            in_word = False
    return units


def page_seconds(
    text_chars: int,
    *,
    chars_per_minute: float = DEFAULT_CHARS_PER_MINUTE,
    minimum: float = 8.0,
    maximum: float = 45.0,
    base: float = 3.0,
) -> float:
    """Seconds a page with ``text_chars`` reading units stays up.

    ``base`` is the time to notice that the slide changed and find the first line;
    reading time is added on top at ``chars_per_minute``; the result is clamped to
    ``[minimum, maximum]``. Raises ``ValueError`` for arguments that would make the
    display stall (a non-positive speed) or flicker (a negative count or time).
    """
    if isinstance(text_chars, bool) or not isinstance(text_chars, int) or text_chars < 0:
        raise ValueError(f"text_chars must be a non-negative integer, got {text_chars!r}")
    for name, value in (("minimum", minimum), ("maximum", maximum), ("base", base)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    if not math.isfinite(chars_per_minute) or chars_per_minute <= 0:
        raise ValueError(f"chars_per_minute must be a positive number, got {chars_per_minute!r}")
    if minimum > maximum:
        raise ValueError(f"minimum ({minimum}) is greater than maximum ({maximum})")
    seconds = base + text_chars * 60.0 / chars_per_minute
    return min(max(seconds, minimum), maximum)


def text_seconds(text: str, **kwargs: float) -> float:
    """Seconds for a page whose visible text is ``text``: the two functions above combined."""
    return page_seconds(count_reading_chars(text), **kwargs)
