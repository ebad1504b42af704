"""Fetcher against real servers on loopback: pytest-httpserver, a TLS server, raw sockets.

The raw-socket server exists because a well-behaved HTTP server cannot be made to lie
about Content-Length, reset a connection mid-body, or trickle a byte at a time; those are
exactly the village-network failures the fetcher has to survive.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
import logging
import os
import random
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from sync.errors import FetchError
from sync.fetch import (
    Fetcher,
    FetchLimits,
    Validators,
    parse_retry_after,
    redact_url,
)

FEED = '{"version": "https://jsonfeed.org/version/1.1", "title": "某某县 公开"}'.encode()
LAST_MODIFIED = "Wed, 01 May 2024 08:00:00 GMT"

# Small limits so failure paths finish in well under a second each.
FAST = FetchLimits(connect_timeout=2.0, read_timeout=2.0, total_deadline=10.0)


class SleepRecorder:
    """Stands in for time.sleep so retry waits are recorded instead of spent."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


def make_fetcher(sleeps: SleepRecorder, **limits: float) -> Fetcher:
    fields = {**FAST.__dict__, **limits}
    return Fetcher(FetchLimits(**fields), sleep=sleeps, rng=random.Random(1))


def requests_to(server: HTTPServer, path: str) -> list[Request]:
    return [req for req, _resp in server.log if req.path == path]


def assert_one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and text.strip() == text and text
    return text


# --------------------------------------------------------------------------- raw sockets


