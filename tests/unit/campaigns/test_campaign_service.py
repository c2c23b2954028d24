"""The campaign service's subtle rules on the in-memory store (tests/fakes/campaigns.py), which
keeps the repository's conditions: stock is never oversold, a credit counts once, a blocked
referrer earns nothing, hourly limits hold, notifications back off and give up, revokes count once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from siyu.campaigns import pages
from siyu.campaigns import rewards as rewards_module
from siyu.campaigns.errors import CampaignNotRunning, JoinLimitReached
from siyu.campaigns.rules import (
    ADDRESS_RATE,
    CREDITED,
    REFERRER_BLOCKED,
    REFERRER_RATE,
    REVOKED,
    Campaign,
    Participant,
    ReferralVisit,
    Rules,
    Tier,
)
from siyu.campaigns.service import CampaignService
from siyu.core.errors import NotFound
from siyu.delivery.retry import RetryPolicy
from siyu.delivery.sender import DeliveryFailed
from siyu.web.http_status import http_status
from tests.fakes.campaigns import FakeCampaignStore, FakeFiles, FakePosterQueue
from tests.helpers import Clock

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def campaign(tiers=((1, 10),), webhook: str | None = None, **rules) -> Campaign:
    return Campaign(
        id="camp01",
        name="双十二",
        code_id="code01",
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=7),
        tiers=tuple(Tier(i + 1, invites, f"reward {i + 1}", stock) for i, (invites, stock) in enumerate(tiers)),
        rules=Rules(**rules),
        created_at=NOW - timedelta(days=1),
        reward_webhook_url=webhook,
        reward_webhook_secret="s" * 32 if webhook else None,
        scan_base_url="https://qr.example.cn",
    )


def service_with(c: Campaign, **extra) -> tuple[CampaignService, FakeCampaignStore, Clock]:
    store, clock = FakeCampaignStore(), Clock(NOW)
    store.create_campaign(c)
    return CampaignService(store, FakeFiles(), FakePosterQueue(), clock=clock, **extra), store, clock


def referrer(store: FakeCampaignStore, n: int = 0) -> Participant:
    return store.join(Participant(f"ref{n:05d}", "camp01", f"{n:020x}", f"参与者{n}", NOW - timedelta(hours=1)))


def invite(store: FakeCampaignStore, who: Participant, n: int) -> str:
    visitor = f"{n + 10**6:020x}"
    assert store.register_invite("camp01", visitor, who.id, NOW, NOW, "h")
    return visitor


def test_stock_is_never_oversold_under_concurrent_grants():
    service, store, _ = service_with(campaign(tiers=((1, 10),)))
    invitees = [invite(store, referrer(store, n), n) for n in range(60)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda v: service.credit("camp01", v), invitees))
    assert outcomes == [CREDITED] * 60
    statuses = [r.status for r in store.rewards("camp01", 1000, None)[0]]
    assert statuses.count("granted") == 10 and statuses.count("out_of_stock") == 50
    assert store.stock("camp01") == {1: (10, 10)}


def test_many_invites_of_one_referrer_each_count_once_and_a_repeated_credit_does_not():
    service, store, _ = service_with(campaign(tiers=((3, 5),)))
    alice = referrer(store)
    invitees = [invite(store, alice, n) for n in range(12)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert set(pool.map(lambda v: service.credit("camp01", v), invitees)) == {CREDITED}
    assert service.credit("camp01", invitees[0]) == "already_credited"
    assert store.participant("camp01", alice.id).invites == 12 and store.credit_writes == 12
    assert [(r.level, r.status) for r in store.rewards_of("camp01", alice.id)] == [(1, "granted")]


def test_a_blocked_referrers_invite_is_revoked_and_recorded_not_counted():
    service, store, _ = service_with(campaign())
    alice = referrer(store)
    visitor = invite(store, alice, 1)
    store.set_blocked(alice, True, "刷单")
    assert service.credit("camp01", visitor) == REFERRER_BLOCKED
    assert store.invite("camp01", visitor).status == REVOKED
    assert store.participant("camp01", alice.id).invites == 0 and store.rewards_of("camp01", alice.id) == []
    assert [r.reason for r in store.refusals("camp01", 10, None)[0]] == [REFERRER_BLOCKED]
    assert service.credit("camp01", visitor) == "already_settled"


def test_hourly_limits_per_address_and_per_referrer_refuse_and_record():
    service, store, _ = service_with(
        campaign(tiers=((5, 10),), invites_per_address_per_hour=2, invites_per_referrer_per_hour=3)
    )
    alice = referrer(store)
    outcomes = [
        service.register_referral(
            ReferralVisit("camp01", alice.id, f"{n + 99:020x}", True, address, NOW, "code01", "target", True)
        )
        for n, address in enumerate(["farm", "farm", "farm", "a", "b"])
    ]
    assert outcomes == [CREDITED, CREDITED, ADDRESS_RATE, CREDITED, REFERRER_RATE]
    assert store.participant("camp01", alice.id).invites == 3


def test_joins_over_the_hourly_limit_are_refused_with_the_customer_copy_on_the_page():
    service, store, _ = service_with(campaign(joins_per_address_per_hour=1))
    service.join("camp01", "v" * 20, "Alice", "net")
    with pytest.raises(JoinLimitReached) as refused:
        service.join("camp01", "w" * 20, "Bob", "net")
    assert http_status(refused.value) == 429 and "参与人数过多" not in refused.value.message
    assert pages.customer_message(refused.value) == "参与人数过多，请稍后再试"
    assert [r.reason for r in store.refusals("camp01", 10, None)[0]] == [ADDRESS_RATE]


def test_joining_a_campaign_that_is_not_running_is_a_conflict_the_page_words_for_customers():
    service, _, clock = service_with(campaign())
    clock.now = NOW + timedelta(days=8)
    with pytest.raises(CampaignNotRunning) as refused:
        service.join("camp01", "v" * 20, "Alice", "net")
    assert http_status(refused.value) == 409
    assert pages.customer_message(refused.value) == "活动未开始或已结束"


def test_a_join_requests_one_poster_and_joining_again_returns_the_same_participant():
    service, _, _ = service_with(campaign())
    first = service.join("camp01", "v" * 20, "Alice", "net")
    again = service.join("camp01", "v" * 20, "another", "net")
    assert again == first and len(first.id) == 12
    assert [(j.campaign_id, j.participant_id) for j in service.posters.jobs] == [("camp01", first.id)]


def test_a_failing_webhook_retries_with_backoff_then_fails(monkeypatch):
    sent: list[str] = []

    def refuse(url, secret, event, payload, idempotency_key=None):
        sent.append(idempotency_key)
        raise DeliveryFailed("HTTP 500")

    monkeypatch.setattr(rewards_module, "send_webhook", refuse)
    service, store, clock = service_with(
        campaign(webhook="https://coupons.example.cn/hook"), retry=RetryPolicy(attempts=3, base_seconds=60)
    )
    alice = referrer(store)
    assert service.credit("camp01", invite(store, alice, 1)) == CREDITED
    reward_id = f"{alice.id}#1"
    assert store.reward("camp01", reward_id).notify_status == "retry"
    assert store.reward_due[("camp01", reward_id)] == NOW + timedelta(seconds=60)
    clock.now = NOW + timedelta(seconds=59)
    assert service.credit_due() == {}  # not due yet
    clock.now = NOW + timedelta(seconds=60)
    assert service.credit_due() == {"notify_retry": 1}
    assert store.reward_due[("camp01", reward_id)] == clock.now + timedelta(seconds=120)  # backoff doubles
    clock.now += timedelta(seconds=120)
    assert service.credit_due() == {"notify_failed": 1}
    reward = store.reward("camp01", reward_id)
    assert reward.notify_status == "failed" and reward.attempts == 3 and reward.last_error == "HTTP 500"
    assert sent == [f"camp01:{reward_id}"] * 3
    clock.now += timedelta(hours=1)
    assert service.credit_due() == {}  # failed: out of the queue


def test_a_notification_another_sender_holds_is_not_sent_twice(monkeypatch):
    monkeypatch.setattr(rewards_module, "send_webhook", lambda *a, **k: None)
    service, store, _ = service_with(campaign(webhook="https://coupons.example.cn/hook"))
    alice = referrer(store)
    store.grant_reward(store.campaign("camp01"), alice, store.campaign("camp01").tiers[0], NOW)
    reward_id = f"{alice.id}#1"
    assert store.claim_notify("camp01", reward_id, NOW, timedelta(minutes=1)) is not None  # another sender
    assert service.notify("camp01", reward_id) == "not_due"
    service.clock = Clock(NOW + timedelta(minutes=2))  # its lease ran out: it died
    assert service.notify("camp01", reward_id) == "delivered"
    assert service.notify("camp01", reward_id) == "not_due"


def test_a_revoke_counts_once_and_a_pending_invite_is_revoked_without_touching_the_count():
    service, store, _ = service_with(campaign(tiers=((5, 1),)))
    alice = referrer(store)
    credited, pending = invite(store, alice, 1), invite(store, alice, 2)
    service.credit("camp01", credited)
    assert store.participant("camp01", alice.id).invites == 1
    revoked = service.revoke("camp01", credited, "退群")
    assert revoked.status == REVOKED and revoked.reason == "退群"
    assert service.revoke("camp01", credited, "退群") == revoked
    assert store.participant("camp01", alice.id).invites == 0
    assert service.revoke("camp01", pending, "退群").status == REVOKED
    assert store.participant("camp01", alice.id).invites == 0 and service.credit("camp01", pending) == "already_settled"
    with pytest.raises(NotFound):
        service.revoke("camp01", "nobody" * 3, "x")
