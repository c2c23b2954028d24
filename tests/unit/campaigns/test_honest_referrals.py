"""Referrals as honest as the cookie path allows (issue 16): the attacks, replayed on the service
with the in-memory store. Only a top-level navigation in WeChat's browser that showed a usable
target of the campaign's own code can be an invite, and one address alone never reaches a tier."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.campaigns.referrals import ScanFacts, referral_message, referral_visit_of, scan_facts
from siyu.campaigns.rules import (
    ADDRESS_CAP,
    ADDRESS_RATE,
    ALREADY_INVITED,
    CAMPAIGN_NOT_ON_CODE,
    CLIENT_LIMITED,
    CREDITED,
    DEFAULT_INVITES_PER_ADDRESS,
    NO_USABLE_TARGET,
    NOT_A_PAGE_VIEW,
    NOT_WECHAT,
    PAGE_CHOICES,
    PAGE_FALLBACK,
    PAGE_TARGET,
    PAGE_UNCOUNTED,
    SELF_INVITE,
    Campaign,
    Participant,
    ReferralVisit,
    Rules,
    Tier,
    address_limit,
    address_limit_refusal,
)
from siyu.campaigns.service import CampaignService
from tests.fakes.campaigns import FakeCampaignStore, FakeFiles, FakePosterQueue
from tests.helpers import Clock

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def campaign(tiers=((10, 5), (20, 5)), **rules) -> Campaign:
    return Campaign(
        id="camp01",
        name="双十二",
        code_id="code01",
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=7),
        tiers=tuple(Tier(i + 1, invites, f"reward {i + 1}", stock) for i, (invites, stock) in enumerate(tiers)),
        rules=Rules(**rules),
        created_at=NOW - timedelta(days=1),
        scan_base_url="https://qr.example.cn",
    )


def setup(c: Campaign) -> tuple[CampaignService, FakeCampaignStore, Participant]:
    store = FakeCampaignStore()
    store.create_campaign(c)
    alice = store.join(Participant("alice00001", "camp01", "a" * 20, "Alice", NOW - timedelta(hours=1)))
    return CampaignService(store, FakeFiles(), FakePosterQueue(), clock=Clock(NOW)), store, alice


def page_view(referrer: str, n: int, address: str = "laptop", **facts) -> ReferralVisit:
    """A first scan of the referral URL as a phone makes it: WeChat, top-level, the group's QR shown."""
    visit = ReferralVisit("camp01", referrer, f"{n + 99:020x}", True, address, NOW, "code01", PAGE_TARGET, True)
    return replace(visit, **facts)


def reasons(store: FakeCampaignStore) -> list[str]:
    return [r.reason for r in store.refusals("camp01", 1000, None)[0]]


def test_twenty_cookie_less_scans_from_one_address_never_reach_the_lowest_tier():
    """The attack: 20 GETs of one's own referral URL from one laptop credited 10 and granted both tiers."""
    service, store, alice = setup(campaign(tiers=((10, 5), (20, 5))))
    outcomes = [service.register_referral(page_view(alice.id, n)) for n in range(20)]
    assert outcomes.count(CREDITED) == DEFAULT_INVITES_PER_ADDRESS == 3
    assert store.participant("camp01", alice.id).invites == 3 and store.rewards_of("camp01", alice.id) == []
    assert set(reasons(store)) == {ADDRESS_CAP, ADDRESS_RATE} and len(reasons(store)) == 17


def test_the_default_limit_stays_below_a_low_lowest_tier():
    service, store, alice = setup(campaign(tiers=((2, 5),)))
    outcomes = [service.register_referral(page_view(alice.id, n)) for n in range(20)]
    assert outcomes.count(CREDITED) == 1 and store.rewards_of("camp01", alice.id) == []


def test_the_limit_is_per_campaign_not_per_hour():
    service, store, alice = setup(campaign(tiers=((10, 5),)))
    for hour in range(5):
        visit = page_view(alice.id, hour)
        service.register_referral(replace(visit, at=NOW - timedelta(hours=hour)))
    assert store.participant("camp01", alice.id).invites == 3


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        ({"page": PAGE_FALLBACK}, NO_USABLE_TARGET),  # "groups full": nothing to add
        ({"page": PAGE_CHOICES}, NO_USABLE_TARGET),
        ({"page": ""}, NO_USABLE_TARGET),  # the scan side did not say
        ({"page": PAGE_UNCOUNTED}, CLIENT_LIMITED),  # its client was over the scan path's hourly limit
        ({"in_wechat": False}, NOT_WECHAT),  # another browser cannot add the group
        ({"sec_fetch_dest": "image", "sec_fetch_mode": "no-cors"}, NOT_A_PAGE_VIEW),  # <img src=".../s/x?r=">
        ({"sec_fetch_dest": "iframe", "sec_fetch_mode": "navigate"}, NOT_A_PAGE_VIEW),
        ({"sec_fetch_dest": "empty", "sec_fetch_mode": "cors"}, NOT_A_PAGE_VIEW),  # fetch()
        ({"sec_fetch_mode": "no-cors"}, NOT_A_PAGE_VIEW),
        ({"code_id": "othercode"}, CAMPAIGN_NOT_ON_CODE),  # a referral pasted onto another code
        ({"code_id": ""}, CAMPAIGN_NOT_ON_CODE),
    ],
)
def test_visits_that_showed_nothing_usable_are_refused_with_their_own_reason(facts, reason):
    service, store, alice = setup(campaign())
    assert service.register_referral(page_view(alice.id, 1, **facts)) == reason
    assert reasons(store) == [reason] and store.participant("camp01", alice.id).invites == 0


