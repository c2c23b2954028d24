"""The join and the participant's page under abuse (issue 16), on the in-memory store: the avatar is
decoded only after the cheap checks, the rank is read from a bounded top list, a lost poster is asked
for again once per interval and then the page gives up, the campaign cache is bounded and forgets
misses, the join form cannot be framed or posted from another site."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from siyu.campaigns import pages
from siyu.campaigns import service as service_module
from siyu.campaigns.errors import JoinLimitReached
from siyu.campaigns.join_checks import cross_site_refusal
from siyu.campaigns.privacy import DEFAULT_NOTICE, notice_text, notice_version
from siyu.campaigns.rules import GAVE_UP, MAX_POSTER_REQUESTS, WAIT, Campaign, Participant, Rules, Tier
from siyu.campaigns.service import RANK_TOP_K, CampaignService
from siyu.core.errors import InvalidInput, NotFound
from tests.fakes.campaigns import FakeCampaignStore, FakeFiles, FakePosterQueue
from tests.helpers import Clock

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def campaign(cid="camp01", **rules) -> Campaign:
    return Campaign(
        id=cid,
        name="双十二",
        code_id="code01",
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=7),
        tiers=(Tier(1, 5, "券", 10),),
        rules=Rules(**rules),
        created_at=NOW - timedelta(days=1),
        scan_base_url="https://qr.example.cn",
    )


def setup(c: Campaign | None = None) -> tuple[CampaignService, FakeCampaignStore, FakePosterQueue, Clock]:
    store, queue, clock = FakeCampaignStore(), FakePosterQueue(), Clock(NOW)
    store.create_campaign(c or campaign())
    return CampaignService(store, FakeFiles(), queue, clock=clock), store, queue, clock


def test_a_client_over_the_join_limit_never_gets_its_avatar_decoded():
    """The attack: a client already refused with 429 still cost 0.5-0.8 s of CPU per 6000x6000 PNG."""
    service, _, _, _ = setup(campaign(joins_per_address_per_hour=1))
    decoded: list[str] = []

    def decode() -> bytes:
        decoded.append("decoded")
        return b"jpeg"

    service.join("camp01", "a" * 20, "Alice", "net", decode)
    with pytest.raises(JoinLimitReached):
        service.join("camp01", "b" * 20, "Bob", "net", decode)
    with pytest.raises(InvalidInput):
        service.join("camp01", "c" * 20, "\u200b", "other", decode)
    assert service.join("camp01", "a" * 20, "Alice again", "net", decode).nickname == "Alice"  # joined already
    assert decoded == ["decoded"]


def test_the_participant_keeps_the_notice_version_they_agreed_to():
    service, store, _, _ = setup(replace(campaign(), privacy_notice="我们只用你的昵称做海报。"))
    joined = service.join("camp01", "a" * 20, "Alice", "net")
    assert joined.privacy_notice_version == notice_version("我们只用你的昵称做海报。")
    assert notice_text(campaign()) == DEFAULT_NOTICE and "删除" in DEFAULT_NOTICE


def test_the_rank_is_read_from_a_bounded_top_list_never_a_count_over_everyone(monkeypatch):
    """The attack: rank was a COUNT over everyone above (4,400 read units a view at 100k participants)."""
    service, store, _, _ = setup()
    people = [
        store.join(Participant(f"p{n:05d}", "camp01", f"{n:020x}", f"P{n}", NOW, invites=200 - n)) for n in range(120)
    ]
    asked: list[int] = []
    leaderboard = store.leaderboard
    monkeypatch.setattr(store, "leaderboard", lambda cid, limit: asked.append(limit) or leaderboard(cid, limit))
    c = service.campaign("camp01")
    top = service.progress(c, people[0])
    assert top.rank == 1 and len(top.leaderboard) == 10
    assert service.progress(c, people[RANK_TOP_K - 1]).rank == RANK_TOP_K
    far = service.progress(c, people[100])
    assert far.rank is None and far.ranked_within == RANK_TOP_K
    assert asked == [RANK_TOP_K] * 3 and not hasattr(store, "rank")
    page = pages.progress_page(far, 0)
    assert f"{RANK_TOP_K} 名以外" in page["body"]


def test_a_lost_poster_is_requested_again_once_per_interval_then_the_page_gives_up():
    """The attack: a poster whose queue message failed was never requested again; its page refreshed forever."""
    service, store, queue, clock = setup()
    joined = service.join("camp01", "a" * 20, "Alice", "net")
    queue.jobs.clear()  # the first request is lost
    states = []
    for _ in range(12):
        clock.now += timedelta(seconds=10)
        participant = store.participant("camp01", joined.id)
        states.append(service.poster_wait(participant))
        service.poster_wait(participant)  # a second tab, a second container: still one request
    assert len(queue.jobs) == MAX_POSTER_REQUESTS
    assert states[0] == WAIT and states[-1] == GAVE_UP
    progress = service.progress(service.campaign("camp01"), store.participant("camp01", joined.id))
    waiting, gave_up = pages.progress_page(progress, 0, WAIT), pages.progress_page(progress, 0, GAVE_UP)
    assert 'http-equiv="refresh"' in waiting["body"] and 'http-equiv="refresh"' not in gave_up["body"]
    assert "请过几分钟再刷新" in gave_up["body"]
    clock.now += timedelta(minutes=10)  # much later, a reload asks once more
    service.poster_wait(store.participant("camp01", joined.id))
    assert len(queue.jobs) == MAX_POSTER_REQUESTS + 1


def test_the_campaign_cache_is_bounded_and_does_not_remember_misses(monkeypatch):
    """The attack: the page-side caches were unbounded and remembered misses."""
    monkeypatch.setattr(service_module, "MAX_CACHED_CAMPAIGNS", 4)
    service, store, _, _ = setup()
    with pytest.raises(NotFound):
        service.campaign("camp99")
    store.create_campaign(campaign("camp99"))
    assert service.campaign("camp99").id == "camp99"  # found at once: the miss was not kept
    for n in range(50):
        with pytest.raises(NotFound):
            service.campaign(f"nope{n:04d}")
    for n in range(10):
        store.create_campaign(campaign(f"many{n:04d}"))
        service.campaign(f"many{n:04d}")
    assert len(service._cache) == 4 and "many0009" in service._cache


def test_campaign_pages_cannot_be_framed():
    service, _, _, _ = setup()
    for page in (pages.join_page(service.campaign("camp01"), None), pages.message_page("t", "x")):
        assert "frame-ancestors 'none'" in page["headers"]["Content-Security-Policy"]
        assert page["headers"]["X-Frame-Options"] == "DENY"
    body = pages.join_page(service.campaign("camp01"), None)["body"]
    assert "提交即表示你已阅读并同意" in body and notice_version(DEFAULT_NOTICE) in body


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({}, False),  # older WebViews send neither
        ({"origin": "https://qr.example.cn"}, False),
        ({"origin": "https://QR.example.cn", "sec-fetch-site": "same-origin"}, False),
        ({"sec-fetch-site": "same-origin"}, False),
        ({"sec-fetch-site": "none"}, False),
        ({"origin": "https://evil.example"}, True),
        ({"origin": "null"}, True),
        ({"origin": "https://qr.example.cn.evil.example"}, True),
        ({"sec-fetch-site": "cross-site"}, True),
        ({"origin": "https://qr.example.cn", "sec-fetch-site": "cross-site"}, True),
    ],
)
def test_a_join_from_another_site_is_refused(headers, refused):
    assert (cross_site_refusal(headers, ["qr.example.cn"]) is not None) == refused