class RawServer:
    """A threaded TCP server on 127.0.0.1 that hands each connection to ``handler``.

    The handler gets the socket after the request head has been read and may write any
    bytes it likes, including a response that breaks HTTP on purpose.
    """

    def __init__(self, handler: Callable[[socket.socket, threading.Event], None]) -> None:
        self.handler = handler
        self.stopping = threading.Event()
        self.connections = 0
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _addr = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(worker)
            worker.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            head = b""
            try:
                while b"\r\n\r\n" not in head:
                    data = conn.recv(4096)
                    if not data:
                        return
                    head += data
                self.handler(conn, self.stopping)
            except OSError:
                pass  # the client gave up on us: that is what most of these tests provoke

    def close(self) -> None:
        self.stopping.set()
        self._sock.close()
        self._acceptor.join(2)
        for worker in self._threads:
            worker.join(2)


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(handler: Callable[[socket.socket, threading.Event], None]) -> RawServer:
        server = RawServer(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def head(content_length: int | None = None, chunked: bool = False) -> bytes:
    lines = ["HTTP/1.1 200 OK", "Content-Type: application/json", "Connection: close"]
    if content_length is not None:
        lines.append(f"Content-Length: {content_length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# --------------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, made fresh for this run."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def https_server(tls_cert: tuple[Path, Path]) -> Iterator[HTTPServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_cert)
    server = HTTPServer(host="localhost", port=0, ssl_context=context)
    server.start()
    yield server
    server.clear()
    server.stop()


# ------------------------------------------------------------------------- basic GETs


def test_200_returns_body_and_captures_validators(httpserver: HTTPServer, sleeps) -> None:
    httpserver.expect_request("/feed.json").respond_with_data(
        FEED, headers={"ETag": '"v1"', "Last-Modified": LAST_MODIFIED}
    )
    result = make_fetcher(sleeps).fetch_feed(httpserver.url_for("/feed.json"))

    assert result.not_modified is False
    assert result.body == FEED
    assert result.validators == Validators(etag='"v1"', last_modified=LAST_MODIFIED)
    assert result.url == httpserver.url_for("/feed.json")
    (request,) = requests_to(httpserver, "/feed.json")
    assert request.headers["User-Agent"] == "disclosure-kiosk/0.1"
    assert "If-None-Match" not in request.headers
    assert sleeps.waits == []


def test_304_when_etag_matches(httpserver: HTTPServer, sleeps) -> None:
    httpserver.expect_request("/feed.json", headers={"If-None-Match": '"v1"'}).respond_with_data(
        b"", status=304
    )
    old = Validators(etag='"v1"', last_modified=LAST_MODIFIED)
    result = make_fetcher(sleeps).fetch_feed(httpserver.url_for("/feed.json"), old)

    assert result.not_modified is True
    assert result.body is None
    assert result.validators == old
    (request,) = requests_to(httpserver, "/feed.json")
    assert request.headers["If-Modified-Since"] == LAST_MODIFIED


def test_last_modified_only_server_round_trip(httpserver: HTTPServer, sleeps) -> None:
    """A server with no ETag still saves the download once we replay Last-Modified."""

    def handler(request: Request) -> Response:
        if request.headers.get("If-Modified-Since") == LAST_MODIFIED:
            return Response(status=304)
        return Response(FEED, headers={"Last-Modified": LAST_MODIFIED})

    httpserver.expect_request("/feed.json").respond_with_handler(handler)
    fetcher = make_fetcher(sleeps)
    url = httpserver.url_for("/feed.json")

    first = fetcher.fetch_feed(url)
    assert first.body == FEED
    assert first.validators == Validators(etag=None, last_modified=LAST_MODIFIED)

    second = fetcher.fetch_feed(url, first.validators)
    assert second.not_modified is True and second.body is None
    second_request = requests_to(httpserver, "/feed.json")[1]
    assert "If-None-Match" not in second_request.headers


def test_unconditional_304_is_an_error(httpserver: HTTPServer, sleeps) -> None:
    httpserver.expect_request("/feed.json").respond_with_data(b"", status=304)
    with pytest.raises(FetchError, match="HTTP 304"):
        make_fetcher(sleeps).fetch_feed(httpserver.url_for("/feed.json"))


def test_gzip_body_is_decoded_and_capped_after_decoding(httpserver: HTTPServer, sleeps) -> None:
    import gzip

    big = b"x" * 50_000
    httpserver.expect_request("/m").respond_with_data(
        gzip.compress(big), headers={"Content-Encoding": "gzip"}
    )
    fetcher = make_fetcher(sleeps)
    assert fetcher.fetch_bytes(httpserver.url_for("/m"), 60_000) == big
    # Compressed it is tiny, but what counts is what we would hold in memory.
    with pytest.raises(FetchError, match="exceeds the 10000-byte cap"):
        fetcher.fetch_bytes(httpserver.url_for("/m"), 10_000)


# -------------------------------------------------------------------------------- retries


def test_500_then_200_retries_once(httpserver: HTTPServer, sleeps, caplog) -> None:
    httpserver.expect_oneshot_request("/feed.json").respond_with_data(b"oops", status=500)
    httpserver.expect_request("/feed.json").respond_with_data(FEED, headers={"ETag": '"v2"'})

    with caplog.at_level(logging.INFO, logger="sync.fetch"):
        result = make_fetcher(sleeps, backoff_base=2.0).fetch_feed(httpserver.url_for("/feed.json"))

    assert result.body == FEED and result.validators.etag == '"v2"'
    assert len(requests_to(httpserver, "/feed.json")) == 2
    assert len(sleeps.waits) == 1 and 0.0 <= sleeps.waits[0] <= 2.0
    retry_logs = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retry_logs) == 1 and retry_logs[0].levelno == logging.INFO
    assert "HTTP 500" in retry_logs[0].getMessage()


@pytest.mark.parametrize(("backoff_max", "expected"), [(60.0, 7.0), (3.0, 3.0)])
def test_retry_after_seconds_is_honoured_and_capped(
    httpserver: HTTPServer, sleeps, backoff_max: float, expected: float
) -> None:
    httpserver.expect_oneshot_request("/feed.json").respond_with_data(
        b"", status=503, headers={"Retry-After": "7"}
    )
    httpserver.expect_request("/feed.json").respond_with_data(FEED)

    result = make_fetcher(sleeps, backoff_max=backoff_max).fetch_feed(
        httpserver.url_for("/feed.json")
    )
    assert result.body == FEED
    assert sleeps.waits == [expected]


def test_retry_after_http_date(httpserver: HTTPServer, sleeps) -> None:
    later = email.utils.formatdate(time.time() + 20, usegmt=True)
    httpserver.expect_oneshot_request("/feed.json").respond_with_data(
        b"", status=429, headers={"Retry-After": later}
    )
    httpserver.expect_request("/feed.json").respond_with_data(FEED)

    make_fetcher(sleeps, total_deadline=60.0).fetch_feed(httpserver.url_for("/feed.json"))
    (wait,) = sleeps.waits
    assert 15.0 <= wait <= 20.0


def test_parse_retry_after_forms() -> None:
    now = float(int(time.time()))  # HTTP-dates carry whole seconds
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(email.utils.formatdate(now - 60, usegmt=True)) == 0.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now=now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None
    assert parse_retry_after(None) is None


def test_retries_exhausted_names_status_and_attempts(httpserver: HTTPServer, sleeps) -> None:
    httpserver.expect_request("/feed.json").respond_with_data(b"", status=503)
    url = httpserver.url_for("/feed.json")

    with pytest.raises(FetchError) as caught:
        make_fetcher(sleeps, retries=3, backoff_base=1.0, backoff_max=3.0).fetch_feed(url)

    message = assert_one_line(caught.value)
    assert message == f"feed {url}: HTTP 503 after 4 attempts"
    assert len(requests_to(httpserver, "/feed.json")) == 4
    # Full jitter: each wait lies between zero and a ceiling that doubles, up to the cap.
    ceilings = [1.0, 2.0, 3.0]
    assert len(sleeps.waits) == 3
    assert all(0.0 <= w <= c for w, c in zip(sleeps.waits, ceilings, strict=True))


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses(httpserver: HTTPServer, sleeps, status: int) -> None:
    httpserver.expect_request("/m").respond_with_data(b"", status=status)
    with pytest.raises(FetchError, match=f"HTTP {status} after 2 attempts"):
        make_fetcher(sleeps, retries=1).fetch_bytes(httpserver.url_for("/m"), 100)
    assert len(requests_to(httpserver, "/m")) == 2
    assert len(sleeps.waits) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 451, 501])
