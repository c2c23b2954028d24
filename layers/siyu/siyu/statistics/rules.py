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

The funnel after the scan, from WeCom's callbacks (counted on the code's local day of the
event): ``added`` new contacts through the code's contact ways; ``joined`` new members of its
customer groups through its join ways; ``left`` members who left (on the day they left);
``deleted`` contacts who deleted the guide or were deleted (on that day); and, not shown as a
column, ``left_within_7d``: on the JOIN day's row, members who joined that day and left within
7 days (the join day and the 6 local days after it). From them each row derives ``stayed_7d``
(joined - left_within_7d, once the cohort is complete) and three rates; see ``report_rows``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from siyu.live_codes.assignment import local_day
from siyu.live_codes.model import LiveCode

CODE = "code"
DIRECT = "ch:-"
_STORED = {"views": "v", "unique_visitors": "u", "new_visitors": "n", "wechat": "w", "assigned": "a", "fallback": "f"}
# What WeCom's callbacks count (metric -> stored name); left_within_7d is never a column.
_FUNNEL_STORED = {"added": "ad", "joined": "j", "left": "l", "deleted": "d", "left_within_7d": "l7"}
FUNNEL_METRICS = tuple(_FUNNEL_STORED)
STAY_DAYS = 7  # a cohort: the join day and the 6 local days after it
SCAN_METRICS = ("views", "unique_visitors", "new_visitors", "wechat", "other_browsers", "assigned", "fallback")
FUNNEL = ("added", "joined", "left", "deleted", "stayed_7d")
RATES = ("add_rate", "join_rate", "retention_7d")
METRICS = (*SCAN_METRICS, *FUNNEL, *RATES)  # a row's columns after its date and dimension
SUMMABLE = (*(m for m in SCAN_METRICS if m != "unique_visitors"), "added", "joined", "left", "deleted")
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


def funnel_dims(channel_id: str | None, target_id: str | None, option_id: str | None) -> list[str]:
    """The dimensions a WeCom event counts in: the code, its channel (``ch:-`` when none), the
    option whose pool the target is in (grouped codes), and the target."""
    dims = [CODE, channel_dim(channel_id)]
    if option_id:
        dims.append(f"o:{option_id}")
    if target_id:
        dims.append(f"t:{target_id}")
    return dims


def funnel_increments(metric: str, dims: Iterable[str]) -> dict[str, int]:
    """What one WeCom event adds (stored names) to the row of its day: `metric` is one of
    FUNNEL_METRICS. ``left_within_7d`` goes on the join day's row (see ``leave_increments``)."""
    short = _FUNNEL_STORED.get(metric)
    if short is None:
        raise ValueError(f"no funnel metric {metric!r}; one of {', '.join(FUNNEL_METRICS)}")
    return {f"{short}|{d}": 1 for d in dims}


def left_within_7d(join_day: str, leave_day: str) -> bool:
    """Did a member who joined on `join_day` leave within the cohort's 7 days (local days)?"""
    return 0 <= (date.fromisoformat(leave_day) - date.fromisoformat(join_day)).days < STAY_DAYS


def leave_increments(
    code: LiveCode, dims: Iterable[str], left_at: datetime, joined_at: datetime | None
) -> dict[str, dict[str, int]]:
    """Day -> what a member leaving a group adds: ``left`` on the leave day and, when the join
    time is known and the leave falls within its 7 days, ``left_within_7d`` on the join day."""
    dims = list(dims)
    leave_day = local_day(code, left_at)
    added = {leave_day: funnel_increments("left", dims)}
    if joined_at is not None:
        join_day = local_day(code, joined_at)
        if left_within_7d(join_day, leave_day):
            added.setdefault(join_day, {}).update(funnel_increments("left_within_7d", dims))
    return added


def days_between(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def report_rows(code: LiveCode, days: list[str], stored: Mapping[str, Mapping[str, int]], today: str) -> list[Row]:
    """One row per day and dimension with any activity (the code's own row every day, zeros
    included, so charts have no gaps); ordered by day, then code, channels, options, targets.

    `today` is the code's local day now (``local_day``). A row's ``stayed_7d`` is joined -
    left_within_7d (never below 0: a join the callbacks missed) once its day is at least 7 days
    before today, so every member's 7 days are over; until then it is None (the cohort is not
    complete). Rates, each None when its denominator is 0 or None, else rounded to 4 decimals:
    ``add_rate`` added / unique_visitors, ``join_rate`` joined / unique_visitors (入群率),
    ``retention_7d`` stayed_7d / joined. They are ratios, not capped at 1: people can add or
    join through a shared QR without opening the page. Every figure is a stored counter or
    derived from stored counters, never an estimate."""
    complete_until = date.fromisoformat(today) - timedelta(days=STAY_DAYS)
    rows = []
    for day in days:
        counters = stored.get(day, {})
        dims = {name.split("|", 1)[1] for name in counters} | {CODE}
        complete = date.fromisoformat(day) <= complete_until
        for dim in sorted(dims, key=_dimension_order):
            values: dict[str, Any] = {metric: counters.get(f"{short}|{dim}", 0) for metric, short in _STORED.items()}
            values.update({metric: counters.get(f"{short}|{dim}", 0) for metric, short in _FUNNEL_STORED.items()})
            values["other_browsers"] = values["views"] - values["wechat"]
            values["stayed_7d"] = max(values["joined"] - values["left_within_7d"], 0) if complete else None
            values.update(_rates(values, values["unique_visitors"]))
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
    """Per dimension over the whole range: the metrics that add up across days, and the rates
    recomputed from those sums.

    Daily unique visitors do not add up, so over a range ``add_rate`` and ``join_rate`` divide
    by ``new_visitors`` (people whose first visit ever, in that dimension, fell in the range);
    someone who first came before the range and added in it is not in the denominator, so a
    range rate can run higher than the daily ones. ``stayed_7d`` is the sum of the days' values
    while every day of the range with a row for the dimension is complete, else None (so
    ``retention_7d`` never mixes finished and unfinished cohorts)."""
    summed: dict[tuple[str, str], Row] = {}
    for row in rows:
        total = summed.setdefault(
            (row["dimension"], row["key"]),
            {
                "dimension": row["dimension"],
                "key": row["key"],
                "name": row["name"],
                **dict.fromkeys(SUMMABLE, 0),
                "stayed_7d": 0,
            },
        )
        for metric in SUMMABLE:
            total[metric] += row[metric]
        stayed = row["stayed_7d"]
        total["stayed_7d"] = None if stayed is None or total["stayed_7d"] is None else total["stayed_7d"] + stayed
    for total in summed.values():
        total.update(_rates(total, total["new_visitors"]))
    return list(summed.values())


def _rates(values: Mapping[str, Any], visitors: int) -> dict[str, float | None]:
    return {
        "add_rate": _ratio(values["added"], visitors),
        "join_rate": _ratio(values["joined"], visitors),
        "retention_7d": _ratio(values["stayed_7d"], values["joined"]),
    }


def _ratio(part: int | None, whole: int | None) -> float | None:
    return None if part is None or not whole else round(part / whole, 4)


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
