"""Reading time of a page: counting what a reader reads, and the clamp around it."""

from __future__ import annotations

import pytest

from kiosk.reading_time import count_reading_chars, page_seconds, text_seconds


def test_each_chinese_character_counts_once() -> None:
    text = "村务公开栏"
    assert count_reading_chars(text) == len(text)


def test_a_latin_word_or_a_number_counts_once() -> None:
    assert count_reading_chars("WiFi") == 1
    assert count_reading_chars("2024") == 1
    assert count_reading_chars("2024年5月") == 4  # 2024 / 年 / 5 / 月


def test_whitespace_and_punctuation_cost_nothing() -> None:
    assert count_reading_chars("  \n\t ") == 0
    assert count_reading_chars("，。！？、（）“”") == 0
    assert count_reading_chars("低保 名单，\n共 12 户。") == count_reading_chars("低保名单共12户")


def test_punctuation_splits_words_and_full_width_folds() -> None:
    assert count_reading_chars("12,345.67") == 3
    assert count_reading_chars("２０２４") == count_reading_chars("2024") == 1
    assert count_reading_chars("ｗｉｆｉ密码") == 3


def test_accented_and_other_scripts_count_per_word() -> None:
    assert count_reading_chars("café crème") == 2
    assert count_reading_chars("Cafe\u0301") == 1  # a combining accent does not split the word


def test_mixed_text_of_a_real_notice() -> None:
    text = "关于2024年度村集体经济收支情况的公示（第3期）"
    chinese = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    assert count_reading_chars(text) == chinese + 2  # "2024" and "3"


def test_seconds_grow_with_text_between_the_clamps() -> None:
    low = page_seconds(50)
    high = page_seconds(60)
    assert 8.0 < low < high < 45.0
    # 10 more characters at 150 per minute is 4 more seconds.
    assert high - low == pytest.approx(10 * 60 / 150)
    assert low == pytest.approx(3.0 + 50 * 60 / 150)


def test_short_pages_get_the_minimum_and_dense_pages_the_maximum() -> None:
    assert page_seconds(0) == 8.0
    assert page_seconds(5) == 8.0
    assert page_seconds(10_000) == 45.0
    assert page_seconds(10, minimum=2.0, maximum=60.0, base=0.0) == pytest.approx(4.0)


def test_a_faster_reader_gets_less_time() -> None:
    assert page_seconds(80, chars_per_minute=300) < page_seconds(80)


def test_text_seconds_combines_counting_and_timing() -> None:
    text = "本村2024年第二季度财务收支明细如下" * 5
    assert text_seconds(text) == page_seconds(count_reading_chars(text))
    assert text_seconds(text, chars_per_minute=300.0) == page_seconds(
        count_reading_chars(text), chars_per_minute=300.0
    )


@pytest.mark.parametrize(
    ("args", "kwargs", "fragment"),
    [
        ((-1,), {}, "text_chars"),
        ((1.5,), {}, "text_chars"),
        ((True,), {}, "text_chars"),
        ((10,), {"chars_per_minute": 0}, "chars_per_minute"),
        ((10,), {"chars_per_minute": float("nan")}, "chars_per_minute"),
        ((10,), {"minimum": 50.0, "maximum": 40.0}, "greater than maximum"),
        ((10,), {"base": -1.0}, "base"),
        ((10,), {"maximum": float("inf")}, "maximum"),
    ],
)
def test_bad_arguments_give_a_one_line_error(
    args: tuple[object, ...], kwargs: dict[str, float], fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment) as caught:
        page_seconds(*args, **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)
