"""A terminal that has synced good content A, and a loopback server that can misbehave.

The server is a raw socket rather than an HTTP framework because several faults live
below HTTP: a body trickled a byte at a time, a connection reset half-way through a body,
a server that accepts and then never answers. Each route is a small function that writes
whatever bytes it likes to the accepted socket.

The terminal is driven through real ``python -m kiosk.cli`` child processes against a
real SQLite store, the way a technician would meet it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests import feedkit
from tests.conftest import write_config

Handler = Callable[[socket.socket, str], None]
ROOT = Path(__file__).resolve().parents[2]

# Bounded so that every fault ends in seconds: one retry ladder costs at most 1+2+4 s.
FAST_FEED = "connect_timeout = 1\nread_timeout = 1\n"
# Inside every window of feed A, whatever today's date is when the suite runs.
AT = "2026-12-01T00:00:00+08:00"


def kiosk(
    *args: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a child process, as a technician would."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "kiosk.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


# ------------------------------------------------------------------ raw HTTP server


def _head(status: int, headers: dict[str, str]) -> bytes:
    reason = {200: "OK", 301: "Moved", 302: "Found", 404: "Not Found", 500: "Server Error",
              503: "Service Unavailable"}.get(status, "Status")  # fmt: skip
    lines = [f"HTTP/1.1 {status} {reason}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def respond(
    status: int = 200,
    body: bytes = b"",
    *,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Handler:
    """A complete, well-formed response."""

    def handler(conn: socket.socket, _path: str) -> None:
        all_headers = {"Content-Type": content_type, "Content-Length": str(len(body)),
                       **(headers or {})}  # fmt: skip
        conn.sendall(_head(status, all_headers) + body)

    return handler


def redirect(location: str, status: int = 302) -> Handler:
    return respond(status, b"", headers={"Location": location}, content_type="text/plain")


class RawServer:
    """A threaded loopback server; ``routes`` maps a path to a handler and may change live."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.routes: dict[str, Handler] = {}
        self.hits: list[str] = []
        self.hit_times: list[float] = []  # monotonic, one per hit, for gaps between retries
        self.closing = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def _serve(self) -> None:
        while not self.closing.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                path = data.split(b" ", 2)[1].decode("latin-1").split("?", 1)[0]
                self.hits.append(path)
                self.hit_times.append(time.monotonic())
                handler = self.routes.get(
                    path, respond(404, b"not found", content_type="text/plain")
                )
                handler(conn, path)
            except OSError:
                return  # the client gave up first: that is what several faults are about

    def close(self) -> None:
        """Stop listening for real: ``close`` alone leaves a blocked ``accept`` holding the
        socket open, and a later server bound to the same port would share its clients."""
        self.closing.set()
        with contextlib.suppress(OSError):  # wakes the accept() in the serving thread
            self.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)
        self.sock.close()


def trickle(server: RawServer, body: bytes, interval: float = 1.0) -> Handler:
    """Send the headers at once, then one byte per ``interval``: the read timeout never fires."""

    def handler(conn: socket.socket, _path: str) -> None:
        conn.sendall(_head(200, {"Content-Type": "application/json",
                                 "Content-Length": str(len(body))}))  # fmt: skip
        for i in range(len(body)):
            if server.closing.wait(interval):
                return
            conn.sendall(body[i : i + 1])

    return handler