def test_final_statuses_are_not_retried(httpserver: HTTPServer, sleeps, status: int) -> None:
    httpserver.expect_request("/feed.json").respond_with_data(b"", status=status)
    url = httpserver.url_for("/feed.json")
    with pytest.raises(FetchError) as caught:
        make_fetcher(sleeps, retries=3).fetch_feed(url)
    assert assert_one_line(caught.value) == f"feed {url}: HTTP {status}"
    assert len(requests_to(httpserver, "/feed.json")) == 1
    assert sleeps.waits == []


def test_retry_wait_beyond_deadline_gives_up_without_sleeping(
    httpserver: HTTPServer, sleeps
) -> None:
    httpserver.expect_request("/feed.json").respond_with_data(
        b"", status=503, headers={"Retry-After": "50"}
    )
    with pytest.raises(FetchError, match=r"HTTP 503; gave up .* 5 s deadline"):
        make_fetcher(sleeps, total_deadline=5.0).fetch_feed(httpserver.url_for("/feed.json"))
    assert sleeps.waits == []


def test_connection_refused_is_retried_then_reported(sleeps) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed.json"  # nothing listens there any more

    with pytest.raises(FetchError) as caught:
        make_fetcher(sleeps, retries=2).fetch_feed(url)

    message = assert_one_line(caught.value)
    assert message.startswith(f"feed {url}: connection failed: ")
    assert "refused" in message.lower() and message.endswith("after 3 attempts")
    assert len(sleeps.waits) == 2


# --------------------------------------------------------------------------------- caps


def test_oversized_content_length_rejected_before_reading(httpserver: HTTPServer, sleeps) -> None:
    httpserver.expect_request("/feed.json").respond_with_data(b"x" * 5000)
    with pytest.raises(FetchError, match=r"body of 5000 bytes \(Content-Length\) exceeds the 1000"):
        make_fetcher(sleeps, max_feed_bytes=1000).fetch_feed(httpserver.url_for("/feed.json"))
    assert sleeps.waits == []  # a size problem does not heal by retrying


