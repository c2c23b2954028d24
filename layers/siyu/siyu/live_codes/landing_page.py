"""The public landing page a scanner sees, as an API Gateway (HTTP API v2) response.

Plain HTML with inline CSS and the QR inlined as a PNG data URI: one round trip on a weak
network, and a raster <img> that WeChat's long-press recognition can read.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from siyu.web.html import page as _page


def _qr(png: bytes, alt: str) -> str:
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return f'<img class="qr" src="{src}" alt="{escape(alt)}">'


OPEN_IN_WECHAT = (
    "<p class='notice'>请在微信中打开本页面：长按识别需要在微信内进行。也可以截图保存，"
    "再用微信“扫一扫”从相册识别下方二维码。</p>"
)


TAP_TO_ADD = "点击直接添加"
TAP_TO_JOIN = "点击直接加入群聊"


def target_page(
    title: str,
    guidance: str,
    qr_png: bytes,
    in_wechat: bool = True,
    staff_name: str | None = None,
    campaign_href: str | None = None,
    deep_link: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The QR to join or add. A WeCom way also gets its link ((url, label)): tapping it in WeChat
    opens the way without a long-press. Through a friend's poster (`campaign_href`), also the
    way to join the campaign and get one's own poster."""
    notice = "" if in_wechat else OPEN_IN_WECHAT
    staff = f"<p class='staff'>您的专属顾问：{escape(staff_name)}</p>" if staff_name else ""
    body = f"<h1>{escape(title)}</h1>{notice}{staff}{_qr(qr_png, guidance)}<p class='hint'>{escape(guidance)}</p>"
    if deep_link:
        url, label = deep_link
        body += f"<a class='choice' href='{escape(url)}'><b>{escape(label)}</b></a>"
    if campaign_href:
        body += (
            f"<a class='choice' href='{escape(campaign_href)}'><b>我也要参加</b>"
            "<span>生成我的专属海报，邀请好友领奖励</span></a>"
        )
    return _page(200, title, body)


def choices_page(
    title: str, question: str, choices: list[tuple[str, str, str]], in_wechat: bool = True
) -> dict[str, Any]:
    """A grouped code's first page: the question and one link per option ((href, label, description))."""
    notice = "" if in_wechat else OPEN_IN_WECHAT
    links = "".join(
        f"<a class='choice' href='{escape(href)}'><b>{escape(label)}</b>"
        + (f"<span>{escape(description)}</span>" if description else "")
        + "</a>"
        for href, label, description in choices
    )
    body = f"<h1>{escape(title)}</h1>{notice}<p>{escape(question)}</p>{links}"
    return _page(200, title, body)


def fallback_page(
    title: str, fallback_text: str, backup_qr_png: bytes | None, in_wechat: bool = True
) -> dict[str, Any]:
    notice = "" if in_wechat or not backup_qr_png else OPEN_IN_WECHAT
    body = f"<h1>{escape(title)}</h1>{notice}<p>{escape(fallback_text)}</p>"
    if backup_qr_png:
        body += _qr(backup_qr_png, "备用二维码") + "<p class='hint'>长按识别备用二维码</p>"
    return _page(200, title, body)


def ended_page(title: str) -> dict[str, Any]:
    body = f"<h1>{escape(title)}</h1><p>本活动已结束，感谢您的关注。</p><p class='muted'>This event has ended.</p>"
    return _page(200, title, body)


def not_found_page() -> dict[str, Any]:
    body = (
        "<h1>二维码不存在</h1><p>这个二维码已失效或地址有误，请向商家索取新的二维码。</p>"
        "<p class='muted'>This code does not exist or is no longer valid.</p>"
    )
    return _page(404, "二维码不存在", body)


def busy_page() -> dict[str, Any]:
    body = (
        "<h1>正在加载…</h1><p>访问人数较多，页面将在几秒后自动刷新。</p>"
        "<p class='muted'>Busy right now; this page refreshes itself in a few seconds.</p>"
    )
    return _page(200, "正在加载", body, extra_head='<meta http-equiv="refresh" content="3">')
