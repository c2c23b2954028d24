"""An SOP plan through WeCom 企业群发 on the local stack: a plan on the demo group code's customer
groups, the schedule fired twice at once, one task made (add_msg_template) for the groups' owner,
the owner confirming it in the WeCom emulator, and the delivery recorded as sent with its counts.

Runs once the WeCom emulator plays 企业群发 (add_msg_template, get_groupmsg_task,
get_groupmsg_send_result and the control route ``POST /_emulator/groupmsg/{msgid}/confirm``)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from local_stack.demo import DEMO_CHATS, call
from tests.e2e.http import get_json, post_json, wait_for
from tests.e2e.test_rotation_e2e import fire


def test_a_plan_on_the_demo_groups_makes_one_task_which_the_owner_confirms_and_is_recorded_sent(
    fresh_stack, monkeypatch
):
    monkeypatch.setenv("SOP_GROUPMSG_CHECK_SECONDS", "1")  # read the task's results at once, not every 15 min
    info = fresh_stack.start()
    api_url, emulator = info["api_url"], info["wecom_emulator_url"]

    def api(method: str, path: str, body: dict | None = None):
        return call(api_url, info["admin_token"], method, path, body)

    # Given a plan on the demo group code's WeCom groups, due at the start of the next minute
    due = (datetime.now(UTC) + timedelta(minutes=1)).replace(second=0, microsecond=0)
    local = due.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
    step = {
        "name": "秒杀提醒",
        "schedule": {"kind": "once", "on": local},
        "content": {"kind": "text", "text": "今晚秒杀"},
    }
    body = {
        "name": "e2e 企业群发",
        "target": {"kind": "wecom_groups", "code_id": info["demo_code_id"]},
        "steps": [step],
        "guards": {"quiet_start": "00:00", "quiet_end": "00:00"},
    }
    status, plan = api("POST", "/admin/sop/plans", body)
    assert status == 201, plan
    status, calendar = api("GET", f"/admin/sop/plans/{plan['id']}/calendar?days=1")
    assert {item["target_key"] for item in calendar["items"]} >= {f"c:{chat}" for chat in DEMO_CHATS}

    # When its minute has passed and two job runs fire at once
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 1)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: fire(api_url, "SopFunction"), range(2)))

    # Then one task is made for the groups' owner, and the delivery awaits them
    def awaiting():
        items = api("GET", f"/admin/sop/plans/{plan['id']}/deliveries")[1]["items"]
        return items if items and all(d["status"] == "awaiting_staff" for d in items) else None

    (delivery,) = wait_for(awaiting, seconds=60)
    assert set(delivery["chat_ids"]) == set(DEMO_CHATS) and delivery["msgid"]
    assert delivery["counts"] == {"sent": 0, "pending": 2, "not_sent": 0}
    made = [
        c
        for c in get_json(f"{emulator}/_emulator/calls")
        if c["path"].endswith("/add_msg_template") and "今晚秒杀" in json.dumps(c["body"], ensure_ascii=False)
    ]
    assert len(made) == 1

    # When the owner confirms the task in WeCom and the job runs again
    status, answer = post_json(
        f"{emulator}/_emulator/groupmsg/{delivery['msgid']}/confirm", {"sender": delivery["sender"]}
    )
    assert status == 200, answer

    def sent():
        fire(api_url, "SopFunction")
        items = api("GET", f"/admin/sop/plans/{plan['id']}/deliveries")[1]["items"]
        return items[0] if items[0]["status"] == "sent" else None

    recorded = wait_for(sent, seconds=60)
    assert recorded["counts"] == {"sent": 2, "pending": 0, "not_sent": 0}
    assert {r["recipient"] for r in recorded["results"]} == set(DEMO_CHATS)
    status, report = api("GET", f"/admin/sop/plans/{plan['id']}/wecom-report")
    assert status == 200 and report["senders"] == [
        {"sender": delivery["sender"], "tasks": 1, "confirmed": 1, "confirmation_rate": 1.0}
    ]
