from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from kiosk.feedback import (
    MAX_QR_BYTES,
    FeedbackUrlError,
    feedback_url,
    qr_matrix,
    qr_png_bytes,
    validate_template,
)

TEMPLATE = "https://yj.example.gov.cn/feedback?item={item_id}&t={terminal_id}&c={category}"

HOSTILE_IDS = [
    "a/b",
    "a?b",
    "a#b",
    "user@evil.example",
    "../../admin",
    "x&c=x",
    "with space",
    "村务公开-2026第3期",
    "%2F",
    "%",
    "{category}",
    "+plus=",
    "semi;colon",
    "",
]


def decode(png: bytes) -> list[zxingcpp.Result]:
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))


@pytest.mark.parametrize("item_id", HOSTILE_IDS)
def test_values_are_percent_encoded_and_round_trip(item_id: str) -> None:
    url = feedback_url(TEMPLATE, item_id=item_id, terminal_id="T-0001", category="cw")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "yj.example.gov.cn", "/feedback")
    assert parts.fragment == ""
    query = parse_qs(parts.query, keep_blank_values=True)
    assert sorted(query) == ["c", "item", "t"]
    assert query["item"] == [item_id]
    assert query["t"] == ["T-0001"]
    assert query["c"] == ["cw"]
    assert url.isascii()


def test_exact_encoding_of_reserved_and_chinese_characters() -> None:
    url = feedback_url(
        "https://h.example/f?i={item_id}",
        item_id="a/b?c#d@e&c=x 中%2F..",
        terminal_id="",
        category="",
    )
    assert url == "https://h.example/f?i=a%2Fb%3Fc%23d%40e%26c%3Dx%20%E4%B8%AD%252F.."


def test_placeholders_in_fragment_and_repeated() -> None:
    url = feedback_url(
        "http://h.example:8080/p/?a={category}#{item_id}/{item_id}",
        item_id="#x",
        terminal_id="t",
        category="dw",
    )
    assert url == "http://h.example:8080/p/?a=dw#%23x/%23x"


def test_substituted_text_is_not_substituted_again() -> None:
    url = feedback_url(
        "https://h.example/?a={item_id}&b={category}",
        item_id="{category}",
        terminal_id="t",
        category="cw",
    )
    assert parse_qs(urlsplit(url).query) == {"a": ["{category}"], "b": ["cw"]}


@settings(max_examples=200, deadline=None)
@given(
    item_id=st.text(max_size=60),
    terminal_id=st.text(max_size=30),
    category=st.text(max_size=20),
)
def test_no_value_changes_the_structure(item_id: str, terminal_id: str, category: str) -> None:
    try:
        url = feedback_url(TEMPLATE, item_id=item_id, terminal_id=terminal_id, category=category)
    except FeedbackUrlError as exc:
        # Only lone surrogates cannot be encoded; the reason says so on one line.
        assert any(0xD800 <= ord(c) <= 0xDFFF for c in item_id + terminal_id + category)
        assert "\n" not in str(exc)
        return
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "yj.example.gov.cn", "/feedback")
    query = parse_qs(parts.query, keep_blank_values=True)
    assert query == {"item": [item_id], "t": [terminal_id], "c": [category]}


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("javascript:alert(1)//{item_id}", "http:// or https://"),
        ("JAVASCRIPT:alert(document.cookie)", "http:// or https://"),
        ("ftp://h.example/{item_id}", "http:// or https://"),
        ("file:///etc/passwd?{item_id}", "http:// or https://"),
        ("data:text/html,hi", "http:// or https://"),
        ("//h.example/?i={item_id}", "http:// or https://"),
        ("h.example/?i={item_id}", "http:// or https://"),
        ("https:///path?i={item_id}", "no valid host"),
        ("https://?i={item_id}", "no valid host"),
        ("https://a@b.example/?i={item_id}", "user information"),
        ("https://user:pw@b.example/", "user information"),
        ("https://{item_id}.example/", "host or path"),
        ("https://h{category}/", "host or path"),
        ("https://h.example/{item_id}", "host or path"),
        ("https://h.example/a/{category}/b?x=1", "host or path"),
        ("https://h.example/?i={0}", "unknown placeholder {0}"),
        ("https://h.example/?i={}", "unknown placeholder {}"),
        ("https://h.example/?i={item_id.__class__}", "unknown placeholder {item_id.__class__}"),
        ("https://h.example/?i={item_id!r}", "unknown placeholder"),
        ("https://h.example/?i={ITEM_ID}", "unknown placeholder"),
        ("https://h.example/?i={item_id", "unmatched '{'"),
        ("https://h.example/?i=item_id}", "unmatched '}'"),
        ("https://h.example/?i={{item_id}}", "unmatched '{'"),
        ("https://h.example/?i={item_{category}}", "unmatched '{'"),
        ("https://h.example:99999/", "Port out of range"),
        ("https://h.example:port/", "Port could not be cast"),
        ("https://h.example\\@evil.example/", "not allowed in a URL"),
        ("https://h.example/ ?i={item_id}", "not allowed in a URL"),
        ("https://h.example/\n?i={item_id}", "not allowed in a URL"),
        ("https://公开.example/?i={item_id}", "non-ASCII"),
        ("https://h.example/?i=%zz{item_id}", "malformed percent escape"),
        ("https://-bad-.example/", "no valid host"),
        ("https://[not-ipv6]/", "IPv6 address"),
        ("", "empty"),
        ("https://h.example/?i=" + "x" * 2000, "more than"),
    ],
)
def test_bad_templates_are_refused_with_a_one_line_reason(template: str, reason: str) -> None:
    with pytest.raises(FeedbackUrlError) as caught:
        validate_template(template)
    message = str(caught.value)
    assert reason in message
    assert "\n" not in message
    assert len(message) < 300  # a huge template is not echoed back whole
    with pytest.raises(FeedbackUrlError):
        feedback_url(template, item_id="1", terminal_id="t", category="c")


