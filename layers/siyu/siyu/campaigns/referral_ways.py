"""WeCom campaigns' participant contact ways: made once per participant when their poster is first
rendered (the poster function), and deleted when the campaign has ended (the campaign worker's
schedule, a bounded number per run). The WeCom calls are behind ``ReferralWays``; the live-way
counts keep siyu within its share of the corp's contact way quota."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from siyu.campaigns.errors import WayQuotaReached
from siyu.campaigns.ports import CampaignStore, ReferralWays
from siyu.campaigns.rules import Campaign, Participant
from siyu.core.clock import utcnow

logger = logging.getLogger(__name__)
DELETES_PER_RUN = 200  # each is one WeCom call; a minute's run stays well inside its timeout
CAMPAIGN_PAGE = 50


@dataclass
class ParticipantWays:
    table: CampaignStore
    ways: ReferralWays
    limit: int
    clock: Callable[[], datetime] = utcnow

    def ensure(self, campaign: Campaign, participant: Participant) -> Participant:
        """The participant with their contact way, made if they have none (once: a second maker
        that loses the conditional save deletes its own way). No way for an ended campaign."""
        if not campaign.wecom_users or participant.way_url or not campaign.running(self.clock()):
            return participant
        if not self.table.reserve_way(campaign.id, self.limit):
            raise WayQuotaReached(
                f"siyu's share of the corp's WeCom contact ways is used ({self.limit} live referral ways); "
                "end campaigns to free theirs, or raise REFERRAL_WAY_SHARE"
            )
        try:
            made = self.ways.make(campaign.id, participant.id, campaign.wecom_users)
        except BaseException:
            self.table.release_way(campaign.id)
            raise
        if not self.table.save_way(participant, made.config_id, made.qr_url, made.state):
            logger.info("participant %s got a way meanwhile; deleting the extra %s", participant.id, made.config_id)
            self.ways.delete(made.config_id)
            self.table.release_way(campaign.id)
        return self.table.participant(campaign.id, participant.id) or participant

    def delete_ended(self, budget: int = DELETES_PER_RUN) -> dict[str, int]:
        """Delete the contact ways of campaigns that have ended, at most `budget` this run. Campaigns
        come from their list (newest first); a campaign with no live way is skipped with one read."""
        now = self.clock()
        totals = {"campaigns": 0, "deleted": 0}
        cursor: str | None = None
        while True:
            campaigns, cursor = self.table.list_campaigns(CAMPAIGN_PAGE, cursor)
            for campaign in campaigns:
                if not campaign.wecom_users or now < campaign.ends_at or self.table.live_ways(campaign.id) <= 0:
                    continue
                totals["campaigns"] += 1
                for participant in self.table.all_participants(campaign.id):
                    if totals["deleted"] >= budget:
                        return totals
                    if participant.way_config_id:
                        self.ways.delete(participant.way_config_id)
                        if self.table.drop_way(participant):
                            self.table.release_way(campaign.id)
                            totals["deleted"] += 1
            if cursor is None:
                return totals
