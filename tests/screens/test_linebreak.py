from __future__ import annotations

import math
import os
import time
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screens.linebreak import (
    MAX_HANG,
    NO_LINE_END,
    NO_LINE_START,
    break_lines,
    escape_kivy_markup,
    paginate,
    sanitize,
)

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")

EPS = 1e-9


def measure(text: str) -> float:
    """Fake monospace font: ASCII is half as wide as everything else."""
    return sum(0.5 if ord(ch) < 128 else 1.0 for ch in text)


def width(line: str) -> float:
    return measure(line)


def visible(text: str) -> str:
    return "".join(ch for ch in text if not ch.isspace())


# --- a corpus of Chinese-like text with lots of punctuation ----------------------------------

HANZI = "公开村务财务党务政务民主监督委员会收支情况如下合计元年月日关于的通知第期"
OPENING = sorted(NO_LINE_END)
CLOSING = sorted(NO_LINE_START)

cjk_run = st.text(alphabet=HANZI, min_size=1, max_size=8)
latin_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC", min_size=1, max_size=14)
number = st.sampled_from(["12,345.67", "2026-11-22", "10:30", "3.5", "100", "0571-12345678"])
token = st.tuples(
    st.lists(st.sampled_from(OPENING), max_size=2),
    st.one_of(cjk_run, cjk_run, latin_word, number),
    st.lists(st.sampled_from(CLOSING), max_size=MAX_HANG),
).map(lambda t: "".join(t[0]) + t[1] + "".join(t[2]))
separator = st.sampled_from(["", "", "", "", " ", "  ", "\u3000", "\n", "\n\n\n\n", "\n \n"])
corpus = st.lists(st.tuples(token, separator), min_size=1, max_size=40).map(
    lambda parts: "".join(tok + sep for tok, sep in parts)
)
# From three full-width characters up: narrower than that, a single opening mark, character
# and closing run cannot share a line and the rules must give way somewhere.
widths = st.sampled_from([3.0, 3.5, 4.0, 5.0, 7.5, 10.0, 16.0, 40.0])


def paragraphs(text: str) -> list[str]:
    return [p for p in text.replace("\r\n", "\n").split("\n") if p.strip()]


def core_width(line: str) -> float:
    """Width once up to MAX_HANG closing marks at the end (ぶら下げ) are taken off."""
    for _ in range(MAX_HANG):
        if line and line[-1] in NO_LINE_START:
            line = line[:-1].rstrip()
    return width(line)


@settings(max_examples=400, deadline=None)
@given(text=corpus, max_width=widths)
def test_kinsoku_rules_hold_on_a_random_corpus(text: str, max_width: float) -> None:
    lines = break_lines(text, max_width, measure)

    # Nothing lost, nothing added, order kept.
    assert visible("".join(lines)) == visible(text)

    for line in lines:
        if not line:
            continue
        assert not line[-1].isspace()
        assert line.lstrip()[0] not in NO_LINE_START, (line, lines)
        assert line[-1] not in NO_LINE_END, (line, lines)
        assert width(line) <= max_width + EPS or core_width(line) <= max_width + EPS, (
            line,
            max_width,
        )


@settings(max_examples=300, deadline=None)
@given(text=corpus, max_width=widths)
def test_explicit_newlines_are_paragraph_breaks(text: str, max_width: float) -> None:
    lines = break_lines(text, max_width, measure)
    source = text.split("\n")
    wanted = paragraphs(text)
    # Walk the output: each paragraph is a run of non-empty lines, and a single empty line
    # stands between two paragraphs exactly where the input had blank lines between them.
    position = 0
    index_in_source = 0
    for k, paragraph in enumerate(wanted):
        blank_before = False
        while not source[index_in_source].strip():
            blank_before = True
            index_in_source += 1
        index_in_source += 1
        if k > 0:
            if blank_before:
                assert lines[position] == ""
                position += 1
            else:
                assert lines[position] != ""
        got = ""
        while visible(got) != visible(paragraph):
            line = lines[position]
            assert line != ""
            assert visible(paragraph).startswith(visible(got + line))
            if got:  # a wrapped line never starts with the space it was wrapped at
                assert not line[0].isspace()
            got += line
            position += 1
    assert position == len(lines)


VOCABULARY = ["disclosure", "Kiosk", "12,345.67", "2026-11-22", "10:30", "0571-12345678", "3.5%"]


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.tuples(
            cjk_run,
            st.sampled_from(["", " ", "（", "《", "“"]),
            st.sampled_from(VOCABULARY),
            st.sampled_from(["", " ", "，", "。", "）", "》", "”。"]),
        ),
        min_size=1,
        max_size=20,
    ),
    max_width=st.sampled_from([4.0, 6.0, 8.5, 11.0, 20.0]),
)
def test_words_and_numbers_are_kept_together(
    parts: list[tuple[str, str, str, str]], max_width: float
) -> None:
    text = "".join("".join(part) for part in parts)
    lines = break_lines(text, max_width, measure)
    assert visible("".join(lines)) == visible(text)
    for word in VOCABULARY:
        if width(word) + 2 <= max_width:  # room for the word and an opening mark before it
            assert sum(line.count(word) for line in lines) == text.count(word), (word, lines)


