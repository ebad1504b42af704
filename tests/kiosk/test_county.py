"""County side: building, signing and serving the feed, and the bundled demo feed.

Everything here is real: real files in a temp folder, real Pillow images, a real HTTP
server on a loopback port, the real Ed25519 code in ``sync.trust``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import stat
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from kiosk.county import BuildError, build_feed, make_server, sign_file
from kiosk.county.cli import add_feed_commands, main, run_feed_command
from sync import trust
from sync.errors import FeedRejected

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "assets" / "demo"
CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 20, 10, 0, 0, tzinfo=CST)

FEED_TOML = """
title = "测试县公开"
issuer = "中共测试县委办公室"
home_page_url = "https://example.gov.cn/"
region_code = "360999"

[[categories]]
id = "cunwu"
name = "村务公开"
order = 2
color = "#2E6B34"

[[categories]]
id = "dangwu"
name = "党务公开"
order = 1
color = "#b71c1c"

[feedback]
url_template = "https://yijian.example.gov.cn/f?item={item_id}&t={terminal_id}&c={category}"
phone = "0799-0612345"
email = "gongkai@example.gov.cn"
"""

ITEM_TOML = """
id = "a-001"
title = "村道硬化工程进度"
category = "cunwu"
subcategory = "工程项目进度"
scope = "public"
publisher = "柳塘村村民委员会"
catalog_no = "QX-TY-LT-CW-2026-008"
disclosure_type = "phase"
priority = "urgent"
date_published = 2026-10-31T09:00:00+08:00
date_modified = 2026-11-01T10:30:00+08:00
valid_from = 2026-10-31
valid_until = 2027-12-31T23:59:59+08:00
audience = ["360999101201", 360999101202]
media = ["images/site.png"]
content_text = \"\"\"
已完成K0+000至K0+980段。
其余路段正在施工。\"\"\"

[approval]
status = "approved"
reviewed_by = "黄德厚"
approved_by = "陈立新"
approved_at = 2026-10-30T17:00:00+08:00
"""

ITEM_MD = """+++
id = "b-002"
title = "党支部工作要点"
category = "dangwu"
scope = "party"
valid_from = 2026-02-10T09:00:00+08:00

[approval]
status = "pending"
+++

