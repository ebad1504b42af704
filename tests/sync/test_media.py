"""The media pipeline against real images served over loopback HTTP.

Images are generated with Pillow here, so each test knows exactly what went in; the
downloader is a ten-line streamed, capped ``requests`` call, independent of sync.fetch.
"""

from __future__ import annotations

import hashlib
import io
import os
import resource
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from PIL import Image
from pytest_httpserver import HTTPServer

from sync.errors import FetchError, MediaError
from sync.media import MediaCache, MediaLimits
from sync.model import Media

REPO = Path(__file__).resolve().parents[2]
TARGET = MediaLimits().target_size
Fetcher = Callable[[str, int], bytes]


def fetch_bytes(url: str, max_bytes: int) -> bytes:
    """A minimal capped downloader: stream the body and refuse once it passes the cap."""
    with requests.get(url, stream=True, timeout=5) as resp:
        if resp.status_code != 200:
            raise FetchError(f"{url}: HTTP {resp.status_code}")
        body = bytearray()
        for chunk in resp.iter_content(chunk_size=64 * 1024):
            body += chunk
            if len(body) > max_bytes:
                raise FetchError(f"{url}: more than {max_bytes} bytes")
        return bytes(body)


def fetch_truncating(url: str, max_bytes: int) -> bytes:
    """A sloppier downloader that silently cuts at the cap instead of refusing."""
    with requests.get(url, stream=True, timeout=5) as resp:
        return resp.raw.read(max_bytes)


def media_for(data: bytes, url: str, mime: str) -> Media:
    return Media(url=url, sha256=hashlib.sha256(data).hexdigest(), bytes=len(data), type=mime)


def serve(server: HTTPServer, path: str, data: bytes, mime: str = "image/jpeg") -> str:
    server.expect_request(path).respond_with_data(data, content_type=mime)
    return server.url_for(path)


