"""What the rotation job watches on a live code: runway, alert conditions, when to look again.

Pure functions, no AWS. An alert condition has a stable key; the job raises it once when it
appears, resolves it once when the operator fixes it, and closes it silently when it simply
ran its course (a target that was "expiring soon" has now expired: the switch and fallback
conditions take over from there).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from siyu.live_codes.model import ARCHIVED, LiveCode, candidate_targets, fills_up, is_usable, pick_target
from siyu.wecom.records import GROUP_FILLING_AT, JOIN_GROUP_CAP, GroupFact

RECHECK_FLOOR = timedelta(minutes=5)
RECHECK_CEILING = timedelta(hours=6)
RECHECK_WHILE_ALERTING = timedelta(minutes=15)
# An open runway alert resolves only with a quarter more runway than raised it: no flapping.
RUNWAY_RESOLVE_MARGIN = 1.25
# A group WeCom made by itself for a join way is reported, and the report closes silently a day later
# (there is no acknowledging an alert: it is news, not a fault anyone fixes).
GROUP_CREATED_FOR = timedelta(days=1)


@dataclass(frozen=True)
class WatchSettings:
    expiry_warning_hours: tuple[int, ...] = (48, 24)
    runway_alert_hours: float = 24


@dataclass(frozen=True)
class Runway:
    """How long the code can go on before it falls back, as far as we can tell."""

    usable_targets: int  # enabled, unexpired, under the threshold
    scans_left: int  # room left under the threshold across them
    hours_until_last_expiry: float | None  # None when a usable target never expires (a WeCom way)
    scans_per_hour: float | None
    hours: float | None  # the smaller of the limits; None when there is no usable target or no limit

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 1) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Condition:
    key: str  # stable identity, e.g. expiring_24h:<target_id>
    kind: str  # expiring | runway_low | on_fallback | group_filling | group_full | group_created
    severity: str  # warning | critical
    message: str
    target_id: str | None = None


def runway(code: LiveCode, scans: Mapping[str, int], now: datetime, scans_per_hour: float | None) -> Runway:
    live = candidate_targets(code, scans, now)
    if not live:
        return Runway(0, 0, None, scans_per_hour, None)
    filling = [t for t in live if fills_up(code, t)]
    left = sum(code.switch_threshold - scans.get(t.id, 0) for t in filling)
    # WeCom ways are stored with a far-away expiry: they never expire, and neither does a pool with one.
    until_expiry = (
        None if any(t.is_wecom_way for t in live) else max((t.expires_at - now).total_seconds() for t in live) / 3600
    )
    limits = [until_expiry] if until_expiry is not None else []
    if scans_per_hour and len(filling) == len(live):  # staff contacts and join ways never fill up
        limits.append(left / scans_per_hour)
    return Runway(len(live), left, until_expiry, scans_per_hour, min(limits) if limits else None)


def conditions(
    code: LiveCode,
    scans: Mapping[str, int],
    now: datetime,
    settings: WatchSettings,
    scans_per_hour: float | None,
    already_open: Collection[str] = (),
    groups: Sequence[GroupFact] = (),
) -> dict[str, Condition]:
    """Every alert condition that holds for `code` right now, by key (`groups`: the customer
    groups its join ways sent customers into, as the WeCom worker last saw them)."""
    if code.status == ARCHIVED:
        return {}
    found: dict[str, Condition] = {}
    for target in code.targets:
        if not is_usable(target, now):
            continue
        left = target.expires_at - now
        for hours in settings.expiry_warning_hours:
            if left <= timedelta(hours=hours):
                key = f"expiring_{hours}h:{target.id}"
                found[key] = Condition(
                    key,
                    "expiring",
                    "critical" if hours <= 24 else "warning",
                    f"群二维码 {target.id} 将在 {_hours(left)} 后过期"
                    f"（{target.expires_at:%m-%d %H:%M} UTC），请上传新的群二维码。",
                    target.id,
                )
    found.update(group_conditions(code, groups, now))
    span = runway(code, scans, now, scans_per_hour)
    # A new code nobody has scanned yet is not on fallback for anyone until it is printed and scanned.
    in_use = bool(code.targets) or any(scans.values())
    if span.usable_targets == 0 and in_use:
        found["on_fallback"] = Condition(
            "on_fallback",
            "on_fallback",
            "critical",
            "没有可用的群二维码：扫码用户正在看到兜底文案。请立即上传新的群二维码。",
        )
    elif (
        span.usable_targets
        and span.hours is not None
        and span.hours < settings.runway_alert_hours * (RUNWAY_RESOLVE_MARGIN if "runway_low" in already_open else 1)
    ):
        found["runway_low"] = Condition(
            "runway_low",
            "runway_low",
            "warning",
            f"可用群二维码预计只够 {span.hours:.1f} 小时"
            f"（剩余 {span.usable_targets} 个群、{span.scans_left} 次扫码名额），请补充。",
        )
    return found


def group_conditions(code: LiveCode, groups: Sequence[GroupFact], now: datetime) -> dict[str, Condition]:
    """Customer groups of the code's usable join ways that are filling up, full, or new."""
    found: dict[str, Condition] = {}
    for group in groups:
        target = code.target(group.target_id)
        if target is None or not target.wecom_chat_ids or not is_usable(target, now) or group.dismissed:
            continue
        name, size, chat = group.name or group.chat_id, group.member_count, group.chat_id
        if size >= GROUP_FILLING_AT:
            then = "满员后企业微信会自动新建群" if target.auto_create_room else "请为活码添加新的客户群"
            found[f"group_filling:{chat}"] = Condition(
                f"group_filling:{chat}",
                "group_filling",
                "warning",
                f"客户群 {name} 已有 {size}/{JOIN_GROUP_CAP} 人；{then}。",
                target.id,
            )
        if size >= JOIN_GROUP_CAP and not target.auto_create_room:
            found[f"group_full:{chat}"] = Condition(
                f"group_full:{chat}",
                "group_full",
                "critical",
                f"客户群 {name} 已满（{size}/{JOIN_GROUP_CAP} 人），客户无法再扫码入群；请为活码添加新的客户群。",
                target.id,
            )
        if group.auto_created and group.seen_at is not None and now - group.seen_at < GROUP_CREATED_FOR:
            found[f"group_created:{chat}"] = Condition(
                f"group_created:{chat}",
                "group_created",
                "warning",
                f"企业微信已为活码自动新建客户群 {name}，请确认群主与群公告。",
                target.id,
            )
    return found


