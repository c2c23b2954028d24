"""WeCom-proven invites on the in-memory store: the refusal reasons and their order, one invite per
customer per campaign (first poster wins), the revoke window of stay_minutes, redelivered adds that
change nothing, cookie scans that credit nothing, and each participant's contact way made once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from siyu.campaigns.errors import WayQuotaReached
from siyu.campaigns.ports import MadeReferralWay
from siyu.campaigns.referral_ways import ParticipantWays
from siyu.campaigns.rules import (
    ALREADY_INVITED,
    CREDITED,
    LEFT_BEFORE_STAY,
    NOT_NEW,
    NOT_RUNNING,
    PENDING,
    REFERRER_BLOCKED,
    REVOKED,
    SELF_INVITE,
    WECOM_ADD_REQUIRED,
    Campaign,
    Participant,
    ReferralVisit,
    Rules,
    Tier,
    WecomAdd,
    way_limit,
    wecom_add_refusal,
    wecom_invitee,
)
from siyu.campaigns.service import CampaignService
from siyu.web.http_status import http_status
from tests.fakes.campaigns import FakeCampaignStore, FakeFiles, FakePosterQueue
from tests.helpers import Clock

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def campaign(stay: int = 10, **changes) -> Campaign:
    made = Campaign(
        id="camp01",
        name="企微裂变",
        code_id="code01",
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=7),
        tiers=(Tier(1, 2, "小样", 10),),
        rules=Rules(stay_minutes=stay),
        created_at=NOW - timedelta(days=1),
        scan_base_url="https://qr.example.cn",
        wecom_users=("zhangsan",),
    )
    return replace(made, **changes)


def setup(c: Campaign | None = None, way_limit: int = 10):
    store, clock = FakeCampaignStore(), Clock(NOW)
    store.create_campaign(c or campaign())
    service = CampaignService(store, FakeFiles(), FakePosterQueue(), clock=clock, way_limit=way_limit)
    return service, store, clock


def participant(store: FakeCampaignStore, n: int, **changes) -> Participant:
    joined = store.join(Participant(f"part{n:04d}", "camp01", f"{n:020x}", f"P{n}", NOW - timedelta(hours=1)))
    if changes:
        store.participants_[("camp01", joined.id)] = replace(joined, **changes)
    return store.participant("camp01", joined.id) or joined


def add(referrer: Participant, customer: str, at: datetime = NOW, new: bool = True) -> WecomAdd:
    return WecomAdd("camp01", referrer.id, customer, "zhangsan", at, new)


def reasons(store: FakeCampaignStore) -> list[str]:
    return [r.reason for r in store.refusals("camp01", 100, None)[0]]


# -- the rule ---------------------------------------------------------------------------------


def test_the_refusal_reasons_come_in_order():
    c = campaign()
    a = Participant("part0001", "camp01", "v", "A", NOW, external_user_id="wmA")
    assert wecom_add_refusal(c, a, add(a, "wmB"), invited_before=False) is None
    assert wecom_add_refusal(c, a, add(a, "wmA"), invited_before=False) == SELF_INVITE
    assert wecom_add_refusal(c, replace(a, blocked=True), add(a, "wmB"), False) == REFERRER_BLOCKED
    # a customer invited before is already_invited, even when they are no longer new to the brand
    assert wecom_add_refusal(c, a, add(a, "wmB", new=False), invited_before=True) == ALREADY_INVITED
    assert wecom_add_refusal(c, a, add(a, "wmB", new=False), invited_before=False) == NOT_NEW
    assert wecom_add_refusal(c, a, add(a, "wmB", at=c.ends_at), False) == NOT_RUNNING
    anyone = replace(c, rules=Rules(new_to_brand_only=False))
    assert wecom_add_refusal(anyone, a, add(a, "wmB", new=False), invited_before=False) is None


def test_the_way_limit_is_a_share_of_wecoms_500000():
    assert way_limit(0.5) == 250_000 and way_limit(2) == 500_000 and way_limit(-1) == 0


# -- invites ----------------------------------------------------------------------------------


def test_three_new_customers_are_credited_after_the_stay_time():
    service, store, clock = setup()
    a = participant(store, 1)
    assert [service.register_wecom_add(add(a, f"wm{n}")) for n in range(3)] == [PENDING] * 3
    assert service.credit_due() == {}
    clock.now = NOW + timedelta(minutes=10)
    assert service.credit_due() == {CREDITED: 3}
    assert store.participant("camp01", a.id).invites == 3
    assert [r.level for r in store.rewards_of("camp01", a.id)] == [1]


def test_one_invite_per_customer_the_first_poster_wins_and_a_redelivery_changes_nothing():
    service, store, _ = setup()
    a, b = participant(store, 1), participant(store, 2)
    first = add(a, "wmX")
    assert service.register_wecom_add(first) == PENDING
    assert service.register_wecom_add(first) == PENDING  # SQS delivered it twice
    assert service.register_wecom_add(add(b, "wmX", NOW + timedelta(seconds=5))) == ALREADY_INVITED
    assert store.invite("camp01", wecom_invitee("wmX")).referrer_id == a.id
    assert reasons(store) == [ALREADY_INVITED]


def test_refusals_are_recorded_with_their_reason():
    service, store, _ = setup()
    a = participant(store, 1, external_user_id="wmSelf")
    blocked = participant(store, 2, blocked=True)
    assert service.register_wecom_add(add(a, "wmOld", new=False)) == NOT_NEW
    assert service.register_wecom_add(add(a, "wmSelf")) == SELF_INVITE
    assert service.register_wecom_add(add(blocked, "wmNew")) == REFERRER_BLOCKED
    assert sorted(reasons(store)) == sorted([NOT_NEW, SELF_INVITE, REFERRER_BLOCKED])
    assert store.invites("camp01", 10, None)[0] == []


def test_a_delete_within_the_stay_revokes_and_one_after_it_does_not():
    service, store, clock = setup(campaign(stay=10))
    a = participant(store, 1)
    service.register_wecom_add(add(a, "wmLeaves"))
    service.register_wecom_add(add(a, "wmStays"))
    assert service.wecom_left("camp01", a.id, "wmLeaves", NOW + timedelta(minutes=3)) == REVOKED
    assert store.invite("camp01", wecom_invitee("wmLeaves")).reason == LEFT_BEFORE_STAY
    clock.now = NOW + timedelta(minutes=10)
    assert service.credit_due() == {CREDITED: 1}
    assert service.wecom_left("camp01", a.id, "wmStays", NOW + timedelta(minutes=11)) == "stayed"
    assert store.participant("camp01", a.id).invites == 1


def test_a_delete_from_within_the_stay_that_arrives_after_the_credit_still_revokes():
    service, store, clock = setup(campaign(stay=10))
    a = participant(store, 1)
    service.register_wecom_add(add(a, "wmLate"))
    clock.now = NOW + timedelta(minutes=10)
    service.credit_due()
    assert store.participant("camp01", a.id).invites == 1
    assert service.wecom_left("camp01", a.id, "wmLate", NOW + timedelta(minutes=9)) == REVOKED
    assert store.participant("camp01", a.id).invites == 0


def test_a_delete_for_another_referrer_or_an_unknown_customer_changes_nothing():
    service, store, _ = setup()
    a, b = participant(store, 1), participant(store, 2)
    service.register_wecom_add(add(a, "wmX"))
    assert service.wecom_left("camp01", b.id, "wmX", NOW) == "no_invite"
    assert service.wecom_left("camp01", a.id, "wmNobody", NOW) == "no_invite"
    assert store.invite("camp01", wecom_invitee("wmX")).status == PENDING


def test_cookie_scans_of_a_wecom_campaign_credit_nothing():
    service, store, _ = setup(campaign(stay=0))
    a = participant(store, 1)
    for n in range(20):
        visit = ReferralVisit("camp01", a.id, f"{n + 99:020x}", True, f"addr{n}", NOW, "code01", "target", True)
        assert service.register_referral(visit) == WECOM_ADD_REQUIRED
    assert store.invites("camp01", 100, None)[0] == [] and store.participant("camp01", a.id).invites == 0
    assert reasons(store) == [WECOM_ADD_REQUIRED] * 20


def test_joins_are_refused_past_the_share_of_the_quota_with_a_clear_message():
    service, store, _ = setup(way_limit=1)
    assert service.join("camp01", "a" * 20, "A", "h1").id
    assert store.reserve_way("camp01", 1)
    with pytest.raises(WayQuotaReached) as refused:
        service.join("camp01", "b" * 20, "B", "h2")
    assert http_status(refused.value) == 429 and "REFERRAL_WAY_SHARE" in refused.value.message


def test_me_shows_the_contact_way_as_the_referral_url_once_it_is_made():
    service, store, _ = setup()
    a = participant(store, 1)
    c = service.campaign("camp01")
    assert service.progress(c, a).referral_url is None
    store.save_way(a, "cfg1", "https://work.weixin.qq.com/ca/x", "sc1")
    assert service.progress(c, store.participant("camp01", a.id)).referral_url == "https://work.weixin.qq.com/ca/x"


# -- each participant's contact way -------------------------------------------------------------


class FakeWays:
    def __init__(self, store: FakeCampaignStore | None = None, race: bool = False, fail: bool = False):
        self.made: list[str] = []
        self.deleted: list[str] = []
        self.store, self.race, self.fail = store, race, fail

    def make(self, campaign_id: str, participant_id: str, users: tuple[str, ...]) -> MadeReferralWay:
        if self.fail:
            raise RuntimeError("WeCom is down")
        config_id = f"cfg{len(self.made)}"
        self.made.append(config_id)
        if self.race and self.store is not None:  # another poster job saved its way meanwhile
            other = self.store.participant(campaign_id, participant_id)
            self.store.save_way(other, "cfgOther", "https://work.weixin.qq.com/ca/other", "scOther")
        return MadeReferralWay(config_id, f"https://work.weixin.qq.com/ca/{config_id}", "sc" + participant_id)

    def delete(self, config_id: str) -> None:
        self.deleted.append(config_id)


def test_a_participants_way_is_made_once():
    _, store, clock = setup()
    ways = FakeWays()
    jobs = ParticipantWays(store, ways, limit=10, clock=clock)
    a = participant(store, 1)
    first = jobs.ensure(store.campaign("camp01"), a)
    again = jobs.ensure(store.campaign("camp01"), first)
    assert ways.made == ["cfg0"] and first.way_url == again.way_url == "https://work.weixin.qq.com/ca/cfg0"
    assert store.live_ways("camp01") == 1


def test_the_loser_of_a_race_deletes_its_extra_way():
    _, store, clock = setup()
    ways = FakeWays(store, race=True)
    a = participant(store, 1)
    made = ParticipantWays(store, ways, limit=10, clock=clock).ensure(store.campaign("camp01"), a)
    assert made.way_config_id == "cfgOther" and ways.deleted == ["cfg0"]
    assert store.live_ways("camp01") == 0  # the winner counted its own (the fake's save does not)
    assert store.participant("camp01", a.id).way_url.endswith("/other")


def test_a_failed_make_gives_the_reservation_back_and_the_quota_is_enforced():
    _, store, clock = setup()
    a, b = participant(store, 1), participant(store, 2)
    with pytest.raises(RuntimeError):
        ParticipantWays(store, FakeWays(fail=True), limit=10, clock=clock).ensure(store.campaign("camp01"), a)
    assert store.ways_in_use() == 0
    jobs = ParticipantWays(store, FakeWays(), limit=1, clock=clock)
    jobs.ensure(store.campaign("camp01"), a)
    with pytest.raises(WayQuotaReached):
        jobs.ensure(store.campaign("camp01"), b)


def test_ended_campaigns_ways_are_deleted_a_bounded_number_per_run():
    _, store, clock = setup()
    ways = FakeWays()
    jobs = ParticipantWays(store, ways, limit=10, clock=clock)
    for n in range(3):
        jobs.ensure(store.campaign("camp01"), participant(store, n))
    assert jobs.delete_ended() == {"campaigns": 0, "deleted": 0}  # still running
    clock.now = NOW + timedelta(days=8)
    assert jobs.delete_ended(budget=2) == {"campaigns": 1, "deleted": 2}
    assert jobs.delete_ended(budget=2) == {"campaigns": 1, "deleted": 1}
    assert jobs.delete_ended(budget=2) == {"campaigns": 0, "deleted": 0}
    assert sorted(ways.deleted) == ["cfg0", "cfg1", "cfg2"] and store.ways_in_use() == 0
    late = participant(store, 9)
    assert jobs.ensure(store.campaign("camp01"), late).way_url is None  # no new way once it ended
