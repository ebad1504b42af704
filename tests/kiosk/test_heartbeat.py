"""The heartbeat against a real HTTP server on loopback, with a hand-driven clock."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from kiosk.heartbeat import ACK_FILE, Heartbeat
from kiosk.playlog import PlayLog

T0 = datetime(2026, 11, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Server:
    """Records every heartbeat body; answers with ``answer(body)`` (default: ack all)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.answer: Callable[[dict[str, Any]], Response] = lambda body: Response(
            json.dumps({"ack": body["last_play_id"]}), content_type="application/json"
        )

    def __call__(self, request: Request) -> Response:
        body = json.loads(request.get_data())
        self.bodies.append(body)
        self.headers.append(dict(request.headers))
        return self.answer(body)


def serve(httpserver: HTTPServer) -> tuple[Server, str]:
    server = Server()
    httpserver.expect_request("/hb", method="POST").respond_with_handler(server)
    return server, httpserver.url_for("/hb")


def plays(log: PlayLog, n: int) -> None:
    for i in range(n):
        log.record(f"it-{i}", "cunwu", T0 + timedelta(seconds=i), 8.0, "signage", i == 0, 3)


def make(url: str, tmp_path: Path, log: PlayLog | None, clock: Clock, **kw: Any) -> Heartbeat:
    kw.setdefault("every_seconds", 300.0)
    return Heartbeat(
        url,
        "LT-TEST-01",
        tmp_path / "heartbeat",
        playlog=log,
        clock=clock,
        first_delay_seconds=0,
        connect_timeout=2,
        read_timeout=5,
        rng=random.Random(7),
        **kw,
    )


def ack_of(tmp_path: Path) -> int:
    return json.loads((tmp_path / "heartbeat" / ACK_FILE).read_text())["last_play_id"]


