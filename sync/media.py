"""Media pipeline: download each feed image once, verify it, pre-scale it, store it by content.

Terminals are Raspberry-Pi-class machines on poor networks, so an image is fetched at most
once (the name is derived from its SHA-256) and handed to the Kivy app already scaled to
the screen: decoding a 12-megapixel phone photo on every slide change would stall the
rotation and could exhaust memory. Every byte comes from the network and is untrusted, so
sizes and pixel counts are bounded before anything is allocated for them.

Never imports Kivy: the sync job runs from cron and tests without a display.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import struct
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from sync.errors import MediaError, StoreError, SyncError
from sync.model import IMAGE_TYPES, Media

# Declared type -> Pillow formats the real bytes may have. Phones write multi-picture
# JPEGs (MPO) that are ordinary JPEGs to every viewer, so they count as JPEG.
_FORMATS: dict[str, tuple[str, ...]] = {
    "image/jpeg": ("JPEG", "MPO"),
    "image/png": ("PNG",),
    "image/webp": ("WEBP",),
}
# Declared type -> extension of the prepared copy. The name must be known before the
# download (``has`` decides whether to download at all), so it cannot depend on whether
# the pixels turn out to carry alpha. JPEG cannot carry alpha, so it stays JPEG; PNG and
# WebP may, and also hold scanned tables and screenshots whose text JPEG would smear, so
# they become lossless PNG. Kivy's loaders pick by extension and read JPEG and PNG everywhere.
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "png"}

_SHA256 = re.compile(r"[0-9a-f]{64}")
_PREPARED = re.compile(r"[0-9a-f]{64}-[1-9][0-9]*x[1-9][0-9]*\.(?:jpg|png)")
_TMP_PREFIX = ".tmp-"
_ORIENTATION_TAG = 0x0112
_SWAPS_AXES = {5, 6, 7, 8}  # EXIF orientations that turn the picture by 90 degrees
_JPEG_QUALITY = 85
# Write errors that say the data directory is full or read-only, whatever the image.
_LOCAL_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})

# Exceptions Pillow raises on bytes it cannot make sense of; any of them means "refuse".
_PILLOW_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    struct.error,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)


@dataclass(frozen=True)
class MediaLimits:
    """Bounds applied to every medium; the defaults suit a 1080p screen on a Pi."""

    max_bytes: int = 8 * 1024 * 1024  # per medium; also refuse when media.bytes declares more
    max_pixels: int = 40_000_000  # width*height checked from the header BEFORE decoding
    target_size: tuple[int, int] = (1920, 1080)  # fit inside (keep aspect, never upscale)

    def __post_init__(self) -> None:
        # A zero or negative limit would silently refuse everything (or nothing).
        if self.max_bytes <= 0 or self.max_pixels <= 0:
            raise ValueError("media limits must be positive")
        if len(self.target_size) != 2 or min(self.target_size) <= 0:
            raise ValueError(f"target size must be two positive integers: {self.target_size!r}")


class MediaCache:
    """A directory of prepared images, named by source hash and target size.

    Content addressing makes a download idempotent and lets many items share one file;
    putting the target size in the name makes a terminal whose resolution changed prepare
    fresh copies instead of showing ones scaled for another screen.
    """

    def __init__(self, root: Path, limits: MediaLimits = MediaLimits()) -> None:
        self.root = Path(root)
        self.limits = limits
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MediaError(f"cannot create media directory {self.root}: {exc}") from exc

    # -- names -------------------------------------------------------------------------

    def local_name(self, media: Media) -> str:
        """Name of the prepared copy; the same for the same source and screen, always."""
        sha = _checked_sha256(media)
        ext = _EXTENSIONS.get(media.type)
        if ext is None:
            raise MediaError(f"media {media.url}: type {media.type!r} is not one of {IMAGE_TYPES}")
        width, height = self.limits.target_size
        return f"{sha}-{width}x{height}.{ext}"

    def path(self, local_name: str) -> Path:
        """Absolute path of a prepared copy; refuses anything that is not one of our names.

        Names end up in the store and come back from it, so a crafted one such as
        ``../../etc/passwd`` must never turn into a path outside the media directory.
        """
        if not _PREPARED.fullmatch(local_name):
            raise MediaError(f"not a prepared media name: {local_name!r}")
        return self.root / local_name

    def has(self, media: Media) -> bool:
        """Whether the prepared copy is already on disk, so no download is needed.

        Files appear under their final name only through an atomic rename, so presence
        alone means complete.
        """
        try:
            return self.path(self.local_name(media)).is_file()
        except MediaError:
            return False

    # -- preparing ---------------------------------------------------------------------

    def ensure(self, media: Media, fetch_bytes: Callable[[str, int], bytes]) -> str:
        """Make sure the prepared copy exists and return its name.

        ``fetch_bytes(url, max_bytes)`` is only called when the copy is missing. It is
        asked for one byte more than declared, so that an over-long body is seen here even
        when the fetcher truncates at its cap rather than refusing.
        """
        url = media.url
        limit = self.limits.max_bytes
        if type(media.bytes) is not int or media.bytes <= 0:
            raise MediaError(
                f"media {url}: declared size {media.bytes!r} is not a positive integer"
            )
        if media.bytes > limit:
            raise MediaError(
                f"media {url}: declares {media.bytes} bytes, more than the {limit} cap"
            )
        name = self.local_name(media)  # checks the type and the hash's form
        final = self.path(name)
        if final.is_file():
            return name

        try:
            data = fetch_bytes(url, media.bytes + 1)
        except (SyncError, OSError) as exc:
            raise MediaError(f"media {url}: download failed: {exc}") from exc
        if not isinstance(data, bytes | bytearray):
            raise MediaError(f"media {url}: fetcher returned {type(data).__name__}, not bytes")
        if len(data) > media.bytes:
            raise MediaError(f"media {url}: got more than the {media.bytes} bytes declared")
        if len(data) < media.bytes:
            raise MediaError(f"media {url}: got {len(data)} bytes, {media.bytes} declared")
        digest = hashlib.sha256(data).hexdigest()
        if digest != media.sha256.lower():
            raise MediaError(f"media {url}: sha256 is {digest}, feed declares {media.sha256}")

        image = self._prepare(url, bytes(data), media.type)
        self._write_atomically(url, final, image)
        return name

    def _prepare(self, url: str, data: bytes, declared_type: str) -> Image.Image:
        """Decode only after the header passed, then scale, turn upright and strip metadata."""
        expected = _FORMATS[declared_type]
        tw, th = self.limits.target_size
        try:
            with warnings.catch_warnings():
                # Pillow's own bomb guard only warns below twice its limit; make it refuse.
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                im = Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "WEBP"])
                if im.format not in expected:
                    raise MediaError(
                        f"media {url}: declared {declared_type} but the bytes are {im.format}"
                    )
                width, height = im.size
                if width * height > self.limits.max_pixels:
                    raise MediaError(
                        f"media {url}: {width}x{height} is {width * height} pixels, "
                        f"more than the {self.limits.max_pixels} allowed"
                    )
                # Only the first frame of an animation is shown: Image.open sits on it.
                if im.format in ("JPEG", "MPO"):
                    # EXIF is parsed from the header here; nothing is decoded yet.
                    box = _box_for(_orientation(im), tw, th)
                    im.draft("RGB", box)  # DCT scaling: decode at 1/2, 1/4 or 1/8 size
                im.load()
                box = _box_for(_orientation(im), tw, th)  # PNG may carry EXIF after IDAT
                has_alpha = im.has_transparency_data
                work_mode = "RGBA" if has_alpha and declared_type != "image/jpeg" else "RGB"
                if im.mode not in ("RGB", "RGBA", "L", "LA"):
                    im = im.convert(work_mode)  # palette and 16-bit modes cannot be resampled
                # Performance change (issue 5, cold sync): resampling was three quarters of
                # the media CPU. BICUBIC (Pillow's own thumbnail default) costs about a
                # quarter less than LANCZOS and, for the < 2x step left after the JPEG draft,
                # differs from it by ~62 dB PSNR on photos and ~38 dB on fine text. The
                # in-place turn skips a full copy of the picture per worker.
                im.thumbnail(box, Image.Resampling.BICUBIC)
                ImageOps.exif_transpose(im, in_place=True)
                if im.mode != work_mode:
                    im = im.convert(work_mode)
        except MediaError:
            raise
        except _PILLOW_ERRORS as exc:
            raise MediaError(f"media {url}: not a usable image: {exc}") from exc
        im.info = {}  # no EXIF (GPS!), ICC or text chunks in what we store
        return im

    def _write_atomically(self, url: str, final: Path, image: Image.Image) -> None:
        """Write beside the final name, fsync, then rename, so a crash leaves no torn file."""
        fmt = "JPEG" if final.suffix == ".jpg" else "PNG"
        options: dict[str, object] = (
            {"quality": _JPEG_QUALITY, "optimize": True} if fmt == "JPEG" else {"optimize": True}
        )
        tmp = final.with_name(f"{_TMP_PREFIX}{final.name}.{os.getpid()}.{time.monotonic_ns()}")
        try:
            with open(tmp, "xb") as fh:
                image.save(fh, format=fmt, **options)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
            _fsync_dir(self.root)
        except (OSError, ValueError) as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError) and exc.errno in _LOCAL_DISK_ERRNOS:
                # The terminal's own disk, not the image, is at fault: fail the whole sync
                # so the feed is tried again once there is room, instead of taking it
                # without the picture and never fetching that picture again.
                raise StoreError(
                    f"cannot store image {final.name} in {self.root}: {exc.strerror}"
                ) from exc
            raise MediaError(f"media {url}: cannot write {final.name}: {exc}") from exc

    # -- housekeeping ------------------------------------------------------------------

    def collect(self, keep: set[str]) -> int:
        """Delete prepared copies not in ``keep`` and any leftover temp files; return the count.

        Only names this class makes are touched, so a stray file put there by a person
        survives. Temp files are leftovers of a killed process: once ``collect`` runs, the
        sync that wrote them is over.
        """
        removed = 0
        try:
            entries = list(os.scandir(self.root))
        except OSError as exc:
            raise MediaError(f"cannot list media directory {self.root}: {exc}") from exc
        for entry in entries:
            name = entry.name
            stale_tmp = name.startswith(_TMP_PREFIX)
            unreferenced = _PREPARED.fullmatch(name) is not None and name not in keep
            if not (stale_tmp or unreferenced) or not entry.is_file(follow_symlinks=False):
                continue
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise MediaError(f"cannot delete {entry.path}: {exc}") from exc
            removed += 1
        return removed


def _checked_sha256(media: Media) -> str:
    """The declared hash in lowercase; it becomes part of a file name, so its form matters."""
    sha = media.sha256.lower() if isinstance(media.sha256, str) else ""
    if not _SHA256.fullmatch(sha):
        raise MediaError(f"media {media.url}: sha256 {media.sha256!r} is not 64 hex digits")
    return sha


def _orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(_ORIENTATION_TAG, 1))
    except (TypeError, ValueError):
        return 1


def _box_for(orientation: int, width: int, height: int) -> tuple[int, int]:
    """The box to scale the stored pixels into, so that after turning upright they fit."""
    return (height, width) if orientation in _SWAPS_AXES else (width, height)


def _fsync_dir(directory: Path) -> None:
    """Persist the rename itself; without this a power cut can undo it on some filesystems."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
