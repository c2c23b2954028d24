"""Customer layering's daily job: WeCom's group activity (``groupchat/statistic``) read for the
owners of the flash groups that are running (yesterday's final figures and today's so far), and
the segments' daily re-check (time-bound rules, counts from their member items)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from siyu.core.clock import utcnow
from siyu.layering.flash import Groups
from siyu.layering.flash_rules import CHINA
from siyu.layering.model import FlashGroup, OwnerActivity
from siyu.layering.segments import Segments

logger = logging.getLogger("siyu.layering")


class ActivityStore(Protocol):
    def page(self, limit: int, cursor: str | None) -> tuple[list[FlashGroup], str | None]: ...

    def save_activity(self, activity: OwnerActivity) -> None: ...


class GroupActivity(Protocol):
    def of_owner(self, owner: str, day: str) -> OwnerActivity: ...


@dataclass
class LayeringJob:
    flashes: ActivityStore
    groups: Groups
    activity: Callable[[], GroupActivity | None]  # None: WeCom is not connected
    segments: Segments
    clock: Callable[[], datetime] = utcnow

    def run(self) -> dict[str, int]:
        report = {"owners": 0, "read": 0, "failed": 0, "segments": 0}
        now = self.clock().astimezone(CHINA)
        today, yesterday = now.date().isoformat(), (now.date() - timedelta(days=1)).isoformat()
        wanted: set[tuple[str, str]] = set()
        cursor: str | None = None
        while True:
            flashes, cursor = self.flashes.page(100, cursor)
            for flash in flashes:
                days = [d for d in (yesterday, today) if flash.first_day <= d <= flash.last_day]
                for chat_id in flash.chat_ids if days else ():
                    chat = self.groups.chat(chat_id)
                    if chat is not None:
                        wanted.update((chat.owner, day) for day in days)
            if cursor is None:
                break
        report["owners"] = len({owner for owner, _ in wanted})
        reader = self.activity() if wanted else None
        for owner, day in sorted(wanted):
            if reader is None:
                break
            try:
                self.flashes.save_activity(reader.of_owner(owner, day))
                report["read"] += 1
            except Exception as error:  # one owner's trouble never stops the others
                report["failed"] += 1
                logger.warning("the group activity of an owner was not read (%s)", type(error).__name__)
        report["segments"] = len(self.segments.recheck())
        return report

    def backfill(self, segment_id: str, cursor: str, later: Callable[[str, str], None], budget: float) -> int:
        """One budget of a new segment's backfill from `cursor`; the rest handed to `later`."""
        joined, left_at = self.segments.backfill(segment_id, cursor, budget=budget)
        if left_at is not None:
            later(segment_id, left_at)
        return joined
