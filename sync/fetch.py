"""Download the county feed, its signature and media over poor village networks.

A terminal talks to one county server for years, through links that drop, stall and
sometimes sit behind captive portals. So every download here is bounded on all sides
(connect and read timeouts, a byte cap checked while streaming, a wall-clock deadline that
also covers a server trickling one byte a second), transient failures are retried with
jittered backoff so a fleet of terminals does not hammer a recovering server in step, and
redirects may not carry a terminal to another host or from HTTPS down to HTTP.

Every failure ends as one :class:`~sync.errors.FetchError` with a one-line reason naming
the URL and the cause; no ``requests`` exception escapes.
"""

from __future__ import annotations

import email.utils
import http.client
import logging
import os
import random
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import requests
import urllib3.exceptions

from sync.errors import FetchError

log = logging.getLogger(__name__)

#: Statuses worth another try: the server (or a proxy in front of it) may recover.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_NETWORK_SCHEMES = frozenset({"http", "https"})
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FetchLimits:
    """Bounds for one fetch; the defaults suit a slow rural link and a feed of a few MB."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_feed_bytes: int = 32 * 1024 * 1024
    retries: int = 3  # extra attempts after the first, for retryable failures
    backoff_base: float = 1.0  # seconds; exponential backoff with full jitter
    backoff_max: float = 60.0  # cap for a single wait, also caps Retry-After
    max_redirects: int = 5
    total_deadline: float = 120.0  # wall-clock cap for one fetch, retries and body included

    def __post_init__(self) -> None:
        # A zero or negative limit would silently disable a protection; refuse it up front.
        for name in ("connect_timeout", "read_timeout", "total_deadline"):
            if not getattr(self, name) > 0:
                raise ValueError(f"FetchLimits.{name} must be positive")
        if self.max_feed_bytes < 1:
            raise ValueError("FetchLimits.max_feed_bytes must be at least 1")
        for name in ("retries", "max_redirects"):
            if getattr(self, name) < 0:
                raise ValueError(f"FetchLimits.{name} must not be negative")
        for name in ("backoff_base", "backoff_max"):
            if getattr(self, name) < 0:
                raise ValueError(f"FetchLimits.{name} must not be negative")


@dataclass(frozen=True)
class Validators:
    """What the server said about the last copy we hold, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    not_modified: bool
    body: bytes | None  # None when not_modified
    validators: Validators  # the new ones to store, or the old ones on 304
    url: str  # final URL after redirects
    content_type: str | None = None  # the media type the server declared, lowercase