@pytest.mark.parametrize(
    ("text", "max_width", "expected"),
    [
        # 追い出し: 五 is pulled down so that 。 does not start a line.
        ("一二三四五。六", 5, ["一二三四", "五。六"]),
        # A run of closing marks counts as one.
        ("一二三四五。」六", 5, ["一二三四", "五。」六"]),
        ("一二三四五……六", 5, ["一二三四", "五……六"]),
        # Opening marks are pushed to the next line rather than left at the end.
        ("一二三四（五）", 5, ["一二三四", "（五）"]),
        ("一二三《“四”》", 5, ["一二三", "《“四”》"]),
        # ぶら下げ: nothing to pull down, so the marks hang past the edge.
        ("字。」", 2, ["字。」"]),
        ("字。", 1, ["字。"]),
        # Latin words break at spaces only; trailing spaces are stripped.
        ("the quick brown fox jumps", 5, ["the quick", "brown fox", "jumps"]),
        # A word wider than a line is cut, preferably just after a connector.
        ("abcdefghij", 2, ["abcd", "efgh", "ij"]),
        ("收入合计12,345.67元", 3, ["收入合", "计", "12,", "345.67", "元"]),
        ("请于2026-11-22前", 3, ["请于", "2026-", "11-22", "前"]),
        # A paragraph's indent is kept; wrapped lines do not start with a space.
        ("\u3000\u3000第一段文字比较长", 5, ["\u3000\u3000第一段", "文字比较长"]),
        ("一二三四五 六七", 5, ["一二三四五", "六七"]),
        # Blank lines collapse to one, at the edges they vanish.
        ("\n\n甲\r\n\r\n\r\n\r\n乙\n丙\n \n\n", 10, ["甲", "", "乙", "丙"]),
        ("  \n\n", 10, []),
        ("", 10, []),
        # A line narrower than one character still makes progress, one cluster a line.
        ("中文", 0.5, ["中", "文"]),
        ("一二三", math.inf, ["一二三"]),
    ],
)
def test_examples(text: str, max_width: float, expected: list[str]) -> None:
    assert break_lines(text, max_width, measure) == expected


def test_clusters_are_never_split() -> None:
    def cluster_measure(cluster: str) -> float:  # a real font draws a cluster as one glyph
        return 0.5 if cluster.isascii() else 1.0

    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    thumbs = "\U0001f44d\U0001f3fd"
    flag = "\U0001f1e8\U0001f1f3"
    accented = "e\u0301"
    text = family + thumbs + flag + "中" + accented
    assert break_lines(text, 1, cluster_measure) == [family, thumbs, flag, "中", accented]


@pytest.mark.parametrize(
    "text",
    [
        "。" * 50,
        "（" * 50 + "字",
        "字" + "」" * 50,
        "a" + "." * 50 + "b",
        "《" * 10 + "x" * 100 + "》" * 10,
    ],
)
def test_punctuation_runs_longer_than_a_line_still_wrap(text: str) -> None:
    """Rules give way to a bounded width: hang at most MAX_HANG marks, never the whole run."""
    max_width = 3.0
    lines = break_lines(text, max_width, measure)
    assert visible("".join(lines)) == visible(text)
    assert len(lines) > 1
    widest_mark = max(width(ch) for ch in NO_LINE_START)
    assert all(width(line) <= max_width + MAX_HANG * widest_mark + EPS for line in lines)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=HANZI[:6] + "".join(OPENING + CLOSING) + "ab1 \n\u3000", max_size=80),
    max_width=st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0, 6.0]),
)
def test_any_text_at_any_width_loses_nothing_and_stays_bounded(text: str, max_width: float) -> None:
    lines = break_lines(text, max_width, measure)
    assert visible("".join(lines)) == visible(text)
    for line in lines:
        core = line
        for _ in range(MAX_HANG):
            if len(core) > 1 and core[-1] in NO_LINE_START:
                core = core[:-1].rstrip()
        # Wider than the line only by hung marks, or by one cluster too wide on its own.
        assert width(core) <= max_width + EPS or len(core.strip()) == 1, (line, lines)


