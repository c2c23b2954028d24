"""The mechanisms every feature shares, on their own: retry policies, optimistic modify, the item
codec, ids, and the error → status table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.core import ids
from siyu.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    SiyuError,
    StaleVersion,
    TooLarge,
    TooManyRequests,
    UnreadableBody,
    UnsupportedMediaType,
    UploadRefused,
)
from siyu.delivery.retry import RetryPolicy
from siyu.storage import codec
from siyu.storage.versioned import modify
from siyu.web.http_status import http_status

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


def test_retry_doubles_from_the_base_and_gives_up_after_the_attempts():
    policy = RetryPolicy(attempts=5, base_seconds=60)
    assert [policy.next_attempt(n, NOW) - NOW for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert policy.next_attempt(5, NOW) is None
    assert policy.next_attempt(9, NOW) is None


def test_each_purpose_reads_its_own_setting_and_an_empty_one_keeps_the_alerts_timing(monkeypatch):
    monkeypatch.setenv("SOP_RETRY_BASE_SECONDS", "7")
    monkeypatch.setenv("REWARD_RETRY_BASE_SECONDS", "")  # the template's default: not set
    monkeypatch.setenv("ALERT_RETRY_BASE_SECONDS", "30")
    assert RetryPolicy.from_environment("SOP_RETRY_BASE_SECONDS").base_seconds == 7
    assert RetryPolicy.from_environment("REWARD_RETRY_BASE_SECONDS").base_seconds == 30
    monkeypatch.delenv("ALERT_RETRY_BASE_SECONDS")
    assert RetryPolicy.from_environment("REWARD_RETRY_BASE_SECONDS").base_seconds == 60


class Record:
    """A stored record with a version, saved only if nobody saved it since it was read."""

    def __init__(self, others_saving_first: int):
        self.value, self.version, self.others = 0, 0, others_saving_first
        self.reads = 0

    def read(self) -> tuple[int, int]:
        self.reads += 1
        return self.value, self.version

    def save(self, read: tuple[int, int]) -> int:
        value, version = read
        if self.others:  # someone else saves between our read and our write
            self.others -= 1
            self.value, self.version = self.value + 100, self.version + 1
        if version != self.version:
            raise StaleVersion("record")
        self.value, self.version = value + 1, version + 1
        return self.value


@pytest.mark.parametrize("others", [0, 1, 4])
def test_modify_applies_the_change_to_what_the_other_writer_saved(others):
    record = Record(others)
    assert modify(record.read, record.save, "the record") == 100 * others + 1
    assert record.reads == others + 1


def test_modify_gives_up_with_a_conflict_when_the_record_keeps_changing():
    record = Record(others_saving_first=5)
    with pytest.raises(Conflict, match="the record kept changing"):
        modify(record.read, record.save, "the record", attempts=5)
    assert record.reads == 5


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(json_values)
def test_codec_round_trips_plain_values(value):
    """What a repository writes reads back the same (a map's None fields are left out, as stored)."""
    assert codec.plain(codec.attr(value)) == _without_nones(value)


def _without_nones(value):
    if isinstance(value, dict):
        return {k: _without_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nones(v) for v in value]
    return value


def test_codec_writes_instants_as_precise_utc_text():
    assert codec.attr(NOW) == {"S": "2026-12-05T08:00:00.000000Z"}
    assert codec.plain({"N": "2.5"}) == 2.5 and codec.plain({"N": "3"}) == 3


def test_ids_are_short_readable_and_checked_by_one_pattern():
    made = {ids.new_id() for _ in range(500)}
    assert len(made) == 500
    assert all(ids.is_id(i) and len(i) == 10 and not set(i) & set("01lo") for i in made)
    assert ids.is_id("a1b2c3d4e5f6")  # the hex ids made before stay valid
    assert not ids.is_id("../etc") and not ids.is_id("ABC123") and not ids.is_id(None)
    assert ids.stable_id("code-1/raised") == ids.stable_id("code-1/raised") != ids.stable_id("code-2/raised")
    assert ids.run_id() != ids.run_id()


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (UnreadableBody("x"), 400),
        (NotFound("x"), 404),
        (Conflict("x"), 409),
        (TooLarge("x"), 413),
        (UnsupportedMediaType("x"), 415),
        (InvalidInput("x"), 422),
        (UploadRefused("x"), 422),
        (TooManyRequests("x"), 429),
        (SiyuError("x"), 400),
    ],
)
def test_each_fault_has_one_status(error, status):
    assert http_status(error) == status


def test_a_feature_fault_takes_the_status_of_the_fault_it_refines():
    class CampaignEnded(Conflict):
        pass

    assert http_status(CampaignEnded("the campaign ended")) == 409