class _AttemptFailed(Exception):
    """One attempt went wrong; ``retryable`` decides whether another attempt may help."""

    def __init__(self, cause: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(cause)
        self.cause = cause
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Outcome:
    status: int
    body: bytes | None
    headers: Mapping[str, str]
    url: str


def redact_url(url: str) -> str:
    """The URL without credentials, query or fragment, safe to print in logs and errors."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return url.split("?", 1)[0].split("#", 1)[0][:200]
    if not parts.netloc:  # a bare path, or data:/mailto: style URLs
        return url.split("?", 1)[0].split("#", 1)[0][:200]
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP-dates are GMT; a naive result means the zone was omitted
        return None
    reference = time.time() if now is None else now
    return max(0.0, when.timestamp() - reference)


def _check_redirect(original: str, current: str, location: str | None) -> str:
    """The absolute next URL of a redirect, or ``_AttemptFailed`` if the hop is not allowed.

    A terminal must show only what its own county server published, so a redirect may
    change the path and upgrade to HTTPS but never change host or downgrade to HTTP.
    """
    if not location:
        raise _AttemptFailed("redirect without a Location header", retryable=False)
    target = urljoin(current, location.strip())
    try:
        new, old, first = urlsplit(target), urlsplit(current), urlsplit(original)
        new_host = (new.hostname or "").lower()
    except ValueError as exc:
        raise _AttemptFailed(f"redirect to an invalid URL ({exc})", retryable=False) from None
    if new.scheme not in _NETWORK_SCHEMES:
        raise _AttemptFailed(
            f"redirected to unsupported URL scheme {new.scheme!r}", retryable=False
        )
    if old.scheme == "https" and new.scheme != "https":
        raise _AttemptFailed(
            f"redirect from https down to {new.scheme} refused ({redact_url(target)})",
            retryable=False,
        )
    if new_host != (first.hostname or "").lower():
        raise _AttemptFailed(
            f"redirected to another host {new_host!r}, refused ({redact_url(target)})",
            retryable=False,
        )
    return target


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what it wraps: urllib3 keeps causes in ``reason`` and ``args``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            current = reason
            continue
        wrapped = next((a for a in current.args if isinstance(a, BaseException)), None)
        current = wrapped or current.__cause__ or current.__context__


def _in_chain(exc: BaseException, types: tuple[type[BaseException], ...]) -> bool:
    return any(isinstance(link, types) for link in _chain(exc))


def _root_cause(exc: BaseException) -> str:
    """A short human reason from the chain of wrappers requests and urllib3 build."""
    *_, deepest = _chain(exc)
    if isinstance(deepest, OSError) and deepest.strerror:
        return deepest.strerror
    text = str(deepest) or type(deepest).__name__
    # urllib3 prefixes messages with an object repr: "<...HTTPConnection object at 0x..>: ".
    if text.startswith("<") and ">: " in text:
        text = text.split(">: ", 1)[1]
    return " ".join(text.split())[:200]


def _content_length(resp: requests.Response) -> int | None:
    raw = resp.headers.get("Content-Length")
    if raw is None:
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if value >= 0 else None


class Fetcher:
    """Downloads with the limits above; one instance per terminal, reused across syncs."""

    def __init__(
        self,
        limits: FetchLimits = FetchLimits(),  # frozen, so sharing the default is safe
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        user_agent: str = "disclosure-kiosk/0.1",
    ) -> None:
        self.limits = limits
        self._session = session if session is not None else requests.Session()
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._user_agent = user_agent

    # ----------------------------------------------------------------- public API

    def fetch_feed(self, url: str, validators: Validators | None = None) -> FetchResult:
        """Fetch the feed, conditionally when we hold validators from the last success."""
        what = "feed"
        scheme = self._scheme(url, what)
        old = validators if validators is not None else Validators()
        if scheme == "file":
            return self._fetch_feed_file(url, old)
        headers = {"Accept": "application/feed+json, application/json;q=0.9, */*;q=0.1"}
        if old.etag:
            headers["If-None-Match"] = old.etag
        if old.last_modified:
            headers["If-Modified-Since"] = old.last_modified
        conditional = bool(old.etag or old.last_modified)
        outcome = self._fetch(
            url,
            what,
            self.limits.max_feed_bytes,
            headers,
            quiet=frozenset({304}) if conditional else frozenset(),
        )
        if outcome.status == 304:
            return FetchResult(not_modified=True, body=None, validators=old, url=outcome.url)
        new = Validators(
            etag=outcome.headers.get("ETag"),
            last_modified=outcome.headers.get("Last-Modified"),
        )
        declared = outcome.headers.get("Content-Type")
        content_type = declared.split(";", 1)[0].strip().lower() if declared else None
        return FetchResult(
            not_modified=False,
            body=outcome.body,
            validators=new,
            url=outcome.url,
            content_type=content_type,
        )

    def fetch_bytes(self, url: str, max_bytes: int, *, what: str = "media") -> bytes:
        """Fetch a whole resource (a medium) of at most ``max_bytes``; no conditional GET."""
        if self._scheme(url, what) == "file":
            return self._read_required_file(url, what, max_bytes)[0]
        outcome = self._fetch(url, what, max_bytes, {}, quiet=frozenset())
        return outcome.body or b""

    def fetch_optional(self, url: str, max_bytes: int, *, what: str = "signature") -> bytes | None:
        """Like :meth:`fetch_bytes`, but absence (404/410, missing file) gives None.

        Meant for ``feed.json.sig``: whether a missing signature is acceptable is the
        trust policy's decision, not the fetcher's, so absence is reported, not raised.
        """
        if self._scheme(url, what) == "file":
            found = self._read_file(url, what, max_bytes)
            return found[0] if found is not None else None
        outcome = self._fetch(url, what, max_bytes, {}, quiet=frozenset({404, 410}))
        return outcome.body if outcome.status == 200 else None

    # ------------------------------------------------------------------- file://

    @staticmethod
    def _scheme(url: str, what: str) -> str:
        try:
            scheme = urlsplit(url).scheme.lower()
        except ValueError as exc:
            raise FetchError(f"{what} {redact_url(url)}: invalid URL ({exc})") from None
        if scheme not in _NETWORK_SCHEMES | {"file"}:
            raise FetchError(
                f"{what} {redact_url(url)}: unsupported URL scheme {scheme!r} "
                "(use https://, http:// or file://)"
            )
        return scheme

    @staticmethod
    def _file_path(url: str, what: str) -> Path:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise FetchError(f"{what} {url}: file URL names a remote host {parts.netloc!r}")
        return Path(url2pathname(parts.path))

    @staticmethod
    def _file_validators(st: os.stat_result) -> Validators:
        # mtime alone misses two writes in one second; size alone misses same-size edits.
        return Validators(
            etag=f'"file-{st.st_mtime_ns:x}-{st.st_size:x}"',
            last_modified=email.utils.formatdate(st.st_mtime, usegmt=True),
        )

    def _stat_file(self, url: str, what: str) -> tuple[Path, os.stat_result] | None:
        """The path and its status, or None when it does not exist."""
        path = self._file_path(url, what)
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise FetchError(f"{what} {url}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
            raise FetchError(f"{what} {url}: not a regular file")
        return path, st

    def _read_file(
        self, url: str, what: str, max_bytes: int
    ) -> tuple[bytes, os.stat_result] | None:
        """The file's bytes, read with the same cap as a download; None when it is missing."""
        found = self._stat_file(url, what)
        if found is None:
            return None
        path, st = found
        if st.st_size > max_bytes:
            raise FetchError(
                f"{what} {url}: file of {st.st_size} bytes exceeds the {max_bytes}-byte cap"
            )
        try:
            with path.open("rb") as fh:
                data = fh.read(max_bytes + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise FetchError(f"{what} {url}: {exc.strerror or exc}") from None
        if len(data) > max_bytes:  # it grew between stat and read
            raise FetchError(f"{what} {url}: file exceeds the {max_bytes}-byte cap")
        return data, st

    def _read_required_file(
        self, url: str, what: str, max_bytes: int
    ) -> tuple[bytes, os.stat_result]:
        found = self._read_file(url, what, max_bytes)
        if found is None:
            raise FetchError(f"{what} {url}: no such file")
        return found

    def _fetch_feed_file(self, url: str, old: Validators) -> FetchResult:
        found = self._stat_file(url, "feed")
        if found is not None and old.etag == self._file_validators(found[1]).etag:
            return FetchResult(not_modified=True, body=None, validators=old, url=url)
        data, st = self._read_required_file(url, "feed", self.limits.max_feed_bytes)
        return FetchResult(
            not_modified=False, body=data, validators=self._file_validators(st), url=url
        )

    # ------------------------------------------------------------------- network

    def _fetch(
        self,
        url: str,
        what: str,
        max_bytes: int,
        headers: Mapping[str, str],
        *,
        quiet: frozenset[int],
    ) -> _Outcome:
        """Run attempts until one succeeds, a failure is final, or retries/time run out.

        ``quiet`` lists statuses the caller handles itself (304, 404), returned without body.
        """
        limits = self.limits
        started = time.monotonic()
        deadline = started + limits.total_deadline
        label = f"{what} {redact_url(url)}"
        all_headers = {"User-Agent": self._user_agent, **headers}
        attempts = 0
        while True:
            attempts += 1
            try:
                return self._attempt(url, max_bytes, all_headers, quiet, deadline)
            except _AttemptFailed as failure:
                tried = f" after {attempts} attempts" if attempts > 1 else ""
                if not failure.retryable or attempts > limits.retries:
                    raise FetchError(f"{label}: {failure.cause}{tried}") from None
                wait = self._backoff(attempts, failure.retry_after)
                if time.monotonic() + wait > deadline:
                    raise FetchError(
                        f"{label}: {failure.cause}{tried}; gave up because waiting {wait:.1f} s "
                        f"more would pass the {limits.total_deadline:g} s deadline"
                    ) from None
                log.info(
                    "%s: %s; retrying in %.1f s (attempt %d of %d)",
                    label,
                    failure.cause,
                    wait,
                    attempts + 1,
                    limits.retries + 1,
                )
                self._sleep(wait)

    def _backoff(self, failures: int, retry_after: float | None) -> float:
        """Full jitter: a random wait up to an exponentially growing, capped ceiling.

        The server's Retry-After wins when given, but never beyond ``backoff_max``: a
        misconfigured server must not park a terminal for a day.
        """
        limits = self.limits
        if retry_after is not None:
            return min(retry_after, limits.backoff_max)
        ceiling = min(limits.backoff_max, limits.backoff_base * 2.0 ** min(failures - 1, 60))
        return self._rng.uniform(0.0, ceiling)

    def _timeouts(self, deadline: float) -> tuple[float, float]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _AttemptFailed(
                f"total deadline of {self.limits.total_deadline:g} s exceeded", retryable=False
            )
        return (
            min(self.limits.connect_timeout, remaining),
            min(self.limits.read_timeout, remaining),
        )

    def _attempt(
        self,
        url: str,
        max_bytes: int,
        headers: Mapping[str, str],
        quiet: frozenset[int],
        deadline: float,
    ) -> _Outcome:
        """One attempt: follow allowed redirects by hand, then read the body under the cap."""
        current = url
        visited = {url}
        for _hop in range(self.limits.max_redirects + 1):
            resp = self._send(current, headers, deadline)
            with resp:
                status = resp.status_code
                if status in REDIRECT_STATUSES:
                    target = _check_redirect(url, current, resp.headers.get("Location"))
                    if target in visited:
                        raise _AttemptFailed(
                            f"redirect loop at {redact_url(target)}", retryable=False
                        )
                    visited.add(target)
                    current = target
                    continue
                if status == 200:
                    body = self._read_body(resp, max_bytes, deadline)
                    return _Outcome(status, body, resp.headers, current)
                if status in quiet:
                    return _Outcome(status, None, resp.headers, current)
                reason = f"HTTP {status}"
                if status in RETRYABLE_STATUSES:
                    raise _AttemptFailed(
                        reason,
                        retryable=True,
                        retry_after=parse_retry_after(resp.headers.get("Retry-After")),
                    )
                raise _AttemptFailed(reason, retryable=False)
        raise _AttemptFailed(f"more than {self.limits.max_redirects} redirects", retryable=False)

    def _send(self, url: str, headers: Mapping[str, str], deadline: float) -> requests.Response:
        timeout = self._timeouts(deadline)
        try:
            return self._session.get(
                url,
                headers=dict(headers),
                timeout=timeout,
                stream=True,
                allow_redirects=False,
                # Passed explicitly because requests lets REQUESTS_CA_BUNDLE override a
                # session's own CA bundle, which would undo a pinned county CA.
                verify=self._session.verify,
            )
        except requests.exceptions.ConnectTimeout:
            raise _AttemptFailed("connect timed out", retryable=True) from None
        except requests.exceptions.ReadTimeout:
            raise _AttemptFailed("read timed out", retryable=True) from None
        except requests.exceptions.SSLError as exc:
            # Certificate problems do not heal by retrying; say so at once.
            raise _AttemptFailed(f"TLS error: {_root_cause(exc)}", retryable=False) from None
        except requests.exceptions.ConnectionError as exc:
            raise _AttemptFailed(f"connection failed: {_root_cause(exc)}", retryable=True) from None
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.InvalidSchema,
            requests.exceptions.MissingSchema,
            ValueError,
        ) as exc:
            raise _AttemptFailed(f"invalid URL ({_root_cause(exc)})", retryable=False) from None
        except requests.exceptions.RequestException as exc:
            raise _AttemptFailed(f"request failed: {_root_cause(exc)}", retryable=False) from None

    def _chunks(self, resp: requests.Response) -> Iterator[bytes]:
        """Body pieces as they arrive.

        ``iter_content`` blocks until a whole chunk has arrived, so a server trickling a
        byte a second could hold it for hours without tripping the read timeout; urllib3's
        ``read1`` returns after one network read, letting the deadline be checked often.
        """
        raw = resp.raw
        read1 = getattr(raw, "read1", None)
        if read1 is None:  # a non-urllib3 adapter: fall back to the portable interface
            yield from resp.iter_content(_CHUNK)
            return
        while True:
            chunk = read1(_CHUNK, decode_content=True)
            if not chunk:
                return
            yield chunk

    def _read_body(self, resp: requests.Response, max_bytes: int, deadline: float) -> bytes:
        declared = _content_length(resp)
        if declared is not None and declared > max_bytes:
            raise _AttemptFailed(
                f"body of {declared} bytes (Content-Length) exceeds the {max_bytes}-byte cap",
                retryable=False,
            )
        body = bytearray()
        try:
            for chunk in self._chunks(resp):
                body += chunk
                if len(body) > max_bytes:
                    raise _AttemptFailed(f"body exceeds the {max_bytes}-byte cap", retryable=False)
                if time.monotonic() > deadline:
                    raise _AttemptFailed(
                        f"total deadline of {self.limits.total_deadline:g} s exceeded while "
                        f"reading the body ({len(body)} bytes so far)",
                        retryable=False,
                    )
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError, requests.exceptions.ReadTimeout):
            raise _AttemptFailed("read timed out", retryable=True) from None
        except urllib3.exceptions.DecodeError as exc:
            raise _AttemptFailed(
                f"could not decode the body ({_root_cause(exc)})", retryable=False
            ) from None
        except (
            urllib3.exceptions.HTTPError,
            http.client.HTTPException,
            OSError,
            requests.exceptions.RequestException,
        ) as exc:
            raise _AttemptFailed(
                self._broken_body(declared, len(body), exc), retryable=True
            ) from None
        encoded = resp.headers.get("Content-Encoding", "identity").strip().lower()
        if declared is not None and encoded == "identity" and len(body) != declared:
            raise _AttemptFailed(
                f"body truncated: got {len(body)} of {declared} bytes", retryable=True
            )
        return bytes(body)

    @staticmethod
    def _broken_body(declared: int | None, got: int, exc: BaseException) -> str:
        of = f" of {declared}" if declared is not None else ""
        if _in_chain(exc, (urllib3.exceptions.IncompleteRead, http.client.IncompleteRead)):
            return f"body truncated: got {got}{of} bytes"
        return f"connection broken mid-body after {got}{of} bytes ({_root_cause(exc)})"
