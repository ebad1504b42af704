"""Pagination of item bodies for the rolling display, measured with the real font."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.gui import ensure_window

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module", autouse=True)
def window() -> None:
    ensure_window()


def nonspace(text: str) -> str:
    return "".join(ch for ch in text if not ch.isspace())


BODY = (
    "根据“四议两公开”工作法，柳塘村村道硬化工程（第二阶段）已依次完成村党支部提议、"
    "村“两委”会议商议、党员大会审议、村民代表会议决议，现将决议及实施情况公开如下。\n\n"
    "一、党支部提议（2026年3月18日）\n"
    "村党支部在走访征求意见中，一组、三组群众反映最多的是出行难问题：现有砂石路雨天泥泞，"
    "学生上学、老人就医、农产品外运不便。支部委员会研究后提议，将一组至三组村道"
    "（桩号K0+000至K1+850，长1.85公里）硬化纳入2026年为民办实事项目。\n\n"
    "二、“两委”会议商议（2026年3月25日）\n"
    "路面宽4.5米，C30混凝土厚20厘米；工程概算68.6万元，其中申请上级以奖代补资金52万元，"
    "村集体经济收入安排15.64万元，一事一议筹资0.96万元。会议形成初步方案。\n"
    "联系电话：0797-8123456，邮箱 cunwei@liutang.example.cn。"
)

BOXES = [(1229, 420, 38), (984, 320, 38), (600, 200, 30), (300, 120, 24), (1500, 700, 44)]


def check_pages(text: str, width: float, height: float, font: float) -> None:
    from screens.linebreak import sanitize
    from screens.pagination import drawn_height, paginate_body
    from screens.plaintext import line_pixels, measurer

    pages = paginate_body(text, width, height, font)
    measure = measurer(font)
    # Nothing lost, nothing reordered.
    assert nonspace("".join("".join(p) for p in pages.pages)) == nonspace(sanitize(text))
    for index, page in enumerate(pages.pages):
        # Every page fits: drawn lines (a too-wide line counts twice) times the pitch.
        drawn = sum(1 if measure(line) <= width else 2 for line in page)
        assert drawn * line_pixels(font) <= height or len(page) == 1
        assert drawn_height(drawn, font) <= height or len(page) == 1
        assert drawn <= pages.lines_per_page or len(page) == 1
        if page:
            assert page[0] and page[-1], "a page starts or ends with a blank line"
        assert pages.chars(index) == len(nonspace(pages.text(index)))
    assert sum(pages.chars(i) for i in range(len(pages))) == len(nonspace(sanitize(text)))


@pytest.mark.parametrize(("width", "height", "font"), BOXES)
def test_demo_body_is_cut_without_loss_and_fits(width: int, height: int, font: int) -> None:
    check_pages(BODY, width, height, font)


ALPHABET = st.sampled_from(
    list("公开财务村民代表会议决议党支部审核审批")
    + list("，。、；：？！（）《》“”…—")
    + list("abcXYZ0123456789 .,-")
    + ["\n", "\n\n", "　　"]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.lists(ALPHABET, max_size=400).map("".join),
    width=st.integers(min_value=120, max_value=1400),
    height=st.integers(min_value=40, max_value=900),
    font=st.sampled_from([20, 30, 38, 56]),
)
def test_random_bodies_are_cut_without_loss(text: str, width: int, height: int, font: int) -> None:
    check_pages(text, width, height, font)


def test_empty_body_is_one_empty_page() -> None:
    from screens.pagination import paginate_body

    pages = paginate_body("", 1200, 400, 38)
    assert len(pages) == 1
    assert pages.text(0) == ""
    assert pages.chars(0) == 0
    blank = paginate_body("\n\n  \n", 1200, 400, 38)
    assert len(blank) == 1 and blank.chars(0) == 0


def per_line(width: float, font: float) -> int:
    from screens.pagination import LABEL_SLACK
    from screens.plaintext import measurer

    return math.floor((width - LABEL_SLACK) / measurer(font)("国"))


def box_for(lines: int, font: float) -> float:
    """The smallest box height that holds exactly ``lines`` lines."""
    from screens.pagination import drawn_height
    from screens.plaintext import line_pixels

    return max(lines * line_pixels(font), drawn_height(lines, font)) + 0.5


def test_last_page_is_not_a_stray_fragment() -> None:
    """19 lines in a box of 18: two pages of about ten, not 18 + 1."""
    from screens.pagination import paginate_body

    width, font = 800, 38
    chars = per_line(width, font)
    text = "国" * (chars * 18 + 3)  # one paragraph, 19 lines
    height = box_for(18, font)
    pages = paginate_body(text, width, height, font)
    assert pages.lines_per_page == 18
    assert len(pages) == 2
    sizes = [len(p) for p in pages.pages]
    assert sum(sizes) == 19
    assert min(sizes) >= max(sizes) - 1


def test_page_ends_at_a_paragraph_end_near_the_bottom() -> None:
    """A paragraph ending on line 7 of 8: the next paragraph starts the next page."""
    from screens.pagination import paginate_body

    width, font = 800, 38
    chars = per_line(width, font)
    first = "甲" * (chars * 7)
    second = "乙" * (chars * 4)
    third = "丙" * (chars * 4)
    height = box_for(8, font)
    pages = paginate_body(f"{first}\n{second}\n{third}", width, height, font)
    assert pages.lines_per_page == 8
    assert pages.pages[0] == tuple("甲" * chars for _ in range(7))
    assert pages.pages[1][0].startswith("乙")
    check_pages(f"{first}\n{second}\n{third}", width, height, font)


def test_label_at_the_pagination_pitch_fits_its_box() -> None:
    """A PlainLabel drawing a page at ``line_height_for`` is no taller than the box."""
    from screens.pagination import drawn_height, line_height_for, paginate_body
    from screens.plaintext import PlainLabel

    for width, height, font in BOXES:
        pages = paginate_body(BODY, width, height, font)
        label = PlainLabel(font_size=font, line_height=line_height_for(font), width=width)
        for index in range(len(pages)):
            label.source_text = pages.text(index)
            label.texture_update()
            assert label.text == pages.text(index)
            drawn = len(label.text.split("\n"))
            assert label.texture_size[1] == drawn_height(drawn, font)
            assert label.texture_size[1] <= height


def test_lru_cache_is_bounded() -> None:
    from screens.pagination import LruCache

    cache: LruCache[int, int] = LruCache(maxsize=8)
    made: list[int] = []
    for i in range(100):
        assert cache.get(i, lambda i=i: made.append(i) or i * 2) == i * 2
    assert len(cache) == 8
    assert cache.get(99, lambda: -1) == 198  # still cached: not made again
    assert cache.get(0, lambda: -1) == -1  # long evicted
    assert len(made) == 100
