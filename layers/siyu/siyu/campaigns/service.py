"""What fission campaigns do: participants join, referral scans become invites (or recorded
refusals), invites are credited, tiers grant rewards once from their stock, and the brand's
coupon system is told through a signed webhook.

Exactly once, where it matters, comes from storage conditions: an invitee's invite item exists
once per campaign; crediting moves the invite from pending to credited in the same
transaction that sets the referrer's count (read, then written only if unchanged); a reward
item exists once per participant and tier and is created in the same transaction that takes
one from the tier's stock (`granted < stock`), so 500 concurrent qualifying invites never
oversell. The webhook is at-least-once with an Idempotency-Key (the reward id).
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from siyu.campaigns import privacy, rewards
from siyu.campaigns.errors import CampaignNotRunning, JoinLimitReached, WayQuotaReached
from siyu.campaigns.ports import CampaignStore, Files, PosterRequests, RefusalDetails
from siyu.campaigns.records import (
    Invite,
    LeaderboardEntry,
    NextTier,
    PosterJob,
    Progress,
    RewardLine,
    TierLine,
)
from siyu.campaigns.repository import CampaignsTable, PosterQueue
from siyu.campaigns.rules import (
    ADDRESS_CAP,
    ADDRESS_RATE,
    ALREADY_INVITED,
    CREDITED,
    GAVE_UP,
    GRANTED,
    LEFT_BEFORE_STAY,
    MAX_POSTER_REQUESTS,
    PENDING,
    REFERRER_BLOCKED,
    REFERRER_RATE,
    REQUEST_AGAIN,
    REVOKED,
    WAIT,
    WECOM_ADD_REQUIRED,
    Campaign,
    Participant,
    ReferralVisit,
    Tier,
    WecomAdd,
    address_limit,
    clean_nickname,
    credit_at,
    hour_of,
    invite_refusal,
    left_within_stay,
    next_tier,
    poster_wait_state,
    referral_param,
    tiers_reached,
    way_limit,
    wecom_add_refusal,
    wecom_invitee,
)
from siyu.core.clock import from_iso, to_precise_iso, utcnow
from siyu.core.errors import Conflict, InvalidInput, NotFound, StaleVersion
from siyu.core.ids import new_id
from siyu.delivery.retry import REWARD_WEBHOOK_RETRY, RetryPolicy
from siyu.storage.uploads_bucket import UploadsBucket
from siyu.storage.versioned import modify

logger = logging.getLogger(__name__)

CREDIT_ATTEMPTS = 20  # optimistic retries when many invites credit one referrer at once
CAMPAIGN_CACHE_SECONDS = 5.0
LEADERBOARD_SIZE = 10
RANK_TOP_K = 50  # a participant's rank is shown within the top 50 (one Query of at most 50 items)
MAX_CACHED_CAMPAIGNS = 128
ID_LENGTH = 12  # campaign and participant ids (older ones are 12 hex digits)
DEFAULT_WAY_SHARE = 0.5  # of WeCom's per-corp contact way quota, for participants' referral ways


def referral_url(campaign: Campaign, participant_id: str) -> str:
    """The cookie proof's referral URL: the campaign's live code, with the participant's referral."""
    return f"{campaign.scan_base_url}/s/{campaign.code_id}?r={referral_param(campaign.id, participant_id)}"


def poster_url(campaign: Campaign, participant: Participant) -> str | None:
    """What a participant's poster QR encodes: their own WeCom contact way (None until it is made)
    for a WeCom campaign, the referral URL otherwise."""
    if campaign.wecom_users:
        return participant.way_url
    return referral_url(campaign, participant.id)


def way_limit_from_environment() -> int:
    """REFERRAL_WAY_SHARE (0..1) of WeCom's 500,000 contact ways per corp."""
    return way_limit(float(os.environ.get("REFERRAL_WAY_SHARE") or DEFAULT_WAY_SHARE))


