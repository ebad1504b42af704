"""The technician's PIN pad and panel, rendered in a real off-screen window and touched with
real MotionEvents."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.gui import ensure_window, render

pytestmark = pytest.mark.gui

LANDSCAPE = (1920, 1080)
PORTRAIT = (1080, 1920)


@pytest.fixture(scope="module", autouse=True)
def window() -> Any:
    return ensure_window()


def pump(seconds: float) -> None:
    from kivy.base import EventLoop

    end = time.monotonic() + seconds
    while True:
        EventLoop.idle()
        if time.monotonic() >= end:
            break
        time.sleep(0.01)


def tap(widget: Any) -> None:
    """A real touch, down then up, at the centre of ``widget``."""
    from kivy.tests.common import UnitTestTouch

    touch = UnitTestTouch(*widget.to_window(*widget.center))
    touch.touch_down()
    pump(0.03)
    touch.touch_up()
    pump(0.03)


def shoot(screen: Any, out: Path, size: tuple[int, int]) -> Image.Image:
    from kivy.uix.screenmanager import NoTransition, ScreenManager

    root = screen.manager
    if root is None:
        root = ScreenManager(transition=NoTransition())
        root.add_widget(screen)
        root.current = screen.name
    render(root, out, size)
    return Image.open(render(root, out, size)).convert("RGB")


def buttons(root: Any) -> list[Any]:
    from kivy.uix.behaviors import ButtonBehavior

    return [w for w in root.walk() if isinstance(w, ButtonBehavior) and w.opacity > 0]


def key(screen: Any, text: str) -> Any:
    found = [b for b in buttons(screen) if getattr(b, "text", None) == text]
    assert len(found) == 1, text
    return found[0]


def rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16))


# ----- PIN pad ----------------------------------------------------------------------------
@pytest.mark.parametrize("size", [LANDSCAPE, PORTRAIT])
def test_pin_pad_is_complete_and_large(tmp_path: Path, size: tuple[int, int]) -> None:
    from screens.technician import PinScreen

    screen = PinScreen(name="pin")
    img = shoot(screen, tmp_path / "pin.png", size)
    texts = sorted(b.text for b in buttons(screen))
    assert texts == sorted([*"0123456789", "删除", "确定", "取消"])
    for button in buttons(screen):
        assert button.height >= 80 and button.width >= 80, button.text
        left, bottom = button.to_window(button.x, button.y)
        assert left >= 0 and left + button.width <= size[0]
        assert bottom >= 0 and bottom + button.height <= size[1]
    # 确定 stands out as the primary action: dark fill, light text.
    ok = key(screen, "确定")
    x, y = ok.to_window(ok.x + 10, ok.y + 10)
    assert img.getpixel((int(x), img.height - 1 - int(y))) == rgb("#1a1a1a")
    assert screen.ids.message.text == "请输入维护密码" and screen.ids.message.markup is False


def test_pin_pad_composes_digits_masks_them_and_fires(tmp_path: Path) -> None:
    from screens.technician import MAX_PIN, PinScreen

    screen = PinScreen(name="pin")
    shoot(screen, tmp_path / "pin.png", LANDSCAPE)
    pins: list[str] = []
    cancels: list[bool] = []
    screen.bind(on_pin=lambda _s, pin: pins.append(pin), on_cancel=lambda *_: cancels.append(True))

    for digit in "2580":
        tap(key(screen, digit))
    assert screen.entry == "2580"
    assert screen.ids.dots.text == "●  ●  ●  ●" and "2" not in screen.ids.dots.text
    tap(key(screen, "删除"))
    assert screen.entry == "258"
    tap(key(screen, "7"))
    tap(key(screen, "确定"))
    assert pins == ["2587"] and screen.entry == "" and screen.ids.dots.text == ""

    tap(key(screen, "确定"))  # nothing typed: no event
    assert pins == ["2587"]

    for _ in range(MAX_PIN + 3):
        tap(key(screen, "9"))
    assert screen.entry == "9" * MAX_PIN

    tap(key(screen, "取消"))
    assert cancels == [True] and screen.entry == ""


def test_pin_message_and_clear(tmp_path: Path) -> None:
    from screens.technician import PinScreen

    screen = PinScreen(name="pin")
    shoot(screen, tmp_path / "pin.png", LANDSCAPE)
    tap(key(screen, "1"))
    screen.set_message("密码错误，请重试（还可尝试 4 次）[b]")
    screen.clear()  # the app's order: message first, then clear the digits
    assert screen.entry == "" and screen.ids.dots.text == ""
    assert screen.ids.message.text == "密码错误，请重试（还可尝试 4 次）[b]"
    assert screen.ids.message.markup is False


# ----- panel --------------------------------------------------------------------------------
ROWS = [
    ("终端编号", "LT-TEST-01"),
    ("区划代码", "360999101201"),
    ("软件版本", "0.1.0"),
    ("数据源地址", "https://gongkai.qingxi.example.gov.cn/feed/360999.json"),
    ("最近同步", "11月22日 08:15  失败"),
    ("错误信息", "feed rejected: [b]bad[/b] [color=ff0000]sig[/color] [ref=x]x[/ref]"),
    ("数据序号", "1042"),
    ("条目数", "显示 38 / 存储 41"),
    ("轮播周期", "12 分 30 秒"),
    ("磁盘空间", "21.3 GB 可用 / 共 29.1 GB"),
    ("IP 地址", "192.168.1.23, fe80::1"),
]


@pytest.mark.parametrize("size", [LANDSCAPE, PORTRAIT])
def test_panel_lists_rows_literally_with_large_buttons(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    from kivy.uix.label import Label

    from screens.technician import InfoRow, TechnicianScreen

    screen = TechnicianScreen(name="technician")
    screen.set_info(ROWS)
    shoot(screen, tmp_path / "panel.png", size)
    rows = [w for w in reversed(screen.ids.table.children) if isinstance(w, InfoRow)]
    assert [(r.ids.key.text, r.ids.value.source_text) for r in rows] == ROWS
    labels = [w for w in screen.walk() if isinstance(w, Label)]
    assert all(label.markup is False for label in labels)
    shown = "".join(label.text for label in labels)
    assert "[b]bad[/b]" in shown and "[color=ff0000]" in shown and "[ref=x]" in shown
    texts = sorted(b.text for b in buttons(screen))
    assert texts == sorted(["立即同步", "屏幕测试", "退出"])
    for button in buttons(screen):
        assert button.height >= 80 and button.width >= 160, button.text
        left, bottom = button.to_window(button.x, button.y)
        assert left >= 0 and left + button.width <= size[0]
        assert bottom >= 0 and bottom + button.height <= size[1]
    # Two columns: every value starts to the right of every key.
    assert min(r.ids.value.x for r in rows) > max(r.ids.key.right for r in rows) - 1


def test_panel_buttons_fire(tmp_path: Path) -> None:
    from screens.technician import TechnicianScreen

    screen = TechnicianScreen(name="technician")
    screen.set_info(ROWS)
    shoot(screen, tmp_path / "panel.png", LANDSCAPE)
    got: list[str] = []
    screen.bind(
        on_sync_now=lambda *_: got.append("sync"),
        on_close=lambda *_: got.append("close"),
        on_test_pattern=lambda *_: got.append("pattern"),
    )
    tap(key(screen, "立即同步"))
    assert got == ["sync"] and "同步" in screen.ids.status.text
    tap(key(screen, "退出"))
    assert got == ["sync", "close"]


def test_screen_test_pattern_covers_screen_and_closes_on_touch(tmp_path: Path) -> None:
    from screens.technician import BARS, MARKER, TechnicianScreen

    screen = TechnicianScreen(name="technician")
    screen.set_info(ROWS)
    shoot(screen, tmp_path / "panel.png", LANDSCAPE)
    got: list[str] = []
    screen.bind(on_test_pattern=lambda *_: got.append("pattern"))
    tap(key(screen, "屏幕测试"))
    assert got == ["pattern"] and screen.pattern_open and screen.pattern.parent is screen
    img = shoot(screen, tmp_path / "pattern.png", LANDSCAPE)
    w, h = img.size
    # Colour bars across the top half, in order.
    for i, colour in enumerate(BARS):
        x = int((i + 0.5) * w / len(BARS))
        assert img.getpixel((x, h // 4)) == rgb(colour), colour
    # Corner markers and the 1-px frame on the outermost pixels.
    for corner in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1), (w // 2, 0), (0, h // 3)):
        assert img.getpixel(corner) == rgb(MARKER), corner
    # A one-pixel white grid on black in the lower part: lines exactly 1 px wide.
    row = h - 1 - 20  # 20 px above the bottom edge, between horizontal lines
    assert img.getpixel((40, row)) == (255, 255, 255)
    assert img.getpixel((39, row)) == (0, 0, 0) and img.getpixel((41, row)) == (0, 0, 0)
    # Any touch closes it and the panel is back.
    tap(screen.pattern)
    assert not screen.pattern_open and screen.pattern.parent is None
    assert key(screen, "立即同步").height >= 80
