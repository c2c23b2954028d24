"""SOP plans against the emulator: the admin API, the job and the sender on a clock we control,
the real queue in between, and a local receiver counting what arrives."""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer

from siyu.core.clock import to_precise_iso
from siyu.delivery.retry import RetryPolicy
from siyu.live_codes.repository import CodesTable
from siyu.sop.job import SopJob
from siyu.sop.repository import DeliveryQueue, SopTable, plan_to_json
from siyu.sop.rules import ONCE, TEXT, Content, Destination, Guards, Plan, Schedule, Step
from siyu.sop.sender import SopSender
from siyu.storage.uploads_bucket import UploadsBucket
from tests.helpers import Clock, b64, new_group_screenshot
from tests.receiver import Receiver

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The admin API stamps plans with the real time; the job runs on a clock we move from there.
T0 = (datetime.now(UTC) + timedelta(hours=1)).replace(second=0, microsecond=0)
NO_QUIET_HOURS = {"quiet_start": "00:00", "quiet_end": "00:00"}


def local(instant: datetime) -> str:
    """`instant` as the plan's local date-time (what operators type)."""
    return instant.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def next_local(hour: int, minute: int, after: datetime) -> datetime:
    candidate = after.astimezone(SHANGHAI).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return candidate if candidate > after else candidate + timedelta(days=1)


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def sop(stack):
    """The SOP job and sender on one controllable clock, and a way to drain the queue into the sender."""
    clock = Clock(T0)
    queue_url = stack.template.functions()["SopFunction"].environment["SOP_QUEUE_URL"]
    sqs = boto3.client("sqs")
    job = SopJob(SopTable.from_environment(), CodesTable.from_environment(), DeliveryQueue(sqs, queue_url), clock)
    sender = SopSender(
        SopTable.from_environment(),
        CodesTable.from_environment(),
        UploadsBucket.from_environment(),
        RetryPolicy(),
        clock,
    )

    class Sop:
        def run(self, at: datetime | None = None):
            clock.now = at or clock.now
            return job.run()

        def send_queued(self, plan: dict | None = None) -> list[str]:
            """Send what is queued; the outcomes for `plan` (other tests' plans share the table)."""
            outcomes = []
            while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
                for message in messages:
                    body = json.loads(message["Body"])
                    outcome = sender.send(body["plan_id"], body["delivery"])
                    if plan is None or body["plan_id"] == plan["id"]:
                        outcomes.append(outcome)
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            return outcomes

        def tick(self, at: datetime, plan: dict) -> list[str]:
            self.run(at)
            return self.send_queued(plan)

    sop = Sop()
    sop.send_queued()  # nothing left over from other tests
    return sop


def once_step(name: str, at: str, kind: str = "text", **content) -> dict:
    return {"name": name, "schedule": {"kind": "once", "on": at}, "content": {"kind": kind, **content}}


def webhook_plan(admin, receiver, steps, **extra) -> dict:
    body = {
        "name": "test plan",
        "target": {
            "kind": "destinations",
            "destinations": [{"name": "crm", "channel": "webhook", "url": receiver.url}],
        },
        "steps": steps,
        "guards": NO_QUIET_HOURS,
        **extra,
    }
    status, plan = admin("POST", "/admin/sop/plans", body)
    assert status == 201, plan
    return plan


def deliveries(admin, plan_id: str) -> list[dict]:
    status, log = admin("GET", f"/admin/sop/plans/{plan_id}/deliveries")
    assert status == 200, log
    return log["items"]


