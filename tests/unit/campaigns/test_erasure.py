"""Erasure's rules on fakes: who may be erased when, what goes, what the schedule picks."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from siyu.campaigns.erasure import CampaignErasure, erase_after
from siyu.campaigns.rules import Participant
from siyu.core.errors import Conflict, NotFound
from tests.fakes.campaigns import FakeCampaignStore, FakeErasure, FakeVersionedFiles
from tests.helpers import Clock
from tests.unit.campaigns.test_campaign_service import NOW, campaign

RETENTION = timedelta(days=30)


class Ways:
    def __init__(self):
        self.deleted: list[str] = []

    def delete(self, config_id: str) -> None:
        self.deleted.append(config_id)


def setup(ends_in=timedelta(days=7)):
    store, files, clock, ways = FakeCampaignStore(), FakeVersionedFiles(), Clock(NOW), Ways()
    store.create_campaign(replace(campaign(), ends_at=NOW + ends_in))
    erasure = CampaignErasure(store, FakeErasure(store), files, ways, RETENTION, clock)
    alice = store.join(Participant("alice", "camp01", "v" * 20, "Alice", NOW, avatar_key="x"))
    bob = store.join(Participant("bob", "camp01", "w" * 20, "Bob", NOW, referred_by="alice"))
    for key in ("avatars/alice.jpg", "posters/alice-v1.jpg", "posters/alice-v2.jpg", "posters/bob-v1.jpg"):
        files.put(f"campaigns/camp01/{key}", b"x", "image/jpeg")
    files.put("campaigns/camp01/posters/alice-v1.jpg", b"y", "image/jpeg")  # an older version too
    return erasure, store, files, clock, ways, alice, bob


def test_a_participant_goes_with_every_version_of_their_files_and_others_stay():
    erasure, store, files, _, _, alice, bob = setup()
    assert store.register_invite("camp01", bob.visitor_id, alice.id, NOW, NOW, "h")
    erased = erasure.erase_participant("camp01", "alice")
    assert erased.objects == 4 and erased.items >= 2
    assert store.participant("camp01", "alice") is None and store.invite("camp01", bob.visitor_id) is None
    assert store.participant("camp01", "bob").referred_by is None
    assert list(files.versions) == ["campaigns/camp01/posters/bob-v1.jpg"]
    with pytest.raises(NotFound):
        erasure.erase_participant("camp01", "alice")


def test_a_participants_wecom_way_is_deleted_and_released():
    erasure, store, _, _, ways, alice, _ = setup()
    assert store.reserve_way("camp01", 10)
    assert store.save_way(alice, "cfg-1", "https://work.weixin.qq.com/ca/x", "st")
    erasure.erase_participant("camp01", "alice")
    assert ways.deleted == ["cfg-1"] and store.live_ways("camp01") == 0


def test_a_running_campaign_or_one_with_live_ways_is_not_erased():
    erasure, store, files, clock, _, alice, _ = setup()
    with pytest.raises(Conflict, match="has not ended"):
        erasure.erase_campaign("camp01")
    clock.now = NOW + timedelta(days=8)
    store.reserve_way("camp01", 10)
    with pytest.raises(Conflict, match="still being deleted"):
        erasure.erase_campaign("camp01")
    assert store.campaign("camp01") is not None and files.versions  # nothing was touched
    store.release_way("camp01")
    erased = erasure.erase_campaign("camp01")
    assert erased.finished and store.campaign("camp01") is None and files.versions == {}
    with pytest.raises(NotFound):
        erasure.erase_campaign("camp01")


def test_the_schedule_erases_only_campaigns_past_their_retention():
    erasure, store, files, clock, *_ = setup(ends_in=timedelta(days=1))
    ended = store.campaign("camp01")
    clock.now = erase_after(ended, RETENTION) - timedelta(minutes=1)
    assert erasure.expire()["campaigns"] == 0 and store.campaign("camp01") is not None
    clock.now = erase_after(ended, RETENTION)
    assert erasure.expire()["campaigns"] == 1
    assert store.campaign("camp01") is None and store.participant("camp01", "bob") is None and not files.versions