第一段：加强支部建设。
第二段：*不是* Markdown 渲染，<b>原样</b>保留。
"""


def write_src(root: Path) -> Path:
    """A small but complete source folder: TOML item, Markdown item, a real PNG."""
    src = root / "src"
    (src / "items").mkdir(parents=True)
    (src / "images").mkdir()
    (src / "feed.toml").write_text(FEED_TOML, encoding="utf-8")
    (src / "items" / "a.toml").write_text(ITEM_TOML, encoding="utf-8")
    (src / "items" / "b.md").write_text(ITEM_MD, encoding="utf-8")
    (src / "items" / "_draft.toml").write_text("this is = not [valid", encoding="utf-8")
    (src / "items" / "README.md").write_text("notes for clerks", encoding="utf-8")
    Image.new("RGB", (320, 240), (200, 180, 120)).save(src / "images" / "site.png")
    return src


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_bytes().decode("utf-8"))


# --- build: the contract ---------------------------------------------------------------


def test_build_writes_json_feed_with_disclosure_extensions(tmp_path: Path) -> None:
    src = write_src(tmp_path)
    report = build_feed(src, tmp_path / "out", None, now=NOW)
    doc = load(report.feed_path)

    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["title"] == "测试县公开"
    meta = doc["_disclosure"]
    assert meta["issuer"] == "中共测试县委办公室"
    assert meta["sequence"] == report.sequence == int(NOW.timestamp())
    assert datetime.fromisoformat(meta["generated_at"]) == NOW
    assert meta["generated_at"].endswith("+08:00")
    assert [c["id"] for c in meta["categories"]] == ["dangwu", "cunwu"]  # by order
    assert meta["categories"][1] == {"id": "cunwu", "name": "村务公开", "order": 2,
                                     "color": "#2e6b34"}  # fmt: skip
    assert meta["feedback"]["url_template"].endswith("&c={category}")
    assert meta["feedback"]["phone"] == "0799-0612345"

    assert [it["id"] for it in doc["items"]] == ["a-001", "b-002"]  # drafts, README skipped
    a = doc["items"][0]
    assert a["title"] == "村道硬化工程进度"
    assert a["content_text"] == "已完成K0+000至K0+980段。\n其余路段正在施工。"
    assert a["date_published"] == "2026-10-31T09:00:00+08:00"
    assert a["date_modified"] == "2026-11-01T10:30:00+08:00"
    ext = a["_disclosure"]
    assert ext["category"] == "cunwu"
    assert ext["subcategory"] == "工程项目进度"
    assert ext["scope"] == "public"
    assert ext["approval"] == {"status": "approved", "reviewed_by": "黄德厚",
                               "approved_by": "陈立新",
                               "approved_at": "2026-10-30T17:00:00+08:00"}  # fmt: skip
    assert ext["publisher"] == "柳塘村村民委员会"
    assert ext["catalog_no"] == "QX-TY-LT-CW-2026-008"
    assert ext["disclosure_type"] == "phase"
    assert ext["valid_from"] == "2026-10-31T00:00:00+08:00"  # a bare date is Beijing midnight
    assert ext["valid_until"] == "2027-12-31T23:59:59+08:00"
    assert ext["audience"] == ["360999101201", "360999101202"]  # unquoted code kept as text
    assert ext["priority"] == "urgent"

    b = doc["items"][1]
    assert b["_disclosure"]["scope"] == "party"
    assert b["_disclosure"]["approval"] == {"status": "pending"}
    assert b["_disclosure"]["disclosure_type"] == "ad_hoc"
    assert b["_disclosure"]["priority"] == "normal"
    assert "audience" not in b["_disclosure"] and "valid_until" not in b["_disclosure"]
    body = ITEM_MD.split("+++")[2].strip()
    assert b["content_text"] == body  # verbatim plain text, markup characters untouched
    assert report.counts_by_category == {"cunwu": 1, "dangwu": 1}
    assert any("b.md" in n and "party" in n for n in report.notices)
    # Chinese stays readable in the file (ensure_ascii=False) and the file is UTF-8.
    assert "村道硬化工程进度".encode() in report.feed_path.read_bytes()


def test_build_copies_media_under_content_address(tmp_path: Path) -> None:
    src = write_src(tmp_path)
    out = tmp_path / "out"
    report = build_feed(src, out, None, now=NOW)
    data = (src / "images" / "site.png").read_bytes()
    sha = hashlib.sha256(data).hexdigest()

    (media,) = load(report.feed_path)["items"][0]["_disclosure"]["media"]
    assert media == {"url": f"media/{sha}.png", "sha256": sha, "bytes": len(data),
                     "type": "image/png"}  # fmt: skip
    assert (out / media["url"]).read_bytes() == data
    assert report.media_count == 1


def test_media_type_comes_from_content_not_name(tmp_path: Path) -> None:
    src = write_src(tmp_path)
    Image.new("RGB", (64, 48), "white").save(src / "images" / "site.png", "WEBP")
    report = build_feed(src, tmp_path / "out", None, now=NOW)
    (media,) = load(report.feed_path)["items"][0]["_disclosure"]["media"]
    assert media["type"] == "image/webp" and media["url"].endswith(".webp")


def test_signature_verifies_with_the_public_key(tmp_path: Path) -> None:
    private, public = trust.generate_keypair()
    src = write_src(tmp_path)
    report = build_feed(src, tmp_path / "out", private, now=NOW)
    body = report.feed_path.read_bytes()
    assert report.signature_path == tmp_path / "out" / "feed.json.sig"
    sig = report.signature_path.read_bytes()
    assert trust.verify(body, sig, [public]) == public
    with pytest.raises(FeedRejected):
        trust.verify(body + b" ", sig, [public])
    _, other = trust.generate_keypair()
    with pytest.raises(FeedRejected):
        trust.verify(body, sig, [other])


def test_unsigned_rebuild_removes_a_stale_signature(tmp_path: Path) -> None:
    private, _ = trust.generate_keypair()
    src = write_src(tmp_path)
    out = tmp_path / "out"
    build_feed(src, out, private, now=NOW)
    report = build_feed(src, out, None, now=NOW)
    assert report.signature_path is None
    assert not (out / "feed.json.sig").exists()


def test_sign_file_signs_exact_bytes(tmp_path: Path) -> None:
    private, public = trust.generate_keypair()
    feed = tmp_path / "feed.json"
    feed.write_bytes('{"version": "x", "title": "公开"}\n'.encode())
    sig = sign_file(feed, private)
    assert sig == tmp_path / "feed.json.sig"
    assert trust.verify(feed.read_bytes(), sig.read_bytes(), [public]) == public


def test_sequence_increases_on_every_rebuild(tmp_path: Path) -> None:
    src = write_src(tmp_path)
    out = tmp_path / "out"
    first = build_feed(src, out, None, now=NOW).sequence
    second = build_feed(src, out, None, now=NOW).sequence  # same clock: still goes up
    third = build_feed(src, out, None, now=NOW - timedelta(days=30)).sequence  # clock went back
    later = NOW + timedelta(days=1)
    fourth = build_feed(src, out, None, now=later).sequence
    assert first < second < third < fourth
    assert second == first + 1 and third == second + 1
    assert fourth == int(later.timestamp())
    assert load(out / "feed.json")["_disclosure"]["sequence"] == fourth


def test_sequence_continues_from_a_previous_feed_ahead_of_the_clock(tmp_path: Path) -> None:
    src = write_src(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    ahead = int(NOW.timestamp()) + 10_000
    (out / "feed.json").write_text(json.dumps({"_disclosure": {"sequence": ahead}}))
    assert build_feed(src, out, None, now=NOW).sequence == ahead + 1


def test_unreadable_previous_feed_stops_the_build(tmp_path: Path) -> None:
    src = write_src(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "feed.json").write_text("<html>not a feed</html>")
    with pytest.raises(BuildError, match="previous sequence"):
        build_feed(src, out, None, now=NOW)
    assert (out / "feed.json").read_text() == "<html>not a feed</html>"


# --- build: refusals --------------------------------------------------------------------


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


REFUSALS: list[tuple[str, str, str, str]] = [
    # (id, old text in ITEM_TOML, new text, field the message must name)
    ("no-approval-table", '[approval]\nstatus = "approved"', "[approval]", "approval.status"),
    ("no-approval", '\n[approval]\nstatus = "approved"\nreviewed_by = "黄德厚"\n'
     'approved_by = "陈立新"\napproved_at = 2026-10-30T17:00:00+08:00\n', "\n",
     "approval.status"),
    ("no-scope", 'scope = "public"\n', "", "scope"),
    ("no-category", 'category = "cunwu"\n', "", "category"),
    ("unknown-category", 'category = "cunwu"', 'category = "caiwu"', "category"),
    ("unknown-scope", 'scope = "public"', 'scope = "everyone"', "scope"),
    ("unknown-priority", 'priority = "urgent"', 'priority = "high"', "priority"),
    ("unknown-disclosure-type", 'disclosure_type = "phase"', 'disclosure_type = "weekly"',
     "disclosure_type"),
    ("missing-media", '"images/site.png"', '"images/nope.jpg"', "media[0]"),
    ("media-outside", '"images/site.png"', '"../secret.png"', "media[0]"),
    ("misspelt-field", "valid_until =", "valid_untill =", "valid_untill"),
    ("until-before-from", "valid_until = 2027-12-31T23:59:59+08:00",
     "valid_until = 2026-01-01", "valid_until"),
    ("bad-audience", '"360999101201", 360999101202', '"3609991012"', "audience[0]"),
    ("audience-outside-region", '"360999101201", 360999101202', '"110101001001"',
     "audience[0]"),
    ("bad-time", "date_published = 2026-10-31T09:00:00+08:00",
     'date_published = "yesterday"', "date_published"),
    ("bad-id", 'id = "a-001"', 'id = "a 001/x"', "id"),
    ("empty-title", 'title = "村道硬化工程进度"', 'title = "  "', "title"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "field"), [r[1:] for r in REFUSALS],
                         ids=[r[0] for r in REFUSALS])  # fmt: skip
def test_bad_item_is_refused_naming_file_and_field(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    src = write_src(tmp_path)
    (tmp_path / "secret.png").write_bytes((src / "images" / "site.png").read_bytes())
    (src / "items" / "a.toml").write_text(_replace(ITEM_TOML, old, new), encoding="utf-8")
    with pytest.raises(BuildError) as err:
        build_feed(src, tmp_path / "out", None, now=NOW)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("items/a.toml: "), message
    assert field in message, message
    assert not (tmp_path / "out" / "feed.json").exists()


@pytest.mark.parametrize(
    ("save_as", "fmt"), [("images/site.png", "GIF"), ("images/site.png", "BMP")]
)
def test_media_other_than_jpeg_png_webp_is_refused(tmp_path: Path, save_as: str, fmt: str) -> None:
    src = write_src(tmp_path)
    Image.new("RGB", (32, 32), "red").save(src / save_as, fmt)
    with pytest.raises(BuildError, match=r"^items/a\.toml: media\[0\] .*not JPEG, PNG or WebP"):
        build_feed(src, tmp_path / "out", None, now=NOW)


def test_truncated_image_is_refused(tmp_path: Path) -> None:
    src = write_src(tmp_path)
    path = src / "images" / "site.png"
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(BuildError, match=r"^items/a\.toml: media\[0\]"):
        build_feed(src, tmp_path / "out", None, now=NOW)


def test_duplicate_ids_are_refused_naming_both_files(tmp_path: Path) -> None:
    src = write_src(tmp_path)
    (src / "items" / "c.toml").write_text(ITEM_TOML, encoding="utf-8")
    with pytest.raises(BuildError) as err:
        build_feed(src, tmp_path / "out", None, now=NOW)
    assert str(err.value).startswith("items/c.toml: id 'a-001'")
    assert "items/a.toml" in str(err.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no front matter here", "front matter"),
        ('+++\nid = "x"\n', "closing +++"),
        ('+++\nid = "x"\ncontent_text = "y"\n+++\nbody', "content_text"),
        ("+++\nid = = 1\n+++\nbody", "invalid TOML"),
    ],
)
def test_bad_markdown_item_is_refused(tmp_path: Path, text: str, expected: str) -> None:
    src = write_src(tmp_path)
    (src / "items" / "b.md").write_text(text, encoding="utf-8")
    with pytest.raises(BuildError) as err:
        build_feed(src, tmp_path / "out", None, now=NOW)
    assert str(err.value).startswith("items/b.md: ") and expected in str(err.value)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("&c={category}", "&x={secret}", "feedback.url_template"),
        ('id = "dangwu"', 'id = "Dang Wu"', "categories[1].id"),
        ('color = "#b71c1c"', 'color = "red"', "categories[1].color"),
        ('issuer = "中共测试县委办公室"\n', "", "issuer"),
        ('id = "dangwu"', 'id = "cunwu"', "categories"),
    ],
)
def test_bad_feed_toml_is_refused(tmp_path: Path, old: str, new: str, field: str) -> None:
    src = write_src(tmp_path)
    (src / "feed.toml").write_text(_replace(FEED_TOML, old, new), encoding="utf-8")
    with pytest.raises(BuildError) as err:
        build_feed(src, tmp_path / "out", None, now=NOW)
    assert str(err.value).startswith("feed.toml: ") and field in str(err.value)


def test_empty_source_and_bad_key_are_refused(tmp_path: Path) -> None:
    src = write_src(tmp_path)
    with pytest.raises(BuildError, match=r"^signing key: "):
        build_feed(src, tmp_path / "out", "not-a-key", now=NOW)
    for item in ("a.toml", "b.md"):
        (src / "items" / item).unlink()
    with pytest.raises(BuildError, match="no item files"):
        build_feed(src, tmp_path / "out", None, now=NOW)
    assert not (tmp_path / "out").exists()


def test_output_folder_around_or_inside_the_source(tmp_path: Path) -> None:
    src = write_src(tmp_path)
    around = build_feed(src, tmp_path, None, now=NOW)  # --out . from the parent folder
    inside = build_feed(src, src / "_site", None, now=NOW)
    assert around.item_count == inside.item_count == 2


def test_failed_build_leaves_previous_output_untouched(tmp_path: Path) -> None:
    private, _ = trust.generate_keypair()
    src = write_src(tmp_path)
    out = tmp_path / "out"
    build_feed(src, out, private, now=NOW)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (src / "items" / "a.toml").write_text(_replace(ITEM_TOML, 'scope = "public"\n', ""))
    with pytest.raises(BuildError):
        build_feed(src, out, private, now=NOW)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


# --- command line -----------------------------------------------------------------------


def test_cli_keygen_build_sign(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = tmp_path / "keys" / "county"
    assert main(["feed", "keygen", "--out", str(prefix)]) == 0
    public = capsys.readouterr().out.strip()
    key_file = prefix.with_suffix(".key")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert prefix.with_suffix(".pub").read_text().strip() == public
    assert trust.public_key_of(key_file.read_text().strip()) == public

    assert main(["feed", "keygen", "--out", str(prefix)]) == 1  # never silently replaced
    assert "exists" in capsys.readouterr().err

    src, out = write_src(tmp_path), tmp_path / "out"
    code = main(["feed", "build", str(src), "--out", str(out), "--key", str(key_file),
                 "--now", "2026-11-20T10:00:00+08:00"])  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    assert "2 items" in captured.out and "signed" in captured.out
    body = (out / "feed.json").read_bytes()
    assert trust.verify(body, (out / "feed.json.sig").read_bytes(), [public]) == public

    (out / "feed.json.sig").unlink()
    assert main(["feed", "sign", str(out / "feed.json"), "--key", str(key_file)]) == 0
    assert trust.verify(body, (out / "feed.json.sig").read_bytes(), [public]) == public


def test_cli_build_error_is_one_line_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_src(tmp_path)
    (src / "items" / "a.toml").write_text(_replace(ITEM_TOML, "[approval]", "[approva]"))
    assert main(["feed", "build", str(src), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err == "kiosk feed build: items/a.toml: unknown field approva\n"

    (src / "items" / "a.toml").write_text(ITEM_TOML.split("[approval]")[0], encoding="utf-8")
    assert main(["feed", "build", str(src), "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err == "kiosk feed build: items/a.toml: missing approval.status\n"


def test_cli_reports_bad_key_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_src(tmp_path)
    missing = tmp_path / "nope.key"
    out = tmp_path / "o"
    assert main(["feed", "build", str(src), "--out", str(out), "--key", str(missing)]) == 1
    assert capsys.readouterr().err.startswith("kiosk feed build: ")
    two_lines = tmp_path / "two.key"
    two_lines.write_text("abc\ndef\n")
    assert main(["feed", "sign", str(tmp_path / "x.json"), "--key", str(two_lines)]) == 1
    assert "one base64 key line" in capsys.readouterr().err
    assert not (tmp_path / "o" / "feed.json").exists()


def test_add_feed_commands_plugs_into_another_parser(tmp_path: Path) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="kiosk")
    parser.add_argument("--config")
    sub = parser.add_subparsers(dest="command", required=True)
    add_feed_commands(sub)
    args = parser.parse_args(["--config", "k.toml", "feed", "keygen",
                              "--out", str(tmp_path / "k")])  # fmt: skip
    assert args.config == "k.toml"  # the feed commands do not clobber the main --config
    assert run_feed_command(args) == 0
    assert (tmp_path / "k.pub").exists()


# --- server -----------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "site"
    build_feed(write_src(tmp_path), root, trust.generate_keypair()[0], now=NOW)
    server = make_server(root, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_server_sends_strong_etag_and_last_modified(served: tuple[str, Path]) -> None:
    base, root = served
    resp = requests.get(f"{base}/feed.json", timeout=5)
    body = (root / "feed.json").read_bytes()
    assert resp.status_code == 200
    assert resp.content == body
    assert resp.headers["ETag"] == f'"{hashlib.sha256(body).hexdigest()}"'
    assert resp.headers["Last-Modified"].endswith("GMT")
    assert resp.headers["Content-Type"] == "application/feed+json"
    assert resp.headers["Content-Length"] == str(len(body))
    assert resp.headers["Cache-Control"] == "no-cache"

    sig = requests.get(f"{base}/feed.json.sig", timeout=5)
    assert sig.headers["Content-Type"].startswith("text/plain")
    assert sig.content == (root / "feed.json.sig").read_bytes()

    (media,) = json.loads(body)["items"][0]["_disclosure"]["media"]
    img = requests.get(f"{base}/{media['url']}", timeout=5)
    assert img.headers["Content-Type"] == "image/png"
    assert hashlib.sha256(img.content).hexdigest() == media["sha256"]
    assert "immutable" in img.headers["Cache-Control"]


def test_server_answers_conditional_requests_with_304(served: tuple[str, Path]) -> None:
    base, root = served
    first = requests.get(f"{base}/feed.json", timeout=5)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]

    again = requests.get(f"{base}/feed.json", headers={"If-None-Match": etag}, timeout=5)
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    listed = requests.get(f"{base}/feed.json", headers={"If-None-Match": f'"x", W/{etag}'},
                          timeout=5)  # fmt: skip
    assert listed.status_code == 304
    by_date = requests.get(f"{base}/feed.json", headers={"If-Modified-Since": modified}, timeout=5)
    assert by_date.status_code == 304
    stale = requests.get(f"{base}/feed.json", headers={"If-None-Match": '"old"'}, timeout=5)
    assert stale.status_code == 200 and stale.content == first.content
    # If-None-Match wins over a matching If-Modified-Since.
    both = {"If-None-Match": '"old"', "If-Modified-Since": modified}
    assert requests.get(f"{base}/feed.json", headers=both, timeout=5).status_code == 200

    build_feed(root.parent / "src", root, None, now=NOW)  # a new publication
    changed = requests.get(f"{base}/feed.json", headers={"If-None-Match": etag}, timeout=5)
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_server_head_has_headers_and_no_body(served: tuple[str, Path]) -> None:
    base, root = served
    resp = requests.head(f"{base}/feed.json", timeout=5)
    assert resp.status_code == 200 and resp.content == b""
    assert resp.headers["Content-Length"] == str((root / "feed.json").stat().st_size)
    assert resp.headers["ETag"].startswith('"')


def _raw_get(base: str, path: str) -> int:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("GET", path)  # sent as is: no client-side normalisation of ".."
        return conn.getresponse().status
    finally:
        conn.close()


def test_server_refuses_traversal_and_hidden_files(served: tuple[str, Path]) -> None:
    base, root = served
    (root.parent / "secret.txt").write_text("private")
    (root / ".hidden").write_text("x")
    (root / "county.key").write_text("x")
    (root / "link.txt").symlink_to(root.parent / "secret.txt")

    assert _raw_get(base, "/../secret.txt") == 403
    assert _raw_get(base, "/media/../../secret.txt") == 403
    assert requests.get(f"{base}/%2e%2e/secret.txt", timeout=5).status_code == 403
    assert requests.get(f"{base}/..%2fsecret.txt", timeout=5).status_code == 403
    assert requests.get(f"{base}/link.txt", timeout=5).status_code == 403
    assert requests.get(f"{base}/.hidden", timeout=5).status_code == 403
    assert requests.get(f"{base}/county.key", timeout=5).status_code == 403
    assert requests.get(f"{base}/nothing.json", timeout=5).status_code == 404
    assert requests.get(f"{base}/", timeout=5).status_code == 404  # no listing
    assert requests.get(f"{base}/media", timeout=5).status_code == 404
    for resp in (requests.post(f"{base}/feed.json", data=b"x", timeout=5),
                 requests.put(f"{base}/feed.json", data=b"x", timeout=5),
                 requests.delete(f"{base}/feed.json", timeout=5)):  # fmt: skip
        assert resp.status_code == 405
        assert resp.headers["Allow"] == "GET, HEAD"
    assert (root / "feed.json").exists()


def test_make_server_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a folder"):
        make_server(tmp_path / "missing")


# --- the bundled demo feed --------------------------------------------------------------

TOWN, LIUTANG = "360999101", "360999101201"
OTHER_VILLAGES = {"360999101202", "360999101203"}


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _admitted(item: dict[str, Any], at: datetime, region: str, categories: set[str]) -> bool:
    """DESIGN.md's display rule 2-5, on the raw JSON, as an independent check."""
    ext = item["_disclosure"]
    until = _time(ext.get("valid_until"))
    return (
        ext["scope"] == "public"
        and ext["approval"]["status"] == "approved"
        and ext["category"] in categories
        and _time(ext["valid_from"]) <= at  # type: ignore[operator]
        and (until is None or at < until)
        and (not ext.get("audience") or any(region.startswith(c) for c in ext["audience"]))
    )


