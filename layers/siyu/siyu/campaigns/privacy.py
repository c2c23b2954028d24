"""The privacy notice a campaign's join page shows beside the join button (PIPL: tell people what is
collected, why, for how long and how to have it erased, before collecting it). Submitting the
form is the agreement; each participant keeps the version (a hash of the text) they agreed to, so a
notice changed later never rewrites what earlier participants were told."""

from __future__ import annotations

import hashlib
from typing import Protocol

MAX_NOTICE_CHARS = 2000
VERSION_LENGTH = 12

DEFAULT_NOTICE = (
    "个人信息说明：点击下方按钮提交即表示你已阅读并同意本说明。为生成你的专属海报、统计邀请和发放奖励，"
    "本活动的主办方会处理你填写的昵称、你选择上传的头像，以及本设备的访问标识、网络地址的加密摘要和邀请关系"
    "（谁邀请了你、你邀请了谁）。这些信息只用于本活动及防止刷单，不会出售，也不会用于其他目的；"
    "活动结束后会在主办方规定的期限内删除。你可以联系主办方查阅、更正或删除你的信息，"
    "或撤回同意（撤回后将无法继续参加本活动）。"
)


class HasNotice(Protocol):
    @property
    def privacy_notice(self) -> str | None: ...


def notice_text(campaign: HasNotice) -> str:
    """The notice the campaign's join page shows: its own, or the default."""
    return campaign.privacy_notice or DEFAULT_NOTICE


def notice_version(text: str) -> str:
    """The version of a notice's text: the first hex digits of its SHA-256 (the same text, the same version)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:VERSION_LENGTH]
