"""The pages a scan ends on: the target's QR (with the line that fits its pool, the campaign link
of a referral, a WeCom way's own QR and link) or the fallback; and the last good page of a visit
that writes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from siyu.campaigns.referrals import campaign_href
from siyu.live_codes import landing_page
from siyu.live_codes.assignment import Counters, ranked
from siyu.live_codes.model import ARCHIVED, GROUPED, LiveCode, Pool, Target, pool_of, uses_threshold, way_for

if TYPE_CHECKING:  # interfaces only
    from siyu.live_codes.scan import Visit

JOIN_GROUP = "长按识别二维码加入群聊"
ADD_STAFF = "长按识别二维码添加好友"


def target_page(
    code: LiveCode,
    pool: Pool,
    target: Target,
    in_wechat: bool,
    referral: str | None = None,
    channel_id: str | None = None,
) -> dict[str, Any]:
    guidance = code.guidance
    joins = uses_threshold(pool.strategy)
    if code.kind == GROUPED:  # the code's guidance is its question; the QR's line depends on the pool
        guidance = JOIN_GROUP if joins else ADD_STAFF
    href = campaign_href(referral)
    staff = None if joins else target.staff_name  # "您的专属顾问" is a person's line, never a group's
    way = way_for(target, channel_id)  # a WeCom-backed target: the way of the channel scanned
    if way is None:
        return landing_page.target_page(code.title, guidance, target.qr_png, in_wechat, staff, href)
    link = (way.url, landing_page.TAP_TO_JOIN if target.wecom_chat_ids else landing_page.TAP_TO_ADD)
    return landing_page.target_page(code.title, guidance, way.qr_png, in_wechat, staff, href, link)


def fallback_page(code: LiveCode, in_wechat: bool) -> dict[str, Any]:
    backup = code.backup_qr.qr_png if code.backup_qr else None
    return landing_page.fallback_page(code.title, code.fallback_text, backup, in_wechat)


def last_good_page(
    code: LiveCode,
    counters: Counters,
    last_served: Mapping[str, Target],
    visit: Visit,
    channel_id: str | None,
    now: datetime,
) -> tuple[str, dict[str, Any], str | None]:
    """(outcome, page, target id) of a visit that writes nothing (a bot, a client over its limit,
    storage down): the ended page, the choices, the last target this container served if it is
    still live, else the best cached pick, else the fallback."""
    if code.status == ARCHIVED:
        return "ended", landing_page.ended_page(code.title), None
    option = code.option(visit.option_id) if code.kind == GROUPED else None  # a segment route is no pick
    if code.kind == GROUPED and option is None:
        choices = [(f"?{urlencode({'o': o.id})}", o.label, o.description) for o in code.options]
        return "choices", landing_page.choices_page(code.title, code.guidance, choices, visit.in_wechat), None
    pool = pool_of(code, option)
    live = ranked(code, pool, counters, now)
    target = last_served.get(pool.key)
    if target is None or target not in live:
        target = next(iter(live), None)
    if target is None:
        return "fallback", fallback_page(code, visit.in_wechat), None
    return "target", target_page(code, pool, target, visit.in_wechat, visit.referral, channel_id), target.id
