"""Network faults end to end: a terminal holding feed A meets a misbehaving county server.

Each test syncs good content A through ``kiosk sync``, breaks the server in one way, runs
``kiosk sync`` again and then checks, with ``kiosk items`` and ``kiosk status`` in child
processes over the real store, that all of A still shows and that the failure is one line
that names the fault. The server is a real loopback socket (see ``conftest.py``).
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Iterator
from dataclasses import replace

import pytest

from kiosk.config import load
from kiosk.terminal import make_coordinator
from sync.coordinator import Coordinator
from sync.errors import FetchError
from tests import feedkit
from tests.faults.conftest import (
    Terminal,
    hang,
    redirect,
    reset_mid_body,
    respond,
    trickle,
)


def feed_b() -> bytes:
    """A valid feed B, so a fault on its way is the only reason it is not taken."""
    return feedkit.encode(feedkit.feed([feedkit.item("b-only")], sequence=101))


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound but not listening: the kernel answers every connect with RST."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


def point_at(terminal: Terminal, url: str) -> None:
    """Re-point the terminal's feed URL, keeping everything else of its configuration."""
    text = terminal.config.read_text(encoding="utf-8")
    old = terminal.server.url("/feed.json")
    terminal.config.write_text(text.replace(f'url = "{old}"', f'url = "{url}"'), "utf-8")


def test_connection_refused(terminal: Terminal, closed_port: int) -> None:
    # Same host, another port: the store's validators do not apply, so this is a plain GET.
    point_at(terminal, f"http://127.0.0.1:{closed_port}/feed.json")
    result = terminal.sync()
    terminal.assert_failed_with(result, "Connection refused", "after 4 attempts")


@pytest.mark.slow  # four 1 s read timeouts plus up to 7 s of jittered backoff
def test_server_accepts_then_never_answers(terminal: Terminal) -> None:
    terminal.server.routes["/feed.json"] = hang(terminal.server)
    result = terminal.sync()
    terminal.assert_failed_with(result, "read timed out", "after 4 attempts")


def test_connection_reset_mid_body(terminal: Terminal) -> None:
    terminal.server.routes["/feed.json"] = reset_mid_body(feed_b())
    result = terminal.sync()
    error = terminal.assert_failed_with(result, "after 4 attempts")
    assert "connection broken mid-body" in error or "body truncated" in error, error


def test_http_500(terminal: Terminal) -> None:
    terminal.server.routes["/feed.json"] = respond(500, b"oops", content_type="text/plain")
    result = terminal.sync()
    terminal.assert_failed_with(result, "HTTP 500", "after 4 attempts")


def test_http_503_with_retry_after_is_honoured(terminal: Terminal) -> None:
    terminal.server.routes["/feed.json"] = respond(
        503, b"busy", content_type="text/plain", headers={"Retry-After": "1"}
    )
    result = terminal.sync()
    terminal.assert_failed_with(result, "HTTP 503", "after 4 attempts")
    assert terminal.server.hits.count("/feed.json") == 1 + 4  # A's sync, then 4 tries
    # Each retry waited the second the server asked for; jittered backoff alone would
    # start at a random fraction of a second.
    tries = terminal.server.hit_times[-4:]
    assert all(b - a >= 0.95 for a, b in itertools.pairwise(tries)), tries


def test_503_then_recovery_takes_b(terminal: Terminal) -> None:
    """The server comes back within the retries: B is taken, nothing was lost on the way."""
    tries: list[int] = []
    body, sig = feedkit.signed(
        feedkit.feed([feedkit.item("b-only")], sequence=101), terminal.private_key
    )
    ok = respond(200, body)
    busy = respond(503, b"", content_type="text/plain", headers={"Retry-After": "1"})

    def flaky(conn: socket.socket, path: str) -> None:
        tries.append(1)
        (busy if len(tries) < 3 else ok)(conn, path)

    terminal.server.routes["/feed.json"] = flaky
    terminal.server.routes["/feed.json.sig"] = respond(200, sig, content_type="text/plain")
    result = terminal.sync()
    assert result.returncode == 0 and result.stdout.startswith("updated:"), result.stderr
    assert [r["id"] for r in terminal.items()] == ["b-only"]
    status = terminal.status()
    assert status["last_result"] == "updated" and status["last_error"] is None


