"""An SOP plan on the local stack: created from a preset over HTTP, edited, the schedule fired
over HTTP, the push arriving once (signed) at a local receiver through the queue."""

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from siyu.delivery.sender import signature
from tests.e2e.test_rotation_e2e import fire
from tests.receiver import Receiver

ARRIVAL_TIMEOUT = 60  # seconds to wait for the queue poller; a wait, not a timed assertion


def wait_for(condition, timeout: float = ARRIVAL_TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_a_plan_from_a_preset_pushes_once_when_the_schedule_fires(running_stack, api):
    api_url = running_stack.info["api_url"]

    receiver = Receiver()
    try:
        # Given a plan started from the daily-group week preset, pushing to our receiver
        status, plan = api(
            "POST",
            "/admin/sop/plans",
            {
                "preset": "daily_group_week",
                "target": {
                    "kind": "destinations",
                    "destinations": [{"name": "CRM", "channel": "webhook", "url": receiver.url}],
                },
                "guards": {"quiet_start": "00:00", "quiet_end": "00:00"},
            },
        )
        assert status == 201 and plan["name"] == "日常群周计划", plan
        secret = plan["destinations"][0]["secret"]
        # ...which the operator edits: the preset's week, plus a push at the start of the next minute
        _, presets = api("GET", "/admin/sop/presets")
        week = next(p for p in presets if p["id"] == "daily_group_week")["steps"]
        due = (datetime.now(UTC) + timedelta(minutes=1)).replace(second=0, microsecond=0)
        local = due.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
        flash = {
            "name": "限时通知",
            "schedule": {"kind": "once", "on": local},
            "content": {"kind": "text", "text": "秒杀开始"},
        }
        status, edited = api("PATCH", f"/admin/sop/plans/{plan['id']}", {"steps": [*week, flash]})
        assert status == 200 and len(edited["steps"]) == 8, edited
        status, calendar = api("GET", f"/admin/sop/plans/{plan['id']}/calendar?days=1")
        assert calendar["items"][0]["step_name"] == "限时通知"

        # When its minute has passed and the schedule fires (twice: EventBridge delivers at least once)
        time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 1)
        fire(api_url, "SopFunction")
        fire(api_url, "SopFunction")

        # Then the push arrives once, signed with the destination's secret
        assert wait_for(lambda: len(receiver.requests) >= 1), "the push did not arrive"
        fire(api_url, "SopFunction")
        time.sleep(2)  # room for a wrong second delivery to show up
        assert len(receiver.requests) == 1
        (request,) = receiver.requests
        assert request.json()["content"] == {"kind": "text", "text": "秒杀开始"}
        assert request.headers["x-siyu-signature"] == signature(secret, request.body)
        assert wait_for(
            lambda: api("GET", f"/admin/sop/plans/{plan['id']}/deliveries")[1]["items"][0]["status"] == "sent"
        )
    finally:
        receiver.close()