def test_an_old_webview_without_sec_fetch_headers_still_counts():
    service, _, alice = setup(campaign())
    assert service.register_referral(page_view(alice.id, 1, sec_fetch_dest=None, sec_fetch_mode=None)) == CREDITED
    assert service.register_referral(page_view(alice.id, 2, sec_fetch_dest="document", sec_fetch_mode="navigate"))


def test_self_invite_and_already_invited_keep_their_reasons_once_the_address_limit_is_used():
    service, store, alice = setup(campaign())
    for n in range(3):
        assert service.register_referral(page_view(alice.id, n)) == CREDITED
    assert service.register_referral(page_view(alice.id, 0)) == ALREADY_INVITED
    assert service.register_referral(replace(page_view(alice.id, 9), visitor_id=alice.visitor_id)) == SELF_INVITE
    assert service.register_referral(page_view(alice.id, 10)) == ADDRESS_CAP
    assert sorted(reasons(store)) == sorted([ALREADY_INVITED, SELF_INVITE, ADDRESS_CAP])


def test_refused_visits_do_not_use_up_the_address_limit():
    service, _, alice = setup(campaign())
    for n in range(10):
        service.register_referral(page_view(alice.id, n, page=PAGE_FALLBACK))
    assert [service.register_referral(page_view(alice.id, 20 + n)) for n in range(3)] == [CREDITED] * 3


def test_the_message_carries_the_scan_facts_and_a_message_without_them_counts_against_the_invite():
    facts = scan_facts("code01", True, True, ("Document", "navigate"))
    message = referral_message("camp01.alice00001", "v" * 20, True, "h", NOW, facts)
    visit = referral_visit_of(message)
    assert (visit.code_id, visit.page, visit.in_wechat) == ("code01", PAGE_TARGET, True)
    assert (visit.sec_fetch_dest, visit.sec_fetch_mode) == ("document", "navigate")
    old = {k: v for k, v in message.items() if k not in ("code_id", "page", "in_wechat", "sec_fetch_dest")}
    service, store, _ = setup(campaign())
    assert service.register_referral(referral_visit_of(old)) == CAMPAIGN_NOT_ON_CODE
    bare = referral_visit_of(referral_message("camp01.alice00001", "v" * 20, True, "h", NOW, ScanFacts("code01")))
    assert service.register_referral(bare) == NOT_WECHAT


@given(
    lowest=st.integers(1, 10_000),
    configured=st.none() | st.integers(1, 100_000),
    more=st.lists(st.integers(1, 10_000), max_size=4),
)
def test_one_address_alone_never_reaches_the_lowest_tier(lowest, configured, more):
    counts = sorted({lowest, *(lowest + m for m in more)})
    tiers = tuple(Tier(i + 1, n, "r", 1) for i, n in enumerate(counts))
    c = replace(campaign(), tiers=tiers, rules=Rules(invites_per_address=configured))
    assert address_limit(c) < lowest
    if address_limit_refusal(tiers, configured, cookie_proof=True) is None:
        assert address_limit(c) >= 1 and address_limit(c) == min(configured or DEFAULT_INVITES_PER_ADDRESS, lowest - 1)


def test_the_limit_is_validated_against_the_tiers():
    tiers = campaign(tiers=((4, 1), (9, 1))).tiers
    assert address_limit_refusal(tiers, None, cookie_proof=True) is None
    assert address_limit_refusal(tiers, 3, cookie_proof=True) is None
    assert "set at most 3" in (address_limit_refusal(tiers, 4, cookie_proof=True) or "")
    one = campaign(tiers=((1, 1),)).tiers
    assert "at least 2" in (address_limit_refusal(one, None, cookie_proof=True) or "")
    assert address_limit_refusal(one, None, cookie_proof=False) is None  # WeCom adds are the proof
