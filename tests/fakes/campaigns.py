"""An in-memory CampaignStore (siyu.campaigns.ports) that keeps the DynamoDB repository's
conditions: a campaign saved over a newer version raises StaleVersion, a stock below what was
granted raises StockBelowGranted, one participant per visitor, one invite per invitee, a credit
or revoke only from the status and count that were read, a reward once per tier and only while
`granted < stock`, a notification claimed by one sender while its lease runs, hourly counters."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import asdict, replace
from datetime import datetime, timedelta

from siyu.campaigns.ports import RefusalDetails
from siyu.campaigns.records import Invite, PosterJob, Refusal, Reward
from siyu.campaigns.repository import StockBelowGranted
from siyu.campaigns.rules import (
    CREDITED,
    GRANTED,
    OUT_OF_STOCK,
    PENDING,
    REVOKED,
    Campaign,
    Participant,
    Tier,
    rank_key,
)
from siyu.core.clock import to_precise_iso
from siyu.core.errors import StaleVersion
from siyu.delivery.outcome import SendOutcome


class FakeCampaignStore:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.campaigns: dict[str, Campaign] = {}
        self.tiers: dict[tuple[str, int], list[int]] = {}  # (campaign, level) -> [stock, granted]
        self.participants_: dict[tuple[str, str], Participant] = {}
        self.visitors: dict[tuple[str, str], str] = {}
        self.invites_: dict[tuple[str, str], Invite] = {}
        self.invite_due: dict[tuple[str, str], datetime] = {}
        self.rewards_: dict[tuple[str, str], Reward] = {}
        self.reward_due: dict[tuple[str, str], datetime] = {}
        self.leases: dict[tuple[str, str], datetime] = {}
        self.refusals_: list[tuple[str, Refusal]] = []
        self.counters: dict[str, int] = {}
        self.credit_writes = 0  # successful credit transactions (a test counts exactly-once by it)
        self.live: dict[str, int] = {}  # campaign -> live referral ways

    # -- campaigns -------------------------------------------------------------------

    def create_campaign(self, campaign: Campaign) -> None:
        with self.lock:
            assert campaign.id not in self.campaigns
            self.campaigns[campaign.id] = campaign
            for tier in campaign.tiers:
                self.tiers[(campaign.id, tier.level)] = [tier.stock, 0]

    def campaign(self, campaign_id: str) -> Campaign | None:
        return self.campaigns.get(campaign_id)

    def save_campaign(self, campaign: Campaign, stock_changes: dict[int, int]) -> Campaign:
        with self.lock:
            if self.campaigns[campaign.id].version != campaign.version:
                raise StaleVersion(campaign.id)
            for level, stock in stock_changes.items():
                if self.tiers[(campaign.id, level)][1] > stock:
                    raise StockBelowGranted(level)
            for level, stock in stock_changes.items():
                self.tiers[(campaign.id, level)][0] = stock
            saved = replace(campaign, version=campaign.version + 1)
            self.campaigns[campaign.id] = saved
            return saved

    def list_campaigns(self, limit: int, cursor: str | None) -> tuple[list[Campaign], str | None]:
        return sorted(self.campaigns.values(), key=lambda c: c.created_at, reverse=True)[:limit], None

    def stock(self, campaign_id: str) -> dict[int, tuple[int, int]]:
        return {level: (s, g) for (cid, level), (s, g) in self.tiers.items() if cid == campaign_id}

    # -- participants ----------------------------------------------------------------

    def join(self, participant: Participant) -> Participant:
        with self.lock:
            existing = self.participant_of_visitor(participant.campaign_id, participant.visitor_id)
            if existing is not None:
                return existing
            joined = replace(participant, rank_key=rank_key(participant.invites, participant.joined_at))
            self.visitors[(participant.campaign_id, participant.visitor_id)] = participant.id
            self.participants_[(participant.campaign_id, participant.id)] = joined
            return joined

    def participant(self, campaign_id: str, participant_id: str) -> Participant | None:
        return self.participants_.get((campaign_id, participant_id))

    def participant_of_visitor(self, campaign_id: str, visitor_id: str) -> Participant | None:
        pid = self.visitors.get((campaign_id, visitor_id))
        return self.participant(campaign_id, pid) if pid else None

    def participants(self, campaign_id: str, limit: int, cursor: str | None) -> tuple[list[Participant], str | None]:
        return list(self.all_participants(campaign_id))[:limit], None

    def all_participants(self, campaign_id: str) -> Iterator[Participant]:
        return iter(sorted((p for (c, _), p in self.participants_.items() if c == campaign_id), key=lambda p: p.id))

    def leaderboard(self, campaign_id: str, limit: int) -> list[Participant]:
        ranked = [p for p in self.all_participants(campaign_id) if not p.blocked]
        return sorted(ranked, key=lambda p: p.rank_key)[:limit]

    def set_blocked(self, participant: Participant, blocked: bool, reason: str | None) -> None:
        with self.lock:
            key = (participant.campaign_id, participant.id)
            current = self.participants_[key]
            self.participants_[key] = replace(
                current, blocked=blocked, blocked_reason=(reason or "") if blocked else None
            )

    def note_poster_request(self, participant: Participant, at: datetime) -> bool:
        with self.lock:
            pkey = (participant.campaign_id, participant.id)
            current = self.participants_[pkey]
            if current.poster_requests != participant.poster_requests:
                return False
            self.participants_[pkey] = replace(
                current, poster_requests=current.poster_requests + 1, poster_requested_at=at
            )
            return True

    def set_poster(self, participant: Participant, key: str, version: int) -> None:
        with self.lock:
            pkey = (participant.campaign_id, participant.id)
            self.participants_[pkey] = replace(self.participants_[pkey], poster_key=key, poster_version=version)

    # -- WeCom campaigns' contact ways ------------------------------------------------

    def reserve_way(self, campaign_id: str, limit: int) -> bool:
        with self.lock:
            if self.ways_in_use() >= limit:
                return False
            self.live[campaign_id] = self.live.get(campaign_id, 0) + 1
            return True

    def release_way(self, campaign_id: str) -> None:
        with self.lock:
            self.live[campaign_id] = self.live.get(campaign_id, 0) - 1

    def ways_in_use(self) -> int:
        return sum(self.live.values())

    def live_ways(self, campaign_id: str) -> int:
        return self.live.get(campaign_id, 0)

    def save_way(self, participant: Participant, config_id: str, url: str, state: str) -> bool:
        with self.lock:
            key = (participant.campaign_id, participant.id)
            if self.participants_[key].way_url:
                return False
            self.participants_[key] = replace(
                self.participants_[key], way_config_id=config_id, way_url=url, way_state=state
            )
            return True

    def drop_way(self, participant: Participant) -> bool:
        with self.lock:
            key = (participant.campaign_id, participant.id)
            current = self.participants_[key]
            if not current.way_config_id or current.way_config_id != participant.way_config_id:
                return False
            self.participants_[key] = replace(current, way_config_id=None)
            return True

    # -- invites ---------------------------------------------------------------------

    def register_invite(
        self, campaign_id: str, visitor_id: str, referrer_id: str, at: datetime, credit_at: datetime, address: str
    ) -> bool:
        with self.lock:
            if (campaign_id, visitor_id) in self.invites_:
                return False
            self.invites_[(campaign_id, visitor_id)] = Invite(
                visitor_id, referrer_id, PENDING, to_precise_iso(at), to_precise_iso(credit_at), address
            )
            self.invite_due[(campaign_id, visitor_id)] = credit_at
            return True

    def invite(self, campaign_id: str, visitor_id: str) -> Invite | None:
        return self.invites_.get((campaign_id, visitor_id))

    def invites(self, campaign_id: str, limit: int, cursor: str | None) -> tuple[list[Invite], str | None]:
        return [i for (c, _), i in sorted(self.invites_.items()) if c == campaign_id][:limit], None

    def revoke_pending_invite(self, campaign_id: str, visitor_id: str, at: datetime, reason: str) -> bool:
        with self.lock:
            invite = self.invites_[(campaign_id, visitor_id)]
            if invite.status != PENDING:
                return False
            self._set_status(campaign_id, invite, REVOKED, at, reason)
            return True

    def credit_invite(self, invite: Invite, referrer: Participant, at: datetime) -> None:
        self._settle(invite, referrer, referrer.invites + 1, PENDING, CREDITED, at, None)
        self.credit_writes += 1

    def revoke_credited_invite(self, invite: Invite, referrer: Participant, at: datetime, reason: str) -> None:
        self._settle(invite, referrer, max(0, referrer.invites - 1), CREDITED, REVOKED, at, reason)

    def due_invites(self, now: datetime) -> Iterator[tuple[str, str]]:
        return iter(sorted(key for key, at in self.invite_due.items() if at <= now))

    def _settle(
        self, invite: Invite, referrer: Participant, count: int, old: str, new: str, at: datetime, reason: str | None
    ) -> None:
        with self.lock:
            key = (referrer.campaign_id, referrer.id)
            stored = self.invites_[(referrer.campaign_id, invite.invitee_visitor_id)]
            if stored.status != old or self.participants_[key].invites != referrer.invites:
                raise StaleVersion(referrer.id)
            self.participants_[key] = replace(self.participants_[key], invites=count, rank_key=rank_key(count, at))
            self._set_status(referrer.campaign_id, stored, new, at, reason)

    def _set_status(self, campaign_id: str, invite: Invite, status: str, at: datetime, reason: str | None) -> None:
        changed = replace(invite, status=status, changed_at=to_precise_iso(at), reason=reason or invite.reason)
        self.invites_[(campaign_id, invite.invitee_visitor_id)] = changed
        self.invite_due.pop((campaign_id, invite.invitee_visitor_id), None)

    # -- rewards ---------------------------------------------------------------------

    def grant_reward(self, campaign: Campaign, participant: Participant, tier: Tier, now: datetime) -> str | None:
        with self.lock:
            reward_id = f"{participant.id}#{tier.level}"
            if (campaign.id, reward_id) in self.rewards_:
                return None
            stock = self.tiers[(campaign.id, tier.level)]
            granted = stock[1] < stock[0]
            if granted:
                stock[1] += 1
            notify = "pending" if campaign.reward_webhook_url and granted else "none"
            self.rewards_[(campaign.id, reward_id)] = Reward(
                reward_id,
                participant.id,
                participant.nickname,
                tier.level,
                tier.reward,
                tier.invites,
                GRANTED if granted else OUT_OF_STOCK,
                to_precise_iso(now),
                notify,
            )
            if notify == "pending":
                self.reward_due[(campaign.id, reward_id)] = now + timedelta(minutes=2)
            return GRANTED if granted else OUT_OF_STOCK

    def reward(self, campaign_id: str, reward_id: str) -> Reward | None:
        return self.rewards_.get((campaign_id, reward_id))

    def rewards(self, campaign_id: str, limit: int, cursor: str | None) -> tuple[list[Reward], str | None]:
        return [r for (c, _), r in sorted(self.rewards_.items()) if c == campaign_id][:limit], None

    def rewards_of(self, campaign_id: str, participant_id: str) -> list[Reward]:
        return [r for r in self.rewards(campaign_id, 10**9, None)[0] if r.participant_id == participant_id]

    def claim_notify(self, campaign_id: str, reward_id: str, now: datetime, lease: timedelta) -> Reward | None:
        with self.lock:
            key = (campaign_id, reward_id)
            reward = self.rewards_.get(key)
            if reward is None or reward.notify_status not in ("pending", "retry"):
                return None
            if key in self.leases and self.leases[key] >= now:
                return None
            self.leases[key] = now + lease
            return reward

    def record_notify(self, campaign_id: str, reward_id: str, outcome: SendOutcome) -> None:
        with self.lock:
            key = (campaign_id, reward_id)
            reward = self.rewards_[key]
            self.rewards_[key] = replace(
                reward,
                notify_status=outcome.status,
                notified_at=to_precise_iso(outcome.at),
                attempts=reward.attempts + 1,
                last_error=outcome.error[:500] if outcome.error else reward.last_error,
            )
            self.leases.pop(key, None)
            if outcome.retry_at is None:
                self.reward_due.pop(key, None)
            else:
                self.reward_due[key] = outcome.retry_at

    def requeue_notify(self, campaign_id: str, reward_id: str, now: datetime) -> bool:
        with self.lock:
            key = (campaign_id, reward_id)
            reward = self.rewards_[key]
            if reward.status != GRANTED or reward.notify_status not in ("failed", "delivered"):
                return False
            self.rewards_[key] = replace(reward, notify_status="pending", attempts=0)
            self.reward_due[key] = now
            return True

    def due_notifications(self, now: datetime) -> Iterator[tuple[str, str]]:
        return iter(sorted(key for key, at in self.reward_due.items() if at <= now))

    # -- refusals and hourly limits --------------------------------------------------

    def record_refusal(self, campaign_id: str, reason: str, at: datetime, details: RefusalDetails) -> None:
        with self.lock:
            refusal_id = f"{to_precise_iso(at)}#{len(self.refusals_):08d}"
            refusal = Refusal(refusal_id, reason, to_precise_iso(at), **asdict(details))
            self.refusals_.append((campaign_id, refusal))

    def refusals(self, campaign_id: str, limit: int, cursor: str | None) -> tuple[list[Refusal], str | None]:
        return [r for c, r in reversed(self.refusals_) if c == campaign_id][:limit], None

    def within_limit(
        self, campaign_id: str, kind: str, key: str, hour: str, limit: int, now: datetime, until: datetime | None = None
    ) -> bool:
        with self.lock:
            counter = f"{campaign_id}#{kind}#{key}#{hour}"
            if self.counters.get(counter, 0) >= limit:
                return False
            self.counters[counter] = self.counters.get(counter, 0) + 1
            return True


class FakePosterQueue:
    def __init__(self) -> None:
        self.jobs: list[PosterJob] = []

    def request(self, jobs: list[PosterJob]) -> int:
        self.jobs.extend(jobs)
        return len(jobs)


class FakeFiles:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, body: bytes, content_type: str) -> str | None:
        self.objects[key] = body
        return None

    def get(self, key: str) -> bytes:
        return self.objects[key]


class FakeErasure:
    """An in-memory ErasureStore over a FakeCampaignStore: deletes what the DynamoDB repository deletes
    (the participant, their visitor link, rewards, their invite and those they made, refusals naming
    them; a whole campaign's records, the campaign first) and keeps the erasure markers."""

    def __init__(self, store: FakeCampaignStore) -> None:
        self.store = store
        self.markers: dict[str, datetime] = {}

    def erase_participant(self, participant: Participant) -> int:
        s, pid, vid, cid = self.store, participant.id, participant.visitor_id, participant.campaign_id
        with s.lock:
            before = len(s.participants_) + len(s.visitors) + len(s.rewards_) + len(s.invites_) + len(s.refusals_)
            s.participants_.pop((cid, pid), None)
            s.visitors.pop((cid, vid), None)
            s.rewards_ = {k: r for k, r in s.rewards_.items() if not (k[0] == cid and r.participant_id == pid)}
            s.invites_ = {
                k: i for k, i in s.invites_.items() if not (k[0] == cid and (k[1] == vid or i.referrer_id == pid))
            }
            s.refusals_ = [
                (c, r) for c, r in s.refusals_ if not (c == cid and (pid == r.referrer_id or vid == r.visitor_id))
            ]
            after = len(s.participants_) + len(s.visitors) + len(s.rewards_) + len(s.invites_) + len(s.refusals_)
            for key, other in list(s.participants_.items()):
                if key[0] == cid and other.referred_by == pid:
                    s.participants_[key] = replace(other, referred_by=None)
            return before - after

    def mark_erasing(self, campaign_id: str, now: datetime) -> None:
        self.markers[campaign_id] = now

    def erasing(self) -> list[str]:
        return list(self.markers)

    def finish_erasing(self, campaign_id: str) -> None:
        self.markers.pop(campaign_id, None)

    def erase_campaign_items(self, campaign_id: str, seconds: float) -> tuple[int, bool]:
        s = self.store
        with s.lock:
            deleted = 1 if s.campaigns.pop(campaign_id, None) else 0
            if seconds <= 0:
                return deleted, False
            for table in (s.participants_, s.visitors, s.invites_, s.rewards_, s.tiers):
                for key in [k for k in table if k[0] == campaign_id]:
                    del table[key]
                    deleted += 1
            s.refusals_ = [(c, r) for c, r in s.refusals_ if c != campaign_id]
            return deleted, True


class FakeVersionedFiles(FakeFiles):
    """A versioned bucket: a put keeps the older versions, erase_prefix removes every one."""

    def __init__(self) -> None:
        super().__init__()
        self.versions: dict[str, int] = {}

    def put(self, key: str, body: bytes, content_type: str) -> str | None:
        self.versions[key] = self.versions.get(key, 0) + 1
        return super().put(key, body, content_type)

    def erase_prefix(self, prefix: str) -> int:
        doomed = [k for k in self.versions if k.startswith(prefix)]
        for key in doomed:
            self.objects.pop(key, None)
        return sum(self.versions.pop(k) for k in doomed)
