"""The county's web server example (deploy/county) under a real nginx, with real terminals.

nginx runs in the foreground on loopback ports with deploy/county/nginx.conf itself, changed
only where a test must differ (ports, certificate, paths), plus a plain-HTTP server block
built from the same disclosure-locations.conf. The feed is published into it with
deploy/county/publish.sh, and a terminal's sync coordinator fetches it over HTTPS.
"""

from __future__ import annotations

import datetime as dt
import gzip
import http.client
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.config import load as load_config
from kiosk.county.build import build_feed
from kiosk.county.cli import read_key_file
from kiosk.terminal import make_coordinator

REPO = Path(__file__).resolve().parents[2]
COUNTY = REPO / "deploy" / "county"
DEMO = REPO / "assets" / "demo"
DEMO_PUBLIC_KEY = (DEMO / "demo-key.pub").read_text("ascii").strip()
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What deploy/dev.sh (CI) and a county server install.
DEB_PACKAGES = ("nginx-light", "rsync")


def _which(name: str) -> str | None:
    return shutil.which(name, path=f"{os.environ.get('PATH', '')}:{SYSTEM_PATH}")


def _require_nginx_and_rsync() -> str:
    """The nginx binary; installs nginx-light and rsync from Debian when missing."""
    missing = not (_which("nginx") and _which("rsync"))
    if missing and os.geteuid() == 0 and _which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *DEB_PACKAGES]
        if subprocess.run(install, env=env, capture_output=True, timeout=600).returncode:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
            subprocess.run(install, env=env, capture_output=True, timeout=600)
    nginx = _which("nginx")
    if not nginx or not _which("rsync"):
        pytest.skip(
            "nginx or rsync is missing and could not be installed "
            f"(apt-get install {' '.join(DEB_PACKAGES)} needs root and a Debian mirror)"
        )
    return nginx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _self_signed(where: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = where / "fullchain.pem", where / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def publish(build: Path, webroot: Path, *keep: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(COUNTY / "publish.sh"), str(build), str(webroot), *keep],
        capture_output=True,
        text=True,
        timeout=120,
    )


@dataclass
class CountyServer:
    webroot: Path
    cert: Path
    http_port: int  # nginx.conf's port-80 server: redirects only
    https_port: int  # nginx.conf's TLS server
    plain_port: int  # the same locations over plain HTTP
    tmp: Path

    @property
    def feed_dir(self) -> Path:
        return self.webroot / "current" / "feed"

    def get(
        self, path: str, headers: dict[str, str] | None = None, method: str = "GET"
    ) -> tuple[http.client.HTTPResponse, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.plain_port, timeout=10)
        try:
            conn.request(method, path, headers=headers or {"Accept-Encoding": "identity"})
            resp = conn.getresponse()
            return resp, resp.read()
        finally:
            conn.close()


def _site_conf(server: CountyServer, key: Path) -> str:
    """deploy/county/nginx.conf with test ports, certificate and paths; all else as shipped."""
    text = (COUNTY / "nginx.conf").read_text("utf-8")
    replacements = {
        "listen 80;": f"listen 127.0.0.1:{server.http_port};",
        "    listen [::]:80;\n": "",
        "listen 443 ssl;": f"listen 127.0.0.1:{server.https_port} ssl;",
        "    listen [::]:443 ssl;\n": "",
        "/etc/ssl/disclosure/fullchain.pem": str(server.cert),
        "/etc/ssl/disclosure/privkey.pem": str(key),
        "root /srv/disclosure/current;": f"root {server.webroot}/current;",
        "/etc/nginx/snippets/disclosure-locations.conf": str(COUNTY / "disclosure-locations.conf"),
        "/var/log/nginx/disclosure.access.log": str(server.tmp / "access.log"),
        "/var/log/nginx/disclosure.error.log": str(server.tmp / "error.log"),
    }
    for old, new in replacements.items():
        assert old in text, f"deploy/county/nginx.conf no longer has {old!r}: update this test"
        text = text.replace(old, new)
    return text