def test_redirect_loop(terminal: Terminal) -> None:
    terminal.server.routes["/feed.json"] = redirect("/elsewhere.json")
    terminal.server.routes["/elsewhere.json"] = redirect("/feed.json")
    result = terminal.sync()
    terminal.assert_failed_with(result, "redirect loop")


def test_redirect_to_another_host(terminal: Terminal) -> None:
    # "localhost" reaches the very same server, but it is not the host the terminal was
    # given, so the redirect is refused before any request goes there.
    terminal.server.routes["/feed.json"] = redirect(terminal.server.url("/x.json", "localhost"))
    terminal.server.routes["/x.json"] = respond(200, feed_b())
    result = terminal.sync()
    terminal.assert_failed_with(result, "redirected to another host", "refused")
    assert "/x.json" not in terminal.server.hits


def test_wrong_content_type_and_not_json(terminal: Terminal) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)
    terminal.server.routes["/feed.json"] = respond(200, png, content_type="image/png")
    result = terminal.sync()
    terminal.assert_failed_with(result, "not JSON", "image/png")


def test_html_error_page_with_status_200(terminal: Terminal) -> None:
    """A captive portal: status 200, an HTML page, and a signature check that never ran."""
    page = "<!doctype html><html><body><h1>请先登录 WiFi</h1></body></html>".encode()
    terminal.server.routes["/feed.json"] = respond(200, page, content_type="text/html")
    before = len(terminal.server.hits)
    result = terminal.sync()
    terminal.assert_failed_with(result, "HTML page", "text/html")
    # Named for what it is, not reported as a bad signature: the .sig was never asked for.
    assert terminal.server.hits[before:] == ["/feed.json"]


def test_feed_served_with_an_odd_type_but_valid_is_taken(terminal: Terminal) -> None:
    """The signature is the authority, not the header: text/plain from a plain nginx is fine."""
    body, sig = feedkit.signed(
        feedkit.feed([feedkit.item("b-only")], sequence=101), terminal.private_key
    )
    terminal.server.routes["/feed.json"] = respond(200, body, content_type="text/plain")
    terminal.server.routes["/feed.json.sig"] = respond(200, sig, content_type="text/plain")
    result = terminal.sync()
    assert result.returncode == 0, result.stderr
    assert [r["id"] for r in terminal.items()] == ["b-only"]


def trickle_coordinator(terminal: Terminal, deadline: float) -> Coordinator:
    """The terminal's own coordinator, but with a short total deadline.

    The deadline is not a configuration key (it is 120 s in ``make_coordinator``), so a
    child ``kiosk sync`` would take two minutes here; this runs the same coordinator,
    fetcher, store and socket in-process with only the time limits changed.
    """
    coordinator = make_coordinator(load(terminal.config))
    # A read timeout well above the one-second gaps, so only the deadline can end it.
    limits = replace(coordinator.settings.fetch_limits, read_timeout=5, total_deadline=deadline)
    settings = replace(coordinator.settings, fetch_limits=limits)
    return Coordinator(coordinator.store, coordinator.media, settings)


def test_body_trickled_one_byte_a_second(terminal: Terminal) -> None:
    terminal.server.routes["/feed.json"] = trickle(terminal.server, feed_b(), interval=1.0)
    with pytest.raises(FetchError) as caught:
        trickle_coordinator(terminal, deadline=3.0).sync()
    error = str(caught.value)
    assert "total deadline of 3 s exceeded while reading the body" in error, error
    terminal.assert_a_intact()
    status = terminal.status()
    assert status["last_result"] == "failed" and status["last_error"] == error
    shown = [ln for ln in terminal.status_text().splitlines() if ln.startswith("last error")]
    assert shown and "total deadline" in shown[0]


def test_failures_then_good_sync_resets_the_count(terminal: Terminal) -> None:
    """Two different faults in a row are counted; the next good feed clears the error."""
    terminal.server.routes["/feed.json"] = redirect("/feed.json")
    assert terminal.sync().returncode != 0
    terminal.server.routes["/feed.json"] = respond(200, b"<html></html>", content_type="text/html")
    assert terminal.sync().returncode != 0
    assert terminal.status()["consecutive_failures"] == 2
    terminal.publish(feedkit.feed([feedkit.item("b-only")], sequence=101))
    assert terminal.sync().returncode == 0
    status = terminal.status()
    assert status["consecutive_failures"] == 0 and status["last_error"] is None
    assert [r["id"] for r in terminal.items()] == ["b-only"]
