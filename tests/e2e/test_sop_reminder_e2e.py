"""SOP reminder mode on the local stack: a plan on a group code of uploaded screenshots (personal
WeChat groups: no robot, no API) reminds a WeCom user; the job fires, the WeCom emulator shows one
textcard per group with its task link; the page shows the content; 已发送 records who; a second
POST is harmless; a forged link is a 4xx page."""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from local_stack.demo import call
from tests.e2e.test_rotation_e2e import fire
from tests.e2e.test_sop_wecom_e2e import get_json, wait_for
from tests.helpers import new_group_screenshot

TEXT = "今晚 8 点群内秒杀，限量 50 份"


def page(url: str, form: dict | None = None) -> tuple[int, dict, str]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if form is not None else "GET")
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_a_reminder_plan_on_screenshot_groups_reminds_the_guide_who_marks_it_sent(running_stack):
    info = running_stack.info
    api_url, emulator = info["api_url"], info["wecom_emulator_url"]

    def api(method: str, path: str, body: dict | None = None):
        return call(api_url, info["admin_token"], method, path, body)

    # Given a group code with two uploaded group screenshots (personal WeChat groups)
    status, code = api("POST", "/admin/codes", {"name": "e2e reminder groups"})
    assert status == 201, code
    for name in ("一群", "二群"):
        _, image = new_group_screenshot(name)
        body = {"image_base64": base64.b64encode(image).decode(), "staff_name": f"小美 {name}"}
        status, answer = api("POST", f"/admin/codes/{code['id']}/targets", body)
        assert status == 201, answer

    # And a reminder-mode plan that reminds the WeCom user zhangsan, due at the start of the next minute
    due = (datetime.now(UTC) + timedelta(minutes=1)).replace(second=0, microsecond=0)
    local = due.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
    plan_body = {
        "name": "e2e 提醒模式",
        "target": {"kind": "code_groups", "code_id": code["id"]},
        "delivery": {"mode": "reminder", "remind": {"wecom_users": ["zhangsan"]}, "task_hours": 24},
        "steps": [
            {"name": "秒杀提醒", "schedule": {"kind": "once", "on": local}, "content": {"kind": "text", "text": TEXT}}
        ],
        "guards": {"quiet_start": "00:00", "quiet_end": "00:00"},
    }
    status, plan = api("POST", "/admin/sop/plans", plan_body)
    assert status == 201, plan
    assert plan["delivery"] == {"mode": "reminder", "wecom_users": ["zhangsan"], "robot_url": "", "task_hours": 24}

    # When its minute has passed and the job fires
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 1)
    fire(api_url, "SopFunction")

    def awaiting():
        items = api("GET", f"/admin/sop/plans/{plan['id']}/deliveries")[1]["items"]
        return items if len(items) == 2 and all(d["status"] == "awaiting_staff" for d in items) else None

    deliveries = wait_for(awaiting)
    assert all(d["channel"] == "reminder" and d["task_expires_at"] for d in deliveries)

    # Then the emulator got one textcard per group, each with its task link
    cards = [
        m["body"]
        for m in get_json(f"{emulator}/_emulator/messages")
        if m["body"].get("msgtype") == "textcard" and "小美" in m["body"]["textcard"]["title"]
    ]
    assert len(cards) == 2 and all(c["touser"] == "zhangsan" for c in cards)
    url = cards[0]["textcard"]["url"]
    assert url.startswith(f"{api_url}/t/")

    # Opening it shows the content, the button, and the page may not be framed or cached
    status, headers, html = page(url)
    assert status == 200 and TEXT in html and "已发送" in html and "复制" in html
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"] and "no-store" in headers["Cache-Control"]

    # 已发送 records who; a second POST changes nothing
    status, _, html = page(url + "/sent", {"who": "张三"})
    assert status == 200 and "已记录为已发送" in html
    status, _, html = page(url + "/sent", {"who": "李四"})
    assert status == 200 and "之前已经标记过" in html and "张三" in html
    items = api("GET", f"/admin/sop/plans/{plan['id']}/deliveries")[1]["items"]
    statuses = sorted((d["status"], d.get("confirmed_by")) for d in items)
    assert statuses == [("awaiting_staff", None), ("sent", "张三")]
    assert all(d["sent_at"] for d in items if d["status"] == "sent")

    status, report = api("GET", f"/admin/sop/plans/{plan['id']}/wecom-report")
    assert status == 200 and sum(g["sent"] for g in report["reminders"]) == 1

    # A forged or broken link is a 4xx page, never a 5xx
    token = url.rsplit("/t/", 1)[1]
    forged = token.split(".")[0] + "." + base64.urlsafe_b64encode(b"x" * 32).decode().rstrip("=")
    for bad in (f"{api_url}/t/{forged}", f"{api_url}/t/nonsense", f"{api_url}/t/{forged}/sent"):
        status, headers, html = page(bad, {"who": "x"} if bad.endswith("/sent") else None)
        assert status == 404 and headers["Content-Type"].startswith("text/html") and "链接无效" in html