def test_a_preset_plan_becomes_a_week_of_pushes_in_the_calendar(admin, receiver):
    status, presets = admin("GET", "/admin/sop/presets")
    assert {p["id"] for p in presets} == {"daily_group_week", "flash_group_15_days", "seeding_then_conversion"}
    plan = webhook_plan(admin, receiver, None, preset="daily_group_week", name=None)
    assert plan["name"] == "日常群周计划" and len(plan["steps"]) == 7
    assert plan["destinations"][0]["secret"]  # shown once, to set up the receiver
    status, calendar = admin("GET", f"/admin/sop/plans/{plan['id']}/calendar", query={"days": "7"})
    assert status == 200 and len(calendar["items"]) == 7
    assert {item["step_name"][:2] for item in calendar["items"]} == {
        "周一",
        "周二",
        "周三",
        "周四",
        "周五",
        "周六",
        "周日",
    }


def test_content_a_channel_cannot_carry_is_refused_at_creation_and_nothing_is_written(admin, storage, receiver):
    before = admin("GET", "/admin/sop/plans", query={"limit": "100"})[1]["items"]
    body = {
        "name": "mini program to a robot",
        "target": {
            "kind": "destinations",
            "destinations": [{"name": "群", "channel": "wecom_robot", "url": receiver.url}],
        },
        "steps": [
            once_step("image first", "2026-12-01T10:00", "image", image_base64=b64(new_group_screenshot()[1])),
            once_step("card", "2026-12-01T11:00", "miniprogram", title="t", appid="wx0123456789abcdef", page="p/i"),
        ],
    }
    status, answer = admin("POST", "/admin/sop/plans", body)
    assert status == 422 and "step 2 (card)" in answer["message"] and "mini-program" in answer["message"]
    assert admin("GET", "/admin/sop/plans", query={"limit": "100"})[1]["items"] == before
    assert not [k for k in storage.keys("sop/")]


def test_two_job_runs_at_once_send_each_delivery_once(admin, sop, receiver):
    destinations = [{"name": f"crm {i}", "channel": "webhook", "url": f"{receiver.url}/{i}"} for i in range(3)]
    body = {
        "name": "once to three",
        "target": {"kind": "destinations", "destinations": destinations},
        "steps": [once_step("hello", local(T0 + timedelta(minutes=30)), text="你好")],
        "guards": NO_QUIET_HOURS,
    }
    status, plan = admin("POST", "/admin/sop/plans", body)
    assert status == 201, plan
    at = T0 + timedelta(minutes=31)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: sop.run(at), range(4)))
        list(pool.map(lambda _: sop.send_queued(), range(4)))
    sop.tick(at + timedelta(minutes=5), plan)  # a later run hands nothing over again
    assert sorted(r.path for r in receiver.requests) == ["/0", "/1", "/2"]
    ids = {r.headers["idempotency-key"] for r in receiver.requests}
    assert len(ids) == 3
    assert [d["status"] for d in deliveries(admin, plan["id"])] == ["sent"] * 3


def test_a_receiver_failing_twice_gets_one_success_and_the_log_shows_the_retries(admin, sop):
    receiver = Receiver(fail_first=2)
    try:
        plan = webhook_plan(admin, receiver, [once_step("retry me", local(T0 + timedelta(minutes=30)), text="hi")])
        at = T0 + timedelta(minutes=31)
        assert sop.tick(at, plan) == ["retry"]
        assert sop.tick(at + timedelta(seconds=30), plan) == []  # backoff: not yet
        assert sop.tick(at + timedelta(seconds=61), plan) == ["retry"]
        assert sop.tick(at + timedelta(seconds=61 + 121), plan) == ["sent"]
        assert sop.tick(at + timedelta(hours=1), plan) == []
    finally:
        receiver.close()
    assert len(receiver.requests) == 3
    (delivery,) = deliveries(admin, plan["id"])
    assert delivery["status"] == "sent" and delivery["attempts"] == 3
    assert [h["error"] for h in delivery["history"]] == ["HTTP 500 from " + receiver.url] * 2


