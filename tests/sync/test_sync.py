"""One sync end to end: a real HTTP server on loopback, a real SQLite file, real media."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from kiosk.config import Config
from kiosk.terminal import current_view, make_coordinator, open_store
from sync.errors import FeedRejected, FetchError, SyncError
from sync.fetch import FetchLimits
from tests import feedkit

Serve = Callable[..., None]


@pytest.fixture
def serve(httpserver: HTTPServer) -> Serve:
    """Serve ``feed.json`` (+ ``.sig``) with ETag handling, like the county's nginx."""

    def install(body: bytes, sig: bytes | None, *, etag: str | None = None) -> None:
        httpserver.clear()
        tag = etag or '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

        def feed_handler(request: Request) -> Response:
            if request.headers.get("If-None-Match") == tag:
                return Response(status=304, headers={"ETag": tag})
            return Response(body, headers={"ETag": tag, "Content-Type": "application/feed+json"})

        httpserver.expect_request("/feed.json").respond_with_handler(feed_handler)
        if sig is not None:
            httpserver.expect_request("/feed.json.sig").respond_with_data(sig)
        else:
            httpserver.expect_request("/feed.json.sig").respond_with_data("", status=404)

    return install


def titles(config: Config) -> list[str]:
    view = current_view(config, open_store(config))
    return sorted(i.id for i in view.items)


def test_sync_then_not_modified(
    serve: Serve, httpserver: HTTPServer, make_config: Callable[..., Config], county_key
) -> None:
    body, sig = feedkit.signed(feedkit.feed([feedkit.item("a"), feedkit.item("b")]), county_key[0])
    serve(body, sig)
    config = make_config(httpserver.url_for("/feed.json"))
    first = make_coordinator(config).sync()
    assert first.result == "updated" and first.items_stored == 2
    requests_before = len(httpserver.log)
    second = make_coordinator(config).sync()
    assert second.result == "not_modified"
    new = httpserver.log[requests_before:]
    assert [(r.path, resp.status_code) for r, resp in new] == [("/feed.json", 304)]
    assert new[0][0].headers["If-None-Match"]
    assert titles(config) == ["a", "b"]


def test_non_public_items_never_reach_the_store(
    serve: Serve, httpserver: HTTPServer, make_config: Callable[..., Config], county_key
) -> None:
    items = [
        feedkit.item("pub"),
        feedkit.item("party", d_scope="party"),
        feedkit.item("pending", d_approval={"status": "pending"}),
    ]
    serve(*feedkit.signed(feedkit.feed(items), county_key[0]))
    config = make_config(httpserver.url_for("/feed.json"))
    outcome = make_coordinator(config).sync()
    assert outcome.items_withheld == 2
    stored = open_store(config).snapshot().items
    assert [i.id for i in stored] == ["pub"]
    raw = Path(config.store_path).read_bytes() + b"".join(
        p.read_bytes() for p in config.data_dir.glob("*-wal")
    )
    assert "关于party的公示".encode() not in raw


@pytest.mark.parametrize("case", ["tampered", "wrong_key", "unsigned", "garbage_sig"])
def test_bad_signatures_keep_the_old_content(
    case: str,
    serve: Serve,
    httpserver: HTTPServer,
    make_config: Callable[..., Config],
    county_key,
) -> None:
    serve(*feedkit.signed(feedkit.feed([feedkit.item("old")], sequence=1), county_key[0]))
    config = make_config(httpserver.url_for("/feed.json"))
    make_coordinator(config).sync()

    body, sig = feedkit.signed(feedkit.feed([feedkit.item("new")], sequence=2), county_key[0])
    if case == "tampered":
        body = body.replace("关于new".encode(), "关于NEW".encode())
    elif case == "wrong_key":
        other = feedkit.signed(feedkit.feed([feedkit.item("new")], sequence=2),
                               __import__("sync.trust").trust.generate_keypair()[0])
        body, sig = other
    elif case == "unsigned":
        sig = None
    else:
        sig = b"not base64 at all!!"
    serve(body, sig)
    with pytest.raises(FeedRejected) as info:
        make_coordinator(config).sync()
    assert "\n" not in str(info.value)
    assert titles(config) == ["old"]
    status = open_store(config).sync_status()
    assert status.last_result == "failed" and status.last_error == str(info.value)


