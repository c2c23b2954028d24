"""Flash groups (快闪群) and their metrics: the operator's use cases (create, report as rows per
day and scope, CSV) over what is stored. The figures' rules are in ``flash_rules.py``."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from siyu.core.clock import utcnow
from siyu.core.errors import InvalidInput, NotFound
from siyu.core.ids import new_id
from siyu.layering.flash_rules import (
    CHINA,
    Figure,
    activity_rate,
    cumulative,
    join_rate,
    members_at,
    ratio,
)
from siyu.layering.model import FlashGroup, OwnerActivity
from siyu.wecom.records import Chat, Member

MAX_DAYS = 92
RATES = ("join_rate", "activity_rate", "learning_rate", "interest_rate", "conversion")
COUNTS = ("members", "orders", "revenue_fen", "repurchases")


class FlashStore(Protocol):
    def create(self, flash: FlashGroup) -> None: ...

    def get(self, flash_id: str) -> FlashGroup | None: ...

    def page(self, limit: int, cursor: str | None) -> tuple[list[FlashGroup], str | None]: ...

    def activity(self, owner: str, first: str, last: str) -> dict[str, OwnerActivity]: ...

    def signups(self, chat_id: str, first: str, last: str) -> dict[str, int]: ...

    def orders(self, chat_id: str | None, first: str, last: str) -> dict[str, dict[str, int]]: ...


class Openers(Protocol):
    def learning_openers(self, group: str, first: str, last: str) -> dict[str, int]: ...


class Scans(Protocol):
    def read(self, code_id: str, first_day: str, last_day: str) -> Mapping[str, Mapping[str, int]]: ...


class Groups(Protocol):
    def chat(self, chat_id: str) -> Chat | None: ...

    def members(self, chat_id: str, include_gone: bool = False) -> list[Member]: ...


@dataclass(frozen=True)
class FlashReport:
    flash: FlashGroup
    first_day: str
    last_day: str
    rows: list[dict[str, Any]]  # date (None: the whole range), scope, key, the counts and the figures


@dataclass
class FlashMetrics:
    flashes: FlashStore
    openers: Openers
    scans: Scans
    groups: Groups
    clock: Callable[[], datetime] = utcnow

    def create(
        self,
        name: str,
        chat_ids: list[str],
        first_day: date,
        last_day: date,
        code_id: str | None = None,
        signup_questionnaire_id: str | None = None,
    ) -> FlashGroup:
        if first_day > last_day:
            raise InvalidInput(f"first_day ({first_day}) is after last_day ({last_day}); swap them")
        if (last_day - first_day).days >= MAX_DAYS:
            raise InvalidInput(f"a flash group runs at most {MAX_DAYS} days")
        if len(set(chat_ids)) != len(chat_ids):
            raise InvalidInput("chat_ids: a group is listed twice")
        flash = FlashGroup(
            id=new_id(),
            name=name,
            chat_ids=tuple(chat_ids),
            first_day=first_day.isoformat(),
            last_day=last_day.isoformat(),
            created_at=self.clock(),
            code_id=code_id,
            signup_questionnaire_id=signup_questionnaire_id,
        )
        self.flashes.create(flash)
        return flash

    def get(self, flash_id: str) -> FlashGroup:
        flash = self.flashes.get(flash_id)
        if flash is None:
            raise NotFound(f"no flash group {flash_id[:40]!r}")
        return flash

    def report(self, flash_id: str) -> FlashReport:
        """Rows per day of the flash group's range (up to today) for the whole flash group and each
        of its groups, then one row per scope for the range."""
        flash = self.get(flash_id)
        today = self.clock().astimezone(CHINA).date().isoformat()
        last = min(flash.last_day, today) if flash.first_day <= today else flash.first_day
        first = flash.first_day
        days = _days(first, last)
        stats = self.scans.read(flash.code_id, first, last) if flash.code_id else {}
        chats = {chat_id: self.groups.chat(chat_id) for chat_id in flash.chat_ids}
        owners = {chat_id: chat.owner if chat else None for chat_id, chat in chats.items()}
        activity = {o: self.flashes.activity(o, first, last) for o in sorted({o for o in owners.values() if o})}
        per_group = {chat_id: self._group_facts(chat_id, first, last) for chat_id in flash.chat_ids}
        range_stats = _sum(stats.values())
        rows: list[dict[str, Any]] = []
        for scope_key, chat_ids in [("flash", list(flash.chat_ids)), *((f"group:{c}", [c]) for c in flash.chat_ids)]:
            scope, _, key = scope_key.partition(":")
            for day in [*days, None]:
                on = day or last
                members = sum(members_at(per_group[c]["joins"], on) for c in chat_ids)
                row: dict[str, Any] = {"date": day, "scope": scope, "key": key or flash.id, "members": members}
                if scope == "flash":
                    row["join_rate"] = join_rate(flash.code_id, stats.get(day) if day else range_stats, day is None)
                else:
                    row["join_rate"] = ratio(None, None, "statistics", "scanners are counted per code, not per group")
                if day is None:
                    reason = "WeCom reports the members who spoke per day: read a day's row"
                    row["activity_rate"] = ratio(None, None, "WeCom groupchat/statistic", reason)
                else:
                    read = {o: activity[o].get(day) for o in activity}
                    row["activity_rate"] = activity_rate({c: owners[c] for c in chat_ids}, read, day)
                opened = sum(cumulative(per_group[c]["openers"], on) for c in chat_ids)
                row["learning_rate"] = ratio(opened, members, "tracked learning links: first opens by visitors")
                if flash.signup_questionnaire_id:
                    signed = sum(cumulative(per_group[c]["signups"], on) for c in chat_ids)
                    source = f"sign-up questionnaire {flash.signup_questionnaire_id}: respondents from the group's link"
                    row["interest_rate"] = ratio(signed, members, source)
                else:
                    row["interest_rate"] = ratio(None, None, "sign-up questionnaire", "no sign-up questionnaire set")
                buyers = sum(
                    cumulative({d: o["buyers"] for d, o in per_group[c]["orders"].items()}, on) for c in chat_ids
                )
                row["conversion"] = ratio(buyers, members, "the order webhook: distinct buyers in the group")
                for name in ("orders", "revenue_fen", "repurchases"):
                    row[name] = sum(
                        v.get(name, 0)
                        for c in chat_ids
                        for d, v in per_group[c]["orders"].items()
                        if d == day or (day is None and first <= d <= last)
                    )
                rows.append(row)
        return FlashReport(flash, first, last, rows)

    def _group_facts(self, chat_id: str, first: str, last: str) -> dict[str, Any]:
        joins = [(m.joined_at, m.left_at) for m in self.groups.members(chat_id, include_gone=True)]
        return {
            "joins": joins,
            "openers": self.openers.learning_openers(chat_id, "2000-01-01", last),
            "signups": self.flashes.signups(chat_id, "2000-01-01", last),
            "orders": self.flashes.orders(chat_id, "2000-01-01", last),
        }


def _days(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def _sum(days: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for counters in days:
        for name, value in counters.items():
            total[name] = total.get(name, 0) + value
    return total


def report_csv(report: FlashReport) -> str:
    """One line per row: date (empty: the range), scope, key, the counts, then each rate and, when
    it is empty, why."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["date", "scope", "key", *COUNTS, *(c for r in RATES for c in (r, f"{r}_note"))])
    for row in report.rows:
        cells: list[Any] = [row["date"] or "", row["scope"], row["key"], *(row[c] for c in COUNTS)]
        for name in RATES:
            figure: Figure = row[name]
            cells += ["" if figure.value is None else figure.value, figure.reason or ""]
        writer.writerow(cells)
    return buffer.getvalue()