def _main_conf(server: CountyServer, site: Path) -> str:
    tmp = server.tmp
    temp_paths = "\n".join(
        f"    {kind}_temp_path {tmp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
daemon off;
# Root, so that workers can read pytest's private temporary directory.
user root;
worker_processes 1;
pid {tmp / "nginx.pid"};
error_log {tmp / "error.log"} warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {tmp / "access.log"};
{temp_paths}
    include {site};
    server {{
        listen 127.0.0.1:{server.plain_port};
        root {server.webroot}/current;
        include {COUNTY / "disclosure-locations.conf"};
    }}
}}
"""


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CountyServer]:
    nginx = _require_nginx_and_rsync()
    tmp = tmp_path_factory.mktemp("county")
    cert, key = _self_signed(tmp)
    server = CountyServer(
        webroot=tmp / "srv",
        cert=cert,
        http_port=_free_port(),
        https_port=_free_port(),
        plain_port=_free_port(),
        tmp=tmp,
    )
    first = publish(DEMO / "feed", server.webroot)
    assert first.returncode == 0, first.stderr
    site = tmp / "site.conf"
    site.write_text(_site_conf(server, key), encoding="utf-8")
    conf = tmp / "nginx.conf"
    conf.write_text(_main_conf(server, site), encoding="utf-8")
    test = subprocess.run([nginx, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert test.returncode == 0, test.stderr
    proc = subprocess.Popen(
        [nginx, "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 10
        for port in (server.http_port, server.https_port, server.plain_port):
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError as exc:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        stderr = proc.communicate()[1]
                        raise AssertionError(f"nginx did not start: {stderr}") from exc
                    time.sleep(0.05)
        yield server
    finally:
        proc.send_signal(signal.SIGQUIT)  # graceful: finish requests, then exit
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- headers ------------------------------------------------------------------------------


def test_feed_is_served_as_feed_json_and_always_revalidated(county: CountyServer) -> None:
    resp, body = county.get("/feed/feed.json")
    assert resp.status == 200
    assert body == (county.feed_dir / "feed.json").read_bytes()
    assert resp.getheader("Content-Type") == "application/feed+json"
    assert resp.getheader("Cache-Control") == "no-cache"
    assert resp.getheader("X-Content-Type-Options") == "nosniff"
    assert resp.getheader("Last-Modified")
    etag = resp.getheader("ETag")
    assert etag and etag.startswith('"'), "a strong ETag for the uncompressed body"
    assert resp.getheader("Server") == "nginx", "no version number on the wire"


def test_unchanged_feed_costs_a_304_without_body(county: CountyServer) -> None:
    resp, _ = county.get("/feed/feed.json")
    etag, modified = resp.getheader("ETag"), resp.getheader("Last-Modified")
    assert etag and modified
    again, body = county.get("/feed/feed.json", {"If-None-Match": etag})
    assert (again.status, body) == (304, b"")
    assert again.getheader("ETag") == etag
    since, body = county.get("/feed/feed.json", {"If-Modified-Since": modified})
    assert (since.status, body) == (304, b"")
    other, body = county.get("/feed/feed.json", {"If-None-Match": '"0-0"'})
    assert other.status == 200 and body


def test_feed_is_gzipped_for_clients_that_accept_it(county: CountyServer) -> None:
    raw = (county.feed_dir / "feed.json").read_bytes()
    resp, body = county.get("/feed/feed.json", {"Accept-Encoding": "gzip"})
    assert resp.status == 200
    assert resp.getheader("Content-Encoding") == "gzip"
    assert "Accept-Encoding" in (resp.getheader("Vary") or "")
    assert gzip.decompress(body) == raw
    assert len(body) < len(raw) / 3
    # Compressed, the ETag turns weak; a terminal that sends it back still gets a 304.
    etag = resp.getheader("ETag")
    assert etag and etag.startswith('W/"')
    again, body = county.get("/feed/feed.json", {"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert (again.status, body) == (304, b"")


def test_signature_and_media_types_and_caching(county: CountyServer) -> None:
    resp, body = county.get("/feed/feed.json.sig")
    assert resp.status == 200
    assert body == (county.feed_dir / "feed.json.sig").read_bytes()
    assert resp.getheader("Content-Type", "").startswith("text/plain")
    assert resp.getheader("Cache-Control") == "no-cache"

    feed = json.loads((county.feed_dir / "feed.json").read_bytes())
    media = [m for it in feed["items"] for m in it["_disclosure"].get("media", [])]
    assert {m["type"] for m in media} == {"image/jpeg", "image/png", "image/webp"}
    for entry in media:
        resp, body = county.get(f"/feed/{entry['url']}", {"Accept-Encoding": "gzip"})
        assert resp.status == 200, entry["url"]
        assert resp.getheader("Content-Type") == entry["type"]
        assert resp.getheader("Content-Encoding") is None, "images are not compressed again"
        assert len(body) == entry["bytes"]
        assert resp.getheader("Cache-Control") == "public, max-age=31536000, immutable"
        assert resp.getheader("ETag")


@pytest.mark.parametrize(
    "path",
    [
        "/feed/.git/config",
        "/feed/county.key",
        "/county.key",
        "/feed/media/county.KEY",
        "/feed/media/.hidden.jpg",
        "/feed/media/notes.txt",
        "/feed/media/",
        "/feed/",
        "/feed/drafts/item.toml",
        "/.env",
    ],
)
def test_hidden_files_keys_and_strays_are_not_served(county: CountyServer, path: str) -> None:
    # Put the file there, so a 404 means "refused", not merely "absent".
    target = county.webroot / "current" / path.lstrip("/")
    if not path.endswith("/"):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("secret\n")
    resp, body = county.get(path)
    assert resp.status == 404, path
    assert b"secret" not in body


def test_only_get_and_head(county: CountyServer) -> None:
    resp, _ = county.get("/feed/feed.json", method="HEAD")
    assert resp.status == 200
    for method in ("POST", "PUT", "DELETE"):
        resp, _ = county.get("/feed/feed.json", method=method)
        assert resp.status in (403, 405), method


def test_https_serves_the_feed_and_http_redirects_to_it(county: CountyServer) -> None:
    context = ssl.create_default_context(cafile=str(county.cert))
    conn = http.client.HTTPSConnection("127.0.0.1", county.https_port, context=context, timeout=10)
    try:
        conn.request("GET", "/feed/feed.json", headers={"Accept-Encoding": "identity"})
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "application/feed+json"
    assert body == (county.feed_dir / "feed.json").read_bytes()

    conn = http.client.HTTPConnection("127.0.0.1", county.http_port, timeout=10)
    try:
        conn.request("GET", "/feed/feed.json")
        redirect = conn.getresponse()
        redirect.read()
    finally:
        conn.close()
    assert redirect.status == 301
    assert redirect.getheader("Location") == "https://127.0.0.1/feed/feed.json"


# --- a terminal syncing from it, and a new publication ------------------------------------


def _terminal_config(county: CountyServer, tmp: Path) -> Path:
    path = tmp / "kiosk.toml"
    path.write_text(
        f"""
