"""The pages a counted scan ends on: the target's QR (with the line that fits its pool, the
campaign link of a referral, a WeCom way's own QR and link) or the fallback."""

from __future__ import annotations

from typing import Any

from siyu.campaigns.referrals import campaign_href
from siyu.live_codes import landing_page
from siyu.live_codes.model import GROUPED, LiveCode, Pool, Target, uses_threshold, way_for

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
    way = way_for(target, channel_id)  # a WeCom-backed target: the way of the channel scanned
    if way is None:
        return landing_page.target_page(code.title, guidance, target.qr_png, in_wechat, target.staff_name, href)
    link = (way.url, landing_page.TAP_TO_JOIN if target.wecom_chat_ids else landing_page.TAP_TO_ADD)
    return landing_page.target_page(code.title, guidance, way.qr_png, in_wechat, target.staff_name, href, link)


def fallback_page(code: LiveCode, in_wechat: bool) -> dict[str, Any]:
    backup = code.backup_qr.qr_png if code.backup_qr else None
    return landing_page.fallback_page(code.title, code.fallback_text, backup, in_wechat)
