"""Reading a code's statistics (scans and the WeCom funnel after them) for operators (the admin API's logic)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from siyu.core.clock import utcnow
from siyu.core.errors import InvalidInput
from siyu.live_codes.admin import CodeAdmin
from siyu.live_codes.assignment import local_day
from siyu.live_codes.model import LiveCode
from siyu.statistics import rules as scan_stats
from siyu.statistics.repository import StatsTable
from siyu.statistics.rules import Row

DEFAULT_DAYS = 7


@dataclass(frozen=True)
class StatsReport:
    code: LiveCode
    first_day: str
    last_day: str
    rows: list[Row]

    def totals(self) -> list[Row]:
        return scan_stats.totals(self.rows)


@dataclass
class StatsAdmin:
    codes: CodeAdmin
    stats: StatsTable
    clock: Callable[[], datetime] = utcnow

    def report(self, code_id: str, first: str | None, last: str | None) -> StatsReport:
        """Daily rows for `first`..`last` (YYYY-MM-DD, inclusive, in the code's time zone);
        by default the last 7 days up to today."""
        code, _ = self.codes.get_code(code_id)
        today = local_day(code, self.clock())
        last_day = _day(last, "to") if last else date.fromisoformat(today)
        first_day = _day(first, "from") if first else last_day - timedelta(days=DEFAULT_DAYS - 1)
        if first_day > last_day:
            raise InvalidInput(f"from ({first_day}) is after to ({last_day}); swap them")
        if (last_day - first_day).days >= scan_stats.MAX_DAYS:
            raise InvalidInput(f"at most {scan_stats.MAX_DAYS} days at a time; ask for a shorter range")
        days = scan_stats.days_between(first_day, last_day)
        stored = self.stats.read(code.id, days[0], days[-1])
        return StatsReport(code, days[0], days[-1], scan_stats.report_rows(code, days, stored, today))


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a date like 2026-11-25, not {text[:40]!r}") from None