[terminal]
id = "QX-TY-LT-01"
region_code = "360999101201"

[feed]
url = "https://127.0.0.1:{county.https_port}/feed/feed.json"
connect_timeout = 5
read_timeout = 10

[trust]
public_keys = ["{DEMO_PUBLIC_KEY}"]

[paths]
data_dir = "{tmp / "data"}"
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.slow
def test_terminal_syncs_over_https_and_a_new_release_switches_atomically(
    county: CountyServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The terminal trusts the test certificate the way a real one trusts a public CA.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(county.cert))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    config = load_config(_terminal_config(county, tmp_path))
    in_service = json.loads((county.feed_dir / "feed.json").read_bytes())
    sequence = in_service["_disclosure"]["sequence"]

    first = make_coordinator(config).sync()
    assert first.result == "updated"
    assert first.sequence == sequence
    assert first.items_stored > 0
    second = make_coordinator(config).sync()
    assert second.result == "not_modified"

    # A new publication: build (in the clerk's folder, which remembers the last sequence),
    # then publish. Terminals see it at their next sync.
    build = tmp_path / "build"
    shutil.copytree(DEMO / "feed", build)
    report = build_feed(DEMO / "src", build, read_key_file(DEMO / "demo-key.key"))
    assert report.sequence > sequence
    old_release = (county.webroot / "current").resolve()
    published = publish(build, county.webroot)
    assert published.returncode == 0, published.stderr
    assert f"sequence {report.sequence} in service" in published.stdout
    new_release = (county.webroot / "current").resolve()
    assert new_release != old_release and old_release.is_dir(), "the old release is kept"
    # Unchanged images are hard links, not copies.
    image = next((new_release / "feed" / "media").iterdir())
    assert image.stat().st_ino == (old_release / "feed" / "media" / image.name).stat().st_ino

    third = make_coordinator(config).sync()
    assert third.result == "updated"
    assert third.sequence == report.sequence
    assert make_coordinator(config).sync().result == "not_modified"

    # Publishing the same build again changes nothing; an older one is refused.
    again = publish(build, county.webroot)
    assert again.returncode == 0 and "already in service" in again.stdout
    older = publish(DEMO / "feed", county.webroot)
    assert older.returncode == 1
    assert f"not higher than {report.sequence}" in older.stderr
    assert (county.webroot / "current").resolve() == new_release