@pytest.mark.parametrize(
    "template",
    [
        "https://h.example/",
        "HTTPS://H.Example/Feedback?x=1&id={item_id}",
        "http://10.0.0.1:8000/f?i={item_id}&t={terminal_id}&c={category}",
        "https://[2001:db8::1]/f?i={item_id}",
        "https://xn--fiqs8s.example/%E6%84%8F%E8%A7%81?i={item_id}#t={terminal_id}",
    ],
)
def test_good_templates_are_accepted(template: str) -> None:
    validate_template(template)
    url = feedback_url(template, item_id="a b", terminal_id="t", category="c")
    assert urlsplit(url).netloc == urlsplit(template).netloc


def test_non_string_template_and_values_are_refused() -> None:
    with pytest.raises(FeedbackUrlError, match="must be a string"):
        validate_template(None)  # type: ignore[arg-type]
    with pytest.raises(FeedbackUrlError, match="item_id must be a string"):
        feedback_url(TEMPLATE, item_id=5, terminal_id="t", category="c")  # type: ignore[arg-type]


def test_oversized_values_are_refused_before_encoding() -> None:
    with pytest.raises(FeedbackUrlError, match="item_id is 5000000 characters"):
        feedback_url(TEMPLATE, item_id="中" * 5_000_000, terminal_id="t", category="c")
    # Within each value's bound, but the encoded URL would not fit a readable QR code.
    with pytest.raises(FeedbackUrlError, match="feedback URL would be"):
        feedback_url(TEMPLATE, item_id="中" * 400, terminal_id="t", category="c")


def test_lone_surrogate_is_refused() -> None:
    with pytest.raises(FeedbackUrlError, match="not valid Unicode"):
        feedback_url(TEMPLATE, item_id="a\ud800", terminal_id="t", category="c")


# --- QR code --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        feedback_url(TEMPLATE, item_id="cw-2026-0042", terminal_id="T-0001", category="cw"),
        feedback_url(
            TEMPLATE,
            item_id="村务公开/第3期 & 财务",
            terminal_id="某某村便民服务中心",
            category="cw",
        ),
        "https://h.example/" + "a" * 900,
        "意见建议请扫码：电话 0571-12345678",  # raw UTF-8, not only ASCII URLs
    ],
)
def test_qr_png_decodes_to_the_same_text_at_level_m(data: str) -> None:
    results = decode(qr_png_bytes(data))
    assert len(results) == 1
    result = results[0]
    assert result.format == zxingcpp.BarcodeFormat.QRCode
    assert result.text == data
    assert result.ec_level == "M"


def test_matrix_has_the_quiet_zone_and_a_real_code_inside() -> None:
    matrix = qr_matrix(feedback_url(TEMPLATE, item_id="1", terminal_id="t", category="c"))
    size = len(matrix)
    assert all(len(row) == size for row in matrix)
    modules = size - 8
    assert modules >= 21 and (modules - 21) % 4 == 0  # a QR version's side: 21 + 4(v - 1)
    for i in range(4):
        assert not any(matrix[i]) and not any(matrix[size - 1 - i])
        assert not any(row[i] for row in matrix) and not any(row[size - 1 - i] for row in matrix)
    # The finder pattern's dark outer ring starts right inside the quiet zone.
    assert all(matrix[4][4:11]) and all(row[4] for row in matrix[4:11])
    assert not any(matrix[5][5:10])


def test_border_and_scale_shape_the_image() -> None:
    data = "https://h.example/?i=1"
    bare = qr_matrix(data, border=0)
    framed = qr_matrix(data, border=6)
    assert len(framed) == len(bare) + 12
    assert [row[6:-6] for row in framed[6:-6]] == bare
    image = Image.open(io.BytesIO(qr_png_bytes(data, scale=3, border=6)))
    assert image.size == (len(framed) * 3, len(framed) * 3)
    pixels = image.convert("L").load()
    for y, row in enumerate(framed):
        for x, dark in enumerate(row):
            for dy in range(3):
                for dx in range(3):
                    assert pixels[x * 3 + dx, y * 3 + dy] == (0 if dark else 255)


def test_matrix_rows_are_independent_lists() -> None:
    matrix = qr_matrix("x")
    matrix[0][0] = True
    assert matrix[1][0] is False


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: qr_matrix(""), "empty"),
        (lambda: qr_matrix("a" * (MAX_QR_BYTES + 1)), f"more than {MAX_QR_BYTES}"),
        (lambda: qr_matrix("中" * 400), "1200 bytes"),
        (lambda: qr_matrix(b"bytes"), "must be a string"),  # type: ignore[arg-type]
        (lambda: qr_matrix("x", border=-1), "border"),
        (lambda: qr_matrix("x", border=1000), "border"),
        (lambda: qr_png_bytes("x", scale=0), "scale"),
        (lambda: qr_png_bytes("a" * MAX_QR_BYTES, scale=64), "px wide"),
    ],
)
def test_bad_qr_input_is_refused_clearly(call, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        call()
    assert "\n" not in str(caught.value)
