"""Scan statistics: what one visit adds, and how stored counters become report rows. Pure.

Every statistic is counted per day (in the code's time zone) and per dimension: the code as a
whole (``code``), a channel (``ch:<id>``; ``ch:-`` is scans without a channel), a target
(``t:<id>``) and a grouped-code option (``o:<id>``). Stored names are ``<metric>|<dimension>``.

Metrics: ``views`` pages served to people (bots and HEAD requests are not counted);
``unique_visitors`` distinct visitors that day (first-party cookie); ``new_visitors`` visitors
seen in that dimension for the first time ever (so they add up over a range, where daily
uniques do not); ``wechat`` views inside WeChat/WeCom, ``other_browsers`` the rest;
``assigned`` new scanners handed to a target (what caps and per-contact pay count; a
returning scanner shown the same staff member is not assigned again); ``fallback`` views that
found no available target.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from siyu.live_codes.model import LiveCode

CODE = "code"
DIRECT = "ch:-"
_STORED = {"views": "v", "unique_visitors": "u", "new_visitors": "n", "wechat": "w", "assigned": "a", "fallback": "f"}
METRICS = ("views", "unique_visitors", "new_visitors", "wechat", "other_browsers", "assigned", "fallback")
SUMMABLE = tuple(m for m in METRICS if m != "unique_visitors")
COLUMNS = ("date", "dimension", "key", "name", *METRICS)
_DIMENSION = {"code": "code", "ch": "channel", "t": "target", "o": "option"}
MAX_DAYS = 366
Row = dict[str, Any]  # one line of a report (a JSON object / CSV line): the COLUMNS


def channel_dim(channel_id: str | None) -> str:
    return f"ch:{channel_id}" if channel_id else DIRECT


def increments(
    dims: Iterable[str],
    in_wechat: bool,
    new_today: Iterable[str] = (),
    new_ever: Iterable[str] = (),
    assigned: bool = False,
    fallback: bool = False,
) -> dict[str, int]:
    """What one counted page view adds (stored names)."""
    dims = list(dims)
    added = {f"v|{d}": 1 for d in dims}
    if in_wechat:
        added.update({f"w|{d}": 1 for d in dims})
    added.update({f"u|{d}": 1 for d in new_today})
    added.update({f"n|{d}": 1 for d in new_ever})
    if assigned:
        added.update({f"a|{d}": 1 for d in dims})
    if fallback:
        added.update({f"f|{d}": 1 for d in dims})
    return added


def days_between(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def report_rows(code: LiveCode, days: list[str], stored: Mapping[str, Mapping[str, int]]) -> list[Row]:
    """One row per day and dimension with any activity (the code's own row every day, zeros
    included, so charts have no gaps); ordered by day, then code, channels, options, targets."""
    rows = []
    for day in days:
        counters = stored.get(day, {})
        dims = {name.split("|", 1)[1] for name in counters} | {CODE}
        for dim in sorted(dims, key=_dimension_order):
            values = {metric: counters.get(f"{short}|{dim}", 0) for metric, short in _STORED.items()}
            values["other_browsers"] = values["views"] - values["wechat"]
            kind, _, key = dim.partition(":")
            rows.append(
                {
                    "date": day,
                    "dimension": _DIMENSION.get(kind, kind),
                    "key": key or code.id,
                    "name": dimension_name(code, dim),
                    **{metric: values[metric] for metric in METRICS},
                }
            )
    return rows


def totals(rows: Iterable[Row]) -> list[Row]:
    """Per dimension over the whole range: the metrics that add up across days."""
    summed: dict[tuple[str, str], Row] = {}
    for row in rows:
        total = summed.setdefault(
            (row["dimension"], row["key"]),
            {"dimension": row["dimension"], "key": row["key"], "name": row["name"], **dict.fromkeys(SUMMABLE, 0)},
        )
        for metric in SUMMABLE:
            total[metric] += row[metric]
    return list(summed.values())


def dimension_name(code: LiveCode, dim: str) -> str:
    kind, _, key = dim.partition(":")
    if kind == CODE:
        return code.name
    if dim == DIRECT:
        return "直接访问 (no channel)"
    if kind == "ch":
        channel = code.channel(key)
        return channel.name if channel else key
    if kind == "o":
        option = code.option(key)
        return option.label if option else key
    target = code.target(key)
    return (target.staff_name or target.id) if target else key


def to_csv(rows: Iterable[Row]) -> str:
    """Rows as CSV with a byte-order mark, so Excel opens Chinese names correctly."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**{column: row[column] for column in COLUMNS}, "name": _text_cell(row["name"])})
    return out.getvalue()


def _text_cell(value: str) -> str:
    """An operator-typed name a spreadsheet would run as a formula (=, +, -, @) is kept as text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _dimension_order(dim: str) -> tuple[int, str]:
    return ({"code": 0, "ch": 1, "o": 2, "t": 3}.get(dim.partition(":")[0], 4), dim)
