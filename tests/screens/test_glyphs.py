"""Chinese text renders with real glyphs in the registered font, never as missing-glyph boxes."""

from __future__ import annotations

from tests.gui import ensure_window


def pixels(text: str) -> bytes:
    from kivy.core.text import Label as CoreLabel

    from screens.fonts import FONT_NAME

    label = CoreLabel(text=text, font_name=FONT_NAME, font_size=64)
    label.refresh()
    return bytes(label.texture.pixels)


def test_cjk_characters_are_distinct_glyphs_not_boxes() -> None:
    ensure_window()
    box = pixels("\U000f0000")  # a private-use code point no font has: the .notdef box
    seen = set()
    for ch in "党务政村财公开扫码提意见，。":
        drawn = pixels(ch)
        assert any(drawn), f"{ch} drew nothing"
        assert drawn != box, f"{ch} rendered as the missing-glyph box"
        seen.add(drawn)
    assert len(seen) == len("党务政村财公开扫码提意见，。")
