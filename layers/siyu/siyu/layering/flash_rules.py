"""The flash-group metrics (快闪群的四率 and conversion) as pure rules over stored counts: every
figure carries its source, and is None with a reason when its source is missing; none is
estimated.

- 入群率 (join_rate): the code's joined ÷ unique scanners that day (statistics); over a range,
  joined ÷ new scanners (as the code's statistics do). Scanners are counted per code, not per group.
- 活跃率 (activity_rate): WeCom's groupchat/statistic, members who spoke ÷ members, per owner and
  day. WeCom reports per owner only: a figure for a set of groups exists when their owners own no
  other group that day (chat_total equals the owner's groups in the set).
- 学习率 (learning_rate): visitors who opened one of the group's learning links (first open, up to
  that day) ÷ the group's members at the end of that day.
- 兴趣率 (interest_rate): respondents of the sign-up questionnaire who came through the group's
  link (up to that day) ÷ members.
- conversion: distinct buyers attributed to the group (up to that day) ÷ members; orders and
  revenue (fen) are that day's, repurchases are orders from a buyer who had ordered before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from siyu.layering.model import OwnerActivity

CHINA = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Figure:
    value: float | None
    numerator: int | None
    denominator: int | None
    source: str
    reason: str | None = None


def ratio(
    numerator: int | None, denominator: int | None, source: str, missing: str | None = None, zero: str = "no members"
) -> Figure:
    if missing is not None or numerator is None or denominator is None:
        return Figure(None, numerator, denominator, source, missing or "no data")
    if denominator == 0:
        return Figure(None, numerator, 0, source, f"{zero} to divide by")
    return Figure(round(numerator / denominator, 4), numerator, denominator, source)


def day_end(day: str) -> datetime:
    """The first instant after `day` (China time)."""
    start = datetime.combine(datetime.fromisoformat(day).date(), time(), CHINA)
    return start + timedelta(days=1)


def members_at(joins: Sequence[tuple[datetime, datetime | None]], day: str) -> int:
    """Members at the end of `day`: joined before it ended and not left by then."""
    end = day_end(day)
    return sum(1 for joined, left in joins if joined < end and (left is None or left >= end))


def cumulative(per_day: Mapping[str, int], day: str) -> int:
    return sum(value for d, value in per_day.items() if d <= day)


def join_rate(code_id: str | None, counters: Mapping[str, int] | None, over_range: bool) -> Figure:
    source = f"statistics of code {code_id}: joined ÷ {'new' if over_range else 'unique'} scanners"
    if code_id is None:
        return ratio(None, None, "statistics", "the flash group has no code: scanners are counted per code")
    counters = counters or {}
    scanners = counters.get("n|code" if over_range else "u|code", 0)
    zero = "no new scanners in the range" if over_range else "no scanners that day"
    return ratio(counters.get("j|code", 0), scanners, source, zero=zero)


def activity_rate(
    owners_of_chats: Mapping[str, str | None], activity: Mapping[str, OwnerActivity | None], day: str
) -> Figure:
    """活跃率 of a set of groups on `day` from their owners' groupchat/statistic."""
    owners = sorted({o for o in owners_of_chats.values() if o})
    source = f"WeCom groupchat/statistic for owner(s) {', '.join(owners) or '?'} on {day}"
    if not owners or None in owners_of_chats.values():
        return ratio(None, None, source, "a group's owner is not known yet (the group was not read from WeCom)")
    spoke = total = 0
    for owner in owners:
        read = activity.get(owner)
        if read is None:
            return ratio(None, None, source, f"WeCom's statistic of owner {owner} for {day} has not been read")
        mine = sum(1 for o in owners_of_chats.values() if o == owner)
        if read.chat_total != mine:
            reason = (
                f"owner {owner} had {read.chat_total} groups that day and WeCom counts activity per owner: "
                f"the figure would include groups outside this set"
            )
            return ratio(None, None, source, reason)
        spoke += read.member_has_msg
        total += read.member_total
    return ratio(spoke, total, source + " (WeCom's member_total counts the owner and staff too)")