def test_unsigned_accepted_only_when_allowed(
    serve: Serve, httpserver: HTTPServer, make_config: Callable[..., Config]
) -> None:
    serve(feedkit.encode(feedkit.feed([feedkit.item("u")])), None)
    url = httpserver.url_for("/feed.json")
    with pytest.raises(Exception, match="allow_unsigned"):
        make_config(url, keys=[])
    config = make_config(url, keys=[], allow_unsigned=True)
    assert make_coordinator(config).sync().result == "updated"
    assert titles(config) == ["u"]


def test_replayed_lower_sequence_is_rejected(
    serve: Serve, httpserver: HTTPServer, make_config: Callable[..., Config], county_key
) -> None:
    old = feedkit.signed(feedkit.feed([feedkit.item("old")], sequence=5), county_key[0])
    new = feedkit.signed(feedkit.feed([feedkit.item("new")], sequence=6), county_key[0])
    serve(*new)
    config = make_config(httpserver.url_for("/feed.json"))
    make_coordinator(config).sync()
    serve(*old)
    with pytest.raises(FeedRejected, match="lower than the 6"):
        make_coordinator(config).sync()
    assert titles(config) == ["new"]


def test_same_sequence_with_other_content_is_rejected(
    serve: Serve, httpserver: HTTPServer, make_config: Callable[..., Config], county_key
) -> None:
    serve(*feedkit.signed(feedkit.feed([feedkit.item("a")], sequence=5), county_key[0]))
    config = make_config(httpserver.url_for("/feed.json"))
    make_coordinator(config).sync()
    serve(*feedkit.signed(feedkit.feed([feedkit.item("b")], sequence=5), county_key[0]))
    with pytest.raises(FeedRejected, match="sequence stayed"):
        make_coordinator(config).sync()
    assert titles(config) == ["a"]


