"""The public pages of a fission campaign (/c/<campaign>): join with a nickname and avatar,
then one's poster and progress. Every text a participant typed is escaped."""

from __future__ import annotations

from html import escape
from typing import Any

from siyu.campaigns.errors import CampaignNotRunning, JoinLimitReached, WayQuotaReached
from siyu.campaigns.privacy import notice_text, notice_version
from siyu.campaigns.records import Progress
from siyu.campaigns.rules import GAVE_UP, MAX_NICKNAME_CHARS, WAIT, Campaign
from siyu.core.errors import SiyuError, TooLarge
from siyu.web.html import page

# frame-ancestors (and X-Frame-Options for WebViews that predate it): no other site may frame the
# join form to make a click submit it.
CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
FRAME_HEADERS = {"X-Frame-Options": "DENY"}
POSTER_REFRESH_SECONDS = 3

# What a customer reads when the service refuses, by the refusal's class (others show its message).
CUSTOMER_COPY: dict[type[SiyuError], str] = {
    CampaignNotRunning: "活动未开始或已结束",
    JoinLimitReached: "参与人数过多，请稍后再试",
    WayQuotaReached: "活动太火爆，名额已满，请稍后再试",
    TooLarge: "照片太大了，请选择 4 MB 以内的照片。",
}


def customer_message(error: SiyuError) -> str:
    """The page's words for a refusal: its copy by class, else the refusal's own message."""
    for cls in type(error).__mro__:
        if cls in CUSTOMER_COPY:
            return CUSTOMER_COPY[cls]
    return error.message


def campaign_page(status: int, title: str, body: str, extra_head: str = "") -> dict[str, Any]:
    """A campaign page: the shared shell, the campaign CSP, never framed."""
    answer = page(status, title, body, extra_head, csp=CSP)
    return {**answer, "headers": {**answer["headers"], **FRAME_HEADERS}}


def join_page(campaign: Campaign, referral: str | None, error: str | None = None, status: int = 200) -> dict[str, Any]:
    """The join form, the privacy notice beside its button (submitting is the agreement; the
    notice's version goes with the form, so the one read is the one recorded)."""
    tiers = "".join(f"<li>邀请 {t.invites} 位好友：{escape(t.reward)}</li>" for t in campaign.tiers)
    problem = f"<p class='notice'>{escape(error)}</p>" if error else ""
    notice = notice_text(campaign)
    hidden = f"<input type='hidden' name='notice' value='{notice_version(notice)}'>"
    hidden += f"<input type='hidden' name='r' value='{escape(referral)}'>" if referral else ""
    body = (
        f"<h1>{escape(campaign.name)}</h1><ul style='text-align:left'>{tiers}</ul>{problem}"
        f"<form method='post' action='/c/{escape(campaign.id)}/join' enctype='multipart/form-data'>"
        f"{hidden}<p><input name='nickname' maxlength='{MAX_NICKNAME_CHARS}' required placeholder='你的昵称' "
        "style='width:90%;font-size:17px;padding:10px'></p>"
        "<p class='muted'>头像（可选）<input type='file' name='avatar' accept='image/*'></p>"
        "<p><button type='submit' style='font-size:17px;padding:12px 24px;background:#07c160;color:#fff;"
        "border:0;border-radius:8px'>生成我的专属海报</button></p>"
        f"<p class='muted' style='text-align:left;font-size:12px'>{escape(notice)}</p></form>"
    )
    return campaign_page(status, campaign.name, body)


def progress_page(progress: Progress, poster_version: int, poster_wait: str = WAIT) -> dict[str, Any]:
    """A participant's page. While the poster is being made it refreshes itself, until
    `poster_wait` says the page gave up (then it says so, and a reload asks again later)."""
    cid = escape(progress.campaign_id)
    refresh = ""
    if progress.poster_ready:
        poster = (
            f"<img src='/c/{cid}/poster.jpg?v={poster_version}' alt='我的专属海报' "
            "style='width:100%;max-width:375px;border-radius:8px'>"
            "<p class='hint'>长按图片保存或发送给好友</p>"
        )
    elif poster_wait == GAVE_UP:
        poster = "<p class='notice'>海报生成较慢，请过几分钟再刷新页面查看。</p>"
    else:
        poster = "<p>海报生成中，请稍候…</p>"
        refresh = f'<meta http-equiv="refresh" content="{POSTER_REFRESH_SECONDS}">'
    upcoming = progress.next_tier
    goal = (
        f"<p>再邀请 <b>{upcoming.invites_to_go}</b> 位好友可得：{escape(upcoming.reward)}</p>"
        if upcoming
        else "<p>已解锁全部奖励 🎉</p>"
    )
    rewards = "".join(
        f"<li>{escape(r.reward)}（{'已发放' if r.status == 'granted' else '已抢光'}）</li>" for r in progress.rewards
    )
    board = "".join(f"<li>{e.rank}. {escape(e.nickname)}　{e.invites} 人</li>" for e in progress.leaderboard)
    if progress.rank:
        rank = f"<p class='muted'>当前排名：第 {progress.rank} 名</p>"
    elif progress.invites and not progress.blocked:
        rank = f"<p class='muted'>当前排名：{progress.ranked_within} 名以外</p>"
    else:
        rank = ""
    blocked = "<p class='notice'>你的参与资格已被暂停，如有疑问请联系客服。</p>" if progress.blocked else ""
    body = (
        f"<h1>{escape(progress.campaign_name)}</h1>{blocked}<p>{escape(progress.nickname)}，"
        f"你已成功邀请 <b>{progress.invites}</b> 位好友</p>{goal}{rank}{poster}"
        + (f"<h1>我的奖励</h1><ul style='text-align:left'>{rewards}</ul>" if rewards else "")
        + (f"<h1>排行榜</h1><ol style='text-align:left;list-style:none;padding:0'>{board}</ol>" if board else "")
    )
    return campaign_page(200, progress.campaign_name, body, refresh)


def message_page(title: str, text: str, status: int = 200) -> dict[str, Any]:
    return campaign_page(status, title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>")
