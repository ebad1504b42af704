"""``kiosk report`` against a play log the test fills and a store synced from the demo feed."""

from __future__ import annotations

import argparse
import csv
import io
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from kiosk.config import ASSETS, Config, load
from kiosk.ops_cli import cmd_report
from kiosk.playlog import PlayLog, playlog_path
from kiosk.report import (
    CSV_COLUMNS,
    ReportError,
    build_rows,
    parse_report_time,
    write_csv,
)
from kiosk.terminal import make_coordinator, open_store
from tests.conftest import write_config

CHINA = timezone(timedelta(hours=8))
DEMO_PUB = (ASSETS / "demo" / "demo-key.pub").read_text().strip()
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def terminal(tmp_path: Path) -> tuple[Path, Config]:
    """A terminal whose store holds the demo feed, synced for real from file://."""
    path = write_config(
        tmp_path / "kiosk.toml",
        url=(ASSETS / "demo" / "feed" / "feed.json").as_uri(),
        data_dir=tmp_path / "data",
        public_keys=[DEMO_PUB],
    )
    config = load(path)
    assert make_coordinator(config).sync().result == "updated"
    return path, config


Play = tuple[str, str, datetime, float]


def fill(config: Config, plays: list[Play]) -> None:
    log = PlayLog(playlog_path(config.data_dir))
    for item_id, category, started, seconds in plays:
        log.record(item_id, category, started, seconds, "signage", False, 5)


