"""``kiosk report`` and ``kiosk doctor``: the commands the county office and technicians run.

:func:`add_ops_commands` plugs both into the main ``kiosk`` parser; :func:`main` runs them
alone (``python -m kiosk.ops_cli report …``). Each handler prints its own one-line error
and returns the exit status, so it behaves the same under either entry point.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from kiosk import config as config_mod
from kiosk.config import Config, ConfigError
from kiosk.doctor import exit_status, render_json, run_checks
from kiosk.playlog import PlayLog, playlog_path
from kiosk.report import ReportError, build_rows, format_table, parse_report_time, write_csv
from sync.errors import SyncError


def add_ops_commands(subparsers: Any) -> None:
    """Add ``report`` and ``doctor`` to an ``add_subparsers()`` object."""
    p = subparsers.add_parser(
        "report",
        help="what this terminal showed, per item, over a period (CSV for the county office)",
        description="Dates are YYYY-MM-DD in China time (a bare --until date includes that "
        "day) or RFC 3339 times with an offset.",
    )
    p.add_argument("--config", metavar="FILE", help="TOML configuration (default: see docs)")
    p.add_argument("--since", required=True, metavar="DATE", help="start (inclusive)")
    p.add_argument("--until", metavar="DATE", help="end (default: now)")
    p.add_argument("--csv", action="store_true", help="CSV on stdout instead of a table")
    p.add_argument(
        "--excel", action="store_true", help="CSV with a UTF-8 BOM for Excel (implies --csv)"
    )
    p.set_defaults(func=cmd_report)

    p = subparsers.add_parser("doctor", help="check this terminal and say what to fix")
    p.add_argument("--config", metavar="FILE", help="TOML configuration (default: see docs)")
    p.add_argument("--json", action="store_true", help="a JSON array of checks")
    p.add_argument("--skip-gl", action="store_true", help="do not open a GL window")
    p.set_defaults(func=cmd_doctor)


def _fail(command: str, message: object) -> int:
    print(f"kiosk {command}: {' '.join(str(message).split())}", file=sys.stderr)
    return 1


def _emit(text: str) -> None:
    """Write UTF-8 whatever the locale says: a county PC's SSH session may say ASCII."""
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(text)
        return
    buffer.write(text.encode("utf-8"))
    buffer.flush()


def cmd_report(args: argparse.Namespace) -> int:
    try:
        since = parse_report_time(args.since, option="--since")
        until = (
            parse_report_time(args.until, option="--until", end_of_day=True)
            if args.until
            else datetime.now(UTC)
        )
        if until <= since:
            raise ReportError(f"--until {args.until or 'now'} is not after --since {args.since}")
        config = config_mod.load(args.config)
    except (ReportError, ConfigError) as exc:
        return _fail("report", exc)
    path = playlog_path(config.data_dir)
    summaries = []
    if path.exists():
        try:
            summaries = PlayLog(path, read_only=True).summary(since, until)
        except SyncError as exc:
            return _fail("report", f"{exc} (run as the kiosk user?)")
    else:
        print(f"kiosk report: no play log at {path} yet", file=sys.stderr)
    titles, category_names = _names(config)
    rows = build_rows(summaries, titles, category_names)
    if args.csv or args.excel:
        out = io.StringIO()
        write_csv(rows, out, excel=args.excel)
        _emit(out.getvalue())
    else:
        _emit(format_table(rows, since=since, until=until, terminal_id=config.terminal.id))
    return 0


def _names(config: Config) -> tuple[dict[str, str], dict[str, str]]:
    """Item titles and category names from the store, if it can be read."""
    if not config.store_path.exists():
        return {}, {}
    from sync.store import Store

    try:
        snapshot = Store(config.store_path).snapshot()
    except SyncError as exc:
        print(f"kiosk report: warning: titles unavailable: {exc}", file=sys.stderr)
        return {}, {}
    titles = {item.id: item.title for item in snapshot.items}
    names = {c.id: c.name for c in snapshot.meta.categories} if snapshot.meta else {}
    return titles, names


def cmd_doctor(args: argparse.Namespace) -> int:
    checks = run_checks(args.config, skip_gl=args.skip_gl)
    _emit(render_json(checks) + "\n" if args.json else "".join(c.line() + "\n" for c in checks))
    return exit_status(checks)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kiosk", description="Play reports and diagnostics.")
    add_ops_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
