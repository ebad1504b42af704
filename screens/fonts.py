"""Find and register a Simplified-Chinese font, choosing the right face of a collection.

Kivy's text providers open face 0 of a ``.ttc``. In Noto Sans CJK that face is the
Japanese one, whose forms for many characters (骨, 直, 画 …) differ from the mainland
standard; residents notice. So the Simplified-Chinese face is copied out of the
collection once (with fontTools) into the cache directory and that file is registered.

Discovery never imports Kivy; only :func:`register` does.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FONT_NAME = "KioskSans"
FONT_PACKAGE_HINT = (
    "install a Chinese font: sudo apt-get install fonts-noto-cjk (or fonts-wqy-zenhei)"
)
# Characters every face we accept must cover: category names and common punctuation.
REQUIRED_CHARS = "党务政村财公开通知告示审批监督电话扫码提意见，。、；：？！（）《》「」"

# (regular, bold) candidates in order of preference, with the face wanted in a collection.
CANDIDATES: tuple[tuple[str, str | None, str], ...] = (
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
        "Noto Sans CJK SC",
    ),
    ("/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc", None, "Noto Sans CJK SC"),
    (
        "/usr/share/fonts/opentype/noto/NotoSansSC-Regular.otf",
        "/usr/share/fonts/opentype/noto/NotoSansSC-Bold.otf",
        "",
    ),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", None, "WenQuanYi Zen Hei"),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", None, "WenQuanYi Micro Hei"),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", None, ""),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", None, "AR PL UMing CN"),
)


class FontNotFound(RuntimeError):
    """No usable Simplified-Chinese font: the message names the package to install."""


@dataclass(frozen=True)
class FontChoice:
    regular: Path
    bold: Path
    family: str


def find_font(configured: str = "", cache_dir: Path | None = None) -> FontChoice:
    """The font to use: the configured file if any, else the first good system font."""
    cache = cache_dir or Path.home() / ".cache" / "disclosure-kiosk" / "fonts"
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise FontNotFound(f"font {path} (from [display] font) does not exist")
        face = _face_file(path, "", cache)
        if face is None:
            raise FontNotFound(f"font {path} lacks Chinese glyphs; {FONT_PACKAGE_HINT}")
        return FontChoice(face, face, path.stem)
    for regular, bold, family in CANDIDATES:
        if not Path(regular).is_file():
            continue
        reg_face = _face_file(Path(regular), family, cache)
        if reg_face is None:
            continue
        bold_face = _face_file(Path(bold), family, cache) if bold and Path(bold).is_file() else None
        return FontChoice(reg_face, bold_face or reg_face, family or Path(regular).stem)
    raise FontNotFound(f"no Simplified-Chinese font found; {FONT_PACKAGE_HINT}")


def _face_file(path: Path, family: str, cache: Path) -> Path | None:
    """A single-face font file for ``family`` that covers :data:`REQUIRED_CHARS`.

    The answer is remembered in the cache directory, keyed by the file's path, size and
    modification time: reading a CJK font's character map costs about 0.4 s and a 65 MB
    peak at every start, on a 1 GB board, for an answer that only a font update changes.
    """
    try:
        st = path.stat()
    except OSError:
        return None
    key = hashlib.sha256(
        f"{path}:{st.st_size}:{st.st_mtime_ns}:{family}:{REQUIRED_CHARS}".encode()
    ).hexdigest()[:16]
    memo = cache / f"{path.stem}-{key}.choice"
    try:
        answer = memo.read_text(encoding="utf-8")
    except OSError:
        pass
    else:
        if answer == "":
            return None
        if Path(answer).is_file():
            return Path(answer)
    try:
        found = _inspect(path, family, cache)
    except Exception as exc:  # a damaged font file: try the next candidate, ask again later
        log.warning("font %s unusable: %s", path, exc)
        return None
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_suffix(".tmp")
        tmp.write_text(str(found) if found else "", encoding="utf-8")
        tmp.replace(memo)
    except OSError as exc:  # a read-only home: look again next time
        log.info("cannot remember the font choice in %s: %s", cache, exc)
    return found


def _inspect(path: Path, family: str, cache: Path) -> Path | None:
    """Read the font itself: which face, whether it covers, extracting it if needed."""
    from fontTools.ttLib import TTCollection, TTFont

    if path.suffix.lower() not in (".ttc", ".otc"):
        font = TTFont(path, lazy=True)
        return path if _covers(font) else None
    collection = TTCollection(path, lazy=True)
    index = 0
    for i, font in enumerate(collection.fonts):
        if family and font["name"].getDebugName(1) == family:
            index = i
            break
    font = collection.fonts[index]
    if not _covers(font):
        return None
    if index == 0:
        return path  # Kivy opens face 0 itself: no copy needed
    st = path.stat()
    key = hashlib.sha256(f"{path}:{st.st_size}:{st.st_mtime_ns}:{index}".encode()).hexdigest()
    out = cache / f"{path.stem}-{index}-{key[:12]}.otf"
    if not out.exists():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        TTFont(path, fontNumber=index).save(tmp)
        tmp.replace(out)
        log.info("extracted face %d (%s) of %s to %s", index, family, path, out)
    return out


def _covers(font: object) -> bool:
    cmap = font.getBestCmap() or {}  # type: ignore[attr-defined]
    return all(ord(ch) in cmap for ch in REQUIRED_CHARS)


def register(choice: FontChoice) -> str:
    """Register the choice with Kivy under :data:`FONT_NAME` and return that name."""
    from kivy.core.text import LabelBase

    LabelBase.register(
        name=FONT_NAME,
        fn_regular=str(choice.regular),
        fn_bold=str(choice.bold),
    )
    return FONT_NAME
