"""The scan service's assignment on in-memory stores: sticky visitors, quotas (daily caps, the
switch threshold), and the last good page when storage fails."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from siyu.live_codes.counters_repository import ScanCount
from siyu.live_codes.model import ACTIVE, GROUP, ROUND_ROBIN, STAFF, LiveCode, Target
from siyu.live_codes.scan import STORAGE_BACKOFF_SECONDS, ScanResult, ScanService, Visit
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


# --- the memory cookie: stickiness and exact statistics with no visitor read or write ---------


class Key:
    def __init__(self, failing: Exception | None = None):
        self.failing = failing

    def get(self) -> bytes:
        if self.failing is not None:
            raise self.failing
        return b"s" * 32


def remembering(live_code: LiveCode, clocks: Clocks, key: Key | None = None):
    store, visitors, stats = FakeCodeStore(codes={live_code.id: live_code}), FakeVisitorStore(), FakeStatsStore()
    service = ScanService(
        store, 0, visitors, stats, clock=clocks.wall, monotonic=clocks.monotonic, signing_key=key or Key()
    )
    return service, store, visitors, stats


class Browser:
    """Keeps the visitor id and the code's memory cookie, as a phone's browser does."""

    def __init__(self, service: ScanService):
        self.service, self.visitor_id, self.memory = service, None, None

    def scan(self, code_id: str = "code1", **visit):
        result = self.service.visit(Visit(code_id, visitor_id=self.visitor_id, memory=self.memory, **visit))
        self.visitor_id = result.visitor_id or self.visitor_id
        if result.memory_cookie:
            self.memory = result.memory_cookie[1]
        return result


def today(stats: FakeStatsStore) -> dict[str, int]:
    return dict(stats.days[("code1", "2026-11-25")])


def test_a_returning_scanner_keeps_their_staff_member_with_no_visitor_read_or_write(clocks):
    service, store, visitors, stats = remembering(code(target("amy"), target("bob")), clocks)
    phone = Browser(service)

    first = phone.scan()
    again = [phone.scan() for _ in range(3)]
    other = Browser(service).scan()

    assert first.memory_cookie is not None and first.memory_cookie[0] == "siyu_m_code1"
    assert [r.target_id for r in again] == ["amy"] * 3 and not any(r.counted for r in again)
    assert all(r.memory_cookie is None for r in again)  # nothing new to remember: no Set-Cookie
    assert other.target_id == "bob" and store.scans("code1") == {"amy": 1, "bob": 1}
    assert visitors.reads == visitors.writes == 0  # the counter write is the only write per scan


def test_statistics_stay_exact_per_dimension_through_the_cookie(clocks):
    service, _, _, stats = remembering(code(target("amy"), target("bob")), clocks)
    phone = Browser(service)
    phone.scan()
    phone.scan()  # same day, same dimensions: a view, not a new visitor
    phone.scan(channel_id="live")  # an unknown channel counts as direct
    clocks.now += timedelta(days=1)
    phone.scan()  # the next day: unique again that day, not new ever
    counted = today(stats)
    assert (counted["v|code"], counted["u|code"], counted["n|code"], counted["a|code"]) == (3, 1, 1, 1)
    assert (counted["u|t:amy"], counted["n|t:amy"]) == (1, 1)
    tomorrow = dict(stats.days[("code1", "2026-11-26")])
    assert tomorrow["u|code"] == 1 and "n|code" not in tomorrow and "a|code" not in tomorrow


def test_a_tampered_or_expired_memory_cookie_makes_a_first_time_scanner_never_an_error(clocks):
    service, store, _, stats = remembering(code(target("amy"), target("bob")), clocks)
    phone = Browser(service)
    phone.scan()
    phone.memory = phone.memory[:-3] + "xyz"  # tampered
    tampered = phone.scan()
    assert tampered.outcome == "target" and tampered.counted and tampered.target_id == "bob"
    assert tampered.memory_cookie is not None  # a fresh, genuine memory replaces it
    from siyu.web.scan_memory import CodeMemory, encode

    old = CodeMemory().after(["code"], "2025-10-01", ("staff", "amy", NOON))
    phone.memory = encode(old, phone.visitor_id, "code1", Key().get(), NOON - timedelta(days=401))  # expired
    expired = phone.scan()
    assert expired.outcome == "target" and expired.counted and store.scans("code1") == {"amy": 2, "bob": 1}


def test_without_the_signing_key_the_visitor_record_remembers_as_before(clocks):
    service, store, visitors, stats = remembering(code(target("amy"), target("bob")), clocks, Key(storage_error()))
    phone = Browser(service)
    first, again = phone.scan(), phone.scan()
    assert first.memory_cookie is None and again.target_id == "amy" and not again.counted
    assert visitors.writes == 2 and today(stats)["u|code"] == 1 and today(stats)["v|code"] == 2


def test_an_older_scanner_with_only_a_visitor_record_is_still_recognised(clocks):
    staff = code(target("amy"), target("bob"))
    old_service, _, visitors, _ = remembering(staff, clocks, Key(storage_error()))
    phone = Browser(old_service)
    phone.scan()  # before memory cookies: a visitor record
    service = ScanService(
        old_service.table, 0, visitors, FakeStatsStore(), clock=clocks.wall, monotonic=clocks.monotonic,
        signing_key=Key(),
    )  # fmt: skip
    phone.service = service
    back = phone.scan()
    assert back.target_id == "amy" and not back.counted and back.memory_cookie is not None
    assert "u|code" not in service.stats.days[("code1", "2026-11-25")]  # not a new unique today
    writes = visitors.writes
    phone.scan()
    assert visitors.writes == writes  # from now on the cookie remembers


def test_a_grouped_pick_and_a_referral_still_write_the_visitor_record(clocks):
    from siyu.live_codes.model import GROUPED, Option

    grouped = replace(code(target("amy", option_id="o1")), kind=GROUPED, options=(Option("o1", "上海", "", "city:sh"),))
    service, store, visitors, stats = remembering(grouped, clocks)
    phone = Browser(service)
    choices = phone.scan()
    assert choices.outcome == "choices" and visitors.writes == 0  # the choices page: nothing to keep server-side
    picked = phone.scan(option_id="o1")
    assert picked.target_id == "amy" and visitors.writes == 1
    assert visitors.records[(phone.visitor_id, "code1")].tags == {"city:sh"}
    counted = today(stats)
    assert (counted["u|code"], counted["u|o:o1"], counted["n|t:amy"]) == (1, 1, 1)
    phone.scan(option_id="o1")  # back to the pick: the cookie shows the tag is kept, stats stay exact
    assert today(stats)["u|o:o1"] == 1 and today(stats)["v|o:o1"] == 2
    assert visitors.writes == 1
    phone.memory = None  # cookies cleared: the record is the only memory, and it is written again
    phone.scan(option_id="o1")
    assert visitors.writes == 2

    staff, _, staff_visitors, _ = remembering(code(target("amy"), target("bob")), clocks)
    Browser(staff).scan(referral="not-a-referral")  # names no campaign: nothing to remember
    assert staff_visitors.writes == 0
    Browser(staff).scan(referral="spring26.guide01")  # campaign.participant, as posters carry it
    assert staff_visitors.writes == 1


@pytest.mark.parametrize(
    ("outcome", "routine"),
    [("target", True), ("choices", True), ("fallback", False), ("ended", False), ("not_found", False), ("busy", False)],
)
def test_only_pages_served_as_planned_are_routine_and_log_at_debug(outcome, routine):
    assert ScanResult(outcome, {}).routine is routine


def test_a_channel_made_since_the_container_read_the_code_is_counted_in_it(clocks):
    from siyu.live_codes.model import Channel

    service, store = service_for(code(target("amy")), clocks, cache_seconds=60)
    service.visit(Visit("code1"))  # the container now holds the code, without channels
    live = store.codes["code1"]
    store.codes["code1"] = replace(live, channels=(Channel("parcel", "包裹卡", NOON),))
    clocks.seconds += 0.5
    service.visit(Visit("code1", channel_id="parcel"))  # within a second of the read: not read again
    clocks.seconds += 1.0
    service.visit(Visit("code1", channel_id="parcel"))
    counted = service.stats.days[("code1", "2026-11-25")]
    assert counted["v|ch:parcel"] == 1 and counted["v|ch:-"] == 2
    clocks.seconds += 1.0
    service.visit(Visit("code1", channel_id="nosuch"))  # an unknown id: one read a second at most
    service.visit(Visit("code1", channel_id="nosuch"))
    assert service.stats.days[("code1", "2026-11-25")]["v|ch:-"] == 4


def test_a_group_never_shows_the_advisor_line_a_staff_member_does(clocks):
    groups = code(target("g1", "wechat_group", staff_name="精准群"), kind=GROUP, strategy="in_order")
    page = service_for(groups, clocks)[0].visit(Visit("code1")).page["body"]
    assert "专属顾问" not in page
    staff = code(target("amy", staff_name="小王"))
    assert "您的专属顾问：小王" in service_for(staff, clocks)[0].visit(Visit("code1")).page["body"]
