"""The play report a county office files or checks (归档, 督查): what was shown, how long.

Dates on the command line are China time, as the office thinks of them: ``--since
2026-11-01 --until 2026-11-30`` covers the whole of both days (a bare date as ``--until``
means the end of that day). Full RFC 3339 times are taken as given, ``--until``
exclusive. China has kept UTC+8 without daylight saving since 1991, so a fixed offset is
used rather than a time-zone database a minimal terminal image may lack.

CSV columns (one header style, English keys, stable for scripts; the Chinese meaning in
brackets): ``item_id`` (条目编号), ``category`` (类别代码), ``category_name`` (类别),
``title`` (标题, from the store's current snapshot, empty for items no longer held),
``times_shown`` (展示次数), ``total_seconds`` (展示总时长, seconds), ``first_shown``
(首次展示) and ``last_shown`` (末次展示), the last two RFC 3339 in China time. ``--excel``
adds a UTF-8 byte-order mark, without which Excel on Windows reads the Chinese as GBK, and
quotes any text cell starting with ``= + - @`` so a title from the feed cannot become an
Excel formula.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import IO

from kiosk.playlog import ItemPlaySummary

CHINA = timezone(timedelta(hours=8), "CST")
CSV_COLUMNS = (
    "item_id",
    "category",
    "category_name",
    "title",
    "times_shown",
    "total_seconds",
    "first_shown",
    "last_shown",
)
BOM = "\ufeff"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ReportError(ValueError):
    """A bad report argument; ``str()`` is one line for the person who typed it."""


def parse_report_time(value: str, *, option: str, end_of_day: bool = False) -> datetime:
    """``YYYY-MM-DD`` (China time; start of the day, or end with ``end_of_day``) or RFC 3339."""
    text = value.strip()
    if _DATE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ReportError(f"{option} {value!r} is not a real date") from None
        start = datetime(day.year, day.month, day.day, tzinfo=CHINA)
        return start + timedelta(days=1) if end_of_day else start
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ReportError(
            f"{option} {value!r} is not a date (YYYY-MM-DD, China time) or an RFC 3339 time"
        ) from None
    if when.tzinfo is None:
        raise ReportError(f"{option} {value!r} has no UTC offset (add +08:00 or Z)")
    return when


@dataclass(frozen=True)
class ReportRow:
    item_id: str
    category: str
    category_name: str
    title: str
    times_shown: int
    total_seconds: float
    first_shown: datetime
    last_shown: datetime

    def csv_values(self) -> list[str]:
        return [
            self.item_id,
            self.category,
            self.category_name,
            self.title,
            str(self.times_shown),
            f"{self.total_seconds:.1f}",
            china_time(self.first_shown),
            china_time(self.last_shown),
        ]


def china_time(when: datetime) -> str:
    return when.astimezone(CHINA).isoformat(timespec="seconds")


def build_rows(
    summaries: Iterable[ItemPlaySummary],
    titles: dict[str, str],
    category_names: dict[str, str],
) -> list[ReportRow]:
    """Join the play summary with the names the terminal holds now (which may be gone)."""
    return [
        ReportRow(
            item_id=s.item_id,
            category=s.category,
            category_name=category_names.get(s.category, ""),
            title=titles.get(s.item_id, ""),
            times_shown=s.times_shown,
            total_seconds=s.total_seconds,
            first_shown=s.first_shown,
            last_shown=s.last_shown,
        )
        for s in summaries
    ]


def write_csv(rows: Iterable[ReportRow], out: IO[str], *, excel: bool = False) -> None:
    """CSV with a header row.

    ``excel`` prefixes the byte-order mark Excel needs and defuses cells that Excel would
    run as a formula; plain CSV keeps every value exactly as it is, for scripts.
    """
    if excel:
        out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        values = row.csv_values()
        writer.writerow([_no_formula(v) for v in values] if excel else values)


def _no_formula(value: str) -> str:
    """Titles come from the feed: a leading = + - @ must not become an Excel formula."""
    if value and value[0] in "=+-@\t\r" and not _is_number(value):
        return "'" + value
    return value


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def width(text: str) -> int:
    """Terminal columns: CJK characters are two wide."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def clip(text: str, columns: int) -> str:
    if width(text) <= columns:
        return text
    out, used = [], 0
    for ch in text:
        used += width(ch)
        if used > columns - 1:
            break
        out.append(ch)
    return "".join(out) + "…"


def format_table(
    rows: list[ReportRow], *, since: datetime, until: datetime, terminal_id: str
) -> str:
    """A readable table for a technician's terminal; titles are clipped, not wrapped."""
    head = f"终端 terminal {terminal_id}   {china_time(since)} — {china_time(until)} (China time)"
    if not rows:
        return head + "\nno plays recorded in this period\n"
    header = ("条目编号", "类别", "标题", "次数", "总时长(秒)", "首次展示", "末次展示")
    table = [
        (
            r.item_id,
            r.category_name or r.category,
            clip(r.title, 40),
            str(r.times_shown),
            f"{r.total_seconds:.0f}",
            r.first_shown.astimezone(CHINA).strftime("%m-%d %H:%M"),
            r.last_shown.astimezone(CHINA).strftime("%m-%d %H:%M"),
        )
        for r in rows
    ]
    widths = [max(width(line[i]) for line in (header, *table)) for i in range(len(header))]
    numeric = {3, 4}

    def fmt(line: tuple[str, ...]) -> str:
        cells = []
        for i, cell in enumerate(line):
            pad = " " * (widths[i] - width(cell))
            cells.append(pad + cell if i in numeric else cell + pad)
        return "  ".join(cells).rstrip()

    total_times = sum(r.times_shown for r in rows)
    total_seconds = sum(r.total_seconds for r in rows)
    lines = [head, fmt(header), *(fmt(t) for t in table)]
    lines.append(f"{len(rows)} items, {total_times} showings, {total_seconds / 3600:.1f} hours")
    return "\n".join(lines) + "\n"
