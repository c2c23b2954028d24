"""The SOP job, sender and admin on in-memory storage: exactly once, the daily cap, quiet hours
and lateness, retries with backoff, pausing, removed steps, leases held by others, edits that
race."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from siyu.core.errors import Conflict, InvalidInput, StaleVersion
from siyu.delivery.retry import RetryPolicy
from siyu.delivery.sender import DeliveryFailed
from siyu.sop.admin import SopAdmin
from siyu.sop.api import PlanCreate, PlanUpdate
from siyu.sop.job import PLAN_LEASE, SEND_LEASE, JobReport, SopJob
from siyu.sop.ports import DailyPushCounts, DeliveryStore, PlanStore, SopStore
from siyu.sop.repository import SopTable
from siyu.sop.rules import ACTIVE, PAUSED, Content, Destination, Plan
from siyu.sop.sender import SopSender
from tests.fakes.sop import FakeCodeGroups, FakeFiles, FakeSendQueue, FakeSopStore

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
NO_QUIET_HOURS = {"quiet_start": "00:00", "quiet_end": "00:00"}


def local(instant: datetime) -> str:
    return f"{instant + timedelta(hours=8):%Y-%m-%dT%H:%M}"  # Shanghai has no daylight saving


class Receiver:
    """Takes pushes in place of HTTP; fails the first `fail_first`, or every one."""

    def __init__(self, fail_first: int = 0):
        self.fail_first = fail_first
        self.pushes: list[tuple[str, str, str]] = []  # (url, text, delivery id)

    def __call__(self, destination: Destination, content: Content, delivery_id: str, files: object) -> None:
        if self.fail_first:
            self.fail_first -= 1
            raise DeliveryFailed(f"HTTP 500 from {destination.url}")
        self.pushes.append((destination.url, content.text, delivery_id))


class Sop:
    """The admin, the job and the sender on one store and one clock."""

    def __init__(self, retry: RetryPolicy = RetryPolicy(attempts=3, base_seconds=60)):
        self.now = T0
        self.store, self.queue, self.receiver = FakeSopStore(), FakeSendQueue(), Receiver()
        codes, files = FakeCodeGroups(), FakeFiles()
        self.admin = SopAdmin(self.store, codes, files, clock=lambda: self.now)
        self.job = SopJob(self.store, codes, self.queue, clock=lambda: self.now)
        self.sender = SopSender(self.store, codes, files, retry, clock=lambda: self.now, push=self.receiver)

    def plan(self, steps: list[dict], urls: tuple[str, ...] = ("https://crm.example/a",), **extra: object) -> Plan:
        destinations = [{"name": f"crm {i}", "channel": "webhook", "url": url} for i, url in enumerate(urls)]
        body = {"name": "plan", "target": {"kind": "destinations", "destinations": destinations}, "steps": steps}
        return self.admin.create(PlanCreate.model_validate({"guards": NO_QUIET_HOURS, **body, **extra}))

    def run(self, at: datetime) -> JobReport:
        """Run the job at `at` (and move the clock there)."""
        self.now = at
        return self.job.run()

    def tick(self, at: datetime) -> list[str]:
        """Run the job at `at` and send what it handed over; the outcomes."""
        self.run(at)
        return [self.sender.send(plan_id, delivery_id) for plan_id, delivery_id in self.queue.take()]


def once(name: str, at: datetime, text: str = "hi") -> dict:
    return {"name": name, "schedule": {"kind": "once", "on": local(at)}, "content": {"kind": "text", "text": text}}


@pytest.fixture
def sop() -> Sop:
    return Sop()


def test_two_job_runs_create_and_hand_over_each_delivery_once(sop):
    plan = sop.plan([once("hello", T0 + timedelta(minutes=30))], urls=("https://a.example", "https://b.example"))
    at = T0 + timedelta(minutes=31)

    first, second = sop.run(at), sop.run(at)

    assert (first.deliveries_created, first.handed_over) == (2, 2)
    assert (second.plans, second.deliveries_created, second.handed_over) == (0, 0, 0)
    assert len(sop.queue.take()) == 2 and len(sop.store.of_plan(plan.id)) == 2
    # Even a run that finds the plan due again (an edit) creates nothing twice
    sop.store.plans[plan.id].scanned_until = T0
    assert sop.run(at + timedelta(minutes=1)).deliveries_created == 0


def test_a_plan_leased_to_another_run_is_left_alone_until_its_lease_runs_out(sop):
    plan = sop.plan([once("hello", T0 + timedelta(minutes=30))])
    at = T0 + timedelta(minutes=31)
    (plan_id, seen), *_ = sop.store.due_plans(at)
    assert plan_id == plan.id and sop.store.claim_plan(plan.id, seen, "another run", at, PLAN_LEASE)

    assert sop.run(at).plans == 0
    assert sop.store.of_plan(plan.id) == []
    later = sop.run(at + PLAN_LEASE + timedelta(seconds=1))  # the other run died
    assert later.plans == 1 and later.deliveries_created == 1


def test_a_delivery_being_sent_by_another_sender_is_not_sent_again_until_its_lease_runs_out(sop):
    plan = sop.plan([once("hello", T0 + timedelta(minutes=30))])
    at = T0 + timedelta(minutes=31)
    sop.run(at)
    ((plan_id, delivery_id),) = sop.queue.take()
    assert sop.store.claim_delivery(plan_id, delivery_id, at, SEND_LEASE) is not None  # another sender, then a crash

    assert sop.sender.send(plan_id, delivery_id) == "not_due"
    assert sop.tick(at + timedelta(minutes=1)) == []  # handed over: not due again before the hand-over runs out
    assert sop.tick(at + SEND_LEASE + timedelta(seconds=1)) == ["sent"]
    (delivery,) = sop.store.of_plan(plan.id)
    assert delivery.status == "sent" and delivery.attempts == 2 and len(sop.receiver.pushes) == 1
    assert sop.sender.send(plan_id, delivery_id) == "not_due"  # a repeated message sends nothing


def test_the_daily_cap_skips_pushes_over_it_across_plans_to_the_same_receiver(sop):
    at = T0 + timedelta(minutes=30)
    first = sop.plan([once(f"push {i}", at + timedelta(minutes=i)) for i in range(2)], guards={"daily_cap": 3})
    second = sop.plan([once(f"more {i}", at + timedelta(minutes=i)) for i in range(2)], guards={"daily_cap": 3})

    outcomes = sop.tick(at + timedelta(minutes=5))

    assert sorted(outcomes) == ["sent", "sent", "sent", "skipped"]
    skipped = [d for p in (first, second) for d in sop.store.of_plan(p.id) if d.status == "skipped"]
    assert len(skipped) == 1 and "3 pushes today" in (skipped[0].reason or "")
    assert len(sop.receiver.pushes) == 3
    # The next local day counts afresh (Shanghai midnight is 16:00 UTC)
    third = sop.plan([once("tomorrow", T0 + timedelta(hours=15))])
    assert sop.tick(T0 + timedelta(hours=15, minutes=1)) == ["sent"]
    assert [d.status for d in sop.store.of_plan(third.id)] == ["sent"]


def test_quiet_hours_hold_a_push_until_they_end(sop):
    evening = T0 + timedelta(hours=13)  # 23:00 in Shanghai
    plan = sop.plan([once("late", evening)], guards={"quiet_start": "22:00", "quiet_end": "08:00"})

    assert sop.tick(evening + timedelta(minutes=1)) == []
    (delivery,) = sop.store.of_plan(plan.id)
    assert delivery.status == "waiting" and delivery.send_at == T0 + timedelta(hours=22)  # 08:00
    assert sop.tick(T0 + timedelta(hours=21, minutes=59)) == []
    assert sop.tick(T0 + timedelta(hours=22)) == ["sent"]


def test_a_push_found_later_than_the_max_delay_is_skipped_and_never_sent(sop):
    plan = sop.plan([once("missed", T0 + timedelta(minutes=30))], guards={**NO_QUIET_HOURS, "max_delay_minutes": 60})

    assert sop.tick(T0 + timedelta(hours=2)) == []  # the job was down

    (delivery,) = sop.store.of_plan(plan.id)
    assert delivery.status == "skipped" and delivery.reason == "more than 60 minutes late"
    assert delivery.due_at is None and sop.receiver.pushes == []


def test_a_failed_send_is_retried_with_backoff_then_failed_after_the_policys_attempts(sop):
    sop.receiver.fail_first = 99
    plan = sop.plan([once("flaky", T0 + timedelta(minutes=30))])
    at = T0 + timedelta(minutes=31)

    assert sop.tick(at) == ["retry"]
    assert sop.tick(at + timedelta(seconds=59)) == []  # backoff: 60 s after the first failure
    assert sop.tick(at + timedelta(seconds=60)) == ["retry"]
    assert sop.tick(at + timedelta(seconds=60 + 119)) == []  # then 120 s
    assert sop.tick(at + timedelta(seconds=60 + 120)) == ["failed"]  # the policy's third attempt
    assert sop.tick(at + timedelta(hours=1)) == []

    (delivery,) = sop.store.of_plan(plan.id)
    assert delivery.status == "failed" and delivery.attempts == 3 and delivery.due_at is None
    assert [h.error for h in delivery.history] == ["HTTP 500 from https://crm.example/a"] * 3
    # An operator resends it: one more attempt, which succeeds
    sop.receiver.fail_first = 0
    assert sop.admin.resend(plan.id, delivery.id).status == "queued"
    assert sop.tick(at + timedelta(hours=1, minutes=1)) == ["sent"]
    with pytest.raises(Conflict):
        sop.admin.resend(plan.id, delivery.id)


def test_a_delivery_of_a_paused_plan_is_held_and_sent_when_the_plan_resumes(sop):
    plan = sop.plan([once("hello", T0 + timedelta(minutes=30))])
    at = T0 + timedelta(minutes=31)
    sop.run(at)
    ((plan_id, delivery_id),) = sop.queue.take()
    sop.admin.set_status(plan.id, PAUSED)

    assert sop.sender.send(plan_id, delivery_id) == "held"
    assert [d.reason for d in sop.store.held(plan.id)] == ["the plan is paused"]
    assert sop.tick(at + timedelta(minutes=10)) == []

    assert sop.admin.set_status(plan.id, ACTIVE).status == ACTIVE
    assert sop.tick(at + timedelta(minutes=11)) == ["sent"]
    assert len(sop.receiver.pushes) == 1


def test_a_delivery_whose_step_was_removed_is_cancelled_not_sent(sop):
    at = T0 + timedelta(minutes=30)
    plan = sop.plan([once("kept", at + timedelta(days=1)), once("removed", at)])  # steps s1, s2
    sop.run(at + timedelta(minutes=1))
    ((plan_id, delivery_id),) = sop.queue.take()
    assert ".s2." in delivery_id
    sop.admin.update(plan.id, PlanUpdate.model_validate({"steps": [once("kept", at + timedelta(days=1))]}))

    assert sop.sender.send(plan_id, delivery_id) == "cancelled"
    (delivery,) = sop.store.of_plan(plan.id)
    assert delivery.reason == "the step was removed from the plan" and sop.receiver.pushes == []


def test_an_edit_racing_another_is_applied_to_what_the_other_saved(sop):
    plan = sop.plan([once("hello", T0 + timedelta(minutes=30))])
    save = sop.store.save_plan
    raced = []

    def racing_save(changed: Plan, *args: object, **kwargs: object) -> Plan:
        if not raced:  # another operator renames the plan between our read and our save
            raced.append(save(replace(sop.store.plans[plan.id].plan, name="renamed by the other")))
        return save(changed, *args, **kwargs)

    sop.store.save_plan = racing_save
    updated = sop.admin.update(plan.id, PlanUpdate.model_validate({"guards": {"daily_cap": 5}}))

    assert updated.name == "renamed by the other" and updated.guards.daily_cap == 5 and updated.version == 3


def test_an_edit_gives_up_with_a_conflict_when_the_plan_keeps_changing(sop):
    plan = sop.plan([once("hello", T0 + timedelta(minutes=30))])

    def always_stale(changed: Plan, *args: object, **kwargs: object) -> Plan:
        raise StaleVersion(changed.id)

    sop.store.save_plan = always_stale
    with pytest.raises(Conflict, match="kept changing"):
        sop.admin.update(plan.id, PlanUpdate.model_validate({"name": "new name"}))
    assert sop.store.plans[plan.id].plan.name == "plan"


def test_the_fake_refuses_a_stale_save_like_the_table(sop):
    plan = sop.plan([once("hello", T0 + timedelta(minutes=30))])
    sop.store.save_plan(plan)
    with pytest.raises(StaleVersion):
        sop.store.save_plan(replace(plan, name="late"))


def test_an_edit_stores_the_images_of_its_steps_and_removes_them_when_the_save_fails(sop):
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()
    image_step = {**once("picture", T0 + timedelta(hours=1)), "content": {"kind": "image", "image_base64": png}}
    plan = sop.plan([once("hello", T0 + timedelta(minutes=30))])

    updated = sop.admin.update(plan.id, PlanUpdate.model_validate({"steps": [image_step]}))

    key = updated.steps[0].content.image_key
    assert key and sop.admin.files.get(key) == base64.b64decode(png)

    def always_stale(changed: Plan, *args: object, **kwargs: object) -> Plan:
        raise StaleVersion(changed.id)

    sop.store.save_plan = always_stale
    with pytest.raises(Conflict):
        sop.admin.update(plan.id, PlanUpdate.model_validate({"steps": [image_step]}))
    assert list(sop.admin.files.objects) == [key]


def test_step_images_that_are_not_base64_or_not_pictures_are_refused_with_the_step(sop):
    bad = {**once("picture", T0 + timedelta(hours=1)), "content": {"kind": "image", "image_base64": "not base64!"}}
    with pytest.raises(InvalidInput, match=r"step 1 \(picture\): image_base64 is not valid base64"):
        sop.plan([bad])
    gif = {**bad, "content": {"kind": "image", "image_base64": base64.b64encode(b"GIF89a....").decode()}}
    with pytest.raises(InvalidInput, match="must be a PNG or JPEG"):
        sop.plan([gif])


def test_the_fake_and_the_table_offer_the_same_operations():
    operations = {name for name in vars(SopStore) | vars(PlanStore) | vars(DeliveryStore) if not name.startswith("_")}
    operations |= {name for name in vars(DailyPushCounts) if not name.startswith("_")}
    assert operations <= set(dir(FakeSopStore)) and operations <= set(dir(SopTable))
