"""What a referral scan tells the campaign worker (issue 16): the code scanned, whether its page
showed a target or the fallback, the browser and the Sec-Fetch headers. A grouped code's choices
page shows no QR: the referral is judged at the pick, which keeps the first visit (n=1)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from siyu.campaigns.referrals import ReferralQueue, ScanFacts
from siyu.live_codes.model import GROUPED, Option
from siyu.live_codes.scan import ScanService, Visit
from tests.fakes.live_codes import FakeCodeStore, FakeStatsStore, FakeVisitorStore
from tests.unit.live_codes.test_scan_service import NOON, Clocks, code, target

REFERRAL = "spring26.guide01"


class Referrals(ReferralQueue):
    def __init__(self) -> None:
        super().__init__("queue")
        self.handed: list[tuple[str, bool, ScanFacts | None]] = []

    def hand_over(
        self,
        referral: str,
        visitor_id: str,
        first_visit: bool,
        address_hash: str,
        at: datetime,
        facts: ScanFacts | None = None,
    ) -> bool:
        self.handed.append((visitor_id, first_visit, facts))
        return True


def scanning(live_code) -> tuple[ScanService, Referrals]:
    referrals = Referrals()
    clocks = Clocks(NOON)
    store = FakeCodeStore(codes={live_code.id: live_code})
    service = ScanService(
        store, 0, FakeVisitorStore(), FakeStatsStore(), referrals, clock=clocks.wall, monotonic=clocks.monotonic
    )
    return service, referrals


def test_a_referral_scan_says_what_it_showed_and_how_it_was_requested():
    service, referrals = scanning(code(target("amy")))
    service.visit(Visit("code1", referral=REFERRAL, fetch=("document", "navigate")))
    service.visit(Visit("code1", referral=REFERRAL, in_wechat=False, fetch=("image", "no-cors")))
    (_, first, facts), (_, _, other) = referrals.handed
    assert first and facts == ScanFacts("code1", "target", True, "document", "navigate")
    assert other == ScanFacts("code1", "target", False, "image", "no-cors")


def test_a_referral_scan_that_fell_back_says_so():
    """The attack: invitees who landed on the "groups full" page were credited too."""
    service, referrals = scanning(code())  # no target: the fallback page
    result = service.visit(Visit("code1", referral=REFERRAL))
    assert result.outcome == "fallback" and referrals.handed[0][2].page == "fallback"


def test_a_grouped_code_hands_the_referral_over_at_the_pick_with_the_first_visit():
    grouped = replace(code(target("amy", option_id="o1")), kind=GROUPED, options=(Option("o1", "上海", "", "c:sh"),))
    service, referrals = scanning(grouped)
    choices = service.visit(Visit("code1", referral=REFERRAL))
    assert choices.outcome == "choices" and referrals.handed == []  # no QR shown: nothing to judge yet
    assert "n=1" in choices.page["body"]
    picked = service.visit(Visit("code1", "", "o1", choices.visitor_id, referral=REFERRAL, first_pick=True))
    assert picked.outcome == "target"
    ((visitor, first, facts),) = referrals.handed
    assert visitor == choices.visitor_id and first and facts.page == "target"
    returning = service.visit(Visit("code1", visitor_id=choices.visitor_id, referral=REFERRAL))
    assert "n=1" not in returning.page["body"]  # a known visitor's pick is not a first visit
    service.visit(Visit("code1", "", "o1", choices.visitor_id, referral=REFERRAL))
    assert referrals.handed[-1][:2] == (choices.visitor_id, False)  # judged too: not new to the brand
