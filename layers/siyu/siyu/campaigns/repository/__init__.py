"""All access to fission campaigns in the DynamoDB table (one module per record family) and
to the poster queue.

pk = CAMPAIGN#<id>  sk = CAMPAIGN            the campaign (campaign_json, version);
                                             list_pk=CAMPAIGN (ListIndex: newest first)
pk = CAMPAIGN#<id>  sk = TIER#<level>        stock, granted: a reward is granted only with
                                             `granted < stock`, in one transaction with it
pk = CAMPAIGN#<id>  sk = PART#<participant>  a participant; list_pk=RANK#<campaign>,
                                             list_sk=rank key (the leaderboard; none if blocked)
pk = CAMPAIGN#<id>  sk = VISITOR#<visitor>   which participant a visitor is (one each)
pk = CAMPAIGN#<id>  sk = INVITE#<visitor>    the one invite an invitee can be: referrer,
                                             status pending|credited|revoked; due_pk=INVITE
                                             while it waits for its stay time
pk = CAMPAIGN#<id>  sk = REWARD#<part>#<lvl> a reward, created once; notify status and
                                             attempts; due_pk=REWARD while not notified
pk = CAMPAIGN#<id>  sk = REFUSAL#<at>#<rnd>  an invite or join that was refused, and why
pk = CAMPAIGN#<id>  sk = WAYS                live referral ways of a WeCom campaign
pk = CAMPAIGN#WAYS  sk = WAYS                siyu's live referral ways, against the corp's quota
pk = RATE#<campaign>#<kind>#<key>#<hour>     an hourly counter (expires on its own)
"""

from __future__ import annotations

from siyu.campaigns.repository.campaigns import CampaignRecords, StockBelowGranted, campaign_from_json, campaign_to_json
from siyu.campaigns.repository.invites import InviteRecords
from siyu.campaigns.repository.participants import ParticipantRecords
from siyu.campaigns.repository.poster_queue import PosterQueue, job_of
from siyu.campaigns.repository.refusals import RefusalRecords
from siyu.campaigns.repository.rewards import RewardRecords
from siyu.campaigns.repository.ways import WayRecords

__all__ = [
    "CampaignsTable",
    "PosterQueue",
    "StockBelowGranted",
    "campaign_from_json",
    "campaign_to_json",
    "job_of",
]


class CampaignsTable(CampaignRecords, ParticipantRecords, InviteRecords, RewardRecords, RefusalRecords, WayRecords):
    """Every campaign record family in the one table (the service's CampaignStore)."""