@pytest.fixture(scope="module")
def demo() -> dict[str, Any]:
    return load(DEMO / "feed" / "feed.json")


def test_demo_feed_is_signed_with_the_shipped_demo_key() -> None:
    body = (DEMO / "feed" / "feed.json").read_bytes()
    public = (DEMO / "demo-key.pub").read_text(encoding="ascii").strip()
    sig = (DEMO / "feed" / "feed.json.sig").read_bytes()
    assert trust.verify(body, sig, [public]) == public
    lines = (DEMO / "demo-key.key").read_text().splitlines()
    assert any("DEMO KEY" in ln for ln in lines if ln.startswith("#"))


def test_demo_feed_is_up_to_date_with_its_source(tmp_path: Path, demo: dict[str, Any]) -> None:
    """Someone who edits assets/demo/src must rebuild; this says so if they forgot."""
    at = datetime.fromisoformat(demo["_disclosure"]["generated_at"])
    rebuilt = load(build_feed(DEMO / "src", tmp_path / "out", None, now=at).feed_path)
    assert rebuilt["items"] == demo["items"], "run the command in assets/demo/README.md"
    assert rebuilt["_disclosure"]["categories"] == demo["_disclosure"]["categories"]
    assert rebuilt["_disclosure"]["feedback"] == demo["_disclosure"]["feedback"]


