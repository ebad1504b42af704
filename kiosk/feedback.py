"""The feedback link a resident's phone opens from the QR code, and the QR matrix itself.

The URL template comes from the county feed, the ids from feed items: both are untrusted.
The template is checked on its own (scheme, host, where placeholders may stand), and every
substituted value is percent-encoded with nothing left "safe", so an id such as
``x&category=other`` or ``../../admin`` can neither add a query parameter nor move the
link to another host or path. The result is re-parsed and compared with the template as a
second line of defence.

Placeholders are allowed only in the query string and the fragment. In a path segment even a
fully percent-encoded value is risky: many servers and proxies decode ``%2F`` and ``%2E%2E``
before routing, which would let an item id walk the path. In the host a value could send the
resident's phone anywhere. Query values are opaque data to every server, so that is where
the ids belong.

No ``str.format``: a template such as ``{0}`` or ``{item_id.__class__}`` must not be evaluated,
so the three placeholders are replaced literally and every other brace is refused.
"""

from __future__ import annotations

import io
import ipaddress
import re
from urllib.parse import quote, urlsplit

import qrcode
import qrcode.constants
from PIL import Image

PLACEHOLDERS = ("item_id", "terminal_id", "category")

#: Upper bound, in UTF-8 bytes, for what goes into one QR code and for a feedback URL. A QR
#: code at level M holds about 2,300 bytes at most, but past roughly 1 KiB the modules get
#: too small for an older phone to read from a kiosk screen at arm's length.
MAX_QR_BYTES = 1024
MAX_URL_LENGTH = MAX_QR_BYTES

#: Largest side, in pixels, of the PNG that qr_png_bytes will allocate.
MAX_PNG_SIDE = 4096

_TOKEN = re.compile(r"\{([^{}]*)\}|[{}]")
_PLACEHOLDER = re.compile(r"\{(item_id|terminal_id|category)\}")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Printable ASCII without space and the characters RFC 3986 never allows in a URI; the braces
# are checked separately, and the backslash is refused because browsers read it as "/".
_ALLOWED_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%{}]*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
# Characters that give a URL its structure after the authority; percent-encoded values never
# contain them, so their count must not change through substitution.
_STRUCTURAL = "?#&=;"


class FeedbackUrlError(ValueError):
    """A feedback URL template or value that cannot be used; ``str(self)`` is one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(" ".join(str(reason).split()))


def _short(text: str, limit: int = 80) -> str:
    """A repr for error messages that cannot flood a log with an attacker's megabytes."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def validate_template(url_template: str) -> None:
    """Raise FeedbackUrlError unless the template is a safe http(s) feedback URL template."""
    if not isinstance(url_template, str):
        raise FeedbackUrlError(
            f"feedback url_template must be a string, not {type(url_template).__name__}"
        )
    if not url_template:
        raise FeedbackUrlError("feedback url_template is empty")
    if len(url_template) > MAX_URL_LENGTH:
        raise FeedbackUrlError(
            f"feedback url_template is {len(url_template)} characters, more than {MAX_URL_LENGTH}"
        )
    if not url_template.isascii():
        raise FeedbackUrlError(
            f"feedback url_template {_short(url_template)} has non-ASCII characters: use "
            "punycode (xn--) for the host and percent-encode the rest"
        )
    if _ALLOWED_CHARS.fullmatch(url_template) is None:
        bad = next(c for c in url_template if _ALLOWED_CHARS.fullmatch(c) is None)
        raise FeedbackUrlError(
            f"feedback url_template {_short(url_template)} contains the character {bad!r}, "
            "which is not allowed in a URL"
        )
    if (match := _BAD_PERCENT.search(url_template)) is not None:
        raise FeedbackUrlError(
            f"feedback url_template {_short(url_template)} has a malformed percent escape at "
            f"position {match.start()}"
        )
    for token in _TOKEN.finditer(url_template):
        name = token.group(1)
        if name is None:
            raise FeedbackUrlError(
                f"feedback url_template {_short(url_template)} has an unmatched "
                f"{token.group(0)!r} at position {token.start()}"
            )
        if name not in PLACEHOLDERS:
            raise FeedbackUrlError(
                f"feedback url_template has unknown placeholder {{{name}}}: only "
                "{item_id}, {terminal_id} and {category} are allowed"
            )

    try:
        parts = urlsplit(url_template)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise FeedbackUrlError(f"feedback url_template {_short(url_template)}: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise FeedbackUrlError(
            f"feedback url_template {_short(url_template)} must start with http:// or https://"
        )
    if "@" in parts.netloc:
        raise FeedbackUrlError(
            f"feedback url_template {_short(url_template)} must not contain user information "
            "(user@host): it can disguise the real host"
        )
    if "{" in parts.netloc or "{" in parts.path:
        raise FeedbackUrlError(
            f"feedback url_template {_short(url_template)} has a placeholder in the host or "
            "path: placeholders are allowed only in the query string or fragment"
        )
    host = parts.hostname or ""
    if parts.netloc.startswith("["):
        try:
            valid = ipaddress.ip_address(host).version == 6
        except ValueError:
            valid = False
    else:
        valid = _HOST.fullmatch(host) is not None
    if not valid:
        raise FeedbackUrlError(f"feedback url_template {_short(url_template)} has no valid host")


