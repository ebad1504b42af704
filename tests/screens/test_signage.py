"""The rolling-display screen on a TV: layout, pagination, literal text, pixels, motion."""

from __future__ import annotations

import gc
import time
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from tests.gui import ensure_window, render

pytestmark = pytest.mark.gui

MARKUP_TITLE = "[b]粗体[/b][color=ff0000]红[/color][ref=x]链[/ref]"
URL = "https://yj.qingxi.example.gov.cn/f?item=lt-cw-2026-004&t=LT-01"
BODY = (
    "根据“四议两公开”工作法，柳塘村村道硬化工程（第二阶段）已依次完成村党支部提议、"
    "村“两委”会议商议、党员大会审议、村民代表会议决议，现将决议及实施情况公开如下。\n\n"
    "一、党支部提议（2026年3月18日）\n"
    "村党支部在走访征求意见中，一组、三组群众反映最多的是出行难问题：现有砂石路雨天泥泞，"
    "学生上学、老人就医、农产品外运不便。支部委员会研究后提议，将一组至三组村道"
    "（桩号K0+000至K1+850，长1.85公里）硬化纳入2026年为民办实事项目。\n\n"
    "二、“两委”会议商议（2026年3月25日）\n"
    "村“两委”联席会议对项目的必要性、建设标准、资金来源进行了商议：路面宽4.5米，"
    "C30混凝土厚20厘米；工程概算68.6万元，其中申请上级以奖代补资金52万元，"
    "村集体经济收入安排15.64万元，一事一议筹资0.96万元。会议形成初步方案。\n\n"
    "三、党员大会审议（2026年4月5日）\n"
    "应到党员46人，实到39人，审议同意初步方案，并建议成立由党员和村民代表组成的质量监督小组。"
) * 2
# Punctuation-heavy text: many chances for a line to start with a closing mark.
PUNCTUATED = "村民，代表。会议“决议”（公开）；财务：收支！审核？" * 40


@pytest.fixture(scope="module", autouse=True)
def window() -> None:
    ensure_window()


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("images")
    out = {}
    for name, size in (("landscape", (800, 600)), ("portrait", (600, 800))):
        path = folder / f"{name}.png"
        Image.new("RGB", size, (70, 120, 170)).save(path)
        out[name] = str(path)
    return out


def card(**kw: object):
    from screens.cards import ItemCard

    values: dict[str, object] = {
        "id": "lt-cw-2026-004",
        "category_id": "cunwu",
        "category_name": "村务公开",
        "color": "#2e6b34",
        "title": "柳塘村村道硬化工程（第二阶段）“四议两公开”决议及实施结果公告",
        "body": BODY,
        "subcategory": "四议两公开",
        "publisher": "柳塘村村民委员会",
        "catalog_no": "QX-TY-LT-CW-2026-004",
        "published": "2026年5月6日",
        "window": "公示期 2026年11月1日 至 2026年11月30日",
        "feedback_url": URL,
    }
    values.update(kw)
    return ItemCard(**values)  # type: ignore[arg-type]


def screen(size: tuple[int, int] = (1920, 1080), qr: bool = True, phone: str = "0797-8123456"):
    from kiosk.feedback import qr_matrix
    from screens.cards import FeedbackInfo, StatusInfo
    from screens.signage import SignageScreen

    s = SignageScreen(size=size, size_hint=(None, None))
    s.fade_seconds = 0
    s.qr_for = qr_matrix if qr else None
    s.feedback = FeedbackInfo(phone=phone, issuer="中共青溪县委办公室")
    s.set_status(StatusInfo(terminal_name="柳塘村党群服务中心"))
    return s


def front(s):
    return s._fade.front


def pump_for(seconds: float) -> None:
    from kiosk.render import pump

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pump(1)
        time.sleep(0.01)


def nonspace(text: str) -> str:
    return "".join(ch for ch in text if not ch.isspace())


