"""Erasing a campaign's personal data (PIPL): one participant on request, a whole campaign on
request, and every campaign on its own once CAMPAIGN_DATA_RETENTION_DAYS have passed since it ended.

What goes: the table's records (participants and their nicknames, visitor links, invites and their
address hashes, rewards, refusals) and, in the bucket, **every version** of the avatars and posters
(and the campaign's backgrounds when the whole campaign goes), delete markers included: a plain
delete in the versioned bucket would only hide them.

A whole campaign is erased in steps: a marker is written first, the campaign item goes next (its
pages answer 404 from then on), then its partition page by page and its objects; what one call
does not finish, the campaign worker's schedule resumes (``expire``) until the marker is gone.
A campaign is erased only once it has ended and its participants' WeCom contact ways are deleted
(the worker deletes those after the end), so no way is left behind in WeCom.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from siyu.campaigns.ports import CampaignStore, ErasableFiles, ErasureStore, ReferralWays
from siyu.campaigns.rules import Campaign, Participant
from siyu.core.clock import utcnow
from siyu.core.errors import Conflict, NotFound

RETENTION_DAYS = "CAMPAIGN_DATA_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 90
CAMPAIGN_PAGE = 100


@dataclass(frozen=True)
class Erased:
    """What one erasure call removed, and whether the campaign's erasure is complete."""

    items: int
    objects: int
    finished: bool = True


def retention_from_environment() -> timedelta:
    return timedelta(days=int(os.environ.get(RETENTION_DAYS) or DEFAULT_RETENTION_DAYS))


def erase_after(campaign: Campaign, retention: timedelta) -> datetime:
    """When a campaign's data is erased on its own."""
    return campaign.ends_at + retention


def participant_prefixes(campaign_id: str, participant_id: str) -> tuple[str, str]:
    """The bucket prefixes of one participant's objects: the avatar and every poster version."""
    return (f"campaigns/{campaign_id}/avatars/{participant_id}.", f"campaigns/{campaign_id}/posters/{participant_id}-v")


def campaign_prefix(campaign_id: str) -> str:
    return f"campaigns/{campaign_id}/"


@dataclass
class CampaignErasure:
    campaigns: CampaignStore
    records: ErasureStore
    files: ErasableFiles
    ways: ReferralWays | None = None  # WeCom campaigns: a participant's own contact way is deleted too
    retention: timedelta = timedelta(days=DEFAULT_RETENTION_DAYS)
    clock: Callable[[], datetime] = utcnow
    seconds_per_call: float = 8.0  # an admin call stays well inside the API's 30 s

    def erase_participant(self, campaign_id: str, participant_id: str) -> Erased:
        campaign = self.campaigns.campaign(campaign_id)
        if campaign is None:
            raise NotFound(f"campaign {campaign_id} does not exist")
        participant = self.campaigns.participant(campaign_id, participant_id)
        if participant is None:
            raise NotFound(f"campaign {campaign_id} has no participant {participant_id!r}")
        self._delete_way(campaign, participant)
        items = self.records.erase_participant(participant)
        objects = sum(self.files.erase_prefix(p) for p in participant_prefixes(campaign_id, participant_id))
        return Erased(items, objects)

    def _delete_way(self, campaign: Campaign, participant: Participant) -> None:
        if not participant.way_config_id:
            return
        if self.ways is None:
            raise Conflict("this participant has a WeCom contact way and WeCom is not wired here; try again later")
        self.ways.delete(participant.way_config_id)  # a way already gone in WeCom is no error
        if self.campaigns.drop_way(participant):
            self.campaigns.release_way(campaign.id)

    def erase_campaign(self, campaign_id: str) -> Erased:
        """Erase everything of an ended campaign (or go on with an erasure under way)."""
        if campaign_id not in self.records.erasing():
            campaign = self.campaigns.campaign(campaign_id)
            if campaign is None:
                raise NotFound(f"campaign {campaign_id} does not exist")
            self._check_erasable(campaign)
            self.records.mark_erasing(campaign_id, self.clock())
        return self._go_on(campaign_id, self.seconds_per_call)

    def _check_erasable(self, campaign: Campaign) -> None:
        now = self.clock()
        if now < campaign.ends_at:
            raise Conflict(
                f"campaign {campaign.id} has not ended (ends_at {campaign.ends_at.isoformat()}): "
                "PATCH its ends_at to now first, then erase it"
            )
        live = self.campaigns.live_ways(campaign.id)
        if live > 0:
            raise Conflict(
                f"{live} WeCom contact ways of campaign {campaign.id} are still being deleted (the campaign "
                "worker deletes them after the end); try again in a few minutes"
            )

    def _go_on(self, campaign_id: str, seconds: float) -> Erased:
        items, empty = self.records.erase_campaign_items(campaign_id, seconds)
        objects = self.files.erase_prefix(campaign_prefix(campaign_id)) if empty else 0
        if empty:
            self.records.finish_erasing(campaign_id)
        return Erased(items, objects, finished=empty)

    def expire(self, seconds: float = 30.0) -> dict[str, int]:
        """The schedule: go on with erasures under way, and start those of campaigns that ended
        more than the retention ago. Bounded to about `seconds` of erasing per run."""
        now = self.clock()
        totals = {"campaigns": 0, "items": 0, "objects": 0, "unfinished": 0}
        due = list(self.records.erasing())
        cursor: str | None = None
        while True:
            campaigns, cursor = self.campaigns.list_campaigns(CAMPAIGN_PAGE, cursor)
            for campaign in campaigns:
                expired = now >= erase_after(campaign, self.retention)
                if expired and campaign.id not in due and self.campaigns.live_ways(campaign.id) <= 0:
                    self.records.mark_erasing(campaign.id, now)
                    due.append(campaign.id)
            if cursor is None:
                break
        started = self.clock()
        for campaign_id in due:
            left = seconds - (self.clock() - started).total_seconds()
            if left <= 0:
                totals["unfinished"] += 1
                continue
            erased = self._go_on(campaign_id, left)
            totals["campaigns"] += 1
            totals["items"] += erased.items
            totals["objects"] += erased.objects
            totals["unfinished"] += 0 if erased.finished else 1
        return totals
