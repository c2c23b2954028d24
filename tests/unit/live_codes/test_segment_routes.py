"""Precise-group routing (精准群) on the scan service: a scanner in a route's segment gets the
route's pool, everyone else (and a first-time scanner, and anyone when the lookup fails) the main
pool; the membership is read only for codes with routes; ?o= cannot pick a route's pool."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from siyu.live_codes.model import GROUP, IN_ORDER, Option, pool_of, route_for
from siyu.live_codes.scan import ScanService, Visit
from tests.fakes.live_codes import FakeCodeStore, FakeStatsStore, FakeVisitorStore, storage_error
from tests.unit.live_codes.test_scan_service import Clocks, code, target

ACNE = Option("r1", "痘痘精准群", "", "痘痘精准群", IN_ORDER, segment_id="seg-acne")
ACNE_VISITOR, OTHER_VISITOR = "a" * 20, "b" * 20


@dataclass
class Membership:
    members: dict[str, frozenset[str]] = field(default_factory=dict)
    reads: int = 0
    fail: bool = False

    def segments_of(self, visitor_id: str) -> frozenset[str]:
        self.reads += 1
        if self.fail:
            raise storage_error()
        return self.members.get(visitor_id, frozenset())


def routed_code():
    live = code(target("daily"), target("precise", option_id="r1"), kind=GROUP, strategy=IN_ORDER)
    return replace(live, options=(ACNE,))


def service(live, membership) -> ScanService:
    clocks = Clocks()
    return ScanService(
        FakeCodeStore(codes={live.id: live}),
        0,
        FakeVisitorStore(),
        FakeStatsStore(),
        clock=clocks.wall,
        monotonic=clocks.monotonic,
        segments=membership,
    )


def test_a_member_of_the_segment_gets_the_routes_pool_and_others_the_main_pool():
    membership = Membership({ACNE_VISITOR: frozenset({"seg-acne", "seg-x"})})
    scans = service(routed_code(), membership)
    assert scans.visit(Visit("code1", visitor_id=ACNE_VISITOR)).target_id == "precise"
    assert scans.visit(Visit("code1", visitor_id=OTHER_VISITOR)).target_id == "daily"
    assert scans.visit(Visit("code1")).target_id == "daily"  # a first-time scanner has no segments
    assert membership.reads == 2
    assert scans.visit(Visit("code1", visitor_id=OTHER_VISITOR, option_id="r1")).target_id == "daily"


def test_codes_without_routes_never_read_the_membership_and_a_failed_read_is_the_main_pool():
    membership = Membership({ACNE_VISITOR: frozenset({"seg-acne"})})
    plain = code(target("daily"), kind=GROUP, strategy=IN_ORDER)
    assert service(plain, membership).visit(Visit("code1", visitor_id=ACNE_VISITOR)).target_id == "daily"
    assert membership.reads == 0
    membership.fail = True
    assert service(routed_code(), membership).visit(Visit("code1", visitor_id=ACNE_VISITOR)).target_id == "daily"


def test_the_main_pool_leaves_out_the_routes_targets():
    live = routed_code()
    assert [t.id for t in pool_of(live).targets] == ["daily"]
    assert [t.id for t in pool_of(live, ACNE).targets] == ["precise"]
    assert route_for(live, frozenset({"seg-acne"})) == ACNE and route_for(live, frozenset()) is None
