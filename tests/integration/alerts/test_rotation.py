"""The rotation job against the emulator: switches, alerts once and resolved, deliveries to a
local receiver (signed webhook and WeCom robot), retries, overlap, and what a run reads."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from local_stack.scheduler import scheduled_event
from siyu.alerts.repository import AlertsTable, AlertTopic
from siyu.alerts.rotation import LEASE, RotationJob, RunReport
from siyu.alerts.watch_repository import WatchTable
from siyu.alerts.watch_rules import WatchSettings
from siyu.delivery.retry import RetryPolicy
from siyu.delivery.sender import signature
from siyu.live_codes.repository import CodesTable
from siyu.live_codes.scan import ScanService
from tests.helpers import b64, new_group_screenshot, qr_data_uri
from tests.receiver import Receiver

SECRET = "a-shared-secret-of-some-length"


def job(at: datetime, retry_base: float = 0) -> RotationJob:
    return RotationJob(
        WatchTable.from_environment(),
        AlertsTable.from_environment(),
        AlertTopic(boto3.client("sns"), os.environ["ALERT_TOPIC_ARN"]),
        WatchSettings((48, 24), 24),
        RetryPolicy(base_seconds=retry_base),
        clock=lambda: at,
    )


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture(autouse=True)
def nothing_else_due():
    """Codes other tests made are due too; look at them first so each test sees only its own."""
    job(datetime.now(UTC)).run()


@pytest.fixture
def watched_code(admin, new_code, receiver):
    def create(targets_hours: list[float], **settings):
        code = new_code(**settings)
        for hours in targets_hours:
            expires = (datetime.now(UTC) + timedelta(hours=hours)).isoformat()
            _, image = new_group_screenshot()
            status, answer = admin(
                "POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(image), "expires_at": expires}
            )
            assert status == 201, answer
        status, channel = admin(
            "POST",
            "/admin/alert-channels",
            {
                "name": "ops hook",
                "kind": "webhook",
                "url": receiver.url + "/hook",
                "secret": SECRET,
                "code_id": code["id"],
            },
        )
        assert status == 201 and channel["secret"] == SECRET
        status, _ = admin(
            "POST",
            "/admin/alert-channels",
            {"name": "ops group robot", "kind": "wecom_robot", "url": receiver.url + "/robot", "code_id": code["id"]},
        )
        assert status == 201
        return code

    return create


@pytest.fixture
def code_on_fallback(admin, scan, new_code, receiver):
    """A code with no groups that a scanner has just hit, and a webhook for its alerts."""

    def create(**settings):
        code = new_code(**settings)
        scan(code["id"])
        channel = {"name": "h", "kind": "webhook", "url": receiver.url + "/hook", "code_id": code["id"]}
        assert admin("POST", "/admin/alert-channels", channel)[0] == 201
        return code

    return create


def hooks(receiver, path="/hook"):
    return [r for r in receiver.requests if r.path == path]


def test_expiry_warnings_then_switch_once_the_qr_expires(admin, watched_code, receiver):
    code = watched_code([1, 100])
    now = datetime.now(UTC)
    report = job(now).run()
    assert report.raised >= 2
    webhook = hooks(receiver)
    first = admin("GET", f"/admin/codes/{code['id']}")[1]["targets"][0]["id"]
    assert sorted(r.json()["condition"] for r in webhook) == [f"expiring_24h:{first}", f"expiring_48h:{first}"]
    for request in webhook:
        assert request.headers["x-siyu-signature"] == signature(SECRET, request.body)
        assert request.json()["code_id"] == code["id"] and request.json()["event"] == "raised"
    robot = hooks(receiver, "/robot")
    assert len(robot) == 2 and all(r.json()["msgtype"] == "markdown" for r in robot)
    assert code["name"] in robot[0].json()["markdown"]["content"]

    later = now + timedelta(hours=2)  # the first QR has expired
    job(later).run()
    switched = [r.json() for r in hooks(receiver)[2:]]
    assert [m["event"] for m in switched] == ["switched"]  # the expiry warnings lapse silently
    second = admin("GET", f"/admin/codes/{code['id']}")[1]["targets"][1]["id"]
    assert switched[0]["condition"] == f"switched:{first}:{second}" and "已过期" in switched[0]["message"]
    job(later + timedelta(hours=1)).run()
    assert len(hooks(receiver)) == 3  # nothing is said twice

    second_url = admin("GET", f"/admin/codes/{code['id']}")[1]["targets"][1]["url"]
    page = ScanService(CodesTable.from_environment(), 0, clock=lambda: later).scan(code["id"]).page
    assert qr_data_uri(second_url) in page["body"]


def test_fallback_alert_fires_once_and_resolves_when_fixed(admin, scan, watched_code, receiver):
    code = watched_code([100], switch_threshold=1)
    scan(code["id"])  # the only group is now full
    now = datetime.now(UTC)
    job(now).run()
    job(now + timedelta(minutes=20)).run()
    events = [r.json() for r in hooks(receiver)]
    assert [(e["event"], e["condition"]) for e in events] == [("raised", "on_fallback")]
    assert events[0]["severity"] == "critical"

    _, image = new_group_screenshot()
    admin("POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(image)})  # the fix makes it due
    job(now + timedelta(minutes=21)).run()
    events = [r.json() for r in hooks(receiver)]
    assert [(e["event"], e["condition"]) for e in events][1:] == [("resolved", "on_fallback")]


def test_runway_alert_from_the_scan_rate(admin, scan, watched_code, receiver):
    code = watched_code([160, 160], switch_threshold=100)
    now = datetime.now(UTC)
    job(now).run()
    assert job(now + timedelta(hours=1)).run().claimed == 0  # nothing to look at yet
    for _ in range(120):
        scan(code["id"])  # the first group fills up: the scan that fills it makes the code due
    job(now + timedelta(hours=1)).run()  # 120 scans an hour with 80 left: under 24 h of runway
    events = {e["event"]: e for e in (r.json() for r in hooks(receiver))}
    assert set(events) == {"raised", "switched"}  # the full group was also switched away from
    assert events["raised"]["condition"] == "runway_low" and "0.7 小时" in events["raised"]["message"]


def test_failing_receiver_is_retried_with_backoff_and_logged(admin, code_on_fallback, receiver):
    receiver.fail_first = 2
    code = code_on_fallback()
    now = datetime.now(UTC)
    for seconds in (0, 1, 2, 3):
        job(now + timedelta(seconds=seconds)).run()
    assert len(hooks(receiver)) == 3  # two failures, then one success, then nothing more
    status, log = admin("GET", "/admin/alerts", query={"code_id": code["id"]})
    assert status == 200 and len(log["items"]) == 1
    entry = log["items"][0]
    (delivery,) = entry["deliveries"].values()
    assert entry["status"] == "delivered" and delivery["attempts"] == 3 and "HTTP 500" in delivery["last_error"]


def test_retry_waits_for_the_backoff(code_on_fallback, receiver):
    receiver.fail_first = 1
    code_on_fallback()
    now = datetime.now(UTC)
    job(now, retry_base=60).run()
    job(now + timedelta(seconds=30), retry_base=60).run()
    assert len(hooks(receiver)) == 1  # not yet: the first retry waits 60 s
    job(now + timedelta(seconds=61), retry_base=60).run()
    assert len(hooks(receiver)) == 2


def test_two_concurrent_runs_send_each_alert_once(code_on_fallback, receiver):
    codes = [code_on_fallback() for _ in range(5)]
    now = datetime.now(UTC)
    runs = [threading.Thread(target=job(now).run) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    sent = [(r.json()["code_id"], r.json()["condition"]) for r in hooks(receiver)]
    assert sorted(sent) == sorted((c["id"], "on_fallback") for c in codes)


def test_a_run_reads_only_what_is_due(admin, new_code, receiver):
    idle = [new_code() for _ in range(30)]
    now = datetime.now(UTC)
    job(now).run()  # every new code has been looked at: none is due for a while
    due = [new_code() for _ in range(3)]
    channels = len(AlertsTable.from_environment().destinations())
    measured = job(datetime.now(UTC) + timedelta(seconds=1))
    items_read = []

    def count(http_response, parsed, model, **_):
        items_read.append(len(parsed.get("Items", [])) + (1 if "Item" in parsed else 0))

    measured.watch._client.meta.events.register("after-call.dynamodb", count)
    report = measured.run()
    assert report.due == 3 and report.claimed == 3
    assert sum(items_read) <= 2 * len(due) + channels  # due codes, their counters, the channel list
    assert len(idle) == 30


def test_the_scheduled_function_runs_the_job(stack):
    answer = stack.functions["RotateFunction"].invoke(scheduled_event(stack.scheduler.schedules[0]))
    assert set(answer) >= {"due", "claimed", "raised", "resolved", "switched", "delivered", "failed"}


def test_channel_input_is_checked_and_test_messages_arrive(admin, receiver):
    status, answer = admin("POST", "/admin/alert-channels", {"name": "x", "kind": "webhook", "url": "not a url"})
    assert status == 422 and "url" in answer["message"]
    status, answer = admin("POST", "/admin/alert-channels", {"name": "x", "kind": "email", "email": "nope"})
    assert status == 422 and "email" in answer["message"]
    status, answer = admin("POST", "/admin/alert-channels", {"name": "x", "kind": "pager"})
    assert status == 422 and "kind" in answer["message"]
    status, email = admin(
        "POST", "/admin/alert-channels", {"name": "ops mail", "kind": "email", "email": "ops@example.com"}
    )
    assert status == 201 and email["secret"] is None
    status, robot = admin(
        "POST", "/admin/alert-channels", {"name": "r", "kind": "wecom_robot", "url": receiver.url + "/robot"}
    )
    status, tested = admin("POST", f"/admin/alert-channels/{robot['id']}/test")
    assert status == 200 and tested == {"delivered": True, "error": None}
    assert "测试" in json.loads(hooks(receiver, "/robot")[0].body)["markdown"]["content"]
    for channel in (email, robot):  # global channels would get every other test's alerts
        assert admin("DELETE", f"/admin/alert-channels/{channel['id']}")[0] == 204
    assert admin("DELETE", f"/admin/alert-channels/{robot['id']}")[0] == 404


def test_an_edit_during_a_run_keeps_the_code_due(admin, new_code, storage):
    code = new_code()
    now = datetime.now(UTC) + timedelta(seconds=1)
    running = job(now)
    due = next(d for d in running.watch.due(now) if d.code.id == code["id"])
    seen = due.seen_due_at
    assert running.watch.claim(code["id"], seen, "run-1", now, LEASE)
    admin("POST", f"/admin/codes/{code['id']}/archive")  # the operator acts while the job runs...
    admin("POST", f"/admin/codes/{code['id']}/restore")
    stale = CodesTable.from_environment().load(code["id"])[0]
    running.check(replace(due, code=stale), "run-1", now, [], RunReport())  # ...on what it read before
    (item,) = [i for i in storage.items(code["id"]) if i["sk"]["S"] == "CODE"]
    assert "lease_owner" not in item and item["due_pk"]["S"] == "DUE" and item["due_at"]["S"] != seen
    assert job(datetime.now(UTC) + timedelta(seconds=2)).run().claimed >= 1