def test_demo_media_are_present_and_match(demo: dict[str, Any]) -> None:
    entries = [m for it in demo["items"] for m in it["_disclosure"].get("media", [])]
    assert {m["type"] for m in entries} == {"image/jpeg", "image/png", "image/webp"}
    for m in entries:
        assert not m["url"].startswith(("/", "http")), "media urls stay relative"
        data = (DEMO / "feed" / m["url"]).read_bytes()
        assert len(data) == m["bytes"]
        assert hashlib.sha256(data).hexdigest() == m["sha256"]


@pytest.mark.parametrize("when", ["generated_at", "2027-06-30T12:00:00+08:00"])
def test_demo_feed_exercises_the_display_rule(demo: dict[str, Any], when: str) -> None:
    meta = demo["_disclosure"]
    at = datetime.fromisoformat(meta["generated_at"] if when == "generated_at" else when)
    assert [(c["id"], c["name"]) for c in meta["categories"]] == [
        ("dangwu", "党务公开"), ("zhengwu", "政务公开"), ("cunwu", "村务公开"),
        ("caiwu", "财务公开"), ("tongzhi", "通知公告"),
    ]  # fmt: skip
    cats = {c["id"] for c in meta["categories"]}
    items = demo["items"]
    shown = [it for it in items if _admitted(it, at, LIUTANG, cats)]
    ext = [it["_disclosure"] for it in items]

    assert len(items) >= 45
    assert {it["_disclosure"]["category"] for it in shown} == cats
    assert sum(1 for it in shown if it["_disclosure"].get("media")) >= 6
    assert sum(1 for it in shown if it["_disclosure"]["priority"] == "urgent") == 2
    assert sum(1 for e in ext if e.get("audience") and set(e["audience"]) <= OTHER_VILLAGES) >= 3
    assert any(e.get("audience") == [TOWN] for e in ext if e in [s["_disclosure"] for s in shown])
    assert sum(1 for e in ext if e.get("valid_until", "").startswith("2025")) >= 3
    assert sum(1 for e in ext if e["valid_from"].startswith("2031")) >= 2
    assert sum(1 for e in ext if e["scope"] in ("party", "unit", "specific")) >= 3
    assert sum(1 for e in ext if e["approval"]["status"] in ("pending", "rejected")) >= 2
    lengths = [len(it["content_text"]) for it in shown]
    assert min(lengths) <= 60 and sum(1 for n in lengths if 400 <= n <= 1200) >= 4
    # Every item the rule admits is already valid on 2026-11-01, so the demo is alive then.
    assert all(_time(it["_disclosure"]["valid_from"]) < datetime(2026, 11, 1, tzinfo=CST)
               for it in shown)  # fmt: skip
    # Nothing for another village, nothing expired, nothing future leaks through.
    for it in shown:
        e = it["_disclosure"]
        assert not (set(e.get("audience", [])) & OTHER_VILLAGES)
        assert not e.get("valid_until", "").startswith("2025")
        assert not e["valid_from"].startswith("2031")


def test_demo_feed_parses_without_dropping_anything(demo: dict[str, Any]) -> None:
    parse = pytest.importorskip("sync.parse")
    body = (DEMO / "feed" / "feed.json").read_bytes()
    feed = parse.parse_feed(body, "file:///demo/feed.json")
    assert feed.dropped == ()
    assert [item.id for item in feed.items] == [it["id"] for it in demo["items"]]
    assert feed.meta.sequence == demo["_disclosure"]["sequence"]
    media = [m for item in feed.items for m in item.media]
    assert media and all(m.url.startswith("file:///demo/media/") for m in media)


def test_demo_source_text_keeps_to_one_line_errors_when_broken(tmp_path: Path) -> None:
    """The demo source is also a template for clerks: break a copy and read the message."""
    import shutil

    src = tmp_path / "src"
    shutil.copytree(DEMO / "src", src)
    target = src / "items" / "tongzhi" / "lt-tz-2026-020.toml"
    target.write_text(target.read_text(encoding="utf-8").replace('scope = "public"\n', ""))
    with pytest.raises(BuildError) as err:
        build_feed(src, tmp_path / "out", None, now=NOW)
    assert str(err.value) == "items/tongzhi/lt-tz-2026-020.toml: missing scope"
