"""Generate signed feed folders of any size, laid out as ``kiosk feed build`` writes them.

Built directly (not through the county builder) so a 10,000-item feed takes seconds; the
items come from the test suite's ``feedkit`` so they are the same shape the tests trust.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from tests import feedkit

IMAGE_EVERY = 100  # about one item in a hundred carries a scanned notice or receipt
IMAGE_SIZE = (1600, 1200)
URGENT_EVERY = 50


def make_image(seed: int) -> bytes:
    """A distinct 1600×1200 JPEG: gradient plus seed-placed blocks (never two alike)."""
    base = Image.linear_gradient("L").resize(IMAGE_SIZE)
    tint = Image.new("RGB", IMAGE_SIZE, ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    img = Image.blend(Image.merge("RGB", (base, base, base)), tint, 0.4)
    draw = ImageDraw.Draw(img)
    for k in range(12):
        x = (seed * 131 + k * 97) % (IMAGE_SIZE[0] - 200)
        y = (seed * 71 + k * 53) % (IMAGE_SIZE[1] - 120)
        draw.rectangle((x, y, x + 200, y + 120), fill=((k * 40 + seed) % 256, 30, 200))
    draw.text((40, 40), f"bench image {seed}", fill=(0, 0, 0))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def _media_entry(data: bytes) -> tuple[str, dict[str, Any]]:
    sha = hashlib.sha256(data).hexdigest()
    name = f"{sha}.jpg"
    entry = {"url": f"media/{name}", "sha256": sha, "bytes": len(data), "type": "image/jpeg"}
    return name, entry


def build_items(
    count: int, media_dir: Path, image_every: int = IMAGE_EVERY
) -> list[dict[str, Any]]:
    media_dir.mkdir(parents=True, exist_ok=True)
    categories = [c["id"] for c in feedkit.CATEGORIES]
    items = []
    for n in range(count):
        extra: dict[str, Any] = {
            "d_category": categories[n % len(categories)],
            "content_text": (f"第{n}号公示。经村民代表会议讨论通过，现予公示。" * 4),
        }
        if n % URGENT_EVERY == 0:
            extra["d_priority"] = "urgent"
        doc = feedkit.item(f"bench-{n:05d}", **extra)
        if n % image_every == 0:
            data = make_image(n)
            name, entry = _media_entry(data)
            (media_dir / name).write_bytes(data)
            doc["_disclosure"]["media"] = [entry]
        items.append(doc)
    return items


def write_feed(out: Path, items: list[dict[str, Any]], sequence: int, private_key: str) -> int:
    """Write ``feed.json`` and ``feed.json.sig``; return the feed's size in bytes."""
    out.mkdir(parents=True, exist_ok=True)
    body, sig = feedkit.signed(feedkit.feed(items, sequence=sequence), private_key)
    (out / "feed.json").write_bytes(body)
    (out / "feed.json.sig").write_bytes(sig)
    return len(body)


def generate(
    out: Path, count: int, private_key: str, image_every: int = IMAGE_EVERY
) -> tuple[list[dict[str, Any]], int]:
    if out.exists():
        shutil.rmtree(out)
    items = build_items(count, out / "media", image_every)
    return items, write_feed(out, items, 100, private_key)


def change_one_image(out: Path, items: list[dict[str, Any]], private_key: str) -> int:
    """Give the first item a new image and publish sequence 101, in place (as a rebuild)."""
    changed = json.loads(json.dumps(items))
    data = make_image(999_999)
    name, entry = _media_entry(data)
    (out / "media" / name).write_bytes(data)
    changed[0]["_disclosure"]["media"] = [entry]
    return write_feed(out, changed, 101, private_key)
