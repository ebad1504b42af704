"""What keeps the rolling display cheap on software GL, in a real off-screen Kivy window.

Kivy redraws the whole window for any change, and Mesa llvmpipe rasterises every frame on
the CPU, so these pin the choices that keep frames few and cheap: no cross-fade there, no
invisible slide left in the tree, the background as the window's clear colour, slides laid
out at the real size from the start. (Whether it is *fast* is measured by ``bench/``, not
asserted here.)
"""

from __future__ import annotations

import pytest

from tests.gui import ensure_window, render
from tests.screens.test_signage import BODY, card, front, screen

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module", autouse=True)
def window() -> None:
    ensure_window()


def _alone_in_window(widget: object) -> object:
    from kiosk.render import window as get_window

    win = get_window()
    for child in list(win.children):
        win.remove_widget(child)
    win.add_widget(widget)
    return win


def test_software_gl_is_recognised_and_cuts_between_slides() -> None:
    from screens.signage import SignageScreen, software_gl

    assert software_gl()  # the tests run on Mesa llvmpipe (see tests/gui.py)
    assert SignageScreen().fade_seconds == 0


def test_a_screen_in_a_manager_has_the_real_size_before_its_first_layout() -> None:
    from kivy.uix.screenmanager import ScreenManager

    from screens.signage import SignageScreen

    sm = ScreenManager()
    s = SignageScreen()
    sm.add_widget(s)
    win = _alone_in_window(sm)  # the window sizes the manager at once, lays out later
    try:
        assert tuple(s.size) == tuple(win.size) == (1920, 1080)
        assert s.m.width == 1920 and s.m.body_font == 38
    finally:
        win.remove_widget(sm)


def test_unsized_screen_keeps_1080p_metrics_rather_than_100px_ones() -> None:
    from screens.signage import SignageScreen

    s = SignageScreen()
    assert tuple(s.size) == (100, 100)
    assert s.m.width == 1920  # not metrics_for(100, 100): no 5 px fonts opened


def test_only_the_slide_on_screen_is_in_the_widget_tree() -> None:
    s = screen()
    win = _alone_in_window(s)
    try:
        stage = s.ids.stage
        assert stage.children == []  # nothing shown yet
        s.show(card(), 0, 1, 2)
        first = front(s)
        assert stage.children == [first]
        s.show(card(id="second", title="第二条"), 0, 2, 2)
        second = front(s)
        assert second is not first and stage.children == [second]
        assert first.parent is None and first.ids.body.text == ""  # released, off stage
        s.show(card(id="third", title="第三条"), 0, 1, 1)  # the first slide comes back
        assert front(s) is first and stage.children == [first]
        assert first.ids.title.text.startswith("第三条")
    finally:
        win.remove_widget(s)


def test_background_is_the_window_clear_colour_when_the_screen_fills_it(tmp_path) -> None:
    from screens.theme import BACKGROUND, rgba

    s = screen()
    s.show(card(), 0, 1, 1)
    render(s, tmp_path / "full.png")
    win = s.get_root_window()
    try:
        assert s.backdrop is False
        assert list(win.clearcolor) == pytest.approx(rgba(BACKGROUND))
        s.set_blank(True)
        assert list(win.clearcolor) == pytest.approx([0, 0, 0, 1])
        s.set_blank(False)
        assert list(win.clearcolor) == pytest.approx(rgba(BACKGROUND))
    finally:
        win.remove_widget(s)


def test_background_is_painted_when_exported_at_another_size(tmp_path) -> None:
    from PIL import Image

    from screens.theme import BACKGROUND, rgba

    s = screen(size=(1080, 1920))
    s.show(card(), 0, 1, 1)
    out = render(s, tmp_path / "portrait.png", size=(1080, 1920))
    try:
        assert s.backdrop is True  # drawn into an off-screen buffer: the clear is not ours
        pixel = Image.open(out).convert("RGB").getpixel((4, 1920 // 2))
        expected = tuple(round(c * 255) for c in rgba(BACKGROUND)[:3])
        assert all(abs(a - b) <= 2 for a, b in zip(pixel, expected, strict=True))
    finally:
        win = s.get_root_window()
        if win is not None:
            win.remove_widget(s)


def test_page_text_is_the_page_drawn() -> None:
    s = screen()
    item = card(body=BODY * 2)
    pages = s.pages_of(item)
    assert pages > 1
    for page in range(pages):
        s.show(item, page, 1, 1)
        assert s.page_text(item, page).split("\n") == front(s).ids.body.text.split("\n")


def test_slide_image_is_scaled_to_its_box_once(tmp_path) -> None:
    """A screen-sized picture (as sync stores it) is held at the slide box's size."""
    from PIL import Image

    path = tmp_path / "photo.jpg"
    Image.new("RGB", (1440, 1080), (200, 40, 40)).save(path, quality=90)
    s = screen()
    s.show(card(image_paths=(str(path),)), 0, 1, 1)
    image = front(s).ids.image
    box_w, box_h = image.size
    tex_w, tex_h = image.texture.size
    assert image.opacity == 1 and 0 < box_w < 1440
    assert tex_w <= box_w and tex_h <= box_h  # never bigger than what is drawn
    assert tex_w == int(box_w) or tex_h == int(box_h)  # ... and fills the box one way
    assert abs(tex_w / tex_h - 1440 / 1080) < 0.02  # proportions kept
    pixels = image.texture.pixels
    assert tuple(pixels[:3]) == pytest.approx((200, 40, 40), abs=8)


def test_unreadable_image_leaves_the_box_empty(tmp_path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a picture")
    s = screen()
    s.show(card(image_paths=(str(broken),)), 0, 1, 1)
    image = front(s).ids.image
    assert image.texture is None and image.opacity == 0
    assert front(s).ids.body.text  # the rest of the slide is there
