"""The admin API's contract for fission campaigns (pydantic; admin function only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from siyu.api.types import Instant, ReceiverUrl, Text, _Input, view_of
from siyu.campaigns.posters import POSTER_SIZE
from siyu.campaigns.privacy import MAX_NOTICE_CHARS, notice_text, notice_version
from siyu.campaigns.rules import DEFAULT_INVITES_PER_ADDRESS, MAX_TIERS, Campaign, Participant, address_limit

WIDTH, HEIGHT = POSTER_SIZE
Colour = Field(pattern=r"^#[0-9A-Fa-f]{6}$", description="#RRGGBB")


class TierIn(_Input):
    invites: int = Field(ge=1, le=10_000, description="Credited invites needed.")
    reward: Text = Field(description="What the participant gets, as they will read it, e.g. ¥30 无门槛券.")
    stock: int = Field(ge=0, le=10_000_000, description="How many of this reward exist; none is ever oversold.")


class RulesIn(_Input):
    new_to_brand_only: bool = Field(True, description="Count only invitees who never visited the brand's codes.")
    stay_minutes: int = Field(0, ge=0, le=43_200, description="Credit an invite only after this long (0: at once).")
    invites_per_referrer_per_hour: int = Field(30, ge=1, le=100_000)
    invites_per_address_per_hour: int = Field(10, ge=1, le=100_000)
    joins_per_address_per_hour: int = Field(20, ge=1, le=100_000)
    invites_per_address: int | None = Field(
        None,
        ge=1,
        le=100_000,
        description="Cookie proof: invites credited from one network address over the whole campaign. It must be "
        f"below the lowest tier's invites, so that one address alone never reaches a reward (422 otherwise). "
        f"Default: {DEFAULT_INVITES_PER_ADDRESS}, or the lowest tier's invites - 1 if that is less.",
    )


class BoxIn(_Input):
    x: int = Field(ge=0, le=WIDTH)
    y: int = Field(ge=0, le=HEIGHT)
    size: int = Field(ge=16, le=WIDTH)

    def fits(self, what: str) -> None:
        if self.x + self.size > WIDTH or self.y + self.size > HEIGHT:
            raise ValueError(f"{what} runs off the {WIDTH}x{HEIGHT} poster; move it or make it smaller")


class TextIn(_Input):
    x: int = Field(ge=0, le=WIDTH)
    y: int = Field(ge=0, le=HEIGHT)
    size: int = Field(32, ge=10, le=200)
    color: str = Colour
    max_width: int = Field(600, ge=10, le=WIDTH)
    align: Literal["left", "center", "right"] = "center"
    text: str = Field("", max_length=100, description="Fixed lines only; the nickname line leaves it empty.")


class PosterIn(_Input):
    qr: BoxIn | None = Field(None, description="Where the participant's referral QR goes (at least 160 px).")
    avatar: BoxIn | None = None
    nickname: TextIn | None = None
    texts: list[TextIn] = Field(default_factory=list, max_length=10)
    background_color: str = Field("#FFF4E6", pattern=r"^#[0-9A-Fa-f]{6}$")

    @model_validator(mode="after")
    def _fits(self) -> PosterIn:
        if self.qr is not None:
            self.qr.fits("qr")
            if self.qr.size < 160:
                raise ValueError("qr is smaller than 160 px; phones cannot scan it reliably from a shared image")
        if self.avatar is not None:
            self.avatar.fits("avatar")
        return self

    def stored(self) -> dict[str, Any]:
        """The fields given; the poster uses its defaults for the others."""
        return self.model_dump(exclude_none=True)


class WebhookIn(_Input):
    url: ReceiverUrl = Field(description="The coupon system's endpoint (https, on the public internet).")
    secret: str = Field(min_length=16, max_length=200, description="Key of the X-Siyu-Signature HMAC.")


WeComUserId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$", description="A WeCom userid, e.g. zhangsan.")]


class WecomIn(_Input):
    users: list[WeComUserId] = Field(
        min_length=1,
        max_length=100,
        description="WeCom members who receive the campaign's new contacts. Each participant's poster gets their own "
        "contact way (联系我) for these members; an invite counts when a customer new to the brand adds one.",
    )

    @model_validator(mode="after")
    def _distinct(self) -> WecomIn:
        if len(set(self.users)) != len(self.users):
            raise ValueError("users lists a member twice; list each WeCom userid once")
        return self


PrivacyNotice = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_NOTICE_CHARS,
        pattern=r"\S",
        description="The privacy notice shown beside the join button (submitting the form is the agreement; each "
        "participant keeps the version they agreed to). Default: a notice in Chinese saying what is collected "
        "(nickname, avatar, the device's visitor id, a keyed hash of its network address, the invite graph), why, "
        "for how long, and how to ask for it to be erased.",
    ),
]


class CampaignCreate(_Input):
    name: Text
    code_id: str = Field(min_length=1, max_length=40, description="The live code new people land on.")
    starts_at: Instant | None = Field(None, description="Default: now.")
    ends_at: Instant
    tiers: list[TierIn] = Field(min_length=1, max_length=MAX_TIERS)
    rules: RulesIn = RulesIn()
    poster: PosterIn = PosterIn()
    reward_webhook: WebhookIn | None = None
    privacy_notice: PrivacyNotice | None = None
    wecom: WecomIn | None = Field(
        None,
        description="Prove invites by WeCom adds (strong: one invite per customer, new to the brand, revoked if "
        "they leave before stay_minutes). Without it, invites are proven by the visitor cookie (weak: one "
        "device can pose as many friends).",
    )


class StockIn(_Input):
    level: int = Field(ge=1, le=MAX_TIERS)
    stock: int = Field(ge=0, le=10_000_000)


class CampaignUpdate(_Input):
    name: Text | None = None
    ends_at: Instant | None = None
    stock: list[StockIn] | None = Field(None, description="New stock per tier level (never below what is granted).")
    rules: RulesIn | None = None
    poster: PosterIn | None = Field(None, description="A new layout: every poster re-renders on next request.")
    reward_webhook: WebhookIn | None = None
    privacy_notice: PrivacyNotice | None = Field(None, description="A new notice; joins from now on agree to it.")


class BlockIn(_Input):
    reason: Text


class RevokeIn(_Input):
    reason: Text = Field(description="Why the invite no longer counts, e.g. left the group.")


class TierView(BaseModel):
    level: int
    invites: int
    reward: str
    stock: int
    granted: int
    left: int


class CampaignView(BaseModel):
    id: str
    name: str
    code_id: str
    status: Literal["scheduled", "running", "ended"]
    starts_at: datetime
    ends_at: datetime
    tiers: list[TierView]
    rules: dict[str, Any]
    poster: dict[str, Any]
    has_background: bool
    poster_version: int
    reward_webhook_url: str | None
    join_url: str
    created_at: datetime
    proof: Literal["wecom_add", "cookie"] = Field(
        description="What proves an invite: a WeCom add through the participant's own contact way, or the visitor "
        "cookie of a scan (the weaker proof, for brands without WeCom)."
    )
    wecom_users: list[str] = Field(description="WeCom members who receive the new contacts (wecom_add campaigns).")
    live_ways: int = Field(
        description="Participants' contact ways live in WeCom (they count against the corp's quota)."
    )
    invites_per_address_limit: int = Field(
        description="Cookie proof: the most invites one network address can bring over the campaign (always below "
        "the lowest tier's invites)."
    )
    privacy_notice: str = Field(description="The privacy notice the join page shows (the default if none was set).")
    privacy_notice_version: str = Field(description="Its version (a hash of the text), kept on each participant.")


class CampaignList(BaseModel):
    items: list[CampaignView]
    next_cursor: str | None = None


class ParticipantView(BaseModel):
    id: str
    nickname: str
    visitor_id: str
    joined_at: datetime
    invites: int
    referred_by: str | None
    blocked: bool
    blocked_reason: str | None
    poster_ready: bool
    referral_url: str | None = Field(description="What the poster's QR encodes (None until a WeCom way is made).")
    way_config_id: str | None = Field(None, description="The participant's own WeCom contact way, while it is live.")
    privacy_notice_version: str | None = Field(None, description="The privacy notice version agreed to on joining.")


class ParticipantList(BaseModel):
    items: list[ParticipantView]
    next_cursor: str | None = None


class RecordList(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = None


class RenderRequested(BaseModel):
    queued: int
    already_current: int


def campaign_view(
    campaign: Campaign, stock: dict[int, tuple[int, int]], join_url: str, now: datetime, live_ways: int = 0
) -> CampaignView:
    status = "scheduled" if now < campaign.starts_at else ("running" if campaign.running(now) else "ended")
    tiers = []
    for tier in campaign.tiers:
        total, granted = stock.get(tier.level, (tier.stock, 0))
        tiers.append(view_of(TierView, tier, stock=total, granted=granted, left=max(0, total - granted)))
    return view_of(
        CampaignView,
        campaign,
        status=status,
        tiers=tiers,
        rules=vars(campaign.rules),
        has_background=bool(campaign.background_key),
        join_url=join_url,
        proof=campaign.proof,
        wecom_users=list(campaign.wecom_users),
        live_ways=live_ways,
        invites_per_address_limit=address_limit(campaign),
        privacy_notice=notice_text(campaign),
        privacy_notice_version=notice_version(notice_text(campaign)),
    )


def participant_view(participant: Participant, referral_url: str | None) -> ParticipantView:
    return view_of(ParticipantView, participant, poster_ready=bool(participant.poster_key), referral_url=referral_url)


class ErasedView(BaseModel):
    """What an erasure removed for good (personal data: PIPL)."""

    items: int = Field(description="Table records deleted or unlinked.")
    objects: int = Field(description="Object versions and delete markers deleted from the bucket.")
    finished: bool = Field(
        description="True when nothing of it is left; false: the campaign worker erases the rest within minutes."
    )
