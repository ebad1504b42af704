"""The ``kiosk`` command line (contract in DESIGN.md).

Errors are one line on stderr prefixed with the subcommand and a non-zero exit, never a
traceback: the person reading them is a technician on a village network, not us.
Kivy is imported only by ``run`` and ``screenshot``, so the data commands work on a
machine with no GL at all (a cron job, the county's server).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from kiosk import config as config_mod
from kiosk.config import Config, ConfigError
from kiosk.terminal import current_view, make_coordinator, open_store
from sync.errors import SyncError
from sync.model import Item
from sync.parse import ItemInvalid, parse_time

log = logging.getLogger("kiosk")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except (ConfigError, SyncError) as exc:
        print(f"kiosk {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk", description="Public-disclosure kiosk and signage terminal."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--config", metavar="FILE", help="TOML configuration (default: see docs)")
        return p

    p = command("run", "the full-screen app (the bundled demo without a configuration)")
    p.add_argument("--windowed", action="store_true", help="a window instead of full screen")
    p.set_defaults(func=cmd_run)

    p = command("sync", "one sync now")
    p.set_defaults(func=cmd_sync)

    p = command("items", "the items the display rule admits")
    p.add_argument("--json", action="store_true", help="JSON array (the default format)")
    p.add_argument("--at", metavar="RFC3339", help="judge at this time instead of now")
    p.set_defaults(func=cmd_items)

    p = command("status", "terminal id, last sync, feed sequence, counts, last error")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = command("screenshot", "render one screen headless to a PNG")
    p.add_argument("--screen", required=True)
    p.add_argument("--item", metavar="ID")
    p.add_argument("--size", default="1920x1080", metavar="WxH")
    p.add_argument("--out", required=True, metavar="FILE.png")
    p.add_argument("--at", metavar="RFC3339", help="render as at this time")
    p.set_defaults(func=cmd_screenshot)

    p = sub.add_parser("hash-pin", help="hash a technician PIN for [technician] pin_hash")
    p.set_defaults(func=cmd_hash_pin)

    from kiosk.ops_cli import add_ops_commands

    add_ops_commands(sub)

    try:
        from kiosk.county.cli import add_feed_commands
    except ImportError:  # pragma: no cover - the county tools ship with the package
        pass
    else:
        add_feed_commands(sub)
    return parser


def _config(args: argparse.Namespace) -> Config:
    return config_mod.load(args.config)


def cmd_sync(args: argparse.Namespace) -> int:
    config = _config(args)
    outcome = make_coordinator(config).sync()
    detail = f"sequence {outcome.sequence}"
    if outcome.result == "updated":
        detail += f", {outcome.items_stored} items kept, {len(outcome.dropped)} dropped"
        for line in outcome.dropped:
            print(f"kiosk sync: warning: {line}", file=sys.stderr)
    print(f"{outcome.result}: {detail}")
    return 0


def _parse_at(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        return parse_time(value, "--at")
    except ItemInvalid as exc:
        raise ConfigError(str(exc)) from exc


def item_summary(item: Item, category_name: str) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": item.id,
        "category": item.category,
        "category_name": category_name,
        "subcategory": item.subcategory,
        "title": item.title,
        "publisher": item.publisher,
        "catalog_no": item.catalog_no,
        "priority": item.priority,
        "disclosure_type": item.disclosure_type,
        "date_published": iso(item.date_published),
        "valid_from": iso(item.valid_from),
        "valid_until": iso(item.valid_until),
        "images": [m.local_path for m in item.media if m.local_path],
    }


def cmd_items(args: argparse.Namespace) -> int:
    config = _config(args)
    view = current_view(config, open_store(config), _parse_at(args.at))
    meta = view.snapshot.meta
    rows = []
    for item in view.items:
        cat = meta.category(item.category) if meta else None
        rows.append(item_summary(item, cat.name if cat else item.category))
    json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


def status_dict(config: Config) -> dict[str, Any]:
    store = open_store(config)
    view = current_view(config, store)
    st = store.sync_status()
    state = view.snapshot.state

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    per_category: dict[str, int] = {}
    for item in view.items:
        per_category[item.category] = per_category.get(item.category, 0) + 1
    return {
        "terminal_id": config.terminal.id,
        "region_code": config.terminal.region_code,
        "mode": config.terminal.mode,
        "config": config.source,
        "feed_url": config.feed.url,
        "last_attempt_at": iso(st.last_attempt_at),
        "last_result": st.last_result,
        "last_error": st.last_error,
        "last_success_at": iso(st.last_success_at),
        "consecutive_failures": st.consecutive_failures,
        "sequence": state.sequence if state else None,
        "generated_at": iso(state.generated_at) if state else None,
        "accepted_at": iso(state.accepted_at) if state else None,
        "counts": {
            "in_feed": state.items_in_feed if state else 0,
            "withheld_not_public": state.items_withheld if state else 0,
            "dropped_invalid": len(state.dropped) if state else 0,
            "stored": len(view.snapshot.items),
            "admitted_now": len(view.items),
            "by_category": per_category,
        },
        "cycle_slides": len(view.items),
        "dropped": list(state.dropped) if state else [],
    }


def cmd_status(args: argparse.Namespace) -> int:
    status = status_dict(_config(args))
    if args.json:
        json.dump(status, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    counts = status["counts"]
    lines = [
        (
            "terminal",
            f"{status['terminal_id']}  region {status['region_code']}  mode {status['mode']}",
        ),
        ("config", status["config"]),
        ("feed", status["feed_url"]),
        ("last attempt", f"{status['last_attempt_at'] or 'never'}  {status['last_result'] or ''}"),
        ("last success", status["last_success_at"] or "never"),
        ("last error", status["last_error"] or "-"),
        ("sequence", f"{status['sequence']}  generated {status['generated_at']}"),
        (
            "items",
            f"{counts['admitted_now']} shown now, {counts['stored']} stored, "
            f"{counts['withheld_not_public']} withheld (not public/approved), "
            f"{counts['dropped_invalid']} dropped (invalid)",
        ),
        ("cycle", f"{status['cycle_slides']} slides"),
    ]
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")
    return 0


def cmd_hash_pin(args: argparse.Namespace) -> int:
    """Read the PIN from the terminal (or stdin) so it never lands in shell history."""
    import getpass

    from kiosk.pin import hash_pin

    pin = getpass.getpass("PIN: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    try:
        print(f'pin_hash = "{hash_pin(pin)}"')
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from kiosk.app import run_app

    return run_app(_config(args), windowed=args.windowed)


def cmd_screenshot(args: argparse.Namespace) -> int:
    from kiosk.screenshot import take_screenshot

    return take_screenshot(
        _config(args),
        screen=args.screen,
        item_id=args.item,
        size=args.size,
        out=args.out,
        at=_parse_at(args.at) if args.at else None,
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
