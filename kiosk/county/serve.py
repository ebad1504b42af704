"""A small static HTTP server for a built feed folder: for testing and for a county office.

Terminals sync over poor village lines, so what matters is the conditional request:
every file carries a strong ``ETag`` (the sha256 of its bytes) and ``Last-Modified``, and a
terminal that already holds the current feed gets ``304 Not Modified`` and no body. The
server only ever hands out regular files inside the folder: no listings, no dot-files, no
``*.key`` files (a private key left beside the feed must never be one URL away), no paths
that climb out through ``..`` or a symlink, and only GET and HEAD.

A production county would put the folder behind nginx or similar (``deploy/`` has an
example); this one is what ``kiosk feed serve`` runs.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
import shutil
import threading
from collections.abc import Callable
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024
_CONTENT_TYPES = {
    ".json": "application/json",
    ".sig": "text/plain; charset=us-ascii",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".txt": "text/plain; charset=utf-8",
}
_FEED_TYPE = "application/feed+json"


class FeedHTTPServer(ThreadingHTTPServer):
    """Serves one folder; remembers each file's hash while its size and mtime stay put."""

    daemon_threads = True  # a slow terminal must not keep the process alive on shutdown

    def __init__(self, address: tuple[str, int], directory: Path) -> None:
        self.root = directory.resolve()
        self._etags: dict[tuple[int, int, int, int], str] = {}
        self._lock = threading.Lock()
        super().__init__(address, _FeedRequestHandler)

    def etag(self, fh: BinaryIO, key: tuple[int, int, int, int]) -> str:
        """Quoted sha256 of the open file's content, computed once per (dev, ino, size, mtime)."""
        with self._lock:
            cached = self._etags.get(key)
        if cached is not None:
            return cached
        digest = hashlib.sha256()
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
        fh.seek(0)
        value = f'"{digest.hexdigest()}"'
        with self._lock:
            if len(self._etags) > 4096:  # a long-running server sees many rebuilt files
                self._etags.clear()
            self._etags[key] = value
        return value

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        """A terminal dropping off a village line mid-download is routine, not a traceback."""
        verbose = log.isEnabledFor(logging.DEBUG)
        log.warning("request from %s failed", client_address[0], exc_info=verbose)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}/"


class _FeedRequestHandler(BaseHTTPRequestHandler):
    server: FeedHTTPServer
    server_version = "kiosk-feed/1"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate sends; with Nagle on, every request after the
    # first on a kept-alive connection waited ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return self.server_version  # no Python version on the wire

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _refuse_method(self) -> None:
        self._plain(HTTPStatus.METHOD_NOT_ALLOWED, "only GET and HEAD", {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method

    def _serve(self, *, send_body: bool) -> None:
        target = self._resolve()
        if isinstance(target, HTTPStatus):
            self._plain(target, target.phrase.lower(), send_body=send_body)
            return
        try:
            fh = target.open("rb")
        except OSError:
            self._plain(HTTPStatus.NOT_FOUND, "not found", send_body=send_body)
            return
        with fh:
            st = os.fstat(fh.fileno())
            etag = self.server.etag(fh, (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
            headers = {
                "ETag": etag,
                "Last-Modified": formatdate(st.st_mtime, usegmt=True),
                "Cache-Control": _cache_control(target, self.server.root),
            }
            if self._not_modified(etag, st.st_mtime):
                self._head(HTTPStatus.NOT_MODIFIED, headers)
                return
            headers["Content-Type"] = _content_type(target)
            headers["Content-Length"] = str(st.st_size)
            headers["X-Content-Type-Options"] = "nosniff"
            self._head(HTTPStatus.OK, headers)
            if send_body:
                shutil.copyfileobj(fh, self.wfile, _CHUNK)

    def _resolve(self) -> Path | HTTPStatus:
        try:
            path = unquote(urlsplit(self.path).path, errors="strict")
        except (UnicodeDecodeError, ValueError):
            return HTTPStatus.BAD_REQUEST
        if "\x00" in path or "\\" in path:
            return HTTPStatus.BAD_REQUEST
        parts = [p for p in path.split("/") if p]
        if not parts:
            return HTTPStatus.NOT_FOUND  # no listings: terminals know the file names
        if any(p.startswith(".") for p in parts) or parts[-1].endswith(".key"):
            return HTTPStatus.FORBIDDEN
        candidate = self.server.root.joinpath(*parts).resolve()
        if not candidate.is_relative_to(self.server.root):
            return HTTPStatus.FORBIDDEN  # a symlink pointing out of the folder
        if not candidate.is_file():
            return HTTPStatus.NOT_FOUND
        return candidate

    def _not_modified(self, etag: str, mtime: float) -> bool:
        """RFC 9110: If-None-Match wins over If-Modified-Since when both are sent."""
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = [t.strip() for t in inm.split(",")]
            # Weak comparison is the rule for If-None-Match.
            return "*" in tags or etag in (t.removeprefix("W/") for t in tags)
        ims = self.headers.get("If-Modified-Since")
        if ims is None:
            return False
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError, IndexError):
            return False  # an unparsable date is ignored, as the RFC asks
        return int(mtime) <= since.timestamp()

    def _head(self, status: HTTPStatus, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _plain(
        self,
        status: HTTPStatus,
        text: str,
        extra: dict[str, str] | None = None,
        *,
        send_body: bool = True,
    ) -> None:
        body = f"{status.value} {text}\n".encode("ascii", "replace")
        headers = {
            "Content-Type": "text/plain; charset=us-ascii",
            "Content-Length": str(len(body)),
            **(extra or {}),
        }
        self._head(status, headers)
        if send_body and self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def log_error(self, format: str, *args: object) -> None:
        log.warning("%s %s", self.address_string(), format % args)


def _content_type(path: Path) -> str:
    if path.name == "feed.json":
        return _FEED_TYPE
    suffix = path.suffix.lower()
    if suffix in _CONTENT_TYPES:
        return _CONTENT_TYPES[suffix]
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _cache_control(path: Path, root: Path) -> str:
    """Media are content-addressed (never change under one name); the feed must revalidate."""
    rel = path.relative_to(root).parts
    if len(rel) > 1 and rel[0] == "media":
        return "public, max-age=31536000, immutable"
    return "no-cache"


def make_server(directory: Path, host: str = "127.0.0.1", port: int = 0) -> FeedHTTPServer:
    """Bind (port 0 = any free port) without serving yet; call ``serve_forever()`` on it."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory}: not a folder")
    return FeedHTTPServer((host, port), directory)


def serve_forever(
    directory: Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``directory`` until interrupted; ``on_ready`` gets the base URL once bound."""
    server = make_server(directory, host, port)
    try:
        log.info("serving %s at %s", server.root, server.url)
        if on_ready is not None:
            on_ready(server.url)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
