"""The residents' touch screens, rendered in a real off-screen window and touched with real
MotionEvents: layout at both orientations, literal feed text, events, QR codes, countdown."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.gui import ensure_window, render

pytestmark = pytest.mark.gui

LANDSCAPE = (1920, 1080)
PORTRAIT = (1080, 1920)
MARKUP = ("[b]", "[color=ff0000]", "[ref=x]")
NASTY = "[b]粗体[/b][color=ff0000]红字[/color][ref=x]链接[/ref]"


@pytest.fixture(scope="module", autouse=True)
def window() -> Any:
    return ensure_window()


# ----- helpers ------------------------------------------------------------------------
def pump(seconds: float) -> None:
    """Run the event loop for ``seconds`` of wall time (ScrollView waits ~55 ms on a tap)."""
    from kivy.base import EventLoop

    end = time.monotonic() + seconds
    while True:
        EventLoop.idle()
        if time.monotonic() >= end:
            break
        time.sleep(0.01)


def tap(widget: Any, dx: float = 0.5, dy: float = 0.5) -> None:
    """Press and release a real touch at a point of ``widget`` (fractions of its size)."""
    from kivy.tests.common import UnitTestTouch

    x, y = widget.to_window(widget.x + widget.width * dx, widget.y + widget.height * dy)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    pump(0.08)
    touch.touch_up()
    pump(0.25)


def tap_at(x: float, y: float) -> None:
    from kivy.tests.common import UnitTestTouch

    touch = UnitTestTouch(x, y)
    touch.touch_down()
    pump(0.08)
    touch.touch_up()
    pump(0.25)


def in_manager(screen: Any) -> Any:
    from kivy.uix.screenmanager import NoTransition, ScreenManager

    manager = ScreenManager(transition=NoTransition())
    manager.add_widget(screen)
    manager.current = screen.name
    return manager


def shoot(screen: Any, out: Path, size: tuple[int, int]) -> Image.Image:
    """Render twice (the second pass sees settled text sizes) and load the PNG."""
    root = screen.manager or in_manager(screen)
    render(root, out, size)
    render(root, out, size)
    return Image.open(out).convert("RGB")


def pixel(img: Image.Image, x: float, y: float) -> tuple[int, int, int]:
    """The PNG pixel at Kivy window coordinates (origin bottom-left)."""
    return img.getpixel((int(x), img.height - 1 - int(y)))


def hex_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16))


def close_to(a: tuple[int, int, int], b: tuple[int, int, int], tol: int = 3) -> bool:
    return all(abs(p - q) <= tol for p, q in zip(a, b, strict=True))


def labels(root: Any) -> list[Any]:
    from kivy.uix.label import Label

    return [w for w in root.walk() if isinstance(w, Label)]


def buttons(root: Any) -> list[Any]:
    from kivy.uix.behaviors import ButtonBehavior

    return [w for w in root.walk() if isinstance(w, ButtonBehavior)]


def assert_all_literal(root: Any) -> None:
    """Every label is plain text, and the markup in the feed reaches the screen as text."""
    found = labels(root)
    assert found
    assert all(label.markup is False for label in found)
    shown = "\n".join(label.text for label in found)
    for tag in MARKUP:
        assert tag in shown, f"{tag} not shown literally"


def assert_targets(root: Any, minimum: float = 80) -> None:
    visible = [b for b in buttons(root) if b.opacity > 0 and not b.disabled and b.width > 0]
    assert visible
    small = [
        (type(b).__name__, getattr(b, "text", ""), b.height) for b in visible if b.height < minimum
    ]
    assert not small, small


# ----- demo-like content ----------------------------------------------------------------
def categories() -> list[Any]:
    from screens.cards import CategoryCard

    return [
        CategoryCard("dangwu", "党务公开", "#b71c1c", 12),
        CategoryCard("zhengwu", "政务公开", "#1a4f8b", 9),
        CategoryCard("cunwu", "村务公开", "#2e6b34", 15),
        CategoryCard("caiwu", "财务公开", "#7a5418", 6),
        CategoryCard("tongzhi", "通知公告", "#455a64", 3),
    ]


BODY = (
    "2026年6月23日，我镇遭受强降雨袭击，部分村组农田受淹、房屋受损。县应急管理局下拨救灾物资，"
    "镇人民政府按照“公开、公平、公正”和“优先保障重灾户”的原则分配发放，现将发放情况公示如下：\n"
    "一、发放物资：棉被320床、折叠床80张、大米（25公斤装）400袋、食用油（5升装）400桶。\n\n"
    "二、发放对象：经村民小组评议、村委会审核、镇政府审批，确定受灾户共186户。"
    "其中柳塘村64户，石桥村58户，桃源社区64户。“名单详见附件。”（请核对。）"
    + "公示期内如有异议，请向镇民政办反映；也可拨打监督电话。"
    * 30
)


def item(i: int, **changes: Any) -> Any:
    from screens.cards import ItemCard

    subs = ("组织建设", "三会一课", "党费收缴使用管理")
    card = ItemCard(
        id=f"lt-dw-2026-{i:03d}",
        category_id="dangwu",
        category_name="党务公开",
        color="#b71c1c",
        title=f"柳塘村党支部2026年第{i}号公开事项：关于发展党员对象的公示",
        body=BODY,
        subcategory=subs[i % 3],
        publisher="柳塘村党支部",
        catalog_no=f"QX-TY-LT-DW-2026-{i:03d}",
        published=f"2026年{1 + i % 12}月{1 + i}日",
        window="公示期 2026年11月1日至11月30日",
        disclosure_type="逐段",
        approval="审核 桃源镇党委组织委员 周明远　审批 柳塘村党支部书记 陈立新",
        feedback_url=f"https://yijian.qingxi.example.gov.cn/f?item=lt-dw-2026-{i:03d}&t=LT-01",
        urgent=i == 2,
        sort_key=f"2026-{1 + i % 12:02d}-{1 + i:02d}T09:00:00",
    )
    return replace(card, **changes)


def feedback_info() -> Any:
    from screens.cards import FeedbackInfo

    return FeedbackInfo(phone="0799-0612345", email="gongkai@qingxi.example.gov.cn", issuer="x")


def qr_for(url: str) -> list[list[bool]]:
    from kiosk.feedback import qr_matrix

    return qr_matrix(url)


# ----- home -----------------------------------------------------------------------------
@pytest.mark.parametrize("size", [LANDSCAPE, PORTRAIT])
def test_home_tiles_fit_and_carry_their_colour(tmp_path: Path, size: tuple[int, int]) -> None:
    from screens.home import CategoryTile, HomeScreen

    screen = HomeScreen(name="home")
    screen.set_categories(categories(), "桃源镇柳塘村党群服务中心")
    img = shoot(screen, tmp_path / "home.png", size)
    tiles = [w for w in screen.walk() if isinstance(w, CategoryTile)]
    assert [t.category_id for t in tiles] == [c.id for c in categories()]
    by_id = {c.id: c for c in categories()}
    for tile in tiles:
        left, bottom = tile.to_window(tile.x, tile.y)
        assert left >= 0 and left + tile.width <= size[0]
        assert bottom >= 0 and bottom + tile.height <= size[1], "5 tiles must fit unscrolled"
        assert tile.height >= 200
        # The accent band across the top of the tile is the category's own colour.
        band_y = bottom + tile.height - tile.border_px - tile.band_px / 2
        assert close_to(
            pixel(img, left + tile.width / 2, band_y), hex_rgb(by_id[tile.category_id].color)
        )
        # Its name and count are text, not colour alone.
        texts = [lb.text for lb in labels(tile)]
        assert by_id[tile.category_id].name in texts
        assert f"共 {by_id[tile.category_id].count} 项" in texts
    rows: dict[int, int] = {}
    for tile in tiles:
        rows[round(tile.y)] = rows.get(round(tile.y), 0) + 1
    assert sorted(rows.values(), reverse=True) == ([3, 2] if size == LANDSCAPE else [1] * 5)
    assert any("请点击查看" in lb.text for lb in labels(screen))
    assert_targets(screen)


def test_home_tile_touch_dispatches_category(tmp_path: Path) -> None:
    from screens.home import CategoryTile, HomeScreen

    screen = HomeScreen(name="home")
    screen.set_categories(categories(), "桃源镇柳塘村党群服务中心")
    shoot(screen, tmp_path / "home.png", LANDSCAPE)
    got: list[str] = []
    screen.bind(on_category=lambda _s, cid: got.append(cid))
    tiles = {t.category_id: t for t in screen.walk() if isinstance(t, CategoryTile)}
    tap(tiles["cunwu"])
    tap(tiles["tongzhi"], 0.2, 0.8)
    assert got == ["cunwu", "tongzhi"]


# ----- category -------------------------------------------------------------------------
def category_screen(tmp_path: Path, size: tuple[int, int] = LANDSCAPE) -> tuple[Any, list[Any]]:
    from screens.cards import CategoryCard
    from screens.category import CategoryScreen

    items = [item(i) for i in (5, 1, 9, 3, 7, 2, 8)]
    screen = CategoryScreen(name="category")
    screen.set_items(CategoryCard("dangwu", "党务公开", "#b71c1c", len(items)), items)
    shoot(screen, tmp_path / "category.png", size)
    return screen, items


@pytest.mark.parametrize("size", [LANDSCAPE, PORTRAIT])
def test_category_list_newest_first_tall_rows(tmp_path: Path, size: tuple[int, int]) -> None:
    from screens.category import ItemRow

    screen, items = category_screen(tmp_path, size)
    data = screen.ids.list.data
    expected = [c.id for c in sorted(items, key=lambda c: c.sort_key, reverse=True)]
    assert [d["item_id"] for d in data] == expected
    rows = [w for w in screen.ids.list.walk() if isinstance(w, ItemRow) and w.item_id]
    assert rows
    for row in rows:
        assert row.height >= 96
        title = row.ids.title
        assert 1 <= len(title.text.split("\n")) <= 2
        # The title's lines fit inside the row (heights are computed, not guessed).
        assert title.texture_size[1] <= row.height - 2 * 10
    urgent = [r for r in rows if r.urgent]
    assert urgent and all(r.ids.tag.text == "紧急" for r in urgent)
    assert_targets(screen)


def test_category_row_touch_dispatches_item(tmp_path: Path) -> None:
    from screens.category import ItemRow

    screen, _items = category_screen(tmp_path)
    got: list[str] = []
    screen.bind(on_item=lambda _s, iid: got.append(iid))
    rows = sorted(
        (w for w in screen.ids.list.walk() if isinstance(w, ItemRow) and w.item_id),
        key=lambda r: -r.y,
    )
    tap(rows[1])
    assert got == [rows[1].item_id]
    assert got[0] == screen.ids.list.data[1]["item_id"]


def test_chips_filter_the_list_and_mark_selection_beyond_colour(tmp_path: Path) -> None:
    from screens.category import Chip

    screen, items = category_screen(tmp_path)
    chips = {c.value: c for c in screen.ids.chips.children if isinstance(c, Chip)}
    assert set(chips) == {"", "组织建设", "三会一课", "党费收缴使用管理"}
    assert chips[""].text.startswith("✓ 全部（7）")
    assert len(screen.ids.list.data) == len(items)

    tap(chips["三会一课"])
    pump(0.1)
    wanted = [c.id for c in items if c.subcategory == "三会一课"]
    assert sorted(d["item_id"] for d in screen.ids.list.data) == sorted(wanted)
    chosen, other = chips["三会一课"], chips[""]
    assert chosen.selected and chosen.bold and chosen.text.startswith("✓ ")
    assert chosen.border_px > other.border_px
    assert not other.selected and not other.bold and not other.text.startswith("✓")

    tap(chips[""])
    pump(0.1)
    assert len(screen.ids.list.data) == len(items)


def test_navbar_back_and_home_fire(tmp_path: Path) -> None:
    screen, _ = category_screen(tmp_path)
    nav = screen.ids.nav
    got: list[str] = []
    nav.bind(on_back=lambda *_: got.append("back"), on_home=lambda *_: got.append("home"))
    assert nav.ids.back.text.endswith("返回") and nav.ids.home.text == "首页"
    assert nav.ids.back.height >= 80 and nav.ids.home.height >= 80
    tap(nav.ids.back)
    tap(nav.ids.home)
    assert got == ["back", "home"]


# ----- markup is never interpreted ---------------------------------------------------------
def test_feed_markup_is_shown_literally_everywhere(tmp_path: Path) -> None:
    from screens.cards import CategoryCard, FeedbackInfo
    from screens.category import CategoryScreen
    from screens.detail import DetailScreen
    from screens.feedback import FeedbackScreen
    from screens.home import HomeScreen

    nasty = item(
        4,
        title="通知" + NASTY,
        body="正文" + NASTY,
        subcategory="子类" + NASTY,
        publisher="单位" + NASTY,
        category_name="类别" + NASTY,
    )
    info = FeedbackInfo(phone="电话" + NASTY, email="mail" + NASTY)

    home = HomeScreen(name="home")
    home.set_categories([CategoryCard("x", "类别" + NASTY, "#b71c1c", 1)], "终端" + NASTY)
    shoot(home, tmp_path / "home.png", LANDSCAPE)
    assert_all_literal(home)

    cat = CategoryScreen(name="category")
    cat.set_items(CategoryCard("x", "类别" + NASTY, "#b71c1c", 1), [nasty])
    shoot(cat, tmp_path / "cat.png", LANDSCAPE)
    assert_all_literal(cat)

    detail = DetailScreen(name="detail")
    detail.qr_for = qr_for
    detail.show(nasty, info)
    shoot(detail, tmp_path / "detail.png", PORTRAIT)
    assert_all_literal(detail)

    page = FeedbackScreen(name="feedback")
    page.show(nasty, info)
    shoot(page, tmp_path / "feedback.png", LANDSCAPE)
    assert_all_literal(page)


# ----- detail ---------------------------------------------------------------------------------
def qr_square(screen: Any) -> tuple[float, float, float, int]:
    """(x, y, side, modules) of the drawn code in window coordinates, as QRCode draws it."""
    qr = screen.ids.qr
    n = len(qr.matrix)
    side = max(n, int(min(qr.width, qr.height) // n) * n)
    x, y = qr.to_window(qr.x + (qr.width - side) / 2, qr.y + (qr.height - side) / 2)
    return x, y, side, n


def assert_qr_readable_on_white(img: Image.Image, screen: Any, url: str, minimum: int) -> None:
    import zxingcpp

    x, y, side, n = qr_square(screen)
    assert side >= minimum
    module = side / n
    left, top = int(x), img.height - int(y + side)
    code = img.crop((left, top, left + int(side), top + int(side)))
    quiet = int(4 * module) - 2  # the code may sit half a pixel off the grid
    for box in (
        (0, 0, code.width, quiet),
        (0, code.height - quiet, code.width, code.height),
        (0, 0, quiet, code.height),
        (code.width - quiet, 0, code.width, code.height),
    ):
        assert code.crop(box).getextrema() == ((255, 255),) * 3, "quiet zone is not white"
    # The panel around the code is white too: the code sits on white, not on the page tint.
    around = img.crop((left - 8, top - 8, left + int(side) + 8, top))
    assert around.getextrema() == ((255, 255),) * 3
    found = zxingcpp.read_barcodes(code)
    assert [r.text for r in found] == [url]


@pytest.mark.parametrize("size", [LANDSCAPE, PORTRAIT])
def test_detail_layout_meta_qr_and_targets(tmp_path: Path, size: tuple[int, int]) -> None:
    from screens.detail import DetailScreen

    card = item(3)
    screen = DetailScreen(name="detail")
    screen.qr_for = qr_for
    screen.show(card, feedback_info())
    img = shoot(screen, tmp_path / "detail.png", size)
    assert_qr_readable_on_white(img, screen, card.feedback_url, 300)
    texts = "".join(lb.text for lb in labels(screen)).replace("\n", "")
    for expected in (
        "发布单位",
        "柳塘村党支部",
        "发布日期",
        card.published,
        "目录编号",
        card.catalog_no,
        "逐段",
        "2026年11月1日至11月30日",
        "周明远",
        "陈立新",
        "扫码提意见",
        "监督电话",
        "0799-0612345",
        "电子邮箱",
        "我要提意见",
    ):
        assert expected in texts, expected
    assert screen.ids.title.font_size >= 48 and screen.ids.body.children[0].font_size >= 32
    assert_targets(screen)


def test_detail_body_keeps_every_character_and_obeys_kinsoku(tmp_path: Path) -> None:
    from screens.detail import BodyBlock, DetailScreen
    from screens.linebreak import NO_LINE_START, sanitize

    screen = DetailScreen(name="detail")
    screen.show(item(3), feedback_info())
    shoot(screen, tmp_path / "detail.png", LANDSCAPE)
    blocks = [w for w in reversed(screen.ids.body.children) if isinstance(w, BodyBlock)]
    assert len(blocks) > 3  # the long paragraph is split into several labels
    lines = [line for block in blocks for line in block.text.split("\n")]
    assert len(lines) > 20
    assert not [line for line in lines if line and line[0] in NO_LINE_START]

    def squash(text: str) -> str:
        return "".join(text.split())

    assert squash("".join(lines)) == squash(sanitize(BODY))
    assert screen.ids.scroll.bar_width >= 20


def test_detail_images_enlarge_in_screen_and_close(tmp_path: Path) -> None:
    from kivy.uix.modalview import ModalView

    from screens.detail import DetailScreen, Thumb

    paths = []
    for i, colour in enumerate(("#c0392b", "#2e6b34")):
        path = tmp_path / f"img{i}.png"
        Image.new("RGB", (800, 600), colour).save(path)
        paths.append(str(path))
    screen = DetailScreen(name="detail")
    screen.show(item(3, image_paths=tuple(paths)), feedback_info())
    shoot(screen, tmp_path / "detail.png", LANDSCAPE)
    screen.ids.scroll.scroll_y = 0  # images follow the text in landscape
    pump(0.1)
    thumbs = [w for w in screen.walk() if isinstance(w, Thumb)]
    assert len(thumbs) == 2 and all(t.height >= 80 for t in thumbs)
    tap(thumbs[1])
    viewer = screen.viewer
    assert viewer.parent is screen and viewer.is_open and viewer.index == 1
    assert not isinstance(viewer, ModalView)
    img = shoot(screen, tmp_path / "viewer.png", LANDSCAPE)
    assert tuple(viewer.size) == tuple(screen.size)
    assert close_to(pixel(img, 960, 540), hex_rgb("#2e6b34"))  # the enlarged image, centred
    close = viewer.ids.close
    assert close.text.startswith("关闭") and close.height >= 80
    tap(close)
    assert viewer.parent is None and not viewer.is_open


def test_detail_feedback_button_dispatches(tmp_path: Path) -> None:
    from screens.detail import DetailScreen

    screen = DetailScreen(name="detail")
    screen.qr_for = qr_for
    card = item(6)
    screen.show(card, feedback_info())
    shoot(screen, tmp_path / "detail.png", LANDSCAPE)
    got: list[str] = []
    screen.bind(on_feedback=lambda _s, iid: got.append(iid))
    tap(screen.ids.feedback_button)
    assert got == [card.id]


def test_detail_without_usable_url_shows_phone_only(tmp_path: Path) -> None:
    from screens.detail import DetailScreen

    screen = DetailScreen(name="detail")
    screen.qr_for = qr_for
    screen.show(item(3, feedback_url="https://x.example/" + "a" * 2000), feedback_info())
    assert screen.matrix == []
    screen.show(item(3, feedback_url=None), feedback_info())
    shoot(screen, tmp_path / "detail.png", LANDSCAPE)
    assert screen.matrix == []
    assert any("请拨打监督电话" in lb.text for lb in labels(screen))


# ----- feedback page -----------------------------------------------------------------------
@pytest.mark.parametrize("size", [LANDSCAPE, PORTRAIT])
def test_feedback_page_big_qr_and_channels(tmp_path: Path, size: tuple[int, int]) -> None:
    from screens.feedback import FeedbackScreen

    card = item(8)
    screen = FeedbackScreen(name="feedback")
    screen.qr_for = qr_for
    screen.show(card, feedback_info())
    img = shoot(screen, tmp_path / "feedback.png", size)
    assert_qr_readable_on_white(img, screen, card.feedback_url, 560)
    texts = "".join(lb.text for lb in labels(screen)).replace("\n", "")
    assert "请用手机扫描二维码提出意见建议" in texts
    for expected in (
        card.title,
        "监督电话",
        "0799-0612345",
        "电子邮箱",
        "gongkai@qingxi.example.gov.cn",
        "通知公告",
        "意见建议答复",
    ):
        assert expected in texts, expected
    assert_targets(screen)


# ----- countdown ------------------------------------------------------------------------------
def test_countdown_banner_shows_hides_and_lets_touches_through(tmp_path: Path) -> None:
    from screens.home import CategoryTile, HomeScreen
    from screens.theme import BACKGROUND, TICKER_BAND

    screen = HomeScreen(name="home")
    screen.set_categories(categories(), "桃源镇柳塘村党群服务中心")
    screen.set_countdown(7)
    img = shoot(screen, tmp_path / "shown.png", LANDSCAPE)
    banner = screen.ids.countdown
    band = banner.ids.band
    assert band.text == "7 秒后返回滚动播放，轻触屏幕继续浏览" and band.markup is False
    assert band.height >= 100 and band.font_size >= 40 and banner.opacity == 1
    assert close_to(pixel(img, 20, 20), hex_rgb(TICKER_BAND))

    # A touch on a tile under the banner still reaches the tile.
    got: list[str] = []
    screen.bind(on_category=lambda _s, cid: got.append(cid))
    _, band_top = band.to_window(band.x, band.top)
    tiles = [t for t in screen.walk() if isinstance(t, CategoryTile)]
    tile = next(t for t in tiles if t.to_window(t.x, t.y)[1] < band_top)
    x, bottom = tile.to_window(tile.center_x, tile.y)
    tap_at(x, (bottom + band_top) / 2)
    assert got == [tile.category_id]

    screen.set_countdown(None)
    img = shoot(screen, tmp_path / "hidden.png", LANDSCAPE)
    assert banner.opacity == 0 and band.height == 0
    assert close_to(pixel(img, 20, 20), hex_rgb(BACKGROUND))


def test_every_touch_screen_hosts_the_countdown() -> None:
    from screens.category import CategoryScreen
    from screens.countdown import CountdownBanner
    from screens.detail import DetailScreen
    from screens.feedback import FeedbackScreen
    from screens.home import HomeScreen

    for cls in (HomeScreen, CategoryScreen, DetailScreen, FeedbackScreen):
        screen = cls()
        screen.set_countdown(3)
        banners = [w for w in screen.walk() if isinstance(w, CountdownBanner)]
        assert len(banners) == 1 and banners[0].shown and "3 秒后" in banners[0].text
        screen.set_countdown(None)
        assert not banners[0].shown
