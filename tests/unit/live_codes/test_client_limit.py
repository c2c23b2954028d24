"""One client (one address hash) moves one code's counters at most `limit` times an hour, and an
ordinary scanner pays no round trip for it (the shared counter is written only for a client that
comes back more than GRACE times in one container)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from siyu.live_codes.client_limit import GRACE, ClientLimit
from siyu.live_codes.model import GROUP, IN_ORDER
from siyu.live_codes.scan import ScanService, Visit
from tests.fakes.live_codes import FakeClientCounts, FakeCodeStore, FakeStatsStore, FakeVisitorStore
from tests.unit.live_codes.test_scan_service import Clocks, Key, code, target

NOON = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


def test_one_client_in_one_container_is_held_to_exactly_the_limit():
    store = FakeClientCounts()
    limit = ClientLimit(store, limit=10)
    allowed = [limit.allows("code1", "addr", NOON) for _ in range(25)]
    assert allowed == [True] * 10 + [False] * 15
    assert store.counts[("code1", "addr", "2026112504")] == 10
    assert store.writes == 10 - GRACE + 1  # then the container remembers: no more writes this hour
    assert limit.allows("code1", "other", NOON) and limit.allows("code2", "addr", NOON)  # per client and code
    assert limit.allows("code1", "addr", NOON + timedelta(hours=1))  # a new hour


def test_ordinary_scanners_cost_no_round_trip():
    store = FakeClientCounts()
    limit = ClientLimit(store, limit=10)
    for address in range(1000):
        for _ in range(GRACE):  # a grouped code's choices page, then the pick
            assert limit.allows("code1", f"a{address}", NOON)
    assert store.writes == 0


@given(st.lists(st.integers(0, 3), min_size=1, max_size=200), st.integers(1, 12))
def test_a_client_spread_over_containers_gets_at_most_limit_plus_grace_per_other_container(containers, most):
    store = FakeClientCounts()
    limits = [ClientLimit(store, limit=most) for _ in range(4)]
    allowed = sum(limits[c].allows("code1", "addr", NOON) for c in containers)
    used = len(set(containers))
    assert allowed <= most + min(GRACE, most - 1) * (used - 1)
    assert store.counts.get(("code1", "addr", "2026112504"), 0) <= most


def test_storage_down_lets_the_visit_through():
    limit = ClientLimit(FakeClientCounts(fail=True), limit=3)
    assert all(limit.allows("code1", "addr", NOON) for _ in range(10))


def test_zero_turns_it_off_and_no_address_is_never_held():
    store = FakeClientCounts()
    assert all(ClientLimit(store, limit=0).allows("code1", "addr", NOON) for _ in range(50))
    assert all(ClientLimit(store, limit=3).allows("code1", "", NOON) for _ in range(50))
    assert store.writes == 0


# --- the attack: 15 cookie-less requests from one laptop used to fill a 3-group code ----------


def test_one_cookieless_client_can_no_longer_fill_a_group_code():
    groups = code(*(target(g, "wechat_group") for g in ("g1", "g2", "g3")), kind=GROUP, strategy=IN_ORDER, threshold=5)
    clocks = Clocks()
    store = FakeCodeStore(codes={"code1": groups})
    stats = FakeStatsStore()
    service = ScanService(
        store, 0, FakeVisitorStore(), stats, clock=clocks.wall, monotonic=clocks.monotonic, signing_key=Key(),
        client_limit=ClientLimit(FakeClientCounts(), limit=10),
    )  # fmt: skip
    pages = [service.visit(Visit("code1", address="203.0.113.7", visitor_id=None)) for _ in range(15)]
    assert all(page.outcome == "target" for page in pages)  # every request still gets a group QR
    assert sum(page.counted for page in pages) == 10  # only ten moved the counters
    assert store.scans("code1") == {"g1": 5, "g2": 5}  # 15 requests used to fill all three and reach the fallback
    assert pages[-1].target_id == "g3" and not pages[-1].counted  # the third group is untouched
    other = service.visit(Visit("code1", address="198.51.100.9"))
    assert other.counted and other.target_id == "g3"  # a real scanner is still counted
    assert store.scans("code1") == {"g1": 5, "g2": 5, "g3": 1}
    assert stats.days[("code1", "2026-11-25")]["v|code"] == 11  # statistics moved by 10 + 1 only


def test_the_address_is_hashed_with_the_signing_key_and_never_kept():
    clocks = Clocks()
    counts = FakeClientCounts()
    service = ScanService(
        FakeCodeStore(codes={"code1": code(target("amy"))}), 0, FakeVisitorStore(), FakeStatsStore(),
        clock=clocks.wall, monotonic=clocks.monotonic, signing_key=Key(), client_limit=ClientLimit(counts, limit=3),
    )  # fmt: skip
    for _ in range(5):
        service.visit(Visit("code1", address="203.0.113.7"))
    (address,) = {key[1] for key in counts.counts}
    assert "203.0.113.7" not in address and len(address) == 24


def test_a_held_referral_scan_is_still_handed_to_the_campaign_worker():
    class Queue:
        def __init__(self):
            self.sent = []

        def hand_over(self, referral, visitor_id, first_visit, address_hash, at, facts=None):
            self.sent.append((referral, first_visit, address_hash, facts.page, visitor_id))
            return True

    clocks, queue = Clocks(), Queue()
    service = ScanService(
        FakeCodeStore(codes={"code1": code(target("amy"))}), 0, FakeVisitorStore(), FakeStatsStore(),
        queue, clock=clocks.wall, monotonic=clocks.monotonic, signing_key=Key(),
        client_limit=ClientLimit(FakeClientCounts(), limit=3),
    )  # fmt: skip
    pages = [service.visit(Visit("code1", address="203.0.113.7", referral="spring26.guide01")) for _ in range(6)]
    assert [page.counted for page in pages] == [True] * 3 + [False] * 3
    assert len(queue.sent) == 6 and len({sent[2] for sent in queue.sent}) == 1  # its own reasons, one address
    assert [sent[3] for sent in queue.sent] == ["target"] * 3 + ["uncounted"] * 3  # the worker: client_over_scan_limit
    assert all(page.visitor_id for page in pages)  # a first visit gets its visitor cookie, held or not
    assert [page.visitor_id for page in pages] == [sent[4] for sent in queue.sent]  # the id its referral went with


def test_the_limit_holds_in_the_container_while_the_signing_key_cannot_be_read():
    from tests.fakes.live_codes import storage_error

    clocks = Clocks()
    service = ScanService(
        FakeCodeStore(codes={"code1": code(target("amy"))}), 0, FakeVisitorStore(), FakeStatsStore(),
        clock=clocks.wall, monotonic=clocks.monotonic, signing_key=Key(storage_error()),
        client_limit=ClientLimit(FakeClientCounts(), limit=3),
    )  # fmt: skip
    pages = [service.visit(Visit("code1", address="203.0.113.7")) for _ in range(6)]
    assert [page.counted for page in pages] == [True] * 3 + [False] * 3