def test_the_delivery_log_shows_the_stored_attributes_by_their_stored_names(admin, sop, stack):
    # Given a delivery that failed once, was retried and was sent (most attributes set) and one held
    receiver = Receiver(fail_first=1)
    try:
        plan = webhook_plan(admin, receiver, [once_step("log me", local(T0 + timedelta(minutes=30)), text="hi")])
        sop.tick(T0 + timedelta(minutes=31), plan)
        sop.tick(T0 + timedelta(minutes=33), plan)
    finally:
        receiver.close()
    # When the log is read, each entry is the item as stored: every attribute but the keys, id for sk
    (logged,) = deliveries(admin, plan["id"])
    table = stack.template.functions()["SopFunction"].environment["TABLE_NAME"]
    item = boto3.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": f"PLAN#{plan['id']}"}, "sk": {"S": f"DELIVERY#{logged['id']}"}}
    )["Item"]
    stored = {name: TypeDeserializer().deserialize(value) for name, value in item.items()}
    stored = {k: int(v) if isinstance(v, Decimal) else v for k, v in stored.items() if k not in ("pk", "sk", "due_pk")}
    assert logged == stored
    assert logged["target_key"].startswith("d:") and logged["status"] == "sent" and logged["cap_counted"] is True


def test_quiet_hours_hold_a_push_and_the_daily_cap_skips_the_fourth(admin, sop, receiver):
    evening = next_local(23, 0, T0)
    steps = [once_step(f"late {i}", local(evening + timedelta(minutes=i)), text=f"晚安 {i}") for i in range(4)]
    plan = webhook_plan(admin, receiver, steps, guards={})  # default quiet hours, 22:00-08:00
    assert sop.tick(evening + timedelta(minutes=10), plan) == []
    assert {d["status"] for d in deliveries(admin, plan["id"])} == {"waiting"}
    outcomes = sop.tick(next_local(8, 1, evening), plan)  # the next morning
    assert sorted(outcomes) == ["sent", "sent", "sent", "skipped"]
    assert len(receiver.requests) == 3
    skipped = [d for d in deliveries(admin, plan["id"]) if d["status"] == "skipped"]
    assert "3 pushes today" in skipped[0]["reason"]


def test_a_push_found_long_overdue_is_skipped_not_sent(admin, sop, receiver):
    step = once_step("noon", local(T0 + timedelta(hours=1)), text="午安")
    plan = webhook_plan(admin, receiver, [step], guards={**NO_QUIET_HOURS, "max_delay_minutes": 30})
    assert sop.tick(T0 + timedelta(hours=3), plan) == []  # the job was down for two hours after the push was due
    (delivery,) = deliveries(admin, plan["id"])
    assert delivery["status"] == "skipped" and "30 minutes late" in delivery["reason"]
    assert receiver.requests == []


def test_a_failed_delivery_can_be_resent(admin, sop):
    receiver = Receiver(fail_first=5)
    try:
        plan = webhook_plan(admin, receiver, [once_step("x", local(T0 + timedelta(minutes=30)), text="x")])
        at = T0 + timedelta(minutes=31)
        for minutes in (0, 2, 5, 10, 20):
            sop.tick(at + timedelta(minutes=minutes), plan)
        (delivery,) = deliveries(admin, plan["id"])
        assert delivery["status"] == "failed" and delivery["attempts"] == 5
        status, answer = admin("POST", f"/admin/sop/plans/{plan['id']}/deliveries/{delivery['id']}/resend")
        assert status == 200 and answer["status"] == "queued"
        assert sop.tick(at + timedelta(minutes=21), plan) == ["sent"]
        status, answer = admin("POST", f"/admin/sop/plans/{plan['id']}/deliveries/{delivery['id']}/resend")
        assert status == 409 and "only failed" in answer["message"]
    finally:
        receiver.close()