def rgb(hex_color: str) -> tuple[int, int, int]:
    value = hex_color.lstrip("#")
    return tuple(int(value[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


def close(a: tuple[int, ...], b: tuple[int, ...], tol: int = 2) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a[:3], b[:3], strict=True))


# --- text is literal and broken by the rules -------------------------------------------


def test_feed_markup_is_shown_literally(tmp_path: Path) -> None:
    s = screen()
    item = card(title=MARKUP_TITLE, body=f"正文{MARKUP_TITLE}结束", subcategory="[i]x[/i]")
    s.show(item, 0, 1, 1)
    render(s, tmp_path / "markup.png")
    ids = front(s).ids
    for label in (ids.title, ids.body, ids.meta, ids.header.ids.subcategory):
        assert label.markup is False
        assert label.refs == {}
        assert label.anchors == {}
    assert MARKUP_TITLE in ids.title.text
    assert MARKUP_TITLE in ids.body.text
    assert "[i]x[/i]" in ids.header.ids.subcategory.text


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920), (1366, 768)])
def test_no_rendered_line_starts_with_closing_punctuation(size: tuple[int, int]) -> None:
    from screens.linebreak import NO_LINE_START

    s = screen(size)
    item = card(title="关于“村东路段路灯不亮”问题，村委会的答复（第二次）。" * 2, body=PUNCTUATED)
    for page in range(s.pages_of(item)):
        s.show(item, page, 1, 1)
        ids = front(s).ids
        for label in (ids.title, ids.body, ids.meta):
            for line in label.text.split("\n"):
                assert not line or line[0] not in NO_LINE_START, (label, line)


# --- pagination agrees with what is drawn ----------------------------------------------


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)])
@pytest.mark.parametrize("with_image", [False, True])
def test_pages_of_and_page_chars_match_the_pages_shown(
    size: tuple[int, int], with_image: bool, images: dict[str, str]
) -> None:
    s = screen(size)
    item = card(image_paths=(images["landscape"],) if with_image else ())
    pages = s.pages_of(item)
    assert pages >= 2
    shown = []
    for page in range(pages):
        s.show(item, page, 2, 7)
        slide = front(s)
        body = slide.ids.body
        lay = s._layout(item)
        assert s.page_chars(item, page) == len(nonspace(body.text))
        # The page fits its box, and the box sits between the rule and the pager.
        _, y, _, h = lay.body
        assert body.texture_size[1] <= h
        assert body.y >= y - 0.5 and body.top <= y + h + 0.5
        assert lay.pager[1] + lay.pager[3] <= y
        assert slide.ids.pager.text == f"第 {page + 1}/{pages} 页"
        shown.append(body.text)
    assert nonspace("".join(shown)) == nonspace(item.body)
    # Out-of-range pages are clamped, never an empty slide.
    s.show(item, pages + 5, 2, 7)
    assert front(s).ids.body.text == shown[-1]


def test_single_page_has_no_page_indicator() -> None:
    s = screen()
    item = card(body="短文一段。")
    assert s.pages_of(item) == 1
    s.show(item, 0, 1, 1)
    assert front(s).ids.pager.text == ""
    assert front(s).ids.body.text == "短文一段。"


def test_title_is_at_most_two_lines_in_landscape_with_ellipsis() -> None:
    s = screen()
    s.show(card(title="村级公益事业建设一事一议财政奖补项目实施情况公示" * 4), 0, 1, 1)
    title = front(s).ids.title
    lines = title.text.split("\n")
    assert len(lines) == 2
    assert lines[-1].endswith("…")
    assert title.font_size >= 48 and title.bold


# --- pixels ----------------------------------------------------------------------------


