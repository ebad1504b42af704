"""The real feed server, counting the body bytes it sends, so 304s are proved on the wire."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

from kiosk.county import serve


class _CountingWriter:
    def __init__(self, raw: Any, handler: _CountingHandler) -> None:
        self._raw = raw
        self._handler = handler

    def write(self, data: bytes) -> int:
        if self._handler.in_body:
            server = self._handler.server
            with server.lock:
                server.body_bytes[self._handler.kind()] += len(data)
        return self._raw.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


class _CountingHandler(serve._FeedRequestHandler):
    server: CountingServer
    in_body = False

    def setup(self) -> None:
        super().setup()
        self.wfile = _CountingWriter(self.wfile, self)  # type: ignore[assignment]

    def kind(self) -> str:
        path = self.path.split("?", 1)[0]
        if path.endswith("/feed.json"):
            return "feed"
        if path.endswith(".sig"):
            return "sig"
        return "media" if "/media/" in path else "other"

    def _serve(self, *, send_body: bool) -> None:
        self.in_body = False
        with self.server.lock:
            self.server.requests[self.kind()] += 1
        try:
            super()._serve(send_body=send_body)
        finally:
            self.in_body = False

    def _head(self, status: Any, headers: dict[str, str]) -> None:
        super()._head(status, headers)
        self.wfile.flush()
        self.in_body = True


class CountingServer(serve.FeedHTTPServer):
    def __init__(self, address: tuple[str, int], directory: Path) -> None:
        super().__init__(address, directory)
        self.RequestHandlerClass = _CountingHandler
        self.lock = threading.Lock()
        self.body_bytes: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()

    def reset(self) -> None:
        self.body_bytes.clear()
        self.requests.clear()


def start(directory: Path) -> tuple[CountingServer, threading.Thread]:
    """Serve ``directory`` on 127.0.0.1, any free port, in a daemon thread."""
    srv = CountingServer(("127.0.0.1", 0), Path(directory))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    return srv, thread
