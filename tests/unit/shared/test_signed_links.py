"""Signed links: a genuine token opens until it expires; any change to it, another key, or
garbage is refused without a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.web.signed_links import LinkRefused, sign, verify

KEY = b"k" * 32
NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


def test_a_genuine_token_gives_its_payload_back_until_it_expires():
    token = sign({"plan": "p1", "delivery": "d.1", "who": "小王"}, NOW + timedelta(hours=1), KEY)
    assert verify(token, KEY, NOW)["who"] == "小王"
    with pytest.raises(LinkRefused) as refused:
        verify(token, KEY, NOW + timedelta(hours=1))
    assert refused.value.reason == "expired"


def test_another_key_or_any_changed_character_is_refused():
    token = sign({"plan": "p1"}, NOW + timedelta(hours=1), KEY)
    with pytest.raises(LinkRefused):
        verify(token, b"x" * 32, NOW)
    for i in range(len(token)):
        changed = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
        with pytest.raises(LinkRefused):
            verify(changed, KEY, NOW)


def test_a_longer_expiry_cannot_be_forged_into_the_payload():
    token = sign({"plan": "p1"}, NOW + timedelta(minutes=1), KEY)
    payload, signature = token.split(".")
    other = sign({"plan": "p1"}, NOW + timedelta(days=365), KEY).split(".")[0]
    with pytest.raises(LinkRefused):
        verify(f"{other}.{signature}", KEY, NOW)
    assert payload != other


@given(st.text(max_size=300))
def test_garbage_is_refused_never_a_crash(token):
    with pytest.raises(LinkRefused):
        verify(token, KEY, NOW)


@pytest.mark.parametrize("token", ["é.AAAA", "AAAA.é", "中文.签名", ".", "a.", ".b"])
def test_non_ascii_or_empty_halves_are_refused_never_a_crash(token):
    with pytest.raises(LinkRefused):
        verify(token, KEY, NOW)
