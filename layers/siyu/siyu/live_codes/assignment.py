"""Who a scan is assigned to, and how the counting behind it is spread: pure rules, no AWS.

A pool (a code's targets, or one option's) is shared by a strategy:

- ``in_order``: the first target under the switch threshold (group QRs fill up).
- ``round_robin``: the target with the fewest new contacts today.
- ``weighted``: smooth weighted round robin on today's counts (weight 3 gets three of every four).

On top of either: a target off duty (working hours, in the code's time zone) or at its daily
cap is skipped; backup targets are used only when no regular target is left. Counting on
"today" makes caps and the rotation reset at local midnight without any job running.

Counters are sharded (``shard_count``): each target's count lives in up to ``MAX_SHARDS``
items, each allowed its share of the threshold and cap (``shard_quota``), so thousands of
scans a second on one target never funnel into one DynamoDB item, and a conditional write
on a shard still never lets the target overshoot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from siyu.live_codes.model import IN_ORDER, WEIGHTED, LiveCode, Pool, Target, WorkingWindow, is_usable, takes_threshold

MAX_SHARDS = 16


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day(code: LiveCode, now: datetime) -> str:
    """The code's calendar day at `now` (YYYY-MM-DD, in its time zone): what caps and stats count by."""
    return now.astimezone(zone(code.time_zone)).date().isoformat()


def on_duty(windows: Iterable[WorkingWindow], local_now: datetime) -> bool:
    """Is a target with these working hours on duty at `local_now` (a time in the code's zone)?"""
    windows = tuple(windows)
    if not windows:
        return True
    minute = local_now.hour * 60 + local_now.minute
    today = local_now.isoweekday()
    yesterday = (local_now - timedelta(days=1)).isoweekday()
    for w in windows:
        if w.end > w.start:
            if today in w.weekdays and w.start <= minute < w.end:
                return True
        else:  # runs past midnight: the evening of its weekday and the early hours after
            if (today in w.weekdays and minute >= w.start) or (yesterday in w.weekdays and minute < w.end):
                return True
    return False


@dataclass
class ShardCount:
    total: int = 0  # lifetime (what the switch threshold counts)
    days: dict[str, int] = field(default_factory=dict)  # local day -> count (what caps count)


@dataclass
class Counters:
    """What the counter items say: target id -> shard -> counts. ``fallback`` counts scans
    that found nobody."""

    shards: dict[str, dict[int, ShardCount]] = field(default_factory=dict)

    def total(self, target_id: str) -> int:
        return sum(s.total for s in self.shards.get(target_id, {}).values())

    def on_day(self, target_id: str, day: str) -> int:
        return sum(s.days.get(day, 0) for s in self.shards.get(target_id, {}).values())

    def totals(self) -> dict[str, int]:
        return {target_id: self.total(target_id) for target_id in self.shards}

    def shard(self, target_id: str, shard: int) -> ShardCount:
        return self.shards.setdefault(target_id, {}).setdefault(shard, ShardCount())


@dataclass(frozen=True)
class Limits:
    """The per-shard quotas a conditional counter write checks (None: no limit)."""

    shards: int
    total: int | None  # lifetime threshold of the whole target
    daily: int | None  # daily cap of the whole target

    def total_quota(self, shard: int) -> int | None:
        return None if self.total is None else shard_quota(self.total, self.shards, shard)

    def daily_quota(self, shard: int) -> int | None:
        return None if self.daily is None else shard_quota(self.daily, self.shards, shard)


def shard_count(*limits: int | None) -> int:
    """As many shards as the smallest limit allows (each shard must be allowed at least one)."""
    present = [limit for limit in limits if limit is not None]
    return max(1, min([MAX_SHARDS, *present]))


def shard_quota(limit: int, shards: int, shard: int) -> int:
    """Shard `shard`'s share of `limit`: the shares add up to exactly `limit`."""
    return limit // shards + (1 if shard < limit % shards else 0)


def limits_of(code: LiveCode, pool: Pool, target: Target) -> Limits:
    total = code.switch_threshold if takes_threshold(pool.strategy, target) else None
    return Limits(shard_count(total, target.daily_cap), total, target.daily_cap)


def open_shards(counters: Counters, target_id: str, limits: Limits, day: str) -> list[int]:
    """Shards of a target that, as far as `counters` knows, still have room."""
    free = []
    for k in range(limits.shards):
        known = counters.shards.get(target_id, {}).get(k, ShardCount())
        total_quota, daily_quota = limits.total_quota(k), limits.daily_quota(k)
        if total_quota is not None and known.total >= total_quota:
            continue
        if daily_quota is not None and known.days.get(day, 0) >= daily_quota:
            continue
        free.append(k)
    return free


def available(code: LiveCode, pool: Pool, target: Target, counters: Counters, now: datetime) -> bool:
    """May this target take a new scanner now: usable, on duty, under its cap and threshold?"""
    if not is_usable(target, now) or not on_duty(target.working_hours, now.astimezone(zone(code.time_zone))):
        return False
    day = local_day(code, now)
    if target.daily_cap is not None and counters.on_day(target.id, day) >= target.daily_cap:
        return False
    return not (takes_threshold(pool.strategy, target) and counters.total(target.id) >= code.switch_threshold)


def ranked(code: LiveCode, pool: Pool, counters: Counters, now: datetime) -> list[Target]:
    """The pool's available targets, best first: regular ones by the strategy, then backups."""
    day = local_day(code, now)
    position = {t.id: i for i, t in enumerate(pool.targets)}
    live = [t for t in pool.targets if available(code, pool, t, counters, now)]

    def order(target: Target) -> tuple[float, ...]:
        today = counters.on_day(target.id, day)
        if pool.strategy == IN_ORDER:
            return (position[target.id],)
        if pool.strategy == WEIGHTED:
            return ((today + 1) / max(target.weight, 1), position[target.id])
        return (today, position[target.id])

    regular = sorted((t for t in live if not t.backup), key=order)
    backups = sorted((t for t in live if t.backup), key=order)
    return regular + backups


def is_sticky(code: LiveCode, pool: Pool, target_id: str, assigned_at: datetime, now: datetime) -> Target | None:
    """The target a returning scanner saw before, if they should see it again: still in the
    pool, still usable, and assigned within the code's ``sticky_days``."""
    if code.sticky_days <= 0 or now - assigned_at >= timedelta(days=code.sticky_days):
        return None
    target = next((t for t in pool.targets if t.id == target_id), None)
    return target if target is not None and is_usable(target, now) else None


def stale_days(days: Iterable[str], today: str) -> list[str]:
    """Day counts a shard no longer needs (older than yesterday): removed on its next write."""
    keep = (date.fromisoformat(today) - timedelta(days=1)).isoformat()
    return [d for d in days if d < keep]
