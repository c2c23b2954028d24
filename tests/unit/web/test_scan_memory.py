"""The scanner's memory cookie: a returning browser is recognised without a read; anything forged,
expired, malformed or someone else's reads as no memory (a first-time scanner), never a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from siyu.web.scan_memory import MAX_COOKIE_VALUE, MEMORY_DAYS, CodeMemory, cookie_name, decode, encode, memory_cookie

KEY = b"k" * 32
NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
VID = "0123456789abcdef0123"


def remembered() -> CodeMemory:
    return CodeMemory().after(["code", "ch:-", "t:amy"], "2026-11-25", ("staff", "amy", NOW))


def test_a_memory_round_trips_through_its_cookie():
    memory = remembered()
    value = encode(memory, VID, "code1", KEY, NOW)
    assert value is not None and decode(value, VID, "code1", KEY, NOW + timedelta(days=30)) == memory
    assert cookie_name("code1") == "siyu_m_code1"
    header = memory_cookie(cookie_name("code1"), value)
    assert header.startswith(f"siyu_m_code1={value}; ") and "HttpOnly" in header and "Secure" in header


def test_a_tampered_forged_expired_or_foreign_cookie_is_no_memory():
    value = encode(remembered(), VID, "code1", KEY, NOW)
    assert value is not None
    payload, signature = value.split(".")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature
    assert decode(tampered, VID, "code1", KEY, NOW) is None
    assert decode(value, VID, "code1", b"x" * 32, NOW) is None  # another key: forged
    assert decode(value, VID, "code1", KEY, NOW + timedelta(days=MEMORY_DAYS, seconds=1)) is None  # expired
    assert decode(value, "f" * 20, "code1", KEY, NOW) is None  # another visitor's cookie
    assert decode(value, VID, "code2", KEY, NOW) is None  # another code's
    assert decode(None, VID, "code1", KEY, NOW) is None and decode(value, None, "code1", KEY, NOW) is None


@given(st.text(max_size=300))
def test_garbage_never_crashes(value):
    assert decode(value, VID, "code1", KEY, NOW) is None


def test_a_genuine_token_of_another_shape_is_no_memory():
    from siyu.web.signed_links import sign

    for payload in ({"v": VID, "c": "code1"}, {"v": VID, "c": "code1", "d": 1, "e": 3, "t": [], "a": {}}):
        assert decode(sign(payload, NOW + timedelta(days=1), KEY), VID, "code1", KEY, NOW) is None
    odd = {"v": VID, "c": "code1", "d": "x", "e": ["code"], "t": [5], "a": {}}
    assert decode(sign(odd, NOW + timedelta(days=1), KEY), VID, "code1", KEY, NOW) is None


def test_new_in_today_and_ever():
    memory = remembered()
    assert memory.new_in(["code", "ch:-", "t:amy"], "2026-11-25") == (frozenset(), frozenset())
    assert memory.new_in(["code", "ch:live"], "2026-11-25") == ({"ch:live"}, {"ch:live"})
    assert memory.new_in(["code", "ch:-"], "2026-11-26") == ({"code", "ch:-"}, frozenset())  # a new day
    later = memory.after(["code"], "2026-11-26", None)
    assert later.today == {"code"} and later.ever == memory.ever and later.assignments == memory.assignments


def test_merged_keeps_the_later_day_and_assignment():
    cookie = remembered()
    record = CodeMemory(
        "2026-11-24",
        frozenset({"ch:live"}),
        frozenset({"code", "ch:live"}),
        {"staff": ("bob", NOW - timedelta(days=1))},
    )
    both = cookie.merged(record)
    assert both.day == "2026-11-25" and both.today == cookie.today
    assert both.ever == {"code", "ch:-", "ch:live", "t:amy"} and both.assignments["staff"][0] == "amy"


def test_a_memory_too_large_for_a_cookie_is_not_set():
    huge = CodeMemory().after([f"ch:{i:030d}" for i in range(200)], "2026-11-25", None)
    assert encode(huge, VID, "code1", KEY, NOW) is None
    small = encode(remembered(), VID, "code1", KEY, NOW)
    assert small is not None and len(small) < MAX_COOKIE_VALUE // 5
