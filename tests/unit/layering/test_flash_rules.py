"""The flash-group figures: members at a day's end, 活跃率 only when WeCom's per-owner figures
cover exactly the groups asked about, and a null with a reason rather than an estimate; the order
webhook's signature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from siyu.core.errors import InvalidInput
from siyu.layering.flash_rules import activity_rate, join_rate, members_at, ratio
from siyu.layering.model import OwnerActivity
from siyu.layering.orders import SignatureRefused, check_signature, order_from, signature

NOW = datetime(2026, 12, 5, 4, tzinfo=UTC)  # 12:00 in China


def read(owner: str, chats: int, members: int, spoke: int) -> OwnerActivity:
    return OwnerActivity(owner, "2026-12-05", chats, members, spoke, spoke * 3, NOW)


def test_members_at_the_end_of_a_china_day():
    joined = datetime(2026, 12, 4, 15, 59, tzinfo=UTC)  # 23:59 on the 4th in China
    late = datetime(2026, 12, 4, 16, 1, tzinfo=UTC)  # 00:01 on the 5th
    joins = [(joined, None), (late, None), (joined, late)]
    assert members_at(joins, "2026-12-04") == 2 and members_at(joins, "2026-12-05") == 2


def test_activity_is_known_only_when_the_owners_groups_are_all_in_the_set():
    both = {"wrA": "zhangsan", "wrB": "zhangsan"}
    figure = activity_rate(both, {"zhangsan": read("zhangsan", 2, 40, 10)}, "2026-12-05")
    assert figure.value == 0.25 and figure.numerator == 10 and "groupchat/statistic" in figure.source
    one = activity_rate({"wrA": "zhangsan"}, {"zhangsan": read("zhangsan", 2, 40, 10)}, "2026-12-05")
    assert one.value is None and "per owner" in (one.reason or "")
    unread = activity_rate(both, {"zhangsan": None}, "2026-12-05")
    assert unread.value is None and "not been read" in (unread.reason or "")
    unknown = activity_rate({"wrA": None}, {}, "2026-12-05")
    assert unknown.value is None and unknown.reason


def test_join_rate_reads_the_codes_statistics_and_never_divides_by_zero():
    assert join_rate("c1", {"u|code": 8, "j|code": 2}, over_range=False).value == 0.25
    assert join_rate("c1", {"n|code": 4, "j|code": 2}, over_range=True).value == 0.5
    assert join_rate("c1", {}, over_range=False).value is None
    assert join_rate(None, None, over_range=False).reason
    assert ratio(3, 0, "x").value is None and ratio(None, 3, "x").value is None


def test_the_order_webhooks_signature_and_body():
    body = b'{"order_id": "A1"}'
    stamp = str(int(NOW.timestamp()))
    check_signature("s" * 16, stamp, body, signature("s" * 16, stamp, body), NOW)
    with pytest.raises(SignatureRefused):
        check_signature("s" * 16, stamp, body + b" ", signature("s" * 16, stamp, body), NOW)
    with pytest.raises(SignatureRefused):
        check_signature("s" * 16, stamp, body, signature("s" * 16, stamp, body), NOW + timedelta(minutes=6))
    order = order_from({"order_id": "A1", "amount_fen": 100, "paid_at": "2026-12-05T10:00:00+08:00", "visitor_id": "v"})
    assert order.buyer == "v:v" and order.chat_id is None
    for bad in ({"order_id": "A1"}, {"order_id": "A1", "amount_fen": True, "paid_at": "x"}, []):
        with pytest.raises(InvalidInput):
            order_from(bad)