@dataclass
class CampaignService:
    table: CampaignStore
    bucket: Files
    posters: PosterRequests = field(default_factory=lambda: PosterQueue(None))
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], datetime] = utcnow
    way_limit: int = field(default_factory=lambda: way_limit(DEFAULT_WAY_SHARE))
    _cache: OrderedDict[str, tuple[float, Campaign]] = field(default_factory=OrderedDict)

    @classmethod
    def from_environment(cls) -> CampaignService:
        return cls(
            CampaignsTable.from_environment(),
            UploadsBucket.from_environment(),
            PosterQueue.from_environment(),
            RetryPolicy.from_environment(REWARD_WEBHOOK_RETRY),
            way_limit=way_limit_from_environment(),
        )

    def campaign(self, campaign_id: str, fresh: bool = False) -> Campaign:
        """The campaign, from a small per-container LRU cache (CAMPAIGN_CACHE_SECONDS old at most).
        A miss is never remembered: invented ids cannot fill the cache or push real campaigns out."""
        cached = self._cache.get(campaign_id)
        if fresh or cached is None or time.monotonic() - cached[0] > CAMPAIGN_CACHE_SECONDS:
            found = self.table.campaign(campaign_id)
            if found is None:
                self._cache.pop(campaign_id, None)
                raise NotFound(f"campaign {campaign_id} does not exist")
            cached = (time.monotonic(), found)
            self._cache[campaign_id] = cached
            while len(self._cache) > MAX_CACHED_CAMPAIGNS:
                self._cache.popitem(last=False)
        self._cache.move_to_end(campaign_id)
        return cached[1]

    # -- participation (public) --------------------------------------------------------

    def join(
        self,
        campaign_id: str,
        visitor_id: str,
        nickname: object,
        address_hash: str,
        avatar: bytes | Callable[[], bytes | None] | None = None,
        notice_version: str | None = None,
    ) -> Participant:
        """Join the campaign (once per visitor: joining again returns the same participant).
        The cheap checks come first: already joined, running, the nickname, the hourly limit;
        `avatar` (the photo, or what decodes it) is made only after they all passed."""
        campaign = self.campaign(campaign_id)
        now = self.clock()
        existing = self.table.participant_of_visitor(campaign_id, visitor_id)
        if existing is not None:
            return existing
        if not campaign.running(now):
            raise CampaignNotRunning(f"campaign {campaign_id} is not running (it runs from starts_at to ends_at)")
        try:
            nickname = clean_nickname(nickname)
        except ValueError as error:
            raise InvalidInput(str(error)) from None
        limit = campaign.rules.joins_per_address_per_hour
        if not self.table.within_limit(campaign_id, "join", address_hash, hour_of(now), limit, now):
            details = RefusalDetails(visitor_id=visitor_id, address_hash=address_hash)
            self.table.record_refusal(campaign_id, ADDRESS_RATE, now, details)
            raise JoinLimitReached(f"too many joins from this network this hour (at most {limit})")
        if campaign.wecom_users and self.table.ways_in_use() >= self.way_limit:
            raise WayQuotaReached(
                f"siyu's share of the corp's WeCom contact ways is used ({self.way_limit} live referral ways); "
                "end campaigns to free theirs, or raise REFERRAL_WAY_SHARE (WeCom allows 500,000 per corp)"
            )
        invite = self.table.invite(campaign_id, visitor_id)
        participant_id = new_id(ID_LENGTH)
        avatar_key = None
        avatar_jpeg = avatar() if callable(avatar) else avatar
        if avatar_jpeg:
            avatar_key = f"campaigns/{campaign_id}/avatars/{participant_id}.jpg"
            self.bucket.put(avatar_key, avatar_jpeg, "image/jpeg")
        participant = Participant(
            id=participant_id,
            campaign_id=campaign_id,
            visitor_id=visitor_id,
            nickname=nickname,
            joined_at=now,
            referred_by=invite.referrer_id if invite and invite.status != REVOKED else None,
            avatar_key=avatar_key,
            privacy_notice_version=notice_version or privacy.notice_version(privacy.notice_text(campaign)),
        )
        joined = self.table.join(participant)
        if joined.id == participant_id:
            self.request_posters(campaign_id, [participant_id])
        return joined

    def participant_of(self, campaign_id: str, visitor_id: str | None) -> Participant | None:
        return self.table.participant_of_visitor(campaign_id, visitor_id) if visitor_id else None

    def progress(self, campaign: Campaign, participant: Participant) -> Progress:
        """What a participant sees: invites, the next tier, rewards, rank, the leaderboard. The rank
        is shown within the top RANK_TOP_K only: one Query of at most that many items gives both it
        and the leaderboard, whatever the campaign's size (never a count over everyone ahead)."""
        upcoming = next_tier(campaign, participant.invites)
        rewards = self.table.rewards_of(campaign.id, participant.id)
        top = self.table.leaderboard(campaign.id, RANK_TOP_K)
        rank = next((i + 1 for i, p in enumerate(top) if p.id == participant.id), None)
        return Progress(
            campaign_id=campaign.id,
            campaign_name=campaign.name,
            participant_id=participant.id,
            nickname=participant.nickname,
            invites=participant.invites,
            next_tier=None
            if upcoming is None
            else NextTier(upcoming.level, upcoming.invites, upcoming.reward, upcoming.invites - participant.invites),
            tiers=tuple(TierLine(t.level, t.invites, t.reward) for t in campaign.tiers),
            rewards=tuple(RewardLine(r.level, r.reward, r.status, r.created_at) for r in rewards),
            rank=None if participant.blocked else rank,
            ranked_within=RANK_TOP_K,
            blocked=participant.blocked,
            poster_ready=bool(participant.poster_key),
            referral_url=poster_url(campaign, participant),
            leaderboard=tuple(
                LeaderboardEntry(i + 1, p.nickname, p.invites) for i, p in enumerate(top[:LEADERBOARD_SIZE])
            ),
        )

    def poster_wait(self, participant: Participant) -> str:
        """A participant's poster is not ready: WAIT (the page refreshes), or REQUESTED again (its
        queue message was lost, or failed), once per interval whatever the refreshes and containers
        (a conditional write), or GAVE_UP after MAX_POSTER_REQUESTS (the page stops refreshing)."""
        now = self.clock()
        state = poster_wait_state(participant, now)
        if state == REQUEST_AGAIN and self.table.note_poster_request(participant, now):
            self.request_posters(participant.campaign_id, [participant.id])
            logger.warning("poster of %s requested again (%s)", participant.id, participant.poster_requests + 1)
        return GAVE_UP if participant.poster_requests + (state == REQUEST_AGAIN) >= MAX_POSTER_REQUESTS else WAIT

    def poster(self, participant: Participant) -> bytes | None:
        return self.bucket.get(participant.poster_key) if participant.poster_key else None

    def request_posters(self, campaign_id: str, participant_ids: list[str]) -> int:
        """Hand posters to the poster function through its queue."""
        return self.posters.request([PosterJob(campaign_id, pid) for pid in participant_ids])

    # -- invites (the worker) ----------------------------------------------------------

    def register_referral(self, visit: ReferralVisit) -> str:
        """A scan through a referral URL: an invite (credited now or after the stay time),
        or a refusal recorded with its reason. Returns the outcome."""
        try:
            campaign = self.campaign(visit.campaign_id)
        except NotFound:
            return "unknown_campaign"
        if campaign.wecom_users:  # the WeCom add is this campaign's proof: a cookie scan credits nothing
            details = RefusalDetails(visit.referrer_id, visit.visitor_id, visit.address_hash)
            self.table.record_refusal(campaign.id, WECOM_ADD_REQUIRED, visit.at, details)
            return WECOM_ADD_REQUIRED
        referrer = self.table.participant(campaign.id, visit.referrer_id)
        invitee = self.table.participant_of_visitor(campaign.id, visit.visitor_id)
        invited_before = self.table.invite(campaign.id, visit.visitor_id) is not None
        reason = invite_refusal(campaign, referrer, visit, invitee, invited_before)
        rules, hour = campaign.rules, hour_of(visit.at)
        if reason is None and not self.table.within_limit(
            campaign.id, "address", visit.address_hash, hour, rules.invites_per_address_per_hour, visit.at
        ):
            reason = ADDRESS_RATE
        if reason is None and not self.table.within_limit(
            campaign.id, "referrer", visit.referrer_id, hour, rules.invites_per_referrer_per_hour, visit.at
        ):
            reason = REFERRER_RATE
        if reason is None and not self.table.within_limit(
            campaign.id, "address", visit.address_hash, "campaign", address_limit(campaign), visit.at, campaign.ends_at
        ):
            reason = ADDRESS_CAP  # judged last: a visit refused for another reason does not use it up
        due = credit_at(campaign, visit.at)
        if reason is None and not self.table.register_invite(
            campaign.id, visit.visitor_id, visit.referrer_id, visit.at, due, visit.address_hash
        ):
            reason = ALREADY_INVITED
        if reason is not None:
            details = RefusalDetails(visit.referrer_id, visit.visitor_id, visit.address_hash)
            self.table.record_refusal(campaign.id, reason, visit.at, details)
            return reason
        if due <= self.clock():
            return self.credit(campaign.id, visit.visitor_id)
        return PENDING

    def register_wecom_add(self, add: WecomAdd) -> str:
        """A customer added a guide through a participant's contact way: an invite (credited after
        the stay time), or a refusal recorded with its reason. A redelivered add changes nothing."""
        try:
            campaign = self.campaign(add.campaign_id)
        except NotFound:
            return "unknown_campaign"
        if not campaign.wecom_users:
            return "not_a_wecom_campaign"
        invitee = wecom_invitee(add.external_user_id)
        before = self.table.invite(campaign.id, invitee)
        if (
            before is not None
            and before.referrer_id == add.referrer_id
            and before.registered_at == to_precise_iso(add.at)
        ):
            return before.status  # the same add again
        referrer = self.table.participant(campaign.id, add.referrer_id)
        reason = wecom_add_refusal(campaign, referrer, add, before is not None)
        hour, limit = hour_of(add.at), campaign.rules.invites_per_referrer_per_hour
        if reason is None and not self.table.within_limit(
            campaign.id, "referrer", add.referrer_id, hour, limit, add.at
        ):
            reason = REFERRER_RATE
        due = credit_at(campaign, add.at)
        if reason is None and not self.table.register_invite(
            campaign.id, invitee, add.referrer_id, add.at, due, "wecom_add"
        ):
            reason = ALREADY_INVITED
        if reason is not None:
            self.table.record_refusal(campaign.id, reason, add.at, RefusalDetails(add.referrer_id, invitee))
            return reason
        if due <= self.clock():
            return self.credit(campaign.id, invitee)
        return PENDING

    def wecom_left(self, campaign_id: str, referrer_id: str, external_user_id: str, at: datetime) -> str:
        """The invitee deleted the guide (or was deleted): within the stay time, the invite no longer counts."""
        try:
            campaign = self.campaign(campaign_id)
        except NotFound:
            return "unknown_campaign"
        invitee = wecom_invitee(external_user_id)
        invite = self.table.invite(campaign_id, invitee)
        if invite is None or invite.referrer_id != referrer_id or invite.status == REVOKED:
            return "no_invite"
        registered = from_iso(invite.registered_at) if invite.registered_at else at
        if not left_within_stay(campaign, registered, at):
            return "stayed"
        return self.revoke(campaign_id, invitee, LEFT_BEFORE_STAY).status

    def credit(self, campaign_id: str, invitee_id: str) -> str:
        """Credit a pending invite to its referrer and grant the tiers that reaches."""
        campaign = self.campaign(campaign_id)
        now = self.clock()

        def read() -> tuple[Invite | None, Participant | None]:
            invite = self.table.invite(campaign_id, invitee_id)
            referrer = self.table.participant(campaign_id, invite.referrer_id) if invite else None
            return invite, referrer

        def change_and_save(state: tuple[Invite | None, Participant | None]) -> str:
            invite, referrer = state
            if invite is None or invite.status == REVOKED:
                return "already_settled"
            if invite.status == CREDITED:
                # Credited already (by another run, or by this one whose answer was lost to a
                # timeout): make sure the tiers it reached were granted; granting is idempotent.
                if referrer is not None:
                    self.grant_tiers(campaign, referrer, tiers_reached(campaign, referrer.invites))
                return "already_credited"
            if referrer is None or referrer.blocked:
                if self.table.revoke_pending_invite(campaign_id, invitee_id, now, REFERRER_BLOCKED):
                    details = RefusalDetails(invite.referrer_id, invitee_id)
                    self.table.record_refusal(campaign_id, REFERRER_BLOCKED, now, details)
                return REFERRER_BLOCKED
            # StaleVersion when another invite of the same referrer was credited first: read again.
            self.table.credit_invite(invite, referrer, now)
            # Every tier reached, not only a new one: a grant lost to a crash after an earlier
            # credit is made good here (granting is idempotent).
            self.grant_tiers(campaign, referrer, tiers_reached(campaign, referrer.invites + 1))
            return CREDITED

        return modify(read, change_and_save, f"the referrer of invite {invitee_id}", CREDIT_ATTEMPTS)

    def credit_due(self) -> dict[str, int]:
        """The scheduled run: credit invites whose stay time passed, retry notifications."""
        now = self.clock()
        outcomes: dict[str, int] = {}
        for campaign_id, invitee_id in list(self.table.due_invites(now)):
            outcome = self.credit(campaign_id, invitee_id)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        for campaign_id, reward_id in list(self.table.due_notifications(now)):
            outcome = "notify_" + self.notify(campaign_id, reward_id)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return outcomes

    def revoke(self, campaign_id: str, invitee_id: str, reason: str) -> Invite:
        """The invitee left: their invite no longer counts (rewards already granted stay)."""
        now = self.clock()

        def read() -> Invite:
            invite = self.table.invite(campaign_id, invitee_id)
            if invite is None:
                raise NotFound(f"visitor {invitee_id} is not an invitee of campaign {campaign_id}")
            return invite

        def change_and_save(invite: Invite) -> Invite:
            if invite.status == REVOKED:
                return invite
            if invite.status == PENDING:
                if not self.table.revoke_pending_invite(campaign_id, invitee_id, now, reason):
                    raise StaleVersion(invitee_id)  # credited meanwhile: read again
            else:
                referrer = self.table.participant(campaign_id, invite.referrer_id)
                if referrer is None:
                    raise Conflict(f"the referrer {invite.referrer_id} of invite {invitee_id} does not exist")
                self.table.revoke_credited_invite(invite, referrer, now, reason)
            return read()

        return modify(read, change_and_save, "the invite", CREDIT_ATTEMPTS)

    # -- rewards -----------------------------------------------------------------------

    def grant_tiers(self, campaign: Campaign, participant: Participant, tiers: list[Tier]) -> list[str]:
        """Grant `participant` the rewards of `tiers` they reached (each once; none if blocked)."""
        if participant.blocked:
            return []
        outcomes = []
        for tier in tiers:
            outcome = self.table.grant_reward(campaign, participant, tier, self.clock())
            if outcome is None:
                continue  # granted before
            outcomes.append(outcome)
            logger.info("reward %s for %s tier %s in %s", outcome, participant.id, tier.level, campaign.id)
            if outcome == GRANTED and campaign.reward_webhook_url:
                self.notify(campaign.id, f"{participant.id}#{tier.level}")
        return outcomes

    def notify(self, campaign_id: str, reward_id: str) -> str:
        """Tell the brand's coupon system about one reward (the campaign worker; see rewards.notify)."""
        return rewards.notify(self.table, self.campaign, self.retry, campaign_id, reward_id, self.clock())