def test_each_distinct_cluster_is_measured_once_and_long_text_is_fast() -> None:
    calls: list[str] = []

    def counting_measure(text: str) -> float:
        calls.append(text)
        return measure(text)

    unit = "关于某某村2026年度财务收支情况的公示（第一期）：收入12,345.67元，支出8,000元。"
    title = (unit * (100_000 // len(unit) + 1))[:100_000]
    started = time.perf_counter()
    lines = break_lines(title, 30.0, counting_measure)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0
    assert sorted(calls) == sorted(set(title))
    assert visible("".join(lines)) == visible(title)
    assert all(width(line) <= 30.0 + MAX_HANG + EPS for line in lines)


@pytest.mark.parametrize("bad", [lambda s: -1.0, lambda s: math.nan, lambda s: "1", lambda s: None])
def test_a_broken_measure_is_reported(bad) -> None:
    with pytest.raises(ValueError, match="measure"):
        break_lines("中文", 10, bad)


@pytest.mark.parametrize("max_width", [0, -1, math.nan])
def test_max_width_must_be_positive(max_width: float) -> None:
    with pytest.raises(ValueError, match="max_width"):
        break_lines("中文", max_width, measure)


def test_punctuation_sets_cover_the_usual_marks() -> None:
    for ch in "，。、；：？！）》」』】〕〉”’…—·%‰,.;:?!)]}）］｝":
        assert ch in NO_LINE_START
    for ch in "（《「『【〔〈“‘([{":
        assert ch in NO_LINE_END
    assert not NO_LINE_START & NO_LINE_END


# --- pagination ------------------------------------------------------------------------------


@given(lines=st.lists(st.text(max_size=5), max_size=60), per_page=st.integers(1, 12))
def test_paginate_splits_exactly(lines: list[str], per_page: int) -> None:
    pages = paginate(lines, per_page)
    assert [line for page in pages for line in page] == lines
    assert len(pages) == math.ceil(len(lines) / per_page)
    assert all(len(page) == per_page for page in pages[:-1])
    if pages:
        assert 1 <= len(pages[-1]) <= per_page


@pytest.mark.parametrize(
    ("per_page", "error"), [(0, ValueError), (-3, ValueError), (1.5, TypeError)]
)
def test_paginate_refuses_bad_page_sizes(per_page, error: type[Exception]) -> None:
    with pytest.raises(error, match="lines_per_page"):
        paginate(["a"], per_page)


# --- sanitising feed text --------------------------------------------------------------------

REMOVED = (
    [chr(c) for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)]
    + ["\x7f"]
    + [chr(c) for c in range(0x80, 0xA0) if c != 0x85]
    + ["\u061c", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e"]
    + ["\u2066", "\u2067", "\u2068", "\u2069", "\u200b", "\u2060", "\ufeff", "\ud800", "\udfff"]
)


@pytest.mark.parametrize("ch", REMOVED, ids=lambda ch: f"U+{ord(ch):04X}")
def test_sanitize_removes(ch: str) -> None:
    assert sanitize(f"村务{ch}公开") == "村务公开"


def test_sanitize_keeps_text_newlines_and_markup_literally() -> None:
    text = "关于[b]低保[/b]名单&amp;的公示\n\n第一条：[color=ff0000]\\n"
    assert sanitize(text) == text


def test_sanitize_line_endings_tabs_and_nfc() -> None:
    assert sanitize("甲\r\n乙\r丙\u2028丁\x85戊") == "甲\n乙\n丙\n丁\n戊"
    assert sanitize("姓名\t金额") == "姓名    金额"
    assert sanitize("Cafe\u0301") == "Café"
    assert sanitize("\u2fc0") == unicodedata.normalize("NFC", "\u2fc0")


def test_sanitize_keeps_zwj_only_inside_emoji() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert sanitize(family) == family
    assert sanitize("村\u200d务") == "村务"
    assert sanitize("\u200d\U0001f468\u200d") == "\U0001f468"


def test_sanitize_stops_a_reversed_amount() -> None:
    # Shown raw, U+202E would make "收入 100 元" read as "元 001 入收".
    assert sanitize("收入\u202e 100 元") == "收入 100 元"


@settings(max_examples=300)
@given(st.text())
def test_sanitize_output_is_clean_and_stable(text: str) -> None:
    clean = sanitize(text)
    for ch in clean:
        cp = ord(ch)
        assert ch in "\n" or cp >= 0x20
        assert not 0x7F <= cp < 0xA0
        assert ch not in "\u061c\u200e\u200f\u200b\u2060\ufeff\r\t"
        assert not 0x202A <= cp <= 0x202E and not 0x2066 <= cp <= 0x2069
        assert not 0xD800 <= cp <= 0xDFFF
    assert unicodedata.is_normalized("NFC", clean)
    assert sanitize(clean) == clean


# --- Kivy markup escaping --------------------------------------------------------------------


def rendered_by_kivy(markup_text: str) -> str:
    """The text Kivy's own markup parser lays out for a label with markup=True."""
    from kivy.core.text.markup import MarkupLabel

    label = MarkupLabel(text=markup_text, markup=True)
    label._pre_render()
    return "".join(word.text for line in label._cached_lines for word in line.words)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="[]&;/=ablrcomp村务 ", min_size=1).map(str.strip).filter(bool))
def test_escaped_markup_is_shown_literally_by_kivy(text: str) -> None:
    escaped = escape_kivy_markup(text)
    assert "[" not in escaped and "]" not in escaped
    assert rendered_by_kivy(escaped) == text


def test_unescaped_markup_would_be_interpreted() -> None:
    # The reason escaping matters: without it Kivy swallows the tags.
    assert rendered_by_kivy("[b]低保[/b]") == "低保"
    assert rendered_by_kivy(escape_kivy_markup("[b]低保[/b]")) == "[b]低保[/b]"
