"""Feedback templates and ids from a hostile feed: refused, or the id kept inside the query.

The template and the ids are feed data. A template with another scheme must be refused (the
presenter then shows no QR code, only the phone number); an id must never move the link to
another host or path, whatever it contains.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from kiosk.feedback import FeedbackUrlError, feedback_url, validate_template

GOOD = "https://yijian.example.gov.cn/f?i={item_id}&t={terminal_id}&c={category}"


@pytest.mark.parametrize(
    "template",
    [
        "javascript:alert(1)//{item_id}",
        "data:text/html,<script>{item_id}</script>",
        "file:///etc/passwd?{item_id}",
        "ftp://yijian.example.gov.cn/?i={item_id}",
        "https://{item_id}.example.gov.cn/f",
        "https://yijian.example.gov.cn/{item_id}/f",
        "https://evil.example@yijian.example.gov.cn/f?i={item_id}",
        "https://yijian.example.gov.cn\\@evil.example/?i={item_id}",
        "https://yijian．example．gov．cn/f?i={item_id}",  # full-width dots
        "https://yijian.example.gov.cn/f?i={item_id.__class__}",
        "https://yijian.example.gov.cn/f?i={0}",
        "https://yijian.example.gov.cn/f?i=%zz{item_id}",
        "https://yijian.example.gov.cn:99999/f?i={item_id}",
        "https:///f?i={item_id}",
        "",
    ],
)
def test_unsafe_templates_are_refused_with_one_line(template: str) -> None:
    with pytest.raises(FeedbackUrlError) as caught:
        validate_template(template)
    assert str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "item_id",
    [
        "../../admin",
        "x&t=OTHER",
        "x#frag",
        "x?i=2",
        "a@evil.example",
        "%2F..%2Fadmin",
        "．．／admin",
        "x\r\nLocation: https://evil.example",
        "\u202eevil",
        "[b]x[/b]",
        "x y",
    ],
)
def test_hostile_ids_stay_inside_their_query_value(item_id: str) -> None:
    url = feedback_url(GOOD, item_id=item_id, terminal_id="LT-01", category="cunwu")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "yijian.example.gov.cn", "/f")
    assert parts.fragment == ""
    assert parse_qs(parts.query) == {"i": [item_id], "t": ["LT-01"], "c": ["cunwu"]}


def test_an_id_too_long_for_a_qr_code_is_refused() -> None:
    with pytest.raises(FeedbackUrlError, match="characters"):
        feedback_url(GOOD, item_id="x" * 5000, terminal_id="LT-01", category="cunwu")