def test_a_paused_plan_sends_nothing_until_resumed(admin, sop, receiver):
    steps = [
        once_step("a", local(T0 + timedelta(minutes=30)), text="a"),
        once_step("b", local(T0 + timedelta(minutes=90)), text="b"),
    ]
    plan = webhook_plan(admin, receiver, steps)
    assert admin("POST", f"/admin/sop/plans/{plan['id']}/pause")[1]["status"] == "paused"
    assert sop.tick(T0 + timedelta(minutes=40), plan) == []
    status, resumed = admin("POST", f"/admin/sop/plans/{plan['id']}/resume")
    assert resumed["status"] == "active"
    sop.tick(T0 + timedelta(minutes=41), plan)
    assert receiver.requests == []  # 10:30 fell in the pause: skipped, not sent late
    assert sop.tick(T0 + timedelta(minutes=91), plan) == ["sent"]
    assert [r.json()["content"]["text"] for r in receiver.requests] == ["b"]


def test_a_flash_group_plan_reaches_each_groups_robot_from_the_day_it_was_added(admin, new_code, sop, receiver):
    code = new_code()
    for i in range(2):
        _, image = new_group_screenshot()
        status, target = admin("POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(image)})
        assert status == 201
        status, target = admin(
            "PATCH", f"/admin/codes/{code['id']}/targets/{target['id']}", {"robot_url": f"{receiver.url}/robot{i}"}
        )
        assert status == 200 and target["robot_url"].endswith(f"/robot{i}")
    status, plan = admin(
        "POST",
        "/admin/sop/plans",
        {"preset": "flash_group_15_days", "target": {"kind": "code_groups", "code_id": code["id"]}},
    )
    assert status == 201 and plan["warnings"] == []
    status, calendar = admin("GET", f"/admin/sop/plans/{plan['id']}/calendar", query={"days": "2"})
    assert {item["target_key"] for item in calendar["items"]} == {
        f"g:{t['id']}" for t in admin("GET", f"/admin/codes/{code['id']}")[1]["targets"]
    }
    # The groups were added just now (day 0); the job runs a minute after the first push of the calendar
    first = datetime.fromisoformat(calendar["items"][0]["send_at"])
    outcomes = sop.tick(first + timedelta(minutes=1), plan)
    assert outcomes.count("sent") == 2
    robot_messages = [r.json() for r in receiver.requests]
    assert all(m["msgtype"] == "text" for m in robot_messages)
    assert {r.path for r in receiver.requests} == {"/robot0", "/robot1"}


def test_plan_input_errors_say_what_to_fix(admin, receiver):
    status, answer = admin(
        "POST", "/admin/sop/plans", {"target": {"kind": "destinations", "destinations": []}, "steps": []}
    )
    assert status == 422 and "steps" in answer["message"]
    status, answer = admin(
        "POST",
        "/admin/sop/plans",
        {"target": {"kind": "code_groups", "code_id": "nosuchcode"}, "preset": "daily_group_week"},
    )
    assert status == 422 and "nosuchcode" in answer["message"]
    bad_weekly = {"name": "w", "schedule": {"kind": "weekly", "at": "20:00"}, "content": {"kind": "text", "text": "x"}}
    dest = {"kind": "destinations", "destinations": [{"name": "d", "channel": "webhook", "url": receiver.url}]}
    status, answer = admin("POST", "/admin/sop/plans", {"target": dest, "steps": [bad_weekly]})
    assert status == 422 and "weekdays" in answer["message"]
    status, answer = admin(
        "POST", "/admin/sop/plans", {"target": dest, "steps": [bad_weekly], "time_zone": "Moon/Base"}
    )
    assert status == 422 and "time_zone" in answer["message"]


def test_a_job_run_reads_on_the_order_of_the_due_items_not_the_plans(stack, sop, receiver):
    # Given 1,000 plans of which 10 have a push due now
    base = T0 + timedelta(days=30)
    sop.run(base)  # other tests' plans share the table: whatever of theirs is due by then goes first
    sop.send_queued()
    plans = []
    for n in range(1000):
        due = n % 100 == 0
        at = base + (timedelta(minutes=-5) if due else timedelta(days=3))
        plan = Plan(
            id=f"bench{n:05d}",
            name="bench",
            time_zone="Asia/Shanghai",
            audience={"kind": "destinations"},
            steps=(
                Step(
                    "s1",
                    "push",
                    Schedule(ONCE, at.astimezone(SHANGHAI).time(), on=at.astimezone(SHANGHAI).date()),
                    Content(TEXT, text="x"),
                ),
            ),
            guards=Guards(quiet_start=time(0, 0), quiet_end=time(0, 0)),
            status="active",
            start=base.date(),
            created_at=base - timedelta(days=1),
            destinations=(Destination("d:x", "x", "webhook", f"{receiver.url}/{n}", "s" * 16),),  # a cap each
        )
        plans.append(plan)
    items = []
    for plan in plans:
        due_at = base if plan.id.endswith("00") else base + timedelta(days=3)
        items.append(
            {
                "pk": {"S": f"PLAN#{plan.id}"},
                "sk": {"S": "PLAN"},
                "plan_json": {"S": plan_to_json(plan)},
                "status": {"S": "active"},
                "version": {"N": "1"},
                "scanned_until": {"S": to_precise_iso(plan.created_at)},
                "due_pk": {"S": "SOP"},
                "due_at": {"S": to_precise_iso(due_at)},
            }
        )
    client = boto3.client("dynamodb")
    table_name = stack.template.functions()["SopFunction"].environment["TABLE_NAME"]
    for start in range(0, len(items), 25):
        client.batch_write_item(
            RequestItems={table_name: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        )

    # When the job runs
    report = sop.run(base)

    # Then it expanded the 10 due plans into 10 deliveries and read about that many items
    assert report.plans == 10 and report.deliveries_created == 10 and report.handed_over == 10
    assert report.items_read <= 40, report  # 10 due plans + 10 plan reads + 10 due deliveries (+ leftovers)
    assert sop.send_queued({"id": plans[0].id}) == ["sent"]
    assert len(receiver.requests) == 10


def test_a_stored_plan_whose_dates_cannot_be_computed_does_not_stop_the_others(admin, sop, receiver):
    # Given a plan stored with a start no clock can reach (written before the contract bounded dates)...
    day_one = {"name": "day 0", "schedule": {"kind": "day_offset", "day": 0, "at": "00:00"}}
    broken = webhook_plan(admin, receiver, [{**day_one, "content": {"kind": "text", "text": "x"}}])
    table = SopTable.from_environment()
    plan, _ = table.plan(broken["id"])
    table.save_plan(dataclasses.replace(plan, start=date(1, 1, 1)), due_now=T0)
    # ...and a good plan due at the same time
    good = webhook_plan(admin, receiver, [once_step("hello", local(T0 + timedelta(minutes=30)), text="你好")])
    # When the job runs, the good plan is expanded and sent; the broken one is reported, not fatal
    report = sop.run(T0 + timedelta(minutes=31))
    assert broken["id"] in report.failed_plans
    assert sop.send_queued(good) == ["sent"]


def test_a_plan_too_large_for_one_item_gets_a_422_that_says_the_limit(admin, storage, receiver):
    """The attack: a valid plan (100 steps x 5,000 Chinese characters) exceeded 400 KB and returned a 500."""
    before = storage.item_count()
    steps = [once_step(f"step {n}", f"2026-12-{n % 28 + 1:02d}T10:00", text="字" * 5000) for n in range(100)]
    body = {
        "name": "too large",
        "target": {
            "kind": "destinations",
            "destinations": [{"name": "crm", "channel": "webhook", "url": receiver.url}],
        },
        "steps": steps,
    }
    status, answer = admin("POST", "/admin/sop/plans", body)
    assert status == 422 and "400 KB" in answer["message"] and "at most" in answer["message"], answer
    assert storage.item_count() == before