def _encode(name: str, value: str) -> str:
    if not isinstance(value, str):
        raise FeedbackUrlError(f"feedback {name} must be a string, not {type(value).__name__}")
    if len(value) > MAX_URL_LENGTH:
        raise FeedbackUrlError(
            f"feedback {name} is {len(value)} characters, more than {MAX_URL_LENGTH}"
        )
    try:
        return quote(value, safe="")
    except UnicodeEncodeError:
        raise FeedbackUrlError(f"feedback {name} {_short(value)} is not valid Unicode") from None


def feedback_url(url_template: str, *, item_id: str, terminal_id: str, category: str) -> str:
    """Fill the template with percent-encoded values; raise FeedbackUrlError if anything is off."""
    validate_template(url_template)
    values = {
        "item_id": _encode("item_id", item_id),
        "terminal_id": _encode("terminal_id", terminal_id),
        "category": _encode("category", category),
    }
    # One pass, so text produced by one substitution is never scanned for another.
    url = _PLACEHOLDER.sub(lambda m: values[m.group(1)], url_template)

    if len(url) > MAX_URL_LENGTH:
        raise FeedbackUrlError(
            f"feedback URL would be {len(url)} characters, more than {MAX_URL_LENGTH}: "
            "the item id, terminal id or category is too long"
        )
    before, after = urlsplit(url_template), urlsplit(url)
    same_target = (before.scheme, before.netloc, before.path) == (
        after.scheme,
        after.netloc,
        after.path,
    )
    if not same_target or any(url_template.count(c) != url.count(c) for c in _STRUCTURAL):
        raise FeedbackUrlError(
            f"feedback URL {_short(url)} does not keep the structure of its template"
        )
    return url


def qr_matrix(data: str, *, border: int = 4) -> list[list[bool]]:
    """QR modules at error correction level M, quiet zone included; True is a dark module.

    Level M (15 % recovery) is the usual compromise for a code shown on a screen: it survives
    glare and a smudged panel without making the modules much smaller than level L would.
    """
    if not isinstance(data, str):
        raise ValueError(f"QR data must be a string, not {type(data).__name__}")
    if not data:
        raise ValueError("QR data is empty")
    size = len(data.encode("utf-8", errors="surrogatepass"))
    if size > MAX_QR_BYTES:
        raise ValueError(f"QR data is {size} bytes, more than {MAX_QR_BYTES}")
    if isinstance(border, bool) or not isinstance(border, int) or not 0 <= border <= 64:
        raise ValueError(f"QR border must be an integer from 0 to 64, not {border!r}")
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=border
    )
    try:
        code.add_data(data)
        code.make(fit=True)
    except UnicodeEncodeError:
        raise ValueError("QR data is not valid Unicode") from None
    # qrcode shares one list object between the border rows: copy so callers may mutate.
    return [[bool(cell) for cell in row] for row in code.get_matrix()]


def qr_png_bytes(data: str, *, scale: int = 8, border: int = 4) -> bytes:
    """The QR code as a black-on-white PNG, each module a scale×scale square (no smoothing)."""
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"QR scale must be a positive integer, not {scale!r}")
    matrix = qr_matrix(data, border=border)
    modules = len(matrix)
    if modules * scale > MAX_PNG_SIDE:
        raise ValueError(
            f"QR image would be {modules * scale} px wide, more than {MAX_PNG_SIDE}: "
            "lower the scale"
        )
    pixels = bytes(0 if dark else 255 for row in matrix for dark in row)
    image = Image.frombytes("L", (modules, modules), pixels)
    image = image.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
