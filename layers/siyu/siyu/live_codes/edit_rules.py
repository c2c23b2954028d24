"""The rules an operator's edit of a live code must keep (pure; used by ``admin`` and
``targets_admin``): which strategies suit which kind, which QRs fit which pool, sane expiries,
unique names."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.core.ids import new_id
from siyu.live_codes.assignment import zone
from siyu.live_codes.model import (
    DEFAULT_GUIDANCE,
    DEFAULT_TARGET_LIFETIME,
    GROUP,
    GROUPED,
    IN_ORDER,
    MAX_OPTIONS,
    STAFF,
    STAFF_QR_KINDS,
    Channel,
    LiveCode,
    Option,
    Target,
    WorkingWindow,
    uses_threshold,
)

MAX_WECHAT_GROUP_QR_LIFETIME = timedelta(days=7)
MAX_TARGET_LIFETIME = timedelta(days=3660)  # staff and WeCom QRs do not expire; ten years is "never"

DEFAULT_GUIDANCE_BY_KIND = {
    GROUP: DEFAULT_GUIDANCE,
    STAFF: "长按识别二维码添加好友",
    GROUPED: "请选择最符合您的一项",
}


@dataclass(frozen=True)
class OptionSpec:
    """An option as an operator describes it (the id is made here)."""

    label: str
    description: str = ""
    tag: str | None = None
    strategy: str = IN_ORDER


@dataclass(frozen=True)
class StaffSettings:
    """How a target takes part in assignment; None fields keep what the target has."""

    staff_name: str | None = None
    weight: int | None = None
    daily_cap: int | None = None
    clear_daily_cap: bool = False
    working_hours: tuple[WorkingWindow, ...] | None = None
    backup: bool | None = None
    robot_url: str | None = None  # a group's WeCom robot webhook (SOP pushes)
    clear_robot_url: bool = False


def with_option(code: LiveCode, spec: OptionSpec) -> LiveCode:
    if len(code.options) >= MAX_OPTIONS:
        raise Conflict(f"a grouped code has at most {MAX_OPTIONS} options")
    if any(o.label == spec.label for o in code.options):
        raise Conflict(f"this code already has an option labelled {spec.label!r}")
    check_strategy(GROUPED, spec.strategy)
    option = Option(new_id(6), spec.label, spec.description or "", spec.tag or spec.label, spec.strategy)
    return replace(code, options=code.options + (option,))


def check_strategy(kind: str, strategy: str) -> None:
    if kind == GROUP and strategy != IN_ORDER:
        raise InvalidInput("a group code fills its groups in order; use a staff code for round_robin or weighted")
    if kind == STAFF and strategy == IN_ORDER:
        raise InvalidInput("a staff code shares scanners by round_robin or weighted, not in_order")


def check_pool(code: LiveCode, option: Option) -> None:
    """An option's targets must suit its strategy (staff contacts for round robin / weights)."""
    for target in code.targets:
        if target.option_id == option.id:
            check_target_fits(code, target, option)


def check_target_fits(code: LiveCode, target: Target, option: Option | None = None) -> None:
    """Refuse a target that does not belong in the code: wrong pool, or a group QR offered
    as a staff member."""
    if code.kind == GROUPED:
        option = option or code.option(target.option_id)
        if option is None:
            labels = ", ".join(f"{o.id} ({o.label})" for o in code.options)
            raise InvalidInput(f"a grouped code's target needs option_id, one of: {labels}")
        strategy = option.strategy
    elif target.option_id:
        raise InvalidInput("only grouped codes have options; leave option_id out")
    else:
        strategy = code.strategy
    if not uses_threshold(strategy):
        if target.kind not in STAFF_QR_KINDS:
            raise InvalidInput(
                f"this pool assigns staff, but the uploaded QR is a {target.kind} QR; upload the staff member's "
                "personal WeChat (u.wechat.com) or WeCom (work.weixin.qq.com) contact QR"
            )
        if not target.staff_name:
            raise InvalidInput("staff_name is required for a staff member's QR (scanners see it on the page)")


def with_staff(target: Target, staff: StaffSettings) -> Target:
    given: dict[str, Any] = {
        "staff_name": staff.staff_name,
        "weight": staff.weight,
        "daily_cap": staff.daily_cap,
        "working_hours": staff.working_hours,
        "backup": staff.backup,
        "robot_url": staff.robot_url,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    if staff.clear_daily_cap:
        changes["daily_cap"] = None
    if staff.clear_robot_url:
        changes["robot_url"] = None
    return replace(target, **changes)


def checked_zone(name: str) -> str:
    try:
        zone(name)
    except (ValueError, KeyError, OSError):
        raise InvalidInput(f"unknown time_zone {name[:60]!r}; use an IANA name such as Asia/Shanghai") from None
    return name


def check_channel_name(code: LiveCode, name: str, channel_id: str | None = None) -> None:
    clash = next((c for c in code.channels if c.name == name and c.id != channel_id), None)
    if clash:
        raise Conflict(f"channel {clash.id} is already called {name!r}; pick another name")


def channel_of(code: LiveCode, channel_id: str) -> Channel:
    channel = code.channel(channel_id)
    if channel is None:
        raise NotFound(f"code {code.id} has no channel {channel_id!r}")
    return channel


def option_of(code: LiveCode, option_id: str) -> Option:
    option = code.option(option_id)
    if option is None:
        raise NotFound(f"code {code.id} has no option {option_id!r}")
    return option


def target_of(code: LiveCode, target_id: str) -> Target:
    target = code.target(target_id)
    if target is None:
        raise NotFound(f"code {code.id} has no target {target_id!r}")
    return target


def checked_expiry(expires_at: datetime | None, kind: str, now: datetime) -> datetime:
    if expires_at is None:
        # Contact QRs (personal WeChat, WeCom) do not expire; a group QR lasts 7 days.
        return now + (MAX_TARGET_LIFETIME if kind in STAFF_QR_KINDS else DEFAULT_TARGET_LIFETIME)
    if expires_at <= now:
        raise InvalidInput("expires_at is in the past; give the time the QR stops working, e.g. its 7th day")
    if expires_at > now + MAX_TARGET_LIFETIME:
        raise InvalidInput("expires_at is more than ten years away; leave it out or give a real date")
    if kind == "wechat_group" and expires_at > now + MAX_WECHAT_GROUP_QR_LIFETIME:
        raise InvalidInput(
            "expires_at is more than 7 days away, but a WeChat group QR is valid for 7 days at most; "
            "use the date WeChat shows under the QR"
        )
    return expires_at
