"""The rotation schedule on the local stack, fired over HTTP, delivering to a local receiver."""

import json
import urllib.request
from datetime import UTC, datetime, timedelta

from local_stack.demo import call
from siyu.delivery.sender import signature
from tests.helpers import WECHAT_UA, b64, new_group_screenshot
from tests.receiver import Receiver


def fire(api_url: str, function_id: str = "RotateFunction") -> dict:
    request = urllib.request.Request(f"{api_url}/_local/schedules/{function_id}", method="POST")
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def test_schedule_switches_and_alerts_arrive_once(running_stack):
    api_url, token = running_stack.info["api_url"], running_stack.info["admin_token"]
    receiver = Receiver()
    try:
        _, code = call(api_url, token, "POST", "/admin/codes", {"name": "e2e rotation", "switch_threshold": 1})
        soon = (datetime.now(UTC) + timedelta(hours=30)).isoformat()
        first_url, first = new_group_screenshot()
        call(
            api_url,
            token,
            "POST",
            f"/admin/codes/{code['id']}/targets",
            {"image_base64": b64(first), "expires_at": soon},
        )
        _, second = new_group_screenshot()
        call(api_url, token, "POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(second)})
        status, channel = call(
            api_url,
            token,
            "POST",
            "/admin/alert-channels",
            {
                "name": "e2e hook",
                "kind": "webhook",
                "url": receiver.url + "/hook",
                "code_id": code["id"],
            },
        )
        assert status == 201

        assert fire(api_url)["fired"] == 1
        assert [r.json()["condition"].split(":")[0] for r in receiver.requests] == ["expiring_48h"]

        scan = urllib.request.Request(code["scan_url"], headers={"User-Agent": WECHAT_UA})
        with urllib.request.urlopen(scan, timeout=10):  # fills the first group (threshold 1)
            pass
        fire(api_url)
        fire(api_url)  # a second run has nothing new to say
        events = [r.json() for r in receiver.requests]
        assert [e["event"] for e in events] == ["raised", "switched"]
        assert all(r.headers["x-siyu-signature"] == signature(channel["secret"], r.body) for r in receiver.requests)

        _, log = call(api_url, token, "GET", f"/admin/alerts?code_id={code['id']}")
        assert [e["event"] for e in log["items"]] == ["switched", "raised"]
        assert all(e["status"] == "delivered" for e in log["items"])
        _, read = call(api_url, token, "GET", f"/admin/codes/{code['id']}")
        assert read["current_target_id"] == read["targets"][1]["id"] and first_url == read["targets"][0]["url"]
    finally:
        receiver.close()


def test_local_schedules_come_from_the_template(running_stack):
    answer = fire(running_stack.info["api_url"])
    assert answer["fired"] == 1 and "claimed" in answer["results"][0]
