"""The rules an operator's edit of a live code must keep (pure; used by ``admin`` and
``targets_admin``): which strategies suit which kind, which QRs fit which pool, sane expiries,
unique names."""

from __future__ import annotations

import re
from collections.abc import Sequence
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
    MAX_TAG_LENGTH,
    MAX_TAGS,
    MAX_WAY_CHAT_IDS,
    MAX_WAYS_PER_CODE,
    MAX_WELCOME_TEXT,
    STAFF,
    STAFF_QR_KINDS,
    Channel,
    LiveCode,
    Option,
    Target,
    Welcome,
    WorkingWindow,
    uses_threshold,
    ways_needed,
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


def with_segment_route(code: LiveCode, segment_id: str, label: str) -> LiveCode:
    """A precise-group route (精准群): scanners in the segment get the route's own pool (targets
    added with its id as option_id); everyone else the code's main pool."""
    if code.kind == GROUPED:
        raise Conflict("a grouped code's scanners pick their pool; segment routes are for group and staff codes")
    if len(code.options) >= MAX_OPTIONS:
        raise Conflict(f"a code has at most {MAX_OPTIONS} segment routes")
    if any(o.segment_id == segment_id for o in code.options):
        raise Conflict(f"this code already routes segment {segment_id!r}")
    route = Option(new_id(6), label, "", label[:MAX_TAG_LENGTH], code.strategy, segment_id)
    return replace(code, options=code.options + (route,))


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
        route = option or code.option(target.option_id)
        if route is None or not route.segment_id:
            raise InvalidInput("only grouped codes have options (and group codes their segment routes); fix option_id")
        strategy = code.strategy
    else:
        strategy = code.strategy
    if target.wecom_user is not None and uses_threshold(strategy):
        raise InvalidInput(
            "this pool fills groups in order, but wecom_user makes a staff contact way; give wecom_chat_ids "
            "(a join way over the groups) instead, or add the member to a staff code or a round_robin option"
        )
    if target.wecom_chat_ids and not uses_threshold(strategy):
        raise InvalidInput(
            "this pool assigns staff, but wecom_chat_ids makes a group join way; give wecom_user (the member's "
            "WeCom userid) instead, or add the groups to a group code or an in_order option"
        )
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


# -- WeCom ways ---------------------------------------------------------------------------

WECOM_USER_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
WECOM_CHAT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class WaySpec:
    """A WeCom-backed target as an operator asks for it: `wecom_user` (a contact way) or
    `chat_ids` (a join way), never both."""

    wecom_user: str | None = None
    chat_ids: tuple[str, ...] = ()
    skip_verify: bool = True
    auto_create_room: bool = True
    room_base_name: str = ""


def checked_way_spec(spec: WaySpec) -> WaySpec:
    if (spec.wecom_user is None) == (not spec.chat_ids):
        raise InvalidInput("give either wecom_user (a contact way) or wecom_chat_ids (a join way), not both")
    if spec.wecom_user is not None and not WECOM_USER_ID.match(spec.wecom_user):
        raise InvalidInput(
            f"wecom_user {spec.wecom_user[:70]!r} is not a WeCom userid (1 to 64 letters, digits or _-.@); "
            "copy it from the member's page in the WeCom admin console"
        )
    if spec.chat_ids:
        if len(spec.chat_ids) > MAX_WAY_CHAT_IDS:
            raise InvalidInput(f"a join way covers at most {MAX_WAY_CHAT_IDS} customer groups; give fewer chat ids")
        bad = [c for c in spec.chat_ids if not WECOM_CHAT_ID.match(c)]
        if bad:
            raise InvalidInput(
                f"{bad[0][:70]!r} is not a WeCom customer group chat id (1 to 64 letters, digits, _ or -)"
            )
        if len(set(spec.chat_ids)) < len(spec.chat_ids):
            raise InvalidInput("wecom_chat_ids lists a group twice; give each chat id once")
    if len(spec.room_base_name) > 40:
        raise InvalidInput("room_base_name is at most 40 characters")
    return spec


def check_way_room(code: LiveCode, wecom_targets: int, channels: int) -> None:
    """Refuse an edit that would take the code over ``MAX_WAYS_PER_CODE`` WeCom ways."""
    needed = ways_needed(code, wecom_targets, channels)
    if needed > MAX_WAYS_PER_CODE:
        raise Conflict(
            f"this would make {needed} WeCom ways ({wecom_targets} WeCom targets × {channels} channels + direct "
            f"scans), and a code holds at most {MAX_WAYS_PER_CODE}; delete WeCom targets or channels, or use "
            "another code for more"
        )


# -- tags and welcome messages ----------------------------------------------------------------


def checked_tags(tags: Sequence[str]) -> tuple[str, ...]:
    names = tuple(t.strip() for t in tags)
    if len(names) > MAX_TAGS:
        raise InvalidInput(f"tags: at most {MAX_TAGS} per code or channel; {len(names)} given")
    for name in names:
        if not 1 <= len(name) <= MAX_TAG_LENGTH:
            raise InvalidInput(f"tags: each name is 1 to {MAX_TAG_LENGTH} characters; {name[:40]!r} is not")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidInput("tags: give each name once; repeated: " + ", ".join(repeated))
    return names


def checked_welcome(welcome: Welcome) -> Welcome:
    text = welcome.text.strip()
    if not 1 <= len(text) <= MAX_WELCOME_TEXT:
        raise InvalidInput(f"welcome.text is 1 to {MAX_WELCOME_TEXT} characters; it has {len(text)}")
    urls = {"welcome.image_url": welcome.image_url}
    if welcome.link:
        if not welcome.link.title.strip():
            raise InvalidInput("welcome.link.title is required: the card's headline")
        urls |= {"welcome.link.url": welcome.link.url, "welcome.link.picurl": welcome.link.picurl}
    if welcome.miniprogram:
        mini = welcome.miniprogram
        for name, value in (("title", mini.title), ("appid", mini.appid), ("page", mini.page)):
            if not value.strip():
                raise InvalidInput(f"welcome.miniprogram.{name} is required")
        urls["welcome.miniprogram.pic_url"] = mini.pic_url
    for name, url in urls.items():
        if url is not None and not _https(url):
            raise InvalidInput(f"{name} must be an https:// URL; {url[:80]!r} is not")
    return replace(welcome, text=text)


def _https(url: str) -> bool:
    return (
        url.startswith("https://")
        and len(url) > len("https://")
        and len(url) <= 2000
        and not any(c.isspace() for c in url)
    )
