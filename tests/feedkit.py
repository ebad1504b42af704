"""Builds feed documents for tests, so each test states only what it is about."""

from __future__ import annotations

import copy
import json
from typing import Any

from sync import trust

CATEGORIES = [
    {"id": "dangwu", "name": "党务公开", "order": 1, "color": "#a01c1c"},
    {"id": "zhengwu", "name": "政务公开", "order": 2, "color": "#1c4f8a"},
    {"id": "cunwu", "name": "村务公开", "order": 3, "color": "#2e6b34"},
    {"id": "caiwu", "name": "财务公开", "order": 4, "color": "#7a5a12"},
]
REGION = "360999101201"


def item(item_id: str = "it-1", **overrides: Any) -> dict[str, Any]:
    """A valid, public, approved item; ``overrides`` may use dotted keys for _disclosure."""
    doc: dict[str, Any] = {
        "id": item_id,
        "title": f"关于{item_id}的公示",
        "content_text": "经村民代表会议讨论通过，现予公示。",
        "date_published": "2026-10-01T09:00:00+08:00",
        "_disclosure": {
            "category": "cunwu",
            "subcategory": "一事一议",
            "scope": "public",
            "approval": {"status": "approved", "approved_by": "王建国"},
            "publisher": "柳塘村村民委员会",
            "catalog_no": f"LT-{item_id}",
            "disclosure_type": "ad_hoc",
            "valid_from": "2026-10-01T00:00:00+08:00",
            "priority": "normal",
        },
    }
    for key, value in overrides.items():
        if key.startswith("d_"):
            name = key[2:]
            if value is None:
                doc["_disclosure"].pop(name, None)
            else:
                doc["_disclosure"][name] = value
        elif value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def feed(
    items: list[dict[str, Any]],
    *,
    sequence: int = 100,
    generated_at: str = "2026-11-01T08:00:00+08:00",
    **overrides: Any,
) -> dict[str, Any]:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "青溪县三务公开",
        "items": copy.deepcopy(items),
        "_disclosure": {
            "issuer": "中共青溪县委办公室",
            "sequence": sequence,
            "generated_at": generated_at,
            "categories": copy.deepcopy(CATEGORIES),
            "feedback": {
                "url_template": "https://yijian.example.gov.cn/f?i={item_id}&t={terminal_id}",
                "phone": "0790-1234567",
            },
        },
    }
    doc["_disclosure"].update(overrides)
    return doc


def encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def signed(doc: dict[str, Any], private_key: str) -> tuple[bytes, bytes]:
    body = encode(doc)
    return body, trust.sign(body, private_key).encode("ascii")