def encode(im: Image.Image, fmt: str, **options: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **options)
    return buf.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def bilevel_png(width: int, height: int, idat: bytes | None = None) -> bytes:
    """A 1-bit PNG built chunk by chunk, so a huge one costs nothing to make.

    With ``idat`` None the pixel stream is real (all black, so it compresses ~1000:1);
    otherwise ``idat`` is used as is, e.g. junk that any decoder would choke on.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    if idat is None:
        row = b"\x00" * (1 + (width + 7) // 8)
        z = zlib.compressobj(9)
        block = row * 256
        parts = [z.compress(block) for _ in range(height // 256)]
        parts += [z.compress(row * (height % 256)), z.flush()]
        idat = b"".join(parts)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def photo() -> bytes:
    """A 4000x3000 camera-like JPEG with a maker tag, as a phone would upload it."""
    size = (4000, 3000)
    ramp = Image.linear_gradient("L").resize(size)
    im = Image.merge("RGB", (ramp, Image.effect_noise(size, 12), ramp.transpose(Image.ROTATE_180)))
    exif = Image.Exif()
    exif[0x010F] = "VillagePhone"  # Make
    return encode(im, "JPEG", quality=95, exif=exif.tobytes())


@pytest.fixture
def cache(tmp_path: Path) -> MediaCache:
    return MediaCache(tmp_path / "media")  # does not exist yet: the cache must create it


def test_photo_is_scaled_stored_and_downloaded_only_once(
    httpserver: HTTPServer, cache: MediaCache, photo: bytes
) -> None:
    media = media_for(photo, serve(httpserver, "/p/photo.jpg", photo), "image/jpeg")
    assert not cache.has(media)

    name = cache.ensure(media, fetch_bytes)

    assert name == cache.local_name(media)
    assert name.startswith(media.sha256) and name.endswith(".jpg")
    prepared = cache.path(name)
    assert prepared.is_file()
    assert prepared.stat().st_size < len(photo)
    with Image.open(prepared) as out:
        assert out.format == "JPEG" and out.mode == "RGB"
        assert out.width <= TARGET[0] and out.height <= TARGET[1]
        assert max(out.width / TARGET[0], out.height / TARGET[1]) == pytest.approx(1, abs=0.01)
        assert out.width / out.height == pytest.approx(4000 / 3000, rel=0.01)
        assert len(out.getexif()) == 0  # metadata stripped
    assert not [p for p in prepared.parent.iterdir() if p.name.startswith(".tmp-")]
    assert len(httpserver.log) == 1

    again = MediaCache(prepared.parent)  # a restarted process sees the same file
    assert again.has(media)
    assert again.ensure(media, fetch_bytes) == name
    assert cache.ensure(media, fetch_bytes) == name
    assert len(httpserver.log) == 1


def test_png_with_alpha_stays_png_and_keeps_transparency(
    httpserver: HTTPServer, cache: MediaCache
) -> None:
    im = Image.new("RGBA", (2400, 1600), (200, 30, 30, 255))
    im.paste((0, 0, 0, 0), (0, 0, 1200, 1600))  # left half fully transparent
    data = encode(im, "PNG")
    media = media_for(data, serve(httpserver, "/logo.png", data, "image/png"), "image/png")

    name = cache.ensure(media, fetch_bytes)

    with Image.open(cache.path(name)) as out:
        assert out.format == "PNG" and out.mode == "RGBA"
        assert out.size == (1620, 1080)
        assert out.getpixel((10, 540))[3] == 0
        assert out.getpixel((1600, 540)) == (200, 30, 30, 255)


def test_webp_is_prepared_and_uppercase_hash_accepted(
    httpserver: HTTPServer, cache: MediaCache
) -> None:
    data = encode(Image.new("RGB", (3000, 2000), (30, 90, 160)), "WEBP", quality=80)
    media = media_for(data, serve(httpserver, "/a.webp", data, "image/webp"), "image/webp")
    media = Media(media.url, media.sha256.upper(), media.bytes, media.type)

    name = cache.ensure(media, fetch_bytes)

    assert name.startswith(media.sha256.lower())
    with Image.open(cache.path(name)) as out:
        assert out.size == (1620, 1080)
        r, g, b = out.convert("RGB").getpixel((800, 500))
        assert abs(r - 30) < 8 and abs(g - 90) < 8 and abs(b - 160) < 8


def test_animated_webp_shows_first_frame(httpserver: HTTPServer, cache: MediaCache) -> None:
    frames = [Image.new("RGB", (320, 240), c) for c in ((220, 20, 20), (20, 20, 220))]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    media = media_for(data, serve(httpserver, "/anim.webp", data, "image/webp"), "image/webp")

    with Image.open(cache.path(cache.ensure(media, fetch_bytes))) as out:
        assert out.size == (320, 240)  # never upscaled
        assert out.convert("RGB").getpixel((160, 120)) == (220, 20, 20)


def test_exif_orientation_is_applied(httpserver: HTTPServer, cache: MediaCache) -> None:
    # Stored sideways: the sensor's left (red) is the picture's top when orientation is 6.
    im = Image.new("RGB", (3000, 1000), (0, 0, 230))
    im.paste((230, 0, 0), (0, 0, 1500, 1000))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(im, "JPEG", quality=90, exif=exif.tobytes())
    media = media_for(data, serve(httpserver, "/side.jpg", data), "image/jpeg")

    with Image.open(cache.path(cache.ensure(media, fetch_bytes))) as out:
        assert out.height > out.width  # upright: portrait
        assert out.height <= TARGET[1] and out.width <= TARGET[0]
        assert out.size == (360, 1080)
        top, bottom = out.getpixel((180, 10)), out.getpixel((180, 1070))
        assert top[0] > 180 and top[2] < 60
        assert bottom[2] > 180 and bottom[0] < 60
        assert 0x0112 not in out.getexif()  # not rotated a second time by the viewer


def test_hash_mismatch_is_refused(httpserver: HTTPServer, cache: MediaCache, photo: bytes) -> None:
    url = serve(httpserver, "/p.jpg", photo)
    media = Media(url, hashlib.sha256(b"something else").hexdigest(), len(photo), "image/jpeg")

    with pytest.raises(MediaError, match="sha256") as err:
        cache.ensure(media, fetch_bytes)

    assert url in str(err.value) and "\n" not in str(err.value)
    assert not cache.has(media)
    assert list(cache.root.iterdir()) == []


@pytest.mark.parametrize("fetch", [fetch_bytes, fetch_truncating], ids=["refusing", "truncating"])
def test_more_bytes_than_declared_is_refused(
    httpserver: HTTPServer, cache: MediaCache, photo: bytes, fetch: Fetcher
) -> None:
    declared = photo[: len(photo) - 100]
    media = media_for(declared, serve(httpserver, "/long.jpg", photo), "image/jpeg")

    with pytest.raises(MediaError, match="more than"):
        cache.ensure(media, fetch)

    assert list(cache.root.iterdir()) == []


def test_fewer_bytes_than_declared_is_refused(
    httpserver: HTTPServer, cache: MediaCache, photo: bytes
) -> None:
    url = serve(httpserver, "/short.jpg", photo[:-100])
    media = Media(url, hashlib.sha256(photo).hexdigest(), len(photo), "image/jpeg")

    with pytest.raises(MediaError, match=f"{len(photo) - 100} bytes, {len(photo)} declared"):
        cache.ensure(media, fetch_bytes)


@pytest.mark.parametrize(
    ("declared_bytes", "mime", "sha", "reason"),
    [
        (9 * 1024 * 1024, "image/jpeg", "a" * 64, "cap"),
        (0, "image/jpeg", "a" * 64, "positive"),
        (1000, "image/svg+xml", "a" * 64, "type"),
        (1000, "image/jpeg", "../../etc/passwd", "64 hex"),
        (1000, "image/jpeg", "g" * 64, "64 hex"),
    ],
)
def test_bad_declarations_are_refused_before_download(
    httpserver: HTTPServer, cache: MediaCache, declared_bytes: int, mime: str, sha: str, reason: str
) -> None:
    url = serve(httpserver, "/never.jpg", b"x")
    media = Media(url, sha, declared_bytes, mime)

    with pytest.raises(MediaError, match=reason):
        cache.ensure(media, fetch_bytes)

    assert len(httpserver.log) == 0
    assert not cache.has(media)


def test_html_page_with_matching_hash_is_refused(httpserver: HTTPServer, cache: MediaCache) -> None:
    page = b"<!doctype html><html><body><h1>502 Bad Gateway</h1></body></html>\n"
    media = media_for(page, serve(httpserver, "/img.png", page, "text/html"), "image/png")

    with pytest.raises(MediaError, match="not a usable image"):
        cache.ensure(media, fetch_bytes)

    assert list(cache.root.iterdir()) == []


def test_declared_type_must_match_real_format(httpserver: HTTPServer, cache: MediaCache) -> None:
    data = encode(Image.new("RGB", (64, 48), (1, 2, 3)), "PNG")
    media = media_for(data, serve(httpserver, "/x.jpg", data), "image/jpeg")

    with pytest.raises(MediaError, match="declared image/jpeg but the bytes are PNG"):
        cache.ensure(media, fetch_bytes)


def test_pixel_count_is_checked_from_header_before_decoding(
    httpserver: HTTPServer, cache: MediaCache
) -> None:
    # 48 Mpx claimed, and pixel data that no decoder could read: the only way to refuse it
    # for its pixel count is to have looked at the header and stopped there.
    data = bilevel_png(8000, 6000, idat=b"\xde\xad" * 32)
    media = media_for(data, serve(httpserver, "/bomb.png", data, "image/png"), "image/png")

    with pytest.raises(MediaError, match="8000x6000 is 48000000 pixels"):
        cache.ensure(media, fetch_bytes)


def test_compressed_pixel_bomb_is_refused_fast_and_small(
    httpserver: HTTPServer, cache: MediaCache
) -> None:
    data = bilevel_png(30000, 30000)  # 900 Mpx: ~900 MB once decoded
    assert len(data) < 200_000
    assert struct.unpack(">II", data[16:24]) == (30000, 30000)  # IHDR width, height
    media = media_for(data, serve(httpserver, "/huge.png", data, "image/png"), "image/png")
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

    started = time.monotonic()
    with pytest.raises(MediaError, match="pixels"):
        cache.ensure(media, fetch_bytes)

    assert time.monotonic() - started < 2.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 100 * 1024


def test_pillow_bomb_guard_still_applies_when_our_limit_is_raised(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    cache = MediaCache(tmp_path, MediaLimits(max_pixels=10**10))
    data = bilevel_png(10000, 10000)  # above Pillow's warning threshold, below its error
    media = media_for(data, serve(httpserver, "/big.png", data, "image/png"), "image/png")

    with pytest.raises(MediaError, match="not a usable image"):
        cache.ensure(media, fetch_bytes)


def test_http_failure_names_the_url(httpserver: HTTPServer, cache: MediaCache) -> None:
    httpserver.expect_request("/gone.jpg").respond_with_data("no", status=404)
    url = httpserver.url_for("/gone.jpg")

    with pytest.raises(MediaError, match=r"download failed.*HTTP 404") as err:
        cache.ensure(Media(url, "b" * 64, 1234, "image/jpeg"), fetch_bytes)

    assert str(err.value).startswith(f"media {url}:")


def test_new_screen_size_prepares_a_new_copy(
    httpserver: HTTPServer, tmp_path: Path, photo: bytes
) -> None:
    media = media_for(photo, serve(httpserver, "/p.jpg", photo), "image/jpeg")
    big = MediaCache(tmp_path)
    small = MediaCache(tmp_path, MediaLimits(target_size=(800, 480)))

    big_name = big.ensure(media, fetch_bytes)
    assert not small.has(media)
    small_name = small.ensure(media, fetch_bytes)

    assert small_name != big_name
    assert len(httpserver.log) == 2
    with Image.open(small.path(small_name)) as out:
        assert out.size == (640, 480)


def test_collect_keeps_referenced_and_removes_the_rest(
    httpserver: HTTPServer, cache: MediaCache
) -> None:
    names = []
    for i, colour in enumerate(((10, 120, 10), (120, 10, 10))):
        data = encode(Image.new("RGB", (200, 100), colour), "JPEG")
        media = media_for(data, serve(httpserver, f"/{i}.jpg", data), "image/jpeg")
        names.append(cache.ensure(media, fetch_bytes))
    leftover = cache.root / f".tmp-{names[1]}.4242.1"
    leftover.write_bytes(b"\xff\xd8 half a jpeg")
    stray = cache.root / "README.txt"  # not ours: left alone
    stray.write_text("placed by a technician")

    removed = cache.collect({names[0]})

    assert removed == 2
    assert sorted(p.name for p in cache.root.iterdir()) == sorted([names[0], "README.txt"])
    assert cache.collect({names[0]}) == 0


def test_path_refuses_names_that_are_not_ours(cache: MediaCache) -> None:
    for bad in ("../../etc/passwd", "a" * 64 + "-1x1.jpg/../../x", ".tmp-x", ""):
        with pytest.raises(MediaError):
            cache.path(bad)
    assert cache.path("a" * 64 + "-1920x1080.jpg").parent == cache.root


def test_process_killed_mid_write_leaves_no_file_under_final_name(
    tmp_path: Path, photo: bytes
) -> None:
    # The child dies by SIGKILL at the moment it would fsync the prepared copy: the bytes
    # are written but not yet renamed into place.
    root, src = tmp_path / "media", tmp_path / "photo.jpg"
    src.write_bytes(photo)
    media = media_for(photo, "http://county.invalid/p.jpg", "image/jpeg")
    child = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from sync.media import MediaCache\n"
        "from sync.model import Media\n"
        "root, src, sha = sys.argv[1:]\n"
        "data = Path(src).read_bytes()\n"
        "os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n"
        "media = Media('http://county.invalid/p.jpg', sha, len(data), 'image/jpeg')\n"
        "MediaCache(Path(root)).ensure(media, lambda url, cap: data)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", child, str(root), str(src), media.sha256],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == -9, proc.stderr.decode()

    cache = MediaCache(root)
    left = list(root.iterdir())
    assert len(left) == 1 and left[0].name.startswith(".tmp-")
    assert not cache.has(media)

    name = cache.ensure(media, lambda url, cap: photo)
    assert cache.collect({name}) == 1
    assert [p.name for p in root.iterdir()] == [name]