def lapsed(key: str, code: LiveCode, now: datetime) -> bool:
    """An open condition that stopped holding because it simply ran its course (not fixed): its
    target expired, or a new group's report is a day old."""
    if key.startswith("group_created:"):
        return True
    if not key.startswith("expiring_"):
        return False
    target = code.target(key.split(":", 1)[1])
    return target is not None and target.enabled and target.expires_at <= now


def next_check(code: LiveCode, now: datetime, settings: WatchSettings, span: Runway, alerting: bool) -> datetime:
    """When the job must look at this code again: the next expiry threshold, or sooner when
    the scan rate could bring the runway under the alert line."""
    moments = [now + RECHECK_CEILING]
    for target in code.targets:
        if target.enabled and target.expires_at > now and not target.is_wecom_way:
            moments.append(target.expires_at)
            moments += [target.expires_at - timedelta(hours=h) for h in settings.expiry_warning_hours]
    if alerting:
        moments.append(now + RECHECK_WHILE_ALERTING)
    if span.hours is not None and span.scans_per_hour:
        # Half the time the runway could take to reach the alert line at the current rate.
        margin = (span.hours - settings.runway_alert_hours) / 2
        moments.append(now + timedelta(hours=max(margin, 0)))
    upcoming = min(m for m in moments if m > now) if any(m > now for m in moments) else now
    return max(upcoming, now + RECHECK_FLOOR)


def current_target_id(code: LiveCode, scans: Mapping[str, int], now: datetime) -> str | None:
    target = pick_target(code, scans, now)
    return target.id if target else None


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} 小时" if hours >= 1 else f"{max(delta.total_seconds() / 60, 0):.0f} 分钟"