def test_truncated_body_keeps_old_content(
    serve: Serve, httpserver: HTTPServer, make_config: Callable[..., Config], county_key
) -> None:
    serve(*feedkit.signed(feedkit.feed([feedkit.item("a")], sequence=1), county_key[0]))
    config = make_config(httpserver.url_for("/feed.json"))
    make_coordinator(config).sync()
    body, sig = feedkit.signed(feedkit.feed([feedkit.item("b")], sequence=2), county_key[0])
    serve(body[: len(body) // 2], sig)
    with pytest.raises(SyncError):
        make_coordinator(config).sync()
    assert titles(config) == ["a"]


def test_server_errors_with_retry_after(
    httpserver: HTTPServer, make_config: Callable[..., Config]
) -> None:
    httpserver.expect_request("/feed.json").respond_with_data(
        "busy", status=503, headers={"Retry-After": "0"}
    )
    config = make_config(httpserver.url_for("/feed.json"))
    coordinator = make_coordinator(config)
    coordinator.fetcher.sleep = lambda s: None  # type: ignore[attr-defined]
    with pytest.raises(FetchError, match="503"):
        coordinator.sync()
    assert sum(1 for r, _ in httpserver.log if r.path == "/feed.json") >= 2


def test_oversized_body_is_refused(
    serve: Serve, httpserver: HTTPServer, make_config: Callable[..., Config], county_key
) -> None:
    big = feedkit.feed([feedkit.item(f"i{n}", content_text="字" * 5000) for n in range(60)])
    serve(*feedkit.signed(big, county_key[0]))
    config = make_config(httpserver.url_for("/feed.json"))
    coordinator = make_coordinator(config)
    from sync.fetch import Fetcher

    coordinator.fetcher = Fetcher(FetchLimits(max_feed_bytes=100_000, retries=0))
    with pytest.raises(FetchError, match=r"limit|cap|large|exceed"):
        coordinator.sync()


def _png(width: int, height: int, color: str = "white") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


def test_media_are_fetched_once_and_bad_media_drop_only_the_image(
    serve: Serve, httpserver: HTTPServer, make_config: Callable[..., Config], county_key
) -> None:
    good = _png(3000, 2000, "navy")
    bad = _png(100, 100, "red")
    media_good = {"url": "media/good.png", "sha256": hashlib.sha256(good).hexdigest(),
                  "bytes": len(good), "type": "image/png"}
    media_bad = {"url": "media/bad.png", "sha256": "0" * 64, "bytes": len(bad),
                 "type": "image/png"}
    doc = feedkit.feed([feedkit.item("g", d_media=[media_good]),
                        feedkit.item("b", d_media=[media_bad])], sequence=1)
    serve(*feedkit.signed(doc, county_key[0]))
    httpserver.expect_request("/media/good.png").respond_with_data(good)
    httpserver.expect_request("/media/bad.png").respond_with_data(bad)
    config = make_config(httpserver.url_for("/feed.json"))
    outcome = make_coordinator(config).sync()
    assert any("'b'" in line and "image left out" in line for line in outcome.dropped)
    items = {i.id: i for i in open_store(config).snapshot().items}
    assert items["b"].media == ()
    (local,) = [m.local_path for m in items["g"].media]
    with Image.open(config.media_dir / local) as im:
        assert im.width <= 1920 and im.height <= 1080

    assert sum(1 for r, _ in httpserver.log if r.path == "/media/good.png") == 1
    # A new feed referencing the same image does not download it again (serve() clears
    # the server's log, so any request for the image now would be counted afresh).
    doc2 = feedkit.feed([feedkit.item("g2", d_media=[media_good])], sequence=2)
    serve(*feedkit.signed(doc2, county_key[0]))
    httpserver.expect_request("/media/good.png").respond_with_data(good)
    assert make_coordinator(config).sync().result == "updated"
    assert sum(1 for r, _ in httpserver.log if r.path == "/media/good.png") == 0


def test_unreferenced_media_are_collected(
    serve: Serve, httpserver: HTTPServer, make_config: Callable[..., Config], county_key
) -> None:
    img = _png(50, 40)
    media = {"url": "m.png", "sha256": hashlib.sha256(img).hexdigest(), "bytes": len(img),
             "type": "image/png"}
    serve(*feedkit.signed(feedkit.feed([feedkit.item("a", d_media=[media])], sequence=1),
                          county_key[0]))
    httpserver.expect_request("/m.png").respond_with_data(img)
    config = make_config(httpserver.url_for("/feed.json"))
    make_coordinator(config).sync()
    assert len(list(config.media_dir.iterdir())) == 1
    serve(*feedkit.signed(feedkit.feed([feedkit.item("a")], sequence=2), county_key[0]))
    make_coordinator(config).sync()
    assert list(config.media_dir.iterdir()) == []


def test_status_records_attempts(
    serve: Serve, httpserver: HTTPServer, make_config: Callable[..., Config], county_key
) -> None:
    serve(*feedkit.signed(feedkit.feed([feedkit.item("a")]), county_key[0]))
    config = make_config(httpserver.url_for("/feed.json"))
    make_coordinator(config).sync()
    httpserver.clear()
    httpserver.expect_request("/feed.json").respond_with_data("nope", status=404)
    with pytest.raises(FetchError):
        make_coordinator(config).sync()
    status = open_store(config).sync_status()
    assert status.last_result == "failed" and "404" in (status.last_error or "")
    assert status.last_success_at is not None and status.consecutive_failures == 1
    snapshot = open_store(config).snapshot()
    assert snapshot.sequence == 100
    assert json.loads(json.dumps(snapshot.state.dropped)) == []