def test_landscape_pixels_band_background_qr(tmp_path: Path) -> None:
    import zxingcpp

    from screens.theme import BACKGROUND, TICKER_BAND, band_colors

    s = screen()
    item = card(color="#7fb3d5")  # too light for white text: band_colors darkens it
    s.show(item, 0, 3, 12)
    png = render(s, tmp_path / "signage.png", (1920, 1080))
    image = Image.open(png).convert("RGB")
    assert image.size == (1920, 1080)
    lay = s._layout(item)
    band = rgb(band_colors(item.color)[0])
    assert band != rgb(item.color)
    # Header band: in the empty middle of the band, top and bottom rows.
    for y in (2, int(lay.header[3]) - 3):
        assert close(image.getpixel((960, y)), band), y
    # Warm white background in the margin between the pager and the ticker.
    y_img = 1080 - int(lay.metrics.ticker_height + lay.metrics.margin / 2)
    assert close(image.getpixel((600, y_img)), rgb(BACKGROUND))
    assert close(image.getpixel((2, 1078)), rgb(TICKER_BAND))

    # QR: dark modules inside, a white quiet zone all around, and it decodes to the URL.
    corner = front(s).ids.corner
    qr = corner.ids.qr
    n = len(qr.matrix)
    side = int(min(qr.size) // n) * n
    left = corner.x + qr.x + (qr.width - side) / 2
    top = 1080 - (corner.y + qr.y + (qr.height - side) / 2 + side)
    module = side // n
    box = (int(left), int(top), int(left) + side, int(top) + side)
    crop = image.crop(box)
    assert any(p == (0, 0, 0) for p in crop.getdata())
    quiet = 4 * module
    ring = [
        crop.getpixel((x, y))
        for x in range(side)
        for y in range(side)
        if min(x, y, side - 1 - x, side - 1 - y) < quiet - 1
    ]
    assert ring and all(p == (255, 255, 255) for p in ring)
    # And white beyond the code, within the corner card.
    for dx, dy in ((-6, side // 2), (side + 5, side // 2), (side // 2, -6), (side // 2, side + 5)):
        assert image.getpixel((box[0] + dx, box[1] + dy)) == (255, 255, 255)
    margin = 20
    area = (box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin)
    decoded = zxingcpp.read_barcodes(image.crop(area))
    assert [d.text for d in decoded] == [URL]
    assert corner.ids.first.text == "扫码提意见"
    assert "0797-8123456" in corner.ids.second.text


def test_header_shows_category_subcategory_and_position(tmp_path: Path) -> None:
    s = screen()
    s.show(card(), 0, 3, 12)
    render(s, tmp_path / "header.png")
    header = front(s).ids.header
    assert header.ids.category.text == "村务公开"
    assert header.ids.subcategory.text == "四议两公开"
    assert header.ids.position.text == "3 / 12"
    assert header.ids.position.right <= header.right - s.m.margin + 1


def test_portrait_image_is_above_the_text(tmp_path: Path, images: dict[str, str]) -> None:
    s = screen((1080, 1920))
    s.show(card(image_paths=(images["landscape"],)), 0, 1, 1)
    render(s, tmp_path / "portrait.png", (1080, 1920))
    ids = front(s).ids
    assert ids.image.texture is not None
    assert ids.image.y > ids.title.top - 1
    assert ids.image.y > ids.body.y
    assert ids.body.width > 0.8 * 1080 - 2 * s.m.margin


def test_landscape_image_is_right_of_the_text(images: dict[str, str]) -> None:
    s = screen()
    s.show(card(image_paths=(images["portrait"],)), 0, 1, 1)
    ids = front(s).ids
    assert ids.image.texture is not None
    assert ids.image.x >= ids.body.right
    assert ids.image.x >= ids.title.right
    # The text column is narrower than without an image.
    plain = screen()
    plain.show(card(), 0, 1, 1)
    assert ids.body.width < front(plain).ids.body.width


@pytest.mark.parametrize("provider", ["none", "failing", "no_url"])
def test_without_qr_the_corner_shows_the_phone(provider: str) -> None:
    s = screen(qr=provider != "none")
    if provider == "failing":

        def failing(url: str) -> list[list[bool]]:
            raise ValueError("QR data is too long")

        s.qr_for = failing
    item = card(feedback_url=None if provider == "no_url" else URL)
    s.show(item, 0, 1, 1)
    corner = front(s).ids.corner
    assert corner.opacity == 1
    assert corner.ids.qr.matrix == []
    assert corner.ids.first.text == "监督电话"
    assert corner.ids.second.text == "0797-8123456"


def test_no_qr_and_no_phone_leaves_no_corner() -> None:
    s = screen(qr=False, phone="")
    item = card()
    s.show(item, 0, 1, 1)
    assert front(s).ids.corner.opacity == 0
    assert s._layout(item).corner is None


def test_urgent_item_has_a_text_tag_before_the_title() -> None:
    from screens.theme import URGENT, rgba

    s = screen()
    s.show(card(urgent=True), 0, 1, 1)
    ids = front(s).ids
    assert ids.tag.opacity == 1 and ids.tag.text == "紧急"
    assert ids.tag.right <= ids.title.x
    assert ids.tag.canvas.before.children[0].rgba == list(rgba(URGENT))
    s.show(card(urgent=False, id="other"), 0, 1, 1)
    assert front(s).ids.tag.opacity == 0


# --- motion, blanking and memory ---------------------------------------------------------


def test_cross_fade_then_old_slide_is_released(images: dict[str, str]) -> None:
    from kiosk.render import window as get_window

    s = screen()
    s.fade_seconds = 0.4
    win = get_window()
    for child in list(win.children):
        win.remove_widget(child)
    win.add_widget(s)
    try:
        s.show(card(image_paths=(images["landscape"],)), 0, 1, 2)
        first = front(s)
        s.show(card(id="second", title="第二条"), 0, 2, 2)
        second = front(s)
        assert second is not first
        assert second.opacity < 1  # fading in, not cut
        assert first.ids.image.texture is not None
        pump_for(0.7)
        assert second.opacity == 1
        assert first.opacity == 0
        assert first.ids.image.texture is None and first.ids.image.source == ""
        assert first.ids.body.text == ""
    finally:
        win.remove_widget(s)


def test_release_drops_textures_of_slides_off_screen(images: dict[str, str]) -> None:
    s = screen()
    s.show(card(image_paths=(images["landscape"],)), 0, 1, 2)
    first = front(s)
    first.ids.image.texture_update()
    assert first.ids.image.texture is not None
    s.show(card(id="b", image_paths=(images["portrait"],)), 0, 2, 2)
    second = front(s)
    s.release()
    assert first.ids.image.texture is None and first.ids.image.source == ""
    assert first.ids.corner.ids.qr.matrix == []
    assert second.ids.image.texture is not None  # the one on screen stays


def test_memory_stays_flat_while_rolling(images: dict[str, str]) -> None:
    from kivy.graphics.texture import Texture, TextureRegion

    s = screen()
    cards = [
        card(id=f"item-{i}", image_paths=(images["landscape" if i % 2 else "portrait"],))
        for i in range(6)
    ]

    def roll(times: int) -> None:
        for i in range(times):
            item = cards[i % len(cards)]
            s.show(item, i % s.pages_of(item), 1, 6)
            s.release()

    def textures() -> int:
        gc.collect()
        kinds = (Texture, TextureRegion)
        return sum(type(o) in kinds for o in gc.get_objects())  # type(): no weakproxy lookups

    roll(12)
    before = textures()
    roll(60)
    after = textures()
    assert after <= before + 4
    assert len(s._layouts) <= s._layouts.maxsize and len(s._pages) <= s._pages.maxsize


def test_ticker_moves_stops_when_blank_and_resumes() -> None:
    from kiosk.render import window as get_window

    s = screen()
    win = get_window()
    for child in list(win.children):
        win.remove_widget(child)
    win.add_widget(s)
    try:
        ticker = s.ids.ticker
        s.set_ticker(["紧急通知：做好台风“海鹭”防御工作", "停水通知"])
        strip = ticker.strip
        assert strip.running and ticker.ids.tag.opacity == 1
        start = strip.head
        pump_for(0.25)
        moved = strip.head
        assert moved < start
        assert strip.translate.x == pytest.approx(strip.x + moved)
        # Speed is calm and constant: about 120 px/s at 1080p.
        assert strip.speed == pytest.approx(120, rel=0.05)

        s.set_blank(True)
        assert not strip.running and not s.ids.status.running
        frozen = strip.head
        pump_for(0.2)
        assert strip.head == frozen
        assert front(s) is None

        s.set_blank(False)
        assert strip.running and s.ids.status.running
        pump_for(0.15)
        assert strip.head != frozen
    finally:
        win.remove_widget(s)


def test_blank_screen_is_black_and_redraws_current_slide_after(tmp_path: Path) -> None:
    s = screen()
    item = card()
    s.show(item, 1, 1, 1)
    s.set_blank(True)
    s.show(card(id="while-blank", title="息屏时到来"), 0, 2, 2)
    png = render(s, tmp_path / "blank.png")
    image = Image.open(png).convert("RGB")
    assert set(image.getdata()) == {(0, 0, 0)}
    s.set_blank(False)
    assert front(s).ids.title.text == "息屏时到来"


def test_empty_ticker_shows_issuer_and_terminal_still() -> None:
    s = screen()
    s.set_ticker([])
    strip = s.ids.ticker.strip
    assert not strip.running
    assert strip.text == "中共青溪县委办公室  ·  柳塘村党群服务中心"
    assert s.ids.ticker.ids.tag.opacity == 0
    s.set_ticker(["[b]停水[/b]\n通知"])
    assert strip.text.startswith("[b]停水[/b] 通知")  # literal, one line
    s.set_ticker([])
    assert not strip.running


def test_status_offline_badge_and_clock() -> None:
    from screens.cards import StatusInfo
    from screens.statusbar import ZONE

    s = screen()
    status = s.ids.status
    s.set_status(StatusInfo(terminal_name="柳塘村", offline=True, last_sync="11月22日 08:15"))
    assert status.ids.badge.text == "离线 · 最后同步 11月22日 08:15"
    assert status.ids.badge.opacity == 1
    s.set_status(StatusInfo(terminal_name="柳塘村", offline=False))
    assert status.ids.badge.opacity == 0 and status.ids.badge.width == 0
    portrait = screen((1080, 1920))
    portrait.set_status(StatusInfo(offline=True, last_sync="11月22日 08:15"))
    compact = portrait.ids.status
    assert compact.compact and compact.ids.badge.text == "离线"
    assert compact.ids.date.opacity == 0 and compact.ids.clock.opacity == 1

    status.now = lambda: datetime(2026, 11, 22, 8, 14, 30, tzinfo=ZONE)  # a Sunday
    status.tick()
    assert status.ids.clock.text == "08:14"
    assert status.ids.date.text == "11月22日 星期日"
    # Next update aimed at the next minute boundary, not the next frame.
    assert status._event.timeout == pytest.approx(30.05, abs=0.01)


def test_ticker_line_is_one_texture_and_long_lines_stay_under_the_gpu_limit() -> None:
    from screens.ticker import CHUNK_PX, MAX_TITLES, SEPARATOR, chunks, strip_text

    s = screen()
    s.set_ticker(["停水通知", "关于召开村民代表会议的通知"])
    strip = s.ids.ticker.strip
    assert strip.text == f"停水通知{SEPARATOR}关于召开村民代表会议的通知{SEPARATOR}"
    assert len(strip._textures) == 1  # one texture, moved by one Translate
    titles = [
        f"第{i}条紧急通知：请各组村民做好防汛准备工作，转移安置点设在党群服务中心"
        for i in range(40)
    ]
    line = strip_text(titles)
    assert line.count(SEPARATOR) == MAX_TITLES
    pieces = chunks(line, 38)
    assert "".join(pieces) == line
    s.set_ticker(titles)
    assert len(strip._textures) == len(pieces) > 1
    assert all(t.width <= CHUNK_PX + 1 for t in strip._textures)


def test_ticker_follows_the_screen_manager() -> None:
    """A screen switched away stops its ticker and clock; coming back starts them."""
    from kivy.uix.screenmanager import NoTransition, ScreenManager

    from kiosk.render import window as get_window
    from screens.led import LedScreen

    sm = ScreenManager(transition=NoTransition())
    signage, led = screen(), LedScreen()
    sm.add_widget(signage)
    sm.add_widget(led)
    win = get_window()
    for child in list(win.children):
        win.remove_widget(child)
    win.add_widget(sm)
    try:
        signage.set_ticker(["停水通知"])
        led.set_ticker(["停水通知"])
        pump_for(0.1)
        assert signage.ids.ticker.strip.running and signage.ids.status.running
        sm.current = "led"
        pump_for(0.1)
        assert not signage.ids.ticker.strip.running and not signage.ids.status.running
        assert led.ids.ticker.strip.running
        sm.current = "signage"
        pump_for(0.1)
        assert signage.ids.ticker.strip.running and signage.ids.status.running
        assert not led.ids.ticker.strip.running
    finally:
        win.remove_widget(sm)