def run(
    config_path: Path, capsys: pytest.CaptureFixture[str], **kw: object
) -> tuple[int, str, str]:
    args = argparse.Namespace(
        config=str(config_path), since=None, until=None, csv=False, excel=False
    )
    for key, value in kw.items():
        setattr(args, key, value)
    code = cmd_report(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_csv_matches_the_plays_and_the_store(
    terminal: tuple[Path, Config], capsys: pytest.CaptureFixture[str]
) -> None:
    config_path, config = terminal
    snapshot = open_store(config).snapshot()
    assert snapshot.meta is not None
    items = list(snapshot.items)[:6]
    rng = random.Random(11)
    start = datetime(2026, 11, 1, tzinfo=CHINA)
    plays: list[Play] = []
    for _ in range(300):
        it = rng.choice(items)
        when = start + timedelta(seconds=rng.randrange(0, 10 * 86400))
        plays.append((it.id, it.category, when, round(rng.uniform(6, 40), 2)))
    plays.append(("gone-2025-001", "cunwu", start + timedelta(days=2), 15.0))  # withdrawn since
    plays.append((items[0].id, items[0].category, start - timedelta(seconds=1), 9.0))  # before
    fill(config, plays)

    code, out, err = run(config_path, capsys, since="2026-11-01", until="2026-11-05", csv=True)
    assert code == 0, err
    assert not out.startswith("\ufeff")
    reader = csv.DictReader(io.StringIO(out))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    got = {row["item_id"]: row for row in reader}

    until = datetime(2026, 11, 6, tzinfo=CHINA)  # a bare --until date includes that day
    inside = [p for p in plays if start <= p[2] < until]
    titles = {i.id: i.title for i in snapshot.items}
    names = {c.id: c.name for c in snapshot.meta.categories}
    assert set(got) == {p[0] for p in inside}
    for item_id, row in got.items():
        mine = [p for p in inside if p[0] == item_id]
        assert row["category"] == mine[0][1]
        assert row["category_name"] == names.get(mine[0][1], "")
        assert row["title"] == titles.get(item_id, "")
        assert int(row["times_shown"]) == len(mine)
        assert float(row["total_seconds"]) == pytest.approx(sum(p[3] for p in mine), abs=0.05)
        assert datetime.fromisoformat(row["first_shown"]) == min(p[2] for p in mine).replace(
            microsecond=0
        )
        assert datetime.fromisoformat(row["last_shown"]) == max(p[2] for p in mine)
        assert row["first_shown"].endswith("+08:00")
    assert got["gone-2025-001"]["title"] == ""
    assert got[items[0].id]["title"] == items[0].title and items[0].title


def test_excel_csv_from_a_child_process(terminal: tuple[Path, Config]) -> None:
    config_path, config = terminal
    item = open_store(config).snapshot().items[0]
    # 23:30 China time on 1 Nov is 15:30 UTC: inside a report for that China day only.
    late = datetime(2026, 11, 1, 23, 30, tzinfo=CHINA)
    fill(config, [(item.id, item.category, late, 20.0), (item.id, item.category, late, 10.0)])
    fill(config, [(item.id, item.category, late + timedelta(hours=1), 99.0)])  # next day
    result = subprocess.run(
        [sys.executable, "-m", "kiosk.ops_cli", "report", "--config", str(config_path),
         "--since", "2026-11-01", "--until", "2026-11-01", "--csv", "--excel"],
        capture_output=True,
        timeout=60,
        cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs
    rows = list(csv.DictReader(io.StringIO(result.stdout.decode("utf-8-sig"))))
    assert len(rows) == 1
    assert rows[0]["item_id"] == item.id and rows[0]["title"] == item.title
    assert rows[0]["times_shown"] == "2" and float(rows[0]["total_seconds"]) == 30.0
    assert rows[0]["first_shown"] == "2026-11-01T23:30:00+08:00"


def test_table_output_for_a_person(
    terminal: tuple[Path, Config], capsys: pytest.CaptureFixture[str]
) -> None:
    config_path, config = terminal
    item = open_store(config).snapshot().items[0]
    fill(config, [(item.id, item.category, datetime.now(UTC) - timedelta(hours=1), 42.0)])
    code, out, err = run(config_path, capsys, since="2020-01-01")
    assert code == 0, err
    assert "LT-TEST-01" in out and item.id in out
    assert item.title[:10] in out
    assert "1 items, 1 showings" in out


def test_no_play_log_yet_gives_an_empty_report(
    terminal: tuple[Path, Config], capsys: pytest.CaptureFixture[str]
) -> None:
    config_path, config = terminal
    code, out, err = run(config_path, capsys, since="2026-01-01", csv=True)
    assert code == 0
    assert out.strip() == ",".join(CSV_COLUMNS)
    assert "no play log" in err
    assert not playlog_path(config.data_dir).exists()  # a report creates nothing


@pytest.mark.parametrize(
    ("since", "until", "fragment"),
    [
        ("2026-13-01", None, "--since"),
        ("yesterday", None, "--since"),
        ("2026-11-01", "2026-11-01T10:00:00", "--until"),  # no offset
        ("2026-11-05", "2026-11-01", "not after"),
    ],
)
def test_bad_dates_are_one_line_exit_1(
    terminal: tuple[Path, Config],
    capsys: pytest.CaptureFixture[str],
    since: str,
    until: str | None,
    fragment: str,
) -> None:
    code, out, err = run(terminal[0], capsys, since=since, until=until, csv=True)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("kiosk report:") and fragment in err


def test_bad_date_from_the_command_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kiosk.ops_cli", "report", "--since", "31/12/2026"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "31/12/2026" in result.stderr


def test_parse_report_time() -> None:
    assert parse_report_time("2026-11-01", option="--since") == datetime(
        2026, 10, 31, 16, tzinfo=UTC
    )
    assert parse_report_time("2026-11-01", option="--until", end_of_day=True) == datetime(
        2026, 11, 1, 16, tzinfo=UTC
    )
    assert parse_report_time("2026-11-01T08:00:00Z", option="--since") == datetime(
        2026, 11, 1, 8, tzinfo=UTC
    )
    with pytest.raises(ReportError):
        parse_report_time("2026-02-30", option="--since")


def test_excel_mode_defuses_formulas_plain_mode_keeps_values() -> None:
    from kiosk.playlog import ItemPlaySummary

    t = datetime(2026, 11, 1, tzinfo=UTC)
    rows = build_rows(
        [ItemPlaySummary("x-1", "cunwu", 2, 10.0, t, t)],
        {"x-1": '=HYPERLINK("http://evil.example","点我")'},
        {"cunwu": "村务公开"},
    )
    plain, excel = io.StringIO(), io.StringIO()
    write_csv(rows, plain)
    write_csv(rows, excel, excel=True)
    assert next(csv.DictReader(io.StringIO(plain.getvalue())))["title"].startswith("=HYPER")
    cell = next(csv.DictReader(io.StringIO(excel.getvalue().lstrip("\ufeff"))))["title"]
    assert cell.startswith("'=HYPER")
