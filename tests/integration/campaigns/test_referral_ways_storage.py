"""WeCom campaigns' storage on the emulated DynamoDB: a participant's contact way saved once (the
second saver is told), dropped once; the live-way counts reserved up to a limit and released; a
campaign's wecom_users kept; a referral state remembered apart from the live codes' way states."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from siyu.campaigns.repository import CampaignsTable
from siyu.campaigns.rules import Campaign, Participant, Rules, Tier
from siyu.wecom.records import ReferralState
from siyu.wecom.repository import WecomTable

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def table(stack) -> CampaignsTable:
    return CampaignsTable(boto3.client("dynamodb"), next(iter(stack.template.tables())))


def a_campaign(table: CampaignsTable) -> Campaign:
    campaign = Campaign(
        id=uuid.uuid4().hex[:12],
        name="企微裂变",
        code_id="code01",
        starts_at=NOW,
        ends_at=NOW + timedelta(days=1),
        tiers=(Tier(1, 2, "小样", 5),),
        rules=Rules(stay_minutes=5),
        created_at=NOW,
        wecom_users=("zhangsan", "lisi"),
    )
    table.create_campaign(campaign)
    return campaign


def test_a_campaign_keeps_its_wecom_users(table):
    campaign = a_campaign(table)
    assert table.campaign(campaign.id).wecom_users == ("zhangsan", "lisi")
    assert table.campaign(campaign.id).proof == "wecom_add"


def test_a_participants_way_is_saved_once_and_dropped_once(table):
    campaign = a_campaign(table)
    participant = table.join(Participant(uuid.uuid4().hex[:12], campaign.id, uuid.uuid4().hex[:20], "A", NOW))
    with ThreadPoolExecutor(max_workers=4) as pool:
        saved = list(pool.map(lambda n: table.save_way(participant, f"cfg{n}", f"https://w/{n}", "sc1"), range(4)))
    assert saved.count(True) == 1
    stored = table.participant(campaign.id, participant.id)
    assert stored.way_config_id == f"cfg{saved.index(True)}" and stored.way_url == f"https://w/{saved.index(True)}"
    assert table.drop_way(stored) is True and table.drop_way(stored) is False
    after = table.participant(campaign.id, participant.id)
    assert after.way_config_id is None and after.way_url == stored.way_url  # the poster keeps its URL


def test_live_ways_are_reserved_up_to_the_limit_and_released(table):
    campaign = a_campaign(table)
    base = table.ways_in_use()  # other tests' campaigns share the total
    with ThreadPoolExecutor(max_workers=8) as pool:
        reserved = list(pool.map(lambda _: table.reserve_way(campaign.id, base + 3), range(8)))
    assert reserved.count(True) == 3
    assert table.live_ways(campaign.id) == 3 and table.ways_in_use() == base + 3
    for _ in range(3):
        table.release_way(campaign.id)
    assert table.live_ways(campaign.id) == 0 and table.ways_in_use() == base


def test_a_referral_state_is_not_a_live_code_way_state(stack):
    wecom = WecomTable(boto3.client("dynamodb"), next(iter(stack.template.tables())))
    state = "sc" + uuid.uuid4().hex[:16]
    wecom.remember_referral_state(ReferralState(state, "camp01", "part01"))
    assert wecom.referral_state(state) == ReferralState(state, "camp01", "part01")
    assert wecom.state(state) is None
