"""``kiosk feed keygen | build | sign | serve``: the county office's side of the command line.

``add_feed_commands`` hangs these under the main ``kiosk`` parser; every leaf sets
``args.func`` to its handler, and ``run_feed_command(args)`` calls it. Handlers return an
exit code and report failures as one line on stderr, prefixed with the command, so a
clerk sees ``kiosk feed build: items/foo.toml: missing approval.status`` and nothing else.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.county.build import BuildError, build_feed, sign_file
from kiosk.county.serve import serve_forever
from sync import trust


def add_feed_commands(subparsers: Any) -> None:
    """Add ``feed`` and its subcommands to an ``argparse`` subparsers object."""
    feed = subparsers.add_parser(
        "feed",
        help="county side: make keys, build, sign and serve a feed",
        description="County side: make a key pair, build a signed feed from a folder of "
        "items, sign a feed, serve a feed folder over HTTP for testing.",
    )
    sub = feed.add_subparsers(dest="feed_command", metavar="COMMAND", required=True)

    keygen = sub.add_parser("keygen", help="make an Ed25519 key pair PREFIX.key / PREFIX.pub")
    keygen.add_argument("--out", required=True, metavar="PREFIX", help="e.g. keys/county-2026")
    keygen.add_argument("--force", action="store_true", help="overwrite existing key files")
    keygen.set_defaults(func=_keygen)

    build = sub.add_parser("build", help="build feed.json (+ media, + .sig) from SRC_DIR")
    build.add_argument("src_dir", type=Path, metavar="SRC_DIR")
    build.add_argument("--out", required=True, type=Path, metavar="DIR")
    build.add_argument("--key", type=Path, metavar="KEYFILE", help="sign with this private key")
    build.add_argument(
        "--now",
        metavar="RFC3339",
        help="build time (generated_at and the sequence floor); default: the clock",
    )
    build.set_defaults(func=_build)

    sign = sub.add_parser("sign", help="write FEED.json.sig for an existing feed")
    sign.add_argument("feed", type=Path, metavar="FEED.json")
    sign.add_argument("--key", required=True, type=Path, metavar="KEYFILE")
    sign.set_defaults(func=_sign)

    serve = sub.add_parser("serve", help="serve a feed folder over HTTP (ETag, 304)")
    serve.add_argument("directory", type=Path, metavar="DIR")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=_serve)

    for parser in (keygen, build, sign, serve):
        # The contract gives every subcommand --config; the county tools need none.
        # SUPPRESS keeps this from overwriting a --config given to the main parser.
        parser.add_argument(
            "--config", default=argparse.SUPPRESS, metavar="FILE", help="accepted, not used"
        )


def run_feed_command(args: argparse.Namespace) -> int:
    """Run the handler ``add_feed_commands`` stored in ``args.func``."""
    return int(args.func(args))


def _fail(args: argparse.Namespace, reason: object) -> int:
    print(f"kiosk feed {args.feed_command}: {' '.join(str(reason).split())}", file=sys.stderr)
    return 1


def _keygen(args: argparse.Namespace) -> int:
    prefix = str(args.out)
    key_path, pub_path = Path(prefix + ".key"), Path(prefix + ".pub")
    if not args.force:
        for path in (key_path, pub_path):
            if path.exists():
                return _fail(args, f"{path} exists; use --force to replace it")
    private_b64, public_b64 = trust.generate_keypair()
    try:
        key_path.parent.mkdir(parents=True, exist_ok=True)
        key_path.unlink(missing_ok=True)
        # Created 0600 from the start: never a moment when others could read it.
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(private_b64 + "\n")
        pub_path.write_text(public_b64 + "\n", encoding="ascii")
    except OSError as exc:
        return _fail(args, f"{exc.filename or prefix}: {exc.strerror or exc}")
    print(public_b64)
    return 0


def _build(args: argparse.Namespace) -> int:
    try:
        key = read_key_file(args.key) if args.key else None
        now = _parse_now(args.now) if args.now else None
        report = build_feed(args.src_dir, args.out, key, now=now)
    except (BuildError, ValueError, OSError) as exc:
        return _fail(args, _os_reason(exc))
    for notice in report.notices:
        print(f"note: {notice}", file=sys.stderr)
    signed = f"signed {report.signature_path}" if report.signature_path else "UNSIGNED"
    print(
        f"built {report.feed_path}: {report.item_count} items, {report.media_count} media, "
        f"sequence {report.sequence}, {signed}"
    )
    return 0


def _sign(args: argparse.Namespace) -> int:
    try:
        sig = sign_file(args.feed, read_key_file(args.key))
    except (BuildError, ValueError, OSError) as exc:
        return _fail(args, _os_reason(exc))
    print(f"signed {sig}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    def ready(url: str) -> None:
        print(f"serving {args.directory} at {url}feed.json (Ctrl-C to stop)", flush=True)

    try:
        serve_forever(args.directory, args.host, args.port, on_ready=ready)
    except (ValueError, OSError) as exc:
        return _fail(args, _os_reason(exc))
    return 0


def read_key_file(path: Path) -> str:
    """The base64 private key in ``path``; lines starting with ``#`` are comments.

    Validated here so that a wrong file (a .pub, a PEM) fails before anything is built.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read key ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a base64 key file") from exc
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if len(lines) != 1:
        raise ValueError(f"{path}: expected one base64 key line, found {len(lines)}")
    try:
        trust.public_key_of(lines[0])
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    return lines[0]


def _parse_now(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"--now {value!r} is not an RFC 3339 time") from None


def _os_reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    return str(exc)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry, ``python -m kiosk.county.cli feed build …``: same commands as ``kiosk``.

    Lets a county PC run the tools from a checkout without installing the kiosk app.
    """
    parser = argparse.ArgumentParser(prog="kiosk")
    add_feed_commands(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    return run_feed_command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
