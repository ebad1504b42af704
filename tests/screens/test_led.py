"""The LED-wall screen: band, the largest title that fits, ticker; nothing else."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PIL import Image

from tests.gui import ensure_window, render

pytestmark = pytest.mark.gui

SIZES = [(192, 96), (384, 192), (768, 384)]
TITLES = [
    "停水通知",
    "中共柳塘村支部委员会组成人员及分工",
    "柳塘村村道硬化工程（第二阶段）“四议两公开”决议及实施结果公告",
    "关于村民反映“村东路段路灯不亮”问题的答复",
]


@pytest.fixture(scope="module", autouse=True)
def window() -> None:
    ensure_window()


def card(title: str, **kw: object):
    from screens.cards import ItemCard

    values: dict[str, object] = {
        "id": f"id-{abs(hash(title))}",
        "category_id": "dangwu",
        "category_name": "党务公开",
        "color": "#b71c1c",
        "title": title,
        "body": "正文不在LED屏上显示。",
        "feedback_url": "https://example.gov.cn/f",
        "image_paths": ("/nonexistent/never-loaded.png",),
    }
    values.update(kw)
    return ItemCard(**values)  # type: ignore[arg-type]


def led(size: tuple[int, int]):
    from screens.led import LedScreen

    s = LedScreen(size=size, size_hint=(None, None))
    s.fade_seconds = 0
    return s


def front(s):
    return s._fade.front


def pump_for(seconds: float) -> None:
    from kiosk.render import pump

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pump(1)
        time.sleep(0.01)


@pytest.mark.parametrize("title", TITLES)
def test_title_fits_and_grows_with_the_wall(title: str) -> None:
    fonts = []
    for size in SIZES:
        s = led(size)
        s.show(card(title), 3, 12)
        label = front(s).ids.title
        x, y, w, h = s.lm.title_area
        tw, th = label.texture_size
        assert tw <= w + 0.5 and th <= h + 0.5, (size, label.texture_size, s.lm.title_area)
        assert label.x >= x - 0.5 and label.y >= y - 0.5 and label.top <= y + h + 0.5
        assert "…" not in label.text  # the whole title, not cut
        assert "".join(label.text.split("\n")) == title
        assert label.font_size == s.font_for(card(title))
        fonts.append(label.font_size)
    assert fonts == sorted(fonts)
    assert fonts[-1] > fonts[0]


def test_font_is_the_largest_that_fits() -> None:
    from screens.led import fits

    s = led((384, 192))
    item = card(TITLES[2])
    font = s.font_for(item)
    assert fits(item.title, s.lm.title_area, font)
    if font < s.lm.title_max:
        assert not fits(item.title, s.lm.title_area, font + 1)


def test_short_title_is_capped() -> None:
    s = led((768, 384))
    s.show(card("通知"), 1, 1)
    assert front(s).ids.title.font_size == s.lm.title_max
    assert s.lm.title_max < s.lm.title_area[3]


def test_title_too_long_for_the_smallest_type_is_cut_with_ellipsis() -> None:
    from screens.led import MIN_FONT

    s = led((192, 96))
    s.show(card("村级集体经济组织财务收支明细公开" * 8), 1, 1)
    label = front(s).ids.title
    assert label.font_size == MIN_FONT
    assert label.text.endswith("…")
    assert label.texture_size[1] <= s.lm.title_area[3] + 0.5


def test_markup_in_title_is_literal() -> None:
    s = led((384, 192))
    title = "[b]粗体[/b][color=ff0000]红[/color][ref=x]链[/ref]"
    s.show(card(title), 1, 1)
    label = front(s).ids.title
    assert label.markup is False and label.refs == {}
    assert "".join(label.text.split("\n")) == title


def test_band_drops_the_position_when_there_is_no_room() -> None:
    name = "党务政务村务财务公开综合栏目"
    item = card("标题", category_name=name)
    small, large = led((192, 96)), led((768, 384))
    small.show(item, 3, 12)
    large.show(item, 3, 12)
    assert front(small).ids.category.text == name
    assert front(large).ids.category.text == f"{name}  3/12"
    for s in (small, large):
        assert front(s).ids.category.right <= s.width


def test_band_name_too_long_is_cut() -> None:
    s = led((192, 96))
    s.show(card("标题", category_name="很长的栏目名称" * 5), 3, 12)
    label = front(s).ids.category
    assert label.text.endswith("…")
    assert label.texture_size[0] <= s.width - 2 * s.lm.pad


def test_only_band_title_and_ticker(tmp_path: Path) -> None:
    """No body, meta, image or QR on an LED wall; black background, band colour."""
    from screens.theme import band_colors

    s = led((384, 192))
    item = card(TITLES[1])
    s.show(item, 3, 12)
    png = render(s, tmp_path / "led.png", (384, 192))
    slide = front(s)
    assert set(slide.ids.keys()) == {"category", "tag", "title"}
    image = Image.open(png).convert("RGB")
    assert image.size == (384, 192)
    band = tuple(int(band_colors(item.color)[0][i : i + 2], 16) for i in (1, 3, 5))
    assert image.getpixel((383 - 2, 2)) == band  # the band's empty right end
    title_top = 192 - int(slide.ids.title.top)
    assert image.getpixel((1, title_top - 1)) == (0, 0, 0)  # black field
    texts = [w.text for w in slide.walk() if hasattr(w, "text")]
    assert not any("正文" in t for t in texts)


def test_urgent_tag_in_band() -> None:
    s = led((384, 192))
    s.show(card(TITLES[3], urgent=True), 1, 2)
    tag = front(s).ids.tag
    assert tag.opacity == 1 and tag.text == "紧急"
    assert tag.x >= front(s).ids.category.right


def test_ticker_moves_and_stops_when_blank() -> None:
    from kiosk.render import window as get_window

    s = led((384, 192))
    win = get_window()
    for child in list(win.children):
        win.remove_widget(child)
    win.add_widget(s)
    try:
        s.show(card(TITLES[0]), 1, 1)
        s.set_ticker(["紧急通知：做好台风防御工作"])
        strip = s.ids.ticker.strip
        assert strip.running
        start = strip.head
        pump_for(0.25)
        assert strip.head < start
        s.set_blank(True)
        assert not strip.running and front(s) is None
        frozen = strip.head
        pump_for(0.15)
        assert strip.head == frozen
        s.set_blank(False)
        assert strip.running and front(s).ids.title.text
    finally:
        win.remove_widget(s)


def test_release_drops_the_hidden_slide() -> None:
    s = led((384, 192))
    s.show(card(TITLES[1]), 1, 2)
    first = front(s)
    s.show(card(TITLES[2]), 2, 2)
    s.release()
    assert first.ids.title.text == "" and first.ids.category.text == ""
    assert front(s).ids.title.text