@pytest.mark.timeout(20)
def test_endless_chunked_body_is_cut_at_the_cap(httpserver: HTTPServer, sleeps) -> None:
    """No Content-Length and a body that never ends: only the streamed cap can stop it."""
    sent = {"chunks": 0}

    def endless() -> Iterator[bytes]:
        while True:
            sent["chunks"] += 1
            yield b"y" * 4096

    httpserver.expect_request("/m").respond_with_handler(lambda _req: Response(endless()))
    with pytest.raises(FetchError, match="body exceeds the 100000-byte cap"):
        make_fetcher(sleeps).fetch_bytes(httpserver.url_for("/m"), 100_000)
    assert sleeps.waits == []
    assert sent["chunks"] > 100_000 // 4096  # it really was streaming, chunk after chunk


def test_body_exactly_at_cap_is_accepted(httpserver: HTTPServer, sleeps) -> None:
    httpserver.expect_request("/m").respond_with_data(b"z" * 1000)
    assert make_fetcher(sleeps).fetch_bytes(httpserver.url_for("/m"), 1000) == b"z" * 1000


def test_truncated_body_is_an_error(raw_server, sleeps) -> None:
    def short(conn: socket.socket, _stop: threading.Event) -> None:
        conn.sendall(head(content_length=100) + b"x" * 10)

    server = raw_server(short)
    url = server.url("/feed.json")
    with pytest.raises(FetchError) as caught:
        make_fetcher(sleeps, retries=1).fetch_feed(url)

    message = assert_one_line(caught.value)
    assert message.startswith(f"feed {url}: ")
    assert message == f"feed {url}: body truncated: got 10 of 100 bytes after 2 attempts"
    assert server.connections == 2


def test_connection_reset_mid_body_is_an_error(raw_server, sleeps) -> None:
    def reset(conn: socket.socket, _stop: threading.Event) -> None:
        conn.sendall(head(content_length=100_000) + b"x" * 1000)
        time.sleep(0.05)
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    server = raw_server(reset)
    with pytest.raises(FetchError, match="connection broken mid-body") as caught:
        make_fetcher(sleeps, retries=0).fetch_bytes(server.url("/m.jpg"), 1_000_000)
    assert_one_line(caught.value)
    assert str(caught.value).startswith(f"media {server.url('/m.jpg')}: ")


# ----------------------------------------------------------------------------- timeouts


def test_read_timeout(raw_server, sleeps) -> None:
    def slow(conn: socket.socket, stop: threading.Event) -> None:
        stop.wait(1.5)  # longer than read_timeout; set early at teardown
        conn.sendall(head(content_length=len(FEED)) + FEED)

    server = raw_server(slow)
    url = server.url("/feed.json")
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        make_fetcher(sleeps, read_timeout=0.5, retries=1).fetch_feed(url)

    assert assert_one_line(caught.value) == f"feed {url}: read timed out after 2 attempts"
    assert time.monotonic() - started < 1.4
    assert server.connections == 2 and len(sleeps.waits) == 1


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_trickling_body_hits_total_deadline(raw_server, sleeps, chunked: bool) -> None:
    """One byte every 50 ms never trips a 1 s read timeout; the total deadline must."""

    def trickle(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(head(content_length=None if chunked else 1000, chunked=chunked))
        for _ in range(1000):
            if stop.is_set():
                return
            conn.sendall(b"1\r\nx\r\n" if chunked else b"x")
            time.sleep(0.05)

    server = raw_server(trickle)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"total deadline of 0\.6 s exceeded") as caught:
        make_fetcher(sleeps, read_timeout=1.0, total_deadline=0.6).fetch_feed(
            server.url("/feed.json")
        )
    assert_one_line(caught.value)
    assert time.monotonic() - started < 1.5
    assert sleeps.waits == []


# ---------------------------------------------------------------------------- redirects


def test_same_host_redirect_is_followed(httpserver: HTTPServer, sleeps) -> None:
    httpserver.expect_request("/old/feed.json").respond_with_data(
        b"", status=301, headers={"Location": "/new/feed.json"}
    )
    httpserver.expect_request("/new/feed.json").respond_with_data(FEED, headers={"ETag": '"n"'})
    old = Validators(etag='"stale"')

    result = make_fetcher(sleeps).fetch_feed(httpserver.url_for("/old/feed.json"), old)

    assert result.body == FEED and result.validators.etag == '"n"'
    assert result.url == httpserver.url_for("/new/feed.json")
    (followed,) = requests_to(httpserver, "/new/feed.json")
    assert followed.headers["If-None-Match"] == '"stale"'