def queue_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "heartbeat").glob("beat-*.json"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_send_and_ack(httpserver: HTTPServer, tmp_path: Path) -> None:
    server, url = serve(httpserver)
    log = PlayLog(tmp_path / "playlog.sqlite3")
    plays(log, 10)
    clock = Clock()
    hb = make(url, tmp_path, log, clock, status=lambda: {"sequence": 42, "名称": "柳塘村"})

    delay = hb.step()
    assert len(server.bodies) == 1
    body = server.bodies[0]
    assert body["terminal_id"] == "LT-TEST-01"
    assert body["status"] == {"sequence": 42, "名称": "柳塘村"}
    assert [p["id"] for p in body["plays"]] == list(range(1, 11))
    assert body["plays"][0]["item_id"] == "it-0" and body["plays"][0]["urgent_interrupt"]
    assert body["last_play_id"] == 10 and body["play_log_id"] == log.log_id
    assert body["repeat"] is False and body["plays_dropped"] == 0
    assert datetime.fromisoformat(body["taken_at"]) <= datetime.fromisoformat(body["sent_at"])
    assert server.headers[0]["Content-Type"].startswith("application/json")
    assert ack_of(tmp_path) == 10 and queue_files(tmp_path) == []
    assert 0.9 * 300 <= delay <= 1.1 * 300

    plays(log, 3)
    clock.t += delay - 1
    hb.step()
    assert len(server.bodies) == 1  # not due yet
    clock.t += 1
    hb.step()
    assert [p["id"] for p in server.bodies[1]["plays"]] == [11, 12, 13]
    assert ack_of(tmp_path) == 13
    assert hb.state().last_error is None and hb.state().acked_play_id == 13


def test_offline_queue_then_replay_in_order(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hb"
    log = PlayLog(tmp_path / "playlog.sqlite3")
    clock = Clock()
    counter = iter(range(1, 100))
    hb = make(url, tmp_path, log, clock, status=lambda: {"n": next(counter)},
              every_seconds=100.0, backoff_base=10.0, backoff_max=50.0)  # fmt: skip

    for _ in range(3):  # connection refused three times; each snapshot kept on disk
        plays(log, 2)
        hb.step()
        clock.t += 120
    files = queue_files(tmp_path)
    assert [json.loads(f.read_text())["status"]["n"] for f in files] == [1, 2, 3]
    assert hb.state().consecutive_failures == 3 and "ConnectionError" in (hb.last_error or "")
    assert not (tmp_path / "heartbeat" / ACK_FILE).exists()

    server = Server()
    http = HTTPServer(host="127.0.0.1", port=port)
    http.expect_request("/hb", method="POST").respond_with_handler(server)
    http.start()
    try:
        hb.step()
    finally:
        http.stop()
    assert [b["status"]["n"] for b in server.bodies] == [1, 2, 3, 4]
    taken = [datetime.fromisoformat(b["taken_at"]) for b in server.bodies]
    assert taken == sorted(taken)
    assert [b["queued"] for b in server.bodies] == [4, 3, 2, 1]
    sent_ids = [p["id"] for b in server.bodies for p in b["plays"]]
    assert sent_ids == list(range(1, 7))  # every play once, with the first request
    assert ack_of(tmp_path) == 6 and queue_files(tmp_path) == []
    assert hb.state().consecutive_failures == 0


def test_server_error_backs_off_then_recovers(httpserver: HTTPServer, tmp_path: Path) -> None:
    attempts: list[float] = []
    clock = Clock()

    def fail(request: Request) -> Response:
        attempts.append(clock.t)
        return Response("overloaded", status=500)

    httpserver.expect_request("/hb", method="POST").respond_with_handler(fail)
    log = PlayLog(tmp_path / "playlog.sqlite3")
    plays(log, 4)
    hb = make(httpserver.url_for("/hb"), tmp_path, log, clock,
              every_seconds=10_000.0, backoff_base=10.0, backoff_max=40.0)  # fmt: skip

    delays = []
    for _ in range(5):
        delay = hb.step()
        delays.append(delay)
        clock.t += delay - 0.5
        hb.step()  # just before the retry is due: nothing is sent
        clock.t += 0.5
    assert len(attempts) == 5
    for n, delay in enumerate(delays, start=1):
        ceiling = min(40.0, 10.0 * 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling, (n, delay)
    assert len(queue_files(tmp_path)) == 1  # one snapshot, kept through the failures
    assert not (tmp_path / "heartbeat" / ACK_FILE).exists()
    assert hb.state().consecutive_failures == 5 and "HTTP 500" in (hb.state().last_error or "")

    httpserver.clear_all_handlers()
    server, _ = serve(httpserver)
    hb.step()
    assert len(server.bodies) == 1 and [p["id"] for p in server.bodies[0]["plays"]] == [1, 2, 3, 4]
    assert ack_of(tmp_path) == 4 and queue_files(tmp_path) == []
    assert hb.state().consecutive_failures == 0


def test_token_is_sent_and_a_refusal_names_the_token(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """The county's collector checks a bearer token; a wrong one keeps the beat queued."""
    good = "c0unty-t0ken-0123456789"
    seen: list[str | None] = []

    def collector(request: Request) -> Response:
        seen.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") != f"Bearer {good}":
            return Response("who are you", status=401)
        body = json.loads(request.get_data())
        return Response(json.dumps({"ack": body["last_play_id"]}), content_type="application/json")

    httpserver.expect_request("/hb", method="POST").respond_with_handler(collector)
    log = PlayLog(tmp_path / "playlog.sqlite3")
    plays(log, 2)
    wrong = make(httpserver.url_for("/hb"), tmp_path, log, Clock(), token="wrong-token-0123456789")
    wrong.step()
    assert seen == ["Bearer wrong-token-0123456789"]
    error = wrong.state().last_error or ""
    assert "HTTP 401" in error and "[heartbeat] token" in error and "\n" not in error
    assert "wrong-token" not in error  # the secret never reaches the journal
    assert len(queue_files(tmp_path)) == 1  # kept for when the token is fixed

    right = make(httpserver.url_for("/hb"), tmp_path, log, Clock(), token=good)
    right.step()
    assert seen[-1] == f"Bearer {good}"
    assert ack_of(tmp_path) == 2 and queue_files(tmp_path) == []


def test_no_token_no_authorization_header(httpserver: HTTPServer, tmp_path: Path) -> None:
    server, url = serve(httpserver)
    make(url, tmp_path, None, Clock()).step()
    assert "Authorization" not in server.headers[0]


def test_queue_is_bounded_oldest_dropped(tmp_path: Path) -> None:
    counter = iter(range(1, 100))
    hb = make(f"http://127.0.0.1:{free_port()}/hb", tmp_path, None, Clock(),
              status=lambda: {"n": next(counter)}, max_queue_files=5)  # fmt: skip
    for _ in range(8):
        hb.take_snapshot()
    files = queue_files(tmp_path)
    assert [json.loads(f.read_text())["status"]["n"] for f in files] == [4, 5, 6, 7, 8]
    assert hb.state().queued == 5
    # A new Heartbeat on the same directory continues the numbering after the newest.
    again = make(f"http://127.0.0.1:{free_port()}/hb", tmp_path, None, Clock(),
                 status=lambda: {"n": 99}, max_queue_files=5)  # fmt: skip
    newest = again.take_snapshot()
    assert newest is not None and newest == queue_files(tmp_path)[-1]


def test_plays_are_sent_in_bounded_chunks(httpserver: HTTPServer, tmp_path: Path) -> None:
    server, url = serve(httpserver)
    log = PlayLog(tmp_path / "playlog.sqlite3")
    plays(log, 23)
    hb = make(url, tmp_path, log, Clock(), max_plays=10)
    assert hb.drain() is True  # nothing queued yet: nothing to do
    hb.take_snapshot()
    assert hb.drain() is True
    assert [len(b["plays"]) for b in server.bodies] == [10, 10, 3]
    assert [b["repeat"] for b in server.bodies] == [False, True, True]
    assert [p["id"] for b in server.bodies for p in b["plays"]] == list(range(1, 24))
    assert [b["last_play_id"] for b in server.bodies] == [10, 20, 23]
    assert ack_of(tmp_path) == 23


def test_a_lower_ack_resends_but_never_loops(httpserver: HTTPServer, tmp_path: Path) -> None:
    server, url = serve(httpserver)
    server.answer = lambda body: Response(json.dumps({"ack": 5}), content_type="application/json")
    log = PlayLog(tmp_path / "playlog.sqlite3")
    plays(log, 25)
    hb = make(url, tmp_path, log, Clock(), max_plays=10)
    hb.take_snapshot()
    assert hb.drain() is True
    # 1-10 sent, 5 acknowledged; 6-15 sent, still 5: no progress, so the round ends.
    assert [[p["id"] for p in b["plays"]][:1] for b in server.bodies] == [[1], [6]]
    assert ack_of(tmp_path) == 5


@pytest.mark.parametrize(
    ("answer", "expected_ack"),
    [
        (Response(status=204), 7),  # plain 2xx: everything sent is acknowledged
        (Response("ok", content_type="text/plain"), 7),
        (Response(json.dumps({"ack": 999}), content_type="application/json"), 7),  # clamped
        (Response(json.dumps({"ack": "lots"}), content_type="application/json"), None),
        (Response(json.dumps({"ack": True}), content_type="application/json"), None),
    ],
)
def test_ack_forms(
    httpserver: HTTPServer, tmp_path: Path, answer: Response, expected_ack: int | None
) -> None:
    server, url = serve(httpserver)
    server.answer = lambda body: answer
    log = PlayLog(tmp_path / "playlog.sqlite3")
    plays(log, 7)
    hb = make(url, tmp_path, log, Clock())
    hb.step()
    assert len(server.bodies) == 1 and queue_files(tmp_path) == []  # delivered either way
    if expected_ack is None:
        assert not (tmp_path / "heartbeat" / ACK_FILE).exists()
    else:
        assert ack_of(tmp_path) == expected_ack


def test_a_replaced_play_log_is_sent_from_its_start(httpserver: HTTPServer, tmp_path: Path) -> None:
    server, url = serve(httpserver)
    first = PlayLog(tmp_path / "a.sqlite3")
    plays(first, 3)
    make(url, tmp_path, first, Clock()).step()
    assert ack_of(tmp_path) == 3
    second = PlayLog(tmp_path / "b.sqlite3")  # e.g. the old file was damaged and moved aside
    plays(second, 2)
    make(url, tmp_path, second, Clock()).step()
    assert [p["id"] for p in server.bodies[1]["plays"]] == [1, 2]
    assert server.bodies[1]["play_log_id"] == second.log_id != server.bodies[0]["play_log_id"]


def test_pruned_plays_are_reported_as_dropped(httpserver: HTTPServer, tmp_path: Path) -> None:
    server, url = serve(httpserver)
    log = PlayLog(tmp_path / "playlog.sqlite3", max_rows=20)
    plays(log, 50)
    make(url, tmp_path, log, Clock()).step()
    body = server.bodies[0]
    assert body["plays"][0]["id"] - 1 == body["plays_dropped"] > 0
    assert body["last_play_id"] == 50


def test_unreadable_queue_file_is_dropped(httpserver: HTTPServer, tmp_path: Path) -> None:
    server, url = serve(httpserver)
    hb = make(url, tmp_path, None, Clock(), status=lambda: {"ok": True})
    (tmp_path / "heartbeat" / "beat-000000000000.json").write_text("{truncated")
    hb.step()
    assert [b["status"] for b in server.bodies] == [{"ok": True}]
    assert queue_files(tmp_path) == []


def test_status_failure_is_reported_not_raised(httpserver: HTTPServer, tmp_path: Path) -> None:
    server, url = serve(httpserver)

    def broken() -> dict[str, Any]:
        raise RuntimeError("store\nlocked")

    make(url, tmp_path, None, Clock(), status=broken).step()
    assert server.bodies[0]["status"] == {"error": "store locked"}


def test_thread_nudge_never_blocks_and_stop_is_prompt(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    server, url = serve(httpserver)
    answer = server.answer

    def slow(body: dict[str, Any]) -> Response:
        time.sleep(0.4)
        return answer(body)

    server.answer = slow
    log = PlayLog(tmp_path / "playlog.sqlite3")
    hb = Heartbeat(url, "LT-TEST-01", tmp_path / "heartbeat", playlog=log,
                   every_seconds=3600, first_delay_seconds=0, read_timeout=5)  # fmt: skip
    hb.start()
    try:
        deadline = time.monotonic() + 10
        while not server.bodies and time.monotonic() < deadline:
            time.sleep(0.01)
        plays(log, 2)
        started = time.perf_counter()
        hb.nudge()  # the UI thread's only call: returns at once, even mid-request
        assert time.perf_counter() - started < 0.05
        while len(server.bodies) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(server.bodies) == 2
        assert [p["id"] for p in server.bodies[1]["plays"]] == [1, 2]
    finally:
        started = time.monotonic()
        hb.stop()
        assert time.monotonic() - started < 6
    assert all(t.name != "kiosk-heartbeat" for t in threading.enumerate())


@pytest.mark.parametrize("url", ["ftp://county.example/hb", "file:///tmp/hb", "hb", "https://"])
def test_only_http_urls(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValueError, match="https:// or http://"):
        Heartbeat(url, "LT-1", tmp_path)
