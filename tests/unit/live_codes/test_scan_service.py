"""The scan service's assignment on in-memory stores: sticky visitors, quotas (daily caps, the
switch threshold), and the last good page when storage fails."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from siyu.live_codes.counters_repository import ScanCount
from siyu.live_codes.model import ACTIVE, GROUP, ROUND_ROBIN, STAFF, LiveCode, Target
from siyu.live_codes.scan import STORAGE_BACKOFF_SECONDS, ScanService, Visit
from tests.fakes.live_codes import FakeCodeStore, FakeStatsStore, FakeVisitorStore, storage_error

NOON = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@dataclass
class Clocks:
    now: datetime = NOON
    seconds: float = 1000.0

    def wall(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.seconds


def target(target_id: str, kind: str = "wechat_personal", **settings) -> Target:
    return Target(
        target_id,
        f"https://u.wechat.com/{target_id}",
        kind,
        f"codes/c/{target_id}.png",
        NOON + timedelta(days=300),
        NOON,
        f"png-{target_id}".encode(),
        **settings,
    )


def code(*targets: Target, kind: str = STAFF, strategy: str = ROUND_ROBIN, threshold: int = 180) -> LiveCode:
    return LiveCode(
        "code1", "c", "t", "g", threshold, "fallback", ACTIVE, NOON, NOON, 1, targets, kind=kind, strategy=strategy
    )


@pytest.fixture
def clocks():
    return Clocks()


def service_for(live_code: LiveCode, clocks: Clocks, cache_seconds: float = 0) -> tuple[ScanService, FakeCodeStore]:
    store = FakeCodeStore(codes={live_code.id: live_code})
    service = ScanService(
        store, cache_seconds, FakeVisitorStore(), FakeStatsStore(), clock=clocks.wall, monotonic=clocks.monotonic
    )
    return service, store


def test_a_returning_visitor_sees_the_same_staff_member_and_is_not_counted_again(clocks):
    service, store = service_for(code(target("amy", staff_name="Amy"), target("bob", staff_name="Bob")), clocks)

    first = service.visit(Visit("code1"))
    again = service.visit(Visit("code1", visitor_id=first.visitor_id))
    other = service.visit(Visit("code1"))

    assert (first.outcome, first.target_id, first.counted) == ("target", "amy", True)
    assert first.visitor_id is not None
    assert (again.target_id, again.counted, again.visitor_id) == ("amy", False, None)  # cookie already set
    assert (other.target_id, other.counted) == ("bob", True)  # round robin: the next new scanner
    assert store.scans("code1") == {"amy": 1, "bob": 1}


def test_a_visitor_is_sticky_only_for_the_codes_sticky_days(clocks):
    service, store = service_for(code(target("amy", staff_name="Amy"), target("bob", staff_name="Bob")), clocks)
    first = service.visit(Visit("code1"))
    service.visit(Visit("code1"))  # bob
    service.visit(Visit("code1"))  # amy again: amy 2, bob 1
    clocks.now += timedelta(days=8)  # past the 7 sticky days, and a new local day for the caps

    back = service.visit(Visit("code1", visitor_id=first.visitor_id))

    assert back.counted is True  # assigned anew, by today's counts


def test_daily_caps_hold_then_the_fallback_then_a_new_day_reopens(clocks):
    staff = code(target("amy", staff_name="Amy", daily_cap=1), target("bob", staff_name="Bob", daily_cap=1))
    service, store = service_for(staff, clocks)

    outcomes = [service.visit(Visit("code1")) for _ in range(3)]

    assert [(r.outcome, r.target_id) for r in outcomes] == [("target", "amy"), ("target", "bob"), ("fallback", None)]
    assert store.scans("code1") == {"amy": 1, "bob": 1, "fallback": 1}
    clocks.now += timedelta(days=1)
    assert service.visit(Visit("code1")).target_id == "amy"


def test_a_group_fills_to_its_threshold_wakes_the_rotation_and_the_next_group_takes_over(clocks):
    groups = code(target("g1", "wechat_group"), target("g2", "wechat_group"), kind=GROUP, strategy="in_order")
    service, store = service_for(replace(groups, switch_threshold=2), clocks)

    served = [service.visit(Visit("code1")).target_id for _ in range(5)]

    assert served == ["g1", "g1", "g2", "g2", None]
    assert store.scans("code1") == {"g1": 2, "g2": 2, "fallback": 1}
    assert store.due == ["code1", "code1"]  # once per filled group


def test_a_shard_filled_elsewhere_is_skipped_without_overshooting(clocks):
    service, store = service_for(code(target("amy", staff_name="Amy", daily_cap=1)), clocks)
    service.visit(Visit("code1", count=False))  # cached: amy has room
    store.count_scan(ScanCount("code1", "amy", 0, "2026-11-25", None, 1))  # another container took the slot

    result = service.visit(Visit("code1"))

    assert result.outcome == "fallback"
    assert store.scans("code1")["amy"] == 1


def test_when_storage_fails_the_scanner_gets_the_last_good_page_and_storage_rests(clocks):
    service, store = service_for(code(target("amy", staff_name="Amy"), target("bob", staff_name="Bob")), clocks)
    served = service.visit(Visit("code1"))
    store.failing = storage_error()

    down = service.visit(Visit("code1"))

    assert (down.outcome, down.target_id, down.counted) == ("target", served.target_id, False)
    assert down.page == served.page
    store.failing = AssertionError("storage is resting: not asked")  # within the backoff nobody calls it
    assert service.visit(Visit("code1")).target_id == served.target_id
    clocks.seconds += STORAGE_BACKOFF_SECONDS
    store.failing = None
    assert service.visit(Visit("code1")).counted is True


def test_a_code_never_seen_while_storage_fails_gets_the_busy_page(clocks):
    service, store = service_for(code(target("amy", staff_name="Amy")), clocks)
    store.failing = storage_error()
    assert service.visit(Visit("code1")).outcome == "busy"


def test_throttling_is_not_storage_being_down(clocks):
    service, store = service_for(code(target("amy", staff_name="Amy")), clocks)
    service.visit(Visit("code1"))
    store.failing = storage_error("ProvisionedThroughputExceededException")
    assert service.visit(Visit("code1")).counted is False
    store.failing = None
    assert service.visit(Visit("code1")).counted is True  # asked again at once


def test_bots_and_unknown_codes_write_nothing(clocks):
    service, store = service_for(code(target("amy", staff_name="Amy")), clocks)
    assert service.visit(Visit("code1", count=False)).counted is False
    assert service.visit(Visit("nosuch")).outcome == "not_found"
    assert service.visit(Visit("../x")).outcome == "not_found"
    assert store.scans("code1") == {}
    assert service.stats is not None and service.stats.days == {}