def test_publish_refuses_unsigned_broken_or_key_carrying_builds(tmp_path: Path) -> None:
    _require_nginx_and_rsync()
    webroot = tmp_path / "srv"

    def attempt(mutate: str) -> subprocess.CompletedProcess[str]:
        build = tmp_path / mutate
        shutil.copytree(DEMO / "feed", build)
        if mutate == "unsigned":
            (build / "feed.json.sig").unlink()
        elif mutate == "missing-image":
            next((build / "media").iterdir()).unlink()
        elif mutate == "bad-image":
            image = next((build / "media").iterdir())
            image.write_bytes(image.read_bytes()[:-1] + b"\0")
        elif mutate == "key":
            shutil.copy(DEMO / "demo-key.key", build / "county.key")
        return publish(build, webroot)

    for mutate, message in (
        ("unsigned", "feed.json.sig: missing"),
        ("missing-image", "missing, but item"),
        ("bad-image", "sha256 differs"),
        ("key", "a key file in the build folder"),
    ):
        result = attempt(mutate)
        assert result.returncode != 0, mutate
        assert message in result.stderr, (mutate, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert not (webroot / "current").exists(), "nothing went into service"


# --- rate limit ---------------------------------------------------------------------------


def _pipelined_heads(port: int, source: str, count: int) -> list[tuple[int, str]]:
    """Send ``count`` pipelined HEAD requests on one connection; (status, headers) each."""
    request = b"HEAD /feed/feed.json.sig HTTP/1.1\r\nHost: county\r\n\r\n"
    last = b"HEAD /feed/feed.json.sig HTTP/1.1\r\nHost: county\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=20, source_address=(source, 0)) as s:
        s.sendall(request * (count - 1) + last)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    heads = b"".join(chunks).decode("latin-1").split("\r\n\r\n")
    out = []
    for head in heads:
        if head.startswith("HTTP/1.1 "):
            out.append((int(head[9:12]), head))
    assert len(out) == count, f"{len(out)} responses to {count} requests"
    return out


def test_rate_limit_lets_a_town_behind_one_address_in_but_stops_a_flood(
    county: CountyServer,
) -> None:
    # 127.0.0.x addresses are distinct clients to nginx: each test address starts afresh.
    town, neighbour = "127.0.0.2", "127.0.0.3"
    statuses: list[tuple[int, str]] = []
    for _ in range(3):  # nginx closes a connection after 1,000 requests
        statuses += _pipelined_heads(county.plain_port, town, 900)
    codes = [code for code, _ in statuses]
    # The first 1,000 at once (a town's terminals after a publication) all get through...
    assert set(codes[:1000]) == {200}, sorted(set(codes[:1000]))
    # ...but 2,700 within a moment from one address is a flood, answered with 429 and a
    # Retry-After that the terminals honour.
    assert codes.count(429) > 500
    assert set(codes) == {200, 429}
    for code, head in statuses:
        if code == 429:
            assert "\r\nRetry-After: 10" in head
    # Another address is not affected.
    (code, _), *_ = _pipelined_heads(county.plain_port, neighbour, 1)
    assert code == 200