def test_redirect_loop(httpserver: HTTPServer, sleeps) -> None:
    httpserver.expect_request("/a").respond_with_data(b"", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data(b"", status=302, headers={"Location": "/a"})
    with pytest.raises(FetchError, match="redirect loop") as caught:
        make_fetcher(sleeps).fetch_feed(httpserver.url_for("/a"))
    assert_one_line(caught.value)
    assert sleeps.waits == []


def test_too_many_redirects(httpserver: HTTPServer, sleeps) -> None:
    for hop in range(6):
        httpserver.expect_request(f"/r{hop}").respond_with_data(
            b"", status=307, headers={"Location": f"/r{hop + 1}"}
        )
    httpserver.expect_request("/r6").respond_with_data(FEED)
    fetcher = make_fetcher(sleeps, max_redirects=3)
    with pytest.raises(FetchError, match="more than 3 redirects"):
        fetcher.fetch_feed(httpserver.url_for("/r0"))
    assert requests_to(httpserver, "/r4") == []
    # The same chain is fine when the limit allows it.
    assert make_fetcher(sleeps, max_redirects=6).fetch_feed(httpserver.url_for("/r0")).body == FEED


def test_redirect_to_another_host_is_refused(httpserver: HTTPServer, sleeps) -> None:
    assert httpserver.host == "localhost"
    elsewhere = f"http://127.0.0.1:{httpserver.port}/elsewhere.json"
    httpserver.expect_request("/feed.json").respond_with_data(
        b"", status=302, headers={"Location": elsewhere}
    )
    httpserver.expect_request("/elsewhere.json").respond_with_data(FEED)

    with pytest.raises(FetchError, match=r"redirected to another host '127\.0\.0\.1'") as caught:
        make_fetcher(sleeps).fetch_feed(httpserver.url_for("/feed.json"))
    assert_one_line(caught.value)
    assert requests_to(httpserver, "/elsewhere.json") == []  # never even asked


def test_https_fetch_and_downgrade_refused(
    https_server: HTTPServer, httpserver: HTTPServer, tls_cert: tuple[Path, Path], sleeps
) -> None:
    session = requests.Session()
    session.verify = str(tls_cert[0])
    fetcher = Fetcher(FAST, session=session, sleep=sleeps)
    https_server.expect_request("/feed.json").respond_with_data(FEED)
    https_server.expect_request("/down").respond_with_data(
        b"", status=302, headers={"Location": httpserver.url_for("/feed.json")}
    )
    httpserver.expect_request("/feed.json").respond_with_data(FEED)

    ok = fetcher.fetch_feed(https_server.url_for("/feed.json"))
    assert ok.body == FEED and ok.url.startswith("https://localhost:")

    with pytest.raises(FetchError, match="redirect from https down to http refused"):
        fetcher.fetch_feed(https_server.url_for("/down"))
    assert requests_to(httpserver, "/feed.json") == []


def test_untrusted_certificate_fails_at_once(https_server: HTTPServer, sleeps) -> None:
    https_server.expect_request("/feed.json").respond_with_data(FEED)
    with pytest.raises(FetchError, match="TLS error") as caught:
        make_fetcher(sleeps, retries=3).fetch_feed(https_server.url_for("/feed.json"))
    assert_one_line(caught.value)
    assert sleeps.waits == []


# ------------------------------------------------------------------------------ file://


def test_file_url_read_then_not_modified_then_changed(tmp_path: Path, sleeps) -> None:
    feed = tmp_path / "demo feed.json"
    feed.write_bytes(FEED)
    url = feed.as_uri()
    fetcher = make_fetcher(sleeps)

    first = fetcher.fetch_feed(url)
    assert first.body == FEED and first.not_modified is False and first.url == url
    assert first.validators.etag and first.validators.last_modified

    again = fetcher.fetch_feed(url, first.validators)
    assert again.not_modified is True and again.body is None
    assert again.validators == first.validators

    changed = FEED.replace(b"}", b', "home_page_url": "x"}')
    feed.write_bytes(changed)
    stat = feed.stat()
    os.utime(feed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    third = fetcher.fetch_feed(url, first.validators)
    assert third.not_modified is False and third.body == changed
    assert third.validators != first.validators


def test_file_url_errors_and_optional(tmp_path: Path, sleeps) -> None:
    fetcher = make_fetcher(sleeps, max_feed_bytes=10)
    missing = (tmp_path / "missing.json").as_uri()
    big = tmp_path / "big.json"
    big.write_bytes(b"x" * 11)
    sig = tmp_path / "feed.json.sig"
    sig.write_bytes(b"c2ln")

    with pytest.raises(FetchError, match="no such file"):
        fetcher.fetch_feed(missing)
    with pytest.raises(FetchError, match="no such file"):
        fetcher.fetch_bytes(missing, 100)
    with pytest.raises(FetchError, match="11 bytes exceeds the 10-byte cap"):
        fetcher.fetch_feed(big.as_uri())
    with pytest.raises(FetchError, match="not a regular file"):
        fetcher.fetch_feed(tmp_path.as_uri())
    assert fetcher.fetch_optional(missing, 100) is None
    assert fetcher.fetch_optional(sig.as_uri(), 100) == b"c2ln"


# ------------------------------------------------------------------- schemes and URLs


@pytest.mark.parametrize("url", ["ftp://county.example/feed.json", "data:,hi", "feed.json"])
def test_unsupported_scheme(url: str, sleeps) -> None:
    fetcher = make_fetcher(sleeps)
    for call in (
        lambda: fetcher.fetch_feed(url),
        lambda: fetcher.fetch_bytes(url, 10),
        lambda: fetcher.fetch_optional(url, 10),
    ):
        with pytest.raises(FetchError, match="unsupported URL scheme") as caught:
            call()
        assert_one_line(caught.value)


@pytest.mark.parametrize("url", ["http://", "https://exa mple.org/feed.json", "http://[::1/x"])
def test_malformed_urls_give_fetch_error(url: str, sleeps) -> None:
    with pytest.raises(FetchError) as caught:
        make_fetcher(sleeps, retries=0).fetch_feed(url)
    assert_one_line(caught.value)


def test_error_message_hides_query_and_credentials(httpserver: HTTPServer, sleeps) -> None:
    httpserver.expect_request("/feed.json").respond_with_data(b"", status=403)
    url = httpserver.url_for("/feed.json").replace("http://", "http://user:pw@")
    with pytest.raises(FetchError) as caught:
        make_fetcher(sleeps).fetch_feed(url + "?token=s3cret")
    message = assert_one_line(caught.value)
    assert "s3cret" not in message and "pw" not in message
    assert redact_url(url) in message


# ---------------------------------------------------------------------- fetch_optional


@pytest.mark.parametrize("status", [404, 410])
def test_fetch_optional_absent(httpserver: HTTPServer, sleeps, status: int) -> None:
    httpserver.expect_request("/feed.json.sig").respond_with_data(b"", status=status)
    assert make_fetcher(sleeps).fetch_optional(httpserver.url_for("/feed.json.sig"), 200) is None
    assert sleeps.waits == []


def test_fetch_optional_present_and_failing(httpserver: HTTPServer, sleeps) -> None:
    httpserver.expect_request("/feed.json.sig").respond_with_data(b"c2lnbmF0dXJl")
    httpserver.expect_request("/broken.sig").respond_with_data(b"", status=500)
    httpserver.expect_request("/huge.sig").respond_with_data(b"s" * 500)
    fetcher = make_fetcher(sleeps, retries=1)

    assert fetcher.fetch_optional(httpserver.url_for("/feed.json.sig"), 200) == b"c2lnbmF0dXJl"
    with pytest.raises(FetchError, match=r"signature .*: HTTP 500 after 2 attempts"):
        fetcher.fetch_optional(httpserver.url_for("/broken.sig"), 200)
    with pytest.raises(FetchError, match="exceeds the 200-byte cap"):
        fetcher.fetch_optional(httpserver.url_for("/huge.sig"), 200)


def test_limits_reject_values_that_disable_a_protection() -> None:
    with pytest.raises(ValueError, match="read_timeout"):
        FetchLimits(read_timeout=0)
    with pytest.raises(ValueError, match="retries"):
        FetchLimits(retries=-1)
