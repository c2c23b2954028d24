"""Fission campaign rules, without AWS: who may invite whom, tiers, leaderboard order, names."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.campaigns.rules import (
    ALREADY_INVITED,
    ALREADY_PARTICIPANT,
    NOT_NEW,
    NOT_RUNNING,
    PAGE_TARGET,
    REFERRER_BLOCKED,
    SELF_INVITE,
    UNKNOWN_REFERRER,
    Campaign,
    Participant,
    ReferralVisit,
    Rules,
    clean_nickname,
    credit_at,
    invite_refusal,
    is_visible,
    next_tier,
    numbered_tiers,
    parse_referral,
    rank_key,
    referral_param,
    tiers_reached,
)
from siyu.web.visitors import address_hash

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def campaign(**rules) -> Campaign:
    tiers = numbered_tiers([(5, "¥79 券", 10), (3, "¥30 券", 100)])
    return Campaign(
        "camp01",
        "双十二裂变",
        "code01",
        T0 - timedelta(days=1),
        T0 + timedelta(days=7),
        tiers,
        Rules(**rules),
        T0 - timedelta(days=2),
    )


def participant(pid="alice1", vid="a" * 20, **fields) -> Participant:
    return Participant(pid, "camp01", vid, "Alice", T0 - timedelta(hours=1), **fields)


def visit(vid="b" * 20, first=True, at=T0) -> ReferralVisit:
    return ReferralVisit(
        "camp01", "alice1", vid, first, "hash", at, "code01", PAGE_TARGET, True, "document", "navigate"
    )


def test_a_new_visitor_through_a_poster_is_an_invite():
    assert invite_refusal(campaign(), participant(), visit(), None) is None


@pytest.mark.parametrize(
    ("referrer", "the_visit", "invitee", "reason"),
    [
        (participant(), visit(vid="a" * 20), None, SELF_INVITE),
        (participant(blocked=True), visit(), None, REFERRER_BLOCKED),
        (None, visit(), None, UNKNOWN_REFERRER),
        (participant(), visit(first=False), None, NOT_NEW),
        (participant(), visit(at=T0 + timedelta(days=8)), None, NOT_RUNNING),
        (participant(), visit(at=T0 - timedelta(days=2)), None, NOT_RUNNING),
        (participant(), visit(), participant("bob001", "b" * 20), ALREADY_PARTICIPANT),
    ],
)
def test_refused_invites_say_why(referrer, the_visit, invitee, reason):
    assert invite_refusal(campaign(), referrer, the_visit, invitee) == reason


def test_a_friend_counted_before_is_told_apart_from_a_returning_customer():
    assert invite_refusal(campaign(), participant(), visit(first=False), None, invited_before=True) == ALREADY_INVITED


def test_returning_visitors_count_when_the_campaign_allows_them():
    assert invite_refusal(campaign(new_to_brand_only=False), participant(), visit(first=False), None) is None


def test_tiers_are_numbered_by_invites_and_reached_in_order():
    c = campaign()
    assert [(t.level, t.invites) for t in c.tiers] == [(1, 3), (2, 5)]
    assert tiers_reached(c, 2) == [] and next_tier(c, 2).level == 1
    assert [t.level for t in tiers_reached(c, 3)] == [1] and next_tier(c, 3).level == 2
    assert [t.level for t in tiers_reached(c, 9)] == [1, 2] and next_tier(c, 9) is None


def test_two_tiers_with_the_same_count_are_refused():
    with pytest.raises(ValueError, match="same number of invites"):
        numbered_tiers([(3, "a", 1), (3, "b", 1)])


def test_the_stay_time_delays_the_credit():
    assert credit_at(campaign(), T0) == T0
    assert credit_at(campaign(stay_minutes=30), T0) == T0 + timedelta(minutes=30)


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6))
def test_the_leaderboard_puts_more_invites_first_then_who_got_there_first(a, b, sa, sb):
    key_a, key_b = rank_key(a, T0 + timedelta(seconds=sa)), rank_key(b, T0 + timedelta(seconds=sb))
    if a != b:
        assert (key_a < key_b) == (a > b)
    elif sa != sb:
        assert (key_a < key_b) == (sa < sb)


def test_referrals_round_trip_and_junk_is_ignored():
    assert parse_referral(referral_param("camp01", "alice1")) == ("camp01", "alice1")
    for junk in (None, "", "camp01", "camp01.", ".alice1", "CAMP01.alice1", "camp01.alice1.x", "c.a", "a" * 40 + ".b"):
        assert parse_referral(junk) is None


def test_addresses_are_hashed_with_the_key_never_kept():
    hashed = address_hash("key", "203.0.113.7")
    assert "203.0.113.7" not in hashed and hashed == address_hash("key", "203.0.113.7")
    assert hashed != address_hash("other", "203.0.113.7") and hashed != address_hash("key", "203.0.113.8")


def test_nicknames_keep_chinese_and_emoji_and_lose_hidden_characters():
    assert clean_nickname("  小美🌸 Lily  ") == "小美🌸 Lily"
    assert clean_nickname("👩\u200d👩\u200d👧 家") == "👩\u200d👩\u200d👧 家"  # joined emoji stay whole
    assert clean_nickname("abc\u202edcba\u200b\x00") == "abcdcba"  # bidi override, zero-width space, NUL
    assert clean_nickname("一\n二\t三") == "一 二 三"


@pytest.mark.parametrize(("raw", "message"), [("", "empty"), ("\u200b\u202e ", "empty"), ("名" * 65, "at most 64")])
def test_unusable_nicknames_say_what_to_change(raw, message):
    with pytest.raises(ValueError, match=message):
        clean_nickname(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "\u200b\u200c\u200d",  # zero-width space, non-joiner, joiner
        "\u3164\u3164",  # Hangul filler: a "letter" that draws nothing
        "\u2800",  # blank braille pattern
        "\u115f\u1160\uffa0",
        "\ufe0f\ufe0e",  # variation selectors alone
        "\U000e0041\U000e007f",  # tag characters alone
        "\u0301\u0308",  # combining marks with nothing to sit on
        "\u3000\u00a0\u2003\t\r\n",  # ideographic, no-break and em spaces, controls
        "\u2066\u2069\u061c\u180e\u034f",  # bidi isolates, the Arabic letter mark, separators, CGJ
    ],
)
def test_an_invisible_nickname_is_refused(raw):
    """The attack: invisible-only names made a blank name on the poster."""
    with pytest.raises(ValueError, match="empty or invisible"):
        clean_nickname(raw)


@pytest.mark.parametrize("raw", [{"a": 1}, ["小美"], 42, None, True])
def test_a_nickname_that_is_not_text_is_refused(raw):
    """The attack: JSON objects and lists were stored as their Python repr."""
    with pytest.raises(ValueError, match="must be text"):
        clean_nickname(raw)


@given(st.text(min_size=1, max_size=64))
def test_every_accepted_nickname_has_a_visible_character(raw):
    try:
        cleaned = clean_nickname(raw)
    except ValueError:
        return
    assert any(is_visible(c) for c in cleaned) and cleaned == cleaned.strip()
