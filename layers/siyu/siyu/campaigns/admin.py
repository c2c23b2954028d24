"""What operators do with fission campaigns through the admin API: create and change them,
the poster template (background, layout, preview, bulk pre-render), participants (block),
invites (revoke), refusals, and rewards (resend a failed notification)."""

from __future__ import annotations

import builtins
import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from siyu.campaigns import posters
from siyu.campaigns.api import CampaignCreate, CampaignUpdate, PosterIn, RulesIn, WebhookIn
from siyu.campaigns.ports import CampaignStore, Files
from siyu.campaigns.poster_jobs import PosterRenderer
from siyu.campaigns.records import Invite, Refusal, Reward
from siyu.campaigns.repository import StockBelowGranted
from siyu.campaigns.rules import Campaign, Participant, Rules, Tier, address_limit_refusal, numbered_tiers
from siyu.campaigns.service import ID_LENGTH, CampaignService
from siyu.core.clock import utcnow
from siyu.core.errors import Conflict, InvalidInput, NotFound, UploadRefused
from siyu.core.ids import new_id
from siyu.live_codes.model import CODE_ID_PATTERN
from siyu.live_codes.repository import CodesTable
from siyu.storage.versioned import modify
from siyu.web.base64_files import decode_base64_file

MAX_BACKGROUND_BYTES = 4 * 1024 * 1024  # as for QR uploads; a 750x1334 photo is far smaller


