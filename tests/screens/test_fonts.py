"""Font discovery remembers its answer, so a terminal does not parse a CJK font's
character map (0.4 s, a 65 MB peak) at every start; a changed font is looked at again."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from screens.fonts import CANDIDATES, FontNotFound, find_font


def a_system_font() -> Path:
    for regular, _bold, _family in CANDIDATES:
        if Path(regular).is_file():
            return Path(regular)
    pytest.skip("no Chinese system font (deploy/dev.sh installs fonts-noto-cjk)")


def test_the_answer_is_remembered_until_the_font_changes(tmp_path: Path) -> None:
    font = tmp_path / ("mine" + a_system_font().suffix)
    shutil.copyfile(a_system_font(), font)
    cache = tmp_path / "cache"
    first = find_font(str(font), cache_dir=cache)
    memos = list(cache.glob("*.choice"))
    assert len(memos) == 1 and Path(memos[0].read_text()) == first.regular

    # Same size and time, other bytes: the remembered answer is used, the file not read.
    st = font.stat()
    font.write_bytes(b"\0" * st.st_size)
    os.utime(font, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert find_font(str(font), cache_dir=cache) == first

    # A new modification time (a font package update): looked at again, and refused.
    os.utime(font, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(FontNotFound, match="lacks Chinese glyphs"):
        find_font(str(font), cache_dir=cache)


def test_a_font_without_chinese_is_remembered_as_unusable(tmp_path: Path) -> None:
    latin = next(Path("/usr/share/fonts").rglob("DejaVuSans.ttf"), None)
    if latin is None:
        pytest.skip("no DejaVu font here")
    cache = tmp_path / "cache"
    for _ in range(2):
        with pytest.raises(FontNotFound, match="lacks Chinese glyphs"):
            find_font(str(latin), cache_dir=cache)
    assert [m.read_text() for m in cache.glob("*.choice")] == [""]
