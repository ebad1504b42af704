"""Colours and sizes: one calm, legible look for every screen and resolution.

Sizes are specified on a 1920×1080 grid (1080×1920 in portrait) and scaled to the window,
so a 1366×768 TV and a 4K panel keep the same proportions. Type sizes follow the
elderly-friendly norms in DOMAIN.md: body ≥ 32 px and titles ≥ 48 px at 1080p, line
spacing ≥ 1.3, contrast ≥ 4.5:1.

Pure Python (no Kivy import) so the contrast rules can be tested without a window.
"""

from __future__ import annotations

from dataclasses import dataclass

RGBA = tuple[float, float, float, float]

BACKGROUND = "#faf8f3"  # very light warm white
SURFACE = "#ffffff"
TEXT = "#1a1a1a"
TEXT_MUTED = "#4a4a4a"
RULE = "#d9d4c7"
TICKER_BAND = "#1f2328"
TICKER_TEXT = "#ffffff"
URGENT = "#b3261e"
OFFLINE = "#8a5a00"
FALLBACK_CATEGORY = "#37474f"
# Kivy's line_height factor. Noto Sans CJK's own line height is about 1.45 em, already
# above the ≥ 1.3 line spacing asked for elderly readers, so no extra factor is needed.
LINE_HEIGHT = 1.0


def rgba(hex_color: str, alpha: float = 1.0) -> RGBA:
    value = hex_color.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, alpha)


def _linear(channel: float) -> float:
    return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4


def luminance(hex_color: str) -> float:
    r, g, b, _ = rgba(hex_color)
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def darken(hex_color: str, factor: float) -> str:
    r, g, b, _ = rgba(hex_color)
    return "#" + "".join(f"{round(c * factor * 255):02x}" for c in (r, g, b))


def band_colors(category_color: str | None) -> tuple[str, str]:
    """(band, text) for a category header: white text on the category colour, darkened
    until the pair reaches 4.5:1, because the feed's colour is chosen by a county clerk."""
    band = category_color or FALLBACK_CATEGORY
    for _ in range(20):
        if contrast(band, "#ffffff") >= 4.5:
            return band, "#ffffff"
        band = darken(band, 0.85)
    return band, "#ffffff"


@dataclass(frozen=True)
class Metrics:
    """Pixel sizes for one window size."""

    width: int
    height: int
    scale: float
    portrait: bool
    margin: float
    gutter: float
    header_height: float
    header_font: float
    title_font: float
    body_font: float
    meta_font: float
    ticker_height: float
    ticker_font: float
    qr_size: float
    touch_target: float

    @property
    def content_width(self) -> float:
        return self.width - 2 * self.margin


def metrics_for(width: int, height: int) -> Metrics:
    portrait = height > width
    ref_w, ref_h = (1080, 1920) if portrait else (1920, 1080)
    scale = min(width / ref_w, height / ref_h)
    s = max(scale, 0.2)
    return Metrics(
        width=width,
        height=height,
        scale=s,
        portrait=portrait,
        margin=round(48 * s),
        gutter=round(32 * s),
        header_height=round(104 * s),
        header_font=round(46 * s),
        title_font=round(56 * s),
        body_font=round(38 * s),
        meta_font=round(30 * s),
        ticker_height=round(76 * s),
        ticker_font=round(38 * s),
        qr_size=round(248 * s),
        touch_target=max(round(96 * s), 48),
    )
