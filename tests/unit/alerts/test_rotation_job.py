"""The rotation job's rules on in-memory fakes of its repositories: leases, a code made due anew
during a run, retries with backoff, resolved and lapsed alerts, one message per event."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from siyu.alerts.destinations import AlertDestination
from siyu.alerts.records import FAILED, SENT
from siyu.alerts.rotation import LEASE, RotationJob
from siyu.alerts.watch_rules import WatchSettings
from siyu.core.clock import to_precise_iso
from siyu.delivery.retry import RetryPolicy
from siyu.live_codes.model import ACTIVE, LiveCode, Target
from tests.fakes.alerts import FakeAlerts, FakeTopic, FakeWatch

NOW = datetime(2026, 11, 23, 12, 0, 0, 250000, tzinfo=UTC)


def target(tid: str, hours: float = 100.0) -> Target:
    return Target(tid, f"https://weixin.qq.com/g/{tid}", "wechat_group", "k", NOW + timedelta(hours=hours), NOW, b"")


def code(*targets: Target, code_id: str = "c1") -> LiveCode:
    return LiveCode(code_id, "会员群", "t", "g", 100, "f", ACTIVE, NOW, NOW, 1, tuple(targets))


def on_fallback(code_id: str = "c1") -> LiveCode:
    return code(code_id=code_id)  # no group left, and it has been scanned (see `world`)


class World:
    def __init__(self, attempts: int = 5, base_seconds: float = 60) -> None:
        self.alerts = FakeAlerts()
        self.watch = FakeWatch(self.alerts)
        self.topic = FakeTopic()
        self.retry = RetryPolicy(attempts, base_seconds)
        for n in (1, 2):
            self.alerts.put_destination(
                AlertDestination(f"d{n}", f"ops {n}", "email", NOW, email=f"ops{n}@example.com")
            )

    def job(self, at: datetime) -> RotationJob:
        return RotationJob(self.watch, self.alerts, self.topic, WatchSettings((48, 24), 24), self.retry, lambda: at)

    def sent(self) -> list[tuple[str, str, str]]:
        return [(d, m.event, m.condition) for d, m in self.topic.published]

    def deliveries(self, code_id: str = "c1"):
        (record,) = self.alerts.log(code_id, 10, None)[0]
        return record


@pytest.fixture
def world() -> World:
    world = World()
    world.watch.add(on_fallback(), NOW, scans={"fallback": 3})
    return world


def test_each_destination_gets_one_message_per_event_however_often_the_job_runs(world):
    report = world.job(NOW).run()
    assert (report.due, report.claimed, report.raised, report.delivered) == (1, 1, 1, 2)
    for minutes in (1, 20, 40):
        world.watch.mark_due("c1", NOW + timedelta(minutes=minutes))
        world.job(NOW + timedelta(minutes=minutes, seconds=1)).run()
    assert world.sent() == [("d1", "raised", "on_fallback"), ("d2", "raised", "on_fallback")]
    record = world.deliveries()
    assert record.status == "delivered" and {d.status for d in record.deliveries.values()} == {SENT}


def test_a_lease_held_by_another_run_is_skipped_until_it_lapses(world):
    (due,) = world.watch.due(NOW)
    assert world.watch.claim("c1", due.seen_due_at, "other-run", NOW, LEASE)
    report = world.job(NOW + timedelta(seconds=30)).run()
    assert (report.due, report.claimed) == (1, 0) and world.sent() == []
    report = world.job(NOW + LEASE + timedelta(seconds=1)).run()  # the other run died
    assert report.claimed == 1 and len(world.sent()) == 2


def test_overlapping_runs_send_each_alert_once(world):
    first, second = world.job(NOW), world.job(NOW)
    (due,) = world.watch.due(NOW)
    assert world.watch.claim("c1", due.seen_due_at, "run-a", NOW, LEASE)
    report = second.run()  # runs while the first holds the code
    first.check(due, "run-a", NOW, world.alerts.destinations(), report)
    assert report.claimed == 0 and len(world.sent()) == 2


def test_a_code_made_due_during_the_run_keeps_its_new_due_time_and_nothing_is_said(world):
    edited_at = NOW + timedelta(seconds=1)
    counters = world.watch.counters

    def edit_while_reading(code_id: str):
        world.watch.mark_due(code_id, edited_at, code(target("g1")))  # the operator uploads a group
        return counters(code_id)

    world.watch.counters = edit_while_reading
    report = world.job(NOW + timedelta(seconds=2)).run()
    item = world.watch.items["c1"]
    assert report.claimed == 1 and world.sent() == [] and world.alerts.records == {}
    assert item.due_at == to_precise_iso(edited_at) and item.lease_owner is None
    world.watch.counters = counters
    report = world.job(NOW + timedelta(seconds=3)).run()  # the next run looks at the code as it is now
    assert report.claimed == 1 and report.raised == 0 and world.sent() == []


def test_an_edit_while_delivering_keeps_the_new_due_time(world):
    edited_at = NOW + timedelta(seconds=1)
    publish = world.topic.publish

    def edit_while_sending(destination_id, message):
        world.watch.mark_due("c1", edited_at)
        publish(destination_id, message)

    world.topic.publish = edit_while_sending
    world.job(NOW + timedelta(seconds=2)).run()
    item = world.watch.items["c1"]
    assert len(world.sent()) == 2 and item.due_at == to_precise_iso(edited_at) and item.lease_owner is None
    world.topic.publish = publish
    world.job(NOW + timedelta(seconds=3)).run()
    assert len(world.sent()) == 2  # recorded and sent once: the next run does not repeat it


def test_a_refused_transition_records_nothing_and_the_next_run_says_it_once(world):
    world.watch.fail_transitions = 1
    assert world.job(NOW).run().raised == 1 and world.sent() == [] and world.alerts.records == {}
    assert world.watch.items["c1"].lease_owner is None
    world.job(NOW + timedelta(seconds=1)).run()  # still due: the failed run did not move due_at
    assert len(world.sent()) == 2 and len(world.alerts.records) == 1


def test_a_failing_destination_is_retried_with_backoff_then_failed():
    world = World(attempts=3, base_seconds=60)
    world.alerts.delete_destination("d2")
    world.watch.add(on_fallback(), NOW, scans={"fallback": 3})
    world.topic.failures = 99
    start = NOW.replace(microsecond=0)

    world.job(NOW).run()
    (state,) = world.deliveries().deliveries.values()
    assert (state.status, state.attempts, state.next_attempt_at) == ("pending", 1, start + timedelta(seconds=60))
    assert world.watch.items["c1"].due_at == to_precise_iso(start + timedelta(seconds=60))  # woken for the retry

    assert world.job(NOW + timedelta(seconds=30)).run().claimed == 0  # not before the backoff
    world.job(NOW + timedelta(seconds=60)).run()
    (state,) = world.deliveries().deliveries.values()
    assert (state.attempts, state.next_attempt_at) == (2, start + timedelta(seconds=60 + 120))  # doubled

    report = world.job(NOW + timedelta(seconds=180)).run()
    (state,) = world.deliveries().deliveries.values()
    assert report.failed == 1 and state.status == FAILED and state.attempts == 3
    assert "SNS publish failed" in (state.last_error or "") and world.deliveries().status == "failed"
    assert world.watch.items["c1"].watch.pending == {}
    world.job(NOW + timedelta(hours=1)).run()
    assert world.deliveries().deliveries["d1"].attempts == 3  # given up: no fourth attempt


def test_a_destination_that_recovers_gets_the_message(world):
    world.topic.failures = 2  # both destinations fail once
    world.job(NOW).run()
    assert world.sent() == [] and world.deliveries().status == "pending"
    report = world.job(NOW + timedelta(seconds=61)).run()
    assert report.delivered == 2 and world.deliveries().status == "delivered"
    assert {d.attempts for d in world.deliveries().deliveries.values()} == {2}


def test_a_deleted_destination_fails_without_retrying(world):
    world.topic.failures = 2
    world.job(NOW).run()
    world.alerts.delete_destination("d2")
    world.job(NOW + timedelta(seconds=61)).run()
    deliveries = world.deliveries().deliveries
    assert deliveries["d1"].status == SENT and deliveries["d2"].status == FAILED
    assert deliveries["d2"].last_error == "the channel was deleted" and world.deliveries().status == "partly_failed"


def test_fixing_the_code_resolves_the_alert_once(world):
    world.job(NOW).run()
    world.watch.mark_due("c1", NOW + timedelta(minutes=1), code(target("g1")))
    report = world.job(NOW + timedelta(minutes=2)).run()
    assert report.resolved == 1
    assert [(e, c) for _, e, c in world.sent()][::2] == [("raised", "on_fallback"), ("resolved", "on_fallback")]
    assert world.topic.published[-1][1].text == "已恢复：已有可用的群二维码，扫码用户不再看到兜底文案。"
    world.watch.mark_due("c1", NOW + timedelta(minutes=3))
    world.job(NOW + timedelta(minutes=4)).run()
    assert len(world.sent()) == 4 and world.watch.items["c1"].watch.open == {}


def test_an_expiry_warning_lapses_silently_and_the_switch_is_said_once():
    world = World()
    world.watch.add(code(target("soon", hours=10), target("later", hours=100)), NOW)
    world.job(NOW).run()
    raised = sorted(c for d, e, c in world.sent() if d == "d1")
    assert raised == ["expiring_24h:soon", "expiring_48h:soon"]
    world.job(NOW + timedelta(hours=11)).run()  # the first group expired
    after = [(e, c) for d, e, c in world.sent()[4:] if d == "d1"]
    assert after == [("switched", "switched:soon:later")]
    switched = world.topic.published[-1][1]
    assert switched.text == "已自动从群二维码 soon 切换到 later（原二维码已过期）。"
    assert world.watch.items["c1"].watch.current_target_id == "later"


def test_the_scan_rate_is_measured_over_at_least_five_minutes():
    world = World()
    world.watch.add(code(target("g1")), NOW, scans={"g1": 10})
    world.job(NOW).run()
    world.watch.items["c1"].scans["g1"] = 40
    world.watch.mark_due("c1", NOW + timedelta(minutes=1))
    world.job(NOW + timedelta(minutes=2)).run()
    watch = world.watch.items["c1"].watch
    assert watch.scans_per_hour is None and watch.scans_total == 10  # too soon to tell
    world.watch.mark_due("c1", NOW + timedelta(minutes=29))
    world.job(NOW + timedelta(minutes=30)).run()
    watch = world.watch.items["c1"].watch
    assert watch.scans_per_hour == pytest.approx(60.0, rel=0.01) and watch.scans_total == 40


def test_alerts_of_other_codes_do_not_reach_a_code_bound_destination(world):
    world.alerts.put_destination(replace(world.alerts.by_id["d1"], id="d3", code_id="other"))
    world.job(NOW).run()
    assert {d for d, _, _ in world.sent()} == {"d1", "d2"}
