"""Runway, alert conditions and the next check: the rotation job's pure rules."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from siyu.alerts.destinations import AlertMessage
from siyu.alerts.records import DeliveryState, delivery_status
from siyu.alerts.watch_rules import RECHECK_FLOOR, WatchSettings, conditions, lapsed, next_check, runway
from siyu.delivery.retry import RetryPolicy
from siyu.delivery.sender import signature
from siyu.live_codes.model import ACTIVE, ARCHIVED, LiveCode, Target

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SETTINGS = WatchSettings((48, 24), 24)


def target(tid, hours=100.0, enabled=True):
    return Target(
        tid, f"https://weixin.qq.com/g/{tid}", "wechat_group", "k", NOW + timedelta(hours=hours), NOW, b"", enabled
    )


def code(*targets, threshold=100, status=ACTIVE):
    return LiveCode("c1", "会员群", "t", "g", threshold, "f", status, NOW, NOW, 1, tuple(targets))


def test_expiry_warnings_at_48_and_24_hours():
    assert set(conditions(code(target("a", 50)), {}, NOW, SETTINGS, None)) == set()
    assert set(conditions(code(target("a", 47), target("b", 100)), {}, NOW, SETTINGS, None)) == {"expiring_48h:a"}
    assert set(conditions(code(target("a", 23), target("b", 100)), {}, NOW, SETTINGS, None)) == {
        "expiring_48h:a",
        "expiring_24h:a",
    }


def test_runway_counts_room_and_time_and_rate():
    live = code(target("a", 30), target("b", 60), target("c", 1, enabled=False), threshold=100)
    span = runway(live, {"a": 40}, NOW, scans_per_hour=10)
    assert (span.usable_targets, span.scans_left, span.hours_until_last_expiry) == (2, 160, 60)
    assert span.hours == 16  # 160 scans at 10 an hour runs out before the last QR expires
    assert "runway_low" in conditions(live, {"a": 40}, NOW, SETTINGS, 10)
    assert "runway_low" not in conditions(live, {"a": 40}, NOW, SETTINGS, 1)


def test_fallback_is_one_condition_and_archived_codes_have_none():
    full = code(target("a"), threshold=5)
    assert set(conditions(full, {"a": 5}, NOW, SETTINGS, None)) == {"on_fallback"}
    assert set(conditions(code(), {"fallback": 1}, NOW, SETTINGS, None)) == {"on_fallback"}
    assert conditions(code(), {}, NOW, SETTINGS, None) == {}  # new and never scanned: nothing wrong yet
    assert conditions(code(target("a", 1), status=ARCHIVED), {}, NOW, SETTINGS, None) == {}


def test_an_expiry_warning_lapses_when_the_target_expires_but_not_when_fixed():
    assert lapsed("expiring_24h:a", code(target("a", -1)), NOW)
    assert not lapsed("expiring_24h:a", code(target("a", 100)), NOW)  # re-dated: resolved
    assert not lapsed("expiring_24h:a", code(), NOW)  # deleted: resolved
    assert not lapsed("runway_low", code(), NOW)


@given(st.lists(st.floats(min_value=-100, max_value=400), max_size=5), st.booleans())
def test_next_check_is_never_sooner_than_the_floor_and_catches_every_threshold(hours, alerting):
    live = code(*[target(f"t{i}", h) for i, h in enumerate(hours)])
    span = runway(live, {}, NOW, None)
    due = next_check(live, NOW, SETTINGS, span, alerting)
    assert due >= NOW + RECHECK_FLOOR
    for t in live.targets:
        for moment in (t.expires_at, t.expires_at - timedelta(hours=48), t.expires_at - timedelta(hours=24)):
            if moment > NOW + RECHECK_FLOOR:
                assert due <= moment


def test_webhook_signature_is_hmac_sha256_of_the_body():
    body = '{"a": "测试"}'.encode()
    expected = hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    assert signature("secret", body) == f"sha256={expected}"


def test_backoff_doubles():
    assert [RetryPolicy(5, 60).delay(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]


def test_delivery_status_summarises_channels():
    assert delivery_status({}) == "no_channel"
    sent, pending, failed = DeliveryState("sent", 1), DeliveryState("pending"), DeliveryState("failed", 5)
    assert delivery_status({"a": sent, "b": pending}) == "pending"
    assert delivery_status({"a": sent}) == "delivered"
    assert delivery_status({"a": sent, "b": failed}) == "partly_failed"
    assert delivery_status({"a": failed}) == "failed"


def test_robot_markdown_carries_the_message():
    message = AlertMessage("id1", "c1", "会员群", "raised", "on_fallback", "critical", "没有可用的群二维码", NOW)
    markdown = message.markdown()
    assert "会员群" in markdown and "没有可用的群二维码" in markdown and "紧急" in markdown


def test_an_open_runway_alert_needs_a_margin_to_resolve():
    live = code(target("a", 100), threshold=100)
    # 100 scans left at 4.5 an hour: 22 h of runway raises; 26 h does not resolve an open alert
    assert "runway_low" in conditions(live, {}, NOW, SETTINGS, 100 / 22)
    assert "runway_low" not in conditions(live, {}, NOW, SETTINGS, 100 / 26)
    assert "runway_low" in conditions(live, {}, NOW, SETTINGS, 100 / 26, already_open={"runway_low"})
    assert "runway_low" not in conditions(live, {}, NOW, SETTINGS, 100 / 31, already_open={"runway_low"})