def reset_mid_body(body: bytes) -> Handler:
    """Promise the whole body, send half, then abort with a TCP RST (SO_LINGER 0)."""

    def handler(conn: socket.socket, _path: str) -> None:
        conn.sendall(_head(200, {"Content-Type": "application/json",
                                 "Content-Length": str(len(body))}))  # fmt: skip
        conn.sendall(body[: len(body) // 2])
        time.sleep(0.05)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    return handler


def hang(server: RawServer) -> Handler:
    """Accept the request and never answer, as a stalled proxy does."""

    def handler(conn: socket.socket, _path: str) -> None:
        server.closing.wait(60)

    return handler


@pytest.fixture
def server() -> Iterator[RawServer]:
    srv = RawServer()
    try:
        yield srv
    finally:
        srv.close()


# ------------------------------------------------------------------ feeds and terminal


def noise_png(side: int, seed: int) -> bytes:
    """A PNG of random pixels: incompressible, so its size on disk is predictable."""
    rng = random.Random(seed)
    im = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    out = io.BytesIO()
    im.save(out, format="PNG")
    return out.getvalue()


def media_entry(name: str, data: bytes) -> dict[str, Any]:
    return {"url": f"img/{name}", "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data), "type": "image/png"}  # fmt: skip


FEED_A_ITEMS = [
    feedkit.item("a-standing", d_disclosure_type="standing"),
    feedkit.item("a-window", d_valid_until="2027-03-01T00:00:00+08:00"),
    feedkit.item("a-party", d_category="dangwu"),
]


@dataclass
class Terminal:
    """A terminal with a config on disk, synced once with feed A from ``server``."""

    server: RawServer
    config: Path
    data_dir: Path
    private_key: str
    rows_a: list[dict[str, Any]] = field(default_factory=list)

    def run(self, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        return kiosk(*args, "--config", str(self.config), **kw)

    def items(self, at: str = AT) -> list[dict[str, Any]]:
        """What the display rule admits at ``at``; a fixed time keeps A's windows open."""
        out = self.run("items", "--json", "--at", at)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def status(self) -> dict[str, Any]:
        out = self.run("status", "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def status_text(self) -> str:
        out = self.run("status")
        assert out.returncode == 0, out.stderr
        return out.stdout

    def publish(self, doc: dict[str, Any], images: dict[str, bytes] | None = None) -> bytes:
        """Serve ``doc`` signed at /feed.json (and its images) from now on."""
        body, sig = feedkit.signed(doc, self.private_key)
        self.server.routes["/feed.json"] = respond(200, body)
        self.server.routes["/feed.json.sig"] = respond(200, sig, content_type="text/plain")
        for name, data in (images or {}).items():
            self.server.routes[f"/img/{name}"] = respond(200, data, content_type="image/png")
        return body

    def sync(self) -> subprocess.CompletedProcess[str]:
        return self.run("sync")

    def assert_a_intact(self) -> None:
        """All of A is still listed, exactly as after the good sync."""
        assert self.items() == self.rows_a

    def assert_failed_with(self, sync: subprocess.CompletedProcess[str], *phrases: str) -> str:
        """One line on stderr naming the fault, the same line in status, A still showing."""
        assert sync.returncode != 0, sync.stdout
        lines = sync.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("kiosk sync: "), sync.stderr
        for phrase in phrases:
            assert phrase in lines[0], lines[0]
        self.assert_a_intact()
        status = self.status()
        assert status["last_result"] == "failed"
        assert status["sequence"] == 100
        error = status["last_error"]
        assert error and "\n" not in error and error in lines[0]
        shown = [ln for ln in self.status_text().splitlines() if ln.startswith("last error")]
        assert len(shown) == 1 and all(p in shown[0] for p in phrases), shown
        return error


def make_terminal(
    server: RawServer,
    tmp_path: Path,
    county_key: tuple[str, str],
    *,
    data_dir: Path | None = None,
    images: dict[str, bytes] | None = None,
    doc: dict[str, Any] | None = None,
    sync: bool = True,
) -> Terminal:
    """Write the config, publish feed A (or ``doc``), sync it through the CLI and remember
    what it shows; with ``sync=False`` the caller decides when (and at what clock) to sync."""
    data = data_dir or tmp_path / "data"
    config = write_config(
        tmp_path / "kiosk.toml",
        url=server.url("/feed.json"),
        data_dir=data,
        public_keys=[county_key[1]],
    )
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("connect_timeout = 2\nread_timeout = 2\n", FAST_FEED),
                      encoding="utf-8")  # fmt: skip
    term = Terminal(server, config, data, county_key[0])
    items = [dict(i) for i in FEED_A_ITEMS]
    if images:
        items[0] = {**items[0], "_disclosure": {**items[0]["_disclosure"],
                    "media": [media_entry(n, d) for n, d in images.items()]}}  # fmt: skip
    term.publish(doc or feedkit.feed(items, sequence=100), images)
    if not sync:
        return term
    first = term.sync()
    assert first.returncode == 0 and first.stdout.startswith("updated:"), first.stderr
    term.rows_a = term.items()
    if doc is None:
        assert sorted(r["id"] for r in term.rows_a) == ["a-party", "a-standing", "a-window"]
    return term


@pytest.fixture
def terminal(server: RawServer, tmp_path: Path, county_key: tuple[str, str]) -> Terminal:
    return make_terminal(server, tmp_path, county_key)