@dataclass
class CampaignAdmin:
    table: CampaignStore
    codes: CodesTable
    bucket: Files
    service: CampaignService
    renderer: PosterRenderer
    clock: Callable[[], datetime] = utcnow
    wecom_connected: Callable[[], bool] = lambda: False  # WeCom campaigns need a connected corp

    # -- campaigns ---------------------------------------------------------------------

    def create(self, body: CampaignCreate, scan_base_url: str) -> Campaign:
        now = self.clock()
        self._check_code(body.code_id)
        starts_at = body.starts_at or now
        if body.ends_at <= starts_at:
            raise InvalidInput("ends_at is not after starts_at; a campaign needs time to run")
        try:
            tiers = numbered_tiers([(t.invites, t.reward, t.stock) for t in body.tiers])
        except ValueError as error:
            raise InvalidInput(str(error)) from None
        _check_address_limit(tiers, body.rules.invites_per_address, body.wecom is None)
        if body.wecom is not None and not self.wecom_connected():
            raise Conflict("wecom: WeCom is not connected: connect it with PUT /admin/wecom first")
        campaign = Campaign(
            id=new_id(ID_LENGTH),
            name=body.name,
            code_id=body.code_id,
            starts_at=starts_at,
            ends_at=body.ends_at,
            tiers=tiers,
            rules=_rules(body.rules),
            created_at=now,
            poster=_poster(body.poster, body.name),
            reward_webhook_url=body.reward_webhook.url if body.reward_webhook else None,
            reward_webhook_secret=body.reward_webhook.secret if body.reward_webhook else None,
            scan_base_url=scan_base_url.rstrip("/"),
            wecom_users=tuple(body.wecom.users) if body.wecom else (),
            privacy_notice=body.privacy_notice,
        )
        self.table.create_campaign(campaign)
        return campaign

    def get(self, campaign_id: str) -> Campaign:
        return self.service.campaign(campaign_id, fresh=True)

    def stock(self, campaign_id: str) -> dict[int, tuple[int, int]]:
        return self.table.stock(campaign_id)

    def live_ways(self, campaign_id: str) -> int:
        return self.table.live_ways(campaign_id)

    def list(self, limit: int, cursor: str | None) -> tuple[list[Campaign], str | None]:
        return self.table.list_campaigns(limit, cursor)

    def update(self, campaign_id: str, body: CampaignUpdate) -> Campaign:
        def change(campaign: Campaign) -> tuple[Campaign, dict[int, int]]:
            stock: dict[int, int] = {}
            for entry in body.stock or []:
                if campaign.tier(entry.level) is None:
                    raise InvalidInput(f"stock: the campaign has no tier {entry.level}")
                stock[entry.level] = entry.stock
            ends_at = body.ends_at or campaign.ends_at
            if ends_at <= campaign.starts_at:
                raise InvalidInput("ends_at is not after starts_at; a campaign needs time to run")
            changed = replace(
                campaign,
                name=body.name or campaign.name,
                ends_at=ends_at,
                rules=_rules(body.rules) if body.rules else campaign.rules,
                tiers=tuple(replace(t, stock=stock.get(t.level, t.stock)) for t in campaign.tiers),
            )
            if body.poster is not None:
                changed = replace(
                    changed, poster=_poster(body.poster, changed.name), poster_version=campaign.poster_version + 1
                )
            if body.reward_webhook is not None:
                changed = _with_webhook(changed, body.reward_webhook)
            if body.privacy_notice is not None:
                changed = replace(changed, privacy_notice=body.privacy_notice)
            if body.rules is not None and body.rules.invites_per_address is not None:  # other edits never refused
                _check_address_limit(changed.tiers, body.rules.invites_per_address, not changed.wecom_users)
            return changed, stock

        try:
            return self._modify(campaign_id, change)
        except StockBelowGranted as error:
            raise Conflict(
                f"tier {error.level}'s new stock is below what it has already granted; "
                "GET the campaign to see `granted` per tier, and set at least that"
            ) from None

    def set_background(self, campaign_id: str, image_base64: str) -> Campaign:
        """A new poster background: checked, fitted to 750x1334 and stored; posters re-render."""
        data = decode_base64_file(image_base64, MAX_BACKGROUND_BYTES)
        try:
            image = posters.open_image(data)
        except Exception as error:
            raise UploadRefused(
                f"the background is not an image Pillow can read ({error}); send a PNG or JPEG"
            ) from None
        fitted = posters.background_image(posters.PosterLayout(), image)
        out = io.BytesIO()
        fitted.save(out, "JPEG", quality=92)
        campaign = self.get(campaign_id)
        key = f"campaigns/{campaign_id}/background-v{campaign.poster_version + 1}.jpg"
        self.bucket.put(key, out.getvalue(), "image/jpeg")
        return self._modify(
            campaign_id, lambda c: (replace(c, background_key=key, poster_version=c.poster_version + 1), {})
        )

    def preview(self, campaign_id: str) -> bytes:
        return self.renderer.preview(self.get(campaign_id))

    def render_all(self, campaign_id: str) -> tuple[int, int]:
        """Queue every participant whose poster is missing or out of date (bulk pre-render)."""
        campaign = self.get(campaign_id)
        stale: list[str] = []
        current = 0
        for participant in self.table.all_participants(campaign_id):
            if participant.poster_key and participant.poster_version == campaign.poster_version:
                current += 1
            else:
                stale.append(participant.id)
        return self.service.request_posters(campaign_id, stale), current

    # -- participants, invites, refusals, rewards ----------------------------------------

    def participant(self, campaign_id: str, participant_id: str) -> Participant:
        self.get(campaign_id)
        participant = self.table.participant(campaign_id, participant_id)
        if participant is None:
            raise NotFound(f"campaign {campaign_id} has no participant {participant_id!r}")
        return participant

    def participants(
        self, campaign_id: str, order: str, limit: int, cursor: str | None
    ) -> tuple[builtins.list[Participant], str | None]:
        self.get(campaign_id)
        if order == "rank":
            return self.table.leaderboard(campaign_id, limit), None
        return self.table.participants(campaign_id, limit, cursor)

    def set_blocked(self, campaign_id: str, participant_id: str, blocked: bool, reason: str | None) -> Participant:
        participant = self.participant(campaign_id, participant_id)
        if participant.blocked != blocked:
            self.table.set_blocked(participant, blocked, reason)
        return self.participant(campaign_id, participant_id)

    def invites(self, campaign_id: str, limit: int, cursor: str | None) -> tuple[builtins.list[Invite], str | None]:
        self.get(campaign_id)
        return self.table.invites(campaign_id, limit, cursor)

    def revoke(self, campaign_id: str, invitee_id: str, reason: str) -> Invite:
        self.get(campaign_id)
        return self.service.revoke(campaign_id, invitee_id, reason)

    def refusals(self, campaign_id: str, limit: int, cursor: str | None) -> tuple[builtins.list[Refusal], str | None]:
        self.get(campaign_id)
        return self.table.refusals(campaign_id, limit, cursor)

    def rewards(self, campaign_id: str, limit: int, cursor: str | None) -> tuple[builtins.list[Reward], str | None]:
        self.get(campaign_id)
        return self.table.rewards(campaign_id, limit, cursor)

    def resend(self, campaign_id: str, participant_id: str, level: int) -> Reward:
        campaign = self.get(campaign_id)
        reward_id = f"{participant_id}#{level}"
        reward = self.table.reward(campaign_id, reward_id)
        if reward is None:
            raise NotFound(f"participant {participant_id!r} has no tier {level} reward in campaign {campaign_id}")
        if not campaign.reward_webhook_url:
            raise Conflict("the campaign has no reward_webhook; PATCH one in first")
        if not self.table.requeue_notify(campaign_id, reward_id, self.clock()):
            raise Conflict(
                f"the notification is {reward.notify_status} and the reward {reward.status}: "
                "only a delivered or failed notification of a granted reward can be sent again"
            )
        self.service.notify(campaign_id, reward_id)
        resent = self.table.reward(campaign_id, reward_id)
        if resent is None:
            raise NotFound(f"the reward {reward_id} of campaign {campaign_id} is gone")
        return resent

    # -- helpers -----------------------------------------------------------------------

    def _check_code(self, code_id: str) -> None:
        if not CODE_ID_PATTERN.match(code_id) or self.codes.load(code_id)[0] is None:
            raise InvalidInput(f"code_id: no live code {code_id[:40]!r}; create the code first (POST /admin/codes)")

    def _modify(self, campaign_id: str, change: Callable[[Campaign], tuple[Campaign, dict[int, int]]]) -> Campaign:
        """Apply `change` (the changed campaign, new stock per level) to the campaign as saved."""
        return modify(
            lambda: self.get(campaign_id), lambda campaign: self.table.save_campaign(*change(campaign)), "the campaign"
        )


def _check_address_limit(tiers: tuple[Tier, ...], configured: int | None, cookie_proof: bool) -> None:
    refusal = address_limit_refusal(tiers, configured, cookie_proof)
    if refusal is not None:
        raise InvalidInput(refusal)


def _rules(body: RulesIn) -> Rules:
    return Rules(**body.model_dump())


def _poster(body: PosterIn, name: str) -> dict[str, Any]:
    fields = body.stored()
    if not fields.get("texts"):  # a poster says what it is for, and what to do with the QR
        fields["texts"] = [
            {"x": 375, "y": 420, "size": 52, "color": "#C0392B", "max_width": 680, "align": "center", "text": name},
            {
                "x": 375,
                "y": 800,
                "size": 30,
                "color": "#555555",
                "max_width": 680,
                "align": "center",
                "text": "长按识别二维码，和我一起参加",
            },
        ]
    return fields


def _with_webhook(campaign: Campaign, webhook: WebhookIn) -> Campaign:
    return replace(campaign, reward_webhook_url=webhook.url, reward_webhook_secret=webhook.secret)
